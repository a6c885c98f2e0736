/*
 * test_spawner.c - ProcessSpawner (kernel-model/spawner.c): a spawned
 * child holds exactly its grants, in order; every class of bad input is
 * refused with nothing created or leaked; the spawner mints network caps
 * for forwarded ports; a spawned child can spawn with a passed spawner.
 * ProcessHandle is test_prochandle.c; the shared children and builders
 * are spawner_fixture.c.
 *
 * Every message is built with the generated schema code, so a drift of
 * the spawner from the schema fails here.
 */
#include <stdio.h>
#include <string.h>

#include "capos/syscall.h"
#include "port_uv.h"
#include "spawner_fixture.h"

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
        0xabcdef, /* the grant types an untyped facet */
        CAPOS_NULL_CAP_INTERFACE_ID,
    };
    assert_int_equal(cs->hdr.count, 6);
    assert_int_equal(child->caps.live, 6);
    for (unsigned i = 0; i < 6; i++) {
        assert_string_equal(cs->entries[i].name, names[i]);
        assert_int_equal(cs->entries[i].interface_id, ifaces[i]);
        assert_non_null(ct_lookup(&child->caps, cs->entries[i].cap_id));
    }
    /* The labelled slot carries the grant's badge and interface. */
    struct ct_slot *ls = ct_lookup(&child->caps, cs->entries[4].cap_id);
    assert_int_equal(ls->badge, 0x77);
    assert_int_equal(ls->iface, 0xabcdef);
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
                   "binary \"no\\x1b]0;\\\\x07\" is not in the boot "
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

/*
 * A typed facet passed as a `cap` grant (the shell's `spawn ... with`,
 * docs/abi.md §13.1) keeps its interface in the child's slot and CapSet
 * whether the grant names that interface or none; a grant expecting any
 * other interface, ClientEndpoint included, is refused: a typed facet is
 * never retyped.
 */
static void
a_typed_facet_keeps_its_interface_through_a_spawn_grant(void **state)
{
    (void)state;
    const uint64_t counter = 0xc0ffee0000000001ull;
    uint32_t sp;
    struct k_process *p = parent_with_spawner(&sp, 0);
    struct k_process *srv = h_proc("server", 0);
    uint32_t raw, facet;
    assert_int_equal(ep_create(srv, &raw), 0);
    assert_int_equal(ep_mint_client(srv, raw, p, 4, &facet), 0);
    assert_int_equal(k_capset_add_as(p, "counter", facet, counter), 0);
    const CapTransferDescriptor x[] = {
        {.cap_id = facet, .mode = CAP_XFER_COPY}};
    const struct gspec bad[] = {
        {"c", G_CAP, 0, 0, 0xc0ffee0000000002ull},
        {"c", G_CAP, 0, 0, CAPOS_CLIENT_ENDPOINT_INTERFACE_ID},
    };
    for (unsigned i = 0; i < 2; i++) {
        CapSqe s = spawn_sqe(p, sp, "x", "exit7", &bad[i], 1, x, 1, NULL);
        expect_refused(p, &s, "interfaceId does not match its source");
    }
    const struct gspec g[] = {
        {"counter", G_CAP, 0, 0, 0},
        {"same", G_CAP, 0, 0, counter},
    };
    CapSqe s = spawn_sqe(p, sp, "child", "exit7", g, 2, x, 1, NULL);
    CapCqe c = h_one(p, &s);
    assert_true(c.result > 0);
    struct k_process *child = k.procs;
    assert_string_equal(child->name, "child");
    for (unsigned i = 0; i < 2; i++) {
        const CapSetEntry *e = &child->capset->entries[i];
        assert_int_equal(e->interface_id, counter);
        struct ct_slot *sl = ct_lookup(&child->caps, e->cap_id);
        assert_int_equal(sl->iface, counter);
        assert_int_equal(sl->badge, 4); /* kept, as the interface is */
    }
    assert_int_equal(k_run(), 0);
    assert_int_equal(wait_now(p, records(c.result)[0].cap_id), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, sf_setup, sf_teardown)
        T(kernel_interface_ids_equal_the_schema_ids),
        T(child_holds_exactly_its_grants_in_order),
        T(the_childs_own_thread_and_park_caps_are_minted_for_it),
        T(every_class_of_bad_input_is_refused_and_nothing_leaks),
        T(a_parent_without_room_for_the_handle_starts_nothing),
        T(a_spawned_child_can_spawn_with_a_passed_spawner),
        T(the_spawner_mints_network_caps_for_forwarded_ports),
        T(a_typed_facet_keeps_its_interface_through_a_spawn_grant),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
