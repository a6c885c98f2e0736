/*
 * sim/port/net_uv.c - TCP of the hosted port: the port.h port_tcp_* functions
 * over libuv, and the host-only helpers of sim/port/net_uv.h.
 *
 * Every host socket is one struct port_tcp: a connection is a uv_tcp_t and
 * its buffers; a listener is a listening socket of our own watched by a
 * uv_poll_t, so that we accept each connection ourselves with accept4 and
 * get its peer address from the accept (see port_tcp_accept).
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

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "net_uv.h"
#include "port.h"
#include "port_uv.h"

#define NET_UV_IN_MAX 65536u   /* received bytes buffered per connection */
#define NET_UV_OUT_MAX 262144u /* bytes queued for sending per connection */
/* A connection closed with output still queued has this long to deliver
 * it (the peer must read); then it is reset (docs/net.md "Closing"). */
#define NET_UV_LINGER_MS 5000u

struct port_tcp {
    union { /* first: callbacks cast the handle back */
        uv_handle_t handle;
        uv_tcp_t tcp;   /* connection */
        uv_poll_t poll; /* listener: readable when a connection waits */
    } u;
    void *owner; /* the model's object; NULL once closed */
    bool listener;
    bool closing;
    uint16_t guest_port, bound; /* listener: its forward, the real port */
    bool watched;
    /* Listener: its socket, and whether a connection waits in the host's
     * backlog (the poll is stopped until port_tcp_accept takes one). */
    int fd;
    bool conn_waiting;
    /* Connection. */
    bool reading, eof, reset;
    uint64_t received;
    size_t out_queued;
    struct net_uv_linger *linger; /* closed with output queued: its bound */
    size_t in_head, in_tail;
    struct port_tcp *next, *prev; /* live list */
    char peer[16];
    uint16_t peer_port;
    uint8_t in[NET_UV_IN_MAX];
};

struct net_uv_write {
    uv_write_t req;
    struct port_tcp *h;
    size_t len;
    char data[];
};

/* The bound on a closed connection's queued output (one timer). */
struct net_uv_linger {
    uv_timer_t timer; /* first: the close callback casts it back */
    struct port_tcp *h;
};

static struct port_tcp *net_uv_live;
static uint64_t net_uv_nreset_undelivered; /* connections reset by the bound */
/* A descriptor (on /dev/null) opened with the first listener and kept
 * until sim_net_close, to give up when the process runs out of them
 * (net_uv_shed). */
static int net_uv_reserve = -1;
static unsigned net_uv_nlive;
static bool net_uv_quiet;
/* Successful binds per guest port (the first NET_UV_BIND_PORTS ports seen). */
#define NET_UV_BIND_PORTS 16u
static struct {
    uint16_t guest;
    uint64_t n;
} net_uv_binds[NET_UV_BIND_PORTS];

/* ---- host-only helpers (net_uv.h) -------------------------------- */

unsigned sim_net_live(void)
{
    return net_uv_nlive;
}

uint64_t sim_net_reset_undelivered(void)
{
    return net_uv_nreset_undelivered;
}

void sim_net_set_quiet(bool quiet)
{
    net_uv_quiet = quiet;
}

unsigned sim_net_listening(uint16_t guest_port)
{
    unsigned n = 0;
    for (const struct port_tcp *h = net_uv_live; h; h = h->next)
        n += h->listener && !h->closing && h->guest_port == guest_port;
    return n;
}

uint16_t sim_net_bound_port(uint16_t guest_port)
{
    for (const struct port_tcp *h = net_uv_live; h; h = h->next)
        if (h->listener && !h->closing && h->guest_port == guest_port)
            return h->bound;
    return 0;
}

uint64_t sim_net_binds(uint16_t guest_port)
{
    for (unsigned i = 0; i < NET_UV_BIND_PORTS; i++)
        if (net_uv_binds[i].n && net_uv_binds[i].guest == guest_port)
            return net_uv_binds[i].n;
    return 0;
}

static void net_uv_count_bind(uint16_t guest_port)
{
    for (unsigned i = 0; i < NET_UV_BIND_PORTS; i++)
        if (!net_uv_binds[i].n || net_uv_binds[i].guest == guest_port) {
            net_uv_binds[i].guest = guest_port;
            net_uv_binds[i].n++;
            return;
        }
}

unsigned sim_net_open_conns(void)
{
    unsigned n = 0;
    for (const struct port_tcp *h = net_uv_live; h; h = h->next)
        n += !h->listener && !h->closing;
    return n;
}

static void net_uv_free(uv_handle_t *uh)
{
    struct port_tcp *h = (struct port_tcp *)uh;
    if (h->prev)
        h->prev->next = h->next;
    else
        net_uv_live = h->next;
    if (h->next)
        h->next->prev = h->prev;
    net_uv_nlive--;
    free(h);
}

static void net_uv_linger_free(uv_handle_t *uh)
{
    free(uh);
}

/* Stop and free h's linger timer, if it has one. */
static void net_uv_linger_end(struct port_tcp *h)
{
    if (!h->linger)
        return;
    uv_timer_stop(&h->linger->timer);
    uv_close((uv_handle_t *)&h->linger->timer, net_uv_linger_free);
    h->linger = NULL;
}

/* Close h's libuv handle (freed by its close callback). A listener's
 * socket closes now, with its poll stopped, so that a listen right after
 * may bind the same port. */
static void net_uv_close_handle(struct port_tcp *h)
{
    net_uv_linger_end(h);
    if (!uv_is_closing(&h->u.handle))
        uv_close(&h->u.handle, net_uv_free);
    if (h->listener && h->fd >= 0) {
        close(h->fd);
        h->fd = -1;
    }
}

static void net_uv_close_now(struct port_tcp *h)
{
    h->closing = true;
    h->owner = NULL;
    net_uv_close_handle(h);
}

void sim_net_close(void)
{
    for (struct port_tcp *h = net_uv_live; h; h = h->next)
        net_uv_close_now(h);
    if (net_uv_reserve >= 0)
        close(net_uv_reserve);
    net_uv_reserve = -1;
}

/* ---- helpers ------------------------------------------------------- */

/*
 * A new handle on the live list, not keeping the loop alive. A connection
 * gets its uv_tcp_t here; a listener (fd its listening socket) its
 * uv_poll_t, and then owns fd. NULL on failure (fd is then the caller's).
 */
static struct port_tcp *net_uv_new(void *owner, bool listener, int fd)
{
    struct port_tcp *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    int r = listener ? uv_poll_init(sim_loop(), &h->u.poll, fd)
                     : uv_tcp_init(sim_loop(), &h->u.tcp);
    if (r != 0) {
        free(h);
        return NULL;
    }
    h->owner = owner;
    h->listener = listener;
    h->fd = listener ? fd : -1;
    h->next = net_uv_live;
    if (net_uv_live)
        net_uv_live->prev = h;
    net_uv_live = h;
    net_uv_nlive++;
    uv_unref(&h->u.handle);
    return h;
}

/* Something changed on h: tell its owner (device-callback context). */
static void net_uv_notify(struct port_tcp *h)
{
    sim_port_note_event();
    if (h->owner && !h->closing)
        k_net_ready(h->owner);
}

/* ---- listening ------------------------------------------------------ */

static void net_uv_on_listen_io(uv_poll_t *p, int status, int events);

/* Watch the listening socket for the next connection (libuv's poll is
 * level-triggered: it is stopped while one waits untaken). */
static void net_uv_listen_poll(struct port_tcp *l)
{
    if (!l->closing && !l->conn_waiting &&
        uv_poll_start(&l->u.poll, UV_READABLE, net_uv_on_listen_io) != 0)
        l->conn_waiting = true; /* let the next accept find out */
}

static void net_uv_on_listen_io(uv_poll_t *p, int status, int events)
{
    struct port_tcp *h = (struct port_tcp *)p;
    (void)status; /* an error shows in the accept the model then tries */
    (void)events;
    uv_poll_stop(p);
    h->conn_waiting = true;
    net_uv_notify(h);
}

/* A non-blocking socket bound to sa and listening: 0 and *fd, or
 * PORT_TCP_IN_USE / PORT_TCP_FAILED. */
static int net_uv_listen_socket(const struct sockaddr_in *sa, uint32_t backlog,
                                int *fd)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return PORT_TCP_FAILED;
    int on = 1; /* as libuv's bind: a port in TIME_WAIT is free again */
    (void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(s, (const struct sockaddr *)sa, sizeof *sa) != 0 ||
        listen(s, (int)backlog) != 0) {
        int e = errno;
        close(s);
        return e == EADDRINUSE ? PORT_TCP_IN_USE : PORT_TCP_FAILED;
    }
    *fd = s;
    return 0;
}

int port_tcp_listen(const char *addr, uint16_t port, uint16_t guest_port,
                    uint32_t backlog, void *owner, port_tcp_t **out,
                    uint16_t *bound)
{
    struct sockaddr_in sa;
    int fd;
    if (uv_ip4_addr(addr, port, &sa) != 0)
        return PORT_TCP_FAILED;
    int r = net_uv_listen_socket(&sa, backlog, &fd);
    if (r != 0)
        return r;
    struct port_tcp *h = net_uv_new(owner, true, fd);
    if (!h) {
        close(fd);
        return PORT_TCP_FAILED;
    }
    if (net_uv_reserve < 0)
        net_uv_reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
    socklen_t len = sizeof sa;
    *bound = port;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        *bound = ntohs(sa.sin_port);
    h->guest_port = guest_port;
    h->bound = *bound;
    net_uv_listen_poll(h);
    net_uv_count_bind(guest_port);
    if (!net_uv_quiet)
        fprintf(stderr, "capos-sim: tcp %s:%u -> guest :%u\n", addr,
                (unsigned)*bound, (unsigned)guest_port);
    *out = h;
    return 0;
}

/* ---- connections ---------------------------------------------------- */

static void net_uv_alloc(uv_handle_t *uh, size_t suggested, uv_buf_t *b)
{
    struct port_tcp *h = (struct port_tcp *)uh;
    (void)suggested;
    if (h->in_head == h->in_tail) {
        h->in_head = h->in_tail = 0;
    } else if (h->in_head > 0 && h->in_tail == NET_UV_IN_MAX) {
        memmove(h->in, h->in + h->in_head, h->in_tail - h->in_head);
        h->in_tail -= h->in_head;
        h->in_head = 0;
    }
    b->base = (char *)h->in + h->in_tail;
    b->len = NET_UV_IN_MAX - h->in_tail;
}

static void net_uv_stop_reading(struct port_tcp *h)
{
    if (h->reading)
        uv_read_stop((uv_stream_t *)&h->u.tcp);
    h->reading = false;
}

static void net_uv_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct port_tcp *h = (struct port_tcp *)s;
    (void)b;
    if (n == 0)
        return;
    if (n == UV_ENOBUFS) { /* no room: wait until the model reads */
        net_uv_stop_reading(h);
        return;
    }
    if (n > 0) {
        h->in_tail += (size_t)n;
        h->received += (uint64_t)n;
        if (h->in_tail == NET_UV_IN_MAX && h->in_head == 0)
            net_uv_stop_reading(h);
    } else {
        if (n == UV_EOF)
            h->eof = true;
        else
            h->reset = true;
        net_uv_stop_reading(h);
    }
    net_uv_notify(h);
}

static void net_uv_start_reading(struct port_tcp *h)
{
    if (h->reading || h->eof || h->reset || h->closing)
        return;
    if (h->in_tail == NET_UV_IN_MAX && h->in_head == 0)
        return;
    if (uv_read_start((uv_stream_t *)&h->u.tcp, net_uv_alloc, net_uv_on_read) ==
        0)
        h->reading = true;
    else
        h->reset = true;
}

/*
 * Out of descriptors, listener l's waiting connection cannot be taken,
 * and the level-triggered poll would report it again at once, for ever.
 * As libuv does: give up the reserve descriptor, take the connection
 * and close it (its client sees the end), then take the reserve again.
 */
static void net_uv_shed(struct port_tcp *l)
{
    if (net_uv_reserve < 0)
        return;
    close(net_uv_reserve);
    int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
        close(fd);
    net_uv_reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (!net_uv_quiet)
        fprintf(stderr,
                "capos-sim: out of file descriptors: a connection to guest "
                "port %u was closed before it was accepted\n",
                (unsigned)l->guest_port);
}

/*
 * The peer address comes from accept4 itself, not from getpeername after
 * it: Linux still hands out a connection that was reset while it waited
 * in the backlog, and accept fills in its address, but getpeername on it
 * fails (ENOTCONN). libuv's own listener accepts without an address, so
 * the listener here is a socket of ours (docs/net.md).
 */
int port_tcp_accept(port_tcp_t *l, void *owner, port_tcp_t **out)
{
    if (!l->listener || l->closing)
        return PORT_TCP_FAILED;
    if (!l->conn_waiting)
        return 0;
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int fd = accept4(l->fd, (struct sockaddr *)&sa, &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    int err = errno;
    l->conn_waiting = false;
    if (fd < 0 && (err == EMFILE || err == ENFILE))
        net_uv_shed(l);
    net_uv_listen_poll(l);
    if (fd < 0)
        return 0; /* none waits after all, it went away, or it was shed */
    struct port_tcp *h = net_uv_new(owner, false, -1);
    if (!h) {
        close(fd);
        return PORT_TCP_FAILED;
    }
    if (uv_tcp_open(&h->u.tcp, fd) != 0) {
        close(fd);
        net_uv_close_now(h);
        return PORT_TCP_FAILED;
    }
    (void)uv_tcp_nodelay(&h->u.tcp, 1);
    strcpy(h->peer, "0.0.0.0");
    if (sa.sin_family == AF_INET && len >= sizeof sa) {
        (void)uv_ip4_name(&sa, h->peer, sizeof h->peer);
        h->peer_port = ntohs(sa.sin_port);
    }
    net_uv_start_reading(h);
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
        net_uv_start_reading(h);
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
    net_uv_start_reading(h);
    return (int)cap;
}

uint64_t port_tcp_received(port_tcp_t *h)
{
    return h->received;
}

static void net_uv_on_write(uv_write_t *req, int status)
{
    struct net_uv_write *w = (struct net_uv_write *)req;
    struct port_tcp *h = w->h;
    h->out_queued -= w->len;
    free(w);
    if (status < 0 && status != UV_ECANCELED)
        h->reset = true;
    net_uv_notify(h);
}

int port_tcp_write(port_tcp_t *h, const void *buf, size_t len)
{
    if (h->listener || h->closing || h->reset)
        return PORT_TCP_RESET;
    if (h->out_queued >= NET_UV_OUT_MAX)
        return 0;
    if (len > NET_UV_OUT_MAX - h->out_queued)
        len = NET_UV_OUT_MAX - h->out_queued;
    if (len > INT32_MAX)
        len = INT32_MAX;
    size_t done = 0;
    if (h->out_queued == 0 && len > 0) {
        uv_buf_t b = uv_buf_init((char *)(uintptr_t)buf, (unsigned)len);
        int r = uv_try_write((uv_stream_t *)&h->u.tcp, &b, 1);
        if (r > 0)
            done = (size_t)r;
        else if (r != UV_EAGAIN && r != UV_ENOSYS) {
            h->reset = true;
            return PORT_TCP_RESET;
        }
    }
    if (done < len) {
        size_t rest = len - done;
        struct net_uv_write *w = malloc(sizeof *w + rest);
        if (!w)
            return (int)done;
        memcpy(w->data, (const char *)buf + done, rest);
        w->h = h;
        w->len = rest;
        uv_buf_t b = uv_buf_init(w->data, (unsigned)rest);
        if (uv_write(&w->req, (uv_stream_t *)&h->u.tcp, &b, 1,
                     net_uv_on_write)) {
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
        uv_ref(&h->u.handle);
    else
        uv_unref(&h->u.handle);
}

static void net_uv_on_shutdown(uv_shutdown_t *req, int status)
{
    struct port_tcp *h = (struct port_tcp *)req->handle;
    (void)status;
    free(req);
    net_uv_close_handle(h);
}

/* The peer did not take h's queued output within NET_UV_LINGER_MS of the
 * close: reset the connection and say so. SO_LINGER 0 makes the close
 * send RST and drop the queue (uv_tcp_close_reset refuses a handle
 * whose shutdown is pending); the pending writes and shutdown end with
 * UV_ECANCELED. */
static void net_uv_on_linger(uv_timer_t *t)
{
    struct port_tcp *h = ((struct net_uv_linger *)t)->h;
    size_t left = h->out_queued;
    net_uv_linger_end(h);
    if (uv_is_closing(&h->u.handle))
        return;
    net_uv_nreset_undelivered++;
    if (!net_uv_quiet)
        fprintf(stderr,
                "net: connection from %s:%u reset: %zu bytes of output not "
                "taken within %u ms of its close (the client stopped "
                "reading)\n",
                h->peer, (unsigned)h->peer_port, left, NET_UV_LINGER_MS);
    uv_os_fd_t fd;
    if (uv_fileno(&h->u.handle, &fd) == 0) {
        struct linger now = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
    }
    h->reset = true;
    uv_close(&h->u.handle, net_uv_free);
}

/* Bound the time h may take to deliver its queued output after a close.
 * False without memory for the timer: the caller then closes h at once,
 * dropping the queue. */
static bool net_uv_linger_start(struct port_tcp *h)
{
    struct net_uv_linger *l = malloc(sizeof *l);
    if (!l)
        return false;
    if (uv_timer_init(sim_loop(), &l->timer) != 0) {
        free(l);
        return false;
    }
    l->h = h;
    h->linger = l;
    uv_timer_start(&l->timer, net_uv_on_linger, NET_UV_LINGER_MS, 0);
    return true;
}

void port_tcp_close(port_tcp_t *h)
{
    if (h->closing)
        return;
    h->closing = true;
    h->owner = NULL;
    net_uv_stop_reading(h);
    if (!h->listener && h->out_queued && !h->reset) {
        /* Send what is queued first; the loop stays alive for it. */
        uv_shutdown_t *req = malloc(sizeof *req);
        if (req && net_uv_linger_start(h)) {
            uv_ref(&h->u.handle);
            if (uv_shutdown(req, (uv_stream_t *)&h->u.tcp,
                            net_uv_on_shutdown) == 0)
                return;
            net_uv_linger_end(h);
        }
        free(req);
    }
    net_uv_close_handle(h);
}
