#!/bin/sh
# Spec conformance: run xmig's verifier over the cases written by
# tests/specgen/specgen.py (an independent generator, written from the Xen
# specifications only) and compare with what the specs say.
#
#   XMIG=path/to/xmig tests/spec-conformance.sh
#
# Environment:
#   XMIG       xmig binary (default ./xmig)
#   PYTHON     python3 interpreter (default python3)
#   XEN_LIBDIR Xen's lib directory (default /usr/lib/xen-4.17); when its
#              bin/verify-stream-v2 exists, valid cases are cross-checked
#              with it too (except cases marked no-xen in the manifest)
#   VERBOSE    1 to print every case, with xmig's message for rejections
#   KEEP       1 to keep the generated cases (their directory is printed)
#
# Exit status 0 when every case passes, 1 otherwise.

XMIG=${XMIG:-./xmig}
PYTHON=${PYTHON:-python3}
XEN_LIBDIR=${XEN_LIBDIR:-/usr/lib/xen-4.17}
XEN_VERIFY=$XEN_LIBDIR/bin/verify-stream-v2
VERBOSE=${VERBOSE:-0}
KEEP=${KEEP:-0}

here=$(cd "$(dirname "$0")" && pwd)

if [ ! -x "$XMIG" ]; then
    echo "spec-conformance: $XMIG is not executable (set XMIG)" >&2
    exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/spec-conformance.XXXXXX") || exit 2
cleanup() {
    if [ "$KEEP" = 1 ]; then
        echo "spec-conformance: cases kept in $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM

cases=$tmp/cases
if ! "$PYTHON" "$here/specgen/specgen.py" "$cases"; then
    echo "spec-conformance: specgen.py failed" >&2
    exit 2
fi

use_xen=0
if [ -f "$XEN_VERIFY" ] && [ -d "$XEN_LIBDIR/lib/python/xen/migration" ]; then
    use_xen=1
else
    echo "spec-conformance: $XEN_VERIFY not found, skipping Xen cross-checks"
fi

# has_option OPTIONS NAME: is NAME in the comma-separated OPTIONS?
has_option() {
    case ",$1," in
        *",$2,"*) return 0 ;;
    esac
    return 1
}

passed=0
failed=0
xen_checked=0
tab=$(printf '\t')
err=$tmp/stderr

while IFS="$tab" read -r name format expect rule options; do
    case $name in
        '#'* | '') continue ;;
    esac
    file=$cases/$name.bin

    if has_option "$options" allow-trailing; then
        "$XMIG" verify --format "$format" --allow-trailing "$file" >/dev/null 2>"$err"
    else
        "$XMIG" verify --format "$format" "$file" >/dev/null 2>"$err"
    fi
    status=$?
    message=$(head -n 1 "$err")

    case $expect in
        accept) want=0 ;;
        *) want=1 ;;
    esac

    problem=
    if [ "$status" -ne "$want" ]; then
        problem="xmig exit $status, expected $want ($expect: $rule)${message:+: $message}"
    elif [ "$want" = 0 ] && [ "$use_xen" = 1 ] && ! has_option "$options" no-xen; then
        xen_checked=$((xen_checked + 1))
        if ! PYTHONPATH=$XEN_LIBDIR/lib/python "$PYTHON" "$XEN_VERIFY" -q \
                -f "$format" -i "$file" >/dev/null 2>&1; then
            problem="Xen's verify-stream-v2 rejects this valid case ($rule)"
        fi
    fi

    if [ -n "$problem" ]; then
        failed=$((failed + 1))
        echo "FAIL $name [$format]: $problem"
    else
        passed=$((passed + 1))
        if [ "$VERBOSE" = 1 ]; then
            echo "ok   $name [$format] $expect ($rule)${message:+ -- $message}"
        fi
    fi
done <"$cases/manifest.tsv"

if [ "$use_xen" = 1 ]; then
    echo "spec-conformance: $xen_checked valid cases cross-checked with verify-stream-v2"
fi
echo "spec-conformance: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
