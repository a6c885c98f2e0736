/*
 * shell.h - internal declarations of capos-shell (services/shell/): the
 * state one shell process keeps, the TerminalSession client
 * (terminal.c), login and the session bundle (login.c) and the command
 * loop (shell.c).
 */
#ifndef CAPOS_SHELL_H
#define CAPOS_SHELL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capos.capnp.h"
#include "capos_rt.h"

#define SHELL_CALL_BUF 8192u /* params and result buffers, each */
#define SHELL_LINE_MAX 1024u /* a command line (TerminalSession default) */
#define SHELL_USER_MAX 64u   /* a user name as typed */
#define SHELL_PASS_MAX 1024u /* CredentialStore.verifyPassword's limit */
#define SHELL_NAME_MAX 47u   /* a cap name (CapSet names) */
#define SHELL_BUNDLE_MAX 16u /* caps of one session bundle kept */
#define SHELL_JOBS_MAX 8u    /* ProcessHandles of spawned programs kept */

/* Process exit codes (capos-sim choices, said in services/shell/shell.c). */
enum {
    SHELL_EXIT_OK = 0,           /* exit / end of input after a session */
    SHELL_EXIT_EOF_LOGIN = 2,    /* input ended before a login completed */
    SHELL_EXIT_LOGIN_FAILED = 3, /* too many failed logins */
    SHELL_EXIT_SYSTEM = 4,       /* missing caps, services or terminal gone */
};

/* One cap of the session bundle, as `caps` lists it. */
#define SHELL_PROGRAMS_MAX 16u /* programs with default grants kept */
#define SHELL_PROGRAM_CAPS 8u   /* default grants of one program */

/* A program's default grants (ShellBundle.programs): `spawn binary`
 * without `with` passes these bundle caps under their own names. */
struct shell_program {
    char binary[SHELL_NAME_MAX + 1];
    char caps[SHELL_PROGRAM_CAPS][SHELL_NAME_MAX + 1];
    unsigned ncaps;
};

#define SHELL_TOOL_PERMS_MAX 32u /* entries of the tool map kept */
#define SHELL_TOOL_NAME_MAX 64u  /* ToolPermission.tool */

/* One entry of the bundle's per-tool permission map (toolPermissions):
 * a tool not in the map is forbidden. */
struct shell_tool_perm {
    char tool[SHELL_TOOL_NAME_MAX + 1];
    uint16_t mode; /* PermissionMode */
};

struct shell_bcap {
    char name[SHELL_NAME_MAX + 1]; /* bundle name (sanitised for display) */
    uint64_t iface;                /* interface to show (schema type) */
    capos_cap_t cap;               /* the held cap */
};

struct shell {
    /* Plumbing caps from the CapSet: never listed by `caps`. */
    capos_cap_t term, sessions, broker, audit;
    bool have_audit;
    /* The terminal's Console facet (TerminalSession.console, asked for
     * once, at the first spawn): each child's default "console". */
    capos_cap_t console;
    bool console_tried, have_console;
    uint8_t *pbuf, *rbuf; /* SHELL_CALL_BUF each, in the process heap */
    /* Where logins come from (TerminalSession.info, read once): the
     * LoginSource sent with SessionManager.login. Metadata for audit and
     * backoff, never authority. */
    uint16_t transport;
    char peer[48];
    /* The session SessionManager.login minted (for logout), or the one
     * the launcher handed over as "login" (have_preset: an SSH key login
     * the gateway authenticated; no dialogue then). */
    capos_cap_t login_session;
    bool logged_in, have_preset;
    char user[SHELL_USER_MAX + 1];
    char profile[SHELL_NAME_MAX + 1];
    /* The session bundle AuthorityBroker.shellBundle issued. */
    struct shell_bcap bundle[SHELL_BUNDLE_MAX];
    unsigned nbundle;
    struct shell_program programs[SHELL_PROGRAMS_MAX];
    unsigned nprograms;
    struct shell_tool_perm perms[SHELL_TOOL_PERMS_MAX];
    unsigned nperms;
    int model_idx;    /* bundle index of `languageModel`, -1 if absent */
    int session_idx;  /* bundle index of `session`, -1 if absent */
    int launcher_idx; /* bundle index of `launcher`, -1 if absent */
    capos_cap_t jobs[SHELL_JOBS_MAX];
    unsigned njobs;
};

/* ---- terminal.c: the TerminalSession client ------------------------- */

/* What term_read_line got. */
enum term_read { TERM_LINE, TERM_EOF, TERM_INTERRUPTED, TERM_ERROR };

/*
 * Write text and a line end on the terminal. Returns the CQE result
 * (< 0: the terminal is gone or refused the call).
 */
int term_say(struct shell *sh, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Show prompt and read one edited line of at most max_bytes bytes
 * (TerminalSession.readLine, echo CAPOS_ECHO_MODE_*) into out (out_cap
 * bytes, NUL-terminated; out_cap must exceed max_bytes). The line the
 * terminal returns is valid UTF-8 without control characters
 * (docs/abi.md §12); it is copied out of the shared result buffer, and
 * for hidden echo that buffer is wiped. Returns TERM_LINE, TERM_EOF,
 * TERM_INTERRUPTED or TERM_ERROR (terminal gone or refusing: *err set to
 * the CQE result).
 */
enum term_read term_read_line(struct shell *sh, const char *prompt,
                              uint16_t echo, uint32_t max_bytes, char *out,
                              size_t out_cap, int *err);

/*
 * The terminal's Console facet (kept by the shell; callers copy it), so
 * that a child writes to this user's terminal. False when the terminal
 * has none (it is asked once): a child then gets the launcher's console.
 */
bool term_console(struct shell *sh, capos_cap_t *out);

/* What TerminalSession.info says of the shell's terminal. */
struct term_facts {
    uint16_t transport; /* CAPOS_TRANSPORT_* */
    uint16_t columns, rows; /* 0: unknown */
    char peer[48]; /* "address:port", printable ASCII, "" for none */
};

/*
 * Ask the terminal for its transport, size and peer (a peer's bytes
 * outside printable ASCII become '?'). Returns 0, or the CQE result (< 0)
 * when the terminal does not answer; *f is then the console's, unsized.
 */
int term_info(struct shell *sh, struct term_facts *f);

/* The name of a CAPOS_TRANSPORT_* value ("console", "telnet", "ssh",
 * "web", "test"), or "unknown". */
const char *term_transport_name(uint16_t transport);

/* ---- login.c: login, the bundle, logout ----------------------------- */

/*
 * CALL method on cap with the message being built in b and caps
 * xfer[0..nx) copied along; the result lands in sh->rbuf and is decoded
 * into *msg / *root when the call succeeds (both may be NULL). Returns
 * the CQE result (>= 0 bytes), a CAP_ERR_* or capos-rt error; *cqe (may
 * be NULL) gets the CQE.
 */
int shell_call(struct shell *sh, capos_cap_t cap, uint16_t method,
               capnp_builder *b, const uint32_t *xfer, unsigned nx,
               capnp_message *msg, capnp_struct *root, CapCqe *cqe);

/* The message of the CapException in sh->rbuf after a call that failed
 * with CAP_ERR_APPLICATION_EXCEPTION, else a description of err. */
const char *shell_error(struct shell *sh, int err, char *buf, size_t cap);

/*
 * The login dialogue on the terminal, then the session bundle. Returns
 * SHELL_EXIT_OK with sh->logged_in and the bundle filled, or the exit code
 * the shell should end with (the reason already said on the terminal).
 */
int shell_login(struct shell *sh);

/* Log out (UserSession.logout through the login session) and release
 * every cap the session gave: bundle, jobs, the login session. Safe to
 * call twice. */
void shell_logout(struct shell *sh);

/*
 * Step-up: ask the logged-in user's password again (hidden) and check it
 * through SessionManager.login (the session that opens is logged out at
 * once; a wrong password counts against the source's backoff like any
 * failed login). Returns 1 (re-authenticated), 0 (wrong password), -1
 * (interrupted) or -2 (terminal or session manager gone).
 */
int shell_step_up(struct shell *sh);

/* Append an audit record (category, code, outcome) if the shell has an
 * AuditLog; failures are ignored (audit is best effort here). */
void shell_audit(struct shell *sh, const char *category, const char *code,
                 uint16_t outcome, const char *detail);

/* ---- agent.c: agent mode ------------------------------------------- */

/*
 * `agent TEXT`: ask the bundle's LanguageModel once, with the bundle's
 * caps offered as tools under the permission map; stream its text, gate
 * and run its tool calls, feed the outcomes back until the turn ends
 * (docs/agent.md). Says on the terminal why when it cannot.
 */
void shell_agent(struct shell *sh, const char *text);

#endif /* CAPOS_SHELL_H */
