/*
 * test_session.c - session-manager and authority-broker
 * (services/session-manager, services/authority-broker) driven by a
 * client process, with a fake CredentialStore and a recording AuditLog:
 * logins, audit records without passwords, backoff on the virtual clock,
 * logout invalidating every copy, validation against forgeries, and the
 * broker's bundles and refusals. The kernel methods behind sessions
 * (Endpoint.mintClient / identify, docs/abi.md §10.1) are checked too.
 */
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "harness.h"
#include "harness_rt.h"
#include "server.h"

int capos_service_session_manager_main(capos_capset_t *caps);
int capos_service_authority_broker_main(capos_capset_t *caps);

#define SEC 1000000000ull
#define PW_RIGHT "correct horse"
#define PW_WRONG "wrong-pw-123"

static const uint8_t alice_principal[32] = {0xa1, 0xa2, 0xa3, 31 - 3};

/* ---- fakes -------------------------------------------------------------- */

#define AUDIT_MAX 64
static struct {
    unsigned n;
    struct {
        char category[16], code[48], principal[64];
        uint16_t outcome;
        uint64_t badge;
    } rec[AUDIT_MAX];
    bool password_seen; /* any params bytes held a password */
} audit;

static bool contains(const uint8_t *p, uint32_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (uint32_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, needle, k) == 0)
            return true;
    return false;
}

static void text(const capnp_struct *s,
                 int (*get)(const capnp_struct *, const char **, size_t *),
                 char *dst, size_t cap)
{
    const char *t;
    size_t n;
    dst[0] = 0;
    if (get(s, &t, &n) == 0 && n < cap) {
        memcpy(dst, t, n);
        dst[n] = 0;
    }
}

static int audit_handle(void *ctx, capos_server_call_t *call)
{
    (void)ctx;
    if (contains(call->params, call->params_len, PW_WRONG) ||
        contains(call->params, call->params_len, PW_RIGHT))
        audit.password_seen = true;
    capnp_struct r;
    if (call->method_id != CAPOS_AUDIT_LOG_APPEND_METHOD_ID ||
        capos_AuditLog_append_Params_get_record(&call->params_root, &r) != 0)
        return capos_server_unimplemented(call);
    if (audit.n < AUDIT_MAX) {
        unsigned i = audit.n;
        text(&r, capos_AuditRecord_get_category, audit.rec[i].category, 16);
        text(&r, capos_AuditRecord_get_code, audit.rec[i].code, 48);
        text(&r, capos_AuditRecord_get_principal, audit.rec[i].principal, 64);
        audit.rec[i].outcome = capos_AuditRecord_get_outcome(&r);
        audit.rec[i].badge = call->badge;
    }
    audit.n++;
    capnp_struct_builder res;
    capos_AuditLog_append_Results_init_root(call->result, &res);
    capos_AuditLog_append_Results_set_sequence(&res, audit.n);
    return CAPOS_SERVE_REPLY;
}

/* CredentialStore: alice, bob and carol have PW_RIGHT; nobody else. */
static int creds_handle(void *ctx, capos_server_call_t *call)
{
    (void)ctx;
    if (call->method_id != CAPOS_CREDENTIAL_STORE_VERIFY_PASSWORD_METHOD_ID)
        return capos_server_unimplemented(call);
    char user[32];
    const uint8_t *pw;
    size_t n;
    text(&call->params_root,
         capos_CredentialStore_verifyPassword_Params_get_username, user,
         sizeof user);
    capos_CredentialStore_verifyPassword_Params_get_password(&call->params_root,
                                                             &pw, &n);
    uint16_t v = CAPOS_PASSWORD_VERDICT_UNKNOWN_USER;
    if (strcmp(user, "alice") == 0 || strcmp(user, "bob") == 0 ||
        strcmp(user, "carol") == 0)
        v = n == strlen(PW_RIGHT) && memcmp(pw, PW_RIGHT, n) == 0
                ? CAPOS_PASSWORD_VERDICT_VERIFIED
                : CAPOS_PASSWORD_VERDICT_BAD_PASSWORD;
    capnp_struct_builder res;
    capos_CredentialStore_verifyPassword_Results_init_root(call->result, &res);
    capos_CredentialStore_verifyPassword_Results_set_verdict(&res, v);
    return CAPOS_SERVE_REPLY;
}

static int fake_main(capos_capset_t *caps, capos_server_handler_fn fn)
{
    capos_cap_t ep;
    if (capos_capset_find(caps, "ep", CAPOS_ENDPOINT_INTERFACE_ID, &ep))
        return 1;
    return capos_serve(ep, fn, NULL) == 0 ? 0 : 2;
}
static int audit_main(capos_capset_t *caps)
{
    return fake_main(caps, audit_handle);
}
static int creds_main(capos_capset_t *caps)
{
    return fake_main(caps, creds_handle);
}

/* ---- the manifest ---------------------------------------------------------
 */

static uint8_t manifest[4096];
static size_t manifest_len;

static void set_str(capnp_struct_builder *s,
                    int (*set)(capnp_struct_builder *, const char *, size_t),
                    const char *v)
{
    assert_int_equal(set(s, v, strlen(v)), 0);
}

/* The broker cap the operator profile names as its languageModel. */
static const char *op_model = "model";

/* accounts alice (active, operator), bob (disabled), carol (active, no
 * such profile); profiles operator (timer, plus two entries the broker
 * must leave out; the model op_model and three tool entries, one with a
 * mode PermissionMode lacks), guest, batch (not interactive). */
/* ed25519 public keys of kernelParams.authorizedKeys, and one unknown. */
static const uint8_t ssh_keys[4][32] = {{1, 1}, {2, 2}, {3, 3}, {4, 4}};

static void build_manifest(void)
{
    capnp_builder b;
    capnp_struct_builder root, kp, e, pc;
    capnp_list_builder l, caps;
    capnp_builder_init(&b, manifest, sizeof manifest);
    assert_int_equal(capos_SystemManifest_init_root(&b, &root), 0);
    capos_SystemManifest_set_schemaVersion(&root, 1);
    assert_int_equal(capos_SystemManifest_init_kernelParams(&root, &kp), 0);
    assert_int_equal(capos_KernelParams_init_accounts(&kp, 3, &l), 0);
    const char *users[3] = {"alice", "bob", "carol"};
    const char *profs[3] = {"operator", "operator", "nosuch"};
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(capnp_list_struct_at(&l, i, &e), 0);
        set_str(&e, capos_Account_set_username, users[i]);
        set_str(&e, capos_Account_set_displayName, "Someone");
        set_str(&e, capos_Account_set_defaultProfile, profs[i]);
        capos_Account_set_principalId(&e, alice_principal, 32);
        capos_Account_set_status(&e, i == 1 ? CAPOS_ACCOUNT_STATUS_DISABLED
                                            : CAPOS_ACCOUNT_STATUS_ACTIVE);
    }
    /* SSH keys: alice's, a disabled one, one for the guest profile only. */
    assert_int_equal(capos_KernelParams_init_authorizedKeys(&kp, 3, &l), 0);
    for (uint32_t i = 0; i < 3; i++) {
        capnp_list_builder kprof;
        assert_int_equal(capnp_list_struct_at(&l, i, &e), 0);
        capos_AuthorizedKey_set_principalId(&e, alice_principal, 32);
        set_str(&e, capos_AuthorizedKey_set_algorithm, "ssh-ed25519");
        capos_AuthorizedKey_set_publicKey(&e, ssh_keys[i], 32);
        capos_AuthorizedKey_set_disabled(&e, i == 1);
        assert_int_equal(capos_AuthorizedKey_init_profiles(&e, 1, &kprof), 0);
        assert_int_equal(capnp_list_set_text(&kprof, 0,
                                             i == 2 ? "guest" : "operator",
                                             i == 2 ? 5 : 8),
                         0);
    }
    assert_int_equal(capos_KernelParams_init_profiles(&kp, 3, &l), 0);
    assert_int_equal(capnp_list_struct_at(&l, 0, &e), 0);
    set_str(&e, capos_SessionProfile_set_name, "operator");
    capos_SessionProfile_set_kind(&e, CAPOS_PROFILE_KIND_OPERATOR);
    capos_SessionProfile_set_interactive(&e, true);
    capos_SessionProfile_set_lifetimeSeconds(&e, 3600);
    assert_int_equal(capos_SessionProfile_init_caps(&e, 5, &caps), 0);
    const char *names[5] = {"timer", "boot", "missing", "sessions", "counter"};
    const char *froms[5] = {"timer", "bootcopy", "nothing", "sessions",
                            "counter"};
    for (uint32_t i = 0; i < 5; i++) {
        assert_int_equal(capnp_list_struct_at(&caps, i, &pc), 0);
        set_str(&pc, capos_ProfileCap_set_name, names[i]);
        set_str(&pc, capos_ProfileCap_set_from, froms[i]);
    }
    set_str(&e, capos_SessionProfile_set_languageModel, op_model);
    assert_int_equal(capos_SessionProfile_init_tools(&e, 3, &caps), 0);
    const char *tools[3] = {"timer.now", "counter.add", "counter.reset"};
    const uint16_t modes[3] = {CAPOS_PERMISSION_MODE_AUTO,
                               CAPOS_PERMISSION_MODE_CONSENT, 9};
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(capnp_list_struct_at(&caps, i, &pc), 0);
        set_str(&pc, capos_ToolPermission_set_tool, tools[i]);
        capos_ToolPermission_set_mode(&pc, modes[i]);
    }
    assert_int_equal(capnp_list_struct_at(&l, 1, &e), 0);
    set_str(&e, capos_SessionProfile_set_name, "guest");
    capos_SessionProfile_set_kind(&e, CAPOS_PROFILE_KIND_GUEST);
    capos_SessionProfile_set_interactive(&e, true);
    assert_int_equal(capnp_list_struct_at(&l, 2, &e), 0);
    set_str(&e, capos_SessionProfile_set_name, "batch");
    capos_SessionProfile_set_kind(&e, CAPOS_PROFILE_KIND_SERVICE);
    assert_int_equal(capnp_finish(&b, &manifest_len), 0);
}

static uint8_t *cbuf, *rbuf;

/* The interface of the broker's typed "counter" facet. */
#define IFACE_COUNTER 0xc0ffee0000000001ull

/* ---- the world ---------------------------------------------------------- */

static struct k_process *p_audit, *p_creds, *p_sm, *p_broker, *p_client;
static uint32_t sm_caps0, broker_caps0;

/* Give p a fresh raw endpoint as name; returns its CapId. */
static uint32_t add_endpoint(struct k_process *p, const char *name)
{
    uint32_t raw;
    assert_int_equal(ep_create(p, &raw), 0);
    assert_int_equal(k_capset_add(p, name, raw), 0);
    return raw;
}

/* Give dst, as name with interface iface, a facet with badge of srv's raw
 * endpoint. */
static void add_facet(struct k_process *dst, const char *name,
                      struct k_process *srv, uint32_t raw, uint64_t badge,
                      uint64_t iface)
{
    uint32_t f;
    assert_int_equal(ep_mint_client(srv, raw, dst, badge, &f), 0);
    assert_int_equal(k_capset_add_as(dst, name, f, iface), 0);
}

/* Give p a Timer as name. */
static void add_timer(struct k_process *p, const char *name)
{
    uint32_t id;
    assert_int_equal(timercap_grant(p, &id), 0);
    assert_int_equal(k_capset_add(p, name, id), 0);
}

/* Give p a BootPackage of the test manifest as name. */
static void add_boot(struct k_process *p, const char *name)
{
    uint32_t id;
    assert_int_equal(bootpkg_grant(p, manifest, manifest_len, &id), 0);
    assert_int_equal(k_capset_add(p, name, id), 0);
}

static void world_up(int (*client_main)(capos_capset_t *))
{
    memset(&audit, 0, sizeof audit);
    cbuf = rbuf = NULL; /* they lived in the last model's arenas */
    h_up(true, 1);
    build_manifest();
    p_audit = h_proc("audit", 0);
    p_creds = h_proc("creds", 0);
    p_sm = h_proc("session-manager", 0);
    p_broker = h_proc("broker", 0);
    p_client = h_proc("client", 0);
    uint32_t a_raw = add_endpoint(p_audit, "ep");
    uint32_t c_raw = add_endpoint(p_creds, "ep");

    uint32_t sm_raw = add_endpoint(p_sm, "sessions");
    uint32_t ssh_raw = add_endpoint(p_sm, "sshGateway");
    uint32_t keys_raw = add_endpoint(p_sm, "authorizedKeys");
    add_facet(p_sm, "creds", p_creds, c_raw, 0,
              CAPOS_CREDENTIAL_STORE_INTERFACE_ID);
    add_facet(p_sm, "audit", p_audit, a_raw, 2, CAPOS_AUDIT_LOG_INTERFACE_ID);
    add_timer(p_sm, "timer");
    add_boot(p_sm, "boot");

    uint32_t b_raw = add_endpoint(p_broker, "broker");
    add_facet(p_broker, "sessions", p_sm, sm_raw, 0,
              CAPOS_SESSION_MANAGER_INTERFACE_ID);
    add_facet(p_broker, "audit", p_audit, a_raw, 3,
              CAPOS_AUDIT_LOG_INTERFACE_ID);
    add_boot(p_broker, "boot");
    add_boot(p_broker, "bootcopy");
    add_timer(p_broker, "timer");
    /* A typed facet of another service (docs/abi.md §8). */
    add_facet(p_broker, "counter", p_audit, a_raw, 11, IFACE_COUNTER);
    /* A model, and under another name a facet of another interface. */
    add_facet(p_broker, "model", p_audit, a_raw, 12,
              CAPOS_LANGUAGE_MODEL_INTERFACE_ID);
    add_facet(p_broker, "modelAdmin", p_audit, a_raw, 13, IFACE_COUNTER);

    add_facet(p_client, "sessions", p_sm, sm_raw, 0,
              CAPOS_SESSION_MANAGER_INTERFACE_ID);
    add_facet(p_client, "broker", p_broker, b_raw, 0,
              CAPOS_AUTHORITY_BROKER_INTERFACE_ID);
    add_facet(p_client, "sshGateway", p_sm, ssh_raw, 0,
              CAPOS_SESSION_MANAGER_INTERFACE_ID);
    add_facet(p_client, "authorizedKeys", p_sm, keys_raw, 0,
              CAPOS_AUTHORIZED_KEY_STORE_INTERFACE_ID);
    add_timer(p_client, "timer");
    sm_caps0 = h_live(p_sm);
    broker_caps0 = h_live(p_broker);

    assert_int_equal(
        k_thread_create(p_audit, h_start, (void *)audit_main, NULL), 0);
    assert_int_equal(
        k_thread_create(p_creds, h_start, (void *)creds_main, NULL), 0);
    assert_int_equal(k_thread_create(p_sm, h_start,
                                     (void *)capos_service_session_manager_main,
                                     NULL),
                     0);
    assert_int_equal(
        k_thread_create(p_broker, h_start,
                        (void *)capos_service_authority_broker_main, NULL),
        0);
    assert_int_equal(
        k_thread_create(p_client, h_start, (void *)client_main, NULL), 0);
    /* Everything but the servers (blocked in RECV) finishes. */
    assert_int_equal(k_run(), 4);
    assert_int_equal(p_client->state, KP_DEAD);
    /* Nothing piled up in the services' tables: minted facets went out,
     * validated caps went to the kernel, bundle caps were copies. */
    assert_int_equal(h_live(p_sm), sm_caps0);
    assert_int_equal(h_live(p_broker), broker_caps0);
}

static void world_down(void)
{
    k_process_exit(p_broker, 0);
    k_process_exit(p_sm, 0);
    k_process_exit(p_creds, 0);
    k_process_exit(p_audit, 0);
    h_down(); /* asserts no object, thread or process is left */
}

/* ---- client helpers (run inside the client process) --------------------- */

static void bufs(void)
{
    if (!cbuf) {
        cbuf = capos_alloc(4096);
        rbuf = capos_alloc(4096);
    }
}

/* CALL method on cap with the message in b and caps xfer[0..nx) (copied);
 * returns the CQE (result decoded into *root when >= 0). */
static CapCqe call(capos_cap_t cap, uint16_t method, capnp_builder *b,
                   const uint32_t *xfer, unsigned nx, capnp_message *msg,
                   capnp_struct *root)
{
    size_t len = 0;
    CapCqe c = {.result = -999};
    if (capnp_finish(b, &len) < 0)
        return c;
    for (unsigned i = 0; i < nx; i++) {
        CapTransferDescriptor d = {.cap_id = xfer[i], .mode = CAP_XFER_COPY};
        memcpy(cbuf + CAP_ALIGN8(len) + i * sizeof d, &d, sizeof d);
    }
    CapSqe s = {.opcode = CAP_OP_CALL,
                .cap_id = cap.id,
                .method_id = method,
                .addr = capos_va(cbuf),
                .len = (uint32_t)len,
                .xfer_cap_count = (uint16_t)nx,
                .result_addr = capos_va(rbuf),
                .result_len = 4096};
    if (capos_rt_call(&s, &c) != 0)
        c.result = -998;
    if (c.result >= 0 && msg &&
        (capnp_msg_init(msg, rbuf, (size_t)c.result, NULL) < 0 ||
         capnp_msg_root(msg, root) < 0))
        c.result = -997;
    return c;
}

/* Result cap record i of the last call. */
static capos_cap_t result_cap(const CapCqe *c, unsigned i)
{
    CapTransferResult rec;
    memcpy(&rec, rbuf + CAP_ALIGN8((uint32_t)c->result) + i * sizeof rec,
           sizeof rec);
    return (capos_cap_t){rec.cap_id, rec.interface_id};
}

static uint16_t exc_type_of(const CapCqe *c)
{
    if (c->result != CAP_ERR_APPLICATION_EXCEPTION)
        return 0xffff;
    capnp_message m;
    capnp_struct r;
    /* The payload length is not in the CQE: the exception is small. */
    if (capnp_msg_init(&m, rbuf, 512, NULL) < 0 || capnp_msg_root(&m, &r) < 0)
        return 0xfffe;
    return capos_CapException_get_type(&r);
}

/* Login; returns the LoginResult member (or a negative CQE result) with
 * *session set for a session, *retry_ms for a denial. */
static int login(capos_cap_t sm, const char *user, const char *pw,
                 const char *peer, capos_cap_t *session, uint32_t *retry_ms)
{
    capnp_builder b;
    capnp_struct_builder p, src;
    capnp_message msg;
    capnp_struct root, lr;
    capnp_builder_init(&b, cbuf, 4096);
    capos_SessionManager_login_Params_init_root(&b, &p);
    capos_SessionManager_login_Params_set_username(&p, user, strlen(user));
    capos_SessionManager_login_Params_set_password(&p, pw, strlen(pw));
    capos_SessionManager_login_Params_init_source(&p, &src);
    capos_LoginSource_set_transport(&src, 1);
    capos_LoginSource_set_peer(&src, peer, strlen(peer));
    CapCqe c = call(sm, CAPOS_SESSION_MANAGER_LOGIN_METHOD_ID, &b, NULL, 0,
                    &msg, &root);
    if (c.result < 0)
        return c.result;
    if (capos_SessionManager_login_Results_get_result(&root, &lr) < 0)
        return -996;
    int w = capos_LoginResult_which(&lr);
    if (w == CAPOS_LOGIN_RESULT_WHICH_SESSION) {
        uint32_t i;
        if (capos_LoginResult_get_session(&lr, &i) < 0 || i != 0 ||
            c.cap_count != 1)
            return -995;
        *session = result_cap(&c, 0);
    } else {
        *retry_ms = capos_LoginResult_denied_get_retryAfterMs(&lr);
    }
    return w;
}

static struct {
    char user[32], profile[32];
    uint16_t kind, strength;
    uint64_t created, expires;
    uint8_t principal[32];
} info_seen;

/* UserSession.info into info_seen; returns the CQE (for exceptions). */
static CapCqe info(capos_cap_t s)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message msg;
    capnp_struct root, in;
    capnp_builder_init(&b, cbuf, 4096);
    capnp_init_root(&b, 0, 0, &p);
    CapCqe c =
        call(s, CAPOS_USER_SESSION_INFO_METHOD_ID, &b, NULL, 0, &msg, &root);
    memset(&info_seen, 0, sizeof info_seen);
    if (c.result >= 0 &&
        capos_UserSession_info_Results_get_info(&root, &in) == 0) {
        text(&in, capos_SessionInfo_get_username, info_seen.user, 32);
        text(&in, capos_SessionInfo_get_profile, info_seen.profile, 32);
        info_seen.kind = capos_SessionInfo_get_profileKind(&in);
        info_seen.strength = capos_SessionInfo_get_authStrength(&in);
        info_seen.created = capos_SessionInfo_get_createdNs(&in);
        info_seen.expires = capos_SessionInfo_get_expiresNs(&in);
        const uint8_t *d;
        size_t n;
        if (capos_SessionInfo_get_principalId(&in, &d, &n) == 0 && n == 32)
            memcpy(info_seen.principal, d, 32);
    }
    return c;
}

static CapCqe logout(capos_cap_t s)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, cbuf, 4096);
    capnp_init_root(&b, 0, 0, &p);
    return call(s, CAPOS_USER_SESSION_LOGOUT_METHOD_ID, &b, NULL, 0, NULL,
                NULL);
}

static uint64_t now(capos_cap_t timer)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message msg;
    capnp_struct root;
    capnp_builder_init(&b, cbuf, 4096);
    capnp_init_root(&b, 0, 0, &p);
    CapCqe c = call(timer, CAPOS_TIMER_NOW_METHOD_ID, &b, NULL, 0, &msg, &root);
    return c.result >= 0 ? capos_Timer_now_Results_get_ns(&root) : 0;
}

static capos_cap_t find(capos_capset_t *caps, const char *name)
{
    capos_cap_t c = {0, 0};
    capos_capset_find(caps, name, 0, &c);
    return c;
}

/* ---- login, logout, backoff -------------------------------------------- */

static struct {
    int ok_which, ok_info, ok_copy_info;
    char user[32], profile[32];
    uint16_t kind, strength;
    uint64_t expires, created;
    bool principal_ok;
    int bad_which, unknown_which, disabled_which, noprofile_which;
    uint64_t delay[6];
    uint32_t retry[6];
    int wrong_which[6];
    uint64_t other_source_delay, other_address_delay;
    int after_which;
    uint64_t after_delay;
    int logout_r, after_logout_r;
    uint16_t after_logout_exc;
    int relogout_r;
    uint16_t relogout_exc;
    int empty_user_r;
} ls;

static int login_client(capos_capset_t *caps)
{
    bufs();
    capos_cap_t sm = find(caps, "sessions"), timer = find(caps, "timer");
    capos_cap_t s = {0, 0}, other;
    uint32_t retry = 0;

    ls.ok_which = login(sm, "alice", PW_RIGHT, "", &s, &retry);
    CapCqe c = info(s);
    ls.ok_info = c.result;
    memcpy(ls.user, info_seen.user, 32);
    memcpy(ls.profile, info_seen.profile, 32);
    ls.kind = info_seen.kind;
    ls.strength = info_seen.strength;
    ls.expires = info_seen.expires;
    ls.created = info_seen.created;
    ls.principal_ok = memcmp(info_seen.principal, alice_principal, 32) == 0;

    ls.unknown_which = login(sm, "mallory", PW_WRONG, "", &other, &retry);
    ls.disabled_which = login(sm, "bob", PW_RIGHT, "", &other, &retry);
    ls.noprofile_which = login(sm, "carol", PW_RIGHT, "", &other, &retry);

    /* Backoff: a fresh address, wrong passwords, each from a new port (a
     * reconnect), timed on the virtual clock. */
    for (int i = 0; i < 5; i++) {
        char peer[32];
        snprintf(peer, sizeof peer, "10.0.0.1:%d", 4000 + i);
        uint64_t t0 = now(timer);
        ls.wrong_which[i] =
            login(sm, "alice", PW_WRONG, peer, &other, &ls.retry[i]);
        ls.delay[i] = now(timer) - t0;
    }
    /* Another address and another account: not slowed down. */
    uint64_t t0 = now(timer);
    login(sm, "dave", PW_WRONG, "10.0.0.2:4000", &other, &retry);
    ls.other_source_delay = now(timer) - t0;
    /* The same account from another address: slowed by the account. */
    t0 = now(timer);
    login(sm, "alice", PW_WRONG, "10.0.0.3:1", &other, &retry);
    ls.other_address_delay = now(timer) - t0;
    t0 = now(timer);
    ls.after_which =
        login(sm, "alice", PW_RIGHT, "10.0.0.1:4000", &other, &retry);
    ls.delay[5] = now(timer) - t0;
    t0 = now(timer);
    capos_cap_t third;
    login(sm, "alice", PW_WRONG, "10.0.0.1:4000", &third, &retry);
    ls.after_delay = now(timer) - t0;
    logout(other);
    capos_rt_release(other);

    /* Logout ends the session for every holder (the broker test checks
     * a copy held elsewhere). */
    ls.empty_user_r = login(sm, "", PW_RIGHT, "", &other, &retry);
    ls.logout_r = logout(s).result;
    c = info(s);
    ls.after_logout_r = c.result;
    ls.after_logout_exc = exc_type_of(&c);
    c = logout(s);
    ls.relogout_r = c.result;
    ls.relogout_exc = exc_type_of(&c);
    capos_rt_release(s);
    capos_rt_flush_releases();
    return 0;
}

static void
login_checks_password_account_and_profile_audits_and_backs_off(void **state)
{
    (void)state;
    memset(&ls, 0, sizeof ls);
    world_up(login_client);
    assert_int_equal(ls.ok_which, CAPOS_LOGIN_RESULT_WHICH_SESSION);
    assert_true(ls.ok_info >= 0);
    assert_string_equal(ls.user, "alice");
    assert_string_equal(ls.profile, "operator");
    assert_int_equal(ls.kind, CAPOS_PROFILE_KIND_OPERATOR);
    assert_int_equal(ls.strength, CAPOS_AUTH_STRENGTH_PASSWORD);
    assert_true(ls.principal_ok);
    assert_int_equal(ls.expires, ls.created + 3600 * SEC);
    assert_int_equal(ls.unknown_which, CAPOS_LOGIN_RESULT_WHICH_DENIED);
    assert_int_equal(ls.disabled_which, CAPOS_LOGIN_RESULT_WHICH_DENIED);
    assert_int_equal(ls.noprofile_which, CAPOS_LOGIN_RESULT_WHICH_DENIED);
    /* Three free failures, then 1 s, 2 s although each came from a new
     * port; another address and account is not slowed down, the same
     * account from elsewhere is (4 s after its 5 failures); the right
     * password waits 8 s (the account's 6 failures) and resets both. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(ls.wrong_which[i], CAPOS_LOGIN_RESULT_WHICH_DENIED);
    assert_int_equal(ls.delay[0], 0);
    assert_int_equal(ls.delay[1], 0);
    assert_int_equal(ls.delay[2], 0);
    assert_int_equal(ls.delay[3], 1 * SEC);
    assert_int_equal(ls.delay[4], 2 * SEC);
    assert_int_equal(ls.retry[2], 1000);
    assert_int_equal(ls.retry[4], 4000);
    assert_int_equal(ls.other_source_delay, 0);
    assert_int_equal(ls.other_address_delay, 4 * SEC);
    assert_int_equal(ls.after_which, CAPOS_LOGIN_RESULT_WHICH_SESSION);
    assert_int_equal(ls.delay[5], 8 * SEC);
    assert_int_equal(ls.after_delay, 0);
    /* Logout: later calls through any copy are `disconnected`. */
    assert_int_equal(ls.empty_user_r, CAP_ERR_APPLICATION_EXCEPTION);
    assert_true(ls.logout_r >= 0);
    assert_int_equal(ls.after_logout_r, CAP_ERR_APPLICATION_EXCEPTION);
    assert_int_equal(ls.after_logout_exc, CAPOS_EXC_DISCONNECTED);
    assert_int_equal(ls.relogout_exc, CAPOS_EXC_DISCONNECTED);

    /* Audit: every decision, denials with a blank principal, no password
     * anywhere, all through the session manager's facet (badge 2). */
    assert_false(audit.password_seen);
    unsigned denied = 0, allowed = 0, logouts = 0;
    const char *want_first[] = {
        "password-login", "password-unknown-user", "password-account-disabled",
        "password-profile-unknown", "password-bad-password"};
    for (unsigned i = 0; i < 5; i++)
        assert_string_equal(audit.rec[i].code, want_first[i]);
    for (unsigned i = 0; i < audit.n && i < AUDIT_MAX; i++) {
        assert_int_equal(audit.rec[i].badge, 2);
        if (audit.rec[i].outcome == CAPOS_AUDIT_OUTCOME_DENIED) {
            denied++;
            assert_string_equal(audit.rec[i].category, "auth");
            assert_string_equal(audit.rec[i].principal, "");
        } else if (audit.rec[i].outcome == CAPOS_AUDIT_OUTCOME_ALLOWED) {
            allowed++;
            assert_string_equal(audit.rec[i].principal, "alice");
        } else if (strcmp(audit.rec[i].code, "session-logout") == 0) {
            logouts++;
        }
    }
    assert_int_equal(allowed, 2);
    assert_int_equal(denied, 3 + 5 + 1 + 1 + 1);
    assert_int_equal(logouts, 2);
    world_down();
}

/* ---- the broker -----------------------------------------------------------
 */

static struct {
    int which;
    uint16_t denial;
    unsigned nnames;
    char names[8][32];
    unsigned ncaps;
    int bundle_session_info;
    char bundle_session_user[32];
    uint64_t timer_iface;
    uint64_t counter_iface; /* its bundle record's interface */
    uint64_t session_iface; /* the bundle session's */
    int timer_call;
    uint16_t mismatch, unknown, forged, after_logout;
    int validate_forged_which, validate_ok_which;
    uint16_t copy_after_logout_exc;
    uint64_t model_iface; /* the bundle's languageModel record's; 0: null */
    unsigned ntools;
    char tools[4][32];
    uint16_t modes[4];
} bs;

/* shellBundle; returns the union member or a negative CQE result; the
 * denial / bundle details land in bs. Result caps other than the bundle's
 * session and the named "timer" are released. */
static int bundle(capos_cap_t broker, capos_cap_t session, const char *profile,
                  uint16_t *denial, capos_cap_t *bsession, capos_cap_t *btimer)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message msg;
    capnp_struct root, r, bun;
    capnp_builder_init(&b, cbuf, 4096);
    capos_AuthorityBroker_shellBundle_Params_init_root(&b, &p);
    capos_AuthorityBroker_shellBundle_Params_set_session(&p, 0);
    capos_AuthorityBroker_shellBundle_Params_set_profile(&p, profile,
                                                         strlen(profile));
    CapCqe c = call(broker, CAPOS_AUTHORITY_BROKER_SHELL_BUNDLE_METHOD_ID, &b,
                    &session.id, 1, &msg, &root);
    if (c.result < 0)
        return c.result;
    if (capos_AuthorityBroker_shellBundle_Results_get_result(&root, &r) < 0)
        return -996;
    int w = capos_ShellBundleResult_which(&r);
    bool keep[CAP_XFER_MAX] = {false};
    if (w == 1) {
        *denial = capos_ShellBundleResult_get_denied(&r);
    } else if (capos_ShellBundleResult_get_bundle(&r, &bun) == 0) {
        uint32_t si = CAPNP_CAP_NULL;
        capos_ShellBundle_get_session(&bun, &si);
        if (si < c.cap_count) {
            *bsession = result_cap(&c, si);
            keep[si] = true;
        }
        capnp_list l;
        bs.nnames = 0;
        if (capos_ShellBundle_get_serviceEndpoints(&bun, &l) == 0)
            for (uint32_t i = 0; i < capnp_list_len(&l) && i < 8; i++) {
                capnp_struct nc;
                uint32_t ci = CAPNP_CAP_NULL;
                capnp_list_get_struct(&l, i, &nc);
                text(&nc, capos_NamedCap_get_name, bs.names[i], 32);
                capos_NamedCap_get_cap(&nc, &ci);
                bs.nnames++;
                if (strcmp(bs.names[i], "timer") == 0 && ci < c.cap_count) {
                    *btimer = result_cap(&c, ci);
                    keep[ci] = true;
                }
                if (strcmp(bs.names[i], "counter") == 0 && ci < c.cap_count)
                    bs.counter_iface = result_cap(&c, ci).interface_id;
            }
        bs.ncaps = c.cap_count;
        uint32_t mi = CAPNP_CAP_NULL;
        if (capos_ShellBundle_get_languageModel(&bun, &mi) == 0 &&
            mi < c.cap_count)
            bs.model_iface = result_cap(&c, mi).interface_id;
        if (capos_ShellBundle_get_toolPermissions(&bun, &l) == 0)
            for (uint32_t i = 0; i < capnp_list_len(&l) && i < 4; i++) {
                capnp_struct tp;
                capnp_list_get_struct(&l, i, &tp);
                text(&tp, capos_ToolPermission_get_tool, bs.tools[i], 32);
                bs.modes[i] = capos_ToolPermission_get_mode(&tp);
                bs.ntools++;
            }
    }
    for (unsigned i = 0; i < c.cap_count && i < CAP_XFER_MAX; i++)
        if (!keep[i])
            capos_rt_release(result_cap(&c, i));
    return w;
}

static int validate_which(capos_cap_t sm, capos_cap_t cap)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message msg;
    capnp_struct root, v;
    capnp_builder_init(&b, cbuf, 4096);
    capos_SessionManager_validate_Params_init_root(&b, &p);
    capos_SessionManager_validate_Params_set_session(&p, 0);
    CapCqe c = call(sm, CAPOS_SESSION_MANAGER_VALIDATE_METHOD_ID, &b, &cap.id,
                    1, &msg, &root);
    if (c.result < 0)
        return c.result;
    if (capos_SessionManager_validate_Results_get_result(&root, &v) < 0)
        return -996;
    return capos_SessionValidation_which(&v);
}

static int broker_client(capos_capset_t *caps)
{
    bufs();
    capos_cap_t sm = find(caps, "sessions"), broker = find(caps, "broker");
    capos_cap_t s = {0, 0}, bsession = {0, 0}, btimer = {0, 0}, none;
    uint32_t retry;
    if (login(sm, "alice", PW_RIGHT, "", &s, &retry) != 0)
        return 1;
    bs.validate_ok_which = validate_which(sm, s);
    /* A SessionManager facet is not a session, nor is a foreign cap. */
    bs.validate_forged_which = validate_which(sm, broker);
    bs.which = bundle(broker, s, "operator", &bs.denial, &bsession, &btimer);
    bs.bundle_session_info = info(bsession).result;
    bs.session_iface = bsession.interface_id;
    memcpy(bs.bundle_session_user, info_seen.user, 32);
    bs.timer_iface = btimer.interface_id;
    {
        capnp_builder b;
        capnp_struct_builder p;
        capnp_builder_init(&b, cbuf, 4096);
        capnp_init_root(&b, 0, 0, &p);
        bs.timer_call = btimer.id ? call(btimer, CAPOS_TIMER_NOW_METHOD_ID, &b,
                                         NULL, 0, NULL, NULL)
                                        .result
                                  : -1;
    }
    capos_rt_release(btimer);

    bundle(broker, s, "guest", &bs.mismatch, &none, &none);
    bundle(broker, s, "nosuch", &bs.unknown, &none, &none);
    bundle(broker, sm, "operator", &bs.forged, &none, &none);
    logout(s);
    /* The bundle's copy of the session died with it. */
    CapCqe c = info(bsession);
    bs.copy_after_logout_exc = exc_type_of(&c);
    capos_rt_release(bsession);
    bundle(broker, s, "operator", &bs.after_logout, &none, &none);
    capos_rt_release(s);
    capos_rt_flush_releases();
    return 0;
}

static void
broker_issues_exactly_the_profile_caps_and_refuses_mismatches(void **state)
{
    (void)state;
    memset(&bs, 0, sizeof bs);
    op_model = "model";
    world_up(broker_client);
    assert_int_equal(p_client->exit_code, 0);
    assert_int_equal(bs.validate_ok_which,
                     CAPOS_SESSION_VALIDATION_WHICH_VALID);
    assert_int_equal(bs.validate_forged_which,
                     CAPOS_SESSION_VALIDATION_WHICH_INVALID);
    assert_int_equal(bs.which, 0);
    /* "timer" and "counter": "boot" (a BootPackage), "missing" (not
     * held) and "sessions" (the broker's own) are left out. */
    assert_int_equal(bs.nnames, 2);
    assert_string_equal(bs.names[0], "timer");
    assert_string_equal(bs.names[1], "counter");
    /* the session, the timer, the counter, the model */
    assert_int_equal(bs.ncaps, 4);
    assert_int_equal(bs.model_iface, CAPOS_LANGUAGE_MODEL_INTERFACE_ID);
    /* The tool map as the profile has it, less the entry of mode 9. */
    assert_int_equal(bs.ntools, 2);
    assert_string_equal(bs.tools[0], "timer.now");
    assert_int_equal(bs.modes[0], CAPOS_PERMISSION_MODE_AUTO);
    assert_string_equal(bs.tools[1], "counter.add");
    assert_int_equal(bs.modes[1], CAPOS_PERMISSION_MODE_CONSENT);
    /* The bundle's copy of the typed facet is still a Counter. */
    assert_int_equal(bs.counter_iface, IFACE_COUNTER);
    /* The session manager minted the session typed; the broker's move
     * kept it. */
    assert_int_equal(bs.session_iface, CAPOS_USER_SESSION_INTERFACE_ID);
    assert_true(bs.bundle_session_info >= 0);
    assert_string_equal(bs.bundle_session_user, "alice");
    assert_int_equal(bs.timer_iface, CAPOS_TIMER_INTERFACE_ID);
    assert_true(bs.timer_call > 0); /* a Timer.now answer */
    assert_int_equal(bs.mismatch, CAPOS_BUNDLE_DENIAL_PROFILE_NOT_ALLOWED);
    assert_int_equal(bs.unknown, CAPOS_BUNDLE_DENIAL_PROFILE_NOT_ALLOWED);
    assert_int_equal(bs.forged, CAPOS_BUNDLE_DENIAL_SESSION_INVALID);
    assert_int_equal(bs.after_logout, CAPOS_BUNDLE_DENIAL_SESSION_INVALID);
    assert_int_equal(bs.copy_after_logout_exc, CAPOS_EXC_DISCONNECTED);
    unsigned refused = 0, issued = 0;
    for (unsigned i = 0; i < audit.n && i < AUDIT_MAX; i++) {
        if (strcmp(audit.rec[i].code, "bundle-cap-refused") == 0)
            refused++;
        if (strcmp(audit.rec[i].code, "bundle-issued") == 0)
            issued++;
    }
    assert_int_equal(refused, 3);
    assert_int_equal(issued, 1);
    world_down();
}

/* A profile naming as its model a cap of another interface, or one the
 * broker lacks, gets a bundle without a model (audited). */
static void broker_passes_only_a_typed_language_model(void **state)
{
    (void)state;
    const char *const wrong[2] = {"modelAdmin", "nomodel"};
    for (unsigned k = 0; k < 2; k++) {
        memset(&bs, 0, sizeof bs);
        op_model = wrong[k];
        world_up(broker_client);
        assert_int_equal(bs.which, 0);
        assert_int_equal(bs.ncaps, 3); /* the session, timer, counter */
        assert_int_equal(bs.model_iface, 0);
        assert_int_equal(bs.ntools, 2); /* the map comes all the same */
        unsigned refused = 0;
        for (unsigned i = 0; i < audit.n && i < AUDIT_MAX; i++)
            if (strcmp(audit.rec[i].code, "bundle-model-refused") == 0)
                refused++;
        assert_int_equal(refused, 1);
        world_down();
    }
    op_model = "model";
}

/* ---- the kernel methods ------------------------------------------------ */

static struct {
    int mint_r, mint_caps, identify_own, identify_foreign, call_badge_ok;
    uint64_t badge;
    int bad_method_r;
    uint16_t bad_method_exc;
    uint32_t live_end;
} km;
static struct k_process *p_minter;

static int minter_main(capos_capset_t *caps)
{
    bufs();
    capos_cap_t ep = find(caps, "ep"), timer = find(caps, "timer");
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message msg;
    capnp_struct root;
    capnp_builder_init(&b, cbuf, 4096);
    capos_Endpoint_mintClient_Params_init_root(&b, &p);
    capos_Endpoint_mintClient_Params_set_badge(&p, 0x77);
    CapCqe c = call(ep, CAPOS_ENDPOINT_MINT_CLIENT_METHOD_ID, &b, NULL, 0, &msg,
                    &root);
    km.mint_r = c.result;
    km.mint_caps = c.cap_count;
    capos_cap_t facet = result_cap(&c, 0);
    for (int i = 0; i < 2; i++) {
        capos_cap_t which = i == 0 ? facet : timer;
        capnp_builder_init(&b, cbuf, 4096);
        capos_Endpoint_identify_Params_init_root(&b, &p);
        capos_Endpoint_identify_Params_set_cap(&p, 0);
        c = call(ep, CAPOS_ENDPOINT_IDENTIFY_METHOD_ID, &b, &which.id, 1, &msg,
                 &root);
        if (c.result < 0)
            return 100 + i * 1000 - c.result;
        bool own = capos_Endpoint_identify_Results_get_own(&root);
        if (i == 0) {
            km.identify_own = own;
            km.badge = capos_Endpoint_identify_Results_get_badge(&root);
        } else {
            km.identify_foreign = own ? 1 : 0;
        }
    }
    capnp_builder_init(&b, cbuf, 4096);
    capnp_init_root(&b, 0, 0, &p);
    c = call(ep, 9, &b, NULL, 0, NULL, NULL);
    km.bad_method_r = c.result;
    km.bad_method_exc = exc_type_of(&c);
    capos_rt_release(facet);
    capos_rt_flush_releases();
    km.live_end = h_live(p_minter);
    return 0;
}

static void
raw_endpoint_mints_badged_facets_and_identifies_its_own(void **state)
{
    (void)state;
    memset(&km, 0, sizeof km);
    cbuf = rbuf = NULL;
    h_up(true, 1);
    struct k_process *p = p_minter = h_proc("minter", 0);
    add_endpoint(p, "ep");
    add_timer(p, "timer");
    uint32_t live0 = h_live(p);
    assert_int_equal(k_thread_create(p, h_start, (void *)minter_main, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(p->exit_code, 0);
    assert_true(km.mint_r >= 0);
    assert_int_equal(km.mint_caps, 1);
    assert_int_equal(km.identify_own, 1);
    assert_int_equal(km.badge, 0x77);
    assert_int_equal(km.identify_foreign, 0);
    assert_int_equal(km.bad_method_r, CAP_ERR_APPLICATION_EXCEPTION);
    assert_int_equal(km.bad_method_exc, CAPOS_EXC_UNIMPLEMENTED);
    /* identify dropped the copies it was given; the facet was released. */
    assert_int_equal(km.live_end, live0);
    h_down();
}

/* ---- sshPublicKey -------------------------------------------------------- */

/* SessionManager.sshPublicKey(user, "", ssh-ed25519, key) from a peer:
 * the LoginResult's which (session in *session), or the CQE error. */
static int ssh_login(capos_cap_t sm, const char *user, const uint8_t *key,
                     capos_cap_t *session)
{
    capnp_builder b;
    capnp_struct_builder p, src;
    capnp_message msg;
    capnp_struct root, lr;
    capnp_builder_init(&b, cbuf, 4096);
    capos_SessionManager_sshPublicKey_Params_init_root(&b, &p);
    capos_SessionManager_sshPublicKey_Params_set_username(&p, user,
                                                          strlen(user));
    capos_SessionManager_sshPublicKey_Params_set_algorithm(&p, "ssh-ed25519",
                                                           11);
    capos_SessionManager_sshPublicKey_Params_set_publicKey(&p, key, 32);
    capos_SessionManager_sshPublicKey_Params_init_source(&p, &src);
    capos_LoginSource_set_transport(&src, CAPOS_TRANSPORT_SSH);
    capos_LoginSource_set_peer(&src, "10.0.0.9:22", 11);
    CapCqe c = call(sm, CAPOS_SESSION_MANAGER_SSH_PUBLIC_KEY_METHOD_ID, &b,
                    NULL, 0, &msg, &root);
    if (c.result < 0)
        return c.result;
    if (capos_SessionManager_sshPublicKey_Results_get_result(&root, &lr) < 0)
        return -996;
    int w = capos_LoginResult_which(&lr);
    if (w == CAPOS_LOGIN_RESULT_WHICH_SESSION)
        *session = result_cap(&c, 0);
    return w;
}

/* AuthorizedKeyStore.lookup of key: the result's which (found: 0), with
 * *disabled the record's flag, or the CQE error. */
static int key_lookup(capos_cap_t store, const uint8_t *key, bool *disabled)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message msg;
    capnp_struct root, lr, rec;
    capnp_builder_init(&b, cbuf, 4096);
    capos_AuthorizedKeyStore_lookup_Params_init_root(&b, &p);
    capos_AuthorizedKeyStore_lookup_Params_set_algorithm(&p, "ssh-ed25519", 11);
    capos_AuthorizedKeyStore_lookup_Params_set_publicKey(&p, key, 32);
    CapCqe c = call(store, CAPOS_AUTHORIZED_KEY_STORE_LOOKUP_METHOD_ID, &b,
                    NULL, 0, &msg, &root);
    if (c.result < 0)
        return c.result;
    if (capos_AuthorizedKeyStore_lookup_Results_get_result(&root, &lr) < 0)
        return -996;
    int w = capos_AuthorizedKeyLookup_which(&lr);
    if (w == CAPOS_AUTHORIZED_KEY_LOOKUP_WHICH_FOUND &&
        capos_AuthorizedKeyLookup_get_found(&lr, &rec) == 0)
        *disabled = capos_AuthorizedKey_get_disabled(&rec);
    return w;
}

static struct {
    int lookup_found, lookup_disabled, lookup_unknown;
    bool disabled_flag, enabled_flag;
    int via_sessions, ok, unknown, disabled, guest_only, other_user;
    uint16_t strength;
    char user[32], profile[32];
} ks;

static int ssh_client(capos_capset_t *caps)
{
    bufs();
    capos_cap_t sm = find(caps, "sessions"), gw = find(caps, "sshGateway");
    capos_cap_t s = {0, 0}, other;
    capos_cap_t store = find(caps, "authorizedKeys");
    ks.lookup_found = key_lookup(store, ssh_keys[0], &ks.enabled_flag);
    ks.lookup_disabled = key_lookup(store, ssh_keys[1], &ks.disabled_flag);
    ks.lookup_unknown = key_lookup(store, ssh_keys[3], &ks.disabled_flag);
    ks.via_sessions = ssh_login(sm, "alice", ssh_keys[0], &other);
    ks.ok = ssh_login(gw, "alice", ssh_keys[0], &s);
    info(s);
    ks.strength = info_seen.strength;
    memcpy(ks.user, info_seen.user, 32);
    memcpy(ks.profile, info_seen.profile, 32);
    ks.unknown = ssh_login(gw, "alice", ssh_keys[3], &other);
    ks.disabled = ssh_login(gw, "alice", ssh_keys[1], &other);
    ks.guest_only = ssh_login(gw, "alice", ssh_keys[2], &other);
    /* The key names alice's principal: another login name is refused. */
    ks.other_user = ssh_login(gw, "carol", ssh_keys[0], &other);
    logout(s);
    capos_rt_release(s);
    capos_rt_flush_releases();
    return 0;
}

static bool audited(const char *code, uint16_t outcome)
{
    for (unsigned i = 0; i < audit.n && i < AUDIT_MAX; i++)
        if (strcmp(audit.rec[i].code, code) == 0 &&
            audit.rec[i].outcome == outcome &&
            (outcome != CAPOS_AUDIT_OUTCOME_DENIED ||
             audit.rec[i].principal[0] == 0))
            return true;
    return false;
}

static void
ssh_key_logins_only_through_the_gateway_facet_each_denial_coded(void **state)
{
    (void)state;
    memset(&ks, 0, sizeof ks);
    world_up(ssh_client);
    /* The store answers what the manifest holds, disabled keys too. */
    assert_int_equal(ks.lookup_found, CAPOS_AUTHORIZED_KEY_LOOKUP_WHICH_FOUND);
    assert_false(ks.enabled_flag);
    assert_int_equal(ks.lookup_disabled,
                     CAPOS_AUTHORIZED_KEY_LOOKUP_WHICH_FOUND);
    assert_true(ks.disabled_flag);
    assert_int_equal(ks.lookup_unknown,
                     CAPOS_AUTHORIZED_KEY_LOOKUP_WHICH_NOT_FOUND);
    /* Public keys are public: the ordinary facet may not assert one. */
    assert_int_equal(ks.via_sessions, CAP_ERR_APPLICATION_EXCEPTION);
    assert_int_equal(ks.ok, CAPOS_LOGIN_RESULT_WHICH_SESSION);
    assert_int_equal(ks.strength, CAPOS_AUTH_STRENGTH_PUBLIC_KEY);
    assert_string_equal(ks.user, "alice");
    assert_string_equal(ks.profile, "operator");
    assert_int_equal(ks.unknown, CAPOS_LOGIN_RESULT_WHICH_DENIED);
    assert_int_equal(ks.disabled, CAPOS_LOGIN_RESULT_WHICH_DENIED);
    assert_int_equal(ks.guest_only, CAPOS_LOGIN_RESULT_WHICH_DENIED);
    assert_int_equal(ks.other_user, CAPOS_LOGIN_RESULT_WHICH_DENIED);
    assert_true(audited("ssh-publickey-login", CAPOS_AUDIT_OUTCOME_ALLOWED));
    assert_true(audited("ssh-key-unknown", CAPOS_AUDIT_OUTCOME_DENIED));
    assert_true(audited("ssh-key-disabled", CAPOS_AUDIT_OUTCOME_DENIED));
    assert_true(
        audited("ssh-key-profile-not-allowed", CAPOS_AUDIT_OUTCOME_DENIED));
    world_down();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            raw_endpoint_mints_badged_facets_and_identifies_its_own),
        cmocka_unit_test(
            login_checks_password_account_and_profile_audits_and_backs_off),
        cmocka_unit_test(
            broker_issues_exactly_the_profile_caps_and_refuses_mismatches),
        cmocka_unit_test(
            ssh_key_logins_only_through_the_gateway_facet_each_denial_coded),
        cmocka_unit_test(broker_passes_only_a_typed_language_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
