/*
 * roundtrip-types.c - what the round-trip emitter's files share: rt_put,
 * the schema types as the round-trip code sees them (widths, which fields
 * are filled, seeds), the values and list levels fill, check and text
 * agree on, the union choice of each variant, and rtt_walk, the field
 * walk rt_fill, rt_check and rt_text share (roundtrip.c describes the
 * generated files).
 */
#include "roundtrip.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rt_put(struct gen *g, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(g->f, fmt, ap);
    va_end(ap);
}

uint32_t rtt_idx_of(const struct gen *g, const struct cg_node *n)
{
    return (uint32_t)(n - g->req->nodes);
}

unsigned rtt_width_of(enum cg_tkind k)
{
    switch (k) {
    case T_BOOL:
        return 1;
    case T_INT8:
    case T_UINT8:
        return 8;
    case T_INT16:
    case T_UINT16:
    case T_ENUM:
        return 16;
    case T_INT32:
    case T_UINT32:
    case T_FLOAT32:
        return 32;
    default:
        return 64;
    }
}

bool rtt_is_signed(enum cg_tkind k)
{
    return k == T_INT8 || k == T_INT16 || k == T_INT32 || k == T_INT64;
}

/* A struct of this file that has round-trip functions, or NULL. */
const struct cg_node *rtt_local_struct(const struct gen *g, uint64_t id)
{
    const struct cg_node *n = cg_find(g->req, id);

    if (n == NULL || n->kind != CG_STRUCT || n->is_group || n->c_name == NULL ||
        n->file_id != g->file_id)
        return NULL;
    return n;
}

/* Left null: AnyPointer (no type to fill it with), a struct of another
 * file (no round-trip functions here), lists of those. */
static bool type_any(const struct gen *g, const struct cg_type *t)
{
    switch (t->kind) {
    case T_ANYPTR:
        return true;
    case T_LIST:
        return type_any(g, t->elem);
    case T_STRUCT:
        return rtt_local_struct(g, t->id) == NULL;
    default:
        return false;
    }
}

/* Capabilities or lists of them: capnp encode/decode cannot carry them. */
bool rtt_type_cap(const struct cg_type *t)
{
    return t->kind == T_INTERFACE ||
           (t->kind == T_LIST && rtt_type_cap(t->elem));
}

bool rtt_type_has_struct(const struct cg_type *t)
{
    return t->kind == T_STRUCT ||
           (t->kind == T_LIST && rtt_type_has_struct(t->elem));
}

unsigned rtt_field_kind(const struct gen *g, const struct cg_field *f)
{
    if (f->is_group)
        return 0;
    if (type_any(g, &f->type))
        return 2; /* CGRT_FIELD_ANY */
    if (rtt_type_cap(&f->type))
        return 1; /* CGRT_FIELD_CAP */
    return 0;     /* CGRT_FIELD_PLAIN */
}

uint16_t rtt_enum_count(const struct gen *g, uint64_t id)
{
    const struct cg_node *e = cg_find(g->req, id);
    return e != NULL && e->kind == CG_ENUM ? (uint16_t)e->nenumerants : 0;
}

/* bits as a w-bit two's complement number. */
int64_t rtt_as_signed(uint64_t b, unsigned w)
{
    if (w < 64 && (b & (1ull << (w - 1))) != 0)
        b |= ~0ull << w;
    else if (w < 64)
        b &= (1ull << w) - 1u;
    int64_t r;
    memcpy(&r, &b, sizeof r);
    return r;
}

uint64_t rtt_seed_of(const struct cg_node *n, uint32_t i)
{
    uint64_t z = n->id + 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void put_c_bytes(struct gen *g, const uint8_t *b, size_t n)
{
    rt_put(g, "\"");
    for (size_t i = 0; i < n; i++) {
        if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '"' && b[i] != '\\' &&
            b[i] != '?')
            fputc(b[i], g->f);
        else
            rt_put(g, "\\%03o", b[i]);
    }
    rt_put(g, "\"");
}

/* The value variant v gives data field f (seed its seed), as fill sets it,
 * text writes it and check expects it: a float, an enumerant, or the raw
 * bits of a Bool or an integer (callers compare with 0, sign-extend or
 * cast as they need). */
char *rtt_data_value(const struct gen *g, const struct cg_field *f,
                     uint64_t seed)
{
    enum cg_tkind k = f->type.kind;
    uint64_t dflt = f->dflt.bits;

    if (k == T_FLOAT32)
        return cg_printf("cgrt_f32(UINT64_C(0x%016" PRIx64 "), v, 0x%08" PRIx32
                         "u)",
                         seed, (uint32_t)dflt);
    if (k == T_FLOAT64)
        return cg_printf("cgrt_f64(UINT64_C(0x%016" PRIx64
                         "), v, UINT64_C(0x%016" PRIx64 "))",
                         seed, dflt);
    if (k == T_ENUM)
        return cg_printf("cgrt_enum(UINT64_C(0x%016" PRIx64
                         "), v, %uu, %" PRIu64 "u)",
                         seed, rtt_enum_count(g, f->type.id), dflt & 0xffffu);
    if (k == T_BOOL)
        return cg_printf("cgrt_bits(UINT64_C(0x%016" PRIx64 "), v, 1, %u)",
                         seed, (unsigned)(dflt & 1u));
    return cg_printf("cgrt_bits(UINT64_C(0x%016" PRIx64
                     "), v, %u, UINT64_C(0x%" PRIx64 "))",
                     seed, rtt_width_of(k), dflt);
}

/* Open a block with the bytes variant v gives Text or Data field f: t[]
 * and its length n. The caller uses them and closes the block. */
void rtt_put_bytes_value(struct gen *g, const char *I, const struct cg_field *f,
                         uint64_t seed)
{
    bool text = f->type.kind == T_TEXT;

    rt_put(g, "%s{\n%s    %s t[CGRT_TEXT_MAX];\n", I, I,
           text ? "char" : "uint8_t");
    rt_put(g, "%s    size_t n = cgrt_%s(UINT64_C(0x%016" PRIx64 "), v, t, ", I,
           text ? "text" : "data", seed);
    if (f->had_default && f->dflt.bytes != NULL) {
        if (!text)
            rt_put(g, "(const uint8_t *)");
        put_c_bytes(g, f->dflt.bytes, f->dflt.len);
        rt_put(g, ", %zuu);\n", f->dflt.len);
    } else {
        rt_put(g, "NULL, 0);\n");
    }
}

/* The variables of list level n, inside the block that walks it: element
 * count cnt<n>, seed s<n> and struct variant w<n>, from the expressions
 * given (the field's at level 0, the enclosing element's below). */
static void put_level(struct gen *g, const char *I, int n, const char *cnt,
                      const char *seed, const char *w)
{
    rt_put(g, "%s    uint32_t cnt%d = %s;\n", I, n, cnt);
    rt_put(g, "%s    uint64_t s%d = %s;\n", I, n, seed);
    rt_put(g, "%s    unsigned w%d = %s;\n", I, n, w);
    rt_put(g, "%s    (void)s%d;\n%s    (void)w%d;\n", I, n, I, n);
}

/* put_level for the list nested in element i<lv> of level lv. */
void rtt_put_nested_level(struct gen *g, const char *I, int lv)
{
    put_level(g, I, lv + 1, cg_printf("cnt%d", lv),
              cg_printf("cgrt_seed(s%d, i%d)", lv, lv),
              cg_printf("cgrt_child(w%d, i%d + 1u)", lv, lv));
}

/* put_level for level 0, the list of field fi (seed its seed). */
void rtt_put_field_level(struct gen *g, const char *I, const char *cnt,
                         uint64_t seed, uint32_t fi)
{
    put_level(g, I, 0, cnt, cg_printf("UINT64_C(0x%016" PRIx64 ")", seed),
              cg_printf("cgrt_child(v, %" PRIu32 "u)", fi + 1));
}

/* Union members (field indexes, by discriminant) that fill may choose:
 * all but AnyPointer-like ones, or also without capability ones. */
static uint32_t choosable(const struct gen *g, const struct cg_node *n,
                          bool no_caps, uint16_t *out)
{
    uint32_t k = 0;

    for (uint16_t d = 0; d < n->disc_count; d++)
        for (uint32_t i = 0; i < n->nfields; i++) {
            const struct cg_field *f = &n->fields[i];
            unsigned kind = rtt_field_kind(g, f);
            if (f->discriminant != d || kind == 2 || (no_caps && kind == 1))
                continue;
            if (out != NULL)
                out[k] = (uint16_t)i;
            k++;
        }
    return k;
}

/* The variants a struct needs so that every union member of it and its
 * groups is chosen once: the largest union, at least 2. */
unsigned rtt_variants_of(const struct gen *g, const struct cg_node *n,
                         int depth)
{
    unsigned v = choosable(g, n, false, NULL);

    if (depth > 32)
        return v;
    for (uint32_t i = 0; i < n->nfields; i++) {
        const struct cg_node *gr;
        if (n->fields[i].is_group &&
            (gr = cg_find(g->req, n->fields[i].group_id)) != NULL) {
            unsigned w = rtt_variants_of(g, gr, depth + 1);
            if (w > v)
                v = w;
        }
    }
    return v < 2 ? 2 : v;
}

/* Whether check must reject an all-default message for some variant
 * (cgrt_struct.empty_rejects). */
bool rtt_empty_rejects(const struct gen *g, const struct cg_node *n, int depth)
{
    if (choosable(g, n, false, NULL) >= 2)
        return true;
    for (uint32_t i = 0; i < n->nfields && depth < 32; i++) {
        const struct cg_field *f = &n->fields[i];
        if (f->is_group) {
            const struct cg_node *gr = cg_find(g->req, f->group_id);
            if (gr != NULL && rtt_empty_rejects(g, gr, depth + 1))
                return true;
        } else if (f->type.kind != T_VOID && rtt_field_kind(g, f) != 2 &&
                   f->discriminant == CG_NO_DISCRIMINANT) {
            return true;
        }
    }
    return false;
}

/* "unsigned pick = ...;": the field index variant v chooses. */
static void put_pick(struct gen *g, const struct cg_node *n)
{
    uint16_t *all = cg_alloc((n->nfields + 1) * sizeof *all);
    uint16_t *nocap = cg_alloc((n->nfields + 1) * sizeof *nocap);
    uint32_t na = choosable(g, n, false, all);
    uint32_t nn = choosable(g, n, true, nocap);

    rt_put(g, "    static const uint16_t all[] = {");
    for (uint32_t i = 0; i < na; i++)
        rt_put(g, "%s%u", i ? ", " : "", all[i]);
    rt_put(g, "%s};\n", na ? "" : "0");
    rt_put(g, "    static const uint16_t nocap[] = {");
    for (uint32_t i = 0; i < nn; i++)
        rt_put(g, "%s%u", i ? ", " : "", nocap[i]);
    rt_put(g, "%s};\n", nn ? "" : "0");
    /* No choosable member: set none, which() stays 0 (NO_PICK). */
    rt_put(g,
           "    unsigned pick = (ctx->flags & CGRT_NO_CAPS)\n"
           "        ? %s : %s;\n",
           nn ? cg_printf("nocap[v %% %uu]", nn) : cg_printf("%uu", NO_PICK),
           na ? cg_printf("all[v %% %uu]", na) : cg_printf("%uu", NO_PICK));
    rt_put(g, "    (void)all;\n    (void)nocap;\n");
}

const char *rtt_ind(int n)
{
    static const char sp[] =
        "                                                                ";
    int k = 4 * n;
    if (k > (int)sizeof sp - 1)
        k = (int)sizeof sp - 1;
    return sp + sizeof sp - 1 - k;
}

/*
 * The shape rt_fill, rt_check and rt_text share: code for each plain field
 * (each, with a name comment when name_comments), then a switch on the
 * variant's union pick with one case per union member. where (rt_check
 * only, else NULL) names the union in the discriminant comparison emitted
 * at the top of each case and in the default case.
 */
void rtt_walk(struct gen *g, const struct cg_node *n, rt_field_fn each,
              bool name_comments, const char *union_comment, const char *where)
{
    for (uint32_t i = 0; i < n->nfields; i++) {
        const struct cg_field *f = &n->fields[i];
        if (f->discriminant != CG_NO_DISCRIMINANT)
            continue;
        if (name_comments)
            rt_put(g, "    /* %s */\n", f->name);
        each(g, n, f, i, false, 1);
    }
    if (n->disc_count == 0)
        return;
    rt_put(g, "    /* %s */\n    {\n", union_comment);
    put_pick(g, n);
    rt_put(g, "    switch (pick) {\n");
    for (uint32_t i = 0; i < n->nfields; i++) {
        const struct cg_field *f = &n->fields[i];
        if (f->discriminant == CG_NO_DISCRIMINANT || rtt_field_kind(g, f) == 2)
            continue;
        rt_put(g, "    case %" PRIu32 "u: /* %s */\n", i, f->name);
        if (where)
            rt_put(
                g,
                "        if (cgrt_eq(ctx, \"%s\", v, %s_which(s), %uu) != 0)\n"
                "            return -1;\n",
                where, n->c_name, f->discriminant);
        each(g, n, f, i, true, 2);
        rt_put(g, "        break;\n");
    }
    if (where)
        rt_put(g,
               "    default:\n"
               "        if (cgrt_eq(ctx, \"%s\", v, %s_which(s), 0) != 0)\n"
               "            return -1;\n"
               "        break;\n    }\n    }\n",
               where, n->c_name);
    else
        rt_put(g, "    default:\n        break;\n    }\n    }\n");
}
