/*
 * xmigd's configuration file: "key = value" lines, '#' comments.  Unknown
 * keys are errors (a typo must not silently turn a check off).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmigd/daemon.h"

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

/* "N" seconds (fractions allowed), 0 < N <= one day. */
static int seconds(const char *v, uint32_t *ms)
{
    char *end;
    double s = strtod(v, &end);

    if (end == v || *end || !(s > 0) || s > D_MAX_TIMEOUT_MS / 1000 ||
        llround(s * 1000) == 0) {
        return -1;
    }
    *ms = (uint32_t)llround(s * 1000);
    return 0;
}

static int count(const char *v, int max, int *out)
{
    char *end;
    long n = strtol(v, &end, 10);

    if (end == v || *end || n < 1 || n > max) {
        return -1;
    }
    *out = (int)n;
    return 0;
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
                     e[-1] == '\r')) {
        *--e = '\0';
    }
    return s;
}

static int set(struct d_config *c, const char *k, const char *v,
               const char *path, int line)
{
#define STR(name)                                                        \
    if (strcmp(k, #name) == 0) {                                         \
        snprintf(c->name, sizeof(c->name), "%s", v);                     \
        return 0;                                                        \
    }
    STR(listen)
    STR(control)
    STR(tls)
    STR(cert)
    STR(key)
    STR(ca)
    STR(backend)
#undef STR
    if (strcmp(k, "peer_name") == 0) {
        snprintf(c->peer_name, sizeof(c->peer_name), "%s", v);
    } else if (strcmp(k, "pin") == 0 && c->npins < D_MAX_PINS) {
        snprintf(c->pins[c->npins++], sizeof(c->pins[0]), "%s", v);
    } else if (strcmp(k, "insecure") == 0) {
        c->insecure = strcmp(v, "yes") == 0 || strcmp(v, "1") == 0;
    } else if (strcmp(k, "max_parallel_per_link") == 0) {
        c->max_parallel = atoi(v);
    } else if (strcmp(k, "max_memory_mib") == 0) {
        c->max_memory_mib = strtoull(v, NULL, 10);
    } else if (strcmp(k, "log") == 0) {
        c->syslog = strcmp(v, "syslog") == 0;
    } else if (strcmp(k, "handshake_timeout") == 0 ||
               strcmp(k, "io_timeout") == 0 ||
               strcmp(k, "handover_timeout") == 0) {
        uint32_t *ms = k[0] == 'i' ? &c->io_ms
                       : k[4] == 's' ? &c->handshake_ms : &c->handover_ms;
        if (seconds(v, ms) < 0) {
            fprintf(stderr, "xmigd: %s:%d: %s must be a number of seconds "
                    "above 0 and at most %u, not '%s'\n", path, line, k,
                    D_MAX_TIMEOUT_MS / 1000, v);
            return -1;
        }
    } else if (strcmp(k, "handover_expiry") == 0) {
        if (strcmp(v, "keep-paused") == 0) {
            c->handover_expiry = XMIG_HANDOVER_KEEP_PAUSED;
        } else if (strcmp(v, "resume") == 0) {
            c->handover_expiry = XMIG_HANDOVER_RESUME;
        } else {
            fprintf(stderr, "xmigd: %s:%d: handover_expiry is keep-paused "
                    "or resume, not '%s'\n", path, line, v);
            return -1;
        }
    } else if (strcmp(k, "max_handshakes") == 0 ||
               strcmp(k, "max_handshakes_per_source") == 0) {
        int *n = k[14] ? &c->max_handshakes_per_source : &c->max_handshakes;
        if (count(v, D_MAX_HANDSHAKES, n) < 0) {
            fprintf(stderr, "xmigd: %s:%d: %s must be a whole number from 1 "
                    "to %d, not '%s'\n", path, line, k, D_MAX_HANDSHAKES, v);
            return -1;
        }
    } else {
        fprintf(stderr, "xmigd: %s:%d: unknown setting '%s'\n", path, line, k);
        return -1;
    }
    return 0;
}

int d_config_load(struct d_config *c, const char *path)
{
    char buf[1024];
    FILE *f;
    int line = 0, rc = 0;

    defaults(c);
    if (!path) {
        return 0;
    }
    f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "xmigd: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (rc == 0 && fgets(buf, sizeof(buf), f)) {
        char *s = trim(buf), *eq;
        line++;
        if (*s == '#' || *s == '\0') {
            continue;
        }
        eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "xmigd: %s:%d: expected 'key = value'\n", path,
                    line);
            rc = -1;
            break;
        }
        *eq = '\0';
        rc = set(c, trim(s), trim(eq + 1), path, line);
    }
    fclose(f);
    if (rc == 0 && c->max_handshakes_per_source > c->max_handshakes) {
        c->max_handshakes_per_source = c->max_handshakes;
    }
    if (rc == 0 && (c->max_parallel < 1 || (strcmp(c->backend, "sim") != 0 &&
                                            strcmp(c->backend, "xen") != 0))) {
        fprintf(stderr, "xmigd: %s: max_parallel_per_link must be at least 1 "
                        "and backend 'sim' or 'xen'\n",
                path);
        rc = -1;
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
