/*
 * boot.c - boot from a binary SystemManifest (`capnp eval -b` output).
 *
 * Upstream's kernel boot boundary: parse the manifest, refuse anything
 * malformed before any user code runs, load only init, build init's cap
 * table and CapSet from initConfig.init.caps, and start it. Everything
 * else (the service graph) is init's job. Every refusal names what is
 * wrong and where, for the person who wrote the manifest.
 *
 * Field positions come from the generated schema/capos.capnp.h.
 */
#include "capos.capnp.h"
#include "kmodel.h"

static bool text_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && k_memcmp(a, b, alen) == 0;
}

static int fail(struct k_msg *mb, const char *what)
{
    k_msg_str(mb, what);
    return CAP_ERR_INVALID_REQUEST;
}

/* Look up the builtin program of binary name in the manifest's list.
 * Returns 0 and *entry, 1 when no binary has that name (no message), or
 * CAP_ERR_INVALID_REQUEST with a message. */
static int find_binary(const capnp_list *bins, const char *name, size_t nlen,
                       struct k_msg *mb, void (**entry)(void *))
{
    for (uint32_t i = 0; i < capnp_list_len(bins); i++) {
        capnp_struct b;
        const char *bn, *prog;
        size_t bl, pl;
        if (capnp_list_get_struct(bins, i, &b) < 0 ||
            K_TEXT(capos_Binary, name, &b, &bn, &bl) < 0)
            return fail(mb, "manifest: binaries: malformed entry");
        if (!text_eq(bn, bl, name, nlen))
            continue;
        if (capos_Binary_image_which(&b) != CAPOS_BINARY_IMAGE_WHICH_BUILTIN) {
            k_msg_str(mb, "manifest: binary \"");
            k_msg_text(mb, bn, bl);
            return fail(mb, "\" is an ELF image; the hosted simulator runs "
                            "built-in programs only (image = (builtin = ...))");
        }
        if (K_TEXT(capos_Binary_image, builtin, &b, &prog, &pl) < 0)
            return fail(mb, "manifest: binaries: malformed builtin name");
        *entry = port_binary_entry(prog, pl);
        if (!*entry) {
            k_msg_str(mb, "manifest: binary \"");
            k_msg_text(mb, bn, bl);
            k_msg_str(mb, "\" names built-in program \"");
            k_msg_text(mb, prog, pl);
            return fail(mb, "\", which this simulator does not have");
        }
        return 0;
    }
    return 1;
}

/* Check binaries: a list, every name non-empty and unique. */
static int check_binaries(const capnp_list *bins, struct k_msg *mb)
{
    for (uint32_t i = 0; i < capnp_list_len(bins); i++) {
        capnp_struct b;
        const char *n;
        size_t nl;
        if (capnp_list_get_struct(bins, i, &b) < 0 ||
            K_TEXT(capos_Binary, name, &b, &n, &nl) < 0)
            return fail(mb, "manifest: binaries: malformed entry");
        if (nl == 0) {
            k_msg_str(mb, "manifest: binaries[");
            k_msg_u64(mb, i);
            return fail(mb, "] has no name");
        }
        for (uint32_t j = 0; j < i; j++) {
            capnp_struct o;
            const char *on;
            size_t ol;
            capnp_list_get_struct(bins, j, &o);
            K_TEXT(capos_Binary, name, &o, &on, &ol);
            if (text_eq(n, nl, on, ol)) {
                k_msg_str(mb, "manifest: binary \"");
                k_msg_text(mb, n, nl);
                return fail(mb, "\" is listed twice");
            }
        }
    }
    return 0;
}

/* Grant init one kernel-sourced cap (a K_KSRC_BOOT row of ksrc.c);
 * returns 0 or an error with message. */
static int grant_kernel(struct k_process *p, uint16_t src, uint64_t badge,
                        const uint8_t *bytes, size_t len, uint32_t *id,
                        struct k_msg *mb)
{
    const struct k_ksrc *ks = k_ksrc(src);
    if (!ks || !ks->grant || !(ks->flags & K_KSRC_BOOT)) {
        k_msg_str(mb, "manifest: init cap source kernel = ");
        if (ks)
            k_msg_str(mb, ks->name);
        else
            k_msg_u64(mb, src);
        return fail(mb, " is not provided by this kernel");
    }
    if (ks->check) {
        k_msg_str(mb, "manifest: init cap: ");
        int r = ks->check(badge, mb);
        if (r < 0)
            return r;
        mb->len = 0;
        if (mb->cap)
            mb->buf[0] = 0;
    }
    struct k_ksrc_args a = {badge, bytes, len};
    return ks->grant(p, &a, id);
}

/* Build init's caps and CapSet from its grant list. */
static int grant_init_caps(struct k_process *p, const capnp_list *caps,
                           const uint8_t *bytes, size_t len, struct k_msg *mb)
{
    for (uint32_t i = 0; i < capnp_list_len(caps); i++) {
        capnp_struct g;
        const char *name;
        size_t nl;
        if (capnp_list_get_struct(caps, i, &g) < 0 ||
            K_TEXT(capos_CapGrant, name, &g, &name, &nl) < 0)
            return fail(mb, "manifest: init caps: malformed grant");
        if (nl == 0 || nl >= CAPOS_CAPSET_NAME_MAX) {
            k_msg_str(mb, "manifest: init caps[");
            k_msg_u64(mb, i);
            k_msg_str(mb, "]: a cap name needs 1 to ");
            k_msg_u64(mb, CAPOS_CAPSET_NAME_MAX - 1);
            return fail(mb, " bytes");
        }
        for (uint32_t j = 0; j < p->capset->hdr.count; j++) {
            if (text_eq(name, nl, p->capset->entries[j].name,
                        k_strlen(p->capset->entries[j].name))) {
                k_msg_str(mb, "manifest: init has two caps named \"");
                k_msg_text(mb, name, nl);
                return fail(mb, "\"");
            }
        }
        if (capos_CapGrant_source_which(&g) !=
            CAPOS_CAP_GRANT_SOURCE_WHICH_KERNEL) {
            k_msg_str(mb, "manifest: init cap \"");
            k_msg_text(mb, name, nl);
            return fail(mb, "\": init may only hold kernel-sourced caps "
                            "(nothing runs before it to export one)");
        }
        uint32_t id;
        int r = grant_kernel(p, capos_CapGrant_source_get_kernel(&g),
                             capos_CapGrant_get_badge(&g), bytes, len, &id, mb);
        if (r == CAP_ERR_INVALID_REQUEST && mb->len == 0) {
            /* A source made from kernelParams found nothing valid there
             * (sshDevelopmentHostKey: seed and publicKey of 32 bytes). */
            k_msg_str(mb, "manifest: init cap \"");
            k_msg_text(mb, name, nl);
            k_msg_str(mb, "\": kernelParams has no valid ");
            k_msg_str(mb, k_ksrc_name(capos_CapGrant_source_get_kernel(&g)));
            return fail(mb, " for it");
        }
        if (r < 0) {
            if (mb->len == 0)
                fail(mb, "manifest: init's cap table is full");
            return r;
        }
        uint64_t want = capos_CapGrant_get_interfaceId(&g);
        struct ct_slot *s = ct_lookup(&p->caps, id);
        if (want && s->obj->ops->interface_id != want) {
            k_msg_str(mb, "manifest: init cap \"");
            k_msg_text(mb, name, nl);
            return fail(mb, "\": interfaceId does not match its source");
        }
        char cname[CAPOS_CAPSET_NAME_MAX];
        k_memcpy(cname, name, nl);
        cname[nl] = 0;
        if (k_capset_add(p, cname, id) < 0) {
            k_msg_str(mb, "manifest: init has more caps than its CapSet "
                          "page holds (");
            k_msg_u64(mb, CAPOS_CAPSET_MAX_ENTRIES);
            return fail(mb, ")");
        }
    }
    return 0;
}

/* The checked parts of a manifest that k_boot starts init from. */
struct boot_args {
    capnp_message m;         /* the message the lists below read through */
    capnp_list bins;         /* binaries: a list, names non-empty, unique */
    capnp_list caps;         /* initConfig.init.caps (empty if none) */
    void (*entry)(void *);   /* init's builtin program */
    struct k_process_opts o; /* init's name and limits */
};

/* initConfig.init of manifest root: its binary, a builtin of a->bins, its
 * caps list and its limits, into *a. Returns 0 or an error with message. */
static int boot_decode_init(const capnp_struct *root, struct boot_args *a,
                            struct k_msg *mb)
{
    capnp_struct ic, init;
    if (!capos_SystemManifest_has_initConfig(root) ||
        capos_SystemManifest_get_initConfig(root, &ic) < 0 ||
        !capos_InitConfig_has_init(&ic) ||
        capos_InitConfig_get_init(&ic, &init) < 0)
        return fail(mb, "manifest: initConfig.init is missing");
    const char *iname, *ibin;
    size_t inl, ibl;
    if (K_TEXT(capos_ServiceConfig, name, &init, &iname, &inl) < 0 ||
        K_TEXT(capos_ServiceConfig, binary, &init, &ibin, &ibl) < 0 || ibl == 0)
        return fail(mb, "manifest: initConfig.init needs a binary");
    a->entry = NULL;
    int r = find_binary(&a->bins, ibin, ibl, mb, &a->entry);
    if (r == 1) {
        k_msg_str(mb, "manifest: init names binary \"");
        k_msg_text(mb, ibin, ibl);
        return fail(mb, "\", which is not in binaries");
    }
    if (r < 0)
        return r;
    a->caps.len = 0;
    if (capos_ServiceConfig_has_caps(&init) &&
        capos_ServiceConfig_get_caps(&init, &a->caps) < 0)
        return fail(mb, "manifest: initConfig.init.caps is not a list of "
                        "CapGrant");
    a->o = (struct k_process_opts){.name = "init"};
    capnp_struct lim;
    if (capos_ServiceConfig_has_limits(&init) &&
        capos_ServiceConfig_get_limits(&init, &lim) == 0) {
        a->o.arena_size = capos_ProcessLimits_get_arenaBytes(&lim);
        a->o.max_threads = capos_ProcessLimits_get_maxThreads(&lim);
        a->o.cap_slots = capos_ProcessLimits_get_capSlots(&lim);
    }
    return 0;
}

/*
 * Check the manifest bytes[0..len) into *a: a message, of this schema
 * version, with well-formed binaries, network forwards and init. The
 * forwards are taken by net_configure (the network's own check). Returns
 * 0, or CAP_ERR_INVALID_REQUEST with the reason in mb; no process exists
 * yet either way.
 */
static int boot_decode(const uint8_t *bytes, size_t len, struct boot_args *a,
                       struct k_msg *mb)
{
    capnp_struct root;
    capnp_read_options opt = {.traversal_limit_words = 1u << 20,
                              .nesting_limit = 32};
    int r = capnp_msg_init(&a->m, bytes, len, &opt);
    if (r == 0)
        r = capnp_msg_root(&a->m, &root);
    if (r < 0) {
        k_msg_str(mb, "manifest: not a Cap'n Proto message (");
        k_msg_str(mb, capnp_strerror(r));
        return fail(mb, "); build it with capnp eval -b");
    }
    uint32_t version = capos_SystemManifest_get_schemaVersion(&root);
    if (version != CAPOS_CURRENT_SCHEMA_VERSION) {
        k_msg_str(mb, "manifest: schemaVersion ");
        k_msg_u64(mb, version);
        k_msg_str(mb, " is not supported (this kernel reads ");
        k_msg_u64(mb, CAPOS_CURRENT_SCHEMA_VERSION);
        return fail(mb, ")");
    }
    if (capos_SystemManifest_get_binaries(&root, &a->bins) < 0)
        return fail(mb, "manifest: binaries is not a list of Binary");
    r = check_binaries(&a->bins, mb);
    if (r == 0)
        r = net_configure(bytes, len, mb);
    if (r == 0)
        r = boot_decode_init(&root, a, mb);
    return r;
}

/*
 * Create init from the checked a, grant it initConfig.init.caps and start
 * its first thread. Returns 0 and *init_out, or an error with the reason
 * in mb, and then nothing of init is left.
 */
static int boot_start(const struct boot_args *a, const uint8_t *bytes,
                      size_t len, struct k_process **init_out, struct k_msg *mb)
{
    struct k_process *p = k_process_create(&a->o);
    if (!p)
        return fail(mb, "manifest: init's limits are impossible (arena too "
                        "small for its threads, or too many threads/slots)");
    int r = grant_init_caps(p, &a->caps, bytes, len, mb);
    if (r == 0 && k_thread_create(p, a->entry, NULL, NULL) < 0)
        r = fail(mb, "manifest: cannot start init's first thread");
    if (r < 0) {
        /* Refused after init was made: exit it and drop the creator's
         * reference (the host's, which k_shutdown would drop), so nothing
         * of init stays allocated. No thread of it ever ran or holds it. */
        k_process_exit(p, -1);
        p->host_ref = false;
        k_process_put(p);
        return r;
    }
    *init_out = p;
    return 0;
}

/*
 * Boot the system described by the binary manifest bytes[0..len): check
 * it whole, then create init with its granted caps and start its first
 * thread. bytes must stay valid while the model runs (init's BootPackage
 * reads them). Returns 0 and init, or CAP_ERR_INVALID_REQUEST with a
 * one-line reason in err (nothing is left running or allocated then).
 */
int k_boot(const uint8_t *bytes, size_t len, struct k_process **init_out,
           char *err, size_t errcap)
{
    struct k_msg mb = {err, errcap, 0};
    if (errcap)
        err[0] = 0;
    struct boot_args a;
    int r = boot_decode(bytes, len, &a, &mb);
    if (r < 0)
        return r;
    return boot_start(&a, bytes, len, init_out, &mb);
}

/*
 * The builtin program of the binary called name[0..nlen) in the manifest
 * bytes[0..len) that k_boot accepted (ProcessSpawner resolves spawns with
 * it). Returns 0 and *entry, or CAP_ERR_INVALID_REQUEST with a one-line
 * reason in err: no such binary, an ELF image, or a builtin program this
 * port does not have.
 */
int k_manifest_binary(const uint8_t *bytes, size_t len, const char *name,
                      size_t nlen, void (**entry)(void *), char *err,
                      size_t errcap)
{
    struct k_msg mb = {err, errcap, 0};
    if (errcap)
        err[0] = 0;
    capnp_message m;
    capnp_struct root;
    capnp_list bins;
    capnp_read_options opt = {.traversal_limit_words = 1u << 20,
                              .nesting_limit = 32};
    if (capnp_msg_init(&m, bytes, len, &opt) < 0 ||
        capnp_msg_root(&m, &root) < 0 ||
        capos_SystemManifest_get_binaries(&root, &bins) < 0)
        return fail(&mb, "manifest: binaries is not a list of Binary");
    int r = find_binary(&bins, name, nlen, &mb, entry);
    if (r == 1) {
        k_msg_str(&mb, "binary \"");
        k_msg_text(&mb, name, nlen);
        return fail(&mb, "\" is not in the boot manifest's binaries");
    }
    return r;
}
