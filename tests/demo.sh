#!/bin/bash
# The quick-start demo (make demo): live-migrate a 512 MiB simulated guest
# between two xmig processes on this machine, over TLS with mutual
# authentication (kernel TLS where the kernel has it), and print the
# report.  Files (certificates, statistics) go to demo-out/; nothing is
# left running.
set -eu
XMIG=${XMIG:-./xmig}
S=$(cd "$(dirname "$0")" && pwd)
OUT=demo-out
C=$OUT/certs
rm -rf "$OUT" && mkdir -p "$OUT"
"$S/tls/make-certs.sh" "$C"

echo "== receiver: xmig migrate-receive, waiting on 127.0.0.1 (TLS, mutual auth)"
"$XMIG" migrate-receive --listen 127.0.0.1:0 --port-file "$OUT/port" \
    --cert "$C/server.pem" --key "$C/server-key.pem" --ca "$C/ca.pem" \
    --run 2 > "$OUT/receiver.txt" 2> "$OUT/receiver.err" &
receiver=$!
trap 'kill $receiver 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$OUT/port" ] && break; sleep 0.1; done
[ -s "$OUT/port" ] || { echo "demo: the receiver did not start" >&2; exit 1; }

echo "== sender: a 512 MiB guest, 2 vCPUs, mixed workload, PV state carried"
"$XMIG" migrate --sim-memory 512 --sim-vcpus 2 --sim-workload mixed \
    --transparent --cert "$C/client.pem" --key "$C/client-key.pem" \
    --ca "$C/ca.pem" --name localhost --warmup 1 \
    sim "127.0.0.1:$(cat "$OUT/port")"
wait $receiver
trap - EXIT
cat "$OUT/receiver.err" "$OUT/receiver.txt"

echo
echo "== the same migration as JSON statistics, with the stress workload"
"$XMIG" migrate-receive --listen 127.0.0.1:0 --port-file "$OUT/port2" \
    --cert "$C/server.pem" --key "$C/server-key.pem" --ca "$C/ca.pem" \
    --run 1 > /dev/null 2>&1 &
receiver=$!
for _ in $(seq 100); do [ -s "$OUT/port2" ] && break; sleep 0.1; done
"$XMIG" migrate --json --sim-memory 512 --sim-workload stress \
    --cert "$C/client.pem" --key "$C/client-key.pem" --ca "$C/ca.pem" \
    --name localhost sim "127.0.0.1:$(cat "$OUT/port2")" \
    2>/dev/null > "$OUT/stats.json"
wait $receiver
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print("rounds:", s["iterations"], " downtime: %.1f ms" % s["downtime_ms"],
      " max throttle: %d%%" % s["max_throttle"], " verified:", s["verified"])
for r in s["rounds"]:
    print("  round %2d%s: %6d pages sent, %6d dirty at start, %7.1f MiB/s, throttle %d%%"
          % (r["iteration"], " (paused)" if r["final"] else "         ",
             r["pages_sent"], r["dirty_pages"], r["transfer_mib_s"], r["throttle"]))
' "$OUT/stats.json"
echo
echo "demo: done (certificates and statistics in $OUT/)"
