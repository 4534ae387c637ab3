/*
 * xmig dump: the transparent records, one line per port, grant, mapping,
 * node and watch, in text or JSON.
 */
#include <inttypes.h>
#include <string.h>

#include "xmigd/dump.h"

static const char *port_state(uint8_t s)
{
    static const char *names[] = { "closed", "unbound", "interdomain",
                                   "pirq", "virq", "ipi" };
    return s < 6 ? names[s] : "?";
}

static void flags_text(FILE *o, uint32_t flags)
{
    fprintf(o, "%s%s%s", flags & XMIG_TRANSPARENT_EVTCHN ? " evtchn" : "",
            flags & XMIG_TRANSPARENT_GNTTAB ? " gnttab" : "",
            flags & XMIG_TRANSPARENT_XENSTORE ? " xenstore" : "");
}

/* Printable octets as they are, the rest as \xNN. */
static void text_bytes(FILE *o, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' && p[i] != '\'') {
            fputc(p[i], o);
        } else {
            fprintf(o, "\\x%02x", p[i]);
        }
    }
}

static void text_ports(FILE *o, const struct xmig_record *rec)
{
    const struct xmig_evtchn_ports *v = &rec->u.evtchn_ports;

    fprintf(o, ": %s ABI, max port %u, %u ports",
            v->abi == XMIG_EVTCHN_ABI_FIFO ? "FIFO" : "2-level", v->max_port,
            v->count);
    for (uint32_t i = 0; i < v->count; i++) {
        struct xmig_evtchn_port p;
        xmig_evtchn_port_get(v, i, &p);
        fprintf(o, "\n            port %u %s vcpu%u", p.port,
                port_state(p.state), p.vcpu);
        if (p.state == XMIG_EVTCHN_UNBOUND ||
            p.state == XMIG_EVTCHN_INTERDOMAIN) {
            fprintf(o, " remote dom%u", p.remote_domid);
        }
        if (p.state == XMIG_EVTCHN_INTERDOMAIN) {
            fprintf(o, " port %u", p.remote_port);
        }
        if (p.state == XMIG_EVTCHN_VIRQ || p.state == XMIG_EVTCHN_PIRQ) {
            fprintf(o, " %s %u", p.state == XMIG_EVTCHN_VIRQ ? "virq" : "pirq",
                    p.number);
        }
        if (v->abi == XMIG_EVTCHN_ABI_FIFO) {
            fprintf(o, " priority %u", p.priority);
        }
        fprintf(o, "%s%s", p.flags & XMIG_EVTCHN_PENDING ? " pending" : "",
                p.flags & XMIG_EVTCHN_MASKED ? " masked" : "");
    }
}

static void text_grants(FILE *o, const struct xmig_record *rec)
{
    const struct xmig_grant_table *v = &rec->u.grant_table;

    fprintf(o, ": v%u, %u of %u frames, %u entries", v->version, v->nr_frames,
            v->max_frames, v->count);
    for (uint32_t i = 0; i < v->nr_frames; i++) {
        fprintf(o, "\n            frame %u at gfn 0x%" PRIx64, i,
                xmig_grant_frame_gfn(v, i));
    }
    for (uint32_t i = 0; i < v->nr_status_frames; i++) {
        fprintf(o, "\n            status frame %u at gfn 0x%" PRIx64, i,
                xmig_grant_status_gfn(v, i));
    }
    for (uint32_t i = 0; i < v->count; i++) {
        struct xmig_grant_entry g;
        xmig_grant_entry_get(v, i, &g);
        fprintf(o, "\n            ref %u flags 0x%x dom%u", g.ref, g.flags,
                g.domid);
        if ((g.flags & 3) == 3) {
            fprintf(o, " transitive dom%u ref %u", g.trans_domid,
                    g.trans_gref);
        } else {
            fprintf(o, " frame 0x%" PRIx64, g.frame);
        }
        if (g.flags & 0x100) {
            fprintf(o, " sub-page %u+%u", g.page_off, g.length);
        }
        if (v->version == 2) {
            fprintf(o, " status 0x%x", g.status);
        }
    }
}

static void text_xenstore(FILE *o, const struct xmig_record *rec)
{
    const struct xmig_xs_list *v = &rec->u.xs_list;
    uint32_t pos = 0;

    if (rec->type == XMIG_LIBXL_XENSTORE_WATCHES) {
        struct xmig_xs_watch w;
        fprintf(o, ": %u watches", v->count);
        while (xmig_xs_watch_next(v, &pos, &w)) {
            fprintf(o, "\n            %s token '%s'", w.path, w.token);
        }
        return;
    }
    fprintf(o, ": %u nodes", v->count);
    {
        struct xmig_xs_node n;
        while (xmig_xs_node_next(v, &pos, &n)) {
            fprintf(o, "\n            %s = '", n.path);
            text_bytes(o, n.value, n.value_len);
            fprintf(o, "' (");
            for (uint32_t k = 0; k < n.nperms; k++) {
                struct xmig_xs_perm p;
                xmig_xs_perm_get(&n, k, &p);
                fprintf(o, "%s%c%u%s", k ? "," : "", p.perm, p.domid,
                        p.flags & 1 ? "!" : "");
            }
            fprintf(o, ")");
        }
    }
}

int dump_transparent_text(FILE *o, const struct xmig_record *rec)
{
    switch (rec->type) {
    case XMIG_LIBXC_TRANSPARENT:
    case XMIG_LIBXL_TRANSPARENT:
        fprintf(o, ": version %u, state", rec->u.transparent.version);
        flags_text(o, rec->u.transparent.flags);
        if (rec->layer == XMIG_LAYER_LIBXL) {
            fprintf(o, ", domid %u preserved", rec->u.transparent.domid);
        }
        return 1;
    case XMIG_LIBXC_EVTCHN_PORTS:
        text_ports(o, rec);
        return 1;
    case XMIG_LIBXC_EVTCHN_FIFO: {
        const struct xmig_evtchn_fifo *v = &rec->u.evtchn_fifo;
        fprintf(o, ": %u vCPUs, %u event array pages", v->nr_vcpus,
                v->nr_array_pages);
        for (uint32_t i = 0; i < v->nr_vcpus; i++) {
            struct xmig_evtchn_fifo_vcpu f;
            xmig_evtchn_fifo_vcpu_get(v, i, &f);
            fprintf(o, "\n            vcpu%u control block gfn 0x%" PRIx64
                       " + %u", f.vcpu_id, f.control_gfn, f.offset);
        }
        for (uint32_t i = 0; i < v->nr_array_pages; i++) {
            fprintf(o, "\n            event array page %u at gfn 0x%" PRIx64,
                    i, xmig_evtchn_fifo_array_gfn(v, i));
        }
        return 1;
    }
    case XMIG_LIBXC_GRANT_TABLE:
        text_grants(o, rec);
        return 1;
    case XMIG_LIBXC_GRANT_MAPS:
        fprintf(o, ": %u mappings", rec->u.grant_maps.count);
        for (uint32_t i = 0; i < rec->u.grant_maps.count; i++) {
            struct xmig_grant_map m;
            xmig_grant_map_get(&rec->u.grant_maps, i, &m);
            fprintf(o, "\n            handle %u dom%u ref %u at gfn 0x%" PRIx64
                       " flags 0x%x", m.handle, m.domid, m.ref, m.gfn,
                    m.flags);
        }
        return 1;
    case XMIG_LIBXL_XENSTORE_NODES:
    case XMIG_LIBXL_XENSTORE_WATCHES:
        text_xenstore(o, rec);
        return 1;
    default:
        return 0;
    }
}

int dump_transparent_json(FILE *o, const struct xmig_record *rec)
{
    switch (rec->type) {
    case XMIG_LIBXC_TRANSPARENT:
    case XMIG_LIBXL_TRANSPARENT:
        fprintf(o, ", \"version\": %u, \"flags\": %u, \"domid\": %u",
                rec->u.transparent.version, rec->u.transparent.flags,
                rec->u.transparent.domid);
        return 1;
    case XMIG_LIBXC_EVTCHN_PORTS: {
        const struct xmig_evtchn_ports *v = &rec->u.evtchn_ports;
        fprintf(o, ", \"abi\": %u, \"max_port\": %u, \"ports\": [", v->abi,
                v->max_port);
        for (uint32_t i = 0; i < v->count; i++) {
            struct xmig_evtchn_port p;
            xmig_evtchn_port_get(v, i, &p);
            fprintf(o, "%s{\"port\": %u, \"state\": \"%s\", \"vcpu\": %u, "
                       "\"flags\": %u, \"priority\": %u, \"remote_domid\": "
                       "%u, \"remote_port\": %u, \"number\": %u}",
                    i ? ", " : "", p.port, port_state(p.state), p.vcpu,
                    p.flags, p.priority, p.remote_domid, p.remote_port,
                    p.number);
        }
        fprintf(o, "]");
        return 1;
    }
    case XMIG_LIBXC_EVTCHN_FIFO:
        fprintf(o, ", \"vcpus\": %u, \"array_pages\": %u",
                rec->u.evtchn_fifo.nr_vcpus,
                rec->u.evtchn_fifo.nr_array_pages);
        return 1;
    case XMIG_LIBXC_GRANT_TABLE:
        fprintf(o, ", \"version\": %u, \"frames\": %u, \"max_frames\": %u, "
                   "\"entries\": %u",
                rec->u.grant_table.version, rec->u.grant_table.nr_frames,
                rec->u.grant_table.max_frames, rec->u.grant_table.count);
        return 1;
    case XMIG_LIBXC_GRANT_MAPS:
        fprintf(o, ", \"maps\": %u", rec->u.grant_maps.count);
        return 1;
    case XMIG_LIBXL_XENSTORE_NODES:
    case XMIG_LIBXL_XENSTORE_WATCHES:
        fprintf(o, ", \"%s\": %u",
                rec->type == XMIG_LIBXL_XENSTORE_NODES ? "nodes" : "watches",
                rec->u.xs_list.count);
        return 1;
    default:
        return 0;
    }
}
