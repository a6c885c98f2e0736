/*
 * test_tcpauth.c - TcpListenAuthority (kernel-model/tcpauth.c): a one-shot
 * authority to listen on one guest port.
 *
 * Over real loopback sockets, driven from the host context through a
 * process's ring (tests/unit/harness_net.h).
 */
#define _GNU_SOURCE

#include "harness.h"
#include "harness_net.h"
#include "capos.capnp.h"

static void a_second_listen_on_an_authority_is_already_used(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    hn_forward(23, hn_free_port(), 0);
    uint32_t auth = hn_grant_auth(p, 23);
    (void)hn_listen_auth(p, auth);
    struct res r = hn_call_u32(
        p, auth, CAPOS_TCP_LISTEN_AUTHORITY_LISTEN_METHOD_ID, 0, 4, false, RES);
    assert_int_equal(hn_listen_error(&r), CAPOS_NET_ERROR_ALREADY_USED);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, hn_setup, hn_teardown)
    const struct CMUnitTest tests[] = {
        T(a_second_listen_on_an_authority_is_already_used),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
