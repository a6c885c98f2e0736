/*
 * endpoint.c - IPC endpoints: CALL on a client facet, RECV and RETURN on the
 * raw endpoint (docs/abi.md §10).
 *
 * An endpoint has two facets, each a kernel object: the raw endpoint (its
 * owner may RECV and RETURN, and CALL its kernel methods mintClient and
 * identify, docs/abi.md §10.1; it cannot be transferred) and the client
 * facet (CALL only; copied and moved freely). Three queues: calls not yet
 * delivered, receives waiting for a call, and delivered calls waiting for
 * their RETURN. When the last raw reference goes the endpoint closes: every
 * queued or in-flight caller and every waiting receiver completes with
 * CAP_ERR_DISCONNECTED. A CALL holds a CQ reservation in the caller's ring
 * from submission to its RETURN; a RECV holds one in the server's ring.
 */
#include "kmodel.h"

struct ep_core;

struct ep_msg {
    struct ep_msg *next;        /* in the endpoint's queue or in-flight list */
    struct ep_msg *caller_next; /* in the caller's calls_out */
    struct ep_core *ep;
    struct k_process *caller; /* referenced; NULL once the caller exited */
    struct k_tref ring;       /* the caller's submitting ring */
    bool delivered;
    uint64_t user_data;
    uint64_t result_addr;
    uint32_t result_len;
    uint64_t badge;
    uint16_t method_id;
    uint32_t call_id;
    struct k_xfer xfer[CAP_XFER_MAX];
    uint32_t nxfer;
    uint32_t params_len;
    uint8_t params[];
};

struct ep_recv {
    struct ep_recv *next;       /* in the endpoint's receive queue */
    struct ep_recv *owner_next; /* in the server's recvs_out */
    struct ep_core *ep;
    struct k_process *server; /* referenced */
    struct k_tref ring;       /* the server's submitting ring */
    uint64_t user_data;
    uint64_t result_addr;
    uint32_t result_len;
};

struct ep_core {
    struct k_object raw;
    struct k_object client;
    bool closed;
    bool closing; /* ep_raw_destroy is running */
    uint32_t nqueued;
    uint32_t nrecvs;
    uint32_t next_call_id;
    struct ep_msg *q_head, *q_tail;
    struct ep_msg *inflight;
    struct ep_recv *r_head, *r_tail;
};

static const struct k_object_ops ep_client_ops;

static struct ep_core *core_of(struct k_object *o)
{
    if (o->ops == &ep_raw_ops)
        return (struct ep_core *)((char *)o - offsetof(struct ep_core, raw));
    return (struct ep_core *)((char *)o - offsetof(struct ep_core, client));
}

bool ep_is_client(const struct k_object *o)
{
    return o->ops == &ep_client_ops;
}

/* ---- allocation ----------------------------------------------------- */

/*
 * Messages with small params and receive records are recycled through
 * bounded free lists: an IPC round trip then allocates nothing.
 */
#define EP_MSG_SMALL 256u
#define EP_CACHE_MAX 64u

static struct ep_msg *msg_cache;
static struct ep_recv *recv_cache;
static uint32_t msg_cached, recv_cached;

static struct ep_msg *msg_alloc(uint32_t params_len)
{
    struct ep_msg *m = NULL;
    if (params_len <= EP_MSG_SMALL && msg_cache) {
        m = msg_cache;
        msg_cache = m->next;
        msg_cached--;
        return m; /* ep_call sets every field it reads */
    }
    uint32_t cap = params_len <= EP_MSG_SMALL ? EP_MSG_SMALL : params_len;
    return port_alloc(sizeof *m + cap);
}

static void msg_free(struct ep_msg *m)
{
    if (m->params_len <= EP_MSG_SMALL && msg_cached < EP_CACHE_MAX) {
        m->next = msg_cache;
        msg_cache = m;
        msg_cached++;
        return;
    }
    port_free(m);
}

static struct ep_recv *recv_alloc(void)
{
    struct ep_recv *r = recv_cache;
    if (!r)
        return port_alloc(sizeof *r);
    recv_cache = r->next;
    recv_cached--;
    k_memset(r, 0, sizeof *r);
    return r;
}

static void recv_free(struct ep_recv *r)
{
    if (recv_cached < EP_CACHE_MAX) {
        r->next = recv_cache;
        recv_cache = r;
        recv_cached++;
        return;
    }
    port_free(r);
}

/* Give the recycled allocations back (model shut-down). */
void ep_cache_drain(void)
{
    while (msg_cache) {
        struct ep_msg *m = msg_cache;
        msg_cache = m->next;
        port_free(m);
    }
    while (recv_cache) {
        struct ep_recv *r = recv_cache;
        recv_cache = r->next;
        port_free(r);
    }
    msg_cached = recv_cached = 0;
}

/* ---- list helpers ------------------------------------------------- */

static void caller_unlink(struct ep_msg *m)
{
    if (!m->caller)
        return;
    for (struct ep_msg **pp = &m->caller->calls_out; *pp;
         pp = &(*pp)->caller_next) {
        if (*pp == m) {
            *pp = m->caller_next;
            break;
        }
    }
    k_process_put(m->caller);
    m->caller = NULL;
}

static void recv_unlink_owner(struct ep_recv *r)
{
    for (struct ep_recv **pp = &r->server->recvs_out; *pp;
         pp = &(*pp)->owner_next) {
        if (*pp == r) {
            *pp = r->owner_next;
            break;
        }
    }
    k_process_put(r->server);
    r->server = NULL;
}

static struct ep_msg *queue_pop(struct ep_core *ep)
{
    struct ep_msg *m = ep->q_head;
    if (m) {
        ep->q_head = m->next;
        if (!ep->q_head)
            ep->q_tail = NULL;
        m->next = NULL;
        ep->nqueued--;
    }
    return m;
}

static void queue_remove(struct ep_core *ep, struct ep_msg *m)
{
    struct ep_msg *prev = NULL;
    for (struct ep_msg *q = ep->q_head; q; prev = q, q = q->next) {
        if (q != m)
            continue;
        if (prev)
            prev->next = m->next;
        else
            ep->q_head = m->next;
        if (ep->q_tail == m)
            ep->q_tail = prev;
        ep->nqueued--;
        m->next = NULL;
        return;
    }
}

static void inflight_remove(struct ep_core *ep, struct ep_msg *m)
{
    for (struct ep_msg **pp = &ep->inflight; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            m->next = NULL;
            return;
        }
    }
}

static void recv_remove(struct ep_core *ep, struct ep_recv *r)
{
    struct ep_recv *prev = NULL;
    for (struct ep_recv *q = ep->r_head; q; prev = q, q = q->next) {
        if (q != r)
            continue;
        if (prev)
            prev->next = r->next;
        else
            ep->r_head = r->next;
        if (ep->r_tail == r)
            ep->r_tail = prev;
        ep->nrecvs--;
        r->next = NULL;
        return;
    }
}

/* Complete a call to its caller with result r (the caller's reservation is
 * used), abort its transfers, and free it. */
static void msg_fail(struct ep_msg *m, int32_t r)
{
    xfer_abort(m->caller, m->xfer, m->nxfer);
    if (m->caller) {
        k_ring_post_result_to(m->caller, m->ring, m->user_data, r);
        caller_unlink(m);
    }
    msg_free(m);
}

/* Free the core once neither facet is referenced, unless a close is
 * still walking its queues (failing a queued call can drop the last
 * client reference, when that call carried the endpoint's own facet). */
static void core_maybe_free(struct ep_core *ep)
{
    if (ep->raw.refs == 0 && ep->client.refs == 0 && !ep->closing)
        port_free(ep);
}

/* ---- delivery ----------------------------------------------------- */

/*
 * Deliver message m into receive r. On success the caps move into the
 * server's table, r's CQE is posted, r is freed and m goes in flight;
 * returns 0. If the message does not fit the receive buffer (the caller
 * gets CAP_ERR_INVALID_PARAMS_BUFFER) or the server's table is too full
 * (CAP_ERR_TRANSFER_REJECTED), the caller's call fails, r stays usable, and
 * the code is returned.
 */
static int deliver(struct ep_core *ep, struct ep_msg *m, struct ep_recv *r)
{
    uint32_t call_id = ep->next_call_id + 1;
    if (call_id == 0)
        call_id = 1;
    uint16_t ncaps = 0;
    int n = k_ring_deliver(r->server, r->result_addr, r->result_len, NULL,
                           sizeof(EndpointMessageHeader), m->params,
                           m->params_len, m->xfer, m->nxfer, &ncaps);
    if (n < 0) {
        int code = n == CAP_ERR_INVALID_RESULT_BUFFER
                       ? CAP_ERR_INVALID_PARAMS_BUFFER
                       : n;
        msg_fail(m, code);
        return code;
    }
    /* The header is written in place, field by field: the user buffer
     * may be unaligned, and a block copy of a struct just built on the
     * stack stalls on store forwarding. */
    uint8_t *hdr =
        k_user_buf(r->server, r->result_addr, sizeof(EndpointMessageHeader));
    uint16_t cap_count = (uint16_t)m->nxfer;
    uint64_t zero = 0;
#define HDR_PUT(field, val)                                                    \
    k_memcpy(hdr + offsetof(EndpointMessageHeader, field), &(val),             \
             sizeof(((EndpointMessageHeader *)0)->field))
    HDR_PUT(call_id, call_id);
    HDR_PUT(params_len, m->params_len);
    HDR_PUT(badge, m->badge);
    HDR_PUT(method_id, m->method_id);
    HDR_PUT(cap_count, cap_count);
    HDR_PUT(reserved, zero);
    HDR_PUT(scoped_ref, zero);
    HDR_PUT(scoped_ref_hi, zero);
    HDR_PUT(epoch, zero);
#undef HDR_PUT
    ep->next_call_id = call_id;
    xfer_commit(m->caller, m->xfer, m->nxfer);
    m->nxfer = 0;
    m->call_id = call_id;
    m->delivered = true;
    m->next = ep->inflight;
    ep->inflight = m;
    CapCqe cqe = {.user_data = r->user_data,
                  .result = n,
                  .flags = ncaps ? CAP_CQE_F_CAPS : 0,
                  .cap_count = ncaps,
                  .call_id = call_id,
                  .badge = m->badge};
    struct k_process *server = r->server;
    struct k_tref ring = r->ring;
    recv_unlink_owner(r);
    recv_free(r);
    k_ring_post_to(server, ring, &cqe);
    return 0;
}

/* ---- CALL --------------------------------------------------------- */

/*
 * CALL on a client facet: queue the params (and prepared caps) for the
 * server, delivering at once if a receive waits. Returns K_CALL_PENDING
 * (the CQ reservation and the transfers now belong to the message), or
 * CAP_ERR_DISCONNECTED / CAP_ERR_QUEUE_FULL / CAP_ERR_INVOKE_FAILED with
 * nothing taken.
 */
static int ep_call(struct k_object *o, struct k_call *c)
{
    struct ep_core *ep = core_of(o);
    if (ep->closed)
        return CAP_ERR_DISCONNECTED;
    if (ep->nqueued >= EP_QUEUE_MAX)
        return CAP_ERR_QUEUE_FULL;
    struct ep_msg *m = msg_alloc(c->params_len);
    if (!m)
        return CAP_ERR_INVOKE_FAILED;
    m->next = NULL;
    m->ep = ep;
    m->delivered = false;
    m->call_id = 0;
    m->caller = c->proc;
    m->ring = k_ring_current();
    k_process_get(c->proc);
    m->caller_next = c->proc->calls_out;
    c->proc->calls_out = m;
    m->user_data = c->user_data;
    m->result_addr = c->result_addr;
    m->result_len = c->result_len;
    m->badge = c->badge;
    m->method_id = c->method_id;
    m->nxfer = c->nxfer;
    k_memcpy(m->xfer, c->xfer, c->nxfer * sizeof c->xfer[0]);
    c->nxfer = 0;
    m->params_len = c->params_len;
    if (c->params_len)
        k_memcpy(m->params, c->params, c->params_len);
    if (ep->r_head) {
        struct ep_recv *r = ep->r_head;
        ep->r_head = r->next;
        if (!ep->r_head)
            ep->r_tail = NULL;
        ep->nrecvs--;
        r->next = NULL;
        if (deliver(ep, m, r) < 0) {
            /* The call failed; the receive goes back to the front. */
            r->next = ep->r_head;
            ep->r_head = r;
            if (!ep->r_tail)
                ep->r_tail = r;
            ep->nrecvs++;
        }
        return K_CALL_PENDING;
    }
    if (ep->q_tail)
        ep->q_tail->next = m;
    else
        ep->q_head = m;
    ep->q_tail = m;
    ep->nqueued++;
    return K_CALL_PENDING;
}

/* ---- RECV --------------------------------------------------------- */

/*
 * RECV on the raw endpoint: deliver the oldest queued call, or queue the
 * receive. Returns K_CALL_PENDING (posted now or later), or
 * CAP_ERR_QUEUE_FULL / CAP_ERR_INVOKE_FAILED / CAP_ERR_DISCONNECTED.
 */
int ep_recv(struct k_process *p, struct k_object *obj, uint64_t user_data,
            uint64_t result_addr, uint32_t result_len)
{
    struct ep_core *ep = core_of(obj);
    if (ep->closed)
        return CAP_ERR_DISCONNECTED;
    if (ep->nrecvs >= EP_QUEUE_MAX)
        return CAP_ERR_QUEUE_FULL;
    struct ep_recv *r = recv_alloc();
    if (!r)
        return CAP_ERR_INVOKE_FAILED;
    r->ep = ep;
    r->server = p;
    r->ring = k_ring_current();
    k_process_get(p);
    r->owner_next = p->recvs_out;
    p->recvs_out = r;
    r->user_data = user_data;
    r->result_addr = result_addr;
    r->result_len = result_len;
    struct ep_msg *m;
    while ((m = queue_pop(ep)) != NULL) {
        if (deliver(ep, m, r) == 0)
            return K_CALL_PENDING;
    }
    if (ep->r_tail)
        ep->r_tail->next = r;
    else
        ep->r_head = r;
    ep->r_tail = r;
    ep->nrecvs++;
    return K_CALL_PENDING;
}

/* ---- RETURN ------------------------------------------------------- */

/*
 * RETURN call_id with payload (and prepared caps x, owned by this function
 * from here on). The caller's CQE gets the payload length (or
 * CAP_ERR_APPLICATION_EXCEPTION[_TRUNCATED] when flags has
 * CAP_SQE_EXCEPTION) and the caps; if the caller's buffer or table cannot
 * take them both sides get the error and the caps roll back to the server.
 * Returns 0, that error, CAP_ERR_INVALID_REQUEST for an unknown call_id, or
 * CAP_ERR_DISCONNECTED when the caller has exited (the reply is dropped).
 */
int ep_return(struct k_process *p, struct k_object *obj, uint32_t call_id,
              uint16_t flags, const uint8_t *payload, uint32_t len,
              struct k_xfer *x, uint32_t nx)
{
    struct ep_core *ep = core_of(obj);
    struct ep_msg *m = ep->inflight;
    while (m && m->call_id != call_id)
        m = m->next;
    if (!m || call_id == 0) {
        xfer_abort(p, x, nx);
        return CAP_ERR_INVALID_REQUEST;
    }
    inflight_remove(ep, m);
    if (m->caller && !k_ring_resolve(m->caller, m->ring)) {
        /* The calling thread and its ring are gone (its slot may hold a
         * newer thread): the reply is dropped as for an exited caller. */
        k_ring_stale_drop(m->caller);
        caller_unlink(m);
    }
    if (!m->caller) {
        xfer_abort(p, x, nx);
        msg_free(m);
        return CAP_ERR_DISCONNECTED;
    }
    CapCqe cqe = {.user_data = m->user_data};
    int ret = 0;
    if (flags & CAP_SQE_EXCEPTION) {
        uint32_t n = len < m->result_len ? len : m->result_len;
        uint16_t none;
        int w = k_ring_deliver(m->caller, m->result_addr, m->result_len, NULL,
                               0, payload, n, NULL, 0, &none);
        cqe.result = w >= 0 && n == len
                         ? CAP_ERR_APPLICATION_EXCEPTION
                         : CAP_ERR_APPLICATION_EXCEPTION_TRUNCATED;
    } else {
        uint16_t ncaps = 0;
        int w = k_ring_deliver(m->caller, m->result_addr, m->result_len, NULL,
                               0, payload, len, x, nx, &ncaps);
        if (w < 0) {
            xfer_abort(p, x, nx);
            ret = w;
        } else {
            xfer_commit(p, x, nx);
            cqe.flags = ncaps ? CAP_CQE_F_CAPS : 0;
            cqe.cap_count = ncaps;
        }
        cqe.result = w;
        nx = 0;
    }
    k_ring_post_to(m->caller, m->ring, &cqe);
    caller_unlink(m);
    msg_free(m);
    return ret;
}

/* ---- lifetime ----------------------------------------------------- */

/* Last raw reference gone: close, failing everyone still waiting. */
static void ep_raw_destroy(struct k_object *o)
{
    struct ep_core *ep = core_of(o);
    ep->closed = true;
    ep->closing = true;
    struct ep_msg *m;
    while ((m = queue_pop(ep)) != NULL)
        msg_fail(m, CAP_ERR_DISCONNECTED);
    while ((m = ep->inflight) != NULL) {
        ep->inflight = m->next;
        msg_fail(m, CAP_ERR_DISCONNECTED);
    }
    while (ep->r_head) {
        struct ep_recv *r = ep->r_head;
        recv_remove(ep, r);
        CapCqe cqe = {.user_data = r->user_data,
                      .result = CAP_ERR_DISCONNECTED};
        struct k_process *server = r->server;
        struct k_tref ring = r->ring;
        k_process_get(server);
        recv_unlink_owner(r);
        recv_free(r);
        k_ring_post_to(server, ring, &cqe);
        k_process_put(server);
    }
    ep->closing = false;
    core_maybe_free(ep);
}

static void ep_client_destroy(struct k_object *o)
{
    core_maybe_free(core_of(o));
}

/*
 * Process p is exiting: withdraw its undelivered calls (their transfers
 * roll back), orphan its delivered calls (a later RETURN is dropped), and
 * withdraw its waiting receives. No CQEs are posted to p.
 */
void ep_process_exit(struct k_process *p)
{
    while (p->calls_out) {
        struct ep_msg *m = p->calls_out;
        if (m->delivered) {
            caller_unlink(m);
        } else {
            queue_remove(m->ep, m);
            xfer_abort(p, m->xfer, m->nxfer);
            caller_unlink(m);
            msg_free(m);
        }
    }
    while (p->recvs_out) {
        struct ep_recv *r = p->recvs_out;
        recv_remove(r->ep, r);
        recv_unlink_owner(r);
        recv_free(r);
    }
}

static bool ref_eq(struct k_tref a, struct k_tref b)
{
    return a.slot == b.slot && a.gen == b.gen;
}

/*
 * A thread of live process p that had its own ring (ThreadRef r) has
 * exited: withdraw the calls it made that no server has received yet
 * (their transfers roll back) and the receives it posted. Calls already
 * delivered stay with their servers; the RETURN finds r stale and is
 * dropped (docs/abi.md §16). No CQEs are posted.
 */
void ep_thread_exit(struct k_process *p, struct k_tref r)
{
    struct ep_msg **mp = &p->calls_out;
    while (*mp) {
        struct ep_msg *m = *mp;
        if (m->delivered || !ref_eq(m->ring, r)) {
            mp = &m->caller_next;
            continue;
        }
        queue_remove(m->ep, m);
        xfer_abort(p, m->xfer, m->nxfer);
        caller_unlink(m); /* unlinks *mp; p stays referenced by others */
        msg_free(m);
    }
    struct ep_recv **rp = &p->recvs_out;
    while (*rp) {
        struct ep_recv *q = *rp;
        if (!ref_eq(q->ring, r)) {
            rp = &q->owner_next;
            continue;
        }
        recv_remove(q->ep, q);
        recv_unlink_owner(q);
        recv_free(q);
    }
}

/* ---- the raw endpoint's kernel methods (docs/abi.md §10.1) ---------- */

/* Ordinals and layouts from the generated capos.capnp.h. */
enum {
    EP_MINT_CLIENT = CAPOS_ENDPOINT_MINT_CLIENT_METHOD_ID,
    EP_IDENTIFY = CAPOS_ENDPOINT_IDENTIFY_METHOD_ID,
};
static const char *const ep_methods[] = {
    [EP_MINT_CLIENT] = "mintClient",
    [EP_IDENTIFY] = "identify",
};

/*
 * CALL on the raw endpoint runs the kernel's Endpoint methods; it does not
 * queue (docs/abi.md §10.1). Authority: the raw cap is non-transferable,
 * so only the endpoint's owner reaches these, and they reach nothing but
 * its own endpoint: a facet it mints can only call the owner, and
 * identify says nothing about a cap that is not a facet of it.
 *
 *   @0 mintClient(badge, interfaceId) -> (facet)
 *                                     a client facet whose slot carries
 *                                     badge, typed as interfaceId (0:
 *                                     untyped) (result cap 0)
 *   @1 identify(cap) -> (own, badge)  own: cap (a transferred cap) is a
 *                                     client facet of this endpoint; badge:
 *                                     its slot's badge (0 when not own)
 *
 * Returns the result length, CAP_ERR_INVALID_RESULT_BUFFER, or a
 * CapException (invalidArgument, unimplemented). Transferred caps are
 * dropped at commit (§9): identify consumes a moved cap.
 */
static int ep_raw_call(struct k_object *o, struct k_call *c)
{
    struct ep_core *ep = core_of(o);
    capnp_message m;
    capnp_struct p;
    capnp_builder b;
    capnp_struct_builder res;
    int r = k_call_params(c, &m, &p);
    if (r != 0)
        return r;
    switch (c->method_id) {
    case EP_MINT_CLIENT: {
        uint64_t badge = capos_Endpoint_mintClient_Params_get_badge(&p);
        uint64_t iface = capos_Endpoint_mintClient_Params_get_interfaceId(&p);
        if (k_call_result_begin(
                c, &b, CAPOS_ENDPOINT_MINT_CLIENT_RESULTS_DATA_WORDS,
                CAPOS_ENDPOINT_MINT_CLIENT_RESULTS_POINTERS, &res) != 0 ||
            capos_Endpoint_mintClient_Results_set_facet(&res, 0) != 0)
            return CAP_ERR_INVALID_RESULT_BUFFER;
        r = k_call_result_end(c, &b);
        if (r < 0)
            return r;
        c->result_caps[0] = ep_client_ref(o);
        c->result_badges[0] = badge;
        /* ClientEndpoint's own id is untyped, stored as 0 (§8). */
        c->result_ifaces[0] = iface == K_IFACE_CLIENT_ENDPOINT ? 0 : iface;
        c->nresult_caps = 1;
        c->nresult_badges = 1;
        return r;
    }
    case EP_IDENTIFY: {
        uint32_t idx = CAPNP_CAP_NULL;
        if (capos_Endpoint_identify_Params_get_cap(&p, &idx) != 0 ||
            idx >= c->nxfer)
            return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                    "Endpoint.identify: `cap` must name a "
                                    "cap transferred with the call");
        const struct k_xfer *x = &c->xfer[idx];
        bool own = x->obj == &ep->client;
        if (k_call_result_begin(
                c, &b, CAPOS_ENDPOINT_IDENTIFY_RESULTS_DATA_WORDS,
                CAPOS_ENDPOINT_IDENTIFY_RESULTS_POINTERS, &res) != 0)
            return CAP_ERR_INVALID_RESULT_BUFFER;
        capos_Endpoint_identify_Results_set_own(&res, own);
        capos_Endpoint_identify_Results_set_badge(&res, own ? x->badge : 0);
        return k_call_result_end(c, &b);
    }
    default:
        return k_call_no_method(c, "Endpoint", ep_methods,
                                sizeof ep_methods / sizeof ep_methods[0]);
    }
}

const struct k_object_ops ep_raw_ops = {
    .name = "Endpoint",
    .interface_id = K_IFACE_ENDPOINT,
    .call = ep_raw_call,
    .destroy = ep_raw_destroy,
};

static const struct k_object_ops ep_client_ops = {
    .name = "ClientEndpoint",
    .interface_id = K_IFACE_CLIENT_ENDPOINT,
    .call = ep_call,
    .destroy = ep_client_destroy,
};

/*
 * Create an endpoint owned by owner; its raw cap goes in owner's table.
 * Returns 0 and the CapId, or a CAP_ERR_* code.
 */
int ep_create(struct k_process *owner, uint32_t *raw_id)
{
    struct ep_core *ep = port_alloc(sizeof *ep);
    if (!ep)
        return CAP_ERR_INVOKE_FAILED;
    k_obj_init(&ep->raw, &ep_raw_ops, K_OBJ_NON_TRANSFERABLE);
    k_obj_init(&ep->client, &ep_client_ops, 0);
    ep->client.refs = 0; /* no client facet handed out yet */
    k.stats.objects_live--;
    int r = ct_insert(&owner->caps, &ep->raw, 0, raw_id);
    k_obj_unref(&ep->raw); /* the slot holds it now, or it closes */
    return r;
}

/*
 * A new reference to the client facet of raw endpoint raw (the caller
 * drops it with k_obj_unref). The facet is one object per endpoint; the
 * badge lives in each slot that holds it. The first reference brings the
 * facet to life (it counts as a live object while referenced).
 */
struct k_object *ep_client_ref(struct k_object *raw)
{
    struct ep_core *ep = core_of(raw);
    K_ASSERT(raw == &ep->raw, "ep_client_ref of a non-raw endpoint");
    if (ep->client.refs == 0) {
        ep->client.refs = 1;
        k.stats.objects_live++;
    } else {
        k_obj_ref(&ep->client);
    }
    return &ep->client;
}

/*
 * Put a client facet of owner's raw endpoint raw_id in dst's table with
 * badge. Returns 0 and the CapId, CAP_ERR_INVOKE_FAILED if raw_id is not a
 * raw endpoint of owner, or CAP_ERR_TRANSFER_REJECTED if dst is full.
 */
int ep_mint_client(struct k_process *owner, uint32_t raw_id,
                   struct k_process *dst, uint64_t badge, uint32_t *out_id)
{
    struct ct_slot *s = ct_lookup(&owner->caps, raw_id);
    if (!s || !k_is_endpoint(s->obj))
        return CAP_ERR_INVOKE_FAILED;
    struct k_object *facet = ep_client_ref(s->obj);
    int r = ct_insert(&dst->caps, facet, badge, out_id);
    k_obj_unref(facet);
    return r;
}
