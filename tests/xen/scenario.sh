#!/bin/bash
# The rig's scenario, run by dom0's init from the work disk (tests/xen/run.sh
# puts it there with xmig, xmigd, the guest, pvh.cfg and two daemons'
# certificates).  Issue 7: one PVH guest moved every way: xl save/restore,
# xmig save -> xl restore, xl save -> xmig restore, a refused transparent
# save, bad files refused, xmigd to xmigd over kTLS, and (with
# /work/migrate) xl migrate, xmig -> xl migrate-receive and xl migrate ->
# xmig migrate-receive, the streams captured and checked by xmig and
# verify-stream-v2.  docs/xen-rig.md lists the checks.
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
# A check whose subject could not be tried here (the reason says why).
skip() { say "XEN-TEST: $1 SKIP ${*:2}"; }
# A failure names the guests Xen saw triple-fault so far (the emulation's
# known fault, docs/xen-rig.md), which a restarted guest would hide.
faults() {
    local f
    f=$(xl dmesg 2>/dev/null | grep -o 'd[0-9]*v[0-9]* Triple fault' | sort -u | tr '\n' ' ')
    [ -n "$f" ] && echo " [xl dmesg: ${f% }]"
}
fail() { say "XEN-TEST: $1 FAIL ${*:2}$(faults)"; }
now() { cut -d' ' -f1 /proc/uptime; }
# phase NAME START: how long since START (an uptime), for run.sh's table.
phase() { say "XEN-TIME: $1 $(awk -v a="$2" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"; }
# num NAME VALUE: a figure for run.sh's comparison of xl and xmig;
# since START: seconds since START (an uptime).
num() { say "XEN-NUM: $1 $2"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# The guest's heartbeat, from the console log xenconsoled keeps: the
# newest of guest-pvh1*.log (a domain received by xmigd is built as
# pvh1--incoming and renamed later; xenconsoled keeps the first name).
con() { ls -t /var/log/xen/console/guest-$G*.log 2>/dev/null | head -1; }
last_tick() { grep -a -o 'GUEST tick [0-9]*' $(con) 2>/dev/null | tail -n 1 | cut -d' ' -f3; }
last_sum() { grep -a -o 'sum=[0-9a-f]*' $(con) 2>/dev/null | tail -n 1 | cut -d= -f2; }
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
        pass "$1-xmig-verify" "$(stat -c %s "$2") bytes: $(tail -n 1 $1.verify)"
    else
        rc=$?
        fail "$1-xmig-verify" "exit $rc: $(tail -n 3 $1.verify | tr '\n' ' ')"
    fi
    timeout 600 xmig dump "$2" > $1.dump 2> $1.dump.err ||
        echo "xmig dump exit $?" >> $1.dump.err
    if timeout 900 python3 /usr/lib/xen-4.17/bin/verify-stream-v2 -v -f xl \
        -i "$2" > $1.vs2 2>&1; then
        pass "$1-verify-stream-v2" "$(tail -n 1 $1.vs2)"
    else
        rc=$?
        fail "$1-verify-stream-v2" "exit $rc: $(tail -n 2 $1.vs2 | tr '\n' ' ')"
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
    fail create "xl create: $(tail -n 3 create.log | tr '\n' ' ')"
    exit 1
fi
i=0
while ! grep -aq 'GUEST: booted' $CON 2>/dev/null && [ $i -lt 600 ]; do
    sleep 2; i=$((i + 2))
done
if ! wait_tick 1 120; then
    fail create "no heartbeat from the guest: $(tail -n 5 $CON 2>/dev/null | tr '\n' ' ')"
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
    num xl-save-s "$(since $t)"
    num xl-save-bytes "$(stat -c %s pvh.save)"
    pass xl-save "$(stat -c %s pvh.save) bytes, guest at tick $before"
else
    fail xl-save "$(tail -n 3 save.log | tr '\n' ' ')"
    exit 1
fi
phase xl-save $t

check_stream pvh-save $OUT/pvh.save

# ---- xl restore: the saved file was good --------------------------------------
t=$(now)
if timeout 900 xl restore $OUT/pvh.save > restore.log 2>&1; then
    num xl-restore-s "$(since $t)"
    if wait_tick "$before" 120 && [ "$(last_sum)" = "$sum0" ]; then
        pass xl-restore "ticks on ($before -> $(last_tick)), memory sum unchanged"
    else
        fail xl-restore "guest stuck at tick $(last_tick) (saved at $before)," \
            "sum $(last_sum) (booted with $sum0)"
    fi
else
    fail xl-restore "$(tail -n 3 restore.log | tr '\n' ' ')"
    exit 1
fi
phase xl-restore $t

# ---- xmig save through the xen backend -> xl restore ---------------------------
# ticks_on NAME BEFORE WHAT: the guest ticks past BEFORE with the memory
# checksum it booted with.
ticks_on() {
    if wait_tick "$2" 120 && [ "$(last_sum)" = "$sum0" ]; then
        pass "$1" "$3; ticks on ($2 -> $(last_tick)), memory sum unchanged"
    else
        fail "$1" "$3; guest stuck at tick $(last_tick) (was $2)," \
            "sum $(last_sum) (booted with $sum0)"
    fi
}
domains() { xl list | tail -n +2 | wc -l; }

before=$(last_tick)
t=$(now)
if timeout 900 xmig save xen:$G $OUT/xmig.save > xmig-save.log 2>&1 &&
   ! xl list $G > /dev/null 2>&1; then
    num xmig-save-s "$(since $t)"
    num xmig-save-bytes "$(stat -c %s xmig.save)"
    pass xmig-save "$(tail -n 1 xmig-save.log); the source domain is gone"
else
    fail xmig-save "exit $?: $(tail -n 3 xmig-save.log | tr '\n' ' ')"
    xl list; exit 1
fi
phase xmig-save $t
check_stream xmig-save $OUT/xmig.save
t=$(now)
if timeout 900 xl restore $OUT/xmig.save > restore2.log 2>&1; then
    ticks_on xmig-save-xl-restore "$before" "xl restore of xmig's file"
else
    fail xmig-save-xl-restore "$(tail -n 3 restore2.log | tr '\n' ' ')"
    exit 1
fi
phase xl-restore-of-xmig-save $t

# ---- xmig save --keep: the guest resumes in place (xc_domain_resume) -----------
before=$(last_tick)
id=$(xl domid $G)
if timeout 900 xmig save --keep xen:$G $OUT/keep.save > keep.log 2>&1 &&
   [ "$(xl domid $G 2>/dev/null)" = "$id" ]; then
    ticks_on xmig-save-keep "$before" "domain $id saved and resumed"
else
    fail xmig-save-keep "exit $?: $(tail -n 3 keep.log | tr '\n' ' ')"
fi
rm -f $OUT/keep.save

# ---- a suspend request the guest does not take is withdrawn --------------------
# The guest is paused, so it cannot act on control/shutdown: after the
# (shortened) limit xmig withdraws the request inside a xenstore
# transaction, leaves no file, and the guest, unpaused, runs on in the same
# domain instead of suspending later.
before=$(last_tick)
id=$(xl domid $G)
xl pause $G
t=$(now)
XMIG_XEN_SUSPEND_WAIT=3 timeout 300 xmig save xen:$G $OUT/w.save > withdraw.log 2>&1
rc=$?
took=$(since $t)
ctl=$(xenstore-read /local/domain/$id/control/shutdown 2>&1)
xl unpause $G
if [ $rc = 1 ] && grep -q "did not suspend within 3 s.*(withdrawn; it runs on" withdraw.log &&
   [ -z "$ctl" ] && ! ls $OUT/w.save* > /dev/null 2>&1 &&
   sleep 5 && [ "$(xl domid $G)" = "$id" ]; then
    ticks_on suspend-withdrawn "$before" "refused after $took s, control/shutdown empty again"
else
    fail suspend-withdrawn "exit $rc, control/shutdown '$ctl':" \
        "$(tail -n 2 withdraw.log | tr '\n' ' ')"
fi

# ---- transparent records from the real guest ------------------------------------
# xmig gathers what Xen 4.17 reports (event channel ports, grant entries
# and the gfns of the grant frames, the xenstore home), logs it, and
# refuses: watches, mapped grants and the event channel ABI have no 4.17
# interface.  The save fails, the guest resumes in place, no file is left.
# The gfn of grant frame 0 (GNTTABOP_setup_table) must be a mapped one.
before=$(last_tick)
id=$(xl domid $G)
xmig save --transparent xen:$G $OUT/pv.save > pv.log 2>&1
rc=$?
got=$(sed -n 's/.*: \([0-9]*\) event channel ports, \([0-9]*\) grant entries.* \([0-9]*\) xenstore nodes gathered.*/\1 \2 \3/p' pv.log)
read -r ports grants nodes <<< "${got:-0 0 0}"
gfn=$(sed -n 's/.*frame 0 at gfn \(0x[0-9a-f]*\).*/\1/p' pv.log)
below=$(xenstore-ls -f /local/domain/$id 2>/dev/null | wc -l)
if [ $rc = 1 ] && grep -q "not possible from Xen 4.17.*XENSTORE_WATCHES" pv.log &&
   [ "$ports" -gt 0 ] && [ "$grants" -ge 2 ] && [ "$nodes" = $((below + 1)) ] &&
   [ -n "$gfn" ] && ! ls $OUT/pv.save* > /dev/null 2>&1 && [ "$(xl domid $G)" = "$id" ]; then
    what="gathered $ports ports, $grants grant entries (frame 0 at gfn $gfn), $nodes xenstore nodes"
    what+=" (xenstore-ls: $below below the home node); refused: Xen 4.17"
    ticks_on transparent-capture "$before" "$what cannot report watches"
else
    fail transparent-capture "exit $rc, gathered '${got}', frame 0 gfn '${gfn}', xenstore-ls" \
        "$below: $(tail -n 2 pv.log | tr '\n' ' ')"
fi

# ---- xl save -> xmig restore (libxl builds the domain from the file) ----------
before=$(last_tick)
timeout 900 xl save $G $OUT/xl2.save > save2.log 2>&1 ||
    { fail xl-save-xmig-restore "xl save: $(tail -n 2 save2.log)"; exit 1; }
t=$(now)
if timeout 900 xmig restore --xen $OUT/xl2.save > xmig-restore.log 2>&1; then
    num xmig-restore-s "$(since $t)"
    ticks_on xl-save-xmig-restore "$before" "$(tail -n 1 xmig-restore.log)"
else
    fail xl-save-xmig-restore "exit $?: $(tail -n 3 xmig-restore.log | tr '\n' ' ')"
    exit 1
fi
phase xmig-restore $t

# ---- into a domain the toolstack created paused (xl create -p) ----------------
before=$(last_tick)
timeout 900 xl save $G $OUT/xl3.save > save3.log 2>&1 ||
    { fail xmig-restore-adopt "xl save: $(tail -n 2 save3.log)"; exit 1; }
t=$(now)
timeout 300 xl create -p /work/pvh.cfg > create-p.log 2>&1
num xl-create-p-s "$(since $t)"
id=$(xl domid $G 2>/dev/null)
t=$(now)
if [ -n "$id" ] &&
   timeout 900 xmig restore --xen --domid "$id" $OUT/xl3.save > adopt.log 2>&1
then
    num xmig-restore-adopt-s "$(since $t)"
    ticks_on xmig-restore-adopt "$before" "$(tail -n 1 adopt.log)"
else
    fail xmig-restore-adopt "domain ${id:-?}: $(tail -n 3 adopt.log | tr '\n' ' ')"
    exit 1
fi

# ---- what must be refused, leaving nothing behind ------------------------------
# A truncated file: the domain libxl built for it is destroyed again.
n=$(domains)
head -c 40000000 $OUT/xl3.save > $OUT/cut.save
if timeout 900 xmig restore --xen --name cut $OUT/cut.save > cut.log 2>&1; then
    fail xmig-restore-truncated "xmig restore accepted a truncated file"
elif grep -q "stream truncated.*nothing was kept" cut.log &&
     [ "$(domains)" = "$n" ] && ! xl domid cut > /dev/null 2>&1; then
    pass xmig-restore-truncated "refused, no domain left: $(tail -n 1 cut.log)"
else
    fail xmig-restore-truncated "$(tail -n 2 cut.log | tr '\n' ' '); domains" \
        "$n -> $(domains)"
fi
rm -f $OUT/cut.save
# A domain too small for the guest: refused before anything is written.
sed 's/^name.*/name = "small"/; s/^memory.*/memory = 112/' /work/pvh.cfg \
    > /tmp/small.cfg
timeout 300 xl create -p /tmp/small.cfg > /dev/null 2>&1
sid=$(xl domid small 2>/dev/null)
if [ -z "$sid" ]; then
    fail xmig-restore-small-domain "xl create -p of a 112 MiB domain failed"
elif timeout 900 xmig restore --xen --domid "$sid" $OUT/xl3.save \
        > small.log 2>&1; then
    fail xmig-restore-small-domain "restored into a 112 MiB domain"
elif grep -q "the guest needs 131072 KiB" small.log; then
    pass xmig-restore-small-domain "$(tail -n 1 small.log)"
else
    fail xmig-restore-small-domain "$(tail -n 2 small.log | tr '\n' ' ')"
fi
[ -n "$sid" ] && xl destroy small
rm -f $OUT/xl2.save $OUT/xl3.save

# ---- live migration through xmigd: two daemons, mutual TLS, kTLS strict -------
# launder CHECK: the guest goes through xl save and xl restore first.  In a
# rig VM that had run for long (dozens of domains), guests triple-faulted
# now and then: in log-dirty rounds and in suspends, with only xl involved
# as well as with xmig; a fresh VM has not shown it (docs/xen-rig.md).  A
# domain made by a restore is the case seen least; every live migration
# below starts from one.
launder() {
    timeout 900 xl save $G $OUT/launder.save > launder.log 2>&1 &&
        timeout 900 xl restore $OUT/launder.save >> launder.log 2>&1 ||
        { fail "$1" "xl save/restore before it: $(tail -n 2 launder.log | tr '\n' ' ')"; exit 1; }
    rm -f $OUT/launder.save
    wait_tick "$(last_tick)" 60
}
launder xmigd-migrate
P=/work/pki
for n in a b; do
    cat > /tmp/xmigd-$n.conf <<EOC
listen = 127.0.0.1:$([ $n = a ] && echo 5601 || echo 5602)
control = /run/xmigd-$n.sock
tls = ktls
cert = $P/host-$n.pem
key = $P/host-$n-key.pem
ca = $P/ca.pem
backend = xen
EOC
    timeout 1200 xmigd -c /tmp/xmigd-$n.conf > xmigd-$n.log 2>&1 &
done
i=0
while [ $i -lt 50 ] && ! { [ -S /run/xmigd-a.sock ] && [ -S /run/xmigd-b.sock ]; }; do
    sleep 0.2; i=$((i + 1))
done
before=$(last_tick)
id=$(xl domid $G)
t=$(now)
if timeout 900 xmig migrate --control /run/xmigd-a.sock $G 127.0.0.1:5602 \
        > xmigd-migrate.log 2>&1 &&
   new=$(xl domid $G 2>/dev/null) && [ "$new" != "$id" ]; then
    num xmigd-migrate-s "$(since $t)"
    line=$(grep -a "moved to" xmigd-a.log | tail -1)
    mib=$(sed -n "s/.*received $G: \([0-9.]*\) MiB.*/\1/p" xmigd-b.log | tail -1)
    num xmigd-migrate-bytes "$(awk -v m="${mib:-0}" 'BEGIN { printf "%.0f", m * 1048576 }')"
    ticks_on xmigd-migrate "$before" "domain $id -> $new over kTLS: ${line#xmigd: }"
    dt=$(sed -n 's/.*downtime \([0-9.]*\) ms.*/\1/p' <<< "$line")
    num xmigd-migrate-downtime-ms "${dt:-?}"
else
    fail xmigd-migrate "exit $?: $(tail -n 2 xmigd-migrate.log | tr '\n' ' ');" \
        "$(tail -n 2 xmigd-a.log xmigd-b.log | tr '\n' ' ')"
    xl list
fi
phase xmigd-migrate $t
# kTLS carried it: both daemons run strict (tls = ktls), which fails a
# migration outright when the kernel cannot take the keys.
if grep -q "TLS ktls" xmigd-a.log && grep -q "received $G" xmigd-b.log &&
   lsmod | grep -q '^tls '; then
    pass xmigd-ktls "strict kTLS at both ends; tls.ko loaded"
else
    fail xmigd-ktls "$(tail -n 2 xmigd-a.log xmigd-b.log | tr '\n' ' ')"
fi

# ---- guests xmig must refuse: a PV one, an HVM one with qemu-xen --------------
# Created only now, after the live migration: an HVM guest booting
# (SeaBIOS, qemu-xen) beside a migration made the migrating PVH guest
# triple-fault in the emulation (CI, 2026-12-03: "d9v0 Triple fault",
# reason reboot, so xl restarted it from scratch and the migration failed
# on the vanished domain); it also took most of dom0's one vCPU.
# pvh1 stays paused while the HVM guest exists: an HVM guest booting
# (SeaBIOS, heavy port I/O through the nested emulation) beside it made
# pvh1 triple-fault even while it only ticked (clean-clone run,
# 2026-12-03: "d9v0 Triple fault" before suspend-cancel).
xl pause $G
timeout 300 xl create /work/pv.cfg > pv-create.log 2>&1
timeout 300 xl create /work/hvm.cfg > hvm-create.log 2>&1

# ---- what xmig cannot carry is refused before anything is touched --------------
# refused NAME WANT CMD...: CMD fails and says WANT.
refused() {
    local name=$1 want=$2
    shift 2
    if timeout 300 "$@" > $name.log 2>&1; then
        fail $name "accepted: $(tail -n 1 $name.log)"
    elif grep -q -- "$want" $name.log; then
        pass $name "$(tail -n 1 $name.log)"
    else
        fail $name "$(tail -n 2 $name.log | tr '\n' ' ')"
    fi
}
# dstate DOM: its id and xl's state flags ("3 -b----").
dstate() { xl list "$1" 2>/dev/null | tail -n +2 | awk '{ print $2, $5 }'; }
# untouched NAME DOM ID: still DOM with the same id, neither paused nor
# shut down nor renamed; extra proof from the caller in $why.
untouched() {
    local st
    st=$(dstate "$2")
    if [ "${st% *}" = "$3" ] && [[ ${st#* } != *[psc]* ]] &&
       [ "$(xl domname "$3" 2>/dev/null)" = "$2" ] &&
       ! xl domid "$2--migratedaway" > /dev/null 2>&1 && [ -z "${bad:-}" ]; then
        pass "$1" "domain $3 '$2' state ${st#* }: $why"
    else
        fail "$1" "domain '$2' now '$st' (was $3): $why ${bad:-}"
    fi
}
pv=$(xl domid pv1 2>/dev/null)
hvm=$(xl domid hvm1 2>/dev/null)
pvcon=/var/log/xen/console/guest-pv1.log
pvtick() { grep -a -o 'GUEST tick [0-9]*' $pvcon 2>/dev/null | tail -n 1 | cut -d' ' -f3; }
if [ -z "$pv" ]; then
    fail refuse-pv-create "xl create pv.cfg: $(tail -n 2 pv-create.log | tr '\n' ' ')"
else
    PVWANT="domain $pv is a PV guest: PV guests are not supported; use xl"
    i=0
    while [ -z "$(pvtick)" ] && [ $i -lt 120 ]; do sleep 2; i=$((i + 2)); done
    pvbefore=$(pvtick)
    refused refuse-pv-save "$PVWANT" xmig save xen:pv1 $OUT/pv.x
    refused refuse-pv-migrate "$PVWANT" \
        xmig migrate --exec "xl migrate-receive" xen:pv1
    refused refuse-pv-xmigd "$PVWANT" \
        xmig migrate --control /run/xmigd-a.sock pv1 127.0.0.1:5602
    bad=
    ls $OUT/pv.x* > /dev/null 2>&1 && bad="a file was left"
    i=0
    while [ "$(pvtick)" = "$pvbefore" ] && [ $i -lt 60 ]; do sleep 2; i=$((i + 2)); done
    [ -n "$pvbefore" ] && [ "$(pvtick)" != "$pvbefore" ] ||
        bad="${bad:+$bad, }heartbeat stuck at '$pvbefore'"
    why="ticks on ($pvbefore -> $(pvtick))"
    untouched refuse-pv-untouched pv1 "$pv"
fi
if [ -z "$hvm" ]; then
    fail refuse-hvm-create "xl create hvm.cfg: $(tail -n 2 hvm-create.log | tr '\n' ' ')"
else
    HVMWANT="domain $hvm is an HVM guest with qemu-xen: HVM guests with a qemu"
    HVMWANT+=" device model are not supported yet: their device state would"
    HVMWANT+=" be lost; use xl"
    qpid=$(pgrep -f -- "-xen-domid $hvm " | head -1)
    # Live moves of HVM guests are refused (to xl too: in this rig the
    # guest moved live triple-faulted on arrival in 2 of 3 runs); xmigd's
    # destinations are xmig's, which cannot load qemu's state yet.
    refused refuse-hvm-migrate "$HVMWANT" \
        xmig migrate --exec "xl migrate-receive" xen:hvm1
    refused refuse-hvm-xmigd "$HVMWANT" \
        xmig migrate --control /run/xmigd-a.sock hvm1 127.0.0.1:5602
    bad=
    [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null &&
        [ "$(pgrep -f -- "-xen-domid $hvm " | head -1)" = "$qpid" ] ||
        bad="${bad:+$bad, }qemu (pid '${qpid}') is gone"
    why="qemu (pid $qpid) still serves it"
    untouched refuse-hvm-untouched hvm1 "$hvm"
    # Its moves come last (section at the end): gone before it boots.
    xl destroy hvm1 > /dev/null 2>&1
fi
# The destination: xl's save file of a PV guest is refused before any
# domain is built for it.
if xl domid pv1 > /dev/null 2>&1; then
    want="the stream's guest is x86 PV: PV guests are not supported; use xl"
    if ! timeout 900 xl save pv1 $OUT/pv1.save > pv1-save.log 2>&1; then
        fail refuse-pv-restore "xl save pv1: $(tail -n 2 pv1-save.log | tr '\n' ' ')"
    else
        n=$(domains)
        timeout 900 xmig restore --xen $OUT/pv1.save > refuse-pv-restore.log 2>&1
        rc=$?
        if [ $rc != 0 ] && grep -q -- "$want" refuse-pv-restore.log &&
           [ "$(domains)" = "$n" ] && ! xl domid pv1 > /dev/null 2>&1; then
            pass refuse-pv-restore "no domain built: $(tail -n 1 refuse-pv-restore.log)"
        else
            fail refuse-pv-restore "exit $rc, domains $n -> $(domains):" \
                "$(tail -n 2 refuse-pv-restore.log | tr '\n' ' ')"
        fi
    fi
    rm -f $OUT/pv1.save
fi
xl destroy pv1 > /dev/null 2>&1
xl destroy hvm1 > /dev/null 2>&1
xl unpause $G
pkill xmigd

# ---- a cancel during the suspend wait is honoured at once ----------------------
# The guest is paused, so it never answers the suspend request; xmigd A
# waits for it up to 600 s (XMIG_XEN_SUSPEND_WAIT).  SIGTERM cancels the
# migration: the wait must end within seconds, the request be withdrawn,
# and the guest, unpaused, run on in the same domain.
while pgrep -x xmigd > /dev/null; do sleep 0.2; done
rm -f /run/xmigd-a.sock /run/xmigd-b.sock
XMIG_XEN_SUSPEND_WAIT=600 timeout 1200 xmigd -c /tmp/xmigd-a.conf > xmigd-a2.log 2>&1 &
apid=$!
timeout 1200 xmigd -c /tmp/xmigd-b.conf > xmigd-b2.log 2>&1 &
i=0
while [ $i -lt 50 ] && ! { [ -S /run/xmigd-a.sock ] && [ -S /run/xmigd-b.sock ]; }; do
    sleep 0.2; i=$((i + 1))
done
before=$(last_tick)
id=$(xl domid $G)
xl pause $G
timeout 900 xmig migrate --control /run/xmigd-a.sock $G 127.0.0.1:5602 \
    > cancel.log 2>&1 &
i=0
while [ "$(xenstore-read /local/domain/$id/control/shutdown 2>/dev/null)" != suspend ] &&
      [ $i -lt 600 ]; do
    sleep 0.5; i=$((i + 1))
done
asked=$(xenstore-read /local/domain/$id/control/shutdown 2>/dev/null)
t=$(now)
kill -TERM $apid
i=0
while kill -0 $apid 2>/dev/null && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
took=$(since $t)
ctl=$(xenstore-read /local/domain/$id/control/shutdown 2>&1)
wait $apid 2>/dev/null
pkill xmigd
xl unpause $G
if [ "$asked" = suspend ] && awk -v s="$took" 'BEGIN { exit !(s < 20) }' &&
   [ -z "$ctl" ] && grep -q "cancelled" xmigd-a2.log &&
   sleep 5 && [ "$(xl domid $G)" = "$id" ]; then
    ticks_on suspend-cancel "$before" "cancelled in the suspend wait, xmigd gone after $took s, control/shutdown empty again"
else
    fail suspend-cancel "request '$asked', xmigd stopped after $took s," \
        "control/shutdown '$ctl': $(tail -n 2 xmigd-a2.log cancel.log | tr '\n' ' ')"
fi

# ---- a guest with several vCPUs (smp-): two online, one offline ----------------
# smp1 (smp.cfg: vcpus 2, maxvcpus 3) moves three ways; after each, its
# heartbeat (vCPU 0) and its vCPU 1 counter move on, the memory sum is the
# one it booted with, and vCPU 2 is still offline (xl: "--p", xenstore:
# availability offline).  pvh1 is paused meanwhile, so that one guest runs.
S=smp1
scon() { ls -t /var/log/xen/console/guest-$S*.log 2>/dev/null | head -1; }
stick() { grep -a -o 'GUEST tick [0-9]*' $(scon) 2>/dev/null | tail -n 1 | cut -d' ' -f3; }
scpu1() { grep -a -o 'cpu1=[0-9]*' $(scon) 2>/dev/null | tail -n 1 | cut -d= -f2; }
ssum() { grep -a -o 'sum=[0-9a-f]*' $(scon) 2>/dev/null | tail -n 1 | cut -d= -f2; }
# vstate N: xl's state flags of the guest's vCPU N ("-b-", "--p").
vstate() { xl vcpu-list $S 2>/dev/null | awk -v n="$1" '$3 == n { print $5 }'; }
# smp_on NAME WHAT: after a move (the tick and vCPU 1 count before it in
# $sb and $sc), both vCPUs tick on, the memory is intact, vCPU 2 offline.
smp_on() {
    local i=0 d
    while [ $i -lt 120 ]; do
        [ "$(stick)" -gt "$sb" ] 2>/dev/null && [ "$(scpu1)" -gt "$sc" ] 2>/dev/null && break
        sleep 2; i=$((i + 2))
    done
    d=$(xl domid $S 2>/dev/null)
    if [ "$(stick)" -gt "$sb" ] 2>/dev/null && [ "$(scpu1)" -gt "$sc" ] 2>/dev/null &&
       [ "$(ssum)" = "$ssum0" ] && [ "$(vstate 2)" = "--p" ] &&
       [ "$(vstate 1)" != "--p" ] &&
       [ "$(xenstore-read /local/domain/$d/cpu/2/availability 2>/dev/null)" = offline ]; then
        pass "$1" "$2; tick $sb -> $(stick), vCPU 1 count $sc -> $(scpu1), memory sum unchanged, vCPU 2 offline"
    else
        fail "$1" "$2; tick $sb -> $(stick), vCPU 1 count $sc -> $(scpu1)," \
            "sum $(ssum) (booted with $ssum0), vCPU 1 '$(vstate 1)', vCPU 2 '$(vstate 2)'"
    fi
}
xl pause $G
t=$(now)
rm -f /var/log/xen/console/guest-$S*.log   # xenconsoled would append
if ! timeout 300 xl create /work/smp.cfg > smp-create.log 2>&1; then
    fail smp-create "xl create smp.cfg: $(tail -n 2 smp-create.log | tr '\n' ' ')"
else
    i=0
    while [ -z "$(scpu1)" ] && [ $i -lt 300 ]; do sleep 2; i=$((i + 2)); done
    # the newest boot's line: xenconsoled appends to an old guest log
    ssum0=$(sed -n 's/.*GUEST: booted sum=\([0-9a-f]*\) cpus=\([0-9]*\).*/\1 \2/p' $(scon) | tail -n 1)
    cpus=${ssum0#* }
    ssum0=${ssum0% *}
    if [ "$cpus" = 2 ] && [ -n "$(scpu1)" ] && [ "$(vstate 2)" = "--p" ]; then
        pass smp-create "2 vCPUs online (vCPU 1 count $(scpu1)), vCPU 2 offline"
    else
        fail smp-create "cpus '$cpus', vCPU 1 count '$(scpu1)', vCPU 2 '$(vstate 2)':" \
            "$(xl vcpu-list $S 2>&1 | tr -s ' \n' ' ')"
    fi
    phase smp-create $t
    # xmig save -> xl restore
    sb=$(stick); sc=$(scpu1)
    if timeout 900 xmig save xen:$S $OUT/smp.save > smp-save.log 2>&1 &&
       timeout 900 xl restore $OUT/smp.save > smp-restore.log 2>&1; then
        smp_on smp-xmig-save-xl-restore "$(tail -n 1 smp-save.log | cut -c1-90)..."
    else
        fail smp-xmig-save-xl-restore "$(tail -n 2 smp-save.log smp-restore.log | tr '\n' ' ')"
    fi
    # xl save -> xmig restore --xen
    sb=$(stick); sc=$(scpu1)
    if timeout 900 xl save $S $OUT/smp.save > smp-save2.log 2>&1 &&
       timeout 900 xmig restore --xen $OUT/smp.save > smp-restore2.log 2>&1; then
        smp_on smp-xl-save-xmig-restore "$(tail -n 1 smp-restore2.log)"
    else
        fail smp-xl-save-xmig-restore "$(tail -n 2 smp-save2.log smp-restore2.log | tr '\n' ' ')"
    fi
    rm -f $OUT/smp.save
    # live, between two xmigd over kTLS, from a domain xl restored (as
    # every live migration here: docs/xen-rig.md, "Triple faults")
    timeout 900 xl save $S $OUT/smp.save > smp-launder.log 2>&1 &&
        timeout 900 xl restore $OUT/smp.save >> smp-launder.log 2>&1 ||
        fail smp-xmigd-migrate "xl save/restore before it: $(tail -n 2 smp-launder.log | tr '\n' ' ')"
    rm -f $OUT/smp.save
    rm -f /run/xmigd-a.sock /run/xmigd-b.sock
    for n in a b; do
        timeout 900 xmigd -c /tmp/xmigd-$n.conf > xmigd-$n-smp.log 2>&1 &
    done
    i=0
    while [ $i -lt 50 ] && ! { [ -S /run/xmigd-a.sock ] && [ -S /run/xmigd-b.sock ]; }; do
        sleep 0.2; i=$((i + 1))
    done
    sb=$(stick); sc=$(scpu1)
    id=$(xl domid $S)
    if timeout 900 xmig migrate --control /run/xmigd-a.sock $S 127.0.0.1:5602 \
            > smp-migrate.log 2>&1 &&
       new=$(xl domid $S 2>/dev/null) && [ "$new" != "$id" ]; then
        smp_on smp-xmigd-migrate "domain $id -> $new over kTLS: $(grep -a 'moved to' xmigd-a-smp.log | tail -n 1 | sed 's/^xmigd: //')"
    else
        fail smp-xmigd-migrate "$(tail -n 2 smp-migrate.log xmigd-a-smp.log | tr '\n' ' ')"
    fi
    pkill xmigd
    while pgrep -x xmigd > /dev/null; do sleep 0.2; done
    phase smp $t
    xl destroy $S > /dev/null 2>&1
fi
xl unpause $G

# ---- live migration to localhost, the stream captured -------------------------

[ -f /work/migrate ] || exit 0
launder xl-migrate
before=$(last_tick)
t=$(now)
if timeout 900 xl migrate -s "" $G "tee $OUT/pvh.live | xl migrate-receive" \
    > migrate.log 2>&1; then
    num xl-migrate-s "$(since $t)"
    num xl-migrate-bytes "$(stat -c %s pvh.live)"
    if wait_tick "$before" 120 && [ "$(last_sum)" = "$sum0" ]; then
        pass xl-migrate "$(stat -c %s pvh.live) bytes captured;" \
            "ticks on ($before -> $(last_tick)), memory sum unchanged"
    else
        fail xl-migrate "guest stuck at tick $(last_tick) (was $before)," \
            "sum $(last_sum) (booted with $sum0)"
    fi
else
    fail xl-migrate "$(tail -n 3 migrate.log | tr '\n' ' ')"
    exit 1
fi
phase xl-migrate $t
# The captured bytes are what the sender wrote: the save image, then xl's
# "domain is yours" handshake message after the stream (hence
# --allow-trailing; verify-stream-v2 reads to the END record and stops).
check_stream pvh-live $OUT/pvh.live --allow-trailing

# ---- live migration between xmig and xl, both ways ------------------------------
# xmig's engine as the sender, Xen's own xl migrate-receive (libxl, libxc's
# restore) as the receiver, the stream captured: several rounds of pages.
before=$(last_tick)
id=$(xl domid $G)
t=$(now)
if timeout 900 xmig migrate --exec "tee $OUT/xmig.live | xl migrate-receive" \
        xen:$G > xmig-to-xl.log 2>&1 &&
   new=$(xl domid $G 2>/dev/null) && [ "$new" != "$id" ]; then
    num xmig-to-xl-s "$(since $t)"
    ticks_on xmig-migrate-to-xl "$before" "domain $id -> $new: $(grep -a \
        '^xmig migrate: [0-9]* rounds' xmig-to-xl.log | tail -1)"
else
    fail xmig-migrate-to-xl "exit $?: $(tail -n 3 xmig-to-xl.log | tr '\n' ' ')"
fi
phase xmig-migrate-to-xl $t
check_stream xmig-live $OUT/xmig.live --allow-trailing
# xl migrate as the sender, xmig migrate-receive --xen as the receiver.
before=$(last_tick)
id=$(xl domid $G)
t=$(now)
if timeout 900 xl migrate -s "" $G "xmig migrate-receive --xen" \
        > xl-to-xmig.log 2>&1 &&
   new=$(xl domid $G 2>/dev/null) && [ "$new" != "$id" ]; then
    num xl-to-xmig-s "$(since $t)"
    ticks_on xl-migrate-to-xmig "$before" "domain $id -> $new: $(grep -a \
        'xmig migrate-receive: .* runs as' xl-to-xmig.log | tail -1)"
else
    fail xl-migrate-to-xmig "exit $?: $(tail -n 3 xl-to-xmig.log | tr '\n' ' ')"
fi
phase xl-migrate-to-xmig $t

# ---- the source vanishes during a migration (last: the guest is lost) -----------
# As when a triple fault becomes a reboot and xl rebuilds the guest under
# another id: the domain is destroyed in round 1.  xmig must not claim the
# guest runs on, and the destination must throw its half away.
rm -f /run/xmigd-a.sock /run/xmigd-b.sock
for n in a b; do
    timeout 600 xmigd -c /tmp/xmigd-$n.conf > xmigd-$n-gone.log 2>&1 &
done
i=0
while [ $i -lt 50 ] && ! { [ -S /run/xmigd-a.sock ] && [ -S /run/xmigd-b.sock ]; }; do
    sleep 0.2; i=$((i + 1))
done
id=$(xl domid $G)
timeout 600 xmig migrate --control /run/xmigd-a.sock $G 127.0.0.1:5602 \
    > gone.log 2>&1 &
mp=$!
i=0
while ! grep -q "round 1" gone.log && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
xl destroy $id
wait $mp
rc=$?
i=0
while xl list | grep -q -- "--incoming" && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
if [ $rc = 1 ] && grep -q "could NOT be resumed (domain $id is gone" gone.log &&
   ! grep -q "runs on" gone.log && [ "$(domains)" = 1 ] &&
   grep -q "incoming migration failed, nothing kept" xmigd-b-gone.log; then
    pass source-gone "$(tail -n 1 gone.log | cut -c1-160)...; destination: $(grep -a 'nothing kept' xmigd-b-gone.log | tail -n 1 | cut -c1-60)..."
else
    fail source-gone "exit $rc, domains $(domains): $(tail -n 2 gone.log xmigd-b-gone.log | tr '\n' ' ')"
fi
pkill xmigd

# ---- HVM with qemu-xen, through libxl (last) ----------------------------------
# Last, after every PVH live migration: an HVM guest running beside (or
# before) them made PVH guests triple-fault in the nested emulation (CI
# runs of 2026-12-03: "d9v0 Triple fault" beside a booting HVM guest; the
# smp guest's xmigd move, after the HVM moves, "d20v0 Triple fault").
# Nothing else runs now.
rm -f /var/log/xen/console/guest-hvm1.log
timeout 300 xl create /work/hvm.cfg > hvm-create2.log 2>&1
hvm=$(xl domid hvm1 2>/dev/null)
if [ -z "$hvm" ]; then
    fail hvm-xmig-save-xl-restore "xl create hvm.cfg: $(tail -n 2 hvm-create2.log | tr '\n' ' ')"
else
    # The HVM guest prints its heartbeat on the PV console (hvc0, logged
    # by xenconsoled); it boots in one to three minutes here.  The moves
    # below wait for its first tick, so that each is checked by the guest
    # itself: ticks go on, the memory sum unchanged.
    hvmcon=/var/log/xen/console/guest-hvm1.log
    hvmtick() { grep -a -o 'GUEST tick [0-9]*' $hvmcon 2>/dev/null | tail -n 1 | cut -d' ' -f3; }
    hvmsum() { grep -a -o 'sum=[0-9a-f]*' $hvmcon 2>/dev/null | tail -n 1 | cut -d= -f2; }
    i=0
    while [ -z "$(hvmtick)" ] && [ $i -lt 420 ]; do sleep 3; i=$((i + 3)); done
    hvmsum0=$(hvmsum)
    say "XEN-INFO: hvm1 booted (first tick) ${hvmsum0:+after }${i} s${hvmsum0:-: no tick yet}"
    # hvm_runs NAME WHAT OLDID TICK [soft]: hvm1 is a new domain, its qemu
    # the new one, the old domain and qemu gone; the guest ticks on past
    # TICK with the same memory sum (if it had booted; else its vCPU time
    # must grow).  soft: the heartbeat is reported, not required (live
    # moves, which hang this guest under the nested emulation with xl as
    # sender too; docs/xen-rig.md).
    hvm_runs() {
        local d c1 c2 i=0 beat=
        d=$(xl domid hvm1 2>/dev/null)
        c1=$(xl vcpu-list hvm1 2>/dev/null | awk '$3 == 0 { print $6 }')
        if [ -n "$hvmsum0" ] && [ -n "$4" ]; then
            while [ "$(hvmtick)" -le "$4" ] 2>/dev/null && [ $i -lt 90 ]; do sleep 3; i=$((i + 3)); done
            if [ "$(hvmtick)" -gt "$4" ] 2>/dev/null && [ "$(hvmsum)" = "$hvmsum0" ]; then
                beat="ticks on ($4 -> $(hvmtick)), memory sum unchanged"
            elif [ "${5:-}" = soft ]; then
                beat="heartbeat NOT resumed within 90 s (tick $4 -> $(hvmtick)); live moves are not proven here"
            else
                beat=
                bad="guest stuck at tick $(hvmtick) (was $4), sum $(hvmsum) (booted with $hvmsum0)"
            fi
        else
            sleep 6
        fi
        c2=$(xl vcpu-list hvm1 2>/dev/null | awk '$3 == 0 { print $6 }')
        if [ -n "$d" ] && [ "$d" != "$3" ] && pgrep -f -- "-xen-domid $d " > /dev/null &&
           ! pgrep -f -- "-xen-domid $3 " > /dev/null && ! xl domname "$3" > /dev/null 2>&1 &&
           awk -v a="${c1:-0}" -v b="${c2:-0}" 'BEGIN { exit !(b > a) }' && [ -z "${bad:-}" ]; then
            pass "$1" "$2; domain $3 -> $d, its qemu running, vCPU time $c1 -> $c2 s${beat:+; $beat}"
        else
            fail "$1" "$2; domain $3 -> '$d', vCPU time '$c1' -> '$c2' ${bad:-}:" \
                "$(tail -n 2 /var/log/xen/qemu-dm-hvm1.log | tr '\n' ' ')"
        fi
        bad=
    }
    tick0=$(hvmtick)
    if timeout 600 xmig save xen:hvm1 $OUT/hvm.save > hvm-save.log 2>&1 &&
       timeout 600 xmig dump $OUT/hvm.save > hvm-save.dump 2>&1 &&
       grep -q "libxl EMULATOR_CONTEXT (0x3), length [0-9]*: emulator 2 index 0" hvm-save.dump &&
       timeout 900 python3 /usr/lib/xen-4.17/bin/verify-stream-v2 -v -f xl \
           -i $OUT/hvm.save > hvm-save.vs2 2>&1 &&
       grep -q "type Qemu Upstream" hvm-save.vs2 &&
       timeout 900 xl restore $OUT/hvm.save > hvm-restore.log 2>&1; then
        hvm_runs hvm-xmig-save-xl-restore "$(tail -n 1 hvm-save.log | cut -c1-100)...; $(grep -o 'EMULATOR_CONTEXT.*' hvm-save.dump); verify-stream-v2 accepts it" "$hvm" "$tick0"
    else
        fail hvm-xmig-save-xl-restore "$(tail -n 2 hvm-save.log hvm-save.vs2 hvm-restore.log | tr '\n' ' ')"
    fi
    rm -f $OUT/hvm.save
    # xmig as the destination: libxl restores the guest (and hands qemu-xen
    # its state) from the stream xmig's reader checks on the way.  First a
    # copy cut short: refused, and libxl's half-built domain and its qemu
    # are gone again.
    qemus() { pgrep -c -f -- "-xen-domid [0-9]" || true; }
    hvm=$(xl domid hvm1 2>/dev/null); tick0=$(hvmtick)
    if timeout 600 xmig save xen:hvm1 $OUT/hvm.save > hvm-save2.log 2>&1; then
        n=$(domains); q=$(qemus)
        head -c $(( $(stat -c %s $OUT/hvm.save) * 2 / 3 )) $OUT/hvm.save > $OUT/hvm-cut.save
        timeout 900 xmig restore --xen $OUT/hvm-cut.save > hvm-cut.log 2>&1
        rc=$?
        if [ $rc != 0 ] && grep -q "stream truncated.*nothing was kept" hvm-cut.log &&
           [ "$(domains)" = "$n" ] && [ "$(qemus)" = "$q" ] &&
           ! xl domid hvm1 > /dev/null 2>&1; then
            pass hvm-xmig-restore-truncated "refused, no domain or qemu left: $(tail -n 1 hvm-cut.log)"
        else
            fail hvm-xmig-restore-truncated "exit $rc, domains $n -> $(domains)," \
                "qemus $q -> $(qemus): $(tail -n 2 hvm-cut.log | tr '\n' ' ')"
        fi
        rm -f $OUT/hvm-cut.save
        if timeout 900 xmig restore --xen $OUT/hvm.save > hvm-xmig-restore.log 2>&1; then
            hvm_runs hvm-xmig-save-xmig-restore "$(tail -n 1 hvm-xmig-restore.log)" "$hvm" "$tick0"
        else
            fail hvm-xmig-save-xmig-restore "$(tail -n 2 hvm-xmig-restore.log | tr '\n' ' ')"
        fi
    else
        fail hvm-xmig-save-xmig-restore "xmig save: $(tail -n 2 hvm-save2.log | tr '\n' ' ')"
    fi
    rm -f $OUT/hvm.save
    # And xl's own save file of it.
    hvm=$(xl domid hvm1 2>/dev/null); tick0=$(hvmtick)
    if timeout 900 xl save hvm1 $OUT/hvm1.save > hvm1-save.log 2>&1 &&
       timeout 900 xmig restore --xen $OUT/hvm1.save > hvm-xl-xmig.log 2>&1; then
        hvm_runs hvm-xl-save-xmig-restore "$(tail -n 1 hvm-xl-xmig.log)" "$hvm" "$tick0"
    else
        fail hvm-xl-save-xmig-restore "$(tail -n 2 hvm1-save.log hvm-xl-xmig.log | tr '\n' ' ')"
    fi
    rm -f $OUT/hvm1.save
    # And xl's live migration of it: xl sends, xmig receives (libxl
    # restores what xmig's reader passes on; the go-ahead is xl's).
    # When xl's own source triple-faults (the nested emulation does that
    # to HVM guests in log-dirty rounds: CI run of 2026-12-03, "d15v0
    # Triple fault", "failed to suspend at sender"), the move proves
    # nothing either way: then only xmig's side is checked (it said why
    # and kept nothing) and the check is skipped.
    hvm=$(xl domid hvm1 2>/dev/null); tick0=$(hvmtick)
    tf0=$(xl dmesg | grep -c "d${hvm}v[0-9]* Triple fault")
    if timeout 900 xl migrate -s "" hvm1 "xmig migrate-receive --xen --timeout 20" \
            > hvm-xl-to-xmig.log 2>&1; then
        hvm_runs hvm-xl-migrate-to-xmig "$(grep -a 'xmig migrate-receive: .* runs as' hvm-xl-to-xmig.log | tail -n 1)" "$hvm" "$tick0" soft
    elif [ "$(xl dmesg | grep -c "d${hvm}v[0-9]* Triple fault")" != "$tf0" ] &&
         grep -aq "xmig migrate-receive: .*nothing was kept" hvm-xl-to-xmig.log &&
         ! xl domid hvm1--incoming > /dev/null 2>&1; then
        skip hvm-xl-migrate-to-xmig "xl's source domain $hvm triple-faulted during its live migration; xmig's receiver: $(grep -a -o 'xmig migrate-receive: .*nothing was kept' hvm-xl-to-xmig.log | tail -n 1 | cut -c1-200)"
    else
        fail hvm-xl-migrate-to-xmig "$(tail -n 3 hvm-xl-to-xmig.log | tr '\n' ' ')"
    fi
fi
xl destroy hvm1 > /dev/null 2>&1
exit 0
