/*
 * test_capnp_hostile.c - the codec test's hostile-input group (see
 * test_capnp.c): malformed framing and pointers give their error codes;
 * nesting, traversal and amplification limits hold.
 */
#include "test_capnp.h"

static void malformed_framing_is_refused(void **state)
{
    (void)state;
    static uint8_t buf[1024];
    capnp_message m;
    capnp_struct r;

    assert_rc(capnp_msg_init(&m, buf, 0, NULL), CAPNP_E_FRAMING);
    assert_rc(capnp_msg_init(&m, NULL, 16, NULL), CAPNP_E_FRAMING);
    memset(buf, 0, sizeof buf);
    assert_rc(capnp_msg_init(&m, buf, 4, NULL), CAPNP_E_FRAMING);

    /* Segment count 65 (count-1 = 64) and 2^32 (count-1 wraps). */
    put32(buf, 64);
    assert_rc(capnp_msg_init(&m, buf, sizeof buf, NULL), CAPNP_E_FRAMING);
    put32(buf, 0xffffffffu);
    assert_rc(capnp_msg_init(&m, buf, sizeof buf, NULL), CAPNP_E_FRAMING);

    /* Exactly 64 segments of one word each: accepted. */
    memset(buf, 0, sizeof buf);
    put32(buf, 63);
    for (int i = 0; i < 64; i++)
        put32(buf + 4 + 4 * i, 1);
    assert_rc(capnp_msg_init(&m, buf, 264 + 64 * 8, NULL), CAPNP_OK);
    assert_int_equal(m.nseg, 64);
    assert_int_equal(m.bytes, 264 + 64 * 8);
    /* The same, one byte short. */
    assert_rc(capnp_msg_init(&m, buf, 264 + 64 * 8 - 1, NULL), CAPNP_E_FRAMING);

    /* A table of three segments cut after its first word. */
    memset(buf, 0, sizeof buf);
    put32(buf, 2);
    assert_rc(capnp_msg_init(&m, buf, 8, NULL), CAPNP_E_FRAMING);

    /* Each size fits, their sum does not. */
    put32(buf, 1);
    put32(buf + 4, 2);
    put32(buf + 8, 2);
    assert_rc(capnp_msg_init(&m, buf, 16 + 24, NULL), CAPNP_E_FRAMING);
    assert_rc(capnp_msg_init(&m, buf, 16 + 32, NULL), CAPNP_OK);

    /* A segment claiming 4 Gi words. */
    put32(buf, 0);
    put32(buf + 4, 0xffffffffu);
    assert_rc(capnp_msg_init(&m, buf, sizeof buf, NULL), CAPNP_E_FRAMING);

    /* A zero-word first segment has no root. */
    put32(buf + 4, 0);
    assert_rc(capnp_msg_init(&m, buf, 8, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &r), CAPNP_E_BOUNDS);

    /* Flat: whole words only. */
    assert_rc(capnp_msg_init_flat(&m, buf, 12, NULL), CAPNP_E_FRAMING);
    assert_rc(capnp_msg_init_flat(&m, buf, 0, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &r), CAPNP_E_BOUNDS);
}

enum op {
    OP_ROOT,        /* capnp_msg_root */
    OP_STRUCT,      /* field 0 of the root as a struct */
    OP_LIST_U64,    /* field 0 as List(UInt64), then element 0 */
    OP_LIST_U32,    /* field 0 as List(UInt32) */
    OP_LIST_STRUCT, /* field 0 as List(struct), then element 0 */
    OP_LIST_BIT,    /* field 0 as List(Bool) */
    OP_LIST_PTR,    /* field 0 as a pointer list */
    OP_TEXT,        /* field 0 as Text */
    OP_DATA,        /* field 0 as Data */
    OP_CAP,         /* field 0 as a capability */
    OP_ANY,         /* field 0 as AnyPointer */
};

struct hostile {
    const char *name;
    enum op op;
    int want;
    uint32_t n;
    uint64_t w[8];
};

#define ROOT1 0x0001000000000000ull /* struct, offset 0, 0 data, 1 ptr */

static int run_op(capnp_message *m, enum op op)
{
    capnp_struct r, s;
    capnp_list l;
    capnp_ptr p;
    const char *t;
    const uint8_t *d;
    size_t n;
    uint32_t cap;
    int rc;

    if ((rc = capnp_msg_root(m, &r)) != CAPNP_OK || op == OP_ROOT)
        return rc;
    switch (op) {
    case OP_STRUCT:
        return capnp_get_struct(&r, 0, &s);
    case OP_LIST_U64:
        if ((rc = capnp_get_list(&r, 0, CAPNP_ELEM_EIGHT_BYTES, &l)) ==
            CAPNP_OK)
            (void)capnp_list_get_u64(&l, 0);
        return rc;
    case OP_LIST_U32:
        return capnp_get_list(&r, 0, CAPNP_ELEM_FOUR_BYTES, &l);
    case OP_LIST_STRUCT:
        if ((rc = capnp_get_list(&r, 0, CAPNP_ELEM_COMPOSITE, &l)) ==
                CAPNP_OK &&
            capnp_list_len(&l) > 0)
            rc = capnp_list_get_struct(&l, 0, &s);
        return rc;
    case OP_LIST_BIT:
        return capnp_get_list(&r, 0, CAPNP_ELEM_BIT, &l);
    case OP_LIST_PTR:
        return capnp_get_list(&r, 0, CAPNP_ELEM_POINTER, &l);
    case OP_TEXT:
        return capnp_get_text(&r, 0, &t, &n);
    case OP_DATA:
        return capnp_get_data(&r, 0, &d, &n);
    case OP_CAP:
        return capnp_get_cap(&r, 0, &cap);
    case OP_ANY:
        return capnp_get_ptr(&r, 0, &p);
    case OP_ROOT:
        break;
    }
    return rc;
}

static const struct hostile hostile_cases[] = {
    {"root struct past the end",
     OP_ROOT,
     CAPNP_E_BOUNDS,
     1,
     {p_struct(5, 1, 0)}},
    {"root struct before the start",
     OP_ROOT,
     CAPNP_E_BOUNDS,
     1,
     {p_struct(-3, 1, 0)}},
    {"root struct overlapping the end",
     OP_ROOT,
     CAPNP_E_BOUNDS,
     2,
     {p_struct(0, 2, 0), 0}},
    {"root struct with the largest negative offset",
     OP_ROOT,
     CAPNP_E_BOUNDS,
     1,
     {p_struct(-(1 << 29), 0, 1)}},
    {"list with a huge element count",
     OP_LIST_U64,
     CAPNP_E_BOUNDS,
     2,
     {ROOT1, p_list(0, CAPNP_ELEM_EIGHT_BYTES, (1u << 29) - 1)}},
    {"bit list one bit too long",
     OP_LIST_BIT,
     CAPNP_E_BOUNDS,
     3,
     {ROOT1, p_list(0, CAPNP_ELEM_BIT, 65), 0}},
    {"composite list whose tag claims more elements than words",
     OP_LIST_STRUCT,
     CAPNP_E_BOUNDS,
     4,
     {ROOT1, p_list(0, CAPNP_ELEM_COMPOSITE, 1), p_struct(3, 1, 0), 0}},
    {"composite list whose words run past the segment",
     OP_LIST_STRUCT,
     CAPNP_E_BOUNDS,
     4,
     {ROOT1, p_list(0, CAPNP_ELEM_COMPOSITE, 9), p_struct(1, 1, 0), 0}},
    {"composite list whose tag is not a struct pointer",
     OP_LIST_STRUCT,
     CAPNP_E_TYPE,
     4,
     {ROOT1, p_list(0, CAPNP_ELEM_COMPOSITE, 1), p_list(1, 2, 0), 0}},
    {"capability where a struct is expected",
     OP_STRUCT,
     CAPNP_E_TYPE,
     2,
     {ROOT1, p_cap(0)}},
    {"struct where a list is expected",
     OP_LIST_U32,
     CAPNP_E_TYPE,
     3,
     {ROOT1, p_struct(0, 1, 0), 0}},
    {"list where a struct is expected",
     OP_STRUCT,
     CAPNP_E_TYPE,
     3,
     {ROOT1, p_list(0, CAPNP_ELEM_BYTE, 8), 0}},
    {"struct where a capability is expected",
     OP_CAP,
     CAPNP_E_TYPE,
     3,
     {ROOT1, p_struct(0, 1, 0), 0}},
    {"far pointer where a capability is expected",
     OP_CAP,
     CAPNP_E_TYPE,
     3,
     {ROOT1, p_far(false, 2, 0), p_cap(1)}},
    {"reserved pointer kind (other, non-zero offset)",
     OP_ANY,
     CAPNP_E_TYPE,
     2,
     {ROOT1, 3u | 4u}},
    {"reserved pointer kind read as a capability",
     OP_CAP,
     CAPNP_E_TYPE,
     2,
     {ROOT1, 3u | 4u}},
    {"text without its NUL",
     OP_TEXT,
     CAPNP_E_TEXT,
     3,
     {ROOT1, p_list(0, CAPNP_ELEM_BYTE, 3), 0x636261}},
    {"text of zero bytes (no room for the NUL)",
     OP_TEXT,
     CAPNP_E_TEXT,
     2,
     {ROOT1, p_list(0, CAPNP_ELEM_BYTE, 0)}},
    {"text encoded as a list of 16-bit values",
     OP_TEXT,
     CAPNP_E_TYPE,
     3,
     {ROOT1, p_list(0, CAPNP_ELEM_TWO_BYTES, 2), 0}},
    {"data encoded as a struct list",
     OP_DATA,
     CAPNP_E_TYPE,
     4,
     {ROOT1, p_list(0, CAPNP_ELEM_COMPOSITE, 1), p_struct(1, 1, 0), 0}},
    {"bit list where a struct list is expected",
     OP_LIST_STRUCT,
     CAPNP_E_TYPE,
     3,
     {ROOT1, p_list(0, CAPNP_ELEM_BIT, 8), 0}},
    {"byte list where a 32-bit list is expected",
     OP_LIST_U32,
     CAPNP_E_TYPE,
     3,
     {ROOT1, p_list(0, CAPNP_ELEM_BYTE, 8), 0}},
    {"struct list where a bit list is expected",
     OP_LIST_BIT,
     CAPNP_E_TYPE,
     4,
     {ROOT1, p_list(0, CAPNP_ELEM_COMPOSITE, 1), p_struct(1, 1, 0), 0}},
    {"data-only struct list where a pointer list is expected",
     OP_LIST_PTR,
     CAPNP_E_TYPE,
     4,
     {ROOT1, p_list(0, CAPNP_ELEM_COMPOSITE, 1), p_struct(1, 1, 0), 0}},
    {"pointer-only struct list where a 32-bit list is expected",
     OP_LIST_U32,
     CAPNP_E_TYPE,
     4,
     {ROOT1, p_list(0, CAPNP_ELEM_COMPOSITE, 1), p_struct(1, 0, 1), 0}},
    {"far pointer to an unknown segment",
     OP_STRUCT,
     CAPNP_E_BOUNDS,
     2,
     {ROOT1, p_far(false, 0, 5)}},
    {"far pointer whose landing pad is past the segment",
     OP_STRUCT,
     CAPNP_E_BOUNDS,
     2,
     {ROOT1, p_far(false, 100, 0)}},
    {"far pointer landing on a far pointer",
     OP_STRUCT,
     CAPNP_E_FAR,
     3,
     {ROOT1, p_far(false, 2, 0), p_far(false, 2, 0)}},
    {"far pointer landing on itself",
     OP_STRUCT,
     CAPNP_E_FAR,
     2,
     {ROOT1, p_far(false, 1, 0)}},
    {"far pointer landing on a capability",
     OP_ANY,
     CAPNP_E_FAR,
     3,
     {ROOT1, p_far(false, 2, 0), p_cap(0)}},
    {"far pointer landing on a struct past the segment",
     OP_STRUCT,
     CAPNP_E_BOUNDS,
     3,
     {ROOT1, p_far(false, 2, 0), p_struct(4, 1, 0)}},
    {"double-far pad whose first word is not a far pointer",
     OP_STRUCT,
     CAPNP_E_FAR,
     4,
     {ROOT1, p_far(true, 2, 0), p_struct(0, 0, 0), 0}},
    {"double-far pad whose first word is double-far again",
     OP_STRUCT,
     CAPNP_E_FAR,
     4,
     {ROOT1, p_far(true, 2, 0), p_far(true, 2, 0), 0}},
    {"double-far pad whose tag is a capability",
     OP_STRUCT,
     CAPNP_E_FAR,
     4,
     {ROOT1, p_far(true, 2, 0), p_far(false, 0, 0), p_cap(0)}},
    {"double-far pad with one word left in the segment",
     OP_STRUCT,
     CAPNP_E_BOUNDS,
     3,
     {ROOT1, p_far(true, 2, 0), p_far(false, 0, 0)}},
    {"double-far pad pointing into an unknown segment",
     OP_STRUCT,
     CAPNP_E_BOUNDS,
     4,
     {ROOT1, p_far(true, 2, 0), p_far(false, 0, 9), p_struct(0, 1, 0)}},
    {"double-far content past its segment",
     OP_STRUCT,
     CAPNP_E_BOUNDS,
     4,
     {ROOT1, p_far(true, 2, 0), p_far(false, 3, 0), p_struct(0, 2, 0)}},
};

static void every_malformed_pointer_class_returns_its_error(void **state)
{
    (void)state;
    uint8_t buf[256];
    for (size_t i = 0; i < N(hostile_cases); i++) {
        const struct hostile *h = &hostile_cases[i];
        capnp_message m;
        size_t n = frame1(buf, h->w, h->n);
        assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
        int got = run_op(&m, h->op);
        if (got != h->want)
            fail_msg("%s: got %d (%s), want %d (%s)", h->name, got,
                     capnp_strerror(got), h->want, capnp_strerror(h->want));
        /* The flat reader of the same segment agrees. */
        assert_rc(capnp_msg_init_flat(&m, buf + 8, n - 8, NULL), CAPNP_OK);
        got = run_op(&m, h->op);
        if (got != h->want)
            fail_msg("%s (flat): got %d (%s), want %d (%s)", h->name, got,
                     capnp_strerror(got), h->want, capnp_strerror(h->want));
    }
}

static void failed_reads_leave_safe_empty_values(void **state)
{
    (void)state;
    uint64_t w[] = {ROOT1, p_struct(40, 1, 1)};
    uint8_t buf[64];
    capnp_message m;
    capnp_struct r, s;
    capnp_list l;
    const char *t = NULL;
    size_t n = frame1(buf, w, 2);
    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &r), CAPNP_OK);
    assert_rc(capnp_get_struct(&r, 0, &s), CAPNP_E_BOUNDS);
    assert_int_equal(s.data_bytes, 0);
    assert_int_equal(s.nptrs, 0);
    assert_int_equal(capnp_get_u64(&s, 0, 3), 3);
    assert_rc(capnp_get_list(&r, 0, CAPNP_ELEM_BYTE, &l), CAPNP_E_TYPE);
    assert_int_equal(capnp_list_len(&l), 0);
    assert_rc(capnp_get_text(&r, 0, &t, &n), CAPNP_E_TYPE);
    assert_non_null(t);
    assert_int_equal(n, 0);
}

static void
valid_double_far_pointer_reaches_a_struct_in_a_third_segment(void **state)
{
    (void)state;
    /* seg0: root -> far(double) to seg1 word 1; seg1 pad: far to seg2
     * word 0 + struct tag (1 data word, 1 ptr); seg2: the struct, whose
     * text pointer is a single far to a pad in seg1 word 3 -> text in
     * seg1 word 4. */
    uint64_t s0[] = {p_far(true, 1, 1)};
    uint64_t s1[] = {0, p_far(false, 0, 2), p_struct(0, 1, 1),
                     p_list(0, CAPNP_ELEM_BYTE, 3), 0x6968};
    uint64_t s2[] = {0x1234, p_far(false, 3, 1)};
    const uint64_t *segs[] = {s0, s1, s2};
    uint32_t nw[] = {1, 5, 2};
    uint8_t buf[256];
    capnp_message m;
    capnp_struct r;
    size_t n = frame(buf, 3, segs, nw);
    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &r), CAPNP_OK);
    assert_int_equal(r.seg, 2);
    assert_int_equal(capnp_get_u64(&r, 0, 0), 0x1234);
    assert_text(&r, 0, "hi");
}

/* Walk everything reachable from p (depth-first); returns the first
 * error met, 0 if none. *steps counts pointer hops. */
static int walk(const capnp_ptr *p, unsigned *steps);

static int walk_struct(const capnp_struct *s, unsigned *steps)
{
    for (uint16_t i = 0; i < s->nptrs; i++) {
        capnp_ptr c;
        int rc = capnp_get_ptr(s, i, &c);
        (*steps)++;
        if (rc == CAPNP_OK)
            rc = walk(&c, steps);
        if (rc != CAPNP_OK)
            return rc;
    }
    return CAPNP_OK;
}

static int walk(const capnp_ptr *p, unsigned *steps)
{
    if (p->kind == CAPNP_PTR_STRUCT)
        return walk_struct(&p->s, steps);
    if (p->kind != CAPNP_PTR_LIST || p->l.nptrs == 0)
        return CAPNP_OK;
    for (uint32_t i = 0; i < p->l.len; i++) {
        capnp_struct e;
        int rc = capnp_list_get_struct(&p->l, i, &e);
        if (rc == CAPNP_OK)
            rc = walk_struct(&e, steps);
        if (rc != CAPNP_OK)
            return rc;
    }
    return CAPNP_OK;
}

static void list_pointing_at_itself_ends_in_a_depth_error(void **state)
{
    (void)state;
    /* Word 2 is a one-element pointer list whose element (word 3) points
     * back at word 2's target... itself: offset -1 from word 3 lands on
     * word 3. */
    uint64_t w[] = {ROOT1, p_list(0, CAPNP_ELEM_POINTER, 1),
                    p_list(-1, CAPNP_ELEM_POINTER, 1)};
    uint8_t buf[64];
    capnp_message m;
    capnp_ptr root;
    unsigned steps = 0;
    size_t n = frame1(buf, w, 3);
    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root_ptr(&m, &root), CAPNP_OK);
    assert_rc(walk(&root, &steps), CAPNP_E_DEPTH);
    /* Root, then one hop per level until the limit. */
    assert_int_equal(steps, CAPNP_DEFAULT_NESTING);
}

static void struct_pointing_at_itself_ends_in_a_depth_error(void **state)
{
    (void)state;
    /* Deep { child @0 :Deep; level :UInt32 } whose child is itself. */
    uint64_t w[] = {p_struct(0, 1, 1), 7, p_struct(-2, 1, 1)};
    uint8_t buf[64];
    capnp_message m;
    capnp_struct s;
    unsigned hops = 0;
    size_t n = frame1(buf, w, 3);
    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &s), CAPNP_OK);
    int rc;
    while ((rc = capnp_get_struct(&s, DEEP_P_CHILD, &s)) == CAPNP_OK) {
        assert_int_equal(capnp_get_u32(&s, DEEP_LEVEL, 0), 7);
        if (++hops > 1000)
            fail_msg("a cyclic struct was followed %u times", hops);
    }
    assert_rc(rc, CAPNP_E_DEPTH);
    assert_int_equal(hops, CAPNP_DEFAULT_NESTING - 1);
}

/* A Deep chain of `levels` structs (level 0 is the root). */
static size_t build_deep(uint8_t *buf, size_t len, unsigned levels)
{
    capnp_builder b;
    capnp_struct_builder s;
    size_t n;
    capnp_builder_init(&b, buf, len);
    assert_rc(capnp_init_root(&b, 1, 1, &s), CAPNP_OK);
    for (unsigned i = 0; i < levels; i++) {
        capnp_set_u32(&s, DEEP_LEVEL, i, 0);
        if (i + 1 < levels)
            assert_rc(capnp_init_struct(&s, DEEP_P_CHILD, 1, 1, &s), CAPNP_OK);
    }
    assert_rc(capnp_finish(&b, &n), CAPNP_OK);
    return n;
}

/* Follow the chain; returns the error that stopped it and *reached the
 * number of structs read. */
static int follow_deep(capnp_message *m, unsigned *reached)
{
    capnp_struct s;
    int rc = capnp_msg_root(m, &s);
    *reached = 0;
    while (rc == CAPNP_OK) {
        assert_int_equal(capnp_get_u32(&s, DEEP_LEVEL, 0), *reached);
        (*reached)++;
        if (!capnp_has_ptr(&s, DEEP_P_CHILD))
            break;
        rc = capnp_get_struct(&s, DEEP_P_CHILD, &s);
    }
    return rc;
}

static void nesting_limit_stops_a_chain_one_struct_past_the_limit(void **state)
{
    (void)state;
    static uint8_t buf[16384];
    size_t n = build_deep(buf, sizeof buf, 100);
    capnp_message m;
    unsigned reached;

    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(follow_deep(&m, &reached), CAPNP_E_DEPTH);
    assert_int_equal(reached, CAPNP_DEFAULT_NESTING);

    capnp_read_options deep = {.nesting_limit = 100};
    assert_rc(capnp_msg_init(&m, buf, n, &deep), CAPNP_OK);
    assert_rc(follow_deep(&m, &reached), CAPNP_OK);
    assert_int_equal(reached, 100);

    capnp_read_options shallow = {.nesting_limit = 3};
    assert_rc(capnp_msg_init(&m, buf, n, &shallow), CAPNP_OK);
    assert_rc(follow_deep(&m, &reached), CAPNP_E_DEPTH);
    assert_int_equal(reached, 3);
}

static void traversal_limit_charges_every_dereference(void **state)
{
    (void)state;
    static uint8_t buf[2048];
    capnp_builder b;
    capnp_struct_builder r, big;
    capnp_message m;
    capnp_struct rr, s;
    size_t n;
    capnp_builder_init(&b, buf, sizeof buf);
    assert_rc(capnp_init_root(&b, 0, 1, &r), CAPNP_OK);
    assert_rc(capnp_init_struct(&r, 0, 100, 0, &big), CAPNP_OK);
    assert_rc(capnp_finish(&b, &n), CAPNP_OK);

    /* Root (1 word) + 2 reads of 100 words fit in 250; the third not. */
    capnp_read_options opt = {.traversal_limit_words = 250};
    assert_rc(capnp_msg_init(&m, buf, n, &opt), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &rr), CAPNP_OK);
    assert_rc(capnp_get_struct(&rr, 0, &s), CAPNP_OK);
    assert_rc(capnp_get_struct(&rr, 0, &s), CAPNP_OK);
    assert_int_equal(m.traversal_left, 250 - 1 - 200);
    assert_rc(capnp_get_struct(&rr, 0, &s), CAPNP_E_TRAVERSAL);
    /* Once exhausted, stays exhausted. */
    assert_rc(capnp_msg_root(&m, &rr), CAPNP_E_TRAVERSAL);
}

static void
million_zero_sized_structs_in_one_word_are_charged_a_word_each(void **state)
{
    (void)state;
    /* A composite list of 10^6 zero-sized structs: its words are the
     * tag alone, so nothing but the count limits the work. */
    uint64_t w[] = {ROOT1, p_list(0, CAPNP_ELEM_COMPOSITE, 0),
                    p_struct(1000000, 0, 0)};
    uint8_t buf[64];
    capnp_message m;
    capnp_struct r, e;
    capnp_list l;
    size_t n = frame1(buf, w, 3);

    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &r), CAPNP_OK);
    uint64_t before = m.traversal_left;
    assert_rc(capnp_get_list(&r, 0, CAPNP_ELEM_COMPOSITE, &l), CAPNP_OK);
    assert_int_equal(capnp_list_len(&l), 1000000);
    assert_int_equal(before - m.traversal_left, 1000000 + 1);
    assert_rc(capnp_list_get_struct(&l, 999999, &e), CAPNP_OK);
    assert_int_equal(capnp_get_u64(&e, 0, 0), 0);

    /* Read again and again, the default limit runs out on the 9th. */
    int reads = 1, rc;
    while ((rc = capnp_get_list(&r, 0, CAPNP_ELEM_COMPOSITE, &l)) == CAPNP_OK)
        reads++;
    assert_rc(rc, CAPNP_E_TRAVERSAL);
    assert_int_equal(reads, (int)(CAPNP_DEFAULT_TRAVERSAL_WORDS / 1000001));

    capnp_read_options opt = {.traversal_limit_words = 1000000};
    assert_rc(capnp_msg_init(&m, buf, n, &opt), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &r), CAPNP_OK);
    assert_rc(capnp_get_list(&r, 0, CAPNP_ELEM_COMPOSITE, &l),
              CAPNP_E_TRAVERSAL);
}

static void void_list_of_the_largest_count_is_refused_by_the_limit(void **state)
{
    (void)state;
    uint64_t w[] = {ROOT1, p_list(0, CAPNP_ELEM_VOID, (1u << 29) - 1)};
    uint8_t buf[64];
    capnp_message m;
    capnp_ptr p;
    capnp_struct r;
    size_t n = frame1(buf, w, 2);
    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &r), CAPNP_OK);
    assert_rc(capnp_get_ptr(&r, 0, &p), CAPNP_E_TRAVERSAL);
}

static void
million_pointers_to_one_struct_exhaust_the_traversal_limit(void **state)
{
    (void)state;
    /* seg: root -> pointer list of 10^6 elements, each pointing back at
     * one 16-word struct: 8 MB of pointers would read 128 MB. */
    const uint32_t count = 1000000, big = 16;
    uint32_t nwords = 2 + big + count;
    uint64_t *w = calloc(nwords, sizeof *w);
    uint8_t *buf = malloc(8 + (size_t)nwords * 8);
    assert_non_null(w);
    assert_non_null(buf);
    w[0] = ROOT1;
    w[1] = p_list((int32_t)big, CAPNP_ELEM_POINTER, count);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t at = 2 + big + i;
        w[at] = p_struct(2 - (int32_t)at - 1, big, 0);
    }
    size_t n = frame1(buf, w, nwords);
    capnp_message m;
    capnp_struct r, s;
    capnp_list l;
    assert_rc(capnp_msg_init(&m, buf, n, NULL), CAPNP_OK);
    assert_rc(capnp_msg_root(&m, &r), CAPNP_OK);
    assert_rc(capnp_get_list(&r, 0, CAPNP_ELEM_POINTER, &l), CAPNP_OK);
    uint32_t i;
    int rc = CAPNP_OK;
    for (i = 0; i < count; i++) {
        capnp_ptr p;
        if ((rc = capnp_list_get_ptr(&l, i, &p)) != CAPNP_OK)
            break;
        assert_int_equal(p.kind, CAPNP_PTR_STRUCT);
    }
    assert_rc(rc, CAPNP_E_TRAVERSAL);
    /* Limit minus root and list, in 16-word reads. */
    uint64_t want = (CAPNP_DEFAULT_TRAVERSAL_WORDS - 1 - count) / big;
    assert_int_equal(i, want);
    (void)s;
    free(w);
    free(buf);
}

int test_capnp_hostile_run(void)
{
    const struct CMUnitTest hostile[] = {
        cmocka_unit_test(malformed_framing_is_refused),
        cmocka_unit_test(every_malformed_pointer_class_returns_its_error),
        cmocka_unit_test(failed_reads_leave_safe_empty_values),
        cmocka_unit_test(
            valid_double_far_pointer_reaches_a_struct_in_a_third_segment),
        cmocka_unit_test(list_pointing_at_itself_ends_in_a_depth_error),
        cmocka_unit_test(struct_pointing_at_itself_ends_in_a_depth_error),
        cmocka_unit_test(nesting_limit_stops_a_chain_one_struct_past_the_limit),
        cmocka_unit_test(traversal_limit_charges_every_dereference),
        cmocka_unit_test(
            million_zero_sized_structs_in_one_word_are_charged_a_word_each),
        cmocka_unit_test(
            void_list_of_the_largest_count_is_refused_by_the_limit),
        cmocka_unit_test(
            million_pointers_to_one_struct_exhaust_the_traversal_limit),
    };

    return cmocka_run_group_tests_name("capnp hostile input", hostile, NULL,
                                       NULL);
}
