/*
 * server.h - capos-rt's server runtime: serve calls arriving on an
 * Endpoint cap (docs/abi.md §10) with a handler.
 *
 *     static int handle(void *ctx, capos_server_call_t *call)
 *     {
 *         capnp_struct_builder res;
 *         switch (call->method_id) {
 *         case CAPOS_AUDIT_LOG_APPEND_METHOD_ID: ...
 *             capos_AuditLog_append_Results_init_root(call->result, &res);
 *             capos_AuditLog_append_Results_set_sequence(&res, seq);
 *             return CAPOS_SERVE_REPLY;
 *         }
 *         return capos_server_unimplemented(call);
 *     }
 *     ...
 *     return capos_serve(ep, handle, ctx);
 *
 * The runtime posts a RECV into a heap buffer, decodes the
 * EndpointMessageHeader and the params message, calls the handler, then
 * RETURNs the result message the handler built (with the caps it added
 * as transfer descriptors) or a CapException (CAP_SQE_EXCEPTION). One call
 * is handled at a time; the handler may make calls of its own meanwhile.
 *
 * Trust: everything in a call (params bytes, method id, transfer records)
 * comes from the client and is untrusted; only the badge and call_id are
 * set by the kernel. A message that does not decode is refused with an
 * invalidArgument CapException before the handler runs; so the handler
 * sees a params root that decoded (its fields still need bounds checks).
 */
#ifndef CAPOS_RT_SERVER_H
#define CAPOS_RT_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "capos/capnp.h"
#include "capos/ring.h"
#include "capos_rt.h"

/* Handler verdicts (what capos_serve does after the handler returns). */
#define CAPOS_SERVE_REPLY 0     /* RETURN the result built in call->result */
#define CAPOS_SERVE_STOP 1      /* RETURN it, then capos_serve returns 0 */
#define CAPOS_SERVE_EXCEPTION 2 /* RETURN the CapException set on the call */

/* Default buffer sizes (capos_server_opts fields of 0 take these). */
#define CAPOS_SERVER_RECV_BYTES 8192u   /* header + params + records */
#define CAPOS_SERVER_RESULT_BYTES 8192u /* result message */

/* ExceptionType ordinals (schema ExceptionType; for capos_server_fail). */
#define CAPOS_EXC_FAILED 0u
#define CAPOS_EXC_OVERLOADED 1u
#define CAPOS_EXC_DISCONNECTED 2u
#define CAPOS_EXC_UNIMPLEMENTED 3u
#define CAPOS_EXC_INVALID_ARGUMENT 4u

/* Most endpoints one capos_serve_set serves. */
#define CAPOS_SERVER_MAX_ENDPOINTS 8u

/* Longest CapException message (schema: at most 256 bytes). */
#define CAPOS_SERVER_EXC_MESSAGE_MAX 256u

/*
 * One call being served. Valid only during the handler; the runtime owns
 * the memory. Fields above the line are read-only input.
 */
typedef struct capos_server_call {
    uint32_t call_id;      /* kernel-set: what RETURN names */
    uint16_t method_id;    /* client-chosen method ordinal */
    uint64_t badge;        /* kernel-set: the caller's facet badge (trusted) */
    unsigned endpoint;     /* capos_serve_set: index of the endpoint called */
    const uint8_t *params; /* raw params bytes (untrusted) */
    uint32_t params_len;
    capnp_message params_msg; /* params decoded (an empty message: an
                                 empty struct root) */
    capnp_struct params_root;
    const CapTransferResult *caps; /* caps the client sent, in descriptor
                                      order (a capnp cap pointer's index) */
    uint16_t cap_count;
    /* ---- output ---- */
    capnp_builder *result; /* build the result message here; nothing built
                              = an empty struct is returned */
    /* private to the runtime */
    CapTransferDescriptor xfer[CAP_XFER_MAX];
    uint16_t xfer_count;
    uint32_t caps_taken; /* bit i: caps[i] taken by the handler */
    uint16_t exc_type;
    char exc_msg[CAPOS_SERVER_EXC_MESSAGE_MAX + 1];
} capos_server_call_t;

/*
 * The handler: inspect call, build the result in call->result (generated
 * *_Results_init_root builders) and return a CAPOS_SERVE_* verdict, or
 * return capos_server_fail(...) for a CapException. Any other return
 * value is treated as a `failed` exception.
 */
typedef int (*capos_server_handler_fn)(void *ctx, capos_server_call_t *call);

typedef struct capos_server_opts {
    uint32_t recv_bytes;   /* 0: CAPOS_SERVER_RECV_BYTES */
    uint32_t result_bytes; /* 0: CAPOS_SERVER_RESULT_BYTES */
} capos_server_opts_t;

/*
 * Serve calls on ep (an Endpoint cap the process owns) until the handler
 * returns CAPOS_SERVE_STOP (returns 0) or the endpoint goes away (returns
 * CAP_ERR_DISCONNECTED). Other returns: CAPOS_RT_E_NO_MEMORY (buffers),
 * or the CAP_ERR_* / CAPOS_RT_E_* code of a failed RECV. A RETURN the
 * kernel refuses (the caller exited: CAP_ERR_DISCONNECTED) is not an
 * error of the loop: it serves on. capos_serve_opts takes buffer sizes
 * (opts may be NULL).
 *
 * Caps: received caps the handler did not take (capos_server_take_cap)
 * are released after the call; caps added with CAP_XFER_MOVE belong to
 * the runtime from then on (released if they cannot be delivered, or if
 * the call ends in an exception).
 */
int capos_serve(capos_cap_t ep, capos_server_handler_fn handler, void *ctx);
int capos_serve_opts(capos_cap_t ep, capos_server_handler_fn handler, void *ctx,
                     const capos_server_opts_t *opts);

/*
 * Serve several endpoints (eps[0..n), n at most CAPOS_SERVER_MAX_ENDPOINTS)
 * with one handler, one call at a time; call->endpoint says which one was
 * called (e.g. a log serving AuditLog on one and AuditLogReader on the
 * other). Returns as capos_serve: 0 after CAPOS_SERVE_STOP, or the error
 * of the last endpoint once every endpoint is gone. Receive buffers of
 * endpoints still listening when it returns stay allocated (a posted
 * RECV cannot be withdrawn).
 */
int capos_serve_set(const capos_cap_t *eps, unsigned n,
                    capos_server_handler_fn handler, void *ctx,
                    const capos_server_opts_t *opts);

/*
 * Set call's CapException (type a CAPOS_EXC_*, message printf-style,
 * truncated to CAPOS_SERVER_EXC_MESSAGE_MAX bytes; never put secrets in
 * it) and return CAPOS_SERVE_EXCEPTION for the handler to return.
 */
int capos_server_fail(capos_server_call_t *call, uint16_t type, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));

/* Shorthands: "<method> not implemented (method N)" unimplemented, and
 * an invalidArgument naming what was wrong. */
int capos_server_unimplemented(capos_server_call_t *call);
int capos_server_invalid(capos_server_call_t *call, const char *what);

/*
 * Take received cap i (index into call->caps, as a params capability
 * pointer names it) if it speaks interface_id (0: any), as its
 * CapTransferResult record says: a typed facet speaks the interface it was
 * minted or granted for, an untyped one only ClientEndpoint (docs/abi.md
 * §8). The handler then owns it
 * (release it with capos_rt_release). Returns 0, CAPOS_RT_E_NOT_FOUND
 * (no such index, or taken already) or CAPOS_RT_E_WRONG_INTERFACE (left
 * for the runtime to release).
 */
int capos_server_take_cap(capos_server_call_t *call, uint32_t i,
                          uint64_t interface_id, capos_cap_t *out);

/*
 * Add cap_id as a result cap (mode CAP_XFER_COPY or CAP_XFER_MOVE); its
 * index (for a result capability pointer, capnp_set_cap) is returned, or
 * CAPOS_RT_E_TOO_MANY past CAP_XFER_MAX. See capos_serve for ownership.
 */
int capos_server_add_cap(capos_server_call_t *call, uint32_t cap_id,
                         uint32_t mode);

#endif /* CAPOS_RT_SERVER_H */
