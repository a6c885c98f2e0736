/*
 * test_errname.c - lib/errname.c: every error code of the ABI, the codec
 * and the runtime has a name and a sentence, codes of the three spaces
 * never collide, and an unknown code has neither.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "capos/capnp.h"
#include "capos/errname.h"
#include "capos/ring.h"

static void every_code_has_a_name_and_a_sentence(void **state)
{
    (void)state;
    static const int codes[] = {
        CAP_ERR_INVALID_REQUEST, CAP_ERR_INVALID_PARAMS_BUFFER,
        CAP_ERR_INVALID_RESULT_BUFFER, CAP_ERR_INVOKE_FAILED,
        CAP_ERR_UNSUPPORTED_OPCODE, CAP_ERR_APPLICATION_EXCEPTION,
        CAP_ERR_APPLICATION_EXCEPTION_TRUNCATED, CAP_ERR_INVALID_TRANSFER,
        CAP_ERR_TRANSFER_REJECTED, CAP_ERR_QUEUE_FULL, CAP_ERR_DISCONNECTED,
        CAP_ERR_RING_BUSY, CAP_ERR_RING_CORRUPT, CAP_ERR_WRONG_INTERFACE,
        CAPNP_E_BOUNDS, CAPNP_E_TYPE, CAPNP_E_DEPTH, CAPNP_E_TRAVERSAL,
        CAPNP_E_NOSPACE, CAPNP_E_FRAMING, CAPNP_E_FAR, CAPNP_E_TEXT,
        CAPNP_E_INVAL, CAPOS_RT_E_NOT_FOUND, CAPOS_RT_E_WRONG_INTERFACE,
        CAPOS_RT_E_NO_MEMORY, CAPOS_RT_E_TIMEOUT, CAPOS_RT_E_TOO_MANY};
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        assert_non_null(capos_error_name(codes[i]));
        const char *s = capos_error_sentence(codes[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 10);
        assert_string_not_equal(s, "unknown capnp error");
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(codes[i], codes[j]); /* one meaning each */
    }
    assert_string_equal(capos_error_name(CAP_ERR_QUEUE_FULL), "QUEUE_FULL");
    assert_string_equal(capos_error_name(CAPNP_E_NOSPACE), "NOSPACE");
    assert_string_equal(capos_error_name(CAPOS_RT_E_NOT_FOUND), "NOT_FOUND");
    assert_string_equal(capos_error_name(0), "ok");
    assert_string_equal(capos_error_name(17), "ok");
}

static void an_unknown_code_has_neither(void **state)
{
    (void)state;
    assert_null(capos_error_name(-15));
    assert_null(capos_error_sentence(-15));
    assert_null(capos_error_name(-99));
    assert_null(capos_error_sentence(-1000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_has_a_name_and_a_sentence),
        cmocka_unit_test(an_unknown_code_has_neither),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
