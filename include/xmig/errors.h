/* Error categories reported by every failing xmig call. */
#ifndef XMIG_ERRORS_H
#define XMIG_ERRORS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

enum xmig_error_category {
    XMIG_ERR_NONE = 0,
    XMIG_ERR_IO,          /* a system call failed; see xmig_error_errno() */
    XMIG_ERR_CLOSED,      /* the stream ended early (truncated input) */
    XMIG_ERR_PROTOCOL,    /* the bytes break a rule of the format */
    XMIG_ERR_USAGE,       /* the caller broke a rule of the API */
    XMIG_ERR_UNSUPPORTED, /* valid, but not something xmig handles */
    XMIG_ERR_NOMEM,       /* out of memory, or over a configured limit */
    XMIG_ERR_LIMIT        /* a length or count beyond xmig's hard caps */
};

/* The last error of the calling thread, valid until its next xmig call. */
const char *xmig_error_message(void);
enum xmig_error_category xmig_error_category(void);
const char *xmig_error_category_name(enum xmig_error_category cat);
int xmig_error_errno(void);
/* 1 and *offset set when the error has a position in the stream, else 0. */
int xmig_error_offset(uint64_t *offset);
/* 1, with *layer and *type set, when the error is inside a record, else 0. */
int xmig_error_record(int *layer, uint32_t *type);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
