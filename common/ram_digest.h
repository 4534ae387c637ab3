/*
 * The RAM digest of a guest (backend op digest): a 512-bit Fletcher-style
 * checksum in eight 64-bit lanes over the words of RAM in pfn order (a:
 * sum of words, b: sum of a after each group of eight), folded to 256
 * bits.  An equality proof between two copies, not a cryptographic one.
 *
 * b weighs group g of N by N - g, so both sums are linear in the words:
 * a receiver keeps them up to date page by page as pages land, in any
 * order and overwriting, instead of a pass over all RAM in the pause.
 */
#ifndef XMIG_COMMON_RAM_DIGEST_H
#define XMIG_COMMON_RAM_DIGEST_H

#include <stdint.h>

#define RAM_DIGEST_GROUPS_PER_PAGE 64u   /* 4096 octets / 64 */

struct ram_digest {
    uint64_t a[8], b[8];
    uint64_t groups;                     /* N: all of RAM, in groups */
};

/* All RAM zero (what a fresh destination holds). */
void ram_digest_init(struct ram_digest *d, uint64_t nr_pfns);

/* The page at pfn changed from old to new (NULL: all zero). */
void ram_digest_replace(struct ram_digest *d, uint64_t pfn, const void *old,
                        const void *new_page);

/* The 256-bit digest of lanes a and b. */
void ram_digest_fold(const uint64_t a[8], const uint64_t b[8],
                     uint8_t out[32]);

void ram_digest_final(const struct ram_digest *d, uint8_t out[32]);

#endif
