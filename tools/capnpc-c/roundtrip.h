/*
 * roundtrip.h - declarations shared by the round-trip emitter's files:
 * roundtrip.c (field serials, the mirror schema, the output files),
 * roundtrip-types.c (types, values, union choice, the field walk),
 * roundtrip-fill.c, roundtrip-check.c and roundtrip-text.c (the rt_fill,
 * rt_check and rt_text functions of each struct).
 */
#ifndef CAPNPC_C_ROUNDTRIP_H
#define CAPNPC_C_ROUNDTRIP_H

#include "cgen.h"

#define NO_SERIAL UINT32_MAX
#define NO_PICK 0xffffu

struct rtinfo {
    uint32_t *serial;           /* per field; NO_SERIAL for groups */
    const struct cg_node *root; /* the struct a group belongs to */
    const char *path;           /* "" for a struct, "source." for a group */
};

struct gen {
    FILE *f;
    const struct cg_request *req;
    uint64_t file_id;
    struct rtinfo *info; /* by node index */
};

/* One field's code for rtt_walk (see there). */
typedef void (*rt_field_fn)(struct gen *g, const struct cg_node *n,
                            const struct cg_field *f, uint32_t i, bool in_union,
                            int indent);

/* roundtrip-types.c */
void rt_put(struct gen *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
uint32_t rtt_idx_of(const struct gen *g, const struct cg_node *n);
unsigned rtt_width_of(enum cg_tkind k);
bool rtt_is_signed(enum cg_tkind k);
const struct cg_node *rtt_local_struct(const struct gen *g, uint64_t id);
bool rtt_type_cap(const struct cg_type *t);
bool rtt_type_has_struct(const struct cg_type *t);
unsigned rtt_field_kind(const struct gen *g, const struct cg_field *f);
uint16_t rtt_enum_count(const struct gen *g, uint64_t id);
int64_t rtt_as_signed(uint64_t b, unsigned w);
uint64_t rtt_seed_of(const struct cg_node *n, uint32_t i);
char *rtt_data_value(const struct gen *g, const struct cg_field *f,
                     uint64_t seed);
void rtt_put_bytes_value(struct gen *g, const char *I, const struct cg_field *f,
                         uint64_t seed);
void rtt_put_nested_level(struct gen *g, const char *I, int lv);
void rtt_put_field_level(struct gen *g, const char *I, const char *cnt,
                         uint64_t seed, uint32_t fi);
unsigned rtt_variants_of(const struct gen *g, const struct cg_node *n,
                         int depth);
bool rtt_empty_rejects(const struct gen *g, const struct cg_node *n, int depth);
const char *rtt_ind(int n);
void rtt_walk(struct gen *g, const struct cg_node *n, rt_field_fn each,
              bool name_comments, const char *union_comment, const char *where);

/* roundtrip-fill.c */
void fill_emit(struct gen *g, const struct cg_node *n);

/* roundtrip-check.c */
void check_emit(struct gen *g, const struct cg_node *n);

/* roundtrip-text.c */
void text_emit(struct gen *g, const struct cg_node *n);
void text_mark_node_enums(const struct gen *g, const struct cg_node *n,
                          bool *used, int depth);

#endif /* CAPNPC_C_ROUNDTRIP_H */
