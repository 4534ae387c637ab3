/*
 * The libxc image header, the libxc domain header and the libxl stream
 * header.  Both image-level headers are big-endian whatever the stream's
 * endianness; the domain header is in the stream's (little-endian) order.
 */
#include "common/error.h"
#include "records/records.h"

#define IHDR_OPT_BIG_ENDIAN 0x0001u
#define IHDR_OPT_RESERVED 0xFFFEu
#define LIBXL_OPT_BIG_ENDIAN 0x00000001u
#define LIBXL_OPT_LEGACY 0x00000002u
#define LIBXL_OPT_RESERVED 0xFFFFFFFCu

int rec_image_header_decode(struct cursor *c, struct xmig_image_header *h)
{
    const uint8_t *p;
    uint64_t marker;
    uint32_t id;

    if (cursor_take(c, REC_IMAGE_HEADER_SIZE, &p) < 0) {
        return err_set(XMIG_ERR_CLOSED, 0, "truncated image header");
    }
    marker = get_be64(p);
    id = get_be32(p + 8);
    h->version = get_be32(p + 12);
    h->options = get_be16(p + 16);
    if (marker != REC_IHDR_MARKER) {
        /* "Legacy images will have one or more zero bits within the
         * first 8 octets." */
        return err_at_pos(0, "image marker is 0x%016llx, not all-ones (a "
                             "legacy pre-v2 image or not a libxc image)",
                          (unsigned long long)marker);
    }
    if (id != REC_IHDR_ID) {
        return err_at_pos(8, "image id is 0x%08x, must be 0x%08x (\"XENF\")",
                          id, REC_IHDR_ID);
    }
    if (h->version != 2 && h->version != 3) {
        return err_at_pos(12, "image version %u; xmig reads versions 2 and 3",
                          h->version);
    }
    if (h->options & IHDR_OPT_BIG_ENDIAN) {
        return err_at_pos(16, "big-endian stream (options bit 0 set): xmig, "
                              "like Xen on x86, handles little-endian "
                              "streams only");
    }
    if (h->options & IHDR_OPT_RESERVED) {
        return err_at_pos(16, "reserved image option bits 0x%04x set",
                          h->options & IHDR_OPT_RESERVED);
    }
    if (!bytes_all_zero(p + 18, 6)) {
        return err_at_pos(18, "reserved image header field is nonzero");
    }
    return 0;
}

int rec_image_header_encode(struct cursor *c, const struct xmig_image_header *h)
{
    if (cursor_left(c) < REC_IMAGE_HEADER_SIZE) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for the image header");
    }
    (void)!cursor_put_be64(c, REC_IHDR_MARKER);
    (void)!cursor_put_be32(c, REC_IHDR_ID);
    (void)!cursor_put_be32(c, h->version);
    (void)!cursor_put_be16(c, h->options);
    (void)!cursor_put_zeros(c, 6);
    return 0;
}

int rec_domain_header_decode(struct cursor *c, struct xmig_domain_header *h)
{
    const uint8_t *p;
    uint16_t reserved;

    if (cursor_take(c, REC_DOMAIN_HEADER_SIZE, &p) < 0) {
        return err_set(XMIG_ERR_CLOSED, 0, "truncated domain header");
    }
    h->type = get_le32(p);
    h->page_shift = get_le16(p + 4);
    reserved = get_le16(p + 6);
    h->xen_major = get_le32(p + 8);
    h->xen_minor = get_le32(p + 12);
    if (h->type != XMIG_DOMAIN_X86_PV && h->type != XMIG_DOMAIN_X86_HVM) {
        return err_at_pos(0, "domain type 0x%x is reserved (1 = x86 PV, "
                             "2 = x86 HVM)", h->type);
    }
    if (h->page_shift != XMIG_PAGE_SHIFT) {
        return err_at_pos(4, "page_shift %u; x86 guests use %u",
                          h->page_shift, XMIG_PAGE_SHIFT);
    }
    if (reserved) {
        return err_at_pos(6, "reserved domain header field is 0x%04x, must "
                             "be zero", reserved);
    }
    return 0;
}

int rec_domain_header_encode(struct cursor *c,
                             const struct xmig_domain_header *h)
{
    if (cursor_left(c) < REC_DOMAIN_HEADER_SIZE) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for the domain header");
    }
    (void)!cursor_put_le32(c, h->type);
    (void)!cursor_put_le16(c, h->page_shift);
    (void)!cursor_put_le16(c, 0);
    (void)!cursor_put_le32(c, h->xen_major);
    (void)!cursor_put_le32(c, h->xen_minor);
    return 0;
}

int rec_libxl_header_decode(struct cursor *c, struct xmig_libxl_header *h)
{
    const uint8_t *p;
    uint64_t ident;

    if (cursor_take(c, REC_LIBXL_HEADER_SIZE, &p) < 0) {
        return err_set(XMIG_ERR_CLOSED, 0, "truncated libxl header");
    }
    ident = get_be64(p);
    h->version = get_be32(p + 8);
    h->options = get_be32(p + 12);
    if (ident != REC_LIBXL_IDENT) {
        return err_at_pos(0, "libxl ident is 0x%016llx, must be "
                             "0x4c6962786c466d74 (\"LibxlFmt\")",
                          (unsigned long long)ident);
    }
    if (h->version != 2) {
        return err_at_pos(8, "libxl stream version %u; xmig reads version 2",
                          h->version);
    }
    if (h->options & LIBXL_OPT_BIG_ENDIAN) {
        return err_at_pos(12, "big-endian libxl stream (options bit 0 set): "
                              "xmig handles little-endian streams only");
    }
    if (h->options & LIBXL_OPT_RESERVED) {
        return err_at_pos(12, "reserved libxl option bits 0x%08x set",
                          h->options & LIBXL_OPT_RESERVED);
    }
    return 0;
}

int rec_libxl_header_encode(struct cursor *c,
                            const struct xmig_libxl_header *h)
{
    if (cursor_left(c) < REC_LIBXL_HEADER_SIZE) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for the libxl header");
    }
    (void)!cursor_put_be64(c, REC_LIBXL_IDENT);
    (void)!cursor_put_be32(c, h->version);
    (void)!cursor_put_be32(c, h->options);
    return 0;
}
