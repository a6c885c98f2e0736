/*
 * login.c - capos-shell's login dialogue and session bundle.
 *
 *   username> operator          (visible echo)
 *   password>                   (hidden echo: nothing of it is shown)
 *
 * SessionManager.login(username, password, source: the terminal's
 * transport and peer from TerminalSession.info) mints a UserSession;
 * UserSession.info names its profile; then
 * AuthorityBroker.shellBundle(session, profile) gives the caps the
 * session may use, which are all `caps` ever lists. A denied login says
 * only "login incorrect" (the cause is the session manager's audit
 * record) and asks again, at most LOGIN_TRIES times.
 *
 * A shell the restricted launcher started with a "login" cap (a
 * UserSession an SSH gateway authenticated by key) skips the dialogue:
 * that session's user and profile, then the broker's bundle for it.
 *
 * Trust: the user name and password are untrusted bytes; the shell only
 * bounds them (the terminal already refuses control characters and
 * over-long input) and passes them on: the session manager decides. The
 * password is never echoed, printed or kept: its copies (the shell's
 * buffer, the params and result buffers) are wiped after the call. The
 * services' answers are trusted for their meaning but bounds-checked as
 * messages; result caps the shell does not use are released at once.
 */
#include <stdio.h>
#include <string.h>

#include "shell.h"

#define LOGIN_TRIES 3u /* password attempts before the shell gives up */
#define EMPTY_MAX 10u  /* empty user names in a row before it gives up */

/* Wipe n bytes at p so the compiler cannot drop the stores (secrets). */
static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

int shell_call(struct shell *sh, capos_cap_t cap, uint16_t method,
               capnp_builder *b, const uint32_t *xfer, unsigned nx,
               capnp_message *msg, capnp_struct *root, CapCqe *cqe)
{
    size_t len = 0;
    int r = capnp_finish(b, &len);
    if (r < 0)
        return r;
    if (nx > CAP_XFER_MAX ||
        CAP_ALIGN8(len) + nx * sizeof(CapTransferDescriptor) > SHELL_CALL_BUF)
        return CAPNP_E_NOSPACE;
    for (unsigned i = 0; i < nx; i++) {
        CapTransferDescriptor d = {.cap_id = xfer[i], .mode = CAP_XFER_COPY};
        memcpy(sh->pbuf + CAP_ALIGN8(len) + i * sizeof d, &d, sizeof d);
    }
    CapSqe s = {.opcode = CAP_OP_CALL,
                .cap_id = cap.id,
                .method_id = method,
                .addr = capos_va(sh->pbuf),
                .len = (uint32_t)len,
                .xfer_cap_count = (uint16_t)nx,
                .result_addr = capos_va(sh->rbuf),
                .result_len = SHELL_CALL_BUF};
    CapCqe c = {0};
    r = capos_rt_call(&s, &c);
    if (r == 0)
        r = c.result;
    if (cqe)
        *cqe = c;
    if (r >= 0 && msg &&
        (capnp_msg_init(msg, sh->rbuf, (size_t)r, NULL) < 0 ||
         capnp_msg_root(msg, root) < 0))
        r = CAP_ERR_INVALID_RESULT_BUFFER;
    return r;
}

const char *shell_error(struct shell *sh, int err, char *buf, size_t cap)
{
    /* The CQE does not carry the exception's length: it is small, and the
     * decoder bounds every read by the buffer. */
    return capos_rt_error_text(sh->rbuf, 1024, err, buf, cap);
}

void shell_audit(struct shell *sh, const char *category, const char *code,
                 uint16_t outcome, const char *detail)
{
    if (sh->have_audit)
        (void)capos_audit_append(sh->audit, category, code, outcome, sh->user,
                                 detail);
}

/* Result cap record i of the last call (whose CQE is c), or NULL. */
static const CapTransferResult *result_rec(struct shell *sh, const CapCqe *c,
                                           uint32_t i)
{
    if (c->result < 0 || !(c->flags & CAP_CQE_F_CAPS) || i >= c->cap_count)
        return NULL;
    uint64_t off = CAP_ALIGN8((uint32_t)c->result) +
                   (uint64_t)i * sizeof(CapTransferResult);
    if (off + sizeof(CapTransferResult) > SHELL_CALL_BUF)
        return NULL;
    return (const CapTransferResult *)(sh->rbuf + off);
}

/* Copy a bundle name for display: printable ASCII, at most
 * SHELL_NAME_MAX bytes, "?" for anything else; "(unnamed)" if empty. */
static void copy_name(char *dst, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < SHELL_NAME_MAX; i++)
        dst[k++] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
    dst[k] = '\0';
    if (k == 0)
        strcpy(dst, "(unnamed)");
}

/* Add result cap index ci of the bundle call (CQE c) as name with the
 * interface iface to show (0: the record's). taken[] marks records kept.
 * Returns its bundle index or -1 (null cap, bad index, full). */
static int keep_cap(struct shell *sh, const CapCqe *c, bool *taken, uint32_t ci,
                    const char *name, size_t nlen, uint64_t iface)
{
    const CapTransferResult *rec = result_rec(sh, c, ci);
    if (!rec || taken[ci] || sh->nbundle >= SHELL_BUNDLE_MAX)
        return -1;
    taken[ci] = true;
    struct shell_bcap *bc = &sh->bundle[sh->nbundle];
    copy_name(bc->name, name, nlen);
    bc->cap = (capos_cap_t){rec->cap_id, rec->interface_id};
    bc->iface = iface ? iface : rec->interface_id;
    return (int)sh->nbundle++;
}

/* Keep bundle bun's tool map (names as they are: they are compared,
 * never printed unescaped). Entries past SHELL_TOOL_PERMS_MAX or with a
 * bad name are dropped: a tool not kept is forbidden. */
static void keep_tool_perms(struct shell *sh, const capnp_struct *bun)
{
    capnp_list tl;
    sh->nperms = 0;
    if (capos_ShellBundle_get_toolPermissions(bun, &tl) != 0)
        return;
    for (uint32_t i = 0; i < capnp_list_len(&tl) &&
                         sh->nperms < SHELL_TOOL_PERMS_MAX;
         i++) {
        capnp_struct t;
        const char *s;
        size_t n;
        if (capnp_list_get_struct(&tl, i, &t) != 0 ||
            capos_ToolPermission_get_tool(&t, &s, &n) != 0 || n == 0 ||
            n > SHELL_TOOL_NAME_MAX || memchr(s, 0, n))
            continue;
        struct shell_tool_perm *p = &sh->perms[sh->nperms++];
        memcpy(p->tool, s, n);
        p->tool[n] = 0;
        p->mode = capos_ToolPermission_get_mode(&t);
    }
}

/* Keep bundle bun's per-program default grants (names, copied). */
static void keep_programs(struct shell *sh, const capnp_struct *bun)
{
    capnp_list pl;
    sh->nprograms = 0;
    if (capos_ShellBundle_get_programs(bun, &pl) != 0)
        return;
    for (uint32_t i = 0; i < capnp_list_len(&pl); i++) {
        capnp_struct pc;
        capnp_list names;
        const char *s;
        size_t n;
        if (sh->nprograms == SHELL_PROGRAMS_MAX)
            return;
        if (capnp_list_get_struct(&pl, i, &pc) != 0 ||
            capos_ProgramCaps_get_binary(&pc, &s, &n) != 0 || n == 0 ||
            n > SHELL_NAME_MAX || capos_ProgramCaps_get_caps(&pc, &names) != 0)
            continue;
        struct shell_program *pg = &sh->programs[sh->nprograms++];
        copy_name(pg->binary, s, n);
        pg->ncaps = 0;
        for (uint32_t k = 0; k < capnp_list_len(&names) &&
                             pg->ncaps < SHELL_PROGRAM_CAPS;
             k++)
            if (capnp_list_get_text(&names, k, &s, &n) == 0 && n > 0 &&
                n <= SHELL_NAME_MAX)
                copy_name(pg->caps[pg->ncaps++], s, n);
    }
}

static const char *const denial_text[] = {
    "the session is not valid", "the session has expired",
    "the profile is unknown", "the profile is not allowed for this session",
    "the profile cannot run a shell"};

/*
 * AuthorityBroker.shellBundle(login session, sh->profile): fill
 * sh->bundle. Returns 0, or -1 after saying why on the terminal. Result
 * caps the bundle does not name are released.
 */
static int fetch_bundle(struct shell *sh)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, sh->pbuf, SHELL_CALL_BUF);
    capos_AuthorityBroker_shellBundle_Params_init_root(&b, &p);
    capos_AuthorityBroker_shellBundle_Params_set_session(&p, 0);
    capos_AuthorityBroker_shellBundle_Params_set_profile(&p, sh->profile,
                                                         strlen(sh->profile));
    capnp_message msg;
    capnp_struct root, res, bun;
    CapCqe c;
    char ebuf[160];
    int r = shell_call(sh, sh->broker,
                       CAPOS_AUTHORITY_BROKER_SHELL_BUNDLE_METHOD_ID, &b,
                       &sh->login_session.id, 1, &msg, &root, &c);
    bool taken[CAP_XFER_MAX] = {false};
    int ret = -1;
    if (r < 0) {
        term_say(sh,
                 "capos-shell: the authority broker did not issue a "
                 "session bundle (%s)",
                 shell_error(sh, r, ebuf, sizeof ebuf));
    } else if (capos_AuthorityBroker_shellBundle_Results_get_result(&root,
                                                                    &res) < 0 ||
               capos_ShellBundleResult_which(&res) > 1) {
        term_say(sh, "capos-shell: the authority broker's answer is not a "
                     "ShellBundleResult");
    } else if (capos_ShellBundleResult_which(&res) == 1) {
        uint16_t d = capos_ShellBundleResult_get_denied(&res);
        term_say(sh, "capos-shell: no session bundle for profile \"%s\": %s",
                 sh->profile,
                 d < sizeof denial_text / sizeof denial_text[0] ? denial_text[d]
                                                                : "denied");
    } else if (capos_ShellBundleResult_get_bundle(&res, &bun) < 0) {
        term_say(sh, "capos-shell: the session bundle does not decode");
    } else {
        uint32_t ci = CAPNP_CAP_NULL;
        sh->session_idx = sh->launcher_idx = sh->model_idx = -1;
        if (capos_ShellBundle_get_session(&bun, &ci) == 0)
            sh->session_idx = keep_cap(sh, &c, taken, ci, "session", 7,
                                       CAPOS_USER_SESSION_INTERFACE_ID);
        ci = CAPNP_CAP_NULL;
        if (capos_ShellBundle_get_launcher(&bun, &ci) == 0)
            sh->launcher_idx = keep_cap(sh, &c, taken, ci, "launcher", 8,
                                        CAPOS_PROCESS_SPAWNER_INTERFACE_ID);
        ci = CAPNP_CAP_NULL;
        if (capos_ShellBundle_get_systemInfo(&bun, &ci) == 0)
            keep_cap(sh, &c, taken, ci, "systemInfo", 10,
                     CAPOS_SYSTEM_INFO_INTERFACE_ID);
        ci = CAPNP_CAP_NULL;
        if (capos_ShellBundle_get_languageModel(&bun, &ci) == 0)
            sh->model_idx = keep_cap(sh, &c, taken, ci, "languageModel", 13,
                                     CAPOS_LANGUAGE_MODEL_INTERFACE_ID);
        capnp_list l;
        if (capos_ShellBundle_get_serviceEndpoints(&bun, &l) == 0)
            for (uint32_t i = 0; i < capnp_list_len(&l); i++) {
                capnp_struct nc;
                const char *s = "";
                size_t n = 0;
                ci = CAPNP_CAP_NULL;
                if (capnp_list_get_struct(&l, i, &nc) < 0)
                    continue;
                capos_NamedCap_get_name(&nc, &s, &n);
                capos_NamedCap_get_cap(&nc, &ci);
                keep_cap(sh, &c, taken, ci, s, n, 0);
            }
        keep_programs(sh, &bun);
        keep_tool_perms(sh, &bun);
        ret = 0;
    }
    /* Caps the bundle does not name (or that did not fit) go back. */
    for (uint32_t i = 0; r >= 0 && i < c.cap_count && i < CAP_XFER_MAX; i++) {
        const CapTransferResult *rec = result_rec(sh, &c, i);
        if (rec && !taken[i])
            capos_rt_release((capos_cap_t){rec->cap_id, rec->interface_id});
    }
    return ret;
}

/*
 * UserSession.info on the login session: copy its profile name into
 * sh->profile, and with user its user name into sh->user. Returns 0 or
 * -1 (said on the terminal).
 */
static int session_profile(struct shell *sh, bool user)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, sh->pbuf, SHELL_CALL_BUF);
    capos_UserSession_info_Params_init_root(&b, &p);
    capnp_message msg;
    capnp_struct root, info;
    const char *s = NULL;
    size_t n = 0;
    char ebuf[160];
    int r = shell_call(sh, sh->login_session, CAPOS_USER_SESSION_INFO_METHOD_ID,
                       &b, NULL, 0, &msg, &root, NULL);
    if (r < 0 || capos_UserSession_info_Results_get_info(&root, &info) < 0 ||
        capos_SessionInfo_get_profile(&info, &s, &n) < 0 || n == 0 ||
        n > SHELL_NAME_MAX) {
        term_say(sh, "capos-shell: cannot read the new session's profile (%s)",
                 r < 0 ? shell_error(sh, r, ebuf, sizeof ebuf)
                       : "bad SessionInfo");
        return -1;
    }
    memcpy(sh->profile, s, n);
    sh->profile[n] = '\0';
    if (user) {
        s = NULL;
        n = 0;
        if (capos_SessionInfo_get_username(&info, &s, &n) < 0 || n == 0 ||
            n > SHELL_USER_MAX) {
            term_say(sh, "capos-shell: the session names no user");
            return -1;
        }
        memcpy(sh->user, s, n);
        sh->user[n] = '\0';
    }
    return 0;
}

/*
 * The LoginSource of this shell's logins: the terminal's transport and
 * peer (TerminalSession.info; a console terminal says console and no
 * peer, a socket terminal telnet and "address:port"). A terminal that
 * does not answer counts as the console.
 */
static void read_source(struct shell *sh)
{
    struct term_facts f;
    (void)term_info(sh, &f); /* unanswered: the console's facts */
    sh->transport = f.transport;
    memcpy(sh->peer, f.peer, sizeof sh->peer);
}

/*
 * SessionManager.login(user, password, source). Returns 1 with the new
 * session in *session (the caller's), 0 for a denial, or -1 if the call failed (said
 * on the terminal). Wipes every copy of the password it made.
 */
static int try_login(struct shell *sh, const char *user, const char *pass,
                     capos_cap_t *session)
{
    capnp_builder b;
    capnp_struct_builder p, src;
    capnp_builder_init(&b, sh->pbuf, SHELL_CALL_BUF);
    capos_SessionManager_login_Params_init_root(&b, &p);
    capos_SessionManager_login_Params_set_username(&p, user, strlen(user));
    capos_SessionManager_login_Params_set_password(&p, pass, strlen(pass));
    capos_SessionManager_login_Params_init_source(&p, &src);
    capos_LoginSource_set_transport(&src, sh->transport);
    if (sh->peer[0])
        capos_LoginSource_set_peer(&src, sh->peer, strlen(sh->peer));
    capnp_message msg;
    capnp_struct root, res;
    CapCqe c;
    char ebuf[160];
    int r = shell_call(sh, sh->sessions, CAPOS_SESSION_MANAGER_LOGIN_METHOD_ID,
                       &b, NULL, 0, &msg, &root, &c);
    wipe(sh->pbuf, SHELL_CALL_BUF);
    int ret = -1;
    if (r < 0) {
        term_say(sh, "capos-shell: the session manager did not answer (%s)",
                 shell_error(sh, r, ebuf, sizeof ebuf));
    } else if (capos_SessionManager_login_Results_get_result(&root, &res) < 0) {
        term_say(sh, "capos-shell: the session manager's answer is not a "
                     "LoginResult");
    } else if (capos_LoginResult_which(&res) ==
               CAPOS_LOGIN_RESULT_WHICH_DENIED) {
        ret = 0;
    } else {
        uint32_t ci = CAPNP_CAP_NULL;
        const CapTransferResult *rec = NULL;
        if (capos_LoginResult_which(&res) == CAPOS_LOGIN_RESULT_WHICH_SESSION &&
            capos_LoginResult_get_session(&res, &ci) == 0)
            rec = result_rec(sh, &c, ci);
        if (rec) {
            *session =
                (capos_cap_t){rec->cap_id, CAPOS_USER_SESSION_INTERFACE_ID};
            ret = 1;
        } else {
            term_say(sh, "capos-shell: the session manager granted a login "
                         "without a session cap");
        }
    }
    /* Release result caps the answer does not hand over as the session. */
    for (uint32_t i = 0; r >= 0 && i < c.cap_count && i < CAP_XFER_MAX; i++) {
        const CapTransferResult *rec = result_rec(sh, &c, i);
        if (rec && !(ret == 1 && rec->cap_id == session->id))
            capos_rt_release((capos_cap_t){rec->cap_id, rec->interface_id});
    }
    return ret;
}

/*
 * One answer of the login dialogue: prompt and read a line of at most max
 * bytes into out[0..out_cap). Returns TERM_LINE with the line,
 * TERM_INTERRUPTED (Ctrl-C: start the dialogue over) or, with *code set,
 * TERM_EOF (after saying "capos-shell: end of input WHEN; no session was
 * opened") or TERM_ERROR: the shell ends.
 */
static enum term_read login_read(struct shell *sh, const char *prompt,
                                 uint16_t echo, uint32_t max, char *out,
                                 size_t out_cap, const char *when, int *code)
{
    int err;
    enum term_read w =
        term_read_line(sh, prompt, echo, max, out, out_cap, &err);
    if (w == TERM_EOF) {
        term_say(sh, "capos-shell: end of input %s; no session was opened",
                 when);
        *code = SHELL_EXIT_EOF_LOGIN;
    } else if (w == TERM_ERROR) {
        *code = SHELL_EXIT_SYSTEM;
    }
    return w;
}

/*
 * The session the launcher handed over ("login": a gateway authenticated
 * the user, e.g. by SSH key): no dialogue; its user and profile, then the
 * bundle the broker decides for it. Returns SHELL_EXIT_OK or
 * SHELL_EXIT_SYSTEM (said on the terminal; the session logged out).
 */
static int preset_login(struct shell *sh)
{
    read_source(sh);
    sh->logged_in = true;
    if (session_profile(sh, true) < 0 || fetch_bundle(sh) < 0) {
        shell_logout(sh);
        return SHELL_EXIT_SYSTEM;
    }
    return SHELL_EXIT_OK;
}

int shell_login(struct shell *sh)
{
    if (sh->have_preset)
        return preset_login(sh);
    char user[SHELL_USER_MAX + 1];
    char *pass = capos_alloc(SHELL_PASS_MAX + 1);
    if (!pass)
        return SHELL_EXIT_SYSTEM;
    unsigned tries = 0, empty = 0;
    int code = SHELL_EXIT_LOGIN_FAILED;
    read_source(sh);
    term_say(sh, "capos-shell: log in (Ctrl-D ends the shell)");
    while (tries < LOGIN_TRIES) {
        enum term_read w = login_read(sh, "username> ", CAPOS_ECHO_MODE_VISIBLE,
                                      SHELL_USER_MAX, user, sizeof user,
                                      "before login", &code);
        if (w == TERM_INTERRUPTED)
            continue;
        if (w != TERM_LINE)
            goto out;
        if (user[0] == '\0') {
            if (++empty >= EMPTY_MAX) {
                term_say(sh, "capos-shell: no user name given; giving up");
                goto out;
            }
            continue;
        }
        empty = 0;
        w = login_read(sh, "password> ", CAPOS_ECHO_MODE_HIDDEN, SHELL_PASS_MAX,
                       pass, SHELL_PASS_MAX + 1, "during login", &code);
        if (w == TERM_INTERRUPTED)
            continue;
        if (w != TERM_LINE)
            goto out;
        int r = try_login(sh, user, pass, &sh->login_session);
        wipe(pass, SHELL_PASS_MAX + 1);
        if (r < 0) {
            code = SHELL_EXIT_SYSTEM;
            goto out;
        }
        if (r == 0) {
            tries++;
            term_say(sh, "login incorrect");
            continue;
        }
        memcpy(sh->user, user, sizeof user);
        sh->logged_in = true;
        if (session_profile(sh, false) < 0 || fetch_bundle(sh) < 0) {
            shell_logout(sh);
            code = SHELL_EXIT_SYSTEM;
            goto out;
        }
        code = SHELL_EXIT_OK;
        goto out;
    }
    term_say(sh, "capos-shell: %u failed logins; the shell ends", tries);
out:
    wipe(pass, SHELL_PASS_MAX + 1);
    capos_free(pass);
    return code;
}

/* UserSession.logout on session, then release it. Returns the call's
 * result (< 0: not confirmed; shell_error says why). */
static int end_session(struct shell *sh, capos_cap_t session)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, sh->pbuf, SHELL_CALL_BUF);
    capos_UserSession_logout_Params_init_root(&b, &p);
    int r = shell_call(sh, session, CAPOS_USER_SESSION_LOGOUT_METHOD_ID, &b,
                       NULL, 0, NULL, NULL, NULL);
    capos_rt_release(session);
    return r;
}

int shell_step_up(struct shell *sh)
{
    char *pass = capos_alloc(SHELL_PASS_MAX + 1);
    char prompt[SHELL_USER_MAX + 24];
    int err, ret = 0;
    if (!pass)
        return -2;
    snprintf(prompt, sizeof prompt, "password for %s> ", sh->user);
    enum term_read w = term_read_line(sh, prompt, CAPOS_ECHO_MODE_HIDDEN,
                                      SHELL_PASS_MAX, pass, SHELL_PASS_MAX + 1,
                                      &err);
    if (w == TERM_INTERRUPTED)
        ret = -1;
    else if (w != TERM_LINE)
        ret = -2;
    else {
        capos_cap_t fresh;
        int r = try_login(sh, sh->user, pass, &fresh);
        /* The proof is the login itself: the session it opened is ended
         * at once, so step-up leaves no second session behind. */
        if (r == 1 && end_session(sh, fresh) >= 0)
            ret = 1;
        else if (r < 0)
            ret = -2;
    }
    wipe(pass, SHELL_PASS_MAX + 1);
    capos_free(pass);
    return ret;
}

void shell_logout(struct shell *sh)
{
    for (unsigned i = 0; i < sh->njobs; i++)
        capos_rt_release(sh->jobs[i]);
    sh->njobs = 0;
    for (unsigned i = 0; i < sh->nbundle; i++)
        capos_rt_release(sh->bundle[i].cap);
    sh->nbundle = 0;
    sh->nprograms = 0;
    sh->nperms = 0;
    sh->session_idx = sh->launcher_idx = sh->model_idx = -1;
    if (!sh->logged_in)
        return;
    char ebuf[160];
    int r = end_session(sh, sh->login_session);
    if (r < 0)
        term_say(sh, "capos-shell: logout was not confirmed (%s)",
                 shell_error(sh, r, ebuf, sizeof ebuf));
    sh->logged_in = false;
}
