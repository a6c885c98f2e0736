/*
 * sync.c - capos_mutex, capos_cond, capos_once on PARK/UNPARK (sync.h).
 */
#include "sync.h"

#include "capos_rt.h"

/* PARK on word while it holds expected: 0 woken, mismatched or timed
 * out (all mean "look again"), or an error. */
static int park(uint32_t *word, uint32_t expected)
{
    capos_cap_t ps;
    int r = capos_rt_park_space(&ps);
    if (r < 0)
        return r;
    CapSqe s = {.opcode = CAP_OP_PARK,
                .cap_id = ps.id,
                .addr = capos_va(word),
                .len = expected};
    CapCqe c;
    r = capos_rt_call(&s, &c);
    if (r < 0)
        return r;
    return c.result < 0 ? c.result : 0;
}

/* UNPARK up to count waiters of word. */
static int unpark(uint32_t *word, uint32_t count)
{
    capos_cap_t ps;
    if (capos_rt_park_space(&ps) < 0)
        return 0; /* single-threaded: nobody can be parked */
    CapSqe s = {.opcode = CAP_OP_UNPARK,
                .cap_id = ps.id,
                .addr = capos_va(word),
                .len = count};
    CapCqe c;
    int r = capos_rt_call(&s, &c);
    if (r < 0)
        return r;
    return c.result < 0 ? c.result : 0;
}

int capos_mutex_trylock(capos_mutex_t *m)
{
    uint32_t z = 0;
    return __atomic_compare_exchange_n(&m->word, &z, 1, false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED)
               ? 0
               : 1;
}

int capos_mutex_lock(capos_mutex_t *m)
{
    if (capos_mutex_trylock(m) == 0)
        return 0;
    /* Contended: mark waiters (2) and park until the holder unlocks. */
    while (__atomic_exchange_n(&m->word, 2, __ATOMIC_ACQUIRE) != 0) {
        int r = park(&m->word, 2);
        if (r < 0)
            return r;
    }
    return 0;
}

int capos_mutex_unlock(capos_mutex_t *m)
{
    if (__atomic_exchange_n(&m->word, 0, __ATOMIC_RELEASE) == 2)
        return unpark(&m->word, 1);
    return 0;
}

int capos_cond_wait(capos_cond_t *c, capos_mutex_t *m)
{
    uint32_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
    int r = capos_mutex_unlock(m);
    if (r < 0)
        return r;
    /* A signal after the load changes seq: the PARK mismatches. */
    r = park(&c->seq, seq);
    int l = capos_mutex_lock(m);
    return r < 0 ? r : l;
}

int capos_cond_signal(capos_cond_t *c)
{
    __atomic_fetch_add(&c->seq, 1, __ATOMIC_RELEASE);
    return unpark(&c->seq, 1);
}

int capos_cond_broadcast(capos_cond_t *c)
{
    __atomic_fetch_add(&c->seq, 1, __ATOMIC_RELEASE);
    return unpark(&c->seq, UINT32_MAX);
}

int capos_once(capos_once_t *o, void (*fn)(void *), void *arg)
{
    uint32_t z = 0;
    if (__atomic_compare_exchange_n(&o->state, &z, 1, false, __ATOMIC_ACQUIRE,
                                    __ATOMIC_ACQUIRE)) {
        fn(arg);
        __atomic_store_n(&o->state, 2, __ATOMIC_RELEASE);
        return unpark(&o->state, UINT32_MAX);
    }
    uint32_t v;
    while ((v = __atomic_load_n(&o->state, __ATOMIC_ACQUIRE)) != 2) {
        int r = park(&o->state, v);
        if (r < 0)
            return r;
    }
    return 0;
}

bool capos_bounded_inc(unsigned *count, const unsigned *limit)
{
    unsigned n = __atomic_load_n(count, __ATOMIC_RELAXED);
    do {
        if (n >= __atomic_load_n(limit, __ATOMIC_RELAXED))
            return false;
    } while (!__atomic_compare_exchange_n(count, &n, n + 1, false,
                                          __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return true;
}
