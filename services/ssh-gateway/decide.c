/*
 * decide.c - ssh-gateway's policy table and decisions (decide.h).
 *
 * How libssh 0.10 makes each reply decides where a row is enforced
 * (docs/ssh.md "Policy"): session channel opens and pty/shell/exec/env/
 * subsystem requests reach channel callbacks (channel.c), which ask
 * policy_decide; x11-req, direct-tcpip, tcpip-forward and password or
 * keyboard-interactive userauth reach the message callback (policy.c),
 * classified here by policy_kind_of; auth-agent-req is refused by
 * libssh itself (its callback stays NULL).
 */
#include <libssh/libssh.h>

#include "decide.h"

const struct ssh_policy_row ssh_policy[POL_COUNT] = {
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

bool policy_decide(struct ssh_policy_state *st, enum ssh_request *kind)
{
    if (*kind < 0 || *kind >= POL_COUNT)
        *kind = POL_OTHER;
    if (*kind == POL_SESSION && st->session_open)
        *kind = POL_SECOND_SESSION;
    if (!ssh_policy[*kind].allowed || !st->authenticated)
        return false;
    switch (*kind) {
    case POL_SESSION:
        st->session_open = true;
        return true;
    case POL_PTY:
    case POL_WINDOW_CHANGE:
        return st->session_open;
    case POL_SHELL:
        if (!st->session_open || st->shell_started)
            return false;
        st->shell_started = true;
        return true;
    default:
        return false;
    }
}

enum ssh_request policy_kind_of(int type, int subtype)
{
    switch (type) {
    case SSH_REQUEST_AUTH:
        if (subtype == SSH_AUTH_METHOD_PASSWORD)
            return POL_PASSWORD;
        if (subtype == SSH_AUTH_METHOD_INTERACTIVE)
            return POL_KBDINT;
        break;
    case SSH_REQUEST_CHANNEL_OPEN:
        if (subtype == SSH_CHANNEL_SESSION)
            return POL_SESSION;
        if (subtype == SSH_CHANNEL_DIRECT_TCPIP)
            return POL_DIRECT_TCPIP;
        break;
    case SSH_REQUEST_CHANNEL:
        switch (subtype) {
        case SSH_CHANNEL_REQUEST_PTY:
            return POL_PTY;
        case SSH_CHANNEL_REQUEST_WINDOW_CHANGE:
            return POL_WINDOW_CHANGE;
        case SSH_CHANNEL_REQUEST_SHELL:
            return POL_SHELL;
        case SSH_CHANNEL_REQUEST_EXEC:
            return POL_EXEC;
        case SSH_CHANNEL_REQUEST_ENV:
            return POL_ENV;
        case SSH_CHANNEL_REQUEST_SUBSYSTEM:
            return POL_SUBSYSTEM;
        case SSH_CHANNEL_REQUEST_X11:
            return POL_X11;
        }
        break;
    case SSH_REQUEST_GLOBAL:
        if (subtype == SSH_GLOBAL_REQUEST_TCPIP_FORWARD)
            return POL_TCPIP_FORWARD;
        break;
    }
    return POL_OTHER;
}
