/*
 * test_sockbridge.c - capos-rt's socket bridge (services/rt/sockbridge.c):
 * a capos-rt process bridges an accepted TcpSocket to a socketpair and
 * plays the protocol library on the near end, while host threads play
 * the remote peer over a real loopback connection.
 *
 * Proves: bytes arrive intact both ways; the library's silence stops the
 * recvs (nothing outstanding, at most one chunk buffered) and the peer's
 * silence stops the library's writes (EAGAIN); a peer half-close is an
 * EOF after the data, with writes still going out; a peer reset cuts the
 * near end; the library's close ends the TcpSocket after its last bytes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "harness_net.h"
#include "harness_rt.h"
#include "capos.capnp.h"
#include "sockbridge.h"

#define BULK (1024u * 1024u) /* echoed both ways */
#define FLOOD (4u * 1024u * 1024u)

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 7u + (i >> 13));
}

/* What the service saw, checked by the test after k_run. */
static struct {
    int open;
    uint64_t in, out;
    unsigned state;
    bool intact, eof_after_data, quiet_without_reader, eagain_seen;
    uint32_t max_buffered;
    int write_after_reset_errno;
    size_t read_total, written;
    bool peer_may_read;
} seen;

static int mode;
enum { M_ECHO, M_BACKPRESSURE, M_RESET };

static void note_stats(capos_sockbridge_t *b)
{
    struct capos_sockbridge_stats st;
    capos_sockbridge_stats(b, &st);
    if (st.buffered_in > seen.max_buffered)
        seen.max_buffered = st.buffered_in;
    if (st.buffered_out > seen.max_buffered)
        seen.max_buffered = st.buffered_out;
}

/* Echo every byte back until EOF, then write "bye" and close. */
static void lib_echo(capos_sockbridge_t *b, int fd)
{
    static uint8_t q[65536];
    size_t qoff = 0, qlen = 0, total = 0;
    bool eof = false;
    seen.intact = true;
    for (;;) {
        if (qoff == qlen && !eof) {
            ssize_t n = read(fd, q, sizeof q);
            if (n > 0) {
                for (ssize_t i = 0; i < n; i++)
                    if (q[i] != pattern(total + (size_t)i))
                        seen.intact = false;
                total += (size_t)n;
                qoff = 0;
                qlen = (size_t)n;
            } else if (n == 0) {
                eof = true;
                seen.eof_after_data = total == BULK;
            }
        }
        if (qoff < qlen) {
            ssize_t n = send(fd, q + qoff, qlen - qoff, MSG_NOSIGNAL);
            if (n > 0)
                qoff += (size_t)n;
        }
        if (eof && qoff == qlen) {
            /* Half closed by the peer: our writes still reach it. */
            (void)send(fd, "bye", 3, MSG_NOSIGNAL);
            close(fd);
            capos_sockbridge_pump(b);
            break;
        }
        capos_sockbridge_pump(b);
        note_stats(b);
        (void)capos_sockbridge_wait(b, CAP_TIMEOUT_INFINITE);
    }
    /* Let the bridge send what the library wrote last and close. */
    while (capos_sockbridge_wait(b, CAP_TIMEOUT_INFINITE) == 0)
        ;
}

/* Read nothing until the bridge goes quiet, then everything; then write
 * until EAGAIN while the peer does not read. */
static void lib_backpressure(capos_sockbridge_t *b, int fd)
{
    static uint8_t buf[65536];
    while (capos_sockbridge_wait(b, CAP_TIMEOUT_INFINITE) == 0)
        note_stats(b);
    uint64_t tags[2];
    seen.quiet_without_reader = capos_sockbridge_tags(b, tags) == 0;
    size_t total = 0;
    seen.intact = true;
    bool eof = false;
    while (!eof) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            for (ssize_t i = 0; i < n; i++)
                if (buf[i] != pattern(total + (size_t)i))
                    seen.intact = false;
            total += (size_t)n;
        } else if (n == 0) {
            eof = true;
        }
        capos_sockbridge_pump(b);
        note_stats(b);
        if (n < 0)
            (void)capos_sockbridge_wait(b, CAP_TIMEOUT_INFINITE);
    }
    seen.read_total = total;
    /* The peer reads nothing yet: our writes must stop with EAGAIN and
     * stay stopped while the bridge keeps pumping and taking
     * completions (200 rounds of 1 ms). */
    memset(buf, 'x', sizeof buf);
    unsigned stuck = 0;
    for (int i = 0; i < 1024 && stuck < 200; i++) {
        ssize_t n = send(fd, buf, sizeof buf, MSG_NOSIGNAL);
        if (n > 0) {
            seen.written += (size_t)n;
            stuck = 0;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            stuck++;
        }
        capos_sockbridge_pump(b);
        note_stats(b);
        (void)capos_sockbridge_wait(b, 1000000u);
    }
    seen.eagain_seen = stuck >= 200;
    __atomic_store_n(&seen.peer_may_read, true, __ATOMIC_RELEASE);
    close(fd);
    capos_sockbridge_pump(b);
    while (capos_sockbridge_wait(b, CAP_TIMEOUT_INFINITE) == 0)
        note_stats(b);
}

/* Wait for the reset, then look at the near end. */
static void lib_reset(capos_sockbridge_t *b, int fd)
{
    while (!(capos_sockbridge_state(b) & CAPOS_SB_PEER_RESET) &&
           capos_sockbridge_wait(b, CAP_TIMEOUT_INFINITE) == 0)
        ;
    char c;
    ssize_t n = read(fd, &c, 1);
    seen.eof_after_data = n == 0;
    n = send(fd, "x", 1, MSG_NOSIGNAL);
    seen.write_after_reset_errno = n < 0 ? errno : 0;
    close(fd);
}

static int bridge_service(capos_capset_t *caps)
{
    capos_cap_t sock;
    if (capos_capset_find(caps, "sock", CAPOS_TCP_SOCKET_INTERFACE_ID, &sock))
        return 1;
    capos_sockbridge_t *b;
    int fd;
    seen.open = capos_sockbridge_open(sock, &b, &fd);
    if (seen.open != 0)
        return 2;
    if (mode == M_ECHO)
        lib_echo(b, fd);
    else if (mode == M_BACKPRESSURE)
        lib_backpressure(b, fd);
    else
        lib_reset(b, fd);
    struct capos_sockbridge_stats st;
    capos_sockbridge_stats(b, &st);
    seen.in = st.bytes_in;
    seen.out = st.bytes_out;
    seen.state = capos_sockbridge_state(b);
    capos_sockbridge_free(b);
    capos_rt_flush_releases();
    return 0;
}

/* ---- the remote peer, on host threads ---------------------------------- */

struct peer {
    int fd;
    size_t total, sent, got;
    bool intact, done;
    char tail[4];
};

/* Write the pattern's first pr->total bytes, then half close. */
static void *peer_write(void *arg)
{
    struct peer *pr = arg;
    static uint8_t buf[65536];
    while (pr->sent < pr->total) {
        size_t n = pr->total - pr->sent;
        if (n > sizeof buf)
            n = sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(pr->sent + i);
        ssize_t w = send(pr->fd, buf, n, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        pr->sent += (size_t)w;
    }
    shutdown(pr->fd, SHUT_WR);
    return NULL;
}

/* Read the echo and what follows it until EOF. */
static void *peer_read_all(void *arg)
{
    struct peer *pr = arg;
    static uint8_t buf[32768];
    pr->intact = true;
    for (;;) {
        ssize_t n = recv(pr->fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            size_t at = pr->got + (size_t)i;
            if (at < BULK && buf[i] != pattern(at))
                pr->intact = false;
            else if (at >= BULK && at - BULK < 3)
                pr->tail[at - BULK] = (char)buf[i];
        }
        pr->got += (size_t)n;
    }
    __atomic_store_n(&pr->done, true, __ATOMIC_RELEASE);
    return NULL;
}

/* A process with an accepted TcpSocket named "sock"; *fd the client. */
static struct k_process *bridged_process(int *fd)
{
    struct k_process *p = h_proc("svc", 0);
    uint16_t host = hn_free_port();
    hn_forward(22, host, 0);
    uint32_t l = hn_listen_auth(p, hn_grant_auth(p, 22));
    *fd = hn_client(host);
    struct accepted a = hn_accept_one(p, l);
    assert_int_equal(k_capset_add(p, "sock", a.sock), 0);
    assert_int_equal(k_thread_create(p, h_start, (void *)bridge_service, NULL),
                     0);
    memset(&seen, 0, sizeof seen);
    return p;
}

static void bytes_cross_both_ways_and_half_close_keeps_writes_going(void **st)
{
    (void)st;
    int fd;
    struct k_process *p = bridged_process(&fd);
    mode = M_ECHO;
    struct timeval tv = {.tv_sec = 20};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct peer pr = {.fd = fd, .total = BULK};
    pthread_t wt, rt;
    assert_int_equal(pthread_create(&wt, NULL, peer_write, &pr), 0);
    assert_int_equal(pthread_create(&rt, NULL, peer_read_all, &pr), 0);
    assert_int_equal(k_run(), 0);
    while (!__atomic_load_n(&pr.done, __ATOMIC_ACQUIRE))
        hn_pump();
    pthread_join(wt, NULL);
    pthread_join(rt, NULL);
    close(fd);
    assert_int_equal(p->exit_code, 0);
    assert_int_equal(seen.open, 0);
    assert_true(seen.intact);
    assert_true(seen.eof_after_data);
    assert_int_equal(pr.sent, BULK);
    assert_int_equal(pr.got, BULK + 3);
    assert_true(pr.intact);
    assert_memory_equal(pr.tail, "bye", 3);
    assert_int_equal(seen.in, BULK);
    assert_int_equal(seen.out, BULK + 3);
    assert_true(seen.state & CAPOS_SB_PEER_EOF);
    assert_true(seen.state & CAPOS_SB_LOCAL_EOF);
    assert_true(seen.state & CAPOS_SB_CLOSED);
    assert_false(seen.state & (CAPOS_SB_PEER_RESET | CAPOS_SB_FAILED));
    assert_true(seen.max_buffered <= CAPOS_SOCKBRIDGE_CHUNK);
}

/* Read nothing until the library has stopped writing, then all. */
static void *peer_late_reader(void *arg)
{
    struct peer *pr = arg;
    static char buf[65536];
    while (!__atomic_load_n(&seen.peer_may_read, __ATOMIC_ACQUIRE))
        usleep(1000);
    struct timeval tv = {.tv_sec = 20};
    setsockopt(pr->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n;
    while ((n = recv(pr->fd, buf, sizeof buf, 0)) > 0)
        pr->got += (size_t)n;
    __atomic_store_n(&pr->done, true, __ATOMIC_RELEASE);
    return NULL;
}

static void
a_silent_library_stops_the_recvs_and_a_silent_peer_the_writes(void **st)
{
    (void)st;
    int fd;
    struct k_process *p = bridged_process(&fd);
    mode = M_BACKPRESSURE;
    struct peer pr = {.fd = fd, .total = FLOOD};
    pthread_t wt, rt;
    assert_int_equal(pthread_create(&wt, NULL, peer_write, &pr), 0);
    assert_int_equal(pthread_create(&rt, NULL, peer_late_reader, &pr), 0);
    assert_int_equal(k_run(), 0);
    /* The host still has to send what the closed connection queued. */
    while (!__atomic_load_n(&pr.done, __ATOMIC_ACQUIRE))
        hn_pump();
    pthread_join(wt, NULL);
    pthread_join(rt, NULL);
    size_t got = pr.got;
    close(fd);
    assert_int_equal(p->exit_code, 0);
    assert_true(seen.quiet_without_reader);
    assert_true(seen.intact);
    assert_int_equal(seen.read_total, FLOOD);
    assert_int_equal(pr.sent, FLOOD);
    assert_true(seen.eagain_seen); /* stopped by backpressure, not the bound */
    assert_true(seen.written < 1024u * 65536u);
    /* Everything the library wrote reached the peer before the close. */
    assert_int_equal(seen.out, seen.written);
    assert_int_equal(got, seen.written);
    assert_true(seen.max_buffered <= CAPOS_SOCKBRIDGE_CHUNK);
}

static void a_peer_reset_cuts_the_library_end(void **st)
{
    (void)st;
    int fd;
    struct k_process *p = bridged_process(&fd);
    mode = M_RESET;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(fd); /* RST */
    assert_int_equal(k_run(), 0);
    assert_int_equal(p->exit_code, 0);
    assert_true(seen.state & CAPOS_SB_PEER_RESET);
    assert_true(seen.eof_after_data);
    assert_int_equal(seen.write_after_reset_errno, EPIPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            bytes_cross_both_ways_and_half_close_keeps_writes_going,
            hn_setup_real_clock, hn_teardown),
        cmocka_unit_test_setup_teardown(
            a_silent_library_stops_the_recvs_and_a_silent_peer_the_writes,
            hn_setup_real_clock, hn_teardown),
        cmocka_unit_test_setup_teardown(a_peer_reset_cuts_the_library_end,
                                        hn_setup_real_clock, hn_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
