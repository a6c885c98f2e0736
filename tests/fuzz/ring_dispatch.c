/*
 * ring_dispatch.c - libFuzzer target: bytes -> ring pages and heaps ->
 * cap_enter, with the model's invariants checked after every cap_enter.
 *
 * Each input builds a fresh, deterministic system (fixed seed, virtual
 * clock) of two processes, A and B, cap tables of 16 slots (so table-full
 * paths are reachable), and these caps (the CapIds are the same for every
 * input; tests/fuzz/gen-ring-corpus.c relies on them and setup() aborts if the
 * model ever hands out different ones):
 *
 *   A 0x1000 null cap                 B 0x1000 client of A's endpoint
 *   A 0x1001 A's raw endpoint                  (badge BADGE_B_TO_A,
 *   A 0x1002 client of A's endpoint            typed IFACE_B_TO_A)
 *            (badge BADGE_A_SELF,     B 0x1001 null cap
 *            untyped)                 B 0x1002 B's raw endpoint
 *   A 0x1003 client of B's endpoint   B 0x1003 TcpListenAuthority for
 *            (badge BADGE_A_TO_B,              guest port GP_B (24)
 *            typed IFACE_A_TO_B)
 *   A 0x1004 NetworkManager           B 0x1004 TcpListenAuthority for
 *   A 0x1005 TcpListenAuthority for            guest port GP_SPENT (25),
 *            guest port GP_A (23)              already spent at setup
 *
 * The network: kernelParams.portForwards forwards guest ports 23, 24 and
 * 25 to 127.0.0.1 port 0 (any free host port; 24 with an idle timeout of
 * IDLE_S seconds), so a listen really binds a loopback socket. Nothing
 * connects unless the script says so (the net byte of a step, below);
 * the port's device callbacks run only when a step pumps it, so without
 * net actions no device event arrives and every input is deterministic.
 * Host-side clients are plain loopback sockets of the harness, at most
 * CLIENTS_MAX per input (so a backlog of 1 always has room: no connect
 * ever waits). On Linux a loopback connect or send has reached the
 * listening side inside the host kernel before the call returns, so the
 * next pump sees it and what the model sees does not depend on timing.
 *
 * Input layout (anything missing is zero; bytes past 16 KiB are ignored):
 *
 *   [0x0000, 0x1000)  A's ring page, copied whole over the page (header
 *                     indices included, so bogus ones are fuzzed too)
 *   [0x1000, 0x2000)  A's heap at CAPOS_HEAP_VADDR (0x202000): params,
 *                     transfer descriptors, SQE templates
 *   [0x2000, 0x3000)  B's ring page (copied only if the input reaches it)
 *   [0x3000, 0x4000)  B's heap (copied only if the input reaches it)
 *   [0x4000, 0x5000)  the own ring page of thread T of A (below), copied
 *                     whole (only if the input reaches it)
 *
 * A has one thread, T, which never runs; it has its own ring (docs/abi.md
 * §16) in A's heap page at CAPOS_HEAP_VADDR + 0x8000 (past the result
 * buffers the seeds use), driven from the host with k_ring_submit_thread.
 *
 * The harness script lives in A's ring page after the CQ (offset
 * CAP_RING_END = 0x840, which the kernel never reads): up to SCRIPT_MAX
 * 8-byte steps, ended by a step whose op is 0. Each step is what a user
 * thread of the target process does before (optionally) calling cap_enter:
 *
 *   op bit 0x01  target B (else A)
 *          0x02  consume every CQE (cq_head = cq_tail), as a user would
 *          0x04  cq_head += cq_adv (raw: may run past cq_tail = corrupt)
 *          0x08  copy nload (at most 16) SQE templates from the
 *                target's heap at offset load_idx * 64 into the SQ slots
 *                sq_tail, sq_tail + 1, ... (not yet published)
 *          0x10  the target process exits (k_process_exit); no cap_enter
 *          0x20  no cap_enter in this step
 *          0x40  no effect (makes a plain "just enter" step non-zero)
 *          0x80  target T's own ring (0x01 ignored; SQE templates still
 *                come from A's heap); with 0x10, T exits instead and a
 *                new thread takes its slot (next generation) with the
 *                same ring page, so completions still owed to T must be
 *                dropped, never reach the new thread
 *   then sq_tail += sq_adv (raw: more than 16 pending = corrupt), then
 *   k_cap_enter(target, min_complete, 0) (T: k_ring_submit_thread).
 *
 * Byte 6 of a step (net) acts on the network first, before anything
 * above (net_arg is byte 7):
 *
 *   net bit 0x01  connect a client to the open host listener of guest
 *                 port 23, 24 or 25 (net_arg % 3), if there is one
 *           0x02  every client sends net_arg bytes (0: 1) of a pattern
 *                 with text, line ends and Telnet commands (NAWS)
 *           0x04  every client shuts down its sending side (end of input)
 *           0x08  every client resets its connection (and is gone)
 *           0x10  the virtual clock advances net_arg seconds (0: IDLE_S
 *                 + 1) and due timers fire (idle timeouts)
 *   any of them, or 0x20 alone, then pumps the port: device callbacks run
 *   and complete waiting accepts and recvs.
 *
 * An empty script (first op 0) means: enter A, enter B, consume A's CQ and
 * enter A, consume B's CQ and enter B.
 *
 * After every step every invariant below is checked and a violation
 * abort()s with a message (libFuzzer then reports a crash): table and
 * process consistency (k_process_check), the kernel-owned header indices
 * republished by cap_enter, one CQE per consumed SQE
 * (consumed == cq_tail + cq_reserved), the CQ never over-full, every CQE
 * well formed with a defined result code, SQEs left unconsumed only when
 * the CQ is full, and authority: only the owner holds a raw endpoint (once),
 * client facets carry only the badge and typed interface they were minted
 * with (a facet's interface never changes through transfer), every other
 * cap is a null cap with badge 0, and objects hold at least the references
 * the tables give them. The network caps: only the NetworkManager and the
 * three authorities of setup, listeners, sockets and socket terminals,
 * all with badge 0, a move-only cap (a TerminalSession) in one slot at
 * most. The network: at most one open host listener per guest port, no
 * more open host connections than the model's connections and no more of
 * those than clients ever connected, host binds only by listen calls, a
 * TcpListenAuthority's listen binding at most once in its life (the spent
 * one never), and with both processes gone no listener or connection
 * left. At the end k_shutdown() must leave no object, thread or process
 * alive, and once the port has run its close callbacks no host socket.
 *
 * With RING_DISPATCH_TRACE set in the environment, every step and every
 * CQE is printed to stderr (replay one input: ./ring_dispatch FILE).
 *
 * This file builds the system and runs the steps; the invariants are
 * ring_dispatch_check.c, the state both share ring_dispatch_state.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_uv.h"
#include "port_uv.h"
#include "ring_dispatch_state.h"

struct hproc procs[2];
struct thr_state thr;
bool trace;
struct k_object *ep_raw[2];
struct k_object *ep_client[2];
struct facet_label minted[2][MINTED_MAX];
unsigned nminted[2];
unsigned step_no;
const uint16_t guest_ports[NGP] = {GP_A, GP_B, GP_SPENT};
struct net_state net;

/* ---------------------------------------------------------------- */
/* Setup                                                             */
/* ---------------------------------------------------------------- */

static struct k_process *make_proc(const char *name)
{
    struct k_process_opts o = {.name = name,
                               .arena_size = ARENA_SIZE,
                               .cap_slots = CAP_SLOTS,
                               .max_threads = MAX_THREADS,
                               .stack_size = STACK_SIZE};
    struct k_process *p = k_process_create(&o);
    if (!p) {
        fprintf(stderr, "ring_dispatch: k_process_create(%s) failed\n", name);
        abort();
    }
    return p;
}

static void expect_id(int r, uint32_t got, uint32_t want, const char *what)
{
    if (r != 0 || got != want) {
        fprintf(stderr,
                "ring_dispatch: setup: %s gave r=%d id=0x%x, expected id "
                "0x%x; the model changed how it allocates CapIds, so update "
                "the ids in tests/fuzz/ring_dispatch.h and regenerate "
                "fixtures/corpus/ring_dispatch\n",
                what, r, got, want);
        abort();
    }
}

static struct k_object *obj_of(struct k_process *p, uint32_t id)
{
    struct ct_slot *s = ct_lookup(&p->caps, id);
    return s ? s->obj : NULL;
}

static void never_runs(void *arg)
{
    (void)arg;
    abort();
}

/* A new thread T of a with its own ring at T_RING_VADDR. */
static void thr_start(struct k_process *a)
{
    if (k_thread_create(a, never_runs, NULL, &thr.t) != 0 ||
        k_thread_attach_ring(thr.t, T_RING_VADDR) != 0) {
        fprintf(stderr, "ring_dispatch: setup: thread T with a ring failed\n");
        abort();
    }
    thr.dirty = false;
    thr.consumed = 0;
    thr.gen = thr.t->gen;
}

/* kernelParams.portForwards: guest ports 23, 24 (idle timeout IDLE_S)
 * and 25 to 127.0.0.1 port 0. SystemManifest: kernelParams ptr2;
 * KernelParams: portForwards ptr1; PortForward: hostAddress ptr0,
 * hostPort u16 @0, guestPort u16 @2, idleTimeoutSeconds u32 @4. */
static void net_setup(void)
{
    static uint64_t buf[128];
    capnp_builder b;
    capnp_struct_builder root, kp, f;
    capnp_list_builder l;
    size_t len = 0;
    capnp_builder_init(&b, buf, sizeof buf);
    int r = capnp_init_root(&b, 1, 3, &root) ||
            capnp_init_struct(&root, 2, 1, 2, &kp) ||
            capnp_init_struct_list(&kp, 1, NGP, 1, 1, &l);
    for (unsigned i = 0; r == 0 && i < NGP; i++) {
        r = capnp_list_struct_at(&l, i, &f) ||
            capnp_set_text(&f, 0, "127.0.0.1", 9);
        capnp_set_u16(&f, 2, guest_ports[i], 0);
        capnp_set_u32(&f, 4, guest_ports[i] == GP_B ? IDLE_S : 0, 600);
    }
    char err[160] = "";
    struct k_msg m = {err, sizeof err, 0};
    if (r || capnp_finish(&b, &len) != 0 ||
        net_configure((const uint8_t *)buf, len, &m) != 0) {
        fprintf(stderr, "ring_dispatch: setup: port forwards: %s\n", err);
        abort();
    }
}

/* Spend B's authority for GP_SPENT the way a listen does (a listener is
 * made and dropped at once), calling the object directly so that no ring
 * state changes. */
static void spend_authority(struct k_process *b)
{
    static uint8_t res[128];
    struct ct_slot *s = ct_lookup(&b->caps, B_SPENT);
    struct k_call c;
    memset(&c, 0, sizeof c);
    c.proc = b;
    c.cap_id = B_SPENT;
    c.method_id = 0; /* listen(backlog 0) */
    c.result = res;
    c.result_cap = sizeof res;
    c.result_len = sizeof res;
    int r = s ? s->obj->ops->call(s->obj, &c) : -1;
    if (r < 0 || c.nresult_caps != 1 ||
        c.result_caps[0]->ops->interface_id != K_IFACE_TCP_LISTENER) {
        fprintf(stderr,
                "ring_dispatch: setup: spending B's "
                "TcpListenAuthority failed (%d)\n",
                r);
        abort();
    }
    k_obj_unref(c.result_caps[0]);
}

/* Bring up the model and the two processes with their caps. */
static void setup(void)
{
    nminted[0] = nminted[1] = 0;
    struct k_config cfg = {.seed = FUZZ_SEED, .virtual_clock = true};
    if (k_init(&cfg) != 0) {
        fprintf(stderr, "ring_dispatch: k_init failed\n");
        abort();
    }
    struct k_process *a = make_proc("A");
    struct k_process *b = make_proc("B");
    uint32_t id = 0;
    expect_id(nullcap_grant(a, &id), id, A_NULL, "nullcap_grant(A)");
    expect_id(ep_create(a, &id), id, A_EP, "ep_create(A)");
    expect_id(ep_mint_client(a, A_EP, a, BADGE_A_SELF, &id), id, A_CLI_A,
              "ep_mint_client(A -> A)");
    expect_id(ep_mint_client(a, A_EP, b, BADGE_B_TO_A, &id), id, B_CLI_A,
              "ep_mint_client(A -> B)");
    expect_id(nullcap_grant(b, &id), id, B_NULL, "nullcap_grant(B)");
    expect_id(ep_create(b, &id), id, B_EP, "ep_create(B)");
    expect_id(ep_mint_client(b, B_EP, a, BADGE_A_TO_B, &id), id, A_CLI_B,
              "ep_mint_client(B -> A)");
    k_capset_add(a, "null", A_NULL);
    k_capset_add(a, "endpoint", A_EP);
    k_capset_add(a, "self", A_CLI_A);
    k_capset_add_as(a, "peer", A_CLI_B, IFACE_A_TO_B);
    k_capset_add_as(b, "peer", B_CLI_A, IFACE_B_TO_A);
    k_capset_add(b, "null", B_NULL);
    k_capset_add(b, "endpoint", B_EP);
    net_setup();
    expect_id(netmgr_grant(a, &id), id, A_NETMGR, "netmgr_grant(A)");
    expect_id(tcpauth_grant(a, GP_A, &id), id, A_AUTH, "tcpauth_grant(A)");
    expect_id(tcpauth_grant(b, GP_B, &id), id, B_AUTH, "tcpauth_grant(B)");
    expect_id(tcpauth_grant(b, GP_SPENT, &id), id, B_SPENT,
              "tcpauth_grant(B, spent)");
    k_capset_add(a, "network", A_NETMGR);
    k_capset_add(a, "listen", A_AUTH);
    k_capset_add(b, "listen", B_AUTH);
    k_capset_add(b, "spent", B_SPENT);
    memset(&net, 0, sizeof net);
    net.netmgr = obj_of(a, A_NETMGR);
    net.auth[0] = obj_of(a, A_AUTH);
    net.auth[1] = obj_of(b, B_AUTH);
    net.auth[2] = obj_of(b, B_SPENT);
    spend_authority(b);
    net.spent[2] = SPENT_YES;
    for (unsigned i = 0; i < NGP; i++)
        net.binds[i] = sim_net_binds(guest_ports[i]);
    ep_raw[0] = obj_of(a, A_EP);
    ep_client[0] = obj_of(a, A_CLI_A);
    ep_raw[1] = obj_of(b, B_EP);
    ep_client[1] = obj_of(a, A_CLI_B);
    memset(procs, 0, sizeof procs);
    memset(&thr, 0, sizeof thr);
    thr_start(a);
    procs[0].p = a;
    procs[0].name = "A";
    procs[1].p = b;
    procs[1].name = "B";
}

/* Copy up to CHUNK bytes of the input at off to p's arena at vaddr.
 * Returns false (nothing copied) if the input does not reach off. */
static bool load_chunk(struct k_process *p, uint64_t vaddr, const uint8_t *data,
                       size_t size, size_t off)
{
    if (size <= off)
        return false;
    uint8_t *dst = k_user_ptr(p, vaddr, CHUNK);
    if (!dst)
        abort();
    size_t n = size - off < CHUNK ? size - off : CHUNK;
    memcpy(dst, data + off, n);
    memset(dst + n, 0, CHUNK - n);
    return true;
}

/* ---------------------------------------------------------------- */
/* Listen accounting                                                 */
/* ---------------------------------------------------------------- */

/*
 * Before a batch: what its CALLs can listen with, from p's table now
 * (sq: the ring's SQ; SQEs head..tail are the batch). A CapId not in the
 * table now may name anything by the time its SQE runs (a cap received
 * earlier in the batch), so it counts as unknown.
 */
static void listen_scan(struct k_process *p, const CapSqe *sq, uint32_t head,
                        uint32_t tail)
{
    net.nm_calls = net.unknown_calls = 0;
    memset(net.auth_calls, 0, sizeof net.auth_calls);
    if (tail - head > CAP_SQ_ENTRIES || p->state != KP_ALIVE)
        return; /* corrupt: nothing is consumed */
    for (uint32_t i = head; i != tail; i++) {
        const CapSqe *e = &sq[i & (CAP_SQ_ENTRIES - 1)];
        if (e->opcode != CAP_OP_CALL)
            continue;
        struct k_object *o = obj_of(p, e->cap_id);
        if (!o)
            net.unknown_calls++;
        else if (o == net.netmgr && e->method_id == 1)
            net.nm_calls++;
        for (unsigned g = 0; g < NGP; g++)
            if (o && o == net.auth[g] && e->method_id == 0)
                net.auth_calls[g]++;
    }
}

/*
 * After a batch: each authority binds at most once in its life. A bind
 * the batch's NetworkManager listens (or unknown caps) cannot explain
 * spends the authority; one they could explain leaves it unknown.
 */
static void listen_account(void)
{
    uint32_t other = net.nm_calls + net.unknown_calls;
    for (unsigned g = 0; g < NGP; g++) {
        uint64_t now = sim_net_binds(guest_ports[g]);
        uint64_t d = now - net.binds[g];
        net.binds[g] = now;
        uint64_t auth_max =
            net.spent[g] == SPENT_YES || !net.auth_calls[g] ? 0 : 1;
        CHECK(d <= other + auth_max,
              "binds explained by the batch's listen calls (a "
              "TcpListenAuthority binds once)",
              NULL, (long long)d, other + auth_max);
        if (d > other)
            net.spent[g] = SPENT_YES;
        else if (d && net.auth_calls[g] && net.spent[g] == SPENT_NO)
            net.spent[g] = SPENT_MAYBE;
    }
}

/* ---------------------------------------------------------------- */
/* Steps                                                             */
/* ---------------------------------------------------------------- */

/* cap_enter from the host (never blocks) and check what it consumed. */
static void enter(struct hproc *h, uint32_t min_complete)
{
    struct k_process *p = h->p;
    bool alive = p->state == KP_ALIVE;
    uint32_t head0 = p->rs.sq_head;
    uint32_t tail = p->ring->hdr.sq_tail;
    uint32_t pending = tail - head0;
    listen_scan(p, p->ring->sq, head0, tail);
    int r = k_cap_enter(p, min_complete, 0);
    listen_account();
    if (trace)
        fprintf(stderr,
                "step %u: cap_enter(%s): %d; consumed %u of %u; caps live %u "
                "reserved %u; cq_reserved %u\n",
                step_no, h->name, r, p->rs.sq_head - head0, pending,
                alive ? p->caps.live : 0, alive ? p->caps.reserved : 0,
                p->rs.cq_reserved);
    if (!alive) {
        CHECK(r == CAP_ERR_INVOKE_FAILED, "cap_enter of a dead process", h, r,
              CAP_ERR_INVOKE_FAILED);
        return;
    }
    if (min_complete > CAP_CQ_ENTRIES) {
        CHECK(r == CAP_ERR_INVALID_REQUEST, "min_complete > 32 rejected", h, r,
              CAP_ERR_INVALID_REQUEST);
        return;
    }
    h->dirty = false;
    if (p->state != KP_ALIVE)
        return; /* exited during its own cap_enter: nothing more to hold */
    if (pending > CAP_SQ_ENTRIES) {
        CHECK(r == CAP_ERR_RING_CORRUPT, "SQ overrun reported", h, r,
              CAP_ERR_RING_CORRUPT);
        CHECK(p->rs.sq_head == tail, "SQ overrun drops the pending SQEs", h,
              p->rs.sq_head, tail);
        return;
    }
    uint32_t n = p->rs.sq_head - head0;
    CHECK(n <= pending, "consumed no more than was pending", h, n, pending);
    h->consumed += n;
    uint32_t used = p->rs.cq_tail - p->ring->hdr.cq_head;
    bool cq_ok = used <= CAP_CQ_ENTRIES;
    if (n < pending)
        CHECK(!cq_ok || used + p->rs.cq_reserved == CAP_CQ_ENTRIES,
              "SQEs left behind only when the CQ is full", h, n, pending);
    if (cq_ok) {
        CHECK(r >= 0 && (uint32_t)r == used, "cap_enter returns CQEs ready", h,
              r, used);
    } else {
        /* A cq_head outside the window: nothing may be consumed, and it
         * is reported as soon as the kernel needed a CQ slot. */
        CHECK(n == 0, "nothing consumed with a corrupt cq_head", h, n, 0);
        CHECK(r == (pending ? CAP_ERR_RING_CORRUPT : 0),
              "corrupt cq_head reported", h, r,
              pending ? CAP_ERR_RING_CORRUPT : 0);
    }
}

/* Submit T's ring from the host and check what it consumed. */
static void enter_thread(void)
{
    struct k_ring_state *rs = &thr.t->ring;
    uint32_t head0 = rs->sq_head;
    uint32_t tail = rs->page->hdr.sq_tail;
    uint32_t pending = tail - head0;
    listen_scan(procs[0].p, rs->page->sq, head0, tail);
    int r = k_ring_submit_thread(thr.t);
    listen_account();
    if (trace)
        fprintf(stderr,
                "step %u: submit(T gen %u): %d; consumed %u of %u; "
                "cq_reserved %u; stale drops %llu\n",
                step_no, thr.gen, r, rs->sq_head - head0, pending,
                rs->cq_reserved, (unsigned long long)k.stats.stale_dropped);
    struct hproc *h = &procs[0];
    if (procs[0].p->state != KP_ALIVE || !thr.t->own_ring) {
        /* A exited during the submit (ThreadControl is not granted, so
         * T cannot exit by itself). */
        CHECK(procs[0].p->state != KP_ALIVE, "T's ring gone only with A", h, 0,
              0);
        return;
    }
    thr.dirty = false;
    if (pending > CAP_SQ_ENTRIES) {
        CHECK(r == CAP_ERR_RING_CORRUPT, "T: SQ overrun reported", h, r,
              CAP_ERR_RING_CORRUPT);
        return;
    }
    uint32_t n = rs->sq_head - head0;
    CHECK(r < 0 || (uint32_t)r == n, "T: submit returns the consumed count", h,
          r, n);
    CHECK(n <= pending, "T: consumed no more than was pending", h, n, pending);
    thr.consumed += n;
}

/* T exits; a new thread takes its slot and its ring page. */
static void thread_exit_and_replace(void)
{
    struct k_process *a = procs[0].p;
    struct k_tref old = k_thread_ref(thr.t);
    if (trace)
        fprintf(stderr, "step %u: T (gen %u) exits\n", step_no, thr.gen);
    k_thread_kill(thr.t);
    k_sched_reap();
    CHECK(k_ring_resolve(a, old) == NULL, "an exited thread's ring is gone",
          &procs[0], old.slot, old.gen);
    thr_start(a);
    CHECK(k_thread_ref(thr.t).slot == old.slot &&
              k_thread_ref(thr.t).gen != old.gen,
          "the new thread reuses the slot with a new generation", &procs[0],
          thr.gen, old.gen);
    CHECK(k_ring_resolve(a, old) == NULL, "the old ThreadRef stays stale",
          &procs[0], old.slot, old.gen);
}

static void run_thread_step(const struct step *st)
{
    if (!thr.t || procs[0].p->state != KP_ALIVE)
        return;
    if (st->op & OP_EXIT) {
        thread_exit_and_replace();
        return;
    }
    struct k_process *a = procs[0].p;
    struct k_ring_state *rs = &thr.t->ring;
    CapRingHeader *hdr = &rs->page->hdr;
    if (st->op & OP_CONSUME_ALL)
        hdr->cq_head = rs->cq_tail;
    if (st->op & OP_CQ_ADV)
        hdr->cq_head += st->cq_adv;
    if (st->op & OP_LOAD) {
        uint32_t n = st->nload < CAP_SQ_ENTRIES ? st->nload : CAP_SQ_ENTRIES;
        const CapSqe *src =
            k_user_ptr(a, CAPOS_HEAP_VADDR + (uint64_t)st->load_idx * SQE_SIZE,
                       (uint64_t)n * SQE_SIZE);
        for (uint32_t i = 0; src && i < n; i++)
            rs->page->sq[(hdr->sq_tail + i) & (CAP_SQ_ENTRIES - 1)] = src[i];
    }
    hdr->sq_tail += st->sq_adv;
    if (!(st->op & OP_NO_ENTER))
        enter_thread();
}

/* Run the port's device callbacks that are due now (a few rounds: an
 * accepted connection starts reading in the round after its accept). */
static void pump(void)
{
    for (int i = 0; i < 3; i++)
        (void)port_idle(0);
}

/* A loopback client of guest port gp's open host listener, connected
 * before this returns (the backlog always has room for CLIENTS_MAX). */
static void client_connect(uint16_t gp)
{
    uint16_t port = sim_net_bound_port(gp);
    if (!port || net.nclients == CLIENTS_MAX || net.connected == CLIENTS_MAX)
        return;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        abort();
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct pollfd pf = {.fd = fd, .events = POLLOUT};
    int err = 0;
    socklen_t len = sizeof err;
    if ((connect(fd, (struct sockaddr *)&a, sizeof a) != 0 &&
         errno != EINPROGRESS) ||
        poll(&pf, 1, 1000) != 1 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
        fprintf(stderr,
                "ring_dispatch: loopback connect to port %u "
                "failed\n",
                (unsigned)port);
        abort();
    }
    if (trace)
        fprintf(stderr, "step %u: client %u connects to guest port %u\n",
                step_no, net.nclients, (unsigned)gp);
    net.client[net.nclients++] = fd;
    net.connected++;
}

static void client_close(unsigned i, bool reset)
{
    if (reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(net.client[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(net.client[i]);
}

/* The net byte of a step (see the top of this file). */
static void run_net(const struct step *st)
{
    static const uint8_t pattern[] = {
        'l',  's',  '\r', '\n', 0xff, 0xfd, 0x01, /* IAC DO ECHO */
        0xff, 0xfa, 0x1f, 0x00, 0x50, 0x00, 0x18, /* IAC SB NAWS 80 24 */
        0xff, 0xf0, 'h',  'i',  0xff, 0xff, '\n', 0xc3, 0xa9, 0x7f,
        0x08, '\r', 0x00, 0x1b, '[',  'A',  0xff, 0xf4, 'x',  '\n'};
    uint8_t n = st->net;
    if (!n)
        return;
    if (n & NET_CONNECT)
        client_connect(guest_ports[st->net_arg % NGP]);
    if (n & NET_SEND) {
        uint8_t buf[255];
        uint32_t len = st->net_arg ? st->net_arg : 1;
        for (uint32_t i = 0; i < len; i++)
            buf[i] = pattern[i % sizeof pattern];
        for (unsigned i = 0; i < net.nclients; i++)
            (void)send(net.client[i], buf, len, MSG_NOSIGNAL);
    }
    if (n & NET_SHUT)
        for (unsigned i = 0; i < net.nclients; i++)
            (void)shutdown(net.client[i], SHUT_WR);
    if (n & NET_RESET) {
        for (unsigned i = 0; i < net.nclients; i++)
            client_close(i, true);
        net.nclients = 0;
    }
    if (n & NET_CLOCK) {
        uint64_t sec = st->net_arg ? st->net_arg : IDLE_S + 1;
        k_clock_advance(sec * NET_NS_PER_S);
        (void)k_timer_fire_due();
    }
    pump();
}

static void run_step(const struct step *st)
{
    run_net(st);
    if (st->op & OP_THREAD) {
        run_thread_step(st);
        return;
    }
    thr.dirty = true; /* A's results may land on T's page */
    struct hproc *h = &procs[st->op & OP_B ? 1 : 0];
    struct k_process *p = h->p;
    CapRingHeader *hdr = &p->ring->hdr;
    if (p->state == KP_ALIVE && (st->op & OP_EXIT)) {
        if (trace)
            fprintf(stderr, "step %u: %s exits\n", step_no, h->name);
        k_process_exit(p, 1);
        if (h == &procs[0]) {
            k_sched_reap();
            thr.t = NULL; /* killed with A */
        }
        return;
    }
    if (st->op & OP_CONSUME_ALL)
        hdr->cq_head = p->rs.cq_tail;
    if (st->op & OP_CQ_ADV)
        hdr->cq_head += st->cq_adv;
    if (st->op & OP_LOAD) {
        uint32_t n = st->nload < CAP_SQ_ENTRIES ? st->nload : CAP_SQ_ENTRIES;
        const CapSqe *src =
            k_user_ptr(p, CAPOS_HEAP_VADDR + (uint64_t)st->load_idx * SQE_SIZE,
                       (uint64_t)n * SQE_SIZE);
        for (uint32_t i = 0; src && i < n; i++)
            p->ring->sq[(hdr->sq_tail + i) & (CAP_SQ_ENTRIES - 1)] = src[i];
    }
    hdr->sq_tail += st->sq_adv;
    if (!(st->op & OP_NO_ENTER))
        enter(h, st->min_complete);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool port_up;
    if (!port_up) {
        if (sim_port_init() != 0)
            abort();
        atexit(sim_port_fini);
        port_up = true;
        trace = getenv("RING_DISPATCH_TRACE") != NULL;
        /* Thousands of binds: no notice line each (and console lines of
         * refused listens only when tracing). */
        sim_net_set_quiet(true);
        if (!trace)
            sim_console_set_fd(open("/dev/null", O_WRONLY | O_CLOEXEC));
    }
    if (size > INPUT_MAX)
        size = INPUT_MAX;
    setup();
    struct k_process *a = procs[0].p, *b = procs[1].p;
    step_no = 0;

    load_chunk(a, CAPOS_RING_VADDR, data, size, OFF_A_RING);
    load_chunk(a, CAPOS_HEAP_VADDR, data, size, OFF_A_HEAP);
    procs[0].dirty = true;
    if (load_chunk(b, CAPOS_RING_VADDR, data, size, OFF_B_RING))
        procs[1].dirty = true;
    load_chunk(b, CAPOS_HEAP_VADDR, data, size, OFF_B_HEAP);
    if (load_chunk(a, T_RING_VADDR, data, size, OFF_T_RING))
        thr.dirty = true;
    check_all();

    /* The script is read from the input, not from the ring page: the
     * page is user memory the kernel may be handed back in any state. */
    struct step script[SCRIPT_MAX];
    memset(script, 0, sizeof script);
    if (size > SCRIPT_OFF) {
        size_t n = size - SCRIPT_OFF;
        if (n > sizeof script)
            n = sizeof script;
        memcpy(script, data + SCRIPT_OFF, n);
    }
    if (script[0].op == 0) {
        static const struct step dflt[] = {
            {.op = OP_PLAIN},
            {.op = OP_PLAIN | OP_B},
            {.op = OP_PLAIN | OP_CONSUME_ALL},
            {.op = OP_PLAIN | OP_B | OP_CONSUME_ALL},
        };
        memcpy(script, dflt, sizeof dflt);
    }
    for (unsigned i = 0; i < SCRIPT_MAX && script[i].op; i++) {
        step_no = i + 1;
        run_step(&script[i]);
        check_all();
    }

    step_no = SCRIPT_MAX + 1; /* "at shut-down" */
    for (unsigned i = 0; i < net.nclients; i++)
        client_close(i, false);
    net.nclients = 0;
    k_shutdown();
    /* Closed host sockets go away in the port's close callbacks. A host
     * socket with output still queued closes once it is sent or the
     * (closed) client has reset it. */
    for (int i = 0; i < 1000 && sim_net_live() != 0; i++)
        (void)port_idle(i < 10 ? 0 : port_clock_ns() + 1000000);
    CHECK(sim_net_live() == 0, "no host socket outlives shutdown", NULL,
          sim_net_live(), 0);
    CHECK(tcpsocket_conns_live() == 0, "no connection outlives shutdown", NULL,
          tcpsocket_conns_live(), 0);
    CHECK(k.stats.objects_live == 0, "no object outlives shutdown", NULL,
          k.stats.objects_live, 0);
    CHECK(k.stats.threads_live == 0, "no thread outlives shutdown", NULL,
          k.stats.threads_live, 0);
    CHECK(k.stats.processes_live == 0, "no process outlives shutdown", NULL,
          k.stats.processes_live, 0);
    return 0;
}
