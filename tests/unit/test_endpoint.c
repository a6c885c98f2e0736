/*
 * test_endpoint.c - endpoint IPC: CALL on a client facet, RECV and RETURN on
 * the raw endpoint, badges, facets, queue bounds, exceptions, and what
 * callers and servers see when the other side goes away.
 */
#include <string.h>

#include "capos.capnp.h"
#include "harness.h"

/* Interfaces typed facets are minted for in these tests (any id will do:
 * a facet's type says what its server serves, docs/abi.md §8). */
#define IFACE_COUNTER 0xc0ffee0000000001ull
#define IFACE_OTHER 0xc0ffee0000000002ull

/* A server with a raw endpoint and a client holding a facet with badge. */
struct pair {
    struct k_process *srv, *cli;
    uint32_t raw, facet;
};

static struct pair pair_new(uint64_t badge)
{
    struct pair pr;
    pr.srv = h_proc("server", 0);
    pr.cli = h_proc("client", 0);
    assert_int_equal(ep_create(pr.srv, &pr.raw), 0);
    assert_int_equal(ep_mint_client(pr.srv, pr.raw, pr.cli, badge, &pr.facet),
                     0);
    return pr;
}

/* Queue a CALL of facet with params text; returns the result buffer. */
static char *submit_call(struct k_process *p, uint32_t facet, const char *text,
                         uint64_t user_data, uint32_t result_len)
{
    size_t n = strlen(text);
    char *params = h_alloc(p, n + 1);
    memcpy(params, text, n);
    char *result = h_alloc(p, result_len ? result_len : 1);
    CapSqe *s = h_sqe(p);
    *s = h_call(facet, 3, user_data);
    s->addr = h_va(p, params);
    s->len = (uint32_t)n;
    s->result_addr = h_va(p, result);
    s->result_len = result_len;
    h_submit(p);
    return result;
}

static uint8_t *submit_recv(struct k_process *p, uint32_t raw,
                            uint64_t user_data, uint32_t len)
{
    uint8_t *buf;
    CapSqe *s = h_sqe(p);
    *s = h_recv(p, raw, user_data, len, &buf);
    h_submit(p);
    return buf;
}

static CapCqe do_return(struct k_process *p, uint32_t raw, uint32_t call_id,
                        const char *text, uint16_t flags)
{
    size_t n = strlen(text);
    char *payload = h_alloc(p, n + 1);
    memcpy(payload, text, n);
    CapSqe s = {.opcode = CAP_OP_RETURN,
                .cap_id = raw,
                .call_id = call_id,
                .flags = flags,
                .addr = h_va(p, payload),
                .len = (uint32_t)n,
                .user_data = 0x5e};
    return h_one(p, &s);
}

static void call_recv_return_round_trip_shows_the_client_badge(void **state)
{
    (void)state;
    struct pair pr = pair_new(42);
    char *result = submit_call(pr.cli, pr.facet, "ping", 11, 64);
    assert_int_equal(h_enter(pr.cli), 0); /* pending until RETURN */

    uint8_t *buf = submit_recv(pr.srv, pr.raw, 22, 256);
    assert_int_equal(h_enter(pr.srv), 1);
    CapCqe rc;
    assert_true(h_cqe(pr.srv, &rc));
    assert_int_equal(rc.user_data, 22);
    assert_int_equal(rc.result, sizeof(EndpointMessageHeader) + 4);
    assert_int_equal(rc.badge, 42);
    assert_int_not_equal(rc.call_id, 0);
    EndpointMessageHeader hdr;
    memcpy(&hdr, buf, sizeof hdr);
    assert_int_equal(hdr.call_id, rc.call_id);
    assert_int_equal(hdr.badge, 42);
    assert_int_equal(hdr.params_len, 4);
    assert_int_equal(hdr.method_id, 3);
    assert_int_equal(hdr.cap_count, 0);
    assert_memory_equal(buf + sizeof hdr, "ping", 4);

    CapCqe ret = do_return(pr.srv, pr.raw, rc.call_id, "pong!", 0);
    assert_int_equal(ret.result, 0);
    assert_int_equal(h_enter(pr.cli), 1);
    CapCqe cc;
    assert_true(h_cqe(pr.cli, &cc));
    assert_int_equal(cc.user_data, 11);
    assert_int_equal(cc.result, 5);
    assert_memory_equal(result, "pong!", 5);

    /* The call is finished: a second RETURN names nothing. */
    ret = do_return(pr.srv, pr.raw, rc.call_id, "again", 0);
    assert_int_equal(ret.result, CAP_ERR_INVALID_REQUEST);
}

static void a_waiting_recv_gets_the_call_at_once(void **state)
{
    (void)state;
    struct pair pr = pair_new(7);
    submit_recv(pr.srv, pr.raw, 1, 128);
    assert_int_equal(h_enter(pr.srv), 0);
    submit_call(pr.cli, pr.facet, "x", 2, 8);
    assert_int_equal(h_enter(pr.cli), 0);
    CapCqe rc;
    assert_true(h_cqe(pr.srv, &rc)); /* posted by the client's CALL */
    assert_int_equal(rc.badge, 7);
}

static void each_client_is_seen_with_its_own_badge(void **state)
{
    (void)state;
    struct pair pr = pair_new(100);
    struct k_process *other = h_proc("other", 0);
    uint32_t facet2;
    assert_int_equal(ep_mint_client(pr.srv, pr.raw, other, 200, &facet2), 0);
    submit_call(other, facet2, "b", 1, 8);
    submit_call(pr.cli, pr.facet, "a", 1, 8);
    h_enter(other);
    h_enter(pr.cli);
    submit_recv(pr.srv, pr.raw, 1, 128);
    submit_recv(pr.srv, pr.raw, 2, 128);
    assert_int_equal(h_enter(pr.srv), 2);
    CapCqe a, b;
    assert_true(h_cqe(pr.srv, &a));
    assert_true(h_cqe(pr.srv, &b));
    assert_int_equal(a.badge, 200); /* FIFO: other called first */
    assert_int_equal(b.badge, 100);
    assert_int_not_equal(a.call_id, b.call_id);
}

static void the_client_facet_can_neither_receive_nor_return(void **state)
{
    (void)state;
    struct pair pr = pair_new(1);
    uint8_t *buf;
    CapSqe s = h_recv(pr.cli, pr.facet, 0, 128, &buf);
    assert_int_equal(h_one(pr.cli, &s).result, CAP_ERR_INVOKE_FAILED);
    s = (CapSqe){.opcode = CAP_OP_RETURN, .cap_id = pr.facet, .call_id = 1};
    assert_int_equal(h_one(pr.cli, &s).result, CAP_ERR_INVOKE_FAILED);
}

static void the_raw_endpoint_cannot_be_transferred(void **state)
{
    (void)state;
    struct pair pr = pair_new(1);
    uint32_t nc;
    assert_int_equal(nullcap_grant(pr.srv, &nc), 0);
    CapTransferDescriptor *d;
    CapSqe s = h_call_xfer(pr.srv, nc, 0, 1, pr.raw, CAP_XFER_COPY, &d);
    assert_int_equal(h_one(pr.srv, &s).result, CAP_ERR_INVALID_TRANSFER);
    d->mode = CAP_XFER_MOVE;
    assert_int_equal(h_one(pr.srv, &s).result, CAP_ERR_INVALID_TRANSFER);
    assert_non_null(ct_lookup(&pr.srv->caps, pr.raw));
}

static void recv_buffer_smaller_than_the_header_is_rejected(void **state)
{
    (void)state;
    struct pair pr = pair_new(1);
    submit_recv(pr.srv, pr.raw, 9, sizeof(EndpointMessageHeader) - 1);
    assert_int_equal(h_enter(pr.srv), 1);
    CapCqe c;
    assert_true(h_cqe(pr.srv, &c));
    assert_int_equal(c.result, CAP_ERR_INVALID_RESULT_BUFFER);
}

/* A call too big for the posted receive fails to its caller; the receive
 * stays and takes the next call that fits. */
static void
oversized_call_fails_to_the_caller_and_the_recv_survives(void **state)
{
    (void)state;
    struct pair pr = pair_new(1);
    submit_recv(pr.srv, pr.raw, 1, sizeof(EndpointMessageHeader) + 4);
    h_enter(pr.srv);
    submit_call(pr.cli, pr.facet, "far too long", 1, 8);
    assert_int_equal(h_enter(pr.cli), 1);
    CapCqe c;
    assert_true(h_cqe(pr.cli, &c));
    assert_int_equal(c.result, CAP_ERR_INVALID_PARAMS_BUFFER);
    assert_int_equal(h_enter(pr.srv), 0);
    submit_call(pr.cli, pr.facet, "fits", 2, 8);
    h_enter(pr.cli);
    assert_int_equal(h_enter(pr.srv), 1);
    assert_true(h_cqe(pr.srv, &c));
    assert_int_equal(c.result, sizeof(EndpointMessageHeader) + 4);
}

static void reply_larger_than_the_result_buffer_fails_both_sides(void **state)
{
    (void)state;
    struct pair pr = pair_new(1);
    char *res = submit_call(pr.cli, pr.facet, "q", 1, 4);
    h_enter(pr.cli);
    submit_recv(pr.srv, pr.raw, 1, 128);
    h_enter(pr.srv);
    CapCqe rc;
    assert_true(h_cqe(pr.srv, &rc));
    CapCqe ret = do_return(pr.srv, pr.raw, rc.call_id, "too long", 0);
    assert_int_equal(ret.result, CAP_ERR_INVALID_RESULT_BUFFER);
    CapCqe cc;
    h_enter(pr.cli);
    assert_true(h_cqe(pr.cli, &cc));
    assert_int_equal(cc.result, CAP_ERR_INVALID_RESULT_BUFFER);
    assert_int_equal(res[0], 0);
}

static void
exception_return_reaches_the_caller_and_may_be_truncated(void **state)
{
    (void)state;
    struct pair pr = pair_new(1);
    char *res1 = submit_call(pr.cli, pr.facet, "a", 1, 32);
    char *res2 = submit_call(pr.cli, pr.facet, "b", 2, 3);
    h_enter(pr.cli);
    submit_recv(pr.srv, pr.raw, 1, 128);
    submit_recv(pr.srv, pr.raw, 2, 128);
    assert_int_equal(h_enter(pr.srv), 2);
    CapCqe r1, r2;
    assert_true(h_cqe(pr.srv, &r1));
    assert_true(h_cqe(pr.srv, &r2));
    assert_int_equal(
        do_return(pr.srv, pr.raw, r1.call_id, "failed", CAP_SQE_EXCEPTION)
            .result,
        0);
    assert_int_equal(
        do_return(pr.srv, pr.raw, r2.call_id, "failed", CAP_SQE_EXCEPTION)
            .result,
        0);
    assert_int_equal(h_enter(pr.cli), 2);
    CapCqe c1, c2;
    assert_true(h_cqe(pr.cli, &c1));
    assert_true(h_cqe(pr.cli, &c2));
    assert_int_equal(c1.result, CAP_ERR_APPLICATION_EXCEPTION);
    assert_memory_equal(res1, "failed", 6);
    assert_int_equal(c2.result, CAP_ERR_APPLICATION_EXCEPTION_TRUNCATED);
    assert_memory_equal(res2, "fai", 3);
}

/* The queue of undelivered calls is bounded; the 65th caller is refused. */
static void the_call_queue_is_bounded(void **state)
{
    (void)state;
    struct pair pr = pair_new(1);
    struct k_process *c[3] = {pr.cli, h_proc("c2", 0), h_proc("c3", 0)};
    uint32_t facet[3] = {pr.facet, 0, 0};
    for (int i = 1; i < 3; i++)
        assert_int_equal(ep_mint_client(pr.srv, pr.raw, c[i], 1, &facet[i]), 0);
    unsigned queued = 0;
    for (int i = 0; i < 3 && queued < EP_QUEUE_MAX; i++) {
        for (unsigned j = 0; j < 8 && queued < EP_QUEUE_MAX; j++) {
            for (unsigned b = 0; b < 4 && queued < EP_QUEUE_MAX; b++, queued++)
                submit_call(c[i], facet[i], "q", queued, 0);
            assert_int_equal(h_enter(c[i]), 0);
        }
    }
    assert_int_equal(queued, EP_QUEUE_MAX);
    submit_call(c[2], facet[2], "one too many", 999, 0);
    assert_int_equal(h_enter(c[2]), 1);
    CapCqe cc;
    assert_true(h_cqe(c[2], &cc));
    assert_int_equal(cc.user_data, 999);
    assert_int_equal(cc.result, CAP_ERR_QUEUE_FULL);
}

/* The server exits: a queued caller, an in-flight caller and nothing else
 * is left waiting; all get CAP_ERR_DISCONNECTED; later calls fail fast. */
static void server_exit_disconnects_queued_and_in_flight_callers(void **state)
{
    (void)state;
    struct pair pr = pair_new(1);
    submit_call(pr.cli, pr.facet, "one", 1, 8);
    submit_call(pr.cli, pr.facet, "two", 2, 8);
    h_enter(pr.cli);
    submit_recv(pr.srv, pr.raw, 1, 128);
    assert_int_equal(h_enter(pr.srv), 1); /* "one" in flight, "two" queued */
    k_process_exit(pr.srv, 3);
    assert_int_equal(h_enter(pr.cli), 2);
    CapCqe a, b;
    assert_true(h_cqe(pr.cli, &a));
    assert_true(h_cqe(pr.cli, &b));
    assert_int_equal(a.result, CAP_ERR_DISCONNECTED);
    assert_int_equal(b.result, CAP_ERR_DISCONNECTED);
    assert_int_equal(a.user_data + b.user_data, 3);
    CapSqe s = h_call(pr.facet, 0, 5);
    assert_int_equal(h_one(pr.cli, &s).result, CAP_ERR_DISCONNECTED);
    assert_int_equal(pr.cli->rs.cq_reserved, 0);
}

/* Releasing the raw cap while receives wait completes them. */
static void releasing_the_raw_endpoint_completes_waiting_receives(void **state)
{
    (void)state;
    struct pair pr = pair_new(1);
    submit_recv(pr.srv, pr.raw, 1, 128);
    assert_int_equal(h_enter(pr.srv), 0);
    CapSqe s = h_release(pr.raw, 2);
    *h_sqe(pr.srv) = s;
    h_submit(pr.srv);
    assert_int_equal(h_enter(pr.srv), 2);
    CapCqe a, b;
    assert_true(h_cqe(pr.srv, &a));
    assert_true(h_cqe(pr.srv, &b));
    assert_int_equal(a.user_data, 1);
    assert_int_equal(a.result, CAP_ERR_DISCONNECTED);
    assert_int_equal(b.user_data, 2);
    assert_int_equal(b.result, 0);
}

/* The caller exits with a call in flight: the server's RETURN is told, and
 * nothing of the caller stays referenced. */
static void caller_exit_with_a_call_in_flight_drops_the_reply(void **state)
{
    (void)state;
    struct pair pr = pair_new(1);
    submit_call(pr.cli, pr.facet, "hi", 1, 8);
    h_enter(pr.cli);
    submit_recv(pr.srv, pr.raw, 1, 128);
    h_enter(pr.srv);
    CapCqe rc;
    assert_true(h_cqe(pr.srv, &rc));
    uint32_t refs = pr.cli->refs;
    k_process_exit(pr.cli, 0);
    assert_int_equal(pr.cli->refs, refs - 1);
    CapCqe ret = do_return(pr.srv, pr.raw, rc.call_id, "late", 0);
    assert_int_equal(ret.result, CAP_ERR_DISCONNECTED);
    assert_int_equal(pr.cli->refs, 1); /* only the process list */
}

/* A queued (undelivered) call of an exiting caller is withdrawn. */
static void caller_exit_withdraws_its_queued_calls(void **state)
{
    (void)state;
    struct pair pr = pair_new(1);
    submit_call(pr.cli, pr.facet, "hi", 1, 8);
    h_enter(pr.cli);
    k_process_exit(pr.cli, 0);
    submit_recv(pr.srv, pr.raw, 1, 128);
    assert_int_equal(h_enter(pr.srv), 0);
    assert_int_equal(pr.cli->refs, 1);
}

/* ---- threads: completions out of order ------------------------------ */

struct ooo {
    uint32_t facet[2];
    uint32_t raw[2];
    uint64_t order[2];
    int results[2];
    int enter_ret;
};

static struct ooo g;

static void client_thread(void *arg)
{
    struct k_process *p = k_current()->proc;
    (void)arg;
    for (int i = 0; i < 2; i++) {
        CapSqe *s = h_sqe(p);
        *s = h_call(g.facet[i], 0, 0xA0 + i);
    }
    h_submit(p);
    g.enter_ret = k_sys_cap_enter(2, CAP_TIMEOUT_INFINITE);
    for (int i = 0; i < 2; i++) {
        CapCqe c;
        if (h_cqe(p, &c)) {
            g.order[i] = c.user_data;
            g.results[i] = c.result;
        }
    }
}

/* Server i answers after (1 - i) * 10 ms of virtual time, so the second
 * call completes first. */
static void server_thread(void *arg)
{
    int i = (int)(intptr_t)arg;
    struct k_process *p = k_current()->proc;
    uint8_t *buf = k_user_ptr(p, CAPOS_HEAP_VADDR + 4096, 256);
    CapSqe *s = h_sqe(p);
    *s = (CapSqe){.opcode = CAP_OP_RECV,
                  .cap_id = g.raw[i],
                  .result_addr = h_va(p, buf),
                  .result_len = 256};
    h_submit(p);
    if (k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE) != 1)
        return;
    CapCqe rc;
    if (!h_cqe(p, &rc))
        return;
    if (i == 0)
        k_sys_cap_enter(1, 10 * 1000 * 1000); /* sleep: nothing to come */
    s = h_sqe(p);
    *s = (CapSqe){
        .opcode = CAP_OP_RETURN, .cap_id = g.raw[i], .call_id = rc.call_id};
    h_submit(p);
    k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE);
}

static void
completions_arrive_out_of_order_from_two_server_threads(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    struct k_process *cli = h_proc("client", 0);
    struct k_process *srv[2] = {h_proc("s0", 0), h_proc("s1", 0)};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ep_create(srv[i], &g.raw[i]), 0);
        assert_int_equal(ep_mint_client(srv[i], g.raw[i], cli, i, &g.facet[i]),
                         0);
        assert_int_equal(
            k_thread_create(srv[i], server_thread, (void *)(intptr_t)i, NULL),
            0);
    }
    assert_int_equal(k_thread_create(cli, client_thread, NULL, NULL), 0);
    uint64_t t0 = k_now();
    assert_int_equal(k_run(), 0);
    assert_int_equal(g.enter_ret, 2);
    assert_int_equal(g.order[0], 0xA1);
    assert_int_equal(g.order[1], 0xA0);
    assert_int_equal(g.results[0], 0);
    assert_int_equal(g.results[1], 0);
    assert_int_equal(k_now() - t0, 10 * 1000 * 1000);
}

/* A queued call carrying a copy of the endpoint's own last client facet:
 * closing the endpoint fails the call, which drops that last facet; the
 * endpoint must survive its own close loop and be freed exactly once. */
static void closing_with_its_own_last_facet_queued_frees_it_once(void **state)
{
    (void)state;
    struct pair pr = pair_new(1);
    uint32_t objects = k.stats.objects_live;
    CapSqe s =
        h_call_xfer(pr.cli, pr.facet, 0, 1, pr.facet, CAP_XFER_COPY, NULL);
    *h_sqe(pr.cli) = s;
    *h_sqe(pr.cli) = h_release(pr.facet, 2);
    h_submit(pr.cli);
    assert_int_equal(h_enter(pr.cli), 1); /* the RELEASE; the CALL waits */
    k_process_exit(pr.srv, 0);
    assert_int_equal(h_enter(pr.cli), 2);
    CapCqe c;
    assert_true(h_cqe(pr.cli, &c));
    assert_true(h_cqe(pr.cli, &c));
    assert_int_equal(c.user_data, 1);
    assert_int_equal(c.result, CAP_ERR_DISCONNECTED);
    assert_int_equal(k.stats.objects_live, objects - 2);
}

/* ---- typed facets (docs/abi.md §8, §4.5) ------------------------------ */

/* The srv's raw endpoint raw mints a facet with badge, typed iface, into
 * srv's own table (Endpoint.mintClient); returns its CapId after checking
 * the result record names iface (ClientEndpoint when untyped). */
static uint32_t mint_typed(struct k_process *srv, uint32_t raw, uint64_t badge,
                           uint64_t iface)
{
    capnp_builder b;
    capnp_struct_builder p;
    uint8_t *res;
    h_msg(srv, &b, 64);
    assert_int_equal(capos_Endpoint_mintClient_Params_init_root(&b, &p), 0);
    capos_Endpoint_mintClient_Params_set_badge(&p, badge);
    capos_Endpoint_mintClient_Params_set_interfaceId(&p, iface);
    CapSqe s = h_call_msg(srv, raw, CAPOS_ENDPOINT_MINT_CLIENT_METHOD_ID, 1, &b,
                          128, &res);
    CapCqe c = h_one(srv, &s);
    assert_true(c.result > 0);
    assert_int_equal(c.cap_count, 1);
    CapTransferResult rec;
    memcpy(&rec, res + CAP_ALIGN8((uint32_t)c.result), sizeof rec);
    assert_int_equal(rec.interface_id, iface ? iface : K_IFACE_CLIENT_ENDPOINT);
    return rec.cap_id;
}

/* A CALL of cap meant for iface with no params and a 256-byte result. */
static CapSqe call_as(struct k_process *p, uint32_t cap, uint64_t iface,
                      uint64_t user_data)
{
    CapSqe s = h_call(cap, 0, user_data);
    s.result_addr = h_va(p, h_alloc(p, 256));
    s.result_len = 256;
    s.interface_id = iface;
    return s;
}

/* The interface of record i after a RECV's header and params in buf. */
static uint64_t recv_record_iface(const uint8_t *buf, const CapCqe *c,
                                  uint32_t i, uint32_t *cap_id)
{
    CapTransferResult rec;
    memcpy(&rec, buf + CAP_ALIGN8((uint32_t)c->result) + i * sizeof rec,
           sizeof rec);
    if (cap_id)
        *cap_id = rec.cap_id;
    return rec.interface_id;
}

/*
 * A facet minted typed Counter keeps Counter through a RETURN to a client
 * (its result record), a copy and a move back to the server (the RECV
 * records), and the CapSet: calls meant for Counter reach the server with
 * the facet's badge, calls meant for anything else (ClientEndpoint
 * included) are refused with CAP_ERR_WRONG_INTERFACE and never queued.
 */
static void
a_minted_typed_facet_keeps_its_interface_through_every_transfer(void **state)
{
    (void)state;
    struct pair pr = pair_new(5);
    uint32_t typed = mint_typed(pr.srv, pr.raw, 9, IFACE_COUNTER);
    assert_int_equal(ct_slot_iface(ct_lookup(&pr.srv->caps, typed)),
                     IFACE_COUNTER);

    /* The client asks, the server answers with a copy of the facet. */
    char *res = submit_call(pr.cli, pr.facet, "give", 2, 128);
    assert_int_equal(h_enter(pr.cli), 0);
    uint8_t *buf = submit_recv(pr.srv, pr.raw, 3, 256);
    assert_int_equal(h_enter(pr.srv), 1);
    CapCqe rc;
    assert_true(h_cqe(pr.srv, &rc));
    /* The RETURN reuses a transferring CALL's descriptor layout. */
    CapSqe r = h_call_xfer(pr.srv, pr.raw, 0, 4, typed, CAP_XFER_COPY, NULL);
    r.opcode = CAP_OP_RETURN;
    r.call_id = rc.call_id;
    assert_int_equal(h_one(pr.srv, &r).result, 0);
    CapCqe cc;
    assert_int_equal(h_enter(pr.cli), 1);
    assert_true(h_cqe(pr.cli, &cc));
    assert_int_equal(cc.cap_count, 1);
    CapTransferResult got;
    memcpy(&got, res, sizeof got);
    assert_int_equal(got.interface_id, IFACE_COUNTER);
    assert_int_equal(k_capset_add(pr.cli, "counter", got.cap_id), 0);
    assert_int_equal(pr.cli->capset->entries[0].interface_id, IFACE_COUNTER);

    /* Meant for another interface, or for a plain ClientEndpoint: refused
     * at once, nothing queued for the server. */
    CapSqe wrong = call_as(pr.cli, got.cap_id, IFACE_OTHER, 5);
    assert_int_equal(h_one(pr.cli, &wrong).result, CAP_ERR_WRONG_INTERFACE);
    wrong = call_as(pr.cli, got.cap_id, K_IFACE_CLIENT_ENDPOINT, 6);
    assert_int_equal(h_one(pr.cli, &wrong).result, CAP_ERR_WRONG_INTERFACE);
    buf = submit_recv(pr.srv, pr.raw, 7, 256);
    assert_int_equal(h_enter(pr.srv), 0); /* the RECV waits: no call came */

    /* Meant for Counter: delivered, with the facet's badge. */
    CapSqe right = call_as(pr.cli, got.cap_id, IFACE_COUNTER, 8);
    *h_sqe(pr.cli) = right;
    h_submit(pr.cli);
    assert_int_equal(h_enter(pr.cli), 0);
    assert_int_equal(h_enter(pr.srv), 1);
    assert_true(h_cqe(pr.srv, &rc));
    assert_int_equal(rc.user_data, 7);
    assert_int_equal(rc.badge, 9);

    /* A copy and then a move back to the server keep Counter. */
    CapSqe cp =
        h_call_xfer(pr.cli, pr.facet, 0, 9, got.cap_id, CAP_XFER_COPY, NULL);
    CapSqe mv =
        h_call_xfer(pr.cli, pr.facet, 0, 10, got.cap_id, CAP_XFER_MOVE, NULL);
    *h_sqe(pr.cli) = cp;
    *h_sqe(pr.cli) = mv;
    h_submit(pr.cli);
    assert_int_equal(h_enter(pr.cli), 0);
    for (int i = 0; i < 2; i++) {
        buf = submit_recv(pr.srv, pr.raw, 11 + i, 256);
        assert_int_equal(h_enter(pr.srv), 1);
        assert_true(h_cqe(pr.srv, &rc));
        assert_int_equal(rc.cap_count, 1);
        assert_int_equal(recv_record_iface(buf, &rc, 0, NULL), IFACE_COUNTER);
    }
    assert_null(ct_lookup(&pr.cli->caps, got.cap_id)); /* moved away */
    assert_int_equal(ct_check(&pr.srv->caps), 0);
}

/*
 * An untyped facet (an echo service's, say) speaks only ClientEndpoint: a
 * client that means Counter is refused with CAP_ERR_WRONG_INTERFACE and
 * gets no answer from that server; a call meant for ClientEndpoint or
 * untyped (0) goes through.
 */
static void
an_untyped_facet_refuses_a_call_meant_for_a_typed_interface(void **state)
{
    (void)state;
    struct pair pr = pair_new(42);
    CapSqe s = call_as(pr.cli, pr.facet, IFACE_COUNTER, 1);
    assert_int_equal(h_one(pr.cli, &s).result, CAP_ERR_WRONG_INTERFACE);
    submit_recv(pr.srv, pr.raw, 2, 256);
    assert_int_equal(h_enter(pr.srv), 0);
    s = call_as(pr.cli, pr.facet, K_IFACE_CLIENT_ENDPOINT, 3);
    *h_sqe(pr.cli) = s;
    h_submit(pr.cli);
    assert_int_equal(h_enter(pr.cli), 0);
    assert_int_equal(h_enter(pr.srv), 1);
}

/* mintClient with ClientEndpoint's own id mints an untyped facet. */
static void minting_as_client_endpoint_is_untyped(void **state)
{
    (void)state;
    struct pair pr = pair_new(1);
    uint32_t f = mint_typed(pr.srv, pr.raw, 3, K_IFACE_CLIENT_ENDPOINT);
    struct ct_slot *sl = ct_lookup(&pr.srv->caps, f);
    assert_int_equal(sl->iface, 0);
    assert_int_equal(ct_slot_iface(sl), K_IFACE_CLIENT_ENDPOINT);
}

static struct k_trace last_call;
static void record_trace(const struct k_trace *ev)
{
    if (ev->sqe && ev->opcode == CAP_OP_CALL)
        last_call = *ev;
}

/* The trace hook (capos-sim --trace) reports a typed facet's interface,
 * so the call is decoded by its interface and method, not as
 * ClientEndpoint. */
static void the_trace_names_a_typed_facets_interface(void **state)
{
    (void)state;
    struct pair pr = pair_new(1);
    uint32_t typed = mint_typed(pr.srv, pr.raw, 2, IFACE_COUNTER);
    k.cfg.trace = record_trace;
    CapSqe s = call_as(pr.srv, typed, IFACE_COUNTER, 5);
    s.method_id = 3;
    *h_sqe(pr.srv) = s;
    h_submit(pr.srv);
    h_enter(pr.srv);
    k.cfg.trace = NULL;
    assert_int_equal(last_call.cap_id, typed);
    assert_int_equal(last_call.iface, IFACE_COUNTER);
    assert_int_equal(last_call.method, 3);
    s = call_as(pr.cli, pr.facet, 0, 6);
    k.cfg.trace = record_trace;
    *h_sqe(pr.cli) = s;
    h_submit(pr.cli);
    h_enter(pr.cli);
    k.cfg.trace = NULL;
    assert_int_equal(last_call.iface, K_IFACE_CLIENT_ENDPOINT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            call_recv_return_round_trip_shows_the_client_badge, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(a_waiting_recv_gets_the_call_at_once,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(each_client_is_seen_with_its_own_badge,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            the_client_facet_can_neither_receive_nor_return, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(the_raw_endpoint_cannot_be_transferred,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            recv_buffer_smaller_than_the_header_is_rejected, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            oversized_call_fails_to_the_caller_and_the_recv_survives, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            reply_larger_than_the_result_buffer_fails_both_sides, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            exception_return_reaches_the_caller_and_may_be_truncated, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(the_call_queue_is_bounded, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(
            server_exit_disconnects_queued_and_in_flight_callers, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            releasing_the_raw_endpoint_completes_waiting_receives, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            caller_exit_with_a_call_in_flight_drops_the_reply, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(caller_exit_withdraws_its_queued_calls,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            completions_arrive_out_of_order_from_two_server_threads, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            closing_with_its_own_last_facet_queued_frees_it_once, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            a_minted_typed_facet_keeps_its_interface_through_every_transfer,
            h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            an_untyped_facet_refuses_a_call_meant_for_a_typed_interface,
            h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(minting_as_client_endpoint_is_untyped,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            the_trace_names_a_typed_facets_interface, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
