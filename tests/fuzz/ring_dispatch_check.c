/*
 * ring_dispatch_check.c - the invariants the ring_dispatch fuzz target
 * checks after every step (listed in ring_dispatch.c's header comment):
 * CQEs well formed, one CQE per consumed SQE, header indices republished,
 * authority (what may sit in a slot, references covering slots) and the
 * network's host side agreeing with the model.
 */
#include <stdio.h>
#include <stdlib.h>

#include "net_uv.h"
#include "port_uv.h"
#include "ring_dispatch_state.h"

/* Did endpoint e's owner give facets label l (setup or a mint)? */
static bool label_known(unsigned e, struct facet_label l)
{
    if (e == 0 && ((l.badge == BADGE_A_SELF && l.iface == 0) ||
                   (l.badge == BADGE_B_TO_A && l.iface == IFACE_B_TO_A)))
        return true;
    if (e == 1 && l.badge == BADGE_A_TO_B && l.iface == IFACE_A_TO_B)
        return true;
    for (unsigned i = 0; i < nminted[e]; i++)
        if (minted[e][i].badge == l.badge && minted[e][i].iface == l.iface)
            return true;
    return false;
}

/* Record a label first seen in endpoint e's owner; false if the table is
 * full (more mints than any input can make). */
static bool label_mint(unsigned e, struct facet_label l)
{
    if (nminted[e] == MINTED_MAX)
        return false;
    minted[e][nminted[e]++] = l;
    return true;
}

_Noreturn void violation(const char *what, const struct hproc *h, long long a,
                         long long b)
{
    char when[32];
    if (step_no > SCRIPT_MAX)
        snprintf(when, sizeof when, "at shut-down");
    else
        snprintf(when, sizeof when, "after step %u", step_no);
    fprintf(stderr,
            "ring_dispatch: invariant violated %s: %s "
            "(process %s: %lld vs %lld); replay with RING_DISPATCH_TRACE=1\n",
            when, what, h ? h->name : "-", a, b);
    abort();
}

/* ---------------------------------------------------------------- */
/* Invariants                                                        */
/* ---------------------------------------------------------------- */

/* A CQE result is a success count or one of the CAP_ERR_* codes. */
static bool result_defined(int32_t r)
{
    return r >= 0 ||
           (r >= CAP_ERR_WRONG_INTERFACE && r <= CAP_ERR_INVALID_REQUEST);
}

/* New CQEs of ring rs since *seen_tail are well formed. */
static void check_new_cqes(struct hproc *h, const struct k_ring_state *rs,
                           uint32_t *seen_tail)
{
    uint32_t n = rs->cq_tail - *seen_tail;
    uint32_t first =
        n > CAP_CQ_ENTRIES ? rs->cq_tail - CAP_CQ_ENTRIES : *seen_tail;
    for (uint32_t i = first; i != rs->cq_tail; i++) {
        const CapCqe *c = &rs->page->cq[i & (CAP_CQ_ENTRIES - 1)];
        if (trace)
            fprintf(stderr,
                    "  %s cqe #%u: user_data=%llu result=%d flags=%u "
                    "caps=%u call_id=%u badge=0x%llx\n",
                    h->name, i, (unsigned long long)c->user_data, c->result,
                    c->flags, c->cap_count, c->call_id,
                    (unsigned long long)c->badge);
        CHECK(result_defined(c->result), "CQE result is a defined code", h,
              c->result, i);
        CHECK(c->result < 0 || (uint32_t)c->result <= ARENA_SIZE,
              "CQE success result fits the arena", h, c->result, ARENA_SIZE);
        CHECK((c->flags & ~CAP_CQE_F_CAPS) == 0, "CQE flags known", h, c->flags,
              i);
        CHECK(c->cap_count <= CAP_XFER_MAX, "CQE cap_count bounded", h,
              c->cap_count, CAP_XFER_MAX);
        CHECK(!!(c->flags & CAP_CQE_F_CAPS) == (c->cap_count != 0),
              "CQE caps flag matches cap_count", h, c->flags, c->cap_count);
        CHECK(c->cap_count == 0 || c->result >= 0,
              "caps only delivered with success", h, c->cap_count, c->result);
        CHECK(c->reserved == 0, "CQE reserved is zero", h, c->reserved, 0);
    }
    *seen_tail = rs->cq_tail;
}

/* Ring rs (header republished unless dirty, one CQE per consumed SQE,
 * the CQ never over-promised, new CQEs well formed). */
static void check_ring(struct hproc *h, const struct k_ring_state *rs,
                       bool dirty, uint32_t consumed, uint32_t *seen_tail)
{
    if (!dirty) {
        /* Since its last cap_enter the user has not touched the kernel's
         * indices in the header: they must be the kernel's own. (Before
         * that they are whatever the input put there.) */
        CHECK(rs->page->hdr.sq_head == rs->sq_head,
              "header sq_head republished", h, rs->page->hdr.sq_head,
              rs->sq_head);
        CHECK(rs->page->hdr.cq_tail == rs->cq_tail, "header cq_tail published",
              h, rs->page->hdr.cq_tail, rs->cq_tail);
    }
    CHECK(consumed == rs->cq_tail + rs->cq_reserved,
          "one CQE (posted or reserved) per consumed SQE", h, consumed,
          rs->cq_tail + rs->cq_reserved);
    uint32_t used = rs->cq_tail - rs->page->hdr.cq_head;
    if (used <= CAP_CQ_ENTRIES)
        CHECK(used + rs->cq_reserved <= CAP_CQ_ENTRIES,
              "unconsumed + promised CQEs fit the CQ", h, used,
              rs->cq_reserved);
    check_new_cqes(h, rs, seen_tail);
}

static void check_proc(struct hproc *h)
{
    struct k_process *p = h->p;
    if (p->state != KP_ALIVE) {
        CHECK(k_process_check(p) == 0, "k_process_check (dead)", h, 0, 0);
        return;
    }
    CHECK(k_process_check(p) == 0, "k_process_check", h, p->caps.live,
          p->rs.cq_reserved);
    check_ring(h, &p->rs, h->dirty, h->consumed, &h->seen_tail);
    if (h == &procs[0] && thr.t) {
        CHECK(thr.t->own_ring && thr.t->gen == thr.gen &&
                  k_ring_resolve(p, k_thread_ref(thr.t)) == &thr.t->ring,
              "thread T's ring resolves to it", h, thr.t->gen, thr.gen);
        /* T's page lies in A's buffer area, so results delivered to A
         * may land on it: only the kernel's own state is checked, and
         * the header right after T's own submit. */
        const struct k_ring_state *rs = &thr.t->ring;
        CHECK(thr.consumed == rs->cq_tail + rs->cq_reserved,
              "T: one CQE (posted, reserved or dropped with a stale "
              "ThreadRef) per consumed SQE",
              h, thr.consumed, rs->cq_tail + rs->cq_reserved);
        CHECK(rs->cq_reserved <= CAP_CQ_ENTRIES, "T: CQ not over-promised", h,
              rs->cq_reserved, CAP_CQ_ENTRIES);
        if (!thr.dirty)
            CHECK(rs->page->hdr.sq_head == rs->sq_head &&
                      rs->page->hdr.cq_tail == rs->cq_tail,
                  "T: header indices republished", h, rs->sq_head, rs->cq_tail);
    }
}

/* Every CapSet entry whose cap is still live names the interface its slot
 * speaks: no slot was retyped after setup listed it (docs/abi.md §8). */
static void check_capset(struct hproc *h)
{
    struct k_process *p = h->p;
    for (uint32_t i = 0; i < p->capset->hdr.count; i++) {
        const CapSetEntry *e = &p->capset->entries[i];
        const struct ct_slot *sl = ct_lookup(&p->caps, e->cap_id);
        if (sl)
            CHECK(e->interface_id == ct_slot_iface(sl),
                  "a live CapSet entry names its slot's interface", h,
                  (long long)e->interface_id, (long long)ct_slot_iface(sl));
    }
}

/* Authority: what may sit in a slot, and reference counts that cover the
 * slots naming each object. */
static void check_authority(void)
{
    struct k_object *objs[2 * CAP_SLOTS];
    uint32_t counts[2 * CAP_SLOTS];
    uint32_t nobj = 0;
    uint32_t alive = 0;
    for (unsigned i = 0; i < 2; i++) {
        struct hproc *h = &procs[i];
        struct k_process *p = h->p;
        if (p->state != KP_ALIVE)
            continue;
        alive++;
        check_capset(h);
        for (uint32_t s = 0; s < p->caps.nslots; s++) {
            const struct ct_slot *sl = &p->caps.slots[s];
            if (sl->state == CT_FREE)
                continue;
            struct k_object *o = sl->obj;
            uint64_t iface = o->ops->interface_id;
            if (iface == K_IFACE_NULLCAP) {
                CHECK(sl->badge == 0, "null cap badge is 0", h, sl->badge, 0);
            } else if (iface == K_IFACE_ENDPOINT) {
                CHECK(o == ep_raw[i], "raw endpoint only in its owner", h, s,
                      i);
                CHECK(sl->badge == 0, "raw endpoint badge is 0", h, sl->badge,
                      0);
            } else if (iface == K_IFACE_CLIENT_ENDPOINT) {
                CHECK(o == ep_client[0] || o == ep_client[1],
                      "client facet of a known endpoint", h, s, 0);
                unsigned e = o == ep_client[0] ? 0 : 1;
                struct facet_label l = {sl->badge, sl->iface};
                bool ok = label_known(e, l);
                /* Only the endpoint's owner can mint a new label
                 * (Endpoint.mintClient on its raw cap): a new badge or
                 * interface first appears in the owner's table;
                 * anywhere else it would be a relabelled or retyped
                 * facet (its interface changed in transfer). */
                if (!ok && i == e)
                    ok = label_mint(e, l);
                CHECK(ok,
                      "client facet carries a badge and interface its "
                      "owner never minted",
                      h, (long long)sl->badge, (long long)sl->iface);
            } else if (iface == K_IFACE_NETWORK_MANAGER) {
                CHECK(o == net.netmgr, "only setup's NetworkManager", h, s, 0);
                CHECK(sl->badge == 0, "NetworkManager badge is 0", h, sl->badge,
                      0);
            } else if (iface == K_IFACE_TCP_LISTEN_AUTHORITY) {
                CHECK(o == net.auth[0] || o == net.auth[1] || o == net.auth[2],
                      "only setup's TcpListenAuthorities", h, s, 0);
                CHECK(sl->badge == 0, "TcpListenAuthority badge is 0", h,
                      sl->badge, 0);
            } else if (iface == K_IFACE_TCP_LISTENER ||
                       iface == K_IFACE_TCP_SOCKET ||
                       iface == K_IFACE_TERMINAL_SESSION) {
                /* Made by listen, accept and intoTerminalSession. */
                CHECK(sl->badge == 0,
                      "listener, socket or terminal badge "
                      "is 0",
                      h, sl->badge, 0);
            } else {
                CHECK(false, "slot names an unknown object", h, s,
                      (long long)iface);
            }
            uint32_t j = 0;
            while (j < nobj && objs[j] != o)
                j++;
            if (j == nobj) {
                objs[nobj] = o;
                counts[nobj++] = 0;
            }
            counts[j]++;
        }
    }
    /* Between cap_enters nothing but slots holds a raw endpoint (it never
     * travels in a transfer; receives and messages point at the endpoint
     * without a reference), so its count is exact. Other objects may also
     * be held by queued transfers. */
    for (uint32_t j = 0; j < nobj; j++) {
        struct k_object *o = objs[j];
        if (o->ops->interface_id == K_IFACE_ENDPOINT)
            CHECK(counts[j] == 1 && o->refs == 1,
                  "raw endpoint: one slot, one reference", NULL, counts[j],
                  o->refs);
        else
            CHECK(o->refs >= counts[j], "references cover the slots", NULL,
                  o->refs, counts[j]);
        if (o->flags & K_OBJ_MOVE_ONLY)
            CHECK(counts[j] == 1, "a move-only cap is in one slot", NULL,
                  counts[j], 1);
    }
    CHECK(k.stats.objects_live >= nobj, "objects_live counts every object",
          NULL, k.stats.objects_live, nobj);
    CHECK(k.stats.processes_live == alive, "processes_live", NULL,
          k.stats.processes_live, alive);
    CHECK(k.stats.threads_live == (thr.t ? 1u : 0u), "only thread T", NULL,
          k.stats.threads_live, thr.t != NULL);
}

/* The network: the host side agrees with the model's guest-port table
 * and connection count, and only listen calls bind. */
static void check_net(void)
{
    for (unsigned i = 0; i < NGP; i++) {
        CHECK(sim_net_listening(guest_ports[i]) <= 1,
              "at most one open host listener per guest port", NULL,
              guest_ports[i], sim_net_listening(guest_ports[i]));
        CHECK(sim_net_binds(guest_ports[i]) == net.binds[i],
              "host listeners bound only by listen calls", NULL,
              sim_net_binds(guest_ports[i]), net.binds[i]);
    }
    CHECK(sim_net_open_conns() <= tcpsocket_conns_live(),
          "every open host connection is a model connection", NULL,
          sim_net_open_conns(), tcpsocket_conns_live());
    CHECK(tcpsocket_conns_live() <= net.connected,
          "no more connections than clients connected", NULL,
          tcpsocket_conns_live(), net.connected);
    if (procs[0].p->state != KP_ALIVE && procs[1].p->state != KP_ALIVE) {
        /* Nothing can hold a listener or socket any more. */
        for (unsigned i = 0; i < NGP; i++)
            CHECK(sim_net_listening(guest_ports[i]) == 0,
                  "no listener outlives both processes", NULL, guest_ports[i],
                  0);
        CHECK(tcpsocket_conns_live() == 0,
              "no connection outlives both processes", NULL,
              tcpsocket_conns_live(), 0);
    }
}

void check_all(void)
{
    check_proc(&procs[0]);
    check_proc(&procs[1]);
    check_authority();
    check_net();
}
