/*
 * negotiate.c - Telnet option negotiation for telnet-gateway over
 * libtelnet (negotiate.h). Pure: bytes in, bytes out, no I/O.
 *
 * libtelnet parses (IAC, option commands, subnegotiations, bounded
 * buffers) and runs in proxy mode, which reports every option command
 * received; the policy is here, because libtelnet's own RFC 1143 table
 * reports no event when a client refuses an offer, and a refusal is an
 * answer the gateway must not wait 2 s for. The policy keeps RFC 1143's
 * rule that prevents loops: reply only to change an option's state or
 * to refuse a request, never to confirm a state already held.
 *
 * libtelnet's parser lives for one tn_neg_feed only (negotiate.h): the
 * bytes given to it are whole commands, found by neg_whole_len, and the
 * start of a command still incomplete waits in tn_neg.carry.
 */
#include "negotiate.h"

#include <string.h>

#include <libtelnet.h>

/* One option the gateway negotiates: asked (waiting), on, or off. */
enum { OPT_WANT, OPT_YES, OPT_NO };

#define TN_FEED_CHUNK 1024u /* bytes of input parsed per parser */

/* Queue the 3-byte command IAC cmd opt (what libtelnet's proxy mode
 * sends for telnet_negotiate). */
static void neg_put(struct tn_neg *n, unsigned char cmd, unsigned char opt)
{
    if (n->outn + 3 > TN_OUTQ_MAX) {
        n->bad = "negotiation replies overflow (a flood of requests)";
        return;
    }
    n->outq[n->outn++] = TELNET_IAC;
    n->outq[n->outn++] = cmd;
    n->outq[n->outn++] = opt;
}

static unsigned *neg_state_of(struct tn_neg *n, unsigned char opt, bool ours,
                              unsigned *bit)
{
    if (ours && opt == TELNET_TELOPT_ECHO) {
        *bit = TN_ANS_ECHO;
        return &n->st_echo;
    }
    if (ours && opt == TELNET_TELOPT_SGA) {
        *bit = TN_ANS_SGA;
        return &n->st_sga;
    }
    if (!ours && opt == TELNET_TELOPT_NAWS) {
        *bit = TN_ANS_NAWS;
        return &n->st_naws;
    }
    return NULL;
}

/*
 * The client said yes (DO to our WILL, WILL to our DO: on = true) or no
 * (DONT, WONT) about opt; ours: an option of the gateway's side (ECHO,
 * SGA) rather than the client's (NAWS).
 */
static void neg_answer(struct tn_neg *n, unsigned char opt, bool ours, bool on)
{
    unsigned bit = 0;
    unsigned *st = neg_state_of(n, opt, ours, &bit);
    const unsigned char agree = ours ? TELNET_WILL : TELNET_DO;
    const unsigned char refuse = ours ? TELNET_WONT : TELNET_DONT;
    if (!st) {
        /* Not an option the gateway supports: refuse a request, ignore a
         * client turning it off (it is off). */
        if (on)
            neg_put(n, refuse, opt);
        return;
    }
    n->answered |= bit;
    if (on) {
        if (*st == OPT_NO)
            neg_put(n, agree, opt); /* asked again after a refusal: agree */
        *st = OPT_YES;
    } else {
        if (*st == OPT_YES)
            neg_put(n, refuse, opt); /* turned off after agreeing: confirm */
        *st = OPT_NO;
    }
}

static void neg_on_event(telnet_t *tn, telnet_event_t *ev, void *ud)
{
    struct tn_neg *n = ud;
    (void)tn;
    switch (ev->type) {
    case TELNET_EV_SEND:
        if (ev->data.size > TN_OUTQ_MAX - n->outn) {
            n->bad = "negotiation replies overflow (a flood of requests)";
            return;
        }
        memcpy(n->outq + n->outn, ev->data.buffer, ev->data.size);
        n->outn += ev->data.size;
        break;
    case TELNET_EV_DATA:
        n->dropped += ev->data.size;
        break;
    case TELNET_EV_DO:
        neg_answer(n, ev->neg.telopt, true, true);
        break;
    case TELNET_EV_DONT:
        neg_answer(n, ev->neg.telopt, true, false);
        break;
    case TELNET_EV_WILL:
        neg_answer(n, ev->neg.telopt, false, true);
        break;
    case TELNET_EV_WONT:
        neg_answer(n, ev->neg.telopt, false, false);
        break;
    case TELNET_EV_SUBNEGOTIATION:
        if (ev->sub.telopt == TELNET_TELOPT_NAWS && ev->sub.size == 4) {
            const unsigned char *s = (const unsigned char *)ev->sub.buffer;
            n->cols = (uint16_t)(s[0] << 8 | s[1]);
            n->rows = (uint16_t)(s[2] << 8 | s[3]);
        }
        break;
    case TELNET_EV_COMPRESS:
        /* Proxy mode would inflate a COMPRESS2 stream: never offered,
         * never accepted. */
        n->bad = "compression was not negotiated";
        break;
    case TELNET_EV_WARNING:
    case TELNET_EV_ERROR:
        /* A protocol violation: fail closed. The reason is ours, not
         * peer data. */
        n->bad = "malformed telnet negotiation";
        break;
    default:
        break; /* other IAC commands (NOP, AYT, ...): nothing to do */
    }
}

void tn_neg_start(struct tn_neg *n)
{
    memset(n, 0, sizeof *n);
    n->st_echo = n->st_sga = n->st_naws = OPT_WANT;
    neg_put(n, TELNET_WILL, TELNET_TELOPT_ECHO);
    neg_put(n, TELNET_WILL, TELNET_TELOPT_SGA);
    neg_put(n, TELNET_DO, TELNET_TELOPT_NAWS);
}

/*
 * The end of the subnegotiation starting at b[i] (IAC SB opt ...) within
 * b[0..n): the index after its IAC SE (or after the IAC x that ends it
 * wrongly: libtelnet refuses that), or 0 while it is incomplete.
 */
static size_t neg_sb_end(const unsigned char *b, size_t n, size_t i)
{
    for (size_t j = i + 3; j + 1 < n; j++) {
        if (b[j] != TELNET_IAC)
            continue;
        if (b[j + 1] != TELNET_IAC)
            return j + 2;
        j++; /* IAC IAC: a data byte of the subnegotiation */
    }
    return 0;
}

/* How many bytes at the start of b[0..n) are whole: data bytes and
 * complete commands (RFC 854: IAC x, IAC WILL/WONT/DO/DONT opt, IAC SB
 * ... IAC SE). The rest is the start of one command. */
static size_t neg_whole_len(const unsigned char *b, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (b[i] != TELNET_IAC) {
            i++;
            continue;
        }
        if (i + 1 >= n)
            break;
        unsigned char c = b[i + 1];
        size_t end = i + 2;
        if (c >= TELNET_WILL && c <= TELNET_DONT)
            end = i + 3;
        else if (c == TELNET_SB)
            end = neg_sb_end(b, n, i);
        if (end == 0 || end > n)
            break;
        i = end;
    }
    return i;
}

/* Parse whole commands b[0..len) with a parser of this call only. */
static void neg_parse(struct tn_neg *n, const unsigned char *b, size_t len)
{
    telnet_t *tn = telnet_init(NULL, neg_on_event, TELNET_FLAG_PROXY, n);
    if (!tn) {
        n->bad = "no memory for the telnet parser";
        return;
    }
    telnet_recv(tn, (const char *)b, len);
    telnet_free(tn);
}

bool tn_neg_feed(struct tn_neg *n, const void *data, size_t len)
{
    const unsigned char *in = data;
    unsigned char buf[TN_CARRY_MAX + TN_FEED_CHUNK];
    while (len > 0 && !n->bad) {
        size_t take = len < TN_FEED_CHUNK ? len : TN_FEED_CHUNK;
        size_t total = n->carryn + take;
        memcpy(buf, n->carry, n->carryn);
        memcpy(buf + n->carryn, in, take);
        in += take;
        len -= take;
        size_t whole = neg_whole_len(buf, total);
        if (whole)
            neg_parse(n, buf, whole);
        n->carryn = total - whole;
        if (n->carryn > TN_CARRY_MAX) {
            n->carryn = 0;
            n->bad = "malformed telnet negotiation (a subnegotiation "
                     "longer than 256 bytes)";
            break;
        }
        memcpy(n->carry, buf + whole, n->carryn);
    }
    return !n->bad && (n->answered & TN_ANS_ALL) == TN_ANS_ALL;
}

const unsigned char *tn_neg_take(struct tn_neg *n, size_t *len)
{
    *len = n->outn;
    n->outn = 0;
    return n->outq;
}
