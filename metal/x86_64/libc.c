/*
 * metal/x86_64/libc.c - the freestanding C library of the bare-metal port:
 * the string and ctype functions its headers (metal/x86_64/include/)
 * declare, and the few glibc entry points Debian's static libargon2.a
 * calls besides malloc and free (heap.c).
 *
 * The string functions are plain byte loops: the compiler may turn calls
 * into inline code anyway, and nothing on metal is bound by their speed
 * except argon2's block copies, which libargon2 does with its own SSE code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "metal.h"
#include "port.h"

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;

    while (n--)
        *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;

    if (d < s) {
        while (n--)
            *d++ = *s++;
    } else if (d > s) {
        while (n--)
            d[n] = s[n];
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    uint8_t *d = dst;

    while (n--)
        *d++ = (uint8_t)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;

    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

void *memchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;

    for (size_t i = 0; i < n; i++)
        if (p[i] == (unsigned char)c)
            return (void *)(p + i);
    return NULL;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n > 0; n--, a++, b++) {
        if (*a != *b)
            return (int)(unsigned char)*a - (int)(unsigned char)*b;
        if (*a == 0)
            break;
    }
    return 0;
}

char *strcpy(char *restrict dst, const char *restrict src)
{
    char *d = dst;

    while ((*d++ = *src++) != 0)
        ;
    return dst;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (*s == 0)
            return NULL;
    }
}

char *strrchr(const char *s, int c)
{
    const char *last = NULL;

    for (;; s++) {
        if (*s == (char)c)
            last = s;
        if (*s == 0)
            return (char *)last;
    }
}

int tolower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int toupper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

int isdigit(int c)
{
    return c >= '0' && c <= '9';
}

int isspace(int c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

int isprint(int c)
{
    return c >= 0x20 && c < 0x7f;
}

/* ---- what libargon2.a needs from glibc ------------------------------- */

/* _FORTIFY_SOURCE's sprintf: the object size is known, so an overflow is
 * caught instead of done. */
int __sprintf_chk(char *buf, int flag, size_t cap, const char *fmt, ...);
int __sprintf_chk(char *buf, int flag, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;

    (void)flag;
    va_start(ap, fmt);
    n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap)
        port_panic("__sprintf_chk: buffer overflow in libargon2");
    return n;
}

_Noreturn void __stack_chk_fail(void);
_Noreturn void __stack_chk_fail(void)
{
    port_panic("stack smashing detected (stack-protector canary changed)");
}

/*
 * libargon2 makes one host thread per lane when asked for more than one
 * (p > 1). Metal has one CPU and no host threads, so creating one fails
 * (EAGAIN) and argon2 reports ARGON2_THREAD_FAIL: the hash is refused,
 * never computed weaker. Every credential of the system uses p = 1, for
 * which libargon2 creates no thread.
 */
typedef unsigned long metal_pthread_t;
int pthread_create(metal_pthread_t *t, const void *attr, void *(*fn)(void *),
                   void *arg);
int pthread_join(metal_pthread_t t, void **ret);
_Noreturn void pthread_exit(void *ret);

int pthread_create(metal_pthread_t *t, const void *attr, void *(*fn)(void *),
                   void *arg)
{
    (void)t;
    (void)attr;
    (void)fn;
    (void)arg;
    return 11; /* EAGAIN */
}

int pthread_join(metal_pthread_t t, void **ret)
{
    (void)t;
    (void)ret;
    return 3; /* ESRCH: no thread was ever created */
}

_Noreturn void pthread_exit(void *ret)
{
    (void)ret;
    port_panic("pthread_exit: metal has no host threads");
}
