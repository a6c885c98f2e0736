/*
 * emit-iface.c - the interface parts of the C emitter: CALL SQE stubs and
 * interface ids in X.capnp.h (iface_emit, called from emit.c) and the
 * interface and method name tables of X.capnp.c (iface_write_source).
 */
#include "emit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void iface_emit(struct out *o, const struct cg_node *n)
{
    const struct cg_request *req = o->req;

    o->emitted[lit_node_index(o, n)] = true;
    put(o, "\n/* ==== interface %s (0x%016" PRIx64 ") ==== */\n",
        n->schema_name, n->id);
    lit_put_doc(o, "", n->doc);
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
        lit_put_doc(o, "", m->doc);
        put(o, "#define %s_%s_METHOD_ID %uu\n", n->macro,
            cg_upper_snake(m->name), m->ordinal);
    }

    /* The implicit $Params / $Results structs, next to their methods. */
    for (uint32_t i = 0; i < n->nmethods; i++) {
        const struct cg_node *p = cg_find(req, n->methods[i].params_id);
        const struct cg_node *r = cg_find(req, n->methods[i].results_id);
        if (p != NULL && p->scope_id == 0 && p->file_id == o->file_id &&
            !o->emitted[lit_node_index(o, p)])
            emit_struct(o, p);
        if (r != NULL && r->scope_id == 0 && r->file_id == o->file_id &&
            !o->emitted[lit_node_index(o, r)])
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
        fprintf(stderr,
                "capnpc-c: %s.%s is both $readOnly and "
                "$destructive\n",
                it->schema_name, m->name);
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
        lit_put_c_string(o, (const uint8_t *)doc, n);
    else
        put(o, "NULL");
}

/* The CAPNPC_C_TYPE_* enumerator of a type kind. */
static const char *type_enumerator(unsigned kind)
{
    static const char *const names[] = {
        "VOID",    "BOOL",    "INT8",      "INT16",      "INT32",
        "INT64",   "UINT8",   "UINT16",    "UINT32",     "UINT64",
        "FLOAT32", "FLOAT64", "TEXT",      "DATA",       "LIST",
        "ENUM",    "STRUCT",  "INTERFACE", "ANY_POINTER"};
    return kind < sizeof names / sizeof *names ? names[kind] : "ANY_POINTER";
}

/* The fields of struct id (method j of it's params or results: `what`),
 * as <C name>_<j>_<what>_[]; returns their count. */
static uint32_t put_params(struct out *o, const struct cg_node *it, uint32_t j,
                           uint64_t id, const char *what)
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
        put(o,
            ", CAPNPC_C_TYPE_%s, 0x%016" PRIx64 "ull, %" PRIu32 "u, 0x%" PRIx64
            "ull},\n",
            type_enumerator(kind), tid, f->is_group ? 0 : f->offset,
            f->is_group || !cg_is_data(f->type.kind) ? 0 : f->dflt.bits);
    }
    put(o, "};\n");
    return ps->nfields;
}

static void put_table_ref(struct out *o, const struct cg_node *it, uint32_t j,
                          uint32_t n, const char *what)
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

int iface_write_source(const struct cg_request *req, const struct cg_node *file,
                       const struct cg_node **list, uint32_t n,
                       const char *filename, const char *out_base)
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
