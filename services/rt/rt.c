/*
 * rt.c - capos-rt: entry, CapSet lookup, ring submission and completion
 * routing, result-cap adoption, queued releases, and the heap allocator.
 *
 * All runtime state lives at the start of the process heap (the CapSet
 * header says where the heap is), so each process has its own. The
 * runtime trusts its own ring memory no more than it must: it reads
 * cq_tail with acquire ordering, publishes sq_tail and cq_head with
 * release ordering, and never relies on the kernel-owned indices beyond
 * what the ABI promises (docs/abi.md §4).
 *
 * Rings (docs/runtime.md): the main thread uses the process ring; with a
 * ParkSpace ("park"), threads spawned onto it in CAPOS_RT_RING_BRIDGE
 * mode share it through the ring reactor bridge. Threads started with
 * capos_rt_thread_spawn in CAPOS_RT_RING_PER_THREAD mode (the default)
 * get their own ring from the kernel (docs/abi.md §16) and a runtime
 * thread record that their FS base points at; they submit and wait on
 * their own ring, sleeping in cap_enter, with no bridge involved.
 */
#include <string.h>

#include "capos_rt.h"

#include "capos.capnp.h"
#include "capos/capnp.h"

#define RT_MAGIC 0x43525453u /* "STRC" */
#define RT_STASH 32u         /* at most 32 completions can be outstanding */
#define RT_RELEASES 16u
#define RT_WAITERS 16u /* threads waiting at once (bridge records) */

/*
 * A per-thread wait record of the ring reactor bridge: the tags a waiting
 * thread wants, and the completion the drainer routed to it. The record
 * lives in the runtime state; tags point into the waiter's own stack,
 * valid while it waits. done is the wake word (0 waiting, 1 delivered).
 */
struct rt_waiter {
    const uint64_t *tags; /* NULL: record free */
    unsigned n;
    unsigned which;
    uint32_t done;
    uint32_t pad;
    CapCqe cqe;
};

/* A free or used heap block; the header sits just before the payload. */
struct rt_block {
    uint64_t size; /* payload bytes, multiple of 16 */
    uint64_t used;
    struct rt_block *next_free;
    uint64_t pad;
};

struct capos_capset {
    CapSetPage page;
};

/* One ring as the runtime drives it: the page, our SQ producer index and
 * the completions nobody has claimed yet. */
struct rt_ring {
    CapRing *ring;
    uint32_t sq_tail;
    uint32_t nstash;
    CapCqe stash[RT_STASH];
};

#define RT_THREAD_MAGIC 0x44524854u /* "THRD" */

/* A thread started by capos_rt_thread_spawn: its FS base points here. The
 * block also holds the thread's ring page (page aligned inside it). */
struct rt_thread {
    uint32_t magic;
    uint32_t bridged; /* shares the process ring (bridge mode) */
    void (*fn)(void *);
    void *arg;
    struct rt_ring r;
};

struct rt_state {
    uint32_t magic;
    uint32_t mode; /* enum capos_rt_ring_mode */
    uint64_t next_tag;
    struct rt_ring pr; /* the process ring */
    const CapSetPage *capset;
    uint32_t spawner_cap; /* ThreadSpawner from the CapSet (0: none) */
    uint32_t nreleases;
    uint32_t releases[RT_RELEASES];
    uint8_t *heap_lo, *heap_hi; /* allocator arena after this struct */
    struct rt_block *free_list;
    uint8_t *brk;
    /* Ring reactor bridge (multi-threaded processes, docs/abi.md §4.4):
     * with a ParkSpace ("park" in the CapSet) the runtime lets several
     * threads wait; drainer is the runtime lock naming the one thread
     * that may drain the CQ and wait in cap_enter (0: free). Others find
     * their completion in the stash, routed there by user_data. */
    uint32_t park_cap;
    uint32_t multi;
    uint32_t drainer;
    uint32_t bridged;     /* live threads spawned onto the process ring */
    uint64_t bridge_busy; /* RING_BUSY retries of non-drainers (stats) */
    struct rt_waiter waiters[RT_WAITERS];
};

/* The runtime state of the calling process. */
static struct rt_state *rt(void)
{
    const CapSetPage *cs = capos_user_ptr(CAPOS_CAPSET_VADDR);
    return capos_user_ptr(cs->hdr.heap_vaddr);
}

static uint64_t align16(uint64_t n)
{
    return (n + 15u) & ~(uint64_t)15u;
}

static void rt_init(void)
{
    const CapSetPage *cs = capos_user_ptr(CAPOS_CAPSET_VADDR);
    uint8_t *heap = capos_user_ptr(cs->hdr.heap_vaddr);
    struct rt_state *s = (struct rt_state *)heap;
    __builtin_memset(s, 0, sizeof *s);
    s->magic = RT_MAGIC;
    s->mode = CAPOS_RT_RING_PER_THREAD;
    s->pr.ring = capos_user_ptr(CAPOS_RING_VADDR);
    s->capset = cs;
    s->pr.sq_tail = __atomic_load_n(&s->pr.ring->hdr.sq_tail, __ATOMIC_RELAXED);
    s->next_tag = 1;
    s->heap_lo = heap + align16(sizeof *s);
    s->heap_hi = heap + cs->hdr.heap_size;
    s->brk = s->heap_lo;
    capos_cap_t park;
    if (capos_capset_find((const capos_capset_t *)cs, "park", 0, &park) == 0) {
        s->park_cap = park.id;
        s->multi = 1;
    }
    unsigned n = capos_capset_count((const capos_capset_t *)cs);
    for (unsigned i = 0; i < n; i++) {
        if (cs->entries[i].interface_id == CAPOS_THREAD_SPAWNER_INTERFACE_ID) {
            s->spawner_cap = cs->entries[i].cap_id;
            break;
        }
    }
}

/* The ring the calling thread submits on and waits on: its own when the
 * runtime started it with one (its FS base names its record), else the
 * process ring. */
static struct rt_ring *cur_ring(struct rt_state *s)
{
    uint64_t fs = capos_fs_base();
    if (fs) {
        struct rt_thread *t = capos_user_ptr(fs);
        if (t && t->magic == RT_THREAD_MAGIC && t->r.ring)
            return &t->r;
    }
    return &s->pr;
}

_Noreturn void capos_rt_start(int (*main_fn)(capos_capset_t *))
{
    rt_init();
    int code = main_fn((capos_capset_t *)capos_user_ptr(CAPOS_CAPSET_VADDR));
    capos_rt_flush_releases();
    capos_exit(code);
}

/* ---- CapSet ----------------------------------------------------------- */

unsigned capos_capset_count(const capos_capset_t *caps)
{
    const CapSetHeader *h = &caps->page.hdr;
    if (h->magic != CAPOS_CAPSET_MAGIC || h->version != CAPOS_CAPSET_VERSION)
        return 0;
    return h->count <= CAPOS_CAPSET_MAX_ENTRIES ? h->count
                                                : CAPOS_CAPSET_MAX_ENTRIES;
}

const CapSetEntry *capos_capset_entry(const capos_capset_t *caps, unsigned i)
{
    return i < capos_capset_count(caps) ? &caps->page.entries[i] : NULL;
}

static bool name_eq(const char *entry, const char *name)
{
    unsigned i = 0;
    for (; i < CAPOS_CAPSET_NAME_MAX && name[i]; i++)
        if (entry[i] != name[i])
            return false;
    return i < CAPOS_CAPSET_NAME_MAX && entry[i] == 0 && name[i] == 0;
}

int capos_capset_find(const capos_capset_t *caps, const char *name,
                      uint64_t interface_id, capos_cap_t *out)
{
    unsigned n = capos_capset_count(caps);
    for (unsigned i = 0; i < n; i++) {
        const CapSetEntry *e = &caps->page.entries[i];
        if (!name_eq(e->name, name))
            continue;
        if (interface_id && e->interface_id != interface_id)
            return CAPOS_RT_E_WRONG_INTERFACE;
        out->id = e->cap_id;
        out->interface_id = e->interface_id;
        return 0;
    }
    return CAPOS_RT_E_NOT_FOUND;
}

/* ---- ring ------------------------------------------------------------- */

static uint64_t rt_tag(struct rt_state *s)
{
    uint64_t t;
    do /* atomic: sibling threads tag concurrently; 0 is never a tag */
        t = __atomic_fetch_add(&s->next_tag, 1, __ATOMIC_RELAXED);
    while (t == 0);
    return t;
}

uint64_t capos_rt_tag(void)
{
    return rt_tag(rt());
}

/*
 * Write one SQE at our tail, field by field at natural widths (so the
 * kernel's field-wise fetch forwards from these stores), and publish it.
 */
static void sq_put(struct rt_ring *s, const CapSqe *v)
{
    CapSqe *d = &s->ring->sq[s->sq_tail & (CAP_SQ_ENTRIES - 1)];
    d->opcode = v->opcode;
    d->reserved0 = 0;
    d->flags = v->flags;
    d->cap_id = v->cap_id;
    d->user_data = v->user_data;
    d->addr = v->addr;
    d->len = v->len;
    d->method_id = v->method_id;
    d->xfer_cap_count = v->xfer_cap_count;
    d->result_addr = v->result_addr;
    d->result_len = v->result_len;
    d->call_id = v->call_id;
    d->pipeline_dep = 0;
    d->pipeline_field = 0;
    uint16_t z2 = 0;
    __builtin_memcpy(d->reserved1, &z2, 2);
    d->interface_id = v->interface_id;
    s->sq_tail++;
    __atomic_store_n(&s->ring->hdr.sq_tail, s->sq_tail, __ATOMIC_RELEASE);
}

/* Hand c to the waiting thread whose record names its tag, if any. */
static bool route_to_waiter(struct rt_state *s, const CapCqe *c)
{
    for (unsigned i = 0; i < RT_WAITERS; i++) {
        struct rt_waiter *w = &s->waiters[i];
        if (!w->tags || __atomic_load_n(&w->done, __ATOMIC_ACQUIRE))
            continue;
        for (unsigned j = 0; j < w->n; j++) {
            if (w->tags[j] != c->user_data)
                continue;
            w->cqe = *c;
            w->which = j;
            __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
            return true;
        }
    }
    return false;
}

/* Whether ring q is shared through the bridge: the process ring of a
 * process with "park", in bridge mode or with threads spawned onto it. In
 * per-thread mode with none, the main thread is its only user. */
static bool bridged(const struct rt_state *st, const struct rt_ring *q)
{
    return q == &st->pr && st->multi &&
           (st->mode == CAPOS_RT_RING_BRIDGE ||
            __atomic_load_n(&st->bridged, __ATOMIC_RELAXED) != 0);
}

/* Move every CQE posted on ring q to its waiter's record (the process
 * ring's bridge) or into q's stash; returns CAPOS_RT_E_TOO_MANY if it
 * overflows (cannot happen while at most 32 operations are outstanding). */
static int cq_drain(struct rt_state *st, struct rt_ring *s)
{
    CapRingHeader *h = &s->ring->hdr;
    uint32_t tail = __atomic_load_n(&h->cq_tail, __ATOMIC_ACQUIRE);
    uint32_t head = h->cq_head;
    bool bridge = bridged(st, s);
    int r = 0;
    for (; head != tail; head++) {
        const CapCqe *c = &s->ring->cq[head & (CAP_CQ_ENTRIES - 1)];
        if (bridge && route_to_waiter(st, c))
            continue;
        if (s->nstash == RT_STASH) {
            r = CAPOS_RT_E_TOO_MANY;
            break;
        }
        s->stash[s->nstash++] = *c;
    }
    __atomic_store_n(&h->cq_head, head, __ATOMIC_RELEASE);
    return r;
}

static bool stash_take(struct rt_ring *s, uint64_t user_data, CapCqe *out)
{
    for (uint32_t i = 0; i < s->nstash; i++) {
        if (s->stash[i].user_data != user_data)
            continue;
        *out = s->stash[i];
        s->stash[i] = s->stash[--s->nstash];
        return true;
    }
    return false;
}

/* Room in q's SQ: wait in the kernel until it has consumed enough. */
static int sq_room(struct rt_state *st, struct rt_ring *s)
{
    while (s->sq_tail -
               __atomic_load_n(&s->ring->hdr.sq_head, __ATOMIC_ACQUIRE) >=
           CAP_SQ_ENTRIES) {
        int r = capos_cap_enter(0, 0);
        if (r < 0)
            return r;
        if (cq_drain(st, s) < 0)
            return CAPOS_RT_E_TOO_MANY;
        if (s->sq_tail - s->ring->hdr.sq_head >= CAP_SQ_ENTRIES) {
            /* The kernel stops consuming only when the CQ is full of
             * completions not drained yet, which cq_drain just did;
             * wait for one more to make progress. */
            r = capos_cap_enter(1, CAP_TIMEOUT_INFINITE);
            if (r == CAP_ERR_RING_BUSY && bridged(st, s))
                continue; /* a sibling waits there and drains */
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static int flush_queued_releases(struct rt_state *s, struct rt_ring *q,
                                 uint64_t *first_tag, uint32_t *count)
{
    *count = 0;
    while (s->nreleases) {
        int r = sq_room(s, q);
        if (r < 0)
            return r;
        uint64_t tag = capos_rt_tag();
        if (*count == 0)
            *first_tag = tag;
        CapSqe sqe = {.opcode = CAP_OP_RELEASE,
                      .cap_id = s->releases[--s->nreleases],
                      .user_data = tag};
        sq_put(q, &sqe);
        (*count)++;
    }
    return 0;
}

/* Release completions nobody waits for: drop them when they show up. */
static void stash_drop_releases(struct rt_ring *s, uint64_t first, uint32_t n)
{
    for (uint32_t i = 0; i < s->nstash;) {
        uint64_t t = s->stash[i].user_data;
        if (t >= first && t < first + n)
            s->stash[i] = s->stash[--s->nstash];
        else
            i++;
    }
}

/* capos_rt_submit on ring q of state s (the public calls find both once
 * per call: hosted, each lookup is a call into the simulator). */
static int rt_submit(struct rt_state *s, struct rt_ring *q, const CapSqe *sqe)
{
    uint64_t first = 0;
    uint32_t n = 0;
    int r = flush_queued_releases(s, q, &first, &n);
    if (r == 0)
        r = sq_room(s, q);
    if (r < 0)
        return r;
    sq_put(q, sqe);
    if (n) {
        /* Let the kernel take the releases now so their completions do
         * not pile up; they are dropped from the stash when drained. */
        r = capos_cap_enter(0, 0);
        cq_drain(s, q);
        stash_drop_releases(q, first, n);
    }
    return r < 0 ? r : 0;
}

int capos_rt_submit(const CapSqe *sqe)
{
    struct rt_state *s = rt();
    return rt_submit(s, cur_ring(s), sqe);
}

static int rt_wait_any(struct rt_state *s, struct rt_ring *q,
                       const uint64_t *tags, unsigned n, unsigned *which,
                       CapCqe *out, uint64_t timeout_ns);

int capos_rt_wait(uint64_t user_data, CapCqe *out, uint64_t timeout_ns)
{
    unsigned which;
    return capos_rt_wait_any(&user_data, 1, &which, out, timeout_ns);
}

/* Take the stashed completion of the first of tags that has one. */
static bool stash_take_any(struct rt_ring *s, const uint64_t *tags, unsigned n,
                           unsigned *which, CapCqe *out)
{
    for (unsigned i = 0; i < n; i++) {
        if (stash_take(s, tags[i], out)) {
            *which = i;
            return true;
        }
    }
    return false;
}

/* Take the runtime drainer lock (multi-threaded mode). */
static bool drainer_try_lock(struct rt_state *s)
{
    uint32_t z = 0;
    return __atomic_compare_exchange_n(&s->drainer, &z, 1, false,
                                       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static void drainer_unlock(struct rt_state *s)
{
    __atomic_store_n(&s->drainer, 0, __ATOMIC_RELEASE);
}

static struct rt_waiter *waiter_get(struct rt_state *s, const uint64_t *tags,
                                    unsigned n)
{
    for (unsigned i = 0; i < RT_WAITERS; i++) {
        struct rt_waiter *w = &s->waiters[i];
        if (w->tags)
            continue;
        w->tags = tags;
        w->n = n;
        w->which = 0;
        __atomic_store_n(&w->done, 0, __ATOMIC_RELAXED);
        return w;
    }
    return NULL;
}

/* Collect a delivered record (or free an undelivered one); true if it
 * carried a completion. */
static bool waiter_put(struct rt_waiter *w, unsigned *which, CapCqe *out)
{
    bool got = __atomic_load_n(&w->done, __ATOMIC_ACQUIRE) != 0;
    if (got) {
        *which = w->which;
        *out = w->cqe;
    }
    w->tags = NULL;
    return got;
}

int capos_rt_wait_any(const uint64_t *tags, unsigned n, unsigned *which,
                      CapCqe *out, uint64_t timeout_ns)
{
    struct rt_state *s = rt();
    return rt_wait_any(s, cur_ring(s), tags, n, which, out, timeout_ns);
}

static int rt_wait_any(struct rt_state *s, struct rt_ring *q,
                       const uint64_t *tags, unsigned n, unsigned *which,
                       CapCqe *out, uint64_t timeout_ns)
{
    if (!bridged(s, q)) {
        /* The thread's own ring, or a single-threaded process: this
         * thread is the only drainer and sleeps in cap_enter. */
        for (;;) {
            if (cq_drain(s, q) < 0)
                return CAPOS_RT_E_TOO_MANY;
            if (stash_take_any(q, tags, n, which, out))
                return 0;
            int r = capos_cap_enter(1, timeout_ns);
            if (r == CAP_ERR_RING_BUSY || r == CAP_ERR_RING_CORRUPT ||
                r == CAP_ERR_INVALID_REQUEST)
                return r;
            if (r >= 0 && timeout_ns != CAP_TIMEOUT_INFINITE) {
                cq_drain(s, q);
                return stash_take_any(q, tags, n, which, out)
                           ? 0
                           : CAPOS_RT_E_TIMEOUT;
            }
        }
    }

    /* Bridge: a completion drained before this wait sits in the stash;
     * later ones are routed to this thread's record by the drainer. */
    if (stash_take_any(q, tags, n, which, out))
        return 0;
    struct rt_waiter *w = waiter_get(s, tags, n);
    if (!w)
        return CAPOS_RT_E_TOO_MANY;
    int r = 0;
    for (;;) {
        if (__atomic_load_n(&w->done, __ATOMIC_ACQUIRE))
            break;
        if (!drainer_try_lock(s)) {
            /* Another thread drains and waits in cap_enter: the kernel
             * refuses a second waiter (RING_BUSY) after letting the
             * others run; check the record again. min_complete is the
             * CQ size so that CQEs already posted for the drainer do not
             * make this return at once without yielding. Non-drainers
             * do not time out (a bridge limit). */
            s->bridge_busy++;
            r = capos_cap_enter(CAP_CQ_ENTRIES, CAP_TIMEOUT_INFINITE);
            if (r == CAP_ERR_RING_CORRUPT || r == CAP_ERR_INVALID_REQUEST)
                break;
            r = 0;
            continue;
        }
        /* The drainer: route everything posted, then wait for more. A
         * completion stashed before the record was registered is taken
         * here, under the lock. */
        r = cq_drain(s, q) < 0 ? CAPOS_RT_E_TOO_MANY : 0;
        if (r == 0 && !__atomic_load_n(&w->done, __ATOMIC_ACQUIRE) &&
            stash_take_any(q, tags, n, &w->which, &w->cqe))
            __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
        if (r == 0 && !__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
            r = capos_cap_enter(1, timeout_ns);
            if (r >= 0) {
                int d = cq_drain(s, q);
                r = d < 0 ? d : 0;
                if (r == 0 && timeout_ns != CAP_TIMEOUT_INFINITE &&
                    !__atomic_load_n(&w->done, __ATOMIC_ACQUIRE))
                    r = CAPOS_RT_E_TIMEOUT;
            }
        }
        drainer_unlock(s);
        if (r < 0)
            break;
    }
    if (waiter_put(w, which, out))
        return 0;
    return r < 0 ? r : CAPOS_RT_E_TIMEOUT;
}

int capos_rt_call(CapSqe *sqe, CapCqe *out)
{
    struct rt_state *s = rt();
    struct rt_ring *q = cur_ring(s);
    sqe->user_data = rt_tag(s);
    int r = rt_submit(s, q, sqe);
    if (r < 0)
        return r;
    unsigned which;
    return rt_wait_any(s, q, &sqe->user_data, 1, &which, out,
                       CAP_TIMEOUT_INFINITE);
}

int capos_rt_invoke(capos_cap_t cap, uint16_t method, const void *params,
                    uint32_t params_len, void *result, uint32_t result_len,
                    CapCqe *cqe)
{
    /* The interface the cap was adopted under: the kernel refuses the
     * CALL if the slot speaks another (docs/abi.md §4.5). */
    CapSqe sqe = {.opcode = CAP_OP_CALL,
                  .cap_id = cap.id,
                  .interface_id = cap.interface_id,
                  .method_id = method,
                  .addr = params_len ? capos_va(params) : 0,
                  .len = params_len,
                  .result_addr = result_len ? capos_va(result) : 0,
                  .result_len = result_len};
    CapCqe c;
    int r = capos_rt_call(&sqe, &c);
    if (r < 0)
        return r;
    if (cqe)
        *cqe = c;
    return c.result;
}

int capos_rt_call_capnp(capos_cap_t cap, uint16_t method,
                        struct capnp_builder *params, void *result,
                        uint32_t result_len, struct capnp_message *msg,
                        struct capnp_struct *root)
{
    size_t plen = 0;
    int r = capnp_finish(params, &plen);
    if (r < 0)
        return r;
    r = capos_rt_invoke(cap, method, params->buf, (uint32_t)plen, result,
                        result_len, NULL);
    if (r < 0 || !msg)
        return r;
    int d = capnp_msg_init(msg, result, (size_t)r, NULL);
    if (d == 0 && root)
        d = capnp_msg_root(msg, root);
    return d < 0 ? d : r;
}

bool capos_rt_keep_first_cap(const CapCqe *c, const void *res,
                             uint64_t interface_id, capos_cap_t *first)
{
    bool have = false;
    for (uint32_t i = 0; i < c->cap_count && i < CAP_XFER_MAX; i++) {
        CapTransferResult rec;
        memcpy(&rec,
               (const uint8_t *)res + CAP_ALIGN8((uint32_t)c->result) +
                   i * sizeof rec,
               sizeof rec);
        capos_cap_t cap = {rec.cap_id, rec.interface_id};
        if (i == 0 && (interface_id == 0 || rec.interface_id == interface_id)) {
            *first = cap;
            have = true;
        } else {
            capos_rt_release(cap);
        }
    }
    return have;
}

int capos_rt_adopt(const CapTransferResult *rec, uint64_t interface_id,
                   capos_cap_t *out)
{
    if (interface_id && rec->interface_id != interface_id) {
        /* Not what the caller expects: do not keep it either. */
        capos_cap_t stray = {rec->cap_id, rec->interface_id};
        capos_rt_release(stray);
        return CAPOS_RT_E_WRONG_INTERFACE;
    }
    out->id = rec->cap_id;
    out->interface_id = rec->interface_id;
    return 0;
}

void capos_rt_release(capos_cap_t cap)
{
    struct rt_state *s = rt();
    if (s->nreleases == RT_RELEASES)
        capos_rt_flush_releases();
    s->releases[s->nreleases++] = cap.id;
}

int capos_rt_flush_releases(void)
{
    struct rt_state *s = rt();
    uint64_t first = 0;
    uint32_t n = 0;
    if (flush_queued_releases(s, cur_ring(s), &first, &n) < 0 || n == 0)
        return 0;
    int refused = 0;
    for (uint32_t i = 0; i < n; i++) {
        CapCqe c;
        if (capos_rt_wait(first + i, &c, CAP_TIMEOUT_INFINITE) == 0 &&
            c.result < 0)
            refused++;
    }
    return refused;
}

/* ---- heap ------------------------------------------------------------- */

void *capos_alloc(size_t n)
{
    struct rt_state *s = rt();
    uint64_t need = align16(n ? n : 1);
    struct rt_block **pp = &s->free_list;
    for (; *pp; pp = &(*pp)->next_free) {
        struct rt_block *b = *pp;
        if (b->size < need)
            continue;
        *pp = b->next_free;
        b->used = 1;
        b->next_free = NULL;
        return b + 1;
    }
    if ((uint64_t)(s->heap_hi - s->brk) < sizeof(struct rt_block) + need)
        return NULL;
    struct rt_block *b = (struct rt_block *)s->brk;
    s->brk += sizeof *b + need;
    b->size = need;
    b->used = 1;
    b->next_free = NULL;
    return b + 1;
}

void *capos_zalloc(size_t n)
{
    void *p = capos_alloc(n);
    if (p)
        memset(p, 0, n);
    return p;
}

bool capos_alloc_call_bufs(uint8_t **pbuf, uint8_t **rbuf, size_t n)
{
    *pbuf = capos_alloc(n);
    *rbuf = capos_alloc(n);
    return *pbuf && *rbuf;
}

void capos_free(void *p)
{
    if (!p)
        return;
    struct rt_state *s = rt();
    struct rt_block *b = (struct rt_block *)p - 1;
    b->used = 0;
    b->next_free = s->free_list;
    s->free_list = b;
}

int capos_rt_park_space(capos_cap_t *out)
{
    struct rt_state *s = rt();
    if (!s->multi)
        return CAPOS_RT_E_NOT_FOUND;
    out->id = s->park_cap;
    out->interface_id = 0;
    return 0;
}

uint64_t capos_rt_bridge_busy(void)
{
    return rt()->bridge_busy;
}

int capos_rt_set_ring_mode(enum capos_rt_ring_mode mode)
{
    if (mode != CAPOS_RT_RING_BRIDGE && mode != CAPOS_RT_RING_PER_THREAD)
        return CAP_ERR_INVALID_REQUEST;
    rt()->mode = (uint32_t)mode;
    return 0;
}

enum capos_rt_ring_mode capos_rt_ring_mode(void)
{
    return (enum capos_rt_ring_mode)rt()->mode;
}

/* ---- threads ---------------------------------------------------------- */

/* Every runtime-started thread begins here: run fn(arg), then return,
 * which ends the thread (the handle's join reports 0). */
static void rt_thread_start(void *arg)
{
    /* arg is the record's user address (spawn passes it unchanged). */
    struct rt_thread *t = capos_user_ptr((uint64_t)(uintptr_t)arg);
    t->fn(t->arg);
}

int capos_rt_thread_spawn(void (*fn)(void *), void *arg, capos_thread_t *out)
{
    struct rt_state *s = rt();
    if (!s->spawner_cap)
        return CAPOS_RT_E_NOT_FOUND;
    bool own = s->mode == CAPOS_RT_RING_PER_THREAD;
    /* The record, and in per-thread mode a page-aligned ring page after
     * it, in one heap block. */
    size_t size = sizeof(struct rt_thread) + (own ? 2 * CAPOS_PAGE_SIZE : 0);
    uint8_t *block = capos_alloc(size);
    if (!block)
        return CAPOS_RT_E_NO_MEMORY;
    __builtin_memset(block, 0, sizeof(struct rt_thread));
    struct rt_thread *t = (struct rt_thread *)block;
    t->magic = RT_THREAD_MAGIC;
    t->fn = fn;
    t->arg = arg;
    t->bridged = !own;
    uint64_t ring_va = 0;
    if (own) {
        uint64_t va = capos_va(block + sizeof *t);
        ring_va = (va + CAPOS_PAGE_SIZE - 1) & ~(uint64_t)(CAPOS_PAGE_SIZE - 1);
        t->r.ring = capos_user_ptr(ring_va);
    }
    uint64_t params[8];
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, params, sizeof params);
    capos_ThreadSpawner_spawn_Params_init_root(&b, &p);
    capos_ThreadSpawner_spawn_Params_set_entry(
        &p, (uint64_t)(uintptr_t)rt_thread_start);
    capos_ThreadSpawner_spawn_Params_set_arg(&p, capos_va(t));
    capos_ThreadSpawner_spawn_Params_set_ring(&p, ring_va);
    capos_ThreadSpawner_spawn_Params_set_fsBase(&p, own ? capos_va(t) : 0);
    uint64_t res[8];
    capos_cap_t spawner = {s->spawner_cap, CAPOS_THREAD_SPAWNER_INTERFACE_ID};
    CapCqe c;
    size_t plen = 0;
    /* A thread on the process ring is counted before it can run, so the
     * bridge is engaged from its first wait. */
    if (!own)
        __atomic_fetch_add(&s->bridged, 1, __ATOMIC_RELAXED);
    int r = capnp_finish(&b, &plen);
    if (r == 0)
        r = capos_rt_invoke(spawner, CAPOS_THREAD_SPAWNER_SPAWN_METHOD_ID,
                            params, (uint32_t)plen, res, sizeof res, &c);
    if (r >= 0 && c.cap_count != 1)
        r = CAP_ERR_INVOKE_FAILED;
    if (r < 0) {
        if (!own)
            __atomic_fetch_sub(&s->bridged, 1, __ATOMIC_RELAXED);
        capos_free(block);
        return r;
    }
    CapTransferResult rec;
    __builtin_memcpy(&rec, (uint8_t *)res + CAP_ALIGN8((uint32_t)r),
                     sizeof rec);
    r = capos_rt_adopt(&rec, CAPOS_THREAD_HANDLE_INTERFACE_ID, &out->handle);
    if (r < 0) {
        /* Not a handle: the thread runs on detached; keep its record. */
        return r;
    }
    out->record = block;
    return 0;
}

int capos_rt_thread_join(capos_thread_t *t, int64_t *exit_code)
{
    if (!t->record)
        return CAPOS_RT_E_NOT_FOUND;             /* joined already */
    uint64_t params[2] = {(uint64_t)1 << 32, 0}; /* an empty message */
    uint64_t res[4];
    CapCqe c;
    int r = capos_rt_invoke(t->handle, CAPOS_THREAD_HANDLE_JOIN_METHOD_ID,
                            params, sizeof params, res, sizeof res, &c);
    if (r < 0)
        return r;
    capnp_message m;
    capnp_struct root;
    if (capnp_msg_init(&m, res, (size_t)r, NULL) != 0 ||
        capnp_msg_root(&m, &root) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (exit_code)
        *exit_code = capos_ThreadHandle_join_Results_get_exitCode(&root);
    /* The thread is gone: its record and ring page are free again. */
    struct rt_thread *rec = t->record;
    if (rec->bridged)
        __atomic_fetch_sub(&rt()->bridged, 1, __ATOMIC_RELAXED);
    capos_rt_release(t->handle);
    capos_free(t->record);
    t->record = NULL;
    return 0;
}

uint64_t capos_va(const void *p)
{
    return capos_user_vaddr(p);
}
