/*
 * spawner.c - the ProcessSpawner and ProcessHandle kernel capabilities:
 * start a boot binary as a new process holding exactly the caps granted
 * to it, then wait for its exit or kill it (upstream process model).
 *
 * ProcessSpawner (schema/capos.capnp; docs/abi.md §13):
 *   @0 spawn (name, binaryName, grants :List(CapGrant), limits)
 *        -> (handleIndex) + result caps: the ProcessHandle at record
 *        handleIndex (always 0), then one client facet per `endpoint`
 *        grant, in grant order.
 * ProcessHandle:
 *   @0 wait () -> (exitCode)   pending until the child exits
 *   @1 kill () -> ()           exits the child with killedExitCode (-9)
 *
 * Authority rule: a spawn never gives the child more than its caller
 * could. The only caps the spawner makes are fresh console, timer and
 * nullCap objects (ambient: they reach nothing private), networkManager
 * and tcpListenAuthority (badge: a guest port with a kernelParams
 * forward; only ProcessSpawner holders, init and whom it trusts with the
 * spawner, can mint them: docs/net.md), the child's own
 * threadSpawner, threadControl and parkSpace (they reach only the child
 * itself), fresh endpoints owned by the child, and badged slots of an unbadged
 * ClientEndpoint facet the caller passes (a holder of an unbadged facet may
 * label it once, as seL4's minting; a badged facet cannot be relabelled).
 * Everything else (BootPackage, ProcessSpawner, a service's facet) reaches the
 * child only as a `cap` grant: a cap the caller holds and transfers with the
 * CALL.
 *
 * Lifetime: the spawned process's creator reference belongs to its
 * handle. Releasing the handle detaches the child (it runs on); an exited
 * child is freed once its handle and its threads are gone. A pending wait
 * holds a reference to the handle, so it completes even if the caller
 * releases the handle meanwhile; if the waiter exits first the wait is
 * cancelled.
 *
 * Every refusal of bad input is an invalidArgument CapException naming
 * the offending field, checked before anything is created; a caller's
 * transferred caps then roll back (ring.c), so a refused spawn changes
 * nothing.
 */
#include "capos.capnp.h"
#include "kmodel.h"

/* Field positions and ids come from the generated schema/capos.capnp.h. */
enum {
    CG_KERNEL = CAPOS_CAP_GRANT_SOURCE_WHICH_KERNEL,
    CG_SERVICE = CAPOS_CAP_GRANT_SOURCE_WHICH_SERVICE,
    CG_ENDPOINT = CAPOS_CAP_GRANT_SOURCE_WHICH_ENDPOINT,
    CG_CAP_SOURCE = CAPOS_CAP_GRANT_SOURCE_WHICH_CAP,
};

#define SPAWN_NAME_MAX                                                         \
    CAPOS_PROCESS_NAME_MAX /* k_process.name holds it + NUL */
#define SPAWN_GRANTS_MAX CAPOS_CAPSET_MAX_ENTRIES
#define SPAWN_ENDPOINTS_MAX (CAP_XFER_MAX - 1u) /* the handle is one */
#define KILLED_EXIT_CODE CAPOS_KILLED_EXIT_CODE

struct spawner {
    struct k_object obj;
    const uint8_t *bytes; /* the boot manifest, kept alive by the host */
    size_t len;
};

struct handle_wait;

struct proc_handle {
    struct k_object obj;
    struct k_process *child;  /* referenced: the creator's reference */
    struct handle_wait *wait; /* the one pending wait, or NULL */
};

struct handle_wait {
    struct k_pending pd;   /* first: the cancel hook casts back */
    struct proc_handle *h; /* referenced while pending */
};

static const struct k_object_ops spawner_ops;
static const struct k_object_ops handle_ops;

/* ---- messages --------------------------------------------------------- */

/* A CapException message under construction (at most 255 bytes). */
struct msg {
    char buf[256];
    struct k_msg k;
};

static void m_str(struct msg *m, const char *s)
{
    k_msg_str(&m->k, s);
}

/* Untrusted text from the params, quoted: at most M_TEXT_MAX bytes of it,
 * escaped (k_msg_text), so a message stays one line no terminal obeys. */
#define M_TEXT_MAX 48u

static void m_text(struct msg *m, const char *s, size_t n)
{
    m_str(m, "\"");
    k_msg_text(&m->k, s, n < M_TEXT_MAX ? n : M_TEXT_MAX);
    m_str(m, n > M_TEXT_MAX ? "...\"" : "\"");
}

static void m_u64(struct msg *m, uint64_t v)
{
    k_msg_u64(&m->k, v);
}

/* "ProcessSpawner.spawn: grants[i] "name": " */
static void m_grant(struct msg *m, uint32_t i, const char *name, size_t n)
{
    m_str(m, "grants[");
    m_u64(m, i);
    m_str(m, "]");
    if (n) {
        m_str(m, " ");
        m_text(m, name, n);
    }
    m_str(m, ": ");
}

static int refuse(struct k_call *c, struct msg *m)
{
    return k_call_exception(c, K_EXC_INVALID_ARGUMENT, m->buf);
}

/* ---- decode: check every argument, change nothing --------------------- */

/* The row of a kernel source the spawner mints, NULL for the others. */
static const struct k_ksrc *ksrc_minted(uint16_t src)
{
    const struct k_ksrc *ks = k_ksrc(src);
    return ks && ks->grant && (ks->flags & K_KSRC_SPAWN) ? ks : NULL;
}

/* One grant, checked. */
struct grant {
    const char *name;
    size_t nlen;
    uint16_t tag;
    uint16_t ksrc;   /* kernel: the source */
    uint32_t xfer;   /* cap: index into the CALL's transfers */
    uint64_t badge;  /* cap: the badge of the child's slot */
    uint64_t iface;  /* the child's slot's typed interface (0: untyped) */
};

/* The checked arguments of one spawn: all that spawn_invoke acts on. */
struct spawn_args {
    char name[SPAWN_NAME_MAX + 1];
    void (*entry)(void *);
    struct k_process_opts o; /* o.name points at name */
    uint32_t ngrants;
    uint32_t nendpoints;
    struct grant grants[SPAWN_GRANTS_MAX];
};

/* Append "grants[i] "name": why" to m; returns -1 for the caller to
 * pass up. */
static int grant_refuse(struct msg *m, uint32_t i, const struct grant *g,
                        const char *why)
{
    m_grant(m, i, g->name, g->nlen);
    m_str(m, why);
    return -1;
}

/* The name of grant gs, the i-th: a CapSet name unique among the checked
 * grants g[0..i). Sets g[i].name; 0, or -1 with the reason in m. */
static int grant_decode_name(const capnp_struct *gs, bool ok, uint32_t i,
                             struct grant *g, struct msg *m)
{
    struct grant *gi = &g[i];
    if (!ok || K_TEXT(capos_CapGrant, name, gs, &gi->name, &gi->nlen) < 0) {
        m_grant(m, i, NULL, 0);
        m_str(m, "not a valid CapGrant");
        return -1;
    }
    if (!capos_capset_name_ok(gi->name, gi->nlen)) {
        m_grant(m, i, gi->name, gi->nlen);
        m_str(m, "a cap name needs 1 to ");
        m_u64(m, CAPOS_CAPSET_NAME_MAX - 1);
        m_str(m, " printable bytes, no spaces");
        return -1;
    }
    for (uint32_t j = 0; j < i; j++) {
        if (g[j].nlen == gi->nlen &&
            k_memcmp(g[j].name, gi->name, gi->nlen) == 0) {
            m_grant(m, i, gi->name, gi->nlen);
            m_str(m, "grants[");
            m_u64(m, j);
            m_str(m, "] has the same name; CapSet names must be unique");
            return -1;
        }
    }
    return 0;
}

/* Source `kernel`: a row the spawner mints, whose check (if any) takes
 * the badge. Sets g->ksrc and *have (the row's interface); 0 or -1. */
static int grant_decode_kernel(const capnp_struct *gs, uint32_t i,
                               struct grant *g, uint64_t *have, struct msg *m)
{
    g->ksrc = capos_CapGrant_source_get_kernel(gs);
    const struct k_ksrc *ks = ksrc_minted(g->ksrc);
    if (!ks) {
        m_grant(m, i, g->name, g->nlen);
        m_str(m, "kernel source ");
        if (k_ksrc_name(g->ksrc))
            m_str(m, k_ksrc_name(g->ksrc));
        else
            m_u64(m, g->ksrc);
        m_str(m, " is not minted by ProcessSpawner (only ");
        k_ksrc_spawn_list(&m->k);
        m_str(m, "); pass a cap you hold as a `cap` grant");
        return -1;
    }
    *have = ks->iface;
    char why[160];
    struct k_msg wm = {why, sizeof why, 0};
    if (ks->check && ks->check(g->badge, &wm) < 0)
        return grant_refuse(m, i, g, why);
    return 0;
}

/* Source `cap`: one of the CALL's transferred caps; a badge only labels an
 * unbadged facet, and an interfaceId types an untyped facet (docs/abi.md
 * §13.1). Sets g->xfer, g->badge, g->iface and *have; 0 or -1. */
static int grant_decode_cap(struct k_call *c, const capnp_struct *gs,
                            uint32_t i, uint64_t want, struct grant *g,
                            uint64_t *have, struct msg *m)
{
    uint32_t idx;
    if (capos_CapGrant_source_get_cap(gs, &idx) < 0 || idx == CAPNP_CAP_NULL)
        return grant_refuse(m, i, g,
                            "source `cap` needs a capability pointer naming "
                            "one of the CALL's transferred caps");
    if (idx >= c->nxfer) {
        m_grant(m, i, g->name, g->nlen);
        m_str(m, "cap index ");
        m_u64(m, idx);
        m_str(m, " is out of range: the CALL transfers ");
        m_u64(m, c->nxfer);
        m_str(m, " caps");
        return -1;
    }
    const struct k_xfer *x = &c->xfer[idx];
    bool facet = ep_is_client(x->obj);
    g->xfer = idx;
    *have = x->obj->ops->interface_id;
    if (facet && x->iface) {
        /* Typed: it keeps its interface, which the grant must expect. */
        *have = x->iface;
        g->iface = x->iface;
    } else if (facet && want && want != K_IFACE_CLIENT_ENDPOINT) {
        /* Untyped: the grant types it, as a badge labels it. */
        *have = want;
        g->iface = want;
    }
    if (g->badge && !(facet && (x->badge == 0 || x->badge == g->badge)))
        return grant_refuse(m, i, g,
                            facet ? "the facet already carries another badge "
                                    "(a badged facet cannot be relabelled)"
                                  : "a badge can only label an unbadged "
                                    "ClientEndpoint facet");
    if (!g->badge)
        g->badge = x->badge;
    return 0;
}

/*
 * Check grants[i] of call c into g[i] (g[0..i) are checked already).
 * Returns 0, or -1 with the reason appended to m (the caller raises it).
 * Pure: nothing is created, so the spawn checks every grant before acting
 * on any.
 */
static int grant_decode(struct k_call *c, const capnp_list *grants, uint32_t i,
                        struct grant *g, struct msg *m)
{
    capnp_struct gs;
    bool ok = capnp_list_get_struct(grants, i, &gs) == 0;
    if (grant_decode_name(&gs, ok, i, g, m) < 0)
        return -1;
    struct grant *gi = &g[i];
    gi->tag = capos_CapGrant_source_which(&gs);
    gi->badge = capos_CapGrant_get_badge(&gs);
    gi->iface = 0;
    uint64_t want = capos_CapGrant_get_interfaceId(&gs);
    uint64_t have = 0;
    int r;
    switch (gi->tag) {
    case CG_KERNEL:
        r = grant_decode_kernel(&gs, i, gi, &have, m);
        break;
    case CG_SERVICE:
        return grant_refuse(m, i, gi,
                            "a `service` source is a manifest import that "
                            "init resolves; pass the cap itself as a `cap` "
                            "grant");
    case CG_ENDPOINT:
        have = K_IFACE_ENDPOINT;
        r = 0;
        break;
    case CG_CAP_SOURCE:
        r = grant_decode_cap(c, &gs, i, want, gi, &have, m);
        break;
    default:
        m_grant(m, i, gi->name, gi->nlen);
        m_str(m, "unknown source (union tag ");
        m_u64(m, gi->tag);
        m_str(m, ")");
        return -1;
    }
    if (r == 0 && want && want != have)
        r = grant_refuse(m, i, gi, "interfaceId does not match its source");
    return r;
}

/* name and binaryName of the spawn params root: a valid process name and
 * a builtin program of the boot manifest. Fills a->name and a->entry; 0,
 * or -1 with the reason in m. */
static int spawn_decode_program(struct spawner *sp, const capnp_struct *root,
                                struct spawn_args *a, struct msg *m)
{
    const char *name, *bin;
    size_t nlen, blen;
    int nr =
        K_TEXT(capos_ProcessSpawner_spawn_Params, name, root, &name, &nlen);
    if (nr < 0 || !capos_process_name_ok(name, nlen)) {
        m_str(m, "name ");
        if (nr == 0)
            m_text(m, name, nlen);
        m_str(m, " must be 1 to ");
        m_u64(m, CAPOS_PROCESS_NAME_MAX);
        m_str(m, " bytes of letters, digits, '.', '_' or '-'");
        return -1;
    }
    if (K_TEXT(capos_ProcessSpawner_spawn_Params, binaryName, root, &bin,
               &blen) < 0 ||
        blen == 0) {
        m_str(m, "binaryName is missing (a Binary.name of the manifest)");
        return -1;
    }
    char why[200];
    a->entry = NULL;
    if (k_manifest_binary(sp->bytes, sp->len, bin, blen, &a->entry, why,
                          sizeof why) < 0) {
        m_str(m, why);
        return -1;
    }
    k_memcpy(a->name, name, nlen);
    a->name[nlen] = 0;
    return 0;
}

/* limits of the spawn params root, if present, into a->o; 0 or -1. */
static int spawn_decode_limits(const capnp_struct *root, struct spawn_args *a,
                               struct msg *m)
{
    a->o = (struct k_process_opts){.name = a->name, .owned = true};
    if (!capos_ProcessSpawner_spawn_Params_has_limits(root))
        return 0;
    capnp_struct lim;
    if (capos_ProcessSpawner_spawn_Params_get_limits(root, &lim) < 0) {
        m_str(m, "limits is not a ProcessLimits");
        return -1;
    }
    a->o.arena_size = capos_ProcessLimits_get_arenaBytes(&lim);
    a->o.max_threads = capos_ProcessLimits_get_maxThreads(&lim);
    a->o.cap_slots = capos_ProcessLimits_get_capSlots(&lim);
    return 0;
}

/* Every grant of the list, then what they need together: the endpoint
 * facets must fit one CALL's result, the grants the child's slots. */
static int spawn_decode_grants(struct k_call *c, const capnp_list *grants,
                               struct spawn_args *a, struct msg *m)
{
    a->nendpoints = 0;
    for (uint32_t i = 0; i < a->ngrants; i++) {
        if (grant_decode(c, grants, i, a->grants, m) < 0)
            return -1;
        a->nendpoints += a->grants[i].tag == CG_ENDPOINT;
    }
    if (a->nendpoints > SPAWN_ENDPOINTS_MAX) {
        m_str(m, "too many `endpoint` grants (");
        m_u64(m, a->nendpoints);
        m_str(m, "); at most ");
        m_u64(m, SPAWN_ENDPOINTS_MAX);
        m_str(m, ", as a CALL returns at most ");
        m_u64(m, CAP_XFER_MAX);
        m_str(m, " caps");
        return -1;
    }
    if (a->o.cap_slots && a->ngrants > a->o.cap_slots) {
        m_str(m, "limits.capSlots ");
        m_u64(m, a->o.cap_slots);
        m_str(m, " cannot hold the ");
        m_u64(m, a->ngrants);
        m_str(m, " grants");
        return -1;
    }
    return 0;
}

/*
 * Decode the spawn params root of call c into *a, checking every field in
 * the order the refusals are documented (name, binary, grants list,
 * limits, each grant, totals). Returns 0, or -1 with the reason in m.
 * Pure: nothing is created or referenced.
 */
static int spawn_decode(struct spawner *sp, struct k_call *c,
                        const capnp_struct *root, struct spawn_args *a,
                        struct msg *m)
{
    if (spawn_decode_program(sp, root, a, m) < 0)
        return -1;
    capnp_list grants = {0};
    if (capos_ProcessSpawner_spawn_Params_has_grants(root) &&
        capos_ProcessSpawner_spawn_Params_get_grants(root, &grants) < 0) {
        m_str(m, "grants is not a list of CapGrant");
        return -1;
    }
    a->ngrants = capnp_list_len(&grants);
    if (a->ngrants > SPAWN_GRANTS_MAX) {
        m_str(m, "too many grants (");
        m_u64(m, a->ngrants);
        m_str(m, "); a CapSet holds at most ");
        m_u64(m, SPAWN_GRANTS_MAX);
        return -1;
    }
    if (spawn_decode_limits(root, a, m) < 0)
        return -1;
    return spawn_decode_grants(c, &grants, a, m);
}

/*
 * Write the spawn result {handleIndex = 0} and check that the caller can
 * take it with its 1 + nendpoints caps, so a started child never loses
 * its handle on delivery (ring.c delivers after spawn returns). Returns
 * the result length, CAP_ERR_INVALID_RESULT_BUFFER or
 * CAP_ERR_TRANSFER_REJECTED.
 */
static int spawn_result(struct k_call *c, uint32_t nendpoints)
{
    capnp_builder b;
    capnp_struct_builder res;
    if (k_call_result_begin(
            c, &b, CAPOS_PROCESS_SPAWNER_SPAWN_RESULTS_DATA_WORDS,
            CAPOS_PROCESS_SPAWNER_SPAWN_RESULTS_POINTERS, &res) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    /* The handle is result cap record 0. */
    capos_ProcessSpawner_spawn_Results_set_handleIndex(&res, 0);
    int len = k_call_result_end(c, &b);
    uint32_t ncaps = 1 + nendpoints;
    if (len < 0 ||
        CAP_ALIGN8((uint64_t)len) + ncaps * sizeof(CapTransferResult) >
            c->result_len)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (ct_free_count(&c->proc->caps) < ncaps)
        return CAP_ERR_TRANSFER_REJECTED;
    return len;
}

/* ---- invoke: act on checked arguments --------------------------------- */

/*
 * Give the child the cap of checked grant g and list it in the child's
 * CapSet. An endpoint grant's client facet (a new reference) is appended
 * to facets. Returns 0, or a CAP_ERR_* code when memory or the child's
 * table runs out (the caller then tears the child down).
 */
static int grant_apply(struct k_process *child, struct k_call *c,
                       const struct grant *g, struct k_object **facets,
                       uint32_t *nfacets)
{
    uint32_t id;
    int r;
    switch (g->tag) {
    case CG_KERNEL: {
        struct k_ksrc_args a = {.badge = g->badge};
        r = k_ksrc(g->ksrc)->grant(child, &a, &id);
        break;
    }
    case CG_ENDPOINT:
        r = ep_create(child, &id);
        if (r == 0)
            facets[(*nfacets)++] =
                ep_client_ref(ct_lookup(&child->caps, id)->obj);
        break;
    default: /* CG_CAP_SOURCE */
        r = ct_insert_as(&child->caps, c->xfer[g->xfer].obj, g->badge, g->iface,
                         &id);
        break;
    }
    if (r < 0)
        return r;
    char name[CAPOS_CAPSET_NAME_MAX];
    k_memcpy(name, g->name, g->nlen);
    name[g->nlen] = 0;
    return k_capset_add(child, name, id);
}

static int out_of_memory(struct k_call *c)
{
    return k_call_exception(c, K_EXC_OVERLOADED,
                            "ProcessSpawner.spawn: out of kernel memory");
}

/*
 * Create the child of checked arguments a with its handle, its grants and
 * its first thread, and put the handle and the endpoint facets in
 * c->result_caps. Returns len (the result spawn_result wrote), an
 * invalidArgument CapException when the limits cannot be met (m holds the
 * "ProcessSpawner.spawn: " prefix), or overloaded when kernel memory runs
 * out; on error nothing is left behind.
 */
static int spawn_invoke(struct k_call *c, const struct spawn_args *a, int len,
                        struct msg *m)
{
    struct k_process *child = k_process_create(&a->o);
    if (!child) {
        m_str(m, "limits are impossible (the arena must hold the ring, "
                 "the CapSet, a heap page and every thread's stack; at "
                 "most ");
        m_u64(m, K_MAX_THREADS);
        m_str(m, " threads and ");
        m_u64(m, CT_SLOTS_MAX);
        m_str(m, " cap slots)");
        return refuse(c, m);
    }
    struct proc_handle *h = port_alloc(sizeof *h);
    if (!h) {
        k_process_exit(child, -1);
        k_process_put(child);
        return out_of_memory(c);
    }
    k_obj_init(&h->obj, &handle_ops, K_OBJ_MOVE_ONLY);
    h->child = child; /* takes the creator's reference */
    child->handle = h;

    struct k_object *facets[SPAWN_ENDPOINTS_MAX];
    uint32_t nfacets = 0;
    int r = 0;
    for (uint32_t i = 0; i < a->ngrants && r == 0; i++)
        r = grant_apply(child, c, &a->grants[i], facets, &nfacets);
    if (r == 0)
        r = k_thread_create(child, a->entry, NULL, NULL);
    if (r < 0) {
        /* Out of memory: undo. The child never ran. */
        k_process_exit(child, -1);
        for (uint32_t i = 0; i < nfacets; i++)
            k_obj_unref(facets[i]);
        k_obj_unref(&h->obj); /* frees the child */
        return out_of_memory(c);
    }
    c->result_caps[c->nresult_caps++] = &h->obj;
    for (uint32_t i = 0; i < nfacets; i++)
        c->result_caps[c->nresult_caps++] = facets[i];
    return len;
}

/* ---- ProcessSpawner.spawn --------------------------------------------- */

/*
 * ProcessSpawner.spawn (docs/abi.md §13.1): decode, then invoke. On
 * success the child is created with its grants and a runnable first
 * thread, and the result is its length, with the handle (record 0) and
 * the endpoint facets in c->result_caps for ring.c to deliver. On error
 * nothing is created: an invalidArgument CapException for bad input,
 * overloaded when kernel memory runs out, or
 * CAP_ERR_INVALID_RESULT_BUFFER / CAP_ERR_TRANSFER_REJECTED when the
 * caller could not take the result.
 */
static int spawn(struct spawner *sp, struct k_call *c)
{
    capnp_message pm;
    capnp_struct root;
    int r = k_call_params(c, &pm, &root);
    if (r < 0)
        return r;
    struct msg m;
    m.buf[0] = 0;
    m.k = (struct k_msg){m.buf, sizeof m.buf, 0};
    m_str(&m, "ProcessSpawner.spawn: ");
    struct spawn_args a;
    if (spawn_decode(sp, c, &root, &a, &m) < 0)
        return refuse(c, &m);
    int len = spawn_result(c, a.nendpoints);
    if (len < 0)
        return len;
    return spawn_invoke(c, &a, len, &m);
}

static int spawner_call(struct k_object *obj, struct k_call *c)
{
    if (c->method_id != CAPOS_PROCESS_SPAWNER_SPAWN_METHOD_ID)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "ProcessSpawner has no such method");
    return spawn((struct spawner *)obj, c);
}

static void spawner_destroy(struct k_object *obj)
{
    port_free(obj);
}

static const struct k_object_ops spawner_ops = {
    .name = "ProcessSpawner",
    .interface_id = K_IFACE_PROCESS_SPAWNER,
    .call = spawner_call,
    .destroy = spawner_destroy,
};

/*
 * Give p a ProcessSpawner over the boot manifest bytes[0..len) (not
 * copied: the boot caller keeps them alive while the model runs). Returns
 * 0 and its CapId, or a CAP_ERR_* code.
 */
int spawner_grant(struct k_process *p, const uint8_t *bytes, size_t len,
                  uint32_t *out_id)
{
    struct spawner *sp = port_alloc(sizeof *sp);
    if (!sp)
        return CAP_ERR_INVOKE_FAILED;
    k_obj_init(&sp->obj, &spawner_ops, 0);
    sp->bytes = bytes;
    sp->len = len;
    return k_obj_grant(p, &sp->obj, out_id);
}

/* ---- ProcessHandle ---------------------------------------------------- */

enum {
    HANDLE_WAIT = CAPOS_PROCESS_HANDLE_WAIT_METHOD_ID,
    HANDLE_KILL = CAPOS_PROCESS_HANDLE_KILL_METHOD_ID,
};

/* Build wait's result {exitCode} into b; 0 or a codec error. */
static int wait_result(capnp_builder *b, int64_t code)
{
    capnp_struct_builder res;
    int r = capos_ProcessHandle_wait_Results_init_root(b, &res);
    if (r == 0)
        capos_ProcessHandle_wait_Results_set_exitCode(&res, code);
    return r;
}

/* The waiter exited before the child: drop the wait (no CQE). */
static void wait_cancel(struct k_pending *pd)
{
    struct handle_wait *w = (struct handle_wait *)pd;
    struct proc_handle *h = w->h;
    h->wait = NULL;
    port_free(w);
    k_obj_unref(&h->obj);
}

/*
 * Process p, which has a handle, has just exited (k_process_exit, after
 * releasing its caps): complete the handle's pending wait with p's exit
 * code. The wait's reference to the handle goes, which may destroy the
 * handle and drop its reference to p (k_process_exit holds another).
 */
void spawner_process_exit(struct k_process *p)
{
    struct proc_handle *h = p->handle;
    struct handle_wait *w = h->wait;
    if (!w)
        return;
    h->wait = NULL;
    uint64_t buf[4];
    capnp_builder b;
    size_t len = 0;
    capnp_builder_init(&b, buf, sizeof buf);
    int r = wait_result(&b, p->exit_code);
    if (r == 0)
        r = capnp_finish(&b, &len);
    K_ASSERT(r == 0, "wait result does not fit its buffer");
    k_pending_done_result(&w->pd, buf, (uint32_t)len);
    port_free(w);
    k_obj_unref(&h->obj);
}

/*
 * ProcessHandle.wait and .kill (docs/abi.md §13.2). wait returns the
 * result length when the child has exited, K_CALL_PENDING when it takes
 * the call (completed by spawner_process_exit or cancelled with its
 * caller), CAP_ERR_INVALID_RESULT_BUFFER when the result cannot fit, or a
 * CapException (a wait already pending: failed). kill returns 0 once the
 * child has exited.
 */
static int handle_call(struct k_object *obj, struct k_call *c)
{
    struct proc_handle *h = (struct proc_handle *)obj;
    if (c->method_id != HANDLE_WAIT && c->method_id != HANDLE_KILL)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "ProcessHandle has no such method");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    struct k_process *child = h->child;
    if (c->method_id == HANDLE_KILL) {
        k_process_exit(child, KILLED_EXIT_CODE); /* no-op once exited */
        return 0;
    }
    /* wait: the result must fit the caller's buffer now, so the
     * completion cannot fail later for want of room. */
    capnp_builder b;
    capnp_builder_init(&b, c->result, c->result_cap);
    if (wait_result(&b, child->exit_code) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    int len = k_call_result_end(c, &b);
    if (len < 0 || child->state == KP_DEAD)
        return len;
    if (h->wait)
        return k_call_exception(c, K_EXC_FAILED,
                                "ProcessHandle.wait: a wait is already "
                                "pending on this handle (one at a time)");
    struct handle_wait *w = port_alloc(sizeof *w);
    if (!w)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "ProcessHandle.wait: out of kernel memory");
    w->h = h;
    k_obj_ref(&h->obj);
    h->wait = w;
    k_pending_add(&w->pd, c, wait_cancel);
    return K_CALL_PENDING;
}

/* Last reference gone (no wait pending: a wait holds one): detach. */
static void handle_destroy(struct k_object *obj)
{
    struct proc_handle *h = (struct proc_handle *)obj;
    K_ASSERT(h->wait == NULL, "handle destroyed with a wait pending");
    h->child->handle = NULL;
    k_process_put(h->child);
    port_free(h);
}

static const struct k_object_ops handle_ops = {
    .name = "ProcessHandle",
    .interface_id = K_IFACE_PROCESS_HANDLE,
    .call = handle_call,
    .destroy = handle_destroy,
};
