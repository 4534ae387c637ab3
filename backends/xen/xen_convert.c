/*
 * Pure conversions for the xen backend (see xen_convert.h): no Xen header,
 * no Xen library, so they build and are tested everywhere.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/xen/xen_convert.h"
#include "common/error.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static const char *state_name(uint32_t s)
{
    static const char *const names[] = { "closed", "unbound", "interdomain",
                                         "PIRQ", "VIRQ", "IPI" };

    return s < NELEM(names) ? names[s] : "unknown";
}

/* ---- event channels -------------------------------------------------- */

int xen_evtchn_from_raw(const struct xen_evtchn_raw *raw,
                        struct xmig_evtchn_port *out)
{
    memset(out, 0, sizeof(*out));
    if (raw->status == 0) {
        return 0;
    }
    if (raw->port == 0 || raw->port >= XEN_EVTCHN_FIFO_PORTS) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "event channel port %u is "
                       "outside 1..%u", raw->port, XEN_EVTCHN_FIFO_PORTS - 1);
    }
    if (raw->vcpu >= 4096) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "event channel port %u "
                       "notifies vCPU %u, beyond xmig's 4095", raw->port,
                       raw->vcpu);
    }
    out->port = raw->port;
    out->state = (uint8_t)raw->status;
    out->vcpu = raw->vcpu;
    out->flags = (uint8_t)((raw->pending ? XMIG_EVTCHN_PENDING : 0) |
                           (raw->masked ? XMIG_EVTCHN_MASKED : 0));
    switch (raw->status) {
    case XMIG_EVTCHN_INTERDOMAIN:
        if (raw->remote_port == 0) {
            return err_set(XMIG_ERR_UNSUPPORTED, 0, "event channel port %u "
                           "is interdomain with remote port 0", raw->port);
        }
        out->remote_port = raw->remote_port;
        /* fall through */
    case XMIG_EVTCHN_UNBOUND:
        if (raw->remote_dom >= XEN_DOMID_FIRST_RESERVED) {
            return err_set(XMIG_ERR_UNSUPPORTED, 0, "event channel port %u "
                           "(%s) names reserved domain 0x%x", raw->port,
                           state_name(raw->status), raw->remote_dom);
        }
        out->remote_domid = raw->remote_dom;
        return 1;
    case XMIG_EVTCHN_PIRQ:
        out->number = raw->number;
        return 1;
    case XMIG_EVTCHN_VIRQ:
        if (raw->number >= XEN_NR_VIRQS) {
            return err_set(XMIG_ERR_UNSUPPORTED, 0, "event channel port %u "
                           "is bound to VIRQ %u, beyond NR_VIRQS (%u)",
                           raw->port, raw->number, XEN_NR_VIRQS);
        }
        out->number = raw->number;
        return 1;
    case XMIG_EVTCHN_IPI:
        return 1;
    default:
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "event channel port %u has "
                       "state %u, which xmig does not know", raw->port,
                       raw->status);
    }
}

int xen_evtchn_collect(xen_evtchn_query_fn query, void *user, uint32_t limit,
                       struct xmig_transparent_state *st)
{
    struct xmig_evtchn_port *ports = NULL, p;
    uint32_t n = 0, room = 0, valid = 0;

    if (limit == 0 || limit >= XEN_EVTCHN_FIFO_PORTS) {
        limit = XEN_EVTCHN_FIFO_PORTS - 1;
    }
    for (uint32_t port = 1; port <= limit; port++) {
        struct xen_evtchn_raw raw;
        int rc;

        memset(&raw, 0, sizeof(raw));
        rc = query(user, port, &raw);
        if (rc < 0) {
            goto fail;
        }
        if (rc > 0) {
            break;          /* beyond the ports the domain has */
        }
        valid = port;
        raw.port = port;
        rc = xen_evtchn_from_raw(&raw, &p);
        if (rc < 0) {
            goto fail;
        }
        if (rc == 0) {
            continue;
        }
        if (n == room) {
            uint32_t more = room ? room * 2 : 64;
            void *grown = realloc(ports, more * sizeof(*ports));
            if (!grown) {
                err_set(XMIG_ERR_NOMEM, ENOMEM, "event channel ports");
                goto fail;
            }
            ports = grown;
            room = more;
        }
        ports[n++] = p;
    }
    free(st->ports);
    st->ports = ports;
    st->nports = n;
    /* Ports beyond the 2-level range exist only under FIFO.  Below it,
     * Xen 4.17 cannot tell the ABI: 2-level is assumed. */
    st->evtchn_abi = valid >= XEN_EVTCHN_2L_PORTS ? XMIG_EVTCHN_ABI_FIFO
                                                  : XMIG_EVTCHN_ABI_2L;
    st->evtchn_max_port = valid ? valid : 1;
    return 0;
fail:
    free(ports);
    return -1;
}

/* ---- grant table ----------------------------------------------------- */

uint32_t xen_gnttab_status_frames(uint32_t nr_frames)
{
    /* 256 entries a frame, 2048 two-octet status words a status frame */
    return (nr_frames + 7) / 8;
}

static int v1_entry(const uint8_t *e, uint32_t ref,
                    struct xmig_grant_entry *out)
{
    static const uint8_t zero[8];

    if (memcmp(e, zero, 8) == 0) {
        return 0;
    }
    if (out) {
        memset(out, 0, sizeof(*out));
        out->ref = ref;
        out->flags = rd16(e);
        out->domid = rd16(e + 2);
        out->frame = rd32(e + 4);
    }
    return 1;
}

static int v2_entry(const uint8_t *e, uint16_t status, uint32_t ref,
                    struct xmig_grant_entry *out)
{
    static const uint8_t zero[16];

    if (memcmp(e, zero, 16) == 0 && status == 0) {
        return 0;
    }
    if (out) {
        memset(out, 0, sizeof(*out));
        out->ref = ref;
        out->flags = rd16(e);
        out->domid = rd16(e + 2);
        out->status = status;
        if ((out->flags & 0x3) == 0x3) {            /* GTF_transitive */
            out->trans_domid = rd16(e + 4);
            out->trans_gref = rd32(e + 8);
        } else if (out->flags & 0x100) {             /* GTF_sub_page */
            out->page_off = rd16(e + 4);
            out->length = rd16(e + 6);
            out->frame = rd64(e + 8);
        } else {
            out->frame = rd64(e + 8);
        }
    }
    return 1;
}

/* One pass over the table: count (out NULL) or fill. */
static uint32_t scan(uint32_t version, const uint8_t *shared, uint32_t nrefs,
                     const uint8_t *status, struct xmig_grant_entry *out)
{
    uint32_t n = 0;

    for (uint32_t ref = 0; ref < nrefs; ref++) {
        int used = version == 1
                       ? v1_entry(shared + (size_t)ref * 8, ref,
                                  out ? &out[n] : NULL)
                       : v2_entry(shared + (size_t)ref * 16,
                                  rd16(status + (size_t)ref * 2), ref,
                                  out ? &out[n] : NULL);
        n += (uint32_t)used;
    }
    return n;
}

int xen_gnttab_entries(uint32_t version, const uint8_t *shared,
                       uint32_t nr_frames, const uint8_t *status,
                       uint32_t nr_status_frames,
                       struct xmig_grant_entry **out, uint32_t *count)
{
    uint32_t nrefs, n;

    *out = NULL;
    *count = 0;
    if (version != 1 && version != 2) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "grant table version %u is "
                       "neither 1 nor 2", version);
    }
    if (nr_frames > 1024) {
        return err_set(XMIG_ERR_LIMIT, 0, "a grant table of %u frames is "
                       "beyond xmig's 1024", nr_frames);
    }
    if (version == 2 &&
        (!status || nr_status_frames < xen_gnttab_status_frames(nr_frames))) {
        return err_set(XMIG_ERR_USAGE, 0, "a version 2 grant table of %u "
                       "frames needs %u status frames, not %u", nr_frames,
                       xen_gnttab_status_frames(nr_frames), nr_status_frames);
    }
    nrefs = nr_frames * (version == 1 ? XEN_PAGE / 8 : XEN_PAGE / 16);
    n = scan(version, shared, nrefs, status, NULL);
    *out = calloc(n ? n : 1, sizeof(**out));
    if (!*out) {
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "grant entries");
    }
    *count = scan(version, shared, nrefs, status, *out);
    return 0;
}

/* ---- xenstore -------------------------------------------------------- */

int xen_xs_perm_from_raw(const struct xen_xs_raw_perm *raw,
                         struct xmig_xs_perm *out)
{
    static const uint8_t letters[4] = { 'n', 'r', 'w', 'b' };

    if (raw->id >= XEN_DOMID_FIRST_RESERVED) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "a xenstore permission names "
                       "domain %u, not an ordinary domain", raw->id);
    }
    out->perm = letters[raw->perms & (XEN_XS_PERM_READ | XEN_XS_PERM_WRITE)];
    out->flags = raw->perms & XEN_XS_PERM_IGNORE ? 0x01 : 0;
    out->domid = (uint16_t)raw->id;
    return 0;
}

int xen_xs_path_cmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;

    for (;; x++, y++) {
        /* '/' ranks as 0x00 would; the terminator below everything. */
        int cx = *x == '/' ? 1 : *x ? *x + 1 : 0;
        int cy = *y == '/' ? 1 : *y ? *y + 1 : 0;
        if (cx != cy) {
            return cx < cy ? -1 : 1;
        }
        if (!*x) {
            return 0;
        }
    }
}

#define XS_PATH_MAX 3072u   /* XENSTORE_ABS_PATH_MAX, without the NUL */
#define XS_VALUE_MAX 4096u  /* XENSTORE_PAYLOAD_MAX */

struct walk {
    const struct xen_xs_ops *ops;
    void *user;
    struct xmig_xs_node *nodes;
    uint32_t n, room;
    char path[XS_PATH_MAX + 1];
};

static int name_ok(const char *name)
{
    if (!*name) {
        return 0;
    }
    for (const char *c = name; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' ||
              *c == '@')) {
            return 0;
        }
    }
    return 1;
}

static void free_nodes(struct xmig_xs_node *nodes, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        free((void *)nodes[i].path);
        free((void *)nodes[i].value);
        free((void *)nodes[i].perms);
    }
    free(nodes);
}

static int add_node(struct walk *w)
{
    struct xmig_xs_node *node;
    struct xen_xs_raw_perm *raw;
    struct xmig_xs_perm *perms;
    unsigned int len = 0, np = 0;
    void *value;

    if (w->n == XEN_XS_MAX_NODES) {
        return err_set(XMIG_ERR_LIMIT, 0, "more than %u xenstore nodes below "
                       "the domain's home", XEN_XS_MAX_NODES);
    }
    if (w->n == w->room) {
        uint32_t more = w->room ? w->room * 2 : 32;
        void *grown = realloc(w->nodes, more * sizeof(*w->nodes));
        if (!grown) {
            return err_set(XMIG_ERR_NOMEM, ENOMEM, "xenstore nodes");
        }
        w->nodes = grown;
        w->room = more;
    }
    value = w->ops->read(w->user, w->path, &len);
    if (!value) {
        return err_set(XMIG_ERR_IO, errno, "reading xenstore node %s",
                       w->path);
    }
    if (len > XS_VALUE_MAX) {
        free(value);
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "xenstore node %s holds %u "
                       "octets, beyond XENSTORE_PAYLOAD_MAX", w->path, len);
    }
    raw = w->ops->perms(w->user, w->path, &np);
    if (!raw) {
        free(value);
        return err_set(XMIG_ERR_IO, errno, "reading the permissions of "
                       "xenstore node %s", w->path);
    }
    perms = np >= 1 && np <= 256 ? calloc(np, sizeof(*perms)) : NULL;
    if (!perms) {
        free(value);
        free(raw);
        return np >= 1 && np <= 256
                   ? err_set(XMIG_ERR_NOMEM, ENOMEM, "xenstore permissions")
                   : err_set(XMIG_ERR_UNSUPPORTED, 0, "xenstore node %s has "
                             "%u permission specifiers (1 to 256 carry)",
                             w->path, np);
    }
    for (unsigned int i = 0; i < np; i++) {
        if (xen_xs_perm_from_raw(&raw[i], &perms[i]) < 0) {
            err_prefix("xenstore node %s: ", w->path);
            free(value);
            free(raw);
            free(perms);
            return -1;
        }
    }
    free(raw);
    node = &w->nodes[w->n];
    memset(node, 0, sizeof(*node));
    node->path = strdup(w->path);
    if (!node->path) {
        free(value);
        free(perms);
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "xenstore path");
    }
    node->value = value;
    node->value_len = len;
    node->perms = perms;
    node->nperms = np;
    w->n++;
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return xen_xs_path_cmp(*(char *const *)a, *(char *const *)b);
}

/* w->path and everything below it, parents first, children in order. */
static int walk_node(struct walk *w)
{
    size_t len = strlen(w->path);
    unsigned int num = 0;
    char **names;
    int rc = 0;

    if (add_node(w) < 0) {
        return -1;
    }
    names = w->ops->directory(w->user, w->path, &num);
    if (!names) {
        return err_set(XMIG_ERR_IO, errno, "listing xenstore node %s",
                       w->path);
    }
    qsort(names, num, sizeof(*names), name_cmp);
    for (unsigned int i = 0; i < num && rc == 0; i++) {
        size_t nl = strlen(names[i]);
        if (!name_ok(names[i])) {
            rc = err_set(XMIG_ERR_UNSUPPORTED, 0, "xenstore node %s has a "
                         "child named \"%s\", which is not a path component "
                         "xmig carries", w->path, names[i]);
        } else if (len + 1 + nl > XS_PATH_MAX) {
            rc = err_set(XMIG_ERR_UNSUPPORTED, 0, "a xenstore path below %s "
                         "is longer than %u octets", w->path, XS_PATH_MAX);
        } else {
            w->path[len] = '/';
            memcpy(w->path + len + 1, names[i], nl + 1);
            rc = walk_node(w);
            w->path[len] = '\0';
        }
    }
    free(names);
    return rc;
}

int xen_xs_walk(const struct xen_xs_ops *ops, void *user, uint16_t domid,
                struct xmig_transparent_state *st)
{
    struct walk *w = calloc(1, sizeof(*w));

    if (!w) {
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "xenstore walk");
    }
    w->ops = ops;
    w->user = user;
    snprintf(w->path, sizeof(w->path), "/local/domain/%u", domid);
    if (walk_node(w) < 0) {
        goto fail;
    }
    for (uint32_t i = 1; i < w->n; i++) {
        if (xen_xs_path_cmp(w->nodes[i - 1].path, w->nodes[i].path) >= 0) {
            err_set(XMIG_ERR_PROTOCOL, 0, "xenstore listed %s after %s",
                    w->nodes[i].path, w->nodes[i - 1].path);
            goto fail;
        }
    }
    free_nodes(st->nodes, st->nnodes);
    st->nodes = w->nodes;
    st->nnodes = w->n;
    free(w);
    return 0;
fail:
    free_nodes(w->nodes, w->n);
    free(w);
    return -1;
}

/* ---- restore --------------------------------------------------------- */

const char xen_transparent_source_gaps[] =
    "Xen 4.17 cannot list a domain's xenstore watches (XENSTORE_WATCHES: "
    "xenstored has no request that lists another connection's watches), "
    "nor report the grants it mapped from other domains (GRANT_MAPS), "
    "its event channel ABI, FIFO control blocks, or the pending and masked "
    "bits of its ports (EVTCHN_PORTS, EVTCHN_FIFO)";

int xen_transparent_restorable(const struct xmig_transparent_state *st)
{
    if (st->flags & XMIG_TRANSPARENT_EVTCHN) {
        if (st->evtchn_abi == XMIG_EVTCHN_ABI_FIFO) {
            return err_set(XMIG_ERR_UNSUPPORTED, 0, "EVTCHN_FIFO: Xen 4.17 "
                           "cannot register the FIFO control blocks and "
                           "event array pages of another domain "
                           "(EVTCHNOP_init_control and expand_array act only "
                           "for the caller)");
        }
        if (st->nports) {
            return err_set(XMIG_ERR_UNSUPPORTED, 0, "EVTCHN_PORTS: Xen 4.17 "
                           "cannot bind an event channel at a chosen port "
                           "(port %u, %s, and %u more): every EVTCHNOP that "
                           "creates a port takes the lowest free one",
                           st->ports[0].port, state_name(st->ports[0].state),
                           st->nports - 1);
        }
    }
    if (st->flags & XMIG_TRANSPARENT_GNTTAB) {
        if (st->gnt_version == 2) {
            return err_set(XMIG_ERR_UNSUPPORTED, 0, "GRANT_TABLE: Xen 4.17 "
                           "cannot set another domain's grant table to "
                           "version 2 (GNTTABOP_set_version acts only for "
                           "the caller)");
        }
        if (st->nmaps) {
            return err_set(XMIG_ERR_UNSUPPORTED, 0, "GRANT_MAPS: Xen 4.17 "
                           "cannot map a grant into another domain under a "
                           "chosen handle (%u mappings)", st->nmaps);
        }
    }
    if (st->flags & XMIG_TRANSPARENT_XENSTORE) {
        if (st->nwatches) {
            return err_set(XMIG_ERR_UNSUPPORTED, 0, "XENSTORE_WATCHES: Xen "
                           "4.17's xenstored cannot register a watch on "
                           "another domain's connection (%u watches, the "
                           "first on %s)", st->nwatches,
                           st->watches[0].path ? st->watches[0].path : "?");
        }
        for (uint32_t i = 0; i < st->nnodes; i++) {
            const struct xmig_xs_node *n = &st->nodes[i];
            if (n->nperms && n->perms && (n->perms[0].flags & 0x01)) {
                return err_set(XMIG_ERR_UNSUPPORTED, 0, "XENSTORE_NODES: "
                               "the owner of %s is a stale permission, which "
                               "Xen 4.17's xenstored cannot record",
                               n->path);
            }
        }
    }
    return 0;
}

/* ---- memory and scheduling -------------------------------------------- */

uint64_t xen_bitmap_take(const void *xen_bits, uint64_t nr_pfns,
                         uint64_t *bitmap)
{
    const uint8_t *b = xen_bits;
    uint64_t words = (nr_pfns + 63) / 64, total = 0;

    for (uint64_t w = 0; w < words; w++) {
        uint64_t v = rd64(b + w * 8);
        if (w == words - 1 && nr_pfns % 64) {
            v &= (UINT64_C(1) << (nr_pfns % 64)) - 1;
        }
        bitmap[w] = v;
        total += (uint64_t)__builtin_popcountll(v);
    }
    return total;
}

unsigned xen_throttle_cap(unsigned percent, uint32_t vcpus,
                          unsigned orig_cap)
{
    uint64_t cap;

    if (percent == 0) {
        return orig_cap;
    }
    if (percent > 99) {
        percent = 99;
    }
    cap = (uint64_t)(100 - percent) * (vcpus ? vcpus : 1);
    if (cap > 65535) {
        cap = 65535;
    }
    if (orig_cap && orig_cap < cap) {
        cap = orig_cap;
    }
    return (unsigned)cap;
}

/* ---- what xmig can carry -------------------------------------------- */

int xen_carry_refusal(const struct xen_carry_facts *f, const char *who)
{
    const char *dm;

    switch (f->type) {
    case XEN_CARRY_TYPE_PV:
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "%s is a PV guest: PV guests "
                       "are not supported; use xl", who);
    case XEN_CARRY_TYPE_HVM:
        /* libxl starts a device model for every HVM guest; its state
         * (emulated devices, timers, serial, disks in flight) goes in the
         * EMULATOR records, which xmig neither writes nor loads yet. */
        if (f->stubdom) {
            return err_set(XMIG_ERR_UNSUPPORTED, 0, "%s is an HVM guest whose "
                           "device model runs in a stub domain: HVM guests "
                           "with a stub-domain device model are not "
                           "supported: their device state would be lost; use "
                           "xl", who);
        }
        if (f->dm == XEN_CARRY_DM_TRADITIONAL) {
            return err_set(XMIG_ERR_UNSUPPORTED, 0, "%s is an HVM guest with "
                           "qemu-traditional: HVM guests with a "
                           "qemu-traditional device model are not supported: "
                           "their device state would be lost; use xl", who);
        }
        dm = f->dm == XEN_CARRY_DM_QEMU_XEN ? "qemu-xen" : "a device model";
        if (f->dm == XEN_CARRY_DM_QEMU_XEN && f->dm_carried) {
            break;   /* its state goes in the EMULATOR records */
        }
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "%s is an HVM guest with %s: "
                       "HVM guests with a qemu device model are not supported "
                       "yet: their device state would be lost; use xl", who,
                       dm);
    case XEN_CARRY_TYPE_PVH:
        break;
    case XEN_CARRY_TYPE_UNKNOWN:
    default:
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "%s is of a guest type xmig "
                       "does not know: only PVH guests are supported", who);
    }
    if (f->pci_devs) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "%s has %u PCI device%s "
                       "passed through: PCI passthrough is not supported (a "
                       "device's state cannot be moved); detach %s first",
                       who, f->pci_devs, f->pci_devs == 1 ? "" : "s",
                       f->pci_devs == 1 ? "it" : "them");
    }
    /* With memory below maxmem libxl builds the destination with
     * populate-on-demand, into which xmig's restore does not write. */
    if (f->target_kb && f->max_kb && f->target_kb < f->max_kb) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "%s uses populate-on-demand "
                       "memory (memory %llu KiB below maxmem %llu KiB): PoD "
                       "guests are not supported; use xl", who,
                       (unsigned long long)f->target_kb,
                       (unsigned long long)f->max_kb);
    }
    if (f->pod_entries) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "%s uses populate-on-demand "
                       "memory (%llu entries in Xen): PoD guests are not "
                       "supported; use xl", who,
                       (unsigned long long)f->pod_entries);
    }
    if (f->acpi_s_state) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "%s is asleep in ACPI S%u: a "
                       "sleeping guest cannot suspend itself for a move; wake "
                       "it first (xl trigger ID s3resume)", who,
                       f->acpi_s_state);
    }
    return 0;
}
