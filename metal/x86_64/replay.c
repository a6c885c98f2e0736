/*
 * metal/x86_64/replay.c - replay one ring_dispatch input and digest what
 * the model posted (replay.h). Freestanding: it reaches the model through
 * kmodel.h only and runs unchanged on both ports.
 *
 * The system is ring_dispatch's (tests/fuzz/ring_dispatch.c) without the
 * network: processes A and B with their null caps, endpoints and client
 * facets (the same CapIds, checked), and thread T of A with its own ring.
 * The script steps mean what they mean there, except that a step's net
 * byte is ignored and no network cap is granted, so what the model does
 * depends on the input alone, never on a host socket. The fuzzer's
 * invariant checks are not repeated: this is a differential check; both
 * ports must post the same completions.
 *
 * The digest covers, in order: the result of every cap_enter and thread
 * submit, every CQE each ring gained (its 32 bytes), then A's and B's
 * heap pages (result payloads) and the census before shutdown. Messages
 * use snprintf: libc's hosted, the port's C library on metal.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kmodel.h"
#include "replay.h"
#include "ring_dispatch_state.h"

struct replay_ring {
    struct k_ring_state *rs; /* NULL: gone */
    uint32_t seen;           /* CQEs up to here are in the digest */
};

struct replay {
    struct k_process *p[2];
    struct k_thread *t;
    struct replay_ring ring[3]; /* A, B, T */
    uint64_t h;
    struct replay_result *out;
};

static void replay_mix(struct replay *r, const void *data, size_t n)
{
    const uint8_t *b = data;

    for (size_t i = 0; i < n; i++) {
        r->h ^= b[i];
        r->h *= 0x100000001b3ull;
    }
}

static void replay_mix_int(struct replay *r, int64_t v)
{
    replay_mix(r, &v, sizeof v);
}

/* Take every CQE a ring gained since the last look into the digest. The
 * rings of a process that exited went with its arena (T's with A's). */
static void replay_collect(struct replay *r)
{
    for (unsigned i = 0; i < 2; i++)
        if (r->p[i]->state != KP_ALIVE)
            r->ring[i].rs = NULL;
    if (r->ring[0].rs == NULL || r->t == NULL) {
        r->t = NULL;
        r->ring[2].rs = NULL;
    }
    for (unsigned i = 0; i < 3; i++) {
        struct replay_ring *q = &r->ring[i];

        if (q->rs == NULL)
            continue;
        for (; q->seen != q->rs->cq_tail; q->seen++) {
            const CapCqe *c = &q->rs->page->cq[q->seen & (CAP_CQ_ENTRIES - 1)];
            replay_mix_int(r, i);
            replay_mix(r, c, sizeof *c);
            r->out->cqes++;
        }
    }
}

static bool replay_grants(struct replay *r, char *err, size_t errcap)
{
    struct k_process *a = r->p[0], *b = r->p[1];
    uint32_t id[7] = {0};
    static const uint32_t want[7] = {A_NULL, A_EP, A_CLI_A, B_CLI_A,
                                     B_NULL, B_EP, A_CLI_B};
    int rc = nullcap_grant(a, &id[0]) | ep_create(a, &id[1]) |
             ep_mint_client(a, A_EP, a, BADGE_A_SELF, &id[2]) |
             ep_mint_client(a, A_EP, b, BADGE_B_TO_A, &id[3]) |
             nullcap_grant(b, &id[4]) | ep_create(b, &id[5]) |
             ep_mint_client(b, B_EP, a, BADGE_A_TO_B, &id[6]);

    if (rc != 0 || memcmp(id, want, sizeof id) != 0) {
        snprintf(err, errcap,
                     "setup: the model handed out other CapIds than "
                     "tests/fuzz/ring_dispatch.h names");
        return false;
    }
    /* The CapSet names ring_dispatch gives them (A's then B's). */
    static const char *const names[7] = {"null", "endpoint", "self", "peer",
                                         "peer", "null", "endpoint"};
    static const uint32_t ids[7] = {A_NULL, A_EP,   A_CLI_A, A_CLI_B,
                                    B_CLI_A, B_NULL, B_EP};
    for (unsigned i = 0; i < 7; i++)
        k_capset_add(i < 4 ? a : b, names[i], ids[i]);
    return true;
}

static void replay_never_runs(void *arg)
{
    (void)arg;
    port_panic("ring-replay: thread T was scheduled; it only has a ring");
}

/* A new T with its ring at T_RING_VADDR; false when the model refuses. */
static bool replay_thread(struct replay *r)
{
    if (k_thread_create(r->p[0], replay_never_runs, NULL, &r->t) != 0 ||
        k_thread_attach_ring(r->t, T_RING_VADDR) != 0) {
        r->t = NULL;
        r->ring[2].rs = NULL;
        return false;
    }
    r->ring[2].rs = &r->t->ring;
    r->ring[2].seen = r->t->ring.cq_tail;
    return true;
}

static bool replay_setup(struct replay *r, char *err, size_t errcap)
{
    struct k_config cfg = {.seed = FUZZ_SEED, .virtual_clock = true};
    static const char *const names[2] = {"A", "B"};

    if (k_init(&cfg) != 0) {
        snprintf(err, errcap, "k_init failed");
        return false;
    }
    for (unsigned i = 0; i < 2; i++) {
        struct k_process_opts o = {.name = names[i],
                                   .arena_size = ARENA_SIZE,
                                   .cap_slots = CAP_SLOTS,
                                   .max_threads = MAX_THREADS,
                                   .stack_size = STACK_SIZE};
        r->p[i] = k_process_create(&o);
        if (r->p[i] == NULL) {
            snprintf(err, errcap,
                         "k_process_create failed");
            return false;
        }
        r->ring[i].rs = &r->p[i]->rs;
    }
    if (!replay_grants(r, err, errcap))
        return false;
    if (!replay_thread(r)) {
        snprintf(err, errcap,
                     "setup: thread T with a ring failed");
        return false;
    }
    return true;
}

/* Copy up to a CHUNK of the input at off into p's arena at vaddr. */
static void replay_load(struct k_process *p, uint64_t vaddr,
                        const uint8_t *data, size_t size, size_t off)
{
    uint8_t *dst = k_user_ptr(p, vaddr, CHUNK);
    size_t n;

    if (size <= off || dst == NULL)
        return;
    n = size - off < CHUNK ? size - off : CHUNK;
    memcpy(dst, data + off, n);
    memset(dst + n, 0, CHUNK - n);
}

/* What a user thread does before cap_enter: move cq_head, copy SQE
 * templates from A's or the process's heap, publish sq_tail. */
static void replay_user(struct k_process *heap_of, CapRing *page,
                        uint32_t cq_tail, const struct step *st)
{
    CapRingHeader *hdr = &page->hdr;

    if (st->op & OP_CONSUME_ALL)
        hdr->cq_head = cq_tail;
    if (st->op & OP_CQ_ADV)
        hdr->cq_head += st->cq_adv;
    if (st->op & OP_LOAD) {
        uint32_t n = st->nload < CAP_SQ_ENTRIES ? st->nload : CAP_SQ_ENTRIES;
        const CapSqe *src = k_user_ptr(
            heap_of, CAPOS_HEAP_VADDR + (uint64_t)st->load_idx * sizeof(CapSqe),
            (uint64_t)n * sizeof(CapSqe));
        for (uint32_t i = 0; src && i < n; i++)
            page->sq[(hdr->sq_tail + i) & (CAP_SQ_ENTRIES - 1)] = src[i];
    }
    hdr->sq_tail += st->sq_adv;
}

static void replay_thread_step(struct replay *r, const struct step *st)
{
    if (r->t == NULL || r->p[0]->state != KP_ALIVE)
        return;
    if (st->op & OP_EXIT) {
        replay_collect(r);
        k_thread_kill(r->t);
        k_sched_reap();
        replay_mix_int(r, replay_thread(r) ? 1 : 0);
        return;
    }
    replay_user(r->p[0], r->t->ring.page, r->t->ring.cq_tail, st);
    if (!(st->op & OP_NO_ENTER))
        replay_mix_int(r, k_ring_submit_thread(r->t));
}

static void replay_step(struct replay *r, const struct step *st)
{
    unsigned i = st->op & OP_B ? 1 : 0;
    struct k_process *p = r->p[i];

    if (st->op & OP_THREAD) {
        replay_thread_step(r, st);
        return;
    }
    if (p->state == KP_ALIVE && (st->op & OP_EXIT)) {
        replay_collect(r);
        k_process_exit(p, 1);
        if (i == 0)
            k_sched_reap();
        return;
    }
    if (p->state == KP_ALIVE)
        replay_user(p, p->ring, p->rs.cq_tail, st);
    if (!(st->op & OP_NO_ENTER))
        replay_mix_int(r, k_cap_enter(p, st->min_complete, 0));
}

/* The script: from the input (never from the ring page, which is user
 * memory), or ring_dispatch's default when its first step is empty. */
static void replay_script(const uint8_t *data, size_t size,
                          struct step script[SCRIPT_MAX])
{
    memset(script, 0, SCRIPT_MAX * sizeof script[0]);
    if (size > SCRIPT_OFF) {
        size_t n = size - SCRIPT_OFF;
        if (n > SCRIPT_MAX * sizeof script[0])
            n = SCRIPT_MAX * sizeof script[0];
        memcpy(script, data + SCRIPT_OFF, n);
    }
    if (script[0].op != 0)
        return;
    /* Enter A, enter B, then each again after consuming its CQ. */
    for (unsigned i = 0; i < 4; i++)
        script[i].op = (uint8_t)(OP_PLAIN | (i & 1 ? OP_B : 0) |
                                 (i >= 2 ? OP_CONSUME_ALL : 0));
}

/* Heaps and census into the digest, then shut the model down; false if
 * anything outlived the shutdown. */
static bool replay_finish(struct replay *r, char *err, size_t errcap)
{
    for (unsigned i = 0; i < 2; i++) {
        const uint8_t *heap = r->p[i]->state == KP_ALIVE
                                  ? k_user_ptr(r->p[i], CAPOS_HEAP_VADDR, CHUNK)
                                  : NULL;
        if (heap != NULL)
            replay_mix(r, heap, CHUNK);
    }
    replay_mix_int(r, k.stats.objects_live);
    replay_mix_int(r, k.stats.threads_live);
    replay_mix_int(r, k.stats.processes_live);
    r->out->digest = r->h;
    k_shutdown();
    if (k.stats.objects_live || k.stats.threads_live ||
        k.stats.processes_live) {
        snprintf(err, errcap,
                     "left alive after shutdown: %u objects, %u threads, "
                     "%u processes",
                     k.stats.objects_live, k.stats.threads_live,
                     k.stats.processes_live);
        return false;
    }
    return true;
}

int replay_input(const uint8_t *data, size_t size, struct replay_result *out,
                 char *err, size_t errcap)
{
    struct replay r = {.h = 0xcbf29ce484222325ull, .out = out};
    struct step script[SCRIPT_MAX];

    *out = (struct replay_result){0};
    if (size > INPUT_MAX)
        size = INPUT_MAX;
    if (!replay_setup(&r, err, errcap)) {
        k_shutdown();
        return -1;
    }
    replay_load(r.p[0], CAPOS_RING_VADDR, data, size, OFF_A_RING);
    replay_load(r.p[0], CAPOS_HEAP_VADDR, data, size, OFF_A_HEAP);
    replay_load(r.p[1], CAPOS_RING_VADDR, data, size, OFF_B_RING);
    replay_load(r.p[1], CAPOS_HEAP_VADDR, data, size, OFF_B_HEAP);
    replay_load(r.p[0], T_RING_VADDR, data, size, OFF_T_RING);
    replay_script(data, size, script);
    for (unsigned i = 0; i < SCRIPT_MAX && script[i].op; i++) {
        replay_step(&r, &script[i]);
        replay_collect(&r);
        out->steps++;
    }
    return replay_finish(&r, err, errcap) ? 0 : -1;
}
