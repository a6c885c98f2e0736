/*
 * test_streamterm.c - TerminalSessions over a byte stream
 * (kernel-model/streamterm.c, kernel source terminalFromByteStream): the
 * line discipline fed through TerminalByteStream.feed and drained through
 * drain, info's size and resize, the input and output bounds, and every
 * way a terminal ends (closed, released, hung up, input ended, the
 * creator gone), with nothing left alive afterwards (hn_teardown).
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "harness_net.h"
#include "capos.capnp.h"

/* A factory granted to p. */
static uint32_t factory(struct k_process *p)
{
    uint32_t id;
    assert_int_equal(streamterm_grant(p, &id), 0);
    return id;
}

/* create(transport, columns, rows, peer): the raw result. */
static struct res create(struct k_process *p, uint32_t f, uint16_t transport,
                         uint16_t cols, uint16_t rows, const char *peer)
{
    static struct params pp;
    capnp_builder_init(&pp.b, pp.buf, sizeof pp.buf);
    assert_int_equal(capos_TerminalSessionFromByteStream_create_Params_init_root(
                         &pp.b, &pp.root),
                     0);
    capos_TerminalSessionFromByteStream_create_Params_set_transport(&pp.root,
                                                                    transport);
    capos_TerminalSessionFromByteStream_create_Params_set_columns(&pp.root,
                                                                  cols);
    capos_TerminalSessionFromByteStream_create_Params_set_rows(&pp.root, rows);
    assert_int_equal(capos_TerminalSessionFromByteStream_create_Params_set_peer(
                         &pp.root, peer, strlen(peer)),
                     0);
    hn_p_end(&pp);
    uint8_t *res;
    uint64_t ud = hn_next_ud++;
    hn_submit(p, f, CAPOS_TERMINAL_SESSION_FROM_BYTE_STREAM_CREATE_METHOD_ID,
              pp.buf, pp.len, RES, ud, &res);
    return hn_finish(p, res, ud);
}

/* An ssh terminal of 80x24 from 127.0.0.1:5000: its stream, *t its
 * TerminalSession. */
static uint32_t ssh_terminal(struct k_process *p, uint32_t *t)
{
    struct res r = create(p, factory(p), CAPOS_TRANSPORT_SSH, 80, 24,
                          "127.0.0.1:5000");
    assert_true(r.result >= 0);
    assert_int_equal(r.ncaps, 1);
    uint32_t s = r.cap;
    r = hn_call0(p, s, CAPOS_TERMINAL_BYTE_STREAM_TERMINAL_METHOD_ID);
    assert_true(r.result >= 0);
    assert_int_equal(r.ncaps, 1);
    *t = r.cap;
    return s;
}

static void submit_drain(struct k_process *p, uint32_t s, uint64_t ud,
                         uint8_t **res)
{
    static struct params pp;
    capnp_builder_init(&pp.b, pp.buf, sizeof pp.buf);
    assert_int_equal(
        capos_TerminalByteStream_drain_Params_init_root(&pp.b, &pp.root), 0);
    hn_p_end(&pp);
    hn_submit(p, s, CAPOS_TERMINAL_BYTE_STREAM_DRAIN_METHOD_ID, pp.buf, pp.len,
              RES, ud, res);
}

/* A finished drain: its bytes into out (NUL-terminated), *ended. */
static size_t drain_decode(const struct res *r, char *out, size_t cap,
                           bool *ended)
{
    assert_true(r->result >= 0);
    capnp_message m;
    capnp_struct root = h_root(r->buf, (size_t)r->result, &m);
    const uint8_t *d;
    size_t n;
    assert_int_equal(capos_TerminalByteStream_drain_Results_get_data(&root, &d,
                                                                     &n),
                     0);
    assert_true(n < cap);
    memcpy(out, d, n);
    out[n] = '\0';
    *ended = capos_TerminalByteStream_drain_Results_get_ended(&root);
    return n;
}

static size_t drain(struct k_process *p, uint32_t s, char *out, size_t cap,
                    bool *ended)
{
    uint8_t *res;
    uint64_t ud = hn_next_ud++;
    submit_drain(p, s, ud, &res);
    struct res r = hn_finish(p, res, ud);
    return drain_decode(&r, out, cap, ended);
}

static uint32_t feed(struct k_process *p, uint32_t s, const void *d, size_t n)
{
    struct res r =
        hn_call_data(p, s, CAPOS_TERMINAL_BYTE_STREAM_FEED_METHOD_ID, d, n);
    assert_true(r.result >= 0);
    capnp_message m;
    capnp_struct root = h_root(r.buf, (size_t)r.result, &m);
    return capos_TerminalByteStream_feed_Results_get_accepted(&root);
}

/* info's transport, columns and rows; the peer into peer. */
static void info(struct k_process *p, uint32_t t, uint16_t *tr, uint16_t *cols,
                 uint16_t *rows, char *peer)
{
    struct res r = hn_call0(p, t, CAPOS_TERMINAL_SESSION_INFO_METHOD_ID);
    capnp_struct s;
    hn_res_struct(&r, &s);
    *tr = capos_TerminalInfo_get_transport(&s);
    *cols = capos_TerminalInfo_get_columns(&s);
    *rows = capos_TerminalInfo_get_rows(&s);
    const char *pt;
    size_t pl;
    assert_int_equal(capos_TerminalInfo_get_peer(&s, &pt, &pl), 0);
    memcpy(peer, pt, pl);
    peer[pl] = '\0';
}

static void release(struct k_process *p, uint32_t cap)
{
    uint64_t ud = hn_next_ud++;
    *h_sqe(p) = h_release(cap, ud);
    h_submit(p);
    assert_true(h_enter(p) >= 0);
    assert_int_equal(hn_finish(p, NULL, ud).result, 0);
}

static void fed_input_is_edited_echoed_and_drained(void **state)
{
    (void)state;
    struct k_process *p = h_proc("ssh-gateway", 0);
    uint32_t t, s = ssh_terminal(p, &t);
    uint16_t tr, cols, rows;
    char peer[32], out[70000], line[4200];
    info(p, t, &tr, &cols, &rows, peer);
    assert_int_equal(tr, CAPOS_TRANSPORT_SSH);
    assert_int_equal(cols, 80);
    assert_int_equal(rows, 24);
    assert_string_equal(peer, "127.0.0.1:5000");
    /* A readLine waits for input the creator has not fed yet. */
    uint8_t *res;
    uint64_t ud = hn_next_ud++;
    hn_submit_readline(p, t, "$ ", CAPOS_ECHO_MODE_VISIBLE, ud, &res);
    CapCqe c;
    assert_false(h_cqe(p, &c));
    assert_int_equal(feed(p, s, "ab\x7f\x1b[Ac\r\n", 9), 9);
    struct res r = hn_finish(p, res, ud);
    size_t n;
    assert_int_equal(hn_readline_decode(&r, line, &n),
                     CAPOS_READ_LINE_RESULT_WHICH_LINE);
    assert_string_equal(line, "ac"); /* DEL erased b, the arrow dropped */
    bool ended;
    drain(p, s, out, sizeof out, &ended);
    assert_string_equal(out, "$ ab\b \bc\r\n");
    assert_false(ended);
    /* A window change reaches info. */
    static struct params pp;
    capnp_builder_init(&pp.b, pp.buf, sizeof pp.buf);
    capos_TerminalByteStream_resize_Params_init_root(&pp.b, &pp.root);
    capos_TerminalByteStream_resize_Params_set_columns(&pp.root, 132);
    capos_TerminalByteStream_resize_Params_set_rows(&pp.root, 40);
    hn_p_end(&pp);
    ud = hn_next_ud++;
    hn_submit(p, s, CAPOS_TERMINAL_BYTE_STREAM_RESIZE_METHOD_ID, pp.buf,
              pp.len, RES, ud, &res);
    assert_int_equal(hn_finish(p, res, ud).result, 0);
    info(p, t, &tr, &cols, &rows, peer);
    assert_int_equal(cols, 132);
    assert_int_equal(rows, 40);
    release(p, t);
    release(p, s);
}

static void a_drain_waits_for_output_and_ends_with_the_terminal(void **state)
{
    (void)state;
    struct k_process *p = h_proc("ssh-gateway", 0);
    uint32_t t, s = ssh_terminal(p, &t);
    uint8_t *res;
    uint64_t ud = hn_next_ud++;
    submit_drain(p, s, ud, &res);
    CapCqe c;
    assert_false(h_cqe(p, &c)); /* nothing to drain: it waits */
    assert_int_equal(
        hn_call_data(p, t, CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID, "hi", 2)
            .result,
        0);
    char out[70000];
    bool ended;
    struct res r = hn_finish(p, res, ud);
    drain_decode(&r, out, sizeof out, &ended);
    assert_string_equal(out, "hi");
    assert_false(ended);
    /* One drain at a time. */
    ud = hn_next_ud++;
    submit_drain(p, s, ud, &res);
    assert_false(h_cqe(p, &c));
    uint8_t *res2;
    uint64_t ud2 = hn_next_ud++;
    submit_drain(p, s, ud2, &res2);
    r = hn_finish(p, res2, ud2);
    assert_int_equal(hn_exception_type(&r), CAPOS_EXCEPTION_TYPE_OVERLOADED);
    /* The shell lets go of its terminal: the waiting drain ends. */
    release(p, t);
    r = hn_finish(p, res, ud);
    assert_int_equal(drain_decode(&r, out, sizeof out, &ended), 0);
    assert_true(ended);
    /* The terminal went once: no second one. */
    r = hn_call0(p, s, CAPOS_TERMINAL_BYTE_STREAM_TERMINAL_METHOD_ID);
    assert_int_equal(hn_exception_type(&r), CAPOS_EXCEPTION_TYPE_FAILED);
    release(p, s);
}

static void hang_up_ends_the_read_and_disconnects_the_terminal(void **state)
{
    (void)state;
    struct k_process *p = h_proc("ssh-gateway", 0);
    uint32_t t, s = ssh_terminal(p, &t);
    uint8_t *res;
    uint64_t ud = hn_next_ud++;
    hn_submit_readline(p, t, "", CAPOS_ECHO_MODE_HIDDEN, ud, &res);
    assert_int_equal(feed(p, s, "sec", 3), 3); /* a partial line */
    assert_int_equal(
        hn_call0(p, s, CAPOS_TERMINAL_BYTE_STREAM_HANG_UP_METHOD_ID).result, 0);
    struct res r = hn_finish(p, res, ud);
    char line[4200];
    size_t n;
    assert_int_equal(hn_readline_decode(&r, line, &n),
                     CAPOS_READ_LINE_RESULT_WHICH_END_OF_INPUT);
    r = hn_call_data(p, t, CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID, "x", 1);
    assert_int_equal(hn_exception_type(&r), CAPOS_EXCEPTION_TYPE_DISCONNECTED);
    r = hn_call_data(p, s, CAPOS_TERMINAL_BYTE_STREAM_FEED_METHOD_ID, "x", 1);
    assert_int_equal(hn_exception_type(&r), CAPOS_EXCEPTION_TYPE_DISCONNECTED);
    char out[70000];
    bool ended;
    assert_int_equal(drain(p, s, out, sizeof out, &ended), 0);
    assert_true(ended);
    release(p, s);
    release(p, t);
}

static void end_input_ends_reads_after_fed_input_but_not_output(void **state)
{
    (void)state;
    struct k_process *p = h_proc("ssh-gateway", 0);
    uint32_t t, s = ssh_terminal(p, &t);
    char line[4200], out[70000];
    size_t n;
    bool ended;
    assert_int_equal(feed(p, s, "ls\r", 3), 3);
    assert_int_equal(
        hn_call0(p, s, CAPOS_TERMINAL_BYTE_STREAM_END_INPUT_METHOD_ID).result,
        0);
    /* What came before the end is still a line; then the end. */
    assert_int_equal(hn_readline(p, t, "", CAPOS_ECHO_MODE_VISIBLE, line, &n),
                     CAPOS_READ_LINE_RESULT_WHICH_LINE);
    assert_string_equal(line, "ls");
    assert_int_equal(hn_readline(p, t, "", CAPOS_ECHO_MODE_VISIBLE, line, &n),
                     CAPOS_READ_LINE_RESULT_WHICH_END_OF_INPUT);
    struct res r =
        hn_call_data(p, s, CAPOS_TERMINAL_BYTE_STREAM_FEED_METHOD_ID, "x", 1);
    assert_int_equal(hn_exception_type(&r), CAPOS_EXCEPTION_TYPE_DISCONNECTED);
    /* Output still reaches the client. */
    assert_int_equal(
        hn_call_data(p, t, CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID, "bye", 3)
            .result,
        0);
    drain(p, s, out, sizeof out, &ended);
    assert_string_equal(out, "ls\r\n\r\nbye");
    assert_false(ended);
    release(p, t);
    assert_int_equal(drain(p, s, out, sizeof out, &ended), 0);
    assert_true(ended);
    release(p, s);
}

static void the_creator_gone_ends_the_terminal(void **state)
{
    (void)state;
    struct k_process *p = h_proc("ssh-gateway", 0);
    uint32_t t, s = ssh_terminal(p, &t);
    uint8_t *res;
    uint64_t ud = hn_next_ud++;
    hn_submit_readline(p, t, "", CAPOS_ECHO_MODE_VISIBLE, ud, &res);
    release(p, s);
    struct res r = hn_finish(p, res, ud);
    char line[4200];
    size_t n;
    assert_int_equal(hn_readline_decode(&r, line, &n),
                     CAPOS_READ_LINE_RESULT_WHICH_END_OF_INPUT);
    release(p, t);
    /* A stream whose terminal was never handed out frees it too. */
    struct res c = create(p, factory(p), CAPOS_TRANSPORT_WEB, 0, 0, "");
    assert_true(c.result >= 0);
    release(p, c.cap);
}

static void input_and_output_are_bounded(void **state)
{
    (void)state;
    struct k_process *p = h_proc("ssh-gateway", 0);
    uint32_t t, s = ssh_terminal(p, &t);
    static char big[70000];
    memset(big, 'a', sizeof big);
    /* Input: 4096 bytes wait at most; the rest is the creator's. */
    assert_int_equal(feed(p, s, big, 5000), 4096);
    assert_int_equal(feed(p, s, big, 10), 0);
    /* Output past 65536 undrained bytes ends the terminal. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(hn_call_data(p, t,
                                      CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID,
                                      big, 16384)
                             .result,
                         0);
    struct res r =
        hn_call_data(p, t, CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID, "!", 1);
    assert_int_equal(r.result, 0); /* the write that overflowed */
    r = hn_call_data(p, t, CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID, "!", 1);
    assert_int_equal(hn_exception_type(&r), CAPOS_EXCEPTION_TYPE_DISCONNECTED);
    char out[70000];
    bool ended;
    assert_int_equal(drain(p, s, out, sizeof out, &ended), 0);
    assert_true(ended);
    release(p, t);
    release(p, s);
}

static void create_refuses_bad_parameters(void **state)
{
    (void)state;
    struct k_process *p = h_proc("ssh-gateway", 0);
    uint32_t f = factory(p);
    struct res r = create(p, f, 9, 80, 24, "");
    assert_int_equal(hn_exception_type(&r),
                     CAPOS_EXCEPTION_TYPE_INVALID_ARGUMENT);
    r = create(p, f, CAPOS_TRANSPORT_SSH, 80, 24, "127.0.0.1:5000-and-more!");
    assert_int_equal(hn_exception_type(&r),
                     CAPOS_EXCEPTION_TYPE_INVALID_ARGUMENT);
    r = create(p, f, CAPOS_TRANSPORT_SSH, 80, 24, "a\x1b[2J");
    assert_int_equal(hn_exception_type(&r),
                     CAPOS_EXCEPTION_TYPE_INVALID_ARGUMENT);
    r = hn_call0(p, f, 7);
    assert_int_equal(hn_exception_type(&r), CAPOS_EXCEPTION_TYPE_UNIMPLEMENTED);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, hn_setup, hn_teardown)
    const struct CMUnitTest tests[] = {
        T(fed_input_is_edited_echoed_and_drained),
        T(a_drain_waits_for_output_and_ends_with_the_terminal),
        T(hang_up_ends_the_read_and_disconnects_the_terminal),
        T(end_input_ends_reads_after_fed_input_but_not_output),
        T(the_creator_gone_ends_the_terminal),
        T(input_and_output_are_bounded),
        T(create_refuses_bad_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
