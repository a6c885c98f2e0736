/*
 * console.c - the Console kernel capability: bytes to the port console.
 *
 * Methods (schema/capos.capnp, upstream):
 *   @0 write (data :Data) -> ()
 *   @1 writeLine (text :Text) -> ()     text then "\n"
 * Malformed params: CapException invalidArgument; other ordinals:
 * unimplemented.
 */
#include "kmodel.h"

/* Ordinals and layouts from the generated capos.capnp.h. */
enum {
    CONSOLE_WRITE = CAPOS_CONSOLE_WRITE_METHOD_ID,
    CONSOLE_WRITE_LINE = CAPOS_CONSOLE_WRITE_LINE_METHOD_ID,
};

static const struct k_object_ops console_ops;

/*
 * Decode a Console call's params: *bytes and *len the data of write or the
 * text of writeLine. Returns 0, or the CQE result to answer with (an
 * unimplemented or invalidArgument CapException, a params error). Shared
 * with the terminal's Console facet (termconsole.c).
 */
int console_params(struct k_call *c, const uint8_t **bytes, size_t *len)
{
    if (c->method_id != CONSOLE_WRITE && c->method_id != CONSOLE_WRITE_LINE)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "Console has no such method");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    if (c->method_id == CONSOLE_WRITE)
        r = capos_Console_write_Params_get_data(&root, bytes, len);
    else
        r = capos_Console_writeLine_Params_get_text(&root, (const char **)bytes,
                                                    len);
    if (r < 0)
        return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                c->method_id == CONSOLE_WRITE
                                    ? "Console.write: data is not Data"
                                    : "Console.writeLine: text is not Text");
    return 0;
}

static int console_call(struct k_object *obj, struct k_call *c)
{
    (void)obj;
    const uint8_t *bytes;
    size_t len;
    int r = console_params(c, &bytes, &len);
    if (r != 0)
        return r;
    if (len)
        port_console_write((const char *)bytes, len);
    if (c->method_id == CONSOLE_WRITE_LINE)
        port_console_write("\n", 1);
    return 0;
}

static void console_destroy(struct k_object *obj)
{
    port_free(obj);
}

static const struct k_object_ops console_ops = {
    .name = "Console",
    .interface_id = K_IFACE_CONSOLE,
    .call = console_call,
    .destroy = console_destroy,
};

/* Give p a Console cap. Returns 0 and its CapId, or a CAP_ERR_* code. */
int console_grant(struct k_process *p, uint32_t *out_id)
{
    struct k_object *o = port_alloc(sizeof *o);
    if (!o)
        return CAP_ERR_INVOKE_FAILED;
    k_obj_init(o, &console_ops, 0);
    return k_obj_grant(p, o, out_id);
}
