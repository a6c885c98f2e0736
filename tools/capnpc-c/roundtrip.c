/*
 * roundtrip.c - with CAPNPC_C_ROUNDTRIP=1 in its environment, capnpc-c
 * writes, for each requested file X.capnp and instead of X.capnp.{h,c},
 * round-trip test code for every struct of the file:
 *
 *   X.capnp.roundtrip.h      declares X_rt_schema (roundtrip-support.h)
 *   X.capnp.roundtrip.c      per struct S (named, nested, implicit method
 *                            $Params/$Results; groups through their
 *                            struct): rt_fill_S, which sets every field
 *                            with the generated setters, rt_check_S, which
 *                            reads every field back with the generated
 *                            getters, rt_text_S, which writes the same
 *                            values as schema text by field name (for
 *                            capnp encode), and the table X_rt_schema
 *   X.capnp.roundtrip.capnp  the mirror schema: every implicit method
 *                            struct (capnp cannot name "I.m$Params" on its
 *                            command line) declared again as a named
 *                            struct with the same fields, ordinals, types
 *                            and defaults, so with the same layout; it
 *                            imports "/X.capnp" (run capnp with -I on the
 *                            directory of X.capnp)
 *
 * tests/unit/test_schema_roundtrip.c runs the table against the generated
 * getters and against capnp encode/decode. Values and comparisons live in
 * roundtrip-support.{h,c}; see there what is filled with what.
 *
 * The generated C uses only the names the normal header declares
 * (docs/codegen.md) and the codec, so it tests those names: a wrong
 * offset, default, discriminant or list element size in X.capnp.h shows up
 * as a mismatch.
 */
#include "cgen.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_SERIAL UINT32_MAX
#define NO_PICK 0xffffu

struct rtinfo {
    uint32_t *serial;           /* per field; NO_SERIAL for groups */
    const struct cg_node *root; /* the struct a group belongs to */
    const char *path;           /* "" for a struct, "source." for a group */
};

struct gen {
    FILE *f;
    const struct cg_request *req;
    uint64_t file_id;
    struct rtinfo *info; /* by node index */
};

static void put(struct gen *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct gen *g, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(g->f, fmt, ap);
    va_end(ap);
}

static uint32_t idx_of(const struct gen *g, const struct cg_node *n)
{
    return (uint32_t)(n - g->req->nodes);
}

/* ------------------------------------------------------------------ */
/* Types                                                               */
/* ------------------------------------------------------------------ */

static unsigned width_of(enum cg_tkind k)
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

static bool is_signed(enum cg_tkind k)
{
    return k == T_INT8 || k == T_INT16 || k == T_INT32 || k == T_INT64;
}

/* A struct of this file that has round-trip functions, or NULL. */
static const struct cg_node *local_struct(const struct gen *g, uint64_t id)
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
        return local_struct(g, t->id) == NULL;
    default:
        return false;
    }
}

/* Capabilities or lists of them: capnp encode/decode cannot carry them. */
static bool type_cap(const struct cg_type *t)
{
    return t->kind == T_INTERFACE || (t->kind == T_LIST && type_cap(t->elem));
}

static bool type_has_struct(const struct cg_type *t)
{
    return t->kind == T_STRUCT ||
           (t->kind == T_LIST && type_has_struct(t->elem));
}

static unsigned field_kind(const struct gen *g, const struct cg_field *f)
{
    if (f->is_group)
        return 0;
    if (type_any(g, &f->type))
        return 2; /* CGRT_FIELD_ANY */
    if (type_cap(&f->type))
        return 1; /* CGRT_FIELD_CAP */
    return 0;     /* CGRT_FIELD_PLAIN */
}

static uint16_t enum_count(const struct gen *g, uint64_t id)
{
    const struct cg_node *e = cg_find(g->req, id);
    return e != NULL && e->kind == CG_ENUM ? (uint16_t)e->nenumerants : 0;
}

/* bits as a w-bit two's complement number. */
static int64_t as_signed(uint64_t b, unsigned w)
{
    if (w < 64 && (b & (1ull << (w - 1))) != 0)
        b |= ~0ull << w;
    else if (w < 64)
        b &= (1ull << w) - 1u;
    int64_t r;
    memcpy(&r, &b, sizeof r);
    return r;
}

static uint64_t seed_of(const struct cg_node *n, uint32_t i)
{
    uint64_t z = n->id + 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void put_c_bytes(struct gen *g, const uint8_t *b, size_t n)
{
    put(g, "\"");
    for (size_t i = 0; i < n; i++) {
        if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '"' && b[i] != '\\' &&
            b[i] != '?')
            fputc(b[i], g->f);
        else
            put(g, "\\%03o", b[i]);
    }
    put(g, "\"");
}

/* The value variant v gives data field f (seed its seed), as fill sets it,
 * text writes it and check expects it: a float, an enumerant, or the raw
 * bits of a Bool or an integer (callers compare with 0, sign-extend or
 * cast as they need). */
static char *data_value(const struct gen *g, const struct cg_field *f,
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
                         seed, enum_count(g, f->type.id), dflt & 0xffffu);
    if (k == T_BOOL)
        return cg_printf("cgrt_bits(UINT64_C(0x%016" PRIx64 "), v, 1, %u)",
                         seed, (unsigned)(dflt & 1u));
    return cg_printf("cgrt_bits(UINT64_C(0x%016" PRIx64
                     "), v, %u, UINT64_C(0x%" PRIx64 "))",
                     seed, width_of(k), dflt);
}

/* Open a block with the bytes variant v gives Text or Data field f: t[]
 * and its length n. The caller uses them and closes the block. */
static void put_bytes_value(struct gen *g, const char *I,
                            const struct cg_field *f, uint64_t seed)
{
    bool text = f->type.kind == T_TEXT;

    put(g, "%s{\n%s    %s t[CGRT_TEXT_MAX];\n", I, I,
        text ? "char" : "uint8_t");
    put(g, "%s    size_t n = cgrt_%s(UINT64_C(0x%016" PRIx64 "), v, t, ", I,
        text ? "text" : "data", seed);
    if (f->had_default && f->dflt.bytes != NULL) {
        if (!text)
            put(g, "(const uint8_t *)");
        put_c_bytes(g, f->dflt.bytes, f->dflt.len);
        put(g, ", %zuu);\n", f->dflt.len);
    } else {
        put(g, "NULL, 0);\n");
    }
}

/* The variables of list level n, inside the block that walks it: element
 * count cnt<n>, seed s<n> and struct variant w<n>, from the expressions
 * given (the field's at level 0, the enclosing element's below). */
static void put_level(struct gen *g, const char *I, int n, const char *cnt,
                      const char *seed, const char *w)
{
    put(g, "%s    uint32_t cnt%d = %s;\n", I, n, cnt);
    put(g, "%s    uint64_t s%d = %s;\n", I, n, seed);
    put(g, "%s    unsigned w%d = %s;\n", I, n, w);
    put(g, "%s    (void)s%d;\n%s    (void)w%d;\n", I, n, I, n);
}

/* put_level for the list nested in element i<lv> of level lv. */
static void put_nested_level(struct gen *g, const char *I, int lv)
{
    put_level(g, I, lv + 1, cg_printf("cnt%d", lv),
              cg_printf("cgrt_seed(s%d, i%d)", lv, lv),
              cg_printf("cgrt_child(w%d, i%d + 1u)", lv, lv));
}

/* put_level for level 0, the list of field fi (seed its seed). */
static void put_field_level(struct gen *g, const char *I, const char *cnt,
                            uint64_t seed, uint32_t fi)
{
    put_level(g, I, 0, cnt, cg_printf("UINT64_C(0x%016" PRIx64 ")", seed),
              cg_printf("cgrt_child(v, %" PRIu32 "u)", fi + 1));
}

/* ------------------------------------------------------------------ */
/* Union choice                                                        */
/* ------------------------------------------------------------------ */

/* Union members (field indexes, by discriminant) that fill may choose:
 * all but AnyPointer-like ones, or also without capability ones. */
static uint32_t choosable(const struct gen *g, const struct cg_node *n,
                          bool no_caps, uint16_t *out)
{
    uint32_t k = 0;

    for (uint16_t d = 0; d < n->disc_count; d++)
        for (uint32_t i = 0; i < n->nfields; i++) {
            const struct cg_field *f = &n->fields[i];
            unsigned kind = field_kind(g, f);
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
static unsigned variants_of(const struct gen *g, const struct cg_node *n,
                            int depth)
{
    unsigned v = choosable(g, n, false, NULL);

    if (depth > 32)
        return v;
    for (uint32_t i = 0; i < n->nfields; i++) {
        const struct cg_node *gr;
        if (n->fields[i].is_group &&
            (gr = cg_find(g->req, n->fields[i].group_id)) != NULL) {
            unsigned w = variants_of(g, gr, depth + 1);
            if (w > v)
                v = w;
        }
    }
    return v < 2 ? 2 : v;
}

/* Whether check must reject an all-default message for some variant
 * (cgrt_struct.empty_rejects). */
static bool empty_rejects(const struct gen *g, const struct cg_node *n,
                          int depth)
{
    if (choosable(g, n, false, NULL) >= 2)
        return true;
    for (uint32_t i = 0; i < n->nfields && depth < 32; i++) {
        const struct cg_field *f = &n->fields[i];
        if (f->is_group) {
            const struct cg_node *gr = cg_find(g->req, f->group_id);
            if (gr != NULL && empty_rejects(g, gr, depth + 1))
                return true;
        } else if (f->type.kind != T_VOID && field_kind(g, f) != 2 &&
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

    put(g, "    static const uint16_t all[] = {");
    for (uint32_t i = 0; i < na; i++)
        put(g, "%s%u", i ? ", " : "", all[i]);
    put(g, "%s};\n", na ? "" : "0");
    put(g, "    static const uint16_t nocap[] = {");
    for (uint32_t i = 0; i < nn; i++)
        put(g, "%s%u", i ? ", " : "", nocap[i]);
    put(g, "%s};\n", nn ? "" : "0");
    /* No choosable member: set none, which() stays 0 (NO_PICK). */
    put(g,
        "    unsigned pick = (ctx->flags & CGRT_NO_CAPS)\n"
        "        ? %s : %s;\n",
        nn ? cg_printf("nocap[v %% %uu]", nn) : cg_printf("%uu", NO_PICK),
        na ? cg_printf("all[v %% %uu]", na) : cg_printf("%uu", NO_PICK));
    put(g, "    (void)all;\n    (void)nocap;\n");
}

/* ------------------------------------------------------------------ */
/* fill                                                                */
/* ------------------------------------------------------------------ */

static const char *ind(int n)
{
    static const char sp[] =
        "                                                                ";
    int k = 4 * n;
    if (k > (int)sizeof sp - 1)
        k = (int)sizeof sp - 1;
    return sp + sizeof sp - 1 - k;
}

/* Fill the elements of list l<lv> (count in cnt<lv>, seed s<lv>, struct
 * variant w<lv>) of element type e. */
static void fill_elems(struct gen *g, const struct cg_type *e, int lv, int d)
{
    const char *I = ind(d + 1);

    put(g, "%sfor (uint32_t i%d = 0; i%d < cnt%d; i%d++) {\n", ind(d), lv, lv,
        lv, lv);
    switch (e->kind) {
    case T_VOID:
        break;
    case T_BOOL:
        put(g,
            "%scapnp_list_set_bool(&l%d, i%d, ((cgrt_mix(s%d, v) + i%d) & 1u) "
            "!= 0);\n",
            I, lv, lv, lv, lv);
        break;
    case T_INT8:
    case T_INT16:
    case T_INT32:
    case T_INT64:
    case T_UINT8:
    case T_UINT16:
    case T_UINT32:
    case T_UINT64:
        put(g,
            "%scapnp_list_set_u%u(&l%d, i%d, "
            "(uint%u_t)cgrt_bits(cgrt_seed(s%d, i%d), v, %u, 0));\n",
            I, width_of(e->kind), lv, lv, width_of(e->kind), lv, lv,
            width_of(e->kind));
        break;
    case T_FLOAT32:
    case T_FLOAT64: {
        bool single = e->kind == T_FLOAT32;
        put(g,
            "%scapnp_list_set_%s(&l%d, i%d, cgrt_%s(cgrt_seed(s%d, i%d), v, "
            "0));\n",
            I, single ? "f32" : "f64", lv, lv, single ? "f32" : "f64", lv, lv);
        break;
    }
    case T_ENUM:
        put(g,
            "%scapnp_list_set_u16(&l%d, i%d, cgrt_enum(cgrt_seed(s%d, i%d), v, "
            "%uu, 0xffffu));\n",
            I, lv, lv, lv, lv, enum_count(g, e->id));
        break;
    case T_TEXT:
        put(g,
            "%s{\n%s    char t[CGRT_TEXT_MAX];\n"
            "%s    size_t n = cgrt_text(cgrt_seed(s%d, i%d), v, t, NULL, 0);\n"
            "%s    CGRT_RC(rc, capnp_list_set_text(&l%d, i%d, t, n));\n%s}\n",
            I, I, I, lv, lv, I, lv, lv, I);
        break;
    case T_DATA:
        put(g,
            "%s{\n%s    uint8_t t[CGRT_TEXT_MAX];\n"
            "%s    size_t n = cgrt_data(cgrt_seed(s%d, i%d), v, t, NULL, 0);\n"
            "%s    CGRT_RC(rc, capnp_list_set_data(&l%d, i%d, t, n));\n%s}\n",
            I, I, I, lv, lv, I, lv, lv, I);
        break;
    case T_INTERFACE:
        put(g,
            "%sCGRT_RC(rc, capnp_list_set_cap(&l%d, i%d, "
            "cgrt_cap(cgrt_seed(s%d, i%d), v)));\n",
            I, lv, lv, lv, lv);
        break;
    case T_STRUCT: {
        const struct cg_node *sn = local_struct(g, e->id);
        put(g,
            "%s{\n%s    capnp_struct_builder c;\n"
            "%s    CGRT_RC(rc, capnp_list_struct_at(&l%d, i%d, &c));\n"
            "%s    CGRT_RC(rc, rt_fill_%s(&c, cgrt_child(w%d, i%d + 1u), depth "
            "+ 1, ctx));\n"
            "%s}\n",
            I, I, I, lv, lv, I, sn->c_name, lv, lv, I);
        break;
    }
    case T_LIST: {
        const struct cg_type *x = e->elem;
        int n = lv + 1;
        put(g, "%s{\n", I);
        put(g, "%s    capnp_list_builder l%d;\n", I, n);
        put_nested_level(g, I, lv);
        if (x->kind == T_STRUCT) {
            const struct cg_node *sn = local_struct(g, x->id);
            put(g,
                "%s    CGRT_RC(rc, capnp_list_init_struct_list(&l%d, i%d, "
                "cnt%d, %u, %u, &l%d));\n",
                I, lv, lv, n, sn->data_words, sn->ptr_count, n);
        } else {
            put(g,
                "%s    CGRT_RC(rc, capnp_list_init_list(&l%d, i%d, %s, cnt%d, "
                "&l%d));\n",
                I, lv, lv, cg_elem_macro(x), n, n);
        }
        fill_elems(g, x, n, d + 2);
        put(g, "%s}\n", I);
        break;
    }
    default:
        break; /* AnyPointer: never reached (type_any) */
    }
    put(g, "%s}\n", ind(d));
}

/* Statements that set field f of node n (P its C name). member: f is the
 * union member chosen by this variant. */
static void fill_field(struct gen *g, const struct cg_node *n,
                       const struct cg_field *f, uint32_t fi, bool member,
                       int d)
{
    const char *P = n->c_name, *F = f->name, *I = ind(d);
    const struct cg_type *t = &f->type;
    uint64_t seed = seed_of(n, fi);
    uint32_t serial = g->info[idx_of(g, n)].serial[fi];

    if (f->is_group) {
        const struct cg_node *gr = cg_find(g->req, f->group_id);
        if (member)
            put(g, "%s%s_init_%s(s);\n", I, P, F);
        put(g, "%sCGRT_RC(rc, rt_fill_%s(s, v, depth, ctx));\n", I, gr->c_name);
        return;
    }
    if (field_kind(g, f) == 2) {
        put(g,
            "%s/* %s: left null (AnyPointer or a struct of another file) */\n",
            I, F);
        return;
    }
    put(g, "%sCGRT_SET(ctx, depth, %" PRIu32 "u);\n", I, serial);
    if (t->kind == T_VOID) {
        if (member)
            put(g, "%s%s_set_%s(s);\n", I, P, F);
        return;
    }
    if (cg_is_data(t->kind)) {
        unsigned w = width_of(t->kind);
        char *val = data_value(g, f, seed);
        if (t->kind == T_BOOL)
            val = cg_printf("%s != 0", val);
        else if (is_signed(t->kind))
            val = cg_printf("cgrt_i%u(%s)", w, val);
        else if (t->kind != T_FLOAT32 && t->kind != T_FLOAT64 &&
                 t->kind != T_ENUM)
            val = cg_printf("(uint%u_t)%s", w, val);
        put(g, "%s%s_set_%s(s, %s);\n", I, P, F, val);
        return;
    }
    switch (t->kind) {
    case T_TEXT:
    case T_DATA:
        put_bytes_value(g, I, f, seed);
        put(g, "%s    CGRT_RC(rc, %s_set_%s(s, t, n));\n%s}\n", I, P, F, I);
        return;
    case T_STRUCT: {
        const struct cg_node *sn = local_struct(g, t->id);
        if (member) {
            put(g,
                "%s{\n%s    capnp_struct_builder c;\n"
                "%s    CGRT_RC(rc, %s_init_%s(s, &c));\n"
                "%s    if (depth < ctx->max_depth)\n"
                "%s        CGRT_RC(rc, rt_fill_%s(&c, cgrt_child(v, %" PRIu32
                "u), depth + 1, ctx));\n"
                "%s}\n",
                I, I, I, P, F, I, I, sn->c_name, fi + 1, I);
        } else {
            put(g,
                "%sif (depth < ctx->max_depth) {\n%s    capnp_struct_builder "
                "c;\n"
                "%s    CGRT_RC(rc, %s_init_%s(s, &c));\n"
                "%s    CGRT_RC(rc, rt_fill_%s(&c, cgrt_child(v, %" PRIu32
                "u), depth + 1, ctx));\n"
                "%s}\n",
                I, I, I, P, F, I, sn->c_name, fi + 1, I);
        }
        return;
    }
    case T_LIST: {
        bool caps = type_cap(t), structs = type_has_struct(t);
        char *cond = NULL;
        if (caps && !member)
            cond = cg_strdup("!(ctx->flags & CGRT_NO_CAPS)");
        if (structs && !member)
            cond = cond != NULL
                       ? cg_printf("%s && depth < ctx->max_depth", cond)
                       : cg_strdup("depth < ctx->max_depth");
        put(g, "%s%s{\n", I, cond != NULL ? cg_printf("if (%s) ", cond) : "");
        put(g, "%s    capnp_list_builder l0;\n", I);
        put_field_level(
            g, I, structs && member ? "depth < ctx->max_depth ? 2u : 0u" : "2u",
            seed, fi);
        put(g, "%s    CGRT_RC(rc, %s_init_%s(s, cnt0, &l0));\n", I, P, F);
        fill_elems(g, t->elem, 0, d + 1);
        put(g, "%s}\n", I);
        return;
    }
    case T_INTERFACE:
        put(g,
            "%sif (!(ctx->flags & CGRT_NO_CAPS))\n"
            "%s    CGRT_RC(rc, %s_set_%s(s, cgrt_cap(UINT64_C(0x%016" PRIx64
            "), v)));\n",
            I, I, P, F, seed);
        return;
    default:
        return;
    }
}

/*
 * The shape rt_fill, rt_check and rt_text share: code for each plain field
 * (each, with a name comment when name_comments), then a switch on the
 * variant's union pick with one case per union member. where (rt_check
 * only, else NULL) names the union in the discriminant comparison emitted
 * at the top of each case and in the default case.
 */
typedef void (*rt_field_fn)(struct gen *g, const struct cg_node *n,
                            const struct cg_field *f, uint32_t i, bool in_union,
                            int indent);

static void emit_walk(struct gen *g, const struct cg_node *n, rt_field_fn each,
                      bool name_comments, const char *union_comment,
                      const char *where)
{
    for (uint32_t i = 0; i < n->nfields; i++) {
        const struct cg_field *f = &n->fields[i];
        if (f->discriminant != CG_NO_DISCRIMINANT)
            continue;
        if (name_comments)
            put(g, "    /* %s */\n", f->name);
        each(g, n, f, i, false, 1);
    }
    if (n->disc_count == 0)
        return;
    put(g, "    /* %s */\n    {\n", union_comment);
    put_pick(g, n);
    put(g, "    switch (pick) {\n");
    for (uint32_t i = 0; i < n->nfields; i++) {
        const struct cg_field *f = &n->fields[i];
        if (f->discriminant == CG_NO_DISCRIMINANT || field_kind(g, f) == 2)
            continue;
        put(g, "    case %" PRIu32 "u: /* %s */\n", i, f->name);
        if (where)
            put(g,
                "        if (cgrt_eq(ctx, \"%s\", v, %s_which(s), %uu) != 0)\n"
                "            return -1;\n",
                where, n->c_name, f->discriminant);
        each(g, n, f, i, true, 2);
        put(g, "        break;\n");
    }
    if (where)
        put(g,
            "    default:\n"
            "        if (cgrt_eq(ctx, \"%s\", v, %s_which(s), 0) != 0)\n"
            "            return -1;\n"
            "        break;\n    }\n    }\n",
            where, n->c_name);
    else
        put(g, "    default:\n        break;\n    }\n    }\n");
}

static void emit_fill(struct gen *g, const struct cg_node *n)
{
    put(g,
        "\nstatic int rt_fill_%s(capnp_struct_builder *s, unsigned v, unsigned "
        "depth,\n"
        "    cgrt_ctx *ctx)\n{\n    int rc = 0;\n\n"
        "    (void)s;\n    (void)v;\n    (void)depth;\n    (void)ctx;\n",
        n->c_name);
    emit_walk(g, n, fill_field, true, "the union: one member per variant",
              NULL);
    put(g, "    return rc;\n}\n");
}

/* ------------------------------------------------------------------ */
/* check                                                               */
/* ------------------------------------------------------------------ */

static void check_elems(struct gen *g, const struct cg_type *e, int lv, int d,
                        const char *where)
{
    const char *I = ind(d + 1);

    put(g, "%sfor (uint32_t i%d = 0; i%d < cnt%d; i%d++) {\n", ind(d), lv, lv,
        lv, lv);
    switch (e->kind) {
    case T_VOID:
        break;
    case T_BOOL:
        put(g,
            "%sif (cgrt_eq(ctx, \"%s\", v, capnp_list_get_bool(&l%d, i%d),\n"
            "%s            ((cgrt_mix(s%d, v) + i%d) & 1u) != 0) != 0)\n%s    "
            "return -1;\n",
            I, where, lv, lv, I, lv, lv, I);
        break;
    case T_INT8:
    case T_INT16:
    case T_INT32:
    case T_INT64:
    case T_UINT8:
    case T_UINT16:
    case T_UINT32:
    case T_UINT64:
        put(g,
            "%sif (cgrt_eq(ctx, \"%s\", v, capnp_list_get_u%u(&l%d, i%d),\n"
            "%s            cgrt_bits(cgrt_seed(s%d, i%d), v, %u, 0)) != 0)\n"
            "%s    return -1;\n",
            I, where, width_of(e->kind), lv, lv, I, lv, lv, width_of(e->kind),
            I);
        break;
    case T_FLOAT32:
    case T_FLOAT64: {
        const char *sfx = e->kind == T_FLOAT32 ? "f32" : "f64";
        put(g,
            "%sif (cgrt_eq(ctx, \"%s\", v, "
            "cgrt_%s_bits(capnp_list_get_%s(&l%d, i%d)),\n"
            "%s            cgrt_%s_bits(cgrt_%s(cgrt_seed(s%d, i%d), v, 0))) "
            "!= 0)\n"
            "%s    return -1;\n",
            I, where, sfx, sfx, lv, lv, I, sfx, sfx, lv, lv, I);
        break;
    }
    case T_ENUM:
        put(g,
            "%sif (cgrt_eq(ctx, \"%s\", v, capnp_list_get_u16(&l%d, i%d),\n"
            "%s            cgrt_enum(cgrt_seed(s%d, i%d), v, %uu, 0xffffu)) != "
            "0)\n"
            "%s    return -1;\n",
            I, where, lv, lv, I, lv, lv, enum_count(g, e->id), I);
        break;
    case T_TEXT:
    case T_DATA: {
        bool text = e->kind == T_TEXT;
        put(g,
            "%s{\n%s    %s t[CGRT_TEXT_MAX];\n"
            "%s    size_t n = cgrt_%s(cgrt_seed(s%d, i%d), v, t, NULL, 0);\n"
            "%s    const %s *got = NULL;\n%s    size_t gn = 0;\n"
            "%s    int e = capnp_list_get_%s(&l%d, i%d, &got, &gn);\n"
            "%s    if (cgrt_eq_bytes(ctx, \"%s\", v, e, -1, got, gn, t, n) != "
            "0)\n"
            "%s        return -1;\n%s}\n",
            I, I, text ? "char" : "uint8_t", I, text ? "text" : "data", lv, lv,
            I, text ? "char" : "uint8_t", I, I, text ? "text" : "data", lv, lv,
            I, where, I, I);
        break;
    }
    case T_INTERFACE:
        put(g,
            "%s{\n%s    uint32_t c = 0;\n"
            "%s    if (cgrt_rc(ctx, \"%s\", v, capnp_list_get_cap(&l%d, i%d, "
            "&c)) != 0 ||\n"
            "%s        cgrt_eq(ctx, \"%s\", v, c, cgrt_cap(cgrt_seed(s%d, "
            "i%d), v)) != 0)\n"
            "%s        return -1;\n%s}\n",
            I, I, I, where, lv, lv, I, where, lv, lv, I, I);
        break;
    case T_STRUCT: {
        const struct cg_node *sn = local_struct(g, e->id);
        put(g,
            "%s{\n%s    capnp_struct c;\n"
            "%s    if (cgrt_rc(ctx, \"%s\", v, capnp_list_get_struct(&l%d, "
            "i%d, &c)) != 0 ||\n"
            "%s        rt_check_%s(&c, cgrt_child(w%d, i%d + 1u), depth + 1, "
            "ctx) != 0)\n"
            "%s        return -1;\n%s}\n",
            I, I, I, where, lv, lv, I, sn->c_name, lv, lv, I, I);
        break;
    }
    case T_LIST: {
        const struct cg_type *x = e->elem;
        int n = lv + 1;
        put(g, "%s{\n", I);
        put(g, "%s    capnp_list l%d;\n", I, n);
        put_nested_level(g, I, lv);
        put(g,
            "%s    if (cgrt_rc(ctx, \"%s\", v, capnp_list_get_list(&l%d, i%d, "
            "%s, &l%d)) != 0 ||\n"
            "%s        cgrt_eq(ctx, \"%s.len\", v, capnp_list_len(&l%d), "
            "cnt%d) != 0)\n"
            "%s        return -1;\n",
            I, where, lv, lv, cg_elem_macro(x), n, I, where, n, n, I);
        check_elems(g, x, n, d + 2, where);
        put(g, "%s}\n", I);
        break;
    }
    default:
        break;
    }
    put(g, "%s}\n", ind(d));
}

static void check_field(struct gen *g, const struct cg_node *n,
                        const struct cg_field *f, uint32_t fi, bool member,
                        int d)
{
    const char *P = n->c_name, *F = f->name, *I = ind(d);
    const struct cg_type *t = &f->type;
    const struct rtinfo *ri = &g->info[idx_of(g, n)];
    uint64_t seed = seed_of(n, fi);
    uint32_t serial = ri->serial[fi];
    char *where = cg_printf("%s.%s%s", ri->root->schema_name, ri->path, F);

    if (f->is_group) {
        const struct cg_node *gr = cg_find(g->req, f->group_id);
        put(g, "%sif (rt_check_%s(s, v, depth, ctx) != 0)\n%s    return -1;\n",
            I, gr->c_name, I);
        return;
    }
    if (field_kind(g, f) == 2) {
        if (t->kind != T_VOID && !cg_is_data(t->kind))
            put(g,
                "%sif (cgrt_null(ctx, \"%s\", v, %s_has_%s(s)) != 0)\n%s    "
                "return -1;\n",
                I, where, P, F, I);
        return;
    }
    put(g, "%sCGRT_CHECKED(ctx, depth, %" PRIu32 "u);\n", I, serial);
    if (t->kind == T_VOID)
        return;
    if (cg_is_data(t->kind)) {
        char *got, *want = data_value(g, f, seed);
        if (t->kind == T_FLOAT32 || t->kind == T_FLOAT64) {
            const char *sfx = t->kind == T_FLOAT32 ? "f32" : "f64";
            got = cg_printf("cgrt_%s_bits(%s_get_%s(s))", sfx, P, F);
            want = cg_printf("cgrt_%s_bits(%s)", sfx, want);
        } else if (t->kind == T_ENUM || t->kind == T_BOOL) {
            got = cg_printf("%s_get_%s(s)", P, F);
        } else {
            got = cg_printf("(uint%u_t)%s_get_%s(s)", width_of(t->kind), P, F);
        }
        put(g,
            "%sif (cgrt_eq(ctx, \"%s\", v, %s,\n%s            %s) != 0)\n%s    "
            "return -1;\n",
            I, where, got, I, want, I);
        return;
    }
    switch (t->kind) {
    case T_TEXT:
    case T_DATA: {
        bool text = t->kind == T_TEXT;
        const char *ct = text ? "char" : "uint8_t";
        put_bytes_value(g, I, f, seed);
        put(g,
            "%s    const %s *got = NULL;\n%s    size_t gn = 0;\n"
            "%s    int e = %s_get_%s(s, &got, &gn);\n"
            "%s    if (cgrt_eq_bytes(ctx, \"%s\", v, e, %s_has_%s(s), got, gn, "
            "t, n) != 0)\n"
            "%s        return -1;\n%s}\n",
            I, ct, I, I, P, F, I, where, P, F, I, I);
        return;
    }
    case T_STRUCT: {
        const struct cg_node *sn = local_struct(g, t->id);
        put(g, "%s{\n%s    capnp_struct c;\n", I, I);
        if (!member)
            put(g,
                "%s    if (depth >= ctx->max_depth) {\n"
                "%s        if (cgrt_null(ctx, \"%s\", v, %s_has_%s(s)) != 0)\n"
                "%s            return -1;\n"
                "%s    } else\n",
                I, I, where, P, F, I, I);
        put(g,
            "%s    if (!%s_has_%s(s))\n"
            "%s        return cgrt_fail(ctx, \"%s\", v, \"pointer is null\");\n"
            "%s    else if (cgrt_rc(ctx, \"%s\", v, %s_get_%s(s, &c)) != 0)\n"
            "%s        return -1;\n"
            "%s    else if (depth < ctx->max_depth &&\n"
            "%s             rt_check_%s(&c, cgrt_child(v, %" PRIu32
            "u), depth + 1, ctx) != 0)\n"
            "%s        return -1;\n%s}\n",
            I, P, F, I, where, I, where, P, F, I, I, I, sn->c_name, fi + 1, I,
            I);
        return;
    }
    case T_LIST: {
        bool caps = type_cap(t), structs = type_has_struct(t);
        put(g, "%s{\n", I);
        put(g, "%s    capnp_list l0 = {0};\n", I);
        put_field_level(
            g, I, structs && member ? "depth < ctx->max_depth ? 2u : 0u" : "2u",
            seed, fi);
        if (!member) {
            char *cond = NULL;
            if (caps)
                cond = cg_strdup("(ctx->flags & CGRT_NO_CAPS)");
            if (structs)
                cond = cond != NULL
                           ? cg_printf("%s || depth >= ctx->max_depth", cond)
                           : cg_strdup("depth >= ctx->max_depth");
            if (cond != NULL)
                put(g,
                    "%s    if (%s) {\n"
                    "%s        if (cgrt_null(ctx, \"%s\", v, %s_has_%s(s)) != "
                    "0)\n"
                    "%s            return -1;\n"
                    "%s        cnt0 = 0;\n"
                    "%s    } else\n",
                    I, cond, I, where, P, F, I, I, I);
        }
        put(g,
            "%s    if (!%s_has_%s(s))\n"
            "%s        return cgrt_fail(ctx, \"%s\", v, \"pointer is "
            "null\");\n",
            I, P, F, I, where);
        put(g,
            "%s    if (%s_has_%s(s) &&\n"
            "%s        (cgrt_rc(ctx, \"%s\", v, %s_get_%s(s, &l0)) != 0 ||\n"
            "%s         cgrt_eq(ctx, \"%s.len\", v, capnp_list_len(&l0), cnt0) "
            "!= 0))\n"
            "%s        return -1;\n",
            I, P, F, I, where, P, F, I, where, I);
        check_elems(g, t->elem, 0, d + 1, cg_printf("%s[]", where));
        put(g, "%s}\n", I);
        return;
    }
    case T_INTERFACE:
        put(g,
            "%s{\n%s    uint32_t c = 0;\n"
            "%s    uint32_t want = (ctx->flags & CGRT_NO_CAPS)\n"
            "%s        ? CAPNP_CAP_NULL : cgrt_cap(UINT64_C(0x%016" PRIx64
            "), v);\n"
            "%s    if (cgrt_rc(ctx, \"%s\", v, %s_get_%s(s, &c)) != 0 ||\n"
            "%s        cgrt_eq(ctx, \"%s\", v, c, want) != 0 ||\n"
            "%s        cgrt_eq(ctx, \"%s (has)\", v, %s_has_%s(s), want != "
            "CAPNP_CAP_NULL) != 0)\n"
            "%s        return -1;\n%s}\n",
            I, I, I, I, seed, I, where, P, F, I, where, I, where, P, F, I, I);
        return;
    default:
        return;
    }
}

static void emit_check(struct gen *g, const struct cg_node *n)
{
    const struct rtinfo *ri = &g->info[idx_of(g, n)];

    put(g,
        "\nstatic int rt_check_%s(const capnp_struct *s, unsigned v, unsigned "
        "depth,\n"
        "    cgrt_ctx *ctx)\n{\n"
        "    (void)s;\n    (void)v;\n    (void)depth;\n    (void)ctx;\n",
        n->c_name);
    char *where = n->disc_count > 0 ? cg_printf("%s.%swhich()",
                                                ri->root->schema_name, ri->path)
                                    : NULL;
    emit_walk(g, n, check_field, true, "the union", where);
    put(g, "    return 0;\n}\n");
}

/* ------------------------------------------------------------------ */
/* text: the same values, by field name, for capnp encode              */
/* ------------------------------------------------------------------ */

/* The C expression of the enumerant name array of enum id. */
static char *enum_names(const struct gen *g, uint64_t id)
{
    const struct cg_node *e = cg_find(g->req, id);
    return cg_printf("rt_enum_%s",
                     e != NULL && e->c_name != NULL ? e->c_name : "unknown");
}

/* Write the elements of list level lv (as fill_elems). */
static void text_elems(struct gen *g, const struct cg_type *e, int lv, int d)
{
    const char *I = ind(d + 1);

    put(g, "%sfor (uint32_t i%d = 0; i%d < cnt%d; i%d++) {\n", ind(d), lv, lv,
        lv, lv);
    put(g, "%scgrt_sep(o);\n", I);
    switch (e->kind) {
    case T_VOID:
        put(g, "%scgrt_puts(o, \"void\");\n", I);
        break;
    case T_BOOL:
        put(g,
            "%scgrt_puts(o, ((cgrt_mix(s%d, v) + i%d) & 1u) != 0 ? \"true\" : "
            "\"false\");\n",
            I, lv, lv);
        break;
    case T_INT8:
    case T_INT16:
    case T_INT32:
    case T_INT64: {
        unsigned w = width_of(e->kind);
        put(g,
            "%scgrt_printf(o, \"%%lld\", (long "
            "long)cgrt_i%u(cgrt_bits(cgrt_seed(s%d, i%d), v, %u, 0)));\n",
            I, w, lv, lv, w);
        break;
    }
    case T_UINT8:
    case T_UINT16:
    case T_UINT32:
    case T_UINT64:
        put(g,
            "%scgrt_printf(o, \"%%llu\", (unsigned long "
            "long)cgrt_bits(cgrt_seed(s%d, i%d), v, %u, 0));\n",
            I, lv, lv, width_of(e->kind));
        break;
    case T_FLOAT32:
    case T_FLOAT64: {
        const char *sfx = e->kind == T_FLOAT32 ? "f32" : "f64";
        put(g, "%scgrt_put_%s(o, cgrt_%s(cgrt_seed(s%d, i%d), v, 0));\n", I,
            sfx, sfx, lv, lv);
        break;
    }
    case T_ENUM:
        put(g,
            "%scgrt_puts(o, %s[cgrt_enum(cgrt_seed(s%d, i%d), v, %uu, "
            "0xffffu)]);\n",
            I, enum_names(g, e->id), lv, lv, enum_count(g, e->id));
        break;
    case T_TEXT:
    case T_DATA: {
        bool text = e->kind == T_TEXT;
        put(g,
            "%s{\n%s    %s t[CGRT_TEXT_MAX];\n"
            "%s    size_t n = cgrt_%s(cgrt_seed(s%d, i%d), v, t, NULL, 0);\n"
            "%s    cgrt_put_%s(o, t, n);\n%s}\n",
            I, I, text ? "char" : "uint8_t", I, text ? "text" : "data", lv, lv,
            I, text ? "text" : "data", I);
        break;
    }
    case T_STRUCT: {
        const struct cg_node *sn = local_struct(g, e->id);
        put(g,
            "%scgrt_puts(o, \"(\");\n"
            "%srt_text_%s(o, cgrt_child(w%d, i%d + 1u), depth + 1, ctx);\n"
            "%scgrt_puts(o, \")\");\n",
            I, I, sn->c_name, lv, lv, I);
        break;
    }
    case T_LIST: {
        int n = lv + 1;
        put(g, "%s{\n", I);
        put_nested_level(g, I, lv);
        put(g, "%s    cgrt_puts(o, \"[\");\n", I);
        text_elems(g, e->elem, n, d + 2);
        put(g, "%s    cgrt_puts(o, \"]\");\n", I);
        put(g, "%s}\n", I);
        break;
    }
    default:
        break; /* capabilities and AnyPointer: never written */
    }
    put(g, "%s}\n", ind(d));
}

static void text_field(struct gen *g, const struct cg_node *n,
                       const struct cg_field *f, uint32_t fi, bool member,
                       int d)
{
    const char *F = f->name, *I = ind(d);
    const struct cg_type *t = &f->type;
    uint64_t seed = seed_of(n, fi);

    if (f->is_group) {
        const struct cg_node *gr = cg_find(g->req, f->group_id);
        put(g,
            "%scgrt_field(o, \"%s\");\n%scgrt_puts(o, \"(\");\n"
            "%srt_text_%s(o, v, depth, ctx);\n%scgrt_puts(o, \")\");\n",
            I, F, I, I, gr->c_name, I);
        return;
    }
    if (field_kind(g, f) == 2 || t->kind == T_INTERFACE)
        return; /* left null (capabilities: CGRT_NO_CAPS) */
    if (t->kind == T_VOID) {
        if (member)
            put(g, "%scgrt_field(o, \"%s\");\n%scgrt_puts(o, \"void\");\n", I,
                F, I);
        return;
    }
    if (cg_is_data(t->kind)) {
        char *val = data_value(g, f, seed);
        put(g, "%scgrt_field(o, \"%s\");\n", I, F);
        if (t->kind == T_FLOAT32 || t->kind == T_FLOAT64)
            put(g, "%scgrt_put_%s(o, %s);\n", I,
                t->kind == T_FLOAT32 ? "f32" : "f64", val);
        else if (t->kind == T_ENUM)
            put(g, "%scgrt_puts(o, %s[%s]);\n", I, enum_names(g, t->id), val);
        else if (t->kind == T_BOOL)
            put(g, "%scgrt_puts(o, %s != 0 ? \"true\" : \"false\");\n", I, val);
        else if (is_signed(t->kind))
            put(g, "%scgrt_printf(o, \"%%lld\", (long long)cgrt_i%u(%s));\n", I,
                width_of(t->kind), val);
        else
            put(g, "%scgrt_printf(o, \"%%llu\", (unsigned long long)%s);\n", I,
                val);
        return;
    }
    switch (t->kind) {
    case T_TEXT:
    case T_DATA: {
        bool text = t->kind == T_TEXT;
        put_bytes_value(g, I, f, seed);
        put(g,
            "%s    cgrt_field(o, \"%s\");\n%s    cgrt_put_%s(o, t, n);\n%s}\n",
            I, F, I, text ? "text" : "data", I);
        return;
    }
    case T_STRUCT: {
        const struct cg_node *sn = local_struct(g, t->id);
        if (member)
            put(g,
                "%scgrt_field(o, \"%s\");\n%scgrt_puts(o, \"(\");\n"
                "%sif (depth < ctx->max_depth)\n"
                "%s    rt_text_%s(o, cgrt_child(v, %" PRIu32
                "u), depth + 1, ctx);\n"
                "%scgrt_puts(o, \")\");\n",
                I, F, I, I, I, sn->c_name, fi + 1, I);
        else
            put(g,
                "%sif (depth < ctx->max_depth) {\n"
                "%s    cgrt_field(o, \"%s\");\n%s    cgrt_puts(o, \"(\");\n"
                "%s    rt_text_%s(o, cgrt_child(v, %" PRIu32
                "u), depth + 1, ctx);\n"
                "%s    cgrt_puts(o, \")\");\n%s}\n",
                I, I, F, I, I, sn->c_name, fi + 1, I, I);
        return;
    }
    case T_LIST: {
        bool structs = type_has_struct(t);
        if (type_cap(t))
            return; /* null with CGRT_NO_CAPS (never a chosen member) */
        put(g, "%s%s{\n", I,
            structs && !member ? "if (depth < ctx->max_depth) " : "");
        put_field_level(
            g, I, structs && member ? "depth < ctx->max_depth ? 2u : 0u" : "2u",
            seed, fi);
        put(g, "%s    cgrt_field(o, \"%s\");\n%s    cgrt_puts(o, \"[\");\n", I,
            F, I);
        text_elems(g, t->elem, 0, d + 1);
        put(g, "%s    cgrt_puts(o, \"]\");\n%s}\n", I, I);
        return;
    }
    default:
        return;
    }
}

static void emit_text(struct gen *g, const struct cg_node *n)
{
    put(g,
        "\nstatic void rt_text_%s(cgrt_buf *o, unsigned v, unsigned depth,\n"
        "    cgrt_ctx *ctx)\n{\n"
        "    (void)o;\n    (void)v;\n    (void)depth;\n    (void)ctx;\n",
        n->c_name);
    emit_walk(g, n, text_field, false, "the union member fill chooses", NULL);
    put(g, "}\n");
}

/* Enums whose names the text functions print, marked in used[]. */
static void mark_enums(const struct gen *g, const struct cg_type *t, bool *used)
{
    const struct cg_node *e;

    if (t->kind == T_LIST)
        mark_enums(g, t->elem, used);
    else if (t->kind == T_ENUM && (e = cg_find(g->req, t->id)) != NULL)
        used[e - g->req->nodes] = true;
}

static void mark_node_enums(const struct gen *g, const struct cg_node *n,
                            bool *used, int depth)
{
    for (uint32_t i = 0; i < n->nfields && depth < 32; i++) {
        const struct cg_field *f = &n->fields[i];
        const struct cg_node *gr;
        if (f->is_group) {
            if ((gr = cg_find(g->req, f->group_id)) != NULL)
                mark_node_enums(g, gr, used, depth + 1);
        } else if (field_kind(g, f) != 2) {
            mark_enums(g, &f->type, used);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Field serials and names                                             */
/* ------------------------------------------------------------------ */

/* Number the fields of n (a struct or a group of root) from *next. */
static int number_fields(struct gen *g, const struct cg_node *n,
                         const struct cg_node *root, const char *path,
                         uint32_t *next, const char **names, uint8_t *kinds,
                         int depth)
{
    struct rtinfo *ri = &g->info[idx_of(g, n)];

    if (depth > 32) {
        fprintf(stderr, "capnpc-c: %s: groups nested too deeply\n",
                root->schema_name);
        return -1;
    }
    ri->root = root;
    ri->path = path;
    ri->serial = cg_alloc((n->nfields + 1) * sizeof *ri->serial);
    for (uint32_t i = 0; i < n->nfields; i++) {
        const struct cg_field *f = &n->fields[i];
        if (f->is_group) {
            const struct cg_node *gr = cg_find(g->req, f->group_id);
            ri->serial[i] = NO_SERIAL;
            if (gr == NULL || gr->c_name == NULL) {
                fprintf(stderr, "capnpc-c: %s: group %s not in the request\n",
                        root->schema_name, f->name);
                return -1;
            }
            if (number_fields(g, gr, root, cg_printf("%s%s.", path, f->name),
                              next, names, kinds, depth + 1) != 0)
                return -1;
            continue;
        }
        if (*next >= 256u) { /* CGRT_MAX_FIELDS */
            fprintf(stderr,
                    "capnpc-c: %s has more than 256 fields; raise "
                    "CGRT_MAX_FIELDS\n",
                    root->schema_name);
            return -1;
        }
        ri->serial[i] = *next;
        names[*next] = cg_printf("%s%s", path, f->name);
        kinds[*next] = (uint8_t)field_kind(g, f);
        (*next)++;
    }
    return 0;
}

/* Emit fill and check for n and, first, its groups. */
static void emit_node(struct gen *g, const struct cg_node *n)
{
    for (uint32_t i = 0; i < n->nfields; i++)
        if (n->fields[i].is_group)
            emit_node(g, cg_find(g->req, n->fields[i].group_id));
    emit_fill(g, n);
    emit_check(g, n);
    emit_text(g, n);
}

static void declare_node(struct gen *g, const struct cg_node *n)
{
    for (uint32_t i = 0; i < n->nfields; i++)
        if (n->fields[i].is_group)
            declare_node(g, cg_find(g->req, n->fields[i].group_id));
    put(g,
        "static int rt_fill_%s(capnp_struct_builder *s, unsigned v, unsigned "
        "depth,\n"
        "    cgrt_ctx *ctx);\n",
        n->c_name);
    put(g,
        "static int rt_check_%s(const capnp_struct *s, unsigned v, unsigned "
        "depth,\n"
        "    cgrt_ctx *ctx);\n",
        n->c_name);
    put(g,
        "static void rt_text_%s(cgrt_buf *o, unsigned v, unsigned depth,\n"
        "    cgrt_ctx *ctx);\n",
        n->c_name);
}

/* ------------------------------------------------------------------ */
/* The mirror schema                                                   */
/* ------------------------------------------------------------------ */

/* The schema spelling of t in the mirror file, or NULL if it has none
 * there (a type of another file, a generic parameter). */
static char *mirror_type(const struct gen *g, const struct cg_type *t)
{
    static const char *const prim[] = {
        "Void",   "Bool",   "Int8",   "Int16",   "Int32",   "Int64", "UInt8",
        "UInt16", "UInt32", "UInt64", "Float32", "Float64", "Text",  "Data"};
    const struct cg_node *n;
    char *e;

    switch (t->kind) {
    case T_LIST:
        e = mirror_type(g, t->elem);
        return e != NULL ? cg_printf("List(%s)", e) : NULL;
    case T_INTERFACE:
        if (t->id == 0)
            return cg_strdup("Capability");
        /* fall through */
    case T_ENUM:
    case T_STRUCT:
        n = cg_find(g->req, t->id);
        if (n == NULL || n->file_id != g->file_id || n->schema_name == NULL ||
            n->scope_id == 0 || n->is_generic)
            return NULL;
        return cg_printf("Src.%s", n->schema_name);
    case T_ANYPTR:
        return cg_strdup("AnyPointer");
    default:
        return cg_strdup(prim[t->kind]);
    }
}

/* " = <default>" in schema syntax, "" for none, NULL if not expressible. */
static char *mirror_default(const struct gen *g, const struct cg_field *f)
{
    const struct cg_type *t = &f->type;
    uint64_t b = f->dflt.bits;

    if (t->kind == T_VOID)
        return cg_strdup("");
    if (cg_is_data(t->kind) && b == 0 && t->kind != T_FLOAT32 &&
        t->kind != T_FLOAT64)
        return cg_strdup("");
    switch (t->kind) {
    case T_BOOL:
        return cg_strdup(b ? " = true" : " = false");
    case T_INT8:
        return cg_printf(" = %d", (int)as_signed(b, 8));
    case T_INT16:
        return cg_printf(" = %d", (int)as_signed(b, 16));
    case T_INT32:
        return cg_printf(" = %" PRId64, as_signed(b, 32));
    case T_INT64:
        return cg_printf(" = %" PRId64, as_signed(b, 64));
    case T_UINT8:
    case T_UINT16:
    case T_UINT32:
    case T_UINT64:
        return cg_printf(" = %" PRIu64, b);
    case T_FLOAT32:
    case T_FLOAT64: {
        double d;
        if (t->kind == T_FLOAT32) {
            union {
                uint32_t u;
                float f;
            } x = {.u = (uint32_t)b};
            d = x.f;
        } else {
            union {
                uint64_t u;
                double f;
            } x = {.u = b};
            d = x.f;
        }
        if (b == 0)
            return cg_strdup("");
        if (isnan(d))
            return NULL; /* a NaN's payload is not expressible */
        if (isinf(d))
            return cg_strdup(d < 0 ? " = -inf" : " = inf");
        return cg_printf(t->kind == T_FLOAT32 ? " = %.9g" : " = %.17g", d);
    }
    case T_ENUM: {
        const struct cg_node *e = cg_find(g->req, t->id);
        if (e == NULL || b >= e->nenumerants)
            return NULL;
        return cg_printf(" = %s", e->enumerants[b].name);
    }
    case T_TEXT:
    case T_DATA: {
        if (!f->had_default || f->dflt.bytes == NULL)
            return cg_strdup("");
        char *s = cg_alloc(4 * f->dflt.len + 16), *p = s;
        p += sprintf(p, t->kind == T_TEXT ? " = \"" : " = 0x\"");
        for (size_t i = 0; i < f->dflt.len; i++) {
            uint8_t c = f->dflt.bytes[i];
            if (t->kind == T_DATA)
                p += sprintf(p, "%02x", c);
            else if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
                *p++ = (char)c;
            else
                p += sprintf(p, "\\%03o", c);
        }
        strcpy(p, "\"");
        return s;
    }
    default:
        /* struct, list, interface, AnyPointer defaults: not expressed */
        return f->had_default && f->dflt.bytes != NULL ? NULL : cg_strdup("");
    }
}

/* "Console.write$Params" -> "ConsoleWriteParams". */
static char *mirror_name(const char *schema_name)
{
    char *out = cg_alloc(strlen(schema_name) + 1), *q = out;
    bool up = true;

    for (const char *p = schema_name; *p != '\0'; p++) {
        if (*p == '.' || *p == '$') {
            up = true;
            continue;
        }
        *q++ = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        up = false;
    }
    *q = '\0';
    return out;
}

/* The mirror declaration of implicit method struct n, or NULL if it
 * cannot be written (then only the C round trip covers it). */
static char *mirror_struct(const struct gen *g, const struct cg_node *n,
                           const char *name)
{
    char *body = cg_printf("struct %s {  # %s\n", name, n->schema_name);

    if (n->is_generic || n->disc_count > 0)
        return NULL;
    for (uint32_t i = 0; i < n->nfields; i++) {
        const struct cg_field *f = &n->fields[i];
        char *ty, *df;
        if (f->is_group || (f->ordinal >= 0 && (uint32_t)f->ordinal != i))
            return NULL;
        if ((ty = mirror_type(g, &f->type)) == NULL ||
            (df = mirror_default(g, f)) == NULL)
            return NULL;
        body =
            cg_printf("%s  %s @%" PRIu32 " :%s%s;\n", body, f->name, i, ty, df);
    }
    return cg_printf("%s}\n", body);
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

int cg_emit_roundtrip(const struct cg_request *req, const struct cg_file *fl,
                      const char *out_base)
{
    const struct cg_node *file = cg_find(req, fl->id);
    const struct cg_node **list = cg_alloc((req->nnodes + 1) * sizeof *list);
    struct gen g = {.req = req, .file_id = fl->id};
    const char ***names;
    uint8_t **kinds;
    uint32_t *nf;
    char **mirror, **mname;
    uint32_t n = 0, nmirror = 0, nnamed = 0;
    const char *base = cg_base_name(out_base), *pfx = file->c_name;
    char *path, *tmp;

    if (cg_make_dirs(out_base) != 0)
        return -1;
    g.info = cg_alloc((req->nnodes + 1) * sizeof *g.info);
    for (uint32_t i = 0; i < req->nnodes; i++) {
        const struct cg_node *x = &req->nodes[i];
        if (x->c_name != NULL && x->file_id == fl->id && x->kind == CG_STRUCT &&
            !x->is_group)
            list[n++] = x;
    }
    qsort(list, n, sizeof *list, cg_cmp_order);

    names = cg_alloc((n + 1) * sizeof *names);
    kinds = cg_alloc((n + 1) * sizeof *kinds);
    nf = cg_alloc((n + 1) * sizeof *nf);
    mirror = cg_alloc((n + 1) * sizeof *mirror);
    mname = cg_alloc((n + 1) * sizeof *mname);
    for (uint32_t i = 0; i < n; i++) {
        names[i] = cg_alloc(256 * sizeof **names);
        kinds[i] = cg_alloc(256);
        if (number_fields(&g, list[i], list[i], "", &nf[i], names[i], kinds[i],
                          0) != 0)
            return -1;
        if (list[i]->scope_id != 0) {
            nnamed += !list[i]->is_generic;
            continue;
        }
        mname[i] = mirror_name(list[i]->schema_name);
        for (uint32_t j = 0; j < i; j++)
            if (mname[j] != NULL && strcmp(mname[j], mname[i]) == 0)
                mname[i] = cg_printf("%sX%" PRIu32, mname[i], i);
        mirror[i] = mirror_struct(&g, list[i], mname[i]);
        nmirror += mirror[i] != NULL;
    }

    /* The .h first: the build rule names it, the others are newer. */
    /* X.capnp.roundtrip.h */
    path = cg_printf("%s.roundtrip.h", out_base);
    if ((g.f = cg_open_tmp(path, &tmp)) == NULL)
        return -1;
    put(&g,
        "/* %s.roundtrip.h - generated by capnpc-c (CAPNPC_C_ROUNDTRIP=1)\n"
        " * from %s; do not edit. Round-trip test code for every struct:\n"
        " * see tools/capnpc-c/roundtrip-support.h. */\n"
        "#ifndef CAPNPC_C_%s_CAPNP_ROUNDTRIP_H\n#define "
        "CAPNPC_C_%s_CAPNP_ROUNDTRIP_H\n\n"
        "#include \"roundtrip-support.h\"\n\n"
        "/* %" PRIu32 " structs: %" PRIu32 " named, %" PRIu32
        " in the mirror schema. */\n"
        "extern const cgrt_schema %s_rt_schema;\n\n#endif\n",
        base, fl->filename, file->macro, file->macro, n, nnamed, nmirror, pfx);
    if (cg_close_tmp(g.f, tmp, path) != 0)
        return -1;

    /* X.capnp.roundtrip.capnp */
    path = cg_printf("%s.roundtrip.capnp", out_base);
    if ((g.f = cg_open_tmp(path, &tmp)) == NULL)
        return -1;
    put(&g,
        "# %s.roundtrip.capnp - generated by capnpc-c (CAPNPC_C_ROUNDTRIP=1)\n"
        "# from %s; do not edit.\n"
        "#\n"
        "# The implicit $Params/$Results structs of %s, which capnp\n"
        "# encode/decode cannot name, declared again with the same fields,\n"
        "# ordinals, types and defaults (so with the same layout) under names\n"
        "# they can. Use with -I<directory of %s>.\n\n",
        base, fl->filename, fl->filename, fl->filename);
    put(&g, "@0x%016" PRIx64 ";\n\nusing Src = import \"/%s\";\n",
        (uint64_t)((fl->id * 0x9e3779b97f4a7c15ull ^ 0x5cc0ffee5cc0ffeeull) |
                   (1ull << 63)),
        fl->filename);
    for (uint32_t i = 0; i < n; i++)
        if (mirror[i] != NULL)
            put(&g, "\n%s", mirror[i]);
    if (cg_close_tmp(g.f, tmp, path) != 0)
        return -1;

    /* X.capnp.roundtrip.c */
    path = cg_printf("%s.roundtrip.c", out_base);
    if ((g.f = cg_open_tmp(path, &tmp)) == NULL)
        return -1;
    put(&g,
        "/* %s.roundtrip.c - generated by capnpc-c (CAPNPC_C_ROUNDTRIP=1)\n"
        " * from %s; do not edit. Per struct: rt_fill_* sets every field\n"
        " * with the generated setters, rt_check_* reads it back with the\n"
        " * generated getters (tools/capnpc-c/roundtrip-support.h). */\n"
        "#include \"%s.h\"\n#include \"%s.roundtrip.h\"\n\n",
        base, fl->filename, base, base);
    {
        bool *used = cg_alloc((req->nnodes + 1) * sizeof *used);
        for (uint32_t i = 0; i < n; i++)
            mark_node_enums(&g, list[i], used, 0);
        for (uint32_t i = 0; i < req->nnodes; i++) {
            const struct cg_node *e = &req->nodes[i];
            if (!used[i] || e->c_name == NULL)
                continue;
            put(&g, "static const char *const rt_enum_%s[] = {", e->c_name);
            for (uint32_t j = 0; j < e->nenumerants; j++)
                put(&g, "%s\"%s\"", j ? ", " : "", e->enumerants[j].name);
            put(&g, "%s};\n", e->nenumerants ? "" : "\"0\"");
        }
        put(&g, "\n");
    }
    for (uint32_t i = 0; i < n; i++)
        declare_node(&g, list[i]);
    for (uint32_t i = 0; i < n; i++) {
        put(&g, "\n/* ==== %s (0x%016" PRIx64 ") ==== */\n",
            list[i]->schema_name, list[i]->id);
        emit_node(&g, list[i]);
        put(&g, "\nstatic const char *const rt_names_%s[] = {",
            list[i]->c_name);
        for (uint32_t j = 0; j < nf[i]; j++)
            put(&g, "\n    \"%s\",", names[i][j]);
        put(&g, "%s};\n", nf[i] ? "\n" : " NULL");
        put(&g, "static const uint8_t rt_kinds_%s[] = {", list[i]->c_name);
        for (uint32_t j = 0; j < nf[i]; j++)
            put(&g, "%s%u", j ? ", " : "", kinds[i][j]);
        put(&g, "%s};\n", nf[i] ? "" : "0");
    }
    put(&g, "\nstatic const cgrt_struct rt_structs[] = {\n");
    for (uint32_t i = 0; i < n; i++) {
        const struct cg_node *x = list[i];
        const char *ty = x->scope_id != 0 && !x->is_generic ? x->schema_name
                         : mirror[i] != NULL                ? mname[i]
                                                            : NULL;
        put(&g,
            "    {\"%s\", %s%s%s, %s, %s_ID, %s_DATA_WORDS, %s_POINTERS, %uu, "
            "%s, %" PRIu32 "u,\n"
            "     rt_names_%s, rt_kinds_%s, %s_init_root, rt_fill_%s, "
            "rt_check_%s,\n"
            "     rt_text_%s},\n",
            x->schema_name, ty ? "\"" : "", ty ? ty : "NULL", ty ? "\"" : "",
            x->scope_id == 0 && mirror[i] != NULL ? "true" : "false", x->macro,
            x->macro, x->macro, variants_of(&g, x, 0),
            empty_rejects(&g, x, 0) ? "true" : "false", nf[i], x->c_name,
            x->c_name, x->c_name, x->c_name, x->c_name, x->c_name);
    }
    if (n == 0)
        put(&g, "    {NULL, NULL, false, 0, 0, 0, 0, false, 0, NULL, NULL, "
                "NULL, NULL, NULL, NULL},\n");
    put(&g,
        "};\n\nconst cgrt_schema %s_rt_schema = {\n"
        "    \"%s\", \"%s.roundtrip.capnp\", rt_structs, %" PRIu32 "u,\n};\n",
        pfx, fl->filename, base, n);
    return cg_close_tmp(g.f, tmp, path);
}
