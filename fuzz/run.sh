#!/bin/sh
# run.sh CORPUS_DIR SECONDS BIN...: run each libFuzzer harness for SECONDS
# on a scratch copy of its committed seeds (CORPUS_DIR/<harness name>/), so
# the committed corpus never changes behind anyone's back.
#
# Prints one line per harness with executions and corpus size, then
# "fuzz: N passed, M failed".  A crash, hang, leak or OOM fails the harness:
# the log tail is printed and the reproducer is kept in $FUZZ_ARTIFACTS
# (default ./fuzz-artifacts) as <harness>-crash-<sha1> and the like.
set -u

if [ $# -lt 3 ]; then
    echo "usage: $0 CORPUS_DIR SECONDS BIN..." >&2
    exit 2
fi
corpus=$1
seconds=$2
shift 2

here=$(cd "$(dirname "$0")" && pwd)
artifacts=${FUZZ_ARTIFACTS:-$PWD/fuzz-artifacts}
max_len=1048576   # 256 pages: room for multi-page records and batches
dictopt=
if [ -f "$here/xmig.dict" ]; then
    dictopt=-dict=$here/xmig.dict
fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/xmig-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT INT TERM

# Stack traces for UBSan reports too (ASan prints them anyway).
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export UBSAN_OPTIONS

# final_stat NAME LOG: a value from libFuzzer's -print_final_stats block.
final_stat() {
    sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

# What starts a sanitizer or libFuzzer report (crash, UB, leak, hang, OOM).
report='ERROR: \|runtime error: \|ALARM: \|out-of-memory'

count() {
    ls "$1" | wc -l | tr -d ' '
}

passed=0
failed=0
for bin in "$@"; do
    name=$(basename "$bin")
    work=$scratch/$name
    out=$scratch/$name.out
    log=$scratch/$name.log
    mkdir -p "$work" "$out"
    : >"$log"
    if [ -d "$corpus/$name" ]; then
        cp "$corpus/$name"/* "$work"/ 2>/dev/null
    else
        echo "fuzz: $name: no seeds in $corpus/$name, starting empty" >&2
    fi
    seeds=$(count "$work")

    if [ -x "$bin" ] && "$bin" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
        -artifact_prefix="$out/$name-" ${dictopt:+"$dictopt"} \
        "$work" >"$log" 2>&1; then
        status=ok
        passed=$((passed + 1))
    else
        status=FAILED
        failed=$((failed + 1))
    fi
    execs=$(final_stat number_of_executed_units "$log")
    rate=$(final_stat average_exec_per_sec "$log")
    echo "fuzz: $name: $status, ${execs:-?} executions (${rate:-?}/s)," \
        "corpus $seeds -> $(count "$work") units," \
        "$(cat "$work"/* 2>/dev/null | wc -c | tr -d ' ') octets"
    [ "$status" = ok ] && continue

    if [ ! -x "$bin" ]; then
        echo "fuzz: $name: $bin is not an executable" >&2
        continue
    fi
    crash=
    if [ "$(count "$out")" -gt 0 ]; then
        mkdir -p "$artifacts"
        cp "$out"/* "$artifacts"/
        crash=$artifacts/$(ls -t "$out" | head -n 1)
    fi
    # The report from its first line: the stack trace comes before ASan's
    # shadow-memory legend.
    echo "---- $name log ----" >&2
    if grep -q "$report" "$log"; then
        sed -n "/$report/,\$p" "$log" | head -n 50 >&2
    else
        tail -n 50 "$log" >&2
    fi
    echo "----" >&2
    echo "fuzz: $name: *** FAILED; reproducer: ${crash:-none written}" >&2
    if [ -n "$crash" ]; then
        echo "fuzz: $name: rerun with: $bin $crash" >&2
    fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
