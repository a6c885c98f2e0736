/*
 * test_timer.c - the clock and the timer queue (kernel-model/timer.c) and
 * the timeouts built on them (cap_enter, the scheduler's idle jump).
 *
 * Model threads never call cmocka asserts (a failing assert would longjmp
 * out of the fiber): they record what they see in the variables below and
 * the test body asserts after k_run() returns.
 */
#include "harness.h"

#include <string.h>
#include <time.h>

#define MS 1000000ull
#define SEC 1000000000ull

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / SEC),
                          .tv_nsec = (long)(ns % SEC)};
    nanosleep(&ts, NULL);
}

/* ---- timers that record the order they fire in ---------------------- */

struct ttimer {
    struct k_timer t;
    int id;
};

static int fired[16];
static unsigned nfired;
static uint64_t fired_at[16];

static void record_fire(struct k_timer *t)
{
    struct ttimer *tt =
        (struct ttimer *)((char *)t - offsetof(struct ttimer, t));
    if (nfired < 16) {
        fired_at[nfired] = k_now();
        fired[nfired++] = tt->id;
    }
}

static void reset_fired(void)
{
    nfired = 0;
    memset(fired, 0, sizeof fired);
    memset(fired_at, 0, sizeof fired_at);
}

/* ---- the clock ------------------------------------------------------- */

static void virtual_clock_stands_still_while_wall_time_passes(void **state)
{
    (void)state;
    assert_int_equal(k_now(), 0);
    sleep_ns(5 * MS);
    assert_int_equal(k_now(), 0);
}

static void virtual_clock_moves_by_exactly_what_it_is_advanced(void **state)
{
    (void)state;
    k_clock_advance(123);
    assert_int_equal(k_now(), 123);
    k_clock_advance(0);
    assert_int_equal(k_now(), 123);
    k_clock_advance(5 * SEC);
    assert_int_equal(k_now(), 5 * SEC + 123);
    /* It saturates instead of wrapping. */
    k_clock_advance(UINT64_MAX);
    assert_true(k_now() == UINT64_MAX);
    k_clock_advance(1);
    assert_true(k_now() == UINT64_MAX);
}

static void advancing_has_no_effect_on_the_real_clock(void **state)
{
    (void)state;
    uint64_t before = k_now();
    k_clock_advance(3600 * SEC);
    uint64_t after = k_now();
    assert_int_equal(k.vclock, 0);
    assert_true(after >= before);
    assert_true(after - before < 3600 * SEC);
    /* And the real clock does move by itself. */
    sleep_ns(2 * MS);
    assert_true(k_now() >= after + 2 * MS);
}

/* ---- the timer queue ------------------------------------------------- */

static void timers_fire_in_deadline_order_once_due(void **state)
{
    (void)state;
    reset_fired();
    struct ttimer t[4] = {{.id = 1}, {.id = 2}, {.id = 3}, {.id = 4}};
    k_timer_arm(&t[0].t, 40, record_fire);
    k_timer_arm(&t[1].t, 10, record_fire);
    k_timer_arm(&t[2].t, 30, record_fire);
    k_timer_arm(&t[3].t, 20, record_fire);
    assert_int_equal(k_timer_next_deadline(), 10);

    /* Nothing is due before the clock moves. */
    assert_int_equal(k_timer_fire_due(), 0);
    assert_int_equal(nfired, 0);

    k_clock_advance(25);
    assert_int_equal(k_timer_fire_due(), 2);
    assert_int_equal(nfired, 2);
    assert_int_equal(fired[0], 2);
    assert_int_equal(fired[1], 4);
    assert_false(t[1].t.armed);
    assert_true(t[0].t.armed);
    assert_int_equal(k_timer_next_deadline(), 30);

    k_clock_advance(100);
    assert_int_equal(k_timer_fire_due(), 2);
    assert_int_equal(nfired, 4);
    assert_int_equal(fired[2], 3);
    assert_int_equal(fired[3], 1);
    assert_true(k_timer_next_deadline() == UINT64_MAX);
    assert_int_equal(k_timer_fire_due(), 0);
}

static void timers_with_equal_deadlines_fire_in_arming_order(void **state)
{
    (void)state;
    reset_fired();
    struct ttimer t[5] = {
        {.id = 1}, {.id = 2}, {.id = 3}, {.id = 4}, {.id = 5}};
    k_timer_arm(&t[0].t, 50, record_fire);
    k_timer_arm(&t[1].t, 50, record_fire);
    k_timer_arm(&t[2].t, 20, record_fire);
    k_timer_arm(&t[3].t, 50, record_fire);
    k_timer_arm(&t[4].t, 20, record_fire);
    k_clock_advance(50);
    assert_int_equal(k_timer_fire_due(), 5);
    const int want[] = {3, 5, 1, 2, 4};
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(fired[i], want[i]);
}

static void
cancelled_timer_never_fires_and_others_keep_their_order(void **state)
{
    (void)state;
    reset_fired();
    struct ttimer t[3] = {{.id = 1}, {.id = 2}, {.id = 3}};
    k_timer_arm(&t[0].t, 10, record_fire);
    k_timer_arm(&t[1].t, 20, record_fire);
    k_timer_arm(&t[2].t, 30, record_fire);
    k_timer_cancel(&t[1].t);
    assert_false(t[1].t.armed);
    k_timer_cancel(&t[1].t); /* twice is harmless */
    k_timer_cancel(&t[0].t);
    assert_int_equal(k_timer_next_deadline(), 30);

    k_clock_advance(1000);
    assert_int_equal(k_timer_fire_due(), 1);
    assert_int_equal(nfired, 1);
    assert_int_equal(fired[0], 3);

    /* Cancelling a timer that already fired changes nothing. */
    k_timer_cancel(&t[2].t);
    assert_true(k_timer_next_deadline() == UINT64_MAX);
}

static void rearming_a_timer_moves_its_deadline(void **state)
{
    (void)state;
    reset_fired();
    struct ttimer t[3] = {{.id = 1}, {.id = 2}, {.id = 3}};
    k_timer_arm(&t[0].t, 10, record_fire);
    k_timer_arm(&t[1].t, 20, record_fire);
    k_timer_arm(&t[2].t, 20, record_fire);

    k_timer_arm(&t[0].t, 40, record_fire); /* later */
    assert_int_equal(k_timer_next_deadline(), 20);
    k_timer_arm(&t[2].t, 5, record_fire); /* earlier */
    assert_int_equal(k_timer_next_deadline(), 5);
    k_timer_arm(&t[1].t, 40, record_fire); /* behind t[0] at 40 */

    k_clock_advance(39);
    assert_int_equal(k_timer_fire_due(), 1);
    assert_int_equal(fired[0], 3);
    k_clock_advance(1);
    assert_int_equal(k_timer_fire_due(), 2);
    assert_int_equal(nfired, 3);
    assert_int_equal(fired[1], 1);
    assert_int_equal(fired[2], 2);
    /* Each timer fired once: re-arming did not leave a stale copy. */
    k_clock_advance(1000);
    assert_int_equal(k_timer_fire_due(), 0);
}

/* ---- threads blocking on the clock ---------------------------------- */

static struct k_process *proc;
static uint64_t seen_start[4], seen_end[4];
static enum k_wake seen_wake[4];
static int seen_ret[4];
static int wake_order[4];
static unsigned nwoke;

static void reset_seen(void)
{
    memset(seen_start, 0, sizeof seen_start);
    memset(seen_end, 0, sizeof seen_end);
    memset(seen_wake, 0, sizeof seen_wake);
    memset(seen_ret, 0, sizeof seen_ret);
    memset(wake_order, 0, sizeof wake_order);
    nwoke = 0;
}

static uint64_t sleep_for[4];

static void sleeper(void *arg)
{
    int i = (int)(intptr_t)arg;
    seen_start[i] = k_now();
    seen_wake[i] = k_thread_wait(k_now() + sleep_for[i]);
    seen_end[i] = k_now();
    wake_order[nwoke++] = i;
}

static void
scheduler_idle_jumps_the_virtual_clock_to_each_deadline(void **state)
{
    (void)state;
    reset_seen();
    proc = h_proc("sleepers", 0);
    sleep_for[0] = 700;
    sleep_for[1] = 300;
    sleep_for[2] = 300;
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            k_thread_create(proc, sleeper, (void *)(intptr_t)i, NULL), 0);
    assert_int_equal(k_run(), 0);

    assert_int_equal(nwoke, 3);
    assert_int_equal(wake_order[0], 1);
    assert_int_equal(wake_order[1], 2);
    assert_int_equal(wake_order[2], 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(seen_start[i], 0);
        assert_int_equal(seen_end[i], sleep_for[i]);
        assert_int_equal(seen_wake[i], K_WAKE_TIMEOUT);
    }
    /* The clock went no further than the last deadline. */
    assert_int_equal(k_now(), 700);
}

static void spinner(void *arg)
{
    int i = (int)(intptr_t)arg;
    seen_start[i] = k_now();
    for (int n = 0; n < 50; n++)
        k_sched_yield();
    seen_end[i] = k_now();
}

static void virtual_clock_does_not_move_while_threads_run(void **state)
{
    (void)state;
    reset_seen();
    k_clock_advance(42);
    proc = h_proc("spinners", 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(
            k_thread_create(proc, spinner, (void *)(intptr_t)i, NULL), 0);
    assert_int_equal(k_run(), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(seen_start[i], 42);
        assert_int_equal(seen_end[i], 42);
    }
    assert_int_equal(k_now(), 42);
}

static void enter_and_record(void *arg)
{
    int i = (int)(intptr_t)arg;
    seen_start[i] = k_now();
    seen_ret[i] = k_sys_cap_enter(1, sleep_for[i]);
    seen_end[i] = k_now();
}

static void
cap_enter_with_nothing_to_complete_times_out_after_exactly_5s(void **state)
{
    (void)state;
    reset_seen();
    k_clock_advance(1000); /* not starting from 0 */
    proc = h_proc("waiter", 0);
    sleep_for[0] = 5 * SEC;
    assert_int_equal(k_thread_create(proc, enter_and_record, (void *)0, NULL),
                     0);
    uint64_t w0 = wall_ns();
    assert_int_equal(k_run(), 0);
    uint64_t wall = wall_ns() - w0;

    assert_int_equal(seen_ret[0], 0); /* below min_complete: a timeout */
    assert_int_equal(seen_start[0], 1000);
    assert_int_equal(seen_end[0] - seen_start[0], 5 * SEC);
    assert_int_equal(k_now(), 1000 + 5 * SEC);
    assert_true(wall < 100 * MS);
    assert_null(proc->rs.waiter);
}

static void cap_enter_on_the_real_clock_times_out_after_real_time(void **state)
{
    (void)state;
    reset_seen();
    proc = h_proc("real-waiter", 0);
    sleep_for[0] = 20 * MS;
    assert_int_equal(k_thread_create(proc, enter_and_record, (void *)0, NULL),
                     0);
    uint64_t w0 = wall_ns();
    assert_int_equal(k_run(), 0);
    uint64_t wall = wall_ns() - w0;
    assert_int_equal(seen_ret[0], 0);
    assert_true(seen_end[0] - seen_start[0] >= 20 * MS);
    assert_true(wall >= 20 * MS);
    assert_true(wall < 2 * SEC);
}

static void
cap_enter_with_a_completion_ready_returns_without_waiting(void **state)
{
    (void)state;
    reset_seen();
    proc = h_proc("ready", 0);
    /* A NOP submitted before cap_enter completes during it. */
    *h_sqe(proc) = h_nop(77);
    h_submit(proc);
    sleep_for[0] = 5 * SEC;
    assert_int_equal(k_thread_create(proc, enter_and_record, (void *)0, NULL),
                     0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(seen_ret[0], 1);
    assert_int_equal(seen_end[0], seen_start[0]);
    assert_int_equal(k_now(), 0);
    CapCqe c;
    assert_true(h_cqe(proc, &c));
    assert_int_equal(c.user_data, 77);
    assert_int_equal(c.result, 0);
}

/* The server RECVs on its endpoint and waits up to 5 s; the client's CALL
 * completes the RECV first. */
static uint32_t srv_raw, cli_cap;
static struct k_process *srv, *cli;

static void server_waits(void *arg)
{
    (void)arg;
    uint8_t *buf = k_user_ptr(srv, CAPOS_HEAP_VADDR + 0x100, 256);
    CapSqe *s = &srv->ring->sq[srv->ring->hdr.sq_tail & (CAP_SQ_ENTRIES - 1)];
    memset(s, 0, sizeof *s);
    s->opcode = CAP_OP_RECV;
    s->cap_id = srv_raw;
    s->user_data = 1;
    s->result_addr = k_user_vaddr(srv, buf);
    s->result_len = 256;
    srv->ring->hdr.sq_tail++;
    seen_start[0] = k_now();
    seen_ret[0] = k_sys_cap_enter(1, 5 * SEC);
    seen_end[0] = k_now();
}

static void client_calls(void *arg)
{
    (void)arg;
    CapSqe *s = &cli->ring->sq[cli->ring->hdr.sq_tail & (CAP_SQ_ENTRIES - 1)];
    memset(s, 0, sizeof *s);
    s->opcode = CAP_OP_CALL;
    s->cap_id = cli_cap;
    s->user_data = 2;
    cli->ring->hdr.sq_tail++;
    seen_ret[1] = k_sys_cap_enter(0, 0);
}

static void
completion_before_the_deadline_wakes_the_waiter_and_disarms_it(void **state)
{
    (void)state;
    reset_seen();
    srv = h_proc("server", 0);
    cli = h_proc("client", 0);
    assert_int_equal(ep_create(srv, &srv_raw), 0);
    assert_int_equal(ep_mint_client(srv, srv_raw, cli, 0xb0, &cli_cap), 0);
    assert_int_equal(k_thread_create(srv, server_waits, NULL, NULL), 0);
    assert_int_equal(k_thread_create(cli, client_calls, NULL, NULL), 0);
    assert_int_equal(k_run(), 0);

    assert_int_equal(seen_ret[1], 0);
    assert_int_equal(seen_ret[0], 1);
    assert_int_equal(seen_end[0], seen_start[0]);
    assert_int_equal(k_now(), 0);
    assert_true(k_timer_next_deadline() == UINT64_MAX);
    CapCqe c;
    assert_true(h_cqe(srv, &c));
    assert_int_equal(c.user_data, 1);
    assert_int_equal(c.badge, 0xb0);
    assert_true(c.call_id != 0);
}

static void
cap_enter_infinite_with_nothing_pending_is_reported_not_hung(void **state)
{
    (void)state;
    reset_seen();
    proc = h_proc("forever", 0);
    sleep_for[0] = CAP_TIMEOUT_INFINITE;
    seen_ret[0] = 12345;
    assert_int_equal(k_thread_create(proc, enter_and_record, (void *)0, NULL),
                     0);
    uint64_t w0 = wall_ns();
    assert_int_equal(k_run(), 1);
    assert_true(wall_ns() - w0 < 100 * MS);
    assert_int_equal(seen_ret[0], 12345); /* still inside cap_enter */
    assert_ptr_equal(proc->rs.waiter, proc->threads);
    assert_int_equal(proc->threads->state, KT_BLOCKED);
    assert_true(k_timer_next_deadline() == UINT64_MAX);
    if (k.cfg.virtual_clock)
        assert_int_equal(k_now(), 0);
    /* h_down's shutdown kills the thread and must leave nothing behind. */
}

static void
cap_enter_infinite_on_the_real_clock_is_reported_not_hung(void **state)
{
    cap_enter_infinite_with_nothing_pending_is_reported_not_hung(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define V(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)
#define R(f) cmocka_unit_test_setup_teardown(f, h_setup_real_clock, h_teardown)
        V(virtual_clock_stands_still_while_wall_time_passes),
        V(virtual_clock_moves_by_exactly_what_it_is_advanced),
        R(advancing_has_no_effect_on_the_real_clock),
        V(timers_fire_in_deadline_order_once_due),
        V(timers_with_equal_deadlines_fire_in_arming_order),
        V(cancelled_timer_never_fires_and_others_keep_their_order),
        V(rearming_a_timer_moves_its_deadline),
        V(scheduler_idle_jumps_the_virtual_clock_to_each_deadline),
        V(virtual_clock_does_not_move_while_threads_run),
        V(cap_enter_with_nothing_to_complete_times_out_after_exactly_5s),
        R(cap_enter_on_the_real_clock_times_out_after_real_time),
        V(cap_enter_with_a_completion_ready_returns_without_waiting),
        V(completion_before_the_deadline_wakes_the_waiter_and_disarms_it),
        V(cap_enter_infinite_with_nothing_pending_is_reported_not_hung),
        R(cap_enter_infinite_on_the_real_clock_is_reported_not_hung),
#undef V
#undef R
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
