/*
 * The reader as a whole: format detection, the zero-copy lending path and
 * the buffered fd path (fed in dribbles), nesting and checkpoint hand-over
 * between libxl and libxc, v2 images, stats, and its end-of-stream rules.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cursor.h"
#include "tests/support.h"

static void detects_each_format(void **state)
{
    static const enum xmig_format fmts[] = { XMIG_FORMAT_XL, XMIG_FORMAT_LIBXL,
                                             XMIG_FORMAT_LIBXC };
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        struct buf b = make_default_stream(fmts[i], XMIG_DOMAIN_X86_HVM);
        struct xmig_transport *t = xmig_transport_memory(b.data, b.len);
        struct xmig_reader *r = xmig_reader_create(t, XMIG_FORMAT_AUTO);
        struct xmig_record rec;

        assert_int_equal(xmig_format_detect(b.data, b.len), fmts[i]);
        assert_int_equal(xmig_reader_next(r, &rec), 1);
        assert_int_equal(xmig_reader_format(r), fmts[i]);
        assert_int_equal(rec.offset, 0);
        xmig_reader_free(r);
        xmig_transport_free(t);
        buf_free(&b);
    }
}

static void refuses_what_is_not_a_stream(void **state)
{
    struct buf junk = { (uint8_t *)"GIF89a, not a stream at all", 27 };
    struct buf empty = { (uint8_t *)"", 0 };
    struct buf b = make_default_stream(XMIG_FORMAT_XL, XMIG_DOMAIN_X86_HVM);

    (void)state;
    assert_true(refused(junk, XMIG_FORMAT_AUTO, XMIG_ERR_PROTOCOL, 0,
                        "not a Xen migration stream"));
    assert_true(refused(empty, XMIG_FORMAT_AUTO, XMIG_ERR_CLOSED, -1,
                        "empty stream"));
    /* An xl file read as a bare libxc image fails on the image marker. */
    assert_true(refused(b, XMIG_FORMAT_LIBXC, XMIG_ERR_PROTOCOL, 0,
                        "image marker"));
    assert_true(refused(b, XMIG_FORMAT_LIBXL, XMIG_ERR_PROTOCOL, 0,
                        "libxl ident"));
    buf_free(&b);
}

struct pages {
    const uint8_t *lo, *hi;   /* the source, when lending */
    int outside;
    uint64_t sum;
    int items;
    uint64_t offsets[64];
};

static int check_pages(void *user, const struct xmig_record *rec)
{
    struct pages *p = user;

    if (p->items < 64) {
        p->offsets[p->items] = rec->offset;
    }
    p->items++;
    if (rec->kind != XMIG_ITEM_RECORD || rec->layer != XMIG_LAYER_LIBXC ||
        rec->type != XMIG_LIBXC_PAGE_DATA) {
        return 0;
    }
    for (size_t i = 0; i < (size_t)rec->u.page_data.data_pages * 4096; i += 8) {
        p->sum = p->sum * 31 + get_le64(rec->u.page_data.data + i);
    }
    if (p->lo && (rec->u.page_data.data < p->lo ||
                  rec->u.page_data.data >= p->hi)) {
        p->outside = 1;
    }
    return 0;
}

static void lends_page_data_without_copying(void **state)
{
    struct buf b = make_default_stream(XMIG_FORMAT_XL, XMIG_DOMAIN_X86_HVM);
    struct xmig_transport *t = xmig_transport_memory(b.data, b.len);
    struct xmig_reader *r = xmig_reader_create(t, XMIG_FORMAT_AUTO);
    struct pages p = { b.data, b.data + b.len, 0, 0, 0, { 0 } };

    (void)state;
    assert_int_equal(xmig_reader_run(r, check_pages, &p), 0);
    assert_false(p.outside);
    assert_true(p.sum != 0);
    xmig_reader_free(r);
    xmig_transport_free(t);
    buf_free(&b);
}

struct dribble {
    int fd;
    struct buf b;
};

/* Write the stream in pieces of 1 to 13 octets. */
static void *dribbler(void *arg)
{
    struct dribble *d = arg;
    size_t pos = 0, step = 1;

    while (pos < d->b.len) {
        size_t n = d->b.len - pos < step ? d->b.len - pos : step;
        ssize_t m = write(d->fd, d->b.data + pos, n);
        if (m <= 0) {
            break;
        }
        pos += (size_t)m;
        step = step % 13 + 1;
    }
    close(d->fd);
    return NULL;
}

static void fd_path_matches_lending_path(void **state)
{
    struct buf b = make_default_stream(XMIG_FORMAT_XL, XMIG_DOMAIN_X86_HVM);
    struct pages lent = { 0 }, read_fd = { 0 };
    struct xmig_transport *t = xmig_transport_memory(b.data, b.len);
    struct xmig_reader *r = xmig_reader_create(t, XMIG_FORMAT_AUTO);
    struct dribble d;
    pthread_t th;
    int sv[2];

    (void)state;
    assert_int_equal(xmig_reader_run(r, check_pages, &lent), 0);
    xmig_reader_free(r);
    xmig_transport_free(t);

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    d.fd = sv[1];
    d.b = b;
    assert_int_equal(pthread_create(&th, NULL, dribbler, &d), 0);
    t = xmig_transport_fd(sv[0], 1);
    r = xmig_reader_create(t, XMIG_FORMAT_AUTO);
    assert_int_equal(xmig_reader_run(r, check_pages, &read_fd), 0);
    assert_int_equal(xmig_reader_expect_eof(r), 0);
    pthread_join(th, NULL);
    assert_int_equal(read_fd.items, lent.items);
    assert_memory_equal(read_fd.offsets, lent.offsets, sizeof(lent.offsets));
    assert_true(read_fd.sum == lent.sum);
    xmig_reader_free(r);
    xmig_transport_free(t);
    buf_free(&b);
}

static void counts_what_it_reads(void **state)
{
    struct synth_opts o;
    struct buf b;
    struct xmig_transport *t;
    struct xmig_reader *r;
    struct xmig_stream_stats st;

    (void)state;
    synth_defaults(&o);
    o.pages = 2100;          /* three PAGE_DATA records of <= 1024 pfns */
    b = make_stream(&o);
    t = xmig_transport_memory(b.data, b.len);
    r = xmig_reader_create(t, XMIG_FORMAT_AUTO);
    assert_int_equal(xmig_reader_run(r, NULL, NULL), 0);
    xmig_reader_stats(r, &st);
    assert_int_equal(st.bytes, b.len);
    assert_int_equal(st.page_data_records, 3);
    assert_int_equal(st.pfns, 2100);
    /* Holes at pfn % 97 == 13 (XTAB) and zero pages at pfn % 5 == 3
     * (XALLOC) carry no data. */
    {
        uint64_t data = 0;
        for (uint32_t pfn = 0; pfn < 2100; pfn++) {
            data += !(pfn % 97 == 13 || pfn % 5 == 3);
        }
        assert_int_equal(st.data_pages, data);
    }
    assert_int_equal(st.guest_type, XMIG_DOMAIN_X86_HVM);
    assert_int_equal(st.libxc_version, 3);
    assert_int_equal(st.optional_skipped, 0);
    xmig_reader_free(r);
    xmig_transport_free(t);
    buf_free(&b);
}

static void write_hvm_context(struct xmig_writer *w)
{
    uint8_t ctx[8 + 24 + 8] = { 1, 0, 0, 0, 24 };

    put_le32(ctx + 8, 0x54381286u);
    put_le32(ctx + 12, 1);
    assert_int_equal(xmig_writer_libxc_record(w, XMIG_LIBXC_HVM_CONTEXT, ctx,
                                              sizeof(ctx)), 0);
}

static void write_one_page(struct xmig_writer *w, uint64_t pfn)
{
    static uint8_t page[4096];
    const void *pages[1] = { page };

    memset(page, (int)pfn, sizeof(page));
    assert_int_equal(xmig_writer_page_data(w, 1, &pfn, pages), 0);
}

/* libxc CHECKPOINT hands the stream back to libxl; libxl's CHECKPOINT_END
 * hands it to libxc again, which carries on without new headers. */
static void checkpoints_hand_over_between_layers(void **state)
{
    struct xmig_transport *sink = xmig_transport_memory_sink();
    struct xmig_writer *w = xmig_writer_create(sink);
    struct xmig_transport *t;
    struct xmig_reader *r;
    struct xmig_record rec;
    const void *data;
    size_t len;
    int image_headers = 0, contexts = 0, checkpoint_ends = 0, n;

    (void)state;
    assert_int_equal(xmig_writer_libxl_begin(w), 0);
    assert_int_equal(xmig_writer_libxc_begin(w, XMIG_DOMAIN_X86_HVM, 4, 17),
                     0);
    assert_int_equal(xmig_writer_libxc_record(w, XMIG_LIBXC_STATIC_DATA_END,
                                              NULL, 0), 0);
    write_one_page(w, 1);
    write_hvm_context(w);
    assert_int_equal(xmig_writer_libxc_record(w, XMIG_LIBXC_CHECKPOINT, NULL,
                                              0), 0);
    /* Inside the checkpoint, libxl records; libxc may not restart. */
    {
        struct xmig_checkpoint_state cs = { 0 };
        uint8_t body[8] = { 0 };
        put_le32(body, cs.control_id);
        assert_int_equal(xmig_writer_libxl_record(
                             w, XMIG_LIBXL_CHECKPOINT_STATE, body, 8), 0);
    }
    assert_int_equal(xmig_writer_libxc_begin(w, XMIG_DOMAIN_X86_HVM, 4, 17),
                     -1);
    assert_non_null(strstr(xmig_error_message(), "resumes by itself"));
    assert_int_equal(xmig_writer_libxl_record(w, XMIG_LIBXL_CHECKPOINT_END,
                                              NULL, 0), 0);
    write_one_page(w, 2);
    write_hvm_context(w);
    assert_int_equal(xmig_writer_libxc_end(w), 0);
    assert_int_equal(xmig_writer_libxl_end(w), 0);

    data = xmig_transport_sink_data(sink, &len);
    t = xmig_transport_memory(data, len);
    r = xmig_reader_create(t, XMIG_FORMAT_LIBXL);
    while ((n = xmig_reader_next(r, &rec)) == 1) {
        image_headers += rec.kind == XMIG_ITEM_IMAGE_HEADER;
        contexts += rec.layer == XMIG_LAYER_LIBXL &&
                    rec.type == XMIG_LIBXL_LIBXC_CONTEXT;
        checkpoint_ends += rec.layer == XMIG_LAYER_LIBXL &&
                           rec.type == XMIG_LIBXL_CHECKPOINT_END;
    }
    assert_int_equal(n, 0);
    assert_int_equal(image_headers, 1);
    assert_int_equal(contexts, 1);
    assert_int_equal(checkpoint_ends, 1);
    assert_int_equal(xmig_reader_next(r, &rec), 0);   /* stays at the end */
    xmig_reader_free(r);
    xmig_transport_free(t);
    xmig_writer_free(w);
    xmig_transport_free(sink);
}

/* A v2 image has no STATIC_DATA_END: its place is inferred at the first
 * PAGE_DATA (HVM), and v3-only records are refused in it. */
static void reads_v2_images(void **state)
{
    uint8_t page_data[8 + 8 + 4096] = { 1 };
    uint8_t ctx[8 + 24 + 8] = { 1, 0, 0, 0, 24 };
    struct raw raw = { 0 };
    struct buf b;

    (void)state;
    put_le32(ctx + 8, 0x54381286u);
    put_le32(ctx + 12, 1);
    raw_libxc_headers(&raw, 2, XMIG_DOMAIN_X86_HVM);
    raw_record(&raw, XMIG_LIBXC_PAGE_DATA, page_data, sizeof(page_data));
    raw_record(&raw, XMIG_LIBXC_HVM_CONTEXT, ctx, sizeof(ctx));
    raw_record(&raw, XMIG_LIBXC_END, NULL, 0);
    b = raw_buf(&raw);
    assert_int_equal(read_all(b, XMIG_FORMAT_LIBXC), 0);
    buf_free(&b);

    raw_libxc_headers(&raw, 2, XMIG_DOMAIN_X86_HVM);
    raw_record(&raw, XMIG_LIBXC_STATIC_DATA_END, NULL, 0);
    b = raw_buf(&raw);
    assert_true(refused(b, XMIG_FORMAT_LIBXC, XMIG_ERR_PROTOCOL, 40,
                        "only exists in v3 images"));
    buf_free(&b);
}

static void end_of_stream_rules(void **state)
{
    struct buf b = make_default_stream(XMIG_FORMAT_LIBXC, XMIG_DOMAIN_X86_HVM);
    struct buf longer = { malloc(b.len + 3), b.len + 3 };

    (void)state;
    memcpy(longer.data, b.data, b.len);
    memcpy(longer.data + b.len, "xyz", 3);
    assert_true(refused(longer, XMIG_FORMAT_AUTO, XMIG_ERR_PROTOCOL,
                        (long)b.len, "trailing data after the final END"));
    /* Cut anywhere before the end: a clear truncation error. */
    for (size_t cut = 1; cut < b.len; cut += 97) {
        struct buf part = { b.data, cut };
        assert_int_equal(read_all(part, XMIG_FORMAT_AUTO), -1);
        /* Even inside the format magic: a truncation, not junk. */
        assert_int_equal(xmig_error_category(), XMIG_ERR_CLOSED);
    }
    buf_free(&longer);
    buf_free(&b);
}

static int stop_at_third(void *user, const struct xmig_record *rec)
{
    int *n = user;
    (void)rec;
    return ++*n == 3 ? 42 : 0;
}

static void callbacks_can_stop_the_run(void **state)
{
    struct buf b = make_default_stream(XMIG_FORMAT_XL, XMIG_DOMAIN_X86_PV);
    struct xmig_transport *t = xmig_transport_memory(b.data, b.len);
    struct xmig_reader *r = xmig_reader_create(t, XMIG_FORMAT_AUTO);
    struct xmig_record rec;
    int n = 0;

    (void)state;
    assert_int_equal(xmig_reader_run(r, stop_at_third, &n), 42);
    assert_int_equal(xmig_error_category(), XMIG_ERR_USAGE);
    assert_non_null(strstr(xmig_error_message(), "stopped by the item"));
    /* The reader does not pick up again after a stop or a failure. */
    assert_int_equal(xmig_reader_next(r, &rec), -1);
    xmig_reader_free(r);
    xmig_transport_free(t);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(detects_each_format),
        cmocka_unit_test(refuses_what_is_not_a_stream),
        cmocka_unit_test(lends_page_data_without_copying),
        cmocka_unit_test(fd_path_matches_lending_path),
        cmocka_unit_test(counts_what_it_reads),
        cmocka_unit_test(checkpoints_hand_over_between_layers),
        cmocka_unit_test(reads_v2_images),
        cmocka_unit_test(end_of_stream_rules),
        cmocka_unit_test(callbacks_can_stop_the_run),
    };
    return cmocka_run_group_tests_name("streams", tests, NULL, NULL);
}
