/*
 * hostkey.c - ssh-gateway's host key (docs/ssh.md "Host key").
 *
 * The SshHostKey cap (kernel source sshDevelopmentHostKey, which the
 * custody rule gives to this binary only) answers publicKey and, once,
 * developmentSeed. libssh 0.10 has no external signer, so the seed has to
 * become an in-process ssh_key: it is written as an unencrypted
 * "openssh-key-v1" container in memory (the format OpenSSH writes for
 * ed25519 keys), kept in the process heap (not libssh's, which a
 * killed process could not free) and imported with
 * ssh_pki_import_privkey_base64 for each connection's bind. Before
 * that the public key is derived from the seed and compared with the
 * manifest's: a manifest whose halves disagree is refused here, not
 * discovered by a client's failed signature check. Every other copy of
 * the seed is wiped once the container is written.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "capos.capnp.h"
#include "gateway.h"

#define HK_LEN 32u
/* openssh-key-v1 of one ed25519 key with an empty comment: 234 bytes
 * before the base64. */
#define HK_BLOB_MAX 256u
#define HK_PEM_MAX 512u
_Static_assert(HK_PEM_MAX + 128u <= HOSTKEY_PEM_MAX, "PEM room");

/* Append a uint32 length and the bytes to the blob at *n. */
static void hk_put_string(uint8_t *blob, size_t *n, const void *d, size_t len)
{
    blob[(*n)++] = (uint8_t)(len >> 24);
    blob[(*n)++] = (uint8_t)(len >> 16);
    blob[(*n)++] = (uint8_t)(len >> 8);
    blob[(*n)++] = (uint8_t)len;
    memcpy(blob + *n, d, len);
    *n += len;
}

/* The unencrypted openssh-key-v1 container of (seed, pub) into blob;
 * returns its length. */
static size_t hk_container(const uint8_t seed[HK_LEN],
                           const uint8_t pub[HK_LEN], uint8_t *blob)
{
    static const char magic[] = "openssh-key-v1"; /* and its NUL */
    uint8_t pubblob[64], priv[160], sk[64];
    size_t n = 0, pn = 0, kn = 0;
    hk_put_string(pubblob, &pn, "ssh-ed25519", 11);
    hk_put_string(pubblob, &pn, pub, HK_LEN);
    memcpy(sk, seed, HK_LEN);
    memcpy(sk + HK_LEN, pub, HK_LEN);
    /* Two equal check words (unencrypted, so any value), the key, an
     * empty comment, then padding 1, 2, 3, ... to the 8-byte block. */
    memset(priv, 0x5a, 8);
    kn = 8;
    hk_put_string(priv, &kn, "ssh-ed25519", 11);
    hk_put_string(priv, &kn, pub, HK_LEN);
    hk_put_string(priv, &kn, sk, sizeof sk);
    hk_put_string(priv, &kn, "", 0);
    for (uint8_t pad = 1; kn % 8; pad++)
        priv[kn++] = pad;
    memcpy(blob, magic, sizeof magic);
    n = sizeof magic;
    hk_put_string(blob, &n, "none", 4); /* cipher */
    hk_put_string(blob, &n, "none", 4); /* kdf */
    hk_put_string(blob, &n, "", 0);     /* kdf options */
    blob[n++] = 0, blob[n++] = 0, blob[n++] = 0, blob[n++] = 1; /* one key */
    hk_put_string(blob, &n, pubblob, pn);
    hk_put_string(blob, &n, priv, kn);
    OPENSSL_cleanse(sk, sizeof sk);
    OPENSSL_cleanse(priv, sizeof priv);
    return n;
}

/* True if pub is the ed25519 public key of seed. */
static bool hk_matches(const uint8_t seed[HK_LEN], const uint8_t pub[HK_LEN])
{
    EVP_PKEY *k =
        EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, HK_LEN);
    uint8_t derived[HK_LEN];
    size_t dl = sizeof derived;
    bool ok = k && EVP_PKEY_get_raw_public_key(k, derived, &dl) == 1 &&
              dl == HK_LEN && CRYPTO_memcmp(derived, pub, HK_LEN) == 0;
    EVP_PKEY_free(k);
    return ok;
}

/* The seed and public key as the PEM text of an openssh-key-v1 file, in
 * the process heap (NULL without memory). */
static char *hk_pem(const uint8_t seed[HK_LEN], const uint8_t pub[HK_LEN])
{
    uint8_t blob[HK_BLOB_MAX];
    char b64[HK_PEM_MAX];
    char *pem = capos_alloc(HOSTKEY_PEM_MAX);
    size_t bn = hk_container(seed, pub, blob);
    int en = EVP_EncodeBlock((unsigned char *)b64, blob, (int)bn);
    OPENSSL_cleanse(blob, sizeof blob);
    if (!pem) {
        OPENSSL_cleanse(b64, sizeof b64);
        return NULL;
    }
    size_t pn = (size_t)snprintf(pem, HOSTKEY_PEM_MAX,
                                 "-----BEGIN OPENSSH PRIVATE KEY-----\n");
    for (int i = 0; i < en; i += 70) {
        int k = en - i < 70 ? en - i : 70;
        memcpy(pem + pn, b64 + i, (size_t)k);
        pn += (size_t)k;
        pem[pn++] = '\n';
    }
    snprintf(pem + pn, HOSTKEY_PEM_MAX - pn,
             "-----END OPENSSH PRIVATE KEY-----\n");
    OPENSSL_cleanse(b64, sizeof b64);
    return pem;
}

ssh_key hostkey_import(const char *pem)
{
    ssh_key key = NULL;
    if (ssh_pki_import_privkey_base64(pem, NULL, NULL, NULL, &key) != SSH_OK)
        return NULL;
    return key;
}

void hostkey_wipe(char *pem)
{
    if (!pem)
        return;
    OPENSSL_cleanse(pem, HOSTKEY_PEM_MAX);
    capos_free(pem);
}

/* Call method of SshHostKey (no params) and decode its result root. */
static int hk_call(capos_cap_t cap, uint16_t method, uint8_t *pbuf,
                   uint8_t *rbuf, size_t buflen, capnp_message *m,
                   capnp_struct *root)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, pbuf, buflen);
    capnp_init_root(&b, 0, 0, &p); /* both methods take no params */
    return capos_rt_call_capnp(cap, method, &b, rbuf, (uint32_t)buflen, m,
                               root);
}

char *hostkey_load(capos_cap_t cap, uint8_t *pbuf, uint8_t *rbuf, size_t buflen,
                   uint8_t pub[32], char *why, size_t whylen)
{
    capnp_message m;
    capnp_struct root;
    const char *alg;
    const uint8_t *d;
    size_t al, dl;
    char ebuf[120];
    int r = hk_call(cap, CAPOS_SSH_HOST_KEY_PUBLIC_KEY_METHOD_ID, pbuf, rbuf,
                    buflen, &m, &root);
    if (r < 0 ||
        capos_SshHostKey_publicKey_Results_get_algorithm(&root, &alg, &al) ||
        capos_SshHostKey_publicKey_Results_get_publicKey(&root, &d, &dl) ||
        al != 11 || memcmp(alg, "ssh-ed25519", 11) != 0 || dl != HK_LEN) {
        snprintf(why, whylen, "SshHostKey.publicKey: %s",
                 r < 0 ? capos_rt_error_text(rbuf, buflen, r, ebuf, sizeof ebuf)
                       : "not a 32-byte ssh-ed25519 key");
        return NULL;
    }
    memcpy(pub, d, HK_LEN);
    r = hk_call(cap, CAPOS_SSH_HOST_KEY_DEVELOPMENT_SEED_METHOD_ID, pbuf, rbuf,
                buflen, &m, &root);
    if (r < 0 ||
        capos_SshHostKey_developmentSeed_Results_get_seed(&root, &d, &dl) ||
        dl != HK_LEN) {
        snprintf(why, whylen, "SshHostKey.developmentSeed: %s",
                 r < 0 ? capos_rt_error_text(rbuf, buflen, r, ebuf, sizeof ebuf)
                       : "not a 32-byte seed");
        OPENSSL_cleanse(rbuf, buflen);
        return NULL;
    }
    uint8_t seed[HK_LEN];
    memcpy(seed, d, HK_LEN);
    OPENSSL_cleanse(rbuf, buflen);
    char *pem = NULL;
    ssh_key key = NULL;
    if (!hk_matches(seed, pub))
        snprintf(why, whylen,
                 "kernelParams.sshDevelopmentHostKey: publicKey is not the "
                 "seed's public key");
    else if (!(pem = hk_pem(seed, pub)))
        snprintf(why, whylen, "no memory for the host key");
    else if (!(key = hostkey_import(pem))) {
        snprintf(why, whylen, "libssh refused the host key");
        hostkey_wipe(pem);
        pem = NULL;
    }
    ssh_key_free(key);
    OPENSSL_cleanse(seed, sizeof seed);
    return pem;
}

void hostkey_fingerprint(const uint8_t pub[32], char *out, size_t cap)
{
    uint8_t blob[64];
    char b64[128];
    size_t n = 0;
    ssh_key k = NULL;
    unsigned char *h = NULL;
    size_t hl = 0;
    snprintf(out, cap, "?");
    hk_put_string(blob, &n, "ssh-ed25519", 11);
    hk_put_string(blob, &n, pub, HK_LEN);
    EVP_EncodeBlock((unsigned char *)b64, blob, (int)n);
    if (ssh_pki_import_pubkey_base64(b64, SSH_KEYTYPE_ED25519, &k) == SSH_OK &&
        ssh_get_publickey_hash(k, SSH_PUBLICKEY_HASH_SHA256, &h, &hl) == 0) {
        char *fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, h, hl);
        if (fp)
            snprintf(out, cap, "%s", fp);
        ssh_string_free_char(fp);
    }
    ssh_clean_pubkey_hash(&h);
    ssh_key_free(k);
}
