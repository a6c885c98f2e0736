/*
 * tools/bench/bench.h - the capos-bench figure interface.
 *
 * A figure is a name, a default operation count and a function that times
 * `reps` loops of `ops` operations and writes ns/op for each into
 * samples[0..reps). The driver (bench.c) owns repetition counts, warm-up,
 * statistics and output; figures only measure. Adding a figure is one
 * function (in the file of its group, declared below) and one row in
 * bench.c's table.
 */
#ifndef CAPOS_BENCH_H
#define CAPOS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The most repetitions CAPOS_BENCH_RUNS may ask for. */
#define BENCH_MAX_RUNS 1000u

/* What a figure function returns. Skip and failure print their reason
 * (one line on stdout) before returning. */
#define BENCH_OK 0
#define BENCH_SKIP 1 /* the host cannot provide it (anchor unavailable) */
#define BENCH_FAIL 2 /* it ran and went wrong */

/*
 * Time reps repetitions of ops operations each and store ns per operation
 * of repetition i in samples[i]. ops is at least 1; figures that work in
 * batches round it up to whole batches and divide by what they really did.
 */
typedef int (*bench_fn)(uint64_t ops, unsigned reps, double *samples);

/* CLOCK_MONOTONIC in ns: every figure times with this clock. */
static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ns per op of one timed loop; ops > 0. */
static inline double bench_ns_per_op(uint64_t t0, uint64_t t1, uint64_t ops)
{
    return (double)(t1 - t0) / (double)ops;
}

/* Host anchors (anchors.c). */
int bench_io_uring_nop_batch1(uint64_t ops, unsigned reps, double *samples);
int bench_io_uring_nop_batch16(uint64_t ops, unsigned reps, double *samples);
int bench_futex_pingpong(uint64_t ops, unsigned reps, double *samples);
int bench_futex_pingpong_1cpu(uint64_t ops, unsigned reps, double *samples);
int bench_swapcontext(uint64_t ops, unsigned reps, double *samples);

/* Model figures, by file. */
int fig_ring_nop_batch1(uint64_t ops, unsigned reps, double *samples);
int fig_ring_nop_batch16(uint64_t ops, unsigned reps, double *samples);
int fig_nullcap_call(uint64_t ops, unsigned reps, double *samples);
int fig_endpoint_rtt(uint64_t ops, unsigned reps, double *samples);
int fig_park_uncontended(uint64_t ops, unsigned reps, double *samples);
int fig_park_pingpong(uint64_t ops, unsigned reps, double *samples);
int fig_park_pingpong_rings(uint64_t ops, unsigned reps, double *samples);
int fig_park_pingpong_generic(uint64_t ops, unsigned reps, double *samples);
int fig_rt_park_pingpong_bridge(uint64_t ops, unsigned reps, double *samples);
int fig_rt_park_pingpong_rings(uint64_t ops, unsigned reps, double *samples);
int fig_fiber_switch(uint64_t ops, unsigned reps, double *samples);
int fig_capnp_console_write64(uint64_t ops, unsigned reps, double *samples);
int fig_capnp_tcp_recv1k(uint64_t ops, unsigned reps, double *samples);
int fig_boot_to_prompt(uint64_t ops, unsigned reps, double *samples);
int fig_idle_process_bytes(uint64_t ops, unsigned reps, double *samples);
int fig_thread_bytes(uint64_t ops, unsigned reps, double *samples);

/* ssh.c: the ssh-gateway login and its sshd anchor. */
int fig_ssh_login(uint64_t ops, unsigned reps, double *samples);
int fig_sshd_login(uint64_t ops, unsigned reps, double *samples);
/* agent.c: one tool call through the agent loop, and its anchor. */
int fig_agent_tool_call(uint64_t ops, unsigned reps, double *samples);
int fig_jsonrpc_pipe_rtt(uint64_t ops, unsigned reps, double *samples);

/* tcp.c: the echo figures and their libuv anchors. */
int fig_tcp_echo_rtt(uint64_t ops, unsigned reps, double *samples);
int fig_tcp_echo_64k(uint64_t ops, unsigned reps, double *samples);
int fig_uv_echo_rtt(uint64_t ops, unsigned reps, double *samples);
int fig_uv_echo_64k(uint64_t ops, unsigned reps, double *samples);

/* The bulk echo figures' message size, in bytes. */
#define ECHO_MAX 65536u

/* Write (out) or read all n bytes of buf on fd; false on error or close. */
bool echo_io(int fd, uint8_t *buf, size_t n, bool out);

/* A loopback port that was free a moment ago, or 0. */
uint16_t echo_free_port(void);

/* telnet.c: the telnet figures and the argon2id anchor. */
int fig_telnet_login(uint64_t ops, unsigned reps, double *samples);
int fig_telnet_to_username(uint64_t ops, unsigned reps, double *samples);
int fig_argon2id_verify(uint64_t ops, unsigned reps, double *samples);

#endif /* CAPOS_BENCH_H */
