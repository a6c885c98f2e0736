/*
 * test_timercap.c - the Timer kernel capability: now, sleep and sleepUntil
 * on the virtual clock, completion through the ring, cancellation when the
 * sleeper exits.
 */
#include <string.h>

#include "harness.h"

static CapSqe timer_sqe(struct k_process *p, uint32_t cap, uint16_t method,
                        uint64_t arg, uint64_t user_data)
{
    capnp_builder b;
    capnp_struct_builder root;
    h_msg(p, &b, 64);
    assert_int_equal(capnp_init_root(&b, 1, 0, &root), 0);
    capnp_set_u64(&root, 0, arg, 0);
    return h_call_msg(p, cap, method, user_data, &b, 0, NULL);
}

static void now_returns_the_model_clock(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t t;
    assert_int_equal(timercap_grant(p, &t), 0);
    k_clock_advance(123456789);
    uint8_t *res = h_alloc(p, 64);
    CapSqe s = h_call(t, 0, 1);
    s.result_addr = h_va(p, res);
    s.result_len = 64;
    CapCqe c = h_one(p, &s);
    assert_true(c.result > 0);
    capnp_message m;
    capnp_struct root = h_root(res, (size_t)c.result, &m);
    assert_int_equal(capnp_get_u64(&root, 0, 0), 123456789);

    s.result_len = 8; /* too small for the result message */
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_RESULT_BUFFER);
}

/* Sleeps complete in deadline order as virtual time passes, each with its
 * own user_data, and hold no CQE before. */
static void sleeps_complete_in_deadline_order(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t t;
    assert_int_equal(timercap_grant(p, &t), 0);
    uint64_t t0 = k_now();
    *h_sqe(p) = timer_sqe(p, t, 1, 3000, 3);
    *h_sqe(p) = timer_sqe(p, t, 2, t0 + 1000, 1);
    *h_sqe(p) = timer_sqe(p, t, 1, 2000, 2);
    *h_sqe(p) = timer_sqe(p, t, 1, 0, 0); /* zero: completes at once */
    h_submit(p);
    assert_int_equal(h_enter(p), 1);
    CapCqe c;
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 0);
    assert_int_equal(p->rs.cq_reserved, 3);
    for (uint64_t want = 1; want <= 3; want++) {
        k_clock_advance(1000);
        k_timer_fire_due();
        assert_true(h_cqe(p, &c));
        assert_int_equal(c.user_data, want);
        assert_int_equal(c.result, 0);
        assert_false(h_cqe(p, &c));
    }
    assert_int_equal(p->rs.cq_reserved, 0);
}

static void a_sleeper_that_exits_cancels_its_sleep(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t t;
    assert_int_equal(timercap_grant(p, &t), 0);
    *h_sqe(p) = timer_sqe(p, t, 1, 5000, 1);
    h_submit(p);
    assert_int_equal(h_enter(p), 0);
    assert_int_not_equal(k_timer_next_deadline(), UINT64_MAX);
    k_process_exit(p, 0);
    assert_int_equal(k_timer_next_deadline(), UINT64_MAX);
}

/* A thread blocked in cap_enter on a sleep wakes when the virtual clock
 * jumps to the deadline. */
static uint64_t woke_at;

static void sleeper(void *arg)
{
    uint32_t t = (uint32_t)(uintptr_t)arg;
    struct k_process *p = k_current()->proc;
    *h_sqe(p) = timer_sqe(p, t, 1, 7 * 1000 * 1000, 9);
    h_submit(p);
    if (k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE) == 1)
        woke_at = k_now();
}

static void a_blocked_sleeper_wakes_at_its_deadline(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t t;
    assert_int_equal(timercap_grant(p, &t), 0);
    uint64_t t0 = k_now();
    woke_at = 0;
    assert_int_equal(k_thread_create(p, sleeper, (void *)(uintptr_t)t, NULL),
                     0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(woke_at - t0, 7 * 1000 * 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(now_returns_the_model_clock, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(sleeps_complete_in_deadline_order,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(a_sleeper_that_exits_cancels_its_sleep,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(a_blocked_sleeper_wakes_at_its_deadline,
                                        h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
