/*
 * net.c - TCP as kernel capabilities over the port's TCP (port.h):
 * NetworkManager, TcpListenAuthority, TcpListener, TcpSocket, and the
 * socket device behind TcpSocket.intoTerminalSession. docs/net.md has the
 * methods, limits and policies; this is the summary.
 *
 * Guest ports reach the host only through kernelParams.portForwards (as
 * QEMU's user-mode hostfwd): a listen on guest port G binds the forward's
 * hostAddress:hostPort (loopback unless the manifest says otherwise). A
 * guest port without a forward is refused with permissionDenied; a host
 * port already taken answers addressInUse and prints a console line.
 *
 * Pending operations (accept, recv, a send waiting for room) are
 * k_pending calls completed from k_net_ready (device-callback context:
 * complete and wake only) or from a connection's idle timer. Each holds a
 * reference on its object; a caller that exits first cancels them.
 * Releasing the last reference to a listener or socket closes the host
 * socket.
 */
#include "kmodel.h"

#define NET_FWD_MAX 16u
#define NET_BACKLOG_MAX 64u
#define NET_ACCEPTS_MAX 8u   /* accepts waiting on one listener */
#define NET_IO_MAX 65536u    /* send data, recv maxBytes (schema) */
#define NET_LINE_RUN 65536u  /* terminal input bytes without a line end */
#define NET_SB_MAX 64u       /* Telnet subnegotiation bytes */
#define NET_NS_PER_S 1000000000ull

/*
 * Result sizes, checked before a call is taken so that a completion never
 * needs more room than the caller gave: segment table 8, root pointer 8,
 * the results struct (one pointer) 8, then the result struct and its
 * content. recv's data is bounded so the whole result fits CAP_MAX_RESULT.
 */
#define NET_RECV_BYTES(n) (40u + (((n) + 7u) & ~7u))
#define NET_RECV_DATA_MAX (CAP_MAX_RESULT - 40u)
#define NET_SEND_BYTES 32u
/* TcpAcceptResult (1 word, 2 pointers) 24, SocketAddress 16, its text 16,
 * then one CapTransferResult record. */
#define NET_ACCEPT_BYTES (80u + (uint32_t)sizeof(CapTransferResult))

enum { NET_IN_USE = 0, NET_DENIED = 1, NET_RESET = 2, NET_CLOSED = 3,
       NET_ALREADY_USED = 5 };
#define NET_NO_MEMORY 0x100 /* net_listen: not a NetError */

enum { NM_GET_CONFIG = 0, NM_LISTEN_TCP = 1 };
enum { TLA_LISTEN = 0, TLA_PORT = 1 };
enum { TL_ACCEPT = 0, TL_CLOSE = 1 };
enum { TS_SEND = 0, TS_RECV = 1, TS_CLOSE = 2, TS_INTO_TERMINAL = 3 };

/* Telnet (RFC 854) bytes the socket terminal filters. */
enum { TN_SE = 240, TN_SB = 250, TN_WILL = 251, TN_DONT = 254,
       TN_IAC = 255, TN_NAWS = 31 };
enum { TS_DATA = 0, TS_IAC, TS_OPT, TS_SUB, TS_SUB_IAC };

#define NET_OF(ptr, type, member)                                              \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct net_fwd {
    uint16_t guest, host;
    uint32_t idle_s;
    bool listening; /* a TcpListener holds this guest port */
    char addr[16];
};

static struct {
    struct net_fwd fwd[NET_FWD_MAX];
    uint32_t nfwd;
    struct {
        uint16_t guest, host;
    } over[NET_FWD_MAX];
    uint32_t nover;
    uint32_t conns; /* live connections (sockets and socket terminals) */
} net;

/* Receives k_net_ready calls: a listener or a connection. */
struct net_owner {
    void (*ready)(struct net_owner *o);
};

/* One accepted connection: a TcpSocket's, then perhaps a terminal's. */
struct net_conn {
    struct net_owner own;
    port_tcp_t *h; /* NULL once closed */
    struct net_sock *sock;
    struct term_dev *term;
    struct k_timer idle;
    uint64_t idle_ns, last_in, rx_seen;
    char addr[16];
    uint16_t port;
    /* The socket terminal's Telnet filter. */
    uint8_t tn;
    uint8_t sblen;
    uint16_t columns, rows;
    uint8_t sb[NET_SB_MAX];
};

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

struct net_accept {
    struct k_pending pd;
    struct net_listener *l;
    struct net_accept *next;
};

struct net_listener {
    struct k_object obj;
    struct net_owner own;
    port_tcp_t *h; /* NULL once closed */
    struct net_fwd *fwd;
    struct net_accept *head, *tail;
    uint32_t nwait;
};

struct tcp_auth {
    struct k_object obj;
    uint16_t port;
    bool used;
};

static const struct k_object_ops netmgr_ops, tcpauth_ops, listener_ops,
    sock_ops;

/* Result scratch for completions (one model thread runs at a time). */
static uint8_t net_msg[CAP_MAX_RESULT];
static uint8_t net_data[NET_RECV_DATA_MAX];

/* ---- configuration ---------------------------------------------------- */

void net_init(void)
{
    k_memset(&net, 0, sizeof net);
}

static struct net_fwd *fwd_find(uint16_t guest)
{
    for (uint32_t i = 0; i < net.nfwd; i++)
        if (net.fwd[i].guest == guest)
            return &net.fwd[i];
    return NULL;
}

/* s[0..n) is a dotted quad (four numbers 0..255). */
static bool ipv4_ok(const char *s, size_t n)
{
    uint32_t parts = 0, v = 0, digits = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (digits == 0 || v > 255)
                return false;
            parts++;
            v = digits = 0;
        } else if (s[i] >= '0' && s[i] <= '9' && digits < 3) {
            v = v * 10 + (uint32_t)(s[i] - '0');
            digits++;
        } else {
            return false;
        }
    }
    return parts == 4;
}

/*
 * Host override of a forward's host port (capos-sim --hostfwd), applied
 * by the next boot. Returns 0, or CAP_ERR_INVALID_REQUEST for guest port
 * 0 or too many overrides.
 */
int net_hostfwd(uint16_t guest_port, uint16_t host_port)
{
    if (guest_port == 0)
        return CAP_ERR_INVALID_REQUEST;
    for (uint32_t i = 0; i < net.nover; i++)
        if (net.over[i].guest == guest_port) {
            net.over[i].host = host_port;
            return 0;
        }
    if (net.nover == NET_FWD_MAX)
        return CAP_ERR_INVALID_REQUEST;
    net.over[net.nover].guest = guest_port;
    net.over[net.nover].host = host_port;
    net.nover++;
    return 0;
}

static int cfg_fail(struct k_msg *mb, const char *what)
{
    k_msg_str(mb, what);
    return CAP_ERR_INVALID_REQUEST;
}

/*
 * Read kernelParams.portForwards of the manifest root (SystemManifest:
 * kernelParams ptr2; KernelParams: portForwards ptr1; PortForward:
 * hostAddress ptr0, hostPort u16 @0, guestPort u16 @2,
 * idleTimeoutSeconds u32 @4 default 600), then apply the overrides.
 * Returns 0, or CAP_ERR_INVALID_REQUEST with a reason in mb.
 */
int net_configure(const uint8_t *bytes, size_t len, struct k_msg *mb)
{
    capnp_message m;
    capnp_struct root, kp;
    capnp_list fl = {0};
    capnp_read_options opt = {.traversal_limit_words = 1u << 20,
                              .nesting_limit = 32};
    net.nfwd = 0;
    if (capnp_msg_init(&m, bytes, len, &opt) < 0 ||
        capnp_msg_root(&m, &root) < 0)
        return cfg_fail(mb, "manifest: not a Cap'n Proto message");
    if (capnp_has_ptr(&root, 2)) {
        if (capnp_get_struct(&root, 2, &kp) < 0 ||
            (capnp_has_ptr(&kp, 1) &&
             capnp_get_list(&kp, 1, CAPNP_ELEM_COMPOSITE, &fl) < 0))
            return cfg_fail(mb, "manifest: kernelParams.portForwards is not "
                                "a list of PortForward");
    }
    uint32_t n = capnp_list_len(&fl);
    if (n > NET_FWD_MAX)
        return cfg_fail(mb, "manifest: more than 16 portForwards");
    for (uint32_t i = 0; i < n; i++) {
        capnp_struct f;
        const char *a = "127.0.0.1";
        size_t al = 9;
        if (capnp_list_get_struct(&fl, i, &f) < 0 ||
            (capnp_has_ptr(&f, 0) && capnp_get_text(&f, 0, &a, &al) < 0))
            return cfg_fail(mb, "manifest: portForwards: malformed entry");
        uint16_t guest = capnp_get_u16(&f, 2, 0);
        k_msg_str(mb, "manifest: portForwards[");
        k_msg_u64(mb, i);
        k_msg_str(mb, "]: ");
        if (!ipv4_ok(a, al))
            return cfg_fail(mb, "hostAddress must be an IPv4 dotted quad");
        if (guest == 0)
            return cfg_fail(mb, "guestPort must be 1 to 65535");
        if (fwd_find(guest))
            return cfg_fail(mb, "a second forward for the same guestPort");
        struct net_fwd *fw = &net.fwd[net.nfwd++];
        k_memset(fw, 0, sizeof *fw);
        k_memcpy(fw->addr, a, al);
        fw->guest = guest;
        fw->host = capnp_get_u16(&f, 0, 0);
        fw->idle_s = capnp_get_u32(&f, 4, 600);
        mb->len = 0;
        if (mb->cap)
            mb->buf[0] = 0;
    }
    for (uint32_t i = 0; i < net.nover; i++) {
        struct net_fwd *fw = fwd_find(net.over[i].guest);
        if (!fw) {
            k_msg_str(mb, "host forward for guest port ");
            k_msg_u64(mb, net.over[i].guest);
            return cfg_fail(mb, ": the manifest has no portForwards entry "
                                "for that guest port");
        }
        fw->host = net.over[i].host;
    }
    return 0;
}

/* A TcpListenAuthority grant's badge: a guest port with a forward. */
int net_check_listen_port(uint64_t badge, struct k_msg *mb)
{
    if (badge == 0 || badge > 65535) {
        k_msg_str(mb, "tcpListenAuthority badge ");
        k_msg_u64(mb, badge);
        return cfg_fail(mb, " is not a guest port (1 to 65535)");
    }
    if (!fwd_find((uint16_t)badge)) {
        k_msg_str(mb, "tcpListenAuthority for guest port ");
        k_msg_u64(mb, badge);
        return cfg_fail(mb, ": kernelParams.portForwards has no forward "
                            "for it");
    }
    return 0;
}

uint32_t net_sockets_live(void)
{
    return net.conns;
}

/* See port.h. */
void k_net_ready(void *owner)
{
    struct net_owner *o = owner;
    o->ready(o);
}

/* ---- results ------------------------------------------------------------ */

/* Root: results struct (0 words, 1 pointer) holding struct s (dw, np). */
static int res_begin(capnp_builder *b, uint8_t *buf, uint32_t cap,
                     uint16_t dw, uint16_t np, capnp_struct_builder *s)
{
    capnp_struct_builder root;
    capnp_builder_init(b, buf, cap);
    if (capnp_init_root(b, 0, 1, &root) != 0 ||
        capnp_init_struct(&root, 0, dw, np, s) != 0)
        return -1;
    return 0;
}

static int res_end(capnp_builder *b)
{
    size_t len = 0;
    if (capnp_finish(b, &len) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    return (int)len;
}

/* TcpListenResult: which u16 @0, error u16 @2, listener cap ptr0. */
static int listen_result(struct k_call *c, int err)
{
    capnp_builder b;
    capnp_struct_builder s;
    if (res_begin(&b, c->result, c->result_cap, 1, 1, &s) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (err >= 0) {
        capnp_set_u16(&s, 0, 1, 0);
        capnp_set_u16(&s, 2, (uint16_t)err, 0);
    } else if (capnp_set_cap(&s, 0, 0) != 0) {
        return CAP_ERR_INVALID_RESULT_BUFFER;
    }
    return res_end(&b);
}

/* TcpRecvResult: which u16 @0 (data, closed, error), data ptr0, error @2. */
static int recv_result(uint8_t *buf, uint32_t cap, uint16_t which,
                       const void *data, uint32_t n, uint16_t err)
{
    capnp_builder b;
    capnp_struct_builder s;
    if (res_begin(&b, buf, cap, 1, 1, &s) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    capnp_set_u16(&s, 0, which, 0);
    if (which == 0 && capnp_set_data(&s, 0, data, n) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (which == 2)
        capnp_set_u16(&s, 2, err, 0);
    return res_end(&b);
}

/* TcpSendResult: which u16 @4 (sent, error), sent u32 @0, error u16 @0. */
static int send_result(uint8_t *buf, uint32_t cap, int sent, uint16_t err)
{
    capnp_builder b;
    capnp_struct_builder s;
    if (res_begin(&b, buf, cap, 1, 0, &s) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (sent >= 0) {
        capnp_set_u32(&s, 0, (uint32_t)sent, 0);
    } else {
        capnp_set_u16(&s, 4, 1, 0);
        capnp_set_u16(&s, 0, err, 0);
    }
    return res_end(&b);
}

/* TcpAcceptResult: which u16 @0 (accepted, error), socket cap ptr0, peer
 * SocketAddress ptr1 (address ptr0, port u16 @0), error u16 @2. */
static int accept_result(uint8_t *buf, uint32_t cap, const struct net_conn *cn,
                         int err)
{
    capnp_builder b;
    capnp_struct_builder s, peer;
    if (res_begin(&b, buf, cap, 1, 2, &s) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (err >= 0) {
        capnp_set_u16(&s, 0, 1, 0);
        capnp_set_u16(&s, 2, (uint16_t)err, 0);
        return res_end(&b);
    }
    if (capnp_set_cap(&s, 0, 0) != 0 ||
        capnp_init_struct(&s, 1, 1, 1, &peer) != 0 ||
        capnp_set_text(&peer, 0, cn->addr, k_strlen(cn->addr)) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    capnp_set_u16(&peer, 0, cn->port, 0);
    return res_end(&b);
}

/* ---- connections --------------------------------------------------------- */

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
static void conn_close(struct net_conn *cn)
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

static void conn_idle_fire(struct k_timer *t)
{
    struct net_conn *cn = NET_OF(t, struct net_conn, idle);
    conn_note_input(cn);
    if (!cn->h)
        return;
    uint64_t now = k_now();
    if (now - cn->last_in < cn->idle_ns) {
        k_timer_arm(&cn->idle, cn->last_in + cn->idle_ns, conn_idle_fire);
        return;
    }
    conn_close(cn);
    conn_notify(cn);
}

static void conn_ready(struct net_owner *o)
{
    struct net_conn *cn = NET_OF(o, struct net_conn, own);
    conn_note_input(cn);
    conn_notify(cn);
}

static void conn_free(struct net_conn *cn)
{
    conn_close(cn);
    K_ASSERT(net.conns > 0, "connection count underflow");
    net.conns--;
    port_free(cn);
}

/* ---- TcpSocket ------------------------------------------------------------ */

static int st_filter(struct net_conn *cn, uint8_t *buf, size_t n, bool keep);

static void sock_watch(struct net_sock *s)
{
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
    (void)st_filter(s->conn, net_data, (size_t)n, false);
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

static const struct term_dev_ops sock_term_ops;

/* intoTerminalSession: the connection moves to a new move-only
 * TerminalSession; the socket is spent. */
static int sock_into_terminal(struct net_sock *s, struct k_call *c)
{
    if (s->recv || s->send)
        return k_call_exception(c, K_EXC_FAILED,
                                "TcpSocket.intoTerminalSession: a recv or "
                                "send is still waiting on this socket");
    if (s->closed || !s->conn->h)
        return k_call_exception(c, K_EXC_FAILED,
                                "TcpSocket.intoTerminalSession: the "
                                "connection is closed");
    capnp_builder b;
    capnp_struct_builder res;
    if (k_call_result_begin(c, &b, 0, 1, &res) != 0 ||
        capnp_set_cap(&res, 0, 0) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    int len = k_call_result_end(c, &b);
    if (len < 0 || CAP_ALIGN8((uint64_t)len) + sizeof(CapTransferResult) >
                       c->result_len)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (ct_free_count(&c->proc->caps) < 1)
        return CAP_ERR_TRANSFER_REJECTED;
    struct net_conn *cn = s->conn;
    struct term_dev *dev;
    struct k_object *t;
    if (terminal_new(&sock_term_ops, cn, NET_LINE_RUN, &dev, &t) < 0)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpSocket.intoTerminalSession: out of "
                                "kernel memory");
    port_tcp_watch(cn->h, false);
    cn->sock = NULL;
    cn->term = dev;
    cn->tn = TS_DATA;
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
        conn_close(s->conn);
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
        conn_free(s->conn);
    port_free(s);
}

static const struct k_object_ops sock_ops = {
    .name = "TcpSocket",
    .interface_id = K_IFACE_TCP_SOCKET,
    .call = sock_call,
    .destroy = sock_destroy,
};

/* ---- the socket terminal device ------------------------------------------- */

/* Output: 0xFF doubled (Telnet data). A peer that lets the bounded output
 * queue fill is disconnected rather than have output dropped silently. */
static void st_write(void *ctx, const void *buf, size_t n)
{
    struct net_conn *cn = ctx;
    const uint8_t *p = buf;
    uint8_t out[512];
    size_t i = 0;
    while (i < n && cn->h) {
        size_t o = 0;
        while (i < n && o + 2 <= sizeof out) {
            if (p[i] == TN_IAC)
                out[o++] = TN_IAC;
            out[o++] = p[i++];
        }
        if (port_tcp_write(cn->h, out, o) != (int)o)
            conn_close(cn);
    }
}

/* The end of a subnegotiation: NAWS (width, height; 16 bits each, big
 * endian) is recorded, the rest ignored. */
static void st_sub_done(struct net_conn *cn)
{
    if (cn->sblen == 5 && cn->sb[0] == TN_NAWS) {
        cn->columns = (uint16_t)(cn->sb[1] << 8 | cn->sb[2]);
        cn->rows = (uint16_t)(cn->sb[3] << 8 | cn->sb[4]);
    }
    cn->sblen = 0;
}

/* Append to the subnegotiation; false when it is longer than allowed. */
static bool st_sub_put(struct net_conn *cn, uint8_t b)
{
    if (cn->sblen == NET_SB_MAX)
        return false;
    cn->sb[cn->sblen++] = b;
    return true;
}

/*
 * Filter the Telnet command layer out of buf[0..n) in place; returns the
 * data bytes left, or -1 when a subnegotiation overflows. With keep
 * false, only follow the commands (a raw socket's recv: NAWS is recorded,
 * buf is left alone, an overlong subnegotiation is forgotten).
 */
static int st_filter(struct net_conn *cn, uint8_t *buf, size_t n, bool keep)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = buf[i];
        switch (cn->tn) {
        case TS_DATA:
            if (b == TN_IAC)
                cn->tn = TS_IAC;
            else if (keep)
                buf[o++] = b;
            break;
        case TS_IAC:
            cn->tn = TS_DATA;
            if (b == TN_IAC) {
                if (keep)
                    buf[o++] = b; /* an escaped 0xFF data byte */
            }
            else if (b >= TN_WILL && b <= TN_DONT)
                cn->tn = TS_OPT;
            else if (b == TN_SB) {
                cn->tn = TS_SUB;
                cn->sblen = 0;
            } /* any other command: dropped */
            break;
        case TS_OPT:
            cn->tn = TS_DATA; /* the option byte of a negotiation */
            break;
        case TS_SUB:
            if (b == TN_IAC)
                cn->tn = TS_SUB_IAC;
            else if (!st_sub_put(cn, b))
                goto overflow;
            break;
        default: /* TS_SUB_IAC */
            cn->tn = TS_SUB;
            if (b == TN_SE) {
                st_sub_done(cn);
                cn->tn = TS_DATA;
            } else if (b == TN_IAC && !st_sub_put(cn, b)) {
                goto overflow;
            }
            break;
        }
        continue;
    overflow:
        if (keep)
            return -1;
        cn->tn = TS_DATA;
        cn->sblen = 0;
    }
    return (int)o;
}

static int st_read(void *ctx, void *buf, size_t cap)
{
    struct net_conn *cn = ctx;
    for (;;) {
        if (!cn->h)
            return TERM_DEV_END;
        int n = port_tcp_read(cn->h, buf, cap);
        if (n == 0)
            return 0;
        if (n < 0) {
            conn_close(cn);
            return TERM_DEV_END;
        }
        int d = st_filter(cn, buf, (size_t)n, true);
        if (d < 0) {
            conn_close(cn); /* an endless subnegotiation: abuse */
            return TERM_DEV_END;
        }
        if (d > 0)
            return d;
    }
}

static void st_watch(void *ctx, bool on)
{
    struct net_conn *cn = ctx;
    if (cn->h)
        port_tcp_watch(cn->h, on);
}

/* "a.b.c.d:port" */
static void conn_peer_text(const struct net_conn *cn, char *out, size_t cap)
{
    struct k_msg m = {out, cap, 0};
    k_msg_str(&m, cn->addr);
    k_msg_str(&m, ":");
    k_msg_u64(&m, cn->port);
}

static void st_info(void *ctx, struct term_dev_info *info)
{
    struct net_conn *cn = ctx;
    info->transport = TERM_TRANSPORT_TELNET;
    info->columns = cn->columns;
    info->rows = cn->rows;
    conn_peer_text(cn, info->peer, sizeof info->peer);
}

static void st_close(void *ctx)
{
    conn_close(ctx);
}

static void st_release(void *ctx)
{
    conn_free(ctx);
}

static bool st_alive(void *ctx)
{
    struct net_conn *cn = ctx;
    return cn->h != NULL;
}

static const struct term_dev_ops sock_term_ops = {
    .write = st_write,
    .read = st_read,
    .watch = st_watch,
    .info = st_info,
    .close = st_close,
    .release = st_release,
    .alive = st_alive,
};

/* ---- TcpListener ---------------------------------------------------------- */

/*
 * Take one connection of l as a new TcpSocket and build accept's result
 * into buf. Returns the length with *out (its creation reference), 0 when
 * no connection waits, or a negative code (closed: error result built).
 */
static int listener_take(struct net_listener *l, uint8_t *buf, uint32_t cap,
                         struct k_object **out)
{
    *out = NULL;
    if (!l->h)
        return accept_result(buf, cap, NULL, NET_CLOSED);
    struct net_conn *cn = port_alloc(sizeof *cn);
    struct net_sock *s = port_alloc(sizeof *s);
    if (!cn || !s) {
        port_free(cn);
        port_free(s);
        return 0; /* try again at the next event */
    }
    cn->own.ready = conn_ready;
    int r = port_tcp_accept(l->h, &cn->own, &cn->h);
    if (r != 1) {
        port_free(cn);
        port_free(s);
        return 0;
    }
    net.conns++;
    port_tcp_peer(cn->h, cn->addr, sizeof cn->addr, &cn->port);
    cn->sock = s;
    cn->last_in = k_now();
    cn->idle_ns = (uint64_t)l->fwd->idle_s * NET_NS_PER_S;
    if (cn->idle_ns)
        k_timer_arm(&cn->idle, cn->last_in + cn->idle_ns, conn_idle_fire);
    s->conn = cn;
    k_obj_init(&s->obj, &sock_ops, 0);
    *out = &s->obj;
    int len = accept_result(buf, cap, cn, -1);
    K_ASSERT(len > 0, "accept result does not fit its buffer");
    return len;
}

static void listener_watch(struct net_listener *l)
{
    if (l->h)
        port_tcp_watch(l->h, l->head != NULL);
}

/* Complete waiting accepts while connections (or the close) allow. */
static void listener_service(struct net_listener *l)
{
    k_obj_ref(&l->obj);
    while (l->head) {
        struct k_object *so;
        int n = listener_take(l, net_msg, sizeof net_msg, &so);
        if (n == 0)
            break;
        struct net_accept *a = l->head;
        l->head = a->next;
        if (!l->head)
            l->tail = NULL;
        l->nwait--;
        if (so) {
            /* A full table or buffer drops the connection. */
            (void)k_pending_done_caps(&a->pd, net_msg, (uint32_t)n, &so, 1);
            k_obj_unref(so);
        } else {
            k_pending_done_result(&a->pd, net_msg, (uint32_t)n);
        }
        port_free(a);
        k_obj_unref(&l->obj);
    }
    listener_watch(l);
    k_obj_unref(&l->obj);
}

static void listener_ready(struct net_owner *o)
{
    listener_service(NET_OF(o, struct net_listener, own));
}

static void accept_cancel(struct k_pending *pd)
{
    struct net_accept *a = (struct net_accept *)pd;
    struct net_listener *l = a->l;
    struct net_accept **pp = &l->head;
    struct net_accept *prev = NULL;
    while (*pp != a) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    *pp = a->next;
    if (l->tail == a)
        l->tail = prev;
    l->nwait--;
    port_free(a);
    listener_watch(l);
    k_obj_unref(&l->obj);
}

static void listener_close(struct net_listener *l)
{
    if (!l->h)
        return;
    port_tcp_close(l->h);
    l->h = NULL;
    l->fwd->listening = false;
}

static int listener_call(struct k_object *obj, struct k_call *c)
{
    struct net_listener *l = (struct net_listener *)obj;
    if (c->method_id > TL_CLOSE)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "TcpListener has no such method");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    if (c->method_id == TL_CLOSE) {
        listener_close(l);
        listener_service(l); /* waiting accepts answer closed */
        return 0;
    }
    if (c->result_len < NET_ACCEPT_BYTES)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (l->h && ct_free_count(&c->proc->caps) < 1)
        return CAP_ERR_TRANSFER_REJECTED;
    if (!l->head) {
        struct k_object *so;
        int n = listener_take(l, c->result, c->result_cap, &so);
        if (n != 0) {
            if (so)
                c->result_caps[c->nresult_caps++] = so;
            return n;
        }
    }
    if (l->nwait == NET_ACCEPTS_MAX)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpListener.accept: too many accepts "
                                "waiting on this listener (at most 8)");
    struct net_accept *a = port_alloc(sizeof *a);
    if (!a)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpListener.accept: out of kernel memory");
    a->l = l;
    k_obj_ref(&l->obj);
    k_pending_add(&a->pd, c, accept_cancel);
    if (l->tail)
        l->tail->next = a;
    else
        l->head = a;
    l->tail = a;
    l->nwait++;
    listener_watch(l);
    return K_CALL_PENDING;
}

static void listener_destroy(struct k_object *obj)
{
    struct net_listener *l = (struct net_listener *)obj;
    K_ASSERT(l->head == NULL, "listener destroyed with accepts waiting");
    listener_close(l);
    port_free(l);
}

static const struct k_object_ops listener_ops = {
    .name = "TcpListener",
    .interface_id = K_IFACE_TCP_LISTENER,
    .call = listener_call,
    .destroy = listener_destroy,
};

/*
 * Listen on guest port guest through its forward. Returns -1 with
 * c->result_caps holding the new listener, the NetError, or
 * NET_NO_MEMORY.
 */
static int net_listen(struct k_call *c, uint16_t guest, uint16_t backlog)
{
    struct net_fwd *fw = guest ? fwd_find(guest) : NULL;
    if (!fw)
        return NET_DENIED;
    if (fw->listening)
        return NET_IN_USE;
    if (backlog == 0)
        backlog = 1;
    if (backlog > NET_BACKLOG_MAX)
        backlog = NET_BACKLOG_MAX;
    struct net_listener *l = port_alloc(sizeof *l);
    if (!l)
        return NET_NO_MEMORY;
    l->own.ready = listener_ready;
    l->fwd = fw;
    uint16_t bound = 0;
    int r = port_tcp_listen(fw->addr, fw->host, guest, backlog, &l->own,
                            &l->h, &bound);
    if (r < 0) {
        port_free(l);
        char line[128];
        struct k_msg m = {line, sizeof line, 0};
        k_msg_str(&m, "net: host ");
        k_msg_str(&m, fw->addr);
        k_msg_str(&m, ":");
        k_msg_u64(&m, fw->host);
        k_msg_str(&m, r == PORT_TCP_IN_USE
                          ? " is already in use; guest port "
                          : " cannot be bound; guest port ");
        k_msg_u64(&m, guest);
        k_msg_str(&m, " is not listening\n");
        k_log(line);
        return r == PORT_TCP_IN_USE ? NET_IN_USE : NET_DENIED;
    }
    fw->listening = true;
    k_obj_init(&l->obj, &listener_ops, 0);
    c->result_caps[c->nresult_caps++] = &l->obj;
    return -1;
}

/* ---- TcpListenAuthority and NetworkManager --------------------------------- */

static int tcpauth_call(struct k_object *obj, struct k_call *c)
{
    struct tcp_auth *a = (struct tcp_auth *)obj;
    if (c->method_id > TLA_PORT)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "TcpListenAuthority has no such method");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    if (c->method_id == TLA_PORT) {
        capnp_builder b;
        capnp_struct_builder res;
        if (k_call_result_begin(c, &b, 1, 0, &res) != 0)
            return CAP_ERR_INVALID_RESULT_BUFFER;
        capnp_set_u16(&res, 0, a->port, 0);
        return k_call_result_end(c, &b);
    }
    /* Room for the listener first, so a spent authority is never lost. */
    int len = listen_result(c, -1);
    if (len < 0 || CAP_ALIGN8((uint64_t)len) + sizeof(CapTransferResult) >
                       c->result_len)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (a->used)
        return listen_result(c, NET_ALREADY_USED);
    if (ct_free_count(&c->proc->caps) < 1)
        return CAP_ERR_TRANSFER_REJECTED;
    int err = net_listen(c, a->port, capnp_get_u16(&root, 0, 4));
    if (err == NET_NO_MEMORY)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpListenAuthority.listen: out of kernel "
                                "memory");
    if (err >= 0)
        return listen_result(c, err);
    a->used = true;
    return len;
}

static void plain_destroy(struct k_object *obj)
{
    port_free(obj);
}

static const struct k_object_ops tcpauth_ops = {
    .name = "TcpListenAuthority",
    .interface_id = K_IFACE_TCP_LISTEN_AUTHORITY,
    .call = tcpauth_call,
    .destroy = plain_destroy,
};

/* NetworkConfig (1 word, 2 pointers): address ptr0, prefixLength u8 @0,
 * gateway ptr1. The simulated guest network is QEMU user-mode's. */
static int netmgr_config(struct k_call *c)
{
    capnp_builder b;
    capnp_struct_builder s;
    if (res_begin(&b, c->result, c->result_cap, 1, 2, &s) != 0 ||
        capnp_set_text(&s, 0, "10.0.2.15", 9) != 0 ||
        capnp_set_text(&s, 1, "10.0.2.2", 8) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    capnp_set_u8(&s, 0, 24, 0);
    return res_end(&b);
}

static int netmgr_call(struct k_object *obj, struct k_call *c)
{
    (void)obj;
    if (c->method_id > NM_LISTEN_TCP)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "NetworkManager has no such method");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    if (c->method_id == NM_GET_CONFIG)
        return netmgr_config(c);
    int len = listen_result(c, -1);
    if (len < 0 || CAP_ALIGN8((uint64_t)len) + sizeof(CapTransferResult) >
                       c->result_len)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (ct_free_count(&c->proc->caps) < 1)
        return CAP_ERR_TRANSFER_REJECTED;
    int err = net_listen(c, capnp_get_u16(&root, 0, 0),
                         capnp_get_u16(&root, 2, 4));
    if (err == NET_NO_MEMORY)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "NetworkManager.listenTcp: out of kernel "
                                "memory");
    return err >= 0 ? listen_result(c, err) : len;
}

static const struct k_object_ops netmgr_ops = {
    .name = "NetworkManager",
    .interface_id = K_IFACE_NETWORK_MANAGER,
    .call = netmgr_call,
    .destroy = plain_destroy,
};

/* Give p a NetworkManager. Returns 0 and its CapId, or a CAP_ERR_* code. */
int netmgr_grant(struct k_process *p, uint32_t *out_id)
{
    struct k_object *o = port_alloc(sizeof *o);
    if (!o)
        return CAP_ERR_INVOKE_FAILED;
    k_obj_init(o, &netmgr_ops, 0);
    return k_obj_grant(p, o, out_id);
}

/* Give p a one-shot TcpListenAuthority for guest port badge (checked by
 * the caller with net_check_listen_port). */
int tcpauth_grant(struct k_process *p, uint64_t badge, uint32_t *out_id)
{
    struct tcp_auth *a = port_alloc(sizeof *a);
    if (!a)
        return CAP_ERR_INVOKE_FAILED;
    a->port = (uint16_t)badge;
    k_obj_init(&a->obj, &tcpauth_ops, 0);
    return k_obj_grant(p, &a->obj, out_id);
}
