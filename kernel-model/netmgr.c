/*
 * netmgr.c - NetworkManager: broad network authority (upstream name):
 * listen on any forwarded guest port, and the simulated guest network
 * configuration (docs/net.md). Never meant for shells.
 */
#include "kmodel.h"

/* Ordinals and layouts from the generated capos.capnp.h. */
enum {
    NETMGR_GET_CONFIG = CAPOS_NETWORK_MANAGER_GET_CONFIG_METHOD_ID,
    NETMGR_LISTEN_TCP = CAPOS_NETWORK_MANAGER_LISTEN_TCP_METHOD_ID,
};

/* getConfig's NetworkConfig: the simulated guest network is QEMU
 * user-mode's. */
static int netmgr_config(struct k_call *c)
{
    capnp_builder b;
    capnp_struct_builder res, s;
    if (k_call_result_begin(c, &b, 0, 1, &res) != 0 ||
        capos_NetworkManager_getConfig_Results_init_config(&res, &s) != 0 ||
        capos_NetworkConfig_set_address(&s, "10.0.2.15", 9) != 0 ||
        capos_NetworkConfig_set_gateway(&s, "10.0.2.2", 8) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    capos_NetworkConfig_set_prefixLength(&s, 24);
    return k_call_result_end(c, &b);
}

static int netmgr_call(struct k_object *obj, struct k_call *c)
{
    (void)obj;
    if (c->method_id >= CAPOS_NETWORK_MANAGER_METHOD_COUNT)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "NetworkManager has no such method");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    if (c->method_id == NETMGR_GET_CONFIG)
        return netmgr_config(c);
    int len = k_call_one_cap_fits(c, net_listen_result(c, -1));
    if (len < 0)
        return len;
    int err =
        net_listen(c, capos_NetworkManager_listenTcp_Params_get_port(&root),
                   capos_NetworkManager_listenTcp_Params_get_backlog(&root));
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
