/*
 * metal/x86_64/mbench.c - figures of the model on bare metal (boot option
 * `bench`, run by make qemu-bench): a NOP through the ring, one and
 * sixteen per cap_enter, and an endpoint round trip between two
 * processes. Each figure is REPS timed runs of OPS operations; it prints
 * ns per operation as min / median / max over the runs.
 *
 * The host context drives both processes' rings directly (as the fuzzer's
 * harness does), so a round trip is: A's CALL and B's RECV meet in A's
 * cap_enter, B's RETURN (with its next RECV) completes A's CALL in B's.
 * No fiber switch is in the figures; under TCG they are emulated time.
 */
#include <stddef.h>
#include <stdint.h>

#include "kmodel.h"
#include "metal.h"

#define MB_REPS 5u
#define MB_OPS 20000u
#define MB_RES_A (CAPOS_HEAP_VADDR + 0x1000u)
#define MB_RES_B (CAPOS_HEAP_VADDR + 0x2000u)

struct mb_sys {
    struct k_process *a, *b;
    uint32_t a_null, a_to_b, b_ep;
};

static void mb_push(struct k_process *p, CapSqe s)
{
    CapRingHeader *h = &p->ring->hdr;

    p->ring->sq[h->sq_tail & (CAP_SQ_ENTRIES - 1)] = s;
    h->sq_tail++;
}

/* Consume every CQE; the last one in *last; how many there were. */
static unsigned mb_drain(struct k_process *p, CapCqe *last)
{
    CapRingHeader *h = &p->ring->hdr;
    unsigned n = 0;

    for (; h->cq_head != p->rs.cq_tail; h->cq_head++, n++)
        if (last != NULL)
            *last = p->ring->cq[h->cq_head & (CAP_CQ_ENTRIES - 1)];
    return n;
}

static bool mb_setup(struct mb_sys *s)
{
    struct k_config cfg = {.seed = 1};
    struct k_process_opts o = {.arena_size = 256u << 10,
                               .cap_slots = 16,
                               .max_threads = 2,
                               .stack_size = 32u << 10};

    if (k_init(&cfg) != 0)
        return false;
    o.name = "bench-a";
    s->a = k_process_create(&o);
    o.name = "bench-b";
    s->b = k_process_create(&o);
    return s->a != NULL && s->b != NULL &&
           nullcap_grant(s->a, &s->a_null) == 0 &&
           ep_create(s->b, &s->b_ep) == 0 &&
           ep_mint_client(s->b, s->b_ep, s->a, 7, &s->a_to_b) == 0;
}

/* ops NOPs, batch per cap_enter; false on a short or failed enter. */
static bool mb_nops(struct mb_sys *s, unsigned batch, uint64_t ops)
{
    for (uint64_t i = 0; i < ops; i += batch) {
        for (unsigned b = 0; b < batch; b++)
            mb_push(s->a, (CapSqe){.opcode = CAP_OP_NOP, .user_data = b});
        if (k_cap_enter(s->a, batch, 0) < (int)batch ||
            mb_drain(s->a, NULL) != batch)
            return false;
    }
    return true;
}

/* ops round trips A -> B -> A; B's RECV is posted before the first. */
static bool mb_roundtrips(struct mb_sys *s, uint64_t ops)
{
    CapCqe c;

    mb_push(s->b, (CapSqe){.opcode = CAP_OP_RECV, .cap_id = s->b_ep,
                           .result_addr = MB_RES_B, .result_len = 512});
    if (k_cap_enter(s->b, 0, 0) < 0)
        return false;
    for (uint64_t i = 0; i < ops; i++) {
        mb_push(s->a, (CapSqe){.opcode = CAP_OP_CALL, .cap_id = s->a_to_b,
                               .user_data = i, .result_addr = MB_RES_A,
                               .result_len = 128});
        if (k_cap_enter(s->a, 0, 0) < 0 || mb_drain(s->b, &c) != 1 ||
            c.result < 0)
            return false;
        mb_push(s->b, (CapSqe){.opcode = CAP_OP_RETURN, .cap_id = s->b_ep,
                               .call_id = c.call_id});
        mb_push(s->b, (CapSqe){.opcode = CAP_OP_RECV, .cap_id = s->b_ep,
                               .result_addr = MB_RES_B, .result_len = 512});
        if (k_cap_enter(s->b, 0, 0) < 0 || mb_drain(s->b, NULL) != 1 ||
            mb_drain(s->a, &c) != 1 || c.result < 0)
            return false;
    }
    return true;
}

static void mb_sort(uint64_t *v, unsigned n)
{
    for (unsigned i = 1; i < n; i++)
        for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

/* One figure: REPS runs of fn; prints ns/op min median max. */
static bool mb_figure(struct mb_sys *s, const char *name, unsigned batch)
{
    uint64_t ns[MB_REPS];

    for (unsigned r = 0; r < MB_REPS; r++) {
        uint64_t t0 = port_clock_ns();
        bool ok = batch ? mb_nops(s, batch, MB_OPS) : mb_roundtrips(s, MB_OPS);
        if (!ok) {
            serial_printf("bench: %s: a cap_enter failed\n", name);
            return false;
        }
        ns[r] = (port_clock_ns() - t0) * 10u / MB_OPS; /* tenths of ns */
    }
    mb_sort(ns, MB_REPS);
    serial_printf("bench: %-20s %llu.%llu / %llu.%llu / %llu.%llu ns/op "
                 "(min / median / max of %u x %u)\n",
                 name, (unsigned long long)(ns[0] / 10),
                 (unsigned long long)(ns[0] % 10),
                 (unsigned long long)(ns[MB_REPS / 2] / 10),
                 (unsigned long long)(ns[MB_REPS / 2] % 10),
                 (unsigned long long)(ns[MB_REPS - 1] / 10),
                 (unsigned long long)(ns[MB_REPS - 1] % 10), MB_REPS, MB_OPS);
    return true;
}

int mbench_run(void)
{
    struct mb_sys s = {0};
    bool ok = mb_setup(&s);

    if (!ok)
        serial_printf("bench: setting up the two processes failed\n");
    ok = ok && mb_figure(&s, "ring_nop_batch1", 1) &&
         mb_figure(&s, "ring_nop_batch16", 16) &&
         mb_figure(&s, "endpoint_roundtrip", 0);
    k_shutdown();
    return ok ? 0 : 1;
}
