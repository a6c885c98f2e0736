/*
 * escape.c - escape control bytes in quoted text (include/capos/escape.h).
 *
 * Freestanding: no libc, so the kernel model can use it too.
 */
#include <capos/escape.h>

#include <stdint.h>

/* True if c prints as itself. */
static int plain(uint8_t c)
{
    return c >= 0x20 && c < 0x7f;
}

size_t capos_escape_size(const char *in, size_t len)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += plain((uint8_t)in[i]) ? 1 : 4;
    return n;
}

char *capos_escape_text(char *out, size_t cap, const char *in, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (cap == 0)
        return out;
    size_t o = 0, i = 0;
    for (; i < len; i++) {
        uint8_t c = (uint8_t)in[i];
        size_t need = plain(c) ? 1 : 4;
        if (o + need >= cap)
            break;
        if (need == 1) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (i < len && cap >= 4) {
        /* Cut: make room for "..." by dropping whole characters. */
        while (o + 3 >= cap && o > 0) {
            if (o >= 4 && out[o - 4] == '\\' && out[o - 3] == 'x')
                o -= 4;
            else
                o--;
        }
        out[o++] = '.';
        out[o++] = '.';
        out[o++] = '.';
    }
    out[o] = 0;
    return out;
}

char *capos_escape_str(char *out, size_t cap, const char *in)
{
    size_t len = 0;
    while (in[len])
        len++;
    return capos_escape_text(out, cap, in, len);
}
