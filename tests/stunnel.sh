#!/bin/bash
# Interop with Debian's stunnel4, both ways, TLS 1.2 and 1.3:
#   (a) tls-pipe send (TLS) -> stunnel server -> tls-pipe recv --tls none
#   (b) tls-pipe send --tls none -> stunnel client -> tls-pipe recv (TLS)
# with client certificates checked on both sides and the byte stream
# compared end to end.
#
#   TLS_PIPE=obj/tests/tls-pipe [CERTS=obj/certs] [KEEP=1] tests/stunnel.sh
#
# Without stunnel4: SKIPPED, unless CI=true (then a failure).
set -u
abs() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
HERE=$(cd "$(dirname "$0")" && pwd)
TLS_PIPE=$(abs "${TLS_PIPE:-obj/tests/tls-pipe}")

STUNNEL=$(command -v stunnel4 || command -v stunnel || true)
if [ -z "$STUNNEL" ]; then
    if [ "${CI:-}" = true ]; then
        echo "stunnel: stunnel4 is not installed (.ci/install-deps installs it)" >&2
        echo "stunnel: 0 passed, 1 failed"
        exit 1
    fi
    echo "stunnel: SKIPPED (stunnel4 is not installed)"
    exit 0
fi

T=$(mktemp -d)
SPID=
cleanup() {
    local p
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null
    for p in $(jobs -p); do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ "${KEEP:-0}" = 1 ]; then echo "stunnel: kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${CERTS:-}" ]; then
    C=$(cd "$CERTS" && pwd)
else
    C=$T/certs
    sh "$HERE/tls/make-certs.sh" "$C" || { echo "stunnel: make-certs.sh failed" >&2; exit 1; }
fi
for f in "$TLS_PIPE" "$C/ca.pem" "$C/server.pem" "$C/client.pem"; do
    [ -e "$f" ] || { echo "stunnel: missing $f" >&2; exit 1; }
done

pass=0 fail=0 issues=()
note() { issues+=("$*"); }
verdict() {
    local f
    if [ ${#issues[@]} -eq 0 ]; then
        pass=$((pass + 1))
        echo "ok   $1"
    else
        fail=$((fail + 1))
        echo "FAIL $1" >&2
        printf '       %s\n' "${issues[@]}" >&2
        for f in "$T"/{s,r}.{out,err} "$T/stunnel.log"; do
            [ -s "$f" ] && tail -8 "$f" | sed "s|^|       ${f##*/}: |" >&2
        done
    fi
    issues=()
}

DATA=$T/data
head -c $((32 << 20)) /dev/urandom >"$DATA"

# listening HEXPORT: something listens on 127.0.0.1:PORT
listening() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" '$2 == "0100007F" p && $4 == "0A" { f = 1 } END { exit !f }' \
        FS='[ ]+' <(sed 's/^ *//' /proc/net/tcp)
}

free_port() {
    local p _
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 30000))
        listening "$p" || { echo "$p"; return 0; }
    done
    return 1
}

wait_port() {    # wait_port FILE PID
    local _
    for _ in $(seq 200); do
        [ -s "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

reap() {         # reap PID SECONDS: sets REAPED
    local _
    for _ in $(seq $(($2 * 20))); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$1" 2>/dev/null && kill "$1" 2>/dev/null
    wait "$1"
    REAPED=$?
}

# stunnel_start CONFIG-BODY: stunnel in the foreground on a free port
# (APORT); retried if the port was taken meanwhile.
stunnel_start() {
    local _
    for _ in 1 2 3; do
        APORT=$(free_port) || return 1
        {
            echo "foreground = yes"
            echo "pid = $T/stunnel.pid"
            echo "debug = 6"
            echo "[xmig]"
            echo "accept = 127.0.0.1:$APORT"
            echo "$1"
        } >"$T/stunnel.conf"
        rm -f "$T/stunnel.pid"
        timeout 120 "$STUNNEL" "$T/stunnel.conf" >"$T/stunnel.log" 2>&1 &
        SPID=$!
        for _ in $(seq 200); do
            listening "$APORT" && return 0
            kill -0 "$SPID" 2>/dev/null || break
            sleep 0.05
        done
        stunnel_stop
    done
    return 1
}

stunnel_stop() {
    if [ -n "$SPID" ]; then
        kill "$SPID" 2>/dev/null
        wait "$SPID" 2>/dev/null
        SPID=
    fi
}

field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
result() { grep -E '^tls-pipe: (send|recv) ' "$1" 2>/dev/null | head -1; }

# run STUNNEL-CONFIG RECV-ARGS... -- SEND-ARGS...: receiver on a free port
# (RPORT, named in the config as @RPORT@), stunnel to it, sender to stunnel.
run() {
    local conf=$1 r=() s=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do r+=("$1"); shift; done
    shift
    s=("$@")
    rm -f "$T/port" "$T/out" "$T"/{s,r}.{out,err}
    timeout 60 "$TLS_PIPE" recv --listen 127.0.0.1:0 --port-file "$T/port" \
        "${r[@]}" "$T/out" >"$T/r.out" 2>"$T/r.err" &
    local rpid=$!
    if ! wait_port "$T/port" "$rpid"; then
        reap "$rpid" 1
        note "receiver did not listen"
        SRC=99 RRC=$REAPED
        return
    fi
    if ! stunnel_start "${conf//@RPORT@/$(cat "$T/port")}"; then
        note "stunnel did not start: $(tail -3 "$T/stunnel.log")"
        reap "$rpid" 1
        SRC=99 RRC=$REAPED
        return
    fi
    timeout 60 "$TLS_PIPE" send --connect "127.0.0.1:$APORT" "${s[@]}" "$DATA" \
        >"$T/s.out" 2>"$T/s.err"
    SRC=$?
    reap "$rpid" "${RWAIT:-20}"
    RRC=$REAPED
    stunnel_stop
}

# delivered TLS-SIDE(s|r) VERSION: both ends succeeded with every byte, and
# our TLS end negotiated VERSION with stunnel.
delivered() {
    local size side line sums=()
    size=$(stat -c %s "$DATA")
    [ "$SRC" = 0 ] || note "sender exit $SRC: $(head -1 "$T/s.err")"
    [ "$RRC" = 0 ] || note "receiver exit $RRC: $(head -1 "$T/r.err")"
    for side in s r; do
        line=$(result "$T/$side.out")
        if [ -z "$line" ]; then
            note "$side: no result line"
            continue
        fi
        [ "$(field "$line" bytes)" = "$size" ] ||
            note "$side: bytes=$(field "$line" bytes), expected $size"
        sums+=("$(field "$line" sum)")
    done
    [ ${#sums[@]} = 2 ] && { [ -n "${sums[0]}" ] && [ "${sums[0]}" = "${sums[1]}" ] ||
        note "sums differ: send ${sums[0]} recv ${sums[1]}"; }
    line=$(result "$T/$1.out")
    [ "$(field "$line" version)" = "$2" ] ||
        note "$1: version=$(field "$line" version), expected $2"
    cmp -s "$DATA" "$T/out" || note "received file differs from the sent one"
}

# refused: the transfer did not complete (no silent success on either end)
refused() {
    [ "$SRC" != 0 ] || [ "$RRC" != 0 ] || note "both ends succeeded"
    cmp -s "$DATA" "$T/out" && note "the data got through"
}

SRV=(--cert "$C/server.pem" --key "$C/server-key.pem")
CLI=(--cert "$C/client.pem" --key "$C/client-key.pem")

echo "stunnel: $("$STUNNEL" -version 2>&1 | grep -m1 '^stunnel')"
for v in 1.2 1.3; do
    # (a) our TLS client -> stunnel server (checks our client certificate)
    run "connect = 127.0.0.1:@RPORT@
cert = $C/server.pem
key = $C/server-key.pem
CAfile = $C/ca.pem
verifyChain = yes
requireCert = yes
sslVersion = TLSv$v" \
        --tls none -- "${CLI[@]}" --ca "$C/ca.pem" --name localhost --tls-version "$v"
    delivered s "TLSv$v"
    verdict "tls-pipe send -> stunnel server -> plain recv, TLS $v"

    # (b) stunnel client (with a client certificate, checking ours) -> our
    # TLS server
    run "client = yes
connect = 127.0.0.1:@RPORT@
cert = $C/client.pem
key = $C/client-key.pem
CAfile = $C/ca.pem
verifyChain = yes
checkHost = localhost
sslVersion = TLSv$v" \
        "${SRV[@]}" --ca "$C/ca.pem" --tls-version "$v" -- --tls none
    delivered r "TLSv$v"
    verdict "plain send -> stunnel client -> tls-pipe recv, TLS $v"
done

# The checks are real: stunnel trusting another CA refuses our client, and
# our server refuses stunnel's client certificate when it trusts another CA.
RWAIT=3 run "connect = 127.0.0.1:@RPORT@
cert = $C/server.pem
key = $C/server-key.pem
CAfile = $C/other-ca.pem
verifyChain = yes
requireCert = yes" \
    --tls none -- "${CLI[@]}" --ca "$C/ca.pem" --name localhost
refused
verdict "stunnel server trusting another CA refuses tls-pipe's certificate"

RWAIT=3 run "client = yes
connect = 127.0.0.1:@RPORT@
cert = $C/client.pem
key = $C/client-key.pem
CAfile = $C/ca.pem
verifyChain = yes" \
    "${SRV[@]}" --ca "$C/other-ca.pem" -- --tls none
refused
[ "$RRC" = 1 ] && grep -q 'peer certificate rejected' "$T/r.err" ||
    note "receiver: exit $RRC, $(head -1 "$T/r.err")"
verdict "tls-pipe server trusting another CA refuses stunnel's certificate"

echo "stunnel: $pass passed, $fail failed"
[ "$fail" = 0 ]
