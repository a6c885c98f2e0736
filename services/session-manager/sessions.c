/*
 * sessions.c - session-manager's live sessions: their ids and
 * SessionInfo, SessionManager.validate (the kernel's Endpoint.identify)
 * and the UserSession methods of the facets it minted.
 */
#include <stdio.h>
#include <string.h>

#include "session_manager.h"

static struct session *session_of(struct sm *m, uint64_t badge)
{
    for (unsigned i = 0; i < SESSIONS_MAX; i++)
        if (m->sessions[i].live && m->sessions[i].badge == badge)
            return &m->sessions[i];
    return NULL;
}

/* 16 session-id bytes: from the EntropySource, else (no entropy granted)
 * derived from the badge and time. The id is metadata for audit, never
 * authority: the facet is. */
void sessions_new_id(struct sm *m, struct session *s)
{
    memset(s->id, 0, SESSION_ID_LEN);
    if (m->have_entropy) {
        capnp_builder b;
        capnp_struct_builder p;
        capnp_message msg;
        capnp_struct root;
        capnp_builder_init(&b, m->pbuf, CALL_BUF);
        capos_EntropySource_read_Params_init_root(&b, &p);
        capos_EntropySource_read_Params_set_count(&p, SESSION_ID_LEN);
        const uint8_t *d;
        size_t n;
        if (capos_rt_call_capnp(m->entropy, CAPOS_ENTROPY_SOURCE_READ_METHOD_ID,
                                &b, m->rbuf, CALL_BUF, &msg, &root) >= 0 &&
            capos_EntropySource_read_Results_get_data(&root, &d, &n) == 0 &&
            n == SESSION_ID_LEN) {
            memcpy(s->id, d, SESSION_ID_LEN);
            return;
        }
    }
    memcpy(s->id, &s->badge, 8);
    memcpy(s->id + 8, &s->created_ns, 8);
}

static void set_info(capnp_struct_builder *info, const struct session *s)
{
    capnp_struct_builder src;
    capos_SessionInfo_set_sessionId(info, s->id, SESSION_ID_LEN);
    capos_SessionInfo_set_principalId(info, s->principal, s->principal_len);
    capos_SessionInfo_set_username(info, s->username, strlen(s->username));
    capos_SessionInfo_set_displayName(info, s->display, strlen(s->display));
    capos_SessionInfo_set_profile(info, s->profile, strlen(s->profile));
    capos_SessionInfo_set_profileKind(info, s->kind);
    capos_SessionInfo_set_authStrength(info, s->strength);
    if (capos_SessionInfo_init_source(info, &src) == 0) {
        capos_LoginSource_set_transport(&src, s->transport);
        capos_LoginSource_set_peer(&src, s->peer, strlen(s->peer));
        capos_LoginSource_set_connectionId(&src, s->connection_id);
    }
    capos_SessionInfo_set_createdNs(info, s->created_ns);
    capos_SessionInfo_set_expiresNs(info, s->expires_ns);
}

/*
 * Is cap a facet of our endpoint? The cap is moved to the kernel (so it
 * is gone afterwards, whatever the answer). Returns 1 and *badge, 0 for a
 * foreign cap, or a negative code.
 */
static int identify(struct sm *m, capos_cap_t cap, uint64_t *badge)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, m->pbuf, CALL_BUF);
    capos_Endpoint_identify_Params_init_root(&b, &p);
    capos_Endpoint_identify_Params_set_cap(&p, 0);
    size_t len = 0;
    int r = capnp_finish(&b, &len);
    if (r < 0)
        return r;
    CapTransferDescriptor d = {.cap_id = cap.id, .mode = CAP_XFER_MOVE};
    memcpy(m->pbuf + CAP_ALIGN8(len), &d, sizeof d);
    CapSqe s = {.opcode = CAP_OP_CALL,
                .cap_id = m->ep.id,
                .method_id = CAPOS_ENDPOINT_IDENTIFY_METHOD_ID,
                .addr = capos_va(m->pbuf),
                .len = (uint32_t)len,
                .xfer_cap_count = 1,
                .result_addr = capos_va(m->rbuf),
                .result_len = CALL_BUF};
    CapCqe c;
    r = capos_rt_call(&s, &c);
    if (r < 0) {
        capos_rt_release(cap); /* never reached the kernel */
        return r;
    }
    if (c.result < 0) {
        capos_rt_release(cap); /* the move rolled back: still ours */
        return c.result;
    }
    capnp_message msg;
    capnp_struct root;
    if ((r = capnp_msg_init(&msg, m->rbuf, (size_t)c.result, NULL)) < 0 ||
        (r = capnp_msg_root(&msg, &root)) < 0)
        return r;
    *badge = capos_Endpoint_identify_Results_get_badge(&root);
    return capos_Endpoint_identify_Results_get_own(&root) ? 1 : 0;
}

int sessions_validate(struct sm *m, capos_server_call_t *call)
{
    uint32_t idx;
    capos_cap_t cap;
    capnp_struct_builder res, v, info;
    capos_SessionManager_validate_Results_init_root(call->result, &res);
    capos_SessionManager_validate_Results_init_result(&res, &v);
    if (capos_SessionManager_validate_Params_get_session(&call->params_root,
                                                         &idx) != 0 ||
        idx == CAPNP_CAP_NULL ||
        capos_server_take_cap(call, idx, 0, &cap) != 0) {
        capos_SessionValidation_set_invalid(&v);
        return CAPOS_SERVE_REPLY;
    }
    uint64_t badge = 0;
    int own = identify(m, cap, &badge);
    if (own < 0)
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "SessionManager.validate: the kernel did "
                                 "not identify the cap (%d)",
                                 own);
    struct session *s = own ? session_of(m, badge) : NULL;
    if (!s) {
        capos_SessionValidation_set_invalid(&v);
        return CAPOS_SERVE_REPLY;
    }
    if (s->expires_ns && sm_now_ns(m) >= s->expires_ns) {
        capos_SessionValidation_set_expired(&v);
        return CAPOS_SERVE_REPLY;
    }
    if (capos_SessionValidation_init_valid(&v, &info) == 0)
        set_info(&info, s);
    return CAPOS_SERVE_REPLY;
}

int sessions_user_session(struct sm *m, capos_server_call_t *call)
{
    struct session *s = session_of(m, call->badge);
    if (!s)
        return capos_server_fail(call, CAPOS_EXC_DISCONNECTED,
                                 "UserSession: this session has ended "
                                 "(logged out); log in again");
    capnp_struct_builder res, info;
    switch (call->method_id) {
    case CAPOS_USER_SESSION_INFO_METHOD_ID:
        capos_UserSession_info_Results_init_root(call->result, &res);
        if (capos_UserSession_info_Results_init_info(&res, &info) == 0)
            set_info(&info, s);
        return CAPOS_SERVE_REPLY;
    case CAPOS_USER_SESSION_LOGOUT_METHOD_ID:
        sm_audit(m, "session", "session-logout", CAPOS_AUDIT_OUTCOME_INFO,
                 s->username, s, "logout");
        memset(s, 0, sizeof *s); /* the badge is never reused */
        return CAPOS_SERVE_REPLY;
    }
    return capos_server_unimplemented(call);
}
