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

/* ---- transparent records ------------------------------------------- */

void xmig_evtchn_port_get(const struct xmig_evtchn_ports *v, uint32_t i,
                          struct xmig_evtchn_port *out)
{
    memset(out, 0, sizeof(*out));
    if (i < v->count) {
        rec_evtchn_port_get(v->entries + (size_t)i * REC_EVTCHN_PORT_SIZE,
                            out);
    }
}

void xmig_evtchn_fifo_vcpu_get(const struct xmig_evtchn_fifo *v, uint32_t i,
                               struct xmig_evtchn_fifo_vcpu *out)
{
    const uint8_t *e;

    memset(out, 0, sizeof(*out));
    if (i >= v->nr_vcpus) {
        return;
    }
    e = v->vcpus + (size_t)i * REC_EVTCHN_FIFO_VCPU_SIZE;
    out->vcpu_id = get_le32(e);
    out->offset = get_le32(e + 4);
    out->control_gfn = get_le64(e + 8);
}

uint64_t xmig_evtchn_fifo_array_gfn(const struct xmig_evtchn_fifo *v,
                                    uint32_t i)
{
    return i < v->nr_array_pages ? get_le64(v->array_gfns + (size_t)i * 8)
                                 : XMIG_GFN_INVALID;
}

void xmig_grant_entry_get(const struct xmig_grant_table *v, uint32_t i,
                          struct xmig_grant_entry *out)
{
    memset(out, 0, sizeof(*out));
    if (i < v->count) {
        rec_grant_entry_get(v->version,
                            v->entries + i * rec_grant_entry_size(v->version),
                            out);
    }
}

uint64_t xmig_grant_frame_gfn(const struct xmig_grant_table *v, uint32_t i)
{
    return i < v->nr_frames ? get_le64(v->frame_gfns + (size_t)i * 8)
                            : XMIG_GFN_INVALID;
}

uint64_t xmig_grant_status_gfn(const struct xmig_grant_table *v, uint32_t i)
{
    return i < v->nr_status_frames ? get_le64(v->status_gfns + (size_t)i * 8)
                                   : XMIG_GFN_INVALID;
}

void xmig_grant_map_get(const struct xmig_grant_maps *v, uint32_t i,
                        struct xmig_grant_map *out)
{
    const uint8_t *e;

    memset(out, 0, sizeof(*out));
    if (i >= v->count) {
        return;
    }
    e = v->entries + (size_t)i * REC_GNT_MAP_SIZE;
    out->handle = get_le32(e);
    out->domid = get_le16(e + 4);
    out->flags = get_le16(e + 6);
    out->ref = get_le32(e + 8);
    out->gfn = get_le64(e + 16);
}

/* Entries of a decoded (so well-formed) XENSTORE_NODES list. */
int xmig_xs_node_next(const struct xmig_xs_list *v, uint32_t *pos,
                      struct xmig_xs_node *out)
{
    const uint8_t *e;
    uint16_t plen, nperms;
    size_t size;

    if (*pos + 16 > v->len) {
        return 0;
    }
    e = v->data + *pos;
    plen = get_le16(e + 8);
    nperms = get_le16(e + 14);
    memset(out, 0, sizeof(*out));
    out->value_len = get_le16(e + 10);
    out->nperms = nperms;
    out->perms_wire = e + 16;
    out->path = (const char *)(e + 16 + (size_t)nperms * 4);
    out->value = (const uint8_t *)out->path + plen;
    size = 16 + (size_t)nperms * 4 + plen + out->value_len;
    *pos += (uint32_t)(size + pad8(size));
    return 1;
}

void xmig_xs_perm_get(const struct xmig_xs_node *n, uint32_t i,
                      struct xmig_xs_perm *out)
{
    memset(out, 0, sizeof(*out));
    if (i < n->nperms && n->perms_wire) {
        const uint8_t *e = n->perms_wire + (size_t)i * 4;
        out->perm = e[0];
        out->flags = e[1];
        out->domid = get_le16(e + 2);
    } else if (i < n->nperms && n->perms) {
        *out = n->perms[i];
    }
}

int xmig_xs_watch_next(const struct xmig_xs_list *v, uint32_t *pos,
                       struct xmig_xs_watch *out)
{
    const uint8_t *e;
    uint16_t plen, tlen;
    size_t size;

    if (*pos + 8 > v->len) {
        return 0;
    }
    e = v->data + *pos;
    plen = get_le16(e + 4);
    tlen = get_le16(e + 6);
    out->path = (const char *)(e + 8);
    out->token = out->path + plen;
    size = 8 + (size_t)plen + tlen;
    *pos += (uint32_t)(size + pad8(size));
    return 1;
}
