#!/bin/bash
# Development mode of the Xen rig: boot Xen and dom0 under qemu once, then
# run scripts in dom0 in seconds each, without rebooting.
#
#   tests/xen/dev.sh up [DIR]                 build (cached), boot, wait until
#                                             dom0's command server answers
#   tests/xen/dev.sh run SCRIPT|- [ARGS...]   run a bash script in dom0
#                                             (- : read it from stdin)
#   tests/xen/dev.sh put LOCALFILE REMOTEPATH copy a file into dom0
#   tests/xen/dev.sh get REMOTEPATH LOCALFILE copy a file out of dom0
#   tests/xen/dev.sh status [DIR]
#   tests/xen/dev.sh down [DIR]               power dom0 off (or kill qemu)
#
# DIR is what tests/xen/build.sh made (obj/xen).  up boots like run.sh
# (same Xen and dom0 command lines, dom0.img with snapshot=on) with a work
# disk holding xmig, the guest, pvh.cfg, scenario.sh, devserver.py and the
# marker /work/devloop, which makes dom0-init bring up an e1000 NIC (qemu
# user-mode networking, host 127.0.0.1:$XEN_DEV_PORT -> dom0:5555) and
# start devserver.py instead of the scenario.  Everything is in DIR/dev/:
# qemu.pid, console.log (Xen's serial console), work.img.
#
# run prepends to the script a preamble that installs the current host
# xmig (and the xmigd beside it) in /work/bin, puts /work/bin and Xen's tools on PATH and cds to
# /work/out (relative REMOTEPATHs of put/get are from there too); the
# script's output (stdout and stderr) comes back as it is written, and
# dev.sh exits with the script's status (2 if dom0 went away).
#
# Env: XMIG (./xmig)  XEN_DEV_PORT (15555)  XEN_DEV_TIMEOUT (300 s: up)
#      XEN_DEV_LIFETIME (8h: qemu is killed after that)  XEN_MEM (3G)
#      XEN_SMP (2)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
xmig=${XMIG:-./xmig}
xmigd=$(dirname "$(readlink -f "$xmig")")/xmigd   # installed too, if there
port=${XEN_DEV_PORT:-15555}
export XEN_DEV_PORT=$port

die() { echo "xen/dev: $*" >&2; exit 2; }
usage() { echo "usage:" >&2; sed -n '5,12s/^# \{0,1\}//p' "$0" >&2; exit 2; }
devctl() { python3 "$here/devctl.py" "$@"; }

# setdir [DIR]: where the rig lives, and its dev/ files.
setdir() {
    dir=${1:-obj/xen}
    dev=$dir/dev
    log=$dev/console.log
}
# The running qemu's pid, if any (checked to be a qemu, not a reused pid).
qemu_pid() {
    local p
    p=$(cat "$dev/qemu.pid" 2>/dev/null) && [ -n "$p" ] &&
        kill -0 "$p" 2>/dev/null &&
        [[ $(cat "/proc/$p/comm" 2>/dev/null) == qemu* ]] && echo "$p"
}

up() {
    setdir "${1:-}"
    local p
    p=$(qemu_pid) && die "already up (qemu pid $p); tests/xen/dev.sh down first"
    "$here/build.sh" "$dir" || die "tests/xen/build.sh $dir failed"
    [ -x "$xmig" ] || die "no $xmig: build it (make) or set XMIG"
    for t in qemu-system-x86_64 mkfs.ext4 python3 base64; do
        command -v "$t" >/dev/null || die "$t not found (.ci/install-deps)"
    done
    dir=$(cd "$dir" && pwd)
    setdir "$dir"

    # The work disk, as run.sh makes it, plus the server and the marker.
    # 2 GB (sparse): room for a few saved images (~140 MB each).
    rm -rf "$dev"
    mkdir -p "$dev/work/bin" "$dev/work/guest" "$dev/work/out"
    cp "$xmig" "$dev/work/bin/xmig"
    [ -x "$xmigd" ] && cp "$xmigd" "$dev/work/bin/xmigd"
    # The certificates of run.sh's two daemons (dom0 has no openssl).
    sh "$here/../tls/make-certs.sh" "$dev/work/pki" \
        host-a "DNS:host-a,IP:127.0.0.1" host-b "DNS:host-b,IP:127.0.0.1" \
        > /dev/null 2>&1 || die "tests/tls/make-certs.sh failed"
    cp "$dir/guest/vmlinuz" "$dir/guest/initrd.cpio.gz" "$dev/work/guest/"
    cp "$here/scenario.sh" "$here/pvh.cfg" "$here/pv.cfg" "$here/hvm.cfg" "$here/smp.cfg" \
       "$here/devserver.py" "$dev/work/"
    touch "$dev/work/devloop"
    mkfs.ext4 -q -L work -d "$dev/work" "$dev/work.img" 2G > /dev/null ||
        die "mkfs.ext4 of the work disk failed"

    # The same machine and command lines as run.sh (keep them in step),
    # with a NIC instead of -net none.  setsid: qemu outlives this shell.
    local xencmd linuxcmd
    xencmd="console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all"
    xencmd+=" dom0_mem=1024M,max:1024M dom0_max_vcpus=1 noreboot"
    linuxcmd="console=hvc0 earlyprintk=xen root=/dev/vda ro fsck.mode=skip"
    linuxcmd+=" init=/sbin/xen-rig-init loglevel=4"
    echo "xen/dev: booting Xen under qemu TCG, console $log"
    setsid timeout -k 10 "${XEN_DEV_LIFETIME:-8h}" qemu-system-x86_64 \
        -nodefaults -machine pc -accel tcg,thread=multi -cpu qemu64,+svm,+npt \
        -smp "${XEN_SMP:-2}" -m "${XEN_MEM:-3G}" \
        -kernel "$dir/xen" -append "$xencmd" \
        -initrd "$dir/vmlinuz $linuxcmd,$dir/initrd.img" \
        -drive "file=$dir/dom0.img,if=virtio,format=raw,snapshot=on" \
        -drive "file=$dev/work.img,if=virtio,format=raw,cache=unsafe" \
        -display none -monitor none -no-reboot \
        -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:5555" \
        -device e1000,netdev=n0 -pidfile "$dev/qemu.pid" \
        -serial "file:$log" < /dev/null > "$dev/qemu.out" 2>&1 &
    local bg=$! t0=$SECONDS limit=${XEN_DEV_TIMEOUT:-300} m
    declare -A seen
    while :; do
        sleep 1
        # Show each console mark once, with the time since qemu started.
        while IFS= read -r m; do
            [ -n "${seen[$m]:-}" ] && continue
            seen[$m]=1
            printf '%5d s  %s\n' $((SECONDS - t0)) "$m"
        done < <(grep -a -o 'XEN-RIG: [a-z0-9 -]*' "$log" 2>/dev/null)
        if grep -aq 'XEN-RIG: dev-ready' "$log" 2>/dev/null; then
            echo "xen/dev: up in $((SECONDS - t0)) s (qemu pid" \
                 "$(cat "$dev/qemu.pid"), port 127.0.0.1:$port)"
            return 0
        fi
        if ! kill -0 $bg 2>/dev/null; then
            cat "$dev/qemu.out" >&2
            tail -n 20 "$log" >&2 2>/dev/null
            die "qemu exited before dom0 was ready (console: $log)"
        fi
        if grep -aq 'XEN-RIG: end\|Kernel panic\|Panic on CPU' "$log"; then
            tail -n 30 "$log" >&2
            kill $bg
            die "dom0 did not get to its command server (console: $log)"
        fi
        if [ $((SECONDS - t0)) -ge "$limit" ]; then
            tail -n 30 "$log" >&2
            kill $bg
            die "no XEN-RIG: dev-ready after $limit s (XEN_DEV_TIMEOUT);" \
                "qemu stopped; console: $log"
        fi
    done
}

# The preamble of every run: the current xmig (written aside and renamed,
# so that a running xmig is not overwritten), PATH, the working directory.
install_bin() {
    echo "base64 -d > /work/bin/$2.new <<'DEV-EOF'"
    base64 < "$1"
    echo 'DEV-EOF'
    echo "chmod 755 /work/bin/$2.new && mv -f /work/bin/$2.new /work/bin/$2"
}
preamble() {
    echo 'mkdir -p /work/bin /work/out'
    install_bin "$xmig" xmig
    [ -x "$xmigd" ] && install_bin "$xmigd" xmigd
    echo 'export PATH=/work/bin:$PATH:/usr/lib/xen-4.17/bin'
    echo 'export PYTHONPATH=/usr/lib/xen-4.17/lib/python'
    echo 'cd /work/out || exit 1'
}

# run SCRIPT [ARGS]: the script goes over as a file under its own name, so
# that $0, set -e and bash's "line N" messages are as on the host.
run() {
    [ $# -ge 1 ] || usage
    local src=$1 name=stdin.sh
    shift
    if [ "$src" != - ]; then
        [ -f "$src" ] && [ -r "$src" ] || die "cannot read $src"
        name=$(basename "$src")
    fi
    [ -x "$xmig" ] || die "no $xmig: build it (make) or set XMIG"
    {
        preamble
        echo 'd=$(mktemp -d /tmp/dev-run.XXXXXX) || exit 1'
        printf 'base64 -d > "$d"/%q <<'\''DEV-EOF'\''\n' "$name"
        if [ "$src" = - ]; then base64; else base64 < "$src"; fi
        echo 'DEV-EOF'
        printf 'bash "$d"/%q' "$name"
        [ $# -gt 0 ] && printf ' %q' "$@"
        printf '\nrc=$?\nrm -rf "$d"\nexit $rc\n'
    } | devctl
}

put() {
    [ $# = 2 ] || usage
    [ -f "$1" ] && [ -r "$1" ] || die "cannot read $1"
    {
        echo 'cd /work/out || exit 1'
        printf 'f=%q\n' "$2"
        echo 'mkdir -p "$(dirname "$f")" || exit 1'
        echo "base64 -d > \"\$f\" <<'DEV-EOF' || exit 1"
        base64 < "$1"
        echo 'DEV-EOF'
        [ -x "$1" ] && echo 'chmod +x "$f"'
        echo 'exit 0'
    } | devctl
}

# get: dom0 prints the file in base64, decoded here; anything else it
# says (no such file) is an error message.
get() {
    [ $# = 2 ] || usage
    local tmp rc
    tmp=$(mktemp "$(dirname "$2")/.dev-get.XXXXXX") || exit 2
    {
        echo 'cd /work/out || exit 1'
        printf 'f=%q\n' "$1"
        echo '[ -f "$f" ] || { echo "xen/dev: no file $f in dom0"; exit 1; }'
        echo 'exec base64 "$f"'
    } | devctl > "$tmp"
    rc=$?
    if [ $rc != 0 ]; then
        cat "$tmp" >&2
        rm -f "$tmp"
        exit $rc
    fi
    base64 -d "$tmp" > "$2" || { rm -f "$tmp"; die "could not decode $1"; }
    rm -f "$tmp"
}

status() {
    setdir "${1:-}"
    local p
    if ! p=$(qemu_pid); then
        echo "xen/dev: down (no qemu running from $dev)"
        exit 1
    fi
    echo "xen/dev: qemu pid $p, port 127.0.0.1:$port, console $log"
    echo 'echo "dom0: up $(cut -d" " -f1 /proc/uptime) s; xl list:"; xl list' |
        devctl -t 30
}

down() {
    setdir "${1:-}"
    local p
    if ! p=$(qemu_pid); then
        echo "xen/dev: not running"
        return 0
    fi
    # Powering dom0 off makes Xen power the machine off and qemu exit.
    echo 'sync; (sleep 1; echo o > /proc/sysrq-trigger) > /dev/null 2>&1 &' |
        devctl -t 30 || echo "xen/dev: dom0 did not answer; killing qemu"
    for _ in $(seq 60); do
        kill -0 "$p" 2>/dev/null || break
        sleep 1
    done
    if kill -0 "$p" 2>/dev/null; then
        echo "xen/dev: qemu $p still running; killing it"
        kill "$p"
        sleep 3
        kill -9 "$p" 2>/dev/null
    fi
    rm -f "$dev/qemu.pid"
    echo "xen/dev: down"
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
    up|status|down) [ $# -le 1 ] || usage; "$cmd" "$@" ;;
    run|put|get) "$cmd" "$@" ;;
    *) usage ;;
esac
