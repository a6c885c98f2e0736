/*
 * audit-log - the append-only AuditLog (builtin "audit-log").
 *
 * Caps: "log" (Endpoint, serves AuditLog: append), "reader" (Endpoint,
 * serves AuditLogReader: read; optional), "console" (Console: each record
 * is also written as one line "audit: seq=N ..."; optional), "timer"
 * (Timer: timeNs; optional, else 0).
 *
 * The log sets sequence (1, 2, 3, ...), timeNs and source (from the
 * caller's facet badge, never from params). It keeps the last
 * AUDIT_LOG_CAPACITY records in a ring and counts the ones it dropped.
 *
 * Redaction: no secret is stored or printed. In every text field, a
 * secret-bearing key (password, passwd, passphrase, secret, token, apikey,
 * api_key, privatekey, private_key; any case) followed by '=' or ':' has
 * everything after it replaced by "[redacted]". Control bytes become '?'
 * so a client cannot forge console lines. Text longer than its bound is
 * refused (invalidArgument), as the schema's bounded-input rule says.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "capos_rt.h"
#include "server.h"

#define AUDIT_LOG_CAPACITY 256u /* records kept */
#define AUDIT_READ_MAX 64u      /* AuditLogReader.read: at most 64 */
#define CATEGORY_MAX 32u
#define CODE_MAX 64u
#define PRINCIPAL_MAX 64u
#define SESSION_ID_MAX 32u
#define DETAIL_MAX 256u
#define SOURCE_MAX 31u

#define EP_LOG 0u
#define EP_READER 1u

struct record {
    uint64_t sequence, time_ns;
    uint16_t outcome;
    uint8_t session_len;
    char source[SOURCE_MAX + 1];
    char category[CATEGORY_MAX + 1];
    char code[CODE_MAX + 1];
    char principal[PRINCIPAL_MAX + 1];
    uint8_t session[SESSION_ID_MAX];
    /* Redaction can grow the text by "[redacted]". */
    char detail[DETAIL_MAX + 16];
};

struct audit {
    struct record ring[AUDIT_LOG_CAPACITY];
    uint64_t next_seq; /* sequence of the next append (first: 1) */
    uint64_t dropped;  /* records pushed out of the ring */
    bool have_console, have_timer;
    capos_cap_t console, timer;
    uint8_t *scratch; /* console line / timer call buffers */
};

static const char *const secret_keys[] = {
    "password", "passwd",  "passphrase", "secret",      "token",
    "apikey",   "api_key", "privatekey", "private_key",
};

/* Whether s[0..n) at i starts key (case-insensitive). */
static bool key_at(const char *s, size_t n, size_t i, const char *key)
{
    size_t k = strlen(key);
    if (i + k > n)
        return false;
    for (size_t j = 0; j < k; j++)
        if (tolower((unsigned char)s[i + j]) != key[j])
            return false;
    return true;
}

/*
 * Copy text src[0..n) into dst (room for cap bytes, cap > 16), making
 * control bytes '?' and redacting secrets: after a secret-bearing key
 * followed (after optional spaces) by '=' or ':', the rest of the text
 * becomes "[redacted]". The result is NUL-terminated.
 */
static void redact_copy(char *dst, size_t cap, const char *src, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        for (size_t k = 0; k < sizeof secret_keys / sizeof *secret_keys; k++) {
            if (!key_at(src, n, i, secret_keys[k]))
                continue;
            size_t j = i + strlen(secret_keys[k]);
            while (j < n && src[j] == ' ')
                j++;
            if (j < n && (src[j] == '=' || src[j] == ':')) {
                size_t keep = j + 1 - i;
                if (o + keep + sizeof "[redacted]" > cap)
                    keep = 0;
                for (size_t m = 0; m < keep; m++) {
                    unsigned char ch = (unsigned char)src[i + m];
                    dst[o++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
                }
                memcpy(dst + o, "[redacted]", sizeof "[redacted]");
                return;
            }
        }
        unsigned char ch = (unsigned char)src[i];
        dst[o++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    dst[o] = 0;
}

/* Read text field `get` of r into dst if at most max bytes; returns false
 * (and sets the exception) when it is longer or malformed. */
typedef int (*text_get_fn)(const capnp_struct *, const char **, size_t *);
static bool take_text(capos_server_call_t *call, const capnp_struct *r,
                      text_get_fn get, const char *name, size_t max, char *dst,
                      size_t cap)
{
    const char *s = "";
    size_t n = 0;
    if (get(r, &s, &n) < 0) {
        capos_server_fail(call, CAPOS_EXC_INVALID_ARGUMENT,
                          "AuditLog.append: record.%s is not valid Text", name);
        return false;
    }
    if (n > max) {
        capos_server_fail(call, CAPOS_EXC_INVALID_ARGUMENT,
                          "AuditLog.append: record.%s is %zu bytes; at most "
                          "%zu",
                          name, n, max);
        return false;
    }
    redact_copy(dst, cap, s ? s : "", n);
    return true;
}

static const char *outcome_name(uint16_t o)
{
    static const char *const names[] = {"info", "allowed", "denied", "error"};
    return o < 4 ? names[o] : "?";
}

static uint64_t now_ns(struct audit *a)
{
    if (!a->have_timer)
        return 0;
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message m;
    capnp_struct root;
    capnp_builder_init(&b, a->scratch, 64);
    capos_Timer_now_Params_init_root(&b, &p);
    if (capos_rt_call_capnp(a->timer, CAPOS_TIMER_NOW_METHOD_ID, &b,
                            a->scratch + 64, 128, &m, &root) < 0)
        return 0;
    return capos_Timer_now_Results_get_ns(&root);
}

/* One console line per record (best effort: a failed write loses only
 * the copy, never the record). */
static void print_record(struct audit *a, const struct record *r)
{
    if (!a->have_console)
        return;
    capos_console_printf(
        a->console,
        "audit: seq=%llu %s=%s outcome=%s source=%s principal=%s "
        "detail=%s",
        (unsigned long long)r->sequence, r->category, r->code,
        outcome_name(r->outcome), r->source,
        r->principal[0] ? r->principal : "-", r->detail[0] ? r->detail : "-");
}

static int append(struct audit *a, capos_server_call_t *call)
{
    capnp_struct r;
    if (capos_AuditLog_append_Params_get_record(&call->params_root, &r) < 0)
        return capos_server_invalid(call, "AuditLog.append: record is not "
                                          "a valid AuditRecord");
    struct record rec;
    memset(&rec, 0, sizeof rec);
    if (!take_text(call, &r, capos_AuditRecord_get_category, "category",
                   CATEGORY_MAX, rec.category, sizeof rec.category) ||
        !take_text(call, &r, capos_AuditRecord_get_code, "code", CODE_MAX,
                   rec.code, sizeof rec.code) ||
        !take_text(call, &r, capos_AuditRecord_get_principal, "principal",
                   PRINCIPAL_MAX, rec.principal, sizeof rec.principal) ||
        !take_text(call, &r, capos_AuditRecord_get_detail, "detail", DETAIL_MAX,
                   rec.detail, sizeof rec.detail))
        return CAPOS_SERVE_EXCEPTION;
    if (!rec.category[0] || !rec.code[0])
        return capos_server_invalid(call, "AuditLog.append: record.category "
                                          "and record.code must be set");
    rec.outcome = capos_AuditRecord_get_outcome(&r);
    if (rec.outcome > 3)
        return capos_server_fail(call, CAPOS_EXC_INVALID_ARGUMENT,
                                 "AuditLog.append: record.outcome %u is not "
                                 "an AuditOutcome",
                                 (unsigned)rec.outcome);
    const uint8_t *sid = NULL;
    size_t sid_len = 0;
    if (capos_AuditRecord_get_sessionId(&r, &sid, &sid_len) < 0 ||
        sid_len > SESSION_ID_MAX)
        return capos_server_invalid(call, "AuditLog.append: record.sessionId "
                                          "is longer than 32 bytes");
    if (sid_len)
        memcpy(rec.session, sid, sid_len);
    rec.session_len = (uint8_t)sid_len;
    /* Trusted fields: set here, whatever the params said. */
    snprintf(rec.source, sizeof rec.source, "badge-%llx",
             (unsigned long long)call->badge);
    rec.time_ns = now_ns(a);
    rec.sequence = a->next_seq++;
    struct record *slot = &a->ring[rec.sequence % AUDIT_LOG_CAPACITY];
    if (slot->sequence)
        a->dropped++;
    *slot = rec;
    print_record(a, slot);

    capnp_struct_builder res;
    capos_AuditLog_append_Results_init_root(call->result, &res);
    capos_AuditLog_append_Results_set_sequence(&res, rec.sequence);
    return CAPOS_SERVE_REPLY;
}

static int set_record(capnp_list_builder *l, uint32_t i, const struct record *r)
{
    capnp_struct_builder s;
    int e = capnp_list_struct_at(l, i, &s);
    if (e < 0)
        return e;
    capos_AuditRecord_set_sequence(&s, r->sequence);
    capos_AuditRecord_set_timeNs(&s, r->time_ns);
    capos_AuditRecord_set_outcome(&s, r->outcome);
    capos_AuditRecord_set_source(&s, r->source, strlen(r->source));
    capos_AuditRecord_set_category(&s, r->category, strlen(r->category));
    capos_AuditRecord_set_code(&s, r->code, strlen(r->code));
    if (r->principal[0])
        capos_AuditRecord_set_principal(&s, r->principal, strlen(r->principal));
    if (r->session_len)
        capos_AuditRecord_set_sessionId(&s, r->session, r->session_len);
    if (r->detail[0])
        capos_AuditRecord_set_detail(&s, r->detail, strlen(r->detail));
    return 0;
}

static int read_records(struct audit *a, capos_server_call_t *call)
{
    uint64_t from =
        capos_AuditLogReader_read_Params_get_fromSequence(&call->params_root);
    uint32_t max =
        capos_AuditLogReader_read_Params_get_maxRecords(&call->params_root);
    if (max > AUDIT_READ_MAX)
        return capos_server_fail(call, CAPOS_EXC_INVALID_ARGUMENT,
                                 "AuditLogReader.read: maxRecords %u; at "
                                 "most %u",
                                 max, AUDIT_READ_MAX);
    uint64_t oldest =
        a->next_seq > AUDIT_LOG_CAPACITY ? a->next_seq - AUDIT_LOG_CAPACITY : 1;
    if (from < oldest)
        from = oldest; /* older ones were dropped */
    if (from > a->next_seq)
        from = a->next_seq;
    uint64_t avail = a->next_seq - from;
    uint32_t n = avail < max ? (uint32_t)avail : max;
    capnp_struct_builder res;
    capnp_list_builder l;
    capos_AuditLogReader_read_Results_init_root(call->result, &res);
    capos_AuditLogReader_read_Results_init_records(&res, n, &l);
    for (uint32_t i = 0; i < n; i++)
        set_record(&l, i, &a->ring[(from + i) % AUDIT_LOG_CAPACITY]);
    capos_AuditLogReader_read_Results_set_nextSequence(&res, from + n);
    return CAPOS_SERVE_REPLY;
}

static int handle(void *ctx, capos_server_call_t *call)
{
    struct audit *a = ctx;
    if (call->endpoint == EP_LOG &&
        call->method_id == CAPOS_AUDIT_LOG_APPEND_METHOD_ID)
        return append(a, call);
    if (call->endpoint == EP_READER &&
        call->method_id == CAPOS_AUDIT_LOG_READER_READ_METHOD_ID)
        return read_records(a, call);
    return capos_server_unimplemented(call);
}

int capos_main(capos_capset_t *caps)
{
    struct audit *a = capos_zalloc(sizeof *a);
    if (!a)
        return 3;
    a->next_seq = 1;
    a->scratch = capos_alloc(1024 + 256);
    a->have_console =
        capos_capset_find(caps, "console", CAPOS_CONSOLE_INTERFACE_ID,
                          &a->console) == 0;
    a->have_timer = capos_capset_find(caps, "timer", CAPOS_TIMER_INTERFACE_ID,
                                      &a->timer) == 0;
    capos_cap_t eps[2];
    unsigned n = 0;
    if (capos_capset_find(caps, "log", CAPOS_ENDPOINT_INTERFACE_ID, &eps[0]) !=
        0) {
        if (a->have_console) {
            static const char msg[] = "audit-log: the CapSet has no Endpoint "
                                      "\"log\"; grant one (source endpoint)";
            capos_console_line(a->console, msg);
        }
        return 2;
    }
    n = 1;
    if (capos_capset_find(caps, "reader", CAPOS_ENDPOINT_INTERFACE_ID,
                          &eps[1]) == 0)
        n = 2;
    capos_server_opts_t opts = {.recv_bytes = 4096, .result_bytes = 60000};
    int r = capos_serve_set(eps, n, handle, a, &opts);
    return r == 0 || r == CAP_ERR_DISCONNECTED ? 0 : 1;
}
