/*
 * sync.h - capos-rt synchronisation primitives on the private ParkSpace
 * (docs/abi.md §14): a futex-style mutex on a 32-bit word, a condition
 * variable and a once flag. Uncontended paths are atomics only; contended
 * paths PARK/UNPARK through the runtime (capos_rt_call), so they need the
 * "park" CapSet entry (the ring reactor bridge, capos_rt.h).
 *
 * The objects must live in process memory the kernel can name (the heap:
 * capos_alloc, or data inside the arena); zero-initialised means
 * unlocked / no waiters / not run.
 */
#ifndef CAPOS_RT_SYNC_H
#define CAPOS_RT_SYNC_H

#include <stdbool.h>
#include <stdint.h>

/* 0 unlocked, 1 locked, 2 locked with (possible) waiters. */
typedef struct capos_mutex {
    uint32_t word;
} capos_mutex_t;

/* seq counts signals; waiters park on the value they saw. */
typedef struct capos_cond {
    uint32_t seq;
} capos_cond_t;

/* 0 not run, 1 running, 2 done. */
typedef struct capos_once {
    uint32_t state;
} capos_once_t;

/* Return 0, or a runtime / CAP_ERR_* error of the PARK/UNPARK underneath
 * (CAPOS_RT_E_NOT_FOUND: contended without a ParkSpace). */
int capos_mutex_lock(capos_mutex_t *m);
int capos_mutex_trylock(capos_mutex_t *m); /* 0, or 1 when held */
int capos_mutex_unlock(capos_mutex_t *m);

/* Atomically unlock m and wait for a signal, then lock m again. Spurious
 * wakeups are possible: wait in a loop on the predicate. */
int capos_cond_wait(capos_cond_t *c, capos_mutex_t *m);
int capos_cond_signal(capos_cond_t *c);
int capos_cond_broadcast(capos_cond_t *c);

/* Run fn(arg) exactly once across the process's threads; later callers
 * wait until it has returned. */
int capos_once(capos_once_t *o, void (*fn)(void *), void *arg);

/* Add one to *count unless it has reached *limit, atomically (threads
 * of one process claim concurrently, e.g. a gateway's workers counting
 * connections against one bound). True if counted. */
bool capos_bounded_inc(unsigned *count, const unsigned *limit);

#endif /* CAPOS_RT_SYNC_H */
