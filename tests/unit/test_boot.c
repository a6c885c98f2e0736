/*
 * test_boot.c - boot's manifest reading (kernel-model/boot.c): k_boot
 * with well-formed and malformed SystemManifests built with the
 * generated builders (schema/capos.capnp.h), and k_manifest_binary.
 *
 * Observable behaviour only: what k_boot returns, the one-line refusal it
 * writes, init's CapSet when it accepts, and the model's live counts
 * (a refusal leaves no process, thread or object behind).
 */
#include <string.h>

#include "harness.h"
#include "capos.capnp.h"
#include "port_uv.h"

static void init_main(void *arg)
{
    (void)arg;
}

static const struct sim_binary test_binaries[] = {
    {"t-init", init_main},
};

/* What one test manifest holds. NULL strings are left unset. */
struct grant {
    const char *name;
    int kind; /* 0 kernel source (src), 1 endpoint, 2 service "srv.x" */
    uint16_t src;
    uint64_t iface;
};
struct manifest {
    uint32_t version;
    unsigned nbins;
    struct {
        const char *name, *builtin; /* builtin NULL: an ELF image */
    } bins[3];
    bool no_init;
    const char *init_binary;
    unsigned ncaps;
    struct grant caps[3];
};

static uint64_t words[512];
static size_t words_len;

/* Encode mf into words[0..words_len) with the generated builders. */
static const uint8_t *build(const struct manifest *mf)
{
    capnp_builder b;
    capnp_struct_builder root, e, ic, init, g;
    capnp_list_builder list, caps;
    capnp_builder_init(&b, words, sizeof words);
    assert_int_equal(capos_SystemManifest_init_root(&b, &root), 0);
    capos_SystemManifest_set_schemaVersion(&root, mf->version);
    assert_int_equal(
        capos_SystemManifest_init_binaries(&root, mf->nbins, &list), 0);
    for (unsigned i = 0; i < mf->nbins; i++) {
        assert_int_equal(capnp_list_struct_at(&list, i, &e), 0);
        capos_Binary_set_name(&e, mf->bins[i].name, strlen(mf->bins[i].name));
        if (mf->bins[i].builtin)
            capos_Binary_image_set_builtin(&e, mf->bins[i].builtin,
                                           strlen(mf->bins[i].builtin));
        else
            capos_Binary_image_set_elf(&e,
                                       "\x7f"
                                       "ELF",
                                       4);
    }
    if (!mf->no_init) {
        assert_int_equal(capos_SystemManifest_init_initConfig(&root, &ic), 0);
        assert_int_equal(capos_InitConfig_init_init(&ic, &init), 0);
        capos_ServiceConfig_set_name(&init, "init", 4);
        if (mf->init_binary)
            capos_ServiceConfig_set_binary(&init, mf->init_binary,
                                           strlen(mf->init_binary));
        assert_int_equal(capos_ServiceConfig_init_caps(&init, mf->ncaps, &caps),
                         0);
        for (unsigned i = 0; i < mf->ncaps; i++) {
            const struct grant *c = &mf->caps[i];
            assert_int_equal(capnp_list_struct_at(&caps, i, &g), 0);
            capos_CapGrant_set_name(&g, c->name, strlen(c->name));
            if (c->kind == 0)
                capos_CapGrant_source_set_kernel(&g, c->src);
            else if (c->kind == 1)
                capos_CapGrant_source_set_endpoint(&g);
            else
                capos_CapGrant_source_set_service(&g, "srv.x", 5);
            capos_CapGrant_set_interfaceId(&g, c->iface);
        }
    }
    assert_int_equal(capnp_finish(&b, &words_len), 0);
    return (const uint8_t *)words;
}

/* A manifest k_boot accepts: binary "init" (builtin t-init) with a
 * console and a null cap. Tests change one thing of it. */
static struct manifest good(void)
{
    struct manifest mf = {
        .version = 1,
        .nbins = 1,
        .bins = {{"init", "t-init"}},
        .init_binary = "init",
        .ncaps = 2,
        .caps = {{"console", 0, CAPOS_KERNEL_CAP_SOURCE_CONSOLE, 0},
                 {"null", 0, CAPOS_KERNEL_CAP_SOURCE_NULL_CAP, 0}},
    };
    return mf;
}

static int setup(void **state)
{
    (void)state;
    h_up(true, 1);
    sim_set_binaries(test_binaries,
                     sizeof test_binaries / sizeof test_binaries[0]);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sim_set_binaries(NULL, 0);
    h_down();
    return 0;
}

/* k_boot of bytes[0..len) must refuse with exactly want and leave no
 * process, thread or object alive that was not alive before, and no
 * process held: a refusal that comes after init was created (its caps)
 * frees init's struct and arena at once, not at k_shutdown. */
static void refused(const uint8_t *bytes, size_t len, const char *want)
{
    struct k_stats before = k.stats;
    struct k_process *init = NULL;
    char err[300];
    assert_int_equal(k_boot(bytes, len, &init, err, sizeof err),
                     CAP_ERR_INVALID_REQUEST);
    assert_string_equal(err, want);
    assert_null(init);
    assert_int_equal(k.stats.processes_live, before.processes_live);
    assert_int_equal(k.stats.threads_live, before.threads_live);
    assert_int_equal(k.stats.objects_live, before.objects_live);
    assert_int_equal(k.stats.processes_held, before.processes_held);
}

static void refused_mf(const struct manifest *mf, const char *want)
{
    const uint8_t *bytes = build(mf);
    refused(bytes, words_len, want);
}

static void a_well_formed_manifest_starts_init_with_its_caps(void **state)
{
    (void)state;
    struct manifest mf = good();
    const uint8_t *bytes = build(&mf);
    struct k_process *init = NULL;
    char err[300] = "untouched";
    assert_int_equal(k_boot(bytes, words_len, &init, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_non_null(init);
    assert_int_equal(k.stats.processes_live, 1);
    assert_int_equal(k.stats.threads_live, 1);
    assert_int_equal(init->capset->hdr.count, 2);
    assert_string_equal(init->capset->entries[0].name, "console");
    assert_string_equal(init->capset->entries[1].name, "null");
    assert_int_equal(h_live(init), 2);
}

static void bytes_that_are_not_a_message_are_refused(void **state)
{
    (void)state;
    static const uint8_t junk[16] = {0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4};
    refused(junk, sizeof junk,
            "manifest: not a Cap'n Proto message (segment table malformed "
            "or message truncated); build it with capnp eval -b");
}

static void an_unknown_schema_version_is_refused(void **state)
{
    (void)state;
    struct manifest mf = good();
    mf.version = 2;
    refused_mf(&mf, "manifest: schemaVersion 2 is not supported (this kernel "
                    "reads 1)");
}

static void a_binary_without_a_name_is_refused(void **state)
{
    (void)state;
    struct manifest mf = good();
    mf.nbins = 2;
    mf.bins[1].name = "";
    mf.bins[1].builtin = "t-init";
    refused_mf(&mf, "manifest: binaries[1] has no name");
}

static void a_binary_listed_twice_is_refused(void **state)
{
    (void)state;
    struct manifest mf = good();
    mf.nbins = 2;
    mf.bins[1].name = "init";
    mf.bins[1].builtin = "t-init";
    refused_mf(&mf, "manifest: binary \"init\" is listed twice");
}

static void a_manifest_without_init_is_refused(void **state)
{
    (void)state;
    struct manifest mf = good();
    mf.no_init = true;
    refused_mf(&mf, "manifest: initConfig.init is missing");
}

static void an_init_without_a_binary_is_refused(void **state)
{
    (void)state;
    struct manifest mf = good();
    mf.init_binary = NULL;
    refused_mf(&mf, "manifest: initConfig.init needs a binary");
}

static void an_init_binary_not_in_binaries_is_refused(void **state)
{
    (void)state;
    struct manifest mf = good();
    mf.init_binary = "nope";
    refused_mf(
        &mf, "manifest: init names binary \"nope\", which is not in binaries");
}

static void an_elf_image_is_refused(void **state)
{
    (void)state;
    struct manifest mf = good();
    mf.bins[0].builtin = NULL;
    refused_mf(&mf, "manifest: binary \"init\" is an ELF image; the hosted "
                    "simulator runs built-in programs only (image = (builtin "
                    "= ...))");
}

static void a_builtin_the_simulator_lacks_is_refused(void **state)
{
    (void)state;
    struct manifest mf = good();
    mf.bins[0].builtin = "t-missing";
    refused_mf(&mf, "manifest: binary \"init\" names built-in program "
                    "\"t-missing\", which this simulator does not have");
}

static void a_cap_without_a_name_is_refused_and_rolled_back(void **state)
{
    (void)state;
    struct manifest mf = good();
    mf.caps[1].name = ""; /* after the console was granted */
    refused_mf(&mf, "manifest: init caps[1]: a cap name needs 1 to 47 bytes");
}

static void a_cap_name_of_48_bytes_is_refused(void **state)
{
    (void)state;
    struct manifest mf = good();
    mf.caps[0].name = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuv";
    assert_int_equal(strlen(mf.caps[0].name), 48);
    refused_mf(&mf, "manifest: init caps[0]: a cap name needs 1 to 47 bytes");
}

static void two_caps_of_one_name_are_refused(void **state)
{
    (void)state;
    struct manifest mf = good();
    mf.caps[1].name = "console";
    refused_mf(&mf, "manifest: init has two caps named \"console\"");
}

static void a_cap_init_cannot_receive_is_refused(void **state)
{
    (void)state;
    struct manifest mf = good();
    mf.caps[1].kind = 1; /* endpoint */
    refused_mf(&mf, "manifest: init cap \"null\": init may only hold "
                    "kernel-sourced caps (nothing runs before it to export "
                    "one)");
    mf.caps[1].kind = 2; /* service */
    refused_mf(&mf, "manifest: init cap \"null\": init may only hold "
                    "kernel-sourced caps (nothing runs before it to export "
                    "one)");
}

static void an_unknown_kernel_source_is_refused(void **state)
{
    (void)state;
    struct manifest mf = good();
    mf.caps[1].src = 999;
    refused_mf(&mf,
               "manifest: init cap source kernel = 999 is not provided by this "
               "kernel");
}

static void an_interface_id_that_does_not_match_is_refused(void **state)
{
    (void)state;
    struct manifest mf = good();
    mf.caps[0].iface = CAPOS_CONSOLE_INTERFACE_ID; /* matches */
    mf.caps[1].iface = CAPOS_CONSOLE_INTERFACE_ID; /* a NullCap */
    refused_mf(&mf, "manifest: init cap \"null\": interfaceId does not match "
                    "its source");
}

static void k_manifest_binary_finds_and_refuses_binaries(void **state)
{
    (void)state;
    struct manifest mf = good();
    mf.nbins = 3;
    mf.bins[1].name = "elfy";
    mf.bins[1].builtin = NULL;
    mf.bins[2].name = "ghost";
    mf.bins[2].builtin = "t-missing";
    const uint8_t *bytes = build(&mf);
    void (*entry)(void *) = NULL;
    char err[300];
    assert_int_equal(
        k_manifest_binary(bytes, words_len, "init", 4, &entry, err, sizeof err),
        0);
    assert_ptr_equal(entry, init_main);
    assert_int_equal(
        k_manifest_binary(bytes, words_len, "nope", 4, &entry, err, sizeof err),
        CAP_ERR_INVALID_REQUEST);
    assert_string_equal(
        err, "binary \"nope\" is not in the boot manifest's binaries");
    assert_int_equal(
        k_manifest_binary(bytes, words_len, "elfy", 4, &entry, err, sizeof err),
        CAP_ERR_INVALID_REQUEST);
    assert_string_equal(err, "manifest: binary \"elfy\" is an ELF image; the "
                             "hosted simulator runs built-in programs only "
                             "(image = (builtin = ...))");
    assert_int_equal(k_manifest_binary(bytes, words_len, "ghost", 5, &entry,
                                       err, sizeof err),
                     CAP_ERR_INVALID_REQUEST);
    assert_string_equal(err, "manifest: binary \"ghost\" names built-in "
                             "program \"t-missing\", which this simulator "
                             "does not have");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(a_well_formed_manifest_starts_init_with_its_caps),
        T(bytes_that_are_not_a_message_are_refused),
        T(an_unknown_schema_version_is_refused),
        T(a_binary_without_a_name_is_refused),
        T(a_binary_listed_twice_is_refused),
        T(a_manifest_without_init_is_refused),
        T(an_init_without_a_binary_is_refused),
        T(an_init_binary_not_in_binaries_is_refused),
        T(an_elf_image_is_refused),
        T(a_builtin_the_simulator_lacks_is_refused),
        T(a_cap_without_a_name_is_refused_and_rolled_back),
        T(a_cap_name_of_48_bytes_is_refused),
        T(two_caps_of_one_name_are_refused),
        T(a_cap_init_cannot_receive_is_refused),
        T(an_unknown_kernel_source_is_refused),
        T(an_interface_id_that_does_not_match_is_refused),
        T(k_manifest_binary_finds_and_refuses_binaries),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
