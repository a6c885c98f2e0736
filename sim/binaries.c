/*
 * binaries.c - the built-in programs linked into capos-sim.
 *
 * A manifest names a program with `image = (builtin = "NAME")`. Each
 * service is compiled with its capos_main renamed to capos_service_NAME_main
 * (see Makefile.am) and linked in; this table maps the name to a first-
 * thread entry that starts the runtime on that main.
 */
#include "binaries.h"

#include "capos_rt.h"

#define SERVICE(name)                                                          \
    int capos_service_##name##_main(capos_capset_t *caps);                     \
    static void entry_##name(void *arg)                                        \
    {                                                                          \
        (void)arg;                                                             \
        capos_rt_start(capos_service_##name##_main);                           \
    }

SERVICE(hello)
SERVICE(init)
SERVICE(selftest_server)
SERVICE(selftest_client)
SERVICE(audit_log)
SERVICE(credential_store)
SERVICE(session_manager)
SERVICE(authority_broker)
SERVICE(shell)
SERVICE(shell_launcher)
SERVICE(echo_identity)
SERVICE(restricted_launcher)
SERVICE(telnet_gateway)

static const struct sim_binary builtins[] = {
    {"hello", entry_hello},
    {"init", entry_init},
    {"selftest-server", entry_selftest_server},
    {"selftest-client", entry_selftest_client},
    {"audit-log", entry_audit_log},
    {"credential-store", entry_credential_store},
    {"session-manager", entry_session_manager},
    {"authority-broker", entry_authority_broker},
    {"capos-shell", entry_shell},
    {"shell-launcher", entry_shell_launcher},
    {"echo-identity", entry_echo_identity},
    {"restricted-shell-launcher", entry_restricted_launcher},
    {"telnet-gateway", entry_telnet_gateway},
};

void sim_register_builtins(void)
{
    sim_set_binaries(builtins, sizeof builtins / sizeof builtins[0]);
}
