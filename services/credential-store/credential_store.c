/*
 * credential-store - CredentialStore (builtin "credential-store"):
 * Argon2id password verifiers seeded from the manifest's
 * kernelParams.credentials, read through a BootPackage cap.
 *
 * Caps: "creds" (Endpoint, serves CredentialStore), "boot" (BootPackage;
 * without it the store starts empty), "console" (Console, optional: boot
 * problems only, never passwords).
 *
 * Secrets: a password arrives in the params buffer, is copied into a
 * bounded local buffer for libargon2 and both are zeroed after use (the
 * server runtime zeroes its receive buffer after every call). Plaintext
 * is never stored or logged. An unknown username is verified against a
 * dummy hash of the same cost, so the time of a refusal does not tell
 * whether the user exists.
 *
 * A record is skipped (console line naming its user, escaped) unless its
 * PHC string is "$argon2id$v=19$m=M,t=T,p=P$..." with M <= 262144 KiB
 * (256 MiB), 1 <= T <= 16 and 1 <= P <= 4 (ARGON2_*_MAX): the manifest
 * must not be able to make one login cost the host its memory or forever.
 *
 * Not yet: setup (answers refusedByPolicy), throttling, AccountStoreReader
 * on "accounts", audit records.
 */
#include <argon2.h>
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "capos_rt.h"
#include "manifest.h"
#include "server.h"

#define USERNAME_MAX 64u
#define PASSWORD_MAX 1024u
#define HASH_MAX 256u /* PHC string */
#define CREDENTIALS_MAX 64u

/* Same parameters as the development hashes (fixtures/system-default):
 * an unknown user costs what a known one does (a malformed dummy would
 * fail fast). A hash of "capos-sim dummy password" with a fixed salt; a
 * match against it is still reported as unknownUser. */
static const char dummy_hash[] =
    "$argon2id$v=19$m=19456,t=2,p=1$ZHVtbXktc2FsdC1jYXBvcw$"
    "cXGbA5jFLDVsf1Ka/+U1XBoOMwqZ8YQg7Pt8+nBhmas";

struct credential {
    char username[USERNAME_MAX + 1];
    char hash[HASH_MAX + 1];
};

struct store {
    struct credential creds[CREDENTIALS_MAX];
    unsigned count;
    bool have_console;
    capos_cap_t console;
};

static void say(struct store *st, const char *fmt, const char *arg)
{
    if (!st->have_console)
        return;
    capos_console_printf(st->console, fmt, arg);
}

/* Zero n bytes at p in a way the compiler may not drop. */
/* Bounds on a record's Argon2id cost. A manifest record is trusted for its
 * hash, not for the work it asks for: m=4 GiB or t=2^32-1 would let one
 * login attempt exhaust the host. The development hashes use m=19456,
 * t=2, p=1. */
#define ARGON2_M_MAX_KIB 262144u /* 256 MiB */
#define ARGON2_T_MAX 16u
#define ARGON2_P_MAX 4u

/* One decimal field of h[*i..hl) up to the next ',' or '$', capped at
 * 2^32 (more digits stay 2^32, so the bounds still refuse it). False if
 * there are no digits. */
static bool phc_number(const char *h, size_t hl, size_t *i, uint64_t *out)
{
    uint64_t v = 0;
    size_t start = *i;
    while (*i < hl && h[*i] >= '0' && h[*i] <= '9') {
        v = v * 10 + (uint64_t)(h[*i] - '0');
        if (v > 0x100000000ull)
            v = 0x100000000ull;
        (*i)++;
    }
    *out = v;
    return *i > start;
}

/* The m, t and p of an "$argon2id$v=19$m=M,t=T,p=P$salt$hash" string.
 * False if that part is not in this form. */
static bool phc_cost(const char *h, size_t hl, uint64_t *m, uint64_t *t,
                     uint64_t *p)
{
    static const char head[] = "$argon2id$v=19$m=";
    size_t i = sizeof head - 1;
    if (hl < i || memcmp(h, head, i) != 0 || !phc_number(h, hl, &i, m))
        return false;
    if (i + 3 > hl || memcmp(h + i, ",t=", 3) != 0)
        return false;
    i += 3;
    if (!phc_number(h, hl, &i, t))
        return false;
    if (i + 3 > hl || memcmp(h + i, ",p=", 3) != 0)
        return false;
    i += 3;
    return phc_number(h, hl, &i, p) && i < hl && h[i] == '$';
}

/* True if the cost is within the bounds above (and what libargon2 needs:
 * t >= 1, p >= 1, m >= 8 p). */
static bool cost_ok(uint64_t m, uint64_t t, uint64_t p)
{
    return t >= 1 && t <= ARGON2_T_MAX && p >= 1 && p <= ARGON2_P_MAX &&
           m >= 8 * p && m <= ARGON2_M_MAX_KIB;
}

static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

/* Load kernelParams.credentials; refuses (skips, with a console line)
 * records that are not Argon2id PHC strings, are too long, or ask for a
 * cost outside ARGON2_*_MAX (that line names the user, escaped). */
static void load(struct store *st, capos_cap_t boot)
{
    uint8_t *man;
    size_t len;
    int r = capos_manifest_read(boot, &man, &len);
    if (r != 0) {
        say(st,
            "credential-store: cannot read the manifest through "
            "\"boot\"%s; starting with no credentials",
            "");
        return;
    }
    capnp_message m;
    capnp_struct root, kp;
    capnp_list l;
    if (capnp_msg_init(&m, man, len, NULL) < 0 ||
        capnp_msg_root(&m, &root) < 0 ||
        capos_SystemManifest_get_kernelParams(&root, &kp) < 0 ||
        capos_KernelParams_get_credentials(&kp, &l) < 0) {
        capos_free(man);
        return;
    }
    for (uint32_t i = 0; i < capnp_list_len(&l); i++) {
        capnp_struct c;
        const char *u, *h;
        size_t ul, hl;
        if (capnp_list_get_struct(&l, i, &c) < 0 ||
            capos_CredentialRecord_get_username(&c, &u, &ul) < 0 ||
            capos_CredentialRecord_get_passwordHash(&c, &h, &hl) < 0)
            continue;
        if (ul == 0 || ul > USERNAME_MAX || hl > HASH_MAX || hl < 10 ||
            memcmp(h, "$argon2id$", 10) != 0) {
            say(st,
                "credential-store: manifest: a credential record is not "
                "an Argon2id PHC string (or is too long)%s; skipped",
                "");
            continue;
        }
        uint64_t cm, ct, cp;
        if (!phc_cost(h, hl, &cm, &ct, &cp) || !cost_ok(cm, ct, cp)) {
            if (st->have_console)
                capos_console_printf(
                    st->console,
                    "credential-store: manifest: the record of \"%.*s\" "
                    "does not have a v=19 Argon2id cost within m <= %u KiB, "
                    "t <= %u, p <= %u; skipped",
                    (int)ul, u, ARGON2_M_MAX_KIB, ARGON2_T_MAX, ARGON2_P_MAX);
            continue;
        }
        if (st->count == CREDENTIALS_MAX) {
            say(st,
                "credential-store: manifest: more than 64 credentials%s; "
                "the rest are skipped",
                "");
            break;
        }
        struct credential *cr = &st->creds[st->count++];
        memcpy(cr->username, u, ul);
        cr->username[ul] = 0;
        memcpy(cr->hash, h, hl);
        cr->hash[hl] = 0;
    }
    capos_free(man);
}

static const struct credential *find(const struct store *st, const char *u,
                                     size_t ul)
{
    const struct credential *hit = NULL;
    /* Look at every record (no early exit). */
    for (unsigned i = 0; i < st->count; i++)
        if (strlen(st->creds[i].username) == ul &&
            memcmp(st->creds[i].username, u, ul) == 0)
            hit = &st->creds[i];
    return hit;
}

static int verify(struct store *st, capos_server_call_t *call)
{
    const char *u;
    size_t ul;
    const uint8_t *pw;
    size_t pl;
    const capnp_struct *p = &call->params_root;
    if (capos_CredentialStore_verifyPassword_Params_get_username(p, &u, &ul) <
            0 ||
        capos_CredentialStore_verifyPassword_Params_get_password(p, &pw, &pl) <
            0)
        return capos_server_invalid(call, "CredentialStore.verifyPassword: "
                                          "username or password malformed");
    if (ul > USERNAME_MAX)
        return capos_server_invalid(call, "CredentialStore.verifyPassword: "
                                          "username longer than 64 bytes");
    if (pl > PASSWORD_MAX)
        return capos_server_invalid(call, "CredentialStore.verifyPassword: "
                                          "password longer than 1024 bytes");
    /* libargon2 reads the password from host memory: a bounded copy we
     * can wipe (the params buffer is wiped by the server runtime). */
    uint8_t pwbuf[PASSWORD_MAX];
    if (pl)
        memcpy(pwbuf, pw, pl);
    const struct credential *c = find(st, u, ul);
    int ar = argon2id_verify(c ? c->hash : dummy_hash, pwbuf, pl);
    wipe(pwbuf, sizeof pwbuf);
    uint16_t verdict;
    if (!c)
        verdict = CAPOS_PASSWORD_VERDICT_UNKNOWN_USER;
    else if (ar == ARGON2_OK)
        verdict = CAPOS_PASSWORD_VERDICT_VERIFIED;
    else
        verdict = CAPOS_PASSWORD_VERDICT_BAD_PASSWORD;
    capnp_struct_builder res;
    capos_CredentialStore_verifyPassword_Results_init_root(call->result, &res);
    capos_CredentialStore_verifyPassword_Results_set_verdict(&res, verdict);
    return CAPOS_SERVE_REPLY;
}

static int handle(void *ctx, capos_server_call_t *call)
{
    struct store *st = ctx;
    capnp_struct_builder res;
    switch (call->method_id) {
    case CAPOS_CREDENTIAL_STORE_VERIFY_PASSWORD_METHOD_ID:
        return verify(st, call);
    case CAPOS_CREDENTIAL_STORE_SETUP_METHOD_ID:
        /* Volatile accounts are not implemented yet: refuse by policy. */
        capos_CredentialStore_setup_Results_init_root(call->result, &res);
        capos_CredentialStore_setup_Results_set_outcome(
            &res, CAPOS_SETUP_OUTCOME_REFUSED_BY_POLICY);
        return CAPOS_SERVE_REPLY;
    case CAPOS_CREDENTIAL_STORE_HAS_CREDENTIALS_METHOD_ID:
        capos_CredentialStore_hasCredentials_Results_init_root(call->result,
                                                               &res);
        capos_CredentialStore_hasCredentials_Results_set_any(&res,
                                                             st->count > 0);
        return CAPOS_SERVE_REPLY;
    }
    return capos_server_unimplemented(call);
}

int capos_main(capos_capset_t *caps)
{
    struct store *st = capos_zalloc(sizeof *st);
    if (!st)
        return 3;
    st->have_console =
        capos_capset_find(caps, "console", CAPOS_CONSOLE_INTERFACE_ID,
                          &st->console) == 0;
    capos_cap_t boot, ep;
    if (capos_capset_find(caps, "boot", CAPOS_BOOT_PACKAGE_INTERFACE_ID,
                          &boot) == 0)
        load(st, boot);
    if (capos_capset_find(caps, "creds", CAPOS_ENDPOINT_INTERFACE_ID, &ep)) {
        say(st,
            "credential-store: the CapSet has no Endpoint \"creds\"%s; "
            "grant one (source endpoint)",
            "");
        return 2;
    }
    int r = capos_serve(ep, handle, st);
    wipe(st, sizeof *st);
    return r == 0 || r == CAP_ERR_DISCONNECTED ? 0 : 1;
}
