/*
 * test_tcpsocket.c - TcpSocket and its connections (kernel-model/tcpsocket.c):
 * recv/send over real loopback sockets, peers that close or reset, idle
 * timeouts, and the conversion into a TerminalSession seen from the
 * socket.
 *
 * Over real loopback sockets, driven from the host context through a
 * process's ring (tests/unit/harness_net.h).
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "harness_net.h"
#include "capos.capnp.h"

static void listen_accept_recv_send_close_round_trip(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    uint16_t host = hn_free_port();
    hn_forward(23, host, 0);
    uint32_t auth = hn_grant_auth(p, 23);
    struct res r = hn_call0(p, auth, CAPOS_TCP_LISTEN_AUTHORITY_PORT_METHOD_ID);
    capnp_message m;
    capnp_struct root = h_root(r.buf, (size_t)r.result, &m);
    assert_int_equal(capos_TcpListenAuthority_port_Results_get_port(&root), 23);
    uint32_t l = hn_listen_auth(p, auth);
    int fd = hn_client(host);
    struct accepted a = hn_accept_one(p, l);
    assert_string_equal(a.addr, "127.0.0.1");
    assert_int_equal(a.port, hn_local_port(fd));

    CSEND(fd, "hello");
    char data[70000];
    size_t n = 0;
    uint16_t err = 0;
    assert_int_equal(hn_recv_which(p, a.sock, 100, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_DATA);
    assert_int_equal(n, 5);
    assert_memory_equal(data, "hello", 5);

    /* A recv that waits completes when data comes. */
    uint8_t *res;
    uint64_t ud = hn_next_ud++;
    hn_submit_recv(p, a.sock, 3, ud, &res);
    CapCqe c;
    assert_false(h_cqe(p, &c));
    CSEND(fd, "world");
    r = hn_finish(p, res, ud);
    assert_int_equal(hn_recv_decode(&r, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_DATA);
    assert_int_equal(n, 3); /* at most maxBytes */
    assert_memory_equal(data, "wor", 3);

    r = hn_call_data(p, a.sock, CAPOS_TCP_SOCKET_SEND_METHOD_ID, "pong!", 5);
    capnp_struct s;
    hn_res_struct(&r, &s);
    assert_int_equal(capos_TcpSendResult_which(&s),
                     CAPOS_TCP_SEND_RESULT_WHICH_SENT);
    assert_int_equal(capos_TcpSendResult_get_sent(&s), 5);
    EXPECT_READ(fd, "pong!");

    r = hn_call0(p, a.sock, CAPOS_TCP_SOCKET_CLOSE_METHOD_ID);
    assert_int_equal(r.result, 0);
    hn_expect_closed(fd);
    assert_int_equal(hn_recv_which(p, a.sock, 10, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_ERROR);
    assert_int_equal(err, CAPOS_NET_ERROR_CLOSED);
    close(fd);
}

static void a_recv_result_buffer_too_small_is_refused_untouched(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = hn_connect_pair(p, 23, 0, &fd);
    CSEND(fd, "0123456789");
    static struct params pp;
    hn_p_begin(&pp, 1, 0);
    capnp_set_u32(&pp.root, 0, 1000, 0);
    hn_p_end(&pp);
    uint8_t *res;
    hn_submit(p, a.sock, CAPOS_TCP_SOCKET_RECV_METHOD_ID, pp.buf, pp.len, 100,
              9, &res);
    struct res r = hn_finish(p, res, 9);
    assert_int_equal(r.result, CAP_ERR_INVALID_RESULT_BUFFER);
    for (unsigned i = 0; i < 164; i++)
        assert_int_equal(res[i], 0xa5);
    /* maxBytes out of range: invalidArgument. */
    r = hn_recv_call(p, a.sock, 0);
    assert_int_equal(hn_exception_type(&r),
                     CAPOS_EXCEPTION_TYPE_INVALID_ARGUMENT);
    r = hn_recv_call(p, a.sock, 65537);
    assert_int_equal(hn_exception_type(&r),
                     CAPOS_EXCEPTION_TYPE_INVALID_ARGUMENT);
    /* The data is still there. */
    char data[64];
    size_t n;
    uint16_t err;
    assert_int_equal(hn_recv_which(p, a.sock, 64, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_DATA);
    assert_int_equal(n, 10);
    close(fd);
}

static void a_half_closed_peer_gives_closed(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = hn_connect_pair(p, 23, 0, &fd);
    CSEND(fd, "bye");
    assert_int_equal(shutdown(fd, SHUT_WR), 0);
    char data[64];
    size_t n;
    uint16_t err;
    assert_int_equal(hn_recv_which(p, a.sock, 64, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_DATA);
    assert_int_equal(hn_recv_which(p, a.sock, 64, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_CLOSED);
    /* Our side still sends. */
    struct res r =
        hn_call_data(p, a.sock, CAPOS_TCP_SOCKET_SEND_METHOD_ID, "ok", 2);
    capnp_struct s;
    hn_res_struct(&r, &s);
    assert_int_equal(capos_TcpSendResult_get_sent(&s), 2);
    EXPECT_READ(fd, "ok");
    close(fd);
}

static void a_send_after_a_peer_reset_is_an_error(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = hn_connect_pair(p, 23, 0, &fd);
    hn_client_reset(fd);
    hn_expect_recv_reset(p, a.sock);
    struct res r =
        hn_call_data(p, a.sock, CAPOS_TCP_SOCKET_SEND_METHOD_ID, "x", 1);
    capnp_struct s;
    hn_res_struct(&r, &s);
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
    struct accepted a = hn_connect_pair(p, 23, 0, &fd);
    assert_int_equal(shutdown(fd, SHUT_WR), 0);
    char data[64];
    size_t n;
    uint16_t err = 0;
    struct res r = hn_recv_call(p, a.sock, 64);
    assert_int_equal(hn_recv_decode(&r, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_CLOSED);
    hn_client_reset(fd);
    capnp_struct s;
    uint16_t which = CAPOS_TCP_SEND_RESULT_WHICH_SENT;
    /* The first write after the reset may still be taken by the host;
     * a later one fails. */
    for (int i = 0; i < 3 && which == CAPOS_TCP_SEND_RESULT_WHICH_SENT; i++) {
        r = hn_call_data(p, a.sock, CAPOS_TCP_SOCKET_SEND_METHOD_ID, "x", 1);
        hn_res_struct(&r, &s);
        which = capos_TcpSendResult_which(&s);
    }
    assert_int_equal(which, CAPOS_TCP_SEND_RESULT_WHICH_ERROR);
    assert_int_equal(capos_TcpSendResult_get_error(&s),
                     CAPOS_NET_ERROR_CONNECTION_RESET);
}

static void after_into_terminal_session_the_socket_is_disconnected(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = hn_connect_pair(p, 23, 0, &fd);
    (void)hn_into_terminal(p, a.sock);
    struct res r =
        hn_call_data(p, a.sock, CAPOS_TCP_SOCKET_SEND_METHOD_ID, "x", 1);
    assert_int_equal(hn_exception_type(&r), CAPOS_EXCEPTION_TYPE_DISCONNECTED);
    r = hn_recv_call(p, a.sock, 10);
    assert_int_equal(hn_exception_type(&r), CAPOS_EXCEPTION_TYPE_DISCONNECTED);
    r = hn_call0(p, a.sock, CAPOS_TCP_SOCKET_INTO_TERMINAL_SESSION_METHOD_ID);
    assert_int_equal(hn_exception_type(&r), CAPOS_EXCEPTION_TYPE_DISCONNECTED);
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
    uint64_t ud = hn_next_ud++;
    hn_submit_recv(p, sock, 64, ud, &res);
    CapCqe c;
    hn_advance_s(4);
    hn_pump();
    assert_false(h_cqe(p, &c)); /* not yet */
    hn_advance_s(1);
    struct res r = hn_finish(p, res, ud);
    char data[64];
    size_t n;
    uint16_t err;
    assert_int_equal(hn_recv_decode(&r, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_CLOSED);
    hn_expect_closed(fd);
}

static void an_idle_connection_is_closed_after_its_timeout(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = hn_connect_pair(p, 23, 5, &fd);
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
    struct accepted a = hn_connect_pair(p, 23, 5, &fd);
    hn_advance_s(60); /* no recv waits: not idle */
    hn_pump();
    uint8_t *res;
    uint64_t ud = hn_next_ud++;
    hn_submit_recv(p, a.sock, 64, ud, &res);
    CapCqe c;
    hn_advance_s(4);
    hn_pump();
    assert_false(h_cqe(p, &c)); /* 4 s of waiting: still open */
    CSEND(fd, "hi");
    struct res r = hn_finish(p, res, ud);
    char data[64];
    size_t n;
    uint16_t err;
    assert_int_equal(hn_recv_decode(&r, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_DATA);
    assert_int_equal(n, 2);
    hn_advance_s(30); /* between recvs: not idle */
    hn_pump();
    recv_until_idle_close(p, a.sock, fd); /* 5 s of waiting: closed */
    close(fd);
}

static void
a_waiting_recv_ends_closed_when_the_socket_becomes_a_terminal(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = hn_connect_pair(p, 23, 0, &fd);
    uint8_t *rres;
    uint64_t rud = hn_next_ud++;
    hn_submit_recv(p, a.sock, 64, rud, &rres);
    CapCqe c;
    hn_pump();
    assert_false(h_cqe(p, &c)); /* nothing to return: the recv waits */
    /* Input arrives and is not read before the conversion (the port is
     * not pumped): it must reach the terminal, not the ended recv. */
    CSEND(fd, "bob\r\n");
    uint32_t t = hn_into_terminal_past_recv(p, a.sock, rud, rres);
    char line[64];
    size_t n;
    assert_int_equal(
        hn_readline(p, t, "login: ", CAPOS_ECHO_MODE_VISIBLE, line, &n),
        CAPOS_READ_LINE_RESULT_WHICH_LINE);
    assert_string_equal(line, "bob");
    EXPECT_READ(fd, "login: bob\r\n");
    /* The socket is spent. */
    struct res r = hn_recv_call(p, a.sock, 10);
    assert_int_equal(hn_exception_type(&r), CAPOS_EXCEPTION_TYPE_DISCONNECTED);
    close(fd);
}

static void a_closed_socket_is_not_turned_into_a_terminal(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = hn_connect_pair(p, 23, 0, &fd);
    assert_int_equal(
        hn_call0(p, a.sock, CAPOS_TCP_SOCKET_CLOSE_METHOD_ID).result, 0);
    struct res r =
        hn_call0(p, a.sock, CAPOS_TCP_SOCKET_INTO_TERMINAL_SESSION_METHOD_ID);
    assert_int_equal(hn_exception_type(&r), CAPOS_EXCEPTION_TYPE_FAILED);
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
    struct accepted a = hn_connect_pair(p, 23, 0, &fd);
    static struct params pp;
    static uint8_t chunk[60000];
    memset(chunk, 'x', sizeof chunk);
    hn_p_begin(&pp, 0, 1);
    assert_int_equal(capnp_set_data(&pp.root, 0, chunk, sizeof chunk), 0);
    hn_p_end(&pp);
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
        ud = hn_next_ud++;
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
        hn_call0(p, a.sock, CAPOS_TCP_SOCKET_INTO_TERMINAL_SESSION_METHOD_ID);
    assert_int_equal(hn_exception_type(&r), CAPOS_EXCEPTION_TYPE_FAILED);
    assert_int_equal(r.ncaps, 0);
    /* Still a socket: close answers the waiting send closed (its CQE
     * first), then completes. */
    static struct params cp;
    hn_p_begin(&cp, 0, 0);
    hn_p_end(&cp);
    uint8_t *cres;
    uint64_t cud = hn_next_ud++;
    hn_submit(p, a.sock, CAPOS_TCP_SOCKET_CLOSE_METHOD_ID, cp.buf, cp.len, RES,
              cud, &cres);
    r = hn_finish(p, res, ud);
    capnp_struct st;
    hn_res_struct(&r, &st);
    assert_int_equal(capos_TcpSendResult_which(&st),
                     CAPOS_TCP_SEND_RESULT_WHICH_ERROR);
    assert_int_equal(capos_TcpSendResult_get_error(&st),
                     CAPOS_NET_ERROR_CLOSED);
    assert_int_equal(hn_finish(p, cres, cud).result, 0);
    close(fd);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, hn_setup, hn_teardown)
    const struct CMUnitTest tests[] = {
        T(listen_accept_recv_send_close_round_trip),
        T(a_recv_result_buffer_too_small_is_refused_untouched),
        T(a_half_closed_peer_gives_closed),
        T(a_send_after_a_peer_reset_is_an_error),
        T(a_send_after_the_peer_ended_and_reset_is_an_error),
        T(after_into_terminal_session_the_socket_is_disconnected),
        T(an_idle_connection_is_closed_after_its_timeout),
        T(idle_time_counts_only_while_a_recv_waits),
        T(a_waiting_recv_ends_closed_when_the_socket_becomes_a_terminal),
        T(a_closed_socket_is_not_turned_into_a_terminal),
        T(a_waiting_send_refuses_the_conversion),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
