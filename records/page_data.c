/*
 * PAGE_DATA: {u32 count, u32 reserved, u64 pfn[count], page_data[N]}.
 * Decoding walks the pfn words once and never touches the page data: the
 * view points at it where it lies.
 */
#include "common/error.h"
#include "records/records.h"

#define PFN_RESERVED_MASK (((UINT64_C(1) << 60) - 1) & ~XMIG_PFN_MASK)

int rec_page_data_decode(struct cursor *c, struct xmig_page_data *pd)
{
    uint32_t count, reserved, data_pages = 0;
    size_t pfn_bytes, data_bytes, expect;

    if (cursor_get_le32(c, &count) < 0 || cursor_get_le32(c, &reserved) < 0) {
        return err_at(c, "PAGE_DATA body too short for its header");
    }
    /* "Count is strictly > 0." */
    if (count == 0) {
        return err_at_pos(0, "count is 0, must be at least 1");
    }
    if (reserved) {
        return err_at_pos(4, "reserved field is 0x%08x, must be zero",
                          reserved);
    }
    if (size_mul(count, 8, &pfn_bytes) < 0 ||
        cursor_take(c, pfn_bytes, &pd->pfns) < 0) {
        return err_at_pos(0, "count %u needs %llu octets of pfns, body has "
                             "%zu", count,
                          (unsigned long long)count * 8, cursor_left(c));
    }
    for (uint32_t i = 0; i < count; i++) {
        uint64_t word = get_le64(pd->pfns + (size_t)i * 8);
        unsigned type = (unsigned)(word >> XMIG_PFN_TYPE_SHIFT);

        if (word & PFN_RESERVED_MASK) {
            return err_at_pos(8 + (uint64_t)i * 8,
                              "pfn[%u] = 0x%016llx has reserved bits 52-59 "
                              "set", i, (unsigned long long)word);
        }
        /* "Restoring an image with unrecognised page types shall fail." */
        if (!rec_pfn_type_valid(type)) {
            return err_at_pos(8 + (uint64_t)i * 8,
                              "pfn[%u] = 0x%016llx has reserved page type "
                              "0x%x", i, (unsigned long long)word, type);
        }
        data_pages += rec_pfn_type_has_data(type);
    }
    /* XTAB, BROKEN and XALLOC carry no data; every other type one page. */
    if (size_mul(data_pages, XMIG_PAGE_SIZE, &data_bytes) < 0 ||
        size_add(8 + pfn_bytes, data_bytes, &expect) < 0 ||
        c->len != expect) {
        return err_at_pos(8 + pfn_bytes,
                          "%u of %u pfns carry data, so the body must be "
                          "%llu octets, not %zu", data_pages, count,
                          (unsigned long long)(8 + pfn_bytes) +
                              (unsigned long long)data_pages * XMIG_PAGE_SIZE,
                          c->len);
    }
    pd->count = count;
    pd->data_pages = data_pages;
    pd->data = cursor_here(c);
    c->pos = c->len;
    return 0;
}

int rec_page_data_encode_head(struct cursor *c, uint32_t count,
                              const uint64_t *pfn_words)
{
    if (count == 0) {
        return err_set(XMIG_ERR_USAGE, 0, "PAGE_DATA needs at least one pfn");
    }
    if (cursor_put_le32(c, count) < 0 || cursor_put_le32(c, 0) < 0) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for PAGE_DATA header");
    }
    for (uint32_t i = 0; i < count; i++) {
        unsigned type = (unsigned)(pfn_words[i] >> XMIG_PFN_TYPE_SHIFT);
        if ((pfn_words[i] & PFN_RESERVED_MASK) || !rec_pfn_type_valid(type)) {
            return err_set(XMIG_ERR_USAGE, 0,
                           "pfn word %u (0x%016llx) is not valid", i,
                           (unsigned long long)pfn_words[i]);
        }
        if (cursor_put_le64(c, pfn_words[i]) < 0) {
            return err_set(XMIG_ERR_USAGE, 0, "no room for PAGE_DATA pfns");
        }
    }
    return 0;
}
