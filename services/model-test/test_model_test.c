/*
 * test_model_test.c - model-test, the deterministic LanguageModel
 * (services/model-test), driven by a client process through a
 * LanguageModel facet: info; startTurn answering the script's rules
 * (echoed tool descriptors, a tool call with its arguments, an answer
 * chosen by the last tool outcome); the output-token bound; cancel; a
 * conversation no rule matches.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "harness.h"
#include "harness_rt.h"

int capos_service_model_test_main(capos_capset_t *caps);

#define RES_BYTES 4096u
#define PBUF_BYTES 4096u
#define LOG_MAX 1024u

static uint8_t *res, *pbuf;
static capos_cap_t model;

/* What the client saw; each turn's events as one line ("|" between). */
static struct {
    char name[32], provider[32];
    bool deterministic;
    char tools[LOG_MAX], ask[LOG_MAX], answered[LOG_MAX], refused[LOG_MAX];
    char spawn[LOG_MAX], bounded[LOG_MAX], cancelled[LOG_MAX];
    int mismatch_r;
    uint16_t mismatch_type;
    char mismatch_msg[256];
} seen;

/* One conversation message for build_turn. */
struct msg {
    uint16_t role;
    const char *text;
    const char *call_id;  /* assistant: one call; tool: its result */
    int outcome;          /* tool: ToolResult outcome ordinal */
};

static void add_tool(capnp_list_builder *l, uint32_t i, const char *name,
                     uint16_t mode, bool ro, const char *param, bool req)
{
    capnp_struct_builder d, p;
    capnp_list_builder ps;
    capnp_list_struct_at(l, i, &d);
    capos_ToolDescriptor_set_name(&d, name, strlen(name));
    capos_ToolDescriptor_set_mode(&d, mode);
    capos_ToolDescriptor_set_readOnly(&d, ro);
    if (!param)
        return;
    capos_ToolDescriptor_init_parameters(&d, 2, &ps);
    capnp_list_struct_at(&ps, 0, &p);
    capos_ToolParameter_set_name(&p, param, strlen(param));
    capos_ToolParameter_set_required(&p, req);
    capnp_list_struct_at(&ps, 1, &p);
    capos_ToolParameter_set_name(&p, "n", 1);
    capos_ToolParameter_set_type(&p, CAPOS_TOOL_VALUE_TYPE_INTEGER);
}

static void add_msg(capnp_list_builder *l, uint32_t i, const struct msg *m)
{
    capnp_struct_builder s, x;
    capnp_list_builder xs;
    capnp_list_struct_at(l, i, &s);
    capos_ModelMessage_set_role(&s, m->role);
    if (m->text)
        capos_ModelMessage_set_text(&s, m->text, strlen(m->text));
    if (m->role == CAPOS_MESSAGE_ROLE_ASSISTANT && m->call_id) {
        capos_ModelMessage_init_toolCalls(&s, 1, &xs);
        capnp_list_struct_at(&xs, 0, &x);
        capos_ToolCall_set_id(&x, m->call_id, strlen(m->call_id));
    }
    if (m->role == CAPOS_MESSAGE_ROLE_TOOL) {
        capos_ModelMessage_init_toolResults(&s, 1, &xs);
        capnp_list_struct_at(&xs, 0, &x);
        capos_ToolResult_set_callId(&x, m->call_id, strlen(m->call_id));
        if (m->outcome == CAPOS_TOOL_RESULT_OUTCOME_WHICH_OUTPUT)
            capos_ToolResult_outcome_set_output(&x, "12:00", 5);
        else
            capos_ToolResult_outcome_set_denied(&x, "no", 2);
    }
}

/* startTurn(msgs, two tools when with_tools, bound); the CQE result and
 * the turn in *turn. */
static int start(const struct msg *msgs, unsigned n, bool with_tools,
                 uint32_t bound, capos_cap_t *turn)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_list_builder l;
    size_t len;
    capnp_builder_init(&b, pbuf, PBUF_BYTES);
    capos_LanguageModel_startTurn_Params_init_root(&b, &p);
    capos_LanguageModel_startTurn_Params_init_messages(&p, n, &l);
    for (unsigned i = 0; i < n; i++)
        add_msg(&l, i, &msgs[i]);
    if (with_tools) {
        capos_LanguageModel_startTurn_Params_init_tools(&p, 2, &l);
        add_tool(&l, 0, "timer.now", CAPOS_PERMISSION_MODE_AUTO, true, NULL,
                 false);
        add_tool(&l, 1, "launcher.spawn", CAPOS_PERMISSION_MODE_CONSENT,
                 false, "binary", true);
    }
    capos_LanguageModel_startTurn_Params_set_maxOutputTokens(&p, bound);
    if (capnp_finish(&b, &len) < 0)
        return -1;
    CapCqe c;
    int r = capos_rt_invoke(model, CAPOS_LANGUAGE_MODEL_START_TURN_METHOD_ID,
                            pbuf, (uint32_t)len, res, RES_BYTES, &c);
    if (r >= 0 && !capos_rt_keep_first_cap(&c, res,
                                           CAPOS_MODEL_TURN_INTERFACE_ID, turn))
        return -2;
    return r;
}

/* Append printf-style text to log (LOG_MAX bytes). */
static void logp(char *log, const char *fmt, ...)
{
    va_list ap;
    size_t at = strlen(log);
    va_start(ap, fmt);
    vsnprintf(log + at, LOG_MAX - at, fmt, ap);
    va_end(ap);
}

/* One ModelTurn.next on turn, appended to log; false after done. */
static bool next(capos_cap_t turn, char *log)
{
    capnp_message m;
    capnp_struct root, ev, tc, arg;
    capnp_list args;
    const char *s, *t;
    size_t len, tlen;
    int r = capos_rt_invoke(turn, CAPOS_MODEL_TURN_NEXT_METHOD_ID, NULL, 0,
                            res, RES_BYTES, NULL);
    if (r < 0 || capnp_msg_init(&m, res, (size_t)r, NULL) < 0 ||
        capnp_msg_root(&m, &root) < 0 ||
        capos_ModelTurn_next_Results_get_event(&root, &ev) < 0) {
        logp(log, "error|");
        return false;
    }
    switch (capos_TurnEvent_which(&ev)) {
    case CAPOS_TURN_EVENT_WHICH_TEXT:
        capos_TurnEvent_get_text(&ev, &s, &len);
        logp(log, "text:%.*s|", (int)len, s);
        return true;
    case CAPOS_TURN_EVENT_WHICH_TOOL_CALL:
        capos_TurnEvent_get_toolCall(&ev, &tc);
        capos_ToolCall_get_id(&tc, &s, &len);
        capos_ToolCall_get_tool(&tc, &t, &tlen);
        logp(log, "call:%.*s %.*s", (int)len, s, (int)tlen, t);
        capos_ToolCall_get_arguments(&tc, &args);
        for (uint32_t i = 0; i < capnp_list_len(&args); i++) {
            capnp_list_get_struct(&args, i, &arg);
            capos_ToolArgument_get_name(&arg, &s, &len);
            capos_ToolArgument_value_get_text(&arg, &t, &tlen);
            logp(log, " %.*s=%.*s", (int)len, s, (int)tlen, t);
        }
        logp(log, "|");
        return true;
    default:
        logp(log, "done:%u|", capos_TurnEvent_get_done(&ev));
        return false;
    }
}

/* Every event of turn, then one more next (done again). */
static void drain(capos_cap_t turn, char *log)
{
    for (unsigned i = 0; i < 16 && next(turn, log); i++)
        ;
    next(turn, log);
    capos_rt_release(turn);
}

static void info(void)
{
    capnp_message m;
    capnp_struct root, in;
    const char *s;
    size_t len;
    if (capos_rt_invoke(model, CAPOS_LANGUAGE_MODEL_INFO_METHOD_ID, NULL, 0,
                        res, RES_BYTES, NULL) < 0)
        return;
    capnp_msg_init(&m, res, RES_BYTES, NULL);
    capnp_msg_root(&m, &root);
    capos_LanguageModel_info_Results_get_info(&root, &in);
    capos_ModelInfo_get_name(&in, &s, &len);
    snprintf(seen.name, sizeof seen.name, "%.*s", (int)len, s);
    capos_ModelInfo_get_provider(&in, &s, &len);
    snprintf(seen.provider, sizeof seen.provider, "%.*s", (int)len, s);
    seen.deterministic = capos_ModelInfo_get_deterministic(&in);
}

static void mismatch(void)
{
    struct msg m = {CAPOS_MESSAGE_ROLE_USER, "sing a song", NULL, 0};
    capos_cap_t turn;
    capnp_message msg;
    capnp_struct root;
    const char *s;
    size_t len;
    seen.mismatch_r = start(&m, 1, false, 0, &turn);
    if (capnp_msg_init(&msg, res, RES_BYTES, NULL) < 0 ||
        capnp_msg_root(&msg, &root) < 0)
        return;
    seen.mismatch_type = capos_CapException_get_type(&root);
    if (capos_CapException_get_message(&root, &s, &len) == 0)
        snprintf(seen.mismatch_msg, sizeof seen.mismatch_msg, "%.*s",
                 (int)len, s);
}

static int client_main(capos_capset_t *caps)
{
    enum { U = CAPOS_MESSAGE_ROLE_USER, A = CAPOS_MESSAGE_ROLE_ASSISTANT,
           T = CAPOS_MESSAGE_ROLE_TOOL };
    static const struct msg tools[] = {{U, "which tools do you have?", 0, 0}};
    static const struct msg ask[] = {{U, "what time is it?", 0, 0}};
    static const struct msg answered[] = {
        {U, "what time is it?", 0, 0}, {A, NULL, "call-1", 0},
        {T, NULL, "call-1", CAPOS_TOOL_RESULT_OUTCOME_WHICH_OUTPUT}};
    static const struct msg refused[] = {
        {U, "what time is it?", 0, 0}, {A, NULL, "call-1", 0},
        {T, NULL, "call-1", CAPOS_TOOL_RESULT_OUTCOME_WHICH_DENIED}};
    static const struct msg spawn[] = {
        {U, "hello", 0, 0}, {A, "hi", NULL, 0},
        {U, "start the counter client", 0, 0}};
    static const struct msg count[] = {{U, "count to ten", 0, 0}};
    static const struct msg story[] = {{U, "tell me a story", 0, 0}};
    capos_cap_t turn;
    if (capos_capset_find(caps, "model", CAPOS_LANGUAGE_MODEL_INTERFACE_ID,
                          &model))
        return 1;
    res = capos_alloc(RES_BYTES);
    pbuf = capos_alloc(PBUF_BYTES);
    if (!res || !pbuf)
        return 2;
    info();
    if (start(tools, 1, true, 0, &turn) >= 0)
        drain(turn, seen.tools);
    if (start(ask, 1, true, 0, &turn) >= 0)
        drain(turn, seen.ask);
    if (start(answered, 3, true, 0, &turn) >= 0)
        drain(turn, seen.answered);
    if (start(refused, 3, true, 0, &turn) >= 0)
        drain(turn, seen.refused);
    if (start(spawn, 3, true, 0, &turn) >= 0)
        drain(turn, seen.spawn);
    if (start(count, 1, false, 5, &turn) >= 0)
        drain(turn, seen.bounded);
    if (start(story, 1, false, 0, &turn) >= 0) {
        next(turn, seen.cancelled);
        next(turn, seen.cancelled);
        capos_rt_invoke(turn, CAPOS_MODEL_TURN_CANCEL_METHOD_ID, NULL, 0, res,
                        RES_BYTES, NULL);
        drain(turn, seen.cancelled);
    }
    mismatch();
    return 0;
}

static void answers_from_its_script_bounded_and_cancellable(void **state)
{
    (void)state;
    memset(&seen, 0, sizeof seen);
    struct k_process *srv = h_proc("model-test", 0), *cli = h_proc("shell", 0);
    uint32_t ep, con, facet;
    assert_int_equal(ep_create(srv, &ep), 0);
    assert_int_equal(k_capset_add(srv, "serve", ep), 0);
    assert_int_equal(console_grant(srv, &con), 0);
    assert_int_equal(k_capset_add(srv, "console", con), 0);
    assert_int_equal(ep_mint_client(srv, ep, cli, 7, &facet), 0);
    assert_int_equal(k_capset_add_as(cli, "model", facet,
                                     CAPOS_LANGUAGE_MODEL_INTERFACE_ID),
                     0);
    assert_int_equal(
        k_thread_create(srv, h_start,
                        (void *)capos_service_model_test_main, NULL),
        0);
    assert_int_equal(k_thread_create(cli, h_start, (void *)client_main, NULL),
                     0);
    assert_int_equal(k_run(), 1); /* the model serves on */
    assert_int_equal(cli->exit_code, 0);

    assert_string_equal(seen.name, "model-test");
    assert_string_equal(seen.provider, "capos-test");
    assert_true(seen.deterministic);
    /* What the model was offered, echoed; done(endTurn) answered twice. */
    assert_string_equal(seen.tools,
                        "text:I was offered:\n|"
                        "text:tool timer.now() auto read-only\n|"
                        "text:tool launcher.spawn(binary:text, n?:integer) "
                        "consent mutating\n|done:0|done:0|");
    assert_string_equal(seen.ask, "text:Let me look at the clock.\n|"
                                  "call:call-1 timer.now|done:1|done:1|");
    /* The answer follows the last tool outcome. */
    assert_string_equal(seen.answered, "text:The clock answered.\n|done:0|"
                                       "done:0|");
    assert_string_equal(seen.refused,
                        "text:I could not read the clock.\n|done:0|done:0|");
    /* An earlier exchange does not count as a round of this prompt. */
    assert_string_equal(seen.spawn,
                        "call:call-1 launcher.spawn name=counter-client "
                        "binaryName=counter-client|done:1|done:1|");
    /* Five tokens: five words, then done(maxTokens). */
    assert_string_equal(seen.bounded,
                        "text:one two three |text:four five|done:2|done:2|");
    assert_string_equal(seen.cancelled,
                        "text:Once |text:upon |done:3|done:3|");
    assert_int_equal(seen.mismatch_r, CAP_ERR_APPLICATION_EXCEPTION);
    assert_int_equal(seen.mismatch_type, CAPOS_EXCEPTION_TYPE_FAILED);
    assert_string_equal(seen.mismatch_msg,
                        "model-test: no script rule matches the conversation "
                        "(last user message \"sing a song\", round 0)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            answers_from_its_script_bounded_and_cancellable, h_setup,
            h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
