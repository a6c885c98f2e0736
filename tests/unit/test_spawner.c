/*
 * test_spawner.c - ProcessSpawner and ProcessHandle (kernel-model/
 * spawner.c): a spawned child holds exactly its grants, in order; wait
 * completes at the child's exit (before or after it); kill; the handle
 * cannot travel; every class of bad input is refused with nothing created
 * or leaked; an exited child is freed once its handle is gone.
 *
 * Every message is built with the generated schema code, so a drift of
 * the spawner's hand-coded field offsets from the schema fails here.
 * Model threads (the children) never call cmocka asserts: they record what
 * they see, and the test body asserts after k_run().
 */
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "capos/syscall.h"
#include "harness.h"
#include "port_uv.h"

/* ---- the children ----------------------------------------------------- */

/* What the "serve" child saw. */
static struct {
    int ran;
    unsigned count;
    char names[8][CAPOS_CAPSET_NAME_MAX];
    uint64_t ifaces[8];
    uint32_t live;
    int recv_result;
    uint64_t recv_badge;
    char params[8];
    int ret_result;
    int call_result;
} seen;

/* Ring helpers for a child's own thread (no asserts). */
static void child_push(struct k_process *p, const CapSqe *sqe)
{
    CapRingHeader *h = &p->ring->hdr;
    p->ring->sq[h->sq_tail & (CAP_SQ_ENTRIES - 1)] = *sqe;
    __atomic_store_n(&h->sq_tail, h->sq_tail + 1, __ATOMIC_RELEASE);
}

static CapCqe child_call(struct k_process *p, const CapSqe *sqe)
{
    CapCqe c = {.result = -1000};
    child_push(p, sqe);
    k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE);
    CapRingHeader *h = &p->ring->hdr;
    if (h->cq_head != h->cq_tail)
        c = p->ring->cq[h->cq_head++ & (CAP_CQ_ENTRIES - 1)];
    return c;
}

static uint32_t child_cap(struct k_process *p, const char *name)
{
    for (unsigned i = 0; i < p->capset->hdr.count; i++)
        if (strcmp(p->capset->entries[i].name, name) == 0)
            return p->capset->entries[i].cap_id;
    return 0;
}

/* Record the CapSet; serve one call on "svc" (reply "pong"); call
 * "labelled" once; exit 0. */
static void child_serve(void *arg)
{
    (void)arg;
    struct k_process *p = k_current()->proc;
    seen.ran = 1;
    seen.count = p->capset->hdr.count;
    for (unsigned i = 0; i < seen.count && i < 8; i++) {
        memcpy(seen.names[i], p->capset->entries[i].name,
               CAPOS_CAPSET_NAME_MAX);
        seen.ifaces[i] = p->capset->entries[i].interface_id;
    }
    seen.live = p->caps.live;
    uint8_t *buf = k_user_ptr(p, CAPOS_HEAP_VADDR + 0x1000, 256);
    CapSqe recv = {.opcode = CAP_OP_RECV,
                   .cap_id = child_cap(p, "svc"),
                   .user_data = 1,
                   .result_addr = CAPOS_HEAP_VADDR + 0x1000,
                   .result_len = 256};
    CapCqe c = child_call(p, &recv);
    seen.recv_result = c.result;
    seen.recv_badge = c.badge;
    EndpointMessageHeader hdr;
    memcpy(&hdr, buf, sizeof hdr);
    memcpy(seen.params, buf + sizeof hdr,
           hdr.params_len < sizeof seen.params ? hdr.params_len : 0);
    memcpy(buf, "pong", 4);
    CapSqe ret = {.opcode = CAP_OP_RETURN,
                  .cap_id = recv.cap_id,
                  .call_id = hdr.call_id,
                  .addr = CAPOS_HEAP_VADDR + 0x1000,
                  .len = 4,
                  .user_data = 2};
    seen.ret_result = child_call(p, &ret).result;
    CapSqe call = {.opcode = CAP_OP_CALL,
                   .cap_id = child_cap(p, "labelled"),
                   .user_data = 3};
    seen.call_result = child_call(p, &call).result;
}

static void child_exit7(void *arg)
{
    (void)arg;
    capos_exit(7);
}

static void child_block(void *arg)
{
    (void)arg;
    k_thread_wait(UINT64_MAX); /* until killed */
}

static const struct sim_binary test_binaries[] = {
    {"t-serve", child_serve},
    {"t-exit7", child_exit7},
    {"t-block", child_block},
};

/* ---- the boot manifest the spawner reads ------------------------------ */

static uint64_t manifest_words[256];
static size_t manifest_len;

static void build_manifest(void)
{
    static const struct {
        const char *name, *builtin;
    } bins[] = {
        {"serve", "t-serve"}, {"exit7", "t-exit7"},
        {"block", "t-block"}, {"ghost", "t-no-such-program"},
        {"elfy", NULL},
    };
    capnp_builder b;
    capnp_struct_builder root, e;
    capnp_list_builder list;
    capnp_builder_init(&b, manifest_words, sizeof manifest_words);
    assert_int_equal(capos_SystemManifest_init_root(&b, &root), 0);
    capos_SystemManifest_set_schemaVersion(&root, 1);
    unsigned n = sizeof bins / sizeof bins[0];
    assert_int_equal(capos_SystemManifest_init_binaries(&root, n, &list), 0);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(capnp_list_struct_at(&list, i, &e), 0);
        capos_Binary_set_name(&e, bins[i].name, strlen(bins[i].name));
        if (bins[i].builtin)
            capos_Binary_image_set_builtin(&e, bins[i].builtin,
                                           strlen(bins[i].builtin));
        else
            capos_Binary_image_set_elf(&e,
                                       "\x7f"
                                       "ELF",
                                       4);
    }
    assert_int_equal(capnp_finish(&b, &manifest_len), 0);
}

static int setup(void **state)
{
    (void)state;
    h_up(true, 1);
    sim_set_binaries(test_binaries,
                     sizeof test_binaries / sizeof test_binaries[0]);
    build_manifest();
    memset(&seen, 0, sizeof seen);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    h_down();
    sim_set_binaries(NULL, 0);
    return 0;
}

/* A parent process holding a ProcessSpawner; *sp is its CapId. */
static struct k_process *parent_with_spawner(uint32_t *sp, uint32_t slots)
{
    struct k_process *p = h_proc("parent", slots);
    assert_int_equal(
        spawner_grant(p, (const uint8_t *)manifest_words, manifest_len, sp), 0);
    return p;
}

/* ---- building spawn calls --------------------------------------------- */

enum { G_KERNEL, G_SERVICE, G_ENDPOINT, G_CAP, G_RAW_TAG };

struct gspec {
    const char *name;
    int kind;
    uint16_t arg; /* G_KERNEL: source; G_CAP: index (0xffff: null) */
    uint64_t badge;
    uint64_t iface;
};

struct limits {
    uint32_t arena;
    uint16_t threads, slots;
};

/* Result buffer of the last spawn_sqe. */
static uint8_t *last_result;
#define RESULT_LEN 512u

/*
 * A spawn CALL from p: name, binary, grants g[0..n), descriptors x[0..nx)
 * after the params, optional limits. The params live in p's heap.
 */
static CapSqe spawn_sqe(struct k_process *p, uint32_t sp, const char *name,
                        const char *bin, const struct gspec *g, unsigned n,
                        const CapTransferDescriptor *x, unsigned nx,
                        const struct limits *lim)
{
    size_t cap = 16384;
    uint8_t *buf = h_alloc(p, cap);
    capnp_builder b;
    capnp_struct_builder root, gs, ls;
    capnp_list_builder list;
    capnp_builder_init(&b, buf, cap - 8 * CAP_XFER_MAX - 8);
    assert_int_equal(capos_ProcessSpawner_spawn_Params_init_root(&b, &root), 0);
    if (name)
        capos_ProcessSpawner_spawn_Params_set_name(&root, name, strlen(name));
    if (bin)
        capos_ProcessSpawner_spawn_Params_set_binaryName(&root, bin,
                                                         strlen(bin));
    if (n) {
        assert_int_equal(
            capos_ProcessSpawner_spawn_Params_init_grants(&root, n, &list), 0);
        for (unsigned i = 0; i < n; i++) {
            assert_int_equal(capnp_list_struct_at(&list, i, &gs), 0);
            capos_CapGrant_set_name(&gs, g[i].name, strlen(g[i].name));
            switch (g[i].kind) {
            case G_KERNEL:
                capos_CapGrant_source_set_kernel(&gs, g[i].arg);
                break;
            case G_SERVICE:
                capos_CapGrant_source_set_service(&gs, "srv.x", 5);
                break;
            case G_ENDPOINT:
                capos_CapGrant_source_set_endpoint(&gs);
                break;
            case G_CAP:
                capos_CapGrant_source_set_cap(
                    &gs, g[i].arg == 0xffff ? CAPNP_CAP_NULL : g[i].arg);
                break;
            default:
                capnp_set_u16(&gs, 2, g[i].arg, 0); /* a bogus union tag */
                break;
            }
            capos_CapGrant_set_badge(&gs, g[i].badge);
            capos_CapGrant_set_interfaceId(&gs, g[i].iface);
        }
    }
    if (lim) {
        assert_int_equal(
            capos_ProcessSpawner_spawn_Params_init_limits(&root, &ls), 0);
        capos_ProcessLimits_set_arenaBytes(&ls, lim->arena);
        capos_ProcessLimits_set_maxThreads(&ls, lim->threads);
        capos_ProcessLimits_set_capSlots(&ls, lim->slots);
    }
    size_t len;
    assert_int_equal(capnp_finish(&b, &len), 0);
    if (nx)
        memcpy(buf + CAP_ALIGN8(len), x, nx * sizeof *x);
    last_result = h_alloc(p, RESULT_LEN);
    CapSqe s;
    capos_ProcessSpawner_spawn_sqe_xfer(&s, sp, h_va(p, buf), (uint32_t)len,
                                        (uint16_t)nx, h_va(p, last_result),
                                        RESULT_LEN, 0x5b);
    return s;
}

/* The records after a result message of len bytes. */
static const CapTransferResult *records(int len)
{
    return (const CapTransferResult *)(last_result + CAP_ALIGN8(len));
}

/* Spawn bin with no grants; returns the handle's CapId. */
static uint32_t spawn_plain(struct k_process *p, uint32_t sp, const char *bin)
{
    CapSqe s = spawn_sqe(p, sp, bin, bin, NULL, 0, NULL, 0, NULL);
    CapCqe c = h_one(p, &s);
    assert_true(c.result > 0);
    assert_int_equal(c.cap_count, 1);
    const CapTransferResult *r = records(c.result);
    assert_int_equal(r[0].interface_id, CAPOS_PROCESS_HANDLE_INTERFACE_ID);
    return r[0].cap_id;
}

/* A parent holding a ProcessSpawner (*sp) and the ProcessHandle (*h) of a
 * child it spawned from bin with no grants. */
static struct k_process *parent_and_child(uint32_t *sp, uint32_t *h,
                                          const char *bin)
{
    struct k_process *p = parent_with_spawner(sp, 0);
    *h = spawn_plain(p, *sp, bin);
    return p;
}

/* Submit a ProcessHandle method without waiting; the result lands in *res. */
static void handle_submit(struct k_process *p, uint32_t h, uint16_t method,
                          uint64_t user_data, uint8_t **res)
{
    *res = h_alloc(p, 256);
    CapSqe *s = h_sqe(p);
    capnpc_c_call_sqe(s, h, method, 0, 0, 0, h_va(p, *res), 256, user_data);
    h_submit(p);
}

static int64_t exit_code_in(const uint8_t *res, int len)
{
    capnp_message m;
    capnp_struct root = h_root(res, (size_t)len, &m);
    return capos_ProcessHandle_wait_Results_get_exitCode(&root);
}

/* wait() on h, completing at once: the exit code. */
static int64_t wait_now(struct k_process *p, uint32_t h)
{
    uint8_t *res;
    handle_submit(p, h, CAPOS_PROCESS_HANDLE_WAIT_METHOD_ID, 0x77, &res);
    assert_int_equal(h_enter(p), 1);
    CapCqe c;
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 0x77);
    assert_true(c.result > 0);
    return exit_code_in(res, c.result);
}

/* ---- interface ids ---------------------------------------------------- */

static void kernel_interface_ids_equal_the_schema_ids(void **state)
{
    (void)state;
    assert_int_equal(K_IFACE_PROCESS_SPAWNER,
                     CAPOS_PROCESS_SPAWNER_INTERFACE_ID);
    assert_int_equal(K_IFACE_PROCESS_HANDLE, CAPOS_PROCESS_HANDLE_INTERFACE_ID);
    assert_int_equal(K_IFACE_CONSOLE, CAPOS_CONSOLE_INTERFACE_ID);
    assert_int_equal(K_IFACE_TIMER, CAPOS_TIMER_INTERFACE_ID);
    assert_int_equal(K_IFACE_BOOT_PACKAGE, CAPOS_BOOT_PACKAGE_INTERFACE_ID);
    assert_int_equal(K_IFACE_NULLCAP, CAPOS_NULL_CAP_INTERFACE_ID);
    assert_int_equal(K_IFACE_ENDPOINT, CAPOS_ENDPOINT_INTERFACE_ID);
    assert_int_equal(K_IFACE_CLIENT_ENDPOINT,
                     CAPOS_CLIENT_ENDPOINT_INTERFACE_ID);
    assert_int_equal(CAPOS_KILLED_EXIT_CODE, -9);
}

/* ---- spawning with grants --------------------------------------------- */

static void child_holds_exactly_its_grants_in_order(void **state)
{
    (void)state;
    uint32_t sp;
    struct k_process *p = parent_with_spawner(&sp, 0);
    /* A server elsewhere; the parent holds an unbadged facet of it. */
    struct k_process *srv = h_proc("server", 0);
    uint32_t srv_raw, facet, null;
    assert_int_equal(ep_create(srv, &srv_raw), 0);
    assert_int_equal(ep_mint_client(srv, srv_raw, p, 0, &facet), 0);
    assert_int_equal(nullcap_grant(p, &null), 0);
    uint32_t parent_live = h_live(p);

    const struct gspec g[] = {
        {"console", G_KERNEL, CAPOS_KERNEL_CAP_SOURCE_CONSOLE, 0,
         CAPOS_CONSOLE_INTERFACE_ID},
        {"tick", G_KERNEL, CAPOS_KERNEL_CAP_SOURCE_TIMER, 0, 0},
        {"svc", G_ENDPOINT, 0, 0, 0},
        {"passed", G_CAP, 1, 0, CAPOS_NULL_CAP_INTERFACE_ID},
        {"labelled", G_CAP, 0, 0x77, 0xabcdef},
        {"null", G_KERNEL, CAPOS_KERNEL_CAP_SOURCE_NULL_CAP, 0, 0},
    };
    const CapTransferDescriptor x[] = {{.cap_id = facet, .mode = CAP_XFER_COPY},
                                       {.cap_id = null, .mode = CAP_XFER_MOVE}};
    CapSqe s = spawn_sqe(p, sp, "serve-1", "serve", g, 6, x, 2, NULL);
    CapCqe c = h_one(p, &s);
    assert_true(c.result > 0);
    assert_int_equal(c.flags & CAP_CQE_F_CAPS, CAP_CQE_F_CAPS);
    assert_int_equal(c.cap_count, 2);
    capnp_message m;
    capnp_struct root;
    assert_int_equal(capnp_msg_init(&m, last_result, (size_t)c.result, NULL),
                     0);
    assert_int_equal(capnp_msg_root(&m, &root), 0);
    uint16_t hi = capos_ProcessSpawner_spawn_Results_get_handleIndex(&root);
    assert_int_equal(hi, 0);
    const CapTransferResult *rec = records(c.result);
    assert_int_equal(rec[hi].interface_id, CAPOS_PROCESS_HANDLE_INTERFACE_ID);
    assert_int_equal(rec[1].interface_id, CAPOS_CLIENT_ENDPOINT_INTERFACE_ID);
    uint32_t svc_facet = rec[1].cap_id;
    /* The parent gained the handle and the facet; the moved NullCap left. */
    assert_int_equal(h_live(p), parent_live + 2 - 1);
    assert_null(ct_lookup(&p->caps, null));

    /* The child: its CapSet lists exactly the grants, in order, and its
     * table holds nothing else. */
    struct k_process *child = k.procs;
    assert_string_equal(child->name, "serve-1");
    assert_int_equal(child->state, KP_ALIVE);
    const CapSetPage *cs = child->capset;
    static const char *const names[] = {"console", "tick",     "svc",
                                        "passed",  "labelled", "null"};
    const uint64_t ifaces[] = {
        CAPOS_CONSOLE_INTERFACE_ID,
        CAPOS_TIMER_INTERFACE_ID,
        CAPOS_ENDPOINT_INTERFACE_ID,
        CAPOS_NULL_CAP_INTERFACE_ID,
        0xabcdef, /* a facet is listed as the grant expects */
        CAPOS_NULL_CAP_INTERFACE_ID,
    };
    assert_int_equal(cs->hdr.count, 6);
    assert_int_equal(child->caps.live, 6);
    for (unsigned i = 0; i < 6; i++) {
        assert_string_equal(cs->entries[i].name, names[i]);
        assert_int_equal(cs->entries[i].interface_id, ifaces[i]);
        assert_non_null(ct_lookup(&child->caps, cs->entries[i].cap_id));
    }
    /* The labelled slot carries the grant's badge. */
    struct ct_slot *ls = ct_lookup(&child->caps, cs->entries[4].cap_id);
    assert_int_equal(ls->badge, 0x77);
    assert_true(ep_is_client(ls->obj));

    /* Run it: the parent's facet reaches the child's endpoint (badge 0),
     * and the labelled facet reaches the server with badge 0x77. */
    uint8_t *ping = h_alloc(p, 16), *pong = h_alloc(p, 16);
    memcpy(ping, "ping", 4);
    CapSqe *call = h_sqe(p);
    *call = h_call(svc_facet, 0, 0xca11);
    call->addr = h_va(p, ping);
    call->len = 4;
    call->result_addr = h_va(p, pong);
    call->result_len = 16;
    h_submit(p);
    assert_int_equal(h_enter(p), 0);
    assert_int_equal(k_run(), 1); /* the child waits on "labelled" */
    assert_int_equal(seen.ran, 1);
    assert_int_equal(seen.count, 6);
    assert_int_equal(seen.live, 6);
    assert_int_equal(seen.recv_result, sizeof(EndpointMessageHeader) + 4);
    assert_int_equal(seen.recv_badge, 0);
    assert_memory_equal(seen.params, "ping", 4);
    assert_int_equal(seen.ret_result, 0);
    CapCqe pc;
    assert_true(h_cqe(p, &pc));
    assert_int_equal(pc.user_data, 0xca11);
    assert_int_equal(pc.result, 4);
    assert_memory_equal(pong, "pong", 4);

    uint8_t *buf;
    CapSqe recv = h_recv(srv, srv_raw, 9, 256, &buf);
    CapCqe rc = h_one(srv, &recv);
    assert_int_equal(rc.badge, 0x77);
    CapSqe ret = {.opcode = CAP_OP_RETURN,
                  .cap_id = srv_raw,
                  .call_id = rc.call_id,
                  .user_data = 10};
    assert_int_equal(h_one(srv, &ret).result, 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(seen.call_result, 0);
    assert_int_equal(child->state, KP_DEAD);
    assert_int_equal(wait_now(p, rec[0].cap_id), 0);
}

/* threadSpawner, threadControl and parkSpace are minted for the child: its
 * own objects, reaching only itself, never the parent's. */
static void the_childs_own_thread_and_park_caps_are_minted_for_it(void **state)
{
    (void)state;
    uint32_t sp;
    struct k_process *p = parent_with_spawner(&sp, 0);
    uint32_t objects = k.stats.objects_live;
    const struct gspec g[] = {
        {"threads", G_KERNEL, CAPOS_KERNEL_CAP_SOURCE_THREAD_SPAWNER, 0,
         CAPOS_THREAD_SPAWNER_INTERFACE_ID},
        {"self", G_KERNEL, CAPOS_KERNEL_CAP_SOURCE_THREAD_CONTROL, 0, 0},
        {"park", G_KERNEL, CAPOS_KERNEL_CAP_SOURCE_PARK_SPACE, 0, 0},
    };
    CapSqe s = spawn_sqe(p, sp, "own-1", "exit7", g, 3, NULL, 0, NULL);
    CapCqe c = h_one(p, &s);
    assert_true(c.result > 0);
    struct k_process *child = k.procs;
    assert_string_equal(child->name, "own-1");
    const CapSetPage *cs = child->capset;
    const uint64_t ifaces[] = {CAPOS_THREAD_SPAWNER_INTERFACE_ID,
                               CAPOS_THREAD_CONTROL_INTERFACE_ID,
                               CAPOS_PARK_SPACE_INTERFACE_ID};
    assert_int_equal(cs->hdr.count, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(cs->entries[i].interface_id, ifaces[i]);
        struct ct_slot *sl = ct_lookup(&child->caps, cs->entries[i].cap_id);
        assert_non_null(sl);
        assert_int_equal(sl->obj->refs, 1); /* fresh, held by the child only */
    }
    /* Three new objects plus the handle; the parent's table grew by the
     * handle alone. */
    assert_int_equal(k.stats.objects_live, objects + 4);
    assert_int_equal(k_run(), 0);
    assert_int_equal(wait_now(p, records(c.result)[0].cap_id), 7);
}

/* ---- wait and kill ---------------------------------------------------- */

static void wait_before_exit_completes_when_the_child_exits(void **state)
{
    (void)state;
    uint32_t sp, h;
    struct k_process *p = parent_and_child(&sp, &h, "exit7");
    uint8_t *res;
    handle_submit(p, h, CAPOS_PROCESS_HANDLE_WAIT_METHOD_ID, 0xa1, &res);
    assert_int_equal(h_enter(p), 0); /* pending: the child has not run */
    assert_int_equal(p->rs.cq_reserved, 1);
    assert_int_equal(k_run(), 0);
    CapCqe c;
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 0xa1);
    assert_true(c.result > 0);
    assert_int_equal(exit_code_in(res, c.result), 7);
    assert_int_equal(p->rs.cq_reserved, 0);
    assert_false(h_cqe(p, &c));
}

static void wait_after_exit_completes_at_once_and_again(void **state)
{
    (void)state;
    uint32_t sp, h;
    struct k_process *p = parent_and_child(&sp, &h, "exit7");
    assert_int_equal(k_run(), 0);
    assert_int_equal(wait_now(p, h), 7);
    assert_int_equal(wait_now(p, h), 7);
}

static void a_second_concurrent_wait_is_refused(void **state)
{
    (void)state;
    uint32_t sp, h;
    struct k_process *p = parent_and_child(&sp, &h, "block");
    assert_int_equal(k_run(), 1);
    uint8_t *r1, *r2;
    handle_submit(p, h, CAPOS_PROCESS_HANDLE_WAIT_METHOD_ID, 1, &r1);
    handle_submit(p, h, CAPOS_PROCESS_HANDLE_WAIT_METHOD_ID, 2, &r2);
    assert_int_equal(h_enter(p), 1);
    CapCqe c;
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 2);
    assert_int_equal(c.result, CAP_ERR_APPLICATION_EXCEPTION);
    capnp_message m;
    capnp_struct root = h_root(r2, 256, &m);
    assert_int_equal(capos_CapException_get_type(&root),
                     CAPOS_EXCEPTION_TYPE_FAILED);
    /* kill: the first wait completes with the killed code. */
    uint8_t *kr;
    handle_submit(p, h, CAPOS_PROCESS_HANDLE_KILL_METHOD_ID, 3, &kr);
    assert_int_equal(h_enter(p), 2);
    CapCqe w, k1;
    assert_true(h_cqe(p, &w));
    assert_true(h_cqe(p, &k1));
    assert_int_equal(w.user_data, 1);
    assert_int_equal(exit_code_in(r1, w.result), CAPOS_KILLED_EXIT_CODE);
    assert_int_equal(k1.user_data, 3);
    assert_int_equal(k1.result, 0);
    assert_int_equal(k_run(), 0);
}

static void kill_ends_a_blocked_child_and_is_a_no_op_afterwards(void **state)
{
    (void)state;
    uint32_t sp, h;
    struct k_process *p = parent_and_child(&sp, &h, "block");
    struct k_process *child = k.procs;
    assert_int_equal(k_run(), 1);
    assert_int_equal(k.stats.threads_live, 1);
    CapSqe kill = h_call(h, CAPOS_PROCESS_HANDLE_KILL_METHOD_ID, 4);
    assert_int_equal(h_one(p, &kill).result, 0);
    assert_int_equal(child->state, KP_DEAD);
    assert_int_equal(child->exit_code, CAPOS_KILLED_EXIT_CODE);
    assert_int_equal(k.stats.threads_live, 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(h_one(p, &kill).result, 0);
    assert_int_equal(wait_now(p, h), CAPOS_KILLED_EXIT_CODE);
    CapSqe bogus = h_call(h, 9, 5); /* unimplemented; no room to say so */
    assert_int_equal(h_one(p, &bogus).result,
                     CAP_ERR_APPLICATION_EXCEPTION_TRUNCATED);
}

static void the_handle_can_be_moved_but_never_copied(void **state)
{
    (void)state;
    uint32_t sp, h;
    struct k_process *p = parent_and_child(&sp, &h, "exit7");
    uint32_t null;
    assert_int_equal(nullcap_grant(p, &null), 0);
    CapTransferDescriptor *d;
    CapSqe s = h_call_xfer(p, null, 0, 6, h, CAP_XFER_COPY, &d);
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_TRANSFER);
    assert_non_null(ct_lookup(&p->caps, h));
    /* Nor copied to a child through spawn. */
    const struct gspec g[] = {{"h", G_CAP, 0, 0, 0}};
    const CapTransferDescriptor x[] = {{.cap_id = h, .mode = CAP_XFER_COPY}};
    s = spawn_sqe(p, sp, "again", "exit7", g, 1, x, 1, NULL);
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_TRANSFER);
    assert_non_null(ct_lookup(&p->caps, h));
    /* Moved, it leaves the sender: the handle keeps exactly one holder
     * (here the null cap, which drops it and so detaches the child). */
    d->mode = CAP_XFER_MOVE;
    s = h_call(null, 0, 8);
    s.addr = h_va(p, d);
    s.xfer_cap_count = 1;
    assert_true(h_one(p, &s).result >= 0);
    assert_null(ct_lookup(&p->caps, h));
    assert_int_equal(k_run(), 0);
}

static void a_moved_handle_works_for_its_new_holder_alone(void **state)
{
    (void)state;
    uint32_t sp, h;
    struct k_process *p = parent_and_child(&sp, &h, "block");
    assert_int_equal(k_run(), 1);
    /* A second process receives on its endpoint; the parent moves the
     * handle to it with a CALL (as a launcher returns a shell's handle). */
    struct k_process *q = h_proc("holder", 0);
    uint32_t raw, facet;
    assert_int_equal(ep_create(q, &raw), 0);
    assert_int_equal(ep_mint_client(q, raw, p, 0, &facet), 0);
    uint8_t *rbuf;
    *h_sqe(q) = h_recv(q, raw, 9, 512, &rbuf);
    h_submit(q);
    assert_int_equal(h_enter(q), 0);
    CapSqe call = h_call_xfer(p, facet, 0, 10, h, CAP_XFER_MOVE, NULL);
    uint8_t *cres = h_alloc(p, 64);
    call.result_addr = h_va(p, cres);
    call.result_len = 64;
    *h_sqe(p) = call;
    h_submit(p);
    assert_int_equal(h_enter(p), 0);
    assert_null(ct_lookup(&p->caps, h)); /* gone from the sender */
    CapCqe c;
    assert_int_equal(h_enter(q), 1);
    assert_true(h_cqe(q, &c));
    assert_int_equal(c.user_data, 9);
    assert_int_equal(c.cap_count, 1);
    CapTransferResult rec;
    memcpy(&rec, rbuf + CAP_ALIGN8((uint32_t)c.result), sizeof rec);
    assert_int_equal(rec.interface_id, CAPOS_PROCESS_HANDLE_INTERFACE_ID);
    /* The new holder kills the child and waits for it. */
    uint8_t *kr;
    handle_submit(q, rec.cap_id, CAPOS_PROCESS_HANDLE_KILL_METHOD_ID, 1, &kr);
    assert_int_equal(h_enter(q), 1);
    assert_true(h_cqe(q, &c));
    assert_int_equal(c.result, 0);
    assert_int_equal(wait_now(q, rec.cap_id), CAPOS_KILLED_EXIT_CODE);
    /* The parent's CALL is still owed a RETURN; the holder exits instead,
     * which answers it and frees the handle and the child. */
    k_process_exit(q, 0);
    assert_int_equal(h_enter(p), 1);
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 10);
    assert_int_equal(k_run(), 0);
}

/* ---- bad input -------------------------------------------------------- */

/* Everything a refused spawn must leave unchanged. */
struct snapshot {
    uint32_t objects, processes, held, threads, parent_live, pid;
};

static struct snapshot snap(struct k_process *p)
{
    struct snapshot s = {k.stats.objects_live,
                         k.stats.processes_live,
                         k.stats.processes_held,
                         k.stats.threads_live,
                         h_live(p),
                         0};
    s.pid = k.next_pid;
    return s;
}

static void expect_unchanged(const struct snapshot *a, struct k_process *p,
                             const char *what)
{
    struct snapshot b = snap(p);
    if (memcmp(a, &b, sizeof b) != 0)
        fail_msg("%s: state changed: objects %u->%u processes %u->%u "
                 "held %u->%u threads %u->%u parent caps %u->%u pid %u->%u",
                 what, a->objects, b.objects, a->processes, b.processes,
                 a->held, b.held, a->threads, b.threads, a->parent_live,
                 b.parent_live, a->pid, b.pid);
}

/* Submit s and require an invalidArgument CapException whose message
 * contains want, with nothing created or leaked. */
static void expect_refused(struct k_process *p, const CapSqe *s,
                           const char *want)
{
    struct snapshot before = snap(p);
    CapCqe c = h_one(p, s);
    if (c.result != CAP_ERR_APPLICATION_EXCEPTION)
        fail_msg("%s: result %d, want an exception", want, c.result);
    capnp_message m;
    capnp_struct root;
    const char *msg;
    size_t n;
    assert_int_equal(capnp_msg_init(&m, last_result, RESULT_LEN, NULL), 0);
    assert_int_equal(capnp_msg_root(&m, &root), 0);
    assert_int_equal(capos_CapException_get_type(&root),
                     CAPOS_EXCEPTION_TYPE_INVALID_ARGUMENT);
    assert_int_equal(capos_CapException_get_message(&root, &msg, &n), 0);
    char text[300];
    snprintf(text, sizeof text, "%.*s", (int)n, msg);
    if (!strstr(text, want))
        fail_msg("message \"%s\" lacks \"%s\"", text, want);
    if (strncmp(text, "ProcessSpawner.spawn: ", 22) != 0)
        fail_msg("message \"%s\" does not name the method", text);
    expect_unchanged(&before, p, want);
}

static void every_class_of_bad_input_is_refused_and_nothing_leaks(void **state)
{
    (void)state;
    uint32_t sp;
    struct k_process *p = parent_with_spawner(&sp, 0);
    struct k_process *srv = h_proc("server", 0);
    uint32_t raw, facet, badged, null;
    assert_int_equal(ep_create(srv, &raw), 0);
    assert_int_equal(ep_mint_client(srv, raw, p, 0, &facet), 0);
    assert_int_equal(ep_mint_client(srv, raw, p, 5, &badged), 0);
    assert_int_equal(nullcap_grant(p, &null), 0);
    const CapTransferDescriptor x[] = {
        {.cap_id = null, .mode = CAP_XFER_MOVE},
        {.cap_id = facet, .mode = CAP_XFER_COPY},
        {.cap_id = badged, .mode = CAP_XFER_COPY},
    };
    CapSqe s;

    /* Names and binaries. */
    s = spawn_sqe(p, sp, "", "exit7", NULL, 0, NULL, 0, NULL);
    expect_refused(p, &s, "name \"\" must be 1 to 31 bytes");
    s = spawn_sqe(p, sp, "has space", "exit7", NULL, 0, NULL, 0, NULL);
    expect_refused(p, &s, "name \"has space\" must be");
    s = spawn_sqe(p, sp, "a-name-that-is-thirty-two-bytes!", "exit7", NULL, 0,
                  NULL, 0, NULL);
    expect_refused(p, &s, "must be 1 to 31 bytes");
    s = spawn_sqe(p, sp, "x", "nosuch", NULL, 0, NULL, 0, NULL);
    expect_refused(p, &s,
                   "binary \"nosuch\" is not in the boot manifest's binaries");
    /* Quoted input is escaped (capos_escape_text): no ESC in a refusal. */
    s = spawn_sqe(p, sp, "ab\x1b[2J", "exit7", NULL, 0, NULL, 0, NULL);
    expect_refused(p, &s, "name \"ab\\x1b[2J\" must be");
    s = spawn_sqe(p, sp, "x", "no\x1b]0;\\\x07", NULL, 0, NULL, 0, NULL);
    expect_refused(p, &s,
                   "binary \"no\\x1b]0;\\x5c\\x07\" is not in the boot "
                   "manifest's binaries");
    s = spawn_sqe(p, sp, "x", NULL, NULL, 0, NULL, 0, NULL);
    expect_refused(p, &s, "binaryName is missing");
    s = spawn_sqe(p, sp, "x", "elfy", NULL, 0, NULL, 0, NULL);
    expect_refused(p, &s, "is an ELF image");
    s = spawn_sqe(p, sp, "x", "ghost", NULL, 0, NULL, 0, NULL);
    expect_refused(p, &s, "which this simulator does not have");

    /* Grants. A moved cap rides along with every refused spawn below and
     * must come back each time (expect_refused compares the table). */
    const struct gspec dup[] = {{"a", G_KERNEL, 0, 0, 0},
                                {"a", G_KERNEL, 2, 0, 0}};
    s = spawn_sqe(p, sp, "x", "exit7", dup, 2, x, 1, NULL);
    expect_refused(p, &s, "grants[1] \"a\": grants[0] has the same name");
    /* One grant each; x[0..nx) rides along (none: nx 0). */
    static const struct {
        struct gspec g;
        unsigned nx;
        const char *want;
    } one[] = {
        {{"", G_KERNEL, 0, 0, 0}, 1, "grants[0]: a cap name needs 1 to 47"},
        {{"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuv", G_KERNEL, 0, 0,
          0},
         1,
         "a cap name needs 1 to 47"},
        {{"s", G_SERVICE, 0, 0, 0}, 1, "grants[0] \"s\": a `service` source"},
        {{"b", G_KERNEL, CAPOS_KERNEL_CAP_SOURCE_BOOT_PACKAGE, 0, 0},
         1,
         "kernel source bootPackage is not minted"},
        {{"sp", G_KERNEL, CAPOS_KERNEL_CAP_SOURCE_PROCESS_SPAWNER, 0, 0},
         1,
         "kernel source processSpawner is not minted"},
        {{"k", G_KERNEL, 999, 0, 0}, 1, "kernel source 999 is not minted"},
        {{"t", G_RAW_TAG, 9, 0, 0}, 1, "unknown source (union tag 9)"},
        {{"c", G_CAP, 0xffff, 0, 0}, 1, "needs a capability pointer"},
        {{"c", G_CAP, 3, 0, 0},
         3,
         "cap index 3 is out of range: the CALL transfers 3"},
        {{"c", G_CAP, 3, 0, 0}, 0, "the CALL transfers 0 caps"},
        {{"c", G_KERNEL, CAPOS_KERNEL_CAP_SOURCE_CONSOLE, 0,
          CAPOS_TIMER_INTERFACE_ID},
         1,
         "interfaceId does not match its source"},
        {{"c", G_CAP, 0, 0, CAPOS_TIMER_INTERFACE_ID},
         1,
         "interfaceId does not match its source"},
        {{"c", G_CAP, 0, 9, 0}, 1, "a badge can only label an unbadged"},
        {{"c", G_CAP, 2, 9, 0}, 3, "cannot be relabelled"},
    };
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        s = spawn_sqe(p, sp, "x", "exit7", &one[i].g, 1, one[i].nx ? x : NULL,
                      one[i].nx, NULL);
        expect_refused(p, &s, one[i].want);
    }

    /* Counts and limits. */
    struct gspec many[64];
    char names[64][8];
    for (unsigned i = 0; i < 64; i++) {
        snprintf(names[i], sizeof names[i], "n%u", i);
        many[i] = (struct gspec){names[i], G_KERNEL,
                                 CAPOS_KERNEL_CAP_SOURCE_NULL_CAP, 0, 0};
    }
    s = spawn_sqe(p, sp, "x", "exit7", many, 64, x, 1, NULL);
    expect_refused(p, &s, "too many grants (64)");
    for (unsigned i = 0; i < 8; i++)
        many[i].kind = G_ENDPOINT;
    s = spawn_sqe(p, sp, "x", "exit7", many, 8, x, 1, NULL);
    expect_refused(p, &s, "too many `endpoint` grants (8)");
    const struct limits small = {0, 0, 2};
    s = spawn_sqe(p, sp, "x", "exit7", many, 3, x, 1, &small);
    expect_refused(p, &s, "limits.capSlots 2 cannot hold the 3 grants");
    const struct limits tiny = {4096, 8, 0};
    s = spawn_sqe(p, sp, "x", "exit7", NULL, 0, x, 1, &tiny);
    expect_refused(p, &s, "limits are impossible");

    /* Params that are no message at all. */
    uint8_t *junk = h_alloc(p, 64);
    memset(junk, 0xff, 64);
    s = spawn_sqe(p, sp, "x", "exit7", NULL, 0, NULL, 0, NULL);
    s.addr = h_va(p, junk);
    s.len = 64;
    struct snapshot before = snap(p);
    assert_int_equal(h_one(p, &s).result, CAP_ERR_APPLICATION_EXCEPTION);
    expect_unchanged(&before, p, "garbage params");

    /* A result buffer that cannot take the handle and facets, and a
     * parent table with no room for them: transport errors, nothing
     * started. */
    const struct gspec ep[] = {{"e", G_ENDPOINT, 0, 0, 0}};
    s = spawn_sqe(p, sp, "x", "exit7", ep, 1, x, 1, NULL);
    s.result_len = 24 + 16; /* the message and one record, not two */
    before = snap(p);
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_RESULT_BUFFER);
    expect_unchanged(&before, p, "small result buffer");
    assert_int_equal(k_run(), 0);
}

static void a_parent_without_room_for_the_handle_starts_nothing(void **state)
{
    (void)state;
    uint32_t sp;
    struct k_process *p = parent_with_spawner(&sp, 3);
    uint32_t a, b;
    assert_int_equal(nullcap_grant(p, &a), 0);
    assert_int_equal(nullcap_grant(p, &b), 0); /* table full: 3 of 3 */
    CapSqe s = spawn_sqe(p, sp, "x", "exit7", NULL, 0, NULL, 0, NULL);
    struct snapshot before = snap(p);
    assert_int_equal(h_one(p, &s).result, CAP_ERR_TRANSFER_REJECTED);
    expect_unchanged(&before, p, "full parent table");
    /* With a moved cap the slot it frees is not counted on: the spawn
     * still refuses, and the move rolls back. */
    const CapTransferDescriptor x[] = {{.cap_id = a, .mode = CAP_XFER_MOVE}};
    const struct gspec g[] = {{"a", G_CAP, 0, 0, 0}};
    s = spawn_sqe(p, sp, "x", "exit7", g, 1, x, 1, NULL);
    assert_int_equal(h_one(p, &s).result, CAP_ERR_TRANSFER_REJECTED);
    assert_non_null(ct_lookup(&p->caps, a));
    expect_unchanged(&before, p, "full parent table, moved cap");
}

/* ---- lifetime --------------------------------------------------------- */

static void an_exited_child_is_freed_when_its_handle_is_released(void **state)
{
    (void)state;
    uint32_t sp;
    struct k_process *p = parent_with_spawner(&sp, 0);
    uint32_t objects = k.stats.objects_live, held = k.stats.processes_held;
    const struct gspec g[] = {
        {"console", G_KERNEL, CAPOS_KERNEL_CAP_SOURCE_CONSOLE, 0, 0},
        {"ep", G_ENDPOINT, 0, 0, 0},
        {"null", G_KERNEL, CAPOS_KERNEL_CAP_SOURCE_NULL_CAP, 0, 0},
    };
    CapSqe s = spawn_sqe(p, sp, "short", "exit7", g, 3, NULL, 0, NULL);
    CapCqe c = h_one(p, &s);
    assert_true(c.result > 0);
    uint32_t h = records(c.result)[0].cap_id;
    uint32_t f = records(c.result)[1].cap_id;
    /* handle + console + endpoint (raw + client facet) + null */
    assert_int_equal(k.stats.objects_live, objects + 5);
    assert_int_equal(k.stats.processes_held, held + 1);
    assert_int_equal(k_run(), 0);
    /* Exited: its caps are gone (the facet the parent holds stays as an
     * object, its endpoint closed); the struct waits for the handle. */
    assert_int_equal(k.stats.objects_live, objects + 2);
    assert_int_equal(k.stats.processes_held, held + 1);
    assert_int_equal(wait_now(p, h), 7);
    CapSqe rel = h_release(h, 1);
    assert_int_equal(h_one(p, &rel).result, 0);
    assert_int_equal(k.stats.processes_held, held);
    assert_int_equal(k.stats.objects_live, objects + 1);
    rel = h_release(f, 2);
    assert_int_equal(h_one(p, &rel).result, 0);
    assert_int_equal(k.stats.objects_live, objects);
    assert_ptr_equal(k.procs->next, NULL); /* only the parent is listed */
}

static void
a_released_handle_detaches_and_the_child_is_freed_at_exit(void **state)
{
    (void)state;
    uint32_t sp;
    struct k_process *p = parent_with_spawner(&sp, 0);
    uint32_t held = k.stats.processes_held;
    uint32_t h = spawn_plain(p, sp, "exit7");
    CapSqe rel = h_release(h, 1);
    assert_int_equal(h_one(p, &rel).result, 0);
    assert_int_equal(k.stats.processes_live, 2); /* still running */
    assert_int_equal(k_run(), 0);
    assert_int_equal(k.stats.processes_held, held);
}

static void a_pending_wait_outlives_the_release_of_its_handle(void **state)
{
    (void)state;
    uint32_t sp;
    struct k_process *p = parent_with_spawner(&sp, 0);
    uint32_t held = k.stats.processes_held;
    uint32_t objects = k.stats.objects_live;
    uint32_t h = spawn_plain(p, sp, "exit7");
    uint8_t *res;
    handle_submit(p, h, CAPOS_PROCESS_HANDLE_WAIT_METHOD_ID, 0xa2, &res);
    CapSqe *rel = h_sqe(p);
    *rel = h_release(h, 0xa3);
    h_submit(p);
    assert_int_equal(h_enter(p), 1); /* the release; the wait pends */
    CapCqe c;
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 0xa3);
    assert_int_equal(c.result, 0);
    assert_int_equal(k.stats.objects_live, objects + 1); /* the handle */
    assert_int_equal(k_run(), 0);
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 0xa2);
    assert_int_equal(exit_code_in(res, c.result), 7);
    assert_int_equal(k.stats.objects_live, objects);
    assert_int_equal(k.stats.processes_held, held);
}

static void a_waiter_that_exits_cancels_its_wait(void **state)
{
    (void)state;
    uint32_t sp, h;
    struct k_process *p = parent_and_child(&sp, &h, "block");
    struct k_process *child = k.procs;
    assert_int_equal(k_run(), 1);
    uint8_t *res;
    handle_submit(p, h, CAPOS_PROCESS_HANDLE_WAIT_METHOD_ID, 0xa4, &res);
    assert_int_equal(h_enter(p), 0);
    assert_non_null(p->pending);
    uint32_t objects = k.stats.objects_live;
    k_process_exit(p, 0);
    /* The spawner and the handle are gone; the child runs on, detached. */
    assert_int_equal(k.stats.objects_live, objects - 2);
    assert_int_equal(child->state, KP_ALIVE);
    assert_null(child->handle);
    assert_int_equal(k_run(), 1); /* k_shutdown ends it */
}

/* The parent passes its own spawner; the child spawns a grandchild with
 * it. Killing the child detaches the grandchild (its handle was in the
 * child's table), which runs to its exit and is freed. */
/* Forwards for the network grants: guest 23 (net_configure reads only
 * kernelParams of a manifest). */
static void forward_guest_23(void)
{
    static uint64_t buf[64];
    capnp_builder b;
    capnp_struct_builder root, kp, f;
    capnp_list_builder l;
    size_t len;
    capnp_builder_init(&b, buf, sizeof buf);
    assert_int_equal(capos_SystemManifest_init_root(&b, &root), 0);
    assert_int_equal(capos_SystemManifest_init_kernelParams(&root, &kp), 0);
    assert_int_equal(capos_KernelParams_init_portForwards(&kp, 1, &l), 0);
    assert_int_equal(capnp_list_struct_at(&l, 0, &f), 0);
    capos_PortForward_set_guestPort(&f, 23);
    capos_PortForward_set_hostPort(&f, 2323);
    assert_int_equal(capnp_finish(&b, &len), 0);
    char err[160];
    struct k_msg m = {err, sizeof err, 0};
    assert_int_equal(net_configure((const uint8_t *)buf, len, &m), 0);
}

static void the_spawner_mints_network_caps_for_forwarded_ports(void **state)
{
    (void)state;
    uint32_t sp;
    struct k_process *p = parent_with_spawner(&sp, 0);
    forward_guest_23();
    const struct gspec g[] = {
        {"net", G_KERNEL, CAPOS_KERNEL_CAP_SOURCE_NETWORK_MANAGER, 0,
         CAPOS_NETWORK_MANAGER_INTERFACE_ID},
        {"listener", G_KERNEL, CAPOS_KERNEL_CAP_SOURCE_TCP_LISTEN_AUTHORITY, 23,
         CAPOS_TCP_LISTEN_AUTHORITY_INTERFACE_ID},
    };
    CapSqe s = spawn_sqe(p, sp, "gw", "exit7", g, 2, NULL, 0, NULL);
    CapCqe c = h_one(p, &s);
    assert_true(c.result > 0);
    struct k_process *child = k.procs;
    assert_string_equal(child->name, "gw");
    assert_int_equal(child->capset->hdr.count, 2);
    assert_int_equal(child->capset->entries[1].interface_id,
                     CAPOS_TCP_LISTEN_AUTHORITY_INTERFACE_ID);
    /* A port without a forward, or no port at all, is refused. */
    const struct gspec g99[] = {
        {"listener", G_KERNEL, CAPOS_KERNEL_CAP_SOURCE_TCP_LISTEN_AUTHORITY, 99,
         0},
    };
    s = spawn_sqe(p, sp, "gw2", "exit7", g99, 1, NULL, 0, NULL);
    expect_refused(p, &s,
                   "grants[0] \"listener\": tcpListenAuthority for "
                   "guest port 99: kernelParams.portForwards has no "
                   "forward");
    const struct gspec g0[] = {
        {"listener", G_KERNEL, CAPOS_KERNEL_CAP_SOURCE_TCP_LISTEN_AUTHORITY, 0,
         0},
    };
    s = spawn_sqe(p, sp, "gw3", "exit7", g0, 1, NULL, 0, NULL);
    expect_refused(p, &s, "is not a guest port (1 to 65535)");
    assert_int_equal(k_run(), 0);
}

static void a_spawned_child_can_spawn_with_a_passed_spawner(void **state)
{
    (void)state;
    uint32_t sp;
    struct k_process *p = parent_with_spawner(&sp, 0);
    uint32_t held = k.stats.processes_held;
    const struct gspec g[] = {
        {"spawner", G_CAP, 0, 0, CAPOS_PROCESS_SPAWNER_INTERFACE_ID}};
    const CapTransferDescriptor x[] = {{.cap_id = sp, .mode = CAP_XFER_COPY}};
    CapSqe s = spawn_sqe(p, sp, "middle", "block", g, 1, x, 1, NULL);
    CapCqe c = h_one(p, &s);
    assert_true(c.result > 0);
    uint32_t mid_handle = records(c.result)[0].cap_id;
    struct k_process *mid = k.procs;
    assert_int_equal(mid->capset->hdr.count, 1);
    assert_int_equal(mid->capset->entries[0].interface_id,
                     CAPOS_PROCESS_SPAWNER_INTERFACE_ID);

    /* The child's ring, driven from the host before the child runs (not
     * through the harness, which would remember the child). */
    s = spawn_sqe(mid, mid->capset->entries[0].cap_id, "grandchild", "exit7",
                  NULL, 0, NULL, 0, NULL);
    child_push(mid, &s);
    assert_int_equal(k_cap_enter(mid, 0, 0), 1);
    CapCqe gc = mid->ring->cq[mid->ring->hdr.cq_head++ & (CAP_CQ_ENTRIES - 1)];
    assert_true(gc.result > 0);
    assert_int_equal(gc.cap_count, 1);
    struct k_process *grand = k.procs;
    assert_string_equal(grand->name, "grandchild");
    assert_non_null(grand->handle);

    CapSqe kill = h_call(mid_handle, CAPOS_PROCESS_HANDLE_KILL_METHOD_ID, 1);
    assert_int_equal(h_one(p, &kill).result, 0);
    assert_int_equal(mid->state, KP_DEAD);
    assert_null(grand->handle);
    assert_int_equal(grand->state, KP_ALIVE);
    assert_int_equal(k.stats.processes_held, held + 2);
    assert_int_equal(k_run(), 0);
    /* The grandchild ran, exited and was freed; the child waits for its
     * handle. */
    assert_int_equal(k.stats.processes_held, held + 1);
    assert_int_equal(wait_now(p, mid_handle), CAPOS_KILLED_EXIT_CODE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(kernel_interface_ids_equal_the_schema_ids),
        T(child_holds_exactly_its_grants_in_order),
        T(the_childs_own_thread_and_park_caps_are_minted_for_it),
        T(wait_before_exit_completes_when_the_child_exits),
        T(wait_after_exit_completes_at_once_and_again),
        T(a_second_concurrent_wait_is_refused),
        T(kill_ends_a_blocked_child_and_is_a_no_op_afterwards),
        T(the_handle_can_be_moved_but_never_copied),
        T(a_moved_handle_works_for_its_new_holder_alone),
        T(every_class_of_bad_input_is_refused_and_nothing_leaks),
        T(a_parent_without_room_for_the_handle_starts_nothing),
        T(an_exited_child_is_freed_when_its_handle_is_released),
        T(a_released_handle_detaches_and_the_child_is_freed_at_exit),
        T(a_pending_wait_outlives_the_release_of_its_handle),
        T(a_waiter_that_exits_cancels_its_wait),
        T(a_spawned_child_can_spawn_with_a_passed_spawner),
        T(the_spawner_mints_network_caps_for_forwarded_ports),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
