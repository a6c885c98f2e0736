#!/bin/sh
# codegen-freestanding.sh - the C that tools/capnpc-c generates is
# freestanding C11: the kernel model may use it.
#
# For each generated X.capnp.c in the build tree (it includes X.capnp.h,
# so every static inline reader, builder and stub is compiled too):
#   1. it compiles with
#        $CC -std=c11 -pedantic -ffreestanding -nostdlib -fno-builtin
#            -fno-stack-protector -Wall -Wextra -Werror
#      and includes nothing but <stdbool.h> <stddef.h> <stdint.h>,
#      capos/capnp.h, capos/ring.h and its own header;
#   2. its object needs no symbol from outside (the name tables are
#      self-contained);
#   3. a file that includes every generated header together and calls every
#      CALL stub, built at -O0 and -O2, needs no symbol either (the stubs
#      must not turn into memcpy/memset calls).
#
# Environment: srcdir (source tree, default .), CC (default cc), NM
# (default nm); run from the build tree. Exit 0 pass, 1 fail.

set -u
: "${srcdir:=.}"
: "${CC:=cc}"
: "${NM:=nm}"

gen="tests/unit/gen/codegen-test.capnp.c"
test -f schema/capos.capnp.c && gen="$gen schema/capos.capnp.c"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/codegen-freestanding.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
status=0
FLAGS="-std=c11 -pedantic -ffreestanding -nostdlib -fno-builtin -fno-stack-protector -Wall -Wextra -Werror"

for c in $gen; do
    h="${c%.c}.h"
    if test ! -f "$c" || test ! -f "$h"; then
        echo "FAIL: $c or $h not generated (run make in the build tree)" >&2
        status=1
        continue
    fi
    # 1. includes
    bad=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"][^>"]*[>"]\).*/\1/p' "$c" "$h" |
        grep -v -x -e '<stdbool.h>' -e '<stddef.h>' -e '<stdint.h>' \
            -e '"capos/capnp.h"' -e '"capos/ring.h"' -e "\"$(basename "$h")\"")
    if test -n "$bad"; then
        echo "FAIL: $c/$h include $bad: generated code may include only the" \
             "freestanding headers, capos/capnp.h and capos/ring.h" >&2
        status=1
    fi
    o="$tmp/$(basename "$c" .c).o"
    if ! $CC $FLAGS -I"$srcdir/include" -c "$c" -o "$o"; then
        echo "FAIL: $c does not compile freestanding (command: $CC $FLAGS -c $c)" >&2
        status=1
        continue
    fi
    # 2. no outside symbols
    und=$($NM -u "$o" | awk '{print $NF}')
    if test -n "$und"; then
        echo "FAIL: $c needs symbols from outside:" $und >&2
        status=1
    fi
done

# 3. every header together, every plain stub called.
{
    for c in $gen; do echo "#include \"$PWD/${c%.c}.h\""; done
    echo "void call_all(CapSqe *s);"
    echo "void call_all(CapSqe *s)"
    echo "{"
    for c in $gen; do
        sed -n 's/^static inline void \([A-Za-z0-9_]*_sqe\)(CapSqe \*sqe, uint32_t cap_id,$/    \1(s, 1, 2, 3, 4, 5, 6);/p' "${c%.c}.h" |
            grep -v capnpc_c_call_sqe
    done
    echo "}"
} > "$tmp/stubs.c"
calls=$(grep -c '_sqe(s' "$tmp/stubs.c")
if test "$calls" -eq 0; then
    echo "FAIL: no CALL stubs found in the generated headers" >&2
    status=1
fi
for opt in -O0 -O2; do
    if ! $CC $FLAGS $opt -I"$srcdir/include" -c "$tmp/stubs.c" -o "$tmp/stubs.o"; then
        echo "FAIL: the generated headers do not compile together ($opt)" >&2
        status=1
        continue
    fi
    und=$($NM -u "$tmp/stubs.o" | awk '{print $NF}')
    if test -n "$und"; then
        echo "FAIL: CALL stubs at $opt call" $und "(they must be inline stores)" >&2
        status=1
    fi
done

test "$status" -eq 0 && echo "PASS: $gen compile freestanding; $calls CALL stubs inline"
exit $status
