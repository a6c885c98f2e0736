/*
 * launch.c - a negotiated telnet-gateway connection to a running shell
 * (gateway.h): TcpSocket.intoTerminalSession (which ends a recv still
 * outstanding with error closed: conn_on_recv takes that CQE later),
 * then RestrictedShellLauncher.launchShell(null, "", terminal, []) with
 * the terminal moved, then the shell's ProcessHandle.wait posted. Both
 * calls are synchronous on the worker's ring: neither waits for the
 * client. The launcher's answer is untrusted: its result and cap are
 * checked before the handle is kept.
 */
#include <stdio.h>
#include <string.h>

#include "gateway.h"

/* End c after its socket was handed on (nothing of it left to close):
 * a console line, an audit record, the record freed. */
static void launch_fail(struct worker *w, struct conn *c, const char *code,
                        uint16_t outcome, const char *why)
{
    c->st = C_CLOSING;
    gateway_say(w->g, "telnet-gateway: connection %u closed: %s", c->id, why);
    gateway_audit(w->g, code, outcome, "connection %u from %s: %s", c->id,
                  c->peer, why);
    conn_reap(w, c);
}

/* TcpSocket.intoTerminalSession on c's socket. True with *term set and
 * the spent socket released; false with c aborted. */
static bool launch_terminal(struct worker *w, struct conn *c, capos_cap_t *term)
{
    capnp_builder b;
    capnp_struct_builder p;
    CapCqe cqe;
    char why[200], ebuf[120];
    capnp_builder_init(&b, w->pbuf, CALL_BUF);
    capos_TcpSocket_intoTerminalSession_Params_init_root(&b, &p);
    size_t len;
    int r = capnp_finish(&b, &len);
    if (r == 0)
        r = capos_rt_invoke(c->sock,
                            CAPOS_TCP_SOCKET_INTO_TERMINAL_SESSION_METHOD_ID,
                            w->pbuf, (uint32_t)len, w->rbuf, CALL_BUF, &cqe);
    CapTransferResult rec;
    if (r < 0 || !capos_rt_result_cap(&cqe, w->rbuf, CALL_BUF, 0, &rec) ||
        rec.interface_id != CAPOS_TERMINAL_SESSION_INTERFACE_ID) {
        if (r >= 0)
            capos_rt_drop_result_caps(&cqe, w->rbuf, CALL_BUF, UINT32_MAX);
        snprintf(
            why, sizeof why, "no terminal session (%s)",
            r < 0 ? capos_rt_error_text(w->rbuf, CALL_BUF, r, ebuf, sizeof ebuf)
                  : "wrong result");
        conn_abort(w, c, "terminal-failed", CAPOS_AUDIT_OUTCOME_ERROR, why);
        return false;
    }
    capos_rt_drop_result_caps(&cqe, w->rbuf, CALL_BUF, 0);
    *term = (capos_cap_t){rec.cap_id, rec.interface_id};
    /* The socket cap is spent (its calls now fail with disconnected). */
    capos_rt_release(c->sock);
    c->have_sock = false;
    return true;
}

/*
 * RestrictedShellLauncher.launchShell with term moved: session a null
 * capability, profile and grants empty. Returns the result length (>= 0,
 * the reply in w->rbuf, *cqe its completion) or a negative error. The
 * terminal is gone either way: a CALL that reached the launcher moved
 * it there, whatever it answered; one refused for its transfer (or
 * never made) left it ours, and it is released here, which closes the
 * connection.
 */
static int launch_call(struct worker *w, capos_cap_t term, CapCqe *cqe)
{
    capnp_builder b;
    capnp_struct_builder p;
    size_t len;
    capnp_builder_init(&b, w->pbuf,
                       CALL_BUF - 8 - sizeof(CapTransferDescriptor));
    capos_RestrictedShellLauncher_launchShell_Params_init_root(&b, &p);
    capos_RestrictedShellLauncher_launchShell_Params_set_terminal(&p, 0);
    int r = capnp_finish(&b, &len);
    bool term_ours = r != 0; /* until a CALL takes it */
    if (r == 0) {
        CapTransferDescriptor d = {.cap_id = term.id, .mode = CAP_XFER_MOVE};
        memcpy(w->pbuf + CAP_ALIGN8(len), &d, sizeof d);
        CapSqe sqe;
        capos_RestrictedShellLauncher_launchShell_sqe_xfer(
            &sqe, w->g->launcher.id, capos_va(w->pbuf), (uint32_t)len, 1,
            capos_va(w->rbuf), CALL_BUF, 0);
        r = capos_rt_call(&sqe, cqe);
        if (r == 0)
            r = cqe->result;
        term_ours =
            r == CAP_ERR_INVALID_TRANSFER || r == CAP_ERR_INVALID_REQUEST;
    }
    if (r < 0 && term_ours)
        capos_rt_release(term);
    return r;
}

/* The launcher's reply (lc: its completion, result length set): true
 * with c->proc set when a shell was launched; else false with c ended
 * (denied, or a reply that is not a launch). */
static bool launch_result(struct worker *w, struct conn *c, const CapCqe *lc)
{
    capnp_message m;
    capnp_struct root, lr;
    CapTransferResult rec;
    bool decoded = capos_rt_result_msg(lc, w->rbuf, CALL_BUF, &m, &root) &&
                   capos_RestrictedShellLauncher_launchShell_Results_get_result(
                       &root, &lr) == 0;
    if (!decoded ||
        capos_LaunchResult_which(&lr) != CAPOS_LAUNCH_RESULT_WHICH_LAUNCHED ||
        !capos_rt_result_cap(lc, w->rbuf, CALL_BUF, 0, &rec) ||
        rec.interface_id != CAPOS_PROCESS_HANDLE_INTERFACE_ID) {
        capos_rt_drop_result_caps(lc, w->rbuf, CALL_BUF, UINT32_MAX);
        unsigned denial = 99;
        if (decoded &&
            capos_LaunchResult_which(&lr) == CAPOS_LAUNCH_RESULT_WHICH_DENIED)
            denial = capos_LaunchResult_get_denied(&lr);
        char why[80];
        snprintf(why, sizeof why, "the launcher started no shell (denial %u)",
                 denial);
        launch_fail(w, c, "launch-denied", CAPOS_AUDIT_OUTCOME_DENIED, why);
        return false;
    }
    capos_rt_drop_result_caps(lc, w->rbuf, CALL_BUF, 0);
    c->proc = (capos_cap_t){rec.cap_id, rec.interface_id};
    c->have_proc = true;
    return true;
}

/* Post ProcessHandle.wait on c's shell; without it, detach the shell (it
 * runs on, and its terminal closes when it exits) rather than hold the
 * record. */
static void launch_wait(struct worker *w, struct conn *c)
{
    capnp_builder b;
    capnp_struct_builder p;
    uint8_t par[32];
    size_t len;
    capnp_builder_init(&b, par, sizeof par);
    capos_ProcessHandle_wait_Params_init_root(&b, &p);
    capnp_finish(&b, &len);
    memcpy(c->wait_res, par, len);
    CapSqe sqe;
    capos_ProcessHandle_wait_sqe(&sqe, c->proc.id, capos_va(c->wait_res),
                                 (uint32_t)len, capos_va(c->wait_res), RES_BUF,
                                 0);
    c->wait_tag = calls_submit(&sqe);
    if (!c->wait_tag) {
        gateway_say(w->g,
                    "telnet-gateway: connection %u: cannot wait for the "
                    "shell; detaching it",
                    c->id);
        c->st = C_CLOSING;
        conn_reap(w, c);
    }
}

/* Turn c (negotiated, its last reply sent) into a running shell: on
 * success c is C_RUNNING with its wait posted; on any failure c is ended
 * with a console line and an audit record. */
void launch_shell(struct worker *w, struct conn *c)
{
    capos_cap_t term;
    if (!launch_terminal(w, c, &term))
        return;
    CapCqe cqe;
    int r = launch_call(w, term, &cqe);
    if (r < 0) {
        char why[200], ebuf[120];
        snprintf(why, sizeof why, "launcher failed: %s",
                 capos_rt_error_text(w->rbuf, CALL_BUF, r, ebuf, sizeof ebuf));
        launch_fail(w, c, "launch-failed", CAPOS_AUDIT_OUTCOME_ERROR, why);
        return;
    }
    cqe.result = r;
    if (!launch_result(w, c, &cqe))
        return;
    c->st = C_RUNNING;
    gateway_say(w->g, "telnet-gateway: connection %u: capos-shell started",
                c->id);
    launch_wait(w, c);
}
