/*
 * cgen.c - the helpers every part of capnpc-c shares: the arena the
 * request and the names live in, output files written through a
 * temporary, paths, and small type predicates. Declared in cgen.h; main
 * and the plugin flow are in capnpc-c.c.
 */
#include "cgen.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The arena: chunks reachable from a global, freed at exit. */
struct chunk {
    struct chunk *next;
    size_t used, size;
    _Alignas(16) unsigned char mem[];
};

static struct chunk *arena;

/* Zeroed, 16-byte aligned memory that lives until cg_free_arena; exits
 * with a message when out of memory (a host tool has nothing better to
 * do). */
void *cg_alloc(size_t n)
{
    n = (n + 15u) & ~(size_t)15u;
    if (arena == NULL || arena->size - arena->used < n) {
        size_t size = n > 65536 ? n : 65536;
        struct chunk *c = malloc(sizeof *c + size);
        if (c == NULL) {
            fprintf(stderr, "capnpc-c: out of memory\n");
            exit(1);
        }
        c->next = arena;
        c->used = 0;
        c->size = size;
        arena = c;
    }
    void *p = arena->mem + arena->used;
    arena->used += n;
    memset(p, 0, n);
    return p;
}

char *cg_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(cg_alloc(n), s, n);
}

char *cg_printf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    p = cg_alloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* Frees every chunk cg_alloc handed out; for atexit. */
void cg_free_arena(void)
{
    while (arena != NULL) {
        struct chunk *c = arena;
        arena = c->next;
        free(c);
    }
}

FILE *cg_open_tmp(const char *path, char **tmp)
{
    FILE *f;

    *tmp = cg_printf("%s.tmp", path);
    f = fopen(*tmp, "w");
    if (f == NULL)
        fprintf(stderr, "capnpc-c: cannot write %s: %s\n", *tmp,
                strerror(errno));
    return f;
}

int cg_close_tmp(FILE *f, const char *tmp, const char *path)
{
    if (ferror(f) | (fclose(f) != 0)) {
        fprintf(stderr, "capnpc-c: error writing %s\n", tmp);
        remove(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "capnpc-c: cannot rename %s to %s: %s\n", tmp, path,
                strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

const char *cg_base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s != NULL ? s + 1 : path;
}

int cg_make_dirs(const char *path)
{
    char *p = cg_strdup(path);

    for (char *s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "capnpc-c: cannot create directory %s: %s\n", p,
                    strerror(errno));
            return -1;
        }
        *s = '/';
    }
    return 0;
}

int cg_cmp_order(const void *a, const void *b)
{
    const struct cg_node *x = *(const struct cg_node *const *)a;
    const struct cg_node *y = *(const struct cg_node *const *)b;
    return x->order < y->order ? -1 : x->order > y->order;
}

bool cg_is_data(enum cg_tkind k)
{
    return (k >= T_BOOL && k <= T_FLOAT64) || k == T_ENUM;
}

const char *cg_elem_macro(const struct cg_type *t)
{
    switch (t->kind) {
    case T_VOID:
        return "CAPNP_ELEM_VOID";
    case T_BOOL:
        return "CAPNP_ELEM_BIT";
    case T_INT8:
    case T_UINT8:
        return "CAPNP_ELEM_BYTE";
    case T_INT16:
    case T_UINT16:
    case T_ENUM:
        return "CAPNP_ELEM_TWO_BYTES";
    case T_INT32:
    case T_UINT32:
    case T_FLOAT32:
        return "CAPNP_ELEM_FOUR_BYTES";
    case T_INT64:
    case T_UINT64:
    case T_FLOAT64:
        return "CAPNP_ELEM_EIGHT_BYTES";
    case T_STRUCT:
        return "CAPNP_ELEM_COMPOSITE";
    default:
        return "CAPNP_ELEM_POINTER";
    }
}
