/*
 * metal/x86_64/printf.c - snprintf and vsnprintf of the bare-metal port's
 * freestanding C library. No port dependency: metal/x86_64/test_printf
 * compiles it on the host too and compares it with the C library's.
 *
 * Conversions: d i u x X o c s p %, flags - 0 # + space, a field width and
 * a precision (numbers or *), length modifiers hh h l ll z j t. No floating
 * point (nothing on metal formats one). An unknown conversion is copied
 * through as written, so a bad format shows up in the output instead of
 * reading a wrong argument. Returns what C11 says: the length the whole
 * output would have, the buffer always NUL-terminated when cap > 0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct printf_out {
    char *buf;
    size_t cap;
    size_t len; /* bytes the output has so far (may exceed cap) */
};

struct printf_spec {
    bool left, zero, alt, plus, space;
    int width;
    int prec; /* -1: none */
    char len; /* 0, 'H' (hh), 'h', 'l', 'L' (ll), 'z', 'j', 't' */
};

static void printf_put(struct printf_out *o, char c)
{
    if (o->len + 1 < o->cap)
        o->buf[o->len] = c;
    o->len++;
}

static void printf_pad(struct printf_out *o, char c, int n)
{
    while (n-- > 0)
        printf_put(o, c);
}

static void printf_str(struct printf_out *o, const struct printf_spec *sp,
                       const char *s)
{
    size_t n = 0;

    if (s == NULL)
        s = "(null)";
    while ((sp->prec < 0 || n < (size_t)sp->prec) && s[n])
        n++;
    if (!sp->left)
        printf_pad(o, ' ', sp->width - (int)n);
    for (size_t i = 0; i < n; i++)
        printf_put(o, s[i]);
    if (sp->left)
        printf_pad(o, ' ', sp->width - (int)n);
}

/* An integer: v is its magnitude, neg its sign, base 8, 10 or 16. */
static void printf_num(struct printf_out *o, const struct printf_spec *sp,
                       uint64_t v, bool neg, unsigned base, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0, zeros, total;
    const char *prefix = "";

    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v != 0);
    if (sp->prec == 0 && n == 1 && tmp[0] == '0')
        n = 0; /* "%.0d" of 0 prints nothing */
    if (neg)
        prefix = "-";
    else if (sp->plus && base == 10)
        prefix = "+";
    else if (sp->space && base == 10)
        prefix = " ";
    else if (sp->alt && base == 16 && n > 0 && !(n == 1 && tmp[0] == '0'))
        prefix = upper ? "0X" : "0x";
    else if (sp->alt && base == 8 && (n == 0 || tmp[n - 1] != '0'))
        prefix = "0";
    zeros = sp->prec > n ? sp->prec - n : 0;
    total = (int)strlen(prefix) + zeros + n;
    if (sp->zero && !sp->left && sp->prec < 0 && sp->width > total) {
        zeros += sp->width - total;
        total = sp->width;
    }
    if (!sp->left)
        printf_pad(o, ' ', sp->width - total);
    for (const char *p = prefix; *p; p++)
        printf_put(o, *p);
    printf_pad(o, '0', zeros);
    while (n > 0)
        printf_put(o, tmp[--n]);
    if (sp->left)
        printf_pad(o, ' ', sp->width - total);
}

/* Parse flags, width, precision and length at *f; advances *f. */
static void printf_parse(const char **f, struct printf_spec *sp, va_list *ap)
{
    const char *p = *f;

    *sp = (struct printf_spec){.prec = -1};
    for (;; p++) {
        if (*p == '-')
            sp->left = true;
        else if (*p == '0')
            sp->zero = true;
        else if (*p == '#')
            sp->alt = true;
        else if (*p == '+')
            sp->plus = true;
        else if (*p == ' ')
            sp->space = true;
        else
            break;
    }
    if (*p == '*') {
        sp->width = va_arg(*ap, int);
        if (sp->width < 0) {
            sp->left = true;
            sp->width = -sp->width;
        }
        p++;
    } else {
        while (*p >= '0' && *p <= '9' && sp->width < 100000)
            sp->width = sp->width * 10 + (*p++ - '0');
    }
    if (*p == '.') {
        p++;
        sp->prec = 0;
        if (*p == '*') {
            sp->prec = va_arg(*ap, int);
            if (sp->prec < 0)
                sp->prec = -1;
            p++;
        } else {
            while (*p >= '0' && *p <= '9' && sp->prec < 100000)
                sp->prec = sp->prec * 10 + (*p++ - '0');
        }
    }
    if (p[0] == 'h' && p[1] == 'h') {
        sp->len = 'H';
        p += 2;
    } else if (p[0] == 'l' && p[1] == 'l') {
        sp->len = 'L';
        p += 2;
    } else if (*p == 'h' || *p == 'l' || *p == 'z' || *p == 'j' || *p == 't') {
        sp->len = *p++;
    }
    *f = p;
}

static int64_t printf_signed(const struct printf_spec *sp, va_list *ap)
{
    switch (sp->len) {
    case 'H': return (signed char)va_arg(*ap, int);
    case 'h': return (short)va_arg(*ap, int);
    case 'l': return va_arg(*ap, long);
    case 'L': return va_arg(*ap, long long);
    case 'z': return (int64_t)va_arg(*ap, size_t);
    case 'j': return va_arg(*ap, intmax_t);
    case 't': return va_arg(*ap, ptrdiff_t);
    default: return va_arg(*ap, int);
    }
}

static uint64_t printf_unsigned(const struct printf_spec *sp, va_list *ap)
{
    switch (sp->len) {
    case 'H': return (unsigned char)va_arg(*ap, unsigned);
    case 'h': return (unsigned short)va_arg(*ap, unsigned);
    case 'l': return va_arg(*ap, unsigned long);
    case 'L': return va_arg(*ap, unsigned long long);
    case 'z': return va_arg(*ap, size_t);
    case 'j': return va_arg(*ap, uintmax_t);
    case 't': return (uint64_t)va_arg(*ap, ptrdiff_t);
    default: return va_arg(*ap, unsigned);
    }
}

/* One conversion c with spec sp; false if c is not one we know. */
static bool printf_conv(struct printf_out *o, struct printf_spec *sp, char c,
                        va_list *ap)
{
    switch (c) {
    case 'd':
    case 'i': {
        int64_t v = printf_signed(sp, ap);
        printf_num(o, sp, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v,
                   v < 0, 10, false);
        return true;
    }
    case 'u': printf_num(o, sp, printf_unsigned(sp, ap), false, 10, false); return true;
    case 'x': printf_num(o, sp, printf_unsigned(sp, ap), false, 16, false); return true;
    case 'X': printf_num(o, sp, printf_unsigned(sp, ap), false, 16, true); return true;
    case 'o': printf_num(o, sp, printf_unsigned(sp, ap), false, 8, false); return true;
    case 'p':
        sp->alt = true;
        printf_num(o, sp, (uint64_t)(uintptr_t)va_arg(*ap, void *), false, 16, false);
        return true;
    case 'c': {
        char s[2] = {(char)va_arg(*ap, int), 0};
        sp->prec = 1;
        printf_str(o, sp, s);
        return true;
    }
    case 's': printf_str(o, sp, va_arg(*ap, const char *)); return true;
    case '%': printf_put(o, '%'); return true;
    default: return false;
    }
}

int vsnprintf(char *restrict buf, size_t cap, const char *restrict fmt,
              va_list ap)
{
    struct printf_out o = {buf, cap, 0};
    va_list aq;

    va_copy(aq, ap);
    for (const char *f = fmt; *f; f++) {
        const char *start = f;
        struct printf_spec sp;

        if (*f != '%') {
            printf_put(&o, *f);
            continue;
        }
        f++;
        printf_parse(&f, &sp, &aq);
        if (*f == 0 || !printf_conv(&o, &sp, *f, &aq)) {
            for (const char *p = start; p <= f && *p; p++)
                printf_put(&o, *p);
            if (*f == 0)
                break;
        }
    }
    va_end(aq);
    if (cap > 0)
        buf[o.len < cap ? o.len : cap - 1] = 0;
    return o.len > INT32_MAX ? -1 : (int)o.len;
}

int snprintf(char *restrict buf, size_t cap, const char *restrict fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}
