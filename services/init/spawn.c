/*
 * spawn.c - init carries out the plan of one service (plan.c): it builds
 * the ProcessSpawner.spawn request from the planned grants, checks what
 * the spawner returned, and only then keeps the handle and the exported
 * endpoint facets and starts waiting for the service's exit (init.c
 * reaps it). How each planned grant kind is passed: init.c's header.
 */
#include <string.h>

#include "init.h"

#define SPAWN_PARAMS 16384u
#define SPAWN_RESULT 512u
#define WAIT_RESULT 64u

/* The caps one spawn CALL transfers, each once, in first-use order. */
struct xfer {
    CapTransferDescriptor desc[PASSED_MAX];
    uint32_t n;
};

/* Index of cap in x, adding it (copied) if new; plan.c bounded the
 * number of distinct caps to PASSED_MAX. */
static uint32_t xfer_index(struct xfer *x, capos_cap_t cap)
{
    uint32_t d = 0;
    while (d < x->n && x->desc[d].cap_id != cap.id)
        d++;
    if (d == x->n)
        x->desc[x->n++] =
            (CapTransferDescriptor){.cap_id = cap.id, .mode = CAP_XFER_COPY};
    return d;
}

/* Write planned grant pg into gs; a passed cap goes into x. */
static void request_grant(struct init *in, const struct plan_grant *pg,
                          capnp_struct_builder *gs, struct xfer *x)
{
    capos_CapGrant_set_name(gs, pg->name, pg->nlen);
    capos_CapGrant_set_interfaceId(gs, pg->iface);
    if (pg->kind == P_KERNEL) {
        capos_CapGrant_source_set_kernel(gs, pg->ksrc);
        /* The spawner reads it only where it scopes the object
         * (tcpListenAuthority: the guest port). */
        capos_CapGrant_set_badge(gs, pg->badge);
        return;
    }
    if (pg->kind == P_ENDPOINT) {
        capos_CapGrant_source_set_endpoint(gs);
        return;
    }
    capos_cap_t cap = pg->pass;
    if (pg->import_svc >= 0)
        cap = in->svcs[pg->import_svc].exports[pg->import_exp].facet;
    capos_CapGrant_source_set_cap(gs, xfer_index(x, cap));
    capos_CapGrant_set_badge(gs, pg->badge);
}

/* Build the spawn request of service s in pbuf (SPAWN_PARAMS bytes),
 * its transfer descriptors after the message. Returns the message
 * length with *xc the descriptor count, or 0 if it does not fit. */
static size_t spawn_request(struct init *in, const struct service *s,
                            uint8_t *pbuf, uint16_t *xc)
{
    capnp_builder b;
    capnp_struct_builder p, gs, ls;
    capnp_list_builder gl;
    struct xfer x = {.n = 0};
    size_t room = SPAWN_PARAMS - 8 - PASSED_MAX * sizeof(CapTransferDescriptor);
    capnp_builder_init(&b, pbuf, room);
    capos_ProcessSpawner_spawn_Params_init_root(&b, &p);
    capos_ProcessSpawner_spawn_Params_set_name(&p, s->name, s->nlen);
    capos_ProcessSpawner_spawn_Params_set_binaryName(&p, s->binary, s->blen);
    capos_ProcessSpawner_spawn_Params_init_grants(&p, s->ngrants, &gl);
    for (uint32_t k = 0; k < s->ngrants; k++) {
        capnp_list_struct_at(&gl, k, &gs);
        request_grant(in, &s->grants[k], &gs, &x);
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
    if (capnp_finish(&b, &plen) != 0)
        return 0;
    memcpy(pbuf + CAP_ALIGN8(plen), x.desc, x.n * sizeof x.desc[0]);
    *xc = (uint16_t)x.n;
    return plen;
}

/* Check the answer of a spawn of s (r bytes in rbuf, CQE c): one
 * ProcessHandle at handleIndex and one facet per endpoint grant.
 * Returns true with *hi the handle's record; false (said) otherwise. */
static bool spawn_answer_ok(struct init *in, const struct service *s,
                            const uint8_t *rbuf, int r, const CapCqe *c,
                            uint16_t *hi)
{
    capnp_message m;
    capnp_struct root;
    *hi = 0;
    if (capnp_msg_init(&m, rbuf, (size_t)r, NULL) == 0 &&
        capnp_msg_root(&m, &root) == 0)
        *hi = capos_ProcessSpawner_spawn_Results_get_handleIndex(&root);
    const CapTransferResult *rec =
        (const CapTransferResult *)(rbuf + CAP_ALIGN8((uint32_t)r));
    unsigned nrec = c->cap_count;
    if (*hi < nrec && nrec == 1 + s->nendpoints &&
        rec[*hi].interface_id == CAPOS_PROCESS_HANDLE_INTERFACE_ID)
        return true;
    init_say(in,
             "cannot start %.*s: the spawner returned %u caps, not a "
             "handle and %u facets",
             (int)s->nlen, s->name, nrec, s->nendpoints);
    return false;
}

/* Keep the handle (record hi of nrec) and the exported endpoint facets
 * of s; release the facets nobody exports. */
static void keep_caps(struct service *s, const CapTransferResult *rec,
                      unsigned nrec, uint16_t hi)
{
    (void)capos_rt_adopt(&rec[hi], CAPOS_PROCESS_HANDLE_INTERFACE_ID,
                         &s->handle);
    /* Endpoint facets follow in grant order. */
    for (uint32_t f = 0, r = 0; r < nrec; r++) {
        if (r == hi)
            continue;
        capos_cap_t facet = {rec[r].cap_id, rec[r].interface_id};
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
}

/* Submit the wait for s's exit (reaped in init.c). Returns 0, or -1. */
static int start_wait(struct service *s)
{
    CapSqe sqe;
    s->wait_result = capos_alloc(WAIT_RESULT);
    s->wait_tag = capos_rt_tag();
    capos_ProcessHandle_wait_sqe(&sqe, s->handle.id, 0, 0,
                                 capos_va(s->wait_result), WAIT_RESULT,
                                 s->wait_tag);
    return capos_rt_submit(&sqe) < 0 ? -1 : 0;
}

int spawn_service(struct init *in, uint32_t i)
{
    struct service *s = &in->svcs[i];
    int sl = (int)s->nlen;
    uint8_t *pbuf = capos_alloc(SPAWN_PARAMS);
    uint8_t *rbuf = capos_alloc(SPAWN_RESULT);
    int ret = -1;
    uint16_t xc = 0, hi;
    size_t plen = 0;
    if (!pbuf || !rbuf) {
        init_say(in, "cannot start %.*s: out of heap", sl, s->name);
        goto out;
    }
    if ((plen = spawn_request(in, s, pbuf, &xc)) == 0) {
        init_say(in, "cannot start %.*s: its spawn request is too big", sl,
                 s->name);
        goto out;
    }
    CapSqe sqe;
    CapCqe cqe;
    capos_ProcessSpawner_spawn_sqe_xfer(&sqe, in->spawner.id, capos_va(pbuf),
                                        (uint32_t)plen, xc, capos_va(rbuf),
                                        SPAWN_RESULT, 0);
    int r = capos_rt_call(&sqe, &cqe);
    if (r == 0)
        r = cqe.result;
    char reason[260];
    if (r < 0) {
        init_say(
            in, "cannot start %.*s: %s", sl, s->name,
            capos_rt_error_text(rbuf, SPAWN_RESULT, r, reason, sizeof reason));
        goto out;
    }
    if (!spawn_answer_ok(in, s, rbuf, r, &cqe, &hi))
        goto out;
    keep_caps(s, (const CapTransferResult *)(rbuf + CAP_ALIGN8((uint32_t)r)),
              cqe.cap_count, hi);
    if (start_wait(s) != 0) {
        init_say(in, "cannot wait for %.*s", sl, s->name);
        goto out;
    }
    s->running = true;
    init_say(in, "started %.*s", sl, s->name);
    ret = 0;
out:
    capos_free(pbuf);
    capos_free(rbuf);
    return ret;
}
