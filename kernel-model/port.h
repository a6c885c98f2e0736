/*
 * port.h - everything the kernel model needs from the machine under it.
 *
 * The kernel model is freestanding C11. It reaches the host (libuv on Linux,
 * bare metal under QEMU) only through these functions. A port implements
 * every one of them; nothing else outside kernel-model/ is called, except
 * the four string functions a freestanding C compiler may emit calls to
 * (memcpy, memmove, memset, memcmp), which a port also provides.
 */
#ifndef CAPOS_PORT_H
#define CAPOS_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Real monotonic clock in nanoseconds. */
uint64_t port_clock_ns(void);

/*
 * Block the host until an external event may have happened or the real
 * monotonic clock reaches deadline_ns (UINT64_MAX: no deadline). Returns
 * true if a device event was delivered (a callback ran), false if only
 * time passed or nothing can ever happen (no pending device work and no
 * deadline). Device callbacks run inside port_idle only.
 */
bool port_idle(uint64_t deadline_ns);

/* Kernel heap. port_alloc returns zeroed memory or NULL. */
void *port_alloc(size_t size);
void port_free(void *p);

/* Page-granular user arena memory, zeroed; NULL on failure. */
void *port_pages_alloc(size_t size);
void port_pages_free(void *p, size_t size);

/*
 * The entry of a built-in program named name[0..len) (a manifest's
 * `builtin` image), run as a process's first thread with a NULL argument;
 * NULL if the port has no such program. Bare metal: an ELF loader.
 */
void (*port_binary_entry(const char *name, size_t len))(void *);

/* Console bytes (debug and boot messages, terminal output). */
void port_console_write(const char *buf, size_t len);

/*
 * Console input: bytes in, then end of input. Hosted: the host terminal
 * (raw mode) or a pipe; bare metal: the serial port's receive buffer.
 *
 * port_console_read takes up to cap bytes of input into buf without
 * blocking. Returns the number taken (> 0), 0 when none is available now,
 * or PORT_CONSOLE_EOF once the input has ended (end of file, hang-up, read
 * error, or no console input at all); the end is final.
 *
 * port_console_watch(true) asks to be told about new input: from then on,
 * until port_console_watch(false), the port calls k_console_input_ready()
 * (below) from inside port_idle whenever input or its end arrives, and
 * port_idle counts the console as pending device work (it blocks for it).
 * Input that arrived before the watch began gets no call: after
 * port_console_watch(true), call port_console_read once more. Not
 * watching, the port stops reading: keys typed meanwhile stay with the
 * host (type-ahead is kept for the next reader).
 *
 * port_console_size gives the console's size in character cells, 0 0 when
 * unknown (a pipe, a serial line).
 */
#define PORT_CONSOLE_EOF (-1)
int port_console_read(void *buf, size_t cap);
void port_console_watch(bool on);
void port_console_size(uint16_t *columns, uint16_t *rows);

/*
 * Implemented by the model (kernel-model/terminal.c), called by the port:
 * console input or its end arrived while watched. Device-callback
 * context: it only completes a pending read and wakes its waiter.
 */
void k_console_input_ready(void);

/*
 * TCP (hosted: libuv over the host's sockets; bare metal: a network
 * stack). The model (kernel-model/net.c) names host objects with opaque
 * port_tcp_t handles and gives each an owner pointer; the port calls
 * k_net_ready(owner) from inside port_idle whenever something may have
 * changed on it (a connection to accept, input or its end, room to write
 * again, an error). Device-callback context: the model only completes
 * pending operations there. A handle stays valid until port_tcp_close.
 *
 * port_tcp_listen binds addr (dotted quad) : port (0: the host picks one)
 * and listens with at most backlog pending connections; *bound gets the
 * real port. guest_port only labels the host's notice of the forward.
 * Returns 0 and *out, PORT_TCP_IN_USE when the address is taken, or
 * PORT_TCP_FAILED (bad address, no permission, out of descriptors).
 *
 * port_tcp_accept takes one pending connection of a listener without
 * blocking: 1 and *out, 0 when none waits now, PORT_TCP_FAILED.
 * port_tcp_peer gives the remote address (dotted quad, NUL-terminated in
 * addr[0..cap)) and port of a connection.
 *
 * port_tcp_read takes up to cap received bytes without blocking: the
 * count (> 0), 0 when none are available now, PORT_TCP_EOF once the peer
 * closed its side (final), PORT_TCP_RESET after a connection error
 * (final). The port buffers a bounded amount of input per connection
 * and stops reading from the host while it is full.
 * port_tcp_received is the number of bytes received so far.
 *
 * port_tcp_write copies up to len bytes for sending and returns how many
 * it took: fewer (even 0) when the connection's bounded output queue is
 * full (backpressure: k_net_ready follows once it drains), or
 * PORT_TCP_RESET when the connection failed.
 *
 * port_tcp_watch(h, true) says the model waits on h: port_idle counts it
 * as pending device work (it blocks for it). Unwatched handles still get
 * k_net_ready calls when the loop runs for other reasons.
 *
 * port_tcp_close ends a listener or a connection: queued output is still
 * sent, then the host socket closes. No k_net_ready call follows.
 */
#define PORT_TCP_IN_USE (-1)
#define PORT_TCP_FAILED (-2)
#define PORT_TCP_EOF (-3)
#define PORT_TCP_RESET (-4)
typedef struct port_tcp port_tcp_t;
int port_tcp_listen(const char *addr, uint16_t port, uint16_t guest_port,
                    uint32_t backlog, void *owner, port_tcp_t **out,
                    uint16_t *bound);
int port_tcp_accept(port_tcp_t *listener, void *owner, port_tcp_t **out);
void port_tcp_peer(port_tcp_t *h, char *addr, size_t cap, uint16_t *port);
int port_tcp_read(port_tcp_t *h, void *buf, size_t cap);
uint64_t port_tcp_received(port_tcp_t *h);
int port_tcp_write(port_tcp_t *h, const void *buf, size_t len);
void port_tcp_watch(port_tcp_t *h, bool on);
void port_tcp_close(port_tcp_t *h);

/* Implemented by the model (kernel-model/net.c), called by the port. */
void k_net_ready(void *owner);

/* Unrecoverable model invariant failure: prints and never returns. */
_Noreturn void port_panic(const char *msg);

/*
 * Execution contexts (fibers). port_ctx_create makes a context that will run
 * entry(arg) on the given stack (owned by the caller, 16-byte aligned, at
 * least 16 KiB) the first time it is switched to; returns NULL if out of
 * memory; entry must never return (it switches away for the last
 * time). port_ctx_self returns the context of the host thread running the
 * scheduler. port_ctx_switch saves the current state in from and resumes
 * to; it returns when someone switches back to from.
 */
typedef struct port_ctx port_ctx_t;
port_ctx_t *port_ctx_self(void);
port_ctx_t *port_ctx_create(void *stack, size_t stack_size,
                            void (*entry)(void *), void *arg);
void port_ctx_destroy(port_ctx_t *ctx);
void port_ctx_switch(port_ctx_t *from, port_ctx_t *to);
/* Switch away from a context for the last time (its stack may be freed
 * once to has resumed). */
_Noreturn void port_ctx_exit(port_ctx_t *from, port_ctx_t *to);

#endif /* CAPOS_PORT_H */
