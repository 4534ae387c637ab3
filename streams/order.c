/*
 * Record order: what the specs require of the sequence, and what Xen's
 * restore code refuses.  Each rule quotes or names its source.
 */
#include "common/error.h"
#include "records/records.h"
#include "streams/order.h"

void libxc_order_init(struct libxc_order *o, uint32_t version,
                      uint32_t guest_type)
{
    memset(o, 0, sizeof(*o));
    o->version = version;
    o->guest_type = guest_type;
}

static int is_transparent_state(uint32_t type)
{
    return type == XMIG_LIBXC_EVTCHN_PORTS ||
           type == XMIG_LIBXC_EVTCHN_FIFO ||
           type == XMIG_LIBXC_GRANT_TABLE || type == XMIG_LIBXC_GRANT_MAPS;
}

static int pv_only(uint32_t type)
{
    switch (type) {
    case XMIG_LIBXC_X86_PV_INFO:
    case XMIG_LIBXC_X86_PV_P2M_FRAMES:
    case XMIG_LIBXC_X86_PV_VCPU_BASIC:
    case XMIG_LIBXC_X86_PV_VCPU_EXTENDED:
    case XMIG_LIBXC_X86_PV_VCPU_XSAVE:
    case XMIG_LIBXC_X86_PV_VCPU_MSRS:
    case XMIG_LIBXC_SHARED_INFO:
        return 1;
    default:
        return 0;
    }
}

static int hvm_only(uint32_t type)
{
    /* Transparent migration is defined for HVM guests only (PV guests
     * co-operate by design: docs/designs/non-cooperative-migration). */
    return type == XMIG_LIBXC_HVM_CONTEXT || type == XMIG_LIBXC_HVM_PARAMS ||
           type == XMIG_LIBXC_TRANSPARENT || is_transparent_state(type);
}

/* Static data: state invariant of guest execution (spec 4.14, 5.1, 5.2),
 * and xmig's declaration of a transparent image. */
static int is_static(uint32_t type)
{
    return type == XMIG_LIBXC_X86_PV_INFO ||
           type == XMIG_LIBXC_X86_CPUID_POLICY ||
           type == XMIG_LIBXC_X86_MSR_POLICY ||
           type == XMIG_LIBXC_TRANSPARENT;
}

static int v3_only(uint32_t type)
{
    return type == XMIG_LIBXC_STATIC_DATA_END ||
           type == XMIG_LIBXC_X86_CPUID_POLICY ||
           type == XMIG_LIBXC_X86_MSR_POLICY ||
           type == XMIG_LIBXC_TRANSPARENT;
}


static int order_fail(uint32_t type, const char *why)
{
    return err_set(XMIG_ERR_PROTOCOL, 0, "%s %s", rec_libxc_name(type), why);
}

static int libxc_end(struct libxc_order *o)
{
    /* "v3 mandates the presence of a STATIC_DATA_END record." */
    if (o->version >= 3 && !o->static_end) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "END before STATIC_DATA_END "
                       "(a v3 image must carry one)");
    }
    if (o->guest_type == XMIG_DOMAIN_X86_HVM && !o->hvm_context) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "END without an HVM_CONTEXT: "
                       "an HVM guest cannot be restored without one");
    }
    /* PV: "The following records must be present in the following order:
     * X86_PV_INFO, X86_PV_P2M_FRAMES, PAGE_DATA records, VCPU records." */
    if (o->guest_type == XMIG_DOMAIN_X86_PV) {
        const char *missing = !o->pv_info      ? "X86_PV_INFO"
                              : !o->p2m_frames ? "X86_PV_P2M_FRAMES"
                              : !o->page_data  ? "PAGE_DATA"
                              : !o->vcpu_basic ? "X86_PV_VCPU_BASIC"
                                               : NULL;
        if (missing) {
            return err_set(XMIG_ERR_PROTOCOL, 0, "END without %s: a PV image "
                           "must carry X86_PV_INFO, X86_PV_P2M_FRAMES, "
                           "PAGE_DATA and vCPU records", missing);
        }
    }
    return 0;
}

#define XC_DECLARABLE (XMIG_TRANSPARENT_EVTCHN | XMIG_TRANSPARENT_GNTTAB)

/* In a libxl stream, both layers declare the same hypervisor state. */
static int declarations_agree(const struct rec_ctx *ctx)
{
    uint32_t xl = ctx->xl_transparent & XC_DECLARABLE;

    if (ctx->embedded && xl != ctx->xc_transparent) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "the libxl TRANSPARENT record "
                       "declares state 0x%x but the libxc image declares "
                       "0x%x", xl, ctx->xc_transparent);
    }
    return 0;
}

/* Everything a TRANSPARENT record declared must have come. */
static int transparent_complete(const struct libxc_order *o,
                                const struct rec_ctx *ctx)
{
    const char *missing = NULL;

    if (declarations_agree(ctx) < 0) {
        return -1;
    }
    if (ctx->xc_transparent & XMIG_TRANSPARENT_EVTCHN) {
        if (!o->evtchn_ports) {
            missing = "EVTCHN_PORTS";
        } else if (ctx->evtchn_abi == XMIG_EVTCHN_ABI_FIFO &&
                   !o->evtchn_fifo) {
            missing = "EVTCHN_FIFO (the ports use the FIFO ABI)";
        }
    }
    if (!missing && (ctx->xc_transparent & XMIG_TRANSPARENT_GNTTAB)) {
        missing = !o->grant_table  ? "GRANT_TABLE"
                  : !o->grant_maps ? "GRANT_MAPS"
                                   : NULL;
    }
    if (missing) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "END without %s, which the "
                       "TRANSPARENT record declared", missing);
    }
    return 0;
}

/* The transparent state records: declared, once each, in their order,
 * after the last memory pass. */
static int transparent_state(struct libxc_order *o, const struct rec_ctx *ctx,
                             uint32_t type)
{
    uint32_t need = type == XMIG_LIBXC_EVTCHN_PORTS ||
                            type == XMIG_LIBXC_EVTCHN_FIFO
                        ? XMIG_TRANSPARENT_EVTCHN
                        : XMIG_TRANSPARENT_GNTTAB;

    if (!(ctx->xc_transparent & need)) {
        return order_fail(type, "is not declared by a TRANSPARENT record");
    }
    switch (type) {
    case XMIG_LIBXC_EVTCHN_PORTS:
        if (o->evtchn_ports) {
            return order_fail(type, "appears twice");
        }
        o->evtchn_ports = 1;
        return 0;
    case XMIG_LIBXC_EVTCHN_FIFO:
        if (!o->evtchn_ports) {
            return order_fail(type, "before EVTCHN_PORTS");
        }
        if (ctx->evtchn_abi != XMIG_EVTCHN_ABI_FIFO) {
            return order_fail(type, "but EVTCHN_PORTS uses the 2-level ABI");
        }
        if (o->evtchn_fifo) {
            return order_fail(type, "appears twice");
        }
        o->evtchn_fifo = 1;
        return 0;
    case XMIG_LIBXC_GRANT_TABLE:
        if (o->grant_table) {
            return order_fail(type, "appears twice");
        }
        o->grant_table = 1;
        return 0;
    default:
        if (!o->grant_table) {
            return order_fail(type, "before GRANT_TABLE");
        }
        if (o->grant_maps) {
            return order_fail(type, "appears twice");
        }
        o->grant_maps = 1;
        return 0;
    }
}

int libxc_order_record(struct libxc_order *o, const struct rec_ctx *ctx,
                       uint32_t type, int known)
{
    const char *not_here = o->guest_type == XMIG_DOMAIN_X86_HVM
                               ? "is not valid in an x86 HVM image"
                               : "is not valid in an x86 PV image";

    if (o->ended) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "record after END: \"END shall "
                       "be the final record in the stream\"");
    }
    if (!known) {
        return 0;   /* unknown optional: may stand anywhere before END */
    }
    if (v3_only(type) && o->version < 3) {
        return order_fail(type, "only exists in v3 images; this is v2");
    }
    if ((pv_only(type) && o->guest_type != XMIG_DOMAIN_X86_PV) ||
        (hvm_only(type) && o->guest_type != XMIG_DOMAIN_X86_HVM)) {
        return order_fail(type, not_here);
    }
    switch (type) {
    case XMIG_LIBXC_TOOLSTACK:
        return order_fail(type, "is deprecated and refused by Xen's "
                                      "restore (unhandled mandatory record)");
    case XMIG_LIBXC_CHECKPOINT_DIRTY_PFN_LIST:
        return order_fail(type, "only travels on COLO's back channel, "
                                      "never in a saved or migrated image");
    case XMIG_LIBXC_STATIC_DATA_END:
        if (o->static_end) {
            return order_fail(type, "appears twice");
        }
        o->static_end = 1;
        return declarations_agree(ctx);
    case XMIG_LIBXC_END:
        if (libxc_end(o) < 0 || transparent_complete(o, ctx) < 0) {
            return -1;
        }
        o->ended = 1;
        return 0;
    case XMIG_LIBXC_CHECKPOINT:
        if (o->transparent || ctx->xl_transparent) {
            return order_fail(type, "in a transparent image: checkpointed "
                                    "streams cannot be transparent");
        }
        break;
    default:
        break;
    }
    if (is_static(type) && o->static_end) {
        return order_fail(type, "after STATIC_DATA_END: static data "
                                      "must precede it");
    }
    /* v2 compat: infer STATIC_DATA_END at the first X86_PV_P2M_FRAMES (PV)
     * or PAGE_DATA (HVM) record (spec 6.1). */
    if (o->version < 3 && !o->static_end &&
        ((o->guest_type == XMIG_DOMAIN_X86_PV &&
          type == XMIG_LIBXC_X86_PV_P2M_FRAMES) ||
         (o->guest_type == XMIG_DOMAIN_X86_HVM &&
          type == XMIG_LIBXC_PAGE_DATA))) {
        o->static_end = 1;
    }
    if (o->version >= 3 && !is_static(type) && !o->static_end) {
        return order_fail(type, "before STATIC_DATA_END: v3 requires "
                                      "it ahead of memory and register "
                                      "state");
    }
    switch (type) {
    case XMIG_LIBXC_X86_PV_INFO:
        if (o->pv_info) {
            return order_fail(type, "appears twice");
        }
        o->pv_info = 1;
        break;
    case XMIG_LIBXC_X86_PV_P2M_FRAMES:
        /* PV order: X86_PV_INFO, X86_PV_P2M_FRAMES, PAGE_DATA, vCPUs. */
        if (!o->pv_info) {
            return order_fail(type, "before X86_PV_INFO");
        }
        o->p2m_frames = 1;
        break;
    case XMIG_LIBXC_TRANSPARENT:
        if (o->transparent) {
            return order_fail(type, "appears twice");
        }
        o->transparent = 1;
        break;
    case XMIG_LIBXC_EVTCHN_PORTS:
    case XMIG_LIBXC_EVTCHN_FIFO:
    case XMIG_LIBXC_GRANT_TABLE:
    case XMIG_LIBXC_GRANT_MAPS:
        return transparent_state(o, ctx, type);
    case XMIG_LIBXC_PAGE_DATA:
        if (o->evtchn_ports || o->grant_table) {
            return order_fail(type, "after transparent state: those records "
                                    "follow the last memory pass");
        }
        if (o->guest_type == XMIG_DOMAIN_X86_PV && !o->p2m_frames) {
            return order_fail(type, "before X86_PV_P2M_FRAMES");
        }
        if (o->vcpu) {
            return order_fail(type, "after vCPU records: PV order is "
                                    "PAGE_DATA, then vCPU records (until "
                                    "the next CHECKPOINT)");
        }
        o->page_data = 1;
        break;
    case XMIG_LIBXC_X86_PV_VCPU_BASIC:
    case XMIG_LIBXC_X86_PV_VCPU_EXTENDED:
    case XMIG_LIBXC_X86_PV_VCPU_XSAVE:
    case XMIG_LIBXC_X86_PV_VCPU_MSRS:
        if (!o->p2m_frames) {
            return order_fail(type, "before X86_PV_P2M_FRAMES");
        }
        o->vcpu = 1;
        o->vcpu_basic |= type == XMIG_LIBXC_X86_PV_VCPU_BASIC;
        break;
    case XMIG_LIBXC_CHECKPOINT:
        o->vcpu = 0;   /* the next checkpoint sends memory again */
        break;
    case XMIG_LIBXC_HVM_CONTEXT:
        o->hvm_context = 1;
        break;
    case XMIG_LIBXC_VERIFY:
        if (o->verify) {
            return order_fail(type, "appears twice");
        }
        o->verify = 1;
        break;
    default:
        break;
    }
    return 0;
}

void libxl_order_init(struct libxl_order *o)
{
    memset(o, 0, sizeof(*o));
}

static int xenstore_record(struct libxl_order *o, const struct rec_ctx *ctx,
                          uint32_t type)
{
    const char *name = rec_libxl_name(type);

    if (!(ctx->xl_transparent & XMIG_TRANSPARENT_XENSTORE)) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "%s is not declared by a "
                       "TRANSPARENT record", name);
    }
    if (o->libxc != LIBXC_ENDED) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "%s before the libxc image "
                       "ended: xenstore state follows the domain's", name);
    }
    if (type == XMIG_LIBXL_XENSTORE_NODES) {
        if (o->xs_nodes) {
            return err_set(XMIG_ERR_PROTOCOL, 0, "%s appears twice", name);
        }
        o->xs_nodes = 1;
        return 0;
    }
    if (!o->xs_nodes || o->xs_watches) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "%s %s", name,
                       o->xs_watches ? "appears twice"
                                     : "before XENSTORE_NODES");
    }
    o->xs_watches = 1;
    return 0;
}

int libxl_order_record(struct libxl_order *o, const struct rec_ctx *ctx,
                       uint32_t type, int known)
{
    if (o->ended) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "record after END: \"END shall "
                       "be the final record in the stream\"");
    }
    if (o->records++ > 0 && type == XMIG_LIBXL_TRANSPARENT) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "TRANSPARENT must be the first "
                       "libxl record");
    }
    if (!known) {
        return 0;
    }
    switch (type) {
    case XMIG_LIBXL_TRANSPARENT:
        o->transparent = 1;
        return 0;
    case XMIG_LIBXL_XENSTORE_NODES:
    case XMIG_LIBXL_XENSTORE_WATCHES:
        return xenstore_record(o, ctx, type);
    case XMIG_LIBXL_LIBXC_CONTEXT:
        if (o->libxc == LIBXC_ENDED) {
            return err_set(XMIG_ERR_PROTOCOL, 0, "LIBXC_CONTEXT after the "
                           "libxc image has already ended");
        }
        if (o->libxc == LIBXC_CHECKPOINTED) {
            return err_set(XMIG_ERR_PROTOCOL, 0, "LIBXC_CONTEXT inside a "
                           "checkpoint: the libxc image resumes by itself "
                           "after CHECKPOINT_END");
        }
        if (o->libxc == LIBXC_RUNNING) {
            return err_set(XMIG_ERR_PROTOCOL, 0, "second LIBXC_CONTEXT");
        }
        o->libxc = LIBXC_RUNNING;
        return 0;
    case XMIG_LIBXL_CHECKPOINT_END:
        /* libxl's checkpoint ends and the stream goes back to libxc, which
         * reads its next set of records (libxc spec 4.12). */
        if (o->libxc != LIBXC_CHECKPOINTED) {
            return err_set(XMIG_ERR_PROTOCOL, 0, "CHECKPOINT_END without a "
                           "libxc CHECKPOINT before it");
        }
        o->libxc = LIBXC_RUNNING;
        return 0;
    case XMIG_LIBXL_END:
        if (o->libxc != LIBXC_ENDED) {
            return err_set(XMIG_ERR_PROTOCOL, 0, "END before a complete libxc "
                           "image (LIBXC_CONTEXT followed by an image ending "
                           "in END)");
        }
        if ((ctx->xl_transparent & XMIG_TRANSPARENT_XENSTORE) &&
            !(o->xs_nodes && o->xs_watches)) {
            return err_set(XMIG_ERR_PROTOCOL, 0, "END without %s, which the "
                           "TRANSPARENT record declared",
                           o->xs_nodes ? "XENSTORE_WATCHES"
                                       : "XENSTORE_NODES");
        }
        o->ended = 1;
        return 0;
    default:
        return 0;
    }
}
