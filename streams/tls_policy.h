/*
 * The TLS policy: every protocol version, cipher and group xmig offers is
 * defined here and nowhere else; `xmig tls-info` prints it.
 */
#ifndef XMIG_STREAMS_TLS_POLICY_H
#define XMIG_STREAMS_TLS_POLICY_H

#include <stdint.h>

struct tls_policy {
    const char *tls12_ciphers;     /* OpenSSL cipher list: ECDHE + AES-GCM */
    const char *tls13_suites;      /* OpenSSL TLS 1.3 ciphersuites */
    const char *groups;            /* key exchange groups */
    const char *sigalgs;           /* accepted signature algorithms */
    uint64_t max_stream_octets;    /* AES-GCM usage budget per connection */
};

extern const struct tls_policy tls_policy;

/* Does the linked OpenSSL hand TLS 1.3 receive to the kernel?  (3.2+;
 * Debian 12's 3.0 offloads TLS 1.3 on transmit only.) */
int tls_policy_tls13_ktls_rx(void);

#endif
