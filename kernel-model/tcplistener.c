/*
 * tcplistener.c - TcpListener: a listening host socket for one forwarded
 * guest port (docs/net.md). accept completes at once when a connection
 * waits, else it is a pending call completed from k_net_ready; close (or
 * the last reference) closes the host listener and frees the guest port,
 * and waiting accepts answer error closed. A waiting accept holds a
 * reference on the listener; a caller that exits first cancels it.
 */
#include "kmodel.h"

enum { TL_ACCEPT = 0, TL_CLOSE = 1 };

/* accept's result: TcpAcceptResult (1 word, 2 pointers) 24, SocketAddress
 * 16, its text 16 after the 24 bytes of framing, then one
 * CapTransferResult record. */
#define NET_ACCEPT_BYTES (80u + (uint32_t)sizeof(CapTransferResult))

struct net_accept {
    struct k_pending pd;
    struct net_listener *l;
    struct net_accept *next;
};

struct net_listener {
    struct k_object obj;
    struct net_owner own;
    port_tcp_t *h; /* NULL once closed */
    struct net_fwd *fwd;
    struct net_accept *head, *tail;
    uint32_t nwait;
};

static const struct k_object_ops listener_ops;

/* TcpAcceptResult: which u16 @0 (accepted, error), socket cap ptr0, peer
 * SocketAddress ptr1 (address ptr0, port u16 @0), error u16 @2. */
static int accept_result(uint8_t *buf, uint32_t cap, const struct net_conn *cn,
                         int err)
{
    capnp_builder b;
    capnp_struct_builder s, peer;
    if (net_res_begin(&b, buf, cap, 1, 2, &s) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (err >= 0) {
        capnp_set_u16(&s, 0, 1, 0);
        capnp_set_u16(&s, 2, (uint16_t)err, 0);
        return net_res_end(&b);
    }
    if (capnp_set_cap(&s, 0, 0) != 0 ||
        capnp_init_struct(&s, 1, 1, 1, &peer) != 0 ||
        capnp_set_text(&peer, 0, cn->addr, k_strlen(cn->addr)) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    capnp_set_u16(&peer, 0, cn->port, 0);
    return net_res_end(&b);
}

/*
 * Take one connection of l as a new TcpSocket and build accept's result
 * into buf. Returns the length with *out (its creation reference), 0 when
 * no connection waits, or a negative code (closed: error result built).
 */
static int listener_take(struct net_listener *l, uint8_t *buf, uint32_t cap,
                         struct k_object **out)
{
    *out = NULL;
    if (!l->h)
        return accept_result(buf, cap, NULL, NET_CLOSED);
    struct net_conn *cn = net_conn_accept(l->h, l->fwd->idle_s);
    if (!cn)
        return 0; /* none waits (or no memory): the next event retries */
    *out = tcpsocket_new(cn);
    if (!*out) {
        net_conn_free(cn);
        return 0;
    }
    int len = accept_result(buf, cap, cn, -1);
    K_ASSERT(len > 0, "accept result does not fit its buffer");
    return len;
}

static void listener_watch(struct net_listener *l)
{
    if (l->h)
        port_tcp_watch(l->h, l->head != NULL);
}

/* Complete waiting accepts while connections (or the close) allow. */
static void listener_service(struct net_listener *l)
{
    k_obj_ref(&l->obj);
    while (l->head) {
        struct k_object *so;
        int n = listener_take(l, net_msg, sizeof net_msg, &so);
        if (n == 0)
            break;
        struct net_accept *a = l->head;
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
    listener_watch(l);
    k_obj_unref(&l->obj);
}

static void listener_ready(struct net_owner *o)
{
    listener_service(NET_OF(o, struct net_listener, own));
}

static void accept_cancel(struct k_pending *pd)
{
    struct net_accept *a = (struct net_accept *)pd;
    struct net_listener *l = a->l;
    struct net_accept **pp = &l->head;
    struct net_accept *prev = NULL;
    while (*pp != a) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    *pp = a->next;
    if (l->tail == a)
        l->tail = prev;
    l->nwait--;
    port_free(a);
    listener_watch(l);
    k_obj_unref(&l->obj);
}

static void listener_close(struct net_listener *l)
{
    if (!l->h)
        return;
    port_tcp_close(l->h);
    l->h = NULL;
    l->fwd->listening = false;
}

static int listener_call(struct k_object *obj, struct k_call *c)
{
    struct net_listener *l = (struct net_listener *)obj;
    if (c->method_id > TL_CLOSE)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "TcpListener has no such method");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    if (c->method_id == TL_CLOSE) {
        listener_close(l);
        listener_service(l); /* waiting accepts answer closed */
        return 0;
    }
    if (c->result_len < NET_ACCEPT_BYTES)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (l->h && ct_free_count(&c->proc->caps) < 1)
        return CAP_ERR_TRANSFER_REJECTED;
    if (!l->head) {
        struct k_object *so;
        int n = listener_take(l, c->result, c->result_cap, &so);
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
    struct net_accept *a = port_alloc(sizeof *a);
    if (!a)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpListener.accept: out of kernel memory");
    a->l = l;
    k_obj_ref(&l->obj);
    k_pending_add(&a->pd, c, accept_cancel);
    if (l->tail)
        l->tail->next = a;
    else
        l->head = a;
    l->tail = a;
    l->nwait++;
    listener_watch(l);
    return K_CALL_PENDING;
}

static void listener_destroy(struct k_object *obj)
{
    struct net_listener *l = (struct net_listener *)obj;
    K_ASSERT(l->head == NULL, "listener destroyed with accepts waiting");
    listener_close(l);
    port_free(l);
}

static const struct k_object_ops listener_ops = {
    .name = "TcpListener",
    .interface_id = K_IFACE_TCP_LISTENER,
    .call = listener_call,
    .destroy = listener_destroy,
};

/*
 * A listener on forward fw (its guest port not yet listening) with the
 * given backlog. Returns 0 and *out (its creation reference),
 * PORT_TCP_IN_USE / PORT_TCP_FAILED from the host, or
 * CAP_ERR_INVOKE_FAILED out of memory.
 */
int tcplistener_new(struct net_fwd *fw, uint16_t backlog, struct k_object **out)
{
    struct net_listener *l = port_alloc(sizeof *l);
    if (!l)
        return CAP_ERR_INVOKE_FAILED;
    l->own.ready = listener_ready;
    l->fwd = fw;
    uint16_t bound = 0;
    int r = port_tcp_listen(fw->addr, fw->host, fw->guest, backlog, &l->own,
                            &l->h, &bound);
    if (r < 0) {
        port_free(l);
        return r;
    }
    k_obj_init(&l->obj, &listener_ops, 0);
    *out = &l->obj;
    return 0;
}
