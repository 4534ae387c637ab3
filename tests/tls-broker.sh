#!/bin/bash
# The kTLS socket broker (xmig tls-connect / tls-accept) on loopback:
# two brokers hand a connection to two fake toolstacks over SCM_RIGHTS and
# a stream moves both ways intact; --exec hands it to a command's stdin and
# stdout, and --stdio stands in for ssh the way xl migrate -s runs it; a
# certificate from another CA is refused with a message and a non-zero
# exit before anything is handed on; --tls ktls fails loudly without
# kernel TLS.  On a host without kernel TLS (this project's machines) the
# brokers relay in userspace; tests/vm/run.sh covers the kTLS hand-off.
#
#   FAKE_TOOLSTACK=obj/tests/fake-toolstack XMIG=./xmig CERTS=obj/certs \
#     [KEEP=1] tests/tls-broker.sh
set -u
abs() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
FAKE=$(abs "${FAKE_TOOLSTACK:-obj/tests/fake-toolstack}")
XMIG=$(abs "${XMIG:-./xmig}")
C=$(cd "${CERTS:-obj/certs}" && pwd)
T=$(mktemp -d)
cleanup() {
    local p
    for p in $(jobs -p); do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ "${KEEP:-0}" = 1 ]; then echo "tls-broker: kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for f in "$FAKE" "$XMIG" "$C/ca.pem" "$C/server.pem" "$C/client.pem" \
    "$C/other-ca.pem"; do
    [ -e "$f" ] || { echo "tls-broker: missing $f" >&2; exit 1; }
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
        for f in "$T"/*.err; do
            [ -s "$f" ] && sed "s|^|       ${f##*/}: |" "$f" | head -4 >&2
        done
    fi
    issues=()
}

# wait_for FILE PID: FILE exists (20 s at most, while PID lives)
wait_for() {
    local _
    for _ in $(seq 400); do
        [ -e "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}
# reap PID SECONDS: its exit status in REAPED; stopped after SECONDS
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

SRV=(--cert "$C/server.pem" --key "$C/server-key.pem" --ca "$C/ca.pem")
CLI=(--cert "$C/client.pem" --key "$C/client-key.pem" --ca "$C/ca.pem")
head -c $((8 << 20)) /dev/urandom >"$T/up"      # connecting side -> accepting
head -c $((5 << 20)) /dev/urandom >"$T/down"    # accepting side -> connecting

INFO=$("$XMIG" tls-info 2>&1)
HAVE_KTLS=0
grep -q 'this kernel: kernel TLS available' <<<"$INFO" && HAVE_KTLS=1
[ $HAVE_KTLS = 1 ] && HANDOFF=socket || HANDOFF=relay
echo "tls-broker: kernel TLS $([ $HAVE_KTLS = 1 ] && echo available || echo not available): expecting hand-off by $HANDOFF"

# accept_bg NAME ARGS...: tls-accept on 127.0.0.1:0 in the background;
# sets APID and PORT (empty when it did not listen).
accept_bg() {
    local n=$1
    shift
    rm -f "$T/port"
    # An explicit stdin: a background job's default is /dev/null.
    timeout 60 "$XMIG" tls-accept --port-file "$T/port" "$@" \
        <"${STDIN_FILE:-/dev/null}" >"$T/$n.a.out" 2>"$T/$n.a.err" &
    APID=$!
    PORT=
    wait_for "$T/port" "$APID" && PORT=$(cat "$T/port")
}
# toolstack_bg NAME SEND RECV: a fake toolstack on $T/NAME.sock; sets TPID
toolstack_bg() {
    rm -f "$T/$1.sock"
    timeout 60 "$FAKE" "$T/$1.sock" "$2" "$3" >"$T/$1.t.out" 2>"$T/$1.t.err" &
    TPID=$!
    wait_for "$T/$1.sock" "$TPID" || note "toolstack $1 did not listen"
}
same() { cmp -s "$1" "$2" || note "$3: $(cmp "$1" "$2" 2>&1 | head -1)"; }
rc_is() { [ "$1" = "$2" ] || note "$3 exit $1, expected $2"; }

# ---- SCM_RIGHTS both ways -------------------------------------------------

scm_pair() {  # scm_pair NAME [extra options for both brokers]
    local n=$1 apid cpid bpid rpid arc crc
    shift
    toolstack_bg "$n-A" "$T/up" "$T/$n.gotdown"; apid=$TPID
    toolstack_bg "$n-B" "$T/down" "$T/$n.gotup"; bpid=$TPID
    accept_bg "$n" --to-unix "$T/$n-B.sock" "${SRV[@]}" "$@" 127.0.0.1:0
    if [ -z "$PORT" ]; then
        note "tls-accept did not listen"
        return
    fi
    timeout 60 "$XMIG" tls-connect --to-unix "$T/$n-A.sock" "${CLI[@]}" \
        "$@" "127.0.0.1:$PORT" >"$T/$n.c.out" 2>"$T/$n.c.err"
    crc=$?
    reap "$APID" 30; arc=$REAPED
    reap "$apid" 30; rc_is "$REAPED" 0 "toolstack A"
    reap "$bpid" 30; rc_is "$REAPED" 0 "toolstack B"
    rc_is "$crc" 0 tls-connect
    rc_is "$arc" 0 tls-accept
    same "$T/up" "$T/$n.gotup" "connecting -> accepting"
    same "$T/down" "$T/$n.gotdown" "accepting -> connecting"
}

scm_pair scm
for s in A B; do
    d=$(sed -n 's/^fake-toolstack: desc=//p' "$T/scm-$s.t.err")
    for k in '"xmig": "tls-broker"' "\"handoff\": \"$HANDOFF\"" \
        '"peer": "127.0.0.1:' '"tls_version": "TLSv1.' '"cipher": "TLS_AES_'; do
        grep -qF "$k" <<<"$d" || note "toolstack $s: description lacks $k: $d"
    done
done
grep -qF '"role": "client"' <<<"$(cat "$T/scm-A.t.err")" || note "A: not role client"
grep -qF '"role": "server"' <<<"$(cat "$T/scm-B.t.err")" || note "B: not role server"
grep -qF '"peer_subject": "/CN=xmig-client' "$T/scm-B.t.err" ||
    note "B: the client certificate's subject is not in the description"
if [ $HAVE_KTLS = 0 ]; then
    for e in c a; do
        [ "$(grep -c 'relays between it and' "$T/scm.$e.err")" = 1 ] ||
            note "$e: not exactly one 'relays between it and' line"
    done
fi
verdict "SCM_RIGHTS hand-off to a toolstack at both ends, 8 MiB up and 5 MiB down at once, intact"

# --tls userspace: the relay line is then the only line on stderr.
scm_pair scmu --tls userspace
for e in c a; do
    [ "$(wc -l <"$T/scmu.$e.err")" = 1 ] ||
        note "$e: $(wc -l <"$T/scmu.$e.err") stderr lines, expected 1"
    grep -q "^xmig tls-.*: TLS with 127\.0\.0\.1:[0-9]* in userspace: OpenSSL holds the record state, so the socket cannot be handed on; this process relays between it and $T/scmu-[AB].sock$" \
        "$T/scmu.$e.err" || note "$e: relay line: $(head -1 "$T/scmu.$e.err")"
done
verdict "--tls userspace: relayed, said in exactly one line per broker"

# ---- refusals -------------------------------------------------------------

leaf_stranger() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$T/stranger-key.pem" 2>/dev/null &&
        openssl req -new -key "$T/stranger-key.pem" -subj "/CN=stranger" \
            -out "$T/stranger.csr" 2>/dev/null &&
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' \
            >"$T/stranger.ext" &&
        openssl x509 -req -in "$T/stranger.csr" -CA "$C/other-ca.pem" \
            -CAkey "$C/other-ca-key.pem" -set_serial 0x4242 -days 30 \
            -extfile "$T/stranger.ext" -out "$T/stranger.pem" 2>/dev/null
}
leaf_stranger || note "could not make a certificate from another CA"
# The accepting end refuses the client's certificate.  Under TLS 1.3 the
# client's handshake is over before the server has checked it: the
# connecting broker learns of the refusal from the alert that follows, and
# fails then (docs/tls-broker.md).
toolstack_bg bad-A "$T/up" "$T/bad.gotdown"; apid=$TPID
toolstack_bg bad-B "$T/down" "$T/bad.gotup"; bpid=$TPID
accept_bg bad --to-unix "$T/bad-B.sock" "${SRV[@]}" 127.0.0.1:0
if [ -n "$PORT" ]; then
    timeout 60 "$XMIG" tls-connect --to-unix "$T/bad-A.sock" \
        --cert "$T/stranger.pem" --key "$T/stranger-key.pem" --ca "$C/ca.pem" \
        "127.0.0.1:$PORT" >"$T/bad.c.out" 2>"$T/bad.c.err"
    crc=$?
    reap "$APID" 30
    rc_is "$REAPED" 1 tls-accept
    rc_is "$crc" 1 tls-connect
    grep -Eq '^xmig tls-accept: TLS handshake with 127\.0\.0\.1:[0-9]+ failed: peer certificate rejected: (unable to get local issuer certificate|unable to verify the first certificate)' \
        "$T/bad.a.err" || note "tls-accept message: $(head -1 "$T/bad.a.err")"
    # The alert, or (when the relay's write meets the reset first) the reset.
    grep -Eq '^xmig tls-connect: (TLS handshake with|relay: TLS (read from|write to)) 127\.0\.0\.1:[0-9]+.*(unknown ca|bad certificate|Connection reset by peer)' \
        "$T/bad.c.err" || note "tls-connect message: $(tail -1 "$T/bad.c.err")"
else
    note "tls-accept did not listen"
fi
kill "$apid" "$bpid" 2>/dev/null; wait "$apid" "$bpid" 2>/dev/null
grep -q 'desc=' "$T/bad-B.t.err" && note "the accepting toolstack was handed something"
[ -s "$T/bad.gotdown" ] && note "the connecting toolstack received data"
verdict "a client certificate from another CA: refused by tls-accept (exit 1, nothing handed on); tls-connect exits 1"

# The connecting end refuses the server's certificate: nothing is handed on
# at either end.
toolstack_bg bads-A "$T/up" "$T/bads.gotdown"; apid=$TPID
accept_bg bads --to-unix "$T/never.sock" --cert "$T/stranger.pem" \
    --key "$T/stranger-key.pem" --ca "$C/ca.pem" 127.0.0.1:0
if [ -n "$PORT" ]; then
    timeout 60 "$XMIG" tls-connect --to-unix "$T/bads-A.sock" "${CLI[@]}" \
        "127.0.0.1:$PORT" >"$T/bads.c.out" 2>"$T/bads.c.err"
    rc_is $? 1 tls-connect
    reap "$APID" 30
    rc_is "$REAPED" 1 tls-accept
    grep -Eq '^xmig tls-connect: TLS handshake with 127\.0\.0\.1:[0-9]+ failed: peer certificate rejected: (unable to get local issuer certificate|unable to verify the first certificate)' \
        "$T/bads.c.err" || note "tls-connect message: $(tail -1 "$T/bads.c.err")"
else
    note "tls-accept did not listen"
fi
kill "$apid" 2>/dev/null; wait "$apid" 2>/dev/null
grep -q 'desc=' "$T/bads-A.t.err" && note "the connecting toolstack was handed something"
verdict "a server certificate from another CA: refused by tls-connect, exit 1, nothing handed on"

# The server's certificate does not name what the client dials.
accept_bg badname --to-unix "$T/never.sock" "${SRV[@]}" 127.0.0.1:0
timeout 60 "$XMIG" tls-connect --to-unix "$T/never.sock" "${CLI[@]}" \
    --name wrong.example "127.0.0.1:$PORT" >"$T/badname.c.out" 2>"$T/badname.c.err"
rc_is $? 1 tls-connect
reap "$APID" 30
[ "$REAPED" != 0 ] || note "tls-accept succeeded"
grep -q 'peer certificate rejected: hostname mismatch' "$T/badname.c.err" ||
    note "tls-connect message: $(head -1 "$T/badname.c.err")"
verdict "a server certificate without the name dialled: refused, exit 1"

# ---- --exec and --stdio ---------------------------------------------------

# The accepting end runs a command on the connection (as the receiving host
# would run xl migrate-receive); the connecting end is what xl migrate -s
# runs instead of ssh: sh -c "exec SSHCOMMAND HOST xl migrate-receive -e".
accept_bg exec --exec "${SRV[@]}" 127.0.0.1:0 \
    "$FAKE" --stdio "$T/down" "$T/exec.gotup"
if [ -n "$PORT" ]; then
    SSHCOMMAND="$XMIG tls-connect --stdio ${CLI[*]}"
    timeout 60 sh -c "exec $SSHCOMMAND 127.0.0.1:$PORT xl migrate-receive -e" \
        <"$T/up" >"$T/exec.gotdown" 2>"$T/exec.c.err"
    rc_is $? 0 "tls-connect --stdio"
    reap "$APID" 30
    rc_is "$REAPED" 0 "tls-accept --exec"
    same "$T/up" "$T/exec.gotup" "connecting -> command"
    same "$T/down" "$T/exec.gotdown" "command -> connecting"
    grep -q '^fake-toolstack: sent=5242880 received=8388608' "$T/exec.a.err" ||
        note "the command did not report both streams: $(cat "$T/exec.a.err")"
else
    note "tls-accept did not listen"
fi
verdict "--exec runs a command on the connection; --stdio stands in for ssh under xl migrate -s"

# The other way round: the connecting end execs, the accepting end relays
# its stdin/stdout.
STDIN_FILE=$T/down accept_bg stdio --stdio "${SRV[@]}" 127.0.0.1:0
if [ -n "$PORT" ]; then
    mv "$T/stdio.a.out" "$T/stdio.gotup"
    timeout 60 "$XMIG" tls-connect --exec "${CLI[@]}" "127.0.0.1:$PORT" \
        "$FAKE" --stdio "$T/up" "$T/stdio.gotdown" >"$T/stdio.c.out" 2>"$T/stdio.c.err"
    rc_is $? 0 "tls-connect --exec"
    reap "$APID" 30
    rc_is "$REAPED" 0 "tls-accept --stdio"
    same "$T/up" "$T/stdio.gotup" "command -> accepting"
    same "$T/down" "$T/stdio.gotdown" "accepting -> command"
else
    note "tls-accept did not listen"
fi
verdict "tls-connect --exec and tls-accept --stdio"

# xl's whole shape, with xmig at both ends of xl's migration protocol:
# the sender runs "exec SSHCOMMAND HOST xl migrate-receive -e" through sh
# (xmig migrate --exec, as xl migrate -s), the receiving broker runs
# xmig migrate-receive (xl's receiver protocol on stdin/stdout) on the
# connection.  The sim receiver prints its report on stdout, the channel,
# after the sender has stopped reading: the relay drops it, and says so.
accept_bg xl --exec "${SRV[@]}" 127.0.0.1:0 "$XMIG" migrate-receive --run 0.3
if [ -n "$PORT" ]; then
    timeout 60 "$XMIG" migrate --sim-memory 32 --warmup 0.2 --exec \
        "exec $XMIG tls-connect --stdio ${CLI[*]} 127.0.0.1:$PORT xl migrate-receive -e" \
        sim >"$T/xl.s.out" 2>"$T/xl.s.err"
    rc_is $? 0 "xmig migrate --exec (as xl migrate -s)"
    reap "$APID" 30
    rc_is "$REAPED" 0 "tls-accept --exec xmig migrate-receive"
    grep -q '^xmig migrate: .* verified' "$T/xl.s.out" ||
        note "the migration did not report a verified guest: $(tail -1 "$T/xl.s.out")"
    grep -q 'exited with status' "$T/xl.s.err" &&
        note "the sender's command failed: $(grep 'exited with' "$T/xl.s.err")"
else
    note "tls-accept did not listen"
fi
verdict "a migration in xl's protocol through the broker pair, the way xl migrate -s runs it"

# A command that fails: its exit status is the broker's.
accept_bg execfail --exec "${SRV[@]}" 127.0.0.1:0 sh -c 'exit 7'
timeout 60 "$XMIG" tls-connect --stdio "${CLI[@]}" "127.0.0.1:$PORT" \
    </dev/null >/dev/null 2>"$T/execfail.c.err"
reap "$APID" 30
rc_is "$REAPED" 7 "tls-accept --exec (sh -c 'exit 7')"
verdict "--exec passes the command's exit status on"

# A peer that ends without close_notify (a cut, or a raw kTLS holder's bare
# shutdown): the relay passes the end on, then fails naming close_notify.
# The peer is Python's ssl module: os._exit() leaves no close_notify, while
# unwrap() sends one.
peer_py() {  # peer_py PORT clean|cut
    python3 - "$C" "$1" "$2" <<'PY'
import os, socket, ssl, sys
c, port, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_cert_chain(c + "/client.pem", c + "/client-key.pem")
ctx.load_verify_locations(c + "/ca.pem")
t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                    server_hostname="localhost")
t.sendall(bytes(range(256)) * 4096)
if how == "cut":
    os._exit(0)
t.unwrap()
t.close()
PY
}
if command -v python3 >/dev/null; then
    for how in clean cut; do
        accept_bg "eof-$how" --exec "${SRV[@]}" 127.0.0.1:0 \
            sh -c "cat > '$T/eof-$how.got'"
        if [ -n "$PORT" ]; then
            timeout 30 bash -c "$(declare -f peer_py); C='$C' peer_py $PORT $how" \
                2>"$T/eof-$how.p.err" || note "$how: the Python peer failed: $(tail -1 "$T/eof-$how.p.err")"
            reap "$APID" 30
            [ "$(stat -c %s "$T/eof-$how.got" 2>/dev/null)" = 1048576 ] ||
                note "$how: the command did not get the 1 MiB sent"
            if [ $how = clean ]; then
                rc_is "$REAPED" 0 "tls-accept (peer with close_notify)"
            else
                rc_is "$REAPED" 1 "tls-accept (peer without close_notify)"
                grep -q "^xmig tls-accept: relay: TLS peer 127\.0\.0\.1:[0-9]* ended without close_notify: what it sent may be cut short" \
                    "$T/eof-$how.a.err" || note "cut: $(tail -1 "$T/eof-$how.a.err")"
            fi
        else
            note "tls-accept did not listen"
        fi
    done
    verdict "a peer ending without close_notify: the end is passed on, the relay exits 1 naming it"
else
    echo "skip close_notify cases: no python3"
fi

# ---- strict kernel TLS ----------------------------------------------------

toolstack_bg strict-B "$T/down" "$T/strict.gotup"; bpid=$TPID
accept_bg strict --to-unix "$T/strict-B.sock" "${SRV[@]}" --tls ktls 127.0.0.1:0
timeout 60 "$XMIG" tls-connect --to-unix "$T/never.sock" "${CLI[@]}" --tls ktls \
    "127.0.0.1:${PORT:-1}" >"$T/strict.c.out" 2>"$T/strict.c.err"
crc=$?
reap "$APID" 30
arc=$REAPED
kill "$bpid" 2>/dev/null; wait "$bpid" 2>/dev/null
if [ $HAVE_KTLS = 0 ]; then
    rc_is "$crc" 1 "tls-connect --tls ktls"
    rc_is "$arc" 1 "tls-accept --tls ktls"
    for e in c a; do
        grep -q -- '--tls=ktls: kernel TLS is not available: the kernel has no TLS support' \
            "$T/strict.$e.err" || note "$e: $(head -1 "$T/strict.$e.err")"
        grep -q 'relays' "$T/strict.$e.err" && note "$e: offered to relay"
    done
    grep -q 'desc=' "$T/strict-B.t.err" && note "the toolstack was handed something"
    verdict "--tls ktls without kernel TLS: both brokers fail, naming kernel TLS"
else
    echo "skip --tls ktls refusal: this kernel has TLS (tests/vm/run.sh covers it)"
fi

# ---- usage and tls-info -----------------------------------------------------

"$XMIG" tls-connect "${CLI[@]}" 127.0.0.1:1 >/dev/null 2>"$T/u1.err"
rc_is $? 2 "no hand-off"
grep -q 'one of --to-unix PATH, --exec, --stdio' "$T/u1.err" || note "no hand-off: $(head -1 "$T/u1.err")"
"$XMIG" tls-accept --exec "${SRV[@]}" 127.0.0.1:0 >/dev/null 2>"$T/u2.err"
rc_is $? 2 "--exec without a command"
"$XMIG" tls-connect --to-unix x --stdio 127.0.0.1:1 >/dev/null 2>"$T/u3.err"
rc_is $? 2 "two hand-offs"
"$XMIG" tls-connect --to-unix x 127.0.0.1:1 extra >/dev/null 2>"$T/u4.err"
rc_is $? 2 "words after HOST:PORT without --exec"
verdict "usage errors exit 2 before any connection"

line=$(grep '^kernel crypto for TLS: ' <<<"$INFO")
if [ $HAVE_KTLS = 0 ]; then
    [ "$line" = "kernel crypto for TLS: none: this kernel has no kernel TLS, so OpenSSL encrypts in userspace" ] ||
        note "tls-info: '$line'"
else
    grep -Eq '^kernel crypto for TLS: gcm\(aes\) by driver [^ ]+ \(module [^ ]+, priority [0-9]+' <<<"$line" ||
        note "tls-info: '$line'"
fi
verdict "tls-info says which kernel crypto serves kernel TLS, or that there is none"

echo "tls-broker: $pass passed, $fail failed"
[ "$fail" = 0 ]
