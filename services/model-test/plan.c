/*
 * plan.c - model-test's script: which rule answers a conversation, and
 * the turn's events under the output-token bound (model_test.h).
 *
 * Trust: the startTurn params come from the runner and are untrusted
 * (lists bounded, texts copied only with their lengths); the script is
 * the image's own, compiled by the build.
 */
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "capos/escape.h"
#include "capos_rt.h"
#include "model_test.capnp.h"
#include "model_test.h"

/* The script, compiled by `make` from fixtures/model-test-script.capnp. */
static const _Alignas(8) uint8_t plan_script_bin[] = {
#include "model-test-script.inc"
};

/* ToolResult outcome union members by ordinal, as rules spell them. */
static const char *const plan_outcomes[] = {"output", "failed", "denied",
                                            "cancelled", "timedOut"};
static const char *const plan_modes[] = {"auto", "consent", "stepUp",
                                         "forbidden"};
static const char *const plan_types[] = {"text", "integer", "boolean",
                                         "data"};

/* What a rule may look at: the conversation in brief. */
struct plan_convo {
    const char *user; /* last user message, NULL: none */
    size_t user_len;
    uint32_t round;   /* tool messages after it */
    int outcome;      /* last tool result's outcome ordinal, -1: none */
    uint32_t calls;   /* tool calls the assistant made so far */
};

int plan_script_root(capnp_message *m, capnp_struct *script)
{
    int r = capnp_msg_init(m, plan_script_bin, sizeof plan_script_bin, NULL);
    return r < 0 ? r : capnp_msg_root(m, script);
}

/* Fold message msg into c. */
static void plan_note_message(struct plan_convo *c, const capnp_struct *msg)
{
    capnp_list l;
    switch (capos_ModelMessage_get_role(msg)) {
    case CAPOS_MESSAGE_ROLE_USER:
        if (capos_ModelMessage_get_text(msg, &c->user, &c->user_len) < 0)
            c->user = NULL;
        else if (!c->user)
            c->user = "";
        c->round = 0;
        c->outcome = -1;
        break;
    case CAPOS_MESSAGE_ROLE_TOOL:
        c->round++;
        if (capos_ModelMessage_get_toolResults(msg, &l) == 0 &&
            capnp_list_len(&l) > 0) {
            capnp_struct res;
            if (capnp_list_get_struct(&l, capnp_list_len(&l) - 1, &res) == 0)
                c->outcome = capos_ToolResult_outcome_which(&res);
        }
        break;
    case CAPOS_MESSAGE_ROLE_ASSISTANT:
        if (capos_ModelMessage_get_toolCalls(msg, &l) == 0)
            c->calls += capnp_list_len(&l);
        break;
    default:
        break;
    }
}

static bool plan_text_is(const capnp_struct *rule,
                         int (*get)(const capnp_struct *, const char **,
                                    size_t *),
                         const char *s, size_t len, bool any_if_empty)
{
    const char *want;
    size_t wlen;
    if (get(rule, &want, &wlen) < 0)
        return false;
    if (wlen == 0 && any_if_empty)
        return true;
    return s && wlen == len && memcmp(want, s, len) == 0;
}

static bool plan_rule_matches(const capnp_struct *rule,
                              const struct plan_convo *c)
{
    if (!plan_text_is(rule, model_test_Rule_get_user, c->user, c->user_len,
                      true))
        return false;
    if (!model_test_Rule_get_anyRound(rule) &&
        model_test_Rule_get_round(rule) != c->round)
        return false;
    const char *o = NULL;
    if (c->outcome >= 0 &&
        (unsigned)c->outcome < sizeof plan_outcomes / sizeof *plan_outcomes)
        o = plan_outcomes[c->outcome];
    return plan_text_is(rule, model_test_Rule_get_outcome, o,
                        o ? strlen(o) : 0, true);
}

static bool plan_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n';
}

/* Output tokens of a text chunk: its words. */
static uint32_t plan_words(const char *s, size_t len)
{
    uint32_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!plan_blank(s[i]) && (i == 0 || plan_blank(s[i - 1])))
            n++;
    return n;
}

/* Length of s cut just after its k-th word. */
static size_t plan_cut(const char *s, size_t len, uint32_t k)
{
    uint32_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!plan_blank(s[i]) && (i + 1 == len || plan_blank(s[i + 1])) &&
            ++n == k)
            return i + 1;
    return len;
}

/* Append s[0..len) to buf (cap bytes) at *at, cutting what does not fit. */
static void plan_put(char *buf, size_t cap, size_t *at, const char *s,
                     size_t len)
{
    if (*at + len > cap)
        len = cap - *at;
    memcpy(buf + *at, s, len);
    *at += len;
}

static void plan_put_text(char *buf, size_t cap, size_t *at,
                          int r, const char *s, size_t len)
{
    if (r == 0 && s)
        plan_put(buf, cap, at, s, len > 64 ? 64 : len);
}

static const char *plan_name(const char *const *names, size_t n, unsigned v)
{
    return v < n ? names[v] : "?";
}

/* "tool NAME(P:TYPE, Q?:TYPE) MODE read-only|mutating\n" for descriptor
 * d into buf (cap bytes); returns its length. Names longer than 64 bytes
 * are cut. */
static size_t plan_echo_line(const capnp_struct *d, char *buf, size_t cap)
{
    size_t at = 0, len;
    const char *s;
    capnp_list ps;
    plan_put(buf, cap, &at, "tool ", 5);
    int r = capos_ToolDescriptor_get_name(d, &s, &len);
    plan_put_text(buf, cap, &at, r, s, len);
    plan_put(buf, cap, &at, "(", 1);
    if (capos_ToolDescriptor_get_parameters(d, &ps) == 0)
        for (uint32_t i = 0; i < capnp_list_len(&ps) && i < 16; i++) {
            capnp_struct p;
            if (capnp_list_get_struct(&ps, i, &p) < 0)
                break;
            if (i)
                plan_put(buf, cap, &at, ", ", 2);
            r = capos_ToolParameter_get_name(&p, &s, &len);
            plan_put_text(buf, cap, &at, r, s, len);
            if (!capos_ToolParameter_get_required(&p))
                plan_put(buf, cap, &at, "?", 1);
            s = plan_name(plan_types, 4, capos_ToolParameter_get_type(&p));
            plan_put(buf, cap, &at, ":", 1);
            plan_put(buf, cap, &at, s, strlen(s));
        }
    s = plan_name(plan_modes, 4, capos_ToolDescriptor_get_mode(d));
    plan_put(buf, cap, &at, ") ", 2);
    plan_put(buf, cap, &at, s, strlen(s));
    s = capos_ToolDescriptor_get_readOnly(d) ? " read-only\n" : " mutating\n";
    plan_put(buf, cap, &at, s, strlen(s));
    return at;
}

/* Add a text event to t if the budget allows (*left tokens; cut to fit).
 * Returns false when the bound was reached. */
static bool plan_add_text(struct mt_turn *t, const char *s, size_t len,
                          char *owned, uint32_t *left)
{
    uint32_t w = plan_words(s, len);
    bool fits = w <= *left;
    if (!fits)
        len = plan_cut(s, len, *left);
    *left -= fits ? w : *left;
    if (len > 0 && t->n < MT_EVENTS_MAX) {
        struct mt_event *e = &t->ev[t->n++];
        e->kind = MT_TEXT;
        e->text = s;
        e->len = len;
        e->owned = owned;
    } else if (owned) {
        capos_free(owned);
    }
    return fits;
}

/* One echo line per descriptor of tools. Returns false at the bound. */
static bool plan_echo(struct mt_turn *t, const capnp_list *tools,
                      uint32_t *left)
{
    for (uint32_t i = 0; i < capnp_list_len(tools); i++) {
        capnp_struct d;
        char line[512];
        if (capnp_list_get_struct(tools, i, &d) < 0)
            continue;
        size_t len = plan_echo_line(&d, line, sizeof line);
        char *own = capos_alloc(len);
        if (!own)
            continue;
        memcpy(own, line, len);
        if (!plan_add_text(t, own, len, own, left))
            return false;
    }
    return true;
}

/* "roles: user assistant ...\n" of msgs as an owned text event. Returns
 * false at the bound. */
static bool plan_roles(struct mt_turn *t, const capnp_list *msgs,
                       uint32_t *left)
{
    static const char *const roles[] = {"system", "user", "assistant",
                                        "tool"};
    char line[2048];
    size_t at = 0;
    plan_put(line, sizeof line - 1, &at, "roles:", 6);
    for (uint32_t i = 0; i < capnp_list_len(msgs); i++) {
        capnp_struct m;
        if (capnp_list_get_struct(msgs, i, &m) < 0)
            continue;
        const char *r = plan_name(roles, 4, capos_ModelMessage_get_role(&m));
        plan_put(line, sizeof line - 1, &at, " ", 1);
        plan_put(line, sizeof line - 1, &at, r, strlen(r));
    }
    line[at++] = '\n';
    char *own = capos_alloc(at);
    if (!own)
        return true;
    memcpy(own, line, at);
    return plan_add_text(t, own, at, own, left);
}

/* Turn the steps of rule into t's events; calls are numbered from
 * calls + 1. The bound of `left` tokens ends it with maxTokens. */
static void plan_steps(struct mt_turn *t, const capnp_struct *rule,
                       const capnp_list *msgs, const capnp_list *tools,
                       uint32_t calls, uint32_t left)
{
    capnp_list steps;
    t->stop = model_test_Rule_get_stop(rule);
    if (model_test_Rule_get_steps(rule, &steps) < 0)
        return;
    for (uint32_t i = 0; i < capnp_list_len(&steps); i++) {
        capnp_struct st;
        const char *s;
        size_t len;
        bool fits = true;
        if (capnp_list_get_struct(&steps, i, &st) < 0)
            continue;
        switch (model_test_Step_which(&st)) {
        case MODEL_TEST_STEP_WHICH_TEXT:
            if (model_test_Step_get_text(&st, &s, &len) == 0 && s)
                fits = plan_add_text(t, s, len, NULL, &left);
            break;
        case MODEL_TEST_STEP_WHICH_TOOL_CALL:
            fits = left > 0 && t->n < MT_EVENTS_MAX;
            if (fits) {
                struct mt_event *e = &t->ev[t->n++];
                left--;
                e->kind = MT_CALL;
                model_test_Step_get_toolCall(&st, &e->call);
                if (capos_ToolCall_get_id(&e->call, &s, &len) == 0 && s &&
                    len > 0 && len < MT_ID_MAX) {
                    memcpy(e->id, s, len);
                    e->id[len] = 0;
                } else {
                    snprintf(e->id, sizeof e->id, "call-%u", ++calls);
                }
            }
            break;
        case MODEL_TEST_STEP_WHICH_ECHO_TOOLS:
            fits = plan_echo(t, tools, &left);
            break;
        case MODEL_TEST_STEP_WHICH_ECHO_ROLES:
            fits = plan_roles(t, msgs, &left);
            break;
        }
        if (!fits) {
            t->stop = CAPOS_STOP_REASON_MAX_TOKENS;
            return;
        }
    }
}

int plan_turn(const capnp_struct *script, const capnp_struct *params,
                 struct mt_turn *t, char *why, size_t why_len)
{
    capnp_list msgs, tools, rules;
    struct plan_convo c = {.outcome = -1};
    if (capos_LanguageModel_startTurn_Params_get_messages(params, &msgs) < 0 ||
        capos_LanguageModel_startTurn_Params_get_tools(params, &tools) < 0 ||
        capnp_list_len(&msgs) > MT_MESSAGES_MAX ||
        capnp_list_len(&tools) > MT_TOOLS_MAX) {
        snprintf(why, why_len,
                 "startTurn takes at most %u messages and %u tools",
                 MT_MESSAGES_MAX, MT_TOOLS_MAX);
        return -1;
    }
    for (uint32_t i = 0; i < capnp_list_len(&msgs); i++) {
        capnp_struct m;
        if (capnp_list_get_struct(&msgs, i, &m) == 0)
            plan_note_message(&c, &m);
    }
    if (model_test_Script_get_rules(script, &rules) == 0)
        for (uint32_t i = 0; i < capnp_list_len(&rules); i++) {
            capnp_struct rule;
            if (capnp_list_get_struct(&rules, i, &rule) < 0 ||
                !plan_rule_matches(&rule, &c))
                continue;
            uint32_t bound =
                capos_LanguageModel_startTurn_Params_get_maxOutputTokens(
                    params);
            memset(t->ev, 0, sizeof t->ev);
            t->n = t->pos = 0;
            plan_steps(t, &rule, &msgs, &tools, c.calls,
                       bound ? bound : MT_DEFAULT_TOKENS);
            return 0;
        }
    char q[80];
    capos_escape_text(q, sizeof q, c.user ? c.user : "", c.user ? c.user_len : 0);
    snprintf(why, why_len,
             "no script rule matches the conversation (last user message "
             "\"%s\", round %u)",
             q, c.round);
    return -2;
}

void plan_turn_free(struct mt_turn *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        if (t->ev[i].owned)
            capos_free(t->ev[i].owned);
    t->n = t->pos = 0;
    t->used = false;
}
