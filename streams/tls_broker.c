/*
 * The TLS socket broker: after xmig's handshake, hand the connection on as
 * a plain socket.  With the kernel's record layer both ways the socket
 * itself goes (the kernel encrypts for whoever holds it); otherwise OpenSSL
 * holds the record state, and a relay copies between the TLS session and a
 * local descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/error.h"
#include "common/log.h"
#include "streams/tls_conn.h"
#include "streams/tls_policy.h"
#include "streams/transport.h"
#include "xmig.h"

#define RELAY_BUF (64u << 10)

/* fd in blocking mode, as a socket handed to another program should be;
 * the fd, or -1 with the error set (and fd closed). */
static int make_blocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        err_set(XMIG_ERR_IO, errno, "broker: making the socket blocking");
        close(fd);
        return -1;
    }
    return fd;
}

int xmig_tls_socket_release(struct xmig_transport *t)
{
    struct tls_conn *tc = tls_conn_of(t);
    int fd;

    if (!tc) {
        return err_set(XMIG_ERR_USAGE, 0, "not a TLS transport");
    }
    if (!tc->info.ktls_tx || !tc->info.ktls_rx) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "TLS with %s runs in "
                       "userspace (%s): OpenSSL holds the record state, so "
                       "the socket cannot be handed on (relay instead)",
                       tc->info.peer,
                       tc->info.fallback[0] ? tc->info.fallback
                                            : "kernel TLS not asked for");
    }
    if (tc->staged || tc->finished) {
        return err_set(XMIG_ERR_USAGE, 0, "TLS with %s: the transport was "
                       "used before the hand-off", tc->info.peer);
    }
    /* SSL_set_fd's BIO does not close the socket; the kernel keeps the
     * keys.  Nothing goes to the peer.  The transport waits with poll on
     * a non-blocking socket; whoever takes it expects an ordinary one. */
    fd = t->fd;
    t->owns_fd = 0;
    xmig_transport_free(t);
    return make_blocking(fd);
}

/* ---- relay ----------------------------------------------------------- */

struct dir {
    uint8_t *buf;
    size_t len, off;
    int eof;        /* the source ended */
    int done;       /* the end was passed on */
    int closed;     /* the local descriptor was closed to pass it on */
    int stopped;    /* the local side reads no more */
    int cut;        /* the peer ended without close_notify */
    uint64_t dropped;  /* octets the local side no longer read */
};

static int is_socket(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* One non-blocking-ish read from a local descriptor that poll said is
 * readable (sockets: MSG_DONTWAIT; pipes: read returns what is there). */
static ssize_t local_read(int fd, int sock, void *buf, size_t len)
{
    return sock ? recv(fd, buf, len, MSG_DONTWAIT) : read(fd, buf, len);
}

/* Write to a local descriptor without blocking the relay: a socket takes
 * MSG_DONTWAIT; a pipe that polled writable takes PIPE_BUF without
 * blocking. */
static ssize_t local_write(int fd, int sock, const void *buf, size_t len)
{
    if (sock) {
        return send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    return write(fd, buf, len < PIPE_BUF ? len : PIPE_BUF);
}

static int ssl_failed(struct tls_conn *tc, const char *what)
{
    char why[256];
    unsigned long e = ERR_get_error();

    if (e) {
        ERR_error_string_n(e, why, sizeof(why));
    } else {
        snprintf(why, sizeof(why), "%s", errno ? strerror(errno)
                                               : "connection closed");
    }
    ERR_clear_error();
    return err_set(XMIG_ERR_IO, 0, "relay: TLS %s %s: %s", what,
                   tc->info.peer, why);
}

/* SSL_read into d: 1 progress, 0 wait (*want: POLLIN/POLLOUT), -1 error. */
static int tls_pull(struct xmig_transport *t, struct tls_conn *tc,
                    struct dir *d, short *want)
{
    size_t n = 0;
    int e;

    ERR_clear_error();
    errno = 0;
    if (SSL_read_ex(tc->ssl, d->buf, RELAY_BUF, &n) == 1) {
        d->len = n;
        d->off = 0;
        t->bytes_in += n;
        return 1;
    }
    e = SSL_get_error(tc->ssl, 0);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        *want |= POLLIN;
        return 0;
    case SSL_ERROR_WANT_WRITE:
        *want |= POLLOUT;
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        d->eof = 1;   /* close_notify */
        return 1;
    default:
        if (ERR_GET_REASON(ERR_peek_error()) ==
            SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            /* A FIN without close_notify: a cut, or a peer that handed
             * its kTLS socket to a program ending with a bare shutdown.
             * The end goes on (nothing else can), and the relay fails at
             * the end: it cannot vouch for the stream. */
            ERR_clear_error();
            d->eof = 1;
            d->cut = 1;
            return 1;
        }
        return ssl_failed(tc, "read from");
    }
}

/* SSL_write from d: 1 progress, 0 wait, -1 error. */
static int tls_push(struct xmig_transport *t, struct tls_conn *tc,
                    struct dir *d, short *want)
{
    size_t n = 0;

    if (t->bytes_out + d->len - d->off > tls_policy.max_stream_octets) {
        return err_set(XMIG_ERR_LIMIT, 0, "relay: the connection to %s "
                       "would carry more than the AES-GCM usage limit xmig "
                       "keeps", tc->info.peer);
    }
    ERR_clear_error();
    errno = 0;
    if (SSL_write_ex(tc->ssl, d->buf + d->off, d->len - d->off, &n) == 1) {
        d->off += n;
        t->bytes_out += n;
        if (d->off == d->len) {
            d->len = d->off = 0;
        }
        return 1;
    }
    switch (SSL_get_error(tc->ssl, 0)) {
    case SSL_ERROR_WANT_READ:
        *want |= POLLIN;
        return 0;
    case SSL_ERROR_WANT_WRITE:
        *want |= POLLOUT;
        return 0;
    default:
        return ssl_failed(tc, "write to");
    }
}

/* close_notify, then a FIN: 1 done, 0 wait, -1 error. */
static int tls_end(struct tls_conn *tc, int fd, short *want)
{
    int rc;

    ERR_clear_error();
    rc = SSL_shutdown(tc->ssl);
    if (rc < 0) {
        switch (SSL_get_error(tc->ssl, rc)) {
        case SSL_ERROR_WANT_WRITE:
            *want |= POLLOUT;
            return 0;
        case SSL_ERROR_WANT_READ:
            *want |= POLLIN;
            return 0;
        default:
            return ssl_failed(tc, "close_notify to");
        }
    }
    tc->finished = 1;
    shutdown(fd, SHUT_WR);
    return 1;
}

/* Pass the peer's end on: a FIN on a socket; a pipe has only close. */
static void local_end(int fd, int sock, struct dir *down)
{
    if (sock) {
        shutdown(fd, SHUT_WR);
    } else if (!down->closed) {
        close(fd);
        down->closed = 1;
    }
    down->done = 1;
}

/* The local reader is gone: no more writes to it; a pipe is closed now
 * (a socket stays: it may still be read from). */
static void stop_local_output(int fd, int sock, struct dir *down)
{
    if (!sock && !down->closed) {
        close(fd);
        down->closed = 1;
    }
    down->stopped = 1;
}

static int relay_loop(struct xmig_transport *t, struct tls_conn *tc,
                      int in_fd, int out_fd, struct dir *up, struct dir *down)
{
    int in_sock = is_socket(in_fd), out_sock = is_socket(out_fd);
    int out_ready = 1;   /* a pipe is written only once poll says so */

    for (;;) {
        struct pollfd p[3];
        short tls_want = 0;
        int progress = 0, r;

        /* Local to peer. */
        if (up->len) {
            if ((r = tls_push(t, tc, up, &tls_want)) < 0) {
                return -1;
            }
            progress |= r;
        } else if (up->eof && !up->done && down->cut) {
            /* OpenSSL counts the cut as fatal: no close_notify now. */
            shutdown(t->fd, SHUT_WR);
            up->done = progress = 1;
        } else if (up->eof && !up->done) {
            if ((r = tls_end(tc, t->fd, &tls_want)) < 0) {
                return -1;
            }
            up->done = r;
            progress |= r;
        }
        /* Peer to local: what OpenSSL holds decrypted comes first. */
        if (!down->len && !down->eof) {
            if ((r = tls_pull(t, tc, down, &tls_want)) < 0) {
                return -1;
            }
            progress |= r;
        }
        if (down->len && down->stopped) {
            /* The local side stopped reading (as ssh does, keep the
             * connection to its end, and count what goes nowhere). */
            down->dropped += down->len - down->off;
            down->len = down->off = 0;
            progress = 1;
        }
        if (down->len && out_ready) {
            ssize_t n = local_write(out_fd, out_sock, down->buf + down->off,
                                    down->len - down->off);
            out_ready = out_sock;
            if (n < 0 && errno == EPIPE) {
                stop_local_output(out_fd, out_sock, down);
                continue;
            }
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                return err_set(XMIG_ERR_IO, errno, "relay: writing what %s "
                               "sent to the local side", tc->info.peer);
            }
            if (n > 0) {
                down->off += (size_t)n;
                if (down->off == down->len) {
                    down->len = down->off = 0;
                }
                progress = 1;
            }
        }
        if (down->eof && !down->len && !down->done) {
            local_end(out_fd, out_sock, down);
        }
        if (up->done && down->done) {
            if (down->dropped) {
                log_msg(XMIG_LOG_WARNING, "relay: the local side stopped "
                        "reading; %llu octets from %s went nowhere",
                        (unsigned long long)down->dropped, tc->info.peer);
            }
            return down->cut ? err_set(XMIG_ERR_CLOSED, 0, "relay: TLS peer "
                                       "%s ended without close_notify: what "
                                       "it sent may be cut short (a holder "
                                       "of a kernel TLS socket ends with "
                                       "one: docs/tls-broker.md)",
                                       tc->info.peer)
                             : 0;
        }
        if (progress) {
            continue;
        }
        /* A negative fd is not polled: no busy loop on a POLLHUP that
         * nothing waits for. */
        p[0] = (struct pollfd){ !up->len && !up->eof ? in_fd : -1, POLLIN,
                                0 };
        p[1] = (struct pollfd){ tls_want ? t->fd : -1, tls_want, 0 };
        p[2] = (struct pollfd){ down->len ? out_fd : -1, POLLOUT, 0 };
        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return err_set(XMIG_ERR_IO, errno, "relay: poll");
        }
        if (p[0].revents) {
            ssize_t n = local_read(in_fd, in_sock, up->buf, RELAY_BUF);
            if (n > 0) {
                up->len = (size_t)n;
                up->off = 0;
            } else if (n == 0) {
                up->eof = 1;
            } else if (errno != EAGAIN && errno != EINTR) {
                /* Not an end: no close_notify may vouch for the stream. */
                return err_set(XMIG_ERR_IO, errno, "relay: reading what goes "
                               "to %s from the local side", tc->info.peer);
            }
        }
        if (p[2].revents & POLLOUT) {
            out_ready = 1;
        } else if (p[2].revents & (POLLERR | POLLHUP)) {
            stop_local_output(out_fd, out_sock, down);
        }
    }
}

int xmig_tls_relay(struct xmig_transport *t, int in_fd, int out_fd)
{
    struct tls_conn *tc = tls_conn_of(t);
    struct dir up = { 0 }, down = { 0 };
    int flags, rc = -1;

    if (!tc) {
        err_set(XMIG_ERR_USAGE, 0, "relay: not a TLS transport");
        goto out;
    }
    up.buf = malloc(RELAY_BUF);
    down.buf = malloc(RELAY_BUF);
    if (!up.buf || !down.buf) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "relay buffers");
        goto out;
    }
    /* The TLS socket is ours: non-blocking, so that neither direction
     * can hold the other up. */
    flags = fcntl(t->fd, F_GETFL);
    if (flags < 0 || fcntl(t->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        err_set(XMIG_ERR_IO, errno, "relay: the TLS socket");
        goto out;
    }
    rc = relay_loop(t, tc, in_fd, out_fd, &up, &down);
    fcntl(t->fd, F_SETFL, flags);
out:
    free(up.buf);
    free(down.buf);
    if (!down.closed && out_fd != in_fd) {
        close(out_fd);
    }
    close(in_fd);
    return rc;
}

/* ---- the broker in one call ------------------------------------------ */

struct relay_job {
    struct xmig_transport *t;
    int fd;
};

static void *relay_thread(void *arg)
{
    struct relay_job *j = arg;

    if (xmig_tls_relay(j->t, j->fd, j->fd) < 0) {
        log_msg(XMIG_LOG_WARNING, "%s", xmig_error_message());
    }
    xmig_transport_free(j->t);
    free(j);
    return NULL;
}

static int broker(struct xmig_transport *t, struct xmig_tls_info *info)
{
    struct xmig_tls_info in;
    struct relay_job *j;
    pthread_attr_t attr;
    pthread_t th;
    int sp[2], fd, rc;

    if (!t) {
        return -1;
    }
    xmig_transport_tls_info(t, &in);
    if (info) {
        *info = in;
    }
    if (in.mode == XMIG_TLS_KTLS) {
        return xmig_tls_socket_release(t);
    }
    if (in.mode == XMIG_TLS_NONE) {
        fd = t->fd;
        t->owns_fd = 0;
        xmig_transport_free(t);
        return make_blocking(fd);
    }
    j = malloc(sizeof(*j));
    if (!j || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
        err_set(XMIG_ERR_IO, j ? errno : ENOMEM, "broker: socketpair");
        free(j);
        xmig_transport_free(t);
        return -1;
    }
    j->t = t;
    j->fd = sp[1];
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&th, &attr, relay_thread, j);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        err_set(XMIG_ERR_IO, rc, "broker: relay thread");
        close(sp[0]);
        close(sp[1]);
        free(j);
        xmig_transport_free(t);
        return -1;
    }
    log_msg(XMIG_LOG_WARNING, "TLS with %s in userspace: OpenSSL holds the "
            "record state, so a relay thread copies between it and the "
            "socket handed out", in.peer);
    return sp[0];
}

int xmig_tls_broker_client(int fd, const struct xmig_tls_config *c,
                           struct xmig_tls_info *info)
{
    return broker(xmig_transport_tls_client(fd, c), info);
}

int xmig_tls_broker_server(int fd, const struct xmig_tls_config *c,
                           struct xmig_tls_info *info)
{
    return broker(xmig_transport_tls_server(fd, c), info);
}
