/*
 * tools/bench/anchors.c - host anchors for capos-bench: what the Linux
 * host itself charges for the operations the model imitates, measured in
 * the same run so that model figures can be read as ratios.
 *
 *   io_uring_nop_batch1/16  liburing NOPs, 1 or 16 per io_uring_enter
 *   futex_pingpong[_1cpu]   two pthreads bouncing through two futex words
 *   swapcontext             glibc ucontext switch (one way)
 *
 * Without liburing (configure --without-liburing, HAVE_LIBURING unset) the
 * io_uring anchors report themselves unavailable.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

#include "bench.h"

/* ---------------------------------------------------------------- */
/* io_uring                                                          */
/* ---------------------------------------------------------------- */

#ifdef HAVE_LIBURING
/* Print the io_uring unavailability line once per run, not per figure. */
static void uring_unavailable(int err)
{
    static bool said;

    if (!said)
        printf("anchor unavailable: io_uring (%s)\n", strerror(err));
    said = true;
}

/*
 * NOPs through a fresh 32-entry ring, `batch` SQEs per
 * io_uring_submit_and_wait(batch); ns per NOP. BENCH_SKIP when the kernel
 * refuses a ring (no io_uring, disabled by sysctl or seccomp).
 */
static int uring_nop(uint64_t ops, unsigned batch, unsigned reps,
                     double *samples)
{
    struct io_uring ring;
    uint64_t rounds = (ops + batch - 1) / batch;
    int rc = io_uring_queue_init(32, &ring, 0);

    if (rc < 0) {
        uring_unavailable(-rc);
        return BENCH_SKIP;
    }
    for (unsigned r = 0; r < reps; r++) {
        uint64_t t0 = bench_now_ns();

        for (uint64_t i = 0; i < rounds; i++) {
            unsigned seen = 0;

            for (unsigned b = 0; b < batch; b++) {
                struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

                io_uring_prep_nop(sqe);
                sqe->user_data = b;
            }
            rc = io_uring_submit_and_wait(&ring, batch);
            if (rc < 0)
                goto fail;
            while (seen < batch) {
                struct io_uring_cqe *cqe;
                unsigned head, n = 0;

                io_uring_for_each_cqe(&ring, head, cqe)
                {
                    if (cqe->res < 0) {
                        rc = cqe->res;
                        goto fail;
                    }
                    n++;
                }
                io_uring_cq_advance(&ring, n);
                seen += n;
                if (seen < batch && (rc = io_uring_wait_cqe(&ring, &cqe)) < 0)
                    goto fail;
            }
        }
        samples[r] = bench_ns_per_op(t0, bench_now_ns(), rounds * batch);
    }
    io_uring_queue_exit(&ring);
    return BENCH_OK;
fail:
    printf("io_uring NOP anchor failed: %s\n", strerror(-rc));
    io_uring_queue_exit(&ring);
    return BENCH_FAIL;
}

int bench_io_uring_nop_batch1(uint64_t ops, unsigned reps, double *samples)
{
    return uring_nop(ops, 1, reps, samples);
}

int bench_io_uring_nop_batch16(uint64_t ops, unsigned reps, double *samples)
{
    return uring_nop(ops, 16, reps, samples);
}
#else
int bench_io_uring_nop_batch1(uint64_t ops, unsigned reps, double *samples)
{
    static bool said;

    (void)ops, (void)reps, (void)samples;
    if (!said)
        printf("anchor unavailable: io_uring (built without liburing; "
               "install liburing-dev and re-run configure)\n");
    said = true;
    return BENCH_SKIP;
}

int bench_io_uring_nop_batch16(uint64_t ops, unsigned reps, double *samples)
{
    return bench_io_uring_nop_batch1(ops, reps, samples);
}
#endif

/* ---------------------------------------------------------------- */
/* futex ping-pong                                                   */
/* ---------------------------------------------------------------- */

/*
 * Two words on separate cache lines. Round i: the main thread stores i in
 * ping and wakes it; the partner waits until ping == i, stores i in pong
 * and wakes it; the main thread waits until pong == i. Waiting checks the
 * word first and sleeps in FUTEX_WAIT only while it still holds the old
 * value, so no wake-up can be lost.
 */
struct pingpong {
    _Alignas(64) uint32_t ping;
    _Alignas(64) uint32_t pong;
    uint32_t rounds;
};

static void futex_wait_while(uint32_t *word, uint32_t old)
{
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, old, NULL, NULL, 0);
}

static void futex_wake_one(uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void wait_for(uint32_t *word, uint32_t want)
{
    uint32_t v;

    while ((v = __atomic_load_n(word, __ATOMIC_ACQUIRE)) != want)
        futex_wait_while(word, v);
}

static void post(uint32_t *word, uint32_t v)
{
    __atomic_store_n(word, v, __ATOMIC_RELEASE);
    futex_wake_one(word);
}

static void *pong_main(void *arg)
{
    struct pingpong *pp = arg;

    for (uint32_t i = 1; i <= pp->rounds; i++) {
        wait_for(&pp->ping, i);
        post(&pp->pong, i);
    }
    return NULL;
}

/*
 * ns per round trip between this thread and a fresh partner thread (both
 * inheriting this thread's CPU affinity). Round 1 is an untimed handshake
 * so thread start-up is not measured.
 */
static int pingpong(uint64_t ops, unsigned reps, double *samples)
{
    static struct pingpong pp;

    if (ops > UINT32_MAX - 1)
        ops = UINT32_MAX - 1;
    for (unsigned r = 0; r < reps; r++) {
        pthread_t th;
        uint64_t t0;
        int rc;

        pp.ping = 0;
        pp.pong = 0;
        pp.rounds = (uint32_t)ops + 1;
        rc = pthread_create(&th, NULL, pong_main, &pp);
        if (rc != 0) {
            printf("futex anchor failed: pthread_create: %s\n", strerror(rc));
            return BENCH_FAIL;
        }
        post(&pp.ping, 1);
        wait_for(&pp.pong, 1);
        t0 = bench_now_ns();
        for (uint32_t i = 2; i <= pp.rounds; i++) {
            post(&pp.ping, i);
            wait_for(&pp.pong, i);
        }
        samples[r] = bench_ns_per_op(t0, bench_now_ns(), ops);
        pthread_join(th, NULL);
    }
    return BENCH_OK;
}

int bench_futex_pingpong(uint64_t ops, unsigned reps, double *samples)
{
    return pingpong(ops, reps, samples);
}

/* The same with both threads pinned to the CPU this thread runs on, so
 * every round trip is two context switches on one CPU (what the model's
 * single host thread competes with). The caller's affinity is restored. */
int bench_futex_pingpong_1cpu(uint64_t ops, unsigned reps, double *samples)
{
    cpu_set_t old, one;
    int cpu = sched_getcpu();
    int rc;

    if (cpu < 0 || sched_getaffinity(0, sizeof old, &old) != 0) {
        printf("anchor unavailable: futex_pingpong_1cpu (cannot read CPU "
               "affinity: %s)\n",
               strerror(errno));
        return BENCH_SKIP;
    }
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) {
        printf("anchor unavailable: futex_pingpong_1cpu (sched_setaffinity: "
               "%s)\n",
               strerror(errno));
        return BENCH_SKIP;
    }
    rc = pingpong(ops, reps, samples);
    if (sched_setaffinity(0, sizeof old, &old) != 0)
        printf("warning: could not restore CPU affinity (%s); later "
               "figures run on CPU %d only\n",
               strerror(errno), cpu);
    return rc;
}

/* ---------------------------------------------------------------- */
/* swapcontext                                                       */
/* ---------------------------------------------------------------- */

static ucontext_t sc_main, sc_peer;

static void sc_peer_main(void)
{
    for (;;)
        swapcontext(&sc_peer, &sc_main);
}

/* ns per one-way swapcontext between this context and a peer that
 * switches straight back. The peer is abandoned suspended at the end. */
int bench_swapcontext(uint64_t ops, unsigned reps, double *samples)
{
    const size_t stack_size = 64 * 1024;
    uint64_t rounds = (ops + 1) / 2;
    void *stack = malloc(stack_size);

    if (stack == NULL || getcontext(&sc_peer) != 0) {
        printf("swapcontext anchor failed: out of memory\n");
        free(stack);
        return BENCH_FAIL;
    }
    sc_peer.uc_stack.ss_sp = stack;
    sc_peer.uc_stack.ss_size = stack_size;
    sc_peer.uc_link = NULL;
    makecontext(&sc_peer, sc_peer_main, 0);
    for (unsigned r = 0; r < reps; r++) {
        uint64_t t0 = bench_now_ns();

        for (uint64_t i = 0; i < rounds; i++)
            swapcontext(&sc_main, &sc_peer);
        samples[r] = bench_ns_per_op(t0, bench_now_ns(), rounds * 2);
    }
    free(stack);
    return BENCH_OK;
}
