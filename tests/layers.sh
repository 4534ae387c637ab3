#!/bin/sh
# The folders are the architecture: a file includes only what sits at or
# below its own layer (docs/architecture.md), plus the public header.  Each
# folder lists the folders it may include from; any other project include
# is an arrow running back up, and fails the check naming file and line.
#
#   sh tests/layers.sh [SRCDIR]
set -u
src=${1:-.}
pass=0
fail=0
# layer FOLDER ALLOWED...: check every file of FOLDER.
layer() {
    dir=$1
    shift
    bad=$(for f in "$src/$dir"/*.c "$src/$dir"/*.h; do
        [ -e "$f" ] || continue
        grep -n '^#include "' "$f" | while IFS= read -r line; do
            inc=${line#*#include \"}
            inc=${inc%%\"*}
            ok=0
            [ "$inc" = xmig.h ] && ok=1
            for p in "$@"; do
                case $inc in "$p"/*) ok=1 ;; esac
            done
            [ $ok = 1 ] ||
                echo "layers: ${f#"$src"/}:${line%%:*}: $dir/ includes \"$inc\""
        done
    done)
    if [ -z "$bad" ]; then
        pass=$((pass + 1))
    else
        echo "$bad"
        fail=$((fail + 1))
    fi
}
layer common common xmig
layer records common records xmig
layer streams common records streams xmig
layer libxmig common records streams libxmig xmig
layer backends/sim common records streams libxmig backends/sim xmig
layer backends/xen common records streams libxmig backends/xen xmig
echo "layers: $pass passed, $fail failed"
[ "$fail" = 0 ]
