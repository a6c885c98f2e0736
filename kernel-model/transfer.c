/*
 * transfer.c - capability transfer on CALL and RETURN (docs/abi.md §9).
 *
 * A transfer runs reserve -> preflight -> commit/rollback, so authority is
 * never lost, duplicated or half-inserted:
 *   prepare  validates every descriptor, takes a reference on each object
 *            and reserves the sender slot of each move (all or nothing);
 *   deliver  checks the receiver has room for every cap, then inserts all;
 *   commit   frees the reserved sender slots and drops the references;
 *   abort    returns reserved slots to live and drops the references.
 * The receiver sees the sender's badge and typed interface: delegation
 * preserves identity and the interface a facet was minted for (§8).
 */
#include "kmodel.h"

/*
 * Validate n descriptors (n <= CAP_XFER_MAX, already copied out of user
 * memory) against src's table. Returns 0 with out[0..n) prepared, or
 * CAP_ERR_INVALID_TRANSFER with nothing changed.
 */
int xfer_prepare_n(struct k_process *src, const CapTransferDescriptor *d,
                   uint32_t n, struct k_xfer *out)
{
    if (n > CAP_XFER_MAX)
        return CAP_ERR_INVALID_TRANSFER;
    for (uint32_t i = 0; i < n; i++) {
        struct ct_slot *s = NULL;
        bool ok = d[i].reserved == 0 &&
                  (d[i].mode == CAP_XFER_COPY || d[i].mode == CAP_XFER_MOVE);
        if (ok)
            s = ct_lookup(&src->caps, d[i].cap_id);
        if (!s || (s->obj->flags & K_OBJ_NON_TRANSFERABLE) ||
            ((s->obj->flags & K_OBJ_MOVE_ONLY) && d[i].mode == CAP_XFER_COPY)) {
            xfer_abort(src, out, i);
            return CAP_ERR_INVALID_TRANSFER;
        }
        out[i].obj = s->obj;
        out[i].badge = s->badge;
        out[i].iface = s->iface;
        out[i].src_id = d[i].cap_id;
        out[i].mode = d[i].mode;
        k_obj_ref(s->obj);
        if (d[i].mode == CAP_XFER_MOVE)
            ct_reserve(&src->caps, d[i].cap_id);
    }
    return 0;
}

/*
 * Insert every prepared cap into dst's table, writing one result record per
 * cap. All or nothing: returns 0, or CAP_ERR_TRANSFER_REJECTED (dst has too
 * few free slots or is gone) with dst unchanged. The prepared references
 * stay owned by the caller (commit or abort them).
 */
int xfer_deliver_n(struct k_process *dst, const struct k_xfer *x, uint32_t n,
                   CapTransferResult *records)
{
    if (dst->state != KP_ALIVE || ct_free_count(&dst->caps) < n)
        return CAP_ERR_TRANSFER_REJECTED;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t id;
        int r = ct_insert_as(&dst->caps, x[i].obj, x[i].badge, x[i].iface, &id);
        K_ASSERT(r == 0, "preflighted insert failed");
        records[i].cap_id = id;
        records[i].flags = ep_is_client(x[i].obj) ? CAP_XFER_REC_FACET : 0;
        records[i].interface_id = ct_slot_iface(ct_lookup(&dst->caps, id));
    }
    return 0;
}

/* The sender's table still exists (a dead process's table is gone). */
static bool xfer_src_table(struct k_process *src)
{
    return src && src->caps.slots != NULL;
}

void xfer_commit_n(struct k_process *src, struct k_xfer *x, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (x[i].mode == CAP_XFER_MOVE && xfer_src_table(src))
            ct_commit_move(&src->caps, x[i].src_id);
        k_obj_unref(x[i].obj);
        x[i].obj = NULL;
    }
}

void xfer_abort_n(struct k_process *src, struct k_xfer *x, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (x[i].mode == CAP_XFER_MOVE && xfer_src_table(src))
            ct_unreserve(&src->caps, x[i].src_id);
        k_obj_unref(x[i].obj);
        x[i].obj = NULL;
    }
}
