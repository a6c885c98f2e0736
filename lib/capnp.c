/*
 * capnp.c - the Cap'n Proto wire-format codec (include/capos/capnp.h):
 * error strings and the reader. The builder is lib/capnp_build.c; the
 * wire details both share are lib/capnp_wire.h.
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
#include "capnp_wire.h"

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
