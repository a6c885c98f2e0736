/*
 * hello - the smallest capOS service: greets on its Console, reads its
 * Timer, sleeps one millisecond and reports how long that took, all
 * through typed calls built with the generated schema code.
 *
 * Caps: "console" (Console), "timer" (Timer).
 */
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "capos_rt.h"

/* Console.writeLine(text). Returns the CQE result. */
static int say(capos_cap_t con, const char *text)
{
    return capos_console_line(con, text);
}

/* Timer.now() into *ns, with the generated CALL stub (empty params).
 * Returns the CQE result. */
static int now(capos_cap_t timer, uint64_t *ns)
{
    uint8_t *res = capos_alloc(64);
    CapSqe sqe;
    capos_Timer_now_sqe(&sqe, timer.id, 0, 0, capos_va(res), 64, 0);
    CapCqe cqe;
    int r = capos_rt_call(&sqe, &cqe);
    if (r == 0)
        r = cqe.result;
    capnp_message m;
    capnp_struct root;
    if (r >= 0 && (capnp_msg_init(&m, res, (size_t)r, NULL) != 0 ||
                   capnp_msg_root(&m, &root) != 0))
        r = CAP_ERR_INVALID_RESULT_BUFFER;
    if (r >= 0)
        *ns = capos_Timer_now_Results_get_ns(&root);
    capos_free(res);
    return r;
}

static int sleep_ns(capos_cap_t timer, uint64_t ns)
{
    uint8_t *buf = capos_alloc(64);
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, buf, 64);
    capos_Timer_sleep_Params_init_root(&b, &p);
    capos_Timer_sleep_Params_set_ns(&p, ns);
    int r = capos_rt_call_capnp(timer, CAPOS_TIMER_SLEEP_METHOD_ID, &b, NULL, 0,
                                NULL, NULL);
    capos_free(buf);
    return r;
}

int capos_main(capos_capset_t *caps)
{
    capos_cap_t con, timer;
    if (capos_capset_find(caps, "console", CAPOS_CONSOLE_INTERFACE_ID, &con))
        return 10;
    if (capos_capset_find(caps, "timer", CAPOS_TIMER_INTERFACE_ID, &timer)) {
        say(con, "hello: no \"timer\" cap in my CapSet");
        return 11;
    }
    if (say(con, "hello: hello from a capOS service") < 0)
        return 12;
    uint64_t t0 = 0, t1 = 0;
    if (now(timer, &t0) < 0 || sleep_ns(timer, 1000000) < 0 ||
        now(timer, &t1) < 0) {
        say(con, "hello: Timer calls failed");
        return 13;
    }
    capos_console_printf(con, "hello: slept 1 ms; the timer moved %llu ns",
                         (unsigned long long)(t1 - t0));
    return t1 - t0 >= 1000000 ? 0 : 14;
}
