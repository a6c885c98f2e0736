/*
 * tools/bench/bench.c - capos-bench, the `make bench` program: kernel-model
 * figures next to host anchors measured in the same run.
 *
 * Links: tools/bench/[a-z]*.c (bench.c: the figure table and the driver;
 * model.c and model.h: what the model figures share; one file per group
 * of figures; anchors.c: the host anchors), every kernel-model
 * source (kernel-model/[a-z]*.c), the codec lib/capnp.c, the hosted port
 * (sim/port/[a-z]*.c), the generated sim/builtins.c and sim/default-manifest.c
 * and arch/x86_64/switch.S (x86_64 only); bench copies of the service
 * libraries, the runtime and the schema code (boot_to_prompt boots the
 * default system); libraries -luv -luring -largon2 -ltelnet -lpthread
 * (liburing optional: without HAVE_LIBURING the io_uring anchors report
 * themselves unavailable). Built at -O2 without sanitizers.
 *
 * Usage: capos-bench [--list] [FIGURE...]
 *   With names, runs only those figures (ratios need their anchors too).
 *   CAPOS_BENCH_RUNS   repetitions per figure (default 7)
 *   CAPOS_BENCH_SCALE  multiplies every figure's operation count (default
 *                      1; e.g. 0.01 for a quick smoke run)
 *   CAPOS_BENCH_TELNET_MANIFEST  the telnet_* figures' system (default
 *                      fixtures/system-telnet.bin: run from the build tree)
 *
 * Each figure runs one untimed warm-up repetition, then RUNS timed ones;
 * each repetition times a loop of N operations with CLOCK_MONOTONIC and
 * yields ns/op. Output: a table (min, median, max ns/op and, for model
 * figures, anchor median / figure median ratios), then one line per figure
 * that ran: `bench: NAME median_ns=X min_ns=Y max_ns=Z`. Memory figures
 * (unit "bytes": idle_process_bytes, thread_bytes) report bytes instead:
 * `bench: NAME median_bytes=X min_bytes=Y max_bytes=Z`.
 *
 * Model figures use only the kmodel.h API, on a kernel brought up with
 * seed 1 and the real clock. Their "user code" runs on model threads and
 * drives the ring as a capOS process would: write SQEs, publish sq_tail
 * (release), cap_enter, read CQEs up to cq_tail (acquire), publish
 * cq_head. Buffers live in the process heap (CAPOS_HEAP_VADDR); SQEs
 * carry user virtual addresses.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "binaries.h"
#include "port_uv.h"

#define BENCH_DEFAULT_RUNS 7u

/* Ratio columns: a model figure names, per column, the anchor whose
 * median is divided by the figure's median (NULL: no ratio). */
enum {
    VS_URING,
    VS_FUTEX,
    VS_FUTEX_1CPU,
    VS_SWAPCTX,
    VS_UV,
    VS_ARGON2,
    VS_SSHD,
    VS_JSONRPC,
    VS_COLUMNS
};
static const char *const vs_heading[VS_COLUMNS] = {
    "io_uring/x", "futex/x",  "futex1cpu/x", "swapctx/x",
    "libuv/x",    "argon2/x", "sshd/x",      "jsonrpc/x"};

/* One row per figure, in output order; ops is the default operation count
 * of one repetition. */
struct figure {
    const char *name;
    bench_fn run;
    uint64_t ops;
    const char *what;
    const char *vs[VS_COLUMNS];
    const char *unit; /* what samples count: NULL for ns per op, "bytes" */
};

static const struct figure figures[] = {
    {.name = "ring_nop_batch1",
     .run = fig_ring_nop_batch1,
     .ops = 200000,
     .what = "model: 1 NOP per cap_enter, ns per NOP",
     .vs = {[VS_URING] = "io_uring_nop_batch1"}},
    {.name = "ring_nop_batch16",
     .run = fig_ring_nop_batch16,
     .ops = 1600000,
     .what = "model: 16 NOPs per cap_enter, ns per NOP",
     .vs = {[VS_URING] = "io_uring_nop_batch16"}},
    {.name = "nullcap_call",
     .run = fig_nullcap_call,
     .ops = 200000,
     .what = "model: CALL NullCap.call() per cap_enter, ns per call",
     .vs = {[VS_URING] = "io_uring_nop_batch1"}},
    {.name = "endpoint_rtt",
     .run = fig_endpoint_rtt,
     .ops = 100000,
     .what = "model: CALL -> RECV -> RETURN -> CQE between two processes, "
             "ns per round trip",
     .vs = {[VS_FUTEX] = "futex_pingpong",
            [VS_FUTEX_1CPU] = "futex_pingpong_1cpu"}},
    {.name = "park_uncontended",
     .run = fig_park_uncontended,
     .ops = 200000,
     .what = "model: UNPARK of an unwaited word (wakes 0) alternating with "
             "PARK of a mismatching value, 1 per cap_enter, ns per op",
     .vs = {[VS_URING] = "io_uring_nop_batch1"}},
    {.name = "park_pingpong",
     .run = fig_park_pingpong,
     .ops = 100000,
     .what = "model: two threads of one process pass a word back and forth; "
             "each pass = store + UNPARK+PARK in one cap_enter(0), then the "
             "passer waits for its PARK's CQE (blocked in cap_enter(1), or "
             "yielding while the other thread is the ring's one waiter); ns "
             "per round trip (two passes, two blocking PARKs)",
     .vs = {[VS_FUTEX] = "futex_pingpong",
            [VS_FUTEX_1CPU] = "futex_pingpong_1cpu"}},
    {.name = "park_pingpong_rings",
     .run = fig_park_pingpong_rings,
     .ops = 100000,
     .what = "model: park_pingpong with each player on its own ring: "
             "store + UNPARK+PARK in one cap_enter(2) that returns when the "
             "other player wakes it; ns per round trip",
     .vs = {[VS_FUTEX] = "futex_pingpong",
            [VS_FUTEX_1CPU] = "futex_pingpong_1cpu"}},
    {.name = "park_pingpong_generic",
     .run = fig_park_pingpong_generic,
     .ops = 100000,
     .what = "model: park_pingpong_rings in the generic form: "
             "ParkSpace.wake + ParkSpace.wait CALLs (prebuilt params, the "
             "wait's result message decoded); ns per round trip",
     .vs = {[VS_FUTEX] = "futex_pingpong",
            [VS_FUTEX_1CPU] = "futex_pingpong_1cpu"}},
    {.name = "rt_park_pingpong_bridge",
     .run = fig_rt_park_pingpong_bridge,
     .ops = 50000,
     .what = "capos-rt: two threads pass a word with capos_rt_call(UNPARK) "
             "and capos_rt_call(PARK), sharing the process ring through the "
             "ring reactor bridge; ns per round trip",
     .vs = {[VS_FUTEX] = "futex_pingpong",
            [VS_FUTEX_1CPU] = "futex_pingpong_1cpu"}},
    {.name = "rt_park_pingpong_rings",
     .run = fig_rt_park_pingpong_rings,
     .ops = 50000,
     .what = "capos-rt: the same with the spawned thread on its own ring "
             "(CAPOS_RT_RING_PER_THREAD); ns per round trip",
     .vs = {[VS_FUTEX] = "futex_pingpong",
            [VS_FUTEX_1CPU] = "futex_pingpong_1cpu"}},
    {.name = "fiber_switch",
     .run = fig_fiber_switch,
     .ops = 2000000,
     .what = "port: one-way port_ctx_switch between two contexts",
     .vs = {[VS_SWAPCTX] = "swapcontext"}},
    {.name = "capnp_console_write64",
     .run = fig_capnp_console_write64,
     .ops = 2000000,
     .what = "codec: encode + decode Console.write params, 64-byte Data, "
             "ns per encode+decode"},
    {.name = "capnp_tcp_recv1k",
     .run = fig_capnp_tcp_recv1k,
     .ops = 1000000,
     .what = "codec: encode + decode a result struct with a 1 KiB Data, "
             "ns per encode+decode"},
    {.name = "boot_to_prompt",
     .run = fig_boot_to_prompt,
     .ops = 1,
     .what = "model+services: k_init + k_boot(default manifest) until the "
             "shell's first readLine waits (k_run idle), ns per boot"},
    {.name = "telnet_to_username",
     .run = fig_telnet_to_username,
     .ops = 10,
     .what = "model+services: fixtures/system-telnet, host client connect "
             "-> negotiation -> capos-shell launched -> `username> `, ns "
             "per connection"},
    {.name = "telnet_login",
     .run = fig_telnet_login,
     .ops = 3,
     .what = "model+services: the same, then operator / capos (Argon2id "
             "check) -> shell prompt, ns per login",
     .vs = {[VS_ARGON2] = "argon2id_verify"}},
    {.name = "ssh_login",
     .run = fig_ssh_login,
     .ops = 3,
     .what = "model+services: fixtures/system-ssh-shell, libssh client "
             "connect -> curve25519 kex -> ed25519 key userauth through "
             "SessionManager -> session, pty, shell -> first output, ns per "
             "login",
     .vs = {[VS_SSHD] = "sshd_login"}},
    {.name = "agent_tool_call",
     .run = fig_agent_tool_call,
     .ops = 50,
     .what = "model+services: capos-shell's agent loop with model-test: "
             "model event -> gate (auto) -> Timer.now -> result back in the "
             "next turn, ns per tool call",
     .vs = {[VS_JSONRPC] = "jsonrpc_pipe_rtt"}},
    {.name = "idle_process_bytes",
     .run = fig_idle_process_bytes,
     .ops = 256,
     .what = "model: resident bytes per idle process (1 thread in "
             "cap_enter), RSS increase minus touched stack pages",
     .unit = "bytes"},
    {.name = "thread_bytes",
     .run = fig_thread_bytes,
     .ops = 1792,
     .what = "model: resident bytes per added blocked thread, RSS increase "
             "minus touched stack pages",
     .unit = "bytes"},
    {.name = "tcp_echo_rtt",
     .run = fig_tcp_echo_rtt,
     .ops = 20000,
     .what = "model: loopback client -> TcpSocket recv+send echo in a "
             "model process -> client, 64-byte messages, ns per round trip",
     .vs = {[VS_UV] = "uv_echo_rtt"}},
    {.name = "tcp_echo_64k",
     .run = fig_tcp_echo_64k,
     .ops = 2000,
     .what = "model: the same echo with 64 KiB messages (write all, read "
             "all back), ns per 64 KiB exchanged",
     .vs = {[VS_UV] = "uv_echo_64k"}},
    {.name = "io_uring_nop_batch1",
     .run = bench_io_uring_nop_batch1,
     .ops = 100000,
     .what = "host: io_uring NOP, 1 per io_uring_submit_and_wait"},
    {.name = "io_uring_nop_batch16",
     .run = bench_io_uring_nop_batch16,
     .ops = 800000,
     .what = "host: io_uring NOPs, 16 per io_uring_submit_and_wait, ns per "
             "NOP"},
    {.name = "futex_pingpong",
     .run = bench_futex_pingpong,
     .ops = 5000,
     .what = "host: futex round trip between two threads"},
    {.name = "futex_pingpong_1cpu",
     .run = bench_futex_pingpong_1cpu,
     .ops = 20000,
     .what = "host: futex round trip, both threads pinned to one CPU"},
    {.name = "sshd_login",
     .run = fig_sshd_login,
     .ops = 3,
     .what = "host anchor: the same login against OpenSSH's sshd on "
             "loopback (same algorithms), ns per login"},
    {.name = "argon2id_verify",
     .run = fig_argon2id_verify,
     .ops = 5,
     .what = "host: libargon2 argon2id_verify of the development record "
             "(m=19456 KiB, t=2, p=1)"},
    {.name = "jsonrpc_pipe_rtt",
     .run = fig_jsonrpc_pipe_rtt,
     .ops = 20000,
     .what = "host: a JSON-RPC tools/call request and its response, one "
             "line each over pipes between two processes (MCP's stdio "
             "transport, no parsing), ns per round trip"},
    {.name = "swapcontext",
     .run = bench_swapcontext,
     .ops = 400000,
     .what = "host: one-way glibc swapcontext"},
    {.name = "uv_echo_rtt",
     .run = fig_uv_echo_rtt,
     .ops = 20000,
     .what = "host: the same client against a plain libuv echo server, "
             "64-byte messages, ns per round trip (measured interleaved "
             "with tcp_echo_rtt when both run)"},
    {.name = "uv_echo_64k",
     .run = fig_uv_echo_64k,
     .ops = 2000,
     .what = "host: the same client against a plain libuv echo server, "
             "64 KiB messages, ns per 64 KiB exchanged (measured interleaved "
             "with tcp_echo_64k when both run)"},
};

#define NFIGURES (sizeof figures / sizeof figures[0])

struct result {
    bool selected;
    int status; /* BENCH_* once run */
    double min, median, max;
};

static struct result results[NFIGURES];

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* min/median/max of n > 0 samples (sorted in place). */
static void summarize(double *s, unsigned n, struct result *r)
{
    qsort(s, n, sizeof s[0], cmp_double);
    r->min = s[0];
    r->max = s[n - 1];
    r->median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
}

static const struct result *find_result(const char *name)
{
    for (size_t i = 0; name != NULL && i < NFIGURES; i++)
        if (strcmp(figures[i].name, name) == 0)
            return results[i].selected && results[i].status == BENCH_OK
                       ? &results[i]
                       : NULL;
    return NULL;
}

/* "anchor / figure" ratio cell, or "-". */
static void ratio_cell(char *buf, size_t cap, const char *anchor,
                       const struct result *r)
{
    const struct result *a = find_result(anchor);

    if (a == NULL || r->median <= 0.0)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.2f", a->median / r->median);
}

/*
 * Read a positive number from the environment. Returns def when unset;
 * exits with a message naming the variable when it is malformed.
 */
static double env_number(const char *var, double def, double max, bool integer)
{
    const char *v = getenv(var);
    char *end;
    double x;

    if (v == NULL || *v == '\0')
        return def;
    errno = 0;
    x = strtod(v, &end);
    if (errno != 0 || *end != '\0' || !(x > 0.0) || x > max ||
        (integer && x != (double)(uint64_t)x)) {
        fprintf(stderr,
                "capos-bench: %s=%s is not a %s in (0, %g]; unset it for "
                "the default (%g)\n",
                var, v, integer ? "whole number" : "number", max, def);
        exit(2);
    }
    return x;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: capos-bench [--list] [FIGURE...]\n"
               "  env CAPOS_BENCH_RUNS (default 7), CAPOS_BENCH_SCALE "
               "(default 1)\n");
}

/* Select figures by exact name; exits 2 naming an unknown one. */
static void select_figures(int argc, char **argv)
{
    for (size_t i = 0; i < NFIGURES; i++)
        results[i].selected = argc <= 1;
    for (int a = 1; a < argc; a++) {
        size_t i;

        for (i = 0; i < NFIGURES; i++)
            if (strcmp(argv[a], figures[i].name) == 0)
                break;
        if (i == NFIGURES) {
            fprintf(stderr,
                    "capos-bench: no figure named '%s'; capos-bench --list "
                    "shows them\n",
                    argv[a]);
            exit(2);
        }
        results[i].selected = true;
    }
}

/* The echo figures as rates: round trips/s and MB/s (10^6 bytes of
 * payload echoed per second), from the medians. */
static void print_echo_rates(void)
{
    static const char *const rtt[] = {"tcp_echo_rtt", "uv_echo_rtt"};
    static const char *const bulk[] = {"tcp_echo_64k", "uv_echo_64k"};
    for (unsigned i = 0; i < 2; i++) {
        const struct result *r = find_result(rtt[i]);
        if (r && r->status == BENCH_OK && r->median > 0)
            printf("bench: %s round_trips_per_s=%.0f\n", rtt[i],
                   1e9 / r->median);
    }
    for (unsigned i = 0; i < 2; i++) {
        const struct result *r = find_result(bulk[i]);
        if (r && r->status == BENCH_OK && r->median > 0)
            printf("bench: %s MB_per_s=%.1f\n", bulk[i],
                   (double)ECHO_MAX * 1e3 / r->median);
    }
}

static void print_table(unsigned runs)
{
    printf("\ncapos-bench: ns per operation (bytes for *_bytes figures) "
           "over %u runs; ratio columns = anchor median / figure median "
           "(> 1: the figure is faster)\n\n",
           runs);
    printf("%-22s %11s %11s %11s", "figure", "min", "median", "max");
    for (int c = 0; c < VS_COLUMNS; c++)
        printf(" %11s", vs_heading[c]);
    printf("\n");
    for (size_t i = 0; i < NFIGURES; i++) {
        const struct figure *f = &figures[i];
        const struct result *r = &results[i];

        if (!r->selected)
            continue;
        if (r->status != BENCH_OK) {
            printf("%-22s %11s\n", f->name,
                   r->status == BENCH_SKIP ? "unavailable" : "FAILED");
            continue;
        }
        printf("%-22s %11.1f %11.1f %11.1f", f->name, r->min, r->median,
               r->max);
        for (int c = 0; c < VS_COLUMNS; c++) {
            char cell[32];

            ratio_cell(cell, sizeof cell, f->vs[c], r);
            printf(" %11s", cell);
        }
        printf("\n");
    }
    printf("\n");
}

/* Run the selected figures, runs timed repetitions of each after a
 * warm-up, into results[]; the number that failed. */
static int run_figures(unsigned runs, double scale, double *samples)
{
    int failed = 0;

    for (size_t i = 0; i < NFIGURES; i++) {
        const struct figure *f = &figures[i];
        struct result *r = &results[i];
        uint64_t ops = (uint64_t)((double)f->ops * scale + 0.5);

        if (!r->selected)
            continue;
        if (ops == 0)
            ops = 1;
        fprintf(stderr, "capos-bench: %s (%u x %llu ops)\n", f->name, runs,
                (unsigned long long)ops);
        r->status = f->run(ops, runs + 1, samples);
        if (r->status == BENCH_OK)
            summarize(samples + 1, runs, r);
        else if (r->status == BENCH_FAIL)
            failed++;
    }
    return failed;
}

/* The `bench: NAME median_ns=...` lines, one per figure that ran. */
static void print_lines(void)
{
    for (size_t i = 0; i < NFIGURES; i++) {
        const char *u = figures[i].unit != NULL ? figures[i].unit : "ns";

        if (results[i].selected && results[i].status == BENCH_OK)
            printf("bench: %s median_%s=%.1f min_%s=%.1f max_%s=%.1f\n",
                   figures[i].name, u, results[i].median, u, results[i].min, u,
                   results[i].max);
    }
}

int main(int argc, char **argv)
{
    unsigned runs;
    double scale;
    double *samples;
    int failed;

    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < NFIGURES; i++)
            printf("%-22s %s\n", figures[i].name, figures[i].what);
        return 0;
    }
    if (argc > 1 && argv[1][0] == '-') {
        usage(strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    runs = (unsigned)env_number("CAPOS_BENCH_RUNS", BENCH_DEFAULT_RUNS,
                                BENCH_MAX_RUNS, true);
    scale = env_number("CAPOS_BENCH_SCALE", 1.0, 1000.0, false);
    select_figures(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* One extra leading repetition is the warm-up and is dropped. */
    samples = calloc(runs + 1, sizeof *samples);
    if (samples == NULL || sim_port_init() != 0) {
        fprintf(stderr, "capos-bench: out of memory at start-up\n");
        return 1;
    }
    failed = run_figures(runs, scale, samples);
    print_table(runs);
    print_echo_rates();
    print_lines();
    sim_port_fini();
    free(samples);
    if (failed)
        fprintf(stderr, "capos-bench: %d figure(s) failed; see above\n",
                failed);
    return failed ? 1 : 0;
}
