/*
 * channel.c - ssh-gateway's session channel (docs/ssh.md "Policy" and
 * "Terminal handoff"): the requests of the policy table that reach
 * channel callbacks.
 *
 * One session channel per connection, opened only once authenticated;
 * pty-req and window-change record the terminal size; shell is allowed;
 * exec, env and subsystem requests fail. The x11-req and auth-agent-req
 * callbacks stay NULL (libssh would answer SUCCESS to either if set).
 *
 * A granted shell request starts capos-shell on a kernel terminal over
 * this channel (term.c); its data goes to that terminal. If the launch
 * fails the channel says so in one line, sends exit-status 1 and closes,
 * so the client ends cleanly instead of waiting.
 */
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "gateway.h"

static int ch_decide(struct conn *c, enum ssh_request kind, const char *what);

/* A terminal size from the client, as a request of kind: recorded when
 * granted. 0 (granted) or 1. */
static int ch_size(struct conn *c, int cols, int rows, enum ssh_request kind)
{
    uint16_t cc = (uint16_t)(cols > 0 && cols < 65536 ? cols : 0);
    uint16_t rr = (uint16_t)(rows > 0 && rows < 65536 ? rows : 0);
    char what[32];
    snprintf(what, sizeof what, "%ux%u", cc, rr);
    int r = ch_decide(c, kind, what);
    if (r == 0) {
        c->cols = cc;
        c->rows = rr;
        term_resize(c); /* a terminal already running hears of it */
    }
    return r;
}

/* Decide a request of kind on c and audit it; 0 (granted) or 1. */
static int ch_decide(struct conn *c, enum ssh_request kind, const char *what)
{
    bool ok = policy_decide(&c->pol, &kind);
    policy_audit(c, kind, what);
    return ok ? 0 : 1;
}

static int ch_pty(ssh_session s, ssh_channel ch, const char *term, int cols,
                  int rows, int pxw, int pxh, void *ud)
{
    (void)s, (void)ch, (void)term, (void)pxw, (void)pxh;
    return ch_size(ud, cols, rows, POL_PTY);
}

static int ch_window_change(ssh_session s, ssh_channel ch, int cols, int rows,
                            int pxw, int pxh, void *ud)
{
    (void)s, (void)ch, (void)pxw, (void)pxh;
    (void)ch_size(ud, cols, rows, POL_WINDOW_CHANGE);
    return 0; /* libssh sends no reply to a window-change */
}

static int ch_shell(ssh_session s, ssh_channel ch, void *ud)
{
    (void)s, (void)ch;
    struct conn *c = ud;
    if (ch_decide(c, POL_SHELL, NULL) != 0)
        return 1;
    c->shell_requested = true; /* answered after libssh's SUCCESS */
    return 0;
}

void channel_after_step(struct conn *c)
{
    if (!c->shell_requested || !c->chan)
        return;
    c->shell_requested = false;
    if (term_start(c))
        return;
    char line[160];
    int n = snprintf(line, sizeof line,
                     "capos ssh-gateway: capos-shell could not be started "
                     "for %s; try again later\r\n",
                     c->user);
    gw_audit(c->w->g, "ssh-shell-launch-failed", CAPOS_AUDIT_OUTCOME_ERROR,
             "connection %u: no shell for %s", c->id, c->user);
    term_end(c);
    (void)ssh_channel_write(c->chan, line, (uint32_t)n);
    (void)ssh_channel_request_send_exit_status(c->chan, 1);
    (void)ssh_channel_send_eof(c->chan);
    (void)ssh_channel_close(c->chan);
}

/* The client's input ended (EOF, e.g. its stdin closed): the shell's
 * readLine ends once it has read what came before, the shell logs out
 * and the channel closes after its last output. */
static void ch_eof(ssh_session s, ssh_channel ch, void *ud)
{
    (void)s, (void)ch;
    term_end_input(ud);
}

static int ch_exec(ssh_session s, ssh_channel ch, const char *cmd, void *ud)
{
    (void)s, (void)ch, (void)cmd;
    return ch_decide(ud, POL_EXEC, NULL); /* never the command: secrets */
}

static int ch_env(ssh_session s, ssh_channel ch, const char *name,
                  const char *value, void *ud)
{
    (void)s, (void)ch, (void)name, (void)value;
    return ch_decide(ud, POL_ENV, NULL);
}

static int ch_subsystem(ssh_session s, ssh_channel ch, const char *sub,
                        void *ud)
{
    (void)s, (void)ch;
    char what[40];
    size_t k = 0;
    for (size_t i = 0; sub && sub[i] && k + 1 < sizeof what && i < 32; i++)
        what[k++] = (sub[i] > 0x20 && sub[i] < 0x7f) ? sub[i] : '?';
    what[k] = '\0';
    return ch_decide(ud, POL_SUBSYSTEM, what);
}

ssh_channel channel_open_request(ssh_session s, void *ud)
{
    struct conn *c = ud;
    c->pol.authenticated = c->st == C_SESSION;
    struct ssh_policy_state before = c->pol;
    if (ch_decide(c, POL_SESSION, NULL) != 0)
        return NULL;
    ssh_channel ch = ssh_channel_new(s);
    if (!ch)
        return NULL;
    memset(&c->ccb, 0, sizeof c->ccb);
    c->ccb.userdata = c;
    c->ccb.channel_pty_request_function = ch_pty;
    c->ccb.channel_pty_window_change_function = ch_window_change;
    c->ccb.channel_shell_request_function = ch_shell;
    c->ccb.channel_exec_request_function = ch_exec;
    c->ccb.channel_env_request_function = ch_env;
    c->ccb.channel_subsystem_request_function = ch_subsystem;
    c->ccb.channel_data_function = term_feed;
    c->ccb.channel_eof_function = ch_eof;
    /* x11 and auth-agent: NULL on purpose (see the header). */
    ssh_callbacks_init(&c->ccb);
    if (ssh_set_channel_callbacks(ch, &c->ccb) != SSH_OK) {
        ssh_channel_free(ch);
        c->pol = before; /* nothing was opened */
        return NULL;
    }
    c->chan = ch;
    return ch;
}

void channel_end(struct conn *c)
{
    if (!c->chan)
        return;
    ssh_remove_channel_callbacks(c->chan, &c->ccb);
    ssh_channel_free(c->chan);
    c->chan = NULL;
}
