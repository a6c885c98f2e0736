/*
 * gen-ring-seeds-ring.c - ring_dispatch seeds of one ring and its rules:
 * NOPs and full SQs, NullCap call, echo and mint, RELEASE, unknown and
 * reserved opcodes and fields, bad params and result buffers, malformed
 * and reserved transfers, SQ overrun, a corrupt CQ head and a full CQ.
 * gen-ring-corpus.c describes the input and the caps.
 */
#include <stdint.h>
#include <string.h>

#include "gen-ring-corpus.h"

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

/* Write the seeds of this file, in corpus order. */
void seeds_ring(void)
{
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
}
