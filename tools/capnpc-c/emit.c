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
 */
#include "cgen.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
    FILE *f;
    const struct cg_request *req;
    uint64_t file_id;
    bool *emitted; /* by node index */
};

static void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(o->f, fmt, ap);
    va_end(ap);
}

static uint32_t node_index(const struct out *o, const struct cg_node *n)
{
    return (uint32_t)(n - o->req->nodes);
}

/* ------------------------------------------------------------------ */
/* Comments and literals                                               */
/* ------------------------------------------------------------------ */

/* Write s so that it cannot end or nest a C comment or form a trigraph. */
static void put_comment_text(struct out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i], d = i + 1 < n ? s[i + 1] : '\0';
        if (c == '\r')
            continue;
        fputc(c, o->f);
        if ((c == '*' && d == '/') || (c == '/' && d == '*') ||
            (c == '?' && d == '?'))
            fputc(' ', o->f);
    }
}

/* A schema doc comment as a C block comment at the given indent. */
static void put_doc(struct out *o, const char *indent, const char *doc)
{
    const char *line, *nl;

    if (doc == NULL || doc[0] == '\0')
        return;
    size_t n = strlen(doc);
    while (n > 0 && (doc[n - 1] == '\n' || doc[n - 1] == ' '))
        n--;
    if (memchr(doc, '\n', n) == NULL && strlen(indent) + n <= 72) {
        /* One short line: one comment line. */
        put(o, "%s/* ", indent);
        put_comment_text(o, doc[0] == ' ' ? doc + 1 : doc,
                         doc[0] == ' ' ? n - 1 : n);
        put(o, " */\n");
        return;
    }
    put(o, "%s/*\n", indent);
    for (line = doc; *line != '\0'; line = nl + 1) {
        nl = strchr(line, '\n');
        if (nl == NULL)
            nl = line + strlen(line);
        /* capnp keeps the space after '#': " * text" either way. */
        put(o, "%s *%s", indent, nl > line && line[0] != ' ' ? " " : "");
        put_comment_text(o, line, (size_t)(nl - line));
        fputc('\n', o->f);
        if (*nl == '\0')
            break;
    }
    put(o, "%s */\n", indent);
}

/* bytes as a C string literal: octal escapes for anything unusual, '?'
 * escaped so that no trigraph forms under -std=c11. */
static void put_c_string(struct out *o, const uint8_t *b, size_t n)
{
    fputc('"', o->f);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = b[i];
        switch (c) {
        case '"':
            put(o, "\\\"");
            break;
        case '\\':
            put(o, "\\\\");
            break;
        case '?':
            put(o, "\\?");
            break;
        case '\n':
            put(o, "\\n");
            break;
        case '\t':
            put(o, "\\t");
            break;
        case '\r':
            put(o, "\\r");
            break;
        default:
            if (c >= 0x20 && c < 0x7f)
                fputc(c, o->f);
            else
                put(o, "\\%03o", c);
        }
    }
    fputc('"', o->f);
}

/* ------------------------------------------------------------------ */
/* Types                                                               */
/* ------------------------------------------------------------------ */

static unsigned data_bits(enum cg_tkind k)
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
    case T_INT64:
    case T_UINT64:
    case T_FLOAT64:
        return 64;
    default:
        return 0;
    }
}

static const char *c_type(enum cg_tkind k)
{
    switch (k) {
    case T_BOOL:
        return "bool";
    case T_INT8:
        return "int8_t";
    case T_INT16:
        return "int16_t";
    case T_INT32:
        return "int32_t";
    case T_INT64:
        return "int64_t";
    case T_UINT8:
        return "uint8_t";
    case T_UINT16:
        return "uint16_t";
    case T_UINT32:
        return "uint32_t";
    case T_UINT64:
        return "uint64_t";
    case T_FLOAT32:
        return "float";
    case T_FLOAT64:
        return "double";
    case T_ENUM:
        return "uint16_t";
    default:
        return "void";
    }
}

/* The codec's name for a primitive: capnp_get_<sfx>, capnp_set_<sfx>. */
static const char *codec_sfx(enum cg_tkind k)
{
    switch (k) {
    case T_BOOL:
        return "bool";
    case T_INT8:
        return "i8";
    case T_INT16:
        return "i16";
    case T_INT32:
        return "i32";
    case T_INT64:
        return "i64";
    case T_UINT8:
        return "u8";
    case T_UINT16:
        return "u16";
    case T_UINT32:
        return "u32";
    case T_UINT64:
        return "u64";
    case T_FLOAT32:
        return "f32";
    case T_FLOAT64:
        return "f64";
    case T_ENUM:
        return "u16";
    default:
        return "?";
    }
}

/* A schema spelling of t for comments ("List(Text)", "Point"). */
static char *type_name(const struct cg_request *req, const struct cg_type *t)
{
    static const char *const prim[] = {
        "Void",   "Bool",   "Int8",   "Int16",   "Int32",   "Int64", "UInt8",
        "UInt16", "UInt32", "UInt64", "Float32", "Float64", "Text",  "Data"};
    const struct cg_node *n;

    switch (t->kind) {
    case T_LIST:
        return cg_printf("List(%s)", type_name(req, t->elem));
    case T_INTERFACE:
        if (t->id == 0)
            return cg_strdup("Capability");
        /* fall through */
    case T_ENUM:
    case T_STRUCT:
        n = cg_find(req, t->id);
        return cg_strdup(n != NULL && n->schema_name != NULL ? n->schema_name
                                                             : "?");
    case T_ANYPTR:
        return cg_strdup("AnyPointer");
    default:
        return cg_strdup(prim[t->kind]);
    }
}

/* An integer or bool as a C expression of its type's value. */
static char *int_literal(enum cg_tkind k, uint64_t bits)
{
    int64_t v;

    switch (k) {
    case T_BOOL:
        return cg_strdup(bits ? "true" : "false");
    case T_INT8:
        v = (int8_t)bits;
        break;
    case T_INT16:
        v = (int16_t)bits;
        break;
    case T_INT32:
        v = (int32_t)bits;
        break;
    case T_INT64:
        v = (int64_t)bits;
        if (v == INT64_MIN)
            return cg_strdup("(-INT64_C(9223372036854775807) - 1)");
        return cg_printf(
            v < 0 ? "(INT64_C(%" PRId64 "))" : "INT64_C(%" PRId64 ")", v);
    case T_UINT8:
    case T_UINT16:
        return cg_printf("%" PRIu64, bits);
    case T_UINT32:
    case T_ENUM:
        return cg_printf("%" PRIu64 "u", bits);
    case T_UINT64:
        /* Spelled as ids are, so that a constant named like an id macro
         * (capos.capnp's consoleInterfaceId) is an identical, permitted
         * redefinition when it agrees and a compile error when not. */
        return cg_printf("0x%" PRIx64 "ull", bits);
    default:
        return cg_strdup("0");
    }
    if (v == INT32_MIN)
        return cg_strdup("(-2147483647 - 1)");
    return cg_printf(v < 0 ? "(%" PRId64 ")" : "%" PRId64, v);
}

/* A float as a C constant that round-trips (hex bits are used for
 * defaults; this is for constants people read). */
static char *float_literal(enum cg_tkind k, uint64_t bits)
{
    bool single = k == T_FLOAT32;
    double d;
    char buf[64];

    if (single) {
        union {
            uint32_t u;
            float f;
        } x = {.u = (uint32_t)bits};
        d = x.f;
    } else {
        union {
            uint64_t u;
            double f;
        } x = {.u = bits};
        d = x.f;
    }
    if (isnan(d))
        return cg_strdup(single ? "__builtin_nanf(\"\")"
                                : "__builtin_nan(\"\")");
    if (isinf(d))
        return cg_printf("(%s%s)", d < 0 ? "-" : "",
                         single ? "__builtin_inff()" : "__builtin_inf()");
    snprintf(buf, sizeof buf, single ? "%.9g" : "%.17g", d);
    if (strpbrk(buf, ".e") == NULL)
        strcat(buf, ".0");
    return cg_printf(d < 0 || signbit(d) ? "(%s%s)" : "%s%s", buf,
                     single ? "f" : "");
}

/* The default argument the codec takes for a primitive field: the value
 * to XOR with; floats as their bit pattern. */
static char *default_arg(const struct cg_field *f)
{
    uint64_t bits = f->dflt.bits;

    if (f->type.kind == T_FLOAT32)
        return cg_printf("0x%08" PRIx32 "u", (uint32_t)bits);
    if (f->type.kind == T_FLOAT64)
        return cg_printf("UINT64_C(0x%016" PRIx64 ")", bits);
    return int_literal(f->type.kind, bits);
}

/* ------------------------------------------------------------------ */
/* Structs                                                             */
/* ------------------------------------------------------------------ */

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
                data_bits(f->type.kind),
                f->offset * (data_bits(f->type.kind) / 8));
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
        put_doc(o, "", f->doc);
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
        type_name(o->req, t));
    if (cg_is_data(t->kind))
        put(o, ", bits [%" PRIu32 ", %" PRIu32 ")",
            f->offset * data_bits(t->kind),
            (f->offset + 1) * data_bits(t->kind));
    else if (t->kind != T_VOID)
        put(o, ", ptr[%" PRIu32 "]", f->offset);
    put(o, " */\n");
    put_doc(o, "", f->doc);

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
        uint32_t off = t->kind == T_BOOL ? f->offset
                                         : f->offset * (data_bits(t->kind) / 8);
        char *def = default_arg(f);
        const char *ct = c_type(t->kind), *sfx = codec_sfx(t->kind);

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
            put_c_string(o, f->dflt.bytes, f->dflt.len);
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

static void emit_struct(struct out *o, const struct cg_node *n)
{
    o->emitted[node_index(o, n)] = true;
    put(o, "\n/* ---- %s %s (0x%016" PRIx64 ") ---- */\n",
        n->is_group ? "group" : "struct", n->schema_name, n->id);
    put_doc(o, "", n->doc);
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
            !o->emitted[node_index(o, g)])
            emit_struct(o, g);
    }
}

/* ------------------------------------------------------------------ */
/* Enums and constants                                                 */
/* ------------------------------------------------------------------ */

static void emit_enum(struct out *o, const struct cg_node *n)
{
    o->emitted[node_index(o, n)] = true;
    put(o, "\n/* ---- enum %s (0x%016" PRIx64 ") ---- */\n", n->schema_name,
        n->id);
    put_doc(o, "", n->doc);
    put(o, "#define %s_ID 0x%" PRIx64 "ull\n", n->macro, n->id);
    if (n->nenumerants == 0) {
        put(o,
            "/* No enumerants: C has no empty enum; values are uint16_t. */\n");
        return;
    }
    put(o, "enum %s {\n", n->c_name);
    for (uint32_t i = 0; i < n->nenumerants; i++) {
        put_doc(o, "    ", n->enumerants[i].doc);
        put(o, "    %s_%s = %" PRIu32 ",\n", n->macro,
            cg_upper_snake(n->enumerants[i].name), i);
    }
    put(o, "};\n");
}

static void emit_const(struct out *o, const struct cg_node *n)
{
    const struct cg_type *t = &n->const_type;
    const struct cg_value *v = &n->const_value;

    o->emitted[node_index(o, n)] = true;
    put(o, "\n/* const %s :%s */\n", n->schema_name, type_name(o->req, t));
    put_doc(o, "", n->doc);
    if (t->kind == T_FLOAT32 || t->kind == T_FLOAT64) {
        put(o, "#define %s %s\n", n->macro, float_literal(t->kind, v->bits));
    } else if (t->kind == T_ENUM) {
        const struct cg_node *e = cg_find(o->req, t->id);
        if (e != NULL && e->macro != NULL && v->bits < e->nenumerants)
            put(o, "#define %s %s_%s\n", n->macro, e->macro,
                cg_upper_snake(e->enumerants[v->bits].name));
        else
            put(o, "#define %s %" PRIu64 "u\n", n->macro, v->bits);
    } else if (cg_is_data(t->kind)) {
        put(o, "#define %s %s\n", n->macro, int_literal(t->kind, v->bits));
    } else if (t->kind == T_TEXT) {
        put(o, "#define %s ", n->macro);
        put_c_string(o, v->bytes != NULL ? v->bytes : (const uint8_t *)"",
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
            type_name(o->req, t));
    }
}

/* ------------------------------------------------------------------ */
/* Interfaces                                                          */
/* ------------------------------------------------------------------ */

/* Whether a struct can hold capability pointers (then a CALL may need
 * transfer descriptors). */
static bool may_carry_caps_type(const struct cg_request *req,
                                const struct cg_type *t, int depth);

static bool may_carry_caps(const struct cg_request *req,
                           const struct cg_node *n, int depth)
{
    if (n == NULL || depth > 16)
        return depth > 16; /* deep or unknown: assume it may */
    for (uint32_t i = 0; i < n->nfields; i++) {
        const struct cg_field *f = &n->fields[i];
        if (f->is_group
                ? may_carry_caps(req, cg_find(req, f->group_id), depth + 1)
                : may_carry_caps_type(req, &f->type, depth))
            return true;
    }
    return false;
}

static bool may_carry_caps_type(const struct cg_request *req,
                                const struct cg_type *t, int depth)
{
    switch (t->kind) {
    case T_INTERFACE:
    case T_ANYPTR:
        return true;
    case T_LIST:
        return may_carry_caps_type(req, t->elem, depth + 1);
    case T_STRUCT:
        return may_carry_caps(req, cg_find(req, t->id), depth + 1);
    default:
        return false;
    }
}

static void emit_interface(struct out *o, const struct cg_node *n)
{
    const struct cg_request *req = o->req;

    o->emitted[node_index(o, n)] = true;
    put(o, "\n/* ==== interface %s (0x%016" PRIx64 ") ==== */\n",
        n->schema_name, n->id);
    put_doc(o, "", n->doc);
    put(o, "#define %s_INTERFACE_ID 0x%" PRIx64 "ull\n", n->macro, n->id);
    put(o, "#define %s_METHOD_COUNT %" PRIu32 "u\n", n->macro, n->nmethods);
    for (uint32_t i = 0; i < n->nsupers; i++) {
        const struct cg_node *s = cg_find(req, n->supers[i]);
        put(o,
            "/* extends %s: its methods are called with %s's ids and stubs. "
            "*/\n",
            s != NULL && s->schema_name ? s->schema_name : "?",
            s != NULL && s->c_name ? s->c_name : "?");
    }
    for (uint32_t i = 0; i < n->nmethods; i++) {
        const struct cg_method *m = &n->methods[i];
        put_doc(o, "", m->doc);
        put(o, "#define %s_%s_METHOD_ID %uu\n", n->macro,
            cg_upper_snake(m->name), m->ordinal);
    }

    /* The implicit $Params / $Results structs, next to their methods. */
    for (uint32_t i = 0; i < n->nmethods; i++) {
        const struct cg_node *p = cg_find(req, n->methods[i].params_id);
        const struct cg_node *r = cg_find(req, n->methods[i].results_id);
        if (p != NULL && p->scope_id == 0 && p->file_id == o->file_id &&
            !o->emitted[node_index(o, p)])
            emit_struct(o, p);
        if (r != NULL && r->scope_id == 0 && r->file_id == o->file_id &&
            !o->emitted[node_index(o, r)])
            emit_struct(o, r);
    }

    put(o, "\n/* CALL stubs of %s: see \"CALL stubs\" at the top. */\n",
        n->schema_name);
    for (uint32_t i = 0; i < n->nmethods; i++) {
        const struct cg_method *m = &n->methods[i];
        const struct cg_node *p = cg_find(req, m->params_id);
        const struct cg_node *r = cg_find(req, m->results_id);
        char *mid =
            cg_printf("%s_%s_METHOD_ID", n->macro, cg_upper_snake(m->name));

        put(o, "\n/* %s.%s @%u: params %s, results %s. */\n", n->schema_name,
            m->name, m->ordinal, p != NULL && p->c_name ? p->c_name : "?",
            r != NULL && r->c_name ? r->c_name : "?");
        put(o,
            "static inline void %s_%s_sqe(CapSqe *sqe, uint32_t cap_id,\n"
            "    uint64_t params_vaddr, uint32_t params_len,\n"
            "    uint64_t result_vaddr, uint32_t result_len, uint64_t "
            "user_data)\n{\n"
            "    capnpc_c_call_sqe_as(sqe, cap_id, %s_INTERFACE_ID, %s, 0,\n"
            "                         params_vaddr, params_len, result_vaddr,\n"
            "                         result_len, user_data);\n}\n",
            n->c_name, m->name, n->macro, mid);
        if (may_carry_caps(req, p, 0))
            put(o,
                "static inline void %s_%s_sqe_xfer(CapSqe *sqe, uint32_t "
                "cap_id,\n"
                "    uint64_t params_vaddr, uint32_t params_len, uint16_t "
                "xfer_cap_count,\n"
                "    uint64_t result_vaddr, uint32_t result_len, uint64_t "
                "user_data)\n{\n"
                "    capnpc_c_call_sqe_as(sqe, cap_id, %s_INTERFACE_ID, %s,\n"
                "                         xfer_cap_count, params_vaddr, "
                "params_len,\n"
                "                         result_vaddr, result_len, "
                "user_data);\n}\n",
                n->c_name, m->name, n->macro, mid);
    }
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

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

/* The CAPNPC_C_METHOD_* flags of m: its annotations known by name.
 * A method both $readOnly and $destructive is refused (-1). */
static int method_flags(const struct out *o, const struct cg_node *it,
                        const struct cg_method *m, unsigned *flags)
{
    *flags = 0;
    for (uint32_t i = 0; i < m->nannotations; i++) {
        const struct cg_node *a = cg_find(o->req, m->annotations[i]);
        const char *name = a ? strrchr(a->display_name, ':') : NULL;
        if (!a || a->kind != CG_ANNOTATION || !name)
            continue;
        if (strcmp(name + 1, "readOnly") == 0)
            *flags |= 1u;
        else if (strcmp(name + 1, "destructive") == 0)
            *flags |= 2u;
    }
    if (*flags == 3u) {
        fprintf(stderr, "capnpc-c: %s.%s is both $readOnly and "
                        "$destructive\n", it->schema_name, m->name);
        return -1;
    }
    return 0;
}

/* doc as a C string without its trailing line ends, or NULL. */
static void put_doc_string(struct out *o, const char *doc)
{
    size_t n = doc ? strlen(doc) : 0;
    while (n > 0 && (doc[n - 1] == '\n' || doc[n - 1] == ' '))
        n--;
    if (doc)
        put_c_string(o, (const uint8_t *)doc, n);
    else
        put(o, "NULL");
}

/* The CAPNPC_C_TYPE_* enumerator of a type kind. */
static const char *type_enumerator(unsigned kind)
{
    static const char *const names[] = {
        "VOID",   "BOOL",   "INT8",    "INT16",   "INT32", "INT64",
        "UINT8",  "UINT16", "UINT32",  "UINT64",  "FLOAT32", "FLOAT64",
        "TEXT",   "DATA",   "LIST",    "ENUM",    "STRUCT", "INTERFACE",
        "ANY_POINTER"};
    return kind < sizeof names / sizeof *names ? names[kind] : "ANY_POINTER";
}

/* The fields of struct id (method j of it's params or results: `what`),
 * as <C name>_<j>_<what>_[]; returns their count. */
static uint32_t put_params(struct out *o, const struct cg_node *it,
                           uint32_t j, uint64_t id, const char *what)
{
    const struct cg_node *ps = cg_find(o->req, id);
    if (!ps || ps->nfields == 0)
        return 0;
    put(o, "\nstatic const capnpc_c_param_info %s_%" PRIu32 "_%s_[] = {\n",
        it->c_name, j, what);
    for (uint32_t k = 0; k < ps->nfields; k++) {
        const struct cg_field *f = &ps->fields[k];
        unsigned kind = f->is_group ? T_STRUCT : (unsigned)f->type.kind;
        uint64_t tid = f->is_group ? f->group_id : f->type.id;
        put(o, "    {\"%s\", ", f->name);
        put_doc_string(o, f->doc);
        put(o, ", CAPNPC_C_TYPE_%s, 0x%016" PRIx64 "ull, %" PRIu32 "u, 0x%" PRIx64
               "ull},\n",
            type_enumerator(kind), tid, f->is_group ? 0 : f->offset,
            f->is_group || !cg_is_data(f->type.kind) ? 0 : f->dflt.bits);
    }
    put(o, "};\n");
    return ps->nfields;
}

static void put_table_ref(struct out *o, const struct cg_node *it,
                          uint32_t j, uint32_t n, const char *what)
{
    if (n)
        put(o, "%s_%" PRIu32 "_%s_", it->c_name, j, what);
    else
        put(o, "NULL");
}

/* it's method metadata: a params table per method, then
 * <C name>_methods_[] (NULL-named terminator when it has none). */
static int put_method_infos(struct out *o, const struct cg_node *it)
{
    uint32_t *np = cg_alloc((it->nmethods + 1) * sizeof *np);
    uint32_t *nr = cg_alloc((it->nmethods + 1) * sizeof *nr);
    unsigned *fl = cg_alloc((it->nmethods + 1) * sizeof *fl);
    for (uint32_t j = 0; j < it->nmethods; j++) {
        if (method_flags(o, it, &it->methods[j], &fl[j]) != 0)
            return -1;
        np[j] = put_params(o, it, j, it->methods[j].params_id, "params");
        nr[j] = put_params(o, it, j, it->methods[j].results_id, "results");
    }
    put(o, "\nstatic const capnpc_c_method_info %s_methods_[] = {\n",
        it->c_name);
    for (uint32_t j = 0; j < it->nmethods; j++) {
        put(o, "    {\"%s\", ", it->methods[j].name);
        put_doc_string(o, it->methods[j].doc);
        const struct cg_node *ps = cg_find(o->req, it->methods[j].params_id);
        put(o, ", %uu, %" PRIu32 "u, ", fl[j], np[j]);
        put_table_ref(o, it, j, np[j], "params");
        put(o, ", %uu, %uu, %" PRIu32 "u, ", ps ? ps->data_words : 0u,
            ps ? ps->ptr_count : 0u, nr[j]);
        put_table_ref(o, it, j, nr[j], "results");
        put(o, "},\n");
    }
    if (it->nmethods == 0)
        put(o, "    {NULL, NULL, 0, 0, NULL, 0, 0, 0, NULL},\n");
    put(o, "};\n");
    return 0;
}

static int write_source(const struct cg_request *req,
                        const struct cg_node *file, const struct cg_node **list,
                        uint32_t n, const char *filename, const char *out_base)
{
    char *path = cg_printf("%s.c", out_base), *tmp;
    const char *pfx = file->c_name;
    struct out o = {.req = req};
    uint32_t nif = 0;

    o.f = cg_open_tmp(path, &tmp);
    if (o.f == NULL)
        return -1;
    put(&o,
        "/* %s.c - generated by capnpc-c from %s; do not edit.\n"
        " * Interface and method name tables (for traces and errors). */\n"
        "#include \"%s.h\"\n",
        cg_base_name(out_base), filename, cg_base_name(out_base));
    for (uint32_t i = 0; i < n; i++) {
        const struct cg_node *it = list[i];
        if (it->kind != CG_INTERFACE)
            continue;
        nif++;
        put(&o, "\nstatic const char *const %s_method_names_[] = {",
            it->c_name);
        for (uint32_t j = 0; j < it->nmethods; j++)
            put(&o, "\n    \"%s\",", it->methods[j].name);
        put(&o, "%s};\n", it->nmethods == 0 ? " NULL" : "\n");
        if (put_method_infos(&o, it) != 0)
            return -1;
    }
    put(&o, "\nconst capnpc_c_interface_info %s_interfaces[] = {\n", pfx);
    for (uint32_t i = 0; i < n; i++) {
        const struct cg_node *it = list[i];
        if (it->kind == CG_INTERFACE)
            put(&o,
                "    {%s_INTERFACE_ID, \"%s\", %" PRIu32
                ", %s_method_names_, %s_methods_},\n",
                it->macro, it->schema_name, it->nmethods, it->c_name,
                it->c_name);
    }
    put(&o, "    {0, NULL, 0, NULL, NULL},\n};\n");
    put(&o, "\nconst uint32_t %s_interface_count = %" PRIu32 "u;\n", pfx, nif);
    put(&o,
        "\nconst capnpc_c_interface_info *%s_interface_info(uint64_t "
        "interface_id)\n{\n"
        "    for (uint32_t i = 0; i < %s_interface_count; i++)\n"
        "        if (%s_interfaces[i].id == interface_id)\n"
        "            return &%s_interfaces[i];\n"
        "    return NULL;\n}\n",
        pfx, pfx, pfx, pfx);
    put(&o,
        "\nconst char *%s_method_name(uint64_t interface_id, uint16_t "
        "method_id)\n{\n"
        "    const capnpc_c_interface_info *info = "
        "%s_interface_info(interface_id);\n\n"
        "    if (info == NULL || method_id >= info->method_count)\n"
        "        return NULL;\n"
        "    return info->method_names[method_id];\n}\n",
        pfx, pfx);
    put(&o,
        "\nconst capnpc_c_method_info *%s_method_info(uint64_t interface_id,\n"
        "    uint16_t method_id)\n{\n"
        "    const capnpc_c_interface_info *info = "
        "%s_interface_info(interface_id);\n\n"
        "    if (info == NULL || method_id >= info->method_count)\n"
        "        return NULL;\n"
        "    return &info->methods[method_id];\n}\n",
        pfx, pfx);
    return cg_close_tmp(o.f, tmp, path);
}

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
    put_doc(&o, "", file->doc);
    put(&o, "#ifndef CAPNPC_C_%s_CAPNP_H\n#define CAPNPC_C_%s_CAPNP_H\n\n",
        file->macro, file->macro);
    put(&o, "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n"
            "#include \"capos/capnp.h\"\n#include \"capos/ring.h\"\n\n");
    put(&o, "%s", shared_helpers);

    for (uint32_t i = 0; i < n; i++) {
        const struct cg_node *x = list[i];
        if (o.emitted[node_index(&o, x)])
            continue;
        switch (x->kind) {
        case CG_STRUCT:
            emit_struct(&o, x);
            break;
        case CG_ENUM:
            emit_enum(&o, x);
            break;
        case CG_INTERFACE:
            emit_interface(&o, x);
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
    return write_source(req, file, list, n, f->filename, out_base);
}
