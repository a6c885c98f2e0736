/*
 * harness_net.c - shared helpers of the network unit tests; the contracts
 * are in harness_net.h.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness_net.h"
#include "capos.capnp.h"
#include "net_uv.h"
#include "port_uv.h"

int hn_out_fd[2] = {-1, -1}; /* console output: tests read hn_out_fd[0] */

static int hn_setup_clock(bool virtual_clock)
{
    h_up(virtual_clock, 1);
    sim_net_set_quiet(true);
    assert_int_equal(pipe2(hn_out_fd, O_NONBLOCK | O_CLOEXEC), 0);
    sim_console_set_fd(hn_out_fd[1]);
    return 0;
}

/* Completions of other calls that arrived while hn_finish waited for
 * its own (a call may complete a pending one before itself: a feed
 * completing a waiting readLine). */
static CapCqe hn_stash[8];
static unsigned hn_nstash;

int hn_setup(void **state)
{
    (void)state;
    return hn_setup_clock(true);
}

int hn_setup_real_clock(void **state)
{
    (void)state;
    return hn_setup_clock(false);
}

int hn_teardown(void **state)
{
    (void)state;
    assert_int_equal(hn_nstash, 0); /* every completion was claimed */
    h_down();
    assert_int_equal(sim_net_live(), 0);
    assert_int_equal(tcpsocket_conns_live(), 0);
    sim_console_set_fd(1);
    close(hn_out_fd[0]);
    close(hn_out_fd[1]);
    return 0;
}

uint16_t hn_free_port(void)
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

int hn_configure(const struct fwd *f, unsigned n, char *err, size_t cap)
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

void hn_forward(uint16_t guest, uint16_t host, uint32_t idle)
{
    char err[200];
    struct fwd f = {guest, host, idle, NULL};
    if (hn_configure(&f, 1, err, sizeof err) != 0)
        fail_msg("configure: %s", err);
}

void hn_pump(void)
{
    (void)port_idle(port_clock_ns() + 1000000);
}

void hn_advance_s(uint64_t s)
{
    k_clock_advance(s * 1000000000);
    k_timer_fire_due();
}

bool hn_wait_cqe(struct k_process *p, CapCqe *c)
{
    for (int i = 0; i < WAIT_MS; i++) {
        if (h_cqe(p, c))
            return true;
        hn_pump();
    }
    return h_cqe(p, c);
}

void hn_submit(struct k_process *p, uint32_t cap, uint16_t method,
               const void *params, size_t plen, uint32_t res_len, uint64_t ud,
               uint8_t **res)
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


/* The CQE of ud: kept from an earlier wait, or the next ones (others
 * kept for their own hn_finish). False if none comes. */
static bool hn_cqe_of(struct k_process *p, uint64_t ud, CapCqe *c)
{
    for (unsigned i = 0; i < hn_nstash; i++) {
        if (hn_stash[i].user_data == ud) {
            *c = hn_stash[i];
            hn_stash[i] = hn_stash[--hn_nstash];
            return true;
        }
    }
    while (hn_wait_cqe(p, c)) {
        if (c->user_data == ud)
            return true;
        assert_true(hn_nstash < sizeof hn_stash / sizeof hn_stash[0]);
        hn_stash[hn_nstash++] = *c;
    }
    return false;
}

struct res hn_finish(struct k_process *p, uint8_t *buf, uint64_t ud)
{
    CapCqe c;
    if (!hn_cqe_of(p, ud, &c))
        fail_msg("no completion for call %llu", (unsigned long long)ud);
    struct res r = {c.result, buf, c.cap_count, 0};
    if (buf && c.result >= 0 && c.cap_count) {
        CapTransferResult rec;
        memcpy(&rec, buf + CAP_ALIGN8((uint32_t)c.result), sizeof rec);
        r.cap = rec.cap_id;
    }
    return r;
}

void hn_p_begin(struct params *pp, uint16_t dw, uint16_t np)
{
    capnp_builder_init(&pp->b, pp->buf, sizeof pp->buf);
    assert_int_equal(capnp_init_root(&pp->b, dw, np, &pp->root), 0);
}

void hn_p_end(struct params *pp)
{
    assert_int_equal(capnp_finish(&pp->b, &pp->len), 0);
}

uint64_t hn_next_ud = 100;

void hn_submit0(struct k_process *p, uint32_t cap, uint16_t method, uint64_t ud,
                uint8_t **res)
{
    static struct params pp;
    hn_p_begin(&pp, 0, 0);
    hn_p_end(&pp);
    hn_submit(p, cap, method, pp.buf, pp.len, RES, ud, res);
}

struct res hn_call0(struct k_process *p, uint32_t cap, uint16_t method)
{
    uint8_t *res;
    uint64_t ud = hn_next_ud++;
    hn_submit0(p, cap, method, ud, &res);
    return hn_finish(p, res, ud);
}

struct res hn_call_u32(struct k_process *p, uint32_t cap, uint16_t method,
                       uint32_t off, uint32_t v, bool wide, uint32_t res_len)
{
    static struct params pp;
    hn_p_begin(&pp, 1, 0);
    if (wide)
        capnp_set_u32(&pp.root, off, v, 0);
    else
        capnp_set_u16(&pp.root, off, (uint16_t)v, 0);
    hn_p_end(&pp);
    uint8_t *res;
    uint64_t ud = hn_next_ud++;
    hn_submit(p, cap, method, pp.buf, pp.len, res_len, ud, &res);
    return hn_finish(p, res, ud);
}

void hn_submit_recv(struct k_process *p, uint32_t sock, uint32_t max,
                    uint64_t ud, uint8_t **res)
{
    static struct params pp;
    hn_p_begin(&pp, 1, 0);
    capnp_set_u32(&pp.root, 0, max, 0);
    hn_p_end(&pp);
    hn_submit(p, sock, CAPOS_TCP_SOCKET_RECV_METHOD_ID, pp.buf, pp.len, RES, ud,
              res);
}

struct res hn_call_data(struct k_process *p, uint32_t cap, uint16_t method,
                        const void *d, size_t n)
{
    static struct params pp;
    hn_p_begin(&pp, 0, 1);
    assert_int_equal(capnp_set_data(&pp.root, 0, d, n), 0);
    hn_p_end(&pp);
    uint8_t *res;
    uint64_t ud = hn_next_ud++;
    hn_submit(p, cap, method, pp.buf, pp.len, RES, ud, &res);
    return hn_finish(p, res, ud);
}

void hn_res_struct(const struct res *r, capnp_struct *out)
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

uint16_t hn_exception_type(const struct res *r)
{
    assert_int_equal(r->result, CAP_ERR_APPLICATION_EXCEPTION);
    capnp_message m;
    capnp_struct root = h_root(r->buf, 512, &m);
    return capnp_get_u16(&root, 0, 0);
}

uint32_t hn_grant_auth(struct k_process *p, uint16_t port)
{
    uint32_t id;
    char why[160];
    struct k_msg m = {why, sizeof why, 0};
    assert_int_equal(net_check_listen_port(port, &m), 0);
    assert_int_equal(tcpauth_grant(p, port, &id), 0);
    return id;
}

uint32_t hn_listen_auth(struct k_process *p, uint32_t auth)
{
    struct res r = hn_call_u32(
        p, auth, CAPOS_TCP_LISTEN_AUTHORITY_LISTEN_METHOD_ID, 0, 4, false, RES);
    capnp_struct s;
    hn_res_struct(&r, &s);
    assert_int_equal(capos_TcpListenResult_which(&s),
                     CAPOS_TCP_LISTEN_RESULT_WHICH_LISTENER);
    assert_int_equal(r.ncaps, 1);
    return r.cap;
}

uint16_t hn_listen_error(const struct res *r)
{
    capnp_struct s;
    hn_res_struct(r, &s);
    assert_int_equal(capos_TcpListenResult_which(&s),
                     CAPOS_TCP_LISTEN_RESULT_WHICH_ERROR);
    assert_int_equal(r->ncaps, 0);
    return capos_TcpListenResult_get_error(&s);
}

int hn_client(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

uint16_t hn_local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

void hn_client_send(int fd, const void *d, size_t n)
{
    assert_int_equal(send(fd, d, n, MSG_NOSIGNAL), (ssize_t)n);
}

void hn_client_reset(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(fd);
}

ssize_t hn_client_read(int fd, char *buf, size_t want)
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
        hn_pump();
    }
    return (ssize_t)n;
}

void hn_expect_read(int fd, const char *want, size_t n)
{
    char got[4096];
    assert_true(n < sizeof got);
    ssize_t r = hn_client_read(fd, got, n);
    if (r != (ssize_t)n || memcmp(got, want, n) != 0) {
        got[r > 0 ? r : 0] = 0;
        fail_msg("client got %zd bytes \"%s\", want %zu", r, got, n);
    }
}

void hn_expect_closed(int fd)
{
    char b[65536];
    for (int i = 0; i < WAIT_MS; i++) {
        ssize_t r = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return;
        hn_pump();
    }
    fail_msg("the connection did not close");
}

struct accepted hn_accept_one(struct k_process *p, uint32_t listener)
{
    struct res r = hn_call0(p, listener, CAPOS_TCP_LISTENER_ACCEPT_METHOD_ID);
    capnp_struct s, peer;
    hn_res_struct(&r, &s);
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

struct accepted hn_connect_pair(struct k_process *p, uint16_t guest,
                                uint32_t idle, int *fd)
{
    uint16_t host = hn_free_port();
    hn_forward(guest, host, idle);
    uint32_t l = hn_listen_auth(p, hn_grant_auth(p, guest));
    *fd = hn_client(host);
    return hn_accept_one(p, l);
}

uint16_t hn_recv_decode(const struct res *r, char *data, size_t *n,
                        uint16_t *err)
{
    capnp_struct s;
    hn_res_struct(r, &s);
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

struct res hn_recv_call(struct k_process *p, uint32_t sock, uint32_t max)
{
    uint8_t *res;
    uint64_t ud = hn_next_ud++;
    hn_submit_recv(p, sock, max, ud, &res);
    return hn_finish(p, res, ud);
}

uint16_t hn_recv_which(struct k_process *p, uint32_t sock, uint32_t max,
                       char *data, size_t *n, uint16_t *err)
{
    struct res r = hn_recv_call(p, sock, max);
    return hn_recv_decode(&r, data, n, err);
}

void hn_expect_recv_reset(struct k_process *p, uint32_t sock)
{
    char data[64];
    size_t n;
    uint16_t err = 0;
    assert_int_equal(hn_recv_which(p, sock, sizeof data, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_ERROR);
    assert_int_equal(err, CAPOS_NET_ERROR_CONNECTION_RESET);
}

uint32_t hn_into_terminal(struct k_process *p, uint32_t sock)
{
    struct res r =
        hn_call0(p, sock, CAPOS_TCP_SOCKET_INTO_TERMINAL_SESSION_METHOD_ID);
    assert_true(r.result > 0);
    assert_int_equal(r.ncaps, 1);
    struct ct_slot *sl = ct_lookup(&p->caps, r.cap);
    assert_int_equal(sl->obj->ops->interface_id,
                     CAPOS_TERMINAL_SESSION_INTERFACE_ID);
    assert_int_equal(sl->obj->flags, K_OBJ_MOVE_ONLY);
    return r.cap;
}

void hn_submit_readline(struct k_process *p, uint32_t t, const char *prompt,
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
    hn_p_end(&pp);
    hn_submit(p, t, CAPOS_TERMINAL_SESSION_READ_LINE_METHOD_ID, pp.buf, pp.len,
              RES, ud, res);
}

uint16_t hn_readline_decode(const struct res *r, char *line, size_t *n)
{
    capnp_struct s;
    hn_res_struct(r, &s);
    uint16_t w = capos_ReadLineResult_which(&s);
    if (w == CAPOS_READ_LINE_RESULT_WHICH_LINE) {
        const char *t;
        assert_int_equal(capos_ReadLineResult_get_line(&s, &t, n), 0);
        memcpy(line, t, *n);
        line[*n] = 0;
    }
    return w;
}

uint16_t hn_readline(struct k_process *p, uint32_t t, const char *prompt,
                     uint16_t echo, char *line, size_t *n)
{
    uint8_t *res;
    uint64_t ud = hn_next_ud++;
    hn_submit_readline(p, t, prompt, echo, ud, &res);
    struct res r = hn_finish(p, res, ud);
    return hn_readline_decode(&r, line, n);
}

uint32_t hn_into_terminal_past_recv(struct k_process *p, uint32_t sock,
                                    uint64_t recv_ud, uint8_t *rres)
{
    uint8_t *res;
    uint64_t ud = hn_next_ud++;
    hn_submit0(p, sock, CAPOS_TCP_SOCKET_INTO_TERMINAL_SESSION_METHOD_ID, ud,
               &res);
    struct res r = hn_finish(p, rres, recv_ud); /* the recv's CQE comes first */
    char data[64];
    size_t n = 0;
    uint16_t err = 0;
    assert_int_equal(hn_recv_decode(&r, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_ERROR);
    assert_int_equal(err, CAPOS_NET_ERROR_CLOSED);
    r = hn_finish(p, res, ud);
    assert_true(r.result > 0);
    assert_int_equal(r.ncaps, 1);
    assert_int_equal(ct_lookup(&p->caps, r.cap)->obj->ops->interface_id,
                     CAPOS_TERMINAL_SESSION_INTERFACE_ID);
    CapCqe extra;
    assert_false(h_cqe(p, &extra));
    return r.cap;
}
