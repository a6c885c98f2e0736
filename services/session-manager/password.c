/*
 * password.c - session-manager's SessionManager.login (password):
 * decode, throttle, verify with the CredentialStore, plan the session
 * from its account and profile and issue its facet; the denials and the
 * session plumbing sshkey.c shares.
 */
#include <stdio.h>
#include <string.h>

#include "session_manager.h"

/* Answer a login with a denial (after the audit record). */
/* The LoginResult of call (login or sshPublicKey: the same layout, but
 * each is built with its own generated names). */
static void login_result(capos_server_call_t *call, bool ssh,
                         capnp_struct_builder *lr)
{
    capnp_struct_builder res;
    if (ssh) {
        capos_SessionManager_sshPublicKey_Results_init_root(call->result, &res);
        capos_SessionManager_sshPublicKey_Results_init_result(&res, lr);
    } else {
        capos_SessionManager_login_Results_init_root(call->result, &res);
        capos_SessionManager_login_Results_init_result(&res, lr);
    }
}

/* Deny a login (ssh: an sshPublicKey) with audit code (principal blank),
 * counting a failure against src when counts. */
int password_deny_as(struct sm *m, capos_server_call_t *call, const char *code,
                     uint16_t outcome, struct throttle *src, bool counts,
                     bool ssh)
{
    if (counts)
        throttle_fail(src);
    sm_audit(m, "auth", code, outcome, "", NULL,
             ssh ? "ssh public-key login refused" : "password login refused");
    capnp_struct_builder lr;
    login_result(call, ssh, &lr);
    capos_LoginResult_init_denied(&lr);
    capos_LoginResult_denied_set_retryAfterMs(
        &lr, (uint32_t)(throttle_wait(src) / 1000000u));
    return CAPOS_SERVE_REPLY;
}

static int deny(struct sm *m, capos_server_call_t *call, const char *code,
                uint16_t outcome, struct throttle *src, bool counts)
{
    return password_deny_as(m, call, code, outcome, src, counts, false);
}

/* Ask the CredentialStore; returns the verdict or -1 if it failed. The
 * params buffer held the password: it is zeroed before return. */
static int verify(struct sm *m, const char *user, const uint8_t *pw,
                  size_t pwlen)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message msg;
    capnp_struct root;
    capnp_builder_init(&b, m->pbuf, CALL_BUF);
    capos_CredentialStore_verifyPassword_Params_init_root(&b, &p);
    capos_CredentialStore_verifyPassword_Params_set_username(&p, user,
                                                             strlen(user));
    capos_CredentialStore_verifyPassword_Params_set_password(&p, pw, pwlen);
    int r = capos_rt_call_capnp(
        m->creds, CAPOS_CREDENTIAL_STORE_VERIFY_PASSWORD_METHOD_ID, &b, m->rbuf,
        CALL_BUF, &msg, &root);
    memset(m->pbuf, 0, CALL_BUF);
    if (r < 0)
        return -1;
    return capos_CredentialStore_verifyPassword_Results_get_verdict(&root);
}

static const char *status_code(uint16_t status)
{
    switch (status) {
    case CAPOS_ACCOUNT_STATUS_DISABLED:
        return "password-account-disabled";
    case CAPOS_ACCOUNT_STATUS_LOCKED:
        return "password-account-locked";
    default:
        return "password-account-recovery-only";
    }
}

/* Decode login's params into *q. Returns true, or false with *verdict
 * the invalidArgument refusal. */
static bool decode_login(capos_server_call_t *call, struct login_req *q,
                         int *verdict)
{
    const capnp_struct *pr = &call->params_root;
    const char *s;
    size_t n;
    capnp_struct lsrc;
    const char *why = NULL;
    if (capos_SessionManager_login_Params_get_username(pr, &s, &n) != 0 ||
        n == 0 || !sm_copy_text(s, n, q->user, USERNAME_MAX))
        why = "SessionManager.login: username must be 1 to 64 bytes";
    else if (capos_SessionManager_login_Params_get_password(pr, &q->pw,
                                                            &q->pwlen) != 0 ||
             q->pwlen > PASSWORD_MAX)
        why = "SessionManager.login: password must be at most 1024 bytes";
    else if (capos_SessionManager_login_Params_get_source(pr, &lsrc) != 0 ||
             capos_LoginSource_get_peer(&lsrc, &s, &n) != 0 ||
             !sm_copy_text(s, n, q->peer, PEER_MAX))
        why = "SessionManager.login: source.peer must be at most 64 bytes";
    if (why) {
        *verdict = capos_server_invalid(call, why);
        return false;
    }
    q->transport = capos_LoginSource_get_transport(&lsrc);
    q->conn = capos_LoginSource_get_connectionId(&lsrc);
    return true;
}

/* Verify q's password, throttled per source src. Returns true when it
 * is right; false with *verdict the denial (audited, counted against
 * src where a guess was made). */
static bool check_password(struct sm *m, capos_server_call_t *call,
                           const struct login_req *q, struct throttle *src,
                           int *verdict)
{
    /* Throttle before the verifier sees the password: a guessing source
     * gets at most one guess per backoff period. */
    sm_sleep_ns(m, throttle_wait(src));
    switch (verify(m, q->user, q->pw, q->pwlen)) {
    case CAPOS_PASSWORD_VERDICT_VERIFIED:
        return true;
    case CAPOS_PASSWORD_VERDICT_UNKNOWN_USER:
        *verdict = deny(m, call, "password-unknown-user",
                        CAPOS_AUDIT_OUTCOME_DENIED, src, true);
        return false;
    case CAPOS_PASSWORD_VERDICT_BAD_PASSWORD:
        *verdict = deny(m, call, "password-bad-password",
                        CAPOS_AUDIT_OUTCOME_DENIED, src, true);
        return false;
    case CAPOS_PASSWORD_VERDICT_THROTTLED:
        *verdict = deny(m, call, "password-throttled",
                        CAPOS_AUDIT_OUTCOME_DENIED, src, true);
        return false;
    default:
        *verdict = deny(m, call, "password-verifier-failed",
                        CAPOS_AUDIT_OUTCOME_ERROR, src, false);
        return false;
    }
}

/* The facts of session t: account acct, profile prof, login q. */
void password_fill_session(struct sm *m, const struct login_req *q,
                           const capnp_struct *acct, const capnp_struct *prof,
                           struct session *t)
{
    const uint8_t *pid;
    const char *s;
    size_t pidlen, n;
    if (capos_Account_get_principalId(acct, &pid, &pidlen) == 0 &&
        pidlen <= PRINCIPAL_MAX) {
        memcpy(t->principal, pid, pidlen);
        t->principal_len = (uint32_t)pidlen;
    }
    if (capos_Account_get_displayName(acct, &s, &n) == 0)
        sm_copy_text(s, n < TEXT_MAX ? n : TEXT_MAX, t->display, TEXT_MAX);
    memcpy(t->username, q->user, sizeof q->user);
    t->kind = capos_SessionProfile_get_kind(prof);
    t->strength = CAPOS_AUTH_STRENGTH_PASSWORD;
    t->transport = q->transport;
    memcpy(t->peer, q->peer, sizeof q->peer);
    t->connection_id = q->conn;
    t->created_ns = sm_now_ns(m);
    uint64_t life = capos_SessionProfile_get_lifetimeSeconds(prof);
    t->expires_ns = life ? t->created_ns + life * 1000000000ull : 0;
}

/* Fill session *t of verified login q from its account and profile and
 * pick its free slot *ss. Returns true, or false with *verdict the
 * denial (failing closed, upstream: missing or inactive accounts get
 * none) or the `overloaded` refusal. Nothing is changed yet. */
static bool plan_session(struct sm *m, capos_server_call_t *call,
                         const struct login_req *q, struct throttle *src,
                         struct session *t, struct session **ss, int *verdict)
{
    capnp_struct acct, prof;
    const char *s, *code = NULL;
    size_t n;
    uint16_t status = CAPOS_ACCOUNT_STATUS_ACTIVE;
    memset(t, 0, sizeof *t);
    if (!sm_find_account(m, q->user, &acct))
        code = "password-account-missing";
    else if ((status = capos_Account_get_status(&acct)) !=
             CAPOS_ACCOUNT_STATUS_ACTIVE)
        code = status_code(status);
    if (code) {
        *verdict = deny(m, call, code, CAPOS_AUDIT_OUTCOME_DENIED, src, false);
        return false;
    }
    *ss = NULL;
    for (unsigned i = 0; i < SESSIONS_MAX && !*ss; i++)
        if (!m->sessions[i].live)
            *ss = &m->sessions[i];
    if (!*ss) {
        *verdict = capos_server_fail(call, CAPOS_EXC_OVERLOADED,
                                     "SessionManager.login: too many live "
                                     "sessions (%u); log one out",
                                     SESSIONS_MAX);
        return false;
    }
    if (capos_Account_get_defaultProfile(&acct, &s, &n) != 0 ||
        !sm_copy_text(s, n, t->profile, TEXT_MAX) ||
        !sm_find_profile(m, t->profile, &prof)) {
        *verdict = deny(m, call, "password-profile-unknown",
                        CAPOS_AUDIT_OUTCOME_DENIED, src, false);
        return false;
    }
    password_fill_session(m, q, &acct, &prof, t);
    return true;
}

/* Start planned session t in slot ss: mint its facet and answer it
 * (moved); src's failures are forgiven; audited auth=password-login. */
int password_issue_session(struct sm *m, capos_server_call_t *call,
                           struct throttle *src, struct session *t,
                           struct session *ss)
{
    bool ssh = t->strength == CAPOS_AUTH_STRENGTH_PUBLIC_KEY;
    t->badge = SESSION_BADGE_BIT | ++m->next_badge;
    capos_cap_t facet;
    int r = sm_mint_facet(m, t->badge, &facet);
    if (r < 0)
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "SessionManager.login: could not mint the "
                                 "session facet (%d)",
                                 r);
    int idx = capos_server_add_cap(call, facet.id, CAP_XFER_MOVE);
    if (idx < 0) {
        capos_rt_release(facet);
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "SessionManager.login: no room for the "
                                 "session cap");
    }
    sessions_new_id(m, t);
    t->live = true;
    *ss = *t;
    throttle_forgive(src);
    sm_audit(m, "auth", ssh ? "ssh-publickey-login" : "password-login",
             CAPOS_AUDIT_OUTCOME_ALLOWED, ss->username, ss,
             ssh ? "ssh public-key login" : "password login");
    capnp_struct_builder lr;
    login_result(call, ssh, &lr);
    capos_LoginResult_set_session(&lr, (uint32_t)idx);
    return CAPOS_SERVE_REPLY;
}

/* SessionManager.login: decode, verify and plan everything, then start
 * the session. */
int password_login(struct sm *m, capos_server_call_t *call)
{
    struct login_req q;
    struct session t, *ss;
    int verdict;
    if (!decode_login(call, &q, &verdict))
        return verdict;
    struct throttle src = throttle_of(m, q.user, q.peer);
    if (!check_password(m, call, &q, &src, &verdict) ||
        !plan_session(m, call, &q, &src, &t, &ss, &verdict))
        return verdict;
    return password_issue_session(m, call, &src, &t, ss);
}
