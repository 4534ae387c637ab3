/*
 * Transports over a file descriptor, over a caller's memory (zero-copy
 * source), and into a growing memory buffer (sink for tests and tools).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cursor.h"
#include "common/error.h"
#include "streams/transport.h"
#include "xmig.h"

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

static ssize_t fd_read(struct xmig_transport *t, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(t->fd, buf, len);
        if (n >= 0) {
            t->bytes_in += (uint64_t)n;
            return n;
        }
        if (errno != EINTR) {
            return err_set(XMIG_ERR_IO, errno, "read");
        }
    }
}

int transport_writev_fd(int fd, const struct iovec *iov, int iovcnt)
{
    struct iovec local[64];

    while (iovcnt > 0) {
        int batch = iovcnt < IOV_MAX ? iovcnt : IOV_MAX;
        ssize_t n = writev(fd, iov, batch);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return err_set(XMIG_ERR_IO, errno, "write");
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
            if (transport_writev_fd(fd, local, 1) < 0) {
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
    return transport_writev_fd(t->fd, iov, iovcnt);
}

static void fd_destroy(struct xmig_transport *t)
{
    if (t->owns_fd && t->fd >= 0) {
        close(t->fd);
    }
}

static const struct transport_ops fd_ops = {
    "fd", fd_read, NULL, fd_writev, fd_destroy,
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
    "memory", mem_read, mem_lend, mem_writev, nothing,
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
    "memory-sink", sink_read, NULL, sink_writev, sink_destroy,
};

static struct xmig_transport *transport_new(const struct transport_ops *ops)
{
    struct xmig_transport *t = calloc(1, sizeof(*t));

    if (!t) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "transport");
        return NULL;
    }
    t->ops = ops;
    t->fd = -1;
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

void xmig_transport_free(struct xmig_transport *t)
{
    if (!t) {
        return;
    }
    t->ops->destroy(t);
    free(t);
}
