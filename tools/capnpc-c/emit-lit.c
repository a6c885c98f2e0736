/*
 * emit-lit.c - the C emitter's output primitive put, the node index,
 * schema doc comments as C comments, bytes as C string literals, and the
 * C spelling of schema types, integer and float literals and codec
 * defaults (used by emit.c and emit-iface.c through emit.h).
 */
#include "emit.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void put(struct out *o, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(o->f, fmt, ap);
    va_end(ap);
}

uint32_t lit_node_index(const struct out *o, const struct cg_node *n)
{
    return (uint32_t)(n - o->req->nodes);
}

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
void lit_put_doc(struct out *o, const char *indent, const char *doc)
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
void lit_put_c_string(struct out *o, const uint8_t *b, size_t n)
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

unsigned lit_data_bits(enum cg_tkind k)
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

const char *lit_c_type(enum cg_tkind k)
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
const char *lit_codec_sfx(enum cg_tkind k)
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
char *lit_type_name(const struct cg_request *req, const struct cg_type *t)
{
    static const char *const prim[] = {
        "Void",   "Bool",   "Int8",   "Int16",   "Int32",   "Int64", "UInt8",
        "UInt16", "UInt32", "UInt64", "Float32", "Float64", "Text",  "Data"};
    const struct cg_node *n;

    switch (t->kind) {
    case T_LIST:
        return cg_printf("List(%s)", lit_type_name(req, t->elem));
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
char *lit_int_literal(enum cg_tkind k, uint64_t bits)
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
char *lit_float_literal(enum cg_tkind k, uint64_t bits)
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
char *lit_default_arg(const struct cg_field *f)
{
    uint64_t bits = f->dflt.bits;

    if (f->type.kind == T_FLOAT32)
        return cg_printf("0x%08" PRIx32 "u", (uint32_t)bits);
    if (f->type.kind == T_FLOAT64)
        return cg_printf("UINT64_C(0x%016" PRIx64 ")", bits);
    return lit_int_literal(f->type.kind, bits);
}
