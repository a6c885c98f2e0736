/*
 * init.h - what init's three files share: the plan of the service graph
 * that plan.c validates the manifest into and spawn.c carries out, and
 * init's console lines (init.c). See init.c for what init does.
 */
#ifndef CAPOS_INIT_H
#define CAPOS_INIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capos.capnp.h"
#include "capos_rt.h"

#define SERVICES_MAX 24u /* each running service holds one pending wait */
#define GRANTS_MAX 63u   /* a CapSet page */
#define ENDPOINTS_MAX 7u /* spawn returns the handle and at most 7 facets */
#define PASSED_MAX CAP_XFER_MAX

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
    uint32_t hostkey_holders; /* services granted sshDevelopmentHostKey */
    capnp_message manifest_msg; /* what the plan's structs read through */
};

/* One console line "init: ..." (printf format); silent without a console. */
void init_say(struct init *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A manifest problem: say it ("init: manifest: ...") and count it. */
void init_problem(struct init *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Validate the whole service graph of manifest root into in->svcs, saying
 * every problem. Returns the number of problems (0: the plan is
 * complete and spawn_service may carry it out). plan.c */
unsigned plan_manifest(struct init *in, const capnp_struct *root);

/* The interface of the object KernelCapSource src makes (0: unknown
 * source). plan.c */
uint64_t plan_ksrc_iface(uint16_t src);

/* Is there a Binary called name[0..nlen) in manifest root? plan.c */
bool plan_have_binary(const capnp_struct *root, const char *name, size_t nlen);

/* Check kernelParams.profiles against the planned graph (the broker's
 * caps, the binaries, the launcher facets' badges), saying and counting
 * every problem. Run by plan_manifest. profiles.c */
void plan_profiles(struct init *in, const capnp_struct *root);

/* Spawn service i by its plan and start waiting for its exit. Returns 0
 * (the service runs, in->svcs[i].running), or -1 (said why; nothing of
 * it is kept). spawn.c */
int spawn_service(struct init *in, uint32_t i);

#endif
