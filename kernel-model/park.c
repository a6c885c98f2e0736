/*
 * park.c - the private ParkSpace kernel object: futex-like wait/wake on a
 * 32-bit word of the holder's own arena, through the compact CAP_OP_PARK
 * and CAP_OP_UNPARK ring opcodes (docs/abi.md §14; upstream names the
 * marker interface and the opcodes, the encoding is a capos-sim choice).
 *
 * Userspace owns the uncontended path with atomics on the word; the kernel
 * only queues and wakes. PARK reads the word once, at submission (a copy,
 * compared with the expected value): a mismatch completes at once with
 * CAP_PARK_MISMATCH, else the call becomes a pending call (k_pending) on
 * the space's FIFO wait queue, keyed by (process, word address), until an
 * UNPARK of the same key wakes it (result CAP_PARK_WOKEN), its timeout on
 * the model clock fires (CAP_PARK_TIMED_OUT) or its process exits (cancel:
 * nothing is posted). Each waiter holds a reference to the space, so
 * releasing the cap while waiters are parked leaves them parked until one
 * of those three. The CQ reservation of the SQE bounds the waiters of a
 * process (at most CAP_CQ_ENTRIES).
 */
#include "kmodel.h"

struct park_waiter {
    struct k_pending pd; /* first: the cancel hook casts back */
    struct k_timer t;
    struct park_space *space;
    struct k_process *proc;
    uint64_t addr;
    struct park_waiter *prev, *next;
};

struct park_space {
    struct k_object obj; /* first */
    struct park_waiter *head, *tail;
};

static void q_unlink(struct park_space *s, struct park_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        s->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        s->tail = w->prev;
    w->prev = w->next = NULL;
}

/* Waiters are recycled through a bounded free list: a contended
 * park/unpark round trip then allocates nothing. */
#define PARK_CACHE_MAX 64u
static struct park_waiter *waiter_cache;
static uint32_t waiter_cached;

static struct park_waiter *waiter_alloc(void)
{
    struct park_waiter *w = waiter_cache;
    if (!w)
        return port_alloc(sizeof *w);
    waiter_cache = w->next;
    waiter_cached--;
    return w;
}

/* Give the recycled waiters back (model shut-down). */
void park_cache_drain(void)
{
    while (waiter_cache) {
        struct park_waiter *w = waiter_cache;
        waiter_cache = w->next;
        port_free(w);
    }
    waiter_cached = 0;
}

/* Leave the queue, drop the space reference and free the waiter. */
static void waiter_free(struct park_waiter *w)
{
    struct park_space *s = w->space;
    q_unlink(s, w);
    k_timer_cancel(&w->t);
    if (waiter_cached < PARK_CACHE_MAX) {
        w->next = waiter_cache;
        waiter_cache = w;
        waiter_cached++;
    } else {
        port_free(w);
    }
    k_obj_unref(&s->obj);
}

static void park_timeout(struct k_timer *t)
{
    struct park_waiter *w =
        (struct park_waiter *)((char *)t - offsetof(struct park_waiter, t));
    k_pending_done(&w->pd, CAP_PARK_TIMED_OUT);
    waiter_free(w);
}

static void park_cancel(struct k_pending *pd)
{
    waiter_free((struct park_waiter *)pd);
}

bool k_is_park_space(const struct k_object *o)
{
    return o->ops->interface_id == K_IFACE_PARK_SPACE;
}

/* The word at addr: 4-byte aligned, in the buffer area (docs/abi.md §5). */
static uint32_t *park_word(struct k_process *p, uint64_t addr)
{
    if (addr & 3u)
        return NULL;
    return k_user_buf(p, addr, sizeof(uint32_t));
}

/*
 * CAP_OP_PARK on space obj: addr the word, expected its expected value,
 * timeout_ns relative (0: none). Returns CAP_PARK_MISMATCH,
 * CAP_ERR_INVALID_PARAMS_BUFFER, CAP_ERR_QUEUE_FULL (out of memory) or
 * K_CALL_PENDING.
 */
int park_wait(struct k_process *p, struct k_object *obj, uint64_t user_data,
              uint64_t addr, uint32_t expected, uint64_t timeout_ns)
{
    struct park_space *s = (struct park_space *)obj;
    const uint32_t *word = park_word(p, addr);
    if (!word)
        return CAP_ERR_INVALID_PARAMS_BUFFER;
    /* The only read of the word: one copy, then compare. */
    if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != expected)
        return CAP_PARK_MISMATCH;
    struct park_waiter *w = waiter_alloc();
    if (!w)
        return CAP_ERR_QUEUE_FULL;
    k_memset(w, 0, sizeof *w);
    k_pending_add_to(&w->pd, p, user_data, park_cancel);
    k_obj_ref(obj);
    w->space = s;
    w->proc = p;
    w->addr = addr;
    w->prev = s->tail;
    if (s->tail)
        s->tail->next = w;
    else
        s->head = w;
    s->tail = w;
    if (timeout_ns) {
        uint64_t now = k_now();
        uint64_t deadline = timeout_ns > UINT64_MAX - now ? UINT64_MAX
                                                          : now + timeout_ns;
        if (deadline != UINT64_MAX)
            k_timer_arm(&w->t, deadline, park_timeout);
    }
    return K_CALL_PENDING;
}

/*
 * CAP_OP_UNPARK on space obj: wake up to count waiters of (p, addr), oldest
 * first. Returns the number woken or CAP_ERR_INVALID_PARAMS_BUFFER.
 */
int park_wake(struct k_process *p, struct k_object *obj, uint64_t addr,
              uint32_t count)
{
    struct park_space *s = (struct park_space *)obj;
    if (!park_word(p, addr))
        return CAP_ERR_INVALID_PARAMS_BUFFER;
    int32_t woken = 0;
    struct park_waiter *w = s->head;
    /* The caller's slot holds a reference: waiter_free never destroys s. */
    while (w && (uint32_t)woken < count) {
        struct park_waiter *next = w->next;
        if (w->proc == p && w->addr == addr) {
            k_pending_done(&w->pd, CAP_PARK_WOKEN);
            waiter_free(w);
            woken++;
        }
        w = next;
    }
    return woken;
}

static int park_call(struct k_object *obj, struct k_call *c)
{
    (void)obj;
    return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                            "ParkSpace has no methods: use CAP_OP_PARK");
}

static void park_destroy(struct k_object *obj)
{
    struct park_space *s = (struct park_space *)obj;
    K_ASSERT(s->head == NULL, "ParkSpace destroyed with waiters");
    port_free(s);
}

static const struct k_object_ops park_ops = {
    .name = "ParkSpace",
    .interface_id = K_IFACE_PARK_SPACE,
    .call = park_call,
    .destroy = park_destroy,
};

/*
 * Give p a private ParkSpace (its own address space's words). Not
 * transferable: a private space names words of one process. Returns 0 and
 * its CapId, or a CAP_ERR_* code.
 */
int parkspace_grant(struct k_process *p, uint32_t *out_id)
{
    struct park_space *s = port_alloc(sizeof *s);
    if (!s)
        return CAP_ERR_INVOKE_FAILED;
    s->head = s->tail = NULL;
    k_obj_init(&s->obj, &park_ops, K_OBJ_NON_TRANSFERABLE);
    return k_obj_grant(p, &s->obj, out_id);
}
