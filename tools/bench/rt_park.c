/*
 * tools/bench/rt_park.c - capos-bench figures: rt_park_pingpong_bridge,
 * rt_park_pingpong_rings: ParkSpace through the capos_rt runtime.
 */
#define _GNU_SOURCE

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "capos_rt.h"
#include "model.h"

/*
 * Blocked/resume latency as a service sees it: two threads of a capos-rt
 * process (the main thread and one capos_rt_thread_spawn'ed thread) pass
 * a word back and forth, each pass = store, capos_rt_call(UNPARK), then
 * capos_rt_call(PARK) until the word is the passer's again (the bridge's
 * spinning sibling sometimes finds its turn already back and skips the
 * PARK: fewer kernel operations per round trip, paid for in RING_BUSY
 * retries). In bridge
 * mode both share the process ring through the ring reactor bridge (the
 * one not draining retries on RING_BUSY); in per-thread mode the spawned
 * thread has its own ring and each sleeps in cap_enter on its own ring.
 */
static struct {
    enum capos_rt_ring_mode mode;
    struct model_job *job;
    uint32_t *word;
    capos_cap_t park;
    bool stop;
    int err;
    const char *where;
} rtp;

static int rtp_op(uint8_t opcode, uint32_t len, int32_t *result)
{
    CapSqe s = {.opcode = opcode,
                .cap_id = rtp.park.id,
                .addr = capos_va(rtp.word),
                .len = len};
    CapCqe c;
    int rc = capos_rt_call(&s, &c);

    if (rc < 0)
        return rc;
    *result = c.result;
    return c.result < 0 ? c.result : 0;
}

static int rtp_pass(uint32_t me, bool wait)
{
    uint32_t other = 1 - me;
    int32_t r;
    int rc;

    __atomic_store_n(rtp.word, other, __ATOMIC_RELEASE);
    rc = rtp_op(CAP_OP_UNPARK, 1, &r);
    if (rc < 0) {
        rtp.where = "UNPARK";
        return rc;
    }
    while (wait && __atomic_load_n(rtp.word, __ATOMIC_ACQUIRE) != me) {
        rc = rtp_op(CAP_OP_PARK, other, &r);
        if (rc < 0) {
            rtp.where = "PARK";
            return rc;
        }
    }
    return 0;
}

static void rtp_peer(void *arg)
{
    (void)arg;
    while (__atomic_load_n(rtp.word, __ATOMIC_ACQUIRE) != 1) {
        int32_t r;
        int rc = rtp_op(CAP_OP_PARK, 0, &r);
        if (rc < 0) {
            rtp.err = rc;
            rtp.where = "first PARK";
            return;
        }
    }
    while (!rtp.stop) {
        int rc = rtp_pass(1, true);
        if (rc < 0) {
            rtp.err = rc;
            return;
        }
    }
}

static int rtp_step(void *ctx, uint64_t i, const char **where)
{
    (void)ctx;
    (void)i;
    (void)where; /* rtp_pass names the step in rtp.where */
    return rtp_pass(0, true);
}

static int rtp_main(capos_capset_t *caps)
{
    struct model_job *j = rtp.job;
    capos_thread_t th;
    int rc;

    if (capos_capset_find(caps, "park", 0, &rtp.park) != 0 ||
        capos_rt_set_ring_mode(rtp.mode) != 0)
        return 1;
    rtp.word = capos_alloc(sizeof *rtp.word);
    if (rtp.word == NULL)
        return 2;
    *rtp.word = 0;
    rc = capos_rt_thread_spawn(rtp_peer, NULL, &th);
    if (rc != 0) {
        job_fail(j, "capos_rt_thread_spawn", rc);
        return 3;
    }
    rc = job_time(j, j->ops, 1, rtp_step, NULL, &rtp.where);
    if (rc < 0 && rtp.err == 0)
        rtp.err = rc;
    rtp.stop = true;
    rc = rtp_pass(0, false);
    if (rc < 0 && rtp.err == 0)
        rtp.err = rc;
    int64_t code;
    rc = capos_rt_thread_join(&th, &code);
    if (rtp.err != 0) {
        job_fail(j, rtp.where, rtp.err);
        return 4;
    }
    if (rc != 0) {
        job_fail(j, "capos_rt_thread_join", rc);
        return 5;
    }
    j->done = true;
    return 0;
}

static void rtp_start(void *arg)
{
    (void)arg;
    capos_rt_start(rtp_main);
}

static int rt_park_pingpong(const char *figure, enum capos_rt_ring_mode mode,
                            uint64_t ops, unsigned reps, double *samples)
{
    struct model_job j = {.ops = ops, .reps = reps, .samples = samples};
    uint32_t ps, ts;
    int rc;

    memset(&rtp, 0, sizeof rtp);
    rtp.mode = mode;
    rtp.job = &j;
    rtp.where = "";
    if (!model_up(figure))
        return BENCH_FAIL;
    j.proc = model_process(figure, "bench-rt");
    if (j.proc == NULL)
        goto fail;
    rc = parkspace_grant(j.proc, &ps);
    if (rc == 0)
        rc = k_capset_add(j.proc, "park", ps);
    if (rc == 0)
        rc = threadspawner_grant(j.proc, &ts);
    if (rc == 0)
        rc = k_capset_add(j.proc, "threads", ts);
    if (!model_ok(figure, "granting park/threads", rc))
        goto fail;
    if (!model_thread(figure, j.proc, rtp_start, NULL))
        goto fail;
    return model_run(figure, &j, 1);
fail:
    k_shutdown();
    return BENCH_FAIL;
}

int fig_rt_park_pingpong_bridge(uint64_t ops, unsigned reps, double *samples)
{
    return rt_park_pingpong("rt_park_pingpong_bridge", CAPOS_RT_RING_BRIDGE,
                            ops, reps, samples);
}

int fig_rt_park_pingpong_rings(uint64_t ops, unsigned reps, double *samples)
{
    return rt_park_pingpong("rt_park_pingpong_rings", CAPOS_RT_RING_PER_THREAD,
                            ops, reps, samples);
}
