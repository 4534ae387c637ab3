/*
 * The state behind a TLS transport, shared by the transport (tls.c) and
 * the socket broker (tls_broker.c), which relays or hands the socket on.
 */
#ifndef XMIG_STREAMS_TLS_CONN_H
#define XMIG_STREAMS_TLS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "streams/transport.h"
#include "xmig.h"

#define STAGE_SIZE (16u << 10)    /* one TLS record's worth of small writes */

struct tls_conn {
    SSL_CTX *ctx;
    SSL *ssl;
    struct xmig_tls_info info;
    uint8_t stage[STAGE_SIZE];
    size_t staged;
    int finished;       /* close_notify sent */
};

extern const struct transport_ops tls_ops;

/* The TLS state of t, or NULL when t is not a TLS transport. */
static inline struct tls_conn *tls_conn_of(const struct xmig_transport *t)
{
    return t && t->ops == &tls_ops ? (struct tls_conn *)t->impl : NULL;
}

#endif
