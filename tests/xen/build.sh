#!/bin/bash
# Build what tests/xen/run.sh boots: Debian 12's Xen 4.17 with a Debian
# dom0, under qemu TCG, and a tiny PVH guest to save and restore.
#
# Usage: tests/xen/build.sh [OUT]          (OUT defaults to obj/xen)
# Needs: root (debootstrap), network access to deb.debian.org,
#        debootstrap busybox-static e2fsprogs cpio binutils (.ci/install-deps),
#        about 2.5 GB in OUT.
#
# OUT gets
#   rootfs/          the dom0 root (debootstrap bookworm, minbase + Xen)
#   xen              the hypervisor, uncompressed: qemu's multiboot loader
#                    cannot take xen.gz
#   vmlinuz initrd.img   the dom0 kernel and Debian's initramfs for it
#   dom0.img         the root as an ext4 image (run.sh boots it read-only)
#   guest/vmlinuz guest/initrd.cpio.gz   the PVH guest: the same Debian
#                    kernel and a busybox initramfs running guest-init
# Two stages, each cached on a hash of what it is built from: the rootfs on
# its package list, suite and mirror (so that editing the rest of this
# script does not download it all again), the images on this script itself
# and the two init scripts.  A second run with nothing changed rebuilds nothing.
# xmig itself is not in the images: run.sh puts it on a work disk, so a
# rebuilt xmig needs no new images.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-obj/xen}
mirror=${XEN_MIRROR:-http://deb.debian.org/debian}
# Xen 4.17's toolstack and hypervisor, a kernel for dom0 and the guest,
# udev so that Debian's initramfs loads virtio_blk and finds the root,
# libssl3 and libjansson4 for the dynamically linked xmig, python3-minimal for Xen's own
# verify-stream-v2, iproute2/procps for the scripts; qemu-system-xen and
# seabios, the device model and firmware of the HVM guest that xmig must
# refuse (libxl starts /usr/libexec/xen-qemu-system-i386 from the former).
packages=xen-utils-4.17,xen-hypervisor-4.17-amd64,linux-image-amd64
packages+=,initramfs-tools,udev,kmod,busybox,libssl3,python3-minimal
packages+=,iproute2,procps,qemu-system-xen,seabios,libjansson4

die() { echo "xen/build: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap and chroot)"
for t in debootstrap mkfs.ext4 cpio gzip zcat sha256sum readelf; do
    command -v "$t" >/dev/null || die "$t not found (.ci/install-deps)"
done
[ -x /bin/busybox ] && ! readelf -l /bin/busybox | grep -q interpreter ||
    die "/bin/busybox is missing or not static: install busybox-static"
mkdir -p "$out"
out=$(cd "$out" && pwd)
# qemu's -initrd takes a comma-separated list: no commas in paths.
case $out in *,*) die "no commas allowed in the output path: $out" ;; esac

t0=$(date +%s)
rootkey=$(echo "bookworm $mirror $packages" | sha256sum | cut -d' ' -f1)
root=$out/rootfs

# ---- stage 1: the dom0 root (2.5-3.5 minutes, mostly downloads) ------------
# From bookworm main only, no bookworm-security: Xen is then the point
# release's (4.17.5+72 in 2026-11), whose hypervisor still has shadow
# paging, so that PV guests could live-migrate too.
# debootstrap mounts proc, sys (and, in a container, may bind /dev) in the
# root while it works: an interrupted run can leave them mounted, and
# removing the root must not reach through them into the host's.
unmount_root() {
    awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/mounts |
        sort -r | while read -r m; do umount -l "$m"; done
}
if [ "$(cat "$out/rootfs.sha256" 2>/dev/null)" != "$rootkey" ]; then
    unmount_root
    rm -rf --one-file-system "$root" "$out/rootfs.sha256" "$out/images.sha256"
    echo "xen/build: debootstrap bookworm into $root"
    timeout 1800 debootstrap --variant=minbase --include="$packages" \
        bookworm "$root" "$mirror" > "$out/debootstrap.log" 2>&1 ||
        { tail -20 "$out/debootstrap.log" >&2; die "debootstrap failed"; }
    # Keep the image small: no package cache, no docs.
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/usr/share/doc \
           "$root"/usr/share/man "$root"/usr/share/locale
    unmount_root
    echo "$rootkey" > "$out/rootfs.sha256"
fi
ls "$root"/boot/xen-4.17-amd64.gz "$root"/usr/lib/xen-4.17/bin/xl \
   "$root"/usr/lib/x86_64-linux-gnu/libssl.so.3 >/dev/null ||
    die "the root lacks Xen, xl or libssl3: remove $out/rootfs.sha256"

# ---- stage 2: boot files, dom0 image, guest ---------------------------------
hash=$(cat "$here/build.sh" "$here/dom0-init" "$here/guest-init" |
       sha256sum | cut -d' ' -f1)
if [ "$(cat "$out/images.sha256" 2>/dev/null)" = "$hash" ] &&
   [ -s "$out/dom0.img" ]; then
    echo "xen/build: up to date ($out)"
    exit 0
fi
rm -f "$out/images.sha256"
kver=$(ls "$root"/boot/vmlinuz-* | sed 's|.*/vmlinuz-||' | sort -V | tail -1)
zcat "$root/boot/xen-4.17-amd64.gz" > "$out/xen"
cp "$root/boot/vmlinuz-$kver" "$out/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$out/initrd.img"
install -m 755 "$here/dom0-init" "$root/sbin/xen-rig-init"
mkdir -p "$root/work"
rm -f "$out/dom0.img"
mkfs.ext4 -q -L dom0root -d "$root" "$out/dom0.img" 2G > /dev/null

# The guest: busybox and guest-init as /init, nothing else.
g=$out/guest-root
rm -rf "$g"
mkdir -p "$g"/{bin,proc,sys,dev} "$out/guest"
cp /bin/busybox "$g/bin/busybox"
install -m 755 "$here/guest-init" "$g/init"
(cd "$g" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) |
    gzip -1 > "$out/guest/initrd.cpio.gz"
rm -rf "$g"
cp "$out/vmlinuz" "$out/guest/vmlinuz"

echo "$hash" > "$out/images.sha256"
echo "xen/build: $out ready (kernel $kver," \
     "xen $(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Version}' \
            xen-hypervisor-4.17-amd64), $(( $(date +%s) - t0 )) s)"
