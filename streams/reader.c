/*
 * The pull reader: one state machine over xl header -> libxl stream ->
 * libxc image (or any suffix of that nesting).  Each call hands out one
 * validated header or record whose body points into the reader's buffer,
 * or straight into the source when the transport can lend bytes.
 * Memory grows with the bytes that actually arrive, never with what a
 * length field claims, and never past the per-record caps.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "records/records.h"
#include "streams/order.h"
#include "streams/reader.h"
#include "streams/transport.h"
#include "xmig.h"

enum rstate {
    ST_DETECT,
    ST_XL_HEADER,
    ST_LIBXL_HEADER,
    ST_IMAGE_HEADER,
    ST_DOMAIN_HEADER,
    ST_LIBXL_RECORD,
    ST_LIBXC_RECORD,
    ST_DONE,
    ST_FAILED
};

#define BUF_INITIAL (64u << 10)
#define READ_AHEAD (64u << 10)

struct xmig_reader {
    struct xmig_transport *t;
    enum xmig_format format;
    enum rstate state;
    uint64_t offset;
    uint8_t *buf;              /* buffered octets are buf[rpos, rend) */
    size_t cap, rpos, rend;
    int embedded;              /* libxc image inside a libxl stream */
    struct rec_ctx ctx;
    struct libxc_order xo;
    struct libxl_order lo;
    struct xmig_stream_stats stats;
    reader_tap_fn tap;         /* sees every octet consumed, in order */
    void *tap_data;
    uint8_t *tapped;           /* the current item's octets, until valid */
    size_t tapped_len, tapped_cap;
};

void reader_set_tap(struct xmig_reader *r, reader_tap_fn fn, void *data)
{
    r->tap = fn;
    r->tap_data = data;
    r->tapped_len = 0;
}

/* Keep what the current item consumed, for the tap once it is valid. */
static int tap_keep(struct xmig_reader *r, const uint8_t *p, size_t n)
{
    if (r->tapped_len + n > r->tapped_cap) {
        size_t cap = r->tapped_len + n;
        uint8_t *b;
        cap = cap < (64u << 10) ? (64u << 10) : cap + cap / 4;
        b = realloc(r->tapped, cap);
        if (!b) {
            return err_set(XMIG_ERR_NOMEM, ENOMEM, "keeping a record for "
                           "the tap");
        }
        r->tapped = b;
        r->tapped_cap = cap;
    }
    memcpy(r->tapped + r->tapped_len, p, n);
    r->tapped_len += n;
    return 0;
}

/* The item is valid: the tap gets its octets. */
static int tap_flush(struct xmig_reader *r, uint64_t start)
{
    size_t n = r->tapped_len;

    r->tapped_len = 0;
    if (r->tap && n && r->tap(r->tap_data, r->tapped, n) < 0) {
        err_rebase(start);
        return -1;
    }
    return 0;
}

const char *xmig_format_name(enum xmig_format f)
{
    switch (f) {
    case XMIG_FORMAT_XL:
        return "xl";
    case XMIG_FORMAT_LIBXL:
        return "libxl";
    case XMIG_FORMAT_LIBXC:
        return "libxc";
    case XMIG_FORMAT_AUTO:
        return "auto";
    default:
        return "?";
    }
}

enum xmig_format xmig_format_detect(const void *buf, size_t len)
{
    static const uint8_t libxc[8] = { 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff };

    if (len < 8) {
        return XMIG_FORMAT_AUTO;
    }
    if (memcmp(buf, rec_xl_magic, 8) == 0) {
        return XMIG_FORMAT_XL;
    }
    if (memcmp(buf, "LibxlFmt", 8) == 0) {
        return XMIG_FORMAT_LIBXL;
    }
    if (memcmp(buf, libxc, 8) == 0) {
        return XMIG_FORMAT_LIBXC;
    }
    return XMIG_FORMAT_AUTO;
}

struct xmig_reader *xmig_reader_create(struct xmig_transport *t,
                                       enum xmig_format format)
{
    struct xmig_reader *r;

    if (!t || format > XMIG_FORMAT_LIBXC) {
        err_set(XMIG_ERR_USAGE, EINVAL, "xmig_reader_create");
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (!r) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "reader");
        return NULL;
    }
    r->t = t;
    r->format = format;
    r->state = ST_DETECT;
    return r;
}

void xmig_reader_free(struct xmig_reader *r)
{
    if (r) {
        free(r->buf);
        free(r->tapped);
        free(r);
    }
}

enum xmig_format xmig_reader_format(const struct xmig_reader *r)
{
    return r->format;
}

void xmig_reader_stats(const struct xmig_reader *r,
                       struct xmig_stream_stats *out)
{
    *out = r->stats;
    out->bytes = r->offset;
}

/* Make room for at least want octets from rpos on: compact, then grow. */
static int make_room(struct xmig_reader *r, size_t want)
{
    size_t cap = r->cap ? r->cap : BUF_INITIAL;
    uint8_t *p;

    if (r->rpos > 0) {
        memmove(r->buf, r->buf + r->rpos, r->rend - r->rpos);
        r->rend -= r->rpos;
        r->rpos = 0;
    }
    if (want <= r->cap) {
        return 0;
    }
    while (cap < want) {
        cap *= 2;
    }
    p = realloc(r->buf, cap);
    if (!p) {
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "reader buffer of %zu octets",
                       cap);
    }
    r->buf = p;
    r->cap = cap;
    return 0;
}

static int truncated(struct xmig_reader *r, const char *what, size_t n,
                     size_t got)
{
    err_set(XMIG_ERR_CLOSED, 0, "stream truncated: %s needs %zu octets, "
            "only %zu arrived", what, n, got);
    err_rebase(r->offset + got);
    return -1;
}

/* Read until at least n octets are buffered (reading ahead where the
 * buffer has room).  The buffer grows only when it is full and still short,
 * doubling at most: a length field alone never allocates. */
static int fill(struct xmig_reader *r, size_t n, const char *what)
{
    while (r->rend - r->rpos < n) {
        size_t have = r->rend - r->rpos, room;
        ssize_t m;

        if (r->rend == r->cap) {
            size_t want = r->cap;            /* compacting may be enough */
            if (r->rpos == 0) {              /* full of live octets: grow */
                want = !r->cap ? BUF_INITIAL
                               : (r->cap * 2 < n ? r->cap * 2 : n);
            }
            if (make_room(r, want) < 0) {
                err_rebase(r->offset + have);
                return -1;
            }
        }
        /* Read ahead a little (a small record's header and body in one
         * call), but not so far that the tail must be moved down after
         * every large body; and never from a transport that lends, whose
         * octets can be lent in place once the buffer is drained. */
        room = r->cap - r->rend;
        if (room > n - have + (r->t->ops->lend ? 0 : READ_AHEAD)) {
            room = n - have + (r->t->ops->lend ? 0 : READ_AHEAD);
        }
        m = r->t->ops->read(r->t, r->buf + r->rend, room);
        if (m < 0) {
            err_rebase(r->offset + have);
            return -1;
        }
        if (m == 0) {
            return truncated(r, what, n, have);
        }
        r->rend += (size_t)m;
    }
    return 0;
}

/* The next n octets of the stream, lent by the transport or buffered. */
static int fetch(struct xmig_reader *r, size_t n, const uint8_t **out,
                 const char *what)
{
    static const uint8_t none[1];

    if (n == 0) {
        *out = none;
        return 0;
    }
    if (r->rpos == r->rend && r->t->ops->lend) {
        ssize_t m = r->t->ops->lend(r->t, n, out);
        if (m < 0) {
            return -1;
        }
        if ((size_t)m < n) {
            return truncated(r, what, n, (size_t)m);
        }
    } else {
        if (fill(r, n, what) < 0) {
            return -1;
        }
        *out = r->buf + r->rpos;
        r->rpos += n;
    }
    if (r->tap && tap_keep(r, *out, n) < 0) {
        err_rebase(r->offset);
        return -1;
    }
    r->offset += n;
    return 0;
}

/* Are these first octets (fewer than 8) the start of a known magic? */
static int starts_a_magic(const uint8_t *p, size_t n)
{
    static const uint8_t libxc[8] = { 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff };
    return memcmp(p, rec_xl_magic, n) == 0 || memcmp(p, "LibxlFmt", n) == 0 ||
           memcmp(p, libxc, n) == 0;
}

static int detect(struct xmig_reader *r)
{
    enum xmig_format f;
    size_t got;

    /* Peek at the first octets without consuming them. */
    while (r->rend < 8) {
        ssize_t m;
        if (make_room(r, BUF_INITIAL) < 0) {
            return -1;
        }
        m = r->t->ops->read(r->t, r->buf + r->rend, 8 - r->rend);
        if (m < 0) {
            return -1;
        }
        if (m == 0) {
            break;
        }
        r->rend += (size_t)m;
    }
    got = r->rend;
    if (got == 0) {
        err_set(XMIG_ERR_CLOSED, 0, "empty stream");
        err_rebase(0);
        return -1;
    }
    if (r->format == XMIG_FORMAT_AUTO && got < 8 &&
        starts_a_magic(r->buf, got)) {
        return truncated(r, "format magic", 8, got);
    }
    f = xmig_format_detect(r->buf, got);
    if (r->format == XMIG_FORMAT_AUTO) {
        if (f == XMIG_FORMAT_AUTO) {
            err_set(XMIG_ERR_PROTOCOL, 0,
                    "not a Xen migration stream: first octets %02x %02x "
                    "%02x %02x match neither an xl save file, a libxl stream "
                    "nor a libxc image (legacy pre-v2 images are not read)",
                    r->buf[0], got > 1 ? r->buf[1] : 0,
                    got > 2 ? r->buf[2] : 0, got > 3 ? r->buf[3] : 0);
            err_rebase(0);
            return -1;
        }
        r->format = f;
    }
    switch (r->format) {
    case XMIG_FORMAT_XL:
        r->state = ST_XL_HEADER;
        break;
    case XMIG_FORMAT_LIBXL:
        r->state = ST_LIBXL_HEADER;
        break;
    default:
        r->state = ST_IMAGE_HEADER;
        break;
    }
    return 0;
}

static int read_xl_header(struct xmig_reader *r, struct xmig_record *rec)
{
    const uint8_t *p;
    struct cursor c;
    uint64_t start = r->offset;

    if (fetch(r, REC_XL_HEADER_SIZE, &p, "xl save-file header") < 0) {
        err_in_record(XMIG_LAYER_XL, XMIG_ERR_NO_RECORD, "save-file header");
        return -1;
    }
    c = cursor_ro(p, REC_XL_HEADER_SIZE);
    if (rec_xl_header_decode(&c, &rec->u.xl) < 0) {
        goto fail;
    }
    if (fetch(r, rec->u.xl.optional_data_len, &p, "xl optional data") < 0) {
        goto fail;
    }
    c = cursor_ro(p, rec->u.xl.optional_data_len);
    if (rec_xl_optdata_decode(&c, &rec->u.xl) < 0) {
        err_shift(REC_XL_HEADER_SIZE);
        goto fail;
    }
    rec->kind = XMIG_ITEM_XL_HEADER;
    rec->layer = XMIG_LAYER_XL;
    rec->offset = start;
    r->state = ST_LIBXL_HEADER;
    return 0;

fail:
    err_rebase(start);
    err_in_record(XMIG_LAYER_XL, XMIG_ERR_NO_RECORD, "save-file header");
    return -1;
}

static int read_fixed_header(struct xmig_reader *r, struct xmig_record *rec,
                             size_t size, const char *what)
{
    const uint8_t *p;
    struct cursor c;
    uint64_t start = r->offset;
    int rc;

    if (fetch(r, size, &p, what) < 0) {
        err_in_record(r->state == ST_LIBXL_HEADER ? XMIG_LAYER_LIBXL
                                                  : XMIG_LAYER_LIBXC,
                      XMIG_ERR_NO_RECORD, what);
        return -1;
    }
    c = cursor_ro(p, size);
    rec->offset = start;
    switch (r->state) {
    case ST_LIBXL_HEADER:
        rec->kind = XMIG_ITEM_LIBXL_HEADER;
        rec->layer = XMIG_LAYER_LIBXL;
        rc = rec_libxl_header_decode(&c, &rec->u.libxl);
        r->state = ST_LIBXL_RECORD;
        r->embedded = 1;
        r->ctx.embedded = 1;
        libxl_order_init(&r->lo);
        break;
    case ST_IMAGE_HEADER:
        rec->kind = XMIG_ITEM_IMAGE_HEADER;
        rec->layer = XMIG_LAYER_LIBXC;
        rc = rec_image_header_decode(&c, &rec->u.image);
        r->ctx.version = rec->u.image.version;
        r->state = ST_DOMAIN_HEADER;
        break;
    default:
        rec->kind = XMIG_ITEM_DOMAIN_HEADER;
        rec->layer = XMIG_LAYER_LIBXC;
        rc = rec_domain_header_decode(&c, &rec->u.domain);
        r->ctx.guest_type = rec->u.domain.type;
        libxc_order_init(&r->xo, r->ctx.version, r->ctx.guest_type);
        r->stats.guest_type = r->ctx.guest_type;
        r->stats.libxc_version = r->ctx.version;
        r->state = ST_LIBXC_RECORD;
        break;
    }
    if (rc < 0) {
        err_in_record(rec->layer, XMIG_ERR_NO_RECORD, what);
        err_rebase(start);
    }
    return rc;
}

static void count(struct xmig_reader *r, const struct xmig_record *rec)
{
    r->stats.records++;
    if (!rec->known) {
        r->stats.optional_skipped++;
    }
    if (rec->layer == XMIG_LAYER_LIBXC && rec->type == XMIG_LIBXC_PAGE_DATA) {
        r->stats.page_data_records++;
        r->stats.pfns += rec->u.page_data.count;
        r->stats.data_pages += rec->u.page_data.data_pages;
    }
}

/* Where the state machine goes after a record of the given layer. */
static void advance(struct xmig_reader *r, const struct xmig_record *rec)
{
    if (rec->layer == XMIG_LAYER_LIBXL) {
        if (rec->type == XMIG_LIBXL_LIBXC_CONTEXT) {
            r->state = ST_IMAGE_HEADER;
        } else if (rec->type == XMIG_LIBXL_CHECKPOINT_END) {
            r->state = ST_LIBXC_RECORD;
        } else if (rec->type == XMIG_LIBXL_END) {
            r->state = ST_DONE;
        }
        return;
    }
    if (rec->type == XMIG_LIBXC_END) {
        if (r->embedded) {
            r->lo.libxc = LIBXC_ENDED;
            r->state = ST_LIBXL_RECORD;
        } else {
            r->state = ST_DONE;
        }
    } else if (rec->type == XMIG_LIBXC_CHECKPOINT && r->embedded) {
        /* "the CHECKPOINT record marks the end of the libxc portion of the
         * stream and the stream is handed back to the higher level" */
        r->lo.libxc = LIBXC_CHECKPOINTED;
        r->state = ST_LIBXL_RECORD;
    }
}

static int read_record(struct xmig_reader *r, enum xmig_layer layer,
                       struct xmig_record *rec)
{
    int libxc = layer == XMIG_LAYER_LIBXC;
    uint64_t start = r->offset;
    const uint8_t *p;
    uint32_t type, length;
    struct cursor c;
    const char *name;
    size_t pad;
    int rc;

    if (fetch(r, REC_HEADER_SIZE, &p, "record header") < 0) {
        return -1;
    }
    c = cursor_ro(p, REC_HEADER_SIZE);
    (void)!rec_header_decode(&c, &type, &length);
    name = libxc ? rec_libxc_name(type) : rec_libxl_name(type);
    rec->kind = XMIG_ITEM_RECORD;
    rec->layer = layer;
    rec->offset = start;
    rec->type = type;
    rec->length = length;
    rec->known = libxc ? rec_libxc_known(type) : rec_libxl_known(type);

    if (!rec->known && !(type & XMIG_RECORD_OPTIONAL)) {
        /* "Restoring an image that has unrecognised or unsupported
         * mandatory record must fail." */
        rc = err_set(XMIG_ERR_PROTOCOL, 0, "unknown mandatory record type "
                     "0x%08x: a restore must fail on it", type);
        goto fail;
    }
    rc = libxc ? rec_libxc_check_length(type, length)
               : rec_libxl_check_length(type, length);
    if (rc < 0) {
        goto fail;
    }
    rc = libxc ? libxc_order_record(&r->xo, &r->ctx, type, rec->known)
               : libxl_order_record(&r->lo, &r->ctx, type, rec->known);
    if (rc < 0) {
        goto fail;
    }
    pad = pad8(length);
    if (fetch(r, (size_t)length + pad, &p, "record body") < 0) {
        err_in_record(layer, type, name);
        return -1;
    }
    rec->body = p;
    if (rec_padding_check(p + length, pad) < 0) {
        err_rebase(start + REC_HEADER_SIZE + length);
        err_in_record(layer, type, name);
        return -1;
    }
    c = cursor_ro(p, length);
    rc = libxc ? rec_libxc_decode(&r->ctx, &c, rec)
               : rec_libxl_decode(&r->ctx, &c, rec);
    if (rc < 0) {
        err_rebase(start + REC_HEADER_SIZE);
        err_in_record(layer, type, name);
        return -1;
    }
    rec_ctx_note(&r->ctx, rec);
    count(r, rec);
    advance(r, rec);
    return 0;

fail:
    err_rebase(start);
    err_in_record(layer, type, name);
    return -1;
}

int xmig_reader_next(struct xmig_reader *r, struct xmig_record *rec)
{
    uint64_t start = r->offset;
    int rc = 0;

    memset(rec, 0, sizeof(*rec));
    r->tapped_len = 0;
    if (r->state == ST_DETECT && detect(r) < 0) {
        r->state = ST_FAILED;
        return -1;
    }
    switch (r->state) {
    case ST_XL_HEADER:
        rc = read_xl_header(r, rec);
        break;
    case ST_LIBXL_HEADER:
        rc = read_fixed_header(r, rec, REC_LIBXL_HEADER_SIZE, "header");
        break;
    case ST_IMAGE_HEADER:
        rc = read_fixed_header(r, rec, REC_IMAGE_HEADER_SIZE, "image header");
        break;
    case ST_DOMAIN_HEADER:
        rc = read_fixed_header(r, rec, REC_DOMAIN_HEADER_SIZE,
                               "domain header");
        break;
    case ST_LIBXL_RECORD:
        rc = read_record(r, XMIG_LAYER_LIBXL, rec);
        break;
    case ST_LIBXC_RECORD:
        rc = read_record(r, XMIG_LAYER_LIBXC, rec);
        break;
    case ST_DONE:
        return 0;
    case ST_FAILED:
        return err_set(XMIG_ERR_USAGE, 0, "the reader has already failed");
    default:
        return err_set(XMIG_ERR_USAGE, 0, "reader in a bad state");
    }
    if (rc < 0 || tap_flush(r, start) < 0) {
        r->state = ST_FAILED;
        return -1;
    }
    return 1;
}

int xmig_reader_run(struct xmig_reader *r, xmig_item_fn fn, void *user_data)
{
    struct xmig_record rec;
    int rc;

    while ((rc = xmig_reader_next(r, &rec)) == 1) {
        if (fn) {
            err_clear();
            rc = fn(user_data, &rec);
            if (rc != 0) {
                if (xmig_error_category() == XMIG_ERR_NONE) {
                    err_set(XMIG_ERR_USAGE, 0, "stopped by the item callback");
                    err_rebase(rec.offset);
                }
                r->state = ST_FAILED;
                return rc;
            }
        }
    }
    return rc;
}

int xmig_reader_expect_eof(struct xmig_reader *r)
{
    uint8_t octet;
    ssize_t m;

    if (r->state != ST_DONE) {
        return err_set(XMIG_ERR_USAGE, 0, "the stream has not ended yet");
    }
    if (r->rpos < r->rend) {
        m = 1;
    } else {
        m = r->t->ops->read(r->t, &octet, 1);
        if (m < 0) {
            return -1;
        }
    }
    if (m > 0) {
        err_set(XMIG_ERR_PROTOCOL, 0, "trailing data after the final END");
        err_rebase(r->offset);
        return -1;
    }
    return 0;
}
