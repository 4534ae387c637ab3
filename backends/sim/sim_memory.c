/*
 * Sim guest RAM and its dirty tracking.  Tracking works like the
 * hypervisor's log-dirty mode: every page is write-protected; the first
 * write to a page faults, the fault handler records the page and lets the
 * write through.  Read-and-clear takes the recorded bits and write-protects
 * exactly those pages again, so no write after a read-and-clear is missed.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include "backends/sim/sim.h"
#include "common/ram_digest.h"
#include "common/error.h"

#define PAGE 4096u
#define MAX_GUESTS 64

/* Guests whose faults the handler may take: read lock-free in the handler. */
static struct sim_guest *_Atomic registry[MAX_GUESTS];
static struct sigaction previous;

/* Handlers between their registry load and their last use of the guest:
 * sim_memory_destroy waits for them (ThreadSanitizer saw a vCPU of one
 * guest read another guest being freed). */
static atomic_int in_handler;

static int on_fault_guest(siginfo_t *si);

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    int ours;

    atomic_fetch_add(&in_handler, 1);
    ours = on_fault_guest(si);
    atomic_fetch_sub(&in_handler, 1);
    if (ours) {
        return;
    }
    /* Not a tracked guest page: a real crash. */
    if (previous.sa_flags & SA_SIGINFO && previous.sa_sigaction) {
        previous.sa_sigaction(sig, si, uc);
        return;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static int on_fault_guest(siginfo_t *si)
{
    uint8_t *addr = si->si_addr;

    for (int i = 0; i < MAX_GUESTS; i++) {
        struct sim_guest *s = atomic_load(&registry[i]);
        /* Any fault on a guest's RAM is ours, tracking or not: a write may
         * race with tracking being switched off.  Recording the page is
         * harmless then; dying is not. */
        if (s && addr >= s->ram && addr < s->ram + s->nr_pfns * PAGE) {
            uint64_t pfn = (uint64_t)(addr - s->ram) / PAGE;
            /* Open the page first, then record it: a read-and-clear that
             * runs in between finds no bit and leaves the page open, and
             * the bit lands for the next one.  Recording first would let a
             * read-and-clear take the bit and re-protect the page before
             * this open, and the write would go by unrecorded. */
            int rc = mprotect(s->ram + pfn * PAGE, PAGE,
                              PROT_READ | PROT_WRITE);
            atomic_fetch_or(&s->dirty[pfn / 64], UINT64_C(1) << (pfn % 64));
            if (rc < 0) {
                /* Out of mappings (each protected run is one): stop
                 * tracking page by page and call everything dirty. That
                 * over-reports, which is safe; missing a write is not. */
                uint64_t words = (s->nr_pfns + 63) / 64;
                for (uint64_t w = 0; w < words; w++) {
                    atomic_store(&s->dirty[w], ~UINT64_C(0));
                }
                mprotect(s->ram, s->nr_pfns * PAGE, PROT_READ | PROT_WRITE);
            }
            return 1;
        }
    }
    return 0;
}

static pthread_mutex_t handler_lock = PTHREAD_MUTEX_INITIALIZER;

/* Make sure on_fault takes SIGSEGV (someone may have set another handler
 * since), keeping the one before it for faults that are not ours. */
static void install_handler(void)
{
    struct sigaction sa, cur;

    pthread_mutex_lock(&handler_lock);
    if (sigaction(SIGSEGV, NULL, &cur) == 0 &&
        !((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_fault)) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_fault;
        sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, &previous);
    }
    pthread_mutex_unlock(&handler_lock);
}

int sim_memory_create(struct sim_guest *s, uint64_t bytes)
{
    uint64_t words;

    if (bytes < 16 * PAGE || bytes % PAGE || bytes > (UINT64_C(1) << 40)) {
        return err_set(XMIG_ERR_USAGE, 0, "sim guest memory of %llu octets: "
                       "a multiple of 4096, at least 64 KiB",
                       (unsigned long long)bytes);
    }
    s->nr_pfns = bytes / PAGE;
    s->memfd = memfd_create("xmig-sim-ram", MFD_CLOEXEC);
    if (s->memfd < 0 || ftruncate(s->memfd, (off_t)bytes) < 0) {
        return err_set(XMIG_ERR_IO, errno, "sim guest RAM (memfd)");
    }
    s->ram = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, s->memfd,
                  0);
    if (s->ram == MAP_FAILED) {
        s->ram = NULL;
        return err_set(XMIG_ERR_NOMEM, errno, "mapping sim guest RAM");
    }
    words = (s->nr_pfns + 63) / 64;
    s->dirty = calloc(words, sizeof(*s->dirty));
    if (!s->dirty) {
        return err_set(XMIG_ERR_NOMEM, ENOMEM, "dirty bitmap");
    }
    install_handler();
    for (int i = 0; i < MAX_GUESTS; i++) {
        struct sim_guest *none = NULL;
        if (atomic_compare_exchange_strong(&registry[i], &none, s)) {
            return 0;
        }
    }
    return err_set(XMIG_ERR_LIMIT, 0, "more than %d sim guests", MAX_GUESTS);
}

void sim_memory_destroy(struct sim_guest *s)
{
    for (int i = 0; i < MAX_GUESTS; i++) {
        struct sim_guest *me = s;
        atomic_compare_exchange_strong(&registry[i], &me, NULL);
    }
    /* A handler that loaded s before it left the registry finishes first;
     * one that starts now cannot find it. */
    while (atomic_load(&in_handler)) {
        sched_yield();
    }
    if (s->ram) {
        munmap(s->ram, s->nr_pfns * PAGE);
    }
    if (s->memfd >= 0) {
        close(s->memfd);
    }
    free((void *)s->dirty);
}

int sim_dirty_enable(struct sim_guest *s, int on)
{
    uint64_t words = (s->nr_pfns + 63) / 64;

    if (on) {
        install_handler();
    }
    for (uint64_t i = 0; i < words; i++) {
        atomic_store(&s->dirty[i], 0);
    }
    /* Switching on: mark tracking first, then protect; switching off:
     * unprotect first.  Either way no write meets a protected page the
     * handler does not expect. */
    if (on) {
        s->tracking = 1;
    }
    if (mprotect(s->ram, s->nr_pfns * PAGE,
                 on ? PROT_READ : PROT_READ | PROT_WRITE) < 0) {
        return err_set(XMIG_ERR_IO, errno, "write-protecting guest RAM");
    }
    s->tracking = on;
    return 0;
}

/* Write-protect pfns [first, first+n) again. */
static int rearm(struct sim_guest *s, uint64_t first, uint64_t n)
{
    if (mprotect(s->ram + first * PAGE, n * PAGE, PROT_READ) < 0) {
        return err_set(XMIG_ERR_IO, errno, "re-arming dirty tracking");
    }
    return 0;
}

int sim_dirty_read_clear(struct sim_guest *s, uint64_t *bitmap,
                         uint64_t *count)
{
    uint64_t words = (s->nr_pfns + 63) / 64, total = 0;
    uint64_t run_start = 0, run_len = 0;

    for (uint64_t w = 0; w < words; w++) {
        uint64_t bits = atomic_exchange(&s->dirty[w], 0);
        bitmap[w] = bits;
        total += (uint64_t)__builtin_popcountll(bits);
        /* Re-protect each dirty page, coalescing runs into one call. */
        while (bits) {
            uint64_t pfn = w * 64 + (uint64_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            if (run_len && pfn == run_start + run_len) {
                run_len++;
                continue;
            }
            if (run_len && rearm(s, run_start, run_len) < 0) {
                return -1;
            }
            run_start = pfn;
            run_len = 1;
        }
    }
    if (run_len && rearm(s, run_start, run_len) < 0) {
        return -1;
    }
    *count = total;
    return 0;
}

/* Walk the memfd's allocated ranges within [from, end): data() for
 * octets [off, off+len);
 * holes (never written, so zero) go to hole(len) without being touched,
 * so neither allocates memory. */
static void walk_extent(const struct sim_guest *s, uint64_t *data_from,
                        uint64_t *data_to, uint64_t from, uint64_t end,
                        void (*data)(void *u, uint64_t off, uint64_t len),
                        void (*hole)(void *u, uint64_t off, uint64_t len),
                        void *u)
{
    off_t pos = (off_t)from;

    while ((uint64_t)pos < end) {
        off_t d = (uint64_t)pos >= *data_from && (uint64_t)pos < *data_to
                      ? pos : lseek(s->memfd, pos, SEEK_DATA);
        off_t h;
        if (d < 0 || (uint64_t)d >= end) {
            hole(u, (uint64_t)pos, end - (uint64_t)pos);
            return;
        }
        if (d > pos) {
            hole(u, (uint64_t)pos, (uint64_t)(d - pos));
        }
        /* Data never turns back into a hole (nothing punches holes), so
         * the extent found last time still holds: without this, every
         * call scans to the end of the file (O(n^2) over a pass). */
        if ((uint64_t)d >= *data_from && (uint64_t)d < *data_to) {
            h = (off_t)*data_to;
        } else {
            h = lseek(s->memfd, d, SEEK_HOLE);
            if (h > d) {
                *data_from = (uint64_t)d;
                *data_to = (uint64_t)h;
            }
        }
        if (h < 0 || (uint64_t)h > end) {
            h = (off_t)end;
        }
        data(u, (uint64_t)d, (uint64_t)(h - d));
        pos = h;
    }
}

/* The guest's own extent cache (one walker at a time). */
static void walk(const struct sim_guest *s, uint64_t from, uint64_t end,
                 void (*data)(void *u, uint64_t off, uint64_t len),
                 void (*hole)(void *u, uint64_t off, uint64_t len), void *u)
{
    struct sim_guest *w = (struct sim_guest *)(uintptr_t)s;

    walk_extent(s, &w->data_from, &w->data_to, from, end, data, hole, u);
}

/* The RAM digest (common/ram_digest.h) in one pass over all RAM: it
 * vectorises, and a run of zeros advances it in closed form.  A receiver
 * gets the same value page by page (ram_digest_replace). */
struct fletcher {
    const uint8_t *ram;
    uint64_t a[8], b[8];
};

static void fl_data(void *u, uint64_t off, uint64_t len)
{
    struct fletcher *f = u;
    const uint64_t *w = (const uint64_t *)(const void *)(f->ram + off);
    uint64_t a[8], b[8];

    memcpy(a, f->a, sizeof(a));
    memcpy(b, f->b, sizeof(b));
    for (uint64_t i = 0; i + 8 <= len / 8; i += 8) {
        for (int k = 0; k < 8; k++) {
            a[k] += w[i + k];
            b[k] += a[k];
        }
    }
    memcpy(f->a, a, sizeof(a));
    memcpy(f->b, b, sizeof(b));
}

static void fl_hole(void *u, uint64_t off, uint64_t len)
{
    struct fletcher *f = u;

    (void)off;
    for (int k = 0; k < 8; k++) {
        f->b[k] += f->a[k] * (len / 64);
    }
}

/* One part of RAM, [from, end), digested as if it were all of it. */
struct digest_part {
    const struct sim_guest *s;
    uint64_t from, end;
    struct fletcher f;
};

static void *digest_part_main(void *arg)
{
    struct digest_part *p = arg;
    uint64_t data_from = 0, data_to = 0;   /* this walker's own cache */

    walk_extent(p->s, &data_from, &data_to, p->from, p->end, fl_data,
                fl_hole, &p->f);
    return NULL;
}

/* The digest is taken while the guest is paused (in the downtime), so it
 * runs on the cores the paused vCPUs left idle: up to four parts of at
 * least 64 MiB, each a whole number of pages.  Parts join linearly
 * (ram_digest.h): a is the sum of the parts' a, and a part's b weighs its
 * groups from the part's end, so it gains G * a for the G groups after
 * the part. */
void sim_memory_digest(const struct sim_guest *s, uint8_t out[32])
{
    uint64_t bytes = s->nr_pfns * PAGE;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cpus > 4 ? 4 : cpus < 1 ? 1 : (unsigned)cpus;
    struct digest_part parts[4];
    pthread_t th[4];
    int started[4] = { 0 };
    uint64_t a[8] = { 0 }, b[8] = { 0 };

    while (n > 1 && bytes / n < (UINT64_C(64) << 20)) {
        n--;
    }
    for (unsigned k = 0; k < n; k++) {
        memset(&parts[k], 0, sizeof(parts[k]));
        parts[k].s = s;
        parts[k].f.ram = s->ram;
        parts[k].from = s->nr_pfns * k / n * PAGE;
        parts[k].end = s->nr_pfns * (k + 1) / n * PAGE;
        if (k > 0) {
            started[k] = pthread_create(&th[k], NULL, digest_part_main,
                                        &parts[k]) == 0;
        }
    }
    digest_part_main(&parts[0]);
    for (unsigned k = 1; k < n; k++) {
        if (started[k]) {
            pthread_join(th[k], NULL);
        } else {
            digest_part_main(&parts[k]);   /* no thread: here, in turn */
        }
    }
    for (unsigned k = 0; k < n; k++) {
        uint64_t after = (bytes - parts[k].end) / 64;
        for (int l = 0; l < 8; l++) {
            a[l] += parts[k].f.a[l];
            b[l] += parts[k].f.b[l] + after * parts[k].f.a[l];
        }
    }
    ram_digest_fold(a, b, out);
}

struct holes {
    uint64_t first, n;
    uint64_t *bitmap;
};

static void mark_none(void *u, uint64_t off, uint64_t len)
{
    (void)u;
    (void)off;
    (void)len;
}

static void mark_hole(void *u, uint64_t off, uint64_t len)
{
    struct holes *h = u;

    for (uint64_t pfn = off / PAGE; pfn < (off + len) / PAGE; pfn++) {
        if (pfn >= h->first && pfn < h->first + h->n) {
            uint64_t i = pfn - h->first;
            h->bitmap[i / 64] |= UINT64_C(1) << (i % 64);
        }
    }
}

/* Bits for the pfns of [first, first+n) that were never written. */
void sim_memory_holes(const struct sim_guest *s, uint64_t first, uint64_t n,
                      uint64_t *bitmap)
{
    struct holes h = { first, n, bitmap };

    memset(bitmap, 0, (n + 63) / 64 * 8);
    walk(s, first * PAGE, (first + n) * PAGE, mark_none, mark_hole, &h);
}
