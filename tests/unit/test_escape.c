/*
 * test_escape.c - capos_escape_text (lib/escape.c): what passes, what is
 * escaped, and that a short buffer never cuts an escape.
 */
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <capos/escape.h>

static void printable_ascii_passes(void **state)
{
    (void)state;
    char out[64];
    capos_escape_str(out, sizeof out, "operator@capos ~{}");
    assert_string_equal(out, "operator@capos ~{}");
}

static void controls_del_and_high_bytes_are_escaped(void **state)
{
    (void)state;
    char out[128];
    static const char in[] = "a\x1b[2Jb\x7f\x9b\xc3\xa9\\\n";
    capos_escape_text(out, sizeof out, in, sizeof in - 1);
    assert_string_equal(out, "a\\x1b[2Jb\\x7f\\x9b\\xc3\\xa9\\\\x0a");
    assert_int_equal(capos_escape_size(in, sizeof in - 1), strlen(out) + 1);
}

static void nul_inside_the_length_is_escaped(void **state)
{
    (void)state;
    char out[16];
    capos_escape_text(out, sizeof out, "a\0b", 3);
    assert_string_equal(out, "a\\x00b");
}

static void a_cut_never_splits_an_escape(void **state)
{
    (void)state;
    char out[10];
    capos_escape_str(out, sizeof out, "abcd\x1b\x1b\x1b");
    /* "abcd\x1b" does not leave room for "...": whole escape dropped. */
    assert_string_equal(out, "abcd...");
    char tiny[3];
    capos_escape_str(tiny, sizeof tiny, "\x1b");
    assert_string_equal(tiny, "");
    char one[1];
    capos_escape_str(one, sizeof one, "abc");
    assert_string_equal(one, "");
    char exact[5];
    capos_escape_str(exact, sizeof exact, "\x01");
    assert_string_equal(exact, "\\x01");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(printable_ascii_passes),
        cmocka_unit_test(controls_del_and_high_bytes_are_escaped),
        cmocka_unit_test(nul_inside_the_length_is_escaped),
        cmocka_unit_test(a_cut_never_splits_an_escape),
    };
    return cmocka_run_group_tests_name("escape", tests, NULL, NULL);
}
