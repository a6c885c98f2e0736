/*
 * kmodel.h - the kernel model's objects and their cross-file interface.
 *
 * One header for the whole layer (as xv6's defs.h): the object structs, the
 * per-object functions, and the small host-facing API a port, the tests and
 * the fuzzer use to build and drive a system. Freestanding C11.
 */
#ifndef CAPOS_KMODEL_H
#define CAPOS_KMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capos/capnp.h"
#include "capos/capset.h"
#include "capos/ring.h"
#include "capos.capnp.h"
#include "kernel.h"
#include "port.h"

/* A broken invariant of the model itself (never bad input): panic. */
#define K_ASSERT(cond, msg)                                                    \
    do {                                                                       \
        if (!(cond))                                                           \
            port_panic("kernel-model invariant: " msg);                        \
    } while (0)

struct k_object;
struct k_process;
struct k_thread;
struct k_call;
struct k_msg;
struct thread_handle;

/* ------------------------------------------------------------------ */
/* Kernel objects (object.c)                                          */
/* ------------------------------------------------------------------ */

/*
 * Interface ids of the kernel objects of this layer (docs/abi.md §7): the
 * schema's, from the generated capos.capnp.h (schema/capos.capnp is the
 * one statement of them). Every kernel object has a schema interface.
 */
#define K_IFACE_NULLCAP CAPOS_NULL_CAP_INTERFACE_ID
#define K_IFACE_ENDPOINT CAPOS_ENDPOINT_INTERFACE_ID
#define K_IFACE_CLIENT_ENDPOINT CAPOS_CLIENT_ENDPOINT_INTERFACE_ID
#define K_IFACE_CONSOLE CAPOS_CONSOLE_INTERFACE_ID
#define K_IFACE_TIMER CAPOS_TIMER_INTERFACE_ID
#define K_IFACE_BOOT_PACKAGE CAPOS_BOOT_PACKAGE_INTERFACE_ID
#define K_IFACE_TERMINAL_SESSION CAPOS_TERMINAL_SESSION_INTERFACE_ID
#define K_IFACE_PROCESS_SPAWNER CAPOS_PROCESS_SPAWNER_INTERFACE_ID
#define K_IFACE_PROCESS_HANDLE CAPOS_PROCESS_HANDLE_INTERFACE_ID
#define K_IFACE_THREAD_SPAWNER CAPOS_THREAD_SPAWNER_INTERFACE_ID
#define K_IFACE_THREAD_HANDLE CAPOS_THREAD_HANDLE_INTERFACE_ID
#define K_IFACE_THREAD_CONTROL CAPOS_THREAD_CONTROL_INTERFACE_ID
#define K_IFACE_PARK_SPACE CAPOS_PARK_SPACE_INTERFACE_ID
#define K_IFACE_NETWORK_MANAGER CAPOS_NETWORK_MANAGER_INTERFACE_ID
#define K_IFACE_TCP_LISTEN_AUTHORITY CAPOS_TCP_LISTEN_AUTHORITY_INTERFACE_ID
#define K_IFACE_TCP_LISTENER CAPOS_TCP_LISTENER_INTERFACE_ID
#define K_IFACE_TCP_SOCKET CAPOS_TCP_SOCKET_INTERFACE_ID

#define K_OBJ_NON_TRANSFERABLE 0x1u /* neither copy nor move */
#define K_OBJ_MOVE_ONLY 0x2u        /* move, never copy */

struct k_object_ops {
    const char *name;
    uint64_t interface_id;
    /*
     * Invoke a method. Returns the payload length written to c->result
     * (>= 0), a CAP_ERR_* code, or K_CALL_PENDING when the object keeps the
     * call and will complete it later through k_pending_add and one of the
     * k_pending_done* functions (pending.c).
     */
    int (*call)(struct k_object *obj, struct k_call *c);
    /* Last reference dropped: free the object. */
    void (*destroy)(struct k_object *obj);
};

struct k_object {
    const struct k_object_ops *ops;
    uint32_t refs;
    uint32_t flags;
};

#define K_CALL_PENDING 0x7fffffff

void k_obj_init(struct k_object *o, const struct k_object_ops *ops,
                uint32_t flags);
void k_obj_destroy(struct k_object *o);

/* Take one reference on o. Inline, as k_obj_unref: kernel paths take and
 * drop references on every transfer and every parked waiter. */
static inline void k_obj_ref(struct k_object *o)
{
    K_ASSERT(o->refs > 0 && o->refs < UINT32_MAX, "ref of dead object");
    o->refs++;
}

/* Drop one reference; the last one destroys the object (k_obj_destroy). */
static inline void k_obj_unref(struct k_object *o)
{
    K_ASSERT(o->refs > 0, "unref of dead object");
    if (--o->refs == 0)
        k_obj_destroy(o);
}
int k_obj_grant(struct k_process *p, struct k_object *o, uint32_t *out_id);

/* ------------------------------------------------------------------ */
/* Capability table (captable.c)                                      */
/* ------------------------------------------------------------------ */

/* CapId = generation << CT_INDEX_BITS | index; generation 0 never valid. */
#define CT_INDEX_BITS 12u
#define CT_INDEX_MASK ((1u << CT_INDEX_BITS) - 1u)
#define CT_GEN_MAX ((1u << (32u - CT_INDEX_BITS)) - 1u)
#define CT_SLOTS_MAX (1u << CT_INDEX_BITS)

enum ct_state { CT_FREE = 0, CT_LIVE = 1, CT_RESERVED = 2 };

struct ct_slot {
    struct k_object *obj;
    uint64_t badge;
    /* The interface a client facet was minted or granted for (docs/abi.md
     * §8): 0 for an untyped facet and for every other object, which speak
     * their own (ct_slot_iface). Kept by copy and move, as the badge. */
    uint64_t iface;
    uint32_t gen;
    uint32_t state;
    uint32_t next_free;
};

struct k_captable {
    struct ct_slot *slots;
    uint32_t nslots;
    uint32_t live;     /* slots LIVE */
    uint32_t reserved; /* slots RESERVED by an in-flight move */
    uint32_t free_head;
};

int ct_init(struct k_captable *ct, uint32_t nslots);
void ct_destroy(struct k_captable *ct);
int ct_insert_as(struct k_captable *ct, struct k_object *obj, uint64_t badge,
                 uint64_t iface, uint32_t *out_id);

/* ct_insert_as of an untyped slot (iface 0): what every kernel object
 * and an untyped facet get. */
static inline int ct_insert(struct k_captable *ct, struct k_object *obj,
                            uint64_t badge, uint32_t *out_id)
{
    return ct_insert_as(ct, obj, badge, 0, out_id);
}

/* The interface the cap in slot s speaks: its typed interface, else its
 * object's (docs/abi.md §8). What CapSet entries, CapTransferResult
 * records, the CALL check and the trace all report. */
static inline uint64_t ct_slot_iface(const struct ct_slot *s)
{
    return s->iface ? s->iface : s->obj->ops->interface_id;
}

/* The live slot named by id, or NULL (free, reserved, stale or bogus).
 * Inline: every SQE naming a cap looks it up. */
static inline struct ct_slot *ct_lookup(struct k_captable *ct, uint32_t id)
{
    uint32_t i = id & CT_INDEX_MASK;
    uint32_t gen = id >> CT_INDEX_BITS;
    if (!ct->slots || i >= ct->nslots || gen == 0)
        return NULL;
    struct ct_slot *s = &ct->slots[i];
    return s->gen == gen && s->state == CT_LIVE ? s : NULL;
}

int ct_release(struct k_captable *ct, uint32_t id);
int ct_reserve(struct k_captable *ct, uint32_t id);
void ct_unreserve(struct k_captable *ct, uint32_t id);
void ct_commit_move(struct k_captable *ct, uint32_t id);
uint32_t ct_free_count(const struct k_captable *ct);
int ct_check(const struct k_captable *ct);

/* ------------------------------------------------------------------ */
/* Capability transfer (transfer.c)                                   */
/* ------------------------------------------------------------------ */

/* A validated, prepared transfer: holds one reference on obj. */
struct k_xfer {
    struct k_object *obj;
    uint64_t badge;
    uint64_t iface;  /* the sender slot's typed interface (0: untyped) */
    uint32_t src_id; /* sender slot (reserved while a move is in flight) */
    uint32_t mode;
};

/* The work of each step for n > 0 caps (transfer.c). */
int xfer_prepare_n(struct k_process *src, const CapTransferDescriptor *d,
                   uint32_t n, struct k_xfer *out);
int xfer_deliver_n(struct k_process *dst, const struct k_xfer *x, uint32_t n,
                   CapTransferResult *records);
void xfer_commit_n(struct k_process *src, struct k_xfer *x, uint32_t n);
void xfer_abort_n(struct k_process *src, struct k_xfer *x, uint32_t n);

/* The steps (transfer.c). Inline, so that a CALL, RECV or RETURN that
 * moves no caps (the common case) makes no call for them. */
static inline int xfer_prepare(struct k_process *src,
                               const CapTransferDescriptor *d, uint32_t n,
                               struct k_xfer *out)
{
    return n ? xfer_prepare_n(src, d, n, out) : 0;
}

static inline int xfer_deliver(struct k_process *dst, const struct k_xfer *x,
                               uint32_t n, CapTransferResult *records)
{
    return n ? xfer_deliver_n(dst, x, n, records) : 0;
}

static inline void xfer_commit(struct k_process *src, struct k_xfer *x,
                               uint32_t n)
{
    if (n)
        xfer_commit_n(src, x, n);
}

static inline void xfer_abort(struct k_process *src, struct k_xfer *x,
                              uint32_t n)
{
    if (n)
        xfer_abort_n(src, x, n);
}

/* ------------------------------------------------------------------ */
/* Timers and clocks (timer.c)                                        */
/* ------------------------------------------------------------------ */

struct k_timer {
    uint64_t deadline;
    void (*fn)(struct k_timer *t);
    struct k_timer *next;
    bool armed;
};

uint64_t k_now(void);
void k_clock_advance(uint64_t ns);
void k_timer_arm(struct k_timer *t, uint64_t deadline,
                 void (*fn)(struct k_timer *t));
void k_timer_unlink(struct k_timer *t);

/* Disarm t (no effect when it is not armed). Inline: every blocking wait
 * and every wake cancels its thread's timer, which is rarely armed. */
static inline void k_timer_cancel(struct k_timer *t)
{
    if (t->armed)
        k_timer_unlink(t);
}
uint64_t k_timer_next_deadline(void);
unsigned k_timer_fire_due(void);

/* ------------------------------------------------------------------ */
/* Threads and the scheduler (thread.c, sched.c)                      */
/* ------------------------------------------------------------------ */

enum k_thread_state {
    KT_RUNNABLE = 1,
    KT_RUNNING,
    KT_BLOCKED,
    KT_DEAD,
};

enum k_wake { K_WAKE_NONE = 0, K_WAKE_SIGNAL = 1, K_WAKE_TIMEOUT = 2 };

#define K_MAX_THREADS 32u /* threads of one process, at most */

/*
 * A ThreadRef (docs/abi.md §16): names the ring an operation was submitted
 * on, so its deferred completion goes back there. gen 0 is the process
 * ring; otherwise slot is the thread's slot in its process (0..31) and gen
 * the slot's generation when the operation was submitted. A completion
 * whose ThreadRef no longer matches a live thread ring is dropped.
 */
struct k_tref {
    uint32_t slot;
    uint32_t gen;
};

struct k_ring_state {
    CapRing *page;        /* the ring page, in the process arena */
    uint32_t sq_head;     /* kernel's private consumer index */
    uint32_t cq_tail;     /* kernel's private producer index */
    uint32_t cq_reserved; /* CQ slots promised to pending operations */
    uint32_t corrupt;     /* CAP_RING_F_* seen since the last cap_enter */
    struct k_thread *waiter;
    uint32_t waiter_min;
};

struct k_thread {
    uint32_t tid;
    uint32_t gen;
    struct k_process *proc;
    enum k_thread_state state;
    port_ctx_t *ctx;
    uint32_t stack_slot;
    void (*entry)(void *arg);
    void *arg;
    struct k_thread *rq_next;
    struct k_thread *proc_next;
    struct k_thread *dead_next;
    struct k_timer timer;
    enum k_wake wake;
    /* threadcap.c: the ThreadHandle naming this thread (NULL: none or
     * detached), the exit code it reports (0 when entry returns), and
     * the FS base ThreadControl.setFsBase recorded (hosted: not loaded). */
    struct thread_handle *handle;
    int64_t exit_code;
    uint64_t fs_base;
    /* ring.c: the thread's own ring (docs/abi.md §16), used when
     * own_ring; its ThreadRef is {stack_slot, gen}. */
    bool own_ring;
    struct k_ring_state ring;
};

int k_thread_create(struct k_process *p, void (*entry)(void *), void *arg,
                    struct k_thread **out);
_Noreturn void k_thread_exit(void);
void k_thread_kill(struct k_thread *t);
struct k_thread *k_current(void);
int k_thread_attach_ring(struct k_thread *t, uint64_t vaddr);

/* t's ThreadRef: its slot and that slot's generation (docs/abi.md §16). */
static inline struct k_tref k_thread_ref(const struct k_thread *t)
{
    return (struct k_tref){t->stack_slot, t->gen};
}

enum k_wake k_thread_wait(uint64_t deadline);
void k_thread_wake(struct k_thread *t);

/* sched.c */
void k_sched_ready(struct k_thread *t);
void k_sched_switch(void);
void k_sched_yield(void);
void k_sched_reap(void);

/* ------------------------------------------------------------------ */
/* Processes (process.c, capset.c, pending.c)                        */
/* ------------------------------------------------------------------ */

enum k_proc_state { KP_ALIVE = 1, KP_DEAD };

struct ep_msg;
struct ep_recv;
struct proc_handle;

/*
 * A kernel-object call that completes later (a Timer sleep, a socket
 * recv): it holds the CQ reservation of its SQE. The object links it on the
 * caller's pending list with k_pending_add and completes it with
 * k_pending_done; if the process exits first, or the thread whose own ring
 * it was submitted on (docs/abi.md §16), cancel runs instead (it must
 * unlink nothing and post nothing, only release the object's own state).
 */
struct k_pending {
    struct k_pending *next;
    struct k_process *proc;
    uint64_t user_data;
    uint64_t result_addr; /* the call's result buffer, validated at call */
    uint32_t result_len;
    void (*cancel)(struct k_pending *pd);
    struct k_tref ring; /* the submitting ring (set by k_pending_add*) */
};

struct k_process {
    uint32_t pid;
    uint32_t refs; /* creator, threads, messages and receives naming it */
    bool host_ref; /* the creator's reference is the host's (k_shutdown) */
    enum k_proc_state state;
    int64_t exit_code;
    char name[32];
    uint8_t *arena;
    size_t arena_size;
    CapRing *ring;
    CapSetPage *capset;
    struct k_captable caps;
    struct k_ring_state rs;
    struct k_thread *threads;
    uint32_t nthreads;
    uint32_t max_threads;
    size_t stack_size;
    uint32_t stack_used;        /* bitmap of stack slots */
    struct k_pending *pending;  /* kernel-object calls awaiting completion */
    struct ep_msg *calls_out;   /* endpoint calls this process is owed */
    struct ep_recv *recvs_out;  /* receives this process has posted */
    struct proc_handle *handle; /* spawner.c: its ProcessHandle, or NULL */
    struct k_process *next;
    /* Per-thread rings (docs/abi.md §16): the live thread of each slot,
     * each slot's generation, and completions dropped as stale. */
    struct k_thread *tslot[K_MAX_THREADS];
    uint32_t tgen[K_MAX_THREADS];
    uint64_t stale_drops;
};

struct k_process_opts {
    const char *name;
    size_t arena_size;    /* default 4 MiB */
    uint32_t cap_slots;   /* default 256 */
    uint32_t max_threads; /* default 8, at most 32 */
    size_t stack_size;    /* default 128 KiB */
    /* false: the host keeps the creator's reference until k_shutdown
     * (boot, tests); true: the caller owns it and drops it with
     * k_process_put, and the process is freed once exited and
     * unreferenced (ProcessSpawner). */
    bool owned;
};

struct k_process *k_process_create(const struct k_process_opts *opts);
void k_process_exit(struct k_process *p, int64_t code);
/* Take a reference on p (k_process_put drops it). */
static inline void k_process_get(struct k_process *p)
{
    p->refs++;
}
void k_process_put(struct k_process *p);

/* The host address of [vaddr, vaddr+len) anywhere in p's arena, or NULL. */
static inline void *k_user_ptr(struct k_process *p, uint64_t vaddr,
                               uint64_t len)
{
    if (vaddr < CAPOS_ARENA_VADDR)
        return NULL;
    uint64_t off = vaddr - CAPOS_ARENA_VADDR;
    if (off > p->arena_size || len > p->arena_size - off)
        return NULL;
    return p->arena + off;
}

/*
 * The host address of a params/result buffer [vaddr, vaddr+len): it must
 * lie in the heap-and-stack part of the arena (not the ring or the
 * read-only CapSet page). NULL otherwise. len 0 is valid at any such
 * address. Inline, as k_user_ptr: every CALL, RECV and RETURN checks its
 * buffers.
 */
static inline void *k_user_buf(struct k_process *p, uint64_t vaddr,
                               uint64_t len)
{
    if (vaddr < CAPOS_HEAP_VADDR)
        return NULL;
    return k_user_ptr(p, vaddr, len);
}

uint64_t k_user_vaddr(struct k_process *p, const void *ptr);
int k_process_check(const struct k_process *p);

/* capset.c */
int k_capset_add(struct k_process *p, const char *name, uint32_t cap_id);
int k_capset_add_as(struct k_process *p, const char *name, uint32_t cap_id,
                    uint64_t interface_id);

/* pending.c */
void k_pending_thread_exit(struct k_process *p, struct k_tref r);
void k_pending_add(struct k_pending *pd, struct k_call *c,
                   void (*cancel)(struct k_pending *pd));
void k_pending_add_to(struct k_pending *pd, struct k_process *p,
                      uint64_t user_data, void (*cancel)(struct k_pending *pd));
void k_pending_done(struct k_pending *pd, int32_t result);
void k_pending_done_result(struct k_pending *pd, const void *payload,
                           uint32_t len);
int k_pending_done_caps(struct k_pending *pd, const void *payload, uint32_t len,
                        struct k_object *const *caps, uint32_t ncaps);

/* ------------------------------------------------------------------ */
/* The ring (ring.c)                                                  */
/* ------------------------------------------------------------------ */

/* One invocation, built by ring dispatch from a validated SQE copy. */
struct k_call {
    struct k_process *proc;
    uint32_t cap_id;
    uint64_t badge; /* badge of the invoked slot */
    uint16_t method_id;
    uint16_t flags;
    uint64_t user_data;
    const uint8_t *params; /* kernel copy */
    uint32_t params_len;
    uint64_t result_addr; /* validated user range */
    uint32_t result_len;
    struct k_xfer xfer[CAP_XFER_MAX];
    uint32_t nxfer;
    uint8_t *result; /* kernel scratch for synchronous payloads */
    uint32_t result_cap;
    struct k_object *result_caps[CAP_XFER_MAX]; /* refs owned by the call */
    uint32_t nresult_caps;
    /* Badges and typed interfaces of result_caps[0..nresult_badges) (the
     * rest get badge 0, untyped): only Endpoint.mintClient sets them
     * (docs/abi.md §10.1). */
    uint64_t result_badges[CAP_XFER_MAX];
    uint64_t result_ifaces[CAP_XFER_MAX];
    uint32_t nresult_badges;
    uint32_t
        exc_len; /* CapException bytes in result (with APPLICATION_EXCEPTION) */
};

/* ExceptionType of schema/capos.capnp (upstream ordinals), generated. */
enum k_exc_type {
    K_EXC_FAILED = CAPOS_EXCEPTION_TYPE_FAILED,
    K_EXC_OVERLOADED = CAPOS_EXCEPTION_TYPE_OVERLOADED,
    K_EXC_DISCONNECTED = CAPOS_EXCEPTION_TYPE_DISCONNECTED,
    K_EXC_UNIMPLEMENTED = CAPOS_EXCEPTION_TYPE_UNIMPLEMENTED,
    K_EXC_INVALID_ARGUMENT = CAPOS_EXCEPTION_TYPE_INVALID_ARGUMENT,
};

/* call.c: exceptions, params parsing and results of kernel objects. */
int k_call_exception(struct k_call *c, enum k_exc_type type, const char *msg);
int k_call_no_method(struct k_call *c, const char *iface,
                     const char *const *names, unsigned n);
int k_call_params(struct k_call *c, capnp_message *m, capnp_struct *root);
int k_call_result_begin(struct k_call *c, capnp_builder *b, uint16_t dwords,
                        uint16_t nptrs, capnp_struct_builder *root);
int k_call_result_end(struct k_call *c, capnp_builder *b);
/* A result of len bytes (a k_call_result_end return) and one result cap
 * fit: its record after the payload in c's buffer, a free slot in the
 * caller's table. Returns len, or CAP_ERR_INVALID_RESULT_BUFFER /
 * CAP_ERR_TRANSFER_REJECTED (checked in that order, before any object
 * is made). */
static inline int k_call_one_cap_fits(const struct k_call *c, int len)
{
    if (len < 0 ||
        CAP_ALIGN8((uint64_t)len) + sizeof(CapTransferResult) > c->result_len)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    return ct_free_count(&c->proc->caps) < 1 ? CAP_ERR_TRANSFER_REJECTED : len;
}

int k_ring_submit(struct k_process *p);
uint32_t k_ring_cq_ready(struct k_process *p);
void k_ring_post(struct k_process *p, const CapCqe *cqe);
int k_ring_deliver(struct k_process *p, uint64_t result_addr,
                   uint32_t result_len, const void *hdr, uint32_t hdr_len,
                   const void *payload, uint32_t payload_len,
                   const struct k_xfer *caps, uint32_t ncaps,
                   uint16_t *out_cap_count);
int k_cap_enter(struct k_process *p, uint32_t min_complete,
                uint64_t timeout_ns);
int k_sys_cap_enter(uint32_t min_complete, uint64_t timeout_ns);
/* Per-thread rings and ThreadRef routing (ring.c, docs/abi.md §16). */
bool k_ring_post_to(struct k_process *p, struct k_tref r, const CapCqe *cqe);
bool k_ring_post_result_to(struct k_process *p, struct k_tref r,
                           uint64_t user_data, int32_t result);
void k_ring_stale_drop(struct k_process *p);
void k_ring_abandon_current(void);
int k_ring_submit_thread(struct k_thread *t);
void ep_thread_exit(struct k_process *p, struct k_tref r);

/* ------------------------------------------------------------------ */
/* Endpoints (endpoint.c) and the null capability (nullcap.c)          */
/* ------------------------------------------------------------------ */

#define EP_QUEUE_MAX 64u

int ep_create(struct k_process *owner, uint32_t *raw_id);
int ep_mint_client(struct k_process *owner, uint32_t raw_id,
                   struct k_process *dst, uint64_t badge, uint32_t *out_id);
int ep_recv(struct k_process *p, struct k_object *obj, uint64_t user_data,
            uint64_t result_addr, uint32_t result_len);
int ep_return(struct k_process *p, struct k_object *obj, uint32_t call_id,
              uint16_t flags, const uint8_t *payload, uint32_t len,
              struct k_xfer *x, uint32_t nx);
void ep_process_exit(struct k_process *p);
void ep_cache_drain(void);
void park_cache_drain(void);
/* The raw endpoint's operations: k_is_endpoint compares with them inline
 * (every RECV and RETURN checks its cap). */
extern const struct k_object_ops ep_raw_ops;
static inline bool k_is_endpoint(const struct k_object *o)
{
    return o->ops == &ep_raw_ops;
}
bool ep_is_client(const struct k_object *o);
struct k_object *ep_client_ref(struct k_object *raw);

/* ------------------------------------------------------------------ */
/* Terminal devices (terminal.c) and the network (net.c)              */
/* ------------------------------------------------------------------ */

#define TERM_DEV_END (-1) /* term_dev_ops.read: the input has ended */

struct term_dev;
struct term_dev_info {
    uint16_t transport, columns, rows;
    char peer[24]; /* "a.b.c.d:port" or "" */
};

/* What a TerminalSession's line discipline needs from its device. */
struct term_dev_ops {
    void (*write)(void *ctx, const void *buf, size_t n);
    /* Up to cap input bytes without blocking: > 0, 0 none now,
     * TERM_DEV_END (final). */
    int (*read)(void *ctx, void *buf, size_t cap);
    /* A read waits (on) or not: term_dev_ready must follow new input. */
    void (*watch)(void *ctx, bool on);
    void (*info)(void *ctx, struct term_dev_info *info);
    void (*close)(void *ctx);   /* disconnect (NULL: nothing to do) */
    void (*release)(void *ctx); /* the device is gone (NULL: nothing) */
    /* false once the device has ended for good (a network peer gone);
     * NULL: never. */
    bool (*alive)(void *ctx);
};

int terminal_new(const struct term_dev_ops *ops, void *ctx, uint32_t run_max,
                 struct term_dev **dev, struct k_object **out);
void term_dev_ready(struct term_dev *d);
/* Write n bytes (then "\r\n" if line_end) to session t's device; false,
 * nothing written, once t is closed or its device has ended. */
struct term;
bool term_output(struct term *t, const void *buf, size_t n, bool line_end);

/* TerminalSession.console's facets (termconsole.c) and the Console
 * params they share with the host Console (console.c). */
struct termcon;
int termcon_new(struct term *t, struct termcon **head, struct k_object **out);
void termcon_detach_all(struct termcon **head);
int console_params(struct k_call *c, const uint8_t **bytes, size_t *len);

/* Network internals shared by net.c, netmgr.c, tcpauth.c, tcplistener.c,
 * tcpsocket.c and sockterm.c (docs/net.md). */
#define NET_FWD_MAX 16u
#define NET_BACKLOG_MAX 128u
#define NET_ACCEPTS_MAX 8u  /* accepts waiting on one listener */
#define NET_IO_MAX 65536u   /* send data, recv maxBytes (schema) */
#define NET_LINE_RUN 65536u /* terminal input bytes without a line end */
#define NET_SB_MAX 64u      /* Telnet subnegotiation bytes */
#define NET_NS_PER_S 1000000000ull
/* NetError values from the generated capos.capnp.h; NET_NO_MEMORY is
 * none of them (the caller answers an overloaded exception instead). */
enum {
    NET_IN_USE = CAPOS_NET_ERROR_ADDRESS_IN_USE,
    NET_DENIED = CAPOS_NET_ERROR_PERMISSION_DENIED,
    NET_RESET = CAPOS_NET_ERROR_CONNECTION_RESET,
    NET_CLOSED = CAPOS_NET_ERROR_CLOSED,
    NET_ALREADY_USED = CAPOS_NET_ERROR_ALREADY_USED,
    NET_NO_MEMORY = 0x100
};

/* Bytes of a network result message up to its struct's content: segment
 * table 8, root pointer 8, the results struct (one pointer) 8, then the
 * result struct of dw data words and np pointers (net_res_begin). */
#define NET_RES_BYTES(dw, np) (24u + 8u * ((dw) + (np)))

#define NET_OF(ptr, type, member)                                              \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* One kernelParams.portForwards entry. */
struct net_fwd {
    uint16_t guest, host;
    uint32_t idle_s;
    bool listening; /* a TcpListener holds this guest port */
    char addr[16];
};

/* Receives k_net_ready calls: a listener or a connection. */
struct net_owner {
    void (*ready)(struct net_owner *o);
};

struct tcpsocket;

/* One accepted connection: a TcpSocket's, then perhaps a terminal's. */
struct tcpsocket_conn {
    struct net_owner own;
    port_tcp_t *h; /* NULL once closed */
    struct tcpsocket *sock;
    struct term_dev *term;
    struct k_timer idle;
    uint64_t idle_ns, last_in, rx_seen;
    uint64_t wait_since; /* when its holder began waiting for input */
    bool waiting;        /* a recv or readLine waits for input */
    char addr[16];
    uint16_t port;
    /* The Telnet command layer (sockterm.c). */
    uint8_t tn;
    uint8_t sblen;
    uint16_t columns, rows;
    uint8_t sb[NET_SB_MAX];
};

/* Result scratch for completions (one model thread runs at a time). */
extern uint8_t net_msg[CAP_MAX_RESULT];

/* net.c */
int net_res_begin(capnp_builder *b, uint8_t *buf, uint32_t cap, uint16_t dw,
                  uint16_t np, capnp_struct_builder *s);
int net_res_end(capnp_builder *b);
int net_listen_result(struct k_call *c, int err);
int net_listen(struct k_call *c, uint16_t guest, uint16_t backlog);
/* tcplistener.c */
int tcplistener_new(struct net_fwd *fw, uint16_t backlog,
                    struct k_object **out);
/* tcpsocket.c */
struct tcpsocket_conn *tcpsocket_conn_accept(port_tcp_t *listener,
                                             uint32_t idle_s);
struct k_object *tcpsocket_new(struct tcpsocket_conn *cn);
void tcpsocket_conn_close(struct tcpsocket_conn *cn);
void tcpsocket_conn_waiting(struct tcpsocket_conn *cn, bool on);
void tcpsocket_conn_free(struct tcpsocket_conn *cn);
/* sockterm.c */
int sockterm_new(struct tcpsocket_conn *cn, struct k_object **out);
int sockterm_filter(struct tcpsocket_conn *cn, uint8_t *buf, size_t n,
                    bool keep);

void net_init(void);
int net_configure(const uint8_t *bytes, size_t len, struct k_msg *mb);
int net_check_listen_port(uint64_t badge, struct k_msg *mb);
int netmgr_grant(struct k_process *p, uint32_t *out_id);
int tcpauth_grant(struct k_process *p, uint64_t badge, uint32_t *out_id);
uint32_t tcpsocket_conns_live(void);

int nullcap_grant(struct k_process *p, uint32_t *out_id);
int console_grant(struct k_process *p, uint32_t *out_id);
int timercap_grant(struct k_process *p, uint32_t *out_id);
int terminal_grant(struct k_process *p, uint32_t *out_id);
int bootpkg_grant(struct k_process *p, const uint8_t *bytes, size_t len,
                  uint32_t *out_id);
/* SshHostKey over kernelParams.sshDevelopmentHostKey of the manifest
 * bytes[0..len) (sshhostkey.c). */
/* streamterm.c */
int streamterm_grant(struct k_process *p, uint32_t *out_id);
int sshhostkey_grant(struct k_process *p, const uint8_t *bytes, size_t len,
                     uint32_t *out_id);

/* ParkSpace and the PARK/UNPARK opcodes (park.c, docs/abi.md §14). */
int parkspace_grant(struct k_process *p, uint32_t *out_id);
static inline bool k_is_park_space(const struct k_object *o)
{
    return o->ops->interface_id == K_IFACE_PARK_SPACE;
}
int park_wait(struct k_process *p, struct k_object *obj, uint64_t user_data,
              uint64_t addr, uint32_t expected, uint64_t timeout_ns);
int park_wake(struct k_process *p, struct k_object *obj, uint64_t addr,
              uint32_t count);

/* ------------------------------------------------------------------ */
/* ProcessSpawner and ProcessHandle (spawner.c)                       */
/* ------------------------------------------------------------------ */

int spawner_grant(struct k_process *p, const uint8_t *bytes, size_t len,
                  uint32_t *out_id);
void spawner_process_exit(struct k_process *p);

/* ------------------------------------------------------------------ */
/* ThreadSpawner, ThreadHandle and ThreadControl (threadcap.c)        */
/* ------------------------------------------------------------------ */

int threadspawner_grant(struct k_process *p, uint32_t *out_id);
int threadcontrol_grant(struct k_process *p, uint32_t *out_id);
void threadcap_thread_exit(struct k_thread *t);

/* ------------------------------------------------------------------ */
/* The kernel (kernel.c)                                              */
/* ------------------------------------------------------------------ */

struct kernel {
    struct k_config cfg;
    uint64_t vclock;
    uint64_t rng;
    struct k_timer *timers;
    struct k_thread *rq_head, *rq_tail;
    struct k_thread *current;
    struct k_thread *dead;
    uint32_t direct; /* thread-to-thread switches since the scheduler ran */
    port_ctx_t *sched_ctx;
    struct k_process *procs;
    uint32_t next_pid;
    uint32_t next_tid;
    uint8_t *scratch_params;
    uint8_t *scratch_result;
    /* The ring whose SQEs are being dispatched (ring.c): deferred
     * completions record sub_ref; outside dispatch, the process ring. */
    struct k_ring_state *sub_rs;
    struct k_tref sub_ref;
    struct k_stats stats;
    int stop_code; /* k_stop_all's exit code, while stop_pending */
    bool stop_pending;
    bool up;
};

extern struct kernel k;

/* The ThreadRef of the ring being dispatched (the process ring outside
 * dispatch): what a deferred completion records (ring.c). */
static inline struct k_tref k_ring_current(void)
{
    return k.sub_ref;
}

/*
 * The ring ThreadRef r names in p: the process ring (gen 0) or the own
 * ring of the live thread in slot r.slot with generation r.gen. NULL when
 * that thread has exited or has no ring (the slot may hold a newer
 * thread: its generation differs). Inline: every deferred completion
 * looks its ring up.
 */
static inline struct k_ring_state *k_ring_resolve(struct k_process *p,
                                                  struct k_tref r)
{
    if (r.gen == 0)
        return &p->rs;
    if (r.slot >= K_MAX_THREADS)
        return NULL;
    struct k_thread *t = p->tslot[r.slot];
    if (!t || t->gen != r.gen || !t->own_ring)
        return NULL;
    return &t->ring;
}

int k_manifest_binary(const uint8_t *bytes, size_t len, const char *name,
                      size_t nlen, void (**entry)(void *), char *err,
                      size_t errcap);
uint64_t k_random(void);
void k_log(const char *msg);
size_t k_strlen(const char *s);
void k_fmt_u64(char *buf, size_t cap, uint64_t v);

/* A message for people built into buf[0..cap) (kernel.c). */
struct k_msg {
    char *buf;
    size_t cap, len;
};
void k_msg_put(struct k_msg *m, const char *s, size_t n);
void k_msg_str(struct k_msg *m, const char *s);
void k_msg_text(struct k_msg *m, const char *s, size_t n);
void k_msg_u64(struct k_msg *m, uint64_t v);

/* The kernel cap sources (ksrc.c): one row per KernelCapSource. */
enum {
    K_KSRC_BOOT = 1u << 0,  /* init may hold it from the manifest */
    K_KSRC_SPAWN = 1u << 1, /* ProcessSpawner mints it for a child */
    K_KSRC_OWN = 1u << 2,   /* it reaches only the grantee itself */
};
/* What a grant of a kernel source may use: the grant's badge and the boot
 * manifest bytes[0..len) (kept alive by the host). */
struct k_ksrc_args {
    uint64_t badge;
    const uint8_t *bytes;
    size_t len;
};
struct k_ksrc {
    const char *name; /* the schema's enumerant */
    uint64_t iface;   /* the interface of the object it makes */
    /* Give p a new object; 0 and its CapId, or a CAP_ERR_* code. NULL:
     * this kernel does not provide the source. */
    int (*grant)(struct k_process *p, const struct k_ksrc_args *a,
                 uint32_t *id);
    /* Refuse a bad badge before anything is made: 0, or an error with
     * the reason appended to why. NULL: any badge. */
    int (*check)(uint64_t badge, struct k_msg *why);
    unsigned flags; /* K_KSRC_* */
};
const struct k_ksrc *k_ksrc(uint16_t src);
/* Read Text field f of struct type S (generated names S_has_f, S_get_f):
 * absent reads as "". 0 or a codec error. */
#define K_TEXT(S, f, s, str, len)                                              \
    (S##_has_##f(s) ? S##_get_##f((s), (str), (len))                           \
                    : (*(str) = "", *(len) = 0, 0))
const char *k_ksrc_name(uint16_t src);
void k_ksrc_spawn_list(struct k_msg *m);

/* The compiler may lower these to calls of memcpy etc., which the port
 * provides (port.h). */
#define k_memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define k_memmove(d, s, n) __builtin_memmove((d), (s), (n))
#define k_memset(d, c, n) __builtin_memset((d), (c), (n))
#define k_memcmp(a, b, n) __builtin_memcmp((a), (b), (n))

#endif /* CAPOS_KMODEL_H */
