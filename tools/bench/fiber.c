/*
 * tools/bench/fiber.c - capos-bench figures: fiber_switch: one port context
 * switch.
 */
#define _GNU_SOURCE

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bench.h"
#include "kmodel.h"
#include "port_uv.h"

static port_ctx_t *fs_host, *fs_peer;
static volatile bool fs_stop;

static void fs_peer_main(void *arg)
{
    (void)arg;
    while (!fs_stop)
        port_ctx_switch(fs_peer, fs_host);
    port_ctx_exit(fs_peer, fs_host);
}

/* ns per one-way port_ctx_switch between the host context and a peer
 * that switches straight back. */
int fig_fiber_switch(uint64_t ops, unsigned reps, double *samples)
{
    const size_t stack_size = 64 * 1024;
    uint64_t rounds = (ops + 1) / 2;
    void *stack = port_pages_alloc(stack_size);

    fs_host = port_ctx_self();
    fs_peer = stack != NULL
                  ? port_ctx_create(stack, stack_size, fs_peer_main, NULL)
                  : NULL;
    if (fs_peer == NULL) {
        printf("fiber_switch failed: out of memory for a context\n");
        port_pages_free(stack, stack_size);
        return BENCH_FAIL;
    }
    fs_stop = false;
    for (unsigned r = 0; r < reps; r++) {
        uint64_t t0 = bench_now_ns();

        for (uint64_t i = 0; i < rounds; i++)
            port_ctx_switch(fs_host, fs_peer);
        samples[r] = bench_ns_per_op(t0, bench_now_ns(), rounds * 2);
    }
    fs_stop = true;
    port_ctx_switch(fs_host, fs_peer); /* the peer exits for good */
    port_ctx_destroy(fs_peer);
    port_pages_free(stack, stack_size);
    return BENCH_OK;
}
