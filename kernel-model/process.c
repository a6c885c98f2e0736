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
        handle_process_exit(p);
    /* Not the last reference when self: the current thread holds one
     * until it is reaped. */
    k_process_put(p);
    if (self)
        k_thread_exit();
}

/*
 * Take ownership of call c's completion: the object returns K_CALL_PENDING
 * and later calls k_pending_done (or, if p exits first, cancel runs).
 */
void k_pending_add(struct k_pending *pd, struct k_call *c,
                   void (*cancel)(struct k_pending *pd))
{
    k_pending_add_to(pd, c->proc, c->user_data, cancel);
    pd->result_addr = c->result_addr;
    pd->result_len = c->result_len;
}

/* The same for an operation without a result buffer (an opcode such as
 * CAP_OP_PARK rather than a CALL). */
void k_pending_add_to(struct k_pending *pd, struct k_process *p,
                      uint64_t user_data, void (*cancel)(struct k_pending *pd))
{
    pd->proc = p;
    pd->user_data = user_data;
    pd->result_addr = 0;
    pd->result_len = 0;
    pd->cancel = cancel;
    pd->ring = k_ring_current();
    pd->next = p->pending;
    p->pending = pd;
}

/*
 * The thread owning ring r has exited (its process lives on): cancel the
 * pending calls submitted on that ring, as process exit does for all of
 * them. Nothing is posted.
 */
void k_pending_thread_exit(struct k_process *p, struct k_tref r)
{
    struct k_pending **pp = &p->pending;
    while (*pp) {
        struct k_pending *pd = *pp;
        if (pd->ring.gen != r.gen || pd->ring.slot != r.slot) {
            pp = &pd->next;
            continue;
        }
        *pp = pd->next;
        pd->next = NULL;
        pd->cancel(pd);
    }
}

static void pending_unlink(struct k_pending *pd)
{
    for (struct k_pending **pp = &pd->proc->pending; *pp; pp = &(*pp)->next) {
        if (*pp == pd) {
            *pp = pd->next;
            break;
        }
    }
    pd->next = NULL;
}

/* Complete a pending call with result (no payload) and unlink it. */
void k_pending_done(struct k_pending *pd, int32_t result)
{
    pending_unlink(pd);
    k_ring_post_result_to(pd->proc, pd->ring, pd->user_data, result);
}

/*
 * Complete a pending call with a result payload (a Cap'n Proto message
 * the object built, len bytes) and unlink it. The payload is copied into
 * the result buffer the call named (validated when it was made; the
 * caller is alive, since exit cancels pending calls) and the CQE carries
 * len, or CAP_ERR_INVALID_RESULT_BUFFER with nothing written when it does
 * not fit. pd's owner frees pd afterwards.
 */
void k_pending_done_result(struct k_pending *pd, const void *payload,
                           uint32_t len)
{
    struct k_process *p = pd->proc;
    pending_unlink(pd);
    if (!k_ring_resolve(p, pd->ring)) {
        /* Its thread is gone: its buffer may be reused, write nothing. */
        k_ring_stale_drop(p);
        return;
    }
    uint16_t none;
    int r = k_ring_deliver(p, pd->result_addr, pd->result_len, NULL, 0, payload,
                           len, NULL, 0, &none);
    k_ring_post_result_to(p, pd->ring, pd->user_data, r);
}

/*
 * As k_pending_done_result, with ncaps kernel objects delivered after the
 * payload as result caps (CapTransferResult records, as a synchronous
 * result's). The caller keeps its references to caps; the caller's table
 * takes its own. Returns the CQE's result: the payload length, or
 * CAP_ERR_INVALID_RESULT_BUFFER / CAP_ERR_TRANSFER_REJECTED when nothing
 * could be delivered (the caps were then not inserted), or
 * CAP_ERR_DISCONNECTED when the submitting thread's ring is gone (the
 * completion is dropped as k_pending_done_result drops it).
 */
int k_pending_done_caps(struct k_pending *pd, const void *payload, uint32_t len,
                        struct k_object *const *caps, uint32_t ncaps)
{
    struct k_process *p = pd->proc;
    struct k_xfer x[CAP_XFER_MAX];
    K_ASSERT(ncaps <= CAP_XFER_MAX, "too many caps in a completion");
    for (uint32_t i = 0; i < ncaps; i++) {
        x[i].obj = caps[i];
        x[i].badge = 0;
        x[i].src_id = 0;
        x[i].mode = CAP_XFER_COPY;
    }
    pending_unlink(pd);
    if (!k_ring_resolve(p, pd->ring)) {
        /* Its thread is gone: deliver nothing, the caller keeps caps. */
        k_ring_stale_drop(p);
        return CAP_ERR_DISCONNECTED;
    }
    uint16_t n = 0;
    int r = k_ring_deliver(p, pd->result_addr, pd->result_len, NULL, 0, payload,
                           len, x, ncaps, &n);
    CapCqe cqe = {.user_data = pd->user_data,
                  .result = r,
                  .flags = r >= 0 && n ? CAP_CQE_F_CAPS : 0,
                  .cap_count = r >= 0 ? n : 0};
    k_ring_post_to(p, pd->ring, &cqe);
    return r;
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
 * Append a named entry for cap_id to p's CapSet (manifest order), listing
 * the interface of the cap's object. Returns 0, or CAP_ERR_INVALID_REQUEST
 * for a bad name or id, CAP_ERR_QUEUE_FULL when the page is full.
 */
int k_capset_add(struct k_process *p, const char *name, uint32_t cap_id)
{
    return k_capset_add_as(p, name, cap_id, 0);
}

/*
 * As k_capset_add, but list interface_id (0: the object's own). Used for a
 * client endpoint facet of a typed service export, which speaks whatever
 * its server serves (docs/schema.md §4.2).
 */
int k_capset_add_as(struct k_process *p, const char *name, uint32_t cap_id,
                    uint64_t interface_id)
{
    struct ct_slot *s = ct_lookup(&p->caps, cap_id);
    size_t n = k_strlen(name);
    if (!s || n == 0 || n >= CAPOS_CAPSET_NAME_MAX)
        return CAP_ERR_INVALID_REQUEST;
    CapSetHeader *h = &p->capset->hdr;
    if (h->count >= CAPOS_CAPSET_MAX_ENTRIES)
        return CAP_ERR_QUEUE_FULL;
    CapSetEntry *e = &p->capset->entries[h->count];
    k_memset(e, 0, sizeof *e);
    e->cap_id = cap_id;
    e->interface_id = interface_id ? interface_id : s->obj->ops->interface_id;
    k_memcpy(e->name, name, n);
    h->count++;
    return 0;
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
