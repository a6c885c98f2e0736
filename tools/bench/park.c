/*
 * tools/bench/park.c - capos-bench figures: park_uncontended, park_pingpong,
 * park_pingpong_rings and park_pingpong_generic: ParkSpace through the process
 * ring.
 */
#define _GNU_SOURCE

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "capos/capnp.h"
#include "model.h"

static int park_unc_step(void *ctx, uint64_t i, const char **where)
{
    struct ring_job *rj = ctx;
    struct user_ring *u = &rj->u;
    bool park = i & 1;
    const CapCqe *c;
    int rc = ur_enter1(u,
                       (CapSqe){.opcode = park ? CAP_OP_PARK : CAP_OP_UNPARK,
                                .cap_id = rj->j->cap,
                                .user_data = i,
                                .addr = rj->va,
                                .len = 1},
                       &c);

    if (rc != 0) {
        *where = park ? "k_sys_cap_enter(PARK)" : "k_sys_cap_enter(UNPARK)";
        return rc;
    }
    if (c->user_data != i || c->result != (park ? CAP_PARK_MISMATCH : 0)) {
        *where = park ? "PARK completion" : "UNPARK completion";
        return c->result < 0 ? c->result : BENCH_E_USER_DATA;
    }
    ur_cq_release(u);
    return 0;
}

/* Thread: alternately an UNPARK of a word nobody waits on (wakes 0) and a
 * PARK whose expected value differs from the word (CAP_PARK_MISMATCH),
 * one SQE per cap_enter(1); ns per op. */
static void park_unc_thread(void *arg)
{
    struct ring_job rj = {.j = arg};
    struct model_job *j = rj.j;
    uint32_t *word = job_heap(j, 0, sizeof *word, &rj.va);

    if (word == NULL)
        return;
    *word = 0;
    j->done = ring_job_run(&rj, j->ops, 1, park_unc_step);
}

int fig_park_uncontended(uint64_t ops, unsigned reps, double *samples)
{
    return one_cap_figure("park_uncontended", "bench-park", parkspace_grant,
                          "parkspace_grant", park_unc_thread, ops, reps,
                          samples);
}

/*
 * park_pingpong: two threads of one process take turns through a word of
 * its heap (0: player 0's turn, 1: player 1's). A player whose turn it is
 * stores the other's number and submits, in one cap_enter, UNPARK(word, 1)
 * and PARK(word, expected = the other's number); then it waits for that
 * PARK's CQE, which an UNPARK by the other player completes.
 *
 * The threads share the ring, its user indices and the CQ. Only one thread
 * of a process may wait in cap_enter (CAP_ERR_RING_BUSY), so, as a runtime
 * would, the players keep a user-side "a thread waits in cap_enter" flag
 * and a mailbox of CQEs keyed by user_data: a player whose CQE has not come
 * yields while the other waits in cap_enter (the waiter drains the CQ for
 * both); otherwise it drains the CQ itself and, if its CQE is still
 * missing, waits in cap_enter(1).
 */
#define PP_TAG_UNPARK 0u
#define PP_TAG_PARK 1u

/* A ping-pong pass: hand the turn to the other player and, with wait,
 * block until it comes back. 0 or an error; *where names the step. */
typedef int (*pp_pass_fn)(uint32_t me, bool wait, const char **where);

static int pp_step(void *ctx, uint64_t i, const char **where)
{
    const pp_pass_fn *pass = ctx;

    (void)i;
    return (*pass)(0, true, where);
}

/* Player 0: the timed round trips (word 0 -> 1 -> 0), then *stop and a
 * last pass without waiting, which lets player 1 see it. */
JOB_INLINE void pp_player0(struct model_job *j, pp_pass_fn pass, bool *stop)
{
    const char *where = "";
    int rc = job_time(j, j->ops, 1, pp_step, &pass, &where);

    *stop = true;
    if (rc != 0) {
        job_fail(j, where, rc);
        (void)pass(0, false, &where);
        return;
    }
    rc = pass(0, false, &where);
    if (rc != 0) {
        job_fail(j, where, rc);
        return;
    }
    j->done = true;
}

/*
 * The players' process (after model_up): a ParkSpace cap in *cap and the
 * turn word (0: player 0's turn) at heap offset 0. NULL, printed, on
 * failure; the caller shuts the kernel down.
 */
static struct k_process *pp_process(const char *figure, uint32_t *cap,
                                    uint32_t **word, uint64_t *word_va)
{
    struct k_process *p = model_process(figure, "bench-park");

    if (p == NULL ||
        !model_ok(figure, "parkspace_grant", parkspace_grant(p, cap)))
        return NULL;
    *word = user_heap(p, 0, sizeof **word, word_va);
    if (*word == NULL) {
        printf("%s failed: heap word outside the process arena\n", figure);
        return NULL;
    }
    **word = 0;
    return p;
}

/* A ping-pong figure's result: model_run's rc, after saying on stderr when
 * fewer than all n timed waits (what) blocked until the other player woke
 * them (woken of them did). */
static int pp_result(const char *figure, int rc, uint64_t woken, uint64_t n,
                     const char *what)
{
    if (rc == BENCH_OK && woken < n)
        fprintf(stderr, "capos-bench: %s: %llu of %llu %s blocked\n", figure,
                (unsigned long long)woken, (unsigned long long)n, what);
    return rc;
}

/* Player 1, once it has its first turn: pass it back until stopped. */
static void pp_player1_turns(struct model_job *j, pp_pass_fn pass,
                             const bool *stop, const char *where)
{
    while (!*stop) {
        int rc = pass(1, true, &where);

        if (rc != 0) {
            job_fail(j, where, rc);
            return;
        }
    }
    j->done = true;
}

static struct {
    struct user_ring u; /* shared by both players */
    uint32_t cap;
    uint32_t *word;
    uint64_t word_va;
    bool ring_waiting; /* a player is inside cap_enter(1) */
    bool stop;
    bool have[4];
    int32_t box[4]; /* CQE results by user_data = player * 2 + tag */
    uint64_t parks, woken;
} ppb;

/* Wait for the CQE with user_data ud; its result or a negative error. */
static int32_t ppb_wait(uint64_t ud)
{
    for (;;) {
        uint32_t tail;
        int rc;

        if (ppb.have[ud]) {
            ppb.have[ud] = false;
            return ppb.box[ud];
        }
        if (ppb.ring_waiting) {
            k_sched_yield();
            continue;
        }
        tail = ur_cq_tail(&ppb.u);
        for (; ppb.u.cq_head != tail; ppb.u.cq_head++) {
            const CapCqe *c =
                &ppb.u.ring->cq[ppb.u.cq_head & (CAP_CQ_ENTRIES - 1)];

            if (c->user_data >= 4)
                return BENCH_E_USER_DATA;
            ppb.box[c->user_data] = c->result;
            ppb.have[c->user_data] = true;
        }
        ur_cq_release(&ppb.u);
        if (ppb.have[ud])
            continue;
        ppb.ring_waiting = true;
        rc = k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE);
        ppb.ring_waiting = false;
        if (rc < 0)
            return rc;
    }
}

/* Pass the turn to the other player; with park, also wait until it comes
 * back. 0 or an error; *where names the failing step. */
static int ppb_pass(uint32_t me, bool park, const char **where)
{
    uint32_t other = 1 - me;
    int32_t r;
    int rc;

    __atomic_store_n(ppb.word, other, __ATOMIC_RELEASE);
    ur_push(&ppb.u, (CapSqe){.opcode = CAP_OP_UNPARK,
                             .cap_id = ppb.cap,
                             .user_data = me * 2 + PP_TAG_UNPARK,
                             .addr = ppb.word_va,
                             .len = 1});
    if (park)
        ur_push(&ppb.u, (CapSqe){.opcode = CAP_OP_PARK,
                                 .cap_id = ppb.cap,
                                 .user_data = me * 2 + PP_TAG_PARK,
                                 .addr = ppb.word_va,
                                 .len = other});
    ur_publish(&ppb.u);
    rc = k_sys_cap_enter(0, 0); /* submit only */
    if (rc < 0) {
        *where = "k_sys_cap_enter(UNPARK+PARK)";
        return rc;
    }
    r = ppb_wait(me * 2 + PP_TAG_UNPARK);
    if (r < 0) {
        *where = "UNPARK completion";
        return r;
    }
    /* Wait until the word says it is my turn again. */
    while (park && __atomic_load_n(ppb.word, __ATOMIC_ACQUIRE) != me) {
        r = ppb_wait(me * 2 + PP_TAG_PARK);
        ppb.parks++;
        if (r == CAP_PARK_WOKEN)
            ppb.woken++;
        else if (r != CAP_PARK_MISMATCH) {
            *where = "PARK completion";
            return r < 0 ? r : BENCH_E_USER_DATA;
        }
        if (__atomic_load_n(ppb.word, __ATOMIC_ACQUIRE) == me)
            break;
        /* Woken or mismatched before my turn: park again. */
        ur_push(&ppb.u, (CapSqe){.opcode = CAP_OP_PARK,
                                 .cap_id = ppb.cap,
                                 .user_data = me * 2 + PP_TAG_PARK,
                                 .addr = ppb.word_va,
                                 .len = other});
        ur_publish(&ppb.u);
        rc = k_sys_cap_enter(0, 0);
        if (rc < 0) {
            *where = "k_sys_cap_enter(PARK)";
            return rc;
        }
    }
    return 0;
}

static void ppb_player0(void *arg)
{
    pp_player0(arg, ppb_pass, &ppb.stop);
}

/* Player 1: wait for its first turn, then pass it back until stopped. */
static void ppb_player1(void *arg)
{
    struct model_job *j = arg;
    const char *where = "PARK completion";
    int32_t r;

    while (__atomic_load_n(ppb.word, __ATOMIC_ACQUIRE) != 1) {
        ur_push(&ppb.u, (CapSqe){.opcode = CAP_OP_PARK,
                                 .cap_id = ppb.cap,
                                 .user_data = 2 + PP_TAG_PARK,
                                 .addr = ppb.word_va,
                                 .len = 0});
        ur_publish(&ppb.u);
        r = k_sys_cap_enter(0, 0);
        if (r >= 0)
            r = ppb_wait(2 + PP_TAG_PARK);
        if (r < 0) {
            job_fail(j, where, r);
            return;
        }
    }
    pp_player1_turns(j, ppb_pass, &ppb.stop, where);
}

int fig_park_pingpong(uint64_t ops, unsigned reps, double *samples)
{
    const char *figure = "park_pingpong";
    struct model_job jobs[2] = {
        {.ops = ops, .reps = reps, .samples = samples}, /* player 0 */
        {.reps = 0},                                    /* player 1 */
    };
    struct k_process *p;

    memset(&ppb, 0, sizeof ppb);
    if (!model_up(figure))
        return BENCH_FAIL;
    p = pp_process(figure, &ppb.cap, &ppb.word, &ppb.word_va);
    if (p == NULL)
        goto fail;
    ur_open(&ppb.u, p);
    jobs[0].proc = jobs[1].proc = p;
    /* Player 1 first: it parks before player 0's first pass. */
    if (!model_thread(figure, p, ppb_player1, &jobs[1]) ||
        !model_thread(figure, p, ppb_player0, &jobs[0]))
        goto fail;
    /* Every timed PARK should have blocked and been woken. */
    return pp_result(figure, model_run(figure, jobs, 2), ppb.woken, ppb.parks,
                     "PARKs");
fail:
    k_shutdown();
    return BENCH_FAIL;
}

/*
 * The same ping-pong with each player on its own ring (docs/abi.md §16):
 * a pass is store + wake + wait submitted in one cap_enter(2), which
 * returns when the wait completes (the other player woke it). No shared
 * CQ, no mailbox, no yielding. Compact form: UNPARK + PARK opcodes;
 * generic form: ParkSpace.wake + ParkSpace.wait CALLs with prebuilt
 * params, the wait's result message decoded.
 */
#define PPR_TAG_WAKE 0u
#define PPR_TAG_WAIT 1u

struct ppr_player {
    struct user_ring u;
    uint64_t wake_va, wait_va, res_va; /* generic: params, result */
    uint32_t wake_len, wait_len;
    const uint8_t *res;
};

static struct {
    uint32_t cap;
    bool generic;
    uint32_t *word;
    uint64_t word_va;
    bool stop;
    struct ppr_player pl[2];
    uint64_t waits, woken;
} ppr;

static void ppr_push_wake(struct ppr_player *pl)
{
    if (ppr.generic)
        ur_push(&pl->u, (CapSqe){.opcode = CAP_OP_CALL,
                                 .cap_id = ppr.cap,
                                 .method_id = CAPOS_PARK_SPACE_WAKE_METHOD_ID,
                                 .user_data = PPR_TAG_WAKE,
                                 .addr = pl->wake_va,
                                 .len = pl->wake_len,
                                 .result_addr = pl->res_va,
                                 .result_len = 64});
    else
        ur_push(&pl->u, (CapSqe){.opcode = CAP_OP_UNPARK,
                                 .cap_id = ppr.cap,
                                 .user_data = PPR_TAG_WAKE,
                                 .addr = ppr.word_va,
                                 .len = 1});
}

static void ppr_push_wait(struct ppr_player *pl, uint32_t other)
{
    if (ppr.generic)
        ur_push(&pl->u, (CapSqe){.opcode = CAP_OP_CALL,
                                 .cap_id = ppr.cap,
                                 .method_id = CAPOS_PARK_SPACE_WAIT_METHOD_ID,
                                 .user_data = PPR_TAG_WAIT,
                                 .addr = pl->wait_va,
                                 .len = pl->wait_len,
                                 .result_addr = pl->res_va + 64,
                                 .result_len = 64});
    else
        ur_push(&pl->u, (CapSqe){.opcode = CAP_OP_PARK,
                                 .cap_id = ppr.cap,
                                 .user_data = PPR_TAG_WAIT,
                                 .addr = ppr.word_va,
                                 .len = other});
}

/* The outcome of a completed wait (CAP_PARK_*), or a negative error. */
static int32_t ppr_outcome(struct ppr_player *pl, const CapCqe *c)
{
    capnp_message m;
    capnp_struct root;

    if (!ppr.generic || c->result < 0)
        return c->result;
    if (capnp_msg_init(&m, pl->res + 64, (size_t)c->result, NULL) != 0 ||
        capnp_msg_root(&m, &root) != 0)
        return BENCH_E_USER_DATA;
    return (int32_t)capos_ParkSpace_wait_Results_get_outcome(&root);
}

/* Pop n CQEs; the wait's outcome in *wait (-1000 when none came). */
static int ppr_reap(struct ppr_player *pl, unsigned n, int32_t *wait)
{
    uint32_t tail = ur_cq_tail(&pl->u);

    if (tail - pl->u.cq_head < n)
        return BENCH_E_SHORT;
    for (; pl->u.cq_head != tail; pl->u.cq_head++) {
        const CapCqe *c = &pl->u.ring->cq[pl->u.cq_head & (CAP_CQ_ENTRIES - 1)];

        if (c->user_data == PPR_TAG_WAIT)
            *wait = ppr_outcome(pl, c);
        else if (c->user_data != PPR_TAG_WAKE || c->result < 0)
            return c->result < 0 ? c->result : BENCH_E_USER_DATA;
    }
    ur_cq_release(&pl->u);
    return 0;
}

/* Pass the turn; with wait, block until it comes back. */
static int ppr_pass(uint32_t me, bool wait, const char **where)
{
    struct ppr_player *pl = &ppr.pl[me];
    uint32_t other = 1 - me;
    int32_t w = -1000;
    int rc;

    __atomic_store_n(ppr.word, other, __ATOMIC_RELEASE);
    ppr_push_wake(pl);
    if (wait)
        ppr_push_wait(pl, other);
    ur_publish(&pl->u);
    rc = k_sys_cap_enter(wait ? 2 : 1, CAP_TIMEOUT_INFINITE);
    if (rc >= 0)
        rc = ppr_reap(pl, wait ? 2 : 1, &w);
    if (rc < 0) {
        *where = "k_sys_cap_enter(wake+wait)";
        return rc;
    }
    while (wait) {
        ppr.waits++;
        if (w == CAP_PARK_WOKEN)
            ppr.woken++;
        else if (w != CAP_PARK_MISMATCH) {
            *where = "wait completion";
            return w < 0 ? w : BENCH_E_USER_DATA;
        }
        if (__atomic_load_n(ppr.word, __ATOMIC_ACQUIRE) == me)
            break;
        ppr_push_wait(pl, other);
        ur_publish(&pl->u);
        rc = k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE);
        if (rc >= 0)
            rc = ppr_reap(pl, 1, &w);
        if (rc < 0) {
            *where = "k_sys_cap_enter(wait)";
            return rc;
        }
    }
    return 0;
}

static void ppr_player0(void *arg)
{
    pp_player0(arg, ppr_pass, &ppr.stop);
}

static void ppr_player1(void *arg)
{
    struct model_job *j = arg;
    struct ppr_player *pl = &ppr.pl[1];
    const char *where = "first wait";
    int32_t w = -1000;
    int rc;

    while (__atomic_load_n(ppr.word, __ATOMIC_ACQUIRE) != 1) {
        ppr_push_wait(pl, 0);
        ur_publish(&pl->u);
        rc = k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE);
        if (rc >= 0)
            rc = ppr_reap(pl, 1, &w);
        if (rc < 0 || w < 0) {
            job_fail(j, where, rc < 0 ? rc : w);
            return;
        }
    }
    pp_player1_turns(j, ppr_pass, &ppr.stop, where);
}

/* Build a one-word-data message of ParkSpace params at heap offset off:
 * wake(addr, 1) or wait(addr, expected, 0). Returns its length or 0. */
static uint32_t ppr_params(struct k_process *p, uint64_t off, bool wake,
                           uint32_t expected, uint64_t *va)
{
    uint8_t *buf = user_heap(p, off, 64, va);
    capnp_builder b;
    capnp_struct_builder root;
    size_t len = 0;

    if (buf == NULL)
        return 0;
    capnp_builder_init(&b, buf, 64);
    if (wake) {
        if (capos_ParkSpace_wake_Params_init_root(&b, &root) != 0)
            return 0;
        capos_ParkSpace_wake_Params_set_addr(&root, ppr.word_va);
        capos_ParkSpace_wake_Params_set_count(&root, 1);
    } else {
        if (capos_ParkSpace_wait_Params_init_root(&b, &root) != 0)
            return 0;
        capos_ParkSpace_wait_Params_set_addr(&root, ppr.word_va);
        capos_ParkSpace_wait_Params_set_expected(&root, expected);
    }
    if (capnp_finish(&b, &len) != 0)
        return 0;
    return (uint32_t)len;
}

static int park_pingpong_rings(const char *figure, bool generic, uint64_t ops,
                               unsigned reps, double *samples)
{
    struct model_job jobs[2] = {
        {.ops = ops, .reps = reps, .samples = samples}, /* player 0 */
        {.reps = 0},                                    /* player 1 */
    };
    struct k_thread *t[2];
    struct k_process *p;

    memset(&ppr, 0, sizeof ppr);
    ppr.generic = generic;
    if (!model_up(figure))
        return BENCH_FAIL;
    p = pp_process(figure, &ppr.cap, &ppr.word, &ppr.word_va);
    if (p == NULL)
        goto fail;
    jobs[0].proc = jobs[1].proc = p;
    /* Player 1 first: it waits before player 0's first pass. */
    if (k_thread_create(p, ppr_player1, &jobs[1], &t[1]) != 0 ||
        k_thread_create(p, ppr_player0, &jobs[0], &t[0]) != 0) {
        printf("%s failed: k_thread_create\n", figure);
        goto fail;
    }
    for (uint32_t i = 0; i < 2; i++) {
        struct ppr_player *pl = &ppr.pl[i];
        uint64_t ring_va;
        /* Heap pages 1 and 2 are the rings; params and results after. */
        if (user_heap(p, (i + 1) * CAPOS_PAGE_SIZE, CAPOS_PAGE_SIZE,
                      &ring_va) == NULL)
            goto fail_heap;
        if (!model_ok(figure, "k_thread_attach_ring",
                      k_thread_attach_ring(t[i], ring_va)))
            goto fail;
        pl->u.ring = t[i]->ring.page;
        pl->wake_len =
            ppr_params(p, 3 * CAPOS_PAGE_SIZE + i * 256, true, 0, &pl->wake_va);
        pl->wait_len = ppr_params(p, 3 * CAPOS_PAGE_SIZE + i * 256 + 64, false,
                                  1 - i, &pl->wait_va);
        pl->res =
            user_heap(p, 3 * CAPOS_PAGE_SIZE + i * 256 + 128, 128, &pl->res_va);
        if (!pl->wake_len || !pl->wait_len || pl->res == NULL)
            goto fail_heap;
    }
    return pp_result(figure, model_run(figure, jobs, 2), ppr.woken, ppr.waits,
                     "waits");
fail_heap:
    printf("%s failed: heap buffer outside the process arena\n", figure);
fail:
    k_shutdown();
    return BENCH_FAIL;
}

int fig_park_pingpong_rings(uint64_t ops, unsigned reps, double *samples)
{
    return park_pingpong_rings("park_pingpong_rings", false, ops, reps,
                               samples);
}

int fig_park_pingpong_generic(uint64_t ops, unsigned reps, double *samples)
{
    return park_pingpong_rings("park_pingpong_generic", true, ops, reps,
                               samples);
}
