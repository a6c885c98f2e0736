#!/bin/sh
# check-layering-rules.sh - tests/check-layering.sh refuses what it must:
# copies of the tree's model, port and lib with one planted service file
# each, which the check must fail naming the file:
#   - a service calling socketpair (only services/rt/sockbridge.c may);
#   - a file of the runtime itself (services/rt/) calling socket or
#     connect (nothing under services/ opens sockets);
# and the runtime's own sockbridge.c making its pair passes.
# Environment: srcdir (source tree root, default .). Exit 0 when all hold.
set -u
: "${srcdir:=.}"
check="$srcdir/tests/check-layering.sh"
tmp=check-layering-rules.tmp
status=0
rm -rf "$tmp"
mkdir -p "$tmp/tree/services" "$tmp/tree/tests" || exit 99
for d in kernel-model sim lib; do
    cp -R "$srcdir/$d" "$tmp/tree/$d" || exit 99
done
# The check's comment stripper, shared with the other scans.
cp "$srcdir/tests/strip-c.sh" "$tmp/tree/tests/" || exit 99

# plant NAME PATH CODE WANT: the tree with PATH holding CODE fails the
# check with WANT (a fixed string) in a line naming PATH; WANT empty: it
# passes.
plant() {
    rm -rf "$tmp/tree/services"
    mkdir -p "$tmp/tree/services/$(dirname "$2")" || exit 99
    printf '%s\n' "$3" >"$tmp/tree/services/$2"
    if srcdir="$tmp/tree" sh "$check" >"$tmp/$1.out" 2>&1; then
        if [ -n "$4" ]; then
            echo "FAIL: $1: check-layering passed services/$2"
            status=1
            return
        fi
        echo "ok: $1 passes"
        return
    fi
    if [ -z "$4" ] || ! grep -F -- "$4" "$tmp/$1.out" | grep -q "services/$2:"; then
        echo "FAIL: $1: check-layering's verdict on services/$2 was:"
        cat "$tmp/$1.out"
        status=1
        return
    fi
    echo "ok: $1 is refused: $4"
}

plant service-socketpair gw/gw.c \
    'int f(void) { int sv[2]; return socketpair(1, 1, 0, sv); }' \
    'a service makes a host descriptor pair'
plant rt-socket rt/other.c \
    'int f(void) { return socket(2, 1, 0); }' \
    'a service opens host sockets'
plant rt-connect rt/sockbridge.c \
    'int f(int s) { return connect(s, 0, 0); }' \
    'a service opens host sockets'
plant bridge-pair rt/sockbridge.c \
    'int f(void) { int sv[2]; return socketpair(1, 1, 0, sv); }' \
    ''
[ "$status" = 0 ] && rm -rf "$tmp" &&
    echo "check-layering-rules: proof: socketpair only in the runtime's bridge, no socket or connect anywhere under services/"
exit "$status"
