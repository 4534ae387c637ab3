/*
 * Per-thread last error.  The message is composed once, when asked for, from
 * the parts the layers filled in on the way up.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"
#include "common/error.h"
#include "xmig/types.h"

struct err_state {
    enum xmig_error_category cat;
    int errnum;
    int has_pos, pos_relative;
    uint64_t pos;
    int has_record;
    int layer;
    uint32_t type;
    char what[48];
    char prefix[256];
    char detail[512];
    char full[1024];
};

static _Thread_local struct err_state last;

__attribute__((format(printf, 1, 0))) static void set_detail(const char *fmt,
                                                          va_list ap)
{
    vsnprintf(last.detail, sizeof(last.detail), fmt, ap);
}

int err_set(enum xmig_error_category cat, int errnum, const char *fmt, ...)
{
    va_list ap;

    memset(&last, 0, sizeof(last));
    last.cat = cat;
    last.errnum = errnum;
    va_start(ap, fmt);
    set_detail(fmt, ap);
    va_end(ap);
    return -1;
}

int err_at_pos(uint64_t pos, const char *fmt, ...)
{
    va_list ap;

    memset(&last, 0, sizeof(last));
    last.cat = XMIG_ERR_PROTOCOL;
    last.has_pos = 1;
    last.pos_relative = 1;
    last.pos = pos;
    va_start(ap, fmt);
    set_detail(fmt, ap);
    va_end(ap);
    return -1;
}

int err_at(const struct cursor *c, const char *fmt, ...)
{
    va_list ap;

    memset(&last, 0, sizeof(last));
    last.cat = XMIG_ERR_PROTOCOL;
    last.has_pos = 1;
    last.pos_relative = 1;
    last.pos = c->pos;
    va_start(ap, fmt);
    set_detail(fmt, ap);
    va_end(ap);
    return -1;
}

void err_shift(uint64_t d)
{
    if (!last.has_pos) {
        last.has_pos = 1;
        last.pos_relative = 1;
        last.pos = d;
    } else if (last.pos_relative) {
        last.pos += d;
    }
}

void err_recategorise(enum xmig_error_category cat)
{
    last.cat = cat;
}

void err_rebase(uint64_t base)
{
    if (!last.has_pos) {
        last.has_pos = 1;
        last.pos = base;
    } else if (last.pos_relative) {
        last.pos += base;
    }
    last.pos_relative = 0;
}

void err_in_record(int layer, uint32_t type, const char *what)
{
    if (last.has_record) {
        return;     /* the innermost record wins */
    }
    last.has_record = 1;
    last.layer = layer;
    last.type = type;
    snprintf(last.what, sizeof(last.what), "%s", what ? what : "?");
}

void err_prefix(const char *fmt, ...)
{
    char add[sizeof(last.prefix)];
    size_t n, old;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(add, sizeof(add), fmt, ap);
    va_end(ap);
    n = strlen(add);
    old = strlen(last.prefix);
    if (n + old >= sizeof(last.prefix)) {
        old = sizeof(last.prefix) - 1 - n;
    }
    memmove(last.prefix + n, last.prefix, old);
    memcpy(last.prefix, add, n);
    last.prefix[n + old] = '\0';
}

struct err_state *err_stash(void)
{
    struct err_state *s = malloc(sizeof(*s));

    if (s) {
        *s = last;
    }
    return s;
}

void err_unstash(struct err_state *s)
{
    if (s) {
        last = *s;
        free(s);
    }
}

void err_forget(struct err_state *s)
{
    free(s);
}

void err_clear(void)
{
    memset(&last, 0, sizeof(last));
}

static const char *layer_name(int layer)
{
    switch (layer) {
    case XMIG_LAYER_XL:
        return "xl";
    case XMIG_LAYER_LIBXL:
        return "libxl";
    case XMIG_LAYER_LIBXC:
        return "libxc";
    default:
        return "stream";
    }
}

const char *xmig_error_message(void)
{
    char where[160] = "";

    if (last.cat == XMIG_ERR_NONE) {
        return "no error";
    }
    if (last.has_pos && !last.pos_relative) {
        snprintf(where, sizeof(where), "offset %llu (0x%llx): ",
                 (unsigned long long)last.pos, (unsigned long long)last.pos);
    }
    if (last.has_record) {
        size_t n = strlen(where);
        if (last.type == XMIG_ERR_NO_RECORD) {
            snprintf(where + n, sizeof(where) - n, "%s %s: ",
                     layer_name(last.layer), last.what);
        } else {
            snprintf(where + n, sizeof(where) - n, "%s record %s (0x%x): ",
                     layer_name(last.layer), last.what, last.type);
        }
    }
    snprintf(last.full, sizeof(last.full), "%s%s%s%s%s", last.prefix, where,
             last.detail, last.errnum ? ": " : "",
             last.errnum ? strerror(last.errnum) : "");
    return last.full;
}

enum xmig_error_category xmig_error_category(void)
{
    return last.cat;
}

const char *xmig_error_category_name(enum xmig_error_category cat)
{
    switch (cat) {
    case XMIG_ERR_NONE:
        return "none";
    case XMIG_ERR_IO:
        return "io";
    case XMIG_ERR_CLOSED:
        return "closed";
    case XMIG_ERR_PROTOCOL:
        return "protocol";
    case XMIG_ERR_USAGE:
        return "usage";
    case XMIG_ERR_UNSUPPORTED:
        return "unsupported";
    case XMIG_ERR_NOMEM:
        return "nomem";
    case XMIG_ERR_LIMIT:
        return "limit";
    default:
        return "unknown";
    }
}

int xmig_error_errno(void)
{
    return last.errnum;
}

int xmig_error_offset(uint64_t *offset)
{
    if (!last.has_pos || last.pos_relative) {
        return 0;
    }
    *offset = last.pos;
    return 1;
}

int xmig_error_record(int *layer, uint32_t *type)
{
    if (!last.has_record) {
        return 0;
    }
    *layer = last.layer;
    *type = last.type;
    return 1;
}
