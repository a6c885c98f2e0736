/*
 * agent.c - capos-shell's agent mode (docs/agent.md): `agent TEXT` asks
 * the bundle's LanguageModel once; `agent` alone holds a conversation
 * (`agent> ` prompt, `exit` leaves), each prompt seeing the earlier
 * ones and their tool outcomes. The shell is the
 * trusted runner: it offers the bundle's caps as typed tools (tools.c),
 * streams the model's text to the terminal (escaped: model text is
 * untrusted and never parsed as commands), gates and runs each tool
 * call, and feeds every outcome back as a ToolResult in a new turn until
 * the model ends its turn without calls.
 *
 * Quotas: per prompt AGENT_PROMPT_ROUNDS model turns, AGENT_PROMPT_CALLS
 * tool calls; per turn AGENT_EVENTS_MAX events and AGENT_TOKENS output
 * tokens; per conversation AGENT_PROMPTS_MAX prompts, AGENT_ROUNDS_MAX
 * turns and AGENT_CALLS_MAX calls. Past one the turn is cancelled and
 * the prompt ends (audited agent=quota). Audit records name tools only: no prompt, model text or
 * tool output.
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "capos/escape.h"

#define AGENT_PROMPT_ROUNDS 6u
#define AGENT_PROMPT_CALLS 8u
#define AGENT_PROMPTS_MAX 8u
#define AGENT_ROUNDS_MAX 24u
#define AGENT_CALLS_MAX 32u
#define AGENT_EVENTS_MAX 256u
#define AGENT_TOKENS 512u
#define AGENT_LINE_MAX 160u
#define AGENT_ROUND_TEXT 1024u

/* One model turn of the prompt: its text (what is kept of it) and its
 * calls (calls[first .. first+ncalls)). */
struct agent_round {
    char text[AGENT_ROUND_TEXT];
    size_t len;
    unsigned first, ncalls;
};

/* One prompt of the user and the model turns that answered it
 * (rounds[first .. first+nrounds)). */
struct agent_prompt {
    char text[SHELL_LINE_MAX + 1];
    unsigned first, nrounds;
};

/* One conversation, in the heap. */
struct agent_convo {
    struct agent_prompt prompts[AGENT_PROMPTS_MAX];
    unsigned nprompts;
    struct agent_tool tools[AGENT_TOOLS_MAX];
    unsigned ntools;
    struct agent_round rounds[AGENT_ROUNDS_MAX];
    unsigned nrounds;
    struct agent_call calls[AGENT_CALLS_MAX];
    char bad[AGENT_CALLS_MAX][80]; /* why a call cannot even be gated */
    unsigned ncalls;
    bool over_quota;
    char line[AGENT_LINE_MAX]; /* model text not yet printed */
    size_t linelen;
};

static const char *const agent_stops[] = {"endTurn", "toolCalls", "maxTokens",
                                          "cancelled", "failed"};

/* Print the pending line of model text, escaped. */
static void agent_flush(struct shell *sh, struct agent_convo *cv)
{
    char q[AGENT_LINE_MAX * 4 + 1];
    if (cv->linelen == 0)
        return;
    term_say(sh, "%s", capos_escape_text(q, sizeof q, cv->line, cv->linelen));
    cv->linelen = 0;
}

/* Model text s[0..n): printed line by line, kept for the next turn. */
static void agent_text(struct shell *sh, struct agent_convo *cv,
                       struct agent_round *rd, const char *s, size_t n)
{
    size_t keep = n < sizeof rd->text - rd->len ? n : sizeof rd->text - rd->len;
    memcpy(rd->text + rd->len, s, keep);
    rd->len += keep;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n') {
            agent_flush(sh, cv);
            continue;
        }
        if (cv->linelen == sizeof cv->line)
            agent_flush(sh, cv);
        cv->line[cv->linelen++] = s[i];
    }
}

/* Copy Text t into out (cap bytes); false if it does not fit. */
static bool agent_copy(char *out, size_t cap, const char *t, size_t n)
{
    if (!t || n >= cap || memchr(t, 0, n))
        return false;
    memcpy(out, t, n);
    out[n] = 0;
    return true;
}

/* Decode the model's ToolCall tc into c; what makes it ungateable goes
 * to bad (empty when it is fine). */
static void agent_take_call(const capnp_struct *tc, struct agent_call *c,
                            char *bad, size_t badcap)
{
    const char *s;
    size_t n;
    capnp_list args;
    memset(c, 0, sizeof *c);
    bad[0] = 0;
    if (capos_ToolCall_get_id(tc, &s, &n) != 0 ||
        !agent_copy(c->id, sizeof c->id, s, n))
        snprintf(c->id, sizeof c->id, "?");
    if (capos_ToolCall_get_tool(tc, &s, &n) != 0 ||
        !agent_copy(c->tool, sizeof c->tool, s, n)) {
        snprintf(bad, badcap, "the tool name is missing or too long");
        return;
    }
    if (capos_ToolCall_get_arguments(tc, &args) != 0)
        return;
    if (capnp_list_len(&args) > AGENT_ARGS_MAX) {
        snprintf(bad, badcap, "more than %u arguments", AGENT_ARGS_MAX);
        return;
    }
    for (uint32_t i = 0; i < capnp_list_len(&args); i++) {
        capnp_struct a;
        struct agent_arg *x = &c->args[c->nargs++];
        if (capnp_list_get_struct(&args, i, &a) != 0 ||
            capos_ToolArgument_get_name(&a, &s, &n) != 0 ||
            !agent_copy(x->name, sizeof x->name, s, n)) {
            snprintf(bad, badcap, "argument %u has no usable name", i);
            return;
        }
        x->kind = capos_ToolArgument_value_which(&a);
        x->integer = capos_ToolArgument_value_get_integer(&a);
        x->boolean = capos_ToolArgument_value_get_boolean(&a);
        const uint8_t *d = NULL;
        int r = 0;
        n = 0;
        if (x->kind == CAPOS_TOOL_ARGUMENT_VALUE_WHICH_TEXT) {
            r = capos_ToolArgument_value_get_text(&a, &s, &n);
            d = (const uint8_t *)s;
        } else if (x->kind == CAPOS_TOOL_ARGUMENT_VALUE_WHICH_DATA)
            r = capos_ToolArgument_value_get_data(&a, &d, &n);
        if (r != 0 || n > sizeof x->text) {
            snprintf(bad, badcap, "argument %u is longer than %u bytes", i,
                     AGENT_TEXT_MAX);
            return;
        }
        if (n)
            memcpy(x->text, d, n);
        x->len = n;
    }
}

/* Call c as a ToolCall into b (the conversation sent back). */
static void agent_put_call(const struct agent_call *c, capnp_struct_builder *b)
{
    capnp_list_builder al;
    capos_ToolCall_set_id(b, c->id, strlen(c->id));
    capos_ToolCall_set_tool(b, c->tool, strlen(c->tool));
    if (c->nargs == 0 || capos_ToolCall_init_arguments(b, c->nargs, &al) != 0)
        return;
    for (unsigned i = 0; i < c->nargs; i++) {
        const struct agent_arg *x = &c->args[i];
        capnp_struct_builder a;
        if (capnp_list_struct_at(&al, i, &a) != 0)
            continue;
        capos_ToolArgument_set_name(&a, x->name, strlen(x->name));
        if (x->kind == CAPOS_TOOL_ARGUMENT_VALUE_WHICH_INTEGER)
            capos_ToolArgument_value_set_integer(&a, x->integer);
        else if (x->kind == CAPOS_TOOL_ARGUMENT_VALUE_WHICH_BOOLEAN)
            capos_ToolArgument_value_set_boolean(&a, x->boolean);
        else if (x->kind == CAPOS_TOOL_ARGUMENT_VALUE_WHICH_DATA)
            capos_ToolArgument_value_set_data(&a, x->text, x->len);
        else
            capos_ToolArgument_value_set_text(&a, x->text, x->len);
    }
}

/* Call c's outcome as a ToolResult into b. */
static void agent_put_result(const struct agent_call *c,
                             capnp_struct_builder *b)
{
    capos_ToolResult_set_callId(b, c->id, strlen(c->id));
    switch (c->outcome) {
    case CAPOS_TOOL_RESULT_OUTCOME_WHICH_OUTPUT:
        capos_ToolResult_outcome_set_output(b, c->out, c->outlen);
        break;
    case CAPOS_TOOL_RESULT_OUTCOME_WHICH_FAILED:
        capos_ToolResult_outcome_set_failed(b, c->out, c->outlen);
        break;
    case CAPOS_TOOL_RESULT_OUTCOME_WHICH_CANCELLED:
        capos_ToolResult_outcome_set_cancelled(b);
        break;
    case CAPOS_TOOL_RESULT_OUTCOME_WHICH_TIMED_OUT:
        capos_ToolResult_outcome_set_timedOut(b);
        break;
    default:
        capos_ToolResult_outcome_set_denied(b, c->out, c->outlen);
    }
}

/* Messages of the conversation: per prompt the user's text, then per
 * turn the assistant's and, when it made calls, a tool message. */
static unsigned agent_count_messages(const struct agent_convo *cv)
{
    unsigned n = cv->nprompts;
    for (unsigned r = 0; r < cv->nrounds; r++)
        n += 1 + (cv->rounds[r].ncalls > 0);
    return n;
}

/* Turn rd as messages at *at of l: the assistant's text and calls, and
 * a tool message with their outcomes if it made any. */
static void agent_put_round(const struct agent_convo *cv,
                            const struct agent_round *rd,
                            capnp_list_builder *l, unsigned *at)
{
    capnp_struct_builder m, x;
    capnp_list_builder xs;
    if (capnp_list_struct_at(l, (*at)++, &m) == 0) {
        capos_ModelMessage_set_role(&m, CAPOS_MESSAGE_ROLE_ASSISTANT);
        capos_ModelMessage_set_text(&m, rd->text, rd->len);
        if (rd->ncalls &&
            capos_ModelMessage_init_toolCalls(&m, rd->ncalls, &xs) == 0)
            for (unsigned k = 0; k < rd->ncalls; k++)
                if (capnp_list_struct_at(&xs, k, &x) == 0)
                    agent_put_call(&cv->calls[rd->first + k], &x);
    }
    if (rd->ncalls == 0 || capnp_list_struct_at(l, (*at)++, &m) != 0)
        return;
    capos_ModelMessage_set_role(&m, CAPOS_MESSAGE_ROLE_TOOL);
    if (capos_ModelMessage_init_toolResults(&m, rd->ncalls, &xs) == 0)
        for (unsigned k = 0; k < rd->ncalls; k++)
            if (capnp_list_struct_at(&xs, k, &x) == 0)
                agent_put_result(&cv->calls[rd->first + k], &x);
}

/* The conversation so far into list l (agent_count_messages elements). */
static void agent_put_messages(const struct agent_convo *cv,
                               capnp_list_builder *l)
{
    unsigned at = 0;
    for (unsigned p = 0; p < cv->nprompts; p++) {
        const struct agent_prompt *pr = &cv->prompts[p];
        capnp_struct_builder m;
        if (capnp_list_struct_at(l, at++, &m) == 0) {
            capos_ModelMessage_set_role(&m, CAPOS_MESSAGE_ROLE_USER);
            capos_ModelMessage_set_text(&m, pr->text, strlen(pr->text));
        }
        for (unsigned r = pr->first; r < pr->first + pr->nrounds; r++)
            agent_put_round(cv, &cv->rounds[r], l, &at);
    }
}

/* LanguageModel.startTurn over the conversation with the tools. Returns
 * true with *turn (the shell's to release), or false after saying why. */
static bool agent_start(struct shell *sh, struct agent_convo *cv,
                        capos_cap_t *turn)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_list_builder l;
    CapCqe cqe;
    char ebuf[200];
    capnp_builder_init(&b, sh->pbuf, SHELL_CALL_BUF);
    capos_LanguageModel_startTurn_Params_init_root(&b, &p);
    if (capos_LanguageModel_startTurn_Params_init_messages(
            &p, agent_count_messages(cv), &l) == 0)
        agent_put_messages(cv, &l);
    if (cv->ntools &&
        capos_LanguageModel_startTurn_Params_init_tools(&p, cv->ntools, &l) ==
            0)
        tools_describe(sh, cv->tools, cv->ntools, &l);
    capos_LanguageModel_startTurn_Params_set_maxOutputTokens(&p, AGENT_TOKENS);
    int r = shell_call(sh, sh->bundle[sh->model_idx].cap,
                       CAPOS_LANGUAGE_MODEL_START_TURN_METHOD_ID, &b, NULL, 0,
                       NULL, NULL, &cqe);
    if (r == CAPNP_E_NOSPACE) {
        term_say(sh, "agent: the conversation no longer fits a message; "
                     "stopped");
        return false;
    }
    if (r < 0) {
        term_say(sh, "agent: the model did not start a turn: %s",
                 shell_error(sh, r, ebuf, sizeof ebuf));
        return false;
    }
    if (!capos_rt_keep_first_cap(&cqe, sh->rbuf, CAPOS_MODEL_TURN_INTERFACE_ID,
                                 turn)) {
        term_say(sh, "agent: the model answered no ModelTurn");
        return false;
    }
    return true;
}

/* A quota was hit: say what, audit agent=quota (no detail beyond it). */
static void agent_quota(struct shell *sh, struct agent_convo *cv,
                        const char *what)
{
    cv->over_quota = true;
    term_say(sh, "agent: stopped: %s (quota)", what);
    shell_audit(sh, "agent", "quota", CAPOS_AUDIT_OUTCOME_DENIED, what);
}

/* Stream turn into round rd: print text, collect calls. Returns the
 * StopReason, or -1 when the turn broke (said). Past AGENT_EVENTS_MAX
 * events or AGENT_CALLS_MAX calls the turn is cancelled. */
static int agent_stream(struct shell *sh, struct agent_convo *cv,
                        capos_cap_t turn, struct agent_round *rd)
{
    char ebuf[200];
    for (unsigned i = 0; i < AGENT_EVENTS_MAX; i++) {
        capnp_builder b;
        capnp_struct_builder p;
        capnp_message msg;
        capnp_struct root, ev, tc;
        const char *s;
        size_t n;
        capnp_builder_init(&b, sh->pbuf, SHELL_CALL_BUF);
        capos_ModelTurn_next_Params_init_root(&b, &p);
        int r = shell_call(sh, turn, CAPOS_MODEL_TURN_NEXT_METHOD_ID, &b, NULL,
                           0, &msg, &root, NULL);
        if (r < 0 || capos_ModelTurn_next_Results_get_event(&root, &ev) != 0) {
            term_say(sh, "agent: the model's turn broke: %s",
                     r < 0 ? shell_error(sh, r, ebuf, sizeof ebuf)
                           : "no event");
            return -1;
        }
        switch (capos_TurnEvent_which(&ev)) {
        case CAPOS_TURN_EVENT_WHICH_TEXT:
            if (capos_TurnEvent_get_text(&ev, &s, &n) == 0 && s)
                agent_text(sh, cv, rd, s, n);
            break;
        case CAPOS_TURN_EVENT_WHICH_TOOL_CALL:
            const struct agent_prompt *pr = &cv->prompts[cv->nprompts - 1];
            if (cv->ncalls == AGENT_CALLS_MAX ||
                cv->ncalls - cv->rounds[pr->first].first ==
                    AGENT_PROMPT_CALLS) {
                agent_quota(sh, cv, "too many tool calls for one prompt");
                return -1;
            }
            if (capos_TurnEvent_get_toolCall(&ev, &tc) == 0) {
                agent_take_call(&tc, &cv->calls[cv->ncalls],
                                cv->bad[cv->ncalls], sizeof cv->bad[0]);
                cv->ncalls++;
                rd->ncalls++;
            }
            break;
        case CAPOS_TURN_EVENT_WHICH_DONE:
            return capos_TurnEvent_get_done(&ev);
        default:
            term_say(sh, "agent: the model sent an event this shell does "
                         "not know; turn ended");
            return -1;
        }
    }
    agent_quota(sh, cv, "the model's turn streamed too many events");
    return -1;
}

/* Cancel turn (best effort: the model may be gone). */
static void agent_cancel(struct shell *sh, capos_cap_t turn)
{
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, sh->pbuf, SHELL_CALL_BUF);
    capos_ModelTurn_cancel_Params_init_root(&b, &p);
    (void)shell_call(sh, turn, CAPOS_MODEL_TURN_CANCEL_METHOD_ID, &b, NULL, 0,
                     NULL, NULL, NULL);
}

/* One model turn of cv: start it, stream it, end it. Returns its
 * StopReason or -1 (the prompt ends). */
static int agent_turn(struct shell *sh, struct agent_convo *cv)
{
    capos_cap_t turn;
    struct agent_round *rd = &cv->rounds[cv->nrounds];
    memset(rd, 0, sizeof *rd);
    rd->first = cv->ncalls;
    if (!agent_start(sh, cv, &turn))
        return -1;
    shell_audit(sh, "agent", "turn-start", CAPOS_AUDIT_OUTCOME_INFO, "");
    int stop = agent_stream(sh, cv, turn, rd);
    agent_flush(sh, cv);
    if (stop < 0)
        agent_cancel(sh, turn);
    capos_rt_release(turn);
    cv->prompts[cv->nprompts - 1].nrounds++;
    shell_audit(sh, "agent", "turn-end", CAPOS_AUDIT_OUTCOME_INFO,
                stop >= 0 && (unsigned)stop < 5 ? agent_stops[stop]
                                                : "cancelled");
    cv->nrounds++;
    return stop;
}

/* Gate and run the calls of the last round. False: the terminal is gone. */
static bool agent_run_round(struct shell *sh, struct agent_convo *cv)
{
    const struct agent_round *rd = &cv->rounds[cv->nrounds - 1];
    for (unsigned k = rd->first; k < rd->first + rd->ncalls; k++) {
        struct agent_call *c = &cv->calls[k];
        if (cv->bad[k][0]) {
            c->outcome = CAPOS_TOOL_RESULT_OUTCOME_WHICH_DENIED;
            static const char pre[] = "malformed call: ";
            size_t n = strlen(cv->bad[k]); /* < 80: fits c->out */
            memcpy(c->out, pre, sizeof pre - 1);
            memcpy(c->out + sizeof pre - 1, cv->bad[k], n);
            c->outlen = sizeof pre - 1 + n;
            shell_audit(sh, "agent", "tool-malformed",
                        CAPOS_AUDIT_OUTCOME_DENIED, "");
            continue;
        }
        if (!tools_run_call(sh, cv->tools, cv->ntools, c))
            return false;
    }
    return true;
}

/* One prompt of conversation cv: turns until the model ends one
 * without calls, a quota, or the terminal going. */
static void agent_ask(struct shell *sh, struct agent_convo *cv,
                      const char *text)
{
    if (cv->nprompts == AGENT_PROMPTS_MAX) {
        agent_quota(sh, cv, "the conversation is full; leave with exit and "
                            "start another");
        return;
    }
    struct agent_prompt *pr = &cv->prompts[cv->nprompts++];
    snprintf(pr->text, sizeof pr->text, "%s", text);
    pr->first = cv->nrounds;
    pr->nrounds = 0;
    for (;;) {
        if (pr->nrounds == AGENT_PROMPT_ROUNDS ||
            cv->nrounds == AGENT_ROUNDS_MAX) {
            agent_quota(sh, cv, "too many model turns for one prompt");
            break;
        }
        int stop = agent_turn(sh, cv);
        if (stop < 0)
            break;
        if (stop != CAPOS_STOP_REASON_END_TURN &&
            stop != CAPOS_STOP_REASON_TOOL_CALLS)
            term_say(sh, "agent: the model stopped (%s)",
                     (unsigned)stop < 5 ? agent_stops[stop] : "unknown");
        if (cv->rounds[cv->nrounds - 1].ncalls == 0 ||
            !agent_run_round(sh, cv))
            break;
    }
}

/* `agent` alone: prompts from "agent> " until exit, end of input or the
 * terminal going; Ctrl-C at the prompt is ignored. */
static void agent_converse(struct shell *sh, struct agent_convo *cv)
{
    char *line = capos_alloc(SHELL_LINE_MAX + 1);
    if (!line)
        return;
    term_say(sh, "agent: talking to your session's model; exit leaves");
    for (;;) {
        int err;
        enum term_read w =
            term_read_line(sh, "agent> ", CAPOS_ECHO_MODE_VISIBLE,
                           SHELL_LINE_MAX, line, SHELL_LINE_MAX + 1, &err);
        if (w == TERM_INTERRUPTED)
            continue;
        if (w != TERM_LINE || strcmp(line, "exit") == 0)
            break;
        if (line[0])
            agent_ask(sh, cv, line);
    }
    capos_free(line);
}

void shell_agent(struct shell *sh, const char *text)
{
    if (sh->model_idx < 0) {
        term_say(sh, "agent: your session has no language model (the "
                     "profile names none)");
        return;
    }
    struct agent_convo *cv = capos_zalloc(sizeof *cv);
    if (!cv) {
        term_say(sh, "agent: out of memory");
        return;
    }
    cv->ntools = tools_table(sh, cv->tools, AGENT_TOOLS_MAX);
    if (*text)
        agent_ask(sh, cv, text);
    else
        agent_converse(sh, cv);
    capos_free(cv);
}
