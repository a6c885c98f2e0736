/*
 * test_net.c - the TCP kernel capabilities over real loopback sockets:
 * NetworkManager, TcpListenAuthority, TcpListener, TcpSocket and the
 * socket-backed TerminalSession, driven from the host context through a
 * process's ring; the client side is plain POSIX sockets.
 *
 * The model runs on the virtual clock (idle timeouts are stepped with
 * k_clock_advance); the port's loop is pumped with real short waits until
 * a pending call completes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "capos.capnp.h"
#include "net_uv.h"
#include "port_uv.h"

#define RES 70000u /* holds any result */
#define WAIT_MS 3000

static int out_fd[2] = {-1, -1}; /* console output: tests read out_fd[0] */

static int setup(void **state)
{
    (void)state;
    h_up(true, 1);
    sim_net_set_quiet(true);
    assert_int_equal(pipe2(out_fd, O_NONBLOCK | O_CLOEXEC), 0);
    sim_console_set_fd(out_fd[1]);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    h_down();
    assert_int_equal(sim_net_live(), 0);
    assert_int_equal(net_sockets_live(), 0);
    sim_console_set_fd(1);
    close(out_fd[0]);
    close(out_fd[1]);
    return 0;
}

/* ---- forwards ---------------------------------------------------------- */

/*
 * A host port that was free a moment ago, and not one this test program
 * was given before: the host may hand out a port it just freed again,
 * and a test taking two would then find its second listen refused.
 */
static uint16_t free_port(void)
{
    static uint16_t given[64];
    static unsigned ngiven;
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
        close(fd);
        uint16_t port = ntohs(a.sin_port);
        bool seen = false;
        for (unsigned i = 0; i < ngiven && i < 64; i++)
            seen |= given[i] == port;
        if (seen)
            continue;
        given[ngiven++ % 64] = port;
        return port;
    }
}

struct fwd {
    uint16_t guest, host;
    uint32_t idle; /* 0: the schema default */
    const char *addr;
};

/* Configure the model's forwards from a manifest built with the schema
 * (only kernelParams matters to net_configure). Returns its result. */
static int configure(const struct fwd *f, unsigned n, char *err, size_t cap)
{
    static uint64_t buf[512];
    capnp_builder b;
    capnp_struct_builder root, kp, e;
    capnp_list_builder l;
    capnp_builder_init(&b, buf, sizeof buf);
    assert_int_equal(capos_SystemManifest_init_root(&b, &root), 0);
    capos_SystemManifest_set_schemaVersion(&root, 1);
    assert_int_equal(capos_SystemManifest_init_kernelParams(&root, &kp), 0);
    assert_int_equal(capos_KernelParams_init_portForwards(&kp, n, &l), 0);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(capnp_list_struct_at(&l, i, &e), 0);
        capos_PortForward_set_guestPort(&e, f[i].guest);
        capos_PortForward_set_hostPort(&e, f[i].host);
        if (f[i].idle)
            capos_PortForward_set_idleTimeoutSeconds(&e, f[i].idle);
        if (f[i].addr)
            assert_int_equal(capos_PortForward_set_hostAddress(
                                 &e, f[i].addr, strlen(f[i].addr)),
                             0);
    }
    size_t len;
    assert_int_equal(capnp_finish(&b, &len), 0);
    struct k_msg m = {err, cap, 0};
    err[0] = 0;
    return net_configure((const uint8_t *)buf, len, &m);
}

static void forward(uint16_t guest, uint16_t host, uint32_t idle)
{
    char err[200];
    struct fwd f = {guest, host, idle, NULL};
    if (configure(&f, 1, err, sizeof err) != 0)
        fail_msg("configure: %s", err);
}

/* ---- calls ------------------------------------------------------------- */

struct res {
    int32_t result;
    uint8_t *buf;
    uint16_t ncaps;
    uint32_t cap; /* the first result cap */
};

/* Pump the port's loop once: a real wait of at most 1 ms. */
static void pump(void)
{
    (void)port_idle(port_clock_ns() + 1000000);
}

/* Let the virtual clock run s seconds and fire the timers then due. */
static void advance_s(uint64_t s)
{
    k_clock_advance(s * 1000000000);
    k_timer_fire_due();
}

/* Pump the port until p has a CQE (real time, bounded). */
static bool wait_cqe(struct k_process *p, CapCqe *c)
{
    for (int i = 0; i < WAIT_MS; i++) {
        if (h_cqe(p, c))
            return true;
        pump();
    }
    return h_cqe(p, c);
}

/* Submit a CALL with params[0..plen) and a result buffer of res_len. */
static void submit(struct k_process *p, uint32_t cap, uint16_t method,
                   const void *params, size_t plen, uint32_t res_len,
                   uint64_t ud, uint8_t **res)
{
    uint8_t *pb = h_alloc(p, plen + 8);
    memcpy(pb, params, plen);
    *res = h_alloc(p, res_len + 64);
    memset(*res, 0xa5, res_len + 64);
    CapSqe s;
    capnpc_c_call_sqe(&s, cap, method, 0, h_va(p, pb), (uint32_t)plen,
                      h_va(p, *res), res_len, ud);
    *h_sqe(p) = s;
    h_submit(p);
    assert_true(h_enter(p) >= 0);
}

static struct res finish(struct k_process *p, uint8_t *buf, uint64_t ud)
{
    CapCqe c;
    if (!wait_cqe(p, &c))
        fail_msg("no completion for call %llu", (unsigned long long)ud);
    assert_int_equal(c.user_data, ud);
    struct res r = {c.result, buf, c.cap_count, 0};
    if (c.result >= 0 && c.cap_count) {
        CapTransferResult rec;
        memcpy(&rec, buf + CAP_ALIGN8((uint32_t)c.result), sizeof rec);
        r.cap = rec.cap_id;
    }
    return r;
}

/* Encoded params: a root struct of dw words and np pointers. */
struct params {
    uint64_t buf[9000];
    size_t len;
    capnp_builder b;
    capnp_struct_builder root;
};

static void p_begin(struct params *pp, uint16_t dw, uint16_t np)
{
    capnp_builder_init(&pp->b, pp->buf, sizeof pp->buf);
    assert_int_equal(capnp_init_root(&pp->b, dw, np, &pp->root), 0);
}

static void p_end(struct params *pp)
{
    assert_int_equal(capnp_finish(&pp->b, &pp->len), 0);
}

static uint64_t next_ud = 100;

/* Submit a call with no params (user data ud); *res its result buffer. */
static void submit0(struct k_process *p, uint32_t cap, uint16_t method,
                    uint64_t ud, uint8_t **res)
{
    static struct params pp;
    p_begin(&pp, 0, 0);
    p_end(&pp);
    submit(p, cap, method, pp.buf, pp.len, RES, ud, res);
}

/* A call with no params, completed (pending or not). */
static struct res call0(struct k_process *p, uint32_t cap, uint16_t method)
{
    uint8_t *res;
    uint64_t ud = next_ud++;
    submit0(p, cap, method, ud, &res);
    return finish(p, res, ud);
}

/* A call with one u16/u32 param at byte offset off. */
static struct res call_u32(struct k_process *p, uint32_t cap, uint16_t method,
                           uint32_t off, uint32_t v, bool wide,
                           uint32_t res_len)
{
    static struct params pp;
    p_begin(&pp, 1, 0);
    if (wide)
        capnp_set_u32(&pp.root, off, v, 0);
    else
        capnp_set_u16(&pp.root, off, (uint16_t)v, 0);
    p_end(&pp);
    uint8_t *res;
    uint64_t ud = next_ud++;
    submit(p, cap, method, pp.buf, pp.len, res_len, ud, &res);
    return finish(p, res, ud);
}

static void submit_recv(struct k_process *p, uint32_t sock, uint32_t max,
                        uint64_t ud, uint8_t **res)
{
    static struct params pp;
    p_begin(&pp, 1, 0);
    capnp_set_u32(&pp.root, 0, max, 0);
    p_end(&pp);
    submit(p, sock, CAPOS_TCP_SOCKET_RECV_METHOD_ID, pp.buf, pp.len, RES, ud,
           res);
}

static struct res call_data(struct k_process *p, uint32_t cap, uint16_t method,
                            const void *d, size_t n)
{
    static struct params pp;
    p_begin(&pp, 0, 1);
    assert_int_equal(capnp_set_data(&pp.root, 0, d, n), 0);
    p_end(&pp);
    uint8_t *res;
    uint64_t ud = next_ud++;
    submit(p, cap, method, pp.buf, pp.len, RES, ud, &res);
    return finish(p, res, ud);
}

/* The struct at pointer 0 of a result's root (its message stays valid
 * for the next seven decodes). */
static void res_struct(const struct res *r, capnp_struct *out)
{
    static capnp_message msgs[8];
    static unsigned next;
    capnp_message *m = &msgs[next++ % 8];
    capnp_struct root;
    assert_true(r->result > 0);
    assert_int_equal(capnp_msg_init(m, r->buf, (size_t)r->result, NULL), 0);
    assert_int_equal(capnp_msg_root(m, &root), 0);
    assert_int_equal(capnp_get_struct(&root, 0, out), 0);
}

static uint16_t exception_type(const struct res *r)
{
    assert_int_equal(r->result, CAP_ERR_APPLICATION_EXCEPTION);
    capnp_message m;
    capnp_struct root = h_root(r->buf, 512, &m);
    return capnp_get_u16(&root, 0, 0);
}

/* ---- the objects ------------------------------------------------------- */

static uint32_t grant_auth(struct k_process *p, uint16_t port)
{
    uint32_t id;
    char why[160];
    struct k_msg m = {why, sizeof why, 0};
    assert_int_equal(net_check_listen_port(port, &m), 0);
    assert_int_equal(tcpauth_grant(p, port, &id), 0);
    return id;
}

/* Listen through a TcpListenAuthority; returns the listener cap. */
static uint32_t listen_auth(struct k_process *p, uint32_t auth)
{
    struct res r = call_u32(
        p, auth, CAPOS_TCP_LISTEN_AUTHORITY_LISTEN_METHOD_ID, 0, 4, false, RES);
    capnp_struct s;
    res_struct(&r, &s);
    assert_int_equal(capos_TcpListenResult_which(&s),
                     CAPOS_TCP_LISTEN_RESULT_WHICH_LISTENER);
    assert_int_equal(r.ncaps, 1);
    return r.cap;
}

static uint16_t listen_error(const struct res *r)
{
    capnp_struct s;
    res_struct(r, &s);
    assert_int_equal(capos_TcpListenResult_which(&s),
                     CAPOS_TCP_LISTEN_RESULT_WHICH_ERROR);
    assert_int_equal(r->ncaps, 0);
    return capos_TcpListenResult_get_error(&s);
}

/* A blocking loopback client with a receive timeout. */
static int client(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static uint16_t local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

static void client_send(int fd, const void *d, size_t n)
{
    assert_int_equal(send(fd, d, n, MSG_NOSIGNAL), (ssize_t)n);
}
#define CSEND(fd, lit) client_send((fd), (lit), sizeof(lit) - 1)

/* Read what the peer sent until want bytes or the end (pumping the
 * port so that queued output goes out). Returns the count, -1 at end
 * with nothing. */
static ssize_t client_read(int fd, char *buf, size_t want)
{
    size_t n = 0;
    for (int i = 0; i < WAIT_MS && n < want; i++) {
        ssize_t r = recv(fd, buf + n, want - n, MSG_DONTWAIT);
        if (r > 0) {
            n += (size_t)r;
            continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            return n ? (ssize_t)n : -1;
        pump();
    }
    return (ssize_t)n;
}

static void expect_read(int fd, const char *want, size_t n)
{
    char got[4096];
    assert_true(n < sizeof got);
    ssize_t r = client_read(fd, got, n);
    if (r != (ssize_t)n || memcmp(got, want, n) != 0) {
        got[r > 0 ? r : 0] = 0;
        fail_msg("client got %zd bytes \"%s\", want %zu", r, got, n);
    }
}
#define EXPECT_READ(fd, lit) expect_read((fd), (lit), sizeof(lit) - 1)

/* The peer closed: read returns 0 (or a reset) within the wait. */
static void expect_closed(int fd)
{
    char b[65536];
    for (int i = 0; i < WAIT_MS; i++) {
        ssize_t r = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return;
        pump();
    }
    fail_msg("the connection did not close");
}

struct accepted {
    uint32_t sock;
    char addr[16];
    uint16_t port;
};

static struct accepted accept_one(struct k_process *p, uint32_t listener)
{
    struct res r = call0(p, listener, CAPOS_TCP_LISTENER_ACCEPT_METHOD_ID);
    capnp_struct s, peer;
    res_struct(&r, &s);
    assert_int_equal(capos_TcpAcceptResult_which(&s),
                     CAPOS_TCP_ACCEPT_RESULT_WHICH_ACCEPTED);
    assert_int_equal(r.ncaps, 1);
    assert_int_equal(capos_TcpAcceptResult_accepted_get_peer(&s, &peer), 0);
    struct accepted a = {.sock = r.cap};
    const char *t;
    size_t n;
    assert_int_equal(capos_SocketAddress_get_address(&peer, &t, &n), 0);
    assert_true(n < sizeof a.addr);
    memcpy(a.addr, t, n);
    a.port = capos_SocketAddress_get_port(&peer);
    assert_int_equal(ct_lookup(&p->caps, a.sock)->obj->ops->interface_id,
                     CAPOS_TCP_SOCKET_INTERFACE_ID);
    return a;
}

/* A connected pair: the guest's socket cap and the host client's fd. */
static struct accepted connect_pair(struct k_process *p, uint16_t guest,
                                    uint32_t idle, int *fd)
{
    uint16_t host = free_port();
    forward(guest, host, idle);
    uint32_t l = listen_auth(p, grant_auth(p, guest));
    *fd = client(host);
    return accept_one(p, l);
}

/* recv's outcome: which, and the data. */
static uint16_t recv_decode(const struct res *r, char *data, size_t *n,
                            uint16_t *err)
{
    capnp_struct s;
    res_struct(r, &s);
    uint16_t w = capos_TcpRecvResult_which(&s);
    if (w == CAPOS_TCP_RECV_RESULT_WHICH_DATA) {
        const uint8_t *d;
        assert_int_equal(capos_TcpRecvResult_get_data(&s, &d, n), 0);
        memcpy(data, d, *n);
    }
    if (w == CAPOS_TCP_RECV_RESULT_WHICH_ERROR)
        *err = capos_TcpRecvResult_get_error(&s);
    return w;
}

static struct res recv_call(struct k_process *p, uint32_t sock, uint32_t max)
{
    uint8_t *res;
    uint64_t ud = next_ud++;
    submit_recv(p, sock, max, ud, &res);
    return finish(p, res, ud);
}

/* Socket.recv(max) completed and decoded (see recv_decode): its kind. */
static uint16_t recv_which(struct k_process *p, uint32_t sock, uint32_t max,
                           char *data, size_t *n, uint16_t *err)
{
    struct res r = recv_call(p, sock, max);
    return recv_decode(&r, data, n, err);
}

/* ---- tests ------------------------------------------------------------- */

static void the_interface_ids_are_the_schemas(void **state)
{
    (void)state;
    assert_int_equal(K_IFACE_NETWORK_MANAGER,
                     CAPOS_NETWORK_MANAGER_INTERFACE_ID);
    assert_int_equal(K_IFACE_TCP_LISTEN_AUTHORITY,
                     CAPOS_TCP_LISTEN_AUTHORITY_INTERFACE_ID);
    assert_int_equal(K_IFACE_TCP_LISTENER, CAPOS_TCP_LISTENER_INTERFACE_ID);
    assert_int_equal(K_IFACE_TCP_SOCKET, CAPOS_TCP_SOCKET_INTERFACE_ID);
}

static void listen_accept_recv_send_close_round_trip(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    uint16_t host = free_port();
    forward(23, host, 0);
    uint32_t auth = grant_auth(p, 23);
    struct res r = call0(p, auth, CAPOS_TCP_LISTEN_AUTHORITY_PORT_METHOD_ID);
    capnp_message m;
    capnp_struct root = h_root(r.buf, (size_t)r.result, &m);
    assert_int_equal(capos_TcpListenAuthority_port_Results_get_port(&root), 23);
    uint32_t l = listen_auth(p, auth);
    int fd = client(host);
    struct accepted a = accept_one(p, l);
    assert_string_equal(a.addr, "127.0.0.1");
    assert_int_equal(a.port, local_port(fd));

    CSEND(fd, "hello");
    char data[70000];
    size_t n = 0;
    uint16_t err = 0;
    assert_int_equal(recv_which(p, a.sock, 100, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_DATA);
    assert_int_equal(n, 5);
    assert_memory_equal(data, "hello", 5);

    /* A recv that waits completes when data comes. */
    uint8_t *res;
    uint64_t ud = next_ud++;
    submit_recv(p, a.sock, 3, ud, &res);
    CapCqe c;
    assert_false(h_cqe(p, &c));
    CSEND(fd, "world");
    r = finish(p, res, ud);
    assert_int_equal(recv_decode(&r, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_DATA);
    assert_int_equal(n, 3); /* at most maxBytes */
    assert_memory_equal(data, "wor", 3);

    r = call_data(p, a.sock, CAPOS_TCP_SOCKET_SEND_METHOD_ID, "pong!", 5);
    capnp_struct s;
    res_struct(&r, &s);
    assert_int_equal(capos_TcpSendResult_which(&s),
                     CAPOS_TCP_SEND_RESULT_WHICH_SENT);
    assert_int_equal(capos_TcpSendResult_get_sent(&s), 5);
    EXPECT_READ(fd, "pong!");

    r = call0(p, a.sock, CAPOS_TCP_SOCKET_CLOSE_METHOD_ID);
    assert_int_equal(r.result, 0);
    expect_closed(fd);
    assert_int_equal(recv_which(p, a.sock, 10, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_ERROR);
    assert_int_equal(err, CAPOS_NET_ERROR_CLOSED);
    close(fd);
}

static void a_second_listen_on_an_authority_is_already_used(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    forward(23, free_port(), 0);
    uint32_t auth = grant_auth(p, 23);
    (void)listen_auth(p, auth);
    struct res r = call_u32(
        p, auth, CAPOS_TCP_LISTEN_AUTHORITY_LISTEN_METHOD_ID, 0, 4, false, RES);
    assert_int_equal(listen_error(&r), CAPOS_NET_ERROR_ALREADY_USED);
}

static void a_guest_port_without_a_forward_is_denied(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    uint16_t host = free_port();
    forward(23, host, 0);
    uint32_t nm;
    assert_int_equal(netmgr_grant(p, &nm), 0);
    struct res r = call_u32(p, nm, CAPOS_NETWORK_MANAGER_LISTEN_TCP_METHOD_ID,
                            0, 99, false, RES);
    assert_int_equal(listen_error(&r), CAPOS_NET_ERROR_PERMISSION_DENIED);
    /* The forwarded port works through the manager, once at a time. */
    r = call_u32(p, nm, CAPOS_NETWORK_MANAGER_LISTEN_TCP_METHOD_ID, 0, 23,
                 false, RES);
    capnp_struct s;
    res_struct(&r, &s);
    assert_int_equal(capos_TcpListenResult_which(&s),
                     CAPOS_TCP_LISTEN_RESULT_WHICH_LISTENER);
    struct res r2 = call_u32(p, nm, CAPOS_NETWORK_MANAGER_LISTEN_TCP_METHOD_ID,
                             0, 23, false, RES);
    assert_int_equal(listen_error(&r2), CAPOS_NET_ERROR_ADDRESS_IN_USE);
    /* Closing the listener frees the guest port. */
    assert_int_equal(call0(p, r.cap, CAPOS_TCP_LISTENER_CLOSE_METHOD_ID).result,
                     0);
    r2 = call_u32(p, nm, CAPOS_NETWORK_MANAGER_LISTEN_TCP_METHOD_ID, 0, 23,
                  false, RES);
    res_struct(&r2, &s);
    assert_int_equal(capos_TcpListenResult_which(&s),
                     CAPOS_TCP_LISTEN_RESULT_WHICH_LISTENER);
    /* getConfig: the simulated guest network. */
    r = call0(p, nm, CAPOS_NETWORK_MANAGER_GET_CONFIG_METHOD_ID);
    res_struct(&r, &s);
    const char *t;
    size_t n;
    assert_int_equal(capos_NetworkConfig_get_address(&s, &t, &n), 0);
    assert_int_equal(n, 9);
    assert_memory_equal(t, "10.0.2.15", 9);
    assert_int_equal(capos_NetworkConfig_get_prefixLength(&s), 24);
}

static void a_host_port_in_use_answers_address_in_use(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int busy = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(busy, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(busy, 1), 0);
    assert_int_equal(getsockname(busy, (struct sockaddr *)&a, &len), 0);
    uint16_t host = ntohs(a.sin_port);
    forward(23, host, 0);
    uint32_t auth = grant_auth(p, 23);
    struct res r = call_u32(
        p, auth, CAPOS_TCP_LISTEN_AUTHORITY_LISTEN_METHOD_ID, 0, 4, false, RES);
    assert_int_equal(listen_error(&r), CAPOS_NET_ERROR_ADDRESS_IN_USE);
    char out[512], want[128];
    ssize_t n = read(out_fd[0], out, sizeof out - 1);
    assert_true(n > 0);
    out[n] = 0;
    snprintf(want, sizeof want, "net: host 127.0.0.1:%u is already in use",
             host);
    if (!strstr(out, want))
        fail_msg("console: \"%s\"", out);
    /* Not spent: once the host port is free, listen works. */
    close(busy);
    (void)listen_auth(p, auth);
}

static void bad_forwards_and_badges_are_refused(void **state)
{
    (void)state;
    char err[200];
    struct k_msg m = {err, sizeof err, 0};
    forward(23, free_port(), 0);
    assert_int_equal(net_check_listen_port(0, &m), CAP_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err, "not a guest port"));
    m.len = 0;
    assert_int_equal(net_check_listen_port(70000, &m), CAP_ERR_INVALID_REQUEST);
    m.len = 0;
    assert_int_equal(net_check_listen_port(24, &m), CAP_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err, "no forward"));
    struct fwd bad[] = {{23, 1, 0, "localhost"}};
    assert_int_equal(configure(bad, 1, err, sizeof err),
                     CAP_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err, "dotted quad"));
    struct fwd dup[] = {{23, 1, 0, NULL}, {23, 2, 0, NULL}};
    assert_int_equal(configure(dup, 2, err, sizeof err),
                     CAP_ERR_INVALID_REQUEST);
    struct fwd zero[] = {{0, 1, 0, NULL}};
    assert_int_equal(configure(zero, 1, err, sizeof err),
                     CAP_ERR_INVALID_REQUEST);
    /* An override for a guest port the manifest does not forward. */
    assert_int_equal(net_hostfwd(80, 8080), 0);
    struct fwd one[] = {{23, 1, 0, NULL}};
    assert_int_equal(configure(one, 1, err, sizeof err),
                     CAP_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err, "guest port 80"));
}

static void a_host_override_moves_the_forward(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    uint16_t host = free_port();
    assert_int_equal(net_hostfwd(23, host), 0);
    forward(23, 1, 0); /* the manifest's port 1 is overridden */
    uint32_t l = listen_auth(p, grant_auth(p, 23));
    int fd = client(host);
    (void)accept_one(p, l);
    close(fd);
}

static void a_bound_forward_is_announced_on_stderr(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    forward(23, 0, 0); /* host port 0: the host picks one */
    uint32_t auth = grant_auth(p, 23);
    int pfd[2];
    assert_int_equal(pipe2(pfd, O_NONBLOCK | O_CLOEXEC), 0);
    int saved = dup(2);
    fflush(stderr);
    assert_int_equal(dup2(pfd[1], 2), 2);
    sim_net_set_quiet(false);
    uint32_t l = listen_auth(p, auth);
    sim_net_set_quiet(true);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char got[256];
    ssize_t n = read(pfd[0], got, sizeof got - 1);
    close(pfd[0]);
    close(pfd[1]);
    assert_true(n > 0);
    got[n] = 0;
    unsigned port = 0;
    char tail[8] = "";
    if (sscanf(got, "capos-sim: tcp 127.0.0.1:%u -> guest :23%7[^x]", &port,
               tail) != 2 ||
        strcmp(tail, "\n") != 0 || port == 0)
        fail_msg("stderr: \"%s\"", got);
    /* The announced port is the real one: a client gets through. */
    int fd = client((uint16_t)port);
    (void)accept_one(p, l);
    close(fd);
}

static void a_recv_result_buffer_too_small_is_refused_untouched(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = connect_pair(p, 23, 0, &fd);
    CSEND(fd, "0123456789");
    static struct params pp;
    p_begin(&pp, 1, 0);
    capnp_set_u32(&pp.root, 0, 1000, 0);
    p_end(&pp);
    uint8_t *res;
    submit(p, a.sock, CAPOS_TCP_SOCKET_RECV_METHOD_ID, pp.buf, pp.len, 100, 9,
           &res);
    struct res r = finish(p, res, 9);
    assert_int_equal(r.result, CAP_ERR_INVALID_RESULT_BUFFER);
    for (unsigned i = 0; i < 164; i++)
        assert_int_equal(res[i], 0xa5);
    /* maxBytes out of range: invalidArgument. */
    r = recv_call(p, a.sock, 0);
    assert_int_equal(exception_type(&r), CAPOS_EXCEPTION_TYPE_INVALID_ARGUMENT);
    r = recv_call(p, a.sock, 65537);
    assert_int_equal(exception_type(&r), CAPOS_EXCEPTION_TYPE_INVALID_ARGUMENT);
    /* The data is still there. */
    char data[64];
    size_t n;
    uint16_t err;
    assert_int_equal(recv_which(p, a.sock, 64, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_DATA);
    assert_int_equal(n, 10);
    close(fd);
}

static void a_half_closed_peer_gives_closed(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = connect_pair(p, 23, 0, &fd);
    CSEND(fd, "bye");
    assert_int_equal(shutdown(fd, SHUT_WR), 0);
    char data[64];
    size_t n;
    uint16_t err;
    assert_int_equal(recv_which(p, a.sock, 64, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_DATA);
    assert_int_equal(recv_which(p, a.sock, 64, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_CLOSED);
    /* Our side still sends. */
    struct res r =
        call_data(p, a.sock, CAPOS_TCP_SOCKET_SEND_METHOD_ID, "ok", 2);
    capnp_struct s;
    res_struct(&r, &s);
    assert_int_equal(capos_TcpSendResult_get_sent(&s), 2);
    EXPECT_READ(fd, "ok");
    close(fd);
}

static void a_send_after_a_peer_reset_is_an_error(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = connect_pair(p, 23, 0, &fd);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(fd); /* RST */
    char data[64];
    size_t n;
    uint16_t err = 0;
    assert_int_equal(recv_which(p, a.sock, 64, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_ERROR);
    assert_int_equal(err, CAPOS_NET_ERROR_CONNECTION_RESET);
    struct res r =
        call_data(p, a.sock, CAPOS_TCP_SOCKET_SEND_METHOD_ID, "x", 1);
    capnp_struct s;
    res_struct(&r, &s);
    assert_int_equal(capos_TcpSendResult_which(&s),
                     CAPOS_TCP_SEND_RESULT_WHICH_ERROR);
    assert_int_equal(capos_TcpSendResult_get_error(&s),
                     CAPOS_NET_ERROR_CONNECTION_RESET);
}

/* The peer ends its stream, then resets: the host socket was in
 * CLOSE_WAIT, so the reset leaves EPIPE for the next write. A send must
 * answer connectionReset; the host's SIGPIPE used to kill the process. */
static void a_send_after_the_peer_ended_and_reset_is_an_error(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = connect_pair(p, 23, 0, &fd);
    assert_int_equal(shutdown(fd, SHUT_WR), 0);
    char data[64];
    size_t n;
    uint16_t err = 0;
    struct res r = recv_call(p, a.sock, 64);
    assert_int_equal(recv_decode(&r, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_CLOSED);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(fd); /* RST */
    capnp_struct s;
    uint16_t which = CAPOS_TCP_SEND_RESULT_WHICH_SENT;
    /* The first write after the reset may still be taken by the host;
     * a later one fails. */
    for (int i = 0; i < 3 && which == CAPOS_TCP_SEND_RESULT_WHICH_SENT; i++) {
        r = call_data(p, a.sock, CAPOS_TCP_SOCKET_SEND_METHOD_ID, "x", 1);
        res_struct(&r, &s);
        which = capos_TcpSendResult_which(&s);
    }
    assert_int_equal(which, CAPOS_TCP_SEND_RESULT_WHICH_ERROR);
    assert_int_equal(capos_TcpSendResult_get_error(&s),
                     CAPOS_NET_ERROR_CONNECTION_RESET);
}

static uint32_t into_terminal(struct k_process *p, uint32_t sock)
{
    struct res r =
        call0(p, sock, CAPOS_TCP_SOCKET_INTO_TERMINAL_SESSION_METHOD_ID);
    assert_true(r.result > 0);
    assert_int_equal(r.ncaps, 1);
    struct ct_slot *sl = ct_lookup(&p->caps, r.cap);
    assert_int_equal(sl->obj->ops->interface_id,
                     CAPOS_TERMINAL_SESSION_INTERFACE_ID);
    assert_int_equal(sl->obj->flags, K_OBJ_MOVE_ONLY);
    return r.cap;
}

/* A client connected to guest port 23 (idle timeout idle s; *fd its
 * socket) whose accepted socket became a TerminalSession: the terminal. */
static uint32_t terminal_pair(struct k_process *p, uint32_t idle, int *fd)
{
    struct accepted a = connect_pair(p, 23, idle, fd);
    return into_terminal(p, a.sock);
}

static void after_into_terminal_session_the_socket_is_disconnected(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = connect_pair(p, 23, 0, &fd);
    (void)into_terminal(p, a.sock);
    struct res r =
        call_data(p, a.sock, CAPOS_TCP_SOCKET_SEND_METHOD_ID, "x", 1);
    assert_int_equal(exception_type(&r), CAPOS_EXCEPTION_TYPE_DISCONNECTED);
    r = recv_call(p, a.sock, 10);
    assert_int_equal(exception_type(&r), CAPOS_EXCEPTION_TYPE_DISCONNECTED);
    r = call0(p, a.sock, CAPOS_TCP_SOCKET_INTO_TERMINAL_SESSION_METHOD_ID);
    assert_int_equal(exception_type(&r), CAPOS_EXCEPTION_TYPE_DISCONNECTED);
    close(fd);
}

/* ---- the socket terminal ----------------------------------------------- */

static void submit_readline(struct k_process *p, uint32_t t, const char *prompt,
                            uint16_t echo, uint64_t ud, uint8_t **res)
{
    static struct params pp;
    capnp_builder_init(&pp.b, pp.buf, sizeof pp.buf);
    assert_int_equal(
        capos_TerminalSession_readLine_Params_init_root(&pp.b, &pp.root), 0);
    assert_int_equal(capos_TerminalSession_readLine_Params_set_prompt(
                         &pp.root, prompt, strlen(prompt)),
                     0);
    capos_TerminalSession_readLine_Params_set_echo(&pp.root, echo);
    p_end(&pp);
    submit(p, t, CAPOS_TERMINAL_SESSION_READ_LINE_METHOD_ID, pp.buf, pp.len,
           RES, ud, res);
}

/* readLine's outcome; the line into line. */
static uint16_t readline_decode(const struct res *r, char *line, size_t *n)
{
    capnp_struct s;
    res_struct(r, &s);
    uint16_t w = capos_ReadLineResult_which(&s);
    if (w == CAPOS_READ_LINE_RESULT_WHICH_LINE) {
        const char *t;
        assert_int_equal(capos_ReadLineResult_get_line(&s, &t, n), 0);
        memcpy(line, t, *n);
        line[*n] = 0;
    }
    return w;
}

static uint16_t readline(struct k_process *p, uint32_t t, const char *prompt,
                         uint16_t echo, char *line, size_t *n)
{
    uint8_t *res;
    uint64_t ud = next_ud++;
    submit_readline(p, t, prompt, echo, ud, &res);
    struct res r = finish(p, res, ud);
    return readline_decode(&r, line, n);
}

static void a_socket_terminal_prompts_echoes_and_hides(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    uint32_t t = terminal_pair(p, 0, &fd);
    char line[4200];
    size_t n;
    CSEND(fd, "bob\r\n");
    assert_int_equal(
        readline(p, t, "login: ", CAPOS_ECHO_MODE_VISIBLE, line, &n),
        CAPOS_READ_LINE_RESULT_WHICH_LINE);
    assert_string_equal(line, "bob");
    EXPECT_READ(fd, "login: bob\r\n");
    CSEND(fd, "s3cret\r\0");
    assert_int_equal(
        readline(p, t, "password: ", CAPOS_ECHO_MODE_HIDDEN, line, &n),
        CAPOS_READ_LINE_RESULT_WHICH_LINE);
    assert_string_equal(line, "s3cret");
    EXPECT_READ(fd, "password: \r\n"); /* nothing of the password */
    /* write and writeLine go to the peer. */
    struct res r =
        call_data(p, t, CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID, "hi", 2);
    assert_int_equal(r.result, 0);
    EXPECT_READ(fd, "hi");
    /* info: telnet transport, the peer, size unknown without NAWS. */
    r = call0(p, t, CAPOS_TERMINAL_SESSION_INFO_METHOD_ID);
    capnp_struct s;
    res_struct(&r, &s);
    assert_int_equal(capos_TerminalInfo_get_transport(&s),
                     CAPOS_TRANSPORT_TELNET);
    assert_int_equal(capos_TerminalInfo_get_columns(&s), 0);
    const char *peer;
    size_t pl;
    assert_int_equal(capos_TerminalInfo_get_peer(&s, &peer, &pl), 0);
    char want[32];
    snprintf(want, sizeof want, "127.0.0.1:%u", local_port(fd));
    assert_int_equal(pl, strlen(want));
    assert_memory_equal(peer, want, pl);
    /* close disconnects the peer; later calls are refused. */
    assert_int_equal(call0(p, t, CAPOS_TERMINAL_SESSION_CLOSE_METHOD_ID).result,
                     0);
    expect_closed(fd);
    r = call_data(p, t, CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID, "x", 1);
    assert_int_equal(exception_type(&r), CAPOS_EXCEPTION_TYPE_DISCONNECTED);
    close(fd);
}

static void the_socket_terminal_filters_telnet_commands(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    uint32_t t = terminal_pair(p, 0, &fd);
    static const uint8_t in[] = {
        255, 251,  1,                            /* IAC WILL ECHO */
        255, 253,  3,                            /* IAC DO SGA */
        255, 250,  31,  0, 132, 0, 40, 255, 240, /* IAC SB NAWS 132x40 IAC SE */
        'a', 255,  241,                          /* IAC NOP */
        255, 255,                                /* IAC IAC: data 0xFF */
        'b', '\r', '\n'};
    client_send(fd, in, sizeof in);
    char line[4200];
    size_t n;
    assert_int_equal(readline(p, t, "", CAPOS_ECHO_MODE_HIDDEN, line, &n),
                     CAPOS_READ_LINE_RESULT_WHICH_LINE);
    /* The lone 0xFF is invalid UTF-8: U+FFFD. */
    assert_int_equal(n, 5);
    assert_memory_equal(line,
                        "a\xef\xbf\xbd"
                        "b",
                        5);
    EXPECT_READ(fd, "\r\n");
    struct res r = call0(p, t, CAPOS_TERMINAL_SESSION_INFO_METHOD_ID);
    capnp_struct s;
    res_struct(&r, &s);
    assert_int_equal(capos_TerminalInfo_get_columns(&s), 132);
    assert_int_equal(capos_TerminalInfo_get_rows(&s), 40);
    /* Output doubles 0xFF. */
    r = call_data(p, t, CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID, "\xff!", 2);
    assert_int_equal(r.result, 0);
    EXPECT_READ(fd, "\xff\xff!");
    close(fd);
}

static void telnet_commands_inside_long_data_runs_are_found(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    uint32_t t = terminal_pair(p, 0, &fd);
    /* Commands at offsets that are not multiples of 8, between runs of
     * plain data longer than a word. */
    static const uint8_t in[] = "abcdefghijklmnopq\xff\xf1rstuvwxyz0123"
                                "\xff\xfb\x01"
                                "456789ABCDEFGHIJ\xff\xfe\x03KL\r\n";
    client_send(fd, in, sizeof in - 1);
    char line[4200];
    size_t n;
    assert_int_equal(readline(p, t, "", CAPOS_ECHO_MODE_HIDDEN, line, &n),
                     CAPOS_READ_LINE_RESULT_WHICH_LINE);
    assert_string_equal(line,
                        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL");
    close(fd);
}

static void an_endless_subnegotiation_closes_the_connection(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    uint32_t t = terminal_pair(p, 0, &fd);
    uint8_t in[200] = {255, 250, 24};
    memset(in + 3, 'x', sizeof in - 3);
    client_send(fd, in, sizeof in);
    char line[4200];
    size_t n;
    assert_int_equal(readline(p, t, "", CAPOS_ECHO_MODE_VISIBLE, line, &n),
                     CAPOS_READ_LINE_RESULT_WHICH_END_OF_INPUT);
    expect_closed(fd);
    close(fd);
}

static void a_megabyte_line_closes_the_connection_cleanly(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    uint32_t t = terminal_pair(p, 0, &fd);
    uint8_t *res;
    uint64_t ud = next_ud++;
    submit_readline(p, t, "> ", CAPOS_ECHO_MODE_HIDDEN, ud, &res);
    /* 1 MiB without a line end, written as the server lets it in. */
    assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    size_t sent = 0;
    CapCqe c;
    bool done = false;
    for (int i = 0; i < 20000 && !done; i++) {
        if (sent < (1u << 20)) {
            ssize_t w = send(fd, chunk, sizeof chunk, MSG_NOSIGNAL);
            if (w > 0)
                sent += (size_t)w;
            else if (errno != EAGAIN && errno != EWOULDBLOCK)
                sent = 1u << 20; /* closed under us: expected */
        }
        pump();
        done = h_cqe(p, &c);
    }
    assert_true(done);
    struct res r = {c.result, res, 0, 0};
    char line[8];
    size_t n;
    assert_int_equal(readline_decode(&r, line, &n),
                     CAPOS_READ_LINE_RESULT_WHICH_END_OF_INPUT);
    expect_closed(fd);
    close(fd);
}

/*
 * On a connection with a 5 s idle timeout and no input coming: a recv
 * waits 4 s unanswered, then at 5 s answers closed and the peer sees the
 * end.
 */
static void recv_until_idle_close(struct k_process *p, uint32_t sock, int fd)
{
    uint8_t *res;
    uint64_t ud = next_ud++;
    submit_recv(p, sock, 64, ud, &res);
    CapCqe c;
    advance_s(4);
    pump();
    assert_false(h_cqe(p, &c)); /* not yet */
    advance_s(1);
    struct res r = finish(p, res, ud);
    char data[64];
    size_t n;
    uint16_t err;
    assert_int_equal(recv_decode(&r, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_CLOSED);
    expect_closed(fd);
}

static void an_idle_connection_is_closed_after_its_timeout(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = connect_pair(p, 23, 5, &fd);
    recv_until_idle_close(p, a.sock, fd);
    close(fd);
}

/*
 * Idle time runs only while the holder waits for input: a socket nobody
 * reads from (a shell busy checking a password) outlives the timeout, and
 * the clock starts when a recv begins to wait.
 */
static void idle_time_counts_only_while_a_recv_waits(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = connect_pair(p, 23, 5, &fd);
    advance_s(60); /* no recv waits: not idle */
    pump();
    uint8_t *res;
    uint64_t ud = next_ud++;
    submit_recv(p, a.sock, 64, ud, &res);
    CapCqe c;
    advance_s(4);
    pump();
    assert_false(h_cqe(p, &c)); /* 4 s of waiting: still open */
    CSEND(fd, "hi");
    struct res r = finish(p, res, ud);
    char data[64];
    size_t n;
    uint16_t err;
    assert_int_equal(recv_decode(&r, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_DATA);
    assert_int_equal(n, 2);
    advance_s(30); /* between recvs: not idle */
    pump();
    recv_until_idle_close(p, a.sock, fd); /* 5 s of waiting: closed */
    close(fd);
}

static void input_restarts_the_idle_time_of_a_terminal(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    uint32_t t = terminal_pair(p, 5, &fd);
    uint8_t *res;
    uint64_t ud = next_ud++;
    submit_readline(p, t, "", CAPOS_ECHO_MODE_VISIBLE, ud, &res);
    k_clock_advance(4ull * 1000000000);
    CSEND(fd, "ab");
    EXPECT_READ(fd, "ab"); /* the echo: the input was taken */
    advance_s(4);
    CapCqe c;
    pump();
    assert_false(h_cqe(p, &c)); /* 8 s since accept, 4 s since input */
    advance_s(1);
    struct res r = finish(p, res, ud);
    char line[8];
    size_t n;
    assert_int_equal(readline_decode(&r, line, &n),
                     CAPOS_READ_LINE_RESULT_WHICH_END_OF_INPUT);
    expect_closed(fd);
    /* The peer is gone: later calls fail with disconnected. */
    r = call_data(p, t, CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID, "x", 1);
    assert_int_equal(exception_type(&r), CAPOS_EXCEPTION_TYPE_DISCONNECTED);
    close(fd);
}

static void
a_window_size_negotiated_over_recv_reaches_the_terminal(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = connect_pair(p, 23, 0, &fd);
    static const uint8_t naws[] = {255, 251, 31, 255, 250, 31,
                                   0,   100, 0,  30,  255, 240};
    client_send(fd, naws, sizeof naws);
    char data[64];
    size_t n;
    uint16_t err;
    assert_int_equal(recv_which(p, a.sock, 64, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_DATA);
    assert_int_equal(n, sizeof naws); /* recv passes the bytes as they are */
    assert_memory_equal(data, naws, sizeof naws);
    uint32_t t = into_terminal(p, a.sock);
    struct res r = call0(p, t, CAPOS_TERMINAL_SESSION_INFO_METHOD_ID);
    capnp_struct s;
    res_struct(&r, &s);
    assert_int_equal(capos_TerminalInfo_get_columns(&s), 100);
    assert_int_equal(capos_TerminalInfo_get_rows(&s), 30);
    close(fd);
}

/*
 * intoTerminalSession on a socket whose recv (user data recv_ud, result
 * buffer rres) waits: the recv completes first with error closed, then
 * the call with the terminal. Returns the terminal's cap.
 */
static uint32_t into_terminal_past_recv(struct k_process *p, uint32_t sock,
                                        uint64_t recv_ud, uint8_t *rres)
{
    uint8_t *res;
    uint64_t ud = next_ud++;
    submit0(p, sock, CAPOS_TCP_SOCKET_INTO_TERMINAL_SESSION_METHOD_ID, ud,
            &res);
    struct res r = finish(p, rres, recv_ud); /* the recv's CQE comes first */
    char data[64];
    size_t n = 0;
    uint16_t err = 0;
    assert_int_equal(recv_decode(&r, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_ERROR);
    assert_int_equal(err, CAPOS_NET_ERROR_CLOSED);
    r = finish(p, res, ud);
    assert_true(r.result > 0);
    assert_int_equal(r.ncaps, 1);
    assert_int_equal(ct_lookup(&p->caps, r.cap)->obj->ops->interface_id,
                     CAPOS_TERMINAL_SESSION_INTERFACE_ID);
    CapCqe extra;
    assert_false(h_cqe(p, &extra));
    return r.cap;
}

static void
a_waiting_recv_ends_closed_when_the_socket_becomes_a_terminal(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = connect_pair(p, 23, 0, &fd);
    uint8_t *rres;
    uint64_t rud = next_ud++;
    submit_recv(p, a.sock, 64, rud, &rres);
    CapCqe c;
    pump();
    assert_false(h_cqe(p, &c)); /* nothing to return: the recv waits */
    /* Input arrives and is not read before the conversion (the port is
     * not pumped): it must reach the terminal, not the ended recv. */
    CSEND(fd, "bob\r\n");
    uint32_t t = into_terminal_past_recv(p, a.sock, rud, rres);
    char line[64];
    size_t n;
    assert_int_equal(
        readline(p, t, "login: ", CAPOS_ECHO_MODE_VISIBLE, line, &n),
        CAPOS_READ_LINE_RESULT_WHICH_LINE);
    assert_string_equal(line, "bob");
    EXPECT_READ(fd, "login: bob\r\n");
    /* The socket is spent. */
    struct res r = recv_call(p, a.sock, 10);
    assert_int_equal(exception_type(&r), CAPOS_EXCEPTION_TYPE_DISCONNECTED);
    close(fd);
}

static void a_closed_socket_is_not_turned_into_a_terminal(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = connect_pair(p, 23, 0, &fd);
    assert_int_equal(call0(p, a.sock, CAPOS_TCP_SOCKET_CLOSE_METHOD_ID).result,
                     0);
    struct res r =
        call0(p, a.sock, CAPOS_TCP_SOCKET_INTO_TERMINAL_SESSION_METHOD_ID);
    assert_int_equal(exception_type(&r), CAPOS_EXCEPTION_TYPE_FAILED);
    assert_int_equal(r.ncaps, 0);
    close(fd);
}

/* A send waiting for room (the client reads nothing) refuses the
 * conversion, and the socket goes on as a socket. */
static void a_waiting_send_refuses_the_conversion(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = connect_pair(p, 23, 0, &fd);
    static struct params pp;
    static uint8_t chunk[60000];
    memset(chunk, 'x', sizeof chunk);
    p_begin(&pp, 0, 1);
    assert_int_equal(capnp_set_data(&pp.root, 0, chunk, sizeof chunk), 0);
    p_end(&pp);
    uint8_t *pb = h_alloc(p, pp.len);
    memcpy(pb, pp.buf, pp.len);
    uint8_t *res = h_alloc(p, 64);
    /* Sends complete at once until the host socket buffers and the
     * 256 KiB output queue are full (the port is not pumped, the client
     * reads nothing); then one waits. */
    uint64_t ud = 0;
    CapCqe c;
    bool waiting = false;
    for (int i = 0; i < 1000 && !waiting; i++) {
        ud = next_ud++;
        CapSqe sq;
        capnpc_c_call_sqe(&sq, a.sock, CAPOS_TCP_SOCKET_SEND_METHOD_ID, 0,
                          h_va(p, pb), (uint32_t)pp.len, h_va(p, res), 64, ud);
        *h_sqe(p) = sq;
        h_submit(p);
        assert_true(h_enter(p) >= 0);
        if (h_cqe(p, &c)) {
            assert_int_equal(c.user_data, ud);
            assert_true(c.result > 0);
        } else {
            waiting = true;
        }
    }
    assert_true(waiting);
    struct res r =
        call0(p, a.sock, CAPOS_TCP_SOCKET_INTO_TERMINAL_SESSION_METHOD_ID);
    assert_int_equal(exception_type(&r), CAPOS_EXCEPTION_TYPE_FAILED);
    assert_int_equal(r.ncaps, 0);
    /* Still a socket: close answers the waiting send closed (its CQE
     * first), then completes. */
    static struct params cp;
    p_begin(&cp, 0, 0);
    p_end(&cp);
    uint8_t *cres;
    uint64_t cud = next_ud++;
    submit(p, a.sock, CAPOS_TCP_SOCKET_CLOSE_METHOD_ID, cp.buf, cp.len, RES,
           cud, &cres);
    r = finish(p, res, ud);
    capnp_struct st;
    res_struct(&r, &st);
    assert_int_equal(capos_TcpSendResult_which(&st),
                     CAPOS_TCP_SEND_RESULT_WHICH_ERROR);
    assert_int_equal(capos_TcpSendResult_get_error(&st),
                     CAPOS_NET_ERROR_CLOSED);
    assert_int_equal(finish(p, cres, cud).result, 0);
    close(fd);
}

/* A gateway's recv returns the first half of a NAWS subnegotiation; the
 * rest arrives after the conversion, with a line. The terminal finishes
 * the subnegotiation (info() says 80x24) and none of it becomes data. */
static void a_window_size_split_across_the_conversion_reaches_info(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = connect_pair(p, 23, 0, &fd);
    static const uint8_t first[] = {255, 251, 31, 255, 250, 31, 0, 80};
    static const uint8_t rest[] = {0, 24, 255, 240, 'b', 'o', 'b', '\r', '\n'};
    client_send(fd, first, sizeof first);
    char data[64];
    size_t n;
    uint16_t err;
    assert_int_equal(recv_which(p, a.sock, 64, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_DATA);
    assert_int_equal(n, sizeof first);
    uint8_t *rres;
    uint64_t rud = next_ud++;
    submit_recv(p, a.sock, 64, rud, &rres);
    client_send(fd, rest, sizeof rest);
    uint32_t t = into_terminal_past_recv(p, a.sock, rud, rres);
    char line[64];
    assert_int_equal(readline(p, t, "", CAPOS_ECHO_MODE_HIDDEN, line, &n),
                     CAPOS_READ_LINE_RESULT_WHICH_LINE);
    assert_string_equal(line, "bob");
    struct res r = call0(p, t, CAPOS_TERMINAL_SESSION_INFO_METHOD_ID);
    capnp_struct s;
    res_struct(&r, &s);
    assert_int_equal(capos_TerminalInfo_get_columns(&s), 80);
    assert_int_equal(capos_TerminalInfo_get_rows(&s), 24);
    close(fd);
}

/* ---- accepts on a thread's own ring (docs/abi.md §16.2) ---------------- */

/* TcpListener.accept submitted on thread t's own ring; *res its buffer. */
static void thread_accept(struct k_process *p, struct k_thread *t, CapRing *r,
                          uint32_t listener, uint64_t ud, uint8_t **res)
{
    static struct params pp;
    p_begin(&pp, 0, 0);
    p_end(&pp);
    uint8_t *pb = h_alloc(p, pp.len + 8);
    memcpy(pb, pp.buf, pp.len);
    *res = h_alloc(p, RES);
    CapSqe s;
    capnpc_c_call_sqe(&s, listener, CAPOS_TCP_LISTENER_ACCEPT_METHOD_ID, 0,
                      h_va(p, pb), (uint32_t)pp.len, h_va(p, *res), RES, ud);
    h_ring_push(r, &s);
    assert_int_equal(k_ring_submit_thread(t), 1);
    assert_int_equal(t->ring.cq_reserved, 1); /* pending, on t's ring */
}

/* Pump the port until ring r has a CQE. */
static bool wait_ring_cqe(CapRing *r, CapCqe *c)
{
    for (int i = 0; i < WAIT_MS; i++) {
        if (h_ring_pop(r, c))
            return true;
        pump();
    }
    return h_ring_pop(r, c);
}

/* The accepted socket of an accept CQE (its cap in p's table). */
static uint32_t accepted_socket(struct k_process *p, const CapCqe *c,
                                const uint8_t *res)
{
    assert_true(c->result > 0);
    assert_int_equal(c->cap_count, 1);
    struct res r = {c->result, (uint8_t *)res, c->cap_count, 0};
    capnp_struct s;
    res_struct(&r, &s);
    assert_int_equal(capos_TcpAcceptResult_which(&s),
                     CAPOS_TCP_ACCEPT_RESULT_WHICH_ACCEPTED);
    CapTransferResult rec;
    memcpy(&rec, res + CAP_ALIGN8((uint32_t)c->result), sizeof rec);
    assert_int_equal(rec.interface_id, CAPOS_TCP_SOCKET_INTERFACE_ID);
    assert_int_equal(ct_lookup(&p->caps, rec.cap_id)->obj->ops->interface_id,
                     CAPOS_TCP_SOCKET_INTERFACE_ID);
    return rec.cap_id;
}

/* Two threads with their own rings each post an accept on one listener:
 * each connection completes the oldest waiting accept on the ring that
 * submitted it (never the process ring nor the sibling's); a thread that
 * exits withdraws its accept, and the next connection goes to the next
 * waiting accept. */
static void a_waiting_accept_completes_on_its_threads_ring(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    uint16_t host = free_port();
    forward(23, host, 0);
    uint32_t l = listen_auth(p, grant_auth(p, 23));
    struct k_thread *main_t;
    assert_int_equal(k_thread_create(p, h_never_runs, NULL, &main_t), 0);
    CapRing *ra, *rb;
    struct k_thread *ta = h_ring_thread(p, &ra);
    struct k_thread *tb = h_ring_thread(p, &rb);
    uint8_t *resa, *resb, *resp;
    thread_accept(p, ta, ra, l, 11, &resa);
    thread_accept(p, tb, rb, l, 12, &resb);
    CapCqe c;
    pump();
    assert_false(h_ring_pop(ra, &c));
    assert_false(h_ring_pop(rb, &c));

    int fd1 = client(host);
    assert_true(wait_ring_cqe(ra, &c));
    assert_int_equal(c.user_data, 11);
    uint32_t s1 = accepted_socket(p, &c, resa);
    assert_int_equal(ta->ring.cq_reserved, 0);
    assert_false(h_ring_pop(rb, &c));
    assert_false(h_cqe(p, &c));
    assert_int_equal(tb->ring.cq_reserved, 1);

    /* B exits with its accept waiting: withdrawn, no CQE anywhere; the
     * next connection waits for an accept from the process ring. */
    k_thread_kill(tb);
    k_sched_reap();
    assert_null(p->pending);
    int fd2 = client(host);
    pump();
    assert_false(h_ring_pop(ra, &c));
    assert_false(h_ring_pop(rb, &c));
    assert_false(h_cqe(p, &c));
    submit0(p, l, CAPOS_TCP_LISTENER_ACCEPT_METHOD_ID, 13, &resp);
    struct res r = finish(p, resp, 13);
    assert_int_equal(r.ncaps, 1);
    assert_false(h_ring_pop(ra, &c));
    assert_int_equal(k.stats.stale_dropped, 0);

    /* The socket A accepted works from the process ring as well. */
    CSEND(fd1, "hi");
    char data[64];
    size_t n;
    uint16_t err;
    assert_int_equal(recv_which(p, s1, 64, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_DATA);
    assert_memory_equal(data, "hi", 2);
    assert_int_equal(k_process_check(p), 0);
    close(fd1);
    close(fd2);
}

static void a_closed_listener_answers_waiting_accepts_closed(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    forward(23, free_port(), 0);
    uint32_t l = listen_auth(p, grant_auth(p, 23));
    uint8_t *res, *cres;
    submit0(p, l, CAPOS_TCP_LISTENER_ACCEPT_METHOD_ID, 5, &res);
    CapCqe c;
    assert_false(h_cqe(p, &c));
    submit0(p, l, CAPOS_TCP_LISTENER_CLOSE_METHOD_ID, 6, &cres);
    struct res r = finish(p, res, 5); /* the waiting accept first */
    capnp_struct s;
    res_struct(&r, &s);
    assert_int_equal(capos_TcpAcceptResult_which(&s),
                     CAPOS_TCP_ACCEPT_RESULT_WHICH_ERROR);
    assert_int_equal(capos_TcpAcceptResult_get_error(&s),
                     CAPOS_NET_ERROR_CLOSED);
    assert_int_equal(finish(p, cres, 6).result, 0);
    r = call0(p, l, CAPOS_TCP_LISTENER_ACCEPT_METHOD_ID);
    res_struct(&r, &s);
    assert_int_equal(capos_TcpAcceptResult_get_error(&s),
                     CAPOS_NET_ERROR_CLOSED);
}

static void exit_with_waiting_accept_recv_and_readline_frees_all(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    uint16_t h23 = free_port(), h24 = free_port();
    struct fwd two[] = {{23, h23, 0, NULL}, {24, h24, 0, NULL}};
    char err[200];
    assert_int_equal(configure(two, 2, err, sizeof err), 0);
    uint32_t l23 = listen_auth(p, grant_auth(p, 23));
    uint32_t l24 = listen_auth(p, grant_auth(p, 24));
    int fd1 = client(h23);
    struct accepted a1 = accept_one(p, l23);
    int fd2 = client(h24);
    struct accepted a2 = accept_one(p, l24);
    uint32_t t = into_terminal(p, a2.sock);
    uint8_t *r1, *r2, *r3;
    submit0(p, l23, CAPOS_TCP_LISTENER_ACCEPT_METHOD_ID, 1, &r1);
    submit_recv(p, a1.sock, 64, 2, &r2);
    submit_readline(p, t, "$ ", CAPOS_ECHO_MODE_VISIBLE, 3, &r3);
    CapCqe c;
    pump();
    assert_false(h_cqe(p, &c));
    assert_non_null(p->pending);
    assert_int_equal(net_sockets_live(), 2);
    k_process_exit(p, 0);
    assert_int_equal(net_sockets_live(), 0);
    expect_closed(fd1);
    expect_closed(fd2);
    close(fd1);
    close(fd2);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_interface_ids_are_the_schemas),
        T(listen_accept_recv_send_close_round_trip),
        T(a_second_listen_on_an_authority_is_already_used),
        T(a_guest_port_without_a_forward_is_denied),
        T(a_host_port_in_use_answers_address_in_use),
        T(bad_forwards_and_badges_are_refused),
        T(a_host_override_moves_the_forward),
        T(a_bound_forward_is_announced_on_stderr),
        T(a_recv_result_buffer_too_small_is_refused_untouched),
        T(a_half_closed_peer_gives_closed),
        T(a_send_after_a_peer_reset_is_an_error),
        T(a_send_after_the_peer_ended_and_reset_is_an_error),
        T(after_into_terminal_session_the_socket_is_disconnected),
        T(a_socket_terminal_prompts_echoes_and_hides),
        T(the_socket_terminal_filters_telnet_commands),
        T(telnet_commands_inside_long_data_runs_are_found),
        T(an_endless_subnegotiation_closes_the_connection),
        T(a_megabyte_line_closes_the_connection_cleanly),
        T(an_idle_connection_is_closed_after_its_timeout),
        T(idle_time_counts_only_while_a_recv_waits),
        T(input_restarts_the_idle_time_of_a_terminal),
        T(a_window_size_negotiated_over_recv_reaches_the_terminal),
        T(a_waiting_recv_ends_closed_when_the_socket_becomes_a_terminal),
        T(a_closed_socket_is_not_turned_into_a_terminal),
        T(a_waiting_send_refuses_the_conversion),
        T(a_window_size_split_across_the_conversion_reaches_info),
        T(a_waiting_accept_completes_on_its_threads_ring),
        T(a_closed_listener_answers_waiting_accepts_closed),
        T(exit_with_waiting_accept_recv_and_readline_frees_all),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
