/*
 * netmgr.c - NetworkManager: broad network authority (upstream name):
 * listen on any forwarded guest port, and the simulated guest network
 * configuration (docs/net.md). Never meant for shells.
 */
#include "kmodel.h"

enum { NM_GET_CONFIG = 0, NM_LISTEN_TCP = 1 };

/* NetworkConfig (1 word, 2 pointers): address ptr0, prefixLength u8 @0,
 * gateway ptr1. The simulated guest network is QEMU user-mode's. */
static int netmgr_config(struct k_call *c)
{
    capnp_builder b;
    capnp_struct_builder s;
    if (net_res_begin(&b, c->result, c->result_cap, 1, 2, &s) != 0 ||
        capnp_set_text(&s, 0, "10.0.2.15", 9) != 0 ||
        capnp_set_text(&s, 1, "10.0.2.2", 8) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    capnp_set_u8(&s, 0, 24, 0);
    return net_res_end(&b);
}

static int netmgr_call(struct k_object *obj, struct k_call *c)
{
    (void)obj;
    if (c->method_id > NM_LISTEN_TCP)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "NetworkManager has no such method");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    if (c->method_id == NM_GET_CONFIG)
        return netmgr_config(c);
    int len = k_call_one_cap_fits(c, net_listen_result(c, -1));
    if (len < 0)
        return len;
    int err =
        net_listen(c, capnp_get_u16(&root, 0, 0), capnp_get_u16(&root, 2, 4));
    if (err == NET_NO_MEMORY)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "NetworkManager.listenTcp: out of kernel "
                                "memory");
    return err >= 0 ? net_listen_result(c, err) : len;
}

static void netmgr_destroy(struct k_object *obj)
{
    port_free(obj);
}

static const struct k_object_ops netmgr_ops = {
    .name = "NetworkManager",
    .interface_id = K_IFACE_NETWORK_MANAGER,
    .call = netmgr_call,
    .destroy = netmgr_destroy,
};

/* Give p a NetworkManager. Returns 0 and its CapId, or a CAP_ERR_* code. */
int netmgr_grant(struct k_process *p, uint32_t *out_id)
{
    struct k_object *o = port_alloc(sizeof *o);
    if (!o)
        return CAP_ERR_INVOKE_FAILED;
    k_obj_init(o, &netmgr_ops, 0);
    return k_obj_grant(p, o, out_id);
}
