/*
 * restricted-shell-launcher - RestrictedShellLauncher (builtin
 * "restricted-shell-launcher"): starts capos-shell, and nothing else, on
 * a TerminalSession its caller hands over (docs/telnet.md).
 *
 * A remote terminal host (telnet-gateway) holds this instead of a
 * ProcessSpawner: it cannot name a program, add a cap, or set a badge.
 * The shell it starts gets exactly what the console shell gets
 * (fixtures/system-default.capnp consoleShellService): the "terminal"
 * passed in, and copies of this launcher's "sessions", "shellAudit"
 * (passed as "audit") and "broker" caps, so it runs the same login flow.
 *
 * Caps: "launcher" (Endpoint, required: serves RestrictedShellLauncher),
 * "spawner" (ProcessSpawner, required), "sessions" (SessionManager),
 * "broker" (AuthorityBroker) and "shellAudit" (AuditLog), all required:
 * the shell's pass-through caps; "audit" (AuditLog, optional: this
 * launcher's own records, category "launch"), "console" (Console,
 * optional).
 *
 * launchShell(session, profile, terminal, grants):
 *   - terminal must be a kernel TerminalSession (interface and facet flag
 *     checked on the transfer record; an endpoint facet is refused, even
 *     one typed TerminalSession): otherwise an invalidArgument
 *     CapException;
 *   - session must be null, except through the SSH gateway's facet
 *     (badge SESSION_FACET_BADGE): the shell logs its user in itself (a
 *     caller-supplied session would let the caller choose who the shell
 *     is): otherwise denied sessionInvalid. Through that facet it may be
 *     a UserSession (the interface checked; else sessionInvalid), which
 *     the shell gets as "login" and starts logged in with (the broker
 *     still decides its bundle);
 *   - profile must be empty, through every facet (the broker picks it):
 *     otherwise denied profileMismatch;
 *   - grants must be empty (fail closed): otherwise denied grantRefused;
 *   - a spawn failure: denied spawnFailed.
 * On every denial the terminal is released, which closes a network
 * terminal. On success the result is launched: the shell's ProcessHandle,
 * moved to the caller (the launcher keeps nothing of the shell).
 * Every launch and denial is audited (launch=remote-shell-*).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "capos_rt.h"
#include "server.h"

#define CALL_BUF 8192u
#define SHELL_BINARY "capos-shell"
/* The badge of the one facet whose caller may hand over an authenticated
 * session: the ssh-gateway's import (fixtures/system-ssh-shell.capnp),
 * which authenticated the key itself (docs/ssh.md "Terminal handoff"). */
#define SESSION_FACET_BADGE 22u

struct rlauncher {
    capos_cap_t ep, spawner, sessions, broker, shell_audit;
    capos_cap_t audit, console;
    bool have_audit, have_console;
    uint8_t *pbuf, *rbuf;
    uint64_t launched;
};

static void say(struct rlauncher *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(struct rlauncher *l, const char *fmt, ...)
{
    va_list ap;
    if (!l->have_console)
        return;
    va_start(ap, fmt);
    capos_console_vprintf(l->console, fmt, ap);
    va_end(ap);
}

/* Best-effort audit record (category "launch") through this launcher's
 * own facet; the log labels it with that facet's badge. */
static void audit(struct rlauncher *l, const char *code, uint16_t outcome,
                  const char *detail)
{
    if (l->have_audit)
        (void)capos_audit_append(l->audit, "launch", code, outcome, NULL,
                                 detail);
}

/* Answer launchShell with result launched (handle index hi) or
 * denied(why) (hi < 0). */
static int launch_result(capos_server_call_t *call, int hi, uint16_t why)
{
    capnp_struct_builder res, lr;
    capos_RestrictedShellLauncher_launchShell_Results_init_root(call->result,
                                                                &res);
    capos_RestrictedShellLauncher_launchShell_Results_init_result(&res, &lr);
    if (hi >= 0)
        capos_LaunchResult_set_launched(&lr, (uint32_t)hi);
    else
        capos_LaunchResult_set_denied(&lr, why);
    return CAPOS_SERVE_REPLY;
}

/* Answer denied(why), audit code, and drop the terminal (closing it). */
static int deny(struct rlauncher *l, capos_server_call_t *call,
                capos_cap_t term, uint16_t why, const char *code,
                const char *detail)
{
    capos_rt_release(term);
    audit(l, code, CAPOS_AUDIT_OUTCOME_DENIED, detail);
    say(l, "restricted-shell-launcher: refused: %s", detail);
    return launch_result(call, -1, why);
}

/*
 * ProcessSpawner.spawn of capos-shell with the four caps of a console
 * shell, and "login" when session is not NULL; term is moved into the
 * child, session copied (the caller releases it). Returns 0 with *handle
 * (the kernel ProcessHandle, owned by the caller) or a negative error
 * with reason filled; term is gone either way (moved, or released here).
 */
static int spawn_shell(struct rlauncher *l, capos_cap_t term,
                       const capos_cap_t *session, capos_cap_t *handle,
                       char *reason, size_t rcap)
{
    static const struct {
        const char *name;
        uint64_t iface;
    } g[5] = {
        {"terminal", CAPOS_TERMINAL_SESSION_INTERFACE_ID},
        {"sessions", CAPOS_SESSION_MANAGER_INTERFACE_ID},
        {"audit", CAPOS_AUDIT_LOG_INTERFACE_ID},
        {"broker", CAPOS_AUTHORITY_BROKER_INTERFACE_ID},
        {"login", CAPOS_USER_SESSION_INTERFACE_ID},
    };
    const capos_cap_t caps[5] = {term, l->sessions, l->shell_audit, l->broker,
                                 session ? *session : term};
    uint32_t n = session ? 5 : 4;
    capnp_builder b;
    capnp_struct_builder p, gs;
    capnp_list_builder gl;
    size_t room = CALL_BUF - 8 - CAP_XFER_MAX * sizeof(CapTransferDescriptor);
    capnp_builder_init(&b, l->pbuf, room);
    capos_ProcessSpawner_spawn_Params_init_root(&b, &p);
    capos_ProcessSpawner_spawn_Params_set_name(&p, SHELL_BINARY,
                                               strlen(SHELL_BINARY));
    capos_ProcessSpawner_spawn_Params_set_binaryName(&p, SHELL_BINARY,
                                                     strlen(SHELL_BINARY));
    capos_ProcessSpawner_spawn_Params_init_grants(&p, n, &gl);
    CapTransferDescriptor desc[5];
    for (uint32_t i = 0; i < n; i++) {
        capnp_list_struct_at(&gl, i, &gs);
        capos_CapGrant_set_name(&gs, g[i].name, strlen(g[i].name));
        capos_CapGrant_set_interfaceId(&gs, g[i].iface);
        capos_CapGrant_source_set_cap(&gs, i);
        /* The terminal is move-only; the rest are this launcher's to
         * keep for the next shell (the session: the caller's copy). */
        desc[i] = (CapTransferDescriptor){.cap_id = caps[i].id,
                                          .mode = i == 0 ? CAP_XFER_MOVE
                                                         : CAP_XFER_COPY};
    }
    size_t len;
    if (capnp_finish(&b, &len) != 0) {
        capos_rt_release(term);
        snprintf(reason, rcap, "spawn request does not fit");
        return CAPOS_RT_E_NO_MEMORY;
    }
    memcpy(l->pbuf + CAP_ALIGN8(len), desc, n * sizeof desc[0]);
    CapSqe sqe;
    capos_ProcessSpawner_spawn_sqe_xfer(&sqe, l->spawner.id, capos_va(l->pbuf),
                                        (uint32_t)len, (uint16_t)n,
                                        capos_va(l->rbuf), CALL_BUF, 0);
    CapCqe cqe;
    int r = capos_rt_call(&sqe, &cqe);
    if (r == 0)
        r = cqe.result;
    if (r < 0) {
        /* A refused CALL moved nothing (docs/abi.md §9): term is ours. */
        capos_rt_release(term);
        capos_rt_error_text(l->rbuf, CALL_BUF, r, reason, rcap);
        return r;
    }
    if (!capos_rt_keep_first_cap(&cqe, l->rbuf,
                                 CAPOS_PROCESS_HANDLE_INTERFACE_ID, handle)) {
        snprintf(reason, rcap, "the spawner returned no ProcessHandle");
        return CAPOS_RT_E_NOT_FOUND;
    }
    return 0;
}

/* Take launchShell's terminal into *term. Returns true, or false with
 * *verdict the invalidArgument refusal (nothing taken). */
static bool take_terminal(capos_server_call_t *call, capos_cap_t *term,
                          int *verdict)
{
    uint32_t ti = CAPNP_CAP_NULL;
    if (capos_RestrictedShellLauncher_launchShell_Params_get_terminal(
            &call->params_root, &ti) != 0 ||
        ti == CAPNP_CAP_NULL || ti >= call->cap_count) {
        *verdict = capos_server_invalid(call, "restricted-shell-launcher: "
                                              "launchShell needs a terminal");
        return false;
    }
    /* Exactly a kernel TerminalSession: a facet typed TerminalSession
     * would pass capos_server_take_cap's check (docs/abi.md §8). */
    if ((call->caps[ti].flags & CAP_XFER_REC_FACET) ||
        capos_server_take_cap(call, ti, CAPOS_TERMINAL_SESSION_INTERFACE_ID,
                              term) != 0) {
        *verdict = capos_server_invalid(call, "restricted-shell-launcher: "
                                              "terminal is not a "
                                              "TerminalSession");
        return false;
    }
    return true;
}

/*
 * launchShell's session into *session (*have false for none): none, or
 * through SESSION_FACET_BADGE a UserSession. Returns true, or false with
 * *verdict the denial (term released).
 */
static bool take_session(struct rlauncher *l, capos_server_call_t *call,
                         capos_cap_t term, capos_cap_t *session, bool *have,
                         int *verdict)
{
    uint32_t si = CAPNP_CAP_NULL;
    const char *why = "a session was supplied; the shell logs in itself";
    *have = false;
    if (capos_RestrictedShellLauncher_launchShell_Params_get_session(
            &call->params_root, &si) == 0) {
        if (si == CAPNP_CAP_NULL)
            return true;
        if (call->badge == SESSION_FACET_BADGE) {
            if (si < call->cap_count &&
                capos_server_take_cap(call, si, CAPOS_USER_SESSION_INTERFACE_ID,
                                      session) == 0)
                return *have = true;
            why = "the session is not a UserSession";
        }
    }
    *verdict = deny(l, call, term, CAPOS_LAUNCH_DENIAL_SESSION_INVALID,
                    "remote-shell-session-invalid", why);
    return false;
}

/* Check the rest of launchShell (no profile, no grants). Returns true, or
 * false with *verdict the denial (term released). */
static bool check_launch(struct rlauncher *l, capos_server_call_t *call,
                         capos_cap_t term, int *verdict)
{
    const capnp_struct *pr = &call->params_root;
    const char *prof = "";
    size_t plen = 0;
    capnp_list gl;
    if (capos_RestrictedShellLauncher_launchShell_Params_get_profile(
            pr, &prof, &plen) != 0 ||
        plen != 0)
        *verdict = deny(l, call, term, CAPOS_LAUNCH_DENIAL_PROFILE_MISMATCH,
                        "remote-shell-profile-mismatch",
                        "a profile was supplied; the broker picks it at login");
    else if (capos_RestrictedShellLauncher_launchShell_Params_get_grants(
                 pr, &gl) != 0 ||
             capnp_list_len(&gl) != 0)
        *verdict =
            deny(l, call, term, CAPOS_LAUNCH_DENIAL_GRANT_REFUSED,
                 "remote-shell-grant-refused", "extra grants are not allowed");
    else
        return true;
    return false;
}

/* RestrictedShellLauncher.launchShell: check everything (the header's
 * rules), then start the shell on the terminal. */
static int launch_shell(struct rlauncher *l, capos_server_call_t *call)
{
    capos_cap_t term, session, handle;
    bool have;
    int verdict;
    if (!take_terminal(call, &term, &verdict) ||
        !take_session(l, call, term, &session, &have, &verdict))
        return verdict;
    if (!check_launch(l, call, term, &verdict)) {
        if (have)
            capos_rt_release(session);
        return verdict;
    }
    char reason[200];
    int r = spawn_shell(l, term, have ? &session : NULL, &handle, reason,
                        sizeof reason);
    if (have)
        capos_rt_release(session); /* the shell has its own copy */
    if (r != 0) {
        char detail[240];
        snprintf(detail, sizeof detail, "spawn failed: %s", reason);
        audit(l, "remote-shell-spawn-failed", CAPOS_AUDIT_OUTCOME_ERROR,
              detail);
        say(l, "restricted-shell-launcher: %s", detail);
        return launch_result(call, -1, CAPOS_LAUNCH_DENIAL_SPAWN_FAILED);
    }
    /* The handle goes to the caller (moved); if the RETURN cannot carry
     * it the runtime releases it, which detaches the shell. */
    int hi = capos_server_add_cap(call, handle.id, CAP_XFER_MOVE);
    if (hi < 0) {
        capos_rt_release(handle);
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "restricted-shell-launcher: no room for "
                                 "the process handle");
    }
    l->launched++;
    audit(l, "remote-shell-launched", CAPOS_AUDIT_OUTCOME_ALLOWED,
          have ? "capos-shell on a caller-supplied terminal, logged "
                       "in with the caller's session"
                     : "capos-shell on a caller-supplied terminal");
    return launch_result(call, hi, 0);
}

static int handle_call(void *ctx, capos_server_call_t *call)
{
    struct rlauncher *l = ctx;
    if (call->method_id !=
        CAPOS_RESTRICTED_SHELL_LAUNCHER_LAUNCH_SHELL_METHOD_ID)
        return capos_server_unimplemented(call);
    return launch_shell(l, call);
}

int capos_main(capos_capset_t *caps)
{
    struct rlauncher *l = capos_zalloc(sizeof *l);
    if (!l || !capos_alloc_call_bufs(&l->pbuf, &l->rbuf, CALL_BUF))
        return 1;
    l->have_console =
        capos_capset_find(caps, "console", CAPOS_CONSOLE_INTERFACE_ID,
                          &l->console) == 0;
    l->have_audit =
        capos_capset_find(caps, "audit", CAPOS_AUDIT_LOG_INTERFACE_ID,
                          &l->audit) == 0;
    if (capos_capset_find(caps, "launcher", CAPOS_ENDPOINT_INTERFACE_ID,
                          &l->ep) != 0 ||
        capos_capset_find(caps, "spawner", CAPOS_PROCESS_SPAWNER_INTERFACE_ID,
                          &l->spawner) != 0 ||
        capos_capset_find(caps, "sessions", CAPOS_SESSION_MANAGER_INTERFACE_ID,
                          &l->sessions) != 0 ||
        capos_capset_find(caps, "broker", CAPOS_AUTHORITY_BROKER_INTERFACE_ID,
                          &l->broker) != 0 ||
        capos_capset_find(caps, "shellAudit", CAPOS_AUDIT_LOG_INTERFACE_ID,
                          &l->shell_audit) != 0) {
        say(l, "restricted-shell-launcher: needs caps \"launcher\" "
               "(endpoint), \"spawner\" (ProcessSpawner), \"sessions\" "
               "(SessionManager), \"broker\" (AuthorityBroker) and "
               "\"shellAudit\" (AuditLog)");
        return 2;
    }
    int r = capos_serve(l->ep, handle_call, l);
    capos_rt_flush_releases();
    return r == 0 || r == CAP_ERR_DISCONNECTED ? 0 : 3;
}
