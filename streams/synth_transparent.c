/*
 * The transparent state of a synthetic guest: domid 7 with a network
 * frontend (vif 0) connected to dom0, its store and console channels,
 * timer VIRQs and IPIs on two vCPUs, grants for its rings, one grant it
 * maps from dom0, and its xenstore home with a backend watch.
 */
#include <string.h>

#include "streams/synth.h"

#define SYNTH_DOMID 7

static const struct xmig_evtchn_port ports_2l[] = {
    { 1, XMIG_EVTCHN_INTERDOMAIN, 0, 0, 0, 0, 33, 0 },  /* xenstore */
    { 2, XMIG_EVTCHN_INTERDOMAIN, 0, 0, 0, 0, 34, 0 },  /* console */
    { 3, XMIG_EVTCHN_VIRQ, 0, 0, 0, 0, 0, 0 },          /* timer, vCPU 0 */
    { 4, XMIG_EVTCHN_IPI, 0, 0, 0, 0, 0, 0 },
    { 5, XMIG_EVTCHN_VIRQ, XMIG_EVTCHN_PENDING, 0, 1, 0, 0, 0 },
    { 6, XMIG_EVTCHN_INTERDOMAIN, XMIG_EVTCHN_PENDING, 0, 0, 0, 40, 0 },
    { 7, XMIG_EVTCHN_UNBOUND, XMIG_EVTCHN_MASKED, 0, 1, 0, 0, 0 },
    { 9, XMIG_EVTCHN_PIRQ, 0, 0, 0, 0, 0, 16 },
};

static const struct xmig_evtchn_port ports_fifo[] = {
    { 1, XMIG_EVTCHN_INTERDOMAIN, 0, 7, 0, 0, 33, 0 },
    { 2, XMIG_EVTCHN_INTERDOMAIN, 0, 7, 0, 0, 34, 0 },
    { 3, XMIG_EVTCHN_VIRQ, 0, 0, 0, 0, 0, 0 },
    { 4, XMIG_EVTCHN_IPI, 0, 7, 0, 0, 0, 0 },
    { 5, XMIG_EVTCHN_VIRQ, XMIG_EVTCHN_PENDING, 0, 1, 0, 0, 0 },
    { 6, XMIG_EVTCHN_INTERDOMAIN, XMIG_EVTCHN_PENDING, 7, 0, 0, 40, 0 },
    { 7, XMIG_EVTCHN_UNBOUND, XMIG_EVTCHN_MASKED, 15, 1, 0, 0, 0 },
    { 1500, XMIG_EVTCHN_PIRQ, 0, 7, 0, 0, 0, 16 },
};

static const struct xmig_evtchn_fifo_vcpu fifo_vcpus[] = {
    { 0, 0, 0xfeff0 },
    { 1, 128, 0xfeff0 },
};

static const uint64_t fifo_array[] = { 0xfeff2, 0xfeff3 };

static const uint64_t gnt_frames_v1[] = { 0xf0000 };
static const uint64_t gnt_frames_v2[] = { 0xf0000, XMIG_GFN_INVALID };
static const uint64_t gnt_status_v2[] = { 0xf0010 };

static const struct xmig_grant_entry grants_v1[] = {
    { 0, 0x1, 0, 0, 0xfefff, 0, 0, 0, 0 },       /* console ring */
    { 1, 0x1, 0, 0, 0xfeffc, 0, 0, 0, 0 },       /* xenstore ring */
    { 8, 0x1 | 0x8, 0, 0, 0x1234, 0, 0, 0, 0 },  /* tx ring, in use */
    { 9, 0x1 | 0x4, 0, 0, 0x1235, 0, 0, 0, 0 },  /* rx ring, read-only */
    { 300, 0x2, 0, 0, 0x2000, 0, 0, 0, 0 },      /* accept transfer */
};

static const struct xmig_grant_entry grants_v2[] = {
    { 0, 0x1, 0, 0, 0xfefff, 0, 0, 0, 0 },
    { 1, 0x1, 0, 0, 0xfeffc, 0, 0, 0, 0 },
    { 8, 0x1, 0, 0x8, 0x1234, 0, 0, 0, 0 },          /* status: reading */
    { 9, 0x1 | 0x100, 0, 0, 0x1235, 512, 1024, 0, 0 }, /* sub-page */
    { 300, 0x3, 0, 0, 0, 0, 0, 3, 17 },              /* transitive */
};

static const struct xmig_grant_map maps[] = {
    { 0, 0, XMIG_GNTMAP_HOST_MAP, 5, 0xf8000 },
    { 3, 0, XMIG_GNTMAP_HOST_MAP | XMIG_GNTMAP_READONLY, 6, 0xf8001 },
};

static const struct xmig_xs_perm perm_home[] = { { 'n', 0, 0 },
                                                 { 'r', 0, SYNTH_DOMID } };
static const struct xmig_xs_perm perm_own[] = { { 'n', 0, SYNTH_DOMID },
                                                { 'r', 0, 0 } };

#define NODE(p, v, perms)                                                 \
    { "/local/domain/7" p, (const uint8_t *)(v), sizeof(v) - 1, 2, perms, \
      NULL }

static const struct xmig_xs_node nodes[] = {
    NODE("", "", perm_home),
    NODE("/device", "", perm_own),
    NODE("/device/vif", "", perm_own),
    NODE("/device/vif/0", "", perm_own),
    NODE("/device/vif/0/backend", "/local/domain/0/backend/vif/7/0",
         perm_own),
    NODE("/device/vif/0/backend-id", "0", perm_own),
    NODE("/device/vif/0/event-channel", "6", perm_own),
    NODE("/device/vif/0/rx-ring-ref", "9", perm_own),
    NODE("/device/vif/0/state", "4", perm_own),
    NODE("/device/vif/0/tx-ring-ref", "8", perm_own),
    NODE("/memory", "", perm_home),
    NODE("/memory/target", "524288", perm_home),
    NODE("/name", "xmig-sample", perm_home),
};

static const struct xmig_xs_watch watches[] = {
    { "/local/domain/0/backend/vif/7/0/state", "backend:vif/0" },
    { "@releaseDomain", "domains" },
    { "device", "devices" },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

void synth_transparent_state(const struct synth_opts *o,
                             struct xmig_transparent_state *st)
{
    int fifo = o->transparent == 2;

    memset(st, 0, sizeof(*st));
    /* A bare libxc image carries no domid (only libxl's declaration). */
    st->domid = o->format != XMIG_FORMAT_LIBXC ? SYNTH_DOMID : 0;
    st->flags = XMIG_TRANSPARENT_EVTCHN | XMIG_TRANSPARENT_GNTTAB;
    if (o->format != XMIG_FORMAT_LIBXC) {
        st->flags |= XMIG_TRANSPARENT_XENSTORE;
    }
    st->evtchn_abi = fifo ? XMIG_EVTCHN_ABI_FIFO : XMIG_EVTCHN_ABI_2L;
    st->evtchn_max_port = fifo ? 2047 : 4095;
    st->ports = (struct xmig_evtchn_port *)(fifo ? ports_fifo : ports_2l);
    st->nports = fifo ? NELEM(ports_fifo) : NELEM(ports_2l);
    if (fifo) {
        st->fifo_vcpus = (struct xmig_evtchn_fifo_vcpu *)fifo_vcpus;
        st->nfifo_vcpus = NELEM(fifo_vcpus);
        st->fifo_array_gfns = (uint64_t *)fifo_array;
        st->nfifo_array = NELEM(fifo_array);
    }
    st->gnt_version = fifo ? 2 : 1;
    st->gnt_nr_frames = fifo ? 2 : 1;
    st->gnt_max_frames = 32;
    st->gnt_frame_gfns = (uint64_t *)(fifo ? gnt_frames_v2 : gnt_frames_v1);
    st->gnt_status_gfns = fifo ? (uint64_t *)gnt_status_v2 : NULL;
    st->grants = (struct xmig_grant_entry *)(fifo ? grants_v2 : grants_v1);
    st->ngrants = NELEM(grants_v1);
    st->maps = (struct xmig_grant_map *)maps;
    st->nmaps = NELEM(maps);
    if (st->flags & XMIG_TRANSPARENT_XENSTORE) {
        st->nodes = (struct xmig_xs_node *)nodes;
        st->nnodes = NELEM(nodes);
        st->watches = (struct xmig_xs_watch *)watches;
        st->nwatches = NELEM(watches);
    }
}
