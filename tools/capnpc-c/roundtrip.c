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
 *
 * This file numbers the fields, writes the mirror schema and the three
 * output files; the rt_fill, rt_check and rt_text code is written by
 * roundtrip-fill.c, roundtrip-check.c and roundtrip-text.c over the
 * helpers of roundtrip-types.c (declared in roundtrip.h).
 */
#include "roundtrip.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Number the fields of n (a struct or a group of root) from *next. */
static int number_fields(struct gen *g, const struct cg_node *n,
                         const struct cg_node *root, const char *path,
                         uint32_t *next, const char **names, uint8_t *kinds,
                         int depth)
{
    struct rtinfo *ri = &g->info[rtt_idx_of(g, n)];

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
        kinds[*next] = (uint8_t)rtt_field_kind(g, f);
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
    fill_emit(g, n);
    check_emit(g, n);
    text_emit(g, n);
}

static void declare_node(struct gen *g, const struct cg_node *n)
{
    for (uint32_t i = 0; i < n->nfields; i++)
        if (n->fields[i].is_group)
            declare_node(g, cg_find(g->req, n->fields[i].group_id));
    rt_put(
        g,
        "static int rt_fill_%s(capnp_struct_builder *s, unsigned v, unsigned "
        "depth,\n"
        "    cgrt_ctx *ctx);\n",
        n->c_name);
    rt_put(g,
           "static int rt_check_%s(const capnp_struct *s, unsigned v, unsigned "
           "depth,\n"
           "    cgrt_ctx *ctx);\n",
           n->c_name);
    rt_put(g,
           "static void rt_text_%s(cgrt_buf *o, unsigned v, unsigned depth,\n"
           "    cgrt_ctx *ctx);\n",
           n->c_name);
}

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
        return cg_printf(" = %d", (int)rtt_as_signed(b, 8));
    case T_INT16:
        return cg_printf(" = %d", (int)rtt_as_signed(b, 16));
    case T_INT32:
        return cg_printf(" = %" PRId64, rtt_as_signed(b, 32));
    case T_INT64:
        return cg_printf(" = %" PRId64, rtt_as_signed(b, 64));
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
    rt_put(&g,
           "/* %s.roundtrip.h - generated by capnpc-c (CAPNPC_C_ROUNDTRIP=1)\n"
           " * from %s; do not edit. Round-trip test code for every struct:\n"
           " * see tools/capnpc-c/roundtrip-support.h. */\n"
           "#ifndef CAPNPC_C_%s_CAPNP_ROUNDTRIP_H\n#define "
           "CAPNPC_C_%s_CAPNP_ROUNDTRIP_H\n\n"
           "#include \"roundtrip-support.h\"\n\n"
           "/* %" PRIu32 " structs: %" PRIu32 " named, %" PRIu32
           " in the mirror schema. */\n"
           "extern const cgrt_schema %s_rt_schema;\n\n#endif\n",
           base, fl->filename, file->macro, file->macro, n, nnamed, nmirror,
           pfx);
    if (cg_close_tmp(g.f, tmp, path) != 0)
        return -1;

    /* X.capnp.roundtrip.capnp */
    path = cg_printf("%s.roundtrip.capnp", out_base);
    if ((g.f = cg_open_tmp(path, &tmp)) == NULL)
        return -1;
    rt_put(
        &g,
        "# %s.roundtrip.capnp - generated by capnpc-c (CAPNPC_C_ROUNDTRIP=1)\n"
        "# from %s; do not edit.\n"
        "#\n"
        "# The implicit $Params/$Results structs of %s, which capnp\n"
        "# encode/decode cannot name, declared again with the same fields,\n"
        "# ordinals, types and defaults (so with the same layout) under names\n"
        "# they can. Use with -I<directory of %s>.\n\n",
        base, fl->filename, fl->filename, fl->filename);
    rt_put(&g, "@0x%016" PRIx64 ";\n\nusing Src = import \"/%s\";\n",
           (uint64_t)((fl->id * 0x9e3779b97f4a7c15ull ^ 0x5cc0ffee5cc0ffeeull) |
                      (1ull << 63)),
           fl->filename);
    for (uint32_t i = 0; i < n; i++)
        if (mirror[i] != NULL)
            rt_put(&g, "\n%s", mirror[i]);
    if (cg_close_tmp(g.f, tmp, path) != 0)
        return -1;

    /* X.capnp.roundtrip.c */
    path = cg_printf("%s.roundtrip.c", out_base);
    if ((g.f = cg_open_tmp(path, &tmp)) == NULL)
        return -1;
    rt_put(&g,
           "/* %s.roundtrip.c - generated by capnpc-c (CAPNPC_C_ROUNDTRIP=1)\n"
           " * from %s; do not edit. Per struct: rt_fill_* sets every field\n"
           " * with the generated setters, rt_check_* reads it back with the\n"
           " * generated getters (tools/capnpc-c/roundtrip-support.h). */\n"
           "#include \"%s.h\"\n#include \"%s.roundtrip.h\"\n\n",
           base, fl->filename, base, base);
    {
        bool *used = cg_alloc((req->nnodes + 1) * sizeof *used);
        for (uint32_t i = 0; i < n; i++)
            text_mark_node_enums(&g, list[i], used, 0);
        for (uint32_t i = 0; i < req->nnodes; i++) {
            const struct cg_node *e = &req->nodes[i];
            if (!used[i] || e->c_name == NULL)
                continue;
            rt_put(&g, "static const char *const rt_enum_%s[] = {", e->c_name);
            for (uint32_t j = 0; j < e->nenumerants; j++)
                rt_put(&g, "%s\"%s\"", j ? ", " : "", e->enumerants[j].name);
            rt_put(&g, "%s};\n", e->nenumerants ? "" : "\"0\"");
        }
        rt_put(&g, "\n");
    }
    for (uint32_t i = 0; i < n; i++)
        declare_node(&g, list[i]);
    for (uint32_t i = 0; i < n; i++) {
        rt_put(&g, "\n/* ==== %s (0x%016" PRIx64 ") ==== */\n",
               list[i]->schema_name, list[i]->id);
        emit_node(&g, list[i]);
        rt_put(&g, "\nstatic const char *const rt_names_%s[] = {",
               list[i]->c_name);
        for (uint32_t j = 0; j < nf[i]; j++)
            rt_put(&g, "\n    \"%s\",", names[i][j]);
        rt_put(&g, "%s};\n", nf[i] ? "\n" : " NULL");
        rt_put(&g, "static const uint8_t rt_kinds_%s[] = {", list[i]->c_name);
        for (uint32_t j = 0; j < nf[i]; j++)
            rt_put(&g, "%s%u", j ? ", " : "", kinds[i][j]);
        rt_put(&g, "%s};\n", nf[i] ? "" : "0");
    }
    rt_put(&g, "\nstatic const cgrt_struct rt_structs[] = {\n");
    for (uint32_t i = 0; i < n; i++) {
        const struct cg_node *x = list[i];
        const char *ty = x->scope_id != 0 && !x->is_generic ? x->schema_name
                         : mirror[i] != NULL                ? mname[i]
                                                            : NULL;
        rt_put(
            &g,
            "    {\"%s\", %s%s%s, %s, %s_ID, %s_DATA_WORDS, %s_POINTERS, %uu, "
            "%s, %" PRIu32 "u,\n"
            "     rt_names_%s, rt_kinds_%s, %s_init_root, rt_fill_%s, "
            "rt_check_%s,\n"
            "     rt_text_%s},\n",
            x->schema_name, ty ? "\"" : "", ty ? ty : "NULL", ty ? "\"" : "",
            x->scope_id == 0 && mirror[i] != NULL ? "true" : "false", x->macro,
            x->macro, x->macro, rtt_variants_of(&g, x, 0),
            rtt_empty_rejects(&g, x, 0) ? "true" : "false", nf[i], x->c_name,
            x->c_name, x->c_name, x->c_name, x->c_name, x->c_name);
    }
    if (n == 0)
        rt_put(&g, "    {NULL, NULL, false, 0, 0, 0, 0, false, 0, NULL, NULL, "
                   "NULL, NULL, NULL, NULL},\n");
    rt_put(&g,
           "};\n\nconst cgrt_schema %s_rt_schema = {\n"
           "    \"%s\", \"%s.roundtrip.capnp\", rt_structs, %" PRIu32
           "u,\n};\n",
           pfx, fl->filename, base, n);
    return cg_close_tmp(g.f, tmp, path);
}
