/*
 * telnet-gateway - the Telnet terminal host (builtin "telnet-gateway";
 * docs/telnet.md). Demo only: Telnet is plaintext.
 *
 * It listens once on the guest port its scoped TcpListenAuthority names
 * (23 in fixtures/system-telnet.capnp), then serves every connection at
 * once from WORKERS worker threads, each started with
 * capos_rt_thread_spawn on a ring of its own (docs/runtime.md "Threads
 * and rings"). Each worker runs one event loop (capos_rt_submit +
 * capos_rt_wait_any) with its own accept waiting on the shared
 * TcpListener and its own connection table, so a connection lives and
 * dies on the worker that accepted it and nothing is handed between
 * threads. Per connection a worker negotiates the options a telnet client
 * expects with libtelnet (negotiate.c: WILL ECHO, WILL SUPPRESS-GO-AHEAD,
 * DO NAWS; every other option is refused), waits for the answers (at most
 * NEG_TIMEOUT_TICKS), turns the socket into a TerminalSession
 * (TcpSocket.intoTerminalSession) and has RestrictedShellLauncher start
 * capos-shell on it with no session, no profile and no extra grants (the
 * shell logs its user in, as on the console). A client that does not
 * answer in time (a raw TCP client, say) gets its shell all the same:
 * intoTerminalSession ends the recv still waiting with error closed
 * (docs/net.md). The shell's ProcessHandle is waited for asynchronously;
 * when the shell exits (a disconnected client ends the shell's readLine)
 * the connection's record is freed.
 *
 * Caps: "listener" (TcpListenAuthority, required), "launcher"
 * (RestrictedShellLauncher, required), "timer" (Timer, required:
 * negotiation timeouts), "audit" (AuditLog, optional: category "telnet"),
 * "console" (Console, optional: one line per connection opened and
 * closed, never a byte of what the user typed), "threads" (ThreadSpawner
 * of its own process, kernel source threadSpawner: found by interface by
 * capos-rt; without it the main thread serves as the only worker). It
 * never holds NetworkManager, ProcessSpawner or a shell's terminal: the
 * terminal is moved to the launcher, and from it to the shell.
 *
 * Limits: at most CONN_MAX connections at once over all workers (a shared
 * count); a connection beyond them gets one refusal line and is closed.
 * A worker's ring has CAP_CQ_ENTRIES completions outstanding at most
 * (docs/abi.md §4), and a worker holds at most: its accept and its timer
 * tick (one each), and per connection two (a negotiation's recv and send;
 * a running shell's wait, plus the recv that intoTerminalSession ended
 * until the loop takes its CQE). So a worker takes at most WORKER_CONNS
 * connections, with RING_RESERVE completions left for its one synchronous
 * call at a time and the releases capos-rt sends with it; a worker with no
 * free record does not accept, and WORKERS * WORKER_CONNS > CONN_MAX
 * leaves some worker accepting to refuse the connection over the bound.
 * No connection waits for another: there is no queue. Negotiation
 * (negotiate.c) is bounded by libtelnet's buffers and TN_OUTQ_MAX bytes
 * of replies; a libtelnet error or warning, reply overflow, a peer
 * closing or a failed call closes that connection only, with an audit
 * record. Bytes of user data a client sends before the negotiation ends
 * are dropped (nothing to log in with has been shown yet).
 *
 * Calls that do not wait for the peer (intoTerminalSession,
 * launchShell, close, audit and console lines, the refusal line) are
 * made synchronously on the worker's ring; recv, send, the shell's wait,
 * the accept and the timer tick are asynchronous.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "capos_rt.h"
#include "negotiate.h"

#define CONN_MAX 64u          /* connections at once, all workers together */
#define WORKERS 6u            /* worker threads, each on its own ring */
#define WORKER_CONNS 11u      /* connection records per worker */
#define RING_RESERVE 8u       /* CQ slots for synchronous calls and releases */
#define RECV_MAX 512u         /* bytes asked for per negotiation recv */
#define TICK_NS 100000000ull  /* 100 ms */
#define NEG_TIMEOUT_TICKS 20u /* 2 s */
#define BACKLOG 128u          /* a burst of clients must fit the host queue */
#define ACCEPT_FAILURES_MAX 16u /* in a row: the listener is broken */
#define RES_BUF 1024u           /* result buffer of one asynchronous call */
#define CALL_BUF 2048u          /* params and results of synchronous calls */
#define PEER_MAX 47u

/* A worker's asynchronous calls (accept, tick, two per connection) and
 * the reserve fit its ring's CQ. */
_Static_assert(2u + 2u * WORKER_CONNS + RING_RESERVE <= CAP_CQ_ENTRIES,
               "a worker could need more completions than its CQ holds");
/* With every connection open, some worker still has a free record and an
 * accept waiting, to refuse the next one. */
_Static_assert(WORKERS *WORKER_CONNS > CONN_MAX,
               "too few records to refuse a connection over the bound");
/* One accept per worker waits on the listener (at most 8, docs/net.md);
 * the workers and the main thread fit ProcessLimits' default 8 threads. */
_Static_assert(WORKERS <= 8u && WORKERS + 1u <= 8u, "too many workers");

enum conn_state {
    C_FREE,
    C_NEGOTIATING, /* recv outstanding, replies being sent */
    C_NEG_DONE,    /* answered or timed out: draining the last send */
    C_RUNNING,     /* the shell runs; its wait is (or will be) outstanding */
    C_CLOSING,     /* socket closed: waiting for outstanding calls */
};

struct conn {
    enum conn_state st;
    unsigned id; /* connection number, for console lines */
    capos_cap_t sock, proc;
    bool have_sock, have_proc;
    bool timed_out;    /* the client did not answer the negotiation in time */
    struct tn_neg neg; /* while negotiating (no allocation of its own) */
    char peer[PEER_MAX + 1];
    uint64_t recv_tag, send_tag, wait_tag;   /* 0: none outstanding */
    uint8_t *recv_res, *send_par, *wait_res; /* RES_BUF each */
    unsigned ticks_left;
};

struct gateway;

/* One worker thread: its own ring (capos-rt finds it), buffers and
 * connection table. Only its thread touches it while it runs. */
struct worker {
    struct gateway *g;
    unsigned index;
    bool have_listener; /* this worker still accepts */
    bool spawned;
    capos_thread_t thread;
    uint8_t *pbuf, *rbuf;           /* synchronous calls */
    uint8_t *accept_res, *tick_res; /* RES_BUF each */
    uint8_t tick_par[64], accept_par[64];
    uint64_t accept_tag, tick_tag;
    struct conn conns[WORKER_CONNS];
    unsigned accept_failures; /* in a row */
};

/* Shared by the workers: caps (table-wide, usable from any thread's
 * ring), read-only while they run, and two counters updated
 * atomically. */
struct gateway {
    capos_cap_t authority, listener, launcher, timer, audit, console;
    bool have_audit, have_console, have_listener;
    uint16_t port;
    uint8_t *pbuf, *rbuf; /* the main thread's synchronous calls */
    unsigned limit;       /* connections at once (CONN_MAX with every worker) */
    unsigned live;        /* connections open, all workers (atomic) */
    unsigned next_id;     /* last connection number given (atomic) */
    struct worker workers[WORKERS];
};

static void say(struct gateway *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The schema's name of a NetError, for console lines. */
static const char *net_error_name(uint16_t e)
{
    static const char *const names[] = {
        [CAPOS_NET_ERROR_ADDRESS_IN_USE] = "addressInUse",
        [CAPOS_NET_ERROR_PERMISSION_DENIED] = "permissionDenied",
        [CAPOS_NET_ERROR_CONNECTION_RESET] = "connectionReset",
        [CAPOS_NET_ERROR_CLOSED] = "closed",
        [CAPOS_NET_ERROR_TIMED_OUT] = "timedOut",
        [CAPOS_NET_ERROR_ALREADY_USED] = "alreadyUsed",
    };
    if (e < sizeof names / sizeof names[0])
        return names[e];
    return "an unknown NetError";
}

/* One console line, control bytes escaped (capos_console_vprintf). */
static void say(struct gateway *g, const char *fmt, ...)
{
    va_list ap;
    if (!g->have_console)
        return;
    va_start(ap, fmt);
    capos_console_vprintf(g->console, fmt, ap);
    va_end(ap);
}

/* Best-effort audit record, category "telnet"; detail names the
 * connection, never its data. */
static void audit(struct gateway *g, const char *code, uint16_t outcome,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void audit(struct gateway *g, const char *code, uint16_t outcome,
                  const char *fmt, ...)
{
    if (!g->have_audit)
        return;
    char detail[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    (void)capos_audit_append(g->audit, "telnet", code, outcome, NULL, detail);
}

/* Decode the result message of a completed call: res[0..cqe->result). */
static bool result_root(const CapCqe *cqe, const uint8_t *res, capnp_message *m,
                        capnp_struct *root)
{
    return cqe->result > 0 && (uint32_t)cqe->result <= RES_BUF &&
           capnp_msg_init(m, res, (size_t)cqe->result, NULL) == 0 &&
           capnp_msg_root(m, root) == 0;
}

/* Result cap i of a completed call (res holds up to res_len bytes), or
 * false. */
static bool result_cap(const CapCqe *cqe, const uint8_t *res, size_t res_len,
                       uint32_t i, CapTransferResult *out)
{
    if (cqe->result < 0 || !(cqe->flags & CAP_CQE_F_CAPS) ||
        i >= cqe->cap_count)
        return false;
    size_t off = CAP_ALIGN8((uint32_t)cqe->result) + i * sizeof *out;
    if (off + sizeof *out > res_len)
        return false;
    memcpy(out, res + off, sizeof *out);
    return true;
}

/* Release every result cap of a completed call except index keep. */
static void drop_result_caps(const CapCqe *cqe, const uint8_t *res,
                             size_t res_len, uint32_t keep)
{
    for (uint32_t i = 0; i < cqe->cap_count; i++) {
        CapTransferResult rec;
        if (i != keep && result_cap(cqe, res, res_len, i, &rec))
            capos_rt_release((capos_cap_t){rec.cap_id, rec.interface_id});
    }
}

/* ---- connection records ---------------------------------------------- */

static void conn_free_buffers(struct conn *c)
{
    capos_free(c->recv_res);
    capos_free(c->send_par);
    capos_free(c->wait_res);
    c->recv_res = c->send_par = c->wait_res = NULL;
}

/* Free a record of w once nothing of it is outstanding; the connection
 * no longer counts against the gateway's bound. */
static void conn_reap(struct worker *w, struct conn *c)
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

/* TcpSocket.close, synchronously; outstanding recv/send then complete. */
static void sock_close(struct worker *w, struct conn *c)
{
    if (!c->have_sock)
        return;
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, w->pbuf, CALL_BUF);
    capos_TcpSocket_close_Params_init_root(&b, &p);
    (void)capos_rt_call_capnp(c->sock, CAPOS_TCP_SOCKET_CLOSE_METHOD_ID, &b,
                              w->rbuf, CALL_BUF, NULL, NULL);
}

/* End connection c before a shell runs: close its socket, audit why,
 * and free the record as soon as its calls have completed. */
static void conn_abort(struct worker *w, struct conn *c, const char *code,
                       uint16_t outcome, const char *why)
{
    say(w->g, "telnet-gateway: connection %u closed: %s", c->id, why);
    audit(w->g, code, outcome, "connection %u from %s: %s", c->id, c->peer,
          why);
    sock_close(w, c);
    c->st = C_CLOSING;
    conn_reap(w, c);
}

/* ---- negotiation ------------------------------------------------------ */

/* Count one more outstanding asynchronous call. */
static uint64_t submit(CapSqe *sqe)
{
    uint64_t tag = capos_rt_tag();
    sqe->user_data = tag;
    return capos_rt_submit(sqe) == 0 ? tag : 0;
}

/* Send what libtelnet queued, if no send is outstanding. Returns false if
 * the send could not be submitted. */
static bool flush_send(struct conn *c)
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
    c->send_tag = submit(&sqe);
    return c->send_tag != 0;
}

static bool post_recv(struct conn *c)
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
    c->recv_tag = submit(&sqe);
    return c->recv_tag != 0;
}

/* Start negotiating on a connection just accepted. */
static void conn_start(struct worker *w, struct conn *c)
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
    if (!flush_send(c) || !post_recv(c))
        conn_abort(w, c, "gateway-ring-full", CAPOS_AUDIT_OUTCOME_ERROR,
                   "cannot submit the negotiation");
}

/* TcpSocket.intoTerminalSession (which ends a recv still outstanding
 * with error closed: on_recv takes that CQE later), then
 * RestrictedShellLauncher.launchShell with the terminal moved. On success
 * c runs and its wait is posted. */
static void conn_launch(struct worker *w, struct conn *c)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message m;
    capnp_struct root, lr;
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
    if (r < 0 || !result_cap(&cqe, w->rbuf, CALL_BUF, 0, &rec) ||
        rec.interface_id != CAPOS_TERMINAL_SESSION_INTERFACE_ID) {
        if (r >= 0)
            drop_result_caps(&cqe, w->rbuf, CALL_BUF, UINT32_MAX);
        snprintf(
            why, sizeof why, "no terminal session (%s)",
            r < 0 ? capos_rt_error_text(w->rbuf, CALL_BUF, r, ebuf, sizeof ebuf)
                  : "wrong result");
        conn_abort(w, c, "terminal-failed", CAPOS_AUDIT_OUTCOME_ERROR, why);
        return;
    }
    drop_result_caps(&cqe, w->rbuf, CALL_BUF, 0);
    capos_cap_t term = {rec.cap_id, rec.interface_id};
    /* The socket cap is spent (its calls now fail with disconnected). */
    capos_rt_release(c->sock);
    c->have_sock = false;

    capnp_builder_init(&b, w->pbuf,
                       CALL_BUF - 8 - sizeof(CapTransferDescriptor));
    capos_RestrictedShellLauncher_launchShell_Params_init_root(&b, &p);
    /* session stays a null capability, profile empty, grants empty. */
    capos_RestrictedShellLauncher_launchShell_Params_set_terminal(&p, 0);
    r = capnp_finish(&b, &len);
    bool term_ours = r != 0; /* until a CALL takes it */
    if (r == 0) {
        CapTransferDescriptor d = {.cap_id = term.id, .mode = CAP_XFER_MOVE};
        memcpy(w->pbuf + CAP_ALIGN8(len), &d, sizeof d);
        CapSqe sqe;
        capos_RestrictedShellLauncher_launchShell_sqe_xfer(
            &sqe, w->g->launcher.id, capos_va(w->pbuf), (uint32_t)len, 1,
            capos_va(w->rbuf), CALL_BUF, 0);
        r = capos_rt_call(&sqe, &cqe);
        if (r == 0)
            r = cqe.result;
        /* A CALL refused for its transfer moved nothing; one that reached
         * the launcher moved the terminal there, whatever it answered. */
        term_ours =
            r == CAP_ERR_INVALID_TRANSFER || r == CAP_ERR_INVALID_REQUEST;
    }
    if (r < 0) {
        /* Releasing a terminal still ours closes the connection; one the
         * launcher holds it releases itself. */
        if (term_ours)
            capos_rt_release(term);
        snprintf(why, sizeof why, "launcher failed: %s",
                 capos_rt_error_text(w->rbuf, CALL_BUF, r, ebuf, sizeof ebuf));
        c->st = C_CLOSING;
        say(w->g, "telnet-gateway: connection %u closed: %s", c->id, why);
        audit(w->g, "launch-failed", CAPOS_AUDIT_OUTCOME_ERROR,
              "connection %u from %s: %s", c->id, c->peer, why);
        conn_reap(w, c);
        return;
    }
    CapCqe lc = cqe;
    lc.result = r;
    if (!result_root(&lc, w->rbuf, &m, &root) ||
        capos_RestrictedShellLauncher_launchShell_Results_get_result(
            &root, &lr) != 0 ||
        capos_LaunchResult_which(&lr) != CAPOS_LAUNCH_RESULT_WHICH_LAUNCHED ||
        !result_cap(&lc, w->rbuf, CALL_BUF, 0, &rec) ||
        rec.interface_id != CAPOS_PROCESS_HANDLE_INTERFACE_ID) {
        drop_result_caps(&lc, w->rbuf, CALL_BUF, UINT32_MAX);
        unsigned denial = 99;
        if (result_root(&lc, w->rbuf, &m, &root) &&
            capos_RestrictedShellLauncher_launchShell_Results_get_result(
                &root, &lr) == 0 &&
            capos_LaunchResult_which(&lr) == CAPOS_LAUNCH_RESULT_WHICH_DENIED)
            denial = capos_LaunchResult_get_denied(&lr);
        snprintf(why, sizeof why, "the launcher started no shell (denial %u)",
                 denial);
        c->st = C_CLOSING;
        say(w->g, "telnet-gateway: connection %u closed: %s", c->id, why);
        audit(w->g, "launch-denied", CAPOS_AUDIT_OUTCOME_DENIED,
              "connection %u from %s: %s", c->id, c->peer, why);
        conn_reap(w, c);
        return;
    }
    drop_result_caps(&lc, w->rbuf, CALL_BUF, 0);
    c->proc = (capos_cap_t){rec.cap_id, rec.interface_id};
    c->have_proc = true;
    c->st = C_RUNNING;
    say(w->g, "telnet-gateway: connection %u: capos-shell started", c->id);
    CapSqe sqe;
    uint8_t par[32];
    capnp_builder_init(&b, par, sizeof par);
    capos_ProcessHandle_wait_Params_init_root(&b, &p);
    capnp_finish(&b, &len);
    memcpy(c->wait_res, par, len);
    capos_ProcessHandle_wait_sqe(&sqe, c->proc.id, capos_va(c->wait_res),
                                 (uint32_t)len, capos_va(c->wait_res), RES_BUF,
                                 0);
    c->wait_tag = submit(&sqe);
    if (!c->wait_tag) {
        /* Cannot learn when it ends: detach it (it runs on, and its
         * terminal closes when it exits) rather than hold the record. */
        say(w->g,
            "telnet-gateway: connection %u: cannot wait for the shell; "
            "detaching it",
            c->id);
        c->st = C_CLOSING;
        conn_reap(w, c);
    }
}

/*
 * The negotiation of c is over: every offer answered (no recv
 * outstanding), or the time ran out (c->timed_out; the recv still waits,
 * and intoTerminalSession ends it). Once the last reply is sent, launch.
 */
static void neg_finish(struct worker *w, struct conn *c)
{
    c->st = C_NEG_DONE;
    if (c->send_tag)
        return; /* on_send comes back here */
    if (c->neg.dropped)
        say(w->g,
            "telnet-gateway: connection %u: %zu byte%s typed before "
            "the prompt dropped",
            c->id, c->neg.dropped, c->neg.dropped == 1 ? "" : "s");
    if (c->timed_out)
        say(w->g,
            "telnet-gateway: connection %u not negotiated (no answer "
            "in %u ms; naws %ux%u): starting the shell anyway",
            c->id, NEG_TIMEOUT_TICKS * (unsigned)(TICK_NS / 1000000u),
            (unsigned)c->neg.cols, (unsigned)c->neg.rows);
    else
        say(w->g,
            "telnet-gateway: connection %u negotiated (echo, sga, "
            "naws %ux%u)",
            c->id, (unsigned)c->neg.cols, (unsigned)c->neg.rows);
    conn_launch(w, c);
}

static void on_recv(struct worker *w, struct conn *c, const CapCqe *cqe)
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
    if (!result_root(cqe, c->recv_res, &m, &root) ||
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
    if (!flush_send(c)) {
        conn_abort(w, c, "gateway-ring-full", CAPOS_AUDIT_OUTCOME_ERROR,
                   "cannot submit a negotiation reply");
        return;
    }
    /* Answered, or timed out while its last reply was being sent: no
     * more recv, launch once the send is done. */
    if (done || c->st == C_NEG_DONE) {
        neg_finish(w, c);
        return;
    }
    if (!post_recv(c))
        conn_abort(w, c, "gateway-ring-full", CAPOS_AUDIT_OUTCOME_ERROR,
                   "cannot submit a recv");
}

static void on_send(struct worker *w, struct conn *c, const CapCqe *cqe)
{
    c->send_tag = 0;
    capnp_message m;
    capnp_struct root, sr;
    if (c->st == C_CLOSING) {
        conn_reap(w, c);
        return;
    }
    if (!result_root(cqe, c->send_par, &m, &root) ||
        capos_TcpSocket_send_Results_get_result(&root, &sr) != 0 ||
        capos_TcpSendResult_which(&sr) != CAPOS_TCP_SEND_RESULT_WHICH_SENT) {
        conn_abort(w, c, "peer-closed-in-negotiation", CAPOS_AUDIT_OUTCOME_INFO,
                   "the client left during the negotiation");
        return;
    }
    if (!flush_send(c)) {
        conn_abort(w, c, "gateway-ring-full", CAPOS_AUDIT_OUTCOME_ERROR,
                   "cannot submit a negotiation reply");
        return;
    }
    if (c->st == C_NEG_DONE)
        neg_finish(w, c);
}

static void on_wait(struct worker *w, struct conn *c, const CapCqe *cqe)
{
    c->wait_tag = 0;
    capnp_message m;
    capnp_struct root;
    char why[80];
    if (result_root(cqe, c->wait_res, &m, &root))
        snprintf(
            why, sizeof why, "shell exited with status %lld",
            (long long)capos_ProcessHandle_wait_Results_get_exitCode(&root));
    else
        snprintf(why, sizeof why, "waiting for the shell failed (error %d)",
                 cqe->result);
    say(w->g, "telnet-gateway: connection %u closed: %s", c->id, why);
    audit(w->g, "session-ended", CAPOS_AUDIT_OUTCOME_INFO,
          "connection %u from %s: %s", c->id, c->peer, why);
    c->st = C_CLOSING;
    conn_reap(w, c);
}

/* ---- accepting and the timer ----------------------------------------- */

static void post_accept(struct worker *w)
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
    w->accept_tag = submit(&sqe);
}

static void post_tick(struct worker *w)
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
    w->tick_tag = submit(&sqe);
}

/* Write one line to a connection nobody will serve, synchronously. */
static void sock_line(struct worker *w, capos_cap_t s, const char *text)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, w->pbuf, CALL_BUF);
    capos_TcpSocket_send_Params_init_root(&b, &p);
    capos_TcpSocket_send_Params_set_data(&p, text, strlen(text));
    (void)capos_rt_call_capnp(s, CAPOS_TCP_SOCKET_SEND_METHOD_ID, &b, w->rbuf,
                              CALL_BUF, NULL, NULL);
}

/* A free record of w, or NULL. */
static struct conn *conn_free_record(struct worker *w)
{
    for (unsigned i = 0; i < WORKER_CONNS; i++)
        if (w->conns[i].st == C_FREE)
            return &w->conns[i];
    return NULL;
}

/* Count one more open connection against the gateway's bound; false (and
 * nothing counted) when the bound is reached. Workers claim concurrently,
 * hence the compare-and-swap. */
static bool conn_claim(struct gateway *g)
{
    unsigned n = __atomic_load_n(&g->live, __ATOMIC_RELAXED);
    do {
        if (n >= __atomic_load_n(&g->limit, __ATOMIC_RELAXED))
            return false;
    } while (!__atomic_compare_exchange_n(&g->live, &n, n + 1, false,
                                          __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return true;
}

static void on_accept(struct worker *w, const CapCqe *cqe)
{
    struct gateway *g = w->g;
    w->accept_tag = 0;
    capnp_message m;
    capnp_struct root, ar, peer;
    CapTransferResult rec;
    bool decoded = result_root(cqe, w->accept_res, &m, &root) &&
                   capos_TcpListener_accept_Results_get_result(&root, &ar) == 0;
    if (!decoded ||
        capos_TcpAcceptResult_which(&ar) !=
            CAPOS_TCP_ACCEPT_RESULT_WHICH_ACCEPTED ||
        !result_cap(cqe, w->accept_res, RES_BUF, 0, &rec) ||
        rec.interface_id != CAPOS_TCP_SOCKET_INTERFACE_ID) {
        drop_result_caps(cqe, w->accept_res, RES_BUF, UINT32_MAX);
        if (decoded &&
            capos_TcpAcceptResult_which(&ar) ==
                CAPOS_TCP_ACCEPT_RESULT_WHICH_ERROR &&
            capos_TcpAcceptResult_get_error(&ar) == CAPOS_NET_ERROR_CLOSED) {
            say(g,
                "telnet-gateway: worker %u: the listener was closed; no "
                "new connections",
                w->index);
            w->have_listener = false;
            return;
        }
        /* One connection lost (e.g. no cap slot for it: the kernel closed
         * it); keep accepting, but not in a tight loop on a broken
         * listener. */
        say(g, "telnet-gateway: an accept failed (error %d); accepting on",
            cqe->result);
        if (++w->accept_failures > ACCEPT_FAILURES_MAX) {
            say(g,
                "telnet-gateway: worker %u: %u accepts failed in a row; "
                "no new connections",
                w->index, w->accept_failures);
            w->have_listener = false;
        }
        return;
    }
    w->accept_failures = 0;
    drop_result_caps(cqe, w->accept_res, RES_BUF, 0);
    capos_cap_t s = {rec.cap_id, rec.interface_id};
    char pb[PEER_MAX + 1] = "?";
    const char *a;
    size_t an;
    if (capos_TcpAcceptResult_accepted_get_peer(&ar, &peer) == 0 &&
        capos_SocketAddress_get_address(&peer, &a, &an) == 0) {
        size_t k = 0;
        for (size_t i = 0; i < an && k + 7 < sizeof pb; i++)
            pb[k++] = (a[i] >= 0x21 && a[i] < 0x7f) ? a[i] : '?';
        snprintf(pb + k, sizeof pb - k, ":%u",
                 (unsigned)capos_SocketAddress_get_port(&peer));
    }
    /* The accept was posted with a record free; only the shared bound
     * can refuse. */
    struct conn *c = conn_free_record(w);
    if (!c || !conn_claim(g)) {
        unsigned limit = __atomic_load_n(&g->limit, __ATOMIC_RELAXED);
        sock_line(w, s,
                  "capos telnet-gateway: too many connections; try "
                  "again later\r\n");
        struct conn tmp = {.have_sock = true, .sock = s};
        sock_close(w, &tmp);
        capos_rt_release(s);
        say(g, "telnet-gateway: refused %s: all %u connections in use", pb,
            limit);
        audit(g, "connection-refused-full", CAPOS_AUDIT_OUTCOME_DENIED,
              "%s: all %u connections in use", pb, limit);
        return;
    }
    memset(c, 0, sizeof *c);
    c->id = __atomic_add_fetch(&g->next_id, 1u, __ATOMIC_RELAXED);
    c->sock = s;
    c->have_sock = true;
    memcpy(c->peer, pb, sizeof pb);
    say(g, "telnet-gateway: connection %u from %s opened", c->id, c->peer);
    audit(g, "connection-opened", CAPOS_AUDIT_OUTCOME_INFO,
          "connection %u from %s", c->id, c->peer);
    conn_start(w, c);
}

static void on_tick(struct worker *w)
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
        audit(w->g, "negotiation-timeout", CAPOS_AUDIT_OUTCOME_INFO,
              "connection %u from %s: no answer to the negotiation in "
              "time; the shell starts without it",
              c->id, c->peer);
        neg_finish(w, c);
    }
}

/* ---- the loop --------------------------------------------------------- */

enum op { OP_ACCEPT, OP_TICK, OP_RECV, OP_SEND, OP_WAIT };

/* One worker's event loop, on the calling thread's ring. Returns when the
 * worker has no listener and no connection left, or a wait fails. */
static void run(struct worker *w)
{
    uint64_t tags[2 + 3 * WORKER_CONNS];
    uint16_t who[2 + 3 * WORKER_CONNS];
    uint8_t what[2 + 3 * WORKER_CONNS];
    for (;;) {
        bool negotiating = false;
        unsigned n = 0;
        /* Accept only with a record free: every connection this worker
         * takes is served at once, within its ring's CQ. */
        if (w->have_listener && !w->accept_tag && conn_free_record(w))
            post_accept(w);
        if (w->accept_tag) {
            tags[n] = w->accept_tag;
            who[n] = 0;
            what[n++] = OP_ACCEPT;
        }
        for (unsigned i = 0; i < WORKER_CONNS; i++) {
            struct conn *c = &w->conns[i];
            if (c->st == C_NEGOTIATING)
                negotiating = true;
            const uint64_t t[3] = {c->recv_tag, c->send_tag, c->wait_tag};
            for (unsigned k = 0; k < 3; k++) {
                if (!t[k])
                    continue;
                tags[n] = t[k];
                who[n] = (uint16_t)i;
                what[n++] = (uint8_t)(OP_RECV + k);
            }
        }
        if (negotiating && !w->tick_tag)
            post_tick(w);
        if (w->tick_tag) {
            tags[n] = w->tick_tag;
            who[n] = 0;
            what[n++] = OP_TICK;
        }
        if (n == 0)
            return; /* no listener and no connection left */
        unsigned which;
        CapCqe cqe;
        int r = capos_rt_wait_any(tags, n, &which, &cqe, CAP_TIMEOUT_INFINITE);
        if (r != 0) {
            say(w->g,
                "telnet-gateway: worker %u: waiting failed (error %d); "
                "stopping",
                w->index, r);
            return;
        }
        struct conn *c = &w->conns[who[which]];
        switch (what[which]) {
        case OP_ACCEPT:
            on_accept(w, &cqe);
            break;
        case OP_TICK:
            on_tick(w);
            break;
        case OP_RECV:
            on_recv(w, c, &cqe);
            break;
        case OP_SEND:
            on_send(w, c, &cqe);
            break;
        default:
            on_wait(w, c, &cqe);
            break;
        }
        /* Releases wait in capos-rt's queue for the next submission;
         * the loop may not submit again for a long time, and a finished
         * connection must not keep its socket or process alive. */
        capos_rt_flush_releases();
    }
}

static void worker_free(struct worker *w)
{
    capos_free(w->pbuf);
    capos_free(w->rbuf);
    capos_free(w->accept_res);
    capos_free(w->tick_res);
    w->pbuf = w->rbuf = w->accept_res = w->tick_res = NULL;
}

/* A worker thread: its loop. Records a loop that stopped on a failed
 * wait leaves are freed by worker_end once the thread has exited. */
static void worker_main(void *arg)
{
    run(arg);
}

/*
 * Free what worker w still holds, once its thread has ended: a thread
 * that exits cancels the calls still pending on its own ring (docs/abi.md
 * §16.3), so no completion can write into a record freed here. Then its
 * buffers.
 */
static void worker_end(struct worker *w)
{
    for (unsigned i = 0; i < WORKER_CONNS; i++) {
        struct conn *c = &w->conns[i];
        if (c->st == C_FREE)
            continue;
        c->recv_tag = c->send_tag = c->wait_tag = 0;
        conn_reap(w, c);
    }
    worker_free(w);
}

/* TcpListenAuthority.port and .listen. Returns 0 with g->listener set. */
static int open_listener(struct gateway *g)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message m;
    capnp_struct root, lr;
    capnp_builder_init(&b, g->pbuf, CALL_BUF);
    capos_TcpListenAuthority_port_Params_init_root(&b, &p);
    if (capos_rt_call_capnp(g->authority,
                            CAPOS_TCP_LISTEN_AUTHORITY_PORT_METHOD_ID, &b,
                            g->rbuf, CALL_BUF, &m, &root) >= 0)
        g->port = capos_TcpListenAuthority_port_Results_get_port(&root);
    capnp_builder_init(&b, g->pbuf, CALL_BUF);
    capos_TcpListenAuthority_listen_Params_init_root(&b, &p);
    capos_TcpListenAuthority_listen_Params_set_backlog(&p, BACKLOG);
    size_t len;
    CapCqe cqe;
    int r = capnp_finish(&b, &len);
    if (r == 0)
        r = capos_rt_invoke(g->authority,
                            CAPOS_TCP_LISTEN_AUTHORITY_LISTEN_METHOD_ID,
                            g->pbuf, (uint32_t)len, g->rbuf, CALL_BUF, &cqe);
    char why[160];
    if (r < 0) {
        say(g, "telnet-gateway: cannot listen on guest port %u: %s",
            (unsigned)g->port,
            capos_rt_error_text(g->rbuf, CALL_BUF, r, why, sizeof why));
        return r;
    }
    CapTransferResult rec;
    cqe.result = r;
    if (capnp_msg_init(&m, g->rbuf, (size_t)r, NULL) != 0 ||
        capnp_msg_root(&m, &root) != 0 ||
        capos_TcpListenAuthority_listen_Results_get_result(&root, &lr) != 0 ||
        capos_TcpListenResult_which(&lr) !=
            CAPOS_TCP_LISTEN_RESULT_WHICH_LISTENER ||
        !result_cap(&cqe, g->rbuf, CALL_BUF, 0, &rec) ||
        rec.interface_id != CAPOS_TCP_LISTENER_INTERFACE_ID) {
        drop_result_caps(&cqe, g->rbuf, CALL_BUF, UINT32_MAX);
        say(g, "telnet-gateway: guest port %u: listen refused (%s)",
            (unsigned)g->port,
            capnp_msg_root(&m, &root) == 0 &&
                    capos_TcpListenAuthority_listen_Results_get_result(&root,
                                                                       &lr) == 0
                ? net_error_name(capos_TcpListenResult_get_error(&lr))
                : "no listener in the result");
        return CAPOS_RT_E_NOT_FOUND;
    }
    drop_result_caps(&cqe, g->rbuf, CALL_BUF, 0);
    g->listener = (capos_cap_t){rec.cap_id, rec.interface_id};
    g->have_listener = true;
    return 0;
}

/* Buffers of worker w (allocated by the main thread before the worker
 * starts, freed by worker_end after the join). False when out of
 * memory. */
static bool worker_alloc(struct worker *w)
{
    w->pbuf = capos_alloc(CALL_BUF);
    w->rbuf = capos_alloc(CALL_BUF);
    w->accept_res = capos_alloc(RES_BUF);
    w->tick_res = capos_alloc(RES_BUF);
    return w->pbuf && w->rbuf && w->accept_res && w->tick_res;
}

/*
 * Start the workers, each on a thread with its own ring. Returns how many
 * started; the bound is lowered to what they can serve with one record
 * to spare (to refuse the connection over it). With none, the caller
 * serves as the only worker.
 */
static unsigned start_workers(struct gateway *g)
{
    unsigned n = 0;
    int r = 0;
    for (; n < WORKERS; n++) {
        struct worker *w = &g->workers[n];
        w->g = g;
        w->index = n;
        w->have_listener = true;
        if (!worker_alloc(w)) {
            r = CAPOS_RT_E_NO_MEMORY;
            break;
        }
        r = capos_rt_thread_spawn(worker_main, w, &w->thread);
        if (r != 0)
            break;
        w->spawned = true;
    }
    if (n < WORKERS) {
        char ebuf[80];
        say(g, "telnet-gateway: %u of %u worker threads started (%s)%s", n,
            WORKERS,
            r == CAPOS_RT_E_NOT_FOUND
                ? "no ThreadSpawner"
                : capos_rt_error_text(NULL, 0, r, ebuf, sizeof ebuf),
            n ? "" : "; the main thread serves alone");
        unsigned k = n ? n : 1;
        unsigned limit = k * WORKER_CONNS - 1;
        __atomic_store_n(&g->limit, limit < CONN_MAX ? limit : CONN_MAX,
                         __ATOMIC_RELAXED);
    }
    return n;
}

int capos_main(capos_capset_t *caps)
{
    struct gateway *g = capos_zalloc(sizeof *g);
    if (!g || !capos_alloc_call_bufs(&g->pbuf, &g->rbuf, CALL_BUF))
        return 1;
    g->have_console =
        capos_capset_find(caps, "console", CAPOS_CONSOLE_INTERFACE_ID,
                          &g->console) == 0;
    g->have_audit =
        capos_capset_find(caps, "audit", CAPOS_AUDIT_LOG_INTERFACE_ID,
                          &g->audit) == 0;
    if (capos_capset_find(caps, "listener",
                          CAPOS_TCP_LISTEN_AUTHORITY_INTERFACE_ID,
                          &g->authority) != 0 ||
        capos_capset_find(caps, "launcher",
                          CAPOS_RESTRICTED_SHELL_LAUNCHER_INTERFACE_ID,
                          &g->launcher) != 0 ||
        capos_capset_find(caps, "timer", CAPOS_TIMER_INTERFACE_ID, &g->timer) !=
            0) {
        say(g, "telnet-gateway: needs caps \"listener\" "
               "(TcpListenAuthority), \"launcher\" (RestrictedShellLauncher) "
               "and \"timer\" (Timer)");
        return 2;
    }
    if (open_listener(g) != 0)
        return 3;
    /* The authority was one-shot; nothing more to do with it. */
    capos_rt_release(g->authority);
    g->limit = CONN_MAX;
    unsigned n = start_workers(g);
    unsigned serving = n ? n : 1u;
    say(g,
        "telnet-gateway: listening on guest port %u (at most %u "
        "connections, %u worker%s)",
        (unsigned)g->port, g->limit, serving, serving == 1 ? "" : "s");
    if (n == 0 && g->workers[0].tick_res)
        worker_main(&g->workers[0]);
    /* Workers end when the listener is gone and their connections have
     * ended; then their records and rings are freed. A worker that could
     * not be joined may still run: its memory stays until the process
     * ends. */
    for (unsigned i = 0; i < n; i++) {
        struct worker *w = &g->workers[i];
        int64_t code;
        int r = capos_rt_thread_join(&w->thread, &code);
        if (r == 0)
            w->spawned = false;
        else
            say(g, "telnet-gateway: joining worker %u failed (error %d)", i, r);
    }
    for (unsigned i = 0; i < WORKERS; i++)
        if (!g->workers[i].spawned)
            worker_end(&g->workers[i]);
    if (g->have_listener)
        capos_rt_release(g->listener);
    capos_rt_flush_releases();
    capos_free(g->pbuf);
    capos_free(g->rbuf);
    capos_free(g);
    return 0;
}
