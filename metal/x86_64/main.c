/*
 * metal/x86_64/main.c - the bare-metal image's C entry: bring the machine
 * up (serial, descriptor tables, memory, timer), boot a system with the
 * kernel model and leave QEMU with its status.
 *
 * The Multiboot command line (QEMU: -append) picks the system:
 *   selftest        fixtures/system-selftest (capos-sim --selftest)
 *   login           fixtures/system-default, the login shell on the serial
 *                   line (the default)
 *   replay          replay the ring_dispatch seed corpus compiled into the
 *                   image and print a digest line per input (make qemu-diff)
 *   bench           the model's figures on metal (mbench.c; make qemu-bench)
 *   seed=N          the model's seed (default: random, printed)
 *   virtual-clock   time moves only when every thread is blocked
 *   fault=pf|ud|int raise a page fault, an invalid opcode or an interrupt
 *                   on a vector nothing uses, before booting (proves the
 *                   fault report and the non-zero exit: qemu-fault.test)
 * Lines about the run are the ones capos-sim prints, so transcripts of both
 * ports compare line by line. The exit status is init's, passed to
 * isa-debug-exit (QEMU exits with status * 2 + 1; docs/metal.md).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "capos/escape.h"
#include "kernel.h"
#include "metal.h"
#include "port.h"
#include "replay.h"

#define MAIN_MB_MAGIC 0x2badb002u
#define MAIN_MAX_RANGES 32u
#define MAIN_CMDLINE_MAX 256u

struct main_options {
    char mode[16];
    char fault; /* 0, or 'p', 'u', 'i' (fault=) */
    struct k_config cfg;
};

static struct pages_range main_ranges[MAIN_MAX_RANGES];
static size_t main_nranges;
static char main_cmdline[MAIN_CMDLINE_MAX];

/* Copy the memory map and the command line out of the Multiboot info
 * before any page is handed out (QEMU puts the info after the image). */
static void main_read_multiboot(uint32_t info)
{
    const uint8_t *mbi = (const uint8_t *)(uintptr_t)info;
    uint32_t flags = *(const uint32_t *)mbi;

    if (flags & (1u << 2)) {
        const char *cl = (const char *)(uintptr_t)*(const uint32_t *)(mbi + 16);
        size_t n = 0;
        while (n + 1 < sizeof main_cmdline && cl[n]) {
            main_cmdline[n] = cl[n];
            n++;
        }
    }
    if (flags & (1u << 6)) {
        uint32_t len = *(const uint32_t *)(mbi + 44);
        uint32_t addr = *(const uint32_t *)(mbi + 48);
        for (uint32_t off = 0; off + 24 <= len && main_nranges < MAIN_MAX_RANGES;) {
            const uint8_t *e = (const uint8_t *)(uintptr_t)(addr + off);
            uint32_t size = *(const uint32_t *)e;
            uint64_t base, rlen;
            memcpy(&base, e + 4, 8);
            memcpy(&rlen, e + 12, 8);
            if (*(const uint32_t *)(e + 20) == 1) /* usable RAM */
                main_ranges[main_nranges++] = (struct pages_range){base, rlen};
            off += size + 4;
        }
    } else if (flags & 1u) {
        uint32_t upper_kib = *(const uint32_t *)(mbi + 8);
        main_ranges[main_nranges++] =
            (struct pages_range){1u << 20, (uint64_t)upper_kib << 10};
    }
}

/* Decimal or 0x-prefixed u64 at s[0..n); false if it is not one. */
static bool main_parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;

    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        n -= 2;
    }
    if (n == 0 || n > 20)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 99u;
        if (d >= base || v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

/* One command-line word w[0..n). Unknown words are reported and ignored. */
static void main_option(struct main_options *o, const char *w, size_t n)
{
    if ((n == 8 && memcmp(w, "selftest", 8) == 0) ||
        (n == 5 && memcmp(w, "login", 5) == 0) ||
        (n == 6 && memcmp(w, "replay", 6) == 0) ||
        (n == 5 && memcmp(w, "bench", 5) == 0)) {
        memcpy(o->mode, w, n);
        o->mode[n] = 0;
    } else if (n == 13 && memcmp(w, "virtual-clock", 13) == 0) {
        o->cfg.virtual_clock = true;
    } else if (n > 5 && memcmp(w, "seed=", 5) == 0 &&
               main_parse_u64(w + 5, n - 5, &o->cfg.seed)) {
    } else if ((n == 8 || n == 9) && memcmp(w, "fault=", 6) == 0 &&
               (memcmp(w + 6, "pf", n - 6) == 0 ||
                memcmp(w + 6, "ud", n - 6) == 0 ||
                memcmp(w + 6, "int", n - 6) == 0)) {
        o->fault = w[6];
    } else {
        char shown[4 * 64 + 1]; /* escaped, at most 64 bytes of it */
        capos_escape_text(shown, sizeof shown, w, n > 64 ? 64 : n);
        serial_printf("capos-sim: ignoring boot option \"%s\" (known: "
                     "selftest, login, replay, bench, seed=N, "
                     "virtual-clock, "
                     "fault=pf|ud|int)\n",
                     shown);
    }
}

/* Words of the command line after the first (the image's path). */
static void main_parse_cmdline(struct main_options *o)
{
    const char *p = main_cmdline;
    bool first = true;

    while (*p) {
        size_t n = 0;
        while (*p == ' ')
            p++;
        while (p[n] && p[n] != ' ')
            n++;
        if (n > 0 && !first)
            main_option(o, p, n);
        if (n > 0)
            first = false;
        p += n;
    }
}

/* fault=: make the CPU report a fault the way a bug would. */
static void main_raise(char fault)
{
    serial_printf("capos-sim: fault=%c requested: raising it\n", fault);
    if (fault == 'p')
        (void)*(volatile uint64_t *)(uintptr_t)0x100000000000ull; /* unmapped */
    else if (fault == 'u')
        __asm__ volatile("ud2");
    else
        __asm__ volatile("int $0x80"); /* no device on vector 128 */
}

/* Boot the manifest and run it to the end; init's status, or 1 if refused
 * or threads were left blocked. */
static int main_run(const uint8_t *bytes, size_t len, const char *mode)
{
    const struct k_stats *st = k_census();
    struct k_process *init = NULL;
    char err[256];
    unsigned stuck;
    int code;

    if (k_boot(bytes, len, &init, err, sizeof err) != 0) {
        serial_printf("capos-sim: %s manifest: %s\n", mode, err);
        return 1;
    }
    stuck = k_run();
    code = (int)k_process_exit_code(init);
    /* The census before shutdown reclaims anything: all zero, or a leak. */
    serial_printf("capos-sim: init exited with status %d\n"
                 "capos-sim: after the run: %u processes, %u threads, %u "
                 "kernel objects live\n",
                 code, st->processes_live, st->threads_live,
                 st->objects_live);
    k_shutdown();
    if (stuck == 0)
        return code;
    serial_printf("capos-sim: %u threads blocked forever\n", stuck);
    return code != 0 ? code : 1;
}

/* The self-test's closing lines, as capos-sim --selftest prints them;
 * 0 if it passed. */
static int main_selftest_verdict(int code)
{
    const struct k_stats *st = k_census();

    serial_printf("capos-sim: self-test: %llu SQEs, %llu CQEs, %llu switches\n",
                 (unsigned long long)st->sqes, (unsigned long long)st->cqes,
                 (unsigned long long)st->switches);
    if (code != 0)
        serial_printf("capos-sim: self-test FAILED (status %d)\n", code);
    else
        serial_printf("capos-sim: self-test passed\n");
    return code != 0;
}

/* Boot option replay: every embedded corpus input through replay.c; 0 if
 * all replayed. */
static int main_replay(void)
{
    int status = 0;

    for (size_t i = 0; i < replay_corpus_len; i++) {
        const struct replay_file *f = &replay_corpus[i];
        struct replay_result r;
        char err[160];

        if (replay_input(f->data, f->size, &r, err, sizeof err) != 0) {
            serial_printf("ring-replay: %s: %s\n", f->name, err);
            status = 1;
            continue;
        }
        serial_printf(REPLAY_LINE, f->name, (unsigned long long)r.digest,
                     r.cqes, r.steps);
    }
    return status;
}

static void main_machine_up(uint32_t magic, uint32_t info)
{
    serial_init();
    serial_printf("capos-sim: x86_64 metal, multiboot\n");
    if (magic != MAIN_MB_MAGIC) {
        serial_printf("capos-sim: not started by a Multiboot loader (eax "
                     "0x%x); boot with qemu-system-x86_64 -kernel\n",
                     magic);
        trap_exit(TRAP_EXIT_FAULT);
    }
    cpu_init();
    cpu_set_canary(rand_u64());
    main_read_multiboot(info);
    pages_init(main_ranges, main_nranges);
    timer_init();
    cpu_sti();
    serial_printf("capos-sim: %llu MiB free, TSC %llu MHz, randomness %s\n",
                 (unsigned long long)(pages_free_count() >> 8),
                 (unsigned long long)(timer_tsc_hz() / 1000000u),
                 rand_source());
}

/* Pages free when the machine was up, before the model took any. */
static uint64_t main_pages_at_boot;

/* The port's own census after shutdown: every heap block freed and every
 * page back (except the heap's small-block pages, which it keeps). A
 * leak makes the status 1. */
static int main_port_census(int status)
{
    uint64_t held = main_pages_at_boot - pages_free_count();

    serial_printf("capos-sim: port: %llu heap blocks live, %llu pages held "
                 "(%llu by the heap's small blocks), %llu console bytes "
                 "dropped\n",
                 (unsigned long long)heap_live_count(),
                 (unsigned long long)held,
                 (unsigned long long)heap_slab_pages(),
                 (unsigned long long)serial_dropped());
    if (heap_live_count() != 0 || held != heap_slab_pages()) {
        serial_printf("capos-sim: leak after shutdown in the port's heap or "
                     "pages\n");
        return 1;
    }
    return status;
}

_Noreturn void metal_main(uint32_t magic, uint32_t info);
_Noreturn void metal_main(uint32_t magic, uint32_t info)
{
    struct main_options o = {.mode = "login"};
    const struct k_stats *st;
    const uint8_t *bytes;
    size_t len = 0;
    int status;

    main_machine_up(magic, info);
    main_pages_at_boot = pages_free_count();
    o.cfg.seed = rand_u64() >> 1;
    o.cfg.shuffle = true;
    main_parse_cmdline(&o);
    if (o.fault)
        main_raise(o.fault);
    if (strcmp(o.mode, "replay") == 0)
        trap_exit((unsigned)main_port_census(main_replay()));
    if (strcmp(o.mode, "bench") == 0)
        trap_exit((unsigned)mbench_run());
    bytes = image_manifest(o.mode, &len);
    serial_printf("capos-sim: seed %llu%s\n", (unsigned long long)o.cfg.seed,
                 o.cfg.virtual_clock ? ", virtual clock" : "");
    if (k_init(&o.cfg) != 0) {
        serial_printf("capos-sim: cannot start the kernel model\n");
        trap_exit(1);
    }
    status = main_run(bytes, len, o.mode);
    if (strcmp(o.mode, "selftest") == 0)
        status = main_selftest_verdict(status);
    k_shutdown();
    st = k_census();
    if (st->objects_live || st->threads_live || st->processes_live ||
        st->processes_held) {
        serial_printf("capos-sim: leak after shutdown: %u objects, %u threads, "
                     "%u processes (%u not freed)\n",
                     st->objects_live, st->threads_live, st->processes_live,
                     st->processes_held);
        status = 1;
    }
    status = main_port_census(status);
    serial_printf("capos-sim: exit status %d\n", status);
    trap_exit(status >= 0 && status < (int)TRAP_EXIT_FAULT ? (unsigned)status
                                                           : TRAP_EXIT_FAULT - 1);
}
