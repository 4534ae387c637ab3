/*
 * The writer: it refuses to emit anything the reader would refuse, sends
 * page data from the caller's memory (checked with a spy transport that
 * records the gather list), and reports a full disk cleanly.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cursor.h"
#include "streams/transport.h"
#include "tests/support.h"

/* ---- a spy transport: remembers the entries of the last writev ---- */

static struct iovec spy_iov[2048];
static int spy_cnt;

static ssize_t spy_read(struct xmig_transport *t, void *buf, size_t len)
{
    (void)t;
    (void)buf;
    (void)len;
    return -1;
}

static int spy_writev(struct xmig_transport *t, const struct iovec *iov,
                      int iovcnt)
{
    (void)t;
    spy_cnt = iovcnt < 2048 ? iovcnt : 2048;
    memcpy(spy_iov, iov, (size_t)spy_cnt * sizeof(*iov));
    return 0;
}

static void spy_destroy(struct xmig_transport *t)
{
    (void)t;
}

static const struct transport_ops spy_ops = {
    "spy", spy_read, NULL, spy_writev, spy_destroy, NULL, NULL,
};

static struct xmig_writer *hvm_writer(struct xmig_transport *t)
{
    struct xmig_writer *w = xmig_writer_create(t);

    assert_non_null(w);
    assert_int_equal(xmig_writer_libxc_begin(w, XMIG_DOMAIN_X86_HVM, 4, 17),
                     0);
    assert_int_equal(xmig_writer_libxc_record(w, XMIG_LIBXC_STATIC_DATA_END,
                                              NULL, 0), 0);
    return w;
}

static void page_data_goes_out_in_place(void **state)
{
    struct xmig_transport spy = { 0 };
    uint8_t *mem = calloc(8, 4096);
    uint64_t words[6];
    const void *pages[6];
    struct xmig_writer *w;

    (void)state;
    spy.ops = &spy_ops;
    w = hvm_writer(&spy);
    /* pfns 0,1,2 adjacent in memory; a hole; pfn 5 apart; pfn 6 adjacent. */
    for (int i = 0; i < 6; i++) {
        words[i] = (uint64_t)i;
    }
    words[3] |= (uint64_t)XMIG_PFN_TYPE_XTAB << 60;
    pages[0] = mem;
    pages[1] = mem + 4096;
    pages[2] = mem + 2 * 4096;
    pages[3] = NULL;
    pages[4] = mem + 5 * 4096;
    pages[5] = mem + 6 * 4096;
    assert_int_equal(xmig_writer_page_data(w, 6, words, pages), 0);
    /* Header + pfns, then two runs of guest memory, no copies. */
    assert_int_equal(spy_cnt, 3);
    assert_int_equal(spy_iov[0].iov_len, 8 + 8 + 6 * 8);
    assert_ptr_equal(spy_iov[1].iov_base, mem);
    assert_int_equal(spy_iov[1].iov_len, 3 * 4096);
    assert_ptr_equal(spy_iov[2].iov_base, mem + 5 * 4096);
    assert_int_equal(spy_iov[2].iov_len, 2 * 4096);
    assert_int_equal(get_le32((uint8_t *)spy_iov[0].iov_base + 4),
                     8 + 6 * 8 + 5 * 4096);
    xmig_writer_free(w);
    free(mem);
}

static void refuses_page_data_mismatches(void **state)
{
    struct xmig_transport *t = xmig_transport_memory_sink();
    struct xmig_writer *w = hvm_writer(t);
    static uint8_t page[4096];
    uint64_t word = 7;
    const void *none[1] = { NULL }, *one[1] = { page };

    (void)state;
    assert_int_equal(xmig_writer_page_data(w, 1, &word, none), -1);
    assert_int_equal(xmig_error_category(), XMIG_ERR_USAGE);
    assert_non_null(strstr(xmig_error_message(), "needs page data"));
    word |= (uint64_t)XMIG_PFN_TYPE_XALLOC << 60;
    assert_int_equal(xmig_writer_page_data(w, 1, &word, one), -1);
    assert_non_null(strstr(xmig_error_message(), "carries no page data"));
    word = (6ull << 60) | 7;   /* reserved type */
    assert_int_equal(xmig_writer_page_data(w, 1, &word, one), -1);
    assert_int_equal(xmig_writer_page_data(w, 0, &word, one), -1);
    xmig_writer_free(w);
    xmig_transport_free(t);
}

static void refuses_out_of_order_records(void **state)
{
    struct xmig_transport *t = xmig_transport_memory_sink();
    struct xmig_writer *w = xmig_writer_create(t);
    static uint8_t page[4096];
    uint64_t word = 1;
    const void *pages[1] = { page };
    size_t len;

    (void)state;
    /* Nothing before the image has begun. */
    assert_int_equal(xmig_writer_libxc_end(w), -1);
    assert_int_equal(xmig_error_category(), XMIG_ERR_USAGE);
    assert_int_equal(xmig_writer_libxc_begin(w, 7, 4, 17), -1);
    assert_int_equal(xmig_writer_libxc_begin(w, XMIG_DOMAIN_X86_HVM, 4, 17),
                     0);
    /* v3: memory only after STATIC_DATA_END. */
    assert_int_equal(xmig_writer_page_data(w, 1, &word, pages), -1);
    assert_int_equal(xmig_error_category(), XMIG_ERR_PROTOCOL);
    assert_non_null(strstr(xmig_error_message(), "before STATIC_DATA_END"));
    assert_int_equal(xmig_writer_libxc_record(w, XMIG_LIBXC_STATIC_DATA_END,
                                              NULL, 0), 0);
    /* PV records have no place in an HVM image. */
    assert_int_equal(xmig_writer_libxc_record(w, XMIG_LIBXC_SHARED_INFO, page,
                                              4096), -1);
    assert_non_null(strstr(xmig_error_message(), "not valid in an x86 HVM"));
    /* An HVM image cannot end without its context. */
    assert_int_equal(xmig_writer_libxc_end(w), -1);
    assert_non_null(strstr(xmig_error_message(), "without an HVM_CONTEXT"));
    /* Bodies are checked like the reader checks them. */
    assert_int_equal(xmig_writer_libxc_record(w, XMIG_LIBXC_HVM_CONTEXT,
                                              "garbage!", 8), -1);
    assert_non_null(strstr(xmig_error_message(), "writer refused"));
    assert_non_null(strstr(xmig_error_message(), "must start with HEADER"));
    /* Unknown mandatory types are never written; optional ones are. */
    assert_int_equal(xmig_writer_libxc_record(w, 0x13, NULL, 0), -1);
    assert_int_equal(xmig_writer_libxc_record(w, 0x80000013u, "opt", 3), 0);
    /* None of the refused records reached the transport. */
    (void)xmig_transport_sink_data(t, &len);
    assert_int_equal(len, 24 + 16 + 8 + 8 + 8);
    xmig_writer_free(w);
    xmig_transport_free(t);
}

static void refuses_bad_configs_and_layers(void **state)
{
    struct xmig_transport *t = xmig_transport_memory_sink();
    struct xmig_writer *w = xmig_writer_create(t);

    (void)state;
    assert_int_equal(xmig_writer_xl_header(w, "{\"unterminated\": "), -1);
    assert_non_null(strstr(xmig_error_message(), "JSON config"));
    assert_int_equal(xmig_writer_xl_header(w, "{}"), 0);
    assert_int_equal(xmig_writer_xl_header(w, "{}"), -1);
    /* After an xl header, libxc must sit inside a libxl stream. */
    assert_int_equal(xmig_writer_libxc_begin(w, XMIG_DOMAIN_X86_HVM, 4, 17),
                     -1);
    assert_int_equal(xmig_writer_libxl_begin(w), 0);
    assert_int_equal(xmig_writer_libxl_record(w, XMIG_LIBXL_LIBXC_CONTEXT,
                                              NULL, 0), -1);
    /* libxl END needs a complete libxc image first. */
    assert_int_equal(xmig_writer_libxl_end(w), -1);
    assert_non_null(strstr(xmig_error_message(), "complete libxc image"));
    {
        static const char *const keys[] = { "/absolute" };
        static const char *const vals[] = { "x" };
        assert_int_equal(xmig_writer_emulator_xenstore(w, 2, 0, keys, vals, 1),
                         -1);
        assert_non_null(strstr(xmig_error_message(), "absolute"));
    }
    xmig_writer_free(w);
    xmig_transport_free(t);
}

/* A full disk: the error names the offset and ENOSPC, and the writer
 * stays failed rather than writing a stream with a hole in it. */
static void full_disk_is_reported(void **state)
{
    int fd = open("/dev/full", O_WRONLY);
    struct xmig_transport *t;
    struct xmig_writer *w;

    (void)state;
    if (fd < 0) {
        skip();
    }
    t = xmig_transport_fd(fd, 1);
    w = xmig_writer_create(t);
    assert_int_equal(xmig_writer_libxc_begin(w, XMIG_DOMAIN_X86_HVM, 4, 17),
                     -1);
    assert_int_equal(xmig_error_category(), XMIG_ERR_IO);
    assert_int_equal(xmig_error_errno(), ENOSPC);
    assert_non_null(strstr(xmig_error_message(), "writing at offset 0"));
    assert_int_equal(xmig_writer_libxc_record(w, XMIG_LIBXC_STATIC_DATA_END,
                                              NULL, 0), -1);
    assert_int_equal(xmig_error_category(), XMIG_ERR_USAGE);
    xmig_writer_free(w);
    xmig_transport_free(t);
}

/* What the writer produces, the reader accepts, for all formats/types. */
static void writer_output_reads_back(void **state)
{
    static const enum xmig_format fmts[] = { XMIG_FORMAT_XL, XMIG_FORMAT_LIBXL,
                                             XMIG_FORMAT_LIBXC };
    (void)state;
    for (int i = 0; i < 3; i++) {
        for (uint32_t gt = 1; gt <= 2; gt++) {
            struct synth_opts o;
            struct buf b;
            synth_defaults(&o);
            o.format = fmts[i];
            o.guest_type = gt;
            o.pages = 1500;
            o.emulator_xenstore = fmts[i] != XMIG_FORMAT_LIBXC;
            o.verify_pass = gt == 2;
            b = make_stream(&o);
            assert_int_equal(read_all(b, fmts[i]), 0);
            buf_free(&b);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(page_data_goes_out_in_place),
        cmocka_unit_test(refuses_page_data_mismatches),
        cmocka_unit_test(refuses_out_of_order_records),
        cmocka_unit_test(refuses_bad_configs_and_layers),
        cmocka_unit_test(full_disk_is_reported),
        cmocka_unit_test(writer_output_reads_back),
    };
    return cmocka_run_group_tests_name("writer", tests, NULL, NULL);
}
