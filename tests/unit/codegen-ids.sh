#!/bin/sh
# codegen-ids.sh - every id, method ordinal and struct layout size
# tools/capnpc-c emitted is the one the Cap'n Proto compiler assigned.
#
# For each schema and the header generated from it (pairs below), the
# expected values come from `capnp compile -ocapnp SCHEMA`, which prints
# every declaration with its id ("struct Point @0x... {", "interface Sink
# @0x... superclasses(...) {") and every method with its ordinal
# ("write @0 (data :Data) -> ();"). The names are mapped as
# tools/capnpc-c/capnpc-c.c documents: the file's base name and the nested
# declaration names joined with '_', then upper-cased with '_' inserted
# where a lower-case letter or digit meets an upper-case one.
#
# It checks both directions:
#   - each struct, enum and interface id and each method ordinal the
#     compiler reports is #defined in the header with that value;
#   - each *_INTERFACE_ID and *_METHOD_ID macro in the header names an
#     interface or method the compiler reports (nothing invented).
#
# Environment: srcdir (source tree, default .); run from the build tree
# (the generated headers are there). Exit 0 pass, 1 fail, 77 skip (no
# capnp compiler).

set -u
: "${srcdir:=.}"

if ! command -v capnp >/dev/null 2>&1; then
    echo "SKIP: capnp not found (install capnproto: tools/install-deps)" >&2
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/codegen-ids.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
status=0
checked=0

# pairs: schema (relative to srcdir), src-prefix, generated header (build tree)
set -- \
    fixtures/capnp/codegen-test.capnp fixtures/capnp tests/unit/gen/codegen-test.capnp.h \
    schema/capos.capnp schema schema/capos.capnp.h

while test $# -ge 3; do
    schema=$1 header=$3
    shift 3
    if test ! -f "$srcdir/$schema"; then
        # schema/capos.capnp is optional until it is written; the test
        # schema is not.
        case "$schema" in
        fixtures/*) echo "FAIL: $srcdir/$schema missing" >&2; status=1 ;;
        esac
        continue
    fi
    if test ! -f "$header"; then
        echo "FAIL: $header not generated from $schema (run make in the build tree)" >&2
        status=1
        continue
    fi
    base=$(basename "$schema" .capnp)
    if ! (cd "$srcdir" && capnp compile -ocapnp "$schema") > "$tmp/layout"; then
        echo "FAIL: capnp compile -ocapnp $schema failed" >&2
        status=1
        continue
    fi

    # Expected "MACRO VALUE" lines. Indentation is two spaces per nesting
    # level; a declaration's scope is the names open at lower levels.
    awk -v base="$base" '
    function upper_snake(s,    out, i, c, p) {
        out = ""; p = ""
        for (i = 1; i <= length(s); i++) {
            c = substr(s, i, 1)
            if (c ~ /[A-Z]/ && p ~ /[a-z0-9]/) out = out "_"
            if (c !~ /[A-Za-z0-9_]/) c = "_"
            out = out c; p = c
        }
        return toupper(out)
    }
    function scope(d,    s, i) {
        s = base
        for (i = 0; i < d; i++) if (name[i] != "") s = s "_" name[i]
        return s
    }
    /^#/ || /^@/ { next }
    {
        match($0, /^ */); d = RLENGTH / 2
        line = substr($0, RLENGTH + 1)
        for (i = d; i < 64; i++) { name[i] = ""; kind[i] = "" }
    }
    line ~ /^(struct|enum|interface) [A-Za-z0-9]+(\([^)]*\))? @0x[0-9a-f]+/ {
        split(line, w, " ")
        sub(/\(.*/, "", w[2])   # generic parameters: "Map(K, V)" -> "Map"
        name[d] = w[2]; kind[d] = w[1]
        id = substr(w[3], 2)
        full = scope(d) "_" w[2]
        if (w[1] == "interface")
            print upper_snake(full) "_INTERFACE_ID " id
        else
            print upper_snake(full) "_ID " id
        # "struct Point @0x... {  # 16 bytes, 2 ptrs": the layout sizes
        if (w[1] == "struct" && index(line, "# ") > 0) {
            c = substr(line, index(line, "# ") + 2)
            split(c, z, " ")
            print upper_snake(full) "_DATA_WORDS " int(z[1] / 8)
            print upper_snake(full) "_POINTERS " int(z[3])
        }
        next
    }
    line ~ /^[a-z][A-Za-z0-9]* :(group|union) \{/ {
        split(line, w, " "); name[d] = w[1]; kind[d] = "group"; next
    }
    line ~ /^union \{/ { kind[d] = "union"; next }
    d > 0 && kind[d - 1] == "interface" && line ~ /^[a-z][A-Za-z0-9]* @[0-9]+ / {
        split(line, w, " ")
        print upper_snake(scope(d) "_" w[1]) "_METHOD_ID " substr(w[2], 2)
    }
    ' "$tmp/layout" | sort > "$tmp/expected"

    if ! test -s "$tmp/expected"; then
        echo "FAIL: no declarations parsed from capnp compile -ocapnp $schema" >&2
        status=1
        continue
    fi

    # Emitted "#define NAME VALUE" lines, values normalised (0x...ull -> 0x...,
    # 3u -> 3).
    # A schema constant named like an id macro (capos.capnp's
    # consoleInterfaceId) is an identical second definition: sort -u.
    sed -n 's/^#define \([A-Z0-9_]*_\(ID\|DATA_WORDS\|POINTERS\)\) \([0-9a-fx]*\)[uUlL]*$/\1 \3/p' "$header" |
        sort -u > "$tmp/emitted"

    # 1. every compiler id/ordinal is emitted with its value
    while read -r macro value; do
        got=$(awk -v m="$macro" '$1 == m { print $2 }' "$tmp/emitted")
        if test -z "$got"; then
            echo "FAIL: $header does not define $macro (capnp: $value)" >&2
            status=1
        elif test "$got" != "$value"; then
            echo "FAIL: $header: $macro is $got, capnp says $value" >&2
            status=1
        fi
        checked=$((checked + 1))
    done < "$tmp/expected"

    # 2. every emitted interface id / method ordinal is one capnp reports
    grep -E '_(INTERFACE|METHOD)_ID ' "$tmp/emitted" | while read -r macro value; do
        if ! awk -v m="$macro" '$1 == m { f = 1 } END { exit !f }' "$tmp/expected"; then
            echo "FAIL: $header defines $macro $value, which capnp does not report" >&2
            echo x
        fi
    done | grep -q x && status=1

    n=$(wc -l < "$tmp/expected")
    echo "$schema: $n ids and ordinals checked against $header"
done

if test "$status" -eq 0 && test "$checked" -eq 0; then
    echo "FAIL: nothing was checked" >&2
    status=1
fi
exit $status
