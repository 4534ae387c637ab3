/*
 * Library log lines go to a callback the program sets, or, by default, one
 * line each on stderr: "xmig: warning: ...".
 */
#include <stdarg.h>
#include <stdio.h>

#include "common/log.h"
#include "xmig.h"

static xmig_log_fn log_fn;
static void *log_user;

void xmig_set_log(xmig_log_fn fn, void *user_data)
{
    log_fn = fn;
    log_user = user_data;
}

void log_msg(int level, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (log_fn) {
        log_fn(log_user, level, line);
    } else {
        fprintf(stderr, "xmig: %s%s\n",
                level == XMIG_LOG_WARNING ? "warning: " : "", line);
    }
}
