/*
 * echo-identity - a demo participant pair for endpoint identity
 * (builtin "echo-identity"): one binary, two roles by CapSet.
 *
 * Server: caps "serve" (Endpoint, exported typed EchoIdentity) and
 * "console". Every call on "serve", whatever its method, is reported on
 * the console as
 *   echo-identity: call from badge N
 * where N is the kernel-set badge of the caller's facet (the identity the
 * caller holds, never a value it sends), and answered with an empty
 * result. Exits when its endpoint is disconnected.
 *
 * Client: caps "svc" (an EchoIdentity facet of the server's endpoint) and
 * "console" (e.g. started from the shell: `spawn echo-identity with { svc:
 * @svc }`). Calls EchoIdentity.hello on svc once and says "echo-identity:
 * svc answered" (exit 0) or why not (exit 1; exit 2 when svc is missing
 * or speaks another interface).
 *
 * Neither role can choose a badge: the server sees what the kernel says.
 */
#include <stdio.h>
#include <string.h>

#include "capos.capnp.h"
#include "capos_rt.h"
#include "server.h"

static void say(capos_cap_t con, const char *text)
{
    capos_console_line(con, text);
}

static int on_call(void *ctx, capos_server_call_t *call)
{
    capos_console_printf(*(capos_cap_t *)ctx,
                         "echo-identity: call from badge %llu",
                         (unsigned long long)call->badge);
    return CAPOS_SERVE_REPLY;
}

int capos_main(capos_capset_t *caps)
{
    capos_cap_t con, ep, svc;
    if (capos_capset_find(caps, "console", CAPOS_CONSOLE_INTERFACE_ID, &con))
        return 10;
    if (capos_capset_find(caps, "serve", CAPOS_ENDPOINT_INTERFACE_ID, &ep) ==
        0) {
        int r = capos_serve(ep, on_call, &con);
        return r == 0 || r == CAP_ERR_DISCONNECTED ? 0 : 3;
    }
    int f =
        capos_capset_find(caps, "svc", CAPOS_ECHO_IDENTITY_INTERFACE_ID, &svc);
    if (f == CAPOS_RT_E_WRONG_INTERFACE) {
        say(con, "echo-identity: \"svc\" is not an EchoIdentity cap");
        return 2;
    }
    if (f != 0) {
        say(con, "echo-identity: needs \"serve\" (server) or \"svc\" "
                 "(client)");
        return 2;
    }
    uint8_t buf[64], res[64];
    capnp_builder b;
    capnp_struct_builder p;
    capnp_builder_init(&b, buf, sizeof buf);
    capos_EchoIdentity_hello_Params_init_root(&b, &p);
    int r = capos_rt_call_capnp(svc, CAPOS_ECHO_IDENTITY_HELLO_METHOD_ID, &b,
                                res, sizeof res, NULL, NULL);
    if (r < 0) {
        capos_console_printf(con, "echo-identity: svc did not answer (%d)", r);
        return 1;
    }
    say(con, "echo-identity: svc answered");
    return 0;
}
