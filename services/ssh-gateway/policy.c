/*
 * policy.c - ssh-gateway's channel and request policy (upstream
 * capos-config::ssh_policy; docs/ssh.md "Policy"): one table, each row a
 * request kind with its decision, the SSH failure the client sees and the
 * stable audit code (capos-sim names; upstream publishes none).
 *
 * Allowed: one session channel, pty-req, window-change, shell. Everything
 * else is denied with a protocol-visible failure. How libssh 0.10 makes
 * each reply decides where a row is enforced:
 *   - session channel opens and pty/shell/exec/env/subsystem requests go
 *     to callbacks (transport.c); returning NULL or non-zero is the
 *     failure;
 *   - x11-req and auth-agent-req have no callback here on purpose (with
 *     one libssh would answer SUCCESS), direct-tcpip opens, tcpip-forward
 *     global requests and password or keyboard-interactive userauth have
 *     none either: libssh hands them to the message callback
 *     (policy_message), which audits them and returns 1 so libssh sends
 *     its default failure. CredentialStore is never involved: the gateway
 *     holds none.
 */
#include <string.h>

#include "capos.capnp.h"
#include "gateway.h"

const struct ssh_policy_row ssh_policy[] = {
    [POL_SESSION] = {"session channel", true, "-", "ssh-channel-session"},
    [POL_PTY] = {"pty-req", true, "-", "ssh-pty"},
    [POL_WINDOW_CHANGE] = {"window-change", true, "-", "ssh-window-change"},
    [POL_SHELL] = {"shell", true, "-", "ssh-shell"},
    [POL_SECOND_SESSION] = {"second session channel", false,
                            "CHANNEL_OPEN_FAILURE administratively prohibited",
                            "ssh-second-session-denied"},
    [POL_EXEC] = {"exec", false, "CHANNEL_FAILURE", "ssh-exec-denied"},
    [POL_SUBSYSTEM] = {"subsystem (sftp)", false, "CHANNEL_FAILURE",
                       "ssh-subsystem-denied"},
    [POL_ENV] = {"env", false, "CHANNEL_FAILURE", "ssh-env-denied"},
    [POL_X11] = {"x11-req", false, "CHANNEL_FAILURE", "ssh-x11-denied"},
    [POL_AGENT] = {"auth-agent-req", false, "CHANNEL_FAILURE",
                   "ssh-agent-forward-denied"},
    [POL_DIRECT_TCPIP] = {"direct-tcpip (-L, -D)", false,
                          "CHANNEL_OPEN_FAILURE administratively prohibited",
                          "ssh-local-forward-denied"},
    [POL_TCPIP_FORWARD] = {"tcpip-forward (-R)", false, "REQUEST_FAILURE",
                           "ssh-remote-forward-denied"},
    [POL_PASSWORD] = {"password userauth", false, "USERAUTH_FAILURE",
                      "ssh-password-denied"},
    [POL_KBDINT] = {"keyboard-interactive userauth", false, "USERAUTH_FAILURE",
                    "ssh-keyboard-interactive-denied"},
    [POL_OTHER] = {"other request", false, "default failure",
                   "ssh-request-denied"},
};

_Static_assert(sizeof ssh_policy / sizeof ssh_policy[0] == POL_COUNT,
               "one policy row per request kind");

void policy_audit(struct conn *c, enum ssh_request kind, const char *what)
{
    const struct ssh_policy_row *row = &ssh_policy[kind];
    gw_audit(
        c->w->g, row->audit,
        row->allowed ? CAPOS_AUDIT_OUTCOME_ALLOWED : CAPOS_AUDIT_OUTCOME_DENIED,
        "connection %u from %s: %s%s%s%s", c->id, c->peer, row->request,
        what ? " " : "", what ? what : "", row->allowed ? "" : " (denied)");
}

/* The policy row of an unhandled libssh message. */
static enum ssh_request policy_kind(ssh_message msg)
{
    int type = ssh_message_type(msg), sub = ssh_message_subtype(msg);
    switch (type) {
    case SSH_REQUEST_AUTH:
        if (sub == SSH_AUTH_METHOD_PASSWORD)
            return POL_PASSWORD;
        if (sub == SSH_AUTH_METHOD_INTERACTIVE)
            return POL_KBDINT;
        break;
    case SSH_REQUEST_CHANNEL_OPEN:
        if (sub == SSH_CHANNEL_DIRECT_TCPIP)
            return POL_DIRECT_TCPIP;
        break;
    case SSH_REQUEST_CHANNEL:
        if (sub == SSH_CHANNEL_REQUEST_X11)
            return POL_X11;
        break;
    case SSH_REQUEST_GLOBAL:
        if (sub == SSH_GLOBAL_REQUEST_TCPIP_FORWARD)
            return POL_TCPIP_FORWARD;
        break;
    }
    return POL_OTHER;
}

int policy_message(ssh_session s, ssh_message msg, void *ud)
{
    (void)s;
    struct conn *c = ud;
    enum ssh_request kind = policy_kind(msg);
    /* "none" userauth probes and service requests are part of every
     * login: libssh answers them; only policy denials are audited. */
    if (!(ssh_message_type(msg) == SSH_REQUEST_AUTH &&
          ssh_message_subtype(msg) == SSH_AUTH_METHOD_NONE) &&
        ssh_message_type(msg) != SSH_REQUEST_SERVICE)
        policy_audit(c, kind, NULL);
    return 1; /* libssh sends the default failure reply */
}
