/*
 * The destination side: build the guest from the stream, check it (every
 * record as the reader validates it, and the source's DIGEST of RAM and
 * state when there is one), and only then, after xl's handshake, let it
 * run.  Any failure discards the half-built guest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/ram_digest.h"
#include "libxmig/backend.h"
#include "libxmig/session.h"
#include "records/records.h"
#include "streams/reader.h"
#include "streams/transport.h"
#include "xmig.h"

#define PAGE 4096u

struct receiver {
    struct xmig_transport *t;
    const struct xmig_receive_params *p;
    struct xmig_guest *g;
    struct guest_state gs;
    struct xmig_transparent_state *pv;
    uint64_t nr_pfns;
    int verify, have_digest;
    uint8_t digest[32];
    uint64_t pages, zero_pages, verify_mismatches;
    char name[64];
    char *config;               /* the xl header's domain config, or NULL */
    struct xmig_reader *reader;
    /* The stream after the xl header, kept until the guest exists: a
     * guest its toolstack builds (ops->feed) gets it all, in order. */
    uint8_t *early;
    size_t early_len, early_cap;
    int early_lost;             /* more than that before the domain */
    int fed;                    /* the guest takes the stream (ops->feed) */
    /* A backend with a RAM digest: the receiver's, kept up to date as
     * pages land (pfns written so far in `written`), so that no pass over
     * all RAM runs in the pause. */
    struct ram_digest running;
    uint64_t *written;
};

/* The reader's tap, from the end of the xl header on. */
static int tap_stream(void *data, const uint8_t *octets, size_t n)
{
    struct receiver *r = data;

    if (r->fed) {
        return r->g->ops->feed(r->g, octets, n);
    }
    /* Until the domain header: the libxl header, the image header and
     * the first records' headers, a few hundred octets. */
    if (r->early_len + n > (64u << 10)) {
        reader_set_tap(r->reader, NULL, NULL);
        r->early_lost = 1;
        return 0;
    }
    if (r->early_len + n > r->early_cap) {
        size_t cap = r->early_len + n + 1024;
        uint8_t *b = realloc(r->early, cap);
        if (!b) {
            return err_set(XMIG_ERR_NOMEM, ENOMEM, "the stream's first "
                           "octets");
        }
        r->early = b;
        r->early_cap = cap;
    }
    memcpy(r->early + r->early_len, octets, n);
    r->early_len += n;
    return 0;
}

/* The guest exists: it takes the stream from the start, or no tap. */
static int start_feeding(struct receiver *r)
{
    if (r->g->ops->digest && !r->g->ops->feed) {
        ram_digest_init(&r->running, r->nr_pfns);
        r->written = calloc((size_t)((r->nr_pfns + 63) / 64), 8);
        if (!r->written) {
            return err_set(XMIG_ERR_NOMEM, ENOMEM, "the receiver's map of "
                           "pages written");
        }
    }
    if (!r->g->ops->feed) {
        reader_set_tap(r->reader, NULL, NULL);
    } else if (r->early_lost) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "over 64 KiB of the stream "
                       "came before its domain header: not a stream its "
                       "toolstack could restore");
    } else {
        r->fed = 1;
        if (r->g->ops->feed(r->g, r->early, r->early_len) < 0) {
            return -1;
        }
    }
    free(r->early);
    r->early = NULL;
    r->early_len = r->early_cap = 0;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The largest guest this receiver takes: the caller's limit, else what
 * this host's RAM could hold at all. */
static uint64_t memory_limit(const struct xmig_receive_params *p,
                             const char **why)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

    if (p->max_memory) {
        *why = "its configured limit";
        return p->max_memory;
    }
    *why = "all of its RAM";
    return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size
                                 : UINT64_C(1) << 40;
}

/* The xl header's domain config, parsed (records/xl_config.c): the guest's
 * name and size come from c_info.name and b_info.max_memkb of the tree.
 * A config without xl's JSON flag is text xmig does not read. */
static int on_xl_header(struct receiver *r, const struct xmig_record *rec)
{
    const struct xmig_xl_header *h = &rec->u.xl;
    struct rec_xl_config cfg;
    const char *why;
    uint64_t limit = memory_limit(r->p, &why), kb;

    if (!h->config || !(h->mandatory_flags & REC_XL_FLAG_JSON)) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "the stream's domain config "
                       "is %s; xmig needs the JSON config (xl's flag 1) to "
                       "learn the guest's size (b_info.max_memkb)",
                       h->config ? "not JSON (the xl header's JSON flag is "
                                   "clear)"
                                 : "missing");
    }
    /* The reader checked the trailing NUL that xl writes. */
    if (rec_xl_config_read(h->config, h->config_len - 1, &cfg) < 0) {
        err_prefix("the stream's domain config: ");
        return -1;
    }
    kb = cfg.max_memkb;
    if (!cfg.has_max_memkb) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "the stream's domain config "
                       "does not say how much memory the guest has "
                       "(b_info.max_memkb)");
    }
    if (kb == 0) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "the stream's domain config "
                       "gives the guest no memory (b_info.max_memkb is 0)");
    }
    if (kb < 64 || kb % 4 || kb > (UINT64_C(1) << 32)) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "the domain config's max_memkb "
                       "%llu is not a usable guest size",
                       (unsigned long long)kb);
    }
    if (kb * 1024 > limit) {
        return err_set(XMIG_ERR_NOMEM, 0, "no room here for the guest: it "
                       "needs %llu MiB, this host takes at most %llu MiB (%s)",
                       (unsigned long long)(kb / 1024),
                       (unsigned long long)(limit >> 20), why);
    }
    snprintf(r->name, sizeof(r->name), "%s", cfg.name);
    free(r->config);
    r->config = strndup((const char *)h->config, h->config_len);
    if (!r->config) {
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "the domain config");
    }
    r->nr_pfns = kb / 4;
    reader_set_tap(r->reader, tap_stream, r);
    return 0;
}

/* The page at pfn (now at `page`) is about to hold `data` (NULL: zeros):
 * the running digest follows.  A page not written before holds zeros. */
static void note_written(struct receiver *r, uint64_t pfn, const void *page,
                         const void *data)
{
    uint64_t bit = UINT64_C(1) << (pfn % 64);

    if (!r->written || pfn >= r->nr_pfns) {
        return;
    }
    if (r->written[pfn / 64] & bit) {
        ram_digest_replace(&r->running, pfn, page, data);
    } else if (data) {
        ram_digest_replace(&r->running, pfn, NULL, data);
        r->written[pfn / 64] |= bit;
    }
}

static int on_page_data(struct receiver *r, const struct xmig_page_data *pd)
{
    uint64_t pfns[1024];
    void *pages[1024];
    const uint8_t *data = pd->data;

    if (r->fed) {
        /* The toolstack loads it; the reader checked the record. */
        for (uint32_t i = 0; i < pd->count; i++) {
            unsigned type = (unsigned)(xmig_page_data_pfn_word(pd, i) >>
                                       XMIG_PFN_TYPE_SHIFT);
            r->pages += type != XMIG_PFN_TYPE_XTAB &&
                        type != XMIG_PFN_TYPE_BROKEN &&
                        type != XMIG_PFN_TYPE_XALLOC;
            r->zero_pages += type == XMIG_PFN_TYPE_XALLOC;
        }
        return 0;
    }
    for (uint32_t base = 0; base < pd->count; base += 1024) {
        uint32_t n = pd->count - base < 1024 ? pd->count - base : 1024, k = 0;
        uint32_t idx[1024], nh = 0;
        uint64_t holes[1024];
        for (uint32_t i = 0; i < n; i++) {
            uint64_t word = xmig_page_data_pfn_word(pd, base + i);
            unsigned type = (unsigned)(word >> XMIG_PFN_TYPE_SHIFT);
            if (type == XMIG_PFN_TYPE_XTAB) {
                holes[nh++] = word & XMIG_PFN_MASK;
                continue;
            }
            if (type == XMIG_PFN_TYPE_BROKEN) {
                continue;
            }
            if (type == XMIG_PFN_TYPE_XALLOC) {
                r->zero_pages++;
            }
            idx[k] = type == XMIG_PFN_TYPE_XALLOC ? UINT32_MAX : i;
            pfns[k++] = word & XMIG_PFN_MASK;
        }
        if (nh && r->g->ops->unpopulate &&
            r->g->ops->unpopulate(r->g, holes, nh) < 0) {
            return -1;
        }
        if (k && r->g->ops->populate(r->g, pfns, k, pages) < 0) {
            return -1;
        }
        for (uint32_t j = 0; j < k; j++) {
            if (idx[j] == UINT32_MAX) {
                /* Allocate only: zeros, whatever the page held before. */
                if (r->g->ops->populate_keeps_data && !r->verify) {
                    memset(pages[j], 0, PAGE);
                }
                if (!r->verify) {
                    note_written(r, pfns[j], pages[j], NULL);
                }
                continue;
            }
            if (r->verify) {
                r->verify_mismatches += memcmp(pages[j], data, PAGE) != 0;
            } else {
                note_written(r, pfns[j], pages[j], data);
                memcpy(pages[j], data, PAGE);
            }
            data += PAGE;
            r->pages++;
        }
    }
    return 0;
}

static void *dup_mem(const void *p, size_t n)
{
    void *d = malloc(n ? n : 1);

    if (d && n) {
        memcpy(d, p, n);
    }
    return d;
}

static int on_state_record(struct receiver *r, const struct xmig_record *rec)
{
    struct guest_state *gs = &r->gs;

    switch (rec->type) {
    case XMIG_LIBXC_X86_TSC_INFO:
        gs->tsc = rec->u.tsc;
        return 0;
    case XMIG_LIBXC_HVM_PARAMS:
        free(gs->params);
        gs->params = calloc(rec->u.hvm_params.count + 1, sizeof(*gs->params));
        if (!gs->params) {
            break;
        }
        gs->nparams = rec->u.hvm_params.count;
        for (uint32_t i = 0; i < gs->nparams; i++) {
            xmig_hvm_param_get(&rec->u.hvm_params, i, &gs->params[i]);
        }
        return 0;
    case XMIG_LIBXC_HVM_CONTEXT:
        free(gs->hvm_context);
        gs->hvm_context = dup_mem(rec->body, rec->length);
        gs->hvm_context_len = rec->length;
        return gs->hvm_context ? 0 : -1;
    case XMIG_LIBXC_X86_CPUID_POLICY:
        free(gs->cpuid);
        gs->cpuid = calloc(rec->u.cpuid.count + 1, sizeof(*gs->cpuid));
        if (!gs->cpuid) {
            break;
        }
        gs->ncpuid = rec->u.cpuid.count;
        for (uint32_t i = 0; i < gs->ncpuid; i++) {
            xmig_cpuid_leaf_get(&rec->u.cpuid, i, &gs->cpuid[i]);
        }
        return 0;
    case XMIG_LIBXC_X86_MSR_POLICY:
        free(gs->msrs);
        gs->msrs = calloc(rec->u.msr.count + 1, sizeof(*gs->msrs));
        if (!gs->msrs) {
            break;
        }
        gs->nmsrs = rec->u.msr.count;
        for (uint32_t i = 0; i < gs->nmsrs; i++) {
            xmig_msr_entry_get(&rec->u.msr, i, &gs->msrs[i]);
        }
        return 0;
    case XMIG_LIBXC_DIGEST:
        memcpy(r->digest, rec->body, 32);
        r->have_digest = 1;
        return 0;
    case XMIG_LIBXC_VERIFY:
        r->verify = 1;
        return 0;
    default:
        return 0;
    }
    return err_set(XMIG_ERR_NOMEM, ENOMEM, "receiving guest state");
}

/* A libxl-layer record no backend can load is refused, never dropped: a
 * guest restored without its device model's state (EMULATOR_*) would run
 * against a freshly booted one, and a checkpointed stream (Remus/COLO)
 * goes on past its END.  The guest built so far is then discarded. */
static int libxl_record_loadable(const struct receiver *r,
                                 const struct xmig_record *rec)
{
    switch (rec->type) {
    case XMIG_LIBXL_END:
    case XMIG_LIBXL_LIBXC_CONTEXT:
        return 0;
    case XMIG_LIBXL_EMULATOR_XENSTORE_DATA:
    case XMIG_LIBXL_EMULATOR_CONTEXT:
        if (r->fed) {
            return 0;   /* the toolstack hands it to the device model */
        }
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "the stream carries a device "
                       "model's state (%s, emulator %u): HVM guests with a "
                       "qemu device model are not supported yet; use xl",
                       rec->type == XMIG_LIBXL_EMULATOR_CONTEXT
                           ? "EMULATOR_CONTEXT"
                           : "EMULATOR_XENSTORE_DATA",
                       rec->u.emulator.emulator_id);
    case XMIG_LIBXL_CHECKPOINT_END:
    case XMIG_LIBXL_CHECKPOINT_STATE:
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "the stream is checkpointed "
                       "(Remus/COLO): not supported; use xl");
    default:
        /* xmig's own (transparent state) went to r->pv already. */
        return 0;
    }
}

static int on_item(void *user, const struct xmig_record *rec)
{
    struct receiver *r = user;

    switch (rec->kind) {
    case XMIG_ITEM_XL_HEADER:
        return on_xl_header(r, rec);
    case XMIG_ITEM_DOMAIN_HEADER:
        if (!r->nr_pfns) {
            return err_set(XMIG_ERR_UNSUPPORTED, 0, "a stream without an xl "
                           "header does not say how big the guest is");
        }
        if (rec->u.domain.type == XMIG_DOMAIN_X86_PV) {
            return err_set(XMIG_ERR_UNSUPPORTED, 0, "the stream's guest is x86 "
                           "PV: PV guests are not supported; use xl");
        }
        if (rec->u.domain.type != XMIG_DOMAIN_X86_HVM) {
            return err_set(XMIG_ERR_UNSUPPORTED, 0, "only HVM guests can be "
                           "received here");
        }
        r->g = r->p->factory(r->p->factory_data, r->config ? r->config : "",
                             r->nr_pfns * 4);
        return r->g ? start_feeding(r) : -1;
    case XMIG_ITEM_RECORD:
        break;
    default:
        return 0;
    }
    if (r->fed) {
        /* Validated by the reader; loaded by the toolstack.  A record the
         * toolstack cannot load fails it, and so the restore. */
        if (rec->layer == XMIG_LAYER_LIBXL &&
            libxl_record_loadable(r, rec) < 0) {
            return -1;
        }
        if (rec->type == XMIG_LIBXC_PAGE_DATA &&
            rec->layer == XMIG_LAYER_LIBXC) {
            return on_page_data(r, &rec->u.page_data);
        }
        return 0;
    }
    if (xmig_transparent_state_add(r->pv, rec) < 0) {
        return -1;
    }
    if (rec->layer == XMIG_LAYER_LIBXL) {
        if (libxl_record_loadable(r, rec) < 0) {
            return -1;
        }
        return 0;
    }
    if (rec->type == XMIG_LIBXC_PAGE_DATA) {
        return on_page_data(r, &rec->u.page_data);
    }
    return on_state_record(r, rec);
}

/* Everything arrived: install the state and prove the copy. */
static int check_guest(struct receiver *r)
{
    uint8_t mine[32], sd[32];

    if (r->verify_mismatches) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "VERIFY: %llu pages differ from "
                       "the source's", (unsigned long long)r->verify_mismatches);
    }
    if (r->fed) {
        struct guest_state none;
        memset(&none, 0, sizeof(none));
        if (r->have_digest) {
            return err_set(XMIG_ERR_UNSUPPORTED, 0, "the stream's DIGEST "
                           "cannot be checked: the guest's toolstack "
                           "restores it");
        }
        return r->g->ops->set_state(r->g, &none);
    }
    r->gs.transparent = r->pv->flags ? r->pv : NULL;
    if (r->g->ops->set_state(r->g, &r->gs) < 0) {
        return -1;
    }
    if (!r->have_digest) {
        return 0;
    }
    if (r->written) {
        ram_digest_final(&r->running, mine);
    } else if (!r->g->ops->digest || r->g->ops->digest(r->g, mine) < 0) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "cannot check the DIGEST");
    }
    session_state_digest(&r->gs, sd);
    for (int i = 0; i < 32; i++) {
        mine[i] ^= sd[i];
    }
    if (memcmp(mine, r->digest, 32) != 0) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "the guest arrived different "
                       "from the source's: its RAM and state digest does not "
                       "match the DIGEST record");
    }
    return 0;
}

static void free_state(struct receiver *r)
{
    free(r->gs.params);
    free(r->gs.hvm_context);
    free(r->gs.cpuid);
    free(r->gs.msrs);
    xmig_transparent_state_free(r->pv);
    free(r->config);
    free(r->early);
    free(r->written);
}

static struct xmig_guest *receive(struct xmig_transport *t,
                                  const struct xmig_receive_params *p,
                                  struct xmig_migrate_stats *stats,
                                  int session);

struct xmig_guest *xmig_migrate_receive(struct xmig_transport *t,
                                        const struct xmig_receive_params *p,
                                        struct xmig_migrate_stats *stats)
{
    return receive(t, p, stats, 1);
}

struct xmig_guest *xmig_guest_restore(struct xmig_transport *t,
                                      const struct xmig_receive_params *p,
                                      struct xmig_migrate_stats *stats)
{
    return receive(t, p, stats, 0);
}

static struct xmig_guest *receive(struct xmig_transport *t,
                                  const struct xmig_receive_params *p,
                                  struct xmig_migrate_stats *stats,
                                  int session)
{
    struct receiver r;
    struct xmig_reader *reader = NULL;
    struct xmig_tls_info tls;
    double t0 = now_s();
    int ok = 0, ready_sent = 0;

    memset(&r, 0, sizeof(r));
    memset(stats, 0, sizeof(*stats));
    if (!p->factory) {
        err_set(XMIG_ERR_USAGE, EINVAL, "receiving needs a guest factory "
                "(xmig_sim_guest_factory, xmig_xen_guest_incoming or the "
                "caller's own)");
        return NULL;
    }
    r.t = t;
    r.p = p;
    r.pv = xmig_transparent_state_create();
    xmig_transport_tls_info(t, &tls);
    snprintf(stats->tls_mode, sizeof(stats->tls_mode), "%s",
             xmig_tls_mode_name(tls.mode));
    transport_phase(t, "sending the banner");
    if (!r.pv || (session && session_send(t, session_banner) < 0)) {
        goto out;
    }
    transport_phase(t, "receiving the stream");
    reader = xmig_reader_create(t, XMIG_FORMAT_AUTO);
    r.reader = reader;
    if (!reader || xmig_reader_run(reader, on_item, &r) != 0 ||
        (!session && xmig_reader_expect_eof(reader) < 0)) {
        goto out;
    }
    if (!r.g) {
        err_set(XMIG_ERR_PROTOCOL, 0, "the stream held no guest");
        goto out;
    }
    if (check_guest(&r) < 0) {
        goto out;
    }
    transport_phase(t, "waiting for the go-ahead");
    if (session && (session_send(t, session_ready) < 0 ||
                    (ready_sent = 1,
                     session_expect(t, session_go, "waiting for permission "
                                    "to start the guest") < 0))) {
        goto out;
    }
    if (r.g->ops->commit(r.g) < 0) {
        if (session) {
            (void)session_send_status(t, 1);
        }
        goto out;
    }
    if (!session) {
        ok = 1;
        goto out;
    }
    transport_phase(t, "sending the start result");
    if (session_send_status(t, 0) < 0) {
        /* The source may never learn: the guest runs here; say so. */
        err_prefix("the guest runs here, but the source was not told: ");
        ok = 1;
        goto out;
    }
    ok = 1;
out:
    t->phase[0] = '\0';
    stats->total_s = now_s() - t0;
    stats->bytes = xmig_transport_bytes_in(t);
    stats->pages_sent = r.pages;
    stats->zero_pages = r.zero_pages;
    stats->guest_pages = r.nr_pfns;
    stats->verified = ok && r.have_digest;
    snprintf(stats->guest_name, sizeof(stats->guest_name), "%s", r.name);
    xmig_reader_free(reader);
    if (!ok && r.g) {
        struct err_state *why = err_stash();
        r.g->ops->discard(r.g);
        err_unstash(why);
        r.g = NULL;
    }
    if (!ok && session && !ready_sent) {
        /* Tell an xmig sender why, before hanging up. */
        struct err_state *why = err_stash();
        (void)session_send_refusal(t);
        err_unstash(why);
    }
    r.gs.transparent = NULL;
    free_state(&r);
    return ok ? r.g : NULL;
}
