/*
 * Test support: build streams in memory, read them back, find records,
 * and check that a (mutated) stream is refused with the expected error.
 */
#ifndef XMIG_TESTS_SUPPORT_H
#define XMIG_TESTS_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "streams/synth.h"
#include "xmig.h"

struct buf {
    uint8_t *data;
    size_t len;
};

/* A synthetic stream (see streams/synth.h) in a malloc'd buffer. */
struct buf make_stream(const struct synth_opts *o);
/* The default: an xl save file of a small HVM guest. */
struct buf make_default_stream(enum xmig_format f, uint32_t guest_type);
struct buf buf_dup(struct buf b);
void buf_free(struct buf *b);

/* Offset of the n-th (0-based) record of this layer and type, or -1. */
long find_record(struct buf b, enum xmig_layer layer, uint32_t type, int n);

/* Read the whole stream (and expect EOF after it).  0 when valid;
 * -1 with the xmig error set. */
int read_all(struct buf b, enum xmig_format f);

/* Outcome of reading b: returns 1 if refused as expected — category
 * matches, the error offset equals want_offset (or any if want_offset is
 * -1), and the message contains want_text.  Prints what it saw otherwise. */
int refused(struct buf b, enum xmig_format f, enum xmig_error_category cat,
            long want_offset, const char *want_text);

/* The octets in a fresh memfd at offset 0, so a reader sees a plain file
 * descriptor: no lending, every octet through the reader's own buffer.
 * Aborts on failure. */
int memfd_of(const uint8_t *p, size_t n);

/* Little-endian patching helpers. */
void poke32(struct buf b, size_t off, uint32_t v);
void poke64(struct buf b, size_t off, uint64_t v);
uint32_t peek32(struct buf b, size_t off);

/* A stream built by hand: the tests add raw bytes or records to it. */
struct raw {
    uint8_t *data;
    size_t len, cap;
};
void raw_bytes(struct raw *r, const void *p, size_t n);
void raw_le32(struct raw *r, uint32_t v);
void raw_le64(struct raw *r, uint64_t v);
/* A record: header, body, zero padding. */
void raw_record(struct raw *r, uint32_t type, const void *body, uint32_t len);
/* libxc image + domain header (version, guest type). */
void raw_libxc_headers(struct raw *r, uint32_t version, uint32_t guest_type);
struct buf raw_buf(struct raw *r);

#endif
