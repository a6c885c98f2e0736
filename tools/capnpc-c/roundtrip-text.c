/*
 * roundtrip-text.c - the generated rt_text_S functions: the values
 * rt_fill_S sets written as schema text by field name, for capnp encode,
 * and the enums whose names they print (roundtrip.c describes the
 * generated files).
 */
#include "roundtrip.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    const char *I = rtt_ind(d + 1);

    rt_put(g, "%sfor (uint32_t i%d = 0; i%d < cnt%d; i%d++) {\n", rtt_ind(d),
           lv, lv, lv, lv);
    rt_put(g, "%scgrt_sep(o);\n", I);
    switch (e->kind) {
    case T_VOID:
        rt_put(g, "%scgrt_puts(o, \"void\");\n", I);
        break;
    case T_BOOL:
        rt_put(
            g,
            "%scgrt_puts(o, ((cgrt_mix(s%d, v) + i%d) & 1u) != 0 ? \"true\" : "
            "\"false\");\n",
            I, lv, lv);
        break;
    case T_INT8:
    case T_INT16:
    case T_INT32:
    case T_INT64: {
        unsigned w = rtt_width_of(e->kind);
        rt_put(g,
               "%scgrt_printf(o, \"%%lld\", (long "
               "long)cgrt_i%u(cgrt_bits(cgrt_seed(s%d, i%d), v, %u, 0)));\n",
               I, w, lv, lv, w);
        break;
    }
    case T_UINT8:
    case T_UINT16:
    case T_UINT32:
    case T_UINT64:
        rt_put(g,
               "%scgrt_printf(o, \"%%llu\", (unsigned long "
               "long)cgrt_bits(cgrt_seed(s%d, i%d), v, %u, 0));\n",
               I, lv, lv, rtt_width_of(e->kind));
        break;
    case T_FLOAT32:
    case T_FLOAT64: {
        const char *sfx = e->kind == T_FLOAT32 ? "f32" : "f64";
        rt_put(g, "%scgrt_put_%s(o, cgrt_%s(cgrt_seed(s%d, i%d), v, 0));\n", I,
               sfx, sfx, lv, lv);
        break;
    }
    case T_ENUM:
        rt_put(g,
               "%scgrt_puts(o, %s[cgrt_enum(cgrt_seed(s%d, i%d), v, %uu, "
               "0xffffu)]);\n",
               I, enum_names(g, e->id), lv, lv, rtt_enum_count(g, e->id));
        break;
    case T_TEXT:
    case T_DATA: {
        bool text = e->kind == T_TEXT;
        rt_put(g,
               "%s{\n%s    %s t[CGRT_TEXT_MAX];\n"
               "%s    size_t n = cgrt_%s(cgrt_seed(s%d, i%d), v, t, NULL, 0);\n"
               "%s    cgrt_put_%s(o, t, n);\n%s}\n",
               I, I, text ? "char" : "uint8_t", I, text ? "text" : "data", lv,
               lv, I, text ? "text" : "data", I);
        break;
    }
    case T_STRUCT: {
        const struct cg_node *sn = rtt_local_struct(g, e->id);
        rt_put(g,
               "%scgrt_puts(o, \"(\");\n"
               "%srt_text_%s(o, cgrt_child(w%d, i%d + 1u), depth + 1, ctx);\n"
               "%scgrt_puts(o, \")\");\n",
               I, I, sn->c_name, lv, lv, I);
        break;
    }
    case T_LIST: {
        int n = lv + 1;
        rt_put(g, "%s{\n", I);
        rtt_put_nested_level(g, I, lv);
        rt_put(g, "%s    cgrt_puts(o, \"[\");\n", I);
        text_elems(g, e->elem, n, d + 2);
        rt_put(g, "%s    cgrt_puts(o, \"]\");\n", I);
        rt_put(g, "%s}\n", I);
        break;
    }
    default:
        break; /* capabilities and AnyPointer: never written */
    }
    rt_put(g, "%s}\n", rtt_ind(d));
}

static void text_field(struct gen *g, const struct cg_node *n,
                       const struct cg_field *f, uint32_t fi, bool member,
                       int d)
{
    const char *F = f->name, *I = rtt_ind(d);
    const struct cg_type *t = &f->type;
    uint64_t seed = rtt_seed_of(n, fi);

    if (f->is_group) {
        const struct cg_node *gr = cg_find(g->req, f->group_id);
        rt_put(g,
               "%scgrt_field(o, \"%s\");\n%scgrt_puts(o, \"(\");\n"
               "%srt_text_%s(o, v, depth, ctx);\n%scgrt_puts(o, \")\");\n",
               I, F, I, I, gr->c_name, I);
        return;
    }
    if (rtt_field_kind(g, f) == 2 || t->kind == T_INTERFACE)
        return; /* left null (capabilities: CGRT_NO_CAPS) */
    if (t->kind == T_VOID) {
        if (member)
            rt_put(g, "%scgrt_field(o, \"%s\");\n%scgrt_puts(o, \"void\");\n",
                   I, F, I);
        return;
    }
    if (cg_is_data(t->kind)) {
        char *val = rtt_data_value(g, f, seed);
        rt_put(g, "%scgrt_field(o, \"%s\");\n", I, F);
        if (t->kind == T_FLOAT32 || t->kind == T_FLOAT64)
            rt_put(g, "%scgrt_put_%s(o, %s);\n", I,
                   t->kind == T_FLOAT32 ? "f32" : "f64", val);
        else if (t->kind == T_ENUM)
            rt_put(g, "%scgrt_puts(o, %s[%s]);\n", I, enum_names(g, t->id),
                   val);
        else if (t->kind == T_BOOL)
            rt_put(g, "%scgrt_puts(o, %s != 0 ? \"true\" : \"false\");\n", I,
                   val);
        else if (rtt_is_signed(t->kind))
            rt_put(g, "%scgrt_printf(o, \"%%lld\", (long long)cgrt_i%u(%s));\n",
                   I, rtt_width_of(t->kind), val);
        else
            rt_put(g, "%scgrt_printf(o, \"%%llu\", (unsigned long long)%s);\n",
                   I, val);
        return;
    }
    switch (t->kind) {
    case T_TEXT:
    case T_DATA: {
        bool text = t->kind == T_TEXT;
        rtt_put_bytes_value(g, I, f, seed);
        rt_put(
            g,
            "%s    cgrt_field(o, \"%s\");\n%s    cgrt_put_%s(o, t, n);\n%s}\n",
            I, F, I, text ? "text" : "data", I);
        return;
    }
    case T_STRUCT: {
        const struct cg_node *sn = rtt_local_struct(g, t->id);
        if (member)
            rt_put(g,
                   "%scgrt_field(o, \"%s\");\n%scgrt_puts(o, \"(\");\n"
                   "%sif (depth < ctx->max_depth)\n"
                   "%s    rt_text_%s(o, cgrt_child(v, %" PRIu32
                   "u), depth + 1, ctx);\n"
                   "%scgrt_puts(o, \")\");\n",
                   I, F, I, I, I, sn->c_name, fi + 1, I);
        else
            rt_put(g,
                   "%sif (depth < ctx->max_depth) {\n"
                   "%s    cgrt_field(o, \"%s\");\n%s    cgrt_puts(o, \"(\");\n"
                   "%s    rt_text_%s(o, cgrt_child(v, %" PRIu32
                   "u), depth + 1, ctx);\n"
                   "%s    cgrt_puts(o, \")\");\n%s}\n",
                   I, I, F, I, I, sn->c_name, fi + 1, I, I);
        return;
    }
    case T_LIST: {
        bool structs = rtt_type_has_struct(t);
        if (rtt_type_cap(t))
            return; /* null with CGRT_NO_CAPS (never a chosen member) */
        rt_put(g, "%s%s{\n", I,
               structs && !member ? "if (depth < ctx->max_depth) " : "");
        rtt_put_field_level(
            g, I, structs && member ? "depth < ctx->max_depth ? 2u : 0u" : "2u",
            seed, fi);
        rt_put(g, "%s    cgrt_field(o, \"%s\");\n%s    cgrt_puts(o, \"[\");\n",
               I, F, I);
        text_elems(g, t->elem, 0, d + 1);
        rt_put(g, "%s    cgrt_puts(o, \"]\");\n%s}\n", I, I);
        return;
    }
    default:
        return;
    }
}

void text_emit(struct gen *g, const struct cg_node *n)
{
    rt_put(g,
           "\nstatic void rt_text_%s(cgrt_buf *o, unsigned v, unsigned depth,\n"
           "    cgrt_ctx *ctx)\n{\n"
           "    (void)o;\n    (void)v;\n    (void)depth;\n    (void)ctx;\n",
           n->c_name);
    rtt_walk(g, n, text_field, false, "the union member fill chooses", NULL);
    rt_put(g, "}\n");
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

void text_mark_node_enums(const struct gen *g, const struct cg_node *n,
                          bool *used, int depth)
{
    for (uint32_t i = 0; i < n->nfields && depth < 32; i++) {
        const struct cg_field *f = &n->fields[i];
        const struct cg_node *gr;
        if (f->is_group) {
            if ((gr = cg_find(g->req, f->group_id)) != NULL)
                text_mark_node_enums(g, gr, used, depth + 1);
        } else if (rtt_field_kind(g, f) != 2) {
            mark_enums(g, &f->type, used);
        }
    }
}
