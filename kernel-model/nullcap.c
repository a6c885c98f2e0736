/*
 * nullcap.c - the measurement-only null capability (upstream NullCap).
 *
 * Methods (docs/abi.md §7):
 *   @0 call ()          -> ()         does nothing; the CALL benchmark target
 *   @1 echo (bytes)     -> (bytes)    returns the params verbatim
 *   @2 mint ()          -> () + cap   returns a new null cap as a result cap
 * Caps transferred to it are accepted and dropped (a move releases them).
 */
#include "kmodel.h"

/* Ordinals from the generated capos.capnp.h. */
enum {
    NULLCAP_CALL = CAPOS_NULL_CAP_CALL_METHOD_ID,
    NULLCAP_ECHO = CAPOS_NULL_CAP_ECHO_METHOD_ID,
    NULLCAP_MINT = CAPOS_NULL_CAP_MINT_METHOD_ID,
};

static const struct k_object_ops nullcap_ops;

static struct k_object *nullcap_new(void)
{
    struct k_object *o = port_alloc(sizeof *o);
    if (o)
        k_obj_init(o, &nullcap_ops, 0);
    return o;
}

static int nullcap_call(struct k_object *obj, struct k_call *c)
{
    (void)obj;
    switch (c->method_id) {
    case NULLCAP_CALL:
        return 0;
    case NULLCAP_ECHO:
        if (c->params_len > c->result_cap)
            return CAP_ERR_INVALID_RESULT_BUFFER;
        k_memcpy(c->result, c->params, c->params_len);
        return (int)c->params_len;
    case NULLCAP_MINT: {
        struct k_object *o = nullcap_new();
        if (!o)
            return CAP_ERR_INVOKE_FAILED;
        c->result_caps[c->nresult_caps++] = o;
        return 0;
    }
    default:
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "NullCap has no such method");
    }
}

static void nullcap_destroy(struct k_object *obj)
{
    port_free(obj);
}

static const struct k_object_ops nullcap_ops = {
    .name = "NullCap",
    .interface_id = K_IFACE_NULLCAP,
    .call = nullcap_call,
    .destroy = nullcap_destroy,
};

/* Give p a fresh null cap. Returns 0 and its CapId, or a CAP_ERR_* code. */
int nullcap_grant(struct k_process *p, uint32_t *out_id)
{
    struct k_object *o = nullcap_new();
    if (!o)
        return CAP_ERR_INVOKE_FAILED;
    return k_obj_grant(p, o, out_id);
}
