#!/bin/bash
# xmigd tested as a program: daemons on one machine migrating sim guests to
# each other over mutually authenticated TLS (on loopback, and between
# network namespaces joined by a veth pair), concurrent migrations through
# one daemon, the failures an operator meets (a receiver killed or cut off,
# bad certificates and pins, no room, garbage on the control socket, a full
# disk, SIGTERM mid-migration, a second daemon on the same socket or port),
# the control socket's mode; time (part 6, docs/timeouts.md): a SIGSTOPped
# receiver, silent peers, cancels, a TLS/plain mismatch, an fd-exhaustion
# flood, a killed client; and (part 7) live progress on a terminal, live
# and final job statistics, the downtime warning and the CLI's headers,
# error wording and restore's naming.
#
#   XMIG=bin/xmig XMIGD=bin/xmigd [CERTS=obj/certs] bash tests/daemon.sh
#
# CERTS is a directory made by tests/tls/make-certs.sh (copied, never
# changed; made here when unset).  DAEMON_PARTS="1 2 3 4 5 6 7" picks parts;
# DAEMON_NO_NETNS=1 takes part 2's loopback fallback without trying netns.
# Every daemon runs under timeout(1) and is stopped on exit; every wait is
# bounded.  Only loopback addresses are used and, when the sandbox allows
# them, two network namespaces this script creates (and deletes), joined by
# a veth pair with 10.200.0.1/24 and 10.200.0.2/24.  Each failure case gets
# daemons of its own, so that one crash does not spill into the next case.
#
# Cases marked "Regression test (defect N, fixed)" caught a defect of
# xmigd when they were written; the defect is described beside them.
# xverdict marks a case EXPECTED TO FAIL (none now; see 4e's known gap).
set -u
abs() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
HERE=$(cd "$(dirname "$0")" && pwd)
XMIG=$(abs "${XMIG:-bin/xmig}")
XMIGD=$(abs "${XMIGD:-bin/xmigd}")
PARTS=${DAEMON_PARTS:-1 2 3 4 5 6 7}
for f in "$XMIG" "$XMIGD"; do
    [ -x "$f" ] || { echo "daemon: missing $f" >&2; exit 1; }
done
for p in python3 openssl timeout pgrep; do
    command -v "$p" >/dev/null || { echo "daemon: needs $p" >&2; exit 1; }
done
# Unix socket paths must stay short: a directory under /tmp.
T=$(mktemp -d /tmp/xmig-daemon.XXXXXX)
DAEMON_LIFE=300          # no daemon outlives this many seconds

declare -A WPID DPID PORT   # per daemon: timeout(1)'s pid, xmigd's, its port
ALL=()                      # every timeout(1) pid started, for the cleanup
NETNS=()                    # namespaces this script created
HELPERS=()                  # relay processes

# child_of PID PARENT: PID is (still) PARENT's child, not a reused pid
child_of() { [ -n "$1" ] && [ "$(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ')" = "$2" ]; }
# signal SIG PID...: those of the pids that are still this shell's
# children, and their children (xmigd under timeout)
signal() {
    local sig=$1 p
    shift
    for p in "$@"; do
        child_of "$p" $$ && kill "-$sig" $(pgrep -P "$p") "$p" 2>/dev/null
    done
}
cleanup() {
    local p i alive
    trap '' INT TERM
    signal TERM "${ALL[@]}" "${HELPERS[@]}"
    for i in $(seq 50); do
        alive=0
        for p in "${ALL[@]}" "${HELPERS[@]}"; do child_of "$p" $$ && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    signal KILL "${ALL[@]}" "${HELPERS[@]}"
    for p in "${ALL[@]}" "${HELPERS[@]}"; do wait "$p" 2>/dev/null; done
    for p in "${NETNS[@]}"; do ip netns del "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- reporting -------------------------------------------------------------

pass=0 fail=0 issues=() xfails=() T0=$SECONDS
note() { issues+=("$*"); }
# verdict DESCRIPTION [DAEMON...]: one case done; a daemon named that died
# on its own is a failure too; on failure show the daemons' logs.
verdict() {
    local what=$1 n s
    shift
    for n in "$@"; do
        if [ -n "${WPID[$n]:-}" ] && ! child_of "${WPID[$n]}" $$; then
            wait "${WPID[$n]}" 2>/dev/null
            s=$?
            note "xmigd $n died: exit status $s$([ "$s" -gt 128 ] && echo " (signal $(kill -l $((s - 128)) 2>/dev/null))")$([ "$s" = 139 ] && echo "; a crash starting a migration is defect 1, see part 3")"
            unset "WPID[$n]" "DPID[$n]"
        fi
    done
    if [ ${#issues[@]} -eq 0 ]; then
        pass=$((pass + 1))
        echo "ok   $what ($((SECONDS - T0)) s)"
    else
        fail=$((fail + 1))
        echo "FAIL $what ($((SECONDS - T0)) s)"
        printf '       %s\n' "${issues[@]}"
        for n in "$@"; do
            [ -s "$T/$n.log" ] &&
                grep -v "warning: TLS with .* in userspace" "$T/$n.log" |
                tail -n 3 | sed "s|^|       $n.log: |"
        done
    fi
    issues=()
    T0=$SECONDS
}
# xverdict DEFECT DESCRIPTION [DAEMON...]: a case EXPECTED TO FAIL until
# the defect is fixed; it counts as a failure all the same.
xverdict() {
    local defect=$1
    shift
    [ ${#issues[@]} -gt 0 ] && xfails+=("$defect -- $1")
    verdict "$@"
}

# ---- helpers: JSON and the control socket ----------------------------------

cat > "$T/ctl.py" <<'EOF'
# ctl.py SOCKET LINE...: send each line, print each reply line.  "@BIG" is a
# 100 KiB request line; "@UID=N" (first) connects as user N.
import os, socket, sys
args = sys.argv[2:]
if args and args[0].startswith("@UID="):
    os.setgid(int(args[0][5:])); os.setuid(int(args[0][5:])); args = args[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("CONNECT-ERROR %s" % e.strerror); sys.exit(1)
f = s.makefile("rb")
for line in args:
    data = line.encode()
    if line == "@BIG":
        data = b'{"op": "list", "pad": "' + b"x" * (100 << 10) + b'"}'
    try:
        s.sendall(data + b"\n")
    except OSError:
        pass                       # the reply may be waiting all the same
    try:
        r = f.readline()
    except OSError as e:
        print("READ-ERROR %s" % e); sys.exit(1)
    if not r:
        print("EOF"); sys.exit(1)
    print(r.decode(errors="replace").rstrip("\n"))
EOF
cat > "$T/q.py" <<'EOF'
# q.py EXPR [ARG...]: evaluate EXPR on the JSON document on stdin (d) and
# the arguments (a); print it (true/false for booleans, "" for None).
import json, sys
try:
    d = json.loads(sys.stdin.readline())
except Exception:
    sys.exit(3)
a = sys.argv[2:]
def guest(name):
    return next((g for g in d.get("guests", []) if g.get("name") == name), None)
try:
    v = eval(sys.argv[1])
except Exception:
    sys.exit(4)
print("true" if v is True else "false" if v is False else "" if v is None else v)
EOF
cat > "$T/poll.py" <<'EOF'
# poll.py SOCKET SECONDS ID...: poll status every 20 ms until the migrations
# ended; print "MAXRUNNING QUEUED-SEEN-BEHIND-A-RUNNING-ONE STATES".
import json, socket, sys, time
ids = set(int(i) for i in sys.argv[3:])
end = time.time() + float(sys.argv[2])
maxrun, queued, states = 0, 0, "?"
while time.time() < end:
    try:
        s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
        s.sendall(b'{"op": "status"}\n')
        d = json.loads(s.makefile("rb").readline()); s.close()
    except Exception as e:
        states = "error: %s" % e; break
    ms = [m for m in d["migrations"] if m["migration"] in ids]
    run = sum(m["state"] == "running" for m in ms)
    maxrun = max(maxrun, run)
    if run and any(m["state"] == "queued" for m in ms):
        queued = 1
    states = ",".join(m["state"] for m in sorted(ms, key=lambda m: m["migration"]))
    if len(ms) == len(ids) and not any(m["state"] in ("queued", "running") for m in ms):
        break
    time.sleep(0.02)
print(maxrun, queued, states)
EOF
# A TCP relay that cuts the connection after LIMIT octets from the client.
cat > "$T/cut.py" <<'EOF'
# cut.py PORTFILE TARGET_PORT LIMIT: accept one connection on 127.0.0.1,
# relay it to 127.0.0.1:TARGET_PORT, close both ends once LIMIT octets
# came from the client.
import os, select, socket, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
open(sys.argv[1] + ".tmp", "w").write("%d\n" % l.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
l.settimeout(30)
c, _ = l.accept()
u = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10)
limit, up = int(sys.argv[3]), 0
while up < limit:
    r, _, _ = select.select([c, u], [], [], 30)
    if not r:
        break
    if c in r:
        b = c.recv(min(65536, limit - up))
        if not b:
            break
        u.sendall(b); up += len(b)
    if u in r:
        b = u.recv(65536)
        if not b:
            break
        c.sendall(b)
print("cut after %d octets from the client" % up, flush=True)
for s in (c, u):
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
EOF

ctl() { timeout 15 python3 "$T/ctl.py" "$@"; }
q() { python3 "$T/q.py" "$@"; }
sock() { echo "$T/$1.sock"; }
alive() { [ -n "${WPID[$1]:-}" ] && child_of "${DPID[$1]:-}" "${WPID[$1]}"; }

# list_json DAEMON: xmig list --json (empty on failure)
list_json() { timeout 10 "$XMIG" list --control "$(sock "$1")" --json 2>>"$T/cli.err"; }
# gfield DAEMON GUEST FIELD: the field of the guest in list ("" if absent)
gfield() { list_json "$1" | q 'guest(a[0])[a[1]] if guest(a[0]) else None' "$2" "$3"; }

# guest_runs DAEMON GUEST: listed as running, its heartbeat advancing
guest_runs() {
    local s h1 h2
    s=$(gfield "$1" "$2" state)
    if [ "$s" != running ]; then
        note "$2 on $1: state '${s:-absent}', expected running"
        return 1
    fi
    h1=$(gfield "$1" "$2" heartbeat)
    sleep 0.4
    h2=$(gfield "$1" "$2" heartbeat)
    if ! [ "${h1:-0}" -lt "${h2:-0}" ] 2>/dev/null; then
        note "$2 on $1: heartbeat does not advance ($h1 -> $h2)"
        return 1
    fi
}
# absent DAEMON GUEST: not listed (and the daemon answers)
absent() {
    local l
    l=$(list_json "$1")
    [ -n "$l" ] || { note "$1 does not answer list"; return 1; }
    [ -z "$(q 'guest(a[0])' "$2" <<<"$l")" ] || { note "$2 is still listed on $1"; return 1; }
}

# nothing_on DAEMON [SECONDS]: its guest list is (or becomes) empty
nothing_on() {
    local i n
    for i in $(seq $((${2:-5} * 10))); do
        n=$(list_json "$1" | q 'len(d["guests"])')
        [ "$n" = 0 ] && return 0
        alive "$1" || break
        sleep 0.1
    done
    note "$1 keeps guests (or does not answer): $(list_json "$1" | q '[g["name"] for g in d["guests"]]')"
    return 1
}

# mig_start DAEMON GUEST DEST [EXTRA-JSON]: ask for a migration; sets MID
mig_start() {
    local r
    r=$(ctl "$(sock "$1")" "{\"op\": \"migrate\", \"guest\": \"$2\", \"destination\": \"$3\"${4:-}}")
    MID=$(q 'd["migration"] if d.get("ok") else None' <<<"$r")
    [ -n "$MID" ] || note "migrate $2 on $1: $r"
    [ -n "$MID" ]
}
# mig_status DAEMON ID: the migration's status object as JSON
mig_status() {
    ctl "$(sock "$1")" "{\"op\": \"status\", \"migration\": $2}" |
        q 'json.dumps(d["status"])'
}
# mig_wait DAEMON ID SECONDS: wait for the end; prints the final state
mig_wait() {
    local i s
    for i in $(seq $(($3 * 10))); do
        s=$(mig_status "$1" "$2" | q 'd["state"]')
        case $s in
            queued | running) sleep 0.1 ;;
            "") alive "$1" || { echo "(xmigd $1 is gone)"; return; }; sleep 0.1 ;;
            *) echo "$s"; return ;;
        esac
    done
    echo "(still running after $3 s)"
}
# mig_running DAEMON ID SECONDS: wait until it runs
mig_running() {
    local i
    for i in $(seq $(($3 * 10))); do
        [ "$(mig_status "$1" "$2" | q 'd["state"]')" = running ] && return 0
        alive "$1" || break
        sleep 0.1
    done
    note "migration $2 on $1 did not start running"
    return 1
}

# ---- helpers: certificates, configuration, daemons -------------------------

P=$T/pki
mkdir -p "$P"
if [ -n "${CERTS:-}" ]; then
    cp "$CERTS"/*.pem "$CERTS"/*.sha256 "$P"/ 2>/dev/null
fi
# Each host's own certificate: loopback plus the namespace address (and a
# second loopback address for the fallback when namespaces are refused).
sh "$HERE/tls/make-certs.sh" "$P" \
    host-a "DNS:host-a,IP:127.0.0.1,IP:10.200.0.1,IP:127.0.0.2" \
    host-b "DNS:host-b,IP:127.0.0.1,IP:10.200.0.2,IP:127.0.0.3" ||
    { echo "daemon: make-certs.sh failed" >&2; exit 1; }
# A host certificate from the unrelated CA.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$P/stranger-key.pem" 2>/dev/null &&
    openssl req -new -key "$P/stranger-key.pem" -subj /CN=stranger \
        -out "$T/stranger.csr" 2>/dev/null &&
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' \
        > "$T/stranger.ext" &&
    openssl x509 -req -in "$T/stranger.csr" -CA "$P/other-ca.pem" \
        -CAkey "$P/other-ca-key.pem" -CAcreateserial -days 3650 \
        -extfile "$T/stranger.ext" -out "$P/stranger.pem" 2>/dev/null ||
    { echo "daemon: cannot make the other CA's certificate" >&2; exit 1; }
for f in ca other-ca host-a host-b server expired stranger selfsigned; do
    [ -s "$P/$f.pem" ] || { echo "daemon: missing $P/$f.pem" >&2; exit 1; }
done

# mkconf NAME LISTEN CERT [LINE...]: $T/NAME.conf, control socket $T/NAME.sock.
# A LINE setting listen, control, cert, key or ca takes the place of the
# default one (xmigd refuses a key set twice).
mkconf() {
    local n=$1 l=$2 c=$3 k
    local -A given=()
    shift 3
    for k in "$@"; do
        k=${k%%=*}
        given[${k// /}]=1
    done
    # dflt KEY VALUE: the default line, unless a LINE sets KEY
    dflt() { [ -n "${given[$1]:-}" ] || echo "$1 = $2"; }
    {
        echo "# xmigd $n (tests/daemon.sh)"
        dflt listen "$l"
        dflt control "$T/$n.sock"
        if [ -n "$c" ]; then
            dflt cert "$P/$c.pem"
            dflt key "$P/$c-key.pem"
        fi
        dflt ca "$P/ca.pem"
        printf '%s\n' "$@"
    } > "$T/$n.conf"
}

# start NAME [NETNS]: run xmigd -c $T/NAME.conf (in NETNS), wait until it
# answers ping; sets WPID, DPID and PORT for NAME.  Log: $T/NAME.log.
# With XFSZ_IGNORED=1 the daemon ignores SIGXFSZ (for a file size limit).
start() {
    local n=$1 ns=${2:-} i pre=()
    [ -n "${WPID[$n]:-}" ] && stop "$n"
    [ -n "$ns" ] && pre=(ip netns exec "$ns")
    [ -n "${XFSZ_IGNORED:-}" ] && pre+=(bash -c 'trap "" XFSZ; exec "$@"' xfsz)
    rm -f "$T/$n.port"
    "${pre[@]}" timeout -k 5 "$DAEMON_LIFE" "$XMIGD" -c "$T/$n.conf" \
        --port-file "$T/$n.port" >>"$T/$n.log" 2>&1 &
    WPID[$n]=$!
    ALL+=($!)
    DPID[$n]=
    PORT[$n]=
    for i in $(seq 100); do
        if [ -s "$T/$n.port" ] && [ -S "$T/$n.sock" ] &&
            ctl "$T/$n.sock" '{"op": "ping"}' 2>/dev/null | grep -q '"ok": true'; then
            PORT[$n]=$(cat "$T/$n.port")
            DPID[$n]=$(pgrep -P "${WPID[$n]}" | head -n 1)
            [ -n "${DPID[$n]}" ] && return 0
        fi
        child_of "${WPID[$n]}" $$ || break
        sleep 0.1
    done
    note "xmigd $n did not start: $(tail -n 2 "$T/$n.log" 2>/dev/null | tr '\n' ' ')"
    return 1
}

# stop NAME [SIGNAL] [SECONDS]: signal xmigd, wait for it (bounded, then
# SIGKILL); sets STOPPED to its exit status, STOP_MS to the time it took.
stop() {
    local n=$1 sig=${2:-TERM} secs=${3:-10} i t0
    STOPPED= STOP_MS=0
    [ -n "${WPID[$n]:-}" ] || return 0
    t0=$(date +%s%N)
    if child_of "${DPID[$n]:-}" "${WPID[$n]}"; then
        kill "-$sig" "${DPID[$n]}" 2>/dev/null
    else
        signal "$sig" "${WPID[$n]}"
    fi
    for i in $(seq $((secs * 20))); do
        child_of "${WPID[$n]}" $$ || break
        sleep 0.05
    done
    if child_of "${WPID[$n]}" $$; then
        note "xmigd $n still runs $secs s after SIG$sig"
        signal KILL "${WPID[$n]}"
    fi
    wait "${WPID[$n]}" 2>/dev/null
    STOPPED=$?
    STOP_MS=$((($(date +%s%N) - t0) / 1000000))
    unset "WPID[$n]" "DPID[$n]"
}

# cli NAME SECONDS ARGS...: xmig ARGS under timeout; sets RC, output in
# $T/NAME.out and $T/NAME.err
cli() {
    local n=$1 s=$2
    shift 2
    timeout "$s" "$XMIG" "$@" >"$T/$n.out" 2>"$T/$n.err"
    RC=$?
}
# create DAEMON GUEST [OPTIONS...]: xmig create, noted on failure
create() {
    local n=$1 g=$2
    shift 2
    cli create 10 create --control "$(sock "$n")" "$@" "$g"
    [ "$RC" = 0 ] || note "create $g on $n: exit $RC: $(cat "$T/create.err")"
}
# migrate NAME DAEMON GUEST DEST: xmig migrate (following it), 60 s at most
migrate() {
    cli "$1" 60 migrate --control "$(sock "$2")" "$3" "$4"
}

# ---- 1. two daemons on loopback, mutual TLS --------------------------------

part1() {
    local st id i
    echo "--- 1. two daemons on loopback, mutual TLS"
    mkconf a1 127.0.0.1:0 host-a
    mkconf b1 127.0.0.1:0 host-b
    start a1 && start b1
    verdict "two daemons start on loopback, each with its own config and certificate" a1 b1

    create a1 g1 --memory 64 --workload mixed
    guest_runs a1 g1
    verdict "create a sim guest on A; it runs" a1

    migrate m1 a1 g1 "127.0.0.1:${PORT[b1]}"
    [ "$RC" = 0 ] || note "migrate g1 A -> B: exit $RC: $(cat "$T/m1.err")"
    grep -q "g1 moved to 127.0.0.1:${PORT[b1]}" "$T/m1.out" ||
        note "migrate says: $(cat "$T/m1.out")"
    verdict "xmig migrate moves g1 from A to B over mutual TLS" a1 b1

    # The library's lines (here the one-line userspace-TLS fallback: this
    # kernel may lack kTLS) go through the daemon's own sink, with its
    # prefix and level, not the library's default "xmig: " on stderr.
    if grep -q "TLS with .* in userspace, not kernel" "$T/a1.log" "$T/b1.log"; then
        grep -q "^xmigd: warning: TLS with .* in userspace, not kernel" "$T/a1.log" ||
            note "A's log: $(grep "TLS with" "$T/a1.log" | head -n 1)"
    elif ! grep -q "kernel TLS" "$T/a1.log"; then
        note "A logged nothing about its TLS record layer: $(tail -n 3 "$T/a1.log")"
    fi
    grep -q "^xmig: " "$T/a1.log" "$T/b1.log" &&
        note "library lines bypassed the daemon's sink: $(grep -h "^xmig: " "$T/a1.log" "$T/b1.log" | head -n 1)"
    verdict "the library's log lines go through xmigd's sink" a1 b1

    absent a1 g1
    guest_runs b1 g1
    [ "$(gfield b1 g1 origin)" = received ] || note "g1 on B: origin '$(gfield b1 g1 origin)'"
    verdict "after it: g1 gone from A, running on B under the same name" a1 b1

    st=$(timeout 10 "$XMIG" status --control "$(sock a1)" --json 2>&1)
    id=$(q '[m["migration"] for m in d["migrations"] if m["guest"] == "g1"][-1]' <<<"$st")
    st=$(timeout 10 "$XMIG" status --control "$(sock a1)" --json "${id:-0}" 2>&1)
    [ "$(q 'd["status"]["state"]' <<<"$st")" = done ] || note "status: ${st:0:300}"
    [ "$(q 'd["status"]["stats"]["verified"]' <<<"$st")" = true ] ||
        note "stats.verified is not true"
    [ "$(q 'd["status"]["stats"]["downtime_ms"] > 0' <<<"$st")" = true ] ||
        note "stats.downtime_ms is not > 0"
    [ "$(q 'd["status"]["stats"]["bytes"] > (32 << 20) and d["status"]["stats"]["iterations"] >= 1 and len(d["status"]["stats"]["rounds"]) >= 1' <<<"$st")" = true ] ||
        note "stats: too few bytes or rounds"
    case $(q 'd["status"]["stats"]["tls_mode"]' <<<"$st") in
        userspace | ktls) ;;
        *) note "stats.tls_mode: '$(q 'd["status"]["stats"]["tls_mode"]' <<<"$st")'" ;;
    esac
    verdict "status --json has the statistics: verified, downtime_ms > 0, TLS" a1

    migrate m1b b1 g1 "127.0.0.1:${PORT[a1]}"
    [ "$RC" = 0 ] || note "migrate g1 B -> A: exit $RC: $(cat "$T/m1b.err")"
    absent b1 g1
    guest_runs a1 g1
    st=$(timeout 10 "$XMIG" status --control "$(sock b1)" --json 2>&1)
    [ "$(q 'len(d["migrations"]) == 1 and all(m["state"] == "done" and m["stats"]["verified"] and m["stats"]["downtime_ms"] > 0 for m in d["migrations"])' <<<"$st")" = true ] ||
        note "B's status: ${st:0:300}"
    verdict "and back from B to A" a1 b1

    # A received guest whose name is taken here gets a name of its own.
    # Regression test (defect 4, fixed): inbound_main
    # (xmigd/daemon_migrate.c:225-234) renames a clashing guest by writing
    # "-<next_mig+1000>" over the second half of its name, with a number
    # that does not change on a receiver, and adds it without checking
    # again: a second clash makes two guests of one name.  d_guest_find
    # then finds the first, whose memory_mib/origin get overwritten; the
    # new one shows 0 MiB and no origin, and destroy/migrate by name reach
    # only the other one.  Fix: try NAME-2, NAME-3, ... (NAME cut to fit
    # 63 octets) until d_guest_find finds none, and set memory_mib and
    # origin through the pointer d_guest_add returns.
    local l names nm
    create b1 twin --memory 16
    for i in 1 2; do
        create a1 twin --memory 16
        migrate "mtwin$i" a1 twin "127.0.0.1:${PORT[b1]}"
        [ "$RC" = 0 ] || note "migrate twin #$i: exit $RC: $(cat "$T/mtwin$i.err")"
    done
    l=$(list_json b1)
    [ "$(q 'len(d["guests"]) == 3 and len(set(g["name"] for g in d["guests"])) == 3 and sum(g["origin"] == "received" and g["memory_mib"] == 16 for g in d["guests"]) == 2' <<<"$l")" = true ] ||
        note "B lists (name, origin, MiB): $(q '[(g["name"], g["origin"], g["memory_mib"]) for g in d["guests"]]' <<<"$l")"
    names=$(q '" ".join(sorted(set(g["name"] for g in d["guests"])))' <<<"$l")
    for nm in $names; do
        timeout 10 "$XMIG" destroy --control "$(sock b1)" "$nm" 2>>"$T/cli.err" ||
            note "destroy $nm failed"
    done
    nothing_on b1 1
    verdict \
        "received guests whose name is taken get distinct names, each reachable" a1 b1

    # Mutual: a sender without a certificate of its own is refused by B.
    # (xmigd itself will not start without one: case 4c; the sender here
    # is xmig migrate with a simulated guest of its own.)
    cli manon 60 migrate --ca "$P/ca.pem" --name host-b --sim-memory 64 \
        sim "127.0.0.1:${PORT[b1]}"
    [ "$RC" = 1 ] || note "migrate without a certificate: exit $RC, expected 1"
    grep -qi "certificate" "$T/manon.err" || note "error: $(cat "$T/manon.err")"
    grep -q "incoming migration refused" "$T/b1.log" || note "B does not log the refusal"
    nothing_on b1 1
    verdict "B refuses a sender that has no certificate; it keeps nothing" b1

    # xmig certs makes what two daemons need: a CA, a certificate per host
    # naming it and its address, keys readable by root only; they then
    # migrate over mutual TLS, and the pins it printed are the ones seen.
    cli certs 60 certs --dir "$T/pki2" host-c=127.0.0.1 host-d=127.0.0.1
    [ "$RC" = 0 ] || note "xmig certs: exit $RC: $(cat "$T/certs.err")"
    [ "$(stat -c %a "$T/pki2/host-c-key.pem" 2>/dev/null)" = 600 ] ||
        note "host-c-key.pem has mode $(stat -c %a "$T/pki2/host-c-key.pem" 2>&1)"
    grep -q "host-d: .*IP:127.0.0.1" "$T/certs.out" || note "certs says: $(cat "$T/certs.out")"
    [ "$(openssl x509 -in "$T/pki2/host-d.pem" -noout -fingerprint -sha256 | sed 's/.*=//')" = \
      "$(cat "$T/pki2/host-d.sha256" 2>/dev/null)" ] || note "host-d.sha256 is not host-d.pem's pin"
    for n in c d; do
        mkconf "c$n" 127.0.0.1:0 "" "cert = $T/pki2/host-$n.pem" \
            "key = $T/pki2/host-$n-key.pem" "ca = $T/pki2/ca.pem"
    done
    start cc && start cd
    create cc gc --memory 64
    migrate mcd cc gc "127.0.0.1:${PORT[cd]}"
    [ "$RC" = 0 ] || note "migrate with xmig certs' PKI: exit $RC: $(cat "$T/mcd.err")"
    guest_runs cd gc
    verdict "xmig certs: a CA and two hosts' certificates; their daemons migrate over mutual TLS" cc cd
    stop cc
    stop cd

    # Type=notify: with NOTIFY_SOCKET set, xmigd sends READY=1 once it
    # listens (the systemd unit relies on it).
    mkconf nfy 127.0.0.1:0 host-a
    r=$(timeout 30 python3 - "$XMIGD" "$T/nfy.conf" "$T/notify.sock" <<'PY'
import os, socket, subprocess, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[3])
s.settimeout(15)
env = dict(os.environ, NOTIFY_SOCKET=sys.argv[3])
p = subprocess.Popen([sys.argv[1], "-c", sys.argv[2]], env=env,
                     stderr=subprocess.DEVNULL)
try:
    print(s.recv(256).decode())
except socket.timeout:
    print("timeout")
p.terminate()
p.wait(10)
PY
)
    [ "$r" = "READY=1" ] || note "NOTIFY_SOCKET got: $r"
    verdict "xmigd tells systemd READY=1 (Type=notify) once it listens"

    # 5. The control socket: mode 0600, and refused to other users.
    echo "--- 5. the control socket"
    local n m r
    for n in a1 b1; do
        m=$(stat -c %a "$(sock $n)" 2>/dev/null)
        [ -S "$(sock $n)" ] || note "$(sock $n) is not a socket"
        [ "$m" = 600 ] || note "$n's control socket has mode ${m:-?}, expected 600"
    done
    if [ "$(id -u)" = 0 ]; then
        # Let others through $T for a moment: the socket's mode must refuse.
        chmod 711 "$T"
        r=$(ctl "$(sock a1)" @UID=65534 '{"op": "list"}')
        chmod 700 "$T"
        case $r in
            "CONNECT-ERROR Permission denied") ;;
            *) note "user 65534 on the control socket: $r" ;;
        esac
    fi
    verdict "control sockets are created with mode 0600; another user is refused" a1 b1
    if [ "$(id -u)" = 0 ]; then
        # Past the socket's mode (opened up here on purpose): the daemon's
        # own check refuses the peer, and says so in its log.
        chmod 711 "$T"
        chmod 666 "$(sock a1)"
        r=$(ctl "$(sock a1)" @UID=65534 '{"op": "list"}')
        chmod 600 "$(sock a1)"
        chmod 700 "$T"
        [ "$(q 'd["error"]' <<<"$r")" = "permission denied" ] ||
            note "user 65534 past the mode: $r"
        grep -q "control: refused a client of uid 65534" "$T/a1.log" ||
            note "the refusal is not logged: $(tail -n 2 "$T/a1.log")"
        verdict "a refused control client is logged with its uid" a1
    fi
    stop a1
    stop b1
}

# ---- 2. several hosts: network namespaces ----------------------------------

part2() {
    local NS_A=xmig-a-$$ NS_B=xmig-b-$$ VA=xmva$$ VB=xmvb$$ netns_ok=0
    local IP_A IP_B IN_A IN_B where st
    echo "--- 2. several hosts on one machine"
    if [ -z "${DAEMON_NO_NETNS:-}" ] && ip netns add "$NS_A" 2>/dev/null; then
        NETNS+=("$NS_A")
        if ip netns add "$NS_B" 2>/dev/null; then
            NETNS+=("$NS_B")
            ip link add "$VA" netns "$NS_A" type veth peer name "$VB" netns "$NS_B" 2>/dev/null &&
                ip -n "$NS_A" addr add 10.200.0.1/24 dev "$VA" &&
                ip -n "$NS_B" addr add 10.200.0.2/24 dev "$VB" &&
                ip -n "$NS_A" link set lo up && ip -n "$NS_B" link set lo up &&
                ip -n "$NS_A" link set "$VA" up && ip -n "$NS_B" link set "$VB" up &&
                netns_ok=1
        fi
    fi
    if [ "$netns_ok" = 1 ]; then
        IP_A=10.200.0.1 IP_B=10.200.0.2 IN_A=$NS_A IN_B=$NS_B
        where="in network namespaces $NS_A ($IP_A) and $NS_B ($IP_B)"
    else
        echo "SKIPPED (netns not available): part 2 runs on loopback, 127.0.0.2 and 127.0.0.3"
        IP_A=127.0.0.2 IP_B=127.0.0.3 IN_A= IN_B=
        where="on loopback addresses 127.0.0.2 and 127.0.0.3"
    fi

    mkconf na "$IP_A:0" host-a
    mkconf nb "$IP_B:0" host-b
    start na "$IN_A" && start nb "$IN_B"
    verdict "two daemons $where" na nb

    if [ "$netns_ok" = 1 ]; then
        # Separate stacks: the addresses and listeners live in the
        # namespaces only.
        ip -o addr show | grep -q "10\.200\.0\." &&
            note "10.200.0.x is configured outside the namespaces"
        ip netns exec "$NS_B" ss -ltn | grep -q "$IP_B:${PORT[nb]}" ||
            note "B does not listen inside $NS_B"
        ss -ltn | grep -q "$IP_B:${PORT[nb]}" && note "B's listener is visible outside"
        verdict "the namespaces hold the addresses and the listeners"
    fi

    create na n1 --memory 64 --workload mixed
    migrate mn na n1 "$IP_B:${PORT[nb]}"
    [ "$RC" = 0 ] || note "migrate n1 A -> B: exit $RC: $(cat "$T/mn.err")"
    absent na n1
    guest_runs nb n1
    st=$(timeout 10 "$XMIG" status --control "$(sock na)" --json 2>&1)
    [ "$(q 'd["migrations"][-1]["state"] == "done" and d["migrations"][-1]["stats"]["verified"] and d["migrations"][-1]["stats"]["downtime_ms"] > 0' <<<"$st")" = true ] ||
        note "status: ${st:0:300}"
    verdict "A migrates n1 to B at $IP_B over mutual TLS" na nb

    migrate mnb nb n1 "$IP_A:${PORT[na]}"
    [ "$RC" = 0 ] || note "migrate n1 B -> A: exit $RC: $(cat "$T/mnb.err")"
    absent nb n1
    guest_runs na n1
    verdict "and B migrates it back to A at $IP_A" na nb

    # B's certificate must name B's address: one for 127.0.0.1 only fails.
    mkconf nbad "$IP_B:0" server
    start nbad "$IN_B"
    migrate mnbad na n1 "$IP_B:${PORT[nbad]}"
    [ "$RC" = 1 ] || note "migrate to a misnamed B: exit $RC, expected 1"
    grep -q "$IP_B" "$T/mnbad.err" && grep -qiE "name|match" "$T/mnbad.err" ||
        note "error: $(cat "$T/mnbad.err")"
    guest_runs na n1
    nothing_on nbad
    verdict "a destination whose certificate does not name $IP_B is refused" na nbad
    stop nbad
    stop na
    stop nb
}

# ---- 3. concurrent migrations through one daemon ---------------------------

# concurrent NAME PARALLEL DEST: three guests migrated at once from a new
# daemon with max_parallel_per_link = PARALLEL to DEST (a daemon); sets
# MAXRUN, QUEUED and ENDS from polling status.  At 15 MiB/s each takes ~3 s,
# long enough to overlap even when starting them is slow (a loaded host).
concurrent() {
    local n=$1 par=$2 b=$3 g ids=() r
    MAXRUN=0 QUEUED=0 ENDS=
    mkconf "$n" 127.0.0.1:0 host-a "max_parallel_per_link = $par"
    start "$n" || return
    for g in 1 2 3; do create "$n" "$n-$g" --memory 64; done
    for g in 1 2 3; do
        mig_start "$n" "$n-$g" "127.0.0.1:${PORT[$b]}" ', "bandwidth_mib": 15' &&
            ids+=("$MID")
    done
    r=$(timeout 60 python3 "$T/poll.py" "$(sock "$n")" 45 "${ids[@]}")
    read -r MAXRUN QUEUED ENDS <<<"$r"
    [ "$ENDS" = done,done,done ] || note "the migrations ended: ${ENDS:-?} (poll: $r)"
    for g in 1 2 3; do
        absent "$n" "$n-$g"
        guest_runs "$b" "$n-$g"
    done
}

part3() {
    local g ids i s
    echo "--- 3. concurrent migrations"
    mkconf b3 127.0.0.1:0 host-b
    start b3
    concurrent p1 1 b3
    [ "$MAXRUN" = 1 ] || note "max_parallel_per_link = 1, yet $MAXRUN ran at once"
    [ "$QUEUED" = 1 ] || note "no migration was seen queued behind a running one"
    verdict "max_parallel_per_link = 1: three migrations run one after another, all done" p1 b3
    concurrent p3 3 b3
    [ "${MAXRUN:-0}" -ge 2 ] || note "max_parallel_per_link = 3, yet at most $MAXRUN ran at once"
    verdict "max_parallel_per_link = 3: three migrations overlap ($MAXRUN at once), all done" p3 b3
    stop p1
    stop p3

    # Many migrations started back to back, both ways: no daemon crashes.
    # Regression test (defect 1, fixed): d_migrate_start
    # (xmigd/daemon_migrate.c:174-185) starts outgoing_main with a job
    # whose d and m it fills in only after pthread_create returns; the
    # thread may read them first (uninitialised malloc memory) and crash
    # in pthread_mutex_lock (daemon_migrate.c:94).  Fix: set j->d and j->m
    # before pthread_create.
    mkconf r3 127.0.0.1:0 host-a "max_parallel_per_link = 4"
    start r3
    ids=()
    for g in 1 2 3 4 5 6; do create r3 "r-$g" --memory 16; done
    for g in 1 2 3 4 5 6; do
        mig_start r3 "r-$g" "127.0.0.1:${PORT[b3]}" && ids+=("$MID")
    done
    s=$(timeout 60 python3 "$T/poll.py" "$(sock r3)" 45 "${ids[@]}")
    [ "${s#* * }" = done,done,done,done,done,done ] || note "r3 -> b3: $s"
    ids=()
    for g in 1 2 3 4 5 6; do
        mig_start b3 "r-$g" "127.0.0.1:${PORT[r3]}" && ids+=("$MID")
    done
    s=$(timeout 60 python3 "$T/poll.py" "$(sock b3)" 45 "${ids[@]}")
    [ "${s#* * }" = done,done,done,done,done,done ] || note "b3 -> r3: $s"
    for g in 1 2 3 4 5 6; do absent b3 "r-$g"; done
    guest_runs r3 r-6
    verdict \
        "twelve migrations started back to back, both ways: all done, no crash" r3 b3
    stop r3
    stop b3
}

# ---- 4. failures -------------------------------------------------------------

# src NAME [LINE...]: a fresh source daemon (host-a) with a 64 MiB guest "vm"
src() {
    local n=$1
    shift
    mkconf "$n" 127.0.0.1:0 host-a "$@"
    start "$n" && create "$n" vm --memory 64
}
# dst NAME CERT [LINE...]: a fresh destination daemon
dst() {
    local n=$1 c=$2
    shift 2
    mkconf "$n" 127.0.0.1:0 "$c" "$@"
    start "$n"
}
# refused NAME SRC DST REGEX: migrating vm from SRC to DST fails (exit 1)
# with an error matching REGEX; vm runs on at SRC, DST keeps nothing.
refused() {
    local n=$1 s=$2 d=$3 re=$4
    migrate "$n" "$s" vm "127.0.0.1:${PORT[$d]}"
    [ "$RC" = 1 ] || note "xmig migrate: exit $RC, expected 1"
    grep -qiE "$re" "$T/$n.err" || note "error: $(cat "$T/$n.err")"
    guest_runs "$s" vm
    nothing_on "$d"
}

part4() {
    local s e r i line rc
    echo "--- 4. failures"

    # 4a. The receiver is killed (SIGKILL) in the middle of the stream.
    src fa
    create fa big --memory 128 --vcpus 1 --workload stress
    dst fb host-b
    if mig_start fa big "127.0.0.1:${PORT[fb]}" ', "bandwidth_mib": 16' &&
        mig_running fa "$MID" 10; then
        sleep 1.5
        stop fb KILL 5
        s=$(mig_wait fa "$MID" 20)
        [ "$s" = failed ] || note "the migration ended '$s', expected failed"
        e=$(mig_status fa "$MID" | q 'd["error"]')
        grep -qiE "closed|reset|broken pipe|connection" <<<"$e" &&
            grep -q "runs on at the source" <<<"$e" || note "error: $e"
    fi
    guest_runs fa big
    start fb
    nothing_on fb
    migrate mbig fa big "127.0.0.1:${PORT[fb]}"
    [ "$RC" = 0 ] || note "the guest does not migrate afterwards: $(cat "$T/mbig.err")"
    guest_runs fb big
    verdict "receiver killed mid-stream: clear error, the guest runs on at A and migrates later" fa fb
    stop fa
    stop fb

    # 4b. The connection is cut after 4 MiB by a relay in between.
    src ca
    dst cb host-b
    rm -f "$T/cut.port"
    timeout 60 python3 "$T/cut.py" "$T/cut.port" "${PORT[cb]}" $((4 << 20)) \
        >"$T/cut.log" 2>&1 &
    HELPERS+=($!)
    for i in $(seq 50); do [ -s "$T/cut.port" ] && break; sleep 0.1; done
    migrate mcut ca vm "127.0.0.1:$(cat "$T/cut.port" 2>/dev/null)"
    [ "$RC" = 1 ] || note "migrate through the cutting relay: exit $RC, expected 1"
    grep -qiE "closed|reset|broken pipe|connection" "$T/mcut.err" &&
        grep -q "runs on at the source" "$T/mcut.err" || note "error: $(cat "$T/mcut.err")"
    grep -q "cut after 4194304 octets" "$T/cut.log" || note "relay: $(cat "$T/cut.log")"
    guest_runs ca vm
    nothing_on cb
    grep -q "incoming migration failed, nothing kept" "$T/cb.log" ||
        note "B does not log the dropped migration"
    verdict "connection cut mid-stream: clear error, the guest runs on at A, nothing on B" ca cb
    stop ca
    stop cb

    # 4c. Certificates.
    # xmigd checks its own TLS settings when it starts, not at the first
    # incoming migration: each bad setting stops it with exit 1 and a line
    # naming the file and what is wrong.  (A peer's expired certificate at
    # handshake time is tests/tls.sh's.)
    local bad
    for bad in \
        "expired||has expired; make a new one (xmig certs)" \
        "host-a|key = $P/host-b-key.pem|does not belong to the certificate" \
        "host-a|cert = $T/no-such.pem|no-such.pem: No such file or directory" \
        "host-a|cert = $P/host-a-key.pem|no PEM certificate in it" \
        "|tls = auto|needs this host's certificate and key" \
        "host-a|ca = $T/no-such-ca.pem|no-such-ca.pem: No such file or directory"; do
        IFS='|' read -r cert line want <<<"$bad"
        mkconf tbad 127.0.0.1:0 "$cert" ${line:+"$line"}
        timeout 20 "$XMIGD" -c "$T/tbad.conf" >"$T/tbad.out" 2>&1
        RC=$?
        [ "$RC" = 1 ] && grep -qF "$want" "$T/tbad.out" ||
            note "cert '$cert', '$line': exit $RC, expected 1 and '$want': $(head -c 300 "$T/tbad.out")"
    done
    verdict "xmigd refuses to start with bad TLS settings (expired, foreign key, missing or non-PEM files, no certificate), naming each" 
    src ta
    dst toca stranger
    refused moca ta toca "certificate verify failed|unable to get local issuer|unknown ca"
    verdict "B with a certificate from another CA: refused, clear error" ta toca
    stop toca
    dst ttrust host-b "ca = $P/other-ca.pem"
    refused mtrust ta ttrust "certificate|unknown ca|alert"
    grep -q "incoming migration refused" "$T/ttrust.log" || note "B does not log the refusal"
    verdict "B that does not trust A's CA: refused, clear error on both sides" ta ttrust
    stop ttrust
    stop ta

    # 4d. A pins a certificate that is not B's (and then B's).
    src pa "pin = $(cat "$P/selfsigned.sha256")"
    dst pb host-b
    refused mpin pa pb "not pinned"
    verdict "A with a pin that does not match B: refused, 'not pinned'" pa pb
    stop pa
    src pa2 "pin = $(cat "$P/host-b.sha256")"
    migrate mpin2 pa2 vm "127.0.0.1:${PORT[pb]}"
    [ "$RC" = 0 ] || note "exit $RC: $(cat "$T/mpin2.err")"
    guest_runs pb vm
    verdict "A with B's pin: the migration goes through" pa2 pb
    stop pa2
    stop pb

    # 4e. No room at the destination.  The receiver refuses in
    # on_xl_header (libxmig/migrate_recv.c) and, before it hangs up, says
    # why on the channel back (session_send_refusal); the sender reads it
    # when its writes fail (session_take_refusal).  (Defect 2, fixed: the
    # source used to see only "Broken pipe".)
    src ra
    dst rb host-b "max_memory_mib = 32"
    refused mroom ra rb "guest runs on at the source: the destination refused the guest: no room here for the guest: it needs 64 MiB, this host takes at most 32 MiB"
    verdict "B with max_memory_mib = 32 < 64: refused, the source keeps the guest and says why" ra rb
    grep -q "no room here for the guest: it needs 64 MiB, this host takes at most 32 MiB" \
        "$T/rb.log" || note "B's log: $(tail -n 1 "$T/rb.log")"
    verdict "B logs 'no room here' and keeps nothing" rb
    stop ra
    stop rb

    # 4f. Garbage on the control socket: each line an error reply, then
    # service as usual, on the same connection and on new ones.
    src ga
    local garbage=('hello, world' '[1, 2, 3]' '"a string"' '42' 'null'
        '{"op": "frobnicate"}' '{"op": "migrate", "guest": "vm"}'
        '{"op": "migrate", "destination": "127.0.0.1:1"}' '{"op": "create"}'
        '{"op": "cancel"}' '{}' '{"op": 7}' '{"op": "ping"} trailing'
        '{"op": "list"' '{"op": "create", "name": "../../etc"}')
    r=$(ctl "$(sock ga)" "${garbage[@]}" '{"op": "ping"}')
    i=0
    while IFS= read -r line; do
        if [ "$i" -lt "${#garbage[@]}" ]; then
            [ "$(q 'd["ok"] is False and isinstance(d["error"], str) and len(d["error"]) > 0' <<<"$line")" = true ] ||
                note "'${garbage[$i]}' -> $line"
        else
            [ "$(q 'd["ok"]' <<<"$line")" = true ] || note "ping after the garbage: $line"
        fi
        i=$((i + 1))
    done <<<"$r"
    [ "$i" = $((${#garbage[@]} + 1)) ] || note "$i replies for $((${#garbage[@]} + 1)) lines: $r"
    r=$(ctl "$(sock ga)" @BIG)
    [ "$(q 'd["ok"] is False and len(d["error"]) > 0' <<<"$r")" = true ] ||
        note "100 KiB line -> ${r:0:200}"
    r=$(ctl "$(sock ga)" '{"op": "ping"}')
    [ "$(q 'd["ok"]' <<<"$r")" = true ] || note "ping on a new connection: $r"
    guest_runs ga vm
    verdict "control-socket garbage: each line gets {ok: false, error}; the daemon serves on" ga

    # 4f'. Requests are checked before anything is done, by one parser
    # (jansson) and one table per op: NUL inside a string, duplicate keys,
    # wrong types, numbers out of range, unknown members and TLS modes are
    # each refused with a reason naming them, and vm is not touched.
    # Regression test: the hand-written reader took "vm\u0000x" as "vm"
    # and let the first of two duplicate keys win.
    local strict=(
        '{"op": "destroy", "guest": "vm\u0000x"}|u0000 is not allowed'
        '{"op": "destroy", "guest": "nope", "guest": "vm"}|duplicate object key'
        '{"op": "create", "name": "x", "memory_mib": "64"}|"memory_mib" must be a whole number from 1 to'
        '{"op": "create", "name": "x", "memory_mib": 99999999999}|"memory_mib" must be a whole number from 1 to'
        '{"op": "create", "name": "x", "memory_mib": -5}|"memory_mib" must be a whole number'
        '{"op": "create", "name": "x", "memory_mib": 1.5}|"memory_mib" must be a whole number'
        '{"op": "create", "name": "x", "vcpus": 0}|"vcpus" must be a whole number from 1 to 128'
        '{"op": "migrate", "guest": "vm", "destination": "127.0.0.1:1", "tls": "bogus"}|TLS mode '"'"'bogus'"'"' is not auto, ktls, userspace or none'
        '{"op": "migrate", "guest": "vm", "destination": "127.0.0.1:1", "verify": "yes"}|"verify" must be true or false'
        '{"op": "list", "extra": 1}|unknown member "extra" in a list request'
        '{"op": "status", "migration": 4294967296}|"migration" must be a whole number'
        '{"op": "save", "guest": "vm"}|"path" is missing in a save request'
        # Regression tests: a destination without a port (or with one that
        # wraps, or none at all after the colon) was taken and failed, or
        # dialled some other port, later; control characters reached
        # names, paths and the log.
        '{"op": "migrate", "guest": "vm", "destination": "127.0.0.1"}|in a migrate request, "destination" '"'"'127.0.0.1'"'"' has no port: give HOST:PORT, the port a number from 1 to 65535'
        '{"op": "migrate", "guest": "vm", "destination": "127.0.0.1:99999"}|in a migrate request, "destination" '"'"'127.0.0.1:99999'"'"': the port '"'"'99999'"'"' is not a number from 1 to 65535'
        '{"op": "migrate", "guest": "vm", "destination": "127.0.0.1:65536"}|in a migrate request, "destination" '"'"'127.0.0.1:65536'"'"': the port '"'"'65536'"'"' is not a number from 1 to 65535'
        '{"op": "migrate", "guest": "vm", "destination": "127.0.0.1:0"}|in a migrate request, "destination" '"'"'127.0.0.1:0'"'"': the port '"'"'0'"'"' is not a number from 1 to 65535'
        '{"op": "migrate", "guest": "vm", "destination": "127.0.0.1:"}|in a migrate request, "destination" '"'"'127.0.0.1:'"'"': the port '"'"''"'"' is not a number from 1 to 65535'
        '{"op": "migrate", "guest": "vm", "destination": "fe80::1"}|in a migrate request, "destination" '"'"'fe80::1'"'"': an IPv6 address goes in brackets, [ADDR]:PORT'
        '{"op": "destroy", "guest": "v\u0001m"}|"guest" must not hold control characters (U+0001 at octet 1) in a destroy request'
        '{"op": "save", "guest": "vm", "path": "/tmp/a\nb"}|"path" must not hold control characters (U+000A at octet 6) in a save request'
        '{"op": "create", "name": "x\u0085"}|"name" must not hold control characters (U+0085 at octet 1) in a create request')
    local lines=() want=()
    for i in "${strict[@]}"; do lines+=("${i%%|*}"); want+=("${i#*|}"); done
    r=$(ctl "$(sock ga)" "${lines[@]}")
    i=0
    while IFS= read -r line; do
        [ "$(q 'd["ok"] is False and a[0] in d["error"]' "${want[$i]:-}" <<<"$line")" = true ] ||
            note "'${lines[$i]:-?}' -> $line (expected '${want[$i]:-?}')"
        i=$((i + 1))
    done <<<"$r"
    [ "$i" = "${#lines[@]}" ] || note "$i replies for ${#lines[@]} requests"
    guest_runs ga vm
    grep -q "control request refused: bad JSON at octet [0-9]*: duplicate object key" "$T/ga.log" ||
        note "ga's log does not name the refused request"
    verdict "control requests: NUL, duplicate keys, types, ranges, unknown members, TLS modes, destinations without a valid port and control characters refused with the reason; vm untouched" ga
    stop ga

    # 4g. A full disk while saving: nothing left under the final name.
    mkdir -p "$T/full"
    (
        trap '' XFSZ
        ulimit -f 64    # 64 blocks of 512 octets
        exec timeout 30 "$XMIG" sample --pages 2000 "$T/full/s.xl"
    ) >"$T/full.out" 2>"$T/full.err"
    rc=$?
    [ "$rc" = 1 ] || note "sample on a full disk: exit $rc, expected 1"
    grep -q "File too large\|No space left" "$T/full.err" || note "error: $(cat "$T/full.err")"
    [ -z "$(ls -A "$T/full")" ] || note "left behind: $(ls -A "$T/full")"
    verdict "xmig sample on a full disk: clear error, no file left"
    if timeout 5 "$XMIG" save --help >/dev/null 2>&1; then
        (
            trap '' XFSZ
            ulimit -f 64
            exec timeout 60 "$XMIG" save sim "$T/full/sim.xl"
        ) >"$T/full.out" 2>"$T/full.err"
        rc=$?
        [ "$rc" = 1 ] || note "save sim on a full disk: exit $rc, expected 1"
        grep -q "File too large\|No space left" "$T/full.err" || note "error: $(cat "$T/full.err")"
        [ -z "$(ls -A "$T/full")" ] || note "left behind: $(ls -A "$T/full")"
        verdict "xmig save sim on a full disk: clear error, no file left"
        # The daemon writes a daemon guest's file.  Its guest RAM is a
        # memfd (ftruncate obeys RLIMIT_FSIZE too), so the limit comes
        # once the guest runs: prlimit on the daemon, SIGXFSZ ignored.
        mkconf sa 127.0.0.1:0 host-a
        XFSZ_IGNORED=1 start sa && create sa vm --memory 64
        python3 -c 'import resource, sys; resource.prlimit(int(sys.argv[1]), resource.RLIMIT_FSIZE, (32768, 32768))' \
            "${DPID[sa]:-0}" || note "cannot limit the daemon's file size"
        cli save 60 save --control "$(sock sa)" vm "$T/full/d.xl"
        [ "$RC" = 1 ] || note "save on a full disk: exit $RC, expected 1"
        grep -q "File too large\|No space left" "$T/save.err" || note "error: $(cat "$T/save.err")"
        [ -z "$(ls -A "$T/full")" ] || note "left behind: $(ls -A "$T/full")"
        guest_runs sa vm
        verdict "xmig save of a daemon guest on a full disk: clear error, the guest runs on, no file" sa
        stop sa
    else
        echo "SKIPPED (no xmig save): saving a daemon guest to a full disk"
    fi

    # 4h. SIGTERM of A during an outgoing migration.
    src ka
    create ka leaving --memory 128 --vcpus 1 --workload stress
    dst kb host-b
    if mig_start ka leaving "127.0.0.1:${PORT[kb]}" ', "bandwidth_mib": 16' &&
        mig_running ka "$MID" 10; then
        sleep 1
        stop ka TERM 10
        [ "$STOPPED" = 0 ] || note "xmigd exited $STOPPED after SIGTERM, expected 0"
        [ "$STOP_MS" -lt 5000 ] || note "it took $STOP_MS ms to stop"
        grep -q "stopping: cancelling migrations in flight" "$T/ka.log" &&
            grep -q "migration $MID of leaving .*cancelled" "$T/ka.log" ||
            note "log: $(tail -n 3 "$T/ka.log" | tr '\n' ' ')"
        [ ! -e "$(sock ka)" ] || note "the control socket is left behind"
        nothing_on kb
    fi
    verdict "SIGTERM during an outgoing migration: exit 0 soon, the log says cancelled" ka kb
    stop ka
    stop kb

    # 4i. A second daemon on the same port, then on the same control socket.
    mkconf e 127.0.0.1:0 host-a
    start e
    mkconf e-port "127.0.0.1:${PORT[e]:-1}" host-a
    timeout 5 "$XMIGD" -c "$T/e-port.conf" >"$T/e-port.log" 2>&1
    rc=$?
    [ "$rc" = 1 ] || note "exit $rc, expected 1"
    grep -q "cannot listen on 127.0.0.1:${PORT[e]:-1}: Address already in use" "$T/e-port.log" ||
        note "error: $(cat "$T/e-port.log")"
    [ ! -e "$(sock e-port)" ] || note "it left a control socket"
    [ "$(ctl "$(sock e)" '{"op": "ping"}' | q 'd["ok"]')" = true ] ||
        note "the first daemon stopped answering"
    verdict "a second daemon on the same port fails with a clear error" e
    # Regression test (defect 3, fixed): control_socket()
    # (xmigd/xmigd.c:48) unlinks whatever is at the control path and binds
    # its own socket, so a second daemon takes the path over (and removes
    # it when it exits, xmigd.c:167), leaving the first one running with
    # its guests but unreachable.  Fix: before unlink(), connect() to the
    # path; if that succeeds fail with "control socket PATH: another xmigd
    # is serving it"; unlink only a stale socket (ECONNREFUSED); at exit,
    # unlink only if the path is still this daemon's socket (same st_ino).
    mkconf e-ctl 127.0.0.1:0 host-a "control = $T/e.sock"
    timeout 5 "$XMIGD" -c "$T/e-ctl.conf" >"$T/e-ctl.log" 2>&1
    rc=$?
    [ "$rc" = 1 ] || note "exit $rc, expected 1 (124: it ran, owning the socket)"
    grep -qiE "control socket.*(in use|another|already|running)" "$T/e-ctl.log" ||
        note "error: $(tr '\n' ' ' < "$T/e-ctl.log")"
    [ "$(ctl "$(sock e)" '{"op": "ping"}' | q 'd["listen_port"]')" = "${PORT[e]:-}" ] ||
        note "the first daemon no longer answers on $(sock e)"
    verdict \
        "a second daemon on the same control socket fails with a clear error" e
    stop e

    # 4j. backend = xen off Xen: the daemon starts (it may be configured
    # before the host boots Xen), and a migration of a domain fails at once
    # naming the missing hypervisor; an unknown backend is refused.
    mkconf xb 127.0.0.1:0 host-a "backend = xen"
    start xb
    cli xm 30 migrate --control "$(sock xb)" pvh1 "127.0.0.1:1"
    [ "$RC" != 0 ] || note "migrating a domain off Xen: exit 0"
    grep -q "no Xen hypervisor here\|built without Xen support" "$T/xm.err" ||
        note "error: $(tr '\n' ' ' < "$T/xm.err")"
    [ "$(ctl "$(sock xb)" '{"op": "ping"}' | q 'd["ok"]')" = true ] ||
        note "the daemon stopped answering"
    verdict "backend = xen off Xen: a migration fails naming the missing hypervisor" xb
    stop xb
    mkconf xk 127.0.0.1:0 host-a "backend = kvm"
    timeout 5 "$XMIGD" -c "$T/xk.conf" >"$T/xk.log" 2>&1
    rc=$?
    [ "$rc" = 2 ] || note "backend = kvm: exit $rc, expected 2 (configuration)"
    grep -q "backend 'sim' or 'xen'" "$T/xk.log" ||
        note "error: $(cat "$T/xk.log")"
    verdict "backend = kvm is refused with a clear error"

    # Every value of xmigd.conf is checked when it is read: each bad line
    # stops xmigd (exit 2) with FILE:LINE and the rule, nothing truncated
    # or guessed.  Regression test: 'max_memory_mib = lots' read as 0 (no
    # limit) and a 300-octet path was cut short silently.
    local long
    long=$(printf '/x%.0s' $(seq 150))
    for bad in "max_memory_mib = lots|max_memory_mib must be a whole number of MiB" \
        "max_memory_mib = -1|max_memory_mib must be a whole number of MiB" \
        "max_parallel_per_link = 0|max_parallel_per_link must be a whole number from 1" \
        "insecure = maybe|insecure is yes or no, not 'maybe'" \
        "log = journal|log is stderr or syslog, not 'journal'" \
        "tls = sometimes|TLS mode 'sometimes' is not auto, ktls, userspace or none" \
        "cert = $long|cert is 300 octets long, at most 255" \
        "no equals sign|expected 'key = value'" \
        "colour = blue|unknown setting 'colour'" \
        "listen = 127.0.0.1:99999|listen '127.0.0.1:99999': the port '99999' is not a number from 0 (any free port) to 65535" \
        "listen = 127.0.0.1:65536|listen '127.0.0.1:65536': the port '65536' is not a number from 0 (any free port) to 65535" \
        "listen = 127.0.0.1:|listen '127.0.0.1:': the port '' is not a number from 0 (any free port) to 65535" \
        "listen = 127.0.0.1:0x50|listen '127.0.0.1:0x50': the port '0x50' is not a number from 0 (any free port) to 65535" \
        "listen = 127.0.0.1|listen '127.0.0.1' has no port: give HOST:PORT, the port a number from 0 (any free port) to 65535" \
        "listen = fe80::1|listen 'fe80::1': an IPv6 address goes in brackets, [ADDR]:PORT" \
        "pin = 12:34|pin '12:34' is not a SHA-256 fingerprint (64 hex digits, ':' allowed)" \
        "peer_name = a"$'\xff'"b|peer name: octet 1 is 0xff; a peer name is a DNS name or an IP address in printable ASCII without spaces" \
        "peer_name = a"$'\x01'"b|peer name: octet 1 is 0x01" \
        "peer_name = host a|peer name: octet 4 is 0x20"; do
        mkconf badc 127.0.0.1:0 host-a "${bad%%|*}"
        timeout 5 "$XMIGD" -c "$T/badc.conf" >"$T/badc.log" 2>&1
        rc=$?
        [ "$rc" = 2 ] && grep -qF "badc.conf:" "$T/badc.log" &&
            grep -qF "${bad#*|}" "$T/badc.log" ||
            note "'${bad%%|*}': exit $rc, expected 2 and '${bad#*|}': $(head -c 200 "$T/badc.log")"
    done
    mkconf badc 127.0.0.1:0 host-a $(for i in $(seq 9); do echo "pin=$(cat "$P/host-b.sha256")"; done)
    timeout 5 "$XMIGD" -c "$T/badc.conf" >"$T/badc.log" 2>&1
    rc=$?
    [ "$rc" = 2 ] && grep -q "more than 8 pins" "$T/badc.log" || note "nine pins: exit $rc: $(cat "$T/badc.log")"
    # Regression test: a key set twice was taken, the later one winning
    # (which one did the operator mean?).  Refused, naming both lines;
    # only pin repeats (the nine pins above got as far as the cap).
    mkconf badc 127.0.0.1:0 host-a "max_parallel_per_link = 2" \
        "io_timeout = 5" "max_parallel_per_link = 3"
    timeout 5 "$XMIGD" -c "$T/badc.conf" >"$T/badc.log" 2>&1
    rc=$?
    [ "$rc" = 2 ] && grep -qF "badc.conf:9: max_parallel_per_link is set again (first on line 7): each key once, only pin repeats" "$T/badc.log" ||
        note "a key set twice: exit $rc: $(head -c 300 "$T/badc.log")"
    # Regression test: a pin that is not one stopped xmigd with exit 1 and
    # no line (found when TLS started); now it is the line's error.
    mkconf badc 127.0.0.1:0 host-a "pin = $(cat "$P/host-b.sha256")" "pin = nope"
    timeout 5 "$XMIGD" -c "$T/badc.conf" >"$T/badc.log" 2>&1
    rc=$?
    [ "$rc" = 2 ] && grep -qF "badc.conf:8: pin 'nope' is not a SHA-256 fingerprint" "$T/badc.log" ||
        note "a bad pin: exit $rc: $(head -c 300 "$T/badc.log")"
    # --listen over the config's is held to the same rule.
    timeout 5 "$XMIGD" --listen 127.0.0.1:99999 -c "$T/badc.conf" >"$T/badc.log" 2>&1
    rc=$?
    [ "$rc" = 2 ] && grep -qF "xmigd: --listen '127.0.0.1:99999': the port '99999' is not a number from 0 (any free port) to 65535" "$T/badc.log" ||
        note "--listen 127.0.0.1:99999: exit $rc: $(head -c 300 "$T/badc.log")"
    verdict "xmigd.conf: every bad value (ports, pins, peer names too) and a key set twice refused with FILE:LINE and the rule"
}

# ---- 6. time: silent, stopped and flooding peers ---------------------------

# silent.py PORTFILE SECONDS: a peer that accepts and says nothing.
cat > "$T/silent.py" <<'EOF'
import os, socket, sys, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(64)
open(sys.argv[1] + ".tmp", "w").write("%d\n" % l.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
end, held = time.time() + float(sys.argv[2]), []
l.settimeout(0.2)
while time.time() < end:
    try:
        held.append(l.accept()[0])
    except socket.timeout:
        pass
EOF
# flood.py PORT N SECONDS: N idle connections from 127.0.0.2, held.
cat > "$T/flood.py" <<'EOF'
import socket, sys, time
held, refused = [], 0
for i in range(int(sys.argv[2])):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.bind(("127.0.0.2", 0)); s.connect(("127.0.0.1", int(sys.argv[1])))
        held.append(s)
    except OSError:
        refused += 1
print("connected %d, refused %d" % (len(held), refused), flush=True)
time.sleep(float(sys.argv[3]))
EOF

# silent_peer NAME SECONDS: a silent listener; sets SILENT_PORT
silent_peer() {
    local i
    rm -f "$T/$1.port"
    timeout $(($2 + 5)) python3 "$T/silent.py" "$T/$1.port" "$2" &
    HELPERS+=($!)
    for i in $(seq 50); do [ -s "$T/$1.port" ] && break; sleep 0.1; done
    SILENT_PORT=$(cat "$T/$1.port" 2>/dev/null)
    [ -n "$SILENT_PORT" ] || note "the silent peer did not start"
}
# mig_field DAEMON ID FIELD: one field of the migration's status
mig_field() { mig_status "$1" "$2" | q 'd[a[0]]' "$3"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# nofile DAEMON N: limit the running daemon to N descriptors
nofile() {
    python3 -c 'import resource, sys; resource.prlimit(int(sys.argv[1]), resource.RLIMIT_NOFILE, (int(sys.argv[2]), int(sys.argv[2])))' \
        "${DPID[$1]:-0}" "$2" || note "cannot limit $1's descriptors"
}

part6() {
    local t0 s e ms id1 id2 r i bad
    echo "--- 6. time: silent, stopped and flooding peers"

    # 6a. A receiver SIGSTOPped mid-stream: the source gives up after
    # io_timeout without progress, its guest runs on, and the receiver,
    # once it runs again, keeps nothing.
    src sa "io_timeout = 3"
    create sa big --memory 128 --vcpus 1 --workload stress
    dst sb host-b
    if mig_start sa big "127.0.0.1:${PORT[sb]}" ', "bandwidth_mib": 16' &&
        mig_running sa "$MID" 10; then
        sleep 1
        kill -STOP "${DPID[sb]}"
        t0=$(date +%s%N)
        s=$(mig_wait sa "$MID" 20)
        ms=$(ms_since "$t0")
        kill -CONT "${DPID[sb]}"
        [ "$s" = failed ] || note "the migration ended '$s', expected failed"
        e=$(mig_field sa "$MID" error)
        grep -q "took no data for 3 s while sending round" <<<"$e" &&
            grep -q "runs on at the source" <<<"$e" || note "error: $e"
        [ "$ms" -lt 9000 ] || note "the source noticed after $ms ms (io_timeout 3 s)"
        echo "     (SIGSTOPped receiver: the source gave up $ms ms after the stop; io_timeout = 3 s)"
        guest_runs sa big
        nothing_on sb 10
    fi
    verdict "SIGSTOPped receiver: the source fails within io_timeout, the guest runs on, B keeps nothing" sa sb
    stop sa
    stop sb

    # 6b. A silent destination: the handshake ends at handshake_timeout,
    # and the migration queued behind it on the same link starts then.
    src ha "handshake_timeout = 4"
    create ha second --memory 16
    silent_peer sil 40
    t0=$(date +%s%N)
    id1= id2=
    mig_start ha vm "127.0.0.1:$SILENT_PORT" && id1=$MID
    mig_start ha second "127.0.0.1:$SILENT_PORT" && id2=$MID
    [ "$(mig_field ha "${id2:-0}" state)" = queued ] ||
        note "the second migration is not queued: $(mig_field ha "${id2:-0}" state)"
    s=$(mig_wait ha "${id1:-0}" 15)
    [ "$s" = failed ] || note "the first migration ended '$s'"
    grep -q "no answer from 127.0.0.1:$SILENT_PORT within the time limit (4 s) while doing the TLS handshake" \
        <<<"$(mig_field ha "${id1:-0}" error)" ||
        note "error: $(mig_field ha "${id1:-0}" error)"
    s=$(mig_wait ha "${id2:-0}" 15)
    ms=$(ms_since "$t0")
    [ "$s" = failed ] || note "the queued migration ended '$s'"
    [ "$ms" -lt 20000 ] || note "both took $ms ms (2 x handshake_timeout 4 s)"
    guest_runs ha vm
    guest_runs ha second
    verdict "silent destination: each migration ends at handshake_timeout; the link queue moves on" ha

    # 6c. Cancel during the handshake, and of a migration queued behind it
    # (before round 1): both end at once, long before any time limit.
    stop ha
    mkconf ha 127.0.0.1:0 host-a
    start ha && create ha vm --memory 16 && create ha second --memory 16
    id1= id2=
    mig_start ha vm "127.0.0.1:$SILENT_PORT" && id1=$MID
    mig_start ha second "127.0.0.1:$SILENT_PORT" && id2=$MID
    mig_running ha "${id1:-0}" 5
    sleep 0.5
    t0=$(date +%s%N)
    for i in "${id2:-0}" "${id1:-0}"; do
        r=$(ctl "$(sock ha)" "{\"op\": \"cancel\", \"migration\": $i}")
        [ "$(q 'd["ok"]' <<<"$r")" = true ] || note "cancel $i: $r"
    done
    s=$(mig_wait ha "${id1:-0}" 5)
    [ "$s" = cancelled ] || note "cancelled in the handshake: ended '$s'"
    s=$(mig_wait ha "${id2:-0}" 5)
    [ "$s" = cancelled ] || note "cancelled while queued: ended '$s'"
    ms=$(ms_since "$t0")
    # Far below the 30 s handshake limit (the polling itself is slow on
    # a loaded machine).
    [ "$ms" -lt 12000 ] || note "the cancels took $ms ms"
    guest_runs ha vm
    guest_runs ha second
    verdict "cancel during the handshake and before round 1 (queued): cancelled at once, guests run" ha
    stop ha

    # 6d. TLS at one end, plain TCP at the other: fails fast, names TLS.
    src pa6
    dst pb6 host-b
    mkconf pn 127.0.0.1:0 host-b "tls = none"
    start pn
    t0=$(date +%s%N)
    cli mplain 30 migrate --control "$(sock pa6)" --tls=none vm "127.0.0.1:${PORT[pb6]}"
    ms=$(ms_since "$t0")
    [ "$RC" = 1 ] || note "plain to TLS: exit $RC"
    grep -q "the destination refused the guest: this receiver speaks TLS" "$T/mplain.err" ||
        note "plain to TLS: $(cat "$T/mplain.err")"
    [ "$ms" -lt 8000 ] || note "plain to TLS took $ms ms"
    t0=$(date +%s%N)
    migrate mtls pa6 vm "127.0.0.1:${PORT[pn]}"
    ms=$(ms_since "$t0")
    [ "$RC" = 1 ] || note "TLS to plain: exit $RC"
    grep -q "does not speak TLS" "$T/mtls.err" || note "TLS to plain: $(cat "$T/mtls.err")"
    [ "$ms" -lt 8000 ] || note "TLS to plain took $ms ms"
    guest_runs pa6 vm
    nothing_on pb6
    nothing_on pn
    verdict "TLS/plain mismatch, both ways: fails in seconds, the error names TLS" pa6 pb6 pn
    stop pb6
    stop pn

    # 6e. Killing the client: SIGINT cancels the daemon's migration (the
    # guest runs on); SIGKILL leaves it to the daemon, which finishes it,
    # logs it and shows it in status.
    create pa6 slow --memory 128 --vcpus 1 --workload stress
    dst kb6 host-b
    timeout 60 "$XMIG" migrate --control "$(sock pa6)" --bandwidth 16 slow \
        "127.0.0.1:${PORT[kb6]}" >"$T/kint.out" 2>"$T/kint.err" &
    r=$!
    sleep 2
    kill -INT "$r"
    wait "$r"
    s=$?
    [ "$s" = 1 ] || note "xmig migrate after SIGINT: exit $s"
    grep -q "cancelling migration" "$T/kint.err" && grep -q "slow cancelled" "$T/kint.err" ||
        note "after SIGINT: $(tr '\n' ' ' < "$T/kint.err")"
    guest_runs pa6 slow
    nothing_on kb6
    timeout 60 "$XMIG" migrate --control "$(sock pa6)" vm \
        "127.0.0.1:${PORT[kb6]}" >"$T/kkill.out" 2>"$T/kkill.err" &
    r=$!
    sleep 0.3
    kill -KILL "$r"
    wait "$r" 2>/dev/null
    id1=$(ctl "$(sock pa6)" '{"op": "status"}' |
        q '[m["migration"] for m in d["migrations"] if m["guest"] == "vm"][-1]')
    s=$(mig_wait pa6 "${id1:-0}" 30)
    [ "$s" = done ] || note "after SIGKILL of the client: '$s'"
    grep -q "migration ${id1:-?} of vm to 127.0.0.1:${PORT[kb6]}: started" "$T/pa6.log" ||
        note "the start is not logged"
    guest_runs kb6 vm
    verdict "client killed: SIGINT cancels the migration, SIGKILL leaves it to xmigd (logged, in status)" pa6 kb6
    stop pa6
    stop kb6

    # 6f. 70 idle connections from one address under a 64-descriptor
    # limit: the per-source cap refuses most at once (logged), and a real
    # migration from another address goes through meanwhile.
    src fa6
    dst fb6 host-b
    nofile fb6 64
    timeout 30 python3 "$T/flood.py" "${PORT[fb6]}" 70 8 >"$T/flood.out" 2>&1 &
    HELPERS+=($!)
    sleep 1
    migrate mflood fa6 vm "127.0.0.1:${PORT[fb6]}"
    [ "$RC" = 0 ] || note "migration during the flood: exit $RC: $(cat "$T/mflood.err")"
    grep -q "incoming: refused a connection from 127.0.0.2: 8 connections from 127.0.0.2 have not finished their handshake (max_handshakes_per_source)" \
        "$T/fb6.log" || note "B's log: $(grep incoming "$T/fb6.log" | head -n 2)"
    guest_runs fb6 vm
    verdict "70 idle connections from one address, 64 descriptors: capped, logged, B still receives" fa6 fb6
    stop fb6

    # 6g. The same flood with the caps out of the way: descriptors run
    # out, accept fails with EMFILE, and B rides it out (logged once) and
    # receives a real migration once the idle ones are dropped.
    # (Regression test: d_incoming_main left its loop on EMFILE for good.)
    dst fc6 host-b "max_handshakes = 500" "max_handshakes_per_source = 500"
    nofile fc6 64
    create fa6 vm2 --memory 16
    timeout 30 python3 "$T/flood.py" "${PORT[fc6]}" 70 6 >"$T/flood2.out" 2>&1 &
    r=$!
    HELPERS+=($r)
    for i in $(seq 40); do grep -q "Too many open files" "$T/fc6.log" && break; sleep 0.2; done
    grep -q "incoming: accept: Too many open files; retrying every 100 ms" "$T/fc6.log" ||
        note "B does not log EMFILE: $(grep incoming "$T/fc6.log" | head -n 2)"
    wait "$r"   # the flood is over (B cut each idle one after 2 s)
    migrate mflood2 fa6 vm2 "127.0.0.1:${PORT[fc6]}"
    [ "$RC" = 0 ] || note "migration after EMFILE: exit $RC: $(cat "$T/mflood2.err")"
    [ "$(grep -c "accept: Too many open files" "$T/fc6.log")" -le 2 ] ||
        note "EMFILE logged $(grep -c "accept: Too many open files" "$T/fc6.log") times"
    guest_runs fc6 vm2
    verdict "descriptor exhaustion (EMFILE) in accept: logged, ridden out, B receives afterwards" fa6 fc6
    stop fa6
    stop fc6

    # 6h. The time settings are checked: each bad value refused.
    # Plain decimal seconds only: strtod took hex floats, exponents, "inf".
    for bad in "io_timeout = 0" "io_timeout = soon" "handshake_timeout = -1" \
        "io_timeout = 0x1p3" "io_timeout = 1e1" "handshake_timeout = inf" \
        "handover_timeout = .5" "handover_timeout = 5." "io_timeout = +5" \
        "handover_timeout = 100000" "handover_expiry = maybe" \
        "max_handshakes = 0" "max_handshakes_per_source = 5000"; do
        mkconf badt 127.0.0.1:0 host-a "$bad"
        timeout 5 "$XMIGD" -c "$T/badt.conf" >"$T/badt.log" 2>&1
        r=$?
        [ "$r" = 2 ] || note "'$bad': exit $r, expected 2"
        grep -q "badt.conf:[0-9]*: ${bad%% *} " "$T/badt.log" ||
            note "'$bad': $(cat "$T/badt.log")"
    done
    src ra6
    for bad in '"timeout_s": -5' '"handover_timeout_s": 1e9'; do
        r=$(ctl "$(sock ra6)" "{\"op\": \"migrate\", \"guest\": \"vm\", \"destination\": \"127.0.0.1:1\", $bad}")
        [ "$(q 'd["ok"] is False and "timeout_s" in d["error"]' <<<"$r")" = true ] ||
            note "$bad: $r"
    done
    # A JSON number is decimal by JSON's grammar: a hex float is not JSON,
    # a string is not a number.
    r=$(ctl "$(sock ra6)" '{"op": "migrate", "guest": "vm", "destination": "127.0.0.1:1", "timeout_s": 0x1p3}')
    [ "$(q 'd["ok"] is False and d["error"].startswith("bad JSON at octet")' <<<"$r")" = true ] ||
        note "timeout_s 0x1p3: $r"
    r=$(ctl "$(sock ra6)" '{"op": "migrate", "guest": "vm", "destination": "127.0.0.1:1", "timeout_s": "8"}')
    [ "$(q 'd["error"] if d["ok"] is False else None' <<<"$r")" = '"timeout_s" must be a number from 0 to 86400 in a migrate request' ] ||
        note "timeout_s \"8\": $r"
    guest_runs ra6 vm
    verdict "bad time settings are refused, in xmigd.conf and in migrate requests" ra6
    stop ra6
}

# ---- 6. live progress and job statistics -----------------------------------

# The progress line of xmig migrate, with or without a daemon (tests/cli.sh
# checks the same wording for a sim guest moved from the CLI).
PROGRESS_RE='xmig migrate: [a-z0-9]+: [0-9.]+ s, round [0-9]+( \(paused\))? [0-9]+%, memory [0-9]+%: [0-9.]+ MiB sent, [0-9.]+ MiB left, [0-9.]+ MiB/s \(average [0-9.]+\), dirty ([0-9]+|\?) pages/s, expected downtime ([0-9]+ ms|\?), throttle [0-9]+%, ETA ([0-9]+ s|\?)$'

part7() {
    local st st2 id i pid n txt
    echo "--- 7. live progress and job statistics"
    mkconf pa 127.0.0.1:0 host-a
    mkconf pb 127.0.0.1:0 host-b
    start pa && start pb
    # 32 MiB of data capped to 8 MiB/s: round 1 alone takes ~4 s.
    create pa slow --memory 32 --fill 100 --workload mixed
    timeout 60 script -qfc "'$XMIG' migrate --control '$(sock pa)' --bandwidth 8 slow 127.0.0.1:${PORT[pb]}" \
        /dev/null </dev/null >"$T/p6.pty" 2>&1 &
    pid=$!
    id=
    for i in $(seq 100); do
        st=$(timeout 10 "$XMIG" status --control "$(sock pa)" --json 2>/dev/null)
        id=$(q '[m["migration"] for m in d["migrations"] if m["guest"] == "slow" and m["state"] == "running" and m["round"] >= 1][-1] if any(m["guest"] == "slow" and m["state"] == "running" and m["round"] >= 1 for m in d["migrations"]) else ""' <<<"$st")
        [ -n "$id" ] && break
        sleep 0.1
    done
    [ -n "$id" ] || note "the migration of slow did not show as running: ${st:0:300}"
    st=$(timeout 10 "$XMIG" status --control "$(sock pa)" --json "${id:-0}" 2>&1)
    sleep 1.2
    st2=$(timeout 10 "$XMIG" status --control "$(sock pa)" --json "${id:-0}" 2>&1)
    txt=$(timeout 10 "$XMIG" status --control "$(sock pa)" 2>&1)
    [ "$(q 'd["status"]["round"] == 1 and isinstance(d["status"]["stats"], dict) and d["status"]["stats"]["job"]["memory_total"] == 32 << 20 and d["status"]["stats"]["job"]["time_elapsed"] > 0 and d["status"]["stats"]["job"]["data_processed"] > 0' <<<"$st")" = true ] ||
        note "status --json while running: ${st:0:400}"
    [ "$(python3 -c 'import json,sys; a=json.loads(sys.argv[1])["status"]; b=json.loads(sys.argv[2])["status"]; print(b["round"] == 1 and b["elapsed_s"] >= a["elapsed_s"] + 1.0 and b["stats"]["bytes"] > a["stats"]["bytes"])' "$st" "$st2" 2>&1)" = True ] ||
        note "within round 1, 1.2 s apart, elapsed and bytes do not advance: ${st:0:250} / ${st2:0:250}"
    grep -q '^  ID GUEST .* STATE .* ROUND .* ELAPSED .* ETA$' <<<"$txt" && grep -qE "^ +$id slow +127.0.0.1:${PORT[pb]} +running +1 [0-9]+%" <<<"$txt" ||
        note "xmig status: $txt"
    verdict "while a migration runs: status --json has live statistics, elapsed ticks within a round, xmig status has a header" pa pb
    for i in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    wait "$pid" || note "xmig migrate under script: exit $?"
    tr '\r' '\n' <"$T/p6.pty" | sed 's/\x1b\[K//g' >"$T/p6.lines"
    n=$(grep -E "$PROGRESS_RE" "$T/p6.lines" | grep -c ' round 1 ')
    [ "$n" -ge 2 ] || note "progress line within round 1: $n times: $(head -c 500 "$T/p6.pty")"
    grep -q "slow moved to 127.0.0.1:${PORT[pb]}" "$T/p6.lines" || note "result: $(tail -c 300 "$T/p6.lines")"
    verdict "xmig migrate of a daemon's guest on a terminal: the progress line moves within round 1, in the CLI's wording" pa pb

    st=$(timeout 10 "$XMIG" status --control "$(sock pa)" --json "${id:-0}" 2>&1)
    [ "$(q 'd["status"]["state"] == "done" and d["status"]["stats"]["job"]["memory_remaining"] == 0 and d["status"]["stats"]["job"]["memory_page_size"] == 4096 and d["status"]["stats"]["rounds"][0]["dirty_pages_s"] > 0 and d["status"]["stats"]["job"]["setup_time"] > 0' <<<"$st")" = true ] ||
        note "statistics when done: ${st:0:400}"
    txt=$(timeout 10 "$XMIG" status --control "$(sock pa)" "${id:-0}" 2>&1)
    for f in "Time elapsed:" "Time remaining:" "Setup time:" "Downtime:" "Data processed:" "Data remaining:" "Data total:" "Memory processed:" "Memory remaining:" "Memory total:" "Memory bandwidth:" "Dirty rate:" "Iteration:" "Constant pages:" "Normal pages:" "Normal data:" "Page size:" "Auto converge throttle:"; do
        grep -q "^$f" <<<"$txt" || note "xmig status $id lacks '$f'"
    done
    verdict "job statistics when done: libvirt's fields in JSON and in xmig status ID" pa

    # Downtime over its target: a warning in the result and in the log.
    create pa quick --memory 16
    cli p6w 60 migrate --control "$(sock pa)" --downtime 1 --max-iters 1 quick "127.0.0.1:${PORT[pb]}"
    [ "$RC" = 0 ] || note "migrate quick: exit $RC: $(cat "$T/p6w.err")"
    grep -qE "quick: warning: downtime [0-9.]+ ms exceeded its 1 ms target \(stop [0-9.]+ ms, last pages and state [0-9.]+ ms, destination [0-9.]+ ms\)" "$T/p6w.err" ||
        note "no warning in the result: $(cat "$T/p6w.err")"
    grep -q "quick: downtime .* exceeded its 1 ms target (stop" "$T/pa.log" ||
        note "no warning in the log: $(tail -n 3 "$T/pa.log")"
    verdict "a downtime over its target is a warning, with its parts, in the result and the log" pa pb

    # One consistent CLI against a daemon: headers, names in errors, and
    # restore keeps the saved name (as xl does) unless --name.
    create pa keepme --memory 16
    txt=$(timeout 10 "$XMIG" list --control "$(sock pa)" 2>&1)
    grep -qE '^NAME +STATE +MEMORY +ORIGIN +DOMID +HEARTBEAT$' <<<"$txt" &&
        grep -qE '^keepme +running +16 MiB +created +- +[0-9]+$' <<<"$txt" || note "xmig list: $txt"
    cli p6d 10 destroy --control "$(sock pa)" web1
    [ "$RC" = 1 ] && grep -q "no such guest: web1" "$T/p6d.err" || note "destroy web1: $RC $(cat "$T/p6d.err")"
    cli p6c 10 create --control "$(sock pa)" keepme
    grep -q "a guest named keepme exists" "$T/p6c.err" || note "create twice: $(cat "$T/p6c.err")"
    cli p6m 10 migrate --control "$(sock pa)" web1 "127.0.0.1:${PORT[pb]}"
    grep -q "web1" "$T/p6m.err" || note "migrate web1: $(cat "$T/p6m.err")"
    cli p6s 60 save --control "$(sock pa)" keepme "$T/keepme.xl"
    [ "$RC" = 0 ] || note "save keepme: $RC $(cat "$T/p6s.err")"
    cli p6r 60 restore --control "$(sock pa)" "$T/keepme.xl"
    [ "$RC" = 0 ] && [ "$(gfield pa keepme state)" = running ] ||
        note "restore keeps the saved name: $RC $(cat "$T/p6r.out" "$T/p6r.err") $(list_json pa)"
    cli p6r2 60 restore --control "$(sock pa)" --name other "$T/keepme.xl"
    [ "$RC" = 0 ] && [ "$(gfield pa other state)" = running ] ||
        note "restore --name other: $RC $(cat "$T/p6r2.err")"
    verdict "xmig list has a header; errors name the guest; restore keeps the saved name unless --name" pa

    # A failed job's statistics carry its error (libvirt's errmsg).
    create pa doomed --memory 32 --fill 100
    if mig_start pa doomed "127.0.0.1:${PORT[pb]}" ', "bandwidth_mib": 2' &&
        mig_running pa "$MID" 10; then
        sleep 0.5
        timeout 10 "$XMIG" cancel --control "$(sock pa)" "$MID" >/dev/null 2>&1
        [ "$(mig_wait pa "$MID" 30)" = cancelled ] || note "the cancelled migration did not end as cancelled"
        st=$(mig_status pa "$MID")
        [ "$(q 'isinstance(d["stats"], dict) and len(d["stats"]["job"]["errmsg"]) > 0 and d["stats"]["job"]["errmsg"] == d["error"]' <<<"$st")" = true ] ||
            note "cancelled job's statistics: ${st:0:400}"
    fi
    verdict "a failed job's statistics carry its error message (errmsg)" pa
    stop pa
    stop pb
}

for part in $PARTS; do
    case $part in
        1 | 5) [ -n "${did1:-}" ] || { part1; did1=1; } ;;
        2) part2 ;;
        3) part3 ;;
        4) part4 ;;
        6) part6 ;;
        7) part7 ;;
        *) echo "daemon: no part $part" >&2; exit 2 ;;
    esac
done

if [ ${#xfails[@]} -gt 0 ]; then
    echo "daemon: failures EXPECTED until fixed (comments in tests/daemon.sh):"
    printf '  %s\n' "${xfails[@]}"
fi
echo "daemon: $pass passed, $fail failed"
[ "$fail" = 0 ]
