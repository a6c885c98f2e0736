/*
 * tools/bench/endpoint.c - capos-bench figures: endpoint_rtt: a CALL round trip
 * between two processes.
 */
#define _GNU_SOURCE

#include <stdbool.h>
#include <stdint.h>

#include "capos.capnp.h"
#include "model.h"

#define EP_METHOD_PING 0u
#define EP_METHOD_STOP 1u
#define EP_RECV_BUF 256u
#define EP_RESULT_BUF 64u
#define EP_TAG_RECV 1u
#define EP_TAG_RETURN 2u

/*
 * Server thread: keep one RECV posted on the raw endpoint; answer every
 * call with an empty RETURN, posting the RETURN and the next RECV together
 * and waiting for both completions in one cap_enter (reply-and-wait).
 * Leaves after returning a STOP call. Failures go to j (the server's job).
 */
static void ep_server_thread(void *arg)
{
    struct model_job *j = arg;
    struct user_ring u;
    uint64_t buf_va;
    const EndpointMessageHeader *hdr = job_heap(j, 0, EP_RECV_BUF, &buf_va);
    unsigned outstanding = 0; /* SQEs submitted, CQE not yet seen */
    bool stop = false;
    if (hdr == NULL)
        return;
    ur_open(&u, j->proc);
    ur_push(&u, (CapSqe){.opcode = CAP_OP_RECV,
                         .cap_id = j->cap,
                         .user_data = EP_TAG_RECV,
                         .result_addr = buf_va,
                         .result_len = EP_RECV_BUF});
    outstanding++;
    while (outstanding > 0) {
        uint32_t tail;
        int rc;

        ur_publish(&u);
        rc = k_sys_cap_enter(outstanding, CAP_TIMEOUT_INFINITE);
        if (rc < (int)outstanding) {
            job_fail(j, "server k_sys_cap_enter", rc < 0 ? rc : BENCH_E_SHORT);
            return;
        }
        tail = ur_cq_tail(&u);
        for (; u.cq_head != tail; u.cq_head++) {
            CapCqe c = u.ring->cq[u.cq_head & (CAP_CQ_ENTRIES - 1)];

            outstanding--;
            if (c.result < 0) {
                job_fail(j,
                         c.user_data == EP_TAG_RECV ? "server RECV"
                                                    : "server RETURN",
                         c.result);
                return;
            }
            if (c.user_data != EP_TAG_RECV)
                continue;
            if (hdr->method_id == EP_METHOD_STOP)
                stop = true;
            ur_push(&u, (CapSqe){.opcode = CAP_OP_RETURN,
                                 .cap_id = j->cap,
                                 .call_id = c.call_id,
                                 .user_data = EP_TAG_RETURN});
            outstanding++;
            if (!stop) {
                ur_push(&u, (CapSqe){.opcode = CAP_OP_RECV,
                                     .cap_id = j->cap,
                                     .user_data = EP_TAG_RECV,
                                     .result_addr = buf_va,
                                     .result_len = EP_RECV_BUF});
                outstanding++;
            }
        }
        ur_cq_release(&u);
    }
    j->done = true;
}

/* One CALL on the client facet and its completion; 0 or an error. */
static int ep_call(struct user_ring *u, uint32_t cap, uint16_t method,
                   uint64_t result_va, uint64_t tag)
{
    const CapCqe *c;
    int rc = ur_enter1(u,
                       (CapSqe){.opcode = CAP_OP_CALL,
                                .cap_id = cap,
                                .method_id = method,
                                .user_data = tag,
                                .result_addr = result_va,
                                .result_len = EP_RESULT_BUF},
                       &c);

    if (rc != 0)
        return rc;
    rc = c->result < 0         ? c->result
         : c->user_data != tag ? BENCH_E_USER_DATA
                               : 0;
    ur_cq_release(u);
    return rc;
}

static int ep_client_step(void *ctx, uint64_t i, const char **where)
{
    struct ring_job *rj = ctx;

    *where = "client CALL";
    return ep_call(&rj->u, rj->j->cap, EP_METHOD_PING, rj->va, i);
}

/* Client thread: timed CALL round trips, then a STOP call. */
static void ep_client_thread(void *arg)
{
    struct ring_job rj = {.j = arg};
    struct model_job *j = rj.j;
    int rc;

    if (job_heap(j, 0, EP_RESULT_BUF, &rj.va) == NULL ||
        !ring_job_run(&rj, j->ops, 1, ep_client_step))
        return;
    rc = ep_call(&rj.u, j->cap, EP_METHOD_STOP, rj.va, UINT64_MAX);
    if (rc != 0) {
        job_fail(j, "client CALL(stop)", rc);
        return;
    }
    j->done = true;
}

int fig_endpoint_rtt(uint64_t ops, unsigned reps, double *samples)
{
    const char *figure = "endpoint_rtt";
    struct model_job jobs[2] = {
        {.ops = ops, .reps = reps, .samples = samples}, /* client */
        {.reps = 0},                                    /* server */
    };
    struct model_job *client = &jobs[0], *server = &jobs[1];

    if (!model_up(figure))
        return BENCH_FAIL;
    server->proc = model_process(figure, "bench-server");
    client->proc = model_process(figure, "bench-client");
    if (server->proc == NULL || client->proc == NULL ||
        !model_ok(figure, "ep_create", ep_create(server->proc, &server->cap)) ||
        !model_ok(figure, "ep_mint_client",
                  ep_mint_client(server->proc, server->cap, client->proc, 7,
                                 &client->cap)))
        goto fail;
    if (!model_thread(figure, server->proc, ep_server_thread, server) ||
        !model_thread(figure, client->proc, ep_client_thread, client))
        goto fail;
    return model_run(figure, jobs, 2);
fail:
    k_shutdown();
    return BENCH_FAIL;
}
