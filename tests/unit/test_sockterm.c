/*
 * test_sockterm.c - the TerminalSession of a socket (kernel-model/sockterm.c):
 * the line discipline over a connection, the Telnet command filter, NAWS window
 * sizes, input limits, the idle time of a terminal and its Console facet.
 *
 * Over real loopback sockets, driven from the host context through a
 * process's ring (tests/unit/harness_net.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "harness_net.h"
#include "capos.capnp.h"

/* A client connected to guest port 23 (idle timeout idle s; *fd its
 * socket) whose accepted socket became a TerminalSession: the terminal. */
static uint32_t terminal_pair(struct k_process *p, uint32_t idle, int *fd)
{
    struct accepted a = hn_connect_pair(p, 23, idle, fd);
    return hn_into_terminal(p, a.sock);
}

/* Close terminal t: the peer (fd, closed afterwards) sees the end, and a
 * write (method, one Data param) through cap w is disconnected. */
static void close_then_disconnected(struct k_process *p, uint32_t t, uint32_t w,
                                    uint16_t method, int fd)
{
    assert_int_equal(
        hn_call0(p, t, CAPOS_TERMINAL_SESSION_CLOSE_METHOD_ID).result, 0);
    hn_expect_closed(fd);
    struct res r = hn_call_data(p, w, method, "x", 1);
    assert_int_equal(hn_exception_type(&r), CAPOS_EXCEPTION_TYPE_DISCONNECTED);
    close(fd);
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
        hn_readline(p, t, "login: ", CAPOS_ECHO_MODE_VISIBLE, line, &n),
        CAPOS_READ_LINE_RESULT_WHICH_LINE);
    assert_string_equal(line, "bob");
    EXPECT_READ(fd, "login: bob\r\n");
    CSEND(fd, "s3cret\r\0");
    assert_int_equal(
        hn_readline(p, t, "password: ", CAPOS_ECHO_MODE_HIDDEN, line, &n),
        CAPOS_READ_LINE_RESULT_WHICH_LINE);
    assert_string_equal(line, "s3cret");
    EXPECT_READ(fd, "password: \r\n"); /* nothing of the password */
    /* write and writeLine go to the peer. */
    struct res r =
        hn_call_data(p, t, CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID, "hi", 2);
    assert_int_equal(r.result, 0);
    EXPECT_READ(fd, "hi");
    /* info: telnet transport, the peer, size unknown without NAWS. */
    r = hn_call0(p, t, CAPOS_TERMINAL_SESSION_INFO_METHOD_ID);
    capnp_struct s;
    hn_res_struct(&r, &s);
    assert_int_equal(capos_TerminalInfo_get_transport(&s),
                     CAPOS_TRANSPORT_TELNET);
    assert_int_equal(capos_TerminalInfo_get_columns(&s), 0);
    const char *peer;
    size_t pl;
    assert_int_equal(capos_TerminalInfo_get_peer(&s, &peer, &pl), 0);
    char want[32];
    snprintf(want, sizeof want, "127.0.0.1:%u", hn_local_port(fd));
    assert_int_equal(pl, strlen(want));
    assert_memory_equal(peer, want, pl);
    /* close disconnects the peer; later calls are refused. */
    close_then_disconnected(p, t, t, CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID,
                            fd);
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
    hn_client_send(fd, in, sizeof in);
    char line[4200];
    size_t n;
    assert_int_equal(hn_readline(p, t, "", CAPOS_ECHO_MODE_HIDDEN, line, &n),
                     CAPOS_READ_LINE_RESULT_WHICH_LINE);
    /* The lone 0xFF is invalid UTF-8: U+FFFD. */
    assert_int_equal(n, 5);
    assert_memory_equal(line,
                        "a\xef\xbf\xbd"
                        "b",
                        5);
    EXPECT_READ(fd, "\r\n");
    struct res r = hn_call0(p, t, CAPOS_TERMINAL_SESSION_INFO_METHOD_ID);
    capnp_struct s;
    hn_res_struct(&r, &s);
    assert_int_equal(capos_TerminalInfo_get_columns(&s), 132);
    assert_int_equal(capos_TerminalInfo_get_rows(&s), 40);
    /* Output doubles 0xFF. */
    r = hn_call_data(p, t, CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID, "\xff!", 2);
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
    hn_client_send(fd, in, sizeof in - 1);
    char line[4200];
    size_t n;
    assert_int_equal(hn_readline(p, t, "", CAPOS_ECHO_MODE_HIDDEN, line, &n),
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
    hn_client_send(fd, in, sizeof in);
    char line[4200];
    size_t n;
    assert_int_equal(hn_readline(p, t, "", CAPOS_ECHO_MODE_VISIBLE, line, &n),
                     CAPOS_READ_LINE_RESULT_WHICH_END_OF_INPUT);
    hn_expect_closed(fd);
    close(fd);
}

static void a_megabyte_line_closes_the_connection_cleanly(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    uint32_t t = terminal_pair(p, 0, &fd);
    uint8_t *res;
    uint64_t ud = hn_next_ud++;
    hn_submit_readline(p, t, "> ", CAPOS_ECHO_MODE_HIDDEN, ud, &res);
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
        hn_pump();
        done = h_cqe(p, &c);
    }
    assert_true(done);
    struct res r = {c.result, res, 0, 0};
    char line[8];
    size_t n;
    assert_int_equal(hn_readline_decode(&r, line, &n),
                     CAPOS_READ_LINE_RESULT_WHICH_END_OF_INPUT);
    hn_expect_closed(fd);
    close(fd);
}

static void input_restarts_the_idle_time_of_a_terminal(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    uint32_t t = terminal_pair(p, 5, &fd);
    uint8_t *res;
    uint64_t ud = hn_next_ud++;
    hn_submit_readline(p, t, "", CAPOS_ECHO_MODE_VISIBLE, ud, &res);
    k_clock_advance(4ull * 1000000000);
    CSEND(fd, "ab");
    EXPECT_READ(fd, "ab"); /* the echo: the input was taken */
    hn_advance_s(4);
    CapCqe c;
    hn_pump();
    assert_false(h_cqe(p, &c)); /* 8 s since accept, 4 s since input */
    hn_advance_s(1);
    struct res r = hn_finish(p, res, ud);
    char line[8];
    size_t n;
    assert_int_equal(hn_readline_decode(&r, line, &n),
                     CAPOS_READ_LINE_RESULT_WHICH_END_OF_INPUT);
    hn_expect_closed(fd);
    /* The peer is gone: later calls fail with disconnected. */
    r = hn_call_data(p, t, CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID, "x", 1);
    assert_int_equal(hn_exception_type(&r), CAPOS_EXCEPTION_TYPE_DISCONNECTED);
    close(fd);
}

static void
a_window_size_negotiated_over_recv_reaches_the_terminal(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    struct accepted a = hn_connect_pair(p, 23, 0, &fd);
    static const uint8_t naws[] = {255, 251, 31, 255, 250, 31,
                                   0,   100, 0,  30,  255, 240};
    hn_client_send(fd, naws, sizeof naws);
    char data[64];
    size_t n;
    uint16_t err;
    assert_int_equal(hn_recv_which(p, a.sock, 64, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_DATA);
    assert_int_equal(n, sizeof naws); /* recv passes the bytes as they are */
    assert_memory_equal(data, naws, sizeof naws);
    uint32_t t = hn_into_terminal(p, a.sock);
    struct res r = hn_call0(p, t, CAPOS_TERMINAL_SESSION_INFO_METHOD_ID);
    capnp_struct s;
    hn_res_struct(&r, &s);
    assert_int_equal(capos_TerminalInfo_get_columns(&s), 100);
    assert_int_equal(capos_TerminalInfo_get_rows(&s), 30);
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
    struct accepted a = hn_connect_pair(p, 23, 0, &fd);
    static const uint8_t first[] = {255, 251, 31, 255, 250, 31, 0, 80};
    static const uint8_t rest[] = {0, 24, 255, 240, 'b', 'o', 'b', '\r', '\n'};
    hn_client_send(fd, first, sizeof first);
    char data[64];
    size_t n;
    uint16_t err;
    assert_int_equal(hn_recv_which(p, a.sock, 64, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_DATA);
    assert_int_equal(n, sizeof first);
    uint8_t *rres;
    uint64_t rud = hn_next_ud++;
    hn_submit_recv(p, a.sock, 64, rud, &rres);
    hn_client_send(fd, rest, sizeof rest);
    uint32_t t = hn_into_terminal_past_recv(p, a.sock, rud, rres);
    char line[64];
    assert_int_equal(hn_readline(p, t, "", CAPOS_ECHO_MODE_HIDDEN, line, &n),
                     CAPOS_READ_LINE_RESULT_WHICH_LINE);
    assert_string_equal(line, "bob");
    struct res r = hn_call0(p, t, CAPOS_TERMINAL_SESSION_INFO_METHOD_ID);
    capnp_struct s;
    hn_res_struct(&r, &s);
    assert_int_equal(capos_TerminalInfo_get_columns(&s), 80);
    assert_int_equal(capos_TerminalInfo_get_rows(&s), 24);
    close(fd);
}

/* TerminalSession.console of a socket terminal: a Console writing to the
 * peer through the terminal's output (0xFF doubled), until the session
 * closes. */
static void the_console_facet_writes_to_the_peer_until_close(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int fd;
    uint32_t t = terminal_pair(p, 0, &fd);
    struct res r = hn_call0(p, t, CAPOS_TERMINAL_SESSION_CONSOLE_METHOD_ID);
    assert_true(r.result > 0);
    assert_int_equal(r.ncaps, 1);
    uint32_t con = r.cap;
    assert_int_equal(ct_lookup(&p->caps, con)->obj->ops->interface_id,
                     CAPOS_CONSOLE_INTERFACE_ID);
    r = hn_call_data(p, con, CAPOS_CONSOLE_WRITE_METHOD_ID, "no timer\xff", 9);
    assert_int_equal(r.result, 0);
    EXPECT_READ(fd, "no timer\xff\xff");
    close_then_disconnected(p, t, con, CAPOS_CONSOLE_WRITE_METHOD_ID, fd);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, hn_setup, hn_teardown)
    const struct CMUnitTest tests[] = {
        T(a_socket_terminal_prompts_echoes_and_hides),
        T(the_socket_terminal_filters_telnet_commands),
        T(telnet_commands_inside_long_data_runs_are_found),
        T(an_endless_subnegotiation_closes_the_connection),
        T(a_megabyte_line_closes_the_connection_cleanly),
        T(input_restarts_the_idle_time_of_a_terminal),
        T(a_window_size_negotiated_over_recv_reaches_the_terminal),
        T(a_window_size_split_across_the_conversion_reaches_info),
        T(the_console_facet_writes_to_the_peer_until_close),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
