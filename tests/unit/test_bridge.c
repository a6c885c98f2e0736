/*
 * test_bridge.c - sibling threads of one process on capos-rt, in both
 * ring modes (capos_rt_set_ring_mode): through the ring reactor bridge
 * (they share the process ring through one runtime-owned CQ drainer) and
 * on per-thread rings (each thread its own ring, docs/abi.md §16). Each
 * thread gets exactly its own completions whatever order they arrive in
 * (a NullCap echo, and an endpoint server answering in a seeded
 * adversarial order under a shuffled run queue); and the sync.h
 * primitives on PARK/UNPARK: mutex contention, cond signal/broadcast,
 * once. Every test runs once per mode.
 *
 * Service code uses only capos_rt.h and sync.h; the threads are started
 * and joined with capos_rt_thread_spawn / capos_rt_thread_join.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "harness_rt.h"
#include "sync.h"

#define NT 4  /* sibling threads */
#define NM 50 /* calls per thread */

static int setup(void **state)
{
    (void)state;
    /* BRIDGE_SEED=n reruns with another seed (run queue and server). */
    const char *e = getenv("BRIDGE_SEED");
    h_up(true, e ? strtoull(e, NULL, 0) : 0x5eed);
    k.cfg.shuffle = true; /* seeded run-queue order among runnable threads */
    return 0;
}

/* Shared state of the current test's threads, in the process heap (the
 * sync words must be user memory). */
struct shared {
    capos_mutex_t m;
    capos_cond_t cv;    /* "done" changed */
    capos_cond_t go_cv; /* go / tokens changed */
    capos_once_t once;
    uint32_t done;
    uint32_t go;
    uint32_t tokens;
    uint32_t consumed;
    uint32_t counter;
    capos_cap_t cap; /* the cap the workers call */
};

/* What the threads saw; asserted by the test body after k_run. */
static struct {
    uint32_t delivered[NT]; /* completions each thread got, all checked */
    uint32_t wrong;         /* a completion with the wrong tag/payload */
    uint32_t errors;        /* a runtime or sync call failed */
    uint32_t counter;       /* mutex-protected counter at the end */
    uint32_t once_runs;
    uint32_t once_after; /* threads that saw once done on return */
    uint32_t consumed, woken_by_broadcast;
    uint64_t busy;          /* waits that found another drainer */
    uint32_t order_changes; /* server answers not in arrival order */
    int main_rc;
} seen;

static struct shared *g_sh;
static enum capos_rt_ring_mode g_mode; /* the mode of the current run */
static capos_thread_t g_th[NT];

/* Each worker gets its index; g_sh is set before they start. */
static void spawn_workers(void (*fn)(void *))
{
    if (capos_rt_set_ring_mode(g_mode) != 0)
        seen.errors++;
    for (uintptr_t i = 0; i < NT; i++)
        if (capos_rt_thread_spawn(fn, (void *)i, &g_th[i]) != 0)
            seen.errors++;
}

/* Worker side of the join: count done and wake the main thread. */
static void worker_done(void)
{
    if (capos_mutex_lock(&g_sh->m) != 0)
        seen.errors++;
    g_sh->done++;
    if (capos_cond_broadcast(&g_sh->cv) != 0)
        seen.errors++;
    if (capos_mutex_unlock(&g_sh->m) != 0)
        seen.errors++;
}

/* Main side: wait until all NT workers are done. */
static void join_workers(void)
{
    if (capos_mutex_lock(&g_sh->m) != 0)
        seen.errors++;
    while (g_sh->done < NT)
        if (capos_cond_wait(&g_sh->cv, &g_sh->m) != 0) {
            seen.errors++;
            break;
        }
    if (capos_mutex_unlock(&g_sh->m) != 0)
        seen.errors++;
    /* Reap them: each has returned (exit code 0) or is about to. */
    for (int i = 0; i < NT; i++) {
        int64_t code = -1;
        if (capos_rt_thread_join(&g_th[i], &code) != 0 || code != 0)
            seen.errors++;
    }
    if (capos_rt_thread_join(&g_th[0], NULL) != CAPOS_RT_E_NOT_FOUND)
        seen.errors++; /* joined already */
}

static int bridge_main(capos_capset_t *caps, const char *name,
                       void (*worker)(void *))
{
    g_sh = capos_alloc(sizeof *g_sh);
    if (!g_sh)
        return 1;
    memset(g_sh, 0, sizeof *g_sh);
    if (name && capos_capset_find(caps, name, 0, &g_sh->cap) != 0)
        return 2;
    spawn_workers(worker);
    join_workers();
    seen.busy = capos_rt_bridge_busy();
    return 0;
}

/* ---- calls from sibling threads --------------------------------------- */

struct msg {
    uint32_t magic, thread, seq, pad;
};

#define MSG_MAGIC 0xb1d9e000u

/* NM calls of method 1 (echo) on g_sh->cap, each checked. */
static void call_worker(void *arg)
{
    uint32_t me = (uint32_t)(uintptr_t)arg;
    struct msg *in = capos_alloc(sizeof *in), *out = capos_alloc(64);
    for (uint32_t i = 0; i < NM; i++) {
        *in = (struct msg){MSG_MAGIC, me, i, 0};
        memset(out, 0, 64);
        CapSqe s = {.opcode = CAP_OP_CALL,
                    .cap_id = g_sh->cap.id,
                    .method_id = 1,
                    .addr = capos_va(in),
                    .len = sizeof *in,
                    .result_addr = capos_va(out),
                    .result_len = 64};
        CapCqe c;
        int r = capos_rt_call(&s, &c);
        if (r != 0) {
            seen.errors++;
            continue;
        }
        if (c.user_data != s.user_data || c.result != (int32_t)sizeof *in ||
            memcmp(in, out, sizeof *in) != 0)
            seen.wrong++;
        else
            seen.delivered[me]++;
    }
    capos_free(in);
    capos_free(out);
    worker_done();
}

static int echo_client(capos_capset_t *caps)
{
    return bridge_main(caps, "null", call_worker);
}

/* "park" and "threads" (a ThreadSpawner) in p's CapSet. */
static void grant_threading(struct k_process *p)
{
    uint32_t ps, ts;
    assert_int_equal(parkspace_grant(p, &ps), 0);
    assert_int_equal(k_capset_add(p, "park", ps), 0);
    assert_int_equal(threadspawner_grant(p, &ts), 0);
    assert_int_equal(k_capset_add(p, "threads", ts), 0);
}

/*
 * How the siblings shared the work, by mode. Bridge: the siblings really
 * overlapped on the process ring (some waits found another thread
 * draining and left it to that thread), so every call completed there.
 * Per-thread rings: no wait ever found the ring busy (the threads slept
 * in cap_enter on their own rings) and the workers' completions never
 * touched the process ring, which carried only the main thread's own
 * operations (spawns, joins, its lock and cond traffic).
 */
static void expect_mode_behaviour(struct k_process *p, uint32_t worker_ops)
{
    if (g_mode == CAPOS_RT_RING_BRIDGE) {
        assert_true(seen.busy > 0);
        assert_true(p->rs.cq_tail >= worker_ops);
    } else {
        assert_int_equal(seen.busy, 0);
        assert_true(p->rs.cq_tail < worker_ops);
    }
    assert_int_equal(p->rs.cq_reserved, 0);
    assert_int_equal(k.stats.stale_dropped, 0);
}

static void expect_every_completion_once(void)
{
    assert_int_equal(seen.errors, 0);
    assert_int_equal(seen.wrong, 0);
    for (int i = 0; i < NT; i++)
        assert_int_equal(seen.delivered[i], NM);
}

static void siblings_call_a_nullcap_echo(void)
{
    memset(&seen, 0, sizeof seen);
    struct k_process *p = h_proc("client", 0);
    uint32_t null;
    assert_int_equal(nullcap_grant(p, &null), 0);
    assert_int_equal(k_capset_add(p, "null", null), 0);
    grant_threading(p);
    assert_int_equal(k_thread_create(p, h_start, (void *)echo_client, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(p->exit_code, 0);
    expect_every_completion_once();
    expect_mode_behaviour(p, NT * NM);
}

/* The server: gathers one call from every client thread that still has
 * calls to make, then answers the batch in a seeded shuffled order,
 * echoing each call's params. */
static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static int shuffle_server(capos_capset_t *caps)
{
    capos_cap_t ep;
    if (capos_capset_find(caps, "service", 0, &ep) != 0)
        return 1;
    uint32_t left[NT];
    for (int i = 0; i < NT; i++)
        left[i] = NM;
    uint8_t *buf[NT];
    for (int i = 0; i < NT; i++)
        buf[i] = capos_alloc(128);
    uint32_t total = NT * NM;
    while (total) {
        unsigned active = 0;
        for (int i = 0; i < NT; i++)
            active += left[i] != 0;
        CapCqe got[NT];
        for (unsigned k2 = 0; k2 < active; k2++) {
            CapSqe s = {.opcode = CAP_OP_RECV,
                        .cap_id = ep.id,
                        .result_addr = capos_va(buf[k2]),
                        .result_len = 128};
            if (capos_rt_call(&s, &got[k2]) != 0 || got[k2].result < 0)
                return 2;
            struct msg m;
            memcpy(&m, buf[k2] + sizeof(EndpointMessageHeader), sizeof m);
            if (m.magic != MSG_MAGIC || m.thread >= NT || !left[m.thread])
                return 3;
            left[m.thread]--;
        }
        unsigned order[NT];
        for (unsigned i = 0; i < active; i++)
            order[i] = i;
        for (unsigned i = active; i > 1; i--) {
            unsigned j = next_rand() % i;
            unsigned t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
        for (unsigned i = 0; i < active; i++) {
            unsigned w = order[i];
            if (w != i)
                seen.order_changes++;
            CapSqe s = {.opcode = CAP_OP_RETURN,
                        .cap_id = ep.id,
                        .call_id = got[w].call_id,
                        .addr =
                            capos_va(buf[w] + sizeof(EndpointMessageHeader)),
                        .len = sizeof(struct msg)};
            CapCqe c;
            if (capos_rt_call(&s, &c) != 0 || c.result != 0)
                return 4;
            total--;
        }
    }
    return 0;
}

static int endpoint_client(capos_capset_t *caps)
{
    return bridge_main(caps, "service", call_worker);
}

static void siblings_get_their_own_replies_in_adversarial_order(void)
{
    memset(&seen, 0, sizeof seen);
    rng = 0x9e3779b97f4a7c15u ^ k.cfg.seed;
    struct k_process *srv = h_proc("server", 0), *cli = h_proc("client", 0);
    uint32_t raw, facet;
    assert_int_equal(ep_create(srv, &raw), 0);
    assert_int_equal(k_capset_add(srv, "service", raw), 0);
    assert_int_equal(ep_mint_client(srv, raw, cli, 1, &facet), 0);
    assert_int_equal(k_capset_add(cli, "service", facet), 0);
    grant_threading(cli);
    assert_int_equal(
        k_thread_create(srv, h_start, (void *)shuffle_server, NULL), 0);
    assert_int_equal(
        k_thread_create(cli, h_start, (void *)endpoint_client, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(srv->exit_code, 0);
    assert_int_equal(cli->exit_code, 0);
    expect_every_completion_once();
    expect_mode_behaviour(cli, NT * NM);
    assert_true(seen.order_changes > 0);
}

/* ---- sync primitives --------------------------------------------------- */

#define NINC 40

/* Read-call-write under the mutex: the NullCap call in the middle lets
 * the others run (the ring is busy), so without the mutex updates get
 * lost. */
static void inc_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < NINC; i++) {
        if (capos_mutex_lock(&g_sh->m) != 0)
            seen.errors++;
        uint32_t v = g_sh->counter;
        if (capos_rt_invoke(g_sh->cap, 0, NULL, 0, NULL, 0, NULL) != 0)
            seen.errors++;
        g_sh->counter = v + 1;
        if (capos_mutex_unlock(&g_sh->m) != 0)
            seen.errors++;
    }
    worker_done();
}

static int mutex_main(capos_capset_t *caps)
{
    int r = bridge_main(caps, "null", inc_worker);
    seen.counter = g_sh->counter;
    return r;
}

/* Consumers take tokens one at a time (signal), then wait for go
 * (broadcast). */
static void cond_worker(void *arg)
{
    (void)arg;
    if (capos_mutex_lock(&g_sh->m) != 0)
        seen.errors++;
    while (g_sh->tokens == 0)
        if (capos_cond_wait(&g_sh->go_cv, &g_sh->m) != 0) {
            seen.errors++;
            break;
        }
    g_sh->tokens--;
    g_sh->consumed++;
    while (!g_sh->go)
        if (capos_cond_wait(&g_sh->go_cv, &g_sh->m) != 0) {
            seen.errors++;
            break;
        }
    seen.woken_by_broadcast++;
    if (capos_mutex_unlock(&g_sh->m) != 0)
        seen.errors++;
    worker_done();
}

static int cond_main(capos_capset_t *caps)
{
    g_sh = capos_alloc(sizeof *g_sh);
    memset(g_sh, 0, sizeof *g_sh);
    if (capos_capset_find(caps, "null", 0, &g_sh->cap) != 0)
        return 2;
    spawn_workers(cond_worker);
    /* Let the consumers block first (a call yields to them). */
    capos_rt_invoke(g_sh->cap, 0, NULL, 0, NULL, 0, NULL);
    for (int i = 0; i < NT; i++) {
        capos_mutex_lock(&g_sh->m);
        g_sh->tokens++;
        if (capos_cond_signal(&g_sh->go_cv) != 0)
            seen.errors++;
        capos_mutex_unlock(&g_sh->m);
        capos_rt_invoke(g_sh->cap, 0, NULL, 0, NULL, 0, NULL);
    }
    capos_mutex_lock(&g_sh->m);
    g_sh->go = 1;
    if (capos_cond_broadcast(&g_sh->go_cv) != 0)
        seen.errors++;
    capos_mutex_unlock(&g_sh->m);
    join_workers();
    seen.consumed = g_sh->consumed;
    seen.busy = capos_rt_bridge_busy();
    return 0;
}

static void once_fn(void *arg)
{
    struct shared *sh = arg;
    seen.once_runs++;
    /* Take time inside: the others arrive while it runs and park. */
    for (int i = 0; i < 3; i++)
        capos_rt_invoke(sh->cap, 0, NULL, 0, NULL, 0, NULL);
}

static void once_worker(void *arg)
{
    (void)arg;
    if (capos_once(&g_sh->once, once_fn, g_sh) != 0)
        seen.errors++;
    if (seen.once_runs == 1 &&
        __atomic_load_n(&g_sh->once.state, __ATOMIC_ACQUIRE) == 2)
        seen.once_after++;
    worker_done();
}

static int once_main(capos_capset_t *caps)
{
    return bridge_main(caps, "null", once_worker);
}

static struct k_process *sync_proc(int (*main_fn)(capos_capset_t *))
{
    struct k_process *p = h_proc("sync", 0);
    uint32_t null;
    assert_int_equal(nullcap_grant(p, &null), 0);
    assert_int_equal(k_capset_add(p, "null", null), 0);
    grant_threading(p);
    assert_int_equal(k_thread_create(p, h_start, (void *)main_fn, NULL), 0);
    return p;
}

static void mutex_keeps_a_contended_counter_exact(void)
{
    memset(&seen, 0, sizeof seen);
    struct k_process *p = sync_proc(mutex_main);
    assert_int_equal(k_run(), 0);
    assert_int_equal(p->exit_code, 0);
    assert_int_equal(seen.errors, 0);
    assert_int_equal(seen.counter, NT * NINC);
    expect_mode_behaviour(p, NT * NINC);
}

static void cond_signal_and_broadcast_wake_waiters(void)
{
    memset(&seen, 0, sizeof seen);
    struct k_process *p = sync_proc(cond_main);
    assert_int_equal(k_run(), 0);
    assert_int_equal(p->exit_code, 0);
    assert_int_equal(seen.errors, 0);
    assert_int_equal(seen.consumed, NT);
    assert_int_equal(seen.woken_by_broadcast, NT);
}

static void once_runs_exactly_once(void)
{
    memset(&seen, 0, sizeof seen);
    struct k_process *p = sync_proc(once_main);
    assert_int_equal(k_run(), 0);
    assert_int_equal(p->exit_code, 0);
    assert_int_equal(seen.errors, 0);
    assert_int_equal(seen.once_runs, 1);
    assert_int_equal(seen.once_after, NT);
}

/* Without a ThreadSpawner in the CapSet the runtime starts no thread;
 * a ring mode that does not exist is refused and changes nothing. */
static int no_spawner_main(capos_capset_t *caps)
{
    (void)caps;
    capos_thread_t th;
    if (capos_rt_thread_spawn(once_fn, NULL, &th) != CAPOS_RT_E_NOT_FOUND)
        return 1;
    if (capos_rt_set_ring_mode((enum capos_rt_ring_mode)7) == 0 ||
        capos_rt_ring_mode() != CAPOS_RT_RING_PER_THREAD)
        return 2;
    if (capos_rt_set_ring_mode(CAPOS_RT_RING_BRIDGE) != 0 ||
        capos_rt_ring_mode() != CAPOS_RT_RING_BRIDGE)
        return 3;
    return 0;
}

static void spawn_needs_a_thread_spawner(void **state)
{
    (void)state;
    struct k_process *p = h_proc("lone", 0);
    assert_int_equal(k_thread_create(p, h_start, (void *)no_spawner_main, NULL),
                     0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(p->exit_code, 0);
    assert_int_equal(k.stats.threads_live, 0);
}

/* Each test once through the bridge and once on per-thread rings. */
#define BOTH_MODES(name)                                                       \
    static void name##_bridge(void **state)                                    \
    {                                                                          \
        (void)state;                                                           \
        g_mode = CAPOS_RT_RING_BRIDGE;                                         \
        name();                                                                \
    }                                                                          \
    static void name##_rings(void **state)                                     \
    {                                                                          \
        (void)state;                                                           \
        g_mode = CAPOS_RT_RING_PER_THREAD;                                     \
        name();                                                                \
    }
BOTH_MODES(siblings_call_a_nullcap_echo)
BOTH_MODES(siblings_get_their_own_replies_in_adversarial_order)
BOTH_MODES(mutex_keeps_a_contended_counter_exact)
BOTH_MODES(cond_signal_and_broadcast_wake_waiters)
BOTH_MODES(once_runs_exactly_once)
#define TEST_BOTH(name)                                                        \
    cmocka_unit_test_setup_teardown(name##_bridge, setup, h_teardown),         \
        cmocka_unit_test_setup_teardown(name##_rings, setup, h_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST_BOTH(siblings_call_a_nullcap_echo),
        TEST_BOTH(siblings_get_their_own_replies_in_adversarial_order),
        TEST_BOTH(mutex_keeps_a_contended_counter_exact),
        TEST_BOTH(cond_signal_and_broadcast_wake_waiters),
        TEST_BOTH(once_runs_exactly_once),
        cmocka_unit_test_setup_teardown(spawn_needs_a_thread_spawner, setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
