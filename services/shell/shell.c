/*
 * capos-shell - the native shell (builtin "capos-shell"): a login on its
 * TerminalSession, then a command loop over the session bundle.
 *
 * Caps (plumbing, never listed by `caps`): "terminal" (TerminalSession,
 * required), "sessions" (SessionManager, required), "broker"
 * (AuthorityBroker, required), "audit" (AuditLog, optional: the shell
 * records refused badge syntax). The shell holds no ProcessSpawner,
 * BootPackage, CredentialStore or network cap of its own: everything a
 * user can reach comes from the broker-issued bundle (upstream).
 *
 * Commands at the "<user>@capos$ " prompt:
 *   help                     the list below
 *   caps                     the session bundle: names and interfaces
 *   session                  principal, profile, auth strength, source
 *   spawn NAME [with { child: [client] @cap, ... }]
 *                            start NAME through the bundle's launcher,
 *                            passing bundle caps (copied, identity kept),
 *                            wait for it and report its exit status
 *                            (foreground; unless given one, the child's
 *                            "console" is the terminal's Console facet,
 *                            so what it says reaches this user); with
 *                            no `with`, the caps the profile gives NAME
 *                            by default (ShellBundle.programs)
 *   echo TEXT                TEXT
 *   exit (or logout)         log out, release every cap, exit 0
 * Badge syntax (`badge N`, `@<number>`, `#<number>`) is refused: a user
 * never types an endpoint identity; an omitted badge preserves the
 * delegated source identity (upstream Gate 0, rejected-endpoint-badges).
 *
 * Exit codes (capos-sim choices): 0 after exit or end of input at the
 * prompt (the session is logged out first); 2 input ended before a login
 * completed; 3 too many failed logins; 4 missing caps, an identity
 * service that does not answer, no bundle, or the terminal gone.
 */
#include <stdio.h>
#include <string.h>

#include "schemas.h"
#include "shell.h"

#define SPAWN_GRANTS_MAX CAP_XFER_MAX
#define PROC_NAME_MAX 31u

static const char *iface_name(uint64_t id, char *buf, size_t cap)
{
    const capnpc_c_interface_info *ii = capos_schema_interface_info(id);
    if (ii)
        return ii->name;
    snprintf(buf, cap, "interface 0x%016llx", (unsigned long long)id);
    return buf;
}

static void cmd_help(struct shell *sh)
{
    term_say(sh, "commands:");
    term_say(sh, "  help                 this list");
    term_say(sh, "  caps                 the caps of your session bundle");
    term_say(sh, "  session              who you are: principal, profile, "
                 "authentication");
    term_say(sh, "  tty                  your terminal: transport, size "
                 "(columns x rows), peer");
    term_say(sh, "  spawn NAME [with { child: [client] @cap, ... }]");
    term_say(sh, "                       start program NAME through your "
                 "launcher, passing");
    term_say(sh, "                       caps of your bundle under the "
                 "child's names,");
    term_say(sh, "                       e.g. spawn hello with { timer: "
                 "@timer }; without");
    term_say(sh, "                       `with`, the caps your profile "
                 "gives NAME (if any)");
    term_say(sh, "                       (what the program prints comes "
                 "to this terminal)");
    term_say(sh, "  echo TEXT            print TEXT");
    term_say(sh, "  agent [TEXT]         ask your session's language model "
                 "(once, or without");
    term_say(sh, "                       TEXT in a conversation until exit); "
                 "it may call");
    term_say(sh, "                       your caps as tools, as your "
                 "profile allows");
    term_say(sh, "  exit                 log out and end the shell");
}

static void cmd_caps(struct shell *sh)
{
    char nb[48];
    term_say(sh, "session bundle: %u cap%s", sh->nbundle,
             sh->nbundle == 1 ? "" : "s");
    /* The launcher is a scoped spawner (the profile's programs only), not
     * the kernel's ProcessSpawner: say so rather than its wire type. */
    for (unsigned i = 0; i < sh->nbundle; i++)
        term_say(sh, "  %-16s %s", sh->bundle[i].name,
                 (int)i == sh->launcher_idx
                     ? "scoped launcher (your profile's programs)"
                     : iface_name(sh->bundle[i].iface, nb, sizeof nb));
}

/* Copy text field s[0..n) for display (printable ASCII, else '?'). */
static void show(char *dst, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++)
        dst[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    dst[k] = '\0';
}

static void cmd_session(struct shell *sh)
{
    if (sh->session_idx < 0) {
        term_say(sh, "session: your bundle holds no session cap");
        return;
    }
    static const char *const strength[] = {"none", "password", "public key",
                                           "passkey", "TLS client cert"};
    static const char *const kind[] = {"anonymous", "operator", "guest",
                                       "service"};
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, sh->pbuf, SHELL_CALL_BUF);
    capos_UserSession_info_Params_init_root(&b, &p);
    capnp_message msg;
    capnp_struct root, info, src;
    char ebuf[160];
    int r = shell_call(sh, sh->bundle[sh->session_idx].cap,
                       CAPOS_USER_SESSION_INFO_METHOD_ID, &b, NULL, 0, &msg,
                       &root, NULL);
    if (r < 0 || capos_UserSession_info_Results_get_info(&root, &info) < 0) {
        term_say(sh, "session: cannot read the session (%s)",
                 r < 0 ? shell_error(sh, r, ebuf, sizeof ebuf)
                       : "bad SessionInfo");
        return;
    }
    const char *s = "";
    const uint8_t *d = NULL;
    size_t n = 0, dn = 0;
    char user[72], disp[72], prof[72], hex[72] = "";
    capos_SessionInfo_get_username(&info, &s, &n);
    show(user, sizeof user, s, n);
    s = "";
    n = 0;
    capos_SessionInfo_get_displayName(&info, &s, &n);
    show(disp, sizeof disp, s, n);
    s = "";
    n = 0;
    capos_SessionInfo_get_profile(&info, &s, &n);
    show(prof, sizeof prof, s, n);
    capos_SessionInfo_get_principalId(&info, &d, &dn);
    for (size_t i = 0; d && i < dn && i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    uint16_t k = capos_SessionInfo_get_profileKind(&info);
    uint16_t a = capos_SessionInfo_get_authStrength(&info);
    uint16_t t = 0xffff;
    if (capos_SessionInfo_get_source(&info, &src) == 0)
        t = capos_LoginSource_get_transport(&src);
    uint64_t exp = capos_SessionInfo_get_expiresNs(&info);
    term_say(sh, "principal: %s%s%s%s (id %s%s)", user[0] ? user : "(none)",
             disp[0] ? " (" : "", disp, disp[0] ? ")" : "",
             hex[0] ? hex : "none", dn > 8 ? "..." : "");
    term_say(sh, "profile: %s (%s)", prof,
             k < sizeof kind / sizeof kind[0] ? kind[k] : "unknown kind");
    term_say(sh, "auth: %s",
             a < sizeof strength / sizeof strength[0] ? strength[a]
                                                      : "unknown");
    term_say(sh, "source: %s", term_transport_name(t));
    if (exp)
        term_say(sh, "expires: at %llu ns", (unsigned long long)exp);
    else
        term_say(sh, "expires: never (ends at logout)");
}

/* `tty`: the terminal's transport, size and peer, asked afresh (a
 * network client may have resized it since). */
static void cmd_tty(struct shell *sh)
{
    struct term_facts f;
    char ebuf[160];
    int r = term_info(sh, &f);
    if (r < 0) {
        term_say(sh, "tty: the terminal does not say (%s)",
                 shell_error(sh, r, ebuf, sizeof ebuf));
        return;
    }
    char size[32] = "size unknown";
    if (f.columns && f.rows)
        snprintf(size, sizeof size, "%ux%u", f.columns, f.rows);
    term_say(sh, "tty: %s %s%s%s", term_transport_name(f.transport), size,
             f.peer[0] ? " peer " : "", f.peer);
}

/* ---- spawn ---------------------------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ASCII lower case of c. */
static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/*
 * True if text tries to name an endpoint identity: the word "badge"
 * (any case, anywhere), '#' or '@' followed by a digit. Checked before
 * anything else so that no spelling of it reaches a launcher.
 */
static bool has_badge_syntax(const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '#' || (*p == '@' && is_digit(p[1])))
            return true;
        if (lower(p[0]) == 'b' && lower(p[1]) == 'a' && lower(p[2]) == 'd' &&
            lower(p[3]) == 'g' && lower(p[4]) == 'e')
            return true;
    }
    return false;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
           c == '.' || c == '_' || c == '-';
}

static void skip_ws(const char **p)
{
    while (**p == ' ')
        (*p)++;
}

/* Parse a name of name_char bytes (optionally in double quotes) into out
 * (at most max bytes). Returns 0 or -1. */
static int parse_name(const char **p, char *out, size_t max)
{
    skip_ws(p);
    bool quoted = **p == '"';
    if (quoted)
        (*p)++;
    size_t n = 0;
    while (name_char(**p)) {
        if (n >= max)
            return -1;
        out[n++] = *(*p)++;
    }
    out[n] = '\0';
    if (quoted && *(*p)++ != '"')
        return -1;
    return n ? 0 : -1;
}

struct spawn_grant {
    char child[SHELL_NAME_MAX + 1];
    int bidx; /* bundle index of the cap passed */
};

/* The bundle index of the cap named name, or -1. */
static int bundle_index(const struct shell *sh, const char *name)
{
    for (unsigned i = 0; i < sh->nbundle; i++)
        if (strcmp(sh->bundle[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The profile's default grants of program name (ShellBundle.programs)
 * into g, each under its bundle name. Returns their count (0: none). */
static int default_grants(const struct shell *sh, const char *name,
                          struct spawn_grant *g)
{
    int n = 0;
    for (unsigned i = 0; i < sh->nprograms; i++) {
        const struct shell_program *pg = &sh->programs[i];
        if (strcmp(pg->binary, name) != 0)
            continue;
        for (unsigned k = 0; k < pg->ncaps && n < (int)SPAWN_GRANTS_MAX; k++) {
            int b = bundle_index(sh, pg->caps[k]);
            if (b < 0)
                continue;
            strcpy(g[n].child, pg->caps[k]);
            g[n++].bidx = b;
        }
        break;
    }
    return n;
}

/*
 * Parse `NAME [with { child: [client] @cap, ... }]` into name and grants.
 * Returns the number of grants, or -1 with why set.
 */
static int parse_spawn(struct shell *sh, const char *p, char *name,
                       struct spawn_grant *g, const char **why)
{
    *why = "expected: spawn NAME [with { child: [client] @cap, ... }]";
    if (parse_name(&p, name, PROC_NAME_MAX) < 0)
        return -1;
    skip_ws(&p);
    if (*p == '\0')
        return default_grants(sh, name, g);
    if (strncmp(p, "with", 4) != 0)
        return -1;
    p += 4;
    skip_ws(&p);
    if (*p++ != '{')
        return -1;
    int n = 0;
    for (;;) {
        skip_ws(&p);
        if (*p == '}' && n == 0)
            break;
        if (n >= (int)SPAWN_GRANTS_MAX) {
            *why = "too many grants (at most 8)";
            return -1;
        }
        if (parse_name(&p, g[n].child, SHELL_NAME_MAX) < 0)
            return -1;
        skip_ws(&p);
        if (*p++ != ':')
            return -1;
        skip_ws(&p);
        if (strncmp(p, "client", 6) == 0 && p[6] == ' ') {
            p += 6;
            skip_ws(&p);
        }
        if (*p++ != '@')
            return -1;
        char cap[SHELL_NAME_MAX + 1];
        if (parse_name(&p, cap, SHELL_NAME_MAX) < 0)
            return -1;
        g[n].bidx = bundle_index(sh, cap);
        if (g[n].bidx < 0) {
            *why = "a grant names a cap your bundle does not hold (see caps)";
            return -1;
        }
        n++;
        skip_ws(&p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '}')
            break;
        return -1;
    }
    p++;
    skip_ws(&p);
    return *p == '\0' ? n : -1;
}

/* True if one of g[0..n) gives the child a cap named name. */
static bool grants_name(const struct spawn_grant *g, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(g[i].child, name) == 0)
            return true;
    return false;
}

/*
 * Build spawn's params for program name with grants g[0..n) into b
 * (sh->pbuf) and the caps to copy along into xfer; returns their count.
 * Unless the user named a "console" grant (or gave the most grants a
 * call carries), the child's "console" is the terminal's Console facet:
 * what the program says (why it failed, say) reaches this user, on
 * whatever terminal they came in, not the host console.
 */
static unsigned spawn_params(struct shell *sh, capnp_builder *b,
                             const char *name, const struct spawn_grant *g,
                             int n, uint32_t *xfer)
{
    capos_cap_t con = {0, 0};
    bool own = n < (int)SPAWN_GRANTS_MAX && !grants_name(g, n, "console") &&
               term_console(sh, &con);
    unsigned nx = (unsigned)n + (own ? 1u : 0u);
    capnp_struct_builder p, gb;
    capnp_list_builder lb;
    capnp_builder_init(b, sh->pbuf, SHELL_CALL_BUF);
    capos_ProcessSpawner_spawn_Params_init_root(b, &p);
    capos_ProcessSpawner_spawn_Params_set_name(&p, name, strlen(name));
    capos_ProcessSpawner_spawn_Params_set_binaryName(&p, name, strlen(name));
    capos_ProcessSpawner_spawn_Params_init_grants(&p, nx, &lb);
    for (unsigned i = 0; i < nx; i++) {
        const char *child = i < (unsigned)n ? g[i].child : "console";
        capnp_list_struct_at(&lb, i, &gb);
        capos_CapGrant_set_name(&gb, child, strlen(child));
        /* cap source, badge 0: the delegated facet keeps its identity. */
        capos_CapGrant_source_set_cap(&gb, i);
        xfer[i] = i < (unsigned)n ? sh->bundle[g[i].bidx].cap.id : con.id;
    }
    return nx;
}

static void cmd_spawn(struct shell *sh, const char *args)
{
    if (has_badge_syntax(args)) {
        term_say(sh, "spawn: refused: endpoint badges cannot be set from the "
                     "shell; a delegated cap keeps the identity of its "
                     "source (remove the badge, '@<number>' or '#')");
        shell_audit(sh, "launch", "shell-badge-refused",
                    CAPOS_AUDIT_OUTCOME_DENIED, "spawn with badge syntax");
        return;
    }
    char name[PROC_NAME_MAX + 1];
    struct spawn_grant g[SPAWN_GRANTS_MAX];
    const char *why;
    int n = parse_spawn(sh, args, name, g, &why);
    if (n < 0) {
        term_say(sh, "spawn: %s", why);
        return;
    }
    if (sh->launcher_idx < 0) {
        term_say(sh,
                 "spawn: your session bundle has no launcher, so this "
                 "session cannot start \"%s\"",
                 name);
        return;
    }
    if (sh->njobs >= SHELL_JOBS_MAX) {
        term_say(sh,
                 "spawn: %u programs started already; exit to release "
                 "them",
                 sh->njobs);
        return;
    }
    /* Said before the call: the child may print before it returns. */
    char given[SPAWN_GRANTS_MAX * (SHELL_NAME_MAX + 2) + 1];
    size_t at = 0;
    for (int i = 0; i < n; i++)
        at += (size_t)snprintf(given + at, sizeof given - at, "%s%s",
                               i ? ", " : "", g[i].child);
    given[at] = '\0';
    term_say(sh, "spawn: starting %s%s%s%s", name, n ? " (" : "", given,
             n ? ")" : "");
    capnp_builder b;
    uint32_t xfer[SPAWN_GRANTS_MAX];
    unsigned nx = spawn_params(sh, &b, name, g, n, xfer);
    CapCqe c;
    char ebuf[200];
    int r = shell_call(sh, sh->bundle[sh->launcher_idx].cap,
                       CAPOS_PROCESS_SPAWNER_SPAWN_METHOD_ID, &b, xfer, nx,
                       NULL, NULL, &c);
    if (r < 0) {
        term_say(sh, "spawn: \"%s\" was not started: %s", name,
                 shell_error(sh, r, ebuf, sizeof ebuf));
        return;
    }
    /* Record 0 is the ProcessHandle (docs/abi.md §13.1); no endpoint
     * grants, so nothing else should come back: release any extra. */
    capos_cap_t job = {0, 0};
    if (!capos_rt_keep_first_cap(&c, sh->rbuf, 0, &job)) {
        term_say(sh, "spawn: the launcher returned no handle for %s", name);
        return;
    }
    /* Foreground: wait for the program and report how it ended. */
    capnp_builder wb;
    capnp_struct_builder wp;
    capnp_builder_init(&wb, sh->pbuf, SHELL_CALL_BUF);
    capos_ProcessHandle_wait_Params_init_root(&wb, &wp);
    capnp_message wm;
    capnp_struct wr;
    r = shell_call(sh, job, CAPOS_PROCESS_HANDLE_WAIT_METHOD_ID, &wb, NULL, 0,
                   &wm, &wr, NULL);
    if (r < 0) {
        /* Keep the handle: logout releases it. */
        sh->jobs[sh->njobs++] = job;
        term_say(sh, "spawn: cannot wait for %s: %s", name,
                 shell_error(sh, r, ebuf, sizeof ebuf));
        return;
    }
    capos_rt_release(job);
    term_say(sh, "spawn: %s exited with status %lld", name,
             (long long)capos_ProcessHandle_wait_Results_get_exitCode(&wr));
}

/* ---- the loop ------------------------------------------------------- */

/* Run one command line. Returns true when the shell should end. */
static bool run_line(struct shell *sh, char *line)
{
    char *p = line;
    while (*p == ' ')
        p++;
    if (*p == '\0')
        return false;
    char *cmd = p;
    while (*p && *p != ' ')
        p++;
    if (*p)
        *p++ = '\0';
    while (*p == ' ')
        p++;
    if (strcmp(cmd, "help") == 0)
        cmd_help(sh);
    else if (strcmp(cmd, "caps") == 0)
        cmd_caps(sh);
    else if (strcmp(cmd, "session") == 0)
        cmd_session(sh);
    else if (strcmp(cmd, "tty") == 0)
        cmd_tty(sh);
    else if (strcmp(cmd, "spawn") == 0)
        cmd_spawn(sh, p);
    else if (strcmp(cmd, "echo") == 0)
        term_say(sh, "%s", p);
    else if (strcmp(cmd, "agent") == 0)
        shell_agent(sh, p);
    else if (strcmp(cmd, "exit") == 0 || strcmp(cmd, "logout") == 0)
        return true;
    else
        term_say(sh,
                 "capos-shell: unknown command \"%.64s\"; type help for "
                 "the list",
                 cmd);
    return false;
}

int capos_main(capos_capset_t *caps)
{
    struct shell *sh = capos_zalloc(sizeof *sh);
    if (!sh)
        return SHELL_EXIT_SYSTEM;
    sh->session_idx = sh->launcher_idx = sh->model_idx = -1;
    if (!capos_alloc_call_bufs(&sh->pbuf, &sh->rbuf, SHELL_CALL_BUF) ||
        capos_capset_find(caps, "terminal", CAPOS_TERMINAL_SESSION_INTERFACE_ID,
                          &sh->term) != 0)
        return SHELL_EXIT_SYSTEM; /* nowhere to say it */
    if (capos_capset_find(caps, "sessions", CAPOS_SESSION_MANAGER_INTERFACE_ID,
                          &sh->sessions) != 0 ||
        capos_capset_find(caps, "broker", CAPOS_AUTHORITY_BROKER_INTERFACE_ID,
                          &sh->broker) != 0) {
        term_say(sh, "capos-shell: needs a SessionManager cap \"sessions\" "
                     "and an AuthorityBroker cap \"broker\" (import "
                     "session-manager.sessions and authority-broker.broker)");
        return SHELL_EXIT_SYSTEM;
    }
    sh->have_audit =
        capos_capset_find(caps, "audit", CAPOS_AUDIT_LOG_INTERFACE_ID,
                          &sh->audit) == 0;
    sh->have_preset =
        capos_capset_find(caps, "login", CAPOS_USER_SESSION_INTERFACE_ID,
                          &sh->login_session) == 0;
    int code = shell_login(sh);
    if (code != SHELL_EXIT_OK)
        return code;
    char prompt[SHELL_USER_MAX + 16];
    snprintf(prompt, sizeof prompt, "%s@capos$ ", sh->user);
    term_say(sh,
             "capos-shell: logged in as %s (profile %s); type help for "
             "commands",
             sh->user, sh->profile);
    char *line = capos_alloc(SHELL_LINE_MAX + 1);
    if (!line) {
        shell_logout(sh);
        return SHELL_EXIT_SYSTEM;
    }
    for (;;) {
        int err;
        enum term_read w =
            term_read_line(sh, prompt, CAPOS_ECHO_MODE_VISIBLE, SHELL_LINE_MAX,
                           line, SHELL_LINE_MAX + 1, &err);
        if (w == TERM_INTERRUPTED)
            continue;
        if (w == TERM_EOF) {
            term_say(sh, "capos-shell: end of input: logging out");
            break;
        }
        if (w == TERM_ERROR) {
            code = SHELL_EXIT_SYSTEM;
            break;
        }
        if (run_line(sh, line))
            break;
    }
    capos_free(line);
    shell_logout(sh);
    if (code == SHELL_EXIT_OK)
        term_say(sh, "logout");
    /* The plumbing caps go too: nothing of the session outlives the
     * shell, and init sees every cap released when it reaps us. */
    capos_rt_release(sh->sessions);
    capos_rt_release(sh->broker);
    if (sh->have_audit)
        capos_rt_release(sh->audit);
    capos_rt_release(sh->term);
    capos_rt_flush_releases();
    return code;
}
