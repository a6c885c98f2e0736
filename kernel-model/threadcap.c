/*
 * threadcap.c - the thread capabilities: ThreadSpawner, ThreadHandle and
 * ThreadControl (capos-abi.md §6.2; docs/abi.md §14).
 *
 * Methods (schema/capos.capnp; method names and ordinals capos-sim
 * choices, upstream names only the interfaces):
 * ThreadSpawner (kernel source threadSpawner, non-transferable):
 *   @0 spawn (entry, arg, stackSize, ring, fsBase) -> (thread)
 *      result cap 0: the handle; ring != 0 gives the thread its own ring
 *      in that page (docs/abi.md §16), fsBase is its initial FS base
 * ThreadHandle (a result cap of spawn, non-transferable):
 *   @0 join () -> (exitCode)   pending until the thread exits; one join
 * ThreadControl (kernel source threadControl, non-transferable):
 *   @0 exit (exitCode) -> ()   ends the calling thread; never completes
 *   @1 setFsBase (base) -> ()  @2 getFsBase () -> (base)
 *
 * Every object is bound to the process it was granted to (or, for a
 * handle, whose thread it names) and refuses a CALL from any other; none
 * can be transferred, so ids of these caps are meaningful only in their
 * own table (docs/abi.md §8: a stale or foreign id fails lookup).
 *
 * Hosted, spawn's entry is the host address of a `void (*)(void *)` and
 * arg is passed to it unchanged; on bare metal entry is a user virtual
 * address. The simulator cannot check a hosted entry: a bad one crashes
 * the simulator, the same trust limit as a wild pointer (docs/abi.md §11).
 *
 * Lifetime: a handle names its thread until the thread exits (thread.c
 * calls threadcap_thread_exit from thread_retire), then keeps the exit
 * code. Releasing the handle detaches the thread, which runs on. A pending
 * join holds a reference to the handle; if the process exits first the
 * join is cancelled with the rest of its pending calls.
 */
#include "kmodel.h"

/* Ordinals and layouts from the generated capos.capnp.h. */
enum { SPAWNER_SPAWN = CAPOS_THREAD_SPAWNER_SPAWN_METHOD_ID };
enum { HANDLE_JOIN = CAPOS_THREAD_HANDLE_JOIN_METHOD_ID };
enum {
    CONTROL_EXIT = CAPOS_THREAD_CONTROL_EXIT_METHOD_ID,
    CONTROL_SET_FS = CAPOS_THREAD_CONTROL_SET_FS_BASE_METHOD_ID,
    CONTROL_GET_FS = CAPOS_THREAD_CONTROL_GET_FS_BASE_METHOD_ID,
};

struct thread_spawner {
    struct k_object obj;
    struct k_process *proc; /* not referenced: the object lives in its
                             * table only, destroyed at its exit */
};

struct thread_control {
    struct k_object obj;
    struct k_process *proc; /* as thread_spawner's */
};

struct thread_join;

struct thread_handle {
    struct k_object obj;
    struct k_process *proc;  /* as thread_spawner's */
    struct k_thread *thread; /* NULL once the thread has exited */
    int64_t exit_code;       /* valid once exited */
    bool exited;
    bool joined;              /* a join was accepted (pending or done) */
    struct thread_join *join; /* the pending join, or NULL */
};

struct thread_join {
    struct k_pending pd;     /* first: the cancel hook casts back */
    struct thread_handle *h; /* referenced while pending */
};

static const struct k_object_ops handle_ops;

/* ---- ThreadSpawner ---------------------------------------------------- */

/* The checked arguments of one ThreadSpawner.spawn. */
struct tspawn_args {
    uint64_t entry, arg, ring, fs;
    uint32_t stack;
};

/*
 * Decode the spawn params root of call c from process p into *a: entry an
 * address, stackSize within p's stack slot, ring (if any) a page of p's
 * heap no other thread's ring uses, and a thread slot free. Returns 0, or
 * the invalidArgument / overloaded CapException raised. Pure.
 */
static int tspawn_decode(struct k_call *c, struct k_process *p,
                         const capnp_struct *root, struct tspawn_args *a)
{
    a->entry = capos_ThreadSpawner_spawn_Params_get_entry(root);
    a->arg = capos_ThreadSpawner_spawn_Params_get_arg(root);
    a->stack = capos_ThreadSpawner_spawn_Params_get_stackSize(root);
    a->ring = capos_ThreadSpawner_spawn_Params_get_ring(root);
    a->fs = capos_ThreadSpawner_spawn_Params_get_fsBase(root);
    if (a->entry == 0)
        return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                "ThreadSpawner.spawn: entry is not an "
                                "address");
    if (a->stack > p->stack_size)
        return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                "ThreadSpawner.spawn: stackSize is larger "
                                "than the process's thread stack slot");
    if (a->ring && ((a->ring & (CAPOS_PAGE_SIZE - 1)) ||
                    !k_user_buf(p, a->ring, sizeof(CapRing))))
        return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                "ThreadSpawner.spawn: ring is not a "
                                "page-aligned page of the process heap");
    for (uint32_t i = 0; a->ring && i < K_MAX_THREADS; i++) {
        const struct k_thread *o = p->tslot[i];
        if (o && o->own_ring && k_user_vaddr(p, o->ring.page) == a->ring)
            return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                    "ThreadSpawner.spawn: ring is another "
                                    "thread's ring page");
    }
    if (p->nthreads >= p->max_threads)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "ThreadSpawner.spawn: the process has "
                                "max_threads threads");
    return 0;
}

/*
 * Write the spawn result {thread = record 0} and check that the caller
 * can take it with its one cap, so a started thread never loses its
 * handle on delivery. Returns the result length,
 * CAP_ERR_INVALID_RESULT_BUFFER or CAP_ERR_TRANSFER_REJECTED.
 */
static int tspawn_result(struct k_call *c, struct k_process *p)
{
    capnp_builder b;
    capnp_struct_builder res;
    if (k_call_result_begin(
            c, &b, CAPOS_THREAD_SPAWNER_SPAWN_RESULTS_DATA_WORDS,
            CAPOS_THREAD_SPAWNER_SPAWN_RESULTS_POINTERS, &res) != 0 ||
        capos_ThreadSpawner_spawn_Results_set_thread(&res, 0) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    int len = k_call_result_end(c, &b);
    if (len < 0 ||
        CAP_ALIGN8((uint64_t)len) + sizeof(CapTransferResult) > c->result_len)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (ct_free_count(&p->caps) < 1)
        return CAP_ERR_TRANSFER_REJECTED;
    return len;
}

/*
 * Start the thread of checked arguments a in p with its handle, and put
 * the handle in c->result_caps. Returns len (tspawn_result's), or
 * overloaded when memory or a thread slot runs out (nothing left then).
 */
static int tspawn_invoke(struct k_call *c, struct k_process *p,
                         const struct tspawn_args *a, int len)
{
    struct thread_handle *h = port_alloc(sizeof *h);
    if (!h)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "ThreadSpawner.spawn: out of kernel memory");
    k_obj_init(&h->obj, &handle_ops, K_OBJ_NON_TRANSFERABLE);
    h->proc = p;
    struct k_thread *t;
    /* Hosted choice: entry is a host function address (see the header). */
    void (*fn)(void *) = (void (*)(void *))(uintptr_t)a->entry;
    if (k_thread_create(p, fn, (void *)(uintptr_t)a->arg, &t) != 0) {
        /* Out of memory, or a slot of an exited thread not reaped yet. */
        k_obj_unref(&h->obj);
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "ThreadSpawner.spawn: no thread slot or "
                                "kernel memory free; retry later");
    }
    t->fs_base = a->fs;
    if (a->ring) {
        /* Checked above; nothing between can make it fail. */
        int ok = k_thread_attach_ring(t, a->ring);
        K_ASSERT(ok == 0, "spawn: checked ring refused");
    }
    h->thread = t;
    t->handle = h;
    c->result_caps[c->nresult_caps++] = &h->obj;
    return len;
}

/* ThreadSpawner.spawn (docs/abi.md §15): decode, then invoke. */
static int spawn(struct thread_spawner *sp, struct k_call *c)
{
    struct k_process *p = c->proc;
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    (void)sp;
    struct tspawn_args a;
    r = tspawn_decode(c, p, &root, &a);
    if (r != 0)
        return r;
    int len = tspawn_result(c, p);
    if (len < 0)
        return len;
    return tspawn_invoke(c, p, &a, len);
}

static int spawner_call(struct k_object *obj, struct k_call *c)
{
    struct thread_spawner *sp = (struct thread_spawner *)obj;
    if (c->proc != sp->proc)
        return k_call_exception(c, K_EXC_FAILED,
                                "ThreadSpawner: not the holder's process");
    if (c->method_id != SPAWNER_SPAWN)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "ThreadSpawner has no such method");
    return spawn(sp, c);
}

static void plain_destroy(struct k_object *obj)
{
    port_free(obj);
}

static const struct k_object_ops spawner_ops = {
    .name = "ThreadSpawner",
    .interface_id = K_IFACE_THREAD_SPAWNER,
    .call = spawner_call,
    .destroy = plain_destroy,
};

/* ---- ThreadHandle ----------------------------------------------------- */

/* Build join's result {exitCode} into b; 0 or a codec error. */
static int join_result(capnp_builder *b, int64_t code)
{
    capnp_struct_builder res;
    int r = capos_ThreadHandle_join_Results_init_root(b, &res);
    if (r == 0)
        capos_ThreadHandle_join_Results_set_exitCode(&res, code);
    return r;
}

/* The process, or the thread whose own ring the join was submitted on,
 * exited with the join pending: drop it (no CQE). */
static void join_cancel(struct k_pending *pd)
{
    struct thread_join *w = (struct thread_join *)pd;
    struct thread_handle *h = w->h;
    h->join = NULL;
    h->joined = false; /* withdrawn (its thread exited): join again */
    port_free(w);
    k_obj_unref(&h->obj);
}

/*
 * Thread t, which has a handle, is retiring (thread.c): record its exit
 * code in the handle and complete a pending join. When its process is
 * exiting the join is left to be cancelled with the other pending calls.
 */
void threadcap_thread_exit(struct k_thread *t)
{
    struct thread_handle *h = t->handle;
    t->handle = NULL;
    h->thread = NULL;
    h->exited = true;
    h->exit_code = t->exit_code;
    struct thread_join *w = h->join;
    if (!w || h->proc->state != KP_ALIVE)
        return;
    h->join = NULL;
    uint64_t buf[4];
    capnp_builder b;
    size_t len = 0;
    capnp_builder_init(&b, buf, sizeof buf);
    int r = join_result(&b, h->exit_code);
    if (r == 0)
        r = capnp_finish(&b, &len);
    K_ASSERT(r == 0, "join result does not fit its buffer");
    k_pending_done_result(&w->pd, buf, (uint32_t)len);
    port_free(w);
    k_obj_unref(&h->obj);
}

static int handle_call(struct k_object *obj, struct k_call *c)
{
    struct thread_handle *h = (struct thread_handle *)obj;
    if (c->proc != h->proc)
        return k_call_exception(c, K_EXC_FAILED,
                                "ThreadHandle: not the holder's process");
    if (c->method_id != HANDLE_JOIN)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "ThreadHandle has no such method");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    /* The result must fit the caller's buffer now, so the completion
     * cannot fail later for want of room. */
    capnp_builder b;
    capnp_builder_init(&b, c->result, c->result_cap);
    if (join_result(&b, h->exit_code) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    int len = k_call_result_end(c, &b);
    if (len < 0)
        return len;
    if (h->joined)
        return k_call_exception(c, K_EXC_FAILED,
                                "ThreadHandle.join: the thread was already "
                                "joined (one join per handle)");
    if (h->exited) {
        h->joined = true;
        return len;
    }
    if (h->thread == k.current)
        return k_call_exception(c, K_EXC_FAILED,
                                "ThreadHandle.join: a thread cannot join "
                                "itself");
    struct thread_join *w = port_alloc(sizeof *w);
    if (!w)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "ThreadHandle.join: out of kernel memory");
    w->h = h;
    k_obj_ref(&h->obj);
    h->join = w;
    h->joined = true;
    k_pending_add(&w->pd, c, join_cancel);
    return K_CALL_PENDING;
}

/* Last reference gone (no join pending: a join holds one): detach. */
static void handle_destroy(struct k_object *obj)
{
    struct thread_handle *h = (struct thread_handle *)obj;
    K_ASSERT(h->join == NULL, "thread handle destroyed with a join pending");
    if (h->thread)
        h->thread->handle = NULL;
    port_free(h);
}

static const struct k_object_ops handle_ops = {
    .name = "ThreadHandle",
    .interface_id = K_IFACE_THREAD_HANDLE,
    .call = handle_call,
    .destroy = handle_destroy,
};

/* ---- ThreadControl ---------------------------------------------------- */

/*
 * ThreadControl.exit: end the calling thread, the one in cap_enter that
 * consumed this SQE (on the process ring a runtime must submit a thread's
 * exit from that thread). The call never completes: its CQ reservation
 * (on the ring it came from) is released, the caps transferred with it
 * roll back, and the consumed SQE head is published, since the submit
 * loop never returns to this thread. Exiting the last thread ends the
 * process with status 0 (thread.c).
 */
static _Noreturn void control_exit(struct k_call *c, struct k_thread *t,
                                   int64_t code)
{
    struct k_process *p = c->proc;
    t->exit_code = code;
    xfer_abort(p, c->xfer, c->nxfer);
    c->nxfer = 0;
    k_ring_abandon_current();
    k_thread_exit();
}

static int control_call(struct k_object *obj, struct k_call *c)
{
    struct thread_control *tc = (struct thread_control *)obj;
    if (c->proc != tc->proc)
        return k_call_exception(c, K_EXC_FAILED,
                                "ThreadControl: not the holder's process");
    if (c->method_id > CONTROL_GET_FS)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "ThreadControl has no such method");
    struct k_thread *t = k.current;
    if (!t || t->proc != c->proc)
        return k_call_exception(c, K_EXC_FAILED,
                                "ThreadControl: no calling thread of this "
                                "process (host context)");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    switch (c->method_id) {
    case CONTROL_EXIT:
        control_exit(c, t, capos_ThreadControl_exit_Params_get_exitCode(&root));
    case CONTROL_SET_FS:
        /* Hosted: recorded only (the host owns the real FS register). */
        t->fs_base = capos_ThreadControl_setFsBase_Params_get_base(&root);
        return 0;
    default: {
        capnp_builder b;
        capnp_struct_builder res;
        if (k_call_result_begin(
                c, &b, CAPOS_THREAD_CONTROL_GET_FS_BASE_RESULTS_DATA_WORDS,
                CAPOS_THREAD_CONTROL_GET_FS_BASE_RESULTS_POINTERS, &res) != 0)
            return CAP_ERR_INVALID_RESULT_BUFFER;
        capos_ThreadControl_getFsBase_Results_set_base(&res, t->fs_base);
        return k_call_result_end(c, &b);
    }
    }
}

static const struct k_object_ops control_ops = {
    .name = "ThreadControl",
    .interface_id = K_IFACE_THREAD_CONTROL,
    .call = control_call,
    .destroy = plain_destroy,
};

/* ---- grants ----------------------------------------------------------- */

/* Give p a ThreadSpawner of p itself. Returns 0 and its CapId, or a
 * CAP_ERR_* code. */
int threadspawner_grant(struct k_process *p, uint32_t *out_id)
{
    struct thread_spawner *sp = port_alloc(sizeof *sp);
    if (!sp)
        return CAP_ERR_INVOKE_FAILED;
    k_obj_init(&sp->obj, &spawner_ops, K_OBJ_NON_TRANSFERABLE);
    sp->proc = p;
    return k_obj_grant(p, &sp->obj, out_id);
}

/* Give p a ThreadControl for its own threads. Returns 0 and its CapId, or
 * a CAP_ERR_* code. */
int threadcontrol_grant(struct k_process *p, uint32_t *out_id)
{
    struct thread_control *tc = port_alloc(sizeof *tc);
    if (!tc)
        return CAP_ERR_INVOKE_FAILED;
    k_obj_init(&tc->obj, &control_ops, K_OBJ_NON_TRANSFERABLE);
    tc->proc = p;
    return k_obj_grant(p, &tc->obj, out_id);
}
