/*
 * The seam between the migration engine and a hypervisor: one ops table.
 * A backend (sim, xen) implements it for the guests it knows; the engine
 * never looks behind it.  All calls return 0 or -1 with the xmig error set.
 */
#ifndef XMIG_LIBXMIG_BACKEND_H
#define XMIG_LIBXMIG_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "xmig.h"

/* Code that touches a running guest's RAM, which the guest's CPUs write
 * at the same time (the source's pre-copy reads, a sim vCPU's stores):
 * racy by design, made safe by dirty tracking that ThreadSanitizer cannot
 * see (mprotect, or the hypervisor's log), so left out of its
 * instrumentation. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GUEST_RAM_ACCESS __attribute__((no_sanitize("thread")))
#endif
#endif
#if !defined(GUEST_RAM_ACCESS) && defined(__SANITIZE_THREAD__)
#define GUEST_RAM_ACCESS __attribute__((no_sanitize("thread")))
#endif
#ifndef GUEST_RAM_ACCESS
#define GUEST_RAM_ACCESS
#endif

struct xmig_guest;

struct guest_info {
    uint32_t guest_type;      /* XMIG_DOMAIN_X86_HVM */
    uint64_t nr_pfns;         /* guest physical pages, pfn 0 .. nr_pfns-1 */
    uint32_t vcpus;
    uint16_t domid;
    uint32_t xen_major, xen_minor;
};

/* Guest state the stream carries besides memory. */
struct guest_state {
    struct xmig_tsc_info tsc;
    struct xmig_hvm_param *params;
    uint32_t nparams;
    uint8_t *hvm_context;     /* the HVM_CONTEXT blob */
    uint32_t hvm_context_len;
    struct xmig_cpuid_leaf *cpuid;
    uint32_t ncpuid;
    struct xmig_msr_entry *msrs;
    uint32_t nmsrs;
    struct xmig_transparent_state *transparent;   /* NULL unless asked */
    /* A device model's state, as libxl writes it after the libxc END:
     * whole record bodies (the emulator id and index first), NULL when
     * the guest has none.  xenstore keys only when there are any. */
    uint8_t *emulator_xenstore;
    uint32_t emulator_xenstore_len;
    uint8_t *emulator_context;
    uint32_t emulator_context_len;
};

struct backend_ops {
    const char *name;

    /* ---- source ---- */
    int (*info)(struct xmig_guest *g, struct guest_info *out);
    /* Pointers to the guest's pages (valid until unmap), one per pfn;
     * NULL for a pfn at which the guest has no memory (a hole, MMIO),
     * which goes as XTAB: no data, nothing populated at the destination.
     * (A backend with holes and a digest must digest them as zeros.) */
    int (*map)(struct xmig_guest *g, const uint64_t *pfns, uint32_t n,
               const void **pages);
    void (*unmap)(struct xmig_guest *g, const void **pages, uint32_t n);
    /* Optional: bits for the pfns of [first, first+n) known to be zero
     * without reading them (never written), so they need not be touched. */
    int (*zero_pages)(struct xmig_guest *g, uint64_t first, uint32_t n,
                      uint64_t *bitmap);
    /* Log-dirty: start tracking (all pages clean), then read-and-clear:
     * bits of pfns written since the last call; returns how many. */
    int (*logdirty_enable)(struct xmig_guest *g, int on);
    int (*logdirty_read_clear)(struct xmig_guest *g, uint64_t *bitmap,
                               uint64_t *count);
    int (*pause)(struct xmig_guest *g);
    int (*unpause)(struct xmig_guest *g);
    /* Optional: 0 while the guest still exists and runs (or is paused by
     * us); -1 with the error set when it is gone or has shut down behind
     * the engine's back (a crash, a reboot its toolstack turned into a new
     * domain), so that a failure does not claim it runs on. */
    int (*alive)(struct xmig_guest *g);
    /* Slow vCPUs down by percent (0 = full speed). */
    int (*throttle)(struct xmig_guest *g, unsigned percent);
    /* State at the moment of pause (the guest is paused). */
    int (*get_state)(struct xmig_guest *g, int transparent,
                     struct guest_state *out);
    void (*put_state)(struct xmig_guest *g, struct guest_state *st);
    /* Optional: the toolstack's domain configuration (libxl JSON) for the
     * xl header, owned by the backend; *json NULL (or no op): the engine
     * writes a minimal one (type, name, memory, vCPUs). */
    int (*domain_config)(struct xmig_guest *g, const char **json);
    /* Optional, live migrations: the destination holds the whole guest
     * and waits for the go-ahead.  Called just before it is sent (xen: the
     * source gives up its name, as xl does, for the destination to take),
     * and with abort = 1 when the guest then runs on here after all. */
    int (*handover)(struct xmig_guest *g, int abort);
    /* Optional: an integrity digest of everything the guest holds, to
     * prove the destination equal (sim); NULL when the backend has none. */
    int (*digest)(struct xmig_guest *g, uint8_t out[32]);

    /* ---- destination ---- */
    /* Writable pointers for the given pfns (populating them). */
    int (*populate)(struct xmig_guest *g, const uint64_t *pfns, uint32_t n,
                    void **pages);
    /* Nonzero when populate() may hand back pages that already hold data
     * (xen: the toolstack built the domain as for a boot, kernel and
     * initrd in its RAM): the engine then clears allocate-only pages,
     * which must read as zeros. */
    int populate_keeps_data;
    /* Optional: pfns the stream says have no memory (XTAB).  A destination
     * whose builder put memory there (xen: a domain built as for a boot)
     * gives back what the stream never wrote, so that the guest has the
     * source's memory size; pages already written stay. */
    int (*unpopulate)(struct xmig_guest *g, const uint64_t *pfns,
                      uint32_t n);
    int (*set_state)(struct xmig_guest *g, const struct guest_state *st);
    /* Optional, instead of populate and set_state's content: the guest is
     * built by its toolstack from the stream itself (xen: an HVM guest
     * with qemu-xen, which libxl restores).  Every octet after the xl
     * header, in order, as the engine's reader validates it; set_state
     * (with no state) then ends the stream and waits for the toolstack,
     * and commit lets the guest run. */
    int (*feed)(struct xmig_guest *g, const uint8_t *octets, size_t n);
    /* The guest runs here from now on. */
    int (*commit)(struct xmig_guest *g);
    /* Throw a half-built guest away. */
    void (*discard)(struct xmig_guest *g);
    void (*destroy)(struct xmig_guest *g);
};

struct xmig_guest {
    const struct backend_ops *ops;
    void *impl;
    /* The running save or migration's cancel flag (set by the engine for
     * its duration, else NULL), for a backend's long waits (xen: the
     * guest suspending itself). */
    struct xmig_cancel *cancel;
};

#endif
