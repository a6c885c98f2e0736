/*
 * worker.c - one telnet-gateway worker thread (gateway.h): its event
 * loop over its own ring (capos_rt_submit + capos_rt_wait_any), its
 * accept waiting on the shared TcpListener, refusing a connection over
 * the gateway's bound, the 100 ms tick that times negotiations out, and
 * its buffers. A connection lives and dies on the worker whose accept
 * took it (conn.c, launch.c); nothing is handed between threads.
 */
#include <stdio.h>
#include <string.h>

#include "gateway.h"

/* What a tag in the loop's wait set stands for. */
enum worker_op { OP_ACCEPT, OP_TICK, OP_RECV, OP_SEND, OP_WAIT };

/* The loop's wait set: every outstanding call of the worker. */
struct worker_waits {
    uint64_t tags[2 + 3 * WORKER_CONNS];
    uint16_t who[2 + 3 * WORKER_CONNS]; /* connection index */
    uint8_t what[2 + 3 * WORKER_CONNS]; /* enum worker_op */
    unsigned n;
};

static void worker_post_accept(struct worker *w)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, w->accept_par, sizeof w->accept_par);
    capos_TcpListener_accept_Params_init_root(&b, &p);
    size_t len;
    capnp_finish(&b, &len);
    CapSqe sqe;
    capos_TcpListener_accept_sqe(&sqe, w->g->listener.id,
                                 capos_va(w->accept_par), (uint32_t)len,
                                 capos_va(w->accept_res), RES_BUF, 0);
    w->accept_tag = calls_submit(&sqe);
}

static void worker_post_tick(struct worker *w)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, w->tick_par, sizeof w->tick_par);
    capos_Timer_sleep_Params_init_root(&b, &p);
    capos_Timer_sleep_Params_set_ns(&p, TICK_NS);
    size_t len;
    capnp_finish(&b, &len);
    CapSqe sqe;
    capos_Timer_sleep_sqe(&sqe, w->g->timer.id, capos_va(w->tick_par),
                          (uint32_t)len, capos_va(w->tick_res), RES_BUF, 0);
    w->tick_tag = calls_submit(&sqe);
}

/* A free record of w, or NULL. */
static struct conn *worker_free_record(struct worker *w)
{
    for (unsigned i = 0; i < WORKER_CONNS; i++)
        if (w->conns[i].st == C_FREE)
            return &w->conns[i];
    return NULL;
}

/* Count one more open connection against the gateway's bound; false (and
 * nothing counted) when the bound is reached. Workers claim concurrently,
 * hence the compare-and-swap. */
static bool worker_claim(struct gateway *g)
{
    unsigned n = __atomic_load_n(&g->live, __ATOMIC_RELAXED);
    do {
        if (n >= __atomic_load_n(&g->limit, __ATOMIC_RELAXED))
            return false;
    } while (!__atomic_compare_exchange_n(&g->live, &n, n + 1, false,
                                          __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return true;
}

/* Refuse socket s (peer pb) over the bound: one line to it, synchronously
 * (nobody will serve it), its close and release, a console line and an
 * audit record. */
static void worker_refuse(struct worker *w, capos_cap_t s, const char *pb)
{
    static const char line[] = "capos telnet-gateway: too many connections; "
                               "try again later\r\n";
    struct gateway *g = w->g;
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, w->pbuf, CALL_BUF);
    capos_TcpSocket_send_Params_init_root(&b, &p);
    capos_TcpSocket_send_Params_set_data(&p, line, sizeof line - 1);
    (void)capos_rt_call_capnp(s, CAPOS_TCP_SOCKET_SEND_METHOD_ID, &b, w->rbuf,
                              CALL_BUF, NULL, NULL);
    conn_close_socket(w, s);
    capos_rt_release(s);
    unsigned limit = __atomic_load_n(&g->limit, __ATOMIC_RELAXED);
    gateway_say(g, "telnet-gateway: refused %s: all %u connections in use", pb,
                limit);
    gateway_audit(g, "connection-refused-full", CAPOS_AUDIT_OUTCOME_DENIED,
                  "%s: all %u connections in use", pb, limit);
}

/* An accept that brought no socket: a closed listener stops this
 * worker's accepting; another failure loses one connection (e.g. no cap
 * slot for it: the kernel closed it), and too many in a row stop it too,
 * not to spin on a broken listener. */
static void worker_accept_failed(struct worker *w, const CapCqe *cqe,
                                 bool closed)
{
    struct gateway *g = w->g;
    if (closed) {
        gateway_say(g,
                    "telnet-gateway: worker %u: the listener was closed; no "
                    "new connections",
                    w->index);
        w->have_listener = false;
        return;
    }
    gateway_say(g, "telnet-gateway: an accept failed (error %d); accepting on",
                cqe->result);
    if (++w->accept_failures > ACCEPT_FAILURES_MAX) {
        gateway_say(g,
                    "telnet-gateway: worker %u: %u accepts failed in a row; "
                    "no new connections",
                    w->index, w->accept_failures);
        w->have_listener = false;
    }
}

/* The peer of an accept result as "ADDR:PORT" in pb (PEER_MAX + 1
 * bytes), anything but printable ASCII replaced: it is shown on the
 * console and in audit records. "?" if the result names none. */
static void worker_peer_text(capnp_struct *ar, char *pb)
{
    capnp_struct peer;
    const char *a;
    size_t an, k = 0;
    strcpy(pb, "?");
    if (capos_TcpAcceptResult_accepted_get_peer(ar, &peer) != 0 ||
        capos_SocketAddress_get_address(&peer, &a, &an) != 0)
        return;
    for (size_t i = 0; i < an && k + 7 < PEER_MAX + 1; i++)
        pb[k++] = (a[i] >= 0x21 && a[i] < 0x7f) ? a[i] : '?';
    snprintf(pb + k, PEER_MAX + 1 - k, ":%u",
             (unsigned)capos_SocketAddress_get_port(&peer));
}

/* Open connection s from pb on free record c: its number, a console
 * line, an audit record, and its negotiation started. */
static void worker_open(struct worker *w, struct conn *c, capos_cap_t s,
                        const char *pb)
{
    struct gateway *g = w->g;
    memset(c, 0, sizeof *c);
    c->id = __atomic_add_fetch(&g->next_id, 1u, __ATOMIC_RELAXED);
    c->sock = s;
    c->have_sock = true;
    memcpy(c->peer, pb, sizeof c->peer);
    gateway_say(g, "telnet-gateway: connection %u from %s opened", c->id,
                c->peer);
    gateway_audit(g, "connection-opened", CAPOS_AUDIT_OUTCOME_INFO,
                  "connection %u from %s", c->id, c->peer);
    conn_start(w, c);
}

/* The accept completed: open the connection, refuse it over the bound,
 * or count the failure. */
static void worker_on_accept(struct worker *w, const CapCqe *cqe)
{
    w->accept_tag = 0;
    capnp_message m;
    capnp_struct root, ar;
    CapTransferResult rec;
    bool decoded = capos_rt_result_msg(cqe, w->accept_res, RES_BUF, &m, &root) &&
                   capos_TcpListener_accept_Results_get_result(&root, &ar) == 0;
    if (!decoded ||
        capos_TcpAcceptResult_which(&ar) !=
            CAPOS_TCP_ACCEPT_RESULT_WHICH_ACCEPTED ||
        !capos_rt_result_cap(cqe, w->accept_res, RES_BUF, 0, &rec) ||
        rec.interface_id != CAPOS_TCP_SOCKET_INTERFACE_ID) {
        capos_rt_drop_result_caps(cqe, w->accept_res, RES_BUF, UINT32_MAX);
        worker_accept_failed(w, cqe,
                             decoded &&
                                 capos_TcpAcceptResult_which(&ar) ==
                                     CAPOS_TCP_ACCEPT_RESULT_WHICH_ERROR &&
                                 capos_TcpAcceptResult_get_error(&ar) ==
                                     CAPOS_NET_ERROR_CLOSED);
        return;
    }
    w->accept_failures = 0;
    capos_rt_drop_result_caps(cqe, w->accept_res, RES_BUF, 0);
    capos_cap_t s = {rec.cap_id, rec.interface_id};
    char pb[PEER_MAX + 1];
    worker_peer_text(&ar, pb);
    /* The accept was posted with a record free; only the shared bound
     * can refuse. */
    struct conn *c = worker_free_record(w);
    if (!c || !worker_claim(w->g)) {
        worker_refuse(w, s, pb);
        return;
    }
    worker_open(w, c, s, pb);
}

/* The tick: count down each negotiation; one that ran out of time gets
 * its shell all the same. */
static void worker_on_tick(struct worker *w)
{
    w->tick_tag = 0;
    for (unsigned i = 0; i < WORKER_CONNS; i++) {
        struct conn *c = &w->conns[i];
        if (c->st != C_NEGOTIATING || c->ticks_left == 0 || --c->ticks_left > 0)
            continue;
        /* No answer in time: a telnet client that is slow, or a client
         * that does not speak telnet. It gets its shell all the same;
         * intoTerminalSession ends the recv still waiting (docs/net.md),
         * and a client that never sends anything is closed by the
         * forward's idle timeout. */
        c->timed_out = true;
        gateway_audit(w->g, "negotiation-timeout", CAPOS_AUDIT_OUTCOME_INFO,
                      "connection %u from %s: no answer to the negotiation "
                      "in time; the shell starts without it",
                      c->id, c->peer);
        conn_neg_finish(w, c);
    }
}

static void worker_wait_on(struct worker_waits *ws, uint64_t tag, unsigned who,
                           enum worker_op what)
{
    ws->tags[ws->n] = tag;
    ws->who[ws->n] = (uint16_t)who;
    ws->what[ws->n++] = (uint8_t)what;
}

/* Post the accept (only with a record free: every connection this worker
 * takes is served at once, within its ring's CQ) and the tick (while a
 * connection negotiates), and gather every outstanding call into ws. */
static void worker_gather(struct worker *w, struct worker_waits *ws)
{
    bool negotiating = false;
    ws->n = 0;
    if (w->have_listener && !w->accept_tag && worker_free_record(w))
        worker_post_accept(w);
    if (w->accept_tag)
        worker_wait_on(ws, w->accept_tag, 0, OP_ACCEPT);
    for (unsigned i = 0; i < WORKER_CONNS; i++) {
        struct conn *c = &w->conns[i];
        if (c->st == C_NEGOTIATING)
            negotiating = true;
        if (c->recv_tag)
            worker_wait_on(ws, c->recv_tag, i, OP_RECV);
        if (c->send_tag)
            worker_wait_on(ws, c->send_tag, i, OP_SEND);
        if (c->wait_tag)
            worker_wait_on(ws, c->wait_tag, i, OP_WAIT);
    }
    if (negotiating && !w->tick_tag)
        worker_post_tick(w);
    if (w->tick_tag)
        worker_wait_on(ws, w->tick_tag, 0, OP_TICK);
}

/* One worker's event loop, on the calling thread's ring. Returns when the
 * worker has no listener and no connection left, or a wait fails. */
static void worker_run(struct worker *w)
{
    struct worker_waits ws;
    for (;;) {
        worker_gather(w, &ws);
        if (ws.n == 0)
            return; /* no listener and no connection left */
        unsigned which;
        CapCqe cqe;
        int r = capos_rt_wait_any(ws.tags, ws.n, &which, &cqe,
                                  CAP_TIMEOUT_INFINITE);
        if (r != 0) {
            gateway_say(w->g,
                        "telnet-gateway: worker %u: waiting failed (error "
                        "%d); stopping",
                        w->index, r);
            return;
        }
        struct conn *c = &w->conns[ws.who[which]];
        switch (ws.what[which]) {
        case OP_ACCEPT:
            worker_on_accept(w, &cqe);
            break;
        case OP_TICK:
            worker_on_tick(w);
            break;
        case OP_RECV:
            conn_on_recv(w, c, &cqe);
            break;
        case OP_SEND:
            conn_on_send(w, c, &cqe);
            break;
        default:
            conn_on_wait(w, c, &cqe);
            break;
        }
        /* Releases wait in capos-rt's queue for the next submission;
         * the loop may not submit again for a long time, and a finished
         * connection must not keep its socket or process alive. */
        capos_rt_flush_releases();
    }
}

/* A worker thread: its loop. Records a loop that stopped on a failed
 * wait leaves are freed by worker_end once the thread has exited. */
void worker_main(void *arg)
{
    worker_run(arg);
}

bool worker_alloc(struct worker *w)
{
    w->pbuf = capos_alloc(CALL_BUF);
    w->rbuf = capos_alloc(CALL_BUF);
    w->accept_res = capos_alloc(RES_BUF);
    w->tick_res = capos_alloc(RES_BUF);
    return w->pbuf && w->rbuf && w->accept_res && w->tick_res;
}

/*
 * Free what worker w still holds, once its thread has ended: a thread
 * that exits cancels the calls still pending on its own ring (docs/abi.md
 * §16.3), so no completion can write into a record freed here. Then its
 * buffers.
 */
void worker_end(struct worker *w)
{
    for (unsigned i = 0; i < WORKER_CONNS; i++) {
        struct conn *c = &w->conns[i];
        if (c->st == C_FREE)
            continue;
        c->recv_tag = c->send_tag = c->wait_tag = 0;
        conn_reap(w, c);
    }
    capos_free(w->pbuf);
    capos_free(w->rbuf);
    capos_free(w->accept_res);
    capos_free(w->tick_res);
    w->pbuf = w->rbuf = w->accept_res = w->tick_res = NULL;
}
