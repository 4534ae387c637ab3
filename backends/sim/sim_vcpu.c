/*
 * Sim vCPUs: threads that run the guest's workload.  Like a real guest,
 * they keep their program state (workload, pacing, random generators, a
 * heartbeat) in guest RAM (pfn 0), so a copy of the RAM carries on where
 * the original stopped.
 *
 * Workloads: idle (a heartbeat and a page now and then), mixed (a hot set
 * written often plus scattered writes, at a set dirty rate), stress (XOR of
 * every byte of half the RAM with random data, as fast as it goes, like
 * QEMU's guestperf stress program).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "backends/sim/sim.h"
#include "common/error.h"

#define PAGE 4096u
#define SLICE_NS 10000000ull     /* throttling works on 10 ms slices */

static struct sim_boot *boot(struct sim_guest *s)
{
    return (struct sim_boot *)(void *)(s->ram + SIM_BOOT_PFN * PAGE);
}

void sim_boot_init(struct sim_guest *s, unsigned workload, uint64_t rate,
                   uint32_t seed)
{
    struct sim_boot *b = boot(s);

    b->magic = SIM_MAGIC;
    b->workload = workload;
    b->dirty_rate = rate;
    b->vcpus = s->nr_vcpus;
    b->heartbeat = 0;
    for (uint32_t v = 0; v < SIM_MAX_VCPUS; v++) {
        b->rng[v] = 0x9E3779B97F4A7C15ull * (v + 1) ^ seed ^ 0xD1B54A32D192ED03ull;
    }
}

static uint64_t next(uint64_t *x);

/* A guest that has used some of its memory: every (100/percent)-th page
 * holds data, spread over all of RAM. */
void sim_fill(struct sim_guest *s, unsigned percent, uint32_t seed)
{
    uint64_t x = 0x2545F4914F6CDD1Dull ^ seed;

    if (percent == 0) {
        return;
    }
    for (uint64_t pfn = 1; pfn < s->nr_pfns; pfn++) {
        uint64_t *w;
        if ((pfn * 100 / s->nr_pfns) % 100 >= 100 ||
            (pfn % 100) >= percent) {
            continue;
        }
        w = (uint64_t *)(void *)(s->ram + pfn * PAGE);
        for (unsigned i = 0; i < PAGE / 8; i++) {
            w[i] = next(&x);
        }
    }
}

static uint64_t next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000ull),
                           (long)(ns % 1000000000ull) };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* Park while paused; returns 1 when the vCPU must stop. */
static int checkpoint(struct sim_guest *s)
{
    int stop;

    pthread_mutex_lock(&s->lock);
    if (s->paused && !s->stopping) {
        s->parked++;
        pthread_cond_broadcast(&s->cond);
        while (s->paused && !s->stopping) {
            pthread_cond_wait(&s->cond, &s->lock);
        }
        s->parked--;
    }
    stop = s->stopping;
    pthread_mutex_unlock(&s->lock);
    return stop;
}

GUEST_RAM_ACCESS static void write_page(struct sim_guest *s, uint64_t pfn,
                                        uint64_t *rng)
{
    uint64_t *w = (uint64_t *)(void *)(s->ram + pfn * PAGE);
    /* A few words per page: dirtying, not bandwidth, is what matters. */
    w[next(rng) % (PAGE / 8)] = next(rng);
    w[0] += 1;
}

GUEST_RAM_ACCESS static void xor_page(struct sim_guest *s, uint64_t pfn,
                                      uint64_t *rng)
{
    uint64_t *w = (uint64_t *)(void *)(s->ram + pfn * PAGE);
    for (unsigned i = 0; i < PAGE / 8; i++) {
        w[i] ^= next(rng);
    }
}

/* The vCPU's state and heartbeat live in guest RAM (page 0). */
GUEST_RAM_ACCESS static void guest_tick(struct sim_boot *b, uint32_t v,
                                        uint64_t rng)
{
    b->rng[v] = rng;
    if (v == 0) {
        b->heartbeat++;
    }
}

/* One burst of about a millisecond of guest work. */
static void burst(struct sim_guest *s, uint32_t v, uint64_t *rng)
{
    struct sim_boot *b = boot(s);
    uint64_t first = 1, n = s->nr_pfns - 1;
    uint64_t rate = b->dirty_rate, pages;

    switch (b->workload) {
    case XMIG_SIM_IDLE:
        if (next(rng) % 64 == 0) {
            write_page(s, first + next(rng) % n, rng);
        }
        sleep_ns(1000000);
        return;
    case XMIG_SIM_MIXED: {
        uint64_t hot = n / 20 ? n / 20 : 1;
        /* Default: 4096 pages (16 MiB) a second, an application's pace. */
        pages = (rate ? rate : 4096) / 1000 / s->nr_vcpus;
        pages = pages ? pages : 1;
        for (uint64_t i = 0; i < pages; i++) {
            uint64_t pfn = next(rng) % 5 ? first + next(rng) % hot
                                         : first + next(rng) % n;
            write_page(s, pfn, rng);
        }
        sleep_ns(1000000);
        return;
    }
    default: {   /* stress */
        uint64_t lo = s->nr_pfns / 4, span = s->nr_pfns / 2;
        pages = rate ? rate / 1000 / s->nr_vcpus : 64;
        for (uint64_t i = 0; i < (pages ? pages : 1); i++) {
            xor_page(s, lo + (next(rng) % (span ? span : 1)), rng);
        }
        if (rate) {
            sleep_ns(1000000);
        }
        (void)v;
        return;
    }
    }
}

static void *vcpu_main(void *arg)
{
    struct sim_guest *s = arg;
    uint32_t v;
    uint64_t slice_start = now_ns(), busy = 0;

    pthread_mutex_lock(&s->lock);
    v = (uint32_t)s->started++;
    pthread_mutex_unlock(&s->lock);
    while (!checkpoint(s)) {
        struct sim_boot *b = boot(s);
        uint64_t rng = b->rng[v], t0 = now_ns();
        unsigned throttle;

        burst(s, v, &rng);
        guest_tick(b, v, rng);
        if (atomic_fetch_add(&s->ticks, 1) % 64 == 0) {
            sim_pv_tick(s, atomic_load(&s->ticks));
        }
        /* Throttle: sleep the throttled share of each 10 ms slice. */
        busy += now_ns() - t0;
        throttle = __atomic_load_n(&s->throttle, __ATOMIC_RELAXED);
        if (now_ns() - slice_start >= SLICE_NS) {
            if (throttle) {
                sleep_ns(busy * throttle / (100 - (throttle < 99 ? throttle
                                                                 : 99)));
            }
            slice_start = now_ns();
            busy = 0;
        }
    }
    return NULL;
}

int sim_vcpus_start(struct sim_guest *s)
{
    s->started = 0;
    s->stopping = 0;
    s->paused = 0;
    for (uint32_t v = 0; v < s->nr_vcpus; v++) {
        int rc = pthread_create(&s->threads[v], NULL, vcpu_main, s);

        if (rc == 0) {
            s->nr_threads = v + 1;
        }
        if (rc != 0) {
            return err_set(XMIG_ERR_IO, rc, "starting sim vCPU %u", v);
        }
    }
    return 0;
}

void sim_vcpus_stop(struct sim_guest *s)
{
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    for (uint32_t v = 0; v < s->nr_threads; v++) {
        pthread_join(s->threads[v], NULL);
    }
    s->nr_threads = 0;
    s->started = 0;
}

int sim_vcpus_pause(struct sim_guest *s)
{
    pthread_mutex_lock(&s->lock);
    s->paused = 1;
    while (s->parked < (int)s->nr_vcpus && !s->stopping) {
        pthread_cond_wait(&s->cond, &s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return 0;
}

void sim_vcpus_unpause(struct sim_guest *s)
{
    pthread_mutex_lock(&s->lock);
    s->paused = 0;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}
