/*
 * stdio.h of the bare-metal port's freestanding C library
 * (metal/x86_64/printf.c): formatting into buffers only. There are no
 * files on metal; output goes through the console capability.
 */
#ifndef CAPOS_METAL_STDIO_H
#define CAPOS_METAL_STDIO_H

#include <stdarg.h>
#include <stddef.h>

int snprintf(char *restrict buf, size_t cap, const char *restrict fmt, ...)
    __attribute__((format(printf, 3, 4)));
int vsnprintf(char *restrict buf, size_t cap, const char *restrict fmt,
              va_list ap) __attribute__((format(printf, 3, 0)));

#endif /* CAPOS_METAL_STDIO_H */
