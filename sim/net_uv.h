/*
 * sim/net_uv.h - host-only helpers of the hosted port's TCP (sim/net_uv.c).
 * Nothing under kernel-model/ or services/ may include this header.
 */
#ifndef CAPOS_SIM_NET_UV_H
#define CAPOS_SIM_NET_UV_H

#include <stdbool.h>

/* Host sockets (listeners and connections) not yet fully closed. */
unsigned sim_net_live(void);

/* true: no "capos-sim: tcp ADDR:PORT -> guest :N" line on stderr when a
 * listener binds (tests that bind many). */
void sim_net_set_quiet(bool quiet);

/* Close every host socket at once (sim_port_fini calls it). */
void sim_net_close(void);

#endif /* CAPOS_SIM_NET_UV_H */
