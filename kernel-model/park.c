/*
 * park.c - the private ParkSpace kernel object: futex-like wait/wake on a
 * 32-bit word of the holder's own arena, through the compact CAP_OP_PARK
 * and CAP_OP_UNPARK ring opcodes (docs/abi.md §14; upstream names the
 * interface and the opcodes, the encoding is a capos-sim choice).
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
 *
 * The generic form (docs/abi.md §14.1) is two CALL methods on the same
 * object sharing this implementation: wait @0 (addr, expected, timeoutNs)
 * -> (outcome) and wake @1 (addr, count) -> (woken). A generic waiter
 * completes with a result message {outcome} instead of a bare result.
 */
#include "kmodel.h"

struct park_waiter {
    struct k_pending pd; /* first: the cancel hook casts back */
    struct k_timer t;
    struct park_space *space;
    struct k_process *proc;
    uint64_t addr;
    bool generic; /* a ParkSpace.wait CALL: complete with {outcome} */
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

/* Ordinals and layouts from the generated capos.capnp.h. */
enum {
    PARK_WAIT = CAPOS_PARK_SPACE_WAIT_METHOD_ID,
    PARK_WAKE = CAPOS_PARK_SPACE_WAKE_METHOD_ID,
};
static const char *const park_methods[] = {
    [PARK_WAIT] = "wait",
    [PARK_WAKE] = "wake",
};

/* Build wait's result message {outcome} into b; 0 or a codec error. */
static int wait_result(capnp_builder *b, uint32_t outcome)
{
    capnp_struct_builder res;
    int r = capos_ParkSpace_wait_Results_init_root(b, &res);
    if (r == 0)
        capos_ParkSpace_wait_Results_set_outcome(&res, outcome);
    return r;
}

/* Build wake's result message {woken} into b; 0 or a codec error. */
static int wake_result(capnp_builder *b, uint32_t woken)
{
    capnp_struct_builder res;
    int r = capos_ParkSpace_wake_Results_init_root(b, &res);
    if (r == 0)
        capos_ParkSpace_wake_Results_set_woken(&res, woken);
    return r;
}

/* Complete waiter w with outcome (CAP_PARK_*) in its own form and free
 * it. */
static void waiter_done(struct park_waiter *w, int32_t outcome)
{
    if (!w->generic) {
        k_pending_done(&w->pd, outcome);
    } else {
        uint64_t buf[3];
        capnp_builder b;
        size_t len = 0;
        capnp_builder_init(&b, buf, sizeof buf);
        int r = wait_result(&b, (uint32_t)outcome);
        if (r == 0)
            r = capnp_finish(&b, &len);
        K_ASSERT(r == 0, "park outcome does not fit its buffer");
        k_pending_done_result(&w->pd, buf, (uint32_t)len);
    }
    waiter_free(w);
}

static void park_timeout(struct k_timer *t)
{
    struct park_waiter *w =
        (struct park_waiter *)((char *)t - offsetof(struct park_waiter, t));
    waiter_done(w, CAP_PARK_TIMED_OUT);
}

static void park_cancel(struct k_pending *pd)
{
    waiter_free((struct park_waiter *)pd);
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
/* Queue a waiter of (p, addr) on s, pending in pd's form (the caller has
 * linked nothing yet); c is the generic form's CALL, NULL for PARK. */
static int wait_common(struct k_process *p, struct park_space *s,
                       struct k_call *c, uint64_t user_data, uint64_t addr,
                       uint32_t expected, uint64_t timeout_ns)
{
    const uint32_t *word = park_word(p, addr);
    if (!word)
        return CAP_ERR_INVALID_PARAMS_BUFFER;
    /* The only read of the word: one copy, then compare. */
    if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != expected)
        return CAP_PARK_MISMATCH;
    struct park_waiter *w = waiter_alloc();
    if (!w)
        return CAP_ERR_QUEUE_FULL;
    /* Every field is set here (k_pending_add* sets pd's): a block clear
     * of the recycled waiter costs more on this path than the stores. */
    w->t.armed = false;
    w->t.next = NULL;
    w->next = NULL;
    w->generic = false;
    if (c) {
        w->generic = true;
        k_pending_add(&w->pd, c, park_cancel);
    } else {
        k_pending_add_to(&w->pd, p, user_data, park_cancel);
    }
    k_obj_ref(&s->obj);
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
        uint64_t deadline =
            timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
        if (deadline != UINT64_MAX)
            k_timer_arm(&w->t, deadline, park_timeout);
    }
    return K_CALL_PENDING;
}

int park_wait(struct k_process *p, struct k_object *obj, uint64_t user_data,
              uint64_t addr, uint32_t expected, uint64_t timeout_ns)
{
    return wait_common(p, (struct park_space *)obj, NULL, user_data, addr,
                       expected, timeout_ns);
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
            waiter_done(w, CAP_PARK_WOKEN);
            woken++;
        }
        w = next;
    }
    return woken;
}

/*
 * The generic form. Bad input gets an invalidArgument exception (an
 * unaligned word, or one outside the caller's heap and stacks); any
 * count is valid (it bounds the waiters woken). wait needs room for its
 * result now, so the completion cannot fail for want of it later.
 */
static int park_call(struct k_object *obj, struct k_call *c)
{
    struct park_space *s = (struct park_space *)obj;
    if (c->method_id != PARK_WAIT && c->method_id != PARK_WAKE)
        return k_call_no_method(c, "ParkSpace", park_methods,
                                sizeof park_methods / sizeof park_methods[0]);
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    uint64_t addr = c->method_id == PARK_WAKE
                        ? capos_ParkSpace_wake_Params_get_addr(&root)
                        : capos_ParkSpace_wait_Params_get_addr(&root);
    if (!park_word(c->proc, addr))
        return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                "ParkSpace: addr is not a 4-byte aligned "
                                "word of the caller's heap or stacks");
    capnp_builder b;
    capnp_builder_init(&b, c->result, c->result_cap);
    if (c->method_id == PARK_WAKE) {
        r = park_wake(c->proc, obj, addr,
                      capos_ParkSpace_wake_Params_get_count(&root));
        if (r < 0)
            return r;
        if (wake_result(&b, (uint32_t)r) != 0)
            return CAP_ERR_INVALID_RESULT_BUFFER;
        return k_call_result_end(c, &b);
    }
    if (wait_result(&b, CAP_PARK_MISMATCH) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    int len = k_call_result_end(c, &b);
    if (len < 0)
        return len;
    r = wait_common(c->proc, s, c, c->user_data, addr,
                    capos_ParkSpace_wait_Params_get_expected(&root),
                    capos_ParkSpace_wait_Params_get_timeoutNs(&root));
    if (r == CAP_PARK_MISMATCH)
        return len; /* the {outcome = mismatch} just built */
    return r;
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
