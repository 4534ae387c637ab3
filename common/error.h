/*
 * Per-thread last error: a category, errno, a message, and where in the
 * stream it happened.  Lower layers set the message and a position relative
 * to what they were parsing; the stream layer rebases it to a stream offset
 * and names the record.  xmig.h exposes the getters.
 */
#ifndef XMIG_COMMON_ERROR_H
#define XMIG_COMMON_ERROR_H

#include <stdint.h>

#include "xmig/errors.h"

struct cursor;

/* Set a fresh error (clears all context).  Always returns -1. */
int err_set(enum xmig_error_category cat, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A protocol error at the cursor's position inside the body being parsed. */
int err_at(const struct cursor *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Same, at an explicit position relative to the start of the body. */
int err_at_pos(uint64_t pos, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Move a relative position by d (a decoder nested inside another body);
 * an error without a position gets relative position d. */
void err_shift(uint64_t d);

/* Change the category of the current error (e.g. to XMIG_ERR_LIMIT). */
void err_recategorise(enum xmig_error_category cat);

/* Add stream context to the current error: a relative position becomes
 * base + pos; an error without a position gets base itself. */
void err_rebase(uint64_t base);

/* Name the record (or header, if type is XMIG_ERR_NO_RECORD) the error is in. */
#define XMIG_ERR_NO_RECORD UINT32_MAX
void err_in_record(int layer, uint32_t type, const char *what);

/* Prefix context to the message ("writer: ", "reading FILE: ", ...). */
void err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void err_clear(void);

/* Keep the last error across clean-up calls that may set their own (the
 * first failure is the one to report): a copy, restored and freed by
 * err_unstash.  NULL (no memory) makes err_unstash a no-op. */
struct err_state;
struct err_state *err_stash(void);
void err_unstash(struct err_state *s);
void err_forget(struct err_state *s);   /* frees it, keeping the last error */

#endif
