/*
 * counter - serves the Counter interface of its own schema,
 * services/counter/counter.capnp, on its "serve" endpoint (builtin
 * "counter"; docs/services.md explains each part).
 *
 * Caps: "serve" (Endpoint, required: the calls arrive there; the
 * manifest exports it typed, interfaceId = the Counter id) and
 * "console" (optional: startup problems only).
 *
 * State: one running total per caller badge (the kernel sets the badge
 * of each client facet; a client cannot pick another's), at most
 * COUNTERS badges; a new badge beyond that is refused with `overloaded`.
 * add(n) refuses an overflowing total with invalidArgument and leaves it
 * as it was. Exits 0 when its endpoint is disconnected.
 */
#include <stdint.h>
#include <string.h>

#include "capos.capnp.h"
#include "capos_rt.h"
#include "counter.capnp.h"
#include "server.h"

#define COUNTERS 64u

struct counters {
    uint64_t badge[COUNTERS];
    int64_t total[COUNTERS];
    unsigned n;
};

/* The total of badge, created at 0 on first use; NULL when full. */
static int64_t *total_of(struct counters *c, uint64_t badge)
{
    for (unsigned i = 0; i < c->n; i++)
        if (c->badge[i] == badge)
            return &c->total[i];
    if (c->n == COUNTERS)
        return NULL;
    c->badge[c->n] = badge;
    c->total[c->n] = 0;
    return &c->total[c->n++];
}

static int add(int64_t *t, capos_server_call_t *call)
{
    int64_t n = counter_Counter_add_Params_get_n(&call->params_root);
    if ((n > 0 && *t > INT64_MAX - n) || (n < 0 && *t < INT64_MIN - n))
        return capos_server_fail(call, CAPOS_EXC_INVALID_ARGUMENT,
                                 "Counter.add: %lld would overflow the total "
                                 "%lld",
                                 (long long)n, (long long)*t);
    *t += n;
    capnp_struct_builder res;
    if (counter_Counter_add_Results_init_root(call->result, &res) < 0)
        return capos_server_fail(call, CAPOS_EXC_FAILED, "no result room");
    counter_Counter_add_Results_set_total(&res, *t);
    return CAPOS_SERVE_REPLY;
}

static int reset(int64_t *t, capos_server_call_t *call)
{
    capnp_struct_builder res;
    if (counter_Counter_reset_Results_init_root(call->result, &res) < 0)
        return capos_server_fail(call, CAPOS_EXC_FAILED, "no result room");
    counter_Counter_reset_Results_set_total(&res, *t);
    *t = 0;
    return CAPOS_SERVE_REPLY;
}

static int on_call(void *ctx, capos_server_call_t *call)
{
    if (call->method_id >= COUNTER_COUNTER_METHOD_COUNT)
        return capos_server_unimplemented(call);
    int64_t *t = total_of(ctx, call->badge);
    if (!t)
        return capos_server_fail(call, CAPOS_EXC_OVERLOADED,
                                 "Counter: %u clients already counting",
                                 COUNTERS);
    if (call->method_id == COUNTER_COUNTER_ADD_METHOD_ID)
        return add(t, call);
    return reset(t, call);
}

int capos_main(capos_capset_t *caps)
{
    capos_cap_t con = {0, 0}, ep;
    bool have_con =
        capos_capset_find(caps, "console", CAPOS_CONSOLE_INTERFACE_ID, &con) ==
        0;
    if (capos_capset_find(caps, "serve", CAPOS_ENDPOINT_INTERFACE_ID, &ep)) {
        if (have_con)
            capos_console_line(con, "counter: needs an Endpoint cap \"serve\"");
        return 2;
    }
    struct counters *c = capos_alloc(sizeof *c);
    if (!c)
        return 3;
    memset(c, 0, sizeof *c);
    int r = capos_serve(ep, on_call, c);
    capos_free(c);
    return r == 0 || r == CAP_ERR_DISCONNECTED ? 0 : 4;
}
