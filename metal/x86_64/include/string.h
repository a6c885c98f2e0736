/*
 * string.h of the bare-metal port's freestanding C library
 * (metal/x86_64/libc.c): the string functions the model, capos-rt and the
 * services use. No host header is used on metal.
 */
#ifndef CAPOS_METAL_STRING_H
#define CAPOS_METAL_STRING_H

#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *restrict dst, const char *restrict src);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);

#endif /* CAPOS_METAL_STRING_H */
