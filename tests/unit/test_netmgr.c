/*
 * test_netmgr.c - NetworkManager and the guest-port forwards it listens through
 * (kernel-model/netmgr.c, net.c): forwards from the manifest and the
 * host's overrides, refusals of bad forwards and grants, ports in use.
 *
 * Over real loopback sockets, driven from the host context through a
 * process's ring (tests/unit/harness_net.h).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "harness_net.h"
#include "capos.capnp.h"
#include "net_uv.h"

static void the_interface_ids_are_the_schemas(void **state)
{
    (void)state;
    assert_int_equal(K_IFACE_NETWORK_MANAGER,
                     CAPOS_NETWORK_MANAGER_INTERFACE_ID);
    assert_int_equal(K_IFACE_TCP_LISTEN_AUTHORITY,
                     CAPOS_TCP_LISTEN_AUTHORITY_INTERFACE_ID);
    assert_int_equal(K_IFACE_TCP_LISTENER, CAPOS_TCP_LISTENER_INTERFACE_ID);
    assert_int_equal(K_IFACE_TCP_SOCKET, CAPOS_TCP_SOCKET_INTERFACE_ID);
}

static void a_guest_port_without_a_forward_is_denied(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    uint16_t host = hn_free_port();
    hn_forward(23, host, 0);
    uint32_t nm;
    assert_int_equal(netmgr_grant(p, &nm), 0);
    struct res r = hn_call_u32(
        p, nm, CAPOS_NETWORK_MANAGER_LISTEN_TCP_METHOD_ID, 0, 99, false, RES);
    assert_int_equal(hn_listen_error(&r), CAPOS_NET_ERROR_PERMISSION_DENIED);
    /* The forwarded port works through the manager, once at a time. */
    r = hn_call_u32(p, nm, CAPOS_NETWORK_MANAGER_LISTEN_TCP_METHOD_ID, 0, 23,
                    false, RES);
    capnp_struct s;
    hn_res_struct(&r, &s);
    assert_int_equal(capos_TcpListenResult_which(&s),
                     CAPOS_TCP_LISTEN_RESULT_WHICH_LISTENER);
    struct res r2 = hn_call_u32(
        p, nm, CAPOS_NETWORK_MANAGER_LISTEN_TCP_METHOD_ID, 0, 23, false, RES);
    assert_int_equal(hn_listen_error(&r2), CAPOS_NET_ERROR_ADDRESS_IN_USE);
    /* Closing the listener frees the guest port. */
    assert_int_equal(
        hn_call0(p, r.cap, CAPOS_TCP_LISTENER_CLOSE_METHOD_ID).result, 0);
    r2 = hn_call_u32(p, nm, CAPOS_NETWORK_MANAGER_LISTEN_TCP_METHOD_ID, 0, 23,
                     false, RES);
    hn_res_struct(&r2, &s);
    assert_int_equal(capos_TcpListenResult_which(&s),
                     CAPOS_TCP_LISTEN_RESULT_WHICH_LISTENER);
    /* getConfig: the simulated guest network. */
    r = hn_call0(p, nm, CAPOS_NETWORK_MANAGER_GET_CONFIG_METHOD_ID);
    hn_res_struct(&r, &s);
    const char *t;
    size_t n;
    assert_int_equal(capos_NetworkConfig_get_address(&s, &t, &n), 0);
    assert_int_equal(n, 9);
    assert_memory_equal(t, "10.0.2.15", 9);
    assert_int_equal(capos_NetworkConfig_get_prefixLength(&s), 24);
}

static void a_host_port_in_use_answers_address_in_use(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    int busy = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(busy, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(busy, 1), 0);
    assert_int_equal(getsockname(busy, (struct sockaddr *)&a, &len), 0);
    uint16_t host = ntohs(a.sin_port);
    hn_forward(23, host, 0);
    uint32_t auth = hn_grant_auth(p, 23);
    struct res r = hn_call_u32(
        p, auth, CAPOS_TCP_LISTEN_AUTHORITY_LISTEN_METHOD_ID, 0, 4, false, RES);
    assert_int_equal(hn_listen_error(&r), CAPOS_NET_ERROR_ADDRESS_IN_USE);
    char out[512], want[128];
    ssize_t n = read(hn_out_fd[0], out, sizeof out - 1);
    assert_true(n > 0);
    out[n] = 0;
    snprintf(want, sizeof want, "net: host 127.0.0.1:%u is already in use",
             host);
    if (!strstr(out, want))
        fail_msg("console: \"%s\"", out);
    /* Not spent: once the host port is free, listen works. */
    close(busy);
    (void)hn_listen_auth(p, auth);
}

static void bad_forwards_and_badges_are_refused(void **state)
{
    (void)state;
    char err[200];
    struct k_msg m = {err, sizeof err, 0};
    hn_forward(23, hn_free_port(), 0);
    assert_int_equal(net_check_listen_port(0, &m), CAP_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err, "not a guest port"));
    m.len = 0;
    assert_int_equal(net_check_listen_port(70000, &m), CAP_ERR_INVALID_REQUEST);
    m.len = 0;
    assert_int_equal(net_check_listen_port(24, &m), CAP_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err, "no forward"));
    struct fwd bad[] = {{23, 1, 0, "localhost"}};
    assert_int_equal(hn_configure(bad, 1, err, sizeof err),
                     CAP_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err, "dotted quad"));
    struct fwd dup[] = {{23, 1, 0, NULL}, {23, 2, 0, NULL}};
    assert_int_equal(hn_configure(dup, 2, err, sizeof err),
                     CAP_ERR_INVALID_REQUEST);
    struct fwd zero[] = {{0, 1, 0, NULL}};
    assert_int_equal(hn_configure(zero, 1, err, sizeof err),
                     CAP_ERR_INVALID_REQUEST);
    /* An override for a guest port the manifest does not forward. */
    assert_int_equal(net_hostfwd(80, 8080), 0);
    struct fwd one[] = {{23, 1, 0, NULL}};
    assert_int_equal(hn_configure(one, 1, err, sizeof err),
                     CAP_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err, "guest port 80"));
}

static void a_host_override_moves_the_forward(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    uint16_t host = hn_free_port();
    assert_int_equal(net_hostfwd(23, host), 0);
    hn_forward(23, 1, 0); /* the manifest's port 1 is overridden */
    uint32_t l = hn_listen_auth(p, hn_grant_auth(p, 23));
    int fd = hn_client(host);
    (void)hn_accept_one(p, l);
    close(fd);
}

static void a_bound_forward_is_announced_on_stderr(void **state)
{
    (void)state;
    struct k_process *p = h_proc("srv", 0);
    hn_forward(23, 0, 0); /* host port 0: the host picks one */
    uint32_t auth = hn_grant_auth(p, 23);
    int pfd[2];
    assert_int_equal(pipe2(pfd, O_NONBLOCK | O_CLOEXEC), 0);
    int saved = dup(2);
    fflush(stderr);
    assert_int_equal(dup2(pfd[1], 2), 2);
    sim_net_set_quiet(false);
    uint32_t l = hn_listen_auth(p, auth);
    sim_net_set_quiet(true);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char got[256];
    ssize_t n = read(pfd[0], got, sizeof got - 1);
    close(pfd[0]);
    close(pfd[1]);
    assert_true(n > 0);
    got[n] = 0;
    unsigned port = 0;
    char tail[8] = "";
    if (sscanf(got, "capos-sim: tcp 127.0.0.1:%u -> guest :23%7[^x]", &port,
               tail) != 2 ||
        strcmp(tail, "\n") != 0 || port == 0)
        fail_msg("stderr: \"%s\"", got);
    /* The announced port is the real one: a client gets through. */
    int fd = hn_client((uint16_t)port);
    (void)hn_accept_one(p, l);
    close(fd);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, hn_setup, hn_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_interface_ids_are_the_schemas),
        T(a_guest_port_without_a_forward_is_denied),
        T(a_host_port_in_use_answers_address_in_use),
        T(bad_forwards_and_badges_are_refused),
        T(a_host_override_moves_the_forward),
        T(a_bound_forward_is_announced_on_stderr),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
