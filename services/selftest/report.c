/*
 * report.c - console reporting shared by the self-test services
 * (report.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "report.h"

static void say_line(struct st *t, const char *line)
{
    if (!t->have_console)
        return;
    uint8_t *buf = capos_alloc(512);
    if (!buf)
        return;
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, buf, 512);
    capos_Console_writeLine_Params_init_root(&b, &p);
    capos_Console_writeLine_Params_set_text(&p, line, strlen(line));
    capos_rt_call_capnp(t->console, CAPOS_CONSOLE_WRITE_LINE_METHOD_ID, &b,
                        NULL, 0, NULL, NULL);
    capos_free(buf);
}

static void vsay(struct st *t, const char *prefix, const char *fmt, va_list ap)
{
    char line[256];
    int n = snprintf(line, sizeof line, "%s: %s", t->who, prefix);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    say_line(t, line);
}

void st_say(struct st *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(t, "", fmt, ap);
    va_end(ap);
}

void st_check(struct st *t, bool ok, const char *fmt, ...)
{
    t->checks++;
    if (ok)
        return;
    t->failures++;
    va_list ap;
    va_start(ap, fmt);
    vsay(t, "FAILED: ", fmt, ap);
    va_end(ap);
}

void st_begin(struct st *t, const char *who, capos_capset_t *caps)
{
    memset(t, 0, sizeof *t);
    t->who = who;
    t->have_console =
        capos_capset_find(caps, "console", CAPOS_CONSOLE_INTERFACE_ID,
                          &t->console) == 0;
}

/* The verdict line; the exit code (0 when every check passed). */
int st_end(struct st *t)
{
    if (t->failures) {
        st_say(t, "%d of %d checks FAILED", t->failures, t->checks);
        return 1;
    }
    st_say(t, "passed %d checks", t->checks);
    return 0;
}
