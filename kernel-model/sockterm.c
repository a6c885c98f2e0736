/*
 * sockterm.c - the TerminalSession device of a socket
 * (TcpSocket.intoTerminalSession; docs/net.md): terminal.c's line
 * discipline over a connection, with the Telnet command layer (RFC 854)
 * filtered out of the input and 0xFF doubled on output. Option
 * negotiation is the gateway's job; this is only the data layer. NAWS
 * subnegotiations are recorded for info().
 */
#include "kmodel.h"

/* Telnet bytes and the filter's states. */
enum {
    TN_SE = 240,
    TN_SB = 250,
    TN_WILL = 251,
    TN_DONT = 254,
    TN_IAC = 255,
    TN_NAWS = 31
};
enum { TN_DATA = 0, TN_AFTER_IAC, TN_OPTION, TN_SUBNEG, TN_SUBNEG_IAC };

/* Output: 0xFF doubled (Telnet data). A peer that lets the bounded output
 * queue fill is disconnected rather than have output dropped silently. */
static void sockterm_write(void *ctx, const void *buf, size_t n)
{
    struct tcpsocket_conn *cn = ctx;
    const uint8_t *p = buf;
    uint8_t out[512];
    size_t i = 0;
    while (i < n && cn->h) {
        size_t o = 0;
        while (i < n && o + 2 <= sizeof out) {
            if (p[i] == TN_IAC)
                out[o++] = TN_IAC;
            out[o++] = p[i++];
        }
        if (port_tcp_write(cn->h, out, o) != (int)o)
            tcpsocket_conn_close(cn);
    }
}

/* The end of a subnegotiation: NAWS (width, height; 16 bits each, big
 * endian) is recorded, the rest ignored. */
static void sockterm_sub_done(struct tcpsocket_conn *cn)
{
    if (cn->sblen == 5 && cn->sb[0] == TN_NAWS) {
        cn->columns = (uint16_t)(cn->sb[1] << 8 | cn->sb[2]);
        cn->rows = (uint16_t)(cn->sb[3] << 8 | cn->sb[4]);
    }
    cn->sblen = 0;
}

/* Append to the subnegotiation; false when it is longer than allowed. */
static bool sockterm_sub_put(struct tcpsocket_conn *cn, uint8_t b)
{
    if (cn->sblen == NET_SB_MAX)
        return false;
    cn->sb[cn->sblen++] = b;
    return true;
}

/* Index of the first 0xFF (IAC) byte in buf[i..n), or n: eight bytes at a
 * time (a byte is 0xFF exactly when its complement is zero). */
static size_t sockterm_iac_scan(const uint8_t *buf, size_t i, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, highs = ones << 7;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        k_memcpy(&w, buf + i, 8);
        w = ~w;
        if ((w - ones) & ~w & highs)
            break;
    }
    while (i < n && buf[i] != TN_IAC)
        i++;
    return i;
}

/*
 * Filter the Telnet command layer out of buf[0..n) in place; returns the
 * data bytes left, or -1 when a subnegotiation overflows. With keep
 * false, only follow the commands (a raw socket's recv: NAWS is recorded,
 * buf is left alone, an overlong subnegotiation is forgotten).
 */
int sockterm_filter(struct tcpsocket_conn *cn, uint8_t *buf, size_t n,
                    bool keep)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (cn->tn == TN_DATA) {
            /* Runs of plain data: copied (kept) or skipped whole. */
            size_t e = sockterm_iac_scan(buf, i, n);
            if (keep && o != i)
                k_memmove(buf + o, buf + i, e - i);
            o += keep ? e - i : 0;
            i = e;
            if (i == n)
                break;
        }
        uint8_t b = buf[i];
        switch (cn->tn) {
        case TN_DATA:
            if (b == TN_IAC)
                cn->tn = TN_AFTER_IAC;
            else if (keep)
                buf[o++] = b;
            break;
        case TN_AFTER_IAC:
            cn->tn = TN_DATA;
            if (b == TN_IAC) {
                if (keep)
                    buf[o++] = b; /* an escaped 0xFF data byte */
            } else if (b >= TN_WILL && b <= TN_DONT)
                cn->tn = TN_OPTION;
            else if (b == TN_SB) {
                cn->tn = TN_SUBNEG;
                cn->sblen = 0;
            } /* any other command: dropped */
            break;
        case TN_OPTION:
            cn->tn = TN_DATA; /* the option byte of a negotiation */
            break;
        case TN_SUBNEG:
            if (b == TN_IAC)
                cn->tn = TN_SUBNEG_IAC;
            else if (!sockterm_sub_put(cn, b))
                goto overflow;
            break;
        default: /* TN_SUBNEG_IAC */
            cn->tn = TN_SUBNEG;
            if (b == TN_SE) {
                sockterm_sub_done(cn);
                cn->tn = TN_DATA;
            } else if (b == TN_IAC && !sockterm_sub_put(cn, b)) {
                goto overflow;
            }
            break;
        }
        continue;
    overflow:
        if (keep)
            return -1;
        cn->tn = TN_DATA;
        cn->sblen = 0;
    }
    return (int)o;
}

static int sockterm_read(void *ctx, void *buf, size_t cap)
{
    struct tcpsocket_conn *cn = ctx;
    for (;;) {
        if (!cn->h)
            return TERM_DEV_END;
        int n = port_tcp_read(cn->h, buf, cap);
        if (n == 0)
            return 0;
        if (n < 0) {
            tcpsocket_conn_close(cn);
            return TERM_DEV_END;
        }
        int d = sockterm_filter(cn, buf, (size_t)n, true);
        if (d < 0) {
            tcpsocket_conn_close(cn); /* an endless subnegotiation: abuse */
            return TERM_DEV_END;
        }
        if (d > 0)
            return d;
    }
}

static void sockterm_watch(void *ctx, bool on)
{
    struct tcpsocket_conn *cn = ctx;
    tcpsocket_conn_waiting(cn, on); /* a readLine waits: the idle clock runs */
    if (cn->h)
        port_tcp_watch(cn->h, on);
}

/* "a.b.c.d:port" */
static void sockterm_peer_text(const struct tcpsocket_conn *cn, char *out,
                               size_t cap)
{
    struct k_msg m = {out, cap, 0};
    k_msg_str(&m, cn->addr);
    k_msg_str(&m, ":");
    k_msg_u64(&m, cn->port);
}

static void sockterm_info(void *ctx, struct term_dev_info *info)
{
    struct tcpsocket_conn *cn = ctx;
    info->transport = CAPOS_TRANSPORT_TELNET;
    info->columns = cn->columns;
    info->rows = cn->rows;
    sockterm_peer_text(cn, info->peer, sizeof info->peer);
}

static void sockterm_close(void *ctx)
{
    tcpsocket_conn_close(ctx);
}

static void sockterm_release(void *ctx)
{
    tcpsocket_conn_free(ctx);
}

static bool sockterm_alive(void *ctx)
{
    struct tcpsocket_conn *cn = ctx;
    return cn->h != NULL;
}

static const struct term_dev_ops sockterm_ops = {
    .write = sockterm_write,
    .read = sockterm_read,
    .watch = sockterm_watch,
    .info = sockterm_info,
    .close = sockterm_close,
    .release = sockterm_release,
    .alive = sockterm_alive,
};

/*
 * A new move-only TerminalSession over connection cn, which it takes over
 * (cn->term). The filter goes on where the socket's recv left it: recv
 * followed the command layer in every byte it returned, so a command or
 * subnegotiation split across the conversion (a NAWS whose first half a
 * gateway received) ends in the terminal as it began, never as data.
 * Returns 0 and *out (its creation reference) or CAP_ERR_INVOKE_FAILED
 * out of memory.
 */
int sockterm_new(struct tcpsocket_conn *cn, struct k_object **out)
{
    struct term_dev *dev;
    if (terminal_new(&sockterm_ops, cn, NET_LINE_RUN, &dev, out) < 0)
        return CAP_ERR_INVOKE_FAILED;
    port_tcp_watch(cn->h, false);
    cn->term = dev;
    return 0;
}
