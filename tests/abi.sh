#!/bin/sh
# The library's ABI (issue 14): libxmig.so exports exactly the symbols
# libxmig/libxmig.syms lists, each declared in the installed headers; and,
# where abigail-tools is installed, abidiff finds no incompatible change
# against the baseline of the last release (libxmig/abi/libxmig.so.0.abi).
# Growth (new functions) is reported, not refused: a release then adds a
# version node and a new baseline (make abi-baseline).
#
#   sh tests/abi.sh SRCDIR LIBRARY
set -u
src=$1
lib=$2
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xmig-abi.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" |
    awk '$2 ~ /^[TDBR]$/ { sub(/@.*/, "", $3); print $3 }' | sort > "$tmp/exported"
sed -n 's/^ *\(xmig_[a-z0-9_]*\);.*/\1/p' "$src/libxmig/libxmig.syms" |
    sort > "$tmp/listed"
only_exported=$(comm -23 "$tmp/exported" "$tmp/listed")
only_listed=$(comm -13 "$tmp/exported" "$tmp/listed")
exported=$(cat "$tmp/exported")
if [ -z "$only_exported" ] && [ -z "$only_listed" ]; then
    ok "libxmig.so exports exactly the $(wc -l < "$tmp/listed") symbols of libxmig.syms"
else
    bad "exported but not listed: $(echo $only_exported); listed but not exported: $(echo $only_listed)"
fi

# Every function the headers declare is exported (and listed).
grep -ho '\bxmig_[a-z0-9_]*(' "$src"/include/xmig.h "$src"/include/xmig/*.h |
    tr -d '(' | sort -u > "$tmp/declared"
missing=$(comm -23 "$tmp/declared" "$tmp/exported")
if [ -z "$missing" ]; then
    ok "every function include/ declares is exported"
else
    bad "declared but not exported (add to libxmig.syms): $(echo $missing)"
fi

undeclared=""
for s in $exported; do
    grep -qw "$s" "$src"/include/xmig.h "$src"/include/xmig/*.h || undeclared="$undeclared $s"
done
if [ -z "$undeclared" ]; then
    ok "every exported symbol is declared in include/"
else
    bad "exported, declared in no public header:$undeclared"
fi

base=$src/libxmig/abi/libxmig.so.0.abi
if ! command -v abidiff >/dev/null 2>&1; then
    echo "SKIPPED abidiff (apt-get install abigail-tools)"
elif [ ! -s "$base" ]; then
    bad "no ABI baseline $base (make abi-baseline)"
else
    # New functions are growth; any other change (a symbol gone, a public
    # struct or a signature changed: abidiff's bits 4 and 8) breaks
    # programs built against the release.
    abidiff --no-added-syms --headers-dir2 "$src/include" "$base" "$lib" \
        > "$tmp/abidiff" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ]; then
        bad "abidiff: the ABI changed (status $rc) against $base:"
        sed 's/^/       /' "$tmp/abidiff" | head -n 40
    else
        ok "abidiff against the baseline: no change but growth"
    fi
fi
echo "abi: $pass passed, $fail failed"
[ "$fail" = 0 ]
