/*
 * Links against libxmig.so using only the public header: the exported
 * symbols are enough to write an image with the writer and read it back.
 */
#include <stdio.h>
#include <string.h>

#include <xmig.h>

int main(void)
{
    static unsigned char page[4096];
    static const unsigned char ctx[40] = {
        1, 0, 0, 0, 24, 0, 0, 0, 0x86, 0x12, 0x38, 0x54, 1, 0, 0, 0,
    };
    const void *pages[1] = { page };
    uint64_t pfn = 0;
    struct xmig_transport *sink = xmig_transport_memory_sink(), *src;
    struct xmig_writer *w = xmig_writer_create(sink);
    struct xmig_reader *r;
    struct xmig_stream_stats st;
    const void *data;
    size_t len;

    memset(page, 0x5a, sizeof(page));
    if (xmig_writer_libxc_begin(w, XMIG_DOMAIN_X86_HVM, 4, 17) < 0 ||
        xmig_writer_libxc_record(w, XMIG_LIBXC_STATIC_DATA_END, NULL, 0) < 0 ||
        xmig_writer_page_data(w, 1, &pfn, pages) < 0 ||
        xmig_writer_libxc_record(w, XMIG_LIBXC_HVM_CONTEXT, ctx,
                                 sizeof(ctx)) < 0 ||
        xmig_writer_libxc_end(w) < 0) {
        fprintf(stderr, "shared-smoke: write: %s\n", xmig_error_message());
        return 1;
    }
    data = xmig_transport_sink_data(sink, &len);
    src = xmig_transport_memory(data, len);
    r = xmig_reader_create(src, XMIG_FORMAT_AUTO);
    if (xmig_reader_run(r, NULL, NULL) < 0 || xmig_reader_expect_eof(r) < 0) {
        fprintf(stderr, "shared-smoke: read: %s\n", xmig_error_message());
        return 1;
    }
    xmig_reader_stats(r, &st);
    xmig_reader_free(r);
    xmig_transport_free(src);
    xmig_writer_free(w);
    xmig_transport_free(sink);
    if (st.data_pages != 1 || st.bytes != len) {
        fprintf(stderr, "shared-smoke: read back %llu pages\n",
                (unsigned long long)st.data_pages);
        return 1;
    }
    printf("shared-smoke: 1 passed, 0 failed\n");
    return 0;
}
