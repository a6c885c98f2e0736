/*
 * test_capnp.h - what the parts of the codec test (test_capnp.c: the
 * codec group and main; test_capnp_reference.c, test_capnp_hostile.c:
 * the other groups) share: the field layout of codec-test.capnp, wire
 * pointer and assertion macros, the helpers of test_capnp_util.c and
 * the AllTypes builder and checker of test_capnp_alltypes.c.
 */
#ifndef CAPOS_TEST_CAPNP_H
#define CAPOS_TEST_CAPNP_H

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

/* Field layout of codec-test.capnp (from `capnp compile -ocapnp`),
 * in bytes (bools in bits) and pointer indices. */

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

/* Compare error codes by name so a failure reads "got X, want Y". */
#define assert_rc(got, want)                                                   \
    do {                                                                       \
        int got_ = (got), want_ = (want);                                      \
        if (got_ != want_)                                                     \
            fail_msg("%s: got %d (%s), want %d (%s)", #got, got_,              \
                     capnp_strerror(got_), want_, capnp_strerror(want_));      \
    } while (0)

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

/* snprintf that fails the test instead of truncating. */
#define fmt(buf, ...)                                                          \
    do {                                                                       \
        int n_ = snprintf((buf), sizeof(buf), __VA_ARGS__);                    \
        if (n_ < 0 || (size_t)n_ >= sizeof(buf))                               \
            fail_msg("path or command too long for %s", #buf);                 \
    } while (0)

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* test_capnp_util.c */
uint32_t f32b(float f);
uint64_t f64b(double d);
void assert_text(const capnp_struct *s, uint16_t idx, const char *want);
void assert_list_text(const capnp_list *l, uint32_t i, const char *want);
void assert_bytes(const uint8_t *got, size_t got_len, const void *want,
                  size_t want_len);
void put64(uint8_t *p, uint64_t v);
void put32(uint8_t *p, uint32_t v);
size_t frame(uint8_t *out, unsigned nseg, const uint64_t *const *segs,
             const uint32_t *nwords);
size_t frame1(uint8_t *out, const uint64_t *words, uint32_t n);
extern char schema_path[4096];
extern char fixture_dir[4096];
bool have_capnp_tool(void);
void set_paths(void);
uint8_t *capnp_run_file(const char *args, const char *in, size_t *len);
uint8_t *capnp_run(const char *args, const void *in, size_t inlen,
                   size_t *len);
uint8_t *encode_fixture(const char *type, const char *txt, size_t *len,
                        const char *extra);
uint8_t *fixture_root(const char *type, const char *txt,
                      capnp_message *m, capnp_struct *r);

/* test_capnp_alltypes.c */
extern const uint8_t data_field[5];
void build_all_types(capnp_builder *b, bool extras);
void check_all_types(capnp_message *m, bool extras);

/* The groups of test_capnp_reference.c and test_capnp_hostile.c; each
 * returns the number of failed tests. */
int test_capnp_reference_run(void);
int test_capnp_hostile_run(void);

#endif /* CAPOS_TEST_CAPNP_H */
