#!/bin/bash
# The quick-start demo (make demo): write a sample guest image as an xl
# save file, verify it, list it, let Xen's own verifier judge it, and show
# what a damaged copy looks like.  Leaves its files in demo-out/.
set -eu
XMIG=${XMIG:-./xmig}
OUT=demo-out
VS2=/usr/lib/xen-4.17/bin/verify-stream-v2
rm -rf "$OUT" && mkdir -p "$OUT"

echo "== xmig sample: a 64 MiB HVM guest image as an xl save file"
"$XMIG" sample --pages 16384 "$OUT/guest.xl"
ls -l "$OUT/guest.xl"

echo; echo "== xmig verify"
"$XMIG" verify "$OUT/guest.xl"

echo; echo "== xmig dump"
"$XMIG" dump "$OUT/guest.xl"

if [ -x "$VS2" ]; then
    echo; echo "== Xen's own verify-stream-v2 on the same file"
    PYTHONPATH=/usr/lib/xen-4.17/lib/python python3 "$VS2" -f xl \
        -i "$OUT/guest.xl" && echo "verify-stream-v2: accepted"
fi

echo; echo "== a damaged copy: the first PAGE_DATA's reserved field set"
cp "$OUT/guest.xl" "$OUT/damaged.xl"
# Record header (8) + count (4): the reserved u32 sits 12 octets in.
off=$("$XMIG" dump "$OUT/guest.xl" | awk '/PAGE_DATA x/ {print $1; exit}')
printf '\x01' | dd of="$OUT/damaged.xl" bs=1 seek=$((off + 12)) \
    conv=notrunc status=none
if "$XMIG" verify "$OUT/damaged.xl"; then
    echo "demo: the damaged copy was accepted" >&2; exit 1
else
    echo "(xmig verify exited $?: the line above says where and why)"
fi
echo; echo "demo: done; files in $OUT/"
