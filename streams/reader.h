/*
 * What the engine asks of the stream reader beyond the public API
 * (xmig.h): a tap that sees the octets of the stream as the reader
 * consumes them, exactly once and in order, whatever was read ahead;
 * an item's octets only once the reader has found the item valid (kept
 * until then: a copy of each record, as big as the largest).
 */
#ifndef XMIG_STREAMS_READER_H
#define XMIG_STREAMS_READER_H

#include <stddef.h>
#include <stdint.h>

#include "xmig.h"

/* 0, or -1 with the error set: the read then fails at that offset. */
typedef int (*reader_tap_fn)(void *data, const uint8_t *octets, size_t n);

/* From the next item on (NULL: no tap).  A tap set inside an item
 * callback starts right after that item's last octet; its failure fails
 * the reader at the start of the item it was given. */
void reader_set_tap(struct xmig_reader *r, reader_tap_fn fn, void *data);

#endif
