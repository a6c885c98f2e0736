/*
 * tcpsocket.c - TcpSocket and the connections under it (docs/net.md).
 * A connection (struct net_conn) is one accepted host socket with its
 * idle timer; it belongs to a TcpSocket and, after intoTerminalSession,
 * to a socket TerminalSession (sockterm.c). recv waits for input, send
 * for room in the output queue; each pending call holds a reference on
 * its socket, and a caller that exits first cancels it. The last
 * reference closes the connection.
 */
#include "kmodel.h"

enum { TS_SEND = 0, TS_RECV = 1, TS_CLOSE = 2, TS_INTO_TERMINAL = 3 };

/*
 * Result sizes, checked before a call is taken so that a completion never
 * needs more room than the caller gave: segment table 8, root pointer 8,
 * the results struct (one pointer) 8, then the result struct and its
 * content. recv's data is bounded so the whole result fits CAP_MAX_RESULT.
 */
#define NET_RECV_BYTES(n) (40u + (((n) + 7u) & ~7u))
#define NET_RECV_DATA_MAX (CAP_MAX_RESULT - 40u)
#define NET_SEND_BYTES 32u

struct net_sock {
    struct k_object obj;
    struct net_conn *conn; /* NULL once moved into a TerminalSession */
    bool closed;           /* TcpSocket.close */
    struct sock_recv *recv;
    struct sock_send *send;
};

struct sock_recv {
    struct k_pending pd;
    struct net_sock *s;
    uint32_t lim;
};

struct sock_send {
    struct k_pending pd;
    struct net_sock *s;
    uint32_t len;
    uint8_t data[];
};

static const struct k_object_ops sock_ops;
static uint8_t net_data[NET_RECV_DATA_MAX];
static uint32_t net_conns; /* live connections */

uint32_t net_sockets_live(void)
{
    return net_conns;
}

/* TcpRecvResult: which u16 @0 (data, closed, error), data ptr0, error @2. */
static int recv_result(uint8_t *buf, uint32_t cap, uint16_t which,
                       const void *data, uint32_t n, uint16_t err)
{
    capnp_builder b;
    capnp_struct_builder s;
    if (net_res_begin(&b, buf, cap, 1, 1, &s) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    capnp_set_u16(&s, 0, which, 0);
    if (which == 0 && capnp_set_data(&s, 0, data, n) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (which == 2)
        capnp_set_u16(&s, 2, err, 0);
    return net_res_end(&b);
}

/* TcpSendResult: which u16 @4 (sent, error), sent u32 @0, error u16 @0. */
static int send_result(uint8_t *buf, uint32_t cap, int sent, uint16_t err)
{
    capnp_builder b;
    capnp_struct_builder s;
    if (net_res_begin(&b, buf, cap, 1, 0, &s) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (sent >= 0) {
        capnp_set_u32(&s, 0, (uint32_t)sent, 0);
    } else {
        capnp_set_u16(&s, 4, 1, 0);
        capnp_set_u16(&s, 0, err, 0);
    }
    return net_res_end(&b);
}

/* ---- connections ---- */

static void conn_ready(struct net_owner *o);

/* Input the port received since the last look restarts the idle time. */
static void conn_note_input(struct net_conn *cn)
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
void net_conn_close(struct net_conn *cn)
{
    k_timer_cancel(&cn->idle);
    if (!cn->h)
        return;
    port_tcp_close(cn->h);
    cn->h = NULL;
}

static void sock_service(struct net_sock *s);

/* Tell the connection's holder that something changed. */
static void conn_notify(struct net_conn *cn)
{
    if (cn->sock)
        sock_service(cn->sock);
    else if (cn->term)
        term_dev_ready(cn->term);
}

/*
 * Idle time counts only while the holder waits for input (a recv or a
 * readLine): from the later of the last input and the start of the wait.
 * A connection whose holder is busy (a shell checking a password) is not
 * idle, however long that takes.
 */
static uint64_t conn_idle_start(const struct net_conn *cn)
{
    return cn->last_in > cn->wait_since ? cn->last_in : cn->wait_since;
}

static void conn_idle_fire(struct k_timer *t)
{
    struct net_conn *cn = NET_OF(t, struct net_conn, idle);
    conn_note_input(cn);
    if (!cn->h || !cn->waiting)
        return;
    uint64_t start = conn_idle_start(cn);
    if (k_now() - start < cn->idle_ns) {
        k_timer_arm(&cn->idle, start + cn->idle_ns, conn_idle_fire);
        return;
    }
    net_conn_close(cn);
    conn_notify(cn);
}

/* The holder begins (on) or stops waiting for input: the idle clock. */
void net_conn_waiting(struct net_conn *cn, bool on)
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
        k_timer_arm(&cn->idle, conn_idle_start(cn) + cn->idle_ns,
                    conn_idle_fire);
}

static void conn_ready(struct net_owner *o)
{
    struct net_conn *cn = NET_OF(o, struct net_conn, own);
    conn_note_input(cn);
    conn_notify(cn);
}

/* Close and free a connection (its holder is going). */
void net_conn_free(struct net_conn *cn)
{
    net_conn_close(cn);
    K_ASSERT(net_conns > 0, "connection count underflow");
    net_conns--;
    port_free(cn);
}

/*
 * Take one waiting connection of listener as a new connection (no holder
 * yet) whose idle timeout is idle_s seconds (0: none). NULL when none
 * waits or out of memory.
 */
struct net_conn *net_conn_accept(port_tcp_t *listener, uint32_t idle_s)
{
    struct net_conn *cn = port_alloc(sizeof *cn);
    if (!cn)
        return NULL;
    cn->own.ready = conn_ready;
    if (port_tcp_accept(listener, &cn->own, &cn->h) != 1) {
        port_free(cn);
        return NULL;
    }
    net_conns++;
    port_tcp_peer(cn->h, cn->addr, sizeof cn->addr, &cn->port);
    cn->last_in = k_now();
    cn->idle_ns = (uint64_t)idle_s * NET_NS_PER_S;
    return cn;
}

/* ---- TcpSocket ---- */

static void sock_watch(struct net_sock *s)
{
    if (s->conn)
        net_conn_waiting(s->conn, s->recv != NULL);
    if (s->conn && s->conn->h)
        port_tcp_watch(s->conn->h, s->recv || s->send);
}

/*
 * recv's outcome now, built into buf: its length, or 0 while the
 * connection is open and nothing has arrived.
 */
static int recv_try(struct net_sock *s, uint32_t lim, uint8_t *buf,
                    uint32_t cap)
{
    if (s->closed)
        return recv_result(buf, cap, 2, NULL, 0, NET_CLOSED);
    if (!s->conn->h) /* the idle timeout ended it: end of stream */
        return recv_result(buf, cap, 1, NULL, 0, 0);
    int n = port_tcp_read(s->conn->h, net_data, lim);
    if (n == 0)
        return 0;
    if (n == PORT_TCP_EOF)
        return recv_result(buf, cap, 1, NULL, 0, 0);
    if (n < 0)
        return recv_result(buf, cap, 2, NULL, 0, NET_RESET);
    /* A gateway may negotiate Telnet options over recv before it calls
     * intoTerminalSession: window sizes seen here reach info(). */
    (void)sockterm_filter(s->conn, net_data, (size_t)n, false);
    return recv_result(buf, cap, 0, net_data, (uint32_t)n, 0);
}

/* send's outcome now into buf: its length, or 0 while the output queue
 * is full. */
static int send_try(struct net_sock *s, const uint8_t *data, uint32_t len,
                    uint8_t *buf, uint32_t cap)
{
    if (s->closed || !s->conn->h)
        return send_result(buf, cap, -1, NET_CLOSED);
    if (len == 0)
        return send_result(buf, cap, 0, 0);
    int n = port_tcp_write(s->conn->h, data, len);
    if (n == 0)
        return 0;
    if (n < 0)
        return send_result(buf, cap, -1, NET_RESET);
    return send_result(buf, cap, n, 0);
}

/* Complete what can be completed of the socket's pending recv and send. */
static void sock_service(struct net_sock *s)
{
    k_obj_ref(&s->obj);
    if (s->recv) {
        struct sock_recv *r = s->recv;
        int n = recv_try(s, r->lim, net_msg, sizeof net_msg);
        if (n != 0) {
            K_ASSERT(n > 0, "recv result does not fit its buffer");
            s->recv = NULL;
            k_pending_done_result(&r->pd, net_msg, (uint32_t)n);
            port_free(r);
            k_obj_unref(&s->obj);
        }
    }
    if (s->send) {
        struct sock_send *w = s->send;
        int n = send_try(s, w->data, w->len, net_msg, sizeof net_msg);
        if (n != 0) {
            K_ASSERT(n > 0, "send result does not fit its buffer");
            s->send = NULL;
            k_pending_done_result(&w->pd, net_msg, (uint32_t)n);
            port_free(w);
            k_obj_unref(&s->obj);
        }
    }
    sock_watch(s);
    k_obj_unref(&s->obj);
}

static void recv_cancel(struct k_pending *pd)
{
    struct sock_recv *r = (struct sock_recv *)pd;
    struct net_sock *s = r->s;
    s->recv = NULL;
    port_free(r);
    sock_watch(s);
    k_obj_unref(&s->obj);
}

static void send_cancel(struct k_pending *pd)
{
    struct sock_send *w = (struct sock_send *)pd;
    struct net_sock *s = w->s;
    s->send = NULL;
    port_free(w);
    sock_watch(s);
    k_obj_unref(&s->obj);
}

static int sock_recv(struct net_sock *s, struct k_call *c,
                     const capnp_struct *root)
{
    uint32_t max = capnp_get_u32(root, 0, 0);
    if (max == 0 || max > NET_IO_MAX)
        return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                "TcpSocket.recv: maxBytes must be 1 to "
                                "65536");
    uint32_t lim = max < NET_RECV_DATA_MAX ? max : NET_RECV_DATA_MAX;
    if (c->result_len < NET_RECV_BYTES(lim))
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (s->recv)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpSocket.recv: another recv is waiting "
                                "on this socket");
    int n = recv_try(s, lim, c->result, c->result_cap);
    if (n != 0)
        return n;
    struct sock_recv *r = port_alloc(sizeof *r);
    if (!r)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpSocket.recv: out of kernel memory");
    r->s = s;
    r->lim = lim;
    k_obj_ref(&s->obj);
    k_pending_add(&r->pd, c, recv_cancel);
    s->recv = r;
    sock_watch(s);
    return K_CALL_PENDING;
}

static int sock_send(struct net_sock *s, struct k_call *c,
                     const capnp_struct *root)
{
    const uint8_t *data;
    size_t len;
    if (capnp_get_data(root, 0, &data, &len) < 0)
        return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                "TcpSocket.send: data is not Data");
    if (len > NET_IO_MAX)
        return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                "TcpSocket.send: at most 65536 bytes");
    if (c->result_len < NET_SEND_BYTES)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (s->send)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpSocket.send: another send is waiting "
                                "for room on this socket");
    int n = send_try(s, data, (uint32_t)len, c->result, c->result_cap);
    if (n != 0)
        return n;
    struct sock_send *w = port_alloc(sizeof *w + len);
    if (!w)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpSocket.send: out of kernel memory");
    w->s = s;
    w->len = (uint32_t)len;
    k_memcpy(w->data, data, len);
    k_obj_ref(&s->obj);
    k_pending_add(&w->pd, c, send_cancel);
    s->send = w;
    sock_watch(s);
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
static int sock_into_terminal(struct net_sock *s, struct k_call *c)
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
    if (k_call_result_begin(c, &b, 0, 1, &res) != 0 ||
        capnp_set_cap(&res, 0, 0) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    int len = k_call_one_cap_fits(c, k_call_result_end(c, &b));
    if (len < 0)
        return len;
    struct net_conn *cn = s->conn;
    struct k_object *t;
    if (sockterm_new(cn, &t) < 0)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpSocket.intoTerminalSession: out of "
                                "kernel memory");
    if (s->recv) {
        struct sock_recv *r = s->recv;
        int n = recv_result(net_msg, sizeof net_msg, 2, NULL, 0, NET_CLOSED);
        K_ASSERT(n > 0, "recv result does not fit its buffer");
        s->recv = NULL;
        k_pending_done_result(&r->pd, net_msg, (uint32_t)n);
        port_free(r);
        k_obj_unref(&s->obj); /* the caller's cap still holds s */
    }
    net_conn_waiting(cn, false); /* a readLine starts the terminal's wait */
    cn->sock = NULL;
    s->conn = NULL;
    c->result_caps[c->nresult_caps++] = t;
    return len;
}

static int sock_call(struct k_object *obj, struct k_call *c)
{
    struct net_sock *s = (struct net_sock *)obj;
    if (c->method_id > TS_INTO_TERMINAL)
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
    case TS_SEND:
        return sock_send(s, c, &root);
    case TS_RECV:
        return sock_recv(s, c, &root);
    case TS_CLOSE:
        s->closed = true;
        net_conn_close(s->conn);
        sock_service(s); /* waiting calls answer closed */
        return 0;
    default:
        return sock_into_terminal(s, c);
    }
}

static void sock_destroy(struct k_object *obj)
{
    struct net_sock *s = (struct net_sock *)obj;
    K_ASSERT(!s->recv && !s->send, "socket destroyed with calls waiting");
    if (s->conn)
        net_conn_free(s->conn);
    port_free(s);
}

static const struct k_object_ops sock_ops = {
    .name = "TcpSocket",
    .interface_id = K_IFACE_TCP_SOCKET,
    .call = sock_call,
    .destroy = sock_destroy,
};

/* A new TcpSocket holding connection cn; its creation reference, or NULL
 * out of memory (cn is then still the caller's). */
struct k_object *tcpsocket_new(struct net_conn *cn)
{
    struct net_sock *s = port_alloc(sizeof *s);
    if (!s)
        return NULL;
    s->conn = cn;
    cn->sock = s;
    k_obj_init(&s->obj, &sock_ops, 0);
    return &s->obj;
}
