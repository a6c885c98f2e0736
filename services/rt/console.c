/*
 * console.c - capos-rt: one line to a Console cap.
 */
#include <string.h>

#include "capos.capnp.h"
#include "capos_rt.h"

/*
 * Console.writeLine(text) on console: the params are built in a heap
 * buffer sized for text. Returns the CQE result (0), a CAP_ERR_* code,
 * CAPNP_E_NOSPACE, or CAPOS_RT_E_NO_MEMORY.
 */
int capos_console_line(capos_cap_t console, const char *text)
{
    size_t len = strlen(text);
    size_t cap = 64 + ((len + 8) & ~(size_t)7);
    uint8_t *buf = capos_alloc(cap);
    if (!buf)
        return CAPOS_RT_E_NO_MEMORY;
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, buf, cap);
    capos_Console_writeLine_Params_init_root(&b, &p);
    capos_Console_writeLine_Params_set_text(&p, text, len);
    int r = capos_rt_call_capnp(console, CAPOS_CONSOLE_WRITE_LINE_METHOD_ID, &b,
                                NULL, 0, NULL, NULL);
    capos_free(buf);
    return r;
}
