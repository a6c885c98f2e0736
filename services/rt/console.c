/*
 * console.c - capos-rt: one line to a Console cap.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "capos/escape.h"
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

/*
 * One console line from a printf format, cut at CAPOS_CONSOLE_LINE_MAX - 1
 * bytes (a cut line is still written), then escaped whole
 * (capos_escape_text): a console line quotes names and peer strings that
 * came from manifests and remote users, and no byte of those may reach the
 * host terminal as a control sequence or break the line in two. Formatted
 * in the heap, not on the caller's stack. Returns what capos_console_line
 * returns, or CAPOS_RT_E_NO_MEMORY.
 */
int capos_console_vprintf(capos_cap_t console, const char *fmt, va_list ap)
{
    char *line = capos_alloc(CAPOS_CONSOLE_LINE_MAX);
    if (!line)
        return CAPOS_RT_E_NO_MEMORY;
    int n = vsnprintf(line, CAPOS_CONSOLE_LINE_MAX, fmt, ap);
    size_t len = n < 0 ? 0
                 : (size_t)n >= CAPOS_CONSOLE_LINE_MAX
                     ? CAPOS_CONSOLE_LINE_MAX - 1
                     : (size_t)n;
    size_t cap = capos_escape_size(line, len);
    char *safe = capos_alloc(cap);
    int r = CAPOS_RT_E_NO_MEMORY;
    if (safe) {
        capos_escape_text(safe, cap, line, len);
        r = capos_console_line(console, safe);
        capos_free(safe);
    }
    capos_free(line);
    return r;
}

int capos_console_printf(capos_cap_t console, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = capos_console_vprintf(console, fmt, ap);
    va_end(ap);
    return r;
}
