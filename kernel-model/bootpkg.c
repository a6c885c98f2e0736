/*
 * bootpkg.c - the BootPackage kernel capability: read-only access to the
 * boot manifest bytes (upstream: init reads bounded manifest chunks).
 *
 * Methods (schema/capos.capnp, upstream):
 *   @0 manifestSize () -> (size :UInt64)
 *   @1 readManifest (offset :UInt64, maxBytes :UInt32) -> (data :Data)
 * A read past the end returns the bytes that exist (possibly none); at
 * most BOOTPKG_CHUNK bytes are returned per call.
 */
#include "kmodel.h"

#define BOOTPKG_CHUNK 16384u

/* Ordinals and layouts from the generated capos.capnp.h. */
enum {
    BOOTPKG_SIZE = CAPOS_BOOT_PACKAGE_MANIFEST_SIZE_METHOD_ID,
    BOOTPKG_READ = CAPOS_BOOT_PACKAGE_READ_MANIFEST_METHOD_ID,
};

struct bootpkg {
    struct k_object obj;
    const uint8_t *bytes; /* owned by the boot caller, outlives the model */
    size_t len;
};

static int bootpkg_call(struct k_object *obj, struct k_call *c)
{
    struct bootpkg *bp = (struct bootpkg *)obj;
    if (c->method_id != BOOTPKG_SIZE && c->method_id != BOOTPKG_READ)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "BootPackage has no such method");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    capnp_builder b;
    capnp_struct_builder res;
    if (c->method_id == BOOTPKG_SIZE) {
        if (k_call_result_begin(
                c, &b, CAPOS_BOOT_PACKAGE_MANIFEST_SIZE_RESULTS_DATA_WORDS,
                CAPOS_BOOT_PACKAGE_MANIFEST_SIZE_RESULTS_POINTERS, &res) != 0)
            return CAP_ERR_INVALID_RESULT_BUFFER;
        capos_BootPackage_manifestSize_Results_set_size(&res, bp->len);
        return k_call_result_end(c, &b);
    }
    uint64_t off = capos_BootPackage_readManifest_Params_get_offset(&root);
    uint32_t max = capos_BootPackage_readManifest_Params_get_maxBytes(&root);
    if (max > BOOTPKG_CHUNK)
        max = BOOTPKG_CHUNK;
    size_t n = off >= bp->len ? 0 : bp->len - off;
    if (n > max)
        n = max;
    if (k_call_result_begin(
            c, &b, CAPOS_BOOT_PACKAGE_READ_MANIFEST_RESULTS_DATA_WORDS,
            CAPOS_BOOT_PACKAGE_READ_MANIFEST_RESULTS_POINTERS, &res) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    capos_BootPackage_readManifest_Results_set_data(
        &res, n ? (const void *)(bp->bytes + off) : "", n);
    return k_call_result_end(c, &b);
}

static void bootpkg_destroy(struct k_object *obj)
{
    port_free(obj);
}

static const struct k_object_ops bootpkg_ops = {
    .name = "BootPackage",
    .interface_id = K_IFACE_BOOT_PACKAGE,
    .call = bootpkg_call,
    .destroy = bootpkg_destroy,
};

/* Give p a BootPackage cap over bytes[0..len) (not copied: the caller
 * keeps them alive for the model's lifetime). */
int bootpkg_grant(struct k_process *p, const uint8_t *bytes, size_t len,
                  uint32_t *out_id)
{
    struct bootpkg *bp = port_alloc(sizeof *bp);
    if (!bp)
        return CAP_ERR_INVOKE_FAILED;
    k_obj_init(&bp->obj, &bootpkg_ops, 0);
    bp->bytes = bytes;
    bp->len = len;
    return k_obj_grant(p, &bp->obj, out_id);
}
