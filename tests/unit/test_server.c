/*
 * test_server.c - capos-rt's server runtime (services/rt/server.h): a
 * client process calls a server process serving with capos_serve; results,
 * CapExceptions, undecodable params, unknown methods, result caps, caps
 * the handler does not take, a result cap the kernel refuses to move
 * (answered with an exception, not left waiting), and stopping.
 */
#include <string.h>

#include "capos.capnp.h"
#include "harness.h"
#include "harness_rt.h"
#include "server.h"

#define M_ADD 0        /* read$Params (from, max) -> append$Results from+max */
#define M_FAIL 1       /* always a `failed` CapException */
#define M_ECHO_CAP 2   /* takes cap 0 and moves it back */
#define M_IGNORE_CAP 3 /* takes nothing: the runtime releases it */
#define M_RAW_CAP 4    /* returns the non-transferable raw endpoint */
#define M_TAKE_TYPED 5 /* takes cap 0 as a Counter (IFACE_COUNTER) */
#define IFACE_COUNTER 0xc0ffee0000000001ull
#define M_STOP 9

static struct {
    int serve_result;
    uint64_t badges[16];
    unsigned calls;
    int add_result;
    uint64_t sum;
    int fail_result;
    uint16_t fail_type;
    char fail_msg[64];
    int garbage_result;
    uint16_t garbage_type;
    int unknown_result;
    uint16_t unknown_type;
    int echo_result;
    int echo_adopt;
    int echo_call;
    int ignore_result;
    int stop_result;
    int after_stop;
    int raw_result;
    uint16_t raw_type;
    char raw_msg[96];
    int after_raw;
    int take[4]; /* capos_server_take_cap results of M_TAKE_TYPED */
    uint64_t taken_iface[4];
    unsigned ntake;
} seen;

static capos_cap_t server_ep; /* the server's raw endpoint */

/* A fresh seen, a server process holding a raw endpoint as "service" and
 * a client holding a facet of it with badge as "service" and a null cap as
 * "null" (*srv, *cli). */
static void server_and_client(struct k_process **srv, struct k_process **cli,
                              uint64_t badge)
{
    memset(&seen, 0, sizeof seen);
    *srv = h_proc("server", 0);
    *cli = h_proc("client", 0);
    uint32_t raw, facet, null;
    assert_int_equal(ep_create(*srv, &raw), 0);
    assert_int_equal(k_capset_add(*srv, "service", raw), 0);
    assert_int_equal(ep_mint_client(*srv, raw, *cli, badge, &facet), 0);
    assert_int_equal(k_capset_add(*cli, "service", facet), 0);
    assert_int_equal(nullcap_grant(*cli, &null), 0);
    assert_int_equal(k_capset_add(*cli, "null", null), 0);
}

/* From a client's thread: a CALL of method on svc that transfers cap
 * (mode CAP_XFER_COPY or CAP_XFER_MOVE) through a descriptor written at the
 * start of pbuf, with res[0..res_len) for the results. */
static CapSqe xfer_call(capos_cap_t svc, uint16_t method, capos_cap_t cap,
                        uint32_t mode, uint8_t *pbuf, uint8_t *res,
                        uint32_t res_len)
{
    CapTransferDescriptor *d = (CapTransferDescriptor *)pbuf;
    memset(d, 0, sizeof *d);
    d->cap_id = cap.id;
    d->mode = mode;
    CapSqe s = {.opcode = CAP_OP_CALL,
                .cap_id = svc.id,
                .method_id = method,
                .addr = capos_va(pbuf),
                .xfer_cap_count = 1,
                .result_addr = capos_va(res),
                .result_len = res_len};
    return s;
}

static int handle(void *ctx, capos_server_call_t *call)
{
    (void)ctx;
    if (seen.calls < 16)
        seen.badges[seen.calls] = call->badge;
    seen.calls++;
    capnp_struct_builder res;
    capos_cap_t cap;
    switch (call->method_id) {
    case M_ADD: {
        uint64_t a = capos_AuditLogReader_read_Params_get_fromSequence(
            &call->params_root);
        uint32_t b =
            capos_AuditLogReader_read_Params_get_maxRecords(&call->params_root);
        if (b > 1000)
            return capos_server_invalid(call, "add: maxRecords above 1000");
        capos_AuditLog_append_Results_init_root(call->result, &res);
        capos_AuditLog_append_Results_set_sequence(&res, a + b);
        return CAPOS_SERVE_REPLY;
    }
    case M_FAIL:
        return capos_server_fail(call, CAPOS_EXC_FAILED, "fail number %d", 7);
    case M_ECHO_CAP:
        if (capos_server_take_cap(call, 0, CAPOS_NULL_CAP_INTERFACE_ID, &cap) !=
            0)
            return capos_server_invalid(call, "echo: no NullCap at index 0");
        capos_server_add_cap(call, cap.id, CAP_XFER_MOVE);
        return CAPOS_SERVE_REPLY;
    case M_IGNORE_CAP:
        return CAPOS_SERVE_REPLY;
    case M_RAW_CAP:
        /* Copying the raw endpoint out is refused by the kernel at
         * RETURN time (non-transferable). */
        capos_server_add_cap(call, server_ep.id, CAP_XFER_COPY);
        return CAPOS_SERVE_REPLY;
    case M_TAKE_TYPED:
        if (seen.ntake < 4) {
            cap.interface_id = 0;
            seen.take[seen.ntake] =
                capos_server_take_cap(call, 0, IFACE_COUNTER, &cap);
            seen.taken_iface[seen.ntake++] = cap.interface_id;
        }
        if (seen.take[seen.ntake - 1] == 0)
            capos_rt_release(cap);
        return CAPOS_SERVE_REPLY;
    case M_STOP:
        return CAPOS_SERVE_STOP;
    }
    return capos_server_unimplemented(call);
}

static int server_main(capos_capset_t *caps)
{
    capos_cap_t ep;
    if (capos_capset_find(caps, "service", CAPOS_ENDPOINT_INTERFACE_ID, &ep))
        return 1;
    server_ep = ep;
    seen.serve_result = capos_serve(ep, handle, NULL);
    return 0;
}

/* Decode a CapException payload: its type (0xffff if it does not decode). */
static uint16_t exc_type(const uint8_t *buf, int len, char *msg, size_t cap)
{
    capnp_message m;
    capnp_struct root;
    if (len <= 0 || capnp_msg_init(&m, buf, (size_t)len, NULL) < 0 ||
        capnp_msg_root(&m, &root) < 0)
        return 0xffff;
    const char *s;
    size_t n;
    if (msg && capos_CapException_get_message(&root, &s, &n) == 0) {
        n = n < cap - 1 ? n : cap - 1;
        memcpy(msg, s, n);
        msg[n] = 0;
    }
    return capos_CapException_get_type(&root);
}

static int client_main(capos_capset_t *caps)
{
    capos_cap_t svc, null;
    if (capos_capset_find(caps, "service", 0, &svc) ||
        capos_capset_find(caps, "null", CAPOS_NULL_CAP_INTERFACE_ID, &null))
        return 1;
    uint8_t *pbuf = capos_alloc(256), *res = capos_alloc(512);
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message m;
    capnp_struct root;
    CapCqe cqe;

    capnp_builder_init(&b, pbuf, 256);
    capos_AuditLogReader_read_Params_init_root(&b, &p);
    capos_AuditLogReader_read_Params_set_fromSequence(&p, 40);
    capos_AuditLogReader_read_Params_set_maxRecords(&p, 2);
    seen.add_result = capos_rt_call_capnp(svc, M_ADD, &b, res, 512, &m, &root);
    if (seen.add_result >= 0)
        seen.sum = capos_AuditLog_append_Results_get_sequence(&root);

    seen.fail_result = capos_rt_invoke(svc, M_FAIL, NULL, 0, res, 512, &cqe);
    seen.fail_type = exc_type(res, 512, seen.fail_msg, sizeof seen.fail_msg);

    static const uint8_t garbage[24] = {9, 9, 9, 9, 0xff, 0xff, 0xff, 0x7f};
    memcpy(pbuf, garbage, sizeof garbage);
    seen.garbage_result =
        capos_rt_invoke(svc, M_ADD, pbuf, sizeof garbage, res, 512, NULL);
    seen.garbage_type = exc_type(res, 512, NULL, 0);

    seen.unknown_result = capos_rt_invoke(svc, 42, NULL, 0, res, 512, NULL);
    seen.unknown_type = exc_type(res, 512, NULL, 0);

    /* A cap moved to the server comes back as a result cap. */
    CapSqe s = xfer_call(svc, M_ECHO_CAP, null, CAP_XFER_MOVE, pbuf, res, 512);
    int r = capos_rt_call(&s, &cqe);
    seen.echo_result = r ? r : cqe.result;
    if (seen.echo_result >= 0 && cqe.cap_count == 1) {
        capos_cap_t back;
        seen.echo_adopt = capos_rt_adopt(
            (const CapTransferResult *)(res + CAP_ALIGN8(cqe.result)),
            CAPOS_NULL_CAP_INTERFACE_ID, &back);
        if (seen.echo_adopt == 0) {
            seen.echo_call = capos_rt_invoke(back, 0, NULL, 0, NULL, 0, NULL);
            null = back;
        }
    } else {
        seen.echo_adopt = -1;
    }

    /* A cap the handler does not take is released by the runtime. */
    CapTransferDescriptor *d = (CapTransferDescriptor *)pbuf;
    d->cap_id = null.id;
    d->mode = CAP_XFER_MOVE;
    s.method_id = M_IGNORE_CAP;
    r = capos_rt_call(&s, &cqe);
    seen.ignore_result = r ? r : cqe.result;

    /* A result cap that cannot travel: an exception, and the server
     * serves on. */
    seen.raw_result = capos_rt_invoke(svc, M_RAW_CAP, NULL, 0, res, 512, NULL);
    seen.raw_type = exc_type(res, 512, seen.raw_msg, sizeof seen.raw_msg);
    seen.after_raw = capos_rt_invoke(svc, M_ADD, NULL, 0, res, 512, NULL);

    seen.stop_result = capos_rt_invoke(svc, M_STOP, NULL, 0, res, 512, NULL);
    /* The server stopped and exited: its endpoint is gone. */
    seen.after_stop = capos_rt_invoke(svc, M_ADD, NULL, 0, res, 512, NULL);
    return 0;
}

/* Run server_main in srv and client_main in cli until k_run leaves
 * `waiting` threads blocked (1: the server in RECV for ever), the client
 * having ended with exit code 0. */
static void run_client_of(struct k_process *srv, struct k_process *cli,
                          int (*client_main)(capos_capset_t *),
                          unsigned waiting)
{
    assert_int_equal(k_thread_create(srv, h_start, (void *)server_main, NULL),
                     0);
    assert_int_equal(k_thread_create(cli, h_start, (void *)client_main, NULL),
                     0);
    assert_int_equal(k_run(), waiting);
    assert_int_equal(cli->exit_code, 0);
}

static void
serve_answers_results_exceptions_and_caps_until_stopped(void **state)
{
    (void)state;
    struct k_process *srv, *cli;
    server_and_client(&srv, &cli, 0xb0b);
    run_client_of(srv, cli, client_main, 0);
    assert_int_equal(srv->exit_code, 0);
    assert_int_equal(seen.serve_result, 0);

    assert_true(seen.add_result > 0);
    assert_int_equal(seen.sum, 42);
    for (unsigned i = 0; i < seen.calls && i < 16; i++)
        assert_int_equal(seen.badges[i], 0xb0b);

    assert_int_equal(seen.fail_result, CAP_ERR_APPLICATION_EXCEPTION);
    assert_int_equal(seen.fail_type, CAPOS_EXC_FAILED);
    assert_string_equal(seen.fail_msg, "fail number 7");

    /* Undecodable params never reach the handler. */
    assert_int_equal(seen.garbage_result, CAP_ERR_APPLICATION_EXCEPTION);
    assert_int_equal(seen.garbage_type, CAPOS_EXC_INVALID_ARGUMENT);
    assert_int_equal(seen.unknown_result, CAP_ERR_APPLICATION_EXCEPTION);
    assert_int_equal(seen.unknown_type, CAPOS_EXC_UNIMPLEMENTED);

    assert_true(seen.echo_result >= 0);
    assert_int_equal(seen.echo_adopt, 0);
    assert_int_equal(seen.echo_call, 0);
    assert_true(seen.ignore_result >= 0);
    assert_int_equal(seen.raw_result, CAP_ERR_APPLICATION_EXCEPTION);
    assert_int_equal(seen.raw_type, CAPOS_EXC_FAILED);
    assert_string_equal(seen.raw_msg,
                        "the result caps could not be delivered (error -8)");
    assert_true(seen.after_raw >= 0);
    assert_true(seen.stop_result >= 0);
    assert_int_equal(seen.after_stop, CAP_ERR_DISCONNECTED);
    /* Handler saw add, fail, unknown, echo, ignore, raw, add, stop (not
     * garbage). */
    assert_int_equal(seen.calls, 8);
}

/* ---- a server that holds its caps: nothing leaks ------------------- */

static int ignoring_client(capos_capset_t *caps)
{
    capos_cap_t svc, null;
    if (capos_capset_find(caps, "service", 0, &svc) ||
        capos_capset_find(caps, "null", 0, &null))
        return 1;
    uint8_t *pbuf = capos_alloc(64), *res = capos_alloc(256);
    CapSqe s =
        xfer_call(svc, M_IGNORE_CAP, null, CAP_XFER_COPY, pbuf, res, 256);
    CapCqe cqe;
    for (int i = 0; i < 20; i++) {
        int r = capos_rt_call(&s, &cqe);
        if (r || cqe.result < 0)
            return 2;
    }
    return 0;
}

static void caps_the_handler_does_not_take_are_released(void **state)
{
    (void)state;
    struct k_process *srv, *cli;
    server_and_client(&srv, &cli, 0);
    uint32_t before = h_live(srv);
    /* server_main's handler counts the calls. */
    run_client_of(srv, cli, ignoring_client, 1);
    assert_int_equal(seen.calls, 20);
    /* Twenty copies arrived; none is left in the server's table. */
    assert_int_equal(h_live(srv), before);
    k_process_exit(srv, 0);
    assert_int_equal(k_run(), 0);
}

/* Offers the server its untyped "service" facet, then its typed
 * "counter" facet, each where the server expects a Counter. */
static int typed_client(capos_capset_t *caps)
{
    static const char *const names[2] = {"service", "counter"};
    static const uint64_t ifaces[2] = {0, IFACE_COUNTER};
    capos_cap_t offer[2];
    for (int i = 0; i < 2; i++)
        if (capos_capset_find(caps, names[i], ifaces[i], &offer[i]) != 0)
            return 1;
    uint8_t *pbuf = capos_alloc(64), *res = capos_alloc(256);
    for (int i = 0; i < 2; i++) {
        CapSqe s = xfer_call(offer[0], M_TAKE_TYPED, offer[i], CAP_XFER_COPY,
                             pbuf, res, 256);
        CapCqe cqe;
        if (capos_rt_call(&s, &cqe) || cqe.result < 0)
            return 2;
    }
    return 0;
}

/*
 * capos_server_take_cap takes a cap as a typed interface only if its
 * record says that interface (docs/abi.md §8): an untyped ClientEndpoint
 * facet no longer passes for any interface; a facet typed Counter does,
 * and is adopted as Counter. The refused one is released by the runtime.
 */
static void take_cap_accepts_only_a_facet_typed_for_the_interface(void **state)
{
    (void)state;
    struct k_process *srv, *cli;
    server_and_client(&srv, &cli, 0);
    uint32_t raw = srv->capset->entries[0].cap_id, typed;
    assert_int_equal(ep_mint_client(srv, raw, cli, 7, &typed), 0);
    assert_int_equal(k_capset_add_as(cli, "counter", typed, IFACE_COUNTER), 0);
    uint32_t before = h_live(srv);
    run_client_of(srv, cli, typed_client, 1);
    assert_int_equal(seen.ntake, 2);
    assert_int_equal(seen.take[0], CAPOS_RT_E_WRONG_INTERFACE);
    assert_int_equal(seen.take[1], 0);
    assert_int_equal(seen.taken_iface[1], IFACE_COUNTER);
    assert_int_equal(h_live(srv), before); /* both released */
    k_process_exit(srv, 0);
    assert_int_equal(k_run(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            serve_answers_results_exceptions_and_caps_until_stopped, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            caps_the_handler_does_not_take_are_released, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            take_cap_accepts_only_a_facet_typed_for_the_interface, h_setup,
            h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
