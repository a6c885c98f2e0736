/*
 * capnpc-c - a Cap'n Proto compiler plugin that writes C for capos-sim.
 *
 *     capnp compile -o/abs/path/to/capnpc-c:OUTDIR --src-prefix=DIR DIR/X.capnp
 *
 * capnp runs the plugin in OUTDIR with a CodeGeneratorRequest on stdin;
 * for every requested file X.capnp (path after --src-prefix) it writes
 * OUTDIR/X.capnp.h and OUTDIR/X.capnp.c. The request is read with the
 * project codec (include/capos/capnp.h, services/rt/capnp.c), and the
 * generated code uses the same codec; see docs/codegen.md for the API.
 *
 * Naming scheme
 * -------------
 * prefix   The file's base name without ".capnp", every character other
 *          than [A-Za-z0-9_] replaced by '_' (capos.capnp -> capos,
 *          codegen-test.capnp -> codegen_test).
 * C name   prefix and the nested declaration names joined by '_', names
 *          kept as written (lowerCamel stays lowerCamel):
 *            struct Console.write$Params  -> capos_Console_write_Params
 *            group Shape.style            -> codegen_test_Shape_style
 *            interface Store.Cursor       -> codegen_test_Store_Cursor
 *          A method's implicit parameter and result structs are
 *          <Interface>_<method>_Params and _Results.
 * macro    The C name upper-cased, with '_' inserted where a lower-case
 *          letter or digit meets an upper-case one:
 *            capos_Console_writeLine -> CAPOS_CONSOLE_WRITE_LINE
 * Emitted names (S = struct C name, I = interface C name, M = macro):
 *   M_ID, M_DATA_WORDS, M_POINTERS          struct id and section sizes
 *   S_init_root(b, &out)                    root struct of a new message
 *   S_get_f(s) / S_set_f(s, v)              primitive field f (defaults)
 *   S_has_f(s), S_get_f(s, ...),            pointer field f: text, data,
 *     S_set_f / S_init_f(s, ...)              struct, list, capability
 *   S_which(s), enum S_Which { M_WHICH_F }  union discriminant
 *   S_init_g(s)                             select union group g (zeroed)
 *   M_F_PTR_INDEX, S_select_f(s)            AnyPointer field f (built
 *                                           with the codec)
 *   enum E { M_VALUE = n }, M_ID            enums
 *   M                                       constants (primitive, text,
 *                                           data as M + M_LEN)
 *   M_INTERFACE_ID, M_METHOD_COUNT,         interfaces
 *   M_<METHOD>_METHOD_ID
 *   I_m_sqe(...), I_m_sqe_xfer(...)         CALL SQE stubs
 *   prefix_interfaces[], prefix_interface_info(id),
 *   prefix_method_name(id, method)          name tables (X.capnp.c)
 * capnp forbids '_' in declaration names, so the joined names cannot
 * be confused with each other; a clash the case mapping could still make
 * (Ab vs AB) is a duplicate macro or enumerator, which the C compiler
 * rejects when the header is compiled.
 *
 * Round-trip test code
 * --------------------
 * With CAPNPC_C_ROUNDTRIP=1 in the environment (capnp passes no plugin
 * parameters), the plugin writes X.capnp.roundtrip.{h,c,capnp} instead of
 * X.capnp.{h,c}: fill/check functions for every struct and a mirror schema
 * naming the implicit method structs (roundtrip.c, docs/codegen.md). The
 * normal files are not touched, so the two runs can share an OUTDIR.
 *
 * Exit status: 0 when every file was written, 1 otherwise (with a message
 * on stderr saying what was wrong).
 */
#include "cgen.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- memory: an arena reachable from a global, freed at exit ---------- */

struct chunk {
    struct chunk *next;
    size_t used, size;
    _Alignas(16) unsigned char mem[];
};

static struct chunk *arena;

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

static void free_arena(void)
{
    while (arena != NULL) {
        struct chunk *c = arena;
        arena = c->next;
        free(c);
    }
}

/* ---- main ------------------------------------------------------------ */

static uint8_t *input;
static struct cg_request request;

/* All of stdin; exits on a read error. */
static size_t read_stdin(void)
{
    size_t cap = 1 << 16, len = 0, n;

    input = malloc(cap);
    while (input != NULL && (n = fread(input + len, 1, cap - len, stdin)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *bigger = realloc(input, cap *= 2);
            if (bigger == NULL)
                free(input);
            input = bigger;
        }
    }
    if (input == NULL || ferror(stdin)) {
        fprintf(stderr, "capnpc-c: cannot read the request from stdin\n");
        exit(1);
    }
    return len;
}

static void free_input(void)
{
    free(input);
}

int main(int argc, char **argv)
{
    size_t len;
    const char *rt = getenv("CAPNPC_C_ROUNDTRIP");
    bool roundtrip = rt != NULL && strcmp(rt, "1") == 0;

    if (argc > 1) {
        fprintf(stderr,
                "usage: capnp compile -o/abs/path/capnpc-c:OUTDIR "
                "[--src-prefix=DIR] FILE.capnp...\n"
                "capnpc-c is a capnp plugin: it reads a CodeGeneratorRequest "
                "on stdin and takes no arguments (%s given)\n",
                argv[1]);
        return 1;
    }
    atexit(free_arena);
    atexit(free_input);
    len = read_stdin();
    if (cg_read_request(input, len, &request) != 0)
        return 1;
    if (cg_assign_names(&request) != 0)
        return 1;
    for (uint32_t i = 0; i < request.nfiles; i++) {
        const struct cg_file *f = &request.files[i];
        if (f->filename[0] == '/' || strstr(f->filename, "..") != NULL) {
            fprintf(stderr,
                    "capnpc-c: %s: output would leave the output directory; "
                    "pass --src-prefix=<its directory>\n",
                    f->filename);
            return 1;
        }
        if ((roundtrip ? cg_emit_roundtrip(&request, f, f->filename)
                       : cg_emit_file(&request, f, f->filename)) != 0)
            return 1;
    }
    return 0;
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
