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
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capos/capset.h"
#include "capos/ring.h"

/* The harness's ids, input layout and script format. */
#include "ring_dispatch.h"

/* Where the seeds' received caps land (see above). */
#define A_FREE 0x1006u /* the first cap A receives */
#define B_FREE 0x1005u /* the first cap B receives */

#define PA 0 /* process A */
#define PB 1 /* process B */
#define PT 2 /* thread T of A, on its own ring (SQE templates: A's heap) */

#define NULL_CALL 0u
#define NULL_ECHO 1u
#define NULL_MINT 2u

/* Heap conventions of these seeds: SQE templates at heap offset idx * 64
 * (idx < 16, or < 32 in a seed whose params start at 0x800), params from
 * 0x400, result buffers from 0x1000 (past the input chunk, so they cost no
 * file bytes). */
#define TMPL_MAX 32u
#define PARAMS_OFF 0x400u
#define HEAP_VA(off) ((uint64_t)CAPOS_HEAP_VADDR + (off))
#define RES(n) HEAP_VA(0x1000u + (uint32_t)(n)*0x400u)

static uint8_t in[INPUT_MAX];
static unsigned nsteps;
static const char *outdir;
static unsigned nfiles;

static CapRing *ring_of(int pr)
{
    return (CapRing *)(in + (pr == PT   ? OFF_T_RING
                             : pr == PB ? OFF_B_RING
                                        : OFF_A_RING));
}

static uint8_t *heap_of(int pr)
{
    return in + (pr == PB ? OFF_B_HEAP : OFF_A_HEAP);
}

static void reset(void)
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
static void push(int pr, CapSqe s)
{
    CapRing *r = ring_of(pr);
    if (r->hdr.sq_entries == 0)
        ring_init(pr);
    r->sq[r->hdr.sq_tail & (CAP_SQ_ENTRIES - 1)] = s;
    r->hdr.sq_tail++;
}

/* Store an SQE template for a later OP_LOAD step. */
static void tmpl(int pr, unsigned idx, CapSqe s)
{
    if (idx >= TMPL_MAX) {
        fprintf(stderr, "gen-ring-corpus: template index %u too big\n", idx);
        exit(1);
    }
    memcpy(heap_of(pr) + idx * SQE_SIZE, &s, sizeof s);
}

/* Put bytes in the heap at off; returns their user address. */
static uint64_t put(int pr, uint32_t off, const void *b, size_t n)
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
static uint64_t put_xfer(int pr, uint32_t off, const void *params, uint32_t len,
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
static void put_step(struct step st)
{
    if (nsteps >= SCRIPT_MAX) {
        fprintf(stderr, "gen-ring-corpus: script too long\n");
        exit(1);
    }
    memcpy(in + SCRIPT_OFF + nsteps * sizeof st, &st, sizeof st);
    nsteps++;
}

static void step(uint8_t op, uint8_t sq_adv, uint8_t cq_adv,
                 uint8_t min_complete, uint8_t nload, uint8_t load_idx)
{
    put_step((struct step){.op = op,
                           .sq_adv = sq_adv,
                           .cq_adv = cq_adv,
                           .min_complete = min_complete,
                           .nload = nload,
                           .load_idx = load_idx});
}

/* Plain steps: enter A / enter B, optionally consuming the CQ first. */
static void enter_a(void)
{
    step(OP_PLAIN, 0, 0, 0, 0, 0);
}
static void enter_b(void)
{
    step(OP_PLAIN | OP_B, 0, 0, 0, 0, 0);
}
static void drain_a(void)
{
    step(OP_PLAIN | OP_CONSUME_ALL, 0, 0, 0, 0, 0);
}
static void drain_b(void)
{
    step(OP_PLAIN | OP_B | OP_CONSUME_ALL, 0, 0, 0, 0, 0);
}
/* Consume the CQ, load n templates from idx into the SQ, submit them. */
static void load(int pr, uint8_t idx, uint8_t n)
{
    step((uint8_t)(OP_CONSUME_ALL | OP_LOAD | (pr == PB ? OP_B : 0)), n, 0, 0,
         n, idx);
}

static void emit(const char *name)
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

/* ---- SQE builders --------------------------------------------------- */

static CapSqe nop(uint64_t ud)
{
    CapSqe s = {.opcode = CAP_OP_NOP, .user_data = ud};
    return s;
}

static CapSqe call(uint32_t cap, uint16_t method, uint64_t ud, uint64_t addr,
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
static CapSqe call_as(uint64_t iface, uint32_t cap, uint16_t method,
                      uint64_t ud, uint64_t addr, uint32_t len, uint64_t res,
                      uint32_t res_len)
{
    CapSqe s = call(cap, method, ud, addr, len, res, res_len, 0);
    s.interface_id = iface;
    return s;
}

static CapSqe recv_(uint32_t cap, uint64_t ud, uint64_t res, uint32_t res_len)
{
    CapSqe s = {.opcode = CAP_OP_RECV,
                .cap_id = cap,
                .user_data = ud,
                .result_addr = res,
                .result_len = res_len};
    return s;
}

static CapSqe ret(uint32_t cap, uint32_t call_id, uint64_t ud, uint64_t addr,
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

static CapSqe rel(uint32_t cap, uint64_t ud)
{
    CapSqe s = {.opcode = CAP_OP_RELEASE, .cap_id = cap, .user_data = ud};
    return s;
}

static CapTransferDescriptor xd(uint32_t cap, uint32_t mode)
{
    CapTransferDescriptor d = {.cap_id = cap, .mode = mode};
    return d;
}

#define RECV_BUF 512u /* header, params and records fit */

/* ---- seeds ------------------------------------------------------------ */

static void seed_nop(void)
{
    reset();
    push(PA, nop(1));
    step(OP_PLAIN, 0, 0, 2, 0, 0); /* min_complete 2, 1 ready: no wait */
    emit("01_nop");
}

/* A full SQ of NOPs, submitted twice (the slots are reused). */
static void seed_nop_full_sq(void)
{
    reset();
    for (unsigned i = 0; i < CAP_SQ_ENTRIES; i++)
        push(PA, nop(100 + i));
    enter_a();
    step(OP_CONSUME_ALL, CAP_SQ_ENTRIES, 0, 0, 0, 0);
    emit("02_nop_full_sq");
}

static void seed_null_call(void)
{
    reset();
    push(PA, call(A_NULL, NULL_CALL, 2, 0, 0, 0, 0, 0));
    push(PA, call(A_NULL, 9, 3, 0, 0, 0, 0, 0)); /* unknown method */
    enter_a();
    emit("03_null_call");
}

static void seed_null_echo(void)
{
    reset();
    static const char msg[] = "hello, capos";
    uint64_t p = put(PA, PARAMS_OFF, msg, sizeof msg - 1);
    push(PA, call(A_NULL, NULL_ECHO, 4, p, sizeof msg - 1, RES(0), 64, 0));
    push(PA, call(A_NULL, NULL_ECHO, 5, 0, 0, 0, 0, 0)); /* empty echo */
    /* A result buffer bigger than CAP_MAX_RESULT (the arena holds it). */
    push(PA, call(A_NULL, NULL_ECHO, 3, p, sizeof msg - 1, RES(0), 0x20000, 0));
    /* Result buffer too small for the echo. */
    push(PA, call(A_NULL, NULL_ECHO, 6, p, sizeof msg - 1, RES(1), 4, 0));
    enter_a();
    emit("04_null_echo");
}

/* Mint a null cap, then (next round) use it, release it, use it stale. */
static void seed_null_mint(void)
{
    reset();
    push(PA, call(A_NULL, NULL_MINT, 7, 0, 0, RES(0), 16, 0));
    static const char msg[] = "minted";
    uint64_t p = put(PA, PARAMS_OFF, msg, sizeof msg - 1);
    tmpl(PA, 0, call(A_FREE, NULL_ECHO, 8, p, sizeof msg - 1, RES(1), 64, 0));
    tmpl(PA, 1, rel(A_FREE, 9));
    tmpl(PA, 2, rel(A_FREE, 10));
    tmpl(PA, 3, call(A_FREE, NULL_CALL, 11, 0, 0, 0, 0, 0));
    enter_a();
    load(PA, 0, 4);
    emit("05_null_mint");
}

/* Mint until A's 16-slot table is full (10 free), then once more; and a
 * mint whose result buffer cannot hold the cap record. */
static void seed_mint_table_full(void)
{
    reset();
    push(PA, call(A_NULL, NULL_MINT, 12, 0, 0, 0, 0, 0));
    for (unsigned i = 0; i < 13; i++)
        push(PA,
             call(A_NULL, NULL_MINT, 13 + i, 0, 0, RES(0) + 16u * i, 16, 0));
    enter_a();
    emit("06_mint_table_full");
}

/* RELEASE of live, stale, never-issued and out-of-range ids, and of the
 * raw endpoint (which closes it for every client). */
static void seed_release(void)
{
    reset();
    push(PA, rel(A_NULL, 30));
    push(PA, rel(A_NULL, 31)); /* stale now */
    push(PA, rel(0x2000, 32)); /* the slot's next generation: free */
    push(PA, rel(0x0000, 33)); /* generation 0 is never valid */
    push(PA, rel(0x100f, 34)); /* free slot */
    push(PA, rel(0x1fff, 35)); /* index past the table */
    push(PA, rel(A_CLI_B, 36));
    push(PA, rel(A_EP, 37));
    push(PA, call(A_CLI_A, 0, 38, 0, 0, 0, 0, 0)); /* closed */
    push(PB, call(B_CLI_A, 0, 39, 0, 0, 0, 0, 0)); /* closed */
    enter_a();
    enter_b();
    emit("07_release");
}

/* Opcodes: unknown ones and the reserved FINISH/PARK/UNPARK. */
static void seed_opcodes(void)
{
    reset();
    CapSqe s = nop(40);
    s.opcode = 8;
    push(PA, s);
    s.opcode = 0x7f;
    s.user_data = 41;
    push(PA, s);
    s.opcode = 0xff;
    s.user_data = 42;
    push(PA, s);
    s = nop(43);
    s.opcode = CAP_OP_FINISH;
    push(PA, s);
    s.opcode = CAP_OP_PARK;
    s.user_data = 44;
    s.addr = HEAP_VA(0x400);
    push(PA, s);
    s = nop(45);
    s.opcode = CAP_OP_UNPARK;
    push(PA, s);
    enter_a();
    emit("08_opcodes");
}

/* Reserved bytes, unknown flags and fields an opcode does not use. */
static void seed_reserved_nonzero(void)
{
    reset();
    CapSqe s;
    s = nop(50), s.reserved0 = 1, push(PA, s);
    s = nop(51), s.reserved1[1] = 0x80, push(PA, s);
    s = nop(52), s.pipeline_dep = 1, push(PA, s);
    s = nop(53), s.pipeline_field = 1, push(PA, s);
    s = nop(54), s.flags = CAP_SQE_PIPELINE, push(PA, s);
    s = nop(55), s.result_addr = RES(0), push(PA, s);
    s = nop(56), s.cap_id = A_NULL, push(PA, s);
    s = nop(57), s.addr = HEAP_VA(0x400), push(PA, s);
    s = nop(58), s.result_len = 8, push(PA, s);
    s = rel(A_NULL, 59), s.method_id = 1, push(PA, s);
    s = rel(A_NULL, 60), s.call_id = 1, push(PA, s);
    s = rel(A_NULL, 61), s.xfer_cap_count = 1, push(PA, s);
    s = call(A_NULL, 0, 62, 0, 0, 0, 0, 0), s.flags = CAP_SQE_EXCEPTION;
    push(PA, s);
    s = call(A_NULL, 0, 63, 0, 0, 0, 0, 0), s.call_id = 7, push(PA, s);
    s = recv_(A_EP, 64, RES(0), RECV_BUF), s.len = 4, push(PA, s);
    s = recv_(A_EP, 65, RES(0), RECV_BUF), s.method_id = 2, push(PA, s);
    enter_a();
    emit("09_reserved_nonzero");
}

/* Params buffers outside the heap, too long, or wrapping. */
static void seed_bad_params(void)
{
    reset();
    static const char msg[] = "abcdefgh";
    put(PA, PARAMS_OFF, msg, 8);
    uint64_t end = CAPOS_ARENA_VADDR + (256u << 10);
    push(PA, call(A_NULL, NULL_ECHO, 70, 0x1000, 8, RES(0), 64, 0));
    push(PA, call(A_NULL, NULL_ECHO, 71, CAPOS_RING_VADDR + 0x40, 8, RES(0), 64,
                  0));
    push(PA, call(A_NULL, NULL_ECHO, 72, CAPOS_CAPSET_VADDR, 8, RES(0), 64, 0));
    push(PA, call(A_NULL, NULL_ECHO, 73, end, 1, RES(0), 64, 0));
    push(PA, call(A_NULL, NULL_ECHO, 74, end - 1, 1, RES(0), 64, 0)); /* ok */
    push(PA, call(A_NULL, NULL_ECHO, 75, end - 4, 8, RES(0), 64, 0));
    push(PA, call(A_NULL, NULL_ECHO, 76, HEAP_VA(0), CAP_MAX_PARAMS + 1, RES(0),
                  64, 0));
    push(PA,
         call(A_NULL, NULL_ECHO, 77, HEAP_VA(0), 0xffffffffu, RES(0), 64, 0));
    push(PA, call(A_NULL, NULL_ECHO, 78, UINT64_MAX - 3, 16, RES(0), 64, 0));
    push(PA, call(A_NULL, NULL_ECHO, 79, UINT64_MAX, 0, RES(0), 64, 0));
    push(PA, ret(A_EP, 1, 80, 0x1000, 4, 0, 0));
    push(PA, ret(A_EP, 1, 81, HEAP_VA(0), CAP_MAX_RESULT + 1, 0, 0));
    enter_a();
    emit("10_bad_params");
}

/* Result buffers outside the heap or too small; RECV on non-endpoints. */
static void seed_bad_result(void)
{
    reset();
    static const char msg[] = "abcdefgh";
    uint64_t p = put(PA, PARAMS_OFF, msg, 8);
    uint64_t end = CAPOS_ARENA_VADDR + (256u << 10);
    push(PA, call(A_NULL, NULL_ECHO, 90, p, 8, CAPOS_CAPSET_VADDR, 64, 0));
    push(PA, call(A_NULL, NULL_ECHO, 91, p, 8, CAPOS_RING_VADDR, 64, 0));
    push(PA, call(A_NULL, NULL_ECHO, 92, p, 8, end, 8, 0));
    push(PA, call(A_NULL, NULL_ECHO, 93, p, 8, end - 8, 8, 0)); /* ok */
    push(PA, call(A_NULL, NULL_ECHO, 94, p, 8, UINT64_MAX - 7, 64, 0));
    push(PA, call(A_NULL, NULL_ECHO, 95, p, 8, RES(0), 0xffffffffu, 0));
    push(PA, recv_(A_EP, 96, RES(0), sizeof(EndpointMessageHeader) - 1));
    push(PA, recv_(A_EP, 97, CAPOS_CAPSET_VADDR, RECV_BUF));
    push(PA, recv_(A_CLI_A, 98, RES(0), RECV_BUF)); /* client facet */
    push(PA, recv_(A_NULL, 99, RES(0), RECV_BUF));
    push(PA, recv_(0x7777, 100, RES(0), RECV_BUF));
    enter_a();
    emit("11_bad_result");
}

/* Malformed transfers: too many descriptors, bad mode, reserved bits,
 * stale ids, non-transferable raw endpoint, descriptors out of the arena,
 * the same cap moved twice. */
static void seed_xfer_malformed(void)
{
    reset();
    CapTransferDescriptor d[9];
    for (unsigned i = 0; i < 9; i++)
        d[i] = xd(A_NULL, CAP_XFER_COPY);
    uint64_t p9 = put_xfer(PA, 0x400, NULL, 0, d, 9);
    push(PA, call(A_NULL, 0, 110, p9, 0, 0, 0, 9));
    push(PA, call(A_NULL, 0, 111, p9, 0, 0, 0, 0xffff));
    CapTransferDescriptor bad_mode = xd(A_NULL, 2);
    push(PA, call(A_NULL, 0, 112, put_xfer(PA, 0x500, "ab", 2, &bad_mode, 1), 2,
                  0, 0, 1));
    CapTransferDescriptor bad_res = xd(A_NULL, CAP_XFER_COPY);
    bad_res.reserved = 1;
    push(PA, call(A_NULL, 0, 113, put_xfer(PA, 0x540, NULL, 0, &bad_res, 1), 0,
                  0, 0, 1));
    CapTransferDescriptor stale = xd(0x2000, CAP_XFER_MOVE);
    push(PA, call(A_NULL, 0, 114, put_xfer(PA, 0x560, NULL, 0, &stale, 1), 0, 0,
                  0, 1));
    CapTransferDescriptor raw[2] = {xd(A_EP, CAP_XFER_COPY),
                                    xd(A_EP, CAP_XFER_MOVE)};
    push(PA, call(A_CLI_A, 0, 115, put_xfer(PA, 0x580, NULL, 0, &raw[0], 1), 0,
                  0, 0, 1));
    push(PA, call(A_CLI_A, 0, 116, put_xfer(PA, 0x5a0, NULL, 0, &raw[1], 1), 0,
                  0, 0, 1));
    /* Descriptors would lie past the end of the arena. */
    uint64_t end = CAPOS_ARENA_VADDR + (256u << 10);
    push(PA, call(A_NULL, 0, 117, end - 8, 8, 0, 0, 1));
    push(PA, call(A_NULL, 0, 118, 0x1000, 0, 0, 0, 1));
    CapTransferDescriptor twice[2] = {xd(A_CLI_B, CAP_XFER_MOVE),
                                      xd(A_CLI_B, CAP_XFER_MOVE)};
    push(PA, call(A_NULL, 0, 119, put_xfer(PA, 0x5c0, NULL, 0, twice, 2), 0, 0,
                  0, 2));
    CapTransferDescriptor copy_move[2] = {xd(A_CLI_B, CAP_XFER_COPY),
                                          xd(A_CLI_B, CAP_XFER_MOVE)};
    /* Valid: a copy and a move of the same cap, to the null cap (which
     * drops them): A loses A_CLI_B. */
    push(PA, call(A_NULL, 0, 120, put_xfer(PA, 0x5e0, NULL, 0, copy_move, 2), 0,
                  0, 0, 2));
    enter_a();
    emit("12_xfer_malformed");
}

/* A move keeps the sender's slot reserved while the call is queued: the
 * slot cannot be invoked, released, moved or copied; B's RECV then takes
 * the cap. */
static void seed_move_reserved(void)
{
    reset();
    CapTransferDescriptor mv = xd(A_NULL, CAP_XFER_MOVE);
    uint64_t p = put_xfer(PA, 0x400, "move", 4, &mv, 1);
    push(PA, call(A_CLI_B, 1, 130, p, 4, RES(0), 64, 1));
    push(PA, call(A_NULL, 0, 131, 0, 0, 0, 0, 0));
    push(PA, rel(A_NULL, 132));
    push(PA, call(A_CLI_B, 1, 133, p, 4, RES(1), 64, 1));
    CapTransferDescriptor cp = xd(A_NULL, CAP_XFER_COPY);
    push(PA, call(A_CLI_B, 1, 134, put_xfer(PA, 0x440, NULL, 0, &cp, 1), 0,
                  RES(2), 64, 1));
    push(PB, recv_(B_EP, 135, RES(0), RECV_BUF));
    push(PB, ret(B_EP, 1, 136, 0, 0, 0, 0));
    enter_a();
    enter_b();
    drain_a();
    drain_b();
    emit("13_move_reserved");
}

/* sq_tail more than 16 ahead: every pending SQE is dropped and the ring
 * reports corruption; the next well-formed submission works. A second
 * overrun with a wild tail and a scribbled sq_head follows. */
static void seed_sq_overrun(void)
{
    reset();
    for (unsigned i = 0; i < CAP_SQ_ENTRIES; i++)
        push(PA, nop(140 + i));
    ring_of(PA)->hdr.sq_tail = CAP_SQ_ENTRIES + 1;
    ring_of(PA)->hdr.sq_head = 0x1234; /* ignored, republished */
    tmpl(PA, 0, nop(160));
    enter_a();
    load(PA, 0, 1);
    step(OP_PLAIN, 0x80, 0, 0, 0, 0);
    step(OP_PLAIN, 3, 0, 0, 0, 0);
    emit("14_sq_overrun");
}

/* cq_head ahead of cq_tail (corrupt): nothing is consumed (or counted as
 * ready) until the user repairs it; then a cq_head 16 behind (CQ half full
 * as far as the kernel is concerned). */
static void seed_cq_head_corrupt(void)
{
    reset();
    for (unsigned i = 0; i < 4; i++)
        push(PA, nop(170 + i));
    ring_of(PA)->hdr.sq_tail = 0; /* nothing pending at first */
    ring_of(PA)->hdr.cq_head = 100;
    enter_a();
    step(OP_PLAIN, 4, 0, 0, 0, 0);
    step(OP_PLAIN | OP_CQ_ADV, 0, 7, 0, 0, 0);
    drain_a();
    emit("15_cq_head_corrupt");

    reset();
    for (unsigned i = 0; i < CAP_SQ_ENTRIES; i++)
        push(PA, nop(180 + i));
    ring_of(PA)->hdr.cq_head = 0u - 16u;
    enter_a();                                  /* 16 consumed: CQ full */
    step(OP_PLAIN, CAP_SQ_ENTRIES, 0, 0, 0, 0); /* none consumed */
    step(OP_PLAIN | OP_CQ_ADV, 0, 16, 0, 0, 0); /* 16 consumed */
    emit("16_cq_head_behind");
}

/* Fill the CQ: 32 CQEs unconsumed, then 16 more SQEs are not consumed;
 * consuming 5 lets 5 through; consuming all lets the rest through. Also
 * cap_enter with min_complete above the CQ size. */
static void seed_cq_full(void)
{
    reset();
    for (unsigned i = 0; i < CAP_SQ_ENTRIES; i++)
        push(PA, nop(200 + i));
    enter_a();
    step(OP_PLAIN, CAP_SQ_ENTRIES, 0, 0, 0, 0);
    step(OP_PLAIN, CAP_SQ_ENTRIES, 0, 0, 0, 0);
    step(OP_PLAIN | OP_CQ_ADV, 0, 5, 0, 0, 0);
    step(OP_PLAIN, 0, 0, CAP_CQ_ENTRIES + 1, 0, 0);
    drain_a();
    drain_a();
    emit("17_cq_full");
}

/* A calls itself through its client facet, receives the call on its raw
 * endpoint and returns, all in one submission (call id 1). */
static void seed_ep_self_call(void)
{
    reset();
    uint64_t ping = put(PA, 0x400, "ping", 4);
    uint64_t pong = put(PA, 0x480, "pong", 4);
    push(PA, call(A_CLI_A, 3, 210, ping, 4, RES(0), 128, 0));
    push(PA, recv_(A_EP, 211, RES(1), RECV_BUF));
    push(PA, ret(A_EP, 1, 212, pong, 4, 0, 0));
    enter_a();
    emit("18_ep_self_call");
}

/* RECV first (it waits), then the CALL is delivered to it; the RETURN comes
 * in a later round, then the same call id again (now unknown). The RECV
 * buffer is at an odd address: the ABI asks no alignment of result buffers
 * (delivery once wrote the message header through a misaligned struct
 * pointer here, found by this fuzzer). */
static void seed_ep_recv_first(void)
{
    reset();
    uint64_t q = put(PA, 0x400, "question", 8);
    uint64_t a = put(PA, 0x480, "answer!!", 8);
    push(PA, recv_(A_EP, 220, RES(1) + 3, RECV_BUF));
    push(PA, call(A_CLI_A, 4, 221, q, 8, RES(0), 128, 0));
    tmpl(PA, 0, ret(A_EP, 1, 222, a, 8, 0, 0));
    tmpl(PA, 1, ret(A_EP, 1, 223, a, 8, 0, 0));
    enter_a();
    load(PA, 0, 2);
    emit("19_ep_recv_first");
}

/* CALL with a copy and a move, delivered to A's own RECV (caps land in
 * A_FREE and A_FREE + 1; the moved slot 0x1003 is freed), RETURN with a move
 * and a copy of what arrived; then the returned caps are used. */
static void seed_ep_xfer_copy_move(void)
{
    reset();
    CapTransferDescriptor d[2] = {xd(A_NULL, CAP_XFER_COPY),
                                  xd(A_CLI_B, CAP_XFER_MOVE)};
    uint64_t p = put_xfer(PA, 0x400, "xfer", 4, d, 2);
    CapTransferDescriptor r[2] = {xd(A_FREE + 1, CAP_XFER_MOVE),
                                  xd(A_FREE, CAP_XFER_COPY)};
    uint64_t rp = put_xfer(PA, 0x480, "back", 4, r, 2);
    push(PA, call(A_CLI_A, 5, 230, p, 4, RES(0), 256, 2));
    push(PA, recv_(A_EP, 231, RES(1), RECV_BUF));
    push(PA, ret(A_EP, 1, 232, rp, 4, 2, 0));
    /* The caps returned to the caller: 0x2003 (the client of B, back in
     * its old slot under a new generation) and A_FREE + 2. */
    tmpl(PA, 0, call(A_FREE + 2, NULL_CALL, 233, 0, 0, 0, 0, 0));
    tmpl(PA, 1, rel(0x2003, 234));
    tmpl(PA, 2, rel(A_FREE, 235));
    tmpl(PA, 3, rel(A_FREE + 1, 236)); /* moved away: stale */
    enter_a();
    load(PA, 0, 4);
    emit("20_ep_xfer_copy_move");
}

/* A calls B with a copied cap; B receives (the cap lands in B_FREE), then
 * returns it to A by move. */
static void seed_ep_a_to_b(void)
{
    reset();
    CapTransferDescriptor d = xd(A_NULL, CAP_XFER_COPY);
    uint64_t p = put_xfer(PA, 0x400, "hi B", 4, &d, 1);
    push(PA, call(A_CLI_B, 6, 240, p, 4, RES(0), 128, 1));
    CapTransferDescriptor back = xd(B_FREE, CAP_XFER_MOVE);
    uint64_t bp = put_xfer(PB, 0x400, "hi A", 4, &back, 1);
    push(PB, recv_(B_EP, 241, RES(0), RECV_BUF));
    push(PB, ret(B_EP, 1, 242, bp, 4, 1, 0));
    enter_a();
    enter_b();
    drain_a();
    drain_b();
    emit("21_ep_a_to_b");
}

/* B calls A (badge 0xb1b1) moving its null cap; A receives and returns a
 * copy of its own null cap. */
static void seed_ep_b_to_a(void)
{
    reset();
    CapTransferDescriptor d = xd(B_NULL, CAP_XFER_MOVE);
    uint64_t p = put_xfer(PB, 0x400, "from B", 6, &d, 1);
    push(PB, call(B_CLI_A, 7, 250, p, 6, RES(0), 128, 1));
    CapTransferDescriptor back = xd(A_NULL, CAP_XFER_COPY);
    uint64_t ap = put_xfer(PA, 0x400, "to B", 4, &back, 1);
    push(PA, recv_(A_EP, 251, RES(0), RECV_BUF));
    tmpl(PA, 0, ret(A_EP, 1, 252, ap, 4, 1, 0));
    enter_b();
    enter_a();
    load(PA, 0, 1);
    drain_b();
    emit("22_ep_b_to_a");
}

/* Exceptions: one that fits the caller's buffer, one truncated. */
static void seed_ep_exception(void)
{
    reset();
    uint64_t oops = put(PA, 0x400, "oops", 4);
    uint64_t longer = put(PA, 0x440, "a much longer failure", 21);
    push(PA, call(A_CLI_A, 8, 260, 0, 0, RES(0), 8, 0));
    push(PA, recv_(A_EP, 261, RES(1), RECV_BUF));
    push(PA, ret(A_EP, 1, 262, oops, 4, 0, CAP_SQE_EXCEPTION));
    push(PA, call(A_CLI_A, 9, 263, 0, 0, RES(2), 8, 0));
    push(PA, recv_(A_EP, 264, RES(1), RECV_BUF));
    push(PA, ret(A_EP, 2, 265, longer, 21, 0, CAP_SQE_EXCEPTION));
    enter_a();
    emit("23_ep_exception");
}

/* RETURNs that must fail: unknown and zero call ids, non-endpoint and
 * stale caps, a malformed transfer, an exception carrying caps, a reply too
 * big for the caller's buffer (both sides fail), a reply whose cap record
 * does not fit the caller's buffer (the moved cap rolls back to A, which
 * then uses it). */
static void seed_ep_return_bad(void)
{
    reset();
    uint64_t big = put(PA, 0x400, "0123456789abcdef", 16);
    CapTransferDescriptor d = xd(A_NULL, CAP_XFER_MOVE);
    uint64_t withcap = put_xfer(PA, 0x440, NULL, 0, &d, 1);
    push(PA, ret(A_EP, 99, 270, 0, 0, 0, 0));
    push(PA, ret(A_EP, 0, 271, 0, 0, 0, 0));
    push(PA, ret(A_CLI_A, 1, 272, 0, 0, 0, 0));
    push(PA, ret(A_NULL, 1, 273, 0, 0, 0, 0));
    push(PA, ret(0x2001, 1, 282, 0, 0, 0, 0)); /* stale id */
    CapTransferDescriptor bad = xd(A_NULL, 7);
    push(PA, ret(A_EP, 1, 283, put_xfer(PA, 0x480, NULL, 0, &bad, 1), 0, 1, 0));
    push(PA, ret(A_EP, 1, 274, withcap, 0, 1, CAP_SQE_EXCEPTION));
    push(PA, call(A_CLI_A, 1, 275, 0, 0, RES(0), 4, 0));
    push(PA, recv_(A_EP, 276, RES(1), RECV_BUF));
    push(PA, ret(A_EP, 1, 277, big, 16, 0, 0)); /* too big: fails */
    push(PA, call(A_CLI_A, 1, 278, 0, 0, RES(2), 8, 0));
    push(PA, recv_(A_EP, 279, RES(1), RECV_BUF));
    push(PA, ret(A_EP, 2, 280, withcap, 0, 1, 0));         /* record needs 16 */
    push(PA, call(A_NULL, NULL_CALL, 281, 0, 0, 0, 0, 0)); /* rolled back */
    enter_a();
    emit("24_ep_return_bad");
}

/* Closing endpoints: A releases its raw endpoint with a call queued (the
 * caller gets DISCONNECTED) and later calls fail; B releases its raw
 * endpoint with two of its RECVs waiting. */
static void seed_ep_disconnect(void)
{
    reset();
    push(PA, call(A_CLI_A, 1, 290, 0, 0, 0, 0, 0));
    push(PA, call(A_CLI_B, 1, 291, 0, 0, 0, 0, 0));
    push(PA, rel(A_EP, 292));
    push(PA, call(A_CLI_A, 1, 293, 0, 0, 0, 0, 0));
    push(PA, recv_(A_EP, 294, RES(0), RECV_BUF));
    push(PB, recv_(B_EP, 295, RES(0), RECV_BUF));
    push(PB, recv_(B_EP, 296, RES(1), RECV_BUF));
    push(PB, recv_(B_EP, 299, RES(2), RECV_BUF));
    push(PB, rel(B_EP, 297));
    push(PB, call(B_CLI_A, 1, 298, 0, 0, 0, 0, 0));
    enter_a();
    enter_b();
    drain_a();
    drain_b();
    emit("25_ep_disconnect");
}

/* B exits holding a delivered call and a queued call carrying a move and
 * a copy: both of A's calls complete with DISCONNECTED, the moved cap
 * rolls back to A (which then uses it). */
static void seed_exit_server(void)
{
    reset();
    CapTransferDescriptor d[2] = {xd(A_NULL, CAP_XFER_MOVE),
                                  xd(A_CLI_A, CAP_XFER_COPY)};
    uint64_t p = put_xfer(PA, 0x400, "q", 1, d, 2);
    push(PA, call(A_CLI_B, 1, 300, 0, 0, RES(0), 64, 0));
    push(PA, call(A_CLI_B, 2, 301, p, 1, RES(1), 64, 2));
    push(PB, recv_(B_EP, 302, RES(0), RECV_BUF));
    tmpl(PA, 0, call(A_NULL, NULL_CALL, 304, 0, 0, 0, 0, 0));
    enter_a();
    enter_b();
    step(OP_EXIT | OP_B, 0, 0, 0, 0, 0);
    load(PA, 0, 1);
    drain_b(); /* a dead process cannot enter */
    emit("26_exit_server");
}

/* A exits with two calls B has received and two still queued at B (one
 * carrying a move and a copy): the queued ones are withdrawn and roll
 * back, the received ones are orphaned. B's RETURN of call 1 is then
 * dropped with DISCONNECTED, and closing B's endpoint drops call 2. */
static void seed_exit_caller(void)
{
    reset();
    push(PA, call(A_CLI_B, 1, 310, 0, 0, RES(0), 64, 0));
    push(PA, call(A_CLI_B, 3, 315, 0, 0, RES(2), 64, 0));
    CapTransferDescriptor d[2] = {xd(A_NULL, CAP_XFER_MOVE),
                                  xd(A_CLI_A, CAP_XFER_COPY)};
    uint64_t p = put_xfer(PA, 0x400, NULL, 0, d, 2);
    push(PA, call(A_CLI_B, 2, 311, p, 0, RES(1), 64, 2));
    push(PA, call(A_CLI_B, 4, 316, 0, 0, RES(3), 64, 0));
    push(PB, recv_(B_EP, 312, RES(0), RECV_BUF));
    push(PB, recv_(B_EP, 317, RES(1), RECV_BUF));
    tmpl(PB, 0, ret(B_EP, 1, 313, 0, 0, 0, 0));
    tmpl(PB, 1, rel(B_EP, 314));
    tmpl(PB, 2, recv_(B_EP, 318, RES(2), RECV_BUF));
    enter_a();
    enter_b();
    step(OP_EXIT, 0, 0, 0, 0, 0);
    load(PB, 0, 3);
    emit("27_exit_caller");
}

/* B's table (5 used of 16) takes one call with 8 caps, not a second: the
 * second caller gets TRANSFER_REJECTED and B's RECV stays queued for the
 * third call, which carries none. B then leaves two RECVs waiting. */
static void seed_transfer_rejected(void)
{
    reset();
    CapTransferDescriptor d[8];
    for (unsigned i = 0; i < 8; i++)
        d[i] = xd(i & 1 ? A_CLI_A : A_NULL, CAP_XFER_COPY);
    uint64_t p = put_xfer(PA, 0x400, NULL, 0, d, 8);
    push(PA, call(A_CLI_B, 1, 320, p, 0, RES(0), 64, 8));
    push(PA, call(A_CLI_B, 1, 321, p, 0, RES(1), 64, 8));
    push(PB, recv_(B_EP, 322, RES(0), RECV_BUF));
    push(PB, recv_(B_EP, 323, RES(1), RECV_BUF));
    tmpl(PA, 0, call(A_CLI_B, 1, 324, 0, 0, RES(2), 64, 0));
    tmpl(PB, 0, recv_(B_EP, 325, RES(2), RECV_BUF));
    tmpl(PB, 1, recv_(B_EP, 326, RES(3), RECV_BUF));
    enter_a();
    enter_b();
    load(PA, 0, 1);
    load(PB, 0, 2); /* both wait; B exits with them in k_shutdown */
    emit("28_transfer_rejected");
}

/* A RECV buffer that holds only the message header: a call with params
 * fails with INVALID_PARAMS_BUFFER and the RECV stays for the next, empty
 * call. Then a call with 600 bytes of params, received and returned. */
static void seed_recv_buffer_small(void)
{
    reset();
    static uint8_t params[100];
    for (unsigned i = 0; i < sizeof params; i++)
        params[i] = (uint8_t)i;
    uint64_t p = put(PA, 0x400, params, sizeof params);
    push(PA, recv_(A_EP, 330, RES(1), sizeof(EndpointMessageHeader)));
    push(PA, call(A_CLI_A, 1, 331, p, sizeof params, RES(0), 64, 0));
    push(PA, call(A_CLI_A, 2, 332, 0, 0, RES(0), 64, 0));
    push(PA, ret(A_EP, 1, 333, p, 8, 0, 0));
    /* Params larger than a recycled message holds (256 bytes). */
    static uint8_t big[600];
    for (unsigned i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    uint64_t bp = put(PA, 0x480, big, sizeof big);
    push(PA, call(A_CLI_A, 3, 334, bp, sizeof big, RES(0), 64, 0));
    push(PA, recv_(A_EP, 335, RES(2), 1024));
    push(PA, ret(A_EP, 2, 336, 0, 0, 0, 0));
    enter_a();
    emit("29_recv_buffer_small");
}

/* Both processes queue many calls on A's endpoint over several rounds and
 * A serves them all: long queues, interleaved callers, CQ pressure. A's
 * own calls are delivered first (call ids 1..8), then B's (9..16); the
 * last round returns 1..8 again, which are gone by then. */
static void seed_many_calls(void)
{
    reset();
    uint64_t p = put(PA, 0x800, "req", 3);
    uint64_t bp = put(PB, 0x800, "breq", 4);
    for (unsigned i = 0; i < 8; i++)
        push(PA, call(A_CLI_A, (uint16_t)i, 340 + i, p, 3, RES(0), 64, 0));
    for (unsigned i = 0; i < 8; i++)
        push(PB, call(B_CLI_A, (uint16_t)i, 350 + i, bp, 4, RES(0), 64, 0));
    for (unsigned i = 0; i < 8; i++)
        tmpl(PA, i, recv_(A_EP, 360 + i, RES(1 + i), RECV_BUF));
    for (unsigned i = 0; i < 16; i++)
        tmpl(PA, 8 + i, ret(A_EP, 1 + i, 370 + i, p, 3, 0, 0));
    enter_a();
    enter_b();
    step(OP_CONSUME_ALL | OP_LOAD, 8, 0, 0, 8, 0);   /* RECV x8: A's calls */
    step(OP_CONSUME_ALL | OP_LOAD, 8, 0, 0, 8, 8);   /* RETURN 1..8 */
    step(OP_CONSUME_ALL | OP_LOAD, 8, 0, 0, 8, 0);   /* RECV x8: B's calls */
    step(OP_CONSUME_ALL | OP_LOAD, 16, 0, 0, 16, 8); /* RETURN 1..16 */
    drain_a();
    drain_b();
    emit("30_many_calls");
}

/* ---- regression seeds of fixed model bugs ------------------------------- */

/*
 * An endpoint is destroyed while a queued call to it carries a copy of the
 * same endpoint's client facet and no other client reference is left:
 * failing the queued call drops that last client reference, which used to
 * free the endpoint core inside ep_raw_destroy (heap-use-after-free in
 * queue_pop, then a double free in core_maybe_free).
 *
 * Shortest form: A sends B a copy of A's only client of B's endpoint and
 * releases its own; B never receives. B's endpoint is destroyed when B
 * exits, here in k_shutdown (which exits B first).
 */
/* ---- thread T's own ring ------------------------------------------------ */

static void enter_t(void)
{
    step(OP_PLAIN | OP_THREAD, 0, 0, 0, 0, 0);
}

/* NOPs, a NullCap call and echo on T's ring, then more from templates;
 * the process ring stays untouched. */
static void seed_thread_ring(void)
{
    reset();
    uint64_t p = put(PA, 0x400, "echo", 4);
    push(PT, nop(1));
    push(PT, call(A_NULL, NULL_CALL, 2, 0, 0, 0, 0, 0));
    push(PT, call(A_NULL, NULL_ECHO, 3, p, 4, RES(0), 64, 0));
    enter_t();
    for (unsigned i = 0; i < 4; i++)
        tmpl(PA, i, nop(10 + i));
    step(OP_THREAD | OP_CONSUME_ALL | OP_LOAD, 4, 0, 0, 4, 0);
    step(OP_THREAD | OP_CONSUME_ALL, 0, 0, 0, 0, 0);
    enter_a();
    emit("33_thread_ring");
}

/* T calls B's endpoint on its own ring; B receives it; T exits and a new
 * thread takes its slot (and page); B's RETURN (with a cap) must be
 * dropped, and the new thread's ring works. */
static void seed_thread_stale_reply(void)
{
    reset();
    uint64_t p = put(PA, 0x400, "late", 4);
    push(PT, call(A_CLI_B, 1, 1, p, 4, RES(0), 64, 0));
    push(PB, recv_(B_EP, 2, RES(1), RECV_BUF));
    enter_b();
    enter_t();
    step(OP_THREAD | OP_EXIT, 0, 0, 0, 0, 0);
    CapTransferDescriptor d = xd(B_NULL, CAP_XFER_COPY);
    uint64_t bp = put_xfer(PB, 0x400, "reply", 5, &d, 1);
    tmpl(PB, 0, ret(B_EP, 1, 3, bp, 5, 1, 0));
    step(OP_B | OP_CONSUME_ALL | OP_LOAD, 1, 0, 0, 1, 0);
    tmpl(PA, 0, nop(4));
    step(OP_THREAD | OP_CONSUME_ALL | OP_LOAD, 1, 0, 0, 1, 0);
    emit("34_thread_stale_reply");
}

/* T posts a RECV on A's endpoint, calls A's own endpoint (delivered into
 * that RECV) and calls B's (queued, undelivered); T exits: the receive is
 * gone, the undelivered call withdrawn; A then receives and returns. */
static void seed_thread_exit_withdraws(void)
{
    reset();
    uint64_t p = put(PA, 0x400, "x", 1);
    push(PT, recv_(A_EP, 1, RES(0), RECV_BUF));
    push(PT, call(A_CLI_A, 0, 2, p, 1, RES(1), 64, 0));
    push(PT, call(A_CLI_B, 0, 3, p, 1, RES(2), 64, 0));
    push(PT, call(A_CLI_A, 0, 4, p, 1, RES(3), 64, 0));
    enter_t();
    step(OP_THREAD | OP_EXIT, 0, 0, 0, 0, 0);
    tmpl(PA, 0, recv_(A_EP, 5, RES(4), RECV_BUF));
    tmpl(PA, 1, ret(A_EP, 1, 6, p, 1, 0, 0));
    tmpl(PA, 2, ret(A_EP, 2, 7, p, 1, 0, 0));
    step(OP_CONSUME_ALL | OP_LOAD, 3, 0, 0, 3, 0);
    push(PB, recv_(B_EP, 8, RES(5), RECV_BUF));
    enter_b();
    step(OP_EXIT, 0, 0, 0, 0, 0);
    emit("35_thread_exit_withdraws");
}

static void seed_peer_exit_with_own_client_queued(void)
{
    reset();
    CapTransferDescriptor d = xd(A_CLI_B, CAP_XFER_COPY);
    push(PA,
         call(A_CLI_B, 0, 1, put_xfer(PA, 0x400, NULL, 0, &d, 1), 0, 0, 0, 1));
    push(PA, rel(A_CLI_B, 2));
    enter_a();
    emit("31_peer_exit_with_own_client_queued");
}

/* The same through RELEASE of the raw endpoint: A's call on its own
 * endpoint carries a copy of A's client facet; B (the other client holder)
 * exits; A releases its client facet, then its raw endpoint. */
static void seed_close_with_own_client_queued(void)
{
    reset();
    CapTransferDescriptor d = xd(A_CLI_A, CAP_XFER_COPY);
    uint64_t p = put_xfer(PA, 0x400, NULL, 0, &d, 1);
    push(PA, call(A_CLI_A, 0, 1, p, 0, 0, 0, 1));
    push(PA, rel(A_CLI_A, 2));
    push(PA, rel(A_EP, 3));
    step(OP_EXIT | OP_B, 0, 0, 0, 0, 0);
    enter_a();
    emit("32_close_with_own_client_queued");
}

/* ---- network seeds ---------------------------------------------------- */

/* Methods (schema/capos.capnp, "Networking"; TerminalSession). */
#define NM_GET_CONFIG 0u
#define NM_LISTEN_TCP 1u
#define TLA_LISTEN 0u
#define TLA_PORT 1u
#define TL_ACCEPT 0u
#define TL_CLOSE 1u
#define TS_SEND 0u
#define TS_RECV 1u
#define TS_CLOSE 2u
#define TS_INTO_TERMINAL 3u
#define TERM_WRITE 0u
#define TERM_READ_LINE 2u
#define TERM_INFO 3u
#define TERM_CLOSE 4u

/* The net byte of a step (tests/fuzz/ring_dispatch.c). */
#define GP23 0u /* net_arg % 3 of NET_CONNECT: guest port 23 */
#define GP24 1u
#define GP25 2u

#define NET_RES 256u /* listen, accept, send and small recv results fit */

/* A step that acts on the network first (then a plain op, e.g. enter). */
static void net_step(uint8_t op, uint8_t net, uint8_t arg)
{
    put_step((struct step){.op = op, .net = net, .net_arg = arg});
}

/* Cap'n Proto by hand (one segment): segment table, root pointer, the
 * root struct's data words and pointers, then what they point at. */
static uint64_t struct_ptr(int32_t off, uint16_t dw, uint16_t np)
{
    return ((uint64_t)(uint32_t)off << 2) | ((uint64_t)dw << 32) |
           ((uint64_t)np << 48);
}

static uint64_t byte_list_ptr(int32_t off, uint32_t n)
{
    return 1u | ((uint64_t)(uint32_t)off << 2) | (2ull << 32) |
           ((uint64_t)n << 35);
}

/* A root struct of one data word w (and no pointers) at off; returns its
 * address, *len its size. */
static uint64_t msg_word(int pr, uint32_t off, uint64_t w, uint32_t *len)
{
    uint64_t m[3] = {(uint64_t)2 << 32, struct_ptr(0, 1, 0), w};
    *len = sizeof m;
    return put(pr, off, m, sizeof m);
}

/* A root struct with one pointer: Data of n bytes (TcpSocket.send). */
static uint64_t msg_data(int pr, uint32_t off, const void *d, uint32_t n,
                         uint32_t *len)
{
    uint8_t m[8 + 16 + 256];
    uint32_t words = 2 + (n + 7) / 8;
    uint64_t h[3] = {(uint64_t)words << 32, struct_ptr(0, 0, 1),
                     byte_list_ptr(0, n)};
    memset(m, 0, sizeof m);
    memcpy(m, h, sizeof h);
    memcpy(m + sizeof h, d, n);
    *len = 8 + words * 8;
    return put(pr, off, m, *len);
}

/* Seven calls of method on cap with hostile params at off (ud from ud0):
 * garbage, a root pointer out of the segment, a list where a struct is
 * wanted, a far pointer, a struct whose pointer field is no Data, a huge
 * struct pointing backwards, a message shorter than its segment table.
 * Pushed to the SQ (tidx < 0) or stored as templates tidx.. */
static void push_hostile(int pr, uint32_t off, uint32_t cap, uint16_t method,
                         uint64_t ud0, int tidx)
{
    static const uint64_t bad[][4] = {
        {0xffffffffffffffffull, 0x1234, 0, 0},            /* garbage */
        {(uint64_t)9 << 32, 0x00010000fffffffcull, 0, 0}, /* out */
        {(uint64_t)3 << 32, 0x0000000200000001ull, 7, 0}, /* list */
        {(uint64_t)3 << 32, 0x0000000000000002ull, 0, 0}, /* far */
        {(uint64_t)3 << 32, 0x0001000000000000ull,        /* ptr field */
         0x0000000100000000ull, 0},
        {(uint64_t)3 << 32, 0xffff00000000fffcull, 0, 0}, /* huge, back */
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t va = put(pr, off + i * 32u, bad[i], sizeof bad[i]);
        CapSqe e =
            call(cap, method, ud0 + i, va, sizeof bad[i], RES(i), NET_RES, 0);
        if (tidx < 0)
            push(pr, e);
        else
            tmpl(pr, (unsigned)tidx + i, e);
    }
    CapSqe e = call(cap, method, ud0 + 6, put(pr, off + 0xc0, "\0\0\0", 4), 4,
                    RES(6), NET_RES, 0);
    if (tidx < 0)
        push(pr, e);
    else
        tmpl(pr, (unsigned)tidx + 6, e);
}

/* NetworkManager.getConfig and unknown methods, TcpListenAuthority.port,
 * the spent authority's listen (alreadyUsed), small result buffers. */
static void seed_net_config(void)
{
    reset();
    push(PA, call(A_NETMGR, NM_GET_CONFIG, 400, 0, 0, RES(0), NET_RES, 0));
    push(PA, call(A_NETMGR, NM_GET_CONFIG, 401, 0, 0, RES(1), 16, 0));
    push(PA, call(A_NETMGR, 7, 402, 0, 0, RES(2), NET_RES, 0));
    push(PA, call(A_NETMGR, NM_GET_CONFIG, 403, 0, 0, 0, 0, 0));
    push(PA, call(A_AUTH, TLA_PORT, 404, 0, 0, RES(3), NET_RES, 0));
    push(PA, call(A_AUTH, TLA_PORT, 405, 0, 0, RES(4), 8, 0));
    push(PA, call(A_AUTH, 2, 406, 0, 0, RES(5), NET_RES, 0));
    push(PB, call(B_SPENT, TLA_LISTEN, 407, 0, 0, RES(0), NET_RES, 0));
    push(PB, call(B_SPENT, TLA_PORT, 408, 0, 0, RES(1), NET_RES, 0));
    push(PB, call(B_AUTH, TLA_PORT, 409, 0, 0, RES(2), NET_RES, 0));
    push(PB, call(B_SPENT, TLA_LISTEN, 410, 0, 0, RES(3), 40, 0));
    enter_a();
    enter_b();
    emit("36_net_config");
}

/* listenTcp: a forwarded port (the listener is A_FREE), the same port
 * again (addressInUse), an unforwarded port and port 0 (permission-
 * Denied), a huge backlog, a buffer with no room for the cap record; then
 * A's authority on the busy port (addressInUse, not spent); the listener
 * closes; the authority listens (A_FREE + 1) and is spent. */
static void seed_net_listen(void)
{
    reset();
    uint32_t l23, l80, l0, lbig;
    uint64_t p23 = msg_word(PA, 0x400, 23u | 4u << 16, &l23);
    uint64_t p80 = msg_word(PA, 0x420, 80u | 4u << 16, &l80);
    uint64_t p0 = msg_word(PA, 0x440, 0, &l0);
    uint64_t pbig = msg_word(PA, 0x460, 24u | 0xffffu << 16, &lbig);
    push(PA, call(A_NETMGR, NM_LISTEN_TCP, 410, p23, l23, RES(0), NET_RES, 0));
    push(PA, call(A_NETMGR, NM_LISTEN_TCP, 411, p23, l23, RES(1), NET_RES, 0));
    push(PA, call(A_NETMGR, NM_LISTEN_TCP, 412, p80, l80, RES(2), NET_RES, 0));
    push(PA, call(A_NETMGR, NM_LISTEN_TCP, 413, p0, l0, RES(3), NET_RES, 0));
    push(PA, call(A_NETMGR, NM_LISTEN_TCP, 414, pbig, lbig, RES(4), 24, 0));
    push(PA, call(A_AUTH, TLA_LISTEN, 415, 0, 0, RES(5), NET_RES, 0));
    tmpl(PA, 0, call(A_FREE, TL_CLOSE, 416, 0, 0, 0, 0, 0));
    tmpl(PA, 1, call(A_AUTH, TLA_LISTEN, 417, 0, 0, RES(6), NET_RES, 0));
    tmpl(PA, 2, call(A_AUTH, TLA_LISTEN, 418, 0, 0, RES(7), NET_RES, 0));
    tmpl(PA, 3, call(A_FREE, TL_ACCEPT, 419, 0, 0, RES(8), NET_RES, 0));
    tmpl(PA, 4, call(A_FREE, 5, 420, 0, 0, RES(9), NET_RES, 0));
    tmpl(PA, 5, rel(A_FREE, 421));
    tmpl(PA, 6, call(A_FREE + 1, TL_CLOSE, 422, 0, 0, 0, 0, 0));
    tmpl(PA, 7,
         call(A_NETMGR, NM_LISTEN_TCP, 423, p23, l23, RES(10), NET_RES, 0));
    enter_a();
    load(PA, 0, 8);
    emit("37_net_listen");
}

/* B's authority listens (B_FREE), then again (alreadyUsed) and on a table
 * with no room: the spent authority and B's cap moved to A, where A's
 * NetworkManager is copied to B. */
static void seed_net_auth_transfer(void)
{
    reset();
    push(PB, call(B_AUTH, TLA_LISTEN, 430, 0, 0, RES(0), NET_RES, 0));
    push(PB, call(B_AUTH, TLA_LISTEN, 431, 0, 0, RES(1), NET_RES, 0));
    CapTransferDescriptor d[3] = {xd(B_SPENT, CAP_XFER_MOVE),
                                  xd(B_AUTH, CAP_XFER_COPY),
                                  xd(B_FREE, CAP_XFER_MOVE)};
    uint64_t p = put_xfer(PB, 0x400, "auth", 4, d, 3);
    push(PB, call(B_CLI_A, 1, 432, p, 4, RES(2), 64, 3));
    push(PA, recv_(A_EP, 433, RES(0), RECV_BUF));
    CapTransferDescriptor back[2] = {xd(A_NETMGR, CAP_XFER_COPY),
                                     xd(A_AUTH, CAP_XFER_MOVE)};
    push(PA, ret(A_EP, 1, 434, put_xfer(PA, 0x400, "nm", 2, back, 2), 2, 2, 0));
    /* A now holds the spent authority (A_FREE), B's (A_FREE + 1) and B's
     * listener (A_FREE + 2); B a NetworkManager and A's authority. */
    tmpl(PA, 0, call(A_FREE, TLA_LISTEN, 435, 0, 0, RES(1), NET_RES, 0));
    tmpl(PA, 1, call(A_FREE + 1, TLA_LISTEN, 436, 0, 0, RES(2), NET_RES, 0));
    tmpl(PA, 2, call(A_FREE + 2, TL_CLOSE, 437, 0, 0, 0, 0, 0));
    tmpl(PA, 3, call(A_FREE + 1, TLA_LISTEN, 438, 0, 0, RES(3), NET_RES, 0));
    /* B's moved-away slots 0x1004 and 0x1005 take them, last freed
     * first: the NetworkManager 0x2005, A's authority 0x2004. */
    tmpl(PB, 0, call(0x2005, NM_GET_CONFIG, 439, 0, 0, RES(3), NET_RES, 0));
    tmpl(PB, 1, call(0x2004, TLA_LISTEN, 440, 0, 0, RES(4), NET_RES, 0));
    tmpl(PB, 2, call(0x2004, TLA_PORT, 441, 0, 0, RES(5), NET_RES, 0));
    enter_b();
    enter_a();
    drain_b();
    load(PA, 0, 4);
    load(PB, 0, 3);
    emit("38_net_auth_transfer");
}

/* Accepts wait on a listener with nobody connecting: eight wait, the
 * ninth is overloaded, one has no result room, one is rejected with a
 * full table; then A exits with them waiting. */
static void seed_net_accept_exit(void)
{
    reset();
    uint32_t l;
    uint64_t p = msg_word(PA, 0x400, 24u | 1u << 16, &l);
    push(PA, call(A_NETMGR, NM_LISTEN_TCP, 450, p, l, RES(0), NET_RES, 0));
    for (unsigned i = 0; i < 9; i++)
        tmpl(PA, i, call(A_FREE, TL_ACCEPT, 451 + i, 0, 0, RES(1 + i), 96, 0));
    tmpl(PA, 9, call(A_FREE, TL_ACCEPT, 460, 0, 0, RES(10), 95, 0));
    tmpl(PA, 10, call(A_FREE, TL_ACCEPT, 461, 0, 0, 0, 0, 0));
    enter_a();
    load(PA, 0, 11);
    net_step(OP_PLAIN | OP_NO_ENTER, NET_PUMP, 0);
    step(OP_EXIT, 0, 0, 0, 0, 0);
    net_step(OP_PLAIN | OP_B, NET_CONNECT | NET_PUMP, GP24);
    emit("39_net_accept_exit");
}

/* close with accepts waiting (they answer closed), accept after close, the
 * listener released with an accept waiting on T's ring. */
static void seed_net_accept_close(void)
{
    reset();
    uint32_t l;
    uint64_t p = msg_word(PA, 0x400, 23u, &l);
    push(PA, call(A_NETMGR, NM_LISTEN_TCP, 470, p, l, RES(0), NET_RES, 0));
    tmpl(PA, 0, call(A_FREE, TL_ACCEPT, 471, 0, 0, RES(1), 128, 0));
    tmpl(PA, 1, call(A_FREE, TL_ACCEPT, 472, 0, 0, RES(2), 128, 0));
    tmpl(PA, 2, call(A_FREE, TL_CLOSE, 473, 0, 0, 0, 0, 0));
    tmpl(PA, 3, call(A_FREE, TL_ACCEPT, 474, 0, 0, RES(3), 128, 0));
    tmpl(PA, 4, call(A_FREE, TL_CLOSE, 475, 0, 0, 0, 0, 0));
    tmpl(PA, 5, rel(A_FREE, 476));
    tmpl(PA, 6, call(A_NETMGR, NM_LISTEN_TCP, 477, p, l, RES(4), NET_RES, 0));
    tmpl(PA, 7, call(0x2006, TL_ACCEPT, 478, 0, 0, RES(5), 128, 0));
    tmpl(PA, 8, rel(0x2006, 479));
    enter_a();
    load(PA, 0, 6);
    step((uint8_t)(OP_THREAD | OP_LOAD), 2, 0, 0, 2, 6);
    step((uint8_t)(OP_THREAD | OP_LOAD), 1, 0, 0, 1, 7);
    load(PA, 8, 1);
    net_step(OP_PLAIN, NET_CONNECT | NET_PUMP, GP23);
    emit("40_net_accept_close");
}

/* A listener moved to B (move; then a copy back to A): B accepts, a
 * client connects, B gets the socket (B_FREE + 1) and moves it to A. */
static void seed_net_listener_transfer(void)
{
    reset();
    uint32_t l;
    uint64_t p = msg_word(PA, 0x400, 23u | 2u << 16, &l);
    push(PA, call(A_NETMGR, NM_LISTEN_TCP, 480, p, l, RES(0), NET_RES, 0));
    CapTransferDescriptor mv = xd(A_FREE, CAP_XFER_MOVE);
    tmpl(PA, 0,
         call(A_CLI_B, 2, 481, put_xfer(PA, 0x440, NULL, 0, &mv, 1), 0, RES(1),
              64, 1));
    push(PB, recv_(B_EP, 482, RES(0), RECV_BUF));
    CapTransferDescriptor cp = xd(B_FREE, CAP_XFER_COPY);
    tmpl(PB, 0,
         ret(B_EP, 1, 483, put_xfer(PB, 0x400, NULL, 0, &cp, 1), 0, 1, 0));
    tmpl(PB, 1, call(B_FREE, TL_ACCEPT, 484, 0, 0, RES(1), 128, 0));
    tmpl(PB, 2, recv_(B_EP, 485, RES(2), RECV_BUF));
    CapTransferDescriptor so = xd(B_FREE + 1, CAP_XFER_MOVE);
    tmpl(PB, 3,
         call(B_CLI_A, 3, 486, put_xfer(PB, 0x440, NULL, 0, &so, 1), 0, RES(3),
              64, 1));
    tmpl(PA, 1, recv_(A_EP, 487, RES(2), RECV_BUF));
    tmpl(PA, 2, call(0x2006, TL_CLOSE, 488, 0, 0, 0, 0, 0)); /* the copy */
    enter_a();
    load(PA, 0, 1);
    enter_b();
    load(PB, 0, 3);
    net_step(OP_PLAIN | OP_B | OP_CONSUME_ALL, NET_CONNECT | NET_PUMP, GP23);
    load(PB, 3, 1);
    load(PA, 1, 1);
    load(PA, 2, 1);
    emit("41_net_listener_transfer");
}

/* A connection: accept (the socket is A_FREE + 1), the client sends, recv
 * takes it; recv with maxBytes 0, above 65536, with too small a buffer;
 * send; a second recv waits while one waits (overloaded); the client
 * ends its stream: the waiting recv answers closed; close; calls after
 * close. */
static void seed_net_socket(void)
{
    reset();
    uint32_t l, l64, l0, lbig, lmax, lsend;
    uint64_t p = msg_word(PA, 0x400, 23u, &l);
    uint64_t r64 = msg_word(PA, 0x420, 64, &l64);
    uint64_t r0 = msg_word(PA, 0x440, 0, &l0);
    uint64_t rbig = msg_word(PA, 0x460, 65537, &lbig);
    uint64_t rmax = msg_word(PA, 0x480, 65536, &lmax);
    static const char hello[] = "hello, client\r\n\xff";
    uint64_t sd = msg_data(PA, 0x4a0, hello, sizeof hello - 1, &lsend);
    uint32_t S = A_FREE + 1;
    push(PA, call(A_NETMGR, NM_LISTEN_TCP, 500, p, l, RES(0), NET_RES, 0));
    tmpl(PA, 0, call(A_FREE, TL_ACCEPT, 501, 0, 0, RES(1), 128, 0));
    tmpl(PA, 1, call(S, TS_RECV, 502, r64, l64, RES(2), 128, 0));
    tmpl(PA, 2, call(S, TS_RECV, 503, r0, l0, RES(3), 128, 0));
    tmpl(PA, 3, call(S, TS_RECV, 504, rbig, lbig, RES(4), 128, 0));
    tmpl(PA, 4, call(S, TS_RECV, 505, rmax, lmax, RES(5), 128, 0));
    tmpl(PA, 5, call(S, TS_SEND, 506, sd, lsend, RES(6), 32, 0));
    tmpl(PA, 6, call(S, TS_SEND, 507, sd, lsend, RES(7), 31, 0));
    tmpl(PA, 7, call(S, TS_SEND, 508, 0, 0, RES(8), 32, 0));
    tmpl(PA, 8, call(S, TS_RECV, 509, r64, l64, RES(9), 128, 0));
    tmpl(PA, 9, call(S, TS_RECV, 510, r64, l64, RES(10), 128, 0));
    tmpl(PA, 10, call(S, TS_CLOSE, 511, 0, 0, 0, 0, 0));
    tmpl(PA, 11, call(S, TS_SEND, 512, sd, lsend, RES(11), 32, 0));
    tmpl(PA, 12, call(S, TS_RECV, 513, r64, l64, RES(12), 128, 0));
    tmpl(PA, 13, call(S, TS_INTO_TERMINAL, 514, 0, 0, RES(13), 64, 0));
    tmpl(PA, 14, call(S, 9, 515, 0, 0, RES(14), 64, 0));
    enter_a();
    net_step(OP_LOAD | OP_CONSUME_ALL, NET_CONNECT, GP23);
    in[SCRIPT_OFF + (nsteps - 1) * 8u + 1] = 1; /* sq_adv */
    in[SCRIPT_OFF + (nsteps - 1) * 8u + 4] = 1; /* nload */
    net_step(OP_PLAIN, NET_SEND | NET_PUMP, 40);
    load(PA, 1, 8);
    load(PA, 9, 1);
    net_step(OP_PLAIN, NET_SHUT, 0);
    load(PA, 10, 5);
    emit("42_net_socket");
}

/* intoTerminalSession: refused while a recv waits; then the move-only
 * terminal (A_FREE + 2) is used, copied (refused), moved to B; the spent
 * socket answers disconnected. */
static void seed_net_terminal(void)
{
    reset();
    uint32_t l, l64, lw;
    uint64_t p = msg_word(PA, 0x400, 23u, &l);
    uint64_t r64 = msg_word(PA, 0x420, 64, &l64);
    uint64_t w = msg_data(PA, 0x440, "$ \xff", 3, &lw);
    uint32_t S = A_FREE + 1, T = A_FREE + 2;
    push(PA, call(A_NETMGR, NM_LISTEN_TCP, 520, p, l, RES(0), NET_RES, 0));
    push(PA, call(A_FREE, TL_ACCEPT, 521, 0, 0, RES(1), 128, 0));
    tmpl(PA, 0, call(S, TS_RECV, 522, r64, l64, RES(2), 128, 0));
    tmpl(PA, 1, call(S, TS_INTO_TERMINAL, 523, 0, 0, RES(3), 64, 0));
    tmpl(PA, 2, call(S, TS_INTO_TERMINAL, 524, 0, 0, RES(4), 64, 0));
    tmpl(PA, 3, call(S, TS_RECV, 525, r64, l64, RES(5), 128, 0));
    tmpl(PA, 4, call(T, TERM_INFO, 526, 0, 0, RES(6), 256, 0));
    tmpl(PA, 5, call(T, TERM_WRITE, 527, w, lw, RES(7), 64, 0));
    tmpl(PA, 6, call(T, TERM_READ_LINE, 528, 0, 0, RES(8), 512, 0));
    CapTransferDescriptor cp = xd(T, CAP_XFER_COPY);
    tmpl(PA, 7,
         call(A_CLI_B, 1, 529, put_xfer(PA, 0x480, NULL, 0, &cp, 1), 0, RES(9),
              64, 1));
    CapTransferDescriptor mv = xd(T, CAP_XFER_MOVE);
    tmpl(PA, 8,
         call(A_CLI_B, 1, 530, put_xfer(PA, 0x4a0, NULL, 0, &mv, 1), 0, RES(10),
              64, 1));
    push(PB, recv_(B_EP, 531, RES(0), RECV_BUF));
    tmpl(PB, 0, call(B_FREE, TERM_CLOSE, 532, 0, 0, 0, 0, 0));
    tmpl(PB, 1, call(B_FREE, TERM_INFO, 533, 0, 0, RES(1), 256, 0));
    enter_a();
    net_step(OP_PLAIN | OP_CONSUME_ALL, NET_CONNECT | NET_PUMP, GP23);
    load(PA, 0, 2);
    net_step(OP_PLAIN | OP_CONSUME_ALL, NET_SEND | NET_PUMP, 34);
    load(PA, 2, 7);
    net_step(OP_PLAIN | OP_CONSUME_ALL, NET_SEND | NET_PUMP, 20);
    enter_b();
    load(PB, 0, 2);
    emit("43_net_terminal");
}

/* B's authority on guest port 24 (idle timeout 5 s): accept, a recv
 * waits, the clock passes the timeout: recv answers closed; a second
 * connection is reset by its client while B's recv waits. */
static void seed_net_idle_reset(void)
{
    reset();
    uint32_t l64;
    uint64_t r64 = msg_word(PB, 0x420, 64, &l64);
    push(PB, call(B_AUTH, TLA_LISTEN, 540, 0, 0, RES(0), NET_RES, 0));
    tmpl(PB, 0, call(B_FREE, TL_ACCEPT, 541, 0, 0, RES(1), 128, 0));
    tmpl(PB, 1, call(B_FREE + 1, TS_RECV, 542, r64, l64, RES(2), 128, 0));
    tmpl(PB, 2, call(B_FREE + 1, TS_SEND, 543, 0, 0, RES(3), 32, 0));
    tmpl(PB, 3, call(B_FREE, TL_ACCEPT, 544, 0, 0, RES(4), 128, 0));
    tmpl(PB, 4, call(B_FREE + 2, TS_RECV, 545, r64, l64, RES(5), 128, 0));
    tmpl(PB, 5, call(B_FREE + 2, TS_SEND, 546, 0, 0, RES(6), 32, 0));
    enter_b();
    load(PB, 0, 1);
    net_step(OP_PLAIN | OP_B, NET_CONNECT | NET_PUMP, GP24);
    load(PB, 1, 1);
    net_step(OP_PLAIN | OP_B, NET_CLOCK, 0);
    load(PB, 2, 2);
    net_step(OP_PLAIN | OP_B, NET_CONNECT | NET_PUMP, GP24);
    load(PB, 4, 1);
    net_step(OP_PLAIN | OP_B, NET_RESET, 0);
    load(PB, 5, 1);
    emit("44_net_idle_reset");
}

/* Hostile params on every network method. */
static void seed_net_hostile(void)
{
    reset();
    push_hostile(PA, 0x400, A_NETMGR, NM_LISTEN_TCP, 550, -1);
    push_hostile(PA, 0x500, A_AUTH, TLA_LISTEN, 560, -1);
    push_hostile(PB, 0x400, B_SPENT, TLA_PORT, 570, -1);
    push_hostile(PB, 0x500, B_AUTH, TLA_LISTEN, 580, -1);
    enter_a();
    enter_b();
    emit("45_net_hostile");
}

/* Hostile params on a listener and a socket (and T's ring accepting). */
static void seed_net_hostile_objects(void)
{
    reset();
    uint32_t l;
    uint64_t p = msg_word(PA, 0x400, 23u, &l);
    push(PA, call(A_NETMGR, NM_LISTEN_TCP, 590, p, l, RES(0), NET_RES, 0));
    push(PA, call(A_FREE, TL_ACCEPT, 591, 0, 0, RES(1), 128, 0));
    enter_a();
    net_step(OP_PLAIN | OP_CONSUME_ALL, NET_CONNECT | NET_PUMP, GP23);
    push_hostile(PA, 0x500, A_FREE, TL_ACCEPT, 600, 0);
    push_hostile(PA, 0x600, A_FREE + 1, TS_SEND, 610, 7);
    load(PA, 0, 7);
    load(PA, 7, 7);
    emit("46_net_hostile_objects");
}

/* Regression: the client ends its stream and then resets; the host
 * socket is in CLOSE_WAIT, so the reset leaves EPIPE pending and a send
 * wrote into it. The host's SIGPIPE killed the whole process; a send
 * must answer connectionReset instead (hosted port ignores SIGPIPE). */
static void seed_net_send_after_peer_reset(void)
{
    reset();
    uint32_t l, l64, lsend;
    uint64_t p = msg_word(PA, 0x400, 23u, &l);
    uint64_t r64 = msg_word(PA, 0x420, 64, &l64);
    uint64_t sd = msg_data(PA, 0x440, "bye\r\n", 5, &lsend);
    uint32_t S = A_FREE + 1;
    push(PA, call(A_NETMGR, NM_LISTEN_TCP, 620, p, l, RES(0), NET_RES, 0));
    push(PA, call(A_FREE, TL_ACCEPT, 621, 0, 0, RES(1), 128, 0));
    tmpl(PA, 0, call(S, TS_RECV, 622, r64, l64, RES(2), 128, 0));
    tmpl(PA, 1, call(S, TS_SEND, 623, sd, lsend, RES(3), 32, 0));
    tmpl(PA, 2, call(S, TS_SEND, 624, sd, lsend, RES(4), 32, 0));
    tmpl(PA, 3, call(S, TS_RECV, 625, r64, l64, RES(5), 128, 0));
    enter_a();
    net_step(OP_PLAIN | OP_CONSUME_ALL, NET_CONNECT | NET_PUMP, GP23);
    load(PA, 0, 1);
    net_step(OP_PLAIN | OP_CONSUME_ALL, NET_SHUT, 0);
    net_step(OP_PLAIN | OP_CONSUME_ALL, NET_RESET, 0);
    load(PA, 1, 3);
    emit("47_net_send_after_peer_reset");
}

/* A's table fills: listen and accept are refused with no free slot; an
 * accept taken with one free slot completes into a table that has filled
 * meanwhile (TRANSFER_REJECTED, the connection closed). */
static void seed_net_full_table(void)
{
    reset();
    uint32_t l;
    uint64_t p = msg_word(PA, 0x400, 23u, &l);
    for (unsigned i = 0; i < 9; i++) /* A_FREE .. A_FREE + 8 */
        push(PA,
             call(A_NULL, NULL_MINT, 640 + i, 0, 0, RES(0) + 16u * i, 16, 0));
    push(PA, call(A_NETMGR, NM_LISTEN_TCP, 649, p, l, RES(1), NET_RES, 0));
    uint32_t L = A_FREE + 9; /* the last free slot */
    push(PA, call(L, TL_ACCEPT, 650, 0, 0, RES(2), 128, 0));
    push(PA, call(A_AUTH, TLA_LISTEN, 651, 0, 0, RES(3), NET_RES, 0));
    push(PA, call(A_NETMGR, NM_LISTEN_TCP, 652, p, l, RES(4), NET_RES, 0));
    tmpl(PA, 0, rel(A_FREE, 653));
    tmpl(PA, 1, call(L, TL_ACCEPT, 654, 0, 0, RES(5), 128, 0));
    tmpl(PA, 2, call(A_NULL, NULL_MINT, 655, 0, 0, RES(6), 16, 0));
    enter_a();
    load(PA, 0, 3);
    net_step(OP_PLAIN | OP_CONSUME_ALL, NET_CONNECT | NET_PUMP, GP23);
    emit("48_net_full_table");
}

/* Input before the idle timeout restarts it (the timer re-arms), then
 * the timeout passes with a recv waiting: it answers closed. */
static void seed_net_idle_rearm(void)
{
    reset();
    uint32_t l64;
    uint64_t r64 = msg_word(PB, 0x420, 64, &l64);
    push(PB, call(B_AUTH, TLA_LISTEN, 660, 0, 0, RES(0), NET_RES, 0));
    push(PB, call(B_FREE, TL_ACCEPT, 661, 0, 0, RES(1), 128, 0));
    tmpl(PB, 0, call(B_FREE + 1, TS_RECV, 662, r64, l64, RES(2), 128, 0));
    tmpl(PB, 1, call(B_FREE + 1, TS_RECV, 663, r64, l64, RES(3), 128, 0));
    enter_b();
    net_step(OP_PLAIN | OP_B | OP_CONSUME_ALL, NET_CONNECT | NET_PUMP, GP24);
    load(PB, 0, 1);
    net_step(OP_PLAIN | OP_B, NET_CLOCK, 3); /* t = 3 s: not due */
    net_step(OP_PLAIN | OP_B, NET_SEND, 10); /* input at 3 s */
    load(PB, 1, 1);
    net_step(OP_PLAIN | OP_B, NET_CLOCK, 3); /* 6 s: re-armed for 8 s */
    net_step(OP_PLAIN | OP_B, NET_CLOCK, 3); /* 9 s: closed */
    emit("49_net_idle_rearm");
}

/* Typed facets (docs/abi.md §8, §4.5): B calls its typed client of A
 * meaning that interface (queued) and meaning another (refused); A mints
 * a facet typed MINT_IFACE (Endpoint.mintClient @0: badge, interfaceId;
 * it lands in A_FREE), receives B's call and returns a copy of it to B
 * (B_FREE), which B then calls meaning MINT_IFACE (queued, badge 0x77)
 * and meaning B's first interface (refused). */
#define MINT_IFACE 0xf0220000000000c3ull
static void seed_typed_facets(void)
{
    reset();
    /* mintClient params: segment table, root struct pointer (2 data
     * words), badge, interfaceId. */
    const uint64_t mint[4] = {3ull << 32, 2ull << 32, 0x77, MINT_IFACE};
    uint64_t mp = put(PA, 0x400, mint, sizeof mint);
    uint64_t q = put(PB, 0x400, "typed", 5);
    CapTransferDescriptor d = xd(A_FREE, CAP_XFER_COPY);
    uint64_t rp = put_xfer(PA, 0x480, "here", 4, &d, 1);
    push(PB, call_as(IFACE_B_TO_A, B_CLI_A, 9, 600, q, 5, RES(0), 128));
    push(PB, call_as(IFACE_A_TO_B, B_CLI_A, 9, 601, q, 5, RES(1), 128));
    push(PA, call(A_EP, 0, 602, mp, sizeof mint, RES(0), 128, 0));
    push(PA, recv_(A_EP, 603, RES(1), RECV_BUF));
    push(PA, ret(A_EP, 1, 604, rp, 4, 1, 0));
    tmpl(PB, 0, call_as(MINT_IFACE, B_FREE, 1, 605, q, 5, RES(2), 128));
    tmpl(PB, 1, call_as(IFACE_B_TO_A, B_FREE, 1, 606, q, 5, RES(3), 128));
    tmpl(PA, 0, recv_(A_EP, 607, RES(2), RECV_BUF));
    tmpl(PA, 1, ret(A_EP, 2, 608, 0, 0, 0, 0));
    enter_b();
    enter_a();
    load(PB, 0, 2);
    load(PA, 0, 2);
    drain_b();
    emit("50_typed_facets");
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
    seed_nop();
    seed_nop_full_sq();
    seed_null_call();
    seed_null_echo();
    seed_null_mint();
    seed_mint_table_full();
    seed_release();
    seed_opcodes();
    seed_reserved_nonzero();
    seed_bad_params();
    seed_bad_result();
    seed_xfer_malformed();
    seed_move_reserved();
    seed_sq_overrun();
    seed_cq_head_corrupt();
    seed_cq_full();
    seed_ep_self_call();
    seed_ep_recv_first();
    seed_ep_xfer_copy_move();
    seed_ep_a_to_b();
    seed_ep_b_to_a();
    seed_ep_exception();
    seed_ep_return_bad();
    seed_ep_disconnect();
    seed_exit_server();
    seed_exit_caller();
    seed_transfer_rejected();
    seed_recv_buffer_small();
    seed_many_calls();
    seed_peer_exit_with_own_client_queued();
    seed_close_with_own_client_queued();
    seed_thread_ring();
    seed_thread_stale_reply();
    seed_thread_exit_withdraws();
    seed_net_config();
    seed_net_listen();
    seed_net_auth_transfer();
    seed_net_accept_exit();
    seed_net_accept_close();
    seed_net_listener_transfer();
    seed_net_socket();
    seed_net_terminal();
    seed_net_idle_reset();
    seed_net_hostile();
    seed_net_hostile_objects();
    seed_net_send_after_peer_reset();
    seed_net_full_table();
    seed_net_idle_rearm();
    seed_typed_facets();
    printf("gen-ring-corpus: wrote %u seeds to %s\n", nfiles, outdir);
    return 0;
}
