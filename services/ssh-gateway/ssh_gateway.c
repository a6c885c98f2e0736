/*
 * ssh-gateway - the SSH terminal host (builtin "ssh-gateway";
 * docs/ssh.md). Development only: its host key comes from the manifest.
 *
 * It loads the host key through its SshHostKey cap (hostkey.c), makes one
 * libssh bind with the pinned algorithms (transport.c), listens once on
 * the guest port of its scoped TcpListenAuthority (22 in
 * fixtures/system-ssh-shell.capnp) and serves every connection at once
 * from GW_WORKERS worker threads, each on a ring of its own with its own
 * accept and connection table, as telnet-gateway does (docs/telnet.md):
 * a connection lives and dies on the worker that accepted it. Per
 * connection the worker bridges the TcpSocket to a descriptor
 * (services/rt/sockbridge.h) and runs libssh on it non-blocking; the
 * loop waits in cap_enter for the bridges' completions, the accept and a
 * 100 ms tick (the login grace time).
 *
 * Caps: "listener" (TcpListenAuthority), "hostKey" (SshHostKey), "timer"
 * (Timer), "sessions" (SessionManager through its sshGateway export:
 * public-key logins), "keys" (AuthorizedKeyStore: key probes),
 * "terminals" (TerminalSessionFromByteStream) and "launcher"
 * (RestrictedShellLauncher, badge 22: capos-shell for each shell
 * request, term.c), all required; "audit" (AuditLog, category "ssh"),
 * "console" (one line per connection opened and closed, never a byte of its
 * data) and "threads" (its own ThreadSpawner; without it the main thread serves
 * alone), optional. It never holds NetworkManager, ProcessSpawner or
 * CredentialStore.
 *
 * Limits: GW_CONN_MAX connections at once over all workers, of which
 * GW_UNAUTH_MAX not yet authenticated (sshd's MaxStartups); one beyond
 * either is closed at once with an audit record. A worker's asynchronous calls
 * are its accept, its tick, two per connection (the bridge's recv and
 * send) and one per shell (its terminal's drain, term.c; at most
 * GW_WORKER_SHELLS), within its ring's CQ with a reserve for its
 * synchronous calls.
 * A connection not authenticated within GW_GRACE_TICKS is closed
 * (sshd's LoginGraceTime).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capos.capnp.h"
#include "gateway.h"
#include "sync.h"

#define GW_BACKLOG 128u
#define GW_ACCEPT_FAILURES_MAX 16u

_Static_assert(GW_WORKER_SHELLS >= 1u && GW_WORKER_SHELLS <= GW_WORKER_CONNS,
               "a worker's CQ must hold at least one shell's drain");
_Static_assert(GW_WORKERS *GW_WORKER_CONNS > GW_CONN_MAX,
               "too few records to refuse a connection over the bound");
_Static_assert(GW_WORKERS + 1u <= 8u, "too many workers for 8 threads");

void gw_say(struct gateway *g, const char *fmt, ...)
{
    va_list ap;
    if (!g->have_console)
        return;
    va_start(ap, fmt);
    capos_console_vprintf(g->console, fmt, ap);
    va_end(ap);
}

void gw_audit(struct gateway *g, const char *code, uint16_t outcome,
              const char *fmt, ...)
{
    if (!g->have_audit)
        return;
    char detail[CAPOS_AUDIT_DETAIL_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    (void)capos_audit_printf(g->audit, "ssh", code, outcome, "%s", detail);
}

/* ---- connections ------------------------------------------------------- */

static struct conn *gw_free_record(struct worker *w)
{
    for (unsigned i = 0; i < GW_WORKER_CONNS; i++)
        if (w->conns[i].st == C_FREE)
            return &w->conns[i];
    return NULL;
}

/* End c: libssh's session (a disconnect if still up), the bridge (which
 * closes the TcpSocket and waits for its calls), the record. */
static void gw_conn_close(struct worker *w, struct conn *c, const char *why)
{
    term_end(c); /* the shell's terminal hangs up first */
    transport_end(c);
    auth_end(c); /* the session ends with its connection */
    if (c->fd >= 0)
        close(c->fd);
    capos_sockbridge_free(c->br);
    gw_say(w->g, "ssh-gateway: connection %u closed: %s", c->id, why);
    gw_audit(w->g, "connection-closed", CAPOS_AUDIT_OUTCOME_INFO,
             "connection %u from %s: %s", c->id, c->peer, why);
    gw_authenticated(c); /* uncount it if it never got there */
    memset(c, 0, sizeof *c);
    c->fd = -1;
    __atomic_fetch_sub(&w->g->live, 1u, __ATOMIC_RELAXED);
}

void gw_authenticated(struct conn *c)
{
    if (!c->unauth)
        return;
    c->unauth = false;
    __atomic_fetch_sub(&c->w->g->unauth, 1u, __ATOMIC_RELAXED);
}

/* Refuse connection s from peer: it is released (closed) at once. */
static void gw_refuse(struct gateway *g, capos_cap_t s, const char *peer,
                      const char *code, const char *why)
{
    capos_rt_release(s); /* the last reference closes it */
    gw_say(g, "ssh-gateway: refused %s: %s", peer, why);
    gw_audit(g, code, CAPOS_AUDIT_OUTCOME_DENIED, "%s: %s", peer, why);
}

/* The peer "a.b.c.d:port" of an accept result, printable. */
static void gw_peer(capnp_struct *ar, char *pb, size_t cap)
{
    capnp_struct peer;
    const char *a;
    size_t an, k = 0;
    snprintf(pb, cap, "?");
    if (capos_TcpAcceptResult_accepted_get_peer(ar, &peer) != 0 ||
        capos_SocketAddress_get_address(&peer, &a, &an) != 0)
        return;
    for (size_t i = 0; i < an && k + 7 < cap; i++)
        pb[k++] = (a[i] >= 0x21 && a[i] < 0x7f) ? a[i] : '?';
    snprintf(pb + k, cap - k, ":%u",
             (unsigned)capos_SocketAddress_get_port(&peer));
}

/* A new connection s from peer: bridge it and start SSH on it. */
static void gw_conn_open(struct worker *w, capos_cap_t s, const char *peer)
{
    struct gateway *g = w->g;
    struct conn *c = gw_free_record(w);
    char why[96];
    if (!c || !capos_bounded_inc(&g->live, &g->limit)) {
        snprintf(why, sizeof why, "all %u connections in use", g->limit);
        gw_refuse(g, s, peer, "connection-refused-full", why);
        return;
    }
    if (!capos_bounded_inc(&g->unauth, &g->unauth_limit)) {
        __atomic_fetch_sub(&g->live, 1u, __ATOMIC_RELAXED);
        snprintf(why, sizeof why,
                 "%u connections are not authenticated yet (MaxStartups)",
                 g->unauth_limit);
        gw_refuse(g, s, peer, "connection-refused-unauthenticated", why);
        return;
    }
    memset(c, 0, sizeof *c);
    c->unauth = true;
    c->w = w;
    c->fd = -1;
    c->id = __atomic_add_fetch(&g->next_id, 1u, __ATOMIC_RELAXED);
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    c->ticks_left = GW_GRACE_TICKS;
    c->st = C_KEX;
    gw_say(g, "ssh-gateway: connection %u from %s opened", c->id, c->peer);
    gw_audit(g, "connection-opened", CAPOS_AUDIT_OUTCOME_INFO,
             "connection %u from %s", c->id, c->peer);
    int r = capos_sockbridge_open(s, &c->br, &c->fd);
    if (r != 0) {
        char why[80];
        snprintf(why, sizeof why, "no socket bridge (%s)",
                 r == CAPOS_RT_E_NO_MEMORY ? "out of memory"
                 : r == CAPOS_SOCKBRIDGE_E_HOST
                     ? "the host refused a descriptor"
                     : "the ring is full");
        c->br = NULL;
        gw_conn_close(w, c, why);
        return;
    }
    if (!transport_start(g, c))
        gw_conn_close(w, c, "the SSH transport ended");
}

/* ---- the worker loop ---------------------------------------------------- */

static void gw_post_accept(struct worker *w)
{
    uint8_t par[32];
    capnp_builder b;
    capnp_struct_builder p;
    size_t len;
    capnp_builder_init(&b, par, sizeof par);
    capos_TcpListener_accept_Params_init_root(&b, &p);
    capnp_finish(&b, &len);
    memcpy(w->accept_res, par, len);
    CapSqe sqe;
    capos_TcpListener_accept_sqe(&sqe, w->g->listener.id,
                                 capos_va(w->accept_res), (uint32_t)len,
                                 capos_va(w->accept_res), GW_RES_BUF, 0);
    sqe.user_data = capos_rt_tag();
    w->accept_tag = capos_rt_submit(&sqe) == 0 ? sqe.user_data : 0;
}

static void gw_post_tick(struct worker *w)
{
    uint8_t par[32];
    capnp_builder b;
    capnp_struct_builder p;
    size_t len;
    capnp_builder_init(&b, par, sizeof par);
    capos_Timer_sleep_Params_init_root(&b, &p);
    capos_Timer_sleep_Params_set_ns(&p, GW_TICK_NS);
    capnp_finish(&b, &len);
    memcpy(w->tick_res, par, len);
    CapSqe sqe;
    capos_Timer_sleep_sqe(&sqe, w->g->timer.id, capos_va(w->tick_res),
                          (uint32_t)len, capos_va(w->tick_res), GW_RES_BUF, 0);
    sqe.user_data = capos_rt_tag();
    w->tick_tag = capos_rt_submit(&sqe) == 0 ? sqe.user_data : 0;
}

static void gw_on_accept(struct worker *w, const CapCqe *cqe)
{
    w->accept_tag = 0;
    capnp_message m;
    capnp_struct root, ar;
    CapTransferResult rec;
    bool decoded =
        capos_rt_result_msg(cqe, w->accept_res, GW_RES_BUF, &m, &root) &&
        capos_TcpListener_accept_Results_get_result(&root, &ar) == 0;
    if (!decoded ||
        capos_TcpAcceptResult_which(&ar) !=
            CAPOS_TCP_ACCEPT_RESULT_WHICH_ACCEPTED ||
        !capos_rt_result_cap(cqe, w->accept_res, GW_RES_BUF, 0, &rec) ||
        rec.interface_id != CAPOS_TCP_SOCKET_INTERFACE_ID) {
        capos_rt_drop_result_caps(cqe, w->accept_res, GW_RES_BUF, UINT32_MAX);
        if ((decoded &&
             capos_TcpAcceptResult_which(&ar) ==
                 CAPOS_TCP_ACCEPT_RESULT_WHICH_ERROR &&
             capos_TcpAcceptResult_get_error(&ar) == CAPOS_NET_ERROR_CLOSED) ||
            ++w->accept_failures > GW_ACCEPT_FAILURES_MAX) {
            gw_say(w->g, "ssh-gateway: worker %u: no new connections",
                   w->index);
            w->have_listener = false;
        }
        return;
    }
    w->accept_failures = 0;
    capos_rt_drop_result_caps(cqe, w->accept_res, GW_RES_BUF, 0);
    char peer[GW_PEER_MAX + 1];
    gw_peer(&ar, peer, sizeof peer);
    gw_conn_open(w, (capos_cap_t){rec.cap_id, rec.interface_id}, peer);
}

/* The login grace time: a connection not past userauth in time ends. */
static void gw_on_tick(struct worker *w)
{
    w->tick_tag = 0;
    for (unsigned i = 0; i < GW_WORKER_CONNS; i++) {
        struct conn *c = &w->conns[i];
        if (c->st == C_FREE || c->st == C_SESSION || --c->ticks_left > 0)
            continue;
        gw_audit(w->g, "ssh-login-grace-expired", CAPOS_AUDIT_OUTCOME_DENIED,
                 "connection %u from %s: not authenticated in %u s", c->id,
                 c->peer,
                 (unsigned)(GW_GRACE_TICKS * GW_TICK_NS / 1000000000u));
        gw_conn_close(w, c, "login grace time over");
    }
}

/* A bridge completion of connection c: let libssh run on it. */
static void gw_on_bridge(struct worker *w, struct conn *c, const CapCqe *cqe)
{
    (void)capos_sockbridge_complete(c->br, cqe);
    if (!transport_step(w->g, c) || !term_flush(c))
        gw_conn_close(w, c, "the client left or the SSH transport ended");
}

/* A drain of connection c's terminal completed. */
static void gw_on_drain(struct worker *w, struct conn *c, const CapCqe *cqe)
{
    if (!term_on_drain(c, cqe) || !transport_step(w->g, c))
        gw_conn_close(w, c, "the client left or the SSH transport ended");
}

enum { OP_ACCEPT, OP_TICK, OP_CONN, OP_DRAIN };

/* Collect the worker's outstanding tags; returns how many. */
static unsigned gw_tags(struct worker *w, uint64_t *tags, uint16_t *who,
                        uint8_t *what)
{
    unsigned n = 0;
    bool busy = false;
    if (w->have_listener && !w->accept_tag && gw_free_record(w))
        gw_post_accept(w);
    if (w->accept_tag) {
        tags[n] = w->accept_tag;
        what[n++] = OP_ACCEPT;
    }
    for (unsigned i = 0; i < GW_WORKER_CONNS; i++) {
        struct conn *c = &w->conns[i];
        if (c->st == C_FREE)
            continue;
        busy = true;
        uint64_t t[2];
        unsigned k = capos_sockbridge_tags(c->br, t);
        for (unsigned j = 0; j < k; j++) {
            tags[n] = t[j];
            who[n] = (uint16_t)i;
            what[n++] = OP_CONN;
        }
        term_post_drain(c);
        if (c->drain_tag) {
            tags[n] = c->drain_tag;
            who[n] = (uint16_t)i;
            what[n++] = OP_DRAIN;
        }
    }
    if (busy && !w->tick_tag)
        gw_post_tick(w);
    if (w->tick_tag) {
        tags[n] = w->tick_tag;
        what[n++] = OP_TICK;
    }
    return n;
}

/* One worker's event loop, on its own ring. Returns when it has no
 * listener and no connection left, or a wait fails. */
static void gw_run(struct worker *w)
{
    uint64_t tags[2 + 3 * GW_WORKER_CONNS];
    uint16_t who[2 + 3 * GW_WORKER_CONNS] = {0};
    uint8_t what[2 + 3 * GW_WORKER_CONNS];
    for (;;) {
        unsigned n = gw_tags(w, tags, who, what), which;
        if (n == 0)
            return;
        CapCqe cqe;
        int r = capos_rt_wait_any(tags, n, &which, &cqe, CAP_TIMEOUT_INFINITE);
        if (r != 0) {
            gw_say(w->g, "ssh-gateway: worker %u: waiting failed (error %d)",
                   w->index, r);
            return;
        }
        if (what[which] == OP_ACCEPT)
            gw_on_accept(w, &cqe);
        else if (what[which] == OP_TICK)
            gw_on_tick(w);
        else if (what[which] == OP_DRAIN)
            gw_on_drain(w, &w->conns[who[which]], &cqe);
        else
            gw_on_bridge(w, &w->conns[who[which]], &cqe);
        capos_rt_flush_releases();
    }
}

static void gw_worker_main(void *arg)
{
    gw_run(arg);
}

/* ---- start-up ------------------------------------------------------------ */

/* TcpListenAuthority.port and .listen. Returns 0 with g->listener set. */
static int gw_listen(struct gateway *g)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message m;
    capnp_struct root, lr;
    CapCqe cqe;
    size_t len;
    char why[160];
    capnp_builder_init(&b, g->pbuf, GW_CALL_BUF);
    capos_TcpListenAuthority_port_Params_init_root(&b, &p);
    if (capos_rt_call_capnp(g->authority,
                            CAPOS_TCP_LISTEN_AUTHORITY_PORT_METHOD_ID, &b,
                            g->rbuf, GW_CALL_BUF, &m, &root) >= 0)
        g->port = capos_TcpListenAuthority_port_Results_get_port(&root);
    capnp_builder_init(&b, g->pbuf, GW_CALL_BUF);
    capos_TcpListenAuthority_listen_Params_init_root(&b, &p);
    capos_TcpListenAuthority_listen_Params_set_backlog(&p, GW_BACKLOG);
    int r = capnp_finish(&b, &len);
    if (r == 0)
        r = capos_rt_invoke(g->authority,
                            CAPOS_TCP_LISTEN_AUTHORITY_LISTEN_METHOD_ID,
                            g->pbuf, (uint32_t)len, g->rbuf, GW_CALL_BUF, &cqe);
    CapTransferResult rec;
    if (r >= 0)
        cqe.result = r;
    if (r < 0 || capnp_msg_init(&m, g->rbuf, (size_t)r, NULL) != 0 ||
        capnp_msg_root(&m, &root) != 0 ||
        capos_TcpListenAuthority_listen_Results_get_result(&root, &lr) != 0 ||
        capos_TcpListenResult_which(&lr) !=
            CAPOS_TCP_LISTEN_RESULT_WHICH_LISTENER ||
        !capos_rt_result_cap(&cqe, g->rbuf, GW_CALL_BUF, 0, &rec) ||
        rec.interface_id != CAPOS_TCP_LISTENER_INTERFACE_ID) {
        if (r >= 0)
            capos_rt_drop_result_caps(&cqe, g->rbuf, GW_CALL_BUF, UINT32_MAX);
        gw_say(g, "ssh-gateway: cannot listen on guest port %u: %s",
               (unsigned)g->port,
               r < 0 ? capos_rt_error_text(g->rbuf, GW_CALL_BUF, r, why,
                                           sizeof why)
                     : "the listen was refused");
        return r < 0 ? r : CAPOS_RT_E_NOT_FOUND;
    }
    capos_rt_drop_result_caps(&cqe, g->rbuf, GW_CALL_BUF, 0);
    g->listener = (capos_cap_t){rec.cap_id, rec.interface_id};
    g->have_listener = true;
    return 0;
}

/* Start the workers; returns how many started (the bound is lowered to
 * what they serve). */
static unsigned gw_start_workers(struct gateway *g)
{
    unsigned n = 0;
    for (; n < GW_WORKERS; n++) {
        struct worker *w = &g->workers[n];
        w->g = g;
        w->index = n;
        w->have_listener = true;
        w->pbuf = capos_alloc(GW_CALL_BUF);
        w->rbuf = capos_alloc(GW_CALL_BUF);
        w->accept_res = capos_alloc(GW_RES_BUF);
        w->tick_res = capos_alloc(GW_RES_BUF);
        for (unsigned i = 0; i < GW_WORKER_CONNS; i++)
            w->conns[i].fd = -1;
        if (!w->pbuf || !w->rbuf || !w->accept_res || !w->tick_res ||
            capos_rt_thread_spawn(gw_worker_main, w, &w->thread) != 0)
            break;
        w->spawned = true;
    }
    unsigned k = n ? n : 1;
    unsigned limit = k * GW_WORKER_CONNS - 1;
    g->limit = limit < GW_CONN_MAX ? limit : GW_CONN_MAX;
    g->unauth_limit = GW_UNAUTH_MAX < g->limit ? GW_UNAUTH_MAX : g->limit;
    return n;
}

/* Find the caps; false (said) when a required one is missing. */
static bool gw_caps(struct gateway *g, capos_capset_t *caps)
{
    g->have_console =
        capos_capset_find(caps, "console", CAPOS_CONSOLE_INTERFACE_ID,
                          &g->console) == 0;
    g->have_audit =
        capos_capset_find(caps, "audit", CAPOS_AUDIT_LOG_INTERFACE_ID,
                          &g->audit) == 0;
    if (capos_capset_find(caps, "listener",
                          CAPOS_TCP_LISTEN_AUTHORITY_INTERFACE_ID,
                          &g->authority) == 0 &&
        capos_capset_find(caps, "hostKey", CAPOS_SSH_HOST_KEY_INTERFACE_ID,
                          &g->hostkey) == 0 &&
        capos_capset_find(caps, "timer", CAPOS_TIMER_INTERFACE_ID, &g->timer) ==
            0 &&
        capos_capset_find(caps, "sessions", CAPOS_SESSION_MANAGER_INTERFACE_ID,
                          &g->sessions) == 0 &&
        capos_capset_find(caps, "keys", CAPOS_AUTHORIZED_KEY_STORE_INTERFACE_ID,
                          &g->keys) == 0 &&
        capos_capset_find(caps, "terminals",
                          CAPOS_TERMINAL_SESSION_FROM_BYTE_STREAM_INTERFACE_ID,
                          &g->terminals) == 0 &&
        capos_capset_find(caps, "launcher",
                          CAPOS_RESTRICTED_SHELL_LAUNCHER_INTERFACE_ID,
                          &g->launcher) == 0)
        return true;
    gw_say(g, "ssh-gateway: needs caps \"listener\" (TcpListenAuthority), "
              "\"hostKey\" (SshHostKey), \"timer\" (Timer), \"sessions\" "
              "(SessionManager, export sshGateway), \"keys\" "
              "(AuthorizedKeyStore), \"terminals\" "
              "(TerminalSessionFromByteStream) and \"launcher\" "
              "(RestrictedShellLauncher, badge 22)");
    return false;
}

/* The host key and the bind. False (said) on failure. */
static bool gw_transport(struct gateway *g)
{
    char why[200];
    uint8_t pub[32];
    g->hostkey_pem = hostkey_load(g->hostkey, g->pbuf, g->rbuf, GW_CALL_BUF,
                                  pub, why, sizeof why);
    capos_rt_release(g->hostkey); /* the seed was given once */
    ssh_bind b = NULL;
    if (g->hostkey_pem)
        b = transport_bind_new(g->hostkey_pem, why, sizeof why);
    if (!b) {
        gw_say(g, "ssh-gateway: no SSH transport: %s", why);
        return false;
    }
    ssh_bind_free(b); /* each connection makes its own */
    char fp[96];
    hostkey_fingerprint(pub, fp, sizeof fp);
    gw_say(g,
           "ssh-gateway: DEVELOPMENT host key ssh-ed25519 %s (from the "
           "manifest; never use it outside a development loopback)",
           fp);
    return true;
}

int capos_main(capos_capset_t *caps)
{
    struct gateway *g = capos_zalloc(sizeof *g);
    if (!g || !capos_alloc_call_bufs(&g->pbuf, &g->rbuf, GW_CALL_BUF))
        return 1;
    if (!gw_caps(g, caps))
        return 2;
    if (ssh_init() != SSH_OK || !gw_transport(g))
        return 3;
    if (gw_listen(g) != 0)
        return 4;
    capos_rt_release(g->authority); /* one-shot, spent */
    unsigned n = gw_start_workers(g);
    gw_say(g,
           "ssh-gateway: listening on guest port %u (at most %u connections, "
           "%u unauthenticated, %u worker%s; kex %s, host key %s, cipher %s, "
           "compression %s)",
           (unsigned)g->port, g->limit, g->unauth_limit, n ? n : 1u,
           n == 1 ? "" : "s", GW_KEX, GW_HOSTKEY_ALG, GW_CIPHER,
           GW_COMPRESSION);
    if (n == 0 && g->workers[0].tick_res)
        gw_run(&g->workers[0]);
    for (unsigned i = 0; i < n; i++) {
        int64_t code;
        (void)capos_rt_thread_join(&g->workers[i].thread, &code);
    }
    if (g->have_listener)
        capos_rt_release(g->listener);
    hostkey_wipe(g->hostkey_pem);
    ssh_finalize();
    capos_rt_flush_releases();
    return 0;
}
