#!/bin/bash
# kTLS tests in a VM.  PROVES: with a real kernel TLS record layer (Debian's
# linux-image-amd64 tls.ko, booted under qemu because this host kernel has
# no CONFIG_TLS) and Debian's OpenSSL 3.0, xmig's TLS transport (tls-pipe,
# both ends inside the VM) hands TLS 1.2 AES-GCM to the kernel both ways
# and reports it truthfully (checked against the kernel's /proc/net/tls_stat),
# moves data intact (one 256 MiB transfer checksummed end to end), sends
# files through SSL_sendfile, runs TLS 1.3 with transmit-only offload and
# one warning, and refuses --tls=ktls with TLS 1.3 saying why.  The socket
# broker (xmig tls-connect / tls-accept --tls ktls) hands its raw kTLS
# socket to a fake toolstack over SCM_RIGHTS at both ends, and to a
# command's stdin/stdout (tls-accept --exec) with the other end standing in
# for ssh as xl migrate -s runs it (--stdio); the holders find TCP_ULP
# "tls" and TLS_TX/TLS_RX keys on the socket and streams move both ways
# intact; the library's broker calls do the same in process
# (tests/broker-api.c); xmig tls-info names the gcm(aes) driver
# /proc/crypto ranks first.
# DOES NOT PROVE: anything about speed (qemu TCG runs 60-80x below the host:
# correctness only), hardware offload, Xen, or kernels other than Debian's.
#
# Usage: tests/vm/run.sh [DIR]     DIR: what tests/vm/build.sh made (obj/vm)
# Env:   VM_TIMEOUT (s, 1200)  VM_MIB (most transfers, 32)  VM_BIG_MIB (256)
#        VM_ONLY (comma-separated substrings of case names)  VM_MEM (1G)
#        VM_SMP (2)  VM_LOG (DIR/console.log)
# Exit:  0 all passed, 1 a test failed, 2 the VM did not boot or finish.
#
# Measured on this project's 2-core machines (qemu 7.2 TCG, kernel 6.1):
# build.sh 1-2 s (0.1 s when cached); boot to init 3-5 s; the whole matrix
# (11 transfers of 32 MiB or less, one of 256 MiB) 135-160 s, so make
# check-vm takes 2.3-2.8 min (3.4 min with VM_MIB=64; 3.3 min with the
# machine's other sessions busy, load 7).  Transfers run at 3-10 MiB/s, kTLS
# and OpenSSL alike; the 256 MiB case takes 42-67 s, 9 s of it making its
# data.  The broker cases (32 MiB up and 8 MiB down at once) take 12-48 s
# each, with the machine quiet or busy (VM_ONLY=broker,tls-info: 1.5-2
# min in all; the whole matrix with them, 5 min).  init's per-case limits (124 s, 632 s) catch a hang before VM_TIMEOUT.
set -uo pipefail

dir=${1:-obj/vm}
timeout_s=${VM_TIMEOUT:-1200}
log=${VM_LOG:-$dir/console.log}
results=$dir/results.txt

vm_problem() { echo "vm/run: $*" >&2; exit 2; }

[ -s "$dir/initramfs.cpio.gz" ] && [ -s "$dir/kernel" ] ||
    vm_problem "no initramfs in $dir: run tests/vm/build.sh first"
kernel=$(cat "$dir/kernel")
[ -r "$kernel" ] || vm_problem "cannot read the kernel $kernel"
command -v qemu-system-x86_64 >/dev/null ||
    vm_problem "qemu-system-x86_64 not found (.ci/install-deps)"

append="console=ttyS0 panic=-1 quiet loglevel=3"
append+=" XMIG_VM_MIB=${VM_MIB:-32} XMIG_VM_BIG_MIB=${VM_BIG_MIB:-256}"
[ -n "${VM_ONLY:-}" ] && append+=" XMIG_VM_ONLY=$VM_ONLY"

rm -f "$results"
: > "$results"
echo "vm/run: booting $kernel under qemu TCG (timeout ${timeout_s} s), log $log"
t0=$(date +%s)
# ttyS0: the console, to stdout and the log.  ttyS1: the results only.
# isa-debug-exit: the VM's init ends qemu with status (code << 1) | 1.
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
    -nodefaults -machine q35 -accel tcg,thread=multi -cpu max \
    -smp "${VM_SMP:-2}" -m "${VM_MEM:-1G}" \
    -kernel "$kernel" -initrd "$dir/initramfs.cpio.gz" -append "$append" \
    -display none -monitor none -no-reboot \
    -serial stdio -serial "file:$results" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null 2>&1 |
    sed -u 's/\r$//' | tee "$log"
qemu_rc=${PIPESTATUS[0]}
secs=$(( $(date +%s) - t0 ))

case $qemu_rc in
    124|137) how="timed out (VM_TIMEOUT=$timeout_s)" ;;
    1) how="init reported success" ;;
    3) how="init reported failures" ;;
    0) how="qemu stopped (power off, or a reset such as after a panic)" ;;
    *) how="qemu exit status $qemu_rc" ;;
esac

# The results port is clean of kernel messages; fall back to the console.
src=$results
grep -q '^VM-TEST: [0-9]* passed, [0-9]* failed' "$src" || src=$log
echo
echo "=== kTLS VM results ($secs s, $how)"
grep -a -E '^VM-(TEST|INFO|LOG):' "$src" | tr -d '\r'
summary=$(tr -d '\r' < "$src" |
    grep -a -E '^VM-TEST: [0-9]+ passed, [0-9]+ failed$' | tail -1)
fails=$(tr -d '\r' < "$src" | grep -a -c '^VM-TEST: [^ ]* FAIL')
if [ -z "$summary" ]; then
    # The VM stopped early: a hang past the per-case limits, a panic, no boot.
    running=$(sed -n 's/^== \([^ ]*\) (uptime.*/\1/p' "$log" | tail -1)
    echo "--- last console lines:"
    tail -n 25 "$log"
    echo "vm/run: the VM gave no summary: $how after $secs s${running:+," \
         "during case $running}; console: $log" >&2
    # Failures already reported are test failures; else the VM is at fault.
    [ "$fails" -gt 0 ] && exit 1
    exit 2
fi
passed=$(echo "$summary" | sed 's/^VM-TEST: \([0-9]*\) passed.*/\1/')
if [ "$fails" = 0 ] && [ "$passed" -gt 0 ] &&
   [[ $summary == *" 0 failed" ]]; then
    exit 0
fi
echo "vm/run: kTLS tests failed; console: $log" >&2
exit 1
