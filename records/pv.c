/*
 * x86 PV records: X86_PV_INFO, X86_PV_P2M_FRAMES, and the four vCPU blobs
 * (BASIC, EXTENDED, XSAVE, MSRS) that share one layout.
 */
#include "common/error.h"
#include "records/records.h"

int rec_pv_info_decode(struct cursor *c, struct xmig_pv_info *pi)
{
    uint16_t res16;
    uint32_t res32;

    if (cursor_get_u8(c, &pi->guest_width) < 0 ||
        cursor_get_u8(c, &pi->pt_levels) < 0 ||
        cursor_get_le16(c, &res16) < 0 || cursor_get_le32(c, &res32) < 0) {
        return err_at(c, "X86_PV_INFO body too short");
    }
    if (pi->guest_width != 4 && pi->guest_width != 8) {
        return err_at_pos(0, "guest_width %u, must be 4 or 8",
                          pi->guest_width);
    }
    if (pi->pt_levels != 3 && pi->pt_levels != 4) {
        return err_at_pos(1, "pt_levels %u, must be 3 or 4", pi->pt_levels);
    }
    if (res16 || res32) {
        return err_at_pos(2, "reserved field is nonzero");
    }
    return 0;
}

int rec_pv_info_encode(struct cursor *c, const struct xmig_pv_info *pi)
{
    if (cursor_put_u8(c, pi->guest_width) < 0 ||
        cursor_put_u8(c, pi->pt_levels) < 0 || cursor_put_zeros(c, 6) < 0) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for X86_PV_INFO");
    }
    return 0;
}

/* Frames holding p2m entries start..end, given entries of ctx->pv_width. */
int rec_p2m_frames_decode(const struct rec_ctx *ctx, struct cursor *c,
                          struct xmig_p2m_frames *p)
{
    uint64_t per_frame, frames;

    if (cursor_get_le32(c, &p->start_pfn) < 0 ||
        cursor_get_le32(c, &p->end_pfn) < 0) {
        return err_at(c, "X86_PV_P2M_FRAMES body too short");
    }
    if (ctx->pv_width == 0) {
        return err_at_pos(0, "no X86_PV_INFO before it: guest width unknown");
    }
    if (p->start_pfn > p->end_pfn) {
        return err_at_pos(0, "p2m_start_pfn 0x%x is above p2m_end_pfn 0x%x",
                          p->start_pfn, p->end_pfn);
    }
    per_frame = XMIG_PAGE_SIZE / ctx->pv_width;
    frames = p->end_pfn / per_frame - p->start_pfn / per_frame + 1;
    if (cursor_left(c) != frames * 8) {
        return err_at_pos(8, "pfns 0x%x-0x%x span %llu p2m frames, so the "
                             "body must be %llu octets, not %zu",
                          p->start_pfn, p->end_pfn,
                          (unsigned long long)frames,
                          (unsigned long long)(8 + frames * 8), c->len);
    }
    p->count = (uint32_t)frames;
    (void)!cursor_take(c, cursor_left(c), &p->frames);
    return 0;
}

int rec_p2m_frames_encode(struct cursor *c, uint32_t start, uint32_t end,
                          const uint64_t *frames, uint32_t count)
{
    if (cursor_put_le32(c, start) < 0 || cursor_put_le32(c, end) < 0) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for X86_PV_P2M_FRAMES");
    }
    for (uint32_t i = 0; i < count; i++) {
        if (cursor_put_le64(c, frames[i]) < 0) {
            return err_set(XMIG_ERR_USAGE, 0, "no room for p2m frames");
        }
    }
    return 0;
}

int rec_pv_vcpu_decode(struct cursor *c, struct xmig_pv_vcpu *v)
{
    uint32_t reserved;

    if (cursor_get_le32(c, &v->vcpu_id) < 0 ||
        cursor_get_le32(c, &reserved) < 0) {
        return err_at(c, "vCPU record body too short");
    }
    if (reserved) {
        return err_at_pos(4, "reserved field is 0x%08x, must be zero",
                          reserved);
    }
    /* Errata: zero-length contexts are tolerated (Xen 4.6-4.8 wrote them). */
    v->context_len = (uint32_t)cursor_left(c);
    (void)!cursor_take(c, v->context_len, &v->context);
    return 0;
}

int rec_pv_vcpu_encode_head(struct cursor *c, uint32_t vcpu_id)
{
    if (cursor_put_le32(c, vcpu_id) < 0 || cursor_put_le32(c, 0) < 0) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for vCPU header");
    }
    return 0;
}
