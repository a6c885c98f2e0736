/*
 * binaries.h - the built-in programs linked into capos-sim (binaries.c).
 */
#ifndef CAPOS_SIM_BINARIES_H
#define CAPOS_SIM_BINARIES_H

#include "port_uv.h"

/* Make every linked-in service bootable by its manifest name. */
void sim_register_builtins(void);

#endif /* CAPOS_SIM_BINARIES_H */
