#!/usr/bin/env python3
"""Independent conformance cases for xmig's stream verifier.

Written from the Xen specifications only:

  * docs/specs/libxc-migration-stream.pandoc   (libxc "Domain Image Format", rev 3)
  * docs/specs/libxl-migration-stream.pandoc   (libxl "Migration Stream Format")
  * the Xen public headers (hvm/save.h, arch-x86/hvm/save.h, arch-x86/xen.h,
    domctl.h) for the structures carried inside records
  * the xl save-file header as written by xl (magic, byte-order marker,
    mandatory/optional flags, optional data holding the domain config)

Usage:  specgen.py OUTDIR

Every case becomes OUTDIR/<name>.bin, and OUTDIR/manifest.tsv gets one line

    name  format  expect  rule  options

format:  libxc | libxl | xl  (the value for `xmig verify --format`)
expect:  accept | reject
rule:    a short description of the rule the case exercises
options: comma-separated list, or "-":
           allow-trailing  run the verifier with --allow-trailing
           no-xen          do not cross-check with Xen's verify-stream-v2
                           (known limitations of that tool, see NO_XEN below)

Each rejected case is one valid stream with exactly one rule broken, so
that a rejection for an unrelated reason cannot hide behind it.
"""

import json
import os
import struct
import sys

PAGE_SIZE = 4096

# --------------------------------------------------------------------------
# libxc image format (libxc-migration-stream, sections 3 and 4)
# --------------------------------------------------------------------------

IHDR_MARKER = 0xFFFFFFFFFFFFFFFF
IHDR_ID = 0x58454E46                    # "XENF"
IHDR_OPT_BIG_ENDIAN = 1 << 0

DHDR_X86_PV = 1
DHDR_X86_HVM = 2

END = 0x00
PAGE_DATA = 0x01
X86_PV_INFO = 0x02
X86_PV_P2M_FRAMES = 0x03
X86_PV_VCPU_BASIC = 0x04
X86_PV_VCPU_EXTENDED = 0x05
X86_PV_VCPU_XSAVE = 0x06
SHARED_INFO = 0x07
X86_TSC_INFO = 0x08
HVM_CONTEXT = 0x09
HVM_PARAMS = 0x0A
TOOLSTACK = 0x0B
X86_PV_VCPU_MSRS = 0x0C
VERIFY = 0x0D
CHECKPOINT = 0x0E
CHECKPOINT_DIRTY_PFN_LIST = 0x0F
STATIC_DATA_END = 0x10
X86_CPUID_POLICY = 0x11
X86_MSR_POLICY = 0x12
OPTIONAL = 0x80000000                   # bit 31: optional record

# PAGE_DATA pfn word: bits 63-60 type, 59-52 reserved, 51-0 pfn.
# Types are XEN_DOMCTL_PFINFO_* from domctl.h (shifted by 32 in the stream).
NOTAB, L1TAB, L2TAB, L3TAB, L4TAB = 0x0, 0x1, 0x2, 0x3, 0x4
L1TAB_PIN, L2TAB_PIN, L3TAB_PIN, L4TAB_PIN = 0x9, 0xA, 0xB, 0xC
BROKEN, XALLOC, XTAB = 0xD, 0xE, 0xF
NO_DATA_TYPES = (BROKEN, XALLOC, XTAB)

# HVM save records (public/hvm/save.h, public/arch-x86/hvm/save.h)
HVM_SAVE_END = 0
HVM_SAVE_HEADER = 1
HVM_SAVE_PMTIMER = 13
HVM_SAVE_TSC_ADJUST = 19
HVM_SAVE_CPU_MSR = 20
HVM_SAVE_CODE_MAX = 20
HVM_FILE_MAGIC = 0x54381286
HVM_FILE_VERSION = 1

# HVM params (public/hvm/params.h)
HVM_PARAM_STORE_PFN = 1
HVM_PARAM_CONSOLE_PFN = 17

# --------------------------------------------------------------------------
# libxl stream format (libxl-migration-stream, sections 3 to 5)
# --------------------------------------------------------------------------

LIBXL_IDENT = 0x4C6962786C466D74        # "LibxlFmt"
LIBXL_VERSION = 2
LIBXL_OPT_BIG_ENDIAN = 1 << 0
LIBXL_OPT_LEGACY = 1 << 1

LXL_END = 0
LXL_LIBXC_CONTEXT = 1
LXL_EMULATOR_XENSTORE_DATA = 2
LXL_EMULATOR_CONTEXT = 3
LXL_CHECKPOINT_END = 4
LXL_CHECKPOINT_STATE = 5

EMULATOR_UNKNOWN = 0
EMULATOR_QEMU_TRADITIONAL = 1
EMULATOR_QEMU_UPSTREAM = 2

# --------------------------------------------------------------------------
# xl save-file header
# --------------------------------------------------------------------------

XL_MAGIC = b"Xen saved domain, xl format\n \0 \r"
XL_BYTEORDER = 0x01020304
XL_FLAG_JSON = 1 << 0
XL_FLAG_STREAMV2 = 1 << 1


# ==========================================================================
# Encoding primitives
# ==========================================================================

def u32(value):
    return struct.pack("<I", value)


def u64(value):
    return struct.pack("<Q", value)


def record(rtype, body=b"", padding=None):
    """A record: {u32 type, u32 body_length}, body, padding to 8 octets.

    padding: None for the correct zero padding, else the exact octets to use.
    """
    if padding is None:
        padding = bytes(-len(body) % 8)
    return struct.pack("<II", rtype, len(body)) + body + padding


def page_contents(pfn):
    """Deterministic, recognisable page contents."""
    return u64(0x5350454347454E00 | (pfn & 0xFF)) * (PAGE_SIZE // 8)


# A stream's records are kept as a list of (tag, octets) so that a case can
# replace, drop or insert a record by tag before the image is assembled.

def rec(tag, rtype, body=b"", padding=None):
    return (tag, record(rtype, body, padding))


def raw(tag, octets):
    return (tag, octets)


def _index(recs, tag):
    for i, (t, _) in enumerate(recs):
        if t == tag:
            return i
    raise KeyError("no record tagged %r" % tag)


def replace(recs, tag, *new):
    i = _index(recs, tag)
    return recs[:i] + list(new) + recs[i + 1:]


def drop(recs, *tags):
    return [r for r in recs if r[0] not in tags]


def insert_before(recs, tag, *new):
    i = _index(recs, tag)
    return recs[:i] + list(new) + recs[i:]


def insert_after(recs, tag, *new):
    i = _index(recs, tag)
    return recs[:i + 1] + list(new) + recs[i + 1:]


def move_before(recs, tag, anchor):
    """Move the record tagged `tag` in front of the one tagged `anchor`."""
    item = recs[_index(recs, tag)]
    rest = [r for r in recs if r is not item]
    return insert_before(rest, anchor, item)


def join(recs):
    return b"".join(octets for _, octets in recs)


# ==========================================================================
# libxc headers and record bodies
# ==========================================================================

def image_header(version=3, marker=IHDR_MARKER, ident=IHDR_ID, options=0,
                 reserved=b"\0" * 6):
    """Image header, always big-endian: marker, id, version, options, 6 reserved."""
    return struct.pack(">QIIH", marker, ident, version, options) + reserved


def domain_header(dtype, page_shift=12, reserved=0, xen_major=4, xen_minor=17):
    """Domain header, little-endian: u32 type, u16 page_shift, u16 reserved,
    u32 xen_major, u32 xen_minor."""
    return struct.pack("<IHHII", dtype, page_shift, reserved, xen_major, xen_minor)


def page_data(pages, count=None, reserved=0, data=None):
    """PAGE_DATA body.  pages: list of (pfn, type) or raw 64-bit pfn words
    (int).  Page contents follow for every pfn whose type carries data,
    unless `data` gives the exact octets to append."""
    words = []
    for p in pages:
        words.append(p if isinstance(p, int) else (p[1] << 60) | p[0])
    if data is None:
        data = b"".join(page_contents(w & ((1 << 52) - 1))
                        for w in words if (w >> 60) not in NO_DATA_TYPES)
    if count is None:
        count = len(words)
    return (struct.pack("<II", count, reserved)
            + b"".join(u64(w) for w in words) + data)


def pv_info(width=8, levels=4, res16=0, res32=0):
    """X86_PV_INFO: u8 guest_width, u8 pt_levels, u16 + u32 reserved."""
    return struct.pack("<BBHI", width, levels, res16, res32)


def p2m_frames(start, end, frames):
    """X86_PV_P2M_FRAMES: u32 start, u32 end, u64 p2m_pfn[]."""
    return struct.pack("<II", start, end) + b"".join(u64(f) for f in frames)


def vcpu(vcpu_id, context, reserved=0):
    """X86_PV_VCPU_*: u32 vcpu_id, u32 reserved, context blob."""
    return struct.pack("<II", vcpu_id, reserved) + context


def tsc_info(mode=0, khz=2_000_000, nsec=123_456_789, incarnation=1, reserved=0):
    """X86_TSC_INFO: u32 mode, u32 khz, u64 nsec, u32 incarnation, u32 reserved."""
    return struct.pack("<IIQII", mode, khz, nsec, incarnation, reserved)


def hvm_params(params, count=None, reserved=0):
    """HVM_PARAMS: u32 count, u32 reserved, {u64 index, u64 value}[count]."""
    if count is None:
        count = len(params)
    return (struct.pack("<II", count, reserved)
            + b"".join(struct.pack("<QQ", i, v) for i, v in params))


def cpuid_leaf(leaf, subleaf, a, b, c, d):
    """xen_cpuid_leaf_t: u32 leaf, subleaf, a, b, c, d (24 octets)."""
    return struct.pack("<IIIIII", leaf, subleaf, a, b, c, d)


def msr_entry(idx, val, flags=0):
    """xen_msr_entry_t: u32 idx, u32 flags (reserved, MBZ), u64 val."""
    return struct.pack("<IIQ", idx, flags, val)


def hvm_desc(typecode, instance, length):
    """struct hvm_save_descriptor: u16 typecode, u16 instance, u32 length."""
    return struct.pack("<HHI", typecode, instance, length)


def hvm_entry(typecode, instance, body, length=None):
    return hvm_desc(typecode, instance, len(body) if length is None else length) + body


def hvm_header(magic=HVM_FILE_MAGIC, version=HVM_FILE_VERSION):
    """struct hvm_save_header: u32 magic, u32 version, u64 changeset,
    u32 cpuid, u32 gtsc_khz (24 octets)."""
    return struct.pack("<IIQII", magic, version, 0, 0x000306C3, 2_000_000)


HVM_CTX_HEADER = hvm_entry(HVM_SAVE_HEADER, 0, hvm_header())
HVM_CTX_BODY = (hvm_entry(HVM_SAVE_PMTIMER, 0, struct.pack("<IHH", 0x1234, 0, 0))
                + hvm_entry(HVM_SAVE_TSC_ADJUST, 0, u64(0)))
HVM_CTX_END = hvm_desc(HVM_SAVE_END, 0, 0)
HVM_CTX = HVM_CTX_HEADER + HVM_CTX_BODY + HVM_CTX_END

CPUID_POLICY = (cpuid_leaf(0, 0xFFFFFFFF, 0xD, 0x756E6547, 0x6C65746E, 0x49656E69)
                + cpuid_leaf(1, 0xFFFFFFFF, 0x000306C3, 0x00100800, 0x77FAFBFF, 0xBFEBFBFF))
MSR_POLICY = msr_entry(0xCE, 0x80000000)   # MSR_INTEL_PLATFORM_INFO

# Guest-visible sizes are irrelevant to the stream spec (the vCPU records
# are opaque blobs); these are merely plausible.
VCPU_BASIC_64 = bytes(5168)
VCPU_BASIC_32 = bytes(2800)
VCPU_EXTENDED = bytes(128)
VCPU_XSAVE = u64(7) + u64(7) + bytes(576)           # xcr0, xcr0_accum, area
VCPU_MSRS = struct.pack("<IIQ", 0xC0000103, 0, 0)   # xen_domctl_vcpu_msr


# ==========================================================================
# Typical images (libxc spec section 5 "Layout")
# ==========================================================================

def hvm_records(version=3):
    """A typical x86 HVM image's records (libxc spec 5.2)."""
    recs = []
    if version >= 3:
        recs += [rec("cpuid", X86_CPUID_POLICY, CPUID_POLICY),
                 rec("msr", X86_MSR_POLICY, MSR_POLICY),
                 rec("sde", STATIC_DATA_END)]
    recs += [rec("page", PAGE_DATA, page_data([(0, NOTAB), (1, NOTAB), (2, NOTAB),
                                               (0xFEFFF, XTAB)])),
             rec("page2", PAGE_DATA, page_data([(0xFEFFC, NOTAB)])),
             rec("tsc", X86_TSC_INFO, tsc_info()),
             rec("params", HVM_PARAMS, hvm_params([(HVM_PARAM_STORE_PFN, 0xFEFFC),
                                                   (HVM_PARAM_CONSOLE_PFN, 0xFEFFD)])),
             rec("ctx", HVM_CONTEXT, HVM_CTX),
             rec("end", END)]
    return recs


def pv_records(version=3, width=8):
    """A typical x86 PV image's records (libxc spec 5.1).

    The guest has pfns 0..1023; its P2M covers pfn 0..1023, which needs
    2 frames for a 64-bit guest (512 entries per frame) and 1 frame for a
    32-bit guest (1024 entries per frame)."""
    levels = 4 if width == 8 else 3
    frames = [0x200, 0x201] if width == 8 else [0x200]
    pagetable = (L4TAB_PIN if width == 8 else L3TAB_PIN)
    recs = [rec("pvinfo", X86_PV_INFO, pv_info(width, levels))]
    if version >= 3:
        recs += [rec("cpuid", X86_CPUID_POLICY, CPUID_POLICY),
                 rec("msr", X86_MSR_POLICY, MSR_POLICY),
                 rec("sde", STATIC_DATA_END)]
    recs += [rec("p2m", X86_PV_P2M_FRAMES, p2m_frames(0, 1023, frames)),
             rec("page", PAGE_DATA, page_data([(0, NOTAB), (1, pagetable),
                                               (2, L1TAB_PIN), (3, L1TAB),
                                               (4, XTAB), (5, BROKEN), (6, XALLOC)])),
             rec("page2", PAGE_DATA, page_data([(0x200, NOTAB), (0x201, NOTAB)])),
             rec("tsc", X86_TSC_INFO, tsc_info()),
             rec("shinfo", SHARED_INFO, bytes(PAGE_SIZE)),
             rec("basic", X86_PV_VCPU_BASIC,
                 vcpu(0, VCPU_BASIC_64 if width == 8 else VCPU_BASIC_32)),
             rec("extended", X86_PV_VCPU_EXTENDED, vcpu(0, VCPU_EXTENDED)),
             rec("xsave", X86_PV_VCPU_XSAVE, vcpu(0, VCPU_XSAVE)),
             rec("msrs", X86_PV_VCPU_MSRS, vcpu(0, VCPU_MSRS)),
             rec("end", END)]
    return recs


def libxc_image(dtype, recs, version=3, ihdr=None, dhdr=None):
    if ihdr is None:
        ihdr = image_header(version)
    if dhdr is None:
        dhdr = domain_header(dtype)
    return ihdr + dhdr + join(recs)


def hvm_image(version=3, recs=None):
    return libxc_image(DHDR_X86_HVM, hvm_records(version) if recs is None else recs,
                       version)


def pv_image(version=3, recs=None, width=8):
    return libxc_image(DHDR_X86_PV, pv_records(version, width) if recs is None else recs,
                       version)


# ==========================================================================
# libxl stream
# ==========================================================================

def libxl_header(ident=LIBXL_IDENT, version=LIBXL_VERSION, options=0):
    """libxl header, big-endian: u64 ident, u32 version, u32 options."""
    return struct.pack(">QII", ident, version, options)


def emulator(emu_id, index, data):
    """Common emulator sub-header: u32 emulator_id, u32 index, data."""
    return struct.pack("<II", emu_id, index) + data


def xenstore_pairs(*pairs):
    """Packed NUL-terminated (key, value) strings."""
    return b"".join(k + b"\0" + v + b"\0" for k, v in pairs)


XENSTORE_DATA = xenstore_pairs((b"physmap/f0000000/start_addr", b"f0000000"),
                               (b"physmap/f0000000/size", b"800000"),
                               (b"physmap/f0000000/name", b"vga.vram"))
QEMU_SAVE = b"QEVM" + u32(3) + b"qemu-device-state"   # opaque to the spec


def libxl_tail_hvm():
    """Records libxl writes after the libxc image of an HVM guest."""
    return [rec("xsdata", LXL_EMULATOR_XENSTORE_DATA,
                emulator(EMULATOR_QEMU_UPSTREAM, 0, XENSTORE_DATA)),
            rec("emuctx", LXL_EMULATOR_CONTEXT,
                emulator(EMULATOR_QEMU_UPSTREAM, 0, QEMU_SAVE)),
            rec("lend", LXL_END)]


def libxl_stream(image, tail=None, hdr=None):
    """libxl header, LIBXC_CONTEXT, the libxc image, then the tail records."""
    if hdr is None:
        hdr = libxl_header()
    if tail is None:
        tail = [rec("lend", LXL_END)]
    return hdr + record(LXL_LIBXC_CONTEXT) + image + join(tail)


def libxl_hvm(image=None, tail=None, **kw):
    return libxl_stream(hvm_image() if image is None else image,
                        libxl_tail_hvm() if tail is None else tail, **kw)


def libxl_pv(image=None, tail=None, **kw):
    return libxl_stream(pv_image() if image is None else image, tail, **kw)


# ==========================================================================
# xl save file
# ==========================================================================

def xl_config(name="specgen", hvm=True):
    """A libxl_domain_config in JSON, as xl stores it (NUL-terminated)."""
    cfg = {
        "c_info": {"type": "hvm" if hvm else "pv", "name": name,
                   "uuid": "5fb7a1f4-6b4e-4c3b-9b5e-2d2f3c1e0a01"},
        "b_info": {"max_vcpus": 1, "max_memkb": 4096, "target_memkb": 4096,
                   "type.hvm" if hvm else "type.pv": {}},
        "on_reboot": "restart",
    }
    return json.dumps(cfg, indent=4).encode() + b"\0"


def xl_file(stream, config=b"", mflags=None, oflags=0, byteorder=None,
            magic=XL_MAGIC, optdata=None):
    """xl header: 32-octet magic, u32 byte-order marker, mandatory_flags,
    optional_flags, optional_data_len; optional data (u32 config_len,
    config); then the libxl stream."""
    if mflags is None:
        mflags = XL_FLAG_STREAMV2 | (XL_FLAG_JSON if config else 0)
    if optdata is None:
        optdata = u32(len(config)) + config
    order = u32(XL_BYTEORDER) if byteorder is None else byteorder
    return (magic + order + struct.pack("<III", mflags, oflags, len(optdata))
            + optdata + stream)


# ==========================================================================
# The cases
# ==========================================================================

class Cases:
    def __init__(self):
        self.items = []
        self.names = set()

    def add(self, name, fmt, data, expect, rule, options=()):
        assert name not in self.names, name
        assert fmt in ("libxc", "libxl", "xl")
        assert expect in ("accept", "reject")
        self.names.add(name)
        self.items.append((name, fmt, expect, rule, tuple(options), data))

    def accept(self, name, fmt, data, rule="valid", options=()):
        self.add(name, fmt, data, "accept", rule, options)

    def reject(self, name, fmt, data, rule, options=()):
        self.add(name, fmt, data, "reject", rule, options)

    # One libxc-level violation, checked standalone and (optionally) when
    # embedded in a libxl stream, where the same rule must still hold.
    def reject_libxc(self, name, image, rule, embed=False, tail=None):
        self.reject("libxc-" + name, "libxc", image, rule)
        if embed:
            self.reject("libxl-" + name, "libxl", libxl_stream(image, tail), rule)


# Xen's verify-stream-v2 (Xen 4.17, run with python3) cannot check these:
#   - any non-empty EMULATOR_XENSTORE_DATA (compares bytes with a str)
#   - unknown optional records (it refuses every unknown type)
#   - checkpointed streams (it reads libxc records up to END only)
NO_XEN = ("no-xen",)


def valid_cases(c):
    for version in (2, 3):
        v = "v%d" % version
        c.accept("libxc-hvm-%s" % v, "libxc", hvm_image(version))
        c.accept("libxc-pv64-%s" % v, "libxc", pv_image(version))
        c.accept("libxc-pv32-%s" % v, "libxc", pv_image(version, width=4))

        c.accept("libxl-hvm-%s" % v, "libxl", libxl_hvm(hvm_image(version)),
                 options=NO_XEN)
        c.accept("libxl-pv64-%s" % v, "libxl", libxl_pv(pv_image(version)))
        c.accept("libxl-pv32-%s" % v, "libxl", libxl_pv(pv_image(version, width=4)))

        c.accept("xl-hvm-%s" % v, "xl",
                 xl_file(libxl_hvm(hvm_image(version)), xl_config()), options=NO_XEN)
        c.accept("xl-pv64-%s" % v, "xl",
                 xl_file(libxl_pv(pv_image(version)), xl_config(hvm=False)))
        c.accept("xl-pv32-%s" % v, "xl",
                 xl_file(libxl_pv(pv_image(version, width=4)), xl_config(hvm=False)))

    # Variants the specs allow.
    c.accept("libxl-hvm-xenstore-empty", "libxl",
             libxl_hvm(tail=replace(libxl_tail_hvm(), "xsdata",
                                    rec("xsdata", LXL_EMULATOR_XENSTORE_DATA,
                                        emulator(EMULATOR_QEMU_UPSTREAM, 0, b"")))),
             "xenstore data may hold no pairs")
    c.accept("libxc-v2-hvm-no-page-data", "libxc",
             hvm_image(2, drop(hvm_records(2), "page", "page2")),
             "v2 has no STATIC_DATA_END to require; HVM needs no PAGE_DATA")
    c.accept("libxc-hvm-v3-no-policy", "libxc",
             hvm_image(3, drop(hvm_records(3), "cpuid", "msr")),
             "CPUID/MSR policy records are optional")
    c.accept("libxc-hvm-params-count0", "libxc",
             hvm_image(3, replace(hvm_records(3), "params",
                                  rec("params", HVM_PARAMS, hvm_params([])))),
             "errata: HVM_PARAMS with zero content tolerated")
    c.accept("libxc-pv-vcpu-zero-content", "libxc",
             pv_image(3, replace(pv_records(3), "extended",
                                 rec("extended", X86_PV_VCPU_EXTENDED, vcpu(0, b"")))),
             "errata: X86_PV_VCPU_EXTENDED with zero content tolerated")
    c.accept("libxc-hvm-verify-once", "libxc",
             hvm_image(3, insert_after(hvm_records(3), "page2",
                                       rec("verify", VERIFY),
                                       rec("page3", PAGE_DATA,
                                           page_data([(0, NOTAB), (1, NOTAB)])))),
             "VERIFY once, followed by more PAGE_DATA")
    c.accept("libxc-pv64-p2m-unaligned", "libxc",
             pv_image(3, replace(pv_records(3), "p2m",
                                 rec("p2m", X86_PV_P2M_FRAMES,
                                     p2m_frames(100, 600, [0x200, 0x201])))),
             "P2M_FRAMES S=100 E=600: frames 600/512-100/512+1 = 2")
    c.accept("libxc-pv64-p2m-single", "libxc",
             pv_image(3, replace(pv_records(3), "p2m",
                                 rec("p2m", X86_PV_P2M_FRAMES,
                                     p2m_frames(0, 0, [0x200])))),
             "P2M_FRAMES S=E=0: one frame")
    c.accept("libxc-hvm-unknown-optional", "libxc",
             hvm_image(3, insert_after(hvm_records(3), "page2",
                                       rec("opt", OPTIONAL | 0x13, b"hello"))),
             "unknown optional record skipped", NO_XEN)
    c.accept("libxc-hvm-unknown-optional-max", "libxc",
             hvm_image(3, insert_after(hvm_records(3), "tsc",
                                       rec("opt", 0xFFFFFFFF, bytes(16)))),
             "unknown optional record skipped", NO_XEN)
    c.accept("libxl-unknown-optional", "libxl",
             libxl_hvm(tail=insert_before(libxl_tail_hvm(), "lend",
                                          rec("opt", OPTIONAL | 6, b"abc"))),
             "unknown optional libxl record skipped", NO_XEN)
    c.accept("libxl-legacy-option", "libxl",
             libxl_pv(libxc_image(DHDR_X86_PV, pv_records(2), 2,
                                  dhdr=domain_header(DHDR_X86_PV, xen_major=0,
                                                     xen_minor=1)),
                      hdr=libxl_header(options=LIBXL_OPT_LEGACY)),
             "libxl options bit 1 (legacy converted) allowed")
    c.accept("libxl-emulator-unknown-id0", "libxl",
             libxl_hvm(tail=replace(libxl_tail_hvm(), "emuctx",
                                    rec("emuctx", LXL_EMULATOR_CONTEXT,
                                        emulator(EMULATOR_UNKNOWN, 0, QEMU_SAVE)))),
             "emulator_id 0 (unknown, legacy) allowed", NO_XEN)
    c.accept("libxl-checkpointed", "libxl", checkpointed_stream(),
             "libxc CHECKPOINT, libxl records, CHECKPOINT_END, more libxc", NO_XEN)

    c.accept("xl-no-config", "xl", xl_file(libxl_pv()),
             "xl header without a config")
    c.accept("xl-no-optdata", "xl", xl_file(libxl_pv(), optdata=b""),
             "xl header with optional_data_len 0")
    c.accept("xl-optional-flags", "xl",
             xl_file(libxl_pv(), xl_config(hvm=False), oflags=0x80000001),
             "optional flags are not mandatory")
    c.accept("xl-optdata-extra", "xl",
             xl_file(libxl_pv(), optdata=u32(len(xl_config(hvm=False)))
                     + xl_config(hvm=False) + bytes(12),
                     mflags=XL_FLAG_STREAMV2 | XL_FLAG_JSON),
             "optional data may continue after the config")

    for fmt, data in (("libxc", hvm_image()),
                      ("libxl", libxl_pv()),
                      ("xl", xl_file(libxl_pv()))):
        c.accept("%s-trailing-allowed" % fmt, fmt, data + bytes(8) + b"junk....",
                 "--allow-trailing", ("allow-trailing",))


def checkpointed_stream(checkpoint=b"", checkpoint_end=b"", resume=()):
    """An HVM libxl stream carrying a checkpoint (libxc spec 4.12, libxl
    spec 5.5): the libxc stream pauses at CHECKPOINT, libxl sends its own
    records up to CHECKPOINT_END, then the libxc records of the next
    snapshot resume (no new LIBXC_CONTEXT, no new image header) until END.

    checkpoint, checkpoint_end: the bodies of those two records;
    resume: records to insert between CHECKPOINT_END and the libxc records."""
    first = drop(hvm_records(3), "end") + [rec("cp", CHECKPOINT, checkpoint)]
    libxl_part = [r for r in libxl_tail_hvm() if r[0] != "lend"]
    libxl_part.append(rec("cpend", LXL_CHECKPOINT_END, checkpoint_end))
    libxl_part += list(resume)
    second = [rec("pageN", PAGE_DATA, page_data([(1, NOTAB)])),
              rec("tsc", X86_TSC_INFO, tsc_info(nsec=223_456_789)),
              rec("params", HVM_PARAMS, hvm_params([(HVM_PARAM_STORE_PFN, 0xFEFFC)])),
              rec("ctx", HVM_CONTEXT, HVM_CTX),
              rec("end", END)]
    image = libxc_image(DHDR_X86_HVM, first + libxl_part + second, 3)
    return libxl_stream(image, libxl_tail_hvm())


def libxc_header_cases(c):
    base = hvm_records(3)

    def img(ihdr=None, dhdr=None, version=3, recs=base, dtype=DHDR_X86_HVM):
        return libxc_image(dtype, recs, version, ihdr, dhdr)

    c.reject("libxc-ihdr-marker", "libxc",
             img(image_header(marker=0xFFFFFFFF00000000)), "marker all-ones")
    c.reject("libxc-ihdr-id", "libxc",
             img(image_header(ident=0x58454E47)), "id XENF")
    c.reject("libxc-ihdr-version1", "libxc",
             img(image_header(version=1)), "version 2 or 3")
    c.reject("libxc-ihdr-version4", "libxc",
             img(image_header(version=4)), "version 2 or 3")
    c.reject("libxc-ihdr-big-endian", "libxc",
             img(image_header(options=IHDR_OPT_BIG_ENDIAN)), "big-endian refused")
    c.reject("libxc-ihdr-options-bit1", "libxc",
             img(image_header(options=0x0002)), "options reserved bits")
    c.reject("libxc-ihdr-options-bit15", "libxc",
             img(image_header(options=0x8000)), "options reserved bits")
    c.reject("libxc-ihdr-reserved-first", "libxc",
             img(image_header(reserved=b"\1\0\0\0\0\0")), "image header reserved")
    c.reject("libxc-ihdr-reserved-last", "libxc",
             img(image_header(reserved=b"\0\0\0\0\0\x80")), "image header reserved")
    c.reject("libxc-dhdr-type0", "libxc",
             img(dhdr=domain_header(0)), "domain type 1 or 2")
    c.reject("libxc-dhdr-type3", "libxc",
             img(dhdr=domain_header(3)), "domain type 1 or 2")
    c.reject("libxc-dhdr-page-shift", "libxc",
             img(dhdr=domain_header(DHDR_X86_HVM, page_shift=13)), "page_shift 12")
    c.reject("libxc-dhdr-reserved", "libxc",
             img(dhdr=domain_header(DHDR_X86_HVM, reserved=1)), "domain header reserved")
    c.reject("libxc-truncated-header", "libxc", img()[:20], "truncated")


def record_framing_cases(c):
    hvm = hvm_records(3)
    c.reject_libxc("record-padding-nonzero",
                   hvm_image(3, insert_after(hvm, "page2",
                                             rec("opt", OPTIONAL | 0x13, b"hello",
                                                 padding=b"\0\0\1"))),
                   "nonzero padding", embed=True, tail=libxl_tail_hvm())
    c.reject("libxl-emulator-padding-nonzero", "libxl",
             libxl_hvm(tail=replace(libxl_tail_hvm(), "emuctx",
                                    rec("emuctx", LXL_EMULATOR_CONTEXT,
                                        emulator(EMULATOR_QEMU_UPSTREAM, 0, b"abcde"),
                                        padding=b"\0\xff\0"))),
             "nonzero padding")
    c.reject_libxc("unknown-mandatory-0x13",
                   hvm_image(3, insert_after(hvm, "page2", rec("x", 0x13, bytes(8)))),
                   "unknown mandatory record", embed=True, tail=libxl_tail_hvm())
    c.reject_libxc("unknown-mandatory-0x7fffffff",
                   hvm_image(3, insert_after(hvm, "page2", rec("x", 0x7FFFFFFF))),
                   "unknown mandatory record")
    c.reject("libxl-unknown-mandatory", "libxl",
             libxl_hvm(tail=insert_before(libxl_tail_hvm(), "lend", rec("x", 6, bytes(8)))),
             "unknown mandatory libxl record")
    c.reject_libxc("truncated-record",
                   hvm_image(3)[:-len(join(hvm[_index(hvm, "page2"):])) + 100],
                   "truncated")
    c.reject_libxc("body-length-past-eof",
                   hvm_image(3, replace(hvm, "end",
                                        raw("end", struct.pack("<II", PAGE_DATA, 4112)))),
                   "truncated")
    c.reject_libxc("missing-end", hvm_image(3, drop(hvm, "end")), "END missing")

    zero_length = [("end", END), ("sde", STATIC_DATA_END)]
    for tag, rtype in zero_length:
        c.reject_libxc("%s-length8" % tag,
                       hvm_image(3, replace(hvm, tag, rec(tag, rtype, bytes(8)))),
                       "%s length 0" % tag.upper())
    c.reject_libxc("verify-length8",
                   hvm_image(3, insert_after(hvm, "page2",
                                             rec("verify", VERIFY, bytes(8)))),
                   "VERIFY length 0")

    c.reject("libxc-trailing", "libxc", hvm_image(3) + bytes(8), "trailing data")
    c.reject("libxc-record-after-end", "libxc",
             hvm_image(3) + record(X86_TSC_INFO, tsc_info()), "nothing after END")
    c.reject("libxl-trailing", "libxl", libxl_pv() + record(LXL_END), "trailing data")
    c.reject("xl-trailing", "xl", xl_file(libxl_pv()) + b"\0", "trailing data")


def record_body_cases(c):
    hvm = hvm_records(3)
    pv = pv_records(3)

    def hvm_with(tag, rtype, body, **kw):
        return hvm_image(3, replace(hvm, tag, rec(tag, rtype, body, **kw)))

    def pv_with(tag, rtype, body, recs=pv, width=8):
        return pv_image(3, replace(recs, tag, rec(tag, rtype, body)), width)

    # SHARED_INFO, X86_TSC_INFO
    c.reject_libxc("shared-info-short", pv_with("shinfo", SHARED_INFO, bytes(4088)),
                   "SHARED_INFO 4096")
    c.reject_libxc("shared-info-long", pv_with("shinfo", SHARED_INFO, bytes(8192)),
                   "SHARED_INFO 4096")
    c.reject_libxc("tsc-info-short", hvm_with("tsc", X86_TSC_INFO, tsc_info()[:16]),
                   "X86_TSC_INFO 24")
    c.reject_libxc("tsc-info-reserved", hvm_with("tsc", X86_TSC_INFO, tsc_info(reserved=1)),
                   "X86_TSC_INFO reserved", embed=True, tail=libxl_tail_hvm())

    # X86_PV_INFO
    c.reject_libxc("pv-info-width", pv_with("pvinfo", X86_PV_INFO, pv_info(width=2)),
                   "guest width 4 or 8")
    c.reject_libxc("pv-info-levels", pv_with("pvinfo", X86_PV_INFO, pv_info(levels=2)),
                   "pt levels 3 or 4")
    c.reject_libxc("pv-info-reserved16",
                   pv_with("pvinfo", X86_PV_INFO, pv_info(res16=1)), "X86_PV_INFO reserved")
    c.reject_libxc("pv-info-reserved32",
                   pv_with("pvinfo", X86_PV_INFO, pv_info(res32=0x100)),
                   "X86_PV_INFO reserved")
    c.reject_libxc("pv-info-length16",
                   pv_with("pvinfo", X86_PV_INFO, pv_info() + bytes(8)), "X86_PV_INFO 8")

    # PAGE_DATA
    c.reject_libxc("page-data-count0", hvm_with("page2", PAGE_DATA, page_data([])),
                   "PAGE_DATA count", embed=True, tail=libxl_tail_hvm())
    c.reject_libxc("page-data-reserved",
                   hvm_with("page2", PAGE_DATA, page_data([(0xFEFFC, NOTAB)], reserved=1)),
                   "PAGE_DATA reserved")
    c.reject_libxc("page-data-pfn-reserved-bit52",
                   hvm_with("page2", PAGE_DATA, page_data([(1 << 52) | 0xFEFFC])),
                   "pfn reserved bits")
    c.reject_libxc("page-data-pfn-reserved-bit59",
                   hvm_with("page2", PAGE_DATA, page_data([(1 << 59) | 0xFEFFC])),
                   "pfn reserved bits")
    for t in (5, 8):
        c.reject_libxc("page-data-type%d" % t,
                       pv_with("page2", PAGE_DATA, page_data([(0x200, t)], data=page_contents(0x200))),
                       "page type %d" % t)
    c.reject_libxc("page-data-missing-page",
                   hvm_with("page", PAGE_DATA,
                            page_data([(0, NOTAB), (1, NOTAB)], data=page_contents(0))),
                   "PAGE_DATA length")
    c.reject_libxc("page-data-extra-page",
                   hvm_with("page2", PAGE_DATA,
                            page_data([(0xFEFFC, NOTAB)], data=page_contents(1) * 2)),
                   "PAGE_DATA length")
    c.reject_libxc("page-data-xtab-with-data",
                   hvm_with("page2", PAGE_DATA,
                            page_data([(0xFEFFC, XTAB)], data=page_contents(0))),
                   "PAGE_DATA length: XTAB carries no data")
    c.reject_libxc("page-data-broken-with-data",
                   pv_with("page2", PAGE_DATA,
                           page_data([(0x200, BROKEN)], data=page_contents(0))),
                   "PAGE_DATA length: BROKEN carries no data")
    c.reject_libxc("page-data-pinned-no-data",
                   pv_with("page2", PAGE_DATA, page_data([(0x200, L1TAB_PIN)], data=b"")),
                   "PAGE_DATA length: L1TAB_PIN carries data")
    c.reject_libxc("page-data-pfns-truncated",
                   hvm_with("page2", PAGE_DATA, page_data([(0xFEFFC, XTAB)], count=2)),
                   "PAGE_DATA length: count pfns")

    # HVM_PARAMS
    params = [(HVM_PARAM_STORE_PFN, 0xFEFFC), (HVM_PARAM_CONSOLE_PFN, 0xFEFFD)]
    c.reject_libxc("hvm-params-reserved",
                   hvm_with("params", HVM_PARAMS, hvm_params(params, reserved=1)),
                   "HVM_PARAMS reserved")
    c.reject_libxc("hvm-params-count-high",
                   hvm_with("params", HVM_PARAMS, hvm_params(params, count=3)),
                   "HVM_PARAMS length")
    c.reject_libxc("hvm-params-trailing-octets",
                   hvm_with("params", HVM_PARAMS, hvm_params(params) + bytes(8)),
                   "HVM_PARAMS length")

    # X86_CPUID_POLICY / X86_MSR_POLICY
    c.reject_libxc("cpuid-empty", hvm_with("cpuid", X86_CPUID_POLICY, b""),
                   "CPUID policy nonzero multiple of 24")
    c.reject_libxc("cpuid-partial-leaf",
                   hvm_with("cpuid", X86_CPUID_POLICY, CPUID_POLICY + bytes(8)),
                   "CPUID policy multiple of 24")
    c.reject_libxc("msr-empty", hvm_with("msr", X86_MSR_POLICY, b""),
                   "MSR policy nonzero multiple of 16")
    c.reject_libxc("msr-partial-entry",
                   hvm_with("msr", X86_MSR_POLICY, MSR_POLICY + bytes(8)),
                   "MSR policy multiple of 16")
    c.reject_libxc("msr-flags-nonzero",
                   hvm_with("msr", X86_MSR_POLICY,
                            MSR_POLICY + msr_entry(0x10A, 0, flags=1)),
                   "MSR entry flags MBZ", embed=True, tail=libxl_tail_hvm())

    # HVM_CONTEXT chain (public/hvm/save.h)
    def ctx(blob):
        return hvm_with("ctx", HVM_CONTEXT, blob)

    c.reject_libxc("hvm-ctx-empty", ctx(b""), "HVM_CONTEXT chain")
    c.reject_libxc("hvm-ctx-no-header", ctx(HVM_CTX_BODY + HVM_CTX_END),
                   "HVM_CONTEXT starts with HEADER")
    c.reject_libxc("hvm-ctx-header-instance",
                   ctx(hvm_entry(HVM_SAVE_HEADER, 1, hvm_header()) + HVM_CTX_BODY
                       + HVM_CTX_END), "HVM HEADER instance 0")
    c.reject_libxc("hvm-ctx-header-length",
                   ctx(hvm_entry(HVM_SAVE_HEADER, 0, hvm_header()[:16]) + HVM_CTX_BODY
                       + HVM_CTX_END), "HVM HEADER length 24")
    c.reject_libxc("hvm-ctx-header-magic",
                   ctx(hvm_entry(HVM_SAVE_HEADER, 0, hvm_header(magic=0x54381287))
                       + HVM_CTX_BODY + HVM_CTX_END), "HVM HEADER magic",
                   embed=True, tail=libxl_tail_hvm())
    c.reject_libxc("hvm-ctx-header-version",
                   ctx(hvm_entry(HVM_SAVE_HEADER, 0, hvm_header(version=2))
                       + HVM_CTX_BODY + HVM_CTX_END), "HVM HEADER version")
    c.reject_libxc("hvm-ctx-typecode-21",
                   ctx(HVM_CTX_HEADER + hvm_entry(HVM_SAVE_CODE_MAX + 1, 0, u64(0))
                       + HVM_CTX_END), "HVM typecode <= 20")
    c.reject_libxc("hvm-ctx-length-overrun",
                   ctx(HVM_CTX_HEADER + hvm_entry(HVM_SAVE_TSC_ADJUST, 0, u64(0), length=64)
                       + HVM_CTX_END), "HVM entry length within record")
    c.reject_libxc("hvm-ctx-no-end", ctx(HVM_CTX_HEADER + HVM_CTX_BODY),
                   "HVM_CONTEXT ends with END")
    c.reject_libxc("hvm-ctx-end-length",
                   ctx(HVM_CTX_HEADER + HVM_CTX_BODY + hvm_entry(HVM_SAVE_END, 0, bytes(8))),
                   "HVM END length 0")
    c.reject_libxc("hvm-ctx-data-after-end",
                   ctx(HVM_CTX + hvm_entry(HVM_SAVE_TSC_ADJUST, 0, u64(0))),
                   "nothing after HVM END")
    cpu_msr = struct.pack("<II", 1, 0) + msr_entry(0xC0000080, 0xD01)   # struct hvm_msr
    c.accept("libxc-hvm-ctx-max-typecode", "libxc",
             ctx(HVM_CTX_HEADER + hvm_entry(HVM_SAVE_CPU_MSR, 0, cpu_msr) + HVM_CTX_END),
             "HVM typecode 20 (CPU_MSR, = HVM_SAVE_CODE_MAX) allowed")

    # X86_PV_P2M_FRAMES (fpp = 4096 / guest_width)
    c.reject_libxc("p2m-start-after-end",
                   pv_with("p2m", X86_PV_P2M_FRAMES, p2m_frames(1024, 0, [0x200])),
                   "P2M start <= end")
    c.reject_libxc("p2m-frame-missing",
                   pv_with("p2m", X86_PV_P2M_FRAMES, p2m_frames(0, 1023, [0x200])),
                   "P2M_FRAMES length", embed=True)
    c.reject_libxc("p2m-frame-extra",
                   pv_with("p2m", X86_PV_P2M_FRAMES,
                           p2m_frames(0, 1023, [0x200, 0x201, 0x202])),
                   "P2M_FRAMES length")
    c.reject_libxc("p2m-32bit-frame-extra",
                   pv_with("p2m", X86_PV_P2M_FRAMES, p2m_frames(0, 1023, [0x200, 0x201]),
                           pv_records(3, width=4), width=4),
                   "P2M_FRAMES length (32-bit: 1024 per frame)")
    c.reject_libxc("p2m-header-only",
                   pv_with("p2m", X86_PV_P2M_FRAMES, p2m_frames(0, 1023, [])),
                   "P2M_FRAMES length")

    # vCPU records
    for tag, rtype in (("basic", X86_PV_VCPU_BASIC), ("extended", X86_PV_VCPU_EXTENDED),
                       ("xsave", X86_PV_VCPU_XSAVE), ("msrs", X86_PV_VCPU_MSRS)):
        c.reject_libxc("vcpu-%s-reserved" % tag,
                       pv_with(tag, rtype, vcpu(0, VCPU_MSRS, reserved=1)),
                       "vCPU record reserved")
    c.reject_libxc("vcpu-basic-short", pv_with("basic", X86_PV_VCPU_BASIC, u32(0)),
                   "vCPU record >= 8 octets")
    c.reject_libxc("vcpu-msrs-empty", pv_with("msrs", X86_PV_VCPU_MSRS, b""),
                   "vCPU record >= 8 octets")


def order_cases(c):
    hvm3, hvm2 = hvm_records(3), hvm_records(2)
    pv3, pv2 = pv_records(3), pv_records(2)
    sde = rec("sde2", STATIC_DATA_END)

    # STATIC_DATA_END and static records
    c.reject_libxc("v3-hvm-no-sde", hvm_image(3, drop(hvm3, "sde")),
                   "v3 needs STATIC_DATA_END", embed=True, tail=libxl_tail_hvm())
    c.reject_libxc("v3-pv-no-sde", pv_image(3, drop(pv3, "sde")),
                   "v3 needs STATIC_DATA_END")
    c.reject_libxc("v3-sde-twice", hvm_image(3, insert_after(hvm3, "sde", sde)),
                   "STATIC_DATA_END once")
    c.reject_libxc("v3-page-before-sde", hvm_image(3, move_before(hvm3, "page", "cpuid")),
                   "STATIC_DATA_END before PAGE_DATA")
    c.reject_libxc("v3-tsc-before-sde", hvm_image(3, move_before(hvm3, "tsc", "sde")),
                   "STATIC_DATA_END before non-static records")
    c.reject_libxc("v3-cpuid-after-sde", hvm_image(3, move_before(hvm3, "cpuid", "page")),
                   "CPUID policy after STATIC_DATA_END")
    c.reject_libxc("v3-msr-after-sde", hvm_image(3, move_before(hvm3, "msr", "tsc")),
                   "MSR policy after STATIC_DATA_END")
    c.reject_libxc("v3-pv-info-after-sde", pv_image(3, move_before(pv3, "pvinfo", "p2m")),
                   "X86_PV_INFO after STATIC_DATA_END")
    c.reject_libxc("v2-sde", hvm_image(2, insert_before(hvm2, "page", sde)),
                   "STATIC_DATA_END in v2")
    c.reject_libxc("v2-cpuid", hvm_image(2, insert_before(
        hvm2, "page", rec("cpuid", X86_CPUID_POLICY, CPUID_POLICY))),
                   "CPUID policy in v2")
    c.reject_libxc("v2-msr", pv_image(2, insert_after(
        pv2, "pvinfo", rec("msr", X86_MSR_POLICY, MSR_POLICY))),
                   "MSR policy in v2")
    c.reject_libxc("v2-pv-cpuid-after-p2m", pv_image(2, insert_after(
        pv2, "p2m", rec("cpuid", X86_CPUID_POLICY, CPUID_POLICY))),
                   "CPUID policy in v2")

    # Records belonging to the other guest type
    pv_only = [("pvinfo", X86_PV_INFO, pv_info()),
               ("p2m", X86_PV_P2M_FRAMES, p2m_frames(0, 511, [0x200])),
               ("basic", X86_PV_VCPU_BASIC, vcpu(0, VCPU_BASIC_64)),
               ("extended", X86_PV_VCPU_EXTENDED, vcpu(0, VCPU_EXTENDED)),
               ("xsave", X86_PV_VCPU_XSAVE, vcpu(0, VCPU_XSAVE)),
               ("shinfo", SHARED_INFO, bytes(PAGE_SIZE)),
               ("msrs", X86_PV_VCPU_MSRS, vcpu(0, VCPU_MSRS))]
    for tag, rtype, body in pv_only:
        anchor = "cpuid" if rtype == X86_PV_INFO else "tsc"
        c.reject_libxc("hvm-has-%s" % tag,
                       hvm_image(3, insert_before(hvm3, anchor, rec(tag, rtype, body))),
                       "PV-only record in HVM image")
    c.reject_libxc("pv-has-hvm-context",
                   pv_image(3, insert_before(pv3, "end", rec("ctx", HVM_CONTEXT, HVM_CTX))),
                   "HVM_CONTEXT in PV image", embed=True)
    c.reject_libxc("pv-has-hvm-params",
                   pv_image(3, insert_before(pv3, "end", rec("params", HVM_PARAMS,
                                                             hvm_params([(1, 2)])))),
                   "HVM_PARAMS in PV image")

    # PV dependencies: X86_PV_INFO -> P2M_FRAMES -> PAGE_DATA -> vCPU records
    c.reject_libxc("pv-info-twice",
                   pv_image(3, insert_after(pv3, "pvinfo",
                                            rec("pvinfo2", X86_PV_INFO, pv_info()))),
                   "X86_PV_INFO once")
    c.reject_libxc("v2-pv-info-after-p2m", pv_image(2, move_before(pv2, "pvinfo", "page")),
                   "X86_PV_INFO before P2M_FRAMES")
    c.reject_libxc("v2-pv-page-before-p2m", pv_image(2, move_before(pv2, "page", "p2m")),
                   "P2M_FRAMES before PAGE_DATA")
    c.reject_libxc("v3-pv-page-before-p2m", pv_image(3, move_before(pv3, "page", "p2m")),
                   "P2M_FRAMES before PAGE_DATA")
    c.reject_libxc("v3-pv-vcpu-before-p2m", pv_image(3, move_before(pv3, "basic", "p2m")),
                   "P2M_FRAMES before vCPU records")
    # libxc spec 5.1: "The following records must be present in the
    # following order": X86_PV_INFO, X86_PV_P2M_FRAMES, PAGE_DATA, vCPU.
    # Dropping the dependants too keeps the order rules out of the way.
    pv_dependants = ("p2m", "page", "page2", "basic", "extended", "xsave", "msrs")
    c.reject_libxc("v3-pv-no-p2m", pv_image(3, drop(pv3, *pv_dependants)),
                   "PV image needs X86_PV_P2M_FRAMES")
    c.reject_libxc("v2-pv-no-p2m", pv_image(2, drop(pv2, *pv_dependants)),
                   "PV image needs X86_PV_P2M_FRAMES")
    c.reject_libxc("v3-pv-no-vcpu", pv_image(3, drop(pv3, "basic", "extended", "xsave",
                                                     "msrs")),
                   "PV image needs vCPU records")
    c.reject_libxc("v3-pv-no-pv-info", pv_image(3, drop(pv3, "pvinfo", *pv_dependants)),
                   "PV image needs X86_PV_INFO")
    c.reject_libxc("v2-pv-no-pv-info", pv_image(2, drop(pv2, "pvinfo", *pv_dependants)),
                   "PV image needs X86_PV_INFO")
    c.reject_libxc("hvm-no-context", hvm_image(3, drop(hvm3, "ctx")),
                   "HVM image needs HVM_CONTEXT", embed=True, tail=libxl_tail_hvm())
    # Spec 5.2 says HVM_PARAMS must precede HVM_CONTEXT, but Xen's own saver
    # (x86_hvm_end_of_checkpoint) writes TSC_INFO, HVM_CONTEXT, HVM_PARAMS
    # and its restore buffers the context until the end.  xmig accepts both
    # orders (docs/formats.md); so does this case, on purpose.
    c.accept("libxc-hvm-params-after-context", "libxc",
             hvm_image(3, move_before(hvm3, "ctx", "params")),
             "Xen's saver order: HVM_CONTEXT before HVM_PARAMS")

    # Records not allowed in a forward stream
    c.reject_libxc("toolstack", hvm_image(3, insert_before(
        hvm3, "ctx", rec("toolstack", TOOLSTACK, b"\x01\x00\x00\x00xl"))),
                   "TOOLSTACK")
    c.reject_libxc("dirty-pfn-list", hvm_image(3, insert_before(
        hvm3, "ctx", rec("dirty", CHECKPOINT_DIRTY_PFN_LIST, u64(1) + u64(2)))),
                   "CHECKPOINT_DIRTY_PFN_LIST")
    c.reject_libxc("verify-twice", hvm_image(3, insert_after(
        hvm3, "page2", rec("v1", VERIFY), rec("v2", VERIFY))),
                   "VERIFY at most once")


def libxl_cases(c):
    tail = libxl_tail_hvm()

    def with_tail(new_tail):
        return libxl_hvm(tail=new_tail)

    c.reject("libxl-hdr-ident", "libxl",
             libxl_pv(hdr=libxl_header(ident=0x4C6962786C466D75)), "LibxlFmt ident")
    c.reject("libxl-hdr-version1", "libxl",
             libxl_pv(hdr=libxl_header(version=1)), "libxl version 2")
    c.reject("libxl-hdr-version3", "libxl",
             libxl_pv(hdr=libxl_header(version=3)), "libxl version 2")
    c.reject("libxl-hdr-big-endian", "libxl",
             libxl_pv(hdr=libxl_header(options=LIBXL_OPT_BIG_ENDIAN)), "big-endian refused")
    c.reject("libxl-hdr-options-bit2", "libxl",
             libxl_pv(hdr=libxl_header(options=1 << 2)), "libxl options reserved")
    c.reject("libxl-hdr-options-bit31", "libxl",
             libxl_pv(hdr=libxl_header(options=1 << 31)), "libxl options reserved")

    c.reject("libxl-libxc-context-length", "libxl",
             libxl_header() + record(LXL_LIBXC_CONTEXT, bytes(8)) + pv_image()
             + record(LXL_END), "LIBXC_CONTEXT length 0")
    c.reject("libxl-end-without-libxc", "libxl",
             libxl_header() + record(LXL_END), "END before the libxc image")
    c.reject("libxl-missing-end", "libxl",
             with_tail(drop(tail, "lend")), "libxl END missing")
    c.reject("libxl-libxc-truncated", "libxl",
             libxl_header() + record(LXL_LIBXC_CONTEXT) + pv_image()[:-8],
             "libxc image truncated")

    def xs(data, emu_id=EMULATOR_QEMU_UPSTREAM):
        return replace(tail, "xsdata", rec("xsdata", LXL_EMULATOR_XENSTORE_DATA,
                                           emulator(emu_id, 0, data)))

    def emu(data, emu_id=EMULATOR_QEMU_UPSTREAM):
        return replace(tail, "emuctx", rec("emuctx", LXL_EMULATOR_CONTEXT,
                                           emulator(emu_id, 0, data)))

    c.accept("libxl-xenstore-chars", "libxl",
             with_tail(xs(xenstore_pairs((b"a-Z_9@x/y", b"v"), (b"k", b"some value")))),
             "key characters [A-Za-z0-9-/_@]", NO_XEN)
    c.reject("libxl-xenstore-short", "libxl",
             with_tail(replace(tail, "xsdata", rec("xsdata", LXL_EMULATOR_XENSTORE_DATA,
                                                   u32(EMULATOR_QEMU_UPSTREAM)))),
             "EMULATOR_XENSTORE_DATA >= 8")
    c.reject("libxl-xenstore-emulator-id", "libxl",
             with_tail(xs(XENSTORE_DATA, emu_id=3)), "emulator_id 0..2")
    c.reject("libxl-xenstore-no-nul", "libxl",
             with_tail(xs(XENSTORE_DATA[:-1])), "xenstore data NUL-terminated")
    c.reject("libxl-xenstore-odd-strings", "libxl",
             with_tail(xs(XENSTORE_DATA + b"lonely-key\0")), "xenstore key without value")
    c.reject("libxl-xenstore-empty-key", "libxl",
             with_tail(xs(xenstore_pairs((b"", b"value")))), "xenstore key non-empty")
    c.reject("libxl-xenstore-absolute-key", "libxl",
             with_tail(xs(xenstore_pairs((b"/local/domain/0/x", b"1")))),
             "xenstore key relative")
    c.reject("libxl-xenstore-key-space", "libxl",
             with_tail(xs(xenstore_pairs((b"bad key", b"1")))), "xenstore key characters")
    c.reject("libxl-xenstore-key-dot", "libxl",
             with_tail(xs(xenstore_pairs((b"physmap.start", b"1")))),
             "xenstore key characters")
    c.reject("libxl-emulator-context-short", "libxl",
             with_tail(replace(tail, "emuctx", rec("emuctx", LXL_EMULATOR_CONTEXT,
                                                   u32(EMULATOR_QEMU_UPSTREAM)))),
             "EMULATOR_CONTEXT >= 8")
    c.reject("libxl-emulator-context-id", "libxl",
             with_tail(emu(QEMU_SAVE, emu_id=3)), "emulator_id 0..2")

    # The spec does not say where CHECKPOINT_STATE may appear (COLO sends
    # it between checkpoints); a PV stream keeps Xen's verifier usable.
    def cpstate(body):
        return libxl_pv(tail=[rec("cpstate", LXL_CHECKPOINT_STATE, body),
                              rec("lend", LXL_END)])

    for control_id in (0, 1, 2, 3):
        c.accept("libxl-checkpoint-state-%d" % control_id, "libxl",
                 cpstate(struct.pack("<II", control_id, 0)),
                 "CHECKPOINT_STATE control_id %d" % control_id)
    c.reject("libxl-checkpoint-state-id4", "libxl",
             cpstate(struct.pack("<II", 4, 0)), "CHECKPOINT_STATE control_id 0..3")
    c.reject("libxl-checkpoint-state-short", "libxl",
             cpstate(u32(0)), "CHECKPOINT_STATE 8 octets")
    c.reject("libxl-checkpoint-state-long", "libxl",
             cpstate(struct.pack("<IIQ", 0, 0, 0)), "CHECKPOINT_STATE 8 octets")
    c.reject("libxl-checkpoint-state-padding", "libxl",
             cpstate(struct.pack("<II", 1, 1)), "CHECKPOINT_STATE padding zero")
    c.reject("libxl-checkpoint-end-unexpected", "libxl",
             with_tail(insert_before(tail, "lend", rec("cpend", LXL_CHECKPOINT_END))),
             "CHECKPOINT_END without libxc CHECKPOINT")
    c.reject("libxl-checkpoint-end-length", "libxl",
             checkpointed_stream(checkpoint_end=bytes(8)),
             "CHECKPOINT_END length 0")
    c.reject("libxl-checkpoint-length", "libxl",
             checkpointed_stream(checkpoint=bytes(8)),
             "CHECKPOINT length 0")
    # After CHECKPOINT_END libxl hands the stream straight back to libxc;
    # LIBXC_CONTEXT only marks where xc_domain_restore() starts (spec 5.2),
    # so here libxc would read it as an empty PAGE_DATA record.
    c.reject("libxl-checkpoint-libxc-context", "libxl",
             checkpointed_stream(resume=[rec("ctx2", LXL_LIBXC_CONTEXT)]),
             "libxc records resume after CHECKPOINT_END")


def xl_cases(c):
    stream = libxl_pv()
    cfg = xl_config(hvm=False)

    c.reject("xl-magic", "xl", xl_file(stream, cfg, magic=XL_MAGIC.replace(b"xl", b"XL")),
             "xl magic")
    c.reject("xl-big-endian-marker", "xl",
             xl_file(stream, cfg, byteorder=struct.pack(">I", XL_BYTEORDER)),
             "byte-order marker")
    c.reject("xl-mandatory-bit2", "xl",
             xl_file(stream, cfg, mflags=XL_FLAG_STREAMV2 | XL_FLAG_JSON | (1 << 2)),
             "unknown mandatory flags")
    c.reject("xl-mandatory-bit31", "xl",
             xl_file(stream, mflags=XL_FLAG_STREAMV2 | (1 << 31)), "unknown mandatory flags")
    c.reject("xl-json-no-nul", "xl", xl_file(stream, cfg[:-1]), "config NUL-terminated")
    c.reject("xl-json-malformed", "xl",
             xl_file(stream, b'{"c_info": {"name": "specgen"}\0'), "config is JSON")
    c.reject("xl-json-not-json", "xl",
             xl_file(stream, b'name = "specgen"\nmemory = 4\n\0'), "config is JSON")
    c.reject("xl-config-len-overrun", "xl",
             xl_file(stream, optdata=u32(len(cfg) + 16) + cfg,
                     mflags=XL_FLAG_STREAMV2 | XL_FLAG_JSON),
             "config_len within optional data")
    c.reject("xl-optdata-short", "xl",
             xl_file(stream, optdata=b"\0\0", mflags=XL_FLAG_STREAMV2),
             "optional data holds config_len")
    c.reject("xl-optdata-past-eof", "xl",
             XL_MAGIC + struct.pack("<IIII", XL_BYTEORDER, XL_FLAG_STREAMV2, 0, 1 << 20)
             + stream, "truncated")
    c.reject("xl-truncated-header", "xl", XL_MAGIC + u32(XL_BYTEORDER), "truncated")
    c.reject("xl-libxl-bad", "xl",
             xl_file(libxl_pv(hdr=libxl_header(version=1)), cfg), "libxl version 2")
    c.reject("xl-libxc-bad", "xl",
             xl_file(libxl_pv(pv_image(recs=replace(
                 pv_records(3), "shinfo", rec("shinfo", SHARED_INFO, bytes(8))))), cfg),
             "SHARED_INFO 4096")


def build_cases():
    c = Cases()
    valid_cases(c)
    libxc_header_cases(c)
    record_framing_cases(c)
    record_body_cases(c)
    order_cases(c)
    libxl_cases(c)
    xl_cases(c)
    return c.items


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        sys.stderr.write("usage: specgen.py OUTDIR\n")
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    lines = ["# name\tformat\texpect\trule\toptions"]
    for name, fmt, expect, rule, options, data in build_cases():
        with open(os.path.join(outdir, name + ".bin"), "wb") as f:
            f.write(data)
        lines.append("\t".join((name, fmt, expect, rule, ",".join(options) or "-")))
    with open(os.path.join(outdir, "manifest.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
