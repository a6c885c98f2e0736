/*
 * manifest.c - capos-rt: read the boot manifest through BootPackage
 * (manifest.h), in CAPOS_MANIFEST_CHUNK pieces (the same protocol as
 * init's reader, services/init/init.c).
 */
#include "manifest.h"

#include <string.h>

#include "capos.capnp.h"

int capos_manifest_read(capos_cap_t boot, uint8_t **out, size_t *len)
{
    uint8_t *pbuf = capos_alloc(64);
    uint8_t *rbuf = capos_alloc(CAPOS_MANIFEST_CHUNK + 64);
    uint8_t *man = NULL;
    int r = CAPOS_RT_E_NO_MEMORY;
    if (!pbuf || !rbuf)
        goto out;
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message m;
    capnp_struct root;
    capnp_builder_init(&b, pbuf, 64);
    capos_BootPackage_manifestSize_Params_init_root(&b, &p);
    r = capos_rt_call_capnp(boot, CAPOS_BOOT_PACKAGE_MANIFEST_SIZE_METHOD_ID,
                            &b, rbuf, 64, &m, &root);
    if (r < 0)
        goto out;
    uint64_t size = capos_BootPackage_manifestSize_Results_get_size(&root);
    r = CAP_ERR_INVALID_REQUEST;
    if (size == 0 || size > CAPOS_MANIFEST_MAX)
        goto out;
    r = CAPOS_RT_E_NO_MEMORY;
    man = capos_alloc(size);
    if (!man)
        goto out;
    uint64_t off = 0;
    while (off < size) {
        capnp_builder_init(&b, pbuf, 64);
        capos_BootPackage_readManifest_Params_init_root(&b, &p);
        capos_BootPackage_readManifest_Params_set_offset(&p, off);
        capos_BootPackage_readManifest_Params_set_maxBytes(
            &p, CAPOS_MANIFEST_CHUNK);
        r = capos_rt_call_capnp(boot,
                                CAPOS_BOOT_PACKAGE_READ_MANIFEST_METHOD_ID, &b,
                                rbuf, CAPOS_MANIFEST_CHUNK + 64, &m, &root);
        if (r < 0)
            goto out;
        const uint8_t *data;
        size_t n;
        r = CAP_ERR_INVALID_REQUEST;
        if (capos_BootPackage_readManifest_Results_get_data(&root, &data, &n) <
                0 ||
            n == 0 || n > size - off)
            goto out;
        memcpy(man + off, data, n);
        off += n;
    }
    *out = man;
    *len = (size_t)size;
    man = NULL;
    r = 0;
out:
    capos_free(man);
    capos_free(pbuf);
    capos_free(rbuf);
    return r;
}
