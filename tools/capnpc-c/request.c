/*
 * request.c - read the CodeGeneratorRequest that `capnp compile` writes to
 * a plugin's stdin into capnpc-c's model (cgen.h), with the project codec.
 *
 * Field positions are those `capnp compile -ocapnp
 * /usr/include/capnp/schema.capnp` reports (capnproto 0.9.2); the codec
 * takes primitive offsets in bytes (bools in bits) and pointers by index,
 * so each accessor below names the schema field and its bit range.
 *
 * Trust: the request comes from the compiler, but it is still input: every
 * read is bounds-checked by the codec, and a malformed message is reported
 * and ends the run rather than producing wrong code.
 */
#include "cgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capos/capnp.h"

/* First error while reading, with where it happened. */
static int read_err;
static const char *read_err_where;

static void fail(int err, const char *where)
{
    if (read_err == 0) {
        read_err = err;
        read_err_where = where;
    }
}

static const char *text(const capnp_struct *s, uint16_t idx, const char *where)
{
    const char *str = "";
    size_t len = 0;
    int err = capnp_get_text(s, idx, &str, &len);

    if (err != 0) {
        fail(err, where);
        return "";
    }
    return str;
}

/* A doc comment, or NULL when there is none. */
static const char *doc_text(const capnp_struct *s, uint16_t idx)
{
    const char *d = text(s, idx, "docComment");
    return d[0] != '\0' ? d : NULL;
}

static void get_struct(const capnp_struct *s, uint16_t idx, capnp_struct *out,
                       const char *where)
{
    int err = capnp_get_struct(s, idx, out);
    if (err != 0)
        fail(err, where);
}

static void get_list(const capnp_struct *s, uint16_t idx, unsigned elem,
                     capnp_list *out, const char *where)
{
    int err = capnp_get_list(s, idx, elem, out);
    if (err != 0)
        fail(err, where);
}

static void list_struct(const capnp_list *l, uint32_t i, capnp_struct *out,
                        const char *where)
{
    int err = capnp_list_get_struct(l, i, out);
    if (err != 0)
        fail(err, where);
}

/* Type: union tag bits [0,16); list.elementType ptr[0]; enum/struct/
 * interface typeId bits [64,128). */
static void read_type(const capnp_struct *t, struct cg_type *out, int depth)
{
    uint16_t tag = capnp_get_u16(t, 0, 0);

    memset(out, 0, sizeof *out);
    if (tag > T_ANYPTR) {
        /* A newer compiler's type kind: treat like AnyPointer would be
         * wrong for data fields, so refuse. */
        fprintf(stderr,
                "capnpc-c: unknown Type kind %u in the request "
                "(is capnp newer than 0.9?)\n",
                tag);
        fail(CAPNP_E_TYPE, "Type");
        return;
    }
    out->kind = (enum cg_tkind)tag;
    switch (out->kind) {
    case T_LIST: {
        capnp_struct e;
        if (depth > 32) {
            fail(CAPNP_E_DEPTH, "List(List(...)) nesting");
            return;
        }
        get_struct(t, 0, &e, "Type.list.elementType");
        out->elem = cg_alloc(sizeof *out->elem);
        read_type(&e, out->elem, depth + 1);
        break;
    }
    case T_ENUM:
    case T_STRUCT:
    case T_INTERFACE:
        out->id = capnp_get_u64(t, 8, 0);
        break;
    case T_ANYPTR:
        /* anyPointer union tag bits [64,80): 0 unconstrained, whose tag
         * bits [80,96) say 3 for `Capability`: a capability pointer of
         * no particular interface (id 0). */
        if (capnp_get_u16(t, 8, 0) == 0 && capnp_get_u16(t, 10, 0) == 3)
            out->kind = T_INTERFACE;
        break;
    default:
        break;
    }
}

/* Value: union tag bits [0,16); bool bit 16; 8/16-bit values at bit 16;
 * 32-bit at bit 32; 64-bit at bit 64; text/data/list/struct ptr[0]. */
static void read_value(const capnp_struct *v, struct cg_value *out)
{
    uint16_t tag = capnp_get_u16(v, 0, 0);

    memset(out, 0, sizeof *out);
    out->kind = tag <= T_ANYPTR ? (enum cg_tkind)tag : T_ANYPTR;
    switch (out->kind) {
    case T_BOOL:
        out->bits = capnp_get_bool(v, 16, false);
        break;
    case T_INT8:
    case T_UINT8:
        out->bits = capnp_get_u8(v, 2, 0);
        break;
    case T_INT16:
    case T_UINT16:
    case T_ENUM:
        out->bits = capnp_get_u16(v, 2, 0);
        break;
    case T_INT32:
    case T_UINT32:
    case T_FLOAT32:
        out->bits = capnp_get_u32(v, 4, 0);
        break;
    case T_INT64:
    case T_UINT64:
    case T_FLOAT64:
        out->bits = capnp_get_u64(v, 8, 0);
        break;
    case T_TEXT:
        if (capnp_has_ptr(v, 0)) {
            const char *s = "";
            size_t n = 0;
            int err = capnp_get_text(v, 0, &s, &n);
            if (err != 0)
                fail(err, "Value.text");
            out->bytes = (const uint8_t *)s;
            out->len = n;
        }
        break;
    case T_DATA:
        if (capnp_has_ptr(v, 0)) {
            const uint8_t *d = NULL;
            size_t n = 0;
            int err = capnp_get_data(v, 0, &d, &n);
            if (err != 0)
                fail(err, "Value.data");
            out->bytes = d;
            out->len = n;
        }
        break;
    default:
        /* void, list, struct, interface, anyPointer: value not kept. A
         * non-null list/struct default is flagged by bytes != NULL. */
        if (capnp_has_ptr(v, 0))
            out->bytes = (const uint8_t *)"";
        break;
    }
}

/* Field: name ptr[0]; codeOrder bits [0,16); discriminantValue bits
 * [16,32) default 65535 (stored XOR 65535); union tag bits [64,80): slot
 * (offset bits [32,64), type ptr[2], defaultValue ptr[3], hadExplicitDefault
 * bit 128) or group (typeId bits [128,192)). */
static void read_field(const capnp_struct *f, struct cg_field *out,
                       const char *doc)
{
    memset(out, 0, sizeof *out);
    out->name = text(f, 0, "Field.name");
    out->doc = doc;
    out->code_order = capnp_get_u16(f, 0, 0);
    out->discriminant = capnp_get_u16(f, 2, CG_NO_DISCRIMINANT);
    /* ordinal: union tag bits [80,96) (0 implicit, 1 explicit), explicit
     * bits [96,112). */
    out->ordinal = capnp_get_u16(f, 10, 0) == 1 ? capnp_get_u16(f, 12, 0) : -1;
    if (capnp_get_u16(f, 8, 0) == 1) {
        out->is_group = true;
        out->group_id = capnp_get_u64(f, 16, 0);
        return;
    }
    out->offset = capnp_get_u32(f, 4, 0);
    capnp_struct t, v;
    get_struct(f, 2, &t, "Field.slot.type");
    read_type(&t, &out->type, 0);
    get_struct(f, 3, &v, "Field.slot.defaultValue");
    read_value(&v, &out->dflt);
    out->had_default = capnp_get_bool(f, 128, false);
}

/* The doc comments of one node (from CodeGeneratorRequest.sourceInfo). */
struct src_info {
    const char *doc;
    capnp_list members; /* SourceInfo.Member: docComment ptr[0] */
};

static const char *member_doc(const struct src_info *si, uint32_t i)
{
    capnp_struct m;

    if (si == NULL || i >= capnp_list_len(&si->members))
        return NULL;
    list_struct(&si->members, i, &m, "SourceInfo.members");
    return doc_text(&m, 0);
}

/* Node: id bits [0,64); displayName ptr[0]; scopeId bits [128,192);
 * nestedNodes ptr[1]; isGeneric bit 288; union tag bits [96,112). */
/* Method.annotations (ptr[1]; Annotation: id [0,64)) of method e: their
 * ids into m (emit-iface.c tells which ones it knows by their names). */
static void read_annotation_ids(const capnp_struct *e, struct cg_method *m)
{
    capnp_list l;
    capnp_struct a;
    get_list(e, 1, CAPNP_ELEM_COMPOSITE, &l, "Method.annotations");
    m->nannotations = capnp_list_len(&l);
    m->annotations = cg_alloc((m->nannotations + 1) * sizeof *m->annotations);
    for (uint32_t i = 0; i < m->nannotations; i++) {
        list_struct(&l, i, &a, "Method.annotations[]");
        m->annotations[i] = capnp_get_u64(&a, 0, 0);
    }
}

static void read_node(const capnp_struct *n, struct cg_node *out,
                      const struct src_info *si)
{
    capnp_list l;
    capnp_struct e;
    uint32_t i;

    memset(out, 0, sizeof *out);
    out->id = capnp_get_u64(n, 0, 0);
    out->display_name = text(n, 0, "Node.displayName");
    out->scope_id = capnp_get_u64(n, 16, 0);
    out->is_generic = capnp_get_bool(n, 288, false);
    out->doc = si != NULL ? si->doc : NULL;

    /* NestedNode: name ptr[0], id bits [0,64). */
    get_list(n, 1, CAPNP_ELEM_COMPOSITE, &l, "Node.nestedNodes");
    out->nnested = capnp_list_len(&l);
    out->nested = cg_alloc((out->nnested + 1) * sizeof *out->nested);
    for (i = 0; i < out->nnested; i++) {
        list_struct(&l, i, &e, "Node.nestedNodes[]");
        out->nested[i].name = text(&e, 0, "NestedNode.name");
        out->nested[i].id = capnp_get_u64(&e, 0, 0);
    }

    uint16_t tag = capnp_get_u16(n, 12, 0);
    out->kind = tag <= CG_ANNOTATION ? (enum cg_kind)tag : CG_ANNOTATION;
    switch (out->kind) {
    case CG_STRUCT:
        /* dataWordCount bits [112,128); pointerCount [192,208); isGroup
         * bit 224; discriminantCount [240,256); discriminantOffset
         * [256,288); fields ptr[3]. */
        out->data_words = capnp_get_u16(n, 14, 0);
        out->ptr_count = capnp_get_u16(n, 24, 0);
        out->is_group = capnp_get_bool(n, 224, false);
        out->disc_count = capnp_get_u16(n, 30, 0);
        out->disc_offset = capnp_get_u32(n, 32, 0);
        get_list(n, 3, CAPNP_ELEM_COMPOSITE, &l, "Node.struct.fields");
        out->nfields = capnp_list_len(&l);
        out->fields = cg_alloc((out->nfields + 1) * sizeof *out->fields);
        for (i = 0; i < out->nfields; i++) {
            list_struct(&l, i, &e, "Node.struct.fields[]");
            read_field(&e, &out->fields[i], member_doc(si, i));
        }
        break;
    case CG_ENUM:
        /* enumerants ptr[3]; Enumerant: name ptr[0], codeOrder [0,16). */
        get_list(n, 3, CAPNP_ELEM_COMPOSITE, &l, "Node.enum.enumerants");
        out->nenumerants = capnp_list_len(&l);
        out->enumerants =
            cg_alloc((out->nenumerants + 1) * sizeof *out->enumerants);
        for (i = 0; i < out->nenumerants; i++) {
            list_struct(&l, i, &e, "Node.enum.enumerants[]");
            out->enumerants[i].name = text(&e, 0, "Enumerant.name");
            out->enumerants[i].code_order = capnp_get_u16(&e, 0, 0);
            out->enumerants[i].doc = member_doc(si, i);
        }
        break;
    case CG_INTERFACE:
        /* methods ptr[3]; Method: name ptr[0], codeOrder [0,16),
         * paramStructType [64,128), resultStructType [128,192).
         * superclasses ptr[4]; Superclass: id [0,64). */
        get_list(n, 3, CAPNP_ELEM_COMPOSITE, &l, "Node.interface.methods");
        out->nmethods = capnp_list_len(&l);
        out->methods = cg_alloc((out->nmethods + 1) * sizeof *out->methods);
        for (i = 0; i < out->nmethods; i++) {
            struct cg_method *m = &out->methods[i];
            list_struct(&l, i, &e, "Node.interface.methods[]");
            m->name = text(&e, 0, "Method.name");
            m->code_order = capnp_get_u16(&e, 0, 0);
            m->ordinal = (uint16_t)i;
            m->params_id = capnp_get_u64(&e, 8, 0);
            m->results_id = capnp_get_u64(&e, 16, 0);
            m->doc = member_doc(si, i);
            read_annotation_ids(&e, m);
        }
        get_list(n, 4, CAPNP_ELEM_COMPOSITE, &l, "Node.interface.superclasses");
        out->nsupers = capnp_list_len(&l);
        out->supers = cg_alloc((out->nsupers + 1) * sizeof *out->supers);
        for (i = 0; i < out->nsupers; i++) {
            list_struct(&l, i, &e, "Node.interface.superclasses[]");
            out->supers[i] = capnp_get_u64(&e, 0, 0);
        }
        break;
    case CG_CONST: {
        /* type ptr[3], value ptr[4]. */
        capnp_struct t, v;
        get_struct(n, 3, &t, "Node.const.type");
        read_type(&t, &out->const_type, 0);
        get_struct(n, 4, &v, "Node.const.value");
        read_value(&v, &out->const_value);
        break;
    }
    default:
        break;
    }
}

struct cg_node *cg_find(const struct cg_request *req, uint64_t id)
{
    for (uint32_t i = 0; i < req->nnodes; i++)
        if (req->nodes[i].id == id)
            return &req->nodes[i];
    return NULL;
}

int cg_read_request(const uint8_t *buf, size_t len, struct cg_request *req)
{
    /* The whole request is read once, but every list element read charges
     * the traversal limit; a big schema set is far below 64 Mi words. */
    static capnp_message msg;
    capnp_struct root, e;
    capnp_list nodes, files, infos;
    struct src_info *si;
    uint32_t i, j;
    int err;

    memset(req, 0, sizeof *req);
    err = capnp_msg_init(&msg, buf, len, NULL);
    if (err == 0)
        err = capnp_msg_root(&msg, &root);
    if (err != 0) {
        fprintf(stderr,
                "capnpc-c: stdin is not a Cap'n Proto message (%s); run me "
                "as a plugin: capnp compile -o path/to/capnpc-c file.capnp\n",
                capnp_strerror(err));
        return -1;
    }

    /* CodeGeneratorRequest: nodes ptr[0], requestedFiles ptr[1],
     * capnpVersion ptr[2] (major [0,16), minor [16,24), micro [24,32)),
     * sourceInfo ptr[3] (id [0,64), docComment ptr[0], members ptr[1]). */
    get_struct(&root, 2, &e, "capnpVersion");
    req->capnp_major = capnp_get_u16(&e, 0, 0);
    req->capnp_minor = capnp_get_u8(&e, 2, 0);
    req->capnp_micro = capnp_get_u8(&e, 3, 0);

    get_list(&root, 3, CAPNP_ELEM_COMPOSITE, &infos, "sourceInfo");
    uint32_t ninfo = capnp_list_len(&infos);
    si = cg_alloc((ninfo + 1) * sizeof *si);
    uint64_t *si_id = cg_alloc((ninfo + 1) * sizeof *si_id);
    for (i = 0; i < ninfo; i++) {
        list_struct(&infos, i, &e, "sourceInfo[]");
        si_id[i] = capnp_get_u64(&e, 0, 0);
        si[i].doc = doc_text(&e, 0);
        get_list(&e, 1, CAPNP_ELEM_COMPOSITE, &si[i].members,
                 "SourceInfo.members");
    }

    get_list(&root, 0, CAPNP_ELEM_COMPOSITE, &nodes, "nodes");
    req->nnodes = capnp_list_len(&nodes);
    req->nodes = cg_alloc((req->nnodes + 1) * sizeof *req->nodes);
    for (i = 0; i < req->nnodes && read_err == 0; i++) {
        const struct src_info *info = NULL;
        uint64_t id;

        list_struct(&nodes, i, &e, "nodes[]");
        id = capnp_get_u64(&e, 0, 0);
        for (j = 0; j < ninfo; j++)
            if (si_id[j] == id) {
                info = &si[j];
                break;
            }
        read_node(&e, &req->nodes[i], info);
    }

    /* RequestedFile: id [0,64), filename ptr[0]. */
    get_list(&root, 1, CAPNP_ELEM_COMPOSITE, &files, "requestedFiles");
    req->nfiles = capnp_list_len(&files);
    req->files = cg_alloc((req->nfiles + 1) * sizeof *req->files);
    for (i = 0; i < req->nfiles; i++) {
        list_struct(&files, i, &e, "requestedFiles[]");
        req->files[i].id = capnp_get_u64(&e, 0, 0);
        req->files[i].filename = text(&e, 0, "RequestedFile.filename");
    }

    if (read_err != 0) {
        fprintf(stderr,
                "capnpc-c: malformed CodeGeneratorRequest at %s: %s (is "
                "capnp %u.%u.%u compatible with schema.capnp 0.9?)\n",
                read_err_where, capnp_strerror(read_err), req->capnp_major,
                req->capnp_minor, req->capnp_micro);
        return -1;
    }
    return 0;
}
