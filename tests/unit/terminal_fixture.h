/*
 * terminal_fixture.h - what test_terminal's tests share
 * (terminal_fixture.c): the console pipes of each test (setup and
 * teardown), typing at the console and reading what it printed, the
 * readLine and write calls and their decoding, and a reader process
 * under k_run.
 */
#ifndef CAPOS_TEST_TERMINAL_FIXTURE_H
#define CAPOS_TEST_TERMINAL_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "capos.capnp.h"

#define RES_BIG 4200u /* holds any readLine result (4096 + 48) */
#define LINE_MAX_BYTES 4096u

/* A decoded readLine completion. */
struct rl {
    int32_t result; /* CQE result */
    int which;      /* CAPOS_READ_LINE_RESULT_WHICH_*, -1 none, -2 bad */
    size_t len;
    char line[LINE_MAX_BYTES + 1];
};

#define JOB_MAX 6

/* A thread that reads n lines in turn, blocking in cap_enter for each
 * (no cmocka asserts inside a model thread: results are checked after
 * k_run). */
struct job {
    uint32_t cap;
    const char *prompt;
    uint16_t echo;
    uint32_t max;
    uint32_t maxes[JOB_MAX]; /* per read, overriding max when not 0 */
    uint32_t res_len;
    unsigned n;
    bool exit_while_waiting; /* submit one read, then exit the process */
    unsigned done;
    struct rl out[JOB_MAX];
};

int tf_setup(void **state);
int tf_teardown(void **state);
void tf_feed(const char *s, size_t n);
void tf_hang_up(void);
size_t tf_out_take(char *buf, size_t cap);
void tf_expect_output(const char *want, size_t len);
CapSqe tf_bytes_sqe(struct k_process *p, uint32_t cap, uint16_t method,
                    const char *s, size_t n, uint8_t **res);
CapSqe tf_readline_sqe(struct k_process *p, uint32_t cap, const char *prompt,
                       uint16_t echo, uint32_t max, uint32_t res_len,
                       uint64_t user_data, uint8_t **res);
void tf_rl_decode(const uint8_t *res, int32_t n, struct rl *out);
void tf_expect_line(const struct rl *r, const char *want, size_t len);
void tf_expect_outcome(const struct rl *r, int which);
void tf_expect_exception(const uint8_t *res, int32_t result, uint16_t type);
void tf_run_reader(struct k_process *p, struct job *j);
uint32_t tf_grant(struct k_process *p);

#define FEED(lit) tf_feed((lit), sizeof(lit) - 1)
#define EXPECT_OUTPUT(lit) tf_expect_output((lit), sizeof(lit) - 1)
#define EXPECT_LINE(r, lit) tf_expect_line((r), (lit), sizeof(lit) - 1)

#endif
