/*
 * GRANT_TABLE (the guest's grant table: version, frames, where the guest
 * mapped them, and every in-use entry in the v1 or v2 layout of
 * xen/grant_table.h, with v2 status words) and GRANT_MAPS (grants of other
 * domains the guest has mapped as grantee).
 */
#include "common/error.h"
#include "records/records.h"

#define GTF_TYPE_MASK 0x3u
#define GTF_PERMIT_ACCESS 0x1u
#define GTF_ACCEPT_TRANSFER 0x2u
#define GTF_TRANSITIVE 0x3u
#define GTF_READING 0x8u
#define GTF_WRITING 0x10u
#define GTF_SUB_PAGE 0x100u
#define GTF_KNOWN 0x1FFu              /* bits 0-8 */
#define GNTMAP_KNOWN (XMIG_GNTMAP_DEVICE_MAP | XMIG_GNTMAP_HOST_MAP | \
                      XMIG_GNTMAP_READONLY)

static uint32_t per_frame(uint32_t version)
{
    return version == 1 ? REC_GNT_V1_PER_FRAME : REC_GNT_V2_PER_FRAME;
}

size_t rec_grant_entry_size(uint32_t version)
{
    return version == 1 ? REC_GNT_V1_ENTRY_SIZE : REC_GNT_V2_ENTRY_SIZE;
}

size_t rec_grant_table_size(uint32_t version, uint32_t nr_frames,
                            uint32_t count)
{
    uint32_t status = version == 2 ? rec_gnt_status_frames(nr_frames) : 0;
    return 24 + ((size_t)nr_frames + status) * 8 +
           (size_t)count * rec_grant_entry_size(version);
}

static int check_gfns(const uint8_t *p, uint32_t n, size_t pos,
                      const char *what)
{
    for (uint32_t i = 0; i < n; i++) {
        uint64_t gfn = get_le64(p + (size_t)i * 8);
        if (gfn != XMIG_GFN_INVALID && gfn > XMIG_PFN_MASK) {
            return err_at_pos(pos + (size_t)i * 8, "%s frame %u: gfn 0x%llx "
                                                   "beyond 52 bits", what, i,
                              (unsigned long long)gfn);
        }
    }
    return 0;
}

/* Decode one entry of either layout into host form. */
void rec_grant_entry_get(uint32_t version, const uint8_t *e,
                         struct xmig_grant_entry *g)
{
    memset(g, 0, sizeof(*g));
    g->ref = get_le32(e);
    if (version == 1) {
        g->flags = get_le16(e + 8);
        g->domid = get_le16(e + 10);
        g->frame = get_le32(e + 12);
        return;
    }
    g->status = get_le16(e + 4);
    g->flags = get_le16(e + 8);
    g->domid = get_le16(e + 10);
    if ((g->flags & GTF_TYPE_MASK) == GTF_TRANSITIVE) {
        g->trans_domid = get_le16(e + 12);
        g->trans_gref = get_le32(e + 16);
    } else if (g->flags & GTF_SUB_PAGE) {
        g->page_off = get_le16(e + 12);
        g->length = get_le16(e + 14);
        g->frame = get_le64(e + 16);
    } else {
        g->frame = get_le64(e + 16);
    }
}

static int check_entry(uint32_t version, const uint8_t *e, size_t pos,
                       const struct xmig_grant_entry *g)
{
    unsigned type = g->flags & GTF_TYPE_MASK;

    if (bytes_all_zero(e + 4, rec_grant_entry_size(version) - 4)) {
        return err_at_pos(pos, "ref %u: an unused (all-zero) entry is not "
                               "sent", g->ref);
    }
    if (g->flags & ~GTF_KNOWN) {
        return err_at_pos(pos + 8, "ref %u: unknown flag bits 0x%x", g->ref,
                          g->flags & ~GTF_KNOWN);
    }
    if (type != 0 && g->domid >= REC_DOMID_FIRST_RESERVED) {
        return err_at_pos(pos + 10, "ref %u: domid 0x%x is reserved", g->ref,
                          g->domid);
    }
    if (version == 1) {
        if (type == GTF_TRANSITIVE || (g->flags & GTF_SUB_PAGE)) {
            return err_at_pos(pos + 8, "ref %u: transitive and sub-page "
                                       "grants exist only in v2", g->ref);
        }
        if (get_le32(e + 4)) {
            return err_at_pos(pos + 4, "ref %u: reserved field is nonzero",
                              g->ref);
        }
        return 0;
    }
    /* Sub-page access is a kind of permit_access, nothing else. */
    if ((g->flags & GTF_SUB_PAGE) && type != GTF_PERMIT_ACCESS) {
        return err_at_pos(pos + 8, "ref %u: a sub-page grant must be "
                                   "permit_access", g->ref);
    }
    /* v2: GTF_reading/GTF_writing live in the status word (for
     * accept_transfer, bit 3 is GTF_transfer_completed, in the entry). */
    if (type != GTF_ACCEPT_TRANSFER && (g->flags & (GTF_READING | GTF_WRITING))) {
        return err_at_pos(pos + 8, "ref %u: v2 entries keep reading/writing "
                                   "in the status word", g->ref);
    }
    if (g->status & ~(GTF_READING | GTF_WRITING)) {
        return err_at_pos(pos + 4, "ref %u: status 0x%x has bits other than "
                                   "reading/writing", g->ref, g->status);
    }
    if (get_le16(e + 6)) {
        return err_at_pos(pos + 6, "ref %u: reserved field is nonzero",
                          g->ref);
    }
    if (type == GTF_TRANSITIVE) {
        if (g->trans_domid >= REC_DOMID_FIRST_RESERVED) {
            return err_at_pos(pos + 12, "ref %u: transitive grant names "
                                        "reserved domid 0x%x", g->ref,
                              g->trans_domid);
        }
        if (get_le16(e + 14) || get_le32(e + 20)) {
            return err_at_pos(pos + (get_le16(e + 14) ? 14 : 20),
                              "ref %u: transitive grant padding is nonzero",
                              g->ref);
        }
        return 0;
    }
    if ((g->flags & GTF_SUB_PAGE) &&
        (uint32_t)g->page_off + g->length > XMIG_PAGE_SIZE) {
        return err_at_pos(pos + 12, "ref %u: sub-page %u+%u overruns the "
                                    "page", g->ref, g->page_off, g->length);
    }
    if (!(g->flags & GTF_SUB_PAGE) && get_le32(e + 12)) {
        return err_at_pos(pos + 12, "ref %u: padding of a full-page grant is "
                                    "nonzero", g->ref);
    }
    if (g->frame > XMIG_PFN_MASK) {
        return err_at_pos(pos + 16, "ref %u: frame beyond 52 bits", g->ref);
    }
    return 0;
}

int rec_grant_table_decode(struct cursor *c, struct xmig_grant_table *g)
{
    uint32_t reserved, prev = 0, capacity, want_status;
    size_t esize, gfn_bytes;

    if (cursor_get_le32(c, &g->version) < 0 ||
        cursor_get_le32(c, &g->nr_frames) < 0 ||
        cursor_get_le32(c, &g->nr_status_frames) < 0 ||
        cursor_get_le32(c, &g->count) < 0 ||
        cursor_get_le32(c, &g->max_frames) < 0 ||
        cursor_get_le32(c, &reserved) < 0) {
        return err_at(c, "GRANT_TABLE body too short for its header");
    }
    if (g->version != 1 && g->version != 2) {
        return err_at_pos(0, "grant table version %u is not 1 or 2",
                          g->version);
    }
    if (g->max_frames == 0 || g->max_frames > REC_GNT_MAX_FRAMES) {
        return err_at_pos(16, "max_frames %u outside 1..%u", g->max_frames,
                          REC_GNT_MAX_FRAMES);
    }
    if (g->nr_frames == 0 || g->nr_frames > g->max_frames) {
        return err_at_pos(4, "nr_frames %u outside 1..max_frames %u",
                          g->nr_frames, g->max_frames);
    }
    want_status = g->version == 2 ? rec_gnt_status_frames(g->nr_frames) : 0;
    if (g->nr_status_frames != want_status) {
        return err_at_pos(8, "nr_status_frames %u; a v%u table of %u frames "
                             "has %u", g->nr_status_frames, g->version,
                          g->nr_frames, want_status);
    }
    if (reserved) {
        return err_at_pos(20, "reserved field is nonzero");
    }
    capacity = g->nr_frames * per_frame(g->version);
    esize = rec_grant_entry_size(g->version);
    if (g->count > capacity ||
        cursor_left(c) != rec_grant_table_size(g->version, g->nr_frames,
                                               g->count) - 24) {
        return err_at_pos(12, "count %u (table holds %u entries) does not "
                              "match the body", g->count, capacity);
    }
    gfn_bytes = ((size_t)g->nr_frames + g->nr_status_frames) * 8;
    g->frame_gfns = cursor_here(c);
    g->status_gfns = g->frame_gfns + (size_t)g->nr_frames * 8;
    g->entries = g->frame_gfns + gfn_bytes;
    if (check_gfns(g->frame_gfns, g->nr_frames, 24, "shared") < 0 ||
        check_gfns(g->status_gfns, g->nr_status_frames,
                   24 + (size_t)g->nr_frames * 8, "status") < 0) {
        return -1;
    }
    for (uint32_t i = 0; i < g->count; i++) {
        const uint8_t *e = g->entries + (size_t)i * esize;
        size_t pos = 24 + gfn_bytes + (size_t)i * esize;
        struct xmig_grant_entry ge;

        rec_grant_entry_get(g->version, e, &ge);
        /* A reference beyond the table's frames names no entry at all. */
        if (ge.ref >= capacity) {
            return err_at_pos(pos, "ref %u lies beyond the table's %u frames "
                                   "(%u entries)", ge.ref, g->nr_frames,
                              capacity);
        }
        if (i > 0 && ge.ref <= prev) {
            return err_at_pos(pos, "ref %u after ref %u: entries ascend, "
                                   "each once", ge.ref, prev);
        }
        prev = ge.ref;
        if (check_entry(g->version, e, pos, &ge) < 0) {
            return -1;
        }
    }
    c->pos = c->len;
    return 0;
}

/* Fields the chosen layout cannot hold are refused, never dropped. */
static int entry_fits(uint32_t version, const struct xmig_grant_entry *g)
{
    int transitive = (g->flags & GTF_TYPE_MASK) == GTF_TRANSITIVE;

    if (version == 1 && (g->frame > UINT32_MAX || g->status || g->page_off ||
                         g->length || g->trans_domid || g->trans_gref)) {
        return err_set(XMIG_ERR_USAGE, 0, "ref %u: a v1 entry holds a 32-bit "
                       "frame and no status, sub-page or transitive fields",
                       g->ref);
    }
    if (version == 2 && transitive && (g->frame || g->page_off || g->length)) {
        return err_set(XMIG_ERR_USAGE, 0, "ref %u: a transitive entry has no "
                       "frame or sub-page", g->ref);
    }
    if (version == 2 && !transitive && !(g->flags & GTF_SUB_PAGE) &&
        (g->page_off || g->length || g->trans_domid || g->trans_gref)) {
        return err_set(XMIG_ERR_USAGE, 0, "ref %u: a full-page entry has no "
                       "sub-page or transitive fields", g->ref);
    }
    return 0;
}

static int put_entry(struct cursor *c, uint32_t version,
                     const struct xmig_grant_entry *g)
{
    int rc;

    if (version == 1) {
        return cursor_put_le32(c, g->ref) | cursor_put_le32(c, 0) |
               cursor_put_le16(c, g->flags) | cursor_put_le16(c, g->domid) |
               cursor_put_le32(c, (uint32_t)g->frame);
    }
    rc = cursor_put_le32(c, g->ref) | cursor_put_le16(c, g->status) |
         cursor_put_le16(c, 0) | cursor_put_le16(c, g->flags) |
         cursor_put_le16(c, g->domid);
    if ((g->flags & GTF_TYPE_MASK) == GTF_TRANSITIVE) {
        return rc | cursor_put_le16(c, g->trans_domid) |
               cursor_put_le16(c, 0) | cursor_put_le32(c, g->trans_gref) |
               cursor_put_le32(c, 0);
    }
    if (g->flags & GTF_SUB_PAGE) {
        return rc | cursor_put_le16(c, g->page_off) |
               cursor_put_le16(c, g->length) | cursor_put_le64(c, g->frame);
    }
    return rc | cursor_put_le32(c, 0) | cursor_put_le64(c, g->frame);
}

int rec_grant_table_encode(struct cursor *c, uint32_t version,
                           uint32_t nr_frames, uint32_t max_frames,
                           const uint64_t *frame_gfns,
                           const uint64_t *status_gfns,
                           const struct xmig_grant_entry *e, uint32_t n)
{
    uint32_t status = version == 2 ? rec_gnt_status_frames(nr_frames) : 0;

    if (version != 1 && version != 2) {
        return err_set(XMIG_ERR_USAGE, 0, "grant table version %u", version);
    }
    if (cursor_put_le32(c, version) < 0 || cursor_put_le32(c, nr_frames) < 0 ||
        cursor_put_le32(c, status) < 0 || cursor_put_le32(c, n) < 0 ||
        cursor_put_le32(c, max_frames) < 0 || cursor_put_le32(c, 0) < 0) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for GRANT_TABLE");
    }
    for (uint32_t i = 0; i < nr_frames + status; i++) {
        uint64_t gfn = i < nr_frames ? frame_gfns[i]
                                     : status_gfns[i - nr_frames];
        if (cursor_put_le64(c, gfn) < 0) {
            return err_set(XMIG_ERR_USAGE, 0, "no room for grant frames");
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        if (entry_fits(version, &e[i]) < 0) {
            return -1;
        }
        if (put_entry(c, version, &e[i]) < 0) {
            return err_set(XMIG_ERR_USAGE, 0, "no room for grant entries");
        }
    }
    return 0;
}

int rec_grant_maps_decode(struct cursor *c, struct xmig_grant_maps *m)
{
    uint32_t reserved, prev = 0;

    if (cursor_get_le32(c, &m->count) < 0 ||
        cursor_get_le32(c, &reserved) < 0) {
        return err_at(c, "GRANT_MAPS body too short for its header");
    }
    if (reserved) {
        return err_at_pos(4, "reserved field is nonzero");
    }
    if (cursor_left(c) / REC_GNT_MAP_SIZE != m->count ||
        cursor_left(c) % REC_GNT_MAP_SIZE != 0) {
        return err_at_pos(0, "count %u needs %llu octets of entries, body "
                             "has %zu", m->count,
                          (unsigned long long)m->count * REC_GNT_MAP_SIZE,
                          cursor_left(c));
    }
    m->entries = cursor_here(c);
    for (uint32_t i = 0; i < m->count; i++) {
        const uint8_t *e = m->entries + (size_t)i * REC_GNT_MAP_SIZE;
        size_t pos = 8 + (size_t)i * REC_GNT_MAP_SIZE;
        uint32_t handle = get_le32(e);
        uint16_t domid = get_le16(e + 4), flags = get_le16(e + 6);

        if (i > 0 && handle <= prev) {
            return err_at_pos(pos, "handle %u after %u: handles ascend, "
                                   "each once", handle, prev);
        }
        prev = handle;
        if (domid >= REC_DOMID_FIRST_RESERVED) {
            return err_at_pos(pos + 4, "handle %u: granting domid 0x%x is "
                                       "reserved", handle, domid);
        }
        if ((flags & ~GNTMAP_KNOWN) ||
            !(flags & (XMIG_GNTMAP_HOST_MAP | XMIG_GNTMAP_DEVICE_MAP))) {
            return err_at_pos(pos + 6, "handle %u: flags 0x%x (host_map "
                                       "and/or device_map, optionally "
                                       "readonly)", handle, flags);
        }
        if (get_le32(e + 12)) {
            return err_at_pos(pos + 12, "handle %u: reserved field is "
                                        "nonzero", handle);
        }
        if (get_le64(e + 16) > XMIG_PFN_MASK) {
            return err_at_pos(pos + 16, "handle %u: gfn beyond 52 bits",
                              handle);
        }
    }
    c->pos = c->len;
    return 0;
}

int rec_grant_maps_encode(struct cursor *c, const struct xmig_grant_map *m,
                          uint32_t n)
{
    if (cursor_put_le32(c, n) < 0 || cursor_put_le32(c, 0) < 0) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for GRANT_MAPS");
    }
    for (uint32_t i = 0; i < n; i++) {
        if (cursor_put_le32(c, m[i].handle) < 0 ||
            cursor_put_le16(c, m[i].domid) < 0 ||
            cursor_put_le16(c, m[i].flags) < 0 ||
            cursor_put_le32(c, m[i].ref) < 0 || cursor_put_le32(c, 0) < 0 ||
            cursor_put_le64(c, m[i].gfn) < 0) {
            return err_set(XMIG_ERR_USAGE, 0, "no room for grant maps");
        }
    }
    return 0;
}
