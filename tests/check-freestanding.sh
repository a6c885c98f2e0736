#!/bin/sh
# check-freestanding.sh - prove kernel-model/ is freestanding C11.
#
# lib/ (the Cap'n Proto codec and the other code every layer links) is
# shared by the model and the runtime, so it is held to the same rules and
# linked in.
#
# 1. Every kernel-model/*.c and *.h includes only <stdint.h> <stddef.h>
#    <stdbool.h> <stdalign.h> and project headers (kernel-model/, include/,
#    lib/'s own internal headers, and the generated schema/capos.capnp.h of the build tree, which is
#    freestanding itself: docs/codegen.md).
# 2. Every kernel-model/*.c compiles with
#      $CC -std=c11 -ffreestanding -nostdlib -fno-builtin -Wall -Wextra -Werror
#    (-fno-stack-protector too, so a distribution compiler that enables the
#    stack protector by default does not add __stack_chk_fail).
# 3. Linked into one relocatable object, the model's only undefined symbols
#    are the port_* functions of kernel-model/port.h and memcpy, memmove,
#    memset, memcmp.
#
# Environment: srcdir (source tree root, default .), builddir (build tree
# root, default .: the harness runs tests there), CC (default cc),
# NM (default nm). Exit 0 when all hold, 1 otherwise (offenders printed).

set -u

: "${srcdir:=.}"
: "${builddir:=.}"
: "${CC:=cc}"
: "${NM:=nm}"

model="$srcdir/kernel-model"
shared=$(ls "$srcdir"/lib/*.c)
status=0

fail() {
    echo "FAIL: $*" >&2
    status=1
}

if test ! -f "$model/port.h"; then
    echo "FAIL: $model/port.h not found (srcdir=$srcdir)" >&2
    exit 1
fi

set -- "$model"/*.c
if test ! -f "$1"; then
    echo "FAIL: no kernel-model/*.c under $model" >&2
    exit 1
fi

# --- 1. includes ------------------------------------------------------
for f in "$model"/*.c "$model"/*.h $shared "$srcdir"/lib/*.h; do
    test -f "$f" || continue
    # Every #include line: "<name>" or "\"name\"" after the directive.
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"][^>"]*[>"]\).*/\1/p' "$f" |
    while read -r inc; do
        name=$(echo "$inc" | sed 's/^[<"]//; s/[>"]$//')
        case "$inc" in
        "<stdint.h>"|"<stddef.h>"|"<stdbool.h>"|"<stdalign.h>") continue ;;
        esac
        # A project header: found in kernel-model/ or include/.
        case "$name" in
        ../*|*/../*) ;;
        *)
            if test -f "$model/$name" || test -f "$srcdir/include/$name" ||
               test -f "$builddir/schema/$name" ||
               { case "$f" in "$srcdir"/lib/*) true ;; *) false ;; esac &&
                 test -f "$srcdir/lib/$name"; }; then
                continue
            fi ;;
        esac
        echo "FAIL: ${f#$srcdir/} includes $inc: kernel-model may include only" \
             "<stdint.h> <stddef.h> <stdbool.h> <stdalign.h> and headers of" \
             "kernel-model/ and include/; reach the host through port.h" >&2
        echo x
    done | grep -q x && status=1
done

# The same rule, without the preprocessor: no hosted or libuv names.
if grep -n -E '\<uv_[A-Za-z_]+|\<uv\.h\>' "$model"/*.c "$model"/*.h >/dev/null 2>&1; then
    grep -n -E '\<uv_[A-Za-z_]+|\<uv\.h\>' "$model"/*.c "$model"/*.h | sed 's/^/FAIL: libuv in the kernel model: /' >&2
    status=1
fi

# --- 2. freestanding compile -----------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/capos-freestanding.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

objs=
for f in "$model"/*.c $shared; do
    o="$tmp/$(basename "$f" .c).o"
    if ! $CC -std=c11 -ffreestanding -nostdlib -fno-builtin -fno-stack-protector \
            -Wall -Wextra -Werror -I"$srcdir/include" -I"$model" \
            -I"$builddir/schema" \
            -c "$f" -o "$o"; then
        fail "${f#$srcdir/} does not compile freestanding (command above)"
        continue
    fi
    objs="$objs $o"
done
if test "$status" -ne 0; then
    echo "check-freestanding: FAILED" >&2
    exit 1
fi

# --- 3. undefined symbols --------------------------------------------
if ! $CC -nostdlib -r -o "$tmp/kmodel.o" $objs; then
    echo "FAIL: could not link the model into one relocatable object" >&2
    exit 1
fi

# Allowed: every port_* function declared in port.h, and four string calls.
sed -n 's/.*\<\(port_[A-Za-z0-9_]*\)[[:space:]]*(.*/\1/p' "$model/port.h" |
    sort -u > "$tmp/allowed"
printf '%s\n' memcpy memmove memset memcmp >> "$tmp/allowed"
sort -u -o "$tmp/allowed" "$tmp/allowed"

$NM -u "$tmp/kmodel.o" | awk '{print $NF}' | sort -u > "$tmp/undefined"
comm -23 "$tmp/undefined" "$tmp/allowed" > "$tmp/offending"
if test -s "$tmp/offending"; then
    echo "FAIL: the kernel model calls symbols that are neither port_* functions" \
         "of kernel-model/port.h nor memcpy/memmove/memset/memcmp:" >&2
    sed 's/^/    /' "$tmp/offending" >&2
    for s in $(cat "$tmp/offending"); do
        for o in $objs; do
            if $NM -u "$o" | awk '{print $NF}' | grep -qx "$s"; then
                echo "    $s: used by $(basename "$o" .o).c" >&2
            fi
        done
    done
    echo "  Add the function to the model itself or declare it in port.h." >&2
    exit 1
fi

n=$(echo $objs | wc -w)
echo "PASS: $n kernel-model files build freestanding; undefined symbols:" \
     $(cat "$tmp/undefined")
exit 0
