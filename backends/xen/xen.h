/*
 * The xen backend: x86 HVM (and PVH) guests of a Xen 4.17 host, through
 * libxenctrl, libxenguest (CPU policy, grant seeding), libxenforeignmemory
 * and libxenstore.  Built only when configure finds libxen-dev; Xen's
 * public headers want GNU C, so these files compile with -std=gnu11.
 * docs/xen-backend.md says what is implemented and what was exercised
 * against a real hypervisor.
 */
#ifndef XMIG_BACKENDS_XEN_H
#define XMIG_BACKENDS_XEN_H

#include <xenctrl.h>
#include <xenforeignmemory.h>
#include <xentoollog.h>

#include "backends/xen/xen_convert.h"
#include "libxmig/backend.h"

#define XEN_BATCH 1024u      /* pages the engine hands over at once */
#define XEN_MAX_MAPS 8       /* source mappings alive at once */

/* A xentoollog logger that keeps libxc's last complaint for our errors
 * instead of printing it. */
struct xen_logger {
    xentoollog_logger vtable;
    char last[256];
};

struct xen_guest {
    struct xmig_guest base;
    uint32_t domid;
    int incoming;              /* adopted to restore into */
    struct xen_logger log;
    xc_interface *xch;
    xenforeignmemory_handle *fmem;

    uint64_t nr_pfns;
    uint32_t vcpus;
    uint32_t xen_major, xen_minor;
    uint64_t pfn_limit;        /* 1 << (gpaddr_bits - 12) */

    int paused;                /* paused by xmig */
    int suspended;             /* suspended (shut down for suspend) by xmig */
    int suspend_pending;       /* asked, not suspended, may still do so */
    char *config_json;         /* the toolstack's config, once asked for */
    char away_from[128];       /* the name given up at handover, or "" */
    int logdirty;              /* log-dirty mode switched on by xmig */
    int dm_allowed;            /* opened for a stream libxl restores */
    int dm;                    /* HVM with qemu-xen, its state carried */
    int dm_logdirty;           /* qemu's global dirty log on by xmig */
    int dm_stopped;            /* qemu stopped by xmig */
    uint8_t *dm_xenstore;      /* its saved state, record bodies, until */
    uint32_t dm_xenstore_len;  /* get_state hands them to the stream */
    uint8_t *dm_context;
    uint32_t dm_context_len;
    xc_hypercall_buffer_t dirty_hbuf;
    void *dirty_bits;          /* hypercall memory, dirty_pages pages */
    int dirty_pages;

    /* throttling by scheduler cap: 0 not yet, 1 credit, 2 credit2 */
    int sched;
    int capped;
    uint16_t orig_cap;

    /* source mappings */
    struct {
        void *base;
        uint32_t n;
    } maps[XEN_MAX_MAPS];
    xen_pfn_t arr[XEN_BATCH];
    xen_pfn_t types[XEN_BATCH];
    uint32_t idx[XEN_BATCH];
    int errs[XEN_BATCH];
    uint64_t holes;            /* pfns at which Xen has no memory (XTAB) */

    /* destination */
    struct xen_adopt_params adopt;
    uint64_t populated;        /* pfns xmig populated */
    uint64_t released;         /* builder pages given back at holes */
    uint64_t **owned;          /* pfns xmig took over: chunks of 2^15 bits */
    uint64_t nchunks;
    void *pop_base;            /* the last populate()'s mapping */
    uint32_t pop_n;
    int state_set, committed;
};

void xen_logger_init(struct xen_logger *l);

/* XEN_DOMCTL_getpageframeinfo3: the types of a batch of pfns (XTAB for a
 * hole), in place.  libxenctrl 4.17 exports it (VERS_4.17.0, for
 * libxenguest's saver) but declares it only in its private header. */
int xc_get_pfn_type_batch(xc_interface *xch, uint32_t dom, unsigned int num,
                          xen_pfn_t *arr);

/* Fail with libxc's errno and last message:
 * "<what> (domain D): <strerror>[; libxc: <message>]". */
int xen_fail(struct xen_guest *x, enum xmig_error_category cat,
             const char *what);
void xen_call_begin(struct xen_guest *x);

/* xen_state.c */
int xen_get_state(struct xen_guest *x, int transparent,
                  struct guest_state *out);
void xen_put_state(struct guest_state *st);
int xen_set_state(struct xen_guest *x, const struct guest_state *st);
/* What Xen 4.17 lets a sender gather of the domain's transparent state:
 * ports (EVTCHNOP_status), grant entries (XENMEM_resource_grant_table),
 * the xenstore home.  Never complete (xen_transparent_source_gaps). */
int xen_transparent_collect(struct xen_guest *x,
                            struct xmig_transparent_state *st);

/* xc_domain_getinfolist for this domain alone: 0, or -1 (error set). */
int xen_domain_info(struct xen_guest *x, xc_domaininfo_t *di);

/* xen_suspend.c: a source stops (suspends itself) and resumes.  The wait
 * honours x->base.cancel.  xen_suspend_settle resumes a guest that
 * suspended after xmig had given up on it (on unpause and release). */
int xen_suspend(struct xen_guest *x);
int xen_resume(struct xen_guest *x);
int xen_suspended_yet(struct xen_guest *x);
void xen_suspend_settle(struct xen_guest *x);

/* xen_carry.c: 0, or -1 with one UNSUPPORTED line naming what xmig cannot
 * carry.  A source domain, before anything touches it; a stream's domain
 * config, before any domain is built for it. */
int xen_source_check(struct xen_guest *x);
int xen_incoming_check(const char *config_json, int *by_libxl);

/* xen_restore.c: an HVM guest with qemu-xen, restored by libxl from the
 * stream the engine feeds it (backend op feed); named `name`, else as
 * its config says (NAME--incoming while NAME is taken). */
struct xmig_guest *xen_restore_start(const char *config_json,
                                     const char *name);
uint32_t xen_restore_domid(struct xmig_guest *g);  /* 0: not one of those */

/* xen_toolstack.c: what libxl does for xmig; 0 or -1 with the error set */
int xen_ts_config_json(uint32_t domid, char **json);      /* malloc'd */
int xen_ts_domid(const char *name_or_id, uint32_t *domid);
int xen_ts_create_paused(const char *json, const char *name,
                         uint32_t *domid);
int xen_ts_rename(uint32_t domid, const char *name);
int xen_ts_name(uint32_t domid, char *name, size_t len);
int xen_ts_destroy(uint32_t domid);
/* What decides whether xmig can carry the guest (xen_carry_refusal), from
 * a running domain's libxl config or from a stream's JSON config. */
int xen_ts_facts_domain(uint32_t domid, struct xen_carry_facts *f);
int xen_ts_facts_json(const char *json, struct xen_carry_facts *f);

/* qemu-xen, the device model of an HVM guest (xen_dm.c). */
int xen_dm_logdirty(struct xen_guest *x, int on);
int xen_dm_save(struct xen_guest *x);
void xen_dm_take(struct xen_guest *x, struct guest_state *st);
int xen_dm_cont(struct xen_guest *x);

#endif
