/*
 * ring_dispatch_state.h - what the ring_dispatch fuzz target's driver
 * (ring_dispatch.c: the system, the steps, the entry point) and its
 * invariant checks (ring_dispatch_check.c) share: the system's shape, the
 * state the harness tracks per process, thread T and the network, and
 * the CHECK that reports a violated invariant. The input layout is
 * ring_dispatch.h.
 */
#ifndef CAPOS_FUZZ_RING_DISPATCH_STATE_H
#define CAPOS_FUZZ_RING_DISPATCH_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "kmodel.h"
#include "ring_dispatch.h"

/* System shape. */
#define ARENA_SIZE (256u << 10)
#define CAP_SLOTS 16u
#define MAX_THREADS 2u
#define STACK_SIZE (32u << 10)
#define FUZZ_SEED 0x5eedcafef00dull

#define BADGE_A_SELF 0xa1a1ull /* A's client of A's endpoint */
#define BADGE_B_TO_A 0xb1b1ull /* B's client of A's endpoint */
#define BADGE_A_TO_B 0xa2b2ull /* A's client of B's endpoint */

/* The network (guest ports with a forward to 127.0.0.1:0). */
#define GP_A 23u
#define GP_B 24u
#define GP_SPENT 25u
#define NGP 3u
#define IDLE_S 5u /* GP_B's idle timeout */
#define CLIENTS_MAX 2u

/* T's ring page in A's arena (input layout: ring_dispatch.h). */
#define T_RING_VADDR (CAPOS_HEAP_VADDR + 0x8000u)

/* What the harness tracks per process. */
struct hproc {
    struct k_process *p;
    const char *name;
    bool dirty;         /* user wrote the kernel-owned header indices */
    uint32_t consumed;  /* SQEs the kernel consumed (each owes one CQE) */
    uint32_t seen_tail; /* CQEs up to here have been checked */
};

extern struct hproc procs[2];

/* Thread T of A and what the harness tracks of its ring (reset when a
 * new thread takes T's slot). */
struct thr_state {
    struct k_thread *t; /* NULL once A has exited */
    bool dirty;
    uint32_t consumed;
    uint32_t gen;
};
extern struct thr_state thr;
extern bool trace; /* RING_DISPATCH_TRACE set: print steps and CQEs */
extern struct k_object *ep_raw[2];    /* A's and B's raw endpoint */
extern struct k_object *ep_client[2]; /* their client facets */

/* The labels (badge and typed interface, 0: untyped) the endpoints'
 * owners minted at run time (Endpoint.mintClient), per endpoint; reset
 * for every input. */
#define MINTED_MAX 64
struct facet_label {
    uint64_t badge;
    uint64_t iface;
};
extern struct facet_label minted[2][MINTED_MAX];
extern unsigned nminted[2];

/* The step being run (1..SCRIPT_MAX; 0 before, SCRIPT_MAX + 1 at
 * shut-down), for violation reports. */
extern unsigned step_no;

/* Network state the harness tracks per input. */
extern const uint16_t guest_ports[NGP];
enum spent { SPENT_NO, SPENT_YES, SPENT_MAYBE };
struct net_state {
    struct k_object *netmgr;
    struct k_object *auth[NGP]; /* the authority of guest_ports[i] */
    enum spent spent[NGP];
    uint64_t binds[NGP]; /* sim_net_binds after the last batch */
    int client[CLIENTS_MAX];
    unsigned nclients;  /* clients open now */
    unsigned connected; /* clients ever connected */
    /* What the batch being entered can listen with. */
    uint32_t nm_calls, unknown_calls, auth_calls[NGP];
};
extern struct net_state net;

/* Report invariant what, violated in process h (NULL: none) with values
 * a and b, and the step it was seen after; abort (libFuzzer keeps the
 * input). */
_Noreturn void violation(const char *what, const struct hproc *h, long long a,
                         long long b);

#define CHECK(cond, what, h, a, b)                                             \
    do {                                                                       \
        if (!(cond))                                                           \
            violation((what), (h), (long long)(a), (long long)(b));            \
    } while (0)

/* Every invariant of ring_dispatch.c's header comment that holds between
 * steps (ring_dispatch_check.c); a violation aborts. */
void check_all(void);

#endif /* CAPOS_FUZZ_RING_DISPATCH_STATE_H */
