/* Dispatch of every libxc record body to its decoder. */
#include "common/error.h"
#include "records/records.h"

int rec_libxc_decode(const struct rec_ctx *ctx, struct cursor *body,
                     struct xmig_record *out)
{
    out->known = 1;
    switch (out->type) {
    case XMIG_LIBXC_END:
    case XMIG_LIBXC_VERIFY:
    case XMIG_LIBXC_CHECKPOINT:
    case XMIG_LIBXC_STATIC_DATA_END:
    case XMIG_LIBXC_SHARED_INFO:   /* one page, exactly: the length rule */
    case XMIG_LIBXC_TOOLSTACK:     /* opaque blob */
        return 0;
    case XMIG_LIBXC_PAGE_DATA:
        return rec_page_data_decode(body, &out->u.page_data);
    case XMIG_LIBXC_X86_PV_INFO:
        return rec_pv_info_decode(body, &out->u.pv_info);
    case XMIG_LIBXC_X86_PV_P2M_FRAMES:
        return rec_p2m_frames_decode(ctx, body, &out->u.p2m);
    case XMIG_LIBXC_X86_PV_VCPU_BASIC:
    case XMIG_LIBXC_X86_PV_VCPU_EXTENDED:
    case XMIG_LIBXC_X86_PV_VCPU_XSAVE:
    case XMIG_LIBXC_X86_PV_VCPU_MSRS:
        return rec_pv_vcpu_decode(body, &out->u.vcpu);
    case XMIG_LIBXC_X86_TSC_INFO:
        return rec_tsc_info_decode(body, &out->u.tsc);
    case XMIG_LIBXC_HVM_CONTEXT:
        return rec_hvm_context_decode(body, &out->u.hvm_context);
    case XMIG_LIBXC_HVM_PARAMS:
        return rec_hvm_params_decode(body, &out->u.hvm_params);
    case XMIG_LIBXC_CHECKPOINT_DIRTY_PFN_LIST:
        return rec_pfn_list_decode(body, &out->u.pfn_list);
    case XMIG_LIBXC_X86_CPUID_POLICY:
        return rec_cpuid_policy_decode(body, &out->u.cpuid);
    case XMIG_LIBXC_X86_MSR_POLICY:
        return rec_msr_policy_decode(body, &out->u.msr);
    case XMIG_LIBXC_TRANSPARENT:
        return rec_transparent_decode(body, 0, &out->u.transparent);
    case XMIG_LIBXC_EVTCHN_PORTS:
        return rec_evtchn_ports_decode(body, &out->u.evtchn_ports);
    case XMIG_LIBXC_EVTCHN_FIFO:
        return rec_evtchn_fifo_decode(ctx, body, &out->u.evtchn_fifo);
    case XMIG_LIBXC_GRANT_TABLE:
        return rec_grant_table_decode(body, &out->u.grant_table);
    case XMIG_LIBXC_GRANT_MAPS:
        return rec_grant_maps_decode(body, &out->u.grant_maps);
    default:
        out->known = 0;
        return 0;
    }
}
