/* Log lines from the library: warnings (a fallback taken) and notes. */
#ifndef XMIG_COMMON_LOG_H
#define XMIG_COMMON_LOG_H

#define XMIG_LOG_WARNING 1
#define XMIG_LOG_INFO 2

void log_msg(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
