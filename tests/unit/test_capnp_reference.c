/*
 * test_capnp_reference.c - the codec test's group against the reference
 * `capnp` tool (see test_capnp.c): its encodings read back, the builder's
 * output decoded and canonicalised by it.
 */
#include "test_capnp.h"

static void reference_encoding_of_all_types_reads_back_every_field(void **state)
{
    (void)state;
    size_t n;
    uint8_t *msg = encode_fixture("AllTypes", "all-types.txt", &n, "encode");
    capnp_message m;
    assert_rc(capnp_msg_init(&m, msg, n, NULL), CAPNP_OK);
    assert_int_equal(m.nseg, 1);
    assert_int_equal(m.bytes, n);
    check_all_types(&m, false);
    free(msg);
}

static void reference_encoding_in_tiny_segments_reads_back_through_far_pointers(
    void **state)
{
    (void)state;
    static const char *const sizes[] = {"1", "2", "4", "8", "16"};
    for (size_t i = 0; i < N(sizes); i++) {
        char extra[64];
        size_t n;
        fmt(extra, "convert --segment-size=%s text:binary", sizes[i]);
        uint8_t *msg = encode_fixture("AllTypes", "all-types.txt", &n, extra);
        capnp_message m;
        assert_rc(capnp_msg_init(&m, msg, n, NULL), CAPNP_OK);
        if (m.nseg < 2)
            fail_msg("--segment-size=%s gave %u segment(s), want several",
                     sizes[i], m.nseg);
        check_all_types(&m, false);
        free(msg);
    }
}

static void reference_flat_encoding_reads_without_a_segment_table(void **state)
{
    (void)state;
    size_t n;
    uint8_t *msg =
        encode_fixture("AllTypes", "all-types.txt", &n, "convert text:flat");
    capnp_message m;
    assert_rc(capnp_msg_init_flat(&m, msg, n, NULL), CAPNP_OK);
    check_all_types(&m, false);
    free(msg);
}

static void union_member_struct_reads_with_its_tag(void **state)
{
    (void)state;
    capnp_message m;
    capnp_struct r, in;
    capnp_list l;
    uint8_t *msg = fixture_root("AllTypes", "all-types-inner.txt", &m, &r);
    assert_int_equal(capnp_get_u16(&r, AT_UNION_TAG, 0), UNION_INNER);
    assert_rc(capnp_get_struct(&r, AT_P_UNION, &in), CAPNP_OK);
    assert_int_equal(capnp_get_u32(&in, INNER_ID, 0), 77);
    assert_text(&in, INNER_P_NAME, "in the union");
    /* Set to "", the text is present; unset lists read as empty. */
    assert_true(capnp_has_ptr(&r, AT_P_TEXT));
    assert_text(&r, AT_P_TEXT, "");
    assert_false(capnp_has_ptr(&r, AT_P_STRUCTS));
    assert_rc(capnp_get_list(&r, AT_P_STRUCTS, CAPNP_ELEM_COMPOSITE, &l),
              CAPNP_OK);
    assert_int_equal(capnp_list_len(&l), 0);
    free(msg);
}

/* The data fields of a Defaults struct, read with their schema defaults. */
struct defaults {
    bool b;
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    uint16_t u16;
    uint64_t u64;
    float f32;
    double f64;
    uint16_t color;
};

/* Assert that every data field of the Defaults struct r reads as in want
 * (floats compared bit for bit). */
static void assert_defaults(const capnp_struct *r, const struct defaults *want)
{
    assert_int_equal(capnp_get_bool(r, DEF_B, true), want->b);
    assert_int_equal(capnp_get_i8(r, DEF_I8, D_I8), want->i8);
    assert_int_equal(capnp_get_i16(r, DEF_I16, D_I16), want->i16);
    assert_int_equal(capnp_get_i32(r, DEF_I32, D_I32), want->i32);
    assert_int_equal(capnp_get_i64(r, DEF_I64, D_I64), want->i64);
    assert_int_equal(capnp_get_u16(r, DEF_U16, D_U16), want->u16);
    assert_int_equal(capnp_get_u64(r, DEF_U64, D_U64), want->u64);
    assert_int_equal(f32b(capnp_get_f32(r, DEF_F32, D_F32)), f32b(want->f32));
    assert_int_equal(f64b(capnp_get_f64(r, DEF_F64, D_F64)), f64b(want->f64));
    assert_int_equal(capnp_get_u16(r, DEF_COLOR, D_COLOR), want->color);
}

static void absent_fields_read_as_their_schema_defaults(void **state)
{
    (void)state;
    capnp_message m;
    capnp_struct r;
    uint8_t *msg = fixture_root("Defaults", "defaults-empty.txt", &m, &r);
    assert_defaults(&r, &(struct defaults){.b = true,
                                           .i8 = -8,
                                           .i16 = -1600,
                                           .i32 = -123456,
                                           .i64 = -1234567890123ll,
                                           .u16 = 0xbeef,
                                           .u64 = D_U64,
                                           .f32 = 1.5f,
                                           .f64 = -2.25,
                                           .color = COLOR_BLUE});
    /* A pointer default is the generated code's business: null here. */
    assert_false(capnp_has_ptr(&r, DEF_P_TEXT));
    free(msg);
}

static void zero_values_are_stored_xored_with_their_defaults(void **state)
{
    (void)state;
    capnp_message m;
    capnp_struct r;
    uint8_t *msg = fixture_root("Defaults", "defaults-zero.txt", &m, &r);
    /* Every field reads zero (false, 0, 0.0, the first enumerant). */
    assert_defaults(&r, &(struct defaults){.color = COLOR_RED});
    /* Raw, without the mask, the stored bits are the defaults. */
    assert_int_equal(capnp_get_u16(&r, DEF_U16, 0), 0xbeef);
    assert_text(&r, DEF_P_TEXT, "");
    free(msg);
}

static void
builder_output_decodes_with_capnp_like_the_reference_encoding(void **state)
{
    (void)state;
    static uint8_t buf[8192];
    capnp_builder b;
    size_t n, want_n, got_n, ref_n;
    capnp_builder_init(&b, buf, sizeof buf);
    build_all_types(&b, false);
    assert_rc(capnp_finish(&b, &n), CAPNP_OK);

    char args[8192];
    fmt(args, "decode '%s' AllTypes", schema_path);
    char *got = (char *)capnp_run(args, buf, n, &got_n);
    uint8_t *ref =
        encode_fixture("AllTypes", "all-types.txt", &ref_n, "encode");
    char *want = (char *)capnp_run(args, ref, ref_n, &want_n);
    assert_string_equal(got, want);
    free(got);
    free(want);
    free(ref);
}

static void builder_output_canonicalises_to_the_reference_bytes(void **state)
{
    (void)state;
    static uint8_t buf[8192];
    capnp_builder b;
    size_t n, got_n, want_n, ref_n;
    capnp_builder_init(&b, buf, sizeof buf);
    build_all_types(&b, false);
    assert_rc(capnp_finish(&b, &n), CAPNP_OK);

    uint8_t *got = capnp_run("convert binary:canonical", buf, n, &got_n);
    uint8_t *ref =
        encode_fixture("AllTypes", "all-types.txt", &ref_n, "encode");
    uint8_t *want = capnp_run("convert binary:canonical", ref, ref_n, &want_n);
    assert_int_equal(got_n, want_n);
    assert_memory_equal(got, want, want_n);
    free(got);
    free(want);
    free(ref);
}

static void
builder_message_with_zero_sized_struct_and_no_root_decode(void **state)
{
    (void)state;
    uint8_t buf[256];
    capnp_builder b;
    capnp_struct_builder r, empty;
    size_t n, out_n;
    char args[8192];

    /* A zero-sized AnyPointer struct must not turn into a null pointer. */
    capnp_builder_init(&b, buf, sizeof buf);
    assert_rc(capnp_init_root(&b, AT_DATA_WORDS, AT_PTRS, &r), CAPNP_OK);
    assert_rc(capnp_init_struct(&r, AT_P_ANY, 0, 0, &empty), CAPNP_OK);
    assert_rc(capnp_finish(&b, &n), CAPNP_OK);
    fmt(args, "decode --short '%s' AllTypes", schema_path);
    char *out = (char *)capnp_run(args, buf, n, &out_n);
    if (strstr(out, "any = <opaque pointer>") == NULL)
        fail_msg("capnp decode printed %s, want a non-null any", out);
    free(out);

    /* Finishing with no root at all: a message with a null root. */
    capnp_builder_init(&b, buf, sizeof buf);
    assert_rc(capnp_finish(&b, &n), CAPNP_OK);
    assert_int_equal(n, 16);
    out = (char *)capnp_run(args, buf, n, &out_n);
    assert_string_equal(
        out,
        "(boolField = false, int8Field = 0, int16Field = 0, int32Field = 0, "
        "int64Field = 0, uint8Field = 0, uint16Field = 0, "
        "uint32Field = 0, uint64Field = 0, "
        "float32Field = 0, float64Field = 0, "
        "enumField = red, none = void, "
        "point = (x = 0, y = 0))\n");
    free(out);
}

int test_capnp_reference_run(void)
{
    const struct CMUnitTest reference[] = {
        cmocka_unit_test(
            reference_encoding_of_all_types_reads_back_every_field),
        cmocka_unit_test(
            reference_encoding_in_tiny_segments_reads_back_through_far_pointers),
        cmocka_unit_test(reference_flat_encoding_reads_without_a_segment_table),
        cmocka_unit_test(union_member_struct_reads_with_its_tag),
        cmocka_unit_test(absent_fields_read_as_their_schema_defaults),
        cmocka_unit_test(zero_values_are_stored_xored_with_their_defaults),
        cmocka_unit_test(
            builder_output_decodes_with_capnp_like_the_reference_encoding),
        cmocka_unit_test(builder_output_canonicalises_to_the_reference_bytes),
        cmocka_unit_test(
            builder_message_with_zero_sized_struct_and_no_root_decode),
    };

    return cmocka_run_group_tests_name("capnp against the reference tool",
                                       reference, NULL, NULL);
}
