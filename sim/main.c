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

#include "binaries.h"
#include "kmodel.h"
#include "port_uv.h"
#include "selftest.h"

static void usage(FILE *f)
{
    fputs("usage: capos-sim [--selftest | --manifest FILE] [--seed N] "
          "[--virtual-clock]\n"
          "\n"
          "Run a capOS system in this process.\n"
          "\n"
          "  --selftest       boot the ring self-test (the default for now):\n"
          "                   two processes exercise NOP, CALL, endpoints,\n"
          "                   capability transfer and cap_enter timeouts\n"
          "  --manifest FILE  boot the binary SystemManifest FILE (made by\n"
          "                   capnp eval -b, e.g. fixtures/system-hello.bin);\n"
          "                   exits with init's exit code\n"
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

/* Read a whole file into a fresh buffer; NULL with errno on failure. */
static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap >= (64u << 20))
            break;
        uint8_t *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad || !buf || n == cap) {
        free(buf);
        errno = bad ? EIO : EFBIG;
        return NULL;
    }
    *len = n;
    return buf;
}

/* Boot a manifest file and run it to the end; init's exit code. */
static int boot_manifest(const char *path)
{
    size_t len = 0;
    uint8_t *bytes = read_file(path, &len);
    if (!bytes) {
        fprintf(stderr, "capos-sim: cannot read manifest %s: %s\n", path,
                strerror(errno));
        return 1;
    }
    char err[256];
    struct k_process *init = NULL;
    if (k_boot(bytes, len, &init, err, sizeof err) != 0) {
        fprintf(stderr, "capos-sim: %s: %s\n", path, err);
        free(bytes);
        return 1;
    }
    fflush(stdout);
    unsigned stuck = k_run();
    int code = (int)init->exit_code;
    if (stuck)
        fprintf(stderr, "capos-sim: %u threads blocked forever\n", stuck);
    printf("capos-sim: init exited with status %d\n", code);
    /* The model may still reference the bytes (BootPackage) until
     * shutdown, which the caller does next; freed at exit. */
    k_shutdown();
    free(bytes);
    return code ? code : (stuck ? 1 : 0);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"selftest", no_argument, NULL, 's'},
        {"manifest", required_argument, NULL, 'm'},
        {"seed", required_argument, NULL, 'S'},
        {"virtual-clock", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct k_config cfg = {.seed = (uint64_t)time(NULL), .shuffle = true};
    const char *manifest = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            manifest = NULL;
            break;
        case 'm':
            manifest = optarg;
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
    sim_register_builtins();
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
    int status = manifest ? boot_manifest(manifest) : selftest_run();
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
