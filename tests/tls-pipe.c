/*
 * tls-pipe: one end of an xmig TLS transport, for interop tests (stunnel),
 * the kTLS VM rig and the transport benchmark.
 *
 *   tls-pipe send --connect HOST:PORT [opts] FILE
 *   tls-pipe recv --listen HOST:PORT [--port-file F] [opts] OUT|-
 *   opts: --tls auto|ktls|userspace|none --cert F --key F --ca F
 *         --pin SHA256 --name N --insecure --tls-version 1.2|1.3
 *         --cipher NAME --sendfile --chunk N
 *
 * Both ends print one line: "tls-pipe: <role> mode=... version=...
 * cipher=... ktls_tx=. ktls_rx=. bytes=N seconds=S sum=HEX peer=...",
 * and exit 1 with the transport's error message on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xmig.h"

struct opts {
    const char *addr, *port_file;
    int sendfile;
    size_t chunk;
    struct xmig_tls_config *tls;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 0x100000001b3ull;
    }
    return h;
}

static int die(const char *what)
{
    fprintf(stderr, "tls-pipe: %s: %s\n", what, xmig_error_message());
    return 1;
}

static int resolve(const char *addr, struct addrinfo **res, int passive)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
    size_t n;

    if (!colon || (size_t)(colon - addr) >= sizeof(host)) {
        fprintf(stderr, "tls-pipe: '%s' is not HOST:PORT\n", addr);
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
        fprintf(stderr, "tls-pipe: cannot resolve %s\n", addr);
        return -1;
    }
    return 0;
}

static void report(const char *role, struct xmig_transport *t, uint64_t bytes,
                   double secs, uint64_t sum)
{
    struct xmig_tls_info in;

    xmig_transport_tls_info(t, &in);
    printf("tls-pipe: %s mode=%s version=%s cipher=%s ktls_tx=%d ktls_rx=%d "
           "bytes=%llu seconds=%.3f sum=%016llx peer=%s\n",
           role, xmig_tls_mode_name(in.mode), in.version[0] ? in.version : "-",
           in.cipher[0] ? in.cipher : "-", in.ktls_tx, in.ktls_rx,
           (unsigned long long)bytes, secs, (unsigned long long)sum, in.peer);
    fflush(stdout);
}

static int file_sum(int fd, uint64_t size, uint8_t *buf, size_t chunk,
                    uint64_t *sum)
{
    *sum = 0xcbf29ce484222325ull;
    for (uint64_t done = 0; done < size;) {
        ssize_t r = pread(fd, buf, chunk, (off_t)done);
        if (r <= 0) {
            return -1;
        }
        *sum = fnv(*sum, buf, (size_t)r);
        done += (uint64_t)r;
    }
    return 0;
}

static int do_send(struct opts *o, const char *file)
{
    struct addrinfo *ai;
    struct xmig_transport *t;
    struct stat st;
    uint8_t *buf = malloc(o->chunk);
    uint64_t sum, sent = 0;
    double t0;
    int fd, s;

    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (!buf || fd < 0 || fstat(fd, &st) < 0 ||
        file_sum(fd, (uint64_t)st.st_size, buf, o->chunk, &sum) < 0) {
        fprintf(stderr, "tls-pipe: %s: %s\n", file, strerror(errno));
        return 1;
    }
    if (resolve(o->addr, &ai, 0) < 0) {
        return 1;
    }
    s = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, ai->ai_addr, ai->ai_addrlen) < 0) {
        fprintf(stderr, "tls-pipe: connect %s: %s\n", o->addr, strerror(errno));
        return 1;
    }
    freeaddrinfo(ai);
    t0 = now();
    t = xmig_transport_tls_client(s, o->tls);
    if (!t) {
        return die("handshake");
    }
    if (o->sendfile) {
        if (xmig_transport_sendfile(t, fd, 0, (size_t)st.st_size) < 0) {
            return die("sendfile");
        }
        sent = (uint64_t)st.st_size;
    }
    while (sent < (uint64_t)st.st_size) {
        ssize_t r = pread(fd, buf, o->chunk, (off_t)sent);
        if (r <= 0 || xmig_transport_write(t, buf, (size_t)r) < 0) {
            return r <= 0 ? 1 : die("write");
        }
        sent += (uint64_t)r;
    }
    if (xmig_transport_finish(t) < 0) {
        return die("finish");
    }
    report("send", t, sent, now() - t0, sum);
    xmig_transport_free(t);
    close(fd);
    free(buf);
    return 0;
}

static int listen_on(struct opts *o)
{
    struct addrinfo *ai;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int l, one = 1, port;
    char host[NI_MAXHOST], serv[NI_MAXSERV];

    if (resolve(o->addr, &ai, 1) < 0) {
        return -1;
    }
    l = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (l < 0 || bind(l, ai->ai_addr, ai->ai_addrlen) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&ss, &sl) < 0) {
        fprintf(stderr, "tls-pipe: listen %s: %s\n", o->addr, strerror(errno));
        return -1;
    }
    freeaddrinfo(ai);
    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv,
                sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
    port = atoi(serv);
    if (o->port_file) {
        char tmp[4096];
        FILE *f;
        snprintf(tmp, sizeof(tmp), "%s.tmp", o->port_file);
        f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
            rename(tmp, o->port_file) != 0) {
            fprintf(stderr, "tls-pipe: port file: %s\n", strerror(errno));
            return -1;
        }
    }
    return l;
}

static int do_recv(struct opts *o, const char *out)
{
    struct xmig_transport *t;
    uint8_t *buf = malloc(o->chunk);
    uint64_t sum = 0xcbf29ce484222325ull, got = 0;
    double t0;
    int l = listen_on(o), s, ofd = -1;
    long n;

    if (l < 0 || !buf) {
        return 1;
    }
    s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    close(l);
    if (s < 0) {
        fprintf(stderr, "tls-pipe: accept: %s\n", strerror(errno));
        return 1;
    }
    if (strcmp(out, "-") != 0) {
        ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (ofd < 0) {
            fprintf(stderr, "tls-pipe: %s: %s\n", out, strerror(errno));
            return 1;
        }
    }
    t0 = now();
    t = xmig_transport_tls_server(s, o->tls);
    if (!t) {
        return die("handshake");
    }
    while ((n = xmig_transport_read(t, buf, o->chunk)) > 0) {
        sum = fnv(sum, buf, (size_t)n);
        got += (uint64_t)n;
        if (ofd >= 0 && write(ofd, buf, (size_t)n) != n) {
            fprintf(stderr, "tls-pipe: write %s: %s\n", out, strerror(errno));
            return 1;
        }
    }
    if (n < 0) {
        return die("read");
    }
    report("recv", t, got, now() - t0, sum);
    xmig_transport_free(t);
    if (ofd >= 0) {
        close(ofd);
    }
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
        { "pin", required_argument, NULL, 'p' },
        { "name", required_argument, NULL, 'n' },
        { "insecure", no_argument, NULL, 'i' },
        { "tls-version", required_argument, NULL, 'v' },
        { "cipher", required_argument, NULL, 'x' },
        { "sendfile", no_argument, NULL, 's' },
        { "chunk", required_argument, NULL, 'k' },
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
        case 'p':
            rc = xmig_tls_config_add_pin(o->tls, optarg);
            break;
        case 'n':
            rc = xmig_tls_config_set_peer_name(o->tls, optarg);
            break;
        case 'i':
            rc = xmig_tls_config_set_insecure(o->tls, 1);
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
        case 'k':
            o->chunk = (size_t)strtoul(optarg, NULL, 0);
            break;
        default:
            return -1;
        }
        if (rc < 0) {
            return die("option");
        }
    }
    if (cert && xmig_tls_config_set_identity(o->tls, cert, key) < 0) {
        return die("option");
    }
    return o->addr && optind == argc - 1 && o->chunk ? 0 : -1;
}

int main(int argc, char **argv)
{
    /* A peer hanging up is an error to report, not a reason to die. */
    signal(SIGPIPE, SIG_IGN);
    struct opts o = { NULL, NULL, 0, 1u << 20, xmig_tls_config_create() };
    int rc;

    if (argc < 2 || !o.tls) {
        fprintf(stderr, "usage: tls-pipe send|recv ...\n");
        return 2;
    }
    if (parse(argc - 1, argv + 1, &o) != 0) {
        fprintf(stderr, "usage: tls-pipe send --connect H:P [opts] FILE | "
                        "recv --listen H:P [opts] OUT\n");
        return 2;
    }
    rc = strcmp(argv[1], "send") == 0 ? do_send(&o, argv[argc - 1])
                                      : do_recv(&o, argv[argc - 1]);
    xmig_tls_config_free(o.tls);
    return rc;
}
