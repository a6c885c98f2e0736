/*
 * sockbridge.h - capos-rt's socket bridge: a host descriptor for a
 * protocol library (libssh, later libwebsockets or a userspace network
 * stack), whose far end the runtime pumps to and from a TcpSocket cap
 * (docs/runtime.md "The socket bridge").
 *
 * The service gets the near end of a socketpair inside the process, in
 * non-blocking mode, and hands it to its library; the library never sees
 * a host socket and the service never opens one (tests/check-layering.sh:
 * only this file's source may make the pair). The bridge moves bytes with
 * non-blocking reads and writes of the far end and TcpSocket.recv/send
 * CALLs on the service's ring; it never blocks the host thread and waits
 * only in cap_enter (capos_sockbridge_wait, or the service's own
 * capos_rt_wait_any over capos_sockbridge_tags).
 *
 * Because the library runs only when the service calls it, the far end's
 * readiness is never waited on: the service calls capos_sockbridge_pump
 * after every use of the library (which may have written), and the
 * bridge pumps itself after each completion it is given.
 *
 * Backpressure, both ways: at most one recv and one send are outstanding;
 * a new recv is posted only once the bytes of the last one are all in the
 * socketpair (a library that stops reading stops the recvs, so the kernel
 * connection's input buffer fills and the host stops reading the peer);
 * the far end is read only when the last send was taken whole (a peer
 * that stops reading stops the reads, the pair's buffer fills and the
 * library's writes return EAGAIN). Buffered bytes are bounded by two
 * chunks plus the pair's socket buffers (CAPOS_SOCKBRIDGE_PAIR_BUF each).
 *
 * Ends, mapped to what the library sees:
 *   peer half-close (recv: closed)    -> shutdown(far, SHUT_WR) after the
 *                                        bytes before it: the library
 *                                        reads EOF and may still write
 *   peer reset (error connectionReset) -> queued input dropped,
 *                                        shutdown(far, SHUT_RDWR): reads
 *                                        see EOF, writes fail (EPIPE)
 *   socket closed (error closed)       -> as a reset
 *   library close or SHUT_WR (EOF)    -> queued output sent, then
 *                                        TcpSocket.close (the interface
 *                                        has no half close)
 * capos_sockbridge_state says which of these happened.
 */
#ifndef CAPOS_SOCKBRIDGE_H
#define CAPOS_SOCKBRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capos_rt.h"

#define CAPOS_SOCKBRIDGE_CHUNK 16384u    /* bytes per recv and per send */
#define CAPOS_SOCKBRIDGE_PAIR_BUF 65536u /* SO_SNDBUF/SO_RCVBUF of each end */

/* The host refused the descriptor pair (socketpair failed). */
#define CAPOS_SOCKBRIDGE_E_HOST (-120)

typedef struct capos_sockbridge capos_sockbridge_t;

/* State bits (capos_sockbridge_state). */
#define CAPOS_SB_PEER_EOF 0x01u   /* the peer half-closed; the library got EOF \
                                   */
#define CAPOS_SB_PEER_RESET 0x02u /* the peer reset, or the socket failed */
#define CAPOS_SB_LOCAL_EOF 0x04u  /* the library closed or shut its writes */
#define CAPOS_SB_CLOSED 0x08u     /* TcpSocket closed: nothing moves any more */
#define CAPOS_SB_FAILED 0x10u     /* a call could not be submitted or decoded */

struct capos_sockbridge_stats {
    uint64_t bytes_in;     /* peer -> library, written to the far end */
    uint64_t bytes_out;    /* library -> peer, taken by TcpSocket.send */
    uint32_t buffered_in;  /* received, not yet in the pair */
    uint32_t buffered_out; /* read from the pair, not yet sent */
};

/*
 * Bridge the connected TcpSocket sock (the bridge takes the cap: it
 * closes and releases it in capos_sockbridge_free). On success returns 0,
 * *out the bridge and *fd the near end, non-blocking and close-on-exec,
 * which the caller owns (close it after the library is done with it).
 * The first recv is posted at once. Errors: CAPOS_RT_E_NO_MEMORY,
 * CAPOS_SOCKBRIDGE_E_HOST, or a submit error; the cap is then released.
 */
int capos_sockbridge_open(capos_cap_t sock, capos_sockbridge_t **out, int *fd);

/*
 * Move what can move now without waiting: queued input into the far end,
 * the far end's bytes into a send, a recv when there is room, the close
 * when the library has ended and its output is sent. Never blocks.
 * Returns 0, or the error of a submit (the bridge is then FAILED).
 */
int capos_sockbridge_pump(capos_sockbridge_t *b);

/* The tags of the bridge's outstanding calls into tags[0..2); returns
 * how many (0..2). For a service's own capos_rt_wait_any. */
unsigned capos_sockbridge_tags(const capos_sockbridge_t *b, uint64_t tags[2]);

/* If cqe completes one of b's calls, take it, pump, and return true;
 * false (nothing done) for any other completion. */
bool capos_sockbridge_complete(capos_sockbridge_t *b, const CapCqe *cqe);

/*
 * Wait in cap_enter up to timeout_ns (CAP_TIMEOUT_INFINITE: no limit) for
 * one completion of b's calls and take it. Returns 0, CAPOS_RT_E_TIMEOUT,
 * CAPOS_RT_E_NOT_FOUND when nothing is outstanding, or a wait error.
 */
int capos_sockbridge_wait(capos_sockbridge_t *b, uint64_t timeout_ns);

unsigned capos_sockbridge_state(const capos_sockbridge_t *b);
void capos_sockbridge_stats(const capos_sockbridge_t *b,
                            struct capos_sockbridge_stats *out);

/*
 * End the bridge: closes the TcpSocket if still open (queued output the
 * kernel took is still sent), waits for the outstanding calls (a close
 * answers them at once), releases the cap, closes the far end and frees
 * b. The near end stays the caller's. NULL is ignored.
 */
void capos_sockbridge_free(capos_sockbridge_t *b);

#endif /* CAPOS_SOCKBRIDGE_H */
