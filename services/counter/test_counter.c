/*
 * test_counter.c - the counter service (services/counter, its own
 * schema services/counter/counter.capnp) driven through two client
 * facets of its endpoint: per-badge totals, overflow refused and the
 * total kept, reset, an unknown method refused.
 */
#include <stdint.h>
#include <string.h>

#include "capos.capnp.h"
#include "counter.capnp.h"
#include "harness.h"
#include "harness_rt.h"

int capos_service_counter_main(capos_capset_t *caps);

static struct {
    int r[8];
    int64_t total[8];
    uint16_t overflow_type, unknown_type;
} seen;

/* Buffers in the client's heap: a CALL names user memory. */
#define RES_BYTES 256u
static uint8_t *res, *pbuf;

static uint16_t exc_type(void)
{
    capnp_message m;
    capnp_struct root;
    if (capnp_msg_init(&m, res, RES_BYTES, NULL) < 0 ||
        capnp_msg_root(&m, &root) < 0)
        return 0xffff;
    return capos_CapException_get_type(&root);
}

/* Counter.add(n) on c; the CQE result, *total set on success. */
static int add(capos_cap_t c, int64_t n, int64_t *total)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message m;
    capnp_struct root;
    capnp_builder_init(&b, pbuf, 64);
    counter_Counter_add_Params_init_root(&b, &p);
    counter_Counter_add_Params_set_n(&p, n);
    int r = capos_rt_call_capnp(c, COUNTER_COUNTER_ADD_METHOD_ID, &b, res,
                                RES_BYTES, &m, &root);
    if (r >= 0)
        *total = counter_Counter_add_Results_get_total(&root);
    return r;
}

static int reset(capos_cap_t c, int64_t *total)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message m;
    capnp_struct root;
    capnp_builder_init(&b, pbuf, 64);
    counter_Counter_reset_Params_init_root(&b, &p);
    int r = capos_rt_call_capnp(c, COUNTER_COUNTER_RESET_METHOD_ID, &b, res,
                                RES_BYTES, &m, &root);
    if (r >= 0)
        *total = counter_Counter_reset_Results_get_total(&root);
    return r;
}

static int client_main(capos_capset_t *caps)
{
    capos_cap_t a, b;
    if (capos_capset_find(caps, "a", COUNTER_COUNTER_INTERFACE_ID, &a) ||
        capos_capset_find(caps, "b", COUNTER_COUNTER_INTERFACE_ID, &b))
        return 1;
    res = capos_alloc(RES_BYTES);
    pbuf = capos_alloc(64);
    if (!res || !pbuf)
        return 2;
    seen.r[0] = add(a, 5, &seen.total[0]);
    seen.r[1] = add(b, 7, &seen.total[1]);
    seen.r[2] = add(a, 10, &seen.total[2]);
    seen.r[3] = add(a, INT64_MAX, &seen.total[3]);
    seen.overflow_type = exc_type();
    seen.r[4] = add(a, -20, &seen.total[4]);
    seen.r[5] = reset(a, &seen.total[5]);
    seen.r[6] = add(a, 1, &seen.total[6]);
    seen.r[7] = capos_rt_invoke(a, COUNTER_COUNTER_METHOD_COUNT, NULL, 0, res,
                                RES_BYTES, NULL);
    seen.unknown_type = exc_type();
    return 0;
}

static void counts_per_badge_refuses_overflow_and_resets(void **state)
{
    (void)state;
    memset(&seen, 0, sizeof seen);
    struct k_process *srv = h_proc("counter", 0), *cli = h_proc("client", 0);
    uint32_t ep, con, fa, fb;
    assert_int_equal(ep_create(srv, &ep), 0);
    assert_int_equal(k_capset_add(srv, "serve", ep), 0);
    assert_int_equal(console_grant(srv, &con), 0);
    assert_int_equal(k_capset_add(srv, "console", con), 0);
    assert_int_equal(ep_mint_client(srv, ep, cli, 1, &fa), 0);
    assert_int_equal(ep_mint_client(srv, ep, cli, 2, &fb), 0);
    assert_int_equal(
        k_capset_add_as(cli, "a", fa, COUNTER_COUNTER_INTERFACE_ID), 0);
    assert_int_equal(
        k_capset_add_as(cli, "b", fb, COUNTER_COUNTER_INTERFACE_ID), 0);
    assert_int_equal(k_thread_create(srv, h_start,
                                     (void *)capos_service_counter_main, NULL),
                     0);
    assert_int_equal(k_thread_create(cli, h_start, (void *)client_main, NULL),
                     0);
    assert_int_equal(k_run(), 1); /* the counter serves on */
    assert_int_equal(cli->exit_code, 0);

    assert_true(seen.r[0] >= 0);
    assert_int_equal(seen.total[0], 5);
    assert_true(seen.r[1] >= 0);
    assert_int_equal(seen.total[1], 7); /* badge 2 counts on its own */
    assert_int_equal(seen.total[2], 15);
    assert_int_equal(seen.r[3], CAP_ERR_APPLICATION_EXCEPTION);
    assert_int_equal(seen.overflow_type, CAPOS_EXCEPTION_TYPE_INVALID_ARGUMENT);
    assert_true(seen.r[4] >= 0);
    assert_int_equal(seen.total[4], -5); /* the overflow changed nothing */
    assert_true(seen.r[5] >= 0);
    assert_int_equal(seen.total[5], -5); /* reset answers the old total */
    assert_int_equal(seen.total[6], 1);
    assert_int_equal(seen.r[7], CAP_ERR_APPLICATION_EXCEPTION);
    assert_int_equal(seen.unknown_type, CAPOS_EXCEPTION_TYPE_UNIMPLEMENTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            counts_per_badge_refuses_overflow_and_resets, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
