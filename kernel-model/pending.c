/*
 * pending.c - calls a kernel object completes later.
 *
 * An object that cannot answer a CALL (or an operation such as
 * CAP_OP_PARK) at once returns K_CALL_PENDING after k_pending_add: the
 * struct k_pending, embedded in the object's own waiter, joins the
 * caller's process. The object completes it with one of the
 * k_pending_done* functions; if the caller's process or the submitting
 * thread exits first, the pending call is unlinked and its cancel hook
 * runs instead, and nothing is posted.
 */
#include "kmodel.h"

/*
 * Take ownership of call c's completion: the object returns K_CALL_PENDING
 * and later calls k_pending_done (or, if p exits first, cancel runs).
 */
void k_pending_add(struct k_pending *pd, struct k_call *c,
                   void (*cancel)(struct k_pending *pd))
{
    k_pending_add_to(pd, c->proc, c->user_data, cancel);
    pd->result_addr = c->result_addr;
    pd->result_len = c->result_len;
}

/* The same for an operation without a result buffer (an opcode such as
 * CAP_OP_PARK rather than a CALL). */
void k_pending_add_to(struct k_pending *pd, struct k_process *p,
                      uint64_t user_data, void (*cancel)(struct k_pending *pd))
{
    pd->proc = p;
    pd->user_data = user_data;
    pd->result_addr = 0;
    pd->result_len = 0;
    pd->cancel = cancel;
    pd->ring = k_ring_current();
    pd->next = p->pending;
    p->pending = pd;
}

/*
 * The thread owning ring r has exited (its process lives on): cancel the
 * pending calls submitted on that ring, as process exit does for all of
 * them. Nothing is posted.
 */
void k_pending_thread_exit(struct k_process *p, struct k_tref r)
{
    struct k_pending **pp = &p->pending;
    while (*pp) {
        struct k_pending *pd = *pp;
        if (pd->ring.gen != r.gen || pd->ring.slot != r.slot) {
            pp = &pd->next;
            continue;
        }
        *pp = pd->next;
        pd->next = NULL;
        pd->cancel(pd);
    }
}

static void pending_unlink(struct k_pending *pd)
{
    for (struct k_pending **pp = &pd->proc->pending; *pp; pp = &(*pp)->next) {
        if (*pp == pd) {
            *pp = pd->next;
            break;
        }
    }
    pd->next = NULL;
}

/* Complete a pending call with result (no payload) and unlink it. */
void k_pending_done(struct k_pending *pd, int32_t result)
{
    pending_unlink(pd);
    k_ring_post_result_to(pd->proc, pd->ring, pd->user_data, result);
}

/*
 * Complete a pending call with a result payload (a Cap'n Proto message
 * the object built, len bytes) and unlink it. The payload is copied into
 * the result buffer the call named (validated when it was made; the
 * caller is alive, since exit cancels pending calls) and the CQE carries
 * len, or CAP_ERR_INVALID_RESULT_BUFFER with nothing written when it does
 * not fit. pd's owner frees pd afterwards.
 */
void k_pending_done_result(struct k_pending *pd, const void *payload,
                           uint32_t len)
{
    struct k_process *p = pd->proc;
    pending_unlink(pd);
    if (!k_ring_resolve(p, pd->ring)) {
        /* Its thread is gone: its buffer may be reused, write nothing. */
        k_ring_stale_drop(p);
        return;
    }
    uint16_t none;
    int r = k_ring_deliver(p, pd->result_addr, pd->result_len, NULL, 0, payload,
                           len, NULL, 0, &none);
    k_ring_post_result_to(p, pd->ring, pd->user_data, r);
}

/*
 * As k_pending_done_result, with ncaps kernel objects delivered after the
 * payload as result caps (CapTransferResult records, as a synchronous
 * result's). The caller keeps its references to caps; the caller's table
 * takes its own. Returns the CQE's result: the payload length, or
 * CAP_ERR_INVALID_RESULT_BUFFER / CAP_ERR_TRANSFER_REJECTED when nothing
 * could be delivered (the caps were then not inserted), or
 * CAP_ERR_DISCONNECTED when the submitting thread's ring is gone (the
 * completion is dropped as k_pending_done_result drops it).
 */
int k_pending_done_caps(struct k_pending *pd, const void *payload, uint32_t len,
                        struct k_object *const *caps, uint32_t ncaps)
{
    struct k_process *p = pd->proc;
    struct k_xfer x[CAP_XFER_MAX];
    K_ASSERT(ncaps <= CAP_XFER_MAX, "too many caps in a completion");
    for (uint32_t i = 0; i < ncaps; i++) {
        x[i].obj = caps[i];
        x[i].badge = 0;
        x[i].iface = 0;
        x[i].src_id = 0;
        x[i].mode = CAP_XFER_COPY;
    }
    pending_unlink(pd);
    if (!k_ring_resolve(p, pd->ring)) {
        /* Its thread is gone: deliver nothing, the caller keeps caps. */
        k_ring_stale_drop(p);
        return CAP_ERR_DISCONNECTED;
    }
    uint16_t n = 0;
    int r = k_ring_deliver(p, pd->result_addr, pd->result_len, NULL, 0, payload,
                           len, x, ncaps, &n);
    CapCqe cqe = {.user_data = pd->user_data,
                  .result = r,
                  .flags = r >= 0 && n ? CAP_CQE_F_CAPS : 0,
                  .cap_count = r >= 0 ? n : 0};
    k_ring_post_to(p, pd->ring, &cqe);
    return r;
}
