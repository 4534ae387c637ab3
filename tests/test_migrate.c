/*
 * Live migration end to end, inside this process: a sim guest (RAM in a
 * memfd, vCPU threads, write-protection dirty tracking) goes from the test's
 * thread to a receiver thread over socketpairs, through a man in the middle
 * that follows the stream's framing and can cut the connection or flip an
 * octet at a chosen place (an offset, a record, a page of a given pfn, the
 * end of the stream), and that rebuilds the RAM it forwards in a shadow
 * guest which never runs.  The destination starts its vCPUs the moment it
 * commits, so its own RAM has moved on by the time the test sees it: the
 * shadow holds exactly what the destination received, and its digest must
 * equal the digest of the source, which stays paused after a success.
 *
 * Covered: migrations of idle, mixed and stress guests (transparent or
 * not, VERIFY, a bandwidth cap, max_iters, auto-converge on and off) with
 * their statistics and JSON; dirty tracking (through the engine without
 * its DIGEST check, and the backend's log-dirty hammered directly); a
 * failure at every phase, checked on both sides (the source runs on,
 * unpaused, unthrottled, untracked; the destination keeps nothing; the
 * errors say what failed), and the connection lost after "go" (the source
 * stays paused, the outcome unknown); the destination's refusals.
 *
 * Each test runs in a child process, forked while no other thread is
 * alive: a crash or a hang (the alarm) fails that test only, and every
 * child starts with fresh sim state (the SIGSEGV handler, the registry of
 * guests).  A test marked EXPECTED TO FAIL documents a defect found while
 * writing it; it passes once the defect is fixed.
 *
 * Valgrind: the dirty tracking resumes writes after a SIGSEGV handler, and
 * valgrind only resumes correctly with precise exceptions:
 *   valgrind --vex-iropt-register-updates=allregs-at-mem-access ...
 * (without it valgrind resumes a faulting write with stale registers, a
 * vCPU reads past its RAM and dies; `make valgrind` does not pass it yet).
 * Under valgrind, or with XMIG_TEST_SLOW=1, guests are smaller and time
 * limits longer.  XMIG_TEST_VERBOSE=1 prints every round.  Run one test:
 * test_migrate NAME (a cmocka filter, "*" allowed).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/sim/sim.h"
#include "libxmig/backend.h"
#include "tests/support.h"
#include "xmig.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define ON_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef ON_VALGRIND
#define ON_VALGRIND() 0
#endif

#define PAGE 4096u
#define NONE UINT64_MAX

/* xl's migration messages, spelled out here so that a change on the
 * library's side shows up as an interoperability failure. */
#define XL_BANNER "xl migration receiver ready, send binary domain data.\n"
#define XL_READY "domain received, ready to unpause"
#define XL_GO "domain is yours, you are cleared to unpause"
#define XL_RESULT "my copy unpause results are as follows"
#define NOT_XL "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n" \
               "Connection: close\r\n\r\n"

/* ---- environment ---------------------------------------------------- */

static int slow;            /* valgrind, or XMIG_TEST_SLOW=1 */
static int verbose;         /* XMIG_TEST_VERBOSE=1: every round */
static double tscale = 1.0; /* time limits are multiplied by this */
static const char *current_test = "?";

/* Guest sizes: as asked natively, smaller under valgrind. */
static uint64_t guest_mib(unsigned mib)
{
    if (slow) {
        mib = mib >= 32 ? 8 : 4;
    }
    return (uint64_t)mib << 20;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

#define assert_contains(hay, needle)                                          \
    do {                                                                      \
        const char *hay_ = (hay), *needle_ = (needle);                        \
        if (!strstr(hay_, needle_)) {                                         \
            fail_msg("\"%s\" does not say \"%s\"", hay_, needle_);            \
        }                                                                     \
    } while (0)

/* ---- the sim guest from the inside ---------------------------------- */

static struct sim_guest *sim_of(struct xmig_guest *g)
{
    return (struct sim_guest *)(void *)g;
}

static int sim_paused(struct xmig_guest *g)
{
    struct sim_guest *s = sim_of(g);
    int paused;

    pthread_mutex_lock(&s->lock);
    paused = s->paused;
    pthread_mutex_unlock(&s->lock);
    return paused;
}

static unsigned sim_throttle(struct xmig_guest *g)
{
    return __atomic_load_n(&sim_of(g)->throttle, __ATOMIC_RELAXED);
}

/* The heartbeat moves on within limit_s. */
static int heartbeat_moves(struct xmig_guest *g, double limit_s)
{
    uint64_t h0 = xmig_sim_heartbeat(g);
    double end = now_s() + limit_s * tscale;

    while (now_s() < end) {
        if (xmig_sim_heartbeat(g) != h0) {
            return 1;
        }
        sleep_ms(1);
    }
    return 0;
}

/* The heartbeat stands still for ms. */
static int heartbeat_still(struct xmig_guest *g, unsigned ms)
{
    uint64_t h0 = xmig_sim_heartbeat(g);

    sleep_ms(ms);
    return xmig_sim_heartbeat(g) == h0;
}

static struct xmig_guest *start_guest(const struct xmig_sim_config *c)
{
    struct xmig_guest *g = xmig_sim_guest_create(c);

    if (!g) {
        fail_msg("sim guest: %s", xmig_error_message());
    }
    /* Running, and (stress) its span dirtied by now. */
    assert_true(heartbeat_moves(g, 5));
    sleep_ms(c->workload == XMIG_SIM_STRESS ? 30 : 5);
    return g;
}

/* Mappings of sim guest RAM in this process: one per live sim guest. */
static int sim_ram_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int n = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        n += strstr(line, "xmig-sim-ram") != NULL;
    }
    fclose(f);
    return n;
}

static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d))) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

/* A joined thread can linger in /proc for a moment after its join. */
static int threads_settle(int want)
{
    double end = now_s() + 2.0 * tscale;

    while (thread_count() != want && now_s() < end) {
        sleep_ms(1);
    }
    return thread_count();
}

/* ---- socket helpers ------------------------------------------------- */

static int recv_exact(int fd, void *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = read(fd, (uint8_t *)buf + got, n - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

static int send_all(int fd, const void *buf, size_t n)
{
    size_t done = 0;

    while (done < n) {
        ssize_t r = send(fd, (const uint8_t *)buf + done, n - done,
                         MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* ---- the man in the middle ------------------------------------------ */

/*
 * Between two socketpairs: a is the sender's peer, b the receiver's.  The
 * downstream thread reads the stream by its framing (xl header, libxl
 * records, the libxc image inside LIBXC_CONTEXT, PAGE_DATA's pfn list and
 * pages), so a rule can name a record or a pfn; it never forwards an octet
 * before the rules for it are known.  The upstream thread forwards the
 * receiver's messages.  A cut shuts both connections down: the receiver
 * reads what was forwarded, then the end of the stream; the sender's next
 * write fails and its next read ends.
 */
#define MAX_FLIPS 16

struct rec_rule {
    int on;
    int layer;            /* XMIG_LAYER_LIBXL or XMIG_LAYER_LIBXC */
    uint32_t type;
    unsigned nth;         /* 0: the first record of that type */
    uint32_t rel;         /* octets from the start of its header */
    int cut;              /* 1: cut there; 0: flip the octet there */
};

struct mitm {
    int a, b;
    pthread_t down, up;
    pthread_mutex_t lock;
    int cut;                    /* nothing more goes either way */

    /* rules, set before mitm_start */
    uint64_t cut_after;         /* forward this many octets, then cut */
    uint64_t flip_at;           /* flip the octet at this stream offset */
    uint8_t mask;               /* XOR of a flip; 0: 0xff */
    struct rec_rule rec;
    int64_t flip_pfn;           /* flip an octet of this pfn's page, in
                                 * every PAGE_DATA that carries it; -1 */
    uint32_t flip_pfn_octet;
    int flip_pfn_verify_only;   /* ... only in the VERIFY pass */
    int cut_after_go;           /* cut once "go" reached the receiver */
    int drop_go;                /* cut instead of forwarding "go" */
    struct xmig_guest *shadow;  /* gets every page forwarded */

    /* what happened (read after mitm_join) */
    uint64_t off;               /* stream octets forwarded */
    uint64_t stream_end;        /* offset after libxl END; 0: not reached */
    uint64_t rec_offset;        /* where the rule's record started */
    unsigned rec_seen;
    uint64_t flips[MAX_FLIPS];
    unsigned nflips;
    uint64_t flipped;           /* octets flipped */
    int deliberate;             /* a rule cut the connection */
    uint64_t cut_at;            /* stream offset of the cut */
    int verify;                 /* a VERIFY record went through */
    uint64_t pages, xalloc, verify_pages, verify_mismatches;
    uint64_t up_bytes;
    char why[160];              /* the stream made no sense to the framer */
    uint8_t *buf;               /* BUF octets for the downstream thread */
};

#define BUF (16 * PAGE)

static void mitm_init(struct mitm *m)
{
    memset(m, 0, sizeof(*m));
    m->a = m->b = -1;
    m->cut_after = NONE;
    m->flip_at = NONE;
    m->flip_pfn = -1;
    pthread_mutex_init(&m->lock, NULL);
}

static int mitm_is_cut(struct mitm *m)
{
    int cut;

    pthread_mutex_lock(&m->lock);
    cut = m->cut;
    pthread_mutex_unlock(&m->lock);
    return cut;
}

static void mitm_cut(struct mitm *m, int deliberate)
{
    pthread_mutex_lock(&m->lock);
    if (!m->cut) {
        m->cut = 1;
        m->deliberate = deliberate;
        m->cut_at = m->off;
    }
    pthread_mutex_unlock(&m->lock);
    shutdown(m->a, SHUT_RDWR);
    shutdown(m->b, SHUT_RDWR);
}

static void add_flip(struct mitm *m, uint64_t at)
{
    unsigned k = 0;

    for (unsigned i = 0; i < m->nflips; i++) {   /* drop the passed ones */
        if (m->flips[i] >= m->off) {
            m->flips[k++] = m->flips[i];
        }
    }
    m->nflips = k;
    if (m->nflips < MAX_FLIPS) {
        m->flips[m->nflips++] = at;
    }
}

/* Forward n octets read from a, the rules applied; -1 once cut. */
static int fwd(struct mitm *m, uint8_t *buf, size_t n)
{
    uint8_t mask = m->mask ? m->mask : 0xff;
    size_t k = n;

    if (mitm_is_cut(m)) {
        return -1;
    }
    if (m->cut_after != NONE && m->off >= m->cut_after) {
        mitm_cut(m, 1);
        return -1;
    }
    for (unsigned i = 0; i < m->nflips; i++) {
        if (m->flips[i] >= m->off && m->flips[i] < m->off + n) {
            buf[m->flips[i] - m->off] ^= mask;
            m->flipped++;
        }
    }
    if (m->flip_at != NONE && m->flip_at >= m->off &&
        m->flip_at < m->off + n) {
        buf[m->flip_at - m->off] ^= mask;
        m->flipped++;
    }
    if (m->cut_after != NONE && m->off + n > m->cut_after) {
        k = (size_t)(m->cut_after - m->off);
    }
    if (k && send_all(m->b, buf, k) < 0) {
        mitm_cut(m, 0);
        return -1;
    }
    pthread_mutex_lock(&m->lock);
    m->off += k;
    pthread_mutex_unlock(&m->lock);
    if (m->cut_after != NONE && m->off >= m->cut_after) {
        mitm_cut(m, 1);
        return -1;
    }
    return 0;
}

static int take(struct mitm *m, void *buf, size_t n)
{
    if (recv_exact(m->a, buf, n) < 0) {
        return -1;
    }
    return fwd(m, buf, n);
}

static int pass(struct mitm *m, uint64_t n)
{
    while (n) {
        size_t k = n < BUF ? (size_t)n : BUF;
        if (take(m, m->buf, k) < 0) {
            return -1;
        }
        n -= k;
    }
    return 0;
}

static uint64_t pad8(uint32_t len)
{
    return ((uint64_t)len + 7) & ~UINT64_C(7);
}

/* A record header arrived (not yet forwarded): does a rule name it? */
static void at_record(struct mitm *m, int layer, uint32_t type)
{
    struct rec_rule *r = &m->rec;

    if (!r->on || r->layer != layer || r->type != type ||
        m->rec_seen++ != r->nth) {
        return;
    }
    m->rec_offset = m->off;
    if (r->cut) {
        m->cut_after = m->off + r->rel;
    } else {
        add_flip(m, m->off + r->rel);
    }
}

/* The pages as the receiver gets them, into the shadow guest. */
static void to_shadow(struct mitm *m, const uint64_t *pfns, uint32_t n,
                      const uint8_t *data)
{
    void *pages[16];

    if (!m->shadow) {
        return;
    }
    if (m->shadow->ops->populate(m->shadow, pfns, n, pages) < 0) {
        snprintf(m->why, sizeof(m->why), "shadow: %s", xmig_error_message());
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (m->verify) {
            m->verify_pages++;
            m->verify_mismatches +=
                memcmp(pages[i], data + (size_t)i * PAGE, PAGE) != 0;
        } else {
            memcpy(pages[i], data + (size_t)i * PAGE, PAGE);
        }
    }
}

static int page_data(struct mitm *m, uint32_t len)
{
    uint8_t *buf = m->buf;
    uint8_t h[8];
    uint8_t *words = NULL;
    uint64_t *pfns = NULL;
    uint32_t count, ndata = 0;
    int rc = -1;

    if (len < 8) {
        return pass(m, pad8(len));
    }
    if (take(m, h, 8) < 0) {
        return -1;
    }
    count = le32(h);
    if ((uint64_t)count * 8 > len - 8) {
        snprintf(m->why, sizeof(m->why), "PAGE_DATA count %u in %u octets",
                 count, len);
        return pass(m, pad8(len) - 8);
    }
    words = malloc((size_t)count * 8 + 8);
    pfns = malloc((size_t)count * 8 + 8);
    assert_true(words && pfns);
    if (take(m, words, (size_t)count * 8) < 0) {
        goto out;
    }
    for (uint32_t i = 0; i < count; i++) {
        uint64_t w = le64(words + (size_t)i * 8);
        unsigned type = (unsigned)(w >> XMIG_PFN_TYPE_SHIFT);
        if (type == XMIG_PFN_TYPE_XALLOC) {
            m->xalloc++;
        } else if (type != XMIG_PFN_TYPE_XTAB && type != XMIG_PFN_TYPE_BROKEN) {
            pfns[ndata++] = w & XMIG_PFN_MASK;
        }
    }
    if (8 + (uint64_t)count * 8 + (uint64_t)ndata * PAGE != len) {
        snprintf(m->why, sizeof(m->why), "PAGE_DATA of %u octets for %u "
                 "pfns, %u with data", len, count, ndata);
        rc = pass(m, pad8(len) - 8 - (uint64_t)count * 8);
        goto out;
    }
    for (uint32_t j = 0;
         m->flip_pfn >= 0 && (m->verify || !m->flip_pfn_verify_only) &&
         j < ndata;
         j++) {
        if (pfns[j] == (uint64_t)m->flip_pfn) {
            add_flip(m, m->off + (uint64_t)j * PAGE + m->flip_pfn_octet);
        }
    }
    for (uint32_t j = 0; j < ndata; j += 16) {
        uint32_t n = ndata - j < 16 ? ndata - j : 16;
        if (recv_exact(m->a, buf, (size_t)n * PAGE) < 0 ||
            fwd(m, buf, (size_t)n * PAGE) < 0) {
            goto out;
        }
        to_shadow(m, pfns + j, n, buf);
        m->pages += n;
    }
    rc = 0;
out:
    free(words);
    free(pfns);
    return rc;
}

/* The libxc image inside LIBXC_CONTEXT, up to its END. */
static int libxc_image(struct mitm *m)
{
    uint8_t h[24];

    if (take(m, h, 24) < 0 || take(m, h, 16) < 0) {   /* image, domain */
        return -1;
    }
    for (;;) {
        uint32_t type, len;
        if (recv_exact(m->a, h, 8) < 0) {
            return -1;
        }
        type = le32(h);
        len = le32(h + 4);
        at_record(m, XMIG_LAYER_LIBXC, type);
        if (fwd(m, h, 8) < 0) {
            return -1;
        }
        if (type == XMIG_LIBXC_PAGE_DATA) {
            if (page_data(m, len) < 0) {
                return -1;
            }
        } else if (pass(m, pad8(len)) < 0) {
            return -1;
        }
        if (type == XMIG_LIBXC_VERIFY) {
            m->verify = 1;
        }
        if (type == XMIG_LIBXC_END) {
            return 0;
        }
    }
}

static void *mitm_down(void *arg)
{
    static const char xl_magic[32] = "Xen saved domain, xl format\n \0 \r";
    struct mitm *m = arg;
    uint8_t h[48];

    if (take(m, h, 48) < 0) {
        goto out;
    }
    if (memcmp(h, xl_magic, 32) != 0) {
        snprintf(m->why, sizeof(m->why), "no xl header");
        goto out;
    }
    if (pass(m, le32(h + 44)) < 0 || take(m, h, 16) < 0) {
        goto out;
    }
    for (;;) {
        uint32_t type, len;
        if (recv_exact(m->a, h, 8) < 0) {
            goto out;
        }
        type = le32(h);
        len = le32(h + 4);
        at_record(m, XMIG_LAYER_LIBXL, type);
        if (fwd(m, h, 8) < 0 || pass(m, pad8(len)) < 0) {
            goto out;
        }
        if (type == XMIG_LIBXL_LIBXC_CONTEXT && libxc_image(m) < 0) {
            goto out;
        }
        if (type == XMIG_LIBXL_END) {
            break;
        }
    }
    m->stream_end = m->off;
    if (m->cut_after_go || m->drop_go) {
        char go[sizeof(XL_GO)];
        if (recv_exact(m->a, go, sizeof(go)) < 0) {
            goto out;
        }
        /* Nothing goes back from now on: the receiver's result is lost. */
        pthread_mutex_lock(&m->lock);
        m->cut = 1;
        m->deliberate = 1;
        m->cut_at = m->off;
        pthread_mutex_unlock(&m->lock);
        if (m->cut_after_go) {
            (void)send_all(m->b, go, sizeof(go));
        }
        goto out;
    }
    /* xl's handshake, as it comes. */
    for (;;) {
        uint8_t c[64];
        ssize_t n = read(m->a, c, sizeof(c));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || fwd(m, c, (size_t)n) < 0) {
            break;
        }
    }
out:
    mitm_cut(m, 0);
    return NULL;
}

static void *mitm_up(void *arg)
{
    struct mitm *m = arg;
    uint8_t buf[4096];

    for (;;) {
        ssize_t n = read(m->b, buf, sizeof(buf));
        int cut;
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        pthread_mutex_lock(&m->lock);
        cut = m->cut;
        if (!cut && send_all(m->a, buf, (size_t)n) < 0) {
            cut = 1;
        }
        m->up_bytes += cut ? 0 : (uint64_t)n;
        pthread_mutex_unlock(&m->lock);
        if (cut) {
            break;
        }
    }
    mitm_cut(m, 0);
    return NULL;
}

/* Start forwarding; *sender_fd and *receiver_fd are the two ends. */
static void mitm_start(struct mitm *m, int *sender_fd, int *receiver_fd)
{
    int s1[2], s2[2];

    m->buf = malloc(BUF);
    assert_non_null(m->buf);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s1), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s2), 0);
    *sender_fd = s1[0];
    m->a = s1[1];
    m->b = s2[0];
    *receiver_fd = s2[1];
    assert_int_equal(pthread_create(&m->down, NULL, mitm_down, m), 0);
    assert_int_equal(pthread_create(&m->up, NULL, mitm_up, m), 0);
}

static void mitm_join(struct mitm *m)
{
    pthread_join(m->down, NULL);
    pthread_join(m->up, NULL);
    close(m->a);
    close(m->b);
    free(m->buf);
    m->buf = NULL;
}

/* ---- receivers ------------------------------------------------------ */

enum rx_mode {
    RX_REAL,        /* xmig_migrate_receive */
    RX_CLOSE,       /* closes without a word */
    RX_NOT_XL,      /* answers, but not as xl's receiver */
    RX_STATUS       /* reads and checks the stream, then reports status */
};

struct rx {
    enum rx_mode mode;
    int fd;
    pthread_t thread;
    struct xmig_receive_params p;
    uint8_t status;             /* RX_STATUS */
    struct xmig_guest *g;
    struct xmig_migrate_stats st;
    int fake_ok;                /* RX_STATUS: the stream read well */
    char err[1024];
    enum xmig_error_category cat;
};

static int no_op(void *u, const struct xmig_record *rec)
{
    (void)u;
    (void)rec;
    return 0;
}

/* An xl-speaking receiver that checks the stream, then answers status. */
static void fake_receiver(struct rx *r, struct xmig_transport *t)
{
    struct xmig_reader *rd;
    char go[sizeof(XL_GO)];
    size_t got = 0;

    if (xmig_transport_write(t, XL_BANNER, strlen(XL_BANNER)) < 0) {
        return;
    }
    rd = xmig_reader_create(t, XMIG_FORMAT_AUTO);
    r->fake_ok = rd && xmig_reader_run(rd, no_op, NULL) == 0;
    if (!r->fake_ok) {
        snprintf(r->err, sizeof(r->err), "%s", xmig_error_message());
    }
    xmig_reader_free(rd);
    if (!r->fake_ok ||
        xmig_transport_write(t, XL_READY, sizeof(XL_READY)) < 0) {
        return;
    }
    while (got < sizeof(go)) {
        long n = xmig_transport_read(t, go + got, sizeof(go) - got);
        if (n <= 0) {
            return;
        }
        got += (size_t)n;
    }
    if (memcmp(go, XL_GO, sizeof(go)) != 0) {
        return;
    }
    (void)xmig_transport_write(t, XL_RESULT, sizeof(XL_RESULT));
    (void)xmig_transport_write(t, &r->status, 1);
}

static void *rx_main(void *arg)
{
    struct rx *r = arg;
    struct xmig_transport *t = xmig_transport_fd(r->fd, 1);

    assert_non_null(t);
    switch (r->mode) {
    case RX_REAL:
        r->p.factory = xmig_sim_guest_factory;
        r->p.factory_data = &r->p.domid;   /* 0: the factory's 1 */
        r->g = xmig_migrate_receive(t, &r->p, &r->st);
        snprintf(r->err, sizeof(r->err), "%s", xmig_error_message());
        r->cat = xmig_error_category();
        break;
    case RX_CLOSE:
        break;
    case RX_NOT_XL:
        (void)xmig_transport_write(t, NOT_XL, strlen(NOT_XL));
        break;
    case RX_STATUS:
        fake_receiver(r, t);
        break;
    }
    xmig_transport_free(t);
    return NULL;
}

/* ---- one migration -------------------------------------------------- */

struct run {
    struct xmig_sim_config sc;
    struct xmig_migrate_params mp;
    struct rx rx;
    int direct;                 /* no man in the middle (and no shadow) */
    struct mitm m;
    int cut_at_round;           /* progress: cut when this round ended */
    unsigned cut_delay_ms;      /* ... after letting the guest dirty pages */

    struct xmig_guest *src, *shadow;
    int rc;
    char err[1024];
    enum xmig_error_category cat;
    struct xmig_migrate_stats st;
    double wall_s;
    int base_threads;
    unsigned progress_calls;    /* when a round ended */
    unsigned partial_calls;     /* within a round */
    unsigned partial_round1;
    double last_call, max_gap;  /* between calls, within precopy */
    uint64_t last_total_bytes;
    int live_bad;               /* a live figure that was wrong */
    void *(*before_send)(void *);   /* called once every thread is up */
};

static void run_init(struct run *r, enum xmig_sim_workload w, unsigned mib)
{
    memset(r, 0, sizeof(*r));
    r->sc.memory_bytes = guest_mib(mib);
    r->sc.vcpus = 2;
    r->sc.workload = w;
    r->sc.domid = 7;
    r->sc.seed = 42;
    r->sc.fill_percent = 25;
    xmig_migrate_params_init(&r->mp);
    r->rx.mode = RX_REAL;
    mitm_init(&r->m);
}

static void on_progress(void *u, const struct xmig_iteration_stats *round)
{
    struct run *r = u;
    double now = now_s();

    if (r->last_call > 0 && !round->final && now - r->last_call > r->max_gap) {
        r->max_gap = now - r->last_call;
    }
    r->last_call = now;
    /* Live figures: the stats object agrees with the report, and the
     * stream only grows. */
    if (round->total_bytes < r->last_total_bytes ||
        round->total_bytes != r->st.bytes || round->elapsed_s <= 0 ||
        round->guest_pages != r->sc.memory_bytes / PAGE ||
        r->st.memory_processed == 0 || r->st.iteration != round->iteration) {
        r->live_bad++;
    }
    r->last_total_bytes = round->total_bytes;
    if (round->partial) {
        r->partial_calls++;
        r->partial_round1 += round->iteration == 1;
        return;
    }
    r->progress_calls++;
    if (r->cut_at_round && round->iteration == (uint32_t)r->cut_at_round &&
        !round->final) {
        sleep_ms((unsigned)(r->cut_delay_ms * tscale));
        mitm_cut(&r->m, 1);
    }
}

static void run_go(struct run *r)
{
    int sfd, rfd, sv[2];
    struct xmig_transport *t;
    double t0;

    if (!r->src) {
        r->src = start_guest(&r->sc);
    }
    r->base_threads = thread_count();
    if (r->direct) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                                    sv), 0);
        sfd = sv[0];
        rfd = sv[1];
    } else {
        r->shadow = sim_guest_incoming(r->sc.memory_bytes / PAGE, 1);
        assert_non_null(r->shadow);
        r->m.shadow = r->shadow;
        mitm_start(&r->m, &sfd, &rfd);
    }
    r->mp.progress = on_progress;
    r->mp.user_data = r;
    r->rx.fd = rfd;
    assert_int_equal(pthread_create(&r->rx.thread, NULL, rx_main, &r->rx), 0);
    t = xmig_transport_fd(sfd, 1);
    assert_non_null(t);
    if (r->before_send) {
        r->before_send(r);
    }
    t0 = now_s();
    r->rc = xmig_migrate_send(r->src, t, &r->mp, &r->st);
    r->wall_s = now_s() - t0;
    snprintf(r->err, sizeof(r->err), "%s", r->rc ? xmig_error_message() : "");
    r->cat = xmig_error_category();
    xmig_transport_free(t);
    pthread_join(r->rx.thread, NULL);
    if (!r->direct) {
        mitm_join(&r->m);
    }
    for (uint32_t i = 0; verbose && i < r->st.nrounds; i++) {
        const struct xmig_iteration_stats *x = &r->st.rounds[i];
        printf("      round %u%s: %llu dirty, %llu sent, %llu zero, "
               "%.1f ms, throttle %u%%, expected %.1f ms\n", x->iteration,
               x->final ? " (final)" : "", (unsigned long long)x->dirty_pages,
               (unsigned long long)x->pages_sent,
               (unsigned long long)x->zero_pages, x->duration_s * 1000.0,
               x->throttle, x->expected_downtime_ms);
    }
    if (r->rc) {
        printf("    sender: %s\n", r->err);
    }
    if (!r->rx.g && r->rx.err[0]) {
        printf("    receiver: %s\n", r->rx.err);
    }
    if (r->m.why[0]) {
        fail_msg("man in the middle: %s", r->m.why);
    }
}

static void run_done(struct run *r)
{
    pthread_mutex_destroy(&r->m.lock);
    xmig_guest_destroy(r->rx.g);
    xmig_guest_destroy(r->src);
    xmig_guest_destroy(r->shadow);
    r->rx.g = r->src = r->shadow = NULL;
    assert_int_equal(sim_ram_maps(), 0);
}

/* Some checks need a guest that dirties pages all the time (its vCPU
 * throttled, rounds that never converge).  On a loaded host its vCPU can
 * be starved for a whole round: such a run proves nothing and is run
 * again, twice at most, saying so.  1: clean up and try again. */
static int again(struct run *r, int attempt, int meaningful)
{
    if (meaningful || attempt >= 3) {
        return 0;
    }
    printf("    the guest did not keep dirtying pages (stop: %s, throttle "
           "<= %u%%; a starved vCPU?): again\n", r->st.stop_reason,
           r->st.max_throttle);
    run_done(r);
    return 1;
}

/* ---- a tiny JSON checker -------------------------------------------- */

struct js {
    const char *p;
    int depth;
};

static void js_ws(struct js *j)
{
    while (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r') {
        j->p++;
    }
}

static int js_value(struct js *j);

static int js_string(struct js *j)
{
    if (*j->p++ != '"') {
        return -1;
    }
    while (*j->p && *j->p != '"') {
        if ((unsigned char)*j->p < 0x20) {
            return -1;
        }
        if (*j->p == '\\') {
            j->p++;
            if (!*j->p) {
                return -1;
            }
        }
        j->p++;
    }
    return *j->p++ == '"' ? 0 : -1;
}

static int js_number(struct js *j)
{
    const char *s = j->p;

    if (*j->p == '-') {
        j->p++;
    }
    if (*j->p == '0') {
        j->p++;
    } else if (*j->p >= '1' && *j->p <= '9') {
        while (*j->p >= '0' && *j->p <= '9') {
            j->p++;
        }
    } else {
        return -1;
    }
    if (*j->p == '.') {
        j->p++;
        if (!(*j->p >= '0' && *j->p <= '9')) {
            return -1;
        }
        while (*j->p >= '0' && *j->p <= '9') {
            j->p++;
        }
    }
    if (*j->p == 'e' || *j->p == 'E') {
        j->p++;
        if (*j->p == '+' || *j->p == '-') {
            j->p++;
        }
        if (!(*j->p >= '0' && *j->p <= '9')) {
            return -1;
        }
        while (*j->p >= '0' && *j->p <= '9') {
            j->p++;
        }
    }
    return j->p > s ? 0 : -1;
}

static int js_list(struct js *j, char close, int members)
{
    j->p++;
    js_ws(j);
    if (*j->p == close) {
        j->p++;
        return 0;
    }
    for (;;) {
        js_ws(j);
        if (members) {
            if (js_string(j) < 0) {
                return -1;
            }
            js_ws(j);
            if (*j->p++ != ':') {
                return -1;
            }
        }
        if (js_value(j) < 0) {
            return -1;
        }
        js_ws(j);
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        return *j->p++ == close ? 0 : -1;
    }
}

static int js_value(struct js *j)
{
    int rc;

    js_ws(j);
    if (++j->depth > 32) {
        return -1;
    }
    switch (*j->p) {
    case '{':
        rc = js_list(j, '}', 1);
        break;
    case '[':
        rc = js_list(j, ']', 0);
        break;
    case '"':
        rc = js_string(j);
        break;
    case 't':
        rc = strncmp(j->p, "true", 4) == 0 ? (j->p += 4, 0) : -1;
        break;
    case 'f':
        rc = strncmp(j->p, "false", 5) == 0 ? (j->p += 5, 0) : -1;
        break;
    case 'n':
        rc = strncmp(j->p, "null", 4) == 0 ? (j->p += 4, 0) : -1;
        break;
    default:
        rc = js_number(j);
    }
    j->depth--;
    return rc;
}

static int json_valid(const char *s)
{
    struct js j = { s, 0 };

    if (js_value(&j) < 0) {
        return 0;
    }
    js_ws(&j);
    return *j.p == '\0';
}

/* The number after "key": (the first one). */
static double json_num(const char *s, const char *key)
{
    char k[64];
    const char *p;

    snprintf(k, sizeof(k), "\"%s\":", key);
    p = strstr(s, k);
    if (!p) {
        fail_msg("JSON without \"%s\": %s", key, s);
    }
    return strtod(p + strlen(k), NULL);
}

static unsigned count_str(const char *s, const char *needle)
{
    unsigned n = 0;

    while ((s = strstr(s, needle))) {
        n++;
        s += strlen(needle);
    }
    return n;
}

static void check_json(const struct xmig_migrate_stats *st)
{
    static const char *const keys[] = {
        "total_s", "downtime_ms", "stop_ms", "final_ms", "handover_ms",
        "bytes", "pages_sent", "zero_pages", "guest_pages", "iterations", "max_throttle", "tls_mode",
        "stop_reason", "verified", "rounds", "dirty_pages", "final",
        "transfer_mib_s", "expected_downtime_ms", "job", "time_elapsed",
        "time_remaining", "setup_time", "data_total", "data_processed",
        "data_remaining", "memory_total", "memory_processed",
        "memory_remaining", "memory_constant", "memory_normal",
        "memory_normal_bytes", "memory_bps", "memory_dirty_rate",
        "memory_page_size", "auto_converge_throttle", "memory_iteration",
        "downtime_target_ms",
    };
    char *buf = malloc(65536), k[40];

    assert_non_null(buf);
    assert_int_equal(xmig_migrate_stats_json(st, buf, 65536), 0);
    if (!json_valid(buf)) {
        fail_msg("not JSON: %s", buf);
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        snprintf(k, sizeof(k), "\"%s\":", keys[i]);
        assert_contains(buf, k);
    }
    assert_true(json_num(buf, "iterations") == st->iterations);
    assert_true(json_num(buf, "guest_pages") == (double)st->guest_pages);
    assert_true(json_num(buf, "bytes") == (double)st->bytes);
    /* The downtime is the sum of its parts, each of them real. */
    assert_true(st->stop_ms >= 0 && st->final_ms > 0 && st->handover_ms > 0);
    assert_true(fabs(st->stop_ms + st->final_ms + st->handover_ms -
                     st->downtime_ms) < 0.01);
    assert_int_equal(count_str(buf, "\"iteration\":"), st->nrounds);
    assert_int_equal(count_str(buf, "\"final\": true"), 1);
    assert_contains(buf, "\"verified\": true");
    /* Too small a buffer is an error, not a cut-off object. */
    assert_int_equal(xmig_migrate_stats_json(st, buf, 64), -1);
    free(buf);
}

/* ---- checks after a migration --------------------------------------- */

static void print_rounds(const struct run *r)
{
    const struct xmig_migrate_stats *st = &r->st;

    printf("    %s: %u rounds, %.3f s, downtime %.1f ms, %.1f MiB, "
           "throttle <= %u%%, stop: %s\n",
           xmig_sim_workload_name(r->sc.workload), st->iterations,
           st->total_s, st->downtime_ms, (double)st->bytes / 1048576.0,
           st->max_throttle, st->stop_reason);
}

static void check_digests(struct run *r)
{
    uint8_t a[32], b[32];
    struct sim_guest *s = sim_of(r->src), *h = sim_of(r->shadow);

    assert_int_equal(xmig_guest_digest(r->src, a), 0);
    assert_int_equal(xmig_guest_digest(r->shadow, b), 0);
    if (memcmp(a, b, 32) != 0) {
        for (uint64_t pfn = 0; pfn < s->nr_pfns; pfn++) {
            if (memcmp(s->ram + pfn * PAGE, h->ram + pfn * PAGE, PAGE)) {
                fail_msg("the destination received RAM that differs from "
                         "the paused source's, first at pfn %llu",
                         (unsigned long long)pfn);
            }
        }
        fail_msg("digests differ, RAM does not");
    }
}

/* The state records: what the destination was handed is the paused
 * source's state. */
static void check_state(struct run *r)
{
    struct sim_guest *d = sim_of(r->rx.g), *s = sim_of(r->src);
    struct guest_state now;

    assert_true(d->have_state);
    assert_int_equal(r->src->ops->get_state(r->src, r->mp.transparent, &now),
                     0);
    assert_int_equal(d->incoming.hvm_context_len, now.hvm_context_len);
    assert_memory_equal(d->incoming.hvm_context, now.hvm_context,
                        now.hvm_context_len);
    assert_true(d->incoming.tsc.nsec == now.tsc.nsec);
    assert_int_equal(d->incoming.nparams, now.nparams);
    if (r->mp.transparent) {
        assert_non_null(d->incoming.transparent);
        if (xmig_transparent_state_compare(d->incoming.transparent, s->pv) <
            0) {
            fail_msg("PV state: %s", xmig_error_message());
        }
        assert_int_equal(d->domid, s->domid);
    } else {
        assert_null(d->incoming.transparent);
        assert_int_equal(d->domid, r->rx.p.domid ? r->rx.p.domid : 1);
    }
    r->src->ops->put_state(r->src, &now);
}

static void check_success(struct run *r)
{
    const struct xmig_migrate_stats *st = &r->st;
    uint64_t pages = r->sc.memory_bytes / PAGE;

    if (r->rc != 0) {
        fail_msg("migration failed: %s", r->err);
    }
    if (!r->rx.g) {
        fail_msg("no guest at the destination: %s", r->rx.err);
    }
    print_rounds(r);
    /* statistics */
    assert_true(st->iterations >= 2);
    assert_int_equal(st->nrounds, st->iterations);
    assert_true(st->iterations <= r->mp.max_iters + 1);
    for (uint32_t i = 0; i < st->nrounds; i++) {
        assert_int_equal(st->rounds[i].iteration, i + 1);
        assert_int_equal(st->rounds[i].final, i + 1 == st->nrounds);
        assert_true(st->rounds[i].bytes > 0 || st->rounds[i].final);
        assert_true(st->rounds[i].start_s >= 0 &&
                    st->rounds[i].duration_s >= 0);
    }
    assert_int_equal(r->progress_calls, st->nrounds);
    assert_true(st->rounds[0].pages_sent + st->rounds[0].zero_pages == pages);
    assert_true(st->downtime_ms > 0);
    assert_true(st->downtime_ms <= st->total_s * 1000.0);
    assert_true(st->total_s <= r->wall_s);
    assert_int_equal(st->guest_pages, pages);
    assert_true(st->pages_sent + st->zero_pages >= pages);
    assert_true(st->stop_reason[0] != '\0');
    assert_string_equal(st->tls_mode, "none");
    assert_int_equal(st->verified, r->mp.digest);
    assert_int_equal(r->rx.st.verified, r->mp.digest);
    assert_int_equal(r->rx.st.guest_pages, pages);
    if (r->mp.digest) {
        check_json(st);
    }
    /* the source: paused, left to be destroyed, nothing of the migration
     * left on it */
    assert_int_equal(sim_paused(r->src), 1);
    assert_int_equal(sim_of(r->src)->tracking, 0);
    assert_int_equal(sim_throttle(r->src), 0);
    assert_true(heartbeat_still(r->src, 20));
    /* the destination runs, with what the source had at pause */
    assert_true(heartbeat_moves(r->rx.g, 5));
    assert_int_equal(sim_paused(r->rx.g), 0);
    check_state(r);
    if (!r->direct) {
        assert_true(r->m.stream_end == st->bytes);
        assert_true(r->rx.st.bytes == st->bytes + sizeof(XL_GO));
        assert_true(r->m.pages + r->m.xalloc ==
                    st->pages_sent + st->zero_pages);
        assert_int_equal(r->m.verify, r->mp.verify);
        if (r->mp.verify) {
            assert_true(r->m.verify_pages == pages);
            assert_true(r->m.verify_mismatches == 0);
        }
        check_digests(r);
    }
}

/* After a failure before "go": the guest runs at the source, as before
 * the migration, and the destination kept nothing. */
static void check_runs_here(struct run *r, const char *sender_says,
                            const char *receiver_says)
{
    int guests = 1 + (r->shadow != NULL);

    assert_int_equal(r->rc, -1);
    assert_contains(r->err, "migration failed, the guest runs on at the "
                            "source");
    if (sender_says) {
        assert_contains(r->err, sender_says);
    }
    assert_int_equal(sim_paused(r->src), 0);
    assert_int_equal(sim_throttle(r->src), 0);
    assert_int_equal(sim_of(r->src)->tracking, 0);
    assert_true(heartbeat_moves(r->src, 5));
    assert_true(heartbeat_moves(r->src, 5));   /* and again: it runs */
    assert_null(r->rx.g);
    if (r->rx.mode == RX_REAL && receiver_says) {
        assert_contains(r->rx.err, receiver_says);
    }
    /* nothing kept: no RAM, no vCPU of a half-built guest */
    assert_int_equal(sim_ram_maps(), guests);
    assert_int_equal(threads_settle(r->base_threads), r->base_threads);
}

/* ---- the isolation wrapper ------------------------------------------ */

static void on_alarm(int sig)
{
    static const char msg[] = " timed out (a hang?)\n";

    (void)sig;
    (void)!write(2, current_test, strlen(current_test));
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(124);
}

/* Run body in a child; a failure, a crash or a hang there fails the test.
 * expected: why the test is EXPECTED TO FAIL until a fix, or NULL. */
static void isolated(void (*body)(void), const char *name, unsigned limit_s,
                     const char *expected)
{
    int status;
    pid_t pid;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("CMOCKA_TEST_ABORT", "1", 1);   /* a failed assert ends it */
        current_test = name;
        signal(SIGALRM, on_alarm);
        alarm((unsigned)(limit_s * tscale));
        body();
        fflush(stdout);
        exit(0);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (expected) {
            printf("    (expected to fail, but passed: fixed? %s)\n", expected);
        }
        return;
    }
    if (expected) {
        printf("\n    EXPECTED TO FAIL until fixed: %s\n", expected);
    }
    if (WIFSIGNALED(status)) {
        fail_msg("%s: killed by signal %d (%s)", name, WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    }
    fail_msg("%s: exit status %d%s", name, WEXITSTATUS(status),
             WEXITSTATUS(status) == 124 ? " (timed out)" : "");
}

#define TEST(name, limit_s, expected)                                         \
    static void body_##name(void);                                            \
    static void name(void **state)                                            \
    {                                                                         \
        (void)state;                                                          \
        isolated(body_##name, #name, limit_s, expected);                      \
    }                                                                         \
    static void body_##name(void)

/* ---- 1. successful migrations --------------------------------------- */

static void migrate_ok(enum xmig_sim_workload w, unsigned mib, int transparent)
{
    struct run r;

    run_init(&r, w, mib);
    r.mp.transparent = transparent;
    if (w == XMIG_SIM_STRESS) {
        r.sc.vcpus = 1;
    }
    run_go(&r);
    check_success(&r);
    run_done(&r);
}

TEST(idle, 30, NULL)
{
    migrate_ok(XMIG_SIM_IDLE, 16, 0);
}

TEST(idle_transparent, 30, NULL)
{
    migrate_ok(XMIG_SIM_IDLE, 16, 1);
}

TEST(mixed, 30, NULL)
{
    migrate_ok(XMIG_SIM_MIXED, 32, 0);
}

TEST(mixed_transparent, 30, NULL)
{
    migrate_ok(XMIG_SIM_MIXED, 64, 1);
}

TEST(stress, 30, NULL)
{
    migrate_ok(XMIG_SIM_STRESS, 16, 0);
}

TEST(stress_transparent, 30, NULL)
{
    migrate_ok(XMIG_SIM_STRESS, 32, 1);
}

/* Straight over one socketpair, nobody in between. */
TEST(direct_socketpair, 30, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_MIXED, 16);
    r.direct = 1;
    r.rx.p.domid = 9;
    run_go(&r);
    check_success(&r);
    run_done(&r);
}

TEST(verify_mode, 30, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_MIXED, 16);
    r.mp.verify = 1;
    run_go(&r);
    check_success(&r);
    /* the final round re-sent every page */
    assert_true(r.st.rounds[r.st.nrounds - 1].pages_sent >=
                r.sc.memory_bytes / PAGE);
    run_done(&r);
}

TEST(bandwidth_cap, 30, NULL)
{
    struct run r;
    double floor_s;

    run_init(&r, XMIG_SIM_IDLE, 16);
    r.mp.bandwidth = slow ? 8u << 20 : 40u << 20;
    run_go(&r);
    check_success(&r);
    /* Paced after every batch; only the state records, END and the
     * handshake go unpaced, and pace() lets 1 ms slip. */
    floor_s = (double)(r.st.bytes - 65536) / (double)r.mp.bandwidth - 0.002;
    printf("    %.1f MiB at %.0f MiB/s: %.3f s (at least %.3f s)\n",
           (double)r.st.bytes / 1048576.0,
           (double)r.mp.bandwidth / 1048576.0, r.wall_s, floor_s);
    assert_true(r.st.bytes > 4 * 65536);
    assert_true(r.wall_s >= floor_s);
    assert_true(r.st.total_s >= floor_s);
    run_done(&r);
}

/* A slow round reports progress at least once a second, with live
 * figures; round 1's dirty rate is measured. */
TEST(progress_each_second, 40, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_MIXED, 12);
    r.sc.fill_percent = 100;
    r.sc.dirty_rate = 2000;
    r.mp.bandwidth = 4u << 20;
    run_go(&r);
    check_success(&r);
    printf("    %u reports within rounds (%u in round 1), longest gap "
           "%.2f s, round 1: %.2f s, dirty %.0f pages/s\n", r.partial_calls,
           r.partial_round1, r.max_gap, r.st.rounds[0].duration_s,
           r.st.rounds[0].dirty_rate);
    assert_true(r.st.rounds[0].duration_s > 2.0);
    assert_true(r.partial_round1 >= 2);
    assert_true(r.max_gap < 1.0 + 0.5 * tscale);
    assert_int_equal(r.live_bad, 0);
    assert_true(r.st.rounds[0].dirty_rate > 0);
    assert_true(r.st.setup_ms > 0 && r.st.setup_ms < r.st.total_s * 1000.0);
    assert_int_equal(r.st.page_size, PAGE);
    assert_int_equal(r.st.memory_total, r.sc.memory_bytes);
    assert_int_equal(r.st.memory_remaining, 0);
    assert_true(r.st.remaining_s == 0);
    assert_true(r.st.memory_processed >= r.sc.memory_bytes);
    assert_int_equal(r.st.iteration, r.st.iterations);
    run_done(&r);
}

/* One round while running, then the paused one. */
TEST(max_iters_1, 30, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_MIXED, 16);
    r.mp.max_iters = 1;
    r.mp.downtime_ms = 0;   /* never "converged": only max_iters stops it */
    run_go(&r);
    check_success(&r);
    assert_int_equal(r.st.iterations, 2);
    assert_int_equal(r.st.rounds[0].final, 0);
    assert_int_equal(r.st.rounds[1].final, 1);
    if (r.st.rounds[1].dirty_pages) {
        assert_string_equal(r.st.stop_reason, "1 rounds done");
    }
    run_done(&r);
}

/* Stress under a bandwidth cap does not converge by itself: with
 * auto-converge the throttle rises round by round until it does. */
TEST(auto_converge_on, 60, NULL)
{
    struct run r;
    unsigned last = 0;

    for (int attempt = 1;; attempt++) {
        run_init(&r, XMIG_SIM_STRESS, 16);
        r.sc.vcpus = 1;
        r.sc.fill_percent = 100;
        r.mp.bandwidth = slow ? 8u << 20 : 64u << 20;
        r.mp.downtime_ms = 30;
        r.mp.initial_downtime_ms = 30;
        r.mp.auto_converge = 1;
        run_go(&r);
        if (!again(&r, attempt, r.st.max_throttle > 0)) {
            break;
        }
    }
    check_success(&r);
    for (uint32_t i = 0; i < r.st.nrounds; i++) {
        assert_true(r.st.rounds[i].throttle >= last);
        last = r.st.rounds[i].throttle;
    }
    assert_true(r.st.max_throttle >= 20);
    assert_int_equal(r.st.max_throttle, last);
    assert_contains(r.st.stop_reason, "expected downtime");
    run_done(&r);
}

/* Without auto-converge it never gets there: max_iters pauses it. */
TEST(auto_converge_off, 60, NULL)
{
    struct run r;

    for (int attempt = 1;; attempt++) {
        run_init(&r, XMIG_SIM_STRESS, 16);
        r.sc.vcpus = 1;
        r.sc.fill_percent = 100;
        r.mp.bandwidth = slow ? 8u << 20 : 64u << 20;
        r.mp.downtime_ms = 0;   /* converged only by a round with no writes */
        r.mp.auto_converge = 0;
        r.mp.max_iters = 4;
        run_go(&r);
        if (!again(&r, attempt,
                   strcmp(r.st.stop_reason, "4 rounds done") == 0)) {
            break;
        }
    }
    check_success(&r);
    assert_int_equal(r.st.iterations, 5);
    assert_string_equal(r.st.stop_reason, "4 rounds done");
    assert_int_equal(r.st.max_throttle, 0);
    for (uint32_t i = 0; i < r.st.nrounds; i++) {
        assert_int_equal(r.st.rounds[i].throttle, 0);
    }
    run_done(&r);
}

/* ---- 2. dirty tracking ---------------------------------------------- */

/* Stress, without the engine's DIGEST check: the RAM delivered must be the
 * source's at pause, which only holds if no write escaped the tracking. */
TEST(tracking_stress_no_digest, 60, NULL)
{
    for (int i = 0; i < 3; i++) {
        struct run r;

        run_init(&r, XMIG_SIM_STRESS, 16);
        r.sc.vcpus = 2;
        r.sc.seed = 100 + (uint32_t)i;
        r.mp.digest = 0;
        r.mp.downtime_ms = 5;
        r.mp.initial_downtime_ms = 5;
        r.mp.max_iters = 8;
        run_go(&r);
        check_success(&r);
        assert_int_equal(r.rx.st.verified, 0);
        run_done(&r);
    }
}

/* The backend's log-dirty, hammered: a copy kept up to date from the
 * read-and-clear bitmaps while two vCPUs XOR pages flat out must equal the
 * RAM once paused.  (The fault handler used to record a page before
 * unprotecting it: a read-and-clear in between took the bit and
 * re-protected the page, the handler then opened it for good, and later
 * writes went unrecorded: tens of pages a second.) */
TEST(tracking_hammer, 60, NULL)
{
    struct xmig_sim_config c = { guest_mib(16), 2, XMIG_SIM_STRESS, 0, 3, 9,
                                 0 };
    struct xmig_guest *g = start_guest(&c);
    const struct backend_ops *ops = g->ops;
    struct sim_guest *s = sim_of(g);
    uint64_t n = s->nr_pfns, words = (n + 63) / 64, count, bad = 0;
    uint64_t *bm = calloc(words, 8);
    uint8_t *copy = malloc(n * PAGE);
    double end;
    unsigned rounds = 0;

    assert_true(bm && copy);
    assert_int_equal(ops->logdirty_enable(g, 1), 0);
    memcpy(copy, s->ram, n * PAGE);
    end = now_s() + 1.0 * tscale;
    while (now_s() < end || rounds < 50) {
        assert_int_equal(ops->logdirty_read_clear(g, bm, &count), 0);
        for (uint64_t pfn = 0; pfn < n; pfn++) {
            if (bm[pfn / 64] >> (pfn % 64) & 1) {
                memcpy(copy + pfn * PAGE, s->ram + pfn * PAGE, PAGE);
            }
        }
        rounds++;
    }
    assert_int_equal(ops->pause(g), 0);
    assert_int_equal(ops->logdirty_read_clear(g, bm, &count), 0);
    for (uint64_t pfn = 0; pfn < n; pfn++) {
        if (bm[pfn / 64] >> (pfn % 64) & 1) {
            memcpy(copy + pfn * PAGE, s->ram + pfn * PAGE, PAGE);
        }
    }
    for (uint64_t pfn = 0; pfn < n; pfn++) {
        bad += memcmp(copy + pfn * PAGE, s->ram + pfn * PAGE, PAGE) != 0;
    }
    printf("    %u read-and-clear rounds, %llu pages missed\n", rounds,
           (unsigned long long)bad);
    assert_int_equal(bad, 0);
    assert_int_equal(ops->logdirty_enable(g, 0), 0);
    assert_int_equal(ops->unpause(g), 0);
    assert_true(heartbeat_moves(g, 5));
    xmig_guest_destroy(g);
    free(bm);
    free(copy);
}

/* ---- 3. failure at every phase -------------------------------------- */

/* The receiver hangs up before its banner. */
TEST(fail_no_banner, 30, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_MIXED, 16);
    r.direct = 1;
    r.rx.mode = RX_CLOSE;
    run_go(&r);
    check_runs_here(&r, "waiting for the receiver", NULL);
    assert_int_equal(r.cat, XMIG_ERR_CLOSED);
    assert_int_equal(r.st.nrounds, 0);
    run_done(&r);
}

/* Something else answers: an HTTP server, say. */
TEST(fail_not_xl, 30, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_IDLE, 16);
    r.direct = 1;
    r.rx.mode = RX_NOT_XL;
    run_go(&r);
    check_runs_here(&r, "waiting for the receiver: expected \"xl migration "
                        "receiver ready", NULL);
    assert_contains(r.err, "got \"HTTP/1.1 400 Bad Request");
    assert_int_equal(r.cat, XMIG_ERR_PROTOCOL);
    run_done(&r);
}

TEST(fail_cut_round1, 30, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_IDLE, 16);
    r.sc.fill_percent = 50;
    r.m.cut_after = r.sc.memory_bytes / 16;   /* round 1 carries half */
    run_go(&r);
    assert_true(r.m.deliberate);
    assert_true(r.m.cut_at == r.sc.memory_bytes / 16);
    check_runs_here(&r, "write", "truncated");
    assert_int_equal(r.st.nrounds, 0);
    run_done(&r);
}

/* Cut during round 3, the guest running. */
TEST(fail_cut_later_round, 30, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_IDLE, 16);
    r.mp.downtime_ms = 0;
    r.mp.max_iters = 10;
    r.cut_at_round = 2;
    r.cut_delay_ms = 20;   /* the heartbeat dirties pfn 0 meanwhile */
    run_go(&r);
    assert_true(r.m.deliberate);
    check_runs_here(&r, "write", "truncated");
    assert_int_equal(r.st.nrounds, 2);
    run_done(&r);
}

/* Cut once pre-copy is over: the next writes come after the pause, in the
 * final round; the guest must be unpaused. */
TEST(fail_cut_final_round, 30, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_MIXED, 16);
    r.mp.max_iters = 1;
    r.mp.downtime_ms = 0;
    r.cut_at_round = 1;
    r.cut_delay_ms = 5;
    run_go(&r);
    check_runs_here(&r, NULL, "truncated");
    assert_int_equal(r.st.nrounds, 1);
    assert_string_equal(r.st.stop_reason, "1 rounds done");   /* paused */
    run_done(&r);
}

/* Cut inside the state records (X86_TSC_INFO, the first one written after
 * the pause), with PV state and a throttled stress guest. */
TEST(fail_cut_state_records, 30, NULL)
{
    struct run r;

    for (int attempt = 1;; attempt++) {
        run_init(&r, XMIG_SIM_STRESS, 16);
        r.sc.vcpus = 1;
        r.mp.transparent = 1;
        r.mp.bandwidth = slow ? 8u << 20 : 64u << 20;
        r.mp.downtime_ms = 0;
        r.mp.max_iters = 4;
        r.m.rec = (struct rec_rule){ 1, XMIG_LAYER_LIBXC,
                                     XMIG_LIBXC_X86_TSC_INFO, 0, 12, 1 };
        run_go(&r);
        if (!again(&r, attempt, r.st.max_throttle > 0)) {
            break;
        }
    }
    assert_true(r.m.deliberate);
    assert_true(r.m.cut_at == r.m.rec_offset + 12);
    assert_true(r.st.max_throttle > 0);
    assert_true(strstr(r.st.stop_reason, "4 rounds done") ||
                strstr(r.st.stop_reason, "expected downtime"));   /* paused */
    check_runs_here(&r, NULL, "truncated");
    run_done(&r);
}

/* Too big for the destination. */
TEST(fail_no_room, 30, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_IDLE, 16);
    r.direct = 1;
    r.rx.p.max_memory = r.sc.memory_bytes / 2;
    run_go(&r);
    check_runs_here(&r, NULL, "no room here");
    assert_int_equal(r.rx.cat, XMIG_ERR_NOMEM);
    run_done(&r);
}

/* An octet of the first PAGE_DATA record's type flipped: an unknown
 * mandatory record. */
TEST(fail_corrupt_record, 30, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_IDLE, 16);
    r.m.rec = (struct rec_rule){ 1, XMIG_LAYER_LIBXC, XMIG_LIBXC_PAGE_DATA, 0,
                                 2, 0 };
    run_go(&r);
    assert_true(r.m.flipped == 1);
    check_runs_here(&r, NULL, "record");
    assert_int_equal(r.rx.cat, XMIG_ERR_PROTOCOL);
    run_done(&r);
}

/* One octet of page data flipped in flight (pfn 1, in the hot set, so in
 * every round): only the DIGEST can tell. */
TEST(fail_digest_mismatch, 30, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_MIXED, 16);
    r.sc.fill_percent = 50;
    r.m.flip_pfn = 1;
    r.m.flip_pfn_octet = 100;
    run_go(&r);
    assert_true(r.m.flipped >= 1);
    /* The source learns why (the receiver's refusal line), not only
     * that the destination hung up. */
    check_runs_here(&r, "the destination refused the guest: the guest "
                        "arrived different",
                    "arrived different");
    run_done(&r);
}

/* VERIFY: a page of the checking pass changed in flight (the copies the
 * guest is built from are intact): the destination counts it and refuses;
 * without VERIFY nothing would have been wrong. */
TEST(fail_verify_mismatch, 30, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_MIXED, 16);
    r.mp.verify = 1;
    r.m.flip_pfn = 2;
    r.m.flip_pfn_octet = 7;
    r.m.flip_pfn_verify_only = 1;
    run_go(&r);
    assert_true(r.m.flipped == 1);
    assert_true(r.m.verify_mismatches == 1);
    check_runs_here(&r, "the destination refused the guest: VERIFY: 1 "
                        "pages differ",
                    "VERIFY: 1 pages differ");
    run_done(&r);
}

/* The guest kernel's page (pfn 0) damaged in every copy, without a DIGEST
 * to catch it: the destination refuses the guest all the same. */
TEST(fail_bad_kernel_page, 30, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_MIXED, 16);
    r.mp.digest = 0;
    r.m.flip_pfn = 0;
    r.m.flip_pfn_octet = 0;
    run_go(&r);
    assert_true(r.m.flipped >= 1);
    check_runs_here(&r, NULL, "no sim guest kernel");
    run_done(&r);
}

/* The destination cannot start the guest (no thread for its vCPUs: the
 * default stack made impossibly large once every thread of the test is
 * up): it reports status 1 after "go", the source resumes. */
static void *no_more_threads(void *u)
{
    pthread_attr_t a;

    (void)u;
    assert_int_equal(pthread_attr_init(&a), 0);
    assert_int_equal(pthread_attr_setstacksize(&a, SIZE_MAX / 4), 0);
    assert_int_equal(pthread_setattr_default_np(&a), 0);
    pthread_attr_destroy(&a);
    return NULL;
}

TEST(fail_commit, 30, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_MIXED, 16);
    r.before_send = no_more_threads;
    run_go(&r);
    check_runs_here(&r, "could not start the guest (status 1)",
                    "starting sim vCPU");
    run_done(&r);
}

/* An xl-speaking receiver that takes the stream (it must read as valid)
 * and then reports failure. */
TEST(fail_nonzero_status, 30, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_MIXED, 16);
    r.rx.mode = RX_STATUS;
    r.rx.status = 7;
    run_go(&r);
    if (!r.rx.fake_ok) {
        fail_msg("the stream did not read: %s", r.rx.err);
    }
    check_runs_here(&r, "could not start the guest (status 7)", NULL);
    run_done(&r);
}

/* The connection lost after "go": the destination may run the guest (here
 * it does), the source cannot know and must not resume. */
TEST(fail_lost_after_go, 30, NULL)
{
    struct run r;
    uint8_t a[32], b[32];

    run_init(&r, XMIG_SIM_MIXED, 16);
    r.m.cut_after_go = 1;
    run_go(&r);
    assert_true(r.m.deliberate);
    assert_int_equal(r.rc, -1);
    assert_contains(r.err, "migration outcome unknown");
    assert_contains(r.err, "the source copy stays paused");
    assert_int_equal(sim_paused(r.src), 1);
    assert_true(heartbeat_still(r.src, 50));
    assert_non_null(r.rx.g);
    assert_true(heartbeat_moves(r.rx.g, 5));
    /* and what it received was the paused source */
    assert_int_equal(xmig_guest_digest(r.src, a), 0);
    assert_int_equal(xmig_guest_digest(r.shadow, b), 0);
    assert_memory_equal(a, b, 32);
    run_done(&r);
}

/* The connection lost after the sender said "go" but before it arrived:
 * the destination never runs the guest and keeps nothing; the sender
 * cannot tell this from the case above, so its copy stays paused. */
TEST(fail_lost_before_go, 30, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_MIXED, 16);
    r.m.drop_go = 1;
    run_go(&r);
    assert_true(r.m.deliberate);
    assert_int_equal(r.rc, -1);
    assert_contains(r.err, "migration outcome unknown");
    assert_int_equal(sim_paused(r.src), 1);
    assert_true(heartbeat_still(r.src, 50));
    assert_null(r.rx.g);
    assert_contains(r.rx.err, "waiting for permission to start the guest");
    assert_int_equal(sim_ram_maps(), 2);   /* the source and the shadow */
    assert_int_equal(threads_settle(r.base_threads), r.base_threads);
    /* The operator, knowing now, resumes the source: it runs as before. */
    assert_int_equal(xmig_guest_unpause(r.src), 0);
    assert_true(heartbeat_moves(r.src, 5));
    run_done(&r);
}

/* After "outcome unknown" the source stays paused, but nothing of the
 * migration stays on it: resumed later (the operator's call), it runs
 * untracked and at full speed.  (Log-dirty and the throttle used to stay
 * on there.) */
TEST(fail_lost_after_go_clean, 60, NULL)
{
    struct run r;

    for (int attempt = 1;; attempt++) {
        run_init(&r, XMIG_SIM_STRESS, 16);
        r.sc.vcpus = 1;
        r.sc.fill_percent = 100;
        r.mp.bandwidth = slow ? 8u << 20 : 64u << 20;
        r.mp.downtime_ms = 0;
        r.mp.max_iters = 4;
        r.m.drop_go = 1;
        run_go(&r);
        if (!again(&r, attempt, r.st.max_throttle > 0)) {
            break;
        }
    }
    assert_int_equal(r.rc, -1);
    assert_contains(r.err, "migration outcome unknown");
    assert_true(r.st.max_throttle > 0);
    assert_int_equal(sim_paused(r.src), 1);
    assert_int_equal(sim_of(r.src)->tracking, 0);
    assert_int_equal(sim_throttle(r.src), 0);
    assert_int_equal(xmig_guest_unpause(r.src), 0);
    assert_true(heartbeat_moves(r.src, 5));
    run_done(&r);
}

/* Pre-copy fails while a busy guest writes: resuming it at the source
 * must not kill it.  (Switching tracking off used to clear the flag before
 * unprotecting RAM, and the fault handler took a fault on untracked guest
 * RAM for a crash: a vCPU writing in between died.) */
TEST(fail_cut_busy_guest, 60, NULL)
{
    for (int i = 0; i < 5; i++) {
        struct run r;

        run_init(&r, XMIG_SIM_STRESS, 16);
        r.sc.seed = 200 + (uint32_t)i;
        r.m.cut_after = r.sc.memory_bytes / 10 * (uint64_t)(i + 1);
        run_go(&r);
        check_runs_here(&r, "write", "truncated");
        run_done(&r);
    }
}

/* ---- 4. what the destination refuses -------------------------------- */

static struct xmig_guest *receive_bytes(struct buf b, char *err, size_t len)
{
    struct xmig_receive_params p = { 0, 0, xmig_sim_guest_factory, NULL };
    struct xmig_migrate_stats st;
    struct xmig_transport *t;
    struct xmig_guest *g;
    int in = memfd_create("stream", MFD_CLOEXEC);
    int out = open("/dev/null", O_WRONLY | O_CLOEXEC);

    assert_true(in >= 0 && out >= 0);
    assert_int_equal(write(in, b.data, b.len), (ssize_t)b.len);
    assert_int_equal(lseek(in, 0, SEEK_SET), 0);
    t = xmig_transport_fds(in, out, 1);
    g = xmig_migrate_receive(t, &p, &st);
    snprintf(err, len, "%s", xmig_error_message());
    xmig_transport_free(t);
    printf("    %s\n", err);
    return g;
}

static struct buf synth(enum xmig_format f, uint32_t guest_type)
{
    struct synth_opts o;

    synth_defaults(&o);
    o.format = f;
    o.guest_type = guest_type;
    o.pages = 256;   /* 1024 KiB, as its domain config says */
    return make_stream(&o);
}

static struct buf synth_no_emulator(enum xmig_format f, uint32_t guest_type)
{
    struct synth_opts o;

    synth_defaults(&o);
    o.format = f;
    o.guest_type = guest_type;
    o.pages = 256;
    o.no_emulator_context = 1;
    return make_stream(&o);
}

static void patch(struct buf b, const char *from, const char *to)
{
    uint8_t *p = memmem(b.data, b.len, from, strlen(from));

    assert_non_null(p);
    assert_int_equal(strlen(from), strlen(to));
    memcpy(p, to, strlen(to));
}

/* Under valgrind this also checks that the receiver's tls_info on a
 * transport that is not a socket reads no uninitialised sockaddr. */
TEST(refuse_streams, 30, NULL)
{
    char err[1024];
    struct buf b;

    /* the synthetic stream carries qemu's state, as xl's of an HVM guest
     * does: no backend can load it, so the guest built for it goes */
    b = synth(XMIG_FORMAT_XL, XMIG_DOMAIN_X86_HVM);
    assert_null(receive_bytes(b, err, sizeof(err)));
    assert_contains(err, "EMULATOR_CONTEXT, emulator 2");
    assert_contains(err, "not supported yet; use xl");
    assert_int_equal(xmig_error_category(), XMIG_ERR_UNSUPPORTED);
    assert_int_equal(sim_ram_maps(), 0);
    buf_free(&b);
    /* without it, the stream passes every check of the stream (it only
     * lacks a sim guest kernel) */
    b = synth_no_emulator(XMIG_FORMAT_XL, XMIG_DOMAIN_X86_HVM);
    assert_null(receive_bytes(b, err, sizeof(err)));
    assert_contains(err, "no sim guest kernel");
    /* no max_memkb in the xl header's config */
    patch(b, "\"max_memkb\"", "\"min_memkb\"");
    assert_null(receive_bytes(b, err, sizeof(err)));
    assert_contains(err, "b_info.max_memkb");
    assert_int_equal(xmig_error_category(), XMIG_ERR_UNSUPPORTED);
    patch(b, "\"min_memkb\": 1024", "\"max_memkb\":   12");
    assert_null(receive_bytes(b, err, sizeof(err)));
    assert_contains(err, "not a usable guest size");
    buf_free(&b);
    /* no xl header at all */
    b = synth(XMIG_FORMAT_LIBXL, XMIG_DOMAIN_X86_HVM);
    assert_null(receive_bytes(b, err, sizeof(err)));
    assert_contains(err, "without an xl header");
    buf_free(&b);
    /* a PV guest */
    b = synth(XMIG_FORMAT_XL, XMIG_DOMAIN_X86_PV);
    assert_null(receive_bytes(b, err, sizeof(err)));
    assert_contains(err, "x86 PV: PV guests are not supported; use xl");
    assert_int_equal(xmig_error_category(), XMIG_ERR_UNSUPPORTED);
    buf_free(&b);
    assert_int_equal(sim_ram_maps(), 0);
}

/* ---- the sim itself ------------------------------------------------- */

/* Creating and destroying guests leaves no memory behind.  (sim_pv_init
 * used to leak the arrays its clone allocated: 56 octets a guest, and at
 * every commit.) */
TEST(sim_no_leak, 30, NULL)
{
    struct xmig_sim_config c = { 1u << 20, 1, XMIG_SIM_IDLE, 0, 3, 1, 0 };
    struct mallinfo2 before, after;

    /* glibc settles (thread stacks, arenas) over the first few guests */
    for (int i = 0; i < 10; i++) {
        xmig_guest_destroy(start_guest(&c));
    }
    before = mallinfo2();
    for (int i = 0; i < 8; i++) {
        xmig_guest_destroy(start_guest(&c));
    }
    after = mallinfo2();
    printf("    %ld octets more allocated after 8 more guests\n",
           (long)(after.uordblks - before.uordblks));
    /* Under ASan or valgrind, mallinfo says nothing: their leak check at
     * the child's exit does the work. */
    assert_true((long)(after.uordblks - before.uordblks) < 8 * 56);
}

/* A program that sets its own SIGSEGV disposition after the first guest
 * (as cmocka does around every test, restoring SIG_DFL after it) must not
 * lose the dirty tracking of later guests.  (The sim used to install its
 * handler once per process: the next tracked write killed the process.) */
TEST(sim_handler_replaced, 30, NULL)
{
    struct run r;

    run_init(&r, XMIG_SIM_MIXED, 16);
    xmig_guest_destroy(start_guest(&r.sc));
    signal(SIGSEGV, SIG_DFL);   /* what cmocka does after each test */
    run_go(&r);
    check_success(&r);
    run_done(&r);
}

int main(int argc, char **argv)
{
    const char *env = getenv("XMIG_TEST_SLOW");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(idle),
        cmocka_unit_test(idle_transparent),
        cmocka_unit_test(mixed),
        cmocka_unit_test(mixed_transparent),
        cmocka_unit_test(stress),
        cmocka_unit_test(stress_transparent),
        cmocka_unit_test(direct_socketpair),
        cmocka_unit_test(verify_mode),
        cmocka_unit_test(bandwidth_cap),
        cmocka_unit_test(progress_each_second),
        cmocka_unit_test(max_iters_1),
        cmocka_unit_test(auto_converge_on),
        cmocka_unit_test(auto_converge_off),
        cmocka_unit_test(tracking_stress_no_digest),
        cmocka_unit_test(tracking_hammer),
        cmocka_unit_test(fail_no_banner),
        cmocka_unit_test(fail_not_xl),
        cmocka_unit_test(fail_cut_round1),
        cmocka_unit_test(fail_cut_later_round),
        cmocka_unit_test(fail_cut_final_round),
        cmocka_unit_test(fail_cut_state_records),
        cmocka_unit_test(fail_no_room),
        cmocka_unit_test(fail_corrupt_record),
        cmocka_unit_test(fail_digest_mismatch),
        cmocka_unit_test(fail_verify_mismatch),
        cmocka_unit_test(fail_bad_kernel_page),
        cmocka_unit_test(fail_commit),
        cmocka_unit_test(fail_nonzero_status),
        cmocka_unit_test(fail_lost_after_go),
        cmocka_unit_test(fail_lost_before_go),
        cmocka_unit_test(fail_lost_after_go_clean),
        cmocka_unit_test(fail_cut_busy_guest),
        cmocka_unit_test(refuse_streams),
        cmocka_unit_test(sim_no_leak),
        cmocka_unit_test(sim_handler_replaced),
    };

    slow = ON_VALGRIND() || (env && env[0] == '1');
    env = getenv("XMIG_TEST_VERBOSE");
    verbose = env && env[0] == '1';
    tscale = slow ? 10.0 : 1.0;
#if defined(__SANITIZE_ADDRESS__)
    tscale *= 3;
#endif
    if (ON_VALGRIND()) {
        printf("valgrind: needs --vex-iropt-register-updates="
               "allregs-at-mem-access, or the sim's vCPUs crash (see the "
               "top of tests/test_migrate.c)\n");
    }
    signal(SIGPIPE, SIG_IGN);   /* a cut connection is an error, not death */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1) {
        cmocka_set_test_filter(argv[1]);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
