/*
 * A synthetic guest image written through the public writer: plausible
 * HVM or PV records around pages of seeded data.  It feeds the sample
 * command, the tests, the benchmark and the fuzz seed corpus.  Internal to
 * the tree (not exported from the shared library).
 */
#ifndef XMIG_STREAMS_SYNTH_H
#define XMIG_STREAMS_SYNTH_H

#include <stdint.h>

#include "xmig.h"

struct synth_opts {
    enum xmig_format format;  /* xl, libxl or libxc */
    uint32_t guest_type;      /* XMIG_DOMAIN_X86_HVM or _PV */
    uint32_t pages;           /* guest pages */
    uint32_t batch;           /* pfns per PAGE_DATA record, <= 1024 */
    uint32_t seed;
    int emulator_xenstore;    /* add a non-empty EMULATOR_XENSTORE_DATA */
    int no_emulator_context;  /* HVM: leave out the EMULATOR_CONTEXT that
                               * xl writes for qemu's device state */
    int verify_pass;          /* VERIFY, then every page again */
    int transparent;          /* 0 none; 1 2-level + grant v1; 2 FIFO + v2 */
};

void synth_defaults(struct synth_opts *o);

/* Guest memory the synthetic image carries: pages * 4096 octets, some pages
 * all zero (sent as XALLOC), some holes (XTAB). */
uint8_t *synth_memory(const struct synth_opts *o);

/* The transparent state a synthetic transparent image carries (domid 7,
 * a vif and the usual ports, grants and xenstore nodes).  The arrays are
 * static: do not free them. */
void synth_transparent_state(const struct synth_opts *o,
                             struct xmig_transparent_state *st);

/* Write a whole image to t.  Returns 0, or -1 with the xmig error set. */
int synth_write(struct xmig_transport *t, const struct synth_opts *o);

/* The same, with caller-provided memory from synth_memory(). */
int synth_write_memory(struct xmig_transport *t, const struct synth_opts *o,
                       const uint8_t *mem);

#endif
