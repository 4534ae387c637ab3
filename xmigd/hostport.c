/*
 * HOST:PORT text (hostport.h): a port is decimal digits and nothing else,
 * so that "99999" cannot wrap and "" or "http" cannot reach getaddrinfo,
 * which would take them as "any port" or a service name.
 */
#include <stdio.h>
#include <string.h>

#include "xmigd/hostport.h"

int hostport_parse(const char *text, int listen, struct hostport *out,
                   char *why, size_t len)
{
    const char *colon = strrchr(text, ':'), *host = text, *p;
    const char *range = listen ? "0 (any free port) to 65535" : "1 to 65535";
    size_t n, hlen;
    unsigned long v = 0;

    memset(out, 0, sizeof(*out));
    if (!colon) {
        snprintf(why, len, "'%.300s' has no port: give HOST:PORT, the port "
                 "a number from %s", text, range);
        return -1;
    }
    n = (size_t)(colon - text);
    if (text[0] == '[') {
        if (n < 2 || text[n - 1] != ']') {
            snprintf(why, len, "'%.300s' is not [IPV6]:PORT", text);
            return -1;
        }
        host++;
        n -= 2;
    } else if (memchr(text, ':', n)) {
        /* "fe80::1" would read as host "fe80:" and port 1. */
        snprintf(why, len, "'%.300s': an IPv6 address goes in brackets, "
                 "[ADDR]:PORT", text);
        return -1;
    }
    if (n == 0) {
        snprintf(why, len, "'%.300s' has no host before the port", text);
        return -1;
    }
    if (n >= sizeof(out->host)) {
        snprintf(why, len, "'%.64s...': the host is %zu octets long, at "
                 "most %zu", text, n, sizeof(out->host) - 1);
        return -1;
    }
    hlen = n;
    /* A name or an address, nothing getaddrinfo might read otherwise: a
     * stray bracket, a space or a control character fails here, naming
     * it, not later as an unknown host. */
    for (size_t i = 0; i < hlen; i++) {
        unsigned char c = (unsigned char)host[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                 c == '_' || (text[0] == '[' && (c == ':' || c == '%'));
        if (!ok) {
            char safe[64], what[48];
            size_t k;
            for (k = 0; text[k] && k + 1 < sizeof(safe); k++) {
                unsigned char t = (unsigned char)text[k];
                safe[k] = t > 32 && t < 127 ? (char)t : '?';
            }
            safe[k] = '\0';
            if (c > 32 && c < 127) {
                snprintf(what, sizeof(what), "'%c'", (char)c);
            } else {
                snprintf(what, sizeof(what), "octet 0x%02x (a space, a "
                         "control or not ASCII)", c);
            }
            snprintf(why, len, "'%s%s': the host has %s at position %zu: a "
                     "host is a name or an address (IPv6 in brackets)",
                     safe, text[k] ? "..." : "", what,
                     i + 1 + (text[0] == '['));
            return -1;
        }
    }
    p = colon + 1;
    /* At most five digits: anything longer is out of range whatever it
     * says, and nothing can wrap. */
    for (n = 0; p[n] >= '0' && p[n] <= '9' && n < 6; n++) {
        v = v * 10 + (unsigned long)(p[n] - '0');
    }
    if (n == 0 || p[n] || n > 5 || v > 65535 || (v == 0 && !listen)) {
        snprintf(why, len, "'%.300s': the port '%.16s%s' is not a number "
                 "from %s", text, p, strlen(p) > 16 ? "..." : "", range);
        return -1;
    }
    memcpy(out->host, host, hlen);
    snprintf(out->port, sizeof(out->port), "%lu", v);
    out->num = (unsigned)v;
    return 0;
}
