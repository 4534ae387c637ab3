/*
 * Shared body of the reader harnesses (fuzz_libxc.c, fuzz_libxl.c,
 * fuzz_xl.c): read one input to the end through the public API and read
 * every octet every view lends, comparing it with the input where it should
 * have come from.  ASan then catches a view that points outside the input
 * or the reader's buffer; the comparison catches one that points at the
 * wrong octets.  Every item also goes through the transparent-state
 * collector.  Public API only, so the harnesses see what users see.
 */
#ifndef XMIG_FUZZ_HARNESS_H
#define XMIG_FUZZ_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmig.h"

#define FUZZ_RECORD_HEADER 8u   /* {u32 type, u32 body_length} */
#define FUZZ_XL_CONFIG_AT 52u   /* 48-octet xl header, then u32 config_len */

/* Entry sizes of the transparent records' arrays
 * (docs/specs/transparent-migration-records.md). */
#define FUZZ_EVTCHN_PORT_SIZE 24u
#define FUZZ_FIFO_VCPU_SIZE 16u
#define FUZZ_GNT_V1_ENTRY_SIZE 16u
#define FUZZ_GNT_V2_ENTRY_SIZE 24u
#define FUZZ_GNT_MAP_SIZE 24u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What one read of an input saw; two transports over the same octets must
 * see the same. */
struct fuzz_run {
    const uint8_t *input;
    size_t size;
    uint64_t items;
    uint64_t digest;        /* every scalar and view length, in order */
    int rc;                 /* xmig_reader_run */
    int eof_rc;             /* xmig_reader_expect_eof; 1 if not reached */
    enum xmig_error_category cat;
    struct xmig_stream_stats stats;
    struct xmig_transparent_state *st;  /* what the collector gathered */
};

static void fuzz_fail(const struct fuzz_run *run, const struct xmig_record *rec,
                      const char *why)
{
    fprintf(stderr, "fuzz: %s: item %llu, kind %d, layer %d, type 0x%x, "
                    "offset %llu, length %u, input %zu octets\n",
            why, (unsigned long long)run->items, rec ? (int)rec->kind : -1,
            rec ? (int)rec->layer : -1, rec ? rec->type : 0,
            rec ? (unsigned long long)rec->offset : 0ull,
            rec ? rec->length : 0, run->size);
    abort();
}

static void fold(struct fuzz_run *run, uint64_t v)
{
    run->digest = (run->digest ^ v) * UINT64_C(0x100000001b3);
}

/* n octets at p, a view inside rec's body: it must lie within the body and
 * hold the input's octets at the same distance from the record header.
 * memcmp reads all n octets (ASan checks the whole range). */
static void check_view(struct fuzz_run *run, const struct xmig_record *rec,
                       const uint8_t *p, uint64_t n, const char *what)
{
    uintptr_t body = (uintptr_t)rec->body, at = (uintptr_t)p;
    uint64_t from;

    fold(run, n);
    if (n == 0) {
        return;
    }
    if (!p || at < body || at - body > rec->length ||
        n > rec->length - (at - body)) {
        fuzz_fail(run, rec, what);
    }
    from = rec->offset + FUZZ_RECORD_HEADER + (at - body);
    if (from > run->size || n > run->size - from ||
        memcmp(p, run->input + from, (size_t)n) != 0) {
        fuzz_fail(run, rec, what);
    }
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* A pfn type that carries a page of data (NOTAB, L1-L4, pinned L1-L4). */
static int type_has_data(unsigned type)
{
    return type <= 0x4u || (type >= 0x9u && type <= 0xCu);
}

static void touch_page_data(struct fuzz_run *run,
                            const struct xmig_record *rec)
{
    const struct xmig_page_data *pd = &rec->u.page_data;
    uint32_t with_data = 0;

    check_view(run, rec, pd->pfns, (uint64_t)pd->count * 8, "PAGE_DATA pfns");
    for (uint32_t i = 0; i < pd->count; i++) {
        uint64_t word = xmig_page_data_pfn_word(pd, i);
        unsigned type = (unsigned)(word >> XMIG_PFN_TYPE_SHIFT);

        if (word != le64(pd->pfns + (size_t)i * 8)) {
            fuzz_fail(run, rec, "pfn word accessor disagrees with the view");
        }
        with_data += (uint32_t)type_has_data(type);
        fold(run, word);
    }
    if (pd->count == 0 || with_data != pd->data_pages) {
        fuzz_fail(run, rec, "PAGE_DATA counts disagree with the pfn words");
    }
    check_view(run, rec, pd->data, (uint64_t)pd->data_pages * XMIG_PAGE_SIZE,
               "PAGE_DATA pages");
    /* The pfns and pages are the whole body: nothing unread in between. */
    if (8 + (uint64_t)pd->count * 8 +
            (uint64_t)pd->data_pages * XMIG_PAGE_SIZE != rec->length) {
        fuzz_fail(run, rec, "PAGE_DATA views do not cover the body");
    }
}

static void touch_evtchn(struct fuzz_run *run, const struct xmig_record *rec)
{
    const struct xmig_evtchn_ports *ports = &rec->u.evtchn_ports;
    const struct xmig_evtchn_fifo *fifo = &rec->u.evtchn_fifo;
    struct xmig_evtchn_port p;
    struct xmig_evtchn_fifo_vcpu v;

    if (rec->type == XMIG_LIBXC_EVTCHN_PORTS) {
        fold(run, ports->abi);
        fold(run, ports->max_port);
        check_view(run, rec, ports->entries,
                   (uint64_t)ports->count * FUZZ_EVTCHN_PORT_SIZE,
                   "event channel ports");
        for (uint32_t i = 0; i < ports->count; i++) {
            xmig_evtchn_port_get(ports, i, &p);
            fold(run, p.port ^ ((uint64_t)p.vcpu << 32));
            fold(run, p.state | (uint64_t)p.flags << 8 |
                          (uint64_t)p.priority << 16 |
                          (uint64_t)p.remote_domid << 32);
            fold(run, p.remote_port ^ ((uint64_t)p.number << 32));
        }
        return;
    }
    check_view(run, rec, fifo->vcpus,
               (uint64_t)fifo->nr_vcpus * FUZZ_FIFO_VCPU_SIZE, "FIFO vCPUs");
    check_view(run, rec, fifo->array_gfns, (uint64_t)fifo->nr_array_pages * 8,
               "FIFO event array");
    for (uint32_t i = 0; i < fifo->nr_vcpus; i++) {
        xmig_evtchn_fifo_vcpu_get(fifo, i, &v);
        fold(run, v.vcpu_id ^ ((uint64_t)v.offset << 32));
        fold(run, v.control_gfn);
    }
    for (uint32_t i = 0; i < fifo->nr_array_pages; i++) {
        fold(run, xmig_evtchn_fifo_array_gfn(fifo, i));
    }
}

static void touch_gnttab(struct fuzz_run *run, const struct xmig_record *rec)
{
    const struct xmig_grant_table *gt = &rec->u.grant_table;
    const struct xmig_grant_maps *maps = &rec->u.grant_maps;
    uint64_t esize = gt->version == 1 ? FUZZ_GNT_V1_ENTRY_SIZE
                                      : FUZZ_GNT_V2_ENTRY_SIZE;
    struct xmig_grant_entry e;
    struct xmig_grant_map m;

    if (rec->type == XMIG_LIBXC_GRANT_MAPS) {
        check_view(run, rec, maps->entries,
                   (uint64_t)maps->count * FUZZ_GNT_MAP_SIZE, "grant maps");
        for (uint32_t i = 0; i < maps->count; i++) {
            xmig_grant_map_get(maps, i, &m);
            fold(run, m.handle ^ ((uint64_t)m.ref << 32));
            fold(run, m.domid ^ ((uint64_t)m.flags << 16));
            fold(run, m.gfn);
        }
        return;
    }
    fold(run, gt->version);
    fold(run, gt->max_frames);
    check_view(run, rec, gt->frame_gfns, (uint64_t)gt->nr_frames * 8,
               "grant frames");
    check_view(run, rec, gt->status_gfns, (uint64_t)gt->nr_status_frames * 8,
               "grant status frames");
    check_view(run, rec, gt->entries, gt->count * esize, "grant entries");
    for (uint32_t i = 0; i < gt->nr_frames; i++) {
        fold(run, xmig_grant_frame_gfn(gt, i));
    }
    for (uint32_t i = 0; i < gt->nr_status_frames; i++) {
        fold(run, xmig_grant_status_gfn(gt, i));
    }
    for (uint32_t i = 0; i < gt->count; i++) {
        xmig_grant_entry_get(gt, i, &e);
        fold(run, e.ref ^ ((uint64_t)e.flags << 32) ^
                      ((uint64_t)e.domid << 48));
        fold(run, e.status ^ ((uint64_t)e.page_off << 16) ^
                      ((uint64_t)e.length << 32));
        fold(run, e.frame);
        fold(run, e.trans_domid ^ ((uint64_t)e.trans_gref << 16));
    }
}

/* XENSTORE_NODES and _WATCHES: walk the list with the public iterators;
 * it must yield exactly count entries that use up the list. */
static void touch_xenstore(struct fuzz_run *run,
                           const struct xmig_record *rec)
{
    const struct xmig_xs_list *l = &rec->u.xs_list;
    struct xmig_xs_node n;
    struct xmig_xs_watch w;
    struct xmig_xs_perm perm;
    uint32_t pos = 0, i = 0;

    check_view(run, rec, l->data, l->len, "xenstore list");
    if (rec->type == XMIG_LIBXL_XENSTORE_NODES) {
        for (; i < l->count && xmig_xs_node_next(l, &pos, &n); i++) {
            uint64_t plen = strlen(n.path) + 1;

            check_view(run, rec, (const uint8_t *)n.path, plen, "node path");
            check_view(run, rec, n.value, n.value_len, "node value");
            check_view(run, rec, n.perms_wire, (uint64_t)n.nperms * 4,
                       "node permissions");
            for (uint32_t k = 0; k < n.nperms; k++) {
                xmig_xs_perm_get(&n, k, &perm);
                fold(run, perm.perm | (uint64_t)perm.flags << 8 |
                              (uint64_t)perm.domid << 16);
            }
        }
    } else {
        for (; i < l->count && xmig_xs_watch_next(l, &pos, &w); i++) {
            check_view(run, rec, (const uint8_t *)w.path, strlen(w.path) + 1,
                       "watch path");
            check_view(run, rec, (const uint8_t *)w.token,
                       strlen(w.token) + 1, "watch token");
        }
    }
    if (i != l->count || pos != l->len) {
        fuzz_fail(run, rec, "xenstore list iterators disagree with count");
    }
}

static void touch_libxc(struct fuzz_run *run, const struct xmig_record *rec)
{
    const struct xmig_pv_vcpu *v = &rec->u.vcpu;
    struct xmig_hvm_param hp;
    struct xmig_cpuid_leaf leaf;
    struct xmig_msr_entry msr;

    switch (rec->type) {
    case XMIG_LIBXC_PAGE_DATA:
        touch_page_data(run, rec);
        break;
    case XMIG_LIBXC_X86_PV_INFO:
        fold(run, rec->u.pv_info.guest_width);
        fold(run, rec->u.pv_info.pt_levels);
        break;
    case XMIG_LIBXC_X86_PV_P2M_FRAMES:
        fold(run, rec->u.p2m.start_pfn);
        fold(run, rec->u.p2m.end_pfn);
        check_view(run, rec, rec->u.p2m.frames, (uint64_t)rec->u.p2m.count * 8,
                   "p2m frames");
        for (uint32_t i = 0; i < rec->u.p2m.count; i++) {
            fold(run, xmig_p2m_frame(&rec->u.p2m, i));
        }
        break;
    case XMIG_LIBXC_X86_PV_VCPU_BASIC:
    case XMIG_LIBXC_X86_PV_VCPU_EXTENDED:
    case XMIG_LIBXC_X86_PV_VCPU_XSAVE:
    case XMIG_LIBXC_X86_PV_VCPU_MSRS:
        fold(run, v->vcpu_id);
        check_view(run, rec, v->context, v->context_len, "vCPU context");
        break;
    case XMIG_LIBXC_X86_TSC_INFO:
        fold(run, rec->u.tsc.mode);
        fold(run, rec->u.tsc.khz);
        fold(run, rec->u.tsc.nsec);
        fold(run, rec->u.tsc.incarnation);
        break;
    case XMIG_LIBXC_HVM_CONTEXT:
        fold(run, rec->u.hvm_context.descriptors);
        check_view(run, rec, rec->u.hvm_context.blob, rec->u.hvm_context.len,
                   "HVM context");
        break;
    case XMIG_LIBXC_HVM_PARAMS:
        check_view(run, rec, rec->u.hvm_params.entries,
                   (uint64_t)rec->u.hvm_params.count * 16, "HVM params");
        for (uint32_t i = 0; i < rec->u.hvm_params.count; i++) {
            xmig_hvm_param_get(&rec->u.hvm_params, i, &hp);
            fold(run, hp.index);
            fold(run, hp.value);
        }
        break;
    case XMIG_LIBXC_X86_CPUID_POLICY:
        check_view(run, rec, rec->u.cpuid.leaves,
                   (uint64_t)rec->u.cpuid.count * 24, "CPUID leaves");
        for (uint32_t i = 0; i < rec->u.cpuid.count; i++) {
            xmig_cpuid_leaf_get(&rec->u.cpuid, i, &leaf);
            fold(run, leaf.leaf ^ ((uint64_t)leaf.subleaf << 32));
            fold(run, leaf.a ^ ((uint64_t)leaf.b << 32));
            fold(run, leaf.c ^ ((uint64_t)leaf.d << 32));
        }
        break;
    case XMIG_LIBXC_X86_MSR_POLICY:
        check_view(run, rec, rec->u.msr.entries,
                   (uint64_t)rec->u.msr.count * 16, "MSR entries");
        for (uint32_t i = 0; i < rec->u.msr.count; i++) {
            xmig_msr_entry_get(&rec->u.msr, i, &msr);
            fold(run, msr.idx ^ ((uint64_t)msr.flags << 32));
            fold(run, msr.val);
        }
        break;
    case XMIG_LIBXC_CHECKPOINT_DIRTY_PFN_LIST:
        check_view(run, rec, rec->u.pfn_list.pfns,
                   (uint64_t)rec->u.pfn_list.count * 8, "dirty pfn list");
        for (uint32_t i = 0; i < rec->u.pfn_list.count; i++) {
            fold(run, xmig_pfn_list_get(&rec->u.pfn_list, i));
        }
        break;
    case XMIG_LIBXC_TRANSPARENT:
        fold(run, rec->u.transparent.version);
        fold(run, rec->u.transparent.flags);
        break;
    case XMIG_LIBXC_EVTCHN_PORTS:
    case XMIG_LIBXC_EVTCHN_FIFO:
        touch_evtchn(run, rec);
        break;
    case XMIG_LIBXC_GRANT_TABLE:
    case XMIG_LIBXC_GRANT_MAPS:
        touch_gnttab(run, rec);
        break;
    default:
        break;   /* no view beyond the body */
    }
}

static void touch_libxl(struct fuzz_run *run, const struct xmig_record *rec)
{
    const struct xmig_emulator *e = &rec->u.emulator;

    switch (rec->type) {
    case XMIG_LIBXL_EMULATOR_XENSTORE_DATA:
    case XMIG_LIBXL_EMULATOR_CONTEXT:
        fold(run, e->emulator_id);
        fold(run, e->index);
        fold(run, e->pairs);
        check_view(run, rec, e->data, e->data_len, "emulator data");
        break;
    case XMIG_LIBXL_CHECKPOINT_STATE:
        fold(run, rec->u.checkpoint_state.control_id);
        break;
    case XMIG_LIBXL_TRANSPARENT:
        fold(run, rec->u.transparent.version);
        fold(run, rec->u.transparent.flags);
        fold(run, rec->u.transparent.domid);
        break;
    case XMIG_LIBXL_XENSTORE_NODES:
    case XMIG_LIBXL_XENSTORE_WATCHES:
        touch_xenstore(run, rec);
        break;
    default:
        break;
    }
}

static void touch_record(struct fuzz_run *run, const struct xmig_record *rec)
{
    uint64_t from = rec->offset + FUZZ_RECORD_HEADER;

    fold(run, rec->type);
    fold(run, rec->length);
    fold(run, (uint64_t)rec->known);
    fold(run, strlen(xmig_record_name(rec->layer, rec->type)));
    /* The body is the length octets after the record header. */
    if (rec->length > 0 &&
        (!rec->body || from > run->size || rec->length > run->size - from ||
         memcmp(rec->body, run->input + from, rec->length) != 0)) {
        fuzz_fail(run, rec, "record body differs from the input");
    }
    if (!rec->known) {
        return;
    }
    if (rec->layer == XMIG_LAYER_LIBXC) {
        touch_libxc(run, rec);
    } else if (rec->layer == XMIG_LAYER_LIBXL) {
        touch_libxl(run, rec);
    } else {
        fuzz_fail(run, rec, "record in the xl layer");
    }
}

static void touch_xl_header(struct fuzz_run *run,
                            const struct xmig_record *rec)
{
    const struct xmig_xl_header *h = &rec->u.xl;
    uint64_t from = rec->offset + FUZZ_XL_CONFIG_AT;

    fold(run, h->mandatory_flags);
    fold(run, h->optional_flags);
    fold(run, h->optional_data_len);
    fold(run, h->config_len);
    if (!h->config != !h->config_len) {
        fuzz_fail(run, rec, "xl config pointer and length disagree");
    }
    /* The config sits in the optional data, right after its length. */
    if (h->config_len > 0 &&
        (4 + (uint64_t)h->config_len > h->optional_data_len ||
         from > run->size || h->config_len > run->size - from ||
         memcmp(h->config, run->input + from, h->config_len) != 0)) {
        fuzz_fail(run, rec, "xl config differs from the input");
    }
}

static int touch_item(void *user_data, const struct xmig_record *rec)
{
    struct fuzz_run *run = user_data;

    run->items++;
    fold(run, (uint64_t)rec->kind);
    fold(run, (uint64_t)rec->layer);
    fold(run, rec->offset);
    if (rec->offset >= run->size) {
        fuzz_fail(run, rec, "item starts beyond the input");
    }
    switch (rec->kind) {
    case XMIG_ITEM_XL_HEADER:
        touch_xl_header(run, rec);
        break;
    case XMIG_ITEM_LIBXL_HEADER:
        fold(run, rec->u.libxl.version);
        fold(run, rec->u.libxl.options);
        break;
    case XMIG_ITEM_IMAGE_HEADER:
        fold(run, rec->u.image.version);
        fold(run, rec->u.image.options);
        break;
    case XMIG_ITEM_DOMAIN_HEADER:
        fold(run, rec->u.domain.type);
        fold(run, rec->u.domain.page_shift);
        fold(run, rec->u.domain.xen_major);
        fold(run, rec->u.domain.xen_minor);
        break;
    case XMIG_ITEM_RECORD:
        touch_record(run, rec);
        break;
    default:
        fuzz_fail(run, rec, "unknown item kind");
    }
    /* The collector is one more consumer of every view. */
    if (xmig_transparent_state_add(run->st, rec) < 0) {
        fuzz_fail(run, rec, "the transparent state collector failed");
    }
    return 0;
}

/* Read t (over the octets input/size) to the end as format f.  The
 * transport stays the caller's; fuzz_done() frees what the run holds. */
static void fuzz_read(struct fuzz_run *run, struct xmig_transport *t,
                      const uint8_t *input, size_t size, enum xmig_format f)
{
    struct xmig_reader *r;
    uint64_t pos;

    memset(run, 0, sizeof(*run));
    run->input = input;
    run->size = size;
    run->eof_rc = 1;
    run->st = xmig_transparent_state_create();
    r = t ? xmig_reader_create(t, f) : NULL;
    if (!r || !run->st) {
        fuzz_fail(run, NULL, "cannot create a reader");
    }
    run->rc = xmig_reader_run(r, touch_item, run);
    if (run->rc == 0) {
        run->eof_rc = xmig_reader_expect_eof(r);
    }
    if (run->rc != 0 && run->rc != -1) {
        fuzz_fail(run, NULL, "xmig_reader_run returned neither 0 nor -1");
    }
    if (run->rc != 0 || run->eof_rc != 0) {
        /* Fuzzed values flow into the message's format arguments. */
        run->cat = xmig_error_category();
        fold(run, strlen(xmig_error_message()));
        if (xmig_error_offset(&pos) == 1) {
            fold(run, pos);
        }
    }
    xmig_reader_stats(r, &run->stats);
    if (run->stats.bytes > size ||
        (run->rc == 0 && run->eof_rc == 0 && run->stats.bytes != size)) {
        fuzz_fail(run, NULL, "stats count octets the input does not hold");
    }
    xmig_reader_free(r);
}

static void fuzz_done(struct fuzz_run *run)
{
    xmig_transparent_state_free(run->st);
    run->st = NULL;
}

/* The common case: the input lent from memory. */
static void fuzz_memory(struct fuzz_run *run, const uint8_t *data, size_t size,
                        enum xmig_format f)
{
    struct xmig_transport *t = xmig_transport_memory(data, size);

    fuzz_read(run, t, data, size, f);
    xmig_transport_free(t);
}

#endif
