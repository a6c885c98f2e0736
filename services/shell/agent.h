/*
 * agent.h - internals of capos-shell's agent mode: the tool table built
 * from the bundle's caps and their schema metadata, and the gate that
 * runs a tool call (tools.c), used by the loop (agent.c).
 */
#ifndef CAPOS_SHELL_AGENT_H
#define CAPOS_SHELL_AGENT_H

#include "shell.h"

#define AGENT_TOOLS_MAX 32u   /* tools offered in one prompt */
#define AGENT_ARGS_MAX 8u     /* arguments of one tool call */
#define AGENT_TEXT_MAX 256u   /* a text or data argument */
#define AGENT_OUT_MAX 512u    /* a tool outcome's text */
#define AGENT_ID_MAX 32u      /* a tool call id */

/* One tool: method `method` of bundle cap `bcap`, named "CAP.METHOD". */
struct agent_tool {
    char name[SHELL_TOOL_NAME_MAX + 1];
    unsigned bcap;
    uint16_t method;
    const capnpc_c_method_info *mi;
    uint16_t mode; /* PermissionMode from the map; never forbidden here */
};

/* One argument of a tool call, as the model sent it (untrusted). */
struct agent_arg {
    char name[48];
    uint16_t kind; /* ToolArgument.value union member */
    int64_t integer;
    bool boolean;
    char text[AGENT_TEXT_MAX]; /* text or data bytes */
    size_t len;
};

/* One tool call and what became of it. */
struct agent_call {
    char id[AGENT_ID_MAX];
    char tool[SHELL_TOOL_NAME_MAX + 1];
    struct agent_arg args[AGENT_ARGS_MAX];
    unsigned nargs;
    uint16_t outcome;       /* ToolResult.outcome union member */
    char out[AGENT_OUT_MAX]; /* output, failed or denied text */
    size_t outlen;
};

/*
 * The tools of sh's bundle: each method of each bundle cap whose
 * interface the build's schemas know, named "CAP.METHOD", that the
 * permission map gives a mode other than forbidden (absent: forbidden,
 * left out). The model cap is never a tool. Returns the count.
 */
unsigned tools_table(struct shell *sh, struct agent_tool *out, unsigned max);

/* Describe tools t[0..n) as ToolDescriptors into list l (n elements). */
void tools_describe(const struct shell *sh, const struct agent_tool *t,
                    unsigned n, capnp_list_builder *l);

/* May kind (enum capnpc_c_type) be a tool parameter? */
bool tools_param_kind_ok(uint8_t kind);

/*
 * Gate and run call c against tools t[0..n): an unknown or forbidden
 * tool and bad arguments are denied, consent asks the user, step-up
 * asks the password again (shell_step_up); a tool that runs is invoked
 * on its cap and
 * its results rendered as text. Fills c->outcome and c->out; audits
 * agent=tool-*. Returns false when the terminal is gone.
 */
bool tools_run_call(struct shell *sh, const struct agent_tool *t, unsigned n,
                    struct agent_call *c);

#endif /* CAPOS_SHELL_AGENT_H */
