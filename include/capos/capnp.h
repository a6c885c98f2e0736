/*
 * capos/capnp.h - the Cap'n Proto wire-format codec: THE CODEC CONTRACT.
 *
 * tools/capnpc-c generates code against this header, the kernel model and
 * capos-rt link it (lib/capnp.c). Keep it stable: additions are
 * fine, changes to existing names, types or meanings are not.
 *
 * Wire format as upstream (capnproto.org/encoding.html): little-endian
 * 64-bit words, struct/list/far/capability pointers, the stream framing
 * (segment table: count-1, sizes, padding to a word).
 *
 * Reader: over a message in caller memory (any alignment, never written).
 * Every access is bounds-checked against its segment; malformed input gives
 * a negative CAPNP_E_* code, never a crash or an out-of-bounds read. Like
 * the reference implementation, each struct or list dereference charges
 * its size in words against a per-message traversal limit (amplification
 * defence) and each pointer hop spends one level of a nesting limit.
 * Null pointers and fields beyond a struct's sections (schema evolution)
 * read as their defaults.
 *
 * Builder: one segment in a caller-provided buffer, no allocation. The
 * first 8 bytes of the buffer are kept for the segment table, so
 * capnp_finish() leaves the framed message at the start of the buffer
 * without copying. Allocation zeroes what it hands out (the buffer need
 * not be clean). Errors are sticky: once a call fails, later calls are
 * no-ops and capnp_finish() reports the first error, so a message that did
 * not fit is never reported as built.
 *
 * Conventions:
 *  - Primitive field offsets are in BYTES from the start of the data
 *    section (bool fields: in BITS). capnp schema offsets are in units of
 *    the field's size: byte offset = offset * size.
 *  - Defaults are passed as the value to XOR with (upstream encoding of
 *    defaults); floats take their IEEE-754 bit pattern.
 *  - Pointer fields are addressed by pointer-section index.
 *  - Functions returning int give 0 (CAPNP_OK) or a CAPNP_E_* code.
 *
 * Freestanding C11: only <stdint.h> <stddef.h> <stdbool.h>.
 */
#ifndef CAPOS_CAPNP_H
#define CAPOS_CAPNP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/* The codes are below -200, apart from the ABI's CAP_ERR_* (-1..-14)
 * and capos-rt's CAPOS_RT_E_* (-100...), so that a call that may fail in
 * the kernel, the runtime or the codec returns a code with one meaning
 * (include/capos/errname.h names them all). */
#define CAPNP_OK 0
#define CAPNP_E_BOUNDS (-201)    /* target outside its segment, index >= len */
#define CAPNP_E_TYPE (-202)      /* pointer kind / list element size mismatch */
#define CAPNP_E_DEPTH (-203)     /* nesting limit exceeded */
#define CAPNP_E_TRAVERSAL (-204) /* traversal (read amplification) limit hit */
#define CAPNP_E_NOSPACE (-205)   /* builder buffer too small */
#define CAPNP_E_FRAMING (-206)   /* bad segment table / truncated message */
#define CAPNP_E_FAR (-207)       /* malformed far pointer or landing pad */
#define CAPNP_E_TEXT (-208)      /* text not NUL-terminated inside its list */
#define CAPNP_E_INVAL (-209)     /* API misuse (offset outside section, ...) */

/* A short, stable description of a CAPNP_E_* code ("ok" for 0). */
const char *capnp_strerror(int err);

/* ------------------------------------------------------------------ */
/* Wire constants                                                      */
/* ------------------------------------------------------------------ */

/* List element sizes (the 3-bit C field of a list pointer). */
#define CAPNP_ELEM_VOID 0u
#define CAPNP_ELEM_BIT 1u
#define CAPNP_ELEM_BYTE 2u
#define CAPNP_ELEM_TWO_BYTES 3u
#define CAPNP_ELEM_FOUR_BYTES 4u
#define CAPNP_ELEM_EIGHT_BYTES 5u
#define CAPNP_ELEM_POINTER 6u
#define CAPNP_ELEM_COMPOSITE 7u /* inline composite: List(struct) */

/* Limits. */
#define CAPNP_MAX_SEGMENTS 64u
#define CAPNP_DEFAULT_TRAVERSAL_WORDS (8ull * 1024 * 1024) /* 64 MiB read */
#define CAPNP_DEFAULT_NESTING 64u
#define CAPNP_MAX_LIST_LEN ((1u << 29) - 1u) /* 29-bit element count */

/* capnp_get_cap: a null capability pointer. */
#define CAPNP_CAP_NULL UINT32_MAX

/* ------------------------------------------------------------------ */
/* Reader                                                              */
/* ------------------------------------------------------------------ */

typedef struct capnp_read_options {
    uint64_t traversal_limit_words; /* 0 = CAPNP_DEFAULT_TRAVERSAL_WORDS */
    uint32_t nesting_limit;         /* 0 = CAPNP_DEFAULT_NESTING */
} capnp_read_options;

/* A message being read. Caller-owned; points into the caller's buffer,
 * which must outlive every reader derived from it. */
typedef struct capnp_message {
    const uint8_t *seg[CAPNP_MAX_SEGMENTS];
    uint32_t seg_words[CAPNP_MAX_SEGMENTS];
    uint32_t nseg;
    uint32_t nesting_limit;
    uint64_t traversal_left; /* words still allowed to be dereferenced */
    size_t bytes;            /* bytes of the buffer the message occupies */
} capnp_message;

/* A struct being read. A null pointer gives an empty struct (no data, no
 * pointers) on which every getter returns its default. */
typedef struct capnp_struct {
    capnp_message *msg;
    const uint8_t *data; /* data section */
    const uint8_t *ptrs; /* pointer section (in segment seg) */
    uint32_t seg;
    uint32_t data_bytes; /* data section size in bytes */
    uint16_t nptrs;
    int32_t nesting; /* pointer hops still allowed below this struct */
} capnp_struct;

/* A list being read. Elements are addressed uniformly: element i starts
 * step_bits * i bits after base, has data_bits of data and then nptrs
 * pointers. For CAPNP_ELEM_COMPOSITE, base is just after the tag word. */
typedef struct capnp_list {
    capnp_message *msg;
    const uint8_t *base;
    uint32_t seg;
    uint32_t len;
    uint32_t step_bits;
    uint32_t data_bits;
    uint16_t nptrs;
    uint8_t elem; /* CAPNP_ELEM_* as on the wire */
    int32_t nesting;
} capnp_list;

/* Kinds of capnp_ptr (AnyPointer). */
#define CAPNP_PTR_NULL 0
#define CAPNP_PTR_STRUCT 1
#define CAPNP_PTR_LIST 2
#define CAPNP_PTR_CAP 3

/* An AnyPointer, resolved. Exactly one of s / l / cap is meaningful. */
typedef struct capnp_ptr {
    int kind; /* CAPNP_PTR_* */
    uint32_t cap;
    capnp_struct s;
    capnp_list l;
} capnp_ptr;

/*
 * Parse a stream-framed message (segment table + segments) at buf.
 * Accepts 1..CAPNP_MAX_SEGMENTS segments whose total fits in len; bytes
 * after the message are allowed and not read (m->bytes says how many the
 * message used). opt may be NULL for the defaults. buf needs no alignment.
 * Returns 0 or CAPNP_E_FRAMING.
 */
int capnp_msg_init(capnp_message *m, const void *buf, size_t len,
                   const capnp_read_options *opt);

/*
 * A single segment without a table ("flat"): len must be a multiple of 8.
 * Returns 0 or CAPNP_E_FRAMING.
 */
int capnp_msg_init_flat(capnp_message *m, const void *buf, size_t len,
                        const capnp_read_options *opt);

/* The root struct (word 0 of segment 0). A null root reads as an empty
 * struct. Returns 0 or an error (no root word: CAPNP_E_BOUNDS). */
int capnp_msg_root(capnp_message *m, capnp_struct *root);
/* The root as an AnyPointer. */
int capnp_msg_root_ptr(capnp_message *m, capnp_ptr *out);

/* ---- IEEE-754 bit patterns: Float32/Float64 values are stored, and their
 * defaults given (def_bits), as these bits. Reinterpretations, not
 * conversions; __builtin_memcpy keeps them free of <string.h>. */
static inline uint32_t capnp_f32_bits(float f)
{
    uint32_t u;
    __builtin_memcpy(&u, &f, sizeof u);
    return u;
}
static inline float capnp_bits_f32(uint32_t u)
{
    float f;
    __builtin_memcpy(&f, &u, sizeof f);
    return f;
}
static inline uint64_t capnp_f64_bits(double d)
{
    uint64_t u;
    __builtin_memcpy(&u, &d, sizeof u);
    return u;
}
static inline double capnp_bits_f64(uint64_t u)
{
    double d;
    __builtin_memcpy(&d, &u, sizeof d);
    return d;
}

/* ---- primitive fields (never fail; outside the data section = default) */
bool capnp_get_bool(const capnp_struct *s, uint32_t bit_off, bool def);
uint8_t capnp_get_u8(const capnp_struct *s, uint32_t off, uint8_t def);
uint16_t capnp_get_u16(const capnp_struct *s, uint32_t off, uint16_t def);
uint32_t capnp_get_u32(const capnp_struct *s, uint32_t off, uint32_t def);
uint64_t capnp_get_u64(const capnp_struct *s, uint32_t off, uint64_t def);
float capnp_get_f32(const capnp_struct *s, uint32_t off, uint32_t def_bits);
double capnp_get_f64(const capnp_struct *s, uint32_t off, uint64_t def_bits);

static inline int8_t capnp_get_i8(const capnp_struct *s, uint32_t off,
                                  int8_t def)
{
    return (int8_t)capnp_get_u8(s, off, (uint8_t)def);
}
static inline int16_t capnp_get_i16(const capnp_struct *s, uint32_t off,
                                    int16_t def)
{
    return (int16_t)capnp_get_u16(s, off, (uint16_t)def);
}
static inline int32_t capnp_get_i32(const capnp_struct *s, uint32_t off,
                                    int32_t def)
{
    return (int32_t)capnp_get_u32(s, off, (uint32_t)def);
}
static inline int64_t capnp_get_i64(const capnp_struct *s, uint32_t off,
                                    int64_t def)
{
    return (int64_t)capnp_get_u64(s, off, (uint64_t)def);
}

/* ---- pointer fields of a struct --------------------------------------
 * idx >= s->nptrs reads as a null pointer. Null reads as: empty struct,
 * empty list (len 0), "" (len 0), empty data, CAPNP_CAP_NULL.
 * Errors: CAPNP_E_BOUNDS, _TYPE, _FAR, _DEPTH, _TRAVERSAL, _TEXT; on
 * error *out is set to the null value so careless callers stay safe. */

/* True if pointer idx is present and non-null (no validation). */
bool capnp_has_ptr(const capnp_struct *s, uint16_t idx);

int capnp_get_struct(const capnp_struct *s, uint16_t idx, capnp_struct *out);

/*
 * A list whose elements the schema says are `elem` (CAPNP_ELEM_*; use
 * CAPNP_ELEM_COMPOSITE for List(struct), CAPNP_ELEM_POINTER for lists of
 * text/data/lists/interfaces). Compatible encodings are accepted as the
 * reference does: a struct list may be read from any non-bit list, a
 * primitive or pointer list from a composite list whose elements are large
 * enough, a narrower primitive from a wider one. Otherwise CAPNP_E_TYPE.
 */
int capnp_get_list(const capnp_struct *s, uint16_t idx, unsigned elem,
                   capnp_list *out);

/* Text: *str points at the bytes inside the message (NUL-terminated
 * there), *len excludes the NUL. */
int capnp_get_text(const capnp_struct *s, uint16_t idx, const char **str,
                   size_t *len);
int capnp_get_data(const capnp_struct *s, uint16_t idx, const uint8_t **data,
                   size_t *len);
/* Capability pointer: *cap = cap-table index, or CAPNP_CAP_NULL. */
int capnp_get_cap(const capnp_struct *s, uint16_t idx, uint32_t *cap);
/* AnyPointer field. */
int capnp_get_ptr(const capnp_struct *s, uint16_t idx, capnp_ptr *out);

/* ---- list elements --------------------------------------------------
 * Primitive getters return 0 for i >= len or an element too narrow. */
static inline uint32_t capnp_list_len(const capnp_list *l)
{
    return l->len;
}
bool capnp_list_get_bool(const capnp_list *l, uint32_t i);
uint8_t capnp_list_get_u8(const capnp_list *l, uint32_t i);
uint16_t capnp_list_get_u16(const capnp_list *l, uint32_t i);
uint32_t capnp_list_get_u32(const capnp_list *l, uint32_t i);
uint64_t capnp_list_get_u64(const capnp_list *l, uint32_t i);
float capnp_list_get_f32(const capnp_list *l, uint32_t i);
double capnp_list_get_f64(const capnp_list *l, uint32_t i);
static inline int8_t capnp_list_get_i8(const capnp_list *l, uint32_t i)
{
    return (int8_t)capnp_list_get_u8(l, i);
}
static inline int16_t capnp_list_get_i16(const capnp_list *l, uint32_t i)
{
    return (int16_t)capnp_list_get_u16(l, i);
}
static inline int32_t capnp_list_get_i32(const capnp_list *l, uint32_t i)
{
    return (int32_t)capnp_list_get_u32(l, i);
}
static inline int64_t capnp_list_get_i64(const capnp_list *l, uint32_t i)
{
    return (int64_t)capnp_list_get_u64(l, i);
}

/* Element i of a struct list (any non-bit list), no extra traversal charge.
 * CAPNP_E_BOUNDS if i >= len, CAPNP_E_TYPE for a bit list. */
int capnp_list_get_struct(const capnp_list *l, uint32_t i, capnp_struct *out);
/* Pointer elements (List(List), List(Text), List(Data), List(Interface),
 * or pointer 0 of composite elements). i >= len: CAPNP_E_BOUNDS. */
int capnp_list_get_list(const capnp_list *l, uint32_t i, unsigned elem,
                        capnp_list *out);
int capnp_list_get_text(const capnp_list *l, uint32_t i, const char **str,
                        size_t *len);
int capnp_list_get_data(const capnp_list *l, uint32_t i, const uint8_t **data,
                        size_t *len);
int capnp_list_get_cap(const capnp_list *l, uint32_t i, uint32_t *cap);
int capnp_list_get_ptr(const capnp_list *l, uint32_t i, capnp_ptr *out);

/* ------------------------------------------------------------------ */
/* Builder                                                             */
/* ------------------------------------------------------------------ */

typedef struct capnp_builder {
    uint8_t *buf;       /* 8-byte segment table, then the segment */
    uint32_t cap_words; /* segment capacity in words */
    uint32_t used;      /* segment words allocated */
    int err;            /* first error, sticky */
} capnp_builder;

/* A struct being built: data section at word `data` of the segment,
 * pointer section right after it. */
typedef struct capnp_struct_builder {
    capnp_builder *b;
    uint32_t data;
    uint16_t data_words;
    uint16_t nptrs;
} capnp_struct_builder;

/* A list being built: first element at word `start` (after the tag for
 * CAPNP_ELEM_COMPOSITE). */
typedef struct capnp_list_builder {
    capnp_builder *b;
    uint32_t start;
    uint32_t len;
    uint8_t elem;
    uint16_t data_words; /* composite elements */
    uint16_t nptrs;
} capnp_list_builder;

/* Start a message in buf[0..len). Anything smaller than 16 bytes, or a buf
 * of NULL, makes the builder fail with CAPNP_E_NOSPACE at the first
 * allocation. The builder owns buf until capnp_finish. */
void capnp_builder_init(capnp_builder *b, void *buf, size_t len);

/* Allocate the root pointer (word 0) and a root struct. */
int capnp_init_root(capnp_builder *b, uint16_t data_words, uint16_t nptrs,
                    capnp_struct_builder *root);

/*
 * Finish: write the one-segment table. On success the framed message is
 * buf[0..*len) (the buffer given to capnp_builder_init). Returns the first
 * error of the build (then *len = 0).
 */
int capnp_finish(capnp_builder *b, size_t *len);
/* Same, without the table: *seg = buf + 8, *len = segment bytes. */
int capnp_finish_flat(capnp_builder *b, const uint8_t **seg, size_t *len);

/* ---- primitive fields: store value XOR def. An offset outside the data
 * section is misuse: the builder fails with CAPNP_E_INVAL. */
void capnp_set_bool(capnp_struct_builder *s, uint32_t bit_off, bool v,
                    bool def);
void capnp_set_u8(capnp_struct_builder *s, uint32_t off, uint8_t v,
                  uint8_t def);
void capnp_set_u16(capnp_struct_builder *s, uint32_t off, uint16_t v,
                   uint16_t def);
void capnp_set_u32(capnp_struct_builder *s, uint32_t off, uint32_t v,
                   uint32_t def);
void capnp_set_u64(capnp_struct_builder *s, uint32_t off, uint64_t v,
                   uint64_t def);
void capnp_set_f32(capnp_struct_builder *s, uint32_t off, float v,
                   uint32_t def_bits);
void capnp_set_f64(capnp_struct_builder *s, uint32_t off, double v,
                   uint64_t def_bits);
static inline void capnp_set_i8(capnp_struct_builder *s, uint32_t off, int8_t v,
                                int8_t def)
{
    capnp_set_u8(s, off, (uint8_t)v, (uint8_t)def);
}
static inline void capnp_set_i16(capnp_struct_builder *s, uint32_t off,
                                 int16_t v, int16_t def)
{
    capnp_set_u16(s, off, (uint16_t)v, (uint16_t)def);
}
static inline void capnp_set_i32(capnp_struct_builder *s, uint32_t off,
                                 int32_t v, int32_t def)
{
    capnp_set_u32(s, off, (uint32_t)v, (uint32_t)def);
}
static inline void capnp_set_i64(capnp_struct_builder *s, uint32_t off,
                                 int64_t v, int64_t def)
{
    capnp_set_u64(s, off, (uint64_t)v, (uint64_t)def);
}

/* ---- pointer fields: each allocates fresh space and points idx at it
 * (setting a pointer twice leaves the old target as unreachable zeroes).
 * idx >= nptrs: CAPNP_E_INVAL. */
int capnp_init_struct(capnp_struct_builder *s, uint16_t idx,
                      uint16_t data_words, uint16_t nptrs,
                      capnp_struct_builder *out);
/* A list of VOID, BIT, BYTE..EIGHT_BYTES or POINTER elements. */
int capnp_init_list(capnp_struct_builder *s, uint16_t idx, unsigned elem,
                    uint32_t count, capnp_list_builder *out);
/* A List(struct): tag word plus count elements of the given size. */
int capnp_init_struct_list(capnp_struct_builder *s, uint16_t idx,
                           uint32_t count, uint16_t data_words, uint16_t nptrs,
                           capnp_list_builder *out);
/* Copies len bytes plus a NUL (str need not be NUL-terminated). */
int capnp_set_text(capnp_struct_builder *s, uint16_t idx, const char *str,
                   size_t len);
int capnp_set_data(capnp_struct_builder *s, uint16_t idx, const void *data,
                   size_t len);
/* Capability pointer to cap-table index cap. */
int capnp_set_cap(capnp_struct_builder *s, uint16_t idx, uint32_t cap);
/* Make pointer idx null. */
int capnp_set_null(capnp_struct_builder *s, uint16_t idx);

/* ---- list elements. i >= len or the wrong element size: CAPNP_E_INVAL
 * (sticky). Primitive setters store the value as is (no defaults in
 * lists). */
void capnp_list_set_bool(capnp_list_builder *l, uint32_t i, bool v);
void capnp_list_set_u8(capnp_list_builder *l, uint32_t i, uint8_t v);
void capnp_list_set_u16(capnp_list_builder *l, uint32_t i, uint16_t v);
void capnp_list_set_u32(capnp_list_builder *l, uint32_t i, uint32_t v);
void capnp_list_set_u64(capnp_list_builder *l, uint32_t i, uint64_t v);
void capnp_list_set_f32(capnp_list_builder *l, uint32_t i, float v);
void capnp_list_set_f64(capnp_list_builder *l, uint32_t i, double v);
static inline void capnp_list_set_i8(capnp_list_builder *l, uint32_t i,
                                     int8_t v)
{
    capnp_list_set_u8(l, i, (uint8_t)v);
}
static inline void capnp_list_set_i16(capnp_list_builder *l, uint32_t i,
                                      int16_t v)
{
    capnp_list_set_u16(l, i, (uint16_t)v);
}
static inline void capnp_list_set_i32(capnp_list_builder *l, uint32_t i,
                                      int32_t v)
{
    capnp_list_set_u32(l, i, (uint32_t)v);
}
static inline void capnp_list_set_i64(capnp_list_builder *l, uint32_t i,
                                      int64_t v)
{
    capnp_list_set_u64(l, i, (uint64_t)v);
}

/* Element i of a List(struct) as a struct builder (no allocation). */
int capnp_list_struct_at(capnp_list_builder *l, uint32_t i,
                         capnp_struct_builder *out);
/* Pointer elements of a POINTER list. */
int capnp_list_init_struct(capnp_list_builder *l, uint32_t i,
                           uint16_t data_words, uint16_t nptrs,
                           capnp_struct_builder *out);
int capnp_list_init_list(capnp_list_builder *l, uint32_t i, unsigned elem,
                         uint32_t count, capnp_list_builder *out);
int capnp_list_init_struct_list(capnp_list_builder *l, uint32_t i,
                                uint32_t count, uint16_t data_words,
                                uint16_t nptrs, capnp_list_builder *out);
int capnp_list_set_text(capnp_list_builder *l, uint32_t i, const char *str,
                        size_t len);
int capnp_list_set_data(capnp_list_builder *l, uint32_t i, const void *data,
                        size_t len);
int capnp_list_set_cap(capnp_list_builder *l, uint32_t i, uint32_t cap);

#endif /* CAPOS_CAPNP_H */
