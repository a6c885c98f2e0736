/*
 * errors.c - capos-rt: say why a call failed, for people.
 */
#include <stdio.h>

#include "capos.capnp.h"
#include "capos_rt.h"

/*
 * The message of the CapException a failed call left in its result buffer
 * res[0..res_len) when code is CAP_ERR_APPLICATION_EXCEPTION[_TRUNCATED],
 * else the code's sentence and name from the one table
 * (include/capos/errname.h): "a queue or table is full (QUEUE_FULL,
 * error -10)"; a code no table has stays "error CODE". Control
 * characters in the message become '?', so a refusing service cannot
 * forge lines on a console. Writes out[0..cap) and returns out.
 */
const char *capos_rt_error_text(const void *res, size_t res_len, int code,
                                char *out, size_t cap)
{
    capnp_message m;
    capnp_struct root;
    const char *msg;
    size_t n;
    if (cap == 0)
        return out;
    if ((code == CAP_ERR_APPLICATION_EXCEPTION ||
         code == CAP_ERR_APPLICATION_EXCEPTION_TRUNCATED) &&
        capnp_msg_init(&m, res, res_len, NULL) == 0 &&
        capnp_msg_root(&m, &root) == 0 &&
        capos_CapException_get_message(&root, &msg, &n) == 0 && n > 0) {
        size_t k = 0;
        for (size_t i = 0; i < n && k + 1 < cap; i++)
            out[k++] = (msg[i] >= 0x20 && msg[i] != 0x7f) ? msg[i] : '?';
        out[k] = '\0';
        return out;
    }
    const char *name = capos_error_name(code),
               *sentence = capos_error_sentence(code);
    if (sentence)
        snprintf(out, cap, "%s (%s, error %d)", sentence, name, code);
    else
        snprintf(out, cap, "error %d", code);
    return out;
}
