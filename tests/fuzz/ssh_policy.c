/*
 * ssh_policy.c - libFuzzer target over ssh-gateway's policy layer
 * (services/ssh-gateway/decide.c): bytes -> a stream of SSH requests
 * (libssh request types and subtypes, or raw kinds, some out of range)
 * on one connection -> policy_decide, checking after every decision:
 *   - nothing is granted before authentication;
 *   - only the table's allowed rows are ever granted, and a request's
 *     kind after the decision is a row of the table;
 *   - at most one session channel and one shell are granted, the shell
 *     and pty/window-change only on the open session channel;
 *   - the state only grows (a denial changes nothing).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ssh_policy_state st = {0};
    unsigned sessions = 0, shells = 0;
    for (size_t i = 0; i + 1 < size; i += 2) {
        uint8_t a = data[i], b = data[i + 1];
        if (a == 0xff) { /* userauth succeeds (once and for good) */
            st.authenticated = true;
            continue;
        }
        enum ssh_request kind = (a & 0x80)
                                    ? (enum ssh_request)(b % (POL_COUNT + 3))
                                    : policy_kind_of(a & 0x0f, b & 0x1f);
        struct ssh_policy_state before = st;
        bool granted = policy_decide(&st, &kind);
        check(kind >= 0 && kind < POL_COUNT);
        if (!granted) {
            check(memcmp(&before, &st, sizeof st) == 0);
            continue;
        }
        check(before.authenticated);
        check(ssh_policy[kind].allowed);
        if (kind == POL_SESSION)
            check(++sessions == 1 && st.session_open);
        if (kind == POL_SHELL)
            check(++shells == 1 && before.session_open);
        if (kind == POL_PTY || kind == POL_WINDOW_CHANGE)
            check(before.session_open);
        check(!before.session_open || st.session_open);
        check(!before.shell_started || st.shell_started);
    }
    return 0;
}
