/*
 * tools.c - capos-shell's agent tools: the table built from the caps of
 * the session bundle and their schema metadata (the generated method
 * tables, docs/codegen.md), and the gate every tool call of the model
 * goes through before anything runs (docs/agent.md).
 *
 * Trust: the model is untrusted. A tool call names a tool and gives
 * structured arguments; nothing of it is parsed as a command. Only tools
 * of this table run (each a method of a cap the shell holds), only with
 * the mode the bundle's map gives them, and only after every argument
 * has been checked against the method's parameter kinds.
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "capos/escape.h"
#include "schemas.h"

/* The map's mode for tool name; forbidden when absent (fail closed). */
static uint16_t tools_mode(const struct shell *sh, const char *name)
{
    for (unsigned i = 0; i < sh->nperms; i++)
        if (strcmp(sh->perms[i].tool, name) == 0)
            return sh->perms[i].mode;
    return CAPOS_PERMISSION_MODE_FORBIDDEN;
}

bool tools_param_kind_ok(uint8_t kind)
{
    return (kind >= CAPNPC_C_TYPE_BOOL && kind <= CAPNPC_C_TYPE_UINT64) ||
           kind == CAPNPC_C_TYPE_TEXT || kind == CAPNPC_C_TYPE_DATA;
}

unsigned tools_table(struct shell *sh, struct agent_tool *out, unsigned max)
{
    unsigned n = 0;
    for (unsigned i = 0; i < sh->nbundle; i++) {
        const struct shell_bcap *bc = &sh->bundle[i];
        const capnpc_c_interface_info *ii =
            capos_schema_interface_info(bc->iface);
        if ((int)i == sh->model_idx || !ii || !ii->methods)
            continue;
        for (uint16_t m = 0; m < ii->method_count && n < max; m++) {
            struct agent_tool *t = &out[n];
            int w = snprintf(t->name, sizeof t->name, "%s.%s", bc->name,
                             ii->methods[m].name);
            if (w < 0 || (size_t)w >= sizeof t->name)
                continue;
            t->mode = tools_mode(sh, t->name);
            if (t->mode > CAPOS_PERMISSION_MODE_STEP_UP)
                continue; /* forbidden: never described to the model */
            t->bcap = i;
            t->method = m;
            t->mi = &ii->methods[m];
            n++;
        }
    }
    return n;
}

static uint16_t tools_value_type(uint8_t kind)
{
    if (kind == CAPNPC_C_TYPE_BOOL)
        return CAPOS_TOOL_VALUE_TYPE_BOOLEAN;
    if (kind == CAPNPC_C_TYPE_TEXT)
        return CAPOS_TOOL_VALUE_TYPE_TEXT;
    if (kind == CAPNPC_C_TYPE_DATA)
        return CAPOS_TOOL_VALUE_TYPE_DATA;
    return CAPOS_TOOL_VALUE_TYPE_INTEGER;
}

static void tools_set_text(capnp_struct_builder *s,
                           int (*set)(capnp_struct_builder *, const char *,
                                      size_t),
                           const char *v)
{
    if (v)
        set(s, v, strlen(v));
}

void tools_describe(const struct shell *sh, const struct agent_tool *t,
                    unsigned n, capnp_list_builder *l)
{
    for (unsigned i = 0; i < n; i++) {
        capnp_struct_builder d, p;
        capnp_list_builder ps;
        const capnpc_c_method_info *mi = t[i].mi;
        if (capnp_list_struct_at(l, i, &d) != 0)
            continue;
        tools_set_text(&d, capos_ToolDescriptor_set_name, t[i].name);
        tools_set_text(&d, capos_ToolDescriptor_set_description, mi->doc);
        tools_set_text(&d, capos_ToolDescriptor_set_capName,
                       sh->bundle[t[i].bcap].name);
        capos_ToolDescriptor_set_interfaceId(&d, sh->bundle[t[i].bcap].iface);
        capos_ToolDescriptor_set_methodId(&d, t[i].method);
        capos_ToolDescriptor_set_mode(&d, t[i].mode);
        capos_ToolDescriptor_set_readOnly(
            &d, (mi->flags & CAPNPC_C_METHOD_READ_ONLY) != 0);
        unsigned np = 0;
        for (unsigned k = 0; k < mi->param_count; k++)
            np += tools_param_kind_ok(mi->params[k].type);
        if (np == 0 || capos_ToolDescriptor_init_parameters(&d, np, &ps) != 0)
            continue;
        for (unsigned k = 0, j = 0; k < mi->param_count; k++) {
            const capnpc_c_param_info *pi = &mi->params[k];
            if (!tools_param_kind_ok(pi->type) ||
                capnp_list_struct_at(&ps, j++, &p) != 0)
                continue;
            tools_set_text(&p, capos_ToolParameter_set_name, pi->name);
            tools_set_text(&p, capos_ToolParameter_set_description, pi->doc);
            capos_ToolParameter_set_type(&p, tools_value_type(pi->type));
        }
    }
}

/* Size in bytes of a data field of kind (0 for Bool, which is a bit). */
static unsigned tools_size(uint8_t kind)
{
    switch (kind) {
    case CAPNPC_C_TYPE_INT8:
    case CAPNPC_C_TYPE_UINT8:
        return 1;
    case CAPNPC_C_TYPE_INT16:
    case CAPNPC_C_TYPE_UINT16:
        return 2;
    case CAPNPC_C_TYPE_INT32:
    case CAPNPC_C_TYPE_UINT32:
        return 4;
    case CAPNPC_C_TYPE_INT64:
    case CAPNPC_C_TYPE_UINT64:
        return 8;
    default:
        return 0;
    }
}

/* Does integer v fit kind? */
static bool tools_in_range(uint8_t kind, int64_t v)
{
    static const int64_t lo[] = {-128, -32768, INT32_MIN, INT64_MIN,
                                 0,    0,      0,         0};
    static const int64_t hi[] = {127, 32767, INT32_MAX, INT64_MAX,
                                 255, 65535, UINT32_MAX, INT64_MAX};
    unsigned k = kind - CAPNPC_C_TYPE_INT8;
    return k < 8 && v >= lo[k] && v <= hi[k];
}

/* The parameter of mi named name that a tool may set, or NULL. */
static const capnpc_c_param_info *tools_param(const capnpc_c_method_info *mi,
                                              const char *name)
{
    for (unsigned k = 0; k < mi->param_count; k++)
        if (tools_param_kind_ok(mi->params[k].type) &&
            strcmp(mi->params[k].name, name) == 0)
            return &mi->params[k];
    return NULL;
}

/* Check every argument of c against t's parameters. Returns true, or
 * false with the reason in why. */
static bool tools_check_args(const struct agent_tool *t,
                             const struct agent_call *c, char *why,
                             size_t cap)
{
    char q[64];
    for (unsigned i = 0; i < c->nargs; i++) {
        const struct agent_arg *a = &c->args[i];
        const capnpc_c_param_info *pi = tools_param(t->mi, a->name);
        capos_escape_str(q, sizeof q, a->name);
        if (!pi) {
            snprintf(why, cap, "%s has no parameter \"%s\"", t->name, q);
            return false;
        }
        for (unsigned j = 0; j < i; j++)
            if (strcmp(c->args[j].name, a->name) == 0) {
                snprintf(why, cap, "argument \"%s\" is given twice", q);
                return false;
            }
        uint16_t want = tools_value_type(pi->type);
        bool ok = a->kind == want;
        if (ok && want == CAPOS_TOOL_VALUE_TYPE_INTEGER)
            ok = tools_in_range(pi->type, a->integer);
        if (!ok) {
            static const char *const tn[] = {"text", "an integer",
                                             "a boolean", "data"};
            snprintf(why, cap, "argument \"%s\" must be %s%s", q, tn[want],
                     want == CAPOS_TOOL_VALUE_TYPE_INTEGER
                         ? " in the parameter's range"
                         : "");
            return false;
        }
    }
    return true;
}

/* Build t's params from c's (checked) arguments in b. Returns 0 or a
 * codec code. */
static int tools_params(struct shell *sh, const struct agent_tool *t,
                        const struct agent_call *c, capnp_builder *b)
{
    capnp_struct_builder s;
    capnp_builder_init(b, sh->pbuf, SHELL_CALL_BUF);
    int r = capnp_init_root(b, t->mi->params_data_words,
                            t->mi->params_pointers, &s);
    for (unsigned i = 0; r == 0 && i < c->nargs; i++) {
        const struct agent_arg *a = &c->args[i];
        const capnpc_c_param_info *pi = tools_param(t->mi, a->name);
        unsigned size = tools_size(pi->type);
        uint64_t v = (uint64_t)a->integer, d = pi->default_bits;
        if (pi->type == CAPNPC_C_TYPE_BOOL)
            capnp_set_bool(&s, pi->offset, a->boolean, d & 1);
        else if (pi->type == CAPNPC_C_TYPE_TEXT)
            r = capnp_set_text(&s, (uint16_t)pi->offset, a->text, a->len);
        else if (pi->type == CAPNPC_C_TYPE_DATA)
            r = capnp_set_data(&s, (uint16_t)pi->offset, a->text, a->len);
        else if (size == 1)
            capnp_set_u8(&s, pi->offset, (uint8_t)v, (uint8_t)d);
        else if (size == 2)
            capnp_set_u16(&s, pi->offset * 2, (uint16_t)v, (uint16_t)d);
        else if (size == 4)
            capnp_set_u32(&s, pi->offset * 4, (uint32_t)v, (uint32_t)d);
        else
            capnp_set_u64(&s, pi->offset * 8, v, d);
    }
    return r;
}

/* Append printf-style text to out (cap bytes) at *at, cutting. */
static void tools_put(char *out, size_t cap, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void tools_put(char *out, size_t cap, size_t *at, const char *fmt, ...)
{
    va_list ap;
    if (*at + 1 >= cap)
        return;
    va_start(ap, fmt);
    int w = vsnprintf(out + *at, cap - *at, fmt, ap);
    va_end(ap);
    if (w > 0)
        *at += (size_t)w < cap - *at ? (size_t)w : cap - *at - 1;
}

/* One result field of root as "name=value" (text escaped). */
static void tools_render_field(const capnpc_c_param_info *f,
                               const capnp_struct *root, char *out,
                               size_t cap, size_t *at)
{
    unsigned size = tools_size(f->type);
    uint64_t d = f->default_bits, v = 0;
    if (f->type == CAPNPC_C_TYPE_BOOL) {
        tools_put(out, cap, at, "%s=%s", f->name,
                  capnp_get_bool(root, f->offset, d & 1) ? "true" : "false");
        return;
    }
    if (size) {
        v = size == 1   ? capnp_get_u8(root, f->offset, (uint8_t)d)
            : size == 2 ? capnp_get_u16(root, f->offset * 2, (uint16_t)d)
            : size == 4 ? capnp_get_u32(root, f->offset * 4, (uint32_t)d)
                        : capnp_get_u64(root, f->offset * 8, d);
        bool sig = f->type <= CAPNPC_C_TYPE_INT64;
        int64_t sv = size == 1   ? (int64_t)(int8_t)v
                     : size == 2 ? (int64_t)(int16_t)v
                     : size == 4 ? (int64_t)(int32_t)v
                                 : (int64_t)v;
        if (sig)
            tools_put(out, cap, at, "%s=%lld", f->name, (long long)sv);
        else
            tools_put(out, cap, at, "%s=%llu", f->name, (unsigned long long)v);
        return;
    }
    const char *s;
    size_t n;
    if (f->type == CAPNPC_C_TYPE_TEXT &&
        capnp_get_text(root, (uint16_t)f->offset, &s, &n) == 0) {
        char q[160];
        capos_escape_text(q, sizeof q, s ? s : "", s ? n : 0);
        tools_put(out, cap, at, "%s=\"%s\"", f->name, q);
    } else if (f->type == CAPNPC_C_TYPE_DATA &&
               capnp_get_data(root, (uint16_t)f->offset,
                              (const uint8_t **)&s, &n) == 0) {
        tools_put(out, cap, at, "%s=<%zu bytes>", f->name, n);
    } else {
        tools_put(out, cap, at, "%s=<%s>", f->name,
                  f->type == CAPNPC_C_TYPE_INTERFACE ? "capability"
                  : f->type == CAPNPC_C_TYPE_LIST    ? "list"
                                                     : "struct");
    }
}

/* Invoke t with c's arguments; the outcome in c (output: the results
 * rendered; failed: why). Result caps are released. */
static void tools_invoke(struct shell *sh, const struct agent_tool *t,
                         struct agent_call *c)
{
    capnp_builder b;
    capnp_message msg;
    capnp_struct root;
    CapCqe cqe = {0};
    char ebuf[200];
    size_t at = 0;
    capos_cap_t first;
    int r = tools_params(sh, t, c, &b);
    if (r == 0)
        r = shell_call(sh, sh->bundle[t->bcap].cap, t->method, &b, NULL, 0,
                       NULL, NULL, &cqe);
    /* An empty result (0 bytes) is an empty struct: nothing to render. */
    bool empty = r == 0;
    if (r > 0 && (capnp_msg_init(&msg, sh->rbuf, (size_t)r, NULL) < 0 ||
                  capnp_msg_root(&msg, &root) < 0))
        r = CAP_ERR_INVALID_RESULT_BUFFER;
    /* Result caps are not passed to the model: release them all. */
    if (capos_rt_keep_first_cap(&cqe, sh->rbuf, 0, &first))
        capos_rt_release(first);
    if (r < 0) {
        c->outcome = CAPOS_TOOL_RESULT_OUTCOME_WHICH_FAILED;
        tools_put(c->out, sizeof c->out, &at, "%s",
                  shell_error(sh, r, ebuf, sizeof ebuf));
        c->outlen = at;
        return;
    }
    c->outcome = CAPOS_TOOL_RESULT_OUTCOME_WHICH_OUTPUT;
    for (unsigned k = 0; !empty && k < t->mi->result_count; k++) {
        if (k)
            tools_put(c->out, sizeof c->out, &at, ", ");
        tools_render_field(&t->mi->results[k], &root, c->out, sizeof c->out,
                           &at);
    }
    if (at == 0)
        tools_put(c->out, sizeof c->out, &at, "done");
    c->outlen = at;
}

/* "TOOL(name=value, ...)" of c for the user, arguments escaped. */
static void tools_show_call(const struct agent_call *c, char *out, size_t cap)
{
    size_t at = 0;
    char q[96];
    tools_put(out, cap, &at, "%s(", c->tool);
    for (unsigned i = 0; i < c->nargs; i++) {
        const struct agent_arg *a = &c->args[i];
        tools_put(out, cap, &at, "%s%s=", i ? ", " : "", a->name);
        if (a->kind == CAPOS_TOOL_ARGUMENT_VALUE_WHICH_INTEGER)
            tools_put(out, cap, &at, "%lld", (long long)a->integer);
        else if (a->kind == CAPOS_TOOL_ARGUMENT_VALUE_WHICH_BOOLEAN)
            tools_put(out, cap, &at, "%s", a->boolean ? "true" : "false");
        else if (a->kind == CAPOS_TOOL_ARGUMENT_VALUE_WHICH_DATA)
            tools_put(out, cap, &at, "<%zu bytes>", a->len);
        else
            tools_put(out, cap, &at, "\"%s\"",
                      capos_escape_text(q, sizeof q, a->text, a->len));
    }
    tools_put(out, cap, &at, ")");
}

/* Ask the user to allow c. Returns 1 (yes), 0 (no), -1 (interrupted),
 * -2 (the terminal is gone). */
static int tools_consent(struct shell *sh, const struct agent_call *c)
{
    char shown[400], ans[8];
    int err;
    tools_show_call(c, shown, sizeof shown);
    term_say(sh, "agent: the model asks to run %s", shown);
    enum term_read w = term_read_line(sh, "agent: allow? [y/N] ",
                                      CAPOS_ECHO_MODE_VISIBLE, 4, ans,
                                      sizeof ans, &err);
    if (w == TERM_INTERRUPTED)
        return -1;
    if (w == TERM_ERROR)
        return -2;
    return w == TERM_LINE && (strcmp(ans, "y") == 0 || strcmp(ans, "yes") == 0);
}

/* Set c's outcome to a gate's verdict (denied or cancelled, why) and
 * audit code for tool (its name only). */
static void tools_refuse(struct shell *sh, struct agent_call *c,
                         uint16_t outcome, const char *code, const char *why)
{
    char q[SHELL_TOOL_NAME_MAX * 4 + 1];
    size_t at = 0;
    c->outcome = outcome;
    tools_put(c->out, sizeof c->out, &at, "%s", why);
    c->outlen = at;
    capos_escape_str(q, sizeof q, c->tool);
    shell_audit(sh, "agent", code, CAPOS_AUDIT_OUTCOME_DENIED, q);
    if (outcome == CAPOS_TOOL_RESULT_OUTCOME_WHICH_DENIED)
        term_say(sh, "agent: %s refused: %s", q, why);
    else
        term_say(sh, "agent: %s cancelled", q);
}

/* Show step-up call c and ask the user's password again: as
 * tools_consent, 1 / 0 / -1 / -2. */
static int tools_step_up(struct shell *sh, const struct agent_call *c)
{
    char shown[400];
    tools_show_call(c, shown, sizeof shown);
    term_say(sh, "agent: the model asks to run %s, which needs your "
                 "password again",
             shown);
    return shell_step_up(sh);
}

/* The user's part of the gate for tool's call c: nothing for auto, a
 * y/N question for consent, the password for stepUp. Returns 1 (run it,
 * *code the audit code), 0 (refused or cancelled: c's outcome set) or
 * -2 (the terminal is gone). */
static int tools_ask(struct shell *sh, const struct agent_tool *tool,
                     struct agent_call *c, const char **code)
{
    if (tool->mode == CAPOS_PERMISSION_MODE_AUTO)
        return 1;
    bool up = tool->mode == CAPOS_PERMISSION_MODE_STEP_UP;
    int yes = up ? tools_step_up(sh, c) : tools_consent(sh, c);
    if (yes == -2)
        return -2;
    if (yes == -1)
        tools_refuse(sh, c, CAPOS_TOOL_RESULT_OUTCOME_WHICH_CANCELLED,
                     "cancelled", "");
    else if (yes == 0)
        tools_refuse(sh, c, CAPOS_TOOL_RESULT_OUTCOME_WHICH_DENIED,
                     up ? "stepup-failed" : "tool-declined",
                     up ? "step-up authentication failed"
                        : "the user declined");
    else
        *code = up ? "stepup-ok" : "tool-consented";
    return yes == 1;
}

bool tools_run_call(struct shell *sh, const struct agent_tool *t, unsigned n,
                    struct agent_call *c)
{
    const struct agent_tool *tool = NULL;
    char why[200];
    for (unsigned i = 0; i < n && !tool; i++)
        if (strcmp(t[i].name, c->tool) == 0)
            tool = &t[i];
    if (!tool) {
        tools_refuse(sh, c, CAPOS_TOOL_RESULT_OUTCOME_WHICH_DENIED,
                     "tool-forbidden", "no such tool is offered");
        return true;
    }
    if (!tools_check_args(tool, c, why, sizeof why)) {
        tools_refuse(sh, c, CAPOS_TOOL_RESULT_OUTCOME_WHICH_DENIED,
                     "tool-bad-arguments", why);
        return true;
    }
    const char *code = "tool-auto";
    int go = tools_ask(sh, tool, c, &code);
    if (go != 1)
        return go == 0;
    term_say(sh, "agent: running %s", tool->name);
    tools_invoke(sh, tool, c);
    char q[640];
    term_say(sh, "agent: %s %s: %s", tool->name,
             c->outcome == CAPOS_TOOL_RESULT_OUTCOME_WHICH_OUTPUT ? "answered"
                                                                 : "failed",
             capos_escape_text(q, sizeof q, c->out, c->outlen));
    shell_audit(sh, "agent", code,
                c->outcome == CAPOS_TOOL_RESULT_OUTCOME_WHICH_OUTPUT
                    ? CAPOS_AUDIT_OUTCOME_ALLOWED
                    : CAPOS_AUDIT_OUTCOME_ERROR,
                tool->name);
    return true;
}
