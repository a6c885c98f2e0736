/*
 * model_test.h - internals of model-test, the deterministic
 * LanguageModel (services/model-test): a turn planned from the script
 * (plan.c) and served one event per ModelTurn.next (model_test.c).
 */
#ifndef MODEL_TEST_H
#define MODEL_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capos/capnp.h"

#define MT_EVENTS_MAX 96u   /* events of one turn, done excluded */
#define MT_TOOLS_MAX 64u    /* tool descriptors startTurn accepts */
#define MT_MESSAGES_MAX 256u /* conversation messages startTurn accepts */
#define MT_ID_MAX 24u       /* a tool call id, NUL included */
#define MT_DEFAULT_TOKENS 1024u /* the output bound when startTurn gives 0 */
#define MT_WHY_MAX 200u     /* a refusal message */

enum mt_kind { MT_TEXT, MT_CALL };

/* One event of a planned turn. Script text and calls point into the
 * script compiled into the image (never freed); echo lines are owned. */
struct mt_event {
    uint8_t kind;
    const char *text; /* MT_TEXT: the chunk */
    size_t len;
    char *owned;      /* capos_alloc'd text behind `text`, or NULL */
    capnp_struct call; /* MT_CALL: the script's ToolCall */
    char id[MT_ID_MAX]; /* MT_CALL: the id the model gives it */
};

/* One turn: its events, the next one to answer, how it ends. */
struct mt_turn {
    bool used;
    bool finished;    /* done was answered: the turn stays ended */
    uint64_t badge;   /* the ModelTurn facet's badge */
    uint64_t last_use; /* for evicting the least recently used turn */
    uint32_t n, pos;
    uint16_t stop;    /* StopReason of the done event */
    struct mt_event ev[MT_EVENTS_MAX];
};

/*
 * The script compiled into the image: its root in *script. Returns 0, or
 * a negative codec code (a build that embedded a broken script).
 */
int plan_script_root(capnp_message *m, capnp_struct *script);

/*
 * Plan turn t for startTurn params (decoded; untrusted) under script:
 * pick the first rule matching the conversation, materialise its steps
 * (echo lines allocated), cut them to the output-token bound. Returns 0;
 * or -1 with a message in why (a bad argument: too many messages or
 * tools) or -2 (no rule matches; why names the last user message,
 * escaped). On failure t holds nothing to free.
 */
int plan_turn(const capnp_struct *script, const capnp_struct *params,
                 struct mt_turn *t, char *why, size_t why_len);

/* Free what turn t owns and mark it unused. */
void plan_turn_free(struct mt_turn *t);

#endif /* MODEL_TEST_H */
