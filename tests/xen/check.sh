#!/bin/bash
# make check-xen: build the rig (cached), run it, and run it once more
# when every failure came with a triple fault of the nested emulation.
#
# Under qemu TCG, guests of this rig now and then triple-fault in
# log-dirty rounds and suspends, with xl alone as well as with xmig
# (docs/xen-rig.md, "Triple faults"); a triple fault is a reboot, and the
# check fails with the guest gone.  When each "not ok" line of a run
# names one (fail() in scenario.sh appends what xl dmesg saw) or is a
# check that never ran after one, the whole rig runs a second time and
# its result is the result; the first run stays in DIR/run.first, and
# both are reported.  A failure without a triple fault fails at once, and
# a fault of xmig's own that recurs fails the second run too.
#
# Usage: tests/xen/check.sh [DIR]   (DIR: obj/xen)
# Env:   XMIG (./xmig), XEN_RETRY (1; 0: one run only), and run.sh's.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-obj/xen}
export XMIG=${XMIG:-./xmig}

"$here/build.sh" "$dir" || exit $?
"$here/run.sh" "$dir" 2>&1 | tee "$dir/run-output.txt"
rc=${PIPESTATUS[0]}
if [ "$rc" = 1 ] && [ "${XEN_RETRY:-1}" = 1 ]; then
    bad=$(grep '^not ok' "$dir/run-output.txt")
    other=$(grep -v -e 'Triple fault' -e '(never ran: ' <<< "$bad")
    if [ -n "$bad" ] && [ -z "$other" ] && grep -q 'Triple fault' <<< "$bad"; then
        echo
        echo "xen: every failure of that run came with a triple fault of the" \
             "nested emulation (docs/xen-rig.md); running the rig once more"
        rm -rf "$dir/run.first"
        mv "$dir/run" "$dir/run.first"
        cp "$dir/run-output.txt" "$dir/run.first/run-output.txt"
        "$here/run.sh" "$dir"
        rc=$?
        echo "xen: the second run exited $rc; the first, with its triple" \
             "faults, is in $dir/run.first"
    fi
fi
exit "$rc"
