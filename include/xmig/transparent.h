/*
 * Transparent (non-cooperative) migration records: event channels, grant
 * table and xenstore state, defined by xmig (docs/specs/
 * transparent-migration-records.md).  Wire types and decoded views; views
 * point into the reader's buffer and are read through the accessors in
 * xmig.h.
 */
#ifndef XMIG_TRANSPARENT_H
#define XMIG_TRANSPARENT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* xmig's block of record types: 0x786D00xx ("xm"), mandatory (bit 31
 * clear) so that a receiver that cannot honour them fails. */
#define XMIG_LIBXC_TRANSPARENT 0x786D0001u
#define XMIG_LIBXC_EVTCHN_PORTS 0x786D0002u
#define XMIG_LIBXC_EVTCHN_FIFO 0x786D0003u
#define XMIG_LIBXC_GRANT_TABLE 0x786D0004u
#define XMIG_LIBXC_GRANT_MAPS 0x786D0005u
/* Optional (bit 31 set): a digest of the guest's RAM and state records,
 * by which an xmig destination proves its copy equal before it resumes. */
#define XMIG_LIBXC_DIGEST 0xF86D0006u
#define XMIG_LIBXL_TRANSPARENT 0x786D0010u
#define XMIG_LIBXL_XENSTORE_NODES 0x786D0011u
#define XMIG_LIBXL_XENSTORE_WATCHES 0x786D0012u

/* What a transparent stream carries (TRANSPARENT records' flags). */
#define XMIG_TRANSPARENT_EVTCHN 0x1u
#define XMIG_TRANSPARENT_GNTTAB 0x2u
#define XMIG_TRANSPARENT_XENSTORE 0x4u
#define XMIG_TRANSPARENT_VERSION 1u

struct xmig_transparent_decl {
    uint32_t version;        /* 1 */
    uint32_t flags;          /* XMIG_TRANSPARENT_* */
    uint16_t domid;          /* libxl record only: the domid to preserve */
};

/* Event channels. */
#define XMIG_EVTCHN_ABI_2L 1u
#define XMIG_EVTCHN_ABI_FIFO 2u
#define XMIG_EVTCHN_UNBOUND 1u     /* EVTCHNSTAT_* */
#define XMIG_EVTCHN_INTERDOMAIN 2u
#define XMIG_EVTCHN_PIRQ 3u
#define XMIG_EVTCHN_VIRQ 4u
#define XMIG_EVTCHN_IPI 5u
#define XMIG_EVTCHN_PENDING 0x1u   /* port flags */
#define XMIG_EVTCHN_MASKED 0x2u

struct xmig_evtchn_port {
    uint32_t port;
    uint8_t state;           /* XMIG_EVTCHN_UNBOUND .. _IPI */
    uint8_t flags;           /* XMIG_EVTCHN_PENDING | _MASKED */
    uint8_t priority;        /* FIFO: 0 (highest) .. 15; 2-level: 0 */
    uint32_t vcpu;           /* the vCPU notified */
    uint16_t remote_domid;   /* unbound, interdomain */
    uint32_t remote_port;    /* interdomain */
    uint32_t number;         /* VIRQ or PIRQ number */
};

struct xmig_evtchn_ports {   /* view of EVTCHN_PORTS */
    uint32_t abi;
    uint32_t count;
    uint32_t max_port;
    const uint8_t *entries;
};

struct xmig_evtchn_fifo_vcpu {
    uint32_t vcpu_id;
    uint32_t offset;         /* of the control block within its page */
    uint64_t control_gfn;
};

struct xmig_evtchn_fifo {    /* view of EVTCHN_FIFO */
    uint32_t nr_vcpus;
    uint32_t nr_array_pages;
    const uint8_t *vcpus;
    const uint8_t *array_gfns;
};

/* Grant table. */
#define XMIG_GFN_INVALID UINT64_MAX  /* a frame the guest has not mapped */

struct xmig_grant_entry {    /* one in-use entry, host form */
    uint32_t ref;
    uint16_t flags;          /* GTF_* */
    uint16_t domid;
    uint16_t status;         /* v2: the entry's status word (GTF_reading..) */
    uint64_t frame;          /* permit_access / accept_transfer */
    uint16_t page_off;       /* v2 sub-page */
    uint16_t length;
    uint16_t trans_domid;    /* v2 transitive */
    uint32_t trans_gref;
};

struct xmig_grant_table {    /* view of GRANT_TABLE */
    uint32_t version;        /* 1 or 2 */
    uint32_t nr_frames;
    uint32_t nr_status_frames;
    uint32_t max_frames;
    uint32_t count;
    const uint8_t *frame_gfns;
    const uint8_t *status_gfns;
    const uint8_t *entries;
};

#define XMIG_GNTMAP_DEVICE_MAP 0x1u
#define XMIG_GNTMAP_HOST_MAP 0x2u
#define XMIG_GNTMAP_READONLY 0x4u

struct xmig_grant_map {      /* a grant the guest has mapped as grantee */
    uint32_t handle;
    uint16_t domid;          /* the granting domain */
    uint16_t flags;          /* XMIG_GNTMAP_* */
    uint32_t ref;            /* the granter's reference */
    uint64_t gfn;            /* where it is mapped in the guest */
};

struct xmig_grant_maps {     /* view of GRANT_MAPS */
    uint32_t count;
    const uint8_t *entries;
};

/* Xenstore. */
struct xmig_xs_perm {
    uint8_t perm;            /* 'r', 'w', 'b' or 'n' */
    uint8_t flags;           /* 0x01: stale */
    uint16_t domid;
};

struct xmig_xs_node {        /* one node, as a view or as input */
    const char *path;        /* absolute, NUL-terminated */
    const uint8_t *value;
    uint32_t value_len;
    uint32_t nperms;
    const struct xmig_xs_perm *perms;   /* input only (NULL in views) */
    const uint8_t *perms_wire;          /* views: nperms x 4 octets */
};

struct xmig_xs_watch {
    const char *path;
    const char *token;
};

struct xmig_xs_list {        /* view of XENSTORE_NODES or _WATCHES */
    uint32_t count;
    const uint8_t *data;     /* the entries, each padded to 8 octets */
    uint32_t len;
};

/*
 * All the transparent state of one domain, as a backend hands it to the
 * writer and receives it from the reader (xmig_transparent_state_add).
 * Arrays sorted as the records require: ports, FIFO vCPUs, grant refs and
 * map handles ascending; nodes parents first, in path order with '/'
 * lowest; watches by (path, token).
 */
struct xmig_transparent_state {
    uint16_t domid;                   /* preserved across the move */
    uint32_t flags;                   /* XMIG_TRANSPARENT_* carried */

    uint32_t evtchn_abi;              /* XMIG_EVTCHN_ABI_* */
    uint32_t evtchn_max_port;
    uint32_t nports;
    struct xmig_evtchn_port *ports;
    uint32_t nfifo_vcpus;             /* FIFO ABI only */
    struct xmig_evtchn_fifo_vcpu *fifo_vcpus;
    uint32_t nfifo_array;
    uint64_t *fifo_array_gfns;

    uint32_t gnt_version;             /* 1 or 2 */
    uint32_t gnt_nr_frames;
    uint32_t gnt_max_frames;
    uint64_t *gnt_frame_gfns;         /* gnt_nr_frames */
    uint64_t *gnt_status_gfns;        /* v2: status frames of the table */
    uint32_t ngrants;
    struct xmig_grant_entry *grants;
    uint32_t nmaps;
    struct xmig_grant_map *maps;

    uint32_t nnodes;
    struct xmig_xs_node *nodes;       /* perms, path, value owned */
    uint32_t nwatches;
    struct xmig_xs_watch *watches;    /* path, token owned */
};

#ifdef __cplusplus
}
#endif
#endif
