/*
 * errname.c - the one table of error names and sentences (errname.h).
 */
#include <stddef.h>

#include "capos/capnp.h"
#include "capos/errname.h"
#include "capos/ring.h"

static const struct {
    int code;
    const char *name, *sentence;
} rows[] = {
    {CAP_ERR_INVALID_REQUEST, "INVALID_REQUEST", "the request is malformed"},
    {CAP_ERR_INVALID_PARAMS_BUFFER, "INVALID_PARAMS_BUFFER",
     "the params buffer is outside the caller's memory or too large"},
    {CAP_ERR_INVALID_RESULT_BUFFER, "INVALID_RESULT_BUFFER",
     "the result buffer is outside the caller's memory, too small, or not a "
     "message"},
    {CAP_ERR_INVOKE_FAILED, "INVOKE_FAILED",
     "no such capability in the caller's table"},
    {CAP_ERR_UNSUPPORTED_OPCODE, "UNSUPPORTED_OPCODE",
     "the opcode is not supported"},
    {CAP_ERR_APPLICATION_EXCEPTION, "APPLICATION_EXCEPTION",
     "the service answered with an exception"},
    {CAP_ERR_APPLICATION_EXCEPTION_TRUNCATED, "APPLICATION_EXCEPTION_TRUNCATED",
     "the service answered with an exception too long for the result buffer"},
    {CAP_ERR_INVALID_TRANSFER, "INVALID_TRANSFER",
     "a capability transfer descriptor is malformed"},
    {CAP_ERR_TRANSFER_REJECTED, "TRANSFER_REJECTED",
     "a capability could not be transferred"},
    {CAP_ERR_QUEUE_FULL, "QUEUE_FULL", "a queue or table is full"},
    {CAP_ERR_DISCONNECTED, "DISCONNECTED",
     "the other side is gone (the server exited or the object was closed)"},
    {CAP_ERR_RING_BUSY, "RING_BUSY", "the ring is in use by another thread"},
    {CAP_ERR_RING_CORRUPT, "RING_CORRUPT", "the ring header is corrupt"},
    {CAP_ERR_WRONG_INTERFACE, "WRONG_INTERFACE",
     "the capability does not speak the interface this call is for"},
    /* The codec's own sentences are capnp_strerror's. */
    {CAPNP_E_BOUNDS, "BOUNDS", NULL},
    {CAPNP_E_TYPE, "TYPE", NULL},
    {CAPNP_E_DEPTH, "DEPTH", NULL},
    {CAPNP_E_TRAVERSAL, "TRAVERSAL", NULL},
    {CAPNP_E_NOSPACE, "NOSPACE", NULL},
    {CAPNP_E_FRAMING, "FRAMING", NULL},
    {CAPNP_E_FAR, "FAR", NULL},
    {CAPNP_E_TEXT, "TEXT", NULL},
    {CAPNP_E_INVAL, "INVAL", NULL},
    {CAPOS_RT_E_NOT_FOUND, "NOT_FOUND", "no capability of that name"},
    {CAPOS_RT_E_WRONG_INTERFACE, "WRONG_INTERFACE",
     "the capability does not speak the interface asked for"},
    {CAPOS_RT_E_NO_MEMORY, "NO_MEMORY", "the process heap is exhausted"},
    {CAPOS_RT_E_TIMEOUT, "TIMEOUT", "the wait ran out of time"},
    {CAPOS_RT_E_TOO_MANY, "TOO_MANY", "too many completions are awaited at once"},
};

static int find(int code)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].code == code)
            return (int)i;
    return -1;
}

const char *capos_error_name(int code)
{
    if (code >= 0)
        return "ok";
    int i = find(code);
    return i < 0 ? NULL : rows[i].name;
}

const char *capos_error_sentence(int code)
{
    int i = find(code);
    if (i < 0)
        return NULL;
    return rows[i].sentence ? rows[i].sentence : capnp_strerror(code);
}
