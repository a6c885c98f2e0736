/*
 * gen-ring-seeds-net.c - ring_dispatch seeds of the network caps
 * (NetworkManager, TcpListenAuthority, listeners, sockets, terminals,
 * idle timeouts, hostile messages, full tables) and of typed facets.
 * gen-ring-corpus.c describes the input and the caps.
 */
#include <stdint.h>
#include <string.h>

#include "gen-ring-corpus.h"

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

/* Write the seeds of this file, in corpus order. */
void seeds_net(void)
{
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
}
