/*
 * init - the first process of a capOS system (upstream: the kernel starts
 * only init; init executes the service graph of the manifest).
 *
 * It reads the boot manifest through its BootPackage in bounded chunks,
 * validates initConfig.services as a whole (reporting every problem, and
 * starting nothing if there is one), then spawns each service in order
 * through its ProcessSpawner with exactly the caps the manifest grants,
 * records the client facets of each service's exports, resolves later
 * services' `service` imports to those facets, waits on the
 * ProcessHandles and reports every exit on the console:
 *
 *     init: selftest-client exited with status 0
 *
 * When a service with shutdownOnExit exits, init kills the services still
 * running, waits for them and exits with that service's status. Without
 * one, init exits when every service has: 0 if all exited 0, 1 otherwise.
 * Problems in the manifest: exit 2; a service that cannot be started (the
 * spawner refused it): the started ones are stopped, exit 3.
 *
 * How a grant becomes a spawn grant (docs/abi.md §13):
 *   kernel console, timer, nullCap, -> the same kernel grant (the spawner
 *   tcpListenAuthority                 mints these; the last with the
 *                                      grant's badge, its guest port)
 *   any other kernel source         -> init's own cap of that interface,
 *                                      passed (copied) as a `cap` grant;
 *                                      a problem if init holds none
 *   endpoint                        -> endpoint; spawn returns init a
 *                                      client facet (badge 0)
 *   service "svc.export"            -> the facet init got for that export,
 *                                      passed as a `cap` grant with the
 *                                      grant's badge: the spawner labels
 *                                      the importer's slot with it
 * Facets of endpoints nobody exports are released at once.
 *
 * Caps: "boot" (BootPackage), "spawner" (ProcessSpawner), "console"
 * (Console; optional, without it init is silent), plus whatever kernel
 * caps it passes on (e.g. its "boot" for a service granted bootPackage).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "capos_rt.h"
#include "manifest.h"

#define SERVICES_MAX 24u /* each running service holds one pending wait */
#define GRANTS_MAX 63u   /* a CapSet page */
#define ENDPOINTS_MAX 7u /* spawn returns the handle and at most 7 facets */
#define PASSED_MAX CAP_XFER_MAX
#define SPAWN_PARAMS 16384u
#define SPAWN_RESULT 512u
#define WAIT_RESULT 64u

enum { EXIT_MANIFEST = 2, EXIT_SPAWN = 3, EXIT_NO_CAPS = 4 };

/* How one manifest grant is passed to spawn. */
enum plan_kind { P_KERNEL, P_ENDPOINT, P_PASS };

struct plan_grant {
    const char *name;
    size_t nlen;
    enum plan_kind kind;
    uint16_t ksrc;      /* P_KERNEL */
    capos_cap_t pass;   /* P_PASS: init's cap (resolved at spawn time) */
    int32_t import_svc; /* P_PASS of an import: service index, else -1 */
    uint32_t import_exp;
    uint32_t endpoint; /* P_ENDPOINT: ordinal among the endpoint grants */
    uint64_t badge, iface;
};

struct svc_export {
    const char *name, *cap;
    size_t nlen, caplen;
    uint64_t iface;
    uint32_t endpoint; /* ordinal of the exported endpoint grant */
    capos_cap_t facet; /* init's unbadged facet, once spawned */
};

struct service {
    const char *name, *binary;
    size_t nlen, blen;
    capnp_struct cfg;
    bool shutdown;
    struct plan_grant *grants;
    uint32_t ngrants, nendpoints;
    struct svc_export exports[ENDPOINTS_MAX];
    uint32_t nexports;
    bool running;
    capos_cap_t handle;
    uint64_t wait_tag;
    uint8_t *wait_result;
    int64_t status; /* once exited */
};

/* init's state, in its heap (services keep no globals: capos_rt.h). */
struct init {
    capos_cap_t console, spawner, boot;
    bool have_console;
    const capos_capset_t *caps;
    unsigned problems;
    struct service *svcs;
    uint32_t nsvcs;
};

/* ---- console ---------------------------------------------------------- */

static void say(struct init *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void problem(struct init *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One console line "init: ..." (printf format). */
static void say(struct init *in, const char *fmt, ...)
{
    if (!in->have_console)
        return;
    char line[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    capos_console_printf(in->console, "init: %s", line);
}

/* A manifest problem: say it and count it. */
static void problem(struct init *in, const char *fmt, ...)
{
    char line[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    say(in, "manifest: %s", line);
    in->problems++;
}

/* ---- reading the manifest --------------------------------------------- */

/* ---- validation ------------------------------------------------------- */

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
};
#define NKSRC (sizeof ksrcs / sizeof ksrcs[0])

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

/* Validate the grants of service i into its plan. */
static void check_grants(struct init *in, uint32_t i)
{
    struct service *s = &in->svcs[i];
    const char *sn = s->name;
    int snl = (int)s->nlen;
    capnp_list caps = {0};
    if (capnp_has_ptr(&s->cfg, 2) &&
        capos_ServiceConfig_get_caps(&s->cfg, &caps) < 0) {
        problem(in, "%.*s: caps is not a list of CapGrant", snl, sn);
        return;
    }
    uint32_t n = capnp_list_len(&caps);
    if (n > GRANTS_MAX) {
        problem(in, "%.*s: %u caps; a CapSet holds at most 63", snl, sn, n);
        return;
    }
    s->grants = capos_alloc((n ? n : 1) * sizeof *s->grants);
    if (!s->grants) {
        problem(in, "%.*s: no heap to plan its caps", snl, sn);
        return;
    }
    s->ngrants = n;
    uint64_t passed[PASSED_MAX]; /* distinct caps passed: see below */
    uint32_t npassed = 0;
    for (uint32_t k = 0; k < n; k++) {
        struct plan_grant *pg = &s->grants[k];
        memset(pg, 0, sizeof *pg);
        pg->import_svc = -1;
        capnp_struct cg;
        if (capnp_list_get_struct(&caps, k, &cg) < 0 ||
            !text(&cg, 0, &pg->name, &pg->nlen)) {
            problem(in, "%.*s: caps[%u] is malformed", snl, sn, k);
            continue;
        }
        int cl = (int)pg->nlen;
        const char *cn = pg->name;
        if (!capos_capset_name_ok(cn, pg->nlen)) {
            problem(in,
                    "%.*s: caps[%u] \"%.*s\": a cap name needs 1 to 47 "
                    "printable bytes, no spaces",
                    snl, sn, k, cl > 48 ? 48 : cl, cn);
            continue;
        }
        for (uint32_t j = 0; j < k; j++)
            if (eq(cn, pg->nlen, s->grants[j].name, s->grants[j].nlen))
                problem(in, "%.*s: two caps are named \"%.*s\"", snl, sn, cl,
                        cn);
        pg->badge = capos_CapGrant_get_badge(&cg);
        pg->iface = capos_CapGrant_get_interfaceId(&cg);
        uint16_t which = capos_CapGrant_source_which(&cg);
        capos_cap_t pass = {0, 0};
        uint64_t key; /* init's CapId, or 1 << 63 | exporter << 32 | export */
        if (which == CAPOS_CAP_GRANT_SOURCE_WHICH_KERNEL) {
            uint16_t src = capos_CapGrant_source_get_kernel(&cg);
            if (src >= NKSRC) {
                problem(in, "%.*s: cap \"%.*s\": unknown kernel source %u", snl,
                        sn, cl, cn, src);
                continue;
            }
            if (pg->iface && pg->iface != ksrcs[src].iface)
                problem(in,
                        "%.*s: cap \"%.*s\": interfaceId does not match "
                        "kernel source %s",
                        snl, sn, cl, cn, ksrcs[src].name);
            if (ksrcs[src].how == K_MINTED) {
                pg->kind = P_KERNEL;
                pg->ksrc = src;
                continue;
            }
            if (ksrcs[src].how == K_UNSUPPORTED ||
                !own_cap(in, ksrcs[src].iface, &pass)) {
                problem(in,
                        "%.*s: cap \"%.*s\": init cannot grant kernel "
                        "source %s: ProcessSpawner mints only console, "
                        "timer, nullCap, tcpListenAuthority and the child's "
                        "own threadSpawner, threadControl and parkSpace%s",
                        snl, sn, cl, cn, ksrcs[src].name,
                        ksrcs[src].how == K_UNSUPPORTED
                            ? ", and this source cannot be granted yet"
                            : ", and init holds no such cap to pass on "
                              "(add it to init's caps)");
                continue;
            }
            pg->kind = P_PASS;
            pg->pass = pass;
            pg->badge = 0; /* only imports carry a badge (CapGrant.badge) */
            key = pass.id;
        } else if (which == CAPOS_CAP_GRANT_SOURCE_WHICH_ENDPOINT) {
            pg->kind = P_ENDPOINT;
            pg->endpoint = s->nendpoints++;
            continue;
        } else if (which == CAPOS_CAP_GRANT_SOURCE_WHICH_SERVICE) {
            const char *ref;
            size_t rl;
            if (!text(&cg, 1, &ref, &rl) || rl == 0) {
                problem(in,
                        "%.*s: cap \"%.*s\": source `service` needs "
                        "\"<service>.<export>\"",
                        snl, sn, cl, cn);
                continue;
            }
            int rll = (int)(rl > 64 ? 64 : rl);
            if (!find_import(in, i, ref, rl, &pg->import_svc,
                             &pg->import_exp)) {
                problem(in,
                        "%.*s: cap \"%.*s\": \"%.*s\" is not an export of "
                        "a service listed before %.*s%s",
                        snl, sn, cl, cn, rll, ref, snl, sn,
                        rl > 5 && memcmp(ref, "init.", 5) == 0
                            ? " (init exports nothing)"
                            : "");
                continue;
            }
            const struct svc_export *e =
                &in->svcs[pg->import_svc].exports[pg->import_exp];
            uint64_t have =
                e->iface ? e->iface : CAPOS_CLIENT_ENDPOINT_INTERFACE_ID;
            if (pg->iface && pg->iface != have)
                problem(in,
                        "%.*s: cap \"%.*s\": interfaceId does not match the "
                        "interface %.*s exports",
                        snl, sn, cl, cn, rll, ref);
            pg->kind = P_PASS;
            pg->iface = e->iface ? e->iface : pg->iface;
            /* The facet exists once the exporter runs. */
            key = 1ull << 63 | (uint64_t)pg->import_svc << 32 | pg->import_exp;
        } else if (which == CAPOS_CAP_GRANT_SOURCE_WHICH_CAP) {
            problem(in,
                    "%.*s: cap \"%.*s\": a manifest cannot hold caps "
                    "(source `cap` is for ProcessSpawner.spawn)",
                    snl, sn, cl, cn);
            continue;
        } else {
            problem(in, "%.*s: cap \"%.*s\": unknown source", snl, sn, cl, cn);
            continue;
        }
        /* A passed cap: one transfer descriptor per distinct cap. */
        bool dup = false;
        for (uint32_t j = 0; j < npassed; j++)
            dup |= passed[j] == key;
        if (!dup) {
            if (npassed == PASSED_MAX) {
                problem(in,
                        "%.*s: more than %u distinct caps to pass from init "
                        "(one CALL transfers at most %u)",
                        snl, sn, PASSED_MAX, PASSED_MAX);
                continue;
            }
            passed[npassed++] = key;
        }
    }
    if (s->nendpoints > ENDPOINTS_MAX)
        problem(in, "%.*s: %u `endpoint` caps; at most 7", snl, sn,
                s->nendpoints);
}

/* Validate the exports of service i (its grants are checked). */
static void check_exports(struct init *in, uint32_t i)
{
    struct service *s = &in->svcs[i];
    int snl = (int)s->nlen;
    capnp_list exps = {0};
    if (capnp_has_ptr(&s->cfg, 3) &&
        capos_ServiceConfig_get_exports(&s->cfg, &exps) < 0) {
        problem(in, "%.*s: exports is not a list of ServiceExport", snl,
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
            problem(in, "%.*s: exports[%u] is malformed", snl, s->name, k);
            continue;
        }
        int el = (int)(e.nlen > 48 ? 48 : e.nlen);
        if (!capos_capset_name_ok(e.name, e.nlen)) {
            problem(in,
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
            problem(in,
                    "%.*s: export \"%.*s\" names cap \"%.*s\", which is not "
                    "one of its `endpoint` caps",
                    snl, s->name, el, e.name,
                    (int)(e.caplen > 48 ? 48 : e.caplen), e.cap);
            continue;
        }
        for (uint32_t j = 0; j < s->nexports; j++)
            if (eq(e.name, e.nlen, s->exports[j].name, s->exports[j].nlen))
                problem(in, "%.*s: two exports are named \"%.*s\"", snl,
                        s->name, el, e.name);
        if (s->nexports < ENDPOINTS_MAX)
            s->exports[s->nexports++] = e;
    }
}

/* Is there a Binary called name in the manifest? */
static bool have_binary(const capnp_struct *root, const char *name, size_t nlen)
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

/* Validate the whole service graph into in->svcs. Returns the number of
 * problems (each already said). */
static unsigned check_manifest(struct init *in, const capnp_struct *root)
{
    capnp_struct ic;
    capnp_list list = {0};
    if (capos_SystemManifest_get_initConfig(root, &ic) < 0 ||
        (capnp_has_ptr(&ic, 1) &&
         capos_InitConfig_get_services(&ic, &list) < 0)) {
        problem(in, "initConfig.services is not a list of ServiceConfig");
        return in->problems;
    }
    uint32_t n = capnp_list_len(&list);
    if (n > SERVICES_MAX) {
        problem(in, "%u services; init runs at most %u", n, SERVICES_MAX);
        return in->problems;
    }
    in->svcs = capos_alloc((n ? n : 1) * sizeof *in->svcs);
    if (!in->svcs) {
        problem(in, "no heap to plan %u services", n);
        return in->problems;
    }
    memset(in->svcs, 0, (n ? n : 1) * sizeof *in->svcs);
    in->nsvcs = n;
    for (uint32_t i = 0; i < n; i++) {
        struct service *s = &in->svcs[i];
        if (capnp_list_get_struct(&list, i, &s->cfg) < 0 ||
            !text(&s->cfg, 0, &s->name, &s->nlen) ||
            !text(&s->cfg, 1, &s->binary, &s->blen)) {
            problem(in, "services[%u] is malformed", i);
            s->name = "?";
            s->nlen = 1;
            continue;
        }
        int snl = (int)(s->nlen > 48 ? 48 : s->nlen);
        if (!capos_process_name_ok(s->name, s->nlen))
            problem(in,
                    "services[%u] \"%.*s\": a service name needs 1 to 31 "
                    "bytes of letters, digits, '.', '_' or '-'",
                    i, snl, s->name);
        if (eq(s->name, s->nlen, "init", 4))
            problem(in, "services[%u]: the name \"init\" is init's own", i);
        for (uint32_t j = 0; j < i; j++)
            if (eq(s->name, s->nlen, in->svcs[j].name, in->svcs[j].nlen))
                problem(in, "services[%u]: two services are named \"%.*s\"", i,
                        snl, s->name);
        if (s->blen == 0)
            problem(in, "%.*s: no binary", snl, s->name);
        else if (!have_binary(root, s->binary, s->blen))
            problem(in, "%.*s: binary \"%.*s\" is not in binaries", snl,
                    s->name, (int)(s->blen > 48 ? 48 : s->blen), s->binary);
        s->shutdown = capos_ServiceConfig_get_shutdownOnExit(&s->cfg);
        uint16_t restart = capos_ServiceConfig_get_restart(&s->cfg);
        if (restart != CAPOS_RESTART_POLICY_NEVER)
            say(in,
                "warning: %.*s: restart policy %u is not supported yet; it "
                "will not be restarted",
                snl, s->name, restart);
        check_grants(in, i);
        check_exports(in, i);
    }
    return in->problems;
}

/* ---- spawning --------------------------------------------------------- */

/* Spawn service i by its plan. Returns 0, or -1 (said why). */
static int spawn(struct init *in, uint32_t i)
{
    struct service *s = &in->svcs[i];
    uint8_t *pbuf = capos_alloc(SPAWN_PARAMS);
    uint8_t *rbuf = capos_alloc(SPAWN_RESULT);
    int ret = -1;
    if (!pbuf || !rbuf) {
        say(in, "cannot start %.*s: out of heap", (int)s->nlen, s->name);
        goto out;
    }
    capnp_builder b;
    capnp_struct_builder p, gs, ls;
    capnp_list_builder gl;
    size_t room = SPAWN_PARAMS - 8 - PASSED_MAX * sizeof(CapTransferDescriptor);
    capnp_builder_init(&b, pbuf, room);
    capos_ProcessSpawner_spawn_Params_init_root(&b, &p);
    capos_ProcessSpawner_spawn_Params_set_name(&p, s->name, s->nlen);
    capos_ProcessSpawner_spawn_Params_set_binaryName(&p, s->binary, s->blen);
    capos_ProcessSpawner_spawn_Params_init_grants(&p, s->ngrants, &gl);
    CapTransferDescriptor desc[PASSED_MAX];
    uint32_t ndesc = 0;
    for (uint32_t k = 0; k < s->ngrants; k++) {
        const struct plan_grant *pg = &s->grants[k];
        capnp_list_struct_at(&gl, k, &gs);
        capos_CapGrant_set_name(&gs, pg->name, pg->nlen);
        capos_CapGrant_set_interfaceId(&gs, pg->iface);
        if (pg->kind == P_KERNEL) {
            capos_CapGrant_source_set_kernel(&gs, pg->ksrc);
            /* The spawner reads it only where it scopes the object
             * (tcpListenAuthority: the guest port). */
            capos_CapGrant_set_badge(&gs, pg->badge);
            continue;
        }
        if (pg->kind == P_ENDPOINT) {
            capos_CapGrant_source_set_endpoint(&gs);
            continue;
        }
        capos_cap_t cap = pg->pass;
        if (pg->import_svc >= 0)
            cap = in->svcs[pg->import_svc].exports[pg->import_exp].facet;
        uint32_t d = 0;
        while (d < ndesc && desc[d].cap_id != cap.id)
            d++;
        if (d == ndesc) {
            desc[ndesc].cap_id = cap.id;
            desc[ndesc].mode = CAP_XFER_COPY;
            desc[ndesc].reserved = 0;
            ndesc++;
        }
        capos_CapGrant_source_set_cap(&gs, d);
        capos_CapGrant_set_badge(&gs, pg->badge);
    }
    capnp_struct lim;
    if (capos_ServiceConfig_has_limits(&s->cfg) &&
        capos_ServiceConfig_get_limits(&s->cfg, &lim) == 0) {
        capos_ProcessSpawner_spawn_Params_init_limits(&p, &ls);
        capos_ProcessLimits_set_arenaBytes(
            &ls, capos_ProcessLimits_get_arenaBytes(&lim));
        capos_ProcessLimits_set_maxThreads(
            &ls, capos_ProcessLimits_get_maxThreads(&lim));
        capos_ProcessLimits_set_capSlots(
            &ls, capos_ProcessLimits_get_capSlots(&lim));
    }
    size_t plen;
    if (capnp_finish(&b, &plen) != 0) {
        say(in, "cannot start %.*s: its spawn request is too big", (int)s->nlen,
            s->name);
        goto out;
    }
    memcpy(pbuf + CAP_ALIGN8(plen), desc, ndesc * sizeof desc[0]);
    CapSqe sqe;
    capos_ProcessSpawner_spawn_sqe_xfer(&sqe, in->spawner.id, capos_va(pbuf),
                                        (uint32_t)plen, (uint16_t)ndesc,
                                        capos_va(rbuf), SPAWN_RESULT, 0);
    CapCqe cqe;
    int r = capos_rt_call(&sqe, &cqe);
    if (r == 0)
        r = cqe.result;
    char reason[260];
    if (r < 0) {
        say(in, "cannot start %.*s: %s", (int)s->nlen, s->name,
            capos_rt_error_text(rbuf, SPAWN_RESULT, r, reason, sizeof reason));
        goto out;
    }
    capnp_message m;
    capnp_struct root;
    uint16_t hi = 0;
    if (capnp_msg_init(&m, rbuf, (size_t)r, NULL) == 0 &&
        capnp_msg_root(&m, &root) == 0)
        hi = capos_ProcessSpawner_spawn_Results_get_handleIndex(&root);
    const CapTransferResult *rec =
        (const CapTransferResult *)(rbuf + CAP_ALIGN8((uint32_t)r));
    unsigned nrec = cqe.cap_count;
    if (hi >= nrec || nrec != 1 + s->nendpoints ||
        capos_rt_adopt(&rec[hi], CAPOS_PROCESS_HANDLE_INTERFACE_ID,
                       &s->handle) != 0) {
        say(in,
            "cannot start %.*s: the spawner returned %u caps, not a "
            "handle and %u facets",
            (int)s->nlen, s->name, nrec, s->nendpoints);
        goto out;
    }
    /* Endpoint facets follow in grant order: keep the exported ones. */
    for (uint32_t f = 0, r2 = 0; r2 < nrec; r2++) {
        if (r2 == hi)
            continue;
        capos_cap_t facet = {rec[r2].cap_id, rec[r2].interface_id};
        bool kept = false;
        for (uint32_t e = 0; e < s->nexports; e++) {
            if (s->exports[e].endpoint == f) {
                s->exports[e].facet = facet;
                kept = true;
            }
        }
        if (!kept)
            capos_rt_release(facet);
        f++;
    }
    /* Wait for its exit from now on. */
    s->wait_result = capos_alloc(WAIT_RESULT);
    s->wait_tag = capos_rt_tag();
    capos_ProcessHandle_wait_sqe(&sqe, s->handle.id, 0, 0,
                                 capos_va(s->wait_result), WAIT_RESULT,
                                 s->wait_tag);
    if (capos_rt_submit(&sqe) < 0) {
        say(in, "cannot wait for %.*s", (int)s->nlen, s->name);
        goto out;
    }
    s->running = true;
    say(in, "started %.*s", (int)s->nlen, s->name);
    ret = 0;
out:
    capos_free(pbuf);
    capos_free(rbuf);
    return ret;
}

/* ---- waiting ---------------------------------------------------------- */

/* Wait for the next running service to exit; report it. Returns its
 * index, or -1 if none runs or the wait failed. */
static int32_t reap_one(struct init *in)
{
    uint64_t tags[SERVICES_MAX];
    uint32_t idx[SERVICES_MAX], n = 0;
    for (uint32_t i = 0; i < in->nsvcs; i++) {
        if (in->svcs[i].running) {
            tags[n] = in->svcs[i].wait_tag;
            idx[n++] = i;
        }
    }
    if (n == 0)
        return -1;
    unsigned which;
    CapCqe cqe;
    if (capos_rt_wait_any(tags, n, &which, &cqe, CAP_TIMEOUT_INFINITE) != 0)
        return -1;
    struct service *s = &in->svcs[idx[which]];
    s->running = false;
    int64_t status = -1;
    capnp_message m;
    capnp_struct root;
    if (cqe.result > 0 &&
        capnp_msg_init(&m, s->wait_result, (size_t)cqe.result, NULL) == 0 &&
        capnp_msg_root(&m, &root) == 0)
        status = capos_ProcessHandle_wait_Results_get_exitCode(&root);
    else
        say(in, "waiting for %.*s failed (error %d)", (int)s->nlen, s->name,
            cqe.result);
    s->status = status;
    say(in, "%.*s exited with status %lld", (int)s->nlen, s->name,
        (long long)status);
    capos_rt_release(s->handle); /* the exited process is freed */
    return (int32_t)idx[which];
}

/* Kill every running service and wait for each. */
static void stop_all(struct init *in)
{
    for (uint32_t i = 0; i < in->nsvcs; i++) {
        struct service *s = &in->svcs[i];
        if (!s->running)
            continue;
        CapSqe sqe;
        CapCqe cqe;
        capos_ProcessHandle_kill_sqe(&sqe, s->handle.id, 0, 0, 0, 0, 0);
        if (capos_rt_call(&sqe, &cqe) != 0 || cqe.result < 0)
            say(in, "cannot stop %.*s (error %d)", (int)s->nlen, s->name,
                cqe.result);
    }
    while (reap_one(in) >= 0)
        ;
}

int capos_main(capos_capset_t *caps)
{
    struct init *in = capos_zalloc(sizeof *in);
    if (!in)
        return EXIT_NO_CAPS;
    in->caps = caps;
    in->have_console =
        capos_capset_find(caps, "console", CAPOS_CONSOLE_INTERFACE_ID,
                          &in->console) == 0;
    if (capos_capset_find(caps, "boot", CAPOS_BOOT_PACKAGE_INTERFACE_ID,
                          &in->boot) != 0 ||
        capos_capset_find(caps, "spawner", CAPOS_PROCESS_SPAWNER_INTERFACE_ID,
                          &in->spawner) != 0) {
        say(in, "needs a BootPackage cap \"boot\" and a ProcessSpawner cap "
                "\"spawner\" (initConfig.init.caps)");
        return EXIT_NO_CAPS;
    }
    uint8_t *man;
    size_t len;
    int rr = capos_manifest_read(in->boot, &man, &len);
    if (rr != 0) {
        say(in, "cannot read the manifest through \"boot\" (error %d)", rr);
        return EXIT_MANIFEST;
    }
    capnp_message m;
    capnp_struct root;
    capnp_read_options opt = {.traversal_limit_words = 1u << 20,
                              .nesting_limit = 32};
    if (capnp_msg_init(&m, man, len, &opt) != 0 ||
        capnp_msg_root(&m, &root) != 0) {
        say(in, "the manifest is not a Cap'n Proto message");
        return EXIT_MANIFEST;
    }
    if (check_manifest(in, &root)) {
        say(in, "%u problem%s in the manifest; nothing was started",
            in->problems, in->problems == 1 ? "" : "s");
        return EXIT_MANIFEST;
    }
    say(in, "starting %u service%s", in->nsvcs, in->nsvcs == 1 ? "" : "s");
    for (uint32_t i = 0; i < in->nsvcs; i++) {
        if (spawn(in, i) != 0) {
            stop_all(in);
            say(in, "stopped: %.*s could not be started", (int)in->svcs[i].nlen,
                in->svcs[i].name);
            return EXIT_SPAWN;
        }
    }
    bool all_ok = true;
    int32_t i;
    while ((i = reap_one(in)) >= 0) {
        struct service *s = &in->svcs[i];
        int64_t status = s->status;
        all_ok &= status == 0;
        if (!s->shutdown)
            continue;
        bool others = false;
        for (uint32_t j = 0; j < in->nsvcs; j++)
            others |= in->svcs[j].running;
        if (others)
            say(in, "%.*s has shutdownOnExit: stopping the other services",
                (int)s->nlen, s->name);
        stop_all(in);
        say(in, "shutting down with status %lld", (long long)status);
        return (int)status;
    }
    for (uint32_t j = 0; j < in->nsvcs; j++) {
        if (in->svcs[j].running) {
            say(in, "cannot wait for the services any more; giving up");
            return 1;
        }
    }
    say(in, "every service has exited");
    return all_ok ? 0 : 1;
}
