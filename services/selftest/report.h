/*
 * report.h - what the two self-test services share: checks reported on
 * the console (services/selftest/{client,server}.c).
 *
 * State lives on the caller's stack, never in globals: every service is
 * linked into one host program, and two processes running the same
 * service must not share anything (capos_rt.h).
 */
#ifndef CAPOS_SELFTEST_REPORT_H
#define CAPOS_SELFTEST_REPORT_H

#include <stdbool.h>

#include "capos_rt.h"

struct st {
    const char *who; /* "selftest-client" */
    capos_cap_t console;
    bool have_console;
    int checks, failures;
};

/* Count a check; print "WHO: FAILED: ..." (printf format) if !ok. */
void st_check(struct st *t, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Print "WHO: ..." on the console (printf format). */
void st_say(struct st *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Find the console, then say the verdict line; returns the exit code. */
void st_begin(struct st *t, const char *who, capos_capset_t *caps);
int st_end(struct st *t);

#endif /* CAPOS_SELFTEST_REPORT_H */
