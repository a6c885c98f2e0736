/*
 * test_capnp.c - the Cap'n Proto wire-format codec (lib/capnp.c,
 * lib/capnp_build.c): the codec group and main.
 *
 * Three groups:
 *  - reference: messages made by the real `capnp` tool (encode, convert
 *    with tiny segments for far pointers) read back field by field, and the
 *    builder's output checked by `capnp decode` and `capnp convert
 *    binary:canonical` against the tool's own encoding of the same text.
 *    Schema and texts: fixtures/capnp/codec-test.capnp and *.txt.
 *  - codec: builder/reader round trips, schema evolution, builder misuse
 *    and buffer exhaustion.
 *  - hostile: every malformed-pointer and framing class gives its error
 *    code; nesting, traversal and amplification limits hold.
 *
 * The tool is run with popen(3) on files under $srcdir (read only) and
 * temporary files under $TMPDIR, so the test works in VPATH builds and
 * make distcheck. Without `capnp` on PATH the reference group is not run
 * and the program exits 77 (skipped) after the other groups pass.
 *
 * The reference group is test_capnp_reference.c, the hostile group
 * test_capnp_hostile.c; shared helpers are in test_capnp_util.c and
 * test_capnp_alltypes.c (test_capnp.h).
 */
#include "test_capnp.h"

static void builder_output_reads_back_every_field_and_capability(void **state)
{
    (void)state;
    static uint8_t buf[8192];
    capnp_builder b;
    capnp_message m;
    size_t n;
    capnp_builder_init(&b, buf, sizeof buf);
    build_all_types(&b, true);
    assert_rc(capnp_finish(&b, &n), CAPNP_OK);
    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_int_equal(m.bytes, n);
    check_all_types(&m, true);

    /* The flat form is the same segment without the table. */
    const uint8_t *seg;
    size_t seg_n;
    assert_rc(capnp_finish_flat(&b, &seg, &seg_n), CAPNP_OK);
    assert_int_equal(seg_n + 8, n);
    assert_ptr_equal(seg, buf + 8);
    assert_rc(capnp_msg_init_flat(&m, seg, seg_n, NULL), CAPNP_OK);
    check_all_types(&m, true);
}

static void
reader_needs_no_alignment_and_ignores_bytes_after_the_message(void **state)
{
    (void)state;
    static uint8_t buf[8192], shifted[8192 + 16];
    capnp_builder b;
    capnp_message m;
    size_t n;
    capnp_builder_init(&b, buf, sizeof buf);
    build_all_types(&b, true);
    assert_rc(capnp_finish(&b, &n), CAPNP_OK);
    memcpy(shifted + 3, buf, n);
    memset(shifted + 3 + n, 0xa5, 8);
    assert_rc(capnp_msg_init(&m, shifted + 3, n + 8, NULL), CAPNP_OK);
    assert_int_equal(m.bytes, n);
    check_all_types(&m, true);
}

/* A message built without checking each call: errors stick, so only
 * capnp_finish's result matters. */
static int build_unchecked(uint8_t *buf, size_t len, size_t *n)
{
    capnp_builder b;
    capnp_struct_builder r, in;
    capnp_list_builder l;
    capnp_builder_init(&b, buf, len);
    capnp_init_root(&b, AT_DATA_WORDS, AT_PTRS, &r);
    capnp_set_u32(&r, AT_U32, 1, 0);
    capnp_set_text(&r, AT_P_TEXT, "hello, capOS", 12);
    capnp_init_struct(&r, AT_P_STRUCT, INNER_DATA_WORDS, INNER_PTRS, &in);
    capnp_set_text(&in, INNER_P_NAME, "inner", 5);
    capnp_init_struct_list(&r, AT_P_STRUCTS, 3, INNER_DATA_WORDS, INNER_PTRS,
                           &l);
    capnp_list_struct_at(&l, 2, &in);
    capnp_set_u32(&in, INNER_ID, 3, 0);
    capnp_init_list(&r, AT_P_I64S, CAPNP_ELEM_EIGHT_BYTES, 2, &l);
    capnp_list_set_u64(&l, 1, 6);
    capnp_set_data(&r, AT_P_DATA, data_field, sizeof data_field);
    capnp_set_cap(&r, AT_P_ECHO, 1);
    return capnp_finish(&b, n);
}

static void
builder_reports_nospace_for_every_buffer_smaller_than_needed(void **state)
{
    (void)state;
    static uint8_t big[8192], small[8192];
    size_t need, n;
    assert_rc(build_unchecked(big, sizeof big, &need), CAPNP_OK);

    for (size_t len = 0; len < need; len++) {
        int rc = build_unchecked(small, len, &n);
        if (rc != CAPNP_E_NOSPACE || n != 0)
            fail_msg("buffer of %zu bytes (message needs %zu): got %d (%s) "
                     "and length %zu, want CAPNP_E_NOSPACE and 0",
                     len, need, rc, capnp_strerror(rc), n);
    }
    assert_rc(build_unchecked(small, need, &n), CAPNP_OK);
    assert_int_equal(n, need);
    assert_memory_equal(small, big, need);
}

static void builder_rejects_misuse_and_keeps_the_first_error(void **state)
{
    (void)state;
    uint8_t buf[512];
    capnp_builder b;
    capnp_struct_builder r, s;
    capnp_list_builder l;
    size_t n;

    /* Data offset outside the section. */
    capnp_builder_init(&b, buf, sizeof buf);
    assert_rc(capnp_init_root(&b, 1, 1, &r), CAPNP_OK);
    capnp_set_u32(&r, 6, 1, 0);
    assert_rc(b.err, CAPNP_E_INVAL);
    /* Later calls are no-ops that return the first error. */
    assert_rc(capnp_init_struct(&r, 0, 1, 0, &s), CAPNP_E_INVAL);
    capnp_builder_init(&b, buf, 16);
    assert_rc(capnp_finish(&b, &n), CAPNP_OK);

    capnp_builder_init(&b, buf, sizeof buf);
    assert_rc(capnp_init_root(&b, 1, 1, &r), CAPNP_OK);
    assert_rc(capnp_set_text(&r, 1, "x", 1), CAPNP_E_INVAL); /* idx >= nptrs */
    assert_rc(capnp_finish(&b, &n), CAPNP_E_INVAL);
    assert_int_equal(n, 0);

    capnp_builder_init(&b, buf, sizeof buf);
    assert_rc(capnp_init_root(&b, 1, 1, &r), CAPNP_OK);
    assert_rc(capnp_init_root(&b, 1, 1, &r), CAPNP_E_INVAL); /* root twice */

    capnp_builder_init(&b, buf, sizeof buf);
    assert_rc(capnp_init_root(&b, 1, 1, &r), CAPNP_OK);
    assert_rc(capnp_init_list(&r, 0, CAPNP_ELEM_FOUR_BYTES, 2, &l), CAPNP_OK);
    capnp_list_set_u16(&l, 0, 1); /* wrong element size */
    assert_rc(b.err, CAPNP_E_INVAL);

    capnp_builder_init(&b, buf, sizeof buf);
    assert_rc(capnp_init_root(&b, 1, 1, &r), CAPNP_OK);
    assert_rc(capnp_init_list(&r, 0, CAPNP_ELEM_FOUR_BYTES, 2, &l), CAPNP_OK);
    capnp_list_set_u32(&l, 2, 1); /* index past the end */
    assert_rc(b.err, CAPNP_E_INVAL);

    capnp_builder_init(&b, buf, sizeof buf);
    assert_rc(capnp_init_root(&b, 1, 1, &r), CAPNP_OK);
    assert_rc(capnp_init_list(&r, 0, CAPNP_ELEM_COMPOSITE, 2, &l),
              CAPNP_E_INVAL); /* composite needs capnp_init_struct_list */

    capnp_builder_init(&b, NULL, 0);
    assert_rc(capnp_init_root(&b, 0, 0, &r), CAPNP_E_NOSPACE);
    assert_rc(capnp_finish(&b, &n), CAPNP_E_NOSPACE);
}

static void zero_sized_struct_is_not_encoded_as_a_null_pointer(void **state)
{
    (void)state;
    uint8_t buf[64];
    capnp_builder b;
    capnp_struct_builder r, e;
    capnp_message m;
    capnp_struct rr, ee;
    size_t n;
    capnp_builder_init(&b, buf, sizeof buf);
    assert_rc(capnp_init_root(&b, 0, 1, &r), CAPNP_OK);
    assert_rc(capnp_init_struct(&r, 0, 0, 0, &e), CAPNP_OK);
    assert_rc(capnp_finish(&b, &n), CAPNP_OK);
    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &rr), CAPNP_OK);
    assert_true(capnp_has_ptr(&rr, 0));
    assert_rc(capnp_get_struct(&rr, 0, &ee), CAPNP_OK);
    /* Upstream's encoding: offset -1, no sizes. */
    assert_int_equal(buf[8 + 8], 0xfc);
}

static void fields_beyond_an_older_struct_read_as_defaults(void **state)
{
    (void)state;
    /* An "old" Inner with only the id: no pointer section. */
    uint64_t w[] = {p_struct(0, 1, 0), 0x2a};
    uint8_t buf[64];
    capnp_message m;
    capnp_struct r, s;
    capnp_list l;
    const char *t;
    size_t n = frame1(buf, w, 2);
    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &r), CAPNP_OK);
    assert_int_equal(capnp_get_u32(&r, 0, 0), 42);
    assert_int_equal(capnp_get_u32(&r, 8, 77), 77);
    assert_int_equal(capnp_get_u64(&r, 4, 5), 5); /* straddles the end */
    assert_true(capnp_get_bool(&r, 64, true));
    assert_rc(capnp_get_text(&r, 0, &t, &n), CAPNP_OK);
    assert_int_equal(n, 0);
    assert_string_equal(t, "");
    assert_rc(capnp_get_struct(&r, 3, &s), CAPNP_OK);
    assert_int_equal(capnp_get_u32(&s, 0, 9), 9);
    assert_rc(capnp_get_list(&r, 1, CAPNP_ELEM_COMPOSITE, &l), CAPNP_OK);
    assert_int_equal(capnp_list_len(&l), 0);
}

static void struct_lists_and_primitive_lists_read_each_other(void **state)
{
    (void)state;
    uint8_t buf[256];
    capnp_builder b;
    capnp_struct_builder r, e;
    capnp_list_builder l;
    capnp_message m;
    capnp_struct rr, es;
    capnp_list rl;
    size_t n;

    capnp_builder_init(&b, buf, sizeof buf);
    assert_rc(capnp_init_root(&b, 0, 2, &r), CAPNP_OK);
    assert_rc(capnp_init_list(&r, 0, CAPNP_ELEM_FOUR_BYTES, 3, &l), CAPNP_OK);
    for (uint32_t i = 0; i < 3; i++)
        capnp_list_set_u32(&l, i, 10 + i);
    assert_rc(capnp_init_struct_list(&r, 1, 2, 1, 1, &l), CAPNP_OK);
    for (uint32_t i = 0; i < 2; i++) {
        assert_rc(capnp_list_struct_at(&l, i, &e), CAPNP_OK);
        capnp_set_u32(&e, 0, 20 + i, 0);
        assert_rc(capnp_set_text(&e, 0, "t", 1), CAPNP_OK);
    }
    assert_rc(capnp_finish(&b, &n), CAPNP_OK);
    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &rr), CAPNP_OK);

    /* List(UInt32) read as List(struct { x :UInt32; y :UInt32 }). */
    assert_rc(capnp_get_list(&rr, 0, CAPNP_ELEM_COMPOSITE, &rl), CAPNP_OK);
    assert_int_equal(capnp_list_len(&rl), 3);
    assert_rc(capnp_list_get_struct(&rl, 2, &es), CAPNP_OK);
    assert_int_equal(capnp_get_u32(&es, 0, 0), 12);
    assert_int_equal(capnp_get_u32(&es, 4, 3), 3); /* beyond: default */
    /* A narrower read of a wider list is allowed; a wider one is not. */
    assert_rc(capnp_get_list(&rr, 0, CAPNP_ELEM_TWO_BYTES, &rl), CAPNP_OK);
    assert_int_equal(capnp_list_get_u16(&rl, 1), 11);
    assert_rc(capnp_get_list(&rr, 0, CAPNP_ELEM_EIGHT_BYTES, &rl),
              CAPNP_E_TYPE);
    assert_int_equal(capnp_list_len(&rl), 0);

    /* List(struct) read as List(UInt32) and as List(Text). */
    assert_rc(capnp_get_list(&rr, 1, CAPNP_ELEM_FOUR_BYTES, &rl), CAPNP_OK);
    assert_int_equal(capnp_list_get_u32(&rl, 1), 21);
    assert_int_equal(capnp_list_get_u64(&rl, 1), 21);
    assert_int_equal(capnp_list_get_u32(&rl, 2), 0); /* past the end */
    assert_rc(capnp_get_list(&rr, 1, CAPNP_ELEM_POINTER, &rl), CAPNP_OK);
    assert_list_text(&rl, 1, "t");
    assert_rc(capnp_get_list(&rr, 1, CAPNP_ELEM_BIT, &rl), CAPNP_E_TYPE);
    assert_int_equal(capnp_list_len(&rl), 0);
}

static void strerror_names_every_code(void **state)
{
    (void)state;
    for (int e = CAPNP_E_INVAL; e <= CAPNP_E_BOUNDS; e++) {
        const char *s = capnp_strerror(e);
        if (strcmp(s, "unknown capnp error") == 0)
            fail_msg("code %d has no description", e);
    }
    assert_string_equal(capnp_strerror(CAPNP_OK), "ok");
    /* The codec's codes never meet the ABI's (errname.h). */
    assert_true(CAPNP_E_BOUNDS < CAPOS_RT_E_TOO_MANY);
    assert_string_equal(capnp_strerror(-1000), "unknown capnp error");
}

int main(void)
{
    const struct CMUnitTest codec[] = {
        cmocka_unit_test(builder_output_reads_back_every_field_and_capability),
        cmocka_unit_test(
            reader_needs_no_alignment_and_ignores_bytes_after_the_message),
        cmocka_unit_test(
            builder_reports_nospace_for_every_buffer_smaller_than_needed),
        cmocka_unit_test(builder_rejects_misuse_and_keeps_the_first_error),
        cmocka_unit_test(zero_sized_struct_is_not_encoded_as_a_null_pointer),
        cmocka_unit_test(fields_beyond_an_older_struct_read_as_defaults),
        cmocka_unit_test(struct_lists_and_primitive_lists_read_each_other),
        cmocka_unit_test(strerror_names_every_code),
    };

    set_paths();
    int failed = cmocka_run_group_tests_name("capnp codec", codec, NULL, NULL);
    failed += test_capnp_hostile_run();
    if (!have_capnp_tool()) {
        printf(
            "SKIP: capnp reference tests: no `capnp` on PATH; install the "
            "capnproto package (tools/install-deps) and re-run make check\n");
        return failed != 0 ? 1 : 77;
    }
    failed += test_capnp_reference_run();
    return failed != 0 ? 1 : 0;
}
