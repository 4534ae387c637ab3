#!/bin/bash
# bench_transport.sh: move BENCH_GIB GiB (default 2) of guest-memory-like
# data over loopback, in one run, through
#   - plain TCP (no TLS),
#   - xmig's in-process userspace TLS (1.2 and 1.3, AES-256-GCM and
#     AES-128-GCM),
#   - the pipeline XAPI uses today: plain sender -> stunnel client (plain
#     in, TLS out) -> stunnel server (TLS in, plain out) -> plain receiver,
#   - kernel TLS, when `xmig tls-info` says this kernel has it,
# and report throughput and CPU seconds per GiB over every process
# involved (sender, receiver, both stunnels).  Every case runs BENCH_REPS
# times (default 3), round-robin, and the table shows medians.
#
# A benchmark, not a test: it fails only when a transfer does (wrong byte
# count, wrong checksum, a process failing or timing out), never on speed.
#
#   make bench-transport                       (from the build directory)
#   BENCH_GIB=0.25 BENCH_REPS=1 make bench-transport     (quick look)
#   PEER=obj/bench/xfer-peer XMIG=./xmig bench/bench_transport.sh
#
# BENCH_NODELAY=0 leaves out the two "+ TCP_NODELAY" experiment rows.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
PEER=${PEER:?PEER=path/to/xfer-peer (make bench-transport sets it)}
XMIG=${XMIG:-xmig}
GIB=${BENCH_GIB:-2}
REPS=${BENCH_REPS:-3}
NODELAY_ROWS=${BENCH_NODELAY:-1}
STUNNEL=${STUNNEL:-$(command -v stunnel4 || command -v stunnel || true)}

case $GIB in
'' | *[!0-9.]* | *.*.*) echo "bench_transport: BENCH_GIB=$GIB is not a number" >&2; exit 2 ;;
esac
case $REPS in
'' | *[!0-9]* | 0) echo "bench_transport: BENCH_REPS=$REPS is not a count" >&2; exit 2 ;;
esac
BYTES=$(awk -v g="$GIB" 'BEGIN { printf "%.0f", int(g * 262144) * 4096 }')
if [ "$BYTES" -le 0 ]; then
    echo "bench_transport: BENCH_GIB=$GIB is too small" >&2
    exit 2
fi
# Per process: generous for this 2-core machine, but bounded.
LIMIT=$(awk -v b="$BYTES" 'BEGIN { printf "%d", 60 + 60 * b / 1073741824 }')

W=$(mktemp -d "${TMPDIR:-/tmp}/xmig-bench-transport.XXXXXX")
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    DATA=$(mktemp /dev/shm/xmig-bench-transport.XXXXXX)
else
    DATA=$W/data
fi
cleanup() {
    # Only this script's own background jobs still running (never a pid
    # that may have been reused).
    local p
    for p in $(jobs -p); do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in $(jobs -p); do
        wait "$p" 2>/dev/null || true
    done
    rm -f "$DATA"
    if [ "${KEEP:-0}" = 1 ] || [ "${failed:-0}" = 1 ]; then
        echo "bench_transport: logs kept in $W" >&2
    else
        rm -rf "$W"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    failed=1
    echo "bench_transport: $*" >&2
    exit 1
}

# ---- the machine -----------------------------------------------------------

ktls_line=$("$XMIG" tls-info 2>/dev/null | sed -n 's/^this kernel: //p')
have_ktls=0
case $ktls_line in *"kernel TLS available"*) have_ktls=1 ;; esac

# One core's AES-GCM speed on 16 KiB blocks (a full TLS record): the most
# one end of a TLS connection can encrypt or decrypt, doing nothing else.
aes_speed() {
    openssl speed -evp "$1" -bytes 16384 -seconds 1 2>/dev/null |
        awk -v c="$1" 'toupper($1) == toupper(c) {
            v = $2; sub(/k$/, "", v); printf "%.2f", v * 1000 / 1e9 }'
}

echo "bench_transport: $(awk -v b="$BYTES" 'BEGIN { printf "%.3g", b / 1073741824 }') GiB" \
     "($BYTES octets) over loopback per transfer, median of $REPS, round-robin"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
     "$(nproc) cores online (sender and receiver share them)"
echo "kernel: Linux $(uname -r); kernel TLS: ${ktls_line:-unknown}"
echo "openssl: $(openssl version 2>/dev/null || echo none);" \
     "stunnel: $([ -n "$STUNNEL" ] && "$STUNNEL" -version 2>&1 |
         sed -n 's/^\(stunnel [0-9.]*\) .*/\1/p' | head -1 || echo "not installed")"
echo "one core, openssl speed -evp, 16 KiB blocks: AES-256-GCM" \
     "$(aes_speed aes-256-gcm) GB/s, AES-128-GCM $(aes_speed aes-128-gcm) GB/s"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- data and certificates -------------------------------------------------

gen=$("$PEER" gen "$DATA" "$BYTES") || fail "cannot write $DATA"
SUM=$(echo "$gen" | sed -n 's/.*sum=\([0-9a-f]*\).*/\1/p')
hash_s=$("$PEER" hashspeed "$BYTES" | sed -n 's/.*cpu_seconds=\([0-9.]*\).*/\1/p')
echo "data: $DATA, semi-random pages (1/16 zero, 1/16 text, 1/16 one repeated" \
     "word, the rest random), sum=$SUM"
echo "receiver's checksum alone, data in cache: $(awk -v b="$BYTES" -v s="$hash_s" \
     'BEGIN { printf "%.3f CPU-s/GiB (in every row)", s * 1073741824 / b }')"
sh "$here/../tests/tls/make-certs.sh" "$W/certs" >/dev/null ||
    fail "tests/tls/make-certs.sh failed"
C=$W/certs
SRV_ID=(--cert "$C/server.pem" --key "$C/server-key.pem" --ca "$C/ca.pem" --name xmig-client)
CLI_ID=(--cert "$C/client.pem" --key "$C/client-key.pem" --ca "$C/ca.pem" --name localhost)

# ---- cases -----------------------------------------------------------------
# name | kind (direct or stunnel) | label | options for both ends |
# expected "version cipher" (from the receiver's report) | sender-only options

cases=()
add() { cases+=("$1|$2|$3|$4|$5|${6:-}"); }
add tcp direct "TCP, no TLS" "--tls none" "- -"
add u12-256 direct "xmig TLS 1.2 AES-256-GCM (userspace)" \
    "--tls userspace --tls-version 1.2 --cipher ECDHE-ECDSA-AES256-GCM-SHA384" \
    "TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384"
add u13-256 direct "xmig TLS 1.3 AES-256-GCM (userspace)" \
    "--tls userspace --tls-version 1.3 --cipher TLS_AES_256_GCM_SHA384" \
    "TLSv1.3 TLS_AES_256_GCM_SHA384"
add u12-128 direct "xmig TLS 1.2 AES-128-GCM (userspace)" \
    "--tls userspace --tls-version 1.2 --cipher ECDHE-ECDSA-AES128-GCM-SHA256" \
    "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256"
add u13-128 direct "xmig TLS 1.3 AES-128-GCM (userspace)" \
    "--tls userspace --tls-version 1.3 --cipher TLS_AES_128_GCM_SHA256" \
    "TLSv1.3 TLS_AES_128_GCM_SHA256"
if [ "$NODELAY_ROWS" = 1 ]; then
    # Not how xmig runs: the peers set TCP_NODELAY before the handshake.
    add n12-256 direct "  same, TLS 1.2 AES-256 + TCP_NODELAY (experiment)" \
        "--tls userspace --tls-version 1.2 --cipher ECDHE-ECDSA-AES256-GCM-SHA384 --nodelay" \
        "TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384"
    add n13-256 direct "  same, TLS 1.3 AES-256 + TCP_NODELAY (experiment)" \
        "--tls userspace --tls-version 1.3 --cipher TLS_AES_256_GCM_SHA384 --nodelay" \
        "TLSv1.3 TLS_AES_256_GCM_SHA384"
fi
if [ -n "$STUNNEL" ]; then
    add stunnel stunnel "stunnel pipeline, TLS 1.2 AES-256-GCM (4 processes)" \
        "--tls none" "- -"
fi
if [ "$have_ktls" = 1 ]; then
    add k12-256 direct "xmig TLS 1.2 AES-256-GCM (kTLS, sendfile)" \
        "--tls ktls --tls-version 1.2 --cipher ECDHE-ECDSA-AES256-GCM-SHA384" \
        "TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384" "--sendfile"
    add k12-128 direct "xmig TLS 1.2 AES-128-GCM (kTLS, sendfile)" \
        "--tls ktls --tls-version 1.2 --cipher ECDHE-ECDSA-AES128-GCM-SHA256" \
        "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256" "--sendfile"
    add k13-256 direct "xmig TLS 1.3 AES-256-GCM (auto: kTLS where it can)" \
        "--tls auto --tls-version 1.3 --cipher TLS_AES_256_GCM_SHA384" \
        "TLSv1.3 TLS_AES_256_GCM_SHA384" "--sendfile"
fi
[ -n "$STUNNEL" ] ||
    echo "stunnel pipeline: skipped (no stunnel4; apt-get install stunnel4)"
[ "$have_ktls" = 1 ] ||
    echo "kTLS: not measurable on this kernel (no CONFIG_TLS); see the VM rig"
echo

# ---- one transfer ----------------------------------------------------------

field() {   # field NAME FILE: NAME=value from an xfer-peer report line
    sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$2" | head -1
}

wait_file() {
    local _
    for _ in $(seq 1 500); do
        [ -s "$1" ] && return 0
        sleep 0.02
    done
    return 1
}

stop() {    # stop PID: TERM (the time wrapper forwards it), then wait
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

stunnel_conf() {   # stunnel_conf FILE LOG ROLE ACCEPT CONNECT
    local tls
    tls="sslVersionMin = TLSv1.2
sslVersionMax = TLSv1.2
ciphers = ECDHE-ECDSA-AES256-GCM-SHA384
CAfile = $C/ca.pem
verifyChain = yes"
    if [ "$3" = client ]; then
        cat > "$1" <<EOF
foreground = yes
pid =
debug = info
output = $2
[xmig-client]
client = yes
accept = 127.0.0.1:$4
connect = 127.0.0.1:$5
cert = $C/client.pem
key = $C/client-key.pem
checkHost = localhost
; as XAPI configures its client stunnel
socket = r:TCP_NODELAY=1
$tls
EOF
    else
        cat > "$1" <<EOF
foreground = yes
pid =
debug = info
output = $2
[xmig-server]
accept = 127.0.0.1:$4
connect = 127.0.0.1:$5
cert = $C/server.pem
key = $C/server-key.pem
requireCert = yes
$tls
EOF
    fi
}

# run_one NAME KIND OPTS EXPECT SENDOPTS REP: one transfer; appends a line
# to $W/results: name rep bytes wall cpu_send cpu_recv cpu_stc cpu_sts
run_one() {
    local name=$1 kind=$2 opts=$3 expect=$4 sendopts=$5 rep=$6
    local d=$W/run/$name.$rep rp sp=() port cport sport got sum ver cip
    local -a o s_opts r_opts extra
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    read -r -a o <<< "$opts"
    read -r -a extra <<< "$sendopts"
    mkdir -p "$d"
    if [ "$kind" = stunnel ]; then
        r_opts=(--tls none)
        s_opts=(--tls none)
    else
        r_opts=("${o[@]}" "${SRV_ID[@]}")
        s_opts=("${o[@]}" "${CLI_ID[@]}" "${extra[@]}")
    fi
    timeout -s TERM "$LIMIT" "$PEER" time "$d/recv.cpu" "$PEER" recv \
        --listen 127.0.0.1:0 --port-file "$d/port" "${r_opts[@]}" \
        > "$d/recv.out" 2> "$d/recv.err" &
    rp=$!
    wait_file "$d/port" || fail "$name: the receiver did not listen"
    port=$(cat "$d/port")
    if [ "$kind" = stunnel ]; then
        sport=$("$PEER" freeport)
        cport=$("$PEER" freeport)
        while [ "$cport" = "$sport" ]; do cport=$("$PEER" freeport); done
        stunnel_conf "$d/server.conf" "$d/stunnel-server.log" server "$sport" "$port"
        stunnel_conf "$d/client.conf" "$d/stunnel-client.log" client "$cport" "$sport"
        timeout -s TERM "$LIMIT" "$PEER" time "$d/sts.cpu" "$STUNNEL" \
            "$d/server.conf" > "$d/sts.err" 2>&1 &
        sp+=($!)
        timeout -s TERM "$LIMIT" "$PEER" time "$d/stc.cpu" "$STUNNEL" \
            "$d/client.conf" > "$d/stc.err" 2>&1 &
        sp+=($!)
        if ! "$PEER" waitlisten "$sport" 10 || ! "$PEER" waitlisten "$cport" 10; then
            fail "$name: stunnel did not start (see $d)"
        fi
        port=$cport
    fi
    if ! timeout -s TERM "$LIMIT" "$PEER" time "$d/send.cpu" "$PEER" send \
        --connect "127.0.0.1:$port" "${s_opts[@]}" "$DATA" \
        > "$d/send.out" 2> "$d/send.err"; then
        fail "$name run $rep: the sender failed: $(cat "$d/send.err")"
    fi
    wait "$rp" || fail "$name run $rep: the receiver failed: $(cat "$d/recv.err")"
    for p in "${sp[@]}"; do
        stop "$p"
    done
    got=$(field bytes "$d/recv.out")
    sum=$(field sum "$d/recv.out")
    [ "$got" = "$BYTES" ] ||
        fail "$name run $rep: received ${got:-?} octets, not $BYTES"
    [ "$sum" = "$SUM" ] ||
        fail "$name run $rep: checksum ${sum:-?}, expected $SUM: data corrupted"
    [ "$(field bytes "$d/send.out")" = "$BYTES" ] ||
        fail "$name run $rep: the sender reports $(field bytes "$d/send.out") octets"
    ver=$(field version "$d/recv.out")
    cip=$(field cipher "$d/recv.out")
    [ "$ver $cip" = "$expect" ] ||
        fail "$name run $rep: negotiated $ver $cip, expected $expect"
    if [ "$kind" = stunnel ]; then
        grep -q "TLSv1.2 ciphersuite: ECDHE-ECDSA-AES256-GCM-SHA384" \
            "$d/stunnel-client.log" ||
            fail "$name run $rep: stunnel did not negotiate TLS 1.2 AES-256-GCM (see $d)"
    fi
    awk -v n="$name" -v r="$rep" -v b="$BYTES" -v load="$load" \
        -v s0="$(field start "$d/send.out")" -v s1="$(field end "$d/recv.out")" '
        function cpu(f,   line, a) {
            if ((getline line < f) <= 0) return 0
            split(line, a, " "); return a[2] + a[3]
        }
        BEGIN {
            printf "%s %d %.0f %.6f %.3f %.3f %.3f %.3f %s\n", n, r, b, s1 - s0,
                cpu(ARGV[1]), cpu(ARGV[2]), cpu(ARGV[3]), cpu(ARGV[4]), load
        }' "$d/send.cpu" "$d/recv.cpu" "$d/stc.cpu" "$d/sts.cpu" \
        >> "$W/results"
}

# ---- the runs: round-robin -------------------------------------------------

: > "$W/results"
for rep in $(seq 1 "$REPS"); do
    for c in "${cases[@]}"; do
        IFS='|' read -r name kind label opts expect sendopts <<< "$c"
        run_one "$name" "$kind" "$opts" "$expect" "$sendopts" "$rep"
        tail -1 "$W/results" | awk '{
            printf "  run %d %-8s %6.3f s %6.2f GB/s  CPU s: send %.2f recv %.2f stunnel %.2f+%.2f  (load %s)\n",
                $2, $1, $4, $3 / $4 / 1e9, $5, $6, $7, $8, $9 }'
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# ---- the table and the ratios ----------------------------------------------

for c in "${cases[@]}"; do
    IFS='|' read -r name kind label _ <<< "$c"
    echo "$name|$label"
done > "$W/labels"

awk -v reps="$REPS" -v ncpu="$(nproc)" '
function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
            t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
        }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function lo(list,   a, n, i, m) {
    n = split(list, a, " "); m = a[1]
    for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]
    return m
}
function hi(list,   a, n, i, m) {
    n = split(list, a, " "); m = a[1]
    for (i = 2; i <= n; i++) if (a[i] + 0 > m + 0) m = a[i]
    return m
}
FNR == NR { split($0, l, "|"); order[++nc] = l[1]; label[l[1]] = l[2]; next }
{
    gib = $3 / 1073741824
    cpu = $5 + $6 + $7 + $8
    gbs[$1] = gbs[$1] " " $3 / $4 / 1e9
    cpg[$1] = cpg[$1] " " cpu / gib
    snd[$1] = snd[$1] " " $5 / gib
    rcv[$1] = rcv[$1] " " $6 / gib
    stn[$1] = stn[$1] " " ($7 + $8) / gib
    busy[$1] = busy[$1] " " 100 * cpu / $4 / ncpu
}
END {
    printf "%-52s %6s %13s %9s %6s %6s %7s %5s %6s\n", "case (median of " reps ")",
        "GB/s", "min..max", "CPU-s/GiB", "send", "recv", "stunnel", "busy", "bound"
    for (i = 1; i <= nc; i++) {
        c = order[i]
        if (!(c in gbs)) continue
        m[c] = median(gbs[c]); mc[c] = median(cpg[c])
        printf "%-52s %6.2f %6.2f..%-6.2f %9.2f %6.2f %6.2f %7s %4.0f%% %6.2f\n",
            label[c], m[c], lo(gbs[c]), hi(gbs[c]), mc[c], median(snd[c]),
            median(rcv[c]), (c == "stunnel" ? sprintf("%.2f", median(stn[c])) : "-"),
            median(busy[c]), ncpu * 1.073741824 / mc[c]
    }
    print ""
    print "GB/s = octets / (receiver'"'"'s last octet - sender'"'"'s connect) / 1e9;"
    print "CPU-s/GiB = user + system seconds of every process of the case (its"
    print "rusage, all threads) per GiB moved; send/recv/stunnel split it up;"
    print "busy = that CPU time / wall time / " ncpu " cores; bound = the GB/s if the"
    print "case had all " ncpu " cores to itself and used them fully (" ncpu " / CPU-s per GiB):"
    print "a model, not a measurement, for a machine shared with other work."
    print ""
    print "Ratios (medians), against the issue'"'"'s targets:"
    for (i = 1; i <= nc; i++) {
        c = order[i]
        if (c == "tcp" || c == "stunnel" || !(c in m)) continue
        t = label[c]; sub(/^ +/, "", t)
        printf "  %s\n", t
        if ("stunnel" in m) {
            r1 = m[c] / m["stunnel"]; r2 = mc[c] / mc["stunnel"]
            printf "    vs stunnel pipeline: throughput %.3fx (target >= 2x: %s), " \
                "CPU/GiB %.3fx (target <= 0.5x: %s)\n",
                r1, (r1 >= 2 ? "met" : "NOT met"), r2, (r2 <= 0.5 ? "met" : "NOT met")
        }
        if ("tcp" in m) {
            r3 = m[c] / m["tcp"]
            printf "    vs plain TCP:        throughput %.3fx (target >= 0.5x: %s), " \
                "CPU/GiB %.3fx\n", r3, (r3 >= 0.5 ? "met" : "NOT met"), mc[c] / mc["tcp"]
        }
    }
}' "$W/labels" "$W/results"

echo
echo "raw runs (case rep octets wall_s cpu_send cpu_recv cpu_stunnel_client cpu_stunnel_server load1):"
sed 's/^/  /' "$W/results"
