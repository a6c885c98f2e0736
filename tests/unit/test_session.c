/*
 * test_session.c - session-manager and authority-broker
 * (services/session-manager, services/authority-broker) driven by a
 * client process, with a fake CredentialStore and a recording AuditLog:
 * logins, audit records without passwords, backoff on the virtual clock,
 * logout invalidating every copy, validation against forgeries, and the
 * broker's bundles and refusals. The kernel methods behind sessions
 * (Endpoint.mintClient / identify, docs/abi.md §10.1) are checked too.
 * The world they run in is session_world.c.
 */
#include <stdio.h>
#include <string.h>

#include "session_world.h"

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
    world_bufs();
    capos_cap_t sm = world_find(caps, "sessions"),
                timer = world_find(caps, "timer");
    capos_cap_t s = {0, 0}, other;
    uint32_t retry = 0;

    ls.ok_which = world_login(sm, "alice", PW_RIGHT, "", &s, &retry);
    CapCqe c = world_info(s);
    ls.ok_info = c.result;
    memcpy(ls.user, info_seen.user, 32);
    memcpy(ls.profile, info_seen.profile, 32);
    ls.kind = info_seen.kind;
    ls.strength = info_seen.strength;
    ls.expires = info_seen.expires;
    ls.created = info_seen.created;
    ls.principal_ok = memcmp(info_seen.principal, alice_principal, 32) == 0;

    ls.unknown_which = world_login(sm, "mallory", PW_WRONG, "", &other, &retry);
    ls.disabled_which = world_login(sm, "bob", PW_RIGHT, "", &other, &retry);
    ls.noprofile_which = world_login(sm, "carol", PW_RIGHT, "", &other, &retry);

    /* Backoff: a fresh address, wrong passwords, each from a new port (a
     * reconnect), timed on the virtual clock. */
    for (int i = 0; i < 5; i++) {
        char peer[32];
        snprintf(peer, sizeof peer, "10.0.0.1:%d", 4000 + i);
        uint64_t t0 = world_now(timer);
        ls.wrong_which[i] =
            world_login(sm, "alice", PW_WRONG, peer, &other, &ls.retry[i]);
        ls.delay[i] = world_now(timer) - t0;
    }
    /* Another address and another account: not slowed down. */
    uint64_t t0 = world_now(timer);
    world_login(sm, "dave", PW_WRONG, "10.0.0.2:4000", &other, &retry);
    ls.other_source_delay = world_now(timer) - t0;
    /* The same account from another address: slowed by the account. */
    t0 = world_now(timer);
    world_login(sm, "alice", PW_WRONG, "10.0.0.3:1", &other, &retry);
    ls.other_address_delay = world_now(timer) - t0;
    t0 = world_now(timer);
    ls.after_which =
        world_login(sm, "alice", PW_RIGHT, "10.0.0.1:4000", &other, &retry);
    ls.delay[5] = world_now(timer) - t0;
    t0 = world_now(timer);
    capos_cap_t third;
    world_login(sm, "alice", PW_WRONG, "10.0.0.1:4000", &third, &retry);
    ls.after_delay = world_now(timer) - t0;
    world_logout(other);
    capos_rt_release(other);

    /* Logout ends the session for every holder (the broker test checks
     * a copy held elsewhere). */
    ls.empty_user_r = world_login(sm, "", PW_RIGHT, "", &other, &retry);
    ls.logout_r = world_logout(s).result;
    c = world_info(s);
    ls.after_logout_r = c.result;
    ls.after_logout_exc = world_exc_type_of(&c);
    c = world_logout(s);
    ls.relogout_r = c.result;
    ls.relogout_exc = world_exc_type_of(&c);
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
    CapCqe c = world_call(broker, CAPOS_AUTHORITY_BROKER_SHELL_BUNDLE_METHOD_ID,
                          &b, &session.id, 1, &msg, &root);
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
            *bsession = world_result_cap(&c, si);
            keep[si] = true;
        }
        capnp_list l;
        bs.nnames = 0;
        if (capos_ShellBundle_get_serviceEndpoints(&bun, &l) == 0)
            for (uint32_t i = 0; i < capnp_list_len(&l) && i < 8; i++) {
                capnp_struct nc;
                uint32_t ci = CAPNP_CAP_NULL;
                capnp_list_get_struct(&l, i, &nc);
                world_text(&nc, capos_NamedCap_get_name, bs.names[i], 32);
                capos_NamedCap_get_cap(&nc, &ci);
                bs.nnames++;
                if (strcmp(bs.names[i], "timer") == 0 && ci < c.cap_count) {
                    *btimer = world_result_cap(&c, ci);
                    keep[ci] = true;
                }
                if (strcmp(bs.names[i], "counter") == 0 && ci < c.cap_count)
                    bs.counter_iface = world_result_cap(&c, ci).interface_id;
            }
        bs.ncaps = c.cap_count;
        uint32_t mi = CAPNP_CAP_NULL;
        if (capos_ShellBundle_get_languageModel(&bun, &mi) == 0 &&
            mi < c.cap_count)
            bs.model_iface = world_result_cap(&c, mi).interface_id;
        if (capos_ShellBundle_get_toolPermissions(&bun, &l) == 0)
            for (uint32_t i = 0; i < capnp_list_len(&l) && i < 4; i++) {
                capnp_struct tp;
                capnp_list_get_struct(&l, i, &tp);
                world_text(&tp, capos_ToolPermission_get_tool, bs.tools[i], 32);
                bs.modes[i] = capos_ToolPermission_get_mode(&tp);
                bs.ntools++;
            }
    }
    for (unsigned i = 0; i < c.cap_count && i < CAP_XFER_MAX; i++)
        if (!keep[i])
            capos_rt_release(world_result_cap(&c, i));
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
    CapCqe c = world_call(sm, CAPOS_SESSION_MANAGER_VALIDATE_METHOD_ID, &b,
                          &cap.id, 1, &msg, &root);
    if (c.result < 0)
        return c.result;
    if (capos_SessionManager_validate_Results_get_result(&root, &v) < 0)
        return -996;
    return capos_SessionValidation_which(&v);
}

static int broker_client(capos_capset_t *caps)
{
    world_bufs();
    capos_cap_t sm = world_find(caps, "sessions"),
                broker = world_find(caps, "broker");
    capos_cap_t s = {0, 0}, bsession = {0, 0}, btimer = {0, 0}, none;
    uint32_t retry;
    if (world_login(sm, "alice", PW_RIGHT, "", &s, &retry) != 0)
        return 1;
    bs.validate_ok_which = validate_which(sm, s);
    /* A SessionManager facet is not a session, nor is a foreign cap. */
    bs.validate_forged_which = validate_which(sm, broker);
    bs.which = bundle(broker, s, "operator", &bs.denial, &bsession, &btimer);
    bs.bundle_session_info = world_info(bsession).result;
    bs.session_iface = bsession.interface_id;
    memcpy(bs.bundle_session_user, info_seen.user, 32);
    bs.timer_iface = btimer.interface_id;
    {
        capnp_builder b;
        capnp_struct_builder p;
        capnp_builder_init(&b, cbuf, 4096);
        capnp_init_root(&b, 0, 0, &p);
        bs.timer_call = btimer.id
                            ? world_call(btimer, CAPOS_TIMER_NOW_METHOD_ID, &b,
                                         NULL, 0, NULL, NULL)
                                  .result
                            : -1;
    }
    capos_rt_release(btimer);

    bundle(broker, s, "guest", &bs.mismatch, &none, &none);
    bundle(broker, s, "nosuch", &bs.unknown, &none, &none);
    bundle(broker, sm, "operator", &bs.forged, &none, &none);
    world_logout(s);
    /* The bundle's copy of the session died with it. */
    CapCqe c = world_info(bsession);
    bs.copy_after_logout_exc = world_exc_type_of(&c);
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
    world_bufs();
    capos_cap_t ep = world_find(caps, "ep"), timer = world_find(caps, "timer");
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message msg;
    capnp_struct root;
    capnp_builder_init(&b, cbuf, 4096);
    capos_Endpoint_mintClient_Params_init_root(&b, &p);
    capos_Endpoint_mintClient_Params_set_badge(&p, 0x77);
    CapCqe c = world_call(ep, CAPOS_ENDPOINT_MINT_CLIENT_METHOD_ID, &b, NULL, 0,
                          &msg, &root);
    km.mint_r = c.result;
    km.mint_caps = c.cap_count;
    capos_cap_t facet = world_result_cap(&c, 0);
    for (int i = 0; i < 2; i++) {
        capos_cap_t which = i == 0 ? facet : timer;
        capnp_builder_init(&b, cbuf, 4096);
        capos_Endpoint_identify_Params_init_root(&b, &p);
        capos_Endpoint_identify_Params_set_cap(&p, 0);
        c = world_call(ep, CAPOS_ENDPOINT_IDENTIFY_METHOD_ID, &b, &which.id, 1,
                       &msg, &root);
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
    c = world_call(ep, 9, &b, NULL, 0, NULL, NULL);
    km.bad_method_r = c.result;
    km.bad_method_exc = world_exc_type_of(&c);
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
    world_add_endpoint(p, "ep");
    world_add_timer(p, "timer");
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
    CapCqe c = world_call(sm, CAPOS_SESSION_MANAGER_SSH_PUBLIC_KEY_METHOD_ID,
                          &b, NULL, 0, &msg, &root);
    if (c.result < 0)
        return c.result;
    if (capos_SessionManager_sshPublicKey_Results_get_result(&root, &lr) < 0)
        return -996;
    int w = capos_LoginResult_which(&lr);
    if (w == CAPOS_LOGIN_RESULT_WHICH_SESSION)
        *session = world_result_cap(&c, 0);
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
    CapCqe c = world_call(store, CAPOS_AUTHORIZED_KEY_STORE_LOOKUP_METHOD_ID,
                          &b, NULL, 0, &msg, &root);
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
    world_bufs();
    capos_cap_t sm = world_find(caps, "sessions"),
                gw = world_find(caps, "sshGateway");
    capos_cap_t s = {0, 0}, other;
    capos_cap_t store = world_find(caps, "authorizedKeys");
    ks.lookup_found = key_lookup(store, ssh_keys[0], &ks.enabled_flag);
    ks.lookup_disabled = key_lookup(store, ssh_keys[1], &ks.disabled_flag);
    ks.lookup_unknown = key_lookup(store, ssh_keys[3], &ks.disabled_flag);
    ks.via_sessions = ssh_login(sm, "alice", ssh_keys[0], &other);
    ks.ok = ssh_login(gw, "alice", ssh_keys[0], &s);
    world_info(s);
    ks.strength = info_seen.strength;
    memcpy(ks.user, info_seen.user, 32);
    memcpy(ks.profile, info_seen.profile, 32);
    ks.unknown = ssh_login(gw, "alice", ssh_keys[3], &other);
    ks.disabled = ssh_login(gw, "alice", ssh_keys[1], &other);
    ks.guest_only = ssh_login(gw, "alice", ssh_keys[2], &other);
    /* The key names alice's principal: another login name is refused. */
    ks.other_user = ssh_login(gw, "carol", ssh_keys[0], &other);
    world_logout(s);
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
