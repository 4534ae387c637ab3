/*
 * A domain's transparent state gathered from the reader's record views
 * into owned arrays, and compared, so that a backend (or a test) can
 * restore it and prove it equal to what the source held.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "records/records.h"
#include "xmig.h"

struct xmig_transparent_state *xmig_transparent_state_create(void)
{
    struct xmig_transparent_state *st = calloc(1, sizeof(*st));

    if (!st) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "transparent state");
    }
    return st;
}

static void free_nodes(struct xmig_transparent_state *st)
{
    for (uint32_t i = 0; i < st->nnodes; i++) {
        free((void *)st->nodes[i].path);
        free((void *)st->nodes[i].value);
        free((void *)st->nodes[i].perms);
    }
    free(st->nodes);
    for (uint32_t i = 0; i < st->nwatches; i++) {
        free((void *)st->watches[i].path);
        free((void *)st->watches[i].token);
    }
    free(st->watches);
}

void xmig_transparent_state_free(struct xmig_transparent_state *st)
{
    if (!st) {
        return;
    }
    free(st->ports);
    free(st->fifo_vcpus);
    free(st->fifo_array_gfns);
    free(st->gnt_frame_gfns);
    free(st->gnt_status_gfns);
    free(st->grants);
    free(st->maps);
    free_nodes(st);
    free(st);
}

static void *array(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);

    if (!p) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "transparent state array");
    }
    return p;
}

static char *dup_bytes(const void *p, size_t n)
{
    char *d = malloc(n + 1);

    if (d) {
        memcpy(d, p, n);
        d[n] = '\0';
    } else {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "transparent state string");
    }
    return d;
}

static int add_evtchn(struct xmig_transparent_state *st,
                      const struct xmig_record *rec)
{
    if (rec->type == XMIG_LIBXC_EVTCHN_PORTS) {
        const struct xmig_evtchn_ports *v = &rec->u.evtchn_ports;
        free(st->ports);
        st->ports = array(v->count, sizeof(*st->ports));
        if (!st->ports) {
            return -1;
        }
        st->evtchn_abi = v->abi;
        st->evtchn_max_port = v->max_port;
        st->nports = v->count;
        for (uint32_t i = 0; i < v->count; i++) {
            xmig_evtchn_port_get(v, i, &st->ports[i]);
        }
        return 1;
    }
    {
        const struct xmig_evtchn_fifo *v = &rec->u.evtchn_fifo;
        free(st->fifo_vcpus);
        free(st->fifo_array_gfns);
        st->fifo_vcpus = array(v->nr_vcpus, sizeof(*st->fifo_vcpus));
        st->fifo_array_gfns = array(v->nr_array_pages, sizeof(uint64_t));
        if (!st->fifo_vcpus || !st->fifo_array_gfns) {
            return -1;
        }
        st->nfifo_vcpus = v->nr_vcpus;
        st->nfifo_array = v->nr_array_pages;
        for (uint32_t i = 0; i < v->nr_vcpus; i++) {
            xmig_evtchn_fifo_vcpu_get(v, i, &st->fifo_vcpus[i]);
        }
        for (uint32_t i = 0; i < v->nr_array_pages; i++) {
            st->fifo_array_gfns[i] = xmig_evtchn_fifo_array_gfn(v, i);
        }
        return 1;
    }
}

static int add_gnttab(struct xmig_transparent_state *st,
                      const struct xmig_record *rec)
{
    if (rec->type == XMIG_LIBXC_GRANT_TABLE) {
        const struct xmig_grant_table *v = &rec->u.grant_table;
        free(st->gnt_frame_gfns);
        free(st->gnt_status_gfns);
        free(st->grants);
        st->gnt_frame_gfns = array(v->nr_frames, sizeof(uint64_t));
        st->gnt_status_gfns = array(v->nr_status_frames, sizeof(uint64_t));
        st->grants = array(v->count, sizeof(*st->grants));
        if (!st->gnt_frame_gfns || !st->gnt_status_gfns || !st->grants) {
            return -1;
        }
        st->gnt_version = v->version;
        st->gnt_nr_frames = v->nr_frames;
        st->gnt_max_frames = v->max_frames;
        st->ngrants = v->count;
        for (uint32_t i = 0; i < v->nr_frames; i++) {
            st->gnt_frame_gfns[i] = xmig_grant_frame_gfn(v, i);
        }
        for (uint32_t i = 0; i < v->nr_status_frames; i++) {
            st->gnt_status_gfns[i] = xmig_grant_status_gfn(v, i);
        }
        for (uint32_t i = 0; i < v->count; i++) {
            xmig_grant_entry_get(v, i, &st->grants[i]);
        }
        return 1;
    }
    free(st->maps);
    st->maps = array(rec->u.grant_maps.count, sizeof(*st->maps));
    if (!st->maps) {
        return -1;
    }
    st->nmaps = rec->u.grant_maps.count;
    for (uint32_t i = 0; i < st->nmaps; i++) {
        xmig_grant_map_get(&rec->u.grant_maps, i, &st->maps[i]);
    }
    return 1;
}

static int add_node(struct xmig_xs_node *dst, const struct xmig_xs_node *n)
{
    struct xmig_xs_perm *perms = array(n->nperms, sizeof(*perms));

    dst->path = dup_bytes(n->path, strlen(n->path));
    dst->value = (const uint8_t *)dup_bytes(n->value, n->value_len);
    dst->value_len = n->value_len;
    dst->perms = perms;
    dst->nperms = perms ? n->nperms : 0;
    for (uint32_t k = 0; perms && k < n->nperms; k++) {
        xmig_xs_perm_get(n, k, &perms[k]);
    }
    return dst->path && dst->value && perms ? 0 : -1;
}

static int add_xenstore(struct xmig_transparent_state *st,
                        const struct xmig_record *rec)
{
    const struct xmig_xs_list *v = &rec->u.xs_list;
    uint32_t pos = 0, i = 0;

    if (rec->type == XMIG_LIBXL_XENSTORE_NODES) {
        struct xmig_xs_node n;
        free_nodes(st);
        st->watches = NULL;
        st->nwatches = 0;
        st->nnodes = 0;
        st->nodes = array(v->count, sizeof(*st->nodes));
        if (!st->nodes) {
            return -1;
        }
        while (i < v->count && xmig_xs_node_next(v, &pos, &n)) {
            st->nnodes = ++i;
            if (add_node(&st->nodes[i - 1], &n) < 0) {
                return -1;
            }
        }
        return 1;
    }
    {
        struct xmig_xs_watch wt;
        st->watches = array(v->count, sizeof(*st->watches));
        if (!st->watches) {
            return -1;
        }
        while (i < v->count && xmig_xs_watch_next(v, &pos, &wt)) {
            struct xmig_xs_watch *d = &st->watches[i];
            st->nwatches = ++i;
            d->path = dup_bytes(wt.path, strlen(wt.path));
            d->token = dup_bytes(wt.token, strlen(wt.token));
            if (!d->path || !d->token) {
                return -1;
            }
        }
        return 1;
    }
}

int xmig_transparent_state_add(struct xmig_transparent_state *st,
                               const struct xmig_record *rec)
{
    if (rec->kind != XMIG_ITEM_RECORD || !rec->known) {
        return 0;
    }
    switch (rec->type) {
    case XMIG_LIBXL_TRANSPARENT:
        if (rec->layer != XMIG_LAYER_LIBXL) {
            return 0;
        }
        st->domid = rec->u.transparent.domid;
        st->flags |= rec->u.transparent.flags;
        return 1;
    case XMIG_LIBXC_TRANSPARENT:
        if (rec->layer != XMIG_LAYER_LIBXC) {
            return 0;
        }
        st->flags |= rec->u.transparent.flags;
        return 1;
    case XMIG_LIBXC_EVTCHN_PORTS:
    case XMIG_LIBXC_EVTCHN_FIFO:
        return rec->layer == XMIG_LAYER_LIBXC ? add_evtchn(st, rec) : 0;
    case XMIG_LIBXC_GRANT_TABLE:
    case XMIG_LIBXC_GRANT_MAPS:
        return rec->layer == XMIG_LAYER_LIBXC ? add_gnttab(st, rec) : 0;
    case XMIG_LIBXL_XENSTORE_NODES:
    case XMIG_LIBXL_XENSTORE_WATCHES:
        return rec->layer == XMIG_LAYER_LIBXL ? add_xenstore(st, rec) : 0;
    default:
        return 0;
    }
}

static int differ(const char *what, uint32_t i)
{
    return err_set(XMIG_ERR_PROTOCOL, 0, "transparent state differs: %s "
                   "(entry %u)", what, i);
}

static int compare_evtchn(const struct xmig_transparent_state *a,
                          const struct xmig_transparent_state *b)
{
    if (a->evtchn_abi != b->evtchn_abi ||
        a->evtchn_max_port != b->evtchn_max_port || a->nports != b->nports) {
        return differ("event channel ABI, limit or port count", 0);
    }
    for (uint32_t i = 0; i < a->nports; i++) {
        const struct xmig_evtchn_port *p = &a->ports[i], *q = &b->ports[i];
        if (p->port != q->port || p->state != q->state ||
            p->flags != q->flags || p->priority != q->priority ||
            p->vcpu != q->vcpu || p->remote_domid != q->remote_domid ||
            p->remote_port != q->remote_port || p->number != q->number) {
            return differ("event channel port", i);
        }
    }
    if (a->nfifo_vcpus != b->nfifo_vcpus || a->nfifo_array != b->nfifo_array) {
        return differ("FIFO layout", 0);
    }
    for (uint32_t i = 0; i < a->nfifo_vcpus; i++) {
        if (memcmp(&a->fifo_vcpus[i], &b->fifo_vcpus[i],
                   sizeof(a->fifo_vcpus[i])) != 0) {
            return differ("FIFO control block", i);
        }
    }
    for (uint32_t i = 0; i < a->nfifo_array; i++) {
        if (a->fifo_array_gfns[i] != b->fifo_array_gfns[i]) {
            return differ("FIFO event array page", i);
        }
    }
    return 0;
}

static int compare_gnttab(const struct xmig_transparent_state *a,
                          const struct xmig_transparent_state *b)
{
    uint32_t status = a->gnt_version == 2
                          ? rec_gnt_status_frames(a->gnt_nr_frames)
                          : 0;

    if (a->gnt_version != b->gnt_version ||
        a->gnt_nr_frames != b->gnt_nr_frames ||
        a->gnt_max_frames != b->gnt_max_frames || a->ngrants != b->ngrants ||
        a->nmaps != b->nmaps) {
        return differ("grant table version, frames or counts", 0);
    }
    for (uint32_t i = 0; i < a->gnt_nr_frames + status; i++) {
        uint64_t x = i < a->gnt_nr_frames
                         ? a->gnt_frame_gfns[i]
                         : a->gnt_status_gfns[i - a->gnt_nr_frames];
        uint64_t y = i < b->gnt_nr_frames
                         ? b->gnt_frame_gfns[i]
                         : b->gnt_status_gfns[i - b->gnt_nr_frames];
        if (x != y) {
            return differ("grant frame gfn", i);
        }
    }
    for (uint32_t i = 0; i < a->ngrants; i++) {
        const struct xmig_grant_entry *p = &a->grants[i], *q = &b->grants[i];
        if (p->ref != q->ref || p->flags != q->flags || p->domid != q->domid ||
            p->status != q->status || p->frame != q->frame ||
            p->page_off != q->page_off || p->length != q->length ||
            p->trans_domid != q->trans_domid ||
            p->trans_gref != q->trans_gref) {
            return differ("grant entry", i);
        }
    }
    for (uint32_t i = 0; i < a->nmaps; i++) {
        const struct xmig_grant_map *p = &a->maps[i], *q = &b->maps[i];
        if (p->handle != q->handle || p->domid != q->domid ||
            p->flags != q->flags || p->ref != q->ref || p->gfn != q->gfn) {
            return differ("grant mapping", i);
        }
    }
    return 0;
}

static int compare_xenstore(const struct xmig_transparent_state *a,
                            const struct xmig_transparent_state *b)
{
    if (a->nnodes != b->nnodes || a->nwatches != b->nwatches) {
        return differ("xenstore node or watch count", 0);
    }
    for (uint32_t i = 0; i < a->nnodes; i++) {
        const struct xmig_xs_node *p = &a->nodes[i], *q = &b->nodes[i];
        if (strcmp(p->path, q->path) != 0 || p->value_len != q->value_len ||
            memcmp(p->value, q->value, p->value_len) != 0 ||
            p->nperms != q->nperms) {
            return differ("xenstore node", i);
        }
        for (uint32_t k = 0; k < p->nperms; k++) {
            struct xmig_xs_perm x, y;
            xmig_xs_perm_get(p, k, &x);
            xmig_xs_perm_get(q, k, &y);
            if (x.perm != y.perm || x.flags != y.flags || x.domid != y.domid) {
                return differ("xenstore node permission", i);
            }
        }
    }
    for (uint32_t i = 0; i < a->nwatches; i++) {
        if (strcmp(a->watches[i].path, b->watches[i].path) != 0 ||
            strcmp(a->watches[i].token, b->watches[i].token) != 0) {
            return differ("xenstore watch", i);
        }
    }
    return 0;
}

int xmig_transparent_state_compare(const struct xmig_transparent_state *a,
                                   const struct xmig_transparent_state *b)
{
    if (a->domid != b->domid || a->flags != b->flags) {
        return differ("domid or declared state", 0);
    }
    if (((a->flags & XMIG_TRANSPARENT_EVTCHN) && compare_evtchn(a, b) < 0) ||
        ((a->flags & XMIG_TRANSPARENT_GNTTAB) && compare_gnttab(a, b) < 0) ||
        ((a->flags & XMIG_TRANSPARENT_XENSTORE) &&
         compare_xenstore(a, b) < 0)) {
        return -1;
    }
    return 0;
}

static void *dup_array(const void *src, size_t n, size_t size, int *fail)
{
    void *p = array(n, size);

    if (!p) {
        *fail = 1;
        return NULL;
    }
    if (n && src) {
        memcpy(p, src, n * size);
    }
    return p;
}

struct xmig_transparent_state *
xmig_transparent_state_clone(const struct xmig_transparent_state *src)
{
    struct xmig_transparent_state *st = xmig_transparent_state_create();
    uint32_t status = src->gnt_version == 2
                          ? rec_gnt_status_frames(src->gnt_nr_frames)
                          : 0;
    int fail = 0;

    if (!st) {
        return NULL;
    }
    *st = *src;
    st->ports = dup_array(src->ports, src->nports, sizeof(*st->ports), &fail);
    st->fifo_vcpus = dup_array(src->fifo_vcpus, src->nfifo_vcpus,
                               sizeof(*st->fifo_vcpus), &fail);
    st->fifo_array_gfns = dup_array(src->fifo_array_gfns, src->nfifo_array,
                                    sizeof(uint64_t), &fail);
    st->gnt_frame_gfns = dup_array(src->gnt_frame_gfns, src->gnt_nr_frames,
                                   sizeof(uint64_t), &fail);
    st->gnt_status_gfns = dup_array(src->gnt_status_gfns, status,
                                    sizeof(uint64_t), &fail);
    st->grants = dup_array(src->grants, src->ngrants, sizeof(*st->grants),
                           &fail);
    st->maps = dup_array(src->maps, src->nmaps, sizeof(*st->maps), &fail);
    st->nodes = array(src->nnodes, sizeof(*st->nodes));
    st->watches = array(src->nwatches, sizeof(*st->watches));
    st->nnodes = st->nwatches = 0;
    if (fail || !st->nodes || !st->watches) {
        xmig_transparent_state_free(st);
        return NULL;
    }
    for (uint32_t i = 0; i < src->nnodes; i++) {
        st->nnodes = i + 1;
        if (add_node(&st->nodes[i], &src->nodes[i]) < 0) {
            xmig_transparent_state_free(st);
            return NULL;
        }
    }
    for (uint32_t i = 0; i < src->nwatches; i++) {
        struct xmig_xs_watch *d = &st->watches[i];
        st->nwatches = i + 1;
        d->path = dup_bytes(src->watches[i].path, strlen(src->watches[i].path));
        d->token = dup_bytes(src->watches[i].token,
                             strlen(src->watches[i].token));
        if (!d->path || !d->token) {
            xmig_transparent_state_free(st);
            return NULL;
        }
    }
    return st;
}
