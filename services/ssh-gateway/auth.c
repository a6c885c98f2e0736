/*
 * auth.c - ssh-gateway's public-key userauth (docs/ssh.md "Key to
 * principal").
 *
 * libssh calls auth_pubkey twice per key a client offers: once as a
 * probe (signature state NONE) and once signed. The decision belongs to
 * SessionManager.sshPublicKey, reached through the gateway's own facet
 * (manifest export "sshGateway"): the authorized-key record, the
 * principal's account and its status, the profile, before any session
 * is minted. Because libssh 0.10 checks the signature itself and keeps
 * the signature bytes from its callback, a session is asked for only
 * when libssh reports SSH_PUBLICKEY_STATE_VALID. A probe is answered
 * PK_OK only for a key AuthorizedKeyStore holds (the decision still
 * waits for the signature); an unknown one is refused there, as sshd
 * does, and audited ssh=ssh-key-unknown. The gateway never sees a
 * password: password and
 * keyboard-interactive are not offered and are refused by the policy.
 * After GW_AUTH_TRIES_MAX refusals the connection ends (sshd's
 * MaxAuthTries).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "capos.capnp.h"
#include "gateway.h"

#define AUTH_KEY_LEN 32u

/* The raw 32-byte ed25519 key of key into out; false for other keys.
 * libssh 0.10 exports a public key only as base64 of its blob:
 * string "ssh-ed25519" (4 + 11 bytes), string key (4 + 32). */
static bool auth_raw_key(ssh_key key, uint8_t out[AUTH_KEY_LEN])
{
    char *b64 = NULL;
    uint8_t blob[96];
    bool ok = false;
    if (ssh_key_type(key) != SSH_KEYTYPE_ED25519 ||
        ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
        return false;
    size_t bl = strlen(b64);
    /* 51 blob bytes are 68 base64 characters (one '=' of padding). */
    if (bl == 68 &&
        EVP_DecodeBlock(blob, (const unsigned char *)b64, 68) == 51 &&
        memcmp(blob, "\0\0\0\x0bssh-ed25519\0\0\0\x20", 19) == 0) {
        memcpy(out, blob + 19, AUTH_KEY_LEN);
        ok = true;
    }
    ssh_string_free_char(b64);
    return ok;
}

/* SessionManager.sshPublicKey for c's user and key. Returns 1 with
 * c->session set, 0 when denied, -1 when the call failed. */
static int auth_ask(struct conn *c, const char *user, const uint8_t *key)
{
    struct worker *w = c->w;
    struct gateway *g = w->g;
    capnp_builder b;
    capnp_struct_builder p, src;
    capnp_message m;
    capnp_struct root, lr;
    CapCqe cqe;
    size_t len;
    capnp_builder_init(&b, w->pbuf, GW_CALL_BUF);
    capos_SessionManager_sshPublicKey_Params_init_root(&b, &p);
    capos_SessionManager_sshPublicKey_Params_set_username(&p, user,
                                                          strlen(user));
    capos_SessionManager_sshPublicKey_Params_set_algorithm(&p, "ssh-ed25519",
                                                           11);
    capos_SessionManager_sshPublicKey_Params_set_publicKey(&p, key,
                                                           AUTH_KEY_LEN);
    capos_SessionManager_sshPublicKey_Params_init_source(&p, &src);
    capos_LoginSource_set_transport(&src, CAPOS_TRANSPORT_SSH);
    capos_LoginSource_set_peer(&src, c->peer, strlen(c->peer));
    capos_LoginSource_set_connectionId(&src, c->id);
    int r = capnp_finish(&b, &len);
    if (r == 0)
        r = capos_rt_invoke(g->sessions,
                            CAPOS_SESSION_MANAGER_SSH_PUBLIC_KEY_METHOD_ID,
                            w->pbuf, (uint32_t)len, w->rbuf, GW_CALL_BUF, &cqe);
    if (r < 0)
        return -1;
    cqe.result = r;
    /* The session is a client facet of the session manager's endpoint:
     * it speaks UserSession whatever interface its record names. */
    CapTransferResult rec;
    uint32_t ci = UINT32_MAX;
    bool granted =
        capos_rt_result_msg(&cqe, w->rbuf, GW_CALL_BUF, &m, &root) &&
        capos_SessionManager_sshPublicKey_Results_get_result(&root, &lr) == 0 &&
        capos_LoginResult_which(&lr) == CAPOS_LOGIN_RESULT_WHICH_SESSION &&
        capos_LoginResult_get_session(&lr, &ci) == 0 &&
        capos_rt_result_cap(&cqe, w->rbuf, GW_CALL_BUF, ci, &rec);
    capos_rt_drop_result_caps(&cqe, w->rbuf, GW_CALL_BUF,
                              granted ? ci : UINT32_MAX);
    if (!granted)
        return 0;
    c->session = (capos_cap_t){rec.cap_id, CAPOS_USER_SESSION_INTERFACE_ID};
    c->have_session = true;
    return 1;
}

/* AuthorizedKeyStore.lookup of key: 1 stored (disabled or not: the
 * signed request is decided by the session manager), 0 unknown, -1 the
 * call failed. */
static int auth_stored(struct conn *c, const uint8_t *key)
{
    struct worker *w = c->w;
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message m;
    capnp_struct root, lr;
    capnp_builder_init(&b, w->pbuf, GW_CALL_BUF);
    capos_AuthorizedKeyStore_lookup_Params_init_root(&b, &p);
    capos_AuthorizedKeyStore_lookup_Params_set_algorithm(&p, "ssh-ed25519", 11);
    capos_AuthorizedKeyStore_lookup_Params_set_publicKey(&p, key, AUTH_KEY_LEN);
    int r = capos_rt_call_capnp(w->g->keys,
                                CAPOS_AUTHORIZED_KEY_STORE_LOOKUP_METHOD_ID, &b,
                                w->rbuf, GW_CALL_BUF, &m, &root);
    if (r < 0 ||
        capos_AuthorizedKeyStore_lookup_Results_get_result(&root, &lr) != 0)
        return -1;
    return capos_AuthorizedKeyLookup_which(&lr) ==
           CAPOS_AUTHORIZED_KEY_LOOKUP_WHICH_FOUND;
}

/* One more refused try; past the bound the connection ends. */
static int auth_refuse(struct conn *c)
{
    if (++c->auth_tries >= GW_AUTH_TRIES_MAX) {
        gw_audit(c->w->g, "ssh-auth-tries-exceeded", CAPOS_AUDIT_OUTCOME_DENIED,
                 "connection %u from %s: %u refused tries", c->id, c->peer,
                 c->auth_tries);
        c->over = true;
    }
    return SSH_AUTH_DENIED;
}

int auth_pubkey(ssh_session s, const char *user, struct ssh_key_struct *key,
                char state, void *ud)
{
    (void)s;
    struct conn *c = ud;
    uint8_t raw[AUTH_KEY_LEN];
    if (c->st != C_AUTH || !user || strlen(user) == 0 ||
        strlen(user) > GW_USER_MAX || !auth_raw_key(key, raw)) {
        gw_audit(c->w->g, "ssh-key-unknown", CAPOS_AUDIT_OUTCOME_DENIED,
                 "connection %u from %s: not an ssh-ed25519 key or no user",
                 c->id, c->peer);
        return auth_refuse(c);
    }
    if (state == SSH_PUBLICKEY_STATE_NONE) {
        /* The probe: PK_OK only for a stored key; the decision waits
         * for the signature. */
        int k = auth_stored(c, raw);
        if (k == 1)
            return SSH_AUTH_SUCCESS;
        gw_audit(c->w->g, k == 0 ? "ssh-key-unknown" : "ssh-key-store-failed",
                 k == 0 ? CAPOS_AUDIT_OUTCOME_DENIED
                        : CAPOS_AUDIT_OUTCOME_ERROR,
                 "connection %u from %s: key probe refused", c->id, c->peer);
        return auth_refuse(c);
    }
    if (state != SSH_PUBLICKEY_STATE_VALID) {
        gw_audit(c->w->g, "ssh-bad-signature", CAPOS_AUDIT_OUTCOME_DENIED,
                 "connection %u from %s: the key's signature does not verify",
                 c->id, c->peer);
        return auth_refuse(c);
    }
    int r = auth_ask(c, user, raw);
    if (r < 0) {
        gw_audit(c->w->g, "ssh-session-manager-failed",
                 CAPOS_AUDIT_OUTCOME_ERROR,
                 "connection %u from %s: SessionManager.sshPublicKey failed",
                 c->id, c->peer);
        return auth_refuse(c);
    }
    if (r == 0)
        return auth_refuse(c); /* SessionManager audited why */
    snprintf(c->user, sizeof c->user, "%s", user);
    c->st = C_SESSION;
    gw_authenticated(c);
    gw_say(c->w->g, "ssh-gateway: connection %u: authenticated by public key",
           c->id);
    return SSH_AUTH_SUCCESS;
}

void auth_end(struct conn *c)
{
    if (!c->have_session)
        return;
    uint8_t par[32], res[256];
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, par, sizeof par);
    capos_UserSession_logout_Params_init_root(&b, &p);
    (void)capos_rt_call_capnp(c->session, CAPOS_USER_SESSION_LOGOUT_METHOD_ID,
                              &b, res, sizeof res, NULL, NULL);
    capos_rt_release(c->session);
    c->have_session = false;
}
