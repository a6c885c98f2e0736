/*
 * gen-ring-corpus.c - writes the seed corpus of the ring_dispatch fuzzer
 * (tests/fuzz/ring_dispatch.c) to a directory.
 *
 * make check builds it (a check program, with the project's warnings)
 * and tests/fuzz/ring-corpus.sh checks that what it writes is
 * byte-identical to the committed seeds. Regenerate after changing a seed
 * (from the top of the source tree, after make check):
 *
 *   rm -f fixtures/corpus/ring_dispatch/[0-9][0-9]_*
 *   tests/fuzz/gen-ring-corpus fixtures/corpus/ring_dispatch
 *
 * Inputs that once found a model bug stay in the seed list (the last
 * ones), so the bug stays fixed.
 *
 * Output is deterministic (same bytes every run). Files whose names do
 * not start with two digits and an underscore are inputs kept from fuzzing
 * campaigns, not written here; leave them.
 *
 * Each seed is one fuzzer input: A's ring page (with the harness script at
 * CAP_RING_END), A's heap, and optionally B's ring page and heap and the
 * own ring page of A's thread T, 4 KiB each, in that order; trailing zero bytes
 * are not written (the fuzzer zero-pads). The layout and the script's step
 * format are documented at the top of tests/fuzz/ring_dispatch.c; the constants
 * below must match it.
 *
 * CapIds the fuzz harness grants (fresh model per input, so the same every
 * time; the harness aborts at setup if the model ever changes them):
 *
 *   A 0x1000 null cap                 B 0x1000 client of A's endpoint
 *   A 0x1001 A's raw endpoint                  (badge 0xb1b1, typed
 *   A 0x1002 client of A's endpoint            IFACE_B_TO_A)
 *            (badge 0xa1a1, untyped)  B 0x1001 null cap
 *   A 0x1003 client of B's endpoint   B 0x1002 B's raw endpoint
 *            (badge 0xa2b2, typed     B 0x1003 TcpListenAuthority, guest
 *            IFACE_A_TO_B)                     port 24
 *   A 0x1004 NetworkManager           B 0x1004 TcpListenAuthority, guest
 *   A 0x1005 TcpListenAuthority,               port 25, already spent
 *            guest port 23
 *
 * Guest ports 23, 24 (idle timeout 5 s) and 25 are forwarded to
 * 127.0.0.1 port 0. Cap tables have 16 slots; the next cap inserted into
 * a fresh table of A gets 0x1006 (A_FREE), of B 0x1005 (B_FREE) (free
 * slots are reused last-freed first, and a freed slot's next id has its
 * generation bumped: 0x1003 -> 0x2003).
 * Endpoint call ids start at 1 per endpoint. Null cap methods: 0 call,
 * 1 echo, 2 mint.
 *
 * This file holds the input being built and the builders of its parts
 * (ring, heap, script, SQEs) and main; the seeds themselves are in
 * gen-ring-seeds-ring.c (SQ/CQ, opcodes, null caps, bad buffers and
 * transfers), gen-ring-seeds-ep.c (endpoints, exits, regressions, thread
 * rings) and gen-ring-seeds-net.c (network and typed facets).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The harness's ids, input layout and script format, and the seed
 * builders the gen-ring-seeds-*.c files share. */
#include "gen-ring-corpus.h"

uint8_t in[INPUT_MAX];
unsigned nsteps;
static const char *outdir;
static unsigned nfiles;

CapRing *ring_of(int pr)
{
    return (CapRing *)(in + (pr == PT   ? OFF_T_RING
                             : pr == PB ? OFF_B_RING
                                        : OFF_A_RING));
}

static uint8_t *heap_of(int pr)
{
    return in + (pr == PB ? OFF_B_HEAP : OFF_A_HEAP);
}

void reset(void)
{
    memset(in, 0, sizeof in);
    nsteps = 0;
}

/* A user-side view of an untouched ring (as the kernel set it up). Only
 * the processes a seed touches get one, so B stays absent from A-only
 * seeds. */
static void ring_init(int pr)
{
    CapRing *r = ring_of(pr);
    r->hdr.sq_entries = CAP_SQ_ENTRIES;
    r->hdr.cq_entries = CAP_CQ_ENTRIES;
}

/* Append an SQE at sq_tail and publish it (initial sq_tail). */
void push(int pr, CapSqe s)
{
    CapRing *r = ring_of(pr);
    if (r->hdr.sq_entries == 0)
        ring_init(pr);
    r->sq[r->hdr.sq_tail & (CAP_SQ_ENTRIES - 1)] = s;
    r->hdr.sq_tail++;
}

/* Store an SQE template for a later OP_LOAD step. */
void tmpl(int pr, unsigned idx, CapSqe s)
{
    if (idx >= TMPL_MAX) {
        fprintf(stderr, "gen-ring-corpus: template index %u too big\n", idx);
        exit(1);
    }
    memcpy(heap_of(pr) + idx * SQE_SIZE, &s, sizeof s);
}

/* Put bytes in the heap at off; returns their user address. */
uint64_t put(int pr, uint32_t off, const void *b, size_t n)
{
    if (off < PARAMS_OFF || off + n > CHUNK) {
        fprintf(stderr, "gen-ring-corpus: params at 0x%x+%zu out of place\n",
                off, n);
        exit(1);
    }
    memcpy(heap_of(pr) + off, b, n);
    return HEAP_VA(off);
}

/* Params of len bytes at off, then n transfer descriptors after them at
 * the next 8-byte boundary (where the kernel looks). */
uint64_t put_xfer(int pr, uint32_t off, const void *params, uint32_t len,
                  const CapTransferDescriptor *d, unsigned n)
{
    uint64_t va = HEAP_VA(off);
    if (len)
        put(pr, off, params, len);
    if (n)
        put(pr, off + (uint32_t)CAP_ALIGN8(len), d, n * sizeof d[0]);
    return va;
}

/* Append st to the script. */
void put_step(struct step st)
{
    if (nsteps >= SCRIPT_MAX) {
        fprintf(stderr, "gen-ring-corpus: script too long\n");
        exit(1);
    }
    memcpy(in + SCRIPT_OFF + nsteps * sizeof st, &st, sizeof st);
    nsteps++;
}

void step(uint8_t op, uint8_t sq_adv, uint8_t cq_adv, uint8_t min_complete,
          uint8_t nload, uint8_t load_idx)
{
    put_step((struct step){.op = op,
                           .sq_adv = sq_adv,
                           .cq_adv = cq_adv,
                           .min_complete = min_complete,
                           .nload = nload,
                           .load_idx = load_idx});
}

/* Plain steps: enter A / enter B, optionally consuming the CQ first. */
void enter_a(void)
{
    step(OP_PLAIN, 0, 0, 0, 0, 0);
}
void enter_b(void)
{
    step(OP_PLAIN | OP_B, 0, 0, 0, 0, 0);
}
void drain_a(void)
{
    step(OP_PLAIN | OP_CONSUME_ALL, 0, 0, 0, 0, 0);
}
void drain_b(void)
{
    step(OP_PLAIN | OP_B | OP_CONSUME_ALL, 0, 0, 0, 0, 0);
}
/* Consume the CQ, load n templates from idx into the SQ, submit them. */
void load(int pr, uint8_t idx, uint8_t n)
{
    step((uint8_t)(OP_CONSUME_ALL | OP_LOAD | (pr == PB ? OP_B : 0)), n, 0, 0,
         n, idx);
}

void emit(const char *name)
{
    size_t n = sizeof in;
    while (n && in[n - 1] == 0)
        n--;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(in, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "gen-ring-corpus: cannot write %s: %s\n", path,
                strerror(errno));
        exit(1);
    }
    nfiles++;
}

/* SQE builders */

CapSqe nop(uint64_t ud)
{
    CapSqe s = {.opcode = CAP_OP_NOP, .user_data = ud};
    return s;
}

CapSqe call(uint32_t cap, uint16_t method, uint64_t ud, uint64_t addr,
            uint32_t len, uint64_t res, uint32_t res_len, uint16_t nx)
{
    CapSqe s = {.opcode = CAP_OP_CALL,
                .cap_id = cap,
                .method_id = method,
                .user_data = ud,
                .addr = addr,
                .len = len,
                .result_addr = res,
                .result_len = res_len,
                .xfer_cap_count = nx};
    return s;
}

/* A CALL meant for interface iface (SQE interface_id, docs/abi.md §4.5). */
CapSqe call_as(uint64_t iface, uint32_t cap, uint16_t method, uint64_t ud,
               uint64_t addr, uint32_t len, uint64_t res, uint32_t res_len)
{
    CapSqe s = call(cap, method, ud, addr, len, res, res_len, 0);
    s.interface_id = iface;
    return s;
}

CapSqe recv_(uint32_t cap, uint64_t ud, uint64_t res, uint32_t res_len)
{
    CapSqe s = {.opcode = CAP_OP_RECV,
                .cap_id = cap,
                .user_data = ud,
                .result_addr = res,
                .result_len = res_len};
    return s;
}

CapSqe ret(uint32_t cap, uint32_t call_id, uint64_t ud, uint64_t addr,
           uint32_t len, uint16_t nx, uint16_t flags)
{
    CapSqe s = {.opcode = CAP_OP_RETURN,
                .cap_id = cap,
                .call_id = call_id,
                .user_data = ud,
                .addr = addr,
                .len = len,
                .xfer_cap_count = nx,
                .flags = flags};
    return s;
}

CapSqe rel(uint32_t cap, uint64_t ud)
{
    CapSqe s = {.opcode = CAP_OP_RELEASE, .cap_id = cap, .user_data = ud};
    return s;
}

CapTransferDescriptor xd(uint32_t cap, uint32_t mode)
{
    CapTransferDescriptor d = {.cap_id = cap, .mode = mode};
    return d;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr,
                "usage: %s OUTPUT-DIRECTORY\n"
                "writes the ring_dispatch seed corpus to OUTPUT-DIRECTORY\n",
                argv[0]);
        return 2;
    }
    outdir = argv[1];
    seeds_ring();
    seeds_ep();
    seeds_net();
    printf("gen-ring-corpus: wrote %u seeds to %s\n", nfiles, outdir);
    return 0;
}
