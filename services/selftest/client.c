/*
 * selftest-client - the client half of the ring self-test (builtin
 * "selftest-client", fixtures/system-selftest.capnp): exercises the ring
 * end to end through capos-rt and reports every check on the console.
 *
 * Checks: the CapSet holds exactly its three grants; 16 NOPs in one batch
 * complete in order; NullCap call, echo and mint; malformed SQEs and stale
 * ids get error CQEs; two round trips through selftest-server's endpoint
 * (the second moves the minted cap there and back); cap_enter with nothing
 * to wait for times out.
 *
 * Caps: "console" (Console), "null" (NullCap), "service" (a ClientEndpoint
 * of selftest-server, badge 0x5e1f, which the server checks).
 */
#include <string.h>

#include "capos.capnp.h"
#include "report.h"

/* Submit one SQE and wait for its completion. */
static CapCqe one(struct st *t, CapSqe *sqe, const char *what)
{
    CapCqe c = {.result = CAP_ERR_INVOKE_FAILED};
    int r = capos_rt_call(sqe, &c);
    st_check(t, r == 0, "%s: no completion (runtime error %d)", what, r);
    return c;
}

static void check_capset(struct st *t, capos_capset_t *caps)
{
    static const struct {
        const char *name;
        uint64_t iface;
    } want[] = {
        {"console", CAPOS_CONSOLE_INTERFACE_ID},
        {"null", CAPOS_NULL_CAP_INTERFACE_ID},
        {"service", CAPOS_CLIENT_ENDPOINT_INTERFACE_ID},
    };
    unsigned n = capos_capset_count(caps);
    st_check(t, n == 3, "the CapSet has %u entries, want exactly 3", n);
    for (unsigned i = 0; i < 3 && i < n; i++) {
        const CapSetEntry *e = capos_capset_entry(caps, i);
        st_check(t,
                 strcmp(e->name, want[i].name) == 0 &&
                     e->interface_id == want[i].iface,
                 "CapSet entry %u is \"%s\" (%#llx), want \"%s\"", i, e->name,
                 (unsigned long long)e->interface_id, want[i].name);
    }
}

/* 16 NOPs in one batch: cap_enter reports all 16, in submission order. */
static void check_nops(struct st *t)
{
    uint64_t tags[CAP_SQ_ENTRIES];
    for (unsigned i = 0; i < CAP_SQ_ENTRIES; i++) {
        CapSqe s = {.opcode = CAP_OP_NOP, .user_data = capos_rt_tag()};
        tags[i] = s.user_data;
        capos_rt_submit(&s);
    }
    int n = capos_cap_enter(CAP_SQ_ENTRIES, CAP_TIMEOUT_INFINITE);
    st_check(t, n == CAP_SQ_ENTRIES, "cap_enter returned %d for 16 NOPs", n);
    /* Look at the CQ before the runtime drains it. */
    const CapRing *ring = capos_user_ptr(CAPOS_RING_VADDR);
    uint32_t head = ring->hdr.cq_head;
    bool in_order = true;
    for (unsigned i = 0; i < CAP_SQ_ENTRIES; i++) {
        const CapCqe *c = &ring->cq[(head + i) & (CAP_CQ_ENTRIES - 1)];
        in_order &= c->user_data == tags[i] && c->result == 0;
    }
    st_check(t, in_order, "the 16 NOPs did not complete in order");
    for (unsigned i = 0; i < CAP_SQ_ENTRIES; i++) {
        CapCqe c;
        st_check(t, capos_rt_wait(tags[i], &c, 0) == 0 && c.result == 0,
                 "NOP %u completion", i);
    }
}

int capos_main(capos_capset_t *caps)
{
    struct st t;
    st_begin(&t, "selftest-client", caps);
    capos_cap_t null, svc;
    bool have = capos_capset_find(caps, "null", CAPOS_NULL_CAP_INTERFACE_ID,
                                  &null) == 0 &&
                capos_capset_find(caps, "service", 0, &svc) == 0;
    st_check(&t, have, "the CapSet lacks \"null\" or \"service\"");
    if (!have)
        return st_end(&t);
    check_capset(&t, caps);
    check_nops(&t);

    /* NullCap: call, echo, mint. */
    CapSqe s = {.opcode = CAP_OP_CALL, .cap_id = null.id};
    st_check(&t, one(&t, &s, "NullCap.call").result == 0, "NullCap.call");
    char *in = capos_alloc(32), *out = capos_alloc(32);
    memset(out, 0, 32);
    memcpy(in, "hello, ring", 11);
    int r = capos_rt_invoke(null, CAPOS_NULL_CAP_ECHO_METHOD_ID, in, 11, out,
                            32, NULL);
    st_check(&t, r == 11 && memcmp(out, "hello, ring", 11) == 0,
             "NullCap.echo result %d", r);
    CapTransferResult *rec = capos_alloc(sizeof *rec);
    CapCqe c;
    r = capos_rt_invoke(null, CAPOS_NULL_CAP_MINT_METHOD_ID, NULL, 0, rec,
                        sizeof *rec, &c);
    capos_cap_t minted = {0, 0};
    st_check(&t,
             r == 0 && c.cap_count == 1 &&
                 capos_rt_adopt(rec, CAPOS_NULL_CAP_INTERFACE_ID, &minted) == 0,
             "NullCap.mint result %d caps %u", r, c.cap_count);

    /* Malformed SQEs get error CQEs carrying their user_data. */
    s = (CapSqe){.opcode = 0x42};
    c = one(&t, &s, "unknown opcode");
    st_check(&t, c.result == CAP_ERR_INVALID_REQUEST, "unknown opcode gives %d",
             c.result);
    s = (CapSqe){.opcode = CAP_OP_CALL, .cap_id = minted.id + 1};
    st_check(&t, one(&t, &s, "stale id").result == CAP_ERR_INVOKE_FAILED,
             "a stale cap id is refused");

    /* Endpoint round trips; the second moves the minted cap to the
     * server, which moves it back. */
    for (int round = 0; round < 2; round++) {
        char *msg = capos_alloc(64), *res = capos_alloc(64);
        memset(msg, 0, 64);
        memset(res, 0, 64);
        memcpy(msg, "stressed", 8);
        CapTransferDescriptor *d = (CapTransferDescriptor *)(msg + 8);
        d->cap_id = minted.id;
        d->mode = CAP_XFER_MOVE;
        s = (CapSqe){.opcode = CAP_OP_CALL,
                     .cap_id = svc.id,
                     .addr = capos_va(msg),
                     .len = 8,
                     .xfer_cap_count = round == 1,
                     .result_addr = capos_va(res),
                     .result_len = 64};
        c = one(&t, &s, "endpoint call");
        st_check(&t, c.result == 8 && memcmp(res, "desserts", 8) == 0,
                 "endpoint round trip %d: result %d", round, c.result);
        if (round == 1) {
            const CapTransferResult *back =
                (const CapTransferResult *)(res + 8);
            capos_cap_t got = {0, 0};
            st_check(&t,
                     c.cap_count == 1 &&
                         capos_rt_adopt(back, CAPOS_NULL_CAP_INTERFACE_ID,
                                        &got) == 0,
                     "the moved cap came back (%u caps)", c.cap_count);
            s = (CapSqe){.opcode = CAP_OP_CALL, .cap_id = got.id};
            st_check(&t, one(&t, &s, "returned cap").result == 0,
                     "the returned cap works");
            s = (CapSqe){.opcode = CAP_OP_CALL, .cap_id = minted.id};
            st_check(&t,
                     one(&t, &s, "moved-away id").result ==
                         CAP_ERR_INVOKE_FAILED,
                     "the moved-away id is dead");
        }
    }

    /* Nothing left to complete: cap_enter times out with 0. */
    int n = capos_cap_enter(1, 2 * 1000 * 1000);
    st_check(&t, n == 0, "cap_enter timeout returned %d", n);
    return st_end(&t);
}
