/*
 * harness_net.h - shared helpers of the network unit tests
 * (test_netmgr, test_tcpauth, test_tcplistener, test_tcpsocket,
 * test_sockterm): forwards configured through a schema-built manifest,
 * CALLs on a process's ring completed by pumping the port's loop with
 * real short waits, and the client side as plain POSIX sockets.
 *
 * The model runs on the virtual clock (idle timeouts are stepped with
 * hn_advance_s). hn_setup/hn_teardown are the cmocka fixtures: teardown
 * also asserts that no host socket or connection is left.
 */
#ifndef CAPOS_TEST_HARNESS_NET_H
#define CAPOS_TEST_HARNESS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

#define RES 70000u /* holds any result */

#define WAIT_MS 3000

extern int hn_out_fd[2]; /* console output: tests read hn_out_fd[0] */

int hn_setup(void **state);

/* The same on the real clock, for tests whose peers are host threads (on
 * the virtual clock an idle model would jump to the idle timeout rather
 * than wait for them). */
int hn_setup_real_clock(void **state);

int hn_teardown(void **state);

/* ---- forwards ---------------------------------------------------------- */

/*
 * A host port that was free a moment ago, and not one this test program
 * was given before: the host may hand out a port it just freed again,
 * and a test taking two would then find its second listen refused.
 */
uint16_t hn_free_port(void);

struct fwd {
    uint16_t guest, host;
    uint32_t idle; /* 0: the schema default */
    const char *addr;
};

/* Configure the model's forwards from a manifest built with the schema
 * (only kernelParams matters to net_configure). Returns its result. */
int hn_configure(const struct fwd *f, unsigned n, char *err, size_t cap);

void hn_forward(uint16_t guest, uint16_t host, uint32_t idle);

/* ---- calls ------------------------------------------------------------- */

struct res {
    int32_t result;
    uint8_t *buf;
    uint16_t ncaps;
    uint32_t cap; /* the first result cap */
};

/* Pump the port's loop once: a real wait of at most 1 ms. */
void hn_pump(void);

/* Let the virtual clock run s seconds and fire the timers then due. */
void hn_advance_s(uint64_t s);

/* Pump the port until p has a CQE (real time, bounded). */
bool hn_wait_cqe(struct k_process *p, CapCqe *c);

/* Submit a CALL with params[0..plen) and a result buffer of res_len. */
void hn_submit(struct k_process *p, uint32_t cap, uint16_t method,
               const void *params, size_t plen, uint32_t res_len, uint64_t ud,
               uint8_t **res);

/* Wait for the completion of call ud (result buffer buf, or NULL): those
 * of other calls that come first are kept for their own hn_finish. */
struct res hn_finish(struct k_process *p, uint8_t *buf, uint64_t ud);

/* Encoded params: a root struct of dw words and np pointers. */
struct params {
    uint64_t buf[9000];
    size_t len;
    capnp_builder b;
    capnp_struct_builder root;
};

void hn_p_begin(struct params *pp, uint16_t dw, uint16_t np);

void hn_p_end(struct params *pp);

extern uint64_t hn_next_ud;

/* Submit a call with no params (user data ud); *res its result buffer. */
void hn_submit0(struct k_process *p, uint32_t cap, uint16_t method, uint64_t ud,
                uint8_t **res);

/* A call with no params, completed (pending or not). */
struct res hn_call0(struct k_process *p, uint32_t cap, uint16_t method);

/* A call with one u16/u32 param at byte offset off. */
struct res hn_call_u32(struct k_process *p, uint32_t cap, uint16_t method,
                       uint32_t off, uint32_t v, bool wide, uint32_t res_len);

void hn_submit_recv(struct k_process *p, uint32_t sock, uint32_t max,
                    uint64_t ud, uint8_t **res);

struct res hn_call_data(struct k_process *p, uint32_t cap, uint16_t method,
                        const void *d, size_t n);

/* The struct at pointer 0 of a result's root (its message stays valid
 * for the next seven decodes). */
void hn_res_struct(const struct res *r, capnp_struct *out);

uint16_t hn_exception_type(const struct res *r);

/* ---- the objects ------------------------------------------------------- */
uint32_t hn_grant_auth(struct k_process *p, uint16_t port);

/* Listen through a TcpListenAuthority; returns the listener cap. */
uint32_t hn_listen_auth(struct k_process *p, uint32_t auth);

uint16_t hn_listen_error(const struct res *r);

/* A blocking loopback client with a receive timeout. */
int hn_client(uint16_t port);

uint16_t hn_local_port(int fd);

void hn_client_send(int fd, const void *d, size_t n);

#define CSEND(fd, lit) hn_client_send((fd), (lit), sizeof(lit) - 1)

/* Read what the peer sent until want bytes or the end (pumping the
 * port so that queued output goes out). Returns the count, -1 at end
 * with nothing. */
ssize_t hn_client_read(int fd, char *buf, size_t want);

void hn_expect_read(int fd, const char *want, size_t n);

#define EXPECT_READ(fd, lit) hn_expect_read((fd), (lit), sizeof(lit) - 1)

/* Close the client fd with a reset (SO_LINGER 0) instead of a FIN. */
void hn_client_reset(int fd);

/* The peer closed: read returns 0 (or a reset) within the wait. */
void hn_expect_closed(int fd);

struct accepted {
    uint32_t sock;
    char addr[16];
    uint16_t port;
};

struct accepted hn_accept_one(struct k_process *p, uint32_t listener);

/* A connected pair: the guest's socket cap and the host client's fd. */
struct accepted hn_connect_pair(struct k_process *p, uint16_t guest,
                                uint32_t idle, int *fd);

/* recv's outcome: which, and the data. */
uint16_t hn_recv_decode(const struct res *r, char *data, size_t *n,
                        uint16_t *err);

struct res hn_recv_call(struct k_process *p, uint32_t sock, uint32_t max);

/* Socket.recv(max) completed and decoded (see recv_decode): its kind. */
uint16_t hn_recv_which(struct k_process *p, uint32_t sock, uint32_t max,
                       char *data, size_t *n, uint16_t *err);

/* Socket.recv answers error connectionReset (the client reset). */
void hn_expect_recv_reset(struct k_process *p, uint32_t sock);

uint32_t hn_into_terminal(struct k_process *p, uint32_t sock);

/* ---- the socket terminal ----------------------------------------------- */
void hn_submit_readline(struct k_process *p, uint32_t t, const char *prompt,
                        uint16_t echo, uint64_t ud, uint8_t **res);

/* readLine's outcome; the line into line. */
uint16_t hn_readline_decode(const struct res *r, char *line, size_t *n);

uint16_t hn_readline(struct k_process *p, uint32_t t, const char *prompt,
                     uint16_t echo, char *line, size_t *n);

/*
 * intoTerminalSession on a socket whose recv (user data recv_ud, result
 * buffer rres) waits: the recv completes first with error closed, then
 * the call with the terminal. Returns the terminal's cap.
 */
uint32_t hn_into_terminal_past_recv(struct k_process *p, uint32_t sock,
                                    uint64_t recv_ud, uint8_t *rres);

#endif /* CAPOS_TEST_HARNESS_NET_H */
