/*
 * capnp_build.c - the builder half of the Cap'n Proto wire-format codec
 * (include/capos/capnp.h): messages written into a caller's buffer,
 * struct fields, pointer fields and list elements. Errors are sticky in
 * the builder. The reader is lib/capnp.c.
 *
 * Shared by capos-rt and the kernel model, so freestanding C11: no libc
 * beyond what __builtin_memcpy/__builtin_memset may call.
 */
#include "capnp_wire.h"

void capnp_builder_init(capnp_builder *b, void *buf, size_t len)
{
    b->buf = buf;
    b->used = 0;
    b->err = CAPNP_OK;
    b->cap_words = 0;
    if (buf != NULL && len >= 16) {
        size_t w = (len - 8) / 8;
        b->cap_words = w > MAX_SEGMENT_WORDS ? MAX_SEGMENT_WORDS : (uint32_t)w;
    }
}

static inline int fail(capnp_builder *b, int err)
{
    if (b->err == CAPNP_OK)
        b->err = err;
    return b->err;
}

/* Byte address of segment word w. */
static inline uint8_t *word_at(const capnp_builder *b, uint32_t w)
{
    return b->buf + 8 + (size_t)w * 8;
}

/* Allocate `words` words, not cleared; *at = first word index. */
static int alloc_raw(capnp_builder *b, uint64_t words, uint32_t *at)
{
    if (b->err != CAPNP_OK)
        return b->err;
    if (words > (uint64_t)(b->cap_words - b->used))
        return fail(b, CAPNP_E_NOSPACE);
    *at = b->used;
    b->used += (uint32_t)words;
    return CAPNP_OK;
}

/* Allocate `words` zeroed words; *at = first word index. */
static int alloc(capnp_builder *b, uint64_t words, uint32_t *at)
{
    int rc = alloc_raw(b, words, at);
    if (rc == CAPNP_OK)
        __builtin_memset(word_at(b, *at), 0, (size_t)words * 8);
    return rc;
}

/* Write a struct or list pointer at word `at` pointing at word `target`
 * (targets are allocated after their pointers, except the -1 of a
 * zero-sized struct, so the offset always fits in 30 bits). */
static void put_ptr(capnp_builder *b, uint32_t at, uint32_t kind,
                    int64_t target, uint32_t hi)
{
    int64_t off = target - (int64_t)at - 1;
    uint32_t lo = ((uint32_t)off << 2) | kind;
    st64(word_at(b, at), (uint64_t)lo | (uint64_t)hi << 32);
}

static void dead_struct(capnp_builder *b, capnp_struct_builder *out)
{
    out->b = b;
    out->data = 0;
    out->data_words = 0;
    out->nptrs = 0;
}

static void dead_list(capnp_builder *b, capnp_list_builder *out)
{
    out->b = b;
    out->start = 0;
    out->len = 0;
    out->elem = CAPNP_ELEM_VOID;
    out->data_words = 0;
    out->nptrs = 0;
}

/* ---- pointer slots: a struct field or a pointer-list element ----------
 * struct_slot and list_slot return the word index of the pointer slot, or
 * a (negative) CAPNP_E_* error: the builder's sticky one, or CAPNP_E_INVAL
 * for an index outside the struct's pointers or the list. The slot_*
 * writers below take that result as it is and return its error
 * untouched, so each public setter is one lookup and one write. */

static int64_t struct_slot(capnp_struct_builder *s, uint16_t idx)
{
    if (s->b->err != CAPNP_OK)
        return s->b->err;
    if (idx >= s->nptrs)
        return fail(s->b, CAPNP_E_INVAL);
    return (int64_t)s->data + s->data_words + idx;
}

static int64_t list_slot(capnp_list_builder *l, uint32_t i)
{
    if (l->b->err != CAPNP_OK)
        return l->b->err;
    if (l->elem != CAPNP_ELEM_POINTER || i >= l->len)
        return fail(l->b, CAPNP_E_INVAL);
    return (int64_t)l->start + i;
}

static int slot_init_struct(capnp_builder *b, int64_t slot, uint16_t dw,
                            uint16_t np, capnp_struct_builder *out)
{
    uint32_t at;
    int rc;

    dead_struct(b, out);
    if (slot < 0)
        return (int)slot;
    if ((rc = alloc(b, (uint64_t)dw + np, &at)) != CAPNP_OK)
        return rc;
    /* A zero-sized struct points at offset -1 (upstream), so its pointer
     * word is never all zeroes, which would read as null. */
    int64_t target = (dw == 0 && np == 0) ? slot : at;
    put_ptr(b, (uint32_t)slot, KIND_STRUCT, target,
            (uint32_t)dw | (uint32_t)np << 16);
    out->data = at;
    out->data_words = dw;
    out->nptrs = np;
    return CAPNP_OK;
}

static int slot_init_list(capnp_builder *b, int64_t slot, unsigned elem,
                          uint32_t count, capnp_list_builder *out)
{
    uint32_t at;
    int rc;

    dead_list(b, out);
    if (slot < 0)
        return (int)slot;
    if (elem >= CAPNP_ELEM_COMPOSITE || count > CAPNP_MAX_LIST_LEN)
        return fail(b, CAPNP_E_INVAL);
    uint64_t bits =
        (uint64_t)count * (elem_data_bits[elem] + 64u * elem_ptrs[elem]);
    if ((rc = alloc(b, (bits + 63) / 64, &at)) != CAPNP_OK)
        return rc;
    put_ptr(b, (uint32_t)slot, KIND_LIST, at, (uint32_t)elem | count << 3);
    out->start = at;
    out->len = count;
    out->elem = (uint8_t)elem;
    return CAPNP_OK;
}

static int slot_init_struct_list(capnp_builder *b, int64_t slot, uint32_t count,
                                 uint16_t dw, uint16_t np,
                                 capnp_list_builder *out)
{
    uint32_t at;
    int rc;

    dead_list(b, out);
    if (slot < 0)
        return (int)slot;
    uint64_t words = (uint64_t)count * ((uint64_t)dw + np);
    if (count > CAPNP_MAX_LIST_LEN || words > CAPNP_MAX_LIST_LEN)
        return fail(b, CAPNP_E_INVAL);
    if ((rc = alloc(b, words + 1, &at)) != CAPNP_OK)
        return rc;
    /* Tag: a struct pointer whose offset field holds the element count. */
    st64(word_at(b, at), (uint64_t)(count << 2 | KIND_STRUCT) |
                             ((uint64_t)dw | (uint64_t)np << 16) << 32);
    put_ptr(b, (uint32_t)slot, KIND_LIST, at,
            CAPNP_ELEM_COMPOSITE | (uint32_t)words << 3);
    out->start = at + 1;
    out->len = count;
    out->elem = CAPNP_ELEM_COMPOSITE;
    out->data_words = dw;
    out->nptrs = np;
    return CAPNP_OK;
}

static int slot_set_bytes(capnp_builder *b, int64_t slot, const void *src,
                          size_t len, bool text)
{
    uint32_t at;
    int rc;

    if (slot < 0)
        return (int)slot;
    uint64_t n = (uint64_t)len + (text ? 1 : 0);
    if (n > CAPNP_MAX_LIST_LEN || (len != 0 && src == NULL))
        return fail(b, CAPNP_E_INVAL);
    uint64_t words = (n + 7) / 8;
    if ((rc = alloc_raw(b, words, &at)) != CAPNP_OK)
        return rc;
    /* Copy, then zero the rest of the last word: text's NUL and the
     * padding (clearing the whole allocation first would touch it twice). */
    uint8_t *dst = word_at(b, at);
    if (len != 0)
        __builtin_memcpy(dst, src, len);
    __builtin_memset(dst + len, 0, (size_t)(words * 8 - len));
    put_ptr(b, (uint32_t)slot, KIND_LIST, at,
            CAPNP_ELEM_BYTE | (uint32_t)n << 3);
    return CAPNP_OK;
}

static int slot_set_cap(capnp_builder *b, int64_t slot, uint32_t cap)
{
    if (slot < 0)
        return (int)slot;
    st64(word_at(b, (uint32_t)slot), KIND_OTHER | (uint64_t)cap << 32);
    return CAPNP_OK;
}

/* ---- messages ---------------------------------------------------------- */

int capnp_init_root(capnp_builder *b, uint16_t data_words, uint16_t nptrs,
                    capnp_struct_builder *root)
{
    uint32_t at;
    int rc;

    dead_struct(b, root);
    if (b->err == CAPNP_OK && b->used != 0)
        return fail(b, CAPNP_E_INVAL);
    if ((rc = alloc(b, 1, &at)) != CAPNP_OK)
        return rc;
    return slot_init_struct(b, at, data_words, nptrs, root);
}

/* Make sure a message has its root word (a null root if none was set). */
static int finish_common(capnp_builder *b)
{
    uint32_t at;
    if (b->err == CAPNP_OK && b->used == 0)
        alloc(b, 1, &at);
    return b->err;
}

int capnp_finish(capnp_builder *b, size_t *len)
{
    *len = 0;
    if (finish_common(b) != CAPNP_OK)
        return b->err;
    st32(b->buf, 0); /* segment count - 1 */
    st32(b->buf + 4, b->used);
    *len = 8 + (size_t)b->used * 8;
    return CAPNP_OK;
}

int capnp_finish_flat(capnp_builder *b, const uint8_t **seg, size_t *len)
{
    *seg = NULL;
    *len = 0;
    if (finish_common(b) != CAPNP_OK)
        return b->err;
    *seg = b->buf + 8;
    *len = (size_t)b->used * 8;
    return CAPNP_OK;
}

/* ---- primitive fields -------------------------------------------------- */

/* Address of the width-byte field at off, or NULL (and a sticky error). */
static uint8_t *field_at(capnp_struct_builder *s, uint32_t off, uint32_t width)
{
    if (s->b->err != CAPNP_OK)
        return NULL;
    if ((uint64_t)off + width > (uint64_t)s->data_words * 8) {
        fail(s->b, CAPNP_E_INVAL);
        return NULL;
    }
    return word_at(s->b, s->data) + off;
}

void capnp_set_bool(capnp_struct_builder *s, uint32_t bit_off, bool v, bool def)
{
    uint8_t *p = field_at(s, bit_off / 8, 1);
    if (p == NULL)
        return;
    uint8_t mask = (uint8_t)(1u << (bit_off % 8));
    if (v != def)
        *p |= mask;
    else
        *p &= (uint8_t)~mask;
}

void capnp_set_u8(capnp_struct_builder *s, uint32_t off, uint8_t v, uint8_t def)
{
    uint8_t *p = field_at(s, off, 1);
    if (p != NULL)
        *p = (uint8_t)(v ^ def);
}

void capnp_set_u16(capnp_struct_builder *s, uint32_t off, uint16_t v,
                   uint16_t def)
{
    uint8_t *p = field_at(s, off, 2);
    if (p != NULL)
        st16(p, (uint16_t)(v ^ def));
}

void capnp_set_u32(capnp_struct_builder *s, uint32_t off, uint32_t v,
                   uint32_t def)
{
    uint8_t *p = field_at(s, off, 4);
    if (p != NULL)
        st32(p, v ^ def);
}

void capnp_set_u64(capnp_struct_builder *s, uint32_t off, uint64_t v,
                   uint64_t def)
{
    uint8_t *p = field_at(s, off, 8);
    if (p != NULL)
        st64(p, v ^ def);
}

void capnp_set_f32(capnp_struct_builder *s, uint32_t off, float v,
                   uint32_t def_bits)
{
    capnp_set_u32(s, off, capnp_f32_bits(v), def_bits);
}

void capnp_set_f64(capnp_struct_builder *s, uint32_t off, double v,
                   uint64_t def_bits)
{
    capnp_set_u64(s, off, capnp_f64_bits(v), def_bits);
}

/* ---- pointer fields ---------------------------------------------------- */

int capnp_init_struct(capnp_struct_builder *s, uint16_t idx,
                      uint16_t data_words, uint16_t nptrs,
                      capnp_struct_builder *out)
{
    return slot_init_struct(s->b, struct_slot(s, idx), data_words, nptrs, out);
}

int capnp_init_list(capnp_struct_builder *s, uint16_t idx, unsigned elem,
                    uint32_t count, capnp_list_builder *out)
{
    return slot_init_list(s->b, struct_slot(s, idx), elem, count, out);
}

int capnp_init_struct_list(capnp_struct_builder *s, uint16_t idx,
                           uint32_t count, uint16_t data_words, uint16_t nptrs,
                           capnp_list_builder *out)
{
    return slot_init_struct_list(s->b, struct_slot(s, idx), count, data_words,
                                 nptrs, out);
}

int capnp_set_text(capnp_struct_builder *s, uint16_t idx, const char *str,
                   size_t len)
{
    return slot_set_bytes(s->b, struct_slot(s, idx), str, len, true);
}

int capnp_set_data(capnp_struct_builder *s, uint16_t idx, const void *data,
                   size_t len)
{
    return slot_set_bytes(s->b, struct_slot(s, idx), data, len, false);
}

int capnp_set_cap(capnp_struct_builder *s, uint16_t idx, uint32_t cap)
{
    return slot_set_cap(s->b, struct_slot(s, idx), cap);
}

int capnp_set_null(capnp_struct_builder *s, uint16_t idx)
{
    int64_t slot = struct_slot(s, idx);
    if (slot < 0)
        return (int)slot;
    st64(word_at(s->b, (uint32_t)slot), 0);
    return CAPNP_OK;
}

/* ---- list elements ----------------------------------------------------- */

/* Address of primitive element i of a list of elem, or NULL (sticky
 * CAPNP_E_INVAL on a wrong element size or index). */
static uint8_t *list_elem_at(capnp_list_builder *l, uint32_t i, unsigned elem)
{
    if (l->b->err != CAPNP_OK)
        return NULL;
    if (l->elem != elem || i >= l->len) {
        fail(l->b, CAPNP_E_INVAL);
        return NULL;
    }
    uint64_t bit = (uint64_t)i * elem_data_bits[elem];
    return word_at(l->b, l->start) + bit / 8;
}

void capnp_list_set_bool(capnp_list_builder *l, uint32_t i, bool v)
{
    uint8_t *p = list_elem_at(l, i, CAPNP_ELEM_BIT);
    if (p == NULL)
        return;
    uint8_t mask = (uint8_t)(1u << (i % 8));
    if (v)
        *p |= mask;
    else
        *p &= (uint8_t)~mask;
}

void capnp_list_set_u8(capnp_list_builder *l, uint32_t i, uint8_t v)
{
    uint8_t *p = list_elem_at(l, i, CAPNP_ELEM_BYTE);
    if (p != NULL)
        *p = v;
}

void capnp_list_set_u16(capnp_list_builder *l, uint32_t i, uint16_t v)
{
    uint8_t *p = list_elem_at(l, i, CAPNP_ELEM_TWO_BYTES);
    if (p != NULL)
        st16(p, v);
}

void capnp_list_set_u32(capnp_list_builder *l, uint32_t i, uint32_t v)
{
    uint8_t *p = list_elem_at(l, i, CAPNP_ELEM_FOUR_BYTES);
    if (p != NULL)
        st32(p, v);
}

void capnp_list_set_u64(capnp_list_builder *l, uint32_t i, uint64_t v)
{
    uint8_t *p = list_elem_at(l, i, CAPNP_ELEM_EIGHT_BYTES);
    if (p != NULL)
        st64(p, v);
}

void capnp_list_set_f32(capnp_list_builder *l, uint32_t i, float v)
{
    capnp_list_set_u32(l, i, capnp_f32_bits(v));
}

void capnp_list_set_f64(capnp_list_builder *l, uint32_t i, double v)
{
    capnp_list_set_u64(l, i, capnp_f64_bits(v));
}

int capnp_list_struct_at(capnp_list_builder *l, uint32_t i,
                         capnp_struct_builder *out)
{
    dead_struct(l->b, out);
    if (l->b->err != CAPNP_OK)
        return l->b->err;
    if (l->elem != CAPNP_ELEM_COMPOSITE || i >= l->len)
        return fail(l->b, CAPNP_E_INVAL);
    out->data = l->start + i * ((uint32_t)l->data_words + l->nptrs);
    out->data_words = l->data_words;
    out->nptrs = l->nptrs;
    return CAPNP_OK;
}

int capnp_list_init_struct(capnp_list_builder *l, uint32_t i,
                           uint16_t data_words, uint16_t nptrs,
                           capnp_struct_builder *out)
{
    return slot_init_struct(l->b, list_slot(l, i), data_words, nptrs, out);
}

int capnp_list_init_list(capnp_list_builder *l, uint32_t i, unsigned elem,
                         uint32_t count, capnp_list_builder *out)
{
    return slot_init_list(l->b, list_slot(l, i), elem, count, out);
}

int capnp_list_init_struct_list(capnp_list_builder *l, uint32_t i,
                                uint32_t count, uint16_t data_words,
                                uint16_t nptrs, capnp_list_builder *out)
{
    return slot_init_struct_list(l->b, list_slot(l, i), count, data_words,
                                 nptrs, out);
}

int capnp_list_set_text(capnp_list_builder *l, uint32_t i, const char *str,
                        size_t len)
{
    return slot_set_bytes(l->b, list_slot(l, i), str, len, true);
}

int capnp_list_set_data(capnp_list_builder *l, uint32_t i, const void *data,
                        size_t len)
{
    return slot_set_bytes(l->b, list_slot(l, i), data, len, false);
}

int capnp_list_set_cap(capnp_list_builder *l, uint32_t i, uint32_t cap)
{
    return slot_set_cap(l->b, list_slot(l, i), cap);
}
