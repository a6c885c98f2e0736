/*
 * authority-broker - AuthorityBroker (builtin "authority-broker"): the
 * shell bundle a live session may hold, per kernelParams.profiles.
 *
 * Caps: "broker" (Endpoint, required: serves AuthorityBroker), "sessions"
 * (SessionManager, required: validate), "boot" (BootPackage, required:
 * the profiles), "audit" (AuditLog, optional), "systemInfo" (SystemInfo,
 * optional: the bundle's systemInfo), "console" (startup problems only),
 * and any caps the manifest gives it to pass on: a profile's
 * `caps = [(name = N, from = F)]` puts a copy of the broker's CapSet entry
 * F in the bundle's serviceEndpoints as N; a profile's `programs` go
 * in the bundle as they are, less any cap name the bundle does not hold
 * (the shell's default grants per program).
 *
 * Authority: the broker hands out only what the manifest granted it, and
 * never these, whatever a profile says (fail closed; the entry is left out
 * and audited as launch=bundle-cap-refused): its own operational caps
 * ("broker", "sessions", "boot", "audit", "console"), and caps of
 * interfaces that reach beyond a terminal user's session (ProcessSpawner,
 * BootPackage, NetworkManager, TcpListenAuthority, CredentialStore,
 * AccountStoreManager, SshHostKey, ThreadSpawner, ThreadControl,
 * ParkSpace, Endpoint). A profile entry naming a cap the broker lacks is
 * left out the same way.
 *
 * shellBundle(session, profile): the session cap is passed (copied) to
 * SessionManager.validate; only a valid, unexpired session whose profile
 * equals `profile` gets a bundle (upstream: reject a mismatched profile).
 * Denials: sessionInvalid, sessionExpired, profileUnknown,
 * profileNotAllowed (mismatch), profileNotInteractive; each is audited
 * (launch=bundle-<denial>; launch=bundle-issued on success).
 *
 * bundle.launcher: a session launcher minted for this bundle
 * (Endpoint.mintClient) through the broker's CapSet entry
 * "launcher.<profile>" when the manifest gives it one (a shell-launcher
 * profile facet, typed Endpoint, services/shell-launcher; docs/abi.md
 * §13.5), else null. Each bundle's launcher counts its own children, so
 * one session cannot use up another's. Typed Endpoint, the profile facet
 * itself is never passed on.
 *
 * bundle.languageModel: a copy of the broker's CapSet entry named by the
 * profile's languageModel, only if that entry is typed LanguageModel: a
 * cap of any other interface under that name (a model-admin or catalogue
 * facet, a provider's token holder) is never passed, nor are the broker's
 * own caps; left out, it is audited launch=bundle-model-refused.
 * bundle.toolPermissions: the profile's `tools` as they are, less entries
 * without a name (1 to 64 bytes) or with an unknown mode; a tool absent
 * from the map is forbidden to the runner (fail closed; docs/agent.md).
 */
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "capos_rt.h"
#include "manifest.h"
#include "server.h"

#define CALL_BUF 8192u
#define PROFILE_MAX 64u

struct broker {
    capos_capset_t *caps;
    capos_cap_t ep, sessions, audit, sysinfo, console;
    bool have_audit, have_sysinfo, have_console;
    uint8_t *manifest;
    size_t manifest_len;
    capnp_message mmsg;
    capnp_struct kparams;
    capnp_message vmsg; /* the last validate answer (in rbuf) */
    uint8_t *pbuf, *rbuf;
};

/* CapSet names the broker never passes on. */
static const char *const own_caps[] = {"broker", "sessions", "boot", "audit",
                                       "console"};

/* Interfaces the broker never passes on. */
static const uint64_t refused_ifaces[] = {
    CAPOS_PROCESS_SPAWNER_INTERFACE_ID,
    CAPOS_BOOT_PACKAGE_INTERFACE_ID,
    CAPOS_NETWORK_MANAGER_INTERFACE_ID,
    CAPOS_TCP_LISTEN_AUTHORITY_INTERFACE_ID,
    CAPOS_CREDENTIAL_STORE_INTERFACE_ID,
    CAPOS_ACCOUNT_STORE_MANAGER_INTERFACE_ID,
    CAPOS_SSH_HOST_KEY_INTERFACE_ID,
    CAPOS_THREAD_SPAWNER_INTERFACE_ID,
    CAPOS_THREAD_CONTROL_INTERFACE_ID,
    CAPOS_PARK_SPACE_INTERFACE_ID,
    CAPOS_ENDPOINT_INTERFACE_ID,
};

static void say(struct broker *b, const char *line)
{
    if (!b->have_console)
        return;
    capos_console_printf(b->console, "%s", line);
}

/* Best-effort audit record (category "launch"). */
static void audit(struct broker *b, const char *code, uint16_t outcome,
                  const char *principal, const uint8_t *sid, size_t sidlen,
                  const char *detail)
{
    if (b->have_audit)
        (void)capos_audit_append_session(b->audit, "launch", code, outcome,
                                         principal, sid, sidlen, detail);
}

static bool find_profile(struct broker *b, const char *name, size_t nlen,
                         capnp_struct *out)
{
    capnp_list l;
    if (capos_KernelParams_get_profiles(&b->kparams, &l) != 0)
        return false;
    for (uint32_t i = 0; i < capnp_list_len(&l); i++) {
        const char *s;
        size_t n;
        if (capnp_list_get_struct(&l, i, out) == 0 &&
            capos_SessionProfile_get_name(out, &s, &n) == 0 && n == nlen &&
            memcmp(s, name, n) == 0)
            return true;
    }
    return false;
}

/* May the broker pass on its CapSet entry `from`? Returns 0 and the cap,
 * or -1 (absent or refused). */
static int passable(struct broker *b, const char *from, capos_cap_t *out)
{
    for (unsigned i = 0; i < sizeof own_caps / sizeof own_caps[0]; i++)
        if (strcmp(from, own_caps[i]) == 0)
            return -1;
    if (capos_capset_find(b->caps, from, 0, out) != 0)
        return -1;
    for (unsigned i = 0; i < sizeof refused_ifaces / sizeof refused_ifaces[0];
         i++)
        if (out->interface_id == refused_ifaces[i])
            return -1;
    return 0;
}

/* The validation answer for session (copied to the SessionManager).
 * Returns the SessionValidation union member, or -1 if the call failed;
 * *info (read from b->vmsg in b->rbuf) is valid for a `valid` answer
 * until the broker's next call. */
static int validate(struct broker *b, capos_cap_t session, capnp_struct *info)
{
    capnp_builder mb;
    capnp_struct_builder p;
    capnp_builder_init(&mb, b->pbuf, CALL_BUF);
    capos_SessionManager_validate_Params_init_root(&mb, &p);
    capos_SessionManager_validate_Params_set_session(&p, 0);
    size_t len = 0;
    if (capnp_finish(&mb, &len) < 0)
        return -1;
    CapTransferDescriptor d = {.cap_id = session.id, .mode = CAP_XFER_COPY};
    memcpy(b->pbuf + CAP_ALIGN8(len), &d, sizeof d);
    CapSqe s = {.opcode = CAP_OP_CALL,
                .cap_id = b->sessions.id,
                .method_id = CAPOS_SESSION_MANAGER_VALIDATE_METHOD_ID,
                .addr = capos_va(b->pbuf),
                .len = (uint32_t)len,
                .xfer_cap_count = 1,
                .result_addr = capos_va(b->rbuf),
                .result_len = CALL_BUF};
    CapCqe c;
    capnp_struct root, v;
    if (capos_rt_call(&s, &c) < 0 || c.result < 0 ||
        capnp_msg_init(&b->vmsg, b->rbuf, (size_t)c.result, NULL) < 0 ||
        capnp_msg_root(&b->vmsg, &root) < 0 ||
        capos_SessionManager_validate_Results_get_result(&root, &v) < 0)
        return -1;
    uint16_t w = capos_SessionValidation_which(&v);
    if (w == CAPOS_SESSION_VALIDATION_WHICH_VALID &&
        capos_SessionValidation_get_valid(&v, info) < 0)
        return -1;
    return w;
}

/* Answer shellBundle with denied(why). */
static int denied(capos_server_call_t *call, uint16_t why)
{
    capnp_struct_builder res, r;
    capos_AuthorityBroker_shellBundle_Results_init_root(call->result, &res);
    capos_AuthorityBroker_shellBundle_Results_init_result(&res, &r);
    capos_ShellBundleResult_set_denied(&r, why);
    return CAPOS_SERVE_REPLY;
}

/* shellBundle's params, checked; session was taken from the call and is
 * the broker's to move or release. */
struct bundle_req {
    char profile[PROFILE_MAX + 1];
    size_t plen;
    capos_cap_t session;
};

/* What the bundle needs of a valid session, copied out of the validate
 * answer (which the broker's next call overwrites). */
struct session_facts {
    char profile[PROFILE_MAX + 1], user[65];
    uint8_t sid[16];
    size_t sidlen;
    uint64_t expires;
};

/* One profile `caps` entry the broker may pass on. */
struct bundle_cap {
    char name[48];
    capos_cap_t cap;
};

/* Decode shellBundle's params into req. Returns true, or false with
 * *verdict the answer (invalidArgument for a bad profile, denied
 * sessionInvalid for a missing session). */
static bool decode_bundle_req(struct broker *b, capos_server_call_t *call,
                              struct bundle_req *req, int *verdict)
{
    const capnp_struct *pr = &call->params_root;
    const char *want;
    uint32_t sidx;
    if (capos_AuthorityBroker_shellBundle_Params_get_profile(pr, &want,
                                                             &req->plen) != 0 ||
        req->plen == 0 || req->plen > PROFILE_MAX) {
        *verdict = capos_server_invalid(
            call, "AuthorityBroker.shellBundle: profile must be 1 to 64 bytes");
        return false;
    }
    memcpy(req->profile, want, req->plen);
    req->profile[req->plen] = 0;
    if (capos_AuthorityBroker_shellBundle_Params_get_session(pr, &sidx) != 0 ||
        sidx == CAPNP_CAP_NULL ||
        capos_server_take_cap(call, sidx, 0, &req->session) != 0) {
        audit(b, "bundle-session-invalid", CAPOS_AUDIT_OUTCOME_DENIED, "", NULL,
              0, "no session cap");
        *verdict = denied(call, CAPOS_BUNDLE_DENIAL_SESSION_INVALID);
        return false;
    }
    return true;
}

/* Copy Text field text (n bytes) into out (cap bytes) if it fits. */
static void copy_text(char *out, size_t cap, const char *text, size_t n)
{
    if (n < cap) {
        memcpy(out, text, n);
        out[n] = 0;
    }
}

/* Validate req's session with the SessionManager into *f. Returns true
 * for a valid, unexpired session; false with *verdict the answer (the
 * session released, the denial audited). */
static bool check_session(struct broker *b, capos_server_call_t *call,
                          const struct bundle_req *req, struct session_facts *f,
                          int *verdict)
{
    capnp_struct info;
    int v = validate(b, req->session, &info);
    if (v < 0) {
        capos_rt_release(req->session);
        *verdict = capos_server_fail(call, CAPOS_EXC_FAILED,
                                     "AuthorityBroker.shellBundle: the "
                                     "SessionManager did not answer");
        return false;
    }
    if (v != CAPOS_SESSION_VALIDATION_WHICH_VALID) {
        capos_rt_release(req->session);
        bool exp = v == CAPOS_SESSION_VALIDATION_WHICH_EXPIRED;
        audit(b, exp ? "bundle-session-expired" : "bundle-session-invalid",
              CAPOS_AUDIT_OUTCOME_DENIED, "", NULL, 0, req->profile);
        *verdict = denied(call, exp ? CAPOS_BUNDLE_DENIAL_SESSION_EXPIRED
                                    : CAPOS_BUNDLE_DENIAL_SESSION_INVALID);
        return false;
    }
    const char *s;
    const uint8_t *d;
    size_t n;
    memset(f, 0, sizeof *f);
    if (capos_SessionInfo_get_profile(&info, &s, &n) == 0)
        copy_text(f->profile, sizeof f->profile, s, n);
    if (capos_SessionInfo_get_username(&info, &s, &n) == 0)
        copy_text(f->user, sizeof f->user, s, n);
    if (capos_SessionInfo_get_sessionId(&info, &d, &n) == 0 &&
        n <= sizeof f->sid) {
        memcpy(f->sid, d, n);
        f->sidlen = n;
    }
    f->expires = capos_SessionInfo_get_expiresNs(&info);
    return true;
}

/* May session f have req's profile as a shell? Returns true with *prof
 * its SessionProfile; false with *verdict the denial (the session
 * released, the denial audited). */
static bool check_profile(struct broker *b, capos_server_call_t *call,
                          const struct bundle_req *req,
                          const struct session_facts *f, capnp_struct *prof,
                          int *verdict)
{
    uint16_t why;
    const char *code;
    if (strcmp(f->profile, req->profile) != 0) {
        why = CAPOS_BUNDLE_DENIAL_PROFILE_NOT_ALLOWED;
        code = "bundle-profile-not-allowed";
    } else if (!find_profile(b, req->profile, req->plen, prof)) {
        why = CAPOS_BUNDLE_DENIAL_PROFILE_UNKNOWN;
        code = "bundle-profile-unknown";
    } else if (!capos_SessionProfile_get_interactive(prof)) {
        why = CAPOS_BUNDLE_DENIAL_PROFILE_NOT_INTERACTIVE;
        code = "bundle-profile-not-interactive";
    } else {
        return true;
    }
    capos_rt_release(req->session);
    audit(b, code, CAPOS_AUDIT_OUTCOME_DENIED, "", f->sid, f->sidlen,
          req->profile);
    *verdict = denied(call, why);
    return false;
}

/* The profile's `caps` entries the broker may pass on, into out (at most
 * CAP_XFER_MAX). Each entry left out is audited
 * (launch=bundle-cap-refused). Returns the count. */
static uint32_t profile_caps(struct broker *b, const struct bundle_req *req,
                             const struct session_facts *f,
                             const capnp_struct *prof, struct bundle_cap *out)
{
    capnp_list pcaps;
    uint32_t np = 0, nout = 0;
    if (capos_SessionProfile_get_caps(prof, &pcaps) == 0)
        np = capnp_list_len(&pcaps);
    for (uint32_t k = 0; k < np; k++) {
        capnp_struct pc;
        char from[48] = "", name[48] = "";
        const char *s;
        size_t n;
        if (capnp_list_get_struct(&pcaps, k, &pc) != 0 ||
            capos_ProfileCap_get_from(&pc, &s, &n) != 0 || n == 0 ||
            n >= sizeof from)
            continue;
        copy_text(from, sizeof from, s, n);
        if (capos_ProfileCap_get_name(&pc, &s, &n) != 0 || n == 0 ||
            n >= sizeof name)
            continue;
        copy_text(name, sizeof name, s, n);
        capos_cap_t cap;
        if (passable(b, from, &cap) != 0 || nout == CAP_XFER_MAX) {
            char det[PROFILE_MAX + 2 * 48 + 32];
            snprintf(det, sizeof det, "profile %s: %s (from %s) left out",
                     req->profile, name, from);
            audit(b, "bundle-cap-refused", CAPOS_AUDIT_OUTCOME_ERROR, "",
                  f->sid, f->sidlen, det);
            continue;
        }
        memcpy(out[nout].name, name, sizeof name);
        out[nout++].cap = cap;
    }
    return nout;
}

/* Put a fresh session launcher of req's profile in bundle: minted
 * (Endpoint.mintClient) through the broker's "launcher.<profile>", a
 * shell-launcher profile facet, so each bundle's children are counted
 * apart (services/shell-launcher). Without that cap bundle.launcher
 * stays null; a failed mint leaves it null too, audited
 * launch=bundle-launcher-failed. */
static void bundle_launcher(struct broker *b, capos_server_call_t *call,
                            const struct bundle_req *req,
                            const struct session_facts *f,
                            capnp_struct_builder *bundle)
{
    char lname[sizeof "launcher." + PROFILE_MAX];
    capos_cap_t lcap, facet;
    int i;
    snprintf(lname, sizeof lname, "launcher.%s", req->profile);
    if (capos_capset_find(b->caps, lname, CAPOS_ENDPOINT_INTERFACE_ID, &lcap) !=
        0)
        return;
    /* ShellBundle.launcher is a ProcessSpawner: only a facet typed so
     * (docs/abi.md §13.5) goes in the bundle. */
    int r = capos_endpoint_mint_typed(lcap, 0, CAPOS_PROCESS_SPAWNER_INTERFACE_ID,
                                      b->pbuf, b->rbuf, CALL_BUF, &facet);
    if (r != 0) {
        char det[PROFILE_MAX + 64];
        snprintf(det, sizeof det, "profile %s: no session launcher (%d)",
                 req->profile, r);
        audit(b, "bundle-launcher-failed", CAPOS_AUDIT_OUTCOME_ERROR, "",
              f->sid, f->sidlen, det);
        return;
    }
    if ((i = capos_server_add_cap(call, facet.id, CAP_XFER_MOVE)) < 0) {
        capos_rt_release(facet);
        return;
    }
    capos_ShellBundle_set_launcher(bundle, (uint32_t)i);
}

/* Is name one of the bundle caps out[0..n)? */
static bool issued(const struct bundle_cap *out, uint32_t n, const char *name,
                   size_t len)
{
    for (uint32_t k = 0; k < n; k++)
        if (strlen(out[k].name) == len && memcmp(out[k].name, name, len) == 0)
            return true;
    return false;
}

/* Copy prof.programs into bundle.programs: each program's default caps,
 * keeping only names of caps this bundle holds (out[0..n)), so a default
 * never names a cap the shell lacks; at most 8 per program. */
static void bundle_programs(const capnp_struct *prof,
                            const struct bundle_cap *out, uint32_t n,
                            capnp_struct_builder *bundle)
{
    capnp_list pl;
    if (!capos_SessionProfile_has_programs(prof) ||
        capos_SessionProfile_get_programs(prof, &pl) != 0)
        return;
    capnp_list_builder lb;
    if (capos_ShellBundle_init_programs(bundle, capnp_list_len(&pl), &lb) != 0)
        return;
    for (uint32_t i = 0; i < capnp_list_len(&pl); i++) {
        capnp_struct pc;
        capnp_struct_builder pb;
        capnp_list names;
        const char *s;
        size_t len;
        if (capnp_list_get_struct(&pl, i, &pc) != 0 ||
            capnp_list_struct_at(&lb, i, &pb) != 0 ||
            capos_ProgramCaps_get_binary(&pc, &s, &len) != 0)
            continue;
        capos_ProgramCaps_set_binary(&pb, s, len);
        if (capos_ProgramCaps_get_caps(&pc, &names) != 0)
            continue;
        const char *keep[8];
        size_t klen[8];
        uint32_t nk = 0;
        for (uint32_t k = 0; k < capnp_list_len(&names) && nk < 8; k++)
            if (capnp_list_get_text(&names, k, &s, &len) == 0 &&
                issued(out, n, s, len)) {
                keep[nk] = s;
                klen[nk++] = len;
            }
        capnp_list_builder cb;
        if (capos_ProgramCaps_init_caps(&pb, nk, &cb) == 0)
            for (uint32_t k = 0; k < nk; k++)
                capnp_list_set_text(&cb, k, keep[k], klen[k]);
    }
}

/* Put the profile's LanguageModel in bundle (see the header): a copy of
 * the broker's entry prof.languageModel if it is typed LanguageModel. */
static void bundle_model(struct broker *b, capos_server_call_t *call,
                         const struct bundle_req *req,
                         const struct session_facts *f,
                         const capnp_struct *prof,
                         capnp_struct_builder *bundle)
{
    const char *s;
    size_t n;
    char from[48];
    capos_cap_t cap;
    int i;
    if (capos_SessionProfile_get_languageModel(prof, &s, &n) != 0 || n == 0)
        return;
    if (n < sizeof from) {
        copy_text(from, sizeof from, s, n);
        if (passable(b, from, &cap) == 0 &&
            cap.interface_id == CAPOS_LANGUAGE_MODEL_INTERFACE_ID &&
            (i = capos_server_add_cap(call, cap.id, CAP_XFER_COPY)) >= 0) {
            capos_ShellBundle_set_languageModel(bundle, (uint32_t)i);
            return;
        }
    }
    char det[PROFILE_MAX + 96];
    snprintf(det, sizeof det,
             "profile %s: languageModel %.*s is not a LanguageModel the broker "
             "holds",
             req->profile, (int)(n < 48 ? n : 48), s);
    audit(b, "bundle-model-refused", CAPOS_AUDIT_OUTCOME_ERROR, "", f->sid,
          f->sidlen, det);
}

/* Copy prof.tools into bundle.toolPermissions, less entries without a
 * 1-to-64-byte name or with a mode PermissionMode lacks. */
static void bundle_tools(const capnp_struct *prof, capnp_struct_builder *bundle)
{
    capnp_list tl;
    uint32_t keep[64], nk = 0;
    if (!capos_SessionProfile_has_tools(prof) ||
        capos_SessionProfile_get_tools(prof, &tl) != 0)
        return;
    for (uint32_t i = 0; i < capnp_list_len(&tl) && nk < 64; i++) {
        capnp_struct t;
        const char *s;
        size_t n;
        if (capnp_list_get_struct(&tl, i, &t) == 0 &&
            capos_ToolPermission_get_tool(&t, &s, &n) == 0 && n > 0 &&
            n <= 64 &&
            capos_ToolPermission_get_mode(&t) <=
                CAPOS_PERMISSION_MODE_FORBIDDEN)
            keep[nk++] = i;
    }
    capnp_list_builder lb;
    if (capos_ShellBundle_init_toolPermissions(bundle, nk, &lb) != 0)
        return;
    for (uint32_t k = 0; k < nk; k++) {
        capnp_struct t;
        capnp_struct_builder tb;
        const char *s;
        size_t n;
        if (capnp_list_get_struct(&tl, keep[k], &t) != 0 ||
            capnp_list_struct_at(&lb, k, &tb) != 0 ||
            capos_ToolPermission_get_tool(&t, &s, &n) != 0)
            continue;
        capos_ToolPermission_set_tool(&tb, s, n);
        capos_ToolPermission_set_mode(&tb, capos_ToolPermission_get_mode(&t));
    }
}

/* Answer with the bundle of checked session f and profile prof: the
 * session back (moved), systemInfo, the launcher and the profile's
 * passable caps, the model and the tool map, all copies of what the
 * broker holds. Audited
 * launch=bundle-issued. */
static int issue_bundle(struct broker *b, capos_server_call_t *call,
                        const struct bundle_req *req,
                        const struct session_facts *f, const capnp_struct *prof)
{
    struct bundle_cap out[CAP_XFER_MAX];
    uint32_t nout = profile_caps(b, req, f, prof, out);
    capnp_struct_builder res, r, bundle;
    capos_AuthorityBroker_shellBundle_Results_init_root(call->result, &res);
    capos_AuthorityBroker_shellBundle_Results_init_result(&res, &r);
    capos_ShellBundleResult_init_bundle(&r, &bundle);
    int i = capos_server_add_cap(call, req->session.id, CAP_XFER_MOVE);
    if (i < 0) {
        capos_rt_release(req->session);
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "AuthorityBroker.shellBundle: no room");
    }
    capos_ShellBundle_set_session(&bundle, (uint32_t)i);
    if (b->have_sysinfo &&
        (i = capos_server_add_cap(call, b->sysinfo.id, CAP_XFER_COPY)) >= 0)
        capos_ShellBundle_set_systemInfo(&bundle, (uint32_t)i);
    capos_ShellBundle_set_expiresNs(&bundle, f->expires);
    bundle_launcher(b, call, req, f, &bundle);
    int idx[CAP_XFER_MAX];
    uint32_t nadd = 0;
    for (uint32_t k = 0; k < nout; k++)
        if ((idx[nadd] =
                 capos_server_add_cap(call, out[k].cap.id, CAP_XFER_COPY)) >= 0)
            out[nadd++] = out[k];
    capnp_list_builder lb;
    if (capos_ShellBundle_init_serviceEndpoints(&bundle, nadd, &lb) == 0)
        for (uint32_t k = 0; k < nadd; k++) {
            capnp_struct_builder nc;
            if (capnp_list_struct_at(&lb, k, &nc) != 0)
                continue;
            capos_NamedCap_set_name(&nc, out[k].name, strlen(out[k].name));
            capos_NamedCap_set_cap(&nc, (uint32_t)idx[k]);
        }
    bundle_programs(prof, out, nadd, &bundle);
    bundle_model(b, call, req, f, prof, &bundle);
    bundle_tools(prof, &bundle);
    audit(b, "bundle-issued", CAPOS_AUDIT_OUTCOME_ALLOWED, f->user, f->sid,
          f->sidlen, req->profile);
    return CAPOS_SERVE_REPLY;
}

/* AuthorityBroker.shellBundle: decode and check everything (params,
 * session, profile), then issue the bundle. */
static int shell_bundle(struct broker *b, capos_server_call_t *call)
{
    struct bundle_req req;
    struct session_facts f;
    capnp_struct prof;
    int verdict;
    if (!decode_bundle_req(b, call, &req, &verdict) ||
        !check_session(b, call, &req, &f, &verdict) ||
        !check_profile(b, call, &req, &f, &prof, &verdict))
        return verdict;
    return issue_bundle(b, call, &req, &f, &prof);
}

static int handle(void *ctx, capos_server_call_t *call)
{
    if (call->method_id == CAPOS_AUTHORITY_BROKER_SHELL_BUNDLE_METHOD_ID)
        return shell_bundle(ctx, call);
    return capos_server_unimplemented(call);
}

int capos_main(capos_capset_t *caps)
{
    struct broker *b = capos_zalloc(sizeof *b);
    if (!b || !capos_alloc_call_bufs(&b->pbuf, &b->rbuf, CALL_BUF))
        return 1;
    b->caps = caps;
    b->have_console =
        capos_capset_find(caps, "console", CAPOS_CONSOLE_INTERFACE_ID,
                          &b->console) == 0;
    b->have_audit =
        capos_capset_find(caps, "audit", CAPOS_AUDIT_LOG_INTERFACE_ID,
                          &b->audit) == 0;
    b->have_sysinfo =
        capos_capset_find(caps, "systemInfo", CAPOS_SYSTEM_INFO_INTERFACE_ID,
                          &b->sysinfo) == 0;
    capos_cap_t boot;
    capnp_struct root;
    if (capos_capset_find(caps, "broker", CAPOS_ENDPOINT_INTERFACE_ID,
                          &b->ep) != 0 ||
        capos_capset_find(caps, "sessions", CAPOS_SESSION_MANAGER_INTERFACE_ID,
                          &b->sessions) != 0 ||
        capos_capset_find(caps, "boot", CAPOS_BOOT_PACKAGE_INTERFACE_ID,
                          &boot) != 0) {
        say(b, "authority-broker: needs caps \"broker\" (endpoint), "
               "\"sessions\" (SessionManager) and \"boot\" (BootPackage)");
        return 2;
    }
    if (capos_manifest_read(boot, &b->manifest, &b->manifest_len) != 0 ||
        capnp_msg_init(&b->mmsg, b->manifest, b->manifest_len, NULL) != 0 ||
        capnp_msg_root(&b->mmsg, &root) != 0 ||
        capos_SystemManifest_get_kernelParams(&root, &b->kparams) != 0) {
        say(b, "authority-broker: cannot read the boot manifest's "
               "kernelParams; check the \"boot\" grant");
        return 2;
    }
    int r = capos_serve(b->ep, handle, b);
    capos_free(b->manifest);
    return r == 0 || r == CAP_ERR_DISCONNECTED ? 0 : 3;
}
