/*
 * termconsole.c - the Console facet of a TerminalSession
 * (TerminalSession.console, docs/abi.md §12.1): a kernel Console (the
 * schema's Console interface id, so shell-launcher takes it as a child's
 * "console" grant, docs/abi.md §13.5) whose write and writeLine go to
 * its session's terminal device, with the terminal's line end "\r\n".
 *
 * Copyable. A facet holds no reference on its session, so a child's
 * console never keeps a user's session (or connection) alive: the
 * session lists its facets and detaches them when it is closed or goes
 * (termcon_detach_all), and a detached facet, or one whose device has
 * ended (a network peer gone), answers a disconnected CapException.
 * Params are checked as for the host Console (console_params).
 */
#include "kmodel.h"

struct termcon {
    struct k_object obj;
    struct term *term;     /* NULL once detached */
    struct termcon **head; /* the session's list, while attached */
    struct termcon *next, *prev;
};

static int termcon_call(struct k_object *obj, struct k_call *c)
{
    struct termcon *f = (struct termcon *)obj;
    const uint8_t *bytes;
    size_t len;
    int r = console_params(c, &bytes, &len);
    if (r != 0)
        return r;
    bool line = c->method_id == CAPOS_CONSOLE_WRITE_LINE_METHOD_ID;
    if (!f->term || !term_output(f->term, bytes, len, line))
        return k_call_exception(c, K_EXC_DISCONNECTED,
                                "Console: its terminal session has ended");
    return 0;
}

static void termcon_unlink(struct termcon *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        *f->head = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->term = NULL;
    f->head = NULL;
    f->next = f->prev = NULL;
}

static void termcon_destroy(struct k_object *obj)
{
    struct termcon *f = (struct termcon *)obj;
    if (f->term)
        termcon_unlink(f);
    port_free(f);
}

static const struct k_object_ops termcon_ops = {
    .name = "Console (terminal)",
    .interface_id = K_IFACE_CONSOLE,
    .call = termcon_call,
    .destroy = termcon_destroy,
};

/*
 * A new facet writing to session t, put on t's list *head. Returns 0 and
 * *out (its creation reference), or CAP_ERR_INVOKE_FAILED out of memory.
 */
int termcon_new(struct term *t, struct termcon **head, struct k_object **out)
{
    struct termcon *f = port_alloc(sizeof *f);
    if (!f)
        return CAP_ERR_INVOKE_FAILED;
    f->term = t;
    f->head = head;
    f->next = *head;
    if (*head)
        (*head)->prev = f;
    *head = f;
    k_obj_init(&f->obj, &termcon_ops, 0);
    *out = &f->obj;
    return 0;
}

/* Detach every facet of list *head (its session is closed or going):
 * they answer disconnected from now on. */
void termcon_detach_all(struct termcon **head)
{
    while (*head)
        termcon_unlink(*head);
}
