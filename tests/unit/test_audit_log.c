/*
 * test_audit_log.c - the audit-log service (services/audit-log) driven
 * through its endpoints by a client process: sequences, trusted fields,
 * redaction of secrets, bounded inputs, the bounded ring, reading back.
 */
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "harness.h"
#include "harness_rt.h"

int capos_service_audit_log_main(capos_capset_t *caps);

#define CLIENT_BADGE 0x42u

static struct {
    uint64_t seqs[3];
    int append_r[3];
    int long_detail_r, bad_outcome_r, no_code_r, garbage_r;
    uint16_t long_detail_type;
    int read_r;
    uint32_t read_n;
    uint64_t next;
    char detail[3][300];
    char source[64];
    char principal[80];
    uint64_t seq0, time0;
    int read_big_r;
    int many_r;
    uint64_t oldest_after_many, next_after_many;
    uint32_t n_after_many;
    int reader_on_log_r;
} seen;

static uint8_t *pbuf, *res;

/* Append one record; returns the CQE result, *seq set on success. */
static int append(capos_cap_t log, const char *category, const char *code,
                  uint16_t outcome, const char *principal, const char *detail,
                  uint64_t *seq)
{
    capnp_builder b;
    capnp_struct_builder p, r;
    capnp_message m;
    capnp_struct root;
    capnp_builder_init(&b, pbuf, 4096);
    capos_AuditLog_append_Params_init_root(&b, &p);
    capos_AuditLog_append_Params_init_record(&p, &r);
    capos_AuditRecord_set_category(&r, category, strlen(category));
    capos_AuditRecord_set_code(&r, code, strlen(code));
    capos_AuditRecord_set_outcome(&r, outcome);
    capos_AuditRecord_set_principal(&r, principal, strlen(principal));
    capos_AuditRecord_set_detail(&r, detail, strlen(detail));
    /* Forged trusted fields: the log must overwrite them. */
    capos_AuditRecord_set_source(&r, "forged", 6);
    capos_AuditRecord_set_sequence(&r, 999);
    int rc = capos_rt_call_capnp(log, CAPOS_AUDIT_LOG_APPEND_METHOD_ID, &b, res,
                                 65536, &m, &root);
    if (rc >= 0 && seq)
        *seq = capos_AuditLog_append_Results_get_sequence(&root);
    return rc;
}

static uint16_t exc_type(void)
{
    capnp_message m;
    capnp_struct root;
    if (capnp_msg_init(&m, res, 65536, NULL) < 0 ||
        capnp_msg_root(&m, &root) < 0)
        return 0xffff;
    return capos_CapException_get_type(&root);
}

/* Read from `from`, at most max; decodes into *root. */
static int read_log(capos_cap_t reader, uint64_t from, uint32_t max,
                    capnp_message *m, capnp_struct *root)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, pbuf, 4096);
    capos_AuditLogReader_read_Params_init_root(&b, &p);
    capos_AuditLogReader_read_Params_set_fromSequence(&p, from);
    capos_AuditLogReader_read_Params_set_maxRecords(&p, max);
    return capos_rt_call_capnp(reader, CAPOS_AUDIT_LOG_READER_READ_METHOD_ID,
                               &b, res, 65536, m, root);
}

static void copy_text(char *dst, size_t cap, const char *s, size_t n)
{
    n = n < cap - 1 ? n : cap - 1;
    memcpy(dst, s, n);
    dst[n] = 0;
}

static int client_main(capos_capset_t *caps)
{
    capos_cap_t log, reader;
    if (capos_capset_find(caps, "log", 0, &log) ||
        capos_capset_find(caps, "reader", 0, &reader))
        return 1;
    pbuf = capos_alloc(4096);
    res = capos_alloc(65536);
    seen.append_r[0] = append(log, "auth", "login-ok", 1, "operator",
                              "via telnet", &seen.seqs[0]);
    seen.append_r[1] = append(log, "auth", "login-failed", 2, "",
                              "user=bob password=hunter2 tty=1", &seen.seqs[1]);
    seen.append_r[2] = append(log, "ssh", "key", 0, "operator",
                              "Token : abc\nsecret=x", &seen.seqs[2]);

    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    seen.long_detail_r = append(log, "auth", "x", 0, "", big, NULL);
    seen.long_detail_type = exc_type();
    seen.bad_outcome_r = append(log, "auth", "x", 9, "", "", NULL);
    seen.no_code_r = append(log, "auth", "", 0, "", "", NULL);
    static const uint8_t garbage[16] = {
        0, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    memcpy(pbuf, garbage, sizeof garbage);
    seen.garbage_r =
        capos_rt_invoke(log, 0, pbuf, sizeof garbage, res, 4096, NULL);
    /* The reader's method on the append endpoint is not served there. */
    seen.reader_on_log_r = capos_rt_invoke(log, 1, NULL, 0, res, 4096, NULL);

    capnp_message m;
    capnp_struct root;
    capnp_list l;
    seen.read_r = read_log(reader, 0, 10, &m, &root);
    if (seen.read_r >= 0 &&
        capos_AuditLogReader_read_Results_get_records(&root, &l) == 0) {
        seen.read_n = capnp_list_len(&l);
        seen.next = capos_AuditLogReader_read_Results_get_nextSequence(&root);
        for (uint32_t i = 0; i < seen.read_n && i < 3; i++) {
            capnp_struct r;
            const char *s;
            size_t n;
            capnp_list_get_struct(&l, i, &r);
            if (capos_AuditRecord_get_detail(&r, &s, &n) == 0)
                copy_text(seen.detail[i], sizeof seen.detail[i], s, n);
            if (i == 0) {
                seen.seq0 = capos_AuditRecord_get_sequence(&r);
                seen.time0 = capos_AuditRecord_get_timeNs(&r);
                if (capos_AuditRecord_get_source(&r, &s, &n) == 0)
                    copy_text(seen.source, sizeof seen.source, s, n);
                if (capos_AuditRecord_get_principal(&r, &s, &n) == 0)
                    copy_text(seen.principal, sizeof seen.principal, s, n);
            }
        }
    }
    seen.read_big_r = read_log(reader, 0, 65, &m, &root);

    /* Overflow the ring: the oldest records are dropped, never more than
     * the ring is kept. */
    for (int i = 0; i < 300; i++) {
        seen.many_r = append(log, "test", "fill", 0, "", "", NULL);
        if (seen.many_r < 0)
            break;
    }
    if (read_log(reader, 1, 64, &m, &root) >= 0 &&
        capos_AuditLogReader_read_Results_get_records(&root, &l) == 0) {
        seen.n_after_many = capnp_list_len(&l);
        capnp_struct r;
        capnp_list_get_struct(&l, 0, &r);
        seen.oldest_after_many = capos_AuditRecord_get_sequence(&r);
        seen.next_after_many =
            capos_AuditLogReader_read_Results_get_nextSequence(&root);
    }
    return 0;
}

static void audit_log_sequences_redacts_bounds_and_reads_back(void **state)
{
    (void)state;
    memset(&seen, 0, sizeof seen);
    struct k_process *srv = h_proc("audit-log", 0), *cli = h_proc("client", 0);
    uint32_t log, reader, flog, freader, con, tim;
    assert_int_equal(ep_create(srv, &log), 0);
    assert_int_equal(k_capset_add(srv, "log", log), 0);
    assert_int_equal(ep_create(srv, &reader), 0);
    assert_int_equal(k_capset_add(srv, "reader", reader), 0);
    assert_int_equal(console_grant(srv, &con), 0);
    assert_int_equal(k_capset_add(srv, "console", con), 0);
    assert_int_equal(timercap_grant(srv, &tim), 0);
    assert_int_equal(k_capset_add(srv, "timer", tim), 0);
    assert_int_equal(ep_mint_client(srv, log, cli, CLIENT_BADGE, &flog), 0);
    assert_int_equal(k_capset_add(cli, "log", flog), 0);
    assert_int_equal(ep_mint_client(srv, reader, cli, 0, &freader), 0);
    assert_int_equal(k_capset_add(cli, "reader", freader), 0);
    assert_int_equal(k_thread_create(srv, h_start,
                                     (void *)capos_service_audit_log_main,
                                     NULL),
                     0);
    assert_int_equal(k_thread_create(cli, h_start, (void *)client_main, NULL),
                     0);
    assert_int_equal(k_run(), 1); /* the log serves on */
    assert_int_equal(cli->exit_code, 0);

    for (int i = 0; i < 3; i++) {
        assert_true(seen.append_r[i] > 0);
        assert_int_equal(seen.seqs[i], (uint64_t)i + 1);
    }
    assert_int_equal(seen.long_detail_r, CAP_ERR_APPLICATION_EXCEPTION);
    assert_int_equal(seen.long_detail_type, 4 /* invalidArgument */);
    assert_int_equal(seen.bad_outcome_r, CAP_ERR_APPLICATION_EXCEPTION);
    assert_int_equal(seen.no_code_r, CAP_ERR_APPLICATION_EXCEPTION);
    assert_int_equal(seen.garbage_r, CAP_ERR_APPLICATION_EXCEPTION);
    assert_int_equal(seen.reader_on_log_r, CAP_ERR_APPLICATION_EXCEPTION);

    assert_true(seen.read_r > 0);
    assert_int_equal(seen.read_n, 3); /* refused appends left no record */
    assert_int_equal(seen.next, 4);
    assert_int_equal(seen.seq0, 1);
    assert_string_equal(seen.source, "badge-42"); /* not "forged" */
    assert_string_equal(seen.principal, "operator");
    assert_string_equal(seen.detail[0], "via telnet");
    assert_string_equal(seen.detail[1], "user=bob password=[redacted]");
    assert_null(strstr(seen.detail[1], "hunter2"));
    assert_string_equal(seen.detail[2], "Token :[redacted]");
    assert_int_equal(seen.read_big_r, CAP_ERR_APPLICATION_EXCEPTION);

    assert_true(seen.many_r > 0);
    /* 303 records, ring of 256: the oldest kept is 48. */
    assert_int_equal(seen.oldest_after_many, 303 - 256 + 1);
    assert_int_equal(seen.n_after_many, 64);
    assert_int_equal(seen.next_after_many, 48 + 64);

    k_process_exit(srv, 0);
    assert_int_equal(k_run(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            audit_log_sequences_redacts_bounds_and_reads_back, h_setup,
            h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
