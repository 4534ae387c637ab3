/*
 * HOST:PORT as the programs take it (xmigd.conf's listen, xmigd --listen,
 * xmig migrate's destination, a control request's "destination"): parsed
 * and checked in one place, no I/O, so the fuzzers call it too.
 */
#ifndef XMIG_HOSTPORT_H
#define XMIG_HOSTPORT_H

#include <stddef.h>

struct hostport {
    char host[256];   /* without the brackets of "[v6]" */
    char port[6];     /* decimal digits, no leading zeros */
    unsigned num;
};

/* text as HOST:PORT or [IPV6]:PORT.  The port is decimal digits only,
 * 1 to 65535; 0 (any free port) only when listen is set.  0, or -1 with
 * why naming text and what is allowed. */
int hostport_parse(const char *text, int listen, struct hostport *out,
                   char *why, size_t len);

#endif
