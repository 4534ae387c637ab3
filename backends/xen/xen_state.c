/*
 * The xen backend's guest state: what Xen's own saver sends for an HVM
 * guest (TSC, HVM context, the HVM parameters it selects, CPUID and MSR
 * policy) read on the source and applied on the destination, and the
 * transparent state Xen 4.17 lets a sender gather.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "backends/xen/xen.h"   /* xenctrl.h first: it sets __XEN_TOOLS__ */

#include <xenguest.h>
#include <xenstore.h>
#include <xen/hvm/params.h>

#include "common/error.h"
#include "common/log.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The converters are written against these values without Xen's
 * headers; hold them to Xen's. */
_Static_assert(XMIG_EVTCHN_UNBOUND == EVTCHNSTAT_unbound &&
                   XMIG_EVTCHN_INTERDOMAIN == EVTCHNSTAT_interdomain &&
                   XMIG_EVTCHN_PIRQ == EVTCHNSTAT_pirq &&
                   XMIG_EVTCHN_VIRQ == EVTCHNSTAT_virq &&
                   XMIG_EVTCHN_IPI == EVTCHNSTAT_ipi,
               "EVTCHNSTAT_* values");
_Static_assert(XEN_XS_PERM_READ == XS_PERM_READ &&
                   XEN_XS_PERM_WRITE == XS_PERM_WRITE &&
                   XEN_XS_PERM_IGNORE == XS_PERM_IGNORE,
               "XS_PERM_* values");
_Static_assert(XEN_EVTCHN_FIFO_PORTS == EVTCHN_FIFO_NR_CHANNELS,
               "EVTCHN_FIFO_NR_CHANNELS");
_Static_assert(sizeof(grant_entry_v1_t) == 8 &&
                   sizeof(grant_entry_v2_t) == 16 &&
                   sizeof(grant_status_t) == 2,
               "grant entry sizes");
_Static_assert(sizeof(xen_cpuid_leaf_t) == sizeof(struct xmig_cpuid_leaf) &&
                   sizeof(xen_msr_entry_t) == sizeof(struct xmig_msr_entry),
               "CPU policy entries");

/* What Xen's HVM saver (libxenguest) puts into HVM_PARAMS, when nonzero. */
static const uint32_t saved_params[] = {
    HVM_PARAM_STORE_PFN,
    HVM_PARAM_IOREQ_PFN,
    HVM_PARAM_BUFIOREQ_PFN,
    HVM_PARAM_PAGING_RING_PFN,
    HVM_PARAM_MONITOR_RING_PFN,
    HVM_PARAM_SHARING_RING_PFN,
    HVM_PARAM_VM86_TSS_SIZED,
    HVM_PARAM_CONSOLE_PFN,
    HVM_PARAM_ACPI_IOPORTS_LOCATION,
    HVM_PARAM_VIRIDIAN,
    HVM_PARAM_IDENT_PT,
    HVM_PARAM_VM_GENERATION_ID_ADDR,
    HVM_PARAM_IOREQ_SERVER_PFN,
    HVM_PARAM_NR_IOREQ_SERVER_PAGES,
    HVM_PARAM_X87_FIP_WIDTH,
    HVM_PARAM_MCA_CAP,
};

/* ---- source ---------------------------------------------------------- */

static int get_tsc(struct xen_guest *x, struct xmig_tsc_info *t)
{
    xen_call_begin(x);
    if (xc_domain_get_tsc_info(x->xch, x->domid, &t->mode, &t->nsec,
                               &t->khz, &t->incarnation) < 0) {
        return xen_fail(x, XMIG_ERR_IO, "xc_domain_get_tsc_info");
    }
    return 0;
}

static int get_params(struct xen_guest *x, struct guest_state *st)
{
    st->params = calloc(NELEM(saved_params), sizeof(*st->params));
    if (!st->params) {
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "HVM parameters");
    }
    for (size_t i = 0; i < NELEM(saved_params); i++) {
        uint64_t v = 0;
        xen_call_begin(x);
        if (xc_hvm_param_get(x->xch, x->domid, saved_params[i], &v) < 0) {
            char what[48];
            snprintf(what, sizeof(what), "reading HVM parameter %u",
                     saved_params[i]);
            return xen_fail(x, XMIG_ERR_IO, what);
        }
        if (v) {
            st->params[st->nparams].index = saved_params[i];
            st->params[st->nparams].value = v;
            st->nparams++;
        }
    }
    return 0;
}

static int get_context(struct xen_guest *x, struct guest_state *st)
{
    int size, got;

    xen_call_begin(x);
    size = xc_domain_hvm_getcontext(x->xch, x->domid, NULL, 0);
    if (size <= 0) {
        return xen_fail(x, XMIG_ERR_IO, "sizing the HVM context");
    }
    st->hvm_context = malloc((size_t)size);
    if (!st->hvm_context) {
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "HVM context");
    }
    xen_call_begin(x);
    got = xc_domain_hvm_getcontext(x->xch, x->domid, st->hvm_context,
                                   (uint32_t)size);
    if (got <= 0 || got > size) {
        return xen_fail(x, XMIG_ERR_IO, "xc_domain_hvm_getcontext");
    }
    st->hvm_context_len = (uint32_t)got;
    return 0;
}

static int get_policy(struct xen_guest *x, struct guest_state *st)
{
    xc_cpu_policy_t *p = xc_cpu_policy_init();
    xen_cpuid_leaf_t *leaves = NULL;
    xen_msr_entry_t *msrs = NULL;
    uint32_t nl = 0, nm = 0;
    int rc = -1;

    if (!p) {
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "CPU policy");
    }
    xen_call_begin(x);
    if (xc_cpu_policy_get_size(x->xch, &nl, &nm) < 0) {
        xen_fail(x, XMIG_ERR_IO, "xc_cpu_policy_get_size");
        goto out;
    }
    leaves = calloc(nl + 1, sizeof(*leaves));
    msrs = calloc(nm + 1, sizeof(*msrs));
    st->cpuid = calloc(nl + 1, sizeof(*st->cpuid));
    st->msrs = calloc(nm + 1, sizeof(*st->msrs));
    if (!leaves || !msrs || !st->cpuid || !st->msrs) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "CPU policy");
        goto out;
    }
    xen_call_begin(x);
    if (xc_cpu_policy_get_domain(x->xch, x->domid, p) < 0 ||
        xc_cpu_policy_serialise(x->xch, p, leaves, &nl, msrs, &nm) < 0) {
        xen_fail(x, XMIG_ERR_IO, "reading the domain's CPU policy");
        goto out;
    }
    for (uint32_t i = 0; i < nl; i++) {
        st->cpuid[i] = (struct xmig_cpuid_leaf){ leaves[i].leaf,
                                                 leaves[i].subleaf,
                                                 leaves[i].a, leaves[i].b,
                                                 leaves[i].c, leaves[i].d };
    }
    for (uint32_t i = 0; i < nm; i++) {
        st->msrs[i] = (struct xmig_msr_entry){ msrs[i].idx, msrs[i].flags,
                                               msrs[i].val };
    }
    st->ncpuid = nl;
    st->nmsrs = nm;
    rc = 0;
out:
    free(leaves);
    free(msrs);
    xc_cpu_policy_destroy(p);
    return rc;
}

/* -- transparent state, as far as Xen 4.17 tells -- */

static int evtchn_query(void *user, uint32_t port, struct xen_evtchn_raw *out)
{
    struct xen_guest *x = user;
    xc_evtchn_status_t s;

    memset(&s, 0, sizeof(s));
    s.dom = (domid_t)x->domid;
    s.port = port;
    xen_call_begin(x);
    if (xc_evtchn_status(x->xch, &s) < 0) {
        if (errno == EINVAL) {
            return 1;      /* beyond the domain's ports */
        }
        return xen_fail(x, XMIG_ERR_IO, "EVTCHNOP_status");
    }
    out->port = port;
    out->status = s.status;
    out->vcpu = s.vcpu;
    if (s.status == EVTCHNSTAT_unbound) {
        out->remote_dom = s.u.unbound.dom;
    } else if (s.status == EVTCHNSTAT_interdomain) {
        out->remote_dom = s.u.interdomain.dom;
        out->remote_port = s.u.interdomain.port;
    } else if (s.status == EVTCHNSTAT_pirq) {
        out->number = s.u.pirq;
    } else if (s.status == EVTCHNSTAT_virq) {
        out->number = s.u.virq;
    }
    /* Pending and masked bits: not reported (see xen_transparent_source_gaps) */
    return 0;
}

/* Where the guest mapped its grant frames.  GNTTABOP_setup_table for
 * another domain is allowed from a control domain, and for a translated
 * guest returns each frame's gfn (Xen's M2P entry: INVALID for a frame
 * the guest has not mapped).  Asked for exactly the frames the table has,
 * it does not grow it.  Version 2's status frames likewise, from
 * GNTTABOP_get_status_frames.  Never called for a table of version 0,
 * which setup_table would set to 1. */
static int gnttab_gfns(struct xen_guest *x, int status, uint32_t nr,
                       uint64_t *out)
{
    DECLARE_HYPERCALL_BUFFER(uint64_t, frames);
    int16_t st;
    int rc;

    frames = xc_hypercall_buffer_alloc(x->xch, frames,
                                       (size_t)nr * sizeof(*frames));
    if (!frames) {
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "grant frame list");
    }
    xen_call_begin(x);
    if (!status) {
        struct gnttab_setup_table op;
        memset(&op, 0, sizeof(op));
        op.dom = (domid_t)x->domid;
        op.nr_frames = nr;
        /* xen_pfn_t is 64 bits on x86-64, as the buffer's type. */
        set_xen_guest_handle(op.frame_list, frames);
        rc = xc_gnttab_op(x->xch, GNTTABOP_setup_table, &op, sizeof(op), 1);
        st = op.status;
    } else {
        struct gnttab_get_status_frames op;
        memset(&op, 0, sizeof(op));
        op.dom = (domid_t)x->domid;
        op.nr_frames = nr;
        set_xen_guest_handle(op.frame_list, frames);
        rc = xc_gnttab_op(x->xch, GNTTABOP_get_status_frames, &op,
                          sizeof(op), 1);
        st = op.status;
    }
    if (rc < 0 || st != GNTST_okay) {
        xc_hypercall_buffer_free(x->xch, frames);
        if (rc < 0) {
            return xen_fail(x, XMIG_ERR_IO, status ? "GNTTABOP_get_status_"
                            "frames" : "GNTTABOP_setup_table");
        }
        return err_set(XMIG_ERR_IO, 0, "%s for domain %u: status %d",
                       status ? "GNTTABOP_get_status_frames"
                              : "GNTTABOP_setup_table", x->domid, st);
    }
    for (uint32_t i = 0; i < nr; i++) {
        out[i] = frames[i] < x->pfn_limit ? frames[i] : XMIG_GFN_INVALID;
    }
    xc_hypercall_buffer_free(x->xch, frames);
    return 0;
}

static int collect_gnttab(struct xen_guest *x, struct xmig_transparent_state *st)
{
    struct gnttab_query_size q;
    xenforeignmemory_resource_handle *shared = NULL, *status = NULL;
    void *sbase = NULL, *stbase = NULL;
    uint32_t nst = 0;
    int version, rc = -1;

    xen_call_begin(x);
    version = xc_gnttab_get_version(x->xch, x->domid);
    if (version < 0) {
        return xen_fail(x, XMIG_ERR_IO, "GNTTABOP_get_version");
    }
    memset(&q, 0, sizeof(q));
    q.dom = (domid_t)x->domid;
    xen_call_begin(x);
    if (xc_gnttab_query_size(x->xch, &q) < 0 || q.status != GNTST_okay) {
        return xen_fail(x, XMIG_ERR_IO, "GNTTABOP_query_size");
    }
    if (q.nr_frames == 0) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "domain %u has no grant "
                       "table frames", x->domid);
    }
    /* Exactly the frames the table has: acquiring more would grow it. */
    xen_call_begin(x);
    shared = xenforeignmemory_map_resource(
        x->fmem, (domid_t)x->domid, XENMEM_resource_grant_table,
        XENMEM_resource_grant_table_id_shared, 0, q.nr_frames, &sbase,
        PROT_READ, 0);
    if (!shared) {
        return xen_fail(x, XMIG_ERR_IO, "mapping the grant table frames");
    }
    if (version == 2) {
        nst = xen_gnttab_status_frames(q.nr_frames);
        xen_call_begin(x);
        status = xenforeignmemory_map_resource(
            x->fmem, (domid_t)x->domid, XENMEM_resource_grant_table,
            XENMEM_resource_grant_table_id_status, 0, nst, &stbase,
            PROT_READ, 0);
        if (!status) {
            xen_fail(x, XMIG_ERR_IO, "mapping the grant status frames");
            goto out;
        }
    }
    free(st->grants);
    st->grants = NULL;
    st->ngrants = 0;
    if (xen_gnttab_entries((uint32_t)version, sbase, q.nr_frames, stbase, nst,
                           &st->grants, &st->ngrants) < 0) {
        goto out;
    }
    free(st->gnt_frame_gfns);
    free(st->gnt_status_gfns);
    st->gnt_frame_gfns = calloc(q.nr_frames, sizeof(uint64_t));
    st->gnt_status_gfns = calloc(nst + 1, sizeof(uint64_t));
    if (!st->gnt_frame_gfns || !st->gnt_status_gfns) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "grant frame list");
        goto out;
    }
    if (gnttab_gfns(x, 0, q.nr_frames, st->gnt_frame_gfns) < 0 ||
        (nst && gnttab_gfns(x, 1, nst, st->gnt_status_gfns) < 0)) {
        goto out;
    }
    st->gnt_version = (uint32_t)version;
    st->gnt_nr_frames = q.nr_frames;
    st->gnt_max_frames = q.max_nr_frames;
    rc = 0;
out:
    if (status) {
        xenforeignmemory_unmap_resource(x->fmem, status);
    }
    xenforeignmemory_unmap_resource(x->fmem, shared);
    return rc;
}

struct xs_walk_ctx {
    struct xs_handle *xsh;
    xs_transaction_t t;
};

static char **xs_dir_cb(void *user, const char *path, unsigned int *num)
{
    struct xs_walk_ctx *c = user;

    return xs_directory(c->xsh, c->t, path, num);
}

static void *xs_read_cb(void *user, const char *path, unsigned int *len)
{
    struct xs_walk_ctx *c = user;

    return xs_read(c->xsh, c->t, path, len);
}

static struct xen_xs_raw_perm *xs_perms_cb(void *user, const char *path,
                                           unsigned int *num)
{
    struct xs_walk_ctx *c = user;
    struct xs_permissions *p = xs_get_permissions(c->xsh, c->t, path, num);
    struct xen_xs_raw_perm *raw;

    if (!p) {
        return NULL;
    }
    raw = calloc(*num ? *num : 1, sizeof(*raw));
    if (raw) {
        for (unsigned int i = 0; i < *num; i++) {
            raw[i].id = p[i].id;
            raw[i].perms = p[i].perms;
        }
    } else {
        errno = ENOMEM;
    }
    free(p);
    return raw;
}

static int collect_xenstore(struct xen_guest *x,
                            struct xmig_transparent_state *st)
{
    static const struct xen_xs_ops ops = { xs_dir_cb, xs_read_cb,
                                           xs_perms_cb };
    struct xs_walk_ctx c;
    int rc;

    c.xsh = xs_open(0);
    if (!c.xsh) {
        return err_set(XMIG_ERR_IO, errno, "connecting to xenstored");
    }
    /* One transaction: a consistent snapshot, aborted (read only). */
    c.t = xs_transaction_start(c.xsh);
    if (c.t == XBT_NULL) {
        rc = err_set(XMIG_ERR_IO, errno, "starting a xenstore transaction");
    } else {
        rc = xen_xs_walk(&ops, &c, (uint16_t)x->domid, st);
        (void)xs_transaction_end(c.xsh, c.t, true);
    }
    xs_close(c.xsh);
    return rc;
}

int xen_transparent_collect(struct xen_guest *x,
                            struct xmig_transparent_state *st)
{
    st->domid = (uint16_t)x->domid;
    if (xen_evtchn_collect(evtchn_query, x, XEN_EVTCHN_FIFO_PORTS - 1, st) <
            0 ||
        collect_gnttab(x, st) < 0 || collect_xenstore(x, st) < 0) {
        return -1;
    }
    st->flags = XMIG_TRANSPARENT_EVTCHN | XMIG_TRANSPARENT_GNTTAB |
                XMIG_TRANSPARENT_XENSTORE;
    return 0;
}

/* Gather what can be gathered (so that the parts that work are exercised
 * and logged), then refuse: the state would be incomplete. */
static int refuse_transparent(struct xen_guest *x)
{
    struct xmig_transparent_state *ts = xmig_transparent_state_create();

    if (!ts) {
        return -1;
    }
    if (xen_transparent_collect(x, ts) < 0) {
        xmig_transparent_state_free(ts);
        err_prefix("transparent migration of domain %u: ", x->domid);
        return -1;
    }
    log_msg(XMIG_LOG_INFO, "xen: domain %u: %u event channel ports, %u grant "
            "entries in %u frames (version %u, frame 0 at gfn %s0x%llx), %u "
            "xenstore nodes gathered; not enough for a transparent "
            "migration", x->domid, ts->nports, ts->ngrants,
            ts->gnt_nr_frames, ts->gnt_version,
            ts->gnt_frame_gfns[0] == XMIG_GFN_INVALID ? "(unmapped) " : "",
            (unsigned long long)ts->gnt_frame_gfns[0], ts->nnodes);
    xmig_transparent_state_free(ts);
    return err_set(XMIG_ERR_UNSUPPORTED, 0, "transparent migration of domain "
                   "%u is not possible from Xen 4.17: %s", x->domid,
                   xen_transparent_source_gaps);
}

int xen_get_state(struct xen_guest *x, int transparent,
                  struct guest_state *out)
{
    struct guest_state st;

    memset(&st, 0, sizeof(st));
    if (get_tsc(x, &st.tsc) < 0 || get_params(x, &st) < 0 ||
        get_context(x, &st) < 0 || get_policy(x, &st) < 0 ||
        (transparent && refuse_transparent(x) < 0) ||
        xen_dm_save(x) < 0) {   /* saved at the suspend; a no-op then */
        xen_put_state(&st);
        return -1;
    }
    xen_dm_take(x, &st);
    *out = st;
    return 0;
}

void xen_put_state(struct guest_state *st)
{
    free(st->params);
    free(st->hvm_context);
    free(st->cpuid);
    free(st->msrs);
    xmig_transparent_state_free(st->transparent);
    free(st->emulator_xenstore);
    free(st->emulator_context);
    memset(st, 0, sizeof(*st));
}

/* ---- destination ----------------------------------------------------- */

static int set_policy(struct xen_guest *x, const struct guest_state *st)
{
    xen_cpuid_leaf_t *leaves;
    xen_msr_entry_t *msrs;
    uint32_t el = ~0u, es = ~0u, em = ~0u;
    int rc = 0;

    if (!st->ncpuid && !st->nmsrs) {
        return 0;     /* a stream without policy: keep the toolstack's */
    }
    leaves = calloc(st->ncpuid + 1, sizeof(*leaves));
    msrs = calloc(st->nmsrs + 1, sizeof(*msrs));
    if (!leaves || !msrs) {
        free(leaves);
        free(msrs);
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "CPU policy");
    }
    for (uint32_t i = 0; i < st->ncpuid; i++) {
        const struct xmig_cpuid_leaf *l = &st->cpuid[i];
        leaves[i] = (xen_cpuid_leaf_t){ .leaf = l->leaf, .subleaf = l->subleaf,
                                        .a = l->a, .b = l->b, .c = l->c,
                                        .d = l->d };
    }
    for (uint32_t i = 0; i < st->nmsrs; i++) {
        msrs[i] = (xen_msr_entry_t){ .idx = st->msrs[i].idx,
                                     .flags = st->msrs[i].flags,
                                     .val = st->msrs[i].val };
    }
    xen_call_begin(x);
    if (xc_set_domain_cpu_policy(x->xch, x->domid, st->ncpuid, leaves,
                                 st->nmsrs, msrs, &el, &es, &em) < 0) {
        char what[96];
        snprintf(what, sizeof(what), "applying the CPU policy (refused: "
                 "leaf 0x%x/0x%x, MSR 0x%x)", el, es, em);
        rc = xen_fail(x, XMIG_ERR_UNSUPPORTED, what);
    }
    free(leaves);
    free(msrs);
    return rc;
}

static int set_params(struct xen_guest *x, const struct guest_state *st,
                      xen_pfn_t *store_gfn, xen_pfn_t *console_gfn)
{
    for (uint32_t i = 0; i < st->nparams; i++) {
        const struct xmig_hvm_param *p = &st->params[i];
        char what[64];

        xen_call_begin(x);
        switch (p->index) {
        case HVM_PARAM_PAE_ENABLED:
            continue;       /* obsolete; Xen's restorer drops it too */
        case HVM_PARAM_STORE_PFN:
        case HVM_PARAM_CONSOLE_PFN:
        case HVM_PARAM_IOREQ_PFN:
        case HVM_PARAM_BUFIOREQ_PFN:
            /* Rings the source's backends used: start them empty. */
            if (p->index == HVM_PARAM_STORE_PFN) {
                *store_gfn = p->value;
            } else if (p->index == HVM_PARAM_CONSOLE_PFN) {
                *console_gfn = p->value;
            }
            if (xc_clear_domain_page(x->xch, x->domid, p->value) < 0) {
                snprintf(what, sizeof(what), "clearing the page of HVM "
                         "parameter %llu", (unsigned long long)p->index);
                return xen_fail(x, XMIG_ERR_IO, what);
            }
            break;
        default:
            break;
        }
        if (p->index > UINT32_MAX ||
            xc_hvm_param_set(x->xch, x->domid, (uint32_t)p->index,
                             p->value) < 0) {
            snprintf(what, sizeof(what), "setting HVM parameter %llu",
                     (unsigned long long)p->index);
            return xen_fail(x, XMIG_ERR_IO, what);
        }
    }
    return 0;
}

/* The toolstack told xenstored and xenconsoled where the domain's rings
 * are; the guest resumes using the rings its stream says.  They must be
 * the same pages, or neither daemon would ever hear from the guest. */
static int rings_match(const struct xen_guest *x, const struct guest_state *st)
{
    for (uint32_t i = 0; i < st->nparams; i++) {
        const struct xmig_hvm_param *p = &st->params[i];
        uint64_t want = p->index == HVM_PARAM_STORE_PFN     ? x->adopt.store_gfn
                        : p->index == HVM_PARAM_CONSOLE_PFN ? x->adopt.console_gfn
                                                            : 0;
        if (want && p->value != want) {
            return err_set(XMIG_ERR_UNSUPPORTED, 0, "restoring domain %u: "
                           "the stream's %s ring is at pfn 0x%llx, but the "
                           "domain was built with it at 0x%llx (a different "
                           "memory layout: was it created from the same "
                           "configuration?)", x->domid,
                           p->index == HVM_PARAM_STORE_PFN ? "xenstore"
                                                           : "console",
                           (unsigned long long)p->value,
                           (unsigned long long)want);
        }
    }
    return 0;
}

int xen_set_state(struct xen_guest *x, const struct guest_state *st)
{
    xen_pfn_t store_gfn = (xen_pfn_t)-1, console_gfn = (xen_pfn_t)-1;

    if (!x->incoming || x->state_set) {
        return err_set(XMIG_ERR_USAGE, 0, "domain %u: state can be set once, "
                       "in an adopted domain", x->domid);
    }
    /* Refuse before touching anything: never a partial restore. */
    if (st->transparent && st->transparent->flags) {
        if (xen_transparent_restorable(st->transparent) < 0) {
            err_prefix("restoring domain %u: ", x->domid);
            return -1;
        }
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "restoring domain %u: the "
                       "stream carries transparent state (flags 0x%x) that "
                       "Xen 4.17 could restore in principle, but the xen "
                       "backend does not restore transparent state yet; "
                       "nothing was applied", x->domid,
                       st->transparent->flags);
    }
    if (!st->hvm_context || !st->hvm_context_len) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "restoring domain %u: the "
                       "stream held no HVM context", x->domid);
    }
    if (rings_match(x, st) < 0) {
        return -1;
    }
    /* The order of Xen's restorer: CPU policy (static data), TSC, the
     * parameters, the toolstack's ports, the HVM context, then the grant
     * entries of the xenstore and console rings.  A failure leaves a
     * paused domain that the engine discards. */
    if (set_policy(x, st) < 0) {
        return -1;
    }
    xen_call_begin(x);
    if (xc_domain_set_tsc_info(x->xch, x->domid, st->tsc.mode, st->tsc.nsec,
                               st->tsc.khz, st->tsc.incarnation) < 0) {
        return xen_fail(x, XMIG_ERR_IO, "xc_domain_set_tsc_info");
    }
    if (set_params(x, st, &store_gfn, &console_gfn) < 0) {
        return -1;
    }
    xen_call_begin(x);
    if ((x->adopt.store_port &&
         xc_hvm_param_set(x->xch, x->domid, HVM_PARAM_STORE_EVTCHN,
                          x->adopt.store_port) < 0) ||
        (x->adopt.console_port &&
         xc_hvm_param_set(x->xch, x->domid, HVM_PARAM_CONSOLE_EVTCHN,
                          x->adopt.console_port) < 0)) {
        return xen_fail(x, XMIG_ERR_IO, "setting the store/console ports");
    }
    xen_call_begin(x);
    if (xc_domain_hvm_setcontext(x->xch, x->domid, st->hvm_context,
                                 st->hvm_context_len) < 0) {
        return xen_fail(x, XMIG_ERR_PROTOCOL, "xc_domain_hvm_setcontext");
    }
    if (store_gfn != (xen_pfn_t)-1 || console_gfn != (xen_pfn_t)-1) {
        xen_call_begin(x);
        if (xc_dom_gnttab_seed(x->xch, x->domid, true, console_gfn, store_gfn,
                               x->adopt.console_domid,
                               x->adopt.store_domid) < 0) {
            return xen_fail(x, XMIG_ERR_IO, "seeding the grant table");
        }
    }
    x->state_set = 1;
    return 0;
}
