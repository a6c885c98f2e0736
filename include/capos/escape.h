/*
 * capos/escape.h - make text quoted from input safe to print.
 *
 * Freestanding C11 (lib/escape.c): the kernel model and the services both
 * quote names, user names and peer strings that came from a manifest or a
 * remote user into console and terminal lines. Such text must not carry
 * terminal control sequences, so every byte that is not printable ASCII
 * is written as a four-character escape.
 */
#ifndef CAPOS_ESCAPE_H
#define CAPOS_ESCAPE_H

#include <stddef.h>

/*
 * Copy in[0..len) into out (cap bytes, cap >= 1), NUL-terminated, with
 * every C0 byte (0x00-0x1f), DEL (0x7f) and every byte >= 0x80 written
 * as "\xHH" (lower-case hex). Bytes >= 0x80 are escaped too, UTF-8
 * included: a console line is then plain ASCII whatever the terminal's
 * encoding, and a stray 0x9b (C1 CSI) cannot start a sequence. Backslash
 * prints as itself, so escaping is idempotent: every layer that quotes
 * untrusted text (a kernel refusal, the runtime's console lines, a
 * terminal) may escape it without garbling what another layer escaped
 * (the price: on screen, input that held the four characters "\x1b" looks
 * like an escaped ESC; these lines are for people, not for parsing). An
 * escape is never cut: when out is too small the copy stops at
 * the last whole character and ends in "..." if room allows. Returns out.
 */
char *capos_escape_text(char *out, size_t cap, const char *in, size_t len);

/* The same for a NUL-terminated string. */
char *capos_escape_str(char *out, size_t cap, const char *in);

/* Bytes out needs so that nothing of in[0..len) is cut (escapes and NUL
 * included). */
size_t capos_escape_size(const char *in, size_t len);

#endif /* CAPOS_ESCAPE_H */
