/* Command-line TLS options shared by the commands that open connections. */
#ifndef XMIG_TLS_OPTS_H
#define XMIG_TLS_OPTS_H

#include <getopt.h>

#include "xmig.h"

/* getopt_long entries; their vals are 0x1000 and up. */
#define TLS_LONG_OPTIONS                                                     \
    { "tls", required_argument, NULL, 0x1000 },                              \
        { "cert", required_argument, NULL, 0x1001 },                         \
        { "key", required_argument, NULL, 0x1002 },                          \
        { "ca", required_argument, NULL, 0x1003 },                           \
        { "pin", required_argument, NULL, 0x1004 },                          \
        { "name", required_argument, NULL, 0x1005 },                         \
        { "insecure", no_argument, NULL, 0x1006 }

#define TLS_OPTIONS_HELP                                                     \
    "  --tls auto|ktls|userspace|none   (default auto)\n"                   \
    "  --cert FILE --key FILE           this end's certificate and key\n"  \
    "  --ca FILE                        CA bundle to check the peer\n"      \
    "  --pin SHA256                     a pinned peer certificate "           \
    "(repeatable)\n"                                                         \
    "  --name NAME|IP                   the name the peer's certificate "     \
    "must carry\n"                                                           \
    "  --insecure                       do not check the peer (loud)\n"

/* Time limits of the commands that open connections (docs/timeouts.md);
 * vals 0x1100 and up. */
#define TIME_LONG_OPTIONS                                                    \
    { "timeout", required_argument, NULL, 0x1100 },                          \
        { "handshake-timeout", required_argument, NULL, 0x1101 }

#define TIME_OPTIONS_HELP                                                    \
    "  --timeout S                      fail after S seconds without "        \
    "progress\n"                                                             \
    "                                   (default 60)\n"                      \
    "  --handshake-timeout S            the whole TLS handshake (default "    \
    "30)\n"

/* 1: opt was a time option (applied to c), 0: not one, -1: bad value
 * (said).  *io_ms gets --timeout. */
int time_opt(struct xmig_tls_config *c, int opt, const char *arg,
             uint32_t *handshake_ms, uint32_t *io_ms);
/* "S" seconds, fractions allowed, above 0, at most a day. */
int parse_seconds(const char *arg, uint32_t *ms);

/* 1: opt was a TLS option (applied), 0: not one, -1: bad value. */
int tls_opt(struct xmig_tls_config *c, int opt, const char *arg,
            const char **cert, const char **key);

/* The peer's certificate must name the host of HOST:PORT (the default of
 * the commands that dial, unless --name says otherwise); -1 (said) when
 * HOST:PORT or the host as a name is refused. */
int tls_opt_name_from_host(const char *cmd, struct xmig_tls_config *c,
                           const char *hostport);

/* Connect to HOST:PORT ("[v6]:port" too); returns a socket or -1. */
int net_connect(const char *cmd, const char *hostport);
/* Connect within ms (0: no limit), watching cancel; -1 with why set. */
int net_connect_limited(const char *hostport, uint32_t ms,
                        struct xmig_cancel *cancel, char *why, size_t len);
/* Listen on HOST:PORT; writes the port chosen (for port 0) to *port. */
int net_listen(const char *cmd, const char *hostport, int *port);

#endif
