/*
 * tools/bench/model.h - what the model figures share: the user side of
 * a process ring, the measuring thread's job and its timed loop (inlined
 * into each figure, so no indirect call in the timed path), and bringing a
 * kernel up and down (model.c).
 */
#ifndef CAPOS_BENCH_MODEL_H
#define CAPOS_BENCH_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bench.h"
#include "kmodel.h"

/* The user's view of its ring: its own producer and consumer indices. */
struct user_ring {
    CapRing *ring;
    uint32_t sq_tail;
    uint32_t cq_head;
};

static inline void ur_open(struct user_ring *u, struct k_process *p)
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
    memcpy(s->reserved1, &z2, 2);
    s->interface_id = v.interface_id;
}

/* Publish the SQEs written so far: the kernel may read them after this. */
static inline void ur_publish(struct user_ring *u)
{
    __atomic_store_n(&u->ring->hdr.sq_tail, u->sq_tail, __ATOMIC_RELEASE);
}

/* The kernel's cq_tail: CQEs before it are fully written. */
static inline uint32_t ur_cq_tail(const struct user_ring *u)
{
    return __atomic_load_n(&u->ring->hdr.cq_tail, __ATOMIC_ACQUIRE);
}

/* Hand consumed CQ slots back to the kernel. */
static inline void ur_cq_release(struct user_ring *u)
{
    __atomic_store_n(&u->ring->hdr.cq_head, u->cq_head, __ATOMIC_RELEASE);
}

/* Host pointer and user address of a heap buffer of p. */
static inline void *user_heap(struct k_process *p, uint64_t off, uint64_t len,
                              uint64_t *vaddr)
{
    void *ptr = k_user_ptr(p, CAPOS_HEAP_VADDR + off, len);

    *vaddr = ptr != NULL ? k_user_vaddr(p, ptr) : 0;
    return ptr;
}

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

/* Record the job's first failure (later ones are consequences). */
static inline void job_fail(struct model_job *j, const char *where, int err)
{
    if (j->err == 0) {
        j->err = err;
        j->where = where;
    }
}

/* One measured step of a model figure's thread: 0, or an error with *where
 * naming what failed. i counts the steps of a run from 0. */
typedef int (*job_step_fn)(void *ctx, uint64_t i, const char **where);

/*
 * The timed part of a measuring thread: j->reps runs of n steps, each
 * run's ns per operation (n * per_step of them) into j->samples. 0, or the
 * first failing step's error (the runs stop there). Always inlined, with
 * ring_job_run below, into each figure's thread, so that its loop calls
 * its step directly: no indirect call in the timed path.
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

/* True when rc is 0; otherwise prints "FIGURE failed: WHAT returned RC
 * (its name)" and returns false. */
bool model_ok(const char *figure, const char *what, int rc);

/* user_heap of j's process for a measuring thread; NULL after failing j. */
void *job_heap(struct model_job *j, uint64_t off, uint64_t len,
               uint64_t *vaddr);

/* Bring up a kernel as the figures need it: seed 1, real clock, FIFO
 * run queue. Prints and returns false on failure. */
bool model_up(const char *figure);

/* A process named name; NULL (printed as figure's failure) when none. */
struct k_process *model_process(const char *figure, const char *name);

/* A thread of p at entry(arg); prints and returns false on failure. */
bool model_thread(const char *figure, struct k_process *p,
                  void (*entry)(void *), void *arg);

/*
 * Run the scheduler until every thread is done, shut the kernel down and
 * turn the jobs' reports into a figure result (printing what went wrong).
 */
int model_run(const char *figure, struct model_job *jobs, unsigned njobs);

/*
 * ring.c: a figure run by one thread of one process holding one kernel cap,
 * made by grant (named grant_name in messages); the thread finds the cap in its
 * job (j->cap) and fills the samples.
 */
int one_cap_figure(const char *figure, const char *proc_name,
                   int (*grant)(struct k_process *, uint32_t *),
                   const char *grant_name, void (*thread)(void *), uint64_t ops,
                   unsigned reps, double *samples);

#endif /* CAPOS_BENCH_MODEL_H */
