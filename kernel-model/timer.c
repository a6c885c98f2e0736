/*
 * timer.c - the model's clock and its timer queue.
 *
 * Two clocks: the port's real monotonic clock, or a virtual clock that only
 * moves when the harness advances it or when every thread is blocked and
 * the scheduler jumps it to the next deadline (so a test of a 5 s timeout
 * takes no wall time). Timers sit in one list sorted by deadline; a timer
 * callback runs in scheduler context and may only wake threads and post
 * completions (never run a CALL).
 */
#include "kmodel.h"

uint64_t k_now(void)
{
    return k.cfg.virtual_clock ? k.vclock : port_clock_ns();
}

/* Move the virtual clock forward (no effect on the real clock). */
void k_clock_advance(uint64_t ns)
{
    if (!k.cfg.virtual_clock)
        return;
    k.vclock = ns > UINT64_MAX - k.vclock ? UINT64_MAX : k.vclock + ns;
}

/* Arm t to run fn at deadline (re-arming moves it). Equal deadlines fire in
 * arming order. */
void k_timer_arm(struct k_timer *t, uint64_t deadline,
                 void (*fn)(struct k_timer *t))
{
    if (t->armed)
        k_timer_cancel(t);
    t->deadline = deadline;
    t->fn = fn;
    t->armed = true;
    struct k_timer **pp = &k.timers;
    while (*pp && (*pp)->deadline <= deadline)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
}

/* Take armed timer t off the queue (k_timer_cancel). */
void k_timer_unlink(struct k_timer *t)
{
    for (struct k_timer **pp = &k.timers; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    t->next = NULL;
    t->armed = false;
}

uint64_t k_timer_next_deadline(void)
{
    return k.timers ? k.timers->deadline : UINT64_MAX;
}

/* Run every timer whose deadline has passed; returns how many ran. */
unsigned k_timer_fire_due(void)
{
    unsigned n = 0;
    uint64_t now = k_now();
    while (k.timers && k.timers->deadline <= now) {
        struct k_timer *t = k.timers;
        k.timers = t->next;
        t->next = NULL;
        t->armed = false;
        t->fn(t);
        n++;
    }
    return n;
}
