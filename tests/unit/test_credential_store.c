/*
 * test_credential_store.c - the credential-store service
 * (services/credential-store) seeded from a manifest through BootPackage
 * and driven through its endpoint: right and wrong passwords, unknown
 * users in comparable time, bounded inputs, hasCredentials, and records
 * whose Argon2id cost is out of bounds skipped.
 */
#include <string.h>
#include <time.h>

#include "capos.capnp.h"
#include "harness.h"
#include "harness_rt.h"

int capos_service_credential_store_main(capos_capset_t *caps);

/* The development credential: operator / capos (fixtures/system-default). */
static const char operator_hash[] =
    "$argon2id$v=19$m=19456,t=2,p=1$Y2Fwb3Mtc2ltLWRldmVsb3BtZW50$"
    "AVh69Kc1hdzghBzLe+XY0whmf4cn//BP68NIUjgKVMc";

static struct {
    int right_r, wrong_r, unknown_r, long_user_r, long_pw_r, max_pw_r;
    uint16_t right, wrong, unknown, max_pw;
    uint16_t long_user_exc;
    int has_r;
    bool has;
    double known_s, unknown_s;
    int hostile_r[3];
    uint16_t hostile[3];
} seen;

/* Records with operator's salt and hash but a hostile cost: 4 GiB, 2^32-1
 * passes, 5 lanes. The store must skip them (verifying "capos" against
 * them would exhaust memory or never end), so each user is unknown. */
static const struct {
    const char *user, *hash;
} hostile[3] = {
    {"gr\x1b[2Jeedy", "$argon2id$v=19$m=4194304,t=2,p=1$"
                      "Y2Fwb3Mtc2ltLWRldmVsb3BtZW50$"
                      "AVh69Kc1hdzghBzLe+XY0whmf4cn//BP68NIUjgKVMc"},
    {"slow", "$argon2id$v=19$m=19456,t=4294967295,p=1$"
             "Y2Fwb3Mtc2ltLWRldmVsb3BtZW50$"
             "AVh69Kc1hdzghBzLe+XY0whmf4cn//BP68NIUjgKVMc"},
    {"wide", "$argon2id$v=19$m=19456,t=2,p=5$"
             "Y2Fwb3Mtc2ltLWRldmVsb3BtZW50$"
             "AVh69Kc1hdzghBzLe+XY0whmf4cn//BP68NIUjgKVMc"},
};

static uint8_t *pbuf, *res;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* verifyPassword(user, pw[0..pl)); returns the CQE result, *v the verdict. */
static int verify(capos_cap_t creds, const char *user, size_t ul,
                  const char *pw, size_t pl, uint16_t *v)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message m;
    capnp_struct root;
    capnp_builder_init(&b, pbuf, 4096);
    capos_CredentialStore_verifyPassword_Params_init_root(&b, &p);
    capos_CredentialStore_verifyPassword_Params_set_username(&p, user, ul);
    capos_CredentialStore_verifyPassword_Params_set_password(&p, pw, pl);
    int r = capos_rt_call_capnp(
        creds, CAPOS_CREDENTIAL_STORE_VERIFY_PASSWORD_METHOD_ID, &b, res, 4096,
        &m, &root);
    if (r >= 0 && v)
        *v = capos_CredentialStore_verifyPassword_Results_get_verdict(&root);
    return r;
}

static int client_main(capos_capset_t *caps)
{
    capos_cap_t creds;
    if (capos_capset_find(caps, "creds", 0, &creds))
        return 1;
    pbuf = capos_alloc(4096);
    res = capos_alloc(4096);
    double t0 = now_s();
    seen.right_r = verify(creds, "operator", 8, "capos", 5, &seen.right);
    double t1 = now_s();
    seen.wrong_r = verify(creds, "operator", 8, "capoS", 5, &seen.wrong);
    double t2 = now_s();
    seen.unknown_r = verify(creds, "mallory", 7, "capos", 5, &seen.unknown);
    double t3 = now_s();
    seen.known_s = (t1 - t0 + t2 - t1) / 2;
    seen.unknown_s = t3 - t2;

    static char big[1100];
    memset(big, 'a', sizeof big);
    seen.long_user_r = verify(creds, big, 65, "capos", 5, NULL);
    capnp_message m;
    capnp_struct root;
    if (capnp_msg_init(&m, res, 4096, NULL) == 0 &&
        capnp_msg_root(&m, &root) == 0)
        seen.long_user_exc = capos_CapException_get_type(&root);
    seen.long_pw_r = verify(creds, "operator", 8, big, 1025, NULL);
    seen.max_pw_r = verify(creds, "operator", 8, big, 1024, &seen.max_pw);
    for (int i = 0; i < 3; i++)
        seen.hostile_r[i] =
            verify(creds, hostile[i].user, strlen(hostile[i].user), "capos", 5,
                   &seen.hostile[i]);

    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, pbuf, 4096);
    capos_CredentialStore_hasCredentials_Params_init_root(&b, &p);
    seen.has_r = capos_rt_call_capnp(
        creds, CAPOS_CREDENTIAL_STORE_HAS_CREDENTIALS_METHOD_ID, &b, res, 4096,
        &m, &root);
    if (seen.has_r >= 0)
        seen.has = capos_CredentialStore_hasCredentials_Results_get_any(&root);
    return 0;
}

/* A manifest whose kernelParams.credentials hold operator's hash, one
 * record that is not Argon2id and the hostile ones (all skipped). Returns
 * its length. */
static size_t build_manifest(uint8_t *buf, size_t cap)
{
    capnp_builder b;
    capnp_struct_builder root, kp, c;
    capnp_list_builder l;
    capnp_builder_init(&b, buf, cap);
    capnp_init_root(&b, CAPOS_SYSTEM_MANIFEST_DATA_WORDS,
                    CAPOS_SYSTEM_MANIFEST_POINTERS, &root);
    capos_SystemManifest_init_kernelParams(&root, &kp);
    capos_KernelParams_init_credentials(&kp, 5, &l);
    capnp_list_struct_at(&l, 0, &c);
    capos_CredentialRecord_set_username(&c, "operator", 8);
    capos_CredentialRecord_set_passwordHash(&c, operator_hash,
                                            strlen(operator_hash));
    capnp_list_struct_at(&l, 1, &c);
    capos_CredentialRecord_set_username(&c, "plain", 5);
    capos_CredentialRecord_set_passwordHash(&c, "hunter2", 7);
    for (unsigned i = 0; i < 3; i++) {
        capnp_list_struct_at(&l, 2 + i, &c);
        capos_CredentialRecord_set_username(&c, hostile[i].user,
                                            strlen(hostile[i].user));
        capos_CredentialRecord_set_passwordHash(&c, hostile[i].hash,
                                                strlen(hostile[i].hash));
    }
    size_t len = 0;
    assert_int_equal(capnp_finish(&b, &len), 0);
    return len;
}

static void store_verifies_refuses_and_bounds_passwords(void **state)
{
    (void)state;
    memset(&seen, 0, sizeof seen);
    static uint8_t manifest[2048];
    size_t mlen = build_manifest(manifest, sizeof manifest);
    struct k_process *srv = h_proc("credential-store", 0),
                     *cli = h_proc("client", 0);
    uint32_t ep, facet, boot, con;
    assert_int_equal(ep_create(srv, &ep), 0);
    assert_int_equal(k_capset_add(srv, "creds", ep), 0);
    assert_int_equal(bootpkg_grant(srv, manifest, mlen, &boot), 0);
    assert_int_equal(k_capset_add(srv, "boot", boot), 0);
    assert_int_equal(console_grant(srv, &con), 0);
    assert_int_equal(k_capset_add(srv, "console", con), 0);
    assert_int_equal(ep_mint_client(srv, ep, cli, 3, &facet), 0);
    assert_int_equal(k_capset_add(cli, "creds", facet), 0);
    assert_int_equal(
        k_thread_create(srv, h_start,
                        (void *)capos_service_credential_store_main, NULL),
        0);
    assert_int_equal(k_thread_create(cli, h_start, (void *)client_main, NULL),
                     0);
    assert_int_equal(k_run(), 1); /* the store serves on */
    assert_int_equal(cli->exit_code, 0);

    assert_true(seen.right_r > 0);
    assert_int_equal(seen.right, CAPOS_PASSWORD_VERDICT_VERIFIED);
    assert_true(seen.wrong_r > 0);
    assert_int_equal(seen.wrong, CAPOS_PASSWORD_VERDICT_BAD_PASSWORD);
    assert_true(seen.unknown_r > 0);
    assert_int_equal(seen.unknown, CAPOS_PASSWORD_VERDICT_UNKNOWN_USER);
    /* An unknown user costs an Argon2id verification too: not 5x faster
     * than a known one (a hash-free refusal would be ~1000x). */
    assert_true(seen.unknown_s * 5 > seen.known_s);

    assert_int_equal(seen.long_user_r, CAP_ERR_APPLICATION_EXCEPTION);
    assert_int_equal(seen.long_user_exc, 4 /* invalidArgument */);
    assert_int_equal(seen.long_pw_r, CAP_ERR_APPLICATION_EXCEPTION);
    assert_true(seen.max_pw_r > 0);
    assert_int_equal(seen.max_pw, CAPOS_PASSWORD_VERDICT_BAD_PASSWORD);
    assert_true(seen.has_r > 0);
    assert_true(seen.has);
    for (int i = 0; i < 3; i++) {
        assert_true(seen.hostile_r[i] > 0);
        assert_int_equal(seen.hostile[i], CAPOS_PASSWORD_VERDICT_UNKNOWN_USER);
    }

    k_process_exit(srv, 0);
    assert_int_equal(k_run(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            store_verifies_refuses_and_bounds_passwords, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
