/*
 * counter-client - the client of the counter service (builtin
 * "counter-client"): adds 2, then 40, to its counter and says each
 * total, then exits 0.
 *
 * Caps: "counter" (Counter, required: found by its interface, so a cap
 * of any other interface is refused here, before any call) and
 * "console" (required).
 */
#include <stdint.h>

#include "capos.capnp.h"
#include "capos_rt.h"
#include "counter.capnp.h"

/* Counter.add(n): the new total into *total. Returns 0 or the error
 * (a CapException's message is left in result[0..64)). */
static int counter_add(capos_cap_t counter, int64_t n, uint8_t result[64],
                       int64_t *total)
{
    uint8_t params[64];
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, params, sizeof params);
    if (counter_Counter_add_Params_init_root(&b, &p) < 0)
        return CAPNP_E_NOSPACE;
    counter_Counter_add_Params_set_n(&p, n);
    capnp_message m;
    capnp_struct root;
    int r = capos_rt_call_capnp(counter, COUNTER_COUNTER_ADD_METHOD_ID, &b,
                                result, 64, &m, &root);
    if (r < 0)
        return r;
    *total = counter_Counter_add_Results_get_total(&root);
    return 0;
}

int capos_main(capos_capset_t *caps)
{
    capos_cap_t con, counter;
    if (capos_capset_find(caps, "console", CAPOS_CONSOLE_INTERFACE_ID, &con))
        return 10;
    int r = capos_capset_find(caps, "counter", COUNTER_COUNTER_INTERFACE_ID,
                              &counter);
    if (r != 0) {
        capos_console_printf(con, "counter-client: %s",
                             r == CAPOS_RT_E_WRONG_INTERFACE
                                 ? "the cap \"counter\" is not a Counter"
                                 : "no Counter cap \"counter\" in my CapSet");
        return 11;
    }
    static const int64_t steps[] = {2, 40};
    for (unsigned i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        int64_t total;
        uint8_t result[64];
        char why[160];
        r = counter_add(counter, steps[i], result, &total);
        if (r != 0) {
            capos_console_printf(
                con, "counter-client: add(%lld) failed: %s",
                (long long)steps[i],
                capos_rt_error_text(result, sizeof result, r, why, sizeof why));
            return 12;
        }
        capos_console_printf(con, "counter-client: add(%lld) -> total %lld",
                             (long long)steps[i], (long long)total);
    }
    return 0;
}
