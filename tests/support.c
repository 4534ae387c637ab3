/* Test support: see support.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cursor.h"
#include "tests/support.h"

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    return p;
}

struct buf make_stream(const struct synth_opts *o)
{
    struct xmig_transport *t = xmig_transport_memory_sink();
    struct buf b = { NULL, 0 };
    const void *p;

    if (!t || synth_write(t, o) < 0) {
        fprintf(stderr, "make_stream: %s\n", xmig_error_message());
        abort();
    }
    p = xmig_transport_sink_data(t, &b.len);
    b.data = xmalloc(b.len);
    memcpy(b.data, p, b.len);
    xmig_transport_free(t);
    return b;
}

struct buf make_default_stream(enum xmig_format f, uint32_t guest_type)
{
    struct synth_opts o;

    synth_defaults(&o);
    o.format = f;
    o.guest_type = guest_type;
    o.pages = 40;
    return make_stream(&o);
}

struct buf buf_dup(struct buf b)
{
    struct buf c = { xmalloc(b.len), b.len };
    memcpy(c.data, b.data, b.len);
    return c;
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

struct find {
    enum xmig_layer layer;
    uint32_t type;
    int n;
    long found;
};

static int find_item(void *user, const struct xmig_record *rec)
{
    struct find *f = user;

    if (rec->kind == XMIG_ITEM_RECORD && rec->layer == f->layer &&
        rec->type == f->type && f->n-- == 0) {
        f->found = (long)rec->offset;
        return 1;
    }
    return 0;
}

long find_record(struct buf b, enum xmig_layer layer, uint32_t type, int n)
{
    struct xmig_transport *t = xmig_transport_memory(b.data, b.len);
    struct xmig_reader *r = xmig_reader_create(t, XMIG_FORMAT_AUTO);
    struct find f = { layer, type, n, -1 };

    (void)xmig_reader_run(r, find_item, &f);
    xmig_reader_free(r);
    xmig_transport_free(t);
    return f.found;
}

int read_all(struct buf b, enum xmig_format f)
{
    struct xmig_transport *t = xmig_transport_memory(b.data, b.len);
    struct xmig_reader *r = xmig_reader_create(t, f);
    int rc = -1;

    if (r && xmig_reader_run(r, NULL, NULL) == 0 &&
        xmig_reader_expect_eof(r) == 0) {
        rc = 0;
    }
    xmig_reader_free(r);
    xmig_transport_free(t);
    return rc;
}

int refused(struct buf b, enum xmig_format f, enum xmig_error_category cat,
            long want_offset, const char *want_text)
{
    uint64_t off = 0;
    int has_off;
    const char *msg;

    if (read_all(b, f) == 0) {
        fprintf(stderr, "  accepted, but expected refusal with '%s'\n",
                want_text);
        return 0;
    }
    msg = xmig_error_message();
    has_off = xmig_error_offset(&off);
    if (xmig_error_category() != cat) {
        fprintf(stderr, "  category %s, expected %s: %s\n",
                xmig_error_category_name(xmig_error_category()),
                xmig_error_category_name(cat), msg);
        return 0;
    }
    if (want_offset >= 0 && (!has_off || (long)off != want_offset)) {
        fprintf(stderr, "  offset %s%ld, expected %ld: %s\n",
                has_off ? "" : "(none) ", (long)off, want_offset, msg);
        return 0;
    }
    if (!strstr(msg, want_text)) {
        fprintf(stderr, "  message lacks '%s': %s\n", want_text, msg);
        return 0;
    }
    return 1;
}

void poke32(struct buf b, size_t off, uint32_t v)
{
    if (off + 4 > b.len) {
        abort();
    }
    put_le32(b.data + off, v);
}

void poke64(struct buf b, size_t off, uint64_t v)
{
    if (off + 8 > b.len) {
        abort();
    }
    put_le64(b.data + off, v);
}

uint32_t peek32(struct buf b, size_t off)
{
    if (off + 4 > b.len) {
        abort();
    }
    return get_le32(b.data + off);
}

void raw_bytes(struct raw *r, const void *p, size_t n)
{
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap < r->len + n) {
            cap *= 2;
        }
        r->data = realloc(r->data, cap);
        if (!r->data) {
            abort();
        }
        r->cap = cap;
    }
    if (n) {
        memcpy(r->data + r->len, p, n);
    }
    r->len += n;
}

void raw_le32(struct raw *r, uint32_t v)
{
    uint8_t b[4];
    put_le32(b, v);
    raw_bytes(r, b, 4);
}

void raw_le64(struct raw *r, uint64_t v)
{
    uint8_t b[8];
    put_le64(b, v);
    raw_bytes(r, b, 8);
}

void raw_record(struct raw *r, uint32_t type, const void *body, uint32_t len)
{
    static const uint8_t zeros[8];
    raw_le32(r, type);
    raw_le32(r, len);
    raw_bytes(r, body, len);
    raw_bytes(r, zeros, (8 - (len & 7)) & 7);
}

void raw_libxc_headers(struct raw *r, uint32_t version, uint32_t guest_type)
{
    uint8_t h[24] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    put_be32(h + 8, 0x58454E46u);
    put_be32(h + 12, version);
    raw_bytes(r, h, sizeof(h));
    raw_le32(r, guest_type);
    raw_le32(r, 12);   /* page_shift 12, reserved 0 */
    raw_le32(r, 4);
    raw_le32(r, 17);
}

struct buf raw_buf(struct raw *r)
{
    struct buf b = { r->data, r->len };
    r->data = NULL;
    r->len = r->cap = 0;
    return b;
}

int memfd_of(const uint8_t *p, size_t n)
{
    int fd = memfd_create("xmig-test", MFD_CLOEXEC);
    size_t done = 0;

    if (fd < 0) {
        perror("memfd_create");
        abort();
    }
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        if (w <= 0) {
            perror("write to memfd");
            abort();
        }
        done += (size_t)w;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        abort();
    }
    return fd;
}
