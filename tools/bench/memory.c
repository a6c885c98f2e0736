/*
 * tools/bench/memory.c - capos-bench figures: idle_process_bytes, thread_bytes:
 * resident memory per process and per thread.
 */
#define _GNU_SOURCE

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model.h"

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

int fig_idle_process_bytes(uint64_t ops, unsigned reps, double *samples)
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

int fig_thread_bytes(uint64_t ops, unsigned reps, double *samples)
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
