/*
 * roundtrip-fill.c - the generated rt_fill_S functions: statements that
 * set every field of S with the generated setters, per variant
 * (roundtrip.c describes the generated files).
 */
#include "roundtrip.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fill the elements of list l<lv> (count in cnt<lv>, seed s<lv>, struct
 * variant w<lv>) of element type e. */
static void fill_elems(struct gen *g, const struct cg_type *e, int lv, int d)
{
    const char *I = rtt_ind(d + 1);

    rt_put(g, "%sfor (uint32_t i%d = 0; i%d < cnt%d; i%d++) {\n", rtt_ind(d),
           lv, lv, lv, lv);
    switch (e->kind) {
    case T_VOID:
        break;
    case T_BOOL:
        rt_put(
            g,
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
        rt_put(g,
               "%scapnp_list_set_u%u(&l%d, i%d, "
               "(uint%u_t)cgrt_bits(cgrt_seed(s%d, i%d), v, %u, 0));\n",
               I, rtt_width_of(e->kind), lv, lv, rtt_width_of(e->kind), lv, lv,
               rtt_width_of(e->kind));
        break;
    case T_FLOAT32:
    case T_FLOAT64: {
        bool single = e->kind == T_FLOAT32;
        rt_put(g,
               "%scapnp_list_set_%s(&l%d, i%d, cgrt_%s(cgrt_seed(s%d, i%d), v, "
               "0));\n",
               I, single ? "f32" : "f64", lv, lv, single ? "f32" : "f64", lv,
               lv);
        break;
    }
    case T_ENUM:
        rt_put(
            g,
            "%scapnp_list_set_u16(&l%d, i%d, cgrt_enum(cgrt_seed(s%d, i%d), v, "
            "%uu, 0xffffu));\n",
            I, lv, lv, lv, lv, rtt_enum_count(g, e->id));
        break;
    case T_TEXT:
        rt_put(
            g,
            "%s{\n%s    char t[CGRT_TEXT_MAX];\n"
            "%s    size_t n = cgrt_text(cgrt_seed(s%d, i%d), v, t, NULL, 0);\n"
            "%s    CGRT_RC(rc, capnp_list_set_text(&l%d, i%d, t, n));\n%s}\n",
            I, I, I, lv, lv, I, lv, lv, I);
        break;
    case T_DATA:
        rt_put(
            g,
            "%s{\n%s    uint8_t t[CGRT_TEXT_MAX];\n"
            "%s    size_t n = cgrt_data(cgrt_seed(s%d, i%d), v, t, NULL, 0);\n"
            "%s    CGRT_RC(rc, capnp_list_set_data(&l%d, i%d, t, n));\n%s}\n",
            I, I, I, lv, lv, I, lv, lv, I);
        break;
    case T_INTERFACE:
        rt_put(g,
               "%sCGRT_RC(rc, capnp_list_set_cap(&l%d, i%d, "
               "cgrt_cap(cgrt_seed(s%d, i%d), v)));\n",
               I, lv, lv, lv, lv);
        break;
    case T_STRUCT: {
        const struct cg_node *sn = rtt_local_struct(g, e->id);
        rt_put(
            g,
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
        rt_put(g, "%s{\n", I);
        rt_put(g, "%s    capnp_list_builder l%d;\n", I, n);
        rtt_put_nested_level(g, I, lv);
        if (x->kind == T_STRUCT) {
            const struct cg_node *sn = rtt_local_struct(g, x->id);
            rt_put(g,
                   "%s    CGRT_RC(rc, capnp_list_init_struct_list(&l%d, i%d, "
                   "cnt%d, %u, %u, &l%d));\n",
                   I, lv, lv, n, sn->data_words, sn->ptr_count, n);
        } else {
            rt_put(
                g,
                "%s    CGRT_RC(rc, capnp_list_init_list(&l%d, i%d, %s, cnt%d, "
                "&l%d));\n",
                I, lv, lv, cg_elem_macro(x), n, n);
        }
        fill_elems(g, x, n, d + 2);
        rt_put(g, "%s}\n", I);
        break;
    }
    default:
        break; /* AnyPointer: never reached (type_any) */
    }
    rt_put(g, "%s}\n", rtt_ind(d));
}

/* Statements that set field f of node n (P its C name). member: f is the
 * union member chosen by this variant. */
static void fill_field(struct gen *g, const struct cg_node *n,
                       const struct cg_field *f, uint32_t fi, bool member,
                       int d)
{
    const char *P = n->c_name, *F = f->name, *I = rtt_ind(d);
    const struct cg_type *t = &f->type;
    uint64_t seed = rtt_seed_of(n, fi);
    uint32_t serial = g->info[rtt_idx_of(g, n)].serial[fi];

    if (f->is_group) {
        const struct cg_node *gr = cg_find(g->req, f->group_id);
        if (member)
            rt_put(g, "%s%s_init_%s(s);\n", I, P, F);
        rt_put(g, "%sCGRT_RC(rc, rt_fill_%s(s, v, depth, ctx));\n", I,
               gr->c_name);
        return;
    }
    if (rtt_field_kind(g, f) == 2) {
        rt_put(
            g,
            "%s/* %s: left null (AnyPointer or a struct of another file) */\n",
            I, F);
        return;
    }
    rt_put(g, "%sCGRT_SET(ctx, depth, %" PRIu32 "u);\n", I, serial);
    if (t->kind == T_VOID) {
        if (member)
            rt_put(g, "%s%s_set_%s(s);\n", I, P, F);
        return;
    }
    if (cg_is_data(t->kind)) {
        unsigned w = rtt_width_of(t->kind);
        char *val = rtt_data_value(g, f, seed);
        if (t->kind == T_BOOL)
            val = cg_printf("%s != 0", val);
        else if (rtt_is_signed(t->kind))
            val = cg_printf("cgrt_i%u(%s)", w, val);
        else if (t->kind != T_FLOAT32 && t->kind != T_FLOAT64 &&
                 t->kind != T_ENUM)
            val = cg_printf("(uint%u_t)%s", w, val);
        rt_put(g, "%s%s_set_%s(s, %s);\n", I, P, F, val);
        return;
    }
    switch (t->kind) {
    case T_TEXT:
    case T_DATA:
        rtt_put_bytes_value(g, I, f, seed);
        rt_put(g, "%s    CGRT_RC(rc, %s_set_%s(s, t, n));\n%s}\n", I, P, F, I);
        return;
    case T_STRUCT: {
        const struct cg_node *sn = rtt_local_struct(g, t->id);
        if (member) {
            rt_put(g,
                   "%s{\n%s    capnp_struct_builder c;\n"
                   "%s    CGRT_RC(rc, %s_init_%s(s, &c));\n"
                   "%s    if (depth < ctx->max_depth)\n"
                   "%s        CGRT_RC(rc, rt_fill_%s(&c, cgrt_child(v, %" PRIu32
                   "u), depth + 1, ctx));\n"
                   "%s}\n",
                   I, I, I, P, F, I, I, sn->c_name, fi + 1, I);
        } else {
            rt_put(
                g,
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
        bool caps = rtt_type_cap(t), structs = rtt_type_has_struct(t);
        char *cond = NULL;
        if (caps && !member)
            cond = cg_strdup("!(ctx->flags & CGRT_NO_CAPS)");
        if (structs && !member)
            cond = cond != NULL
                       ? cg_printf("%s && depth < ctx->max_depth", cond)
                       : cg_strdup("depth < ctx->max_depth");
        rt_put(g, "%s%s{\n", I,
               cond != NULL ? cg_printf("if (%s) ", cond) : "");
        rt_put(g, "%s    capnp_list_builder l0;\n", I);
        rtt_put_field_level(
            g, I, structs && member ? "depth < ctx->max_depth ? 2u : 0u" : "2u",
            seed, fi);
        rt_put(g, "%s    CGRT_RC(rc, %s_init_%s(s, cnt0, &l0));\n", I, P, F);
        fill_elems(g, t->elem, 0, d + 1);
        rt_put(g, "%s}\n", I);
        return;
    }
    case T_INTERFACE:
        rt_put(g,
               "%sif (!(ctx->flags & CGRT_NO_CAPS))\n"
               "%s    CGRT_RC(rc, %s_set_%s(s, cgrt_cap(UINT64_C(0x%016" PRIx64
               "), v)));\n",
               I, I, P, F, seed);
        return;
    default:
        return;
    }
}
void fill_emit(struct gen *g, const struct cg_node *n)
{
    rt_put(
        g,
        "\nstatic int rt_fill_%s(capnp_struct_builder *s, unsigned v, unsigned "
        "depth,\n"
        "    cgrt_ctx *ctx)\n{\n    int rc = 0;\n\n"
        "    (void)s;\n    (void)v;\n    (void)depth;\n    (void)ctx;\n",
        n->c_name);
    rtt_walk(g, n, fill_field, true, "the union: one member per variant", NULL);
    rt_put(g, "    return rc;\n}\n");
}
