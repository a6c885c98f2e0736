/*
 * transport.c - the SSH transport of one ssh-gateway connection, on
 * libssh's server API (docs/ssh.md "Transport").
 *
 * libssh sees only the socket bridge's near end (services/rt/
 * sockbridge.h), never a host socket, and runs non-blocking: every call
 * here returns at once (ssh_handle_key_exchange answers SSH_AGAIN until
 * the exchange is done; ssh_event_dopoll polls with timeout 0), and the
 * worker's loop waits in cap_enter for the bridge's completions, then
 * calls transport_step again. After each step the bridge is pumped, so
 * whatever libssh wrote goes out.
 *
 * Pitfalls kept (libssh 0.10.6): SSH_BIND_OPTIONS_PROCESS_CONFIG is set
 * false before anything else, so /etc/ssh/libssh_server_config is never
 * read; the x11 and auth-agent callbacks stay NULL (libssh answers
 * SUCCESS to those requests whenever a callback exists); callback structs
 * live in the connection record, which outlives the session.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capos.capnp.h"
#include "gateway.h"

ssh_bind transport_bind_new(const char *pem, char *why, size_t whylen)
{
    ssh_bind b = ssh_bind_new();
    ssh_key key = hostkey_import(pem);
    bool no = false;
    int quiet = SSH_LOG_NOLOG;
    if (!b || !key) {
        ssh_key_free(key);
        ssh_bind_free(b);
        snprintf(why, whylen, "libssh: no memory for the bind and its key");
        return NULL;
    }
    /* Config processing first: options set later must not be replaced
     * by a system file's. */
    if (ssh_bind_options_set(b, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
        ssh_bind_options_set(b, SSH_BIND_OPTIONS_LOG_VERBOSITY, &quiet) < 0 ||
        ssh_bind_options_set(b, SSH_BIND_OPTIONS_KEY_EXCHANGE, GW_KEX) < 0 ||
        ssh_bind_options_set(b, SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS,
                             GW_HOSTKEY_ALG) < 0 ||
        ssh_bind_options_set(b, SSH_BIND_OPTIONS_CIPHERS_C_S, GW_CIPHER) < 0 ||
        ssh_bind_options_set(b, SSH_BIND_OPTIONS_CIPHERS_S_C, GW_CIPHER) < 0 ||
        ssh_bind_options_set(b, SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES,
                             GW_HOSTKEY_ALG) < 0) {
        snprintf(why, whylen, "libssh refused the pinned options: %s",
                 ssh_get_error(b));
        ssh_key_free(key);
        ssh_bind_free(b);
        return NULL;
    }
    /* From here the bind owns the key. */
    if (ssh_bind_options_set(b, SSH_BIND_OPTIONS_IMPORT_KEY, key) < 0) {
        snprintf(why, whylen, "libssh refused the host key: %s",
                 ssh_get_error(b));
        ssh_bind_free(b);
        return NULL;
    }
    return b;
}

/* The client's identification string, escaped and cut for an audit
 * detail. */
static void tr_banner(struct conn *c, char *out, size_t cap)
{
    const char *v = ssh_get_clientbanner(c->ss);
    size_t k = 0;
    if (!v)
        v = "";
    for (size_t i = 0; v[i] && i < GW_BANNER_MAX && k + 1 < cap; i++)
        out[k++] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
    out[k] = '\0';
}

/* Audit the client's software version once it is known (bounded). */
static void tr_audit_version(struct gateway *g, struct conn *c)
{
    char v[GW_BANNER_MAX + 1];
    if (c->version_audited || !ssh_get_clientbanner(c->ss))
        return;
    c->version_audited = true;
    tr_banner(c, v, sizeof v);
    gw_audit(g, "ssh-client-version", CAPOS_AUDIT_OUTCOME_INFO,
             "connection %u from %s: client %s", c->id, c->peer, v);
}

bool transport_start(struct gateway *g, struct conn *c)
{
    c->ss = ssh_new();
    if (!c->ss)
        return false;
    /* The session owns the descriptor from here: ssh_free closes it. */
    int fd = c->fd;
    c->fd = -1;
    char why[200];
    ssh_bind b = transport_bind_new(g->hostkey_pem, why, sizeof why);
    if (!b || ssh_bind_accept_fd(b, c->ss, fd) != SSH_OK) {
        if (b)
            snprintf(why, sizeof why, "%s", ssh_get_error(b));
        gw_audit(g, "ssh-setup-failed", CAPOS_AUDIT_OUTCOME_ERROR,
                 "connection %u from %s: libssh: %s", c->id, c->peer, why);
        ssh_bind_free(b);
        if (!b)
            close(fd); /* never handed to the session */
        return false;
    }
    ssh_bind_free(b); /* the session has its own copies */
    if (ssh_options_set(c->ss, SSH_OPTIONS_COMPRESSION_C_S, GW_COMPRESSION) <
            0 ||
        ssh_options_set(c->ss, SSH_OPTIONS_COMPRESSION_S_C, GW_COMPRESSION) < 0)
        return false;
    memset(&c->scb, 0, sizeof c->scb);
    c->scb.userdata = c;
    c->scb.auth_pubkey_function = auth_pubkey;
    c->scb.channel_open_request_session_function = channel_open_request;
    ssh_callbacks_init(&c->scb);
    if (ssh_set_server_callbacks(c->ss, &c->scb) != SSH_OK)
        return false;
    ssh_set_message_callback(c->ss, policy_message, c);
    ssh_set_auth_methods(c->ss, SSH_AUTH_METHOD_PUBLICKEY);
    ssh_set_blocking(c->ss, 0);
    c->st = C_KEX;
    return transport_step(g, c);
}

/* One round of the key exchange. False when it failed. */
static bool tr_kex(struct gateway *g, struct conn *c)
{
    int r = ssh_handle_key_exchange(c->ss);
    tr_audit_version(g, c);
    if (r == SSH_AGAIN)
        return true;
    if (r != SSH_OK) {
        /* libssh's reason may quote the client's bytes: printable only. */
        char why[160];
        const char *e = ssh_get_error(c->ss);
        size_t k = 0;
        for (size_t i = 0; e && e[i] && k + 1 < sizeof why; i++)
            why[k++] = (e[i] >= 0x20 && e[i] < 0x7f) ? e[i] : '?';
        why[k] = '\0';
        if (k == 0)
            snprintf(why, sizeof why, "the client broke the protocol");
        gw_say(g, "ssh-gateway: connection %u: key exchange failed: %s", c->id,
               why);
        gw_audit(g, "ssh-kex-failed", CAPOS_AUDIT_OUTCOME_DENIED,
                 "connection %u from %s: %s", c->id, c->peer, why);
        return false;
    }
    c->ev = ssh_event_new();
    if (!c->ev || ssh_event_add_session(c->ev, c->ss) != SSH_OK)
        return false;
    c->st = C_AUTH;
    gw_audit(g, "ssh-transport-up", CAPOS_AUDIT_OUTCOME_INFO,
             "connection %u from %s: kex %s, host key %s, cipher %s", c->id,
             c->peer, ssh_get_kex_algo(c->ss), GW_HOSTKEY_ALG,
             ssh_get_cipher_out(c->ss));
    return true;
}

bool transport_step(struct gateway *g, struct conn *c)
{
    bool ok = true;
    if (c->st == C_KEX)
        ok = tr_kex(g, c);
    if (ok && c->st >= C_AUTH) {
        if (ssh_event_dopoll(c->ev, 0) == SSH_ERROR ||
            (ssh_get_status(c->ss) & (SSH_CLOSED | SSH_CLOSED_ERROR)))
            ok = false;
        else
            channel_after_step(c);
    }
    if (c->over)
        ok = false;
    (void)capos_sockbridge_pump(c->br);
    unsigned st = capos_sockbridge_state(c->br);
    if (st & (CAPOS_SB_CLOSED | CAPOS_SB_PEER_RESET | CAPOS_SB_FAILED))
        ok = false;
    return ok;
}

void transport_end(struct conn *c)
{
    if (c->ev) {
        if (c->ss)
            ssh_event_remove_session(c->ev, c->ss);
        ssh_event_free(c->ev);
        c->ev = NULL;
    }
    channel_end(c);
    if (c->ss) {
        /* A disconnect message if the transport is still up; then the
         * session closes its descriptor. */
        ssh_disconnect(c->ss);
        (void)capos_sockbridge_pump(c->br);
        ssh_free(c->ss);
        c->ss = NULL;
    }
}
