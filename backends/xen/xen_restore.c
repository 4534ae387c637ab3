/*
 * The destination of an HVM guest with a qemu-xen device model: libxl
 * restores it, as for xl restore and xl migrate-receive, from the stream
 * xmig's reader validates on the way (backend op `feed`).
 *
 * libxl_domain_create_restore runs on a thread of its own and reads its
 * end of a socket pair; the engine writes every octet after the xl
 * header into the other end as its reader consumes them.  libxl builds
 * the domain, hands the libxc image to libxenguest, writes qemu's state
 * (EMULATOR_CONTEXT) where the new qemu-xen loads it (-incoming), and
 * leaves the domain paused.  Any failure on either side ends both: the
 * engine stops reading, libxl sees the end of its stream (or the engine
 * sees libxl stop reading) and the domain is destroyed.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backends/xen/xen.h"

#include <libxl.h>
#include <libxl_utils.h>

#include "common/error.h"
#include "common/log.h"

/* libxl reading nothing for this long while the engine has octets for
 * it: it is stuck (the engine's own reads have the transport's limits). */
#define FEED_STALL_MS (300 * 1000)

struct libxl_restore {
    struct xmig_guest base;
    struct xen_logger log;        /* libxl's messages, the last kept */
    libxl_ctx *ctx;
    libxl_domain_config cfg;
    libxl_domain_restore_params params;
    int feed_fd, libxl_fd;        /* the engine's end, libxl's end */
    pthread_t thread;
    int thread_started, joined;
    atomic_int done;              /* libxl_domain_create_restore returned */
    int rc;                       /* its result, once done */
    uint32_t domid;               /* INVALID_DOMID until libxl built one */
    uint64_t fed;                 /* octets handed to libxl */
    int committed;
};

static const struct backend_ops libxl_restore_ops;

static struct libxl_restore *lr(struct xmig_guest *g)
{
    return (struct libxl_restore *)g;
}

static void *restore_main(void *arg)
{
    struct libxl_restore *r = arg;
    uint32_t domid = (uint32_t)INVALID_DOMID;
    int rc;

    rc = libxl_domain_create_restore(r->ctx, &r->cfg, &domid, r->libxl_fd,
                                     -1, &r->params, NULL, NULL);
    r->domid = domid;
    r->rc = rc;
    /* libxl reads no more: the engine's next write fails at once. */
    close(r->libxl_fd);
    r->libxl_fd = -1;
    atomic_store(&r->done, 1);
    return NULL;
}

static int libxl_failed(struct libxl_restore *r, const char *what)
{
    return err_set(XMIG_ERR_IO, 0, "libxl's restore of the guest %s: libxl "
                   "error %d%s%s", what, r->rc, r->log.last[0] ? ": " : "",
                   r->log.last);
}

static void join(struct libxl_restore *r)
{
    if (r->thread_started && !r->joined) {
        pthread_join(r->thread, NULL);
        r->joined = 1;
    }
}

static int lr_feed(struct xmig_guest *g, const uint8_t *octets, size_t n)
{
    struct libxl_restore *r = lr(g);
    double stalled = 0;

    while (n > 0) {
        struct pollfd p = { r->feed_fd, POLLOUT, 0 };
        ssize_t m;

        if (atomic_load(&r->done)) {
            join(r);
            return libxl_failed(r, r->rc ? "failed" : "ended before the "
                                "stream did");
        }
        m = send(r->feed_fd, octets, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (m > 0) {
            octets += m;
            n -= (size_t)m;
            r->fed += (uint64_t)m;
            stalled = 0;
            continue;
        }
        if (m < 0 && errno == EPIPE) {
            continue;   /* libxl's end is closed: done is (about to be) set */
        }
        if (m < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
            errno != EINTR) {
            return err_set(XMIG_ERR_IO, errno, "handing the stream to "
                           "libxl");
        }
        if (xmig_cancel_raised(g->cancel)) {
            return err_set(XMIG_ERR_USAGE, ECANCELED, "cancelled while "
                           "libxl restored the guest");
        }
        if (stalled >= FEED_STALL_MS) {
            return err_set(XMIG_ERR_IO, ETIMEDOUT, "libxl read nothing of the "
                           "stream for %d s (after %llu octets): its restore "
                           "is stuck", FEED_STALL_MS / 1000,
                           (unsigned long long)r->fed);
        }
        (void)poll(&p, 1, 100);
        stalled += 100;
    }
    return 0;
}

/* The stream has ended: libxl finishes (the domain, qemu with its state)
 * and leaves the domain paused. */
static int lr_finish(struct xmig_guest *g, const struct guest_state *st)
{
    struct libxl_restore *r = lr(g);

    (void)st;
    shutdown(r->feed_fd, SHUT_WR);
    join(r);
    if (r->rc != 0) {
        return libxl_failed(r, "failed");
    }
    log_msg(XMIG_LOG_INFO, "xen: libxl restored domain %u from %llu octets "
            "of the stream, qemu-xen with its saved state", r->domid,
            (unsigned long long)r->fed);
    return 0;
}

static int lr_commit(struct xmig_guest *g)
{
    struct libxl_restore *r = lr(g);
    int rc;

    if (!r->joined || r->rc != 0 || r->domid == (uint32_t)INVALID_DOMID) {
        return err_set(XMIG_ERR_USAGE, 0, "the guest has not been restored: "
                       "it cannot run");
    }
    rc = libxl_domain_unpause(r->ctx, r->domid, NULL);
    if (rc != 0) {
        r->rc = rc;
        return err_set(XMIG_ERR_IO, 0, "unpausing the restored domain %u: "
                       "libxl error %d%s%s", r->domid, rc,
                       r->log.last[0] ? ": " : "", r->log.last);
    }
    r->committed = 1;
    return 0;
}

static void release(struct libxl_restore *r)
{
    if (r->feed_fd >= 0) {
        close(r->feed_fd);    /* libxl, if still reading, sees the end */
    }
    join(r);
    if (r->libxl_fd >= 0) {
        close(r->libxl_fd);   /* the thread never started */
    }
    libxl_domain_restore_params_dispose(&r->params);
    libxl_domain_config_dispose(&r->cfg);
    if (r->ctx) {
        libxl_ctx_free(r->ctx);
    }
    free(r);
}

/* A half-restored guest goes, with what libxl set up for it (libxl
 * destroys a domain whose restore failed; one it built is destroyed
 * here). */
static void lr_discard(struct xmig_guest *g)
{
    struct libxl_restore *r = lr(g);

    if (!r) {
        return;
    }
    if (r->feed_fd >= 0) {
        close(r->feed_fd);
        r->feed_fd = -1;
    }
    join(r);
    if (!r->committed && r->domid != (uint32_t)INVALID_DOMID) {
        libxl_dominfo info;
        libxl_dominfo_init(&info);
        if (libxl_domain_info(r->ctx, &info, r->domid) == 0 &&
            libxl_domain_destroy(r->ctx, r->domid, NULL) != 0) {
            log_msg(XMIG_LOG_WARNING, "xen: destroying the half-restored "
                    "domain %u failed%s%s", r->domid,
                    r->log.last[0] ? ": " : "", r->log.last);
        }
        libxl_dominfo_dispose(&info);
    }
    release(r);
}

static void lr_destroy(struct xmig_guest *g)
{
    if (g) {
        release(lr(g));
    }
}

uint32_t xen_restore_domid(struct xmig_guest *g)
{
    return g && g->ops == &libxl_restore_ops &&
                   lr(g)->domid != (uint32_t)INVALID_DOMID
               ? lr(g)->domid
               : 0;
}

struct xmig_guest *xen_restore_start(const char *config_json,
                                     const char *name)
{
    struct libxl_restore *r = calloc(1, sizeof(*r));
    int sv[2], rc;
    uint32_t other;
    char *want = NULL;

    if (!r) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "restoring through libxl");
        return NULL;
    }
    r->base.ops = &libxl_restore_ops;
    r->feed_fd = r->libxl_fd = -1;
    r->domid = (uint32_t)INVALID_DOMID;
    xen_logger_init(&r->log);
    libxl_domain_config_init(&r->cfg);
    libxl_domain_restore_params_init(&r->params);
    if (libxl_ctx_alloc(&r->ctx, LIBXL_VERSION, 0,
                        (xentoollog_logger *)&r->log) != 0) {
        err_set(XMIG_ERR_UNSUPPORTED, errno, "restoring through libxl: "
                "libxl is not usable here%s%s", r->log.last[0] ? ": " : "",
                r->log.last);
        goto fail;
    }
    rc = libxl_domain_config_from_json(r->ctx, &r->cfg, config_json);
    if (rc != 0) {
        err_set(XMIG_ERR_PROTOCOL, 0, "the stream's domain config is not "
                "one libxl accepts: libxl error %d%s%s", rc,
                r->log.last[0] ? ": " : "", r->log.last);
        goto fail;
    }
    /* The source may still run here under that name (two toolstacks of
     * one host): xl's convention meanwhile, NAME--incoming. */
    if (name) {
        want = strdup(name);
    } else if (r->cfg.c_info.name &&
               libxl_name_to_domid(r->ctx, r->cfg.c_info.name, &other) == 0 &&
               asprintf(&want, "%s--incoming", r->cfg.c_info.name) < 0) {
        want = NULL;
        name = "";   /* only to say that a name was wanted */
    }
    if (name && !want) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "the domain's name");
        goto fail;
    }
    if (want) {
        free(r->cfg.c_info.name);
        r->cfg.c_info.name = want;
    }
    /* A plain stream (no Remus/COLO checkpoints; the reader refuses
     * those), libxl's v2 format: the only one xmig reads. */
    r->params.checkpointed_stream = LIBXL_CHECKPOINTED_STREAM_NONE;
    r->params.stream_version = 2;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        err_set(XMIG_ERR_IO, errno, "a socket pair for libxl's restore");
        goto fail;
    }
    r->feed_fd = sv[0];
    r->libxl_fd = sv[1];
    if (pthread_create(&r->thread, NULL, restore_main, r) != 0) {
        err_set(XMIG_ERR_NOMEM, EAGAIN, "starting libxl's restore");
        goto fail;
    }
    r->thread_started = 1;
    return &r->base;
fail:
    release(r);
    return NULL;
}

static const struct backend_ops libxl_restore_ops = {
    .name = "xen",
    .feed = lr_feed,
    .set_state = lr_finish,
    .commit = lr_commit,
    .discard = lr_discard,
    .destroy = lr_destroy,
};
