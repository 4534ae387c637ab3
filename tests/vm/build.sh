#!/bin/bash
# Build the initramfs for the kTLS VM tests (tests/vm/run.sh boots it with
# Debian's linux-image-amd64 kernel under qemu).
#
# Usage: tests/vm/build.sh [OUT]          (OUT defaults to obj/vm)
# Env:   XMIG_LIB  libxmig.a to link tls-pipe with (default ./libxmig.a,
#                  as `make libxmig.a` leaves it in the build directory)
#        KVER      kernel version (default: the newest with both
#                  /boot/vmlinuz-KVER and /lib/modules/KVER/.../tls.ko)
#        XMIG_BIN  the xmig program, for the broker cases (default
#                  ./bin/xmig); copied with the shared libraries it loads
#        CC        C compiler (default cc)
#
# OUT gets initramfs.cpio.gz, kernel (path of the vmlinuz to boot),
# tls-pipe and fake-toolstack (static), certs/ and inputs.sha256.  A build whose inputs hash
# as the last one did is skipped.
#
# The initramfs holds busybox-static, tls.ko with the crypto modules it
# allocates at run time (tls.ko declares no dependency on them, so init
# preloads them), tls-pipe linked statically against Debian's libssl.a and
# libcrypto.a, xmig (for tls-connect, tls-accept and tls-info) with the
# shared libraries ldd names, fake-toolstack (the broker's other end), a
# throwaway PKI from tests/tls/make-certs.sh, and tests/vm/init as /init.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=${1:-obj/vm}
lib=${XMIG_LIB:-libxmig.a}
xmig=${XMIG_BIN:-bin/xmig}
cc=${CC:-cc}

# What init loads, in this order (modprobe resolves dependencies among them).
# tls: the record layer; aesni_intel: gcm(aes) with AES-NI; gcm, ctr,
# ghash_*: the generic gcm(aes) construction, should AES-NI be missing.
modules="tls aesni_intel ghash_clmulni_intel ghash_generic ctr gcm"

die() { echo "vm/build: $*" >&2; exit 1; }
# An ELF executable with no program interpreter is statically linked.
is_static() {
    readelf -h "$1" >/dev/null 2>&1 &&
        ! readelf -l "$1" 2>/dev/null | grep -q 'program interpreter'
}

# ---- the kernel ------------------------------------------------------------
if [ -z "${KVER:-}" ]; then
    KVER=$(for m in /lib/modules/*; do
               k=${m##*/}
               [ -e "/boot/vmlinuz-$k" ] &&
                   ls "$m"/kernel/net/tls/tls.ko* >/dev/null 2>&1 && echo "$k"
           done | sort -V | tail -1)
fi
[ -n "$KVER" ] && [ -r "/boot/vmlinuz-$KVER" ] ||
    die "no readable /boot/vmlinuz-* with a tls.ko in /lib/modules:" \
        "install linux-image-amd64 (.ci/install-deps)"
moddir=/lib/modules/$KVER
is_static /bin/busybox ||
    die "/bin/busybox is missing or not static: install busybox-static"
[ -r "$lib" ] || die "$lib not found: run 'make libxmig.a' (or set XMIG_LIB)"
[ -x "$xmig" ] || die "$xmig not found: run 'make xmig' (or set XMIG_BIN)"
for t in cpio gzip depmod modprobe openssl readelf ldd; do
    command -v "$t" >/dev/null || die "$t not found (.ci/install-deps)"
done

# ---- cache -----------------------------------------------------------------
# The inputs: this script, init, the cert script, tls-pipe and the library,
# busybox, the kernel and its modules, and the versions of the packages that
# provide what is linked in.
mkdir -p "$out"
out=$(cd "$out" && pwd)
hash=$( {
    echo "$KVER $modules $cc"
    sha256sum "$here/build.sh" "$here/init" "$src/tests/tls/make-certs.sh" \
        "$src/tests/tls-pipe.c" "$src/include/xmig.h" "$lib" /bin/busybox \
        "$src/tests/fake-toolstack.c" "$src/tests/broker-api.c" "$xmig" $(ldd "$xmig" |
            awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }') \
        "/boot/vmlinuz-$KVER" | cut -d' ' -f1
    stat -c '%n %s %Y' "$moddir/modules.dep"
    dpkg-query -W libssl-dev libc6-dev busybox-static 2>/dev/null || true
    "$cc" --version | head -1
} | sha256sum | cut -d' ' -f1)
if [ -s "$out/initramfs.cpio.gz" ] && [ -s "$out/inputs.sha256" ] &&
   [ "$(cat "$out/inputs.sha256")" = "$hash" ]; then
    echo "vm/build: up to date ($out/initramfs.cpio.gz)"
    exit 0
fi
rm -f "$out/inputs.sha256"
t0=$(date +%s)

# ---- tls-pipe, static ------------------------------------------------------
# glibc warns that getaddrinfo and dlopen need its shared libraries at run
# time when linked statically; tls-pipe only resolves numeric addresses and
# OpenSSL loads no engine, so the warnings are expected and kept in a log.
"$cc" -O2 -std=c11 -D_GNU_SOURCE -I"$src/include" -static \
    -o "$out/tls-pipe" "$src/tests/tls-pipe.c" "$lib" \
    -lssl -lcrypto -lpthread -lm 2> "$out/link.log" ||
    { cat "$out/link.log" >&2; die "linking tls-pipe statically failed"; }
is_static "$out/tls-pipe" ||
    die "tls-pipe is not statically linked"

# ---- fake-toolstack and broker-api, static ----------------------------------
"$cc" -O2 -std=c11 -D_GNU_SOURCE -static -o "$out/fake-toolstack" \
    "$src/tests/fake-toolstack.c" -lpthread ||
    die "linking fake-toolstack statically failed"
"$cc" -O2 -std=c11 -D_GNU_SOURCE -I"$src/include" -static \
    -o "$out/broker-api" "$src/tests/broker-api.c" "$lib" \
    -lssl -lcrypto -lpthread -lm 2>> "$out/link.log" ||
    { cat "$out/link.log" >&2; die "linking broker-api statically failed"; }

# ---- certificates (kept across builds: make-certs.sh is idempotent) ---------
sh "$src/tests/tls/make-certs.sh" "$out/certs"

# ---- the root file system --------------------------------------------------
root=$out/root
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc/xmig-vm/certs,"lib/modules/$KVER"}
cp /bin/busybox "$root/bin/busybox"
cp "$out/tls-pipe" "$root/bin/tls-pipe"
strip "$root/bin/tls-pipe" 2>/dev/null || true
cp "$out/fake-toolstack" "$root/bin/fake-toolstack"
cp "$out/broker-api" "$root/bin/broker-api"
# xmig as the host built it, with the loader and libraries it names.
cp "$xmig" "$root/bin/xmig"
strip "$root/bin/xmig" 2>/dev/null || true
ldd "$xmig" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
while read -r so; do
    mkdir -p "$root$(dirname "$so")"
    cp -L "$so" "$root$so"
done
for f in ca.pem server.pem server-key.pem client.pem client-key.pem; do
    cp "$out/certs/$f" "$root/etc/xmig-vm/certs/"
done
install -m 755 "$here/init" "$root/init"
echo "$modules" > "$root/etc/xmig-vm/modules"

# Each module and what it depends on, decompressed, where the kernel's own
# tree has it; depmod then indexes just these for busybox's modprobe.
for m in $modules; do
    modprobe -S "$KVER" --show-depends "$m" 2>/dev/null ||
        die "kernel $KVER has no module $m"
done | awk '$1 == "insmod" { print $2 }' | sort -u |
while read -r ko; do
    rel=${ko#"$moddir"/}
    mkdir -p "$root/lib/modules/$KVER/$(dirname "$rel")"
    case $ko in
        *.ko.xz) xz -dc "$ko" > "$root/lib/modules/$KVER/${rel%.xz}" ;;
        *.ko.zst) zstd -qdc "$ko" > "$root/lib/modules/$KVER/${rel%.zst}" ;;
        *.ko.gz) gzip -dc "$ko" > "$root/lib/modules/$KVER/${rel%.gz}" ;;
        *) cp "$ko" "$root/lib/modules/$KVER/$rel" ;;
    esac
done
for f in modules.builtin modules.builtin.modinfo modules.order; do
    [ -e "$moddir/$f" ] && cp "$moddir/$f" "$root/lib/modules/$KVER/"
done
depmod -b "$root" "$KVER"

(cd "$root" && find . -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc --quiet) | gzip -1 > "$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
rm -rf "$root"
echo "/boot/vmlinuz-$KVER" > "$out/kernel"
echo "$hash" > "$out/inputs.sha256"
echo "vm/build: $out/initramfs.cpio.gz" \
     "($(du -k "$out/initramfs.cpio.gz" | cut -f1) KiB, kernel $KVER," \
     "$(( $(date +%s) - t0 )) s)"
