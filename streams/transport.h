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
    /* Time limits and cancellation (docs/timeouts.md). */
    uint32_t io_timeout_ms;   /* no progress for this long: fail; 0: none */
    double deadline_ms;       /* absolute (CLOCK_MONOTONIC), 0: none */
    uint32_t deadline_len_ms; /* what it was set to, for messages */
    struct xmig_cancel *cancel;
    int sock;                 /* fd is a socket: MSG_DONTWAIT, no blocking */
    char peer[128];           /* "127.0.0.1:5601", or "the peer" */
    char phase[96];           /* what the engine is doing, for errors */
};

/* What the engine is doing ("sending round 2 pages"): named by a timeout
 * or a cancel that ends a wait. */
void transport_phase(struct xmig_transport *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Until the next call: every wait also ends at now + ms (0: no deadline);
 * what names the limit in the error ("the handshake"). */
void transport_deadline(struct xmig_transport *t, uint32_t ms);

/* Wait until fd is ready for events (POLLIN/POLLOUT), within the
 * transport's limits; -1 with the error set (ETIMEDOUT naming the peer
 * and the phase, or ECANCELED). */
int transport_wait(struct xmig_transport *t, int fd, short events);

/* A caller's peer as text, for messages. */
void transport_peer_name(int fd, char *buf, size_t len);
double transport_now_ms(void);

/* Write a whole gather list to a file descriptor, riding out partial writes,
 * EINTR and EAGAIN (waiting within t's limits), IOV_MAX entries at a time.
 * Shared by fd-like transports (and kernel TLS). */
int transport_writev_fd(struct xmig_transport *t, int fd,
                        const struct iovec *iov, int iovcnt);

/* sendfile(2) of a whole range to fd, riding out partial sends. */
int transport_sendfile_fd(struct xmig_transport *t, int out_fd, int in_fd,
                          int64_t off, size_t len);

struct xmig_transport *transport_new(const struct transport_ops *ops);

#endif
