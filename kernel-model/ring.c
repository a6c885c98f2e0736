/*
 * ring.c - the capability ring: SQ consumption, SQE validation and
 * dispatch, CQ posting, and cap_enter.
 *
 * Trust boundary: the ring page is user memory. The kernel keeps its own
 * sq_head and cq_tail and only reads sq_tail and cq_head from the page;
 * each SQE is copied out of the page once, then validated, then acted on
 * (no double fetch). Every consumed SQE produces exactly one CQE; the CQ
 * slot for it is reserved before the SQE is consumed, so the CQ can never
 * overflow: when it is full the kernel stops consuming (docs/abi.md §4).
 *
 * A process has its process ring and each thread may have its own ring
 * (docs/abi.md §16); everything here works on one ring state rs. An
 * operation completed later records the ThreadRef of the ring it came
 * from (k.sub_ref while it is dispatched) and is posted back there
 * through k_ring_post_to, which drops it if that thread ring is gone.
 */
#include "kmodel.h"

static uint32_t load_acquire(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_release(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* CQ entries the user has not consumed yet, per the user's cq_head. An
 * impossible head (outside the last CQ_ENTRIES) is corruption: the CQ is
 * treated as full until the user repairs it. */
static uint32_t cq_used(struct k_ring_state *rs)
{
    uint32_t head = load_acquire(&rs->page->hdr.cq_head);
    uint32_t used = rs->cq_tail - head;
    if (used > CAP_CQ_ENTRIES) {
        rs->corrupt |= CAP_RING_F_CQ_CORRUPT;
        rs->page->hdr.flags |= CAP_RING_F_CQ_CORRUPT;
        return CAP_CQ_ENTRIES;
    }
    return used;
}

static inline uint32_t cq_ready(struct k_process *p, struct k_ring_state *rs)
{
    if (p->state != KP_ALIVE)
        return 0;
    uint32_t used = rs->cq_tail - load_acquire(&rs->page->hdr.cq_head);
    return used > CAP_CQ_ENTRIES ? 0 : used;
}

uint32_t k_ring_cq_ready(struct k_process *p)
{
    return cq_ready(p, &p->rs);
}

/* A completion for a ring that is gone was dropped: count it. Its CQ
 * reservation went with the ring (thread exit). */
void k_ring_stale_drop(struct k_process *p)
{
    p->stale_drops++;
    k.stats.stale_dropped++;
}

/*
 * Take the CQ slot reserved earlier for one completion: returns where to
 * write it, or NULL when p is dead (the CQE is dropped). Follow with
 * cq_publish.
 */
static inline CapCqe *cq_claim(struct k_process *p, struct k_ring_state *rs)
{
    K_ASSERT(rs->cq_reserved > 0, "CQE posted without a reservation");
    rs->cq_reserved--;
    if (p->state != KP_ALIVE)
        return NULL;
    return &rs->page->cq[rs->cq_tail & (CAP_CQ_ENTRIES - 1)];
}

/* Make the claimed CQE visible and wake the process's cap_enter waiter if
 * it now has enough. */
static inline void cq_publish(struct k_process *p, struct k_ring_state *rs)
{
    if (k.cfg.trace) {
        const CapCqe *c = &rs->page->cq[rs->cq_tail & (CAP_CQ_ENTRIES - 1)];
        struct k_trace ev = {.sqe = false,
                             .pid = p->pid,
                             .tid = k.current ? k.current->tid : 0,
                             .user_data = c->user_data,
                             .result = c->result};
        k.cfg.trace(&ev);
    }
    rs->cq_tail++;
    store_release(&rs->page->hdr.cq_tail, rs->cq_tail);
    k.stats.cqes++;
    struct k_thread *w = rs->waiter;
    if (w && cq_ready(p, rs) >= rs->waiter_min)
        k_thread_wake(w);
}

/*
 * Post a CQE using a slot reserved earlier. Fields are copied one by one:
 * a whole-struct copy of a CQE just built on the stack with narrower stores
 * stalls on store forwarding.
 */
static inline void post_cqe(struct k_process *p, struct k_ring_state *rs,
                            const CapCqe *cqe)
{
    CapCqe *d = cq_claim(p, rs);
    if (!d)
        return;
    d->user_data = cqe->user_data;
    d->result = cqe->result;
    d->flags = cqe->flags;
    d->cap_count = cqe->cap_count;
    d->call_id = cqe->call_id;
    d->reserved = 0;
    d->badge = cqe->badge;
    cq_publish(p, rs);
}

/* Post on p's process ring. */
void k_ring_post(struct k_process *p, const CapCqe *cqe)
{
    post_cqe(p, &p->rs, cqe);
}

/* Post on the ring r names; returns false (and counts the drop) when it
 * is a thread ring that no longer exists. */
bool k_ring_post_to(struct k_process *p, struct k_tref r, const CapCqe *cqe)
{
    struct k_ring_state *rs = k_ring_resolve(p, r);
    if (!rs) {
        k_ring_stale_drop(p);
        return false;
    }
    post_cqe(p, rs, cqe);
    return true;
}

static void post_result(struct k_process *p, struct k_ring_state *rs,
                        uint64_t user_data, int32_t r)
{
    CapCqe *d = cq_claim(p, rs);
    if (!d)
        return;
    d->user_data = user_data;
    d->result = r;
    d->flags = 0;
    d->cap_count = 0;
    d->call_id = 0;
    d->reserved = 0;
    d->badge = 0;
    cq_publish(p, rs);
}

/*
 * Post a CQE that carries only user_data and result (every other field
 * zero) on the ring r names; false (and the drop counted) when it is a
 * thread ring that no longer exists. It takes scalars rather than a CQE
 * the caller built on its stack: the zeroing stores a compiler makes for
 * such a CQE need not line up with post_cqe's field-wise loads, which
 * then stall on store forwarding.
 */
bool k_ring_post_result_to(struct k_process *p, struct k_tref r,
                           uint64_t user_data, int32_t result)
{
    struct k_ring_state *rs = k_ring_resolve(p, r);
    if (!rs) {
        k_ring_stale_drop(p);
        return false;
    }
    post_result(p, rs, user_data, result);
    return true;
}

/*
 * Write hdr, payload and one CapTransferResult record per cap into p's
 * result buffer and insert the caps into p's table (hdr NULL: leave
 * hdr_len bytes for the caller to fill in). All or nothing: returns
 * hdr_len + payload_len, or CAP_ERR_INVALID_RESULT_BUFFER when it does not
 * fit (or p is gone), CAP_ERR_TRANSFER_REJECTED when p's table is too full;
 * in both cases nothing is written or inserted. The caps' prepared
 * references stay with the caller.
 */
int k_ring_deliver(struct k_process *p, uint64_t result_addr,
                   uint32_t result_len, const void *hdr, uint32_t hdr_len,
                   const void *payload, uint32_t payload_len,
                   const struct k_xfer *caps, uint32_t ncaps,
                   uint16_t *out_cap_count)
{
    uint64_t body = (uint64_t)hdr_len + payload_len;
    uint64_t recs = ncaps ? CAP_ALIGN8(body) : body;
    uint64_t total = recs + (uint64_t)ncaps * sizeof(CapTransferResult);
    if (p->state != KP_ALIVE || total > result_len || body > INT32_MAX)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    uint8_t *dst = total ? k_user_buf(p, result_addr, total) : NULL;
    if (total && !dst)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    CapTransferResult rec[CAP_XFER_MAX];
    K_ASSERT(ncaps <= CAP_XFER_MAX, "too many caps to deliver");
    int r = xfer_deliver(p, caps, ncaps, rec);
    if (r < 0)
        return r;
    if (hdr_len && hdr)
        k_memcpy(dst, hdr, hdr_len);
    if (payload_len)
        k_memcpy(dst + hdr_len, payload, payload_len);
    if (ncaps) {
        k_memset(dst + body, 0, recs - body);
        k_memcpy(dst + recs, rec, ncaps * sizeof rec[0]);
    }
    *out_cap_count = (uint16_t)ncaps;
    return (int)body;
}

/* Fields an opcode does not use must be zero (room for later meaning). */
#define SQE_USES_CAP 0x01u
#define SQE_USES_PARAMS 0x02u
#define SQE_USES_METHOD 0x04u
#define SQE_USES_RESULT 0x08u
#define SQE_USES_CALL_ID 0x10u
#define SQE_USES_XFER 0x20u
#define SQE_USES_TIMEOUT 0x40u /* result_addr alone (PARK's timeout) */
#define SQE_USES_IFACE 0x80u   /* interface_id (CALL, §4.5) */

static bool sqe_unused_zero(const CapSqe *s, unsigned uses)
{
    if (!(uses & SQE_USES_CAP) && s->cap_id)
        return false;
    if (!(uses & SQE_USES_PARAMS) && (s->addr || s->len))
        return false;
    if (!(uses & SQE_USES_METHOD) && s->method_id)
        return false;
    if (!(uses & SQE_USES_RESULT) &&
        ((s->result_addr && !(uses & SQE_USES_TIMEOUT)) || s->result_len))
        return false;
    if (!(uses & SQE_USES_CALL_ID) && s->call_id)
        return false;
    if (!(uses & SQE_USES_XFER) && s->xfer_cap_count)
        return false;
    if (!(uses & SQE_USES_IFACE) && s->interface_id)
        return false;
    return true;
}

/* Validation common to every opcode, in the documented order
 * (docs/abi.md §4.3); zero_ok says the must-be-zero fields were zero.
 * Returns 0 or a CAP_ERR_* code. */
static int sqe_check_common(const CapSqe *s, bool zero_ok)
{
    static const unsigned uses[] = {
        [CAP_OP_NOP] = 0,
        [CAP_OP_CALL] = SQE_USES_CAP | SQE_USES_PARAMS | SQE_USES_METHOD |
                        SQE_USES_RESULT | SQE_USES_XFER | SQE_USES_IFACE,
        [CAP_OP_RECV] = SQE_USES_CAP | SQE_USES_RESULT,
        [CAP_OP_RETURN] =
            SQE_USES_CAP | SQE_USES_PARAMS | SQE_USES_CALL_ID | SQE_USES_XFER,
        [CAP_OP_RELEASE] = SQE_USES_CAP,
        [CAP_OP_PARK] = SQE_USES_CAP | SQE_USES_PARAMS | SQE_USES_TIMEOUT,
        [CAP_OP_UNPARK] = SQE_USES_CAP | SQE_USES_PARAMS,
    };
    if (s->opcode > CAP_OP_MAX_RESERVED || !zero_ok ||
        (s->flags & ~CAP_SQE_FLAGS_KNOWN))
        return CAP_ERR_INVALID_REQUEST;
    if (s->opcode == CAP_OP_FINISH)
        return CAP_ERR_UNSUPPORTED_OPCODE;
    if (s->flags && s->opcode != CAP_OP_RETURN)
        return CAP_ERR_INVALID_REQUEST;
    if (!sqe_unused_zero(s, uses[s->opcode]))
        return CAP_ERR_INVALID_REQUEST;
    return 0;
}

/*
 * Copy the params (addr, len) and the transfer descriptors that follow them
 * into kernel scratch. A buffer is (0, 0) or lies inside the buffer area
 * (docs/abi.md §5), even when empty. Returns 0, CAP_ERR_INVALID_PARAMS_BUFFER
 * or CAP_ERR_INVALID_TRANSFER. *descs points into the scratch copy.
 */
static int sqe_copy_params(struct k_process *p, const CapSqe *s,
                           uint32_t max_len,
                           const CapTransferDescriptor **descs)
{
    if (s->len > max_len)
        return CAP_ERR_INVALID_PARAMS_BUFFER;
    const uint8_t *src = k_user_buf(p, s->addr, s->len);
    if (!src && (s->addr || s->len))
        return CAP_ERR_INVALID_PARAMS_BUFFER;
    if (s->xfer_cap_count > CAP_XFER_MAX)
        return CAP_ERR_INVALID_TRANSFER;
    uint32_t dlen = s->xfer_cap_count * (uint32_t)sizeof(CapTransferDescriptor);
    uint64_t doff = CAP_ALIGN8(s->len);
    const uint8_t *dsrc = NULL;
    if (dlen) {
        /* No overflow: addr is 0 or inside the arena, doff <= 64 KiB. */
        dsrc = k_user_buf(p, s->addr + doff, dlen);
        if (!dsrc)
            return CAP_ERR_INVALID_TRANSFER;
    }
    if (s->len)
        k_memcpy(k.scratch_params, src, s->len);
    uint8_t *dcopy = k.scratch_params + doff;
    if (dlen)
        k_memcpy(dcopy, dsrc, dlen);
    *descs = (const CapTransferDescriptor *)dcopy;
    return 0;
}

/* CALL: invoke a method on the target object. Returns a result to post, or
 * K_CALL_PENDING when the object took the CQ reservation. */
static int op_call(struct k_process *p, const CapSqe *s)
{
    struct ct_slot *slot = ct_lookup(&p->caps, s->cap_id);
    if (!slot)
        return CAP_ERR_INVOKE_FAILED;
    /* The interface is the permission (docs/abi.md §4.5): a CALL meant
     * for another interface never reaches the object. */
    if (s->interface_id && s->interface_id != ct_slot_iface(slot))
        return CAP_ERR_WRONG_INTERFACE;
    const CapTransferDescriptor *descs;
    int r = sqe_copy_params(p, s, CAP_MAX_PARAMS, &descs);
    if (r < 0)
        return r;
    if ((s->result_addr || s->result_len) &&
        !k_user_buf(p, s->result_addr, s->result_len))
        return CAP_ERR_INVALID_RESULT_BUFFER;
    struct k_call c;
    c.proc = p;
    c.cap_id = s->cap_id;
    c.badge = slot->badge;
    c.method_id = s->method_id;
    c.flags = s->flags;
    c.user_data = s->user_data;
    c.params = k.scratch_params;
    c.params_len = s->len;
    c.result_addr = s->result_addr;
    c.result_len = s->result_len;
    c.result = k.scratch_result;
    c.result_cap =
        s->result_len < CAP_MAX_RESULT ? s->result_len : CAP_MAX_RESULT;
    c.nresult_caps = 0;
    c.nresult_badges = 0;
    c.nxfer = s->xfer_cap_count;
    r = xfer_prepare(p, descs, c.nxfer, c.xfer);
    if (r < 0)
        return r;
    c.exc_len = 0;
    struct k_object *obj = slot->obj;
    r = obj->ops->call(obj, &c);
    if (r == K_CALL_PENDING) {
        /* Accepted; caps the object did not take (c.nxfer still set) are
         * dropped as for a synchronous success. */
        xfer_commit(p, c.xfer, c.nxfer);
        return r;
    }
    if (r == CAP_ERR_APPLICATION_EXCEPTION) {
        /* The exception goes to the result buffer, cut to fit. */
        xfer_abort(p, c.xfer, c.nxfer);
        uint32_t n = c.exc_len < c.result_len ? c.exc_len : c.result_len;
        uint16_t none;
        if (k_ring_deliver(p, c.result_addr, c.result_len, NULL, 0, c.result, n,
                           NULL, 0, &none) < 0 ||
            n < c.exc_len)
            r = CAP_ERR_APPLICATION_EXCEPTION_TRUNCATED;
    } else if (r < 0) {
        xfer_abort(p, c.xfer, c.nxfer);
    } else {
        /* A kernel object has taken what it wanted of the caps. */
        xfer_commit(p, c.xfer, c.nxfer);
        struct k_xfer out[CAP_XFER_MAX];
        for (uint32_t i = 0; i < c.nresult_caps; i++) {
            out[i].obj = c.result_caps[i];
            out[i].badge = i < c.nresult_badges ? c.result_badges[i] : 0;
            out[i].iface = i < c.nresult_badges ? c.result_ifaces[i] : 0;
            out[i].src_id = 0;
            out[i].mode = CAP_XFER_COPY;
        }
        uint16_t ncaps = 0;
        r = k_ring_deliver(p, c.result_addr, c.result_len, NULL, 0, c.result,
                           (uint32_t)r, out, c.nresult_caps, &ncaps);
        if (r >= 0) {
            CapCqe cqe = {.user_data = s->user_data,
                          .result = r,
                          .flags = ncaps ? CAP_CQE_F_CAPS : 0,
                          .cap_count = ncaps};
            post_cqe(p, k.sub_rs, &cqe);
            r = K_CALL_PENDING;
        }
    }
    for (uint32_t i = 0; i < c.nresult_caps; i++)
        k_obj_unref(c.result_caps[i]);
    return r;
}

static int op_recv(struct k_process *p, const CapSqe *s)
{
    struct ct_slot *slot = ct_lookup(&p->caps, s->cap_id);
    if (!slot || !k_is_endpoint(slot->obj))
        return CAP_ERR_INVOKE_FAILED;
    if (s->result_len < sizeof(EndpointMessageHeader) ||
        !k_user_buf(p, s->result_addr, s->result_len))
        return CAP_ERR_INVALID_RESULT_BUFFER;
    return ep_recv(p, slot->obj, s->user_data, s->result_addr, s->result_len);
}

/* PARK / UNPARK on a ParkSpace (docs/abi.md §14): addr the word, len the
 * expected value (PARK) or the wake count (UNPARK), result_addr PARK's
 * relative timeout in ns (0: none). */
static int op_park(struct k_process *p, const CapSqe *s)
{
    struct ct_slot *slot = ct_lookup(&p->caps, s->cap_id);
    if (!slot || !k_is_park_space(slot->obj))
        return CAP_ERR_INVOKE_FAILED;
    if (s->opcode == CAP_OP_PARK)
        return park_wait(p, slot->obj, s->user_data, s->addr, s->len,
                         s->result_addr);
    return park_wake(p, slot->obj, s->addr, s->len);
}

static int op_return(struct k_process *p, const CapSqe *s)
{
    struct ct_slot *slot = ct_lookup(&p->caps, s->cap_id);
    if (!slot || !k_is_endpoint(slot->obj))
        return CAP_ERR_INVOKE_FAILED;
    const CapTransferDescriptor *descs;
    int r = sqe_copy_params(p, s, CAP_MAX_RESULT, &descs);
    if (r < 0)
        return r;
    struct k_xfer x[CAP_XFER_MAX];
    uint32_t nx = s->xfer_cap_count;
    if ((s->flags & CAP_SQE_EXCEPTION) && nx)
        return CAP_ERR_INVALID_TRANSFER; /* an exception carries no caps */
    r = xfer_prepare(p, descs, nx, x);
    if (r < 0)
        return r;
    return ep_return(p, slot->obj, s->call_id, s->flags, k.scratch_params,
                     s->len, x, nx);
}

/*
 * Copy one SQE out of the shared page. This is the only read of the SQE's
 * ring memory: every check and action after it works on the copy (no
 * double fetch). Fields are loaded at their natural widths, the widths a
 * runtime stores them with, so the loads forward from the user's stores
 * instead of stalling as a wide block copy would. The must-be-zero fields
 * are checked here, on the loaded values, and are not copied. Returns true
 * if they are all zero.
 */
static bool sqe_fetch(CapSqe *d, const CapSqe *s)
{
    uint16_t r2;
    k_memcpy(&r2, s->reserved1, 2);
    uint64_t junk = r2 | s->reserved0 | s->pipeline_dep | s->pipeline_field;
    d->opcode = s->opcode;
    d->flags = s->flags;
    d->cap_id = s->cap_id;
    d->user_data = s->user_data;
    d->addr = s->addr;
    d->len = s->len;
    d->method_id = s->method_id;
    d->xfer_cap_count = s->xfer_cap_count;
    d->result_addr = s->result_addr;
    d->result_len = s->result_len;
    d->call_id = s->call_id;
    d->interface_id = s->interface_id;
    return junk == 0;
}

static void trace_sqe(struct k_process *p, const CapSqe *s)
{
    struct ct_slot *slot = s->cap_id ? ct_lookup(&p->caps, s->cap_id) : NULL;
    struct k_trace ev = {.sqe = true,
                         .pid = p->pid,
                         .tid = k.current ? k.current->tid : 0,
                         .opcode = s->opcode,
                         .cap_id = s->cap_id,
                         .iface = slot ? ct_slot_iface(slot) : 0,
                         .method = s->method_id,
                         .user_data = s->user_data};
    k.cfg.trace(&ev);
}

/* Validate and execute one copied SQE; posts its CQE now or later. */
static void ring_dispatch(struct k_process *p, struct k_ring_state *rs,
                          const CapSqe *s, bool zero_ok)
{
    if (k.cfg.trace)
        trace_sqe(p, s);
    /* A well-formed NOP (every other field zero) completes at once. */
    if (s->opcode == CAP_OP_NOP && zero_ok &&
        (s->flags | s->cap_id | s->addr | s->len | s->method_id |
         s->xfer_cap_count | s->result_addr | s->result_len | s->call_id |
         s->interface_id) == 0) {
        post_result(p, rs, s->user_data, 0);
        return;
    }
    int r = sqe_check_common(s, zero_ok);
    if (r == 0) {
        switch (s->opcode) {
        case CAP_OP_NOP:
            r = 0;
            break;
        case CAP_OP_CALL:
            r = op_call(p, s);
            break;
        case CAP_OP_RECV:
            r = op_recv(p, s);
            break;
        case CAP_OP_RETURN:
            r = op_return(p, s);
            break;
        case CAP_OP_RELEASE:
            r = ct_release(&p->caps, s->cap_id);
            break;
        case CAP_OP_PARK:
        case CAP_OP_UNPARK:
            r = op_park(p, s);
            break;
        default:
            r = CAP_ERR_INVALID_REQUEST;
            break;
        }
    }
    if (r != K_CALL_PENDING)
        post_result(p, rs, s->user_data, r);
}

/*
 * Post the CQEs of the well-formed NOPs just consumed, whose entries
 * ring_submit wrote at cq_tail onwards without claiming a reservation
 * (each took its slot and gave it back within the same SQE): publish
 * the new tail, count them and wake the ring's waiter as cq_publish
 * would have after the last of them. No other CQE was posted since the
 * first of them was written.
 */
static void nops_publish(struct k_process *p, struct k_ring_state *rs,
                         uint32_t cq_tail, uint32_t nops)
{
    rs->cq_tail = cq_tail;
    store_release(&rs->page->hdr.cq_tail, cq_tail);
    k.stats.sqes += nops;
    k.stats.cqes += nops;
    struct k_thread *w = rs->waiter;
    if (w && cq_ready(p, rs) >= rs->waiter_min)
        k_thread_wake(w);
}

/*
 * Consume and dispatch the SQEs between the kernel's sq_head and the user's
 * sq_tail, while CQ slots can be reserved. A tail more than CAP_SQ_ENTRIES
 * ahead is corruption: every pending SQE is dropped (counted in
 * sq_dropped, flagged in the header) and CAP_ERR_RING_CORRUPT returned.
 * Returns the number of SQEs consumed otherwise.
 *
 * rs and ref are resolved once per batch by the caller; they name a ring
 * that cannot go away while its own SQEs are dispatched (only its thread
 * submits it, and a thread that exits never returns here).
 *
 * A run of well-formed NOPs (every field but user_data zero) completes
 * without ring_dispatch: nothing but its CQE can observe a NOP, so the
 * run's CQEs are written straight into the CQ slots the room check
 * vouched for and published once, before the next other SQE is
 * dispatched (its completions then follow them) or when the batch ends.
 * With a trace hook every SQE takes the dispatch path.
 */
static int ring_submit(struct k_process *p, struct k_ring_state *rs,
                       struct k_tref ref)
{
    CapRing *page = rs->page;
    CapRingHeader *h = &page->hdr;
    uint32_t head = rs->sq_head;
    /* Republish the kernel-owned indices the user may have scribbled. */
    h->sq_head = head;
    h->cq_tail = rs->cq_tail;
    h->sq_entries = CAP_SQ_ENTRIES;
    h->cq_entries = CAP_CQ_ENTRIES;
    uint32_t tail = load_acquire(&h->sq_tail);
    uint32_t pending = tail - head;
    if (pending > CAP_SQ_ENTRIES) {
        rs->sq_head = tail;
        store_release(&h->sq_head, tail);
        h->sq_dropped++;
        h->flags |= CAP_RING_F_SQ_CORRUPT;
        rs->corrupt |= CAP_RING_F_SQ_CORRUPT;
        return CAP_ERR_RING_CORRUPT;
    }
    /* CQ room is computed once: the user cannot consume while the kernel
     * runs, and every CQE posted during dispatch uses a reservation taken
     * here or earlier, so room shrinks by exactly one per SQE. */
    if (pending == 0)
        return 0;
    uint32_t used = cq_used(rs);
    uint32_t room = CAP_CQ_ENTRIES - used > rs->cq_reserved
                        ? CAP_CQ_ENTRIES - used - rs->cq_reserved
                        : 0;
    if (pending < room)
        room = pending;
    if (p->state != KP_ALIVE)
        room = 0; /* a dead process consumes nothing */
    bool fast_nop = k.cfg.trace == NULL;
    uint32_t nops = 0;     /* NOPs completed since the last publish */
    uint32_t nop_tail = 0; /* rs->cq_tail + nops while nops > 0 */
    k.sub_rs = rs;
    k.sub_ref = ref;
    uint32_t n = 0;
    while (n < room) {
        CapSqe sqe;
        bool zero_ok = sqe_fetch(&sqe, &page->sq[head & (CAP_SQ_ENTRIES - 1)]);
        head++;
        n++;
        if (fast_nop && sqe.opcode == CAP_OP_NOP && zero_ok &&
            (sqe.flags | sqe.cap_id | sqe.addr | sqe.len | sqe.method_id |
             sqe.xfer_cap_count | sqe.result_addr | sqe.result_len |
             sqe.call_id | sqe.interface_id) == 0) {
            if (nops == 0)
                nop_tail = rs->cq_tail;
            CapCqe *d = &page->cq[nop_tail & (CAP_CQ_ENTRIES - 1)];
            d->user_data = sqe.user_data;
            d->result = 0;
            d->flags = 0;
            d->cap_count = 0;
            d->call_id = 0;
            d->reserved = 0;
            d->badge = 0;
            nop_tail++;
            nops++;
            continue;
        }
        if (nops) {
            nops_publish(p, rs, nop_tail, nops);
            nops = 0;
        }
        rs->sq_head = head;
        rs->cq_reserved++;
        k.stats.sqes++; /* before dispatch: ThreadControl.exit never returns */
        ring_dispatch(p, rs, &sqe, zero_ok);
        if (p->state != KP_ALIVE)
            break; /* a dead process consumes no more */
    }
    if (nops)
        nops_publish(p, rs, nop_tail, nops);
    rs->sq_head = head;
    /* Outside dispatch, completions record the process ring. */
    k.sub_rs = NULL;
    k.sub_ref = (struct k_tref){0, 0};
    store_release(&h->sq_head, head);
    return (int)n;
}

int k_ring_submit(struct k_process *p)
{
    return ring_submit(p, &p->rs, (struct k_tref){0, 0});
}

/* Submit thread t's own ring from the host context (tests): as
 * k_ring_submit. CAP_ERR_INVOKE_FAILED when t has no ring. */
int k_ring_submit_thread(struct k_thread *t)
{
    if (!t->own_ring || t->proc->state != KP_ALIVE)
        return CAP_ERR_INVOKE_FAILED;
    return ring_submit(t->proc, &t->ring, k_thread_ref(t));
}

/*
 * The SQE being dispatched will never complete (ThreadControl.exit): give
 * back its CQ reservation and publish the consumed SQ head, since the
 * submit loop does not return to its thread.
 */
void k_ring_abandon_current(void)
{
    struct k_ring_state *rs = k.sub_rs;
    K_ASSERT(rs && rs->cq_reserved > 0, "abandon without a CQ slot");
    rs->cq_reserved--;
    store_release(&rs->page->hdr.sq_head, rs->sq_head);
    k.sub_rs = NULL;
    k.sub_ref = (struct k_tref){0, 0};
}

/*
 * cap_enter for process p (docs/abi.md §4.4): submit, then wait for
 * min_complete CQEs or the timeout. Waiting needs the calling thread to be
 * a thread of p; from the host context (tests, fuzzer) this never blocks.
 * Returns the CQEs available, or CAP_ERR_INVALID_REQUEST (min_complete
 * above the CQ size), CAP_ERR_RING_BUSY (another thread waits),
 * CAP_ERR_RING_CORRUPT (indices were corrupt; see the header flags).
 */
static int cap_enter(struct k_process *p, struct k_ring_state *rs,
                     struct k_tref ref, uint32_t min_complete,
                     uint64_t timeout_ns)
{
    if (p->state != KP_ALIVE)
        return CAP_ERR_INVOKE_FAILED;
    if (min_complete > CAP_CQ_ENTRIES)
        return CAP_ERR_INVALID_REQUEST;
    rs->corrupt = 0;
    int r = ring_submit(p, rs, ref);
    if (r == CAP_ERR_RING_CORRUPT || rs->corrupt)
        return CAP_ERR_RING_CORRUPT;
    uint32_t ready = cq_ready(p, rs);
    struct k_thread *t = k.current;
    if (ready >= min_complete || timeout_ns == 0 || !t || t->proc != p)
        return (int)ready;
    if (rs->waiter) {
        /* Hosted threads are fibers: a thread retrying on RING_BUSY would
         * never be preempted as on metal, so let the others run first. */
        k_sched_yield();
        return CAP_ERR_RING_BUSY;
    }
    uint64_t deadline = UINT64_MAX;
    if (timeout_ns != CAP_TIMEOUT_INFINITE) {
        uint64_t now = k_now();
        deadline =
            timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
    }
    rs->waiter = t;
    rs->waiter_min = min_complete;
    for (;;) {
        enum k_wake w = k_thread_wait(deadline);
        ready = cq_ready(p, rs);
        if (ready >= min_complete || w == K_WAKE_TIMEOUT ||
            p->state != KP_ALIVE)
            break;
    }
    if (rs->waiter == t)
        rs->waiter = NULL;
    return (int)ready;
}

int k_cap_enter(struct k_process *p, uint32_t min_complete, uint64_t timeout_ns)
{
    return cap_enter(p, &p->rs, (struct k_tref){0, 0}, min_complete,
                     timeout_ns);
}

/* cap_enter of the calling thread: on its own ring if it has one, else on
 * its process ring (docs/abi.md §16). */
int k_sys_cap_enter(uint32_t min_complete, uint64_t timeout_ns)
{
    struct k_thread *t = k.current;
    if (!t)
        return CAP_ERR_INVALID_REQUEST;
    if (t->own_ring)
        return cap_enter(t->proc, &t->ring, k_thread_ref(t), min_complete,
                         timeout_ns);
    return cap_enter(t->proc, &t->proc->rs, (struct k_tref){0, 0}, min_complete,
                     timeout_ns);
}
