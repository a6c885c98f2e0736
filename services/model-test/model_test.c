/*
 * model-test - a deterministic LanguageModel (builtin "model-test"):
 * answers from the script compiled into its image
 * (fixtures/model-test-script.capnp, format in model_test.capnp), so
 * the agent shell can be proved without weights, providers or network.
 *
 * Caps: "serve" (Endpoint, required: LanguageModel calls arrive through
 * the facets init hands importers, ModelTurn calls through the facets
 * this service mints itself) and "console" (optional: startup problems
 * only). It holds no session, terminal, launcher or network cap: it sees
 * only the messages and tool descriptors it is sent.
 *
 * Turns: startTurn plans the whole turn (plan.c) and answers a ModelTurn
 * facet of "serve" badged TURN_BIT | n (n never reused); each next
 * answers one event, then done(stop) for ever. cancel ends the turn
 * (done(cancelled)) unless done was already answered. At most TURNS
 * turns are kept; a new one evicts the least recently used, whose facet
 * then answers `disconnected`. Facets init hands out carry manifest
 * badges, which must stay below TURN_BIT.
 */
#include <string.h>

#include "capos.capnp.h"
#include "capos_rt.h"
#include "model_test.capnp.h"
#include "model_test.h"
#include "server.h"

#define TURN_BIT (1ull << 63)
#define TURNS 8u
#define CALL_BUF 256u
#define RECV_BYTES 65536u

struct mt {
    capos_cap_t ep;
    capnp_message script_msg;
    capnp_struct script;
    struct mt_turn *turns; /* TURNS of them */
    uint64_t next_badge, clock;
    uint8_t *pbuf, *rbuf;  /* mintClient's call buffers */
};

static int mt_info(capos_server_call_t *call)
{
    static const char desc[] = "deterministic scripted model for tests";
    capnp_struct_builder res, info;
    if (capos_LanguageModel_info_Results_init_root(call->result, &res) < 0 ||
        capos_LanguageModel_info_Results_init_info(&res, &info) < 0)
        return capos_server_fail(call, CAPOS_EXC_FAILED, "no result room");
    capos_ModelInfo_set_name(&info, "model-test", 10);
    capos_ModelInfo_set_provider(&info, "capos-test", 10);
    capos_ModelInfo_set_description(&info, desc, sizeof desc - 1);
    capos_ModelInfo_set_contextTokens(&info, 8192);
    capos_ModelInfo_set_deterministic(&info, true);
    return CAPOS_SERVE_REPLY;
}

/* A slot for a new turn: a free one, else the least recently used. */
static struct mt_turn *mt_slot(struct mt *m)
{
    struct mt_turn *best = &m->turns[0];
    for (unsigned i = 0; i < TURNS; i++) {
        struct mt_turn *t = &m->turns[i];
        if (!t->used)
            return t;
        if (t->last_use < best->last_use)
            best = t;
    }
    plan_turn_free(best);
    return best;
}

/* LanguageModel.startTurn: plan the turn, then mint and answer its
 * facet (moved to the caller). */
static int mt_start_turn(struct mt *m, capos_server_call_t *call)
{
    char why[MT_WHY_MAX];
    struct mt_turn *t = mt_slot(m);
    int r = plan_turn(&m->script, &call->params_root, t, why, sizeof why);
    if (r < 0)
        return capos_server_fail(call,
                                 r == -1 ? CAPOS_EXC_INVALID_ARGUMENT
                                         : CAPOS_EXC_FAILED,
                                 "model-test: %s", why);
    capos_cap_t facet;
    uint64_t badge = TURN_BIT | ++m->next_badge;
    r = capos_endpoint_mint_typed(m->ep, badge, CAPOS_MODEL_TURN_INTERFACE_ID,
                                  m->pbuf, m->rbuf, CALL_BUF, &facet);
    int idx = r < 0 ? r : capos_server_add_cap(call, facet.id, CAP_XFER_MOVE);
    if (idx < 0) {
        if (r == 0)
            capos_rt_release(facet);
        plan_turn_free(t);
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "model-test: could not mint the turn (%d)",
                                 idx);
    }
    t->used = true;
    t->finished = false;
    t->badge = badge;
    t->last_use = ++m->clock;
    capnp_struct_builder res;
    capos_LanguageModel_startTurn_Results_init_root(call->result, &res);
    capos_LanguageModel_startTurn_Results_set_turn(&res, (uint32_t)idx);
    return CAPOS_SERVE_REPLY;
}

/* Copy the script's call e into the event ev (its id given by the
 * model). Returns 0 or a codec code. */
static int mt_put_call(const struct mt_event *e, capnp_struct_builder *ev)
{
    capnp_struct_builder tc;
    capnp_list args;
    const char *s;
    size_t len;
    int r = capos_TurnEvent_init_toolCall(ev, &tc);
    if (r < 0)
        return r;
    capos_ToolCall_set_id(&tc, e->id, strlen(e->id));
    if (capos_ToolCall_get_tool(&e->call, &s, &len) == 0 && s)
        capos_ToolCall_set_tool(&tc, s, len);
    if (capos_ToolCall_get_arguments(&e->call, &args) < 0)
        return 0;
    capnp_list_builder out;
    r = capos_ToolCall_init_arguments(&tc, capnp_list_len(&args), &out);
    for (uint32_t i = 0; r == 0 && i < capnp_list_len(&args); i++) {
        capnp_struct a;
        capnp_struct_builder b;
        if (capnp_list_get_struct(&args, i, &a) < 0 ||
            capnp_list_struct_at(&out, i, &b) < 0)
            continue;
        if (capos_ToolArgument_get_name(&a, &s, &len) == 0 && s)
            capos_ToolArgument_set_name(&b, s, len);
        switch (capos_ToolArgument_value_which(&a)) {
        case CAPOS_TOOL_ARGUMENT_VALUE_WHICH_INTEGER:
            capos_ToolArgument_value_set_integer(
                &b, capos_ToolArgument_value_get_integer(&a));
            break;
        case CAPOS_TOOL_ARGUMENT_VALUE_WHICH_BOOLEAN:
            capos_ToolArgument_value_set_boolean(
                &b, capos_ToolArgument_value_get_boolean(&a));
            break;
        case CAPOS_TOOL_ARGUMENT_VALUE_WHICH_DATA: {
            const uint8_t *d;
            if (capos_ToolArgument_value_get_data(&a, &d, &len) == 0)
                r = capos_ToolArgument_value_set_data(&b, d, len);
            break;
        }
        default:
            if (capos_ToolArgument_value_get_text(&a, &s, &len) == 0)
                r = capos_ToolArgument_value_set_text(&b, s ? s : "", len);
        }
    }
    return r;
}

static struct mt_turn *mt_turn_of(struct mt *m, uint64_t badge)
{
    for (unsigned i = 0; i < TURNS; i++)
        if (m->turns[i].used && m->turns[i].badge == badge)
            return &m->turns[i];
    return NULL;
}

/* ModelTurn.next: the next event, or done(stop) once they are out. */
static int mt_next(struct mt_turn *t, capos_server_call_t *call)
{
    capnp_struct_builder res, ev;
    if (capos_ModelTurn_next_Results_init_root(call->result, &res) < 0 ||
        capos_ModelTurn_next_Results_init_event(&res, &ev) < 0)
        return capos_server_fail(call, CAPOS_EXC_FAILED, "no result room");
    if (t->pos == t->n) {
        capos_TurnEvent_set_done(&ev, t->stop);
        t->finished = true;
        return CAPOS_SERVE_REPLY;
    }
    const struct mt_event *e = &t->ev[t->pos++];
    int r = e->kind == MT_TEXT ? capos_TurnEvent_set_text(&ev, e->text, e->len)
                               : mt_put_call(e, &ev);
    if (r < 0)
        return capos_server_fail(call, CAPOS_EXC_FAILED,
                                 "model-test: the event does not fit (%d)",
                                 r);
    return CAPOS_SERVE_REPLY;
}

/* ModelTurn.cancel: no more events; done(cancelled) unless done was
 * already answered. */
static int mt_cancel(struct mt_turn *t, capos_server_call_t *call)
{
    if (!t->finished) {
        t->pos = t->n;
        t->stop = CAPOS_STOP_REASON_CANCELLED;
    }
    capnp_struct_builder res;
    capos_ModelTurn_cancel_Results_init_root(call->result, &res);
    return CAPOS_SERVE_REPLY;
}

static int mt_on_call(void *ctx, capos_server_call_t *call)
{
    struct mt *m = ctx;
    if (!(call->badge & TURN_BIT)) {
        if (call->method_id == CAPOS_LANGUAGE_MODEL_INFO_METHOD_ID)
            return mt_info(call);
        if (call->method_id == CAPOS_LANGUAGE_MODEL_START_TURN_METHOD_ID)
            return mt_start_turn(m, call);
        return capos_server_unimplemented(call);
    }
    struct mt_turn *t = mt_turn_of(m, call->badge);
    if (!t)
        return capos_server_fail(call, CAPOS_EXC_DISCONNECTED,
                                 "model-test: this turn is gone (evicted by "
                                 "newer turns)");
    t->last_use = ++m->clock;
    if (call->method_id == CAPOS_MODEL_TURN_NEXT_METHOD_ID)
        return mt_next(t, call);
    if (call->method_id == CAPOS_MODEL_TURN_CANCEL_METHOD_ID)
        return mt_cancel(t, call);
    return capos_server_unimplemented(call);
}

int capos_main(capos_capset_t *caps)
{
    capos_cap_t con = {0, 0};
    struct mt m = {0};
    bool have_con =
        capos_capset_find(caps, "console", CAPOS_CONSOLE_INTERFACE_ID, &con) ==
        0;
    if (capos_capset_find(caps, "serve", CAPOS_ENDPOINT_INTERFACE_ID, &m.ep)) {
        if (have_con)
            capos_console_line(con,
                               "model-test: needs an Endpoint cap \"serve\"");
        return 2;
    }
    if (plan_script_root(&m.script_msg, &m.script) < 0) {
        if (have_con)
            capos_console_line(con, "model-test: the built-in script does "
                                    "not decode");
        return 3;
    }
    m.turns = capos_alloc(TURNS * sizeof *m.turns);
    if (!m.turns || !capos_alloc_call_bufs(&m.pbuf, &m.rbuf, CALL_BUF))
        return 3;
    memset(m.turns, 0, TURNS * sizeof *m.turns);
    capos_server_opts_t o = {.recv_bytes = RECV_BYTES};
    int r = capos_serve_opts(m.ep, mt_on_call, &m, &o);
    for (unsigned i = 0; i < TURNS; i++)
        plan_turn_free(&m.turns[i]);
    capos_free(m.turns);
    return r == 0 || r == CAP_ERR_DISCONNECTED ? 0 : 4;
}
