/*
 * term.c - ssh-gateway's terminal handoff (docs/ssh.md "Terminal
 * handoff"): a kernel terminal over the session channel (kernel source
 * terminalFromByteStream: create, then its TerminalSession), handed with
 * the connection's UserSession to the RestrictedShellLauncher, which
 * starts capos-shell logged in; the channel's data is fed in, the
 * terminal's output drained out (one asynchronous drain per connection),
 * window-change resizes it, and the end of either side ends the other.
 *
 * Trust: the client's bytes go to the kernel's line discipline as they
 * are (it edits and bounds them); the terminal's output goes to the
 * client as the shell wrote it.
 */
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "gateway.h"

#define TERM_FEED_MAX 1536u /* channel bytes per feed call (GW_CALL_BUF) */

/* hangUp or endInput (method; neither has params) on c's stream. */
static void term_stream_call0(struct conn *c, uint16_t method)
{
    struct worker *w = c->w;
    if (!c->have_stream)
        return;
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, w->pbuf, GW_CALL_BUF);
    capos_TerminalByteStream_hangUp_Params_init_root(&b, &p);
    (void)capos_rt_call_capnp(c->stream, method, &b, w->rbuf, GW_CALL_BUF,
                              NULL, NULL);
}

void term_end_input(struct conn *c)
{
    term_stream_call0(c, CAPOS_TERMINAL_BYTE_STREAM_END_INPUT_METHOD_ID);
}

/* A new terminal of the connection's size and peer into c->stream and
 * *term. False (nothing kept) when the kernel refuses. */
static bool term_create(struct conn *c, capos_cap_t *term)
{
    struct worker *w = c->w;
    char peer[24]; /* "a.b.c.d:port" fits; longer is cut */
    size_t pl = strnlen(c->peer, sizeof peer - 1);
    memcpy(peer, c->peer, pl);
    peer[pl] = '\0';
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, w->pbuf, GW_CALL_BUF);
    capos_TerminalSessionFromByteStream_create_Params_init_root(&b, &p);
    capos_TerminalSessionFromByteStream_create_Params_set_transport(
        &p, CAPOS_TRANSPORT_SSH);
    capos_TerminalSessionFromByteStream_create_Params_set_columns(&p, c->cols);
    capos_TerminalSessionFromByteStream_create_Params_set_rows(&p, c->rows);
    capos_TerminalSessionFromByteStream_create_Params_set_peer(&p, peer,
                                                               strlen(peer));
    CapCqe cqe;
    size_t len;
    if (capnp_finish(&b, &len) != 0)
        return false;
    CapSqe sqe;
    capos_TerminalSessionFromByteStream_create_sqe(
        &sqe, w->g->terminals.id, capos_va(w->pbuf), (uint32_t)len,
        capos_va(w->rbuf), GW_CALL_BUF, 0);
    if (capos_rt_call(&sqe, &cqe) != 0 || cqe.result < 0 ||
        !capos_rt_keep_first_cap(&cqe, w->rbuf,
                                 CAPOS_TERMINAL_BYTE_STREAM_INTERFACE_ID,
                                 &c->stream))
        return false;
    c->have_stream = true;
    capnp_builder_init(&b, w->pbuf, GW_CALL_BUF);
    capos_TerminalByteStream_terminal_Params_init_root(&b, &p);
    if (capnp_finish(&b, &len) != 0)
        return false;
    capos_TerminalByteStream_terminal_sqe(&sqe, c->stream.id,
                                          capos_va(w->pbuf), (uint32_t)len,
                                          capos_va(w->rbuf), GW_CALL_BUF, 0);
    return capos_rt_call(&sqe, &cqe) == 0 && cqe.result >= 0 &&
           capos_rt_keep_first_cap(&cqe, w->rbuf,
                                   CAPOS_TERMINAL_SESSION_INTERFACE_ID, term);
}

/* launchShell(session, "", term): term moved, the session copied. True
 * when the launcher answered launched (its ProcessHandle kept). */
static bool term_launch(struct conn *c, capos_cap_t term)
{
    struct worker *w = c->w;
    capnp_builder b;
    capnp_struct_builder p;
    size_t len;
    capnp_builder_init(&b, w->pbuf, GW_CALL_BUF - 64);
    capos_RestrictedShellLauncher_launchShell_Params_init_root(&b, &p);
    capos_RestrictedShellLauncher_launchShell_Params_set_terminal(&p, 0);
    capos_RestrictedShellLauncher_launchShell_Params_set_session(&p, 1);
    if (capnp_finish(&b, &len) != 0) {
        capos_rt_release(term);
        return false;
    }
    CapTransferDescriptor d[2] = {
        {.cap_id = term.id, .mode = CAP_XFER_MOVE},
        {.cap_id = c->session.id, .mode = CAP_XFER_COPY},
    };
    memcpy(w->pbuf + CAP_ALIGN8(len), d, sizeof d);
    CapSqe sqe;
    CapCqe cqe;
    capos_RestrictedShellLauncher_launchShell_sqe_xfer(
        &sqe, w->g->launcher.id, capos_va(w->pbuf), (uint32_t)len, 2,
        capos_va(w->rbuf), GW_CALL_BUF, 0);
    int r = capos_rt_call(&sqe, &cqe);
    if (r != 0 || cqe.result < 0) {
        capos_rt_release(term); /* a refused CALL moved nothing */
        return false;
    }
    capnp_message m;
    capnp_struct root, lr;
    c->have_shell = capos_rt_keep_first_cap(
        &cqe, w->rbuf, CAPOS_PROCESS_HANDLE_INTERFACE_ID, &c->shell);
    return c->have_shell &&
           capos_rt_result_msg(&cqe, w->rbuf, GW_CALL_BUF, &m, &root) &&
           capos_RestrictedShellLauncher_launchShell_Results_get_result(
               &root, &lr) == 0 &&
           capos_LaunchResult_which(&lr) == CAPOS_LAUNCH_RESULT_WHICH_LAUNCHED;
}

/* Shells running on c's worker (each holds a drain slot of its CQ). */
static unsigned term_shells(const struct worker *w)
{
    unsigned n = 0;
    for (unsigned i = 0; i < GW_WORKER_CONNS; i++)
        n += w->conns[i].have_stream;
    return n;
}

bool term_start(struct conn *c)
{
    capos_cap_t term;
    if (term_shells(c->w) >= GW_WORKER_SHELLS)
        return false; /* the worker's CQ has no room for another drain */
    c->drain_res = capos_alloc(TERM_DRAIN_RES);
    if (!c->drain_res || !term_create(c, &term))
        return false;
    if (!term_launch(c, term))
        return false;
    gw_audit(c->w->g, "ssh-shell-launched", CAPOS_AUDIT_OUTCOME_ALLOWED,
             "connection %u: capos-shell for %s on an ssh terminal %ux%u",
             c->id, c->user, c->cols, c->rows);
    return true;
}

void term_post_drain(struct conn *c)
{
    if (!c->have_stream || c->drain_tag || c->term_ended || c->out_len)
        return;
    uint8_t par[32];
    capnp_builder b;
    capnp_struct_builder p;
    size_t len;
    capnp_builder_init(&b, par, sizeof par);
    capos_TerminalByteStream_drain_Params_init_root(&b, &p);
    capnp_finish(&b, &len);
    memcpy(c->drain_res, par, len);
    CapSqe sqe;
    capos_TerminalByteStream_drain_sqe(&sqe, c->stream.id,
                                       capos_va(c->drain_res), (uint32_t)len,
                                       capos_va(c->drain_res), TERM_DRAIN_RES,
                                       0);
    sqe.user_data = capos_rt_tag();
    c->drain_tag = capos_rt_submit(&sqe) == 0 ? sqe.user_data : 0;
}

bool term_flush(struct conn *c)
{
    if (c->out_len && c->chan) {
        /* Non-blocking: libssh writes what the client's window allows
         * and returns that count; the rest waits for a window adjust. */
        int n = ssh_channel_write(c->chan, c->out, c->out_len);
        if (n < 0)
            return false;
        c->out += n;
        c->out_len -= (uint32_t)n;
    }
    if (c->out_len || !c->out_ended)
        return true;
    /* The shell is done with its terminal: the session ends cleanly. */
    c->out_ended = false;
    c->term_ended = true;
    if (c->chan) {
        (void)ssh_channel_request_send_exit_status(c->chan, 0);
        (void)ssh_channel_send_eof(c->chan);
        (void)ssh_channel_close(c->chan);
    }
    return true;
}

bool term_on_drain(struct conn *c, const CapCqe *cqe)
{
    c->drain_tag = 0;
    capnp_message m;
    capnp_struct root;
    const uint8_t *d = NULL;
    size_t n = 0;
    bool ended = true;
    if (capos_rt_result_msg(cqe, c->drain_res, TERM_DRAIN_RES, &m, &root) &&
        capos_TerminalByteStream_drain_Results_get_data(&root, &d, &n) == 0)
        ended = capos_TerminalByteStream_drain_Results_get_ended(&root);
    c->out = d;
    c->out_len = c->chan ? (uint32_t)n : 0;
    c->out_ended = ended;
    return term_flush(c);
}

int term_feed(ssh_session s, ssh_channel ch, void *data, uint32_t len,
              int is_stderr, void *ud)
{
    (void)s, (void)ch, (void)is_stderr;
    struct conn *c = ud;
    if (!c->have_stream || c->term_ended)
        return (int)len; /* nowhere to go: dropped */
    struct worker *w = c->w;
    uint32_t n = len < TERM_FEED_MAX ? len : TERM_FEED_MAX;
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message m;
    capnp_struct root;
    capnp_builder_init(&b, w->pbuf, GW_CALL_BUF);
    capos_TerminalByteStream_feed_Params_init_root(&b, &p);
    capos_TerminalByteStream_feed_Params_set_data(&p, data, n);
    if (capos_rt_call_capnp(c->stream, CAPOS_TERMINAL_BYTE_STREAM_FEED_METHOD_ID,
                            &b, w->rbuf, GW_CALL_BUF, &m, &root) < 0)
        return (int)len; /* the terminal has ended: drain says so */
    /* What the terminal did not take stays in libssh's buffer (and the
     * channel window) for the next round. */
    return (int)capos_TerminalByteStream_feed_Results_get_accepted(&root);
}

void term_resize(struct conn *c)
{
    if (!c->have_stream)
        return;
    struct worker *w = c->w;
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, w->pbuf, GW_CALL_BUF);
    capos_TerminalByteStream_resize_Params_init_root(&b, &p);
    capos_TerminalByteStream_resize_Params_set_columns(&p, c->cols);
    capos_TerminalByteStream_resize_Params_set_rows(&p, c->rows);
    (void)capos_rt_call_capnp(c->stream,
                              CAPOS_TERMINAL_BYTE_STREAM_RESIZE_METHOD_ID, &b,
                              w->rbuf, GW_CALL_BUF, NULL, NULL);
}

void term_end(struct conn *c)
{
    if (c->have_stream) {
        /* The client is gone: the shell's terminal ends, and so does a
         * waiting drain, whose completion is collected here. */
        term_stream_call0(c, CAPOS_TERMINAL_BYTE_STREAM_HANG_UP_METHOD_ID);
        if (c->drain_tag) {
            unsigned which;
            CapCqe cqe;
            (void)capos_rt_wait_any(&c->drain_tag, 1, &which, &cqe,
                                    CAP_TIMEOUT_INFINITE);
            c->drain_tag = 0;
        }
        capos_rt_release(c->stream);
        c->have_stream = false;
    }
    if (c->have_shell) {
        capos_rt_release(c->shell); /* the shell ends on its own */
        c->have_shell = false;
    }
    capos_free(c->drain_res);
    c->drain_res = NULL;
}
