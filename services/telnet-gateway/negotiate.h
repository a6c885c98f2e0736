/*
 * negotiate.h - the Telnet option negotiation of one telnet-gateway
 * connection (negotiate.c), over libtelnet, with no I/O of its own: the
 * gateway feeds it the bytes the socket received and sends what it
 * queued.
 *
 * The gateway offers WILL ECHO and WILL SUPPRESS-GO-AHEAD and asks DO
 * NAWS; it agrees to the client's DO ECHO, DO SUPPRESS-GO-AHEAD and
 * WILL NAWS (asked first or not) and refuses every other option
 * (docs/telnet.md).
 */
#ifndef CAPOS_TELNET_NEGOTIATE_H
#define CAPOS_TELNET_NEGOTIATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TN_OUTQ_MAX 512u /* replies queued and not sent yet, at most */

/* Answers received, as bits of tn_neg.answered (a refusal is an answer). */
#define TN_ANS_ECHO 0x1u
#define TN_ANS_SGA 0x2u
#define TN_ANS_NAWS 0x4u
#define TN_ANS_ALL (TN_ANS_ECHO | TN_ANS_SGA | TN_ANS_NAWS)

struct telnet_t;

struct tn_neg {
    struct telnet_t *tn;
    unsigned char outq[TN_OUTQ_MAX]; /* bytes to send, in order */
    size_t outn;
    unsigned answered;   /* TN_ANS_* */
    const char *bad;     /* why the peer is refused (static text), or NULL */
    uint16_t cols, rows; /* NAWS window size, 0 until the client sends it */
    size_t dropped;      /* user-data bytes seen (not kept) */
    unsigned st_echo, st_sga, st_naws; /* private: option states */
};

/*
 * Start: queue the gateway's offers (WILL ECHO, WILL SGA, DO NAWS) in
 * n->outq. Returns false when libtelnet cannot allocate its state (n is
 * then empty and tn_neg_end is a no-op).
 */
bool tn_neg_start(struct tn_neg *n);

/*
 * Feed len received bytes. Afterwards n->outq holds the replies to send,
 * n->answered what has been answered, and n->bad is set if the peer
 * broke the protocol (a libtelnet error or warning) or its requests
 * need more than TN_OUTQ_MAX bytes of replies: the connection must then
 * be closed. Returns true when every offer has been answered.
 */
bool tn_neg_feed(struct tn_neg *n, const void *data, size_t len);

/* Take the queued bytes: *len of them at the returned pointer (valid
 * until the next tn_neg call); the queue is empty afterwards. */
const unsigned char *tn_neg_take(struct tn_neg *n, size_t *len);

/* Free libtelnet's state; n may be fed no more. */
void tn_neg_end(struct tn_neg *n);

#endif /* CAPOS_TELNET_NEGOTIATE_H */
