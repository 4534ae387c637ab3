/*
 * The TRANSPARENT records that declare a transparent (non-cooperative)
 * stream, in the libxc image and in the libxl stream, and the context the
 * transparent records leave for the ones after them.
 */
#include "common/error.h"
#include "records/records.h"

#define DECL_FLAGS_LIBXC (XMIG_TRANSPARENT_EVTCHN | XMIG_TRANSPARENT_GNTTAB)
#define DECL_FLAGS_LIBXL (DECL_FLAGS_LIBXC | XMIG_TRANSPARENT_XENSTORE)

/* libxc: {u32 version, u32 flags}.  libxl: {u32 version, u32 flags,
 * u16 domid, u16 reserved, u32 reserved}. */
int rec_transparent_decode(struct cursor *c, int libxl,
                           struct xmig_transparent_decl *d)
{
    uint32_t known = libxl ? DECL_FLAGS_LIBXL : DECL_FLAGS_LIBXC;
    uint16_t res16 = 0;
    uint32_t res32 = 0;

    d->domid = 0;
    if (cursor_get_le32(c, &d->version) < 0 ||
        cursor_get_le32(c, &d->flags) < 0 ||
        (libxl && (cursor_get_le16(c, &d->domid) < 0 ||
                   cursor_get_le16(c, &res16) < 0 ||
                   cursor_get_le32(c, &res32) < 0))) {
        return err_at(c, "TRANSPARENT body too short");
    }
    if (d->version != XMIG_TRANSPARENT_VERSION) {
        return err_at_pos(0, "version %u; this reader knows version %u",
                          d->version, XMIG_TRANSPARENT_VERSION);
    }
    if (d->flags & ~known) {
        return err_at_pos(4, "flags 0x%x set reserved bits 0x%x", d->flags,
                          d->flags & ~known);
    }
    /* Version 1 moves all of it or none: xenstore state naming ports and
     * grants is worthless without them, and they without it. */
    if (d->flags != known) {
        return err_at_pos(4, "flags 0x%x: version 1 declares all of 0x%x",
                          d->flags, known);
    }
    if (libxl && (d->domid == 0 || d->domid >= REC_DOMID_FIRST_RESERVED)) {
        return err_at_pos(8, "domid %u cannot be preserved: ordinary "
                             "domains are 1 to %u", d->domid,
                          REC_DOMID_FIRST_RESERVED - 1);
    }
    if (res16 || res32) {
        return err_at_pos(10, "reserved field is nonzero");
    }
    return 0;
}

int rec_transparent_encode(struct cursor *c, int libxl,
                           const struct xmig_transparent_decl *d)
{
    if (cursor_put_le32(c, d->version) < 0 ||
        cursor_put_le32(c, d->flags) < 0 ||
        (libxl && (cursor_put_le16(c, d->domid) < 0 ||
                   cursor_put_zeros(c, 6) < 0))) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for TRANSPARENT");
    }
    return 0;
}

void rec_ctx_note(struct rec_ctx *ctx, const struct xmig_record *rec)
{
    if (rec->kind != XMIG_ITEM_RECORD || !rec->known) {
        return;
    }
    if (rec->layer == XMIG_LAYER_LIBXL) {
        if (rec->type == XMIG_LIBXL_TRANSPARENT) {
            ctx->xl_transparent = rec->u.transparent.flags;
            ctx->domid = rec->u.transparent.domid;
        }
        return;
    }
    switch (rec->type) {
    case XMIG_LIBXC_X86_PV_INFO:
        ctx->pv_width = rec->u.pv_info.guest_width;
        break;
    case XMIG_LIBXC_TRANSPARENT:
        ctx->xc_transparent = rec->u.transparent.flags;
        break;
    case XMIG_LIBXC_EVTCHN_PORTS: {
        const struct xmig_evtchn_ports *p = &rec->u.evtchn_ports;
        ctx->evtchn_abi = p->abi;
        ctx->evtchn_top_port = 0;
        memset(ctx->evtchn_vcpus, 0, sizeof(ctx->evtchn_vcpus));
        for (uint32_t i = 0; i < p->count; i++) {
            const uint8_t *e = p->entries + (size_t)i * REC_EVTCHN_PORT_SIZE;
            uint32_t vcpu = get_le32(e + 8);   /* < REC_MAX_VCPUS: decoded */
            ctx->evtchn_top_port = get_le32(e);
            ctx->evtchn_vcpus[vcpu / 8] |= (uint8_t)(1u << (vcpu % 8));
        }
        break;
    }
    default:
        break;
    }
}
