/*
 * test_shell_launcher.c - the scoped launcher behind session bundles
 * (services/shell-launcher/shell_launcher.c) driven by a client that
 * holds a profile facet, as the authority broker does: each session
 * launcher minted through it counts its own jobs, so one session at its
 * limit leaves another's spawns alone; and a "console" grant is passed
 * to the child only when it is a Console cap.
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

int capos_service_shell_launcher_main(capos_capset_t *caps);

#define JOBS_PER_SESSION 8 /* shell-launcher's limit */
#define BUF 4096u

/* What the stand-in children and the client saw. */
static struct {
    int children;
    struct k_object *child_console; /* of the last child */
    struct k_object *client_console;
    int minted[2];   /* mintClient of session launchers A, B */
    int mint_badged; /* mintClient(7): refused */
    int a_spawns[JOBS_PER_SESSION];
    int a_full; /* A's spawn past its limit */
    char a_full_why[200];
    int b_spawn, b_wait; /* B's spawn and wait, A at its limit */
    int64_t b_exit;
    int console_spawn; /* B: "console" = the client's Console */
    struct k_object *passed_console;
    int timer_as_console; /* B: "console" = a Timer: refused */
    char timer_why[200];
} seen;

/* ---- the stand-in child ----------------------------------------------- */

static void fake_child(void *arg)
{
    (void)arg;
    struct k_process *p = k_current()->proc;
    seen.children++;
    seen.child_console = NULL;
    for (unsigned i = 0; i < p->capset->hdr.count; i++) {
        if (strcmp(p->capset->entries[i].name, "console") != 0)
            continue;
        struct ct_slot *s = ct_lookup(&p->caps, p->capset->entries[i].cap_id);
        seen.child_console = s ? s->obj : NULL;
    }
    capos_exit(0);
}

static const struct sim_binary test_binaries[] = {
    {"hello", fake_child},
};

static uint64_t manifest_words[128];
static size_t manifest_len;

/* One binary, hello; one profile, operator (badge 1), that may start it. */
static void build_manifest(void)
{
    capnp_builder b;
    capnp_struct_builder root, e, kp;
    capnp_list_builder list, bins;
    capnp_builder_init(&b, manifest_words, sizeof manifest_words);
    assert_int_equal(capos_SystemManifest_init_root(&b, &root), 0);
    assert_int_equal(capos_SystemManifest_init_binaries(&root, 1, &list), 0);
    capnp_list_struct_at(&list, 0, &e);
    capos_Binary_set_name(&e, "hello", 5);
    capos_Binary_image_set_builtin(&e, "hello", 5);
    assert_int_equal(capos_SystemManifest_init_kernelParams(&root, &kp), 0);
    assert_int_equal(capos_KernelParams_init_profiles(&kp, 1, &list), 0);
    capnp_list_struct_at(&list, 0, &e);
    capos_SessionProfile_set_name(&e, "operator", 8);
    capos_SessionProfile_set_interactive(&e, true);
    assert_int_equal(capos_SessionProfile_init_binaries(&e, 1, &bins), 0);
    assert_int_equal(capnp_list_set_text(&bins, 0, "hello", 5), 0);
    assert_int_equal(capnp_finish(&b, &manifest_len), 0);
}

/* A fresh model with hello as its one builtin and the test manifest. */
static int setup(void **state)
{
    memset(&seen, 0, sizeof seen);
    int r = h_setup(state);
    sim_set_binaries(test_binaries, 1);
    build_manifest();
    return r;
}

static int teardown(void **state)
{
    sim_set_binaries(NULL, 0);
    return h_teardown(state);
}

/* ---- the client ------------------------------------------------------- */

/*
 * spawn hello through launcher, passing cap (if cap.id) as grant gname.
 * Returns the CQE result; *job gets the job facet (else stays 0), why
 * the refusal's text.
 */
static int spawn_hello(capos_cap_t launcher, const char *gname, capos_cap_t cap,
                       capos_cap_t *job, char *why, size_t wcap)
{
    uint8_t *pbuf = capos_alloc(BUF), *res = capos_alloc(BUF);
    capnp_builder b;
    capnp_struct_builder p, g;
    capnp_list_builder gl;
    uint16_t nd = cap.id ? 1 : 0;
    capnp_builder_init(&b, pbuf, BUF - 64);
    capos_ProcessSpawner_spawn_Params_init_root(&b, &p);
    capos_ProcessSpawner_spawn_Params_set_name(&p, "hello", 5);
    capos_ProcessSpawner_spawn_Params_set_binaryName(&p, "hello", 5);
    capos_ProcessSpawner_spawn_Params_init_grants(&p, nd, &gl);
    if (nd) {
        capnp_list_struct_at(&gl, 0, &g);
        capos_CapGrant_set_name(&g, gname, strlen(gname));
        capos_CapGrant_source_set_cap(&g, 0);
    }
    size_t len = 0;
    capnp_finish(&b, &len);
    CapTransferDescriptor d = {.cap_id = cap.id, .mode = CAP_XFER_COPY};
    memcpy(pbuf + CAP_ALIGN8(len), &d, sizeof d);
    CapSqe sqe;
    capos_ProcessSpawner_spawn_sqe_xfer(&sqe, launcher.id, capos_va(pbuf),
                                        (uint32_t)len, nd, capos_va(res), BUF,
                                        0);
    CapCqe cqe;
    int r = capos_rt_call(&sqe, &cqe);
    if (r == 0)
        r = cqe.result;
    if (r >= 0)
        (void)capos_rt_keep_first_cap(&cqe, res, 0, job);
    else if (why)
        capos_rt_error_text(res, BUF, r, why, wcap);
    capos_free(pbuf);
    capos_free(res);
    return r;
}

/* ProcessHandle.wait through job facet job. Returns the CQE result. */
static int wait_job(capos_cap_t job, int64_t *code)
{
    uint8_t *pbuf = capos_alloc(BUF), *res = capos_alloc(BUF);
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message m;
    capnp_struct root;
    capnp_builder_init(&b, pbuf, BUF);
    capos_ProcessHandle_wait_Params_init_root(&b, &p);
    int r = capos_rt_call_capnp(job, CAPOS_PROCESS_HANDLE_WAIT_METHOD_ID, &b,
                                res, BUF, &m, &root);
    if (r >= 0)
        *code = capos_ProcessHandle_wait_Results_get_exitCode(&root);
    capos_free(pbuf);
    capos_free(res);
    return r;
}

static int client_main(capos_capset_t *caps)
{
    capos_cap_t profile, console, timer, a = {0, 0}, b = {0, 0}, x;
    capos_cap_t jobs[JOBS_PER_SESSION + 3] = {{0, 0}};
    if (capos_capset_find(caps, "launcher.operator", 0, &profile) ||
        capos_capset_find(caps, "console", 0, &console) ||
        capos_capset_find(caps, "timer", 0, &timer))
        return 1;
    uint8_t *pbuf = capos_alloc(BUF), *rbuf = capos_alloc(BUF);
    seen.minted[0] =
        capos_endpoint_mint_client(profile, 0, pbuf, rbuf, BUF, &a);
    seen.minted[1] =
        capos_endpoint_mint_client(profile, 0, pbuf, rbuf, BUF, &b);
    seen.mint_badged =
        capos_endpoint_mint_client(profile, 7, pbuf, rbuf, BUF, &x);
    capos_free(pbuf);
    capos_free(rbuf);
    capos_cap_t none = {0, 0};
    /* Session A starts its limit of programs and waits for none. */
    for (int i = 0; i < JOBS_PER_SESSION; i++)
        seen.a_spawns[i] = spawn_hello(a, "", none, &jobs[i], NULL, 0);
    seen.a_full = spawn_hello(a, "", none, &jobs[JOBS_PER_SESSION],
                              seen.a_full_why, sizeof seen.a_full_why);
    /* Session B is untouched by A's jobs. */
    seen.b_spawn =
        spawn_hello(b, "", none, &jobs[JOBS_PER_SESSION + 1], NULL, 0);
    seen.b_wait = wait_job(jobs[JOBS_PER_SESSION + 1], &seen.b_exit);
    /* A Console of the caller's becomes the child's "console". */
    seen.console_spawn = spawn_hello(b, "console", console,
                                     &jobs[JOBS_PER_SESSION + 2], NULL, 0);
    seen.passed_console = seen.child_console;
    seen.timer_as_console = spawn_hello(b, "console", timer, &x, seen.timer_why,
                                        sizeof seen.timer_why);
    for (int i = 0; i < JOBS_PER_SESSION + 3; i++)
        if (jobs[i].id)
            capos_rt_release(jobs[i]);
    capos_rt_release(a);
    capos_rt_release(b);
    capos_rt_flush_releases();
    return 0;
}

/* ---- the tests -------------------------------------------------------- */

/* The launcher "launcher" with a spawner, the boot manifest and a
 * console; a client with profile facet badge 1 ("launcher.operator", as
 * the broker holds it), a Console and a Timer. */
static void bring_up(struct k_process **srv_out, struct k_process **cli_out)
{
    struct k_process *srv = h_proc("launcher", 0), *cli = h_proc("client", 0);
    uint32_t ep, id;
    assert_int_equal(ep_create(srv, &ep), 0);
    assert_int_equal(k_capset_add(srv, "launcher", ep), 0);
    assert_int_equal(
        spawner_grant(srv, (const uint8_t *)manifest_words, manifest_len, &id),
        0);
    assert_int_equal(k_capset_add(srv, "spawner", id), 0);
    assert_int_equal(
        bootpkg_grant(srv, (const uint8_t *)manifest_words, manifest_len, &id),
        0);
    assert_int_equal(k_capset_add(srv, "boot", id), 0);
    assert_int_equal(console_grant(srv, &id), 0);
    assert_int_equal(k_capset_add(srv, "console", id), 0);

    assert_int_equal(ep_mint_client(srv, ep, cli, 1, &id), 0);
    assert_int_equal(k_capset_add_as(cli, "launcher.operator", id,
                                     CAPOS_ENDPOINT_INTERFACE_ID),
                     0);
    assert_int_equal(console_grant(cli, &id), 0);
    assert_int_equal(k_capset_add(cli, "console", id), 0);
    seen.client_console = ct_lookup(&cli->caps, id)->obj;
    assert_int_equal(timercap_grant(cli, &id), 0);
    assert_int_equal(k_capset_add(cli, "timer", id), 0);

    assert_int_equal(k_thread_create(srv, h_start,
                                     (void *)capos_service_shell_launcher_main,
                                     NULL),
                     0);
    assert_int_equal(k_thread_create(cli, h_start, (void *)client_main, NULL),
                     0);
    *srv_out = srv;
    *cli_out = cli;
}

/* Run the client's whole script to its end; the launcher stays up. */
static struct k_process *run_client(void)
{
    struct k_process *srv, *cli;
    bring_up(&srv, &cli);
    k_run();
    assert_int_equal(cli->exit_code, 0);
    return srv;
}

/* Stop the launcher; nothing may be left running. */
static void stop_launcher(struct k_process *srv)
{
    k_process_exit(srv, 0);
    assert_int_equal(k_run(), 0);
}

static void a_session_at_its_limit_leaves_other_sessions_spawns_alone(void **st)
{
    (void)st;
    struct k_process *srv = run_client();
    assert_int_equal(seen.minted[0], 0);
    assert_int_equal(seen.minted[1], 0);
    /* The launcher picks session badges. */
    assert_int_equal(seen.mint_badged, CAP_ERR_APPLICATION_EXCEPTION);
    for (int i = 0; i < JOBS_PER_SESSION; i++)
        assert_true(seen.a_spawns[i] >= 0);
    assert_int_equal(seen.a_full, CAP_ERR_APPLICATION_EXCEPTION);
    assert_string_equal(seen.a_full_why,
                        "shell-launcher: this session has 8 programs not "
                        "waited for yet; wait for one (or log out) before "
                        "starting more");
    assert_true(seen.b_spawn >= 0);
    assert_true(seen.b_wait >= 0);
    assert_int_equal(seen.b_exit, 0);
    stop_launcher(srv);
}

static void a_console_grant_passes_only_a_console_cap(void **st)
{
    (void)st;
    struct k_process *srv = run_client();
    /* The child's "console" is the very Console the client passed. */
    assert_true(seen.console_spawn >= 0);
    assert_non_null(seen.passed_console);
    assert_ptr_equal(seen.passed_console, seen.client_console);
    /* A Timer under that name is refused; nothing more was started. */
    assert_int_equal(seen.timer_as_console, CAP_ERR_APPLICATION_EXCEPTION);
    assert_string_equal(seen.timer_why,
                        "shell-launcher: \"console\" is the launcher's grant");
    assert_int_equal(seen.children, JOBS_PER_SESSION + 2);
    stop_launcher(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            a_session_at_its_limit_leaves_other_sessions_spawns_alone, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            a_console_grant_passes_only_a_console_cap, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
