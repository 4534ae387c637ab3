/*
 * What xmig can carry, asked before anything is touched: a source domain
 * is refused when it is opened (before any suspend, rename, log-dirty or
 * byte on the wire) and a stream's guest before any domain is built for
 * it, when xmig cannot move everything it has.  The facts come from
 * libxl's config (xen_toolstack.c) and the hypervisor; the decision is
 * xen_carry_refusal (xen_convert.c), unit-tested without Xen.
 */
#include <stdio.h>
#include <string.h>

#include "backends/xen/xen.h"

#include <xen/hvm/params.h>

#include "common/error.h"

int xen_source_check(struct xen_guest *x)
{
    struct xen_carry_facts f;
    xc_domaininfo_t di;
    uint64_t tot = 0, cache = 0, entries = 0, s_state = 0;
    char who[32];

    snprintf(who, sizeof(who), "domain %u", x->domid);
    /* The hypervisor first: a PV domain is refused whatever libxl says
     * (or whether it knows the domain at all). */
    if (xen_domain_info(x, &di) < 0) {
        return -1;
    }
    if (!(di.flags & XEN_DOMINF_hvm_guest)) {
        memset(&f, 0, sizeof(f));
        f.type = XEN_CARRY_TYPE_PV;
        return xen_carry_refusal(&f, who);
    }
    if (xen_ts_facts_domain(x->domid, &f) < 0) {
        err_prefix("cannot tell what %s carries: ", who);
        return -1;
    }
    /* An emulated platform (PIT, RTC, ...) means libxl's "hvm", with a
     * device model, even should its config say otherwise. */
    if ((di.arch_config.emulation_flags & XEN_X86_EMU_PIT) &&
        f.type != XEN_CARRY_TYPE_HVM) {
        f.type = XEN_CARRY_TYPE_HVM;
        f.dm = XEN_CARRY_DM_DEFAULT;
    }
    xen_call_begin(x);
    if (xc_domain_get_pod_target(x->xch, x->domid, &tot, &cache, &entries) ==
        0) {
        f.pod_entries = entries;
    }
    xen_call_begin(x);
    if (xc_hvm_param_get(x->xch, x->domid, HVM_PARAM_ACPI_S_STATE,
                         &s_state) < 0) {
        return xen_fail(x, XMIG_ERR_IO, "reading HVM_PARAM_ACPI_S_STATE");
    }
    f.acpi_s_state = (uint32_t)s_state;
    f.dm_carried = x->dm_allowed;
    if (xen_carry_refusal(&f, who) < 0) {
        return -1;
    }
    x->dm = f.type == XEN_CARRY_TYPE_HVM && f.dm == XEN_CARRY_DM_QEMU_XEN;
    return 0;
}

/* An HVM guest with qemu-xen is restored by libxl (xen_restore.c), which
 * hands qemu its state: *by_libxl says so. */
int xen_incoming_check(const char *config_json, int *by_libxl)
{
    struct xen_carry_facts f;

    if (xen_ts_facts_json(config_json, &f) < 0) {
        return -1;
    }
    f.pod_entries = 0;
    f.acpi_s_state = 0;
    f.dm_carried = 1;
    if (xen_carry_refusal(&f, "the stream's guest") < 0) {
        return -1;
    }
    *by_libxl = f.type == XEN_CARRY_TYPE_HVM &&
                f.dm == XEN_CARRY_DM_QEMU_XEN;
    return 0;
}
