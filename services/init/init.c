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

#include "init.h"
#include "manifest.h"

enum { EXIT_MANIFEST = 2, EXIT_SPAWN = 3, EXIT_NO_CAPS = 4 };

void init_say(struct init *in, const char *fmt, ...)
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
        init_say(in, "waiting for %.*s failed (error %d)", (int)s->nlen,
                 s->name, cqe.result);
    s->status = status;
    init_say(in, "%.*s exited with status %lld", (int)s->nlen, s->name,
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
            init_say(in, "cannot stop %.*s (error %d)", (int)s->nlen, s->name,
                     cqe.result);
    }
    while (reap_one(in) >= 0)
        ;
}

/* Find init's caps and plan the manifest read through "boot". Returns 0
 * (in->svcs is the checked plan), or init's exit status (said why). */
static int init_plan(struct init *in, capos_capset_t *caps)
{
    in->caps = caps;
    in->have_console =
        capos_capset_find(caps, "console", CAPOS_CONSOLE_INTERFACE_ID,
                          &in->console) == 0;
    if (capos_capset_find(caps, "boot", CAPOS_BOOT_PACKAGE_INTERFACE_ID,
                          &in->boot) != 0 ||
        capos_capset_find(caps, "spawner", CAPOS_PROCESS_SPAWNER_INTERFACE_ID,
                          &in->spawner) != 0) {
        init_say(in, "needs a BootPackage cap \"boot\" and a ProcessSpawner "
                     "cap \"spawner\" (initConfig.init.caps)");
        return EXIT_NO_CAPS;
    }
    uint8_t *man;
    size_t len;
    int rr = capos_manifest_read(in->boot, &man, &len);
    if (rr != 0) {
        init_say(in, "cannot read the manifest through \"boot\" (error %d)",
                 rr);
        return EXIT_MANIFEST;
    }
    /* The plan's structs (each service's config, read again at spawn:
     * its limits) point into this message: it lives in *in, not here. */
    capnp_struct root;
    capnp_read_options opt = {.traversal_limit_words = 1u << 20,
                              .nesting_limit = 32};
    if (capnp_msg_init(&in->manifest_msg, man, len, &opt) != 0 ||
        capnp_msg_root(&in->manifest_msg, &root) != 0) {
        init_say(in, "the manifest is not a Cap'n Proto message");
        return EXIT_MANIFEST;
    }
    if (plan_manifest(in, &root)) {
        init_say(in, "%u problem%s in the manifest; nothing was started",
                 in->problems, in->problems == 1 ? "" : "s");
        return EXIT_MANIFEST;
    }
    return 0;
}

/* Reap services until none runs or one with shutdownOnExit exits.
 * Returns init's exit status (see the header). */
static int init_run(struct init *in)
{
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
            init_say(in, "%.*s has shutdownOnExit: stopping the other services",
                     (int)s->nlen, s->name);
        stop_all(in);
        init_say(in, "shutting down with status %lld", (long long)status);
        return (int)status;
    }
    for (uint32_t j = 0; j < in->nsvcs; j++) {
        if (in->svcs[j].running) {
            init_say(in, "cannot wait for the services any more; giving up");
            return 1;
        }
    }
    init_say(in, "every service has exited");
    return all_ok ? 0 : 1;
}

int capos_main(capos_capset_t *caps)
{
    struct init *in = capos_zalloc(sizeof *in);
    if (!in)
        return EXIT_NO_CAPS;
    int r = init_plan(in, caps);
    if (r != 0)
        return r;
    init_say(in, "starting %u service%s", in->nsvcs, in->nsvcs == 1 ? "" : "s");
    for (uint32_t i = 0; i < in->nsvcs; i++) {
        if (spawn_service(in, i) != 0) {
            stop_all(in);
            init_say(in, "stopped: %.*s could not be started",
                     (int)in->svcs[i].nlen, in->svcs[i].name);
            return EXIT_SPAWN;
        }
    }
    return init_run(in);
}
