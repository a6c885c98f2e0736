/*
 * test_sched.c - threads and the scheduler (kernel-model/thread.c,
 * kernel-model/sched.c).
 *
 * Model threads never call cmocka asserts (a failing assert would longjmp
 * out of the fiber): they append what they see to a trace and set
 * variables, and the test body asserts after k_run() returns.
 */
#include <fenv.h>

#include "harness.h"

#include <string.h>

#define SEC 1000000000ull

/* ---- the trace threads append to ------------------------------------ */

#define TRACE_MAX 256
static int trace[TRACE_MAX];
static unsigned ntrace;

static void trace_reset(void)
{
    memset(trace, 0, sizeof trace);
    ntrace = 0;
}

static void trace_add(int v)
{
    if (ntrace < TRACE_MAX)
        trace[ntrace++] = v;
}

static struct k_process *proc_with(const char *name, uint32_t max_threads)
{
    struct k_process_opts o = {.name = name, .max_threads = max_threads};
    struct k_process *p = k_process_create(&o);
    assert_non_null(p);
    return p;
}

/* Write one SQE and publish it, from inside a model thread (no asserts). */
static void push_sqe(struct k_process *p, const CapSqe *sqe)
{
    CapRingHeader *h = &p->ring->hdr;
    p->ring->sq[h->sq_tail & (CAP_SQ_ENTRIES - 1)] = *sqe;
    __atomic_store_n(&h->sq_tail, h->sq_tail + 1, __ATOMIC_RELEASE);
}

/* ---- order ----------------------------------------------------------- */

static void record_id(void *arg)
{
    trace_add((int)(intptr_t)arg);
}

static void threads_run_to_completion_in_creation_order_by_default(void **state)
{
    (void)state;
    trace_reset();
    struct k_process *a = proc_with("a", 8);
    struct k_process *b = proc_with("b", 8);
    for (int i = 0; i < 6; i++)
        assert_int_equal(k_thread_create(i % 2 ? b : a, record_id,
                                         (void *)(intptr_t)i, NULL),
                         0);
    assert_int_equal(k.stats.threads_live, 6);
    assert_int_equal(k_run(), 0);
    assert_int_equal(ntrace, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(trace[i], i);
    assert_int_equal(k.stats.switches, 6);
    assert_int_equal(k.stats.threads_live, 0);
}

/* Each thread records (id * 10 + step) three times, yielding between. */
static void record_and_yield(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int step = 0; step < 3; step++) {
        trace_add(id * 10 + step);
        if (step < 2)
            k_sched_yield();
    }
}

#define SHUF_THREADS 8
#define SHUF_TRACE (SHUF_THREADS * 3)

/* Bring a model up with shuffle on and seed, run SHUF_THREADS yielding
 * threads, copy the trace out and take the model down. */
static void run_shuffled(uint64_t seed, int *out)
{
    h_up(true, seed);
    k.cfg.shuffle = true;
    trace_reset();
    struct k_process *p = proc_with("shuffled", SHUF_THREADS);
    for (int i = 0; i < SHUF_THREADS; i++)
        assert_int_equal(
            k_thread_create(p, record_and_yield, (void *)(intptr_t)i, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(ntrace, SHUF_TRACE);
    memcpy(out, trace, sizeof(int) * SHUF_TRACE);
    h_down();
}

/* Every thread ran each step once and its own steps stayed in order. */
static void assert_complete_trace(const int *t)
{
    int next_step[SHUF_THREADS] = {0};
    for (unsigned i = 0; i < SHUF_TRACE; i++) {
        int id = t[i] / 10, step = t[i] % 10;
        assert_in_range(id, 0, SHUF_THREADS - 1);
        assert_int_equal(step, next_step[id]);
        next_step[id]++;
    }
    for (int id = 0; id < SHUF_THREADS; id++)
        assert_int_equal(next_step[id], 3);
}

static void shuffled_order_depends_on_the_seed(void **state)
{
    (void)state;
    int fifo[SHUF_TRACE];
    for (int r = 0, n = 0; r < 3; r++)
        for (int id = 0; id < SHUF_THREADS; id++)
            fifo[n++] = id * 10 + r;

    int first[SHUF_TRACE], other[SHUF_TRACE];
    run_shuffled(1, first);
    assert_complete_trace(first);
    unsigned differ_from_first = 0, differ_from_fifo = 0;
    if (memcmp(first, fifo, sizeof first) != 0)
        differ_from_fifo++;
    for (uint64_t seed = 2; seed <= 5; seed++) {
        run_shuffled(seed, other);
        assert_complete_trace(other);
        if (memcmp(first, other, sizeof first) != 0)
            differ_from_first++;
        if (memcmp(other, fifo, sizeof fifo) != 0)
            differ_from_fifo++;
    }
    /* 24 interleaved steps: a seed that changed nothing would mean the
     * seed is ignored. */
    assert_int_equal(differ_from_first, 4);
    assert_int_equal(differ_from_fifo, 5);
}

static void same_seed_replays_the_same_shuffled_order(void **state)
{
    (void)state;
    int a[SHUF_TRACE], b[SHUF_TRACE];
    run_shuffled(0x5eed, a);
    run_shuffled(0x5eed, b);
    assert_complete_trace(a);
    assert_memory_equal(a, b, sizeof a);
}

static void yield_interleaves_runnable_threads(void **state)
{
    (void)state;
    trace_reset();
    struct k_process *p = proc_with("yield", 8);
    assert_int_equal(k_thread_create(p, record_and_yield, (void *)1, NULL), 0);
    assert_int_equal(k_thread_create(p, record_and_yield, (void *)2, NULL), 0);
    assert_int_equal(k_run(), 0);
    const int want[] = {10, 20, 11, 21, 12, 22};
    assert_int_equal(ntrace, 6);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(trace[i], want[i]);
    /* Each thread was dispatched once per step. */
    assert_int_equal(k.stats.switches, 6);
}

static void yield_with_no_other_runnable_thread_continues_at_once(void **state)
{
    (void)state;
    trace_reset();
    struct k_process *p = proc_with("alone", 8);
    assert_int_equal(k_thread_create(p, record_and_yield, (void *)4, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(ntrace, 3);
    assert_int_equal(trace[0], 40);
    assert_int_equal(trace[1], 41);
    assert_int_equal(trace[2], 42);
    /* Resuming the only runnable thread is not a context switch: the one
     * dispatch from k_run is all stats.switches counts. */
    assert_int_equal(k.stats.switches, 1);
}

/* ---- exit ------------------------------------------------------------ */

static struct k_process *watched;
static int seen_state_before_last_exit;
static uint32_t seen_live_caps_before_last_exit;
static int ran_after_exit;

static void first_exits(void *arg)
{
    (void)arg;
    trace_add(1);
}

static void second_looks_then_exits(void *arg)
{
    (void)arg;
    trace_add(2);
    seen_state_before_last_exit = watched->state;
    seen_live_caps_before_last_exit = watched->caps.live;
}

static void
exit_of_the_last_thread_ends_its_process_with_status_zero(void **state)
{
    (void)state;
    trace_reset();
    uint32_t objects = k.stats.objects_live;
    uint32_t procs = k.stats.processes_live;
    watched = proc_with("exiting", 8);
    watched->exit_code = -77; /* must be overwritten with 0 */
    uint32_t ids[3];
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(nullcap_grant(watched, &ids[i]), 0);
    assert_int_equal(k.stats.objects_live, objects + 3);
    assert_int_equal(k_thread_create(watched, first_exits, NULL, NULL), 0);
    assert_int_equal(
        k_thread_create(watched, second_looks_then_exits, NULL, NULL), 0);
    assert_int_equal(k_run(), 0);

    assert_int_equal(ntrace, 2);
    /* After the first thread exited the process was still alive. */
    assert_int_equal(seen_state_before_last_exit, KP_ALIVE);
    assert_int_equal(seen_live_caps_before_last_exit, 3);
    /* The last exit ended it and released its caps. */
    assert_int_equal(watched->state, KP_DEAD);
    assert_int_equal(watched->exit_code, 0);
    assert_int_equal(k.stats.objects_live, objects);
    assert_null(watched->caps.slots);
    assert_int_equal(watched->nthreads, 0);
    assert_null(watched->threads);
    assert_int_equal(k.stats.processes_live, procs);
    assert_int_equal(k_process_check(watched), 0);
}

static void exits_midway(void *arg)
{
    (void)arg;
    trace_add(1);
    k_thread_exit();
    ran_after_exit = 1;
}

static void
explicit_thread_exit_stops_the_thread_and_ends_the_process(void **state)
{
    (void)state;
    trace_reset();
    ran_after_exit = 0;
    uint32_t objects = k.stats.objects_live;
    watched = proc_with("explicit", 8);
    uint32_t id;
    assert_int_equal(nullcap_grant(watched, &id), 0);
    assert_int_equal(k_thread_create(watched, exits_midway, NULL, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(ntrace, 1);
    assert_int_equal(ran_after_exit, 0);
    assert_int_equal(watched->state, KP_DEAD);
    assert_int_equal(watched->exit_code, 0);
    assert_int_equal(k.stats.objects_live, objects);
}

static void exits_with_code(void *arg)
{
    (void)arg;
    k_process_exit(watched, 42);
    ran_after_exit = 1;
}

static void process_exit_from_its_own_thread_keeps_its_code(void **state)
{
    (void)state;
    ran_after_exit = 0;
    watched = proc_with("coded", 8);
    assert_int_equal(k_thread_create(watched, exits_with_code, NULL, NULL), 0);
    assert_int_equal(k_thread_create(watched, record_id, (void *)9, NULL), 0);
    trace_reset();
    assert_int_equal(k_run(), 0);
    assert_int_equal(ran_after_exit, 0);
    assert_int_equal(watched->exit_code, 42);
    assert_int_equal(watched->state, KP_DEAD);
    /* The sibling was killed before it ever ran. */
    assert_int_equal(ntrace, 0);
    assert_int_equal(k.stats.threads_live, 0);
}

/* ---- limits ---------------------------------------------------------- */

static void thread_create_fails_beyond_max_threads(void **state)
{
    (void)state;
    trace_reset();
    struct k_process *p = proc_with("two", 2);
    struct k_thread *t1 = NULL, *t2 = NULL, *t3 = NULL;
    assert_int_equal(k_thread_create(p, record_id, (void *)1, &t1), 0);
    assert_int_equal(k_thread_create(p, record_id, (void *)2, &t2), 0);
    assert_int_equal(k_thread_create(p, record_id, (void *)3, &t3),
                     CAP_ERR_INVOKE_FAILED);
    assert_null(t3);
    assert_int_equal(p->nthreads, 2);
    assert_int_equal(k.stats.threads_live, 2);
    assert_int_not_equal(t1->stack_slot, t2->stack_slot);
    assert_int_equal(k_run(), 0);
    assert_int_equal(ntrace, 2);
    /* A dead process takes no new threads. */
    assert_int_equal(p->state, KP_DEAD);
    assert_int_equal(k_thread_create(p, record_id, (void *)4, NULL),
                     CAP_ERR_INVOKE_FAILED);
    assert_int_equal(k.stats.threads_live, 0);
}

static struct k_process *slot_proc;
static int create_in_thread;
static uint32_t slot_of[4];

static void note_slot(void *arg)
{
    int i = (int)(intptr_t)arg;
    slot_of[i] = k_current()->stack_slot;
    trace_add(i);
}

static void note_slot_then_create(void *arg)
{
    note_slot(arg);
    create_in_thread = k_thread_create(slot_proc, note_slot, (void *)2, NULL);
}

static void a_reaped_thread_frees_its_place_for_a_new_one(void **state)
{
    (void)state;
    trace_reset();
    create_in_thread = 999;
    slot_proc = proc_with("reuse", 2);
    assert_int_equal(k_thread_create(slot_proc, note_slot, (void *)0, NULL), 0);
    assert_int_equal(
        k_thread_create(slot_proc, note_slot_then_create, (void *)1, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(create_in_thread, 0);
    assert_int_equal(ntrace, 3);
    assert_int_equal(trace[2], 2);
    assert_int_equal(slot_of[2], slot_of[0]); /* the first thread's stack */
}

/* ---- blocking -------------------------------------------------------- */

static struct k_thread *sleeper_thread;
static enum k_wake sleeper_woke;
static int sleeper_state_seen;

static void sleeps(void *arg)
{
    (void)arg;
    trace_add(1);
    sleeper_woke = k_thread_wait(UINT64_MAX);
    trace_add(3);
}

static void wakes_sleeper(void *arg)
{
    (void)arg;
    trace_add(2);
    sleeper_state_seen = sleeper_thread->state;
    k_thread_wake(sleeper_thread);
    k_thread_wake(sleeper_thread); /* a second wake is a no-op */
}

static void wake_makes_a_blocked_thread_runnable_with_a_signal(void **state)
{
    (void)state;
    trace_reset();
    sleeper_woke = K_WAKE_NONE;
    struct k_process *p = proc_with("wake", 8);
    assert_int_equal(k_thread_create(p, sleeps, NULL, &sleeper_thread), 0);
    assert_int_equal(k_thread_create(p, wakes_sleeper, NULL, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(sleeper_state_seen, KT_BLOCKED);
    assert_int_equal(sleeper_woke, K_WAKE_SIGNAL);
    assert_int_equal(ntrace, 3);
    assert_int_equal(trace[0], 1);
    assert_int_equal(trace[1], 2);
    assert_int_equal(trace[2], 3);
    /* Sleeper, waker, sleeper again: three dispatches. */
    assert_int_equal(k.stats.switches, 3);
}

static void sleeps_forever(void *arg)
{
    (void)arg;
    k_thread_wait(UINT64_MAX);
    trace_add(99);
}

static void run_returns_the_number_of_threads_blocked_forever(void **state)
{
    (void)state;
    trace_reset();
    struct k_process *a = proc_with("a", 8);
    struct k_process *b = proc_with("b", 8);
    assert_int_equal(k_thread_create(a, sleeps_forever, NULL, NULL), 0);
    assert_int_equal(k_thread_create(b, record_id, (void *)1, NULL), 0);
    assert_int_equal(k_thread_create(b, sleeps_forever, NULL, NULL), 0);
    assert_int_equal(k_run(), 2);
    assert_int_equal(ntrace, 1);
    assert_int_equal(trace[0], 1);
    assert_int_equal(k.stats.threads_live, 2);
    /* Running again changes nothing. */
    assert_int_equal(k_run(), 2);
    assert_int_equal(ntrace, 1);
}

/* ---- one waiter per ring --------------------------------------------- */

static struct k_process *ring_proc;
static struct k_thread *waiter_thread;
static int waiter_ret, busy_ret, busy_timed_ret, poke_ret;
static int waiter_was_registered;
static CapCqe waiter_cqe;
static int waiter_got_cqe;

static void waits_on_the_ring(void *arg)
{
    (void)arg;
    waiter_ret = k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE);
    CapRingHeader *h = &ring_proc->ring->hdr;
    if (h->cq_tail != h->cq_head) {
        waiter_cqe = ring_proc->ring->cq[h->cq_head & (CAP_CQ_ENTRIES - 1)];
        h->cq_head++;
        waiter_got_cqe = 1;
    }
}

static void enters_while_the_other_waits(void *arg)
{
    (void)arg;
    waiter_was_registered = ring_proc->rs.waiter == waiter_thread;
    busy_ret = k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE);
    busy_timed_ret = k_sys_cap_enter(1, 5 * SEC);
    CapSqe nop = h_nop(0x77);
    push_sqe(ring_proc, &nop);
    poke_ret = k_sys_cap_enter(0, 0); /* posts the NOP: the waiter wakes */
}

static void
second_thread_entering_while_another_waits_gets_ring_busy(void **state)
{
    (void)state;
    waiter_ret = busy_ret = busy_timed_ret = poke_ret = 1000;
    waiter_was_registered = waiter_got_cqe = 0;
    ring_proc = proc_with("busy", 8);
    assert_int_equal(
        k_thread_create(ring_proc, waits_on_the_ring, NULL, &waiter_thread), 0);
    assert_int_equal(
        k_thread_create(ring_proc, enters_while_the_other_waits, NULL, NULL),
        0);
    assert_int_equal(k_run(), 0);

    assert_true(waiter_was_registered);
    assert_int_equal(busy_ret, CAP_ERR_RING_BUSY);
    assert_int_equal(busy_timed_ret, CAP_ERR_RING_BUSY);
    assert_int_equal(poke_ret, 1);
    assert_int_equal(waiter_ret, 1);
    assert_true(waiter_got_cqe);
    assert_int_equal(waiter_cqe.user_data, 0x77);
    assert_int_equal(waiter_cqe.result, 0);
    /* Being refused did not wait: no virtual time passed. */
    assert_int_equal(k_now(), 0);
    assert_null(ring_proc->rs.waiter);
}

static void cap_enter_from_the_host_is_refused(void **state)
{
    (void)state;
    assert_int_equal(k_sys_cap_enter(0, 0), CAP_ERR_INVALID_REQUEST);
}

/* Each thread keeps its own floating-point rounding mode across switches
 * (the context switch saves MXCSR and the x87 control word). */
static int fp_seen[4];

static void fp_upward_thread(void *arg)
{
    (void)arg;
    fesetround(FE_UPWARD);
    fp_seen[0] = fegetround();
    k_sched_yield();
    fp_seen[2] = fegetround();
}

static void fp_default_thread(void *arg)
{
    (void)arg;
    fp_seen[1] = fegetround();
    k_sched_yield();
    fp_seen[3] = fegetround();
}

static void each_thread_keeps_its_own_rounding_mode(void **state)
{
    (void)state;
    struct k_process *p = h_proc("fp", 0);
    memset(fp_seen, -1, sizeof fp_seen);
    assert_int_equal(k_thread_create(p, fp_upward_thread, NULL, NULL), 0);
    assert_int_equal(k_thread_create(p, fp_default_thread, NULL, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(fp_seen[0], FE_UPWARD);
    assert_int_equal(fp_seen[1], FE_TONEAREST);
    assert_int_equal(fp_seen[2], FE_UPWARD);
    assert_int_equal(fp_seen[3], FE_TONEAREST);
    assert_int_equal(fegetround(), FE_TONEAREST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)
        T(threads_run_to_completion_in_creation_order_by_default),
        cmocka_unit_test(shuffled_order_depends_on_the_seed),
        cmocka_unit_test(same_seed_replays_the_same_shuffled_order),
        T(yield_interleaves_runnable_threads),
        T(yield_with_no_other_runnable_thread_continues_at_once),
        T(exit_of_the_last_thread_ends_its_process_with_status_zero),
        T(explicit_thread_exit_stops_the_thread_and_ends_the_process),
        T(process_exit_from_its_own_thread_keeps_its_code),
        T(thread_create_fails_beyond_max_threads),
        T(a_reaped_thread_frees_its_place_for_a_new_one),
        T(wake_makes_a_blocked_thread_runnable_with_a_signal),
        T(run_returns_the_number_of_threads_blocked_forever),
        T(second_thread_entering_while_another_waits_gets_ring_busy),
        T(cap_enter_from_the_host_is_refused),
        T(each_thread_keeps_its_own_rounding_mode),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
