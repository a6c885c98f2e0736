/*
 * results.c - capos-rt: the caps a completed call returned after its
 * result message (docs/abi.md: CapTransferResult records at the result's
 * 8-byte-aligned end).
 */
#include <string.h>

#include "capos/capnp.h"
#include "capos_rt.h"

bool capos_rt_result_cap(const CapCqe *cqe, const void *res, size_t res_len,
                         uint32_t i, CapTransferResult *out)
{
    if (cqe->result < 0 || !(cqe->flags & CAP_CQE_F_CAPS) ||
        i >= cqe->cap_count)
        return false;
    size_t off = CAP_ALIGN8((uint32_t)cqe->result) + i * sizeof *out;
    if (off + sizeof *out > res_len)
        return false;
    memcpy(out, (const uint8_t *)res + off, sizeof *out);
    return true;
}

void capos_rt_drop_result_caps(const CapCqe *cqe, const void *res,
                               size_t res_len, uint32_t keep)
{
    for (uint32_t i = 0; i < cqe->cap_count; i++) {
        CapTransferResult rec;
        if (i != keep && capos_rt_result_cap(cqe, res, res_len, i, &rec))
            capos_rt_release((capos_cap_t){rec.cap_id, rec.interface_id});
    }
}

bool capos_rt_result_msg(const CapCqe *cqe, const void *res, size_t res_len,
                         capnp_message *m, capnp_struct *root)
{
    return cqe->result > 0 && (size_t)cqe->result <= res_len &&
           capnp_msg_init(m, res, (size_t)cqe->result, NULL) == 0 &&
           capnp_msg_root(m, root) == 0;
}
