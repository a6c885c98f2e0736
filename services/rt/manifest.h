/*
 * manifest.h - capos-rt: read the boot manifest through a BootPackage cap
 * (services that read their kernelParams sections, e.g. credential-store).
 */
#ifndef CAPOS_RT_MANIFEST_H
#define CAPOS_RT_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "capos_rt.h"

#define CAPOS_MANIFEST_MAX (1u << 20) /* largest manifest read (1 MiB) */
#define CAPOS_MANIFEST_CHUNK 8192u    /* readManifest chunk */

/*
 * Read the whole manifest through boot (a BootPackage cap) into a heap
 * buffer *out of *len bytes (the caller frees it with capos_free).
 * Returns 0, CAPOS_RT_E_NO_MEMORY, a CAP_ERR_* / CAPNP_E_* code of a
 * failed call, or CAP_ERR_INVALID_REQUEST when the size is 0 or above
 * CAPOS_MANIFEST_MAX or a chunk is malformed. Nothing is kept on error.
 */
int capos_manifest_read(capos_cap_t boot, uint8_t **out, size_t *len);

#endif /* CAPOS_RT_MANIFEST_H */
