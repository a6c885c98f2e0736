/*
 * shell-launcher - the scoped launcher behind ShellBundle.launcher (builtin
 * "shell-launcher"): ProcessSpawner.spawn for a shell, limited to the
 * programs its session profile lists (SessionProfile.binaries), with no
 * way to relabel an endpoint (docs/abi.md §13.5).
 *
 * Caps: "launcher" (Endpoint, required: serves the scoped spawners),
 * "spawner" (ProcessSpawner, required), "boot" (BootPackage, required: the
 * profiles), "console" (Console, required: each child gets a fresh one).
 *
 * Facets and badges (three ranges of badges on the one endpoint):
 *   - profile facets, badge N (1 <= N <= number of kernelParams.profiles):
 *     an importer's facet for profiles[N-1] (the broker imports one per
 *     launching profile, typed Endpoint). It answers only
 *     Endpoint.mintClient(badge 0): a fresh session launcher of that
 *     profile, moved to the caller (the broker mints one per bundle).
 *     Other badges below JOB_BADGE are refused.
 *   - session launchers, badge SESSION_BADGE | N << 40 | n: answer
 *     ProcessSpawner.spawn for profiles[N-1]; every session launcher
 *     counts its own jobs, so one session's children never use up
 *     another's.
 *   - job facets, badge JOB_BADGE + n: spawn returns one, as result
 *     record handleIndex (0), that speaks ProcessHandle: the launcher
 *     keeps the kernel's (move-only) handle and answers wait/kill for it,
 *     so it can account for its jobs.
 *
 * spawn(name, binaryName, grants, limits): binaryName must be in the
 * profile's binaries; every grant must be a `cap` grant (a cap the caller
 * passes with the call) with badge 0: the child gets copies of exactly
 * those caps (a badged facet keeps its badge: the caller can neither
 * choose nor drop an identity). A grant named "console" must pass a
 * kernel Console (interface and facet flag checked on the transfer
 * record, so an endpoint facet cannot pose as one); the child writes to it (the
 * caller's terminal, say) instead of a fresh host console, which it gets
 * otherwise. limits are ignored (spawner defaults). Refusals are
 * invalidArgument CapExceptions naming the reason.
 *
 * Jobs: at most JOBS_PER_SESSION started and not yet waited per session
 * launcher, JOBS_MAX in all (both refusals are `overloaded` and say
 * which). wait blocks the launcher until the child exits (one job at a
 * time: a shell's `spawn` runs in the foreground), then releases the
 * handle; a second wait on the job is refused. kill kills the child. A
 * job never waited keeps its handle until the launcher exits.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "capos_rt.h"
#include "manifest.h"
#include "server.h"

#define CALL_BUF 8192u
#define JOBS_PER_SESSION 8u
#define JOBS_MAX 256u
#define JOB_BADGE 0x10000000000ull    /* 1 << 40: job facets from here */
#define SESSION_BADGE (1ull << 62)    /* session launchers from here */
#define SESSION_PROFILE_SHIFT 40      /* N of a session launcher's badge */
#define SESSION_PROFILE_MAX 0x3fffffu /* profile badges a session can have */
#define GRANT_NAME_CONSOLE "console"

struct job {
    bool used;
    uint64_t badge; /* the job facet's */
    uint64_t owner; /* the session launcher that started it */
    capos_cap_t handle;
};

struct launcher {
    capos_cap_t ep, spawner, console;
    uint8_t *manifest;
    size_t manifest_len;
    capnp_message mmsg;
    capnp_struct kparams;
    uint8_t *pbuf, *rbuf;
    struct job jobs[JOBS_MAX];
    uint64_t next_job, next_session;
};

/* One checked grant of a spawn: the child's name for it and the cap the
 * caller sent. */
struct spawn_grant {
    const char *name;
    size_t nlen;
    uint64_t iface;
    uint32_t cap_id;
};

/* A spawn call, decoded and checked: everything invoke_spawn needs. */
struct spawn_req {
    const char *name, *bin, *pname;
    size_t nlen, blen, plen;
    struct spawn_grant grants[CAP_XFER_MAX];
    uint32_t ng;
    bool own_console; /* one of grants is the caller's "console" */
    unsigned slot;    /* the free job slot */
};

static void say(struct launcher *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(struct launcher *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    capos_console_vprintf(l->console, fmt, ap);
    va_end(ap);
}

/* The profile badge N of a session launcher's or profile facet's badge
 * (0 for any other badge). */
static uint64_t profile_badge(uint64_t badge)
{
    if (badge >= SESSION_BADGE)
        return (badge - SESSION_BADGE) >> SESSION_PROFILE_SHIFT;
    return badge < JOB_BADGE ? badge : 0;
}

/* Profile N-1 of kernelParams.profiles for profile badge N, or false. */
static bool profile_of(struct launcher *l, uint64_t n, capnp_struct *out)
{
    capnp_list pl;
    if (n == 0 || capos_KernelParams_get_profiles(&l->kparams, &pl) != 0 ||
        n > capnp_list_len(&pl))
        return false;
    return capnp_list_get_struct(&pl, (uint32_t)(n - 1), out) == 0;
}

static bool allowed(const capnp_struct *prof, const char *bin, size_t blen)
{
    capnp_list bl;
    if (capos_SessionProfile_get_binaries(prof, &bl) != 0)
        return false;
    for (uint32_t i = 0; i < capnp_list_len(&bl); i++) {
        const char *s;
        size_t n;
        if (capnp_list_get_text(&bl, i, &s, &n) == 0 && n == blen &&
            memcmp(s, bin, n) == 0)
            return true;
    }
    return false;
}

/* ProcessHandle.kill on the real handle. Returns the CQE result. */
static int kill_child(struct launcher *l, capos_cap_t h)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, l->pbuf, CALL_BUF);
    capos_ProcessHandle_kill_Params_init_root(&b, &p);
    return capos_rt_call_capnp(h, CAPOS_PROCESS_HANDLE_KILL_METHOD_ID, &b,
                               l->rbuf, CALL_BUF, NULL, NULL);
}

/* A job facet speaks ProcessHandle (typed, docs/abi.md §8). */
static int mint_job(struct launcher *l, uint64_t badge, capos_cap_t *out)
{
    return capos_endpoint_mint_typed(l->ep, badge,
                                     CAPOS_PROCESS_HANDLE_INTERFACE_ID, l->pbuf,
                                     l->rbuf, CALL_BUF, out);
}

/* Endpoint.mintClient(0) through profile facet badge N: answer a fresh
 * session launcher of profile N-1, moved to the caller. */
static int mint_session(struct launcher *l, capos_server_call_t *call)
{
    capnp_struct prof;
    uint64_t n = call->badge;
    if (!profile_of(l, n, &prof) || n > SESSION_PROFILE_MAX)
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "shell-launcher: this facet is no profile's "
                                 "launcher");
    if (call->method_id != CAPOS_ENDPOINT_MINT_CLIENT_METHOD_ID)
        return capos_server_unimplemented(call);
    if (capos_Endpoint_mintClient_Params_get_badge(&call->params_root) != 0)
        return capos_server_invalid(call, "shell-launcher: the launcher "
                                          "picks session badges; pass 0");
    uint64_t badge = SESSION_BADGE | n << SESSION_PROFILE_SHIFT |
                     (++l->next_session & (JOB_BADGE - 1));
    capos_cap_t facet;
    int i;
    /* A session launcher speaks ProcessSpawner (ShellBundle.launcher). */
    if (capos_endpoint_mint_typed(l->ep, badge,
                                  CAPOS_PROCESS_SPAWNER_INTERFACE_ID, l->pbuf,
                                  l->rbuf, CALL_BUF, &facet) != 0)
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "shell-launcher: cannot mint a session "
                                 "launcher");
    if ((i = capos_server_add_cap(call, facet.id, CAP_XFER_MOVE)) < 0) {
        capos_rt_release(facet);
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "shell-launcher: no room for the session "
                                 "launcher");
    }
    capnp_struct_builder res;
    capos_Endpoint_mintClient_Results_init_root(call->result, &res);
    capos_Endpoint_mintClient_Results_set_facet(&res, (uint32_t)i);
    return CAPOS_SERVE_REPLY;
}

/* Decode grant g of a spawn into *out. Returns true, or false with
 * *verdict the refusal. A "console" grant must pass a kernel Console. */
static bool decode_grant(capos_server_call_t *call, const capnp_struct *g,
                         struct spawn_grant *out, bool *console, int *verdict)
{
    uint32_t ci;
    if (capos_CapGrant_get_name(g, &out->name, &out->nlen) != 0 ||
        out->nlen == 0) {
        *verdict = capos_server_invalid(call, "shell-launcher: a grant has "
                                              "no name");
        return false;
    }
    if (capos_CapGrant_source_which(g) != CAPOS_CAP_GRANT_SOURCE_WHICH_CAP ||
        capos_CapGrant_source_get_cap(g, &ci) != 0 || ci >= call->cap_count) {
        *verdict = capos_server_invalid(call, "shell-launcher: a grant must "
                                              "pass a cap sent with the call");
        return false;
    }
    *console = out->nlen == strlen(GRANT_NAME_CONSOLE) &&
               memcmp(out->name, GRANT_NAME_CONSOLE, out->nlen) == 0;
    /* The kernel's Console: a facet, even one typed Console, cannot pose
     * as it, whatever the grant's interfaceId says (docs/abi.md §8). */
    if (*console &&
        (call->caps[ci].interface_id != CAPOS_CONSOLE_INTERFACE_ID ||
         (call->caps[ci].flags & CAP_XFER_REC_FACET))) {
        /* login.test holds this text; it is the launcher's own grant
         * unless the caller hands over a Console. */
        *verdict = capos_server_invalid(call, "shell-launcher: \"console\" "
                                              "is the launcher's grant");
        return false;
    }
    if (capos_CapGrant_get_badge(g) != 0) {
        *verdict = capos_server_fail(call, CAPOS_EXC_INVALID_ARGUMENT,
                                     "shell-launcher: grant \"%.*s\" sets a "
                                     "badge; delegated caps keep their "
                                     "source identity",
                                     (int)out->nlen, out->name);
        return false;
    }
    out->iface = *console ? CAPOS_CONSOLE_INTERFACE_ID
                          : capos_CapGrant_get_interfaceId(g);
    out->cap_id = call->caps[ci].cap_id;
    return true;
}

/* A free job slot for session launcher owner. Returns true with *slot,
 * or false with *verdict the `overloaded` refusal. */
static bool job_slot(struct launcher *l, capos_server_call_t *call,
                     uint64_t owner, unsigned *slot, int *verdict)
{
    unsigned mine = 0;
    *slot = JOBS_MAX;
    for (unsigned i = 0; i < JOBS_MAX; i++) {
        if (!l->jobs[i].used)
            *slot = *slot < JOBS_MAX ? *slot : i;
        else if (l->jobs[i].owner == owner)
            mine++;
    }
    if (mine >= JOBS_PER_SESSION)
        *verdict = capos_server_fail(call, CAPOS_EXC_OVERLOADED,
                                     "shell-launcher: this session has %u "
                                     "programs not waited for yet; wait for "
                                     "one (or log out) before starting more",
                                     mine);
    else if (*slot == JOBS_MAX)
        *verdict = capos_server_fail(call, CAPOS_EXC_OVERLOADED,
                                     "shell-launcher: %u programs of all "
                                     "sessions not waited for yet; try again "
                                     "later",
                                     JOBS_MAX);
    return mine < JOBS_PER_SESSION && *slot < JOBS_MAX;
}

/* Decode and check a spawn through a session launcher of profile prof
 * into *req. Returns true, or false with *verdict the refusal. */
static bool decode_spawn(struct launcher *l, capos_server_call_t *call,
                         const capnp_struct *prof, struct spawn_req *req,
                         int *verdict)
{
    const capnp_struct *pr = &call->params_root;
    memset(req, 0, sizeof *req);
    req->pname = "";
    capos_SessionProfile_get_name(prof, &req->pname, &req->plen);
    if (capos_ProcessSpawner_spawn_Params_get_name(pr, &req->name,
                                                   &req->nlen) != 0 ||
        capos_ProcessSpawner_spawn_Params_get_binaryName(pr, &req->bin,
                                                         &req->blen) != 0 ||
        req->nlen == 0 || req->nlen > 31 || req->blen == 0 || req->blen > 64) {
        *verdict = capos_server_invalid(call, "shell-launcher: name and "
                                              "binaryName are required");
        return false;
    }
    if (!allowed(prof, req->bin, req->blen)) {
        *verdict = capos_server_fail(
            call, CAPOS_EXC_INVALID_ARGUMENT,
            "shell-launcher: \"%.*s\" is not a program of profile %.*s",
            (int)req->blen, req->bin, (int)req->plen, req->pname);
        return false;
    }
    capnp_list gl;
    if (capos_ProcessSpawner_spawn_Params_get_grants(pr, &gl) == 0)
        req->ng = capnp_list_len(&gl);
    if (req->ng > CAP_XFER_MAX) {
        *verdict = capos_server_invalid(call, "shell-launcher: at most 8 "
                                              "grants");
        return false;
    }
    if (!job_slot(l, call, call->badge, &req->slot, verdict))
        return false;
    for (uint32_t i = 0; i < req->ng; i++) {
        capnp_struct g;
        bool console = false;
        if (capnp_list_get_struct(&gl, i, &g) != 0) {
            *verdict = capos_server_invalid(call, "shell-launcher: a grant "
                                                  "has no name");
            return false;
        }
        if (!decode_grant(call, &g, &req->grants[i], &console, verdict))
            return false;
        req->own_console |= console;
    }
    return true;
}

/* Build req's ProcessSpawner.spawn in l->pbuf: "console" first (a fresh
 * kernel one unless the caller sent its own), then the caller's grants
 * as copies. Returns the message length, or 0 if it does not fit. */
static size_t spawn_request(struct launcher *l, const struct spawn_req *req)
{
    capnp_builder b;
    capnp_struct_builder p, gs;
    capnp_list_builder ol;
    CapTransferDescriptor desc[CAP_XFER_MAX];
    size_t room = CALL_BUF - 8 - CAP_XFER_MAX * sizeof(CapTransferDescriptor);
    uint32_t k = 0;
    capnp_builder_init(&b, l->pbuf, room);
    capos_ProcessSpawner_spawn_Params_init_root(&b, &p);
    capos_ProcessSpawner_spawn_Params_set_name(&p, req->name, req->nlen);
    capos_ProcessSpawner_spawn_Params_set_binaryName(&p, req->bin, req->blen);
    capos_ProcessSpawner_spawn_Params_init_grants(
        &p, req->ng + (req->own_console ? 0 : 1), &ol);
    if (!req->own_console) {
        capnp_list_struct_at(&ol, k++, &gs);
        capos_CapGrant_set_name(&gs, GRANT_NAME_CONSOLE,
                                strlen(GRANT_NAME_CONSOLE));
        capos_CapGrant_source_set_kernel(&gs, CAPOS_KERNEL_CAP_SOURCE_CONSOLE);
    }
    for (uint32_t i = 0; i < req->ng; i++) {
        const struct spawn_grant *g = &req->grants[i];
        capnp_list_struct_at(&ol, k++, &gs);
        capos_CapGrant_set_name(&gs, g->name, g->nlen);
        capos_CapGrant_set_interfaceId(&gs, g->iface);
        capos_CapGrant_source_set_cap(&gs, i);
        desc[i] =
            (CapTransferDescriptor){.cap_id = g->cap_id, .mode = CAP_XFER_COPY};
    }
    size_t len;
    if (capnp_finish(&b, &len) != 0)
        return 0;
    memcpy(l->pbuf + CAP_ALIGN8(len), desc, req->ng * sizeof desc[0]);
    return len;
}

/* Start checked req for session launcher call->badge: spawn it, keep
 * the kernel's handle as a job and answer the job facet. */
static int invoke_spawn(struct launcher *l, capos_server_call_t *call,
                        const struct spawn_req *req)
{
    size_t len = spawn_request(l, req);
    if (len == 0)
        return capos_server_invalid(call, "shell-launcher: request too big");
    CapSqe sqe;
    capos_ProcessSpawner_spawn_sqe_xfer(&sqe, l->spawner.id, capos_va(l->pbuf),
                                        (uint32_t)len, (uint16_t)req->ng,
                                        capos_va(l->rbuf), CALL_BUF, 0);
    CapCqe cqe;
    int r = capos_rt_call(&sqe, &cqe);
    if (r == 0)
        r = cqe.result;
    char reason[200];
    if (r < 0)
        return capos_server_fail(
            call, CAPOS_EXC_FAILED, "shell-launcher: %s",
            capos_rt_error_text(l->rbuf, CALL_BUF, r, reason, sizeof reason));
    capos_cap_t handle = {0, 0}, facet;
    if (!capos_rt_keep_first_cap(&cqe, l->rbuf, 0, &handle))
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "shell-launcher: no process handle");
    uint64_t jb = JOB_BADGE + ++l->next_job;
    int hi;
    if (mint_job(l, jb, &facet) != 0 ||
        (hi = capos_server_add_cap(call, facet.id, CAP_XFER_MOVE)) < 0) {
        /* Nobody could wait for it: stop it rather than leak a job. */
        kill_child(l, handle);
        capos_rt_release(handle);
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "shell-launcher: no room for the job facet");
    }
    l->jobs[req->slot] = (struct job){true, jb, call->badge, handle};
    unsigned ng = req->ng - (req->own_console ? 1u : 0u);
    say(l, "shell-launcher: profile %.*s started %.*s (%u grant%s + %s)",
        (int)req->plen, req->pname, (int)req->blen, req->bin, ng,
        ng == 1 ? "" : "s",
        req->own_console ? "the caller's console" : "console");
    capnp_struct_builder res;
    capos_ProcessSpawner_spawn_Results_init_root(call->result, &res);
    capos_ProcessSpawner_spawn_Results_set_handleIndex(&res, (uint16_t)hi);
    return CAPOS_SERVE_REPLY;
}

/* ProcessSpawner.spawn through session launcher call->badge. */
static int spawn(struct launcher *l, capos_server_call_t *call)
{
    capnp_struct prof;
    struct spawn_req req;
    int verdict = CAPOS_SERVE_EXCEPTION; /* decode_spawn sets it on refusal */
    if (!profile_of(l, profile_badge(call->badge), &prof))
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "shell-launcher: this facet is no profile's "
                                 "launcher");
    if (call->method_id != CAPOS_PROCESS_SPAWNER_SPAWN_METHOD_ID)
        return capos_server_unimplemented(call);
    if (!decode_spawn(l, call, &prof, &req, &verdict))
        return verdict;
    return invoke_spawn(l, call, &req);
}

static int job_call(struct launcher *l, capos_server_call_t *call)
{
    struct job *j = NULL;
    for (unsigned i = 0; i < JOBS_MAX; i++)
        if (l->jobs[i].used && l->jobs[i].badge == call->badge)
            j = &l->jobs[i];
    if (!j)
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "shell-launcher: this job was waited for "
                                 "already");
    if (call->method_id == CAPOS_PROCESS_HANDLE_KILL_METHOD_ID) {
        int r = kill_child(l, j->handle);
        return r < 0 ? capos_server_fail(call, CAPOS_EXC_FAILED,
                                         "shell-launcher: kill failed (%d)", r)
                     : CAPOS_SERVE_REPLY;
    }
    if (call->method_id != CAPOS_PROCESS_HANDLE_WAIT_METHOD_ID)
        return capos_server_unimplemented(call);
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, l->pbuf, CALL_BUF);
    capos_ProcessHandle_wait_Params_init_root(&b, &p);
    capnp_message m;
    capnp_struct root;
    int r = capos_rt_call_capnp(j->handle, CAPOS_PROCESS_HANDLE_WAIT_METHOD_ID,
                                &b, l->rbuf, CALL_BUF, &m, &root);
    if (r < 0)
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "shell-launcher: wait failed (%d)", r);
    int64_t code = capos_ProcessHandle_wait_Results_get_exitCode(&root);
    capos_rt_release(j->handle);
    j->used = false;
    capnp_struct_builder res;
    capos_ProcessHandle_wait_Results_init_root(call->result, &res);
    capos_ProcessHandle_wait_Results_set_exitCode(&res, code);
    return CAPOS_SERVE_REPLY;
}

/* Dispatch by the badge's range (see the header). */
static int handle(void *ctx, capos_server_call_t *call)
{
    struct launcher *l = ctx;
    if (call->badge >= SESSION_BADGE)
        return spawn(l, call);
    if (call->badge >= JOB_BADGE)
        return job_call(l, call);
    return mint_session(l, call);
}

int capos_main(capos_capset_t *caps)
{
    struct launcher *l = capos_zalloc(sizeof *l);
    if (!l || !capos_alloc_call_bufs(&l->pbuf, &l->rbuf, CALL_BUF))
        return 1;
    if (capos_capset_find(caps, "console", CAPOS_CONSOLE_INTERFACE_ID,
                          &l->console) != 0)
        return 2;
    capos_cap_t boot;
    capnp_struct root;
    if (capos_capset_find(caps, "launcher", CAPOS_ENDPOINT_INTERFACE_ID,
                          &l->ep) != 0 ||
        capos_capset_find(caps, "spawner", CAPOS_PROCESS_SPAWNER_INTERFACE_ID,
                          &l->spawner) != 0 ||
        capos_capset_find(caps, "boot", CAPOS_BOOT_PACKAGE_INTERFACE_ID,
                          &boot) != 0) {
        say(l, "shell-launcher: needs caps \"launcher\" (endpoint), "
               "\"spawner\" (ProcessSpawner) and \"boot\" (BootPackage)");
        return 2;
    }
    if (capos_manifest_read(boot, &l->manifest, &l->manifest_len) != 0 ||
        capnp_msg_init(&l->mmsg, l->manifest, l->manifest_len, NULL) != 0 ||
        capnp_msg_root(&l->mmsg, &root) != 0 ||
        capos_SystemManifest_get_kernelParams(&root, &l->kparams) != 0) {
        say(l, "shell-launcher: cannot read the boot manifest's "
               "kernelParams");
        return 2;
    }
    int r = capos_serve(l->ep, handle, l);
    for (unsigned i = 0; i < JOBS_MAX; i++)
        if (l->jobs[i].used)
            capos_rt_release(l->jobs[i].handle);
    capos_rt_flush_releases();
    capos_free(l->manifest);
    return r == 0 || r == CAP_ERR_DISCONNECTED ? 0 : 3;
}
