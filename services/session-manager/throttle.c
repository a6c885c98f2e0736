/*
 * throttle.c - session-manager's failed-login records and backoff: one
 * record per peer address and per account name (see session_manager.c).
 */
#include <stdio.h>
#include <string.h>

#include "session_manager.h"

/* The failure record of key (kind 'a': a peer address, 'u': an account
 * name), made if new by evicting the least recently used record other
 * than avoid. Never NULL. */
static struct source *source_of(struct sm *m, uint16_t kind, const char *key,
                                const struct source *avoid)
{
    struct source *lru = NULL;
    m->use_clock++;
    for (unsigned i = 0; i < SOURCES_MAX; i++) {
        struct source *s = &m->sources[i];
        if (s->used && s->transport == kind && strcmp(s->peer, key) == 0) {
            s->last_use = m->use_clock;
            return s;
        }
        if (s != avoid &&
            (!lru || !s->used || (lru->used && s->last_use < lru->last_use)))
            lru = s;
    }
    memset(lru, 0, sizeof *lru);
    lru->used = true;
    lru->transport = kind;
    snprintf(lru->peer, sizeof lru->peer, "%s", key);
    lru->last_use = m->use_clock;
    return lru;
}

/*
 * Where failed logins count: the peer's address whatever its port and
 * transport (so a reconnect does not reset it, and Telnet, SSH and later
 * gateways share it), and the account name (so a guesser moving between
 * addresses is slowed too), as OpenSSH's PerSourcePenalties keys by
 * source. peer is "a.b.c.d:port" ("" for the console).
 */
struct throttle throttle_of(struct sm *m, const char *user, const char *peer)
{
    char addr[PEER_MAX + 1];
    snprintf(addr, sizeof addr, "%s", peer);
    char *colon = strrchr(addr, ':');
    if (colon)
        *colon = '\0';
    struct throttle t;
    t.addr = source_of(m, 'a', addr, NULL);
    t.acct = source_of(m, 'u', user, t.addr);
    return t;
}

/* The wait owed before answering a source with failures failures. */
static uint64_t backoff_ns(uint32_t failures)
{
    if (failures < BACKOFF_FREE)
        return 0;
    uint32_t shift = failures - BACKOFF_FREE;
    if (shift >= 6)
        return BACKOFF_MAX_NS;
    uint64_t d = BACKOFF_BASE_NS << shift;
    return d < BACKOFF_MAX_NS ? d : BACKOFF_MAX_NS;
}

/* The wait owed before answering t: the longer of its two records'. */
uint64_t throttle_wait(const struct throttle *t)
{
    uint64_t a = backoff_ns(t->addr->failures),
             u = backoff_ns(t->acct->failures);
    return a > u ? a : u;
}

void throttle_fail(struct throttle *t)
{
    if (t->addr->failures < UINT32_MAX)
        t->addr->failures++;
    if (t->acct->failures < UINT32_MAX)
        t->acct->failures++;
}

/* A success forgives the address and the account. */
void throttle_forgive(struct throttle *t)
{
    t->addr->failures = 0;
    t->acct->failures = 0;
}
