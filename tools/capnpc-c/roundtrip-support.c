/*
 * roundtrip-support.c - values and comparisons for the round-trip code
 * capnpc-c writes with CAPNPC_C_ROUNDTRIP=1 (see roundtrip-support.h).
 * Test code, hosted.
 */
#include "roundtrip-support.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

uint64_t cgrt_mix(uint64_t seed, unsigned variant)
{
    /* splitmix64 of seed and variant */
    uint64_t z = seed + 0x9e3779b97f4a7c15ull * ((uint64_t)variant + 1u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t cgrt_bits(uint64_t seed, unsigned variant, unsigned width,
                   uint64_t dflt)
{
    uint64_t mask = width >= 64 ? ~0ull : (1ull << width) - 1u;
    uint64_t v = cgrt_mix(seed, variant) & mask;

    if (v == (dflt & mask))
        v ^= 1u;
    return v;
}

uint16_t cgrt_enum(uint64_t seed, unsigned variant, unsigned n, uint16_t dflt)
{
    unsigned v;

    if (n <= 1)
        return 0;
    v = (unsigned)(cgrt_mix(seed, variant) % n);
    if (v == dflt)
        v = (v + 1u) % n;
    return (uint16_t)v;
}

float cgrt_f32(uint64_t seed, unsigned variant, uint32_t dflt_bits)
{
    /* k / 16 with |k| < 2^20: 24 significant bits at most, exact. */
    int64_t k = (int64_t)(cgrt_mix(seed, variant) % (1u << 21)) - (1 << 20);
    float f = (float)k / 16.0f;

    if (cgrt_f32_bits(f) == dflt_bits)
        f += 1.0f;
    return f;
}

double cgrt_f64(uint64_t seed, unsigned variant, uint64_t dflt_bits)
{
    /* k / 1024 with |k| < 2^40: needs up to 17 significant digits to
     * print exactly, which capnp must do for the round trip to hold. */
    int64_t k = (int64_t)(cgrt_mix(seed, variant) % (1ull << 41)) -
                (int64_t)(1ull << 40);
    double d = (double)k / 1024.0;

    if (cgrt_f64_bits(d) == dflt_bits)
        d += 1.0;
    return d;
}

/* Pieces of generated text: ASCII, the characters text printers escape,
 * control bytes, and 2- and 3-byte UTF-8. Not '(', ')' or '#': capnp
 * 0.9.2's text reader (capnp encode, capnp convert text:...) finds the end
 * of a message by counting parentheses and skipping '#' comments without
 * regard to string literals, so it cannot read a Text holding them back
 * ("Failed to read input"). */
static const char *const pieces[] = {
    "a",        "Z",
    "7",        " ",
    "\"",       "\\",
    "\n",       "\t",
    "\r",       "\x01",
    "\x1f",     "\x7f",
    "'",        "$",
    ",",        "=",
    "[",        "]",
    "{",        "}",
    "\xc3\xa9", "\xe2\x82\xac",
    "capos",    "_",
};

size_t cgrt_text(uint64_t seed, unsigned variant, char *buf, const char *dflt,
                 size_t dlen)
{
    uint64_t m = cgrt_mix(seed, variant);
    unsigned count = 2u + (unsigned)(m % 12u);
    size_t n = 0;

    for (unsigned i = 0; i < count; i++) {
        const char *p = pieces[cgrt_mix(seed ^ 0x5151u, variant * 64u + i) %
                               (sizeof pieces / sizeof pieces[0])];
        size_t pl = strlen(p);
        if (n + pl >= CGRT_TEXT_MAX - 2)
            break;
        memcpy(buf + n, p, pl);
        n += pl;
    }
    if (dflt != NULL && n == dlen && memcmp(buf, dflt, n) == 0)
        buf[n++] = 'x';
    buf[n] = '\0';
    return n;
}

size_t cgrt_data(uint64_t seed, unsigned variant, uint8_t *buf,
                 const uint8_t *dflt, size_t dlen)
{
    size_t n = 1u + (size_t)(cgrt_mix(seed, variant) % 16u);

    for (size_t i = 0; i < n; i++) {
        buf[i] = (uint8_t)cgrt_mix(seed + i + 1u, variant);
        /* capnp decode prints these raw, and capnp encode cannot read
         * them back (see pieces[] above). */
        if (buf[i] == '(' || buf[i] == ')' || buf[i] == '#')
            buf[i] |= 0x80u;
    }
    if (dflt != NULL && n == dlen && memcmp(buf, dflt, n) == 0)
        buf[n++] = 0xff;
    return n;
}

uint32_t cgrt_cap(uint64_t seed, unsigned variant)
{
    return (uint32_t)(cgrt_mix(seed, variant) % 100000u);
}

int cgrt_fail(cgrt_ctx *ctx, const char *where, unsigned variant,
              const char *fmt, ...)
{
    va_list ap;
    int n;

    if (ctx->why[0] != '\0')
        return -1;
    n = snprintf(ctx->why, sizeof ctx->why, "%s (variant %u): ", where,
                 variant);
    if (n < 0 || (size_t)n >= sizeof ctx->why)
        return -1;
    va_start(ap, fmt);
    vsnprintf(ctx->why + n, sizeof ctx->why - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

int cgrt_eq(cgrt_ctx *ctx, const char *where, unsigned variant, uint64_t got,
            uint64_t want)
{
    ctx->values++;
    if (got == want)
        return 0;
    return cgrt_fail(ctx, where, variant,
                     "got %llu (0x%llx), want %llu (0x%llx)",
                     (unsigned long long)got, (unsigned long long)got,
                     (unsigned long long)want, (unsigned long long)want);
}

int cgrt_rc(cgrt_ctx *ctx, const char *where, unsigned variant, int rc)
{
    if (rc == CAPNP_OK)
        return 0;
    return cgrt_fail(ctx, where, variant, "getter failed: %s",
                     capnp_strerror(rc));
}

/* bytes as a C string literal, shortened, for messages. */
static void show(char *out, size_t cap, const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t o = 0;

    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '"' && b[i] != '\\')
            out[o++] = (char)b[i];
        else
            o += (size_t)snprintf(out + o, cap - o, "\\%03o", b[i]);
    }
    out[o] = '\0';
}

int cgrt_eq_bytes(cgrt_ctx *ctx, const char *where, unsigned variant, int rc,
                  int has, const void *got, size_t glen, const void *want,
                  size_t wlen)
{
    char g[128], w[128];

    if (cgrt_rc(ctx, where, variant, rc) != 0)
        return -1;
    if (has == 0)
        return cgrt_fail(ctx, where, variant, "pointer is null");
    ctx->values++;
    if (glen == wlen && (wlen == 0 || memcmp(got, want, wlen) == 0))
        return 0;
    show(g, sizeof g, got, glen);
    show(w, sizeof w, want, wlen);
    return cgrt_fail(ctx, where, variant,
                     "got \"%s\" (%zu bytes), want \"%s\" (%zu bytes)", g, glen,
                     w, wlen);
}

int cgrt_null(cgrt_ctx *ctx, const char *where, unsigned variant, bool has)
{
    ctx->values++;
    if (!has)
        return 0;
    return cgrt_fail(ctx, where, variant,
                     "pointer is set, but fill left it null");
}

/* ---- text ------------------------------------------------------------ */

static void reserve(cgrt_buf *o, size_t n)
{
    if (o->len + n + 1 <= o->cap)
        return;
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->len + n + 1)
        cap *= 2;
    char *p = realloc(o->p, cap);
    if (p == NULL) {
        fputs("roundtrip-support: out of memory\n", stderr);
        abort();
    }
    o->p = p;
    o->cap = cap;
}

void cgrt_puts(cgrt_buf *o, const char *s)
{
    size_t n = strlen(s);
    reserve(o, n);
    memcpy(o->p + o->len, s, n + 1);
    o->len += n;
}

void cgrt_printf(cgrt_buf *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    reserve(o, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(o->p + o->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    o->len += (size_t)n;
}

void cgrt_sep(cgrt_buf *o)
{
    if (o->len > 0 && o->p[o->len - 1] != '(' && o->p[o->len - 1] != '[')
        cgrt_puts(o, ", ");
}

void cgrt_field(cgrt_buf *o, const char *name)
{
    cgrt_sep(o);
    cgrt_printf(o, "%s = ", name);
}

void cgrt_put_text(cgrt_buf *o, const char *s, size_t n)
{
    cgrt_puts(o, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '(' &&
            c != ')' && c != '#')
            cgrt_printf(o, "%c", c);
        else
            cgrt_printf(o, "\\%03o", c);
    }
    cgrt_puts(o, "\"");
}

void cgrt_put_data(cgrt_buf *o, const uint8_t *d, size_t n)
{
    cgrt_puts(o, "0x\"");
    for (size_t i = 0; i < n; i++)
        cgrt_printf(o, "%02x", d[i]);
    cgrt_puts(o, "\"");
}

static void put_float(cgrt_buf *o, double d, int digits)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*g", digits, d);
    if (strpbrk(tmp, ".en") == NULL) /* "12" -> "12.0" (not inf/nan) */
        strcat(tmp, ".0");
    cgrt_puts(o, tmp);
}

void cgrt_put_f32(cgrt_buf *o, float f)
{
    put_float(o, (double)f, 9);
}

void cgrt_put_f64(cgrt_buf *o, double d)
{
    put_float(o, d, 17);
}
