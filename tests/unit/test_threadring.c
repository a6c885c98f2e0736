/*
 * test_threadring.c - per-thread capability rings and completion routing
 * by generation-checked ThreadRef (docs/abi.md §16): spawn with a ring,
 * bad ring pages, a late reply to an exited thread whose slot a new
 * thread reuses (dropped, counted, nothing written, no caps delivered),
 * sibling rings under a seeded adversarial completion order, thread exit
 * with a PARK pending on its own ring, and process exit with threads
 * blocked on their own rings.
 *
 * Host-driven tests create threads that never run and drive their rings
 * from the host context (k_ring_submit_thread), which makes the
 * interleavings exact; the others run model threads under k_run.
 */
#include <stdlib.h>
#include <string.h>

#include "capos.capnp.h"
#include "harness.h"

static int setup(void **state)
{
    (void)state;
    /* THREADRING_SEED=n reruns with another completion order. */
    const char *e = getenv("THREADRING_SEED");
    h_up(true, e ? strtoull(e, NULL, 0) : 0x7123);
    return 0;
}

/* ---- helpers (the ring-side ones are the harness's h_ring_*) ---------- */

/* ThreadSpawner.spawn(entry, arg, 0, ring, fsBase) on p's process ring. */
static CapSqe spawn_sqe(struct k_process *p, uint32_t ts, void (*entry)(void *),
                        uint64_t arg, uint64_t ring, uint64_t fs,
                        uint8_t **resbuf)
{
    capnp_builder b;
    capnp_struct_builder root;
    h_msg(p, &b, 128);
    assert_int_equal(capos_ThreadSpawner_spawn_Params_init_root(&b, &root), 0);
    capos_ThreadSpawner_spawn_Params_set_entry(&root,
                                               (uint64_t)(uintptr_t)entry);
    capos_ThreadSpawner_spawn_Params_set_arg(&root, arg);
    capos_ThreadSpawner_spawn_Params_set_ring(&root, ring);
    capos_ThreadSpawner_spawn_Params_set_fsBase(&root, fs);
    return h_call_msg(p, ts, CAPOS_THREAD_SPAWNER_SPAWN_METHOD_ID, 1, &b, 256,
                      resbuf);
}

/* The ThreadHandle id a successful spawn returned. */
static uint32_t spawned_handle(const uint8_t *buf, const CapCqe *c)
{
    assert_true(c->result > 0);
    assert_int_equal(c->cap_count, 1);
    CapTransferResult rec;
    memcpy(&rec, buf + CAP_ALIGN8((uint32_t)c->result), sizeof rec);
    assert_int_equal(rec.interface_id, CAPOS_THREAD_HANDLE_INTERFACE_ID);
    return rec.cap_id;
}

/* ThreadHandle.join on handle th, with a fresh 64-byte result buffer
 * (*res when res is not NULL). */
static CapSqe join_sqe(struct k_process *p, uint32_t th, uint64_t user_data,
                       uint8_t **res)
{
    CapSqe j = h_call(th, CAPOS_THREAD_HANDLE_JOIN_METHOD_ID, user_data);
    uint8_t *jb = h_alloc(p, 64);
    j.result_addr = h_va(p, jb);
    j.result_len = 64;
    if (res)
        *res = jb;
    return j;
}

/* From a model thread with its own ring r: one SQE on r, wait for its
 * CQE (h_one_wait does it on the process ring). */
static CapCqe r_one(CapRing *r, const CapSqe *s)
{
    h_ring_push(r, s);
    assert_true(k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE) >= 1);
    CapCqe c;
    assert_true(h_ring_pop(r, &c));
    return c;
}

/* Shared state of the model-thread tests. */
static struct {
    uint32_t ts, null, ps, facet;
    CapRing *ring[4];
    uint32_t *word;
    uint64_t fs_seen;
    uint32_t child_cqes;   /* completions the child saw on its own ring */
    uint32_t process_cqes; /* completions the child saw on the process ring */
    uint32_t woken;        /* UNPARK after the child's exit */
    uint32_t parked;       /* children blocked on their own ring */
    uint32_t bad;          /* a check failed inside a thread */
} g;

/* A fresh test: g cleared, process "p" holding a ThreadSpawner (g.ts). */
static struct k_process *spawner_proc(void)
{
    memset(&g, 0, sizeof g);
    struct k_process *p = h_proc("p", 0);
    assert_int_equal(threadspawner_grant(p, &g.ts), 0);
    return p;
}

/* Run entry(p) as p's first thread until every thread is done: k_run
 * leaves none blocked, p exits 0 and no thread counted anything wrong. */
static void run_clean(struct k_process *p, void (*entry)(void *))
{
    assert_int_equal(k_thread_create(p, entry, p, NULL), 0);
    assert_int_equal(k_run(), 0);
    assert_int_equal(p->exit_code, 0);
    assert_int_equal(g.bad, 0);
}

/* ---- spawn with a ring ------------------------------------------------ */

static void child_with_ring(void *arg)
{
    struct k_thread *t = k_current();
    struct k_process *p = t->proc;
    CapRing *r = g.ring[(uintptr_t)arg];
    g.fs_seen = t->fs_base;
    /* A CALL and a NOP on its own ring complete there, in order. */
    CapSqe s = h_call(g.null, 0, 41);
    CapCqe c = r_one(r, &s);
    if (c.user_data != 41 || c.result != 0)
        g.bad++;
    else
        g.child_cqes++;
    s = h_nop(42);
    c = r_one(r, &s);
    if (c.user_data != 42 || c.result != 0)
        g.bad++;
    else
        g.child_cqes++;
    /* Nothing went to the process ring. */
    CapCqe x;
    while (h_cqe(p, &x))
        g.process_cqes++;
}

static void spawn_main(void *arg)
{
    struct k_process *p = arg;
    g.ring[0] = h_ring_page(p);
    uint8_t *rb;
    CapSqe s = spawn_sqe(p, g.ts, child_with_ring, 0, h_va(p, g.ring[0]),
                         0xf5000, &rb);
    CapCqe c = h_one_wait(p, &s);
    uint32_t th = spawned_handle(rb, &c);
    /* join on the process ring: the child runs meanwhile. */
    CapSqe j = join_sqe(p, th, 2, NULL);
    c = h_one_wait(p, &j);
    if (c.user_data != 2 || c.result <= 0)
        g.bad++;
}

static void spawn_with_a_ring_gives_the_thread_its_own_ring(void **state)
{
    (void)state;
    struct k_process *p = spawner_proc();
    assert_int_equal(nullcap_grant(p, &g.null), 0);
    run_clean(p, spawn_main);
    assert_int_equal(g.child_cqes, 2);
    assert_int_equal(g.process_cqes, 0);
    assert_int_equal(g.fs_seen, 0xf5000);
    assert_int_equal(k.stats.stale_dropped, 0);
}

/* Ring pages that are not page aligned, not in the heap and stacks, or
 * already another thread's ring are refused with invalidArgument, and no
 * thread starts. */
static void spawn_refuses_bad_ring_pages(void **state)
{
    (void)state;
    struct k_process *p = h_proc("p", 0);
    uint32_t ts;
    assert_int_equal(threadspawner_grant(p, &ts), 0);
    CapRing *taken;
    struct k_thread *t = h_ring_thread(p, &taken);
    (void)t;
    CapRing *good = h_ring_page(p);
    uint64_t bad[] = {
        h_va(p, good) + 8,                 /* unaligned */
        CAPOS_RING_VADDR,                  /* the process ring */
        CAPOS_CAPSET_VADDR,                /* the CapSet page */
        CAPOS_ARENA_VADDR + p->arena_size, /* past the arena */
        0xfffffffffffff000ull,             /* nowhere */
        h_va(p, taken),                    /* another thread's ring */
    };
    uint32_t before = p->nthreads;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *rb;
        CapSqe s = spawn_sqe(p, ts, h_never_runs, 0, bad[i], 0, &rb);
        CapCqe c = h_one(p, &s);
        assert_int_equal(c.result, CAP_ERR_APPLICATION_EXCEPTION);
        assert_int_equal(p->nthreads, before);
    }
    /* The host API refuses the same pages, and a second ring. */
    struct k_thread *u;
    assert_int_equal(k_thread_create(p, h_never_runs, NULL, &u), 0);
    assert_int_equal(k_thread_attach_ring(u, h_va(p, good) + 8),
                     CAP_ERR_INVALID_RESULT_BUFFER);
    assert_int_equal(k_thread_attach_ring(u, h_va(p, taken)),
                     CAP_ERR_INVALID_RESULT_BUFFER);
    assert_int_equal(k_thread_attach_ring(u, h_va(p, good)), 0);
    assert_int_equal(k_thread_attach_ring(u, h_va(p, good)),
                     CAP_ERR_INVALID_REQUEST);
    assert_int_equal(k_process_check(p), 0);
}

/* ---- stale ThreadRef -------------------------------------------------- */

/*
 * Thread A calls a server on its own ring, the server takes the call, A
 * exits, and thread C reuses A's slot (and even A's ring page). The
 * server's late RETURN, carrying a cap, reaches nobody: C's ring gets no
 * CQE, the result buffer is not written, the cap stays with the server,
 * the drop is counted and the server learns DISCONNECTED.
 */
static void a_late_reply_to_an_exited_thread_is_dropped(void **state)
{
    (void)state;
    struct k_process *srv = h_proc("server", 0), *cli = h_proc("client", 0);
    uint32_t raw, facet, snull;
    assert_int_equal(ep_create(srv, &raw), 0);
    assert_int_equal(ep_mint_client(srv, raw, cli, 7, &facet), 0);
    assert_int_equal(nullcap_grant(srv, &snull), 0);
    struct k_thread *main_t;
    assert_int_equal(k_thread_create(cli, h_never_runs, NULL, &main_t), 0);

    uint8_t *sbuf;
    CapSqe rs = h_recv(srv, raw, 100, 256, &sbuf);
    *h_sqe(srv) = rs;
    h_submit(srv);
    assert_int_equal(h_enter(srv), 0);

    CapRing *ra;
    struct k_thread *a = h_ring_thread(cli, &ra);
    struct k_tref old = k_thread_ref(a);
    uint8_t *params = h_alloc(cli, 16);
    memcpy(params, "late", 4);
    uint8_t *res = h_alloc(cli, 128);
    memset(res, 0xa5, 128);
    CapSqe call = h_call(facet, 3, 55);
    call.addr = h_va(cli, params);
    call.len = 4;
    call.result_addr = h_va(cli, res);
    call.result_len = 128;
    h_ring_push(ra, &call);
    assert_int_equal(k_ring_submit_thread(a), 1);
    assert_int_equal(a->ring.cq_reserved, 1);
    CapCqe got;
    assert_true(h_cqe(srv, &got));
    assert_int_equal(got.user_data, 100);
    uint32_t call_id = got.call_id;

    /* A exits; C takes its slot with the next generation. */
    k_thread_kill(a);
    k_sched_reap();
    assert_null(k_ring_resolve(cli, old));
    struct k_thread *c;
    assert_int_equal(k_thread_create(cli, h_never_runs, NULL, &c), 0);
    assert_int_equal(c->stack_slot, old.slot);
    assert_int_equal(c->gen, old.gen + 1);
    assert_int_equal(k_thread_attach_ring(c, h_va(cli, ra)), 0);
    assert_null(k_ring_resolve(cli, old));
    assert_ptr_equal(k_ring_resolve(cli, k_thread_ref(c)), &c->ring);

    uint32_t live = h_live(cli), slive = h_live(srv);
    uint8_t *reply = h_alloc(srv, 64);
    memcpy(reply, "reply", 5);
    CapTransferDescriptor *d = (CapTransferDescriptor *)(reply + CAP_ALIGN8(5));
    d->cap_id = snull;
    d->mode = CAP_XFER_COPY;
    CapSqe ret = {.opcode = CAP_OP_RETURN,
                  .cap_id = raw,
                  .call_id = call_id,
                  .user_data = 101,
                  .addr = h_va(srv, reply),
                  .len = 5,
                  .xfer_cap_count = 1};
    assert_int_equal(h_one(srv, &ret).result, CAP_ERR_DISCONNECTED);

    CapCqe none;
    assert_false(h_ring_pop(ra, &none));
    assert_int_equal(c->ring.cq_tail, 0);
    assert_int_equal(c->ring.cq_reserved, 0);
    for (int i = 0; i < 128; i++)
        assert_int_equal(res[i], 0xa5);
    assert_int_equal(h_live(cli), live);
    assert_int_equal(h_live(srv), slive);
    assert_int_equal(cli->stale_drops, 1);
    assert_int_equal(k.stats.stale_dropped, 1);
    /* Nothing went to the process ring either. */
    assert_false(h_cqe(cli, &none));

    /* C's own traffic is unaffected. */
    CapSqe nop = h_nop(9);
    h_ring_push(ra, &nop);
    assert_int_equal(k_ring_submit_thread(c), 1);
    assert_true(h_ring_pop(ra, &got));
    assert_int_equal(got.user_data, 9);
    assert_int_equal(k_process_check(cli), 0);
}

/* A call not yet received when its thread exits is withdrawn (its moved
 * cap goes back), a receive the thread posted is withdrawn (a later call
 * waits for another receive), and a timer sleep it started is cancelled:
 * none completes anywhere. */
static void thread_exit_withdraws_its_rings_undelivered_work(void **state)
{
    (void)state;
    struct k_process *srv = h_proc("server", 0), *cli = h_proc("client", 0);
    uint32_t raw, facet, craw, cfacet, null, timer;
    assert_int_equal(ep_create(srv, &raw), 0);
    assert_int_equal(ep_mint_client(srv, raw, cli, 7, &facet), 0);
    assert_int_equal(ep_create(cli, &craw), 0);
    assert_int_equal(ep_mint_client(cli, craw, srv, 8, &cfacet), 0);
    assert_int_equal(nullcap_grant(cli, &null), 0);
    assert_int_equal(timercap_grant(cli, &timer), 0);
    struct k_thread *main_t;
    assert_int_equal(k_thread_create(cli, h_never_runs, NULL, &main_t), 0);
    CapRing *ra;
    struct k_thread *a = h_ring_thread(cli, &ra);

    uint8_t *buf = h_alloc(cli, 256);
    CapTransferDescriptor *d = (CapTransferDescriptor *)buf;
    d->cap_id = null;
    d->mode = CAP_XFER_MOVE;
    CapSqe call = h_call(facet, 1, 1);
    call.addr = h_va(cli, buf);
    call.xfer_cap_count = 1;
    h_ring_push(ra, &call);
    CapSqe recv = {.opcode = CAP_OP_RECV,
                   .cap_id = craw,
                   .user_data = 2,
                   .result_addr = h_va(cli, buf + 64),
                   .result_len = 128};
    h_ring_push(ra, &recv);
    capnp_builder b;
    capnp_struct_builder root;
    h_msg(cli, &b, 64);
    assert_int_equal(capnp_init_root(&b, 1, 0, &root), 0);
    capnp_set_u64(&root, 0, 1000000, 0);
    CapSqe sleep =
        h_call_msg(cli, timer, CAPOS_TIMER_SLEEP_METHOD_ID, 3, &b, 0, NULL);
    h_ring_push(ra, &sleep);
    assert_int_equal(k_ring_submit_thread(a), 3);
    assert_int_equal(a->ring.cq_reserved, 3);
    /* The moved cap's slot is reserved while the call is in flight. */
    assert_null(ct_lookup(&cli->caps, null));

    k_thread_kill(a);
    k_sched_reap();
    /* The moved cap is back in the caller's slot; nothing is pending. */
    assert_non_null(ct_lookup(&cli->caps, null));
    assert_null(cli->calls_out);
    assert_null(cli->recvs_out);
    assert_null(cli->pending);
    assert_int_equal(k_timer_next_deadline(), UINT64_MAX);
    /* The server finds no call; a call to the client's endpoint waits for
     * a receive instead of landing in the withdrawn one. */
    uint8_t *sb;
    CapSqe srecv = h_recv(srv, raw, 4, 256, &sb);
    *h_sqe(srv) = srecv;
    CapSqe scall = h_call(cfacet, 0, 5);
    *h_sqe(srv) = scall;
    h_submit(srv);
    assert_int_equal(h_enter(srv), 0);
    assert_int_equal(k.stats.stale_dropped, 0);
    CapCqe none;
    assert_false(h_ring_pop(ra, &none));
    assert_int_equal(k_process_check(cli), 0);
}

/* ---- sibling rings, adversarial order --------------------------------- */

#define NT 4
#define NM 24
#define MSG_MAGIC 0x7e11c0deu

struct msg {
    uint32_t magic, thread, seq, pad;
};

static uint64_t rng;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/*
 * NT sibling threads, each on its own ring, make NM endpoint calls each,
 * a few at a time; the server answers every batch in a seeded shuffled
 * order and the threads' CQs are drained in a shuffled order at shuffled
 * times. Every completion arrives exactly once, on the ring of the
 * thread that made the call, with that call's own reply; the process
 * ring sees none.
 */
static void sibling_rings_get_each_completion_once(void **state)
{
    (void)state;
    rng = 0x9e3779b97f4a7c15u ^ k.cfg.seed;
    struct k_process *srv = h_proc("server", 0), *cli = h_proc("client", 0);
    uint32_t raw, facet;
    assert_int_equal(ep_create(srv, &raw), 0);
    assert_int_equal(ep_mint_client(srv, raw, cli, 7, &facet), 0);
    struct k_thread *main_t;
    assert_int_equal(k_thread_create(cli, h_never_runs, NULL, &main_t), 0);
    struct k_thread *t[NT];
    CapRing *r[NT];
    struct msg *in[NT], *out[NT];
    for (int i = 0; i < NT; i++) {
        t[i] = h_ring_thread(cli, &r[i]);
        in[i] = h_alloc(cli, NM * sizeof(struct msg));
        out[i] = h_alloc(cli, NM * sizeof(struct msg));
    }
    uint32_t sent[NT] = {0}, got[NT] = {0};
    uint8_t seen[NT][NM];
    memset(seen, 0, sizeof seen);
    uint8_t *rbuf = h_alloc(srv, 128), *pbuf = h_alloc(srv, 64);
    bool recv_out = false;
    unsigned reorders = 0, rounds = 0;

    while (1) {
        bool all = true;
        for (int i = 0; i < NT; i++)
            all = all && got[i] == NM;
        if (all)
            break;
        assert_true(++rounds < 1000);
        /* Clients: each, in a shuffled order, submits 0..3 calls. */
        unsigned order[NT];
        for (unsigned i = 0; i < NT; i++)
            order[i] = i;
        for (unsigned i = NT; i > 1; i--) {
            unsigned j = next_rand() % i, x = order[i - 1];
            order[i - 1] = order[j];
            order[j] = x;
        }
        for (unsigned o = 0; o < NT; o++) {
            unsigned i = order[o];
            unsigned n = next_rand() % 4;
            for (unsigned k2 = 0;
                 k2 < n && sent[i] < NM && sent[i] - got[i] < 12; k2++) {
                uint32_t seq = sent[i]++;
                in[i][seq] = (struct msg){MSG_MAGIC, i, seq, 0};
                CapSqe s = h_call(facet, 1, (uint64_t)i << 32 | seq);
                s.addr = h_va(cli, &in[i][seq]);
                s.len = sizeof(struct msg);
                s.result_addr = h_va(cli, &out[i][seq]);
                s.result_len = sizeof(struct msg);
                h_ring_push(r[i], &s);
            }
            assert_true(k_ring_submit_thread(t[i]) >= 0);
        }
        /* Server: receive everything queued. */
        struct {
            uint32_t call_id;
            struct msg m;
        } batch[NT * 12];
        unsigned nb = 0;
        for (;;) {
            if (!recv_out) {
                CapSqe s = {.opcode = CAP_OP_RECV,
                            .cap_id = raw,
                            .user_data = 1,
                            .result_addr = h_va(srv, rbuf),
                            .result_len = 128};
                *h_sqe(srv) = s;
                h_submit(srv);
                assert_true(h_enter(srv) >= 0);
                recv_out = true;
            }
            CapCqe c;
            if (!h_cqe(srv, &c))
                break;
            assert_int_equal(c.user_data, 1);
            assert_int_equal(c.result, (int)(sizeof(EndpointMessageHeader) +
                                             sizeof(struct msg)));
            batch[nb].call_id = c.call_id;
            memcpy(&batch[nb].m, rbuf + sizeof(EndpointMessageHeader),
                   sizeof(struct msg));
            nb++;
            recv_out = false;
        }
        /* ... and answer in a shuffled order, each reply tagged. */
        for (unsigned i = nb; i > 1; i--) {
            unsigned j = next_rand() % i;
            if (j != i - 1)
                reorders++;
            __typeof__(batch[0]) x = batch[i - 1];
            batch[i - 1] = batch[j];
            batch[j] = x;
        }
        for (unsigned i = 0; i < nb; i++) {
            struct msg m = batch[i].m;
            m.pad = ~m.seq;
            memcpy(pbuf, &m, sizeof m);
            CapSqe s = {.opcode = CAP_OP_RETURN,
                        .cap_id = raw,
                        .user_data = 2,
                        .call_id = batch[i].call_id,
                        .addr = h_va(srv, pbuf),
                        .len = sizeof m};
            assert_int_equal(h_one(srv, &s).result, 0);
        }
        /* Clients drain: a shuffled subset now, the rest later. */
        for (unsigned i = 0; i < NT; i++) {
            if (next_rand() % 3 == 0 && rounds % 5)
                continue;
            CapCqe c;
            while (h_ring_pop(r[i], &c)) {
                uint32_t th = (uint32_t)(c.user_data >> 32);
                uint32_t seq = (uint32_t)c.user_data;
                assert_int_equal(th, i);
                assert_true(seq < sent[i]);
                assert_int_equal(seen[i][seq], 0);
                seen[i][seq] = 1;
                assert_int_equal(c.result, (int)sizeof(struct msg));
                assert_int_equal(out[i][seq].magic, MSG_MAGIC);
                assert_int_equal(out[i][seq].thread, i);
                assert_int_equal(out[i][seq].seq, seq);
                assert_int_equal(out[i][seq].pad, ~seq);
                got[i]++;
            }
        }
    }
    assert_true(reorders > 0);
    CapCqe none;
    assert_false(h_cqe(cli, &none));
    for (int i = 0; i < NT; i++) {
        assert_int_equal(t[i]->ring.cq_reserved, 0);
        assert_int_equal(t[i]->ring.cq_tail, NM);
    }
    assert_int_equal(cli->rs.cq_tail, 0);
    assert_int_equal(k.stats.stale_dropped, 0);
}

/* ---- exits with threads parked on their own rings -------------------- */

/* Parks on its own ring (submitted, not waited for), then returns. */
static void child_parks_then_exits(void *arg)
{
    CapRing *r = g.ring[(uintptr_t)arg];
    CapSqe s = h_park(g.ps, k_user_vaddr(k_current()->proc, g.word), 0, 77);
    h_ring_push(r, &s);
    if (k_sys_cap_enter(0, 0) != 0)
        g.bad++;
    g.parked++;
}

static void park_exit_main(void *arg)
{
    struct k_process *p = arg;
    g.ring[0] = h_ring_page(p);
    g.word = h_alloc(p, 4);
    uint8_t *rb;
    CapSqe s = spawn_sqe(p, g.ts, child_parks_then_exits, 0, h_va(p, g.ring[0]),
                         0, &rb);
    CapCqe c = h_one_wait(p, &s);
    uint32_t th = spawned_handle(rb, &c);
    CapSqe j = join_sqe(p, th, 2, NULL);
    c = h_one_wait(p, &j);
    if (c.result <= 0)
        g.bad++;
    /* The child's waiter went with it: nobody is left to wake. */
    CapSqe u = h_unpark(g.ps, h_va(p, g.word), 1, 3);
    c = h_one_wait(p, &u);
    g.woken = (uint32_t)c.result;
    CapCqe x;
    if (h_cqe(p, &x))
        g.bad++;
}

static void thread_exit_while_parked_on_its_own_ring(void **state)
{
    (void)state;
    struct k_process *p = spawner_proc();
    assert_int_equal(parkspace_grant(p, &g.ps), 0);
    run_clean(p, park_exit_main);
    assert_int_equal(g.parked, 1);
    assert_int_equal(g.woken, 0);
    assert_int_equal(k.stats.stale_dropped, 0);
}

/* ---- ThreadControl.exit on the thread's own ring ---------------------- */

/* Parks (submitted), then joins its sibling on its own ring (pending),
 * then calls ThreadControl.exit(7) on its own ring. */
static void child_exits_by_control(void *arg)
{
    struct k_thread *t = k_current();
    struct k_process *p = t->proc;
    CapRing *r = g.ring[(uintptr_t)arg];
    CapSqe s = h_park(g.ps, k_user_vaddr(p, g.word), 0, 1);
    h_ring_push(r, &s);
    CapSqe j = join_sqe(p, g.facet /* the sibling's handle */, 2, NULL);
    h_ring_push(r, &j);
    if (k_sys_cap_enter(0, 0) != 0)
        g.bad++;
    if (t->ring.cq_reserved != 2)
        g.bad++;
    uint8_t *eb = h_alloc(p, 64);
    capnp_builder b;
    capnp_struct_builder root;
    capnp_builder_init(&b, eb, 64);
    capnp_init_root(&b, 1, 0, &root);
    capnp_set_i64(&root, 0, 7, 0);
    size_t len = 0;
    capnp_finish(&b, &len);
    CapSqe e = h_call(g.null /* ThreadControl */,
                      CAPOS_THREAD_CONTROL_EXIT_METHOD_ID, 3);
    e.addr = k_user_vaddr(p, eb);
    e.len = (uint32_t)len;
    h_ring_push(r, &e);
    k_sys_cap_enter(0, 0);
    g.bad++; /* exit returned */
}

/* Waits for g.parked, then returns. */
static void sibling_waits(void *arg)
{
    (void)arg;
    while (!g.parked)
        k_sched_yield();
}

static void control_exit_main(void *arg)
{
    struct k_process *p = arg;
    g.word = h_alloc(p, 4);
    uint8_t *rb;
    CapSqe s = spawn_sqe(p, g.ts, sibling_waits, 0, 0, 0, &rb);
    CapCqe c = h_one_wait(p, &s);
    g.facet = spawned_handle(rb, &c);
    g.ring[0] = h_ring_page(p);
    s = spawn_sqe(p, g.ts, child_exits_by_control, 0, h_va(p, g.ring[0]), 0,
                  &rb);
    c = h_one_wait(p, &s);
    uint32_t th = spawned_handle(rb, &c);
    uint8_t *jb;
    CapSqe j = join_sqe(p, th, 4, &jb);
    c = h_one_wait(p, &j);
    if (c.result <= 0)
        g.bad++;
    capnp_message m;
    capnp_struct root;
    if (capnp_msg_init(&m, jb, (size_t)c.result, NULL) != 0 ||
        capnp_msg_root(&m, &root) != 0 ||
        capos_ThreadHandle_join_Results_get_exitCode(&root) != 7)
        g.bad++;
    /* Its PARK went with it; its join was withdrawn, so the sibling's
     * handle can be joined again, here. */
    CapSqe u = h_unpark(g.ps, h_va(p, g.word), UINT32_MAX, 5);
    g.woken = (uint32_t)h_one_wait(p, &u).result;
    g.parked = 1;
    j = h_call(g.facet, CAPOS_THREAD_HANDLE_JOIN_METHOD_ID, 6);
    j.result_addr = h_va(p, jb);
    j.result_len = 64;
    c = h_one_wait(p, &j);
    if (c.result <= 0)
        g.bad++;
}

static void control_exit_on_its_own_ring_releases_its_ring(void **state)
{
    (void)state;
    struct k_process *p = spawner_proc();
    assert_int_equal(threadcontrol_grant(p, &g.null), 0);
    assert_int_equal(parkspace_grant(p, &g.ps), 0);
    run_clean(p, control_exit_main);
    assert_int_equal(g.woken, 0);
    assert_int_equal(k.stats.stale_dropped, 0);
}

/* Blocks in cap_enter on its own ring: parked, a call outstanding to the
 * server. */
static void child_blocks(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    struct k_process *p = k_current()->proc;
    CapRing *r = g.ring[i];
    CapSqe s = h_park(g.ps, k_user_vaddr(p, g.word), 0, 1);
    h_ring_push(r, &s);
    if (i == 1) {
        CapSqe c = h_call(g.facet, 1, 2);
        h_ring_push(r, &c);
    }
    g.parked++;
    k_sys_cap_enter(CAP_CQ_ENTRIES, CAP_TIMEOUT_INFINITE);
    g.bad++; /* never woken: the process exits */
}

static void blocked_main(void *arg)
{
    struct k_process *p = arg;
    g.word = h_alloc(p, 4);
    for (uintptr_t i = 0; i < 3; i++) {
        g.ring[i] = h_ring_page(p);
        uint8_t *rb;
        CapSqe s =
            spawn_sqe(p, g.ts, child_blocks, i, h_va(p, g.ring[i]), 0, &rb);
        CapCqe c = h_one_wait(p, &s);
        spawned_handle(rb, &c); /* kept: released at exit */
    }
    /* Wait for a completion that never comes. */
    k_sys_cap_enter(1, CAP_TIMEOUT_INFINITE);
    g.bad++;
}

static void process_exit_with_threads_parked_releases_everything(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    struct k_process *srv = h_proc("server", 0), *p = h_proc("p", 0);
    uint32_t raw;
    assert_int_equal(ep_create(srv, &raw), 0);
    assert_int_equal(ep_mint_client(srv, raw, p, 7, &g.facet), 0);
    assert_int_equal(threadspawner_grant(p, &g.ts), 0);
    assert_int_equal(parkspace_grant(p, &g.ps), 0);
    assert_int_equal(k_thread_create(p, blocked_main, p, NULL), 0);
    uint32_t objects = k.stats.objects_live;
    assert_int_equal(k_run(), 4);
    assert_int_equal(g.parked, 3);
    assert_int_equal(g.bad, 0);
    assert_non_null(p->pending);
    assert_non_null(p->calls_out);

    /* The server has taken the call; then the process dies. */
    uint8_t *sb;
    CapSqe rs = h_recv(srv, raw, 1, 256, &sb);
    CapCqe c = h_one(srv, &rs);
    assert_true(c.result > 0);
    k_process_exit(p, 3);
    assert_int_equal(k_run(), 0);
    assert_int_equal(p->exit_code, 3);
    assert_int_equal(k.stats.threads_live, 0);
    assert_null(p->pending);
    assert_null(p->calls_out);
    assert_int_equal(k_process_check(p), 0);
    for (uint32_t i = 0; i < K_MAX_THREADS; i++)
        assert_null(p->tslot[i]);
    /* p's caps (spawner, park space, handles, facet) are all gone. */
    assert_true(k.stats.objects_live < objects);
    CapSqe ret = {.opcode = CAP_OP_RETURN,
                  .cap_id = raw,
                  .call_id = c.call_id,
                  .user_data = 2};
    assert_int_equal(h_one(srv, &ret).result, CAP_ERR_DISCONNECTED);
    assert_int_equal(k.stats.stale_dropped, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            spawn_with_a_ring_gives_the_thread_its_own_ring, setup, h_teardown),
        cmocka_unit_test_setup_teardown(spawn_refuses_bad_ring_pages, setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(
            a_late_reply_to_an_exited_thread_is_dropped, setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            thread_exit_withdraws_its_rings_undelivered_work, setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(sibling_rings_get_each_completion_once,
                                        setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            thread_exit_while_parked_on_its_own_ring, setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            control_exit_on_its_own_ring_releases_its_ring, setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            process_exit_with_threads_parked_releases_everything, setup,
            h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
