/*
 * session_manager.h - internal declarations of session-manager
 * (services/session-manager/): its limits, the state it keeps (sessions,
 * failed-login records, its caps and the boot manifest), and the functions
 * its files share: the common helpers and dispatch (session_manager.c),
 * the backoff (throttle.c), sessions and UserSession (sessions.c), the
 * password login (password.c) and the SSH key login (sshkey.c).
 */
#ifndef CAPOS_SESSION_MANAGER_H
#define CAPOS_SESSION_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capos.capnp.h"
#include "capos_rt.h"
#include "server.h"

#define SESSION_BADGE_BIT (1ull << 63)
#define SESSIONS_MAX 64u
#define SOURCES_MAX 32u
#define USERNAME_MAX 64u
#define PASSWORD_MAX 1024u
#define PEER_MAX 64u
#define TEXT_MAX 128u
#define PRINCIPAL_MAX 32u
#define SESSION_ID_LEN 16u

#define BACKOFF_FREE 3u               /* failures before any delay */
#define BACKOFF_BASE_NS 1000000000ull /* 1 s */
#define BACKOFF_MAX_NS 32000000000ull /* 32 s */

#define CALL_BUF 4096u

/* The endpoints served (capos_serve_set's index): the SessionManager
 * facets of importers, the SSH gateway's own SessionManager facet, and
 * AuthorizedKeyStore for the gateway (both optional; "authorizedKeys"
 * only with "sshGateway"). */
enum { EP_SESSIONS, EP_SSH, EP_KEYS, EP_COUNT };

struct session {
    bool live;
    uint64_t badge;
    uint8_t id[SESSION_ID_LEN];
    uint8_t principal[PRINCIPAL_MAX];
    uint32_t principal_len;
    char username[USERNAME_MAX + 1];
    char display[TEXT_MAX + 1];
    char profile[TEXT_MAX + 1];
    uint16_t kind;
    uint16_t strength;
    uint16_t transport;
    char peer[PEER_MAX + 1];
    uint64_t connection_id;
    uint64_t created_ns;
    uint64_t expires_ns;
};

struct source {
    bool used;
    /* transport: the record's kind ('a' address, 'u' account); peer: its
     * key (docs/ssh.md "Throttling"). */
    uint16_t transport;
    char peer[PEER_MAX + 1];
    uint32_t failures;
    uint64_t last_use; /* for eviction: a counter, not time */
};

struct throttle {
    struct source *addr, *acct;
};

struct sm {
    capos_cap_t ep, creds, audit, timer, entropy, console;
    bool have_audit, have_timer, have_entropy, have_console;
    uint8_t *manifest; /* the boot manifest, or NULL */
    size_t manifest_len;
    capnp_message mmsg;
    capnp_struct kparams;
    bool have_kparams;
    struct session sessions[SESSIONS_MAX];
    struct source sources[SOURCES_MAX];
    uint64_t next_badge; /* counter part of the next session badge */
    uint64_t use_clock;
    uint8_t *pbuf, *rbuf; /* params and results of our own calls */
};

/* SessionManager.login's params, checked (password: in the call's
 * params, valid while the call is). */
struct login_req {
    char user[USERNAME_MAX + 1], peer[PEER_MAX + 1];
    const uint8_t *pw;
    size_t pwlen;
    uint16_t transport;
    uint64_t conn;
};

bool sm_copy_text(const char *s, size_t n, char *dst, size_t cap);
uint64_t sm_now_ns(struct sm *m);
void sm_sleep_ns(struct sm *m, uint64_t ns);
void sm_audit(struct sm *m, const char *category, const char *code,
              uint16_t outcome, const char *principal, const struct session *s,
              const char *detail);
int sm_mint_facet(struct sm *m, uint64_t badge, capos_cap_t *out);
bool sm_find_account(struct sm *m, const char *username, capnp_struct *out);
bool sm_find_profile(struct sm *m, const char *name, capnp_struct *out);
struct throttle throttle_of(struct sm *m, const char *user, const char *peer);
uint64_t throttle_wait(const struct throttle *t);
void throttle_fail(struct throttle *t);
void throttle_forgive(struct throttle *t);
void sessions_new_id(struct sm *m, struct session *s);
int sessions_validate(struct sm *m, capos_server_call_t *call);
int sessions_user_session(struct sm *m, capos_server_call_t *call);
int password_deny_as(struct sm *m, capos_server_call_t *call, const char *code,
                     uint16_t outcome, struct throttle *src, bool counts,
                     bool ssh);
void password_fill_session(struct sm *m, const struct login_req *q,
                           const capnp_struct *acct, const capnp_struct *prof,
                           struct session *t);
int password_issue_session(struct sm *m, capos_server_call_t *call,
                           struct throttle *src, struct session *t,
                           struct session *ss);
int password_login(struct sm *m, capos_server_call_t *call);
int sshkey_login(struct sm *m, capos_server_call_t *call);
int sshkey_lookup(struct sm *m, capos_server_call_t *call);

#endif
