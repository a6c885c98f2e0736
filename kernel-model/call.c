/*
 * call.c - a kernel object's side of a CALL: its params, its result and
 * the capability exceptions it raises.
 *
 * Once a live target refuses a call (bad argument by the documented
 * contract, unknown method, target gone), the result is a serialized
 * CapException {type, message} in the caller's result buffer and the CQE
 * result CAP_ERR_APPLICATION_EXCEPTION (upstream's second error layer;
 * docs/abi.md §3), built with the generated capos.capnp.h.
 */
#include "capos/capnp.h"
#include "kmodel.h"

/*
 * Build the exception into the call's result scratch and return
 * CAP_ERR_APPLICATION_EXCEPTION; the ring copies it out (truncated to the
 * caller's buffer, then CAP_ERR_APPLICATION_EXCEPTION_TRUNCATED).
 */
int k_call_exception(struct k_call *c, enum k_exc_type type, const char *msg)
{
    capnp_builder b;
    capnp_struct_builder root;
    size_t len = 0;
    capnp_builder_init(&b, k.scratch_result, CAP_MAX_RESULT);
    if (capos_CapException_init_root(&b, &root) == 0) {
        capos_CapException_set_type(&root, (uint16_t)type);
        capos_CapException_set_message(&root, msg, k_strlen(msg));
    }
    if (capnp_finish(&b, &len) != 0)
        len = 0;
    c->exc_len = (uint32_t)len;
    return CAP_ERR_APPLICATION_EXCEPTION;
}

/*
 * Raise unimplemented for a method ordinal iface does not have, listing
 * the ones it has: "<iface> has no such method (0 name0, 1 name1, ...)",
 * names[0..n) indexed by ordinal, so the ordinals printed are the
 * schema's. Returns what k_call_exception returns.
 */
int k_call_no_method(struct k_call *c, const char *iface,
                     const char *const *names, unsigned n)
{
    char buf[128];
    struct k_msg m = {buf, sizeof buf, 0};
    k_msg_str(&m, iface);
    k_msg_str(&m, " has no such method (");
    for (unsigned i = 0; i < n; i++) {
        k_msg_str(&m, i ? ", " : "");
        k_msg_u64(&m, i);
        k_msg_str(&m, " ");
        k_msg_str(&m, names[i]);
    }
    k_msg_str(&m, ")");
    return k_call_exception(c, K_EXC_UNIMPLEMENTED, buf);
}

/*
 * Parse the params of a kernel-object call as a Cap'n Proto message and
 * return its root struct. Returns 0, or a CapException of type
 * invalidArgument (CAP_ERR_APPLICATION_EXCEPTION) for a malformed message.
 * An empty params buffer reads as an empty struct (all defaults).
 */
int k_call_params(struct k_call *c, capnp_message *m, capnp_struct *root)
{
    /* Table: one segment of one word, holding a null root pointer. */
    static const uint64_t empty[2] = {(uint64_t)1 << 32, 0};
    const void *buf = c->params_len ? (const void *)c->params : empty;
    size_t len = c->params_len ? c->params_len : sizeof empty;
    capnp_read_options opt = {.traversal_limit_words = 64 * 1024,
                              .nesting_limit = 16};
    if (capnp_msg_init(m, buf, len, &opt) != 0 || capnp_msg_root(m, root) != 0)
        return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                "params are not a valid Cap'n Proto message");
    return 0;
}

/*
 * Start a result message in the call's result scratch, limited to the
 * caller's result buffer. Finish with k_call_result_end.
 */
int k_call_result_begin(struct k_call *c, capnp_builder *b, uint16_t dwords,
                        uint16_t nptrs, capnp_struct_builder *root)
{
    capnp_builder_init(b, c->result, c->result_cap);
    return capnp_init_root(b, dwords, nptrs, root);
}

/* The result length, or CAP_ERR_INVALID_RESULT_BUFFER if it did not fit. */
int k_call_result_end(struct k_call *c, capnp_builder *b)
{
    (void)c;
    size_t len = 0;
    if (capnp_finish(b, &len) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    return (int)len;
}
