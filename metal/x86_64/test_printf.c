/*
 * test_printf.c - the bare-metal port's vsnprintf (metal/x86_64/printf.c,
 * compiled here as mp_snprintf) against the host C library's snprintf:
 * every conversion, flag, width, precision and length modifier the
 * services and the model use, the same output and the same return value,
 * also when the buffer is too small or empty.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

int mp_snprintf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Both printfs with buffers of 64, 5, 1 and 0 bytes: equal text (what
 * fits, NUL-terminated) and equal return values. */
#define SAME(...)                                                            \
    do {                                                                     \
        static const size_t caps[] = {64, 5, 1, 0};                          \
        for (unsigned i_ = 0; i_ < 4; i_++) {                                \
            char want[64], got[64];                                          \
            memset(want, 'x', sizeof want);                                  \
            memset(got, 'x', sizeof got);                                    \
            int w_ = snprintf(want, caps[i_], __VA_ARGS__);                  \
            int g_ = mp_snprintf(got, caps[i_], __VA_ARGS__);                \
            assert_int_equal(g_, w_);                                        \
            assert_memory_equal(got, want, sizeof want);                     \
        }                                                                    \
    } while (0)

static void integers_match_the_c_library(void **state)
{
    (void)state;
    SAME("%d %i %u", 0, -1, 42u);
    SAME("%d %d", INT_MIN, INT_MAX);
    SAME("%lld %llu", LLONG_MIN, ULLONG_MAX);
    SAME("%ld %lu %zu", LONG_MIN, ULONG_MAX, (size_t)SIZE_MAX);
    SAME("%hd %hhu %hhd", (short)-3, (unsigned char)250, (signed char)-5);
    SAME("%jd %td", (intmax_t)-7, (ptrdiff_t)-9);
    SAME("%x %X %o", 0xdeadbeefu, 0xabcu, 8u);
    SAME("%#x %#X %#o %#x %#o", 255u, 255u, 8u, 0u, 0u);
    SAME("%#llx %016llx %llx", 0x5e1full, 0x1234ull, 0ull);
}

static void widths_precisions_and_flags_match(void **state)
{
    (void)state;
    SAME("[%5d] [%-5d] [%05d] [%+d] [% d]", 42, 42, 42, 42, 42);
    SAME("[%05d] [%5.3d] [%.0d] [%.0x]", -42, 7, 0, 0u);
    SAME("[%*d] [%-*d] [%*d]", 6, 1, 6, 2, -6, 3);
    SAME("[%.*d] [%.*d]", 4, 5, -1, 6);
    SAME("[%02x] [%08x] [%-8x|]", 0xau, 0xbeefu, 0x1u);
    SAME("[%+05d] [% 05d]", 12, 12);
}

static void strings_and_characters_match(void **state)
{
    (void)state;
    SAME("%s|%10s|%-10s|", "capos", "right", "left");
    SAME("%.3s|%.*s|%.64s|", "abcdef", 2, "xyz", "short");
    SAME("%-16s|%c%c|%5c|", "operator", 'o', 'k', '!');
    SAME("%.*s", 0, "nothing");
    SAME("100%% %s", "done");
    SAME("%s", "");
}

static void pointers_match(void **state)
{
    (void)state;
    int x;
    SAME("%p", (void *)&x);
    SAME("%p", (void *)0x1000);
}

static void long_output_is_cut_but_counted(void **state)
{
    (void)state;
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    SAME("%s and %d", big, 12345);
}

static void unknown_conversion_is_copied_through(void **state)
{
    (void)state;
    char out[32];
    /* glibc prints its own way here; metal shows the spec as written. */
    assert_int_equal(mp_snprintf(out, sizeof out, "a%qb"), 4);
    assert_string_equal(out, "a%qb");
    assert_int_equal(mp_snprintf(out, sizeof out, "end%"), 4);
    assert_string_equal(out, "end%");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers_match_the_c_library),
        cmocka_unit_test(widths_precisions_and_flags_match),
        cmocka_unit_test(strings_and_characters_match),
        cmocka_unit_test(pointers_match),
        cmocka_unit_test(long_output_is_cut_but_counted),
        cmocka_unit_test(unknown_conversion_is_copied_through),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
