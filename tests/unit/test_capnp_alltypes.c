/*
 * test_capnp_alltypes.c - the values of fixtures/capnp/all-types.txt for
 * the codec test (test_capnp.h): built with the builder and checked
 * field by field in a message.
 */
#include "test_capnp.h"

const uint8_t data_field[5] = {0x00, 0x01, 0x02, 0xfe, 0xff};
static const bool bool_list[] = {true,  false, true,  true, false,
                                 false, false, false, true, true};
static const int8_t i8_list[] = {-1, 2, -3};
static const int16_t i16_list[] = {1000, -2000};
static const int32_t i32_list[] = {100000, -200000, 300000};
static const int64_t i64_list[] = {-5000000000ll, 6000000000ll};
static const float f32_list[] = {0.5f, -1.75f};
static const double f64_list[] = {3.125, -0.0078125};
static const char *const text_list[] = {"alpha", "", "gamma"};
static const uint16_t enum_list[] = {COLOR_GREEN, COLOR_RED, COLOR_BLUE};

/* Build all-types.txt with the builder (plus a capability and an
 * AnyPointer when extras is set: capnp decode cannot print those). */
void build_all_types(capnp_builder *b, bool extras)
{
    capnp_struct_builder r, in;
    capnp_list_builder l, sub;

    assert_rc(capnp_init_root(b, AT_DATA_WORDS, AT_PTRS, &r), CAPNP_OK);
    capnp_set_bool(&r, AT_BOOL, true, false);
    capnp_set_i8(&r, AT_I8, -123, 0);
    capnp_set_i16(&r, AT_I16, -12345, 0);
    capnp_set_i32(&r, AT_I32, -1234567890, 0);
    capnp_set_i64(&r, AT_I64, -1234567890123456789ll, 0);
    capnp_set_u8(&r, AT_U8, 234, 0);
    capnp_set_u16(&r, AT_U16, 54321, 0);
    capnp_set_u32(&r, AT_U32, 3456789012u, 0);
    capnp_set_u64(&r, AT_U64, 12345678901234567890ull, 0);
    capnp_set_f32(&r, AT_F32, 1.25f, 0);
    capnp_set_f64(&r, AT_F64, -6.0625e100, 0);
    assert_rc(capnp_set_text(&r, AT_P_TEXT, "hello, capOS", 12), CAPNP_OK);
    assert_rc(capnp_set_data(&r, AT_P_DATA, data_field, sizeof data_field),
              CAPNP_OK);
    assert_rc(
        capnp_init_struct(&r, AT_P_STRUCT, INNER_DATA_WORDS, INNER_PTRS, &in),
        CAPNP_OK);
    capnp_set_u32(&in, INNER_ID, 42, 0);
    assert_rc(capnp_set_text(&in, INNER_P_NAME, "inner", 5), CAPNP_OK);
    capnp_set_u16(&r, AT_ENUM, COLOR_BLUE, 0);

    assert_rc(capnp_init_list(&r, AT_P_VOIDS, CAPNP_ELEM_VOID, 3, &l),
              CAPNP_OK);
    assert_rc(capnp_init_list(&r, AT_P_BOOLS, CAPNP_ELEM_BIT, N(bool_list), &l),
              CAPNP_OK);
    for (uint32_t i = 0; i < N(bool_list); i++)
        capnp_list_set_bool(&l, i, bool_list[i]);
    assert_rc(capnp_init_list(&r, AT_P_I8S, CAPNP_ELEM_BYTE, N(i8_list), &l),
              CAPNP_OK);
    for (uint32_t i = 0; i < N(i8_list); i++)
        capnp_list_set_i8(&l, i, i8_list[i]);
    assert_rc(
        capnp_init_list(&r, AT_P_I16S, CAPNP_ELEM_TWO_BYTES, N(i16_list), &l),
        CAPNP_OK);
    for (uint32_t i = 0; i < N(i16_list); i++)
        capnp_list_set_i16(&l, i, i16_list[i]);
    assert_rc(
        capnp_init_list(&r, AT_P_I32S, CAPNP_ELEM_FOUR_BYTES, N(i32_list), &l),
        CAPNP_OK);
    for (uint32_t i = 0; i < N(i32_list); i++)
        capnp_list_set_i32(&l, i, i32_list[i]);
    assert_rc(
        capnp_init_list(&r, AT_P_I64S, CAPNP_ELEM_EIGHT_BYTES, N(i64_list), &l),
        CAPNP_OK);
    for (uint32_t i = 0; i < N(i64_list); i++)
        capnp_list_set_i64(&l, i, i64_list[i]);
    assert_rc(
        capnp_init_list(&r, AT_P_F32S, CAPNP_ELEM_FOUR_BYTES, N(f32_list), &l),
        CAPNP_OK);
    for (uint32_t i = 0; i < N(f32_list); i++)
        capnp_list_set_f32(&l, i, f32_list[i]);
    assert_rc(
        capnp_init_list(&r, AT_P_F64S, CAPNP_ELEM_EIGHT_BYTES, N(f64_list), &l),
        CAPNP_OK);
    for (uint32_t i = 0; i < N(f64_list); i++)
        capnp_list_set_f64(&l, i, f64_list[i]);
    assert_rc(
        capnp_init_list(&r, AT_P_TEXTS, CAPNP_ELEM_POINTER, N(text_list), &l),
        CAPNP_OK);
    for (uint32_t i = 0; i < N(text_list); i++)
        assert_rc(
            capnp_list_set_text(&l, i, text_list[i], strlen(text_list[i])),
            CAPNP_OK);
    assert_rc(capnp_init_list(&r, AT_P_DATAS, CAPNP_ELEM_POINTER, 3, &l),
              CAPNP_OK);
    assert_rc(capnp_list_set_data(&l, 0, "\x01", 1), CAPNP_OK);
    assert_rc(capnp_list_set_data(&l, 1, "", 0), CAPNP_OK);
    assert_rc(capnp_list_set_data(&l, 2, "\x02\x03", 2), CAPNP_OK);
    assert_rc(capnp_init_struct_list(&r, AT_P_STRUCTS, 3, INNER_DATA_WORDS,
                                     INNER_PTRS, &l),
              CAPNP_OK);
    static const char *const names[] = {"one", NULL, "three"};
    for (uint32_t i = 0; i < 3; i++) {
        assert_rc(capnp_list_struct_at(&l, i, &in), CAPNP_OK);
        capnp_set_u32(&in, INNER_ID, i + 1, 0);
        if (names[i] != NULL)
            assert_rc(
                capnp_set_text(&in, INNER_P_NAME, names[i], strlen(names[i])),
                CAPNP_OK);
    }
    assert_rc(
        capnp_init_list(&r, AT_P_ENUMS, CAPNP_ELEM_TWO_BYTES, N(enum_list), &l),
        CAPNP_OK);
    for (uint32_t i = 0; i < N(enum_list); i++)
        capnp_list_set_u16(&l, i, enum_list[i]);
    assert_rc(capnp_init_list(&r, AT_P_LISTS, CAPNP_ELEM_POINTER, 3, &l),
              CAPNP_OK);
    assert_rc(capnp_list_init_list(&l, 0, CAPNP_ELEM_FOUR_BYTES, 2, &sub),
              CAPNP_OK);
    capnp_list_set_i32(&sub, 0, 1);
    capnp_list_set_i32(&sub, 1, 2);
    assert_rc(capnp_list_init_list(&l, 1, CAPNP_ELEM_FOUR_BYTES, 0, &sub),
              CAPNP_OK);
    assert_rc(capnp_list_init_list(&l, 2, CAPNP_ELEM_FOUR_BYTES, 1, &sub),
              CAPNP_OK);
    capnp_list_set_i32(&sub, 0, 3);

    capnp_set_u16(&r, AT_UNION_TAG, UNION_WORD, 0);
    assert_rc(capnp_set_text(&r, AT_P_UNION, "union text", 10), CAPNP_OK);
    capnp_set_i32(&r, AT_POINT_X, -7, 0);
    capnp_set_i32(&r, AT_POINT_Y, 9, 0);

    if (extras) {
        assert_rc(capnp_set_cap(&r, AT_P_ECHO, 5), CAPNP_OK);
        capnp_struct_builder any;
        assert_rc(
            capnp_init_struct(&r, AT_P_ANY, INNER_DATA_WORDS, INNER_PTRS, &any),
            CAPNP_OK);
        capnp_set_u32(&any, INNER_ID, 99, 0);
    }
}

/* Check every field of all-types.txt in message m. */
void check_all_types(capnp_message *m, bool extras)
{
    capnp_struct r, in;
    capnp_list l, sub;
    const uint8_t *d;
    size_t n;

    assert_rc(capnp_msg_root(m, &r), CAPNP_OK);
    assert_true(capnp_get_bool(&r, AT_BOOL, false));
    assert_int_equal(capnp_get_i8(&r, AT_I8, 0), -123);
    assert_int_equal(capnp_get_i16(&r, AT_I16, 0), -12345);
    assert_int_equal(capnp_get_i32(&r, AT_I32, 0), -1234567890);
    assert_int_equal(capnp_get_i64(&r, AT_I64, 0), -1234567890123456789ll);
    assert_int_equal(capnp_get_u8(&r, AT_U8, 0), 234);
    assert_int_equal(capnp_get_u16(&r, AT_U16, 0), 54321);
    assert_int_equal(capnp_get_u32(&r, AT_U32, 0), 3456789012u);
    assert_int_equal(capnp_get_u64(&r, AT_U64, 0), 12345678901234567890ull);
    assert_int_equal(f32b(capnp_get_f32(&r, AT_F32, 0)), f32b(1.25f));
    assert_int_equal(f64b(capnp_get_f64(&r, AT_F64, 0)), f64b(-6.0625e100));
    assert_text(&r, AT_P_TEXT, "hello, capOS");
    assert_rc(capnp_get_data(&r, AT_P_DATA, &d, &n), CAPNP_OK);
    assert_bytes(d, n, data_field, sizeof data_field);
    assert_rc(capnp_get_struct(&r, AT_P_STRUCT, &in), CAPNP_OK);
    assert_int_equal(capnp_get_u32(&in, INNER_ID, 0), 42);
    assert_text(&in, INNER_P_NAME, "inner");
    assert_int_equal(capnp_get_u16(&r, AT_ENUM, 0), COLOR_BLUE);

    assert_rc(capnp_get_list(&r, AT_P_VOIDS, CAPNP_ELEM_VOID, &l), CAPNP_OK);
    assert_int_equal(capnp_list_len(&l), 3);
    assert_rc(capnp_get_list(&r, AT_P_BOOLS, CAPNP_ELEM_BIT, &l), CAPNP_OK);
    assert_int_equal(capnp_list_len(&l), N(bool_list));
    for (uint32_t i = 0; i < N(bool_list); i++)
        assert_int_equal(capnp_list_get_bool(&l, i), bool_list[i]);
    assert_rc(capnp_get_list(&r, AT_P_I8S, CAPNP_ELEM_BYTE, &l), CAPNP_OK);
    assert_int_equal(capnp_list_len(&l), N(i8_list));
    for (uint32_t i = 0; i < N(i8_list); i++)
        assert_int_equal(capnp_list_get_i8(&l, i), i8_list[i]);
    assert_rc(capnp_get_list(&r, AT_P_I16S, CAPNP_ELEM_TWO_BYTES, &l),
              CAPNP_OK);
    assert_int_equal(capnp_list_len(&l), N(i16_list));
    for (uint32_t i = 0; i < N(i16_list); i++)
        assert_int_equal(capnp_list_get_i16(&l, i), i16_list[i]);
    assert_rc(capnp_get_list(&r, AT_P_I32S, CAPNP_ELEM_FOUR_BYTES, &l),
              CAPNP_OK);
    assert_int_equal(capnp_list_len(&l), N(i32_list));
    for (uint32_t i = 0; i < N(i32_list); i++)
        assert_int_equal(capnp_list_get_i32(&l, i), i32_list[i]);
    assert_rc(capnp_get_list(&r, AT_P_I64S, CAPNP_ELEM_EIGHT_BYTES, &l),
              CAPNP_OK);
    assert_int_equal(capnp_list_len(&l), N(i64_list));
    for (uint32_t i = 0; i < N(i64_list); i++)
        assert_int_equal(capnp_list_get_i64(&l, i), i64_list[i]);
    assert_rc(capnp_get_list(&r, AT_P_F32S, CAPNP_ELEM_FOUR_BYTES, &l),
              CAPNP_OK);
    assert_int_equal(capnp_list_len(&l), N(f32_list));
    for (uint32_t i = 0; i < N(f32_list); i++)
        assert_int_equal(f32b(capnp_list_get_f32(&l, i)), f32b(f32_list[i]));
    assert_rc(capnp_get_list(&r, AT_P_F64S, CAPNP_ELEM_EIGHT_BYTES, &l),
              CAPNP_OK);
    assert_int_equal(capnp_list_len(&l), N(f64_list));
    for (uint32_t i = 0; i < N(f64_list); i++)
        assert_int_equal(f64b(capnp_list_get_f64(&l, i)), f64b(f64_list[i]));
    assert_rc(capnp_get_list(&r, AT_P_TEXTS, CAPNP_ELEM_POINTER, &l), CAPNP_OK);
    assert_int_equal(capnp_list_len(&l), N(text_list));
    for (uint32_t i = 0; i < N(text_list); i++)
        assert_list_text(&l, i, text_list[i]);
    assert_rc(capnp_get_list(&r, AT_P_DATAS, CAPNP_ELEM_POINTER, &l), CAPNP_OK);
    assert_int_equal(capnp_list_len(&l), 3);
    assert_rc(capnp_list_get_data(&l, 0, &d, &n), CAPNP_OK);
    assert_bytes(d, n, "\x01", 1);
    assert_rc(capnp_list_get_data(&l, 1, &d, &n), CAPNP_OK);
    assert_bytes(d, n, "", 0);
    assert_rc(capnp_list_get_data(&l, 2, &d, &n), CAPNP_OK);
    assert_bytes(d, n, "\x02\x03", 2);
    assert_rc(capnp_get_list(&r, AT_P_STRUCTS, CAPNP_ELEM_COMPOSITE, &l),
              CAPNP_OK);
    assert_int_equal(capnp_list_len(&l), 3);
    static const char *const names[] = {"one", "", "three"};
    for (uint32_t i = 0; i < 3; i++) {
        assert_rc(capnp_list_get_struct(&l, i, &in), CAPNP_OK);
        assert_int_equal(capnp_get_u32(&in, INNER_ID, 0), i + 1);
        assert_text(&in, INNER_P_NAME, names[i]);
    }
    assert_rc(capnp_get_list(&r, AT_P_ENUMS, CAPNP_ELEM_TWO_BYTES, &l),
              CAPNP_OK);
    assert_int_equal(capnp_list_len(&l), N(enum_list));
    for (uint32_t i = 0; i < N(enum_list); i++)
        assert_int_equal(capnp_list_get_u16(&l, i), enum_list[i]);
    assert_rc(capnp_get_list(&r, AT_P_LISTS, CAPNP_ELEM_POINTER, &l), CAPNP_OK);
    assert_int_equal(capnp_list_len(&l), 3);
    static const uint32_t sub_len[] = {2, 0, 1};
    static const int32_t sub_val[3][2] = {{1, 2}, {0, 0}, {3, 0}};
    for (uint32_t i = 0; i < 3; i++) {
        assert_rc(capnp_list_get_list(&l, i, CAPNP_ELEM_FOUR_BYTES, &sub),
                  CAPNP_OK);
        assert_int_equal(capnp_list_len(&sub), sub_len[i]);
        for (uint32_t j = 0; j < sub_len[i]; j++)
            assert_int_equal(capnp_list_get_i32(&sub, j), sub_val[i][j]);
    }

    assert_int_equal(capnp_get_u16(&r, AT_UNION_TAG, 0), UNION_WORD);
    assert_text(&r, AT_P_UNION, "union text");
    assert_int_equal(capnp_get_i32(&r, AT_POINT_X, 0), -7);
    assert_int_equal(capnp_get_i32(&r, AT_POINT_Y, 0), 9);

    uint32_t cap;
    capnp_ptr any;
    assert_rc(capnp_get_cap(&r, AT_P_ECHO, &cap), CAPNP_OK);
    assert_rc(capnp_get_ptr(&r, AT_P_ANY, &any), CAPNP_OK);
    if (extras) {
        assert_int_equal(cap, 5);
        assert_int_equal(any.kind, CAPNP_PTR_STRUCT);
        assert_int_equal(capnp_get_u32(&any.s, INNER_ID, 0), 99);
    } else {
        assert_int_equal(cap, CAPNP_CAP_NULL);
        assert_int_equal(any.kind, CAPNP_PTR_NULL);
    }
}
