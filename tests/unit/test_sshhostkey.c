/*
 * test_sshhostkey.c - the SshHostKey kernel capability (kernel-model/
 * sshhostkey.c) of kernel source sshDevelopmentHostKey: the manifest's
 * key, its public half, the seed given out once, no signer, refusals of
 * a missing or malformed key, and the source being boot-only (no
 * ProcessSpawner mints it, so no shell or child can obtain one).
 */
#include <string.h>

#include "harness.h"
#include "capos.capnp.h"

static const uint8_t seed[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const uint8_t pub[32] = {0xaa, 0xbb, 0xcc, 0xdd};

/* A manifest with kernelParams.sshDevelopmentHostKey (seed of seed_len
 * bytes; none at all when seed_len is 0). Returns its length. */
static size_t manifest(uint8_t *buf, size_t cap, size_t seed_len)
{
    capnp_builder b;
    capnp_struct_builder root, kp, key;
    capnp_builder_init(&b, buf, cap);
    assert_int_equal(capos_SystemManifest_init_root(&b, &root), 0);
    assert_int_equal(capos_SystemManifest_init_kernelParams(&root, &kp), 0);
    if (seed_len) {
        assert_int_equal(
            capos_KernelParams_init_sshDevelopmentHostKey(&kp, &key), 0);
        capos_SshDevelopmentHostKey_set_seed(&key, seed, seed_len);
        capos_SshDevelopmentHostKey_set_publicKey(&key, pub, sizeof pub);
    }
    size_t len = 0;
    assert_int_equal(capnp_finish(&b, &len), 0);
    return len;
}

/* CALL method (no params) on cap; the CQE, *res its result buffer. */
static CapCqe call0(struct k_process *p, uint32_t cap, uint16_t method,
                    uint8_t **res)
{
    capnp_builder b;
    capnp_struct_builder root;
    h_msg(p, &b, 64);
    capnp_init_root(&b, 0, 0, &root);
    CapSqe s = h_call_msg(p, cap, method, 1, &b, 512, res);
    return h_one(p, &s);
}

static void the_key_gives_its_public_half_and_its_seed_only_once(void **st)
{
    (void)st;
    static uint8_t m[1024];
    size_t len = manifest(m, sizeof m, 32);
    struct k_process *p = h_proc("ssh-gateway", 0);
    uint32_t hk;
    assert_int_equal(sshhostkey_grant(p, m, len, &hk), 0);

    uint8_t *res;
    capnp_message msg;
    CapCqe c = call0(p, hk, CAPOS_SSH_HOST_KEY_PUBLIC_KEY_METHOD_ID, &res);
    assert_true(c.result > 0);
    capnp_struct r = h_root(res, (size_t)c.result, &msg);
    const char *alg;
    const uint8_t *d;
    size_t al, dl;
    assert_int_equal(
        capos_SshHostKey_publicKey_Results_get_algorithm(&r, &alg, &al), 0);
    assert_int_equal(al, 11);
    assert_memory_equal(alg, "ssh-ed25519", 11);
    assert_int_equal(
        capos_SshHostKey_publicKey_Results_get_publicKey(&r, &d, &dl), 0);
    assert_int_equal(dl, 32);
    assert_memory_equal(d, pub, 32);

    c = call0(p, hk, CAPOS_SSH_HOST_KEY_DEVELOPMENT_SEED_METHOD_ID, &res);
    assert_true(c.result > 0);
    r = h_root(res, (size_t)c.result, &msg);
    assert_int_equal(
        capos_SshHostKey_developmentSeed_Results_get_seed(&r, &d, &dl), 0);
    assert_int_equal(dl, 32);
    assert_memory_equal(d, seed, 32);

    /* Once: a second request (a copy of the cap, say) gets nothing. */
    c = call0(p, hk, CAPOS_SSH_HOST_KEY_DEVELOPMENT_SEED_METHOD_ID, &res);
    assert_int_equal(c.result, CAP_ERR_APPLICATION_EXCEPTION);
    /* The public half stays available. */
    c = call0(p, hk, CAPOS_SSH_HOST_KEY_PUBLIC_KEY_METHOD_ID, &res);
    assert_true(c.result > 0);
    /* No signer in this kernel: an exception, never a fake signature. */
    c = call0(p, hk, CAPOS_SSH_HOST_KEY_SIGN_EXCHANGE_HASH_METHOD_ID, &res);
    assert_int_equal(c.result, CAP_ERR_APPLICATION_EXCEPTION);
    c = call0(p, hk, 7, &res);
    assert_int_equal(c.result, CAP_ERR_APPLICATION_EXCEPTION);
}

static void a_missing_or_malformed_key_makes_no_cap(void **st)
{
    (void)st;
    static uint8_t m[1024];
    struct k_process *p = h_proc("ssh-gateway", 0);
    uint32_t hk, before = h_live(p);
    size_t len = manifest(m, sizeof m, 0);
    assert_int_equal(sshhostkey_grant(p, m, len, &hk), CAP_ERR_INVALID_REQUEST);
    len = manifest(m, sizeof m, 31);
    assert_int_equal(sshhostkey_grant(p, m, len, &hk), CAP_ERR_INVALID_REQUEST);
    assert_int_equal(sshhostkey_grant(p, (const uint8_t *)"junk", 4, &hk),
                     CAP_ERR_INVALID_REQUEST);
    assert_int_equal(h_live(p), before);
}

static void only_boot_grants_the_source(void **st)
{
    (void)st;
    const struct k_ksrc *s =
        k_ksrc(CAPOS_KERNEL_CAP_SOURCE_SSH_DEVELOPMENT_HOST_KEY);
    assert_non_null(s);
    assert_string_equal(s->name, "sshDevelopmentHostKey");
    assert_int_equal(s->iface, CAPOS_SSH_HOST_KEY_INTERFACE_ID);
    /* Boot (init's caps) only: ProcessSpawner.spawn refuses it for any
     * child, so a shell or a launched program can never mint one. */
    assert_int_equal(s->flags, K_KSRC_BOOT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            the_key_gives_its_public_half_and_its_seed_only_once, h_setup,
            h_teardown),
        cmocka_unit_test_setup_teardown(a_missing_or_malformed_key_makes_no_cap,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(only_boot_grants_the_source, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
