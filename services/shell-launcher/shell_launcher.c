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
 * Facets and badges: an importer's facet of "launcher" with badge N
 * (1 <= N <= number of kernelParams.profiles) is the launcher of profile
 * N-1 (the broker imports one per launching profile and puts it in that
 * profile's bundles). Calls through badge 0 or an unknown badge are
 * refused. spawn returns, as result record handleIndex (0), a job facet
 * minted on the same endpoint (badge JOB_BADGE + n) that speaks
 * ProcessHandle: the launcher keeps the kernel's (move-only) handle and
 * answers wait/kill for it, so it can account for its jobs.
 *
 * spawn(name, binaryName, grants, limits): binaryName must be in the
 * profile's binaries; every grant must be a `cap` grant (a cap the caller
 * passes with the call) with badge 0, under a name other than "console":
 * the child gets copies of exactly those caps (a badged facet keeps its
 * badge: the caller can neither choose nor drop an identity) plus a fresh
 * "console". limits are ignored (spawner defaults). Refusals are
 * invalidArgument CapExceptions naming the reason.
 *
 * Jobs: at most JOBS_MAX started and not yet waited. wait blocks the
 * launcher until the child exits (one job at a time: a shell's `spawn`
 * runs in the foreground), then releases the handle; a second wait on
 * the job is refused. kill kills the child. A job never waited keeps its
 * handle until the launcher exits.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "capos_rt.h"
#include "manifest.h"
#include "server.h"

#define CALL_BUF 8192u
#define JOBS_MAX 8u
#define JOB_BADGE 0x10000000000ull

struct job {
    bool used;
    uint64_t badge;
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
    uint64_t next_job;
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

/* Profile badge-1 of kernelParams.profiles, or false. */
static bool profile_of(struct launcher *l, uint64_t badge, capnp_struct *out)
{
    capnp_list pl;
    if (badge == 0 || badge >= JOB_BADGE ||
        capos_KernelParams_get_profiles(&l->kparams, &pl) != 0 ||
        badge > capnp_list_len(&pl))
        return false;
    return capnp_list_get_struct(&pl, (uint32_t)(badge - 1), out) == 0;
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

static int mint_job(struct launcher *l, uint64_t badge, capos_cap_t *out)
{
    return capos_endpoint_mint_client(l->ep, badge, l->pbuf, l->rbuf, CALL_BUF,
                                      out);
}

static int spawn(struct launcher *l, capos_server_call_t *call)
{
    capnp_struct prof;
    if (call->method_id != CAPOS_PROCESS_SPAWNER_SPAWN_METHOD_ID)
        return capos_server_unimplemented(call);
    if (!profile_of(l, call->badge, &prof))
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "shell-launcher: this facet is no profile's "
                                 "launcher");
    const capnp_struct *pr = &call->params_root;
    const char *name, *bin, *pname = "";
    size_t nlen, blen, plen = 0;
    capos_SessionProfile_get_name(&prof, &pname, &plen);
    if (capos_ProcessSpawner_spawn_Params_get_name(pr, &name, &nlen) != 0 ||
        capos_ProcessSpawner_spawn_Params_get_binaryName(pr, &bin, &blen) !=
            0 ||
        nlen == 0 || nlen > 31 || blen == 0 || blen > 64)
        return capos_server_invalid(call, "shell-launcher: name and "
                                          "binaryName are required");
    if (!allowed(&prof, bin, blen))
        return capos_server_fail(call, CAPOS_EXC_INVALID_ARGUMENT,
                                 "shell-launcher: \"%.*s\" is not a program "
                                 "of profile %.*s",
                                 (int)blen, bin, (int)plen, pname);
    capnp_list gl;
    uint32_t ng = 0;
    if (capos_ProcessSpawner_spawn_Params_get_grants(pr, &gl) == 0)
        ng = capnp_list_len(&gl);
    if (ng > CAP_XFER_MAX)
        return capos_server_invalid(call, "shell-launcher: at most 8 grants");
    unsigned slot = 0;
    while (slot < JOBS_MAX && l->jobs[slot].used)
        slot++;
    if (slot == JOBS_MAX)
        return capos_server_fail(call, CAPOS_EXC_OVERLOADED,
                                 "shell-launcher: %u programs not waited "
                                 "for yet",
                                 JOBS_MAX);

    capnp_builder b;
    capnp_struct_builder p, gs;
    capnp_list_builder ol;
    size_t room = CALL_BUF - 8 - CAP_XFER_MAX * sizeof(CapTransferDescriptor);
    capnp_builder_init(&b, l->pbuf, room);
    capos_ProcessSpawner_spawn_Params_init_root(&b, &p);
    capos_ProcessSpawner_spawn_Params_set_name(&p, name, nlen);
    capos_ProcessSpawner_spawn_Params_set_binaryName(&p, bin, blen);
    capos_ProcessSpawner_spawn_Params_init_grants(&p, ng + 1, &ol);
    capnp_list_struct_at(&ol, 0, &gs);
    capos_CapGrant_set_name(&gs, "console", 7);
    capos_CapGrant_source_set_kernel(&gs, CAPOS_KERNEL_CAP_SOURCE_CONSOLE);
    CapTransferDescriptor desc[CAP_XFER_MAX];
    for (uint32_t i = 0; i < ng; i++) {
        capnp_struct g;
        const char *gn;
        size_t gnl;
        uint32_t ci;
        if (capnp_list_get_struct(&gl, i, &g) != 0 ||
            capos_CapGrant_get_name(&g, &gn, &gnl) != 0 || gnl == 0)
            return capos_server_invalid(call, "shell-launcher: a grant has "
                                              "no name");
        if (gnl == 7 && memcmp(gn, "console", 7) == 0)
            return capos_server_invalid(call, "shell-launcher: \"console\" "
                                              "is the launcher's grant");
        if (capos_CapGrant_source_which(&g) !=
                CAPOS_CAP_GRANT_SOURCE_WHICH_CAP ||
            capos_CapGrant_source_get_cap(&g, &ci) != 0 ||
            ci >= call->cap_count)
            return capos_server_invalid(call, "shell-launcher: a grant must "
                                              "pass a cap sent with the call");
        if (capos_CapGrant_get_badge(&g) != 0)
            return capos_server_fail(call, CAPOS_EXC_INVALID_ARGUMENT,
                                     "shell-launcher: grant \"%.*s\" sets a "
                                     "badge; delegated caps keep their "
                                     "source identity",
                                     (int)gnl, gn);
        capnp_list_struct_at(&ol, i + 1, &gs);
        capos_CapGrant_set_name(&gs, gn, gnl);
        capos_CapGrant_set_interfaceId(&gs, capos_CapGrant_get_interfaceId(&g));
        capos_CapGrant_source_set_cap(&gs, i);
        desc[i] = (CapTransferDescriptor){.cap_id = call->caps[ci].cap_id,
                                          .mode = CAP_XFER_COPY};
    }
    size_t len;
    if (capnp_finish(&b, &len) != 0)
        return capos_server_invalid(call, "shell-launcher: request too big");
    memcpy(l->pbuf + CAP_ALIGN8(len), desc, ng * sizeof desc[0]);
    CapSqe sqe;
    capos_ProcessSpawner_spawn_sqe_xfer(&sqe, l->spawner.id, capos_va(l->pbuf),
                                        (uint32_t)len, (uint16_t)ng,
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
    capos_cap_t handle = {0, 0};
    if (!capos_rt_keep_first_cap(&cqe, l->rbuf, 0, &handle))
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "shell-launcher: no process handle");
    uint64_t jb = JOB_BADGE + ++l->next_job;
    capos_cap_t facet;
    int hi;
    if (mint_job(l, jb, &facet) != 0 ||
        (hi = capos_server_add_cap(call, facet.id, CAP_XFER_MOVE)) < 0) {
        /* Nobody could wait for it: stop it rather than leak a job. */
        kill_child(l, handle);
        capos_rt_release(handle);
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "shell-launcher: no room for the job facet");
    }
    l->jobs[slot] = (struct job){true, jb, handle};
    say(l, "shell-launcher: profile %.*s started %.*s (%u grant%s + console)",
        (int)plen, pname, (int)blen, bin, ng, ng == 1 ? "" : "s");
    capnp_struct_builder res;
    capos_ProcessSpawner_spawn_Results_init_root(call->result, &res);
    capos_ProcessSpawner_spawn_Results_set_handleIndex(&res, (uint16_t)hi);
    return CAPOS_SERVE_REPLY;
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

static int handle(void *ctx, capos_server_call_t *call)
{
    struct launcher *l = ctx;
    if (call->badge >= JOB_BADGE)
        return job_call(l, call);
    return spawn(l, call);
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
