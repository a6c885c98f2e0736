/*
 * sim/port/net_uv.c - TCP of the hosted port: the port.h port_tcp_* functions
 * over libuv, and the host-only helpers of sim/port/net_uv.h.
 *
 * Every host socket is one struct port_tcp (a uv_tcp_t and its buffers).
 * A connection reads from the host into a bounded input buffer while it
 * has room (the model drains it with port_tcp_read) and sends through a
 * bounded output queue (uv_try_write first, the rest as copied uv_write
 * requests). A handle keeps the loop alive only while the model watches
 * it (uv_ref/uv_unref), so an idle system is not held up by its sockets.
 *
 * One host thread runs the loop and the model (DESIGN.md, "Execution
 * model"), so the state below is plain static data.
 */
#define _GNU_SOURCE

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>
#include <uv.h>

#include "net_uv.h"
#include "port.h"
#include "port_uv.h"

#define NET_IN_MAX 65536u   /* received bytes buffered per connection */
#define NET_OUT_MAX 262144u /* bytes queued for sending per connection */
/* A connection closed with output still queued has this long to deliver
 * it (the peer must read); then it is reset (docs/net.md "Closing"). */
#define NET_LINGER_MS 5000u

struct port_tcp {
    uv_tcp_t tcp; /* first: callbacks cast the handle back */
    void *owner;  /* the model's object; NULL once closed */
    bool listener;
    bool closing;
    uint16_t guest_port, bound; /* listener: its forward, the real port */
    bool watched;
    /* Listener: a connection waits in the host's backlog. */
    bool conn_waiting;
    /* Connection. */
    bool reading, eof, reset;
    uint64_t received;
    size_t out_queued;
    struct net_linger *linger; /* closed with output queued: its bound */
    size_t in_head, in_tail;
    struct port_tcp *next, *prev; /* live list */
    char peer[16];
    uint16_t peer_port;
    uint8_t in[NET_IN_MAX];
};

struct net_write {
    uv_write_t req;
    struct port_tcp *h;
    size_t len;
    char data[];
};

/* The bound on a closed connection's queued output (one timer). */
struct net_linger {
    uv_timer_t timer; /* first: the close callback casts it back */
    struct port_tcp *h;
};

static struct port_tcp *net_live;
static unsigned net_nlive;
static uint64_t net_nreset_undelivered; /* connections reset by the bound */
static bool net_quiet;
/* Successful binds per guest port (the first NET_BIND_PORTS ports seen). */
#define NET_BIND_PORTS 16u
static struct {
    uint16_t guest;
    uint64_t n;
} net_binds[NET_BIND_PORTS];

/* ---- host-only helpers (net_uv.h) -------------------------------- */

unsigned sim_net_live(void)
{
    return net_nlive;
}

uint64_t sim_net_reset_undelivered(void)
{
    return net_nreset_undelivered;
}

void sim_net_set_quiet(bool quiet)
{
    net_quiet = quiet;
}

unsigned sim_net_listening(uint16_t guest_port)
{
    unsigned n = 0;
    for (const struct port_tcp *h = net_live; h; h = h->next)
        n += h->listener && !h->closing && h->guest_port == guest_port;
    return n;
}

uint16_t sim_net_bound_port(uint16_t guest_port)
{
    for (const struct port_tcp *h = net_live; h; h = h->next)
        if (h->listener && !h->closing && h->guest_port == guest_port)
            return h->bound;
    return 0;
}

uint64_t sim_net_binds(uint16_t guest_port)
{
    for (unsigned i = 0; i < NET_BIND_PORTS; i++)
        if (net_binds[i].n && net_binds[i].guest == guest_port)
            return net_binds[i].n;
    return 0;
}

static void net_count_bind(uint16_t guest_port)
{
    for (unsigned i = 0; i < NET_BIND_PORTS; i++)
        if (!net_binds[i].n || net_binds[i].guest == guest_port) {
            net_binds[i].guest = guest_port;
            net_binds[i].n++;
            return;
        }
}

unsigned sim_net_open_conns(void)
{
    unsigned n = 0;
    for (const struct port_tcp *h = net_live; h; h = h->next)
        n += !h->listener && !h->closing;
    return n;
}

static void net_free(uv_handle_t *uh)
{
    struct port_tcp *h = (struct port_tcp *)uh;
    if (h->prev)
        h->prev->next = h->next;
    else
        net_live = h->next;
    if (h->next)
        h->next->prev = h->prev;
    net_nlive--;
    free(h);
}

static void net_linger_free(uv_handle_t *uh)
{
    free(uh);
}

/* Stop and free h's linger timer, if it has one. */
static void net_linger_end(struct port_tcp *h)
{
    if (!h->linger)
        return;
    uv_timer_stop(&h->linger->timer);
    uv_close((uv_handle_t *)&h->linger->timer, net_linger_free);
    h->linger = NULL;
}

static void net_close_now(struct port_tcp *h)
{
    h->closing = true;
    h->owner = NULL;
    net_linger_end(h);
    if (!uv_is_closing((uv_handle_t *)&h->tcp))
        uv_close((uv_handle_t *)&h->tcp, net_free);
}

void sim_net_close(void)
{
    for (struct port_tcp *h = net_live; h; h = h->next)
        net_close_now(h);
}

/* ---- helpers ------------------------------------------------------- */

static struct port_tcp *net_new(void *owner, bool listener)
{
    struct port_tcp *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    if (uv_tcp_init(sim_loop(), &h->tcp) != 0) {
        free(h);
        return NULL;
    }
    h->owner = owner;
    h->listener = listener;
    h->next = net_live;
    if (net_live)
        net_live->prev = h;
    net_live = h;
    net_nlive++;
    uv_unref((uv_handle_t *)&h->tcp);
    return h;
}

/* Something changed on h: tell its owner (device-callback context). */
static void net_notify(struct port_tcp *h)
{
    sim_port_note_event();
    if (h->owner && !h->closing)
        k_net_ready(h->owner);
}

/* ---- listening ------------------------------------------------------ */

static void net_on_connection(uv_stream_t *s, int status)
{
    struct port_tcp *h = (struct port_tcp *)s;
    if (status < 0)
        return; /* the host's accept failed; the next one may not */
    h->conn_waiting = true;
    net_notify(h);
}

int port_tcp_listen(const char *addr, uint16_t port, uint16_t guest_port,
                    uint32_t backlog, void *owner, port_tcp_t **out,
                    uint16_t *bound)
{
    struct sockaddr_in sa;
    if (uv_ip4_addr(addr, port, &sa) != 0)
        return PORT_TCP_FAILED;
    struct port_tcp *h = net_new(owner, true);
    if (!h)
        return PORT_TCP_FAILED;
    int r = uv_tcp_bind(&h->tcp, (const struct sockaddr *)&sa, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&h->tcp, (int)backlog, net_on_connection);
    if (r != 0) {
        net_close_now(h);
        return r == UV_EADDRINUSE ? PORT_TCP_IN_USE : PORT_TCP_FAILED;
    }
    struct sockaddr_storage ss;
    int len = (int)sizeof ss;
    *bound = port;
    if (uv_tcp_getsockname(&h->tcp, (struct sockaddr *)&ss, &len) == 0 &&
        ss.ss_family == AF_INET)
        *bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    h->guest_port = guest_port;
    h->bound = *bound;
    net_count_bind(guest_port);
    if (!net_quiet)
        fprintf(stderr, "capos-sim: tcp %s:%u -> guest :%u\n", addr,
                (unsigned)*bound, (unsigned)guest_port);
    *out = h;
    return 0;
}

/* ---- connections ---------------------------------------------------- */

static void net_alloc(uv_handle_t *uh, size_t suggested, uv_buf_t *b)
{
    struct port_tcp *h = (struct port_tcp *)uh;
    (void)suggested;
    if (h->in_head == h->in_tail) {
        h->in_head = h->in_tail = 0;
    } else if (h->in_head > 0 && h->in_tail == NET_IN_MAX) {
        memmove(h->in, h->in + h->in_head, h->in_tail - h->in_head);
        h->in_tail -= h->in_head;
        h->in_head = 0;
    }
    b->base = (char *)h->in + h->in_tail;
    b->len = NET_IN_MAX - h->in_tail;
}

static void net_stop_reading(struct port_tcp *h)
{
    if (h->reading)
        uv_read_stop((uv_stream_t *)&h->tcp);
    h->reading = false;
}

static void net_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct port_tcp *h = (struct port_tcp *)s;
    (void)b;
    if (n == 0)
        return;
    if (n == UV_ENOBUFS) { /* no room: wait until the model reads */
        net_stop_reading(h);
        return;
    }
    if (n > 0) {
        h->in_tail += (size_t)n;
        h->received += (uint64_t)n;
        if (h->in_tail == NET_IN_MAX && h->in_head == 0)
            net_stop_reading(h);
    } else {
        if (n == UV_EOF)
            h->eof = true;
        else
            h->reset = true;
        net_stop_reading(h);
    }
    net_notify(h);
}

static void net_start_reading(struct port_tcp *h)
{
    if (h->reading || h->eof || h->reset || h->closing)
        return;
    if (h->in_tail == NET_IN_MAX && h->in_head == 0)
        return;
    if (uv_read_start((uv_stream_t *)&h->tcp, net_alloc, net_on_read) == 0)
        h->reading = true;
    else
        h->reset = true;
}

int port_tcp_accept(port_tcp_t *l, void *owner, port_tcp_t **out)
{
    if (!l->listener || l->closing)
        return PORT_TCP_FAILED;
    if (!l->conn_waiting)
        return 0;
    l->conn_waiting = false;
    struct port_tcp *h = net_new(owner, false);
    if (!h)
        return PORT_TCP_FAILED;
    if (uv_accept((uv_stream_t *)&l->tcp, (uv_stream_t *)&h->tcp) != 0) {
        net_close_now(h);
        return 0; /* the connection went away before it was taken */
    }
    (void)uv_tcp_nodelay(&h->tcp, 1);
    struct sockaddr_storage ss;
    int len = (int)sizeof ss;
    strcpy(h->peer, "0.0.0.0");
    if (uv_tcp_getpeername(&h->tcp, (struct sockaddr *)&ss, &len) == 0 &&
        ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
        (void)uv_ip4_name(sin, h->peer, sizeof h->peer);
        h->peer_port = ntohs(sin->sin_port);
    }
    net_start_reading(h);
    *out = h;
    return 1;
}

void port_tcp_peer(port_tcp_t *h, char *addr, size_t cap, uint16_t *port)
{
    if (cap) {
        size_t n = strlen(h->peer);
        if (n >= cap)
            n = cap - 1;
        memcpy(addr, h->peer, n);
        addr[n] = 0;
    }
    *port = h->peer_port;
}

int port_tcp_read(port_tcp_t *h, void *buf, size_t cap)
{
    size_t avail = h->in_tail - h->in_head;
    if (avail == 0) {
        net_start_reading(h);
        return h->reset ? PORT_TCP_RESET : h->eof ? PORT_TCP_EOF : 0;
    }
    if (cap > avail)
        cap = avail;
    if (cap > INT32_MAX)
        cap = INT32_MAX;
    memcpy(buf, h->in + h->in_head, cap);
    h->in_head += cap;
    if (h->in_head == h->in_tail)
        h->in_head = h->in_tail = 0;
    net_start_reading(h);
    return (int)cap;
}

uint64_t port_tcp_received(port_tcp_t *h)
{
    return h->received;
}

static void net_on_write(uv_write_t *req, int status)
{
    struct net_write *w = (struct net_write *)req;
    struct port_tcp *h = w->h;
    h->out_queued -= w->len;
    free(w);
    if (status < 0 && status != UV_ECANCELED)
        h->reset = true;
    net_notify(h);
}

int port_tcp_write(port_tcp_t *h, const void *buf, size_t len)
{
    if (h->listener || h->closing || h->reset)
        return PORT_TCP_RESET;
    if (h->out_queued >= NET_OUT_MAX)
        return 0;
    if (len > NET_OUT_MAX - h->out_queued)
        len = NET_OUT_MAX - h->out_queued;
    if (len > INT32_MAX)
        len = INT32_MAX;
    size_t done = 0;
    if (h->out_queued == 0 && len > 0) {
        uv_buf_t b = uv_buf_init((char *)(uintptr_t)buf, (unsigned)len);
        int r = uv_try_write((uv_stream_t *)&h->tcp, &b, 1);
        if (r > 0)
            done = (size_t)r;
        else if (r != UV_EAGAIN && r != UV_ENOSYS) {
            h->reset = true;
            return PORT_TCP_RESET;
        }
    }
    if (done < len) {
        size_t rest = len - done;
        struct net_write *w = malloc(sizeof *w + rest);
        if (!w)
            return (int)done;
        memcpy(w->data, (const char *)buf + done, rest);
        w->h = h;
        w->len = rest;
        uv_buf_t b = uv_buf_init(w->data, (unsigned)rest);
        if (uv_write(&w->req, (uv_stream_t *)&h->tcp, &b, 1, net_on_write)) {
            free(w);
            h->reset = true;
            return done ? (int)done : PORT_TCP_RESET;
        }
        h->out_queued += rest;
    }
    return (int)len;
}

void port_tcp_watch(port_tcp_t *h, bool on)
{
    if (h->closing || h->watched == on)
        return;
    h->watched = on;
    if (on)
        uv_ref((uv_handle_t *)&h->tcp);
    else
        uv_unref((uv_handle_t *)&h->tcp);
}

static void net_on_shutdown(uv_shutdown_t *req, int status)
{
    struct port_tcp *h = (struct port_tcp *)req->handle;
    (void)status;
    free(req);
    net_linger_end(h);
    if (!uv_is_closing((uv_handle_t *)&h->tcp))
        uv_close((uv_handle_t *)&h->tcp, net_free);
}

/* The peer did not take h's queued output within NET_LINGER_MS of the
 * close: reset the connection and say so. SO_LINGER 0 makes the close
 * send RST and drop the queue (uv_tcp_close_reset refuses a handle
 * whose shutdown is pending); the pending writes and shutdown end with
 * UV_ECANCELED. */
static void net_on_linger(uv_timer_t *t)
{
    struct port_tcp *h = ((struct net_linger *)t)->h;
    size_t left = h->out_queued;
    net_linger_end(h);
    if (uv_is_closing((uv_handle_t *)&h->tcp))
        return;
    net_nreset_undelivered++;
    if (!net_quiet)
        fprintf(stderr,
                "net: connection from %s:%u reset: %zu bytes of output not "
                "taken within %u ms of its close (the client stopped "
                "reading)\n",
                h->peer, (unsigned)h->peer_port, left, NET_LINGER_MS);
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&h->tcp, &fd) == 0) {
        struct linger now = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
    }
    h->reset = true;
    uv_close((uv_handle_t *)&h->tcp, net_free);
}

/* Bound the time h may take to deliver its queued output after a close.
 * False without memory for the timer: the caller then closes h at once,
 * dropping the queue. */
static bool net_linger_start(struct port_tcp *h)
{
    struct net_linger *l = malloc(sizeof *l);
    if (!l)
        return false;
    if (uv_timer_init(sim_loop(), &l->timer) != 0) {
        free(l);
        return false;
    }
    l->h = h;
    h->linger = l;
    uv_timer_start(&l->timer, net_on_linger, NET_LINGER_MS, 0);
    return true;
}

void port_tcp_close(port_tcp_t *h)
{
    if (h->closing)
        return;
    h->closing = true;
    h->owner = NULL;
    net_stop_reading(h);
    if (!h->listener && h->out_queued && !h->reset) {
        /* Send what is queued first; the loop stays alive for it. */
        uv_shutdown_t *req = malloc(sizeof *req);
        if (req && net_linger_start(h)) {
            uv_ref((uv_handle_t *)&h->tcp);
            if (uv_shutdown(req, (uv_stream_t *)&h->tcp, net_on_shutdown) == 0)
                return;
            net_linger_end(h);
        }
        free(req);
    }
    uv_close((uv_handle_t *)&h->tcp, net_free);
}
