/*
 * ring_dispatch.h - the input format of the ring_dispatch fuzzer
 * (tests/fuzz/ring_dispatch.c): the CapIds its setup grants, where the
 * input's chunks go, and the script's step. The seed writer
 * (tests/fuzz/gen-ring-corpus.h) includes it too, so the seeds and the harness
 * cannot disagree about them. The meaning of every field is documented at
 * the top of ring_dispatch.c.
 */
#ifndef CAPOS_FUZZ_RING_DISPATCH_H
#define CAPOS_FUZZ_RING_DISPATCH_H

#include <stdint.h>

#include "capos/ring.h"

/* CapIds setup() grants (CT_INDEX_BITS = 12, generation 1). */
#define A_NULL 0x1000u
#define A_EP 0x1001u
#define A_CLI_A 0x1002u
#define A_CLI_B 0x1003u
#define B_CLI_A 0x1000u
#define B_NULL 0x1001u
#define B_EP 0x1002u
#define A_NETMGR 0x1004u
#define A_AUTH 0x1005u
#define B_AUTH 0x1003u
#define B_SPENT 0x1004u

/* Typed interfaces of setup's facets (docs/abi.md §8): B's client of A's
 * endpoint and A's client of B's; A's own client of its endpoint stays
 * untyped. A facet may be typed with any id. */
#define IFACE_B_TO_A 0xf0220000000000b1ull
#define IFACE_A_TO_B 0xf0220000000000a2ull

/* Input layout: one CHUNK each, at these offsets of the input. */
#define CHUNK 0x1000u
#define OFF_A_RING 0x0000u
#define OFF_A_HEAP 0x1000u
#define OFF_B_RING 0x2000u
#define OFF_B_HEAP 0x3000u
#define OFF_T_RING 0x4000u
#define INPUT_MAX 0x5000u

/* Script: up to SCRIPT_MAX steps in A's ring page past the CQ. */
#define SCRIPT_OFF CAP_RING_END
#define SCRIPT_MAX 16u
#define OP_B 0x01u
#define OP_CONSUME_ALL 0x02u
#define OP_CQ_ADV 0x04u
#define OP_LOAD 0x08u
#define OP_EXIT 0x10u
#define OP_NO_ENTER 0x20u
#define OP_PLAIN 0x40u
#define OP_THREAD 0x80u

/* A step's net byte. */
#define NET_CONNECT 0x01u
#define NET_SEND 0x02u
#define NET_SHUT 0x04u
#define NET_RESET 0x08u
#define NET_CLOCK 0x10u
#define NET_PUMP 0x20u

struct step {
    uint8_t op;
    uint8_t sq_adv;
    uint8_t cq_adv;
    uint8_t min_complete;
    uint8_t nload;
    uint8_t load_idx;
    uint8_t net;
    uint8_t net_arg;
};
_Static_assert(sizeof(struct step) == 8, "script step is 8 bytes");
_Static_assert(SCRIPT_OFF + SCRIPT_MAX * sizeof(struct step) <= CHUNK,
               "script fits in the ring page");

#endif
