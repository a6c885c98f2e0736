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
 * `disconnected` CapException. sessions_validate() asks the kernel
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
 *
 * This file: the shared helpers, the Endpoint facets, the manifest's
 * accounts and profiles, the dispatch and capos_main; the rest is in
 * throttle.c, sessions.c, password.c and sshkey.c (session_manager.h).
 */
#include <stdio.h>
#include <string.h>

#include "manifest.h"
#include "session_manager.h"

/* Copy a Text field read by getter into dst (cap+1 bytes); false if it is
 * missing a terminator budget (longer than cap) or does not decode. */
bool sm_copy_text(const char *s, size_t n, char *dst, size_t cap)
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
uint64_t sm_now_ns(struct sm *m)
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

void sm_sleep_ns(struct sm *m, uint64_t ns)
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
void sm_audit(struct sm *m, const char *category, const char *code,
              uint16_t outcome, const char *principal, const struct session *s,
              const char *detail)
{
    if (m->have_audit)
        (void)capos_audit_append_session(m->audit, category, code, outcome,
                                         principal, s ? s->id : NULL,
                                         s ? SESSION_ID_LEN : 0, detail);
}

/* A new UserSession facet of our endpoint with badge (typed, so every
 * holder's CapSet and records say UserSession). Returns 0 and *out, or a
 * negative code. */
int sm_mint_facet(struct sm *m, uint64_t badge, capos_cap_t *out)
{
    return capos_endpoint_mint_typed(m->ep, badge,
                                     CAPOS_USER_SESSION_INTERFACE_ID, m->pbuf,
                                     m->rbuf, CALL_BUF, out);
}

/* Find the seed account called username; false if there is none. */
bool sm_find_account(struct sm *m, const char *username, capnp_struct *out)
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

bool sm_find_profile(struct sm *m, const char *name, capnp_struct *out)
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

static int handle(void *ctx, capos_server_call_t *call)
{
    struct sm *m = ctx;
    if (call->badge & SESSION_BADGE_BIT)
        return sessions_user_session(m, call);
    if (call->endpoint == EP_KEYS)
        return sshkey_lookup(m, call);
    switch (call->method_id) {
    case CAPOS_SESSION_MANAGER_LOGIN_METHOD_ID:
        return call->endpoint == EP_SESSIONS ? password_login(m, call)
                                             : capos_server_unimplemented(call);
    case CAPOS_SESSION_MANAGER_SSH_PUBLIC_KEY_METHOD_ID:
        return sshkey_login(m, call);
    case CAPOS_SESSION_MANAGER_VALIDATE_METHOD_ID:
        return sessions_validate(m, call);
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
