/*
 * xfer-peer: the two ends of a bulk transfer for bench/bench_transport.sh,
 * plus the small tools that script needs.  Like tests/tls-pipe.c it sends
 * a file through an xmig transport (TLS or plain TCP) and receives it, but
 * it is built for measuring:
 *
 *   - the sender maps the file (as a migration sender maps guest memory)
 *     and writes it from the mapping in --chunk pieces (default 1 MiB);
 *     nothing is read or summed before the clock starts;
 *   - the receiver checks an 8-lane add-rotate-multiply hash that runs at
 *     several GB/s, not a byte-at-a-time FNV (tls-pipe's sum caps a
 *     loopback transfer near 0.4 GB/s on the benchmark machine);
 *   - both print CLOCK_MONOTONIC timestamps, so the script can time a
 *     transfer from the sender's connect to the receiver's last octet.
 *
 *   xfer-peer gen FILE BYTES          semi-random "guest memory"; prints sum
 *   xfer-peer sum FILE                prints "sum=HEX bytes=N seconds=S"
 *   xfer-peer hashspeed BYTES         CPU seconds to hash BYTES from cache
 *   xfer-peer send --connect H:P [tls opts] [--chunk N] [--sendfile] FILE
 *   xfer-peer recv --listen H:P --port-file F [tls opts] [--chunk N]
 *   xfer-peer time OUT CMD [ARG...]   runs CMD, forwards SIGTERM/SIGINT to
 *                                     it, writes "rc user_s sys_s wall_s"
 *                                     (its rusage, all threads) to OUT
 *   xfer-peer freeport                prints an unused loopback TCP port
 *   xfer-peer waitlisten PORT SECS    waits until 127.0.0.1:PORT listens
 *                                     (reads /proc/net/tcp, no connect)
 *   tls opts: --tls auto|ktls|userspace|none --cert F --key F --ca F
 *             --name N --tls-version 1.2|1.3 --cipher NAME
 *             --nodelay (TCP_NODELAY before the handshake: an experiment)
 *
 * Not a test and never judges speed; it exits non-zero when a transfer
 * fails.  The script checks byte counts and sums.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xmig.h"

#define PAGE 4096u

/* ---- a fast streaming hash ---------------------------------------------- */

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full

struct sum {
    uint64_t v[8];
    uint64_t len;
    uint8_t tail[64];
    size_t ntail;
};

static uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* One multiply per word: the multiplier's throughput, not its latency,
 * sets the speed (8 independent lanes). */
static uint64_t mix(uint64_t acc, uint64_t in)
{
    return rotl(acc + in, 29) * P1;
}

static void sum_init(struct sum *s)
{
    memset(s, 0, sizeof(*s));
    for (int i = 0; i < 8; i++) {
        s->v[i] = P2 * (uint64_t)(2 * i + 1);
    }
}

static void sum_blocks(struct sum *s, const uint8_t *p, size_t nblocks)
{
    uint64_t v[8];

    memcpy(v, s->v, sizeof(v));
    for (size_t i = 0; i < nblocks; i++, p += 64) {
        uint64_t w[8];
        memcpy(w, p, sizeof(w));
        for (int j = 0; j < 8; j++) {
            v[j] = mix(v[j], w[j]);
        }
    }
    memcpy(s->v, v, sizeof(v));
}

static void sum_update(struct sum *s, const uint8_t *p, size_t n)
{
    s->len += n;
    if (s->ntail) {
        size_t take = 64 - s->ntail < n ? 64 - s->ntail : n;
        memcpy(s->tail + s->ntail, p, take);
        s->ntail += take;
        p += take;
        n -= take;
        if (s->ntail < 64) {
            return;
        }
        sum_blocks(s, s->tail, 1);
        s->ntail = 0;
    }
    sum_blocks(s, p, n / 64);
    p += n / 64 * 64;
    n %= 64;
    memcpy(s->tail, p, n);
    s->ntail = n;
}

static uint64_t sum_final(const struct sum *s)
{
    uint64_t h = s->len * P2;

    for (int i = 0; i < 8; i++) {
        h = rotl(h ^ (s->v[i] * P2), 27) * P1 + 0x85EBCA77C2B2AE63ull;
    }
    for (size_t i = 0; i < s->ntail; i++) {
        h = rotl(h ^ (s->tail[i] * 0x27D4EB2F165667C5ull), 11) * P1;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    return h;
}

/* ---- helpers ------------------------------------------------------------ */

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This process's user + system time: a busy machine stretches wall time,
 * not this. */
static double cpu_now(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int sys_fail(const char *what)
{
    fprintf(stderr, "xfer-peer: %s: %s\n", what, strerror(errno));
    return 1;
}

static int lib_fail(const char *what)
{
    fprintf(stderr, "xfer-peer: %s: %s\n", what, xmig_error_message());
    return 1;
}

static int resolve(const char *addr, struct addrinfo **res, int passive)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
    size_t n;

    if (!colon || (size_t)(colon - addr) >= sizeof(host)) {
        fprintf(stderr, "xfer-peer: '%s' is not HOST:PORT\n", addr);
        return -1;
    }
    n = (size_t)(colon - addr);
    if (addr[0] == '[' && n >= 2) {
        memcpy(host, addr + 1, n - 2);
        host[n - 2] = '\0';
    } else {
        memcpy(host, addr, n);
        host[n] = '\0';
    }
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    if (getaddrinfo(host, colon + 1, &hints, res) != 0) {
        fprintf(stderr, "xfer-peer: cannot resolve %s\n", addr);
        return -1;
    }
    return 0;
}

static void report(const char *role, struct xmig_transport *t, uint64_t bytes,
                   double t0, double t1, uint64_t sum)
{
    struct xmig_tls_info in;

    xmig_transport_tls_info(t, &in);
    printf("xfer-peer: %s mode=%s version=%s cipher=%s ktls_tx=%d "
           "ktls_rx=%d bytes=%llu seconds=%.6f start=%.6f end=%.6f "
           "sum=%016llx\n",
           role, xmig_tls_mode_name(in.mode), in.version[0] ? in.version : "-",
           in.cipher[0] ? in.cipher : "-", in.ktls_tx, in.ktls_rx,
           (unsigned long long)bytes, t1 - t0, t0, t1,
           (unsigned long long)sum);
    fflush(stdout);
}

/* ---- gen, sum ----------------------------------------------------------- */

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Pages like a running guest's: mostly incompressible, some zero pages,
 * some text-like, some with a repeated pattern.  TLS does not compress,
 * so this matters only for keeping the data honest. */
static void fill_page(uint8_t *p, uint64_t pfn, uint64_t *rng)
{
    uint64_t kind = (pfn * 0x9E3779B97F4A7C15ull) >> 60;   /* 0..15 */

    if (kind == 0) {
        memset(p, 0, PAGE);
    } else if (kind == 1) {
        static const char text[] = "The quick brown fox jumps over the "
                                   "lazy dog; guest kernel log line. ";
        for (unsigned i = 0; i < PAGE; i++) {
            p[i] = (uint8_t)text[(i + pfn) % (sizeof(text) - 1)];
        }
    } else if (kind == 2) {
        uint64_t w = xorshift(rng);
        for (unsigned i = 0; i < PAGE; i += 8) {
            memcpy(p + i, &w, 8);
        }
    } else {
        for (unsigned i = 0; i < PAGE; i += 8) {
            uint64_t w = xorshift(rng);
            memcpy(p + i, &w, 8);
        }
    }
}

static int do_gen(const char *file, const char *size_arg)
{
    uint64_t size = strtoull(size_arg, NULL, 0), rng = 0x243F6A8885A308D3ull;
    uint8_t *buf = malloc(1u << 20);
    struct sum s;
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0 || !buf || size == 0 || size % PAGE) {
        fprintf(stderr, "xfer-peer: gen %s %s: %s\n", file, size_arg,
                fd < 0 ? strerror(errno) : "size must be a multiple of 4096");
        return 1;
    }
    sum_init(&s);
    for (uint64_t done = 0; done < size;) {
        size_t n = size - done < (1u << 20) ? (size_t)(size - done) : 1u << 20;
        for (size_t off = 0; off < n; off += PAGE) {
            fill_page(buf + off, (done + off) / PAGE, &rng);
        }
        sum_update(&s, buf, n);
        for (size_t w = 0; w < n;) {
            ssize_t r = write(fd, buf + w, n - w);
            if (r <= 0) {
                return sys_fail("gen: write");
            }
            w += (size_t)r;
        }
        done += n;
    }
    if (close(fd) < 0) {
        return sys_fail("gen: close");
    }
    free(buf);
    printf("sum=%016llx bytes=%llu\n", (unsigned long long)sum_final(&s),
           (unsigned long long)size);
    return 0;
}

static int do_sum(const char *file)
{
    struct stat st;
    struct sum s;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    const uint8_t *p;
    double t0;

    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
        return sys_fail(file);
    }
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED | MAP_POPULATE,
             fd, 0);
    if (p == MAP_FAILED) {
        return sys_fail("mmap");
    }
    t0 = now();
    sum_init(&s);
    sum_update(&s, p, (size_t)st.st_size);
    printf("sum=%016llx bytes=%llu seconds=%.6f\n",
           (unsigned long long)sum_final(&s), (unsigned long long)st.st_size,
           now() - t0);
    munmap((void *)(uintptr_t)p, (size_t)st.st_size);
    close(fd);
    return 0;
}

/* The receiver's hash on data already in cache (as it is right after a
 * read): what it adds to every row, per GiB. */
static int do_hashspeed(const char *size_arg)
{
    uint64_t size = strtoull(size_arg, NULL, 0), rng = 1;
    size_t blk = 64u << 10;
    uint8_t *buf = malloc(blk);
    struct sum s;
    double t0;

    if (!buf || size == 0) {
        return 1;
    }
    for (size_t i = 0; i < blk; i += PAGE) {
        fill_page(buf + i, 3 + i / PAGE * 16, &rng);
    }
    sum_init(&s);
    t0 = cpu_now();
    for (uint64_t done = 0; done < size; done += blk) {
        sum_update(&s, buf, blk);
    }
    printf("sum=%016llx bytes=%llu cpu_seconds=%.6f\n",
           (unsigned long long)sum_final(&s), (unsigned long long)size,
           cpu_now() - t0);
    free(buf);
    return 0;
}

/* ---- send, recv --------------------------------------------------------- */

struct opts {
    const char *addr, *port_file;
    int sendfile, nodelay;
    size_t chunk;
    struct xmig_tls_config *tls;
};

/* --nodelay: TCP_NODELAY before the handshake (an experiment: xmig's
 * transports leave the socket's options as they find them). */
static void nodelay(const struct opts *o, int fd)
{
    int one = 1;

    if (o->nodelay) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
}

static int do_send(struct opts *o, const char *file)
{
    struct addrinfo *ai;
    struct xmig_transport *t;
    struct stat st;
    const uint8_t *map;
    uint64_t size;
    double t0;
    int fd, s;

    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
        return sys_fail(file);
    }
    size = (uint64_t)st.st_size;
    /* Mapped up front, like guest memory a sender has mapped already. */
    map = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd,
               0);
    if (map == MAP_FAILED) {
        return sys_fail("mmap");
    }
    if (resolve(o->addr, &ai, 0) < 0) {
        return 1;
    }
    t0 = now();
    s = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, ai->ai_addr, ai->ai_addrlen) < 0) {
        fprintf(stderr, "xfer-peer: connect %s: %s\n", o->addr,
                strerror(errno));
        return 1;
    }
    freeaddrinfo(ai);
    nodelay(o, s);
    t = xmig_transport_tls_client(s, o->tls);
    if (!t) {
        return lib_fail("handshake");
    }
    if (o->sendfile) {
        if (xmig_transport_sendfile(t, fd, 0, (size_t)size) < 0) {
            return lib_fail("sendfile");
        }
    } else {
        for (uint64_t off = 0; off < size;) {
            size_t n = size - off < o->chunk ? (size_t)(size - off) : o->chunk;
            if (xmig_transport_write(t, map + off, n) < 0) {
                return lib_fail("write");
            }
            off += n;
        }
    }
    if (xmig_transport_finish(t) < 0) {
        return lib_fail("finish");
    }
    /* Plain TCP has no close_notify: the end of the stream is a FIN. */
    shutdown(s, SHUT_WR);
    report("send", t, xmig_transport_bytes_out(t), t0, now(), 0);
    /* Wait for the receiver to close, so the sender's rusage covers
     * everything it does for this transfer. */
    {
        char c;
        while (xmig_transport_read(t, &c, 1) > 0) {
        }
    }
    xmig_transport_free(t);
    munmap((void *)(uintptr_t)map, (size_t)size);
    close(fd);
    return 0;
}

static int listen_on(struct opts *o)
{
    struct addrinfo *ai;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int l, one = 1;
    char host[NI_MAXHOST], serv[NI_MAXSERV];

    if (resolve(o->addr, &ai, 1) < 0) {
        return -1;
    }
    l = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one,
                            sizeof(one)) < 0 ||
        bind(l, ai->ai_addr, ai->ai_addrlen) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&ss, &sl) < 0) {
        fprintf(stderr, "xfer-peer: listen %s: %s\n", o->addr,
                strerror(errno));
        return -1;
    }
    freeaddrinfo(ai);
    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv,
                sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
    if (o->port_file) {
        char tmp[4096];
        FILE *f;
        snprintf(tmp, sizeof(tmp), "%s.tmp", o->port_file);
        f = fopen(tmp, "w");
        if (!f || fprintf(f, "%s\n", serv) < 0 || fclose(f) != 0 ||
            rename(tmp, o->port_file) != 0) {
            sys_fail("port file");
            close(l);
            return -1;
        }
    }
    return l;
}

static int do_recv(struct opts *o)
{
    struct xmig_transport *t;
    uint8_t *buf = malloc(o->chunk);
    uint64_t got = 0;
    struct sum s;
    double t0;
    int l = listen_on(o), fd;
    long n;

    if (l < 0 || !buf) {
        return 1;
    }
    fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    close(l);
    if (fd < 0) {
        return sys_fail("accept");
    }
    t0 = now();
    nodelay(o, fd);
    t = xmig_transport_tls_server(fd, o->tls);
    if (!t) {
        return lib_fail("handshake");
    }
    sum_init(&s);
    while ((n = xmig_transport_read(t, buf, o->chunk)) > 0) {
        sum_update(&s, buf, (size_t)n);
        got += (uint64_t)n;
    }
    if (n < 0) {
        return lib_fail("read");
    }
    report("recv", t, got, t0, now(), sum_final(&s));
    xmig_transport_free(t);
    free(buf);
    return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        { "connect", required_argument, NULL, 'c' },
        { "listen", required_argument, NULL, 'l' },
        { "port-file", required_argument, NULL, 'P' },
        { "tls", required_argument, NULL, 't' },
        { "cert", required_argument, NULL, 'C' },
        { "key", required_argument, NULL, 'K' },
        { "ca", required_argument, NULL, 'A' },
        { "name", required_argument, NULL, 'n' },
        { "tls-version", required_argument, NULL, 'v' },
        { "cipher", required_argument, NULL, 'x' },
        { "sendfile", no_argument, NULL, 's' },
        { "chunk", required_argument, NULL, 'k' },
        { "nodelay", no_argument, NULL, 'N' },
        { NULL, 0, NULL, 0 },
    };
    const char *cert = NULL, *key = NULL;
    enum xmig_tls_mode mode;
    int opt, rc = 0;

    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (opt) {
        case 'c':
        case 'l':
            o->addr = optarg;
            break;
        case 'P':
            o->port_file = optarg;
            break;
        case 't':
            rc = xmig_tls_mode_parse(optarg, &mode);
            rc = rc < 0 ? rc : xmig_tls_config_set_mode(o->tls, mode);
            break;
        case 'C':
            cert = optarg;
            break;
        case 'K':
            key = optarg;
            break;
        case 'A':
            rc = xmig_tls_config_set_ca(o->tls, optarg);
            break;
        case 'n':
            rc = xmig_tls_config_set_peer_name(o->tls, optarg);
            break;
        case 'v': {
            int v = strcmp(optarg, "1.3") == 0 ? 0x0304 : 0x0303;
            rc = xmig_tls_config_set_versions(o->tls, v, v);
            break;
        }
        case 'x':
            rc = xmig_tls_config_set_cipher(o->tls, optarg);
            break;
        case 's':
            o->sendfile = 1;
            break;
        case 'N':
            o->nodelay = 1;
            break;
        case 'k':
            o->chunk = (size_t)strtoul(optarg, NULL, 0);
            break;
        default:
            return -1;
        }
        if (rc < 0) {
            return lib_fail("option");
        }
    }
    if (cert && xmig_tls_config_set_identity(o->tls, cert, key) < 0) {
        return lib_fail("option");
    }
    return o->addr && o->chunk ? 0 : -1;
}

/* ---- time, freeport, waitlisten ----------------------------------------- */

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
    if (child_pid > 0) {
        kill((pid_t)child_pid, sig);
    }
}

static int do_time(const char *out, char **argv)
{
    struct sigaction sa = { .sa_handler = forward };
    struct rusage ru;
    int status, rc;
    double t0 = now();
    pid_t pid, w;
    FILE *f;

    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    pid = fork();
    if (pid < 0) {
        return sys_fail("fork");
    }
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        execvp(argv[0], argv);
        fprintf(stderr, "xfer-peer: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    child_pid = pid;
    do {
        w = wait4(pid, &status, 0, &ru);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
        return sys_fail("wait4");
    }
    rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    f = fopen(out, "w");
    if (!f || fprintf(f, "%d %.6f %.6f %.6f\n", rc,
                      (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
                      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
                      now() - t0) < 0 ||
        fclose(f) != 0) {
        return sys_fail(out);
    }
    return rc;
}

static int do_freeport(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) < 0) {
        return sys_fail("freeport");
    }
    printf("%d\n", ntohs(a.sin_port));
    close(s);
    return 0;
}

static int listening(unsigned port)
{
    char line[512];
    FILE *f = fopen("/proc/net/tcp", "r");
    int found = 0;

    if (!f) {
        return 0;
    }
    while (!found && fgets(line, sizeof(line), f)) {
        unsigned lport, state;
        if (sscanf(line, " %*d: %*x:%x %*x:%*x %x", &lport, &state) == 2 &&
            lport == port && state == 0x0A) {
            found = 1;
        }
    }
    fclose(f);
    return found;
}

static int do_waitlisten(const char *port, const char *secs)
{
    double end = now() + atof(secs);

    while (!listening((unsigned)atoi(port))) {
        if (now() > end) {
            fprintf(stderr, "xfer-peer: nothing listens on port %s after "
                            "%s s\n", port, secs);
            return 1;
        }
        usleep(20000);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = { .chunk = 1u << 20 };
    int rc;

    if (argc >= 4 && strcmp(argv[1], "gen") == 0) {
        return do_gen(argv[2], argv[3]);
    }
    if (argc == 3 && strcmp(argv[1], "hashspeed") == 0) {
        return do_hashspeed(argv[2]);
    }
    if (argc == 3 && strcmp(argv[1], "sum") == 0) {
        return do_sum(argv[2]);
    }
    if (argc >= 4 && strcmp(argv[1], "time") == 0) {
        return do_time(argv[2], argv + 3);
    }
    if (argc == 2 && strcmp(argv[1], "freeport") == 0) {
        return do_freeport();
    }
    if (argc == 4 && strcmp(argv[1], "waitlisten") == 0) {
        return do_waitlisten(argv[2], argv[3]);
    }
    if (argc < 2 || (strcmp(argv[1], "send") != 0 &&
                     strcmp(argv[1], "recv") != 0)) {
        fprintf(stderr, "usage: xfer-peer gen|sum|send|recv|time|freeport|"
                        "waitlisten ... (see bench/xfer_peer.c)\n");
        return 2;
    }
    o.tls = xmig_tls_config_create();
    if (!o.tls || parse(argc - 1, argv + 1, &o) != 0 ||
        (argv[1][0] == 's' && optind != argc - 2) ||
        (argv[1][0] == 'r' && optind != argc - 1)) {
        fprintf(stderr, "usage: xfer-peer send --connect H:P [opts] FILE | "
                        "recv --listen H:P [--port-file F] [opts]\n");
        return 2;
    }
    rc = argv[1][0] == 's' ? do_send(&o, argv[argc - 1]) : do_recv(&o);
    xmig_tls_config_free(o.tls);
    return rc;
}
