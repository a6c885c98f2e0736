/*
 * tools/bench/boot.c - capos-bench figures: boot_to_prompt: the default system
 * from k_init to its prompt.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <fcntl.h>
#include <unistd.h>

#include "binaries.h"
#include "console_uv.h"
#include "model.h"
#include "port_uv.h"
#include "selftest.h"

/*
 * The hook: a libuv prepare handle on the port's loop. Its callback runs
 * whenever k_run, with no thread runnable, calls port_idle (prepare
 * callbacks run in every uv_run, just before the loop polls). The first
 * time it sees the console watched (sim_console_is_watched: a readLine
 * waits, i.e. the shell wrote `username> ` and blocked), it takes the
 * time and closes the console: the waiting readLine reads the end of
 * input, capos-shell leaves, and k_run returns once the system wound down
 * (not timed). No model change; the handle is unreferenced so it never
 * keeps the loop alive by itself.
 */
static struct {
    uv_prepare_t prep;
    uint64_t at; /* bench_now_ns() when the prompt was seen waiting */
    bool seen;
} btp;

static void btp_on_prepare(uv_prepare_t *h)
{
    (void)h;
    if (!btp.seen && sim_console_is_watched()) {
        btp.at = bench_now_ns();
        btp.seen = true;
        sim_console_close();
    }
}

static void btp_closed(uv_handle_t *h)
{
    (void)h;
}

/*
 * One boot of the embedded default manifest (the bytes capos-sim boots,
 * sim/default-manifest.c, with sim/builtins.c's builtins), console input
 * on a pipe that never gets a byte, console output to /dev/null. Returns
 * ns from k_init to the shell waiting on its first readLine, or 0 after
 * printing why it failed.
 */
static uint64_t boot_once(const char *figure, int devnull)
{
    const struct k_config cfg = {.seed = 1, .virtual_clock = false};
    struct k_process *init = NULL;
    char err[256];
    int fds[2], rc;
    uint64_t t0, ns = 0;

    if (pipe(fds) != 0) {
        printf("%s failed: pipe: %s\n", figure, strerror(errno));
        return 0;
    }
    rc = sim_console_open(fds[0], SIM_CONSOLE_PIPE);
    if (rc < 0) {
        printf("%s failed: sim_console_open: %s\n", figure, uv_strerror(rc));
        goto out_pipe;
    }
    sim_console_set_fd(devnull);
    btp.seen = false;
    uv_prepare_init(sim_loop(), &btp.prep);
    uv_prepare_start(&btp.prep, btp_on_prepare);
    uv_unref((uv_handle_t *)&btp.prep);

    t0 = bench_now_ns();
    if (!model_ok(figure, "k_init", k_init(&cfg)))
        goto out_prep;
    if (k_boot(sim_default_manifest, sim_default_manifest_len, &init, err,
               sizeof err) != 0) {
        printf("%s failed: k_boot(default manifest): %s\n", figure, err);
        k_shutdown();
        goto out_prep;
    }
    (void)k_run();
    k_shutdown();
    if (btp.seen)
        ns = btp.at - t0 > 0 ? btp.at - t0 : 1;
    else
        printf("%s failed: the system never waited on a console readLine\n",
               figure);
out_prep:
    uv_close((uv_handle_t *)&btp.prep, btp_closed);
    sim_console_close();
    uv_run(sim_loop(), UV_RUN_NOWAIT); /* close callbacks */
    sim_console_set_fd(STDOUT_FILENO);
out_pipe:
    close(fds[0]);
    close(fds[1]);
    return ns;
}

/* ns from k_init + k_boot(default manifest) to the `username>` prompt
 * waiting; ops boots per repetition, averaged. */
int fig_boot_to_prompt(uint64_t ops, unsigned reps, double *samples)
{
    const char *figure = "boot_to_prompt";
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

    if (devnull < 0) {
        printf("%s failed: /dev/null: %s\n", figure, strerror(errno));
        return BENCH_FAIL;
    }
    sim_register_builtins();
    for (unsigned r = 0; r < reps; r++) {
        uint64_t sum = 0;

        for (uint64_t i = 0; i < ops; i++) {
            uint64_t ns = boot_once(figure, devnull);

            if (ns == 0) {
                close(devnull);
                return BENCH_FAIL;
            }
            sum += ns;
        }
        samples[r] = (double)sum / (double)ops;
    }
    close(devnull);
    return BENCH_OK;
}
