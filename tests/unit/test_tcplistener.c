/*
 * test_tcplistener.c - TcpListener (kernel-model/tcplistener.c): accepts
 * waiting on a thread's own ring, close with accepts waiting, exit with calls
 * pending, the peer address of a connection reset before it was accepted,
 * a waiting connection when the process is out of file descriptors.
 *
 * Over real loopback sockets, driven from the host context through a
 * process's ring (tests/unit/harness_net.h).
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness.h"
#include "harness_net.h"
#include "capos.capnp.h"
#include "net_uv.h"

/* ---- accepts on a thread's own ring (docs/abi.md §16.2) ---------------- */

/* TcpListener.accept submitted on thread t's own ring; *res its buffer. */
static void thread_accept(struct k_process *p, struct k_thread *t, CapRing *r,
                          uint32_t listener, uint64_t ud, uint8_t **res)
{
    static struct params pp;
    hn_p_begin(&pp, 0, 0);
    hn_p_end(&pp);
    uint8_t *pb = h_alloc(p, pp.len + 8);
    memcpy(pb, pp.buf, pp.len);
    *res = h_alloc(p, RES);
    CapSqe s;
    capnpc_c_call_sqe(&s, listener, CAPOS_TCP_LISTENER_ACCEPT_METHOD_ID, 0,
                      h_va(p, pb), (uint32_t)pp.len, h_va(p, *res), RES, ud);
    h_ring_push(r, &s);
    assert_int_equal(k_ring_submit_thread(t), 1);
    assert_int_equal(t->ring.cq_reserved, 1); /* pending, on t's ring */
}

/* Pump the port until ring r has a CQE. */
static bool wait_ring_cqe(CapRing *r, CapCqe *c)
{
    for (int i = 0; i < WAIT_MS; i++) {
        if (h_ring_pop(r, c))
            return true;
        hn_pump();
    }
    return h_ring_pop(r, c);
}

/* The accepted socket of an accept CQE (its cap in p's table). */
static uint32_t accepted_socket(struct k_process *p, const CapCqe *c,
                                const uint8_t *res)
{
    assert_true(c->result > 0);
    assert_int_equal(c->cap_count, 1);
    struct res r = {c->result, (uint8_t *)res, c->cap_count, 0};
    capnp_struct s;
    hn_res_struct(&r, &s);
    assert_int_equal(capos_TcpAcceptResult_which(&s),
                     CAPOS_TCP_ACCEPT_RESULT_WHICH_ACCEPTED);
    CapTransferResult rec;
    memcpy(&rec, res + CAP_ALIGN8((uint32_t)c->result), sizeof rec);
    assert_int_equal(rec.interface_id, CAPOS_TCP_SOCKET_INTERFACE_ID);
    assert_int_equal(ct_lookup(&p->caps, rec.cap_id)->obj->ops->interface_id,
                     CAPOS_TCP_SOCKET_INTERFACE_ID);
    return rec.cap_id;
}

/* Two threads with their own rings each post an accept on one listener:
 * each connection completes the oldest waiting accept on the ring that
 * submitted it (never the process ring nor the sibling's); a thread that
 * exits withdraws its accept, and the next connection goes to the next
 * waiting accept. */
static void a_waiting_accept_completes_on_its_threads_ring(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    uint16_t host = hn_free_port();
    hn_forward(23, host, 0);
    uint32_t l = hn_listen_auth(p, hn_grant_auth(p, 23));
    struct k_thread *main_t;
    assert_int_equal(k_thread_create(p, h_never_runs, NULL, &main_t), 0);
    CapRing *ra, *rb;
    struct k_thread *ta = h_ring_thread(p, &ra);
    struct k_thread *tb = h_ring_thread(p, &rb);
    uint8_t *resa, *resb, *resp;
    thread_accept(p, ta, ra, l, 11, &resa);
    thread_accept(p, tb, rb, l, 12, &resb);
    CapCqe c;
    hn_pump();
    assert_false(h_ring_pop(ra, &c));
    assert_false(h_ring_pop(rb, &c));

    int fd1 = hn_client(host);
    assert_true(wait_ring_cqe(ra, &c));
    assert_int_equal(c.user_data, 11);
    uint32_t s1 = accepted_socket(p, &c, resa);
    assert_int_equal(ta->ring.cq_reserved, 0);
    assert_false(h_ring_pop(rb, &c));
    assert_false(h_cqe(p, &c));
    assert_int_equal(tb->ring.cq_reserved, 1);

    /* B exits with its accept waiting: withdrawn, no CQE anywhere; the
     * next connection waits for an accept from the process ring. */
    k_thread_kill(tb);
    k_sched_reap();
    assert_null(p->pending);
    int fd2 = hn_client(host);
    hn_pump();
    assert_false(h_ring_pop(ra, &c));
    assert_false(h_ring_pop(rb, &c));
    assert_false(h_cqe(p, &c));
    hn_submit0(p, l, CAPOS_TCP_LISTENER_ACCEPT_METHOD_ID, 13, &resp);
    struct res r = hn_finish(p, resp, 13);
    assert_int_equal(r.ncaps, 1);
    assert_false(h_ring_pop(ra, &c));
    assert_int_equal(k.stats.stale_dropped, 0);

    /* The socket A accepted works from the process ring as well. */
    CSEND(fd1, "hi");
    char data[64];
    size_t n;
    uint16_t err;
    assert_int_equal(hn_recv_which(p, s1, 64, data, &n, &err),
                     CAPOS_TCP_RECV_RESULT_WHICH_DATA);
    assert_memory_equal(data, "hi", 2);
    assert_int_equal(k_process_check(p), 0);
    close(fd1);
    close(fd2);
}

static void a_closed_listener_answers_waiting_accepts_closed(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    hn_forward(23, hn_free_port(), 0);
    uint32_t l = hn_listen_auth(p, hn_grant_auth(p, 23));
    uint8_t *res, *cres;
    hn_submit0(p, l, CAPOS_TCP_LISTENER_ACCEPT_METHOD_ID, 5, &res);
    CapCqe c;
    assert_false(h_cqe(p, &c));
    hn_submit0(p, l, CAPOS_TCP_LISTENER_CLOSE_METHOD_ID, 6, &cres);
    struct res r = hn_finish(p, res, 5); /* the waiting accept first */
    capnp_struct s;
    hn_res_struct(&r, &s);
    assert_int_equal(capos_TcpAcceptResult_which(&s),
                     CAPOS_TCP_ACCEPT_RESULT_WHICH_ERROR);
    assert_int_equal(capos_TcpAcceptResult_get_error(&s),
                     CAPOS_NET_ERROR_CLOSED);
    assert_int_equal(hn_finish(p, cres, 6).result, 0);
    r = hn_call0(p, l, CAPOS_TCP_LISTENER_ACCEPT_METHOD_ID);
    hn_res_struct(&r, &s);
    assert_int_equal(capos_TcpAcceptResult_get_error(&s),
                     CAPOS_NET_ERROR_CLOSED);
}

/*
 * A client that connects and resets at once (SO_LINGER 0) before the
 * model ever ran: the host still has the connection in its backlog, and
 * the accepted socket's peer is the client's address, not 0.0.0.0:0.
 */
static void a_connection_reset_before_accept_keeps_its_peer_address(void **s)
{
    (void)s;
    struct k_process *p = h_proc("srv", 0);
    uint16_t host = hn_free_port();
    hn_forward(23, host, 0);
    uint32_t l = hn_listen_auth(p, hn_grant_auth(p, 23));
    int fd = hn_client(host);
    uint16_t port = hn_local_port(fd);
    hn_client_reset(fd);
    usleep(20000); /* the reset reaches the host's backlog first */
    struct accepted a = hn_accept_one(p, l);
    assert_string_equal(a.addr, "127.0.0.1");
    assert_int_equal(a.port, port);
    hn_expect_recv_reset(p, a.sock);
}

/*
 * Out of file descriptors (RLIMIT_NOFILE lowered to the lowest free one),
 * a connection waiting for a waiting accept cannot be taken: it is
 * closed (the client sees the end) instead of being reported again at
 * every loop turn, and the accept keeps waiting; once descriptors are
 * back, the next connection is accepted.
 */
static void out_of_descriptors_a_waiting_connection_is_closed(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    uint16_t host = hn_free_port();
    hn_forward(23, host, 0);
    uint32_t l = hn_listen_auth(p, hn_grant_auth(p, 23));
    uint8_t *res;
    hn_submit0(p, l, CAPOS_TCP_LISTENER_ACCEPT_METHOD_ID, 9, &res);
    CapCqe c;
    assert_false(h_cqe(p, &c));
    int fd = hn_client(host);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int lowest = dup(0);
    assert_true(lowest >= 0);
    close(lowest);
    low = old;
    low.rlim_cur = (rlim_t)lowest;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    hn_expect_closed(fd);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    close(fd);
    assert_false(h_cqe(p, &c));
    int fd2 = hn_client(host);
    struct res r = hn_finish(p, res, 9);
    capnp_struct s;
    hn_res_struct(&r, &s);
    assert_int_equal(capos_TcpAcceptResult_which(&s),
                     CAPOS_TCP_ACCEPT_RESULT_WHICH_ACCEPTED);
    close(fd2);
}

static void exit_with_waiting_accept_recv_and_readline_frees_all(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    uint16_t h23 = hn_free_port(), h24 = hn_free_port();
    struct fwd two[] = {{23, h23, 0, NULL}, {24, h24, 0, NULL}};
    char err[200];
    assert_int_equal(hn_configure(two, 2, err, sizeof err), 0);
    uint32_t l23 = hn_listen_auth(p, hn_grant_auth(p, 23));
    uint32_t l24 = hn_listen_auth(p, hn_grant_auth(p, 24));
    int fd1 = hn_client(h23);
    struct accepted a1 = hn_accept_one(p, l23);
    int fd2 = hn_client(h24);
    struct accepted a2 = hn_accept_one(p, l24);
    uint32_t t = hn_into_terminal(p, a2.sock);
    uint8_t *r1, *r2, *r3;
    hn_submit0(p, l23, CAPOS_TCP_LISTENER_ACCEPT_METHOD_ID, 1, &r1);
    hn_submit_recv(p, a1.sock, 64, 2, &r2);
    hn_submit_readline(p, t, "$ ", CAPOS_ECHO_MODE_VISIBLE, 3, &r3);
    CapCqe c;
    hn_pump();
    assert_false(h_cqe(p, &c));
    assert_non_null(p->pending);
    assert_int_equal(tcpsocket_conns_live(), 2);
    k_process_exit(p, 0);
    assert_int_equal(tcpsocket_conns_live(), 0);
    hn_expect_closed(fd1);
    hn_expect_closed(fd2);
    close(fd1);
    close(fd2);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, hn_setup, hn_teardown)
    const struct CMUnitTest tests[] = {
        T(a_waiting_accept_completes_on_its_threads_ring),
        T(a_closed_listener_answers_waiting_accepts_closed),
        T(exit_with_waiting_accept_recv_and_readline_frees_all),
        T(a_connection_reset_before_accept_keeps_its_peer_address),
        T(out_of_descriptors_a_waiting_connection_is_closed),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
