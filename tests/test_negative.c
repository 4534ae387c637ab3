/*
 * Negative tests: one table row per validation rule of the reader.
 *
 * Every row starts from a valid stream (a synthetic image from
 * make_default_stream, a short hand-built libxc image, or a hand-built xl
 * header in front of a synthetic libxl stream), breaks one rule with a few
 * edits, and states what the reader must report: the error category, the
 * exact stream offset, and a piece of the message.  Offsets are written
 * relative to an anchor (a record or header located in the unmutated stream)
 * so that a row keeps its meaning if the synthetic image gains a record; the
 * anchor is resolved at run time and the sum is compared exactly.
 *
 * Each row is read twice: from memory (the transport lends octets in place)
 * and from a memfd (the reader's own buffered path).  The two paths compute
 * offsets in different code, so both must agree with the table.
 *
 * Rules that cannot be reached through the reader (a decoder's "body too
 * short" after the length rule already guaranteed the size, "record after
 * END" once the reader has stopped) have no row: the reader never gets there.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cursor.h"
#include "tests/support.h"

/* ---- the shape of a row ---------------------------------------------- */

enum src {
    S_XL_HVM,     /* make_default_stream(XL, HVM) */
    S_XL_PV,
    S_LIBXL_HVM,
    S_LIBXL_PV,
    S_LIBXC_HVM,
    S_LIBXC_PV,
    S_SEQ,        /* a short libxc image built from .seq (build_seq) */
    S_CUSTOM      /* .build() */
};

enum anchor_kind {
    AT_START,     /* offset 0 */
    AT_EOS,       /* the end of the unmutated stream */
    AT_MARK,      /* what the builder marked (S_SEQ: the last record) */
    AT_REC,       /* the first record of .layer and .type */
    AT_ITEM       /* the header of item kind .type */
};

struct anchor {
    enum anchor_kind kind;
    enum xmig_layer layer;
    uint32_t type;
};

enum op {
    OP_NONE,
    OP_LE8,
    OP_LE16,
    OP_LE32,
    OP_LE64,
    OP_BE16,
    OP_BE32,
    OP_BE64,
    OP_CUT,       /* the stream ends at the anchor + at */
    OP_APPEND,    /* v zero octets after the end of the stream */
    OP_INSERT     /* v octets of .bytes inserted at the anchor + at */
};

struct edit {
    enum op op;
    long at;              /* relative to the anchor */
    uint64_t v;
    const char *bytes;
};

#define MAX_EDITS 3
#define MAX_SEQ 10
#define NO_OFFSET LONG_MIN

struct neg_case {
    const char *name;
    enum src src;
    struct buf (*build)(const struct neg_case *nc, long *mark);
    uint32_t ver, guest;            /* S_SEQ: image version and guest type */
    uint32_t seq[MAX_SEQ];          /* S_SEQ: record types (see seq_body) */
    size_t nseq;
    const char *arg;                /* builder input octets */
    size_t argn;
    uint32_t n1, n2;                /* builder numbers */
    struct anchor at;
    struct edit ed[MAX_EDITS];
    enum xmig_format fmt;           /* what the reader is told (0: auto) */
    enum xmig_error_category cat;   /* XMIG_ERR_NONE: must be accepted */
    long want;                      /* error offset relative to the anchor */
    const char *text;               /* must appear in the message */
    const char *text2;              /* and this too, if set */
    uint64_t skipped;               /* accepted rows: optional_skipped */
};

/* Anchors. */
#define START { AT_START, 0, 0 }
#define EOS { AT_EOS, 0, 0 }
#define MARK { AT_MARK, 0, 0 }
#define XC(t) { AT_REC, XMIG_LAYER_LIBXC, (t) }
#define XL(t) { AT_REC, XMIG_LAYER_LIBXL, (t) }
#define ITEM(k) { AT_ITEM, 0, (k) }

/* Edits. */
#define P8(a, v) { OP_LE8, (a), (v), NULL }
#define P16(a, v) { OP_LE16, (a), (v), NULL }
#define P32(a, v) { OP_LE32, (a), (v), NULL }
#define P64(a, v) { OP_LE64, (a), (v), NULL }
#define B16(a, v) { OP_BE16, (a), (v), NULL }
#define B32(a, v) { OP_BE32, (a), (v), NULL }
#define B64(a, v) { OP_BE64, (a), (v), NULL }
#define CUT(a) { OP_CUT, (a), 0, NULL }
#define APPEND(n) { OP_APPEND, 0, (n), NULL }
#define INS(a, lit) { OP_INSERT, (a), sizeof(lit) - 1, (lit) }

#define SEQ(...)                                                          \
    .seq = { __VA_ARGS__ },                                               \
    .nseq = sizeof((const uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t)
#define BYTES(lit) .arg = (lit), .argn = sizeof(lit) - 1

/* A field at body position p of a record sits at record + BODY + p. */
#define BODY 8
/* The xl header is 48 octets; the config follows its 4-octet length. */
#define XL_OPT 48
#define XL_CONFIG 52
#define MIB (1u << 20)

/* Short names for record types, so the order rows read like sequences. */
#define X_END XMIG_LIBXC_END
#define X_PAGE XMIG_LIBXC_PAGE_DATA
#define X_PVINFO XMIG_LIBXC_X86_PV_INFO
#define X_P2M XMIG_LIBXC_X86_PV_P2M_FRAMES
#define X_VBASIC XMIG_LIBXC_X86_PV_VCPU_BASIC
#define X_VEXT XMIG_LIBXC_X86_PV_VCPU_EXTENDED
#define X_VXSAVE XMIG_LIBXC_X86_PV_VCPU_XSAVE
#define X_SHINFO XMIG_LIBXC_SHARED_INFO
#define X_TSC XMIG_LIBXC_X86_TSC_INFO
#define X_HVMCTX XMIG_LIBXC_HVM_CONTEXT
#define X_PARAMS XMIG_LIBXC_HVM_PARAMS
#define X_TOOLSTACK XMIG_LIBXC_TOOLSTACK
#define X_VMSRS XMIG_LIBXC_X86_PV_VCPU_MSRS
#define X_VERIFY XMIG_LIBXC_VERIFY
#define X_CKPT XMIG_LIBXC_CHECKPOINT
#define X_DIRTY XMIG_LIBXC_CHECKPOINT_DIRTY_PFN_LIST
#define X_SDE XMIG_LIBXC_STATIC_DATA_END
#define X_CPUID XMIG_LIBXC_X86_CPUID_POLICY
#define X_MSR XMIG_LIBXC_X86_MSR_POLICY
#define X_OPT 0x80000123u       /* an unknown optional record */
#define L_END XMIG_LIBXL_END
#define L_CTX XMIG_LIBXL_LIBXC_CONTEXT
#define L_XS XMIG_LIBXL_EMULATOR_XENSTORE_DATA
#define L_EMU XMIG_LIBXL_EMULATOR_CONTEXT
#define L_CKEND XMIG_LIBXL_CHECKPOINT_END
#define L_CKSTATE XMIG_LIBXL_CHECKPOINT_STATE

/* Flags on a .seq entry: which variant of the canonical body to write. */
#define BARE 0x40000000u  /* the smallest legal body (errata cases) */
#define ODD 0x20000000u   /* a 13-octet vCPU body: 3 octets of padding */

#define HVM XMIG_DOMAIN_X86_HVM
#define PV XMIG_DOMAIN_X86_PV

/* Whole records as octets, for splicing into a stream. */
#define R_OPT_GOOD                                                        \
    "\x23\x01\x00\x80" "\x05\x00\x00\x00" "hello" "\x00\x00\x00"
#define R_OPT_BADPAD                                                      \
    "\x23\x01\x00\x80" "\x05\x00\x00\x00" "hello" "\x00\x01\x00"
#define R_LIBXC_CONTEXT "\x01\x00\x00\x00" "\x00\x00\x00\x00"
#define R_CHECKPOINT_END "\x04\x00\x00\x00" "\x00\x00\x00\x00"
#define R_CHECKPOINT "\x0e\x00\x00\x00" "\x00\x00\x00\x00"
#define R_CKSTATE(id, pad)                                                \
    "\x05\x00\x00\x00" "\x08\x00\x00\x00" id "\x00\x00\x00" pad           \
    "\x00\x00\x00"

/* 16 brackets, to build nesting depths without counting by hand. */
#define OPEN16 "[[[[[[[[[[[[[[[["
#define CLOSE16 "]]]]]]]]]]]]]]]]"

/* Shorthand for the length-rule rows: rewrite the type and body_length of
 * an existing record (the rule is checked on the header alone, before the
 * body is read and before the order rules, so any record will do). */
#define LEN_XC(nm, t, len, c, txt)                                     \
    {                                                                     \
        .name = (nm), .src = S_XL_HVM, .at = XC(X_TSC),                   \
        .ed = { P32(0, (t)), P32(4, (len)) }, .cat = (c), .want = 4,      \
        .text = (txt)                                                     \
    }
#define LEN_XL(nm, t, len, c, txt)                                     \
    {                                                                     \
        .name = (nm), .src = S_XL_HVM, .at = XL(L_EMU),                   \
        .ed = { P32(0, (t)), P32(4, (len)) }, .cat = (c), .want = 4,      \
        .text = (txt)                                                     \
    }
/* Order rows: a short standalone image whose last record breaks the rule. */
#define ORDER(nm, v, g, txt, ...)                                         \
    {                                                                     \
        .name = (nm), .src = S_SEQ, .ver = (v), .guest = (g),             \
        SEQ(__VA_ARGS__), .at = MARK, .cat = XMIG_ERR_PROTOCOL,           \
        .want = 0, .text = (txt)                                          \
    }
#define ACCEPT_SEQ(nm, v, g, skip, ...)                                   \
    {                                                                     \
        .name = (nm), .src = S_SEQ, .ver = (v), .guest = (g),             \
        SEQ(__VA_ARGS__), .at = MARK, .cat = XMIG_ERR_NONE,               \
        .skipped = (skip)                                                 \
    }
/* JSON rows: a config text whose error lies at octet pos of the text. */
#define JSON_BAD(nm, json, pos, txt)                                      \
    {                                                                     \
        .name = (nm), .src = S_CUSTOM, .build = build_xl_json,            \
        .arg = (json), .at = START, .cat = XMIG_ERR_PROTOCOL,             \
        .want = XL_CONFIG + (pos), .text = (txt)                          \
    }

/* ---- builders -------------------------------------------------------- */

/* The xl magic, written out here rather than borrowed from the library so
 * that the test is an independent reading of the format. */
static const uint8_t xl_magic[32] = "Xen saved domain, xl format\n \0 \r";

static struct buf default_stream(enum src s)
{
    switch (s) {
    case S_XL_PV:
        return make_default_stream(XMIG_FORMAT_XL, PV);
    case S_LIBXL_HVM:
        return make_default_stream(XMIG_FORMAT_LIBXL, HVM);
    case S_LIBXL_PV:
        return make_default_stream(XMIG_FORMAT_LIBXL, PV);
    case S_LIBXC_HVM:
        return make_default_stream(XMIG_FORMAT_LIBXC, HVM);
    case S_LIBXC_PV:
        return make_default_stream(XMIG_FORMAT_LIBXC, PV);
    default:
        return make_default_stream(XMIG_FORMAT_XL, HVM);
    }
}

/* The smallest valid HVM context: HEADER descriptor and save header, then
 * the END descriptor. */
static uint32_t hvm_context_min(uint8_t *b)
{
    put_le16(b, 1);
    put_le16(b + 2, 0);
    put_le32(b + 4, 24);
    put_le32(b + 8, 0x54381286u);
    put_le32(b + 12, 1);
    /* changeset, cpuid, gtsc_khz: zero; END descriptor: zero */
    return 8 + 24 + 8;
}

/* A body that obeys every field rule of its type, so that in an order row
 * only the position of the record can be wrong. */
static uint32_t seq_body(uint32_t code, uint8_t *b)
{
    uint32_t type = code & ~(BARE | ODD);

    memset(b, 0, XMIG_PAGE_SIZE);
    switch (type) {
    case X_PAGE:
        /* one hole: no page data needed */
        put_le32(b, 1);
        put_le64(b + 8, ((uint64_t)XMIG_PFN_TYPE_XTAB << 60) | 0x42);
        return 16;
    case X_PVINFO:
        b[0] = 8;   /* 64-bit guest */
        b[1] = 4;   /* 4-level page tables */
        return 8;
    case X_P2M:
        /* pfns 0-0 fit in one p2m frame */
        put_le64(b + 8, 0x100000);
        return 16;
    case X_VBASIC:
    case X_VEXT:
    case X_VXSAVE:
    case X_VMSRS:
        if (code & BARE) {
            return 8;
        }
        if (code & ODD) {
            memset(b + 8, 0xab, 5);
            return 13;
        }
        memset(b + 8, 0xab, 8);
        return 16;
    case X_SHINFO:
        return XMIG_PAGE_SIZE;
    case X_TSC:
        put_le32(b + 4, 1000000);
        return 24;
    case X_HVMCTX:
        return hvm_context_min(b);
    case X_PARAMS:
        if (code & BARE) {
            return 8;   /* count 0: tolerated per the spec errata */
        }
        put_le32(b, 1);
        put_le64(b + 8, 1);
        put_le64(b + 16, 0xfeffc);
        return 24;
    case X_TOOLSTACK:
        memcpy(b, "tool", 4);
        return 4;
    case X_DIRTY:
        put_le64(b, 0x42);
        return 8;
    case X_CPUID:
        put_le32(b + 4, 0xffffffffu);
        put_le32(b + 8, 0xd);
        return 24;
    case X_MSR:
        put_le32(b, 0xce);
        return 16;
    case X_OPT:
        memcpy(b, "hello", 5);
        return 5;
    default:
        return 0;   /* END, VERIFY, CHECKPOINT, STATIC_DATA_END */
    }
}

static struct buf build_seq(const struct neg_case *nc, long *mark)
{
    struct raw r = { 0 };
    uint8_t body[XMIG_PAGE_SIZE];

    raw_libxc_headers(&r, nc->ver, nc->guest);
    for (size_t i = 0; i < nc->nseq; i++) {
        uint32_t len = seq_body(nc->seq[i], body);
        *mark = (long)r.len;
        raw_record(&r, nc->seq[i] & ~(BARE | ODD), body, len);
    }
    return raw_buf(&r);
}

static void raw_xl_header(struct raw *r, uint32_t flags, const void *opt,
                          size_t optlen)
{
    raw_bytes(r, xl_magic, sizeof(xl_magic));
    raw_le32(r, 0x01020304u);
    raw_le32(r, flags);
    raw_le32(r, 0);
    raw_le32(r, (uint32_t)optlen);
    raw_bytes(r, opt, optlen);
}

static void raw_append_buf(struct raw *r, struct buf b)
{
    raw_bytes(r, b.data, b.len);
}

/* An xl header with .n1 as mandatory flags and .arg as optional data, in
 * front of a valid libxl stream. */
static struct buf build_xl_opt(const struct neg_case *nc, long *mark)
{
    struct raw r = { 0 };
    struct buf tail = default_stream(S_LIBXL_HVM);

    raw_xl_header(&r, nc->n1, nc->arg, nc->argn);
    raw_append_buf(&r, tail);
    buf_free(&tail);
    *mark = 0;
    return raw_buf(&r);
}

/* An xl header carrying .arg as its JSON config (xl adds the NUL). */
static struct buf build_xl_json(const struct neg_case *nc, long *mark)
{
    struct raw opt = { 0 }, r = { 0 };
    struct buf tail = default_stream(S_LIBXL_HVM);
    size_t n = strlen(nc->arg);

    raw_le32(&opt, (uint32_t)n + 1);
    raw_bytes(&opt, nc->arg, n + 1);
    raw_xl_header(&r, 3, opt.data, opt.len);
    raw_append_buf(&r, tail);
    buf_free(&tail);
    free(opt.data);
    *mark = 0;
    return raw_buf(&r);
}

/* The default xl stream with one EMULATOR_XENSTORE_DATA record spliced in
 * before the libxl END (the libxl order rules let it stand anywhere). */
static struct buf splice_xs(uint32_t emulator_id, const uint8_t *pairs,
                            size_t n, long *mark)
{
    struct buf d = default_stream(S_XL_HVM);
    long end = find_record(d, XMIG_LAYER_LIBXL, L_END, 0);
    struct raw body = { 0 }, r = { 0 };

    assert_true(end > 0);
    raw_le32(&body, emulator_id);
    raw_le32(&body, 0);
    raw_bytes(&body, pairs, n);
    raw_bytes(&r, d.data, (size_t)end);
    raw_record(&r, L_XS, body.data, (uint32_t)body.len);
    raw_bytes(&r, d.data + end, d.len - (size_t)end);
    free(body.data);
    buf_free(&d);
    *mark = end;
    return raw_buf(&r);
}

/* Pairs from .arg, emulator_id .n1. */
static struct buf build_xs(const struct neg_case *nc, long *mark)
{
    return splice_xs(nc->n1, (const uint8_t *)nc->arg, nc->argn, mark);
}

/* One pair: a key of .n1 'k's and a value of .n2 'v's. */
static struct buf build_xs_long(const struct neg_case *nc, long *mark)
{
    size_t n = (size_t)nc->n1 + 1 + nc->n2 + 1;
    uint8_t *p = calloc(1, n);
    struct buf b;

    assert_non_null(p);
    memset(p, 'k', nc->n1);
    memset(p + nc->n1 + 1, 'v', nc->n2);
    b = splice_xs(2, p, n, mark);
    free(p);
    return b;
}

/* ---- the table ------------------------------------------------------- */

static const struct neg_case cases[] = {
    /* -- format detection (reader.c detect) -- */
    { .name = "detect: empty stream", .src = S_XL_HVM, .at = START,
      .ed = { CUT(0) }, .cat = XMIG_ERR_CLOSED, .want = 0,
      .text = "empty stream" },
    { .name = "detect: 7 octets of an xl magic", .src = S_XL_HVM,
      .at = START, .ed = { CUT(7) }, .cat = XMIG_ERR_CLOSED, .want = 7,
      .text = "stream truncated" },
    { .name = "detect: 1 octet of a libxc marker", .src = S_LIBXC_HVM,
      .at = START, .ed = { CUT(1) }, .cat = XMIG_ERR_CLOSED, .want = 1,
      .text = "stream truncated" },
    { .name = "detect: 3 octets of garbage", .src = S_XL_HVM, .at = START,
      .ed = { P8(0, 'Q'), CUT(3) }, .cat = XMIG_ERR_PROTOCOL, .want = 0,
      .text = "not a Xen migration stream" },
    { .name = "detect: unknown magic", .src = S_XL_HVM, .at = START,
      .ed = { P32(0, 0x12345678u) }, .cat = XMIG_ERR_PROTOCOL, .want = 0,
      .text = "not a Xen migration stream: first octets 78 56 34 12" },
    { .name = "detect: legacy image (zero bit in the marker)",
      .src = S_LIBXC_HVM, .at = START, .ed = { P8(7, 0xfe) },
      .cat = XMIG_ERR_PROTOCOL, .want = 0,
      .text = "legacy pre-v2 images are not read" },
    { .name = "format given: 5 octets read as libxc", .src = S_LIBXC_HVM,
      .at = START, .ed = { CUT(5) }, .fmt = XMIG_FORMAT_LIBXC,
      .cat = XMIG_ERR_CLOSED, .want = 5,
      .text = "image header needs 24 octets, only 5 arrived" },
    { .name = "format given: xl file read as libxc", .src = S_XL_HVM,
      .at = START, .fmt = XMIG_FORMAT_LIBXC, .cat = XMIG_ERR_PROTOCOL,
      .want = 0, .text = "image marker is 0x58656e2073617665",
      .text2 = "libxc image header" },
    { .name = "format given: libxc image read as libxl",
      .src = S_LIBXC_HVM, .at = START, .fmt = XMIG_FORMAT_LIBXL,
      .cat = XMIG_ERR_PROTOCOL, .want = 0,
      .text = "libxl ident is 0xffffffffffffffff" },
    { .name = "format given: libxl stream read as xl", .src = S_LIBXL_HVM,
      .at = START, .fmt = XMIG_FORMAT_XL, .cat = XMIG_ERR_PROTOCOL,
      .want = 0, .text = "bad xl save-file magic" },

    /* -- xl save-file header (xl_header.c rec_xl_header_decode) -- */
    { .name = "xl: bad magic after the first 8 octets", .src = S_XL_HVM,
      .at = START, .ed = { P8(20, 'X') }, .cat = XMIG_ERR_PROTOCOL,
      .want = 0, .text = "bad xl save-file magic" },
    { .name = "xl: big-endian byte-order marker", .src = S_XL_HVM,
      .at = START, .ed = { P32(32, 0x04030201u) },
      .cat = XMIG_ERR_PROTOCOL, .want = 32,
      .text = "big-endian xl save file" },
    { .name = "xl: bad byte-order marker", .src = S_XL_HVM, .at = START,
      .ed = { P32(32, 0) }, .cat = XMIG_ERR_PROTOCOL, .want = 32,
      .text = "byte-order marker is 0x00000000, must be 0x01020304" },
    { .name = "xl: unknown mandatory flag", .src = S_XL_HVM, .at = START,
      .ed = { P32(36, 7) }, .cat = XMIG_ERR_PROTOCOL, .want = 36,
      .text = "unknown mandatory flags 0x4" },
    { .name = "xl: legacy stream (no STREAMV2 flag)", .src = S_XL_HVM,
      .at = START, .ed = { P32(36, 1) }, .cat = XMIG_ERR_UNSUPPORTED,
      .want = 36, .text = "legacy (pre-v2) stream" },
    { .name = "xl: optional_data_len over the cap", .src = S_XL_HVM,
      .at = START, .ed = { P32(44, 16 * MIB + 1) }, .cat = XMIG_ERR_LIMIT,
      .want = 44,
      .text = "optional_data_len 16777217 exceeds xmig's limit of 16777216" },
    { .name = "xl: truncated inside the header", .src = S_XL_HVM,
      .at = START, .ed = { CUT(20) }, .cat = XMIG_ERR_CLOSED, .want = 20,
      .text = "xl save-file header needs 48 octets, only 20 arrived" },
    { .name = "xl: truncated before the optional data", .src = S_XL_HVM,
      .at = START, .ed = { CUT(XL_OPT) }, .cat = XMIG_ERR_CLOSED,
      .want = XL_OPT, .text = "xl optional data needs",
      .text2 = "only 0 arrived" },
    { .name = "xl: truncated inside the optional data", .src = S_XL_HVM,
      .at = START, .ed = { CUT(100) }, .cat = XMIG_ERR_CLOSED, .want = 100,
      .text = "xl optional data needs", .text2 = "only 52 arrived" },
    { .name = "accept: xl optional flags are ignored", .src = S_XL_HVM,
      .at = START, .ed = { P32(40, 0xffffffffu) }, .cat = XMIG_ERR_NONE },

    /* -- xl optional data (xl_header.c rec_xl_optdata_decode) -- */
    { .name = "xl optdata: JSON flag but no optional data",
      .src = S_CUSTOM, .build = build_xl_opt, .n1 = 3, BYTES(""),
      .at = START, .cat = XMIG_ERR_PROTOCOL, .want = XL_OPT,
      .text = "JSON flag set but the file holds no config" },
    { .name = "xl optdata: shorter than the config length",
      .src = S_CUSTOM, .build = build_xl_opt, .n1 = 3,
      BYTES("\x01\x00"), .at = START, .cat = XMIG_ERR_PROTOCOL,
      .want = XL_OPT,
      .text = "optional data of 2 octets is too short for the config "
              "length" },
    { .name = "xl optdata: config length overruns it", .src = S_XL_HVM,
      .at = START, .ed = { P32(XL_OPT, 200) }, .cat = XMIG_ERR_PROTOCOL,
      .want = XL_OPT, .text = "config length 200 exceeds the" },
    { .name = "xl optdata: JSON flag but empty config", .src = S_CUSTOM,
      .build = build_xl_opt, .n1 = 3, BYTES("\x00\x00\x00\x00"),
      .at = START, .cat = XMIG_ERR_PROTOCOL, .want = XL_OPT,
      .text = "JSON flag set but the config is empty" },
    { .name = "xl optdata: JSON config without its NUL", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_LIBXL_HEADER), .ed = { P8(-1, ' ') },
      .cat = XMIG_ERR_PROTOCOL, .want = -1,
      .text = "JSON config is not NUL-terminated" },
    { .name = "accept: xl without config or JSON flag", .src = S_CUSTOM,
      .build = build_xl_opt, .n1 = 2, BYTES(""), .at = START,
      .cat = XMIG_ERR_NONE },
    { .name = "accept: xl non-JSON config without NUL", .src = S_CUSTOM,
      .build = build_xl_opt, .n1 = 2, BYTES("\x03\x00\x00\x00" "abc"),
      .at = START, .cat = XMIG_ERR_NONE },
    { .name = "accept: xl optional data after the config",
      .src = S_CUSTOM, .build = build_xl_opt, .n1 = 3,
      BYTES("\x03\x00\x00\x00" "{}" "\x00" "more"), .at = START,
      .cat = XMIG_ERR_NONE },

    /* -- JSON config (xl_config.c): jansson's refusals, at the octet where
     * it stopped, and xmig's own (an object, at most 64 deep) -- */
    JSON_BAD("json: control character in a string", "{\"a\x01\":1}", 3,
             "control character 0x1"),
    JSON_BAD("json: bad \\u escape", "{\"a\":\"\\u12G4\"}", 11,
             "invalid escape"),
    JSON_BAD("json: bad escape", "{\"a\":\"\\x\"}", 8, "invalid escape"),
    JSON_BAD("json: unterminated string", "{\"a\":\"abc", 9,
             "premature end of input"),
    JSON_BAD("json: minus without digits", "{\"a\":-}", 6, "invalid token"),
    JSON_BAD("json: fraction without digits", "{\"a\":1.}", 7,
             "invalid token"),
    JSON_BAD("json: exponent without digits", "{\"a\":1e}", 7,
             "invalid token"),
    JSON_BAD("json: misspelt literal", "{\"a\":tru}", 8, "invalid token"),
    JSON_BAD("json: NUL in a string", "{\"a\":\"x\\u0000y\"}", 15,
             "\\u0000 is not allowed"),
    JSON_BAD("json: not UTF-8", "{\"a\":\"\xff\"}", 6,
             "unable to decode byte 0xff"),
    JSON_BAD("json: duplicate key", "{\"a\":1,\"a\":2}", 10,
             "duplicate object key"),
    JSON_BAD("json: integer too big", "{\"a\":99999999999999999999}", 25,
             "too big integer"),
    JSON_BAD("json: nesting deeper than 64",
             "{\"a\":" OPEN16 OPEN16 OPEN16 OPEN16 CLOSE16 CLOSE16 CLOSE16
                 CLOSE16 "}",
             0, "nesting deeper than 64 levels"),
    JSON_BAD("json: not an object", "[1]", 0,
             "a domain config is an object"),
    JSON_BAD("json: object key not a string", "{1:2}", 2,
             "string or '}' expected"),
    JSON_BAD("json: trailing comma in an object", "{\"a\":1,}", 8,
             "string or '}' expected"),
    JSON_BAD("json: missing colon", "{\"a\" 1}", 6, "':' expected"),
    JSON_BAD("json: missing comma in an object", "{\"a\":1 \"b\":2}", 10,
             "'}' expected"),
    JSON_BAD("json: missing comma in an array", "{\"a\":[1 2]}", 9,
             "']' expected"),
    JSON_BAD("json: text ends inside an object", "{\"a\":", 5,
             "unexpected token near end of file"),
    JSON_BAD("json: empty text", "", 0, "'[' or '{' expected"),
    JSON_BAD("json: stray character", "{\"a\":[@]}", 7, "invalid token"),
    JSON_BAD("json: leading plus", "+1", 1, "'[' or '{' expected"),
    JSON_BAD("json: trailing characters", "{} x", 4,
             "end of file expected"),
    { .name = "accept: json nested exactly 64 deep", .src = S_CUSTOM,
      .build = build_xl_json,
      .arg = "{\"a\":" OPEN16 OPEN16 OPEN16 "[[[[[[[[[[[[[[["
             "]]]]]]]]]]]]]]]" CLOSE16 CLOSE16 CLOSE16 "}",
      .at = START, .cat = XMIG_ERR_NONE },
    { .name = "accept: json with every kind of value", .src = S_CUSTOM,
      .build = build_xl_json,
      .arg = " {\"n\": [0, -1, 1.5, -0.5e+10, 2E-3, 7e9],\r\n\t"
             "\"s\": \"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\","
             " \"l\": [true, false, null], \"o\": {}, \"a\": []} ",
      .at = START, .cat = XMIG_ERR_NONE },

    /* -- libxl header (headers.c rec_libxl_header_decode) -- */
    { .name = "libxl header: bad ident", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_LIBXL_HEADER),
      .ed = { B64(0, 0x4c6962786c466d75ull) }, .cat = XMIG_ERR_PROTOCOL,
      .want = 0, .text = "libxl ident is 0x4c6962786c466d75",
      .text2 = "libxl header" },
    { .name = "libxl header: version 1", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_LIBXL_HEADER), .ed = { B32(8, 1) },
      .cat = XMIG_ERR_PROTOCOL, .want = 8,
      .text = "libxl stream version 1; xmig reads version 2" },
    { .name = "libxl header: big-endian option", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_LIBXL_HEADER), .ed = { B32(12, 1) },
      .cat = XMIG_ERR_PROTOCOL, .want = 12,
      .text = "big-endian libxl stream" },
    { .name = "libxl header: reserved option bit", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_LIBXL_HEADER), .ed = { B32(12, 0x80000000u) },
      .cat = XMIG_ERR_PROTOCOL, .want = 12,
      .text = "reserved libxl option bits 0x80000000" },
    { .name = "libxl header: truncated inside", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_LIBXL_HEADER), .ed = { CUT(4) },
      .cat = XMIG_ERR_CLOSED, .want = 4, .text = "libxl header",
      .text2 = "needs 16 octets, only 4 arrived" },
    { .name = "libxl header: truncated before it", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_LIBXL_HEADER), .ed = { CUT(0) },
      .cat = XMIG_ERR_CLOSED, .want = 0, .text = "libxl header",
      .text2 = "needs 16 octets, only 0 arrived" },
    { .name = "accept: libxl legacy-converted option", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_LIBXL_HEADER), .ed = { B32(12, 2) },
      .cat = XMIG_ERR_NONE },

    /* -- libxc image header (headers.c rec_image_header_decode) -- */
    { .name = "image header: marker not all-ones", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_IMAGE_HEADER),
      .ed = { B64(0, 0xffffffff00000000ull) }, .cat = XMIG_ERR_PROTOCOL,
      .want = 0, .text = "image marker is 0xffffffff00000000" },
    { .name = "image header: bad id", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_IMAGE_HEADER), .ed = { B32(8, 0x58454e47u) },
      .cat = XMIG_ERR_PROTOCOL, .want = 8,
      .text = "image id is 0x58454e47" },
    { .name = "image header: version 1", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_IMAGE_HEADER), .ed = { B32(12, 1) },
      .cat = XMIG_ERR_PROTOCOL, .want = 12, .text = "image version 1" },
    { .name = "image header: version 4 (standalone)", .src = S_LIBXC_HVM,
      .at = ITEM(XMIG_ITEM_IMAGE_HEADER), .ed = { B32(12, 4) },
      .cat = XMIG_ERR_PROTOCOL, .want = 12, .text = "image version 4" },
    { .name = "image header: big-endian option", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_IMAGE_HEADER), .ed = { B16(16, 1) },
      .cat = XMIG_ERR_PROTOCOL, .want = 16, .text = "big-endian stream" },
    { .name = "image header: reserved option bit", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_IMAGE_HEADER), .ed = { B16(16, 0x8000) },
      .cat = XMIG_ERR_PROTOCOL, .want = 16,
      .text = "reserved image option bits 0x8000" },
    { .name = "image header: reserved field nonzero", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_IMAGE_HEADER), .ed = { P8(23, 1) },
      .cat = XMIG_ERR_PROTOCOL, .want = 18,
      .text = "reserved image header field is nonzero" },
    { .name = "image header: truncated inside", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_IMAGE_HEADER), .ed = { CUT(10) },
      .cat = XMIG_ERR_CLOSED, .want = 10,
      .text = "image header needs 24 octets, only 10 arrived" },
    { .name = "image header: truncated before it", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_IMAGE_HEADER), .ed = { CUT(0) },
      .cat = XMIG_ERR_CLOSED, .want = 0,
      .text = "image header needs 24 octets, only 0 arrived" },
    { .name = "image header: standalone, truncated inside",
      .src = S_LIBXC_HVM, .at = START, .ed = { CUT(12) },
      .cat = XMIG_ERR_CLOSED, .want = 12,
      .text = "image header needs 24 octets, only 12 arrived" },

    /* -- libxc domain header (headers.c rec_domain_header_decode) -- */
    { .name = "domain header: type 0", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_DOMAIN_HEADER), .ed = { P32(0, 0) },
      .cat = XMIG_ERR_PROTOCOL, .want = 0,
      .text = "domain type 0x0 is reserved", .text2 = "domain header" },
    { .name = "domain header: type 3", .src = S_LIBXC_PV,
      .at = ITEM(XMIG_ITEM_DOMAIN_HEADER), .ed = { P32(0, 3) },
      .cat = XMIG_ERR_PROTOCOL, .want = 0,
      .text = "domain type 0x3 is reserved" },
    { .name = "domain header: page_shift 13", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_DOMAIN_HEADER), .ed = { P16(4, 13) },
      .cat = XMIG_ERR_PROTOCOL, .want = 4,
      .text = "page_shift 13; x86 guests use 12" },
    { .name = "domain header: reserved field nonzero", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_DOMAIN_HEADER), .ed = { P16(6, 1) },
      .cat = XMIG_ERR_PROTOCOL, .want = 6,
      .text = "reserved domain header field is 0x0001" },
    { .name = "domain header: truncated inside", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_DOMAIN_HEADER), .ed = { CUT(6) },
      .cat = XMIG_ERR_CLOSED, .want = 6,
      .text = "domain header needs 16 octets, only 6 arrived" },
    { .name = "domain header: truncated before it", .src = S_XL_HVM,
      .at = ITEM(XMIG_ITEM_DOMAIN_HEADER), .ed = { CUT(0) },
      .cat = XMIG_ERR_CLOSED, .want = 0,
      .text = "domain header needs 16 octets, only 0 arrived" },
    { .name = "domain header: PV records under an HVM type",
      .src = S_XL_PV, .at = ITEM(XMIG_ITEM_DOMAIN_HEADER),
      .ed = { P32(0, HVM) }, .cat = XMIG_ERR_PROTOCOL, .want = 16,
      .text = "X86_PV_INFO is not valid in an x86 HVM image" },
    { .name = "accept: domain header xen_major 0 (converted)",
      .src = S_XL_HVM, .at = ITEM(XMIG_ITEM_DOMAIN_HEADER),
      .ed = { P32(8, 0) }, .cat = XMIG_ERR_NONE },

    /* -- record framing (reader.c read_record, names.c padding) -- */
    { .name = "framing: unknown mandatory libxc type 0x13", .src = S_XL_HVM,
      .at = XC(X_TSC), .ed = { P32(0, 0x13) }, .cat = XMIG_ERR_PROTOCOL,
      .want = 0, .text = "unknown mandatory record type 0x00000013" },
    { .name = "framing: unknown mandatory libxc type 0x7fffffff",
      .src = S_LIBXC_PV, .at = XC(X_SHINFO), .ed = { P32(0, 0x7fffffff) },
      .cat = XMIG_ERR_PROTOCOL, .want = 0,
      .text = "unknown mandatory record type 0x7fffffff" },
    { .name = "framing: unknown mandatory libxl type 6", .src = S_XL_HVM,
      .at = XL(L_EMU), .ed = { P32(0, 6) }, .cat = XMIG_ERR_PROTOCOL,
      .want = 0, .text = "unknown mandatory record type 0x00000006",
      .text2 = "libxl record unknown" },
    { .name = "framing: nonzero padding after a vCPU record",
      .src = S_SEQ, .ver = 3, .guest = PV,
      SEQ(X_PVINFO, X_SDE, X_P2M, X_VBASIC | ODD), .at = MARK,
      .ed = { P8(BODY + 13 + 2, 1) }, .cat = XMIG_ERR_PROTOCOL,
      .want = BODY + 13 + 2, .text = "padding octet 2 is 0x01",
      .text2 = "X86_PV_VCPU_BASIC" },
    { .name = "framing: nonzero padding after an optional libxc record",
      .src = S_XL_HVM, .at = XC(X_END), .ed = { INS(0, R_OPT_BADPAD) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 5 + 1,
      .text = "padding octet 1 is 0x01" },
    { .name = "framing: nonzero padding after an optional libxl record",
      .src = S_XL_HVM, .at = XL(L_END), .ed = { INS(0, R_OPT_BADPAD) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 5 + 1,
      .text = "padding octet 1 is 0x01" },
    { .name = "framing: nonzero padding after EMULATOR_XENSTORE_DATA",
      .src = S_CUSTOM, .build = build_xs, .n1 = 2, BYTES("a\0b\0"),
      .at = MARK, .ed = { P8(BODY + 12 + 3, 0xff) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 12 + 3,
      .text = "padding octet 3 is 0xff" },
    { .name = "framing: data after the final END (xl)", .src = S_XL_HVM,
      .at = EOS, .ed = { APPEND(1) }, .cat = XMIG_ERR_PROTOCOL, .want = 0,
      .text = "trailing data after the final END" },
    { .name = "framing: data after the final END (libxl)",
      .src = S_LIBXL_PV, .at = EOS, .ed = { APPEND(8) },
      .cat = XMIG_ERR_PROTOCOL, .want = 0,
      .text = "trailing data after the final END" },
    { .name = "framing: data after the final END (libxc)",
      .src = S_LIBXC_HVM, .at = EOS, .ed = { APPEND(8) },
      .cat = XMIG_ERR_PROTOCOL, .want = 0,
      .text = "trailing data after the final END" },

    /* -- libxc length rules (names.c libxc_rules), one per bound -- */
    LEN_XC("length: END not empty", X_END, 8, XMIG_ERR_PROTOCOL,
           "body_length 8, must be exactly 0"),
    LEN_XC("length: PAGE_DATA below 16", X_PAGE, 8, XMIG_ERR_PROTOCOL,
           "body_length 8, must be at least 16"),
    LEN_XC("length: PAGE_DATA not a multiple of 8", X_PAGE, 20,
           XMIG_ERR_PROTOCOL, "body_length 20 is not a multiple of 8"),
    LEN_XC("length: PAGE_DATA over 8192 pages", X_PAGE, 33619976 + 8,
           XMIG_ERR_LIMIT,
           "body_length 33619984 exceeds xmig's limit of 33619976"),
    LEN_XC("length: PAGE_DATA claims 4 GiB", X_PAGE, 0xfffffff0u,
           XMIG_ERR_LIMIT, "body_length 4294967280 exceeds xmig's limit"),
    LEN_XC("length: X86_PV_INFO not 8", X_PVINFO, 16, XMIG_ERR_PROTOCOL,
           "body_length 16, must be exactly 8"),
    LEN_XC("length: X86_PV_P2M_FRAMES below 8", X_P2M, 0,
           XMIG_ERR_PROTOCOL, "body_length 0, must be at least 8"),
    LEN_XC("length: X86_PV_P2M_FRAMES not a multiple of 8", X_P2M, 12,
           XMIG_ERR_PROTOCOL, "body_length 12 is not a multiple of 8"),
    LEN_XC("length: X86_PV_P2M_FRAMES over 16 MiB", X_P2M, 16 * MIB + 8,
           XMIG_ERR_LIMIT,
           "body_length 16777224 exceeds xmig's limit of 16777216"),
    LEN_XC("length: X86_PV_VCPU_BASIC below 8", X_VBASIC, 4,
           XMIG_ERR_PROTOCOL, "body_length 4, must be at least 8"),
    LEN_XC("length: X86_PV_VCPU_EXTENDED below 8", X_VEXT, 7,
           XMIG_ERR_PROTOCOL, "body_length 7, must be at least 8"),
    LEN_XC("length: X86_PV_VCPU_XSAVE below 8", X_VXSAVE, 0,
           XMIG_ERR_PROTOCOL, "body_length 0, must be at least 8"),
    LEN_XC("length: X86_PV_VCPU_MSRS below 8", X_VMSRS, 4,
           XMIG_ERR_PROTOCOL, "body_length 4, must be at least 8"),
    LEN_XC("length: X86_PV_VCPU_XSAVE over 16 MiB", X_VXSAVE,
           16 * MIB + 1, XMIG_ERR_LIMIT,
           "body_length 16777217 exceeds xmig's limit of 16777216"),
    LEN_XC("length: SHARED_INFO not one page", X_SHINFO, 4095,
           XMIG_ERR_PROTOCOL, "body_length 4095, must be exactly 4096"),
    LEN_XC("length: X86_TSC_INFO not 24", X_TSC, 16, XMIG_ERR_PROTOCOL,
           "body_length 16, must be exactly 24"),
    LEN_XC("length: HVM_CONTEXT empty", X_HVMCTX, 0, XMIG_ERR_PROTOCOL,
           "body_length 0, must be at least 1"),
    LEN_XC("length: HVM_CONTEXT claims 4 GiB", X_HVMCTX, 0xfffffff0u,
           XMIG_ERR_LIMIT,
           "body_length 4294967280 exceeds xmig's limit of 16777216"),
    LEN_XC("length: HVM_PARAMS below 8", X_PARAMS, 0, XMIG_ERR_PROTOCOL,
           "body_length 0, must be at least 8"),
    LEN_XC("length: HVM_PARAMS not a multiple of 8", X_PARAMS, 12,
           XMIG_ERR_PROTOCOL, "body_length 12 is not a multiple of 8"),
    LEN_XC("length: TOOLSTACK over 16 MiB", X_TOOLSTACK, 16 * MIB + 1,
           XMIG_ERR_LIMIT,
           "body_length 16777217 exceeds xmig's limit of 16777216"),
    LEN_XC("length: VERIFY not empty", X_VERIFY, 8, XMIG_ERR_PROTOCOL,
           "body_length 8, must be exactly 0"),
    LEN_XC("length: CHECKPOINT not empty", X_CKPT, 8, XMIG_ERR_PROTOCOL,
           "body_length 8, must be exactly 0"),
    LEN_XC("length: CHECKPOINT_DIRTY_PFN_LIST not a multiple of 8",
           X_DIRTY, 12, XMIG_ERR_PROTOCOL,
           "body_length 12 is not a multiple of 8"),
    LEN_XC("length: CHECKPOINT_DIRTY_PFN_LIST over 16 MiB", X_DIRTY,
           16 * MIB + 8, XMIG_ERR_LIMIT,
           "body_length 16777224 exceeds xmig's limit of 16777216"),
    LEN_XC("length: STATIC_DATA_END not empty", X_SDE, 8, XMIG_ERR_PROTOCOL,
           "body_length 8, must be exactly 0"),
    LEN_XC("length: X86_CPUID_POLICY empty", X_CPUID, 0, XMIG_ERR_PROTOCOL,
           "body_length 0, must be at least 24"),
    LEN_XC("length: X86_CPUID_POLICY not a multiple of 24", X_CPUID, 30,
           XMIG_ERR_PROTOCOL, "body_length 30 is not a multiple of 24"),
    LEN_XC("length: X86_CPUID_POLICY over 16 MiB", X_CPUID, 16 * MIB + 16,
           XMIG_ERR_LIMIT,
           "body_length 16777232 exceeds xmig's limit of 16777216"),
    LEN_XC("length: X86_MSR_POLICY below 16", X_MSR, 8, XMIG_ERR_PROTOCOL,
           "body_length 8, must be at least 16"),
    LEN_XC("length: X86_MSR_POLICY not a multiple of 16", X_MSR, 24,
           XMIG_ERR_PROTOCOL, "body_length 24 is not a multiple of 16"),
    LEN_XC("length: unknown optional libxc record over 16 MiB", X_OPT,
           16 * MIB + 1, XMIG_ERR_LIMIT,
           "body_length 16777217 exceeds xmig's limit of 16777216 for an "
           "unknown record"),
    LEN_XC("length: unknown optional libxc record claims 4 GiB", X_OPT,
           0xfffffff0u, XMIG_ERR_LIMIT,
           "body_length 4294967280 exceeds xmig's limit"),

    /* -- libxl length rules (names.c libxl_rules) -- */
    LEN_XL("length: libxl END not empty", L_END, 8, XMIG_ERR_PROTOCOL,
           "body_length 8, must be exactly 0"),
    LEN_XL("length: LIBXC_CONTEXT not empty", L_CTX, 8, XMIG_ERR_PROTOCOL,
           "body_length 8, must be exactly 0"),
    LEN_XL("length: EMULATOR_XENSTORE_DATA below 8", L_XS, 4,
           XMIG_ERR_PROTOCOL, "body_length 4, must be at least 8"),
    LEN_XL("length: EMULATOR_XENSTORE_DATA over 16 MiB", L_XS,
           16 * MIB + 1, XMIG_ERR_LIMIT,
           "body_length 16777217 exceeds xmig's limit of 16777216"),
    LEN_XL("length: EMULATOR_CONTEXT below 8", L_EMU, 4, XMIG_ERR_PROTOCOL,
           "body_length 4, must be at least 8"),
    LEN_XL("length: EMULATOR_CONTEXT over 32 MiB", L_EMU, 32 * MIB + 1,
           XMIG_ERR_LIMIT,
           "body_length 33554433 exceeds xmig's limit of 33554432"),
    LEN_XL("length: CHECKPOINT_END not empty", L_CKEND, 8,
           XMIG_ERR_PROTOCOL, "body_length 8, must be exactly 0"),
    LEN_XL("length: CHECKPOINT_STATE not 8", L_CKSTATE, 16,
           XMIG_ERR_PROTOCOL, "body_length 16, must be exactly 8"),
    LEN_XL("length: unknown optional libxl record over 16 MiB", X_OPT,
           16 * MIB + 1, XMIG_ERR_LIMIT,
           "body_length 16777217 exceeds xmig's limit of 16777216 for an "
           "unknown record"),

    /* -- PAGE_DATA (page_data.c) -- */
    { .name = "PAGE_DATA: count 0", .src = S_XL_HVM, .at = XC(X_PAGE),
      .ed = { P32(BODY, 0) }, .cat = XMIG_ERR_PROTOCOL, .want = BODY,
      .text = "count is 0, must be at least 1",
      .text2 = "libxc record PAGE_DATA (0x1)" },
    { .name = "PAGE_DATA: reserved field", .src = S_XL_HVM,
      .at = XC(X_PAGE), .ed = { P32(BODY + 4, 1) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 4,
      .text = "reserved field is 0x00000001, must be zero" },
    { .name = "PAGE_DATA: count beyond the body", .src = S_XL_HVM,
      .at = XC(X_PAGE), .ed = { P32(BODY, 0x10000) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY,
      .text = "count 65536 needs 524288 octets of pfns" },
    { .name = "PAGE_DATA: count 0xffffffff", .src = S_LIBXC_PV,
      .at = XC(X_PAGE), .ed = { P32(BODY, 0xffffffffu) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY,
      .text = "count 4294967295 needs 34359738360 octets of pfns" },
    { .name = "PAGE_DATA: pfn reserved bits 52-59", .src = S_XL_HVM,
      .at = XC(X_PAGE), .ed = { P64(BODY + 8 + 16, (1ull << 52) | 2) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 8 + 16,
      .text = "pfn[2] = 0x0010000000000002 has reserved bits 52-59 set" },
    { .name = "PAGE_DATA: pfn type 5 is reserved", .src = S_XL_HVM,
      .at = XC(X_PAGE), .ed = { P64(BODY + 8 + 16, (5ull << 60) | 2) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 8 + 16,
      .text = "has reserved page type 0x5" },
    { .name = "PAGE_DATA: pfn type 8 is reserved", .src = S_XL_PV,
      .at = XC(X_PAGE), .ed = { P64(BODY + 8, 8ull << 60) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 8,
      .text = "pfn[0] = 0x8000000000000000 has reserved page type 0x8" },
    { .name = "PAGE_DATA: more data than data pfns", .src = S_XL_HVM,
      .at = XC(X_PAGE), .ed = { P64(BODY + 8, 0xfull << 60) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 8 + 40 * 8,
      .text = "31 of 40 pfns carry data, so the body must be" },
    { .name = "PAGE_DATA: less data than data pfns", .src = S_XL_HVM,
      .at = XC(X_PAGE), .ed = { P64(BODY + 8 + 3 * 8, 3) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 8 + 40 * 8,
      .text = "33 of 40 pfns carry data, so the body must be" },
    { .name = "accept: PAGE_DATA pinned L1 and BROKEN pfns",
      .src = S_XL_PV, .at = XC(X_PAGE),
      .ed = { P64(BODY + 8, 9ull << 60), P64(BODY + 8 + 3 * 8,
                                             (0xdull << 60) | 3) },
      .cat = XMIG_ERR_NONE },

    /* -- X86_PV_INFO, X86_PV_P2M_FRAMES, vCPUs (pv.c) -- */
    { .name = "X86_PV_INFO: guest_width 5", .src = S_XL_PV,
      .at = XC(X_PVINFO), .ed = { P8(BODY, 5) }, .cat = XMIG_ERR_PROTOCOL,
      .want = BODY, .text = "guest_width 5, must be 4 or 8" },
    { .name = "X86_PV_INFO: pt_levels 2", .src = S_XL_PV,
      .at = XC(X_PVINFO), .ed = { P8(BODY + 1, 2) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 1,
      .text = "pt_levels 2, must be 3 or 4" },
    { .name = "X86_PV_INFO: reserved octets", .src = S_XL_PV,
      .at = XC(X_PVINFO), .ed = { P8(BODY + 5, 1) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 2,
      .text = "reserved field is nonzero" },
    { .name = "X86_PV_P2M_FRAMES: start above end", .src = S_XL_PV,
      .at = XC(X_P2M), .ed = { P32(BODY, 40) }, .cat = XMIG_ERR_PROTOCOL,
      .want = BODY, .text = "p2m_start_pfn 0x28 is above p2m_end_pfn 0x27" },
    { .name = "X86_PV_P2M_FRAMES: frame count disagrees", .src = S_XL_PV,
      .at = XC(X_P2M), .ed = { P32(BODY + 4, 3 * 512) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 8,
      .text = "span 4 p2m frames, so the body must be 40 octets, not 16" },
    { .name = "accept: X86_PV_P2M_FRAMES of a 32-bit guest",
      .src = S_XL_PV, .at = XC(X_PVINFO),
      .ed = { P8(BODY, 4) }, .cat = XMIG_ERR_NONE },
    { .name = "X86_PV_VCPU_BASIC: reserved field", .src = S_XL_PV,
      .at = XC(X_VBASIC), .ed = { P32(BODY + 4, 1) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 4,
      .text = "reserved field is 0x00000001, must be zero" },
    { .name = "X86_PV_VCPU_EXTENDED: reserved field", .src = S_XL_PV,
      .at = XC(X_VEXT), .ed = { P32(BODY + 4, 2) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 4,
      .text = "reserved field is 0x00000002, must be zero" },
    { .name = "X86_PV_VCPU_XSAVE: reserved field", .src = S_LIBXC_PV,
      .at = XC(X_VXSAVE), .ed = { P32(BODY + 4, 3) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 4,
      .text = "reserved field is 0x00000003, must be zero" },
    { .name = "X86_PV_VCPU_MSRS: reserved field", .src = S_LIBXL_PV,
      .at = XC(X_VMSRS), .ed = { P32(BODY + 4, 0x80000000u) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 4,
      .text = "reserved field is 0x80000000, must be zero" },

    /* -- X86_TSC_INFO, HVM_PARAMS, HVM_CONTEXT (hvm.c) -- */
    { .name = "X86_TSC_INFO: reserved field", .src = S_XL_HVM,
      .at = XC(X_TSC), .ed = { P32(BODY + 20, 1) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 20,
      .text = "reserved field is 0x00000001, must be zero" },
    { .name = "HVM_PARAMS: reserved field", .src = S_XL_HVM,
      .at = XC(X_PARAMS), .ed = { P32(BODY + 4, 1) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 4,
      .text = "reserved field is 0x00000001, must be zero" },
    { .name = "HVM_PARAMS: count disagrees with the body", .src = S_XL_HVM,
      .at = XC(X_PARAMS), .ed = { P32(BODY, 5) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY,
      .text = "count 5 needs a body of 88 octets, not 72" },
    { .name = "HVM_PARAMS: count 0xffffffff", .src = S_LIBXC_HVM,
      .at = XC(X_PARAMS), .ed = { P32(BODY, 0xffffffffu) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY,
      .text = "count 4294967295 needs a body of 68719476728 octets" },
    { .name = "HVM_CONTEXT: first descriptor not HEADER", .src = S_XL_HVM,
      .at = XC(X_HVMCTX), .ed = { P16(BODY, 2) }, .cat = XMIG_ERR_PROTOCOL,
      .want = BODY, .text = "starts with typecode 2, must start with "
                            "HEADER (1)" },
    { .name = "HVM_CONTEXT: HEADER instance", .src = S_XL_HVM,
      .at = XC(X_HVMCTX), .ed = { P16(BODY + 2, 1) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 2,
      .text = "HEADER instance 1, must be 0" },
    { .name = "HVM_CONTEXT: HEADER length", .src = S_XL_HVM,
      .at = XC(X_HVMCTX), .ed = { P32(BODY + 4, 16) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 4,
      .text = "HEADER length 16, must be 24" },
    { .name = "HVM_CONTEXT: save magic", .src = S_XL_HVM,
      .at = XC(X_HVMCTX), .ed = { P32(BODY + 8, 0) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 8,
      .text = "HVM context magic 0x00000000, must be 0x54381286" },
    { .name = "HVM_CONTEXT: save version", .src = S_XL_HVM,
      .at = XC(X_HVMCTX), .ed = { P32(BODY + 12, 2) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 12,
      .text = "HVM context version 2, must be 1" },
    { .name = "HVM_CONTEXT: second HEADER", .src = S_XL_HVM,
      .at = XC(X_HVMCTX), .ed = { P16(BODY + 32, 1) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 32,
      .text = "second HEADER descriptor" },
    { .name = "HVM_CONTEXT: typecode beyond Xen's", .src = S_XL_HVM,
      .at = XC(X_HVMCTX), .ed = { P16(BODY + 32, 21) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 32,
      .text = "typecode 21 is unknown to Xen 4.17 (max 20)" },
    { .name = "HVM_CONTEXT: descriptor overruns the record",
      .src = S_XL_HVM, .at = XC(X_HVMCTX), .ed = { P32(BODY + 36, 2000) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 36,
      .text = "length 2000 overruns the record by 960 octets" },
    { .name = "HVM_CONTEXT: no END descriptor", .src = S_XL_HVM,
      .at = XC(X_HVMCTX), .ed = { P32(BODY + 36, 1040) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 1080,
      .text = "ends without an END descriptor (2 descriptors read)" },
    { .name = "HVM_CONTEXT: END with a length", .src = S_XL_HVM,
      .at = XC(X_HVMCTX),
      .ed = { P32(BODY + 36, 1024), P64(BODY + 1064, 8ull << 32) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 1068,
      .text = "END length 8, must be 0" },
    { .name = "HVM_CONTEXT: octets after END", .src = S_XL_HVM,
      .at = XC(X_HVMCTX),
      .ed = { P32(BODY + 36, 1024), P64(BODY + 1064, 0) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 1072,
      .text = "8 octets follow the HVM context END descriptor" },

    /* -- X86_MSR_POLICY (policy.c; the other array rules are the length
     *    rules above, which the reader checks first) -- */
    { .name = "X86_MSR_POLICY: entry flags", .src = S_XL_HVM,
      .at = XC(X_MSR), .ed = { P32(BODY + 16 + 4, 1) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 16 + 4,
      .text = "MSR entry 1 flags 0x00000001 are reserved, must be zero" },

    /* -- libxl record bodies (libxl_records.c) -- */
    { .name = "EMULATOR_CONTEXT: emulator_id 3", .src = S_XL_HVM,
      .at = XL(L_EMU), .ed = { P32(BODY, 3) }, .cat = XMIG_ERR_PROTOCOL,
      .want = BODY, .text = "emulator_id 0x3 is reserved",
      .text2 = "libxl record EMULATOR_CONTEXT (0x3)" },
    { .name = "EMULATOR_XENSTORE_DATA: emulator_id 3", .src = S_CUSTOM,
      .build = build_xs, .n1 = 3, BYTES("a\0b\0"), .at = MARK,
      .cat = XMIG_ERR_PROTOCOL, .want = BODY,
      .text = "emulator_id 0x3 is reserved" },
    { .name = "EMULATOR_XENSTORE_DATA: key without NUL", .src = S_CUSTOM,
      .build = build_xs, .n1 = 2, BYTES("abc"), .at = MARK,
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 8,
      .text = "xenstore key 0 is not NUL-terminated" },
    { .name = "EMULATOR_XENSTORE_DATA: empty key", .src = S_CUSTOM,
      .build = build_xs, .n1 = 2, BYTES("\0v\0"), .at = MARK,
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 8,
      .text = "xenstore key 0 is empty" },
    { .name = "EMULATOR_XENSTORE_DATA: absolute key", .src = S_CUSTOM,
      .build = build_xs, .n1 = 2, BYTES("/a\0v\0"), .at = MARK,
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 8,
      .text = "xenstore key 0 is absolute" },
    { .name = "EMULATOR_XENSTORE_DATA: key over 2048 octets",
      .src = S_CUSTOM, .build = build_xs_long, .n1 = 2049, .n2 = 1,
      .at = MARK, .cat = XMIG_ERR_PROTOCOL, .want = BODY + 8,
      .text = "xenstore key 0 is 2049 octets, over the 2048 allowed" },
    { .name = "EMULATOR_XENSTORE_DATA: character outside the key set",
      .src = S_CUSTOM, .build = build_xs, .n1 = 2, BYTES("a b\0v\0"),
      .at = MARK, .cat = XMIG_ERR_PROTOCOL, .want = BODY + 8 + 1,
      .text = "xenstore key 0 has character 0x20 outside" },
    { .name = "EMULATOR_XENSTORE_DATA: key without a value",
      .src = S_CUSTOM, .build = build_xs, .n1 = 2, BYTES("ab\0"),
      .at = MARK, .cat = XMIG_ERR_PROTOCOL, .want = BODY + 8 + 3,
      .text = "xenstore key 0 has no NUL-terminated value" },
    { .name = "EMULATOR_XENSTORE_DATA: value without NUL", .src = S_CUSTOM,
      .build = build_xs, .n1 = 2, BYTES("ab\0cd"), .at = MARK,
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 8 + 3,
      .text = "xenstore key 0 has no NUL-terminated value" },
    { .name = "EMULATOR_XENSTORE_DATA: value over 4096 octets",
      .src = S_CUSTOM, .build = build_xs_long, .n1 = 1, .n2 = 4097,
      .at = MARK, .cat = XMIG_ERR_PROTOCOL, .want = BODY + 8 + 2,
      .text = "xenstore value 0 is 4097 octets, over the 4096 allowed" },
    { .name = "EMULATOR_XENSTORE_DATA: second key absolute",
      .src = S_CUSTOM, .build = build_xs, .n1 = 2,
      BYTES("a\0v\0/b\0w\0"), .at = MARK, .cat = XMIG_ERR_PROTOCOL,
      .want = BODY + 8 + 4, .text = "xenstore key 1 is absolute" },
    { .name = "accept: EMULATOR_XENSTORE_DATA without pairs",
      .src = S_CUSTOM, .build = build_xs, .n1 = 0, BYTES(""), .at = MARK,
      .cat = XMIG_ERR_NONE },
    { .name = "accept: EMULATOR_XENSTORE_DATA every key character",
      .src = S_CUSTOM, .build = build_xs, .n1 = 1,
      BYTES("azAZ09-/_@\0" "\0" "k\0" "v v\xff\0"), .at = MARK,
      .cat = XMIG_ERR_NONE },
    { .name = "accept: EMULATOR_XENSTORE_DATA key of 2048 octets",
      .src = S_CUSTOM, .build = build_xs_long, .n1 = 2048, .n2 = 0,
      .at = MARK, .cat = XMIG_ERR_NONE },
    { .name = "accept: EMULATOR_XENSTORE_DATA value of 4096 octets",
      .src = S_CUSTOM, .build = build_xs_long, .n1 = 1, .n2 = 4096,
      .at = MARK, .cat = XMIG_ERR_NONE },
    { .name = "CHECKPOINT_STATE: control_id 4", .src = S_XL_HVM,
      .at = XL(L_END), .ed = { INS(0, R_CKSTATE("\x04", "\x00")) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY,
      .text = "control_id 4 is reserved (0-3 are defined)" },
    { .name = "CHECKPOINT_STATE: padding field", .src = S_XL_HVM,
      .at = XL(L_END), .ed = { INS(0, R_CKSTATE("\x01", "\x01")) },
      .cat = XMIG_ERR_PROTOCOL, .want = BODY + 4,
      .text = "padding field is 0x00000001, must be zero" },
    { .name = "accept: CHECKPOINT_STATE control_id 3", .src = S_XL_HVM,
      .at = XL(L_END), .ed = { INS(0, R_CKSTATE("\x03", "\x00")) },
      .cat = XMIG_ERR_NONE },

    /* -- libxc order (order.c libxc_order_record, libxc_end) -- */
    ORDER("order: STATIC_DATA_END in a v2 image", 2, HVM,
          "STATIC_DATA_END only exists in v3 images; this is v2", X_SDE),
    ORDER("order: X86_CPUID_POLICY in a v2 image", 2, HVM,
          "X86_CPUID_POLICY only exists in v3 images", X_CPUID),
    ORDER("order: X86_MSR_POLICY in a v2 image", 2, PV,
          "X86_MSR_POLICY only exists in v3 images", X_PVINFO, X_MSR),
    ORDER("order: X86_PV_INFO in an HVM image", 3, HVM,
          "X86_PV_INFO is not valid in an x86 HVM image", X_PVINFO),
    ORDER("order: X86_PV_P2M_FRAMES in an HVM image", 3, HVM,
          "X86_PV_P2M_FRAMES is not valid in an x86 HVM image", X_SDE,
          X_P2M),
    ORDER("order: X86_PV_VCPU_BASIC in an HVM image", 3, HVM,
          "X86_PV_VCPU_BASIC is not valid in an x86 HVM image", X_SDE,
          X_VBASIC),
    ORDER("order: X86_PV_VCPU_EXTENDED in an HVM image", 3, HVM,
          "X86_PV_VCPU_EXTENDED is not valid in an x86 HVM image", X_SDE,
          X_VEXT),
    ORDER("order: X86_PV_VCPU_XSAVE in an HVM image", 3, HVM,
          "X86_PV_VCPU_XSAVE is not valid in an x86 HVM image", X_SDE,
          X_VXSAVE),
    ORDER("order: X86_PV_VCPU_MSRS in an HVM image", 3, HVM,
          "X86_PV_VCPU_MSRS is not valid in an x86 HVM image", X_SDE,
          X_VMSRS),
    ORDER("order: SHARED_INFO in an HVM image", 3, HVM,
          "SHARED_INFO is not valid in an x86 HVM image", X_SDE, X_SHINFO),
    ORDER("order: HVM_CONTEXT in a PV image", 3, PV,
          "HVM_CONTEXT is not valid in an x86 PV image", X_PVINFO, X_SDE,
          X_HVMCTX),
    ORDER("order: HVM_PARAMS in a PV image", 2, PV,
          "HVM_PARAMS is not valid in an x86 PV image", X_PVINFO, X_PARAMS),
    ORDER("order: TOOLSTACK is refused", 3, HVM,
          "TOOLSTACK is deprecated and refused by Xen's restore", X_SDE,
          X_TOOLSTACK),
    ORDER("order: CHECKPOINT_DIRTY_PFN_LIST is refused", 3, HVM,
          "CHECKPOINT_DIRTY_PFN_LIST only travels on COLO's back channel",
          X_SDE, X_DIRTY),
    ORDER("order: STATIC_DATA_END twice", 3, HVM,
          "STATIC_DATA_END appears twice", X_SDE, X_SDE),
    ORDER("order: END before STATIC_DATA_END (v3)", 3, HVM,
          "END before STATIC_DATA_END (a v3 image must carry one)", X_CPUID,
          X_END),
    ORDER("order: END without HVM_CONTEXT", 3, HVM,
          "END without an HVM_CONTEXT", X_SDE, X_PAGE, X_END),
    ORDER("order: END without X86_PV_INFO", 3, PV,
          "END without X86_PV_INFO: a PV image must carry", X_SDE, X_END),
    ORDER("order: END without X86_PV_P2M_FRAMES", 3, PV,
          "END without X86_PV_P2M_FRAMES", X_PVINFO, X_SDE, X_END),
    ORDER("order: END without PAGE_DATA (PV)", 3, PV,
          "END without PAGE_DATA", X_PVINFO, X_SDE, X_P2M, X_VBASIC, X_END),
    ORDER("order: END without X86_PV_VCPU_BASIC", 2, PV,
          "END without X86_PV_VCPU_BASIC", X_PVINFO, X_P2M, X_PAGE, X_VEXT,
          X_END),
    ORDER("order: X86_CPUID_POLICY after STATIC_DATA_END", 3, HVM,
          "X86_CPUID_POLICY after STATIC_DATA_END: static data must "
          "precede it",
          X_SDE, X_CPUID),
    ORDER("order: X86_MSR_POLICY after STATIC_DATA_END", 3, HVM,
          "X86_MSR_POLICY after STATIC_DATA_END", X_CPUID, X_SDE, X_MSR),
    ORDER("order: X86_PV_INFO after STATIC_DATA_END", 3, PV,
          "X86_PV_INFO after STATIC_DATA_END", X_PVINFO, X_SDE, X_PVINFO),
    ORDER("order: X86_TSC_INFO before STATIC_DATA_END (v3)", 3, HVM,
          "X86_TSC_INFO before STATIC_DATA_END: v3 requires it", X_CPUID,
          X_TSC),
    ORDER("order: PAGE_DATA before STATIC_DATA_END (v3)", 3, HVM,
          "PAGE_DATA before STATIC_DATA_END", X_PAGE),
    ORDER("order: X86_PV_P2M_FRAMES before STATIC_DATA_END (v3)", 3, PV,
          "X86_PV_P2M_FRAMES before STATIC_DATA_END", X_PVINFO, X_P2M),
    ORDER("order: X86_PV_INFO twice (v2)", 2, PV,
          "X86_PV_INFO appears twice", X_PVINFO, X_PVINFO),
    ORDER("order: X86_PV_P2M_FRAMES before X86_PV_INFO", 3, PV,
          "X86_PV_P2M_FRAMES before X86_PV_INFO", X_SDE, X_P2M),
    ORDER("order: PAGE_DATA before X86_PV_P2M_FRAMES", 3, PV,
          "PAGE_DATA before X86_PV_P2M_FRAMES", X_PVINFO, X_SDE, X_PAGE),
    ORDER("order: X86_PV_VCPU_BASIC before X86_PV_P2M_FRAMES", 3, PV,
          "X86_PV_VCPU_BASIC before X86_PV_P2M_FRAMES", X_PVINFO, X_SDE,
          X_VBASIC),
    ORDER("order: X86_PV_VCPU_EXTENDED before X86_PV_P2M_FRAMES", 3, PV,
          "X86_PV_VCPU_EXTENDED before X86_PV_P2M_FRAMES", X_PVINFO, X_SDE,
          X_VEXT),
    ORDER("order: X86_PV_VCPU_XSAVE before X86_PV_P2M_FRAMES", 3, PV,
          "X86_PV_VCPU_XSAVE before X86_PV_P2M_FRAMES", X_PVINFO, X_SDE,
          X_VXSAVE),
    ORDER("order: X86_PV_VCPU_MSRS before X86_PV_P2M_FRAMES", 2, PV,
          "X86_PV_VCPU_MSRS before X86_PV_P2M_FRAMES", X_PVINFO, X_VMSRS),
    ORDER("order: PV PAGE_DATA after vCPU records", 3, PV,
          "PAGE_DATA after vCPU records: PV order is PAGE_DATA, then vCPU "
          "records",
          X_PVINFO, X_SDE, X_P2M, X_PAGE, X_VBASIC, X_PAGE),
    ORDER("order: VERIFY twice", 3, HVM, "VERIFY appears twice", X_SDE,
          X_PAGE, X_VERIFY, X_PAGE, X_VERIFY),
    /* In v2 the first X86_PV_P2M_FRAMES stands for STATIC_DATA_END, so
     * static data after it is out of place. */
    ORDER("order: v2 static data after the inferred STATIC_DATA_END", 2,
          PV, "X86_PV_INFO after STATIC_DATA_END", X_PVINFO, X_P2M,
          X_PVINFO),

    /* -- libxl order (order.c libxl_order_record) -- */
    { .name = "libxl order: LIBXC_CONTEXT after the image ended",
      .src = S_XL_HVM, .at = XL(L_EMU), .ed = { INS(0, R_LIBXC_CONTEXT) },
      .cat = XMIG_ERR_PROTOCOL, .want = 0,
      .text = "LIBXC_CONTEXT after the libxc image has already ended" },
    { .name = "libxl order: CHECKPOINT_END without CHECKPOINT",
      .src = S_XL_HVM, .at = XL(L_END), .ed = { INS(0, R_CHECKPOINT_END) },
      .cat = XMIG_ERR_PROTOCOL, .want = 0,
      .text = "CHECKPOINT_END without a libxc CHECKPOINT before it" },
    { .name = "libxl order: END before any libxc image",
      .src = S_LIBXL_HVM, .at = XL(L_CTX), .ed = { P32(0, L_END) },
      .cat = XMIG_ERR_PROTOCOL, .want = 0,
      .text = "END before a complete libxc image" },
    { .name = "libxl order: LIBXC_CONTEXT inside a checkpoint",
      .src = S_XL_HVM, .at = XC(X_END),
      .ed = { INS(0, R_CHECKPOINT R_LIBXC_CONTEXT) },
      .cat = XMIG_ERR_PROTOCOL, .want = 8,
      .text = "LIBXC_CONTEXT inside a checkpoint: the libxc image resumes "
              "by itself after CHECKPOINT_END" },
    /* After a CHECKPOINT the libxc END octets are read as a libxl END. */
    { .name = "libxl order: END while the image is checkpointed",
      .src = S_LIBXL_HVM, .at = XC(X_END), .ed = { INS(0, R_CHECKPOINT) },
      .cat = XMIG_ERR_PROTOCOL, .want = 8,
      .text = "END before a complete libxc image" },

    /* The octets after CHECKPOINT_END belong to libxc again: a second
     * libxl CHECKPOINT_END there (type 4, empty) is read as libxc's
     * X86_PV_VCPU_BASIC and fails that record's length rule. */
    { .name = "libxl order: libxc resumes after CHECKPOINT_END",
      .src = S_XL_HVM, .at = XC(X_END),
      .ed = { INS(0, R_CHECKPOINT R_CHECKPOINT_END R_CHECKPOINT_END) },
      .cat = XMIG_ERR_PROTOCOL, .want = 16 + 4,
      .text = "body_length 0, must be at least 8",
      .text2 = "libxc record X86_PV_VCPU_BASIC (0x4)" },

    /* -- truncation at each structural point (reader.c fetch) -- */
    { .name = "truncated: before the first libxl record",
      .src = S_XL_HVM, .at = ITEM(XMIG_ITEM_LIBXL_HEADER),
      .ed = { CUT(16) }, .cat = XMIG_ERR_CLOSED, .want = 16,
      .text = "record header needs 8 octets, only 0 arrived" },
    { .name = "truncated: inside a libxl record header", .src = S_XL_HVM,
      .at = XL(L_CTX), .ed = { CUT(4) }, .cat = XMIG_ERR_CLOSED, .want = 4,
      .text = "record header needs 8 octets, only 4 arrived" },
    { .name = "truncated: inside a libxc record header", .src = S_XL_HVM,
      .at = XC(X_CPUID), .ed = { CUT(3) }, .cat = XMIG_ERR_CLOSED,
      .want = 3, .text = "record header needs 8 octets, only 3 arrived" },
    { .name = "truncated: inside a libxc record body", .src = S_XL_HVM,
      .at = XC(X_PAGE), .ed = { CUT(BODY + 1000) },
      .cat = XMIG_ERR_CLOSED, .want = BODY + 1000,
      .text = "stream truncated: record body needs",
      .text2 = "only 1000 arrived" },
    { .name = "truncated: inside a PV SHARED_INFO body", .src = S_XL_PV,
      .at = XC(X_SHINFO), .ed = { CUT(BODY + 4000) },
      .cat = XMIG_ERR_CLOSED, .want = BODY + 4000,
      .text = "record body needs 4096 octets, only 4000 arrived",
      .text2 = "libxc record SHARED_INFO (0x7)" },
    { .name = "truncated: inside the padding", .src = S_SEQ, .ver = 3,
      .guest = PV, SEQ(X_PVINFO, X_SDE, X_P2M, X_VBASIC | ODD),
      .at = MARK, .ed = { CUT(BODY + 13 + 1) }, .cat = XMIG_ERR_CLOSED,
      .want = BODY + 13 + 1,
      .text = "record body needs 16 octets, only 14 arrived" },
    { .name = "truncated: before the libxc END", .src = S_XL_HVM,
      .at = XC(X_END), .ed = { CUT(0) }, .cat = XMIG_ERR_CLOSED, .want = 0,
      .text = "record header needs 8 octets, only 0 arrived" },
    { .name = "truncated: standalone image before END", .src = S_LIBXC_PV,
      .at = XC(X_END), .ed = { CUT(0) }, .cat = XMIG_ERR_CLOSED, .want = 0,
      .text = "record header needs 8 octets, only 0 arrived" },
    { .name = "truncated: standalone image inside END", .src = S_LIBXC_HVM,
      .at = XC(X_END), .ed = { CUT(6) }, .cat = XMIG_ERR_CLOSED, .want = 6,
      .text = "record header needs 8 octets, only 6 arrived" },
    { .name = "truncated: after the libxc END", .src = S_XL_HVM,
      .at = XL(L_EMU), .ed = { CUT(0) }, .cat = XMIG_ERR_CLOSED, .want = 0,
      .text = "record header needs 8 octets, only 0 arrived" },
    { .name = "truncated: inside a libxl record body", .src = S_XL_HVM,
      .at = XL(L_EMU), .ed = { CUT(BODY + 100) }, .cat = XMIG_ERR_CLOSED,
      .want = BODY + 100,
      .text = "record body needs 264 octets, only 100 arrived",
      .text2 = "libxl record EMULATOR_CONTEXT (0x3)" },
    { .name = "truncated: before the libxl END", .src = S_LIBXL_PV,
      .at = XL(L_END), .ed = { CUT(0) }, .cat = XMIG_ERR_CLOSED, .want = 0,
      .text = "record header needs 8 octets, only 0 arrived" },
    { .name = "truncated: inside the libxl END", .src = S_XL_HVM,
      .at = XL(L_END), .ed = { CUT(5) }, .cat = XMIG_ERR_CLOSED, .want = 5,
      .text = "record header needs 8 octets, only 5 arrived" },

    /* -- positive controls -- */
    { .name = "accept: default xl HVM stream", .src = S_XL_HVM,
      .cat = XMIG_ERR_NONE },
    { .name = "accept: default xl PV stream", .src = S_XL_PV,
      .cat = XMIG_ERR_NONE },
    { .name = "accept: default libxl HVM stream", .src = S_LIBXL_HVM,
      .cat = XMIG_ERR_NONE },
    { .name = "accept: default libxl PV stream", .src = S_LIBXL_PV,
      .cat = XMIG_ERR_NONE },
    { .name = "accept: default libxc HVM image", .src = S_LIBXC_HVM,
      .cat = XMIG_ERR_NONE },
    { .name = "accept: default libxc PV image", .src = S_LIBXC_PV,
      .cat = XMIG_ERR_NONE },
    { .name = "accept: unknown optional libxc record is skipped",
      .src = S_XL_HVM, .at = XC(X_END), .ed = { INS(0, R_OPT_GOOD) },
      .cat = XMIG_ERR_NONE, .skipped = 1 },
    { .name = "accept: unknown optional libxl record is skipped",
      .src = S_LIBXL_PV, .at = XL(L_CTX), .ed = { INS(0, R_OPT_GOOD) },
      .cat = XMIG_ERR_NONE, .skipped = 1 },
    ACCEPT_SEQ("accept: unknown optional records anywhere before END", 3,
               HVM, 3, X_OPT, X_SDE, X_OPT, X_HVMCTX, X_OPT, X_END),
    ACCEPT_SEQ("accept: zero-length vCPU contexts (errata)", 3, PV, 0,
               X_PVINFO, X_SDE, X_P2M, X_PAGE, X_VBASIC | BARE,
               X_VEXT | BARE, X_VXSAVE | BARE, X_VMSRS | BARE, X_END),
    ACCEPT_SEQ("accept: HVM_PARAMS with count 0 (errata)", 3, HVM, 0,
               X_SDE, X_PARAMS | BARE, X_HVMCTX, X_END),
    ACCEPT_SEQ("accept: v2 HVM image without STATIC_DATA_END", 2, HVM, 0,
               X_TSC, X_PAGE, X_PARAMS, X_HVMCTX, X_END),
    ACCEPT_SEQ("accept: v2 PV image without STATIC_DATA_END", 2, PV, 0,
               X_PVINFO, X_P2M, X_PAGE, X_SHINFO, X_VBASIC, X_END),
    /* A CHECKPOINT starts a new round: memory, then vCPUs, again. */
    ACCEPT_SEQ("accept: PV image with a CHECKPOINT round", 3, PV, 0,
               X_PVINFO, X_SDE, X_P2M, X_PAGE, X_VBASIC, X_CKPT, X_PAGE,
               X_VBASIC, X_END),
    ACCEPT_SEQ("accept: standalone image with a CHECKPOINT", 3, HVM, 0,
               X_CPUID, X_SDE, X_PAGE, X_HVMCTX, X_CKPT, X_PAGE, X_HVMCTX,
               X_END),
    /* STATIC_DATA_END is never inferred here (no PAGE_DATA), and v2 does
     * not need one. */
    ACCEPT_SEQ("accept: v2 HVM image with no PAGE_DATA at all", 2, HVM, 0,
               X_HVMCTX, X_END),
    /* After CHECKPOINT_END the same libxc image carries on: the next
     * octets are libxc records again, here the image's END. */
    { .name = "accept: libxl checkpoint round", .src = S_LIBXL_HVM,
      .at = XC(X_END), .ed = { INS(0, R_CHECKPOINT R_CHECKPOINT_END) },
      .cat = XMIG_ERR_NONE },
    { .name = "accept: two libxl checkpoint rounds", .src = S_XL_PV,
      .at = XC(X_END),
      .ed = { INS(0, R_CHECKPOINT R_CHECKPOINT_END R_CHECKPOINT
                         R_CHECKPOINT_END) },
      .cat = XMIG_ERR_NONE },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* ---- running a row --------------------------------------------------- */

struct item_find {
    enum xmig_item_kind kind;
    long found;
};

static int find_item_cb(void *user, const struct xmig_record *rec)
{
    struct item_find *f = user;

    if (rec->kind == f->kind) {
        f->found = (long)rec->offset;
        return 1;
    }
    return 0;
}

/* Offset of the first header of this kind, or -1. */
static long find_item(struct buf b, enum xmig_item_kind kind)
{
    struct xmig_transport *t = xmig_transport_memory(b.data, b.len);
    struct xmig_reader *r = xmig_reader_create(t, XMIG_FORMAT_AUTO);
    struct item_find f = { kind, -1 };

    (void)xmig_reader_run(r, find_item_cb, &f);
    xmig_reader_free(r);
    xmig_transport_free(t);
    return f.found;
}

static long resolve(struct buf b, const struct anchor *a, long mark)
{
    switch (a->kind) {
    case AT_EOS:
        return (long)b.len;
    case AT_MARK:
        return mark;
    case AT_REC:
        return find_record(b, a->layer, a->type, 0);
    case AT_ITEM:
        return find_item(b, (enum xmig_item_kind)a->type);
    default:
        return 0;
    }
}

static void grow(struct buf *b, size_t more)
{
    uint8_t *p = realloc(b->data, b->len + more + 1);

    assert_non_null(p);
    b->data = p;
}

static void apply_edit(struct buf *b, long base, const struct edit *e)
{
    size_t at = (size_t)(base + e->at);
    static const size_t width[] = {
        [OP_LE8] = 1, [OP_LE16] = 2, [OP_LE32] = 4, [OP_LE64] = 8,
        [OP_BE16] = 2, [OP_BE32] = 4, [OP_BE64] = 8,
    };

    /* Edits must land inside the stream they edit: a row that pokes past
     * the end would test nothing. */
    if (e->op >= OP_LE8 && e->op <= OP_BE64) {
        assert_true(base + e->at >= 0 && at + width[e->op] <= b->len);
    }
    switch (e->op) {
    case OP_LE8:
        b->data[at] = (uint8_t)e->v;
        break;
    case OP_LE16:
        put_le16(b->data + at, (uint16_t)e->v);
        break;
    case OP_LE32:
        put_le32(b->data + at, (uint32_t)e->v);
        break;
    case OP_LE64:
        put_le64(b->data + at, e->v);
        break;
    case OP_BE16:
        put_be16(b->data + at, (uint16_t)e->v);
        break;
    case OP_BE32:
        put_be32(b->data + at, (uint32_t)e->v);
        break;
    case OP_BE64:
        put_be64(b->data + at, e->v);
        break;
    case OP_CUT:
        assert_true(at <= b->len);
        b->len = at;
        break;
    case OP_APPEND:
        grow(b, (size_t)e->v);
        memset(b->data + b->len, 0, (size_t)e->v);
        b->len += (size_t)e->v;
        break;
    case OP_INSERT:
        assert_true(at <= b->len);
        grow(b, (size_t)e->v);
        memmove(b->data + at + e->v, b->data + at, b->len - at);
        memcpy(b->data + at, e->bytes, (size_t)e->v);
        b->len += (size_t)e->v;
        break;
    default:
        break;
    }
}

/* The row's stream; *base gets the anchor's offset in it. */
static struct buf build_case(const struct neg_case *nc, long *base)
{
    long mark = -1;
    struct buf b;

    if (nc->src == S_SEQ) {
        b = build_seq(nc, &mark);
    } else if (nc->src == S_CUSTOM) {
        b = nc->build(nc, &mark);
    } else {
        b = default_stream(nc->src);
    }
    *base = resolve(b, &nc->at, mark);
    assert_true(*base >= 0);
    for (size_t i = 0; i < MAX_EDITS && nc->ed[i].op != OP_NONE; i++) {
        apply_edit(&b, *base, &nc->ed[i]);
    }
    return b;
}

enum path { VIA_MEMORY, VIA_FD };

static const char *path_name(enum path p)
{
    return p == VIA_FD ? "fd" : "memory";
}

/* Read b to the end and expect EOF.  0 when valid, -1 with the error. */
static int read_via(struct buf b, enum xmig_format f, enum path p,
                    struct xmig_stream_stats *st)
{
    struct xmig_transport *t;
    struct xmig_reader *r;
    int rc = -1;

    if (p == VIA_FD) {
        t = xmig_transport_fd(memfd_of(b.data, b.len), 1);
    } else {
        t = xmig_transport_memory(b.data, b.len);
    }
    assert_non_null(t);
    r = xmig_reader_create(t, f);
    assert_non_null(r);
    if (xmig_reader_run(r, NULL, NULL) == 0 &&
        xmig_reader_expect_eof(r) == 0) {
        rc = 0;
    }
    if (st) {
        xmig_reader_stats(r, st);
    }
    xmig_reader_free(r);
    xmig_transport_free(t);
    return rc;
}

/* What refused() checks, plus the row's second text and "no offset". */
static int error_matches(const struct neg_case *nc, long want, enum path p)
{
    const char *msg = xmig_error_message();
    uint64_t off = 0;
    int has_off = xmig_error_offset(&off);

    if (xmig_error_category() != nc->cat) {
        print_error("  [%s] category %s, expected %s: %s\n", path_name(p),
                    xmig_error_category_name(xmig_error_category()),
                    xmig_error_category_name(nc->cat), msg);
        return 0;
    }
    if (want >= 0 && (!has_off || (long)off != want)) {
        print_error("  [%s] offset %s%ld, expected %ld: %s\n", path_name(p),
                    has_off ? "" : "(none) ", (long)off, want, msg);
        return 0;
    }
    if (nc->want == NO_OFFSET && has_off) {
        print_error("  [%s] offset %ld, expected none: %s\n", path_name(p),
                    (long)off, msg);
        return 0;
    }
    if (!strstr(msg, nc->text)) {
        print_error("  [%s] message lacks '%s': %s\n", path_name(p),
                    nc->text, msg);
        return 0;
    }
    if (nc->text2 && !strstr(msg, nc->text2)) {
        print_error("  [%s] message lacks '%s': %s\n", path_name(p),
                    nc->text2, msg);
        return 0;
    }
    return 1;
}

static int check_accepted(const struct neg_case *nc, struct buf b,
                          enum path p)
{
    struct xmig_stream_stats st;

    if (read_via(b, nc->fmt, p, &st) < 0) {
        print_error("  [%s] refused, expected acceptance: %s\n",
                    path_name(p), xmig_error_message());
        return 0;
    }
    if (st.optional_skipped != nc->skipped) {
        print_error("  [%s] optional_skipped %llu, expected %llu\n",
                    path_name(p), (unsigned long long)st.optional_skipped,
                    (unsigned long long)nc->skipped);
        return 0;
    }
    return 1;
}

static int check_refused(const struct neg_case *nc, struct buf b, long want)
{
    int ok;

    /* The memory path goes through the shared helper; then the extra
     * checks on the error it left behind. */
    ok = refused(b, nc->fmt, nc->cat, want, nc->text) &&
         error_matches(nc, want, VIA_MEMORY);
    if (read_via(b, nc->fmt, VIA_FD, NULL) == 0) {
        print_error("  [fd] accepted, but expected refusal with '%s'\n",
                    nc->text);
        return 0;
    }
    return error_matches(nc, want, VIA_FD) && ok;
}

static void run_case(void **state)
{
    const struct neg_case *nc = *state;
    long base, want;
    struct buf b = build_case(nc, &base);
    int ok;

    want = nc->want == NO_OFFSET ? -1 : base + nc->want;
    if (nc->cat == XMIG_ERR_NONE) {
        ok = check_accepted(nc, b, VIA_MEMORY) &&
             check_accepted(nc, b, VIA_FD);
    } else {
        ok = check_refused(nc, b, want);
    }
    buf_free(&b);
    assert_true(ok);
}

/* ---- memory stays bounded by what arrives ---------------------------- */

/*
 * A body_length (or the xl optional_data_len) that claims far more than
 * the stream carries.  The reader must either refuse the claim from the
 * header alone (over a cap) or wait for the body and report the truncation
 * -- without ever allocating what the field claims.  Read through a file
 * descriptor, where the reader buffers every octet itself.
 */
struct claim {
    const char *name;
    enum src src;
    struct anchor at;
    uint32_t retype;      /* nonzero: the record's type becomes this */
    long len_at;          /* where the lying length is, from the anchor */
    uint32_t claim;
    long keep;            /* stream octets kept from the anchor on */
    size_t deliver;       /* filler octets sent after those */
    int truncation;       /* 1: must end in CLOSED; 0: refused up front */
    long want;            /* error offset relative to the anchor */
    const char *text;
};

#define DELIVER (MIB + 3)

static const struct claim claims[] = {
    { "PAGE_DATA claims 4 GiB", S_LIBXC_HVM, XC(X_PAGE), 0, 4, 0xfffffff0u,
      BODY, DELIVER, 0, 4, "body_length 4294967280 exceeds xmig's limit" },
    { "PAGE_DATA claims 127 MiB", S_LIBXC_HVM, XC(X_PAGE), 0, 4, 127 * MIB,
      BODY, DELIVER, 0, 4, "body_length 133169152 exceeds xmig's limit of "
      "33619976" },
    { "PAGE_DATA claims 31 MiB", S_LIBXC_HVM, XC(X_PAGE), 0, 4, 31 * MIB,
      BODY, DELIVER, 1, BODY + DELIVER,
      "record body needs 32505856 octets, only 1048579 arrived" },
    { "unknown optional record claims 4 GiB", S_XL_HVM, XC(X_TSC), X_OPT,
      4, 0xfffffff0u, BODY, DELIVER, 0, 4,
      "body_length 4294967280 exceeds xmig's limit of 16777216 for an "
      "unknown record" },
    { "EMULATOR_CONTEXT claims 127 MiB", S_LIBXL_HVM, XL(L_EMU), 0, 4,
      127 * MIB, BODY, DELIVER, 0, 4, "body_length 133169152 exceeds xmig's "
      "limit of 33554432" },
    { "EMULATOR_CONTEXT claims 31 MiB", S_LIBXL_HVM, XL(L_EMU), 0, 4,
      31 * MIB, BODY, DELIVER, 1, BODY + DELIVER,
      "record body needs 32505856 octets, only 1048579 arrived" },
    { "xl optional data claims 4 GiB", S_XL_HVM, START, 0, 44, 0xfffffff0u,
      XL_OPT, DELIVER, 0, 44,
      "optional_data_len 4294967280 exceeds xmig's limit" },
    { "xl optional data claims 16 MiB", S_XL_HVM, START, 0, 44, 16 * MIB,
      XL_OPT, DELIVER, 1, XL_OPT + DELIVER,
      "xl optional data needs 16777216 octets, only 1048579 arrived" },
};

#define NCLAIMS (sizeof(claims) / sizeof(claims[0]))

struct claim_outcome {
    int rc;
    enum xmig_error_category cat;
    int has_off;
    uint64_t off;
    char msg[512];
    size_t grew;          /* heap growth while the reader held its buffer */
};

static size_t heap_in_use(void)
{
    struct mallinfo2 m = mallinfo2();

    /* arena octets in use plus mmapped chunks (big buffers land there) */
    return m.uordblks + m.hblkhd;
}

static struct buf claim_input(const struct claim *c, long *base)
{
    struct buf d = default_stream(c->src);
    struct buf in;
    long at = resolve(d, &c->at, -1);

    assert_true(at >= 0 && (size_t)(at + c->keep) <= d.len);
    in.len = (size_t)(at + c->keep) + c->deliver;
    in.data = malloc(in.len);
    assert_non_null(in.data);
    memcpy(in.data, d.data, (size_t)(at + c->keep));
    /* Filler the decoders never see: the reader stops before it has the
     * whole body. */
    memset(in.data + at + c->keep, 0x5a, c->deliver);
    if (c->retype) {
        put_le32(in.data + at, c->retype);
    }
    put_le32(in.data + at + c->len_at, c->claim);
    buf_free(&d);
    *base = at;
    return in;
}

static void read_claim(int fd, struct claim_outcome *o)
{
    struct xmig_transport *t;
    struct xmig_reader *r;
    struct xmig_record rec;
    size_t before, after;

    memset(o, 0, sizeof(*o));
    before = heap_in_use();
    t = xmig_transport_fd(fd, 0);
    r = xmig_reader_create(t, XMIG_FORMAT_AUTO);
    if (!t || !r) {
        o->rc = -2;
        xmig_reader_free(r);
        xmig_transport_free(t);
        return;
    }
    while ((o->rc = xmig_reader_next(r, &rec)) == 1) {
        continue;
    }
    /* Measured before the reader is freed: its buffer is still held. */
    after = heap_in_use();
    o->cat = xmig_error_category();
    o->has_off = xmig_error_offset(&o->off);
    snprintf(o->msg, sizeof(o->msg), "%s", xmig_error_message());
    o->grew = after > before ? after - before : 0;
    xmig_reader_free(r);
    xmig_transport_free(t);
}

static int outcome_ok(const struct claim *c, const struct claim_outcome *o,
                      long want, const char *how)
{
    int ok = o->rc == -1 && o->has_off && (long)o->off == want &&
             strstr(o->msg, c->text) != NULL;

    /* A claim under the cap must wait for the body; one over it is
     * refused from the header (its category is pinned by the table). */
    if (c->truncation) {
        ok = ok && o->cat == XMIG_ERR_CLOSED;
    } else {
        ok = ok && o->cat != XMIG_ERR_CLOSED && o->cat != XMIG_ERR_NOMEM;
    }
    if (!ok) {
        print_error("  [%s] rc %d, category %s, offset %s%llu (want %ld): "
                    "%s\n", how, o->rc, xmig_error_category_name(o->cat),
                    o->has_off ? "" : "(none) ",
                    (unsigned long long)o->off, want, o->msg);
    }
    return ok;
}

/* Feed the octets through a pipe from a child process, so they arrive in
 * pipe-sized pieces while the reader runs. */
static pid_t feed_pipe(struct buf in, int *rfd)
{
    int p[2];
    pid_t pid;

    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        size_t done = 0;

        close(p[0]);
        while (done < in.len) {
            ssize_t w = write(p[1], in.data + done, in.len - done);
            if (w <= 0) {
                _exit(1);   /* the reader stopped early: fine */
            }
            done += (size_t)w;
        }
        _exit(0);
    }
    close(p[1]);
    *rfd = p[0];
    return pid;
}

static int under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");

    return p && strstr(p, "vgpreload") != NULL;
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static int address_space_limit_usable(void)
{
#ifdef UNDER_ASAN
    (void)under_valgrind;
    return 0;   /* ASan reserves terabytes of shadow up front */
#else
    return !under_valgrind();   /* valgrind's own mappings would break */
#endif
}

static size_t address_space_in_use(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;

    if (f) {
        if (fscanf(f, "%lu", &pages) != 1) {
            pages = 0;
        }
        fclose(f);
    }
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* The strongest form of the check: a child whose address space cannot
 * grow by more than 64 MiB must still get the same answer, where honouring
 * a 127 MiB claim would end in NOMEM. */
static int bounded_child(const struct claim *c, struct buf in, long want)
{
    int fd = memfd_of(in.data, in.len);
    int status = 0;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        struct claim_outcome o;
        struct rlimit rl;

        rl.rlim_cur = rl.rlim_max = address_space_in_use() + 64 * MIB;
        if (setrlimit(RLIMIT_AS, &rl) < 0) {
            _exit(2);
        }
        read_claim(fd, &o);
        _exit(outcome_ok(c, &o, want, "RLIMIT_AS child") ? 0 : 1);
    }
    close(fd);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_claims_stay_bounded(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCLAIMS; i++) {
        const struct claim *c = &claims[i];
        /* The reader may hold what arrived (a doubling buffer: at most
         * twice that) plus its first 64 KiB; the claims are 16 MiB and
         * more, so this bound separates the two clearly. */
        size_t bound = 2 * c->deliver + 4 * MIB;
        struct claim_outcome o;
        long base, want;
        struct buf in = claim_input(c, &base);
        int fd, ok = 1;
        pid_t pid;

        want = base + c->want;

        fd = memfd_of(in.data, in.len);
        read_claim(fd, &o);
        close(fd);
        if (!outcome_ok(c, &o, want, "memfd") || o.grew > bound) {
            print_error("  %s via memfd: heap grew by %zu octets (bound "
                        "%zu)\n", c->name, o.grew, bound);
            ok = 0;
        }

        pid = feed_pipe(in, &fd);
        read_claim(fd, &o);
        close(fd);
        (void)waitpid(pid, NULL, 0);
        if (!outcome_ok(c, &o, want, "pipe") || o.grew > bound) {
            print_error("  %s via pipe: heap grew by %zu octets (bound "
                        "%zu)\n", c->name, o.grew, bound);
            ok = 0;
        }

        if (address_space_limit_usable() && !bounded_child(c, in, want)) {
            print_error("  %s: failed under RLIMIT_AS\n", c->name);
            ok = 0;
        }
        buf_free(&in);
        assert_true(ok);
    }
}

/* ---- main ------------------------------------------------------------ */

int main(void)
{
    struct CMUnitTest *tests = calloc(NCASES + 1, sizeof(*tests));
    int rc;

    if (!tests) {
        return 1;
    }
    /* The claim tests feed pipes from forked writers: one whose reader
     * stopped early should see EPIPE, not die of a signal. */
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < NCASES; i++) {
        tests[i].name = cases[i].name;
        tests[i].test_func = run_case;
        tests[i].initial_state = (void *)&cases[i];
    }
    tests[NCASES].name = "memory stays bounded by what arrives";
    tests[NCASES].test_func = test_claims_stay_bounded;
    rc = _cmocka_run_group_tests("negative", tests, NCASES + 1, NULL, NULL);
    free(tests);
    return rc;
}
