/*
 * test_threadcap.c - ThreadSpawner, ThreadHandle and ThreadControl: spawn
 * and join, join after exit, one join per handle, ThreadControl.exit of
 * the last thread, max_threads, detach on release, process exit with a
 * join pending, table-local handle ids, and the recorded FS base.
 *
 * Messages are built and read with the generated schema code, so a drift
 * of the field positions threadcap.c hard-codes fails here.
 */
#include <string.h>

#include "capos.capnp.h"
#include "harness.h"

/* ---- helpers ---------------------------------------------------------- */

struct res {
    uint8_t *buf; /* result buffer in the process heap */
    CapCqe cqe;
};

static CapSqe spawn_sqe(struct k_process *p, uint32_t ts, void (*entry)(void *),
                        uint64_t arg, uint32_t stack, uint8_t **resbuf)
{
    capnp_builder b;
    capnp_struct_builder root;
    h_msg(p, &b, 64);
    assert_int_equal(capos_ThreadSpawner_spawn_Params_init_root(&b, &root), 0);
    capos_ThreadSpawner_spawn_Params_set_entry(&root,
                                               (uint64_t)(uintptr_t)entry);
    capos_ThreadSpawner_spawn_Params_set_arg(&root, arg);
    capos_ThreadSpawner_spawn_Params_set_stackSize(&root, stack);
    return h_call_msg(p, ts, CAPOS_THREAD_SPAWNER_SPAWN_METHOD_ID, 1, &b, 256,
                      resbuf);
}

static CapSqe i64_sqe(struct k_process *p, uint32_t cap, uint16_t method,
                      int64_t v)
{
    capnp_builder b;
    capnp_struct_builder root;
    h_msg(p, &b, 64);
    assert_int_equal(capnp_init_root(&b, 1, 0, &root), 0);
    capnp_set_i64(&root, 0, v, 0);
    return h_call_msg(p, cap, method, 7, &b, 0, NULL);
}

static CapSqe join_sqe(struct k_process *p, uint32_t th, uint64_t ud,
                       uint8_t **resbuf)
{
    CapSqe s = h_call(th, CAPOS_THREAD_HANDLE_JOIN_METHOD_ID, ud);
    *resbuf = h_alloc(p, 256);
    s.result_addr = h_va(p, *resbuf);
    s.result_len = 256;
    return s;
}

/* Root struct of a result message of len bytes. */
static capnp_struct res_root(const uint8_t *buf, int32_t len, capnp_message *m)
{
    assert_true(len > 0);
    return h_root(buf, (size_t)len, m);
}

/* The CapException type of an APPLICATION_EXCEPTION result. */
static uint16_t exc_type(const uint8_t *buf, const CapCqe *c)
{
    assert_int_equal(c->result, CAP_ERR_APPLICATION_EXCEPTION);
    capnp_message m;
    capnp_struct root = h_root(buf, 256, &m);
    return capos_CapException_get_type(&root);
}

/* The ThreadHandle id a successful spawn returned. */
static uint32_t spawned_handle(const uint8_t *buf, const CapCqe *c)
{
    assert_true(c->result > 0);
    assert_int_equal(c->cap_count, 1);
    capnp_message m;
    capnp_struct root = res_root(buf, c->result, &m);
    uint32_t idx = 99;
    assert_int_equal(capos_ThreadSpawner_spawn_Results_get_thread(&root, &idx),
                     0);
    assert_int_equal(idx, 0);
    CapTransferResult rec;
    memcpy(&rec, buf + CAP_ALIGN8((uint32_t)c->result), sizeof rec);
    assert_int_equal(rec.interface_id, CAPOS_THREAD_HANDLE_INTERFACE_ID);
    return rec.cap_id;
}

static int64_t join_code(const uint8_t *buf, const CapCqe *c)
{
    capnp_message m;
    capnp_struct root = res_root(buf, c->result, &m);
    return capos_ThreadHandle_join_Results_get_exitCode(&root);
}

/* Shared state of the current test's threads. */
static struct {
    uint32_t ts, tc;
    int64_t code;
    uint32_t after_exit; /* code after ThreadControl.exit ran: a bug */
    uint32_t done;
    uint32_t release; /* children spin (yield) until set */
    uint64_t fs;
} g;

/* A child that ends with ThreadControl.exit(arg). */
static void child_exit(void *arg)
{
    struct k_process *p = k_current()->proc;
    CapSqe s = i64_sqe(p, g.tc, CAPOS_THREAD_CONTROL_EXIT_METHOD_ID,
                       (int64_t)(intptr_t)arg);
    *h_sqe(p) = s;
    h_submit(p);
    k_sys_cap_enter(0, 0);
    g.after_exit++;
}

/* A child that returns (exit code 0). */
static void child_return(void *arg)
{
    (void)arg;
    g.done++;
}

/* A child that yields until g.release, then returns. */
static void child_spin(void *arg)
{
    (void)arg;
    while (!g.release)
        k_sched_yield();
    g.done++;
}

/* ---- tests ------------------------------------------------------------ */

static void ids_match_the_schema(void **state)
{
    (void)state;
    assert_int_equal(K_IFACE_THREAD_SPAWNER, CAPOS_THREAD_SPAWNER_INTERFACE_ID);
    assert_int_equal(K_IFACE_THREAD_HANDLE, CAPOS_THREAD_HANDLE_INTERFACE_ID);
    assert_int_equal(K_IFACE_THREAD_CONTROL, CAPOS_THREAD_CONTROL_INTERFACE_ID);
}

static void spawn_then_join_returns_the_exit_code_main(void *arg)
{
    struct k_process *p = arg;
    uint8_t *rb, *jb;
    CapSqe s = spawn_sqe(p, g.ts, child_exit, 42, 0, &rb);
    CapCqe c = h_one_wait(p, &s);
    uint32_t th = spawned_handle(rb, &c);
    CapSqe j = join_sqe(p, th, 2, &jb);
    c = h_one_wait(p, &j);
    assert_int_equal(c.user_data, 2);
    g.code = join_code(jb, &c);
    /* A thread whose entry returns reports 0. */
    s = spawn_sqe(p, g.ts, child_return, 0, 0, &rb);
    c = h_one_wait(p, &s);
    th = spawned_handle(rb, &c);
    j = join_sqe(p, th, 3, &jb);
    c = h_one_wait(p, &j);
    assert_int_equal(join_code(jb, &c), 0);
    assert_int_equal(g.done, 1);
}

static void spawn_then_join_returns_the_exit_code(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    struct k_process *p = h_proc("p", 0);
    assert_int_equal(threadspawner_grant(p, &g.ts), 0);
    assert_int_equal(threadcontrol_grant(p, &g.tc), 0);
    assert_int_equal(
        k_thread_create(p, spawn_then_join_returns_the_exit_code_main, p, NULL),
        0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(g.code, 42);
    assert_int_equal(g.after_exit, 0);
    assert_int_equal(p->rs.cq_reserved, 0);
    /* The main thread returned last: the process ended with status 0. */
    assert_int_equal(p->state, KP_DEAD);
    assert_int_equal(p->exit_code, 0);
}

static void join_after_exit_main(void *arg)
{
    struct k_process *p = arg;
    uint8_t *rb, *jb, *jb2;
    CapSqe s = spawn_sqe(p, g.ts, child_exit, (uint64_t)(int64_t)-5, 0, &rb);
    CapCqe c = h_one_wait(p, &s);
    uint32_t th = spawned_handle(rb, &c);
    while (p->nthreads > 1)
        k_sched_yield();
    /* Already exited: the join completes inside this cap_enter. */
    CapSqe j = join_sqe(p, th, 4, &jb);
    *h_sqe(p) = j;
    h_submit(p);
    assert_int_equal(k_sys_cap_enter(0, 0), 1);
    assert_true(h_cqe(p, &c));
    g.code = join_code(jb, &c);
    /* One join per handle: a second is refused. */
    j = join_sqe(p, th, 5, &jb2);
    c = h_one_wait(p, &j);
    assert_int_equal(exc_type(jb2, &c), K_EXC_FAILED);
}

static void join_after_exit_and_second_join_refused(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    struct k_process *p = h_proc("p", 0);
    assert_int_equal(threadspawner_grant(p, &g.ts), 0);
    assert_int_equal(threadcontrol_grant(p, &g.tc), 0);
    assert_int_equal(k_thread_create(p, join_after_exit_main, p, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(g.code, -5);
    assert_int_equal(g.after_exit, 0);
}

static void second_join_while_pending_main(void *arg)
{
    struct k_process *p = arg;
    uint8_t *rb, *jb, *jb2;
    CapSqe s = spawn_sqe(p, g.ts, child_spin, 0, 0, &rb);
    CapCqe c = h_one_wait(p, &s);
    uint32_t th = spawned_handle(rb, &c);
    *h_sqe(p) = join_sqe(p, th, 6, &jb);
    *h_sqe(p) = join_sqe(p, th, 7, &jb2);
    h_submit(p);
    assert_int_equal(k_sys_cap_enter(0, 0), 1); /* the refusal only */
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 7);
    assert_int_equal(exc_type(jb2, &c), K_EXC_FAILED);
    g.release = 1;
    assert_int_equal(k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE), 1);
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 6);
    g.code = join_code(jb, &c);
}

static void second_join_while_pending_refused(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    g.code = -1;
    struct k_process *p = h_proc("p", 0);
    assert_int_equal(threadspawner_grant(p, &g.ts), 0);
    assert_int_equal(
        k_thread_create(p, second_join_while_pending_main, p, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(g.code, 0);
    assert_int_equal(g.done, 1);
}

static void exit_of_the_last_thread_ends_the_process(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    struct k_process *p = h_proc("p", 0);
    uint32_t t;
    assert_int_equal(timercap_grant(p, &t), 0);
    assert_int_equal(threadcontrol_grant(p, &g.tc), 0);
    assert_int_equal(k_thread_create(p, child_exit, (void *)(intptr_t)9, NULL),
                     0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(g.after_exit, 0);
    assert_int_equal(p->state, KP_DEAD);
    assert_int_equal(p->exit_code, 0); /* status 0, not the thread's 9 */
    assert_null(p->caps.slots);
    assert_int_equal(k.stats.objects_live, 0);
    assert_int_equal(k.stats.threads_live, 0);
    assert_int_equal(p->rs.cq_reserved, 0);
}

static void limits_main(void *arg)
{
    struct k_process *p = arg;
    uint8_t *rb;
    /* max_threads 2: this thread and one child. */
    CapSqe s = spawn_sqe(p, g.ts, child_spin, 0, 0, &rb);
    CapCqe c = h_one_wait(p, &s);
    (void)spawned_handle(rb, &c);
    s = spawn_sqe(p, g.ts, child_spin, 0, 0, &rb);
    c = h_one_wait(p, &s);
    assert_int_equal(exc_type(rb, &c), K_EXC_OVERLOADED);
    /* Bad arguments: invalidArgument, checked before the limit. */
    s = spawn_sqe(p, g.ts, NULL, 0, 0, &rb);
    c = h_one_wait(p, &s);
    assert_int_equal(exc_type(rb, &c), K_EXC_INVALID_ARGUMENT);
    s = spawn_sqe(p, g.ts, child_spin, 0, (uint32_t)p->stack_size + 1, &rb);
    c = h_one_wait(p, &s);
    assert_int_equal(exc_type(rb, &c), K_EXC_INVALID_ARGUMENT);
    assert_int_equal(p->nthreads, 2);
    g.release = 1;
}

static void spawn_beyond_max_threads_refused(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    struct k_process_opts o = {.name = "p", .max_threads = 2};
    struct k_process *p = k_process_create(&o);
    assert_non_null(p);
    assert_int_equal(threadspawner_grant(p, &g.ts), 0);
    assert_int_equal(k_thread_create(p, limits_main, p, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(g.done, 1);
}

static void detach_main(void *arg)
{
    struct k_process *p = arg;
    uint8_t *rb;
    CapSqe s = spawn_sqe(p, g.ts, child_spin, 0, 0, &rb);
    CapCqe c = h_one_wait(p, &s);
    uint32_t th = spawned_handle(rb, &c);
    s = h_release(th, 8);
    c = h_one_wait(p, &s);
    assert_int_equal(c.result, 0);
    g.release = 1;
    /* Returns now: the detached child is the last thread. */
}

static void release_detaches_and_the_thread_runs_on(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    struct k_process *p = h_proc("p", 0);
    assert_int_equal(threadspawner_grant(p, &g.ts), 0);
    assert_int_equal(k_thread_create(p, detach_main, p, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(g.done, 1);
    assert_int_equal(p->state, KP_DEAD);
    assert_int_equal(p->exit_code, 0);
}

static void child_block(void *arg)
{
    (void)arg;
    k_thread_wait(UINT64_MAX); /* until its process is killed */
    g.after_exit++;
}

static void joiner_main(void *arg)
{
    struct k_process *p = arg;
    uint8_t *rb, *jb;
    CapSqe s = spawn_sqe(p, g.ts, child_block, 0, 0, &rb);
    CapCqe c = h_one_wait(p, &s);
    uint32_t th = spawned_handle(rb, &c);
    s = join_sqe(p, th, 9, &jb);
    (void)h_one_wait(p, &s); /* never returns: the process is killed */
    g.after_exit++;
}

static void process_exit_with_a_join_pending_leaves_nothing(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    uint32_t objs0 = k.stats.objects_live;
    struct k_process *p = h_proc("p", 0);
    assert_int_equal(threadspawner_grant(p, &g.ts), 0);
    assert_int_equal(k_thread_create(p, joiner_main, p, NULL), 0);
    assert_int_equal(k_run(), 2); /* both blocked */
    assert_non_null(p->pending);  /* the join */
    assert_int_equal(p->rs.cq_reserved, 1);
    k_process_exit(p, 5);
    assert_int_equal(k_run(), 0);
    assert_int_equal(g.after_exit, 0);
    assert_null(p->pending);
    assert_int_equal(p->exit_code, 5);
    assert_int_equal(k.stats.threads_live, 0);
    assert_int_equal(k.stats.processes_live, 0);
    assert_int_equal(k.stats.objects_live, objs0);
    assert_int_equal(k_process_check(p), 0);
}

static void handles_are_table_local(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    struct k_process *a = h_proc("a", 0);
    struct k_process *b = h_proc("b", 0);
    uint32_t ts_a, ts_b;
    assert_int_equal(threadspawner_grant(a, &ts_a), 0);
    assert_int_equal(threadspawner_grant(b, &ts_b), 0);
    uint8_t *rb, *jb;
    /* Spawned from the host context: the thread runs at k_run. */
    CapSqe s = spawn_sqe(a, ts_a, child_return, 0, 0, &rb);
    CapCqe c = h_one(a, &s);
    uint32_t th = spawned_handle(rb, &c);
    /* a's id means nothing in b's table. */
    s = join_sqe(b, th, 1, &jb);
    assert_int_equal(h_one(b, &s).result, CAP_ERR_INVOKE_FAILED);
    /* Released, the id is stale, even once the slot is reused. */
    s = h_release(th, 2);
    assert_int_equal(h_one(a, &s).result, 0);
    s = join_sqe(a, th, 3, &jb);
    assert_int_equal(h_one(a, &s).result, CAP_ERR_INVOKE_FAILED);
    s = spawn_sqe(a, ts_a, child_return, 0, 0, &rb);
    c = h_one(a, &s);
    uint32_t th2 = spawned_handle(rb, &c);
    assert_int_equal(th2 & CT_INDEX_MASK, th & CT_INDEX_MASK);
    assert_int_not_equal(th2, th);
    s = join_sqe(a, th, 4, &jb);
    assert_int_equal(h_one(a, &s).result, CAP_ERR_INVOKE_FAILED);
    /* The same id in b's table names b's own spawner: it spawns in b. */
    assert_int_equal(ts_a, ts_b);
    s = spawn_sqe(b, ts_a, child_return, 0, 0, &rb);
    c = h_one(b, &s);
    (void)spawned_handle(rb, &c);
    assert_int_equal(b->nthreads, 1);
    assert_int_equal(a->nthreads, 2);
    assert_int_equal(k_run(), 0);
    assert_int_equal(g.done, 3);
}

static void fs_main(void *arg)
{
    struct k_process *p = arg;
    uint8_t *res = h_alloc(p, 64);
    CapSqe s = i64_sqe(p, g.tc, CAPOS_THREAD_CONTROL_SET_FS_BASE_METHOD_ID,
                       (int64_t)g.fs);
    assert_int_equal(h_one_wait(p, &s).result, 0);
    k_sched_yield();
    s = h_call(g.tc, CAPOS_THREAD_CONTROL_GET_FS_BASE_METHOD_ID, 1);
    s.result_addr = h_va(p, res);
    s.result_len = 64;
    CapCqe c = h_one_wait(p, &s);
    capnp_message m;
    capnp_struct root = res_root(res, c.result, &m);
    assert_int_equal(capos_ThreadControl_getFsBase_Results_get_base(&root),
                     (uint64_t)(uintptr_t)k_current());
    g.done++;
}

static void fs_thread(void *arg)
{
    g.fs = (uint64_t)(uintptr_t)k_current();
    fs_main(arg);
}

static void fs_base_is_per_thread(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    struct k_process *p = h_proc("p", 0);
    assert_int_equal(threadcontrol_grant(p, &g.tc), 0);
    assert_int_equal(k_thread_create(p, fs_thread, p, NULL), 0);
    assert_int_equal(k_thread_create(p, fs_thread, p, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(g.done, 2);
    /* From the host context there is no calling thread. */
    struct k_process *q = h_proc("q", 0);
    uint32_t tc;
    assert_int_equal(threadcontrol_grant(q, &tc), 0);
    CapSqe s = i64_sqe(q, tc, CAPOS_THREAD_CONTROL_EXIT_METHOD_ID, 1);
    uint8_t *res = h_alloc(q, 256);
    s.result_addr = h_va(q, res);
    s.result_len = 256;
    CapCqe c = h_one(q, &s);
    assert_int_equal(exc_type(res, &c), K_EXC_FAILED);
    assert_int_equal(q->state, KP_ALIVE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ids_match_the_schema),
        cmocka_unit_test_setup_teardown(spawn_then_join_returns_the_exit_code,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(join_after_exit_and_second_join_refused,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(second_join_while_pending_refused,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            exit_of_the_last_thread_ends_the_process, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(spawn_beyond_max_threads_refused,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(release_detaches_and_the_thread_runs_on,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            process_exit_with_a_join_pending_leaves_nothing, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(handles_are_table_local, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(fs_base_is_per_thread, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
