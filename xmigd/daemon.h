/*
 * xmigd: one daemon per host.  It keeps guests (a table), accepts
 * authenticated incoming migrations on a TLS port, runs outgoing ones (at
 * most max_parallel per destination link), and answers toolstacks on a
 * root-only Unix control socket, one JSON object per line.
 */
#ifndef XMIG_DAEMON_H
#define XMIG_DAEMON_H

#include <pthread.h>
#include <time.h>

#include "xmig.h"

#define D_MAX_GUESTS 64
#define D_MAX_MIGRATIONS 256
#define D_MAX_PINS 8

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
};

enum d_guest_state { G_FREE = 0, G_RUNNING, G_MIGRATING };

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
    volatile int cancel;
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
    volatile int stopping;
    int listen_fd, control_fd;
    int listen_port;
};

static inline double d_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* daemon_config.c */
int d_config_load(struct d_config *c, const char *path);
struct xmig_tls_config *d_tls_config(const struct d_config *c,
                                     const char *mode, const char *peer);

/* daemon_log.c */
void d_log(const struct daemon *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

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

/* daemon_control.c */
void *d_control_main(void *arg);

#endif
