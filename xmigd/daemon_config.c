/*
 * xmigd's configuration file: "key = value" lines, '#' comments.  Unknown
 * keys are errors (a typo must not silently turn a check off), and so is a
 * key set twice (which one was meant?); only pin repeats.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmigd/cli.h"
#include "xmigd/daemon.h"
#include "xmigd/hostport.h"

static void defaults(struct d_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen, sizeof(c->listen), "0.0.0.0:5600");
    snprintf(c->control, sizeof(c->control), "/run/xmig/xmigd.sock");
    snprintf(c->tls, sizeof(c->tls), "auto");
    snprintf(c->backend, sizeof(c->backend), "sim");
    c->max_parallel = 1;
    c->handshake_ms = 30000;
    c->io_ms = 60000;
    c->handover_ms = 30000;
    c->handover_expiry = XMIG_HANDOVER_KEEP_PAUSED;
    c->max_handshakes = 32;
    c->max_handshakes_per_source = 8;
}

uint32_t d_seconds_ms(double s)
{
    /* NaN, negative or beyond a day: a value d_migrate_start refuses. */
    if (!(s >= 0) || s > D_MAX_TIMEOUT_MS / 1000) {
        return UINT32_MAX;
    }
    return (uint32_t)llround(s * 1000);
}

/* "N" seconds (plain decimal, fractions allowed), 0 < N <= one day. */
static int seconds(const char *v, uint32_t *ms)
{
    double s;

    if (cli_decimal(v, &s) < 0 || !(s > 0) || s > D_MAX_TIMEOUT_MS / 1000 ||
        llround(s * 1000) == 0) {
        return -1;
    }
    *ms = (uint32_t)llround(s * 1000);
    return 0;
}

/* A whole number from lo to hi, digits only. */
static int whole(const char *v, unsigned long long lo, unsigned long long hi,
                 unsigned long long *out)
{
    char *end;
    unsigned long long n;

    if (v[0] < '0' || v[0] > '9') {
        return -1;
    }
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno || *end || n < lo || n > hi) {
        return -1;
    }
    *out = n;
    return 0;
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) {
        *--e = '\0';
    }
    return s;
}

/* Copy a value into its field, refusing what would not fit (a path cut
 * short is another path). */
static int copy(char *dst, size_t len, const char *k, const char *v,
                char *err, size_t errlen)
{
    if (strlen(v) >= len) {
        snprintf(err, errlen, "%s is %zu octets long, at most %zu", k,
                 strlen(v), len - 1);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* The library's own check of a pin or a peer name (the one parser the
 * command line's --pin and --name use too), on a scratch configuration,
 * so that a bad one is refused here with its line, not when xmigd starts
 * its TLS. */
static int tls_value(const char *k, const char *v, char *err, size_t errlen)
{
    struct xmig_tls_config *t = xmig_tls_config_create();
    int rc;

    if (!t) {
        snprintf(err, errlen, "%s: out of memory", k);
        return -1;
    }
    rc = strcmp(k, "pin") == 0 ? xmig_tls_config_add_pin(t, v)
                               : xmig_tls_config_set_peer_name(t, v);
    if (rc < 0) {
        snprintf(err, errlen, "%s", xmig_error_message());
    }
    xmig_tls_config_free(t);
    return rc;
}

static int set(struct d_config *c, const char *k, const char *v, char *err,
               size_t errlen)
{
    unsigned long long n;

#define STR(name)                                                        \
    if (strcmp(k, #name) == 0) {                                         \
        return copy(c->name, sizeof(c->name), k, v, err, errlen);        \
    }
    STR(control)
    STR(cert)
    STR(key)
    STR(ca)
#undef STR
    if (strcmp(k, "listen") == 0) {
        /* Port 0: any free port (xmigd --port-file says which). */
        struct hostport hp;
        char why[400];
        if (hostport_parse(v, 1, &hp, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "listen %s", why);
            return -1;
        }
        return copy(c->listen, sizeof(c->listen), k, v, err, errlen);
    }
    if (strcmp(k, "peer_name") == 0) {
        if (copy(c->peer_name, sizeof(c->peer_name), k, v, err, errlen) < 0) {
            return -1;
        }
        return tls_value(k, v, err, errlen);
    }
    if (strcmp(k, "tls") == 0) {
        enum xmig_tls_mode m;
        if (xmig_tls_mode_parse(v, &m) < 0) {
            snprintf(err, errlen, "%s", xmig_error_message());
            return -1;
        }
        return copy(c->tls, sizeof(c->tls), k, v, err, errlen);
    }
    if (strcmp(k, "backend") == 0) {
        if (strcmp(v, "sim") != 0 && strcmp(v, "xen") != 0) {
            snprintf(err, errlen, "backend 'sim' or 'xen' only, not '%.64s'",
                     v);
            return -1;
        }
        return copy(c->backend, sizeof(c->backend), k, v, err, errlen);
    }
    if (strcmp(k, "pin") == 0) {
        if (c->npins == D_MAX_PINS) {
            snprintf(err, errlen, "more than %d pins", D_MAX_PINS);
            return -1;
        }
        if (copy(c->pins[c->npins], sizeof(c->pins[0]), k, v, err, errlen) <
                0 ||
            tls_value(k, v, err, errlen) < 0) {
            return -1;
        }
        c->npins++;
        return 0;
    }
    if (strcmp(k, "insecure") == 0 || strcmp(k, "log") == 0) {
        int yes = k[0] == 'i' ? strcmp(v, "yes") == 0 : strcmp(v, "syslog") == 0;
        int no = k[0] == 'i' ? strcmp(v, "no") == 0 : strcmp(v, "stderr") == 0;
        if (!yes && !no) {
            snprintf(err, errlen, "%s is %s, not '%.64s'", k,
                     k[0] == 'i' ? "yes or no" : "stderr or syslog", v);
            return -1;
        }
        *(k[0] == 'i' ? &c->insecure : &c->syslog) = yes;
        return 0;
    }
    if (strcmp(k, "max_parallel_per_link") == 0) {
        if (whole(v, 1, D_MAX_MIGRATIONS, &n) < 0) {
            snprintf(err, errlen, "%s must be a whole number from 1 to %d, "
                     "not '%.64s'", k, D_MAX_MIGRATIONS, v);
            return -1;
        }
        c->max_parallel = (int)n;
        return 0;
    }
    if (strcmp(k, "max_memory_mib") == 0) {
        if (whole(v, 0, 1ull << 22, &n) < 0) {
            snprintf(err, errlen, "%s must be a whole number of MiB from 0 "
                     "(this host's RAM) to 4194304, not '%.64s'", k, v);
            return -1;
        }
        c->max_memory_mib = n;
        return 0;
    }
    if (strcmp(k, "handshake_timeout") == 0 || strcmp(k, "io_timeout") == 0 ||
        strcmp(k, "handover_timeout") == 0) {
        uint32_t *ms = k[0] == 'i' ? &c->io_ms
                       : k[4] == 's' ? &c->handshake_ms : &c->handover_ms;
        if (seconds(v, ms) < 0) {
            snprintf(err, errlen, "%s must be a number of seconds above 0 "
                     "and at most %u, not '%.64s'", k,
                     D_MAX_TIMEOUT_MS / 1000, v);
            return -1;
        }
        return 0;
    }
    if (strcmp(k, "handover_expiry") == 0) {
        if (strcmp(v, "keep-paused") == 0) {
            c->handover_expiry = XMIG_HANDOVER_KEEP_PAUSED;
        } else if (strcmp(v, "resume") == 0) {
            c->handover_expiry = XMIG_HANDOVER_RESUME;
        } else {
            snprintf(err, errlen, "handover_expiry is keep-paused or resume, "
                     "not '%.64s'", v);
            return -1;
        }
        return 0;
    }
    if (strcmp(k, "max_handshakes") == 0 ||
        strcmp(k, "max_handshakes_per_source") == 0) {
        int *out = k[14] ? &c->max_handshakes_per_source : &c->max_handshakes;
        if (whole(v, 1, D_MAX_HANDSHAKES, &n) < 0) {
            snprintf(err, errlen, "%s must be a whole number from 1 to %d, "
                     "not '%.64s'", k, D_MAX_HANDSHAKES, v);
            return -1;
        }
        *out = (int)n;
        return 0;
    }
    snprintf(err, errlen, "unknown setting '%.64s'", k);
    return -1;
}

int d_config_parse(struct d_config *c, const char *text, size_t len,
                   int *at_line, char *err, size_t errlen)
{
    char buf[D_CONFIG_LINE_MAX + 1];
    /* The keys set so far and their lines (every known key fits). */
    struct {
        char key[32];
        int line;
    } seen[32];
    size_t pos = 0, nseen = 0;
    int line = 0;

    defaults(c);
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char *s, *eq;
        int rc;

        line++;
        if (n > D_CONFIG_LINE_MAX) {
            *at_line = line;
            snprintf(err, errlen, "longer than %d octets", D_CONFIG_LINE_MAX);
            return -1;
        }
        if (memchr(text + pos, '\0', n)) {
            *at_line = line;
            snprintf(err, errlen, "a NUL octet");
            return -1;
        }
        memcpy(buf, text + pos, n);
        buf[n] = '\0';
        pos += n + (nl != NULL);
        s = trim(buf);
        if (*s == '#' || *s == '\0') {
            continue;
        }
        eq = strchr(s, '=');
        if (!eq) {
            *at_line = line;
            snprintf(err, errlen, "expected 'key = value'");
            return -1;
        }
        *eq = '\0';
        s = trim(s);
        for (size_t i = 0; i < nseen; i++) {
            if (strcmp(seen[i].key, s) == 0) {
                *at_line = line;
                snprintf(err, errlen, "%s is set again (first on line %d): "
                         "each key once, only pin repeats", s, seen[i].line);
                return -1;
            }
        }
        rc = set(c, s, trim(eq + 1), err, errlen);
        if (rc < 0) {
            *at_line = line;
            return -1;
        }
        if (strcmp(s, "pin") != 0) {
            if (nseen == sizeof(seen) / sizeof(seen[0]) ||
                strlen(s) >= sizeof(seen[0].key)) {
                *at_line = line;   /* a key set() knows: cannot happen */
                snprintf(err, errlen, "too many keys");
                return -1;
            }
            snprintf(seen[nseen].key, sizeof(seen[0].key), "%s", s);
            seen[nseen++].line = line;
        }
    }
    if (c->max_handshakes_per_source > c->max_handshakes) {
        c->max_handshakes_per_source = c->max_handshakes;
    }
    return 0;
}

int d_config_load(struct d_config *c, const char *path)
{
    char *text = NULL, err[600];
    size_t len = 0;
    FILE *f;
    int rc, line = 0;

    defaults(c);
    if (!path) {
        return 0;
    }
    f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "xmigd: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    text = malloc(D_CONFIG_MAX + 1);
    if (text) {
        len = fread(text, 1, D_CONFIG_MAX + 1, f);
    }
    fclose(f);
    if (!text || len > D_CONFIG_MAX) {
        fprintf(stderr, "xmigd: %s: %s\n", path,
                text ? "larger than 64 KiB" : "out of memory");
        free(text);
        return -1;
    }
    rc = d_config_parse(c, text, len, &line, err, sizeof(err));
    free(text);
    if (rc < 0) {
        fprintf(stderr, "xmigd: %s:%d: %s\n", path, line, err);
    }
    return rc;
}

struct xmig_tls_config *d_tls_config(const struct d_config *c,
                                     const char *mode, const char *peer)
{
    struct xmig_tls_config *t = xmig_tls_config_create();
    enum xmig_tls_mode m;

    if (!t || xmig_tls_mode_parse(mode[0] ? mode : c->tls, &m) < 0 ||
        xmig_tls_config_set_mode(t, m) < 0 ||
        (c->cert[0] && xmig_tls_config_set_identity(t, c->cert, c->key) < 0) ||
        (c->ca[0] && xmig_tls_config_set_ca(t, c->ca) < 0) ||
        (peer && peer[0] && xmig_tls_config_set_peer_name(t, peer) < 0) ||
        xmig_tls_config_set_insecure(t, c->insecure) < 0 ||
        xmig_tls_config_set_timeouts(t, c->handshake_ms, c->io_ms) < 0) {
        xmig_tls_config_free(t);
        return NULL;
    }
    for (int i = 0; i < c->npins; i++) {
        if (xmig_tls_config_add_pin(t, c->pins[i]) < 0) {
            xmig_tls_config_free(t);
            return NULL;
        }
    }
    return t;
}
