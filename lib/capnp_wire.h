/*
 * capnp_wire.h - wire-format details shared by the codec's reader
 * (lib/capnp.c) and builder (lib/capnp_build.c): pointer kinds, the
 * segment size limit, little-endian loads and stores, pointer offsets
 * and the per-element sizes of non-composite lists. Internal to lib/.
 */
#ifndef CAPOS_LIB_CAPNP_WIRE_H
#define CAPOS_LIB_CAPNP_WIRE_H

#include "capos/capnp.h"

#define KIND_STRUCT 0u
#define KIND_LIST 1u
#define KIND_FAR 2u
#define KIND_OTHER 3u

/* Pointer offsets are 30-bit signed words; keep every segment addressable. */
#define MAX_SEGMENT_WORDS ((1u << 29) - 1u)

/* ------------------------------------------------------------------ */
/* Little-endian loads and stores                                      */
/* ------------------------------------------------------------------ */

static inline uint16_t ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t ld64(const uint8_t *p)
{
    return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static inline void st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void st64(uint8_t *p, uint64_t v)
{
    st32(p, (uint32_t)v);
    st32(p + 4, (uint32_t)(v >> 32));
}

/* The signed 30-bit offset of a struct or list pointer, without relying on
 * implementation-defined signed shifts. */
static inline int64_t ptr_offset(uint64_t w)
{
    int64_t v = (int64_t)((uint32_t)w >> 2);
    return (v ^ 0x20000000) - 0x20000000;
}

/* Bits of data and pointers per element of a non-composite list. */
static const uint8_t elem_data_bits[8] = {0, 1, 8, 16, 32, 64, 0, 0};
static const uint8_t elem_ptrs[8] = {0, 0, 0, 0, 0, 0, 1, 0};

#endif /* CAPOS_LIB_CAPNP_WIRE_H */
