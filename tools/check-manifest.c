/*
 * check-manifest - the build's check of a boot manifest: the validation
 * init runs at boot (services/init/plan.c and profiles.c: the service
 * graph, exports before imports, grants against their sources' and
 * exports' interfaces, the profiles' caps, binaries and launcher facets),
 * run on the host over a compiled manifest so that an inconsistent one
 * fails `make` naming its file and the service. The boot-time check
 * stays; this runs the same code, linked in, not a copy of it.
 *
 *     check-manifest NAME FILE.bin
 *
 * NAME is what the messages call the manifest (its .capnp source).
 * Init's own caps are what the kernel would give it: one CapSet entry per
 * kernel-sourced grant of initConfig.init, under its source's interface.
 * Exit 0 when the manifest is consistent, 1 with every problem on stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capos/escape.h"
#include "init.h"

#define MANIFEST_MAX (16u << 20)

/* The CapSet as the runtime sees it (services/rt/rt.c). */
struct capos_capset {
    CapSetPage page;
};

static const char *g_name = "manifest";

void *capos_alloc(size_t n)
{
    return malloc(n);
}

unsigned capos_capset_count(const capos_capset_t *caps)
{
    return caps->page.hdr.count;
}

const CapSetEntry *capos_capset_entry(const capos_capset_t *caps, unsigned i)
{
    return i < caps->page.hdr.count ? &caps->page.entries[i] : NULL;
}

void init_say(struct init *in, const char *fmt, ...)
{
    (void)in;
    char line[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char safe[4 * sizeof line];
    fprintf(stderr, "%s: %s\n", g_name,
            capos_escape_text(safe, sizeof safe, line, strlen(line)));
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = malloc(MANIFEST_MAX);
    size_t n = buf ? fread(buf, 1, MANIFEST_MAX, f) : 0;
    bool whole = buf && !ferror(f) && feof(f);
    fclose(f);
    if (!whole || n == 0) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Init's CapSet: its kernel-sourced grants, as the kernel lists them.
 * The kernel refuses any other init grant at boot; so does this. */
static void init_caps(struct init *in, const capnp_struct *root,
                      CapSetPage *pg)
{
    memset(pg, 0, sizeof *pg);
    pg->hdr.magic = CAPOS_CAPSET_MAGIC;
    pg->hdr.version = CAPOS_CAPSET_VERSION;
    capnp_struct ic, init;
    capnp_list caps = {0};
    if (capos_SystemManifest_get_initConfig(root, &ic) < 0 ||
        capos_InitConfig_get_init(&ic, &init) < 0 ||
        (capos_ServiceConfig_has_caps(&init) &&
         capos_ServiceConfig_get_caps(&init, &caps) < 0)) {
        init_problem(in, "initConfig.init is missing or malformed");
        return;
    }
    for (uint32_t i = 0; i < capnp_list_len(&caps); i++) {
        capnp_struct g;
        const char *n;
        size_t nl;
        if (capnp_list_get_struct(&caps, i, &g) < 0 ||
            capos_CapGrant_get_name(&g, &n, &nl) < 0 ||
            !capos_capset_name_ok(n, nl)) {
            init_problem(in, "init caps[%u] is malformed", i);
            continue;
        }
        if (capos_CapGrant_source_which(&g) !=
            CAPOS_CAP_GRANT_SOURCE_WHICH_KERNEL) {
            init_problem(in, "init cap \"%.*s\": init may only hold "
                             "kernel-sourced caps", (int)nl, n);
            continue;
        }
        uint64_t iface =
            plan_ksrc_iface(capos_CapGrant_source_get_kernel(&g));
        if (pg->hdr.count >= CAPOS_CAPSET_MAX_ENTRIES || iface == 0)
            continue; /* the kernel says why at boot */
        CapSetEntry *e = &pg->entries[pg->hdr.count];
        e->cap_id = pg->hdr.count + 1u;
        e->interface_id = iface;
        memcpy(e->name, n, nl);
        pg->hdr.count++;
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: check-manifest NAME FILE.bin\n");
        return 2;
    }
    g_name = argv[1];
    size_t len;
    uint8_t *bytes = read_file(argv[2], &len);
    if (!bytes) {
        fprintf(stderr, "%s: cannot read %s\n", g_name, argv[2]);
        return 1;
    }
    struct init in = {0};
    static struct capos_capset set;
    in.caps = &set;
    capnp_message m;
    capnp_struct root;
    capnp_read_options opt = {.traversal_limit_words = 1u << 20,
                              .nesting_limit = 32};
    if (capnp_msg_init(&m, bytes, len, &opt) != 0 ||
        capnp_msg_root(&m, &root) != 0) {
        fprintf(stderr, "%s: not a Cap'n Proto message\n", g_name);
        free(bytes);
        return 1;
    }
    init_caps(&in, &root, &set.page);
    unsigned problems = plan_manifest(&in, &root); /* in.problems, all */
    if (problems)
        fprintf(stderr, "%s: %u problem%s: init would start nothing\n",
                g_name, problems, problems == 1 ? "" : "s");
    for (uint32_t i = 0; in.svcs && i < in.nsvcs; i++)
        free(in.svcs[i].grants);
    free(in.svcs);
    free(bytes);
    return problems ? 1 : 0;
}
