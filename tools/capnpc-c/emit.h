/*
 * emit.h - declarations shared by the C emitter's files: emit.c (structs,
 * enums, constants and the two output files), emit-iface.c (interfaces,
 * CALL stubs, name tables) and emit-lit.c (output primitives, comments,
 * literals and type spellings).
 */
#ifndef CAPNPC_C_EMIT_H
#define CAPNPC_C_EMIT_H

#include "cgen.h"

struct out {
    FILE *f;
    const struct cg_request *req;
    uint64_t file_id;
    bool *emitted; /* by node index */
};

/* emit-lit.c */
void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
uint32_t lit_node_index(const struct out *o, const struct cg_node *n);
void lit_put_doc(struct out *o, const char *indent, const char *doc);
void lit_put_c_string(struct out *o, const uint8_t *b, size_t n);
unsigned lit_data_bits(enum cg_tkind k);
const char *lit_c_type(enum cg_tkind k);
const char *lit_codec_sfx(enum cg_tkind k);
char *lit_type_name(const struct cg_request *req, const struct cg_type *t);
char *lit_int_literal(enum cg_tkind k, uint64_t bits);
char *lit_float_literal(enum cg_tkind k, uint64_t bits);
char *lit_default_arg(const struct cg_field *f);

/* emit.c */
void emit_struct(struct out *o, const struct cg_node *n);

/* emit-iface.c */
void iface_emit(struct out *o, const struct cg_node *n);
int iface_write_source(const struct cg_request *req, const struct cg_node *file,
                       const struct cg_node **list, uint32_t n,
                       const char *filename, const char *out_base);

#endif /* CAPNPC_C_EMIT_H */
