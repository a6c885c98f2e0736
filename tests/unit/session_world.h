/*
 * session_world.h - the world test_session runs in (session_world.c):
 * fakes of the AuditLog (recording) and CredentialStore, the boot
 * manifest's accounts, profiles and authorized keys, the processes of
 * session-manager, authority-broker and a client, and the client's call
 * helpers.
 */
#ifndef CAPOS_TEST_SESSION_WORLD_H
#define CAPOS_TEST_SESSION_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capos.capnp.h"
#include "harness.h"
#include "harness_rt.h"
#include "server.h"

#define SEC 1000000000ull
#define PW_RIGHT "correct horse"
#define PW_WRONG "wrong-pw-123"

/* The interface of the broker's typed "counter" facet. */
#define IFACE_COUNTER 0xc0ffee0000000001ull

#define AUDIT_MAX 64
struct world_audit {
    unsigned n;
    struct {
        char category[16], code[48], principal[64];
        uint16_t outcome;
        uint64_t badge;
    } rec[AUDIT_MAX];
    bool password_seen; /* any params bytes held a password */
};
extern struct world_audit audit;

struct world_info_seen {
    char user[32], profile[32];
    uint16_t kind, strength;
    uint64_t created, expires;
    uint8_t principal[32];
};
extern struct world_info_seen info_seen;

extern const uint8_t alice_principal[32];
/* The broker cap the operator profile names as its languageModel. */
extern const char *op_model;
/* ed25519 public keys of kernelParams.authorizedKeys, and one unknown. */
extern const uint8_t ssh_keys[4][32];
extern uint8_t *cbuf, *rbuf;
extern struct k_process *p_client;

void world_up(int (*client_main)(capos_capset_t *));
void world_down(void);
void world_text(const capnp_struct *s,
                int (*get)(const capnp_struct *, const char **, size_t *),
                char *dst, size_t cap);
uint32_t world_add_endpoint(struct k_process *p, const char *name);
void world_add_timer(struct k_process *p, const char *name);
void world_bufs(void);
CapCqe world_call(capos_cap_t cap, uint16_t method, capnp_builder *b,
                  const uint32_t *xfer, unsigned nx, capnp_message *msg,
                  capnp_struct *root);
capos_cap_t world_result_cap(const CapCqe *c, unsigned i);
uint16_t world_exc_type_of(const CapCqe *c);
int world_login(capos_cap_t sm, const char *user, const char *pw,
                const char *peer, capos_cap_t *session, uint32_t *retry_ms);
CapCqe world_info(capos_cap_t s);
CapCqe world_logout(capos_cap_t s);
uint64_t world_now(capos_cap_t timer);
capos_cap_t world_find(capos_capset_t *caps, const char *name);

#endif
