/*
 * test_rt.c - capos-rt driving real rings: CapSet lookup, typed calls,
 * out-of-order completion routing, result-cap adoption, queued releases
 * and the heap, from services that see only include/capos/ and capos_rt.h.
 */
#include <string.h>

#include "capos.capnp.h"
#include "harness.h"
#include "harness_rt.h"

/* What the services saw; asserted by the test body after k_run. */
static struct {
    int find_null, find_missing, find_wrong;
    int echo_result;
    char echo_out[32];
    int mint_result, adopt_result, adopt_wrong;
    int minted_call, released_call;
    int alloc_ok;
    int order_ok;
    uint32_t live_before_release;
} seen;

static int null_service(capos_capset_t *caps)
{
    capos_cap_t null, other;
    seen.find_null = capos_capset_find(caps, "null", K_IFACE_NULLCAP, &null);
    seen.find_missing = capos_capset_find(caps, "nothing", 0, &other);
    seen.find_wrong = capos_capset_find(caps, "null", 0x1234, &other);

    char *in = capos_alloc(32), *out = capos_alloc(32);
    seen.alloc_ok = in && out && in != out;
    strcpy(in, "typed call");
    seen.echo_result = capos_rt_invoke(null, 1, in, 10, out, 32, NULL);
    memcpy(seen.echo_out, out, 10);

    CapTransferResult *rec = capos_alloc(sizeof *rec);
    CapCqe cqe;
    seen.mint_result =
        capos_rt_invoke(null, 2, NULL, 0, rec, sizeof *rec, &cqe);
    capos_cap_t minted, wrong;
    seen.adopt_result = capos_rt_adopt(rec, K_IFACE_NULLCAP, &minted);
    seen.minted_call = capos_rt_invoke(minted, 0, NULL, 0, NULL, 0, NULL);
    capos_rt_release(minted);
    /* The release is queued: it goes out with the next submission. */
    seen.released_call = capos_rt_invoke(minted, 0, NULL, 0, NULL, 0, NULL);

    /* A result cap of an unexpected interface is refused and released. */
    capos_rt_invoke(null, 2, NULL, 0, rec, sizeof *rec, NULL);
    seen.adopt_wrong = capos_rt_adopt(rec, 0x1234, &wrong);
    capos_rt_flush_releases();
    capos_free(in);
    capos_free(out);
    return 7;
}

static void runtime_finds_caps_calls_adopts_and_releases(void **state)
{
    (void)state;
    memset(&seen, 0, sizeof seen);
    struct k_process *p = h_proc("svc", 0);
    uint32_t null;
    assert_int_equal(nullcap_grant(p, &null), 0);
    assert_int_equal(k_capset_add(p, "null", null), 0);
    assert_int_equal(k_thread_create(p, h_start, (void *)null_service, NULL),
                     0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(p->exit_code, 7);
    assert_int_equal(seen.find_null, 0);
    assert_int_equal(seen.find_missing, CAPOS_RT_E_NOT_FOUND);
    assert_int_equal(seen.find_wrong, CAPOS_RT_E_WRONG_INTERFACE);
    assert_true(seen.alloc_ok);
    assert_int_equal(seen.echo_result, 10);
    assert_memory_equal(seen.echo_out, "typed call", 10);
    assert_int_equal(seen.mint_result, 0);
    assert_int_equal(seen.adopt_result, 0);
    assert_int_equal(seen.minted_call, 0);
    assert_int_equal(seen.released_call, CAP_ERR_INVOKE_FAILED);
    assert_int_equal(seen.adopt_wrong, CAPOS_RT_E_WRONG_INTERFACE);
}

/* ---- completion routing --------------------------------------------- */

static uint32_t g_raw;

/* Answers the two calls in reverse order of arrival. */
static int reverse_server(capos_capset_t *caps)
{
    capos_cap_t ep;
    if (capos_capset_find(caps, "service", K_IFACE_ENDPOINT, &ep) != 0)
        return 1;
    uint8_t *buf[2];
    CapCqe got[2];
    for (int i = 0; i < 2; i++) {
        buf[i] = capos_alloc(128);
        CapSqe s = {.opcode = CAP_OP_RECV,
                    .cap_id = ep.id,
                    .result_addr = capos_va(buf[i]),
                    .result_len = 128};
        if (capos_rt_call(&s, &got[i]) != 0 || got[i].result < 0)
            return 2;
    }
    for (int i = 1; i >= 0; i--) {
        CapSqe s = {.opcode = CAP_OP_RETURN,
                    .cap_id = ep.id,
                    .call_id = got[i].call_id};
        CapCqe c;
        if (capos_rt_call(&s, &c) != 0 || c.result != 0)
            return 3;
    }
    return 0;
}

/* Issues two calls, then waits for the first one: the runtime must keep
 * the second's completion (which arrives first) for its own wait. */
static int two_call_client(capos_capset_t *caps)
{
    capos_cap_t svc;
    if (capos_capset_find(caps, "service", K_IFACE_CLIENT_ENDPOINT, &svc))
        return 1;
    CapSqe a = {.opcode = CAP_OP_CALL,
                .cap_id = svc.id,
                .method_id = 1,
                .user_data = capos_rt_tag()};
    CapSqe b = {.opcode = CAP_OP_CALL,
                .cap_id = svc.id,
                .method_id = 2,
                .user_data = capos_rt_tag()};
    capos_rt_submit(&a);
    capos_rt_submit(&b);
    CapCqe ca, cb;
    int ra = capos_rt_wait(a.user_data, &ca, CAP_TIMEOUT_INFINITE);
    int rb = capos_rt_wait(b.user_data, &cb, CAP_TIMEOUT_INFINITE);
    seen.order_ok = ra == 0 && rb == 0 && ca.user_data == a.user_data &&
                    cb.user_data == b.user_data && ca.result == 0 &&
                    cb.result == 0;
    return 0;
}

static void
waits_get_their_own_completion_whatever_the_arrival_order(void **state)
{
    (void)state;
    memset(&seen, 0, sizeof seen);
    struct k_process *srv = h_proc("server", 0), *cli = h_proc("client", 0);
    uint32_t facet;
    assert_int_equal(ep_create(srv, &g_raw), 0);
    assert_int_equal(k_capset_add(srv, "service", g_raw), 0);
    assert_int_equal(ep_mint_client(srv, g_raw, cli, 1, &facet), 0);
    assert_int_equal(k_capset_add(cli, "service", facet), 0);
    assert_int_equal(
        k_thread_create(srv, h_start, (void *)reverse_server, NULL), 0);
    assert_int_equal(
        k_thread_create(cli, h_start, (void *)two_call_client, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(srv->exit_code, 0);
    assert_int_equal(cli->exit_code, 0);
    assert_true(seen.order_ok);
}

/* ---- the interface is the permission (docs/abi.md §4.5) ------------- */

#define IFACE_COUNTER 0xc0ffee0000000001ull

static struct {
    int find_typed, find_any;
    uint64_t any_iface;
    int invoke, stub;
    bool untouched;
    char why[160];
} wi;

/*
 * A Counter client handed another service's untyped facet as "counter":
 * the typed lookup says wrong interface; the old workaround (look it up
 * untyped, then use it as a Counter) is refused by the kernel, both
 * through capos_rt_invoke and through a generated stub, and the result
 * buffer is never written: no answer of default zeros.
 */
static int counter_client(capos_capset_t *caps)
{
    capos_cap_t c;
    wi.find_typed = capos_capset_find(caps, "counter", IFACE_COUNTER, &c);
    wi.find_any = capos_capset_find(caps, "counter", 0, &c);
    wi.any_iface = c.interface_id;
    c.interface_id = IFACE_COUNTER; /* "any ClientEndpoint will do" */
    uint8_t *res = capos_alloc(64);
    memset(res, 0xee, 64);
    wi.invoke = capos_rt_invoke(c, 0, NULL, 0, res, 64, NULL);
    CapSqe sqe;
    capos_Timer_now_sqe(&sqe, c.id, 0, 0, capos_va(res), 64, 0);
    CapCqe cqe;
    wi.stub = capos_rt_call(&sqe, &cqe);
    if (wi.stub == 0)
        wi.stub = cqe.result;
    wi.untouched = true;
    for (int i = 0; i < 64; i++)
        wi.untouched = wi.untouched && res[i] == 0xee;
    capos_rt_error_text(res, 64, wi.invoke, wi.why, sizeof wi.why);
    return 0;
}

static void
a_typed_client_handed_an_untyped_facet_gets_wrong_interface_never_zeros(
    void **state)
{
    (void)state;
    memset(&wi, 0, sizeof wi);
    struct k_process *srv = h_proc("echo", 0), *cli = h_proc("client", 0);
    uint32_t raw, facet;
    assert_int_equal(ep_create(srv, &raw), 0);
    assert_int_equal(ep_mint_client(srv, raw, cli, 42, &facet), 0);
    assert_int_equal(k_capset_add(cli, "counter", facet), 0);
    assert_int_equal(
        k_thread_create(cli, h_start, (void *)counter_client, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(wi.find_typed, CAPOS_RT_E_WRONG_INTERFACE);
    assert_int_equal(wi.find_any, 0);
    assert_int_equal(wi.any_iface, CAPOS_CLIENT_ENDPOINT_INTERFACE_ID);
    assert_int_equal(wi.invoke, CAP_ERR_WRONG_INTERFACE);
    assert_int_equal(wi.stub, CAP_ERR_WRONG_INTERFACE);
    assert_true(wi.untouched);
    assert_string_equal(wi.why, "the capability does not speak the "
                                "interface this call is for "
                                "(WRONG_INTERFACE, error -14)");
    /* Nothing reached the echo server. */
    uint8_t *buf;
    CapSqe r = h_recv(srv, raw, 1, 256, &buf);
    *h_sqe(srv) = r;
    h_submit(srv);
    assert_int_equal(h_enter(srv), 0);
    k_process_exit(srv, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            runtime_finds_caps_calls_adopts_and_releases, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            waits_get_their_own_completion_whatever_the_arrival_order, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(
            a_typed_client_handed_an_untyped_facet_gets_wrong_interface_never_zeros,
            h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
