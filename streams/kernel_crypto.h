/*
 * The kernel crypto implementation behind kernel TLS, from /proc/crypto
 * (xmig tls-info shows it).
 */
#ifndef XMIG_STREAMS_KERNEL_CRYPTO_H
#define XMIG_STREAMS_KERNEL_CRYPTO_H

#include <stddef.h>

struct kcrypto_impl {
    char driver[128];   /* e.g. "generic-gcm-aesni" */
    char module[64];    /* e.g. "aesni_intel", "kernel" */
    int priority;       /* the kernel picks the highest */
    int count;          /* implementations of the algorithm seen */
};

/* The highest-priority block of /proc/crypto text whose name is alg.
 * Pure parsing.  0 with *best filled, -1 if there is none. */
int kcrypto_best(const char *text, size_t len, const char *alg,
                 struct kcrypto_impl *best);

/* The same from this kernel's /proc/crypto (asking the kernel to build
 * alg first, where AF_ALG allows); -1 with why filled. */
int kcrypto_lookup(const char *alg, struct kcrypto_impl *best, char *why,
                   size_t whylen);

#endif
