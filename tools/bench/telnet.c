/*
 * tools/bench/telnet.c - capos-bench figures: telnet_login, telnet_to_username
 * and the argon2id_verify anchor.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <argon2.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "binaries.h"
#include "kmodel.h"
#include "net_uv.h"
#include "port_uv.h"

/*
 * fixtures/system-telnet.bin (path: CAPOS_BENCH_TELNET_MANIFEST, default
 * the build tree's) booted in this process with sim/builtins.c's
 * builtins, its forward of guest :23 moved to a free loopback port
 * (net_hostfwd), console output to /dev/null. A host client thread
 * (blocking socket) times each login: connect -> the gateway's three
 * offers answered (DO ECHO, DO SGA, WONT NAWS) -> "username> " ->
 * operator -> "password> " -> capos -> the "operator@capos$ " prompt.
 * Then (not timed) it sends exit and waits for the close. The password
 * check is the development record's Argon2id (m=19456 KiB, t=2), which
 * dominates. When the client is done it wakes the loop (uv_async), whose
 * callback ends every process, so k_run returns.
 */
#define TL_BUF 8192u

struct telnet_client {
    bool full; /* log in (else stop at the username prompt) */
    uint16_t port;
    uint64_t ops;
    unsigned reps;
    double *samples;
    const char *fail;
    uv_async_t *stop;
};

/* Read from fd until want (wlen bytes) has arrived; false on close,
 * error or TL_BUF bytes without it. */
static bool tl_until(int fd, const char *want, size_t wlen)
{
    char buf[TL_BUF];
    size_t n = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + n, sizeof buf - n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        n += (size_t)r;
        if (memmem(buf, n, want, wlen))
            return true;
        if (n == sizeof buf) {
            /* Keep the tail: want may straddle the refill. */
            memmove(buf, buf + n - wlen, wlen);
            n = wlen;
        }
    }
}

static bool tl_send(int fd, const char *s, size_t n)
{
    return echo_io(fd, (uint8_t *)(uintptr_t)s, n, true);
}

/* One login; ns from connect to the shell prompt, 0 on failure. */
static uint64_t tl_login(struct telnet_client *c)
{
    static const char answers[] = "\xff\xfd\x01\xff\xfd\x03\xff\xfc\x1f";
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(c->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    uint64_t t0 = bench_now_ns(), t1 = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int r = -1;
    /* The first login may come before the gateway listens. */
    for (int i = 0; i < 5000 && r != 0; i++) {
        r = connect(fd, (struct sockaddr *)&a, sizeof a);
        if (r != 0) {
            close(fd);
            usleep(1000);
            fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0)
                return 0;
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            t0 = bench_now_ns();
        }
    }
    if (r == 0 && tl_until(fd, "\xff\xfd\x1f", 3) &&
        tl_send(fd, answers, sizeof answers - 1) &&
        tl_until(fd, "username> ", 10) && !c->full) {
        /* Closing ends the shell's readLine: it exits (not timed). */
        t1 = bench_now_ns();
        char b[256];
        shutdown(fd, SHUT_WR);
        while (recv(fd, b, sizeof b, 0) > 0)
            ;
    } else if (r == 0 && c->full && tl_send(fd, "operator\r\n", 10) &&
               tl_until(fd, "password> ", 10) && tl_send(fd, "capos\r\n", 7) &&
               tl_until(fd, "operator@capos$ ", 16)) {
        t1 = bench_now_ns();
        char b[256];
        if (!tl_send(fd, "exit\r\n", 6))
            t1 = 0;
        while (t1 && recv(fd, b, sizeof b, 0) > 0)
            ; /* until the system closes the connection */
    }
    close(fd);
    return t1 ? (t1 - t0 > 0 ? t1 - t0 : 1) : 0;
}

static void *telnet_client_main(void *arg)
{
    struct telnet_client *c = arg;
    for (unsigned r = 0; r < c->reps && !c->fail; r++) {
        uint64_t sum = 0;
        for (uint64_t i = 0; i < c->ops; i++) {
            uint64_t ns = tl_login(c);
            if (ns == 0) {
                c->fail = "a login did not reach the shell prompt";
                break;
            }
            sum += ns;
        }
        c->samples[r] = (double)sum / (double)c->ops;
    }
    uv_async_send(c->stop);
    return NULL;
}

/* In the loop (host context): end every process, so k_run returns. */
static void tl_stop(uv_async_t *h)
{
    (void)h;
    for (;;) {
        struct k_process *p = k.procs;
        while (p && p->state != KP_ALIVE)
            p = p->next;
        if (!p)
            break;
        k_process_exit(p, 0);
    }
}

static void tl_closed(uv_handle_t *h)
{
    (void)h;
}

/* Read the telnet system's manifest (CAPOS_BENCH_TELNET_MANIFEST, or the
 * build tree's fixture) into buf; its length, or 0 (printed as figure's
 * failure) when it is missing, empty or does not fit. */
static size_t tl_manifest(const char *figure, uint64_t *buf, size_t cap,
                          const char **pathp)
{
    const char *path = getenv("CAPOS_BENCH_TELNET_MANIFEST");
    if (!path)
        path = "fixtures/system-telnet.bin";
    size_t mlen = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        mlen = fread(buf, 1, cap, f);
        fclose(f);
    }
    *pathp = path;
    if (mlen == 0 || mlen == cap) {
        printf("%s failed: cannot read %s (run from the build tree, or set "
               "CAPOS_BENCH_TELNET_MANIFEST)\n",
               figure, path);
        return 0;
    }
    return mlen;
}

/*
 * Boot the telnet system with port 23 forwarded to a free loopback port
 * and time logins from a host client thread (full: to the shell prompt;
 * otherwise to the username prompt) while this thread runs the kernel.
 */
static int telnet_figure(const char *figure, bool full, uint64_t ops,
                         unsigned reps, double *samples)
{
    static uint64_t mbuf[8192];
    const char *path;
    size_t mlen = tl_manifest(figure, mbuf, sizeof mbuf, &path);
    if (mlen == 0)
        return BENCH_FAIL;
    uint16_t port = echo_free_port();
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (port == 0 || devnull < 0) {
        printf("%s failed: no free loopback port or /dev/null\n", figure);
        if (devnull >= 0)
            close(devnull);
        return BENCH_FAIL;
    }
    sim_register_builtins();
    sim_console_set_fd(devnull);
    sim_net_set_quiet(true);
    uv_async_t stop;
    uv_async_init(sim_loop(), &stop, tl_stop);
    uv_unref((uv_handle_t *)&stop);
    struct telnet_client c = {full, port, ops, reps, samples, NULL, &stop};
    const struct k_config cfg = {.seed = 1, .virtual_clock = false};
    struct k_process *init = NULL;
    char err[256];
    int rc = BENCH_FAIL;
    pthread_t th;
    if (k_init(&cfg) != 0) {
        printf("%s failed: k_init\n", figure);
        goto out;
    }
    (void)net_hostfwd(23, port);
    if (k_boot((const uint8_t *)mbuf, mlen, &init, err, sizeof err) != 0) {
        printf("%s failed: k_boot(%s): %s\n", figure, path, err);
        k_shutdown();
        goto out;
    }
    if (pthread_create(&th, NULL, telnet_client_main, &c) != 0) {
        printf("%s failed: pthread_create\n", figure);
        tl_stop(&stop);
        (void)k_run();
        k_shutdown();
        goto out;
    }
    (void)k_run();
    pthread_join(th, NULL);
    k_shutdown();
    if (c.fail)
        printf("%s failed: %s\n", figure, c.fail);
    else
        rc = BENCH_OK;
out:
    uv_close((uv_handle_t *)&stop, tl_closed);
    uv_run(sim_loop(), UV_RUN_NOWAIT);
    sim_console_set_fd(STDOUT_FILENO);
    close(devnull);
    return rc;
}

int fig_telnet_login(uint64_t ops, unsigned reps, double *samples)
{
    return telnet_figure("telnet_login", true, ops, reps, samples);
}

int fig_telnet_to_username(uint64_t ops, unsigned reps, double *samples)
{
    return telnet_figure("telnet_to_username", false, ops, reps, samples);
}

/* Host anchor: libargon2's verification of the development operator's
 * record (the password check a telnet_login includes), ns per verify. */
int fig_argon2id_verify(uint64_t ops, unsigned reps, double *samples)
{
    static const char hash[] =
        "$argon2id$v=19$m=19456,t=2,p=1$Y2Fwb3Mtc2ltLWRldmVsb3BtZW50$"
        "AVh69Kc1hdzghBzLe+XY0whmf4cn//BP68NIUjgKVMc";
    for (unsigned r = 0; r < reps; r++) {
        uint64_t t0 = bench_now_ns();
        for (uint64_t i = 0; i < ops; i++)
            if (argon2id_verify(hash, "capos", 5) != ARGON2_OK) {
                printf("argon2id_verify failed: the development record does "
                       "not verify\n");
                return BENCH_FAIL;
            }
        samples[r] = bench_ns_per_op(t0, bench_now_ns(), ops);
    }
    return BENCH_OK;
}
