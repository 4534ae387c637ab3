/*
 * Pure conversions between what Xen 4.17's interfaces report and xmig's
 * transparent state (include/xmig/transparent.h).  Nothing here includes a
 * Xen header or calls a Xen library: the callers in xen_state.c copy Xen's
 * structures into the small "raw" structures below, so these functions
 * build (and are unit-tested, tests/test_xen.c) on any machine, with or
 * without libxen-dev, and run on fake inputs.  Also declared here: the
 * backend's internal entry points that the real backend (xen_backend.c)
 * and the stub (xen_absent.c) both define.
 */
#ifndef XMIG_BACKENDS_XEN_CONVERT_H
#define XMIG_BACKENDS_XEN_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "xmig.h"
#include "xmig/transparent.h"

#define XEN_PAGE 4096u
#define XEN_DOMID_FIRST_RESERVED 0x7FF0u
#define XEN_NR_VIRQS 24u
#define XEN_EVTCHN_2L_PORTS 4096u      /* 64 x 64 bits on x86-64 */
#define XEN_EVTCHN_FIFO_PORTS 131072u  /* EVTCHN_FIFO_NR_CHANNELS */

/* ---- event channels -------------------------------------------------- */

/* One port as EVTCHNOP_status reports it (struct evtchn_status), plus the
 * pending and masked bits where the caller knows them. */
struct xen_evtchn_raw {
    uint32_t port;
    uint32_t status;        /* EVTCHNSTAT_*: 0 closed .. 5 IPI */
    uint32_t vcpu;
    uint16_t remote_dom;    /* unbound: u.unbound.dom; interdomain */
    uint32_t remote_port;   /* interdomain: u.interdomain.port */
    uint32_t number;        /* PIRQ: u.pirq; VIRQ: u.virq */
    int pending, masked;
};

/* 1 with *out filled for an open port, 0 for a closed one, -1 (error set)
 * when the report cannot be carried (an unknown state, a reserved domid,
 * a VIRQ beyond NR_VIRQS, a vCPU beyond 4095). */
int xen_evtchn_from_raw(const struct xen_evtchn_raw *raw,
                        struct xmig_evtchn_port *out);

/* Ask about one port of the domain: 0 with *out filled, 1 when the port
 * lies beyond the ports the domain has (EVTCHNOP_status says EINVAL),
 * -1 on error (error set). */
typedef int (*xen_evtchn_query_fn)(void *user, uint32_t port,
                                   struct xen_evtchn_raw *out);

/* Every open port from 1 up, until the domain has no more or `limit`
 * (at most XEN_EVTCHN_FIFO_PORTS - 1): st->ports (ascending), nports,
 * evtchn_max_port (the highest port the domain has room for), and
 * evtchn_abi: FIFO when a port lies beyond the 2-level range, else
 * 2-level, which Xen 4.17 gives no way to confirm (see
 * docs/xen-backend.md).  Replaces st's ports. */
int xen_evtchn_collect(xen_evtchn_query_fn query, void *user, uint32_t limit,
                       struct xmig_transparent_state *st);

/* ---- grant table ----------------------------------------------------- */

/* The entries in use of a grant table from its frames as
 * XENMEM_resource_grant_table maps them: `shared` holds nr_frames pages
 * of grant_entry_v1_t (version 1, 512 a page) or grant_entry_v2_t
 * (version 2, 256 a page); `status` holds nr_status_frames pages of
 * 16-bit status words (version 2 only).  An entry is in use when any of
 * its octets, or its status word, is nonzero.  *out is malloc'd (free()).
 */
int xen_gnttab_entries(uint32_t version, const uint8_t *shared,
                       uint32_t nr_frames, const uint8_t *status,
                       uint32_t nr_status_frames,
                       struct xmig_grant_entry **out, uint32_t *count);

/* Status frames a version 2 table of nr_frames shared frames has. */
uint32_t xen_gnttab_status_frames(uint32_t nr_frames);

/* ---- xenstore -------------------------------------------------------- */

/* struct xs_permissions: a domid and XS_PERM_* bits. */
struct xen_xs_raw_perm {
    uint32_t id;
    uint32_t perms;
};

#define XEN_XS_PERM_READ 0x01u      /* XS_PERM_READ */
#define XEN_XS_PERM_WRITE 0x02u     /* XS_PERM_WRITE */
#define XEN_XS_PERM_IGNORE 0x10u    /* XS_PERM_IGNORE: stale */

/* 'n', 'r', 'w' or 'b', the stale flag, the domid; -1 for a domid that
 * names no ordinary domain. */
int xen_xs_perm_from_raw(const struct xen_xs_raw_perm *raw,
                         struct xmig_xs_perm *out);

/* Path order (spec section 2.4): octet by octet, '/' below every other
 * octet, a prefix before what it prefixes. */
int xen_xs_path_cmp(const char *a, const char *b);

/* How the walker reads xenstore.  Each returns memory the walker releases
 * with free() (as libxenstore's calls do: xs_directory's array and its
 * strings are one block), or NULL with errno set. */
struct xen_xs_ops {
    char **(*directory)(void *user, const char *path, unsigned int *num);
    void *(*read)(void *user, const char *path, unsigned int *len);
    struct xen_xs_raw_perm *(*perms)(void *user, const char *path,
                                     unsigned int *num);
};

#define XEN_XS_MAX_NODES 65536u

/* The domain's home, /local/domain/<domid>, and everything below it, into
 * st->nodes: values, permissions, parents first, in path order.  Replaces
 * st's nodes. */
int xen_xs_walk(const struct xen_xs_ops *ops, void *user, uint16_t domid,
                struct xmig_transparent_state *st);

/* ---- restore --------------------------------------------------------- */

/* Can stock Xen 4.17 restore this transparent state at all (spec section
 * 10)?  0 when it can in principle; -1 with an UNSUPPORTED error naming
 * the record and the missing ability when it cannot. */
int xen_transparent_restorable(const struct xmig_transparent_state *st);

/* What a Xen 4.17 sender cannot report, for the error get_state gives
 * when transparent state is asked for. */
extern const char xen_transparent_source_gaps[];

/* ---- memory and scheduling -------------------------------------------- */

/* Copy Xen's log-dirty bitmap (bit i of the little-endian octet string =
 * pfn i, as XEN_DOMCTL_SHADOW_OP_CLEAN fills its unsigned longs on x86)
 * into xmig's 64-bit words, dropping bits at or beyond nr_pfns; returns
 * how many bits are set. */
uint64_t xen_bitmap_take(const void *xen_bits, uint64_t nr_pfns,
                         uint64_t *bitmap);

/* The scheduler cap (percent of one physical CPU for the whole domain,
 * 0 = none) that slows `vcpus` vCPUs by `percent`, never looser than the
 * cap the domain had (orig_cap, 0 = none).  percent 0 gives orig_cap. */
unsigned xen_throttle_cap(unsigned percent, uint32_t vcpus,
                          unsigned orig_cap);

/* ---- what xmig can carry -------------------------------------------- */

/* What a guest needs that decides whether xmig can move it, from libxl's
 * domain config (the running domain's, or the one a stream carries) and,
 * on a source, from the hypervisor.  Plain values, no libxl types, so that
 * the decision below is unit-tested without Xen. */
enum xen_carry_type {
    XEN_CARRY_TYPE_UNKNOWN = 0,
    XEN_CARRY_TYPE_HVM,        /* libxl "hvm": always has a device model */
    XEN_CARRY_TYPE_PVH,
    XEN_CARRY_TYPE_PV,
};

enum xen_carry_dm {
    XEN_CARRY_DM_DEFAULT = 0,  /* not said: libxl's default, qemu-xen */
    XEN_CARRY_DM_QEMU_XEN,
    XEN_CARRY_DM_TRADITIONAL,
};

struct xen_carry_facts {
    enum xen_carry_type type;
    enum xen_carry_dm dm;         /* meaningful for HVM */
    int stubdom;                  /* the device model runs in a stub domain */
    uint32_t pci_devs;            /* PCI devices passed through */
    uint64_t target_kb, max_kb;   /* memory and maxmem (0: not said) */
    uint64_t pod_entries;         /* Xen's populate-on-demand entries */
    uint32_t acpi_s_state;        /* HVM_PARAM_ACPI_S_STATE: 3 = S3 sleep */
    int dm_carried;               /* the stream goes to libxl, and xmig
                                   * carries qemu-xen's state in it */
};

/* 0 when xmig can carry everything the guest has; else -1 with one
 * UNSUPPORTED line "<who> <what it has>: <why xmig cannot carry it>",
 * checked in this order: PV, a device model (stub domain, qemu-traditional,
 * qemu-xen), PCI passthrough, populate-on-demand, ACPI sleep.  `who` is
 * e.g. "domain 5" or "the stream's guest". */
int xen_carry_refusal(const struct xen_carry_facts *f, const char *who);

/* ---- destination ------------------------------------------------------ */

/* What the toolstack that created a destination domain allocated for it
 * (libxl passes the same to xc_domain_restore). */
struct xen_adopt_params {
    uint32_t store_port;      /* the xenstore port in the new domain; 0: none */
    uint32_t console_port;    /* the console port; 0: none */
    uint16_t store_domid;     /* where xenstored runs (usually 0) */
    uint16_t console_domid;   /* where xenconsoled runs (usually 0) */
    /* The gfns of the xenstore and console rings the toolstack wired up
     * (HVM_PARAM_STORE_PFN, _CONSOLE_PFN); 0: none.  A stream whose rings
     * are elsewhere is refused: xenstored and xenconsoled would not see
     * them. */
    uint64_t store_gfn, console_gfn;
};

/* A paused domain that a toolstack created to restore into, by domid:
 * xmig fills its memory (populate), sets its state and unpauses it
 * (commit), or destroys it (discard).  p may be NULL (no xenstore or
 * console port to wire up). */
struct xmig_guest *xen_guest_adopt(uint32_t domid,
                                   const struct xen_adopt_params *p);

/* 1 when the backend is built against Xen's libraries, 0 for the stub. */
int xen_backend_built(void);

#endif
