/*
 * sockbridge.c - capos-rt's socket bridge (sockbridge.h): a socketpair
 * whose far end is pumped to and from a TcpSocket cap.
 *
 * Trust: the far end's bytes come from the service's own library and the
 * recv results from the kernel; both are bounded by the buffers here and
 * every result is decoded with bounds checks before use.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capos.capnp.h"
#include "sockbridge.h"

/* A recv result: 40 bytes of message around the data, rounded up. */
#define SB_RECV_RES (CAPOS_SOCKBRIDGE_CHUNK + 64u)
/* Send params (the data and its message) and its small result. */
#define SB_SEND_BUF (CAPOS_SOCKBRIDGE_CHUNK + 64u)
#define SB_CALL_BUF 256u

struct capos_sockbridge {
    capos_cap_t sock;
    int far;
    unsigned state;
    uint64_t recv_tag, send_tag; /* 0: none outstanding */
    uint8_t *recv_res;           /* SB_RECV_RES: recv params, then result */
    uint8_t *send_buf;           /* SB_SEND_BUF: send params, then result */
    uint8_t in[CAPOS_SOCKBRIDGE_CHUNK];  /* received, for the far end */
    uint8_t out[CAPOS_SOCKBRIDGE_CHUNK]; /* read from the far end */
    uint32_t in_off, in_len, out_off, out_len;
    bool far_shut_wr; /* the peer's EOF was passed on */
    bool in_dead;     /* the library's end takes no more input */
    uint64_t bytes_in, bytes_out;
};

static bool sb_ended(const capos_sockbridge_t *b)
{
    return (b->state &
            (CAPOS_SB_CLOSED | CAPOS_SB_PEER_RESET | CAPOS_SB_FAILED)) != 0;
}

static uint64_t sb_submit(CapSqe *sqe)
{
    uint64_t tag = capos_rt_tag();
    sqe->user_data = tag;
    return capos_rt_submit(sqe) == 0 ? tag : 0;
}

/* Post TcpSocket.recv of one chunk. Returns false when it could not be. */
static bool sb_post_recv(capos_sockbridge_t *b)
{
    capnp_builder cb;
    capnp_struct_builder p;
    size_t len;
    capnp_builder_init(&cb, b->recv_res, SB_RECV_RES);
    capos_TcpSocket_recv_Params_init_root(&cb, &p);
    capos_TcpSocket_recv_Params_set_maxBytes(&p, CAPOS_SOCKBRIDGE_CHUNK);
    if (capnp_finish(&cb, &len) != 0)
        return false;
    /* The kernel copies the params when it takes the SQE and writes the
     * result buffer only on completion, so one buffer serves both. */
    CapSqe sqe;
    capos_TcpSocket_recv_sqe(&sqe, b->sock.id, capos_va(b->recv_res),
                             (uint32_t)len, capos_va(b->recv_res), SB_RECV_RES,
                             0);
    b->recv_tag = sb_submit(&sqe);
    return b->recv_tag != 0;
}

/* Post TcpSocket.send of out[out_off..out_len). */
static bool sb_post_send(capos_sockbridge_t *b)
{
    capnp_builder cb;
    capnp_struct_builder p;
    size_t len;
    capnp_builder_init(&cb, b->send_buf, SB_SEND_BUF);
    capos_TcpSocket_send_Params_init_root(&cb, &p);
    capos_TcpSocket_send_Params_set_data(&p, b->out + b->out_off,
                                         b->out_len - b->out_off);
    if (capnp_finish(&cb, &len) != 0)
        return false;
    CapSqe sqe;
    capos_TcpSocket_send_sqe(&sqe, b->sock.id, capos_va(b->send_buf),
                             (uint32_t)len, capos_va(b->send_buf), SB_SEND_BUF,
                             0);
    b->send_tag = sb_submit(&sqe);
    return b->send_tag != 0;
}

/* TcpSocket.close, synchronously: outstanding calls then complete with
 * error closed. */
static void sb_close_socket(capos_sockbridge_t *b)
{
    if (b->state & CAPOS_SB_CLOSED)
        return;
    uint8_t par[64], res[SB_CALL_BUF];
    capnp_builder cb;
    capnp_struct_builder p;
    capnp_builder_init(&cb, par, sizeof par);
    capos_TcpSocket_close_Params_init_root(&cb, &p);
    (void)capos_rt_call_capnp(b->sock, CAPOS_TCP_SOCKET_CLOSE_METHOD_ID, &cb,
                              res, sizeof res, NULL, NULL);
    b->state |= CAPOS_SB_CLOSED;
}

/* The connection is gone (reset, closed under us, or failed): queued
 * input is dropped and the library sees EOF on reads and EPIPE on
 * writes. */
static void sb_cut(capos_sockbridge_t *b, unsigned why)
{
    b->state |= why;
    b->in_off = b->in_len = 0;
    b->out_off = b->out_len = 0;
    (void)shutdown(b->far, SHUT_RDWR);
}

/* Queued input into the far end, as much as it takes now; then the
 * peer's EOF once everything before it is in. */
static void sb_pump_in(capos_sockbridge_t *b)
{
    while (b->in_off < b->in_len) {
        ssize_t n = send(b->far, b->in + b->in_off, b->in_len - b->in_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            b->in_off += (uint32_t)n;
            b->bytes_in += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return; /* the library is not reading: stop receiving */
        /* The library closed its end: nobody wants the input. What it
         * wrote before may still be in the pair: the far end is read on
         * until its EOF (LOCAL_EOF), then the socket is closed. */
        b->in_dead = true;
        b->in_off = b->in_len = 0;
    }
    b->in_off = b->in_len = 0;
    if ((b->state & CAPOS_SB_PEER_EOF) && !b->far_shut_wr) {
        (void)shutdown(b->far, SHUT_WR);
        b->far_shut_wr = true;
    }
}

/* Read the far end into out when out is empty and no send waits. */
static void sb_read_far(capos_sockbridge_t *b)
{
    if (b->send_tag || b->out_off < b->out_len ||
        (b->state & CAPOS_SB_LOCAL_EOF))
        return;
    b->out_off = b->out_len = 0;
    for (;;) {
        ssize_t n = recv(b->far, b->out, sizeof b->out, MSG_DONTWAIT);
        if (n > 0) {
            b->out_len = (uint32_t)n;
            return;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        b->state |= CAPOS_SB_LOCAL_EOF; /* 0: EOF; an error ends it too */
        return;
    }
}

int capos_sockbridge_pump(capos_sockbridge_t *b)
{
    if (sb_ended(b))
        return 0;
    sb_pump_in(b);
    if (!b->recv_tag && b->in_len == 0 && !b->in_dead &&
        !(b->state & (CAPOS_SB_PEER_EOF | CAPOS_SB_LOCAL_EOF)) &&
        !sb_post_recv(b)) {
        b->state |= CAPOS_SB_FAILED;
        return CAPOS_RT_E_TOO_MANY;
    }
    sb_read_far(b);
    if (!b->send_tag && b->out_off < b->out_len && !sb_post_send(b)) {
        b->state |= CAPOS_SB_FAILED;
        return CAPOS_RT_E_TOO_MANY;
    }
    /* The library is done and everything it wrote is sent. */
    if ((b->state & CAPOS_SB_LOCAL_EOF) && !b->send_tag &&
        b->out_off == b->out_len)
        sb_close_socket(b);
    return 0;
}

/* A NetError outcome: closed under us, or reset/failed. */
static void sb_net_error(capos_sockbridge_t *b, uint16_t err)
{
    sb_cut(b, err == CAPOS_NET_ERROR_CLOSED ? CAPOS_SB_CLOSED
                                            : CAPOS_SB_PEER_RESET);
}

static void sb_on_recv(capos_sockbridge_t *b, const CapCqe *cqe)
{
    b->recv_tag = 0;
    capnp_message m;
    capnp_struct root, rr;
    const uint8_t *data;
    size_t n;
    if (sb_ended(b))
        return;
    if (!capos_rt_result_msg(cqe, b->recv_res, SB_RECV_RES, &m, &root) ||
        capos_TcpSocket_recv_Results_get_result(&root, &rr) != 0) {
        sb_cut(b, CAPOS_SB_FAILED);
        return;
    }
    switch (capos_TcpRecvResult_which(&rr)) {
    case CAPOS_TCP_RECV_RESULT_WHICH_DATA:
        if (capos_TcpRecvResult_get_data(&rr, &data, &n) != 0 || n == 0 ||
            n > sizeof b->in) {
            sb_cut(b, CAPOS_SB_FAILED);
            return;
        }
        memcpy(b->in, data, n);
        b->in_off = 0;
        b->in_len = (uint32_t)n;
        return;
    case CAPOS_TCP_RECV_RESULT_WHICH_CLOSED:
        b->state |= CAPOS_SB_PEER_EOF;
        return;
    default:
        sb_net_error(b, capos_TcpRecvResult_get_error(&rr));
        return;
    }
}

static void sb_on_send(capos_sockbridge_t *b, const CapCqe *cqe)
{
    b->send_tag = 0;
    capnp_message m;
    capnp_struct root, sr;
    if (sb_ended(b))
        return;
    if (!capos_rt_result_msg(cqe, b->send_buf, SB_SEND_BUF, &m, &root) ||
        capos_TcpSocket_send_Results_get_result(&root, &sr) != 0) {
        sb_cut(b, CAPOS_SB_FAILED);
        return;
    }
    if (capos_TcpSendResult_which(&sr) != CAPOS_TCP_SEND_RESULT_WHICH_SENT) {
        sb_net_error(b, capos_TcpSendResult_get_error(&sr));
        return;
    }
    uint32_t sent = capos_TcpSendResult_get_sent(&sr);
    if (sent > b->out_len - b->out_off) {
        sb_cut(b, CAPOS_SB_FAILED); /* more than was sent: not our kernel */
        return;
    }
    b->out_off += sent;
    b->bytes_out += sent;
}

bool capos_sockbridge_complete(capos_sockbridge_t *b, const CapCqe *cqe)
{
    if (cqe->user_data == 0)
        return false;
    if (cqe->user_data == b->recv_tag)
        sb_on_recv(b, cqe);
    else if (cqe->user_data == b->send_tag)
        sb_on_send(b, cqe);
    else
        return false;
    (void)capos_sockbridge_pump(b);
    return true;
}

unsigned capos_sockbridge_tags(const capos_sockbridge_t *b, uint64_t tags[2])
{
    unsigned n = 0;
    if (b->recv_tag)
        tags[n++] = b->recv_tag;
    if (b->send_tag)
        tags[n++] = b->send_tag;
    return n;
}

int capos_sockbridge_wait(capos_sockbridge_t *b, uint64_t timeout_ns)
{
    uint64_t tags[2];
    unsigned n = capos_sockbridge_tags(b, tags), which;
    if (n == 0)
        return CAPOS_RT_E_NOT_FOUND;
    CapCqe cqe;
    int r = capos_rt_wait_any(tags, n, &which, &cqe, timeout_ns);
    if (r == 0)
        (void)capos_sockbridge_complete(b, &cqe);
    return r;
}

unsigned capos_sockbridge_state(const capos_sockbridge_t *b)
{
    return b->state;
}

void capos_sockbridge_stats(const capos_sockbridge_t *b,
                            struct capos_sockbridge_stats *out)
{
    out->bytes_in = b->bytes_in;
    out->bytes_out = b->bytes_out;
    out->buffered_in = b->in_len - b->in_off;
    out->buffered_out = b->out_len - b->out_off;
}

/* Bound both ends' socket buffers (the pair is part of the backlog). */
static void sb_size_buffers(int fd)
{
    int sz = (int)CAPOS_SOCKBRIDGE_PAIR_BUF;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
}

int capos_sockbridge_open(capos_cap_t sock, capos_sockbridge_t **out, int *fd)
{
    capos_sockbridge_t *b = capos_zalloc(sizeof *b);
    int pair[2];
    if (b) {
        b->recv_res = capos_alloc(SB_RECV_RES);
        b->send_buf = capos_alloc(SB_SEND_BUF);
    }
    if (!b || !b->recv_res || !b->send_buf) {
        if (b) {
            capos_free(b->recv_res);
            capos_free(b->send_buf);
        }
        capos_free(b);
        capos_rt_release(sock);
        return CAPOS_RT_E_NO_MEMORY;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                   pair) != 0) {
        capos_free(b->recv_res);
        capos_free(b->send_buf);
        capos_free(b);
        capos_rt_release(sock);
        return CAPOS_SOCKBRIDGE_E_HOST;
    }
    sb_size_buffers(pair[0]);
    sb_size_buffers(pair[1]);
    b->sock = sock;
    b->far = pair[1];
    int r = capos_sockbridge_pump(b);
    if (r != 0) {
        close(pair[0]);
        capos_sockbridge_free(b);
        return r;
    }
    *out = b;
    *fd = pair[0];
    return 0;
}

void capos_sockbridge_free(capos_sockbridge_t *b)
{
    if (!b)
        return;
    sb_close_socket(b);
    /* After the close every outstanding call answers at once. */
    bool quiet = true;
    while (b->recv_tag || b->send_tag) {
        uint64_t tags[2];
        unsigned n = capos_sockbridge_tags(b, tags), which;
        CapCqe cqe;
        if (capos_rt_wait_any(tags, n, &which, &cqe, CAP_TIMEOUT_INFINITE) !=
            0) {
            quiet = false; /* the ring failed: keep the buffers */
            break;
        }
        if (tags[which] == b->recv_tag)
            b->recv_tag = 0;
        else
            b->send_tag = 0;
    }
    capos_rt_release(b->sock);
    close(b->far);
    if (quiet) {
        capos_free(b->recv_res);
        capos_free(b->send_buf);
        capos_free(b);
    }
}
