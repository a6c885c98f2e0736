/*
 * plan.c - init's reading of initConfig.services: every service, grant
 * and export is checked, and decoded into the plan (init.h) that
 * spawn.c carries out. Every problem is said and counted; one problem
 * and init starts nothing (init.c). Grant kinds: init.c's header and
 * docs/abi.md §13.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "init.h"

/* Said through init_say (init.c at boot, check-manifest at build). */
void init_problem(struct init *in, const char *fmt, ...)
{
    char line[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    init_say(in, "manifest: %s", line);
    in->problems++;
}

/* A planned grant that passes no cap of init's (plan_grant's key). */
#define NO_PASS UINT64_MAX

static bool eq(const char *a, size_t al, const char *b, size_t bl)
{
    return al == bl && memcmp(a, b, al) == 0;
}

/* A Text field, "" when absent; false if it is malformed. */
static bool text(const capnp_struct *s, uint16_t idx, const char **str,
                 size_t *len)
{
    if (!capnp_has_ptr(s, idx)) {
        *str = "";
        *len = 0;
        return true;
    }
    return capnp_get_text(s, idx, str, len) == 0;
}

/* KernelCapSource: name, interface, and how init can grant it. */
enum ksrc_how { K_MINTED, K_PASSED, K_UNSUPPORTED };
static const struct {
    const char *name;
    uint64_t iface;
    enum ksrc_how how;
} ksrcs[] = {
    {"console", CAPOS_CONSOLE_INTERFACE_ID, K_MINTED},
    {"terminal", CAPOS_TERMINAL_SESSION_INTERFACE_ID, K_PASSED},
    {"timer", CAPOS_TIMER_INTERFACE_ID, K_MINTED},
    {"entropy", CAPOS_ENTROPY_SOURCE_INTERFACE_ID, K_PASSED},
    {"processSpawner", CAPOS_PROCESS_SPAWNER_INTERFACE_ID, K_PASSED},
    {"bootPackage", CAPOS_BOOT_PACKAGE_INTERFACE_ID, K_PASSED},
    {"systemInfo", CAPOS_SYSTEM_INFO_INTERFACE_ID, K_PASSED},
    {"nullCap", CAPOS_NULL_CAP_INTERFACE_ID, K_MINTED},
    /* Objects of the grantee's own process: the spawner mints them for
     * the child (init's own would be the wrong object). */
    {"threadSpawner", CAPOS_THREAD_SPAWNER_INTERFACE_ID, K_MINTED},
    {"threadControl", CAPOS_THREAD_CONTROL_INTERFACE_ID, K_MINTED},
    {"parkSpace", CAPOS_PARK_SPACE_INTERFACE_ID, K_MINTED},
    {"networkManager", CAPOS_NETWORK_MANAGER_INTERFACE_ID, K_PASSED},
    /* Minted for the child, scoped to the guest port in the grant's
     * badge (docs/net.md). */
    {"tcpListenAuthority", CAPOS_TCP_LISTEN_AUTHORITY_INTERFACE_ID, K_MINTED},
    {"sshDevelopmentHostKey", CAPOS_SSH_HOST_KEY_INTERFACE_ID, K_PASSED},
    {"terminalFromByteStream",
     CAPOS_TERMINAL_SESSION_FROM_BYTE_STREAM_INTERFACE_ID, K_MINTED},
};
#define NKSRC (sizeof ksrcs / sizeof ksrcs[0])

uint64_t plan_ksrc_iface(uint16_t src)
{
    return src < NKSRC ? ksrcs[src].iface : 0;
}

/* init's own CapSet entry speaking iface (first one), if any. */
static bool own_cap(struct init *in, uint64_t iface, capos_cap_t *out)
{
    for (unsigned i = 0; i < capos_capset_count(in->caps); i++) {
        const CapSetEntry *e = capos_capset_entry(in->caps, i);
        if (e->interface_id == iface) {
            out->id = e->cap_id;
            out->interface_id = iface;
            return true;
        }
    }
    return false;
}

/* Resolve import "svc.export" of service i against services before it.
 * Returns true with *si, *ei set. */
static bool find_import(struct init *in, uint32_t i, const char *ref,
                        size_t rlen, int32_t *si, uint32_t *ei)
{
    for (uint32_t j = 0; j < i; j++) {
        const struct service *s = &in->svcs[j];
        if (rlen <= s->nlen + 1 || memcmp(ref, s->name, s->nlen) != 0 ||
            ref[s->nlen] != '.')
            continue;
        const char *exp = ref + s->nlen + 1;
        size_t elen = rlen - s->nlen - 1;
        for (uint32_t k = 0; k < s->nexports; k++) {
            if (eq(exp, elen, s->exports[k].name, s->exports[k].nlen)) {
                *si = (int32_t)j;
                *ei = k;
                return true;
            }
        }
    }
    return false;
}

/* The host key's custody rule (docs/ssh.md "Host key"): the development
 * host key, whose seed its cap gives out, goes to one service, running
 * the ssh-gateway binary. True if s may have it (then it is counted). */
static bool plan_hostkey_custody(struct init *in, const struct service *s,
                                 int cl, const char *cn)
{
    int snl = (int)s->nlen;
    if (!eq(s->binary, s->blen, "ssh-gateway", 11)) {
        init_problem(in,
                     "%.*s: cap \"%.*s\": only the ssh-gateway binary may "
                     "hold sshDevelopmentHostKey (its cap gives out the "
                     "private seed)",
                     snl, s->name, cl, cn);
        return false;
    }
    if (in->hostkey_holders++ > 0) {
        init_problem(in,
                     "%.*s: cap \"%.*s\": sshDevelopmentHostKey goes to one "
                     "service only",
                     snl, s->name, cl, cn);
        return false;
    }
    return true;
}

/* Plan kernel-source grant cg (named in pg) of service s: minted by the
 * spawner, or init's own cap of that interface passed on. Returns true
 * with pg's kind set and *key the cap passed (NO_PASS: none), or false
 * (a problem, said). */
static bool plan_kernel(struct init *in, const struct service *s,
                        const capnp_struct *cg, struct plan_grant *pg,
                        uint64_t *key)
{
    int snl = (int)s->nlen, cl = (int)pg->nlen;
    const char *sn = s->name, *cn = pg->name;
    uint16_t src = capos_CapGrant_source_get_kernel(cg);
    if (src >= NKSRC) {
        init_problem(in, "%.*s: cap \"%.*s\": unknown kernel source %u", snl,
                     sn, cl, cn, src);
        return false;
    }
    if (pg->iface && pg->iface != ksrcs[src].iface)
        init_problem(in,
                     "%.*s: cap \"%.*s\": interfaceId does not match "
                     "kernel source %s",
                     snl, sn, cl, cn, ksrcs[src].name);
    if (ksrcs[src].how == K_MINTED) {
        pg->kind = P_KERNEL;
        pg->ksrc = src;
        *key = NO_PASS;
        return true;
    }
    if (src == CAPOS_KERNEL_CAP_SOURCE_SSH_DEVELOPMENT_HOST_KEY &&
        !plan_hostkey_custody(in, s, cl, cn))
        return false;
    capos_cap_t pass = {0, 0};
    if (ksrcs[src].how == K_UNSUPPORTED ||
        !own_cap(in, ksrcs[src].iface, &pass)) {
        init_problem(in,
                     "%.*s: cap \"%.*s\": init cannot grant kernel "
                     "source %s: ProcessSpawner mints only console, "
                     "timer, nullCap, tcpListenAuthority and the child's "
                     "own threadSpawner, threadControl and parkSpace%s",
                     snl, sn, cl, cn, ksrcs[src].name,
                     ksrcs[src].how == K_UNSUPPORTED
                         ? ", and this source cannot be granted yet"
                         : ", and init holds no such cap to pass on "
                           "(add it to init's caps)");
        return false;
    }
    pg->kind = P_PASS;
    pg->pass = pass;
    pg->badge = 0; /* only imports carry a badge (CapGrant.badge) */
    *key = pass.id;
    return true;
}

/* Plan `service` grant cg (named in pg) of service i: an import of an
 * export of a service listed before it. Returns true with *key the
 * import (its facet exists once the exporter runs), or false (said). */
static bool plan_import(struct init *in, uint32_t i, const capnp_struct *cg,
                        struct plan_grant *pg, uint64_t *key)
{
    const struct service *s = &in->svcs[i];
    int snl = (int)s->nlen, cl = (int)pg->nlen;
    const char *sn = s->name, *cn = pg->name, *ref;
    size_t rl;
    if (!text(cg, 1, &ref, &rl) || rl == 0) {
        init_problem(in,
                     "%.*s: cap \"%.*s\": source `service` needs "
                     "\"<service>.<export>\"",
                     snl, sn, cl, cn);
        return false;
    }
    int rll = (int)(rl > 64 ? 64 : rl);
    if (!find_import(in, i, ref, rl, &pg->import_svc, &pg->import_exp)) {
        init_problem(in,
                     "%.*s: cap \"%.*s\": \"%.*s\" is not an export of "
                     "a service listed before %.*s%s",
                     snl, sn, cl, cn, rll, ref, snl, sn,
                     rl > 5 && memcmp(ref, "init.", 5) == 0
                         ? " (init exports nothing)"
                         : "");
        return false;
    }
    const struct svc_export *e =
        &in->svcs[pg->import_svc].exports[pg->import_exp];
    uint64_t have = e->iface ? e->iface : CAPOS_CLIENT_ENDPOINT_INTERFACE_ID;
    if (pg->iface && pg->iface != have)
        init_problem(in,
                     "%.*s: cap \"%.*s\": interfaceId does not match the "
                     "interface %.*s exports",
                     snl, sn, cl, cn, rll, ref);
    pg->kind = P_PASS;
    pg->iface = e->iface ? e->iface : pg->iface;
    *key = 1ull << 63 | (uint64_t)pg->import_svc << 32 | pg->import_exp;
    return true;
}

/* Decode caps[k] of service i into pg (the grants before it are
 * planned). Returns true with *key the cap init passes for it (NO_PASS:
 * none), or false (a problem, said). */
static bool plan_grant(struct init *in, uint32_t i, const capnp_list *caps,
                       uint32_t k, struct plan_grant *pg, uint64_t *key)
{
    struct service *s = &in->svcs[i];
    int snl = (int)s->nlen;
    const char *sn = s->name;
    capnp_struct cg;
    memset(pg, 0, sizeof *pg);
    pg->import_svc = -1;
    *key = NO_PASS;
    if (capnp_list_get_struct(caps, k, &cg) < 0 ||
        !text(&cg, 0, &pg->name, &pg->nlen)) {
        init_problem(in, "%.*s: caps[%u] is malformed", snl, sn, k);
        return false;
    }
    int cl = (int)pg->nlen;
    const char *cn = pg->name;
    if (!capos_capset_name_ok(cn, pg->nlen)) {
        init_problem(in,
                     "%.*s: caps[%u] \"%.*s\": a cap name needs 1 to 47 "
                     "printable bytes, no spaces",
                     snl, sn, k, cl > 48 ? 48 : cl, cn);
        return false;
    }
    for (uint32_t j = 0; j < k; j++)
        if (eq(cn, pg->nlen, s->grants[j].name, s->grants[j].nlen))
            init_problem(in, "%.*s: two caps are named \"%.*s\"", snl, sn, cl,
                         cn);
    pg->badge = capos_CapGrant_get_badge(&cg);
    pg->iface = capos_CapGrant_get_interfaceId(&cg);
    switch (capos_CapGrant_source_which(&cg)) {
    case CAPOS_CAP_GRANT_SOURCE_WHICH_KERNEL:
        return plan_kernel(in, s, &cg, pg, key);
    case CAPOS_CAP_GRANT_SOURCE_WHICH_ENDPOINT:
        pg->kind = P_ENDPOINT;
        pg->endpoint = s->nendpoints++;
        return true;
    case CAPOS_CAP_GRANT_SOURCE_WHICH_SERVICE:
        return plan_import(in, i, &cg, pg, key);
    case CAPOS_CAP_GRANT_SOURCE_WHICH_CAP:
        init_problem(in,
                     "%.*s: cap \"%.*s\": a manifest cannot hold caps "
                     "(source `cap` is for ProcessSpawner.spawn)",
                     snl, sn, cl, cn);
        return false;
    default:
        init_problem(in, "%.*s: cap \"%.*s\": unknown source", snl, sn, cl, cn);
        return false;
    }
}

/* Validate the grants of service i into its plan. One spawn CALL
 * transfers at most PASSED_MAX distinct caps, so the distinct keys of
 * the passed ones are counted. */
static void plan_grants(struct init *in, uint32_t i)
{
    struct service *s = &in->svcs[i];
    int snl = (int)s->nlen;
    capnp_list caps = {0};
    if (capnp_has_ptr(&s->cfg, 2) &&
        capos_ServiceConfig_get_caps(&s->cfg, &caps) < 0) {
        init_problem(in, "%.*s: caps is not a list of CapGrant", snl, s->name);
        return;
    }
    uint32_t n = capnp_list_len(&caps);
    if (n > GRANTS_MAX) {
        init_problem(in, "%.*s: %u caps; a CapSet holds at most 63", snl,
                     s->name, n);
        return;
    }
    s->grants = capos_alloc((n ? n : 1) * sizeof *s->grants);
    if (!s->grants) {
        init_problem(in, "%.*s: no heap to plan its caps", snl, s->name);
        return;
    }
    s->ngrants = n;
    uint64_t passed[PASSED_MAX], key;
    uint32_t npassed = 0;
    for (uint32_t k = 0; k < n; k++) {
        if (!plan_grant(in, i, &caps, k, &s->grants[k], &key) || key == NO_PASS)
            continue;
        bool dup = false;
        for (uint32_t j = 0; j < npassed; j++)
            dup |= passed[j] == key;
        if (dup)
            continue;
        if (npassed == PASSED_MAX) {
            init_problem(in,
                         "%.*s: more than %u distinct caps to pass from init "
                         "(one CALL transfers at most %u)",
                         snl, s->name, PASSED_MAX, PASSED_MAX);
            continue;
        }
        passed[npassed++] = key;
    }
    if (s->nendpoints > ENDPOINTS_MAX)
        init_problem(in, "%.*s: %u `endpoint` caps; at most 7", snl, s->name,
                     s->nendpoints);
}
/* Validate the exports of service i (its grants are checked). */
static void plan_exports(struct init *in, uint32_t i)
{
    struct service *s = &in->svcs[i];
    int snl = (int)s->nlen;
    capnp_list exps = {0};
    if (capnp_has_ptr(&s->cfg, 3) &&
        capos_ServiceConfig_get_exports(&s->cfg, &exps) < 0) {
        init_problem(in, "%.*s: exports is not a list of ServiceExport", snl,
                     s->name);
        return;
    }
    uint32_t n = capnp_list_len(&exps);
    for (uint32_t k = 0; k < n; k++) {
        capnp_struct es;
        struct svc_export e = {0};
        if (capnp_list_get_struct(&exps, k, &es) < 0 ||
            !text(&es, 0, &e.name, &e.nlen) ||
            !text(&es, 1, &e.cap, &e.caplen)) {
            init_problem(in, "%.*s: exports[%u] is malformed", snl, s->name, k);
            continue;
        }
        int el = (int)(e.nlen > 48 ? 48 : e.nlen);
        if (!capos_capset_name_ok(e.name, e.nlen)) {
            init_problem(in,
                         "%.*s: exports[%u]: an export name needs 1 to 47 "
                         "printable bytes",
                         snl, s->name, k);
            continue;
        }
        e.iface = capos_ServiceExport_get_interfaceId(&es);
        bool found = false;
        for (uint32_t j = 0; j < s->ngrants; j++) {
            const struct plan_grant *pg = &s->grants[j];
            if (pg->kind == P_ENDPOINT && pg->name &&
                eq(pg->name, pg->nlen, e.cap, e.caplen)) {
                e.endpoint = pg->endpoint;
                found = true;
            }
        }
        if (!found) {
            init_problem(
                in,
                "%.*s: export \"%.*s\" names cap \"%.*s\", which is not "
                "one of its `endpoint` caps",
                snl, s->name, el, e.name, (int)(e.caplen > 48 ? 48 : e.caplen),
                e.cap);
            continue;
        }
        for (uint32_t j = 0; j < s->nexports; j++)
            if (eq(e.name, e.nlen, s->exports[j].name, s->exports[j].nlen))
                init_problem(in, "%.*s: two exports are named \"%.*s\"", snl,
                             s->name, el, e.name);
        if (s->nexports < ENDPOINTS_MAX)
            s->exports[s->nexports++] = e;
    }
}

/* Is there a Binary called name in the manifest? */
bool plan_have_binary(const capnp_struct *root, const char *name, size_t nlen)
{
    capnp_list bins;
    if (capos_SystemManifest_get_binaries(root, &bins) < 0)
        return false;
    for (uint32_t i = 0; i < capnp_list_len(&bins); i++) {
        capnp_struct b;
        const char *bn;
        size_t bl;
        if (capnp_list_get_struct(&bins, i, &b) == 0 && text(&b, 0, &bn, &bl) &&
            eq(bn, bl, name, nlen))
            return true;
    }
    return false;
}

/* Validate services[i] of list (the services before it are planned):
 * its name, binary, restart policy, grants and exports. */
static void plan_service(struct init *in, const capnp_struct *root,
                         const capnp_list *list, uint32_t i)
{
    struct service *s = &in->svcs[i];
    if (capnp_list_get_struct(list, i, &s->cfg) < 0 ||
        !text(&s->cfg, 0, &s->name, &s->nlen) ||
        !text(&s->cfg, 1, &s->binary, &s->blen)) {
        init_problem(in, "services[%u] is malformed", i);
        s->name = "?";
        s->nlen = 1;
        return;
    }
    int snl = (int)(s->nlen > 48 ? 48 : s->nlen);
    if (!capos_process_name_ok(s->name, s->nlen))
        init_problem(in,
                     "services[%u] \"%.*s\": a service name needs 1 to 31 "
                     "bytes of letters, digits, '.', '_' or '-'",
                     i, snl, s->name);
    if (eq(s->name, s->nlen, "init", 4))
        init_problem(in, "services[%u]: the name \"init\" is init's own", i);
    for (uint32_t j = 0; j < i; j++)
        if (eq(s->name, s->nlen, in->svcs[j].name, in->svcs[j].nlen))
            init_problem(in, "services[%u]: two services are named \"%.*s\"", i,
                         snl, s->name);
    if (s->blen == 0)
        init_problem(in, "%.*s: no binary", snl, s->name);
    else if (!plan_have_binary(root, s->binary, s->blen))
        init_problem(in, "%.*s: binary \"%.*s\" is not in binaries", snl,
                     s->name, (int)(s->blen > 48 ? 48 : s->blen), s->binary);
    s->shutdown = capos_ServiceConfig_get_shutdownOnExit(&s->cfg);
    uint16_t restart = capos_ServiceConfig_get_restart(&s->cfg);
    if (restart != CAPOS_RESTART_POLICY_NEVER)
        init_say(in,
                 "warning: %.*s: restart policy %u is not supported yet; it "
                 "will not be restarted",
                 snl, s->name, restart);
    plan_grants(in, i);
    plan_exports(in, i);
}

unsigned plan_manifest(struct init *in, const capnp_struct *root)
{
    capnp_struct ic;
    capnp_list list = {0};
    if (capos_SystemManifest_get_initConfig(root, &ic) < 0 ||
        (capnp_has_ptr(&ic, 1) &&
         capos_InitConfig_get_services(&ic, &list) < 0)) {
        init_problem(in, "initConfig.services is not a list of ServiceConfig");
        return in->problems;
    }
    uint32_t n = capnp_list_len(&list);
    if (n > SERVICES_MAX) {
        init_problem(in, "%u services; init runs at most %u", n, SERVICES_MAX);
        return in->problems;
    }
    in->svcs = capos_alloc((n ? n : 1) * sizeof *in->svcs);
    if (!in->svcs) {
        init_problem(in, "no heap to plan %u services", n);
        return in->problems;
    }
    memset(in->svcs, 0, (n ? n : 1) * sizeof *in->svcs);
    in->nsvcs = n;
    for (uint32_t i = 0; i < n; i++)
        plan_service(in, root, &list, i);
    plan_profiles(in, root);
    return in->problems;
}
