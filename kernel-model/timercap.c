/*
 * timercap.c - the Timer kernel capability: the model's monotonic clock
 * (virtual or real) and sleeps that complete through the ring.
 *
 * Methods (schema/capos.capnp; capos-sim choice, upstream names only the
 * interface):
 *   @0 now () -> (ns :UInt64)
 *   @1 sleep (ns :UInt64) -> ()               completes ns later
 *   @2 sleepUntil (deadlineNs :UInt64) -> ()  completes at the deadline
 * A sleep is a pending call: it keeps its CQ slot and completes from the
 * timer (scheduler context: post and wake only, never a CALL). If the
 * caller exits first the sleep is cancelled.
 */
#include "kmodel.h"

/* Ordinals and layouts from the generated capos.capnp.h. */
enum {
    TIMER_NOW = CAPOS_TIMER_NOW_METHOD_ID,
    TIMER_SLEEP = CAPOS_TIMER_SLEEP_METHOD_ID,
    TIMER_SLEEP_UNTIL = CAPOS_TIMER_SLEEP_UNTIL_METHOD_ID,
};

struct timer_sleep {
    struct k_pending pd;
    struct k_timer t;
};

static void sleep_fire(struct k_timer *t)
{
    struct timer_sleep *s =
        (struct timer_sleep *)((char *)t - offsetof(struct timer_sleep, t));
    k_pending_done(&s->pd, 0);
    port_free(s);
}

static void sleep_cancel(struct k_pending *pd)
{
    struct timer_sleep *s = (struct timer_sleep *)pd;
    k_timer_cancel(&s->t);
    port_free(s);
}

/* Complete call c at deadline (k_now() time): at once, returning 0, when
 * it is not after now, else as a pending call (K_CALL_PENDING), or
 * overloaded without memory. */
static int sleep_start(struct k_call *c, uint64_t deadline, uint64_t now)
{
    if (deadline <= now)
        return 0;
    struct timer_sleep *s = port_alloc(sizeof *s);
    if (!s)
        return k_call_exception(c, K_EXC_OVERLOADED, "out of timer memory");
    k_pending_add(&s->pd, c, sleep_cancel);
    k_timer_arm(&s->t, deadline, sleep_fire);
    return K_CALL_PENDING;
}

static int timer_call(struct k_object *obj, struct k_call *c)
{
    (void)obj;
    if (c->method_id > TIMER_SLEEP_UNTIL)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "Timer has no such method");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    uint64_t now = k_now();
    if (c->method_id == TIMER_NOW) {
        capnp_builder b;
        capnp_struct_builder res;
        if (k_call_result_begin(c, &b, CAPOS_TIMER_NOW_RESULTS_DATA_WORDS,
                                CAPOS_TIMER_NOW_RESULTS_POINTERS, &res) != 0)
            return CAP_ERR_INVALID_RESULT_BUFFER;
        capos_Timer_now_Results_set_ns(&res, now);
        return k_call_result_end(c, &b);
    }
    if (c->method_id == TIMER_SLEEP_UNTIL)
        return sleep_start(
            c, capos_Timer_sleepUntil_Params_get_deadlineNs(&root), now);
    uint64_t ns = capos_Timer_sleep_Params_get_ns(&root);
    return sleep_start(c, ns > UINT64_MAX - now ? UINT64_MAX : now + ns, now);
}

static void timer_destroy(struct k_object *obj)
{
    port_free(obj);
}

static const struct k_object_ops timer_ops = {
    .name = "Timer",
    .interface_id = K_IFACE_TIMER,
    .call = timer_call,
    .destroy = timer_destroy,
};

/* Give p a Timer cap. Returns 0 and its CapId, or a CAP_ERR_* code. */
int timercap_grant(struct k_process *p, uint32_t *out_id)
{
    struct k_object *o = port_alloc(sizeof *o);
    if (!o)
        return CAP_ERR_INVOKE_FAILED;
    k_obj_init(o, &timer_ops, 0);
    return k_obj_grant(p, o, out_id);
}
