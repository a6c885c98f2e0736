/*
 * decide.h - ssh-gateway's policy decisions (upstream ssh_policy;
 * docs/ssh.md "Policy"), free of libssh objects and of the runtime so
 * the fuzz target tests/fuzz/ssh_policy.c can drive them alone: the one
 * table of request kinds, the classification of libssh's request types,
 * and the per-connection decision.
 */
#ifndef SSH_GATEWAY_DECIDE_H
#define SSH_GATEWAY_DECIDE_H

#include <stdbool.h>

/* Request kinds of the policy table (decide.c). */
enum ssh_request {
    POL_SESSION,
    POL_PTY,
    POL_WINDOW_CHANGE,
    POL_SHELL,
    POL_SECOND_SESSION,
    POL_EXEC,
    POL_SUBSYSTEM,
    POL_ENV,
    POL_X11,
    POL_AGENT,
    POL_DIRECT_TCPIP,
    POL_TCPIP_FORWARD,
    POL_PASSWORD,
    POL_KBDINT,
    POL_OTHER,
    POL_COUNT
};

/* One row: what, whether the kind can ever be allowed, the failure the
 * client sees, the audit code (category ssh). */
struct ssh_policy_row {
    const char *request;
    bool allowed;
    const char *failure;
    const char *audit;
};
extern const struct ssh_policy_row ssh_policy[POL_COUNT];

/* What a connection has been granted so far. */
struct ssh_policy_state {
    bool authenticated; /* userauth succeeded */
    bool session_open;  /* the one session channel was opened */
    bool shell_started; /* its shell request was granted */
};

/*
 * Decide one request of *kind on a connection in state st: true if it is
 * granted (st updated). A session channel asked for again becomes
 * POL_SECOND_SESSION in *kind; a denied request leaves st as it was.
 * Nothing is granted before authentication, pty-req and window-change
 * only on the open session channel, one shell.
 */
bool policy_decide(struct ssh_policy_state *st, enum ssh_request *kind);

/* The kind of a libssh request (ssh_message_type, ssh_message_subtype),
 * POL_OTHER for anything the table has no row for. */
enum ssh_request policy_kind_of(int type, int subtype);

#endif /* SSH_GATEWAY_DECIDE_H */
