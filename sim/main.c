/*
 * main.c - the capos-sim program: brings the kernel model up on the hosted
 * port and boots a system from a SystemManifest: a file (--manifest), the
 * embedded self-test manifest (--selftest), or by default the embedded
 * default system (fixtures/system-default.capnp: init, the identity
 * services and capos-shell with a login on the console terminal).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "binaries.h"
#include "capos.capnp.h"
#include "capos/errname.h"
#include "console_uv.h"
#include "kernel.h"
#include "net_uv.h"
#include "port_uv.h"
#include "schemas.h"
#include "selftest.h"

static const char *const op_names[] = {"NOP",     "CALL",   "RECV", "RETURN",
                                       "RELEASE", "FINISH", "PARK", "UNPARK"};


/* --trace: one line per ring event, names from the generated schema. */
static void trace_event(const struct k_trace *ev)
{
    if (!ev->sqe) {
        const char *st = capos_error_name(ev->result);
        if (!st)
            st = "?";
        fprintf(stderr,
                "trace: cqe pid=%u tid=%u ud=%#" PRIx64 " result=%d %s\n",
                ev->pid, ev->tid, ev->user_data, ev->result, st);
        return;
    }
    const char *op = ev->opcode < sizeof op_names / sizeof op_names[0]
                         ? op_names[ev->opcode]
                         : "?";
    const capnpc_c_interface_info *ii = capos_schema_interface_info(ev->iface);
    const char *m = ii && ev->method < ii->method_count
                        ? ii->method_names[ev->method]
                        : NULL;
    if (ev->opcode == CAP_OP_CALL)
        fprintf(stderr,
                "trace: sqe pid=%u tid=%u %s cap=%#x %s.%s ud=%#" PRIx64 "\n",
                ev->pid, ev->tid, op, ev->cap_id, ii ? ii->name : "?",
                m ? m : "?", ev->user_data);
    else
        fprintf(stderr,
                "trace: sqe pid=%u tid=%u %s cap=%#x %s ud=%#" PRIx64 "\n",
                ev->pid, ev->tid, op, ev->cap_id, ii ? ii->name : "-",
                ev->user_data);
}

static void usage(FILE *f)
{
    fputs(
        "usage: capos-sim [--selftest | --manifest FILE] [--seed N] "
        "[--virtual-clock] [--console stdio|pipe] [--trace]\n"
        "                 [--hostfwd GUEST=HOSTPORT]...\n"
        "\n"
        "Run a capOS system in this process. Without --selftest or\n"
        "--manifest it boots the built-in default system\n"
        "(fixtures/system-default): init, audit-log, credential-store,\n"
        "session-manager, authority-broker and capos-shell, which asks\n"
        "for a login on the console (development account operator,\n"
        "password capos). Ctrl-\\ leaves at any time.\n"
        "\n"
        "  --selftest       boot the ring self-test:\n"
        "                   the built-in fixtures/system-selftest manifest,\n"
        "                   whose init spawns two services that exercise\n"
        "                   NOP, CALL, endpoints, badges, capability\n"
        "                   transfer and cap_enter timeouts\n"
        "  --manifest FILE  boot the binary SystemManifest FILE (made by\n"
        "                   capnp eval -b, e.g. fixtures/system-hello.bin);\n"
        "                   exits with init's exit code\n"
        "  --seed N         seed for every nondeterministic choice (run\n"
        "                   order among runnable threads); printed at start\n"
        "                   so a failing run can be replayed\n"
        "  --virtual-clock  time moves only when every thread is blocked\n"
        "  --console MODE   console input: stdio (a terminal is put in raw\n"
        "                   mode, restored at exit; the default) or pipe\n"
        "                   (stdin read as bytes, for scripted runs)\n"
        "  --trace          one line on stderr per SQE taken and CQE posted:\n"
        "                   process, thread, opcode, interface.method,\n"
        "                   user_data, status\n"
        "  --hostfwd G=H    bind the manifest's forward of guest TCP port\n"
        "                   G to host port H instead (0: any free port);\n"
        "                   repeatable. Each bound forward prints\n"
        "                   \"capos-sim: tcp ADDR:PORT -> guest :G\"\n"
        "                   on stderr\n"
        "\n"
        "Signals: SIGUSR1 prints a census line (processes, threads, kernel\n"
        "objects, sockets live) on stderr; SIGTERM and SIGINT stop every\n"
        "process and shut down cleanly.\n"
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

/* --hostfwd GUEST=HOSTPORT: both decimal, GUEST 1..65535, HOSTPORT
 * 0..65535. */
static bool parse_hostfwd(const char *s, uint16_t *guest, uint16_t *host)
{
    char *end;
    errno = 0;
    unsigned long g = strtoul(s, &end, 10);
    if (errno || end == s || *end != '=' || g == 0 || g > 65535 || s[0] == '-')
        return false;
    const char *h = end + 1;
    unsigned long hp = strtoul(h, &end, 10);
    if (errno || end == h || *end || hp > 65535 || h[0] == '-')
        return false;
    *guest = (uint16_t)g;
    *host = (uint16_t)hp;
    return true;
}

/* ---- signals: census and clean stop ---------------------------------- */

static uv_signal_t sig_census, sig_term, sig_int;
static int stop_signal; /* the signal that stopped the run, or 0 */

static void on_census(uv_signal_t *h, int sig)
{
    (void)h;
    (void)sig;
    /* The reset count (docs/net.md "Closing") only once there is one:
     * scripts match the line without it. */
    uint64_t reset = sim_net_reset_undelivered();
    char extra[64] = "";
    if (reset)
        snprintf(extra, sizeof extra,
                 "; %" PRIu64 " reset with output undelivered", reset);
    fprintf(stderr,
            "capos-sim: census: %u processes, %u threads, %u kernel objects, "
            "%u sockets live%s\n",
            k_census()->processes_live, k_census()->threads_live,
            k_census()->objects_live, sim_net_live(), extra);
}

/* Runs from the loop (libuv's signal pipe): asks the model to stop;
 * the scheduler then exits every process, so k_run returns and the run
 * ends as usual. */
static void on_stop(uv_signal_t *h, int sig)
{
    (void)h;
    if (!stop_signal)
        fprintf(stderr, "capos-sim: signal %d: stopping\n", sig);
    stop_signal = sig;
    k_stop_all(128 + sig);
}

/* Handles that do not keep the loop alive: an idle system still ends. */
static void signals_start(void)
{
    uv_loop_t *loop = sim_loop();
    if (uv_signal_init(loop, &sig_census) == 0 &&
        uv_signal_start(&sig_census, on_census, SIGUSR1) == 0)
        uv_unref((uv_handle_t *)&sig_census);
    if (uv_signal_init(loop, &sig_term) == 0 &&
        uv_signal_start(&sig_term, on_stop, SIGTERM) == 0)
        uv_unref((uv_handle_t *)&sig_term);
    if (uv_signal_init(loop, &sig_int) == 0 &&
        uv_signal_start(&sig_int, on_stop, SIGINT) == 0)
        uv_unref((uv_handle_t *)&sig_int);
}

/* Whether a system ran (boot accepted its manifest): only then can the
 * seed's scheduling choices have shaped a failure. */
static bool ran;

/* Say how a failed run (status != 0) ended. The replay hint is offered
 * only when a system ran: a refused or unreadable manifest fails the same
 * under every seed, and its message was printed already. */
static void report_failure(int status, uint64_t seed)
{
    if (!status || !ran)
        return;
    fprintf(stderr,
            "capos-sim: the run failed (status %d); if thread scheduling "
            "caused it, replay with --seed %" PRIu64 "\n",
            status, seed);
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

/*
 * Boot the manifest bytes[0..len) (named label in messages) and run the
 * system to the end. Returns init's exit code, or 1 if the manifest is
 * refused or threads were left blocked forever. Shuts the model down
 * before returning: the model's BootPackage and ProcessSpawner read the
 * bytes until then.
 */
static int boot_bytes(const uint8_t *bytes, size_t len, const char *label)
{
    const struct k_stats *st = k_census();
    char err[256];
    struct k_process *init = NULL;
    if (k_boot(bytes, len, &init, err, sizeof err) != 0) {
        fprintf(stderr, "capos-sim: %s: %s\n", label, err);
        return 1; /* nothing ran: the seed played no part */
    }
    ran = true;
    fflush(stdout);
    unsigned stuck = k_run();
    int code = stop_signal ? 0 : (int)k_process_exit_code(init);
    if (stuck)
        fprintf(stderr, "capos-sim: %u threads blocked forever\n", stuck);
    printf("capos-sim: init exited with status %d\n", code);
    /* What the run left behind before shutdown reclaims it: with every
     * process gone this must be all zero (anything else is a leak). */
    printf("capos-sim: after the run: %u processes, %u threads, %u kernel "
           "objects live\n",
           st->processes_live, st->threads_live, st->objects_live);
    k_shutdown();
    return code ? code : (stuck ? 1 : 0);
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
    int code = boot_bytes(bytes, len, path);
    free(bytes);
    return code;
}

/* Boot the embedded self-test manifest; 0 and a proof line if init and
 * both services exited 0 with nothing left over. */
static int boot_selftest(void)
{
    int code = boot_bytes(sim_selftest_manifest, sim_selftest_manifest_len,
                          "self-test manifest");
    printf("capos-sim: self-test: %llu SQEs, %llu CQEs, %llu switches\n",
           (unsigned long long)k_census()->sqes,
           (unsigned long long)k_census()->cqes,
           (unsigned long long)k_census()->switches);
    if (code) {
        printf("capos-sim: self-test FAILED (status %d)\n", code);
        return 1;
    }
    printf("capos-sim: self-test passed\n");
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"selftest", no_argument, NULL, 's'},
        {"manifest", required_argument, NULL, 'm'},
        {"seed", required_argument, NULL, 'S'},
        {"virtual-clock", no_argument, NULL, 'v'},
        {"console", required_argument, NULL, 'c'},
        {"trace", no_argument, NULL, 't'},
        {"hostfwd", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct k_config cfg = {.seed = (uint64_t)time(NULL), .shuffle = true};
    const char *manifest = NULL;
    bool selftest = false;
    enum sim_console_mode console_mode = SIM_CONSOLE_STDIO;
    struct {
        uint16_t guest, host;
    } fwds[16];
    unsigned nfwds = 0;
    int c;
    sim_port_fix_stdio();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            manifest = NULL;
            selftest = true;
            break;
        case 'm':
            manifest = optarg;
            selftest = false;
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
        case 't':
            cfg.trace = trace_event;
            break;
        case 'c':
            if (sim_console_parse_mode(optarg, &console_mode) != 0) {
                fprintf(stderr,
                        "capos-sim: --console needs stdio or pipe, got "
                        "\"%s\"\n",
                        optarg);
                return 2;
            }
            break;
        case 'f':
            if (nfwds == sizeof fwds / sizeof fwds[0] ||
                !parse_hostfwd(optarg, &fwds[nfwds].guest, &fwds[nfwds].host)) {
                fprintf(stderr,
                        "capos-sim: --hostfwd needs GUEST=HOSTPORT (guest "
                        "port 1 to 65535, host port 0 to 65535, at most "
                        "16), got \"%s\"\n",
                        optarg);
                return 2;
            }
            nfwds++;
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
        fprintf(stderr, "capos-sim: unexpected argument \"%s\"\n",
                argv[optind]);
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
    r = sim_console_open(STDIN_FILENO, console_mode);
    if (r < 0)
        fprintf(stderr,
                "capos-sim: no console input (%s); the system runs "
                "without one\n",
                uv_strerror(r));
    printf("capos-sim: seed %" PRIu64 "%s\n", cfg.seed,
           cfg.virtual_clock ? ", virtual clock" : "");
    if (k_init(&cfg) != 0) {
        fprintf(stderr, "capos-sim: cannot start the kernel model\n");
        return 1;
    }
    for (unsigned i = 0; i < nfwds; i++)
        (void)net_hostfwd(fwds[i].guest, fwds[i].host); /* checked above */
    signals_start();
    int status = manifest ? boot_manifest(manifest)
                 : selftest
                     ? boot_selftest()
                     : boot_bytes(sim_default_manifest,
                                  sim_default_manifest_len, "default manifest");
    k_shutdown();
    const struct k_stats *st = k_census();
    if (st->objects_live || st->threads_live || st->processes_live ||
        st->processes_held) {
        fprintf(stderr,
                "capos-sim: leak after shutdown: %u objects, %u threads, "
                "%u processes (%u not freed)\n",
                st->objects_live, st->threads_live, st->processes_live,
                st->processes_held);
        status = 1;
        ran = true;
    }
    sim_port_fini();
    report_failure(status, cfg.seed);
    return status;
}
