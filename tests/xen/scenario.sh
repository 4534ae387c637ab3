#!/bin/bash
# The rig's scenario, run by dom0's init from the work disk (tests/xen/run.sh
# puts it there with xmig, the guest and pvh.cfg).  Issue 7, scenario 1:
#   create a PVH guest, let it run, xl save it, check the file with
#   xmig verify / xmig dump and with Xen's verify-stream-v2, xl restore it
#   and see the guest run on with its memory intact.
# With /work/migrate present, also live-migrate it to localhost through xl
# (tee captures the stream) and check that stream the same way.
#
# Writes /work/out/results.txt, one line per check:
#   XEN-TEST: <name> PASS|FAIL <details>
#   XEN-TIME: <phase> <seconds>
# and the files run.sh compares on the host (*.dump, *.vs2).  Every step
# has a timeout; a failed step skips those that need it.
set -u
export PATH=/work/bin:$PATH:/usr/lib/xen-4.17/bin
export PYTHONPATH=/usr/lib/xen-4.17/lib/python
OUT=/work/out
G=pvh1
CON=/var/log/xen/console/guest-$G.log
cd $OUT || exit 1
: > results.txt

say() { echo "$*" | tee -a results.txt; }
pass() { say "XEN-TEST: $1 PASS ${*:2}"; }
fail() { say "XEN-TEST: $1 FAIL ${*:2}"; }
now() { cut -d' ' -f1 /proc/uptime; }
# phase NAME START: how long since START (an uptime), for run.sh's table.
phase() { say "XEN-TIME: $1 $(awk -v a="$2" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"; }

# The guest's heartbeat, from the console log xenconsoled keeps.
last_tick() { grep -a -o 'GUEST tick [0-9]*' $CON 2>/dev/null | tail -1 | cut -d' ' -f3; }
last_sum() { grep -a -o 'sum=[0-9a-f]*' $CON 2>/dev/null | tail -1 | cut -d= -f2; }
# wait_tick N SECONDS: until the guest prints a tick after N.
wait_tick() {
    local i=0 t
    while [ $i -lt "$2" ]; do
        t=$(last_tick)
        [ -n "$t" ] && [ "$t" -gt "$1" ] && return 0
        sleep 2; i=$((i + 2))
    done
    return 1
}

# check_stream NAME FILE [xmig verify options]: xmig verify and dump, and
# Xen's verify-stream-v2 -v; run.sh compares the two listings.
check_stream() {
    local t=$(now) rc
    # Exit 0 alone is not enough: xmig must also say what it found.
    if timeout 600 xmig verify "${@:3}" "$2" > $1.verify 2>&1 &&
       grep -q 'valid xl stream: x86 HVM, libxc v3, [0-9]* records' $1.verify; then
        pass "$1-xmig-verify" "$(stat -c %s "$2") bytes: $(tail -1 $1.verify)"
    else
        rc=$?
        fail "$1-xmig-verify" "exit $rc: $(tail -3 $1.verify | tr '\n' ' ')"
    fi
    timeout 600 xmig dump "$2" > $1.dump 2> $1.dump.err ||
        echo "xmig dump exit $?" >> $1.dump.err
    if timeout 900 python3 /usr/lib/xen-4.17/bin/verify-stream-v2 -v -f xl \
        -i "$2" > $1.vs2 2>&1; then
        pass "$1-verify-stream-v2" "$(tail -1 $1.vs2)"
    else
        rc=$?
        fail "$1-verify-stream-v2" "exit $rc: $(tail -2 $1.vs2 | tr '\n' ' ')"
    fi
    phase "$1-checks" $t
}

# ---- xmig runs in dom0 (dynamically linked: Debian 12's libssl3) ------------
if v=$(xmig --version 2>&1) && [[ $v == "xmig "[0-9]* ]]; then
    pass xmig-runs-in-dom0 "$v"
else
    fail xmig-runs-in-dom0 "$v; $(ldd /work/bin/xmig 2>&1 | grep 'not found')"
fi

# ---- create ------------------------------------------------------------------
t=$(now)
if ! timeout 300 xl create /work/pvh.cfg > create.log 2>&1; then
    fail create "xl create: $(tail -3 create.log | tr '\n' ' ')"
    exit 1
fi
i=0
while ! grep -aq 'GUEST: booted' $CON 2>/dev/null && [ $i -lt 600 ]; do
    sleep 2; i=$((i + 2))
done
if ! wait_tick 1 120; then
    fail create "no heartbeat from the guest: $(tail -5 $CON 2>/dev/null | tr '\n' ' ')"
    xl list
    exit 1
fi
sum0=$(sed -n 's/.*GUEST: booted sum=\([0-9a-f]*\).*/\1/p' $CON | head -1)
pass create "guest ticking (tick $(last_tick)), sum $sum0"
phase guest-create $t

# ---- xl save -----------------------------------------------------------------
before=$(last_tick)
t=$(now)
if timeout 900 xl save $G $OUT/pvh.save > save.log 2>&1; then
    pass xl-save "$(stat -c %s pvh.save) bytes, guest at tick $before"
else
    fail xl-save "$(tail -3 save.log | tr '\n' ' ')"
    exit 1
fi
phase xl-save $t

check_stream pvh-save $OUT/pvh.save

# ---- xl restore: the saved file was good --------------------------------------
t=$(now)
if timeout 900 xl restore $OUT/pvh.save > restore.log 2>&1; then
    if wait_tick "$before" 120 && [ "$(last_sum)" = "$sum0" ]; then
        pass xl-restore "ticks on ($before -> $(last_tick)), memory sum unchanged"
    else
        fail xl-restore "guest stuck at tick $(last_tick) (saved at $before)," \
            "sum $(last_sum) (booted with $sum0)"
    fi
else
    fail xl-restore "$(tail -3 restore.log | tr '\n' ' ')"
    exit 1
fi
phase xl-restore $t

# ---- live migration to localhost, the stream captured -------------------------
[ -f /work/migrate ] || exit 0
before=$(last_tick)
t=$(now)
if timeout 900 xl migrate -s "" $G "tee $OUT/pvh.live | xl migrate-receive" \
    > migrate.log 2>&1; then
    if wait_tick "$before" 120 && [ "$(last_sum)" = "$sum0" ]; then
        pass xl-migrate "$(stat -c %s pvh.live) bytes captured;" \
            "ticks on ($before -> $(last_tick)), memory sum unchanged"
    else
        fail xl-migrate "guest stuck at tick $(last_tick) (was $before)," \
            "sum $(last_sum) (booted with $sum0)"
    fi
else
    fail xl-migrate "$(tail -3 migrate.log | tr '\n' ' ')"
    exit 1
fi
phase xl-migrate $t
# The captured bytes are what the sender wrote: the save image, then xl's
# "domain is yours" handshake message after the stream (hence
# --allow-trailing; verify-stream-v2 reads to the END record and stops).
check_stream pvh-live $OUT/pvh.live --allow-trailing
xl destroy $G
exit 0
