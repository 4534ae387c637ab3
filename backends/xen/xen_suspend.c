/*
 * Stopping a source domain, as libxl does (libxl_dom_suspend.c): the guest
 * suspends itself (its PV drivers quiesce, its last act is
 * SCHEDOP_shutdown(suspend)), asked through its suspend event channel when
 * it has one, else through xenstore's control/shutdown; an HVM guest
 * without PV drivers is suspended by Xen directly.  A request the guest
 * did not take is withdrawn inside a xenstore transaction, a guest that
 * took it is waited for, and one that suspends after xmig gave up is
 * resumed.  The engine's cancel flag is honoured while waiting.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/xen/xen.h"

#include <xenevtchn.h>
#include <xenguest.h>   /* xc_domain_resume, xc_suspend_evtchn_* */
#include <xenstore.h>
#include <xen/hvm/params.h>

#include "common/error.h"
#include "common/log.h"

#define SUSPEND_WAIT_S 60   /* for the guest to suspend itself, as libxl */
#define TICK_MS 10

enum how { BY_XEN, BY_XENSTORE, BY_EVTCHN };

struct suspend_req {
    enum how how;
    xenevtchn_handle *xce;
    int local_port;            /* our end of the suspend event channel */
    int lockfd;
};

static unsigned wait_limit_s(void)
{
    /* XMIG_XEN_SUSPEND_WAIT: seconds, for tests (tests/xen/scenario.sh). */
    const char *e = getenv("XMIG_XEN_SUSPEND_WAIT");
    unsigned long v = e ? strtoul(e, NULL, 10) : 0;

    return v > 0 && v <= 3600 ? (unsigned)v : SUSPEND_WAIT_S;
}

static int cancel_asked(const struct xen_guest *x)
{
    return xmig_cancel_raised(x->base.cancel);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* How the guest is asked: a PVH guest, or an HVM guest with PV drivers
 * (it has set its event channel callback), cooperates; any other HVM
 * guest is suspended by the hypervisor. */
static int cooperative(struct xen_guest *x, int *pv)
{
    xc_domaininfo_t di;
    uint64_t via = 0;

    if (xen_domain_info(x, &di) < 0) {
        return -1;
    }
    if (!(di.arch_config.emulation_flags & XEN_X86_EMU_PIT)) {
        *pv = 1;   /* PVH (a local APIC only): no emulated platform */
        return 0;
    }
    xen_call_begin(x);
    if (xc_hvm_param_get(x->xch, x->domid, HVM_PARAM_CALLBACK_IRQ, &via) < 0) {
        return xen_fail(x, XMIG_ERR_IO, "reading HVM_PARAM_CALLBACK_IRQ");
    }
    *pv = via != 0;
    return 0;
}

/* 1 when the domain has suspended itself, 0 while it runs; -1 when it is
 * gone or shut down for another reason. */
int xen_suspended_yet(struct xen_guest *x)
{
    xc_domaininfo_t di;
    unsigned reason;

    if (xen_domain_info(x, &di) < 0) {
        return -1;
    }
    if (!(di.flags & XEN_DOMINF_shutdown)) {
        return 0;
    }
    reason = (di.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask;
    if (reason != SHUTDOWN_suspend) {
        return err_set(XMIG_ERR_IO, 0, "domain %u shut down (reason %u) "
                       "instead of suspending", x->domid, reason);
    }
    return 1;
}

static void control_path(const struct xen_guest *x, char *path, size_t len)
{
    snprintf(path, len, "/local/domain/%u/control/shutdown", x->domid);
}

static int control_request(struct xen_guest *x)
{
    struct xs_handle *xs = xs_open(0);
    char path[64];
    int ok;

    if (!xs) {
        return err_set(XMIG_ERR_IO, errno, "asking domain %u to suspend: "
                       "cannot reach xenstored", x->domid);
    }
    control_path(x, path, sizeof(path));
    ok = xs_write(xs, XBT_NULL, path, "suspend", 7);
    xs_close(xs);
    return ok ? 0 : err_set(XMIG_ERR_IO, errno, "writing %s", path);
}

/* Withdraw the request unless the guest took it: read and clear inside
 * one transaction, so that a guest acting at the last moment is seen
 * (its own transaction or ours is retried).  The guest took it when the
 * node holds anything but "suspend", or is gone.  1 withdrawn, 0 taken,
 * -1 error. */
static int control_withdraw(struct xen_guest *x)
{
    struct xs_handle *xs = xs_open(0);
    char path[64];
    int rc = -1;

    if (!xs) {
        return err_set(XMIG_ERR_IO, errno, "withdrawing the suspend request "
                       "of domain %u: cannot reach xenstored", x->domid);
    }
    control_path(x, path, sizeof(path));
    for (int tries = 0; tries < 1000; tries++) {
        xs_transaction_t t = xs_transaction_start(xs);
        unsigned len = 0;
        char *v;
        int taken;

        if (t == XBT_NULL) {
            err_set(XMIG_ERR_IO, errno, "xenstore transaction on %s", path);
            break;
        }
        v = xs_read(xs, t, path, &len);
        if (!v && errno != ENOENT) {
            err_set(XMIG_ERR_IO, errno, "reading %s", path);
            (void)xs_transaction_end(xs, t, 1);
            break;
        }
        taken = !v || len != 7 || memcmp(v, "suspend", 7) != 0;
        free(v);
        if (taken) {
            (void)xs_transaction_end(xs, t, 1);
            rc = 0;
            break;
        }
        if (!xs_write(xs, t, path, "", 0)) {
            err_set(XMIG_ERR_IO, errno, "writing %s", path);
            (void)xs_transaction_end(xs, t, 1);
            break;
        }
        if (xs_transaction_end(xs, t, 0)) {
            rc = 1;
            break;
        }
        if (errno != EAGAIN) {
            err_set(XMIG_ERR_IO, errno, "committing the withdrawal of %s",
                    path);
            break;
        }
    }
    xs_close(xs);
    return rc;
}

/* The guest's suspend event channel (device/suspend/event-channel, which
 * Windows PV drivers advertise), or -1. */
static int evtchn_advertised(struct xen_guest *x)
{
    struct xs_handle *xs = xs_open(0);
    char path[80], *v, *end;
    unsigned len = 0;
    long port = -1;

    if (!xs) {
        return -1;
    }
    snprintf(path, sizeof(path), "/local/domain/%u/device/suspend/"
             "event-channel", x->domid);
    v = xs_read(xs, XBT_NULL, path, &len);
    if (v && len > 0) {
        errno = 0;
        port = strtol(v, &end, 10);
        if (errno || *end || port <= 0 || port > 0x7fffffff) {
            port = -1;
        }
    }
    free(v);
    xs_close(xs);
    return (int)port;
}

static void evtchn_close(struct xen_guest *x, struct suspend_req *r)
{
    if (r->xce) {
        if (r->local_port >= 0 || r->lockfd >= 0) {
            (void)xc_suspend_evtchn_release(x->xch, r->xce, x->domid,
                                            r->local_port, &r->lockfd);
        }
        xenevtchn_close(r->xce);
    }
    r->xce = NULL;
    r->local_port = -1;
    r->lockfd = -1;
}

/* Wait up to ms for our end of the channel to fire; consume it. */
static void evtchn_wait(struct suspend_req *r, int ms)
{
    struct pollfd pfd = { xenevtchn_fd(r->xce), POLLIN, 0 };
    xenevtchn_port_or_error_t p;

    if (poll(&pfd, 1, ms) == 1 && (p = xenevtchn_pending(r->xce)) >= 0) {
        (void)xenevtchn_unmask(r->xce, (evtchn_port_t)p);
    }
}

/* Bind the guest's suspend channel and notify it; Xen signals our end
 * when the domain has suspended (xc_domain_subscribe_for_suspend, done
 * by xc_suspend_evtchn_init_sane, which also takes libxc's per-domain
 * lock file).  0, or -1 when the channel cannot be used. */
static int evtchn_request(struct xen_guest *x, int port,
                          struct suspend_req *r)
{
    r->xce = xenevtchn_open(&x->log.vtable, 0);
    if (!r->xce) {
        return xen_fail(x, XMIG_ERR_IO, "xenevtchn_open");
    }
    xen_call_begin(x);
    r->local_port = xc_suspend_evtchn_init_sane(x->xch, r->xce, x->domid,
                                                port, &r->lockfd);
    if (r->local_port < 0) {
        r->lockfd = -1;
        xen_fail(x, XMIG_ERR_IO, "binding the suspend event channel");
        evtchn_close(x, r);
        return -1;
    }
    evtchn_wait(r, 1000);   /* "signaled immediately after" the binding */
    xen_call_begin(x);
    if (xenevtchn_notify(r->xce, (evtchn_port_t)r->local_port) < 0) {
        xen_fail(x, XMIG_ERR_IO, "notifying the suspend event channel");
        evtchn_close(x, r);
        return -1;
    }
    return 0;
}

/* Until the domain suspends, the limit passes or (stop_on_cancel) a
 * cancel comes: xen_suspended_yet()'s answer at the end. */
static int wait_suspended(struct xen_guest *x, struct suspend_req *r,
                          double limit_s, int stop_on_cancel)
{
    struct timespec tick = { 0, TICK_MS * 1000 * 1000 };
    double end = now_s() + limit_s;
    int rc;

    while ((rc = xen_suspended_yet(x)) == 0 && now_s() < end &&
           !(stop_on_cancel && cancel_asked(x))) {
        if (r->how == BY_EVTCHN && r->xce) {
            evtchn_wait(r, TICK_MS);
        } else {
            nanosleep(&tick, NULL);
        }
    }
    return rc;
}

/* Resume a domain that suspended although xmig no longer wants it to: its
 * suspend call returns "cancelled" and it runs on as it was. */
static int resume_late(struct xen_guest *x, const char *why)
{
    xen_call_begin(x);
    if (xc_domain_resume(x->xch, x->domid, 1) < 0) {
        return xen_fail(x, XMIG_ERR_IO, "resuming the guest that suspended "
                        "late");
    }
    x->suspend_pending = 0;
    log_msg(XMIG_LOG_WARNING, "xen: domain %u suspended %s; resumed it",
            x->domid, why);
    return 0;
}

/* The request is out, the guest has not suspended (timeout or cancel).
 * 0 when the guest is back as it was (request withdrawn, or it suspended
 * and was resumed); 1 when it suspended after all (no cancel: go on);
 * -1 with the error set (x->suspend_pending when it may still suspend). */
static int give_up(struct xen_guest *x, struct suspend_req *r,
                   unsigned limit)
{
    int rc, cancel = cancel_asked(x);

    switch (r->how) {
    case BY_XENSTORE:
        rc = control_withdraw(x);
        if (rc != 0) {
            return rc < 0 ? -1 : 0;   /* withdrawn: the guest never knew */
        }
        /* It took the request meanwhile: it is suspending and cannot be
         * stopped; wait for it to finish, however long that is. */
        rc = wait_suspended(x, r, limit, 0);
        break;
    case BY_EVTCHN:
        /* A notification cannot be withdrawn: a little longer, then
         * whoever holds the domain resumes it if it suspends late. */
        rc = wait_suspended(x, r, cancel ? 2 : 1, 0);
        break;
    case BY_XEN:
    default:
        rc = xen_suspended_yet(x);
        break;
    }
    if (rc < 0) {
        return -1;
    }
    if (rc == 1 && !cancel) {
        return 1;
    }
    if (rc == 1) {
        return resume_late(x, "as the migration was cancelled") < 0 ? -1 : 0;
    }
    x->suspend_pending = 1;
    return err_set(cancel ? XMIG_ERR_USAGE : XMIG_ERR_IO,
                   cancel ? ECANCELED : ETIMEDOUT, "%sdomain %u %s but has "
                   "not suspended; should it still do so, xmig resumes it "
                   "when it lets go of the domain",
                   cancel ? "migration cancelled: " : "", x->domid,
                   r->how == BY_EVTCHN ? "was notified on its suspend event "
                                         "channel"
                                       : "took the suspend request");
}

int xen_suspend(struct xen_guest *x)
{
    struct suspend_req r = { BY_XEN, NULL, -1, -1 };
    uint64_t s_state = 0;
    unsigned limit = wait_limit_s();
    int pv = 0, port, rc;

    /* A guest asleep in ACPI S3 answers no request (libxl checks it
     * first too); refused before anything is asked. */
    xen_call_begin(x);
    if (xc_hvm_param_get(x->xch, x->domid, HVM_PARAM_ACPI_S_STATE,
                         &s_state) < 0) {
        return xen_fail(x, XMIG_ERR_IO, "reading HVM_PARAM_ACPI_S_STATE");
    }
    if (s_state) {
        return err_set(XMIG_ERR_UNSUPPORTED, 0, "domain %u is asleep in ACPI "
                       "S%llu: a sleeping guest cannot suspend itself for a "
                       "move; wake it first (xl trigger %u s3resume)",
                       x->domid, (unsigned long long)s_state, x->domid);
    }
    if (cancel_asked(x)) {
        return err_set(XMIG_ERR_USAGE, ECANCELED, "migration cancelled");
    }
    if (cooperative(x, &pv) < 0) {
        return -1;
    }
    port = pv ? evtchn_advertised(x) : -1;
    if (port > 0 && evtchn_request(x, port, &r) == 0) {
        r.how = BY_EVTCHN;
    } else if (pv) {
        if (port > 0) {
            log_msg(XMIG_LOG_WARNING, "xen: %s; asking through xenstore "
                    "instead", xmig_error_message());
        }
        if (control_request(x) < 0) {
            return -1;
        }
        r.how = BY_XENSTORE;
    } else {
        xen_call_begin(x);
        if (xc_domain_shutdown(x->xch, x->domid, SHUTDOWN_suspend) < 0) {
            return xen_fail(x, XMIG_ERR_IO, "suspending");
        }
    }
    rc = wait_suspended(x, &r, limit, 1);
    if (rc == 0) {
        rc = give_up(x, &r, limit);
        if (rc == 0) {
            evtchn_close(x, &r);
            return cancel_asked(x)
                       ? err_set(XMIG_ERR_USAGE, ECANCELED, "migration "
                                 "cancelled while domain %u was asked to "
                                 "suspend (it runs on)", x->domid)
                       : err_set(XMIG_ERR_IO, ETIMEDOUT, "domain %u did not "
                                 "suspend within %u s of the request %s "
                                 "(withdrawn; it runs on: are its PV "
                                 "drivers running?)", x->domid, limit,
                                 r.how == BY_EVTCHN ? "on its suspend event "
                                                      "channel"
                                                    : "in control/shutdown");
        }
    }
    evtchn_close(x, &r);
    if (rc < 0) {
        return -1;
    }
    x->suspended = 1;
    x->suspend_pending = 0;
    return 0;
}

int xen_resume(struct xen_guest *x)
{
    xen_call_begin(x);
    if (xc_domain_resume(x->xch, x->domid, 1) < 0) {
        return xen_fail(x, XMIG_ERR_IO, "resuming the suspended guest");
    }
    x->suspended = 0;
    x->suspend_pending = 0;
    return 0;
}

void xen_suspend_settle(struct xen_guest *x)
{
    if (x->suspend_pending && !x->suspended && xen_suspended_yet(x) == 1) {
        (void)resume_late(x, "after xmig had given up on it");
    }
    x->suspend_pending = 0;
}
