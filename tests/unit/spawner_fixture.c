/*
 * spawner_fixture.c - the children, the boot manifest and the call
 * builders the ProcessSpawner and ProcessHandle tests share
 * (spawner_fixture.h).
 */
#include <stdio.h>
#include <string.h>

#include "capos/syscall.h"
#include "port_uv.h"
#include "spawner_fixture.h"

/* ---- the children ----------------------------------------------------- */

struct seen seen;

/* Ring helpers for a child's own thread (no asserts). */
void child_push(struct k_process *p, const CapSqe *sqe)
{
    CapRingHeader *h = &p->ring->hdr;
    p->ring->sq[h->sq_tail & (CAP_SQ_ENTRIES - 1)] = *sqe;
    __atomic_store_n(&h->sq_tail, h->sq_tail + 1, __ATOMIC_RELEASE);
}

CapCqe child_call(struct k_process *p, const CapSqe *sqe)
{
    CapCqe c = {.result = -1000};
    child_push(p, sqe);
    k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE);
    CapRingHeader *h = &p->ring->hdr;
    if (h->cq_head != h->cq_tail)
        c = p->ring->cq[h->cq_head++ & (CAP_CQ_ENTRIES - 1)];
    return c;
}

uint32_t child_cap(struct k_process *p, const char *name)
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

uint64_t manifest_words[256];
size_t manifest_len;

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

int sf_setup(void **state)
{
    (void)state;
    h_up(true, 1);
    sim_set_binaries(test_binaries,
                     sizeof test_binaries / sizeof test_binaries[0]);
    build_manifest();
    memset(&seen, 0, sizeof seen);
    return 0;
}

int sf_teardown(void **state)
{
    (void)state;
    h_down();
    sim_set_binaries(NULL, 0);
    return 0;
}

/* A parent process holding a ProcessSpawner; *sp is its CapId. */
struct k_process *parent_with_spawner(uint32_t *sp, uint32_t slots)
{
    struct k_process *p = h_proc("parent", slots);
    assert_int_equal(
        spawner_grant(p, (const uint8_t *)manifest_words, manifest_len, sp), 0);
    return p;
}

/* ---- building spawn calls --------------------------------------------- */

uint8_t *last_result;

/*
 * A spawn CALL from p: name, binary, grants g[0..n), descriptors x[0..nx)
 * after the params, optional limits. The params live in p's heap.
 */
CapSqe spawn_sqe(struct k_process *p, uint32_t sp, const char *name,
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
const CapTransferResult *records(int len)
{
    return (const CapTransferResult *)(last_result + CAP_ALIGN8(len));
}

/* Spawn bin with no grants; returns the handle's CapId. */
uint32_t spawn_plain(struct k_process *p, uint32_t sp, const char *bin)
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
struct k_process *parent_and_child(uint32_t *sp, uint32_t *h, const char *bin)
{
    struct k_process *p = parent_with_spawner(sp, 0);
    *h = spawn_plain(p, *sp, bin);
    return p;
}

/* Submit a ProcessHandle method without waiting; the result lands in *res. */
void handle_submit(struct k_process *p, uint32_t h, uint16_t method,
                   uint64_t user_data, uint8_t **res)
{
    *res = h_alloc(p, 256);
    CapSqe *s = h_sqe(p);
    capnpc_c_call_sqe(s, h, method, 0, 0, 0, h_va(p, *res), 256, user_data);
    h_submit(p);
}

int64_t exit_code_in(const uint8_t *res, int len)
{
    capnp_message m;
    capnp_struct root = h_root(res, (size_t)len, &m);
    return capos_ProcessHandle_wait_Results_get_exitCode(&root);
}

/* wait() on h, completing at once: the exit code. */
int64_t wait_now(struct k_process *p, uint32_t h)
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
