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
enum { TS_DATA = 0, TS_IAC, TS_OPT, TS_SUB, TS_SUB_IAC };

/* Output: 0xFF doubled (Telnet data). A peer that lets the bounded output
 * queue fill is disconnected rather than have output dropped silently. */
static void st_write(void *ctx, const void *buf, size_t n)
{
    struct net_conn *cn = ctx;
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
            net_conn_close(cn);
    }
}

/* The end of a subnegotiation: NAWS (width, height; 16 bits each, big
 * endian) is recorded, the rest ignored. */
static void st_sub_done(struct net_conn *cn)
{
    if (cn->sblen == 5 && cn->sb[0] == TN_NAWS) {
        cn->columns = (uint16_t)(cn->sb[1] << 8 | cn->sb[2]);
        cn->rows = (uint16_t)(cn->sb[3] << 8 | cn->sb[4]);
    }
    cn->sblen = 0;
}

/* Append to the subnegotiation; false when it is longer than allowed. */
static bool st_sub_put(struct net_conn *cn, uint8_t b)
{
    if (cn->sblen == NET_SB_MAX)
        return false;
    cn->sb[cn->sblen++] = b;
    return true;
}

/* Index of the first 0xFF (IAC) byte in buf[i..n), or n: eight bytes at a
 * time (a byte is 0xFF exactly when its complement is zero). */
static size_t iac_scan(const uint8_t *buf, size_t i, size_t n)
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
int sockterm_filter(struct net_conn *cn, uint8_t *buf, size_t n, bool keep)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (cn->tn == TS_DATA) {
            /* Runs of plain data: copied (kept) or skipped whole. */
            size_t e = iac_scan(buf, i, n);
            if (keep && o != i)
                k_memmove(buf + o, buf + i, e - i);
            o += keep ? e - i : 0;
            i = e;
            if (i == n)
                break;
        }
        uint8_t b = buf[i];
        switch (cn->tn) {
        case TS_DATA:
            if (b == TN_IAC)
                cn->tn = TS_IAC;
            else if (keep)
                buf[o++] = b;
            break;
        case TS_IAC:
            cn->tn = TS_DATA;
            if (b == TN_IAC) {
                if (keep)
                    buf[o++] = b; /* an escaped 0xFF data byte */
            } else if (b >= TN_WILL && b <= TN_DONT)
                cn->tn = TS_OPT;
            else if (b == TN_SB) {
                cn->tn = TS_SUB;
                cn->sblen = 0;
            } /* any other command: dropped */
            break;
        case TS_OPT:
            cn->tn = TS_DATA; /* the option byte of a negotiation */
            break;
        case TS_SUB:
            if (b == TN_IAC)
                cn->tn = TS_SUB_IAC;
            else if (!st_sub_put(cn, b))
                goto overflow;
            break;
        default: /* TS_SUB_IAC */
            cn->tn = TS_SUB;
            if (b == TN_SE) {
                st_sub_done(cn);
                cn->tn = TS_DATA;
            } else if (b == TN_IAC && !st_sub_put(cn, b)) {
                goto overflow;
            }
            break;
        }
        continue;
    overflow:
        if (keep)
            return -1;
        cn->tn = TS_DATA;
        cn->sblen = 0;
    }
    return (int)o;
}

static int st_read(void *ctx, void *buf, size_t cap)
{
    struct net_conn *cn = ctx;
    for (;;) {
        if (!cn->h)
            return TERM_DEV_END;
        int n = port_tcp_read(cn->h, buf, cap);
        if (n == 0)
            return 0;
        if (n < 0) {
            net_conn_close(cn);
            return TERM_DEV_END;
        }
        int d = sockterm_filter(cn, buf, (size_t)n, true);
        if (d < 0) {
            net_conn_close(cn); /* an endless subnegotiation: abuse */
            return TERM_DEV_END;
        }
        if (d > 0)
            return d;
    }
}

static void st_watch(void *ctx, bool on)
{
    struct net_conn *cn = ctx;
    net_conn_waiting(cn, on); /* a readLine waits: the idle clock runs */
    if (cn->h)
        port_tcp_watch(cn->h, on);
}

/* "a.b.c.d:port" */
static void conn_peer_text(const struct net_conn *cn, char *out, size_t cap)
{
    struct k_msg m = {out, cap, 0};
    k_msg_str(&m, cn->addr);
    k_msg_str(&m, ":");
    k_msg_u64(&m, cn->port);
}

static void st_info(void *ctx, struct term_dev_info *info)
{
    struct net_conn *cn = ctx;
    info->transport = TERM_TRANSPORT_TELNET;
    info->columns = cn->columns;
    info->rows = cn->rows;
    conn_peer_text(cn, info->peer, sizeof info->peer);
}

static void st_close(void *ctx)
{
    net_conn_close(ctx);
}

static void st_release(void *ctx)
{
    net_conn_free(ctx);
}

static bool st_alive(void *ctx)
{
    struct net_conn *cn = ctx;
    return cn->h != NULL;
}

static const struct term_dev_ops sock_term_ops = {
    .write = st_write,
    .read = st_read,
    .watch = st_watch,
    .info = st_info,
    .close = st_close,
    .release = st_release,
    .alive = st_alive,
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
int sockterm_new(struct net_conn *cn, struct k_object **out)
{
    struct term_dev *dev;
    if (terminal_new(&sock_term_ops, cn, NET_LINE_RUN, &dev, out) < 0)
        return CAP_ERR_INVOKE_FAILED;
    port_tcp_watch(cn->h, false);
    cn->term = dev;
    return 0;
}
