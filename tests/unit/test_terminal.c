/*
 * test_terminal.c - the console TerminalSession over the hosted console:
 * output bytes and line ends, readLine as a pending call completed from
 * console input (a pipe, a file, a pseudo-terminal in raw mode), line
 * editing, echo modes, limits, end of input, interrupts, one reader at a
 * time, a reader that exits leaving nothing behind, and the session's
 * Console facet (TerminalSession.console, kernel-model/termconsole.c).
 *
 * Input is written to the console pipe before the model runs (or the pipe
 * is closed), so k_run never waits for the host; the clock is virtual.
 * The shared fixture is terminal_fixture.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "harness.h"
#include "capos.capnp.h"
#include "console_uv.h"
#include "port_uv.h"
#include "terminal_fixture.h"

static void the_interface_id_and_methods_are_the_schemas(void **state)
{
    (void)state;
    assert_int_equal(K_IFACE_TERMINAL_SESSION,
                     CAPOS_TERMINAL_SESSION_INTERFACE_ID);
    assert_int_equal(CAPOS_TERMINAL_SESSION_METHOD_COUNT, 6);
    assert_int_equal(CAPOS_ECHO_MODE_HIDDEN, 1);
    struct k_process *p = h_proc("p", 0);
    uint32_t t = tf_grant(p);
    assert_int_equal(k_capset_add(p, "terminal", t), 0);
    assert_int_equal(p->capset->entries[0].interface_id,
                     CAPOS_TERMINAL_SESSION_INTERFACE_ID);
}

static void write_sends_bytes_and_write_line_ends_with_crlf(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t t = tf_grant(p);
    uint8_t *res;
    CapSqe s = tf_bytes_sqe(p, t, CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID,
                            "raw\nbytes\0|", 11, &res);
    assert_int_equal(h_one(p, &s).result, 0);
    s = tf_bytes_sqe(p, t, CAPOS_TERMINAL_SESSION_WRITE_LINE_METHOD_ID,
                     "a line", 6, &res);
    assert_int_equal(h_one(p, &s).result, 0);
    s = tf_bytes_sqe(p, t, CAPOS_TERMINAL_SESSION_WRITE_LINE_METHOD_ID, "", 0,
                     &res);
    assert_int_equal(h_one(p, &s).result, 0);
    EXPECT_OUTPUT("raw\nbytes\0|a line\r\n\r\n");
}

static void a_visible_read_returns_the_line_and_echoes_it(void **state)
{
    (void)state;
    struct k_process *p = h_proc("shell", 0);
    FEED("alice\nbob\r\n");
    struct job j = {.cap = tf_grant(p), .prompt = "name> ", .n = 2};
    tf_run_reader(p, &j);
    EXPECT_LINE(&j.out[0], "alice");
    EXPECT_LINE(&j.out[1], "bob");
    EXPECT_OUTPUT("name> alice\r\nname> bob\r\n");
}

static void a_hidden_read_never_echoes_the_line(void **state)
{
    (void)state;
    struct k_process *p = h_proc("shell", 0);
    FEED("s3cret\x7fT\x15hunter2\x7f\x7f"
         "42\xc3\xa9\x1b[D\r\n");
    struct job j = {.cap = tf_grant(p),
                    .prompt = "password> ",
                    .echo = CAPOS_ECHO_MODE_HIDDEN,
                    .max = 8,
                    .n = 1};
    tf_run_reader(p, &j);
    /* Edited (Ctrl-U, two erases), capped at 8 bytes (the é would make
     * 9), the arrow key dropped. */
    EXPECT_LINE(&j.out[0], "hunte42");
    /* The prompt and the line end only: no character, no '*', no erase
     * sequence, no bell. */
    EXPECT_OUTPUT("password> \r\n");
}

static void ctrl_c_in_a_hidden_read_shows_no_input(void **state)
{
    (void)state;
    struct k_process *p = h_proc("shell", 0);
    FEED("s3cret\x7fT\x15pw\x03"
         "again\r");
    struct job j = {.cap = tf_grant(p),
                    .prompt = "password> ",
                    .echo = CAPOS_ECHO_MODE_HIDDEN,
                    .n = 2};
    tf_run_reader(p, &j);
    tf_expect_outcome(&j.out[0], CAPOS_READ_LINE_RESULT_WHICH_INTERRUPTED);
    EXPECT_LINE(&j.out[1], "again");
    EXPECT_OUTPUT("password> ^C\r\npassword> \r\n");
}

static void backspace_and_ctrl_u_edit_the_line(void **state)
{
    (void)state;
    struct k_process *p = h_proc("shell", 0);
    FEED("abc\x7f\x08X\x15h\xc3\xa9llo w\xc3\xb6\x7f"
         "d\x7f\x7f\x7f\x7f"
         "\x7f\x7f\x7f\x7f\x7f\x7fok\n");
    struct job j = {.cap = tf_grant(p), .prompt = "> ", .n = 1};
    tf_run_reader(p, &j);
    EXPECT_LINE(&j.out[0], "ok");
    EXPECT_OUTPUT("> abc\b \b\b \bX\b \b\b \bh\xc3\xa9llo w\xc3\xb6\b \bd"
                  "\b \b\b \b\b \b\b \b\b \b\b \b\b \b\b \b" /* 8 chars */
                  "ok\r\n");
}

static void erasing_keeps_utf8_characters_whole(void **state)
{
    (void)state;
    struct k_process *p = h_proc("shell", 0);
    FEED("a\xe2\x82\xac\xf0\x9f\x98\x80\x7f\x7f"
         "b\x15"
         "c\xe2\x82\xac\n");
    struct job j = {.cap = tf_grant(p), .prompt = "", .n = 1};
    tf_run_reader(p, &j);
    EXPECT_LINE(&j.out[0], "c\xe2\x82\xac");
}

static void an_over_long_line_stops_at_max_bytes(void **state)
{
    (void)state;
    struct k_process *p = h_proc("shell", 0);
    FEED("abcdefgh\n"       /* max 5: abcde, one bell */
         "abc\xc3\xa9z\n"   /* max 4: é does not fit whole, z does */
         "abcdef\x7fXY\n"); /* max 5: erase makes room again */
    struct job j = {
        .cap = tf_grant(p), .prompt = "", .maxes = {5, 4, 5}, .n = 3};
    tf_run_reader(p, &j);
    EXPECT_LINE(&j.out[0], "abcde");
    EXPECT_LINE(&j.out[1], "abcz");
    EXPECT_LINE(&j.out[2], "abcdX");
    EXPECT_OUTPUT("abcde\a\r\n"
                  "abc\az\r\n"
                  "abcde\a\b \bX\a\r\n");
}

static void max_bytes_is_bounded_by_4096_and_needs_the_result_room(void **state)
{
    (void)state;
    struct k_process *p = h_proc("shell", 0);
    uint32_t t = tf_grant(p);
    /* A result buffer too small for the limit is refused before anything
     * is shown: 40 + align8(4096 + 1) bytes are needed. */
    uint8_t *res;
    CapSqe s = tf_readline_sqe(p, t, "never shown> ", 0, 100000, 4143, 1, &res);
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_RESULT_BUFFER);
    s = tf_readline_sqe(p, t, "never shown> ", 0, 0, 1071, 1, &res);
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_RESULT_BUFFER);
    EXPECT_OUTPUT("");

    static char big[6001];
    memset(big, 'x', 6000);
    big[6000] = '\n';
    tf_feed(big, sizeof big);
    struct job j = {
        .cap = t, .prompt = "", .max = 100000, .res_len = 4144, .n = 1};
    tf_run_reader(p, &j);
    assert_int_equal(j.out[0].which, CAPOS_READ_LINE_RESULT_WHICH_LINE);
    assert_int_equal(j.out[0].len, LINE_MAX_BYTES);
    assert_true(j.out[0].result <= 4144);
    char out[8192];
    assert_int_equal(tf_out_take(out, sizeof out), LINE_MAX_BYTES + 1 + 2);
}

static void end_of_input_mid_line_is_end_of_input(void **state)
{
    (void)state;
    struct k_process *p = h_proc("shell", 0), *q = h_proc("next", 0);
    uint32_t tq = tf_grant(q); /* keeps the console's session state */
    FEED("first\npartial");
    tf_hang_up();
    struct job j = {.cap = tf_grant(p), .prompt = "> ", .n = 2};
    tf_run_reader(p, &j);
    EXPECT_LINE(&j.out[0], "first");
    tf_expect_outcome(&j.out[1], CAPOS_READ_LINE_RESULT_WHICH_END_OF_INPUT);
    EXPECT_OUTPUT("> first\r\n> partial\r\n");
    /* The end is final: a later read ends at once, without waiting. */
    uint8_t *res;
    CapSqe s = tf_readline_sqe(q, tq, "> ", 0, 0, RES_BIG, 9, &res);
    CapCqe c = h_one(q, &s);
    struct rl r;
    tf_rl_decode(res, c.result, &r);
    tf_expect_outcome(&r, CAPOS_READ_LINE_RESULT_WHICH_END_OF_INPUT);
    EXPECT_OUTPUT("> \r\n");
}

static void ctrl_d_ends_input_only_on_an_empty_line(void **state)
{
    (void)state;
    struct k_process *p = h_proc("shell", 0);
    FEED("ab\x04"
         "c\n\x04next\n");
    struct job j = {.cap = tf_grant(p), .prompt = "$ ", .n = 3};
    tf_run_reader(p, &j);
    EXPECT_LINE(&j.out[0], "abc");
    tf_expect_outcome(&j.out[1], CAPOS_READ_LINE_RESULT_WHICH_END_OF_INPUT);
    EXPECT_LINE(&j.out[2], "next"); /* Ctrl-D is not the end of the pipe */
    EXPECT_OUTPUT("$ abc\r\n$ \r\n$ next\r\n");
}

static void ctrl_c_interrupts_the_read(void **state)
{
    (void)state;
    struct k_process *p = h_proc("shell", 0);
    FEED("rm -rf\x03ls\n");
    struct job j = {.cap = tf_grant(p), .prompt = "$ ", .n = 2};
    tf_run_reader(p, &j);
    tf_expect_outcome(&j.out[0], CAPOS_READ_LINE_RESULT_WHICH_INTERRUPTED);
    EXPECT_LINE(&j.out[1], "ls");
    EXPECT_OUTPUT("$ rm -rf^C\r\n$ ls\r\n");
}

static void
garbage_bytes_and_control_characters_are_dropped_or_replaced(void **state)
{
    (void)state;
    struct k_process *p = h_proc("shell", 0);
    FEED("a\tb\x01\x00\x1b[A\x1b[1;5C\x1bOPc\x1bx" /* controls, keys */
         "\xff"                                    /* never valid: U+FFFD */
         "\xc3("                 /* cut short by '(': U+FFFD then ( */
         "\xc0\xaf"              /* overlong: two U+FFFD */
         "\xed\xa0\x80"          /* surrogate: three U+FFFD */
         "\xc2\x85"              /* C1 control: dropped */
         "\xf0\x9f\x98\x80"      /* valid 4 bytes */
         "\xe2\x82\r\n"          /* cut short by the line end */
         "one\r\x00two\rthree\n" /* CR NUL and CR are line ends too */
         "\n");                  /* an empty line */
    struct job j = {.cap = tf_grant(p), .prompt = "", .n = 5};
    tf_run_reader(p, &j);
    EXPECT_LINE(&j.out[0], "abc\xef\xbf\xbd\xef\xbf\xbd("
                           "\xef\xbf\xbd\xef\xbf\xbd"
                           "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                           "\xf0\x9f\x98\x80\xef\xbf\xbd");
    EXPECT_LINE(&j.out[1], "one");
    EXPECT_LINE(&j.out[2], "two");
    EXPECT_LINE(&j.out[3], "three");
    EXPECT_LINE(&j.out[4], "");
}

static void a_second_readline_while_one_waits_is_overloaded(void **state)
{
    (void)state;
    struct k_process *a = h_proc("a", 0), *b = h_proc("b", 0);
    uint32_t ta = tf_grant(a), tb = tf_grant(b);
    uint8_t *ra, *rb;
    *h_sqe(a) = tf_readline_sqe(a, ta, "a> ", 0, 0, RES_BIG, 1, &ra);
    h_submit(a);
    assert_int_equal(h_enter(a), 0); /* waits for input */
    assert_true(sim_console_is_watched());
    /* Another process's session on the same console, and the same one. */
    CapSqe s = tf_readline_sqe(b, tb, "b> ", 0, 0, RES_BIG, 2, &rb);
    tf_expect_exception(rb, h_one(b, &s).result, K_EXC_OVERLOADED);
    s = tf_readline_sqe(a, ta, "a2> ", 0, 0, RES_BIG, 3, &rb);
    tf_expect_exception(rb, h_one(a, &s).result, K_EXC_OVERLOADED);
    EXPECT_OUTPUT("a> ");
    /* The first read is unharmed. */
    FEED("x\n");
    (void)port_idle(0); /* the port delivers the input (no wait) */
    CapCqe c;
    assert_true(h_cqe(a, &c));
    assert_int_equal(c.user_data, 1);
    struct rl r;
    tf_rl_decode(ra, c.result, &r);
    EXPECT_LINE(&r, "x");
    assert_false(sim_console_is_watched());
    assert_int_equal(a->rs.cq_reserved, 0);
}

static void a_reader_that_exits_leaves_nothing_behind(void **state)
{
    (void)state;
    uint32_t objects = k.stats.objects_live;
    struct k_process *a = h_proc("a", 0);
    struct job j = {
        .cap = tf_grant(a), .prompt = "a> ", .exit_while_waiting = true};
    FEED("typed"); /* half a line: the read waits for more */
    tf_run_reader(a, &j);
    assert_int_equal(j.done, 1); /* the read was pending at the exit */
    assert_int_equal(a->state, KP_DEAD);
    assert_null(a->pending);
    assert_false(sim_console_is_watched());
    assert_int_equal(k.stats.objects_live, objects); /* session freed */
    assert_int_equal(k.stats.threads_live, 0);
    EXPECT_OUTPUT("a> typed");
    /* The console is free for the next reader; the dead read's partial
     * line is gone, later input is read. */
    struct k_process *b = h_proc("b", 0);
    FEED(" more\n");
    struct job jb = {.cap = tf_grant(b), .prompt = "b> ", .n = 1};
    tf_run_reader(b, &jb);
    EXPECT_LINE(&jb.out[0], " more");
}

static void
close_ends_a_waiting_read_and_later_calls_are_disconnected(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t t = tf_grant(p), other = tf_grant(p);
    uint8_t *rr, *res;
    *h_sqe(p) = tf_readline_sqe(p, t, "", 0, 0, RES_BIG, 1, &rr);
    h_submit(p);
    assert_int_equal(h_enter(p), 0);
    /* Closing another session leaves the read waiting. */
    CapSqe s = h_call(other, CAPOS_TERMINAL_SESSION_CLOSE_METHOD_ID, 2);
    assert_int_equal(h_one(p, &s).result, 0);
    assert_true(sim_console_is_watched());
    s = h_call(t, CAPOS_TERMINAL_SESSION_CLOSE_METHOD_ID, 3);
    *h_sqe(p) = s;
    h_submit(p);
    assert_int_equal(h_enter(p), 2);
    CapCqe c;
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 1);
    struct rl r;
    tf_rl_decode(rr, c.result, &r);
    tf_expect_outcome(&r, CAPOS_READ_LINE_RESULT_WHICH_END_OF_INPUT);
    assert_true(h_cqe(p, &c));
    assert_int_equal(c.user_data, 3);
    assert_int_equal(c.result, 0);
    assert_false(sim_console_is_watched());
    /* Closed: calls fail with disconnected; close again is harmless. */
    s = tf_bytes_sqe(p, t, CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID, "x", 1,
                     &res);
    tf_expect_exception(res, h_one(p, &s).result, K_EXC_DISCONNECTED);
    s = tf_readline_sqe(p, t, "", 0, 0, RES_BIG, 4, &res);
    tf_expect_exception(res, h_one(p, &s).result, K_EXC_DISCONNECTED);
    s = h_call(t, CAPOS_TERMINAL_SESSION_CLOSE_METHOD_ID, 5);
    assert_int_equal(h_one(p, &s).result, 0);
    EXPECT_OUTPUT("");
}

static void info_reports_the_console_transport(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t t = tf_grant(p);
    uint8_t *res = h_alloc(p, 128);
    CapSqe s = h_call(t, CAPOS_TERMINAL_SESSION_INFO_METHOD_ID, 1);
    s.result_addr = h_va(p, res);
    s.result_len = 128;
    CapCqe c = h_one(p, &s);
    assert_true(c.result > 0);
    capnp_message m;
    capnp_struct root, info;
    assert_int_equal(capnp_msg_init(&m, res, (size_t)c.result, NULL), 0);
    assert_int_equal(capnp_msg_root(&m, &root), 0);
    assert_int_equal(capos_TerminalSession_info_Results_get_info(&root, &info),
                     0);
    assert_int_equal(capos_TerminalInfo_get_transport(&info),
                     CAPOS_TRANSPORT_CONSOLE);
    assert_int_equal(capos_TerminalInfo_get_columns(&info), 0); /* a pipe */
    assert_int_equal(capos_TerminalInfo_get_rows(&info), 0);
    assert_false(capos_TerminalInfo_has_peer(&info));
    s.result_len = 16;
    assert_int_equal(h_one(p, &s).result, CAP_ERR_INVALID_RESULT_BUFFER);
}

static void bad_params_and_unknown_methods_get_exceptions(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t t = tf_grant(p);
    uint8_t *res;
    CapSqe s = tf_readline_sqe(p, t, "> ", 2, 0, RES_BIG, 1, &res);
    tf_expect_exception(res, h_one(p, &s).result, K_EXC_INVALID_ARGUMENT);
    uint8_t *junk = h_alloc(p, 64);
    memset(junk, 0xff, 64);
    s = h_call(t, CAPOS_TERMINAL_SESSION_WRITE_LINE_METHOD_ID, 2);
    s.addr = h_va(p, junk);
    s.len = 64;
    s.result_addr = h_va(p, res);
    s.result_len = 256;
    tf_expect_exception(res, h_one(p, &s).result, K_EXC_INVALID_ARGUMENT);
    s = h_call(t, CAPOS_TERMINAL_SESSION_METHOD_COUNT, 3);
    s.result_addr = h_va(p, res);
    s.result_len = 256;
    tf_expect_exception(res, h_one(p, &s).result, K_EXC_UNIMPLEMENTED);
    EXPECT_OUTPUT("");
    assert_false(sim_console_is_watched());
}

/* TerminalSession.console on t: the facet's cap (record 0, a Console). */
static uint32_t console_facet(struct k_process *p, uint32_t t)
{
    uint8_t *res = h_alloc(p, 256);
    CapSqe s = h_call(t, CAPOS_TERMINAL_SESSION_CONSOLE_METHOD_ID, 4);
    s.result_addr = h_va(p, res);
    s.result_len = 256;
    CapCqe c = h_one(p, &s);
    assert_true(c.result > 0);
    assert_int_equal(c.cap_count, 1);
    CapTransferResult rec;
    memcpy(&rec, res + CAP_ALIGN8((uint32_t)c.result), sizeof rec);
    assert_int_equal(rec.interface_id, CAPOS_CONSOLE_INTERFACE_ID);
    return rec.cap_id;
}

/* Console.write (line false) or writeLine on cap; the CQE result, *res
 * the result buffer. */
static int32_t console_say(struct k_process *p, uint32_t cap, const char *text,
                           bool line, uint8_t **res)
{
    CapSqe s = tf_bytes_sqe(p, cap,
                            line ? CAPOS_CONSOLE_WRITE_LINE_METHOD_ID
                                 : CAPOS_CONSOLE_WRITE_METHOD_ID,
                            text, strlen(text), res);
    return h_one(p, &s).result;
}

static void the_console_facet_writes_to_the_terminal_until_it_closes(void **s)
{
    (void)s;
    struct k_process *p = h_proc("shell", 0);
    struct k_process *child = h_proc("child", 0);
    uint32_t t = tf_grant(p);
    uint32_t con = console_facet(p, t);
    /* A copy works the same in another process (a spawned child's). */
    uint32_t copy;
    struct k_object *o = ct_lookup(&p->caps, con)->obj;
    k_obj_ref(o);
    assert_int_equal(k_obj_grant(child, o, &copy), 0);
    uint8_t *res;
    assert_int_equal(console_say(child, copy, "why it failed", true, &res), 0);
    assert_int_equal(console_say(p, con, "raw", false, &res), 0);
    EXPECT_OUTPUT("why it failed\r\nraw");
    CapSqe c = h_call(t, CAPOS_TERMINAL_SESSION_CLOSE_METHOD_ID, 5);
    assert_int_equal(h_one(p, &c).result, 0);
    tf_expect_exception(res, console_say(child, copy, "late", true, &res),
                        K_EXC_DISCONNECTED);
    EXPECT_OUTPUT("");
}

static void a_console_facet_outliving_its_session_is_disconnected(void **s)
{
    (void)s;
    struct k_process *p = h_proc("shell", 0);
    uint32_t t = tf_grant(p);
    uint32_t con = console_facet(p, t);
    CapSqe r = h_release(t, 6);
    assert_int_equal(h_one(p, &r).result, 0);
    uint8_t *res;
    tf_expect_exception(res, console_say(p, con, "late", false, &res),
                        K_EXC_DISCONNECTED);
    /* Its params are checked as the host Console's. */
    CapSqe bad = h_call(con, CAPOS_CONSOLE_METHOD_COUNT, 7);
    bad.result_addr = h_va(p, res);
    bad.result_len = 256;
    tf_expect_exception(res, h_one(p, &bad).result, K_EXC_UNIMPLEMENTED);
    EXPECT_OUTPUT("");
}

static void without_console_input_a_read_ends_at_once(void **state)
{
    (void)state;
    sim_console_close();
    struct k_process *p = h_proc("p", 0);
    uint32_t t = tf_grant(p);
    uint8_t *res;
    CapSqe s = tf_readline_sqe(p, t, "> ", 0, 0, RES_BIG, 1, &res);
    CapCqe c = h_one(p, &s);
    struct rl r;
    tf_rl_decode(res, c.result, &r);
    tf_expect_outcome(&r, CAPOS_READ_LINE_RESULT_WHICH_END_OF_INPUT);
}

static void a_file_console_is_read_to_its_end(void **state)
{
    (void)state;
    char path[] = "/tmp/capos-terminal-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    static const char script[] = "login\nalice\nno newline";
    assert_int_equal(write(fd, script, sizeof script - 1),
                     (ssize_t)sizeof script - 1);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    assert_int_equal(sim_console_open(fd, SIM_CONSOLE_STDIO), 0);
    close(fd); /* the console keeps its own descriptor */
    assert_false(sim_console_is_raw());
    struct k_process *p = h_proc("p", 0);
    struct job j = {.cap = tf_grant(p), .prompt = "> ", .n = 3};
    tf_run_reader(p, &j);
    EXPECT_LINE(&j.out[0], "login");
    EXPECT_LINE(&j.out[1], "alice");
    tf_expect_outcome(&j.out[2], CAPOS_READ_LINE_RESULT_WHICH_END_OF_INPUT);
}

/* A pseudo-terminal pair, or skip the test. */
static void open_pty(int *master, int *slave)
{
    *master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (*master < 0 || grantpt(*master) != 0 || unlockpt(*master) != 0) {
        if (*master >= 0)
            close(*master);
        skip(); /* no pseudo-terminals here */
    }
    *slave = open(ptsname(*master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    assert_true(*slave >= 0);
}

static void a_terminal_console_is_raw_until_closed(void **state)
{
    (void)state;
    int master, slave;
    open_pty(&master, &slave);
    struct winsize ws = {.ws_row = 24, .ws_col = 80};
    assert_int_equal(ioctl(master, TIOCSWINSZ, &ws), 0);
    struct termios before, during, after;
    assert_int_equal(tcgetattr(slave, &before), 0);
    assert_true(before.c_lflag & ICANON);

    /* --console pipe never touches the terminal's mode. */
    assert_int_equal(sim_console_open(slave, SIM_CONSOLE_PIPE), 0);
    assert_false(sim_console_is_raw());
    assert_int_equal(tcgetattr(slave, &during), 0);
    assert_true(during.c_lflag & ICANON);

    assert_int_equal(sim_console_open(slave, SIM_CONSOLE_STDIO), 0);
    assert_true(sim_console_is_raw());
    assert_int_equal(tcgetattr(slave, &during), 0);
    assert_false(during.c_lflag & (ICANON | ECHO | IEXTEN));
    assert_false(during.c_iflag & ICRNL);
    /* Keys reach the model, except Ctrl-\ (SIGQUIT: the way out). */
    assert_int_equal(during.c_cc[VINTR], _POSIX_VDISABLE);
    assert_int_equal(during.c_cc[VSUSP], _POSIX_VDISABLE);
    assert_true(during.c_lflag & ISIG);
    assert_int_equal(during.c_cc[VQUIT], before.c_cc[VQUIT]);

    /* Raw: Enter arrives as CR, Ctrl-C as a byte. */
    assert_int_equal(write(master, "hi\x7fo\r\x03", 6), 6);
    struct k_process *p = h_proc("p", 0);
    uint32_t t = tf_grant(p);
    struct job j = {.cap = t, .prompt = "> ", .n = 2};
    tf_run_reader(p, &j);
    EXPECT_LINE(&j.out[0], "ho");
    tf_expect_outcome(&j.out[1], CAPOS_READ_LINE_RESULT_WHICH_INTERRUPTED);
    uint16_t cols, rows;
    port_console_size(&cols, &rows);
    assert_int_equal(cols, 80);
    assert_int_equal(rows, 24);

    sim_console_close();
    assert_false(sim_console_is_raw());
    assert_int_equal(tcgetattr(slave, &after), 0);
    assert_int_equal(after.c_lflag, before.c_lflag);
    assert_int_equal(after.c_iflag, before.c_iflag);
    assert_int_equal(after.c_oflag, before.c_oflag);
    close(slave);
    close(master);
}

/* A child puts the terminal in raw mode and dies of sig (SIGABRT is how
 * port_panic ends); the terminal must come back in its old mode. */
static void die_raw_and_check_restore(int sig)
{
    int master, slave;
    open_pty(&master, &slave);
    struct termios before, after;
    assert_int_equal(tcgetattr(slave, &before), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, STDERR_FILENO); /* the panic message is expected */
        if (sim_console_open(slave, SIM_CONSOLE_STDIO) != 0 ||
            !sim_console_is_raw())
            _exit(100);
        if (sig == SIGABRT)
            port_panic("test: a fatal error while the terminal is raw");
        kill(getpid(), sig);
        _exit(101); /* not reached */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    /* Killed by sig, or a sanitizer's report exit after it: not ours. */
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) >= 100);
    assert_int_equal(tcgetattr(slave, &after), 0);
    assert_true(after.c_lflag & ICANON);
    assert_int_equal(after.c_lflag, before.c_lflag);
    assert_int_equal(after.c_iflag, before.c_iflag);
    close(slave);
    close(master);
}

static void a_fatal_signal_restores_the_terminal(void **state)
{
    (void)state;
    die_raw_and_check_restore(SIGTERM);
    die_raw_and_check_restore(SIGHUP);
}

static void a_panic_restores_the_terminal(void **state)
{
    (void)state;
    die_raw_and_check_restore(SIGABRT);
}

static void console_modes_parse(void **state)
{
    (void)state;
    enum sim_console_mode m;
    assert_int_equal(sim_console_parse_mode("stdio", &m), 0);
    assert_int_equal(m, SIM_CONSOLE_STDIO);
    assert_int_equal(sim_console_parse_mode("pipe", &m), 0);
    assert_int_equal(m, SIM_CONSOLE_PIPE);
    assert_int_equal(sim_console_parse_mode("tty", &m), -1);
    assert_int_equal(sim_console_parse_mode(NULL, &m), -1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, tf_setup, tf_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(the_interface_id_and_methods_are_the_schemas),
        T(write_sends_bytes_and_write_line_ends_with_crlf),
        T(a_visible_read_returns_the_line_and_echoes_it),
        T(a_hidden_read_never_echoes_the_line),
        T(ctrl_c_in_a_hidden_read_shows_no_input),
        T(backspace_and_ctrl_u_edit_the_line),
        T(erasing_keeps_utf8_characters_whole),
        T(an_over_long_line_stops_at_max_bytes),
        T(max_bytes_is_bounded_by_4096_and_needs_the_result_room),
        T(end_of_input_mid_line_is_end_of_input),
        T(ctrl_d_ends_input_only_on_an_empty_line),
        T(ctrl_c_interrupts_the_read),
        T(garbage_bytes_and_control_characters_are_dropped_or_replaced),
        T(a_second_readline_while_one_waits_is_overloaded),
        T(a_reader_that_exits_leaves_nothing_behind),
        T(close_ends_a_waiting_read_and_later_calls_are_disconnected),
        T(info_reports_the_console_transport),
        T(bad_params_and_unknown_methods_get_exceptions),
        T(the_console_facet_writes_to_the_terminal_until_it_closes),
        T(a_console_facet_outliving_its_session_is_disconnected),
        T(without_console_input_a_read_ends_at_once),
        T(a_file_console_is_read_to_its_end),
        T(a_terminal_console_is_raw_until_closed),
        T(a_fatal_signal_restores_the_terminal),
        T(a_panic_restores_the_terminal),
        cmocka_unit_test(console_modes_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}