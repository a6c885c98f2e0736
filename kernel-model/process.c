/*
 * process.c - processes: a user arena, a capability table, a ring and
 * threads.
 *
 * The arena is one page-granular mapping seen by the process at
 * CAPOS_ARENA_VADDR: ring page, CapSet page, heap, and thread stacks at the
 * top. Every user address that arrives through the ring is translated and
 * range-checked here before the kernel touches it (docs/abi.md §5).
 *
 * Exit releases authority at once (caps, pending calls and receives,
 * threads); the arena and the struct live until the last reference (the
 * creator's, a thread not yet reaped, a message naming the process) is
 * dropped. Then the process leaves k.procs and is freed ("reaped"). The
 * creator's reference of a process the host made (boot, tests) is held
 * until k_shutdown, so the host may read an exited process's fields; a
 * spawned process's belongs to its ProcessHandle (spawner.c).
 */
#include "kmodel.h"

#define DEFAULT_ARENA (4u << 20)
#define DEFAULT_SLOTS 256u
#define DEFAULT_THREADS 8u
#define MAX_THREADS K_MAX_THREADS
#define DEFAULT_STACK (128u << 10)
#define MIN_STACK (16u << 10)

static size_t page_round(size_t n)
{
    return (n + CAPOS_PAGE_SIZE - 1) & ~(size_t)(CAPOS_PAGE_SIZE - 1);
}

/*
 * Create a live process with an empty cap table, an empty ring and an
 * empty CapSet, holding one reference for its creator (opts->owned says
 * whose, see k_process_opts). opts fields left 0 take defaults. Returns
 * NULL on bad options (arena too small for ring, CapSet, one heap page and
 * the stacks; more than 32 threads; bad slot count) or when out of memory.
 */
struct k_process *k_process_create(const struct k_process_opts *opts)
{
    size_t arena =
        opts->arena_size ? page_round(opts->arena_size) : DEFAULT_ARENA;
    uint32_t slots = opts->cap_slots ? opts->cap_slots : DEFAULT_SLOTS;
    uint32_t threads = opts->max_threads ? opts->max_threads : DEFAULT_THREADS;
    size_t stack =
        opts->stack_size ? page_round(opts->stack_size) : DEFAULT_STACK;
    /* Division, not multiplication: stack * threads may wrap. */
    if (threads > MAX_THREADS || stack < MIN_STACK || arena > 0x40000000u ||
        arena < 3 * CAPOS_PAGE_SIZE ||
        stack > (arena - 3 * CAPOS_PAGE_SIZE) / threads)
        return NULL;
    struct k_process *p = port_alloc(sizeof *p);
    if (!p)
        return NULL;
    p->arena = port_pages_alloc(arena);
    if (!p->arena || ct_init(&p->caps, slots) != 0) {
        if (p->arena)
            port_pages_free(p->arena, arena);
        port_free(p);
        return NULL;
    }
    p->arena_size = arena;
    p->ring = (CapRing *)p->arena;
    p->rs.page = p->ring;
    p->capset = (CapSetPage *)(p->arena + CAPOS_PAGE_SIZE);
    p->ring->hdr.sq_entries = CAP_SQ_ENTRIES;
    p->ring->hdr.cq_entries = CAP_CQ_ENTRIES;
    p->capset->hdr.magic = CAPOS_CAPSET_MAGIC;
    p->capset->hdr.version = CAPOS_CAPSET_VERSION;
    p->capset->hdr.entry_size = sizeof(CapSetEntry);
    p->capset->hdr.heap_vaddr = CAPOS_HEAP_VADDR;
    p->capset->hdr.heap_size =
        arena - 2 * CAPOS_PAGE_SIZE - (size_t)threads * stack;
    p->max_threads = threads;
    p->stack_size = stack;
    p->pid = k.next_pid++;
    p->capset->hdr.pid = p->pid;
    p->state = KP_ALIVE;
    p->refs = 1; /* the creator's */
    p->host_ref = !opts->owned;
    const char *name = opts->name ? opts->name : "process";
    size_t n = k_strlen(name);
    if (n >= sizeof p->name)
        n = sizeof p->name - 1;
    k_memcpy(p->name, name, n);
    p->next = k.procs;
    k.procs = p;
    k.stats.processes_live++;
    k.stats.processes_held++;
    return p;
}

/*
 * Drop a reference. The last one reaps the process: it leaves k.procs and
 * its arena and struct are freed, so the caller must not touch p after a
 * put unless it holds another reference. Only an exited process can lose
 * its last reference (a live one is held by its creator or its threads).
 */
void k_process_put(struct k_process *p)
{
    K_ASSERT(p->refs > 0, "put of freed process");
    if (--p->refs)
        return;
    K_ASSERT(p->state == KP_DEAD, "free of live process");
    for (struct k_process **pp = &k.procs; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    k.stats.processes_held--;
    port_pages_free(p->arena, p->arena_size);
    port_free(p);
}

/*
 * End process p with code. Releases every cap, cancels its outstanding
 * endpoint calls and receives, kills its threads, then completes the wait
 * of its ProcessHandle, if any. If the current thread belongs to p this
 * never returns. No effect on a dead process. The caller must hold a
 * reference to p if it uses p afterwards: exit may drop the last other
 * one (the handle's, when the wait held the handle's last reference).
 */
void k_process_exit(struct k_process *p, int64_t code)
{
    if (p->state != KP_ALIVE)
        return;
    /* Releasing p's caps or its handle's wait may drop references to p
     * (its handle, messages naming it): keep p until the end. */
    k_process_get(p);
    p->state = KP_DEAD;
    p->exit_code = code;
    struct k_thread *self =
        k.current && k.current->proc == p ? k.current : NULL;
    for (struct k_thread *t = p->threads; t; t = t->proc_next)
        if (t != self)
            k_thread_kill(t);
    ep_process_exit(p);
    while (p->pending) {
        struct k_pending *pd = p->pending;
        p->pending = pd->next;
        pd->next = NULL;
        pd->cancel(pd);
    }
    ct_destroy(&p->caps);
    k.stats.processes_live--;
    if (p->handle)
        spawner_process_exit(p);
    /* Not the last reference when self: the current thread holds one
     * until it is reaped. */
    k_process_put(p);
    if (self)
        k_thread_exit();
}

/* p's virtual address of a host pointer into its arena (0 if outside). */
uint64_t k_user_vaddr(struct k_process *p, const void *ptr)
{
    const uint8_t *b = ptr;
    if (b < p->arena || b > p->arena + p->arena_size)
        return 0;
    return CAPOS_ARENA_VADDR + (uint64_t)(b - p->arena);
}

/*
 * Check p's invariants: table consistent, thread count matches its list,
 * CQ reservations never exceed the CQ. Returns 0 or -1.
 */
int k_process_check(const struct k_process *p)
{
    if (p->state == KP_DEAD)
        return p->caps.slots == NULL && p->nthreads == 0 ? 0 : -1;
    if (ct_check(&p->caps) != 0)
        return -1;
    uint32_t n = 0;
    for (const struct k_thread *t = p->threads; t; t = t->proc_next) {
        if (t->state == KT_DEAD)
            continue;
        n++;
        /* A live thread is its slot's, with the slot's generation; its
         * own ring never promises more than its CQ. */
        if (t->stack_slot >= K_MAX_THREADS || p->tslot[t->stack_slot] != t ||
            t->gen != p->tgen[t->stack_slot] || t->gen == 0 ||
            (t->own_ring && t->ring.cq_reserved > CAP_CQ_ENTRIES))
            return -1;
    }
    if (n != p->nthreads)
        return -1;
    /* Only kernel-owned state: the ring header is user memory. */
    if (p->rs.cq_reserved > CAP_CQ_ENTRIES)
        return -1;
    return 0;
}

/* p's exit code for the host: what it exited with once KP_DEAD. */
int64_t k_process_exit_code(const struct k_process *p)
{
    return p->exit_code;
}
