/*
 * tools/bench/agent.c - capos-bench figures: agent_tool_call, one tool
 * call round trip through capos-shell's agent loop with model-test, and
 * its anchor jsonrpc_pipe_rtt, a JSON-RPC request/response over pipes
 * between two host processes (the transport MCP tool servers use).
 */
#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sys/wait.h>
#include <unistd.h>

#include "capos_rt.h"
#include "model.h"
#include "shell.h"

int capos_service_model_test_main(capos_capset_t *caps);

/* model-test's rule "loop forever" calls timer.now in every turn; the
 * shell's turn quota ends the prompt after this many calls. */
#define AGB_CALLS_PER_PROMPT 6u

static struct {
    struct model_job *job;
    struct shell *sh;
} agb;

/* One `agent loop forever` prompt: AGB_CALLS_PER_PROMPT times model
 * event (startTurn, next: the call, next: done) -> gate (auto) -> cap
 * call (Timer.now) -> result back in the next turn's messages. */
static int agb_step(void *ctx, uint64_t i, const char **where)
{
    (void)ctx;
    (void)i;
    (void)where;
    shell_agent(agb.sh, "loop forever");
    return 0;
}

static int agb_main(capos_capset_t *caps)
{
    struct model_job *j = agb.job;
    struct shell *sh = capos_zalloc(sizeof *sh);
    capos_cap_t model, timer;
    if (!sh || !capos_alloc_call_bufs(&sh->pbuf, &sh->rbuf, SHELL_CALL_BUF) ||
        capos_capset_find(caps, "model", CAPOS_LANGUAGE_MODEL_INTERFACE_ID,
                          &model) != 0 ||
        capos_capset_find(caps, "timer", CAPOS_TIMER_INTERFACE_ID, &timer) !=
            0) {
        job_fail(j, "runner set-up", -1);
        return 1;
    }
    /* A bundle of the timer and the model, timer.now auto; no terminal
     * (its lines fail at once) and no audit. */
    sh->bundle[0] = (struct shell_bcap){"timer", CAPOS_TIMER_INTERFACE_ID,
                                        timer};
    sh->bundle[1] = (struct shell_bcap){
        "languageModel", CAPOS_LANGUAGE_MODEL_INTERFACE_ID, model};
    sh->nbundle = 2;
    sh->model_idx = 1;
    sh->session_idx = sh->launcher_idx = -1;
    strcpy(sh->perms[0].tool, "timer.now");
    sh->perms[0].mode = CAPOS_PERMISSION_MODE_AUTO;
    sh->nperms = 1;
    agb.sh = sh;
    int rc = job_time(j, j->ops, AGB_CALLS_PER_PROMPT, agb_step, NULL,
                      &j->where);
    if (rc != 0)
        job_fail(j, "agent loop", rc);
    j->done = rc == 0;
    return 0;
}

static void agb_runner(void *arg)
{
    (void)arg;
    capos_rt_start(agb_main);
}

static void agb_model(void *arg)
{
    (void)arg;
    capos_rt_start(capos_service_model_test_main);
}

int fig_agent_tool_call(uint64_t ops, unsigned reps, double *samples)
{
    const char *figure = "agent_tool_call";
    struct model_job j = {.ops = ops, .reps = reps, .samples = samples};
    uint32_t ep, facet, timer;
    memset(&agb, 0, sizeof agb);
    agb.job = &j;
    if (!model_up(figure))
        return BENCH_FAIL;
    struct k_process *srv = model_process(figure, "model-test");
    j.proc = model_process(figure, "runner");
    if (!srv || !j.proc)
        goto fail;
    int rc = ep_create(srv, &ep);
    if (rc == 0)
        rc = k_capset_add(srv, "serve", ep);
    if (rc == 0)
        rc = ep_mint_client(srv, ep, j.proc, 1, &facet);
    if (rc == 0)
        rc = k_capset_add_as(j.proc, "model", facet,
                             CAPOS_LANGUAGE_MODEL_INTERFACE_ID);
    if (rc == 0)
        rc = timercap_grant(j.proc, &timer);
    if (rc == 0)
        rc = k_capset_add(j.proc, "timer", timer);
    if (!model_ok(figure, "granting the model and the timer", rc) ||
        !model_thread(figure, srv, agb_model, NULL) ||
        !model_thread(figure, j.proc, agb_runner, NULL))
        goto fail;
    return model_run(figure, &j, 1);
fail:
    k_shutdown();
    return BENCH_FAIL;
}

/* ---- the anchor: JSON-RPC over pipes between two host processes ------ */

static const char jr_request[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
    "{\"name\":\"timer.now\",\"arguments\":{}}}\n";
static const char jr_response[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":"
    "\"text\",\"text\":\"ns=1234567890\"}],\"isError\":false}}\n";

/* Read from fd until a '\n' (one JSON-RPC message per line, as MCP's
 * stdio transport frames them). 0, or -1 at end of input or an error. */
static int jr_read_line(int fd, char *buf, size_t cap)
{
    size_t at = 0;
    for (;;) {
        ssize_t n = read(fd, buf + at, cap - at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        at += (size_t)n;
        if (buf[at - 1] == '\n')
            return 0;
        if (at == cap)
            return -1;
    }
}

static int jr_write(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The tool server: answer every request line with the response. */
static void jr_server(int in, int out)
{
    char buf[512];
    while (jr_read_line(in, buf, sizeof buf) == 0)
        if (jr_write(out, jr_response, sizeof jr_response - 1) != 0)
            break;
    _exit(0);
}

int fig_jsonrpc_pipe_rtt(uint64_t ops, unsigned reps, double *samples)
{
    int req[2], res[2];
    char buf[512];
    if (pipe(req) != 0 || pipe(res) != 0) {
        printf("jsonrpc_pipe_rtt failed: pipe: %s\n", strerror(errno));
        return BENCH_FAIL;
    }
    pid_t pid = fork();
    if (pid < 0) {
        printf("jsonrpc_pipe_rtt failed: fork: %s\n", strerror(errno));
        return BENCH_FAIL;
    }
    if (pid == 0) {
        close(req[1]);
        close(res[0]);
        jr_server(req[0], res[1]);
    }
    close(req[0]);
    close(res[1]);
    int status = BENCH_OK;
    for (unsigned r = 0; r < reps && status == BENCH_OK; r++) {
        uint64_t t0 = bench_now_ns();
        for (uint64_t i = 0; i < ops; i++)
            if (jr_write(req[1], jr_request, sizeof jr_request - 1) != 0 ||
                jr_read_line(res[0], buf, sizeof buf) != 0) {
                printf("jsonrpc_pipe_rtt failed: the server went away\n");
                status = BENCH_FAIL;
                break;
            }
        samples[r] = bench_ns_per_op(t0, bench_now_ns(), ops);
    }
    close(req[1]);
    close(res[0]);
    waitpid(pid, NULL, 0);
    return status;
}
