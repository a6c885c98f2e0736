/*
 * sshhostkey.c - the SshHostKey kernel capability of kernel source
 * sshDevelopmentHostKey: kernelParams.sshDevelopmentHostKey, development
 * only (upstream ssh_development_host_key; docs/ssh.md "Host key").
 *
 * Methods (schema/capos.capnp):
 *   @0 signExchangeHash (algorithm, exchangeHash) -> (result)
 *        unimplemented here: the kernel model has no ed25519, and the
 *        only user, libssh 0.10, signs the key exchange in-process
 *   @1 publicKey () -> (algorithm, publicKey)
 *   @2 developmentSeed () -> (seed)   once per object, then failed
 * The source is boot-only (init's caps); init passes it to the one
 * service the custody rule allows (services/init/plan.c). The object
 * copies the key out of the manifest and wipes its seed when destroyed.
 */
#include "kmodel.h"

#define HK_KEY_LEN 32u

enum {
    HK_SIGN = CAPOS_SSH_HOST_KEY_SIGN_EXCHANGE_HASH_METHOD_ID,
    HK_PUBLIC = CAPOS_SSH_HOST_KEY_PUBLIC_KEY_METHOD_ID,
    HK_SEED = CAPOS_SSH_HOST_KEY_DEVELOPMENT_SEED_METHOD_ID,
};

struct hostkey {
    struct k_object obj;
    uint8_t seed[HK_KEY_LEN], pub[HK_KEY_LEN];
    bool seed_given; /* developmentSeed answered once */
};

static int hk_public(struct hostkey *hk, struct k_call *c)
{
    capnp_builder b;
    capnp_struct_builder res;
    if (k_call_result_begin(
            c, &b, CAPOS_SSH_HOST_KEY_PUBLIC_KEY_RESULTS_DATA_WORDS,
            CAPOS_SSH_HOST_KEY_PUBLIC_KEY_RESULTS_POINTERS, &res) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    capos_SshHostKey_publicKey_Results_set_algorithm(&res, "ssh-ed25519", 11);
    capos_SshHostKey_publicKey_Results_set_publicKey(&res, hk->pub, HK_KEY_LEN);
    return k_call_result_end(c, &b);
}

static int hk_seed(struct hostkey *hk, struct k_call *c)
{
    if (hk->seed_given)
        return k_call_exception(c, K_EXC_FAILED,
                                "SshHostKey.developmentSeed: the seed was "
                                "already given out once");
    capnp_builder b;
    capnp_struct_builder res;
    if (k_call_result_begin(
            c, &b, CAPOS_SSH_HOST_KEY_DEVELOPMENT_SEED_RESULTS_DATA_WORDS,
            CAPOS_SSH_HOST_KEY_DEVELOPMENT_SEED_RESULTS_POINTERS, &res) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    capos_SshHostKey_developmentSeed_Results_set_seed(&res, hk->seed,
                                                      HK_KEY_LEN);
    int r = k_call_result_end(c, &b);
    if (r >= 0)
        hk->seed_given = true;
    return r;
}

static int hk_call(struct k_object *obj, struct k_call *c)
{
    struct hostkey *hk = (struct hostkey *)obj;
    capnp_message m;
    capnp_struct root;
    if (c->method_id != HK_SIGN && c->method_id != HK_PUBLIC &&
        c->method_id != HK_SEED)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "SshHostKey has no such method");
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    if (c->method_id == HK_PUBLIC)
        return hk_public(hk, c);
    if (c->method_id == HK_SEED)
        return hk_seed(hk, c);
    return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                            "SshHostKey.signExchangeHash: this kernel has no "
                            "signer; the ssh-gateway signs with libssh "
                            "(docs/ssh.md)");
}

static void hk_destroy(struct k_object *obj)
{
    struct hostkey *hk = (struct hostkey *)obj;
    volatile uint8_t *s = hk->seed;
    for (unsigned i = 0; i < HK_KEY_LEN; i++)
        s[i] = 0;
    port_free(obj);
}

static const struct k_object_ops hk_ops = {
    .name = "SshHostKey",
    .interface_id = CAPOS_SSH_HOST_KEY_INTERFACE_ID,
    .call = hk_call,
    .destroy = hk_destroy,
};

/* Copy kernelParams.sshDevelopmentHostKey of manifest bytes[0..len) into
 * hk. False when it is missing or not an ssh-ed25519 key of 32-byte seed
 * and public key. */
static bool hk_read(const uint8_t *bytes, size_t len, struct hostkey *hk)
{
    capnp_message m;
    capnp_struct root, kp, key;
    capnp_read_options opt = {.traversal_limit_words = 1u << 20,
                              .nesting_limit = 32};
    const char *alg = "ssh-ed25519";
    size_t al = 11, sl, pl;
    const uint8_t *seed, *pub;
    if (capnp_msg_init(&m, bytes, len, &opt) < 0 ||
        capnp_msg_root(&m, &root) < 0 ||
        !capos_SystemManifest_has_kernelParams(&root) ||
        capos_SystemManifest_get_kernelParams(&root, &kp) < 0 ||
        !capos_KernelParams_has_sshDevelopmentHostKey(&kp) ||
        capos_KernelParams_get_sshDevelopmentHostKey(&kp, &key) < 0)
        return false;
    if (capos_SshDevelopmentHostKey_has_algorithm(&key) &&
        capos_SshDevelopmentHostKey_get_algorithm(&key, &alg, &al) < 0)
        return false;
    if (al != 11 || __builtin_memcmp(alg, "ssh-ed25519", 11) != 0 ||
        capos_SshDevelopmentHostKey_get_seed(&key, &seed, &sl) < 0 ||
        capos_SshDevelopmentHostKey_get_publicKey(&key, &pub, &pl) < 0 ||
        sl != HK_KEY_LEN || pl != HK_KEY_LEN)
        return false;
    k_memcpy(hk->seed, seed, HK_KEY_LEN);
    k_memcpy(hk->pub, pub, HK_KEY_LEN);
    return true;
}

/* Give p an SshHostKey over the manifest's development key. Returns 0
 * and its CapId, CAP_ERR_INVALID_REQUEST when the manifest has no valid
 * sshDevelopmentHostKey, or CAP_ERR_INVOKE_FAILED without memory. */
int sshhostkey_grant(struct k_process *p, const uint8_t *bytes, size_t len,
                     uint32_t *out_id)
{
    struct hostkey *hk = port_alloc(sizeof *hk);
    if (!hk)
        return CAP_ERR_INVOKE_FAILED;
    hk->seed_given = false;
    if (!hk_read(bytes, len, hk)) {
        hk_destroy(&hk->obj); /* not an object yet: wiped and freed */
        return CAP_ERR_INVALID_REQUEST;
    }
    k_obj_init(&hk->obj, &hk_ops, 0);
    return k_obj_grant(p, &hk->obj, out_id);
}
