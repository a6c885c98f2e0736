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
 */
#include "capos_rt.h"

#include "capos/capnp.h"

#define RT_MAGIC 0x43525453u /* "STRC" */
#define RT_STASH 32u         /* at most 32 completions can be outstanding */
#define RT_RELEASES 16u
#define RT_WAITERS 16u       /* threads waiting at once (bridge records) */

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

struct rt_state {
    uint32_t magic;
    uint32_t sq_tail; /* our producer index */
    uint64_t next_tag;
    CapRing *ring;
    const CapSetPage *capset;
    CapCqe stash[RT_STASH]; /* completions nobody has claimed yet */
    uint32_t nstash;
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
    s->ring = capos_user_ptr(CAPOS_RING_VADDR);
    s->capset = cs;
    s->sq_tail = __atomic_load_n(&s->ring->hdr.sq_tail, __ATOMIC_RELAXED);
    s->next_tag = 1;
    s->heap_lo = heap + align16(sizeof *s);
    s->heap_hi = heap + cs->hdr.heap_size;
    s->brk = s->heap_lo;
    capos_cap_t park;
    if (capos_capset_find((const capos_capset_t *)cs, "park", 0, &park) ==
        0) {
        s->park_cap = park.id;
        s->multi = 1;
    }
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

uint64_t capos_rt_tag(void)
{
    struct rt_state *s = rt();
    uint64_t t;
    do /* atomic: sibling threads tag concurrently; 0 is never a tag */
        t = __atomic_fetch_add(&s->next_tag, 1, __ATOMIC_RELAXED);
    while (t == 0);
    return t;
}

/*
 * Write one SQE at our tail, field by field at natural widths (so the
 * kernel's field-wise fetch forwards from these stores), and publish it.
 */
static void sq_put(struct rt_state *s, const CapSqe *v)
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
    uint64_t z8 = 0;
    uint16_t z2 = 0;
    __builtin_memcpy(d->reserved1, &z8, 8);
    __builtin_memcpy(d->reserved1 + 8, &z2, 2);
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

/* Move every posted CQE to its waiter's record or into the stash; returns CAPOS_RT_E_TOO_MANY if it
 * overflows (cannot happen while at most 32 operations are outstanding). */
static int cq_drain(struct rt_state *s)
{
    CapRingHeader *h = &s->ring->hdr;
    uint32_t tail = __atomic_load_n(&h->cq_tail, __ATOMIC_ACQUIRE);
    uint32_t head = h->cq_head;
    int r = 0;
    for (; head != tail; head++) {
        const CapCqe *c = &s->ring->cq[head & (CAP_CQ_ENTRIES - 1)];
        if (route_to_waiter(s, c))
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

static bool stash_take(struct rt_state *s, uint64_t user_data, CapCqe *out)
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

/* Room in the SQ: wait in the kernel until it has consumed enough. */
static int sq_room(struct rt_state *s)
{
    while (s->sq_tail - __atomic_load_n(&s->ring->hdr.sq_head,
                                        __ATOMIC_ACQUIRE) >=
           CAP_SQ_ENTRIES) {
        int r = capos_cap_enter(0, 0);
        if (r < 0)
            return r;
        if (cq_drain(s) < 0)
            return CAPOS_RT_E_TOO_MANY;
        if (s->sq_tail - s->ring->hdr.sq_head >= CAP_SQ_ENTRIES) {
            /* The kernel stops consuming only when the CQ is full of
             * completions not drained yet, which cq_drain just did;
             * wait for one more to make progress. */
            r = capos_cap_enter(1, CAP_TIMEOUT_INFINITE);
            if (r == CAP_ERR_RING_BUSY && s->multi)
                continue; /* a sibling waits there and drains */
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static int flush_queued_releases(struct rt_state *s, uint64_t *first_tag,
                                 uint32_t *count)
{
    *count = 0;
    while (s->nreleases) {
        int r = sq_room(s);
        if (r < 0)
            return r;
        uint64_t tag = capos_rt_tag();
        if (*count == 0)
            *first_tag = tag;
        CapSqe sqe = {.opcode = CAP_OP_RELEASE,
                      .cap_id = s->releases[--s->nreleases],
                      .user_data = tag};
        sq_put(s, &sqe);
        (*count)++;
    }
    return 0;
}

/* Release completions nobody waits for: drop them when they show up. */
static void stash_drop_releases(struct rt_state *s, uint64_t first,
                                uint32_t n)
{
    for (uint32_t i = 0; i < s->nstash;) {
        uint64_t t = s->stash[i].user_data;
        if (t >= first && t < first + n)
            s->stash[i] = s->stash[--s->nstash];
        else
            i++;
    }
}

int capos_rt_submit(const CapSqe *sqe)
{
    struct rt_state *s = rt();
    uint64_t first = 0;
    uint32_t n = 0;
    int r = flush_queued_releases(s, &first, &n);
    if (r == 0)
        r = sq_room(s);
    if (r < 0)
        return r;
    sq_put(s, sqe);
    if (n) {
        /* Let the kernel take the releases now so their completions do
         * not pile up; they are dropped from the stash when drained. */
        r = capos_cap_enter(0, 0);
        cq_drain(s);
        stash_drop_releases(s, first, n);
    }
    return r < 0 ? r : 0;
}

int capos_rt_wait(uint64_t user_data, CapCqe *out, uint64_t timeout_ns)
{
    unsigned which;
    return capos_rt_wait_any(&user_data, 1, &which, out, timeout_ns);
}

/* Take the stashed completion of the first of tags that has one. */
static bool stash_take_any(struct rt_state *s, const uint64_t *tags,
                           unsigned n, unsigned *which, CapCqe *out)
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
    if (!s->multi) {
        /* Single-threaded: this thread is the only drainer. */
        for (;;) {
            if (cq_drain(s) < 0)
                return CAPOS_RT_E_TOO_MANY;
            if (stash_take_any(s, tags, n, which, out))
                return 0;
            int r = capos_cap_enter(1, timeout_ns);
            if (r == CAP_ERR_RING_BUSY || r == CAP_ERR_RING_CORRUPT ||
                r == CAP_ERR_INVALID_REQUEST)
                return r;
            if (r >= 0 && timeout_ns != CAP_TIMEOUT_INFINITE) {
                cq_drain(s);
                return stash_take_any(s, tags, n, which, out)
                           ? 0
                           : CAPOS_RT_E_TIMEOUT;
            }
        }
    }

    /* Bridge: a completion drained before this wait sits in the stash;
     * later ones are routed to this thread's record by the drainer. */
    if (stash_take_any(s, tags, n, which, out))
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
        r = cq_drain(s) < 0 ? CAPOS_RT_E_TOO_MANY : 0;
        if (r == 0 && !__atomic_load_n(&w->done, __ATOMIC_ACQUIRE) &&
            stash_take_any(s, tags, n, &w->which, &w->cqe))
            __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
        if (r == 0 && !__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
            r = capos_cap_enter(1, timeout_ns);
            if (r >= 0) {
                int d = cq_drain(s);
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
    sqe->user_data = capos_rt_tag();
    int r = capos_rt_submit(sqe);
    if (r < 0)
        return r;
    return capos_rt_wait(sqe->user_data, out, CAP_TIMEOUT_INFINITE);
}

int capos_rt_invoke(capos_cap_t cap, uint16_t method, const void *params,
                    uint32_t params_len, void *result, uint32_t result_len,
                    CapCqe *cqe)
{
    CapSqe sqe = {.opcode = CAP_OP_CALL,
                  .cap_id = cap.id,
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
    if (flush_queued_releases(s, &first, &n) < 0 || n == 0)
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

uint64_t capos_va(const void *p)
{
    return capos_user_vaddr(p);
}
