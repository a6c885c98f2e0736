/*
 * capnp.c - the Cap'n Proto wire-format codec (include/capos/capnp.h).
 *
 * Shared by capos-rt and the kernel model, so freestanding C11: no libc
 * beyond what __builtin_memcpy/__builtin_memset may call.
 *
 * Trust boundary: every byte of a message being read is untrusted. Word
 * indices and sizes taken from the wire are widened to 64 bits before any
 * arithmetic and checked against the segment before anything is read.
 * Words are loaded byte by byte, so messages need no alignment and the
 * codec is right on any host byte order.
 */
#include "capos/capnp.h"

#define KIND_STRUCT 0u
#define KIND_LIST 1u
#define KIND_FAR 2u
#define KIND_OTHER 3u

/* Pointer offsets are 30-bit signed words; keep every segment addressable. */
#define MAX_SEGMENT_WORDS ((1u << 29) - 1u)

/* ------------------------------------------------------------------ */
/* Little-endian loads and stores                                      */
/* ------------------------------------------------------------------ */

static inline uint16_t ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t ld64(const uint8_t *p)
{
    return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static inline void st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void st64(uint8_t *p, uint64_t v)
{
    st32(p, (uint32_t)v);
    st32(p + 4, (uint32_t)(v >> 32));
}

/* The signed 30-bit offset of a struct or list pointer, without relying on
 * implementation-defined signed shifts. */
static inline int64_t ptr_offset(uint64_t w)
{
    int64_t v = (int64_t)((uint32_t)w >> 2);
    return (v ^ 0x20000000) - 0x20000000;
}

const char *capnp_strerror(int err)
{
    switch (err) {
    case CAPNP_OK:
        return "ok";
    case CAPNP_E_BOUNDS:
        return "pointer or index outside its segment or list";
    case CAPNP_E_TYPE:
        return "pointer kind or list element size is not what the schema "
               "expects";
    case CAPNP_E_DEPTH:
        return "message nested deeper than the nesting limit (or cyclic)";
    case CAPNP_E_TRAVERSAL:
        return "message read more words than the traversal limit allows";
    case CAPNP_E_NOSPACE:
        return "message does not fit in the builder's buffer";
    case CAPNP_E_FRAMING:
        return "segment table malformed or message truncated";
    case CAPNP_E_FAR:
        return "malformed far pointer or landing pad";
    case CAPNP_E_TEXT:
        return "text is not NUL-terminated inside its list";
    case CAPNP_E_INVAL:
        return "invalid use of the codec API";
    default:
        return "unknown capnp error";
    }
}

/* ------------------------------------------------------------------ */
/* Reader: messages                                                    */
/* ------------------------------------------------------------------ */

static void msg_reset(capnp_message *m, const capnp_read_options *opt)
{
    m->nseg = 0;
    m->bytes = 0;
    m->traversal_left = CAPNP_DEFAULT_TRAVERSAL_WORDS;
    m->nesting_limit = CAPNP_DEFAULT_NESTING;
    if (opt != NULL && opt->traversal_limit_words != 0)
        m->traversal_left = opt->traversal_limit_words;
    if (opt != NULL && opt->nesting_limit != 0)
        m->nesting_limit = opt->nesting_limit;
}

int capnp_msg_init(capnp_message *m, const void *buf, size_t len,
                   const capnp_read_options *opt)
{
    const uint8_t *p = buf;

    msg_reset(m, opt);
    if (p == NULL || len < 8)
        return CAPNP_E_FRAMING;
    uint64_t n = (uint64_t)ld32(p) + 1;
    if (n > CAPNP_MAX_SEGMENTS)
        return CAPNP_E_FRAMING;
    size_t off = (size_t)((4 + 4 * n + 7) & ~(uint64_t)7);
    if (len < off)
        return CAPNP_E_FRAMING;
    for (uint32_t i = 0; i < (uint32_t)n; i++) {
        uint32_t w = ld32(p + 4 + 4 * i);
        /* Divide rather than multiply: no overflow on 32-bit size_t. */
        if (w > (len - off) / 8 || w > MAX_SEGMENT_WORDS)
            return CAPNP_E_FRAMING;
        m->seg[i] = p + off;
        m->seg_words[i] = w;
        off += (size_t)w * 8;
    }
    m->nseg = (uint32_t)n;
    m->bytes = off;
    return CAPNP_OK;
}

int capnp_msg_init_flat(capnp_message *m, const void *buf, size_t len,
                        const capnp_read_options *opt)
{
    msg_reset(m, opt);
    if (buf == NULL || len % 8 != 0 || len / 8 > MAX_SEGMENT_WORDS)
        return CAPNP_E_FRAMING;
    m->seg[0] = buf;
    m->seg_words[0] = (uint32_t)(len / 8);
    m->nseg = 1;
    m->bytes = len;
    return CAPNP_OK;
}

/* Charge words of dereferenced content against the traversal limit. */
static int charge(capnp_message *m, uint64_t words)
{
    if (words > m->traversal_left) {
        m->traversal_left = 0;
        return CAPNP_E_TRAVERSAL;
    }
    m->traversal_left -= words;
    return CAPNP_OK;
}

/* ------------------------------------------------------------------ */
/* Reader: pointer resolution                                          */
/* ------------------------------------------------------------------ */

/* Where a (non-null, non-capability) pointer leads: the wire word that
 * describes the target (the pointer itself or its landing pad's tag), the
 * target's segment and its word index there (possibly out of range: the
 * caller bounds-checks it together with the target's size). */
struct target {
    uint64_t wire;
    uint32_t seg;
    int64_t word;
};

/*
 * Resolve the pointer stored at pp (inside segment seg): follow a single
 * or double far pointer to its landing pad. Returns CAPNP_E_BOUNDS for a
 * landing pad outside its segment or an unknown segment, CAPNP_E_FAR for a
 * landing pad of the wrong shape, CAPNP_E_TYPE for a capability or
 * reserved pointer.
 */
static int resolve(const capnp_message *m, uint32_t seg, const uint8_t *pp,
                   struct target *t)
{
    uint64_t w = ld64(pp);
    uint32_t kind = (uint32_t)w & 3u;

    if (kind == KIND_STRUCT || kind == KIND_LIST) {
        int64_t here = (int64_t)((pp - m->seg[seg]) / 8);
        t->wire = w;
        t->seg = seg;
        t->word = here + 1 + ptr_offset(w);
        return CAPNP_OK;
    }
    if (kind == KIND_OTHER)
        return CAPNP_E_TYPE;

    /* Far pointer: B = landing pad word index, D = double, segment id. */
    uint32_t pad_seg = (uint32_t)(w >> 32);
    uint64_t pad = ((uint32_t)w) >> 3;
    bool dbl = (w >> 2) & 1u;
    if (pad_seg >= m->nseg)
        return CAPNP_E_BOUNDS;
    if (pad + (dbl ? 2 : 1) > m->seg_words[pad_seg])
        return CAPNP_E_BOUNDS;
    const uint8_t *pw = m->seg[pad_seg] + pad * 8;
    uint64_t p0 = ld64(pw);

    if (!dbl) {
        /* The landing pad is an ordinary pointer to content in its own
         * segment; another far pointer or a capability is not allowed. */
        uint32_t k = (uint32_t)p0 & 3u;
        if (k != KIND_STRUCT && k != KIND_LIST)
            return CAPNP_E_FAR;
        t->wire = p0;
        t->seg = pad_seg;
        t->word = (int64_t)pad + 1 + ptr_offset(p0);
        return CAPNP_OK;
    }

    /* Double far: the pad is a single far pointer to the content's start
     * and a tag word describing it (the tag's offset is ignored). */
    uint64_t tag = ld64(pw + 8);
    uint32_t tk = (uint32_t)tag & 3u;
    if (((uint32_t)p0 & 7u) != KIND_FAR ||
        (tk != KIND_STRUCT && tk != KIND_LIST))
        return CAPNP_E_FAR;
    uint32_t cseg = (uint32_t)(p0 >> 32);
    if (cseg >= m->nseg)
        return CAPNP_E_BOUNDS;
    t->wire = tag;
    t->seg = cseg;
    t->word = (int64_t)(((uint32_t)p0) >> 3);
    return CAPNP_OK;
}

/* True if [word, word+n) lies inside segment seg. */
static inline bool in_segment(const capnp_message *m, uint32_t seg,
                              int64_t word, uint64_t n)
{
    return word >= 0 && (uint64_t)word <= m->seg_words[seg] &&
           n <= m->seg_words[seg] - (uint64_t)word;
}

static void empty_struct(capnp_message *m, int32_t nesting, capnp_struct *out)
{
    out->msg = m;
    out->data = NULL;
    out->ptrs = NULL;
    out->seg = 0;
    out->data_bytes = 0;
    out->nptrs = 0;
    out->nesting = nesting;
}

static void empty_list(capnp_message *m, unsigned elem, int32_t nesting,
                       capnp_list *out)
{
    out->msg = m;
    out->base = NULL;
    out->seg = 0;
    out->len = 0;
    out->step_bits = 0;
    out->data_bits = 0;
    out->nptrs = 0;
    out->elem = (uint8_t)(elem & 7u);
    out->nesting = nesting;
}

static int struct_at_target(capnp_message *m, const struct target *t,
                            int32_t nesting, capnp_struct *out)
{
    if (((uint32_t)t->wire & 3u) != KIND_STRUCT)
        return CAPNP_E_TYPE;
    uint32_t dw = (uint32_t)(t->wire >> 32) & 0xffffu;
    uint32_t np = (uint32_t)(t->wire >> 48);
    if (!in_segment(m, t->seg, t->word, (uint64_t)dw + np))
        return CAPNP_E_BOUNDS;
    int rc = charge(m, (uint64_t)dw + np);
    if (rc != CAPNP_OK)
        return rc;
    out->msg = m;
    out->data = m->seg[t->seg] + (uint64_t)t->word * 8;
    out->ptrs = out->data + (uint64_t)dw * 8;
    out->seg = t->seg;
    out->data_bytes = dw * 8;
    out->nptrs = (uint16_t)np;
    out->nesting = nesting - 1;
    return CAPNP_OK;
}

/* Bits of data and pointers per element of a non-composite list. */
static const uint8_t elem_data_bits[8] = {0, 1, 8, 16, 32, 64, 0, 0};
static const uint8_t elem_ptrs[8] = {0, 0, 0, 0, 0, 0, 1, 0};

#define ELEM_ANY 0xffu /* read_list: accept any encoding */

static int list_at_target(capnp_message *m, const struct target *t,
                          int32_t nesting, unsigned expected, capnp_list *out)
{
    if (((uint32_t)t->wire & 3u) != KIND_LIST)
        return CAPNP_E_TYPE;
    uint32_t elem = (uint32_t)(t->wire >> 32) & 7u;
    uint32_t count = (uint32_t)(t->wire >> 35);
    const uint8_t *segbase = m->seg[t->seg];
    int rc;

    if (elem == CAPNP_ELEM_COMPOSITE) {
        /* count is the word count of the elements, a tag word precedes. */
        if (!in_segment(m, t->seg, t->word, (uint64_t)count + 1))
            return CAPNP_E_BOUNDS;
        if ((rc = charge(m, (uint64_t)count + 1)) != CAPNP_OK)
            return rc;
        uint64_t tag = ld64(segbase + (uint64_t)t->word * 8);
        if (((uint32_t)tag & 3u) != KIND_STRUCT)
            return CAPNP_E_TYPE;
        uint32_t n = (uint32_t)tag >> 2;
        uint32_t dw = (uint32_t)(tag >> 32) & 0xffffu;
        uint32_t np = (uint32_t)(tag >> 48);
        uint64_t per = (uint64_t)dw + np;
        if ((uint64_t)n * per > count)
            return CAPNP_E_BOUNDS;
        /* Zero-sized elements cost nothing to send but are work to walk:
         * charge one word each (as the reference does). */
        if (per == 0 && (rc = charge(m, n)) != CAPNP_OK)
            return rc;
        switch (expected) {
        case ELEM_ANY:
        case CAPNP_ELEM_VOID:
        case CAPNP_ELEM_COMPOSITE:
            break;
        case CAPNP_ELEM_BIT:
            return CAPNP_E_TYPE;
        case CAPNP_ELEM_POINTER:
            if (np == 0)
                return CAPNP_E_TYPE;
            break;
        default:
            if (dw == 0)
                return CAPNP_E_TYPE;
            break;
        }
        out->msg = m;
        out->base = segbase + ((uint64_t)t->word + 1) * 8;
        out->seg = t->seg;
        out->len = n;
        out->step_bits = (uint32_t)per * 64;
        out->data_bits = dw * 64;
        out->nptrs = (uint16_t)np;
        out->elem = CAPNP_ELEM_COMPOSITE;
        out->nesting = nesting - 1;
        return CAPNP_OK;
    }

    uint32_t dbits = elem_data_bits[elem];
    uint32_t np = elem_ptrs[elem];
    uint32_t step = dbits + 64 * np;
    uint64_t words = ((uint64_t)count * step + 63) / 64;
    if (!in_segment(m, t->seg, t->word, words))
        return CAPNP_E_BOUNDS;
    if ((rc = charge(m, words)) != CAPNP_OK)
        return rc;
    if (elem == CAPNP_ELEM_VOID && (rc = charge(m, count)) != CAPNP_OK)
        return rc;
    if (expected == CAPNP_ELEM_COMPOSITE) {
        /* Upgrading bool lists to struct lists is not supported upstream. */
        if (elem == CAPNP_ELEM_BIT)
            return CAPNP_E_TYPE;
    } else if (expected != ELEM_ANY) {
        if (elem_data_bits[expected & 7u] > dbits ||
            elem_ptrs[expected & 7u] > np)
            return CAPNP_E_TYPE;
    }
    out->msg = m;
    out->base = segbase + (uint64_t)t->word * 8;
    out->seg = t->seg;
    out->len = count;
    out->step_bits = step;
    out->data_bits = dbits;
    out->nptrs = (uint16_t)np;
    out->elem = (uint8_t)elem;
    out->nesting = nesting - 1;
    return CAPNP_OK;
}

/* The pointer at pp (segment seg) as a struct; nesting is the holder's. */
static int read_struct(capnp_message *m, uint32_t seg, const uint8_t *pp,
                       int32_t nesting, capnp_struct *out)
{
    struct target t;
    int rc;

    empty_struct(m, nesting - 1, out);
    if (pp == NULL || ld64(pp) == 0)
        return CAPNP_OK;
    if (nesting <= 0)
        return CAPNP_E_DEPTH;
    if ((rc = resolve(m, seg, pp, &t)) != CAPNP_OK ||
        (rc = struct_at_target(m, &t, nesting, out)) != CAPNP_OK) {
        empty_struct(m, nesting - 1, out);
        return rc;
    }
    return CAPNP_OK;
}

static int read_list(capnp_message *m, uint32_t seg, const uint8_t *pp,
                     int32_t nesting, unsigned expected, capnp_list *out)
{
    struct target t;
    int rc;

    empty_list(m, expected, nesting - 1, out);
    if (expected != ELEM_ANY && expected > CAPNP_ELEM_COMPOSITE)
        return CAPNP_E_INVAL;
    if (pp == NULL || ld64(pp) == 0)
        return CAPNP_OK;
    if (nesting <= 0)
        return CAPNP_E_DEPTH;
    if ((rc = resolve(m, seg, pp, &t)) != CAPNP_OK ||
        (rc = list_at_target(m, &t, nesting, expected, out)) != CAPNP_OK) {
        empty_list(m, expected, nesting - 1, out);
        return rc;
    }
    return CAPNP_OK;
}

static const uint8_t empty_bytes[1] = {0};

/* Text and Data are byte lists exactly (no upgrades, as upstream). */
static int read_bytes(capnp_message *m, uint32_t seg, const uint8_t *pp,
                      int32_t nesting, bool text, const uint8_t **p,
                      size_t *len)
{
    capnp_list l;
    int rc;

    *p = empty_bytes;
    *len = 0;
    if (pp == NULL || ld64(pp) == 0)
        return CAPNP_OK;
    if ((rc = read_list(m, seg, pp, nesting, ELEM_ANY, &l)) != CAPNP_OK)
        return rc;
    if (l.elem != CAPNP_ELEM_BYTE)
        return CAPNP_E_TYPE;
    if (text) {
        if (l.len == 0 || l.base[l.len - 1] != 0)
            return CAPNP_E_TEXT;
        *p = l.base;
        *len = l.len - 1;
    } else {
        *p = l.len != 0 ? l.base : empty_bytes;
        *len = l.len;
    }
    return CAPNP_OK;
}

/* Capability pointers are never reached through far pointers (upstream). */
static int read_cap(const uint8_t *pp, uint32_t *cap)
{
    *cap = CAPNP_CAP_NULL;
    if (pp == NULL)
        return CAPNP_OK;
    uint64_t w = ld64(pp);
    if (w == 0)
        return CAPNP_OK;
    if ((uint32_t)w != KIND_OTHER)
        return CAPNP_E_TYPE;
    *cap = (uint32_t)(w >> 32);
    return CAPNP_OK;
}

static int read_any(capnp_message *m, uint32_t seg, const uint8_t *pp,
                    int32_t nesting, capnp_ptr *out)
{
    struct target t;
    int rc;

    out->kind = CAPNP_PTR_NULL;
    out->cap = CAPNP_CAP_NULL;
    empty_struct(m, nesting - 1, &out->s);
    empty_list(m, CAPNP_ELEM_VOID, nesting - 1, &out->l);
    if (pp == NULL)
        return CAPNP_OK;
    uint64_t w = ld64(pp);
    if (w == 0)
        return CAPNP_OK;
    if (((uint32_t)w & 3u) == KIND_OTHER) {
        if ((rc = read_cap(pp, &out->cap)) == CAPNP_OK)
            out->kind = CAPNP_PTR_CAP;
        return rc;
    }
    if (nesting <= 0)
        return CAPNP_E_DEPTH;
    if ((rc = resolve(m, seg, pp, &t)) != CAPNP_OK)
        return rc;
    if (((uint32_t)t.wire & 3u) == KIND_STRUCT) {
        rc = struct_at_target(m, &t, nesting, &out->s);
        if (rc == CAPNP_OK)
            out->kind = CAPNP_PTR_STRUCT;
        else
            empty_struct(m, nesting - 1, &out->s);
    } else {
        rc = list_at_target(m, &t, nesting, ELEM_ANY, &out->l);
        if (rc == CAPNP_OK)
            out->kind = CAPNP_PTR_LIST;
        else
            empty_list(m, CAPNP_ELEM_VOID, nesting - 1, &out->l);
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Reader: public entry points                                         */
/* ------------------------------------------------------------------ */

int capnp_msg_root(capnp_message *m, capnp_struct *root)
{
    empty_struct(m, 0, root);
    if (m->nseg == 0 || m->seg_words[0] == 0)
        return CAPNP_E_BOUNDS;
    return read_struct(m, 0, m->seg[0], (int32_t)m->nesting_limit, root);
}

int capnp_msg_root_ptr(capnp_message *m, capnp_ptr *out)
{
    if (m->nseg == 0 || m->seg_words[0] == 0) {
        read_any(m, 0, NULL, 0, out);
        return CAPNP_E_BOUNDS;
    }
    return read_any(m, 0, m->seg[0], (int32_t)m->nesting_limit, out);
}

/* Pointer idx of s, or NULL when outside the pointer section. */
static inline const uint8_t *field_ptr(const capnp_struct *s, uint16_t idx)
{
    return idx < s->nptrs ? s->ptrs + (size_t)idx * 8 : NULL;
}

bool capnp_get_bool(const capnp_struct *s, uint32_t bit_off, bool def)
{
    if (bit_off / 8 >= s->data_bytes)
        return def;
    return (bool)(((s->data[bit_off / 8] >> (bit_off % 8)) & 1u) ^
                  (def ? 1u : 0u));
}

/* True if the width-byte field at off lies inside the data section. */
static inline bool in_data(const capnp_struct *s, uint32_t off, uint32_t width)
{
    return (uint64_t)off + width <= s->data_bytes;
}

uint8_t capnp_get_u8(const capnp_struct *s, uint32_t off, uint8_t def)
{
    return in_data(s, off, 1) ? (uint8_t)(s->data[off] ^ def) : def;
}

uint16_t capnp_get_u16(const capnp_struct *s, uint32_t off, uint16_t def)
{
    return in_data(s, off, 2) ? (uint16_t)(ld16(s->data + off) ^ def) : def;
}

uint32_t capnp_get_u32(const capnp_struct *s, uint32_t off, uint32_t def)
{
    return in_data(s, off, 4) ? ld32(s->data + off) ^ def : def;
}

uint64_t capnp_get_u64(const capnp_struct *s, uint32_t off, uint64_t def)
{
    return in_data(s, off, 8) ? ld64(s->data + off) ^ def : def;
}

float capnp_get_f32(const capnp_struct *s, uint32_t off, uint32_t def_bits)
{
    return capnp_bits_f32(capnp_get_u32(s, off, def_bits));
}

double capnp_get_f64(const capnp_struct *s, uint32_t off, uint64_t def_bits)
{
    return capnp_bits_f64(capnp_get_u64(s, off, def_bits));
}

bool capnp_has_ptr(const capnp_struct *s, uint16_t idx)
{
    const uint8_t *pp = field_ptr(s, idx);
    return pp != NULL && ld64(pp) != 0;
}

int capnp_get_struct(const capnp_struct *s, uint16_t idx, capnp_struct *out)
{
    return read_struct(s->msg, s->seg, field_ptr(s, idx), s->nesting, out);
}

int capnp_get_list(const capnp_struct *s, uint16_t idx, unsigned elem,
                   capnp_list *out)
{
    return read_list(s->msg, s->seg, field_ptr(s, idx), s->nesting, elem, out);
}

int capnp_get_text(const capnp_struct *s, uint16_t idx, const char **str,
                   size_t *len)
{
    const uint8_t *p;
    int rc = read_bytes(s->msg, s->seg, field_ptr(s, idx), s->nesting, true, &p,
                        len);
    *str = (const char *)p;
    return rc;
}

int capnp_get_data(const capnp_struct *s, uint16_t idx, const uint8_t **data,
                   size_t *len)
{
    return read_bytes(s->msg, s->seg, field_ptr(s, idx), s->nesting, false,
                      data, len);
}

int capnp_get_cap(const capnp_struct *s, uint16_t idx, uint32_t *cap)
{
    return read_cap(field_ptr(s, idx), cap);
}

int capnp_get_ptr(const capnp_struct *s, uint16_t idx, capnp_ptr *out)
{
    return read_any(s->msg, s->seg, field_ptr(s, idx), s->nesting, out);
}

/* ---- list elements ---------------------------------------------------- */

/* Bit position of element i (i < len, so the product stays in range of
 * the bounds check done when the list was read). */
static inline uint64_t elem_bit(const capnp_list *l, uint32_t i)
{
    return (uint64_t)i * l->step_bits;
}

bool capnp_list_get_bool(const capnp_list *l, uint32_t i)
{
    if (i >= l->len || l->data_bits < 1)
        return false;
    uint64_t b = elem_bit(l, i);
    return (l->base[b / 8] >> (b % 8)) & 1u;
}

/* Start of element i's data if it holds at least bits of data. */
static inline const uint8_t *elem_data(const capnp_list *l, uint32_t i,
                                       uint32_t bits)
{
    if (i >= l->len || l->data_bits < bits)
        return NULL;
    return l->base + elem_bit(l, i) / 8;
}

uint8_t capnp_list_get_u8(const capnp_list *l, uint32_t i)
{
    const uint8_t *p = elem_data(l, i, 8);
    return p != NULL ? p[0] : 0;
}

uint16_t capnp_list_get_u16(const capnp_list *l, uint32_t i)
{
    const uint8_t *p = elem_data(l, i, 16);
    return p != NULL ? ld16(p) : 0;
}

uint32_t capnp_list_get_u32(const capnp_list *l, uint32_t i)
{
    const uint8_t *p = elem_data(l, i, 32);
    return p != NULL ? ld32(p) : 0;
}

uint64_t capnp_list_get_u64(const capnp_list *l, uint32_t i)
{
    const uint8_t *p = elem_data(l, i, 64);
    return p != NULL ? ld64(p) : 0;
}

float capnp_list_get_f32(const capnp_list *l, uint32_t i)
{
    return capnp_bits_f32(capnp_list_get_u32(l, i));
}

double capnp_list_get_f64(const capnp_list *l, uint32_t i)
{
    return capnp_bits_f64(capnp_list_get_u64(l, i));
}

int capnp_list_get_struct(const capnp_list *l, uint32_t i, capnp_struct *out)
{
    empty_struct(l->msg, l->nesting, out);
    if (l->elem == CAPNP_ELEM_BIT)
        return CAPNP_E_TYPE;
    if (i >= l->len)
        return CAPNP_E_BOUNDS;
    out->data = l->base + elem_bit(l, i) / 8;
    out->data_bytes = l->data_bits / 8;
    out->ptrs = out->data + out->data_bytes;
    out->nptrs = l->nptrs;
    out->seg = l->seg;
    return CAPNP_OK;
}

/* Pointer 0 of element i, or an error. */
static int elem_ptr(const capnp_list *l, uint32_t i, const uint8_t **pp)
{
    *pp = NULL;
    if (l->nptrs == 0 && l->len != 0)
        return CAPNP_E_TYPE;
    if (i >= l->len)
        return CAPNP_E_BOUNDS;
    *pp = l->base + elem_bit(l, i) / 8 + l->data_bits / 8;
    return CAPNP_OK;
}

int capnp_list_get_list(const capnp_list *l, uint32_t i, unsigned elem,
                        capnp_list *out)
{
    const uint8_t *pp;
    int rc = elem_ptr(l, i, &pp);
    if (rc != CAPNP_OK) {
        empty_list(l->msg, elem, l->nesting - 1, out);
        return rc;
    }
    return read_list(l->msg, l->seg, pp, l->nesting, elem, out);
}

int capnp_list_get_text(const capnp_list *l, uint32_t i, const char **str,
                        size_t *len)
{
    const uint8_t *pp, *p = empty_bytes;
    int rc = elem_ptr(l, i, &pp);
    *len = 0;
    if (rc == CAPNP_OK)
        rc = read_bytes(l->msg, l->seg, pp, l->nesting, true, &p, len);
    *str = (const char *)p;
    return rc;
}

int capnp_list_get_data(const capnp_list *l, uint32_t i, const uint8_t **data,
                        size_t *len)
{
    const uint8_t *pp;
    int rc = elem_ptr(l, i, &pp);
    *data = empty_bytes;
    *len = 0;
    if (rc != CAPNP_OK)
        return rc;
    return read_bytes(l->msg, l->seg, pp, l->nesting, false, data, len);
}

int capnp_list_get_cap(const capnp_list *l, uint32_t i, uint32_t *cap)
{
    const uint8_t *pp;
    int rc = elem_ptr(l, i, &pp);
    *cap = CAPNP_CAP_NULL;
    if (rc != CAPNP_OK)
        return rc;
    return read_cap(pp, cap);
}

int capnp_list_get_ptr(const capnp_list *l, uint32_t i, capnp_ptr *out)
{
    const uint8_t *pp;
    int rc = elem_ptr(l, i, &pp);
    if (rc != CAPNP_OK) {
        read_any(l->msg, l->seg, NULL, l->nesting, out);
        return rc;
    }
    return read_any(l->msg, l->seg, pp, l->nesting, out);
}

/* ------------------------------------------------------------------ */
/* Builder                                                             */
/* ------------------------------------------------------------------ */

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
