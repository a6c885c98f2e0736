/*
 * tools/bench/ssh.c - capos-bench figures: ssh_login (the ssh-gateway of
 * fixtures/system-ssh-shell) and its host anchor sshd_login (OpenSSH's
 * sshd on a loopback port, started here from a throw-away config), timed
 * by the same libssh client in the same run.
 *
 * One login: connect -> key exchange (the gateway's pinned set, which
 * sshd is configured to use too) -> public-key userauth with
 * fixtures/ssh-operator-key -> session channel, pty-req, shell -> the
 * first bytes of output (the gateway's one line; sshd's shell prompt).
 * The bulk-output figures (ssh_bulk, sshd_bulk) need the SSH terminal,
 * which is not built yet: they are not measured.
 */
#define _GNU_SOURCE

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "bench.h"
#include "binaries.h"
#include "kmodel.h"
#include "net_uv.h"
#include "port_uv.h"

#define SSH_KEY_PATH "fixtures/ssh-operator-key"
#define SSHD_PATH "/usr/sbin/sshd"

/* One timed login to 127.0.0.1:port as user; ns, 0 on failure. */
static uint64_t sb_login(uint16_t port, const char *user, ssh_key key)
{
    ssh_session s = ssh_new();
    ssh_channel ch = NULL;
    bool no = false;
    int p = port;
    char buf[256];
    uint64_t t0 = bench_now_ns(), t1 = 0;
    if (!s)
        return 0;
    ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no);
    ssh_options_set(s, SSH_OPTIONS_HOST, "127.0.0.1");
    ssh_options_set(s, SSH_OPTIONS_PORT, &p);
    ssh_options_set(s, SSH_OPTIONS_USER, user);
    ssh_options_set(s, SSH_OPTIONS_KEY_EXCHANGE, "curve25519-sha256");
    ssh_options_set(s, SSH_OPTIONS_CIPHERS_C_S,
                    "chacha20-poly1305@openssh.com");
    ssh_options_set(s, SSH_OPTIONS_CIPHERS_S_C,
                    "chacha20-poly1305@openssh.com");
    if (ssh_connect(s) == SSH_OK &&
        ssh_userauth_publickey(s, NULL, key) == SSH_AUTH_SUCCESS &&
        (ch = ssh_channel_new(s)) && ssh_channel_open_session(ch) == SSH_OK &&
        ssh_channel_request_pty(ch) == SSH_OK &&
        ssh_channel_request_shell(ch) == SSH_OK &&
        ssh_channel_read_timeout(ch, buf, sizeof buf, 0, 10000) > 0)
        t1 = bench_now_ns();
    if (ch) {
        ssh_channel_close(ch);
        ssh_channel_free(ch);
    }
    ssh_disconnect(s);
    ssh_free(s);
    return t1 ? (t1 > t0 ? t1 - t0 : 1) : 0;
}

struct sb_client {
    uint16_t port;
    const char *user;
    ssh_key key;
    uint64_t ops;
    unsigned reps;
    double *samples;
    const char *fail;
    uv_async_t *stop; /* NULL: no kernel to stop (the sshd anchor) */
};

/* An untimed login, retried until the server listens (at most ~10 s).
 * True once one succeeded. */
static bool sb_ready(const struct sb_client *c)
{
    for (int i = 0; i < 1000; i++) {
        if (sb_login(c->port, c->user, c->key) != 0)
            return true;
        usleep(10000);
    }
    return false;
}

static void *sb_client_main(void *arg)
{
    struct sb_client *c = arg;
    if (!sb_ready(c))
        c->fail = "the server never accepted a key login";
    for (unsigned r = 0; r < c->reps && !c->fail; r++) {
        uint64_t sum = 0;
        for (uint64_t i = 0; i < c->ops && !c->fail; i++) {
            uint64_t ns = sb_login(c->port, c->user, c->key);
            if (ns == 0)
                c->fail = "a login did not reach the first output";
            sum += ns;
        }
        c->samples[r] = (double)sum / (double)c->ops;
    }
    if (c->stop)
        uv_async_send(c->stop);
    return NULL;
}

/* In the loop (host context): end every process, so k_run returns. */
static void sb_stop(uv_async_t *h)
{
    (void)h;
    for (struct k_process *p = k.procs; p; p = k.procs) {
        while (p && p->state != KP_ALIVE)
            p = p->next;
        if (!p)
            break;
        k_process_exit(p, 0);
    }
}

static void sb_closed(uv_handle_t *h)
{
    (void)h;
}

static ssh_key sb_key(const char *figure)
{
    ssh_key key = NULL;
    if (ssh_pki_import_privkey_file(SSH_KEY_PATH, NULL, NULL, NULL, &key) !=
        SSH_OK) {
        printf("%s failed: cannot read %s (run from the build tree)\n", figure,
               SSH_KEY_PATH);
        return NULL;
    }
    return key;
}

/* Boot manifest mbuf[0..mlen) with guest :22 on port, run c's logins on a
 * thread while this thread runs the kernel. BENCH_OK or BENCH_FAIL. */
static int sb_run_system(const char *figure, const uint64_t *mbuf, size_t mlen,
                         struct sb_client *c)
{
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    uv_async_t stop;
    struct k_process *init = NULL;
    char err[256];
    pthread_t th;
    int rc = BENCH_FAIL;
    const struct k_config cfg = {.seed = 1, .virtual_clock = false};
    sim_register_builtins();
    if (devnull >= 0)
        sim_console_set_fd(devnull);
    sim_net_set_quiet(true);
    uv_async_init(sim_loop(), &stop, sb_stop);
    uv_unref((uv_handle_t *)&stop);
    c->stop = &stop;
    if (k_init(&cfg) != 0) {
        printf("%s failed: k_init\n", figure);
    } else if ((void)net_hostfwd(22, c->port),
               k_boot((const uint8_t *)mbuf, mlen, &init, err, sizeof err) !=
                   0) {
        printf("%s failed: k_boot: %s\n", figure, err);
        k_shutdown();
    } else if (pthread_create(&th, NULL, sb_client_main, c) != 0) {
        printf("%s failed: pthread_create\n", figure);
        sb_stop(&stop);
        (void)k_run();
        k_shutdown();
    } else {
        (void)k_run();
        pthread_join(th, NULL);
        k_shutdown();
        rc = c->fail ? BENCH_FAIL : BENCH_OK;
        if (c->fail)
            printf("%s failed: %s\n", figure, c->fail);
    }
    uv_close((uv_handle_t *)&stop, sb_closed);
    uv_run(sim_loop(), UV_RUN_NOWAIT);
    sim_console_set_fd(STDOUT_FILENO);
    if (devnull >= 0)
        close(devnull);
    return rc;
}

int fig_ssh_login(uint64_t ops, unsigned reps, double *samples)
{
    static uint64_t mbuf[8192];
    const char *path = getenv("CAPOS_BENCH_SSH_MANIFEST");
    if (!path)
        path = "fixtures/system-ssh-shell.bin";
    size_t mlen = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        mlen = fread(mbuf, 1, sizeof mbuf, f);
        fclose(f);
    }
    ssh_key key = sb_key("ssh_login");
    uint16_t port = echo_free_port();
    if (mlen == 0 || mlen == sizeof mbuf || !key || port == 0) {
        if (mlen == 0 || mlen == sizeof mbuf)
            printf("ssh_login failed: cannot read %s (run from the build "
                   "tree, or set CAPOS_BENCH_SSH_MANIFEST)\n",
                   path);
        ssh_key_free(key);
        return BENCH_FAIL;
    }
    struct sb_client c = {port, "operator", key,  ops,
                          reps, samples,    NULL, NULL};
    int rc = sb_run_system("ssh_login", mbuf, mlen, &c);
    ssh_key_free(key);
    return rc;
}

/* Write sshd's throw-away config (pinned as the gateway is) into dir.
 * False when a file cannot be made. */
static bool sb_sshd_files(const char *dir, uint16_t port)
{
    char cmd[512], path[256];
    snprintf(cmd, sizeof cmd,
             "ssh-keygen -q -t ed25519 -N '' -f %s/host >/dev/null 2>&1 && "
             "ssh-keygen -y -f " SSH_KEY_PATH " >%s/authorized_keys "
             "2>/dev/null",
             dir, dir);
    if (system(cmd) != 0)
        return false;
    snprintf(path, sizeof path, "%s/sshd_config", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    fprintf(f,
            "Port %u\nListenAddress 127.0.0.1\nHostKey %s/host\n"
            "AuthorizedKeysFile %s/authorized_keys\nStrictModes no\n"
            "UsePAM no\nPasswordAuthentication no\nPermitRootLogin yes\n"
            "PidFile %s/pid\nKexAlgorithms curve25519-sha256\n"
            "HostKeyAlgorithms ssh-ed25519\n"
            "Ciphers chacha20-poly1305@openssh.com\nCompression no\n"
            "PrintMotd no\nPrintLastLog no\nUseDNS no\n",
            (unsigned)port, dir, dir, dir);
    return fclose(f) == 0;
}

/* Host anchor: the same logins against OpenSSH's sshd. Skips when sshd
 * is not installed (Debian openssh-server) or cannot start. */
int fig_sshd_login(uint64_t ops, unsigned reps, double *samples)
{
    char dir[] = "/tmp/capos-bench-sshd.XXXXXX", cfg[64], cmd[160];
    /* sshd wants its privilege-separation directory (the Debian service
     * makes it at start). */
    (void)mkdir("/run/sshd", 0755);
    if (access(SSHD_PATH, X_OK) != 0) {
        printf("sshd_login skipped: no %s (Debian openssh-server)\n",
               SSHD_PATH);
        return BENCH_SKIP;
    }
    uint16_t port = echo_free_port();
    ssh_key key = sb_key("sshd_login");
    if (!key || port == 0 || !mkdtemp(dir) || !sb_sshd_files(dir, port)) {
        printf("sshd_login skipped: cannot prepare sshd's files\n");
        ssh_key_free(key);
        return BENCH_SKIP;
    }
    snprintf(cfg, sizeof cfg, "%s/sshd_config", dir);
    pid_t pid = fork();
    if (pid == 0) {
        execl(SSHD_PATH, SSHD_PATH, "-D", "-e", "-f", cfg, (char *)NULL);
        _exit(127);
    }
    int rc = BENCH_SKIP;
    const char *user = getenv("USER") ? getenv("USER") : "root";
    struct sb_client c = {port, user, key, ops, reps, samples, NULL, NULL};
    if (pid < 0 || !sb_ready(&c)) {
        printf("sshd_login skipped: sshd did not accept a key login\n");
    } else {
        (void)sb_client_main(&c);
        rc = c.fail ? BENCH_FAIL : BENCH_OK;
        if (c.fail)
            printf("sshd_login failed: %s\n", c.fail);
    }
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)system(cmd);
    ssh_key_free(key);
    return rc;
}
