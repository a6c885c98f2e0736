/*
 * policy.c - ssh-gateway's policy audit and libssh's message callback
 * (upstream capos-config::ssh_policy; docs/ssh.md "Policy"). The table,
 * each row a request kind with its decision, the SSH failure the client
 * sees and the stable audit code (capos-sim names; upstream publishes
 * none), and the decisions are in decide.c.
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

void policy_audit(struct conn *c, enum ssh_request kind, const char *what)
{
    const struct ssh_policy_row *row = &ssh_policy[kind];
    gw_audit(
        c->w->g, row->audit,
        row->allowed ? CAPOS_AUDIT_OUTCOME_ALLOWED : CAPOS_AUDIT_OUTCOME_DENIED,
        "connection %u from %s: %s%s%s%s", c->id, c->peer, row->request,
        what ? " " : "", what ? what : "", row->allowed ? "" : " (denied)");
}

int policy_message(ssh_session s, ssh_message msg, void *ud)
{
    (void)s;
    struct conn *c = ud;
    enum ssh_request kind =
        policy_kind_of(ssh_message_type(msg), ssh_message_subtype(msg));
    /* "none" userauth probes and service requests are part of every
     * login: libssh answers them; only policy denials are audited. */
    if (!(ssh_message_type(msg) == SSH_REQUEST_AUTH &&
          ssh_message_subtype(msg) == SSH_AUTH_METHOD_NONE) &&
        ssh_message_type(msg) != SSH_REQUEST_SERVICE)
        policy_audit(c, kind, NULL);
    return 1; /* libssh sends the default failure reply */
}
