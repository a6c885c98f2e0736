/*
 * tools/bench/bench.c - capos-bench, the `make bench` program: kernel-model
 * figures next to host anchors measured in the same run.
 *
 * Links: tools/bench/bench.c, tools/bench/anchors.c, every kernel-model
 * source (kernel-model/[a-z]*.c), the codec services/rt/capnp.c,
 * sim/port_uv.c, sim/console_uv.c, sim/net_uv.c, sim/ctx.c, sim/syscall.c,
 * sim/binaries.c, the generated sim/default-manifest.c and
 * arch/x86_64/switch.S (x86_64 only); bench copies of the service
 * libraries, the runtime and the schema code (boot_to_prompt boots the
 * default system); libraries -luv -luring -largon2 -ltelnet -lpthread
 * (liburing optional: without HAVE_LIBURING the io_uring anchors report
 * themselves unavailable). Built at -O2 without sanitizers.
 *
 * Usage: capos-bench [--list] [FIGURE...]
 *   With names, runs only those figures (ratios need their anchors too).
 *   CAPOS_BENCH_RUNS   repetitions per figure (default 7)
 *   CAPOS_BENCH_SCALE  multiplies every figure's operation count (default
 *                      1; e.g. 0.01 for a quick smoke run)
 *   CAPOS_BENCH_TELNET_MANIFEST  the telnet_* figures' system (default
 *                      fixtures/system-telnet.bin: run from the build tree)
 *
 * Each figure runs one untimed warm-up repetition, then RUNS timed ones;
 * each repetition times a loop of N operations with CLOCK_MONOTONIC and
 * yields ns/op. Output: a table (min, median, max ns/op and, for model
 * figures, anchor median / figure median ratios), then one line per figure
 * that ran: `bench: NAME median_ns=X min_ns=Y max_ns=Z`. Memory figures
 * (unit "bytes": idle_process_bytes, thread_bytes) report bytes instead:
 * `bench: NAME median_bytes=X min_bytes=Y max_bytes=Z`.
 *
 * Model figures use only the kmodel.h API, on a kernel brought up with
 * seed 1 and the real clock. Their "user code" runs on model threads and
 * drives the ring as a capOS process would: write SQEs, publish sq_tail
 * (release), cap_enter, read CQEs up to cq_tail (acquire), publish
 * cq_head. Buffers live in the process heap (CAPOS_HEAP_VADDR); SQEs
 * carry user virtual addresses.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <argon2.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "binaries.h"
#include "capos.capnp.h"
#include "capos/capnp.h"
#include "capos_rt.h"
#include "console_uv.h"
#include "kmodel.h"
#include "net_uv.h"
#include "port_uv.h"
#include "selftest.h"

#define BENCH_DEFAULT_RUNS 7u
#define BENCH_MAX_RUNS 1000u

/* ---------------------------------------------------------------- */
/* Model figures: user-side ring access                              */
/* ---------------------------------------------------------------- */

/* The user's view of its ring: its own producer and consumer indices. */
struct user_ring {
    CapRing *ring;
    uint32_t sq_tail;
    uint32_t cq_head;
};

static void ur_open(struct user_ring *u, struct k_process *p)
{
    u->ring = p->ring;
    u->sq_tail = p->ring->hdr.sq_tail;
    u->cq_head = p->ring->hdr.cq_head;
}

/* Write the next SQ slot field by field at natural widths, every field
 * (reserved ones zero), as a runtime does: this matches the kernel's
 * field-wise fetch, so no load stalls on store forwarding. The caller keeps
 * at most CAP_SQ_ENTRIES unsubmitted. */
static inline void ur_push(struct user_ring *u, CapSqe v)
{
    CapSqe *s = &u->ring->sq[u->sq_tail++ & (CAP_SQ_ENTRIES - 1)];
    uint64_t z8 = 0;
    uint16_t z2 = 0;

    s->opcode = v.opcode;
    s->reserved0 = 0;
    s->flags = v.flags;
    s->cap_id = v.cap_id;
    s->user_data = v.user_data;
    s->addr = v.addr;
    s->len = v.len;
    s->method_id = v.method_id;
    s->xfer_cap_count = v.xfer_cap_count;
    s->result_addr = v.result_addr;
    s->result_len = v.result_len;
    s->call_id = v.call_id;
    s->pipeline_dep = 0;
    s->pipeline_field = 0;
    memcpy(s->reserved1, &z8, 8);
    memcpy(s->reserved1 + 8, &z2, 2);
}

/* Publish the SQEs written so far: the kernel may read them after this. */
static void ur_publish(struct user_ring *u)
{
    __atomic_store_n(&u->ring->hdr.sq_tail, u->sq_tail, __ATOMIC_RELEASE);
}

/* The kernel's cq_tail: CQEs before it are fully written. */
static uint32_t ur_cq_tail(const struct user_ring *u)
{
    return __atomic_load_n(&u->ring->hdr.cq_tail, __ATOMIC_ACQUIRE);
}

/* Hand consumed CQ slots back to the kernel. */
static void ur_cq_release(struct user_ring *u)
{
    __atomic_store_n(&u->ring->hdr.cq_head, u->cq_head, __ATOMIC_RELEASE);
}

/* Host pointer and user address of a heap buffer of p. */
static void *user_heap(struct k_process *p, uint64_t off, uint64_t len,
                       uint64_t *vaddr)
{
    void *ptr = k_user_ptr(p, CAPOS_HEAP_VADDR + off, len);

    *vaddr = ptr != NULL ? k_user_vaddr(p, ptr) : 0;
    return ptr;
}

/* ---------------------------------------------------------------- */
/* Model figures: common set-up                                      */
/* ---------------------------------------------------------------- */

/* Failures of the bench's own checks, beside the CAP_ERR_* codes. */
#define BENCH_E_SHORT (-100)     /* cap_enter returned fewer CQEs than asked */
#define BENCH_E_USER_DATA (-101) /* a CQE for another SQE than expected */
#define BENCH_E_NO_HEAP (-102)   /* heap buffer outside the arena */

/*
 * What a model figure's measuring thread reports back. err is 0, a
 * CAP_ERR_* code or another negative number; where says which step.
 */
struct model_job {
    uint64_t ops;
    unsigned reps;
    double *samples;
    struct k_process *proc;
    uint32_t cap;
    unsigned batch;
    bool done;
    int err;
    const char *where;
};

static const char *cap_err_name(int code)
{
    static const char *const names[] = {
        "?",
        "CAP_ERR_INVALID_REQUEST",
        "CAP_ERR_INVALID_PARAMS_BUFFER",
        "CAP_ERR_INVALID_RESULT_BUFFER",
        "CAP_ERR_INVOKE_FAILED",
        "CAP_ERR_UNSUPPORTED_OPCODE",
        "CAP_ERR_APPLICATION_EXCEPTION",
        "CAP_ERR_APPLICATION_EXCEPTION_TRUNCATED",
        "CAP_ERR_INVALID_TRANSFER",
        "CAP_ERR_TRANSFER_REJECTED",
        "CAP_ERR_QUEUE_FULL",
        "CAP_ERR_DISCONNECTED",
        "CAP_ERR_RING_BUSY",
        "CAP_ERR_RING_CORRUPT",
    };

    if (code < 0 && -code < (int)(sizeof names / sizeof names[0]))
        return names[-code];
    switch (code) {
    case BENCH_E_SHORT:
        return "fewer CQEs than min_complete without a timeout";
    case BENCH_E_USER_DATA:
        return "CQE user_data does not match the SQE";
    case BENCH_E_NO_HEAP:
        return "heap buffer is outside the process arena";
    default:
        return "unexpected value";
    }
}

/* True when rc is 0; otherwise prints "FIGURE failed: WHAT returned RC
 * (its name)" and returns false. */
static bool model_ok(const char *figure, const char *what, int rc)
{
    if (rc != 0)
        printf("%s failed: %s returned %d (%s)\n", figure, what, rc,
               cap_err_name(rc));
    return rc == 0;
}

static void job_fail(struct model_job *j, const char *where, int err)
{
    if (j->err == 0) {
        j->err = err;
        j->where = where;
    }
}

/* user_heap of j's process for a measuring thread; NULL after failing j. */
static void *job_heap(struct model_job *j, uint64_t off, uint64_t len,
                      uint64_t *vaddr)
{
    void *ptr = user_heap(j->proc, off, len, vaddr);

    if (ptr == NULL)
        job_fail(j, "k_user_ptr(heap)", BENCH_E_NO_HEAP);
    return ptr;
}

/* One measured step of a model figure's thread: 0, or an error with *where
 * naming what failed. i counts the steps of a run from 0. */
typedef int (*job_step_fn)(void *ctx, uint64_t i, const char **where);

/*
 * The timed part of a measuring thread: j->reps runs of n steps, each
 * run's ns per operation (n * per_step of them) into j->samples. 0, or the
 * first failing step's error (the runs stop there). Always inlined, with
 * its callers below, so that each figure's loop calls its step directly:
 * no indirect call in the timed path.
 */
#define JOB_INLINE static inline __attribute__((always_inline))

JOB_INLINE int job_time(struct model_job *j, uint64_t n, uint64_t per_step,
                        job_step_fn step, void *ctx, const char **where)
{
    for (unsigned r = 0; r < j->reps; r++) {
        uint64_t t0 = bench_now_ns();

        for (uint64_t i = 0; i < n; i++) {
            int rc = step(ctx, i, where);

            if (rc != 0)
                return rc;
        }
        j->samples[r] = bench_ns_per_op(t0, bench_now_ns(), n * per_step);
    }
    return 0;
}

/*
 * Push sqe, publish it and cap_enter(1); *c is then its CQE, taken off the
 * CQ (cq_head moved past it; ur_cq_release once it has been read). 0, or
 * cap_enter's error (BENCH_E_SHORT when no CQE came). Inlined into the
 * timed steps.
 */
JOB_INLINE int ur_enter1(struct user_ring *u, CapSqe sqe, const CapCqe **c)
{
    int rc;

    ur_push(u, sqe);
    ur_publish(u);
    rc = k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE);
    if (rc < 1 || ur_cq_tail(u) == u->cq_head)
        return rc < 0 ? rc : BENCH_E_SHORT;
    *c = &u->ring->cq[u->cq_head++ & (CAP_CQ_ENTRIES - 1)];
    return 0;
}

/* A measuring thread's job and its view of the process ring. */
struct ring_job {
    struct model_job *j;
    struct user_ring u;
    uint64_t va; /* a heap buffer the steps use, when they need one */
};

/* Open the process ring and time step (see job_time); a failure goes to
 * the job. True when every run finished. */
JOB_INLINE bool ring_job_run(struct ring_job *rj, uint64_t n, uint64_t per_step,
                             job_step_fn step)
{
    const char *where = "";
    int rc;

    ur_open(&rj->u, rj->j->proc);
    rc = job_time(rj->j, n, per_step, step, rj, &where);
    if (rc != 0)
        job_fail(rj->j, where, rc);
    return rc == 0;
}

/* Bring up a kernel as the figures need it: seed 1, real clock, FIFO
 * run queue. Prints and returns false on failure. */
static bool model_up(const char *figure)
{
    const struct k_config cfg = {.seed = 1, .virtual_clock = false};

    return model_ok(figure, "k_init", k_init(&cfg));
}

static struct k_process *model_process(const char *figure, const char *name)
{
    const struct k_process_opts opts = {.name = name};
    struct k_process *p = k_process_create(&opts);

    if (p == NULL)
        printf("%s failed: k_process_create(%s) returned NULL\n", figure, name);
    return p;
}

static bool model_thread(const char *figure, struct k_process *p,
                         void (*entry)(void *), void *arg)
{
    return model_ok(figure, "k_thread_create",
                    k_thread_create(p, entry, arg, NULL));
}

/*
 * Run the scheduler until every thread is done, shut the kernel down and
 * turn the jobs' reports into a figure result (printing what went wrong).
 */
static int model_run(const char *figure, struct model_job *jobs, unsigned njobs)
{
    unsigned stuck = k_run();
    int result = BENCH_OK;

    k_shutdown();
    for (unsigned i = 0; i < njobs; i++) {
        struct model_job *j = &jobs[i];

        if (!model_ok(figure, j->where, j->err)) {
            result = BENCH_FAIL;
        } else if (!j->done) {
            printf("%s failed: a measuring thread never finished (k_run "
                   "returned with %u thread(s) blocked)\n",
                   figure, stuck);
            result = BENCH_FAIL;
        }
    }
    return result;
}

/* ---------------------------------------------------------------- */
/* ring_nop_batch1, ring_nop_batch16                                 */
/* ---------------------------------------------------------------- */

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

static int fig_ring_nop_batch1(uint64_t ops, unsigned reps, double *samples)
{
    return ring_nop("ring_nop_batch1", 1, ops, reps, samples);
}

static int fig_ring_nop_batch16(uint64_t ops, unsigned reps, double *samples)
{
    return ring_nop("ring_nop_batch16", CAP_SQ_ENTRIES, ops, reps, samples);
}

/* ---------------------------------------------------------------- */
/* nullcap_call                                                      */
/* ---------------------------------------------------------------- */

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

/*
 * A figure run by one thread of one process holding one kernel cap, made
 * by grant (named grant_name in messages); the thread finds the cap in
 * its job (j->cap) and fills the samples.
 */
static int one_cap_figure(const char *figure, const char *proc_name,
                          int (*grant)(struct k_process *, uint32_t *),
                          const char *grant_name, void (*thread)(void *),
                          uint64_t ops, unsigned reps, double *samples)
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

static int fig_nullcap_call(uint64_t ops, unsigned reps, double *samples)
{
    return one_cap_figure("nullcap_call", "bench-nullcap", nullcap_grant,
                          "nullcap_grant", nullcap_thread, ops, reps, samples);
}

/* ---------------------------------------------------------------- */
/* endpoint_rtt                                                      */
/* ---------------------------------------------------------------- */

#define EP_METHOD_PING 0u
#define EP_METHOD_STOP 1u
#define EP_RECV_BUF 256u
#define EP_RESULT_BUF 64u
#define EP_TAG_RECV 1u
#define EP_TAG_RETURN 2u

/*
 * Server thread: keep one RECV posted on the raw endpoint; answer every
 * call with an empty RETURN, posting the RETURN and the next RECV together
 * and waiting for both completions in one cap_enter (reply-and-wait).
 * Leaves after returning a STOP call. Failures go to j (the server's job).
 */
static void ep_server_thread(void *arg)
{
    struct model_job *j = arg;
    struct user_ring u;
    uint64_t buf_va;
    const EndpointMessageHeader *hdr = job_heap(j, 0, EP_RECV_BUF, &buf_va);
    unsigned outstanding = 0; /* SQEs submitted, CQE not yet seen */
    bool stop = false;
    if (hdr == NULL)
        return;
    ur_open(&u, j->proc);
    ur_push(&u, (CapSqe){.opcode = CAP_OP_RECV,
                         .cap_id = j->cap,
                         .user_data = EP_TAG_RECV,
                         .result_addr = buf_va,
                         .result_len = EP_RECV_BUF});
    outstanding++;
    while (outstanding > 0) {
        uint32_t tail;
        int rc;

        ur_publish(&u);
        rc = k_sys_cap_enter(outstanding, CAP_TIMEOUT_INFINITE);
        if (rc < (int)outstanding) {
            job_fail(j, "server k_sys_cap_enter", rc < 0 ? rc : BENCH_E_SHORT);
            return;
        }
        tail = ur_cq_tail(&u);
        for (; u.cq_head != tail; u.cq_head++) {
            CapCqe c = u.ring->cq[u.cq_head & (CAP_CQ_ENTRIES - 1)];

            outstanding--;
            if (c.result < 0) {
                job_fail(j,
                         c.user_data == EP_TAG_RECV ? "server RECV"
                                                    : "server RETURN",
                         c.result);
                return;
            }
            if (c.user_data != EP_TAG_RECV)
                continue;
            if (hdr->method_id == EP_METHOD_STOP)
                stop = true;
            ur_push(&u, (CapSqe){.opcode = CAP_OP_RETURN,
                                 .cap_id = j->cap,
                                 .call_id = c.call_id,
                                 .user_data = EP_TAG_RETURN});
            outstanding++;
            if (!stop) {
                ur_push(&u, (CapSqe){.opcode = CAP_OP_RECV,
                                     .cap_id = j->cap,
                                     .user_data = EP_TAG_RECV,
                                     .result_addr = buf_va,
                                     .result_len = EP_RECV_BUF});
                outstanding++;
            }
        }
        ur_cq_release(&u);
    }
    j->done = true;
}

/* One CALL on the client facet and its completion; 0 or an error. */
static int ep_call(struct user_ring *u, uint32_t cap, uint16_t method,
                   uint64_t result_va, uint64_t tag)
{
    const CapCqe *c;
    int rc = ur_enter1(u,
                       (CapSqe){.opcode = CAP_OP_CALL,
                                .cap_id = cap,
                                .method_id = method,
                                .user_data = tag,
                                .result_addr = result_va,
                                .result_len = EP_RESULT_BUF},
                       &c);

    if (rc != 0)
        return rc;
    rc = c->result < 0         ? c->result
         : c->user_data != tag ? BENCH_E_USER_DATA
                               : 0;
    ur_cq_release(u);
    return rc;
}

static int ep_client_step(void *ctx, uint64_t i, const char **where)
{
    struct ring_job *rj = ctx;

    *where = "client CALL";
    return ep_call(&rj->u, rj->j->cap, EP_METHOD_PING, rj->va, i);
}

/* Client thread: timed CALL round trips, then a STOP call. */
static void ep_client_thread(void *arg)
{
    struct ring_job rj = {.j = arg};
    struct model_job *j = rj.j;
    int rc;

    if (job_heap(j, 0, EP_RESULT_BUF, &rj.va) == NULL ||
        !ring_job_run(&rj, j->ops, 1, ep_client_step))
        return;
    rc = ep_call(&rj.u, j->cap, EP_METHOD_STOP, rj.va, UINT64_MAX);
    if (rc != 0) {
        job_fail(j, "client CALL(stop)", rc);
        return;
    }
    j->done = true;
}

static int fig_endpoint_rtt(uint64_t ops, unsigned reps, double *samples)
{
    const char *figure = "endpoint_rtt";
    struct model_job jobs[2] = {
        {.ops = ops, .reps = reps, .samples = samples}, /* client */
        {.reps = 0},                                    /* server */
    };
    struct model_job *client = &jobs[0], *server = &jobs[1];

    if (!model_up(figure))
        return BENCH_FAIL;
    server->proc = model_process(figure, "bench-server");
    client->proc = model_process(figure, "bench-client");
    if (server->proc == NULL || client->proc == NULL ||
        !model_ok(figure, "ep_create", ep_create(server->proc, &server->cap)) ||
        !model_ok(figure, "ep_mint_client",
                  ep_mint_client(server->proc, server->cap, client->proc, 7,
                                 &client->cap)))
        goto fail;
    if (!model_thread(figure, server->proc, ep_server_thread, server) ||
        !model_thread(figure, client->proc, ep_client_thread, client))
        goto fail;
    return model_run(figure, jobs, 2);
fail:
    k_shutdown();
    return BENCH_FAIL;
}

/* ---------------------------------------------------------------- */
/* park_uncontended, park_pingpong                                   */
/* ---------------------------------------------------------------- */

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

static int fig_park_uncontended(uint64_t ops, unsigned reps, double *samples)
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

static int fig_park_pingpong(uint64_t ops, unsigned reps, double *samples)
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

/* ---------------------------------------------------------------- */
/* park_pingpong_rings, park_pingpong_generic                        */
/* ---------------------------------------------------------------- */

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

static int fig_park_pingpong_rings(uint64_t ops, unsigned reps, double *samples)
{
    return park_pingpong_rings("park_pingpong_rings", false, ops, reps,
                               samples);
}

static int fig_park_pingpong_generic(uint64_t ops, unsigned reps,
                                     double *samples)
{
    return park_pingpong_rings("park_pingpong_generic", true, ops, reps,
                               samples);
}

/* ---------------------------------------------------------------- */
/* rt_park_pingpong_bridge, rt_park_pingpong_rings                   */
/* ---------------------------------------------------------------- */

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

static int fig_rt_park_pingpong_bridge(uint64_t ops, unsigned reps,
                                       double *samples)
{
    return rt_park_pingpong("rt_park_pingpong_bridge", CAPOS_RT_RING_BRIDGE,
                            ops, reps, samples);
}

static int fig_rt_park_pingpong_rings(uint64_t ops, unsigned reps,
                                      double *samples)
{
    return rt_park_pingpong("rt_park_pingpong_rings", CAPOS_RT_RING_PER_THREAD,
                            ops, reps, samples);
}

/* ---------------------------------------------------------------- */
/* fiber_switch                                                      */
/* ---------------------------------------------------------------- */

static port_ctx_t *fs_host, *fs_peer;
static volatile bool fs_stop;

static void fs_peer_main(void *arg)
{
    (void)arg;
    while (!fs_stop)
        port_ctx_switch(fs_peer, fs_host);
    port_ctx_exit(fs_peer, fs_host);
}

/* ns per one-way port_ctx_switch between the host context and a peer
 * that switches straight back. */
static int fig_fiber_switch(uint64_t ops, unsigned reps, double *samples)
{
    const size_t stack_size = 64 * 1024;
    uint64_t rounds = (ops + 1) / 2;
    void *stack = port_pages_alloc(stack_size);

    fs_host = port_ctx_self();
    fs_peer = stack != NULL
                  ? port_ctx_create(stack, stack_size, fs_peer_main, NULL)
                  : NULL;
    if (fs_peer == NULL) {
        printf("fiber_switch failed: out of memory for a context\n");
        port_pages_free(stack, stack_size);
        return BENCH_FAIL;
    }
    fs_stop = false;
    for (unsigned r = 0; r < reps; r++) {
        uint64_t t0 = bench_now_ns();

        for (uint64_t i = 0; i < rounds; i++)
            port_ctx_switch(fs_host, fs_peer);
        samples[r] = bench_ns_per_op(t0, bench_now_ns(), rounds * 2);
    }
    fs_stop = true;
    port_ctx_switch(fs_host, fs_peer); /* the peer exits for good */
    port_ctx_destroy(fs_peer);
    port_pages_free(stack, stack_size);
    return BENCH_OK;
}

/* ---------------------------------------------------------------- */
/* capnp_console_write64, capnp_tcp_recv1k                           */
/* ---------------------------------------------------------------- */

static volatile uint64_t codec_sink; /* keeps the decoded bytes live */

/*
 * ns per encode + decode of a message whose root struct holds one Data
 * pointer (pointer 0) of len bytes: Console.write params (@0 data :Data)
 * or TcpSocket.recv results (data :Data). Encode: builder over a reused
 * buffer, root, set_data, finish (framed). Decode: parse the framing, the
 * root, the Data field, and read its first and last byte.
 */
static int codec_data_roundtrip(const char *figure, size_t len, uint64_t ops,
                                unsigned reps, double *samples)
{
    static uint8_t payload[1024], buf[2048];
    uint64_t sum = 0;

    if (len > sizeof payload) {
        printf("%s failed: payload of %zu bytes is larger than %zu\n", figure,
               len, sizeof payload);
        return BENCH_FAIL;
    }
    for (size_t i = 0; i < len; i++)
        payload[i] = (uint8_t)(i * 7 + 1);
    for (unsigned r = 0; r < reps; r++) {
        uint64_t t0 = bench_now_ns();

        for (uint64_t i = 0; i < ops; i++) {
            capnp_builder b;
            capnp_struct_builder root;
            capnp_message m;
            capnp_struct rs;
            const uint8_t *d;
            size_t n, dn;
            int rc;

            capnp_builder_init(&b, buf, sizeof buf);
            capnp_init_root(&b, 0, 1, &root);
            capnp_set_data(&root, 0, payload, len);
            if ((rc = capnp_finish(&b, &n)) != CAPNP_OK ||
                (rc = capnp_msg_init(&m, buf, n, NULL)) != CAPNP_OK ||
                (rc = capnp_msg_root(&m, &rs)) != CAPNP_OK ||
                (rc = capnp_get_data(&rs, 0, &d, &dn)) != CAPNP_OK) {
                printf("%s failed: codec returned %d (%s)\n", figure, rc,
                       capnp_strerror(rc));
                return BENCH_FAIL;
            }
            if (dn != len || d[0] != payload[0] ||
                d[dn - 1] != payload[len - 1]) {
                printf("%s failed: decoded %zu bytes, want %zu equal to the "
                       "encoded ones\n",
                       figure, dn, len);
                return BENCH_FAIL;
            }
            sum += d[0] + d[dn - 1];
        }
        samples[r] = bench_ns_per_op(t0, bench_now_ns(), ops);
    }
    codec_sink = sum;
    return BENCH_OK;
}

static int fig_capnp_console_write64(uint64_t ops, unsigned reps,
                                     double *samples)
{
    return codec_data_roundtrip("capnp_console_write64", 64, ops, reps,
                                samples);
}

static int fig_capnp_tcp_recv1k(uint64_t ops, unsigned reps, double *samples)
{
    return codec_data_roundtrip("capnp_tcp_recv1k", 1024, ops, reps, samples);
}

/* ---------------------------------------------------------------- */
/* boot_to_prompt                                                    */
/* ---------------------------------------------------------------- */

/*
 * The hook: a libuv prepare handle on the port's loop. Its callback runs
 * whenever k_run, with no thread runnable, calls port_idle (prepare
 * callbacks run in every uv_run, just before the loop polls). The first
 * time it sees the console watched (sim_console_is_watched: a readLine
 * waits, i.e. the shell wrote `username> ` and blocked), it takes the
 * time and closes the console: the waiting readLine reads the end of
 * input, capos-shell leaves, and k_run returns once the system wound down
 * (not timed). No model change; the handle is unreferenced so it never
 * keeps the loop alive by itself.
 */
static struct {
    uv_prepare_t prep;
    uint64_t at; /* bench_now_ns() when the prompt was seen waiting */
    bool seen;
} btp;

static void btp_on_prepare(uv_prepare_t *h)
{
    (void)h;
    if (!btp.seen && sim_console_is_watched()) {
        btp.at = bench_now_ns();
        btp.seen = true;
        sim_console_close();
    }
}

static void btp_closed(uv_handle_t *h)
{
    (void)h;
}

/*
 * One boot of the embedded default manifest (the bytes capos-sim boots,
 * sim/default-manifest.c, with sim/binaries.c's builtins), console input
 * on a pipe that never gets a byte, console output to /dev/null. Returns
 * ns from k_init to the shell waiting on its first readLine, or 0 after
 * printing why it failed.
 */
static uint64_t boot_once(const char *figure, int devnull)
{
    const struct k_config cfg = {.seed = 1, .virtual_clock = false};
    struct k_process *init = NULL;
    char err[256];
    int fds[2], rc;
    uint64_t t0, ns = 0;

    if (pipe(fds) != 0) {
        printf("%s failed: pipe: %s\n", figure, strerror(errno));
        return 0;
    }
    rc = sim_console_open(fds[0], SIM_CONSOLE_PIPE);
    if (rc < 0) {
        printf("%s failed: sim_console_open: %s\n", figure, uv_strerror(rc));
        goto out_pipe;
    }
    sim_console_set_fd(devnull);
    btp.seen = false;
    uv_prepare_init(sim_loop(), &btp.prep);
    uv_prepare_start(&btp.prep, btp_on_prepare);
    uv_unref((uv_handle_t *)&btp.prep);

    t0 = bench_now_ns();
    if (!model_ok(figure, "k_init", k_init(&cfg)))
        goto out_prep;
    if (k_boot(sim_default_manifest, sim_default_manifest_len, &init, err,
               sizeof err) != 0) {
        printf("%s failed: k_boot(default manifest): %s\n", figure, err);
        k_shutdown();
        goto out_prep;
    }
    (void)k_run();
    k_shutdown();
    if (btp.seen)
        ns = btp.at - t0 > 0 ? btp.at - t0 : 1;
    else
        printf("%s failed: the system never waited on a console readLine\n",
               figure);
out_prep:
    uv_close((uv_handle_t *)&btp.prep, btp_closed);
    sim_console_close();
    uv_run(sim_loop(), UV_RUN_NOWAIT); /* close callbacks */
    sim_console_set_fd(STDOUT_FILENO);
out_pipe:
    close(fds[0]);
    close(fds[1]);
    return ns;
}

/* ns from k_init + k_boot(default manifest) to the `username>` prompt
 * waiting; ops boots per repetition, averaged. */
static int fig_boot_to_prompt(uint64_t ops, unsigned reps, double *samples)
{
    const char *figure = "boot_to_prompt";
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

    if (devnull < 0) {
        printf("%s failed: /dev/null: %s\n", figure, strerror(errno));
        return BENCH_FAIL;
    }
    sim_register_builtins();
    for (unsigned r = 0; r < reps; r++) {
        uint64_t sum = 0;

        for (uint64_t i = 0; i < ops; i++) {
            uint64_t ns = boot_once(figure, devnull);

            if (ns == 0) {
                close(devnull);
                return BENCH_FAIL;
            }
            sum += ns;
        }
        samples[r] = (double)sum / (double)ops;
    }
    close(devnull);
    return BENCH_OK;
}

/* ---------------------------------------------------------------- */
/* idle_process_bytes, thread_bytes                                  */
/* ---------------------------------------------------------------- */

/*
 * Method: host memory actually resident, not allocation sizes. Each
 * repetition brings a kernel up, returns freed heap to the host
 * (malloc_trim) and reads the resident set (/proc/self/statm); creates
 * the processes and threads and runs them until every thread is blocked
 * (k_run returns: nothing runnable, no device work); reads the resident
 * set again. The increase covers the model's structs (process, captable,
 * threads, contexts), allocator overhead and the arena pages touched
 * (ring, CapSet page, stacks); mincore() on every thread's stack slot
 * counts the touched stack pages, which are subtracted. Page tables are
 * not in the resident set and are not counted.
 *
 * idle_process_bytes: ops processes (default options: 4 MiB arena, 256
 * cap slots, 128 KiB stacks), each with one thread blocked in
 * cap_enter(1, infinite) on an empty ring; bytes per process.
 * thread_bytes: processes with one such thread each, then 7 more threads
 * per process (parked in k_thread_wait: one cap_enter waiter per ring),
 * about ops threads in all; bytes per added thread (second resident
 * reading minus the first, minus the added stack pages).
 */

#define MEM_EXTRA_THREADS 7u

static long mem_page_size(void)
{
    static long ps;

    if (ps == 0)
        ps = sysconf(_SC_PAGESIZE);
    return ps;
}

/* Resident bytes of this process (statm's second field). */
static int64_t mem_resident(void)
{
    long size = 0, resident = 0;
    FILE *f;

    malloc_trim(0);
    f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : (int64_t)resident * mem_page_size();
}

/* Resident bytes of the stack slots of p's threads. */
static int64_t mem_stack_resident(struct k_process *p)
{
    static unsigned char vec[1024];
    long ps = mem_page_size();
    size_t pages = p->stack_size / (size_t)ps;
    int64_t n = 0;

    if (pages > sizeof vec)
        return -1;
    for (struct k_thread *t = p->threads; t != NULL; t = t->proc_next) {
        uint8_t *lo = p->arena + p->arena_size -
                      (size_t)(t->stack_slot + 1) * p->stack_size;

        if (mincore(lo, p->stack_size, vec) != 0)
            return -1;
        for (size_t i = 0; i < pages; i++)
            n += vec[i] & 1;
    }
    return n * ps;
}

static void mem_ring_waiter(void *arg)
{
    (void)arg;
    (void)k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE);
}

static void mem_parked(void *arg)
{
    (void)arg;
    (void)k_thread_wait(UINT64_MAX);
}

/* Resident bytes minus resident stack bytes of procs[0..n). */
static int64_t mem_reading(struct k_process **procs, uint64_t n)
{
    int64_t rss = mem_resident(), stacks = 0;

    for (uint64_t i = 0; i < n && rss >= 0; i++) {
        int64_t s = mem_stack_resident(procs[i]);

        if (s < 0)
            return -1;
        stacks += s;
    }
    return rss - stacks;
}

/* One repetition: nproc processes with a ring waiter each, then (extra)
 * parked threads per process. *per_proc and *per_thread get bytes. */
static int mem_once(const char *figure, uint64_t nproc, unsigned extra,
                    double *per_proc, double *per_thread)
{
    struct k_process **procs = calloc(nproc, sizeof *procs);
    int64_t base, after_procs, after_threads = 0;
    int result = BENCH_FAIL;
    unsigned stuck;

    if (procs == NULL) {
        printf("%s failed: out of memory\n", figure);
        return BENCH_FAIL;
    }
    if (!model_up(figure)) {
        free(procs);
        return BENCH_FAIL;
    }
    base = mem_reading(procs, 0);
    for (uint64_t i = 0; i < nproc; i++) {
        procs[i] = model_process(figure, "bench-idle");
        if (procs[i] == NULL ||
            !model_thread(figure, procs[i], mem_ring_waiter, NULL))
            goto out;
    }
    stuck = k_run();
    after_procs = mem_reading(procs, nproc);
    if (stuck != nproc) {
        printf("%s failed: %u thread(s) blocked, want %llu\n", figure, stuck,
               (unsigned long long)nproc);
        goto out;
    }
    if (extra > 0) {
        for (uint64_t i = 0; i < nproc; i++)
            for (unsigned e = 0; e < extra; e++)
                if (!model_thread(figure, procs[i], mem_parked, NULL))
                    goto out;
        stuck = k_run();
        after_threads = mem_reading(procs, nproc);
        if (stuck != nproc * (1 + extra)) {
            printf("%s failed: %u thread(s) blocked, want %llu\n", figure,
                   stuck, (unsigned long long)(nproc * (1 + extra)));
            goto out;
        }
    }
    if (base < 0 || after_procs < 0 || after_threads < 0) {
        printf("%s failed: cannot read /proc/self/statm or mincore\n", figure);
        goto out;
    }
    *per_proc = (double)(after_procs - base) / (double)nproc;
    if (extra > 0)
        *per_thread =
            (double)(after_threads - after_procs) / (double)(nproc * extra);
    result = BENCH_OK;
out:
    k_shutdown();
    free(procs);
    return result;
}

static int fig_idle_process_bytes(uint64_t ops, unsigned reps, double *samples)
{
    for (unsigned r = 0; r < reps; r++) {
        double per_thread = 0;
        int rc =
            mem_once("idle_process_bytes", ops, 0, &samples[r], &per_thread);

        if (rc != BENCH_OK)
            return rc;
    }
    return BENCH_OK;
}

static int fig_thread_bytes(uint64_t ops, unsigned reps, double *samples)
{
    uint64_t nproc = (ops + MEM_EXTRA_THREADS - 1) / MEM_EXTRA_THREADS;

    for (unsigned r = 0; r < reps; r++) {
        double per_proc = 0;
        int rc = mem_once("thread_bytes", nproc, MEM_EXTRA_THREADS, &per_proc,
                          &samples[r]);

        if (rc != BENCH_OK)
            return rc;
    }
    return BENCH_OK;
}

/* ---------------------------------------------------------------- */
/* tcp_echo_rtt, tcp_echo_64k and their plain libuv anchors          */
/* ---------------------------------------------------------------- */

/*
 * A host client thread (blocking POSIX socket, TCP_NODELAY) connects to
 * an echo server on loopback and times ops exchanges of msg bytes each:
 * write all msg bytes, then read all of them back. The server is either a
 * model process echoing through its TcpSocket cap (recv, then send until
 * all is sent) or a plain libuv echo server on its own loop; both run on
 * this thread while the client runs on another, so the two figures differ
 * only in the server.
 */
#define ECHO_MAX 65536u

struct echo_client {
    uint16_t port;
    size_t msg;
    uint64_t ops;
    unsigned reps;
    double *samples;
    const char *fail; /* NULL: all repetitions measured */
};

static bool echo_io(int fd, uint8_t *buf, size_t n, bool out)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = out ? send(fd, buf + done, n - done, MSG_NOSIGNAL)
                        : recv(fd, buf + done, n - done, 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return false;
        }
        done += (size_t)r;
    }
    return true;
}

static void *echo_client_main(void *arg)
{
    struct echo_client *e = arg;
    static uint8_t out[ECHO_MAX], in[ECHO_MAX];
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(e->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = -1, one = 1;
    for (int i = 0; i < 2000; i++) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            break;
        if (fd >= 0)
            close(fd);
        fd = -1;
        usleep(1000);
    }
    if (fd < 0) {
        e->fail = "the client could not connect";
        return NULL;
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(out, 0x5a, e->msg);
    for (unsigned r = 0; r < e->reps && !e->fail; r++) {
        uint64_t t0 = bench_now_ns();
        for (uint64_t i = 0; i < e->ops; i++) {
            out[0] = (uint8_t)i;
            if (!echo_io(fd, out, e->msg, true) ||
                !echo_io(fd, in, e->msg, false) || in[0] != out[0]) {
                e->fail = "the echo broke off or came back wrong";
                break;
            }
        }
        e->samples[r] = bench_ns_per_op(t0, bench_now_ns(), e->ops);
    }
    close(fd);
    return NULL;
}

/* A loopback port that was free a moment ago, or 0. */
static uint16_t echo_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* ---- the model server ---- */

struct tcp_echo_job {
    struct model_job j;
    uint32_t auth; /* TcpListenAuthority of guest port 7 */
};

/* One CALL with params[0..plen) at params_off of the heap and the result
 * at result_off; the CQE's result, or a negative bench/transport code.
 * *cap gets the first result cap (if any). */
static int tcp_call(struct user_ring *u, struct k_process *p, uint32_t cap,
                    uint16_t method, uint64_t plen, uint32_t *rcap)
{
    uint64_t pva, rva;
    if (!user_heap(p, 0, ECHO_MAX + 64, &pva) ||
        !user_heap(p, ECHO_MAX + 64, ECHO_MAX + 256, &rva))
        return BENCH_E_NO_HEAP;
    const CapCqe *c;
    int rc = ur_enter1(u,
                       (CapSqe){.opcode = CAP_OP_CALL,
                                .cap_id = cap,
                                .method_id = method,
                                .user_data = method + 1u,
                                .addr = pva,
                                .len = (uint32_t)plen,
                                .result_addr = rva,
                                .result_len = ECHO_MAX + 256},
                       &c);
    if (rc != 0)
        return rc;
    rc = c->user_data != method + 1u ? BENCH_E_USER_DATA : c->result;
    if (rc >= 0 && c->cap_count && rcap) {
        CapTransferResult rec;
        memcpy(&rec,
               (uint8_t *)k_user_ptr(p, rva, 1) + CAP_ALIGN8((uint32_t)rc),
               sizeof rec);
        *rcap = rec.cap_id;
    }
    ur_cq_release(u);
    return rc;
}

/* The struct at pointer 0 of the result's root; false if malformed. */
static bool tcp_result(struct k_process *p, int len, capnp_message *m,
                       capnp_struct *s)
{
    capnp_struct root;
    void *buf = k_user_ptr(p, CAPOS_HEAP_VADDR + ECHO_MAX + 64, (uint64_t)len);
    return buf && capnp_msg_init(m, buf, (size_t)len, NULL) == 0 &&
           capnp_msg_root(m, &root) == 0 && capnp_get_struct(&root, 0, s) == 0;
}

/* Params into the heap: a root of dw words and np pointers. */
static int tcp_params(struct k_process *p, uint16_t dw, uint16_t np,
                      capnp_builder *b, capnp_struct_builder *root)
{
    uint64_t va;
    void *buf = user_heap(p, 0, ECHO_MAX + 64, &va);
    if (!buf)
        return BENCH_E_NO_HEAP;
    capnp_builder_init(b, buf, ECHO_MAX + 64);
    return capnp_init_root(b, dw, np, root);
}

/* Thread: listen, accept one connection, echo until the peer closes. */
static void tcp_echo_thread(void *arg)
{
    struct tcp_echo_job *t = arg;
    struct model_job *j = &t->j;
    struct k_process *p = j->proc;
    struct user_ring u;
    capnp_builder b;
    capnp_struct_builder root;
    capnp_message m;
    capnp_struct s;
    size_t plen;
    uint32_t listener = 0, sock = 0;
    int rc;

    ur_open(&u, p);
    if (tcp_params(p, 1, 0, &b, &root) != 0 || capnp_finish(&b, &plen) != 0)
        return job_fail(j, "listen params", BENCH_E_NO_HEAP);
    rc = tcp_call(&u, p, t->auth, 0, plen, &listener);
    if (rc < 0 || listener == 0)
        return job_fail(j, "TcpListenAuthority.listen", rc < 0 ? rc : -1);
    if (tcp_params(p, 0, 0, &b, &root) != 0 || capnp_finish(&b, &plen) != 0)
        return job_fail(j, "accept params", BENCH_E_NO_HEAP);
    rc = tcp_call(&u, p, listener, 0, plen, &sock);
    if (rc < 0 || sock == 0)
        return job_fail(j, "TcpListener.accept", rc < 0 ? rc : -1);
    for (;;) {
        if (tcp_params(p, 1, 0, &b, &root) != 0)
            return job_fail(j, "recv params", BENCH_E_NO_HEAP);
        capnp_set_u32(&root, 0, ECHO_MAX, 0);
        (void)capnp_finish(&b, &plen);
        rc = tcp_call(&u, p, sock, 1, plen, NULL);
        if (rc < 0 || !tcp_result(p, rc, &m, &s))
            return job_fail(j, "TcpSocket.recv", rc < 0 ? rc : -1);
        if (capnp_get_u16(&s, 0, 0) != 0)
            break; /* closed or error: the client is done */
        const uint8_t *d;
        size_t n;
        if (capnp_get_data(&s, 0, &d, &n) < 0)
            return job_fail(j, "TcpSocket.recv data", -1);
        /* Sent from where it came: the params (heap offset 0) and the
         * recv result (after them) do not overlap, and a send's 32-byte
         * result ends before the recv result's data (at byte 40). */
        for (size_t off = 0; off < n;) {
            if (tcp_params(p, 0, 1, &b, &root) != 0 ||
                capnp_set_data(&root, 0, d + off, n - off) != 0 ||
                capnp_finish(&b, &plen) != 0)
                return job_fail(j, "send params", BENCH_E_NO_HEAP);
            rc = tcp_call(&u, p, sock, 0, plen, NULL);
            if (rc < 0 || !tcp_result(p, rc, &m, &s) ||
                capnp_get_u16(&s, 4, 0) != 0)
                return job_fail(j, "TcpSocket.send", rc < 0 ? rc : -1);
            off += capnp_get_u32(&s, 0, 0);
        }
    }
    j->done = true;
}

/* A manifest holding only kernelParams.portForwards = [guest 7 -> host
 * port, no idle timeout]. */
static size_t echo_manifest(uint64_t *buf, size_t cap, uint16_t port)
{
    capnp_builder b;
    capnp_struct_builder root, kp, f;
    capnp_list_builder l;
    size_t len = 0;
    capnp_builder_init(&b, buf, cap);
    if (capnp_init_root(&b, 1, 3, &root) != 0 ||
        capnp_init_struct(&root, 2, 0, 7, &kp) != 0 ||
        capnp_init_struct_list(&kp, 1, 1, 1, 1, &l) != 0 ||
        capnp_list_struct_at(&l, 0, &f) != 0)
        return 0;
    capnp_set_u16(&f, 0, port, 0);
    capnp_set_u16(&f, 2, 7, 0);
    capnp_set_u32(&f, 4, 0, 600);
    return capnp_finish(&b, &len) == 0 ? len : 0;
}

static int tcp_echo_model(const char *figure, size_t msg, uint64_t ops,
                          unsigned reps, double *samples)
{
    static uint64_t mbuf[64];
    char err[160];
    struct k_msg mb = {err, sizeof err, 0};
    uint16_t port = echo_free_port();
    size_t mlen = echo_manifest(mbuf, sizeof mbuf, port);
    struct tcp_echo_job t = {.j = {.ops = ops, .reps = reps}};
    struct echo_client e = {port, msg, ops, reps, samples, NULL};
    pthread_t th;

    if (port == 0 || mlen == 0) {
        printf("%s failed: no free loopback port or manifest\n", figure);
        return BENCH_FAIL;
    }
    if (!model_up(figure))
        return BENCH_FAIL;
    sim_net_set_quiet(true);
    if (net_configure((const uint8_t *)mbuf, mlen, &mb) != 0) {
        printf("%s failed: %s\n", figure, err);
        k_shutdown();
        return BENCH_FAIL;
    }
    t.j.proc = model_process(figure, "echo");
    if (!t.j.proc || tcpauth_grant(t.j.proc, 7, &t.auth) != 0 ||
        !model_thread(figure, t.j.proc, tcp_echo_thread, &t)) {
        k_shutdown();
        return BENCH_FAIL;
    }
    if (pthread_create(&th, NULL, echo_client_main, &e) != 0) {
        printf("%s failed: pthread_create\n", figure);
        k_shutdown();
        return BENCH_FAIL;
    }
    int rc = model_run(figure, &t.j, 1);
    pthread_join(th, NULL);
    uv_run(sim_loop(), UV_RUN_NOWAIT); /* close callbacks */
    if (e.fail) {
        printf("%s failed: %s\n", figure, e.fail);
        return BENCH_FAIL;
    }
    return rc;
}

static int tcp_echo_uv(const char *figure, size_t msg, uint64_t ops,
                       unsigned reps, double *samples);

/*
 * The host's speed for this exchange swings with what else runs (a vCPU
 * that halts between messages wakes slowly), so a model figure and its
 * libuv anchor are measured interleaved: repetition r of the model, then
 * repetition r of the anchor. The anchor's samples wait here for its own
 * row (uv_echo_*), which measures alone only if the pair did not run.
 */
static struct echo_pair {
    bool have;
    uint64_t ops;
    unsigned reps;
    double samples[BENCH_MAX_RUNS + 1];
} echo_pairs[2];

static int echo_interleaved(const char *figure, const char *anchor,
                            struct echo_pair *pair, size_t msg, uint64_t ops,
                            unsigned reps, double *samples)
{
    pair->have = false;
    for (unsigned r = 0; r < reps; r++) {
        int rc = tcp_echo_model(figure, msg, ops, 1, &samples[r]);
        if (rc != BENCH_OK)
            return rc;
        if (tcp_echo_uv(anchor, msg, ops, 1, &pair->samples[r]) != BENCH_OK)
            return BENCH_FAIL;
    }
    pair->have = true;
    pair->ops = ops;
    pair->reps = reps;
    return BENCH_OK;
}

/* The anchor's row: the interleaved samples, or a run of its own. */
static int echo_anchor(const char *anchor, struct echo_pair *pair, size_t msg,
                       uint64_t ops, unsigned reps, double *samples)
{
    if (pair->have && pair->ops == ops && pair->reps == reps) {
        memcpy(samples, pair->samples, reps * sizeof *samples);
        return BENCH_OK;
    }
    return tcp_echo_uv(anchor, msg, ops, reps, samples);
}

static int fig_tcp_echo_rtt(uint64_t ops, unsigned reps, double *samples)
{
    return echo_interleaved("tcp_echo_rtt", "uv_echo_rtt", &echo_pairs[0], 64,
                            ops, reps, samples);
}

static int fig_tcp_echo_64k(uint64_t ops, unsigned reps, double *samples)
{
    return echo_interleaved("tcp_echo_64k", "uv_echo_64k", &echo_pairs[1],
                            ECHO_MAX, ops, reps, samples);
}

/* ---- the plain libuv server (anchor) ---- */

struct uv_echo {
    uv_tcp_t server, conn;
    bool connected;
};

struct uv_echo_write {
    uv_write_t req;
    char data[];
};

static void uve_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    static char buf[ECHO_MAX];
    (void)h;
    (void)suggested;
    *b = uv_buf_init(buf, sizeof buf);
}

static void uve_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void uve_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct uv_echo *e = s->data;
    if (n < 0) {
        uv_close((uv_handle_t *)&e->conn, NULL);
        uv_close((uv_handle_t *)&e->server, NULL);
        return;
    }
    if (n == 0)
        return;
    struct uv_echo_write *w = malloc(sizeof *w + (size_t)n);
    if (!w)
        return;
    memcpy(w->data, b->base, (size_t)n);
    uv_buf_t out = uv_buf_init(w->data, (unsigned)n);
    if (uv_write(&w->req, s, &out, 1, uve_written) != 0)
        free(w);
}

static void uve_connection(uv_stream_t *server, int status)
{
    struct uv_echo *e = server->data;
    if (status < 0 || e->connected)
        return;
    uv_tcp_init(server->loop, &e->conn);
    e->conn.data = e;
    if (uv_accept(server, (uv_stream_t *)&e->conn) == 0) {
        e->connected = true;
        (void)uv_tcp_nodelay(&e->conn, 1);
        uv_read_start((uv_stream_t *)&e->conn, uve_alloc, uve_read);
    } else {
        uv_close((uv_handle_t *)&e->conn, NULL);
    }
}

static int tcp_echo_uv(const char *figure, size_t msg, uint64_t ops,
                       unsigned reps, double *samples)
{
    uv_loop_t loop;
    struct uv_echo e = {0};
    struct sockaddr_in a;
    uint16_t port = echo_free_port();
    struct echo_client c = {port, msg, ops, reps, samples, NULL};
    pthread_t th;

    if (port == 0 || uv_loop_init(&loop) != 0) {
        printf("%s failed: no free loopback port or loop\n", figure);
        return BENCH_FAIL;
    }
    uv_ip4_addr("127.0.0.1", port, &a);
    uv_tcp_init(&loop, &e.server);
    e.server.data = &e;
    if (uv_tcp_bind(&e.server, (const struct sockaddr *)&a, 0) != 0 ||
        uv_listen((uv_stream_t *)&e.server, 4, uve_connection) != 0 ||
        pthread_create(&th, NULL, echo_client_main, &c) != 0) {
        printf("%s failed: cannot listen on 127.0.0.1:%u\n", figure, port);
        uv_close((uv_handle_t *)&e.server, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        return BENCH_FAIL;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    uv_loop_close(&loop);
    if (c.fail) {
        printf("%s failed: %s\n", figure, c.fail);
        return BENCH_FAIL;
    }
    return BENCH_OK;
}

static int fig_uv_echo_rtt(uint64_t ops, unsigned reps, double *samples)
{
    return echo_anchor("uv_echo_rtt", &echo_pairs[0], 64, ops, reps, samples);
}

static int fig_uv_echo_64k(uint64_t ops, unsigned reps, double *samples)
{
    return echo_anchor("uv_echo_64k", &echo_pairs[1], ECHO_MAX, ops, reps,
                       samples);
}

/* ---------------------------------------------------------------- */
/* telnet_login                                                      */
/* ---------------------------------------------------------------- */

/*
 * fixtures/system-telnet.bin (path: CAPOS_BENCH_TELNET_MANIFEST, default
 * the build tree's) booted in this process with sim/binaries.c's
 * builtins, its forward of guest :23 moved to a free loopback port
 * (net_hostfwd), console output to /dev/null. A host client thread
 * (blocking socket) times each login: connect -> the gateway's three
 * offers answered (DO ECHO, DO SGA, WONT NAWS) -> "username> " ->
 * operator -> "password> " -> capos -> the "operator@capos$ " prompt.
 * Then (not timed) it sends exit and waits for the close. The password
 * check is the development record's Argon2id (m=19456 KiB, t=2), which
 * dominates. When the client is done it wakes the loop (uv_async), whose
 * callback ends every process, so k_run returns.
 */
#define TL_BUF 8192u

struct telnet_client {
    bool full; /* log in (else stop at the username prompt) */
    uint16_t port;
    uint64_t ops;
    unsigned reps;
    double *samples;
    const char *fail;
    uv_async_t *stop;
};

/* Read from fd until want (wlen bytes) has arrived; false on close,
 * error or TL_BUF bytes without it. */
static bool tl_until(int fd, const char *want, size_t wlen)
{
    char buf[TL_BUF];
    size_t n = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + n, sizeof buf - n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        n += (size_t)r;
        if (memmem(buf, n, want, wlen))
            return true;
        if (n == sizeof buf) {
            /* Keep the tail: want may straddle the refill. */
            memmove(buf, buf + n - wlen, wlen);
            n = wlen;
        }
    }
}

static bool tl_send(int fd, const char *s, size_t n)
{
    return echo_io(fd, (uint8_t *)(uintptr_t)s, n, true);
}

/* One login; ns from connect to the shell prompt, 0 on failure. */
static uint64_t tl_login(struct telnet_client *c)
{
    static const char answers[] = "\xff\xfd\x01\xff\xfd\x03\xff\xfc\x1f";
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(c->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    uint64_t t0 = bench_now_ns(), t1 = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int r = -1;
    /* The first login may come before the gateway listens. */
    for (int i = 0; i < 5000 && r != 0; i++) {
        r = connect(fd, (struct sockaddr *)&a, sizeof a);
        if (r != 0) {
            close(fd);
            usleep(1000);
            fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0)
                return 0;
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            t0 = bench_now_ns();
        }
    }
    if (r == 0 && tl_until(fd, "\xff\xfd\x1f", 3) &&
        tl_send(fd, answers, sizeof answers - 1) &&
        tl_until(fd, "username> ", 10) && !c->full) {
        /* Closing ends the shell's readLine: it exits (not timed). */
        t1 = bench_now_ns();
        char b[256];
        shutdown(fd, SHUT_WR);
        while (recv(fd, b, sizeof b, 0) > 0)
            ;
    } else if (r == 0 && c->full && tl_send(fd, "operator\r\n", 10) &&
               tl_until(fd, "password> ", 10) && tl_send(fd, "capos\r\n", 7) &&
               tl_until(fd, "operator@capos$ ", 16)) {
        t1 = bench_now_ns();
        char b[256];
        if (!tl_send(fd, "exit\r\n", 6))
            t1 = 0;
        while (t1 && recv(fd, b, sizeof b, 0) > 0)
            ; /* until the system closes the connection */
    }
    close(fd);
    return t1 ? (t1 - t0 > 0 ? t1 - t0 : 1) : 0;
}

static void *telnet_client_main(void *arg)
{
    struct telnet_client *c = arg;
    for (unsigned r = 0; r < c->reps && !c->fail; r++) {
        uint64_t sum = 0;
        for (uint64_t i = 0; i < c->ops; i++) {
            uint64_t ns = tl_login(c);
            if (ns == 0) {
                c->fail = "a login did not reach the shell prompt";
                break;
            }
            sum += ns;
        }
        c->samples[r] = (double)sum / (double)c->ops;
    }
    uv_async_send(c->stop);
    return NULL;
}

/* In the loop (host context): end every process, so k_run returns. */
static void tl_stop(uv_async_t *h)
{
    (void)h;
    for (;;) {
        struct k_process *p = k.procs;
        while (p && p->state != KP_ALIVE)
            p = p->next;
        if (!p)
            break;
        k_process_exit(p, 0);
    }
}

static void tl_closed(uv_handle_t *h)
{
    (void)h;
}

static int telnet_figure(const char *figure, bool full, uint64_t ops,
                         unsigned reps, double *samples)
{
    const char *path = getenv("CAPOS_BENCH_TELNET_MANIFEST");
    if (!path)
        path = "fixtures/system-telnet.bin";
    static uint64_t mbuf[8192];
    size_t mlen = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        mlen = fread(mbuf, 1, sizeof mbuf, f);
        fclose(f);
    }
    if (mlen == 0 || mlen == sizeof mbuf) {
        printf("%s failed: cannot read %s (run from the build tree, or set "
               "CAPOS_BENCH_TELNET_MANIFEST)\n",
               figure, path);
        return BENCH_FAIL;
    }
    uint16_t port = echo_free_port();
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (port == 0 || devnull < 0) {
        printf("%s failed: no free loopback port or /dev/null\n", figure);
        if (devnull >= 0)
            close(devnull);
        return BENCH_FAIL;
    }
    sim_register_builtins();
    sim_console_set_fd(devnull);
    sim_net_set_quiet(true);
    uv_async_t stop;
    uv_async_init(sim_loop(), &stop, tl_stop);
    uv_unref((uv_handle_t *)&stop);
    struct telnet_client c = {full, port, ops, reps, samples, NULL, &stop};
    const struct k_config cfg = {.seed = 1, .virtual_clock = false};
    struct k_process *init = NULL;
    char err[256];
    int rc = BENCH_FAIL;
    pthread_t th;
    if (k_init(&cfg) != 0) {
        printf("%s failed: k_init\n", figure);
        goto out;
    }
    (void)net_hostfwd(23, port);
    if (k_boot((const uint8_t *)mbuf, mlen, &init, err, sizeof err) != 0) {
        printf("%s failed: k_boot(%s): %s\n", figure, path, err);
        k_shutdown();
        goto out;
    }
    if (pthread_create(&th, NULL, telnet_client_main, &c) != 0) {
        printf("%s failed: pthread_create\n", figure);
        tl_stop(&stop);
        (void)k_run();
        k_shutdown();
        goto out;
    }
    (void)k_run();
    pthread_join(th, NULL);
    k_shutdown();
    if (c.fail)
        printf("%s failed: %s\n", figure, c.fail);
    else
        rc = BENCH_OK;
out:
    uv_close((uv_handle_t *)&stop, tl_closed);
    uv_run(sim_loop(), UV_RUN_NOWAIT);
    sim_console_set_fd(STDOUT_FILENO);
    close(devnull);
    return rc;
}

static int fig_telnet_login(uint64_t ops, unsigned reps, double *samples)
{
    return telnet_figure("telnet_login", true, ops, reps, samples);
}

static int fig_telnet_to_username(uint64_t ops, unsigned reps, double *samples)
{
    return telnet_figure("telnet_to_username", false, ops, reps, samples);
}

/* Host anchor: libargon2's verification of the development operator's
 * record (the password check a telnet_login includes), ns per verify. */
static int fig_argon2id_verify(uint64_t ops, unsigned reps, double *samples)
{
    static const char hash[] =
        "$argon2id$v=19$m=19456,t=2,p=1$Y2Fwb3Mtc2ltLWRldmVsb3BtZW50$"
        "AVh69Kc1hdzghBzLe+XY0whmf4cn//BP68NIUjgKVMc";
    for (unsigned r = 0; r < reps; r++) {
        uint64_t t0 = bench_now_ns();
        for (uint64_t i = 0; i < ops; i++)
            if (argon2id_verify(hash, "capos", 5) != ARGON2_OK) {
                printf("argon2id_verify failed: the development record does "
                       "not verify\n");
                return BENCH_FAIL;
            }
        samples[r] = bench_ns_per_op(t0, bench_now_ns(), ops);
    }
    return BENCH_OK;
}

/* ---------------------------------------------------------------- */
/* The figure table                                                  */
/* ---------------------------------------------------------------- */

/* Ratio columns: a model figure names, per column, the anchor whose
 * median is divided by the figure's median (NULL: no ratio). */
enum {
    VS_URING,
    VS_FUTEX,
    VS_FUTEX_1CPU,
    VS_SWAPCTX,
    VS_UV,
    VS_ARGON2,
    VS_COLUMNS
};
static const char *const vs_heading[VS_COLUMNS] = {
    "io_uring/x", "futex/x", "futex1cpu/x", "swapctx/x", "libuv/x", "argon2/x"};

/* One row per figure, in output order; ops is the default operation count
 * of one repetition. */
struct figure {
    const char *name;
    bench_fn run;
    uint64_t ops;
    const char *what;
    const char *vs[VS_COLUMNS];
    const char *unit; /* what samples count: NULL for ns per op, "bytes" */
};

static const struct figure figures[] = {
    {.name = "ring_nop_batch1",
     .run = fig_ring_nop_batch1,
     .ops = 200000,
     .what = "model: 1 NOP per cap_enter, ns per NOP",
     .vs = {[VS_URING] = "io_uring_nop_batch1"}},
    {.name = "ring_nop_batch16",
     .run = fig_ring_nop_batch16,
     .ops = 1600000,
     .what = "model: 16 NOPs per cap_enter, ns per NOP",
     .vs = {[VS_URING] = "io_uring_nop_batch16"}},
    {.name = "nullcap_call",
     .run = fig_nullcap_call,
     .ops = 200000,
     .what = "model: CALL NullCap.call() per cap_enter, ns per call",
     .vs = {[VS_URING] = "io_uring_nop_batch1"}},
    {.name = "endpoint_rtt",
     .run = fig_endpoint_rtt,
     .ops = 100000,
     .what = "model: CALL -> RECV -> RETURN -> CQE between two processes, "
             "ns per round trip",
     .vs = {[VS_FUTEX] = "futex_pingpong",
            [VS_FUTEX_1CPU] = "futex_pingpong_1cpu"}},
    {.name = "park_uncontended",
     .run = fig_park_uncontended,
     .ops = 200000,
     .what = "model: UNPARK of an unwaited word (wakes 0) alternating with "
             "PARK of a mismatching value, 1 per cap_enter, ns per op",
     .vs = {[VS_URING] = "io_uring_nop_batch1"}},
    {.name = "park_pingpong",
     .run = fig_park_pingpong,
     .ops = 100000,
     .what = "model: two threads of one process pass a word back and forth; "
             "each pass = store + UNPARK+PARK in one cap_enter(0), then the "
             "passer waits for its PARK's CQE (blocked in cap_enter(1), or "
             "yielding while the other thread is the ring's one waiter); ns "
             "per round trip (two passes, two blocking PARKs)",
     .vs = {[VS_FUTEX] = "futex_pingpong",
            [VS_FUTEX_1CPU] = "futex_pingpong_1cpu"}},
    {.name = "park_pingpong_rings",
     .run = fig_park_pingpong_rings,
     .ops = 100000,
     .what = "model: park_pingpong with each player on its own ring: "
             "store + UNPARK+PARK in one cap_enter(2) that returns when the "
             "other player wakes it; ns per round trip",
     .vs = {[VS_FUTEX] = "futex_pingpong",
            [VS_FUTEX_1CPU] = "futex_pingpong_1cpu"}},
    {.name = "park_pingpong_generic",
     .run = fig_park_pingpong_generic,
     .ops = 100000,
     .what = "model: park_pingpong_rings in the generic form: "
             "ParkSpace.wake + ParkSpace.wait CALLs (prebuilt params, the "
             "wait's result message decoded); ns per round trip",
     .vs = {[VS_FUTEX] = "futex_pingpong",
            [VS_FUTEX_1CPU] = "futex_pingpong_1cpu"}},
    {.name = "rt_park_pingpong_bridge",
     .run = fig_rt_park_pingpong_bridge,
     .ops = 50000,
     .what = "capos-rt: two threads pass a word with capos_rt_call(UNPARK) "
             "and capos_rt_call(PARK), sharing the process ring through the "
             "ring reactor bridge; ns per round trip",
     .vs = {[VS_FUTEX] = "futex_pingpong",
            [VS_FUTEX_1CPU] = "futex_pingpong_1cpu"}},
    {.name = "rt_park_pingpong_rings",
     .run = fig_rt_park_pingpong_rings,
     .ops = 50000,
     .what = "capos-rt: the same with the spawned thread on its own ring "
             "(CAPOS_RT_RING_PER_THREAD); ns per round trip",
     .vs = {[VS_FUTEX] = "futex_pingpong",
            [VS_FUTEX_1CPU] = "futex_pingpong_1cpu"}},
    {.name = "fiber_switch",
     .run = fig_fiber_switch,
     .ops = 2000000,
     .what = "port: one-way port_ctx_switch between two contexts",
     .vs = {[VS_SWAPCTX] = "swapcontext"}},
    {.name = "capnp_console_write64",
     .run = fig_capnp_console_write64,
     .ops = 2000000,
     .what = "codec: encode + decode Console.write params, 64-byte Data, "
             "ns per encode+decode"},
    {.name = "capnp_tcp_recv1k",
     .run = fig_capnp_tcp_recv1k,
     .ops = 1000000,
     .what = "codec: encode + decode a result struct with a 1 KiB Data, "
             "ns per encode+decode"},
    {.name = "boot_to_prompt",
     .run = fig_boot_to_prompt,
     .ops = 1,
     .what = "model+services: k_init + k_boot(default manifest) until the "
             "shell's first readLine waits (k_run idle), ns per boot"},
    {.name = "telnet_to_username",
     .run = fig_telnet_to_username,
     .ops = 10,
     .what = "model+services: fixtures/system-telnet, host client connect "
             "-> negotiation -> capos-shell launched -> `username> `, ns "
             "per connection"},
    {.name = "telnet_login",
     .run = fig_telnet_login,
     .ops = 3,
     .what = "model+services: the same, then operator / capos (Argon2id "
             "check) -> shell prompt, ns per login",
     .vs = {[VS_ARGON2] = "argon2id_verify"}},
    {.name = "idle_process_bytes",
     .run = fig_idle_process_bytes,
     .ops = 256,
     .what = "model: resident bytes per idle process (1 thread in "
             "cap_enter), RSS increase minus touched stack pages",
     .unit = "bytes"},
    {.name = "thread_bytes",
     .run = fig_thread_bytes,
     .ops = 1792,
     .what = "model: resident bytes per added blocked thread, RSS increase "
             "minus touched stack pages",
     .unit = "bytes"},
    {.name = "tcp_echo_rtt",
     .run = fig_tcp_echo_rtt,
     .ops = 20000,
     .what = "model: loopback client -> TcpSocket recv+send echo in a "
             "model process -> client, 64-byte messages, ns per round trip",
     .vs = {[VS_UV] = "uv_echo_rtt"}},
    {.name = "tcp_echo_64k",
     .run = fig_tcp_echo_64k,
     .ops = 2000,
     .what = "model: the same echo with 64 KiB messages (write all, read "
             "all back), ns per 64 KiB exchanged",
     .vs = {[VS_UV] = "uv_echo_64k"}},
    {.name = "io_uring_nop_batch1",
     .run = bench_io_uring_nop_batch1,
     .ops = 100000,
     .what = "host: io_uring NOP, 1 per io_uring_submit_and_wait"},
    {.name = "io_uring_nop_batch16",
     .run = bench_io_uring_nop_batch16,
     .ops = 800000,
     .what = "host: io_uring NOPs, 16 per io_uring_submit_and_wait, ns per "
             "NOP"},
    {.name = "futex_pingpong",
     .run = bench_futex_pingpong,
     .ops = 5000,
     .what = "host: futex round trip between two threads"},
    {.name = "futex_pingpong_1cpu",
     .run = bench_futex_pingpong_1cpu,
     .ops = 20000,
     .what = "host: futex round trip, both threads pinned to one CPU"},
    {.name = "argon2id_verify",
     .run = fig_argon2id_verify,
     .ops = 5,
     .what = "host: libargon2 argon2id_verify of the development record "
             "(m=19456 KiB, t=2, p=1)"},
    {.name = "swapcontext",
     .run = bench_swapcontext,
     .ops = 400000,
     .what = "host: one-way glibc swapcontext"},
    {.name = "uv_echo_rtt",
     .run = fig_uv_echo_rtt,
     .ops = 20000,
     .what = "host: the same client against a plain libuv echo server, "
             "64-byte messages, ns per round trip (measured interleaved "
             "with tcp_echo_rtt when both run)"},
    {.name = "uv_echo_64k",
     .run = fig_uv_echo_64k,
     .ops = 2000,
     .what = "host: the same client against a plain libuv echo server, "
             "64 KiB messages, ns per 64 KiB exchanged (measured interleaved "
             "with tcp_echo_64k when both run)"},
};

#define NFIGURES (sizeof figures / sizeof figures[0])

/* ---------------------------------------------------------------- */
/* Driver                                                            */
/* ---------------------------------------------------------------- */

struct result {
    bool selected;
    int status; /* BENCH_* once run */
    double min, median, max;
};

static struct result results[NFIGURES];

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* min/median/max of n > 0 samples (sorted in place). */
static void summarize(double *s, unsigned n, struct result *r)
{
    qsort(s, n, sizeof s[0], cmp_double);
    r->min = s[0];
    r->max = s[n - 1];
    r->median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
}

static const struct result *find_result(const char *name)
{
    for (size_t i = 0; name != NULL && i < NFIGURES; i++)
        if (strcmp(figures[i].name, name) == 0)
            return results[i].selected && results[i].status == BENCH_OK
                       ? &results[i]
                       : NULL;
    return NULL;
}

/* "anchor / figure" ratio cell, or "-". */
static void ratio_cell(char *buf, size_t cap, const char *anchor,
                       const struct result *r)
{
    const struct result *a = find_result(anchor);

    if (a == NULL || r->median <= 0.0)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.2f", a->median / r->median);
}

/*
 * Read a positive number from the environment. Returns def when unset;
 * exits with a message naming the variable when it is malformed.
 */
static double env_number(const char *var, double def, double max, bool integer)
{
    const char *v = getenv(var);
    char *end;
    double x;

    if (v == NULL || *v == '\0')
        return def;
    errno = 0;
    x = strtod(v, &end);
    if (errno != 0 || *end != '\0' || !(x > 0.0) || x > max ||
        (integer && x != (double)(uint64_t)x)) {
        fprintf(stderr,
                "capos-bench: %s=%s is not a %s in (0, %g]; unset it for "
                "the default (%g)\n",
                var, v, integer ? "whole number" : "number", max, def);
        exit(2);
    }
    return x;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: capos-bench [--list] [FIGURE...]\n"
               "  env CAPOS_BENCH_RUNS (default 7), CAPOS_BENCH_SCALE "
               "(default 1)\n");
}

/* Select figures by exact name; exits 2 naming an unknown one. */
static void select_figures(int argc, char **argv)
{
    for (size_t i = 0; i < NFIGURES; i++)
        results[i].selected = argc <= 1;
    for (int a = 1; a < argc; a++) {
        size_t i;

        for (i = 0; i < NFIGURES; i++)
            if (strcmp(argv[a], figures[i].name) == 0)
                break;
        if (i == NFIGURES) {
            fprintf(stderr,
                    "capos-bench: no figure named '%s'; capos-bench --list "
                    "shows them\n",
                    argv[a]);
            exit(2);
        }
        results[i].selected = true;
    }
}

/* The echo figures as rates: round trips/s and MB/s (10^6 bytes of
 * payload echoed per second), from the medians. */
static void print_echo_rates(void)
{
    static const char *const rtt[] = {"tcp_echo_rtt", "uv_echo_rtt"};
    static const char *const bulk[] = {"tcp_echo_64k", "uv_echo_64k"};
    for (unsigned i = 0; i < 2; i++) {
        const struct result *r = find_result(rtt[i]);
        if (r && r->status == BENCH_OK && r->median > 0)
            printf("bench: %s round_trips_per_s=%.0f\n", rtt[i],
                   1e9 / r->median);
    }
    for (unsigned i = 0; i < 2; i++) {
        const struct result *r = find_result(bulk[i]);
        if (r && r->status == BENCH_OK && r->median > 0)
            printf("bench: %s MB_per_s=%.1f\n", bulk[i],
                   (double)ECHO_MAX * 1e3 / r->median);
    }
}

static void print_table(unsigned runs)
{
    printf("\ncapos-bench: ns per operation (bytes for *_bytes figures) "
           "over %u runs; ratio columns = anchor median / figure median "
           "(> 1: the figure is faster)\n\n",
           runs);
    printf("%-22s %11s %11s %11s", "figure", "min", "median", "max");
    for (int c = 0; c < VS_COLUMNS; c++)
        printf(" %11s", vs_heading[c]);
    printf("\n");
    for (size_t i = 0; i < NFIGURES; i++) {
        const struct figure *f = &figures[i];
        const struct result *r = &results[i];

        if (!r->selected)
            continue;
        if (r->status != BENCH_OK) {
            printf("%-22s %11s\n", f->name,
                   r->status == BENCH_SKIP ? "unavailable" : "FAILED");
            continue;
        }
        printf("%-22s %11.1f %11.1f %11.1f", f->name, r->min, r->median,
               r->max);
        for (int c = 0; c < VS_COLUMNS; c++) {
            char cell[32];

            ratio_cell(cell, sizeof cell, f->vs[c], r);
            printf(" %11s", cell);
        }
        printf("\n");
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    unsigned runs;
    double scale;
    double *samples;
    int failed = 0;

    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < NFIGURES; i++)
            printf("%-22s %s\n", figures[i].name, figures[i].what);
        return 0;
    }
    if (argc > 1 && argv[1][0] == '-') {
        usage(strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    runs = (unsigned)env_number("CAPOS_BENCH_RUNS", BENCH_DEFAULT_RUNS,
                                BENCH_MAX_RUNS, true);
    scale = env_number("CAPOS_BENCH_SCALE", 1.0, 1000.0, false);
    select_figures(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* One extra leading repetition is the warm-up and is dropped. */
    samples = calloc(runs + 1, sizeof *samples);
    if (samples == NULL || sim_port_init() != 0) {
        fprintf(stderr, "capos-bench: out of memory at start-up\n");
        return 1;
    }
    for (size_t i = 0; i < NFIGURES; i++) {
        const struct figure *f = &figures[i];
        struct result *r = &results[i];
        uint64_t ops = (uint64_t)((double)f->ops * scale + 0.5);

        if (!r->selected)
            continue;
        if (ops == 0)
            ops = 1;
        fprintf(stderr, "capos-bench: %s (%u x %llu ops)\n", f->name, runs,
                (unsigned long long)ops);
        r->status = f->run(ops, runs + 1, samples);
        if (r->status == BENCH_OK)
            summarize(samples + 1, runs, r);
        else if (r->status == BENCH_FAIL)
            failed++;
    }
    print_table(runs);
    print_echo_rates();
    for (size_t i = 0; i < NFIGURES; i++) {
        const char *u = figures[i].unit != NULL ? figures[i].unit : "ns";

        if (results[i].selected && results[i].status == BENCH_OK)
            printf("bench: %s median_%s=%.1f min_%s=%.1f max_%s=%.1f\n",
                   figures[i].name, u, results[i].median, u, results[i].min, u,
                   results[i].max);
    }
    sim_port_fini();
    free(samples);
    if (failed)
        fprintf(stderr, "capos-bench: %d figure(s) failed; see above\n",
                failed);
    return failed ? 1 : 0;
}
