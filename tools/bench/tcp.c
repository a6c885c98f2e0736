/*
 * tools/bench/tcp.c - capos-bench figures: tcp_echo_rtt, tcp_echo_64k and their
 * plain libuv anchors uv_echo_rtt, uv_echo_64k.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "binaries.h"
#include "capos/capnp.h"
#include "model.h"
#include "net_uv.h"
#include "port_uv.h"

/*
 * A host client thread (blocking POSIX socket, TCP_NODELAY) connects to
 * an echo server on loopback and times ops exchanges of msg bytes each:
 * write all msg bytes, then read all of them back. The server is either a
 * model process echoing through its TcpSocket cap (recv, then send until
 * all is sent) or a plain libuv echo server on its own loop; both run on
 * this thread while the client runs on another, so the two figures differ
 * only in the server.
 */

struct echo_client {
    uint16_t port;
    size_t msg;
    uint64_t ops;
    unsigned reps;
    double *samples;
    const char *fail; /* NULL: all repetitions measured */
};

bool echo_io(int fd, uint8_t *buf, size_t n, bool out)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = out ? send(fd, buf + done, n - done, MSG_NOSIGNAL)
                        : recv(fd, buf + done, n - done, 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return false;
        }
        done += (size_t)r;
    }
    return true;
}

static void *echo_client_main(void *arg)
{
    struct echo_client *e = arg;
    static uint8_t out[ECHO_MAX], in[ECHO_MAX];
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(e->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = -1, one = 1;
    for (int i = 0; i < 2000; i++) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            break;
        if (fd >= 0)
            close(fd);
        fd = -1;
        usleep(1000);
    }
    if (fd < 0) {
        e->fail = "the client could not connect";
        return NULL;
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(out, 0x5a, e->msg);
    for (unsigned r = 0; r < e->reps && !e->fail; r++) {
        uint64_t t0 = bench_now_ns();
        for (uint64_t i = 0; i < e->ops; i++) {
            out[0] = (uint8_t)i;
            if (!echo_io(fd, out, e->msg, true) ||
                !echo_io(fd, in, e->msg, false) || in[0] != out[0]) {
                e->fail = "the echo broke off or came back wrong";
                break;
            }
        }
        e->samples[r] = bench_ns_per_op(t0, bench_now_ns(), e->ops);
    }
    close(fd);
    return NULL;
}

uint16_t echo_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* ---- the model server ---- */

struct tcp_echo_job {
    struct model_job j;
    uint32_t auth; /* TcpListenAuthority of guest port 7 */
};

/* One CALL with params[0..plen) at params_off of the heap and the result
 * at result_off; the CQE's result, or a negative bench/transport code.
 * *cap gets the first result cap (if any). */
static int tcp_call(struct user_ring *u, struct k_process *p, uint32_t cap,
                    uint16_t method, uint64_t plen, uint32_t *rcap)
{
    uint64_t pva, rva;
    if (!user_heap(p, 0, ECHO_MAX + 64, &pva) ||
        !user_heap(p, ECHO_MAX + 64, ECHO_MAX + 256, &rva))
        return BENCH_E_NO_HEAP;
    const CapCqe *c;
    int rc = ur_enter1(u,
                       (CapSqe){.opcode = CAP_OP_CALL,
                                .cap_id = cap,
                                .method_id = method,
                                .user_data = method + 1u,
                                .addr = pva,
                                .len = (uint32_t)plen,
                                .result_addr = rva,
                                .result_len = ECHO_MAX + 256},
                       &c);
    if (rc != 0)
        return rc;
    rc = c->user_data != method + 1u ? BENCH_E_USER_DATA : c->result;
    if (rc >= 0 && c->cap_count && rcap) {
        CapTransferResult rec;
        memcpy(&rec,
               (uint8_t *)k_user_ptr(p, rva, 1) + CAP_ALIGN8((uint32_t)rc),
               sizeof rec);
        *rcap = rec.cap_id;
    }
    ur_cq_release(u);
    return rc;
}

/* The struct at pointer 0 of the result's root; false if malformed. */
static bool tcp_result(struct k_process *p, int len, capnp_message *m,
                       capnp_struct *s)
{
    capnp_struct root;
    void *buf = k_user_ptr(p, CAPOS_HEAP_VADDR + ECHO_MAX + 64, (uint64_t)len);
    return buf && capnp_msg_init(m, buf, (size_t)len, NULL) == 0 &&
           capnp_msg_root(m, &root) == 0 && capnp_get_struct(&root, 0, s) == 0;
}

/* Params into the heap: a root of dw words and np pointers. */
static int tcp_params(struct k_process *p, uint16_t dw, uint16_t np,
                      capnp_builder *b, capnp_struct_builder *root)
{
    uint64_t va;
    void *buf = user_heap(p, 0, ECHO_MAX + 64, &va);
    if (!buf)
        return BENCH_E_NO_HEAP;
    capnp_builder_init(b, buf, ECHO_MAX + 64);
    return capnp_init_root(b, dw, np, root);
}

/* Thread: listen, accept one connection, echo until the peer closes. */
static void tcp_echo_thread(void *arg)
{
    struct tcp_echo_job *t = arg;
    struct model_job *j = &t->j;
    struct k_process *p = j->proc;
    struct user_ring u;
    capnp_builder b;
    capnp_struct_builder root;
    capnp_message m;
    capnp_struct s;
    size_t plen;
    uint32_t listener = 0, sock = 0;
    int rc;

    ur_open(&u, p);
    if (tcp_params(p, 1, 0, &b, &root) != 0 || capnp_finish(&b, &plen) != 0)
        return job_fail(j, "listen params", BENCH_E_NO_HEAP);
    rc = tcp_call(&u, p, t->auth, 0, plen, &listener);
    if (rc < 0 || listener == 0)
        return job_fail(j, "TcpListenAuthority.listen", rc < 0 ? rc : -1);
    if (tcp_params(p, 0, 0, &b, &root) != 0 || capnp_finish(&b, &plen) != 0)
        return job_fail(j, "accept params", BENCH_E_NO_HEAP);
    rc = tcp_call(&u, p, listener, 0, plen, &sock);
    if (rc < 0 || sock == 0)
        return job_fail(j, "TcpListener.accept", rc < 0 ? rc : -1);
    for (;;) {
        if (tcp_params(p, 1, 0, &b, &root) != 0)
            return job_fail(j, "recv params", BENCH_E_NO_HEAP);
        capnp_set_u32(&root, 0, ECHO_MAX, 0);
        (void)capnp_finish(&b, &plen);
        rc = tcp_call(&u, p, sock, 1, plen, NULL);
        if (rc < 0 || !tcp_result(p, rc, &m, &s))
            return job_fail(j, "TcpSocket.recv", rc < 0 ? rc : -1);
        if (capnp_get_u16(&s, 0, 0) != 0)
            break; /* closed or error: the client is done */
        const uint8_t *d;
        size_t n;
        if (capnp_get_data(&s, 0, &d, &n) < 0)
            return job_fail(j, "TcpSocket.recv data", -1);
        /* Sent from where it came: the params (heap offset 0) and the
         * recv result (after them) do not overlap, and a send's 32-byte
         * result ends before the recv result's data (at byte 40). */
        for (size_t off = 0; off < n;) {
            if (tcp_params(p, 0, 1, &b, &root) != 0 ||
                capnp_set_data(&root, 0, d + off, n - off) != 0 ||
                capnp_finish(&b, &plen) != 0)
                return job_fail(j, "send params", BENCH_E_NO_HEAP);
            rc = tcp_call(&u, p, sock, 0, plen, NULL);
            if (rc < 0 || !tcp_result(p, rc, &m, &s) ||
                capnp_get_u16(&s, 4, 0) != 0)
                return job_fail(j, "TcpSocket.send", rc < 0 ? rc : -1);
            off += capnp_get_u32(&s, 0, 0);
        }
    }
    j->done = true;
}

/* A manifest holding only kernelParams.portForwards = [guest 7 -> host
 * port, no idle timeout]. */
static size_t echo_manifest(uint64_t *buf, size_t cap, uint16_t port)
{
    capnp_builder b;
    capnp_struct_builder root, kp, f;
    capnp_list_builder l;
    size_t len = 0;
    capnp_builder_init(&b, buf, cap);
    if (capnp_init_root(&b, 1, 3, &root) != 0 ||
        capnp_init_struct(&root, 2, 0, 7, &kp) != 0 ||
        capnp_init_struct_list(&kp, 1, 1, 1, 1, &l) != 0 ||
        capnp_list_struct_at(&l, 0, &f) != 0)
        return 0;
    capnp_set_u16(&f, 0, port, 0);
    capnp_set_u16(&f, 2, 7, 0);
    capnp_set_u32(&f, 4, 0, 600);
    return capnp_finish(&b, &len) == 0 ? len : 0;
}

static int tcp_echo_model(const char *figure, size_t msg, uint64_t ops,
                          unsigned reps, double *samples)
{
    static uint64_t mbuf[64];
    char err[160];
    struct k_msg mb = {err, sizeof err, 0};
    uint16_t port = echo_free_port();
    size_t mlen = echo_manifest(mbuf, sizeof mbuf, port);
    struct tcp_echo_job t = {.j = {.ops = ops, .reps = reps}};
    struct echo_client e = {port, msg, ops, reps, samples, NULL};
    pthread_t th;

    if (port == 0 || mlen == 0) {
        printf("%s failed: no free loopback port or manifest\n", figure);
        return BENCH_FAIL;
    }
    if (!model_up(figure))
        return BENCH_FAIL;
    sim_net_set_quiet(true);
    if (net_configure((const uint8_t *)mbuf, mlen, &mb) != 0) {
        printf("%s failed: %s\n", figure, err);
        k_shutdown();
        return BENCH_FAIL;
    }
    t.j.proc = model_process(figure, "echo");
    if (!t.j.proc || tcpauth_grant(t.j.proc, 7, &t.auth) != 0 ||
        !model_thread(figure, t.j.proc, tcp_echo_thread, &t)) {
        k_shutdown();
        return BENCH_FAIL;
    }
    if (pthread_create(&th, NULL, echo_client_main, &e) != 0) {
        printf("%s failed: pthread_create\n", figure);
        k_shutdown();
        return BENCH_FAIL;
    }
    int rc = model_run(figure, &t.j, 1);
    pthread_join(th, NULL);
    uv_run(sim_loop(), UV_RUN_NOWAIT); /* close callbacks */
    if (e.fail) {
        printf("%s failed: %s\n", figure, e.fail);
        return BENCH_FAIL;
    }
    return rc;
}

static int tcp_echo_uv(const char *figure, size_t msg, uint64_t ops,
                       unsigned reps, double *samples);

/*
 * The host's speed for this exchange swings with what else runs (a vCPU
 * that halts between messages wakes slowly), so a model figure and its
 * libuv anchor are measured interleaved: repetition r of the model, then
 * repetition r of the anchor. The anchor's samples wait here for its own
 * row (uv_echo_*), which measures alone only if the pair did not run.
 */
static struct echo_pair {
    bool have;
    uint64_t ops;
    unsigned reps;
    double samples[BENCH_MAX_RUNS + 1];
} echo_pairs[2];

static int echo_interleaved(const char *figure, const char *anchor,
                            struct echo_pair *pair, size_t msg, uint64_t ops,
                            unsigned reps, double *samples)
{
    pair->have = false;
    for (unsigned r = 0; r < reps; r++) {
        int rc = tcp_echo_model(figure, msg, ops, 1, &samples[r]);
        if (rc != BENCH_OK)
            return rc;
        if (tcp_echo_uv(anchor, msg, ops, 1, &pair->samples[r]) != BENCH_OK)
            return BENCH_FAIL;
    }
    pair->have = true;
    pair->ops = ops;
    pair->reps = reps;
    return BENCH_OK;
}

/* The anchor's row: the interleaved samples, or a run of its own. */
static int echo_anchor(const char *anchor, struct echo_pair *pair, size_t msg,
                       uint64_t ops, unsigned reps, double *samples)
{
    if (pair->have && pair->ops == ops && pair->reps == reps) {
        memcpy(samples, pair->samples, reps * sizeof *samples);
        return BENCH_OK;
    }
    return tcp_echo_uv(anchor, msg, ops, reps, samples);
}

int fig_tcp_echo_rtt(uint64_t ops, unsigned reps, double *samples)
{
    return echo_interleaved("tcp_echo_rtt", "uv_echo_rtt", &echo_pairs[0], 64,
                            ops, reps, samples);
}

int fig_tcp_echo_64k(uint64_t ops, unsigned reps, double *samples)
{
    return echo_interleaved("tcp_echo_64k", "uv_echo_64k", &echo_pairs[1],
                            ECHO_MAX, ops, reps, samples);
}

/* ---- the plain libuv server (anchor) ---- */

struct uv_echo {
    uv_tcp_t server, conn;
    bool connected;
};

struct uv_echo_write {
    uv_write_t req;
    char data[];
};

static void uve_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    static char buf[ECHO_MAX];
    (void)h;
    (void)suggested;
    *b = uv_buf_init(buf, sizeof buf);
}

static void uve_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void uve_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct uv_echo *e = s->data;
    if (n < 0) {
        uv_close((uv_handle_t *)&e->conn, NULL);
        uv_close((uv_handle_t *)&e->server, NULL);
        return;
    }
    if (n == 0)
        return;
    struct uv_echo_write *w = malloc(sizeof *w + (size_t)n);
    if (!w)
        return;
    memcpy(w->data, b->base, (size_t)n);
    uv_buf_t out = uv_buf_init(w->data, (unsigned)n);
    if (uv_write(&w->req, s, &out, 1, uve_written) != 0)
        free(w);
}

static void uve_connection(uv_stream_t *server, int status)
{
    struct uv_echo *e = server->data;
    if (status < 0 || e->connected)
        return;
    uv_tcp_init(server->loop, &e->conn);
    e->conn.data = e;
    if (uv_accept(server, (uv_stream_t *)&e->conn) == 0) {
        e->connected = true;
        (void)uv_tcp_nodelay(&e->conn, 1);
        uv_read_start((uv_stream_t *)&e->conn, uve_alloc, uve_read);
    } else {
        uv_close((uv_handle_t *)&e->conn, NULL);
    }
}

static int tcp_echo_uv(const char *figure, size_t msg, uint64_t ops,
                       unsigned reps, double *samples)
{
    uv_loop_t loop;
    struct uv_echo e = {0};
    struct sockaddr_in a;
    uint16_t port = echo_free_port();
    struct echo_client c = {port, msg, ops, reps, samples, NULL};
    pthread_t th;

    if (port == 0 || uv_loop_init(&loop) != 0) {
        printf("%s failed: no free loopback port or loop\n", figure);
        return BENCH_FAIL;
    }
    uv_ip4_addr("127.0.0.1", port, &a);
    uv_tcp_init(&loop, &e.server);
    e.server.data = &e;
    if (uv_tcp_bind(&e.server, (const struct sockaddr *)&a, 0) != 0 ||
        uv_listen((uv_stream_t *)&e.server, 4, uve_connection) != 0 ||
        pthread_create(&th, NULL, echo_client_main, &c) != 0) {
        printf("%s failed: cannot listen on 127.0.0.1:%u\n", figure, port);
        uv_close((uv_handle_t *)&e.server, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        return BENCH_FAIL;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    uv_loop_close(&loop);
    if (c.fail) {
        printf("%s failed: %s\n", figure, c.fail);
        return BENCH_FAIL;
    }
    return BENCH_OK;
}

int fig_uv_echo_rtt(uint64_t ops, unsigned reps, double *samples)
{
    return echo_anchor("uv_echo_rtt", &echo_pairs[0], 64, ops, reps, samples);
}

int fig_uv_echo_64k(uint64_t ops, unsigned reps, double *samples)
{
    return echo_anchor("uv_echo_64k", &echo_pairs[1], ECHO_MAX, ops, reps,
                       samples);
}
