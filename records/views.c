/* Public accessors for the little-endian arrays inside record views. */
#include "records/records.h"
#include "xmig.h"

uint64_t xmig_page_data_pfn_word(const struct xmig_page_data *pd, uint32_t i)
{
    return i < pd->count ? get_le64(pd->pfns + (size_t)i * 8) : UINT64_MAX;
}

uint64_t xmig_p2m_frame(const struct xmig_p2m_frames *p, uint32_t i)
{
    return i < p->count ? get_le64(p->frames + (size_t)i * 8) : UINT64_MAX;
}

void xmig_hvm_param_get(const struct xmig_hvm_params *hp, uint32_t i,
                        struct xmig_hvm_param *out)
{
    const uint8_t *e;

    if (i >= hp->count) {
        out->index = out->value = UINT64_MAX;
        return;
    }
    e = hp->entries + (size_t)i * REC_HVM_PARAM_SIZE;
    out->index = get_le64(e);
    out->value = get_le64(e + 8);
}

void xmig_cpuid_leaf_get(const struct xmig_cpuid_policy *p, uint32_t i,
                         struct xmig_cpuid_leaf *out)
{
    const uint8_t *e;

    memset(out, 0, sizeof(*out));
    if (i >= p->count) {
        return;
    }
    e = p->leaves + (size_t)i * REC_CPUID_LEAF_SIZE;
    out->leaf = get_le32(e);
    out->subleaf = get_le32(e + 4);
    out->a = get_le32(e + 8);
    out->b = get_le32(e + 12);
    out->c = get_le32(e + 16);
    out->d = get_le32(e + 20);
}

void xmig_msr_entry_get(const struct xmig_msr_policy *p, uint32_t i,
                        struct xmig_msr_entry *out)
{
    const uint8_t *e;

    memset(out, 0, sizeof(*out));
    if (i >= p->count) {
        return;
    }
    e = p->entries + (size_t)i * REC_MSR_ENTRY_SIZE;
    out->idx = get_le32(e);
    out->flags = get_le32(e + 4);
    out->val = get_le64(e + 8);
}

uint64_t xmig_pfn_list_get(const struct xmig_pfn_list *p, uint32_t i)
{
    return i < p->count ? get_le64(p->pfns + (size_t)i * 8) : UINT64_MAX;
}

const char *xmig_record_name(enum xmig_layer layer, uint32_t type)
{
    return layer == XMIG_LAYER_LIBXL ? rec_libxl_name(type)
                                     : rec_libxc_name(type);
}
