/*
 * gateway.h - the internals of telnet-gateway shared by its files
 * (docs/telnet.md). Each file owns the prefix of its functions:
 *
 *   gateway.c  capos_main: caps, the listener, starting and joining the
 *              workers; console lines and audit records (gateway_)
 *   worker.c   one worker thread: its event loop, accepting (and
 *              refusing over the bound), the negotiation tick (worker_)
 *   conn.c     one connection's record and negotiation I/O: recv, send,
 *              the shell's end, aborts and freeing the record (conn_)
 *   launch.c   a negotiated connection to a running shell:
 *              intoTerminalSession, launchShell, the shell's wait
 *              (launch_)
 *   calls.c    submitting asynchronous calls (calls_); their results are
 *              read with capos-rt's capos_rt_result_* helpers
 *   negotiate.c the Telnet option policy over libtelnet (tn_neg_,
 *              negotiate.h)
 *
 * Threads: a worker's records and buffers are touched by its own thread
 * only; struct gateway is read-only while workers run, except live and
 * next_id, which are updated atomically.
 */
#ifndef CAPOS_TELNET_GATEWAY_H
#define CAPOS_TELNET_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capos.capnp.h"
#include "capos_rt.h"
#include "negotiate.h"

#define CONN_MAX 64u          /* connections at once, all workers together */
#define WORKERS 6u            /* worker threads, each on its own ring */
#define WORKER_CONNS 11u      /* connection records per worker */
#define RING_RESERVE 8u       /* CQ slots for synchronous calls and releases */
#define RECV_MAX 512u         /* bytes asked for per negotiation recv */
#define TICK_NS 100000000ull  /* 100 ms */
#define NEG_TIMEOUT_TICKS 20u /* 2 s */
#define BACKLOG 128u          /* a burst of clients must fit the host queue */
#define ACCEPT_FAILURES_MAX 16u /* in a row: the listener is broken */
#define RES_BUF 1024u           /* result buffer of one asynchronous call */
#define CALL_BUF 2048u          /* params and results of synchronous calls */
#define PEER_MAX 47u

/* A worker's asynchronous calls (accept, tick, two per connection) and
 * the reserve fit its ring's CQ. */
_Static_assert(2u + 2u * WORKER_CONNS + RING_RESERVE <= CAP_CQ_ENTRIES,
               "a worker could need more completions than its CQ holds");
/* With every connection open, some worker still has a free record and an
 * accept waiting, to refuse the next one. */
_Static_assert(WORKERS *WORKER_CONNS > CONN_MAX,
               "too few records to refuse a connection over the bound");
/* One accept per worker waits on the listener (at most 8, docs/net.md);
 * the workers and the main thread fit ProcessLimits' default 8 threads. */
_Static_assert(WORKERS <= 8u && WORKERS + 1u <= 8u, "too many workers");

enum conn_state {
    C_FREE,
    C_NEGOTIATING, /* recv outstanding, replies being sent */
    C_NEG_DONE,    /* answered or timed out: draining the last send */
    C_RUNNING,     /* the shell runs; its wait is (or will be) outstanding */
    C_CLOSING,     /* socket closed: waiting for outstanding calls */
};

struct conn {
    enum conn_state st;
    unsigned id; /* connection number, for console lines */
    capos_cap_t sock, proc;
    bool have_sock, have_proc;
    bool timed_out;    /* the client did not answer the negotiation in time */
    struct tn_neg neg; /* while negotiating (no allocation of its own) */
    char peer[PEER_MAX + 1];
    uint64_t recv_tag, send_tag, wait_tag;   /* 0: none outstanding */
    uint8_t *recv_res, *send_par, *wait_res; /* RES_BUF each */
    unsigned ticks_left;
};

struct gateway;

/* One worker thread: its own ring (capos-rt finds it), buffers and
 * connection table. Only its thread touches it while it runs. */
struct worker {
    struct gateway *g;
    unsigned index;
    bool have_listener; /* this worker still accepts */
    bool spawned;
    capos_thread_t thread;
    uint8_t *pbuf, *rbuf;           /* synchronous calls */
    uint8_t *accept_res, *tick_res; /* RES_BUF each */
    uint8_t tick_par[64], accept_par[64];
    uint64_t accept_tag, tick_tag;
    struct conn conns[WORKER_CONNS];
    unsigned accept_failures; /* in a row */
};

/* Shared by the workers: caps (table-wide, usable from any thread's
 * ring), read-only while they run, and two counters updated
 * atomically. */
struct gateway {
    capos_cap_t authority, listener, launcher, timer, audit, console;
    bool have_audit, have_console, have_listener;
    uint16_t port;
    uint8_t *pbuf, *rbuf; /* the main thread's synchronous calls */
    unsigned limit;       /* connections at once (CONN_MAX with every worker) */
    unsigned live;        /* connections open, all workers (atomic) */
    unsigned next_id;     /* last connection number given (atomic) */
    struct worker workers[WORKERS];
};

/* ---- gateway.c ---- */

/* One console line, control bytes escaped (capos_console_vprintf). */
void gateway_say(struct gateway *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Best-effort audit record, category "telnet"; detail names the
 * connection, never its data. */
void gateway_audit(struct gateway *g, const char *code, uint16_t outcome,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- worker.c ---- */

/* A worker thread's body (arg: its struct worker): its loop. */
void worker_main(void *arg);
/* Buffers of worker w, allocated before it starts; false when out of
 * memory. */
bool worker_alloc(struct worker *w);
/* Free what worker w still holds once its thread has ended. */
void worker_end(struct worker *w);

/* ---- conn.c ---- */

void conn_start(struct worker *w, struct conn *c);
void conn_reap(struct worker *w, struct conn *c);
void conn_abort(struct worker *w, struct conn *c, const char *code,
                uint16_t outcome, const char *why);
void conn_close_socket(struct worker *w, capos_cap_t sock);
void conn_neg_finish(struct worker *w, struct conn *c);
void conn_on_recv(struct worker *w, struct conn *c, const CapCqe *cqe);
void conn_on_send(struct worker *w, struct conn *c, const CapCqe *cqe);
void conn_on_wait(struct worker *w, struct conn *c, const CapCqe *cqe);

/* ---- launch.c ---- */

void launch_shell(struct worker *w, struct conn *c);

/* ---- calls.c ---- */

uint64_t calls_submit(CapSqe *sqe);
/* Result messages and caps: capos-rt's capos_rt_result_msg,
 * capos_rt_result_cap and capos_rt_drop_result_caps. */

#endif /* CAPOS_TELNET_GATEWAY_H */
