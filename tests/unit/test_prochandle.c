/*
 * test_prochandle.c - ProcessHandle (kernel-model/spawner.c): wait
 * completes at the child's exit (before or after it); kill; the handle
 * can move but never be copied; an exited child is freed once its handle
 * is gone, and a pending wait outlives its handle's release.
 */
#include <stdio.h>
#include <string.h>

#include "capos/syscall.h"
#include "port_uv.h"
#include "spawner_fixture.h"

/* ---- wait and kill ---------------------------------------------------- */

static void wait_before_exit_completes_when_the_child_exits(void **state)
{
    (void)state;
    uint32_t sp, h;
    struct k_process *p = parent_and_child(&sp, &h, "exit7");
    uint8_t *res;
    handle_submit(p, h, CAPOS_PROCESS_HANDLE_WAIT_METHOD_ID, 0xa1, &res);
    assert_int_equal(h_enter(p), 0); /* pending: the child has not run */
    assert_int_equal(p->rs.cq_reserved, 1);
    assert_int_equal(k_run(), 0);
    CapCqe c;
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 0xa1);
    assert_true(c.result > 0);
    assert_int_equal(exit_code_in(res, c.result), 7);
    assert_int_equal(p->rs.cq_reserved, 0);
    assert_false(h_cqe(p, &c));
}

static void wait_after_exit_completes_at_once_and_again(void **state)
{
    (void)state;
    uint32_t sp, h;
    struct k_process *p = parent_and_child(&sp, &h, "exit7");
    assert_int_equal(k_run(), 0);
    assert_int_equal(wait_now(p, h), 7);
    assert_int_equal(wait_now(p, h), 7);
}

static void a_second_concurrent_wait_is_refused(void **state)
{
    (void)state;
    uint32_t sp, h;
    struct k_process *p = parent_and_child(&sp, &h, "block");
    assert_int_equal(k_run(), 1);
    uint8_t *r1, *r2;
    handle_submit(p, h, CAPOS_PROCESS_HANDLE_WAIT_METHOD_ID, 1, &r1);
    handle_submit(p, h, CAPOS_PROCESS_HANDLE_WAIT_METHOD_ID, 2, &r2);
    assert_int_equal(h_enter(p), 1);
    CapCqe c;
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 2);
    assert_int_equal(c.result, CAP_ERR_APPLICATION_EXCEPTION);
    capnp_message m;
    capnp_struct root = h_root(r2, 256, &m);
    assert_int_equal(capos_CapException_get_type(&root),
                     CAPOS_EXCEPTION_TYPE_FAILED);
    /* kill: the first wait completes with the killed code. */
    uint8_t *kr;
    handle_submit(p, h, CAPOS_PROCESS_HANDLE_KILL_METHOD_ID, 3, &kr);
    assert_int_equal(h_enter(p), 2);
    CapCqe w, k1;
    assert_true(h_cqe(p, &w));
    assert_true(h_cqe(p, &k1));
    assert_int_equal(w.user_data, 1);
    assert_int_equal(exit_code_in(r1, w.result), CAPOS_KILLED_EXIT_CODE);
    assert_int_equal(k1.user_data, 3);
    assert_int_equal(k1.result, 0);
    assert_int_equal(k_run(), 0);
}

static void kill_ends_a_blocked_child_and_is_a_no_op_afterwards(void **state)
{
    (void)state;
    uint32_t sp, h;
    struct k_process *p = parent_and_child(&sp, &h, "block");
    struct k_process *child = k.procs;
    assert_int_equal(k_run(), 1);
    assert_int_equal(k.stats.threads_live, 1);
    CapSqe kill = h_call(h, CAPOS_PROCESS_HANDLE_KILL_METHOD_ID, 4);
    assert_int_equal(h_one(p, &kill).result, 0);
    assert_int_equal(child->state, KP_DEAD);
    assert_int_equal(child->exit_code, CAPOS_KILLED_EXIT_CODE);
    assert_int_equal(k.stats.threads_live, 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(h_one(p, &kill).result, 0);
    assert_int_equal(wait_now(p, h), CAPOS_KILLED_EXIT_CODE);
    CapSqe bogus = h_call(h, 9, 5); /* unimplemented; no room to say so */
    assert_int_equal(h_one(p, &bogus).result,
                     CAP_ERR_APPLICATION_EXCEPTION_TRUNCATED);
}

static void the_handle_can_be_moved_but_never_copied(void **state)
{
    (void)state;
    uint32_t sp, h;
    struct k_process *p = parent_and_child(&sp, &h, "exit7");
    uint32_t null;
    assert_int_equal(nullcap_grant(p, &null), 0);
    CapTransferDescriptor *d;
    CapSqe s = h_call_xfer(p, null, 0, 6, h, CAP_XFER_COPY, &d);
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_TRANSFER);
    assert_non_null(ct_lookup(&p->caps, h));
    /* Nor copied to a child through spawn. */
    const struct gspec g[] = {{"h", G_CAP, 0, 0, 0}};
    const CapTransferDescriptor x[] = {{.cap_id = h, .mode = CAP_XFER_COPY}};
    s = spawn_sqe(p, sp, "again", "exit7", g, 1, x, 1, NULL);
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_TRANSFER);
    assert_non_null(ct_lookup(&p->caps, h));
    /* Moved, it leaves the sender: the handle keeps exactly one holder
     * (here the null cap, which drops it and so detaches the child). */
    d->mode = CAP_XFER_MOVE;
    s = h_call(null, 0, 8);
    s.addr = h_va(p, d);
    s.xfer_cap_count = 1;
    assert_true(h_one(p, &s).result >= 0);
    assert_null(ct_lookup(&p->caps, h));
    assert_int_equal(k_run(), 0);
}

static void a_moved_handle_works_for_its_new_holder_alone(void **state)
{
    (void)state;
    uint32_t sp, h;
    struct k_process *p = parent_and_child(&sp, &h, "block");
    assert_int_equal(k_run(), 1);
    /* A second process receives on its endpoint; the parent moves the
     * handle to it with a CALL (as a launcher returns a shell's handle). */
    struct k_process *q = h_proc("holder", 0);
    uint32_t raw, facet;
    assert_int_equal(ep_create(q, &raw), 0);
    assert_int_equal(ep_mint_client(q, raw, p, 0, &facet), 0);
    uint8_t *rbuf;
    *h_sqe(q) = h_recv(q, raw, 9, 512, &rbuf);
    h_submit(q);
    assert_int_equal(h_enter(q), 0);
    CapSqe call = h_call_xfer(p, facet, 0, 10, h, CAP_XFER_MOVE, NULL);
    uint8_t *cres = h_alloc(p, 64);
    call.result_addr = h_va(p, cres);
    call.result_len = 64;
    *h_sqe(p) = call;
    h_submit(p);
    assert_int_equal(h_enter(p), 0);
    assert_null(ct_lookup(&p->caps, h)); /* gone from the sender */
    CapCqe c;
    assert_int_equal(h_enter(q), 1);
    assert_true(h_cqe(q, &c));
    assert_int_equal(c.user_data, 9);
    assert_int_equal(c.cap_count, 1);
    CapTransferResult rec;
    memcpy(&rec, rbuf + CAP_ALIGN8((uint32_t)c.result), sizeof rec);
    assert_int_equal(rec.interface_id, CAPOS_PROCESS_HANDLE_INTERFACE_ID);
    /* The new holder kills the child and waits for it. */
    uint8_t *kr;
    handle_submit(q, rec.cap_id, CAPOS_PROCESS_HANDLE_KILL_METHOD_ID, 1, &kr);
    assert_int_equal(h_enter(q), 1);
    assert_true(h_cqe(q, &c));
    assert_int_equal(c.result, 0);
    assert_int_equal(wait_now(q, rec.cap_id), CAPOS_KILLED_EXIT_CODE);
    /* The parent's CALL is still owed a RETURN; the holder exits instead,
     * which answers it and frees the handle and the child. */
    k_process_exit(q, 0);
    assert_int_equal(h_enter(p), 1);
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 10);
    assert_int_equal(k_run(), 0);
}

/* ---- lifetime --------------------------------------------------------- */

static void an_exited_child_is_freed_when_its_handle_is_released(void **state)
{
    (void)state;
    uint32_t sp;
    struct k_process *p = parent_with_spawner(&sp, 0);
    uint32_t objects = k.stats.objects_live, held = k.stats.processes_held;
    const struct gspec g[] = {
        {"console", G_KERNEL, CAPOS_KERNEL_CAP_SOURCE_CONSOLE, 0, 0},
        {"ep", G_ENDPOINT, 0, 0, 0},
        {"null", G_KERNEL, CAPOS_KERNEL_CAP_SOURCE_NULL_CAP, 0, 0},
    };
    CapSqe s = spawn_sqe(p, sp, "short", "exit7", g, 3, NULL, 0, NULL);
    CapCqe c = h_one(p, &s);
    assert_true(c.result > 0);
    uint32_t h = records(c.result)[0].cap_id;
    uint32_t f = records(c.result)[1].cap_id;
    /* handle + console + endpoint (raw + client facet) + null */
    assert_int_equal(k.stats.objects_live, objects + 5);
    assert_int_equal(k.stats.processes_held, held + 1);
    assert_int_equal(k_run(), 0);
    /* Exited: its caps are gone (the facet the parent holds stays as an
     * object, its endpoint closed); the struct waits for the handle. */
    assert_int_equal(k.stats.objects_live, objects + 2);
    assert_int_equal(k.stats.processes_held, held + 1);
    assert_int_equal(wait_now(p, h), 7);
    CapSqe rel = h_release(h, 1);
    assert_int_equal(h_one(p, &rel).result, 0);
    assert_int_equal(k.stats.processes_held, held);
    assert_int_equal(k.stats.objects_live, objects + 1);
    rel = h_release(f, 2);
    assert_int_equal(h_one(p, &rel).result, 0);
    assert_int_equal(k.stats.objects_live, objects);
    assert_ptr_equal(k.procs->next, NULL); /* only the parent is listed */
}

static void
a_released_handle_detaches_and_the_child_is_freed_at_exit(void **state)
{
    (void)state;
    uint32_t sp;
    struct k_process *p = parent_with_spawner(&sp, 0);
    uint32_t held = k.stats.processes_held;
    uint32_t h = spawn_plain(p, sp, "exit7");
    CapSqe rel = h_release(h, 1);
    assert_int_equal(h_one(p, &rel).result, 0);
    assert_int_equal(k.stats.processes_live, 2); /* still running */
    assert_int_equal(k_run(), 0);
    assert_int_equal(k.stats.processes_held, held);
}

static void a_pending_wait_outlives_the_release_of_its_handle(void **state)
{
    (void)state;
    uint32_t sp;
    struct k_process *p = parent_with_spawner(&sp, 0);
    uint32_t held = k.stats.processes_held;
    uint32_t objects = k.stats.objects_live;
    uint32_t h = spawn_plain(p, sp, "exit7");
    uint8_t *res;
    handle_submit(p, h, CAPOS_PROCESS_HANDLE_WAIT_METHOD_ID, 0xa2, &res);
    CapSqe *rel = h_sqe(p);
    *rel = h_release(h, 0xa3);
    h_submit(p);
    assert_int_equal(h_enter(p), 1); /* the release; the wait pends */
    CapCqe c;
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 0xa3);
    assert_int_equal(c.result, 0);
    assert_int_equal(k.stats.objects_live, objects + 1); /* the handle */
    assert_int_equal(k_run(), 0);
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 0xa2);
    assert_int_equal(exit_code_in(res, c.result), 7);
    assert_int_equal(k.stats.objects_live, objects);
    assert_int_equal(k.stats.processes_held, held);
}

static void a_waiter_that_exits_cancels_its_wait(void **state)
{
    (void)state;
    uint32_t sp, h;
    struct k_process *p = parent_and_child(&sp, &h, "block");
    struct k_process *child = k.procs;
    assert_int_equal(k_run(), 1);
    uint8_t *res;
    handle_submit(p, h, CAPOS_PROCESS_HANDLE_WAIT_METHOD_ID, 0xa4, &res);
    assert_int_equal(h_enter(p), 0);
    assert_non_null(p->pending);
    uint32_t objects = k.stats.objects_live;
    k_process_exit(p, 0);
    /* The spawner and the handle are gone; the child runs on, detached. */
    assert_int_equal(k.stats.objects_live, objects - 2);
    assert_int_equal(child->state, KP_ALIVE);
    assert_null(child->handle);
    assert_int_equal(k_run(), 1); /* k_shutdown ends it */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, sf_setup, sf_teardown)
        T(wait_before_exit_completes_when_the_child_exits),
        T(wait_after_exit_completes_at_once_and_again),
        T(a_second_concurrent_wait_is_refused),
        T(kill_ends_a_blocked_child_and_is_a_no_op_afterwards),
        T(the_handle_can_be_moved_but_never_copied),
        T(a_moved_handle_works_for_its_new_holder_alone),
        T(an_exited_child_is_freed_when_its_handle_is_released),
        T(a_released_handle_detaches_and_the_child_is_freed_at_exit),
        T(a_pending_wait_outlives_the_release_of_its_handle),
        T(a_waiter_that_exits_cancels_its_wait),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
