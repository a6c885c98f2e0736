/*
 * terminal.c - TerminalSession: a kernel object over a terminal device
 * that shows prompts and edits lines. Three devices share the one line
 * discipline below: the port console (port_console_write out,
 * port_console_read in; kernel source `terminal`, KernelCapSource @1), a
 * TCP connection (TcpSocket.intoTerminalSession, kernel-model/sockterm.c,
 * which filters the Telnet command layer; docs/net.md) and a byte stream
 * its creator feeds and drains (kernel source terminalFromByteStream,
 * kernel-model/streamterm.c: the SSH gateway's channel).
 *
 * Methods (schema/capos.capnp TerminalSession; capos-sim choices, upstream
 * publishes none):
 *   @0 write (data :Data) -> ()         the bytes as they are
 *   @1 writeLine (text :Text) -> ()     text then "\r\n" (the schema's
 *                                        line end, on every transport)
 *   @2 readLine (prompt :Text, echo :EchoMode, maxBytes :UInt32 = 1024)
 *        -> (result :ReadLineResult)     a pending call, completed from
 *                                        console input
 *   @3 info () -> (info :TerminalInfo)  console: size from the port (0 0
 *                                        for a pipe), no peer; socket: the
 *                                        device's transport, size, peer
 *   @4 close () -> ()                   this session ends: later calls get
 *                                        a disconnected CapException
 *   @5 console () -> (console :Console) a kernel Console writing to this
 *                                        terminal (termconsole.c); it
 *                                        stops when the session closes
 *
 * Line editing (docs/abi.md §12 has the table):
 *   CR, LF, CR LF, CR NUL  submit the line (the LF or NUL after a CR is
 *                          swallowed, even by the next readLine)
 *   DEL, BS                erase the last character (a whole UTF-8 one)
 *   Ctrl-U                 erase the whole line
 *   Ctrl-C                 outcome `interrupted`, the line is discarded
 *   Ctrl-D                 on an empty line: outcome `endOfInput`;
 *                          otherwise dropped
 *   end of input           outcome `endOfInput`; a partial line is
 *                          discarded (never submitted without a line end)
 *   ESC sequences          dropped whole (CSI and SS3: arrow and function
 *                          keys), as are lone Alt-key pairs
 *   other C0/C1 controls   dropped
 *   invalid UTF-8          each maximal invalid subpart becomes U+FFFD, so
 *                          a line is always valid UTF-8 without controls
 * A line holds at most min(maxBytes, 4096) bytes: a character that does not
 * fit is refused as it is typed (visible echo rings the bell once), so the
 * submitted line is exactly what the user saw; ReadLineResult has no
 * truncation flag. Visible echo shows each accepted character and erases
 * with "\b \b"; hidden echo shows nothing of the line (not even '*'). Both
 * echo the line end ("\r\n"), and "^C\r\n" for Ctrl-C: they reveal nothing
 * typed.
 *
 * A device that has ended for good (a network peer gone: ops->alive)
 * answers every call but close with a disconnected CapException; a read
 * waiting when it ends completes with endOfInput.
 *
 * A device whose input bound is set (sockets: run_max) ends the session
 * when more than run_max input bytes arrive without a line end: the
 * device is closed and the read completes with endOfInput.
 *
 * One reader at a time on a device: a readLine while another waits (on
 * any TerminalSession of the console) gets an overloaded CapException. The
 * waiting read holds a reference on its session; if the reader's process
 * exits first, the read is cancelled and its partial line dropped. Input
 * is consumed from the port only while a readLine runs; the rest stays
 * buffered for the next one (type-ahead).
 */
#include "kmodel.h"

/* Ordinals from the generated capos.capnp.h. */
enum {
    TERM_WRITE = CAPOS_TERMINAL_SESSION_WRITE_METHOD_ID,
    TERM_WRITE_LINE = CAPOS_TERMINAL_SESSION_WRITE_LINE_METHOD_ID,
    TERM_READ_LINE = CAPOS_TERMINAL_SESSION_READ_LINE_METHOD_ID,
    TERM_INFO = CAPOS_TERMINAL_SESSION_INFO_METHOD_ID,
    TERM_CLOSE = CAPOS_TERMINAL_SESSION_CLOSE_METHOD_ID,
    TERM_CONSOLE = CAPOS_TERMINAL_SESSION_CONSOLE_METHOD_ID,
};

/* ReadLineResult union members (generated); TERM_MORE: the line is not
 * done yet. */
enum {
    TERM_MORE = -1,
    TERM_LINE = CAPOS_READ_LINE_RESULT_WHICH_LINE,
    TERM_END = CAPOS_READ_LINE_RESULT_WHICH_END_OF_INPUT,
    TERM_INTERRUPTED = CAPOS_READ_LINE_RESULT_WHICH_INTERRUPTED,
};

enum {
    ECHO_VISIBLE = CAPOS_ECHO_MODE_VISIBLE,
    ECHO_HIDDEN = CAPOS_ECHO_MODE_HIDDEN
};
enum { ESC_NONE = 0, ESC_START, ESC_CSI, ESC_SS3 };

#define TERM_LINE_MAX 4096u /* schema: "at most 4096" */
#define TERM_IN_CHUNK 256u

/*
 * Bytes a readLine result can take for a line of up to limit bytes:
 * segment table 8, root pointer 8, the results struct (one pointer) 8,
 * the ReadLineResult, the text with its NUL padded to words. The
 * caller's result buffer must hold this much.
 */
#define TERM_RESULT_BYTES(limit)                                               \
    (24u +                                                                     \
     8u * (CAPOS_READ_LINE_RESULT_DATA_WORDS +                                 \
           CAPOS_READ_LINE_RESULT_POINTERS) +                                  \
     (((limit) + 1u + 7u) & ~7u))

struct term_read;

/* A terminal device: shared by every TerminalSession granted over it
 * (the console), or owned by its one session (a socket). */
struct term_dev {
    const struct term_dev_ops *ops;
    void *ctx;                /* the ops' argument */
    uint32_t run_max;         /* input bytes without a line end; 0: any */
    uint32_t run;             /* input bytes fed since the last line end */
    uint32_t refs;            /* TerminalSession objects over the device */
    struct term_read *reader; /* the waiting readLine, or NULL */
    bool eof;                 /* the port reported the end of input */
    bool after_cr;            /* a CR ended the last line */
    uint8_t esc;              /* ESC_*: a sequence being dropped */
    /* The line of the readLine in progress. */
    bool hidden;
    bool belled; /* the bell rang since the last accepted edit */
    uint32_t limit;
    uint32_t len;
    uint8_t u8need, u8len, u8lo, u8hi; /* a UTF-8 character under way */
    uint8_t u8[4];
    /* Input taken from the port and not yet edited. */
    uint32_t in_pos, in_len;
    uint8_t in[TERM_IN_CHUNK];
    uint8_t line[TERM_LINE_MAX];
    uint8_t msg[TERM_RESULT_BYTES(TERM_LINE_MAX)]; /* a completion */
};

struct term {
    struct k_object obj;
    struct term_dev *dev;
    bool closed;
    struct termcon *consoles; /* its Console facets (termconsole.c) */
};

/* A readLine waiting for its line; holds a reference on its session. */
struct term_read {
    struct k_pending pd;
    struct term *term;
};

/* The console's device while any TerminalSession exists. */
static struct term_dev *term_port_dev;

static void term_port_write(void *ctx, const void *buf, size_t n)
{
    (void)ctx;
    port_console_write(buf, n);
}

static int term_port_read(void *ctx, void *buf, size_t cap)
{
    (void)ctx;
    int n = port_console_read(buf, cap);
    return n == PORT_CONSOLE_EOF ? TERM_DEV_END : n;
}

static void term_port_watch(void *ctx, bool on)
{
    (void)ctx;
    port_console_watch(on);
}

static void term_port_info(void *ctx, struct term_dev_info *info)
{
    (void)ctx;
    info->transport = CAPOS_TRANSPORT_CONSOLE;
    port_console_size(&info->columns, &info->rows);
}

static const struct term_dev_ops term_port_ops = {
    .write = term_port_write,
    .read = term_port_read,
    .watch = term_port_watch,
    .info = term_port_info,
};

static void term_dev_write(struct term_dev *d, const char *s, size_t n)
{
    d->ops->write(d->ctx, s, n);
}

static const uint8_t replacement_char[3] = {0xef, 0xbf, 0xbd}; /* U+FFFD */

/* ---- line editing ------------------------------------------------ */

static void term_echo(struct term_dev *d, const char *s, size_t n)
{
    if (!d->hidden)
        term_dev_write(d, s, n);
}

/* Append one whole character of n bytes, or refuse it when the line is
 * full (ringing the bell once in visible mode). */
static void term_line_put(struct term_dev *d, const uint8_t *ch, uint32_t n)
{
    if (n > d->limit - d->len) {
        if (!d->belled)
            term_echo(d, "\a", 1);
        d->belled = true;
        return;
    }
    k_memcpy(d->line + d->len, ch, n);
    d->len += n;
    d->belled = false;
    term_echo(d, (const char *)ch, n);
}

/* Erase the last character (all bytes of a UTF-8 one); false if empty. */
static bool term_line_erase(struct term_dev *d)
{
    if (d->len == 0)
        return false;
    do
        d->len--;
    while (d->len > 0 && (d->line[d->len] & 0xc0) == 0x80);
    d->belled = false;
    term_echo(d, "\b \b", 3);
    return true;
}

/* A UTF-8 character cut short: it becomes U+FFFD. */
static void term_u8_abort(struct term_dev *d)
{
    if (d->u8need == 0)
        return;
    d->u8need = 0;
    d->u8len = 0;
    term_line_put(d, replacement_char, 3);
}

/*
 * One byte >= 0x80. Accepts exactly the well-formed sequences of Unicode
 * (no overlongs, surrogates or values past U+10FFFF: the second byte's
 * range depends on the first). C1 controls (U+0080..U+009F) are dropped
 * like C0 ones.
 */
static void term_u8_feed(struct term_dev *d, uint8_t b)
{
    if (d->u8need) {
        if (b >= d->u8lo && b <= d->u8hi) {
            d->u8[d->u8len++] = b;
            d->u8lo = 0x80;
            d->u8hi = 0xbf;
            if (--d->u8need == 0) {
                uint8_t n = d->u8len;
                d->u8len = 0;
                if (!(n == 2 && d->u8[0] == 0xc2 && d->u8[1] < 0xa0))
                    term_line_put(d, d->u8, n);
            }
            return;
        }
        term_u8_abort(d); /* and b starts afresh */
    }
    uint8_t need, lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
        need = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
        need = 2;
        lo = b == 0xe0 ? 0xa0 : 0x80;
        hi = b == 0xed ? 0x9f : 0xbf;
    } else if (b >= 0xf0 && b <= 0xf4) {
        need = 3;
        lo = b == 0xf0 ? 0x90 : 0x80;
        hi = b == 0xf4 ? 0x8f : 0xbf;
    } else {
        term_line_put(d, replacement_char, 3); /* 80..c1, f5..ff */
        return;
    }
    d->u8[0] = b;
    d->u8len = 1;
    d->u8need = need;
    d->u8lo = lo;
    d->u8hi = hi;
}

/*
 * Inside an escape sequence: true if b belongs to it (and is dropped).
 * A control or non-ASCII byte ends the sequence and counts on its own.
 */
static bool term_esc_feed(struct term_dev *d, uint8_t b)
{
    uint8_t st = d->esc;
    d->esc = ESC_NONE;
    if (b < 0x20 || b >= 0x7f)
        return false;
    if (st == ESC_START && (b == '[' || b == 'O'))
        d->esc = b == '[' ? ESC_CSI : ESC_SS3;
    else if (st == ESC_CSI && b < 0x40)
        d->esc = ESC_CSI; /* parameter or intermediate byte */
    return true;          /* else: the final byte, or an Alt-key pair */
}

/* Edit the line with one input byte; TERM_MORE or the read's outcome. */
static int term_feed(struct term_dev *d, uint8_t b)
{
    if (d->after_cr) {
        d->after_cr = false;
        if (b == '\n' || b == 0)
            return TERM_MORE;
    }
    if (d->esc != ESC_NONE && term_esc_feed(d, b))
        return TERM_MORE;
    if (b < 0x80)
        term_u8_abort(d);
    switch (b) {
    case '\r':
        d->after_cr = true;
        /* fall through */
    case '\n':
        term_dev_write(d, "\r\n", 2);
        return TERM_LINE;
    case 0x7f:
    case 0x08:
        (void)term_line_erase(d);
        return TERM_MORE;
    case 0x15: /* Ctrl-U */
        while (term_line_erase(d))
            ;
        return TERM_MORE;
    case 0x03: /* Ctrl-C */
        term_dev_write(d, "^C\r\n", 4);
        return TERM_INTERRUPTED;
    case 0x04: /* Ctrl-D */
        if (d->len != 0)
            return TERM_MORE;
        term_dev_write(d, "\r\n", 2);
        return TERM_END;
    case 0x1b:
        d->esc = ESC_START;
        return TERM_MORE;
    default:
        break;
    }
    if (b < 0x20)
        return TERM_MORE;
    if (b < 0x80)
        term_line_put(d, &b, 1);
    else
        term_u8_feed(d, b);
    return TERM_MORE;
}

/*
 * Feed buffered and newly available console input to the line until it
 * is done. Returns the outcome, or TERM_MORE when the port has nothing
 * more for now (the unread rest of a chunk stays in d->in).
 */
static int term_pump(struct term_dev *d)
{
    for (;;) {
        while (d->in_pos < d->in_len) {
            int o = term_feed(d, d->in[d->in_pos++]);
            if (o != TERM_MORE) {
                d->run = 0;
                return o;
            }
            if (d->run_max && ++d->run > d->run_max) {
                /* No line end in sight: the device ends (abuse bound). */
                d->run = 0;
                d->in_pos = d->in_len = 0;
                d->eof = true;
                if (d->ops->close)
                    d->ops->close(d->ctx);
                return TERM_END;
            }
        }
        d->in_pos = d->in_len = 0;
        if (d->eof) {
            term_dev_write(d, "\r\n", 2);
            return TERM_END;
        }
        int n = d->ops->read(d->ctx, d->in, sizeof d->in);
        if (n == TERM_DEV_END)
            d->eof = true;
        else if (n <= 0)
            return TERM_MORE;
        else
            d->in_len = (uint32_t)n <= sizeof d->in ? (uint32_t)n
                                                    : (uint32_t)sizeof d->in;
    }
}

/* Start editing a fresh line. */
static void term_line_begin(struct term_dev *d, bool hidden, uint32_t limit)
{
    d->hidden = hidden;
    d->limit = limit;
    d->len = 0;
    d->belled = false;
    d->u8need = d->u8len = 0;
}

/*
 * Build readLine's result for outcome o (the line for TERM_LINE) in
 * buf[0..cap). Returns its length or CAP_ERR_INVALID_RESULT_BUFFER.
 */
static int term_result(struct term_dev *d, int o, uint8_t *buf, uint32_t cap)
{
    capnp_builder b;
    capnp_struct_builder root, res;
    size_t len = 0;
    capnp_builder_init(&b, buf, cap);
    int r = capos_TerminalSession_readLine_Results_init_root(&b, &root);
    if (r == 0)
        r = capos_TerminalSession_readLine_Results_init_result(&root, &res);
    if (r == 0 && o == TERM_LINE)
        r = capos_ReadLineResult_set_line(&res, (const char *)d->line, d->len);
    else if (r == 0 && o == TERM_END)
        capos_ReadLineResult_set_endOfInput(&res);
    else if (r == 0)
        capos_ReadLineResult_set_interrupted(&res);
    if (r != 0 || capnp_finish(&b, &len) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    return (int)len;
}

/* ---- the waiting reader -------------------------------------------- */

/*
 * Complete the waiting read with outcome o: its result goes to the
 * reader's result buffer, the watch ends, the read's reference on its
 * session is dropped (which may free the session and the device: d is
 * not touched afterwards).
 */
static void term_reader_finish(struct term_dev *d, int o)
{
    struct term_read *r = d->reader;
    int n = term_result(d, o, d->msg, (uint32_t)sizeof d->msg);
    d->reader = NULL;
    d->ops->watch(d->ctx, false);
    if (n >= 0)
        k_pending_done_result(&r->pd, d->msg, (uint32_t)n);
    else
        k_pending_done(&r->pd, n);
    struct term *t = r->term;
    port_free(r);
    k_obj_unref(&t->obj);
}

/* Give the waiting read, if any, what input there is; finish it if its
 * line is done. */
static void term_reader_service(struct term_dev *d)
{
    if (!d->reader)
        return;
    int o = term_pump(d);
    if (o != TERM_MORE)
        term_reader_finish(d, o);
}

/* The reader's process exited: drop the read and its partial line. No
 * CQE (the ring is gone). */
static void term_reader_cancel(struct k_pending *pd)
{
    struct term_read *r = (struct term_read *)pd;
    struct term *t = r->term;
    struct term_dev *d = t->dev;
    K_ASSERT(d->reader == r, "cancel of a readLine that is not waiting");
    d->reader = NULL;
    d->len = 0;
    d->ops->watch(d->ctx, false);
    port_free(r);
    k_obj_unref(&t->obj);
}

/* See port.h: console input arrived while a read watched. */
void k_console_input_ready(void)
{
    if (term_port_dev)
        term_reader_service(term_port_dev);
}

/* A device's input (or its end) may have arrived. */
void term_dev_ready(struct term_dev *d)
{
    term_reader_service(d);
}

/* ---- methods ------------------------------------------------------ */

/*
 * readLine: show the prompt, then edit a line from console input.
 * Returns the result length when input already finishes the line (or
 * has ended), K_CALL_PENDING when the read waits for input, an overloaded
 * CapException when another read waits, invalidArgument for bad params,
 * CAP_ERR_INVALID_RESULT_BUFFER when the result buffer cannot hold a line
 * of the limit (TERM_RESULT_BYTES; checked before anything is shown).
 */
static int term_read_line(struct term *t, struct k_call *c,
                          const capnp_struct *root)
{
    struct term_dev *d = t->dev;
    const char *prompt;
    size_t plen;
    if (capos_TerminalSession_readLine_Params_get_prompt(root, &prompt, &plen) <
        0)
        return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                "TerminalSession.readLine: prompt is not "
                                "Text");
    uint16_t echo_mode = capos_TerminalSession_readLine_Params_get_echo(root);
    if (echo_mode != ECHO_VISIBLE && echo_mode != ECHO_HIDDEN)
        return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                "TerminalSession.readLine: echo must be "
                                "visible or hidden");
    uint32_t limit = capos_TerminalSession_readLine_Params_get_maxBytes(root);
    if (limit > TERM_LINE_MAX)
        limit = TERM_LINE_MAX;
    if (d->reader)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TerminalSession.readLine: another "
                                "readLine is waiting on this console; "
                                "read one line at a time");
    if (c->result_len < TERM_RESULT_BYTES(limit))
        return CAP_ERR_INVALID_RESULT_BUFFER;
    struct term_read *r = port_alloc(sizeof *r);
    if (!r)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TerminalSession.readLine: out of kernel "
                                "memory");
    term_line_begin(d, echo_mode == ECHO_HIDDEN, limit);
    if (plen)
        term_dev_write(d, prompt, plen);
    int o = term_pump(d);
    if (o != TERM_MORE) {
        port_free(r);
        return term_result(d, o, c->result, c->result_cap);
    }
    r->term = t;
    k_obj_ref(&t->obj);
    k_pending_add(&r->pd, c, term_reader_cancel);
    d->reader = r;
    d->ops->watch(d->ctx, true);
    /* Input may have come between the last read and the watch. */
    term_reader_service(d);
    return K_CALL_PENDING;
}

static int term_info(struct term_dev *d, struct k_call *c)
{
    struct term_dev_info di = {0};
    d->ops->info(d->ctx, &di);
    capnp_builder b;
    capnp_struct_builder root, info;
    if (k_call_result_begin(
            c, &b, CAPOS_TERMINAL_SESSION_INFO_RESULTS_DATA_WORDS,
            CAPOS_TERMINAL_SESSION_INFO_RESULTS_POINTERS, &root) != 0 ||
        capos_TerminalSession_info_Results_init_info(&root, &info) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    capos_TerminalInfo_set_transport(&info, di.transport);
    capos_TerminalInfo_set_columns(&info, di.columns);
    capos_TerminalInfo_set_rows(&info, di.rows);
    size_t plen = k_strlen(di.peer);
    if (plen && capos_TerminalInfo_set_peer(&info, di.peer, plen) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    return k_call_result_end(c, &b);
}

/* See kmodel.h. */
bool term_output(struct term *t, const void *buf, size_t n, bool line_end)
{
    if (t->closed || (t->dev->ops->alive && !t->dev->ops->alive(t->dev->ctx)))
        return false;
    if (n)
        term_dev_write(t->dev, buf, n);
    if (line_end)
        term_dev_write(t->dev, "\r\n", 2);
    return true;
}

/* console: a new Console facet of t as result cap 0 (room for the
 * result, its cap record and a table slot checked first). */
static int term_console(struct term *t, struct k_call *c)
{
    capnp_builder b;
    capnp_struct_builder res;
    if (k_call_result_begin(
            c, &b, CAPOS_TERMINAL_SESSION_CONSOLE_RESULTS_DATA_WORDS,
            CAPOS_TERMINAL_SESSION_CONSOLE_RESULTS_POINTERS, &res) != 0 ||
        capos_TerminalSession_console_Results_set_console(&res, 0) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    int len = k_call_one_cap_fits(c, k_call_result_end(c, &b));
    if (len < 0)
        return len;
    struct k_object *o;
    if (termcon_new(t, &t->consoles, &o) != 0)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TerminalSession.console: out of kernel "
                                "memory");
    c->result_caps[c->nresult_caps++] = o;
    return len;
}

static int term_call(struct k_object *obj, struct k_call *c)
{
    struct term *t = (struct term *)obj;
    if (c->method_id >= CAPOS_TERMINAL_SESSION_METHOD_COUNT)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "TerminalSession has no such method");
    if (t->closed)
        return c->method_id == TERM_CLOSE
                   ? 0
                   : k_call_exception(c, K_EXC_DISCONNECTED,
                                      "TerminalSession is closed");
    if (c->method_id != TERM_CLOSE && t->dev->ops->alive &&
        !t->dev->ops->alive(t->dev->ctx))
        return k_call_exception(c, K_EXC_DISCONNECTED,
                                "TerminalSession: the peer is gone");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    const uint8_t *bytes;
    size_t len;
    switch (c->method_id) {
    case TERM_WRITE:
        if (capos_TerminalSession_write_Params_get_data(&root, &bytes, &len) <
            0)
            return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                    "TerminalSession.write: data is not "
                                    "Data");
        (void)term_output(t, bytes, len, false); /* checked open above */
        return 0;
    case TERM_WRITE_LINE:
        if (capos_TerminalSession_writeLine_Params_get_text(
                &root, (const char **)&bytes, &len) < 0)
            return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                    "TerminalSession.writeLine: text is "
                                    "not Text");
        (void)term_output(t, bytes, len, true);
        return 0;
    case TERM_READ_LINE:
        return term_read_line(t, c, &root);
    case TERM_INFO:
        return term_info(t->dev, c);
    case TERM_CONSOLE:
        return term_console(t, c);
    default: /* TERM_CLOSE */
        t->closed = true;
        termcon_detach_all(&t->consoles);
        /* A read through this session ends with it. */
        if (t->dev->reader && t->dev->reader->term == t) {
            t->dev->len = 0;
            term_reader_finish(t->dev, TERM_END);
        }
        if (t->dev->ops->close)
            t->dev->ops->close(t->dev->ctx); /* network: disconnect */
        return 0;
    }
}

static void term_destroy(struct k_object *obj)
{
    struct term *t = (struct term *)obj;
    struct term_dev *d = t->dev;
    termcon_detach_all(&t->consoles);
    port_free(t);
    K_ASSERT(d->refs > 0, "TerminalSession device over-released");
    if (--d->refs)
        return;
    K_ASSERT(d->reader == NULL, "terminal device freed with a reader");
    if (term_port_dev == d)
        term_port_dev = NULL;
    if (d->ops->release)
        d->ops->release(d->ctx);
    port_free(d);
}

static const struct k_object_ops term_ops = {
    .name = "TerminalSession",
    .interface_id = K_IFACE_TERMINAL_SESSION,
    .call = term_call,
    .destroy = term_destroy,
};

/*
 * Give p a new TerminalSession over the console. Sessions share the
 * console (one reader at a time); each has its own closed state. Returns
 * 0 and its CapId, or a CAP_ERR_* code (out of memory, table full).
 */
int terminal_grant(struct k_process *p, uint32_t *out_id)
{
    struct term *t = port_alloc(sizeof *t);
    if (!t)
        return CAP_ERR_INVOKE_FAILED;
    if (!term_port_dev) {
        term_port_dev = port_alloc(sizeof *term_port_dev);
        if (!term_port_dev) {
            port_free(t);
            return CAP_ERR_INVOKE_FAILED;
        }
        term_port_dev->ops = &term_port_ops;
    }
    term_port_dev->refs++;
    t->dev = term_port_dev;
    k_obj_init(&t->obj, &term_ops, 0);
    return k_obj_grant(p, &t->obj, out_id);
}

/*
 * A new move-only TerminalSession over its own device ops(ctx) (a socket:
 * kernel-model/sockterm.c). run_max bounds the input bytes of one line (0: no
 * bound). Returns 0 with *out (its creation reference) and *dev, or
 * CAP_ERR_INVOKE_FAILED out of memory (ops->release is not called then).
 * When the session goes, ops->release(ctx) runs.
 */
int terminal_new(const struct term_dev_ops *ops, void *ctx, uint32_t run_max,
                 struct term_dev **dev, struct k_object **out)
{
    struct term *t = port_alloc(sizeof *t);
    struct term_dev *d = port_alloc(sizeof *d);
    if (!t || !d) {
        port_free(t);
        port_free(d);
        return CAP_ERR_INVOKE_FAILED;
    }
    d->ops = ops;
    d->ctx = ctx;
    d->run_max = run_max;
    d->refs = 1;
    t->dev = d;
    k_obj_init(&t->obj, &term_ops, K_OBJ_MOVE_ONLY);
    *dev = d;
    *out = &t->obj;
    return 0;
}
