/*
 * session_world.c - the world of test_session (session_world.h): a
 * recording AuditLog and a fake CredentialStore, the boot manifest, the
 * processes of session-manager, authority-broker and the client, and the
 * helpers the client calls them with.
 */
#include <stdio.h>
#include <string.h>

#include "session_world.h"

int capos_service_session_manager_main(capos_capset_t *caps);
int capos_service_authority_broker_main(capos_capset_t *caps);

const uint8_t alice_principal[32] = {0xa1, 0xa2, 0xa3, 31 - 3};

struct world_audit audit;

static bool contains(const uint8_t *p, uint32_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (uint32_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, needle, k) == 0)
            return true;
    return false;
}

void world_text(const capnp_struct *s,
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
        world_text(&r, capos_AuditRecord_get_category, audit.rec[i].category,
                   16);
        world_text(&r, capos_AuditRecord_get_code, audit.rec[i].code, 48);
        world_text(&r, capos_AuditRecord_get_principal, audit.rec[i].principal,
                   64);
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
    world_text(&call->params_root,
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

static uint8_t manifest[4096];
static size_t manifest_len;

static void set_str(capnp_struct_builder *s,
                    int (*set)(capnp_struct_builder *, const char *, size_t),
                    const char *v)
{
    assert_int_equal(set(s, v, strlen(v)), 0);
}

const char *op_model = "model";

/* accounts alice (active, operator), bob (disabled), carol (active, no
 * such profile); profiles operator (timer, plus two entries the broker
 * must leave out; the model op_model and three tool entries, one with a
 * mode PermissionMode lacks), guest, batch (not interactive). */
const uint8_t ssh_keys[4][32] = {{1, 1}, {2, 2}, {3, 3}, {4, 4}};

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

uint8_t *cbuf, *rbuf;

static struct k_process *p_audit, *p_creds, *p_sm, *p_broker;
struct k_process *p_client;
static uint32_t sm_caps0, broker_caps0;

/* Give p a fresh raw endpoint as name; returns its CapId. */
uint32_t world_add_endpoint(struct k_process *p, const char *name)
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
void world_add_timer(struct k_process *p, const char *name)
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

void world_up(int (*client_main)(capos_capset_t *))
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
    uint32_t a_raw = world_add_endpoint(p_audit, "ep");
    uint32_t c_raw = world_add_endpoint(p_creds, "ep");

    uint32_t sm_raw = world_add_endpoint(p_sm, "sessions");
    uint32_t ssh_raw = world_add_endpoint(p_sm, "sshGateway");
    uint32_t keys_raw = world_add_endpoint(p_sm, "authorizedKeys");
    add_facet(p_sm, "creds", p_creds, c_raw, 0,
              CAPOS_CREDENTIAL_STORE_INTERFACE_ID);
    add_facet(p_sm, "audit", p_audit, a_raw, 2, CAPOS_AUDIT_LOG_INTERFACE_ID);
    world_add_timer(p_sm, "timer");
    add_boot(p_sm, "boot");

    uint32_t b_raw = world_add_endpoint(p_broker, "broker");
    add_facet(p_broker, "sessions", p_sm, sm_raw, 0,
              CAPOS_SESSION_MANAGER_INTERFACE_ID);
    add_facet(p_broker, "audit", p_audit, a_raw, 3,
              CAPOS_AUDIT_LOG_INTERFACE_ID);
    add_boot(p_broker, "boot");
    add_boot(p_broker, "bootcopy");
    world_add_timer(p_broker, "timer");
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
    world_add_timer(p_client, "timer");
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

void world_down(void)
{
    k_process_exit(p_broker, 0);
    k_process_exit(p_sm, 0);
    k_process_exit(p_creds, 0);
    k_process_exit(p_audit, 0);
    h_down(); /* asserts no object, thread or process is left */
}

void world_bufs(void)
{
    if (!cbuf) {
        cbuf = capos_alloc(4096);
        rbuf = capos_alloc(4096);
    }
}

/* CALL method on cap with the message in b and caps xfer[0..nx) (copied);
 * returns the CQE (result decoded into *root when >= 0). */
CapCqe world_call(capos_cap_t cap, uint16_t method, capnp_builder *b,
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
capos_cap_t world_result_cap(const CapCqe *c, unsigned i)
{
    CapTransferResult rec;
    memcpy(&rec, rbuf + CAP_ALIGN8((uint32_t)c->result) + i * sizeof rec,
           sizeof rec);
    return (capos_cap_t){rec.cap_id, rec.interface_id};
}

uint16_t world_exc_type_of(const CapCqe *c)
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
int world_login(capos_cap_t sm, const char *user, const char *pw,
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
    CapCqe c = world_call(sm, CAPOS_SESSION_MANAGER_LOGIN_METHOD_ID, &b, NULL,
                          0, &msg, &root);
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
        *session = world_result_cap(&c, 0);
    } else {
        *retry_ms = capos_LoginResult_denied_get_retryAfterMs(&lr);
    }
    return w;
}

struct world_info_seen info_seen;

/* UserSession.info into info_seen; returns the CQE (for exceptions). */
CapCqe world_info(capos_cap_t s)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message msg;
    capnp_struct root, in;
    capnp_builder_init(&b, cbuf, 4096);
    capnp_init_root(&b, 0, 0, &p);
    CapCqe c = world_call(s, CAPOS_USER_SESSION_INFO_METHOD_ID, &b, NULL, 0,
                          &msg, &root);
    memset(&info_seen, 0, sizeof info_seen);
    if (c.result >= 0 &&
        capos_UserSession_info_Results_get_info(&root, &in) == 0) {
        world_text(&in, capos_SessionInfo_get_username, info_seen.user, 32);
        world_text(&in, capos_SessionInfo_get_profile, info_seen.profile, 32);
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

CapCqe world_logout(capos_cap_t s)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, cbuf, 4096);
    capnp_init_root(&b, 0, 0, &p);
    return world_call(s, CAPOS_USER_SESSION_LOGOUT_METHOD_ID, &b, NULL, 0, NULL,
                      NULL);
}

uint64_t world_now(capos_cap_t timer)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message msg;
    capnp_struct root;
    capnp_builder_init(&b, cbuf, 4096);
    capnp_init_root(&b, 0, 0, &p);
    CapCqe c =
        world_call(timer, CAPOS_TIMER_NOW_METHOD_ID, &b, NULL, 0, &msg, &root);
    return c.result >= 0 ? capos_Timer_now_Results_get_ns(&root) : 0;
}

capos_cap_t world_find(capos_capset_t *caps, const char *name)
{
    capos_cap_t c = {0, 0};
    capos_capset_find(caps, name, 0, &c);
    return c;
}
