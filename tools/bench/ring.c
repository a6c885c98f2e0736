/*
 * tools/bench/ring.c - capos-bench figures: ring_nop_batch1, ring_nop_batch16
 * and nullcap_call: the ring itself and the cheapest CALL.
 */
#define _GNU_SOURCE

#include <stdint.h>

#include "model.h"

/* Step: j->batch NOPs in one cap_enter(batch). */
static int nop_step(void *ctx, uint64_t i, const char **where)
{
    struct ring_job *rj = ctx;
    struct user_ring *u = &rj->u;
    unsigned batch = rj->j->batch;
    uint32_t tail;
    int rc;

    (void)i;
    for (unsigned b = 0; b < batch; b++) {
        ur_push(u, (CapSqe){.opcode = CAP_OP_NOP, .user_data = b});
    }
    ur_publish(u);
    rc = k_sys_cap_enter(batch, CAP_TIMEOUT_INFINITE);
    if (rc < (int)batch) {
        *where = "k_sys_cap_enter(NOP batch)";
        return rc < 0 ? rc : BENCH_E_SHORT;
    }
    tail = ur_cq_tail(u);
    for (; u->cq_head != tail; u->cq_head++) {
        const CapCqe *c = &u->ring->cq[u->cq_head & (CAP_CQ_ENTRIES - 1)];

        if (c->result != 0) {
            *where = "NOP completion";
            return c->result;
        }
    }
    ur_cq_release(u);
    return 0;
}

/* Thread: j->batch NOPs per cap_enter(batch); ns per NOP. */
static void nop_thread(void *arg)
{
    struct ring_job rj = {.j = arg};
    uint64_t rounds = (rj.j->ops + rj.j->batch - 1) / rj.j->batch;

    rj.j->done = ring_job_run(&rj, rounds, rj.j->batch, nop_step);
}

static int ring_nop(const char *figure, unsigned batch, uint64_t ops,
                    unsigned reps, double *samples)
{
    struct model_job j = {
        .ops = ops, .reps = reps, .samples = samples, .batch = batch};

    if (!model_up(figure))
        return BENCH_FAIL;
    j.proc = model_process(figure, "bench-nop");
    if (j.proc == NULL || !model_thread(figure, j.proc, nop_thread, &j)) {
        k_shutdown();
        return BENCH_FAIL;
    }
    return model_run(figure, &j, 1);
}

int fig_ring_nop_batch1(uint64_t ops, unsigned reps, double *samples)
{
    return ring_nop("ring_nop_batch1", 1, ops, reps, samples);
}

int fig_ring_nop_batch16(uint64_t ops, unsigned reps, double *samples)
{
    return ring_nop("ring_nop_batch16", CAP_SQ_ENTRIES, ops, reps, samples);
}

static int nullcap_step(void *ctx, uint64_t i, const char **where)
{
    struct ring_job *rj = ctx;
    struct user_ring *u = &rj->u;
    const CapCqe *c;
    int rc = ur_enter1(u,
                       (CapSqe){.opcode = CAP_OP_CALL,
                                .cap_id = rj->j->cap,
                                .method_id = 0,
                                .user_data = i},
                       &c);

    if (rc != 0) {
        *where = "k_sys_cap_enter(CALL)";
        return rc;
    }
    if (c->result < 0 || c->user_data != i) {
        *where = "NullCap CALL completion";
        return c->result < 0 ? c->result : BENCH_E_USER_DATA;
    }
    ur_cq_release(u);
    return 0;
}

/* Thread: CALL NullCap method 0 (no params, no result), one per
 * cap_enter(1); ns per call. */
static void nullcap_thread(void *arg)
{
    struct ring_job rj = {.j = arg};

    rj.j->done = ring_job_run(&rj, rj.j->ops, 1, nullcap_step);
}

int one_cap_figure(const char *figure, const char *proc_name,
                   int (*grant)(struct k_process *, uint32_t *),
                   const char *grant_name, void (*thread)(void *), uint64_t ops,
                   unsigned reps, double *samples)
{
    struct model_job j = {.ops = ops, .reps = reps, .samples = samples};

    if (!model_up(figure))
        return BENCH_FAIL;
    j.proc = model_process(figure, proc_name);
    if (j.proc == NULL || !model_ok(figure, grant_name, grant(j.proc, &j.cap)))
        goto fail;
    if (!model_thread(figure, j.proc, thread, &j))
        goto fail;
    return model_run(figure, &j, 1);
fail:
    k_shutdown();
    return BENCH_FAIL;
}

int fig_nullcap_call(uint64_t ops, unsigned reps, double *samples)
{
    return one_cap_figure("nullcap_call", "bench-nullcap", nullcap_grant,
                          "nullcap_grant", nullcap_thread, ops, reps, samples);
}
