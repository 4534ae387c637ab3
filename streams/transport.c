/*
 * Transports over a file descriptor, over a caller's memory (zero-copy
 * source), and into a growing memory buffer (sink for tests and tools).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cursor.h"
#include "common/error.h"
#include "streams/transport.h"
#include "xmig.h"

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

/* How often a wait looks at the cancel flag. */
#define CANCEL_SLICE_MS 100

double transport_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void transport_phase(struct xmig_transport *t, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(t->phase, sizeof(t->phase), fmt, ap);
    va_end(ap);
}

void transport_deadline(struct xmig_transport *t, uint32_t ms)
{
    t->deadline_ms = ms ? transport_now_ms() + ms : 0;
    t->deadline_len_ms = ms;
}

void transport_peer_name(int fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";

    ss.ss_family = AF_UNSPEC;
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) < 0 ||
        (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
        snprintf(buf, len, "the peer");
    } else if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(buf, len, "%s:%d", host, ntohs(in->sin_port));
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(buf, len, "[%s]:%d", host, ntohs(in6->sin6_port));
    }
}

int transport_wait(struct xmig_transport *t, int fd, short events)
{
    double end = INFINITY;
    const char *phase = t->phase[0] ? t->phase : "talking to it";

    if (t->io_timeout_ms) {
        end = transport_now_ms() + t->io_timeout_ms;
    }
    if (t->deadline_ms && t->deadline_ms < end) {
        end = t->deadline_ms;
    }
    for (;;) {
        struct pollfd pfd = { fd, events, 0 };
        double left = end - transport_now_ms();
        int slice, rc;

        if (xmig_cancel_raised(t->cancel)) {
            return err_set(XMIG_ERR_USAGE, ECANCELED, "cancelled while %s",
                           phase);
        }
        if (left <= 0) {
            if (end == t->deadline_ms) {
                return err_set(XMIG_ERR_IO, ETIMEDOUT, "no answer from %s "
                               "within the time limit (%.3g s) while %s",
                               t->peer, t->deadline_len_ms / 1e3, phase);
            }
            return err_set(XMIG_ERR_IO, ETIMEDOUT, events & POLLOUT
                           ? "%s took no data for %.3g s while %s"
                           : "no data from %s for %.3g s while %s", t->peer,
                           t->io_timeout_ms / 1e3, phase);
        }
        slice = left > INT_MAX ? -1 : (int)ceil(left);
        if (t->cancel && (slice < 0 || slice > CANCEL_SLICE_MS)) {
            slice = CANCEL_SLICE_MS;
        }
        rc = poll(&pfd, 1, slice);
        if (rc > 0) {
            return 0;   /* ready, or an error the I/O call will report */
        }
        if (rc < 0 && errno != EINTR) {
            return err_set(XMIG_ERR_IO, errno, "poll");
        }
    }
}

static int limited(const struct xmig_transport *t)
{
    return t->io_timeout_ms || t->deadline_ms || t->cancel;
}

static ssize_t fd_read(struct xmig_transport *t, void *buf, size_t len)
{
    int fd = t->in_fd >= 0 ? t->in_fd : t->fd;
    int sock = t->sock & 1;

    for (;;) {
        ssize_t n;
        /* A socket is read without blocking and waited for with poll; any
         * other descriptor is polled first when limits apply. */
        if (!sock && limited(t) && transport_wait(t, fd, POLLIN) < 0) {
            return -1;
        }
        n = sock ? recv(fd, buf, len, MSG_DONTWAIT) : read(fd, buf, len);
        if (n >= 0) {
            t->bytes_in += (uint64_t)n;
            return n;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (transport_wait(t, fd, POLLIN) < 0) {
                return -1;
            }
            continue;
        }
        return err_set(XMIG_ERR_IO, errno, "read from %s", t->peer);
    }
}

static ssize_t write_some(struct xmig_transport *t, int fd,
                          const struct iovec *iov, int n)
{
    struct msghdr mh;

    if (!t || !(t->sock & 2)) {
        if (t && limited(t) && transport_wait(t, fd, POLLOUT) < 0) {
            errno = 0;
            return -2;
        }
        return writev(fd, iov, n);
    }
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = (struct iovec *)(uintptr_t)iov;
    mh.msg_iovlen = (size_t)n;
    return sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

int transport_writev_fd(struct xmig_transport *t, int fd,
                        const struct iovec *iov, int iovcnt)
{
    struct iovec local[1];

    while (iovcnt > 0) {
        int batch = iovcnt < IOV_MAX ? iovcnt : IOV_MAX;
        ssize_t n = write_some(t, fd, iov, batch);

        if (n == -2) {
            return -1;   /* the wait failed: its error is set */
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if ((errno == EAGAIN || errno == EWOULDBLOCK) && t) {
                if (transport_wait(t, fd, POLLOUT) < 0) {
                    return -1;
                }
                continue;
            }
            return t ? err_set(XMIG_ERR_IO, errno, "write to %s", t->peer)
                     : err_set(XMIG_ERR_IO, errno, "write");
        }
        /* Skip what went out; finish a partly written entry by itself. */
        while (batch > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            iovcnt--;
            batch--;
        }
        if (n > 0) {
            local[0].iov_base = (uint8_t *)iov->iov_base + n;
            local[0].iov_len = iov->iov_len - (size_t)n;
            if (transport_writev_fd(t, fd, local, 1) < 0) {
                return -1;
            }
            iov++;
            iovcnt--;
        }
    }
    return 0;
}

static int fd_writev(struct xmig_transport *t, const struct iovec *iov,
                     int iovcnt)
{
    for (int i = 0; i < iovcnt; i++) {
        t->bytes_out += iov[i].iov_len;
    }
    return transport_writev_fd(t, t->fd, iov, iovcnt);
}

static void fd_destroy(struct xmig_transport *t)
{
    if (t->owns_fd && t->fd >= 0) {
        close(t->fd);
    }
    if (t->owns_fd && t->in_fd >= 0) {
        close(t->in_fd);
    }
}

int transport_sendfile_fd(struct xmig_transport *t, int out_fd, int in_fd,
                          int64_t off, size_t len)
{
    off_t pos = (off_t)off;

    while (len > 0) {
        ssize_t n;
        if (t && limited(t) && transport_wait(t, out_fd, POLLOUT) < 0) {
            return -1;
        }
        n = sendfile(out_fd, in_fd, &pos, len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;   /* EAGAIN: the wait above comes first */
        }
        if (n < 0) {
            return err_set(XMIG_ERR_IO, errno, "sendfile");
        }
        if (n == 0) {
            return err_set(XMIG_ERR_IO, 0, "sendfile: source ended early");
        }
        len -= (size_t)n;
    }
    return 0;
}

static int fd_sendfile(struct xmig_transport *t, int fd, int64_t off,
                       size_t len)
{
    if (transport_sendfile_fd(t, t->fd, fd, off, len) < 0) {
        return -1;
    }
    t->bytes_out += len;
    return 0;
}

static const struct transport_ops fd_ops = {
    "fd", fd_read, NULL, fd_writev, fd_destroy, fd_sendfile, NULL,
};

static ssize_t mem_read(struct xmig_transport *t, void *buf, size_t len)
{
    size_t n = t->mem_len - t->mem_pos;

    if (n > len) {
        n = len;
    }
    memcpy(buf, t->mem + t->mem_pos, n);
    t->mem_pos += n;
    t->bytes_in += n;
    return (ssize_t)n;
}

static ssize_t mem_lend(struct xmig_transport *t, size_t len,
                        const uint8_t **out)
{
    size_t n = t->mem_len - t->mem_pos;

    if (n > len) {
        n = len;
    }
    *out = t->mem + t->mem_pos;
    t->mem_pos += n;
    t->bytes_in += n;
    return (ssize_t)n;
}

static int mem_writev(struct xmig_transport *t, const struct iovec *iov,
                      int iovcnt)
{
    (void)iov;
    (void)iovcnt;
    (void)t;
    return err_set(XMIG_ERR_USAGE, 0, "memory source is read-only");
}

static void nothing(struct xmig_transport *t)
{
    (void)t;
}

static const struct transport_ops mem_ops = {
    "memory", mem_read, mem_lend, mem_writev, nothing, NULL, NULL,
};

static ssize_t sink_read(struct xmig_transport *t, void *buf, size_t len)
{
    (void)t;
    (void)buf;
    (void)len;
    return err_set(XMIG_ERR_USAGE, 0, "memory sink is write-only");
}

static int sink_writev(struct xmig_transport *t, const struct iovec *iov,
                       int iovcnt)
{
    for (int i = 0; i < iovcnt; i++) {
        size_t need;
        if (size_add(t->sink_len, iov[i].iov_len, &need) < 0) {
            return err_set(XMIG_ERR_NOMEM, ENOMEM, "memory sink");
        }
        if (need > t->sink_cap) {
            size_t cap = t->sink_cap ? t->sink_cap : 4096;
            uint8_t *p;
            while (cap < need) {
                cap *= 2;
            }
            p = realloc(t->sink, cap);
            if (!p) {
                return err_set(XMIG_ERR_NOMEM, ENOMEM, "memory sink");
            }
            t->sink = p;
            t->sink_cap = cap;
        }
        memcpy(t->sink + t->sink_len, iov[i].iov_base, iov[i].iov_len);
        t->sink_len = need;
        t->bytes_out += iov[i].iov_len;
    }
    return 0;
}

static void sink_destroy(struct xmig_transport *t)
{
    free(t->sink);
}

static const struct transport_ops sink_ops = {
    "memory-sink", sink_read, NULL, sink_writev, sink_destroy, NULL, NULL,
};

static int is_socket(int fd)
{
    struct stat sb;

    return fstat(fd, &sb) == 0 && S_ISSOCK(sb.st_mode);
}

struct xmig_transport *transport_new(const struct transport_ops *ops)
{
    struct xmig_transport *t = calloc(1, sizeof(*t));

    if (!t) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "transport");
        return NULL;
    }
    t->ops = ops;
    t->fd = -1;
    t->in_fd = -1;
    snprintf(t->peer, sizeof(t->peer), "the peer");
    return t;
}

struct xmig_transport *xmig_transport_fd(int fd, int take_ownership)
{
    struct xmig_transport *t;

    if (fd < 0) {
        err_set(XMIG_ERR_USAGE, EBADF, "xmig_transport_fd");
        return NULL;
    }
    t = transport_new(&fd_ops);
    if (t) {
        t->fd = fd;
        t->owns_fd = take_ownership;
        t->sock = is_socket(fd) ? 3 : 0;
        transport_peer_name(fd, t->peer, sizeof(t->peer));
    }
    return t;
}

struct xmig_transport *xmig_transport_fds(int in_fd, int out_fd,
                                          int take_ownership)
{
    struct xmig_transport *t;

    if (in_fd < 0 || out_fd < 0) {
        err_set(XMIG_ERR_USAGE, EBADF, "xmig_transport_fds");
        return NULL;
    }
    t = transport_new(&fd_ops);
    if (t) {
        t->fd = out_fd;
        t->in_fd = in_fd;
        t->owns_fd = take_ownership;
        t->sock = (is_socket(in_fd) ? 1 : 0) | (is_socket(out_fd) ? 2 : 0);
        transport_peer_name(in_fd, t->peer, sizeof(t->peer));
    }
    return t;
}

struct xmig_transport *xmig_transport_memory(const void *buf, size_t len)
{
    struct xmig_transport *t = transport_new(&mem_ops);

    if (t) {
        t->mem = buf;
        t->mem_len = len;
    }
    return t;
}

struct xmig_transport *xmig_transport_memory_sink(void)
{
    return transport_new(&sink_ops);
}

const void *xmig_transport_sink_data(const struct xmig_transport *t,
                                     size_t *len)
{
    if (t->ops != &sink_ops) {
        err_set(XMIG_ERR_USAGE, 0, "not a memory sink");
        return NULL;
    }
    *len = t->sink_len;
    return t->sink ? t->sink : (const void *)"";
}

/* Without a zero-copy path: read the file through a buffer. */
static int sendfile_by_copy(struct xmig_transport *t, int fd, int64_t off,
                            size_t len)
{
    static _Thread_local uint8_t buf[256 << 10];

    while (len > 0) {
        size_t want = len < sizeof(buf) ? len : sizeof(buf);
        ssize_t n = pread(fd, buf, want, (off_t)off);
        struct iovec iov;
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return err_set(XMIG_ERR_IO, n < 0 ? errno : 0,
                           "reading the file to send");
        }
        iov.iov_base = buf;
        iov.iov_len = (size_t)n;
        if (t->ops->writev(t, &iov, 1) < 0) {
            return -1;
        }
        off += n;
        len -= (size_t)n;
    }
    return 0;
}

int xmig_transport_sendfile(struct xmig_transport *t, int fd, int64_t off,
                            size_t len)
{
    if (fd < 0 || off < 0) {
        return err_set(XMIG_ERR_USAGE, EINVAL, "xmig_transport_sendfile");
    }
    return t->ops->sendfile ? t->ops->sendfile(t, fd, off, len)
                            : sendfile_by_copy(t, fd, off, len);
}

long xmig_transport_read(struct xmig_transport *t, void *buf, size_t len)
{
    return (long)t->ops->read(t, buf, len);
}

int xmig_transport_write(struct xmig_transport *t, const void *buf,
                         size_t len)
{
    struct iovec iov = { (void *)(uintptr_t)buf, len };

    return t->ops->writev(t, &iov, 1);
}

int xmig_transport_finish(struct xmig_transport *t)
{
    return t->ops->finish ? t->ops->finish(t) : 0;
}

int xmig_transport_set_timeout(struct xmig_transport *t, uint32_t io_ms)
{
    t->io_timeout_ms = io_ms;
    return 0;
}

uint32_t xmig_transport_timeout(const struct xmig_transport *t)
{
    return t->io_timeout_ms;
}

void xmig_transport_set_cancel(struct xmig_transport *t,
                               struct xmig_cancel *c)
{
    t->cancel = c;
}

uint64_t xmig_transport_bytes_in(const struct xmig_transport *t)
{
    return t->bytes_in;
}

uint64_t xmig_transport_bytes_out(const struct xmig_transport *t)
{
    return t->bytes_out;
}

void xmig_transport_free(struct xmig_transport *t)
{
    if (!t) {
        return;
    }
    t->ops->destroy(t);
    free(t);
}
