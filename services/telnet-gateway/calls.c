/*
 * calls.c - telnet-gateway's asynchronous calls (gateway.h): submitting
 * one with a fresh tag, and reading the result message and result caps
 * of a completion. Every result is untrusted input from the kernel or
 * the callee: lengths and cap records are checked against the buffer.
 */
#include <string.h>

#include "gateway.h"

/* Submit sqe with a fresh tag. Returns the tag, or 0 if the ring refused
 * it (nothing is then outstanding). */
uint64_t calls_submit(CapSqe *sqe)
{
    uint64_t tag = capos_rt_tag();
    sqe->user_data = tag;
    return capos_rt_submit(sqe) == 0 ? tag : 0;
}

/* Decode the result message of a completed call: res[0..cqe->result). */
bool calls_result_root(const CapCqe *cqe, const uint8_t *res, capnp_message *m,
                       capnp_struct *root)
{
    return cqe->result > 0 && (uint32_t)cqe->result <= RES_BUF &&
           capnp_msg_init(m, res, (size_t)cqe->result, NULL) == 0 &&
           capnp_msg_root(m, root) == 0;
}

/* Result cap i of a completed call (res holds up to res_len bytes), or
 * false. */
bool calls_result_cap(const CapCqe *cqe, const uint8_t *res, size_t res_len,
                      uint32_t i, CapTransferResult *out)
{
    if (cqe->result < 0 || !(cqe->flags & CAP_CQE_F_CAPS) ||
        i >= cqe->cap_count)
        return false;
    size_t off = CAP_ALIGN8((uint32_t)cqe->result) + i * sizeof *out;
    if (off + sizeof *out > res_len)
        return false;
    memcpy(out, res + off, sizeof *out);
    return true;
}

/* Release every result cap of a completed call except index keep. */
void calls_drop_caps(const CapCqe *cqe, const uint8_t *res, size_t res_len,
                     uint32_t keep)
{
    for (uint32_t i = 0; i < cqe->cap_count; i++) {
        CapTransferResult rec;
        if (i != keep && calls_result_cap(cqe, res, res_len, i, &rec))
            capos_rt_release((capos_cap_t){rec.cap_id, rec.interface_id});
    }
}
