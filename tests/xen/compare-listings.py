#!/usr/bin/env python3
"""Compare `xmig dump FILE` with Xen's `verify-stream-v2 -v -f xl -i FILE`.

Usage: compare-listings.py DUMP VS2 [MIN]

Reduces both listings to one entry per record -- layer, type, length --
plus the libxc domain header (guest type, Xen version).  Runs of PAGE_DATA
become "Libxc Page data x N", as both tools squash them.  Passes only when
both lists are equal, hold at least MIN entries (default 8) and include
page data and an END record of each layer, so that two empty or truncated
listings cannot agree by accident.  Prints the agreed list (or both lists
and where they part) on stdout.
"""
import re
import sys

NAMES = {
    "PAGE_DATA": "Page data", "X86_PV_INFO": "x86 PV info",
    "X86_PV_P2M_FRAMES": "x86 PV P2M frames",
    "X86_PV_VCPU_BASIC": "x86 PV vcpu basic",
    "X86_PV_VCPU_EXTENDED": "x86 PV vcpu extended",
    "X86_PV_VCPU_XSAVE": "x86 PV vcpu xsave",
    "X86_PV_VCPU_MSRS": "x86 PV vcpu msrs", "SHARED_INFO": "Shared info",
    "X86_TSC_INFO": "TSC info", "HVM_CONTEXT": "HVM context",
    "HVM_PARAMS": "HVM params", "VERIFY": "Verify",
    "CHECKPOINT": "Checkpoint", "STATIC_DATA_END": "Static data end",
    "X86_CPUID_POLICY": "x86 CPUID policy",
    "X86_MSR_POLICY": "x86 MSR policy", "END": "End",
    "LIBXC_CONTEXT": "Libxc context",
    "EMULATOR_XENSTORE_DATA": "Emulator xenstore data",
    "EMULATOR_CONTEXT": "Emulator context",
    "CHECKPOINT_END": "Checkpoint end",
    "CHECKPOINT_STATE": "Checkpoint state",
}


def from_xmig(text):
    out = []
    for line in text.splitlines():
        m = re.match(r"\s*\d+\s+libxc domain header: (.+?), from Xen (\S+)",
                     line)
        if m:
            out.append("Domain %s Xen %s" % m.groups())
            continue
        m = re.match(r"\s*\d+\s+(libxl|libxc) (\w+)(?: x (\d+) \(squashed\)"
                     r"| \(0x[0-9a-f]+\), length (\d+))", line)
        if not m:
            continue
        layer, rec, squashed, length = m.groups()
        if squashed:
            out.append("Libxc Page data x %s" % squashed)
        elif rec == "PAGE_DATA":
            out.append("Libxc Page data x 1")
        else:
            out.append("%s %s %s" % (layer.capitalize(), NAMES.get(rec, rec),
                                     length))
    return out


def from_vs2(text):
    out = []
    for line in text.splitlines():
        m = re.match(r"Domain Header: (.+?) from Xen (\S+)", line)
        if m:
            out.append("Domain %s Xen %s" % m.groups())
            continue
        m = re.match(r"Squashed (\d+) Page Data records together", line)
        if m:
            out.append("Libxc Page data x %s" % m.group(1))
            continue
        m = re.match(r"(Libxl|Libxc) Record: (.*), length (\d+)", line)
        if m:
            if m.group(2) == "Page data":   # a lone one is not squashed
                out.append("Libxc Page data x 1")
            else:
                out.append("%s %s %s" % m.groups())
    return out


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    ours = from_xmig(open(sys.argv[1], errors="replace").read())
    theirs = from_vs2(open(sys.argv[2], errors="replace").read())
    need = int(sys.argv[3]) if len(sys.argv) == 4 else 8
    why = []
    if ours != theirs:
        n = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b),
                 min(len(ours), len(theirs)))
        why.append("lists differ at entry %d" % n)
    for name, lst in (("xmig dump", ours), ("verify-stream-v2", theirs)):
        if len(lst) < need:
            why.append("%s lists %d entries (want >= %d)"
                       % (name, len(lst), need))
        if not any(e.startswith("Libxc Page data") for e in lst):
            why.append("%s lists no page data" % name)
        for end in ("Libxc End 0", "Libxl End 0"):
            if end not in lst:
                why.append("%s lists no '%s'" % (name, end))
    if why:
        print("; ".join(why))
        print("xmig dump:        %s" % ours)
        print("verify-stream-v2: %s" % theirs)
        sys.exit(1)
    print("%d entries agree: %s" % (len(ours), " | ".join(ours)))


main()
