/*
 * sshkey.c - session-manager's SSH key logins: SessionManager.sshPublicKey
 * (docs/ssh.md "Key to principal") and AuthorizedKeyStore.lookup, both
 * over kernelParams.authorizedKeys.
 */
#include <stdio.h>
#include <string.h>

#include "session_manager.h"

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
        n == 0 || !sm_copy_text(s, n, r->q.user, USERNAME_MAX))
        why = "SessionManager.sshPublicKey: username must be 1 to 64 bytes";
    else if (capos_SessionManager_sshPublicKey_Params_get_profile(pr, &s, &n) ||
             !sm_copy_text(s, n, r->profile, TEXT_MAX))
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
             !sm_copy_text(s, n, r->q.peer, PEER_MAX))
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
                           !sm_copy_text(s, n, r->profile, TEXT_MAX)))
        return "ssh-profile-unknown";
    if (!key_allows(&rec, r->profile))
        return "ssh-key-profile-not-allowed";
    if (!sm_find_profile(m, r->profile, prof))
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
int sshkey_login(struct sm *m, capos_server_call_t *call)
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
        return password_deny_as(m, call, code, CAPOS_AUDIT_OUTCOME_DENIED, &src,
                                true, true);
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
    password_fill_session(m, &r.q, &acct, &prof, &t);
    t.strength = CAPOS_AUTH_STRENGTH_PUBLIC_KEY;
    return password_issue_session(m, call, &src, &t, ss);
}

/*
 * AuthorizedKeyStore.lookup (endpoint "authorizedKeys", exported to the
 * SSH gateway, which asks before it answers a key probe): the
 * kernelParams.authorizedKeys record of an ssh-ed25519 key, or notFound.
 * Nothing is decided or counted here; sshPublicKey decides.
 */
int sshkey_lookup(struct sm *m, capos_server_call_t *call)
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
