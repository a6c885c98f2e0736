/*
 * test_console.c - the Console kernel capability: write and writeLine reach
 * the port console; malformed params and unknown methods get a
 * CapException, never a crash.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "port_uv.h"

static int pipefd[2];

static int setup(void **state)
{
    (void)state;
    h_up(true, 1);
    assert_int_equal(pipe2(pipefd, O_NONBLOCK), 0);
    sim_console_set_fd(pipefd[1]);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sim_console_set_fd(1);
    close(pipefd[0]);
    close(pipefd[1]);
    h_down();
    return 0;
}

static size_t console_read(char *buf, size_t cap)
{
    ssize_t n = read(pipefd[0], buf, cap - 1);
    buf[n > 0 ? n : 0] = 0;
    return n > 0 ? (size_t)n : 0;
}

/* Build a one-pointer params message (data or text) in p's heap. */
static CapSqe console_sqe(struct k_process *p, uint32_t cap, uint16_t method,
                          const char *s)
{
    capnp_builder b;
    capnp_struct_builder root;
    h_msg(p, &b, 256);
    assert_int_equal(capnp_init_root(&b, 0, 1, &root), 0);
    if (method == 0)
        assert_int_equal(capnp_set_data(&root, 0, s, strlen(s)), 0);
    else
        assert_int_equal(capnp_set_text(&root, 0, s, strlen(s)), 0);
    return h_call_msg(p, cap, method, 1, &b, 0, NULL);
}

static void write_and_write_line_reach_the_console(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t con;
    assert_int_equal(console_grant(p, &con), 0);
    CapSqe s = console_sqe(p, con, 0, "raw bytes|");
    assert_int_equal(h_one(p, &s).result, 0);
    s = console_sqe(p, con, 1, "a line");
    assert_int_equal(h_one(p, &s).result, 0);
    char out[128];
    console_read(out, sizeof out);
    assert_string_equal(out, "raw bytes|a line\n");
}

/* Decode a CapException from a result buffer. */
static void expect_exception(const uint8_t *buf, size_t len, uint16_t type)
{
    capnp_message m;
    capnp_struct root = h_root(buf, len, &m);
    assert_int_equal(capnp_get_u16(&root, 0, 0), type);
    const char *msg;
    size_t n;
    assert_int_equal(capnp_get_text(&root, 0, &msg, &n), 0);
    assert_true(n > 0);
}

static void garbage_params_get_an_invalid_argument_exception(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t con;
    assert_int_equal(console_grant(p, &con), 0);
    uint8_t *junk = h_alloc(p, 64), *res = h_alloc(p, 256);
    memset(junk, 0xff, 64);
    CapSqe s = h_call(con, 0, 1);
    s.addr = h_va(p, junk);
    s.len = 64;
    s.result_addr = h_va(p, res);
    s.result_len = 256;
    CapCqe c = h_one(p, &s);
    assert_int_equal(c.result, CAP_ERR_APPLICATION_EXCEPTION);
    expect_exception(res, 256, K_EXC_INVALID_ARGUMENT);

    /* A text where data is expected is fine (both are byte lists), but a
     * struct pointer is not. */
    uint8_t *msg = h_alloc(p, 64);
    capnp_builder b;
    capnp_struct_builder root, inner;
    capnp_builder_init(&b, msg, 64);
    capnp_init_root(&b, 0, 1, &root);
    capnp_init_struct(&root, 0, 1, 0, &inner);
    size_t len;
    assert_int_equal(capnp_finish(&b, &len), 0);
    s.addr = h_va(p, msg);
    s.len = (uint32_t)len;
    c = h_one(p, &s);
    assert_int_equal(c.result, CAP_ERR_APPLICATION_EXCEPTION);
    expect_exception(res, 256, K_EXC_INVALID_ARGUMENT);

    /* No room for the exception: truncated, and nothing is written. */
    s.result_len = 0;
    s.result_addr = 0;
    assert_int_equal(h_one(p, &s).result,
                     CAP_ERR_APPLICATION_EXCEPTION_TRUNCATED);
    char out[16];
    assert_int_equal(console_read(out, sizeof out), 0);
}

static void an_unknown_method_is_unimplemented(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t con;
    assert_int_equal(console_grant(p, &con), 0);
    uint8_t *res = h_alloc(p, 256);
    CapSqe s = h_call(con, 9, 1);
    s.result_addr = h_va(p, res);
    s.result_len = 256;
    assert_int_equal(h_one(p, &s).result, CAP_ERR_APPLICATION_EXCEPTION);
    expect_exception(res, 256, K_EXC_UNIMPLEMENTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(write_and_write_line_reach_the_console,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            garbage_params_get_an_invalid_argument_exception, setup, teardown),
        cmocka_unit_test_setup_teardown(an_unknown_method_is_unimplemented,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
