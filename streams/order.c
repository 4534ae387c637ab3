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
    return type == XMIG_LIBXC_HVM_CONTEXT || type == XMIG_LIBXC_HVM_PARAMS;
}

/* Static data: state invariant of guest execution (spec 4.14, 5.1, 5.2). */
static int is_static(uint32_t type)
{
    return type == XMIG_LIBXC_X86_PV_INFO ||
           type == XMIG_LIBXC_X86_CPUID_POLICY ||
           type == XMIG_LIBXC_X86_MSR_POLICY;
}

static int v3_only(uint32_t type)
{
    return type == XMIG_LIBXC_STATIC_DATA_END ||
           type == XMIG_LIBXC_X86_CPUID_POLICY ||
           type == XMIG_LIBXC_X86_MSR_POLICY;
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
    o->ended = 1;
    return 0;
}

int libxc_order_record(struct libxc_order *o, uint32_t type, int known)
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
        return 0;
    case XMIG_LIBXC_END:
        return libxc_end(o);
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
    case XMIG_LIBXC_PAGE_DATA:
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

int libxl_order_record(struct libxl_order *o, uint32_t type, int known)
{
    if (o->ended) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "record after END: \"END shall "
                       "be the final record in the stream\"");
    }
    if (!known) {
        return 0;
    }
    switch (type) {
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
        o->ended = 1;
        return 0;
    default:
        return 0;
    }
}
