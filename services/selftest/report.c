/*
 * report.c - console reporting shared by the self-test services
 * (report.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "report.h"

static void vsay(struct st *t, const char *prefix, const char *fmt, va_list ap)
{
    char line[256];
    vsnprintf(line, sizeof line, fmt, ap);
    if (t->have_console)
        capos_console_printf(t->console, "%s: %s%s", t->who, prefix, line);
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
