#!/bin/bash
# Real Xen in a VM (issue 7).  PROVES, on Debian 12's Xen 4.17
# (hypervisor, libxc, libxl, xl; booted under qemu TCG with an AMD CPU
# model, since TCG has no VMX), with one PVH guest whose heartbeat and
# memory checksum are checked after every move: xl's save files and live
# streams are accepted by xmig and listed record for record (type, order,
# length) as Xen's verify-stream-v2 -v lists them; xmig save through the
# xen backend writes files verify-stream-v2 accepts and xl restore runs;
# xmig restore runs xl's files (into a libxl-built or an xl create -p
# domain) and refuses bad ones leaving nothing; two xmigd live-migrate the
# guest over strict kTLS; xmig's engine and xl migrate each other's live
# streams both ways; a real guest's PV state is gathered and the
# transparent save refused for what Xen 4.17 cannot report.
# DOES NOT PROVE: PV guests, HVM with a device model, two hosts, restoring
# transparent state, anything about speed (TCG), or Xen versions other
# than Debian 12's.
#
# Usage: tests/xen/run.sh [DIR]     DIR: what tests/xen/build.sh made (obj/xen)
# Env:   XMIG (./xmig, copied into dom0 with the guest and scenario.sh)
#        XEN_TIMEOUT (s, 1800: the whole VM)  XEN_MIGRATE (1)
#        XEN_MEM (3G)  XEN_SMP (2)
# Exit:  0 all passed, 1 a check failed, 2 the rig itself did not work
#        (missing files, Xen or dom0 did not come up, no results).
#
# The run leaves DIR/run/: console.log (Xen's serial console, dom0 and
# the scenario on it), work.img and out/ (results.txt, the stream files
# pvh.save and pvh.live, xmig dump and verify-stream-v2 listings, logs).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-obj/xen}
xmig=${XMIG:-./xmig}
timeout_s=${XEN_TIMEOUT:-1800}
run=$dir/run
log=$run/console.log

rig_problem() { echo "xen/run: $*" >&2; exit 2; }

for f in xen vmlinuz initrd.img dom0.img guest/vmlinuz guest/initrd.cpio.gz; do
    [ -s "$dir/$f" ] || rig_problem "no $dir/$f: run tests/xen/build.sh first"
done
[ -x "$xmig" ] || rig_problem "no $xmig: build it (make) or set XMIG"
for t in qemu-system-x86_64 mkfs.ext4 debugfs python3; do
    command -v "$t" >/dev/null || rig_problem "$t not found (.ci/install-deps)"
done
dir=$(cd "$dir" && pwd)
run=$dir/run
log=$run/console.log

# ---- the work disk: xmig, the guest, the scenario; results come back on it --
rm -rf "$run"
mkdir -p "$run/work/bin" "$run/work/guest" "$run/work/out"
cp "$xmig" "$run/work/bin/xmig"
cp "$(dirname "$(readlink -f "$xmig")")/xmigd" "$run/work/bin/xmigd" ||
    rig_problem "no xmigd beside $xmig"
# The two daemons' certificates (dom0 has no openssl command).
sh "$here/../tls/make-certs.sh" "$run/work/pki" \
    host-a "DNS:host-a,IP:127.0.0.1" host-b "DNS:host-b,IP:127.0.0.1" \
    > /dev/null 2>&1 || rig_problem "tests/tls/make-certs.sh failed"
cp "$dir/guest/vmlinuz" "$dir/guest/initrd.cpio.gz" "$run/work/guest/"
cp "$here/scenario.sh" "$here/pvh.cfg" "$here/pv.cfg" "$here/hvm.cfg" "$here/smp.cfg" \
    "$run/work/"
[ "${XEN_MIGRATE:-1}" = 1 ] && touch "$run/work/migrate"
# The scenario's own limit in dom0: what is left of XEN_TIMEOUT after the
# boot (~40 s) and the copying of the logs, so that they still reach the
# work disk when it runs out.
echo $(( timeout_s > 600 ? timeout_s - 200 : timeout_s * 2 / 3 )) \
    > "$run/work/scenario-limit"
# Room for the saved image and the captured live stream (~130 MiB each).
mkfs.ext4 -q -L work -d "$run/work" "$run/work.img" 1G > /dev/null ||
    rig_problem "mkfs.ext4 of the work disk failed"

# ---- boot --------------------------------------------------------------------
# Xen: serial console, one vCPU and 1 GiB for dom0.  dom0: console on hvc0,
# root read-only (qemu's snapshot=on keeps the image untouched anyway),
# init is the rig's.  qemu's -initrd list is comma-separated, so the dom0
# command line must have no commas.
xencmd="console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all"
xencmd+=" dom0_mem=1024M,max:1024M dom0_max_vcpus=1 noreboot"
linuxcmd="console=hvc0 earlyprintk=xen root=/dev/vda ro fsck.mode=skip"
linuxcmd+=" init=/sbin/xen-rig-init loglevel=4"
echo "xen/run: booting Xen under qemu TCG (timeout ${timeout_s} s), log $log"
t0=$EPOCHREALTIME
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
    -nodefaults -machine pc -accel tcg,thread=multi -cpu qemu64,+svm,+npt \
    -smp "${XEN_SMP:-2}" -m "${XEN_MEM:-3G}" \
    -kernel "$dir/xen" -append "$xencmd" \
    -initrd "$dir/vmlinuz $linuxcmd,$dir/initrd.img" \
    -drive "file=$dir/dom0.img,if=virtio,format=raw,snapshot=on" \
    -drive "file=$run/work.img,if=virtio,format=raw,cache=unsafe" \
    -display none -monitor none -no-reboot -net none \
    -serial "file:$log" > "$run/qemu.out" 2>&1 &
qpid=$!

# Watch the console: note when each XEN-RIG mark first shows (host time
# since qemu started), stop early on a panic, and give dom0 a little time
# to power off after its last mark before stopping qemu ourselves.
declare -A seen
marks=$run/marks.txt
: > "$marks"
end_at=
while kill -0 $qpid 2>/dev/null; do
    sleep 1
    el=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    while IFS= read -r m; do
        m=${m%% }
        [ -n "${seen[$m]:-}" ] && continue
        seen[$m]=$el
        printf '%7s s  %s\n' "$el" "$m" | tee -a "$marks"
    done < <(grep -a -o 'XEN-RIG: [a-z0-9 -]*\|XEN-TEST: [^ ]* [A-Z]*' "$log" 2>/dev/null)
    if [ -z "$end_at" ] && grep -aq 'XEN-RIG: end\|Kernel panic\|Panic on CPU' "$log"; then
        end_at=${el%.*}
    fi
    if [ -n "$end_at" ] && [ $(( ${el%.*} - end_at )) -ge 20 ]; then
        kill $qpid 2>/dev/null
    fi
done
wait $qpid
qemu_rc=$?
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
case $qemu_rc in
    0) how="powered off" ;;
    124|137) how="timed out (XEN_TIMEOUT=$timeout_s)" ;;
    143) how="stopped after dom0's last mark" ;;
    *) how="qemu exit status $qemu_rc" ;;
esac

# ---- results -------------------------------------------------------------------
debugfs -R "rdump /out $run" "$run/work.img" > /dev/null 2>&1
res=$run/out/results.txt
echo
echo "=== Xen rig results ($secs s, qemu $how)"
if [ ! -s "$res" ]; then
    echo "--- last console lines:"
    tail -n 30 "$log"
    [ -s "$res" ] || rig_problem "no results from dom0 (qemu $how after" \
        "$secs s); console: $log"
fi

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok $*"; }
notok() { failed=$((failed + 1)); echo "not ok $*"; }

# The checks dom0 ran.
while IFS= read -r l; do
    case $l in
        "XEN-TEST: "*" PASS"*) l=${l#XEN-TEST: }; ok "${l/ PASS/}" ;;
        "XEN-TEST: "*" SKIP"*) l=${l#XEN-TEST: }; echo "ok ${l%% SKIP*} # SKIP ${l#* SKIP }" ;;
        "XEN-TEST: "*) l=${l#XEN-TEST: }; notok "${l/ FAIL/}" ;;
    esac
done < "$res"

# The checks run here: xmig dump against verify-stream-v2, stream by stream.
for s in pvh-save xmig-save pvh-live xmig-live; do
    case $s in *-live) [ "${XEN_MIGRATE:-1}" != 1 ] && continue ;; esac
    if [ ! -e "$run/out/$s.dump" ] || [ ! -e "$run/out/$s.vs2" ]; then
        notok "$s-dump-matches-verify-stream-v2 (no listings: $s not made)"
    elif r=$(python3 "$here/compare-listings.py" "$run/out/$s.dump" \
                 "$run/out/$s.vs2" 8); then
        ok "$s-dump-matches-verify-stream-v2 $r"
    else
        notok "$s-dump-matches-verify-stream-v2 $(head -1 <<< "$r")"
        tail -n +2 <<< "$r" | sed 's/^/  # /'
    fi
done

if [ "${XEN_MIGRATE:-1}" = 1 ] && [ -s "$run/out/pvh.live" ]; then
    # More than one round: every page goes in the first round, pages the
    # guest dirtied meanwhile again in later ones, so the live stream
    # carries more page entries than the save of the same guest (whose
    # single pass sends each populated page once).
    pages() { sed -n 's/.* PAGE_DATA x [0-9]* (squashed): \([0-9]*\) pfns, \([0-9]*\) pages of data$/\1 \2/p' "$1"; }
    read -r lp ld <<< "$(pages "$run/out/pvh-live.dump")"
    read -r sp sd <<< "$(pages "$run/out/pvh-save.dump")"
    if [ -n "${ld:-}" ] && [ -n "${sd:-}" ] && [ "$ld" -gt "$sd" ] &&
       [ "$lp" -gt "$sp" ]; then
        ok "pvh-live-resends-dirty-pages $((ld - sd)) pages sent again" \
           "($ld pages of data live, $sd in the save)"
    else
        notok "pvh-live-resends-dirty-pages live: ${lp:-?} pfns," \
              "${ld:-?} pages; save: ${sp:-?} pfns, ${sd:-?} pages"
    fi
    # tee captured what the sender wrote: the stream, then xl's go-ahead
    # message to the receiver.  Without --allow-trailing xmig must refuse
    # those octets after the final END, and they must be just that message.
    msg="domain is yours, you are cleared to unpause"
    err=$("$xmig" verify "$run/out/pvh.live" 2>&1)
    rc=$?
    tail=$(tail -c $(( ${#msg} + 1 )) "$run/out/pvh.live" | tr -d '\0')
    if [ $rc = 1 ] && [[ $err == *"trailing data after the final END"* ]] &&
       [ "$tail" = "$msg" ]; then
        ok "pvh-live-trailing-is-xl-handshake (xmig: ${err##*: })"
    else
        notok "pvh-live-trailing-is-xl-handshake exit $rc: $err;" \
              "last octets: $tail"
    fi
fi

# Every test dom0 should have reported did report.
want="xmig-runs-in-dom0 create xl-save pvh-save-xmig-verify"
want+=" pvh-save-verify-stream-v2 xl-restore xmig-save xmig-save-xmig-verify"
want+=" xmig-save-verify-stream-v2 xmig-save-xl-restore xmig-save-keep"
want+=" transparent-capture xl-save-xmig-restore xmig-restore-adopt xmig-restore-truncated"
want+=" xmig-restore-small-domain xmigd-migrate xmigd-ktls suspend-withdrawn"
for c in save migrate xmigd untouched restore; do want+=" refuse-pv-$c"; done
want+=" refuse-hvm-migrate refuse-hvm-xmigd refuse-hvm-untouched"
want+=" hvm-xmig-save-xl-restore hvm-xmig-restore-truncated"
want+=" hvm-xmig-save-xmig-restore hvm-xl-save-xmig-restore hvm-xl-migrate-to-xmig"
want+=" suspend-cancel smp-create smp-xmig-save-xl-restore"
want+=" smp-xl-save-xmig-restore smp-xmigd-migrate"
[ "${XEN_MIGRATE:-1}" = 1 ] &&
    want+=" xl-migrate pvh-live-xmig-verify pvh-live-verify-stream-v2"
[ "${XEN_MIGRATE:-1}" = 1 ] &&
    want+=" xmig-migrate-to-xl xmig-live-xmig-verify xmig-live-verify-stream-v2"
[ "${XEN_MIGRATE:-1}" = 1 ] && want+=" xl-migrate-to-xmig source-gone"
for w in $want; do
    grep -q "^XEN-TEST: $w " "$res" || notok "$w (never ran: see $log)"
done

echo "--- time per phase (s)"
dom0_up=$(sed -n 's/^ *\([0-9.]*\) s  XEN-RIG: dom0-up$/\1/p' "$marks" | head -1)
echo "  qemu start -> dom0 up: ${dom0_up:-?}"
sed -n 's/^XEN-TIME: \(.*\) \([0-9.]*\)$/  \1: \2/p' "$res"
echo "  whole VM run: $secs"

# xl against xmig on the same guest in the same run.  TCG emulates every
# instruction (and kTLS encrypts in software with no AES-NI), so these are
# ratios between tools, not speeds of either.
n() { sed -n "s/^XEN-NUM: $1 //p" "$res" | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "?" }'; }
mb() { awk -v a="${1:-0}" 'BEGIN { printf "%.1f MB", a / 1e6 }'; }
echo "--- xl and xmig on the same guest, this run (xmig/xl)"
echo "  save:    xl $(n xl-save-s) s, $(mb "$(n xl-save-bytes)");" \
     "xmig $(n xmig-save-s) s, $(mb "$(n xmig-save-bytes)")" \
     "(time $(ratio "$(n xmig-save-s)" "$(n xl-save-s)")," \
     "size $(ratio "$(n xmig-save-bytes)" "$(n xl-save-bytes)"))"
echo "  restore: xl $(n xl-restore-s) s; xmig into a libxl-built domain" \
     "$(n xmig-restore-s) s ($(ratio "$(n xmig-restore-s)" "$(n xl-restore-s)")), into" \
     "xl create -p's $(n xmig-restore-adopt-s) s" \
     "($(ratio "$(n xmig-restore-adopt-s)" "$(n xl-restore-s)"); xl create -p" \
     "$(n xl-create-p-s) s)"
echo "  migrate: xl (plain pipe) $(n xl-migrate-s) s, $(mb "$(n xl-migrate-bytes)");" \
     "xmigd (strict kTLS) $(n xmigd-migrate-s) s, $(mb "$(n xmigd-migrate-bytes)")," \
     "downtime $(n xmigd-migrate-downtime-ms) ms" \
     "(time $(ratio "$(n xmigd-migrate-s)" "$(n xl-migrate-s)"))"
echo "  mixed:   xmig migrate -> xl migrate-receive $(n xmig-to-xl-s) s;" \
     "xl migrate -> xmig migrate-receive --xen $(n xl-to-xmig-s) s (both plain pipes)"

echo "xen: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
