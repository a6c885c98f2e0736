#!/bin/sh
# check-layering.sh - enforce the layering rules of DESIGN.md.
#
# services/ (every *.c *.h below it):
#   - never includes a header of kernel-model/ or sim/ (by path or by
#     name), nor uv.h;
#   - never calls socket bind listen accept accept4 connect
#     (services/rt/ included) nor any uv_* function: a service reaches
#     the world only through capabilities on its ring;
#   - never calls socketpair, except the runtime's socket bridge
#     (services/rt/sockbridge.c), which makes the one descriptor a
#     protocol library may have (its far end pumped to a TcpSocket cap).
# kernel-model/ (every *.c *.h):
#   - never mentions uv_ and includes only <stdint.h> <stddef.h>
#     <stdbool.h> <stdalign.h> and project headers.
# kernel-model/, sim/port/ and lib/ (the layers below the runtime):
#   - never include capos_rt.h nor any header of services/.
#
# Comments and string literals are stripped before the scan. Environment:
# srcdir (source tree root, default .). Exit 0 when all hold, 1 otherwise.

set -u

: "${srcdir:=.}"
status=0

. "$srcdir/tests/strip-c.sh" # strip_c FILE

# report FILE PATTERN WHAT: print offending lines of stripped FILE.
report() {
    hits=$(strip_c "$1" | grep -n -E "$2") || return 0
    echo "$hits" | while IFS= read -r line; do
        echo "FAIL: ${1#$srcdir/}:${line%%:*}: $3: ${line#*:}" >&2
    done
    status=1
}

# Headers that live in kernel-model/ and sim/: a service must not name them
# even through an include path.
layer_headers=
for h in "$srcdir"/kernel-model/*.h "$srcdir"/sim/*.h "$srcdir"/sim/port/*.h; do
    test -f "$h" && layer_headers="$layer_headers|$(basename "$h" | sed 's/\./\\./g')"
done
layer_headers=${layer_headers#|}

# --- services/ -------------------------------------------------------
nservices=0
if test -d "$srcdir/services"; then
    files=$(find "$srcdir/services" -type f \( -name '*.c' -o -name '*.h' \) | sort)
    for f in $files; do
        nservices=$((nservices + 1))
        # Includes are checked on the raw text (the stripper blanks "...").
        inc='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]'
        bad="${inc}([^>\"]*/)?(kernel-model|sim)/|${inc}uv\.h[>\"]|${inc}uv/"
        if test -n "$layer_headers"; then
            bad="$bad|${inc}($layer_headers)[>\"]"
        fi
        if grep -n -E "$bad" "$f" >/dev/null; then
            grep -n -E "$bad" "$f" | while IFS= read -r line; do
                echo "FAIL: ${f#$srcdir/}:${line%%:*}: a service includes a kernel-model/, sim/ or libuv header (use include/capos/ and services/rt/): ${line#*:}" >&2
            done
            status=1
        fi
        report "$f" '(^|[^A-Za-z0-9_.>])(socket|bind|listen|accept|accept4|connect)[[:space:]]*\(' \
            "a service opens host sockets (use a TcpSocket capability through services/rt/)"
        case "${f#$srcdir/}" in
        services/rt/sockbridge.c) ;;
        *)
            report "$f" '(^|[^A-Za-z0-9_.>])socketpair[[:space:]]*\(' \
                "a service makes a host descriptor pair (only the runtime's socket bridge, services/rt/sockbridge.c, may)"
            ;;
        esac
        report "$f" '(^|[^A-Za-z0-9_])uv_[A-Za-z0-9_]+' \
            "a service calls libuv (only the ports under sim/port/ may)"
    done
fi
if test "$nservices" -eq 0; then
    echo "check-layering: no services/*.c or *.h yet: nothing to check there"
fi

# --- kernel-model/ ---------------------------------------------------
nmodel=0
for f in "$srcdir"/kernel-model/*.c "$srcdir"/kernel-model/*.h; do
    test -f "$f" || continue
    nmodel=$((nmodel + 1))
    report "$f" '(^|[^A-Za-z0-9_])uv_[A-Za-z0-9_]*' \
        "the kernel model mentions libuv (reach the host through port.h)"
    # Angle includes other than the four freestanding headers and
    # <capos/...>, and quoted includes reaching into sim/, services/, arch/.
    hosted=$(grep -n -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' "$f" |
        grep -v -E '<(stdint|stddef|stdbool|stdalign)\.h>' |
        grep -v -E '<capos/[A-Za-z0-9_]+\.h>' |
        grep -E '<|"([^"]*/)?(sim|services|arch|tools|tests)/') || true
    if test -n "$hosted"; then
        echo "$hosted" | while IFS= read -r line; do
            echo "FAIL: ${f#$srcdir/}:${line%%:*}: the kernel model includes a hosted or higher-layer header: ${line#*:}" >&2
        done
        status=1
    fi
done
# --- below the runtime: kernel-model/, sim/port/, lib/ ---------------
# Neither port nor the model nor lib/ may reach up into capos-rt or a
# service: the arrows of DESIGN.md point down from services/.
rt_headers=
for h in "$srcdir"/services/*/*.h; do
    test -f "$h" && rt_headers="$rt_headers|$(basename "$h" | sed 's/\./\\./g')"
done
rt_headers=${rt_headers#|}
nlower=0
for f in "$srcdir"/kernel-model/*.[ch] "$srcdir"/sim/port/*.[ch] "$srcdir"/lib/*.[ch]; do
    test -f "$f" || continue
    nlower=$((nlower + 1))
    inc='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]'
    bad="${inc}([^>\"]*/)?services/|${inc}capos_rt\.h[>\"]"
    if test -n "$rt_headers"; then
        bad="$bad|${inc}($rt_headers)[>\"]"
    fi
    if grep -n -E "$bad" "$f" >/dev/null; then
        grep -n -E "$bad" "$f" | while IFS= read -r line; do
            echo "FAIL: ${f#$srcdir/}:${line%%:*}: a layer below the runtime includes capos-rt or a service header: ${line#*:}" >&2
        done
        status=1
    fi
done
if test "$nlower" -eq 0; then
    echo "FAIL: no sources under kernel-model/, sim/port/ or lib/" >&2
    status=1
fi

if test "$nmodel" -eq 0; then
    echo "FAIL: no kernel-model sources under $srcdir/kernel-model" >&2
    status=1
fi

if test "$status" -ne 0; then
    echo "check-layering: FAILED (see DESIGN.md, Layers)" >&2
    exit 1
fi
echo "PASS: layering holds ($nservices services files, $nmodel kernel-model files, $nlower files below the runtime)"
exit 0
