/*
 * emit.c - write the C code for one requested schema file: X.capnp.h
 * (ids, sizes, enums, constants, static inline readers/builders over the
 * project codec, CALL SQE stubs) and X.capnp.c (interface and method name
 * tables). docs/codegen.md shows the generated API.
 *
 * The generated code must compile warning-free as freestanding C11
 * (-std=c11 -ffreestanding -Wall -Wextra -Werror): it includes only
 * <stdbool.h> <stddef.h> <stdint.h>, capos/capnp.h and capos/ring.h, and
 * calls nothing but the codec. Every size and offset is written as a
 * literal taken from the schema, so a generated header never depends on
 * the header of an imported file.
 *
 * This file holds structs (readers, builders, union discriminants, group
 * zeroing), enums, constants and the two output files; interfaces and the
 * name tables are in emit-iface.c, comments, literals and type spellings
 * in emit-lit.c.
 */
#include "emit.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Statements that set the discriminant when field f is in a union. */
static void put_set_discriminant(struct out *o, const struct cg_node *n,
                                 const struct cg_field *f)
{
    if (f->discriminant != CG_NO_DISCRIMINANT)
        put(o,
            "    capnp_set_u16(s, %" PRIu32 "u, %uu, 0); /* which() = %s */\n",
            n->disc_offset * 2, f->discriminant, f->name);
}

/* Statements that reset every field of group g to its default (so that a
 * union member's group does not inherit another member's bits). */
static void put_zero_group(struct out *o, const struct cg_node *g, int depth)
{
    if (depth > 32)
        return;
    if (g->disc_count > 0)
        put(o, "    capnp_set_u16(s, %" PRIu32 "u, 0, 0);\n",
            g->disc_offset * 2);
    for (uint32_t i = 0; i < g->nfields; i++) {
        const struct cg_field *f = &g->fields[i];
        if (f->is_group) {
            const struct cg_node *sub = cg_find(o->req, f->group_id);
            if (sub != NULL)
                put_zero_group(o, sub, depth + 1);
            continue;
        }
        if (f->type.kind == T_VOID)
            continue;
        if (f->type.kind == T_BOOL)
            put(o, "    capnp_set_bool(s, %" PRIu32 "u, false, false);\n",
                f->offset);
        else if (cg_is_data(f->type.kind))
            put(o, "    capnp_set_u%u(s, %" PRIu32 "u, 0, 0);\n",
                lit_data_bits(f->type.kind),
                f->offset * (lit_data_bits(f->type.kind) / 8));
        else
            put(o, "    (void)capnp_set_null(s, %" PRIu32 ");\n", f->offset);
    }
}

static void put_field(struct out *o, const struct cg_node *n,
                      const struct cg_field *f)
{
    const char *P = n->c_name, *F = f->name;
    const struct cg_type *t = &f->type;
    const char *sep =
        f->discriminant != CG_NO_DISCRIMINANT ? "union member " : "";

    if (f->is_group) {
        const struct cg_node *g = cg_find(o->req, f->group_id);
        put(o,
            "\n/* %s%s :group - its fields are %s_get_* / _set_* on the same "
            "struct. */\n",
            sep, F, g != NULL ? g->c_name : "?");
        lit_put_doc(o, "", f->doc);
        if (f->discriminant != CG_NO_DISCRIMINANT && g != NULL) {
            put(o,
                "static inline void %s_init_%s(capnp_struct_builder *s)\n{\n",
                P, F);
            put_set_discriminant(o, n, f);
            put_zero_group(o, g, 0);
            put(o, "}\n");
        }
        return;
    }

    put(o, "\n/* %s%s @%" PRId32 " :%s", sep, F, f->ordinal,
        lit_type_name(o->req, t));
    if (cg_is_data(t->kind))
        put(o, ", bits [%" PRIu32 ", %" PRIu32 ")",
            f->offset * lit_data_bits(t->kind),
            (f->offset + 1) * lit_data_bits(t->kind));
    else if (t->kind != T_VOID)
        put(o, ", ptr[%" PRIu32 "]", f->offset);
    put(o, " */\n");
    lit_put_doc(o, "", f->doc);

    if (t->kind == T_VOID) {
        if (f->discriminant != CG_NO_DISCRIMINANT) {
            put(o, "static inline void %s_set_%s(capnp_struct_builder *s)\n{\n",
                P, F);
            put_set_discriminant(o, n, f);
            put(o, "}\n");
        }
        return;
    }

    if (cg_is_data(t->kind)) {
        uint32_t off = t->kind == T_BOOL
                           ? f->offset
                           : f->offset * (lit_data_bits(t->kind) / 8);
        char *def = lit_default_arg(f);
        const char *ct = lit_c_type(t->kind), *sfx = lit_codec_sfx(t->kind);

        if (t->kind == T_ENUM) {
            const struct cg_node *e = cg_find(o->req, t->id);
            if (e != NULL && e->c_name != NULL)
                put(o, "/* Values: enum %s (unknown values are possible). */\n",
                    e->c_name);
        }
        put(o,
            "static inline %s %s_get_%s(const capnp_struct *s)\n{\n"
            "    return capnp_get_%s(s, %" PRIu32 "u, %s);\n}\n",
            ct, P, F, sfx, off, def);
        put(o,
            "static inline void %s_set_%s(capnp_struct_builder *s, %s v)\n{\n",
            P, F, ct);
        put_set_discriminant(o, n, f);
        put(o, "    capnp_set_%s(s, %" PRIu32 "u, v, %s);\n}\n", sfx, off, def);
        return;
    }

    /* Pointer fields. */
    uint32_t idx = f->offset;
    put(o,
        "static inline bool %s_has_%s(const capnp_struct *s)\n{\n"
        "    return capnp_has_ptr(s, %" PRIu32 ");\n}\n",
        P, F, idx);

    switch (t->kind) {
    case T_TEXT:
    case T_DATA: {
        bool text = t->kind == T_TEXT;
        const char *ptype = text ? "const char" : "const uint8_t";
        const char *what = text ? "str" : "data";

        put(o,
            "static inline int %s_get_%s(const capnp_struct *s, %s **%s, "
            "size_t *len)\n{\n",
            P, F, ptype, what);
        if (f->had_default && f->dflt.bytes != NULL && f->dflt.len > 0) {
            put(o,
                "    if (!capnp_has_ptr(s, %" PRIu32
                ")) { /* schema default */\n"
                "        *%s = %s",
                idx, what, text ? "" : "(const uint8_t *)");
            lit_put_c_string(o, f->dflt.bytes, f->dflt.len);
            put(o, ";\n        *len = %zu;\n        return CAPNP_OK;\n    }\n",
                f->dflt.len);
        }
        put(o, "    return capnp_get_%s(s, %" PRIu32 ", %s, len);\n}\n",
            text ? "text" : "data", idx, what);
        put(o,
            "static inline int %s_set_%s(capnp_struct_builder *s, %s, size_t "
            "len)\n{\n",
            P, F, text ? "const char *str" : "const void *data");
        put_set_discriminant(o, n, f);
        put(o, "    return capnp_set_%s(s, %" PRIu32 ", %s, len);\n}\n",
            text ? "text" : "data", idx, what);
        return;
    }
    case T_STRUCT: {
        const struct cg_node *sn = cg_find(o->req, t->id);
        if (f->had_default && f->dflt.bytes != NULL)
            put(o, "/* The schema default is not applied: null reads as empty. "
                   "*/\n");
        put(o,
            "static inline int %s_get_%s(const capnp_struct *s, capnp_struct "
            "*out)\n{\n"
            "    return capnp_get_struct(s, %" PRIu32 ", out);\n}\n",
            P, F, idx);
        put(o,
            "static inline int %s_init_%s(capnp_struct_builder *s, "
            "capnp_struct_builder *out)\n{\n",
            P, F);
        put_set_discriminant(o, n, f);
        put(o,
            "    return capnp_init_struct(s, %" PRIu32
            ", %u, %u, out); /* %s */\n}\n",
            idx, sn != NULL ? sn->data_words : 0,
            sn != NULL ? sn->ptr_count : 0,
            sn != NULL && sn->c_name != NULL ? sn->c_name : "?");
        return;
    }
    case T_LIST: {
        const struct cg_type *e = t->elem;
        if (f->had_default && f->dflt.bytes != NULL)
            put(o, "/* The schema default is not applied: null reads as empty. "
                   "*/\n");
        put(o,
            "static inline int %s_get_%s(const capnp_struct *s, capnp_list "
            "*out)\n{\n"
            "    return capnp_get_list(s, %" PRIu32 ", %s, out);\n}\n",
            P, F, idx, cg_elem_macro(e));
        put(o,
            "static inline int %s_init_%s(capnp_struct_builder *s, uint32_t "
            "count, capnp_list_builder *out)\n{\n",
            P, F);
        put_set_discriminant(o, n, f);
        if (e->kind == T_STRUCT) {
            const struct cg_node *sn = cg_find(o->req, e->id);
            put(o,
                "    return capnp_init_struct_list(s, %" PRIu32
                ", count, %u, %u, out); /* %s */\n}\n",
                idx, sn != NULL ? sn->data_words : 0,
                sn != NULL ? sn->ptr_count : 0,
                sn != NULL && sn->c_name != NULL ? sn->c_name : "?");
        } else {
            put(o,
                "    return capnp_init_list(s, %" PRIu32
                ", %s, count, out);\n}\n",
                idx, cg_elem_macro(e));
        }
        return;
    }
    case T_INTERFACE:
        put(o, "/* A capability: *cap is its cap-table index or "
               "CAPNP_CAP_NULL. */\n");
        put(o,
            "static inline int %s_get_%s(const capnp_struct *s, uint32_t "
            "*cap)\n{\n"
            "    return capnp_get_cap(s, %" PRIu32 ", cap);\n}\n",
            P, F, idx);
        put(o,
            "static inline int %s_set_%s(capnp_struct_builder *s, uint32_t "
            "cap)\n{\n",
            P, F);
        put_set_discriminant(o, n, f);
        put(o, "    return capnp_set_cap(s, %" PRIu32 ", cap);\n}\n", idx);
        return;
    default: /* AnyPointer */
        put(o,
            "#define %s_%s_PTR_INDEX %" PRIu32
            "u /* build it with the codec */\n",
            n->macro, cg_upper_snake(F), idx);
        put(o,
            "static inline int %s_get_%s(const capnp_struct *s, capnp_ptr "
            "*out)\n{\n"
            "    return capnp_get_ptr(s, %" PRIu32 ", out);\n}\n",
            P, F, idx);
        if (f->discriminant != CG_NO_DISCRIMINANT) {
            /* The codec builds the pointer; this selects the member. */
            put(o,
                "static inline uint16_t %s_select_%s(capnp_struct_builder "
                "*s)\n{\n",
                P, F);
            put_set_discriminant(o, n, f);
            put(o,
                "    return %" PRIu32 "; /* build pointer %" PRIu32
                " with the codec */\n}\n",
                idx, idx);
        }
        return;
    }
}

void emit_struct(struct out *o, const struct cg_node *n)
{
    o->emitted[lit_node_index(o, n)] = true;
    put(o, "\n/* ---- %s %s (0x%016" PRIx64 ") ---- */\n",
        n->is_group ? "group" : "struct", n->schema_name, n->id);
    lit_put_doc(o, "", n->doc);
    if (n->is_generic)
        put(o, "/* Generic: parameter-typed fields read as AnyPointer. */\n");
    if (!n->is_group) {
        put(o, "#define %s_ID 0x%" PRIx64 "ull\n", n->macro, n->id);
        put(o, "#define %s_DATA_WORDS %uu\n", n->macro, n->data_words);
        put(o, "#define %s_POINTERS %uu\n", n->macro, n->ptr_count);
        put(o,
            "static inline int %s_init_root(capnp_builder *b, "
            "capnp_struct_builder *out)\n{\n"
            "    return capnp_init_root(b, %u, %u, out);\n}\n",
            n->c_name, n->data_words, n->ptr_count);
    }
    if (n->disc_count > 0) {
        put(o, "\n/* The union: which member is set. */\nenum %s_Which {\n",
            n->c_name);
        for (uint32_t i = 0; i < n->nfields; i++) {
            const struct cg_field *f = &n->fields[i];
            if (f->discriminant != CG_NO_DISCRIMINANT)
                put(o, "    %s_WHICH_%s = %u,\n", n->macro,
                    cg_upper_snake(f->name), f->discriminant);
        }
        put(o, "};\n");
        put(o,
            "static inline uint16_t %s_which(const capnp_struct *s)\n{\n"
            "    return capnp_get_u16(s, %" PRIu32 "u, 0);\n}\n",
            n->c_name, n->disc_offset * 2);
    }
    for (uint32_t i = 0; i < n->nfields; i++)
        put_field(o, n, &n->fields[i]);
    for (uint32_t i = 0; i < n->nfields; i++) {
        const struct cg_node *g;
        if (n->fields[i].is_group &&
            (g = cg_find(o->req, n->fields[i].group_id)) != NULL &&
            !o->emitted[lit_node_index(o, g)])
            emit_struct(o, g);
    }
}

static void emit_enum(struct out *o, const struct cg_node *n)
{
    o->emitted[lit_node_index(o, n)] = true;
    put(o, "\n/* ---- enum %s (0x%016" PRIx64 ") ---- */\n", n->schema_name,
        n->id);
    lit_put_doc(o, "", n->doc);
    put(o, "#define %s_ID 0x%" PRIx64 "ull\n", n->macro, n->id);
    if (n->nenumerants == 0) {
        put(o,
            "/* No enumerants: C has no empty enum; values are uint16_t. */\n");
        return;
    }
    put(o, "enum %s {\n", n->c_name);
    for (uint32_t i = 0; i < n->nenumerants; i++) {
        lit_put_doc(o, "    ", n->enumerants[i].doc);
        put(o, "    %s_%s = %" PRIu32 ",\n", n->macro,
            cg_upper_snake(n->enumerants[i].name), i);
    }
    put(o, "};\n");
}

static void emit_const(struct out *o, const struct cg_node *n)
{
    const struct cg_type *t = &n->const_type;
    const struct cg_value *v = &n->const_value;

    o->emitted[lit_node_index(o, n)] = true;
    put(o, "\n/* const %s :%s */\n", n->schema_name, lit_type_name(o->req, t));
    lit_put_doc(o, "", n->doc);
    if (t->kind == T_FLOAT32 || t->kind == T_FLOAT64) {
        put(o, "#define %s %s\n", n->macro,
            lit_float_literal(t->kind, v->bits));
    } else if (t->kind == T_ENUM) {
        const struct cg_node *e = cg_find(o->req, t->id);
        if (e != NULL && e->macro != NULL && v->bits < e->nenumerants)
            put(o, "#define %s %s_%s\n", n->macro, e->macro,
                cg_upper_snake(e->enumerants[v->bits].name));
        else
            put(o, "#define %s %" PRIu64 "u\n", n->macro, v->bits);
    } else if (cg_is_data(t->kind)) {
        put(o, "#define %s %s\n", n->macro, lit_int_literal(t->kind, v->bits));
    } else if (t->kind == T_TEXT) {
        put(o, "#define %s ", n->macro);
        lit_put_c_string(o, v->bytes != NULL ? v->bytes : (const uint8_t *)"",
                         v->len);
        put(o, "\n");
    } else if (t->kind == T_DATA) {
        put(o, "#define %s_LEN %zuu\n#define %s {", n->macro, v->len, n->macro);
        for (size_t i = 0; i < v->len; i++)
            put(o, "%s0x%02x", i % 12 == 0 ? (i ? ",\n    " : " ") : ", ",
                v->bytes[i]);
        put(o, "%s}\n", v->len ? " " : " 0 ");
    } else {
        put(o,
            "/* Not emitted: %s constants have no C form here; produce the\n"
            " * bytes with `capnp eval -b` at build time instead. */\n",
            lit_type_name(o->req, t));
    }
}

static const char header_intro[] =
    " *\n"
    " * Naming (tools/capnpc-c/capnpc-c.c, docs/codegen.md): C names are the\n"
    " * file prefix and the nested schema names joined by '_'\n"
    " * (prefix_Struct_get_field, prefix_Iface_method_Params); macros and\n"
    " * enumerators are the same upper-cased with '_' between words.\n"
    " *\n"
    " * Readers take a const capnp_struct * and return the field (primitives,\n"
    " * with the schema default applied) or a CAPNP_E_* code (pointers; the\n"
    " * out value is then the null value). Builders take the\n"
    " * capnp_struct_builder * of a struct made by *_init_root or *_init_*;\n"
    " * setting a union member sets the discriminant.\n"
    " *\n"
    " * CALL stubs: <Iface>_<method>_sqe(sqe, cap_id, params_vaddr,\n"
    " * params_len, result_vaddr, result_len, user_data) writes every field "
    "of\n"
    " * a CALL SQE at its natural width (reserved fields zero) so the "
    "kernel's\n"
    " * field-wise fetch never waits on store forwarding. It names the\n"
    " * stub's interface in interface_id, so a cap that speaks another is\n"
    " * refused with CAP_ERR_WRONG_INTERFACE before it reaches its object\n"
    " * (docs/abi.md §4.5); the params are a\n"
    " * message built with the method's _Params struct (capnp_finish), the\n"
    " * result buffer receives the _Results message. Methods whose params can\n"
    " * hold capabilities also get _sqe_xfer with the transfer descriptor\n"
    " * count (descriptors follow the params at CAP_ALIGN8(params_len)).\n"
    " */\n";

static const char shared_helpers[] =
    "#ifndef CAPNPC_C_SHARED_DEFINED\n"
    "#define CAPNPC_C_SHARED_DEFINED\n"
    "/* Shared by every generated header. */\n"
    "\n"
    "/* The kind of a method parameter (schema.capnp Type union tags). */\n"
    "enum capnpc_c_type {\n"
    "    CAPNPC_C_TYPE_VOID, CAPNPC_C_TYPE_BOOL, CAPNPC_C_TYPE_INT8,\n"
    "    CAPNPC_C_TYPE_INT16, CAPNPC_C_TYPE_INT32, CAPNPC_C_TYPE_INT64,\n"
    "    CAPNPC_C_TYPE_UINT8, CAPNPC_C_TYPE_UINT16, CAPNPC_C_TYPE_UINT32,\n"
    "    CAPNPC_C_TYPE_UINT64, CAPNPC_C_TYPE_FLOAT32, CAPNPC_C_TYPE_FLOAT64,\n"
    "    CAPNPC_C_TYPE_TEXT, CAPNPC_C_TYPE_DATA, CAPNPC_C_TYPE_LIST,\n"
    "    CAPNPC_C_TYPE_ENUM, CAPNPC_C_TYPE_STRUCT, CAPNPC_C_TYPE_INTERFACE,\n"
    "    CAPNPC_C_TYPE_ANY_POINTER\n"
    "};\n"
    "\n"
    "/* capnpc_c_method_info.flags, from annotations named readOnly and\n"
    " * destructive (schema/capos.capnp declares them). */\n"
    "#define CAPNPC_C_METHOD_READ_ONLY 1u   /* $readOnly: changes nothing */\n"
    "#define CAPNPC_C_METHOD_DESTRUCTIVE 2u /* $destructive: may destroy */\n"
    "\n"
    "/* One parameter (or result) of a method: a field of its params (or\n"
    " * results) struct, with where the codec finds it. */\n"
    "typedef struct capnpc_c_param_info {\n"
    "    const char *name;\n"
    "    const char *doc;   /* its doc comment, NULL: none */\n"
    "    uint8_t type;      /* enum capnpc_c_type */\n"
    "    uint64_t type_id;  /* ENUM, STRUCT (a group: its id), INTERFACE */\n"
    "    uint32_t offset;   /* data: in units of its size (Bool: bits);\n"
    "                          pointers: the pointer index; groups: 0 */\n"
    "    uint64_t default_bits; /* data fields: the schema default's bits */\n"
    "} capnpc_c_param_info;\n"
    "\n"
    "/* One method: its name, doc comment, annotation flags, parameters. */\n"
    "typedef struct capnpc_c_method_info {\n"
    "    const char *name;\n"
    "    const char *doc;   /* NULL: none */\n"
    "    uint16_t flags;    /* CAPNPC_C_METHOD_* */\n"
    "    uint16_t param_count;\n"
    "    const capnpc_c_param_info *params;\n"
    "    uint16_t params_data_words, params_pointers; /* its params struct */\n"
    "    uint16_t result_count;\n"
    "    const capnpc_c_param_info *results;\n"
    "} capnpc_c_method_info;\n"
    "\n"
    "/* One interface of a schema file: its id, schema name, method names\n"
    " * and method metadata (both indexed by method ordinal). */\n"
    "typedef struct capnpc_c_interface_info {\n"
    "    uint64_t id;\n"
    "    const char *name;\n"
    "    uint16_t method_count;\n"
    "    const char *const *method_names;\n"
    "    const capnpc_c_method_info *methods;\n"
    "} capnpc_c_interface_info;\n"
    "\n"
    "/* Fill *sqe as a CALL of interface_id (0: untyped; the kernel refuses\n"
    " * a cap that speaks another, CAP_ERR_WRONG_INTERFACE), every field at\n"
    " * its natural width, reserved ones zero (the layout is\n"
    " * include/capos/ring.h's). */\n"
    "static inline void capnpc_c_call_sqe_as(CapSqe *sqe, uint32_t cap_id,\n"
    "    uint64_t interface_id, uint16_t method_id, uint16_t xfer_cap_count,\n"
    "    uint64_t params_vaddr, uint32_t params_len, uint64_t result_vaddr,\n"
    "    uint32_t result_len, uint64_t user_data)\n"
    "{\n"
    "    sqe->opcode = (uint8_t)CAP_OP_CALL;\n"
    "    sqe->reserved0 = 0;\n"
    "    sqe->flags = 0;\n"
    "    sqe->cap_id = cap_id;\n"
    "    sqe->user_data = user_data;\n"
    "    sqe->addr = params_vaddr;\n"
    "    sqe->len = params_len;\n"
    "    sqe->method_id = method_id;\n"
    "    sqe->xfer_cap_count = xfer_cap_count;\n"
    "    sqe->result_addr = result_vaddr;\n"
    "    sqe->result_len = result_len;\n"
    "    sqe->call_id = 0;\n"
    "    sqe->pipeline_dep = 0;\n"
    "    sqe->pipeline_field = 0;\n"
    "    sqe->reserved1[0] = 0;\n"
    "    sqe->reserved1[1] = 0;\n"
    "    sqe->interface_id = interface_id;\n"
    "}\n"
    "\n"
    "/* The same, untyped (interface_id 0: the kernel checks nothing). */\n"
    "static inline void capnpc_c_call_sqe(CapSqe *sqe, uint32_t cap_id,\n"
    "    uint16_t method_id, uint16_t xfer_cap_count, uint64_t params_vaddr,\n"
    "    uint32_t params_len, uint64_t result_vaddr, uint32_t result_len,\n"
    "    uint64_t user_data)\n"
    "{\n"
    "    capnpc_c_call_sqe_as(sqe, cap_id, 0, method_id, xfer_cap_count,\n"
    "                         params_vaddr, params_len, result_vaddr,\n"
    "                         result_len, user_data);\n"
    "}\n"
    "#endif /* CAPNPC_C_SHARED_DEFINED */\n";

int cg_emit_file(const struct cg_request *req, const struct cg_file *f,
                 const char *out_base)
{
    const struct cg_node *file = cg_find(req, f->id);
    const struct cg_node **list = cg_alloc((req->nnodes + 1) * sizeof *list);
    struct out o = {.req = req, .file_id = f->id};
    char *path, *tmp;
    uint32_t n = 0;

    if (cg_make_dirs(out_base) != 0)
        return -1;
    o.emitted = cg_alloc((req->nnodes + 1) * sizeof *o.emitted);
    for (uint32_t i = 0; i < req->nnodes; i++) {
        const struct cg_node *x = &req->nodes[i];
        if (x->c_name != NULL && x->file_id == f->id && x->kind != CG_FILE)
            list[n++] = x;
    }
    qsort(list, n, sizeof *list, cg_cmp_order);

    path = cg_printf("%s.h", out_base);
    o.f = cg_open_tmp(path, &tmp);
    if (o.f == NULL)
        return -1;
    put(&o, "/*\n * %s.h - generated by capnpc-c from %s; do not edit.\n",
        cg_base_name(out_base), f->filename);
    put(&o, "%s", header_intro);
    lit_put_doc(&o, "", file->doc);
    put(&o, "#ifndef CAPNPC_C_%s_CAPNP_H\n#define CAPNPC_C_%s_CAPNP_H\n\n",
        file->macro, file->macro);
    put(&o, "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n"
            "#include \"capos/capnp.h\"\n#include \"capos/ring.h\"\n\n");
    put(&o, "%s", shared_helpers);

    for (uint32_t i = 0; i < n; i++) {
        const struct cg_node *x = list[i];
        if (o.emitted[lit_node_index(&o, x)])
            continue;
        switch (x->kind) {
        case CG_STRUCT:
            emit_struct(&o, x);
            break;
        case CG_ENUM:
            emit_enum(&o, x);
            break;
        case CG_INTERFACE:
            iface_emit(&o, x);
            break;
        case CG_CONST:
            emit_const(&o, x);
            break;
        default:
            break; /* annotations: nothing to generate */
        }
    }

    put(&o, "\n/* ---- name tables (%s.c) ---- */\n", cg_base_name(out_base));
    put(&o,
        "/* The interfaces of this file, then {0, NULL, 0, NULL, NULL}. */\n"
        "extern const capnpc_c_interface_info %s_interfaces[];\n"
        "extern const uint32_t %s_interface_count;\n"
        "/* The entry of interface_id, or NULL. */\n"
        "const capnpc_c_interface_info *%s_interface_info(uint64_t "
        "interface_id);\n"
        "/* The method's schema name (\"writeLine\"), or NULL if unknown. */\n"
        "const char *%s_method_name(uint64_t interface_id, uint16_t "
        "method_id);\n"
        "/* The method's metadata (parameters, doc, flags), or NULL. */\n"
        "const capnpc_c_method_info *%s_method_info(uint64_t interface_id,\n"
        "    uint16_t method_id);\n",
        file->c_name, file->c_name, file->c_name, file->c_name, file->c_name);
    put(&o, "\n#endif /* CAPNPC_C_%s_CAPNP_H */\n", file->macro);
    if (cg_close_tmp(o.f, tmp, path) != 0)
        return -1;
    return iface_write_source(req, file, list, n, f->filename, out_base);
}
