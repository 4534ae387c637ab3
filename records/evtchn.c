/*
 * EVTCHN_PORTS (every open port of the domain with its binding, pending
 * and masked bits) and EVTCHN_FIFO (per-vCPU control blocks and event
 * array pages of the FIFO ABI).
 */
#include "common/error.h"
#include "records/records.h"

#define PORT_FLAGS_KNOWN (XMIG_EVTCHN_PENDING | XMIG_EVTCHN_MASKED)
#define NR_VIRQS 24u
#define FIFO_CONTROL_BLOCK_SIZE 72u   /* evtchn_fifo_control_block */

/* Per-state rules for the binding fields of one port entry at pos. */
static int check_binding(const struct xmig_evtchn_port *p, size_t pos)
{
    int remote = p->remote_domid != 0 || p->remote_port != 0;

    switch (p->state) {
    case XMIG_EVTCHN_UNBOUND:
        if (p->remote_port || p->number) {
            return err_at_pos(pos + (p->remote_port ? 16 : 20),
                              "port %u: an unbound port has no remote port "
                              "or number", p->port);
        }
        break;
    case XMIG_EVTCHN_INTERDOMAIN:
        if (p->remote_port == 0 || p->number) {
            return err_at_pos(pos + (p->remote_port ? 20 : 16),
                              "port %u: an interdomain port needs a remote "
                              "port and no number", p->port);
        }
        break;
    case XMIG_EVTCHN_VIRQ:
        if (remote || p->number >= NR_VIRQS) {
            return err_at_pos(pos + (p->remote_domid ? 12
                                     : p->remote_port ? 16
                                                      : 20),
                              "port %u: VIRQ %u (must be below %u, with no "
                              "remote end)", p->port, p->number, NR_VIRQS);
        }
        break;
    case XMIG_EVTCHN_PIRQ:
    case XMIG_EVTCHN_IPI:
        if (remote || (p->state == XMIG_EVTCHN_IPI && p->number)) {
            return err_at_pos(pos + (p->remote_domid ? 12
                                     : p->remote_port ? 16
                                                      : 20),
                              "port %u: %s port has no remote end%s",
                              p->port,
                              p->state == XMIG_EVTCHN_IPI ? "an IPI" : "a PIRQ",
                              p->state == XMIG_EVTCHN_IPI ? " or number"
                                                          : "");
        }
        break;
    default:
        return err_at_pos(pos + 4, "port %u: state %u is not one of "
                                   "unbound (1), interdomain, PIRQ, VIRQ, "
                                   "IPI (5)", p->port, p->state);
    }
    if (p->remote_domid >= REC_DOMID_FIRST_RESERVED) {
        return err_at_pos(pos + 12, "port %u: remote domid 0x%x is reserved",
                          p->port, p->remote_domid);
    }
    return 0;
}

void rec_evtchn_port_get(const uint8_t *e, struct xmig_evtchn_port *p)
{
    p->port = get_le32(e);
    p->state = e[4];
    p->flags = e[5];
    p->priority = e[6];
    p->vcpu = get_le32(e + 8);
    p->remote_domid = get_le16(e + 12);
    p->remote_port = get_le32(e + 16);
    p->number = get_le32(e + 20);
}

int rec_evtchn_ports_decode(struct cursor *c, struct xmig_evtchn_ports *p)
{
    uint32_t reserved, limit, prev = 0;
    uint8_t virqs[NR_VIRQS][REC_MAX_VCPUS / 8];

    if (cursor_get_le32(c, &p->abi) < 0 || cursor_get_le32(c, &p->count) < 0 ||
        cursor_get_le32(c, &p->max_port) < 0 ||
        cursor_get_le32(c, &reserved) < 0) {
        return err_at(c, "EVTCHN_PORTS body too short for its header");
    }
    if (p->abi != XMIG_EVTCHN_ABI_2L && p->abi != XMIG_EVTCHN_ABI_FIFO) {
        return err_at_pos(0, "ABI %u is neither 2-level (1) nor FIFO (2)",
                          p->abi);
    }
    limit = p->abi == XMIG_EVTCHN_ABI_2L ? REC_EVTCHN_MAX_PORT_2L
                                         : REC_EVTCHN_MAX_PORT_FIFO;
    if (p->max_port == 0 || p->max_port > limit) {
        return err_at_pos(8, "max_port %u outside 1..%u for this ABI",
                          p->max_port, limit);
    }
    if (reserved) {
        return err_at_pos(12, "reserved field is nonzero");
    }
    if (p->count > p->max_port ||
        cursor_left(c) != (size_t)p->count * REC_EVTCHN_PORT_SIZE) {
        return err_at_pos(4, "count %u needs %llu octets of entries (and at "
                             "most max_port of them), body has %zu",
                          p->count,
                          (unsigned long long)p->count * REC_EVTCHN_PORT_SIZE,
                          cursor_left(c));
    }
    p->entries = cursor_here(c);
    memset(virqs, 0, sizeof(virqs));
    for (uint32_t i = 0; i < p->count; i++) {
        size_t pos = 16 + (size_t)i * REC_EVTCHN_PORT_SIZE;
        const uint8_t *e = p->entries + (size_t)i * REC_EVTCHN_PORT_SIZE;
        struct xmig_evtchn_port port;

        rec_evtchn_port_get(e, &port);
        /* Port 0 is never allocated; ports ascend, each at most once. */
        if (port.port == 0 || port.port > p->max_port || port.port <= prev) {
            return err_at_pos(pos, "port %u out of order or outside "
                                   "1..max_port %u (previous %u)", port.port,
                              p->max_port, prev);
        }
        prev = port.port;
        if (port.flags & ~PORT_FLAGS_KNOWN) {
            return err_at_pos(pos + 5, "port %u: reserved flag bits 0x%x",
                              port.port, port.flags & ~PORT_FLAGS_KNOWN);
        }
        if (p->abi == XMIG_EVTCHN_ABI_2L ? port.priority != 0
                                         : port.priority > 15) {
            return err_at_pos(pos + 6, "port %u: priority %u (FIFO: 0-15; "
                                       "2-level: 0)", port.port,
                              port.priority);
        }
        if (e[7] || get_le16(e + 14)) {
            return err_at_pos(pos + (e[7] ? 7 : 14), "port %u: reserved "
                                                     "field is nonzero",
                              port.port);
        }
        if (port.vcpu >= REC_MAX_VCPUS) {
            return err_at_pos(pos + 8, "port %u: vCPU %u is beyond %u",
                              port.port, port.vcpu, REC_MAX_VCPUS - 1);
        }
        if (check_binding(&port, pos) < 0) {
            return -1;
        }
        /* A VIRQ is bound at most once per vCPU. */
        if (port.state == XMIG_EVTCHN_VIRQ) {
            uint8_t *bit = &virqs[port.number][port.vcpu / 8];
            if (*bit & (1u << (port.vcpu % 8))) {
                return err_at_pos(pos + 20, "port %u: VIRQ %u is already "
                                            "bound on vCPU %u", port.port,
                                  port.number, port.vcpu);
            }
            *bit |= (uint8_t)(1u << (port.vcpu % 8));
        }
    }
    c->pos = c->len;
    return 0;
}

int rec_evtchn_ports_encode(struct cursor *c, uint32_t abi, uint32_t max_port,
                            const struct xmig_evtchn_port *p, uint32_t n)
{
    if (cursor_put_le32(c, abi) < 0 || cursor_put_le32(c, n) < 0 ||
        cursor_put_le32(c, max_port) < 0 || cursor_put_le32(c, 0) < 0) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for EVTCHN_PORTS");
    }
    for (uint32_t i = 0; i < n; i++) {
        if (cursor_put_le32(c, p[i].port) < 0 ||
            cursor_put_u8(c, p[i].state) < 0 ||
            cursor_put_u8(c, p[i].flags) < 0 ||
            cursor_put_u8(c, p[i].priority) < 0 ||
            cursor_put_u8(c, 0) < 0 || cursor_put_le32(c, p[i].vcpu) < 0 ||
            cursor_put_le16(c, p[i].remote_domid) < 0 ||
            cursor_put_le16(c, 0) < 0 ||
            cursor_put_le32(c, p[i].remote_port) < 0 ||
            cursor_put_le32(c, p[i].number) < 0) {
            return err_set(XMIG_ERR_USAGE, 0, "no room for port entries");
        }
    }
    return 0;
}

int rec_evtchn_fifo_decode(const struct rec_ctx *ctx, struct cursor *c,
                           struct xmig_evtchn_fifo *f)
{
    uint8_t seen[REC_MAX_VCPUS / 8] = { 0 };
    size_t want;
    uint32_t prev = 0;

    if (cursor_get_le32(c, &f->nr_vcpus) < 0 ||
        cursor_get_le32(c, &f->nr_array_pages) < 0) {
        return err_at(c, "EVTCHN_FIFO body too short for its header");
    }
    if (f->nr_vcpus == 0 || f->nr_vcpus > REC_MAX_VCPUS) {
        return err_at_pos(0, "nr_vcpus %u outside 1..%u", f->nr_vcpus,
                          REC_MAX_VCPUS);
    }
    if (f->nr_array_pages == 0 ||
        f->nr_array_pages >
            (REC_EVTCHN_MAX_PORT_FIFO + 1) / REC_EVTCHN_WORDS_PER_PAGE) {
        return err_at_pos(4, "nr_array_pages %u outside 1..%u",
                          f->nr_array_pages,
                          (REC_EVTCHN_MAX_PORT_FIFO + 1) /
                              REC_EVTCHN_WORDS_PER_PAGE);
    }
    want = (size_t)f->nr_vcpus * REC_EVTCHN_FIFO_VCPU_SIZE +
           (size_t)f->nr_array_pages * 8;
    if (cursor_left(c) != want) {
        return err_at_pos(0, "%u vCPUs and %u array pages need %zu octets, "
                             "body has %zu", f->nr_vcpus, f->nr_array_pages,
                          want, cursor_left(c));
    }
    f->vcpus = cursor_here(c);
    f->array_gfns = f->vcpus + (size_t)f->nr_vcpus * REC_EVTCHN_FIFO_VCPU_SIZE;
    for (uint32_t i = 0; i < f->nr_vcpus; i++) {
        const uint8_t *e = f->vcpus + (size_t)i * REC_EVTCHN_FIFO_VCPU_SIZE;
        size_t pos = 8 + (size_t)i * REC_EVTCHN_FIFO_VCPU_SIZE;
        uint32_t id = get_le32(e), offset = get_le32(e + 4);

        if (id >= REC_MAX_VCPUS || (i > 0 && id <= prev)) {
            return err_at_pos(pos, "vCPU %u out of order or beyond %u", id,
                              REC_MAX_VCPUS - 1);
        }
        prev = id;
        seen[id / 8] |= (uint8_t)(1u << (id % 8));
        /* EVTCHNOP_init_control: 8-aligned, the block within the page. */
        if ((offset & 7) ||
            offset > XMIG_PAGE_SIZE - FIFO_CONTROL_BLOCK_SIZE) {
            return err_at_pos(pos + 4, "vCPU %u: control block offset %u is "
                                       "unaligned or overruns its page", id,
                              offset);
        }
        if (get_le64(e + 8) > XMIG_PFN_MASK) {
            return err_at_pos(pos + 8, "vCPU %u: control gfn beyond 52 bits",
                              id);
        }
    }
    for (uint32_t i = 0; i < f->nr_array_pages; i++) {
        if (get_le64(f->array_gfns + (size_t)i * 8) > XMIG_PFN_MASK) {
            return err_at_pos(8 + (size_t)f->nr_vcpus *
                                      REC_EVTCHN_FIFO_VCPU_SIZE + i * 8,
                              "event array page %u: gfn beyond 52 bits", i);
        }
    }
    /* Cross-checks with EVTCHN_PORTS, which precedes this record. */
    if (ctx->evtchn_top_port >=
        f->nr_array_pages * REC_EVTCHN_WORDS_PER_PAGE) {
        return err_at_pos(4, "port %u lies beyond the %u event array pages",
                          ctx->evtchn_top_port, f->nr_array_pages);
    }
    for (uint32_t v = 0; v < REC_MAX_VCPUS; v++) {
        if ((ctx->evtchn_vcpus[v / 8] >> (v % 8)) & 1 &&
            !((seen[v / 8] >> (v % 8)) & 1)) {
            return err_at_pos(0, "ports notify vCPU %u, which has no "
                                 "control block", v);
        }
    }
    c->pos = c->len;
    return 0;
}

int rec_evtchn_fifo_encode(struct cursor *c,
                           const struct xmig_evtchn_fifo_vcpu *v, uint32_t nv,
                           const uint64_t *array_gfns, uint32_t na)
{
    if (cursor_put_le32(c, nv) < 0 || cursor_put_le32(c, na) < 0) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for EVTCHN_FIFO");
    }
    for (uint32_t i = 0; i < nv; i++) {
        if (cursor_put_le32(c, v[i].vcpu_id) < 0 ||
            cursor_put_le32(c, v[i].offset) < 0 ||
            cursor_put_le64(c, v[i].control_gfn) < 0) {
            return err_set(XMIG_ERR_USAGE, 0, "no room for FIFO vCPUs");
        }
    }
    for (uint32_t i = 0; i < na; i++) {
        if (cursor_put_le64(c, array_gfns[i]) < 0) {
            return err_set(XMIG_ERR_USAGE, 0, "no room for FIFO pages");
        }
    }
    return 0;
}
