/*
 * main.c - the capos-sim program: brings the kernel model up on the hosted
 * port and boots a system. For now the system is the ring self-test.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kmodel.h"
#include "port_uv.h"
#include "selftest.h"

static void usage(FILE *f)
{
    fputs("usage: capos-sim [--selftest] [--seed N] [--virtual-clock]\n"
          "\n"
          "Run a capOS system in this process.\n"
          "\n"
          "  --selftest       boot the ring self-test (the default for now):\n"
          "                   two processes exercise NOP, CALL, endpoints,\n"
          "                   capability transfer and cap_enter timeouts\n"
          "  --seed N         seed for every nondeterministic choice (run\n"
          "                   order among runnable threads); printed at start\n"
          "                   so a failing run can be replayed\n"
          "  --virtual-clock  time moves only when every thread is blocked\n"
          "  -h, --help       this text\n",
          f);
}

/* Parse a decimal or 0x-prefixed u64; false if it is not one. */
static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-')
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"selftest", no_argument, NULL, 's'},
        {"seed", required_argument, NULL, 'S'},
        {"virtual-clock", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct k_config cfg = {.seed = (uint64_t)time(NULL), .shuffle = true};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            break;
        case 'S':
            if (!parse_u64(optarg, &cfg.seed)) {
                fprintf(stderr,
                        "capos-sim: --seed needs a number, got \"%s\"\n",
                        optarg);
                return 2;
            }
            break;
        case 'v':
            cfg.virtual_clock = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "capos-sim: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    int r = sim_port_init();
    if (r < 0) {
        fprintf(stderr, "capos-sim: cannot start the event loop: %s\n",
                uv_strerror(r));
        return 1;
    }
    printf("capos-sim: seed %" PRIu64 "%s\n", cfg.seed,
           cfg.virtual_clock ? ", virtual clock" : "");
    if (k_init(&cfg) != 0) {
        fprintf(stderr, "capos-sim: cannot start the kernel model\n");
        return 1;
    }
    int status = selftest_run();
    k_shutdown();
    if (k.stats.objects_live || k.stats.threads_live ||
        k.stats.processes_live) {
        fprintf(stderr,
                "capos-sim: leak after shutdown: %u objects, %u threads, "
                "%u processes\n",
                k.stats.objects_live, k.stats.threads_live,
                k.stats.processes_live);
        status = 1;
    }
    sim_port_fini();
    if (status)
        fprintf(stderr, "capos-sim: failed with seed %" PRIu64
                        " (replay with --seed %" PRIu64 ")\n",
                cfg.seed, cfg.seed);
    return status;
}
