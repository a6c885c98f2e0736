/*
 * tcpsocket.c - TcpSocket and the connections under it (docs/net.md).
 * A connection (struct tcpsocket_conn) is one accepted host socket with its
 * idle timer; it belongs to a TcpSocket and, after intoTerminalSession,
 * to a socket TerminalSession (sockterm.c). recv waits for input, send
 * for room in the output queue; each pending call holds a reference on
 * its socket, and a caller that exits first cancels it. The last
 * reference closes the connection.
 */
#include "kmodel.h"

/* Ordinals, unions and layouts from the generated capos.capnp.h. */
enum {
    TCPSOCKET_SEND = CAPOS_TCP_SOCKET_SEND_METHOD_ID,
    TCPSOCKET_RECV = CAPOS_TCP_SOCKET_RECV_METHOD_ID,
    TCPSOCKET_CLOSE = CAPOS_TCP_SOCKET_CLOSE_METHOD_ID,
    TCPSOCKET_INTO_TERMINAL = CAPOS_TCP_SOCKET_INTO_TERMINAL_SESSION_METHOD_ID,
};
enum {
    RECV_DATA = CAPOS_TCP_RECV_RESULT_WHICH_DATA,
    RECV_CLOSED = CAPOS_TCP_RECV_RESULT_WHICH_CLOSED,
    RECV_ERROR = CAPOS_TCP_RECV_RESULT_WHICH_ERROR,
};

/*
 * Result sizes, checked before a call is taken so that a completion never
 * needs more room than the caller gave: the result struct and its content
 * (recv: n data bytes padded to words). recv's data is bounded so the
 * whole result fits CAP_MAX_RESULT.
 */
#define TCPSOCKET_RECV_HEAD                                                    \
    NET_RES_BYTES(CAPOS_TCP_RECV_RESULT_DATA_WORDS,                            \
                  CAPOS_TCP_RECV_RESULT_POINTERS)
_Static_assert(TCPSOCKET_RECV_HEAD == 40, "docs/net.md: recv needs 40 + n");
#define TCPSOCKET_RECV_BYTES(n) (TCPSOCKET_RECV_HEAD + (((n) + 7u) & ~7u))
#define TCPSOCKET_RECV_DATA_MAX (CAP_MAX_RESULT - TCPSOCKET_RECV_HEAD)
#define TCPSOCKET_SEND_BYTES                                                   \
    NET_RES_BYTES(CAPOS_TCP_SEND_RESULT_DATA_WORDS,                            \
                  CAPOS_TCP_SEND_RESULT_POINTERS)

struct tcpsocket {
    struct k_object obj;
    struct tcpsocket_conn *conn; /* NULL once moved into a TerminalSession */
    bool closed;                 /* TcpSocket.close */
    struct tcpsocket_recv_wait *recv;
    struct tcpsocket_send_wait *send;
};

struct tcpsocket_recv_wait {
    struct k_pending pd;
    struct tcpsocket *s;
    uint32_t lim;
};

struct tcpsocket_send_wait {
    struct k_pending pd;
    struct tcpsocket *s;
    uint32_t len;
    uint8_t data[];
};

static const struct k_object_ops tcpsocket_ops;
static uint8_t tcpsocket_data[TCPSOCKET_RECV_DATA_MAX];
static uint32_t tcpsocket_nconns; /* live connections */

uint32_t tcpsocket_conns_live(void)
{
    return tcpsocket_nconns;
}

/* recv's TcpRecvResult into buf: which RECV_DATA (data[0..n)),
 * RECV_CLOSED or RECV_ERROR (err). Returns its length or
 * CAP_ERR_INVALID_RESULT_BUFFER. */
static int tcpsocket_recv_result(uint8_t *buf, uint32_t cap, uint16_t which,
                                 const void *data, uint32_t n, uint16_t err)
{
    capnp_builder b;
    capnp_struct_builder s;
    if (net_res_begin(&b, buf, cap, CAPOS_TCP_RECV_RESULT_DATA_WORDS,
                      CAPOS_TCP_RECV_RESULT_POINTERS, &s) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (which == RECV_DATA) {
        if (capos_TcpRecvResult_set_data(&s, data, n) != 0)
            return CAP_ERR_INVALID_RESULT_BUFFER;
    } else if (which == RECV_CLOSED) {
        capos_TcpRecvResult_set_closed(&s);
    } else {
        capos_TcpRecvResult_set_error(&s, err);
    }
    return net_res_end(&b);
}

/* send's TcpSendResult into buf: sent bytes when sent >= 0, else error
 * err. Returns its length or CAP_ERR_INVALID_RESULT_BUFFER. */
static int tcpsocket_send_result(uint8_t *buf, uint32_t cap, int sent,
                                 uint16_t err)
{
    capnp_builder b;
    capnp_struct_builder s;
    if (net_res_begin(&b, buf, cap, CAPOS_TCP_SEND_RESULT_DATA_WORDS,
                      CAPOS_TCP_SEND_RESULT_POINTERS, &s) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (sent >= 0)
        capos_TcpSendResult_set_sent(&s, (uint32_t)sent);
    else
        capos_TcpSendResult_set_error(&s, err);
    return net_res_end(&b);
}

/* ---- connections ---- */

static void tcpsocket_conn_ready(struct net_owner *o);

/* Input the port received since the last look restarts the idle time. */
static void tcpsocket_conn_note_input(struct tcpsocket_conn *cn)
{
    if (!cn->h)
        return;
    uint64_t rx = port_tcp_received(cn->h);
    if (rx != cn->rx_seen) {
        cn->rx_seen = rx;
        cn->last_in = k_now();
    }
}

/* Close the host connection (idempotent); the holder sees the end. */
void tcpsocket_conn_close(struct tcpsocket_conn *cn)
{
    k_timer_cancel(&cn->idle);
    if (!cn->h)
        return;
    port_tcp_close(cn->h);
    cn->h = NULL;
}

static void tcpsocket_service(struct tcpsocket *s);

/* Tell the connection's holder that something changed. */
static void tcpsocket_conn_notify(struct tcpsocket_conn *cn)
{
    if (cn->sock)
        tcpsocket_service(cn->sock);
    else if (cn->term)
        term_dev_ready(cn->term);
}

/*
 * Idle time counts only while the holder waits for input (a recv or a
 * readLine): from the later of the last input and the start of the wait.
 * A connection whose holder is busy (a shell checking a password) is not
 * idle, however long that takes.
 */
static uint64_t tcpsocket_conn_idle_start(const struct tcpsocket_conn *cn)
{
    return cn->last_in > cn->wait_since ? cn->last_in : cn->wait_since;
}

static void tcpsocket_conn_idle_fire(struct k_timer *t)
{
    struct tcpsocket_conn *cn = NET_OF(t, struct tcpsocket_conn, idle);
    tcpsocket_conn_note_input(cn);
    if (!cn->h || !cn->waiting)
        return;
    uint64_t start = tcpsocket_conn_idle_start(cn);
    if (k_now() - start < cn->idle_ns) {
        k_timer_arm(&cn->idle, start + cn->idle_ns, tcpsocket_conn_idle_fire);
        return;
    }
    tcpsocket_conn_close(cn);
    tcpsocket_conn_notify(cn);
}

/* The holder begins (on) or stops waiting for input: the idle clock. */
void tcpsocket_conn_waiting(struct tcpsocket_conn *cn, bool on)
{
    if (on == cn->waiting)
        return;
    cn->waiting = on;
    if (!on) {
        k_timer_cancel(&cn->idle);
        return;
    }
    cn->wait_since = k_now();
    if (cn->idle_ns && cn->h)
        k_timer_arm(&cn->idle, tcpsocket_conn_idle_start(cn) + cn->idle_ns,
                    tcpsocket_conn_idle_fire);
}

static void tcpsocket_conn_ready(struct net_owner *o)
{
    struct tcpsocket_conn *cn = NET_OF(o, struct tcpsocket_conn, own);
    tcpsocket_conn_note_input(cn);
    tcpsocket_conn_notify(cn);
}

/* Close and free a connection (its holder is going). */
void tcpsocket_conn_free(struct tcpsocket_conn *cn)
{
    tcpsocket_conn_close(cn);
    K_ASSERT(tcpsocket_nconns > 0, "connection count underflow");
    tcpsocket_nconns--;
    port_free(cn);
}

/*
 * Take one waiting connection of listener as a new connection (no holder
 * yet) whose idle timeout is idle_s seconds (0: none). NULL when none
 * waits or out of memory.
 */
struct tcpsocket_conn *tcpsocket_conn_accept(port_tcp_t *listener,
                                             uint32_t idle_s)
{
    struct tcpsocket_conn *cn = port_alloc(sizeof *cn);
    if (!cn)
        return NULL;
    cn->own.ready = tcpsocket_conn_ready;
    if (port_tcp_accept(listener, &cn->own, &cn->h) != 1) {
        port_free(cn);
        return NULL;
    }
    tcpsocket_nconns++;
    port_tcp_peer(cn->h, cn->addr, sizeof cn->addr, &cn->port);
    cn->last_in = k_now();
    cn->idle_ns = (uint64_t)idle_s * NET_NS_PER_S;
    return cn;
}

/* ---- TcpSocket ---- */

static void tcpsocket_watch(struct tcpsocket *s)
{
    if (s->conn)
        tcpsocket_conn_waiting(s->conn, s->recv != NULL);
    if (s->conn && s->conn->h)
        port_tcp_watch(s->conn->h, s->recv || s->send);
}

/*
 * recv's outcome now, built into buf: its length, or 0 while the
 * connection is open and nothing has arrived.
 */
static int tcpsocket_recv_try(struct tcpsocket *s, uint32_t lim, uint8_t *buf,
                              uint32_t cap)
{
    if (s->closed)
        return tcpsocket_recv_result(buf, cap, RECV_ERROR, NULL, 0, NET_CLOSED);
    if (!s->conn->h) /* the idle timeout ended it: end of stream */
        return tcpsocket_recv_result(buf, cap, RECV_CLOSED, NULL, 0, 0);
    int n = port_tcp_read(s->conn->h, tcpsocket_data, lim);
    if (n == 0)
        return 0;
    if (n == PORT_TCP_EOF)
        return tcpsocket_recv_result(buf, cap, RECV_CLOSED, NULL, 0, 0);
    if (n < 0)
        return tcpsocket_recv_result(buf, cap, RECV_ERROR, NULL, 0, NET_RESET);
    /* A gateway may negotiate Telnet options over recv before it calls
     * intoTerminalSession: window sizes seen here reach info(). */
    (void)sockterm_filter(s->conn, tcpsocket_data, (size_t)n, false);
    return tcpsocket_recv_result(buf, cap, RECV_DATA, tcpsocket_data,
                                 (uint32_t)n, 0);
}

/* send's outcome now into buf: its length, or 0 while the output queue
 * is full. */
static int tcpsocket_send_try(struct tcpsocket *s, const uint8_t *data,
                              uint32_t len, uint8_t *buf, uint32_t cap)
{
    if (s->closed || !s->conn->h)
        return tcpsocket_send_result(buf, cap, -1, NET_CLOSED);
    if (len == 0)
        return tcpsocket_send_result(buf, cap, 0, 0);
    int n = port_tcp_write(s->conn->h, data, len);
    if (n == 0)
        return 0;
    if (n < 0)
        return tcpsocket_send_result(buf, cap, -1, NET_RESET);
    return tcpsocket_send_result(buf, cap, n, 0);
}

/* Complete what can be completed of the socket's pending recv and send. */
static void tcpsocket_service(struct tcpsocket *s)
{
    k_obj_ref(&s->obj);
    if (s->recv) {
        struct tcpsocket_recv_wait *r = s->recv;
        int n = tcpsocket_recv_try(s, r->lim, net_msg, sizeof net_msg);
        if (n != 0) {
            K_ASSERT(n > 0, "recv result does not fit its buffer");
            s->recv = NULL;
            k_pending_done_result(&r->pd, net_msg, (uint32_t)n);
            port_free(r);
            k_obj_unref(&s->obj);
        }
    }
    if (s->send) {
        struct tcpsocket_send_wait *w = s->send;
        int n = tcpsocket_send_try(s, w->data, w->len, net_msg, sizeof net_msg);
        if (n != 0) {
            K_ASSERT(n > 0, "send result does not fit its buffer");
            s->send = NULL;
            k_pending_done_result(&w->pd, net_msg, (uint32_t)n);
            port_free(w);
            k_obj_unref(&s->obj);
        }
    }
    tcpsocket_watch(s);
    k_obj_unref(&s->obj);
}

static void tcpsocket_recv_cancel(struct k_pending *pd)
{
    struct tcpsocket_recv_wait *r = (struct tcpsocket_recv_wait *)pd;
    struct tcpsocket *s = r->s;
    s->recv = NULL;
    port_free(r);
    tcpsocket_watch(s);
    k_obj_unref(&s->obj);
}

static void tcpsocket_send_cancel(struct k_pending *pd)
{
    struct tcpsocket_send_wait *w = (struct tcpsocket_send_wait *)pd;
    struct tcpsocket *s = w->s;
    s->send = NULL;
    port_free(w);
    tcpsocket_watch(s);
    k_obj_unref(&s->obj);
}

static int tcpsocket_recv(struct tcpsocket *s, struct k_call *c,
                          const capnp_struct *root)
{
    uint32_t max = capos_TcpSocket_recv_Params_get_maxBytes(root);
    if (max == 0 || max > NET_IO_MAX)
        return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                "TcpSocket.recv: maxBytes must be 1 to "
                                "65536");
    uint32_t lim =
        max < TCPSOCKET_RECV_DATA_MAX ? max : TCPSOCKET_RECV_DATA_MAX;
    if (c->result_len < TCPSOCKET_RECV_BYTES(lim))
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (s->recv)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpSocket.recv: another recv is waiting "
                                "on this socket");
    int n = tcpsocket_recv_try(s, lim, c->result, c->result_cap);
    if (n != 0)
        return n;
    struct tcpsocket_recv_wait *r = port_alloc(sizeof *r);
    if (!r)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpSocket.recv: out of kernel memory");
    r->s = s;
    r->lim = lim;
    k_obj_ref(&s->obj);
    k_pending_add(&r->pd, c, tcpsocket_recv_cancel);
    s->recv = r;
    tcpsocket_watch(s);
    return K_CALL_PENDING;
}

static int tcpsocket_send(struct tcpsocket *s, struct k_call *c,
                          const capnp_struct *root)
{
    const uint8_t *data;
    size_t len;
    if (capos_TcpSocket_send_Params_get_data(root, &data, &len) < 0)
        return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                "TcpSocket.send: data is not Data");
    if (len > NET_IO_MAX)
        return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                "TcpSocket.send: at most 65536 bytes");
    if (c->result_len < TCPSOCKET_SEND_BYTES)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (s->send)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpSocket.send: another send is waiting "
                                "for room on this socket");
    int n =
        tcpsocket_send_try(s, data, (uint32_t)len, c->result, c->result_cap);
    if (n != 0)
        return n;
    struct tcpsocket_send_wait *w = port_alloc(sizeof *w + len);
    if (!w)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpSocket.send: out of kernel memory");
    w->s = s;
    w->len = (uint32_t)len;
    k_memcpy(w->data, data, len);
    k_obj_ref(&s->obj);
    k_pending_add(&w->pd, c, tcpsocket_send_cancel);
    s->send = w;
    tcpsocket_watch(s);
    return K_CALL_PENDING;
}

/*
 * intoTerminalSession: the connection moves to a new move-only
 * TerminalSession; the socket is spent. A recv still waiting is completed
 * first with error closed (the socket is consumed); it had returned
 * nothing, and bytes the host received but recv has not returned stay in
 * the connection for the terminal. A send still waiting refuses the call:
 * its bytes would have to be either dropped or sent behind the terminal's.
 */
static int tcpsocket_into_terminal(struct tcpsocket *s, struct k_call *c)
{
    if (s->send)
        return k_call_exception(c, K_EXC_FAILED,
                                "TcpSocket.intoTerminalSession: a send is "
                                "still waiting on this socket");
    if (s->closed || !s->conn->h)
        return k_call_exception(c, K_EXC_FAILED,
                                "TcpSocket.intoTerminalSession: the "
                                "connection is closed");
    capnp_builder b;
    capnp_struct_builder res;
    if (k_call_result_begin(
            c, &b, CAPOS_TCP_SOCKET_INTO_TERMINAL_SESSION_RESULTS_DATA_WORDS,
            CAPOS_TCP_SOCKET_INTO_TERMINAL_SESSION_RESULTS_POINTERS,
            &res) != 0 ||
        capos_TcpSocket_intoTerminalSession_Results_set_terminal(&res, 0) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    int len = k_call_one_cap_fits(c, k_call_result_end(c, &b));
    if (len < 0)
        return len;
    struct tcpsocket_conn *cn = s->conn;
    struct k_object *t;
    if (sockterm_new(cn, &t) < 0)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpSocket.intoTerminalSession: out of "
                                "kernel memory");
    if (s->recv) {
        struct tcpsocket_recv_wait *r = s->recv;
        int n = tcpsocket_recv_result(net_msg, sizeof net_msg, RECV_ERROR, NULL,
                                      0, NET_CLOSED);
        K_ASSERT(n > 0, "recv result does not fit its buffer");
        s->recv = NULL;
        k_pending_done_result(&r->pd, net_msg, (uint32_t)n);
        port_free(r);
        k_obj_unref(&s->obj); /* the caller's cap still holds s */
    }
    tcpsocket_conn_waiting(cn,
                           false); /* a readLine starts the terminal's wait */
    cn->sock = NULL;
    s->conn = NULL;
    c->result_caps[c->nresult_caps++] = t;
    return len;
}

static int tcpsocket_call(struct k_object *obj, struct k_call *c)
{
    struct tcpsocket *s = (struct tcpsocket *)obj;
    if (c->method_id >= CAPOS_TCP_SOCKET_METHOD_COUNT)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "TcpSocket has no such method");
    if (!s->conn)
        return k_call_exception(c, K_EXC_DISCONNECTED,
                                "TcpSocket was turned into a "
                                "TerminalSession");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    switch (c->method_id) {
    case TCPSOCKET_SEND:
        return tcpsocket_send(s, c, &root);
    case TCPSOCKET_RECV:
        return tcpsocket_recv(s, c, &root);
    case TCPSOCKET_CLOSE:
        s->closed = true;
        tcpsocket_conn_close(s->conn);
        tcpsocket_service(s); /* waiting calls answer closed */
        return 0;
    default:
        return tcpsocket_into_terminal(s, c);
    }
}

static void tcpsocket_destroy(struct k_object *obj)
{
    struct tcpsocket *s = (struct tcpsocket *)obj;
    K_ASSERT(!s->recv && !s->send, "socket destroyed with calls waiting");
    if (s->conn)
        tcpsocket_conn_free(s->conn);
    port_free(s);
}

static const struct k_object_ops tcpsocket_ops = {
    .name = "TcpSocket",
    .interface_id = K_IFACE_TCP_SOCKET,
    .call = tcpsocket_call,
    .destroy = tcpsocket_destroy,
};

/* A new TcpSocket holding connection cn; its creation reference, or NULL
 * out of memory (cn is then still the caller's). */
struct k_object *tcpsocket_new(struct tcpsocket_conn *cn)
{
    struct tcpsocket *s = port_alloc(sizeof *s);
    if (!s)
        return NULL;
    s->conn = cn;
    cn->sock = s;
    k_obj_init(&s->obj, &tcpsocket_ops, 0);
    return &s->obj;
}
