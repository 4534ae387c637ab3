#!/bin/bash
# The TLS transport between two tls-pipe peers over loopback: what gets
# through (byte for byte), what is refused and with which message, how a
# cut connection ends, and how kernel TLS falls back or fails.
#
#   TLS_PIPE=obj/tests/tls-pipe XMIG=./xmig [CERTS=obj/certs] [KEEP=1] tests/tls.sh
#
# CERTS is a directory made by tests/tls/make-certs.sh (made here when
# unset).  Every peer runs under timeout(1); only 127.0.0.1 and ::1 are used.
set -u
abs() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
HERE=$(cd "$(dirname "$0")" && pwd)
TLS_PIPE=$(abs "${TLS_PIPE:-obj/tests/tls-pipe}")
XMIG=$(abs "${XMIG:-./xmig}")
T=$(mktemp -d)
cleanup() {
    local p
    for p in $(jobs -p); do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ "${KEEP:-0}" = 1 ]; then echo "tls: kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${CERTS:-}" ]; then
    C=$(cd "$CERTS" && pwd)
else
    C=$T/certs
    sh "$HERE/tls/make-certs.sh" "$C" || { echo "tls: make-certs.sh failed" >&2; exit 1; }
fi
for f in "$TLS_PIPE" "$XMIG" "$C/ca.pem" "$C/server.pem" "$C/client.pem"; do
    [ -e "$f" ] || { echo "tls: missing $f" >&2; exit 1; }
done

pass=0 fail=0 issues=()
note() { issues+=("$*"); }
# verdict DESCRIPTION [NAME]: one test case done; on failure show its logs
verdict() {
    local f
    if [ ${#issues[@]} -eq 0 ]; then
        pass=$((pass + 1))
        echo "ok   $1"
    else
        fail=$((fail + 1))
        echo "FAIL $1" >&2
        printf '       %s\n' "${issues[@]}" >&2
        if [ -n "${2:-}" ]; then
            for f in "$T/$2".{s,r}.{out,err}; do
                [ -s "$f" ] && sed "s|^|       ${f##*/}: |" "$f" | head -5 >&2
            done
        fi
    fi
    issues=()
}

# ---- peers ----------------------------------------------------------------

HOST=127.0.0.1
hostport() { case $1 in *:*) echo "[$1]:$2" ;; *) echo "$1:$2" ;; esac; }
hostre() { sed 's/\./\\./g; s/^\(.*:.*\)$/\\[\1\\]/' <<<"$1"; }

# wait_port FILE PID: the receiver wrote its port (10 s at most)
wait_port() {
    local _
    for _ in $(seq 200); do
        [ -s "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# reap PID SECONDS: wait for a peer; after SECONDS, stop it (timeout(1)
# passes the signal on).  Sets REAPED to its exit status.
reap() {
    local _
    for _ in $(seq $(($2 * 20))); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$1" 2>/dev/null && kill "$1" 2>/dev/null
    wait "$1"
    REAPED=$?
}

# start_recv NAME ARGS...: a receiver in the background writing $T/NAME.out;
# sets RPID and PORT (empty when it did not get to listening).
start_recv() {
    local n=$1
    shift
    rm -f "$T/port" "$T/$n".*
    timeout 60 "$TLS_PIPE" recv --listen "$(hostport "$HOST" 0)" \
        --port-file "$T/port" "$@" "$T/$n.out" >"$T/$n.r.out" 2>"$T/$n.r.err" &
    RPID=$!
    PORT=
    wait_port "$T/port" "$RPID" && PORT=$(cat "$T/port")
}

# xfer NAME RECV-ARGS... -- SEND-ARGS...: one transfer of $FILE (default
# $DATA); sets SRC and RRC, the exit statuses of sender and receiver.
xfer() {
    local n=$1 r=() s=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do r+=("$1"); shift; done
    shift
    s=("$@")
    start_recv "$n" "${r[@]}"
    if [ -z "$PORT" ]; then
        reap "$RPID" 1
        RRC=$REAPED SRC=99
        note "receiver did not listen (exit $RRC)"
        return
    fi
    timeout 60 "$TLS_PIPE" send --connect "$(hostport "$HOST" "$PORT")" \
        "${s[@]}" "${FILE:-$DATA}" >"$T/$n.s.out" 2>"$T/$n.s.err"
    SRC=$?
    reap "$RPID" 20
    RRC=$REAPED
}

# field LINE KEY: a key=value of a result line
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
result() { grep -E '^tls-pipe: (send|recv) ' "$1" 2>/dev/null | head -1; }

# delivered NAME [MODE [VERSION [CIPHER]]]: both ends succeeded and agree on
# every byte of $FILE; the result lines show the expected parameters.
delivered() {
    local n=$1 mode=${2:-} ver=${3:-} ciph=${4:-} f=${FILE:-$DATA}
    local size side line sums=()
    size=$(stat -c %s "$f")
    [ "$SRC" = 0 ] || note "sender exit $SRC: $(head -1 "$T/$n.s.err")"
    [ "$RRC" = 0 ] || note "receiver exit $RRC: $(head -1 "$T/$n.r.err")"
    for side in s r; do
        line=$(result "$T/$n.$side.out")
        if [ -z "$line" ]; then
            note "$side: no result line"
            continue
        fi
        [ "$(field "$line" bytes)" = "$size" ] ||
            note "$side: bytes=$(field "$line" bytes), expected $size"
        sums+=("$(field "$line" sum)")
        [ -z "$mode" ] || [ "$(field "$line" mode)" = "$mode" ] ||
            note "$side: mode=$(field "$line" mode), expected $mode"
        [ -z "$ver" ] || [ "$(field "$line" version)" = "$ver" ] ||
            note "$side: version=$(field "$line" version), expected $ver"
        [ -z "$ciph" ] || [ "$(field "$line" cipher)" = "$ciph" ] ||
            note "$side: cipher=$(field "$line" cipher), expected $ciph"
    done
    if [ ${#sums[@]} = 2 ]; then
        [ -n "${sums[0]}" ] && [ "${sums[0]}" = "${sums[1]}" ] ||
            note "sums differ: send ${sums[0]} recv ${sums[1]}"
    fi
    cmp -s "$f" "$T/$n.out" || note "received file differs from the sent one"
}

# refused NAME SIDE(s|r) ERE: that side exits 1 without a result line, its
# error names the peer address and matches ERE (case-insensitively).
refused() {
    local n=$1 side=$2 re=$3 rc peer
    if [ "$side" = s ]; then
        rc=$SRC peer="$(hostre "$HOST"):$PORT"
    else
        rc=$RRC peer="$(hostre "$HOST"):[0-9]+"
    fi
    [ "$rc" = 1 ] || note "$side: exit $rc, expected 1"
    [ -z "$(result "$T/$n.$side.out")" ] || note "$side: reported success"
    # The error line (not the warnings before it) names peer and reason.
    grep '^tls-pipe: ' "$T/$n.$side.err" >"$T/errline"
    grep -Eq "$peer" "$T/errline" ||
        note "$side: error does not name the peer ($peer)"
    grep -Eiq "$re" "$T/errline" || note "$side: error does not match /$re/"
}

# fails NAME SIDE: that side fails too (any status but 0, no result line)
fails() {
    local rc
    [ "$2" = s ] && rc=$SRC || rc=$RRC
    [ "$rc" != 0 ] || note "$2: succeeded, expected a failure"
    [ -z "$(result "$T/$1.$2.out")" ] || note "$2: reported success"
}

# no_stderr NAME: neither side printed anything on stderr
no_stderr() {
    local side
    for side in s r; do
        [ ! -s "$T/$1.$side.err" ] ||
            note "$side: unexpected stderr: $(head -1 "$T/$1.$side.err")"
    done
}

# one_line NAME SIDE ERE: that side's stderr is exactly one line, matching
one_line() {
    local f=$T/$1.$2.err
    [ "$(wc -l <"$f")" = 1 ] || note "$2: $(wc -l <"$f") stderr lines, expected 1"
    grep -Eq "$3" "$f" || note "$2: stderr does not match /$3/"
}

# ---- material ---------------------------------------------------------------

DATA=$T/data
head -c $((32 << 20)) /dev/urandom >"$DATA"
SMALL=$T/small
head -c $((1 << 20)) /dev/urandom >"$SMALL"

SRV=(--cert "$C/server.pem" --key "$C/server-key.pem")
CLI=(--cert "$C/client.pem" --key "$C/client-key.pem")
CA=(--ca "$C/ca.pem")
U=(--tls userspace)
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//'; }
PIN_SERVER=$(cat "$C/server.sha256")
PIN_CLIENT=$(cat "$C/client.sha256")
PIN_SELF=$(cat "$C/selfsigned.sha256")

# leaf NAME CA KEYALG SAN: a certificate signed by CA (ca or other-ca)
leaf() {
    local k=$T/$1-key.pem
    if [ "$3" = rsa ]; then
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k"
    else
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k"
    fi 2>/dev/null &&
        openssl req -new -key "$k" -subj "/CN=$1" -out "$T/$1.csr" 2>/dev/null &&
        printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' \
            "$4" >"$T/$1.ext" &&
        openssl x509 -req -in "$T/$1.csr" -CA "$C/$2.pem" -CAkey "$C/$2-key.pem" \
            -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
            -days 30 -extfile "$T/$1.ext" -out "$T/$1.pem" 2>/dev/null
}
# An RSA server (for the ECDHE-RSA ciphers) and a stranger from another CA.
leaf rsa-server ca rsa "DNS:localhost,IP:127.0.0.1,IP:::1" ||
    echo "tls: could not make an RSA certificate" >&2
leaf stranger other-ca ec "DNS:localhost,DNS:xmig-client,IP:127.0.0.1" ||
    echo "tls: could not make a certificate from another CA" >&2
STRANGER=(--cert "$T/stranger.pem" --key "$T/stranger-key.pem")

INFO=$("$XMIG" tls-info 2>&1)
TLS13=$(sed -n 's/^TLSv1\.3 suites: //p' <<<"$INFO" | tr ':' ' ')
TLS12=$(sed -n 's/^TLSv1\.2 ciphers: //p' <<<"$INFO" | tr ':' ' ')
HAVE_KTLS=0
grep -q 'this kernel: kernel TLS available' <<<"$INFO" && HAVE_KTLS=1
[ "$HAVE_KTLS" = 1 ] && AUTO_MODE=ktls || AUTO_MODE=userspace
echo "tls: kernel TLS $([ $HAVE_KTLS = 1 ] && echo available || echo not available)"

# ---- what gets through --------------------------------------------------------

# auto (the default on the receiver): kernel TLS, or userspace with one
# warning per side saying why.
xfer auto "${SRV[@]}" "${CA[@]}" -- "${CLI[@]}" "${CA[@]}" --tls auto --name localhost
delivered auto "$AUTO_MODE"
if [ "$HAVE_KTLS" = 1 ]; then
    no_stderr auto
else
    one_line auto s "warning: .*127\.0\.0\.1:$PORT.*kernel has no TLS support"
    one_line auto r "warning: .*127\.0\.0\.1:[0-9]+.*kernel has no TLS support"
fi
verdict "auto mode ($AUTO_MODE), one warning per side when falling back" auto

xfer user "${SRV[@]}" "${CA[@]}" "${U[@]}" -- "${CLI[@]}" "${CA[@]}" "${U[@]}" --name localhost
delivered user userspace
no_stderr user
verdict "userspace mode, no warning" user

for v in 1.2 1.3; do
    xfer "v$v" "${SRV[@]}" "${CA[@]}" --tls-version "$v" -- \
        "${CLI[@]}" "${CA[@]}" --tls-version "$v" --name localhost
    delivered "v$v" "" "TLSv$v"
    verdict "TLS $v forced on both ends" "v$v"
done
xfer vmix "${SRV[@]}" "${CA[@]}" "${U[@]}" -- "${CLI[@]}" "${CA[@]}" "${U[@]}" --tls-version 1.2
delivered vmix userspace TLSv1.2
verdict "client limited to TLS 1.2, server offering both" vmix

[ -n "$TLS13" ] && [ -n "$TLS12" ] || note "xmig tls-info lists no ciphers: $INFO"
verdict "xmig tls-info lists the policy's ciphers"
for x in $TLS13; do
    xfer "c-$x" "${SRV[@]}" "${CA[@]}" --tls-version 1.3 --cipher "$x" -- \
        "${CLI[@]}" "${CA[@]}" --tls-version 1.3 --cipher "$x"
    delivered "c-$x" "" TLSv1.3 "$x"
    verdict "cipher $x forced (TLS 1.3)" "c-$x"
done
for x in $TLS12; do
    case $x in
    *-RSA-*) S=(--cert "$T/rsa-server.pem" --key "$T/rsa-server-key.pem") ;;
    *) S=("${SRV[@]}") ;;
    esac
    xfer "c-$x" "${S[@]}" "${CA[@]}" --tls-version 1.2 --cipher "$x" -- \
        "${CLI[@]}" "${CA[@]}" --tls-version 1.2 --cipher "$x" --name localhost
    delivered "c-$x" "" TLSv1.2 "$x"
    verdict "cipher $x forced (TLS 1.2)" "c-$x"
done
# A TLS 1.2 cipher, forced alone, is the one used: TLS 1.3 has no such
# suite, so it must not silently negotiate TLS 1.3 with another cipher.
x=ECDHE-ECDSA-AES128-GCM-SHA256
xfer c12alone "${SRV[@]}" "${CA[@]}" "${U[@]}" --cipher "$x" -- \
    "${CLI[@]}" "${CA[@]}" "${U[@]}" --cipher "$x"
delivered c12alone userspace TLSv1.2 "$x"
verdict "cipher $x forced without --tls-version is the one negotiated" c12alone
# A TLS 1.3 suite with TLS 1.2 forced cannot be honoured: refuse it rather
# than run with another cipher.
x=TLS_AES_128_GCM_SHA256
xfer c13v12 "${SRV[@]}" "${CA[@]}" "${U[@]}" --tls-version 1.2 --cipher "$x" -- \
    "${CLI[@]}" "${CA[@]}" "${U[@]}" --tls-version 1.2 --cipher "$x"
fails c13v12 s
fails c13v12 r
grep -q "$x" "$T/c13v12.s.err" || note "s: error does not name $x"
verdict "cipher $x with --tls-version 1.2 is refused, not replaced" c13v12

xfer pins "${SRV[@]}" "${U[@]}" --pin "$PIN_CLIENT" -- \
    "${CLI[@]}" "${U[@]}" --pin "$PIN_SERVER"
delivered pins userspace
verdict "pins without a CA (CA-signed certificates)" pins

# Self-signed, pinned as plain lowercase hex, name checked.
PIN_SELF_HEX=$(tr -d : <<<"$PIN_SELF" | tr A-F a-f)
xfer pinself --cert "$C/selfsigned.pem" --key "$C/selfsigned-key.pem" "${U[@]}" \
    --pin "$PIN_CLIENT" -- "${CLI[@]}" "${U[@]}" --pin "$PIN_SELF_HEX" --name pinned-peer
delivered pinself userspace
verdict "pins without a CA (self-signed, plain hex pin, --name)" pinself

xfer capins "${SRV[@]}" "${CA[@]}" "${U[@]}" --pin "$PIN_SELF" --pin "$PIN_CLIENT" -- \
    "${CLI[@]}" "${CA[@]}" "${U[@]}" --pin "sha256:$PIN_SERVER" --name xmig-peer
delivered capins userspace
verdict "CA + pins (several pins, sha256: prefix, --name xmig-peer)" capins

xfer sendfile "${SRV[@]}" "${CA[@]}" -- "${CLI[@]}" "${CA[@]}" --sendfile --name 127.0.0.1
delivered sendfile "$AUTO_MODE"
verdict "sendfile path, auto mode, --name 127.0.0.1" sendfile
xfer sendfile-u "${SRV[@]}" "${CA[@]}" "${U[@]}" -- "${CLI[@]}" "${CA[@]}" "${U[@]}" --sendfile
delivered sendfile-u userspace
verdict "sendfile path, userspace mode" sendfile-u
FILE=$SMALL xfer sendfile-small "${SRV[@]}" "${CA[@]}" "${U[@]}" -- \
    "${CLI[@]}" "${CA[@]}" "${U[@]}" --sendfile --chunk 4096
FILE=$SMALL delivered sendfile-small userspace
verdict "sendfile path, 1 MiB, small chunks" sendfile-small

xfer none --tls none -- --tls none
delivered none none - -
no_stderr none
verdict "--tls none (plain TCP)" none
xfer none-sf --tls none -- --tls none --sendfile
delivered none-sf none - -
verdict "--tls none with sendfile" none-sf

if grep -q '^0\{31\}1 .* lo$' /proc/net/if_inet6 2>/dev/null; then
    HOST=::1
    xfer v6 "${SRV[@]}" "${CA[@]}" "${U[@]}" -- "${CLI[@]}" "${CA[@]}" "${U[@]}" --name ::1
    delivered v6 userspace
    grep -q 'peer=\[::1\]:' "$T/v6.s.out" || note "s: peer is not [::1]:port"
    verdict "IPv6 ::1, --name ::1" v6
    xfer v6bad "${SRV[@]}" "${CA[@]}" "${U[@]}" -- "${CLI[@]}" "${CA[@]}" "${U[@]}" --name ::2
    refused v6bad s "peer certificate rejected: IP address mismatch"
    fails v6bad r
    verdict "IPv6 ::1, --name ::2 (not in the certificate)" v6bad
    HOST=127.0.0.1
else
    echo "skip IPv6: ::1 is not configured"
fi

xfer insecure "${SRV[@]}" "${U[@]}" --insecure -- "${U[@]}" --insecure
delivered insecure userspace
one_line insecure s "warning: TLS peer 127\.0\.0\.1:$PORT is NOT authenticated"
one_line insecure r "warning: TLS peer 127\.0\.0\.1:[0-9]+ is NOT authenticated"
verdict "--insecure works, and warns once per side" insecure

# ---- kernel TLS required ------------------------------------------------------

xfer ktls "${SRV[@]}" "${CA[@]}" --tls ktls -- "${CLI[@]}" "${CA[@]}" --tls ktls
if [ "$HAVE_KTLS" = 1 ]; then
    delivered ktls ktls
    for side in s r; do
        grep -q 'ktls_tx=1 ktls_rx=1' "$T/ktls.$side.out" || note "$side: not kTLS both ways"
    done
    verdict "--tls ktls on a kernel with TLS" ktls
else
    for side in s r; do
        fails ktls "$side"
        [ "$([ $side = s ] && echo "$SRC" || echo "$RRC")" = 1 ] || note "$side: exit status is not 1"
        grep -q -- '--tls=ktls: kernel TLS is not available' "$T/ktls.$side.err" ||
            note "$side: no '--tls=ktls: kernel TLS is not available'"
        grep -q 'kernel has no TLS support' "$T/ktls.$side.err" || note "$side: reason not given"
    done
    verdict "--tls ktls fails on a kernel without TLS, saying why" ktls
fi

# ---- refusals -------------------------------------------------------------------

ISSUER="unable to get local issuer certificate|unable to verify the first certificate|self-signed certificate in certificate chain"

xfer ca-srv "${SRV[@]}" "${CA[@]}" "${U[@]}" -- "${STRANGER[@]}" "${CA[@]}" "${U[@]}"
refused ca-srv r "peer certificate rejected: ($ISSUER)"
fails ca-srv s
verdict "server rejects a client certificate from another CA" ca-srv

xfer ca-cli "${STRANGER[@]}" "${CA[@]}" "${U[@]}" -- "${CLI[@]}" "${CA[@]}" "${U[@]}"
refused ca-cli s "peer certificate rejected: ($ISSUER)"
fails ca-cli r
verdict "client rejects a server certificate from another CA" ca-cli

xfer ca-other "${SRV[@]}" "${CA[@]}" "${U[@]}" -- "${CLI[@]}" --ca "$C/other-ca.pem" "${U[@]}"
refused ca-other s "peer certificate rejected: ($ISSUER)"
fails ca-other r
verdict "client trusting only another CA rejects the server" ca-other

xfer host "${SRV[@]}" "${CA[@]}" "${U[@]}" -- "${CLI[@]}" "${CA[@]}" "${U[@]}" --name wrong.example
refused host s "peer certificate rejected: hostname mismatch"
fails host r
verdict "hostname mismatch" host

xfer ip "${SRV[@]}" "${CA[@]}" "${U[@]}" -- "${CLI[@]}" "${CA[@]}" "${U[@]}" --name 10.9.9.9
refused ip s "peer certificate rejected: IP address mismatch"
fails ip r
verdict "IP address mismatch (--name 10.9.9.9)" ip

xfer exp-srv --cert "$C/expired.pem" --key "$C/expired-key.pem" "${CA[@]}" "${U[@]}" -- \
    "${CLI[@]}" "${CA[@]}" "${U[@]}" --name localhost
refused exp-srv s "peer certificate rejected: certificate has expired"
fails exp-srv r
verdict "expired server certificate" exp-srv

xfer exp-cli "${SRV[@]}" "${CA[@]}" "${U[@]}" -- \
    --cert "$C/expired.pem" --key "$C/expired-key.pem" "${CA[@]}" "${U[@]}"
refused exp-cli r "peer certificate rejected: certificate has expired"
fails exp-cli s
verdict "expired client certificate" exp-cli

xfer pinexp --cert "$C/expired.pem" --key "$C/expired-key.pem" "${U[@]}" --pin "$PIN_CLIENT" -- \
    "${CLI[@]}" "${U[@]}" --pin "$(fp "$C/expired.pem")"
refused pinexp s "certificate has expired"
fails pinexp r
verdict "a pinned certificate is still checked for expiry" pinexp

xfer pinname --cert "$C/selfsigned.pem" --key "$C/selfsigned-key.pem" "${U[@]}" \
    --pin "$PIN_CLIENT" -- "${CLI[@]}" "${U[@]}" --pin "$PIN_SELF" --name localhost
refused pinname s "hostname mismatch"
fails pinname r
verdict "a pinned certificate is still checked for the name" pinname

xfer nocert "${SRV[@]}" "${CA[@]}" "${U[@]}" -- "${CA[@]}" "${U[@]}"
refused nocert r "did not return a certificate|no certificate"
fails nocert s
verdict "client without a certificate" nocert

# The server has no certificate to show: say so, not "no shared cipher".
xfer nosrvcert "${CA[@]}" "${U[@]}" -- "${CLI[@]}" "${CA[@]}" "${U[@]}"
refused nosrvcert r "certificate"
grep -q 'no shared cipher' "$T/nosrvcert.r.err" && note "r: blames the ciphers"
fails nosrvcert s
verdict "server without a certificate configured" nosrvcert

PINMSG="is not pinned: its certificate's SHA-256 is"
lower() { tr A-F a-f <<<"$1"; }
xfer pin-cli "${SRV[@]}" "${U[@]}" --pin "$PIN_CLIENT" -- "${CLI[@]}" "${U[@]}" --pin "$PIN_SELF"
refused pin-cli s "$PINMSG $(lower "$PIN_SERVER")"
fails pin-cli r
verdict "wrong pin on the client (names the server's fingerprint)" pin-cli

xfer pin-srv "${SRV[@]}" "${U[@]}" --pin "$PIN_SELF" -- "${CLI[@]}" "${U[@]}" --pin "$PIN_SERVER"
refused pin-srv r "$PINMSG $(lower "$PIN_CLIENT")"
fails pin-srv s
verdict "wrong pin on the server (names the client's fingerprint)" pin-srv

xfer pin-ca "${SRV[@]}" "${CA[@]}" "${U[@]}" -- "${CLI[@]}" "${CA[@]}" "${U[@]}" --pin "$PIN_SELF"
refused pin-ca s "$PINMSG $(lower "$PIN_SERVER")"
fails pin-ca r
verdict "CA-valid but not pinned" pin-ca

# Refused while parsing options: exit 2, before any connection (nothing
# listens on port 1, so getting that far would be exit 1).
for p in abcd "${PIN_SERVER}ff" "${PIN_SERVER%:*}" \
    "$(printf 'zz%.0s' $(seq 32))" "${PIN_SERVER}:00" ""; do
    timeout 10 "$TLS_PIPE" send --connect 127.0.0.1:1 --pin "$p" "$SMALL" \
        >"$T/mp.out" 2>"$T/mp.err"
    rc=$?
    [ "$rc" = 2 ] || note "pin '$p': exit $rc, expected 2"
    grep -q "is not a SHA-256 fingerprint" "$T/mp.err" || note "pin '$p': $(head -1 "$T/mp.err")"
done
verdict "malformed pins are usage errors"

for x in TLS_CHACHA20_POLY1305_SHA256 ECDHE-ECDSA-CHACHA20-POLY1305 AES256-SHA \
    ECDHE-ECDSA-AES128-SHA256 DHE-RSA-AES128-GCM-SHA256 AES128-GCM-SHA256 \
    TLS_AES_128_CCM_SHA256 "ECDHE-ECDSA-AES256-GCM-SHA384:!ECDHE" ""; do
    timeout 10 "$TLS_PIPE" send --connect 127.0.0.1:1 --cipher "$x" "$SMALL" \
        >"$T/cx.out" 2>"$T/cx.err"
    rc=$?
    [ "$rc" = 2 ] || note "cipher '$x': exit $rc, expected 2$([ $rc = 124 ] && echo ' (hung)')"
    grep -q "is not in xmig's policy" "$T/cx.err" || note "cipher '$x': $(head -1 "$T/cx.err")"
done
verdict "ciphers outside the policy are refused at configuration time"

xfer noca-s "${SRV[@]}" "${CA[@]}" "${U[@]}" -- "${CLI[@]}" "${U[@]}"
refused noca-s s "no CA bundle and no pins to check the peer against \(--insecure"
fails noca-s r
verdict "client with no CA and no pins, without --insecure" noca-s

xfer noca-r "${SRV[@]}" "${U[@]}" -- "${CLI[@]}" "${CA[@]}" "${U[@]}"
refused noca-r r "no CA bundle and no pins to check the peer against \(--insecure"
verdict "server with no CA and no pins, without --insecure" noca-r
# ... and its peer, seeing the connection close during the handshake,
# fails with a message rather than being killed by SIGPIPE.
refused noca-r s "TLS handshake with"
verdict "client whose server hangs up mid-handshake exits 1 with a message" noca-r

xfer vers "${SRV[@]}" "${CA[@]}" "${U[@]}" --tls-version 1.3 -- \
    "${CLI[@]}" "${CA[@]}" "${U[@]}" --tls-version 1.2
refused vers s "protocol version|unsupported protocol"
refused vers r "protocol version|unsupported protocol"
verdict "TLS 1.2 client against a TLS 1.3-only server" vers

# ---- cut connections ------------------------------------------------------------

# cut NAME VICTIM(s|r) RECV-ARGS... -- SEND-ARGS...: the sender trickles
# $SMALL one byte per record; once 64 KiB have arrived, VICTIM is killed.
cut() {
    local n=$1 victim=$2 r=() s=() _ spid
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do r+=("$1"); shift; done
    shift
    s=("$@")
    start_recv "$n" "${r[@]}"
    if [ -z "$PORT" ]; then
        reap "$RPID" 1
        note "receiver did not listen"
        return
    fi
    timeout -s KILL 60 "$TLS_PIPE" send --connect "127.0.0.1:$PORT" "${s[@]}" \
        --chunk 1 "$SMALL" >"$T/$n.s.out" 2>"$T/$n.s.err" &
    spid=$!
    for _ in $(seq 600); do
        [ "$(stat -c %s "$T/$n.out" 2>/dev/null || echo 0)" -ge 65536 ] && break
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.05
    done
    if [ "$victim" = s ]; then
        kill "$spid" 2>/dev/null      # timeout(1) sends the peer SIGKILL
        wait "$spid"
        SRC=$?
        reap "$RPID" 20
        RRC=$REAPED
    else
        kill "$RPID" 2>/dev/null      # timeout(1) passes SIGTERM on
        wait "$RPID"
        RRC=$?
        reap "$spid" 20
        SRC=$REAPED
    fi
    local got
    got=$(stat -c %s "$T/$n.out" 2>/dev/null || echo 0)
    [ "$got" -ge 65536 ] && [ "$got" -lt "$(stat -c %s "$SMALL")" ] ||
        note "cut at $got octets, not mid-stream"
}

cut cut-s s "${SRV[@]}" "${CA[@]}" "${U[@]}" -- "${CLI[@]}" "${CA[@]}" "${U[@]}"
refused cut-s r "unexpected eof|close_notify"
verdict "sender killed mid-stream: the receiver reports an unexpected EOF" cut-s

cut cut-sa s "${SRV[@]}" "${CA[@]}" -- "${CLI[@]}" "${CA[@]}"
refused cut-sa r "unexpected eof|close_notify"
verdict "sender killed mid-stream, auto mode" cut-sa

cut cut-r r "${SRV[@]}" "${CA[@]}" "${U[@]}" -- "${CLI[@]}" "${CA[@]}" "${U[@]}"
refused cut-r s "TLS write to"
verdict "receiver killed mid-stream: the sender exits 1 with a message" cut-r

echo "tls: $pass passed, $fail failed"
[ "$fail" = 0 ]
