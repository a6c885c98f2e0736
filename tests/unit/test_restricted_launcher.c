/*
 * test_restricted_launcher.c - the restricted-shell-launcher service
 * (services/shell-launcher/restricted_launcher.c) driven by a client
 * process: it starts capos-shell (a stand-in builtin here) with exactly
 * the console shell's four caps, and refuses a missing or mistyped
 * terminal, a supplied session or profile, and extra grants, starting
 * nothing then; only through the SSH gateway's facet (badge 22) may a
 * UserSession be handed over, which the shell gets as "login".
 *
 * Model threads never call cmocka asserts: they record what they see and
 * the test body asserts after k_run().
 */
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "harness.h"
#include "harness_rt.h"
#include "port_uv.h"
#include "server.h"

int capos_service_restricted_launcher_main(capos_capset_t *caps);

#define NCASES 8

/* What the stand-in capos-shell saw, and what the client got back. */
static struct {
    int shells;
    unsigned count;
    char names[8][CAPOS_CAPSET_NAME_MAX];
    uint64_t ifaces[8];
    uint64_t audit_badge;
    int r[NCASES];           /* CQE result of each launchShell */
    int which[NCASES];       /* LaunchResult union tag, -1 undecoded */
    uint16_t denied[NCASES]; /* LaunchResult.denied */
    uint16_t exc[NCASES];    /* CapException type, 0xffff none */
    uint32_t result_caps[NCASES];
    uint64_t handle_iface; /* interface of case 5's result cap */
} seen;

/* ---- the stand-in shell ----------------------------------------------- */

static void fake_shell(void *arg)
{
    (void)arg;
    struct k_process *p = k_current()->proc;
    seen.shells++;
    seen.count = p->capset->hdr.count;
    for (unsigned i = 0; i < seen.count && i < 8; i++) {
        memcpy(seen.names[i], p->capset->entries[i].name,
               CAPOS_CAPSET_NAME_MAX);
        seen.ifaces[i] = p->capset->entries[i].interface_id;
        if (strcmp(p->capset->entries[i].name, "audit") == 0) {
            struct ct_slot *s =
                ct_lookup(&p->caps, p->capset->entries[i].cap_id);
            seen.audit_badge = s ? s->badge : 0;
        }
    }
    capos_exit(0);
}

static const struct sim_binary test_binaries[] = {
    {"capos-shell", fake_shell},
};

static uint64_t manifest_words[64];
static size_t manifest_len;

/* The boot manifest's one binary: capos-shell, or (to make the spawn
 * fail) another name. */
static const char *manifest_binary = "capos-shell";

static void build_manifest(void)
{
    capnp_builder b;
    capnp_struct_builder root, e;
    capnp_list_builder list;
    capnp_builder_init(&b, manifest_words, sizeof manifest_words);
    assert_int_equal(capos_SystemManifest_init_root(&b, &root), 0);
    assert_int_equal(capos_SystemManifest_init_binaries(&root, 1, &list), 0);
    capnp_list_struct_at(&list, 0, &e);
    capos_Binary_set_name(&e, manifest_binary, strlen(manifest_binary));
    capos_Binary_image_set_builtin(&e, "capos-shell", 11);
    assert_int_equal(capnp_finish(&b, &manifest_len), 0);
}

static int setup(void **state)
{
    (void)state;
    manifest_binary = "capos-shell";
    h_up(true, 1);
    sim_set_binaries(test_binaries,
                     sizeof test_binaries / sizeof test_binaries[0]);
    build_manifest();
    memset(&seen, 0, sizeof seen);
    return 0;
}

static int setup_without_shell(void **state)
{
    int r = setup(state);
    manifest_binary = "not-the-shell";
    build_manifest();
    return r;
}

static int teardown(void **state)
{
    (void)state;
    h_down();
    sim_set_binaries(NULL, 0);
    return 0;
}

/* ---- the client ------------------------------------------------------- */

enum { T_NONE, T_TERMINAL, T_NULLCAP, T_FAKE };

/* The client's facet typed TerminalSession (a server's, not the kernel's). */
static capos_cap_t fake_terminal;

/*
 * launchShell with a terminal of kind term (copied, so the client keeps
 * its own for the next case), a session cap or not, profile, and ngrants
 * extra grants; records the outcome as case i.
 */
static void launch(unsigned i, capos_cap_t launcher, capos_cap_t terminal,
                   capos_cap_t other, int term, bool session,
                   const char *profile, unsigned ngrants)
{
    uint8_t *pbuf = capos_alloc(4096), *res = capos_alloc(4096);
    capnp_builder b;
    capnp_struct_builder p, g;
    capnp_list_builder gl;
    CapTransferDescriptor d[3];
    uint16_t nd = 0;
    capnp_builder_init(&b, pbuf, 4096 - 64);
    capos_RestrictedShellLauncher_launchShell_Params_init_root(&b, &p);
    if (term != T_NONE) {
        d[nd] = (CapTransferDescriptor){
            .cap_id = term == T_TERMINAL ? terminal.id
                      : term == T_FAKE   ? fake_terminal.id
                                         : other.id,
            .mode = CAP_XFER_COPY};
        capos_RestrictedShellLauncher_launchShell_Params_set_terminal(&p, nd++);
    }
    if (session) {
        d[nd] =
            (CapTransferDescriptor){.cap_id = other.id, .mode = CAP_XFER_COPY};
        capos_RestrictedShellLauncher_launchShell_Params_set_session(&p, nd++);
    }
    if (profile)
        capos_RestrictedShellLauncher_launchShell_Params_set_profile(
            &p, profile, strlen(profile));
    if (ngrants) {
        capos_RestrictedShellLauncher_launchShell_Params_init_grants(
            &p, ngrants, &gl);
        for (unsigned k = 0; k < ngrants; k++) {
            capnp_list_struct_at(&gl, k, &g);
            capos_NamedCap_set_name(&g, "extra", 5);
            d[nd] = (CapTransferDescriptor){.cap_id = other.id,
                                            .mode = CAP_XFER_COPY};
            capos_NamedCap_set_cap(&g, nd++);
        }
    }
    size_t len = 0;
    capnp_finish(&b, &len);
    memcpy(pbuf + CAP_ALIGN8(len), d, nd * sizeof d[0]);
    CapSqe sqe;
    capos_RestrictedShellLauncher_launchShell_sqe_xfer(
        &sqe, launcher.id, capos_va(pbuf), (uint32_t)len, nd, capos_va(res),
        4096, 0);
    CapCqe cqe;
    int r = capos_rt_call(&sqe, &cqe);
    seen.r[i] = r == 0 ? cqe.result : r;
    seen.which[i] = -1;
    seen.exc[i] = 0xffff;
    capnp_message m;
    capnp_struct root, lr;
    if (seen.r[i] >= 0) {
        seen.result_caps[i] = cqe.cap_count;
        for (uint32_t k = 0; k < cqe.cap_count; k++) {
            CapTransferResult rec;
            memcpy(&rec, res + CAP_ALIGN8((uint32_t)seen.r[i]) + k * sizeof rec,
                   sizeof rec);
            if (i == 5 && k == 0)
                seen.handle_iface = rec.interface_id;
            capos_rt_release((capos_cap_t){rec.cap_id, rec.interface_id});
        }
        if (capnp_msg_init(&m, res, (size_t)seen.r[i], NULL) == 0 &&
            capnp_msg_root(&m, &root) == 0 &&
            capos_RestrictedShellLauncher_launchShell_Results_get_result(
                &root, &lr) == 0) {
            seen.which[i] = capos_LaunchResult_which(&lr);
            if (seen.which[i] == CAPOS_LAUNCH_RESULT_WHICH_DENIED)
                seen.denied[i] = capos_LaunchResult_get_denied(&lr);
        }
    } else if (capnp_msg_init(&m, res, 4096, NULL) == 0 &&
               capnp_msg_root(&m, &root) == 0) {
        seen.exc[i] = capos_CapException_get_type(&root);
    }
    capos_free(pbuf);
    capos_free(res);
}

static int client_main(capos_capset_t *caps)
{
    capos_cap_t launcher, terminal, other;
    if (capos_capset_find(caps, "launcher", 0, &launcher) ||
        capos_capset_find(caps, "terminal", 0, &terminal) ||
        capos_capset_find(caps, "null", 0, &other) ||
        capos_capset_find(caps, "fake", CAPOS_TERMINAL_SESSION_INTERFACE_ID,
                          &fake_terminal))
        return 1;
    launch(0, launcher, terminal, other, T_NONE, false, NULL, 0);
    launch(1, launcher, terminal, other, T_NULLCAP, false, NULL, 0);
    launch(7, launcher, terminal, other, T_FAKE, false, NULL, 0);
    launch(2, launcher, terminal, other, T_TERMINAL, true, NULL, 0);
    launch(3, launcher, terminal, other, T_TERMINAL, false, "operator", 0);
    launch(4, launcher, terminal, other, T_TERMINAL, false, NULL, 1);
    launch(5, launcher, terminal, other, T_TERMINAL, false, "", 0);
    /* An unknown method is refused, not served as launchShell. */
    uint8_t *res = capos_alloc(512);
    seen.r[6] = capos_rt_invoke(launcher, 1, NULL, 0, res, 512, NULL);
    capos_free(res);
    capos_rt_flush_releases();
    return 0;
}

/* Through the SSH gateway's facet: a session that is no UserSession
 * (case 0), then a UserSession (case 1). */
static int gateway_client(capos_capset_t *caps)
{
    capos_cap_t launcher, terminal, other, usess;
    if (capos_capset_find(caps, "launcher", 0, &launcher) ||
        capos_capset_find(caps, "terminal", 0, &terminal) ||
        capos_capset_find(caps, "null", 0, &other) ||
        capos_capset_find(caps, "usess", CAPOS_USER_SESSION_INTERFACE_ID,
                          &usess))
        return 1;
    launch(0, launcher, terminal, other, T_TERMINAL, true, NULL, 0);
    launch(1, launcher, terminal, usess, T_TERMINAL, true, "operator", 0);
    launch(2, launcher, terminal, usess, T_TERMINAL, true, NULL, 0);
    capos_rt_flush_releases();
    return 0;
}

static int spawn_fail_client(capos_capset_t *caps)
{
    capos_cap_t launcher, terminal, other;
    if (capos_capset_find(caps, "launcher", 0, &launcher) ||
        capos_capset_find(caps, "terminal", 0, &terminal) ||
        capos_capset_find(caps, "null", 0, &other))
        return 1;
    launch(0, launcher, terminal, other, T_TERMINAL, false, NULL, 0);
    capos_rt_flush_releases();
    return 0;
}

/* ---- the tests -------------------------------------------------------- */

/* The badge of the client's launcher facet (22: the SSH gateway's). */
static uint64_t client_badge;

/* A launcher process "launcher" holding a spawner and facets of a stub's
 * endpoints, and a client with its facet, a terminal and a NullCap;
 * both started on main. */
static void bring_up(struct k_process **srv_out, struct k_process **stub_out,
                     struct k_process **cli_out,
                     int (*cli_main)(capos_capset_t *))
{
    struct k_process *stub = h_proc("stub", 0), *srv = h_proc("launcher", 0),
                     *cli = h_proc("client", 0);
    uint32_t ep_sess, ep_broker, ep_audit, ep_l;
    uint32_t id;
    assert_int_equal(ep_create(stub, &ep_sess), 0);
    assert_int_equal(ep_create(stub, &ep_broker), 0);
    assert_int_equal(ep_create(stub, &ep_audit), 0);
    assert_int_equal(ep_create(srv, &ep_l), 0);
    assert_int_equal(k_capset_add(srv, "launcher", ep_l), 0);
    assert_int_equal(
        spawner_grant(srv, (const uint8_t *)manifest_words, manifest_len, &id),
        0);
    assert_int_equal(k_capset_add(srv, "spawner", id), 0);
    assert_int_equal(ep_mint_client(stub, ep_sess, srv, 0, &id), 0);
    assert_int_equal(k_capset_add_as(srv, "sessions", id,
                                     CAPOS_SESSION_MANAGER_INTERFACE_ID),
                     0);
    assert_int_equal(ep_mint_client(stub, ep_broker, srv, 0, &id), 0);
    assert_int_equal(
        k_capset_add_as(srv, "broker", id, CAPOS_AUTHORITY_BROKER_INTERFACE_ID),
        0);
    assert_int_equal(ep_mint_client(stub, ep_audit, srv, 7, &id), 0);
    assert_int_equal(
        k_capset_add_as(srv, "shellAudit", id, CAPOS_AUDIT_LOG_INTERFACE_ID),
        0);
    assert_int_equal(console_grant(srv, &id), 0);
    assert_int_equal(k_capset_add(srv, "console", id), 0);

    assert_int_equal(ep_mint_client(srv, ep_l, cli, client_badge, &id), 0);
    assert_int_equal(
        k_capset_add_as(cli, "launcher", id,
                        CAPOS_RESTRICTED_SHELL_LAUNCHER_INTERFACE_ID),
        0);
    assert_int_equal(terminal_grant(cli, &id), 0);
    assert_int_equal(k_capset_add(cli, "terminal", id), 0);
    assert_int_equal(nullcap_grant(cli, &id), 0);
    assert_int_equal(k_capset_add(cli, "null", id), 0);
    /* A facet typed TerminalSession: it speaks the interface, but it is
     * not the kernel's terminal. */
    assert_int_equal(ep_mint_client(stub, ep_sess, cli, 0, &id), 0);
    assert_int_equal(
        k_capset_add_as(cli, "fake", id, CAPOS_TERMINAL_SESSION_INTERFACE_ID),
        0);
    /* A session facet, as the session manager's UserSession would be. */
    assert_int_equal(ep_mint_client(stub, ep_sess, cli, 0, &id), 0);
    assert_int_equal(
        k_capset_add_as(cli, "usess", id, CAPOS_USER_SESSION_INTERFACE_ID), 0);

    assert_int_equal(
        k_thread_create(srv, h_start,
                        (void *)capos_service_restricted_launcher_main, NULL),
        0);
    assert_int_equal(k_thread_create(cli, h_start, (void *)cli_main, NULL), 0);
    *srv_out = srv;
    *stub_out = stub;
    *cli_out = cli;
}

static void a_shell_that_cannot_start_is_denied_spawn_failed(void **st)
{
    (void)st;
    struct k_process *srv, *stub, *cli;
    bring_up(&srv, &stub, &cli, spawn_fail_client);
    k_run();
    assert_int_equal(cli->exit_code, 0);
    assert_true(seen.r[0] >= 0);
    assert_int_equal(seen.which[0], CAPOS_LAUNCH_RESULT_WHICH_DENIED);
    assert_int_equal(seen.denied[0], CAPOS_LAUNCH_DENIAL_SPAWN_FAILED);
    assert_int_equal(seen.result_caps[0], 0);
    assert_int_equal(seen.shells, 0);
    k_process_exit(srv, 0);
    k_process_exit(stub, 0);
    assert_int_equal(k_run(), 0);
}

static void launches_only_capos_shell_with_the_console_shell_caps(void **st)
{
    (void)st;
    struct k_process *srv, *stub, *cli;
    bring_up(&srv, &stub, &cli, client_main);
    k_run();
    assert_int_equal(cli->exit_code, 0);

    /* No terminal, a cap that is no TerminalSession, or a facet typed
     * TerminalSession (no kernel terminal): invalidArgument. */
    static const int refused[] = {0, 1, 7};
    for (unsigned k = 0; k < sizeof refused / sizeof refused[0]; k++) {
        assert_int_equal(seen.r[refused[k]], CAP_ERR_APPLICATION_EXCEPTION);
        assert_int_equal(seen.exc[refused[k]], CAPOS_EXC_INVALID_ARGUMENT);
    }
    /* A supplied session, a profile, an extra grant: denied, fail closed. */
    for (int i = 2; i <= 4; i++) {
        assert_true(seen.r[i] >= 0);
        assert_int_equal(seen.which[i], CAPOS_LAUNCH_RESULT_WHICH_DENIED);
        assert_int_equal(seen.result_caps[i], 0);
    }
    assert_int_equal(seen.denied[2], CAPOS_LAUNCH_DENIAL_SESSION_INVALID);
    assert_int_equal(seen.denied[3], CAPOS_LAUNCH_DENIAL_PROFILE_MISMATCH);
    assert_int_equal(seen.denied[4], CAPOS_LAUNCH_DENIAL_GRANT_REFUSED);
    assert_int_equal(seen.r[6], CAP_ERR_APPLICATION_EXCEPTION);

    /* Exactly one shell, with exactly the console shell's caps. */
    assert_int_equal(seen.shells, 1);
    assert_int_equal(seen.count, 4);
    assert_string_equal(seen.names[0], "terminal");
    assert_int_equal(seen.ifaces[0], CAPOS_TERMINAL_SESSION_INTERFACE_ID);
    assert_string_equal(seen.names[1], "sessions");
    assert_int_equal(seen.ifaces[1], CAPOS_SESSION_MANAGER_INTERFACE_ID);
    assert_string_equal(seen.names[2], "audit");
    assert_int_equal(seen.ifaces[2], CAPOS_AUDIT_LOG_INTERFACE_ID);
    assert_int_equal(seen.audit_badge, 7); /* the shells' own facet */
    assert_string_equal(seen.names[3], "broker");
    assert_int_equal(seen.ifaces[3], CAPOS_AUTHORITY_BROKER_INTERFACE_ID);
    /* The launch answered launched, with the shell's (move-only)
     * ProcessHandle moved to the client. */
    assert_true(seen.r[5] >= 0);
    assert_int_equal(seen.which[5], CAPOS_LAUNCH_RESULT_WHICH_LAUNCHED);
    assert_int_equal(seen.result_caps[5], 1);
    assert_int_equal(seen.handle_iface, CAPOS_PROCESS_HANDLE_INTERFACE_ID);

    k_process_exit(srv, 0);
    k_process_exit(stub, 0);
    assert_int_equal(k_run(), 0);
}

static void the_gateway_facet_alone_may_hand_over_a_user_session(void **st)
{
    (void)st;
    struct k_process *srv, *stub, *cli;
    client_badge = 22;
    bring_up(&srv, &stub, &cli, gateway_client);
    k_run();
    client_badge = 0;
    assert_int_equal(cli->exit_code, 0);
    /* Not a UserSession, or with a profile: denied, nothing started. */
    assert_int_equal(seen.which[0], CAPOS_LAUNCH_RESULT_WHICH_DENIED);
    assert_int_equal(seen.denied[0], CAPOS_LAUNCH_DENIAL_SESSION_INVALID);
    assert_int_equal(seen.which[1], CAPOS_LAUNCH_RESULT_WHICH_DENIED);
    assert_int_equal(seen.denied[1], CAPOS_LAUNCH_DENIAL_PROFILE_MISMATCH);
    /* A UserSession: the shell starts with it as "login", beside the
     * console shell's four caps. */
    assert_int_equal(seen.which[2], CAPOS_LAUNCH_RESULT_WHICH_LAUNCHED);
    assert_int_equal(seen.shells, 1);
    assert_int_equal(seen.count, 5);
    assert_string_equal(seen.names[0], "terminal");
    assert_string_equal(seen.names[4], "login");
    assert_int_equal(seen.ifaces[4], CAPOS_USER_SESSION_INTERFACE_ID);
    k_process_exit(srv, 0);
    k_process_exit(stub, 0);
    assert_int_equal(k_run(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            launches_only_capos_shell_with_the_console_shell_caps, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            the_gateway_facet_alone_may_hand_over_a_user_session, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            a_shell_that_cannot_start_is_denied_spawn_failed,
            setup_without_shell, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
