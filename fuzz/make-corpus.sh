#!/bin/sh
# make-corpus.sh OUTDIR: regenerate the fuzz seed corpus under
# OUTDIR/fuzz_<harness> for every harness in fuzz/.
#
# Seeds are small synthetic images from `$XMIG sample` (every format and
# guest type, a few pages each, with and without xmig's transparent
# records), hand-spliced valid variants the sampler never writes (v2
# images, 32-bit PV, checkpoints, unknown optional records, an xl file
# without config), and a few broken ones (truncated, trailing data, bad
# magic, reserved pfn type, nonzero padding).  Every seed meant to
# be valid is checked with `$XMIG verify`, so a drift in the sampler or the
# dump layout this script reads offsets from, or in the rules, fails here
# rather than leaving seeds that no longer mean what their names say.
set -eu

XMIG=${XMIG:-xmig}

if [ $# -ne 1 ]; then
    echo "usage: XMIG=path/to/xmig $0 OUTDIR" >&2
    exit 2
fi
out=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/xmig-corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

die() {
    echo "make-corpus: $*" >&2
    exit 1
}

# ---- octet helpers (POSIX sh + dd, no xxd) ----------------------------

size_of() {
    wc -c <"$1" | tr -d ' '
}

# slice FILE START COUNT: COUNT octets from START to stdout.
slice() {
    dd if="$1" bs=1 skip="$2" count="$3" 2>/dev/null
}

# tail_from FILE START: octets from START to the end.
tail_from() {
    tail -c +"$(($2 + 1))" "$1"
}

# poke FILE OFFSET OCTAL: overwrite one octet in place, e.g. '\377'.
# (printf formats are the escapes on purpose, here and in le32.)
# shellcheck disable=SC2059
poke() {
    printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# le32 N: four little-endian octets.
# shellcheck disable=SC2059
le32() {
    printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($1 & 255)) \
        $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"
}

# record TYPE TEXT: a record whose body is TEXT, zero-padded to 8 octets.
record() {
    len=${#2}
    le32 "$1"
    le32 "$len"
    printf '%s' "$2"
    pad=$(((8 - len % 8) % 8))
    while [ "$pad" -gt 0 ]; do
        printf '\000'
        pad=$((pad - 1))
    done
}

# u32_at FILE OFFSET: the little-endian u32 at OFFSET, in decimal.
u32_at() {
    # shellcheck disable=SC2046 # od's four numbers become $1..$4
    set -- $(slice "$1" "$2" 4 | od -An -tu1)
    echo $(($1 + 256 * ($2 + 256 * ($3 + 256 * $4))))
}

# at FILE LAYER WORD: offset of the first dump line "LAYER WORD", e.g.
# "libxc END" or "libxl header:".
at() {
    off=$("$XMIG" dump "$1" | awk -v l="$2" -v w="$3" \
        '$2 == l && $3 == w { print $1; exit }')
    [ -n "$off" ] || die "no '$2 $3' in $1"
    echo "$off"
}

# ---- seeds --------------------------------------------------------------

# valid NAME FORMAT: check a seed meant to be valid and keep it.
valid() {
    "$XMIG" verify "$work/$1" >/dev/null ||
        die "$1 should be a valid $2 stream"
    cp "$work/$1" "$out/fuzz_$2/$1.bin"
}

# broken NAME FORMAT: keep a seed meant to fail, and make sure it does.
broken() {
    if "$XMIG" verify "$work/$1" >/dev/null 2>&1; then
        die "$1 should not verify"
    fi
    cp "$work/$1" "$out/fuzz_$2/$1.bin"
}

sample() {
    name=$1
    shift
    "$XMIG" sample "$@" "$work/$name" || die "xmig sample $* failed"
}

for f in receive xlconfig ctl qmp conf tlsopts; do
    rm -rf "$out/fuzz_$f"
    mkdir -p "$out/fuzz_$f"
done
for f in libxc libxl xl; do
    rm -rf "$out/fuzz_$f"
    mkdir -p "$out/fuzz_$f"

    # Plain samples: both guest types, one to a few pages, a verify pass,
    # and an HVM guest without pages (a PV image must carry some).
    for kind in hvm pv; do
        flag=
        [ "$kind" = pv ] && flag=--pv
        sample "$f-$kind-p1" --format "$f" $flag --pages 1 --seed 2
        sample "$f-$kind-p3" --format "$f" $flag --pages 3 --seed 3
        sample "$f-$kind-verify" --format "$f" $flag --pages 2 --seed 4 \
            --verify
        for p in p1 p3 verify; do
            valid "$f-$kind-$p" "$f"
        done
        if [ "$f" != libxc ]; then
            sample "$f-$kind-xs" --format "$f" $flag --pages 1 --seed 5 \
                --emulator-xenstore
            valid "$f-$kind-xs" "$f"
        fi
    done
    sample "$f-hvm-p0" --format "$f" --pages 0 --seed 1
    valid "$f-hvm-p0" "$f"

    # Transparent (xmig's own) records: 2-level event channels with a v1
    # grant table, FIFO with v2; libxl adds xenstore nodes and watches.
    for abi in 2l fifo; do
        sample "$f-transparent-$abi" --format "$f" --pages 1 --seed 7 \
            --transparent "$abi"
        valid "$f-transparent-$abi" "$f"
    done

    # Broken: cut in half, one octet short, one octet too many, bad magic.
    src=$work/$f-hvm-p1
    n=$(size_of "$src")
    slice "$src" 0 $((n / 2)) >"$work/$f-trunc-half"
    slice "$src" 0 $((n - 1)) >"$work/$f-trunc-1"
    { cat "$src"; printf '\000'; } >"$work/$f-trailing"
    cp "$src" "$work/$f-bad-magic"
    poke "$work/$f-bad-magic" 0 '\000'
    # The first pfn word of the first PAGE_DATA gets reserved type 5.
    cp "$src" "$work/$f-pfn-type"
    poke "$work/$f-pfn-type" $(($(at "$src" libxc PAGE_DATA) + 23)) '\120'
    for b in trunc-half trunc-1 trailing bad-magic pfn-type; do
        broken "$f-$b" "$f"
    done
done

# libxc: one image over 64 KiB, the reader's first buffer: read from an fd
# (fuzz_libxc's second pass) it makes the buffer compact and grow.
sample libxc-hvm-big --format libxc --pages 24 --seed 6
valid libxc-hvm-big libxc

# libxc: v2 images (the v3-only policies and STATIC_DATA_END cut out, the
# version patched), a 32-bit PV guest, an unknown optional record.
for kind in hvm pv; do
    src=$work/libxc-$kind-p1
    from=$(at "$src" libxc X86_CPUID_POLICY)
    to=$(($(at "$src" libxc STATIC_DATA_END) + 8))
    { slice "$src" 0 "$from"; tail_from "$src" "$to"; } >"$work/libxc-$kind-v2"
    poke "$work/libxc-$kind-v2" 15 '\002'
    valid "libxc-$kind-v2" libxc
done
src=$work/libxc-pv-p3
cp "$src" "$work/libxc-pv32"
body=$(($(at "$src" libxc X86_PV_INFO) + 8))
poke "$work/libxc-pv32" "$body" '\004'
poke "$work/libxc-pv32" $((body + 1)) '\003'
valid libxc-pv32 libxc
n=$(size_of "$src")
{
    slice "$src" 0 $((n - 8))
    record $((0x80001234)) hello
    tail_from "$src" $((n - 8))
} >"$work/libxc-optional"
valid libxc-optional libxc

# libxl: a checkpointed stream (libxc CHECKPOINT, libxl CHECKPOINT_STATE
# and CHECKPOINT_END, then the libxc image resumes by itself with the
# pages again and ends), an unknown optional libxl record, nonzero padding.
for kind in hvm pv; do
    src=$work/libxl-$kind-xs
    end=$(at "$src" libxc END)
    pages=$(at "$src" libxc PAGE_DATA)
    {
        slice "$src" 0 "$end"
        record $((0xE)) ''
        printf '\005\000\000\000\010\000\000\000\001\000\000\000\000\000\000\000'
        record 4 ''
        slice "$src" "$pages" $((8 + $(u32_at "$src" $((pages + 4)))))
        tail_from "$src" "$end"
    } >"$work/libxl-$kind-checkpoint"
    valid "libxl-$kind-checkpoint" libxl
done
src=$work/libxl-hvm-xs
n=$(size_of "$src")
{
    slice "$src" 0 $((n - 8))
    record $((0x80004321)) abc
    tail_from "$src" $((n - 8))
} >"$work/libxl-optional"
valid libxl-optional libxl
# EMULATOR_XENSTORE_DATA's body is not a multiple of 8: spoil its padding.
cp "$src" "$work/libxl-bad-padding"
xs=$(at "$src" libxl EMULATOR_XENSTORE_DATA)
len=$(u32_at "$src" $((xs + 4)))
[ $((len % 8)) -ne 0 ] || die "xenstore record needs padding"
poke "$work/libxl-bad-padding" $((xs + 8 + len)) '\001'
broken libxl-bad-padding libxl

# xl: the libxl variants behind an xl header, and an xl file whose header
# carries no config at all.
hdr=$(at "$work/xl-hvm-xs" libxl header:)
for v in hvm-checkpoint pv-checkpoint optional; do
    { slice "$work/xl-hvm-xs" 0 "$hdr"; cat "$work/libxl-$v"; } >"$work/xl-$v"
    valid "xl-$v" xl
done
{
    slice "$work/xl-hvm-xs" 0 32
    le32 $((0x01020304))
    le32 2
    le32 0
    le32 0
    cat "$work/libxl-pv-p1"
} >"$work/xl-no-config"
valid xl-no-config xl

# fuzz_receive: the engine's receive path takes the xl seeds (a sim guest
# is built from each and fed every record).
for v in hvm-p1 hvm-p3 hvm-xs pv-p1 hvm-checkpoint optional no-config; do
    cp "$work/xl-$v" "$out/fuzz_receive/xl-$v.bin"
done

# fuzz_xlconfig: the configs the sampler writes, a libxl-shaped one with
# the members xmig reads, and a few that must be refused.
for v in hvm-p1 pv-p1; do
    src=$work/xl-$v
    len=$(u32_at "$src" 48)
    slice "$src" 52 $((len - 1)) >"$out/fuzz_xlconfig/xl-$v.json"
done
printf '%s' '{"c_info": {"type": "hvm", "name": "web01", "uuid": "5e9c1f2a-0d6e-4a31-9b8e-1f0a2b3c4d5e"}, "b_info": {"max_vcpus": 2, "max_memkb": 1048576, "target_memkb": 1048576, "device_model_version": "qemu_xen", "type.hvm": {"firmware": "seabios", "acpi": "True"}}, "disks": [{"pdev_path": "/dev/vg/web01", "vdev": "xvda", "format": "raw"}], "nics": [{"bridge": "xenbr0", "mac": "00:16:3e:00:00:01"}], "on_reboot": "restart"}' \
    >"$out/fuzz_xlconfig/libxl-hvm.json"
printf '%s' '{"c_info": {"name": "a"}, "b_info": {"max_memkb": 65536}, "c_info": {}}' \
    >"$out/fuzz_xlconfig/duplicate.json"
printf '%s' '{"c_info": {"name": "x\u0000y"}}' >"$out/fuzz_xlconfig/nul.json"
printf '%s' '{"b_info": {"max_memkb": "64"}}' >"$out/fuzz_xlconfig/string-kb.json"

# fuzz_ctl: one request of every operation, and some that must be refused.
i=0
for req in '{"op": "ping"}' '{"op": "list"}' \
    '{"op": "create", "name": "web1", "memory_mib": 64, "vcpus": 2, "workload": "stress", "rate": 100, "fill": 50, "domid": 7, "seed": 3}' \
    '{"op": "destroy", "guest": "web1"}' \
    '{"op": "migrate", "guest": "web1", "destination": "hostb:5600", "downtime_ms": 300, "bandwidth_mib": 100, "max_iters": 30, "auto_converge": true, "transparent": false, "verify": true, "tls": "ktls"}' \
    '{"op": "status"}' '{"op": "status", "migration": 3}' \
    '{"op": "cancel", "migration": 3}' \
    '{"op": "save", "guest": "web1", "path": "/var/lib/xmig/web1.xl", "keep": true}' \
    '{"op": "restore", "path": "/var/lib/xmig/web1.xl", "name": "web2"}' \
    '{"op": "destroy", "guest": "a\u0000b"}' '{"op": "list", "op": "ping"}' \
    '{"op": "create", "name": "x", "memory_mib": 1e3}' \
    '{"op": "migrate", "guest": "web1", "destination": "hostb:5600", "timeout_s": 1.5, "handover_timeout_s": 0.25}'; do
    i=$((i + 1))
    printf '%s' "$req" >"$out/fuzz_ctl/request-$i.json"
done

# fuzz_qmp: the lines qemu sends: a greeting, replies, errors, events.
i=0
for line in \
    '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7"}, "capabilities": []}}' \
    '{"return": {}}' '{"return": {"fdset-id": 7, "fd": 31}, "id": 2}' \
    '{"error": {"class": "GenericError", "desc": "Migration is disabled when VirtFS export path is NULL"}}' \
    '{"timestamp": {"seconds": 1701600000, "microseconds": 12}, "event": "STOP"}' \
    '{"return": {"status": "paused", "singlestep": false, "running": false}}' \
    '{"return": {}, "return": {}}'; do
    i=$((i + 1))
    printf '%s\r' "$line" >"$out/fuzz_qmp/line-$i.json"
done

# fuzz_conf: the example configuration, and one with every key.
here=$(cd "$(dirname "$0")/.." && pwd)
cp "$here/dist/xmigd.conf.example" "$out/fuzz_conf/example.conf"
cat >"$out/fuzz_conf/every-key.conf" <<'CONF'
listen = 10.0.0.1:5600
control = /run/xmig/xmigd.sock
tls = ktls
cert = /etc/xmig/hosta.pem
key = /etc/xmig/hosta-key.pem
ca = /etc/xmig/ca.pem
pin = 9F:2B:D1:55:24:2F:95:FF:AD:34:8B:44:F1:20:B9:83:57:6B:F7:CA:41:E5:D3:98:75:5F:B1:02:99:F4:83:A1
peer_name = hostb
insecure = no
backend = xen
max_parallel_per_link = 2
max_memory_mib = 65536
log = syslog
handshake_timeout = 10
io_timeout = 2.5
handover_timeout = 30
handover_expiry = resume
max_handshakes = 64
max_handshakes_per_source = 4
CONF

# fuzz_tlsopts: pin, mode, cipher, peer name, one a line.
printf '%s\n%s\n%s\n%s' \
    9F:2B:D1:55:24:2F:95:FF:AD:34:8B:44:F1:20:B9:83:57:6B:F7:CA:41:E5:D3:98:75:5F:B1:02:99:F4:83:A1 \
    ktls ECDHE-RSA-AES256-GCM-SHA384 hostb >"$out/fuzz_tlsopts/colons.txt"
printf '%s\n%s\n%s\n%s' \
    9f2bd155242f95ffad348b44f120b983576bf7ca41e5d398755fb10299f483a1 \
    auto TLS_AES_128_GCM_SHA256 10.0.0.2 >"$out/fuzz_tlsopts/hex.txt"
printf '%s\n%s\n%s\n%s' 9F:2B: sometimes RC4-MD5 '' >"$out/fuzz_tlsopts/bad.txt"

for f in libxc libxl xl receive xlconfig ctl qmp conf tlsopts; do
    echo "make-corpus: fuzz_$f: $(ls "$out/fuzz_$f" | wc -l | tr -d ' ') seeds," \
        "$(cat "$out/fuzz_$f"/* | wc -c | tr -d ' ') octets"
done
