/*
 * gen-ring-seeds-ep.c - ring_dispatch seeds of endpoints: calls, RECV,
 * RETURN and exceptions between A and B, transfers, closing endpoints and
 * exiting servers and callers, rejected transfers and small buffers, many
 * calls, the regression seeds of fixed model bugs, and thread T's own
 * ring. gen-ring-corpus.c describes the input and the caps.
 */
#include <stdint.h>
#include <string.h>

#include "gen-ring-corpus.h"

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

/* Regression seeds of fixed model bugs */

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
/* Thread T's own ring */

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

/* Write the seeds of this file, in corpus order. */
void seeds_ep(void)
{
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
}
