/*
 * The sim backend's ops table and the public calls that make sim guests.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/sim.h"
#include "common/error.h"

#define PAGE 4096u

static struct sim_guest *sim(struct xmig_guest *g)
{
    return (struct sim_guest *)g;
}

static int sim_info(struct xmig_guest *g, struct guest_info *out)
{
    struct sim_guest *s = sim(g);

    out->guest_type = XMIG_DOMAIN_X86_HVM;
    out->nr_pfns = s->nr_pfns;
    out->vcpus = s->nr_vcpus;
    out->domid = s->domid;
    out->xen_major = 4;
    out->xen_minor = 17;
    return 0;
}

static int check_pfns(struct sim_guest *s, const uint64_t *pfns, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (pfns[i] >= s->nr_pfns) {
            return err_set(XMIG_ERR_PROTOCOL, 0, "pfn 0x%llx is beyond the "
                           "guest's %llu pages",
                           (unsigned long long)pfns[i],
                           (unsigned long long)s->nr_pfns);
        }
    }
    return 0;
}

static int sim_map(struct xmig_guest *g, const uint64_t *pfns, uint32_t n,
                   const void **pages)
{
    struct sim_guest *s = sim(g);

    if (check_pfns(s, pfns, n) < 0) {
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        pages[i] = s->ram + pfns[i] * PAGE;
    }
    return 0;
}

static void sim_unmap(struct xmig_guest *g, const void **pages, uint32_t n)
{
    (void)g;
    (void)pages;
    (void)n;
}

static int sim_zero_pages(struct xmig_guest *g, uint64_t first, uint32_t n,
                          uint64_t *bitmap)
{
    sim_memory_holes(sim(g), first, n, bitmap);
    return 0;
}

static int sim_logdirty_enable(struct xmig_guest *g, int on)
{
    return sim_dirty_enable(sim(g), on);
}

static int sim_logdirty_read_clear(struct xmig_guest *g, uint64_t *bitmap,
                                   uint64_t *count)
{
    return sim_dirty_read_clear(sim(g), bitmap, count);
}

static int sim_pause(struct xmig_guest *g)
{
    return sim_vcpus_pause(sim(g));
}

static int sim_unpause(struct xmig_guest *g)
{
    sim_vcpus_unpause(sim(g));
    return 0;
}

static int sim_throttle(struct xmig_guest *g, unsigned percent)
{
    __atomic_store_n(&sim(g)->throttle, percent > 99 ? 99 : percent,
                     __ATOMIC_RELAXED);
    return 0;
}

static int sim_state(struct xmig_guest *g, int transparent,
                     struct guest_state *out)
{
    return sim_get_state(sim(g), transparent, out);
}

static void sim_state_put(struct xmig_guest *g, struct guest_state *st)
{
    (void)g;
    sim_put_state(st);
}

/* RAM digest: equal on both sides exactly when the memory arrived intact
 * (the engine folds in a digest of the state records it carried). */
static int sim_digest(struct xmig_guest *g, uint8_t out[32])
{
    sim_memory_digest(sim(g), out);
    return 0;
}

static int sim_populate(struct xmig_guest *g, const uint64_t *pfns, uint32_t n,
                        void **pages)
{
    struct sim_guest *s = sim(g);

    if (check_pfns(s, pfns, n) < 0) {
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        pages[i] = s->ram + pfns[i] * PAGE;
    }
    return 0;
}

static int sim_set_state(struct xmig_guest *g, const struct guest_state *st)
{
    struct sim_guest *s = sim(g);
    const struct sim_boot *b = (const void *)s->ram;

    /* Checked before the destination says it is ready, not at commit. */
    if (b->magic != SIM_MAGIC || b->vcpus == 0 || b->vcpus > SIM_MAX_VCPUS) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "the guest's RAM holds no sim "
                       "guest kernel (page 0)");
    }

    if (s->have_state) {
        sim_put_state(&s->incoming);
        s->have_state = 0;
    }
    if (sim_copy_state(st, &s->incoming) < 0) {
        return -1;
    }
    s->have_state = 1;
    return 0;
}

/* The guest runs here now: its PV state is what arrived, its vCPUs pick up
 * their program from RAM. */
static int sim_commit(struct xmig_guest *g)
{
    struct sim_guest *s = sim(g);
    const struct sim_boot *b = (const void *)s->ram;

    if (b->magic != SIM_MAGIC || b->vcpus == 0 || b->vcpus > SIM_MAX_VCPUS) {
        return err_set(XMIG_ERR_PROTOCOL, 0, "the guest's RAM holds no sim "
                       "guest kernel (page 0)");
    }
    s->nr_vcpus = (uint32_t)b->vcpus;
    pthread_mutex_lock(&s->pv_lock);
    if (s->have_state && s->incoming.transparent) {
        xmig_transparent_state_free(s->pv);
        s->pv = xmig_transparent_state_clone(s->incoming.transparent);
        /* Transparent migration keeps the domid (the factory made the
         * guest before the stream said which one). */
        s->domid = s->incoming.transparent->domid;
    }
    pthread_mutex_unlock(&s->pv_lock);
    if (!s->pv && sim_pv_init(s) < 0) {
        return -1;
    }
    return sim_vcpus_start(s);
}

static void sim_destroy(struct xmig_guest *g)
{
    struct sim_guest *s = sim(g);

    if (!s) {
        return;
    }
    sim_vcpus_stop(s);
    if (s->tracking) {
        (void)sim_dirty_enable(s, 0);
    }
    sim_memory_destroy(s);
    if (s->have_state) {
        sim_put_state(&s->incoming);
    }
    xmig_transparent_state_free(s->pv);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->pv_lock);
    free(s);
}

static const struct backend_ops sim_ops = {
    .name = "sim",
    .info = sim_info,
    .map = sim_map,
    .unmap = sim_unmap,
    .zero_pages = sim_zero_pages,
    .logdirty_enable = sim_logdirty_enable,
    .logdirty_read_clear = sim_logdirty_read_clear,
    .pause = sim_pause,
    .unpause = sim_unpause,
    .throttle = sim_throttle,
    .get_state = sim_state,
    .put_state = sim_state_put,
    .digest = sim_digest,
    .populate = sim_populate,
    .set_state = sim_set_state,
    .commit = sim_commit,
    .discard = sim_destroy,
    .destroy = sim_destroy,
};

static struct sim_guest *sim_new(uint64_t bytes, uint32_t vcpus,
                                 uint16_t domid)
{
    struct sim_guest *s = calloc(1, sizeof(*s));

    if (!s) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "sim guest");
        return NULL;
    }
    s->base.ops = &sim_ops;
    s->memfd = -1;
    s->domid = domid;
    s->nr_vcpus = vcpus;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    pthread_mutex_init(&s->pv_lock, NULL);
    if (sim_memory_create(s, bytes) < 0) {
        sim_destroy(&s->base);
        return NULL;
    }
    return s;
}

struct xmig_guest *xmig_sim_guest_create(const struct xmig_sim_config *c)
{
    struct sim_guest *s;

    if (c->vcpus == 0 || c->vcpus > SIM_MAX_VCPUS ||
        c->workload > XMIG_SIM_STRESS || c->domid == 0 ||
        c->domid >= 0x7FF0 || c->fill_percent > 100) {
        err_set(XMIG_ERR_USAGE, 0, "sim guest: 1 to %d vCPUs, a known "
                "workload, domid 1 to 32751", SIM_MAX_VCPUS);
        return NULL;
    }
    s = sim_new(c->memory_bytes, c->vcpus, c->domid);
    if (!s) {
        return NULL;
    }
    sim_fill(s, c->fill_percent, c->seed);
    sim_boot_init(s, c->workload, c->dirty_rate, c->seed);
    if (sim_pv_init(s) < 0 || sim_vcpus_start(s) < 0) {
        sim_destroy(&s->base);
        return NULL;
    }
    return &s->base;
}

/* An empty guest for the destination side: RAM, no vCPUs until commit. */
struct xmig_guest *sim_guest_incoming(uint64_t nr_pfns, uint16_t domid)
{
    struct sim_guest *s = sim_new(nr_pfns * PAGE, 1, domid);

    return s ? &s->base : NULL;
}

struct xmig_guest *xmig_sim_guest_factory(void *domid, const char *config_json,
                                          uint64_t max_memkb)
{
    uint16_t d = domid ? *(const uint16_t *)domid : 1;

    (void)config_json;
    if (max_memkb == 0 || max_memkb % 4) {
        err_set(XMIG_ERR_USAGE, 0, "a sim guest of %llu KiB",
                (unsigned long long)max_memkb);
        return NULL;
    }
    return sim_guest_incoming(max_memkb / 4, d ? d : 1);
}

void xmig_guest_destroy(struct xmig_guest *g)
{
    if (g) {
        g->ops->destroy(g);
    }
}

int xmig_guest_pause(struct xmig_guest *g)
{
    return g->ops->pause(g);
}

int xmig_guest_unpause(struct xmig_guest *g)
{
    return g->ops->unpause(g);
}

int xmig_guest_digest(struct xmig_guest *g, uint8_t out[32])
{
    if (!g->ops->digest) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "the %s backend has no "
                       "digest", g->ops->name);
    }
    return g->ops->digest(g, out);
}

uint64_t xmig_sim_heartbeat(struct xmig_guest *g)
{
    const struct sim_boot *b = (const void *)sim(g)->ram;

    return g->ops == &sim_ops ? b->heartbeat : 0;
}

const char *xmig_sim_workload_name(enum xmig_sim_workload w)
{
    switch (w) {
    case XMIG_SIM_IDLE:
        return "idle";
    case XMIG_SIM_MIXED:
        return "mixed";
    case XMIG_SIM_STRESS:
        return "stress";
    default:
        return "?";
    }
}

int xmig_sim_workload_parse(const char *name, enum xmig_sim_workload *w)
{
    for (int i = XMIG_SIM_IDLE; i <= XMIG_SIM_STRESS; i++) {
        if (strcmp(name, xmig_sim_workload_name(i)) == 0) {
            *w = i;
            return 0;
        }
    }
    return err_set(XMIG_ERR_USAGE, 0, "workload '%s' is not idle, mixed or "
                   "stress", name);
}
