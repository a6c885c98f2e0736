/*
 * gateway.c - telnet-gateway, the Telnet terminal host (builtin
 * "telnet-gateway"; docs/telnet.md). Demo only: Telnet is plaintext.
 *
 * It listens once on the guest port its scoped TcpListenAuthority names
 * (23 in fixtures/system-telnet.capnp), then serves every connection at
 * once from WORKERS worker threads, each started with
 * capos_rt_thread_spawn on a ring of its own (docs/runtime.md "Threads
 * and rings"). Each worker runs one event loop (capos_rt_submit +
 * capos_rt_wait_any) with its own accept waiting on the shared
 * TcpListener and its own connection table, so a connection lives and
 * dies on the worker that accepted it and nothing is handed between
 * threads. Per connection a worker negotiates the options a telnet client
 * expects with libtelnet (negotiate.c: WILL ECHO, WILL SUPPRESS-GO-AHEAD,
 * DO NAWS; every other option is refused), waits for the answers (at most
 * NEG_TIMEOUT_TICKS), turns the socket into a TerminalSession
 * (TcpSocket.intoTerminalSession) and has RestrictedShellLauncher start
 * capos-shell on it with no session, no profile and no extra grants (the
 * shell logs its user in, as on the console). A client that does not
 * answer in time (a raw TCP client, say) gets its shell all the same:
 * intoTerminalSession ends the recv still waiting with error closed
 * (docs/net.md). The shell's ProcessHandle is waited for asynchronously;
 * when the shell exits (a disconnected client ends the shell's readLine)
 * the connection's record is freed.
 *
 * Caps: "listener" (TcpListenAuthority, required), "launcher"
 * (RestrictedShellLauncher, required), "timer" (Timer, required:
 * negotiation timeouts), "audit" (AuditLog, optional: category "telnet"),
 * "console" (Console, optional: one line per connection opened and
 * closed, never a byte of what the user typed), "threads" (ThreadSpawner
 * of its own process, kernel source threadSpawner: found by interface by
 * capos-rt; without it the main thread serves as the only worker). It
 * never holds NetworkManager, ProcessSpawner or a shell's terminal: the
 * terminal is moved to the launcher, and from it to the shell.
 *
 * Limits: at most CONN_MAX connections at once over all workers (a shared
 * count); a connection beyond them gets one refusal line and is closed.
 * A worker's ring has CAP_CQ_ENTRIES completions outstanding at most
 * (docs/abi.md §4), and a worker holds at most: its accept and its timer
 * tick (one each), and per connection two (a negotiation's recv and send;
 * a running shell's wait, plus the recv that intoTerminalSession ended
 * until the loop takes its CQE). So a worker takes at most WORKER_CONNS
 * connections, with RING_RESERVE completions left for its one synchronous
 * call at a time and the releases capos-rt sends with it; a worker with no
 * free record does not accept, and WORKERS * WORKER_CONNS > CONN_MAX
 * leaves some worker accepting to refuse the connection over the bound.
 * No connection waits for another: there is no queue. Negotiation
 * (negotiate.c) keeps no libtelnet state between reads and is bounded by
 * TN_CARRY_MAX bytes of an incomplete command and TN_OUTQ_MAX bytes of
 * replies; a libtelnet error or warning, reply overflow, a peer
 * closing or a failed call closes that connection only, with an audit
 * record. Bytes of user data a client sends before the negotiation ends
 * are dropped (nothing to log in with has been shown yet).
 *
 * Calls that do not wait for the peer (intoTerminalSession,
 * launchShell, close, audit and console lines, the refusal line) are
 * made synchronously on the worker's ring; recv, send, the shell's wait,
 * the accept and the timer tick are asynchronous. The files and what
 * each owns: gateway.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gateway.h"

/* The schema's name of a NetError, for console lines. */
static const char *gateway_net_error_name(uint16_t e)
{
    static const char *const names[] = {
        [CAPOS_NET_ERROR_ADDRESS_IN_USE] = "addressInUse",
        [CAPOS_NET_ERROR_PERMISSION_DENIED] = "permissionDenied",
        [CAPOS_NET_ERROR_CONNECTION_RESET] = "connectionReset",
        [CAPOS_NET_ERROR_CLOSED] = "closed",
        [CAPOS_NET_ERROR_TIMED_OUT] = "timedOut",
        [CAPOS_NET_ERROR_ALREADY_USED] = "alreadyUsed",
    };
    if (e < sizeof names / sizeof names[0] && names[e])
        return names[e];
    return "an unknown NetError";
}

void gateway_say(struct gateway *g, const char *fmt, ...)
{
    va_list ap;
    if (!g->have_console)
        return;
    va_start(ap, fmt);
    capos_console_vprintf(g->console, fmt, ap);
    va_end(ap);
}

void gateway_audit(struct gateway *g, const char *code, uint16_t outcome,
                   const char *fmt, ...)
{
    if (!g->have_audit)
        return;
    char detail[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    (void)capos_audit_append(g->audit, "telnet", code, outcome, NULL, detail);
}

/* TcpListenAuthority.port: the guest port, for console lines (0 if the
 * call fails; listen says why then). */
static void gateway_ask_port(struct gateway *g)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message m;
    capnp_struct root;
    capnp_builder_init(&b, g->pbuf, CALL_BUF);
    capos_TcpListenAuthority_port_Params_init_root(&b, &p);
    if (capos_rt_call_capnp(g->authority,
                            CAPOS_TCP_LISTEN_AUTHORITY_PORT_METHOD_ID, &b,
                            g->rbuf, CALL_BUF, &m, &root) >= 0)
        g->port = capos_TcpListenAuthority_port_Results_get_port(&root);
}

/* TcpListenAuthority.port and .listen. Returns 0 with g->listener set,
 * else an error with a console line saying why. */
static int gateway_open_listener(struct gateway *g)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message m;
    capnp_struct root, lr;
    gateway_ask_port(g);
    capnp_builder_init(&b, g->pbuf, CALL_BUF);
    capos_TcpListenAuthority_listen_Params_init_root(&b, &p);
    capos_TcpListenAuthority_listen_Params_set_backlog(&p, BACKLOG);
    size_t len;
    CapCqe cqe;
    int r = capnp_finish(&b, &len);
    if (r == 0)
        r = capos_rt_invoke(g->authority,
                            CAPOS_TCP_LISTEN_AUTHORITY_LISTEN_METHOD_ID,
                            g->pbuf, (uint32_t)len, g->rbuf, CALL_BUF, &cqe);
    char why[160];
    if (r < 0) {
        gateway_say(g, "telnet-gateway: cannot listen on guest port %u: %s",
                    (unsigned)g->port,
                    capos_rt_error_text(g->rbuf, CALL_BUF, r, why, sizeof why));
        return r;
    }
    CapTransferResult rec;
    cqe.result = r;
    bool decoded =
        capnp_msg_init(&m, g->rbuf, (size_t)r, NULL) == 0 &&
        capnp_msg_root(&m, &root) == 0 &&
        capos_TcpListenAuthority_listen_Results_get_result(&root, &lr) == 0;
    if (!decoded ||
        capos_TcpListenResult_which(&lr) !=
            CAPOS_TCP_LISTEN_RESULT_WHICH_LISTENER ||
        !capos_rt_result_cap(&cqe, g->rbuf, CALL_BUF, 0, &rec) ||
        rec.interface_id != CAPOS_TCP_LISTENER_INTERFACE_ID) {
        capos_rt_drop_result_caps(&cqe, g->rbuf, CALL_BUF, UINT32_MAX);
        gateway_say(g, "telnet-gateway: guest port %u: listen refused (%s)",
                    (unsigned)g->port,
                    decoded ? gateway_net_error_name(
                                  capos_TcpListenResult_get_error(&lr))
                            : "no listener in the result");
        return CAPOS_RT_E_NOT_FOUND;
    }
    capos_rt_drop_result_caps(&cqe, g->rbuf, CALL_BUF, 0);
    g->listener = (capos_cap_t){rec.cap_id, rec.interface_id};
    g->have_listener = true;
    return 0;
}

/*
 * Start the workers, each on a thread with its own ring. Returns how many
 * started; the bound is lowered to what they can serve with one record
 * to spare (to refuse the connection over it). With none, the caller
 * serves as the only worker.
 */
static unsigned gateway_start_workers(struct gateway *g)
{
    unsigned n = 0;
    int r = 0;
    for (; n < WORKERS; n++) {
        struct worker *w = &g->workers[n];
        w->g = g;
        w->index = n;
        w->have_listener = true;
        if (!worker_alloc(w)) {
            r = CAPOS_RT_E_NO_MEMORY;
            break;
        }
        r = capos_rt_thread_spawn(worker_main, w, &w->thread);
        if (r != 0)
            break;
        w->spawned = true;
    }
    if (n < WORKERS) {
        char ebuf[80];
        gateway_say(g, "telnet-gateway: %u of %u worker threads started (%s)%s",
                    n, WORKERS,
                    r == CAPOS_RT_E_NOT_FOUND
                        ? "no ThreadSpawner"
                        : capos_rt_error_text(NULL, 0, r, ebuf, sizeof ebuf),
                    n ? "" : "; the main thread serves alone");
        unsigned k = n ? n : 1;
        unsigned limit = k * WORKER_CONNS - 1;
        __atomic_store_n(&g->limit, limit < CONN_MAX ? limit : CONN_MAX,
                         __ATOMIC_RELAXED);
    }
    return n;
}

/* The caps of the manifest: console and audit optional, listener,
 * launcher and timer required. False (with a console line) without a
 * required one. */
static bool gateway_find_caps(struct gateway *g, capos_capset_t *caps)
{
    g->have_console =
        capos_capset_find(caps, "console", CAPOS_CONSOLE_INTERFACE_ID,
                          &g->console) == 0;
    g->have_audit =
        capos_capset_find(caps, "audit", CAPOS_AUDIT_LOG_INTERFACE_ID,
                          &g->audit) == 0;
    if (capos_capset_find(caps, "listener",
                          CAPOS_TCP_LISTEN_AUTHORITY_INTERFACE_ID,
                          &g->authority) != 0 ||
        capos_capset_find(caps, "launcher",
                          CAPOS_RESTRICTED_SHELL_LAUNCHER_INTERFACE_ID,
                          &g->launcher) != 0 ||
        capos_capset_find(caps, "timer", CAPOS_TIMER_INTERFACE_ID, &g->timer) !=
            0) {
        gateway_say(g, "telnet-gateway: needs caps \"listener\" "
                       "(TcpListenAuthority), \"launcher\" "
                       "(RestrictedShellLauncher) and \"timer\" (Timer)");
        return false;
    }
    return true;
}

/* Join the n workers started (they end when the listener is gone and
 * their connections have ended), then free every worker's records and
 * buffers. A worker that could not be joined may still run: its memory
 * stays until the process ends. */
static void gateway_join_workers(struct gateway *g, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct worker *w = &g->workers[i];
        int64_t code;
        int r = capos_rt_thread_join(&w->thread, &code);
        if (r == 0)
            w->spawned = false;
        else
            gateway_say(
                g, "telnet-gateway: joining worker %u failed (error %d)", i, r);
    }
    for (unsigned i = 0; i < WORKERS; i++)
        if (!g->workers[i].spawned)
            worker_end(&g->workers[i]);
}

int capos_main(capos_capset_t *caps)
{
    struct gateway *g = capos_zalloc(sizeof *g);
    if (!g || !capos_alloc_call_bufs(&g->pbuf, &g->rbuf, CALL_BUF))
        return 1;
    if (!gateway_find_caps(g, caps))
        return 2;
    if (gateway_open_listener(g) != 0)
        return 3;
    /* The authority was one-shot; nothing more to do with it. */
    capos_rt_release(g->authority);
    g->limit = CONN_MAX;
    unsigned n = gateway_start_workers(g);
    unsigned serving = n ? n : 1u;
    gateway_say(g,
                "telnet-gateway: listening on guest port %u (at most %u "
                "connections, %u worker%s)",
                (unsigned)g->port, g->limit, serving, serving == 1 ? "" : "s");
    if (n == 0 && g->workers[0].tick_res)
        worker_main(&g->workers[0]);
    gateway_join_workers(g, n);
    if (g->have_listener)
        capos_rt_release(g->listener);
    capos_rt_flush_releases();
    capos_free(g->pbuf);
    capos_free(g->rbuf);
    capos_free(g);
    return 0;
}
