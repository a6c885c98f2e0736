/*
 * tcpauth.c - TcpListenAuthority: one-shot authority to listen on one
 * guest port, fixed by the grant's badge (upstream kernel source
 * tcpListenAuthority; docs/net.md). listen works once: after it made a
 * listener, a second call answers error alreadyUsed (a refused listen,
 * e.g. addressInUse, does not spend it). port() returns the port.
 */
#include "kmodel.h"

/* Ordinals and layouts from the generated capos.capnp.h. */
enum {
    TCPAUTH_LISTEN = CAPOS_TCP_LISTEN_AUTHORITY_LISTEN_METHOD_ID,
    TCPAUTH_PORT = CAPOS_TCP_LISTEN_AUTHORITY_PORT_METHOD_ID,
};

struct tcpauth {
    struct k_object obj;
    uint16_t port;
    bool used;
};

static int tcpauth_call(struct k_object *obj, struct k_call *c)
{
    struct tcpauth *a = (struct tcpauth *)obj;
    if (c->method_id >= CAPOS_TCP_LISTEN_AUTHORITY_METHOD_COUNT)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "TcpListenAuthority has no such method");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    if (c->method_id == TCPAUTH_PORT) {
        capnp_builder b;
        capnp_struct_builder res;
        if (k_call_result_begin(
                c, &b, CAPOS_TCP_LISTEN_AUTHORITY_PORT_RESULTS_DATA_WORDS,
                CAPOS_TCP_LISTEN_AUTHORITY_PORT_RESULTS_POINTERS, &res) != 0)
            return CAP_ERR_INVALID_RESULT_BUFFER;
        capos_TcpListenAuthority_port_Results_set_port(&res, a->port);
        return k_call_result_end(c, &b);
    }
    /* Room for the listener first, so a spent authority is never lost. */
    int len = net_listen_result(c, -1);
    if (len < 0 ||
        CAP_ALIGN8((uint64_t)len) + sizeof(CapTransferResult) > c->result_len)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (a->used)
        return net_listen_result(c, NET_ALREADY_USED);
    if (ct_free_count(&c->proc->caps) < 1)
        return CAP_ERR_TRANSFER_REJECTED;
    int err = net_listen(
        c, a->port, capos_TcpListenAuthority_listen_Params_get_backlog(&root));
    if (err == NET_NO_MEMORY)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TcpListenAuthority.listen: out of kernel "
                                "memory");
    if (err >= 0)
        return net_listen_result(c, err);
    a->used = true;
    return len;
}

static void tcpauth_destroy(struct k_object *obj)
{
    port_free(obj);
}

static const struct k_object_ops tcpauth_ops = {
    .name = "TcpListenAuthority",
    .interface_id = K_IFACE_TCP_LISTEN_AUTHORITY,
    .call = tcpauth_call,
    .destroy = tcpauth_destroy,
};

/* Give p a one-shot TcpListenAuthority for guest port badge (checked by
 * the caller with net_check_listen_port). */
int tcpauth_grant(struct k_process *p, uint64_t badge, uint32_t *out_id)
{
    struct tcpauth *a = port_alloc(sizeof *a);
    if (!a)
        return CAP_ERR_INVOKE_FAILED;
    a->port = (uint16_t)badge;
    k_obj_init(&a->obj, &tcpauth_ops, 0);
    return k_obj_grant(p, &a->obj, out_id);
}
