/*
 * sim/port/net_uv.h - host-only helpers of the hosted port's TCP (sim/port/net_uv.c).
 * Nothing under kernel-model/ or services/ may include this header.
 */
#ifndef CAPOS_SIM_NET_UV_H
#define CAPOS_SIM_NET_UV_H

#include <stdbool.h>
#include <stdint.h>

/* Host sockets (listeners and connections) not yet fully closed. */
unsigned sim_net_live(void);

/* Open host listeners (bound, not closing) of guest port guest_port: at
 * most one while the model keeps its guest-port table straight. */
unsigned sim_net_listening(uint16_t guest_port);

/* The host port the open listener of guest_port is bound to, 0 if none
 * (for a host-side client of a forward whose host port was 0). */
uint16_t sim_net_bound_port(uint16_t guest_port);

/* Listeners bound for guest_port since the start (counted for the first
 * 16 guest ports that bind). */
uint64_t sim_net_binds(uint16_t guest_port);

/* Open host connections (accepted, not closing). */
unsigned sim_net_open_conns(void);

/* true: no "capos-sim: tcp ADDR:PORT -> guest :N" line on stderr when a
 * listener binds (tests that bind many). */
void sim_net_set_quiet(bool quiet);

/* Connections reset because their output was not taken within the
 * bound after their close (docs/net.md "Closing"), since the start. */
uint64_t sim_net_reset_undelivered(void);

/* Close every host socket at once (sim_port_fini calls it). */
void sim_net_close(void);

#endif /* CAPOS_SIM_NET_UV_H */
