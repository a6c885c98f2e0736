/*
 * stdlib.h of the bare-metal port's freestanding C library: the allocator
 * (metal/x86_64/heap.c) over the port's pages.
 */
#ifndef CAPOS_METAL_STDLIB_H
#define CAPOS_METAL_STDLIB_H

#include <stddef.h>

void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void free(void *p);

#endif /* CAPOS_METAL_STDLIB_H */
