/*
 * streamterm.c - TerminalSessions over a byte stream their creator
 * carries (kernel source `terminalFromByteStream`, upstream
 * TerminalSessionFromByteStream; docs/ssh.md "Terminal handoff"): the
 * line discipline of terminal.c with a device whose input the creator
 * feeds and whose output it drains, so an SSH channel (and later a
 * WebSocket) gets the console's and Telnet's editing, echo and limits
 * from the one implementation.
 *
 * Objects: the factory (TerminalSessionFromByteStream.create), and per
 * terminal its TerminalByteStream (the creator's end) and the
 * TerminalSession (handed out once by TerminalByteStream.terminal). The
 * two ends share one `struct stream_core`, freed when both are gone.
 *
 * Bounds: STREAM_IN_MAX input bytes wait for the line discipline (feed
 * takes what fits: the creator stops reading its client, which is the
 * backpressure); STREAM_OUT_MAX output bytes wait for drain, and output
 * past that ends the terminal (a client that stops reading is
 * disconnected rather than have output dropped, as sockterm.c does).
 */
#include "kmodel.h"

enum {
    STREAM_TERMINAL = CAPOS_TERMINAL_BYTE_STREAM_TERMINAL_METHOD_ID,
    STREAM_FEED = CAPOS_TERMINAL_BYTE_STREAM_FEED_METHOD_ID,
    STREAM_DRAIN = CAPOS_TERMINAL_BYTE_STREAM_DRAIN_METHOD_ID,
    STREAM_RESIZE = CAPOS_TERMINAL_BYTE_STREAM_RESIZE_METHOD_ID,
    STREAM_HANG_UP = CAPOS_TERMINAL_BYTE_STREAM_HANG_UP_METHOD_ID,
    STREAM_END_INPUT = CAPOS_TERMINAL_BYTE_STREAM_END_INPUT_METHOD_ID,
};

#define STREAM_IN_MAX 4096u
#define STREAM_OUT_MAX 65536u
#define STREAM_DRAIN_MAX 16384u
/* drain's result for n data bytes: segment table, root pointer, the
 * results struct, the data padded to words. */
#define STREAM_DRAIN_BYTES(n)                                                  \
    (NET_RES_BYTES(CAPOS_TERMINAL_BYTE_STREAM_DRAIN_RESULTS_DATA_WORDS,         \
                   CAPOS_TERMINAL_BYTE_STREAM_DRAIN_RESULTS_POINTERS) +        \
     (((n) + 7u) & ~7u))

struct stream_drain;

/* What the two ends of one terminal share. */
struct stream_core {
    unsigned refs;         /* the stream object and the terminal device */
    struct k_object *term; /* the TerminalSession until handed out */
    struct term_dev *dev;  /* NULL once the terminal is gone */
    bool hung_up;          /* the client is gone (or output overflowed) */
    bool in_end;           /* endInput: no more input after what is fed */
    bool closed;           /* the terminal closed: no more output */
    uint16_t transport, columns, rows;
    char peer[24];
    struct stream_drain *drain; /* the waiting drain, or NULL */
    uint32_t in_pos, in_len;
    uint32_t out_head, out_len; /* a ring of STREAM_OUT_MAX bytes */
    uint8_t in[STREAM_IN_MAX];
    uint8_t out[STREAM_OUT_MAX];
    uint8_t line[STREAM_DRAIN_MAX]; /* a drain's bytes, in order */
    uint8_t msg[STREAM_DRAIN_BYTES(STREAM_DRAIN_MAX)]; /* a completion */
};

struct stream {
    struct k_object obj;
    struct stream_core *core;
};

/* A drain waiting for output; holds a reference on its stream. */
struct stream_drain {
    struct k_pending pd;
    struct stream *s;
    uint32_t max;
};

static void stream_core_unref(struct stream_core *sc)
{
    K_ASSERT(sc->refs > 0, "stream terminal over-released");
    if (--sc->refs == 0)
        port_free(sc);
}

/* True when a drain has nothing more to wait for. */
static bool stream_ended(const struct stream_core *sc)
{
    return sc->out_len == 0 && (sc->hung_up || sc->closed || !sc->dev);
}

/*
 * drain's result in buf[0..cap): up to max output bytes (taken out of the
 * ring) and whether the terminal has ended. Returns its length or
 * CAP_ERR_INVALID_RESULT_BUFFER.
 */
static int stream_drain_result(struct stream_core *sc, uint32_t max,
                               uint8_t *buf, uint32_t cap)
{
    uint32_t n = sc->out_len < max ? sc->out_len : max;
    uint32_t first = STREAM_OUT_MAX - sc->out_head;
    if (first > n)
        first = n;
    /* The ring's bytes in order (they may wrap). */
    k_memcpy(sc->line, sc->out + sc->out_head, first);
    k_memcpy(sc->line + first, sc->out, n - first);
    capnp_builder b;
    capnp_struct_builder res;
    size_t len = 0;
    capnp_builder_init(&b, buf, cap);
    if (capos_TerminalByteStream_drain_Results_init_root(&b, &res) != 0 ||
        capos_TerminalByteStream_drain_Results_set_data(&res, sc->line, n) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    sc->out_head = (sc->out_head + n) % STREAM_OUT_MAX;
    sc->out_len -= n;
    capos_TerminalByteStream_drain_Results_set_ended(&res, stream_ended(sc));
    if (capnp_finish(&b, &len) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    return (int)len;
}

/* Complete the waiting drain if it has output or an end to report. */
static void stream_drain_service(struct stream_core *sc)
{
    struct stream_drain *w = sc->drain;
    if (!w || (sc->out_len == 0 && !stream_ended(sc)))
        return;
    sc->drain = NULL;
    int n = stream_drain_result(sc, w->max, sc->msg, (uint32_t)sizeof sc->msg);
    if (n >= 0)
        k_pending_done_result(&w->pd, sc->msg, (uint32_t)n);
    else
        k_pending_done(&w->pd, n);
    struct stream *s = w->s;
    port_free(w);
    k_obj_unref(&s->obj);
}

/* The client is gone: input ends, no more output is taken (what is
 * queued still drains), the reader is told. */
static void stream_hang_up(struct stream_core *sc)
{
    if (sc->hung_up)
        return;
    sc->hung_up = true;
    stream_drain_service(sc);
    if (sc->dev)
        term_dev_ready(sc->dev); /* a waiting readLine sees the end */
}

/* ---- the terminal's device ------------------------------------------ */

static void stream_dev_write(void *ctx, const void *buf, size_t n)
{
    struct stream_core *sc = ctx;
    if (sc->hung_up || sc->closed)
        return;
    if (n > STREAM_OUT_MAX - sc->out_len) {
        /* The client stopped reading: abuse bound. Its queue is dropped
         * so the end is reported at once. */
        sc->out_len = 0;
        stream_hang_up(sc);
        return;
    }
    const uint8_t *p = buf;
    uint32_t at = (sc->out_head + sc->out_len) % STREAM_OUT_MAX;
    uint32_t first = STREAM_OUT_MAX - at;
    if (first > n)
        first = (uint32_t)n;
    k_memcpy(sc->out + at, p, first);
    k_memcpy(sc->out, p + first, n - first);
    sc->out_len += (uint32_t)n;
    stream_drain_service(sc);
}

static int stream_dev_read(void *ctx, void *buf, size_t cap)
{
    struct stream_core *sc = ctx;
    if (sc->in_pos == sc->in_len)
        return sc->hung_up || sc->in_end ? TERM_DEV_END : 0;
    uint32_t n = sc->in_len - sc->in_pos;
    if (n > cap)
        n = (uint32_t)cap;
    k_memcpy(buf, sc->in + sc->in_pos, n);
    sc->in_pos += n;
    if (sc->in_pos == sc->in_len)
        sc->in_pos = sc->in_len = 0;
    return (int)n;
}

static void stream_dev_watch(void *ctx, bool on)
{
    (void)ctx, (void)on; /* feed calls term_dev_ready itself */
}

static void stream_dev_info(void *ctx, struct term_dev_info *info)
{
    struct stream_core *sc = ctx;
    info->transport = sc->transport;
    info->columns = sc->columns;
    info->rows = sc->rows;
    k_memcpy(info->peer, sc->peer, sizeof info->peer);
}

/* TerminalSession.close: output ends after what is queued. */
static void stream_dev_close(void *ctx)
{
    struct stream_core *sc = ctx;
    sc->closed = true;
    stream_drain_service(sc);
}

static void stream_dev_release(void *ctx)
{
    struct stream_core *sc = ctx;
    sc->dev = NULL;
    stream_drain_service(sc);
    stream_core_unref(sc);
}

static bool stream_dev_alive(void *ctx)
{
    const struct stream_core *sc = ctx;
    return !sc->hung_up;
}

static const struct term_dev_ops stream_dev_ops = {
    .write = stream_dev_write,
    .read = stream_dev_read,
    .watch = stream_dev_watch,
    .info = stream_dev_info,
    .close = stream_dev_close,
    .release = stream_dev_release,
    .alive = stream_dev_alive,
};

/* ---- the creator's end: TerminalByteStream -------------------------- */

/* The drain's process exited first: drop it, post nothing. */
static void stream_drain_cancel(struct k_pending *pd)
{
    struct stream_drain *w = (struct stream_drain *)pd;
    struct stream *s = w->s;
    K_ASSERT(s->core->drain == w, "cancel of a drain that is not waiting");
    s->core->drain = NULL;
    port_free(w);
    k_obj_unref(&s->obj);
}

/*
 * drain: output now, the end now, or K_CALL_PENDING until either. The
 * result buffer must hold STREAM_DRAIN_BYTES(maxBytes) (checked before
 * anything is taken, so a completion always fits).
 */
static int stream_drain(struct stream *s, struct k_call *c,
                        const capnp_struct *root)
{
    struct stream_core *sc = s->core;
    uint32_t max = capos_TerminalByteStream_drain_Params_get_maxBytes(root);
    if (max == 0 || max > STREAM_DRAIN_MAX)
        max = STREAM_DRAIN_MAX;
    if (sc->drain)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TerminalByteStream.drain: another drain "
                                "is waiting; drain one at a time");
    if (c->result_len < STREAM_DRAIN_BYTES(max))
        return CAP_ERR_INVALID_RESULT_BUFFER;
    if (sc->out_len || stream_ended(sc))
        return stream_drain_result(sc, max, c->result, c->result_cap);
    struct stream_drain *w = port_alloc(sizeof *w);
    if (!w)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TerminalByteStream.drain: out of kernel "
                                "memory");
    w->s = s;
    w->max = max;
    k_obj_ref(&s->obj);
    k_pending_add(&w->pd, c, stream_drain_cancel);
    sc->drain = w;
    return K_CALL_PENDING;
}

/* feed: as much of data as the input bound takes; the reader is served. */
static int stream_feed(struct stream *s, struct k_call *c,
                       const capnp_struct *root)
{
    struct stream_core *sc = s->core;
    const uint8_t *data;
    size_t len;
    if (capos_TerminalByteStream_feed_Params_get_data(root, &data, &len) < 0)
        return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                "TerminalByteStream.feed: data is not Data");
    if (sc->hung_up || sc->in_end || !sc->dev || sc->closed)
        return k_call_exception(c, K_EXC_DISCONNECTED,
                                "TerminalByteStream.feed: the terminal has "
                                "ended");
    if (sc->in_pos) { /* compact: room at the end for this feed */
        k_memmove(sc->in, sc->in + sc->in_pos, sc->in_len - sc->in_pos);
        sc->in_len -= sc->in_pos;
        sc->in_pos = 0;
    }
    uint32_t n = STREAM_IN_MAX - sc->in_len;
    if (n > len)
        n = (uint32_t)len;
    k_memcpy(sc->in + sc->in_len, data, n);
    sc->in_len += n;
    capnp_builder b;
    capnp_struct_builder res;
    if (k_call_result_begin(
            c, &b, CAPOS_TERMINAL_BYTE_STREAM_FEED_RESULTS_DATA_WORDS,
            CAPOS_TERMINAL_BYTE_STREAM_FEED_RESULTS_POINTERS, &res) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    capos_TerminalByteStream_feed_Results_set_accepted(&res, n);
    int r = k_call_result_end(c, &b);
    if (n && sc->dev)
        term_dev_ready(sc->dev);
    return r;
}

/* terminal: the TerminalSession as result cap 0, once. */
static int stream_terminal(struct stream *s, struct k_call *c)
{
    struct stream_core *sc = s->core;
    if (!sc->term)
        return k_call_exception(c, K_EXC_FAILED,
                                "TerminalByteStream.terminal: the terminal "
                                "was handed out already");
    capnp_builder b;
    capnp_struct_builder res;
    if (k_call_result_begin(
            c, &b, CAPOS_TERMINAL_BYTE_STREAM_TERMINAL_RESULTS_DATA_WORDS,
            CAPOS_TERMINAL_BYTE_STREAM_TERMINAL_RESULTS_POINTERS, &res) != 0 ||
        capos_TerminalByteStream_terminal_Results_set_terminal(&res, 0) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    int len = k_call_one_cap_fits(c, k_call_result_end(c, &b));
    if (len < 0)
        return len;
    c->result_caps[c->nresult_caps++] = sc->term; /* its creation ref */
    sc->term = NULL;
    return len;
}

static int stream_call(struct k_object *obj, struct k_call *c)
{
    struct stream *s = (struct stream *)obj;
    if (c->method_id >= CAPOS_TERMINAL_BYTE_STREAM_METHOD_COUNT)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "TerminalByteStream has no such method");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    switch (c->method_id) {
    case STREAM_TERMINAL:
        return stream_terminal(s, c);
    case STREAM_FEED:
        return stream_feed(s, c, &root);
    case STREAM_DRAIN:
        return stream_drain(s, c, &root);
    case STREAM_RESIZE:
        s->core->columns =
            capos_TerminalByteStream_resize_Params_get_columns(&root);
        s->core->rows = capos_TerminalByteStream_resize_Params_get_rows(&root);
        return 0;
    case STREAM_END_INPUT:
        s->core->in_end = true;
        if (s->core->dev)
            term_dev_ready(s->core->dev); /* a waiting readLine ends */
        return 0;
    default: /* STREAM_HANG_UP */
        stream_hang_up(s->core);
        return 0;
    }
}

/* The creator let go of its end: the client is as good as gone. */
static void stream_destroy(struct k_object *obj)
{
    struct stream *s = (struct stream *)obj;
    struct stream_core *sc = s->core;
    K_ASSERT(sc->drain == NULL, "TerminalByteStream freed with a drain");
    stream_hang_up(sc);
    if (sc->term) {
        struct k_object *t = sc->term;
        sc->term = NULL;
        k_obj_unref(t); /* never handed out: the device goes with it */
    }
    port_free(s);
    stream_core_unref(sc);
}

static const struct k_object_ops stream_ops = {
    .name = "TerminalByteStream",
    .interface_id = CAPOS_TERMINAL_BYTE_STREAM_INTERFACE_ID,
    .call = stream_call,
    .destroy = stream_destroy,
};

/* ---- the factory: TerminalSessionFromByteStream --------------------- */

/* A terminal's two ends over a new core, with create's facts copied in.
 * Returns the stream object (its creation reference) or NULL out of
 * memory (nothing left allocated). */
static struct stream *stream_new(uint16_t transport, uint16_t columns,
                                 uint16_t rows, const char *peer, size_t plen)
{
    struct stream_core *sc = port_alloc(sizeof *sc);
    struct stream *s = port_alloc(sizeof *s);
    if (!sc || !s ||
        terminal_new(&stream_dev_ops, sc, NET_LINE_RUN, &sc->dev, &sc->term) <
            0) {
        port_free(sc);
        port_free(s);
        return NULL;
    }
    sc->refs = 2;
    sc->transport = transport;
    sc->columns = columns;
    sc->rows = rows;
    k_memcpy(sc->peer, peer, plen);
    sc->peer[plen] = '\0';
    s->core = sc;
    k_obj_init(&s->obj, &stream_ops, 0);
    return s;
}

/* create: decode and check every parameter, then make the terminal. */
static int factory_create(struct k_call *c, const capnp_struct *root)
{
    uint16_t transport =
        capos_TerminalSessionFromByteStream_create_Params_get_transport(root);
    const char *peer = "";
    size_t plen = 0;
    if (transport > CAPOS_TRANSPORT_TEST)
        return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                "TerminalSessionFromByteStream.create: no "
                                "such transport");
    if (capos_TerminalSessionFromByteStream_create_Params_get_peer(
            root, &peer, &plen) < 0 ||
        plen >= sizeof ((struct term_dev_info *)0)->peer)
        return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                "TerminalSessionFromByteStream.create: the "
                                "peer must be Text of at most 23 bytes");
    for (size_t i = 0; i < plen; i++)
        if (peer[i] <= 0x20 || peer[i] >= 0x7f)
            return k_call_exception(c, K_EXC_INVALID_ARGUMENT,
                                    "TerminalSessionFromByteStream.create: "
                                    "the peer must be printable ASCII");
    capnp_builder b;
    capnp_struct_builder res;
    if (k_call_result_begin(
            c, &b,
            CAPOS_TERMINAL_SESSION_FROM_BYTE_STREAM_CREATE_RESULTS_DATA_WORDS,
            CAPOS_TERMINAL_SESSION_FROM_BYTE_STREAM_CREATE_RESULTS_POINTERS,
            &res) != 0 ||
        capos_TerminalSessionFromByteStream_create_Results_set_stream(&res,
                                                                      0) != 0)
        return CAP_ERR_INVALID_RESULT_BUFFER;
    int len = k_call_one_cap_fits(c, k_call_result_end(c, &b));
    if (len < 0)
        return len;
    struct stream *s = stream_new(
        transport,
        capos_TerminalSessionFromByteStream_create_Params_get_columns(root),
        capos_TerminalSessionFromByteStream_create_Params_get_rows(root), peer,
        plen);
    if (!s)
        return k_call_exception(c, K_EXC_OVERLOADED,
                                "TerminalSessionFromByteStream.create: out "
                                "of kernel memory");
    c->result_caps[c->nresult_caps++] = &s->obj;
    return len;
}

static int factory_call(struct k_object *obj, struct k_call *c)
{
    (void)obj;
    if (c->method_id != CAPOS_TERMINAL_SESSION_FROM_BYTE_STREAM_CREATE_METHOD_ID)
        return k_call_exception(c, K_EXC_UNIMPLEMENTED,
                                "TerminalSessionFromByteStream has no such "
                                "method");
    capnp_message m;
    capnp_struct root;
    int r = k_call_params(c, &m, &root);
    if (r < 0)
        return r;
    return factory_create(c, &root);
}

static void factory_destroy(struct k_object *obj)
{
    port_free(obj);
}

static const struct k_object_ops factory_ops = {
    .name = "TerminalSessionFromByteStream",
    .interface_id = CAPOS_TERMINAL_SESSION_FROM_BYTE_STREAM_INTERFACE_ID,
    .call = factory_call,
    .destroy = factory_destroy,
};

/* Give p a TerminalSessionFromByteStream. Returns 0 and its CapId, or a
 * CAP_ERR_* code (out of memory, table full). */
int streamterm_grant(struct k_process *p, uint32_t *out_id)
{
    struct k_object *o = port_alloc(sizeof *o);
    if (!o)
        return CAP_ERR_INVOKE_FAILED;
    k_obj_init(o, &factory_ops, 0);
    return k_obj_grant(p, o, out_id);
}
