/*
 * schemas.h - the interfaces the system knows by name: the ABI schema's
 * and those of every service schema in services/services.list. Defined
 * by services/schemas.c, which the build generates from the list
 * (tools/gen-services schemas) and links into capos-sim and the bench
 * with the schemas' name tables; for people (a shell's `caps`, --trace),
 * never for authority, which is the interface id itself.
 */
#ifndef CAPOS_RT_SCHEMAS_H
#define CAPOS_RT_SCHEMAS_H

#include <stdint.h>

#include "capos.capnp.h"

/* The interface interface_id (its schema name and method names), or NULL
 * when no schema of the build has it. */
const capnpc_c_interface_info *capos_schema_interface_info(uint64_t id);

#endif /* CAPOS_RT_SCHEMAS_H */
