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
