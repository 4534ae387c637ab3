/*
 * xmigd's control socket: a Unix stream socket only its own user (root)
 * may use; one JSON request per line, one JSON reply per line.  The
 * protocol is in docs/control-protocol.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "xmigd/cli.h"
#include "xmigd/daemon.h"
#include "xmigd/json_flat.h"

#define LINE_MAX_LEN 8192
#define REPLY_MAX (256u << 10)

struct reply {
    char *buf;
    size_t len;
};

__attribute__((format(printf, 2, 3))) static void out(struct reply *r,
                                                      const char *fmt, ...)
{
    va_list ap;
    int n;

    if (r->len >= REPLY_MAX) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(r->buf + r->len, REPLY_MAX - r->len, fmt, ap);
    va_end(ap);
    r->len += n > 0 ? (size_t)n : 0;
    if (r->len > REPLY_MAX) {
        r->len = REPLY_MAX;
    }
}

static void fail(struct reply *r, const char *msg)
{
    char q[1100];

    json_quote(q, sizeof(q), msg);
    r->len = 0;
    out(r, "{\"ok\": false, \"error\": %s}", q);
}

static void op_create(struct daemon *d, const struct json_obj *o,
                      struct reply *r)
{
    const char *name = json_str(o, "name"), *wl = json_str(o, "workload");
    struct xmig_sim_config c = { 0 };
    struct xmig_guest *g;
    struct d_guest *dg;
    char q[200];

    c.memory_bytes = (uint64_t)json_num(o, "memory_mib", 512) << 20;
    c.vcpus = (uint32_t)json_num(o, "vcpus", 2);
    c.dirty_rate = (uint64_t)json_num(o, "rate", 0);
    c.domid = (uint16_t)json_num(o, "domid", 11);
    c.seed = (uint32_t)json_num(o, "seed", 1);
    c.fill_percent = (unsigned)json_num(o, "fill", 50);
    c.workload = XMIG_SIM_MIXED;
    if (!name || !name[0] || strlen(name) >= 64 ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789-_.") != strlen(name)) {
        fail(r, "create needs a name of letters, digits, '-', '_', '.'");
        return;
    }
    if (wl && xmig_sim_workload_parse(wl, &c.workload) < 0) {
        fail(r, xmig_error_message());
        return;
    }
    pthread_mutex_lock(&d->lock);
    if (d_guest_find(d, name)) {
        pthread_mutex_unlock(&d->lock);
        fail(r, "a guest of that name exists");
        return;
    }
    pthread_mutex_unlock(&d->lock);
    g = xmig_sim_guest_create(&c);
    if (!g) {
        fail(r, xmig_error_message());
        return;
    }
    pthread_mutex_lock(&d->lock);
    dg = d_guest_find(d, name) ? NULL : d_guest_add(d, name, g);
    if (dg) {
        dg->memory_mib = c.memory_bytes >> 20;
        dg->vcpus = c.vcpus;
        snprintf(dg->workload, sizeof(dg->workload), "%s",
                 xmig_sim_workload_name(c.workload));
        snprintf(dg->origin, sizeof(dg->origin), "created");
    }
    pthread_mutex_unlock(&d->lock);
    if (!dg) {
        xmig_guest_destroy(g);
        fail(r, "the guest table is full");
        return;
    }
    json_quote(q, sizeof(q), name);
    d_log(d, 0, "created sim guest %s (%llu MiB, %u vCPUs, %s)", name,
          (unsigned long long)(c.memory_bytes >> 20), c.vcpus,
          xmig_sim_workload_name(c.workload));
    out(r, "{\"ok\": true, \"guest\": %s}", q);
}

static void op_list(struct daemon *d, struct reply *r)
{
    int first = 1;

    out(r, "{\"ok\": true, \"guests\": [");
    pthread_mutex_lock(&d->lock);
    for (int i = 0; i < D_MAX_GUESTS; i++) {
        struct d_guest *g = &d->guests[i];
        char q[200];
        if (g->state == G_FREE) {
            continue;
        }
        json_quote(q, sizeof(q), g->name);
        out(r, "%s{\"name\": %s, \"state\": \"%s\", \"memory_mib\": %llu, "
               "\"origin\": \"%s\", \"%s\": %llu}",
            first ? "" : ", ", q,
            g->state == G_MIGRATING ? "migrating"
            : g->state == G_PAUSED  ? "paused"
                                    : "running",
            g->memory_mib, g->origin, g->xen ? "domid" : "heartbeat",
            g->xen ? (unsigned long long)xmig_xen_guest_domid(g->g)
                   : (unsigned long long)xmig_sim_heartbeat(g->g));
        first = 0;
    }
    pthread_mutex_unlock(&d->lock);
    out(r, "]}");
}

static void op_destroy(struct daemon *d, const struct json_obj *o,
                       struct reply *r)
{
    const char *name = json_str(o, "guest");
    struct d_guest *g;

    pthread_mutex_lock(&d->lock);
    g = name ? d_guest_find(d, name) : NULL;
    if (!g || g->state == G_MIGRATING) {
        pthread_mutex_unlock(&d->lock);
        fail(r, g ? "the guest is migrating: cancel first"
                  : "no such guest");
        return;
    }
    /* A domain is destroyed as xl destroy does (libxl). */
    if (g->xen && xmig_xen_guest_destroy_domain(g->g) < 0) {
        char why[512];
        snprintf(why, sizeof(why), "%s", xmig_error_message());
        g->state = G_FREE;   /* the handle is gone either way */
        pthread_mutex_unlock(&d->lock);
        fail(r, why);
        return;
    }
    if (!g->xen) {
        xmig_guest_destroy(g->g);
    }
    g->state = G_FREE;
    pthread_mutex_unlock(&d->lock);
    out(r, "{\"ok\": true}");
}

static void op_migrate(struct daemon *d, const struct json_obj *o,
                       struct reply *r)
{
    struct xmig_migrate_params p;
    const char *guest = json_str(o, "guest"), *dest = json_str(o,
                                                                "destination");
    char err[256];
    int id;

    xmig_migrate_params_init(&p);
    p.downtime_ms = (uint32_t)json_num(o, "downtime_ms", p.downtime_ms);
    p.initial_downtime_ms = p.downtime_ms < 30 ? p.downtime_ms : 30;
    p.bandwidth = (uint64_t)json_num(o, "bandwidth_mib", 0) << 20;
    p.max_iters = (uint32_t)json_num(o, "max_iters", p.max_iters);
    p.auto_converge = json_bool(o, "auto_converge", 1);
    p.transparent = json_bool(o, "transparent", 0);
    p.verify = json_bool(o, "verify", 0);
    p.io_timeout_ms = d_seconds_ms(json_num(o, "timeout_s", 0));
    p.handover_timeout_ms = d_seconds_ms(json_num(o, "handover_timeout_s", 0));
    p.name = guest;
    if (!guest || !dest || p.downtime_ms == 0 || p.max_iters == 0) {
        fail(r, "migrate needs guest and destination (HOST:PORT)");
        return;
    }
    id = d_migrate_start(d, guest, dest, &p, json_str(o, "tls"), err,
                         sizeof(err));
    if (id < 0) {
        fail(r, err);
        return;
    }
    out(r, "{\"ok\": true, \"migration\": %d}", id);
}

static void op_save(struct daemon *d, const struct json_obj *o,
                    struct reply *r)
{
    const char *name = json_str(o, "guest"), *path = json_str(o, "path");
    int keep = json_bool(o, "keep", 0), rc;
    struct xmig_migrate_stats st;
    struct d_guest *g;
    char msg[600];

    if (!name || !path || path[0] != '/') {
        fail(r, "save needs guest and an absolute path");
        return;
    }
    pthread_mutex_lock(&d->lock);
    g = d_guest_find_xen(d, name, msg, sizeof(msg));
    if (!g || g->state != G_RUNNING) {
        pthread_mutex_unlock(&d->lock);
        fail(r, g ? "the guest is migrating" : msg);
        return;
    }
    g->state = G_MIGRATING;
    pthread_mutex_unlock(&d->lock);
    rc = save_to_file(g->g, path, &st);
    pthread_mutex_lock(&d->lock);
    if (rc < 0) {
        g->state = G_RUNNING;   /* the engine resumed it */
        pthread_mutex_unlock(&d->lock);
        snprintf(msg, sizeof(msg), "save failed, %s runs on: %s", name,
                 xmig_error_message());
        fail(r, msg);
        return;
    }
    if (keep) {
        (void)xmig_guest_unpause(g->g);
        g->state = G_RUNNING;
    } else if (g->xen) {
        /* A saved domain goes, as after xl save. */
        if (xmig_xen_guest_destroy_domain(g->g) < 0) {
            d_log(d, 1, "saved %s, but: %s", name, xmig_error_message());
        }
        g->state = G_FREE;
    } else {
        xmig_guest_destroy(g->g);
        g->state = G_FREE;
    }
    pthread_mutex_unlock(&d->lock);
    d_log(d, 0, "saved %s to %s (%.1f MiB)%s", name, path,
          (double)st.bytes / 1048576.0, keep ? ", still running" : "");
    snprintf(msg, sizeof(msg), "saved %s to %s (%.1f MiB)%s", name, path,
             (double)st.bytes / 1048576.0, keep ? "; it runs on" : "");
    {
        char q[800];
        json_quote(q, sizeof(q), msg);
        out(r, "{\"ok\": true, \"message\": %s}", q);
    }
}

static void op_restore(struct daemon *d, const struct json_obj *o,
                       struct reply *r)
{
    const char *path = json_str(o, "path"), *want = json_str(o, "name");
    struct xmig_receive_params rp = { d->cfg.max_memory_mib << 20, 0, NULL,
                                      NULL };
    struct xmig_migrate_stats st;
    struct xmig_transport *t;
    struct xmig_guest *g;
    struct d_guest *dg;
    char name[64], msg[600], q[800];
    int fd;

    if (!path || path[0] != '/') {
        fail(r, "restore needs an absolute path");
        return;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, sizeof(msg), "cannot open %s: %s", path,
                 strerror(errno));
        fail(r, msg);
        return;
    }
    t = xmig_transport_fd(fd, 1);
    g = t ? xmig_guest_restore(t, &rp, &st) : NULL;
    xmig_transport_free(t);
    if (!g) {
        snprintf(msg, sizeof(msg), "%s: %s; nothing was kept", path,
                 xmig_error_message());
        fail(r, msg);
        return;
    }
    snprintf(name, sizeof(name), "%s",
             want && want[0] ? want
                             : st.guest_name[0] ? st.guest_name : "restored");
    pthread_mutex_lock(&d->lock);
    dg = d_guest_find(d, name) ? NULL : d_guest_add(d, name, g);
    if (dg) {
        dg->memory_mib = st.guest_pages / 256;
        snprintf(dg->origin, sizeof(dg->origin), "restored");
    }
    pthread_mutex_unlock(&d->lock);
    if (!dg) {
        xmig_guest_destroy(g);
        fail(r, "a guest of that name exists (restore --name NAME)");
        return;
    }
    snprintf(msg, sizeof(msg), "restored %s from %s", name, path);
    d_log(d, 0, "%s", msg);
    json_quote(q, sizeof(q), msg);
    out(r, "{\"ok\": true, \"guest\": \"%s\", \"message\": %s}", name,
        q);
}

static const char *mig_state(enum d_mig_state s)
{
    static const char *names[] = { "free", "queued", "running", "done",
                                   "failed", "cancelled" };
    return names[s];
}

static void one_status(struct d_migration *m, struct reply *r)
{
    char q[1100], stats[16384] = "null";
    const struct xmig_iteration_stats *l = &m->last;

    json_quote(q, sizeof(q), m->error);
    if (m->state >= M_DONE) {
        (void)xmig_migrate_stats_json(&m->stats, stats, sizeof(stats));
    }
    out(r, "{\"migration\": %d, \"guest\": \"%s\", \"destination\": \"%s\", "
           "\"state\": \"%s\", \"round\": %u, \"final\": %s, \"pages_sent\": "
           "%llu, \"dirty_pages\": %llu, \"transfer_mib_s\": %.1f, "
           "\"dirty_pages_s\": %.0f, \"throttle\": %u, \"elapsed_s\": %.2f, "
           "\"error\": %s, \"stats\": %s}",
        m->id, m->guest, m->destination, mig_state(m->state), l->iteration,
        l->final ? "true" : "false", (unsigned long long)l->pages_sent,
        (unsigned long long)l->dirty_pages, l->transfer_rate / 1048576.0,
        l->dirty_rate, l->throttle, l->start_s + l->duration_s, q, stats);
}

static void op_status(struct daemon *d, const struct json_obj *o,
                      struct reply *r)
{
    int id = (int)json_num(o, "migration", -1), first = 1;

    pthread_mutex_lock(&d->lock);
    if (id >= 0) {
        for (int i = 0; i < D_MAX_MIGRATIONS; i++) {
            if (d->migs[i].state != M_FREE && d->migs[i].id == id) {
                out(r, "{\"ok\": true, \"status\": ");
                one_status(&d->migs[i], r);
                out(r, "}");
                pthread_mutex_unlock(&d->lock);
                return;
            }
        }
        pthread_mutex_unlock(&d->lock);
        fail(r, "no such migration");
        return;
    }
    out(r, "{\"ok\": true, \"migrations\": [");
    for (int i = 0; i < D_MAX_MIGRATIONS; i++) {
        if (d->migs[i].state != M_FREE) {
            out(r, "%s", first ? "" : ", ");
            one_status(&d->migs[i], r);
            first = 0;
        }
    }
    pthread_mutex_unlock(&d->lock);
    out(r, "]}");
}

static void op_cancel(struct daemon *d, const struct json_obj *o,
                      struct reply *r)
{
    int id = (int)json_num(o, "migration", -1);

    pthread_mutex_lock(&d->lock);
    for (int i = 0; i < D_MAX_MIGRATIONS; i++) {
        struct d_migration *m = &d->migs[i];
        if (m->state != M_FREE && m->id == id) {
            d_migration_cancel(d, m);
            pthread_cond_broadcast(&d->link_cv);
            pthread_mutex_unlock(&d->lock);
            out(r, "{\"ok\": true}");
            return;
        }
    }
    pthread_mutex_unlock(&d->lock);
    fail(r, "no such migration");
}

static void handle(struct daemon *d, const char *line, size_t len,
                   struct reply *r)
{
    struct json_obj o;
    char err[256];
    const char *op;

    if (json_flat_parse(line, len, &o, err, sizeof(err)) < 0) {
        fail(r, err);
        return;
    }
    op = json_str(&o, "op");
    if (!op) {
        fail(r, "a request needs \"op\"");
    } else if (strcmp(op, "create") == 0) {
        op_create(d, &o, r);
    } else if (strcmp(op, "list") == 0) {
        op_list(d, r);
    } else if (strcmp(op, "destroy") == 0) {
        op_destroy(d, &o, r);
    } else if (strcmp(op, "migrate") == 0) {
        op_migrate(d, &o, r);
    } else if (strcmp(op, "status") == 0) {
        op_status(d, &o, r);
    } else if (strcmp(op, "cancel") == 0) {
        op_cancel(d, &o, r);
    } else if (strcmp(op, "save") == 0) {
        op_save(d, &o, r);
    } else if (strcmp(op, "restore") == 0) {
        op_restore(d, &o, r);
    } else if (strcmp(op, "ping") == 0) {
        out(r, "{\"ok\": true, \"version\": \"%s\", \"listen_port\": %d}",
            XMIG_VERSION_STRING, d->listen_port);
    } else {
        fail(r, "unknown op (create, list, destroy, migrate, status, cancel, "
                "save, restore, ping)");
    }
}

struct client {
    struct daemon *d;
    int fd;
};

static void *client_main(void *arg)
{
    struct client *c = arg;
    char *line = malloc(LINE_MAX_LEN);
    struct reply r = { malloc(REPLY_MAX + 2), 0 };
    size_t have = 0;

    while (line && r.buf) {
        ssize_t n = read(c->fd, line + have, LINE_MAX_LEN - have);
        char *nl;
        if (n <= 0) {
            break;
        }
        have += (size_t)n;
        while ((nl = memchr(line, '\n', have)) != NULL) {
            size_t len = (size_t)(nl - line);
            r.len = 0;
            handle(c->d, line, len, &r);
            r.buf[r.len++] = '\n';
            if (write(c->fd, r.buf, r.len) != (ssize_t)r.len) {
                goto out;
            }
            memmove(line, nl + 1, have - len - 1);
            have -= len + 1;
        }
        if (have == LINE_MAX_LEN) {
            static const char msg[] =
                "{\"ok\": false, \"error\": \"request line too long\"}\n";
            (void)!write(c->fd, msg, sizeof(msg) - 1);
            break;
        }
    }
out:
    close(c->fd);
    free(line);
    free(r.buf);
    free(c);
    return NULL;
}

void *d_control_main(void *arg)
{
    struct daemon *d = arg;
    struct d_accept_state st = { "control", 0, 0, 0, 0 };

    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl;
        int fd = d_accept(d, d->control_fd, &st, &ss, &sl);
        struct ucred cred = { 0, 0, 0 };
        socklen_t cl = sizeof(cred);
        struct client *c;
        pthread_t th;

        if (fd < 0) {
            break;
        }
        /* Root, or the daemon's own user, only. */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
            (cred.uid != 0 && cred.uid != geteuid())) {
            static const char msg[] =
                "{\"ok\": false, \"error\": \"permission denied\"}\n";
            (void)!write(fd, msg, sizeof(msg) - 1);
            close(fd);
            d_log_refusal(d, &st, "refused a client of uid %d (pid %d): "
                          "only root and uid %d may use it",
                          cl == sizeof(cred) ? (int)cred.uid : -1,
                          cl == sizeof(cred) ? (int)cred.pid : -1,
                          (int)geteuid());
            continue;
        }
        c = malloc(sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->d = d;
        c->fd = fd;
        if (pthread_create(&th, NULL, client_main, c) != 0) {
            close(fd);
            free(c);
            continue;
        }
        pthread_detach(th);
    }
    return NULL;
}
