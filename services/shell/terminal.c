/*
 * terminal.c - capos-shell's client of its TerminalSession ("terminal",
 * docs/abi.md §12): one line out, one edited line in.
 *
 * Trust: the terminal is the user's; what readLine returns is untrusted
 * text. The kernel console guarantees valid UTF-8 without control
 * characters, but another TerminalSession (a gateway) might not, so the
 * line is checked again here: a NUL or control byte makes it refused as
 * garbage by the caller (term_read_line turns it into an empty line).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "capos/escape.h"
#include "shell.h"

int term_say(struct shell *sh, const char *fmt, ...)
{
    char text[1536];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    /* The line quotes what users typed and what the session manager was
     * told (user names, peers, spawn names): escaped, no byte of it can
     * drive the user's terminal. Bounded by the call buffer. */
    size_t len = n < 0                      ? 0
                 : (size_t)n >= sizeof text ? sizeof text - 1
                                            : (size_t)n;
    size_t cap = capos_escape_size(text, len);
    if (cap > SHELL_CALL_BUF / 2)
        cap = SHELL_CALL_BUF / 2;
    char *safe = capos_alloc(cap);
    if (!safe)
        return CAPOS_RT_E_NO_MEMORY;
    capos_escape_text(safe, cap, text, len);
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, sh->pbuf, SHELL_CALL_BUF);
    capos_TerminalSession_writeLine_Params_init_root(&b, &p);
    capos_TerminalSession_writeLine_Params_set_text(&p, safe, strlen(safe));
    capos_free(safe);
    return shell_call(sh, sh->term, CAPOS_TERMINAL_SESSION_WRITE_LINE_METHOD_ID,
                      &b, NULL, 0, NULL, NULL, NULL);
}

bool term_console(struct shell *sh, capos_cap_t *out)
{
    if (!sh->console_tried) {
        sh->console_tried = true;
        capnp_builder b;
        capnp_struct_builder p;
        CapCqe c;
        capnp_builder_init(&b, sh->pbuf, SHELL_CALL_BUF);
        capos_TerminalSession_console_Params_init_root(&b, &p);
        if (shell_call(sh, sh->term, CAPOS_TERMINAL_SESSION_CONSOLE_METHOD_ID,
                       &b, NULL, 0, NULL, NULL, &c) >= 0)
            sh->have_console = capos_rt_keep_first_cap(
                &c, sh->rbuf, CAPOS_CONSOLE_INTERFACE_ID, &sh->console);
    }
    *out = sh->console;
    return sh->have_console;
}

int term_info(struct shell *sh, struct term_facts *f)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_message msg;
    capnp_struct root, info;
    memset(f, 0, sizeof *f);
    f->transport = CAPOS_TRANSPORT_CONSOLE;
    capnp_builder_init(&b, sh->pbuf, SHELL_CALL_BUF);
    capos_TerminalSession_info_Params_init_root(&b, &p);
    int r = shell_call(sh, sh->term, CAPOS_TERMINAL_SESSION_INFO_METHOD_ID, &b,
                       NULL, 0, &msg, &root, NULL);
    if (r < 0)
        return r;
    if (capos_TerminalSession_info_Results_get_info(&root, &info) < 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    /* Metadata from the terminal's implementation: bounded, never
     * authority. */
    uint16_t t = capos_TerminalInfo_get_transport(&info);
    f->transport = t <= CAPOS_TRANSPORT_TEST ? t : CAPOS_TRANSPORT_CONSOLE;
    f->columns = capos_TerminalInfo_get_columns(&info);
    f->rows = capos_TerminalInfo_get_rows(&info);
    const char *s = "";
    size_t n = 0;
    if (capos_TerminalInfo_get_peer(&info, &s, &n) == 0) {
        size_t k = 0;
        for (size_t i = 0; i < n && k + 1 < sizeof f->peer; i++)
            f->peer[k++] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
        f->peer[k] = '\0';
    }
    return 0;
}

const char *term_transport_name(uint16_t transport)
{
    static const char *const name[] = {"console", "telnet", "ssh", "web",
                                       "test"};
    return transport < sizeof name / sizeof name[0] ? name[transport]
                                                    : "unknown";
}

/* Wipe n bytes at p so the compiler cannot drop the stores (secrets). */
static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

/* True if s[0..n) holds a NUL or a C0/DEL control byte. */
static bool has_controls(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

enum term_read term_read_line(struct shell *sh, const char *prompt,
                              uint16_t echo, uint32_t max_bytes, char *out,
                              size_t out_cap, int *err)
{
    out[0] = '\0';
    *err = 0;
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, sh->pbuf, SHELL_CALL_BUF);
    capos_TerminalSession_readLine_Params_init_root(&b, &p);
    capos_TerminalSession_readLine_Params_set_prompt(&p, prompt,
                                                     strlen(prompt));
    capos_TerminalSession_readLine_Params_set_echo(&p, echo);
    capos_TerminalSession_readLine_Params_set_maxBytes(&p, max_bytes);
    capnp_message msg;
    capnp_struct root, res;
    int r = shell_call(sh, sh->term, CAPOS_TERMINAL_SESSION_READ_LINE_METHOD_ID,
                       &b, NULL, 0, &msg, &root, NULL);
    enum term_read what = TERM_ERROR;
    if (r < 0) {
        *err = r;
    } else if (capos_TerminalSession_readLine_Results_get_result(&root, &res) <
               0) {
        *err = CAP_ERR_INVALID_RESULT_BUFFER;
    } else {
        switch (capos_ReadLineResult_which(&res)) {
        case CAPOS_READ_LINE_RESULT_WHICH_LINE: {
            const char *s = NULL;
            size_t n = 0;
            if (capos_ReadLineResult_get_line(&res, &s, &n) < 0 ||
                n >= out_cap || n > max_bytes) {
                *err = CAP_ERR_INVALID_RESULT_BUFFER;
                break;
            }
            if (!has_controls(s, n)) {
                memcpy(out, s, n);
                out[n] = '\0';
            }
            what = TERM_LINE;
            break;
        }
        case CAPOS_READ_LINE_RESULT_WHICH_END_OF_INPUT:
            what = TERM_EOF;
            break;
        case CAPOS_READ_LINE_RESULT_WHICH_INTERRUPTED:
            what = TERM_INTERRUPTED;
            break;
        default:
            *err = CAP_ERR_INVALID_RESULT_BUFFER;
            break;
        }
    }
    if (echo == CAPOS_ECHO_MODE_HIDDEN)
        wipe(sh->rbuf, SHELL_CALL_BUF);
    return what;
}
