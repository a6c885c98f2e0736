/*
 * terminal_fixture.c - test_terminal's shared fixture
 * (terminal_fixture.h): the console pipes set up and torn down around
 * each test, feeding input and taking output, the TerminalSession calls
 * and their decoding, and a reader process under k_run.
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

static int in_fd[2] = {-1, -1};  /* console input: tests write in_fd[1] */
static int out_fd[2] = {-1, -1}; /* console output: tests read out_fd[0] */

int tf_setup(void **state)
{
    (void)state;
    h_up(true, 1);
    assert_int_equal(pipe2(out_fd, O_NONBLOCK | O_CLOEXEC), 0);
    (void)fcntl(out_fd[1], F_SETPIPE_SZ, 1 << 20);
    sim_console_set_fd(out_fd[1]);
    assert_int_equal(pipe2(in_fd, O_CLOEXEC), 0);
    assert_int_equal(sim_console_open(in_fd[0], SIM_CONSOLE_PIPE), 0);
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int tf_teardown(void **state)
{
    (void)state;
    h_down(); /* closes the console too (sim_port_fini) */
    sim_console_set_fd(1);
    close_fd(&in_fd[0]);
    close_fd(&in_fd[1]);
    close_fd(&out_fd[0]);
    close_fd(&out_fd[1]);
    return 0;
}

/* Type bytes at the console. */
void tf_feed(const char *s, size_t n)
{
    assert_int_equal(write(in_fd[1], s, n), (ssize_t)n);
}

/* The end of console input (the peer closes the pipe). */
void tf_hang_up(void)
{
    close_fd(&in_fd[1]);
}

/* Everything the console printed since the last call (NUL-terminated). */
size_t tf_out_take(char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(out_fd[0], buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = 0;
    return n;
}

void tf_expect_output(const char *want, size_t len)
{
    char got[16384];
    size_t n = tf_out_take(got, sizeof got);
    if (n != len || memcmp(got, want, len) != 0)
        fail_msg("console output: got %zu bytes \"%s\", want %zu bytes \"%s\"",
                 n, got, len, want);
}

/* One-pointer params (Data for write, Text otherwise). */
CapSqe tf_bytes_sqe(struct k_process *p, uint32_t cap, uint16_t method,
                    const char *s, size_t n, uint8_t **res)
{
    uint8_t *buf = h_alloc(p, n + 64);
    capnp_builder b;
    capnp_struct_builder root;
    capnp_builder_init(&b, buf, n + 64);
    assert_int_equal(capnp_init_root(&b, 0, 1, &root), 0);
    int r = method == CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID
                ? capos_TerminalSession_write_Params_set_data(&root, s, n)
                : capos_TerminalSession_writeLine_Params_set_text(&root, s, n);
    assert_int_equal(r, 0);
    size_t len;
    assert_int_equal(capnp_finish(&b, &len), 0);
    *res = h_alloc(p, 256);
    CapSqe sqe;
    capnpc_c_call_sqe(&sqe, cap, method, 0, h_va(p, buf), (uint32_t)len,
                      h_va(p, *res), 256, 7);
    return sqe;
}

/* A readLine CALL with its params and a result buffer of res_len bytes
 * (max 0: leave maxBytes at its default). */
CapSqe tf_readline_sqe(struct k_process *p, uint32_t cap, const char *prompt,
                       uint16_t echo, uint32_t max, uint32_t res_len,
                       uint64_t user_data, uint8_t **res)
{
    uint8_t *buf = h_alloc(p, 256);
    capnp_builder b;
    capnp_struct_builder root;
    capnp_builder_init(&b, buf, 256);
    assert_int_equal(capos_TerminalSession_readLine_Params_init_root(&b, &root),
                     0);
    assert_int_equal(capos_TerminalSession_readLine_Params_set_prompt(
                         &root, prompt, strlen(prompt)),
                     0);
    capos_TerminalSession_readLine_Params_set_echo(&root, echo);
    if (max)
        capos_TerminalSession_readLine_Params_set_maxBytes(&root, max);
    size_t len;
    assert_int_equal(capnp_finish(&b, &len), 0);
    *res = res_len ? h_alloc(p, res_len) : NULL;
    CapSqe sqe;
    capos_TerminalSession_readLine_sqe(&sqe, cap, h_va(p, buf), (uint32_t)len,
                                       res_len ? h_va(p, *res) : 0, res_len,
                                       user_data);
    return sqe;
}

void tf_rl_decode(const uint8_t *res, int32_t n, struct rl *out)
{
    memset(out, 0, sizeof *out);
    out->result = n;
    out->which = -1;
    if (n <= 0)
        return;
    capnp_message m;
    capnp_struct root, r;
    if (capnp_msg_init(&m, res, (size_t)n, NULL) != 0 ||
        capnp_msg_root(&m, &root) != 0 ||
        !capos_TerminalSession_readLine_Results_has_result(&root) ||
        capos_TerminalSession_readLine_Results_get_result(&root, &r) != 0) {
        out->which = -2;
        return;
    }
    out->which = capos_ReadLineResult_which(&r);
    if (out->which == CAPOS_READ_LINE_RESULT_WHICH_LINE) {
        const char *s;
        size_t l;
        if (capos_ReadLineResult_get_line(&r, &s, &l) != 0 ||
            l > LINE_MAX_BYTES) {
            out->which = -2;
            return;
        }
        memcpy(out->line, s, l);
        out->len = l;
    }
}

void tf_expect_line(const struct rl *r, const char *want, size_t len)
{
    assert_true(r->result > 0);
    assert_int_equal(r->which, CAPOS_READ_LINE_RESULT_WHICH_LINE);
    if (r->len != len || memcmp(r->line, want, len) != 0)
        fail_msg("line: got %zu bytes \"%s\", want %zu bytes \"%s\"", r->len,
                 r->line, len, want);
}

void tf_expect_outcome(const struct rl *r, int which)
{
    assert_true(r->result > 0);
    assert_int_equal(r->which, which);
}

/* Decode a CapException result and check its type. */
void tf_expect_exception(const uint8_t *res, int32_t result, uint16_t type)
{
    assert_int_equal(result, CAP_ERR_APPLICATION_EXCEPTION);
    capnp_message m;
    capnp_struct root = h_root(res, 256, &m);
    assert_int_equal(capnp_get_u16(&root, 0, 0), type);
    const char *msg;
    size_t n;
    assert_int_equal(capnp_get_text(&root, 0, &msg, &n), 0);
    assert_true(n > 0);
}

static void reader_main(void *arg)
{
    struct job *j = arg;
    struct k_process *p = k_current()->proc;
    if (j->exit_while_waiting) {
        uint8_t *res;
        *h_sqe(p) = tf_readline_sqe(p, j->cap, j->prompt, j->echo, j->max,
                                    j->res_len, 1, &res);
        h_submit(p);
        /* Wait a virtual millisecond: the port delivers what was typed,
         * the line stays unfinished, the wait times out. */
        if (k_sys_cap_enter(1, 1000000) == 0)
            j->done = p->pending != NULL;
        k_process_exit(p, 3);
    }
    for (unsigned i = 0; i < j->n; i++) {
        uint8_t *res;
        *h_sqe(p) = tf_readline_sqe(p, j->cap, j->prompt, j->echo,
                                    j->maxes[i] ? j->maxes[i] : j->max,
                                    j->res_len, i + 1, &res);
        h_submit(p);
        /* A minute of virtual time: input already fed is always delivered
         * before the clock jumps, so only a read that would never complete
         * times out (and the test fails instead of hanging). */
        if (k_sys_cap_enter(1, 60ull * 1000 * 1000 * 1000) < 1)
            return;
        CapCqe c;
        if (!h_cqe(p, &c) || c.user_data != i + 1)
            return;
        tf_rl_decode(res, c.result, &j->out[i]);
        j->done++;
    }
}

/* Run a reader of n lines in process p (input already fed). */
void tf_run_reader(struct k_process *p, struct job *j)
{
    if (!j->res_len)
        j->res_len = RES_BIG;
    assert_int_equal(k_thread_create(p, reader_main, j, NULL), 0);
    assert_int_equal(k_run(), 0);
    if (!j->exit_while_waiting)
        assert_int_equal(j->done, j->n);
}

uint32_t tf_grant(struct k_process *p)
{
    uint32_t t;
    assert_int_equal(terminal_grant(p, &t), 0);
    return t;
}
