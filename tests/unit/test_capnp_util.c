/*
 * test_capnp_util.c - helpers of the codec test (test_capnp.h): float
 * bits, text and byte assertions, hand-made framed messages, and running
 * the `capnp` tool on fixtures and bytes.
 */
#include "test_capnp.h"

/* ---- Helpers ---- */

uint32_t f32b(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

uint64_t f64b(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

void assert_text(const capnp_struct *s, uint16_t idx, const char *want)
{
    const char *t;
    size_t n;
    assert_rc(capnp_get_text(s, idx, &t, &n), CAPNP_OK);
    assert_int_equal(n, strlen(want));
    assert_string_equal(t, want); /* NUL-terminated inside the message */
}

void assert_list_text(const capnp_list *l, uint32_t i, const char *want)
{
    const char *t;
    size_t n;
    assert_rc(capnp_list_get_text(l, i, &t, &n), CAPNP_OK);
    assert_int_equal(n, strlen(want));
    assert_string_equal(t, want);
}

void assert_bytes(const uint8_t *got, size_t got_len, const void *want,
                  size_t want_len)
{
    assert_int_equal(got_len, want_len);
    if (want_len != 0)
        assert_memory_equal(got, want, want_len);
}

void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Frame nseg segments (word arrays) into out; returns the byte length. */
size_t frame(uint8_t *out, unsigned nseg, const uint64_t *const *segs,
             const uint32_t *nwords)
{
    size_t off = (4 + 4 * (size_t)nseg + 7) & ~(size_t)7;
    memset(out, 0, off);
    put32(out, nseg - 1);
    for (unsigned s = 0; s < nseg; s++) {
        put32(out + 4 + 4 * s, nwords[s]);
        for (uint32_t w = 0; w < nwords[s]; w++, off += 8)
            put64(out + off, segs[s][w]);
    }
    return off;
}

size_t frame1(uint8_t *out, const uint64_t *words, uint32_t n)
{
    return frame(out, 1, &words, &n);
}

/* ---- The capnp tool ---- */

char schema_path[4096];
char fixture_dir[4096];

bool have_capnp_tool(void)
{
    return system("command -v capnp >/dev/null 2>&1") == 0;
}

void set_paths(void)
{
    const char *src = getenv("srcdir");
    if (src == NULL || *src == '\0')
        src = ".";
    int n1 =
        snprintf(fixture_dir, sizeof fixture_dir, "%s/fixtures/capnp", src);
    int n2 = snprintf(schema_path, sizeof schema_path,
                      "%s/fixtures/capnp/codec-test.capnp", src);
    if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof schema_path) {
        fprintf(stderr, "test_capnp: srcdir '%s' is too long\n", src);
        exit(1);
    }
}

/*
 * Run `capnp ARGS` (a shell fragment) with stdin from the file `in`, and
 * return its stdout in a malloc'd, NUL-terminated buffer. Fails the test
 * when capnp exits non-zero (its stderr goes to the test log).
 */
uint8_t *capnp_run_file(const char *args, const char *in, size_t *len)
{
    char cmd[16384];
    fmt(cmd, "capnp %s < '%s'", args, in);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        fail_msg("popen(%s) failed", cmd);
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap + 1);
    assert_non_null(buf);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, p)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
    }
    int st = pclose(p);
    if (st != 0)
        fail_msg("`%s` exited with status %d (its message is above)", cmd, st);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The same with stdin from bytes in memory (through a temporary file). */
uint8_t *capnp_run(const char *args, const void *in, size_t inlen,
                   size_t *len)
{
    const char *tmpdir = getenv("TMPDIR");
    char path[4096];
    fmt(path, "%s/capos-capnp.XXXXXX",
        tmpdir != NULL && *tmpdir != '\0' ? tmpdir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        fail_msg("mkstemp(%s) failed", path);
    assert_int_equal(write(fd, in, inlen), (ssize_t)inlen);
    close(fd);
    uint8_t *out = capnp_run_file(args, path, len);
    unlink(path);
    return out;
}

/* `capnp encode` of fixtures/capnp/<txt> as type; framed bytes. */
uint8_t *encode_fixture(const char *type, const char *txt, size_t *len,
                        const char *extra)
{
    char args[8192], in[8192];
    fmt(args, "%s '%s' %s", extra, schema_path, type);
    fmt(in, "%s/%s", fixture_dir, txt);
    return capnp_run_file(args, in, len);
}

/* The fixture txt encoded as type, decoded into *m with its root in *r;
 * returns the message bytes, which the caller frees. */
uint8_t *fixture_root(const char *type, const char *txt,
                      capnp_message *m, capnp_struct *r)
{
    size_t n;
    uint8_t *msg = encode_fixture(type, txt, &n, "encode");
    assert_rc(capnp_msg_init(m, msg, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(m, r), CAPNP_OK);
    return msg;
}
