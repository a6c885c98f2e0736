#!/bin/sh
# check-services.sh - services/services.list is the one list of services.
#
# 1. Every services/*/*.c that defines capos_main is named in the list
#    (a service missing its line would build nowhere).
# 2. Every file the list names exists.
# 3. tools/gen-services refuses malformed lines, naming the line.
#
# Environment: srcdir (source tree root, default .). Exit 0 when all hold.
set -u
: "${srcdir:=.}"
list="$srcdir/services/services.list"
gen="$srcdir/tools/gen-services"
status=0

# Every file the list names: sources, headers, schemas, and the unit=,
# test= and manifest= files of a service's own tests.
named=$(grep -v -E '^[[:space:]]*(#|$)' "$list" | tr -s ' \t' '\n' |
    sed -E 's/^(unit|test|manifest|fuzz)=//' | grep -E '\.([ch]|capnp|test)$' | sort -u)
for f in $(grep -l -E '^int[[:space:]]+capos_main[[:space:]]*\(' "$srcdir"/services/*/*.c); do
    rel=${f#$srcdir/services/}
    if ! echo "$named" | grep -qx "$rel"; then
        echo "FAIL: services/$rel defines capos_main but is not in services/services.list" >&2
        status=1
    fi
done
for rel in $named; do
    test -f "$srcdir/services/$rel" || {
        echo "FAIL: services/services.list names services/$rel, which does not exist" >&2
        status=1
    }
done

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
expect_refusal() { # LINE PATTERN
    printf '# a comment\n%s\n' "$1" >"$tmp/list"
    if sh "$gen" c "$tmp/list" >"$tmp/out" 2>"$tmp/err"; then
        echo "FAIL: gen-services accepted: $1" >&2
        status=1
    elif ! grep -q "list:2: .*$2" "$tmp/err"; then
        echo "FAIL: gen-services refused '$1' without naming line 2 and '$2':" >&2
        cat "$tmp/err" >&2
        status=1
    fi
}
expect_refusal 'hello hello' 'expected'
expect_refusal 'hello Bad-Name hello/hello.c' 'not a C identifier'
expect_refusal 'Hello hello hello/hello.c' 'not a lower-case name'
expect_refusal 'hello hello ../x.c' 'not a services/ source'
printf 'a x a/a.c\nb x b/b.c\n' >"$tmp/list"
if sh "$gen" am "$tmp/list" >/dev/null 2>"$tmp/err" || ! grep -q 'listed twice' "$tmp/err"; then
    echo "FAIL: gen-services accepted a symbol listed twice" >&2
    status=1
fi

test "$status" -eq 0 && echo "PASS: services/services.list names every service ($(echo "$named" | wc -l) files)"
exit "$status"
