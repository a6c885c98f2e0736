#!/bin/sh
# check-net-names.sh - the naming rules of the kernel's network and
# terminal files (docs/net.md; STYLE.md "one file owns each prefix"):
#
#   - every function a file defines (a definition starts at column 0)
#     carries one of that file's own prefixes, so a reader finds a
#     function's file from its name; `net_` belongs to net.c alone;
#   - method ordinals, union members and field layouts come from the
#     generated schema/capos.capnp.h: no raw capnp field accessor
#     (capnp_get_u16(s, 2, ...), capnp_set_text(s, 0, ...)), and each
#     object's method enum is made of the generated *_METHOD_ID, never
#     compared with a number.
#
# Comments and string literals are stripped before the scan. Environment:
# srcdir (source tree root, default .). Exit 0 when all hold, 1 otherwise.

set -u

: "${srcdir:=.}"
status=0

. "$srcdir/tests/strip-c.sh" # strip_c FILE

# check FILE PREFIX-REGEX [object]: every function defined in FILE is
# named PREFIX-REGEX..., FILE uses no raw field accessor, and (object)
# its method ordinals are the generated ones.
check() {
    f=$srcdir/$1
    if [ ! -f "$f" ]; then
        echo "FAIL: $1 is missing" >&2
        status=1
        return
    fi
    # A definition: a type at column 0, then NAME( (static or not), or
    # NAME( alone at column 0 under a type on the line above.
    strip_c "$f" | grep -n -E '^([a-z][a-z0-9_ ]*[ *])?[a-z_][a-z0-9_]*\(' |
        grep -v -E '^[0-9]+:(typedef|return|if|for|while|switch|sizeof)\b' |
        sed -E 's/^([0-9]+):([a-z][a-z0-9_ ]*[ *])?([a-z_][a-z0-9_]*)\(.*/\1 \3/' |
        while read -r line name; do
            echo "$name" | grep -q -E "^($2)" || {
                echo "FAIL: $1:$line: function $name does not carry the file's prefix ($2)" >&2
                echo x
            }
        done >"$tmp/bad"
    [ -s "$tmp/bad" ] && status=1
    hits=$(strip_c "$f" | grep -n -E 'capnp_(get|set)_(bool|u8|u16|u32|u64|text|data|cap|struct|list)\(|capnp_init_struct\([^,]+, [0-9]+, [0-9]+' |
        grep -v -E 'capnp_init_struct\([^,]+, 0, dw, np') || hits=
    if [ -n "$hits" ]; then
        echo "$hits" | sed "s|^|FAIL: $1:|; s|\$| (use the generated accessors)|" >&2
        status=1
    fi
    # An object's ordinals: named from the generated *_METHOD_ID (and the
    # unknown-method check from *_METHOD_COUNT), never compared as digits.
    [ "${3:-}" = object ] || return 0
    strip_c "$f" | grep -q -E '= CAPOS_[A-Z0-9_]+_METHOD_ID' || {
        echo "FAIL: $1: its method ordinals are not the generated *_METHOD_ID" >&2
        status=1
    }
    hits=$(strip_c "$f" | grep -n -E 'method_id *(==|!=|<=|>=|<|>) *[0-9]') || hits=
    if [ -n "$hits" ]; then
        echo "$hits" | sed "s|^|FAIL: $1:|; s|\$| (a method ordinal as a number)|" >&2
        status=1
    fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-net-names.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

check kernel-model/net.c 'net_|k_net_ready$'
check kernel-model/netmgr.c 'netmgr_' object
check kernel-model/tcpauth.c 'tcpauth_' object
check kernel-model/tcplistener.c 'tcplistener_' object
check kernel-model/tcpsocket.c 'tcpsocket_' object
check kernel-model/sockterm.c 'sockterm_'
check kernel-model/termconsole.c 'termcon_'
check kernel-model/terminal.c 'term_|terminal_|k_console_input_ready$' object
check sim/port/net_uv.c 'net_uv_|port_tcp_|sim_net_'

exit $status
