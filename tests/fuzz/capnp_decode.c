/*
 * capnp_decode.c - libFuzzer target: bytes -> Cap'n Proto message reader
 * (lib/capnp.c) -> walk everything reachable.
 *
 * The input is read twice: as a stream-framed message (segment table and
 * segments) and as one flat segment (the input cut to whole words). From
 * the root every pointer is followed with every typed getter that applies
 * (struct, list of each expected element size, text, data, capability,
 * AnyPointer) and every element of every list is read with every primitive
 * and pointer getter, down to the nesting limit and within a traversal
 * limit small enough that one input costs little time.
 *
 * Besides the sanitizers, the walk checks the codec's promises itself:
 * every struct, list, text and data it returns lies inside the input,
 * text is NUL-terminated there, and errors are CAPNP_E_* codes. A broken
 * promise aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "capos/capnp.h"

/* Small limits: a walk visits each element a handful of times, so the
 * traversal limit bounds the work per input. The limit is proportional
 * to the input (FUZZ_AMPLIFICATION words read per word of input, at
 * least FUZZ_TRAVERSAL_MIN, at most FUZZ_TRAVERSAL_WORDS): with one fixed
 * limit every input, however short, could make the walk read 16 Ki
 * words, and a campaign's corpus drifts toward such inputs (the rate fell
 * from ~3,300 to ~870 execs/s in 5 minutes; docs/fuzzing.md). */
#define FUZZ_TRAVERSAL_WORDS (1u << 14)
#define FUZZ_TRAVERSAL_MIN 64u
#define FUZZ_AMPLIFICATION 8u
/* Elements visited per list: the first ones, the last and one past it. */
#define FUZZ_LIST_HEAD 512u
#define FUZZ_NESTING 24u

static const uint8_t *in_lo, *in_hi; /* the input: all reads stay inside */

static void broken(const char *what)
{
    fprintf(stderr, "capnp_decode: codec broke a promise: %s\n", what);
    abort();
}

static void check_range(const void *p, uint64_t n, const char *what)
{
    const uint8_t *b = p;
    if (n == 0)
        return;
    if (b < in_lo || b > in_hi || n > (uint64_t)(in_hi - b))
        broken(what);
}

static void check_rc(int rc)
{
    if (rc > 0 || rc < CAPNP_E_INVAL)
        broken("error code outside CAPNP_E_*");
    if (rc == CAPNP_E_INVAL || rc == CAPNP_E_NOSPACE || rc == CAPNP_E_FRAMING)
        broken("reader returned a builder or framing error for a pointer");
}

static void check_struct(const capnp_struct *s)
{
    check_range(s->data, s->data_bytes, "struct data outside the input");
    check_range(s->ptrs, (uint64_t)s->nptrs * 8,
                "struct pointers outside the input");
}

static void check_list(const capnp_list *l)
{
    uint64_t bits = (uint64_t)l->len * l->step_bits;
    check_range(l->base, (bits + 7) / 8, "list outside the input");
    if (l->elem == CAPNP_ELEM_COMPOSITE && l->base != NULL)
        check_range(l->base - 8, 8, "list tag outside the input");
}

static void walk_struct(const capnp_struct *s);
static void walk_list(const capnp_list *l);

static void walk_ptr(const capnp_ptr *p)
{
    switch (p->kind) {
    case CAPNP_PTR_NULL:
    case CAPNP_PTR_CAP:
        break;
    case CAPNP_PTR_STRUCT:
        walk_struct(&p->s);
        break;
    case CAPNP_PTR_LIST:
        walk_list(&p->l);
        break;
    default:
        broken("unknown capnp_ptr kind");
    }
}

static void read_text_data(int rc, const uint8_t *p, size_t n, bool text)
{
    check_rc(rc);
    if (p == NULL)
        broken("text/data pointer is NULL");
    if (rc != CAPNP_OK || n == 0)
        return;
    check_range(p, n + (text ? 1 : 0), "text/data outside the input");
    if (text && p[n] != 0)
        broken("text not NUL-terminated");
}

static const unsigned elem_kinds[] = {
    CAPNP_ELEM_VOID,      CAPNP_ELEM_BIT,        CAPNP_ELEM_BYTE,
    CAPNP_ELEM_TWO_BYTES, CAPNP_ELEM_FOUR_BYTES, CAPNP_ELEM_EIGHT_BYTES,
    CAPNP_ELEM_POINTER,   CAPNP_ELEM_COMPOSITE,
};

static volatile uint64_t sink; /* keep primitive reads */

static void walk_struct(const capnp_struct *s)
{
    check_struct(s);
    for (uint32_t off = 0; off < s->data_bytes + 8; off += 4) {
        sink += capnp_get_u64(s, off, 1) + capnp_get_u32(s, off, 2) +
                capnp_get_u16(s, off + 2, 3) + capnp_get_u8(s, off + 3, 4) +
                capnp_get_bool(s, off * 8 + 5, true);
    }
    for (uint16_t i = 0; i <= s->nptrs; i++) { /* one past: schema evolution */
        const char *t;
        const uint8_t *d;
        size_t n;
        uint32_t cap;
        capnp_struct c;
        capnp_list l;
        capnp_ptr p;

        (void)capnp_has_ptr(s, i);
        check_rc(capnp_get_cap(s, i, &cap));
        read_text_data(capnp_get_text(s, i, &t, &n), (const uint8_t *)t, n,
                       true);
        read_text_data(capnp_get_data(s, i, &d, &n), d, n, false);
        int rc = capnp_get_struct(s, i, &c);
        check_rc(rc);
        check_struct(&c);
        for (size_t k = 0; k < sizeof elem_kinds / sizeof elem_kinds[0]; k++) {
            rc = capnp_get_list(s, i, elem_kinds[k], &l);
            check_rc(rc);
            check_list(&l);
        }
        rc = capnp_get_ptr(s, i, &p);
        check_rc(rc);
        if (rc == CAPNP_OK)
            walk_ptr(&p);
    }
}

static void walk_list(const capnp_list *l)
{
    check_list(l);
    for (uint32_t i = 0; i <= l->len; i++) {
        if (i == FUZZ_LIST_HEAD && l->len > FUZZ_LIST_HEAD + 1)
            i = l->len - 1;
        sink += capnp_list_get_bool(l, i) + capnp_list_get_u8(l, i) +
                capnp_list_get_u16(l, i) + capnp_list_get_u32(l, i) +
                capnp_list_get_u64(l, i);
        capnp_struct s;
        int rc = capnp_list_get_struct(l, i, &s);
        check_rc(rc);
        if (rc == CAPNP_OK && l->elem == CAPNP_ELEM_COMPOSITE) {
            walk_struct(&s); /* walks the element's pointers too */
            continue;
        }
        if (l->nptrs == 0)
            continue;
        const char *t;
        const uint8_t *d;
        size_t n;
        uint32_t cap;
        capnp_list sub;
        capnp_ptr p;
        check_rc(capnp_list_get_cap(l, i, &cap));
        read_text_data(capnp_list_get_text(l, i, &t, &n), (const uint8_t *)t, n,
                       true);
        read_text_data(capnp_list_get_data(l, i, &d, &n), d, n, false);
        rc = capnp_list_get_list(l, i, CAPNP_ELEM_EIGHT_BYTES, &sub);
        check_rc(rc);
        check_list(&sub);
        rc = capnp_list_get_ptr(l, i, &p);
        check_rc(rc);
        if (rc == CAPNP_OK)
            walk_ptr(&p);
    }
}

static void walk_message(capnp_message *m)
{
    capnp_struct root;
    capnp_ptr p;
    int rc = capnp_msg_root(m, &root);
    check_rc(rc);
    if (rc == CAPNP_OK)
        walk_struct(&root);
    rc = capnp_msg_root_ptr(m, &p);
    check_rc(rc);
    if (rc == CAPNP_OK)
        walk_ptr(&p);
}

/*
 * ASan defaults of this target (ASAN_OPTIONS still overrides them). The
 * walk allocates nothing, but libFuzzer copies every input into a fresh
 * heap block and frees it after the run; ASan keeps freed blocks in its
 * quarantine (256 MB by default) before reusing them, so RSS grew with
 * the number of runs until the quarantine was full (68 -> 400 MB in a
 * 5-minute campaign), which looked like memory kept per input. A small
 * quarantine still catches a use after free of those copies.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=16";
}

/* The traversal limit for an input of size bytes (see
 * FUZZ_AMPLIFICATION). */
static uint64_t traversal_words(size_t size)
{
    uint64_t words = (uint64_t)(size / 8) * FUZZ_AMPLIFICATION;
    if (words < FUZZ_TRAVERSAL_MIN)
        return FUZZ_TRAVERSAL_MIN;
    return words < FUZZ_TRAVERSAL_WORDS ? words : FUZZ_TRAVERSAL_WORDS;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const capnp_read_options opt = {
        .traversal_limit_words = traversal_words(size),
        .nesting_limit = FUZZ_NESTING,
    };
    capnp_message m;

    in_lo = data;
    in_hi = data + size;

    int rc = capnp_msg_init(&m, data, size, &opt);
    if (rc == CAPNP_OK) {
        if (m.bytes > size || m.nseg == 0 || m.nseg > CAPNP_MAX_SEGMENTS)
            broken("framing accepted more than the input");
        for (uint32_t i = 0; i < m.nseg; i++)
            check_range(m.seg[i], (uint64_t)m.seg_words[i] * 8,
                        "segment outside the input");
        walk_message(&m);
    } else if (rc != CAPNP_E_FRAMING) {
        broken("capnp_msg_init returned something else than FRAMING");
    }

    rc = capnp_msg_init_flat(&m, data, size & ~(size_t)7, &opt);
    if (rc != CAPNP_OK)
        broken("flat init refused whole words");
    walk_message(&m);
    return 0;
}
