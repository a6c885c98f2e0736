/*
 * gateway.h - ssh-gateway's internal declarations (docs/ssh.md): the
 * gateway and its workers (ssh_gateway.c), the SSH transport of one
 * connection on libssh (transport.c), the host key (hostkey.c) and the
 * terminal handoff to capos-shell (term.c).
 */
#ifndef SSH_GATEWAY_H
#define SSH_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "capos_rt.h"
#include "decide.h"
#include "sockbridge.h"

#define GW_CONN_MAX 64u     /* connections at once, all workers together */
#define GW_WORKERS 7u       /* worker threads, each on its own ring */
#define GW_WORKER_CONNS 10u /* connection records per worker */
#define GW_RING_RESERVE 4u  /* CQ slots kept for synchronous calls */
/* Shells (each a drain in flight) per worker: what its CQ holds beside
 * the accept, the tick, two bridge calls per record and the reserve
 * (docs/abi.md §4.2: 32 completions outstanding at most). */
#define GW_WORKER_SHELLS                                                       \
    (CAP_CQ_ENTRIES - GW_RING_RESERVE - 2u - 2u * GW_WORKER_CONNS)
#define GW_PEER_MAX 47u
#define GW_CALL_BUF 2048u       /* params and results of synchronous calls */
#define GW_RES_BUF 1024u        /* result of one asynchronous call */
#define GW_TICK_NS 100000000ull /* 100 ms */
#define GW_GRACE_TICKS 300u     /* login grace time: 30 s (sshd: 120 s) */
#define GW_BANNER_MAX 64u       /* client version bytes kept for audit */
#define GW_AUTH_TRIES_MAX 6u    /* sshd's MaxAuthTries */
#define GW_UNAUTH_MAX                                                          \
    48u /* not yet authenticated at once (sshd's                               \
         * MaxStartups): the rest of GW_CONN_MAX                               \
         * stays for sessions */
#define GW_USER_MAX 64u

/* The pinned algorithm set (docs/ssh.md "Algorithms"): anything else is a
 * disconnect during the key exchange. */
#define GW_KEX "curve25519-sha256"
#define GW_HOSTKEY_ALG "ssh-ed25519"
#define GW_CIPHER "chacha20-poly1305@openssh.com"
#define GW_COMPRESSION "none"

enum conn_state {
    C_FREE,
    C_KEX,     /* version exchange and key exchange */
    C_AUTH,    /* keys set: user authentication */
    C_SESSION, /* authenticated: a UserSession is held */
};

struct gateway;

/* One connection: its socket bridge, libssh session and event. */
struct conn {
    enum conn_state st;
    unsigned id; /* connection number, for console and audit lines */
    char peer[GW_PEER_MAX + 1];
    capos_sockbridge_t *br;
    int fd; /* the bridge's near end, libssh's descriptor */
    ssh_session ss;
    ssh_event ev;
    struct ssh_server_callbacks_struct scb; /* outlive the session */
    struct ssh_channel_callbacks_struct ccb;
    ssh_channel chan;            /* the one session channel, or NULL */
    struct ssh_policy_state pol; /* what was granted (decide.h) */
    capos_cap_t session;         /* the UserSession, once authenticated */
    bool have_session;
    char user[GW_USER_MAX + 1];
    unsigned auth_tries;
    bool over;            /* end the connection after this step */
    bool shell_requested; /* answer it after libssh's reply */
    bool unauth;          /* counted in gateway.unauth */
    uint16_t cols, rows;  /* pty-req and window-change */
    /* The terminal handoff (term.c): the kernel terminal's stream end,
     * the shell's ProcessHandle, the drain in flight and its buffer. */
    capos_cap_t stream, shell;
    bool have_stream, have_shell, term_ended;
    uint64_t drain_tag;
    uint8_t *drain_res;  /* TERM_DRAIN_RES bytes */
    const uint8_t *out;  /* drained bytes the channel did not take yet */
    uint32_t out_len;    /* (in drain_res: no drain until they are sent) */
    bool out_ended;      /* the drain that gave them said ended */
    unsigned ticks_left;  /* of the login grace time */
    bool version_audited;
    struct worker *w;
};

/* One worker thread: its own ring, buffers and connection table. */
struct worker {
    struct gateway *g;
    unsigned index;
    bool have_listener, spawned;
    capos_thread_t thread;
    uint8_t *pbuf, *rbuf;           /* synchronous calls */
    uint8_t *accept_res, *tick_res; /* GW_RES_BUF each */
    uint64_t accept_tag, tick_tag;
    unsigned accept_failures;
    struct conn conns[GW_WORKER_CONNS];
};

struct gateway {
    capos_cap_t authority, listener, hostkey, timer, audit, console, sessions,
        keys, terminals, launcher;
    bool have_audit, have_console, have_listener;
    uint16_t port;
    uint8_t *pbuf, *rbuf;
    char *hostkey_pem; /* the host key, read-only after start (hostkey.c) */
    unsigned limit, live, next_id; /* live and next_id: atomic */
    unsigned unauth, unauth_limit; /* unauth: atomic */
    struct worker workers[GW_WORKERS];
};

/* ssh_gateway.c */
/* c has authenticated: it no longer counts as unauthenticated. */
void gw_authenticated(struct conn *c);
void gw_say(struct gateway *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void gw_audit(struct gateway *g, const char *code, uint16_t outcome,
              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* transport.c */
/* A bind with the pinned algorithms, no config file and the host key
 * from pem; NULL with why set on failure. One per connection, freed once
 * the session has copied it, so no libssh memory outlives a connection. */
ssh_bind transport_bind_new(const char *pem, char *why, size_t whylen);
/* Start SSH on c (its bridge and fd set): session, callbacks,
 * non-blocking key exchange begun. False (c to be closed) on failure. */
bool transport_start(struct gateway *g, struct conn *c);
/* Let libssh run on what the bridge delivered. False when the connection
 * is over (c to be closed). */
bool transport_step(struct gateway *g, struct conn *c);
/* Free c's libssh session and event (sends a disconnect if still up). */
void transport_end(struct conn *c);

/* auth.c */
/* libssh's auth_pubkey_function: probes answered, signed requests asked
 * of SessionManager.sshPublicKey (docs/ssh.md "Key to principal"). */
int auth_pubkey(ssh_session s, const char *user, struct ssh_key_struct *key,
                char state, void *ud);
/* End c's UserSession (logout and release), if it has one. */
void auth_end(struct conn *c);

/* channel.c */
/* libssh's channel_open_request_session_function, per the policy. */
ssh_channel channel_open_request(ssh_session s, void *ud);
/* Work a channel callback left for after libssh's reply. */
void channel_after_step(struct conn *c);
/* Free c's channel (callbacks removed first). */
void channel_end(struct conn *c);

/* term.c */
#define TERM_DRAIN_RES (16384u + 128u) /* a drain's result, at most */
/* Start capos-shell on a new kernel terminal over c's channel, with c's
 * session (RestrictedShellLauncher). False when it could not (c keeps
 * what it got, for term_end). */
bool term_start(struct conn *c);
/* Post c's drain if it has a terminal and none is in flight. */
void term_post_drain(struct conn *c);
/* A drain completed: its output to the channel; the terminal's end ends
 * the channel (exit-status 0, EOF, close). False on a channel error. */
bool term_on_drain(struct conn *c, const CapCqe *cqe);
/* Send what the channel's window did not take of the last drain (after
 * each step of libssh); false on a channel error. */
bool term_flush(struct conn *c);
/* libssh's channel_data_function: feed the terminal; returns the bytes
 * it took (the rest stays in libssh for later). */
int term_feed(ssh_session s, ssh_channel ch, void *data, uint32_t len,
              int is_stderr, void *ud);
/* TerminalByteStream.endInput (the client's EOF), if c has a terminal. */
void term_end_input(struct conn *c);
/* The terminal's size from c->cols and c->rows. */
void term_resize(struct conn *c);
/* Hang up and release the terminal and the shell's handle (every path). */
void term_end(struct conn *c);

/* policy.c */
/* One audit record for a request of kind (what: a detail, or NULL). */
void policy_audit(struct conn *c, enum ssh_request kind, const char *what);
/* libssh's message callback: audit an unhandled request, return 1 so
 * libssh sends the default failure. */
int policy_message(ssh_session s, ssh_message msg, void *ud);

/* hostkey.c */
#define HOSTKEY_PEM_MAX 640u
/* The development host key from the SshHostKey cap: its public key and
 * its seed (once), checked against each other, as the PEM text of an
 * openssh-key-v1 file in the process heap (wipe it with hostkey_wipe).
 * NULL with why set on failure. pub gets the 32-byte public key. */
char *hostkey_load(capos_cap_t cap, uint8_t *pbuf, uint8_t *rbuf, size_t buflen,
                   uint8_t pub[32], char *why, size_t whylen);
/* A libssh key from that text (NULL if libssh refuses it). */
ssh_key hostkey_import(const char *pem);
void hostkey_wipe(char *pem);
/* "SHA256:..." of the ssh-ed25519 public key pub, as ssh-keygen -l
 * prints it ("?" if libssh cannot say). */
void hostkey_fingerprint(const uint8_t pub[32], char *out, size_t cap);

#endif /* SSH_GATEWAY_H */
