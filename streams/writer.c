/*
 * The writer: frames records (header, body, zero padding) into a gather
 * list that points at the caller's memory, so page data goes from where it
 * lies to the transport without a copy.  Every record passes the same
 * length, field and order checks the reader applies before it is written.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "records/records.h"
#include "streams/order.h"
#include "streams/transport.h"
#include "xmig.h"

enum wlayer { W_NONE, W_XL, W_LIBXL, W_LIBXC, W_DONE, W_FAILED };

struct xmig_writer {
    struct xmig_transport *t;
    enum wlayer layer;
    int has_xl, embedded;
    uint64_t offset;
    struct rec_ctx ctx;
    struct libxc_order xo;
    struct libxl_order lo;
    uint8_t *scratch;          /* record headers, small bodies, pfn words */
    size_t scratch_cap;
    struct iovec *iov;
    size_t iov_cap;
};

static const uint8_t zeros[8];

struct xmig_writer *xmig_writer_create(struct xmig_transport *t)
{
    struct xmig_writer *w;

    if (!t) {
        err_set(XMIG_ERR_USAGE, EINVAL, "xmig_writer_create");
        return NULL;
    }
    w = calloc(1, sizeof(*w));
    if (!w) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "writer");
        return NULL;
    }
    w->t = t;
    return w;
}

void xmig_writer_free(struct xmig_writer *w)
{
    if (w) {
        free(w->scratch);
        free(w->iov);
        free(w);
    }
}

uint64_t xmig_writer_offset(const struct xmig_writer *w)
{
    return w->offset;
}

static int scratch_reserve(struct xmig_writer *w, size_t n)
{
    uint8_t *p;

    if (n <= w->scratch_cap) {
        return 0;
    }
    p = realloc(w->scratch, n);
    if (!p) {
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "writer scratch of %zu", n);
    }
    w->scratch = p;
    w->scratch_cap = n;
    return 0;
}

static int iov_reserve(struct xmig_writer *w, size_t n)
{
    struct iovec *p;

    if (n <= w->iov_cap) {
        return 0;
    }
    p = realloc(w->iov, n * sizeof(*p));
    if (!p) {
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "writer iovec");
    }
    w->iov = p;
    w->iov_cap = n;
    return 0;
}

static int emit(struct xmig_writer *w, struct iovec *iov, int n)
{
    uint64_t total = 0;

    for (int i = 0; i < n; i++) {
        total += iov[i].iov_len;
    }
    if (w->t->ops->writev(w->t, iov, n) < 0) {
        err_prefix("writing at offset %llu: ", (unsigned long long)w->offset);
        w->layer = W_FAILED;
        return -1;
    }
    w->offset += total;
    return 0;
}

static int need_layer(struct xmig_writer *w, enum wlayer want, const char *op)
{
    static const char *names[] = { "nothing", "xl header", "libxl stream",
                                   "libxc image", "the end", "a failure" };
    if (w->layer != want) {
        return err_set(XMIG_ERR_USAGE, 0, "%s: the writer is at %s", op,
                       names[w->layer]);
    }
    return 0;
}

int xmig_writer_xl_header(struct xmig_writer *w, const char *json_config)
{
    struct xmig_xl_header h = { 0 };
    struct cursor c;
    struct iovec iov;
    size_t len = json_config ? strlen(json_config) + 1 : 0;

    if (need_layer(w, W_NONE, "xl header") < 0) {
        return -1;
    }
    if (len > REC_XL_MAX_OPTDATA - 4) {
        return err_set(XMIG_ERR_LIMIT, 0, "JSON config of %zu octets is over "
                       "the %u allowed", len, REC_XL_MAX_OPTDATA - 4);
    }
    if (len && rec_json_check((const uint8_t *)json_config, len - 1) < 0) {
        err_prefix("xl header: ");
        return -1;
    }
    h.config = (const uint8_t *)json_config;
    h.config_len = (uint32_t)len;
    if (scratch_reserve(w, REC_XL_HEADER_SIZE + 4 + len) < 0) {
        return -1;
    }
    c = cursor_ro(w->scratch, REC_XL_HEADER_SIZE + 4 + len);
    if (rec_xl_header_encode(&c, &h) < 0) {
        return -1;
    }
    iov.iov_base = w->scratch;
    iov.iov_len = c.pos;
    if (emit(w, &iov, 1) < 0) {
        return -1;
    }
    w->has_xl = 1;
    w->layer = W_XL;
    return 0;
}

int xmig_writer_libxl_begin(struct xmig_writer *w)
{
    struct xmig_libxl_header h = { 2, 0 };
    uint8_t buf[REC_LIBXL_HEADER_SIZE];
    struct cursor c = cursor_ro(buf, sizeof(buf));
    struct iovec iov = { buf, sizeof(buf) };

    if (w->layer != W_NONE && need_layer(w, W_XL, "libxl header") < 0) {
        return -1;
    }
    (void)!rec_libxl_header_encode(&c, &h);
    if (emit(w, &iov, 1) < 0) {
        return -1;
    }
    libxl_order_init(&w->lo);
    w->embedded = 1;
    w->ctx.embedded = 1;
    w->layer = W_LIBXL;
    return 0;
}

/* Check and write one record whose body the caller holds. */
static int write_record(struct xmig_writer *w, enum xmig_layer layer,
                        uint32_t type, const void *body, uint32_t len)
{
    int libxc = layer == XMIG_LAYER_LIBXC;
    struct xmig_record rec = { 0 };
    struct libxc_order xo;
    struct libxl_order lo;
    uint8_t head[REC_HEADER_SIZE];
    struct cursor c;
    struct iovec iov[3];
    int known = libxc ? rec_libxc_known(type) : rec_libxl_known(type);
    int n = 0;

    if (need_layer(w, libxc ? W_LIBXC : W_LIBXL, "record") < 0) {
        return -1;
    }
    if (!known && !(type & XMIG_RECORD_OPTIONAL)) {
        return err_set(XMIG_ERR_USAGE, 0, "record type 0x%x is neither known "
                       "nor optional", type);
    }
    if (len && !body) {
        return err_set(XMIG_ERR_USAGE, EINVAL, "record body is NULL");
    }
    if ((libxc ? rec_libxc_check_length(type, len)
               : rec_libxl_check_length(type, len)) < 0) {
        goto invalid;
    }
    rec.type = type;
    rec.length = len;
    c = cursor_ro(body, len);
    rec.kind = XMIG_ITEM_RECORD;
    rec.layer = layer;
    /* Check order on copies: a refused record must leave no trace, so a
     * corrected retry is judged as if the refused one never was. */
    xo = w->xo;
    lo = w->lo;
    if ((libxc ? libxc_order_record(&xo, &w->ctx, type, known)
               : libxl_order_record(&lo, &w->ctx, type, known)) < 0) {
        goto invalid;
    }
    if ((libxc ? rec_libxc_decode(&w->ctx, &c, &rec)
               : rec_libxl_decode(&w->ctx, &c, &rec)) < 0) {
        goto invalid;
    }
    w->xo = xo;
    w->lo = lo;
    rec_ctx_note(&w->ctx, &rec);
    c = cursor_ro(head, sizeof(head));
    (void)!rec_header_encode(&c, type, len);
    iov[n++] = (struct iovec){ head, sizeof(head) };
    if (len) {
        iov[n++] = (struct iovec){ (void *)(uintptr_t)body, len };
    }
    if (pad8(len)) {
        iov[n++] = (struct iovec){ (void *)(uintptr_t)zeros, pad8(len) };
    }
    return emit(w, iov, n);

invalid:
    err_in_record(layer, type, libxc ? rec_libxc_name(type)
                                     : rec_libxl_name(type));
    err_prefix("writer refused: ");
    return -1;
}

int xmig_writer_libxc_begin(struct xmig_writer *w, uint32_t guest_type,
                            uint32_t xen_major, uint32_t xen_minor)
{
    struct xmig_image_header ih = { 3, 0 };
    struct xmig_domain_header dh = { guest_type, XMIG_PAGE_SHIFT, xen_major,
                                     xen_minor };
    uint8_t buf[REC_IMAGE_HEADER_SIZE + REC_DOMAIN_HEADER_SIZE];
    struct cursor c = cursor_ro(buf, sizeof(buf));
    struct iovec iov = { buf, sizeof(buf) };

    if (guest_type != XMIG_DOMAIN_X86_PV && guest_type != XMIG_DOMAIN_X86_HVM) {
        return err_set(XMIG_ERR_USAGE, 0, "guest type %u is not 1 (PV) or 2 "
                       "(HVM)", guest_type);
    }
    if (w->embedded) {
        if (write_record(w, XMIG_LAYER_LIBXL, XMIG_LIBXL_LIBXC_CONTEXT, NULL,
                         0) < 0) {
            return -1;
        }
    } else if (need_layer(w, W_NONE, "libxc image") < 0) {
        return -1;
    }
    (void)!rec_image_header_encode(&c, &ih);
    (void)!rec_domain_header_encode(&c, &dh);
    if (emit(w, &iov, 1) < 0) {
        return -1;
    }
    w->ctx.version = 3;
    w->ctx.guest_type = guest_type;
    libxc_order_init(&w->xo, 3, guest_type);
    w->layer = W_LIBXC;
    return 0;
}

static void after_libxc_record(struct xmig_writer *w, uint32_t type)
{
    if (type == XMIG_LIBXC_END) {
        if (w->embedded) {
            w->lo.libxc = LIBXC_ENDED;
            w->layer = W_LIBXL;
        } else {
            w->layer = W_DONE;
        }
    } else if (type == XMIG_LIBXC_CHECKPOINT && w->embedded) {
        w->lo.libxc = LIBXC_CHECKPOINTED;
        w->layer = W_LIBXL;
    }
}

int xmig_writer_libxc_record(struct xmig_writer *w, uint32_t type,
                             const void *body, uint32_t len)
{
    if (write_record(w, XMIG_LAYER_LIBXC, type, body, len) < 0) {
        return -1;
    }
    after_libxc_record(w, type);
    return 0;
}

int xmig_writer_libxc_end(struct xmig_writer *w)
{
    return xmig_writer_libxc_record(w, XMIG_LIBXC_END, NULL, 0);
}

int xmig_writer_page_data(struct xmig_writer *w, uint32_t count,
                          const uint64_t *pfn_words, const void *const *pages)
{
    size_t head_len, body_len, n = 0;
    uint32_t data_pages = 0;
    struct libxc_order xo;
    struct cursor c;

    if (need_layer(w, W_LIBXC, "PAGE_DATA") < 0) {
        return -1;
    }
    if (count == 0 || !pfn_words || !pages) {
        return err_set(XMIG_ERR_USAGE, EINVAL, "PAGE_DATA needs pfns");
    }
    /* 8 + 8 * count + 4096 * data_pages stays far below 2^64 for u32 count;
     * the cap below keeps it within one record. */
    head_len = REC_HEADER_SIZE + 8 + (size_t)count * 8;
    for (uint32_t i = 0; i < count; i++) {
        unsigned type = (unsigned)(pfn_words[i] >> XMIG_PFN_TYPE_SHIFT);
        int has = rec_pfn_type_has_data(type);
        if (has != (pages[i] != NULL)) {
            return err_set(XMIG_ERR_USAGE, 0, "pfn %u (type 0x%x) %s page "
                           "data", i, type, has ? "needs" : "carries no");
        }
        data_pages += (uint32_t)has;
    }
    body_len = head_len - REC_HEADER_SIZE + (size_t)data_pages * XMIG_PAGE_SIZE;
    if (body_len > REC_MAX_BODY) {
        return err_set(XMIG_ERR_LIMIT, 0, "PAGE_DATA of %zu octets is over "
                       "the %u a record may hold", body_len, REC_MAX_BODY);
    }
    xo = w->xo;
    if (libxc_order_record(&xo, &w->ctx, XMIG_LIBXC_PAGE_DATA, 1) < 0) {
        err_in_record(XMIG_LAYER_LIBXC, XMIG_LIBXC_PAGE_DATA, "PAGE_DATA");
        return -1;
    }
    if (scratch_reserve(w, head_len) < 0 || iov_reserve(w, 1 + data_pages) < 0) {
        return -1;
    }
    c = cursor_ro(w->scratch, head_len);
    (void)!rec_header_encode(&c, XMIG_LIBXC_PAGE_DATA, (uint32_t)body_len);
    if (rec_page_data_encode_head(&c, count, pfn_words) < 0) {
        return -1;
    }
    w->xo = xo;
    w->iov[n++] = (struct iovec){ w->scratch, head_len };
    for (uint32_t i = 0; i < count; i++) {
        struct iovec *last = &w->iov[n - 1];
        if (!pages[i]) {
            continue;
        }
        /* Pages adjacent in memory go out as one entry. */
        if (n > 1 && (const uint8_t *)last->iov_base + last->iov_len ==
                         (const uint8_t *)pages[i]) {
            last->iov_len += XMIG_PAGE_SIZE;
        } else {
            w->iov[n++] = (struct iovec){ (void *)(uintptr_t)pages[i],
                                          XMIG_PAGE_SIZE };
        }
    }
    return emit(w, w->iov, (int)n);
}

/* Encode a small body into scratch, then write it as a record. */
#define SMALL_RECORD(w, layer, type, cap, encode_call)                       \
    do {                                                                     \
        struct cursor c_;                                                    \
        if (scratch_reserve((w), (cap)) < 0) {                               \
            return -1;                                                       \
        }                                                                    \
        c_ = cursor_ro((w)->scratch, (cap));                                 \
        if (encode_call < 0) {                                               \
            return -1;                                                       \
        }                                                                    \
        return write_record((w), (layer), (type), (w)->scratch,              \
                            (uint32_t)c_.pos);                               \
    } while (0)

static int count_fits(uint32_t count, size_t entry, size_t *bytes)
{
    if (size_mul(count, entry, bytes) < 0 || size_add(*bytes, 8, bytes) < 0 ||
        *bytes > REC_MAX_SMALL_BODY) {
        return err_set(XMIG_ERR_LIMIT, 0, "%u entries are too many for one "
                       "record", count);
    }
    return 0;
}

int xmig_writer_tsc_info(struct xmig_writer *w, const struct xmig_tsc_info *t)
{
    SMALL_RECORD(w, XMIG_LAYER_LIBXC, XMIG_LIBXC_X86_TSC_INFO,
                 REC_TSC_INFO_SIZE, rec_tsc_info_encode(&c_, t));
}

int xmig_writer_pv_info(struct xmig_writer *w, const struct xmig_pv_info *pi)
{
    SMALL_RECORD(w, XMIG_LAYER_LIBXC, XMIG_LIBXC_X86_PV_INFO, 8,
                 rec_pv_info_encode(&c_, pi));
}

int xmig_writer_hvm_params(struct xmig_writer *w,
                           const struct xmig_hvm_param *p, uint32_t count)
{
    size_t cap;

    if (count_fits(count, REC_HVM_PARAM_SIZE, &cap) < 0) {
        return -1;
    }
    SMALL_RECORD(w, XMIG_LAYER_LIBXC, XMIG_LIBXC_HVM_PARAMS, cap,
                 rec_hvm_params_encode(&c_, p, count));
}

int xmig_writer_cpuid_policy(struct xmig_writer *w,
                             const struct xmig_cpuid_leaf *l, uint32_t count)
{
    size_t cap;

    if (count_fits(count, REC_CPUID_LEAF_SIZE, &cap) < 0) {
        return -1;
    }
    SMALL_RECORD(w, XMIG_LAYER_LIBXC, XMIG_LIBXC_X86_CPUID_POLICY, cap,
                 rec_cpuid_policy_encode(&c_, l, count));
}

int xmig_writer_msr_policy(struct xmig_writer *w,
                           const struct xmig_msr_entry *m, uint32_t count)
{
    size_t cap;

    if (count_fits(count, REC_MSR_ENTRY_SIZE, &cap) < 0) {
        return -1;
    }
    SMALL_RECORD(w, XMIG_LAYER_LIBXC, XMIG_LIBXC_X86_MSR_POLICY, cap,
                 rec_msr_policy_encode(&c_, m, count));
}

int xmig_writer_libxl_record(struct xmig_writer *w, uint32_t type,
                             const void *body, uint32_t len)
{
    if (type == XMIG_LIBXL_LIBXC_CONTEXT) {
        return err_set(XMIG_ERR_USAGE, 0, "use xmig_writer_libxc_begin() to "
                       "open the libxc image");
    }
    if (write_record(w, XMIG_LAYER_LIBXL, type, body, len) < 0) {
        return -1;
    }
    if (type == XMIG_LIBXL_END) {
        w->layer = W_DONE;
    } else if (type == XMIG_LIBXL_CHECKPOINT_END) {
        w->layer = W_LIBXC;   /* the libxc image carries on */
    }
    return 0;
}

int xmig_writer_emulator_xenstore(struct xmig_writer *w, uint32_t emulator_id,
                                  uint32_t index, const char *const *keys,
                                  const char *const *values, uint32_t npairs)
{
    size_t cap = 8;

    for (uint32_t i = 0; i < npairs; i++) {
        if (size_add(cap, strlen(keys[i]) + 1, &cap) < 0 ||
            size_add(cap, strlen(values[i]) + 1, &cap) < 0 ||
            cap > REC_MAX_SMALL_BODY) {
            return err_set(XMIG_ERR_LIMIT, 0, "xenstore data too large");
        }
    }
    if (scratch_reserve(w, cap) < 0) {
        return -1;
    }
    {
        struct cursor c = cursor_ro(w->scratch, cap);
        if (rec_emulator_encode_head(&c, emulator_id, index) < 0) {
            return -1;
        }
        for (uint32_t i = 0; i < npairs; i++) {
            (void)!cursor_put_bytes(&c, keys[i], strlen(keys[i]) + 1);
            (void)!cursor_put_bytes(&c, values[i], strlen(values[i]) + 1);
        }
        return xmig_writer_libxl_record(w, XMIG_LIBXL_EMULATOR_XENSTORE_DATA,
                                        w->scratch, (uint32_t)c.pos);
    }
}

int xmig_writer_libxl_end(struct xmig_writer *w)
{
    return xmig_writer_libxl_record(w, XMIG_LIBXL_END, NULL, 0);
}

/* ---- transparent records ------------------------------------------- */

int xmig_writer_libxl_transparent(struct xmig_writer *w, uint16_t domid,
                                  uint32_t flags)
{
    struct xmig_transparent_decl d = { XMIG_TRANSPARENT_VERSION, flags,
                                       domid };
    SMALL_RECORD(w, XMIG_LAYER_LIBXL, XMIG_LIBXL_TRANSPARENT, 16,
                 rec_transparent_encode(&c_, 1, &d));
}

int xmig_writer_libxc_transparent(struct xmig_writer *w, uint32_t flags)
{
    struct xmig_transparent_decl d = { XMIG_TRANSPARENT_VERSION, flags, 0 };
    SMALL_RECORD(w, XMIG_LAYER_LIBXC, XMIG_LIBXC_TRANSPARENT, 8,
                 rec_transparent_encode(&c_, 0, &d));
}

/* Reserve scratch for a body of size octets, bounded by the record cap. */
static int body_fits(struct xmig_writer *w, size_t size, const char *what)
{
    if (size > REC_MAX_SMALL_BODY) {
        return err_set(XMIG_ERR_LIMIT, 0, "%s of %zu octets is over the %u "
                       "a record may hold", what, size, REC_MAX_SMALL_BODY);
    }
    return scratch_reserve(w, size);
}

/* A count with no array behind it is a caller's bug, not a crash. */
static int have(const void *array, uint32_t n, const char *what)
{
    if (n && !array) {
        return err_set(XMIG_ERR_USAGE, EINVAL, "%u %s but no array", n, what);
    }
    return 0;
}

static int write_evtchn(struct xmig_writer *w,
                        const struct xmig_transparent_state *s)
{
    size_t size;
    struct cursor c;

    size = 16 + (size_t)s->nports * REC_EVTCHN_PORT_SIZE;
    if (body_fits(w, size, "EVTCHN_PORTS") < 0 ||
        have(s->ports, s->nports, "event channel ports") < 0 ||
        have(s->fifo_vcpus, s->nfifo_vcpus, "FIFO vCPUs") < 0 ||
        have(s->fifo_array_gfns, s->nfifo_array, "FIFO array pages") < 0) {
        return -1;
    }
    c = cursor_ro(w->scratch, size);
    if (rec_evtchn_ports_encode(&c, s->evtchn_abi, s->evtchn_max_port,
                                s->ports, s->nports) < 0 ||
        write_record(w, XMIG_LAYER_LIBXC, XMIG_LIBXC_EVTCHN_PORTS, w->scratch,
                     (uint32_t)c.pos) < 0) {
        return -1;
    }
    if (s->evtchn_abi != XMIG_EVTCHN_ABI_FIFO) {
        return 0;
    }
    size = 8 + (size_t)s->nfifo_vcpus * REC_EVTCHN_FIFO_VCPU_SIZE +
           (size_t)s->nfifo_array * 8;
    if (body_fits(w, size, "EVTCHN_FIFO") < 0) {
        return -1;
    }
    c = cursor_ro(w->scratch, size);
    if (rec_evtchn_fifo_encode(&c, s->fifo_vcpus, s->nfifo_vcpus,
                               s->fifo_array_gfns, s->nfifo_array) < 0) {
        return -1;
    }
    return write_record(w, XMIG_LAYER_LIBXC, XMIG_LIBXC_EVTCHN_FIFO,
                        w->scratch, (uint32_t)c.pos);
}

static int write_gnttab(struct xmig_writer *w,
                        const struct xmig_transparent_state *s)
{
    size_t size;
    struct cursor c;

    if (s->gnt_version != 1 && s->gnt_version != 2) {
        return err_set(XMIG_ERR_USAGE, 0, "grant table version %u is not 1 "
                       "or 2", s->gnt_version);
    }
    if (s->gnt_nr_frames == 0 || s->gnt_nr_frames > REC_GNT_MAX_FRAMES) {
        return err_set(XMIG_ERR_USAGE, 0, "grant table of %u frames: 1 to %u",
                       s->gnt_nr_frames, REC_GNT_MAX_FRAMES);
    }
    if (have(s->gnt_frame_gfns, s->gnt_nr_frames, "grant frames") < 0 ||
        have(s->gnt_status_gfns,
             s->gnt_version == 2 ? rec_gnt_status_frames(s->gnt_nr_frames)
                                 : 0,
             "grant status frames") < 0 ||
        have(s->grants, s->ngrants, "grant entries") < 0 ||
        have(s->maps, s->nmaps, "grant mappings") < 0) {
        return -1;
    }
    size = rec_grant_table_size(s->gnt_version, s->gnt_nr_frames, s->ngrants);
    if (body_fits(w, size, "GRANT_TABLE") < 0) {
        return -1;
    }
    c = cursor_ro(w->scratch, size);
    if (rec_grant_table_encode(&c, s->gnt_version, s->gnt_nr_frames,
                               s->gnt_max_frames, s->gnt_frame_gfns,
                               s->gnt_status_gfns, s->grants,
                               s->ngrants) < 0 ||
        write_record(w, XMIG_LAYER_LIBXC, XMIG_LIBXC_GRANT_TABLE, w->scratch,
                     (uint32_t)c.pos) < 0) {
        return -1;
    }
    size = 8 + (size_t)s->nmaps * REC_GNT_MAP_SIZE;
    if (body_fits(w, size, "GRANT_MAPS") < 0) {
        return -1;
    }
    c = cursor_ro(w->scratch, size);
    if (rec_grant_maps_encode(&c, s->maps, s->nmaps) < 0) {
        return -1;
    }
    return write_record(w, XMIG_LAYER_LIBXC, XMIG_LIBXC_GRANT_MAPS,
                        w->scratch, (uint32_t)c.pos);
}

int xmig_writer_transparent_libxc(struct xmig_writer *w,
                                  const struct xmig_transparent_state *s)
{
    if ((s->flags & XMIG_TRANSPARENT_EVTCHN) && write_evtchn(w, s) < 0) {
        return -1;
    }
    if ((s->flags & XMIG_TRANSPARENT_GNTTAB) && write_gnttab(w, s) < 0) {
        return -1;
    }
    return 0;
}

int xmig_writer_transparent_libxl(struct xmig_writer *w,
                                  const struct xmig_transparent_state *s)
{
    size_t size = 8;
    struct cursor c;

    if (!(s->flags & XMIG_TRANSPARENT_XENSTORE)) {
        return 0;
    }
    if (have(s->nodes, s->nnodes, "xenstore nodes") < 0 ||
        have(s->watches, s->nwatches, "xenstore watches") < 0) {
        return -1;
    }
    for (uint32_t i = 0; i < s->nnodes; i++) {
        if (!s->nodes[i].path || have(s->nodes[i].value, s->nodes[i].value_len,
                                      "value octets") < 0 ||
            have(s->nodes[i].perms, s->nodes[i].nperms, "permissions") < 0) {
            return err_set(XMIG_ERR_USAGE, EINVAL, "xenstore node %u lacks "
                           "its path, value or permissions", i);
        }
    }
    for (uint32_t i = 0; i < s->nwatches; i++) {
        if (!s->watches[i].path || !s->watches[i].token) {
            return err_set(XMIG_ERR_USAGE, EINVAL, "xenstore watch %u lacks "
                           "its path or token", i);
        }
    }
    for (uint32_t i = 0; i < s->nnodes; i++) {
        size += rec_xs_node_size(&s->nodes[i]);
    }
    if (body_fits(w, size, "XENSTORE_NODES") < 0) {
        return -1;
    }
    c = cursor_ro(w->scratch, size);
    if (rec_xs_nodes_encode(&c, s->nodes, s->nnodes) < 0 ||
        write_record(w, XMIG_LAYER_LIBXL, XMIG_LIBXL_XENSTORE_NODES,
                     w->scratch, (uint32_t)c.pos) < 0) {
        return -1;
    }
    size = 8;
    for (uint32_t i = 0; i < s->nwatches; i++) {
        size += rec_xs_watch_size(&s->watches[i]);
    }
    if (body_fits(w, size, "XENSTORE_WATCHES") < 0) {
        return -1;
    }
    c = cursor_ro(w->scratch, size);
    if (rec_xs_watches_encode(&c, s->watches, s->nwatches) < 0) {
        return -1;
    }
    return write_record(w, XMIG_LAYER_LIBXL, XMIG_LIBXL_XENSTORE_WATCHES,
                        w->scratch, (uint32_t)c.pos);
}
