/*
 * roundtrip-support.h - what the round-trip code capnpc-c writes with
 * CAPNPC_C_ROUNDTRIP=1 (X.capnp.roundtrip.c, see tools/capnpc-c/roundtrip.c
 * and docs/codegen.md) calls, and the table it exports. Test code: hosted
 * C, linked into tests/unit/test_schema_roundtrip with roundtrip-support.c.
 *
 * For every struct S of a schema file the generated code has
 *   fill(s, variant, depth, ctx)   set every field of S with the generated
 *                                  setters to a value derived from
 *                                  (field, variant), never the default;
 *   check(s, variant, depth, ctx)  read every field back with the
 *                                  generated getters and compare;
 *   text(o, variant, depth, ctx)   write what fill sets (CGRT_NO_CAPS) as
 *                                  schema text by field name.
 * Values: integers and floats from a hash of the field and the variant
 * (floats exactly representable, printed and parsed back exactly by
 * capnp); enums a valid enumerant other than the default; Bool the
 * opposite of its default; Text and Data short strings with quotes,
 * backslashes, control bytes and UTF-8 (Data: any byte but ( ) #);
 * structs recursively up to ctx->max_depth; lists
 * two elements; capabilities a cap-table index; one union member, chosen
 * by variant (variant k picks the k-th choosable member modulo their
 * count). AnyPointer fields stay null (nothing to choose a type from).
 */
#ifndef CAPNPC_C_ROUNDTRIP_SUPPORT_H
#define CAPNPC_C_ROUNDTRIP_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "capos/capnp.h"

/* ctx->flags: leave every capability pointer null and never choose a
 * capability union member (capnp encode/decode cannot carry caps). */
#define CGRT_NO_CAPS 1u

/* Fields per struct (with its groups) the coverage bitmaps can track. */
#define CGRT_MAX_FIELDS 256u
/* Longest Text or Data value cgrt_text / cgrt_data produce. */
#define CGRT_TEXT_MAX 64u

/* Kinds of a field (cgrt_struct.field_kinds). */
#define CGRT_FIELD_PLAIN 0u /* goes through capnp encode/decode too */
#define CGRT_FIELD_CAP 1u   /* holds capabilities: C round trip only */
#define CGRT_FIELD_ANY 2u   /* AnyPointer: left null, not covered */

typedef struct cgrt_ctx {
    unsigned flags;       /* CGRT_NO_CAPS */
    unsigned max_depth;   /* structs below this depth stay null */
    unsigned long values; /* leaf values set (fill) or compared (check) */
    /* Fields of the root struct (depth 0) that fill set / check read,
     * by field serial (cgrt_struct.field_names). */
    uint8_t set[CGRT_MAX_FIELDS];
    uint8_t checked[CGRT_MAX_FIELDS];
    char why[512]; /* the first mismatch */
} cgrt_ctx;

/* A growing text buffer (the schema-language text of a message). */
typedef struct cgrt_buf {
    char *p;
    size_t len, cap;
} cgrt_buf;

typedef struct cgrt_struct {
    const char *name; /* schema name, e.g. "Console.write$Params" */
    /* The type name capnp encode/decode take, NULL if none: the schema
     * name, or for an implicit method struct its copy in the mirror
     * schema X.capnp.roundtrip.capnp (mirror true). */
    const char *capnp_type;
    bool mirror;
    uint64_t id;
    uint16_t data_words, pointers; /* the generated *_DATA_WORDS/_POINTERS */
    unsigned variants;             /* enough to choose every union member */
    /* An all-default message must fail check for some variant: the
     * struct has a field fill never leaves at its default (anything but
     * Void and AnyPointer) or a union of two or more members. */
    bool empty_rejects;
    unsigned nfields;               /* fields of the struct and its groups */
    const char *const *field_names; /* by serial: "source.kernel" */
    const uint8_t *field_kinds;     /* by serial: CGRT_FIELD_* */
    int (*init_root)(capnp_builder *b, capnp_struct_builder *out);
    int (*fill)(capnp_struct_builder *s, unsigned variant, unsigned depth,
                cgrt_ctx *ctx);
    int (*check)(const capnp_struct *s, unsigned variant, unsigned depth,
                 cgrt_ctx *ctx);
    /* The fields fill sets with ctx->flags CGRT_NO_CAPS, written in the
     * schema language by name ("name = \"x\", source = (kernel = timer)"),
     * without the outer parentheses; for `capnp encode`. */
    void (*text)(cgrt_buf *o, unsigned variant, unsigned depth, cgrt_ctx *ctx);
} cgrt_struct;

typedef struct cgrt_schema {
    const char *file;        /* as requested: "capos.capnp" */
    const char *mirror_file; /* "capos.capnp.roundtrip.capnp" */
    const cgrt_struct *structs;
    uint32_t count;
} cgrt_schema;

/* ---- values --------------------------------------------------------- */

/* A well-mixed 64-bit value of (seed, variant). */
uint64_t cgrt_mix(uint64_t seed, unsigned variant);
/* The seed of list element i. */
static inline uint64_t cgrt_seed(uint64_t seed, uint32_t i)
{
    return seed + 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1u);
}
/* The variant a nested struct is filled with. */
static inline unsigned cgrt_child(unsigned variant, unsigned salt)
{
    return (variant * 7u + salt) % 65521u;
}
/* width-bit value (as stored), different from dflt's width bits. */
uint64_t cgrt_bits(uint64_t seed, unsigned variant, unsigned width,
                   uint64_t dflt);
/* An enumerant index below n, not dflt unless n == 1 (n 0: 0). */
uint16_t cgrt_enum(uint64_t seed, unsigned variant, unsigned n, uint16_t dflt);
/* Exactly representable values (k/16, |k| < 2^20 for Float32; k/1024,
 * |k| < 2^40 for Float64), different from the default bit pattern. */
float cgrt_f32(uint64_t seed, unsigned variant, uint32_t dflt_bits);
double cgrt_f64(uint64_t seed, unsigned variant, uint64_t dflt_bits);
/* Text (valid UTF-8, no NUL) in buf[CGRT_TEXT_MAX], not equal to
 * dflt[0..dlen); returns the length (at least 1). */
size_t cgrt_text(uint64_t seed, unsigned variant, char *buf, const char *dflt,
                 size_t dlen);
/* Data in buf[CGRT_TEXT_MAX] (any byte but the three capnp encode cannot
 * read back in a text literal: ( ) #), not equal to dflt[0..dlen). */
size_t cgrt_data(uint64_t seed, unsigned variant, uint8_t *buf,
                 const uint8_t *dflt, size_t dlen);
/* A capability index (never CAPNP_CAP_NULL). */
uint32_t cgrt_cap(uint64_t seed, unsigned variant);

/* Two's complement reinterpretations (no implementation-defined casts). */
static inline int8_t cgrt_i8(uint64_t bits)
{
    uint8_t u = (uint8_t)bits;
    int8_t r;
    memcpy(&r, &u, sizeof r);
    return r;
}
static inline int16_t cgrt_i16(uint64_t bits)
{
    uint16_t u = (uint16_t)bits;
    int16_t r;
    memcpy(&r, &u, sizeof r);
    return r;
}
static inline int32_t cgrt_i32(uint64_t bits)
{
    uint32_t u = (uint32_t)bits;
    int32_t r;
    memcpy(&r, &u, sizeof r);
    return r;
}
static inline int64_t cgrt_i64(uint64_t bits)
{
    int64_t r;
    memcpy(&r, &bits, sizeof r);
    return r;
}
/* The bit patterns check compares floats by (the codec's). */
static inline uint32_t cgrt_f32_bits(float f)
{
    return capnp_f32_bits(f);
}
static inline uint64_t cgrt_f64_bits(double d)
{
    return capnp_f64_bits(d);
}

/* ---- text (schema language, as capnp encode reads it) ---------------
 * Strings are written with octal escapes for everything but printable
 * ASCII other than " \\ ( ) #, so capnp's message splitter (see
 * roundtrip-support.c) never sees a parenthesis or '#' inside one. */
void cgrt_puts(cgrt_buf *o, const char *s);
void cgrt_printf(cgrt_buf *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* ", " unless o ends with '(' or '[' or is empty. */
void cgrt_sep(cgrt_buf *o);
/* cgrt_sep, then "name = ". */
void cgrt_field(cgrt_buf *o, const char *name);
void cgrt_put_text(cgrt_buf *o, const char *s, size_t n);
void cgrt_put_data(cgrt_buf *o, const uint8_t *d, size_t n);
void cgrt_put_f32(cgrt_buf *o, float f);
void cgrt_put_f64(cgrt_buf *o, double d);

/* ---- checks: 0 when equal, else -1 with ctx->why set (first failure) */

int cgrt_fail(cgrt_ctx *ctx, const char *where, unsigned variant,
              const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Integers, bools, enums, float bit patterns, discriminants. */
int cgrt_eq(cgrt_ctx *ctx, const char *where, unsigned variant, uint64_t got,
            uint64_t want);
/* A getter's return code (expected CAPNP_OK). */
int cgrt_rc(cgrt_ctx *ctx, const char *where, unsigned variant, int rc);
/* A Text or Data field or element: return code, has_ptr, bytes. has is
 * ignored when negative (list elements). */
int cgrt_eq_bytes(cgrt_ctx *ctx, const char *where, unsigned variant, int rc,
                  int has, const void *got, size_t glen, const void *want,
                  size_t wlen);
/* A pointer that must be null (not set by fill). */
int cgrt_null(cgrt_ctx *ctx, const char *where, unsigned variant, bool has);

/* Record the first codec error of a fill. */
#define CGRT_RC(rc, expr)                                                      \
    do {                                                                       \
        int e_ = (expr);                                                       \
        if (e_ != 0 && (rc) == 0)                                              \
            (rc) = e_;                                                         \
    } while (0)
/* Mark field serial n of the root struct as set / checked. */
#define CGRT_SET(ctx, depth, n)                                                \
    do {                                                                       \
        if ((depth) == 0)                                                      \
            (ctx)->set[(n)] = 1;                                               \
    } while (0)
#define CGRT_CHECKED(ctx, depth, n)                                            \
    do {                                                                       \
        if ((depth) == 0)                                                      \
            (ctx)->checked[(n)] = 1;                                           \
    } while (0)

#endif /* CAPNPC_C_ROUNDTRIP_SUPPORT_H */
