/*
 * The xen backend's ops table: a live x86 HVM (or PVH) domain of the Xen
 * 4.17 host this process runs in (the control domain), as a migration
 * source (xmig_xen_guest_open) or as the destination a toolstack created
 * (xen_guest_adopt).  Memory goes through libxenforeignmemory, log-dirty
 * through XEN_DOMCTL_shadow_op, pause and scheduling through libxenctrl.
 * State (registers, parameters, TSC, CPU policy, transparent state) is in
 * xen_state.c.  docs/xen-backend.md has the whole story.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "backends/xen/xen.h"

#include <xenstore.h>
#include <xen/hvm/params.h>

#include "common/error.h"
#include "common/log.h"

#define PAGE XEN_PAGE
#define OWNED_SHIFT 15      /* owned-pfn bitmap chunks: 2^15 pfns, 4 KiB */

static struct xen_guest *xg(struct xmig_guest *g)
{
    return (struct xen_guest *)g;
}

int xen_backend_built(void)
{
    return 1;
}

/* ---- logging and errors ---------------------------------------------- */

static void log_vmessage(xentoollog_logger *l, xentoollog_level level,
                         int errnoval, const char *context,
                         const char *format, va_list al)
    __attribute__((format(printf, 5, 0)));

static void log_vmessage(xentoollog_logger *l, xentoollog_level level,
                         int errnoval, const char *context,
                         const char *format, va_list al)
{
    struct xen_logger *lg = (struct xen_logger *)l;

    (void)errnoval;
    (void)context;
    if (level < XTL_WARN) {
        return;
    }
    vsnprintf(lg->last, sizeof(lg->last), format, al);
    lg->last[strcspn(lg->last, "\n")] = '\0';
    if (level == XTL_WARN) {
        log_msg(XMIG_LOG_WARNING, "xen: %s", lg->last);
    }
}

static void log_destroy(xentoollog_logger *l)
{
    (void)l;
}

void xen_logger_init(struct xen_logger *l)
{
    memset(l, 0, sizeof(*l));
    l->vtable.vmessage = log_vmessage;
    l->vtable.progress = NULL;
    l->vtable.destroy = log_destroy;
}

void xen_call_begin(struct xen_guest *x)
{
    x->log.last[0] = '\0';
    errno = 0;
}

int xen_fail(struct xen_guest *x, enum xmig_error_category cat,
             const char *what)
{
    int e = errno;

    /* err_set appends ": <strerror(e)>" itself. */
    return err_set(cat, e, "%s (domain %u)%s%s%s%s", what, x->domid,
                   e ? "" : ": failed", x->log.last[0] ? " (libxc: " : "",
                   x->log.last, x->log.last[0] ? ")" : "");
}

/* ---- opening --------------------------------------------------------- */

static const struct backend_ops xen_ops;

/* Is this a Xen control domain at all?  Asked before libxc, which would
 * otherwise only say that it could not open privcmd. */
static int xen_probe(void)
{
    if (access("/proc/xen", F_OK) == 0 ||
        access("/dev/xen/privcmd", F_OK) == 0) {
        return 0;
    }
    return err_set(XMIG_ERR_UNSUPPORTED, 0, "no Xen hypervisor here: "
                   "/proc/xen missing (and no /dev/xen/privcmd): this system "
                   "is not running as a Xen control domain");
}

int xen_domain_info(struct xen_guest *x, xc_domaininfo_t *di)
{
    int n;

    xen_call_begin(x);
    n = xc_domain_getinfolist(x->xch, x->domid, 1, di);
    if (n < 0) {
        return xen_fail(x, XMIG_ERR_IO, "xc_domain_getinfolist");
    }
    if (n == 0 || di->domain != x->domid) {
        return err_set(XMIG_ERR_USAGE, ENOENT, "no domain %u on this host",
                       x->domid);
    }
    return 0;
}

static int load_info(struct xen_guest *x)
{
    xc_domaininfo_t di;
    xen_pfn_t gpfns = 0;
    unsigned bits;
    int v;

    if (xen_domain_info(x, &di) < 0) {
        return -1;
    }
    if (!(di.flags & XEN_DOMINF_hvm_guest)) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "domain %u is a PV guest: PV "
                       "guests are not supported; use xl", x->domid);
    }
    if (di.flags & (XEN_DOMINF_dying | XEN_DOMINF_shutdown)) {
        return err_set(XMIG_ERR_USAGE, 0, "domain %u is %s", x->domid,
                       di.flags & XEN_DOMINF_dying ? "dying" : "shut down");
    }
    if (x->incoming && !(di.flags & XEN_DOMINF_paused)) {
        return err_set(XMIG_ERR_USAGE, 0, "domain %u is not paused: only a "
                       "paused domain that a toolstack created to restore "
                       "into can be adopted", x->domid);
    }
    if (!x->incoming) {
        xen_call_begin(x);
        if (xc_domain_nr_gpfns(x->xch, x->domid, &gpfns) < 0) {
            return xen_fail(x, XMIG_ERR_IO, "xc_domain_nr_gpfns");
        }
        x->nr_pfns = gpfns;
    }
    x->vcpus = di.max_vcpu_id == XEN_INVALID_MAX_VCPU_ID
                   ? 0
                   : di.max_vcpu_id + 1;
    bits = di.gpaddr_bits;
    if (bits < 32 || bits > 52) {
        bits = 52;
    }
    x->pfn_limit = UINT64_C(1) << (bits - 12);
    if (!x->incoming && x->nr_pfns > x->pfn_limit) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "domain %u reports %llu "
                       "pfns, beyond its %u-bit physical address space",
                       x->domid, (unsigned long long)x->nr_pfns, bits);
    }
    xen_call_begin(x);
    v = xc_version(x->xch, XENVER_version, NULL);
    if (v < 0) {
        return xen_fail(x, XMIG_ERR_IO, "xc_version");
    }
    x->xen_major = (uint32_t)v >> 16;
    x->xen_minor = (uint32_t)v & 0xFFFF;
    return 0;
}

static void release(struct xen_guest *x);

static struct xen_guest *xen_new(uint32_t domid, int incoming)
{
    struct xen_guest *x;

    if (domid == 0 || domid >= XEN_DOMID_FIRST_RESERVED) {
        err_set(XMIG_ERR_USAGE, 0, "xen guest: domid %u: 1 to %u "
                "(domain 0 and the reserved domids cannot be migrated)",
                domid, XEN_DOMID_FIRST_RESERVED - 1);
        return NULL;
    }
    if (xen_probe() < 0) {
        return NULL;
    }
    x = calloc(1, sizeof(*x));
    if (!x) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "xen guest");
        return NULL;
    }
    x->base.ops = &xen_ops;
    x->domid = domid;
    x->incoming = incoming;
    xen_logger_init(&x->log);
    x->dirty_hbuf.ubuf = (void *)-1;
    xen_call_begin(x);
    x->xch = xc_interface_open(&x->log.vtable, &x->log.vtable, 0);
    if (!x->xch) {
        int e = errno;
        err_set(XMIG_ERR_UNSUPPORTED, e, "no Xen hypervisor here: "
                "xc_interface_open failed%s%s%s", x->log.last[0] ? " (libxc: "
                                                                 : "",
                x->log.last, x->log.last[0] ? ")" : "");
        free(x);
        return NULL;
    }
    x->fmem = xenforeignmemory_open(&x->log.vtable, 0);
    if (!x->fmem) {
        xen_fail(x, XMIG_ERR_IO, "xenforeignmemory_open");
        release(x);
        return NULL;
    }
    if (load_info(x) < 0) {
        release(x);
        return NULL;
    }
    return x;
}

/* A source is checked before anything touches it: what xmig cannot carry
 * (xen_source_check) is refused here, the domain left as it was. */
static struct xmig_guest *open_source(uint32_t domid, int dm_allowed)
{
    struct xen_guest *x = xen_new(domid, 0);

    if (x) {
        x->dm_allowed = dm_allowed;
    }
    if (x && xen_source_check(x) < 0) {
        release(x);
        return NULL;
    }
    return x ? &x->base : NULL;
}

struct xmig_guest *xmig_xen_guest_open(uint32_t domid)
{
    return open_source(domid, 0);
}

/* For a stream libxl restores (xl restore of a file, xl migrate-receive):
 * an HVM guest with qemu-xen is carried, its device state in the
 * EMULATOR records; xmig's own destinations refuse those. */
struct xmig_guest *xmig_xen_guest_open_for_libxl(uint32_t domid)
{
    return open_source(domid, 1);
}

struct xmig_guest *xen_guest_adopt(uint32_t domid,
                                   const struct xen_adopt_params *p)
{
    struct xen_guest *x = xen_new(domid, 1);

    if (!x) {
        return NULL;
    }
    if (p) {
        x->adopt = *p;
    }
    return &x->base;
}

/* ---- source: memory -------------------------------------------------- */

static int xen_info(struct xmig_guest *g, struct guest_info *out)
{
    struct xen_guest *x = xg(g);

    /* Asked again when a save or migration starts (before its first byte):
     * a held domain may have changed since it was opened (a PCI device
     * hot-plugged, a sleep). */
    if (!x->incoming && (load_info(x) < 0 || xen_source_check(x) < 0)) {
        return -1;
    }
    out->guest_type = XMIG_DOMAIN_X86_HVM;
    out->nr_pfns = x->nr_pfns;
    out->vcpus = x->vcpus;
    out->domid = (uint16_t)x->domid;
    out->xen_major = x->xen_major;
    out->xen_minor = x->xen_minor;
    return 0;
}

static int batch_ok(struct xen_guest *x, const uint64_t *pfns, uint32_t n)
{
    if (n > XEN_BATCH) {
        return err_set(XMIG_ERR_USAGE, EINVAL, "xen backend: %u pages at "
                       "once, at most %u", n, XEN_BATCH);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (pfns[i] >= x->pfn_limit) {
            return err_set(XMIG_ERR_PROTOCOL, 0, "pfn 0x%llx is beyond domain "
                           "%u's physical address space",
                           (unsigned long long)pfns[i], x->domid);
        }
        x->arr[i] = (xen_pfn_t)pfns[i];
    }
    return 0;
}

static int xen_map(struct xmig_guest *g, const uint64_t *pfns, uint32_t n,
                   const void **pages)
{
    struct xen_guest *x = xg(g);
    int slot = -1, mapped = 0;
    uint32_t k = 0;
    uint8_t *base;

    for (int i = 0; i < XEN_MAX_MAPS && slot < 0; i++) {
        slot = x->maps[i].base ? -1 : i;
    }
    if (slot < 0) {
        return err_set(XMIG_ERR_LIMIT, 0, "xen backend: more than %d page "
                       "batches mapped at once", XEN_MAX_MAPS);
    }
    if (n == 0) {
        return 0;
    }
    if (batch_ok(x, pfns, n) < 0) {
        return -1;
    }
    /* Holes first, by type, as Xen's saver does: one domctl per batch is
     * far cheaper than mapping a run of holes only to see each page fail
     * (a guest's pfn range is mostly holes below the special pages).
     * Should the call fail, every pfn is mapped and holes found that way. */
    memcpy(x->types, x->arr, (size_t)n * sizeof(x->types[0]));
    xen_call_begin(x);
    if (xc_get_pfn_type_batch(x->xch, x->domid, n, x->types) < 0) {
        memset(x->types, 0, (size_t)n * sizeof(x->types[0]));
    }
    for (uint32_t i = 0; i < n; i++) {
        xen_pfn_t type = x->types[i] & XEN_DOMCTL_PFINFO_LTAB_MASK;
        pages[i] = NULL;
        if (type == XEN_DOMCTL_PFINFO_XTAB) {
            x->holes++;
            continue;
        }
        if (type == XEN_DOMCTL_PFINFO_BROKEN) {
            return err_set(XMIG_ERR_IO, EIO, "pfn 0x%llx of domain %u is "
                           "broken (a memory error Xen has isolated): xmig "
                           "does not migrate such guests",
                           (unsigned long long)pfns[i], x->domid);
        }
        x->idx[k] = i;
        x->arr[k++] = (xen_pfn_t)pfns[i];
    }
    if (k == 0) {
        return 0;
    }
    xen_call_begin(x);
    base = xenforeignmemory_map(x->fmem, x->domid, PROT_READ, k, x->arr,
                                x->errs);
    if (!base) {
        return xen_fail(x, XMIG_ERR_IO, "mapping guest pages");
    }
    for (uint32_t j = 0; j < k; j++) {
        uint32_t i = x->idx[j];
        if (x->errs[j] == 0) {
            pages[i] = base + (size_t)j * PAGE;
            mapped++;
        } else if (x->errs[j] == -EINVAL) {
            /* No RAM at this gfn (a hole, MMIO): XTAB in the stream. */
            x->holes++;
        } else {
            int e = -x->errs[j];
            xenforeignmemory_unmap(x->fmem, base, k);
            return err_set(XMIG_ERR_IO, e, "mapping pfn 0x%llx of domain "
                           "%u%s", (unsigned long long)pfns[i], x->domid,
                           e == ENOENT ? " (paged out or shared: xmig "
                                         "does not migrate such guests)"
                                       : "");
        }
    }
    if (!mapped) {
        xenforeignmemory_unmap(x->fmem, base, k);
        return 0;
    }
    x->maps[slot].base = base;
    x->maps[slot].n = k;
    return 0;
}

static void xen_unmap(struct xmig_guest *g, const void **pages, uint32_t n)
{
    struct xen_guest *x = xg(g);

    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = pages[i];
        if (!p) {
            continue;   /* a hole */
        }
        for (int s = 0; s < XEN_MAX_MAPS; s++) {
            const uint8_t *b = x->maps[s].base;
            if (b && p >= b && p < b + (size_t)x->maps[s].n * PAGE) {
                xenforeignmemory_unmap(x->fmem, x->maps[s].base,
                                       x->maps[s].n);
                x->maps[s].base = NULL;
                x->maps[s].n = 0;
                return;
            }
        }
    }
}

/* ---- source: log-dirty ---------------------------------------------- */

static void free_bitmap(struct xen_guest *x)
{
    if (x->dirty_bits) {
        xc__hypercall_buffer_free_pages(x->xch, &x->dirty_hbuf,
                                        x->dirty_pages);
    }
    memset(&x->dirty_hbuf, 0, sizeof(x->dirty_hbuf));
    x->dirty_hbuf.ubuf = (void *)-1;
    x->dirty_bits = NULL;
    x->dirty_pages = 0;
}

static int ensure_bitmap(struct xen_guest *x)
{
    uint64_t bytes = (x->nr_pfns + 63) / 64 * 8;
    uint64_t pages = (bytes + PAGE - 1) / PAGE;

    if (pages == 0) {
        pages = 1;
    }
    if (x->dirty_bits && (uint64_t)x->dirty_pages >= pages) {
        return 0;
    }
    free_bitmap(x);
    if (pages > INT32_MAX) {
        return err_set(XMIG_ERR_LIMIT, 0, "a log-dirty bitmap for %llu pfns",
                       (unsigned long long)x->nr_pfns);
    }
    xen_call_begin(x);
    x->dirty_bits = xc__hypercall_buffer_alloc_pages(x->xch, &x->dirty_hbuf,
                                                     (int)pages);
    if (!x->dirty_bits) {
        return xen_fail(x, XMIG_ERR_NOMEM, "allocating the log-dirty bitmap");
    }
    x->dirty_pages = (int)pages;
    return 0;
}

static int shadow_op(struct xen_guest *x, unsigned int op)
{
    return xc_shadow_control(x->xch, x->domid, op, NULL, 0);
}

/* XEN_DOMCTL_SHADOW_OP_CLEAN into dirty_bits: the bits since the last
 * one, and a fresh start. */
static int logdirty_clean(struct xen_guest *x)
{
    xc_shadow_op_stats_t stats;
    long long rc;

    memset(&stats, 0, sizeof(stats));
    xen_call_begin(x);
    rc = xc_logdirty_control(x->xch, x->domid, XEN_DOMCTL_SHADOW_OP_CLEAN,
                             &x->dirty_hbuf, x->nr_pfns,
                             x->paused || x->suspended
                                 ? XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL
                                 : 0,
                             &stats);
    if (rc < 0) {
        return xen_fail(x, XMIG_ERR_IO, "reading the log-dirty bitmap");
    }
    if ((uint64_t)rc != x->nr_pfns) {
        return err_set(XMIG_ERR_IO, 0, "reading the log-dirty bitmap (domain "
                       "%u): Xen covered %lld of %llu pfns", x->domid, rc,
                       (unsigned long long)x->nr_pfns);
    }
    return 0;
}

static int xen_logdirty_enable(struct xmig_guest *g, int on)
{
    struct xen_guest *x = xg(g);

    if (!on) {
        int rc = 0;
        if (x->logdirty) {
            xen_call_begin(x);
            x->logdirty = 0;
            if (shadow_op(x, XEN_DOMCTL_SHADOW_OP_OFF) < 0) {
                rc = xen_fail(x, XMIG_ERR_IO, "switching log-dirty mode off");
            }
        }
        /* qemu's own dirty log after Xen's, as libxl's saver does. */
        if (xen_dm_logdirty(x, 0) < 0) {
            rc = -1;
        }
        return rc;
    }
    /* qemu first: its writes into guest RAM are reported only while its
     * global dirty log is on. */
    if (ensure_bitmap(x) < 0 || xen_dm_logdirty(x, 1) < 0) {
        return -1;
    }
    xen_call_begin(x);
    if (shadow_op(x, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY) < 0) {
        /* Already on (qemu tracks VRAM that way): off, then on again. */
        xen_call_begin(x);
        if (shadow_op(x, XEN_DOMCTL_SHADOW_OP_OFF) < 0 ||
            shadow_op(x, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY) < 0) {
            return xen_fail(x, XMIG_ERR_IO, "switching log-dirty mode on");
        }
    }
    x->logdirty = 1;
    return logdirty_clean(x);   /* every page clean from here */
}

static int xen_logdirty_read_clear(struct xmig_guest *g, uint64_t *bitmap,
                                   uint64_t *count)
{
    struct xen_guest *x = xg(g);

    if (!x->logdirty) {
        return err_set(XMIG_ERR_USAGE, 0, "log-dirty mode is off for domain "
                       "%u", x->domid);
    }
    if (logdirty_clean(x) < 0) {
        return -1;
    }
    *count = xen_bitmap_take(x->dirty_bits, x->nr_pfns, bitmap);
    return 0;
}

/* ---- source: run control (the suspend: xen_suspend.c) ----------------- */

static int xen_pause(struct xmig_guest *g)
{
    struct xen_guest *x = xg(g);

    if (!x->incoming) {
        if (x->suspended) {
            return 0;
        }
        /* As libxl: the device model is stopped and saved as part of the
         * suspend, before the last memory pass and the HVM context, so
         * that its last writes into guest RAM are sent. */
        if (xen_suspend(x) < 0) {
            return -1;
        }
        if (xen_dm_save(x) < 0) {
            /* Not paused as far as the engine knows: back as it was. */
            struct err_state *why = err_stash();
            if (xen_dm_cont(x) < 0 || xen_resume(x) < 0) {
                log_msg(XMIG_LOG_WARNING, "xen: domain %u could not be "
                        "resumed after its device model failed: %s",
                        x->domid, xmig_error_message());
            }
            err_unstash(why);
            return -1;
        }
        return 0;
    }
    xen_call_begin(x);
    if (xc_domain_pause(x->xch, x->domid) < 0) {
        return xen_fail(x, XMIG_ERR_IO, "pausing");
    }
    x->paused = 1;
    return 0;
}

/* A suspended source runs on: its suspend call returns "cancelled" (1),
 * and it carries on in this domain with its connections as they were. */
static int xen_unpause(struct xmig_guest *g)
{
    struct xen_guest *x = xg(g);

    if (x->suspended) {
        /* The device model goes on before the domain, as libxl resumes. */
        if (xen_dm_cont(x) < 0) {
            return -1;
        }
        return xen_resume(x);
    }
    xen_suspend_settle(x);   /* one that suspended after xmig gave up */
    xen_call_begin(x);
    if (!x->paused) {
        return 0;
    }
    if (xc_domain_unpause(x->xch, x->domid) < 0) {
        return xen_fail(x, XMIG_ERR_IO, "unpausing");
    }
    x->paused = 0;
    return 0;
}

static int cap_get(struct xen_guest *x, uint16_t *cap)
{
    struct xen_domctl_sched_credit2 c2;
    struct xen_domctl_sched_credit c1;

    memset(&c2, 0, sizeof(c2));
    memset(&c1, 0, sizeof(c1));
    xen_call_begin(x);
    if (x->sched != 1 && xc_sched_credit2_domain_get(x->xch, x->domid,
                                                     &c2) == 0) {
        x->sched = 2;
        *cap = c2.cap;
        return 0;
    }
    if (x->sched != 2 && xc_sched_credit_domain_get(x->xch, x->domid,
                                                    &c1) == 0) {
        x->sched = 1;
        *cap = c1.cap;
        return 0;
    }
    return err_set(XMIG_ERR_UNSUPPORTED, 0, "throttling domain %u: its "
                   "scheduler is neither credit2 nor credit, so xmig has no "
                   "cap to slow it with (migrate without auto-converge)",
                   x->domid);
}

static int cap_set(struct xen_guest *x, uint16_t cap)
{
    int rc;

    xen_call_begin(x);
    if (x->sched == 2) {
        struct xen_domctl_sched_credit2 c2;
        memset(&c2, 0, sizeof(c2));
        rc = xc_sched_credit2_domain_get(x->xch, x->domid, &c2);
        c2.cap = cap;
        rc = rc < 0 ? rc : xc_sched_credit2_domain_set(x->xch, x->domid, &c2);
    } else {
        struct xen_domctl_sched_credit c1;
        memset(&c1, 0, sizeof(c1));
        rc = xc_sched_credit_domain_get(x->xch, x->domid, &c1);
        c1.cap = cap;
        rc = rc < 0 ? rc : xc_sched_credit_domain_set(x->xch, x->domid, &c1);
    }
    return rc < 0 ? xen_fail(x, XMIG_ERR_IO, "setting the scheduler cap") : 0;
}

/* An approximation: a scheduler cap of (100 - percent)% of one physical
 * CPU per vCPU, for the whole domain.  A guest that already uses less CPU
 * than that is not slowed at all. */
/* After a failed migration: is the source still there to run on?  A
 * triple fault turns into SHUTDOWN_reboot, and xl then builds the guest
 * anew under another id: the old one is gone with its state. */
static int xen_alive(struct xmig_guest *g)
{
    struct xen_guest *x = xg(g);
    xc_domaininfo_t di;
    unsigned reason;

    if (xen_domain_info(x, &di) < 0) {
        return err_set(XMIG_ERR_IO, ESRCH, "domain %u is gone: destroyed, "
                       "or rebuilt by its toolstack after a crash or reboot "
                       "(xl dmesg may say which)", x->domid);
    }
    if (di.flags & XEN_DOMINF_dying) {
        return err_set(XMIG_ERR_IO, ESRCH, "domain %u is being destroyed",
                       x->domid);
    }
    reason = (di.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask;
    if ((di.flags & XEN_DOMINF_shutdown) && reason != SHUTDOWN_suspend) {
        return err_set(XMIG_ERR_IO, 0, "domain %u has shut down (%s) during "
                       "the migration", x->domid,
                       reason == SHUTDOWN_crash    ? "it crashed"
                       : reason == SHUTDOWN_reboot ? "a reboot or triple fault"
                       : reason == SHUTDOWN_poweroff ? "powered off"
                                                     : "another reason");
    }
    return 0;
}

static int xen_throttle(struct xmig_guest *g, unsigned percent)
{
    struct xen_guest *x = xg(g);
    uint16_t cap = 0;

    if (!x->capped && percent == 0) {
        return 0;
    }
    if (!x->capped) {
        if (cap_get(x, &cap) < 0) {
            return -1;
        }
        x->orig_cap = cap;
    }
    if (cap_set(x, (uint16_t)xen_throttle_cap(percent, x->vcpus,
                                              x->orig_cap)) < 0) {
        return -1;
    }
    x->capped = percent != 0;
    return 0;
}

static int xen_state(struct xmig_guest *g, int transparent,
                     struct guest_state *out)
{
    return xen_get_state(xg(g), transparent, out);
}

static void xen_state_put(struct xmig_guest *g, struct guest_state *st)
{
    (void)g;
    xen_put_state(st);
}

/* ---- destination ----------------------------------------------------- */

static void release_populated(struct xen_guest *x)
{
    if (x->pop_base) {
        xenforeignmemory_unmap(x->fmem, x->pop_base, x->pop_n);
        x->pop_base = NULL;
        x->pop_n = 0;
    }
}

static int mark_owned(struct xen_guest *x, uint64_t pfn)
{
    uint64_t chunk = pfn >> OWNED_SHIFT, bit = pfn & ((1u << OWNED_SHIFT) - 1);
    uint64_t mask = UINT64_C(1) << (bit % 64);
    int old;

    if (chunk >= x->nchunks) {
        uint64_t more = chunk + 1 > x->nchunks * 2 ? chunk + 1 : x->nchunks * 2;
        uint64_t **grown = realloc(x->owned, more * sizeof(*grown));
        if (!grown) {
            return err_set(XMIG_ERR_NOMEM, ENOMEM, "owned-pfn bitmap");
        }
        memset(grown + x->nchunks, 0, (more - x->nchunks) * sizeof(*grown));
        x->owned = grown;
        x->nchunks = more;
    }
    if (!x->owned[chunk]) {
        x->owned[chunk] = calloc(1u << (OWNED_SHIFT - 6), sizeof(uint64_t));
        if (!x->owned[chunk]) {
            return err_set(XMIG_ERR_NOMEM, ENOMEM, "owned-pfn bitmap");
        }
    }
    old = (x->owned[chunk][bit / 64] & mask) != 0;
    x->owned[chunk][bit / 64] |= mask;
    return old;
}

/* The first time xmig writes a pfn, the page the toolstack's builder put
 * there (kernel, initrd, or just RAM, in superpages) is given back and a
 * fresh 4 KiB page populated, as Xen's restorer populates an empty domain:
 * the guest's memory is then made only of what the stream says, laid out
 * as after xl restore.  The xenstore and console rings stay: xenstored
 * and xenconsoled already hold them. */
static int take_over(struct xen_guest *x, uint32_t nf)
{
    uint32_t nr = 0;

    memcpy(x->types, x->arr, (size_t)nf * sizeof(x->types[0]));
    xen_call_begin(x);
    if (xc_get_pfn_type_batch(x->xch, x->domid, nf, x->types) < 0) {
        return xen_fail(x, XMIG_ERR_IO, "asking which pfns have memory");
    }
    for (uint32_t i = 0; i < nf; i++) {
        if ((x->types[i] & XEN_DOMCTL_PFINFO_LTAB_MASK) !=
            XEN_DOMCTL_PFINFO_XTAB) {
            x->types[nr++] = x->arr[i];   /* populated: release it */
        }
    }
    xen_call_begin(x);
    if (nr && xc_domain_decrease_reservation_exact(x->xch, x->domid, nr, 0,
                                                   x->types) < 0) {
        return xen_fail(x, XMIG_ERR_IO, "releasing the builder's pages");
    }
    xen_call_begin(x);
    if (xc_domain_populate_physmap_exact(x->xch, x->domid, nf, 0, 0,
                                         x->arr) < 0) {
        return xen_fail(x, XMIG_ERR_NOMEM, "populating guest memory");
    }
    x->populated += nf;
    return 0;
}

/* Writable pages for the batch, fresh the first time (take_over).  They
 * stay mapped until the next populate(), set_state(), commit() or
 * discard(): the engine writes them right after the call. */
static int xen_populate(struct xmig_guest *g, const uint64_t *pfns,
                        uint32_t n, void **pages)
{
    struct xen_guest *x = xg(g);
    uint32_t nf = 0;
    uint8_t *base;

    if (!x->incoming || x->state_set) {
        return err_set(XMIG_ERR_USAGE, 0, "domain %u: pages can be populated "
                       "only in an adopted domain before its state is set",
                       x->domid);
    }
    release_populated(x);
    if (n == 0) {
        return 0;
    }
    if (batch_ok(x, pfns, n) < 0) {
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        int old = mark_owned(x, pfns[i]);
        if (old < 0) {
            return -1;
        }
        if (!old && pfns[i] != x->adopt.store_gfn &&
            pfns[i] != x->adopt.console_gfn) {
            x->arr[nf++] = (xen_pfn_t)pfns[i];
        }
    }
    if (nf && take_over(x, nf) < 0) {
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        x->arr[i] = (xen_pfn_t)pfns[i];
    }
    xen_call_begin(x);
    base = xenforeignmemory_map(x->fmem, x->domid, PROT_READ | PROT_WRITE,
                                n, x->arr, x->errs);
    if (!base) {
        return xen_fail(x, XMIG_ERR_IO, "mapping guest pages to restore");
    }
    for (uint32_t i = 0; i < n; i++) {
        if (x->errs[i]) {
            int e = -x->errs[i];
            xenforeignmemory_unmap(x->fmem, base, n);
            return err_set(XMIG_ERR_IO, e, "mapping pfn 0x%llx of domain %u "
                           "to restore it", (unsigned long long)pfns[i],
                           x->domid);
        }
        pages[i] = base + (size_t)i * PAGE;
    }
    x->pop_base = base;
    x->pop_n = n;
    return 0;
}

/* Holes in the stream (XTAB) where the builder put memory: given back,
 * unless the stream wrote the pfn before (a later round's hole; Xen's
 * restorer never frees either) or it is a ring xenstored or xenconsoled
 * holds.  Without this a ballooned guest would come back larger. */
static int xen_unpopulate(struct xmig_guest *g, const uint64_t *pfns,
                          uint32_t n)
{
    struct xen_guest *x = xg(g);
    uint32_t nf = 0, nr = 0;

    if (!x->incoming || x->state_set) {
        return err_set(XMIG_ERR_USAGE, 0, "domain %u: memory can be given "
                       "back only in an adopted domain before its state is "
                       "set", x->domid);
    }
    if (batch_ok(x, pfns, n) < 0) {
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        int old = mark_owned(x, pfns[i]);
        if (old < 0) {
            return -1;
        }
        if (!old && pfns[i] != x->adopt.store_gfn &&
            pfns[i] != x->adopt.console_gfn) {
            x->arr[nf++] = (xen_pfn_t)pfns[i];
        }
    }
    if (!nf) {
        return 0;
    }
    memcpy(x->types, x->arr, (size_t)nf * sizeof(x->types[0]));
    xen_call_begin(x);
    if (xc_get_pfn_type_batch(x->xch, x->domid, nf, x->types) < 0) {
        return xen_fail(x, XMIG_ERR_IO, "asking which pfns have memory");
    }
    for (uint32_t i = 0; i < nf; i++) {
        if ((x->types[i] & XEN_DOMCTL_PFINFO_LTAB_MASK) !=
            XEN_DOMCTL_PFINFO_XTAB) {
            x->types[nr++] = x->arr[i];
        }
    }
    xen_call_begin(x);
    if (nr && xc_domain_decrease_reservation_exact(x->xch, x->domid, nr, 0,
                                                   x->types) < 0) {
        return xen_fail(x, XMIG_ERR_IO, "giving back the builder's pages at "
                        "the stream's holes");
    }
    x->released += nr;
    return 0;
}

static int xen_set(struct xmig_guest *g, const struct guest_state *st)
{
    struct xen_guest *x = xg(g);

    release_populated(x);
    return xen_set_state(x, st);
}

static int xen_commit(struct xmig_guest *g)
{
    struct xen_guest *x = xg(g);

    if (!x->incoming || !x->state_set) {
        return err_set(XMIG_ERR_USAGE, 0, "domain %u: %s", x->domid,
                       x->incoming ? "its state has not been set: it cannot "
                                     "run"
                                   : "a migration source cannot be "
                                     "committed");
    }
    release_populated(x);
    xen_call_begin(x);
    if (xc_domain_unpause(x->xch, x->domid) < 0) {
        return xen_fail(x, XMIG_ERR_IO, "unpausing the restored guest");
    }
    x->committed = 1;
    log_msg(XMIG_LOG_INFO, "xen: domain %u runs: %llu pages populated from "
            "the stream, %llu builder pages given back at its holes; grants "
            "seeded for xenstored in domain %u, xenconsoled in domain %u",
            x->domid, (unsigned long long)x->populated,
            (unsigned long long)x->released, x->adopt.store_domid,
            x->adopt.console_domid);
    return 0;
}

/* Drop xmig's hold on the domain: the scheduler cap and log-dirty mode it
 * set are undone, the domain itself is left as it is (a source paused
 * after a migration stays paused, for the toolstack to destroy). */
static void release(struct xen_guest *x)
{
    if (x->xch && !x->incoming) {
        xen_suspend_settle(x);
    }
    free(x->dm_xenstore);
    free(x->dm_context);
    if (x->capped) {
        (void)cap_set(x, x->orig_cap);
        x->capped = 0;
    }
    if (x->logdirty) {
        (void)shadow_op(x, XEN_DOMCTL_SHADOW_OP_OFF);
        x->logdirty = 0;
    }
    for (int s = 0; s < XEN_MAX_MAPS; s++) {
        if (x->maps[s].base) {
            xenforeignmemory_unmap(x->fmem, x->maps[s].base, x->maps[s].n);
        }
    }
    if (x->fmem) {
        release_populated(x);
    }
    if (x->xch) {
        free_bitmap(x);
    }
    free(x->config_json);
    for (uint64_t c = 0; c < x->nchunks; c++) {
        free(x->owned[c]);
    }
    free(x->owned);
    if (x->fmem) {
        xenforeignmemory_close(x->fmem);
    }
    if (x->xch) {
        xc_interface_close(x->xch);
    }
    free(x);
}

/* A half-restored domain goes, with what the toolstack set up for it. */
static void xen_discard(struct xmig_guest *g)
{
    struct xen_guest *x = xg(g);

    if (!x) {
        return;
    }
    if (x->incoming && !x->committed) {
        release_populated(x);
        if (xen_ts_destroy(x->domid) < 0) {
            log_msg(XMIG_LOG_WARNING, "xen: %s; trying xc_domain_destroy",
                    xmig_error_message());
            xen_call_begin(x);
            if (xc_domain_destroy(x->xch, x->domid) < 0) {
                xen_fail(x, XMIG_ERR_IO, "destroying the half-restored "
                         "domain");
                log_msg(XMIG_LOG_WARNING, "xen: %s", xmig_error_message());
            }
        }
    }
    release(x);
}

static void xen_destroy(struct xmig_guest *g)
{
    if (g) {
        release(xg(g));
    }
}

/* libxl's view of the domain, as xl save writes it into its header. */
static int xen_domain_config(struct xmig_guest *g, const char **json)
{
    struct xen_guest *x = xg(g);

    if (!x->config_json && xen_ts_config_json(x->domid, &x->config_json) < 0) {
        return -1;
    }
    *json = x->config_json;
    return 0;
}

/* The destination builds the guest as NAME--incoming and takes NAME once
 * it may run; the source meanwhile goes by NAME--migratedaway, and takes
 * its name back if the guest runs on here after all (xl's convention, so
 * that an xl migrate-receive can be the destination). */
static int xen_handover(struct xmig_guest *g, int abort)
{
    struct xen_guest *x = xg(g);
    char away[160];

    if (abort) {
        if (x->away_from[0] && xen_ts_rename(x->domid, x->away_from) < 0) {
            log_msg(XMIG_LOG_WARNING, "xen: %s", xmig_error_message());
        }
        x->away_from[0] = '\0';
        return 0;
    }
    if (xen_ts_name(x->domid, x->away_from, sizeof(x->away_from)) < 0) {
        x->away_from[0] = '\0';
        return -1;
    }
    snprintf(away, sizeof(away), "%s--migratedaway", x->away_from);
    if (xen_ts_rename(x->domid, away) < 0) {
        x->away_from[0] = '\0';
        return -1;
    }
    return 0;
}

/* ---- the public entry points beyond opening --------------------------- */

static struct xen_guest *xen_of(struct xmig_guest *g, const char *what)
{
    if (!g || g->ops != &xen_ops) {
        err_set(XMIG_ERR_USAGE, EINVAL, "%s: not a xen guest", what);
        return NULL;
    }
    return xg(g);
}

int xmig_xen_domain_lookup(const char *name, uint32_t *domid)
{
    if (xen_probe() < 0) {
        return -1;
    }
    return xen_ts_domid(name, domid);
}

uint32_t xmig_xen_guest_domid(struct xmig_guest *g)
{
    return g && g->ops == &xen_ops ? xg(g)->domid : xen_restore_domid(g);
}

int xmig_xen_domain_rename(uint32_t domid, const char *name)
{
    return xen_probe() < 0 ? -1 : xen_ts_rename(domid, name);
}

int xmig_xen_guest_destroy_domain(struct xmig_guest *g)
{
    struct xen_guest *x = xen_of(g, "destroying a domain");
    int rc;

    if (!x) {
        return -1;
    }
    release_populated(x);
    rc = xen_ts_destroy(x->domid);
    release(x);
    return rc;
}

/* Where xenstored and xenconsoled run, as libxl reads it when it builds a
 * domain (/tool/xenstored/domid, /tool/xenconsoled/domid; absent: dom0),
 * for the grant entries seeded for the rings.  A stub-domain xenstored
 * maps the store ring through its grant, so the entry must name it. */
static uint16_t backend_domid(struct xs_handle *xs, const char *path)
{
    unsigned len = 0;
    char *v = xs ? xs_read(xs, XBT_NULL, path, &len) : NULL, *end;
    unsigned long d = 0;

    if (v && len > 0) {
        errno = 0;
        d = strtoul(v, &end, 10);
        if (errno || *end || d >= XEN_DOMID_FIRST_RESERVED) {
            log_msg(XMIG_LOG_WARNING, "xen: %s holds '%s', not a domid: "
                    "taking domain 0", path, v);
            d = 0;
        }
    }
    free(v);
    return (uint16_t)d;
}

/* The destination of a restore or migration (an xmig_guest_factory). */
struct xmig_guest *xmig_xen_guest_incoming(void *target,
                                           const char *config_json,
                                           uint64_t max_memkb)
{
    const struct xmig_xen_target *t = target;
    struct xen_adopt_params ap;
    struct xmig_guest *g;
    struct xen_guest *probe;
    xc_domaininfo_t di;
    uint32_t domid = t ? t->domid : 0;
    uint64_t v[4] = { 0, 0, 0, 0 };
    static const uint32_t which[4] = { HVM_PARAM_STORE_EVTCHN,
                                       HVM_PARAM_CONSOLE_EVTCHN,
                                       HVM_PARAM_STORE_PFN,
                                       HVM_PARAM_CONSOLE_PFN };
    int created = 0, by_libxl = 0;

    if (xen_probe() < 0) {
        return NULL;
    }
    /* What the stream's guest needs, before any domain is built for it. */
    if (config_json && config_json[0] &&
        xen_incoming_check(config_json, &by_libxl) < 0) {
        return NULL;
    }
    if (by_libxl) {
        if (domid) {
            err_set(XMIG_ERR_UNSUPPORTED, 0, "the stream's guest is an HVM "
                    "guest with qemu-xen: libxl restores it into a domain "
                    "it builds, not into domain %u created beforehand", domid);
            return NULL;
        }
        return xen_restore_start(config_json, t ? t->name : NULL);
    }
    if (!domid) {
        if (!config_json || !config_json[0]) {
            err_set(XMIG_ERR_UNSUPPORTED, 0, "the stream carries no domain "
                    "config to build the domain from (restore into one "
                    "created beforehand instead)");
            return NULL;
        }
        if (xen_ts_create_paused(config_json, t ? t->name : NULL, &domid) <
            0) {
            return NULL;
        }
        created = 1;
    }
    /* The ports and ring pages the toolstack wired to xenstored and
     * xenconsoled when it built the domain. */
    probe = (struct xen_guest *)xen_guest_adopt(domid, NULL);
    if (!probe) {
        goto fail;
    }
    for (int i = 0; i < 4; i++) {
        xen_call_begin(probe);
        if (xc_hvm_param_get(probe->xch, domid, which[i], &v[i]) < 0) {
            xen_fail(probe, XMIG_ERR_IO, "reading the domain's xenstore and "
                     "console parameters");
            xen_destroy(&probe->base);
            goto fail;
        }
    }
    memset(&ap, 0, sizeof(ap));
    ap.store_port = (uint32_t)v[0];
    ap.console_port = (uint32_t)v[1];
    ap.store_gfn = v[2];
    ap.console_gfn = v[3];
    {
        struct xs_handle *xs = xs_open(0);
        ap.store_domid = backend_domid(xs, "/tool/xenstored/domid");
        ap.console_domid = backend_domid(xs, "/tool/xenconsoled/domid");
        if (xs) {
            xs_close(xs);
        }
    }
    probe->adopt = ap;
    if (xen_domain_info(probe, &di) < 0) {
        xen_destroy(&probe->base);
        goto fail;
    }
    if (di.max_pages * 4 < max_memkb) {
        err_set(XMIG_ERR_NOMEM, 0, "domain %u may have %llu KiB of memory, "
                "the guest needs %llu KiB: was it created from the same "
                "configuration?", domid,
                (unsigned long long)di.max_pages * 4,
                (unsigned long long)max_memkb);
        xen_destroy(&probe->base);
        goto fail;
    }
    g = &probe->base;
    return g;
fail:
    if (created) {
        struct err_state *why = err_stash();
        if (xen_ts_destroy(domid) < 0) {
            log_msg(XMIG_LOG_WARNING, "xen: %s", xmig_error_message());
        }
        err_unstash(why);
        err_prefix("restoring into the new domain %u (destroyed again): ",
                   domid);
    }
    return NULL;
}

static const struct backend_ops xen_ops = {
    .name = "xen",
    .info = xen_info,
    .map = xen_map,
    .unmap = xen_unmap,
    .zero_pages = NULL,
    .logdirty_enable = xen_logdirty_enable,
    .logdirty_read_clear = xen_logdirty_read_clear,
    .pause = xen_pause,
    .unpause = xen_unpause,
    .alive = xen_alive,
    .throttle = xen_throttle,
    .get_state = xen_state,
    .put_state = xen_state_put,
    .domain_config = xen_domain_config,
    .handover = xen_handover,
    .digest = NULL,
    .populate = xen_populate,
    .populate_keeps_data = 1,
    .unpopulate = xen_unpopulate,
    .set_state = xen_set,
    .commit = xen_commit,
    .discard = xen_discard,
    .destroy = xen_destroy,
};
