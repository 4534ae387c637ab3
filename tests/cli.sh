#!/bin/bash
# xmig verify / dump / sample tested as programs: exit codes, the one-line
# error, stdin, JSON output, atomic file creation when the disk fills.
set -u
XMIG=${XMIG:-./xmig}
XMIG=$(cd "$(dirname "$XMIG")" && pwd)/$(basename "$XMIG")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# expect STATUS DESCRIPTION -- command...
expect() {
    local want=$1 what=$2
    shift 3
    "$@" >"$T/out" 2>"$T/err"
    local got=$?
    if [ "$got" = "$want" ]; then ok; else
        bad "$what: exit $got, expected $want"; sed 's/^/    /' "$T/err" >&2
    fi
}

# patch FILE OFFSET HEXBYTES: overwrite octets in place
patch() {
    printf "$(echo "$3" | sed 's/../\\x&/g')" |
        dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

cd "$T"
expect 2 "no arguments" -- "$XMIG"
expect 2 "unknown subcommand" -- "$XMIG" frobnicate
expect 0 "--help" -- "$XMIG" --help
expect 0 "--version" -- "$XMIG" --version
grep -q '^xmig ' out || bad "--version prints the version"
expect 2 "verify without a file" -- "$XMIG" verify
expect 2 "verify with a bad format" -- "$XMIG" verify --format nope x
expect 2 "verify a missing file" -- "$XMIG" verify /nonexistent/file
grep -q "cannot open /nonexistent/file" err && ok || bad "missing file named"

for fmt in xl libxl libxc; do
    expect 0 "sample $fmt" -- "$XMIG" sample --format "$fmt" --pages 300 "s.$fmt"
    expect 0 "verify $fmt" -- "$XMIG" verify "s.$fmt"
    grep -q "valid $fmt stream: x86 HVM, libxc v3" out && ok ||
        bad "verify $fmt summary: $(cat out)"
    expect 0 "verify --format $fmt" -- "$XMIG" verify --format "$fmt" "s.$fmt"
done
expect 1 "libxl file read as libxc" -- "$XMIG" verify --format libxc s.libxl
expect 0 "sample pv" -- "$XMIG" sample --pv --pages 600 pv.xl
expect 0 "verify pv" -- "$XMIG" verify pv.xl
grep -q "x86 PV" out && ok || bad "pv summary"

# stdin
"$XMIG" verify -q - < s.xl > out 2>&1 && ok || bad "verify from stdin"
[ ! -s out ] && ok || bad "--quiet prints nothing"

# One line on stderr naming offset, record and rule.  The first PAGE_DATA
# of s.libxc sits after image header (24), domain header (16), CPUID (8+48),
# MSR (8+32), STATIC_DATA_END (8): at 144; its reserved field at 144+12.
cp s.libxc bad.libxc
patch bad.libxc 156 01000000
expect 1 "reserved field set" -- "$XMIG" verify bad.libxc
[ "$(wc -l < err)" = 1 ] && ok || bad "exactly one error line: $(cat err)"
grep -q "offset 156 (0x9c): libxc record PAGE_DATA (0x1): reserved field" err \
    && ok || bad "error names offset, record and rule: $(cat err)"

head -c 1000 s.xl > short.xl
expect 1 "truncated" -- "$XMIG" verify short.xl
grep -q "truncated" err && ok || bad "truncation named: $(cat err)"

cat s.libxc s.libxc > twice.libxc
expect 1 "trailing data" -- "$XMIG" verify twice.libxc
grep -q "trailing data after the final END" err && ok || bad "trailing named"
expect 0 "--allow-trailing" -- "$XMIG" verify --allow-trailing twice.libxc

printf 'hello, world\n' > junk
expect 1 "junk" -- "$XMIG" verify junk
grep -q "not a Xen migration stream" err && ok || bad "junk named"

# dump: squashed page data, decoded small records, JSON
expect 0 "dump" -- "$XMIG" dump s.xl
grep -q "libxc PAGE_DATA x 1 (squashed): 300 pfns" out && ok ||
    bad "dump squashes PAGE_DATA: $(grep PAGE out)"
grep -q "X86_TSC_INFO (0x8), length 24: mode 0, 2400000 kHz" out && ok ||
    bad "dump decodes TSC"
grep -q "HVM_CONTEXT (0x9), length 1080: 3 descriptors: 1/0(24) 2/0(1032) 0/0(0)" out &&
    ok || bad "dump lists HVM descriptors"
expect 0 "dump --json" -- "$XMIG" dump --json s.xl
python3 -c 'import json,sys; d=json.load(open("out")); sys.exit(0 if d["valid"] and d["format"]=="xl" and d["items"][0]["kind"]=="xl_header" else 1)' \
    && ok || bad "dump --json is valid JSON describing the file"
expect 1 "dump --json of a bad stream" -- "$XMIG" dump --json bad.libxc
python3 -c 'import json,sys; d=json.load(open("out")); sys.exit(0 if d["valid"] is False else 1)' \
    && ok || bad "dump --json marks the stream invalid"

"$XMIG" sample --emulator-xenstore s2.xl && "$XMIG" dump s2.xl > out &&
    grep -q "'physmap/f0000000/name' = 'vga.vram'" out && ok ||
    bad "dump shows xenstore pairs"

# Transparent streams: verified, dumped record by record, as JSON too.
for t in 2l fifo; do
    expect 0 "sample --transparent $t" -- "$XMIG" sample --transparent "$t" "t-$t.xl"
    expect 0 "verify transparent $t" -- "$XMIG" verify "t-$t.xl"
    expect 0 "dump transparent $t" -- "$XMIG" dump "t-$t.xl"
    grep -q "libxl TRANSPARENT (0x786d0010), length 16: version 1, state evtchn gnttab xenstore, domid 7 preserved" out &&
        ok || bad "dump shows the libxl declaration ($t)"
    grep -q "/local/domain/7/device/vif/0/state = '4' (n7,r0)" out && ok ||
        bad "dump shows xenstore nodes ($t)"
    grep -q "port 6 interdomain vcpu0 remote dom0 port 40.* pending" out && ok ||
        bad "dump shows event channel ports ($t)"
    expect 0 "dump --json transparent $t" -- "$XMIG" dump --json "t-$t.xl"
    python3 -c 'import json,sys; d=json.load(open("out")); p=[i for i in d["items"] if i.get("name")=="EVTCHN_PORTS"]; sys.exit(0 if d["valid"] and len(p)==1 and len(p[0]["ports"])==8 else 1)' \
        && ok || bad "dump --json lists the ports ($t)"
done
grep -q "FIFO ABI, max port 2047, 8 ports" <("$XMIG" dump t-fifo.xl) && ok ||
    bad "FIFO stream uses the FIFO ABI"
expect 0 "transparent libxc image" -- "$XMIG" sample --format libxc --transparent 2l t.libxc
expect 0 "verify transparent libxc" -- "$XMIG" verify t.libxc

# A full disk: sample fails, and no file is left under either name.
mkdir full
(
    trap '' XFSZ
    ulimit -f 64    # 64 blocks of 512 octets
    "$XMIG" sample --pages 2000 full/s.xl
) > out 2> err
rc=$?
[ "$rc" = 1 ] && ok || bad "sample on a full disk exits 1 (got $rc)"
grep -q "File too large\|No space left" err && ok || bad "disk error named: $(cat err)"
[ -z "$(ls full)" ] && ok || bad "nothing left behind: $(ls full)"

# The xen backend from a machine that is not a Xen control domain: each
# entry point says so in one line, exits 1, and leaves no file.
if [ ! -e /proc/xen ] && [ ! -e /dev/xen/privcmd ]; then
    expect 1 "save xen: off Xen" -- "$XMIG" save xen:pvh1 x.save
    grep -q "no Xen hypervisor here\|built without Xen support" err && [ ! -e x.save ] &&
        [ -z "$(ls x.save.* 2>/dev/null)" ] && ok ||
        bad "save xen: names the missing hypervisor, leaves no file: $(cat err)"
    expect 1 "restore --xen off Xen" -- "$XMIG" restore --xen s.xl
    grep -q "\(no Xen hypervisor here\|built without Xen support\).*nothing was kept" err && ok ||
        bad "restore --xen names the missing hypervisor: $(cat err)"
fi
expect 2 "restore --domid 0" -- "$XMIG" restore --xen --domid 0 s.xl
expect 2 "restore --domid junk" -- "$XMIG" restore --xen --domid 7x s.xl
# --transparent: a sim guest's file carries the PV state; a daemon's guest
# (whose save writes plain files) is refused before anything is asked.
expect 0 "save --transparent sim" -- "$XMIG" save --transparent sim pv.xl
expect 0 "dump of a transparent save" -- "$XMIG" dump pv.xl
grep -q "libxl TRANSPARENT (0x786d0010)" out && grep -q "XENSTORE_NODES" out &&
    ok || bad "save --transparent writes the transparent records"
expect 2 "save --transparent of a daemon guest" -- \
    "$XMIG" save --transparent --control "$T/none.sock" g1 x.save
grep -q "only for 'sim' and xen: guests" err && ok ||
    bad "save --transparent refusal says why: $(cat err)"

# One consistent command line: help and version everywhere, --help on
# every subcommand (exit 0, on stdout), bad values named in their unit.
expect 0 "xmig help" -- "$XMIG" help
grep -q "^  migrate " out && grep -q "^  report " out && ok || bad "xmig help lists subcommands"
expect 0 "xmig version" -- "$XMIG" version
grep -q '^xmig [0-9]' out && ok || bad "xmig version: $(cat out)"
expect 2 "xmig help nope" -- "$XMIG" help nope
grep -q "'nope' is not a subcommand" err && ok || bad "help of an unknown subcommand: $(cat err)"
subs=$("$XMIG" help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
[ "$(echo "$subs" | wc -w)" -ge 16 ] && ok || bad "subcommand list: $subs"
for c in $subs; do
    expect 0 "xmig $c --help" -- "$XMIG" "$c" --help
    { grep -q "usage: xmig $c\|^usage: xmig <subcommand>" out && [ ! -s err ]; } && ok ||
        bad "xmig $c --help: usage on stdout: $(head -2 out) / $(head -2 err)"
    expect 0 "xmig help $c" -- "$XMIG" help "$c"
done
# bad-value CMD OPTION VALUE PHRASE: refused (2), the value and unit named
bad_value() {
    local c=$1 o=$2 v=$3 phrase=$4
    shift 4
    expect 2 "$c --$o $v" -- "$XMIG" "$c" "--$o" "$v" "$@"
    grep -qF "xmig $c: --$o '$v': $phrase" err && ok || bad "$c --$o $v: $(cat err)"
}
bad_value migrate downtime abc "give a whole number of milliseconds from 1 to" sim 127.0.0.1:9
bad_value migrate downtime 0 "give a whole number of milliseconds from 1 to" sim 127.0.0.1:9
bad_value migrate bandwidth 1x "give a whole number of MiB/s from 0 to" sim 127.0.0.1:9
bad_value migrate max-iters -3 "give a whole number of rounds from 1 to 1000" sim 127.0.0.1:9
bad_value migrate sim-memory abc "give a whole number of MiB from 1 to" sim 127.0.0.1:9
bad_value migrate sim-fill 101 "give a whole number of percent from 0 to 100" sim 127.0.0.1:9
bad_value migrate sim-domid 40000 "give a whole number from 1 to 32751" sim 127.0.0.1:9
bad_value migrate warmup soon "give a number of seconds from 0 to 3600" sim 127.0.0.1:9
bad_value migrate-receive run -1 "give a number of seconds from 0 to"
bad_value migrate-receive max-memory 0 "give a whole number of MiB from 1 to"
bad_value create memory abc "give a whole number of MiB from 1 to 4194304" g1
bad_value create fill 200 "give a whole number of percent from 0 to 100" g1
bad_value sample pages lots "give a whole number of pages from 0 to" x.xl
bad_value restore domid 0 "give a whole number from 1 to 32751" --xen s.xl
expect 2 "status abc" -- "$XMIG" status abc
grep -q "'abc' is not a migration number" err && ok || bad "status abc: $(cat err)"
expect 2 "migrate without a destination" -- "$XMIG" migrate sim
grep -q "where to? give HOST:PORT" err && ok || bad "migrate sim: $(cat err)"
# HOST:PORT: the port is decimal digits from 1 to 65535, refused (2) before
# a guest starts or xmigd is asked.  Regression test: 99999 wrapped, an
# empty port or 65536 dialled some other port, a port-less IPv6 address
# read its last group as the port.
while IFS='|' read -r dest why; do
    for g in sim vm1; do
        expect 2 "migrate $g $dest" -- "$XMIG" migrate --control "$T/none.sock" "$g" "$dest"
        [ "$(cat err)" = "xmig migrate: $why" ] && ok || bad "migrate $g $dest: $(cat err)"
    done
done <<'ROWS'
127.0.0.1:99999|'127.0.0.1:99999': the port '99999' is not a number from 1 to 65535
127.0.0.1:65536|'127.0.0.1:65536': the port '65536' is not a number from 1 to 65535
127.0.0.1:0|'127.0.0.1:0': the port '0' is not a number from 1 to 65535
127.0.0.1:|'127.0.0.1:': the port '' is not a number from 1 to 65535
127.0.0.1:+80|'127.0.0.1:+80': the port '+80' is not a number from 1 to 65535
127.0.0.1:0x50|'127.0.0.1:0x50': the port '0x50' is not a number from 1 to 65535
127.0.0.1:http|'127.0.0.1:http': the port 'http' is not a number from 1 to 65535
127.0.0.1:1000000000000000000000000|'127.0.0.1:1000000000000000000000000': the port '1000000000000000...' is not a number from 1 to 65535
127.0.0.1|'127.0.0.1' has no port: give HOST:PORT, the port a number from 1 to 65535
fe80::1|'fe80::1': an IPv6 address goes in brackets, [ADDR]:PORT
:5600|':5600' has no host before the port
[::1|'[::1' is not [IPV6]:PORT
a]:1|'a]:1': the host has ']' at position 2: a host is a name or an address (IPv6 in brackets)
[::1]]:1|'[::1]]:1': the host has ']' at position 5: a host is a name or an address (IPv6 in brackets)
a b:1|'a?b:1': the host has octet 0x20 (a space, a control or not ASCII) at position 2: a host is a name or an address (IPv6 in brackets)
ROWS
expect 2 "tls-connect 127.0.0.1:0" -- "$XMIG" tls-connect --stdio 127.0.0.1:0
[ "$(cat err)" = "xmig tls-connect: '127.0.0.1:0': the port '0' is not a number from 1 to 65535" ] && ok ||
    bad "tls-connect 127.0.0.1:0: $(cat err)"
expect 2 "migrate-receive --listen 127.0.0.1:70000" -- "$XMIG" migrate-receive --listen 127.0.0.1:70000
[ "$(cat err)" = "xmig migrate-receive: '127.0.0.1:70000': the port '70000' is not a number from 0 (any free port) to 65535" ] && ok ||
    bad "migrate-receive --listen 127.0.0.1:70000: $(cat err)"
# Seconds are plain decimal (a fraction after a '.'): strtod also took hex
# floats, exponents, "inf" and a sign.
for v in 0x1p3 1e1 inf +5 .5 5. " 5"; do
    expect 2 "migrate --timeout '$v'" -- "$XMIG" migrate --timeout "$v" sim 127.0.0.1:9
    grep -qF "xmig: --timeout takes a number of seconds above 0, at most 86400 (digits, a '.' before a fraction), not '$v'" err && ok ||
        bad "--timeout '$v': $(cat err)"
    expect 2 "migrate --handover-timeout '$v'" -- "$XMIG" migrate --handover-timeout "$v" sim 127.0.0.1:9
    grep -qF "xmig migrate: --handover-timeout takes a number of seconds above 0, at most 86400 (digits, a '.' before a fraction), not '$v'" err && ok ||
        bad "--handover-timeout '$v': $(cat err)"
done
bad_value migrate warmup 0x1p3 "give a number of seconds from 0 to 3600 (digits, a '.' before a fraction)" sim 127.0.0.1:9
bad_value migrate-receive run 1e1 "give a number of seconds from 0 to 86400 (digits, a '.' before a fraction)"
# A peer name is printable ASCII without spaces (certificates carry an
# IDN as xn--); other octets could never match and are refused.
for v in $'a\xffb' $'a\x01b' 'a b' 'hé'; do
    expect 2 "migrate --name '$v'" -- "$XMIG" migrate --name "$v" sim 127.0.0.1:9
    grep -qF "xmig migrate: peer name: octet 1 is 0x" err && ok || bad "--name '$v': $(cat err)"
done
expect 2 "report of a missing file" -- "$XMIG" report /nonexistent
grep -q "cannot open /nonexistent: No such file or directory" err && ok || bad "report /nonexistent: $(cat err)"
expect 1 "list without a daemon" -- "$XMIG" list --control "$T/none.sock"
grep -q "cannot reach xmigd at $T/none.sock" err && ok || bad "list without a daemon: $(cat err)"

# Live progress on a terminal: under a pseudo-terminal (script(1)), a
# migration capped to 4 MiB/s spends ~3 s in round 1; the one progress
# line must be rewritten within that round, in the wording xmig migrate
# uses with a daemon too (tests/daemon.sh checks that side).
PROGRESS_RE='xmig migrate: [a-z0-9]+: [0-9.]+ s, round [0-9]+( \(paused\))? [0-9]+%, memory [0-9]+%: [0-9.]+ MiB sent, [0-9.]+ MiB left, [0-9.]+ MiB/s \(average [0-9.]+\), dirty ([0-9]+|\?) pages/s, expected downtime ([0-9]+ ms|\?), throttle [0-9]+%, ETA ([0-9]+ s|\?)$'
if command -v script >/dev/null; then
    timeout 60 script -qfc "'$XMIG' migrate --bandwidth 4 --sim-memory 12 --sim-fill 100 --warmup 0 --exec \"'$XMIG' migrate-receive --run 0.2\" sim" \
        /dev/null </dev/null >pty.out 2>&1
    tr '\r' '\n' <pty.out | sed 's/\x1b\[K//g' >pty.lines
    n=$(grep -E "$PROGRESS_RE" pty.lines | grep -c ' round 1 ')
    [ "$n" -ge 2 ] && ok || bad "progress line rewritten within round 1 on a terminal ($n times): $(head -c 600 pty.out)"
    grep -q $'\r\x1b\[K' pty.out && ok || bad "on a terminal the progress line is rewritten in place"
    grep -q "xmig migrate: 6 rounds\|xmig migrate: [0-9]* rounds, .* verified" pty.lines && ok ||
        bad "the result follows the progress line: $(tail -c 300 pty.lines)"
else
    bad "script(1) (util-linux) is needed for the pseudo-terminal test"
fi
# Without a terminal: a line per report, the same wording.
expect 0 "migrate sim, progress on a pipe" -- "$XMIG" migrate --sim-memory 8 \
    --warmup 0 --exec "'$XMIG' migrate-receive --run 0.2" sim
grep -qE "$PROGRESS_RE" err && ok || bad "progress wording on a pipe: $(head -3 err)"
# A downtime over its target is said, with the measured parts.
expect 0 "migrate sim, 1 ms downtime target" -- "$XMIG" migrate --downtime 1 \
    --max-iters 1 --sim-memory 8 --warmup 0 --exec "'$XMIG' migrate-receive --run 0.2" sim
grep -qE "warning: downtime [0-9.]+ ms exceeded its 1 ms target \(stop [0-9.]+ ms, last pages and state [0-9.]+ ms, destination [0-9.]+ ms\)" err &&
    ok || bad "downtime warning: $(grep -v 'round' err)"
# (round 1 lasts ~0.5 s, long enough for the guest to dirty pages in it)
expect 0 "migrate sim --json" -- "$XMIG" migrate --json --downtime 1 \
    --max-iters 1 --sim-memory 8 --sim-fill 100 --bandwidth 16 --warmup 0 \
    --exec "'$XMIG' migrate-receive --run 0.2" sim
cp out stats.json
python3 - stats.json <<'PY' && ok || bad "JSON job statistics: $(head -c 400 stats.json)"
import json, sys
d = json.load(open(sys.argv[1]))
j = d["job"]
keys = ("time_elapsed time_remaining downtime setup_time data_total "
        "data_processed data_remaining memory_total memory_processed "
        "memory_remaining memory_constant memory_normal memory_normal_bytes "
        "memory_bps memory_dirty_rate memory_page_size memory_iteration "
        "auto_converge_throttle").split()
missing = [k for k in keys if k not in j]
assert not missing, missing
assert j["memory_total"] == 8 << 20 and j["memory_page_size"] == 4096
assert j["memory_remaining"] == 0 and j["time_remaining"] == 0
assert j["data_processed"] == d["bytes"] and j["memory_iteration"] == d["iterations"]
assert j["memory_normal"] == d["pages_sent"] and j["memory_constant"] == d["zero_pages"]
assert j["memory_normal_bytes"] == 4096 * d["pages_sent"]
assert 0 < j["setup_time"] < j["time_elapsed"]
assert d["downtime_target_ms"] == 1 and "exceeded its 1 ms target" in d["warning"]
assert d["rounds"][0]["dirty_pages_s"] > 0, "round 1's dirty rate"
PY

# xmig report: the rounds on a time axis (seconds) with MiB and MiB/s
# axes, both rates drawn, the downtime marked; valid XML (xmllint).
"$XMIG" migrate --json --bandwidth 16 --sim-memory 32 --warmup 0.3 \
    --exec "'$XMIG' migrate-receive --run 0.2" sim >report.json 2>/dev/null
expect 0 "report" -- "$XMIG" report -o report.svg report.json
if command -v xmllint >/dev/null; then
    xmllint --noout report.svg 2>xmllint.err && ok || bad "xmllint: $(head -3 xmllint.err)"
else
    bad "xmllint (libxml2-utils) is needed to check xmig report's SVG"
fi
python3 - report.json report.svg <<'PY' && ok || bad "report's drawing: see above"
import json, sys, xml.etree.ElementTree as ET
st = json.load(open(sys.argv[1]))
svg = ET.parse(sys.argv[2]).getroot()
ns = {"s": "http://www.w3.org/2000/svg"}
def byid(i):
    e = svg.find(".//*[@id='%s']" % i)
    assert e is not None, "no element " + i
    return e
text = lambda e: "".join(e.itertext())
assert text(byid("x-label")) == "time (s)"
assert "MiB" in text(byid("y-label")) and text(byid("y2-label")) == "MiB/s"
rects = svg.findall(".//s:g[@id='rounds']/s:rect", ns)
rounds = st["rounds"]
assert len(rects) == len(rounds) >= 2, (len(rects), len(rounds))
xs = [float(r.get("x")) for r in rects]
ws = [float(r.get("width")) for r in rects]
assert xs == sorted(xs) and xs[0] > 70, xs
# placed by start_s and duration_s on one time scale
scale = (xs[-1] - xs[0]) / (rounds[-1]["start_s"] - rounds[0]["start_s"])
for r, x, w in zip(rounds, xs, ws):
    assert abs(x - xs[0] - scale * (r["start_s"] - rounds[0]["start_s"])) < 1.0, (x, r)
    assert abs(w - max(1.0, scale * r["duration_s"])) < 1.0, (w, r)
# bar heights in MiB: proportional to the round's bytes
hs = [float(r.get("height")) for r in rects]
k = hs[0] / rounds[0]["bytes"]
assert all(abs(h - k * r["bytes"]) < 1.0 for h, r in zip(hs, rounds)), hs
for i in ("throughput", "dirty-rate"):
    assert len(byid(i).get("points").split()) >= len(rounds) - 1, i
dt = byid("downtime")
assert "downtime %.1f ms" % st["downtime_ms"] in text(dt), text(dt)
PY
expect 1 "report of a file without rounds" -- "$XMIG" report s.xl
grep -q "s.xl" err && ok || bad "report of a non-JSON file names it: $(cat err)"

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
