/*
 * xmigd's control socket: a Unix stream socket only its own user (root)
 * may use; one JSON request per line, one JSON reply per line.  The
 * protocol is in docs/control-protocol.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "xmigd/cli.h"
#include "xmigd/ctl_json.h"
#include "xmigd/ctl_requests.h"
#include "xmigd/daemon.h"

#define LINE_MAX_LEN 8192

static json_t *fail(const char *msg)
{
    return json_pack("{s:b, s:o}", "ok", 0, "error", cj_text(msg));
}

static json_t *ok(void)
{
    return json_pack("{s:b}", "ok", 1);
}

static json_t *op_create(struct daemon *d, json_t *o)
{
    const char *name = cj_str(o, "name"), *wl = cj_str(o, "workload");
    struct xmig_sim_config c = { 0 };
    struct xmig_guest *g;
    struct d_guest *dg;
    char why[128];

    c.memory_bytes = cj_uint(o, "memory_mib", 512) << 20;
    c.vcpus = (uint32_t)cj_uint(o, "vcpus", 2);
    c.dirty_rate = cj_uint(o, "rate", 0);
    c.domid = (uint16_t)cj_uint(o, "domid", 11);
    c.seed = (uint32_t)cj_uint(o, "seed", 1);
    c.fill_percent = (unsigned)cj_uint(o, "fill", 50);
    c.workload = XMIG_SIM_MIXED;
    if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789-_.") != strlen(name)) {
        return fail("create needs a name of letters, digits, '-', '_', '.'");
    }
    if (wl && xmig_sim_workload_parse(wl, &c.workload) < 0) {
        return fail(xmig_error_message());
    }
    pthread_mutex_lock(&d->lock);
    if (d_guest_find(d, name)) {
        pthread_mutex_unlock(&d->lock);
        snprintf(why, sizeof(why), "a guest named %s exists", name);
        return fail(why);
    }
    pthread_mutex_unlock(&d->lock);
    g = xmig_sim_guest_create(&c);
    if (!g) {
        return fail(xmig_error_message());
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
        return fail("the guest table is full");
    }
    d_log(d, 0, "created sim guest %s (%llu MiB, %u vCPUs, %s)", name,
          (unsigned long long)(c.memory_bytes >> 20), c.vcpus,
          xmig_sim_workload_name(c.workload));
    return json_pack("{s:b, s:s}", "ok", 1, "guest", name);
}

static json_t *op_list(struct daemon *d)
{
    json_t *guests = json_array();

    pthread_mutex_lock(&d->lock);
    for (int i = 0; guests && i < D_MAX_GUESTS; i++) {
        struct d_guest *g = &d->guests[i];
        if (g->state == G_FREE) {
            continue;
        }
        json_array_append_new(
            guests,
            json_pack("{s:s, s:s, s:I, s:s, s:I}", "name", g->name, "state",
                      g->state == G_MIGRATING ? "migrating"
                      : g->state == G_PAUSED  ? "paused"
                                              : "running",
                      "memory_mib", (json_int_t)g->memory_mib, "origin",
                      g->origin, g->xen ? "domid" : "heartbeat",
                      g->xen ? (json_int_t)xmig_xen_guest_domid(g->g)
                             : (json_int_t)xmig_sim_heartbeat(g->g)));
    }
    pthread_mutex_unlock(&d->lock);
    return json_pack("{s:b, s:o}", "ok", 1, "guests", guests);
}

static json_t *op_destroy(struct daemon *d, json_t *o)
{
    const char *name = cj_str(o, "guest");
    struct d_guest *g;
    char why[600];

    pthread_mutex_lock(&d->lock);
    g = d_guest_find(d, name);
    if (!g || g->state == G_MIGRATING) {
        pthread_mutex_unlock(&d->lock);
        snprintf(why, sizeof(why), g ? "%s is migrating: cancel first"
                                     : "no such guest: %s", name);
        return fail(why);
    }
    /* A domain is destroyed as xl destroy does (libxl). */
    if (g->xen && xmig_xen_guest_destroy_domain(g->g) < 0) {
        snprintf(why, sizeof(why), "%s", xmig_error_message());
        g->state = G_FREE;   /* the handle is gone either way */
        pthread_mutex_unlock(&d->lock);
        return fail(why);
    }
    if (!g->xen) {
        xmig_guest_destroy(g->g);
    }
    g->state = G_FREE;
    pthread_mutex_unlock(&d->lock);
    return ok();
}

static json_t *op_migrate(struct daemon *d, json_t *o)
{
    struct xmig_migrate_params p;
    const char *guest = cj_str(o, "guest"), *dest = cj_str(o, "destination");
    const char *tls = cj_str(o, "tls");
    enum xmig_tls_mode mode;
    char err[256];
    int id;

    /* The TLS mode is checked here, so that the answer says it. */
    if (tls && xmig_tls_mode_parse(tls, &mode) < 0) {
        return fail(xmig_error_message());
    }
    xmig_migrate_params_init(&p);
    p.downtime_ms = (uint32_t)cj_uint(o, "downtime_ms", p.downtime_ms);
    p.initial_downtime_ms = p.downtime_ms < 30 ? p.downtime_ms : 30;
    p.bandwidth = cj_uint(o, "bandwidth_mib", 0) << 20;
    p.max_iters = (uint32_t)cj_uint(o, "max_iters", p.max_iters);
    p.auto_converge = cj_bool(o, "auto_converge", 1);
    p.transparent = cj_bool(o, "transparent", 0);
    p.verify = cj_bool(o, "verify", 0);
    p.io_timeout_ms = d_seconds_ms(cj_num(o, "timeout_s", 0));
    p.handover_timeout_ms = d_seconds_ms(cj_num(o, "handover_timeout_s", 0));
    p.name = guest;
    id = d_migrate_start(d, guest, dest, &p, tls, err, sizeof(err));
    if (id < 0) {
        return fail(err);
    }
    return json_pack("{s:b, s:i}", "ok", 1, "migration", id);
}

static json_t *op_save(struct daemon *d, json_t *o)
{
    const char *name = cj_str(o, "guest"), *path = cj_str(o, "path");
    int keep = cj_bool(o, "keep", 0), rc;
    struct xmig_migrate_stats st;
    struct d_guest *g;
    char msg[600];

    if (path[0] != '/') {
        return fail("save needs an absolute path");
    }
    pthread_mutex_lock(&d->lock);
    g = d_guest_find_xen(d, name, msg, sizeof(msg));
    if (!g || g->state != G_RUNNING) {
        pthread_mutex_unlock(&d->lock);
        if (g) {
            snprintf(msg, sizeof(msg), "%s is migrating", name);
        }
        return fail(msg);
    }
    g->state = G_MIGRATING;
    pthread_mutex_unlock(&d->lock);
    rc = save_to_file(g->g, name, path, &st);
    pthread_mutex_lock(&d->lock);
    if (rc < 0) {
        g->state = G_RUNNING;   /* the engine resumed it */
        pthread_mutex_unlock(&d->lock);
        snprintf(msg, sizeof(msg), "save failed, %s runs on: %s", name,
                 xmig_error_message());
        return fail(msg);
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
    return json_pack("{s:b, s:o}", "ok", 1, "message", cj_text(msg));
}

static json_t *op_restore(struct daemon *d, json_t *o)
{
    const char *path = cj_str(o, "path"), *want = cj_str(o, "name");
    struct xmig_receive_params rp = { d->cfg.max_memory_mib << 20, 0,
                                      xmig_sim_guest_factory, NULL };
    struct xmig_migrate_stats st;
    struct xmig_transport *t;
    struct xmig_guest *g;
    struct d_guest *dg;
    char name[64], msg[600];
    int fd;

    if (path[0] != '/') {
        return fail("restore needs an absolute path");
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, sizeof(msg), "cannot open %s: %s", path,
                 strerror(errno));
        return fail(msg);
    }
    t = xmig_transport_fd(fd, 1);
    g = t ? xmig_guest_restore(t, &rp, &st) : NULL;
    xmig_transport_free(t);
    if (!g) {
        snprintf(msg, sizeof(msg), "%s: %s; nothing was kept", path,
                 xmig_error_message());
        return fail(msg);
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
        snprintf(msg, sizeof(msg), "a guest named %s exists (restore --name "
                 "NAME)", name);
        return fail(msg);
    }
    snprintf(msg, sizeof(msg), "restored %s from %s", name, path);
    d_log(d, 0, "%s", msg);
    return json_pack("{s:b, s:s, s:o}", "ok", 1, "guest", name, "message",
                     cj_text(msg));
}

static const char *mig_state(enum d_mig_state s)
{
    static const char *names[] = { "free", "queued", "running", "done",
                                   "failed", "cancelled" };
    return names[s];
}

/* The library's statistics (xmig_migrate_stats_json) as a tree, with
 * the job's error message (libvirt's errmsg) when it failed. */
static json_t *stats_tree(const struct xmig_migrate_stats *st,
                          const char *error)
{
    char *buf = malloc(65536);
    json_t *v = NULL;

    if (buf && xmig_migrate_stats_json(st, buf, 65536) == 0) {
        v = json_loads(buf, 0, NULL);
    }
    free(buf);
    if (v && error[0]) {
        json_object_set_new(json_object_get(v, "job"), "errmsg",
                            cj_text(error));
    }
    return v ? v : json_null();
}

static json_t *one_status(struct d_migration *m)
{
    const struct xmig_iteration_stats *l = &m->last;
    int running = m->state == M_RUNNING;
    /* Elapsed time ticks between reports too. */
    double elapsed = running ? d_now() - m->started
                   : m->state >= M_DONE ? m->stats.total_s : 0;
    json_t *o, *stats = json_null();

    if (m->state >= M_DONE) {
        stats = stats_tree(&m->stats, m->error);
    } else if (running && l->iteration) {
        m->live.total_s = elapsed;
        stats = stats_tree(&m->live, m->error);
    }
    o = json_pack(
        "{s:i, s:s, s:s, s:s, s:i, s:b, s:b, s:I, s:I, s:I, s:f, s:f, s:i, "
        "s:f, s:f, s:I, s:f, s:I, s:f, s:f, s:o, s:o}",
        "migration", m->id, "guest", m->guest, "destination", m->destination,
        "state", mig_state(m->state), "round", (int)l->iteration, "final",
        l->final, "partial", l->partial, "pages_sent",
        (json_int_t)l->pages_sent, "zero_pages", (json_int_t)l->zero_pages,
        "dirty_pages", (json_int_t)l->dirty_pages, "transfer_mib_s",
        l->transfer_rate / 1048576.0, "dirty_pages_s", l->dirty_rate,
        "throttle", (int)l->throttle, "elapsed_s", elapsed, "sent_mib",
        (double)l->total_bytes / 1048576.0, "remaining_pages",
        (json_int_t)l->remaining_pages, "average_mib_s",
        l->avg_transfer_rate / 1048576.0, "guest_pages",
        (json_int_t)l->guest_pages, "eta_s", l->eta_s,
        "expected_downtime_ms",
        l->expected_downtime_ms > 1e8 ? -1.0 : l->expected_downtime_ms,
        "error", cj_text(m->error), "stats", stats);
    if (o && running && l->iteration) {
        /* The report's elapsed time was when it was made. */
        json_object_set_new(o, "report_age_s",
                            json_real(elapsed - l->elapsed_s));
    }
    return o;
}

static json_t *op_status(struct daemon *d, json_t *o)
{
    int id = json_object_get(o, "migration")
                 ? (int)cj_uint(o, "migration", 0)
                 : -1;
    json_t *all;
    char why[64];

    pthread_mutex_lock(&d->lock);
    if (id >= 0) {
        for (int i = 0; i < D_MAX_MIGRATIONS; i++) {
            if (d->migs[i].state != M_FREE && d->migs[i].id == id) {
                json_t *one = one_status(&d->migs[i]);
                pthread_mutex_unlock(&d->lock);
                return json_pack("{s:b, s:o}", "ok", 1, "status", one);
            }
        }
        pthread_mutex_unlock(&d->lock);
        snprintf(why, sizeof(why), "no such migration: %d", id);
        return fail(why);
    }
    all = json_array();
    for (int i = 0; all && i < D_MAX_MIGRATIONS; i++) {
        if (d->migs[i].state != M_FREE) {
            json_array_append_new(all, one_status(&d->migs[i]));
        }
    }
    pthread_mutex_unlock(&d->lock);
    return json_pack("{s:b, s:o}", "ok", 1, "migrations", all);
}

static json_t *op_cancel(struct daemon *d, json_t *o)
{
    int id = (int)cj_uint(o, "migration", 0);
    char why[64];

    pthread_mutex_lock(&d->lock);
    for (int i = 0; i < D_MAX_MIGRATIONS; i++) {
        struct d_migration *m = &d->migs[i];
        if (m->state != M_FREE && m->id == id) {
            d_migration_cancel(d, m);
            pthread_cond_broadcast(&d->link_cv);
            pthread_mutex_unlock(&d->lock);
            return ok();
        }
    }
    pthread_mutex_unlock(&d->lock);
    snprintf(why, sizeof(why), "no such migration: %d", id);
    return fail(why);
}

static json_t *op_ping(struct daemon *d)
{
    return json_pack("{s:b, s:s, s:i}", "ok", 1, "version",
                     XMIG_VERSION_STRING, "listen_port", d->listen_port);
}

static json_t *handle(struct daemon *d, const char *line, size_t len)
{
    char err[300];
    json_t *o, *r;
    int op;

    if (ctl_request_check(line, len, &o, &op, err, sizeof(err)) < 0) {
        d_log(d, 1, "control request refused: %s", err);
        return fail(err);
    }
    switch ((enum ctl_op)op) {
    case OP_CREATE:
        r = op_create(d, o);
        break;
    case OP_LIST:
        r = op_list(d);
        break;
    case OP_DESTROY:
        r = op_destroy(d, o);
        break;
    case OP_MIGRATE:
        r = op_migrate(d, o);
        break;
    case OP_STATUS:
        r = op_status(d, o);
        break;
    case OP_CANCEL:
        r = op_cancel(d, o);
        break;
    case OP_SAVE:
        r = op_save(d, o);
        break;
    case OP_RESTORE:
        r = op_restore(d, o);
        break;
    case OP_PING:
        r = op_ping(d);
        break;
    default:
        r = fail("unknown op");
        break;
    }
    json_decref(o);
    return r;
}

/* One reply line (with its newline), malloc'd; a fixed one when out of
 * memory. */
static char *reply_line(json_t *r, size_t *len)
{
    static const char nomem[] = "{\"ok\": false, \"error\": \"out of memory\"}";
    char *s = r ? cj_dump(r) : NULL, *line;

    json_decref(r);
    *len = s ? strlen(s) : strlen(nomem);
    line = malloc(*len + 2);
    if (line) {
        memcpy(line, s ? s : nomem, *len);
        line[(*len)++] = '\n';
    }
    free(s);
    return line;
}

struct client {
    struct daemon *d;
    int fd;
};

static void *client_main(void *arg)
{
    struct client *c = arg;
    char *line = malloc(LINE_MAX_LEN);
    size_t have = 0;

    while (line) {
        ssize_t n = read(c->fd, line + have, LINE_MAX_LEN - have);
        char *nl;
        if (n <= 0) {
            break;
        }
        have += (size_t)n;
        while ((nl = memchr(line, '\n', have)) != NULL) {
            size_t len = (size_t)(nl - line), rlen;
            char *reply = reply_line(handle(c->d, line, len), &rlen);
            int sent = reply && write(c->fd, reply, rlen) == (ssize_t)rlen;
            free(reply);
            if (!sent) {
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
