/*
 * bench_codec: how fast the stream codec reads and writes a large libxc
 * image, side by side with memcpy of the same number of bytes.
 *
 * One synthetic HVM image (streams/synth.h, PAGE_DATA batches of 1024
 * pfns) carrying BENCH_MIB MiB of page data is built once in memory.
 * Every case then runs BENCH_REPS times, round-robin after one untimed
 * warm-up round, so drift on a shared machine hits all cases alike; the
 * table shows the median.  This is a benchmark, not a test: it fails only
 * when the codec does (a stream refused or short), never on speed.
 *
 *   bench_codec [MiB]        or   BENCH_MIB=64 bench_codec
 *   BENCH_REPS=9 bench_codec
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "streams/synth.h"
#include "xmig.h"

#define DEFAULT_MIB 1024u
#define MAX_MIB 8192u           /* about 7x this is live at once */
#define DEFAULT_REPS 5
#define MAX_REPS 51
#define CACHE_LINE 64

/* Every case folds a result in here, so no work is dead code. */
static volatile uint64_t g_keep;

struct bench {
    struct synth_opts opts;
    uint8_t *guest;                 /* the synthetic guest's memory */
    struct xmig_transport *source;  /* a memory sink holding the stream */
    const uint8_t *stream;
    size_t stream_len;
    uint64_t data_bytes;            /* page data inside the stream */
    int stream_fd;                  /* memfd with the same bytes */
    int null_fd;                    /* /dev/null */
    int out_fd;                     /* memfd the fd writer fills */
    uint8_t *dst;                   /* pre-faulted memcpy destination */
    uint64_t records, lent;         /* PAGE_DATA seen / lent, last read */
};

typedef int (*case_fn)(struct bench *b);

struct bench_case {
    const char *group;
    const char *name;
    const char *touches;            /* does it read every page byte? */
    case_fn run;
    double secs[MAX_REPS];
    double median;
    uint64_t records, lent;
};

/* ---- helpers ------------------------------------------------------------ */

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int codec_failed(const char *what)
{
    uint64_t off = 0;

    if (xmig_error_offset(&off)) {
        fprintf(stderr, "bench_codec: %s: %s (at offset %llu)\n", what,
                xmig_error_message(), (unsigned long long)off);
    } else {
        fprintf(stderr, "bench_codec: %s: %s\n", what, xmig_error_message());
    }
    return -1;
}

static int sys_failed(const char *what)
{
    fprintf(stderr, "bench_codec: %s: %s\n", what, strerror(errno));
    return -1;
}

/* One 8-octet load per 64-octet line pulls every line of the range through
 * the cache: the least any consumer of the page data pays for it. */
static uint64_t touch_lines(const uint8_t *p, size_t len)
{
    uint64_t sum = 0;

    for (size_t off = 0; off + 8 <= len; off += CACHE_LINE) {
        uint64_t w;
        memcpy(&w, p + off, sizeof(w));
        sum += w;
    }
    return sum;
}

/* A few octets of a copy's destination, so the copy has a reader.  Every
 * buffer here holds a whole stream, so len is never 0. */
static uint64_t sample(const uint8_t *p, size_t len)
{
    return (uint64_t)p[0] ^ p[len / 2] ^ p[len - 1];
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return sys_failed("write");
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- reference cases ------------------------------------------------------ */

static int run_memcpy(struct bench *b)
{
    memcpy(b->dst, b->stream, b->stream_len);
    g_keep += sample(b->dst, b->stream_len);
    return 0;
}

/* The same copy into memory not yet faulted in: what a growing buffer
 * (the memory sink) pays on top of the copy. */
static int run_memcpy_fresh(struct bench *b)
{
    uint8_t *p = malloc(b->stream_len);

    if (!p) {
        return sys_failed("malloc");
    }
    memcpy(p, b->stream, b->stream_len);
    g_keep += sample(p, b->stream_len);
    free(p);
    return 0;
}

static int run_touch(struct bench *b)
{
    g_keep += touch_lines(b->stream, b->stream_len);
    return 0;
}

/* ---- reader cases --------------------------------------------------------- */

struct visit {
    uintptr_t lo, hi;               /* the source stream's address range */
    int touch;
    uint64_t sum, records, lent;
};

static int visit_item(void *user, const struct xmig_record *rec)
{
    struct visit *v = user;
    const struct xmig_page_data *pd = &rec->u.page_data;
    uintptr_t at;

    if (rec->kind != XMIG_ITEM_RECORD || rec->layer != XMIG_LAYER_LIBXC ||
        rec->type != XMIG_LIBXC_PAGE_DATA) {
        return 0;
    }
    v->records++;
    /* Data inside the source means it was lent, not copied. */
    at = (uintptr_t)pd->data;
    v->lent += at >= v->lo && at < v->hi;
    if (v->touch) {
        v->sum += touch_lines(pd->data, (size_t)pd->data_pages *
                                            XMIG_PAGE_SIZE);
    }
    return 0;
}

/* Read and validate the whole stream from t; insist it all arrived. */
static int read_stream(struct bench *b, struct xmig_transport *t, int touch)
{
    struct visit v = { (uintptr_t)b->stream,
                       (uintptr_t)b->stream + b->stream_len, touch, 0, 0, 0 };
    struct xmig_stream_stats st;
    struct xmig_reader *r = xmig_reader_create(t, XMIG_FORMAT_LIBXC);
    int rc = -1;

    if (!r) {
        return codec_failed("reader");
    }
    if (xmig_reader_run(r, visit_item, &v) < 0 ||
        xmig_reader_expect_eof(r) < 0) {
        codec_failed("reading the stream");
        goto out;
    }
    xmig_reader_stats(r, &st);
    if (st.bytes != b->stream_len ||
        st.data_pages * XMIG_PAGE_SIZE != b->data_bytes) {
        fprintf(stderr, "bench_codec: reader consumed %llu of %zu octets\n",
                (unsigned long long)st.bytes, b->stream_len);
        goto out;
    }
    g_keep += v.sum + st.pfns;
    b->records = v.records;
    b->lent = v.lent;
    rc = 0;
out:
    xmig_reader_free(r);
    return rc;
}

static int read_memory(struct bench *b, int touch)
{
    struct xmig_transport *t = xmig_transport_memory(b->stream,
                                                     b->stream_len);
    int rc;

    if (!t) {
        return codec_failed("memory transport");
    }
    rc = read_stream(b, t, touch);
    xmig_transport_free(t);
    return rc;
}

static int read_fd(struct bench *b, int touch)
{
    struct xmig_transport *t;
    int rc;

    if (lseek(b->stream_fd, 0, SEEK_SET) != 0) {
        return sys_failed("lseek");
    }
    t = xmig_transport_fd(b->stream_fd, 0);
    if (!t) {
        return codec_failed("fd transport");
    }
    rc = read_stream(b, t, touch);
    xmig_transport_free(t);
    return rc;
}

static int run_read_lend(struct bench *b)
{
    return read_memory(b, 0);
}

static int run_read_lend_touch(struct bench *b)
{
    return read_memory(b, 1);
}

static int run_read_fd(struct bench *b)
{
    return read_fd(b, 0);
}

static int run_read_fd_touch(struct bench *b)
{
    return read_fd(b, 1);
}

/* ---- writer cases --------------------------------------------------------- */

/* The writer as a saver uses it: guest memory out in PAGE_DATA batches. */
static int write_image(struct bench *b, struct xmig_transport *t)
{
    if (synth_write_memory(t, &b->opts, b->guest) < 0) {
        return codec_failed("writing the stream");
    }
    return 0;
}

static int run_write_sink(struct bench *b)
{
    struct xmig_transport *t = xmig_transport_memory_sink();
    const uint8_t *p;
    size_t len = 0;
    int rc;

    if (!t) {
        return codec_failed("memory sink");
    }
    rc = write_image(b, t);
    p = xmig_transport_sink_data(t, &len);
    if (rc == 0 && (len != b->stream_len || !p)) {
        fprintf(stderr, "bench_codec: sink holds %zu of %zu octets\n", len,
                b->stream_len);
        rc = -1;
    }
    if (rc == 0) {
        g_keep += sample(p, len);
    }
    xmig_transport_free(t);
    return rc;
}

static int write_fd(struct bench *b, int fd)
{
    struct xmig_transport *t = xmig_transport_fd(fd, 0);
    int rc;

    if (!t) {
        return codec_failed("fd transport");
    }
    rc = write_image(b, t);
    xmig_transport_free(t);
    return rc;
}

static int run_write_null(struct bench *b)
{
    return write_fd(b, b->null_fd);
}

/* Rewrites the same memfd pages each time: the kernel copies, no faults
 * after the warm-up round. */
static int run_write_memfd(struct bench *b)
{
    off_t end;

    if (lseek(b->out_fd, 0, SEEK_SET) != 0) {
        return sys_failed("lseek");
    }
    if (write_fd(b, b->out_fd) < 0) {
        return -1;
    }
    end = lseek(b->out_fd, 0, SEEK_CUR);
    if (end != (off_t)b->stream_len) {
        fprintf(stderr, "bench_codec: memfd got %lld of %zu octets\n",
                (long long)end, b->stream_len);
        return -1;
    }
    return 0;
}

/* ---- setup ---------------------------------------------------------------- */

/* Synth sends ~79% of pfns with data (every 97th a hole, every 5th of the
 * rest all zero), so size the guest for mib MiB of page data. */
static uint32_t guest_pages(unsigned mib)
{
    uint64_t data_pages = (uint64_t)mib * (1u << 20) / XMIG_PAGE_SIZE;

    return (uint32_t)((data_pages * 485 + 383) / 384);
}

static int make_stream(struct bench *b, unsigned mib)
{
    synth_defaults(&b->opts);
    b->opts.format = XMIG_FORMAT_LIBXC;
    b->opts.guest_type = XMIG_DOMAIN_X86_HVM;
    b->opts.pages = guest_pages(mib);
    b->opts.batch = 1024;
    b->guest = synth_memory(&b->opts);
    b->source = xmig_transport_memory_sink();
    if (!b->guest || !b->source || write_image(b, b->source) < 0) {
        return codec_failed("building the stream");
    }
    b->stream = xmig_transport_sink_data(b->source, &b->stream_len);
    return b->stream ? 0 : codec_failed("sink data");
}

/* Count the page data once, so every read can be checked against it. */
static int count_data(struct bench *b)
{
    struct xmig_stream_stats st;
    struct xmig_transport *t = xmig_transport_memory(b->stream,
                                                     b->stream_len);
    struct xmig_reader *r = t ? xmig_reader_create(t, XMIG_FORMAT_LIBXC)
                              : NULL;
    int rc = 0;

    if (!r || xmig_reader_run(r, NULL, NULL) < 0) {
        rc = codec_failed("counting page data");
    } else {
        xmig_reader_stats(r, &st);
        b->data_bytes = st.data_pages * XMIG_PAGE_SIZE;
    }
    xmig_reader_free(r);
    xmig_transport_free(t);
    return rc;
}

static int open_fds(struct bench *b)
{
    b->stream_fd = memfd_create("xmig-bench-stream", 0);
    b->out_fd = memfd_create("xmig-bench-out", 0);
    b->null_fd = open("/dev/null", O_WRONLY);
    if (b->stream_fd < 0 || b->out_fd < 0 || b->null_fd < 0) {
        return sys_failed("memfd_create or /dev/null");
    }
    return write_all(b->stream_fd, b->stream, b->stream_len);
}

static int setup(struct bench *b, unsigned mib)
{
    memset(b, 0, sizeof(*b));
    b->stream_fd = b->out_fd = b->null_fd = -1;
    if (make_stream(b, mib) < 0 || count_data(b) < 0 || open_fds(b) < 0) {
        return -1;
    }
    b->dst = malloc(b->stream_len);
    if (!b->dst) {
        return sys_failed("malloc");
    }
    /* Fault the destination in now: the reference is the copy alone. */
    memset(b->dst, 0x5a, b->stream_len);
    return 0;
}

static void close_fd(int fd)
{
    if (fd >= 0) {
        close(fd);
    }
}

static void teardown(struct bench *b)
{
    free(b->dst);
    free(b->guest);
    xmig_transport_free(b->source);
    close_fd(b->stream_fd);
    close_fd(b->out_fd);
    close_fd(b->null_fd);
}

/* ---- timing and report ---------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static int time_case(struct bench *b, struct bench_case *c, int rep)
{
    double t0 = now();

    if (c->run(b) < 0) {
        fprintf(stderr, "bench_codec: case '%s' failed\n", c->name);
        return -1;
    }
    if (rep >= 0) {
        c->secs[rep] = now() - t0;
    }
    c->records = b->records;
    c->lent = b->lent;
    b->records = b->lent = 0;
    return 0;
}

/* Round -1 is the warm-up: first faults and cold caches, not timed. */
static int run_cases(struct bench *b, struct bench_case *cases, int ncases,
                     int reps)
{
    for (int rep = -1; rep < reps; rep++) {
        for (int i = 0; i < ncases; i++) {
            if (time_case(b, &cases[i], rep) < 0) {
                return -1;
            }
        }
    }
    for (int i = 0; i < ncases; i++) {
        double sorted[MAX_REPS];
        memcpy(sorted, cases[i].secs, sizeof(double) * (size_t)reps);
        qsort(sorted, (size_t)reps, sizeof(double), cmp_double);
        cases[i].median = sorted[reps / 2];
    }
    return 0;
}

static void print_machine(void)
{
    char line[512], model[256] = "unknown", date[64];
    time_t t = time(NULL);
    struct utsname u;
    FILE *f = fopen("/proc/cpuinfo", "r");
    char *colon;

    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "model name", 10) == 0 &&
            (colon = strchr(line, ':'))) {
            snprintf(model, sizeof(model), "%s", colon + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    }
    if (f) {
        fclose(f);
    }
    uname(&u);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&t));
    printf("date: %s\n", date);
    printf("cpu: %s, %ld cores online\n", model,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("kernel: %s %s; compiler: %s\n", u.sysname, u.release,
           __VERSION__);
}

static void print_row(const struct bench_case *c, const struct bench *b,
                      double ref, int reps)
{
    double lo = c->secs[0], hi = c->secs[0];
    double gbs = (double)b->stream_len / c->median / 1e9;

    for (int i = 1; i < reps; i++) {
        lo = c->secs[i] < lo ? c->secs[i] : lo;
        hi = c->secs[i] > hi ? c->secs[i] : hi;
    }
    printf("%-7s %-34s %-5s %9.4f %9.4f..%-9.4f %8.2f %8.2fx\n", c->group,
           c->name, c->touches, c->median, lo, hi, gbs,
           ref / c->median);
}

static void print_table(const struct bench_case *cases, int ncases,
                        const struct bench *b, int reps)
{
    double ref = cases[0].median;   /* case 0 is memcpy */

    printf("\n%-7s %-34s %-5s %9s %20s %8s %9s\n", "group", "case",
           "touch", "median s", "min..max s", "GB/s", "vs memcpy");
    for (int i = 0; i < ncases; i++) {
        print_row(&cases[i], b, ref, reps);
    }
    printf("\nGB/s = stream octets (%zu) / median seconds / 1e9; "
           "vs memcpy = memcpy time / case time.\n", b->stream_len);
    printf("touch = the case reads every cache line of the page data; "
           "every row moves the same octets,\nso the writer rows compare "
           "against the same memcpy.\n");
    for (int i = 0; i < ncases; i++) {
        if (cases[i].records) {
            printf("%s: PAGE_DATA bodies lent from the source: %llu of "
                   "%llu\n", cases[i].name,
                   (unsigned long long)cases[i].lent,
                   (unsigned long long)cases[i].records);
        }
    }
}

static unsigned arg_mib(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : getenv("BENCH_MIB");
    unsigned long v = s ? strtoul(s, NULL, 10) : DEFAULT_MIB;

    if (v < 1 || v > MAX_MIB) {
        fprintf(stderr, "bench_codec: size %s MiB out of 1..%u; using %u\n",
                s, MAX_MIB, DEFAULT_MIB);
        v = DEFAULT_MIB;
    }
    return (unsigned)v;
}

static int arg_reps(void)
{
    const char *s = getenv("BENCH_REPS");
    long v = s ? strtol(s, NULL, 10) : DEFAULT_REPS;

    return v >= 1 && v <= MAX_REPS ? (int)v : DEFAULT_REPS;
}

/* Case 0 must stay memcpy: it is the reference for the ratios. */
#define CASE(g, n, t, f) { .group = (g), .name = (n), .touches = (t), .run = (f) }

int main(int argc, char **argv)
{
    static struct bench_case cases[] = {
        CASE("ref", "memcpy (pre-faulted dst)", "yes", run_memcpy),
        CASE("ref", "memcpy -> fresh malloc (faults)", "yes",
             run_memcpy_fresh),
        CASE("ref", "touch 1 word/line (no reader)", "yes", run_touch),
        CASE("reader", "memory (lend), validate", "no", run_read_lend),
        CASE("reader", "memory (lend), validate + touch", "yes",
             run_read_lend_touch),
        CASE("reader", "memfd (fd, buffered), validate", "no", run_read_fd),
        CASE("reader", "memfd (fd, buffered), val. + touch", "yes",
             run_read_fd_touch),
        CASE("writer", "memory sink (copies)", "yes", run_write_sink),
        CASE("writer", "/dev/null (fd writev, zero copy)", "no",
             run_write_null),
        CASE("writer", "memfd (fd writev, kernel copies)", "yes",
             run_write_memfd),
    };
    int ncases = (int)(sizeof(cases) / sizeof(cases[0]));
    unsigned mib = arg_mib(argc, argv);
    int reps = arg_reps();
    struct bench b;
    int rc;

    printf("bench_codec: libxc HVM image, %u MiB of page data, PAGE_DATA "
           "of 1024 pfns, median of %d runs\n", mib, reps);
    print_machine();
    rc = setup(&b, mib);
    if (rc == 0) {
        printf("stream: %zu octets (%u guest pages, %llu octets of page "
               "data)\n", b.stream_len, b.opts.pages,
               (unsigned long long)b.data_bytes);
        fflush(stdout);
        rc = run_cases(&b, cases, ncases, reps);
    }
    if (rc == 0) {
        print_table(cases, ncases, &b, reps);
    }
    teardown(&b);
    return rc == 0 ? 0 : 1;
}
