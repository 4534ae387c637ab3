#!/bin/bash
# The quick-start demo (make demo): two xmigd daemons on this machine
# ("host A" and "host B", on loopback), a 512 MiB simulated guest with a
# workload on A, live-migrated to B over TLS with mutual authentication
# (kernel TLS where the kernel has it), and the report.  Everything lives
# in demo-out/ and nothing is left running.
set -eu
XMIG=${XMIG:-bin/xmig}
XMIGD=${XMIGD:-bin/xmigd}
S=$(cd "$(dirname "$0")" && pwd)
OUT=$(mkdir -p demo-out && cd demo-out && pwd)
C=$OUT/certs
rm -rf "${OUT:?}"/* && "$S/tls/make-certs.sh" "$C"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT

start() {   # start NAME: a daemon with its own config, port and control socket
    cat > "$OUT/$1.conf" <<CONF
listen = 127.0.0.1:0
control = $OUT/$1.sock
cert = $C/server.pem
key = $C/server-key.pem
ca = $C/ca.pem
peer_name = localhost
CONF
    "$XMIGD" -c "$OUT/$1.conf" --port-file "$OUT/$1.port" 2> "$OUT/$1.log" &
    pids+=($!)
    for _ in $(seq 100); do [ -S "$OUT/$1.sock" ] && [ -s "$OUT/$1.port" ] && return; sleep 0.1; done
    echo "demo: xmigd $1 did not start:" >&2; cat "$OUT/$1.log" >&2; exit 1
}

start A
start B
echo "== two daemons: A (migrations on port $(cat "$OUT/A.port")), B (port $(cat "$OUT/B.port"))"
"$XMIG" create --control "$OUT/A.sock" --memory 512 --vcpus 2 --workload mixed web1
sleep 1
echo; echo "== on A:"; "$XMIG" list --control "$OUT/A.sock"

echo; echo "== xmig migrate web1 127.0.0.1:$(cat "$OUT/B.port")   (TLS, PV state carried)"
"$XMIG" migrate --control "$OUT/A.sock" --transparent web1 "127.0.0.1:$(cat "$OUT/B.port")"
sleep 1
echo; echo "== on A:"; "$XMIG" list --control "$OUT/A.sock"
echo "== on B:"; "$XMIG" list --control "$OUT/B.sock"

echo; echo "== report"
"$XMIG" status --json --control "$OUT/A.sock" 1 > "$OUT/status.json"
python3 - "$OUT/status.json" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))["status"]
s = st["stats"]
print("guest %s -> %s: %s" % (st["guest"], st["destination"], st["state"]))
print("rounds %d, total %.2f s, downtime %.1f ms, %.1f MiB at %.0f MiB/s, TLS %s, %s"
      % (s["iterations"], s["total_s"], s["downtime_ms"], s["bytes"] / 1048576,
         s["throughput_mib_s"], s["tls_mode"],
         "RAM and state verified at the destination" if s["verified"] else "NOT verified"))
for r in s["rounds"]:
    print("  round %2d%s: %6d pages sent, %6d zero, %6d dirty at start, %7.1f MiB/s, throttle %d%%"
          % (r["iteration"], " (paused)" if r["final"] else "         ", r["pages_sent"],
             r["zero_pages"], r["dirty_pages"], r["transfer_mib_s"], r["throttle"]))
PY
cp "$OUT/status.json" "$OUT/stats.json"
echo; echo "== daemon logs"
cat "$OUT/A.log" "$OUT/B.log"
echo; echo "demo: done (certificates, configs, logs and statistics in demo-out/)"
