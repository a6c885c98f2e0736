/*
 * metal/x86_64/net.c - the TCP functions of kernel-model/port.h on a
 * machine without a network device (docs/metal.md, "What metal does not do
 * yet"). Listening fails, so the model never holds a port_tcp_t handle;
 * every function that takes one was handed something this port never made,
 * which is a model bug and panics.
 */
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include "port.h"

static _Noreturn void net_no_handle(const char *fn)
{
    static char msg[160];

    snprintf(msg, sizeof msg,
             "%s: a TCP handle was used, but metal has no network device "
             "and never made one",
             fn);
    port_panic(msg);
}

int port_tcp_listen(const char *addr, uint16_t port, uint16_t guest_port,
                    uint32_t backlog, void *owner, port_tcp_t **out,
                    uint16_t *bound)
{
    (void)addr;
    (void)port;
    (void)guest_port;
    (void)backlog;
    (void)owner;
    *out = NULL;
    *bound = 0;
    return PORT_TCP_FAILED;
}

int port_tcp_accept(port_tcp_t *listener, void *owner, port_tcp_t **out)
{
    (void)listener;
    (void)owner;
    (void)out;
    net_no_handle("port_tcp_accept");
}

void port_tcp_peer(port_tcp_t *h, char *addr, size_t cap, uint16_t *port)
{
    (void)h;
    (void)addr;
    (void)cap;
    (void)port;
    net_no_handle("port_tcp_peer");
}

int port_tcp_read(port_tcp_t *h, void *buf, size_t cap)
{
    (void)h;
    (void)buf;
    (void)cap;
    net_no_handle("port_tcp_read");
}

uint64_t port_tcp_received(port_tcp_t *h)
{
    (void)h;
    net_no_handle("port_tcp_received");
}

int port_tcp_write(port_tcp_t *h, const void *buf, size_t len)
{
    (void)h;
    (void)buf;
    (void)len;
    net_no_handle("port_tcp_write");
}

void port_tcp_watch(port_tcp_t *h, bool on)
{
    (void)h;
    (void)on;
    net_no_handle("port_tcp_watch");
}

void port_tcp_close(port_tcp_t *h)
{
    if (h != NULL)
        net_no_handle("port_tcp_close");
}
