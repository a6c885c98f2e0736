/*
 * session-manager - SessionManager and the UserSessions it mints
 * (builtin "session-manager").
 *
 * Caps: "sessions" (Endpoint, required: serves SessionManager to the
 * facets init hands importers, and UserSession to the facets this
 * service mints itself), "creds" (CredentialStore, required), "boot"
 * (BootPackage: kernelParams.accounts and .profiles; without it every
 * login fails closed), "audit" (AuditLog), "timer" (Timer: login times,
 * expiry and the failure backoff), "entropy" (EntropySource: session
 * ids), "console" (Console: startup problems only). All but the first two
 * are optional.
 *
 * Session identity (docs/abi.md §10.1): each session is one badged client
 * facet of the "sessions" endpoint, minted with Endpoint.mintClient; the
 * badge (SESSION_BADGE_BIT | a counter, never reused) selects the session.
 * Copies of the facet carry the badge, so they all name the same session;
 * after logout the badge is dead and every call through any copy gets a
 * `disconnected` CapException. validate() asks the kernel
 * (Endpoint.identify) whether the cap it was handed is a facet of this
 * endpoint and with which badge, so a session cannot be forged by another
 * server answering UserSession.info. Facets init gives importers carry
 * manifest badges, which must stay below 2^63 (SESSION_BADGE_BIT): those
 * calls are SessionManager calls.
 *
 * Failed logins: an audit record (category "auth", principal blank, no
 * password) and a backoff keyed by the peer's address (not its port or
 * transport: reconnecting does not reset it) and by the account name:
 * from the BACKOFF_FREE-th consecutive failure of either, each password
 * answer waits BACKOFF_BASE_NS << (failures - BACKOFF_FREE) of the
 * larger count, at most BACKOFF_MAX_NS, on the Timer before the password
 * is even checked. A success resets both. SSH key denials count too; a
 * key login does not wait (the gateway bounds tries per connection). The wait
 * holds the whole service (one call at a time).
 *
 * Audit codes (capos-sim choices; upstream states none for passwords):
 * auth=password-login (allowed), auth=password-unknown-user,
 * password-bad-password, password-throttled, password-account-missing,
 * password-account-disabled, password-account-locked,
 * password-account-recovery-only, password-profile-unknown,
 * password-verifier-failed (denied or error), session=session-logout.
 *
 * AuthorizedKeyStore.lookup on the optional "authorizedKeys" endpoint
 * (exported to the SSH gateway for key probes).
 *
 * sshPublicKey (docs/ssh.md "Key to principal"): only through the
 * optional "sshGateway" endpoint's facets; kernelParams.authorizedKeys
 * record, its disabled flag, the principal's account and status, the
 * profile, before any session; every denial audited with the principal
 * blank (auth=ssh-key-unknown, ssh-key-disabled,
 * ssh-key-profile-not-allowed, ssh-account-missing, ssh-account-disabled,
 * ssh-account-locked, ssh-account-recovery-only, ssh-profile-unknown) and
 * counted against the source's backoff; auth=ssh-publickey-login on
 * success.
 *
 * Not yet: anonymous, guest (unimplemented), an AccountStoreReader
 * instead of the boot seed accounts.
 */
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "capos_rt.h"
#include "manifest.h"
#include "server.h"

#define SESSION_BADGE_BIT (1ull << 63)
#define SESSIONS_MAX 64u
#define SOURCES_MAX 32u
#define USERNAME_MAX 64u
#define PASSWORD_MAX 1024u
#define PEER_MAX 64u
#define TEXT_MAX 128u
#define PRINCIPAL_MAX 32u
#define SESSION_ID_LEN 16u

#define BACKOFF_FREE 3u               /* failures before any delay */
#define BACKOFF_BASE_NS 1000000000ull /* 1 s */
#define BACKOFF_MAX_NS 32000000000ull /* 32 s */

#define CALL_BUF 4096u

/* The endpoints served (capos_serve_set's index): the SessionManager
 * facets of importers, the SSH gateway's own SessionManager facet, and
 * AuthorizedKeyStore for the gateway (both optional; "authorizedKeys"
 * only with "sshGateway"). */
enum { EP_SESSIONS, EP_SSH, EP_KEYS, EP_COUNT };

struct session {
    bool live;
    uint64_t badge;
    uint8_t id[SESSION_ID_LEN];
    uint8_t principal[PRINCIPAL_MAX];
    uint32_t principal_len;
    char username[USERNAME_MAX + 1];
    char display[TEXT_MAX + 1];
    char profile[TEXT_MAX + 1];
    uint16_t kind;
    uint16_t strength;
    uint16_t transport;
    char peer[PEER_MAX + 1];
    uint64_t connection_id;
    uint64_t created_ns;
    uint64_t expires_ns;
};

struct source {
    bool used;
    /* transport: the record's kind ('a' address, 'u' account); peer: its
     * key (docs/ssh.md "Throttling"). */
    uint16_t transport;
    char peer[PEER_MAX + 1];
    uint32_t failures;
    uint64_t last_use; /* for eviction: a counter, not time */
};

struct throttle {
    struct source *addr, *acct;
};

struct sm {
    capos_cap_t ep, creds, audit, timer, entropy, console;
    bool have_audit, have_timer, have_entropy, have_console;
    uint8_t *manifest; /* the boot manifest, or NULL */
    size_t manifest_len;
    capnp_message mmsg;
    capnp_struct kparams;
    bool have_kparams;
    struct session sessions[SESSIONS_MAX];
    struct source sources[SOURCES_MAX];
    uint64_t next_badge; /* counter part of the next session badge */
    uint64_t use_clock;
    uint8_t *pbuf, *rbuf; /* params and results of our own calls */
};

/* Copy a Text field read by getter into dst (cap+1 bytes); false if it is
 * missing a terminator budget (longer than cap) or does not decode. */
static bool copy_text(const char *s, size_t n, char *dst, size_t cap)
{
    if (n > cap)
        return false;
    memcpy(dst, s, n);
    dst[n] = 0;
    return true;
}

static void say(struct sm *m, const char *line)
{
    if (!m->have_console)
        return;
    capos_console_printf(m->console, "%s", line);
}

/* The Timer's now, or 0 without a timer. */
static uint64_t now_ns(struct sm *m)
{
    if (!m->have_timer)
        return 0;
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message msg;
    capnp_struct root;
    capnp_builder_init(&b, m->pbuf, CALL_BUF);
    capnp_init_root(&b, 0, 0, &p);
    if (capos_rt_call_capnp(m->timer, CAPOS_TIMER_NOW_METHOD_ID, &b, m->rbuf,
                            CALL_BUF, &msg, &root) < 0)
        return 0;
    return capos_Timer_now_Results_get_ns(&root);
}

static void sleep_ns(struct sm *m, uint64_t ns)
{
    if (!m->have_timer || ns == 0)
        return;
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, m->pbuf, CALL_BUF);
    capos_Timer_sleep_Params_init_root(&b, &p);
    capos_Timer_sleep_Params_set_ns(&p, ns);
    capos_rt_call_capnp(m->timer, CAPOS_TIMER_SLEEP_METHOD_ID, &b, m->rbuf,
                        CALL_BUF, NULL, NULL);
}

/*
 * Append one audit record (the log sets sequence, time and source). Never
 * pass secrets: callers give codes, usernames on success only, session
 * ids. Best effort: a log that refuses is not a reason to refuse a login.
 */
static void audit(struct sm *m, const char *category, const char *code,
                  uint16_t outcome, const char *principal,
                  const struct session *s, const char *detail)
{
    if (m->have_audit)
        (void)capos_audit_append_session(m->audit, category, code, outcome,
                                         principal, s ? s->id : NULL,
                                         s ? SESSION_ID_LEN : 0, detail);
}

/* ---- kernel Endpoint methods (docs/abi.md §10.1) ---------------------- */

/* A new UserSession facet of our endpoint with badge (typed, so every
 * holder's CapSet and records say UserSession). Returns 0 and *out, or a
 * negative code. */
static int mint_facet(struct sm *m, uint64_t badge, capos_cap_t *out)
{
    return capos_endpoint_mint_typed(m->ep, badge,
                                     CAPOS_USER_SESSION_INTERFACE_ID, m->pbuf,
                                     m->rbuf, CALL_BUF, out);
}

/*
 * Is cap a facet of our endpoint? The cap is moved to the kernel (so it
 * is gone afterwards, whatever the answer). Returns 1 and *badge, 0 for a
 * foreign cap, or a negative code.
 */
static int identify(struct sm *m, capos_cap_t cap, uint64_t *badge)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, m->pbuf, CALL_BUF);
    capos_Endpoint_identify_Params_init_root(&b, &p);
    capos_Endpoint_identify_Params_set_cap(&p, 0);
    size_t len = 0;
    int r = capnp_finish(&b, &len);
    if (r < 0)
        return r;
    CapTransferDescriptor d = {.cap_id = cap.id, .mode = CAP_XFER_MOVE};
    memcpy(m->pbuf + CAP_ALIGN8(len), &d, sizeof d);
    CapSqe s = {.opcode = CAP_OP_CALL,
                .cap_id = m->ep.id,
                .method_id = CAPOS_ENDPOINT_IDENTIFY_METHOD_ID,
                .addr = capos_va(m->pbuf),
                .len = (uint32_t)len,
                .xfer_cap_count = 1,
                .result_addr = capos_va(m->rbuf),
                .result_len = CALL_BUF};
    CapCqe c;
    r = capos_rt_call(&s, &c);
    if (r < 0) {
        capos_rt_release(cap); /* never reached the kernel */
        return r;
    }
    if (c.result < 0) {
        capos_rt_release(cap); /* the move rolled back: still ours */
        return c.result;
    }
    capnp_message msg;
    capnp_struct root;
    if ((r = capnp_msg_init(&msg, m->rbuf, (size_t)c.result, NULL)) < 0 ||
        (r = capnp_msg_root(&msg, &root)) < 0)
        return r;
    *badge = capos_Endpoint_identify_Results_get_badge(&root);
    return capos_Endpoint_identify_Results_get_own(&root) ? 1 : 0;
}

/* ---- the manifest ------------------------------------------------------ */

/* Find the seed account called username; false if there is none. */
static bool find_account(struct sm *m, const char *username, capnp_struct *out)
{
    capnp_list l;
    if (!m->have_kparams || capos_KernelParams_get_accounts(&m->kparams, &l))
        return false;
    for (uint32_t i = 0; i < capnp_list_len(&l); i++) {
        const char *s;
        size_t n;
        if (capnp_list_get_struct(&l, i, out) == 0 &&
            capos_Account_get_username(out, &s, &n) == 0 &&
            n == strlen(username) && memcmp(s, username, n) == 0)
            return true;
    }
    return false;
}

static bool find_profile(struct sm *m, const char *name, capnp_struct *out)
{
    capnp_list l;
    if (!m->have_kparams || capos_KernelParams_get_profiles(&m->kparams, &l))
        return false;
    for (uint32_t i = 0; i < capnp_list_len(&l); i++) {
        const char *s;
        size_t n;
        if (capnp_list_get_struct(&l, i, out) == 0 &&
            capos_SessionProfile_get_name(out, &s, &n) == 0 &&
            n == strlen(name) && memcmp(s, name, n) == 0)
            return true;
    }
    return false;
}

/* ---- sources and backoff ---------------------------------------------- */

/* The failure record of key (kind 'a': a peer address, 'u': an account
 * name), made if new by evicting the least recently used record other
 * than avoid. Never NULL. */
static struct source *source_of(struct sm *m, uint16_t kind, const char *key,
                                const struct source *avoid)
{
    struct source *lru = NULL;
    m->use_clock++;
    for (unsigned i = 0; i < SOURCES_MAX; i++) {
        struct source *s = &m->sources[i];
        if (s->used && s->transport == kind && strcmp(s->peer, key) == 0) {
            s->last_use = m->use_clock;
            return s;
        }
        if (s != avoid &&
            (!lru || !s->used || (lru->used && s->last_use < lru->last_use)))
            lru = s;
    }
    memset(lru, 0, sizeof *lru);
    lru->used = true;
    lru->transport = kind;
    snprintf(lru->peer, sizeof lru->peer, "%s", key);
    lru->last_use = m->use_clock;
    return lru;
}

/*
 * Where failed logins count: the peer's address whatever its port and
 * transport (so a reconnect does not reset it, and Telnet, SSH and later
 * gateways share it), and the account name (so a guesser moving between
 * addresses is slowed too), as OpenSSH's PerSourcePenalties keys by
 * source. peer is "a.b.c.d:port" ("" for the console).
 */
static struct throttle throttle_of(struct sm *m, const char *user,
                                   const char *peer)
{
    char addr[PEER_MAX + 1];
    snprintf(addr, sizeof addr, "%s", peer);
    char *colon = strrchr(addr, ':');
    if (colon)
        *colon = '\0';
    struct throttle t;
    t.addr = source_of(m, 'a', addr, NULL);
    t.acct = source_of(m, 'u', user, t.addr);
    return t;
}

/* The wait owed before answering a source with failures failures. */
static uint64_t backoff_ns(uint32_t failures)
{
    if (failures < BACKOFF_FREE)
        return 0;
    uint32_t shift = failures - BACKOFF_FREE;
    if (shift >= 6)
        return BACKOFF_MAX_NS;
    uint64_t d = BACKOFF_BASE_NS << shift;
    return d < BACKOFF_MAX_NS ? d : BACKOFF_MAX_NS;
}

/* The wait owed before answering t: the longer of its two records'. */
static uint64_t throttle_wait(const struct throttle *t)
{
    uint64_t a = backoff_ns(t->addr->failures),
             u = backoff_ns(t->acct->failures);
    return a > u ? a : u;
}

static void throttle_fail(struct throttle *t)
{
    if (t->addr->failures < UINT32_MAX)
        t->addr->failures++;
    if (t->acct->failures < UINT32_MAX)
        t->acct->failures++;
}

/* A success forgives the address and the account. */
static void throttle_forgive(struct throttle *t)
{
    t->addr->failures = 0;
    t->acct->failures = 0;
}

/* ---- sessions ---------------------------------------------------------- */

static struct session *session_of(struct sm *m, uint64_t badge)
{
    for (unsigned i = 0; i < SESSIONS_MAX; i++)
        if (m->sessions[i].live && m->sessions[i].badge == badge)
            return &m->sessions[i];
    return NULL;
}

/* 16 session-id bytes: from the EntropySource, else (no entropy granted)
 * derived from the badge and time. The id is metadata for audit, never
 * authority: the facet is. */
static void session_id(struct sm *m, struct session *s)
{
    memset(s->id, 0, SESSION_ID_LEN);
    if (m->have_entropy) {
        capnp_builder b;
        capnp_struct_builder p;
        capnp_message msg;
        capnp_struct root;
        capnp_builder_init(&b, m->pbuf, CALL_BUF);
        capos_EntropySource_read_Params_init_root(&b, &p);
        capos_EntropySource_read_Params_set_count(&p, SESSION_ID_LEN);
        const uint8_t *d;
        size_t n;
        if (capos_rt_call_capnp(m->entropy, CAPOS_ENTROPY_SOURCE_READ_METHOD_ID,
                                &b, m->rbuf, CALL_BUF, &msg, &root) >= 0 &&
            capos_EntropySource_read_Results_get_data(&root, &d, &n) == 0 &&
            n == SESSION_ID_LEN) {
            memcpy(s->id, d, SESSION_ID_LEN);
            return;
        }
    }
    memcpy(s->id, &s->badge, 8);
    memcpy(s->id + 8, &s->created_ns, 8);
}

static void set_info(capnp_struct_builder *info, const struct session *s)
{
    capnp_struct_builder src;
    capos_SessionInfo_set_sessionId(info, s->id, SESSION_ID_LEN);
    capos_SessionInfo_set_principalId(info, s->principal, s->principal_len);
    capos_SessionInfo_set_username(info, s->username, strlen(s->username));
    capos_SessionInfo_set_displayName(info, s->display, strlen(s->display));
    capos_SessionInfo_set_profile(info, s->profile, strlen(s->profile));
    capos_SessionInfo_set_profileKind(info, s->kind);
    capos_SessionInfo_set_authStrength(info, s->strength);
    if (capos_SessionInfo_init_source(info, &src) == 0) {
        capos_LoginSource_set_transport(&src, s->transport);
        capos_LoginSource_set_peer(&src, s->peer, strlen(s->peer));
        capos_LoginSource_set_connectionId(&src, s->connection_id);
    }
    capos_SessionInfo_set_createdNs(info, s->created_ns);
    capos_SessionInfo_set_expiresNs(info, s->expires_ns);
}

/* ---- SessionManager.login --------------------------------------------- */

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
static int deny_as(struct sm *m, capos_server_call_t *call, const char *code,
                   uint16_t outcome, struct throttle *src, bool counts,
                   bool ssh)
{
    if (counts)
        throttle_fail(src);
    audit(m, "auth", code, outcome, "", NULL,
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
    return deny_as(m, call, code, outcome, src, counts, false);
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

/* SessionManager.login's params, checked (password: in the call's
 * params, valid while the call is). */
struct login_req {
    char user[USERNAME_MAX + 1], peer[PEER_MAX + 1];
    const uint8_t *pw;
    size_t pwlen;
    uint16_t transport;
    uint64_t conn;
};

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
        n == 0 || !copy_text(s, n, q->user, USERNAME_MAX))
        why = "SessionManager.login: username must be 1 to 64 bytes";
    else if (capos_SessionManager_login_Params_get_password(pr, &q->pw,
                                                            &q->pwlen) != 0 ||
             q->pwlen > PASSWORD_MAX)
        why = "SessionManager.login: password must be at most 1024 bytes";
    else if (capos_SessionManager_login_Params_get_source(pr, &lsrc) != 0 ||
             capos_LoginSource_get_peer(&lsrc, &s, &n) != 0 ||
             !copy_text(s, n, q->peer, PEER_MAX))
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
    sleep_ns(m, throttle_wait(src));
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
static void fill_session(struct sm *m, const struct login_req *q,
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
        copy_text(s, n < TEXT_MAX ? n : TEXT_MAX, t->display, TEXT_MAX);
    memcpy(t->username, q->user, sizeof q->user);
    t->kind = capos_SessionProfile_get_kind(prof);
    t->strength = CAPOS_AUTH_STRENGTH_PASSWORD;
    t->transport = q->transport;
    memcpy(t->peer, q->peer, sizeof q->peer);
    t->connection_id = q->conn;
    t->created_ns = now_ns(m);
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
    if (!find_account(m, q->user, &acct))
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
        !copy_text(s, n, t->profile, TEXT_MAX) ||
        !find_profile(m, t->profile, &prof)) {
        *verdict = deny(m, call, "password-profile-unknown",
                        CAPOS_AUDIT_OUTCOME_DENIED, src, false);
        return false;
    }
    fill_session(m, q, &acct, &prof, t);
    return true;
}

/* Start planned session t in slot ss: mint its facet and answer it
 * (moved); src's failures are forgiven; audited auth=password-login. */
static int issue_session(struct sm *m, capos_server_call_t *call,
                         struct throttle *src, struct session *t,
                         struct session *ss)
{
    bool ssh = t->strength == CAPOS_AUTH_STRENGTH_PUBLIC_KEY;
    t->badge = SESSION_BADGE_BIT | ++m->next_badge;
    capos_cap_t facet;
    int r = mint_facet(m, t->badge, &facet);
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
    session_id(m, t);
    t->live = true;
    *ss = *t;
    throttle_forgive(src);
    audit(m, "auth", ssh ? "ssh-publickey-login" : "password-login",
          CAPOS_AUDIT_OUTCOME_ALLOWED, ss->username, ss,
          ssh ? "ssh public-key login" : "password login");
    capnp_struct_builder lr;
    login_result(call, ssh, &lr);
    capos_LoginResult_set_session(&lr, (uint32_t)idx);
    return CAPOS_SERVE_REPLY;
}

/* SessionManager.login: decode, verify and plan everything, then start
 * the session. */
static int login(struct sm *m, capos_server_call_t *call)
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
    return issue_session(m, call, &src, &t, ss);
}

/* ---- SessionManager.sshPublicKey -------------------------------------- */

#define SSH_KEY_LEN 32u /* ssh-ed25519 public keys */

/* sshPublicKey's params, checked. */
struct ssh_req {
    struct login_req q; /* user, peer, transport, connection id */
    char profile[TEXT_MAX + 1];
    const uint8_t *key;
};

/* Decode sshPublicKey's params into *r. Returns true, or false with
 * *verdict the invalidArgument refusal. */
static bool decode_ssh(capos_server_call_t *call, struct ssh_req *r,
                       int *verdict)
{
    const capnp_struct *pr = &call->params_root;
    const char *s, *why = NULL;
    size_t n, kl = 0;
    capnp_struct lsrc;
    memset(r, 0, sizeof *r);
    if (capos_SessionManager_sshPublicKey_Params_get_username(pr, &s, &n) ||
        n == 0 || !copy_text(s, n, r->q.user, USERNAME_MAX))
        why = "SessionManager.sshPublicKey: username must be 1 to 64 bytes";
    else if (capos_SessionManager_sshPublicKey_Params_get_profile(pr, &s, &n) ||
             !copy_text(s, n, r->profile, TEXT_MAX))
        why = "SessionManager.sshPublicKey: profile must be at most 128 bytes";
    else if (capos_SessionManager_sshPublicKey_Params_get_algorithm(pr, &s,
                                                                    &n) ||
             n != 11 || memcmp(s, "ssh-ed25519", 11) != 0 ||
             capos_SessionManager_sshPublicKey_Params_get_publicKey(pr, &r->key,
                                                                    &kl) ||
             kl != SSH_KEY_LEN)
        why = "SessionManager.sshPublicKey: only ssh-ed25519 keys of 32 "
              "bytes are accepted";
    else if (capos_SessionManager_sshPublicKey_Params_get_source(pr, &lsrc) ||
             capos_LoginSource_get_peer(&lsrc, &s, &n) ||
             !copy_text(s, n, r->q.peer, PEER_MAX))
        why = "SessionManager.sshPublicKey: source.peer must be at most 64 "
              "bytes";
    if (why) {
        *verdict = capos_server_invalid(call, why);
        return false;
    }
    r->q.transport = capos_LoginSource_get_transport(&lsrc);
    r->q.conn = capos_LoginSource_get_connectionId(&lsrc);
    return true;
}

/* The kernelParams.authorizedKeys record of ed25519 key (32 bytes). */
static bool find_authorized_key(struct sm *m, const uint8_t *key,
                                capnp_struct *out)
{
    capnp_list l;
    if (!m->have_kparams ||
        capos_KernelParams_get_authorizedKeys(&m->kparams, &l))
        return false;
    for (uint32_t i = 0; i < capnp_list_len(&l); i++) {
        const char *a;
        const uint8_t *k;
        size_t an, kn;
        if (capnp_list_get_struct(&l, i, out) == 0 &&
            capos_AuthorizedKey_get_algorithm(out, &a, &an) == 0 && an == 11 &&
            memcmp(a, "ssh-ed25519", 11) == 0 &&
            capos_AuthorizedKey_get_publicKey(out, &k, &kn) == 0 &&
            kn == SSH_KEY_LEN && memcmp(k, key, SSH_KEY_LEN) == 0)
            return true;
    }
    return false;
}

/* The account whose principalId is that of authorized key rec. */
static bool find_key_account(struct sm *m, const capnp_struct *rec,
                             capnp_struct *out)
{
    capnp_list l;
    const uint8_t *want, *pid;
    size_t wn, pn;
    if (!m->have_kparams || capos_KernelParams_get_accounts(&m->kparams, &l) ||
        capos_AuthorizedKey_get_principalId(rec, &want, &wn) || wn == 0)
        return false;
    for (uint32_t i = 0; i < capnp_list_len(&l); i++)
        if (capnp_list_get_struct(&l, i, out) == 0 &&
            capos_Account_get_principalId(out, &pid, &pn) == 0 && pn == wn &&
            memcmp(pid, want, wn) == 0)
            return true;
    return false;
}

/* True if profile is one of key record rec's profiles. */
static bool key_allows(const capnp_struct *rec, const char *profile)
{
    capnp_list l;
    if (capos_AuthorizedKey_get_profiles(rec, &l))
        return false;
    for (uint32_t i = 0; i < capnp_list_len(&l); i++) {
        const char *s;
        size_t n;
        if (capnp_list_get_text(&l, i, &s, &n) == 0 && n == strlen(profile) &&
            memcmp(s, profile, n) == 0)
            return true;
    }
    return false;
}

/* The denial code of an SSH key login for account status. */
static const char *ssh_status_code(uint16_t status)
{
    switch (status) {
    case CAPOS_ACCOUNT_STATUS_DISABLED:
        return "ssh-account-disabled";
    case CAPOS_ACCOUNT_STATUS_LOCKED:
        return "ssh-account-locked";
    default:
        return "ssh-account-recovery-only";
    }
}

/* Decide key login r: key record, principal, account status, profile.
 * Returns NULL with *acct and *prof set (r->profile filled in when it
 * was empty), or the denial code. */
static const char *check_ssh(struct sm *m, struct ssh_req *r,
                             capnp_struct *acct, capnp_struct *prof)
{
    capnp_struct rec;
    const char *s;
    size_t n;
    if (!find_authorized_key(m, r->key, &rec))
        return "ssh-key-unknown";
    if (capos_AuthorizedKey_get_disabled(&rec))
        return "ssh-key-disabled";
    if (!find_key_account(m, &rec, acct))
        return "ssh-account-missing";
    /* The key names a principal; the login name must be its account's. */
    if (capos_Account_get_username(acct, &s, &n) || n != strlen(r->q.user) ||
        memcmp(s, r->q.user, n) != 0)
        return "ssh-key-unknown";
    uint16_t status = capos_Account_get_status(acct);
    if (status != CAPOS_ACCOUNT_STATUS_ACTIVE)
        return ssh_status_code(status);
    if (!r->profile[0] && (capos_Account_get_defaultProfile(acct, &s, &n) ||
                           !copy_text(s, n, r->profile, TEXT_MAX)))
        return "ssh-profile-unknown";
    if (!key_allows(&rec, r->profile))
        return "ssh-key-profile-not-allowed";
    if (!find_profile(m, r->profile, prof))
        return "ssh-profile-unknown";
    return NULL;
}

/*
 * SessionManager.sshPublicKey. libssh 0.10 verifies the userauth
 * signature itself and gives its callback no signature bytes to re-check,
 * so only the SSH gateway's own facet (endpoint 1, export "sshGateway")
 * may assert a verified key: through the ordinary "sessions" facets the
 * method is refused, since public keys are public. Then the key record,
 * the principal's account and its status, the profile, all before a
 * session is minted; the session has auth strength publicKey.
 */
static int ssh_public_key(struct sm *m, capos_server_call_t *call)
{
    struct ssh_req r;
    struct session t, *ss = NULL;
    capnp_struct acct, prof;
    int verdict;
    if (call->endpoint != EP_SSH)
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "SessionManager.sshPublicKey: only the SSH "
                                 "gateway's facet (export sshGateway) may "
                                 "assert a verified key");
    if (!decode_ssh(call, &r, &verdict))
        return verdict;
    struct throttle src = throttle_of(m, r.q.user, r.q.peer);
    const char *code = check_ssh(m, &r, &acct, &prof);
    if (code)
        return deny_as(m, call, code, CAPOS_AUDIT_OUTCOME_DENIED, &src, true,
                       true);
    for (unsigned i = 0; i < SESSIONS_MAX && !ss; i++)
        if (!m->sessions[i].live)
            ss = &m->sessions[i];
    if (!ss)
        return capos_server_fail(call, CAPOS_EXC_OVERLOADED,
                                 "SessionManager.sshPublicKey: too many live "
                                 "sessions (%u); log one out",
                                 SESSIONS_MAX);
    memset(&t, 0, sizeof t);
    memcpy(t.profile, r.profile, sizeof r.profile);
    fill_session(m, &r.q, &acct, &prof, &t);
    t.strength = CAPOS_AUTH_STRENGTH_PUBLIC_KEY;
    return issue_session(m, call, &src, &t, ss);
}

/* ---- SessionManager.validate ------------------------------------------ */

static int validate(struct sm *m, capos_server_call_t *call)
{
    uint32_t idx;
    capos_cap_t cap;
    capnp_struct_builder res, v, info;
    capos_SessionManager_validate_Results_init_root(call->result, &res);
    capos_SessionManager_validate_Results_init_result(&res, &v);
    if (capos_SessionManager_validate_Params_get_session(&call->params_root,
                                                         &idx) != 0 ||
        idx == CAPNP_CAP_NULL ||
        capos_server_take_cap(call, idx, 0, &cap) != 0) {
        capos_SessionValidation_set_invalid(&v);
        return CAPOS_SERVE_REPLY;
    }
    uint64_t badge = 0;
    int own = identify(m, cap, &badge);
    if (own < 0)
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "SessionManager.validate: the kernel did "
                                 "not identify the cap (%d)",
                                 own);
    struct session *s = own ? session_of(m, badge) : NULL;
    if (!s) {
        capos_SessionValidation_set_invalid(&v);
        return CAPOS_SERVE_REPLY;
    }
    if (s->expires_ns && now_ns(m) >= s->expires_ns) {
        capos_SessionValidation_set_expired(&v);
        return CAPOS_SERVE_REPLY;
    }
    if (capos_SessionValidation_init_valid(&v, &info) == 0)
        set_info(&info, s);
    return CAPOS_SERVE_REPLY;
}

/* ---- UserSession -------------------------------------------------------- */

static int user_session(struct sm *m, capos_server_call_t *call)
{
    struct session *s = session_of(m, call->badge);
    if (!s)
        return capos_server_fail(call, CAPOS_EXC_DISCONNECTED,
                                 "UserSession: this session has ended "
                                 "(logged out); log in again");
    capnp_struct_builder res, info;
    switch (call->method_id) {
    case CAPOS_USER_SESSION_INFO_METHOD_ID:
        capos_UserSession_info_Results_init_root(call->result, &res);
        if (capos_UserSession_info_Results_init_info(&res, &info) == 0)
            set_info(&info, s);
        return CAPOS_SERVE_REPLY;
    case CAPOS_USER_SESSION_LOGOUT_METHOD_ID:
        audit(m, "session", "session-logout", CAPOS_AUDIT_OUTCOME_INFO,
              s->username, s, "logout");
        memset(s, 0, sizeof *s); /* the badge is never reused */
        return CAPOS_SERVE_REPLY;
    }
    return capos_server_unimplemented(call);
}

/* ---- AuthorizedKeyStore --------------------------------------------- */

/*
 * AuthorizedKeyStore.lookup (endpoint "authorizedKeys", exported to the
 * SSH gateway, which asks before it answers a key probe): the
 * kernelParams.authorizedKeys record of an ssh-ed25519 key, or notFound.
 * Nothing is decided or counted here; sshPublicKey decides.
 */
static int key_lookup(struct sm *m, capos_server_call_t *call)
{
    const capnp_struct *pr = &call->params_root;
    const char *alg;
    const uint8_t *key, *d;
    size_t al, kl, n;
    capnp_struct rec;
    capnp_struct_builder res, lr, out;
    capnp_list profs;
    capnp_list_builder pl;
    if (call->method_id != CAPOS_AUTHORIZED_KEY_STORE_LOOKUP_METHOD_ID)
        return capos_server_unimplemented(call);
    capos_AuthorizedKeyStore_lookup_Results_init_root(call->result, &res);
    capos_AuthorizedKeyStore_lookup_Results_init_result(&res, &lr);
    if (capos_AuthorizedKeyStore_lookup_Params_get_algorithm(pr, &alg, &al) ||
        al != 11 || memcmp(alg, "ssh-ed25519", 11) != 0 ||
        capos_AuthorizedKeyStore_lookup_Params_get_publicKey(pr, &key, &kl) ||
        kl != SSH_KEY_LEN || !find_authorized_key(m, key, &rec)) {
        capos_AuthorizedKeyLookup_set_notFound(&lr);
        return CAPOS_SERVE_REPLY;
    }
    capos_AuthorizedKeyLookup_init_found(&lr, &out);
    if (capos_AuthorizedKey_get_principalId(&rec, &d, &n) == 0)
        capos_AuthorizedKey_set_principalId(&out, d, n);
    capos_AuthorizedKey_set_algorithm(&out, "ssh-ed25519", 11);
    capos_AuthorizedKey_set_publicKey(&out, key, SSH_KEY_LEN);
    capos_AuthorizedKey_set_disabled(&out,
                                     capos_AuthorizedKey_get_disabled(&rec));
    if (capos_AuthorizedKey_get_profiles(&rec, &profs) == 0 &&
        capos_AuthorizedKey_init_profiles(&out, capnp_list_len(&profs), &pl) ==
            0)
        for (uint32_t i = 0; i < capnp_list_len(&profs); i++) {
            const char *t;
            if (capnp_list_get_text(&profs, i, &t, &n) == 0)
                capnp_list_set_text(&pl, i, t, n);
        }
    return CAPOS_SERVE_REPLY;
}

static int handle(void *ctx, capos_server_call_t *call)
{
    struct sm *m = ctx;
    if (call->badge & SESSION_BADGE_BIT)
        return user_session(m, call);
    if (call->endpoint == EP_KEYS)
        return key_lookup(m, call);
    switch (call->method_id) {
    case CAPOS_SESSION_MANAGER_LOGIN_METHOD_ID:
        return call->endpoint == EP_SESSIONS ? login(m, call)
                                             : capos_server_unimplemented(call);
    case CAPOS_SESSION_MANAGER_SSH_PUBLIC_KEY_METHOD_ID:
        return ssh_public_key(m, call);
    case CAPOS_SESSION_MANAGER_VALIDATE_METHOD_ID:
        return validate(m, call);
    }
    return capos_server_unimplemented(call);
}

int capos_main(capos_capset_t *caps)
{
    struct sm *m = capos_zalloc(sizeof *m);
    if (!m || !capos_alloc_call_bufs(&m->pbuf, &m->rbuf, CALL_BUF))
        return 1;
    m->have_console =
        capos_capset_find(caps, "console", CAPOS_CONSOLE_INTERFACE_ID,
                          &m->console) == 0;
    if (capos_capset_find(caps, "sessions", CAPOS_ENDPOINT_INTERFACE_ID,
                          &m->ep) != 0) {
        say(m, "session-manager: no \"sessions\" Endpoint cap; grant one "
               "(source = (endpoint = void))");
        return 2;
    }
    if (capos_capset_find(caps, "creds", CAPOS_CREDENTIAL_STORE_INTERFACE_ID,
                          &m->creds) != 0) {
        say(m, "session-manager: no \"creds\" CredentialStore cap; import "
               "credential-store.creds");
        return 2;
    }
    m->have_audit =
        capos_capset_find(caps, "audit", CAPOS_AUDIT_LOG_INTERFACE_ID,
                          &m->audit) == 0;
    m->have_timer = capos_capset_find(caps, "timer", CAPOS_TIMER_INTERFACE_ID,
                                      &m->timer) == 0;
    m->have_entropy =
        capos_capset_find(caps, "entropy", CAPOS_ENTROPY_SOURCE_INTERFACE_ID,
                          &m->entropy) == 0;
    capos_cap_t boot;
    capnp_struct root;
    if (capos_capset_find(caps, "boot", CAPOS_BOOT_PACKAGE_INTERFACE_ID,
                          &boot) == 0 &&
        capos_manifest_read(boot, &m->manifest, &m->manifest_len) == 0 &&
        capnp_msg_init(&m->mmsg, m->manifest, m->manifest_len, NULL) == 0 &&
        capnp_msg_root(&m->mmsg, &root) == 0 &&
        capos_SystemManifest_get_kernelParams(&root, &m->kparams) == 0)
        m->have_kparams = true;
    else
        say(m, "session-manager: no readable boot manifest: every login "
               "fails closed (no accounts or profiles)");
    /* The SSH gateway's facet, when the manifest gives one (docs/ssh.md). */
    /* Endpoints by index: EP_SESSIONS, EP_SSH and EP_KEYS; one the
     * manifest does not give is not served, so no call carries its
     * index. */
    capos_cap_t eps[EP_COUNT];
    eps[EP_SESSIONS] = m->ep;
    unsigned neps = 1;
    if (capos_capset_find(caps, "sshGateway", CAPOS_ENDPOINT_INTERFACE_ID,
                          &eps[EP_SSH]) == 0)
        neps = 2;
    if (neps == 2 &&
        capos_capset_find(caps, "authorizedKeys", CAPOS_ENDPOINT_INTERFACE_ID,
                          &eps[EP_KEYS]) == 0)
        neps = 3;
    int r = capos_serve_set(eps, neps, handle, m, NULL);
    capos_free(m->manifest);
    return r == 0 || r == CAP_ERR_DISCONNECTED ? 0 : 3;
}
