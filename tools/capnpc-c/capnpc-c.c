/*
 * capnpc-c - a Cap'n Proto compiler plugin that writes C for capos-sim.
 *
 *     capnp compile -o/abs/path/to/capnpc-c:OUTDIR --src-prefix=DIR DIR/X.capnp
 *
 * capnp runs the plugin in OUTDIR with a CodeGeneratorRequest on stdin;
 * for every requested file X.capnp (path after --src-prefix) it writes
 * OUTDIR/X.capnp.h and OUTDIR/X.capnp.c. The request is read with the
 * project codec (include/capos/capnp.h, lib/capnp.c), and the
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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    atexit(cg_free_arena);
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
