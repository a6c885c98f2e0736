/*
 * audit.c - capos-rt: one record to an AuditLog cap.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "capos_rt.h"

/*
 * AuditLog.append of a record with category, code, outcome (an
 * AuditOutcome), principal and detail (either may be NULL: not set) and
 * the session id sid[0..sidlen) (not set when sidlen is 0); the log sets
 * sequence, time and source. Params and result are built in heap buffers
 * sized for the texts. Returns the CQE result (>= 0), a CAP_ERR_* code (a
 * refused record: CAP_ERR_APPLICATION_EXCEPTION), CAPNP_E_NOSPACE or
 * CAPOS_RT_E_NO_MEMORY.
 */
int capos_audit_append_session(capos_cap_t log, const char *category,
                               const char *code, uint16_t outcome,
                               const char *principal, const uint8_t *sid,
                               size_t sidlen, const char *detail)
{
    size_t cl = strlen(category), kl = strlen(code);
    size_t pl = principal ? strlen(principal) : 0;
    size_t dl = detail ? strlen(detail) : 0;
    size_t cap = 256 + ((cl + kl + pl + sidlen + dl + 40) & ~(size_t)7);
    uint8_t *buf = capos_alloc(cap), *res = capos_alloc(256);
    int r = CAPOS_RT_E_NO_MEMORY;
    if (buf && res) {
        capnp_builder b;
        capnp_struct_builder p, rec;
        capnp_builder_init(&b, buf, cap);
        capos_AuditLog_append_Params_init_root(&b, &p);
        capos_AuditLog_append_Params_init_record(&p, &rec);
        capos_AuditRecord_set_category(&rec, category, cl);
        capos_AuditRecord_set_code(&rec, code, kl);
        capos_AuditRecord_set_outcome(&rec, outcome);
        if (principal)
            capos_AuditRecord_set_principal(&rec, principal, pl);
        if (sidlen)
            capos_AuditRecord_set_sessionId(&rec, sid, sidlen);
        if (detail)
            capos_AuditRecord_set_detail(&rec, detail, dl);
        r = capos_rt_call_capnp(log, CAPOS_AUDIT_LOG_APPEND_METHOD_ID, &b, res,
                                256, NULL, NULL);
    }
    capos_free(buf);
    capos_free(res);
    return r;
}

int capos_audit_append(capos_cap_t log, const char *category, const char *code,
                       uint16_t outcome, const char *principal,
                       const char *detail)
{
    return capos_audit_append_session(log, category, code, outcome, principal,
                                      NULL, 0, detail);
}

int capos_audit_printf(capos_cap_t log, const char *category,
                       const char *code, uint16_t outcome, const char *fmt,
                       ...)
{
    char detail[CAPOS_AUDIT_DETAIL_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return capos_audit_append(log, category, code, outcome, NULL, detail);
}
