/*
 * conn.c - one telnet-gateway connection (gateway.h), from the accept
 * to the shell's end: its record and buffers, the negotiation's recv
 * and send (negotiate.c decides what to answer), the end of the
 * negotiation (answered or timed out) handing over to launch.c, the
 * shell's wait, and every way a connection is aborted. A record is
 * freed (conn_reap) only once none of its calls is outstanding, so no
 * completion ever writes into a record reused for another connection.
 *
 * Everything here runs on the thread of the worker that owns the
 * record; only the gateway's live count is shared (atomic).
 */
#include <stdio.h>
#include <string.h>

#include "gateway.h"

/* The buffers of c's asynchronous calls (none may be outstanding). */
static void conn_free_buffers(struct conn *c)
{
    capos_free(c->recv_res);
    capos_free(c->send_par);
    capos_free(c->wait_res);
    c->recv_res = c->send_par = c->wait_res = NULL;
}

/* Free a record of w once nothing of it is outstanding; the connection
 * no longer counts against the gateway's bound. */
void conn_reap(struct worker *w, struct conn *c)
{
    if (c->st == C_FREE || c->recv_tag || c->send_tag || c->wait_tag)
        return;
    if (c->have_sock)
        capos_rt_release(c->sock);
    if (c->have_proc)
        capos_rt_release(c->proc);
    conn_free_buffers(c);
    memset(c, 0, sizeof *c);
    __atomic_fetch_sub(&w->g->live, 1u, __ATOMIC_RELAXED);
}

/* TcpSocket.close of sock, synchronously (the call does not wait for
 * the peer); its outstanding recv and send then complete. The cap stays
 * the caller's to release. */
void conn_close_socket(struct worker *w, capos_cap_t sock)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, w->pbuf, CALL_BUF);
    capos_TcpSocket_close_Params_init_root(&b, &p);
    (void)capos_rt_call_capnp(sock, CAPOS_TCP_SOCKET_CLOSE_METHOD_ID, &b,
                              w->rbuf, CALL_BUF, NULL, NULL);
}

/* End connection c before a shell runs: close its socket, audit why,
 * and free the record as soon as its calls have completed. */
void conn_abort(struct worker *w, struct conn *c, const char *code,
                uint16_t outcome, const char *why)
{
    gateway_say(w->g, "telnet-gateway: connection %u closed: %s", c->id, why);
    gateway_audit(w->g, code, outcome, "connection %u from %s: %s", c->id,
                  c->peer, why);
    if (c->have_sock)
        conn_close_socket(w, c->sock);
    c->st = C_CLOSING;
    conn_reap(w, c);
}

/* ---- negotiation I/O ---- */

/* Send what libtelnet queued, if no send is outstanding. Returns false if
 * the send could not be submitted. */
static bool conn_flush_send(struct conn *c)
{
    if (c->send_tag || c->neg.outn == 0)
        return true;
    size_t n;
    const unsigned char *out = tn_neg_take(&c->neg, &n);
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, c->send_par, RES_BUF);
    capos_TcpSocket_send_Params_init_root(&b, &p);
    capos_TcpSocket_send_Params_set_data(&p, out, n);
    size_t len;
    if (capnp_finish(&b, &len) != 0)
        return false;
    CapSqe sqe;
    capos_TcpSocket_send_sqe(&sqe, c->sock.id, capos_va(c->send_par),
                             (uint32_t)len, capos_va(c->send_par), RES_BUF, 0);
    c->send_tag = calls_submit(&sqe);
    return c->send_tag != 0;
}

/* Post the negotiation's recv (at most RECV_MAX bytes). Returns false if
 * it could not be submitted. */
static bool conn_post_recv(struct conn *c)
{
    capnp_builder b;
    capnp_struct_builder p;
    uint8_t par[64];
    capnp_builder_init(&b, par, sizeof par);
    capos_TcpSocket_recv_Params_init_root(&b, &p);
    capos_TcpSocket_recv_Params_set_maxBytes(&p, RECV_MAX);
    size_t len;
    if (capnp_finish(&b, &len) != 0)
        return false;
    /* The params are copied when the kernel consumes the SQE; keep them in
     * the result buffer, which the kernel writes only on completion. */
    memcpy(c->recv_res, par, len);
    CapSqe sqe;
    capos_TcpSocket_recv_sqe(&sqe, c->sock.id, capos_va(c->recv_res),
                             (uint32_t)len, capos_va(c->recv_res), RES_BUF, 0);
    c->recv_tag = calls_submit(&sqe);
    return c->recv_tag != 0;
}

/* Start negotiating on a connection just accepted (c counted against
 * the bound, its socket set): its buffers, the offers sent, the first
 * recv posted. On failure c is aborted. */
void conn_start(struct worker *w, struct conn *c)
{
    c->st = C_NEGOTIATING;
    c->recv_res = capos_alloc(RES_BUF);
    c->send_par = capos_alloc(RES_BUF);
    c->wait_res = capos_alloc(RES_BUF);
    if (!c->recv_res || !c->send_par || !c->wait_res) {
        conn_abort(w, c, "gateway-out-of-memory", CAPOS_AUDIT_OUTCOME_ERROR,
                   "no memory for the connection");
        return;
    }
    tn_neg_start(&c->neg);
    c->ticks_left = NEG_TIMEOUT_TICKS;
    if (!conn_flush_send(c) || !conn_post_recv(c))
        conn_abort(w, c, "gateway-ring-full", CAPOS_AUDIT_OUTCOME_ERROR,
                   "cannot submit the negotiation");
}

/*
 * The negotiation of c is over: every offer answered (no recv
 * outstanding), or the time ran out (c->timed_out; the recv still waits,
 * and intoTerminalSession ends it). Once the last reply is sent, launch.
 */
void conn_neg_finish(struct worker *w, struct conn *c)
{
    c->st = C_NEG_DONE;
    if (c->send_tag)
        return; /* conn_on_send comes back here */
    if (c->neg.dropped)
        gateway_say(w->g,
                    "telnet-gateway: connection %u: %zu byte%s typed before "
                    "the prompt dropped",
                    c->id, c->neg.dropped, c->neg.dropped == 1 ? "" : "s");
    if (c->timed_out)
        gateway_say(w->g,
                    "telnet-gateway: connection %u not negotiated (no answer "
                    "in %u ms; naws %ux%u): starting the shell anyway",
                    c->id, NEG_TIMEOUT_TICKS * (unsigned)(TICK_NS / 1000000u),
                    (unsigned)c->neg.cols, (unsigned)c->neg.rows);
    else
        gateway_say(w->g,
                    "telnet-gateway: connection %u negotiated (echo, sga, "
                    "naws %ux%u)",
                    c->id, (unsigned)c->neg.cols, (unsigned)c->neg.rows);
    launch_shell(w, c);
}

/* A recv of c completed: feed the negotiation, send its replies, and
 * recv again, finish, or abort c. */
void conn_on_recv(struct worker *w, struct conn *c, const CapCqe *cqe)
{
    c->recv_tag = 0;
    capnp_message m;
    capnp_struct root, rr;
    if (c->st == C_CLOSING) {
        conn_reap(w, c);
        return;
    }
    if (c->st == C_RUNNING)
        return; /* the recv intoTerminalSession ended (error closed) */
    if (!capos_rt_result_msg(cqe, c->recv_res, RES_BUF, &m, &root) ||
        capos_TcpSocket_recv_Results_get_result(&root, &rr) != 0) {
        conn_abort(w, c, "recv-failed", CAPOS_AUDIT_OUTCOME_ERROR,
                   "the socket failed during the negotiation");
        return;
    }
    uint16_t which = capos_TcpRecvResult_which(&rr);
    if (which != CAPOS_TCP_RECV_RESULT_WHICH_DATA) {
        conn_abort(w, c, "peer-closed-in-negotiation", CAPOS_AUDIT_OUTCOME_INFO,
                   "the client left during the negotiation");
        return;
    }
    const uint8_t *data;
    size_t n;
    if (capos_TcpRecvResult_get_data(&rr, &data, &n) != 0 || n > RECV_MAX) {
        conn_abort(w, c, "recv-failed", CAPOS_AUDIT_OUTCOME_ERROR,
                   "bad recv result");
        return;
    }
    bool done = tn_neg_feed(&c->neg, data, n);
    if (c->neg.bad) {
        conn_abort(w, c, "negotiation-malformed", CAPOS_AUDIT_OUTCOME_DENIED,
                   c->neg.bad);
        return;
    }
    if (!conn_flush_send(c)) {
        conn_abort(w, c, "gateway-ring-full", CAPOS_AUDIT_OUTCOME_ERROR,
                   "cannot submit a negotiation reply");
        return;
    }
    /* Answered, or timed out while its last reply was being sent: no
     * more recv, launch once the send is done. */
    if (done || c->st == C_NEG_DONE) {
        conn_neg_finish(w, c);
        return;
    }
    if (!conn_post_recv(c))
        conn_abort(w, c, "gateway-ring-full", CAPOS_AUDIT_OUTCOME_ERROR,
                   "cannot submit a recv");
}

/* A send of c completed: send what was queued meanwhile; launch if the
 * negotiation had ended while it was outstanding. */
void conn_on_send(struct worker *w, struct conn *c, const CapCqe *cqe)
{
    c->send_tag = 0;
    capnp_message m;
    capnp_struct root, sr;
    if (c->st == C_CLOSING) {
        conn_reap(w, c);
        return;
    }
    if (!capos_rt_result_msg(cqe, c->send_par, RES_BUF, &m, &root) ||
        capos_TcpSocket_send_Results_get_result(&root, &sr) != 0 ||
        capos_TcpSendResult_which(&sr) != CAPOS_TCP_SEND_RESULT_WHICH_SENT) {
        conn_abort(w, c, "peer-closed-in-negotiation", CAPOS_AUDIT_OUTCOME_INFO,
                   "the client left during the negotiation");
        return;
    }
    if (!conn_flush_send(c)) {
        conn_abort(w, c, "gateway-ring-full", CAPOS_AUDIT_OUTCOME_ERROR,
                   "cannot submit a negotiation reply");
        return;
    }
    if (c->st == C_NEG_DONE)
        conn_neg_finish(w, c);
}

/* c's shell exited (or waiting failed): a console line and an audit
 * record with its status, and the record freed. */
void conn_on_wait(struct worker *w, struct conn *c, const CapCqe *cqe)
{
    c->wait_tag = 0;
    capnp_message m;
    capnp_struct root;
    char why[80];
    if (capos_rt_result_msg(cqe, c->wait_res, RES_BUF, &m, &root))
        snprintf(
            why, sizeof why, "shell exited with status %lld",
            (long long)capos_ProcessHandle_wait_Results_get_exitCode(&root));
    else
        snprintf(why, sizeof why, "waiting for the shell failed (error %d)",
                 cqe->result);
    /* Release the shell's handle before saying so: once the line is out,
     * the gateway holds nothing of the connection. */
    unsigned id = c->id;
    char peer[PEER_MAX + 1];
    memcpy(peer, c->peer, sizeof peer);
    c->st = C_CLOSING;
    conn_reap(w, c);
    capos_rt_flush_releases();
    gateway_say(w->g, "telnet-gateway: connection %u closed: %s", id, why);
    gateway_audit(w->g, "session-ended", CAPOS_AUDIT_OUTCOME_INFO,
                  "connection %u from %s: %s", id, peer, why);
}
