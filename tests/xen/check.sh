#!/bin/bash
# make check-xen: build the rig (cached), run it, and run it once more
# when a failure came with a triple fault of the nested emulation.
#
# Under qemu TCG, guests of this rig now and then triple-fault in
# log-dirty rounds and suspends, with xl alone as well as with xmig
# (docs/xen-rig.md, "Triple faults"); a triple fault is a reboot, and the
# check fails with the guest gone (and the scenario may stop there, so
# that later checks never run).  When a "not ok" line of a run names one
# (fail() in scenario.sh appends what xl dmesg saw), the whole rig runs a
# second time; the first run stays in DIR/run.first.  When the second
# fails too, combine.py judges both: any failure without a triple fault
# fails; a check that passed in either run passes; one whose every try
# ended in a triple fault is reported as inconclusive.
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
    if grep '^not ok' "$dir/run-output.txt" | grep -q 'Triple fault'; then
        echo
        echo "xen: that run saw a guest triple-fault in the nested emulation" \
             "(docs/xen-rig.md); running the rig once more"
        rm -rf "$dir/run.first"
        mv "$dir/run" "$dir/run.first"
        cp "$dir/run-output.txt" "$dir/run.first/run-output.txt"
        "$here/run.sh" "$dir" 2>&1 | tee "$dir/run-output-2.txt"
        rc=${PIPESTATUS[0]}
        echo "xen: the second run exited $rc; the first, with its triple" \
             "faults, is in $dir/run.first"
        if [ "$rc" = 1 ]; then
            python3 "$here/combine.py" "$dir/run.first/run-output.txt" \
                "$dir/run-output-2.txt"
            rc=$?
        fi
    fi
fi
exit "$rc"
