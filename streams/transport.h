/*
 * The small transport interface under the reader and writer: read into a
 * buffer, optionally lend bytes without copying (memory), write a gather
 * list.  File descriptors and memory now; TLS plugs in here later.
 */
#ifndef XMIG_STREAMS_TRANSPORT_H
#define XMIG_STREAMS_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct xmig_transport;

struct transport_ops {
    const char *name;
    /* Up to len octets into buf: n > 0, 0 at end of stream, -1 (error set). */
    ssize_t (*read)(struct xmig_transport *t, void *buf, size_t len);
    /* Lend up to len octets in place, consuming them; NULL if the transport
     * cannot.  Lent bytes stay valid as long as the transport. */
    ssize_t (*lend)(struct xmig_transport *t, size_t len, const uint8_t **out);
    /* Write every octet of iov (partial writes are the transport's job). */
    int (*writev)(struct xmig_transport *t, const struct iovec *iov, int iovcnt);
    void (*destroy)(struct xmig_transport *t);
    /* Optional: zero-copy send from a file; NULL means read + writev. */
    int (*sendfile)(struct xmig_transport *t, int fd, int64_t off, size_t len);
    /* Optional: end of what this side sends (TLS close_notify). */
    int (*finish)(struct xmig_transport *t);
};

struct xmig_transport {
    const struct transport_ops *ops;
    int fd;                   /* written to (and read from, unless in_fd) */
    int in_fd;                /* read from, when reading and writing differ */
    int owns_fd;
    const uint8_t *mem;       /* memory source */
    size_t mem_len, mem_pos;
    uint8_t *sink;            /* memory sink */
    size_t sink_len, sink_cap;
    uint64_t bytes_in, bytes_out;
    void *impl;               /* the TLS state, for TLS transports */
};

/* Write a whole gather list to a file descriptor, riding out partial writes
 * and EINTR, IOV_MAX entries at a time.  Shared by fd-like transports. */
int transport_writev_fd(int fd, const struct iovec *iov, int iovcnt);

/* sendfile(2) of a whole range to fd, riding out partial sends. */
int transport_sendfile_fd(int out_fd, int in_fd, int64_t off, size_t len);

struct xmig_transport *transport_new(const struct transport_ops *ops);

#endif
