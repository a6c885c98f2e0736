#!/bin/sh
# ring-corpus.sh - the ring_dispatch seeds are what tests/fuzz/gen-ring-corpus
# writes: run it into a temporary directory and compare, byte for byte,
# with the NN_name seeds of fixtures/corpus/ring_dispatch (files without
# that prefix are inputs kept from campaigns and are not generated).
# Exit 0 when both sets are the same files with the same bytes, 1 otherwise.

set -u

: "${srcdir:=.}"
: "${EXEEXT:=}"

gen="tests/fuzz/gen-ring-corpus${EXEEXT}"
seeds="$srcdir/fixtures/corpus/ring_dispatch"

if test ! -x "$gen"; then
    echo "FAIL: $gen was not built (run 'make check', which builds it)" >&2
    exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/capos-ring-corpus.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

"$gen" "$tmp" || { echo "FAIL: $gen exited with status $?" >&2; exit 1; }

status=0
for f in "$tmp"/[0-9][0-9]_*; do
    name=$(basename "$f")
    if test ! -f "$seeds/$name"; then
        echo "FAIL: $name is generated but not in $seeds (regenerate the seeds, see $gen.c)" >&2
        status=1
    elif ! cmp "$f" "$seeds/$name"; then
        echo "FAIL: $name differs from $seeds/$name (regenerate the seeds, see $gen.c)" >&2
        status=1
    fi
done
for f in "$seeds"/[0-9][0-9]_*; do
    name=$(basename "$f")
    if test ! -f "$tmp/$name"; then
        echo "FAIL: $seeds/$name is not generated any more (remove it or restore its seed)" >&2
        status=1
    fi
done
test $status = 0 && echo "PASS: $(ls "$tmp" | wc -l) generated seeds match $seeds"
exit $status
