# fuzz-common.sh - shared body of the tests/fuzz/NAME.test scripts.
#
# Sourced by tests/fuzz/NAME.test (which sets fuzz_name). Runs the libFuzzer
# program tests/fuzz/NAME (built with clang by make check) over a temporary
# copy of the seed corpus $srcdir/fixtures/corpus/NAME, so the source tree
# is never written. Exit 0 on a clean run, 1 on a crash, leak or sanitizer
# report, 77 (skipped) when no clang with libFuzzer was found at configure
# time.
#
# Environment (set by make check): srcdir, HAVE_FUZZER, FUZZ_REASON,
# FUZZ_RUNS, FUZZ_MAX_LEN, EXEEXT, ASAN_OPTIONS, UBSAN_OPTIONS.

set -u

: "${srcdir:=.}"
: "${FUZZ_RUNS:=20000}"
: "${FUZZ_MAX_LEN:=16384}"
: "${EXEEXT:=}"

# A service's own target (services/DIR/fuzz_X.test) names its program
# and seeds; the project's targets live in tests/fuzz and fixtures/corpus.
prog="${fuzz_prog:-tests/fuzz/$fuzz_name}${EXEEXT}"
seeds="${fuzz_seeds:-$srcdir/fixtures/corpus/$fuzz_name}"

if test "${HAVE_FUZZER:-no}" != yes; then
    echo "SKIP: $fuzz_name: ${FUZZ_REASON:-libFuzzer not available}"
    echo "      install clang and libclang-rt-14-dev (tools/install-deps), then re-run ./configure"
    exit 77
fi
if test ! -x "$prog"; then
    echo "FAIL: $fuzz_name: $prog was not built (run 'make check', which builds it)" >&2
    exit 1
fi
if test ! -d "$seeds"; then
    echo "FAIL: $fuzz_name: seed corpus $seeds is missing" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/capos-fuzz-$fuzz_name.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/corpus" "$tmp/artifacts"
# Copy the seeds (none is fine: libFuzzer starts from the empty input).
for f in "$seeds"/* "$seeds"/.[!.]*; do
    test -f "$f" && cp "$f" "$tmp/corpus/"
done
nseeds=$(ls "$tmp/corpus" | wc -l)

# A fixed libFuzzer seed makes make check replayable: the same mutations
# every run (FUZZ_SEED overrides; make fuzz explores with fresh seeds).
fuzz_seed=${FUZZ_SEED:-1}
echo "fuzz: $fuzz_name: $FUZZ_RUNS runs over $nseeds seed inputs from $seeds (libFuzzer seed $fuzz_seed)"
"$prog" -runs="$FUZZ_RUNS" -max_len="$FUZZ_MAX_LEN" -print_final_stats=1 \
    -seed="$fuzz_seed" -artifact_prefix="$tmp/artifacts/" "$tmp/corpus"
rc=$?
if test $rc -ne 0; then
    # Keep the reproducer next to the log, outside the temporary directory.
    for a in "$tmp"/artifacts/*; do
        test -f "$a" || continue
        keep="$(dirname "$prog")/$fuzz_name-$(basename "$a")"
        cp "$a" "$keep"
        echo "FAIL: $fuzz_name: reproducer saved as $keep; replay with: $prog $keep" >&2
    done
    echo "FAIL: $fuzz_name: libFuzzer exited with status $rc" >&2
    exit 1
fi
echo "PASS: $fuzz_name: $FUZZ_RUNS runs, no crash, leak or sanitizer report"
exit 0
