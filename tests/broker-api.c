/*
 * The broker's library calls through the public header and libxmig.so
 * alone: xmig_tls_broker_client/server on loopback give two descriptors
 * that are plain sockets to their holders; a stream crosses both ways at
 * once; xmig_tls_socket_release refuses a userspace session; with
 * XMIG_TLS_KTLS on a kernel without TLS the broker fails naming kernel TLS.
 *
 *   broker-api CERTDIR     exit 0 when every check held
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <xmig.h>

#define UP_LEN (3u << 20)
#define DOWN_LEN (2u << 20)

static const char *certs;
static int failures;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    failures += !ok;
}

static struct xmig_tls_config *config(const char *who, enum xmig_tls_mode m)
{
    struct xmig_tls_config *c = xmig_tls_config_create();
    char cert[512], key[512], ca[512];

    snprintf(cert, sizeof(cert), "%s/%s.pem", certs, who);
    snprintf(key, sizeof(key), "%s/%s-key.pem", certs, who);
    snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
    if (!c || xmig_tls_config_set_identity(c, cert, key) < 0 ||
        xmig_tls_config_set_ca(c, ca) < 0 ||
        xmig_tls_config_set_mode(c, m) < 0) {
        fprintf(stderr, "broker-api: config: %s\n", xmig_error_message());
        exit(2);
    }
    return c;
}

/* A loopback listener and a connected pair of TCP sockets. */
static void tcp_pair(int *client, int *server)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t alen = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *client = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || *client < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) ||
        listen(l, 1) || getsockname(l, (struct sockaddr *)&a, &alen) ||
        connect(*client, (struct sockaddr *)&a, sizeof(a)) ||
        (*server = accept(l, NULL, NULL)) < 0) {
        perror("broker-api: loopback");
        exit(2);
    }
    close(l);
}

struct side {
    int fd;                        /* TCP in, broker descriptor out */
    struct xmig_tls_config *c;
    struct xmig_tls_info info;
    int server;
    char error[512];               /* the handshake thread's error */
};

static void *handshake(void *arg)
{
    struct side *s = arg;

    s->fd = s->server ? xmig_tls_broker_server(s->fd, s->c, &s->info)
                      : xmig_tls_broker_client(s->fd, s->c, &s->info);
    if (s->fd < 0) {
        snprintf(s->error, sizeof(s->error), "%s", xmig_error_message());
    }
    return NULL;
}

struct tside {
    int fd;
    struct xmig_tls_config *c;
    struct xmig_transport *t;
    int server;
};

static void *thandshake(void *arg)
{
    struct tside *s = arg;

    s->t = s->server ? xmig_transport_tls_server(s->fd, s->c)
                     : xmig_transport_tls_client(s->fd, s->c);
    return NULL;
}

struct pump {
    int fd;
    const unsigned char *data;
    size_t len;
    int ok;
};

static void *send_all(void *arg)
{
    struct pump *p = arg;
    size_t off = 0;

    while (off < p->len) {
        ssize_t n = write(p->fd, p->data + off, p->len - off);
        if (n <= 0) {
            return NULL;
        }
        off += (size_t)n;
    }
    p->ok = shutdown(p->fd, SHUT_WR) == 0;
    return NULL;
}

/* Everything until EOF equals want[0..len). */
static int receive_equal(int fd, const unsigned char *want, size_t len)
{
    unsigned char buf[65536];
    size_t got = 0;
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        if (got + (size_t)n > len || memcmp(buf, want + got, (size_t)n)) {
            return 0;
        }
        got += (size_t)n;
    }
    return n == 0 && got == len;
}

static void run_pair(enum xmig_tls_mode mode, struct side *cl,
                     struct side *sv)
{
    pthread_t a, b;

    memset(cl, 0, sizeof(*cl));
    memset(sv, 0, sizeof(*sv));
    tcp_pair(&cl->fd, &sv->fd);
    cl->c = config("client", mode);
    sv->c = config("server", mode);
    sv->server = 1;
    pthread_create(&a, NULL, handshake, cl);
    pthread_create(&b, NULL, handshake, sv);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
}

int main(int argc, char **argv)
{
    unsigned char *up = malloc(UP_LEN), *down = malloc(DOWN_LEN);
    struct side cl, sv;
    struct pump pu, pd;
    pthread_t a, b;
    int kernel_tls;

    if (argc != 2 || !up || !down) {
        fprintf(stderr, "usage: broker-api CERTDIR\n");
        return 2;
    }
    certs = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    alarm(60);
    for (size_t i = 0; i < UP_LEN; i++) {
        up[i] = (unsigned char)(i * 7 + (i >> 13));
    }
    for (size_t i = 0; i < DOWN_LEN; i++) {
        down[i] = (unsigned char)(i * 13 + (i >> 11));
    }

    run_pair(XMIG_TLS_AUTO, &cl, &sv);
    check(cl.fd >= 0 && sv.fd >= 0, "auto: both brokers give a descriptor");
    if (cl.fd < 0 || sv.fd < 0) {
        return 1;
    }
    kernel_tls = cl.info.mode == XMIG_TLS_KTLS;
    if (kernel_tls) {
        char ulp[2][16] = { "", "" };
        socklen_t l0 = sizeof(ulp[0]), l1 = sizeof(ulp[1]);
        getsockopt(cl.fd, IPPROTO_TCP, TCP_ULP, ulp[0], &l0);
        getsockopt(sv.fd, IPPROTO_TCP, TCP_ULP, ulp[1], &l1);
        check(strcmp(ulp[0], "tls") == 0 && strcmp(ulp[1], "tls") == 0 &&
                  cl.info.ktls_tx && cl.info.ktls_rx && sv.info.ktls_tx &&
                  sv.info.ktls_rx,
              "kernel TLS: both descriptors are the kernel's TLS sockets");
    }
    printf("broker-api: mode %s, %s %s\n", kernel_tls ? "ktls" : "userspace",
           cl.info.version, cl.info.cipher);
    check(cl.info.mode == sv.info.mode &&
              (kernel_tls || cl.info.mode == XMIG_TLS_USERSPACE),
          "auto: both ends report the same mode (ktls or userspace)");
    check(strstr(sv.info.peer_subject, "CN=xmig-client") != NULL,
          "the server's info names the client certificate");
    pu = (struct pump){ cl.fd, up, UP_LEN, 0 };
    pd = (struct pump){ sv.fd, down, DOWN_LEN, 0 };
    pthread_create(&a, NULL, send_all, &pu);
    pthread_create(&b, NULL, send_all, &pd);
    check(receive_equal(sv.fd, up, UP_LEN), "3 MiB client -> server intact");
    check(receive_equal(cl.fd, down, DOWN_LEN),
          "2 MiB server -> client intact, at the same time");
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    check(pu.ok && pd.ok, "each side ended its direction with shutdown");
    close(cl.fd);
    close(sv.fd);
    xmig_tls_config_free(cl.c);   /* not needed after the handshake */
    xmig_tls_config_free(sv.c);

    /* A userspace session cannot be handed on; nor can a plain socket. */
    {
        struct tside u[2];
        struct xmig_transport *plain;
        int c, s, rc = -1;
        memset(u, 0, sizeof(u));
        tcp_pair(&u[0].fd, &u[1].fd);
        u[0].c = config("client", XMIG_TLS_USERSPACE);
        u[1].c = config("server", XMIG_TLS_USERSPACE);
        u[1].server = 1;
        pthread_create(&a, NULL, thandshake, &u[0]);
        pthread_create(&b, NULL, thandshake, &u[1]);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        check(u[0].t && (rc = xmig_tls_socket_release(u[0].t)) < 0 &&
                  xmig_error_category() == XMIG_ERR_UNSUPPORTED &&
                  strstr(xmig_error_message(), "relay") != NULL,
              "release refuses a userspace TLS session, pointing at relay");
        check(rc < 0 && xmig_transport_write(u[0].t, "x", 1) == 0 &&
                  u[1].t && xmig_transport_read(u[1].t, &c, 1) == 1,
              "... and leaves the transport working");
        if (rc < 0) {   /* else it is gone */
            xmig_transport_free(u[0].t);
        }
        xmig_transport_free(u[1].t);
        xmig_tls_config_free(u[0].c);
        xmig_tls_config_free(u[1].c);
        tcp_pair(&c, &s);
        close(s);
        plain = xmig_transport_fd(c, 1);
        check(plain && xmig_tls_socket_release(plain) < 0 &&
                  xmig_error_category() == XMIG_ERR_USAGE,
              "release refuses a transport that is not TLS");
        xmig_transport_free(plain);
    }

    run_pair(XMIG_TLS_KTLS, &cl, &sv);
    if (kernel_tls) {
        check(cl.fd >= 0 && sv.fd >= 0 && cl.info.mode == XMIG_TLS_KTLS,
              "ktls: the kernel's sockets are handed out");
    } else {
        check(cl.fd < 0 && sv.fd < 0, "ktls without kernel TLS: refused");
        check(strstr(cl.error, "--tls=ktls: kernel TLS is not available") &&
                  strstr(sv.error, "--tls=ktls: kernel TLS is not available"),
              "ktls: both errors name kernel TLS");
    }
    if (cl.fd >= 0) {
        close(cl.fd);
    }
    if (sv.fd >= 0) {
        close(sv.fd);
    }
    xmig_tls_config_free(cl.c);
    xmig_tls_config_free(sv.c);
    free(up);
    free(down);
    printf("broker-api: %s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
