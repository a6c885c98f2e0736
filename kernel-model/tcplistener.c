/*
 * tcplistener.c - TcpListener: a listening host socket for one forwarded
 * guest port (docs/net.md). accept completes at once when a connection
 * waits, else it is a pending call completed from k_net_ready; close (or
 * the last reference) closes the host listener and frees the guest port,
 * and waiting accepts answer error closed. A waiting accept holds a
 * reference on the listener; a caller that exits first cancels it.
 */
#include "kmodel.h"

/* Ordinals and layouts from the generated capos.capnp.h. */
enum {
    TCPLISTENER_ACCEPT = CAPOS_TCP_LISTENER_ACCEPT_METHOD_ID,
    TCPLISTENER_CLOSE = CAPOS_TCP_LISTENER_CLOSE_METHOD_ID,
};

/* accept's result: the TcpAcceptResult, its SocketAddress and the
 * address text (a dotted quad and its NUL: 16 bytes at most), then one
 * CapTransferResult record. */
#define TCPLISTENER_ACCEPT_BYTES                                               \
    (NET_RES_BYTES(CAPOS_TCP_ACCEPT_RESULT_DATA_WORDS,                         \
                   CAPOS_TCP_ACCEPT_RESULT_POINTERS) +                         \
     8u * (CAPOS_SOCKET_ADDRESS_DATA_WORDS + CAPOS_SOCKET_ADDRESS_POINTERS) +  \
     16u + (uint32_t)sizeof(CapTransferResult))
_Static_assert(TCPLISTENER_ACCEPT_BYTES == 96, "docs/net.md: accept needs 96");

struct tcplistener_wait {
    struct k_pending pd;
    struct tcplistener *l;
    struct tcplistener_wait *next;
};

struct tcplistener {
    struct k_object obj;
    struct net_owner own;
    port_tcp_t *h; /* NULL once closed */
    struct net_fwd *fwd;
    struct tcplistener_wait *head, *tail;
    uint32_t nwait;
};

static const struct k_object_ops tcplistener_ops;

/* accept's TcpAcceptResult into buf: error err when err >= 0, else
 * accepted: the socket as result cap 0 and cn's peer address. Returns its
 * length or CAP_ERR_INVALID_RESULT_BUFFER. */
static int tcplistener_result(uint8_t *buf, uint32_t cap,
                              const struct tcpsocket_conn *cn, int err)
{
    capnp_builder b;
    capnp_struct_builder s, peer;
    if (net_res_begin(&b, buf, cap, CAPOS_TCP_ACCEPT_RESULT_DATA_WORDS,
                      CAPOS_TCP_ACCEPT_RESULT_POINTERS, &s) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (err >= 0) {
        capos_TcpAcceptResult_set_error(&s, (uint16_t)err);
        return net_res_end(&b);
    }
    capos_TcpAcceptResult_init_accepted(&s);
    if (capos_TcpAcceptResult_accepted_set_socket(&s, 0) != 0 ||
        capos_TcpAcceptResult_accepted_init_peer(&s, &peer) != 0 ||
        capos_SocketAddress_set_address(&peer, cn->addr, k_strlen(cn->addr)) !=
            0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    capos_SocketAddress_set_port(&peer, cn->port);
    return net_res_end(&b);
}

/*
 * Take one connection of l as a new TcpSocket and build accept's result
 * into buf. Returns the length with *out (its creation reference), 0 when
 * no connection waits, or a negative code (closed: error result built).
 */
static int tcplistener_take(struct tcplistener *l, uint8_t *buf, uint32_t cap,
                            struct k_object **out)
{
    *out = NULL;
    if (!l->h)
        return tcplistener_result(buf, cap, NULL, NET_CLOSED);
    struct tcpsocket_conn *cn = tcpsocket_conn_accept(l->h, l->fwd->idle_s);
    if (!cn)
        return 0; /* none waits (or no memory): the next event retries */
    *out = tcpsocket_new(cn);
    if (!*out) {
        tcpsocket_conn_free(cn);
        return 0;
    }
    int len = tcplistener_result(buf, cap, cn, -1);
    K_ASSERT(len > 0, "accept result does not fit its buffer");
    return len;
}

static void tcplistener_watch(struct tcplistener *l)
{
    if (l->h)
        port_tcp_watch(l->h, l->head != NULL);
}

/* Complete waiting accepts while connections (or the close) allow. */
static void tcplistener_service(struct tcplistener *l)
{
    k_obj_ref(&l->obj);
    while (l->head) {
        struct k_object *so;
        int n = tcplistener_take(l, net_msg, sizeof net_msg, &so);
        if (n == 0)
            break;
        struct tcplistener_wait *a = l->head;
        l->head = a->next;
        if (!l->head)
            l->tail = NULL;
        l->nwait--;
        if (so) {
            /* A full table or buffer drops the connection. */
            (void)k_pending_done_caps(&a->pd, net_msg, (uint32_t)n, &so, 1);
            k_obj_unref(so);
        } else {
            k_pending_done_result(&a->pd, net_msg, (uint32_t)n);
        }
        port_free(a);
        k_obj_unref(&l->obj);
    }
    tcplistener_watch(l);
    k_obj_unref(&l->obj);
}

static void tcplistener_ready(struct net_owner *o)
{
    tcplistener_service(NET_OF(o, struct tcplistener, own));
}

static void tcplistener_accept_cancel(struct k_pending *pd)
{
    struct tcplistener_wait *a = (struct tcplistener_wait *)pd;
    struct tcplistener *l = a->l;
    struct tcplistener_wait **pp = &l->head;
    struct tcplistener_wait *prev = NULL;
    while (*pp != a) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    *pp = a->next;
    if (l->tail == a)
        l->tail = prev;
    l->nwait--;
    port_free(a);
    tcplistener_watch(l);
    k_obj_unref(&l->obj);
}

static void tcplistener_close(struct tcplistener *l)
{
    if (!l->h)
        return;
    port_tcp_close(l->h);
    l->h = NULL;
    l->fwd->listening = false;
}

static int tcplistener_call(struct k_object *obj, struct k_call *c)
{
    struct tcplistener *l = (struct tcplistener *)obj;
    if (c->method_id >= CAPOS_TCP_LISTENER_METHOD_COUNT)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "TcpListener has no such method");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    if (c->method_id == TCPLISTENER_CLOSE) {
        tcplistener_close(l);
        tcplistener_service(l); /* waiting accepts answer closed */
        return 0;
    }
    if (c->result_len < TCPLISTENER_ACCEPT_BYTES)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (l->h && ct_free_count(&c->proc->caps) < 1)
        return CAP_ERR_TRANSFER_REJECTED;
    if (!l->head) {
        struct k_object *so;
        int n = tcplistener_take(l, c->result, c->result_cap, &so);
        if (n != 0) {
            if (so)
                c->result_caps[c->nresult_caps++] = so;
            return n;
        }
    }
    if (l->nwait == NET_ACCEPTS_MAX)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpListener.accept: too many accepts "
                                "waiting on this listener (at most 8)");
    struct tcplistener_wait *a = port_alloc(sizeof *a);
    if (!a)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpListener.accept: out of kernel memory");
    a->l = l;
    k_obj_ref(&l->obj);
    k_pending_add(&a->pd, c, tcplistener_accept_cancel);
    if (l->tail)
        l->tail->next = a;
    else
        l->head = a;
    l->tail = a;
    l->nwait++;
    tcplistener_watch(l);
    return K_CALL_PENDING;
}

static void tcplistener_destroy(struct k_object *obj)
{
    struct tcplistener *l = (struct tcplistener *)obj;
    K_ASSERT(l->head == NULL, "listener destroyed with accepts waiting");
    tcplistener_close(l);
    port_free(l);
}

static const struct k_object_ops tcplistener_ops = {
    .name = "TcpListener",
    .interface_id = K_IFACE_TCP_LISTENER,
    .call = tcplistener_call,
    .destroy = tcplistener_destroy,
};

/*
 * A listener on forward fw (its guest port not yet listening) with the
 * given backlog. Returns 0 and *out (its creation reference),
 * PORT_TCP_IN_USE / PORT_TCP_FAILED from the host, or
 * CAP_ERR_INVOKE_FAILED out of memory.
 */
int tcplistener_new(struct net_fwd *fw, uint16_t backlog, struct k_object **out)
{
    struct tcplistener *l = port_alloc(sizeof *l);
    if (!l)
        return CAP_ERR_INVOKE_FAILED;
    l->own.ready = tcplistener_ready;
    l->fwd = fw;
    uint16_t bound = 0;
    int r = port_tcp_listen(fw->addr, fw->host, fw->guest, backlog, &l->own,
                            &l->h, &bound);
    if (r < 0) {
        port_free(l);
        return r;
    }
    k_obj_init(&l->obj, &tcplistener_ops, 0);
    *out = &l->obj;
    return 0;
}
