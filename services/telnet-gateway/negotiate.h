/*
 * negotiate.h - the Telnet option negotiation of one telnet-gateway
 * connection (negotiate.c), over libtelnet, with no I/O of its own: the
 * gateway feeds it the bytes the socket received and sends what it
 * queued.
 *
 * No libtelnet state lives between calls: each tn_neg_feed parses the
 * whole commands it has with a parser made and freed in the call, and
 * keeps the bytes of a command not yet complete (at most TN_CARRY_MAX)
 * in struct tn_neg. So a connection dropped at any moment (a process
 * stopped with its threads, say) leaves nothing allocated behind; there
 * is nothing to end.
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
/* Bytes of one command kept until it is complete: a subnegotiation
 * longer than this is refused (the socket terminal allows 64, docs/
 * net.md; NAWS takes at most 13). */
#define TN_CARRY_MAX 256u

/* Answers received, as bits of tn_neg.answered (a refusal is an answer). */
#define TN_ANS_ECHO 0x1u
#define TN_ANS_SGA 0x2u
#define TN_ANS_NAWS 0x4u
#define TN_ANS_ALL (TN_ANS_ECHO | TN_ANS_SGA | TN_ANS_NAWS)

struct tn_neg {
    unsigned char outq[TN_OUTQ_MAX]; /* bytes to send, in order */
    size_t outn;
    unsigned answered;   /* TN_ANS_* */
    const char *bad;     /* why the peer is refused (static text), or NULL */
    uint16_t cols, rows; /* NAWS window size, 0 until the client sends it */
    size_t dropped;      /* user-data bytes seen (not kept) */
    unsigned st_echo, st_sga, st_naws; /* private: option states */
    unsigned char carry[TN_CARRY_MAX]; /* private: an incomplete command */
    size_t carryn;
};

/* Start: queue the gateway's offers (WILL ECHO, WILL SGA, DO NAWS) in
 * n->outq. Allocates nothing. */
void tn_neg_start(struct tn_neg *n);

/*
 * Feed len received bytes. Afterwards n->outq holds the replies to send,
 * n->answered what has been answered, and n->bad is set if the peer
 * broke the protocol (a libtelnet error or warning, a command longer
 * than TN_CARRY_MAX), its requests need more than TN_OUTQ_MAX bytes of
 * replies, or libtelnet could not allocate its parser: the connection
 * must then be closed. Returns true when every offer has been answered.
 */
bool tn_neg_feed(struct tn_neg *n, const void *data, size_t len);

/* Take the queued bytes: *len of them at the returned pointer (valid
 * until the next tn_neg call); the queue is empty afterwards. */
const unsigned char *tn_neg_take(struct tn_neg *n, size_t *len);

#endif /* CAPOS_TELNET_NEGOTIATE_H */
