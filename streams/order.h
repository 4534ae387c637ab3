/*
 * Record order rules of the libxc image and the libxl stream, as one small
 * state machine each.  The reader checks every incoming record with them;
 * the writer checks every outgoing one, so neither side can get out of step.
 */
#ifndef XMIG_STREAMS_ORDER_H
#define XMIG_STREAMS_ORDER_H

#include <stdint.h>

struct rec_ctx;

struct libxc_order {
    uint32_t version;
    uint32_t guest_type;
    unsigned static_end : 1;   /* seen, or inferred in a v2 stream */
    unsigned pv_info : 1;
    unsigned p2m_frames : 1;
    unsigned hvm_context : 1;
    unsigned verify : 1;
    unsigned page_data : 1;
    unsigned vcpu : 1;         /* a PV vCPU record since the last CHECKPOINT */
    unsigned vcpu_basic : 1;
    unsigned transparent : 1;  /* TRANSPARENT seen */
    unsigned evtchn_ports : 1;
    unsigned evtchn_fifo : 1;
    unsigned grant_table : 1;
    unsigned grant_maps : 1;
    unsigned ended : 1;
};

enum libxc_state {
    LIBXC_NONE = 0,     /* no LIBXC_CONTEXT yet */
    LIBXC_RUNNING,      /* inside the libxc image */
    LIBXC_CHECKPOINTED, /* stopped at a CHECKPOINT, handed back to libxl
                         * until CHECKPOINT_END hands it back to libxc */
    LIBXC_ENDED         /* the image's END has been read */
};

struct libxl_order {
    enum libxc_state libxc;
    uint32_t records;          /* libxl records so far */
    unsigned transparent : 1;
    unsigned xs_nodes : 1;
    unsigned xs_watches : 1;
    unsigned ended : 1;
};

void libxc_order_init(struct libxc_order *o, uint32_t version,
                      uint32_t guest_type);
/* Check one libxc record type in its place; -1 with the rule broken.  ctx
 * holds what earlier records said (transparent flags, event channel ABI). */
int libxc_order_record(struct libxc_order *o, const struct rec_ctx *ctx,
                       uint32_t type, int known);

void libxl_order_init(struct libxl_order *o);
int libxl_order_record(struct libxl_order *o, const struct rec_ctx *ctx,
                       uint32_t type, int known);

#endif
