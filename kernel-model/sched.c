/*
 * sched.c - the scheduler: one run queue of threads, blocking with
 * deadlines, and the idle path.
 *
 * Threads switch to the scheduler context (the host thread that called
 * k_run) whenever they block, yield or die; the scheduler picks the next
 * runnable thread (FIFO, or a seeded random choice among the runnable ones
 * with k_config.shuffle), fires due timers, and when nothing is runnable
 * calls port_idle with the next deadline. Under the virtual clock, idling
 * jumps the clock to the next deadline instead of waiting.
 */
#include "kmodel.h"

void k_sched_ready(struct k_thread *t)
{
    t->state = KT_RUNNABLE;
    t->rq_next = NULL;
    if (k.rq_tail)
        k.rq_tail->rq_next = t;
    else
        k.rq_head = t;
    k.rq_tail = t;
}

static struct k_thread *rq_pick(void)
{
    struct k_thread **pp = &k.rq_head;
    if (!*pp)
        return NULL;
    if (k.cfg.shuffle && (*pp)->rq_next) {
        unsigned n = 0;
        for (struct k_thread *t = k.rq_head; t; t = t->rq_next)
            n++;
        unsigned skip = (unsigned)(k_random() % n);
        while (skip--)
            pp = &(*pp)->rq_next;
    }
    struct k_thread *t = *pp;
    *pp = t->rq_next;
    if (k.rq_tail == t) {
        k.rq_tail = NULL;
        for (struct k_thread *q = k.rq_head; q; q = q->rq_next)
            k.rq_tail = q;
    }
    t->rq_next = NULL;
    return t;
}

/* After this many direct thread-to-thread switches the scheduler context
 * runs once, so that dead threads are reaped and devices are polled even
 * when some thread is always runnable. */
#define SCHED_DIRECT_MAX 64u

/*
 * Switch from the current thread (already queued or blocked by the caller)
 * to the next runnable thread, directly when possible, else to the
 * scheduler; returns when the thread is next picked. A direct switch saves
 * a second context switch on every IPC handoff; it is not taken when a
 * timer is due, so timers fire on time.
 */
void k_sched_switch(void)
{
    struct k_thread *t = k.current;
    struct k_thread *next = NULL;
    if (k.direct < SCHED_DIRECT_MAX &&
        (!k.timers || k.timers->deadline > k_now()))
        next = rq_pick();
    if (!next) {
        k.direct = 0;
        port_ctx_switch(t->ctx, k.sched_ctx);
        return;
    }
    k.direct++;
    next->state = KT_RUNNING;
    if (next == t)
        return;
    k.current = next;
    k.stats.switches++;
    port_ctx_switch(t->ctx, next->ctx);
}

void k_sched_yield(void)
{
    struct k_thread *t = k.current;
    K_ASSERT(t != NULL, "k_sched_yield outside a thread");
    k_sched_ready(t);
    k_sched_switch();
}

/* Record a clean stop for k_run to perform (kernel.h): a device callback
 * may ask, but processes exit only from the scheduler's own loop. */
void k_stop_all(int code)
{
    k.stop_code = code;
    k.stop_pending = true;
}

/* Perform a requested stop: every live process exits with the requested
 * code. Returns true if a stop was pending. */
static bool sched_stop(void)
{
    if (!k.stop_pending)
        return false;
    k.stop_pending = false;
    for (;;) {
        /* An exit can reap others: walk again from the head each time. */
        struct k_process *p = k.procs;
        while (p && p->state != KP_ALIVE)
            p = p->next;
        if (!p)
            break;
        k_process_exit(p, k.stop_code);
    }
    return true;
}

/*
 * Run threads until none is runnable and nothing can make one runnable (no
 * timer armed and no device work pending). Returns the number of threads
 * still alive then (blocked forever): 0 means everything finished. Call
 * from the host context only.
 */
unsigned k_run(void)
{
    K_ASSERT(k.current == NULL, "k_run from inside a thread");
    for (;;) {
        sched_stop();
        k_timer_fire_due();
        struct k_thread *t = rq_pick();
        if (t) {
            k.direct = 0;
            t->state = KT_RUNNING;
            k.current = t;
            k.stats.switches++;
            port_ctx_switch(k.sched_ctx, t->ctx);
            k.current = NULL;
            k_sched_reap();
            continue;
        }
        k_sched_reap(); /* threads killed from the host context */
        if (k.stats.threads_live == 0)
            return 0;
        uint64_t deadline = k_timer_next_deadline();
        if (k.cfg.virtual_clock) {
            /* Devices first (without waiting), then jump the clock. */
            if (port_idle(0))
                continue;
            if (deadline != UINT64_MAX) {
                if (deadline > k.vclock)
                    k.vclock = deadline;
                continue;
            }
            if (!port_idle(UINT64_MAX) && !sched_stop())
                return k.stats.threads_live;
            continue;
        }
        if (!port_idle(deadline) && deadline == UINT64_MAX && !sched_stop())
            return k.stats.threads_live;
    }
}

/* Free dead threads; runs in scheduler context only. */
void k_sched_reap(void)
{
    while (k.dead) {
        struct k_thread *t = k.dead;
        k.dead = t->dead_next;
        struct k_process *p = t->proc;
        for (struct k_thread **pp = &p->threads; *pp; pp = &(*pp)->proc_next) {
            if (*pp == t) {
                *pp = t->proc_next;
                break;
            }
        }
        p->stack_used &= ~(1u << t->stack_slot);
        port_ctx_destroy(t->ctx);
        port_free(t);
        k_process_put(p);
    }
}
