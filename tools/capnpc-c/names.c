/*
 * names.c - give every schema node its C name (the scheme is documented at
 * the top of capnpc-c.c and in docs/codegen.md).
 *
 * Names come from the nesting tree, not from displayName: a file's prefix,
 * then each nested declaration's name, a group's field name, or for the
 * implicit parameter and result structs of a method
 * "<Interface>_<method>_Params" / "_Results".
 */
#include "cgen.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static uint32_t next_order;

/* "dir/codegen-test.capnp" -> "codegen_test": the base name without
 * ".capnp", characters other than [A-Za-z0-9_] turned into '_', and '_'
 * in front of a leading digit. */
static char *file_prefix(const char *path)
{
    const char *base = strrchr(path, '/');
    size_t n;
    char *p, *q;

    base = base != NULL ? base + 1 : path;
    n = strlen(base);
    if (n > 6 && strcmp(base + n - 6, ".capnp") == 0)
        n -= 6;
    p = cg_alloc(n + 2);
    q = p;
    if (n == 0 || isdigit((unsigned char)base[0]))
        *q++ = '_';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)base[i];
        *q++ = (char)(isalnum(c) || c == '_' ? c : '_');
    }
    *q = '\0';
    return p;
}

/* "codegen_test_Store_openSink" -> "CODEGEN_TEST_STORE_OPEN_SINK": '_'
 * before an upper-case letter that follows a lower-case letter or digit,
 * then everything upper-cased. */
static char *upper_snake(const char *s)
{
    size_t n = strlen(s);
    char *out = cg_alloc(2 * n + 1);
    char *q = out;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i > 0 && isupper(c) &&
            (islower((unsigned char)s[i - 1]) ||
             isdigit((unsigned char)s[i - 1])))
            *q++ = '_';
        *q++ = (char)toupper(c);
    }
    *q = '\0';
    return out;
}

char *cg_upper_snake(const char *s)
{
    return upper_snake(s);
}

static void assign(struct cg_request *req, struct cg_node *n, char *c_name,
                   char *schema_name, uint64_t file_id)
{
    if (n->c_name != NULL)
        return; /* first name wins (a node reached twice) */
    n->c_name = c_name;
    n->macro = upper_snake(c_name);
    n->schema_name = schema_name;
    n->file_id = file_id;
    n->order = next_order++;

    for (uint32_t i = 0; i < n->nnested; i++) {
        struct cg_node *child = cg_find(req, n->nested[i].id);
        if (child == NULL)
            continue; /* e.g. an imported file the request omits */
        assign(req, child, cg_printf("%s_%s", c_name, n->nested[i].name),
               n->kind == CG_FILE
                   ? cg_strdup(n->nested[i].name)
                   : cg_printf("%s.%s", schema_name, n->nested[i].name),
               file_id);
    }
    if (n->kind == CG_STRUCT) {
        for (uint32_t i = 0; i < n->nfields; i++) {
            const struct cg_field *f = &n->fields[i];
            struct cg_node *g;
            if (!f->is_group || (g = cg_find(req, f->group_id)) == NULL)
                continue;
            assign(req, g, cg_printf("%s_%s", c_name, f->name),
                   cg_printf("%s.%s", schema_name, f->name), file_id);
        }
    }
}

/* Implicit $Params / $Results structs of the methods of interface n. */
static void assign_method_structs(struct cg_request *req, struct cg_node *n)
{
    for (uint32_t i = 0; i < n->nmethods; i++) {
        const struct cg_method *m = &n->methods[i];
        struct cg_node *p = cg_find(req, m->params_id);
        struct cg_node *r = cg_find(req, m->results_id);

        if (p != NULL && p->c_name == NULL)
            assign(req, p, cg_printf("%s_%s_Params", n->c_name, m->name),
                   cg_printf("%s.%s$Params", n->schema_name, m->name),
                   n->file_id);
        if (r != NULL && r->c_name == NULL)
            assign(req, r, cg_printf("%s_%s_Results", n->c_name, m->name),
                   cg_printf("%s.%s$Results", n->schema_name, m->name),
                   n->file_id);
    }
}

int cg_assign_names(struct cg_request *req)
{
    uint32_t i;

    /* Pass 1: declared names (so an explicit params struct declared after
     * its interface keeps its own name). */
    for (i = 0; i < req->nnodes; i++) {
        struct cg_node *n = &req->nodes[i];
        if (n->kind == CG_FILE)
            assign(req, n, file_prefix(n->display_name), cg_strdup(""), n->id);
    }
    /* Pass 2: implicit method structs, in node order. Interfaces named in
     * this pass cannot appear (params structs hold no declarations). */
    for (i = 0; i < req->nnodes; i++) {
        struct cg_node *n = &req->nodes[i];
        if (n->kind == CG_INTERFACE && n->c_name != NULL)
            assign_method_structs(req, n);
    }
    for (i = 0; i < req->nfiles; i++) {
        struct cg_node *f = cg_find(req, req->files[i].id);
        if (f == NULL || f->kind != CG_FILE) {
            fprintf(stderr,
                    "capnpc-c: requested file %s has no file node in "
                    "the request\n",
                    req->files[i].filename);
            return -1;
        }
    }
    return 0;
}
