/*
 * The RAM digest kept page by page (common/ram_digest.c, what a receiver
 * does as pages land) equals the sim backend's pass over all RAM
 * (sim_memory_digest), whatever the order of the writes, with pages
 * overwritten, zeroed again and never written, also when the full pass
 * is split across threads; and it tells a single flipped bit, and a page
 * put at the wrong pfn, from the original.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends/sim/sim.h"
#include "common/ram_digest.h"
#include "xmig.h"

#define PAGE 4096u
#define NR_PFNS 300u

static uint64_t rng = 0x243F6A8885A308D3ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void fill(uint8_t *p)
{
    for (unsigned i = 0; i < PAGE; i += 8) {
        uint64_t v = next();
        memcpy(p + i, &v, 8);
    }
}

/* Write pages of a sim guest in random order, some twice, some back to
 * zero, tracking the digest as a receiver does. */
static void running_equals_full_pass(void **state)
{
    struct xmig_guest *g = sim_guest_incoming(NR_PFNS, 3);
    struct sim_guest *s = (struct sim_guest *)g;
    static uint8_t written[NR_PFNS];
    struct ram_digest d;
    uint8_t page[PAGE], full[32], mine[32];

    assert_non_null(g);
    ram_digest_init(&d, NR_PFNS);
    for (int n = 0; n < 700; n++) {
        uint64_t pfn = next() % NR_PFNS;
        uint8_t *at = s->ram + pfn * PAGE;
        int zero = next() % 7 == 0;
        if (zero) {
            memset(page, 0, PAGE);
        } else {
            fill(page);
        }
        ram_digest_replace(&d, pfn, written[pfn] ? at : NULL,
                           zero ? NULL : page);
        memcpy(at, page, PAGE);
        written[pfn] = 1;
    }
    sim_memory_digest(s, full);
    ram_digest_final(&d, mine);
    assert_memory_equal(mine, full, 32);

    /* One bit anywhere changes it; so does the same page at another pfn. */
    s->ram[123 * PAGE + 77] ^= 0x10;
    sim_memory_digest(s, full);
    assert_memory_not_equal(mine, full, 32);
    s->ram[123 * PAGE + 77] ^= 0x10;
    {
        struct ram_digest moved = d;
        uint8_t other[32];
        fill(page);
        ram_digest_replace(&d, 10, written[10] ? s->ram + 10 * PAGE : NULL,
                           page);
        ram_digest_replace(&moved, 11,
                           written[11] ? s->ram + 11 * PAGE : NULL, page);
        ram_digest_final(&d, mine);
        ram_digest_final(&moved, other);
        assert_memory_not_equal(mine, other, 32);
    }
    xmig_guest_destroy(g);
    (void)state;
}

/* A guest big enough for the full pass to split across threads (parts
 * of 64 MiB or more, one per core up to four): the parts join to the
 * same digest as pages written one by one. */
static void split_pass_equals_running(void **state)
{
    const uint64_t nr = UINT64_C(1) << 16;          /* 256 MiB */
    struct xmig_guest *g = sim_guest_incoming(nr, 3);
    struct sim_guest *s = (struct sim_guest *)g;
    struct ram_digest d;
    uint8_t page[PAGE], full[32], mine[32];
    static uint8_t seen[1u << 16];

    assert_non_null(g);
    ram_digest_init(&d, nr);
    /* Pages at both ends, at the part boundaries and scattered. */
    for (int n = 0; n < 600; n++) {
        uint64_t pfn = n < 8 ? (uint64_t[]){ 0, nr - 1, nr / 2 - 1, nr / 2,
                                             nr / 4, nr / 4 - 1, 3 * nr / 4,
                                             3 * nr / 4 - 1 }[n]
                             : next() % nr;
        uint8_t *at = s->ram + pfn * PAGE;
        fill(page);
        ram_digest_replace(&d, pfn, seen[pfn] ? at : NULL, page);
        memcpy(at, page, PAGE);
        seen[pfn] = 1;
    }
    sim_memory_digest(s, full);
    ram_digest_final(&d, mine);
    assert_memory_equal(mine, full, 32);
    xmig_guest_destroy(g);
    (void)state;
}

/* A guest never written digests like the init state. */
static void empty_guest(void **state)
{
    struct xmig_guest *g = sim_guest_incoming(NR_PFNS, 3);
    struct ram_digest d;
    uint8_t full[32], mine[32];

    assert_non_null(g);
    ram_digest_init(&d, NR_PFNS);
    sim_memory_digest((struct sim_guest *)g, full);
    ram_digest_final(&d, mine);
    assert_memory_equal(mine, full, 32);
    xmig_guest_destroy(g);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(running_equals_full_pass),
        cmocka_unit_test(split_pass_equals_running),
        cmocka_unit_test(empty_guest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
