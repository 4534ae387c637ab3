/*
 * xmigd's migrations: outgoing ones in a thread each (at most
 * max_parallel_per_link at a time to one destination: parallel migrations
 * over one link starve each other), incoming ones accepted on the TLS port.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "xmigd/daemon.h"
#include "xmigd/tls_opts.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct job {
    struct daemon *d;
    struct d_migration *m;
};

static void on_round(void *user, const struct xmig_iteration_stats *r)
{
    struct job *j = user;

    /* The engine's thread: its statistics are consistent here. */
    pthread_mutex_lock(&j->d->lock);
    j->m->last = *r;
    j->m->live = j->m->stats;
    pthread_mutex_unlock(&j->d->lock);
}

static int running_to(struct daemon *d, const char *dest)
{
    int n = 0;

    for (int i = 0; i < D_MAX_MIGRATIONS; i++) {
        n += d->migs[i].state == M_RUNNING &&
             strcmp(d->migs[i].destination, dest) == 0;
    }
    return n;
}

/* The host part of HOST:PORT, for the certificate name check. */
static void host_of(const char *dest, char *out, size_t len)
{
    const char *colon = strrchr(dest, ':');
    size_t n = colon ? (size_t)(colon - dest) : strlen(dest);

    if (dest[0] == '[' && n >= 2) {
        dest++;
        n -= 2;
    }
    snprintf(out, len, "%.*s", (int)n, dest);
}

static void finish(struct daemon *d, struct d_migration *m,
                   struct d_guest *dg, int rc, const char *error)
{
    char warning[256];

    pthread_mutex_lock(&d->lock);
    /* status reads it under the lock: written here, not as it happens */
    snprintf(m->error, sizeof(m->error), "%s", error);
    if (rc == 0) {
        m->state = M_DONE;
        d_log(d, 0, "migration %d: %s moved to %s in %.2f s, downtime "
              "%.1f ms (stop %.1f, last pages and state %.1f, destination "
              "%.1f)", m->id, m->guest, m->destination, m->stats.total_s,
              m->stats.downtime_ms, m->stats.stop_ms, m->stats.final_ms,
              m->stats.handover_ms);
        if (xmig_migrate_stats_warning(&m->stats, warning, sizeof(warning))) {
            d_log(d, 1, "migration %d of %s: %s", m->id, m->guest, warning);
        }
        /* A domain's copy here is left suspended by the engine: it goes,
         * as after xl migrate. */
        if (dg->xen && xmig_xen_guest_destroy_domain(dg->g) < 0) {
            d_log(d, 1, "migration %d: the source domain %s: %s", m->id,
                  m->guest, xmig_error_message());
        } else if (!dg->xen) {
            xmig_guest_destroy(dg->g);
        }
        dg->state = G_FREE;
    } else {
        m->state = xmig_cancel_raised(m->cancel) ? M_CANCELLED : M_FAILED;
        d_log(d, 1, "migration %d of %s to %s: %s", m->id, m->guest,
              m->destination, m->error);
        /* Paused when the outcome is unknown (docs/timeouts.md). */
        dg->state = m->stats.source_paused ? G_PAUSED : G_RUNNING;
        if (m->stats.source_paused) {
            d_log(d, 1, "guest %s stays PAUSED here: check %s; if the guest "
                  "does not run there, resume it here, else destroy it here",
                  m->guest, m->destination);
        }
    }
    pthread_cond_broadcast(&d->link_cv);
    pthread_mutex_unlock(&d->lock);
}

static void *outgoing_main(void *arg)
{
    struct job *j = arg;
    struct daemon *d = j->d;
    struct d_migration *m = j->m;
    struct d_guest *dg;
    struct xmig_tls_config *tls;
    struct xmig_transport *t = NULL;
    char host[256], error[sizeof(m->error)] = "";
    int s, rc = -1;

    /* Each migration ahead in the queue ends within its time limits
     * (docs/timeouts.md), so the wait here is bounded too. */
    pthread_mutex_lock(&d->lock);
    while (!xmig_cancel_raised(m->cancel) && !d->stopping &&
           running_to(d, m->destination) >= d->cfg.max_parallel) {
        pthread_cond_wait(&d->link_cv, &d->lock);
    }
    m->state = M_RUNNING;
    m->started = now_s();
    dg = d_guest_find(d, m->guest);
    pthread_mutex_unlock(&d->lock);
    host_of(m->destination, host, sizeof(host));
    tls = d_tls_config(&d->cfg, m->tls,
                       d->cfg.peer_name[0] ? d->cfg.peer_name : host);
    if (tls) {
        xmig_tls_config_set_cancel(tls, m->cancel);
        xmig_tls_config_set_timeouts(tls, d->cfg.handshake_ms,
                                     m->params.io_timeout_ms);
    }
    if (xmig_cancel_raised(m->cancel) || d->stopping) {
        snprintf(error, sizeof(error), "cancelled before it started");
    } else if (!tls) {
        snprintf(error, sizeof(error), "TLS setup: %s",
                 xmig_error_message());
    } else if ((s = net_connect_limited(m->destination, d->cfg.handshake_ms,
                                        m->cancel, error,
                                        sizeof(error))) < 0) {
        /* error says why */
    } else if (!(t = xmig_transport_tls_client(s, tls))) {
        snprintf(error, sizeof(error), "%s", xmig_error_message());
    } else {
        m->params.progress = on_round;
        m->params.user_data = j;
        m->params.cancel = m->cancel;
        rc = xmig_migrate_send(dg->g, t, &m->params, &m->stats);
        if (rc < 0) {
            snprintf(error, sizeof(error), "%s", xmig_error_message());
        }
    }
    xmig_transport_free(t);
    xmig_tls_config_free(tls);
    finish(d, m, dg, rc, error);
    free(j);
    return NULL;
}

int d_migrate_start(struct daemon *d, const char *guest, const char *dest,
                    const struct xmig_migrate_params *p, const char *tls,
                    char *err, size_t errlen)
{
    struct d_migration *m = NULL;
    struct d_guest *dg;
    struct job *j;
    int id;

    pthread_mutex_lock(&d->lock);
    dg = d_guest_find_xen(d, guest, err, errlen);
    if (!dg) {
        /* err says why */
    } else if (dg->state != G_RUNNING) {
        snprintf(err, errlen, "guest '%s' is already migrating", guest);
    } else if (d->stopping) {
        snprintf(err, errlen, "xmigd is shutting down");
    } else {
        for (int i = 0; i < D_MAX_MIGRATIONS && !m; i++) {
            int k = (d->next_mig + i) % D_MAX_MIGRATIONS;
            if (d->migs[k].state == M_FREE || (d->migs[k].joined &&
                                               d->migs[k].state >= M_DONE)) {
                m = &d->migs[k];
            }
        }
        if (!m) {
            snprintf(err, errlen, "too many migrations");
        }
    }
    if (m && (p->io_timeout_ms > D_MAX_TIMEOUT_MS ||
              p->handover_timeout_ms > D_MAX_TIMEOUT_MS)) {
        snprintf(err, errlen, "timeout_s and handover_timeout_s must be "
                 "positive numbers of seconds, at most %u",
                 D_MAX_TIMEOUT_MS / 1000);
        m = NULL;
    }
    if (!m) {
        pthread_mutex_unlock(&d->lock);
        return -1;
    }
    xmig_cancel_free(m->cancel);   /* the slot's last migration ended */
    memset(m, 0, sizeof(*m));
    m->cancel = xmig_cancel_create();
    if (!m->cancel) {
        snprintf(err, errlen, "out of memory");
        pthread_mutex_unlock(&d->lock);
        return -1;
    }
    m->id = id = ++d->next_mig;
    m->state = M_QUEUED;
    snprintf(m->guest, sizeof(m->guest), "%s", guest);
    snprintf(m->destination, sizeof(m->destination), "%s", dest);
    snprintf(m->tls, sizeof(m->tls), "%s", tls ? tls : "");
    m->params = *p;
    m->params.name = m->guest;   /* p->name belongs to the request */
    /* 0: the daemon's settings (xmigd.conf). */
    if (!m->params.io_timeout_ms) {
        m->params.io_timeout_ms = d->cfg.io_ms;
    }
    if (!p->handover_timeout_ms) {
        m->params.handover_timeout_ms = d->cfg.handover_ms;
    }
    m->params.handover_expiry = d->cfg.handover_expiry;
    dg->state = G_MIGRATING;
    j = malloc(sizeof(*j));
    if (j) {
        j->d = d;   /* before the thread exists: it reads them at once */
        j->m = m;
    }
    if (!j || pthread_create(&m->thread, NULL, outgoing_main, j) != 0) {
        free(j);
        m->state = M_FAILED;
        m->joined = 1;
        dg->state = G_RUNNING;
        snprintf(err, errlen, "cannot start the migration thread");
        pthread_mutex_unlock(&d->lock);
        return -1;
    }
    pthread_mutex_unlock(&d->lock);
    d_log(d, 0, "migration %d of %s to %s: started (xmig status %d follows "
          "it; xmig cancel %d stops it)", id, guest, dest, id, id);
    return id;
}

/* ---- incoming ------------------------------------------------------ */

struct inbound {
    struct daemon *d;
    int fd;
    char host[64];   /* holds a d_pending slot until the handshake ends */
};

/* A name no guest here has: the sender's, else NAME-2, NAME-3, ...
 * (the sender's name cut short to leave room for the suffix). */
static void unique_name(struct daemon *d, const char *want, char *name,
                        size_t len)
{
    snprintf(name, len, "%s", want);
    for (unsigned n = 2; d_guest_find(d, name); n++) {
        char suffix[16];
        int sl = snprintf(suffix, sizeof(suffix), "-%u", n);
        int keep = (int)strlen(want);

        if (keep > (int)len - 1 - sl) {
            keep = (int)len - 1 - sl;
        }
        snprintf(name, len, "%.*s%s", keep, want, suffix);
    }
}

/* A received domain was built as NAME--incoming (the source still has
 * NAME); it takes NAME once the source has destroyed its copy. */
static void xen_take_name(struct daemon *d, uint32_t domid, const char *want)
{
    struct timespec tick = { 0, 100 * 1000 * 1000 };
    uint32_t other;

    if (!want[0]) {
        return;   /* the config's name was not one xmig could read */
    }
    for (int i = 0; i < 300; i++) {
        if (xmig_xen_domain_lookup(want, &other) < 0) {
            if (xmig_xen_domain_rename(domid, want) == 0) {
                return;
            }
            break;
        }
        if (other == domid) {
            return;   /* built under its own name: nothing to do */
        }
        nanosleep(&tick, NULL);
    }
    d_log(d, 1, "received domain %u keeps its temporary name: %s", domid,
          xmig_error_message());
}

/* The received domain as a guest of the table: a source handle on it. */
static struct xmig_guest *xen_settle(struct daemon *d, struct xmig_guest *g,
                                     const char *name)
{
    uint32_t domid = xmig_xen_guest_domid(g);

    xmig_guest_destroy(g);   /* the restore handle; the domain runs on */
    xen_take_name(d, domid, name);
    g = xmig_xen_guest_open(domid);
    if (!g) {
        d_log(d, 1, "received domain %u runs, but xmigd cannot hold it: %s",
              domid, xmig_error_message());
    }
    return g;
}

static void *inbound_main(void *arg)
{
    struct inbound *in = arg;
    struct daemon *d = in->d;
    struct xmig_xen_target target = { 0, NULL };
    struct xmig_receive_params rp = {
        d->cfg.max_memory_mib << 20, 0,
        d_xen(d) ? xmig_xen_guest_incoming : xmig_sim_guest_factory,
        d_xen(d) ? &target : NULL
    };
    struct xmig_migrate_stats st;
    struct xmig_tls_config *tls = d_tls_config(&d->cfg, "", d->cfg.peer_name);
    struct xmig_transport *t;
    struct xmig_guest *g = NULL;
    struct d_guest *dg;
    char name[64];

    if (tls) {
        xmig_tls_config_set_cancel(tls, d->shutdown);
    }
    t = tls ? xmig_transport_tls_server(in->fd, tls) : NULL;
    d_pending_leave(d, in->host);
    if (!t) {
        d_log(d, 1, "incoming migration refused: %s", xmig_error_message());
        if (!tls) {
            close(in->fd);
        }
    } else {
        g = xmig_migrate_receive(t, &rp, &st);
        if (!g) {
            d_log(d, 1, "incoming migration failed, nothing kept: %s",
                  xmig_error_message());
        }
    }
    if (g && d_xen(d)) {
        g = xen_settle(d, g, st.guest_name);
    }
    if (g) {
        pthread_mutex_lock(&d->lock);
        unique_name(d, st.guest_name[0] ? st.guest_name : "received", name,
                    sizeof(name));
        dg = d_guest_add(d, name, g);
        if (!dg) {
            xmig_guest_destroy(g);
            d_log(d, 1, "no room in the guest table for %s", name);
        } else {
            dg->memory_mib = st.guest_pages / 256;
            dg->xen = d_xen(d);
            snprintf(dg->origin, sizeof(dg->origin), "received");
            d_log(d, 0, "received %s: %.1f MiB in %.2f s, %s", name,
                  (double)st.bytes / 1048576.0, st.total_s,
                  st.verified ? "verified" : "not verified");
        }
        pthread_mutex_unlock(&d->lock);
    }
    xmig_transport_free(t);
    xmig_tls_config_free(tls);
    free(in);
    return NULL;
}

void *d_incoming_main(void *arg)
{
    struct daemon *d = arg;
    struct d_accept_state st = { "incoming", 0, 0, 0, 0 };

    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl;
        int fd = d_accept(d, d->listen_fd, &st, &ss, &sl);
        struct inbound *in;
        char host[64], why[160];
        pthread_t th;

        if (fd < 0) {
            break;
        }
        d_peer_host(&ss, host, sizeof(host));
        /* Before a thread or a handshake: idle connections hold a
         * descriptor each until their handshake limit, so they are
         * capped, in all and per source address. */
        if (d_pending_enter(d, host, why, sizeof(why)) < 0) {
            close(fd);
            d_log_refusal(d, &st, "refused a connection from %s: %s", host,
                          why);
            continue;
        }
        in = malloc(sizeof(*in));
        if (!in) {
            d_pending_leave(d, host);
            close(fd);
            continue;
        }
        in->d = d;
        in->fd = fd;
        snprintf(in->host, sizeof(in->host), "%s", host);
        if (pthread_create(&th, NULL, inbound_main, in) != 0) {
            d_pending_leave(d, host);
            d_log_refusal(d, &st, "refused a connection from %s: no thread "
                          "for it", host);
            close(fd);
            free(in);
            continue;
        }
        pthread_detach(th);
    }
    return NULL;
}

void d_migration_cancel(struct daemon *d, struct d_migration *m)
{
    (void)d;
    xmig_cancel_raise(m->cancel);   /* waits notice it within 100 ms */
}

/* SIGTERM: cancel what is in flight (each source guest runs on here),
 * and wait for the migration threads. */
void d_migrations_stop(struct daemon *d)
{
    pthread_t threads[D_MAX_MIGRATIONS];
    int n = 0;

    /* The table is read under the lock (the threads write their state
     * there as they end); the joins happen outside it. */
    pthread_mutex_lock(&d->lock);
    for (int i = 0; i < D_MAX_MIGRATIONS; i++) {
        struct d_migration *m = &d->migs[i];
        xmig_cancel_raise(m->cancel);
        if (m->state != M_FREE && !m->joined) {
            threads[n++] = m->thread;
            m->joined = 1;
        }
    }
    pthread_cond_broadcast(&d->link_cv);
    pthread_mutex_unlock(&d->lock);
    for (int i = 0; i < n; i++) {
        pthread_join(threads[i], NULL);
    }
}
