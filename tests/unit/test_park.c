/*
 * test_park.c - the private ParkSpace and the compact CAP_OP_PARK /
 * CAP_OP_UNPARK opcodes (docs/abi.md §14): FIFO wake, value mismatch,
 * timeouts on the virtual clock, address checks, wake counts, the wrong
 * cap, process exit with parked waiters, and two threads ping-ponging;
 * and the generic form, the ParkSpace.wait / wake CALL methods on the
 * same waiter queues (docs/abi.md §14.1), including bad input.
 */
#include <string.h>

#include "capos.capnp.h"
#include "harness.h"

/* A process "p" holding a ParkSpace (*ps). */
static struct k_process *park_proc(uint32_t *ps)
{
    struct k_process *p = h_proc("p", 0);
    assert_int_equal(parkspace_grant(p, ps), 0);
    return p;
}

/* PARK with a timeout (CapSqe.result_addr; 0: none). */
static CapSqe park_sqe(uint32_t cap, uint64_t addr, uint32_t expected,
                       uint64_t timeout_ns, uint64_t user_data)
{
    CapSqe s = h_park(cap, addr, expected, user_data);
    s.result_addr = timeout_ns;
    return s;
}

/* Submit n SQEs and cap_enter once; returns the CQEs ready. */
static int submit(struct k_process *p, const CapSqe *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        *h_sqe(p) = s[i];
    h_submit(p);
    return h_enter(p);
}

static void expect_cqe(struct k_process *p, uint64_t user_data, int32_t result)
{
    CapCqe c;
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, user_data);
    assert_int_equal(c.result, result);
}

static void no_cqe(struct k_process *p)
{
    CapCqe c;
    assert_false(h_cqe(p, &c));
}

static void the_interface_id_is_the_schemas(void **state)
{
    (void)state;
    assert_int_equal(K_IFACE_PARK_SPACE, CAPOS_PARK_SPACE_INTERFACE_ID);
    uint32_t ps;
    struct k_process *p = park_proc(&ps);
    assert_int_equal(k_capset_add(p, "parkSpace", ps), 0);
    assert_int_equal(p->capset->entries[0].interface_id,
                     CAPOS_PARK_SPACE_INTERFACE_ID);
    /* Methods past wake are refused with an exception. */
    uint8_t *res = h_alloc(p, 256);
    CapSqe s = h_call(ps, CAPOS_PARK_SPACE_WAKE_METHOD_ID + 1, 1);
    s.result_addr = h_va(p, res);
    s.result_len = 256;
    assert_int_equal(h_one(p, &s).result, CAP_ERR_APPLICATION_EXCEPTION);
}

/* Waiters of a word wake oldest first, each UNPARK reporting how many it
 * woke; a waiter of another word is not woken. */
static void unpark_wakes_waiters_in_fifo_order(void **state)
{
    (void)state;
    uint32_t ps;
    struct k_process *p = park_proc(&ps);
    uint32_t *w = h_alloc(p, 8);
    w[0] = 5;
    w[1] = 5;
    uint64_t a = h_va(p, &w[0]), b = h_va(p, &w[1]);
    CapSqe parks[] = {park_sqe(ps, a, 5, 0, 1), park_sqe(ps, b, 5, 0, 99),
                      park_sqe(ps, a, 5, 0, 2), park_sqe(ps, a, 5, 0, 3)};
    assert_int_equal(submit(p, parks, 4), 0);
    assert_int_equal(p->rs.cq_reserved, 4);

    CapSqe u = h_unpark(ps, a, 1, 10);
    assert_int_equal(submit(p, &u, 1), 2);
    expect_cqe(p, 1, CAP_PARK_WOKEN);
    expect_cqe(p, 10, 1);
    no_cqe(p);

    u = h_unpark(ps, a, 2, 11);
    assert_int_equal(submit(p, &u, 1), 3);
    expect_cqe(p, 2, CAP_PARK_WOKEN);
    expect_cqe(p, 3, CAP_PARK_WOKEN);
    expect_cqe(p, 11, 2);
    no_cqe(p);

    /* Nobody is left on a; b's waiter is still parked. */
    u = h_unpark(ps, a, 1, 12);
    assert_int_equal(submit(p, &u, 1), 1);
    expect_cqe(p, 12, 0);
    assert_int_equal(p->rs.cq_reserved, 1);
    u = h_unpark(ps, b, 1, 13);
    assert_int_equal(submit(p, &u, 1), 2);
    expect_cqe(p, 99, CAP_PARK_WOKEN);
    expect_cqe(p, 13, 1);
    assert_int_equal(p->rs.cq_reserved, 0);
}

/* The word is read at submission: a different value completes at once. */
static void a_value_mismatch_returns_at_once(void **state)
{
    (void)state;
    uint32_t ps;
    struct k_process *p = park_proc(&ps);
    uint32_t *w = h_alloc(p, 4);
    *w = 7;
    CapSqe s = park_sqe(ps, h_va(p, w), 8, 0, 4);
    CapCqe c = h_one(p, &s);
    assert_int_equal(c.user_data, 4);
    assert_int_equal(c.result, CAP_PARK_MISMATCH);
    assert_int_equal(p->rs.cq_reserved, 0);
    /* Expected values are compared as 32-bit words. */
    *w = 0xffffffffu;
    s = park_sqe(ps, h_va(p, w), 0xffffffffu, 0, 5);
    assert_int_equal(submit(p, &s, 1), 0);
    CapSqe u = h_unpark(ps, h_va(p, w), 1, 6);
    assert_int_equal(submit(p, &u, 1), 2);
    expect_cqe(p, 5, CAP_PARK_WOKEN);
    expect_cqe(p, 6, 1);
}

/* A timeout completes the wait with CAP_PARK_TIMED_OUT on the model clock
 * and takes the waiter off the queue. */
static void a_park_times_out_on_the_model_clock(void **state)
{
    (void)state;
    uint32_t ps;
    struct k_process *p = park_proc(&ps);
    uint32_t *w = h_alloc(p, 4);
    uint64_t a = h_va(p, w);
    CapSqe parks[] = {park_sqe(ps, a, 0, 2000, 2), park_sqe(ps, a, 0, 1000, 1),
                      park_sqe(ps, a, 0, 0, 3)};
    assert_int_equal(submit(p, parks, 3), 0);
    k_clock_advance(999);
    k_timer_fire_due();
    no_cqe(p);
    k_clock_advance(1);
    k_timer_fire_due();
    expect_cqe(p, 1, CAP_PARK_TIMED_OUT);
    no_cqe(p);
    k_clock_advance(1000);
    k_timer_fire_due();
    expect_cqe(p, 2, CAP_PARK_TIMED_OUT);
    /* Only the waiter without a timeout is left. */
    assert_int_equal(k_timer_next_deadline(), UINT64_MAX);
    CapSqe u = h_unpark(ps, a, UINT32_MAX, 9);
    assert_int_equal(submit(p, &u, 1), 2);
    expect_cqe(p, 3, CAP_PARK_WOKEN);
    expect_cqe(p, 9, 1);
    /* A timeout too far to represent means no timeout. */
    CapSqe far = park_sqe(ps, a, 0, UINT64_MAX, 4);
    assert_int_equal(submit(p, &far, 1), 0);
    assert_int_equal(k_timer_next_deadline(), UINT64_MAX);
    u = h_unpark(ps, a, 1, 10);
    assert_int_equal(submit(p, &u, 1), 2);
    expect_cqe(p, 4, CAP_PARK_WOKEN);
}

/* A blocked thread wakes from cap_enter when its park times out. */
static uint64_t woke_at;
static int32_t woke_result;

static void timed_parker(void *arg)
{
    uint32_t ps = (uint32_t)(uintptr_t)arg;
    struct k_process *p = k_current()->proc;
    uint32_t *w = h_alloc(p, 4);
    *h_sqe(p) = park_sqe(ps, h_va(p, w), 0, 3000000, 1);
    h_submit(p);
    if (k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE) == 1) {
        CapCqe c;
        woke_at = k_now();
        woke_result = h_cqe(p, &c) ? c.result : -100;
    }
}

static void a_blocked_parker_wakes_at_its_timeout(void **state)
{
    (void)state;
    uint32_t ps;
    struct k_process *p = park_proc(&ps);
    uint64_t t0 = k_now();
    woke_at = 0;
    assert_int_equal(
        k_thread_create(p, timed_parker, (void *)(uintptr_t)ps, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(woke_at - t0, 3000000);
    assert_int_equal(woke_result, CAP_PARK_TIMED_OUT);
}

/* Unaligned words, words outside the buffer area (below the arena, the
 * ring page, the CapSet page, past the arena) are refused by both opcodes,
 * and unused fields must be zero. */
static void bad_word_addresses_and_fields_are_refused(void **state)
{
    (void)state;
    uint32_t ps;
    struct k_process *p = park_proc(&ps);
    uint8_t *buf = h_alloc(p, 16);
    const uint64_t bad[] = {
        h_va(p, buf) + 2,
        h_va(p, buf) + 1,
        0,
        0x1000,
        CAPOS_RING_VADDR,
        CAPOS_RING_VADDR + offsetof(CapRing, hdr.sq_tail),
        CAPOS_CAPSET_VADDR,
        CAPOS_ARENA_VADDR + p->arena_size,
        CAPOS_ARENA_VADDR + p->arena_size - 2,
        UINT64_MAX - 3,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CapSqe s = park_sqe(ps, bad[i], 0, 0, i);
        assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_PARAMS_BUFFER);
        s = h_unpark(ps, bad[i], 1, i);
        assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_PARAMS_BUFFER);
    }
    /* The last word of the arena is a valid word. */
    CapSqe s = park_sqe(ps, CAPOS_ARENA_VADDR + p->arena_size - 4, 1, 0, 1);
    assert_int_equal(h_one(p, &s).result, CAP_PARK_MISMATCH);

    uint64_t a = h_va(p, buf);
    s = park_sqe(ps, a, 0, 0, 1);
    s.result_len = 4;
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_REQUEST);
    s = park_sqe(ps, a, 0, 0, 1);
    s.method_id = 1;
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_REQUEST);
    s = park_sqe(ps, a, 0, 0, 1);
    s.call_id = 1;
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_REQUEST);
    s = park_sqe(ps, a, 0, 0, 1);
    s.xfer_cap_count = 1;
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_REQUEST);
    s = park_sqe(ps, a, 0, 0, 1);
    s.flags = CAP_SQE_EXCEPTION;
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_REQUEST);
    s = h_unpark(ps, a, 1, 1);
    s.result_addr = 1000; /* UNPARK has no timeout */
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_REQUEST);
    assert_int_equal(p->rs.cq_reserved, 0);
    assert_int_equal(k_timer_next_deadline(), UINT64_MAX);
}

/* Count 0 wakes nobody; a huge count wakes every waiter of the word. */
static void wake_counts_zero_and_huge(void **state)
{
    (void)state;
    uint32_t ps;
    struct k_process *p = park_proc(&ps);
    uint32_t *w = h_alloc(p, 4);
    uint64_t a = h_va(p, w);
    CapSqe parks[] = {park_sqe(ps, a, 0, 0, 1), park_sqe(ps, a, 0, 0, 2),
                      park_sqe(ps, a, 0, 0, 3)};
    assert_int_equal(submit(p, parks, 3), 0);
    CapSqe u = h_unpark(ps, a, 0, 10);
    assert_int_equal(submit(p, &u, 1), 1);
    expect_cqe(p, 10, 0);
    assert_int_equal(p->rs.cq_reserved, 3);
    u = h_unpark(ps, a, UINT32_MAX, 11);
    assert_int_equal(submit(p, &u, 1), 4);
    expect_cqe(p, 1, CAP_PARK_WOKEN);
    expect_cqe(p, 2, CAP_PARK_WOKEN);
    expect_cqe(p, 3, CAP_PARK_WOKEN);
    expect_cqe(p, 11, 3);
    assert_int_equal(p->rs.cq_reserved, 0);
}

/* PARK and UNPARK need a ParkSpace: another cap, a stale id or no cap is
 * INVOKE_FAILED; a ParkSpace cannot be transferred. */
static void park_on_a_non_parkspace_cap_is_refused(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t nc, tc, ps;
    assert_int_equal(nullcap_grant(p, &nc), 0);
    assert_int_equal(timercap_grant(p, &tc), 0);
    assert_int_equal(parkspace_grant(p, &ps), 0);
    uint32_t *w = h_alloc(p, 4);
    uint64_t a = h_va(p, w);
    const uint32_t caps[] = {nc, tc, ps + (1u << CT_INDEX_BITS), 0};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        CapSqe s = park_sqe(caps[i], a, 0, 0, 1);
        assert_int_equal(h_one(p, &s).result, CAP_ERR_INVOKE_FAILED);
        s = h_unpark(caps[i], a, 1, 2);
        assert_int_equal(h_one(p, &s).result, CAP_ERR_INVOKE_FAILED);
    }
    assert_int_equal(p->rs.cq_reserved, 0);

    CapTransferDescriptor *d = h_alloc(p, sizeof *d);
    d->cap_id = ps;
    uint32_t ec;
    assert_int_equal(nullcap_grant(p, &ec), 0);
    CapSqe s = h_call(ec, 0, 3);
    s.addr = h_va(p, d);
    s.xfer_cap_count = 1;
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_TRANSFER);
}

/* Exit with parked waiters (with and without timeouts) leaves no waiter,
 * timer, reservation or object behind; releasing the cap while waiters are
 * parked keeps the space until the last waiter completes. */
static void exit_with_parked_waiters_leaves_nothing(void **state)
{
    (void)state;
    uint32_t objects0 = k.stats.objects_live;
    uint32_t ps;
    struct k_process *p = park_proc(&ps);
    uint32_t *w = h_alloc(p, 8);
    uint64_t a = h_va(p, &w[0]), b = h_va(p, &w[1]);
    CapSqe parks[] = {park_sqe(ps, a, 0, 5000, 1), park_sqe(ps, a, 0, 0, 2),
                      park_sqe(ps, b, 0, 7000, 3)};
    assert_int_equal(submit(p, parks, 3), 0);
    assert_int_equal(k.stats.objects_live, objects0 + 1);
    assert_int_not_equal(k_timer_next_deadline(), UINT64_MAX);
    k_process_exit(p, 0);
    assert_null(p->pending);
    assert_int_equal(k_timer_next_deadline(), UINT64_MAX);
    assert_int_equal(k.stats.objects_live, objects0);
    k_clock_advance(10000);
    assert_int_equal(k_timer_fire_due(), 0);

    struct k_process *q = h_proc("q", 0);
    assert_int_equal(parkspace_grant(q, &ps), 0);
    w = h_alloc(q, 4);
    CapSqe s[] = {park_sqe(ps, h_va(q, w), 0, 1000, 1), h_release(ps, 2)};
    assert_int_equal(submit(q, s, 2), 1);
    expect_cqe(q, 2, 0);
    assert_int_equal(h_live(q), 0);
    assert_int_equal(k.stats.objects_live, objects0 + 1); /* the waiter's */
    k_clock_advance(1000);
    k_timer_fire_due();
    expect_cqe(q, 1, CAP_PARK_TIMED_OUT);
    assert_int_equal(k.stats.objects_live, objects0);
}

/*
 * Two threads of one process take turns through a word (0: ping's turn,
 * 1: pong's), parking while it is the other's turn and unparking after
 * passing it on. The threads share the process's ring: each submits, then
 * sorts CQEs into a mailbox by user_data; a thread never drains the CQ
 * while the other is the cap_enter waiter (it could take the CQE that woke
 * it), it yields instead.
 */
#define PP_ROUNDS 6
#define PP_BOX 128

static struct {
    uint32_t cap;
    uint32_t *turn;
    uint64_t turn_va;
    char log[2 * PP_ROUNDS + 1];
    unsigned nlog;
    unsigned woken; /* parks that completed with CAP_PARK_WOKEN */
    uint64_t next_ud;
    CapCqe box[PP_BOX];
    bool have[PP_BOX];
} pp;

static int32_t pp_op(CapSqe s)
{
    struct k_process *p = k_current()->proc;
    uint64_t ud = ++pp.next_ud;
    assert_true(ud < PP_BOX);
    s.user_data = ud;
    *h_sqe(p) = s;
    h_submit(p);
    assert_true(k_sys_cap_enter(0, 0) >= 0);
    for (;;) {
        if (pp.have[ud])
            return pp.box[ud].result;
        if (p->rs.waiter) {
            k_sched_yield();
            continue;
        }
        CapCqe c;
        while (h_cqe(p, &c)) {
            assert_true(c.user_data < PP_BOX);
            pp.box[c.user_data] = c;
            pp.have[c.user_data] = true;
        }
        if (pp.have[ud])
            return pp.box[ud].result;
        assert_true(k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE) >= 0);
    }
}

static void pp_player(void *arg)
{
    uint32_t me = (uint32_t)(uintptr_t)arg;
    for (int i = 0; i < PP_ROUNDS; i++) {
        uint32_t v;
        while ((v = __atomic_load_n(pp.turn, __ATOMIC_ACQUIRE)) != me) {
            int32_t r = pp_op(park_sqe(pp.cap, pp.turn_va, v, 0, 0));
            assert_true(r == CAP_PARK_WOKEN || r == CAP_PARK_MISMATCH);
            if (r == CAP_PARK_WOKEN)
                pp.woken++;
        }
        pp.log[pp.nlog++] = me ? 'o' : 'i';
        __atomic_store_n(pp.turn, 1 - me, __ATOMIC_RELEASE);
        assert_true(pp_op(h_unpark(pp.cap, pp.turn_va, 1, 0)) >= 0);
    }
}

static void two_threads_ping_pong_through_park(void **state)
{
    (void)state;
    memset(&pp, 0, sizeof pp);
    struct k_process *p = h_proc("p", 0);
    assert_int_equal(parkspace_grant(p, &pp.cap), 0);
    pp.turn = h_alloc(p, 4);
    pp.turn_va = h_va(p, pp.turn);
    assert_int_equal(k_thread_create(p, pp_player, (void *)(uintptr_t)0, NULL),
                     0);
    assert_int_equal(k_thread_create(p, pp_player, (void *)(uintptr_t)1, NULL),
                     0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(pp.nlog, 2 * PP_ROUNDS);
    for (unsigned i = 0; i < pp.nlog; i++)
        assert_int_equal(pp.log[i], i % 2 ? 'o' : 'i');
    /* Threads really blocked: how often depends on when each runs (a
     * thread yielding on the busy ring may find its turn without parking),
     * but at least one wait per round after the first ended in a wake. */
    assert_true(pp.woken >= PP_ROUNDS - 1);
    assert_int_equal(p->rs.cq_reserved, 0);
}

/* ---- the generic form: ParkSpace.wait / ParkSpace.wake ---------------- */

/* A CALL of wait(addr, expected, timeout) with a 256-byte result buffer;
 * *res is where its result lands. */
static CapSqe wait_call(struct k_process *p, uint32_t ps, uint64_t addr,
                        uint32_t expected, uint64_t timeout_ns,
                        uint64_t user_data, uint8_t **res)
{
    capnp_builder b;
    capnp_struct_builder root;
    h_msg(p, &b, 64);
    assert_int_equal(capos_ParkSpace_wait_Params_init_root(&b, &root), 0);
    capos_ParkSpace_wait_Params_set_addr(&root, addr);
    capos_ParkSpace_wait_Params_set_expected(&root, expected);
    capos_ParkSpace_wait_Params_set_timeoutNs(&root, timeout_ns);
    return h_call_msg(p, ps, CAPOS_PARK_SPACE_WAIT_METHOD_ID, user_data, &b,
                      256, res);
}

static CapSqe wake_call(struct k_process *p, uint32_t ps, uint64_t addr,
                        uint32_t count, uint64_t user_data, uint8_t **res)
{
    capnp_builder b;
    capnp_struct_builder root;
    h_msg(p, &b, 64);
    assert_int_equal(capos_ParkSpace_wake_Params_init_root(&b, &root), 0);
    capos_ParkSpace_wake_Params_set_addr(&root, addr);
    capos_ParkSpace_wake_Params_set_count(&root, count);
    return h_call_msg(p, ps, CAPOS_PARK_SPACE_WAKE_METHOD_ID, user_data, &b,
                      256, res);
}

/* The u32 field 0 of a result message of len bytes (outcome / woken). */
static uint32_t result_u32(const uint8_t *res, int32_t len)
{
    assert_true(len > 0);
    capnp_message m;
    capnp_struct root = h_root(res, (size_t)len, &m);
    return capos_ParkSpace_wait_Results_get_outcome(&root);
}

/* Take the CQE of user_data from p's CQ (others are kept in order). */
static CapCqe take_cqe(struct k_process *p, uint64_t user_data)
{
    CapCqe all[CAP_CQ_ENTRIES], found = {0};
    unsigned n = 0;
    bool got = false;
    while (n < CAP_CQ_ENTRIES && h_cqe(p, &all[n]))
        n++;
    for (unsigned i = 0; i < n; i++) {
        if (!got && all[i].user_data == user_data) {
            found = all[i];
            got = true;
        }
    }
    assert_true(got);
    /* Put the rest back: rewind the head over them. */
    CapRingHeader *h = &p->ring->hdr;
    unsigned keep = 0;
    for (unsigned i = 0; i < n; i++)
        if (all[i].user_data != user_data || all[i].result != found.result)
            keep++;
    h->cq_head -= keep;
    for (unsigned i = 0, j = 0; i < n; i++)
        if (all[i].user_data != user_data || all[i].result != found.result)
            p->ring->cq[(h->cq_head + j++) & (CAP_CQ_ENTRIES - 1)] = all[i];
    return found;
}

/* wait parks until wake, which reports how many it woke; both results
 * are messages; a differing word and a timeout report their outcomes. */
static void generic_wait_and_wake(void **state)
{
    (void)state;
    uint32_t ps;
    struct k_process *p = park_proc(&ps);
    uint32_t *w = h_alloc(p, 4);
    *w = 5;
    uint64_t a = h_va(p, w);
    uint8_t *r1, *r2, *r3, *r4;
    CapSqe s = wait_call(p, ps, a, 5, 0, 1, &r1);
    assert_int_equal(submit(p, &s, 1), 0);
    assert_int_equal(p->rs.cq_reserved, 1);
    s = wait_call(p, ps, a, 6, 0, 2, &r2);
    CapCqe c = h_one(p, &s);
    assert_int_equal(result_u32(r2, c.result), CAP_PARK_MISMATCH);
    s = wake_call(p, ps, a, 1, 3, &r3);
    assert_int_equal(submit(p, &s, 1), 2);
    c = take_cqe(p, 1);
    assert_int_equal(result_u32(r1, c.result), CAP_PARK_WOKEN);
    c = take_cqe(p, 3);
    assert_int_equal(result_u32(r3, c.result), 1);
    no_cqe(p);
    /* A timeout on the model clock. */
    s = wait_call(p, ps, a, 5, 1000, 4, &r4);
    assert_int_equal(submit(p, &s, 1), 0);
    k_clock_advance(1000);
    k_timer_fire_due();
    assert_int_equal(h_enter(p), 1);
    c = take_cqe(p, 4);
    assert_int_equal(result_u32(r4, c.result), CAP_PARK_TIMED_OUT);
    assert_int_equal(p->rs.cq_reserved, 0);
}

/* Both forms share the queue: a compact UNPARK wakes a generic waiter
 * and a generic wake a compact one, FIFO, each completing in its own
 * form; a huge count wakes everyone there is. */
static void the_two_forms_share_one_queue(void **state)
{
    (void)state;
    uint32_t ps;
    struct k_process *p = park_proc(&ps);
    uint32_t *w = h_alloc(p, 4);
    uint64_t a = h_va(p, w);
    uint8_t *r1, *r3, *r4, *r5, *rw;
    CapSqe q[] = {wait_call(p, ps, a, 0, 0, 1, &r1), park_sqe(ps, a, 0, 0, 2),
                  wait_call(p, ps, a, 0, 0, 3, &r3),
                  wait_call(p, ps, a, 0, 0, 4, &r4),
                  wait_call(p, ps, a, 0, 0, 5, &r5)};
    assert_int_equal(submit(p, q, 5), 0);
    CapSqe u = h_unpark(ps, a, 1, 10);
    assert_int_equal(submit(p, &u, 1), 2);
    CapCqe c = take_cqe(p, 1);
    assert_int_equal(result_u32(r1, c.result), CAP_PARK_WOKEN);
    expect_cqe(p, 10, 1);
    CapSqe g = wake_call(p, ps, a, 1, 11, &rw);
    assert_int_equal(submit(p, &g, 1), 2);
    expect_cqe(p, 2, CAP_PARK_WOKEN);
    c = take_cqe(p, 11);
    assert_int_equal(result_u32(rw, c.result), 1);
    g = wake_call(p, ps, a, UINT32_MAX, 12, &rw);
    assert_int_equal(submit(p, &g, 1), 4);
    assert_int_equal(result_u32(r3, take_cqe(p, 3).result), CAP_PARK_WOKEN);
    assert_int_equal(result_u32(r4, take_cqe(p, 4).result), CAP_PARK_WOKEN);
    assert_int_equal(result_u32(r5, take_cqe(p, 5).result), CAP_PARK_WOKEN);
    assert_int_equal(result_u32(rw, take_cqe(p, 12).result), 3);
    no_cqe(p);
    assert_int_equal(p->rs.cq_reserved, 0);
}

static bool has_text(const uint8_t *buf, size_t len, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(buf + i, text, n) == 0)
            return true;
    return false;
}

/* Unaligned and foreign words get an invalidArgument exception naming the
 * problem and queue nothing; a result buffer too small for wait's result,
 * params that are not a message and an unknown method are refused. */
static void generic_form_refuses_bad_input(void **state)
{
    (void)state;
    uint32_t ps;
    struct k_process *p = park_proc(&ps);
    uint32_t *w = h_alloc(p, 8);
    uint64_t a = h_va(p, w);
    uint64_t bad[] = {a + 1,
                      a + 2,
                      0,
                      CAPOS_RING_VADDR,
                      CAPOS_CAPSET_VADDR,
                      CAPOS_ARENA_VADDR + p->arena_size,
                      CAPOS_ARENA_VADDR + p->arena_size - 2,
                      UINT64_MAX - 3};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *res;
        CapSqe s = wait_call(p, ps, bad[i], 0, 0, i, &res);
        CapCqe c = h_one(p, &s);
        assert_int_equal(c.result, CAP_ERR_APPLICATION_EXCEPTION);
        assert_true(has_text(res, 256, "4-byte"));
        s = wake_call(p, ps, bad[i], UINT32_MAX, i, &res);
        c = h_one(p, &s);
        assert_int_equal(c.result, CAP_ERR_APPLICATION_EXCEPTION);
        assert_true(has_text(res, 256, "4-byte"));
    }
    uint8_t *res;
    CapSqe s = wait_call(p, ps, a, 0, 0, 20, &res);
    s.result_len = 4;
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_RESULT_BUFFER);
    s = wait_call(p, ps, a, 0, 0, 21, &res);
    memset(k_user_ptr(p, s.addr, s.len), 0xff, s.len);
    assert_true(h_one(p, &s).result < 0);
    s = h_call(ps, 7, 22);
    s.result_addr = h_va(p, res);
    s.result_len = 256;
    assert_int_equal(h_one(p, &s).result, CAP_ERR_APPLICATION_EXCEPTION);
    assert_true(has_text(res, 256,
                         "ParkSpace has no such method (0 wait, "
                         "1 wake)"));
    assert_int_equal(p->rs.cq_reserved, 0);
    assert_int_equal(k_timer_next_deadline(), UINT64_MAX);
    /* Nothing was queued: a wake of everything wakes nobody. */
    s = wake_call(p, ps, a, UINT32_MAX, 23, &res);
    CapCqe c = h_one(p, &s);
    assert_int_equal(result_u32(res, c.result), 0);
}

/* A generic waiter is cancelled with its process like a compact one. */
static void exit_with_generic_waiters_leaves_nothing(void **state)
{
    (void)state;
    uint32_t ps;
    struct k_process *p = park_proc(&ps);
    uint32_t *w = h_alloc(p, 4);
    uint8_t *r1, *r2;
    CapSqe q[] = {wait_call(p, ps, h_va(p, w), 0, 5000, 1, &r1),
                  wait_call(p, ps, h_va(p, w), 0, 0, 2, &r2)};
    assert_int_equal(submit(p, q, 2), 0);
    k_process_exit(p, 0);
    assert_int_equal(k_timer_next_deadline(), UINT64_MAX);
    assert_int_equal(k_process_check(p), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_interface_id_is_the_schemas,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(unpark_wakes_waiters_in_fifo_order,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(a_value_mismatch_returns_at_once,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(a_park_times_out_on_the_model_clock,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(a_blocked_parker_wakes_at_its_timeout,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            bad_word_addresses_and_fields_are_refused, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(wake_counts_zero_and_huge, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(park_on_a_non_parkspace_cap_is_refused,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(exit_with_parked_waiters_leaves_nothing,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(generic_wait_and_wake, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(the_two_forms_share_one_queue, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(generic_form_refuses_bad_input, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(
            exit_with_generic_waiters_leaves_nothing, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(two_threads_ping_pong_through_park,
                                        h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
