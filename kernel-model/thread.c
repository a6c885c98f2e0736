/*
 * thread.c - threads: fibers with a stack carved from their process arena.
 *
 * A thread runs entry(arg) on its own stack. When entry returns, or the
 * thread calls k_thread_exit, it becomes DEAD and switches to the scheduler
 * for the last time; the scheduler reaps it (frees its context and stack
 * slot). The last thread of a process to exit ends the process with status
 * 0.
 */
#include "kmodel.h"

struct k_thread *k_current(void)
{
    return k.current;
}

static void thread_start(void *arg)
{
    struct k_thread *t = arg;
    t->entry(t->arg);
    k_thread_exit();
}

/* The host address of stack slot i: slots are stacked down from the top of
 * the arena. */
static void *thread_stack(struct k_process *p, uint32_t slot)
{
    return p->arena + p->arena_size - (size_t)(slot + 1) * p->stack_size;
}

/*
 * Create a runnable thread in p. Returns 0 and the thread, or
 * CAP_ERR_INVOKE_FAILED if p is not alive, has max_threads threads, or
 * memory runs out. The thread holds a reference on p until it is reaped.
 */
int k_thread_create(struct k_process *p, void (*entry)(void *), void *arg,
                    struct k_thread **out)
{
    if (p->state != KP_ALIVE || p->nthreads >= p->max_threads)
        return CAP_ERR_INVOKE_FAILED;
    uint32_t slot = 0;
    while (slot < p->max_threads && (p->stack_used & (1u << slot)))
        slot++;
    if (slot >= p->max_threads)
        return CAP_ERR_INVOKE_FAILED; /* a dead thread not reaped yet */
    struct k_thread *t = port_alloc(sizeof *t);
    if (!t)
        return CAP_ERR_INVOKE_FAILED;
    t->ctx =
        port_ctx_create(thread_stack(p, slot), p->stack_size, thread_start, t);
    if (!t->ctx) {
        port_free(t);
        return CAP_ERR_INVOKE_FAILED;
    }
    t->tid = k.next_tid++;
    /* The slot's generation names this thread in ThreadRefs; 0 is the
     * process ring's, so it is skipped when the counter wraps. */
    if (++p->tgen[slot] == 0)
        p->tgen[slot] = 1;
    t->gen = p->tgen[slot];
    p->tslot[slot] = t;
    t->proc = p;
    t->stack_slot = slot;
    t->entry = entry;
    t->arg = arg;
    p->stack_used |= 1u << slot;
    t->proc_next = p->threads;
    p->threads = t;
    p->nthreads++;
    k_process_get(p);
    k.stats.threads_live++;
    k_sched_ready(t);
    if (out)
        *out = t;
    return 0;
}

/* Take t out of every queue and mark it dead (not yet reaped). */
static void thread_retire(struct k_thread *t)
{
    struct k_process *p = t->proc;
    if (t->state == KT_RUNNABLE) {
        struct k_thread **pp = &k.rq_head;
        while (*pp && *pp != t)
            pp = &(*pp)->rq_next;
        if (*pp) {
            *pp = t->rq_next;
            if (k.rq_tail == t) {
                k.rq_tail = NULL;
                for (struct k_thread *q = k.rq_head; q; q = q->rq_next)
                    k.rq_tail = q;
            }
        }
        t->rq_next = NULL;
    }
    k_timer_cancel(&t->timer);
    if (p->rs.waiter == t)
        p->rs.waiter = NULL;
    if (t->own_ring) {
        /* The ring goes with the thread: its pending kernel calls and
         * receives are withdrawn now (a live process only; process exit
         * does all of them), completions still owed to it later find the
         * ThreadRef stale and are dropped (docs/abi.md §16). */
        t->own_ring = false;
        t->ring.waiter = NULL;
        t->ring.cq_reserved = 0;
        if (p->state == KP_ALIVE) {
            struct k_tref r = k_thread_ref(t);
            k_pending_thread_exit(p, r);
            ep_thread_exit(p, r);
        }
    }
    p->tslot[t->stack_slot] = NULL;
    if (t->handle)
        threadcap_thread_exit(t); /* its ThreadHandle's join */
    t->state = KT_DEAD;
    t->dead_next = k.dead;
    k.dead = t;
    p->nthreads--;
    k.stats.threads_live--;
}

/*
 * Give t its own ring in the page at user address vaddr (docs/abi.md
 * §15): page aligned, in the buffer area of t's process, and not the page
 * of another thread's ring. The ring starts empty (the kernel resets the
 * header); from then on t's cap_enter uses it. Returns 0 or
 * CAP_ERR_INVALID_REQUEST (t already has one, or t is dead) /
 * CAP_ERR_INVALID_RESULT_BUFFER (a bad page).
 */
int k_thread_attach_ring(struct k_thread *t, uint64_t vaddr)
{
    struct k_process *p = t->proc;
    if (t->own_ring || t->state == KT_DEAD || p->state != KP_ALIVE)
        return CAP_ERR_INVALID_REQUEST;
    if (vaddr & (CAPOS_PAGE_SIZE - 1))
        return CAP_ERR_INVALID_RESULT_BUFFER;
    CapRing *page = k_user_buf(p, vaddr, sizeof(CapRing));
    if (!page)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    for (uint32_t i = 0; i < K_MAX_THREADS; i++) {
        const struct k_thread *o = p->tslot[i];
        if (o && o->own_ring && o->ring.page == page)
            return CAP_ERR_INVALID_RESULT_BUFFER;
    }
    k_memset(&page->hdr, 0, sizeof page->hdr);
    page->hdr.sq_entries = CAP_SQ_ENTRIES;
    page->hdr.cq_entries = CAP_CQ_ENTRIES;
    k_memset(&t->ring, 0, sizeof t->ring);
    t->ring.page = page;
    t->own_ring = true;
    return 0;
}

/* Kill a thread that is not the current one (process exit). */
void k_thread_kill(struct k_thread *t)
{
    K_ASSERT(t != k.current, "k_thread_kill of the current thread");
    if (t->state != KT_DEAD)
        thread_retire(t);
}

/*
 * End the current thread. If it is the last thread of a live process the
 * process exits with status 0. Never returns.
 */
_Noreturn void k_thread_exit(void)
{
    struct k_thread *t = k.current;
    K_ASSERT(t != NULL, "k_thread_exit outside a thread");
    struct k_process *p = t->proc;
    if (p->state == KP_ALIVE && p->nthreads == 1) {
        k_process_exit(p, 0); /* retires t and never returns */
    }
    thread_retire(t);
    port_ctx_exit(t->ctx, k.sched_ctx);
}

static void thread_timeout(struct k_timer *tm)
{
    struct k_thread *t =
        (struct k_thread *)((char *)tm - offsetof(struct k_thread, timer));
    if (t->state == KT_BLOCKED) {
        t->wake = K_WAKE_TIMEOUT;
        k_sched_ready(t);
    }
}

/*
 * Block the current thread until k_thread_wake or deadline (k_now() time,
 * UINT64_MAX for none). Returns why it woke.
 */
enum k_wake k_thread_wait(uint64_t deadline)
{
    struct k_thread *t = k.current;
    K_ASSERT(t != NULL, "k_thread_wait outside a thread");
    t->wake = K_WAKE_NONE;
    t->state = KT_BLOCKED;
    if (deadline != UINT64_MAX)
        k_timer_arm(&t->timer, deadline, thread_timeout);
    k_sched_switch();
    k_timer_cancel(&t->timer);
    return t->wake;
}

/* Wake a blocked thread (no effect on a thread that is not blocked). */
void k_thread_wake(struct k_thread *t)
{
    if (t->state != KT_BLOCKED)
        return;
    k_timer_cancel(&t->timer);
    t->wake = K_WAKE_SIGNAL;
    k_sched_ready(t);
}
