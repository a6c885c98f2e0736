/*
 * cgen.h - capnpc-c's model of a CodeGeneratorRequest, shared by the
 * request reader (request.c), the C emitter (emit.c) and the round-trip
 * emitter (roundtrip.c), and the helpers cgen.c gives all of them.
 *
 * request.c fills the model from the request message with the project
 * codec (include/capos/capnp.h); emit.c only reads the model. Every string
 * in the model points into the request buffer (NUL-terminated there) or
 * into memory the model owns; the model lives until the program exits.
 */
#ifndef CAPNPC_C_CGEN_H
#define CAPNPC_C_CGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Node kinds: the Node union tags of schema.capnp. */
enum cg_kind {
    CG_FILE = 0,
    CG_STRUCT = 1,
    CG_ENUM = 2,
    CG_INTERFACE = 3,
    CG_CONST = 4,
    CG_ANNOTATION = 5,
};

/* Type kinds: the Type (and Value) union tags of schema.capnp. */
enum cg_tkind {
    T_VOID = 0,
    T_BOOL,
    T_INT8,
    T_INT16,
    T_INT32,
    T_INT64,
    T_UINT8,
    T_UINT16,
    T_UINT32,
    T_UINT64,
    T_FLOAT32,
    T_FLOAT64,
    T_TEXT,
    T_DATA,
    T_LIST,
    T_ENUM,
    T_STRUCT,
    T_INTERFACE,
    T_ANYPTR, /* also a generic parameter: read as AnyPointer */
};

struct cg_type {
    enum cg_tkind kind;
    uint64_t id;          /* T_ENUM, T_STRUCT, T_INTERFACE */
    struct cg_type *elem; /* T_LIST */
};

/* A Value (field default or constant). Primitives keep their bits as
 * stored (two's complement, IEEE-754); text/data point at their bytes. */
struct cg_value {
    enum cg_tkind kind;
    uint64_t bits;
    const uint8_t *bytes; /* T_TEXT, T_DATA: NULL when the pointer is null */
    size_t len;
};

#define CG_NO_DISCRIMINANT 0xffffu

struct cg_field {
    const char *name;
    const char *doc; /* NULL: none */
    uint16_t code_order;
    int32_t ordinal;       /* @N, or -1 (groups have none) */
    uint16_t discriminant; /* CG_NO_DISCRIMINANT: not in a union */
    bool is_group;
    uint64_t group_id;    /* is_group */
    uint32_t offset;      /* slot: in units of the type's size */
    struct cg_type type;  /* slot */
    struct cg_value dflt; /* slot */
    bool had_default;
};

struct cg_enumerant {
    const char *name;
    const char *doc;
    uint16_t code_order;
};

struct cg_method {
    const char *name;
    const char *doc;
    uint16_t ordinal; /* index in the interface's method list */
    uint16_t code_order;
    uint64_t params_id;
    uint64_t results_id;
    uint64_t *annotations; /* ids of the annotations applied to it */
    uint32_t nannotations;
};

struct cg_nested {
    const char *name;
    uint64_t id;
};

struct cg_node {
    uint64_t id;
    uint64_t scope_id;
    const char *display_name;
    enum cg_kind kind;
    bool is_generic;
    const char *doc;
    struct cg_nested *nested;
    uint32_t nnested;

    /* CG_STRUCT */
    uint16_t data_words;
    uint16_t ptr_count;
    bool is_group;
    uint16_t disc_count;
    uint32_t disc_offset; /* in 16-bit units */
    struct cg_field *fields;
    uint32_t nfields;

    /* CG_ENUM */
    struct cg_enumerant *enumerants;
    uint32_t nenumerants;

    /* CG_INTERFACE */
    struct cg_method *methods;
    uint32_t nmethods;
    uint64_t *supers;
    uint32_t nsupers;

    /* CG_CONST */
    struct cg_type const_type;
    struct cg_value const_value;

    /* Derived by cg_assign_names(). */
    char *c_name; /* e.g. "capos_Console_write_Params"; NULL: unnamed */
    char *macro;  /* upper-snake c_name, e.g. "CAPOS_CONSOLE_WRITE_PARAMS" */
    char *schema_name; /* e.g. "Console.write$Params" (for comments) */
    uint64_t file_id;  /* the file the node was reached from */
    uint32_t order;    /* emission order within its file */
};

struct cg_file {
    uint64_t id;
    const char *filename; /* as requested, e.g. "schema/capos.capnp" */
};

struct cg_request {
    struct cg_node *nodes;
    uint32_t nnodes;
    struct cg_file *files; /* requested files */
    uint32_t nfiles;
    uint16_t capnp_major, capnp_minor, capnp_micro;
};

/* request.c */

/*
 * Read a stream-framed CodeGeneratorRequest from buf[0..len) into *req.
 * buf must outlive req (strings point into it). Returns 0, or -1 after
 * printing what was wrong to stderr.
 */
int cg_read_request(const uint8_t *buf, size_t len, struct cg_request *req);

/* The node with this id, or NULL. */
struct cg_node *cg_find(const struct cg_request *req, uint64_t id);

/* names.c */

/*
 * Give every node reachable from a file node its C name (see the naming
 * scheme in capnpc-c.c). Returns 0, or -1 after printing why to stderr.
 */
int cg_assign_names(struct cg_request *req);

/* "capos_Console_writeLine" -> "CAPOS_CONSOLE_WRITE_LINE" (new string). */
char *cg_upper_snake(const char *s);

/* emit.c */

/*
 * Write <out_base>.h and <out_base>.c for the requested file f, creating
 * directories of out_base as needed. Returns 0, or -1 after printing why.
 */
int cg_emit_file(const struct cg_request *req, const struct cg_file *f,
                 const char *out_base);

/* roundtrip.c */

/*
 * With CAPNPC_C_ROUNDTRIP=1: write <out_base>.roundtrip.{h,c,capnp}, the
 * round-trip test code of every struct of f (and not <out_base>.{h,c}).
 * Returns 0, or -1 after printing why.
 */
int cg_emit_roundtrip(const struct cg_request *req, const struct cg_file *f,
                      const char *out_base);

/* cgen.c: helpers shared by the emitters */

/* Allocation that exits with a message on failure (host tool); all of it
 * is freed at once by cg_free_arena (main registers it with atexit). */
void *cg_alloc(size_t n);
void cg_free_arena(void);
char *cg_strdup(const char *s);
char *cg_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Output files are written to path.tmp and renamed into place when
 * complete: cg_open_tmp opens it (*tmp gets its name), cg_close_tmp
 * checks for write errors and renames (removing the temporary on error).
 * Both print what went wrong; NULL / -1 on failure. */
FILE *cg_open_tmp(const char *path, char **tmp);
int cg_close_tmp(FILE *f, const char *tmp, const char *path);
/* The last component of path. */
const char *cg_base_name(const char *path);
/* mkdir -p of the directory part of path. Returns 0, or -1 after
 * printing why. */
int cg_make_dirs(const char *path);
/* qsort order of node pointers: by cg_node.order, the emission order
 * names.c assigned, so output does not depend on the request's order. */
int cg_cmp_order(const void *a, const void *b);

/* True for the kinds stored in a struct's data section (Bool..Float64,
 * enums). */
bool cg_is_data(enum cg_tkind k);
/* The CAPNP_ELEM_* a list of t is encoded with (the element size the
 * generated getters and setters pass to the codec). */
const char *cg_elem_macro(const struct cg_type *t);

#endif /* CAPNPC_C_CGEN_H */
