/*
 * xmigd's accept loops must outlive any peer: accept(2) failing for want
 * of descriptors or memory is a pause, not the end, and connections that
 * have not finished their handshake are capped in all and per source
 * address, so that idle connections cannot take every descriptor.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "xmigd/daemon.h"

#define BACKOFF_NS (100 * 1000 * 1000)   /* after EMFILE and friends */
#define LOG_EVERY_S 10.0                 /* a burst of them: one line */

double d_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(void)
{
    struct timespec ts = { 0, BACKOFF_NS };

    nanosleep(&ts, NULL);
}

static void exhausted(struct daemon *d, struct d_accept_state *st, int e)
{
    double now = d_now_s();

    if (st->last_failure_log && now - st->last_failure_log < LOG_EVERY_S) {
        st->burst++;
        return;
    }
    if (st->burst) {
        d_log(d, 1, "%s: accept: %s; retrying every 100 ms (%u more failed "
              "accept calls in the last %.0f s)", st->what, strerror(e),
              st->burst, now - st->last_failure_log);
    } else {
        d_log(d, 1, "%s: accept: %s; retrying every 100 ms", st->what,
              strerror(e));
    }
    st->burst = 0;
    st->last_failure_log = now;
}

int d_accept(struct daemon *d, int listen_fd, struct d_accept_state *st,
             struct sockaddr_storage *peer, socklen_t *peer_len)
{
    while (!d->stopping) {
        int fd, e;

        *peer_len = sizeof(*peer);
        fd = accept4(listen_fd, (struct sockaddr *)peer, peer_len,
                     SOCK_CLOEXEC);
        if (fd >= 0) {
            return fd;
        }
        e = errno;
        switch (e) {
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
            continue;   /* that connection is gone; the next one */
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            /* Resources come back as connections end (every one of them
             * is bounded by a timeout): wait, and try again.  Said once
             * per burst: at most once every LOG_EVERY_S. */
            exhausted(d, st, e);
            nap();
            continue;
        case EINVAL:
        case EBADF:
        case ENOTSOCK:
            return -1;   /* the listener was shut down */
        default:
            if (d->stopping) {
                return -1;
            }
            exhausted(d, st, e);
            nap();
            continue;
        }
    }
    return -1;
}

void d_log_refusal(struct daemon *d, struct d_accept_state *st,
                   const char *fmt, ...)
{
    double now = d_now_s();
    char line[512];
    va_list ap;

    if (st->last_refusal_log && now - st->last_refusal_log < 1.0) {
        st->refusals_unlogged++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (st->refusals_unlogged) {
        d_log(d, 1, "%s: %s (and %u more refused since the last such line)",
              st->what, line, st->refusals_unlogged);
    } else {
        d_log(d, 1, "%s: %s", st->what, line);
    }
    st->last_refusal_log = now;
    st->refusals_unlogged = 0;
}

void d_peer_host(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";

    if (ss->ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host,
                  sizeof(host));
    } else if (ss->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr,
                  host, sizeof(host));
    }
    snprintf(buf, len, "%s", host);
}

int d_pending_enter(struct daemon *d, const char *host, char *why,
                    size_t len)
{
    struct d_pending *free_slot = NULL, *mine = NULL;
    int rc = -1;

    pthread_mutex_lock(&d->lock);
    for (int i = 0; i < d->cfg.max_handshakes; i++) {
        struct d_pending *p = &d->pending_from[i];
        if (p->n && strcmp(p->host, host) == 0) {
            mine = p;
        } else if (!p->n && !free_slot) {
            free_slot = p;
        }
    }
    if (d->pending >= d->cfg.max_handshakes) {
        snprintf(why, len, "%d connections have not finished their "
                 "handshake (max_handshakes)", d->pending);
    } else if (mine && mine->n >= d->cfg.max_handshakes_per_source) {
        snprintf(why, len, "%d connections from %s have not finished their "
                 "handshake (max_handshakes_per_source)", mine->n, host);
    } else {
        /* pending < max_handshakes: a free slot exists if mine is NULL. */
        if (!mine) {
            mine = free_slot;
            snprintf(mine->host, sizeof(mine->host), "%s", host);
        }
        mine->n++;
        d->pending++;
        rc = 0;
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

void d_pending_leave(struct daemon *d, const char *host)
{
    pthread_mutex_lock(&d->lock);
    for (int i = 0; i < d->cfg.max_handshakes; i++) {
        struct d_pending *p = &d->pending_from[i];
        if (p->n && strcmp(p->host, host) == 0) {
            p->n--;
            d->pending--;
            break;
        }
    }
    pthread_mutex_unlock(&d->lock);
}
