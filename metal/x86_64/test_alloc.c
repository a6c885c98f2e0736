/*
 * test_alloc.c - the bare-metal port's memory (metal/x86_64/pages.c and
 * heap.c) run on the host: frames come from a 32 MiB mapping below 4 GiB
 * (MAP_32BIT), handed to pages_init as the boot memory map would be, and
 * port_panic returns here through longjmp so bad frees can be asserted.
 * heap.c's malloc family is renamed mt_* for this program.
 */
#define _GNU_SOURCE

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "metal.h"
#include "port.h"

void *mt_calloc(size_t n, size_t size);

#define T_RAM (32u << 20)
#define T_PAGE 4096u

static uint8_t *t_ram;
static jmp_buf t_panic_jmp;
static const char *t_panic_msg;
static bool t_expect_panic;

_Noreturn void port_panic(const char *msg)
{
    t_panic_msg = msg;
    if (!t_expect_panic)
        fail_msg("unexpected port_panic: %s", msg);
    longjmp(t_panic_jmp, 1);
}

/* Run stmt expecting a port_panic whose message contains want. */
#define EXPECT_PANIC(stmt, want)                                             \
    do {                                                                     \
        t_expect_panic = true;                                               \
        if (setjmp(t_panic_jmp) == 0) {                                      \
            stmt;                                                            \
            fail_msg("no panic from %s", #stmt);                             \
        }                                                                    \
        t_expect_panic = false;                                              \
        assert_non_null(strstr(t_panic_msg, want));                          \
    } while (0)

static int t_setup(void **state)
{
    (void)state;
    static bool up;
    if (!up) {
        t_ram = mmap(NULL, T_RAM, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        assert_true(t_ram != MAP_FAILED);
        struct pages_range r = {(uint64_t)(uintptr_t)t_ram, T_RAM};
        pages_init(&r, 1);
        up = true;
    }
    return 0;
}

static bool t_in_ram(const void *p, size_t n)
{
    return (const uint8_t *)p >= t_ram && (const uint8_t *)p + n <= t_ram + T_RAM;
}

static void page_runs_are_contiguous_zeroed_and_come_back(void **state)
{
    (void)state;
    uint64_t before = pages_free_count();
    uint8_t *p = port_pages_alloc(10 * T_PAGE);
    assert_non_null(p);
    assert_true(t_in_ram(p, 10 * T_PAGE));
    assert_int_equal((uintptr_t)p % T_PAGE, 0);
    assert_int_equal(pages_free_count(), before - 10);
    for (size_t i = 0; i < 10 * T_PAGE; i++)
        assert_int_equal(p[i], 0);
    memset(p, 0xab, 10 * T_PAGE);
    port_pages_free(p, 10 * T_PAGE);
    assert_int_equal(pages_free_count(), before);
    uint8_t *q = port_pages_alloc(3 * T_PAGE); /* first fit: the same run */
    assert_ptr_equal(q, p);
    for (size_t i = 0; i < 3 * T_PAGE; i++)
        assert_int_equal(q[i], 0);
    port_pages_free(q, 3 * T_PAGE);
}

static void too_large_a_run_is_refused(void **state)
{
    (void)state;
    uint64_t before = pages_free_count();
    assert_null(port_pages_alloc(T_RAM + T_PAGE));
    assert_null(port_pages_alloc(0));
    assert_int_equal(pages_free_count(), before);
    port_pages_free(NULL, T_PAGE); /* nothing */
}

static void bad_page_frees_panic(void **state)
{
    (void)state;
    uint8_t *p = port_pages_alloc(T_PAGE);
    assert_non_null(p);
    EXPECT_PANIC(port_pages_free(p + 16, T_PAGE), "not from");
    port_pages_free(p, T_PAGE);
    EXPECT_PANIC(port_pages_free(p, T_PAGE), "freed twice");
}

static void heap_blocks_are_aligned_zeroed_and_distinct(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 16, 17, 100, 2032, 2033, 5000, 100000};
    void *b[9];
    uint64_t live = heap_live_count();
    for (unsigned i = 0; i < 9; i++) {
        b[i] = port_alloc(sizes[i]);
        assert_non_null(b[i]);
        assert_int_equal((uintptr_t)b[i] % 16, 0);
        assert_true(t_in_ram(b[i], sizes[i]));
        for (size_t j = 0; j < sizes[i]; j++)
            assert_int_equal(((uint8_t *)b[i])[j], 0);
        memset(b[i], 0x5a, sizes[i]);
        for (unsigned k = 0; k < i; k++)
            assert_ptr_not_equal(b[i], b[k]);
    }
    assert_int_equal(heap_live_count(), live + 9);
    for (unsigned i = 0; i < 9; i++)
        port_free(b[i]);
    assert_int_equal(heap_live_count(), live);
    /* Reused blocks come back zeroed. */
    uint8_t *again = port_alloc(100);
    for (size_t j = 0; j < 100; j++)
        assert_int_equal(again[j], 0);
    port_free(again);
}

static void large_blocks_return_their_pages(void **state)
{
    (void)state;
    uint64_t before = pages_free_count();
    void *big = port_alloc(19u << 20); /* one Argon2id verification */
    assert_non_null(big);
    assert_true(pages_free_count() < before - (19u << 20) / T_PAGE + 1);
    port_free(big);
    assert_int_equal(pages_free_count(), before);
}

static void bad_heap_frees_panic(void **state)
{
    (void)state;
    uint8_t *p = port_alloc(40);
    port_free(NULL); /* nothing */
    port_free(p);
    EXPECT_PANIC(port_free(p), "freed twice");
    uint8_t *q = port_alloc(64);
    EXPECT_PANIC(port_free(q + 16), "not a heap pointer");
    EXPECT_PANIC(port_free(q + 8), "not a heap pointer");
    port_free(q);
}

static void calloc_refuses_an_overflowing_size(void **state)
{
    (void)state;
    assert_null(mt_calloc(SIZE_MAX / 2, 4));
    void *p = mt_calloc(3, 5);
    assert_non_null(p);
    port_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(page_runs_are_contiguous_zeroed_and_come_back),
        cmocka_unit_test(too_large_a_run_is_refused),
        cmocka_unit_test(bad_page_frees_panic),
        cmocka_unit_test(heap_blocks_are_aligned_zeroed_and_distinct),
        cmocka_unit_test(large_blocks_return_their_pages),
        cmocka_unit_test(bad_heap_frees_panic),
        cmocka_unit_test(calloc_refuses_an_overflowing_size),
    };
    return cmocka_run_group_tests(tests, t_setup, NULL);
}
