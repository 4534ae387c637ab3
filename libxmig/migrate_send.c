/*
 * The source side of a live migration: pre-copy.  Round 1 sends every page
 * (all-zero ones as allocate-only, on this first pass only); later rounds
 * send what the guest dirtied meanwhile, in batches of up to 1024 pages,
 * until the downtime the last round's transfer rate predicts fits the
 * target (which starts small and doubles each round up to its limit), or
 * the rounds run out.  Auto-converge throttles the vCPUs when a round
 * stalls.  Then: pause, the last dirty pages, the state records, END, and
 * xl's handshake: the guest resumes at the destination only once it has
 * and has checked everything; until then any failure resumes it here.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/log.h"
#include "libxmig/backend.h"
#include "libxmig/session.h"
#include "streams/transport.h"
#include "xmig.h"

#define BATCH 1024u
#define PAGE 4096u
#define HANDOVER_MS_DEFAULT 30000u

struct sender {
    struct xmig_guest *g;
    const struct backend_ops *ops;
    struct xmig_transport *t;
    struct xmig_writer *w;
    const struct xmig_migrate_params *p;
    struct xmig_migrate_stats *st;
    struct guest_info info;
    uint64_t *dirty, *final;
    uint64_t words;
    double t0;
    double last_progress;       /* when the callback last fired */
    uint64_t base_sent, base_zero, base_holes;  /* before this round */
    struct xmig_iteration_stats *cur;   /* the round under way */
    unsigned throttle;
    int paused, logdirty, go_sent, handed;
    int live, session;          /* a live migration with xl's handshake, or
                                 * a save: paused, one pass, no messages */
};

void xmig_migrate_params_init(struct xmig_migrate_params *p)
{
    memset(p, 0, sizeof(*p));
    p->downtime_ms = 300;
    p->initial_downtime_ms = 30;
    p->max_iters = 30;
    p->auto_converge = 1;
    p->digest = 1;
    p->handover_timeout_ms = HANDOVER_MS_DEFAULT;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

GUEST_RAM_ACCESS static int page_is_zero(const void *page)
{
    const uint64_t *w = page;
    uint64_t acc = 0;

    for (unsigned i = 0; i < PAGE / 8; i += 8) {
        acc |= w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] |
               w[i + 6] | w[i + 7];
        if (acc) {
            return 0;
        }
    }
    return 1;
}

static void progress_tick(struct sender *s);

/* Keep under the bandwidth cap: sleep until the octets sent fit it, in
 * slices, so that progress is still reported once a second. */
static void pace(struct sender *s)
{
    double ahead;

    while (s->p->bandwidth &&
           (ahead = (double)xmig_writer_offset(s->w) /
                        (double)s->p->bandwidth -
                    (now_s() - s->t0)) > 0.001) {
        struct timespec ts = { 0, (long)((ahead > 0.05 ? 0.05 : ahead) *
                                         1e9) };
        nanosleep(&ts, NULL);
        progress_tick(s);
    }
    progress_tick(s);
}

/* The live figures in *st and *r, from r's counts so far. */
static void live_update(struct sender *s, struct xmig_iteration_stats *r,
                        double now)
{
    struct xmig_migrate_stats *st = s->st;
    uint64_t done = r->pages_sent + r->zero_pages + r->holes;

    st->pages_sent = s->base_sent + r->pages_sent;
    st->zero_pages = s->base_zero + r->zero_pages;
    st->holes = s->base_holes + r->holes;
    st->bytes = xmig_writer_offset(s->w);
    st->total_s = now - s->t0;
    st->iteration = r->iteration;
    st->throttle = r->throttle;
    st->memory_processed = (st->pages_sent + st->zero_pages) * PAGE;
    r->remaining_pages = r->dirty_pages > done ? r->dirty_pages - done : 0;
    st->memory_remaining = r->remaining_pages * PAGE;
    r->elapsed_s = st->total_s;
    r->guest_pages = st->guest_pages;
    r->total_bytes = st->bytes;
    r->avg_transfer_rate = st->total_s > 0 ? (double)st->bytes / st->total_s
                                           : 0;
    st->transfer_rate = r->transfer_rate;
    if (!r->final) {
        st->dirty_rate = r->dirty_rate;   /* a paused guest dirties none */
    }
    r->eta_s = r->remaining_pages == 0 ? 0
               : r->transfer_rate > 0
                   ? (double)r->remaining_pages * PAGE / r->transfer_rate
                   : -1;
    st->remaining_s = r->eta_s;
}

/* Within a round: the callback with the counts so far, about once a
 * second (a clock read per batch; 0.9 s so that a slow batch or a pacing
 * slice does not stretch the gap past a second). */
static void progress_tick(struct sender *s)
{
    struct xmig_iteration_stats *r = s->cur, snap;
    double now;

    if (!r || !s->p->progress || (now = now_s()) - s->last_progress < 0.9) {
        return;
    }
    s->last_progress = now;
    snap = *r;
    snap.partial = 1;
    snap.duration_s = now - s->t0 - r->start_s;
    snap.bytes = xmig_writer_offset(s->w) - r->bytes;
    snap.transfer_rate = snap.duration_s > 0
                             ? (double)snap.bytes / snap.duration_s
                             : 0;
    live_update(s, &snap, now);
    s->p->progress(s->p->user_data, &snap);
}

static int cancelled(const struct sender *s)
{
    if (xmig_cancel_raised(s->p->cancel)) {
        return err_set(XMIG_ERR_USAGE, ECANCELED, "migration cancelled");
    }
    return 0;
}

static int send_batch(struct sender *s, const uint64_t *pfns, uint32_t n,
                      int first_pass, struct xmig_iteration_stats *r)
{
    const void *pages[BATCH];
    const void *data[BATCH];
    uint64_t words[BATCH];
    int rc;

    if (cancelled(s) < 0) {
        return -1;
    }
    if (s->ops->map(s->g, pfns, n, pages) < 0) {
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        /* Allocate-only for zero pages, but only before a page was ever
         * sent with data: a page sent once must be re-sent with data. */
        if (!pages[i]) {
            /* No memory here: what Xen's saver sends as XTAB. */
            words[i] = ((uint64_t)XMIG_PFN_TYPE_XTAB << XMIG_PFN_TYPE_SHIFT) |
                       pfns[i];
            data[i] = NULL;
            r->holes++;
        } else if (first_pass && page_is_zero(pages[i])) {
            words[i] = ((uint64_t)XMIG_PFN_TYPE_XALLOC << XMIG_PFN_TYPE_SHIFT) |
                       pfns[i];
            data[i] = NULL;
            r->zero_pages++;
        } else {
            words[i] = pfns[i];
            data[i] = pages[i];
            r->pages_sent++;
        }
    }
    rc = xmig_writer_page_data(s->w, n, words, data);
    s->ops->unmap(s->g, pages, n);
    pace(s);
    return rc;
}

/* Allocate-only entries for pages the backend knows are zero, without
 * mapping or reading them (first pass only). */
static int send_known_zero(struct sender *s, const uint64_t *pfns, uint32_t n,
                           struct xmig_iteration_stats *r)
{
    uint64_t words[BATCH];
    const void *none[BATCH] = { NULL };

    for (uint32_t i = 0; i < n; i++) {
        words[i] = ((uint64_t)XMIG_PFN_TYPE_XALLOC << XMIG_PFN_TYPE_SHIFT) |
                   pfns[i];
    }
    r->zero_pages += n;
    return xmig_writer_page_data(s->w, n, words, none);
}

static int send_all(struct sender *s, int first_pass,
                    struct xmig_iteration_stats *r)
{
    uint64_t pfns[BATCH], zero[BATCH], holes[BATCH / 64];

    for (uint64_t base = 0; base < s->info.nr_pfns; base += BATCH) {
        uint32_t n = (uint32_t)(s->info.nr_pfns - base < BATCH
                                    ? s->info.nr_pfns - base
                                    : BATCH);
        uint32_t nd = 0, nz = 0;
        int known = first_pass && s->ops->zero_pages &&
                    s->ops->zero_pages(s->g, base, n, holes) == 0;
        for (uint32_t i = 0; i < n; i++) {
            if (known && (holes[i / 64] >> (i % 64)) & 1) {
                zero[nz++] = base + i;
            } else {
                pfns[nd++] = base + i;
            }
        }
        if ((nz && send_known_zero(s, zero, nz, r) < 0) ||
            (nd && send_batch(s, pfns, nd, first_pass, r) < 0)) {
            return -1;
        }
    }
    return 0;
}

static int send_bitmap(struct sender *s, const uint64_t *bitmap,
                       struct xmig_iteration_stats *r)
{
    uint64_t pfns[BATCH];
    uint32_t n = 0;

    for (uint64_t w = 0; w < s->words; w++) {
        uint64_t bits = bitmap[w];
        while (bits) {
            pfns[n++] = w * 64 + (uint64_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            if (n == BATCH) {
                if (send_batch(s, pfns, n, 0, r) < 0) {
                    return -1;
                }
                n = 0;
            }
        }
    }
    return n ? send_batch(s, pfns, n, 0, r) : 0;
}

static void round_begin(struct sender *s, struct xmig_iteration_stats *r,
                        uint32_t it, uint64_t dirty)
{
    memset(r, 0, sizeof(*r));
    transport_phase(s->t, "sending round %u pages", it);
    r->iteration = it;
    r->dirty_pages = dirty;
    r->start_s = now_s() - s->t0;
    r->throttle = s->throttle;
    r->dirty_rate = s->st->dirty_rate;   /* the last measured, until ours */
    r->bytes = xmig_writer_offset(s->w);
    if (it == 1) {
        s->st->setup_ms = r->start_s * 1000.0;
    }
    s->base_sent = s->st->pages_sent;
    s->base_zero = s->st->zero_pages;
    s->base_holes = s->st->holes;
    s->cur = r;
}

/* The round ended at end (seconds, s->t0's clock); dirtied: the pages the
 * guest dirtied during it (-1: not known, e.g. paused). */
static void round_end(struct sender *s, struct xmig_iteration_stats *r,
                      double end, int64_t dirtied)
{
    struct xmig_migrate_stats *st = s->st;

    s->cur = NULL;
    r->duration_s = end - s->t0 - r->start_s;
    r->bytes = xmig_writer_offset(s->w) - r->bytes;
    r->transfer_rate = r->duration_s > 0 ? (double)r->bytes / r->duration_s
                                         : 0;
    if (dirtied >= 0) {
        r->dirty_rate = r->duration_s > 0 ? (double)dirtied / r->duration_s
                                          : 0;
    }
    live_update(s, r, now_s());
    st->iterations = r->iteration;
    if (s->throttle > st->max_throttle) {
        st->max_throttle = s->throttle;
    }
    if (st->nrounds < XMIG_MAX_ITER_STATS) {
        st->rounds[st->nrounds++] = *r;
    }
    if (s->p->progress) {
        s->last_progress = now_s();
        s->p->progress(s->p->user_data, r);
    }
}

static int begin_stream(struct sender *s, const struct guest_state *st0)
{
    const char *config = NULL;
    char json[256], name[80];

    if (s->ops->domain_config && s->ops->domain_config(s->g, &config) < 0) {
        return -1;
    }

    if (s->p->name && s->p->name[0] && strlen(s->p->name) < 64 &&
        strspn(s->p->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
                           "YZ0123456789-_.") == strlen(s->p->name)) {
        snprintf(name, sizeof(name), "%s", s->p->name);
    } else {
        snprintf(name, sizeof(name), "xmig-%u", s->info.domid);
    }
    snprintf(json, sizeof(json),
             "{\"c_info\": {\"type\": \"hvm\", \"name\": \"%s\"}, "
             "\"b_info\": {\"max_memkb\": %llu, \"target_memkb\": %llu, "
             "\"max_vcpus\": %u}}",
             name, (unsigned long long)(s->info.nr_pfns * 4),
             (unsigned long long)(s->info.nr_pfns * 4), s->info.vcpus);
    if (xmig_writer_xl_header(s->w, config ? config : json) < 0 ||
        xmig_writer_libxl_begin(s->w) < 0 ||
        (s->p->transparent &&
         xmig_writer_libxl_transparent(s->w, s->info.domid,
                                       XMIG_TRANSPARENT_EVTCHN |
                                           XMIG_TRANSPARENT_GNTTAB |
                                           XMIG_TRANSPARENT_XENSTORE) < 0) ||
        xmig_writer_libxc_begin(s->w, s->info.guest_type, s->info.xen_major,
                                s->info.xen_minor) < 0 ||
        (s->p->transparent &&
         xmig_writer_libxc_transparent(s->w, XMIG_TRANSPARENT_EVTCHN |
                                                 XMIG_TRANSPARENT_GNTTAB) <
             0) ||
        (st0->ncpuid &&
         xmig_writer_cpuid_policy(s->w, st0->cpuid, st0->ncpuid) < 0) ||
        (st0->nmsrs && xmig_writer_msr_policy(s->w, st0->msrs, st0->nmsrs) < 0) ||
        xmig_writer_libxc_record(s->w, XMIG_LIBXC_STATIC_DATA_END, NULL, 0) <
            0) {
        return -1;
    }
    return 0;
}

/* Rounds while the guest runs.  Leaves the last unsent dirty set in
 * s->dirty. */
static int precopy(struct sender *s)
{
    struct xmig_iteration_stats r, prev;
    uint64_t count = 0;
    double target;

    round_begin(s, &r, 1, s->info.nr_pfns);
    if (send_all(s, 1, &r) < 0) {
        return -1;
    }
    for (uint32_t it = 2;; it++) {
        double end = now_s();
        /* What the guest dirtied during the round just sent gives its
         * dirty rate (round 1's too). */
        if (s->ops->logdirty_read_clear(s->g, s->dirty, &count) < 0) {
            return -1;
        }
        round_end(s, &r, end, (int64_t)count);
        prev = r;
        target = s->p->initial_downtime_ms * ldexp(1.0, (int)it - 2);
        if (target > s->p->downtime_ms) {
            target = s->p->downtime_ms;
        }
        round_begin(s, &r, it, count);
        r.expected_downtime_ms =
            prev.transfer_rate > 0
                ? (double)count * PAGE / prev.transfer_rate * 1000.0
                : 1e9;
        if (r.expected_downtime_ms <= target) {
            snprintf(s->st->stop_reason, sizeof(s->st->stop_reason),
                     "expected downtime %.0f ms within %.0f ms",
                     r.expected_downtime_ms, target);
            s->cur = NULL;
            return 0;
        }
        if (it > s->p->max_iters) {
            snprintf(s->st->stop_reason, sizeof(s->st->stop_reason),
                     "%u rounds done", s->p->max_iters);
            s->cur = NULL;
            return 0;
        }
        /* Stalled: the guest dirtied at least half of what went out. */
        if (s->p->auto_converge && s->ops->throttle &&
            count * 2 >= prev.pages_sent + prev.zero_pages &&
            s->throttle < 99) {
            s->throttle = s->throttle ? s->throttle + 10 : 20;
            s->throttle = s->throttle > 99 ? 99 : s->throttle;
            if (s->ops->throttle(s->g, s->throttle) < 0) {
                return -1;
            }
            r.throttle = s->throttle;
        }
        if (send_bitmap(s, s->dirty, &r) < 0) {
            return -1;
        }
    }
}

static int send_state(struct sender *s)
{
    struct guest_state gs;
    uint8_t digest[32], sd[32];
    int rc = -1;

    if (s->ops->get_state(s->g, s->p->transparent, &gs) < 0) {
        return -1;
    }
    if (xmig_writer_tsc_info(s->w, &gs.tsc) < 0 ||
        xmig_writer_hvm_params(s->w, gs.params, gs.nparams) < 0 ||
        xmig_writer_libxc_record(s->w, XMIG_LIBXC_HVM_CONTEXT, gs.hvm_context,
                                 gs.hvm_context_len) < 0 ||
        (s->p->transparent &&
         xmig_writer_transparent_libxc(s->w, gs.transparent) < 0)) {
        goto out;
    }
    if (s->p->digest && s->ops->digest) {
        if (s->ops->digest(s->g, digest) < 0) {
            goto out;
        }
        session_state_digest(&gs, sd);
        for (int i = 0; i < 32; i++) {
            digest[i] ^= sd[i];
        }
        if (xmig_writer_libxc_record(s->w, XMIG_LIBXC_DIGEST, digest, 32) <
            0) {
            goto out;
        }
    }
    if (xmig_writer_libxc_end(s->w) < 0 ||
        (gs.emulator_xenstore &&
         xmig_writer_libxl_record(s->w, XMIG_LIBXL_EMULATOR_XENSTORE_DATA,
                                  gs.emulator_xenstore,
                                  gs.emulator_xenstore_len) < 0) ||
        (gs.emulator_context &&
         xmig_writer_libxl_record(s->w, XMIG_LIBXL_EMULATOR_CONTEXT,
                                  gs.emulator_context,
                                  gs.emulator_context_len) < 0) ||
        (s->p->transparent &&
         xmig_writer_transparent_libxl(s->w, gs.transparent) < 0) ||
        xmig_writer_libxl_end(s->w) < 0) {
        goto out;
    }
    rc = 0;
out:
    s->ops->put_state(s->g, &gs);
    return rc;
}

/* Stop-and-copy: pause, the last dirty pages, state, END. */
static int stop_and_copy(struct sender *s, double *t_pause)
{
    struct xmig_iteration_stats r;
    uint64_t count = 0, total = 0;

    /* The downtime starts when the guest is asked to stop: a xen guest
     * stops running while it suspends itself. */
    if (cancelled(s) < 0) {
        return -1;
    }
    *t_pause = now_s();
    if (s->ops->pause(s->g) < 0) {
        return -1;
    }
    s->paused = 1;
    s->st->stop_ms = (now_s() - *t_pause) * 1000.0;
    if (s->ops->logdirty_read_clear(s->g, s->final, &count) < 0) {
        return -1;
    }
    for (uint64_t w = 0; w < s->words; w++) {
        s->final[w] |= s->dirty[w];
        total += (uint64_t)__builtin_popcountll(s->final[w]);
    }
    round_begin(s, &r, s->st->iterations + 1, total);
    transport_phase(s->t, "sending the last pages and state (the guest is "
                    "paused)");
    r.final = 1;
    if (send_bitmap(s, s->final, &r) < 0) {
        return -1;
    }
    if (s->p->verify &&
        (xmig_writer_libxc_record(s->w, XMIG_LIBXC_VERIFY, NULL, 0) < 0 ||
         send_all(s, 0, &r) < 0)) {
        return -1;
    }
    if (send_state(s) < 0) {
        return -1;
    }
    r.dirty_rate = 0;   /* paused */
    round_end(s, &r, now_s(), -1);
    s->st->final_ms = (now_s() - *t_pause) * 1000.0 - s->st->stop_ms;
    return 0;
}

/* Whatever the outcome, the migration's hold on the guest ends: no
 * throttle, no dirty tracking (a paused guest stays paused). */
static void stop_tracking(struct sender *s)
{
    if (s->throttle && s->ops->throttle) {
        (void)s->ops->throttle(s->g, 0);
        s->throttle = 0;
    }
    if (s->logdirty) {
        (void)s->ops->logdirty_enable(s->g, 0);
        s->logdirty = 0;
    }
}

/* Whatever went wrong, before "go" the guest runs on here; -1 (with the
 * error set) if it could not be resumed. */
static int resume_here(struct sender *s)
{
    if (s->handed) {
        (void)s->ops->handover(s->g, 1);
        s->handed = 0;
    }
    stop_tracking(s);
    if (s->paused && s->ops->unpause(s->g) < 0) {
        return -1;
    }
    return s->ops->alive ? s->ops->alive(s->g) : 0;
}

static int handshake(struct sender *s, double t_pause)
{
    uint8_t status;
    uint32_t io = s->t->io_timeout_ms, limit = s->p->handover_timeout_ms
                                                  ? s->p->handover_timeout_ms
                                                  : HANDOVER_MS_DEFAULT;
    int rc;

    transport_phase(s->t, "waiting for the destination to confirm the guest");
    if (session_expect(s->t, session_ready,
                       "waiting for the destination to confirm the guest") <
            0 ||
        cancelled(s) < 0) {
        return -1;
    }
    if (s->ops->handover) {
        if (s->ops->handover(s->g, 0) < 0) {
            return -1;
        }
        s->handed = 1;
    }
    /* From the first octet of "go" on, the destination may start the
     * guest: the outcome is no longer ours alone (docs/timeouts.md). */
    s->go_sent = 1;
    transport_phase(s->t, "sending the go-ahead");
    if (session_send(s->t, session_go) < 0) {
        return -1;
    }
    /* Its answer, bounded by the handover limit alone. */
    transport_phase(s->t, "waiting for the destination's start result "
                    "after the go-ahead");
    s->t->io_timeout_ms = 0;
    transport_deadline(s->t, limit);
    rc = session_read_status(s->t, &status);
    s->t->io_timeout_ms = io;
    s->t->deadline_ms = 0;
    if (rc < 0) {
        return -1;
    }
    s->st->downtime_ms = (now_s() - t_pause) * 1000.0;
    s->st->handover_ms = s->st->downtime_ms - s->st->stop_ms -
                         s->st->final_ms;
    if (status != 0) {
        s->go_sent = 0;   /* the destination reports failure: resume here */
        return err_set(XMIG_ERR_PROTOCOL, 0, "the destination could not "
                       "start the guest (status %u)", status);
    }
    return 0;
}

static int send_guest(struct xmig_guest *g, struct xmig_transport *t,
                      const struct xmig_migrate_params *p,
                      struct xmig_migrate_stats *stats, int live);

/* The go-ahead may have reached the destination, and no result came: it
 * may run the guest, or not.  Two running copies would corrupt what they
 * share (disks), so by default the source stays paused and the operator
 * decides; XMIG_HANDOVER_RESUME puts availability first.  Either way the
 * wait was bounded and it is said loudly (docs/timeouts.md). */
static void after_go_failed(struct sender *s)
{
    struct err_state *why = err_stash();
    char cause[600];

    stop_tracking(s);
    err_unstash(why);
    snprintf(cause, sizeof(cause), "%s", xmig_error_message());
    if (s->p->handover_expiry == XMIG_HANDOVER_RESUME) {
        if (resume_here(s) == 0) {
            log_msg(XMIG_LOG_WARNING, "migration outcome unknown after the "
                    "go-ahead (%s): the guest RESUMES at the source, as "
                    "handover_expiry=resume says; if the destination "
                    "started it too, two copies run: check it and destroy "
                    "one", cause);
            err_prefix("migration outcome unknown after the go-ahead; the "
                       "guest was resumed at the source (handover_expiry="
                       "resume), check the destination for a second copy: ");
            return;
        }
        err_set(XMIG_ERR_IO, 0, "%s; and resuming the guest here failed: %s",
                cause, xmig_error_message());
    }
    s->st->source_paused = 1;
    log_msg(XMIG_LOG_WARNING, "migration outcome unknown after the go-ahead "
            "(%s): the guest stays PAUSED at the source; if the destination "
            "does not run it, resume it here, else destroy it here", cause);
    err_prefix("migration outcome unknown (the destination may be running "
               "the guest), the source copy stays paused: ");
}

int xmig_migrate_send(struct xmig_guest *g, struct xmig_transport *t,
                      const struct xmig_migrate_params *p,
                      struct xmig_migrate_stats *stats)
{
    return send_guest(g, t, p, stats, 1);
}

int xmig_guest_save(struct xmig_guest *g, struct xmig_transport *t,
                    const struct xmig_migrate_params *p,
                    struct xmig_migrate_stats *stats)
{
    return send_guest(g, t, p, stats, 0);
}

/* A save: the guest paused from the start, every page once, the state,
 * END; then flushed.  The guest stays paused for the caller to resume or
 * destroy. */
static int save_paused(struct sender *s, double *t_pause)
{
    struct xmig_iteration_stats r;

    if (s->ops->pause(s->g) < 0) {
        return -1;
    }
    s->paused = 1;
    *t_pause = now_s();
    round_begin(s, &r, 1, s->info.nr_pfns);
    r.final = 1;
    if (send_all(s, 1, &r) < 0 || send_state(s) < 0 ||
        xmig_transport_finish(s->t) < 0) {
        return -1;
    }
    round_end(s, &r, now_s(), -1);
    snprintf(s->st->stop_reason, sizeof(s->st->stop_reason), "saved");
    return 0;
}

static int send_guest(struct xmig_guest *g, struct xmig_transport *t,
                      const struct xmig_migrate_params *p,
                      struct xmig_migrate_stats *stats, int live)
{
    struct sender s;
    struct guest_state st0;
    struct xmig_tls_info tls;
    struct xmig_cancel *saved_cancel = NULL;
    uint32_t saved_io = 0;
    double t_pause = 0;
    int rc = -1;

    memset(&s, 0, sizeof(s));
    memset(stats, 0, sizeof(*stats));
    s.g = g;
    s.ops = g->ops;
    s.t = t;
    s.p = p;
    s.st = stats;
    s.t0 = now_s();
    g->cancel = p->cancel;   /* for the backend's waits (a suspend) */
    xmig_transport_tls_info(t, &tls);
    snprintf(stats->tls_mode, sizeof(stats->tls_mode), "%s",
             xmig_tls_mode_name(tls.mode));
    if (s.ops->info(g, &s.info) < 0) {
        g->cancel = NULL;
        return -1;
    }
    stats->guest_pages = s.info.nr_pfns;
    stats->page_size = PAGE;
    stats->memory_total = s.info.nr_pfns * PAGE;
    stats->downtime_target_ms = p->downtime_ms;
    s.words = (s.info.nr_pfns + 63) / 64;
    s.dirty = calloc(s.words, 8);
    s.final = calloc(s.words, 8);
    s.w = xmig_writer_create(t);
    if (!s.dirty || !s.final || !s.w) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "migration bitmaps");
        goto out;
    }
    s.live = s.session = live;
    saved_io = t->io_timeout_ms;
    saved_cancel = t->cancel;
    if (p->io_timeout_ms) {
        t->io_timeout_ms = p->io_timeout_ms;
    }
    if (p->cancel) {
        t->cancel = p->cancel;   /* blocked reads and writes notice it */
    }
    transport_phase(t, "waiting for the receiver's banner");
    if (cancelled(&s) < 0 ||
        (s.session &&
         session_expect(t, session_banner, "waiting for the receiver") < 0) ||
        s.ops->get_state(g, 0, &st0) < 0) {
        goto out;
    }
    rc = begin_stream(&s, &st0);
    s.ops->put_state(g, &st0);
    if (rc < 0) {
        goto out;
    }
    rc = -1;
    if (!s.live) {
        if (save_paused(&s, &t_pause) < 0) {
            goto out;
        }
        rc = 0;
        goto out;
    }
    if (s.ops->logdirty_enable(g, 1) < 0) {
        goto out;
    }
    s.logdirty = 1;
    if (precopy(&s) < 0 || stop_and_copy(&s, &t_pause) < 0 ||
        handshake(&s, t_pause) < 0) {
        goto out;
    }
    rc = 0;
    stats->verified = p->digest && s.ops->digest;
out:
    stats->bytes = s.w ? xmig_writer_offset(s.w) : 0;
    stats->total_s = now_s() - s.t0;
    if (rc < 0 && !s.go_sent) {
        struct err_state *why;
        char stuck[256] = "";
        /* The destination may have said why it hung up (not asked after a
         * cancel, nor when it already said). */
        why = err_stash();
        /* Its reason replaces our broken pipe; a failed look leaves the
         * stashed error to be restored below. */
        if (s.session && xmig_error_category() != XMIG_ERR_USAGE &&
            xmig_error_errno() != ETIMEDOUT &&
            !strstr(xmig_error_message(), "the destination refused") &&
            session_take_refusal(t, 2000)) {
            err_forget(why);
            why = err_stash();
        }
        if (resume_here(&s) < 0) {
            snprintf(stuck, sizeof(stuck), "%s", xmig_error_message());
            stats->source_paused = s.paused;
        }
        err_unstash(why);
        if (stuck[0]) {
            err_prefix("%s failed, and the guest could NOT be resumed (%s): ",
                       s.live ? "migration" : "save", stuck);
        } else {
            err_prefix(s.live ? "migration failed, the guest runs on at the "
                                "source: "
                              : "save failed, the guest runs on: ");
        }
    } else if (rc < 0) {
        after_go_failed(&s);
    } else {
        stop_tracking(&s);
    }
    if (s.w) {   /* the transport is the caller's again, as it was */
        t->io_timeout_ms = saved_io;
        t->cancel = saved_cancel;
        t->deadline_ms = 0;
        t->phase[0] = '\0';
    }
    xmig_writer_free(s.w);
    free(s.dirty);
    free(s.final);
    g->cancel = NULL;
    return rc;
}
