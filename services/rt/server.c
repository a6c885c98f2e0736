/*
 * server.c - capos-rt's server runtime (server.h): RECV a call, decode
 * it, run the handler, RETURN its result or a CapException.
 */
#include "server.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"

int capos_server_fail(capos_server_call_t *call, uint16_t type, const char *fmt,
                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->exc_msg, sizeof call->exc_msg, fmt, ap);
    va_end(ap);
    call->exc_type = type;
    return CAPOS_SERVE_EXCEPTION;
}

int capos_server_unimplemented(capos_server_call_t *call)
{
    return capos_server_fail(call, CAPOS_EXC_UNIMPLEMENTED,
                             "method %u is not implemented by this service",
                             (unsigned)call->method_id);
}

int capos_server_invalid(capos_server_call_t *call, const char *what)
{
    return capos_server_fail(call, CAPOS_EXC_INVALID_ARGUMENT, "%s", what);
}

int capos_server_take_cap(capos_server_call_t *call, uint32_t i,
                          uint64_t interface_id, capos_cap_t *out)
{
    if (i >= call->cap_count || (call->caps_taken & (1u << i)))
        return CAPOS_RT_E_NOT_FOUND;
    CapTransferResult rec;
    memcpy(&rec, &call->caps[i], sizeof rec); /* client buffer: copy */
    /* The record names the interface the kernel keeps in the slot
     * (docs/abi.md §8): an untyped ClientEndpoint does not pass for a
     * typed interface. */
    if (interface_id != 0 && rec.interface_id != interface_id)
        return CAPOS_RT_E_WRONG_INTERFACE;
    call->caps_taken |= 1u << i;
    out->id = rec.cap_id;
    out->interface_id = rec.interface_id;
    return 0;
}

int capos_server_add_cap(capos_server_call_t *call, uint32_t cap_id,
                         uint32_t mode)
{
    if (call->xfer_count >= CAP_XFER_MAX)
        return CAPOS_RT_E_TOO_MANY;
    CapTransferDescriptor *d = &call->xfer[call->xfer_count];
    memset(d, 0, sizeof *d);
    d->cap_id = cap_id;
    d->mode = mode == CAP_XFER_MOVE ? CAP_XFER_MOVE : CAP_XFER_COPY;
    return call->xfer_count++;
}

/* Release the caps the runtime owns after a call: received caps nobody
 * took, and (if the result did not reach the caller) the moved result
 * caps, which the handler gave up. */
static void drop_caps(capos_server_call_t *call, bool moved_too)
{
    for (uint32_t i = 0; i < call->cap_count; i++)
        if (!(call->caps_taken & (1u << i))) {
            CapTransferResult rec;
            memcpy(&rec, &call->caps[i], sizeof rec);
            capos_rt_release((capos_cap_t){rec.cap_id, rec.interface_id});
        }
    if (moved_too)
        for (uint16_t i = 0; i < call->xfer_count; i++)
            if (call->xfer[i].mode == CAP_XFER_MOVE)
                capos_rt_release((capos_cap_t){call->xfer[i].cap_id, 0});
}

/* Serialize call's CapException into out (cap bytes); returns its length
 * or 0 if it does not fit (then an empty exception payload is sent). */
static uint32_t build_exception(const capos_server_call_t *call, uint8_t *out,
                                uint32_t cap)
{
    capnp_builder b;
    capnp_struct_builder e;
    capnp_builder_init(&b, out, cap);
    capos_CapException_init_root(&b, &e);
    capos_CapException_set_type(&e, call->exc_type);
    capos_CapException_set_message(&e, call->exc_msg, strlen(call->exc_msg));
    size_t len = 0;
    if (capnp_finish(&b, &len) < 0)
        return 0;
    return (uint32_t)len;
}

/* RETURN one call: the result message (plus descriptors) or the
 * exception. Returns the RETURN's CQE result (0: delivered). */
static int reply(capos_cap_t ep, capos_server_call_t *call, int verdict,
                 uint8_t *res, uint32_t res_cap)
{
    CapSqe s = {.opcode = CAP_OP_RETURN,
                .cap_id = ep.id,
                .call_id = call->call_id,
                .addr = capos_va(res)};
    uint32_t len = 0;
    bool exc = verdict != CAPOS_SERVE_REPLY && verdict != CAPOS_SERVE_STOP;
    if (!exc) {
        if (call->result->used == 0) {
            /* Nothing built: an empty struct is still a valid result. */
            capnp_struct_builder root;
            capnp_init_root(call->result, 0, 0, &root);
        }
        size_t n = 0;
        if (capnp_finish(call->result, &n) < 0) {
            exc = true;
            capos_server_fail(call, CAPOS_EXC_FAILED,
                              "the result does not fit the server's %u-byte "
                              "result buffer",
                              (unsigned)(res_cap - CAP_XFER_MAX * 16u));
        } else {
            len = (uint32_t)n;
        }
    }
    if (exc) {
        if (verdict != CAPOS_SERVE_EXCEPTION && !call->exc_msg[0])
            capos_server_fail(call, CAPOS_EXC_FAILED,
                              "the service failed (handler returned %d)",
                              verdict);
        len = build_exception(call, res, res_cap);
        s.flags = CAP_SQE_EXCEPTION;
    } else if (call->xfer_count) {
        /* Descriptors follow the payload at align8 (docs/abi.md §9). */
        memcpy(res + CAP_ALIGN8(len), call->xfer,
               call->xfer_count * sizeof call->xfer[0]);
        s.xfer_cap_count = call->xfer_count;
    }
    s.len = len;
    CapCqe c;
    int r = capos_rt_call(&s, &c);
    if (r == 0)
        r = c.result;
    if (!exc && r == CAP_ERR_INVALID_TRANSFER) {
        /* The kernel refused the result's caps before looking at the
         * call (one cannot travel: docs/abi.md §9), so the call is still
         * open: answer it with an exception rather than leave the caller
         * waiting. (A caller without room gets TRANSFER_REJECTED from
         * the kernel itself.) */
        drop_caps(call, true);
        call->xfer_count = 0;
        capos_server_fail(call, CAPOS_EXC_FAILED,
                          "the result caps could not be delivered "
                          "(error %d)",
                          r);
        s.len = build_exception(call, res, res_cap);
        s.flags = CAP_SQE_EXCEPTION;
        s.xfer_cap_count = 0;
        r = capos_rt_call(&s, &c);
        if (r == 0)
            r = c.result;
        return r;
    }
    drop_caps(call, exc || r != 0);
    return r;
}

/*
 * Decode one received message (n bytes at buf, RECV's result plus the
 * records after it) into call. Returns 0, or an invalidArgument verdict
 * set on call when the client's params do not decode.
 */
static int decode(capos_server_call_t *call, const uint8_t *buf, uint32_t n,
                  uint32_t buf_cap, const CapCqe *cqe)
{
    EndpointMessageHeader h;
    memcpy(&h, buf, sizeof h);
    call->call_id = h.call_id;
    call->method_id = h.method_id;
    call->badge = cqe->badge;
    /* The kernel wrote header + params: trust the lengths only as far as
     * they agree with the CQE and the buffer. */
    uint32_t plen = h.params_len;
    if (plen > n - sizeof h)
        plen = n - (uint32_t)sizeof h;
    call->params = buf + sizeof h;
    call->params_len = plen;
    uint64_t rec_off = CAP_ALIGN8(sizeof h + plen);
    uint32_t ncaps = h.cap_count;
    if (rec_off + (uint64_t)ncaps * sizeof(CapTransferResult) > buf_cap ||
        ncaps > CAP_XFER_MAX)
        ncaps = 0; /* impossible if the kernel kept §10; take nothing */
    call->caps = (const CapTransferResult *)(buf + rec_off);
    call->cap_count = (uint16_t)ncaps;
    /* No params read as an empty struct (a method without params may be
     * called with none): a one-word message whose root is null. */
    static const uint8_t empty[16] = {0, 0, 0, 0, 1, 0, 0, 0};
    const uint8_t *msg = plen ? call->params : empty;
    uint32_t mlen = plen ? plen : (uint32_t)sizeof empty;
    if (capnp_msg_init(&call->params_msg, msg, mlen, NULL) < 0 ||
        capnp_msg_root(&call->params_msg, &call->params_root) < 0)
        return capos_server_fail(call, CAPOS_EXC_INVALID_ARGUMENT,
                                 "method %u: the params are not a valid "
                                 "Cap'n Proto message",
                                 (unsigned)call->method_id);
    return 0;
}

int capos_serve(capos_cap_t ep, capos_server_handler_fn handler, void *ctx)
{
    return capos_serve_set(&ep, 1, handler, ctx, NULL);
}

int capos_serve_opts(capos_cap_t ep, capos_server_handler_fn handler, void *ctx,
                     const capos_server_opts_t *opts)
{
    return capos_serve_set(&ep, 1, handler, ctx, opts);
}

/* Post a RECV on eps[i] into buf; *tag names it. */
static int post_recv(capos_cap_t ep, uint8_t *buf, uint32_t cap, uint64_t *tag)
{
    *tag = capos_rt_tag();
    CapSqe s = {.opcode = CAP_OP_RECV,
                .cap_id = ep.id,
                .user_data = *tag,
                .result_addr = capos_va(buf),
                .result_len = cap};
    return capos_rt_submit(&s);
}

int capos_serve_set(const capos_cap_t *eps, unsigned n,
                    capos_server_handler_fn handler, void *ctx,
                    const capos_server_opts_t *opts)
{
    if (n == 0 || n > CAPOS_SERVER_MAX_ENDPOINTS)
        return CAPOS_RT_E_TOO_MANY;
    uint32_t recv_cap =
        opts && opts->recv_bytes ? opts->recv_bytes : CAPOS_SERVER_RECV_BYTES;
    uint32_t res_msg = opts && opts->result_bytes ? opts->result_bytes
                                                  : CAPOS_SERVER_RESULT_BYTES;
    if (recv_cap < sizeof(EndpointMessageHeader) + 64)
        recv_cap = sizeof(EndpointMessageHeader) + 64;
    if (res_msg > CAP_MAX_RESULT - CAP_XFER_MAX * 16u)
        res_msg = CAP_MAX_RESULT - CAP_XFER_MAX * 16u;
    res_msg = (uint32_t)CAP_ALIGN8(res_msg);
    /* Room for the records after the params and the descriptors after
     * the result. */
    uint32_t recv_total = (uint32_t)CAP_ALIGN8(recv_cap) +
                          CAP_XFER_MAX * sizeof(CapTransferResult);
    uint32_t res_total = res_msg + CAP_XFER_MAX * 16u;
    uint8_t *rbuf[CAPOS_SERVER_MAX_ENDPOINTS] = {0};
    uint64_t tag[CAPOS_SERVER_MAX_ENDPOINTS];
    bool posted[CAPOS_SERVER_MAX_ENDPOINTS] = {0};
    bool ok = true;
    for (unsigned i = 0; i < n; i++) {
        rbuf[i] = capos_alloc(recv_total);
        ok = ok && rbuf[i];
    }
    uint8_t *res = capos_alloc(res_total);
    capos_server_call_t *call = capos_alloc(sizeof *call);
    capnp_builder *b = capos_alloc(sizeof *b);
    int ret = CAPOS_RT_E_NO_MEMORY;
    if (!ok || !res || !call || !b)
        goto out;
    for (unsigned i = 0; i < n; i++) {
        ret = post_recv(eps[i], rbuf[i], recv_total, &tag[i]);
        if (ret != 0)
            goto out;
        posted[i] = true;
    }
    for (;;) {
        uint64_t wtags[CAPOS_SERVER_MAX_ENDPOINTS];
        unsigned wmap[CAPOS_SERVER_MAX_ENDPOINTS], nw = 0, which;
        for (unsigned i = 0; i < n; i++)
            if (posted[i]) {
                wtags[nw] = tag[i];
                wmap[nw++] = i;
            }
        if (nw == 0)
            break; /* every endpoint is gone: ret holds the last error */
        CapCqe c;
        int r = capos_rt_wait_any(wtags, nw, &which, &c, CAP_TIMEOUT_INFINITE);
        if (r != 0) {
            ret = r;
            break;
        }
        unsigned i = wmap[which];
        posted[i] = false;
        if (c.result < 0) {
            /* That endpoint is gone (or refuses RECV): serve the rest. */
            ret = c.result;
            continue;
        }
        memset(call, 0, sizeof *call);
        memset(res, 0, res_total);
        capnp_builder_init(b, res, res_msg);
        call->result = b;
        call->endpoint = i;
        int verdict = CAPOS_SERVE_REPLY;
        if ((uint32_t)c.result >= sizeof(EndpointMessageHeader)) {
            verdict = decode(call, rbuf[i], (uint32_t)c.result, recv_total, &c);
            if (verdict == 0)
                verdict = handler(ctx, call);
            reply(eps[i], call, verdict, res, res_total);
        } /* else not a call: the kernel broke §10; nothing to answer */
        /* The params may hold secrets (passwords): do not keep them. */
        memset(rbuf[i], 0, recv_total);
        if (verdict == CAPOS_SERVE_STOP) {
            ret = 0;
            break;
        }
        ret = post_recv(eps[i], rbuf[i], recv_total, &tag[i]);
        if (ret != 0)
            break;
        posted[i] = true;
    }
out:
    if (res)
        memset(res, 0, res_total);
    capos_free(res);
    capos_free(call);
    capos_free(b);
    /* A RECV still posted on another endpoint may be filled later (there
     * is no cancel): its buffer stays allocated for the process's life. */
    for (unsigned i = 0; i < n; i++)
        if (!posted[i])
            capos_free(rbuf[i]);
    return ret;
}
