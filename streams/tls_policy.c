/*
 * The one place where xmig's TLS policy lives.
 *
 * TLS 1.3 and TLS 1.2, AES-GCM only (what the kernel's TLS offload and
 * AES-NI handle best), forward secrecy only (ECDHE), no compression, no
 * renegotiation, no session tickets (nothing arrives after the handshake
 * that a kernel record layer would have to pass back up).
 *
 * AES-GCM usage limit (RFC 8446 5.5): at most 2^24.5 full-size records
 * under one key.  No key update happens within a stream (the kernel record
 * layer cannot take one on the kernels this runs on), so a connection is
 * budgeted 2^24 records of 16 KiB: 256 GiB each way.  A longer stream must
 * use a fresh connection; the transport refuses to go beyond.
 */
#include <openssl/crypto.h>

#include "streams/tls_policy.h"

const struct tls_policy tls_policy = {
    .tls12_ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384:"
                     "ECDHE-RSA-AES256-GCM-SHA384:"
                     "ECDHE-ECDSA-AES128-GCM-SHA256:"
                     "ECDHE-RSA-AES128-GCM-SHA256",
    .tls13_suites = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256",
    .groups = "X25519:P-256:P-384",
    .sigalgs = "ECDSA+SHA256:ECDSA+SHA384:RSA-PSS+SHA256:RSA-PSS+SHA384:"
               "RSA+SHA256:RSA+SHA384:ed25519",
    .max_stream_octets = (uint64_t)1 << 38,   /* 2^24 records x 2^14 */
};

int tls_policy_tls13_ktls_rx(void)
{
    return OpenSSL_version_num() >= 0x30200000UL;
}
