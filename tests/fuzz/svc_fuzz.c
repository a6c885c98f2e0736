/*
 * svc_fuzz.c - the service fuzz driver (svc_fuzz.h): the server's whole
 * path from the ring (RECV, the runtime's decoding, the handler, RETURN)
 * under hostile params, with the kernel model's invariants and a clean
 * shutdown checked after every input.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capos_rt.h"
#include "kernel.h"
#include "kmodel.h"
#include "port_uv.h"
#include "svc_fuzz.h"

#define RESULT_BYTES 4096u

int capos_main(capos_capset_t *caps);

static struct {
    const uint8_t *data;
    size_t size;
    uint64_t iface;
    unsigned answered; /* calls that got a completion */
    unsigned made;
} in;

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* The client: each call of the input in order, then exit 0. */
static int client_main(capos_capset_t *caps)
{
    capos_cap_t svc;
    if (capos_capset_find(caps, "svc", in.iface, &svc) != 0)
        return 1;
    uint8_t *res = capos_alloc(RESULT_BYTES);
    uint8_t *params = capos_alloc(65536);
    if (!res || !params)
        return 2;
    const uint8_t *p = in.data, *end = in.data + in.size;
    while (in.made < SVC_FUZZ_CALLS && end - p >= 4) {
        uint16_t method = le16(p);
        size_t len = le16(p + 2);
        p += 4;
        if (len > (size_t)(end - p) || in.made == SVC_FUZZ_CALLS - 1)
            len = (size_t)(end - p);
        memcpy(params, p, len);
        p += len;
        in.made++;
        CapCqe cqe;
        memset(&cqe, 0, sizeof cqe);
        int r = capos_rt_invoke(svc, method, len ? params : NULL,
                                (uint32_t)len, res, RESULT_BYTES, &cqe);
        if (r == CAP_ERR_DISCONNECTED)
            return 3; /* the server died on an input */
        in.answered++;
    }
    return 0;
}

static void entry(void *main_fn)
{
    capos_rt_start((int (*)(capos_capset_t *))main_fn);
}

static void fail(const char *what)
{
    fprintf(stderr, "svc_fuzz: %s\n", what);
    abort();
}

int svc_fuzz(uint64_t iface, const uint8_t *data, size_t size)
{
    static bool port_up;
    if (!port_up) {
        if (sim_port_init() != 0)
            abort();
        atexit(sim_port_fini);
        sim_console_set_fd(open("/dev/null", O_WRONLY | O_CLOEXEC));
        port_up = true;
    }
    memset(&in, 0, sizeof in);
    in.data = data;
    in.size = size;
    in.iface = iface;
    struct k_config cfg = {.seed = 1, .virtual_clock = true};
    if (k_init(&cfg) != 0)
        fail("no model");
    struct k_process_opts so = {.name = "server"}, co = {.name = "client"};
    struct k_process *srv = k_process_create(&so), *cli = k_process_create(&co);
    uint32_t ep, con, facet;
    uint64_t badge = size >= 1 ? 1u + data[0] % 4u : 1u;
    if (!srv || !cli || ep_create(srv, &ep) != 0 ||
        k_capset_add(srv, "serve", ep) != 0 || console_grant(srv, &con) != 0 ||
        k_capset_add(srv, "console", con) != 0 ||
        ep_mint_client(srv, ep, cli, badge, &facet) != 0 ||
        k_capset_add_as(cli, "svc", facet, iface) != 0)
        fail("cannot set the two processes up");
    if (k_thread_create(srv, entry, (void *)capos_main, NULL) != 0 ||
        k_thread_create(cli, entry, (void *)client_main, NULL) != 0)
        fail("cannot start the threads");
    (void)k_run(); /* returns once only the server waits */
    if (cli->exit_code != 0)
        fail("the client did not end cleanly (the server died, or a call "
             "was lost)");
    if (in.answered != in.made)
        fail("a call got no completion");
    k_shutdown();
    if (k.stats.objects_live || k.stats.threads_live ||
        k.stats.processes_live || k.stats.processes_held)
        fail("something is live after shutdown");
    return 0;
}
