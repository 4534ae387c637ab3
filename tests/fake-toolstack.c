/*
 * fake-toolstack: the toolstack end of xmig's TLS socket broker, for tests.
 *
 *   fake-toolstack SOCKET SEND RECV [--expect-ktls]
 *       listen on the Unix socket SOCKET, take one connection, receive a
 *       descriptor (SCM_RIGHTS) and its one-line description, then move a
 *       stream both ways through the descriptor: SEND out (then
 *       shutdown(SHUT_WR)), everything that arrives into RECV.
 *   fake-toolstack --stdio SEND RECV
 *       the same through stdin (read) and stdout (written), as a command
 *       the broker runs with --exec.
 *
 * Prints "fake-toolstack: desc=<line>" on stderr and, at the end,
 * "fake-toolstack: sent=N received=M ulp=tls|none tx=VERSION/CIPHER|-
 * rx=..." on stdout (stderr under --stdio).  With --expect-ktls
 * the descriptor (stdin under --stdio) must carry the kernel's TLS record
 * layer both ways; on such a socket the stream ends with a close_notify
 * alert each way, as a toolstack holding a raw kTLS socket should end it.
 * Every wait is bounded (alarm, 120 s).  Exit 0 when all went through.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

struct sender {
    int fd, out;
    int ktls;          /* out carries the kernel's TLS record layer */
    const char *path;
    long long sent;
    int err;
};

/* On a raw kernel TLS socket, the end of what we send is a close_notify
 * alert (TLS record type 21: level warning, description 0), sent as a
 * record of its own through a control message; then the FIN. */
static int send_close_notify(int fd)
{
    unsigned char alert[2] = { 1, 0 }, type = 21;
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(type))];
    } ctl;
    struct iovec iov = { alert, sizeof(alert) };
    struct msghdr msg = { 0 };
    struct cmsghdr *c;

    memset(&ctl, 0, sizeof(ctl));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof(ctl.buf);
    c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_TLS;
    c->cmsg_type = TLS_SET_RECORD_TYPE;
    c->cmsg_len = CMSG_LEN(sizeof(type));
    memcpy(CMSG_DATA(c), &type, sizeof(type));
    return sendmsg(fd, &msg, MSG_NOSIGNAL) == (ssize_t)sizeof(alert) ? 0 : -1;
}

/* Read from a raw kernel TLS socket: application data as usual; a record
 * of another type comes with its type in a control message (without one,
 * read(2) fails with EIO).  A close_notify alert is the end: 0. */
static ssize_t ktls_read(int fd, unsigned char *buf, size_t len)
{
    unsigned char type = 23;
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(type))];
    } ctl;
    struct iovec iov = { buf, len };
    struct msghdr msg = { 0 };
    struct cmsghdr *c;
    ssize_t n;

    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof(ctl.buf);
    n = recvmsg(fd, &msg, 0);
    if (n <= 0) {
        return n;
    }
    for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_TLS && c->cmsg_type == TLS_GET_RECORD_TYPE) {
            memcpy(&type, CMSG_DATA(c), sizeof(type));
        }
    }
    if (type == 23) {
        return n;
    }
    if (type == 21 && n >= 2 && buf[1] == 0) {
        return 0;
    }
    fprintf(stderr, "fake-toolstack: a TLS record of type %u (%02x %02x) "
            "where data or close_notify was due\n", type, buf[0],
            n > 1 ? buf[1] : 0);
    errno = EPROTO;
    return -1;
}

static void *send_all(void *arg)
{
    struct sender *s = arg;
    char buf[65536];
    int in = open(s->path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (in < 0) {
        s->err = errno;
        return NULL;
    }
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(s->out, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR) {
                    continue;
                }
                s->err = errno;
                close(in);
                return NULL;
            }
            off += w;
            s->sent += w;
        }
    }
    if (n < 0) {
        s->err = errno;
    }
    close(in);
    if (s->ktls && !s->err && send_close_notify(s->out) < 0) {
        s->err = errno;
    }
    /* The end of what we send; a socket keeps its other direction. */
    if (shutdown(s->out, SHUT_WR) < 0 && errno == ENOTSOCK) {
        close(s->out);
    }
    return NULL;
}

/* Receive one descriptor and the description line that comes with it. */
static int take_fd(const char *path, char *desc, size_t dlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov = { desc, dlen - 1 };
    struct msghdr msg = { 0 };
    struct cmsghdr *c;
    int l, s, fd = -1;
    ssize_t n;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "fake-toolstack: socket path too long\n");
        return -1;
    }
    strcpy(sa.sun_path, path);
    unlink(path);
    l = socket(AF_UNIX, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(l, 1) < 0) {
        fprintf(stderr, "fake-toolstack: %s: %s\n", path, strerror(errno));
        return -1;
    }
    s = accept(l, NULL, NULL);
    close(l);
    unlink(path);
    if (s < 0) {
        fprintf(stderr, "fake-toolstack: accept: %s\n", strerror(errno));
        return -1;
    }
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof(ctl.buf);
    n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
    close(s);
    if (n <= 0) {
        fprintf(stderr, "fake-toolstack: no message from the broker (%s)\n",
                n < 0 ? strerror(errno) : "it closed");
        return -1;
    }
    desc[n] = '\0';
    desc[strcspn(desc, "\n")] = '\0';
    for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int))) {
            memcpy(&fd, CMSG_DATA(c), sizeof(int));
        }
    }
    if (fd < 0 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        fprintf(stderr, "fake-toolstack: the message carried no descriptor"
                "%s\n", msg.msg_flags ? " (truncated)" : "");
        return -1;
    }
    return fd;
}

/* What the kernel says about fd's TLS: "tls"/"none", "1.2/aes-gcm-128"... */
static int ktls_state(int fd, char *ulp, size_t ulen, char *tx, size_t tlen,
                      char *rx, size_t rlen)
{
    struct tls_crypto_info ci;
    socklen_t len = (socklen_t)ulen;
    int both = 1;

    if (getsockopt(fd, IPPROTO_TCP, TCP_ULP, ulp, &len) < 0 || !ulp[0]) {
        snprintf(ulp, ulen, "none");
    }
    for (int dir = 0; dir < 2; dir++) {
        char *out = dir ? rx : tx;
        size_t olen = dir ? rlen : tlen;
        len = sizeof(ci);
        if (getsockopt(fd, SOL_TLS, dir ? TLS_RX : TLS_TX, &ci, &len) < 0) {
            snprintf(out, olen, "-");
            both = 0;
            continue;
        }
        snprintf(out, olen, "%s/%s",
                 ci.version == TLS_1_2_VERSION   ? "1.2"
                 : ci.version == TLS_1_3_VERSION ? "1.3"
                                                 : "?",
                 ci.cipher_type == TLS_CIPHER_AES_GCM_128   ? "aes-gcm-128"
                 : ci.cipher_type == TLS_CIPHER_AES_GCM_256 ? "aes-gcm-256"
                                                            : "other");
    }
    return both;
}

int main(int argc, char **argv)
{
    char desc[4096] = "", ulp[16] = "", tx[32] = "-", rx[32] = "-";
    char buf[65536];
    struct sender snd = { 0 };
    pthread_t th;
    long long received = 0;
    int stdio = argc > 1 && strcmp(argv[1], "--stdio") == 0;
    int expect_ktls = argc > 4 && strcmp(argv[4], "--expect-ktls") == 0;
    int in_fd, out, ktls = 0;
    ssize_t n;

    if (argc < 4) {
        fprintf(stderr, "usage: fake-toolstack SOCKET|--stdio SEND RECV "
                "[--expect-ktls]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    alarm(120);
    if (stdio) {
        in_fd = STDIN_FILENO;
        snd.out = STDOUT_FILENO;
        snprintf(desc, sizeof(desc), "stdio");
    } else {
        in_fd = take_fd(argv[1], desc, sizeof(desc));
        if (in_fd < 0) {
            return 1;
        }
        snd.out = in_fd;
    }
    ktls = ktls_state(in_fd, ulp, sizeof(ulp), tx, sizeof(tx), rx,
                      sizeof(rx));
    snd.ktls = ktls;
    fprintf(stderr, "fake-toolstack: desc=%s\n", desc);
    if (expect_ktls && !ktls) {
        fprintf(stderr, "fake-toolstack: the descriptor is not a kernel TLS "
                "socket both ways (ulp=%s tx=%s rx=%s)\n", ulp, tx, rx);
        return 1;
    }
    out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        fprintf(stderr, "fake-toolstack: %s: %s\n", argv[3], strerror(errno));
        return 1;
    }
    snd.path = argv[2];
    if (pthread_create(&th, NULL, send_all, &snd) != 0) {
        fprintf(stderr, "fake-toolstack: pthread_create failed\n");
        return 1;
    }
    while ((n = ktls ? ktls_read(in_fd, (unsigned char *)buf, sizeof(buf))
                     : read(in_fd, buf, sizeof(buf))) != 0) {
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fprintf(stderr, "fake-toolstack: read: %s\n", strerror(errno));
            return 1;
        }
        if (write(out, buf, (size_t)n) != n) {
            fprintf(stderr, "fake-toolstack: %s: %s\n", argv[3],
                    strerror(errno));
            return 1;
        }
        received += n;
    }
    pthread_join(th, NULL);
    close(out);
    if (snd.err) {
        fprintf(stderr, "fake-toolstack: sending %s: %s\n", argv[2],
                strerror(snd.err));
        return 1;
    }
    /* Under --stdio, stdout is the connection: the report goes to
     * stderr. */
    fprintf(stdio ? stderr : stdout,
            "fake-toolstack: sent=%lld received=%lld ulp=%s tx=%s rx=%s\n",
            snd.sent, received, ulp, tx, rx);
    return 0;
}
