/* xmigd's guest table and log lines. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "xmigd/daemon.h"

void d_log(const struct daemon *d, int err, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (d->cfg.syslog) {
        syslog(err ? LOG_ERR : LOG_INFO, "%s", line);
    } else {
        fprintf(stderr, "xmigd: %s%s\n", err ? "error: " : "", line);
    }
}

void d_library_log(void *user, int level, const char *line)
{
    const struct daemon *d = user;
    int warning = level == XMIG_LOG_LEVEL_WARNING;

    if (d->cfg.syslog) {
        syslog(warning ? LOG_WARNING : LOG_INFO, "%s", line);
    } else {
        fprintf(stderr, "xmigd: %s%s\n", warning ? "warning: " : "", line);
    }
}

struct d_guest *d_guest_find(struct daemon *d, const char *name)
{
    for (int i = 0; i < D_MAX_GUESTS; i++) {
        if (d->guests[i].state != G_FREE &&
            strcmp(d->guests[i].name, name) == 0) {
            return &d->guests[i];
        }
    }
    return NULL;
}

struct d_guest *d_guest_add(struct daemon *d, const char *name,
                            struct xmig_guest *g)
{
    for (int i = 0; i < D_MAX_GUESTS; i++) {
        struct d_guest *dg = &d->guests[i];
        if (dg->state == G_FREE) {
            memset(dg, 0, sizeof(*dg));
            dg->state = G_RUNNING;
            snprintf(dg->name, sizeof(dg->name), "%s", name);
            dg->g = g;
            return dg;
        }
    }
    return NULL;
}

struct d_guest *d_guest_find_xen(struct daemon *d, const char *name,
                                 char *err, size_t errlen)
{
    struct d_guest *dg = d_guest_find(d, name);
    struct xmig_guest *g;
    uint32_t domid;

    if (dg || !d_xen(d)) {
        if (!dg) {
            snprintf(err, errlen, "no guest named '%s' here", name);
        }
        return dg;
    }
    if (strlen(name) >= sizeof(dg->name)) {
        snprintf(err, errlen, "domain name '%.40s...' is too long for xmigd "
                 "(at most %zu characters)", name, sizeof(dg->name) - 1);
        return NULL;
    }
    if (xmig_xen_domain_lookup(name, &domid) < 0) {
        snprintf(err, errlen, "%s", xmig_error_message());
        return NULL;
    }
    /* One entry per domain, whatever it was asked for by (name, id). */
    for (int i = 0; i < D_MAX_GUESTS; i++) {
        dg = &d->guests[i];
        if (dg->state != G_FREE && dg->xen &&
            xmig_xen_guest_domid(dg->g) == domid) {
            return dg;
        }
    }
    g = xmig_xen_guest_open(domid);
    if (!g) {
        snprintf(err, errlen, "%s", xmig_error_message());
        return NULL;
    }
    dg = d_guest_add(d, name, g);
    if (!dg) {
        xmig_guest_destroy(g);
        snprintf(err, errlen, "no room in the guest table for %s", name);
        return NULL;
    }
    dg->xen = 1;
    snprintf(dg->origin, sizeof(dg->origin), "xen");
    return dg;
}
