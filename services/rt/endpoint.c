/*
 * endpoint.c - capos-rt: calls a server makes on its own kernel Endpoint.
 */
#include <string.h>

#include "capos.capnp.h"
#include "capos_rt.h"

/*
 * Endpoint.mintClient(badge, interfaceId) on ep (docs/abi.md §10.1): a new
 * client facet of ep whose calls arrive with badge, typed as interface_id
 * (0: untyped ClientEndpoint). The params are built in pbuf[0..buf_len),
 * the result lands in rbuf[0..buf_len); both are the caller's. Returns 0
 * with *out (then the caller's cap), a CAP_ERR_* code, a CAPNP_E_* code
 * when the params did not fit, CAPOS_RT_E_NOT_FOUND when no cap came back,
 * or what capos_rt_adopt returns (the facet must speak interface_id; 0
 * adopts it as its record says, which is how a client takes a facet a
 * server mints and types itself on a served mintClient).
 */
int capos_endpoint_mint_typed(capos_cap_t ep, uint64_t badge,
                              uint64_t interface_id, uint8_t *pbuf,
                              uint8_t *rbuf, uint32_t buf_len, capos_cap_t *out)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, pbuf, buf_len);
    capos_Endpoint_mintClient_Params_init_root(&b, &p);
    capos_Endpoint_mintClient_Params_set_badge(&p, badge);
    capos_Endpoint_mintClient_Params_set_interfaceId(&p, interface_id);
    size_t len = 0;
    int r = capnp_finish(&b, &len);
    if (r < 0)
        return r;
    CapCqe cqe;
    r = capos_rt_invoke(ep, CAPOS_ENDPOINT_MINT_CLIENT_METHOD_ID, pbuf,
                        (uint32_t)len, rbuf, buf_len, &cqe);
    if (r < 0)
        return r;
    if (cqe.cap_count != 1)
        return CAPOS_RT_E_NOT_FOUND;
    CapTransferResult rec;
    memcpy(&rec, rbuf + CAP_ALIGN8((uint32_t)r), sizeof rec);
    return capos_rt_adopt(&rec, interface_id, out);
}

int capos_endpoint_mint_client(capos_cap_t ep, uint64_t badge, uint8_t *pbuf,
                               uint8_t *rbuf, uint32_t buf_len,
                               capos_cap_t *out)
{
    return capos_endpoint_mint_typed(ep, badge, 0, pbuf, rbuf, buf_len, out);
}
