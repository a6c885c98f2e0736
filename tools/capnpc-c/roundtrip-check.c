/*
 * roundtrip-check.c - the generated rt_check_S functions: statements that
 * read every field of S back with the generated getters and compare it
 * with what rt_fill_S set (roundtrip.c describes the generated files).
 */
#include "roundtrip.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_elems(struct gen *g, const struct cg_type *e, int lv, int d,
                        const char *where)
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
        rt_put(g,
               "%sif (cgrt_eq(ctx, \"%s\", v, capnp_list_get_u%u(&l%d, i%d),\n"
               "%s            cgrt_bits(cgrt_seed(s%d, i%d), v, %u, 0)) != 0)\n"
               "%s    return -1;\n",
               I, where, rtt_width_of(e->kind), lv, lv, I, lv, lv,
               rtt_width_of(e->kind), I);
        break;
    case T_FLOAT32:
    case T_FLOAT64: {
        const char *sfx = e->kind == T_FLOAT32 ? "f32" : "f64";
        rt_put(
            g,
            "%sif (cgrt_eq(ctx, \"%s\", v, "
            "cgrt_%s_bits(capnp_list_get_%s(&l%d, i%d)),\n"
            "%s            cgrt_%s_bits(cgrt_%s(cgrt_seed(s%d, i%d), v, 0))) "
            "!= 0)\n"
            "%s    return -1;\n",
            I, where, sfx, sfx, lv, lv, I, sfx, sfx, lv, lv, I);
        break;
    }
    case T_ENUM:
        rt_put(
            g,
            "%sif (cgrt_eq(ctx, \"%s\", v, capnp_list_get_u16(&l%d, i%d),\n"
            "%s            cgrt_enum(cgrt_seed(s%d, i%d), v, %uu, 0xffffu)) != "
            "0)\n"
            "%s    return -1;\n",
            I, where, lv, lv, I, lv, lv, rtt_enum_count(g, e->id), I);
        break;
    case T_TEXT:
    case T_DATA: {
        bool text = e->kind == T_TEXT;
        rt_put(
            g,
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
        rt_put(
            g,
            "%s{\n%s    uint32_t c = 0;\n"
            "%s    if (cgrt_rc(ctx, \"%s\", v, capnp_list_get_cap(&l%d, i%d, "
            "&c)) != 0 ||\n"
            "%s        cgrt_eq(ctx, \"%s\", v, c, cgrt_cap(cgrt_seed(s%d, "
            "i%d), v)) != 0)\n"
            "%s        return -1;\n%s}\n",
            I, I, I, where, lv, lv, I, where, lv, lv, I, I);
        break;
    case T_STRUCT: {
        const struct cg_node *sn = rtt_local_struct(g, e->id);
        rt_put(
            g,
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
        rt_put(g, "%s{\n", I);
        rt_put(g, "%s    capnp_list l%d;\n", I, n);
        rtt_put_nested_level(g, I, lv);
        rt_put(
            g,
            "%s    if (cgrt_rc(ctx, \"%s\", v, capnp_list_get_list(&l%d, i%d, "
            "%s, &l%d)) != 0 ||\n"
            "%s        cgrt_eq(ctx, \"%s.len\", v, capnp_list_len(&l%d), "
            "cnt%d) != 0)\n"
            "%s        return -1;\n",
            I, where, lv, lv, cg_elem_macro(x), n, I, where, n, n, I);
        check_elems(g, x, n, d + 2, where);
        rt_put(g, "%s}\n", I);
        break;
    }
    default:
        break;
    }
    rt_put(g, "%s}\n", rtt_ind(d));
}

static void check_field(struct gen *g, const struct cg_node *n,
                        const struct cg_field *f, uint32_t fi, bool member,
                        int d)
{
    const char *P = n->c_name, *F = f->name, *I = rtt_ind(d);
    const struct cg_type *t = &f->type;
    const struct rtinfo *ri = &g->info[rtt_idx_of(g, n)];
    uint64_t seed = rtt_seed_of(n, fi);
    uint32_t serial = ri->serial[fi];
    char *where = cg_printf("%s.%s%s", ri->root->schema_name, ri->path, F);

    if (f->is_group) {
        const struct cg_node *gr = cg_find(g->req, f->group_id);
        rt_put(g,
               "%sif (rt_check_%s(s, v, depth, ctx) != 0)\n%s    return -1;\n",
               I, gr->c_name, I);
        return;
    }
    if (rtt_field_kind(g, f) == 2) {
        if (t->kind != T_VOID && !cg_is_data(t->kind))
            rt_put(g,
                   "%sif (cgrt_null(ctx, \"%s\", v, %s_has_%s(s)) != 0)\n%s    "
                   "return -1;\n",
                   I, where, P, F, I);
        return;
    }
    rt_put(g, "%sCGRT_CHECKED(ctx, depth, %" PRIu32 "u);\n", I, serial);
    if (t->kind == T_VOID)
        return;
    if (cg_is_data(t->kind)) {
        char *got, *want = rtt_data_value(g, f, seed);
        if (t->kind == T_FLOAT32 || t->kind == T_FLOAT64) {
            const char *sfx = t->kind == T_FLOAT32 ? "f32" : "f64";
            got = cg_printf("cgrt_%s_bits(%s_get_%s(s))", sfx, P, F);
            want = cg_printf("cgrt_%s_bits(%s)", sfx, want);
        } else if (t->kind == T_ENUM || t->kind == T_BOOL) {
            got = cg_printf("%s_get_%s(s)", P, F);
        } else {
            got = cg_printf("(uint%u_t)%s_get_%s(s)", rtt_width_of(t->kind), P,
                            F);
        }
        rt_put(
            g,
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
        rtt_put_bytes_value(g, I, f, seed);
        rt_put(
            g,
            "%s    const %s *got = NULL;\n%s    size_t gn = 0;\n"
            "%s    int e = %s_get_%s(s, &got, &gn);\n"
            "%s    if (cgrt_eq_bytes(ctx, \"%s\", v, e, %s_has_%s(s), got, gn, "
            "t, n) != 0)\n"
            "%s        return -1;\n%s}\n",
            I, ct, I, I, P, F, I, where, P, F, I, I);
        return;
    }
    case T_STRUCT: {
        const struct cg_node *sn = rtt_local_struct(g, t->id);
        rt_put(g, "%s{\n%s    capnp_struct c;\n", I, I);
        if (!member)
            rt_put(
                g,
                "%s    if (depth >= ctx->max_depth) {\n"
                "%s        if (cgrt_null(ctx, \"%s\", v, %s_has_%s(s)) != 0)\n"
                "%s            return -1;\n"
                "%s    } else\n",
                I, I, where, P, F, I, I);
        rt_put(
            g,
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
        bool caps = rtt_type_cap(t), structs = rtt_type_has_struct(t);
        rt_put(g, "%s{\n", I);
        rt_put(g, "%s    capnp_list l0 = {0};\n", I);
        rtt_put_field_level(
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
                rt_put(
                    g,
                    "%s    if (%s) {\n"
                    "%s        if (cgrt_null(ctx, \"%s\", v, %s_has_%s(s)) != "
                    "0)\n"
                    "%s            return -1;\n"
                    "%s        cnt0 = 0;\n"
                    "%s    } else\n",
                    I, cond, I, where, P, F, I, I, I);
        }
        rt_put(g,
               "%s    if (!%s_has_%s(s))\n"
               "%s        return cgrt_fail(ctx, \"%s\", v, \"pointer is "
               "null\");\n",
               I, P, F, I, where);
        rt_put(
            g,
            "%s    if (%s_has_%s(s) &&\n"
            "%s        (cgrt_rc(ctx, \"%s\", v, %s_get_%s(s, &l0)) != 0 ||\n"
            "%s         cgrt_eq(ctx, \"%s.len\", v, capnp_list_len(&l0), cnt0) "
            "!= 0))\n"
            "%s        return -1;\n",
            I, P, F, I, where, P, F, I, where, I);
        check_elems(g, t->elem, 0, d + 1, cg_printf("%s[]", where));
        rt_put(g, "%s}\n", I);
        return;
    }
    case T_INTERFACE:
        rt_put(g,
               "%s{\n%s    uint32_t c = 0;\n"
               "%s    uint32_t want = (ctx->flags & CGRT_NO_CAPS)\n"
               "%s        ? CAPNP_CAP_NULL : cgrt_cap(UINT64_C(0x%016" PRIx64
               "), v);\n"
               "%s    if (cgrt_rc(ctx, \"%s\", v, %s_get_%s(s, &c)) != 0 ||\n"
               "%s        cgrt_eq(ctx, \"%s\", v, c, want) != 0 ||\n"
               "%s        cgrt_eq(ctx, \"%s (has)\", v, %s_has_%s(s), want != "
               "CAPNP_CAP_NULL) != 0)\n"
               "%s        return -1;\n%s}\n",
               I, I, I, I, seed, I, where, P, F, I, where, I, where, P, F, I,
               I);
        return;
    default:
        return;
    }
}

void check_emit(struct gen *g, const struct cg_node *n)
{
    const struct rtinfo *ri = &g->info[rtt_idx_of(g, n)];

    rt_put(
        g,
        "\nstatic int rt_check_%s(const capnp_struct *s, unsigned v, unsigned "
        "depth,\n"
        "    cgrt_ctx *ctx)\n{\n"
        "    (void)s;\n    (void)v;\n    (void)depth;\n    (void)ctx;\n",
        n->c_name);
    char *where = n->disc_count > 0 ? cg_printf("%s.%swhich()",
                                                ri->root->schema_name, ri->path)
                                    : NULL;
    rtt_walk(g, n, check_field, true, "the union", where);
    rt_put(g, "    return 0;\n}\n");
}
