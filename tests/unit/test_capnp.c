/*
 * test_capnp.c - the Cap'n Proto wire-format codec (lib/capnp.c).
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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "capos/capnp.h"
#include "capos/errname.h"

/* ------------------------------------------------------------------ */
/* Field layout of codec-test.capnp (from `capnp compile -ocapnp`),     */
/* in bytes (bools in bits) and pointer indices.                        */
/* ------------------------------------------------------------------ */

#define AT_DATA_WORDS 8
#define AT_PTRS 19
#define AT_BOOL 0 /* bit */
#define AT_I8 1
#define AT_I16 2
#define AT_I32 4
#define AT_I64 8
#define AT_U8 16
#define AT_U16 18
#define AT_U32 20
#define AT_U64 24
#define AT_F32 32
#define AT_ENUM 36
#define AT_UNION_TAG 38
#define AT_F64 40
#define AT_NUMBER 48
#define AT_POINT_X 52
#define AT_POINT_Y 56
enum {
    AT_P_TEXT,
    AT_P_DATA,
    AT_P_STRUCT,
    AT_P_VOIDS,
    AT_P_BOOLS,
    AT_P_I8S,
    AT_P_I16S,
    AT_P_I32S,
    AT_P_I64S,
    AT_P_F32S,
    AT_P_F64S,
    AT_P_TEXTS,
    AT_P_DATAS,
    AT_P_STRUCTS,
    AT_P_ENUMS,
    AT_P_LISTS,
    AT_P_UNION,
    AT_P_ECHO,
    AT_P_ANY
};
#define UNION_NONE 0
#define UNION_NUMBER 1
#define UNION_WORD 2
#define UNION_INNER 3
#define COLOR_RED 0
#define COLOR_GREEN 1
#define COLOR_BLUE 2

#define INNER_DATA_WORDS 1
#define INNER_PTRS 1
#define INNER_ID 0
#define INNER_P_NAME 0

#define DEF_DATA_WORDS 5
#define DEF_PTRS 1
#define DEF_B 0 /* bit, default true */
#define DEF_I8 1
#define DEF_I16 2
#define DEF_I32 4
#define DEF_I64 8
#define DEF_U16 16
#define DEF_COLOR 18
#define DEF_F32 20
#define DEF_U64 24
#define DEF_F64 32
#define DEF_P_TEXT 0

#define DEEP_P_CHILD 0
#define DEEP_LEVEL 0

/* Schema defaults of Defaults, as XOR masks. */
#define D_I8 ((int8_t)-8)
#define D_I16 ((int16_t)-1600)
#define D_I32 ((int32_t)-123456)
#define D_I64 ((int64_t)-1234567890123)
#define D_U16 ((uint16_t)0xbeef)
#define D_U64 0xdeadbeefcafef00dull
#define D_F32 0x3fc00000u           /* 1.5 */
#define D_F64 0xc002000000000000ull /* -2.25 */
#define D_COLOR ((uint16_t)COLOR_BLUE)

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

static uint32_t f32b(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static uint64_t f64b(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* Compare error codes by name so a failure reads "got X, want Y". */
#define assert_rc(got, want)                                                   \
    do {                                                                       \
        int got_ = (got), want_ = (want);                                      \
        if (got_ != want_)                                                     \
            fail_msg("%s: got %d (%s), want %d (%s)", #got, got_,              \
                     capnp_strerror(got_), want_, capnp_strerror(want_));      \
    } while (0)

static void assert_text(const capnp_struct *s, uint16_t idx, const char *want)
{
    const char *t;
    size_t n;
    assert_rc(capnp_get_text(s, idx, &t, &n), CAPNP_OK);
    assert_int_equal(n, strlen(want));
    assert_string_equal(t, want); /* NUL-terminated inside the message */
}

static void assert_list_text(const capnp_list *l, uint32_t i, const char *want)
{
    const char *t;
    size_t n;
    assert_rc(capnp_list_get_text(l, i, &t, &n), CAPNP_OK);
    assert_int_equal(n, strlen(want));
    assert_string_equal(t, want);
}

static void assert_bytes(const uint8_t *got, size_t got_len, const void *want,
                         size_t want_len)
{
    assert_int_equal(got_len, want_len);
    if (want_len != 0)
        assert_memory_equal(got, want, want_len);
}

/* Wire pointers, for hand-made messages. */
#define p_struct(off, dw, np)                                                  \
    ((uint64_t)((uint32_t)(int32_t)(off) << 2) | (uint64_t)(dw) << 32 |        \
     (uint64_t)(np) << 48)
#define p_list(off, elem, count)                                               \
    ((uint64_t)((uint32_t)(int32_t)(off) << 2 | 1u) |                          \
     (uint64_t)((uint32_t)(elem) | (uint32_t)(count) << 3) << 32)
#define p_far(dbl, pad, seg)                                                   \
    ((uint64_t)(2u | ((dbl) ? 4u : 0u) | (uint32_t)(pad) << 3) |               \
     (uint64_t)(seg) << 32)
#define p_cap(index) (3u | (uint64_t)(index) << 32)

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Frame nseg segments (word arrays) into out; returns the byte length. */
static size_t frame(uint8_t *out, unsigned nseg, const uint64_t *const *segs,
                    const uint32_t *nwords)
{
    size_t off = (4 + 4 * (size_t)nseg + 7) & ~(size_t)7;
    memset(out, 0, off);
    put32(out, nseg - 1);
    for (unsigned s = 0; s < nseg; s++) {
        put32(out + 4 + 4 * s, nwords[s]);
        for (uint32_t w = 0; w < nwords[s]; w++, off += 8)
            put64(out + off, segs[s][w]);
    }
    return off;
}

static size_t frame1(uint8_t *out, const uint64_t *words, uint32_t n)
{
    return frame(out, 1, &words, &n);
}

/* ------------------------------------------------------------------ */
/* The capnp tool                                                       */
/* ------------------------------------------------------------------ */

static char schema_path[4096];
static char fixture_dir[4096];

/* snprintf that fails the test instead of truncating. */
#define fmt(buf, ...)                                                          \
    do {                                                                       \
        int n_ = snprintf((buf), sizeof(buf), __VA_ARGS__);                    \
        if (n_ < 0 || (size_t)n_ >= sizeof(buf))                               \
            fail_msg("path or command too long for %s", #buf);                 \
    } while (0)

static bool have_capnp_tool(void)
{
    return system("command -v capnp >/dev/null 2>&1") == 0;
}

static void set_paths(void)
{
    const char *src = getenv("srcdir");
    if (src == NULL || *src == '\0')
        src = ".";
    int n1 =
        snprintf(fixture_dir, sizeof fixture_dir, "%s/fixtures/capnp", src);
    int n2 = snprintf(schema_path, sizeof schema_path,
                      "%s/fixtures/capnp/codec-test.capnp", src);
    if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof schema_path) {
        fprintf(stderr, "test_capnp: srcdir '%s' is too long\n", src);
        exit(1);
    }
}

/*
 * Run `capnp ARGS` (a shell fragment) with stdin from the file `in`, and
 * return its stdout in a malloc'd, NUL-terminated buffer. Fails the test
 * when capnp exits non-zero (its stderr goes to the test log).
 */
static uint8_t *capnp_run_file(const char *args, const char *in, size_t *len)
{
    char cmd[16384];
    fmt(cmd, "capnp %s < '%s'", args, in);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        fail_msg("popen(%s) failed", cmd);
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap + 1);
    assert_non_null(buf);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, p)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
    }
    int st = pclose(p);
    if (st != 0)
        fail_msg("`%s` exited with status %d (its message is above)", cmd, st);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The same with stdin from bytes in memory (through a temporary file). */
static uint8_t *capnp_run(const char *args, const void *in, size_t inlen,
                          size_t *len)
{
    const char *tmpdir = getenv("TMPDIR");
    char path[4096];
    fmt(path, "%s/capos-capnp.XXXXXX",
        tmpdir != NULL && *tmpdir != '\0' ? tmpdir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        fail_msg("mkstemp(%s) failed", path);
    assert_int_equal(write(fd, in, inlen), (ssize_t)inlen);
    close(fd);
    uint8_t *out = capnp_run_file(args, path, len);
    unlink(path);
    return out;
}

/* `capnp encode` of fixtures/capnp/<txt> as type; framed bytes. */
static uint8_t *encode_fixture(const char *type, const char *txt, size_t *len,
                               const char *extra)
{
    char args[8192], in[8192];
    fmt(args, "%s '%s' %s", extra, schema_path, type);
    fmt(in, "%s/%s", fixture_dir, txt);
    return capnp_run_file(args, in, len);
}

/* The fixture txt encoded as type, decoded into *m with its root in *r;
 * returns the message bytes, which the caller frees. */
static uint8_t *fixture_root(const char *type, const char *txt,
                             capnp_message *m, capnp_struct *r)
{
    size_t n;
    uint8_t *msg = encode_fixture(type, txt, &n, "encode");
    assert_rc(capnp_msg_init(m, msg, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(m, r), CAPNP_OK);
    return msg;
}

/* ------------------------------------------------------------------ */
/* AllTypes: the values of fixtures/capnp/all-types.txt                 */
/* ------------------------------------------------------------------ */

static const uint8_t data_field[] = {0x00, 0x01, 0x02, 0xfe, 0xff};
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
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Build all-types.txt with the builder (plus a capability and an
 * AnyPointer when extras is set: capnp decode cannot print those). */
static void build_all_types(capnp_builder *b, bool extras)
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
static void check_all_types(capnp_message *m, bool extras)
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

/* ------------------------------------------------------------------ */
/* Group 1: against the reference tool                                  */
/* ------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------ */
/* Group 2: the codec on its own                                        */
/* ------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------ */
/* Group 3: hostile input                                               */
/* ------------------------------------------------------------------ */

static void malformed_framing_is_refused(void **state)
{
    (void)state;
    static uint8_t buf[1024];
    capnp_message m;
    capnp_struct r;

    assert_rc(capnp_msg_init(&m, buf, 0, NULL), CAPNP_E_FRAMING);
    assert_rc(capnp_msg_init(&m, NULL, 16, NULL), CAPNP_E_FRAMING);
    memset(buf, 0, sizeof buf);
    assert_rc(capnp_msg_init(&m, buf, 4, NULL), CAPNP_E_FRAMING);

    /* Segment count 65 (count-1 = 64) and 2^32 (count-1 wraps). */
    put32(buf, 64);
    assert_rc(capnp_msg_init(&m, buf, sizeof buf, NULL), CAPNP_E_FRAMING);
    put32(buf, 0xffffffffu);
    assert_rc(capnp_msg_init(&m, buf, sizeof buf, NULL), CAPNP_E_FRAMING);

    /* Exactly 64 segments of one word each: accepted. */
    memset(buf, 0, sizeof buf);
    put32(buf, 63);
    for (int i = 0; i < 64; i++)
        put32(buf + 4 + 4 * i, 1);
    assert_rc(capnp_msg_init(&m, buf, 264 + 64 * 8, NULL), CAPNP_OK);
    assert_int_equal(m.nseg, 64);
    assert_int_equal(m.bytes, 264 + 64 * 8);
    /* The same, one byte short. */
    assert_rc(capnp_msg_init(&m, buf, 264 + 64 * 8 - 1, NULL), CAPNP_E_FRAMING);

    /* A table of three segments cut after its first word. */
    memset(buf, 0, sizeof buf);
    put32(buf, 2);
    assert_rc(capnp_msg_init(&m, buf, 8, NULL), CAPNP_E_FRAMING);

    /* Each size fits, their sum does not. */
    put32(buf, 1);
    put32(buf + 4, 2);
    put32(buf + 8, 2);
    assert_rc(capnp_msg_init(&m, buf, 16 + 24, NULL), CAPNP_E_FRAMING);
    assert_rc(capnp_msg_init(&m, buf, 16 + 32, NULL), CAPNP_OK);

    /* A segment claiming 4 Gi words. */
    put32(buf, 0);
    put32(buf + 4, 0xffffffffu);
    assert_rc(capnp_msg_init(&m, buf, sizeof buf, NULL), CAPNP_E_FRAMING);

    /* A zero-word first segment has no root. */
    put32(buf + 4, 0);
    assert_rc(capnp_msg_init(&m, buf, 8, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &r), CAPNP_E_BOUNDS);

    /* Flat: whole words only. */
    assert_rc(capnp_msg_init_flat(&m, buf, 12, NULL), CAPNP_E_FRAMING);
    assert_rc(capnp_msg_init_flat(&m, buf, 0, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &r), CAPNP_E_BOUNDS);
}

enum op {
    OP_ROOT,        /* capnp_msg_root */
    OP_STRUCT,      /* field 0 of the root as a struct */
    OP_LIST_U64,    /* field 0 as List(UInt64), then element 0 */
    OP_LIST_U32,    /* field 0 as List(UInt32) */
    OP_LIST_STRUCT, /* field 0 as List(struct), then element 0 */
    OP_LIST_BIT,    /* field 0 as List(Bool) */
    OP_LIST_PTR,    /* field 0 as a pointer list */
    OP_TEXT,        /* field 0 as Text */
    OP_DATA,        /* field 0 as Data */
    OP_CAP,         /* field 0 as a capability */
    OP_ANY,         /* field 0 as AnyPointer */
};

struct hostile {
    const char *name;
    enum op op;
    int want;
    uint32_t n;
    uint64_t w[8];
};

#define ROOT1 0x0001000000000000ull /* struct, offset 0, 0 data, 1 ptr */

static int run_op(capnp_message *m, enum op op)
{
    capnp_struct r, s;
    capnp_list l;
    capnp_ptr p;
    const char *t;
    const uint8_t *d;
    size_t n;
    uint32_t cap;
    int rc;

    if ((rc = capnp_msg_root(m, &r)) != CAPNP_OK || op == OP_ROOT)
        return rc;
    switch (op) {
    case OP_STRUCT:
        return capnp_get_struct(&r, 0, &s);
    case OP_LIST_U64:
        if ((rc = capnp_get_list(&r, 0, CAPNP_ELEM_EIGHT_BYTES, &l)) ==
            CAPNP_OK)
            (void)capnp_list_get_u64(&l, 0);
        return rc;
    case OP_LIST_U32:
        return capnp_get_list(&r, 0, CAPNP_ELEM_FOUR_BYTES, &l);
    case OP_LIST_STRUCT:
        if ((rc = capnp_get_list(&r, 0, CAPNP_ELEM_COMPOSITE, &l)) ==
                CAPNP_OK &&
            capnp_list_len(&l) > 0)
            rc = capnp_list_get_struct(&l, 0, &s);
        return rc;
    case OP_LIST_BIT:
        return capnp_get_list(&r, 0, CAPNP_ELEM_BIT, &l);
    case OP_LIST_PTR:
        return capnp_get_list(&r, 0, CAPNP_ELEM_POINTER, &l);
    case OP_TEXT:
        return capnp_get_text(&r, 0, &t, &n);
    case OP_DATA:
        return capnp_get_data(&r, 0, &d, &n);
    case OP_CAP:
        return capnp_get_cap(&r, 0, &cap);
    case OP_ANY:
        return capnp_get_ptr(&r, 0, &p);
    case OP_ROOT:
        break;
    }
    return rc;
}

static const struct hostile hostile_cases[] = {
    {"root struct past the end",
     OP_ROOT,
     CAPNP_E_BOUNDS,
     1,
     {p_struct(5, 1, 0)}},
    {"root struct before the start",
     OP_ROOT,
     CAPNP_E_BOUNDS,
     1,
     {p_struct(-3, 1, 0)}},
    {"root struct overlapping the end",
     OP_ROOT,
     CAPNP_E_BOUNDS,
     2,
     {p_struct(0, 2, 0), 0}},
    {"root struct with the largest negative offset",
     OP_ROOT,
     CAPNP_E_BOUNDS,
     1,
     {p_struct(-(1 << 29), 0, 1)}},
    {"list with a huge element count",
     OP_LIST_U64,
     CAPNP_E_BOUNDS,
     2,
     {ROOT1, p_list(0, CAPNP_ELEM_EIGHT_BYTES, (1u << 29) - 1)}},
    {"bit list one bit too long",
     OP_LIST_BIT,
     CAPNP_E_BOUNDS,
     3,
     {ROOT1, p_list(0, CAPNP_ELEM_BIT, 65), 0}},
    {"composite list whose tag claims more elements than words",
     OP_LIST_STRUCT,
     CAPNP_E_BOUNDS,
     4,
     {ROOT1, p_list(0, CAPNP_ELEM_COMPOSITE, 1), p_struct(3, 1, 0), 0}},
    {"composite list whose words run past the segment",
     OP_LIST_STRUCT,
     CAPNP_E_BOUNDS,
     4,
     {ROOT1, p_list(0, CAPNP_ELEM_COMPOSITE, 9), p_struct(1, 1, 0), 0}},
    {"composite list whose tag is not a struct pointer",
     OP_LIST_STRUCT,
     CAPNP_E_TYPE,
     4,
     {ROOT1, p_list(0, CAPNP_ELEM_COMPOSITE, 1), p_list(1, 2, 0), 0}},
    {"capability where a struct is expected",
     OP_STRUCT,
     CAPNP_E_TYPE,
     2,
     {ROOT1, p_cap(0)}},
    {"struct where a list is expected",
     OP_LIST_U32,
     CAPNP_E_TYPE,
     3,
     {ROOT1, p_struct(0, 1, 0), 0}},
    {"list where a struct is expected",
     OP_STRUCT,
     CAPNP_E_TYPE,
     3,
     {ROOT1, p_list(0, CAPNP_ELEM_BYTE, 8), 0}},
    {"struct where a capability is expected",
     OP_CAP,
     CAPNP_E_TYPE,
     3,
     {ROOT1, p_struct(0, 1, 0), 0}},
    {"far pointer where a capability is expected",
     OP_CAP,
     CAPNP_E_TYPE,
     3,
     {ROOT1, p_far(false, 2, 0), p_cap(1)}},
    {"reserved pointer kind (other, non-zero offset)",
     OP_ANY,
     CAPNP_E_TYPE,
     2,
     {ROOT1, 3u | 4u}},
    {"reserved pointer kind read as a capability",
     OP_CAP,
     CAPNP_E_TYPE,
     2,
     {ROOT1, 3u | 4u}},
    {"text without its NUL",
     OP_TEXT,
     CAPNP_E_TEXT,
     3,
     {ROOT1, p_list(0, CAPNP_ELEM_BYTE, 3), 0x636261}},
    {"text of zero bytes (no room for the NUL)",
     OP_TEXT,
     CAPNP_E_TEXT,
     2,
     {ROOT1, p_list(0, CAPNP_ELEM_BYTE, 0)}},
    {"text encoded as a list of 16-bit values",
     OP_TEXT,
     CAPNP_E_TYPE,
     3,
     {ROOT1, p_list(0, CAPNP_ELEM_TWO_BYTES, 2), 0}},
    {"data encoded as a struct list",
     OP_DATA,
     CAPNP_E_TYPE,
     4,
     {ROOT1, p_list(0, CAPNP_ELEM_COMPOSITE, 1), p_struct(1, 1, 0), 0}},
    {"bit list where a struct list is expected",
     OP_LIST_STRUCT,
     CAPNP_E_TYPE,
     3,
     {ROOT1, p_list(0, CAPNP_ELEM_BIT, 8), 0}},
    {"byte list where a 32-bit list is expected",
     OP_LIST_U32,
     CAPNP_E_TYPE,
     3,
     {ROOT1, p_list(0, CAPNP_ELEM_BYTE, 8), 0}},
    {"struct list where a bit list is expected",
     OP_LIST_BIT,
     CAPNP_E_TYPE,
     4,
     {ROOT1, p_list(0, CAPNP_ELEM_COMPOSITE, 1), p_struct(1, 1, 0), 0}},
    {"data-only struct list where a pointer list is expected",
     OP_LIST_PTR,
     CAPNP_E_TYPE,
     4,
     {ROOT1, p_list(0, CAPNP_ELEM_COMPOSITE, 1), p_struct(1, 1, 0), 0}},
    {"pointer-only struct list where a 32-bit list is expected",
     OP_LIST_U32,
     CAPNP_E_TYPE,
     4,
     {ROOT1, p_list(0, CAPNP_ELEM_COMPOSITE, 1), p_struct(1, 0, 1), 0}},
    {"far pointer to an unknown segment",
     OP_STRUCT,
     CAPNP_E_BOUNDS,
     2,
     {ROOT1, p_far(false, 0, 5)}},
    {"far pointer whose landing pad is past the segment",
     OP_STRUCT,
     CAPNP_E_BOUNDS,
     2,
     {ROOT1, p_far(false, 100, 0)}},
    {"far pointer landing on a far pointer",
     OP_STRUCT,
     CAPNP_E_FAR,
     3,
     {ROOT1, p_far(false, 2, 0), p_far(false, 2, 0)}},
    {"far pointer landing on itself",
     OP_STRUCT,
     CAPNP_E_FAR,
     2,
     {ROOT1, p_far(false, 1, 0)}},
    {"far pointer landing on a capability",
     OP_ANY,
     CAPNP_E_FAR,
     3,
     {ROOT1, p_far(false, 2, 0), p_cap(0)}},
    {"far pointer landing on a struct past the segment",
     OP_STRUCT,
     CAPNP_E_BOUNDS,
     3,
     {ROOT1, p_far(false, 2, 0), p_struct(4, 1, 0)}},
    {"double-far pad whose first word is not a far pointer",
     OP_STRUCT,
     CAPNP_E_FAR,
     4,
     {ROOT1, p_far(true, 2, 0), p_struct(0, 0, 0), 0}},
    {"double-far pad whose first word is double-far again",
     OP_STRUCT,
     CAPNP_E_FAR,
     4,
     {ROOT1, p_far(true, 2, 0), p_far(true, 2, 0), 0}},
    {"double-far pad whose tag is a capability",
     OP_STRUCT,
     CAPNP_E_FAR,
     4,
     {ROOT1, p_far(true, 2, 0), p_far(false, 0, 0), p_cap(0)}},
    {"double-far pad with one word left in the segment",
     OP_STRUCT,
     CAPNP_E_BOUNDS,
     3,
     {ROOT1, p_far(true, 2, 0), p_far(false, 0, 0)}},
    {"double-far pad pointing into an unknown segment",
     OP_STRUCT,
     CAPNP_E_BOUNDS,
     4,
     {ROOT1, p_far(true, 2, 0), p_far(false, 0, 9), p_struct(0, 1, 0)}},
    {"double-far content past its segment",
     OP_STRUCT,
     CAPNP_E_BOUNDS,
     4,
     {ROOT1, p_far(true, 2, 0), p_far(false, 3, 0), p_struct(0, 2, 0)}},
};

static void every_malformed_pointer_class_returns_its_error(void **state)
{
    (void)state;
    uint8_t buf[256];
    for (size_t i = 0; i < N(hostile_cases); i++) {
        const struct hostile *h = &hostile_cases[i];
        capnp_message m;
        size_t n = frame1(buf, h->w, h->n);
        assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
        int got = run_op(&m, h->op);
        if (got != h->want)
            fail_msg("%s: got %d (%s), want %d (%s)", h->name, got,
                     capnp_strerror(got), h->want, capnp_strerror(h->want));
        /* The flat reader of the same segment agrees. */
        assert_rc(capnp_msg_init_flat(&m, buf + 8, n - 8, NULL), CAPNP_OK);
        got = run_op(&m, h->op);
        if (got != h->want)
            fail_msg("%s (flat): got %d (%s), want %d (%s)", h->name, got,
                     capnp_strerror(got), h->want, capnp_strerror(h->want));
    }
}

static void failed_reads_leave_safe_empty_values(void **state)
{
    (void)state;
    uint64_t w[] = {ROOT1, p_struct(40, 1, 1)};
    uint8_t buf[64];
    capnp_message m;
    capnp_struct r, s;
    capnp_list l;
    const char *t = NULL;
    size_t n = frame1(buf, w, 2);
    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &r), CAPNP_OK);
    assert_rc(capnp_get_struct(&r, 0, &s), CAPNP_E_BOUNDS);
    assert_int_equal(s.data_bytes, 0);
    assert_int_equal(s.nptrs, 0);
    assert_int_equal(capnp_get_u64(&s, 0, 3), 3);
    assert_rc(capnp_get_list(&r, 0, CAPNP_ELEM_BYTE, &l), CAPNP_E_TYPE);
    assert_int_equal(capnp_list_len(&l), 0);
    assert_rc(capnp_get_text(&r, 0, &t, &n), CAPNP_E_TYPE);
    assert_non_null(t);
    assert_int_equal(n, 0);
}

static void
valid_double_far_pointer_reaches_a_struct_in_a_third_segment(void **state)
{
    (void)state;
    /* seg0: root -> far(double) to seg1 word 1; seg1 pad: far to seg2
     * word 0 + struct tag (1 data word, 1 ptr); seg2: the struct, whose
     * text pointer is a single far to a pad in seg1 word 3 -> text in
     * seg1 word 4. */
    uint64_t s0[] = {p_far(true, 1, 1)};
    uint64_t s1[] = {0, p_far(false, 0, 2), p_struct(0, 1, 1),
                     p_list(0, CAPNP_ELEM_BYTE, 3), 0x6968};
    uint64_t s2[] = {0x1234, p_far(false, 3, 1)};
    const uint64_t *segs[] = {s0, s1, s2};
    uint32_t nw[] = {1, 5, 2};
    uint8_t buf[256];
    capnp_message m;
    capnp_struct r;
    size_t n = frame(buf, 3, segs, nw);
    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &r), CAPNP_OK);
    assert_int_equal(r.seg, 2);
    assert_int_equal(capnp_get_u64(&r, 0, 0), 0x1234);
    assert_text(&r, 0, "hi");
}

/* Walk everything reachable from p (depth-first); returns the first
 * error met, 0 if none. *steps counts pointer hops. */
static int walk(const capnp_ptr *p, unsigned *steps);

static int walk_struct(const capnp_struct *s, unsigned *steps)
{
    for (uint16_t i = 0; i < s->nptrs; i++) {
        capnp_ptr c;
        int rc = capnp_get_ptr(s, i, &c);
        (*steps)++;
        if (rc == CAPNP_OK)
            rc = walk(&c, steps);
        if (rc != CAPNP_OK)
            return rc;
    }
    return CAPNP_OK;
}

static int walk(const capnp_ptr *p, unsigned *steps)
{
    if (p->kind == CAPNP_PTR_STRUCT)
        return walk_struct(&p->s, steps);
    if (p->kind != CAPNP_PTR_LIST || p->l.nptrs == 0)
        return CAPNP_OK;
    for (uint32_t i = 0; i < p->l.len; i++) {
        capnp_struct e;
        int rc = capnp_list_get_struct(&p->l, i, &e);
        if (rc == CAPNP_OK)
            rc = walk_struct(&e, steps);
        if (rc != CAPNP_OK)
            return rc;
    }
    return CAPNP_OK;
}

static void list_pointing_at_itself_ends_in_a_depth_error(void **state)
{
    (void)state;
    /* Word 2 is a one-element pointer list whose element (word 3) points
     * back at word 2's target... itself: offset -1 from word 3 lands on
     * word 3. */
    uint64_t w[] = {ROOT1, p_list(0, CAPNP_ELEM_POINTER, 1),
                    p_list(-1, CAPNP_ELEM_POINTER, 1)};
    uint8_t buf[64];
    capnp_message m;
    capnp_ptr root;
    unsigned steps = 0;
    size_t n = frame1(buf, w, 3);
    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root_ptr(&m, &root), CAPNP_OK);
    assert_rc(walk(&root, &steps), CAPNP_E_DEPTH);
    /* Root, then one hop per level until the limit. */
    assert_int_equal(steps, CAPNP_DEFAULT_NESTING);
}

static void struct_pointing_at_itself_ends_in_a_depth_error(void **state)
{
    (void)state;
    /* Deep { child @0 :Deep; level :UInt32 } whose child is itself. */
    uint64_t w[] = {p_struct(0, 1, 1), 7, p_struct(-2, 1, 1)};
    uint8_t buf[64];
    capnp_message m;
    capnp_struct s;
    unsigned hops = 0;
    size_t n = frame1(buf, w, 3);
    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &s), CAPNP_OK);
    int rc;
    while ((rc = capnp_get_struct(&s, DEEP_P_CHILD, &s)) == CAPNP_OK) {
        assert_int_equal(capnp_get_u32(&s, DEEP_LEVEL, 0), 7);
        if (++hops > 1000)
            fail_msg("a cyclic struct was followed %u times", hops);
    }
    assert_rc(rc, CAPNP_E_DEPTH);
    assert_int_equal(hops, CAPNP_DEFAULT_NESTING - 1);
}

/* A Deep chain of `levels` structs (level 0 is the root). */
static size_t build_deep(uint8_t *buf, size_t len, unsigned levels)
{
    capnp_builder b;
    capnp_struct_builder s;
    size_t n;
    capnp_builder_init(&b, buf, len);
    assert_rc(capnp_init_root(&b, 1, 1, &s), CAPNP_OK);
    for (unsigned i = 0; i < levels; i++) {
        capnp_set_u32(&s, DEEP_LEVEL, i, 0);
        if (i + 1 < levels)
            assert_rc(capnp_init_struct(&s, DEEP_P_CHILD, 1, 1, &s), CAPNP_OK);
    }
    assert_rc(capnp_finish(&b, &n), CAPNP_OK);
    return n;
}

/* Follow the chain; returns the error that stopped it and *reached the
 * number of structs read. */
static int follow_deep(capnp_message *m, unsigned *reached)
{
    capnp_struct s;
    int rc = capnp_msg_root(m, &s);
    *reached = 0;
    while (rc == CAPNP_OK) {
        assert_int_equal(capnp_get_u32(&s, DEEP_LEVEL, 0), *reached);
        (*reached)++;
        if (!capnp_has_ptr(&s, DEEP_P_CHILD))
            break;
        rc = capnp_get_struct(&s, DEEP_P_CHILD, &s);
    }
    return rc;
}

static void nesting_limit_stops_a_chain_one_struct_past_the_limit(void **state)
{
    (void)state;
    static uint8_t buf[16384];
    size_t n = build_deep(buf, sizeof buf, 100);
    capnp_message m;
    unsigned reached;

    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(follow_deep(&m, &reached), CAPNP_E_DEPTH);
    assert_int_equal(reached, CAPNP_DEFAULT_NESTING);

    capnp_read_options deep = {.nesting_limit = 100};
    assert_rc(capnp_msg_init(&m, buf, n, &deep), CAPNP_OK);
    assert_rc(follow_deep(&m, &reached), CAPNP_OK);
    assert_int_equal(reached, 100);

    capnp_read_options shallow = {.nesting_limit = 3};
    assert_rc(capnp_msg_init(&m, buf, n, &shallow), CAPNP_OK);
    assert_rc(follow_deep(&m, &reached), CAPNP_E_DEPTH);
    assert_int_equal(reached, 3);
}

static void traversal_limit_charges_every_dereference(void **state)
{
    (void)state;
    static uint8_t buf[2048];
    capnp_builder b;
    capnp_struct_builder r, big;
    capnp_message m;
    capnp_struct rr, s;
    size_t n;
    capnp_builder_init(&b, buf, sizeof buf);
    assert_rc(capnp_init_root(&b, 0, 1, &r), CAPNP_OK);
    assert_rc(capnp_init_struct(&r, 0, 100, 0, &big), CAPNP_OK);
    assert_rc(capnp_finish(&b, &n), CAPNP_OK);

    /* Root (1 word) + 2 reads of 100 words fit in 250; the third not. */
    capnp_read_options opt = {.traversal_limit_words = 250};
    assert_rc(capnp_msg_init(&m, buf, n, &opt), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &rr), CAPNP_OK);
    assert_rc(capnp_get_struct(&rr, 0, &s), CAPNP_OK);
    assert_rc(capnp_get_struct(&rr, 0, &s), CAPNP_OK);
    assert_int_equal(m.traversal_left, 250 - 1 - 200);
    assert_rc(capnp_get_struct(&rr, 0, &s), CAPNP_E_TRAVERSAL);
    /* Once exhausted, stays exhausted. */
    assert_rc(capnp_msg_root(&m, &rr), CAPNP_E_TRAVERSAL);
}

static void
million_zero_sized_structs_in_one_word_are_charged_a_word_each(void **state)
{
    (void)state;
    /* A composite list of 10^6 zero-sized structs: its words are the
     * tag alone, so nothing but the count limits the work. */
    uint64_t w[] = {ROOT1, p_list(0, CAPNP_ELEM_COMPOSITE, 0),
                    p_struct(1000000, 0, 0)};
    uint8_t buf[64];
    capnp_message m;
    capnp_struct r, e;
    capnp_list l;
    size_t n = frame1(buf, w, 3);

    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &r), CAPNP_OK);
    uint64_t before = m.traversal_left;
    assert_rc(capnp_get_list(&r, 0, CAPNP_ELEM_COMPOSITE, &l), CAPNP_OK);
    assert_int_equal(capnp_list_len(&l), 1000000);
    assert_int_equal(before - m.traversal_left, 1000000 + 1);
    assert_rc(capnp_list_get_struct(&l, 999999, &e), CAPNP_OK);
    assert_int_equal(capnp_get_u64(&e, 0, 0), 0);

    /* Read again and again, the default limit runs out on the 9th. */
    int reads = 1, rc;
    while ((rc = capnp_get_list(&r, 0, CAPNP_ELEM_COMPOSITE, &l)) == CAPNP_OK)
        reads++;
    assert_rc(rc, CAPNP_E_TRAVERSAL);
    assert_int_equal(reads, (int)(CAPNP_DEFAULT_TRAVERSAL_WORDS / 1000001));

    capnp_read_options opt = {.traversal_limit_words = 1000000};
    assert_rc(capnp_msg_init(&m, buf, n, &opt), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &r), CAPNP_OK);
    assert_rc(capnp_get_list(&r, 0, CAPNP_ELEM_COMPOSITE, &l),
              CAPNP_E_TRAVERSAL);
}

static void void_list_of_the_largest_count_is_refused_by_the_limit(void **state)
{
    (void)state;
    uint64_t w[] = {ROOT1, p_list(0, CAPNP_ELEM_VOID, (1u << 29) - 1)};
    uint8_t buf[64];
    capnp_message m;
    capnp_ptr p;
    capnp_struct r;
    size_t n = frame1(buf, w, 2);
    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &r), CAPNP_OK);
    assert_rc(capnp_get_ptr(&r, 0, &p), CAPNP_E_TRAVERSAL);
}

static void
million_pointers_to_one_struct_exhaust_the_traversal_limit(void **state)
{
    (void)state;
    /* seg: root -> pointer list of 10^6 elements, each pointing back at
     * one 16-word struct: 8 MB of pointers would read 128 MB. */
    const uint32_t count = 1000000, big = 16;
    uint32_t nwords = 2 + big + count;
    uint64_t *w = calloc(nwords, sizeof *w);
    uint8_t *buf = malloc(8 + (size_t)nwords * 8);
    assert_non_null(w);
    assert_non_null(buf);
    w[0] = ROOT1;
    w[1] = p_list((int32_t)big, CAPNP_ELEM_POINTER, count);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t at = 2 + big + i;
        w[at] = p_struct(2 - (int32_t)at - 1, big, 0);
    }
    size_t n = frame1(buf, w, nwords);
    capnp_message m;
    capnp_struct r, s;
    capnp_list l;
    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &r), CAPNP_OK);
    assert_rc(capnp_get_list(&r, 0, CAPNP_ELEM_POINTER, &l), CAPNP_OK);
    uint32_t i;
    int rc = CAPNP_OK;
    for (i = 0; i < count; i++) {
        capnp_ptr p;
        if ((rc = capnp_list_get_ptr(&l, i, &p)) != CAPNP_OK)
            break;
        assert_int_equal(p.kind, CAPNP_PTR_STRUCT);
    }
    assert_rc(rc, CAPNP_E_TRAVERSAL);
    /* Limit minus root and list, in 16-word reads. */
    uint64_t want = (CAPNP_DEFAULT_TRAVERSAL_WORDS - 1 - count) / big;
    assert_int_equal(i, want);
    (void)s;
    free(w);
    free(buf);
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
    const struct CMUnitTest hostile[] = {
        cmocka_unit_test(malformed_framing_is_refused),
        cmocka_unit_test(every_malformed_pointer_class_returns_its_error),
        cmocka_unit_test(failed_reads_leave_safe_empty_values),
        cmocka_unit_test(
            valid_double_far_pointer_reaches_a_struct_in_a_third_segment),
        cmocka_unit_test(list_pointing_at_itself_ends_in_a_depth_error),
        cmocka_unit_test(struct_pointing_at_itself_ends_in_a_depth_error),
        cmocka_unit_test(nesting_limit_stops_a_chain_one_struct_past_the_limit),
        cmocka_unit_test(traversal_limit_charges_every_dereference),
        cmocka_unit_test(
            million_zero_sized_structs_in_one_word_are_charged_a_word_each),
        cmocka_unit_test(
            void_list_of_the_largest_count_is_refused_by_the_limit),
        cmocka_unit_test(
            million_pointers_to_one_struct_exhaust_the_traversal_limit),
    };
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

    set_paths();
    int failed = cmocka_run_group_tests_name("capnp codec", codec, NULL, NULL);
    failed +=
        cmocka_run_group_tests_name("capnp hostile input", hostile, NULL, NULL);
    if (!have_capnp_tool()) {
        printf(
            "SKIP: capnp reference tests: no `capnp` on PATH; install the "
            "capnproto package (tools/install-deps) and re-run make check\n");
        return failed != 0 ? 1 : 77;
    }
    failed += cmocka_run_group_tests_name("capnp against the reference tool",
                                          reference, NULL, NULL);
    return failed != 0 ? 1 : 0;
}
