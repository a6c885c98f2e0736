/*
 * test_schema_roundtrip.c - every struct of schema/capos.capnp (and of
 * fixtures/capnp/codegen-test.capnp, which has the field kinds capos.capnp
 * does not use yet) through the generated readers and builders and
 * through the reference `capnp` tool, both directions.
 *
 * The per-struct code is generated: capnpc-c with CAPNPC_C_ROUNDTRIP=1
 * writes X.capnp.roundtrip.{h,c,capnp} (tools/capnpc-c/roundtrip.c), so a
 * struct added to the schema is covered without touching this file. For
 * each struct S and each variant v (enough variants to choose every union
 * member once):
 *
 *  1. C: the generated setters fill every field of S (nested structs to
 *     MAX_DEPTH, lists of two, one union member, capabilities as cap
 *     indexes, never a default value); capnp_finish; the generated getters
 *     read every field back and compare. The fields the fill set and the
 *     check read are counted: every field of S and its groups must be
 *     both, except AnyPointer fields (left null).
 *  2. Negative control: an all-default S (init_root only) must fail the
 *     check for some variant, unless S has nothing but Void and AnyPointer
 *     fields (cgrt_struct.empty_rejects).
 *  3. capnp, when S has a name capnp takes (declared structs by name;
 *     implicit method $Params/$Results, which `capnp decode` cannot name,
 *     by their copy in the mirror schema X.capnp.roundtrip.capnp, same
 *     fields and ordinals so the same layout): the fill without
 *     capabilities (capnp decode cannot read caps) for every variant, as
 *     one stream -> `capnp decode --short` (must succeed, one line per
 *     message) -> `capnp encode` -> the generated getters check every
 *     message (and its root section sizes against *_DATA_WORDS and
 *     *_POINTERS) -> every field but capability ones must be checked.
 *  4. `capnp convert binary:canonical` of our stream and of capnp's equal
 *     byte for byte (catches bits the getters never read).
 *  5. By name: the same values written as schema text by the generated
 *     rt_text (field = value, by field name) -> `capnp encode` -> the
 *     getters check every message, and its canonical form equals our
 *     builder's. Steps 3-4 are symmetric (a setter and a getter that agree
 *     on a wrong slot pass them); this ties every slot to its field name.
 *
 * Paths: the schemas are read from the source tree, the mirror schemas
 * from the build tree (-D*_DIR, absolute), temporary files go to a fresh
 * directory under $TMPDIR (removed unless something failed); VPATH and
 * distcheck safe. $CAPNP names the capnp tool (default capnp); without it
 * steps 3-5 are skipped and said so. Exit 0 pass, 1 fail. RT_ONLY=<schema
 * name> runs one struct; RT_KEEP=1 keeps the temporary files.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capos.capnp.roundtrip.h"
#include "codegen-test.capnp.roundtrip.h"

#if !defined(CAPOS_SCHEMA_DIR) || !defined(CODEGEN_TEST_SCHEMA_DIR) ||         \
    !defined(RT_GEN_DIR)
#error                                                                         \
    "CAPOS_SCHEMA_DIR, CODEGEN_TEST_SCHEMA_DIR and RT_GEN_DIR must be defined"
#endif

/* Nested structs are filled to this depth (every struct is also a root). */
#define MAX_DEPTH 3u
#define MSG_BYTES (4u << 20)

static const struct {
    const cgrt_schema *schema;
    const char *src_dir; /* directory of the schema (and import path) */
    const char *label;
} schemas[] = {
    {&capos_rt_schema, CAPOS_SCHEMA_DIR, "schema/capos.capnp"},
    {&codegen_test_rt_schema, CODEGEN_TEST_SCHEMA_DIR,
     "fixtures/capnp/codegen-test.capnp"},
};

static const char *capnp_tool;
static char tmpdir[512];
static uint8_t *msgbuf;
static int failures;

static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void failf(const char *fmt, ...)
{
    va_list ap;

    fputs("FAIL: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    failures++;
}

/* ------------------------------------------------------------------ */
/* Files and commands                                                  */
/* ------------------------------------------------------------------ */

struct bytes {
    uint8_t *p;
    size_t len, cap;
};

static void append(struct bytes *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (q == NULL) {
            perror("realloc");
            exit(1);
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* The temporary files, by name: a fixed set, so each has its own buffer. */
static const char *const tmp_names[] = {
    "ours.bin",   "theirs.bin", "text.txt",  "err.txt",   "ours.can",
    "theirs.can", "one.bin",    "two.bin",   "one.can",   "two.can",
    "one.txt",    "named.txt",  "named.bin", "named.can",
};
#define NTMP (sizeof tmp_names / sizeof tmp_names[0])
static char tmp_paths[NTMP][600];

static const char *path_of(const char *name)
{
    for (size_t i = 0; i < NTMP; i++)
        if (strcmp(tmp_names[i], name) == 0) {
            if (tmp_paths[i][0] == '\0')
                snprintf(tmp_paths[i], sizeof tmp_paths[i], "%s/%s", tmpdir,
                         name);
            return tmp_paths[i];
        }
    fprintf(stderr, "test_schema_roundtrip: unknown temporary file %s\n", name);
    exit(1);
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n) {
        if (f != NULL)
            fclose(f);
        return -1;
    }
    return fclose(f);
}

/* The whole file (NUL-terminated), or b->len 0 and -1. */
static int read_file(const char *path, struct bytes *b)
{
    uint8_t chunk[8192];
    size_t n;
    FILE *f = fopen(path, "rb");

    b->len = 0;
    if (f == NULL)
        return -1;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        append(b, chunk, n);
    fclose(f);
    append(b, "", 1);
    b->len--;
    return 0;
}

/* Run a shell command; 0 if it exited 0. */
static int sh(const char *cmd)
{
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void show_stderr(void)
{
    struct bytes e = {0};
    if (read_file(path_of("err.txt"), &e) == 0 && e.len > 0)
        fprintf(stderr, "  capnp said: %.2000s\n", (char *)e.p);
    free(e.p);
}

/* ------------------------------------------------------------------ */
/* One struct                                                          */
/* ------------------------------------------------------------------ */

struct totals {
    unsigned structs, named, mirrored, c_only;
    unsigned long fields, cap_fields, any_fields;
    unsigned long variants, c_values, capnp_values, messages;
    unsigned long canonical_bytes;
    unsigned canonical_equal, negative_ok, negative_want, byname_equal;
    unsigned long byname_values;
    unsigned long c_fields, capnp_fields; /* fields proven covered */
};

/* A message of st for variant v, filled with flags; its length. */
static size_t build(const cgrt_struct *st, unsigned v, cgrt_ctx *ctx)
{
    capnp_builder b;
    capnp_struct_builder root;
    size_t len = 0;
    int rc;

    capnp_builder_init(&b, msgbuf, MSG_BYTES);
    rc = st->init_root(&b, &root);
    if (rc == 0)
        rc = st->fill(&root, v, 0, ctx);
    if (rc == 0)
        rc = capnp_finish(&b, &len);
    if (rc != 0) {
        failf("%s: building variant %u: %s", st->name, v, capnp_strerror(rc));
        return 0;
    }
    return len;
}

/* Check the message at p (of at most n bytes) as st variant v; its size
 * in *used. sizes: also compare the root's section sizes. */
static int verify(const cgrt_struct *st, unsigned v, cgrt_ctx *ctx,
                  const uint8_t *p, size_t n, size_t *used, bool sizes,
                  const char *whose)
{
    capnp_message m;
    capnp_struct root;
    int rc = capnp_msg_init(&m, p, n, NULL);

    if (rc == 0)
        rc = capnp_msg_root(&m, &root);
    if (rc != 0) {
        failf("%s: %s message of variant %u does not parse: %s", st->name,
              whose, v, capnp_strerror(rc));
        return -1;
    }
    *used = m.bytes;
    if (sizes && (root.data_bytes != 8u * st->data_words ||
                  root.nptrs != st->pointers)) {
        failf("%s: %s root has %u data words and %u pointers, the generated "
              "header says %u and %u",
              st->name, whose, (unsigned)(root.data_bytes / 8),
              (unsigned)root.nptrs, st->data_words, st->pointers);
        return -1;
    }
    ctx->why[0] = '\0';
    if (st->check(&root, v, 0, ctx) != 0) {
        failf("%s: %s message: %s", st->name, whose,
              ctx->why[0] ? ctx->why : "(no reason recorded)");
        return -1;
    }
    return 0;
}

/* Every field of kind <= max_kind both set and checked. */
static int coverage(const cgrt_struct *st, const cgrt_ctx *set,
                    const cgrt_ctx *checked, unsigned max_kind,
                    const char *what)
{
    int bad = 0;

    for (unsigned j = 0; j < st->nfields; j++) {
        if (st->field_kinds[j] > max_kind)
            continue;
        if (!set->set[j] || !checked->checked[j]) {
            failf("%s.%s: %s: never %s", st->name, st->field_names[j], what,
                  !set->set[j] ? "set" : "checked");
            bad = -1;
        }
    }
    return bad;
}

static void c_roundtrip(const cgrt_struct *st, struct totals *t)
{
    cgrt_ctx *ctx = calloc(1, sizeof *ctx);
    size_t used;

    ctx->max_depth = MAX_DEPTH;
    for (unsigned v = 0; v < st->variants; v++) {
        size_t len = build(st, v, ctx);
        if (len == 0 ||
            verify(st, v, ctx, msgbuf, len, &used, true, "our") != 0)
            goto out;
        if (used != len) {
            failf("%s: variant %u: parsed %zu of %zu bytes", st->name, v, used,
                  len);
            goto out;
        }
    }
    if (coverage(st, ctx, ctx, CGRT_FIELD_CAP, "C round trip") != 0)
        goto out;
    t->c_values += ctx->values;
    t->variants += st->variants;
    for (unsigned j = 0; j < st->nfields; j++)
        t->c_fields += st->field_kinds[j] <= CGRT_FIELD_CAP;

    /* Negative control: an all-default message. */
    {
        capnp_builder b;
        capnp_struct_builder root;
        size_t len = 0;
        unsigned rejected = 0;

        capnp_builder_init(&b, msgbuf, MSG_BYTES);
        if (st->init_root(&b, &root) != 0 || capnp_finish(&b, &len) != 0) {
            failf("%s: cannot build an empty message", st->name);
            goto out;
        }
        for (unsigned v = 0; v < st->variants; v++) {
            capnp_message m;
            capnp_struct r;
            memset(ctx, 0, sizeof *ctx);
            ctx->max_depth = MAX_DEPTH;
            if (capnp_msg_init(&m, msgbuf, len, NULL) != 0 ||
                capnp_msg_root(&m, &r) != 0) {
                failf("%s: empty message does not parse", st->name);
                goto out;
            }
            rejected += st->check(&r, v, 0, ctx) != 0;
        }
        t->negative_want += st->empty_rejects;
        if (st->empty_rejects && rejected == 0)
            failf("%s: the check accepts an all-default message for every "
                  "variant: fill would not be noticed doing nothing",
                  st->name);
        else if (st->empty_rejects)
            t->negative_ok++;
    }
out:
    free(ctx);
}

/* Steps 3 and 4 for st. */
static void capnp_roundtrip(const cgrt_struct *st, const char *schema_path,
                            const char *import_dir, struct totals *t)
{
    cgrt_ctx *ours = calloc(1, sizeof *ours);
    cgrt_ctx *theirs = calloc(1, sizeof *theirs);
    cgrt_ctx *byname = calloc(1, sizeof *byname);
    struct bytes named = {0};
    struct bytes stream = {0}, text = {0}, enc = {0}, can1 = {0}, can2 = {0};
    size_t *offs = calloc(st->variants + 1, sizeof *offs);
    size_t *toffs = calloc(st->variants + 1, sizeof *toffs);
    char cmd[4096];
    size_t used;

    ours->flags = theirs->flags = byname->flags = CGRT_NO_CAPS;
    ours->max_depth = theirs->max_depth = byname->max_depth = MAX_DEPTH;
    for (unsigned v = 0; v < st->variants; v++) {
        size_t len = build(st, v, ours);
        if (len == 0 ||
            verify(st, v, ours, msgbuf, len, &used, true, "our capless") != 0)
            goto out;
        offs[v] = stream.len;
        append(&stream, msgbuf, len);
    }
    offs[st->variants] = stream.len;
    if (write_file(path_of("ours.bin"), stream.p, stream.len) != 0) {
        failf("%s: cannot write %s: %s", st->name, path_of("ours.bin"),
              strerror(errno));
        goto out;
    }

    /* decode */
    snprintf(
        cmd, sizeof cmd,
        "'%s' decode --short --quiet -I'%s' '%s' '%s' < '%s' > '%s' 2> '%s'",
        capnp_tool, import_dir, schema_path, st->capnp_type,
        path_of("ours.bin"), path_of("text.txt"), path_of("err.txt"));
    if (sh(cmd) != 0) {
        failf("%s: capnp decode %s failed: %s", st->name, st->capnp_type, cmd);
        show_stderr();
        goto out;
    }
    read_file(path_of("text.txt"), &text);
    {
        unsigned lines = 0;
        for (size_t i = 0; i < text.len; i++)
            lines += text.p[i] == '\n';
        if (lines != st->variants) {
            failf("%s: capnp decode printed %u lines for %u messages", st->name,
                  lines, st->variants);
            goto out;
        }
    }

    /* encode, one message per run: capnp 0.9.2 finds the end of a message
     * in a multi-message input without regard to strings, so a "#" or an
     * unbalanced "(" inside a Text breaks the message after it. */
    {
        const char *line = (const char *)text.p;
        for (unsigned v = 0; v < st->variants; v++) {
            const char *nl = strchr(line, '\n');
            struct bytes one = {0};
            if (write_file(path_of("one.txt"), line, (size_t)(nl - line + 1)) !=
                0) {
                failf("%s: cannot write %s", st->name, path_of("one.txt"));
                goto out;
            }
            snprintf(cmd, sizeof cmd,
                     "'%s' encode -I'%s' '%s' '%s' < '%s' > '%s' 2> '%s'",
                     capnp_tool, import_dir, schema_path, st->capnp_type,
                     path_of("one.txt"), path_of("theirs.bin"),
                     path_of("err.txt"));
            if (sh(cmd) != 0) {
                failf("%s: capnp encode %s failed: %s", st->name,
                      st->capnp_type, cmd);
                fprintf(stderr, "  input: %.*s\n", (int)(nl - line), line);
                show_stderr();
                goto out;
            }
            read_file(path_of("theirs.bin"), &one);
            append(&enc, one.p, one.len);
            free(one.p);
            line = nl + 1;
        }
        if (write_file(path_of("theirs.bin"), enc.p, enc.len) != 0) {
            failf("%s: cannot write %s", st->name, path_of("theirs.bin"));
            goto out;
        }
    }
    {
        size_t off = 0;
        const char *line = (const char *)text.p;
        for (unsigned v = 0; v < st->variants; v++) {
            const char *nl = strchr(line, '\n');
            if (off >= enc.len) {
                failf("%s: capnp encode wrote %u messages, want %u", st->name,
                      v, st->variants);
                goto out;
            }
            if (verify(st, v, theirs, enc.p + off, enc.len - off, &used, true,
                       "capnp encode's") != 0) {
                fprintf(stderr, "  capnp decode printed: %.*s\n",
                        (int)(nl - line), line);
                goto out;
            }
            toffs[v] = off;
            off += used;
            toffs[v + 1] = off;
            line = nl + 1;
        }
        if (off != enc.len) {
            failf("%s: capnp encode wrote %zu bytes after %u messages",
                  st->name, enc.len - off, st->variants);
            goto out;
        }
    }
    if (coverage(st, ours, theirs, CGRT_FIELD_PLAIN,
                 "capnp decode/encode round trip") != 0)
        goto out;
    t->capnp_values += theirs->values;
    t->messages += st->variants;
    for (unsigned j = 0; j < st->nfields; j++)
        t->capnp_fields += st->field_kinds[j] == CGRT_FIELD_PLAIN;

    /* canonical forms */
    snprintf(cmd, sizeof cmd,
             "'%s' convert --quiet binary:canonical < '%s' > '%s' 2> '%s' && "
             "'%s' convert --quiet binary:canonical < '%s' > '%s' 2>> '%s'",
             capnp_tool, path_of("ours.bin"), path_of("ours.can"),
             path_of("err.txt"), capnp_tool, path_of("theirs.bin"),
             path_of("theirs.can"), path_of("err.txt"));
    if (sh(cmd) != 0) {
        failf("%s: capnp convert binary:canonical failed", st->name);
        show_stderr();
        goto out;
    }
    read_file(path_of("ours.can"), &can1);
    read_file(path_of("theirs.can"), &can2);
    if (can1.len == 0 || can1.len != can2.len ||
        memcmp(can1.p, can2.p, can1.len) != 0) {
        /* Find the variant: convert message by message. */
        failf("%s: canonical forms differ (ours %zu bytes, capnp's %zu)",
              st->name, can1.len, can2.len);
        for (unsigned v = 0; v < st->variants; v++) {
            struct bytes a = {0}, b = {0};
            bool same;
            write_file(path_of("one.bin"), stream.p + offs[v],
                       offs[v + 1] - offs[v]);
            write_file(path_of("two.bin"), enc.p + toffs[v],
                       toffs[v + 1] - toffs[v]);
            snprintf(cmd, sizeof cmd,
                     "'%s' convert --quiet binary:canonical < '%s' > '%s' && "
                     "'%s' convert --quiet binary:canonical < '%s' > '%s'",
                     capnp_tool, path_of("one.bin"), path_of("one.can"),
                     capnp_tool, path_of("two.bin"), path_of("two.can"));
            if (sh(cmd) != 0)
                continue;
            read_file(path_of("one.can"), &a);
            read_file(path_of("two.can"), &b);
            same = a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
            if (!same) {
                size_t i = 0;
                while (i < a.len && i < b.len && a.p[i] == b.p[i])
                    i++;
                fprintf(stderr,
                        "  variant %u: canonical ours %zu bytes, "
                        "capnp's %zu, first difference at byte %zu "
                        "(word %zu); see %s and %s\n",
                        v, a.len, b.len, i, i / 8, path_of("one.can"),
                        path_of("two.can"));
            }
            free(a.p);
            free(b.p);
            if (!same)
                break;
        }
        goto out;
    }
    t->canonical_bytes += can1.len;
    t->canonical_equal++;

    /* 5. By name: the values fill sets, written as schema text by the
     * generated rt_text (field names, not slots) -> capnp encode -> the
     * getters, and its canonical form equal to our builder's. The round
     * trip above is symmetric (a setter and getter that agree on the
     * wrong slot pass it); this ties each slot to its field's name. */
    {
        cgrt_buf tb = {0};
        size_t off = 0;

        for (unsigned v = 0; v < st->variants; v++) {
            cgrt_puts(&tb, "(");
            st->text(&tb, v, 0, byname);
            cgrt_puts(&tb, ")\n");
        }
        if (write_file(path_of("named.txt"), tb.p, tb.len) != 0) {
            failf("%s: cannot write %s", st->name, path_of("named.txt"));
            free(tb.p);
            goto out;
        }
        free(tb.p);
        snprintf(cmd, sizeof cmd,
                 "'%s' encode -I'%s' '%s' '%s' < '%s' > '%s' 2> '%s' && "
                 "'%s' convert --quiet binary:canonical < '%s' > '%s' 2>> '%s'",
                 capnp_tool, import_dir, schema_path, st->capnp_type,
                 path_of("named.txt"), path_of("named.bin"), path_of("err.txt"),
                 capnp_tool, path_of("named.bin"), path_of("named.can"),
                 path_of("err.txt"));
        if (sh(cmd) != 0) {
            failf("%s: capnp encode of the generated text failed (%s)",
                  st->name, path_of("named.txt"));
            show_stderr();
            goto out;
        }
        read_file(path_of("named.bin"), &named);
        for (unsigned v = 0; v < st->variants; v++) {
            if (off >= named.len) {
                failf("%s: capnp encode of the generated text wrote %u "
                      "messages, want %u",
                      st->name, v, st->variants);
                goto out;
            }
            if (verify(st, v, byname, named.p + off, named.len - off, &used,
                       true, "by-name (capnp encode of rt_text)") != 0)
                goto out;
            off += used;
        }
        if (coverage(st, ours, byname, CGRT_FIELD_PLAIN,
                     "by-name capnp encode") != 0)
            goto out;
        read_file(path_of("named.can"), &can2);
        if (can1.len != can2.len || memcmp(can1.p, can2.p, can1.len) != 0) {
            failf("%s: the canonical form of capnp encode of the generated "
                  "text differs from our builder's (%zu and %zu bytes; %s, "
                  "%s)",
                  st->name, can2.len, can1.len, path_of("named.can"),
                  path_of("ours.can"));
            goto out;
        }
        t->byname_values += byname->values;
        t->byname_equal++;
    }
out:
    free(ours);
    free(byname);
    free(named.p);
    free(theirs);
    free(offs);
    free(toffs);
    free(stream.p);
    free(text.p);
    free(enc.p);
    free(can1.p);
    free(can2.p);
}

/* ------------------------------------------------------------------ */

static bool have_capnp(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' --version >/dev/null 2>&1", capnp_tool);
    return sh(cmd) == 0;
}

static void cleanup(void)
{
    if (tmpdir[0] == '\0' || failures > 0 || getenv("RT_KEEP") != NULL)
        return; /* keep the files of a failure (or when asked) */
    for (size_t i = 0; i < NTMP; i++)
        unlink(path_of(tmp_names[i]));
    rmdir(tmpdir);
}

int main(void)
{
    const char *env = getenv("CAPNP"), *td = getenv("TMPDIR");
    /* For debugging: RT_ONLY=<schema name> runs that struct alone,
     * RT_KEEP=1 keeps the temporary files (the last struct's). */
    const char *only = getenv("RT_ONLY");
    bool capnp;
    struct totals all = {0};

    capnp_tool = env != NULL && env[0] != '\0' ? env : "capnp";
    if (strchr(capnp_tool, '\'') != NULL) {
        fprintf(stderr, "FAIL: $CAPNP contains a quote\n");
        return 1;
    }
    snprintf(tmpdir, sizeof tmpdir, "%s/test_schema_roundtrip.XXXXXX",
             td != NULL && td[0] != '\0' ? td : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        perror(tmpdir);
        return 1;
    }
    msgbuf = malloc(MSG_BYTES);
    if (msgbuf == NULL)
        return 1;
    capnp = have_capnp();
    if (!capnp)
        printf("capnp (%s) not found: the capnp decode/encode/canonical part "
               "is skipped\n",
               capnp_tool);

    for (size_t k = 0; k < sizeof schemas / sizeof schemas[0]; k++) {
        const cgrt_schema *sc = schemas[k].schema;
        struct totals t = {0};
        char schema_path[1024], mirror_path[1024];
        int before = failures;

        snprintf(schema_path, sizeof schema_path, "%s/%s", schemas[k].src_dir,
                 sc->file);
        snprintf(mirror_path, sizeof mirror_path, "%s/%s", RT_GEN_DIR,
                 sc->mirror_file);
        if (strchr(schema_path, '\'') != NULL ||
            strchr(mirror_path, '\'') != NULL) {
            failf("paths with quotes are not supported: %s", schema_path);
            continue;
        }
        for (uint32_t i = 0; i < sc->count; i++) {
            const cgrt_struct *st = &sc->structs[i];
            if (only != NULL && strcmp(only, st->name) != 0)
                continue;
            t.structs++;
            t.fields += st->nfields;
            for (unsigned j = 0; j < st->nfields; j++) {
                t.cap_fields += st->field_kinds[j] == CGRT_FIELD_CAP;
                t.any_fields += st->field_kinds[j] == CGRT_FIELD_ANY;
            }
            if (st->capnp_type == NULL)
                t.c_only++;
            else if (st->mirror)
                t.mirrored++;
            else
                t.named++;
            c_roundtrip(st, &t);
            if (capnp && st->capnp_type != NULL)
                capnp_roundtrip(st, st->mirror ? mirror_path : schema_path,
                                schemas[k].src_dir, &t);
        }
        if (t.structs == 0 && only == NULL)
            failf("%s: the round-trip table is empty", schemas[k].label);
        printf("%s: %u structs (%u by name, %u implicit $Params/$Results "
               "through the mirror schema, %u C only), %lu fields (%lu "
               "capability, %lu AnyPointer)\n",
               schemas[k].label, t.structs, t.named, t.mirrored, t.c_only,
               t.fields, t.cap_fields, t.any_fields);
        printf("  C setters -> getters: %lu messages, %lu values compared, "
               "%lu fields set and read back; an all-default message "
               "rejected by %u of the %u structs that can reject one\n",
               t.variants, t.c_values, t.c_fields, t.negative_ok,
               t.negative_want);
        if (capnp)
            printf("  capnp decode -> capnp encode -> getters: %lu messages, "
                   "%lu values compared, %lu non-capability fields read "
                   "back; capnp convert binary:canonical equal for %u of %u "
                   "structs (%lu bytes)\n",
                   t.messages, t.capnp_values, t.capnp_fields,
                   t.canonical_equal, t.named + t.mirrored, t.canonical_bytes);
        if (capnp)
            printf("  by name: generated text -> capnp encode -> getters: %lu "
                   "values compared; canonical equal to our builder's for %u "
                   "of %u structs\n",
                   t.byname_values, t.byname_equal, t.named + t.mirrored);
        all.structs += t.structs;
        all.fields += t.fields;
        all.c_fields += t.c_fields;
        all.capnp_fields += t.capnp_fields;
        all.c_values += t.c_values;
        all.capnp_values += t.capnp_values;
        all.canonical_equal += t.canonical_equal;
        all.named += t.named + t.mirrored;
        all.byname_values += t.byname_values;
        all.byname_equal += t.byname_equal;
        printf("  %s\n", failures == before ? "PASS" : "FAIL");
    }
    printf("test_schema_roundtrip: %s: %u structs, %lu fields: %lu set and "
           "read back in C (%lu values), %lu through capnp decode/encode (%lu "
           "values) and by name through capnp encode (%lu values), canonical "
           "bytes equal for %u and %u of %u structs%s\n",
           failures ? "FAIL" : "PASS", all.structs, all.fields, all.c_fields,
           all.c_values, all.capnp_fields, all.capnp_values, all.byname_values,
           all.canonical_equal, all.byname_equal, all.named,
           capnp ? "" : " (capnp missing)");
    cleanup();
    free(msgbuf);
    if (failures > 0)
        fprintf(stderr, "%d failure(s); files kept in %s\n", failures, tmpdir);
    return failures > 0 ? 1 : 0;
}
