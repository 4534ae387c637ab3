#!/bin/bash
# Bounded memory for every input (issue 12): xmig verify, dump and restore
# read one record at a time, so their peak RSS stays under 64 MiB whatever
# a stream holds or claims.  The largest EMULATOR_CONTEXT xmig accepts
# (32 MiB) is read within the bound; a 100 MiB one, and records whose
# length claims 128 MiB, are refused as limits, also within the bound.
#
#   XMIG=./xmig bash tests/memory.sh
set -u
XMIG=${XMIG:-./xmig}
LIMIT_KIB=$((64 * 1024))
T=$(mktemp -d /tmp/xmig-memory.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0

# peak CMD...: run it; print "KIB EXIT" (its peak RSS and exit status).
peak() {
    python3 -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)' \
        "$@" 2>"$T/err"
}

# check WHAT WANT_EXIT WANT_TEXT CMD...: within 64 MiB, the exit status
# expected, and (when given) WANT_TEXT in its stderr.
check() {
    local what=$1 want=$2 text=$3 kib rc
    shift 3
    read -r kib rc < <(peak "$@")
    if [ -n "$kib" ] && [ "$kib" -lt "$LIMIT_KIB" ] && [ "$rc" = "$want" ] &&
        { [ -z "$text" ] || grep -qF "$text" "$T/err"; }; then
        pass=$((pass + 1))
        echo "ok   $what: $((kib / 1024)) MiB peak"
    else
        fail=$((fail + 1))
        echo "FAIL $what: peak ${kib:-?} KiB (limit $LIMIT_KIB), exit ${rc:-?}" \
             "(want $want): $(head -c 300 "$T/err")"
    fi
}

# emu_stream SAMPLE OUT MIB: SAMPLE with its EMULATOR_CONTEXT replaced by
# one of MIB MiB.  declare_only: write the record header and stop there.
emu_stream() {
    local at end
    at=$("$XMIG" dump "$1" | awk '$2 == "libxl" && $3 == "EMULATOR_CONTEXT" { print $1 }')
    end=$("$XMIG" dump "$1" | awk '$2 == "libxl" && $3 == "END" { print $1 }')
    python3 - "$1" "$2" "$3" "$at" "$end" <<'EOF'
import struct, sys
src, out, mib, at, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
d = open(src, "rb").read()
n = mib << 20
with open(out, "wb") as f:
    f.write(d[:at])
    f.write(struct.pack("<IIII", 3, 8 + n, 2, 0))
    chunk = bytes([0x5A]) * (1 << 20)
    for _ in range(mib):
        f.write(chunk)
    f.write(b"\0" * ((-(8 + n)) % 8))
    f.write(d[end:])
EOF
}

"$XMIG" sample --format xl --pages 4 "$T/s.xl" || { echo "memory: xmig sample failed"; exit 1; }
emu_stream "$T/s.xl" "$T/emu31.xl" 31
emu_stream "$T/s.xl" "$T/emu100.xl" 100

check "verify, a 31 MiB EMULATOR_CONTEXT" 0 "" "$XMIG" verify "$T/emu31.xl"
check "dump, a 31 MiB EMULATOR_CONTEXT" 0 "" "$XMIG" dump "$T/emu31.xl"
check "verify from a pipe, a 31 MiB EMULATOR_CONTEXT" 0 "" \
    sh -c "cat '$T/emu31.xl' | '$XMIG' verify -"
check "restore, a 31 MiB EMULATOR_CONTEXT (read whole, then refused)" 1 \
    "nothing was kept" "$XMIG" restore --here "$T/emu31.xl"
check "verify, a 100 MiB EMULATOR_CONTEXT: refused as a limit" 1 \
    "body_length 104857608 exceeds xmig's limit of 33554432" "$XMIG" verify "$T/emu100.xl"
check "dump, a 100 MiB EMULATOR_CONTEXT: refused" 1 "exceeds xmig's limit" \
    "$XMIG" dump "$T/emu100.xl"
check "restore, a 100 MiB EMULATOR_CONTEXT: refused, nothing kept" 1 \
    "exceeds xmig's limit of 33554432" "$XMIG" restore --here "$T/emu100.xl"

# A PAGE_DATA whose length claims Xen's 128 MiB cap, fed from a pipe that
# never delivers it: refused from the header alone.
at=$("$XMIG" dump "$T/s.xl" | awk '$2 == "libxc" && $3 == "PAGE_DATA" { print $1; exit }')
python3 - "$T/s.xl" "$T/page128.xl" "$at" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
at = int(sys.argv[3])
open(sys.argv[2], "wb").write(d[:at] + struct.pack("<II", 1, 128 << 20) + b"\0" * 16)
EOF
check "verify, a PAGE_DATA claiming 128 MiB: refused before reading it" 1 \
    "body_length 134217728 exceeds xmig's limit of 33619976" \
    sh -c "cat '$T/page128.xl' | '$XMIG' verify -"

echo "memory: $pass passed, $fail failed"
[ "$fail" = 0 ]
