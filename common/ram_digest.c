/* The RAM digest, kept up to date page by page (ram_digest.h). */
#include <string.h>

#include "common/ram_digest.h"

void ram_digest_init(struct ram_digest *d, uint64_t nr_pfns)
{
    memset(d, 0, sizeof(*d));
    d->groups = nr_pfns * RAM_DIGEST_GROUPS_PER_PAGE;
}

/* a += sum of (new - old); b += sum of (N - g) * (new - old) over the
 * page's groups g, all modulo 2^64 like the full pass. */
/* Page data in a stream's buffer has no alignment: words by memcpy. */
static uint64_t word_at(const uint8_t *p, uint64_t i)
{
    uint64_t w;

    memcpy(&w, p + i * 8, 8);
    return w;
}

void ram_digest_replace(struct ram_digest *d, uint64_t pfn, const void *old,
                        const void *new_page)
{
    static const uint8_t zero[4096];
    const uint8_t *o = old ? old : zero, *n = new_page ? new_page : zero;
    uint64_t s[8] = { 0 }, t[8] = { 0 };
    uint64_t weight = d->groups - pfn * RAM_DIGEST_GROUPS_PER_PAGE;

    for (uint64_t i = 0; i < RAM_DIGEST_GROUPS_PER_PAGE; i++) {
        for (int k = 0; k < 8; k++) {
            uint64_t w = word_at(n, i * 8 + (uint64_t)k) -
                         word_at(o, i * 8 + (uint64_t)k);
            s[k] += w;
            t[k] += i * w;
        }
    }
    for (int k = 0; k < 8; k++) {
        d->a[k] += s[k];
        d->b[k] += weight * s[k] - t[k];
    }
}

void ram_digest_fold(const uint64_t a[8], const uint64_t b[8],
                     uint8_t out[32])
{
    for (int k = 0; k < 4; k++) {
        uint64_t v = a[k] ^ (a[k + 4] * 0x9E3779B97F4A7C15ull) ^
                     (b[k] << 1) ^ (b[k + 4] * 0xC2B2AE3D27D4EB4Full);
        for (int i = 0; i < 8; i++) {
            out[k * 8 + i] = (uint8_t)(v >> (8 * i));
        }
    }
}

void ram_digest_final(const struct ram_digest *d, uint8_t out[32])
{
    ram_digest_fold(d->a, d->b, out);
}
