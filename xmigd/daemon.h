/*
 * xmigd: one daemon per host.  It keeps guests (a table), accepts
 * authenticated incoming migrations on a TLS port, runs outgoing ones (at
 * most max_parallel per destination link), and answers toolstacks on a
 * root-only Unix control socket, one JSON object per line.
 */
#ifndef XMIG_DAEMON_H
#define XMIG_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <sys/socket.h>

#include "xmig.h"

#define D_MAX_GUESTS 64
#define D_MAX_MIGRATIONS 256
#define D_MAX_PINS 8
#define D_MAX_TIMEOUT_MS (86400u * 1000u)   /* one day */
#define D_MAX_HANDSHAKES 4096

struct d_config {
    char listen[256];          /* HOST:PORT for incoming migrations */
    char control[256];         /* control socket path */
    char tls[16];
    char cert[256], key[256], ca[256];
    char pins[D_MAX_PINS][100];
    int npins;
    char peer_name[128];       /* expected name of peers (else the host) */
    int insecure;
    char backend[16];
    int max_parallel;          /* outgoing migrations per destination */
    unsigned long long max_memory_mib;
    int syslog;
    /* Time limits (docs/timeouts.md), in milliseconds. */
    uint32_t handshake_ms;     /* handshake_timeout: the whole TLS handshake */
    uint32_t io_ms;            /* io_timeout: no progress on a connection */
    uint32_t handover_ms;      /* handover_timeout: after the go-ahead */
    enum xmig_handover_expiry handover_expiry;
    /* Connections that have not finished their handshake. */
    int max_handshakes;        /* in all */
    int max_handshakes_per_source;
};

/* G_PAUSED: a migration's outcome is unknown and the source copy was
 * kept paused (docs/timeouts.md): destroy it, or resume it by hand. */
enum d_guest_state { G_FREE = 0, G_RUNNING, G_MIGRATING, G_PAUSED };

struct d_guest {
    enum d_guest_state state;
    char name[64];
    struct xmig_guest *g;
    unsigned long long memory_mib;
    unsigned vcpus;
    char workload[16];
    char origin[32];           /* "created", "received" or "xen" */
    int xen;                   /* a domain of this Xen host */
};

enum d_mig_state { M_FREE = 0, M_QUEUED, M_RUNNING, M_DONE, M_FAILED,
                   M_CANCELLED };

struct d_migration {
    enum d_mig_state state;
    int id;
    char guest[64];
    char destination[256];
    struct xmig_migrate_params params;
    char tls[16];
    struct xmig_cancel *cancel;   /* raised by cancel, SIGTERM */
    struct xmig_iteration_stats last;   /* the last progress report */
    struct xmig_migrate_stats stats;    /* the engine's (its thread's) */
    struct xmig_migrate_stats live;     /* a copy, at each report */
    char error[512];
    double started;
    pthread_t thread;
    int joined;
};

struct daemon {
    struct d_config cfg;
    pthread_mutex_t lock;
    pthread_cond_t link_cv;
    struct d_guest guests[D_MAX_GUESTS];
    struct d_migration migs[D_MAX_MIGRATIONS];
    int next_mig;
    atomic_int stopping;       /* set by main on SIGTERM or SIGINT */
    struct xmig_cancel *shutdown;   /* raised with it: ends inbound waits */
    int listen_fd, control_fd;
    int listen_port;
    /* Connections accepted whose handshake has not finished (d->lock). */
    int pending;
    struct d_pending {
        char host[64];
        int n;
    } *pending_from;           /* cfg.max_handshakes entries */
};

static inline double d_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* daemon_config.c */
int d_config_load(struct d_config *c, const char *path);
/* The same from text: every value checked (whole numbers, seconds, the
 * words each key takes, lengths that fit), unknown keys refused; -1 with
 * the line in *at_line and why in err.  Pure: the fuzzer's entry. */
#define D_CONFIG_MAX (64u << 10)
#define D_CONFIG_LINE_MAX 1024
int d_config_parse(struct d_config *c, const char *text, size_t len,
                   int *at_line, char *err, size_t errlen);
struct xmig_tls_config *d_tls_config(const struct d_config *c,
                                     const char *mode, const char *peer);

/* Seconds from a request -> ms; UINT32_MAX (refused later) if invalid. */
uint32_t d_seconds_ms(double s);

/* daemon_log.c */
void d_log(const struct daemon *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The library's log callback (xmig_set_log): user is the daemon. */
void d_library_log(void *user, int level, const char *line);

static inline int d_xen(const struct daemon *d)
{
    return d->cfg.backend[0] == 'x';
}

/* daemon_guests.c (call with d->lock held) */
struct d_guest *d_guest_find(struct daemon *d, const char *name);
struct d_guest *d_guest_add(struct daemon *d, const char *name,
                            struct xmig_guest *g);
/* With the xen backend: the domain NAME of this host, taken into the table
 * on first use (NULL with err set when there is none). */
struct d_guest *d_guest_find_xen(struct daemon *d, const char *name,
                                 char *err, size_t errlen);

/* daemon_migrate.c */
int d_migrate_start(struct daemon *d, const char *guest, const char *dest,
                    const struct xmig_migrate_params *p, const char *tls,
                    char *err, size_t errlen);
void *d_incoming_main(void *arg);
void d_migrations_stop(struct daemon *d);

/* sd_notify.c: READY=1 to $NOTIFY_SOCKET when set; 0, or -1 with errno. */
int d_notify_ready(void);
void d_migration_cancel(struct daemon *d, struct d_migration *m);

/* daemon_accept.c: accept(2) that rides out descriptor and memory
 * exhaustion (logged once per burst, 100 ms back-off); -1 once the
 * listener is shut down or the daemon stops. */
struct d_accept_state {
    const char *what;          /* "incoming", "control" */
    unsigned burst;            /* failed accepts not logged yet */
    double last_failure_log;
    double last_refusal_log;   /* rate limit of refusal lines */
    unsigned refusals_unlogged;
};
int d_accept(struct daemon *d, int listen_fd, struct d_accept_state *st,
             struct sockaddr_storage *peer, socklen_t *peer_len);
/* Log a refused connection, at most once a second (the others counted). */
void d_log_refusal(struct daemon *d, struct d_accept_state *st,
                   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The host part of a peer address. */
void d_peer_host(const struct sockaddr_storage *ss, char *buf, size_t len);
/* The handshake caps: 0 and a slot taken, or -1 with why set. */
int d_pending_enter(struct daemon *d, const char *host, char *why,
                    size_t len);
void d_pending_leave(struct daemon *d, const char *host);
double d_now_s(void);

/* daemon_control.c */
void *d_control_main(void *arg);

#endif
