/*
 * selftest-server - the server half of the ring self-test (builtin
 * "selftest-server", fixtures/system-selftest.capnp): serves two calls on
 * its endpoint "service", replying with the params reversed and moving
 * back any cap it received, and checks that each call carries the badge
 * init labelled the client's facet with (0x5e1f).
 *
 * Caps: "console" (Console), "service" (its own Endpoint, exported).
 */
#include <string.h>

#include "capos.capnp.h"
#include "report.h"

#define CLIENT_BADGE 0x5e1full
#define BUF 512u

int capos_main(capos_capset_t *caps)
{
    struct st t;
    st_begin(&t, "selftest-server", caps);
    capos_cap_t ep;
    bool have = capos_capset_find(caps, "service", CAPOS_ENDPOINT_INTERFACE_ID,
                                  &ep) == 0;
    st_check(&t, have, "the CapSet has no Endpoint \"service\"");
    if (!have)
        return st_end(&t);
    uint8_t *buf = capos_alloc(BUF), *reply = capos_alloc(256);
    for (int round = 0; round < 2; round++) {
        CapSqe s = {.opcode = CAP_OP_RECV,
                    .cap_id = ep.id,
                    .result_addr = capos_va(buf),
                    .result_len = BUF};
        CapCqe c;
        int r = capos_rt_call(&s, &c);
        bool got = r == 0 && c.result >= (int)sizeof(EndpointMessageHeader);
        st_check(&t, got, "RECV %d: result %d", round, r ? r : c.result);
        if (!got)
            return st_end(&t);
        EndpointMessageHeader h;
        memcpy(&h, buf, sizeof h);
        st_check(&t, c.badge == CLIENT_BADGE && h.badge == CLIENT_BADGE,
                 "call %d carries badge %#llx, want %#llx", round,
                 (unsigned long long)c.badge, CLIENT_BADGE);
        uint32_t n = h.params_len < 128 ? h.params_len : 128;
        memset(reply, 0, 256);
        for (uint32_t i = 0; i < n; i++)
            reply[i] = buf[sizeof h + n - 1 - i];
        uint16_t nx = 0;
        if (h.cap_count == 1) {
            const CapTransferResult *rec =
                (const CapTransferResult *)(buf + CAP_ALIGN8(sizeof h +
                                                             h.params_len));
            CapTransferDescriptor *d =
                (CapTransferDescriptor *)(reply + CAP_ALIGN8(n));
            d->cap_id = rec->cap_id;
            d->mode = CAP_XFER_MOVE;
            nx = 1;
        }
        st_check(&t, h.cap_count == (uint16_t)round,
                 "call %d brought %u caps, want %d", round, h.cap_count, round);
        s = (CapSqe){.opcode = CAP_OP_RETURN,
                     .cap_id = ep.id,
                     .call_id = h.call_id,
                     .addr = capos_va(reply),
                     .len = n,
                     .xfer_cap_count = nx};
        r = capos_rt_call(&s, &c);
        st_check(&t, r == 0 && c.result == 0, "RETURN %d: result %d", round,
                 r ? r : c.result);
    }
    st_say(&t, "served 2 calls");
    return st_end(&t);
}
