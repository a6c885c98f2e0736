/*
 * sim/port/port_uv.h - host-only helpers of the hosted port (sim/port/port_uv.c).
 *
 * The kernel model sees only kernel-model/port.h; the capos-sim program,
 * device backends in sim/, tests and tools use these to set the port up and
 * to reach its libuv loop. Nothing under kernel-model/ or services/ may
 * include this header.
 */
#ifndef CAPOS_SIM_PORT_UV_H
#define CAPOS_SIM_PORT_UV_H

#include <uv.h>

/*
 * Create the port's libuv loop and its deadline timer. Idempotent: a second
 * call while initialised returns 0. Returns 0 or a negative libuv error
 * code (uv_strerror names it). port_idle and sim_loop initialise on first
 * use, so calling this is only needed to see the error.
 */
int sim_port_init(void);

/* Reopen any of descriptors 0-2 that is closed onto /dev/null, so that no
 * descriptor libuv or the program opens later lands there: libuv asserts
 * that a handle it closes is above STDERR_FILENO, and a socket or file at 1
 * or 2 would receive console or diagnostic text. Call it first in main. */
void sim_port_fix_stdio(void);

/*
 * Tear the loop down. Device backends close their handles first; the
 * console (sim/port/console_uv.h) is closed here, which restores a raw
 * terminal; any handle still open is closed here, and its close (or
 * UV_ECANCELED) callbacks run before this returns. After it,
 * sim_port_init may be called again.
 */
void sim_port_fini(void);

/* The port's loop, initialised on first use (panics if libuv cannot make
 * one). Device backends register their handles on it. */
uv_loop_t *sim_loop(void);

/* Send port_console_write bytes to fd (default 1, stdout). The port does
 * not own fd and never closes it. */
void sim_console_set_fd(int fd);

/*
 * Device backends call this from every libuv callback that completed a
 * pending operation or woke a kernel waiter, so that port_idle reports
 * true ("a device event was delivered") even when its deadline timer
 * fired in the same loop iteration.
 */
void sim_port_note_event(void);

/* A built-in program: a manifest `builtin` name and its first-thread
 * entry. */
struct sim_binary {
    const char *name;
    void (*entry)(void *);
};

/* Set the table port_binary_entry searches (not copied; NULL, 0: none).
 * capos-sim registers its linked-in services; tests register their own. */
void sim_set_binaries(const struct sim_binary *table, size_t n);

#endif /* CAPOS_SIM_PORT_UV_H */
