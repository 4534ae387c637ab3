/*
 * xmigd: the per-host migration daemon.
 *   xmigd [-c CONFIG] [--listen HOST:PORT] [--control PATH] [--port-file F]
 * SIGTERM or SIGINT: stop accepting, cancel migrations in flight (their
 * guests run on here), stop the guests, exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "xmigd/daemon.h"
#include "xmigd/hostport.h"
#include "xmigd/tls_opts.h"

static struct daemon daemon_state;

/* SIGTERM and SIGINT are blocked in every thread (the threads inherit
 * the mask from main, which blocks them before starting any) and taken
 * by sigwait() in main.  With a handler and pause() instead, the kernel
 * may run the handler on another thread and main sleeps on. */
static int wait_for_stop_signal(void)
{
    sigset_t set;
    int sig = 0;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    while (sigwait(&set, &sig) != 0) {
    }
    return sig;
}

/* The control socket this daemon made (to remove only that one). */
static dev_t control_dev;
static ino_t control_ino;

static int control_socket(struct daemon *d)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    char dir[256], *slash;
    struct stat sb;
    mode_t old_mask;
    int s;

    if (strlen(d->cfg.control) >= sizeof(a.sun_path)) {
        fprintf(stderr, "xmigd: control path too long\n");
        return -1;
    }
    snprintf(dir, sizeof(dir), "%s", d->cfg.control);
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        (void)mkdir(dir, 0700);
    }
    /* It fits: checked above (snprintf here trips -Wformat-truncation
     * at -O1, which cannot see that). */
    memcpy(a.sun_path, d->cfg.control, strlen(d->cfg.control) + 1);
    if (lstat(a.sun_path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode)) {
            fprintf(stderr, "xmigd: control socket %s: something else is "
                            "there (not a socket); remove it or choose "
                            "another path\n", d->cfg.control);
            return -1;
        }
        s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0) {
            close(s);
            fprintf(stderr, "xmigd: control socket %s: another xmigd is "
                            "serving it; stop it first or choose another "
                            "path\n", d->cfg.control);
            return -1;
        }
        if (s >= 0) {
            close(s);
        }
        unlink(a.sun_path);   /* stale: nobody listens there */
    }
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    old_mask = umask(077);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        chmod(a.sun_path, 0600) < 0 || listen(s, 16) < 0 ||
        stat(a.sun_path, &sb) < 0) {
        fprintf(stderr, "xmigd: control socket %s: %s\n", d->cfg.control,
                strerror(errno));
        umask(old_mask);
        if (s >= 0) {
            close(s);
        }
        return -1;
    }
    umask(old_mask);
    control_dev = sb.st_dev;
    control_ino = sb.st_ino;
    return s;
}

/* Remove the control socket at exit, if it is still ours. */
static void control_socket_remove(const char *path)
{
    struct stat sb;

    if (lstat(path, &sb) == 0 && sb.st_dev == control_dev &&
        sb.st_ino == control_ino) {
        unlink(path);
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: xmigd [-c CONFIG] [--listen HOST:PORT] "
               "[--control PATH] [--port-file FILE]\n"
               "       xmigd --version | --help\n"
               "  -c, --config FILE   the configuration (default "
               "/etc/xmig/xmigd.conf if it exists)\n"
               "  --listen HOST:PORT  incoming migrations (over the "
               "config's)\n"
               "  --control PATH      the control socket (over the "
               "config's)\n"
               "  --port-file FILE    write the listening port there\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "listen", required_argument, NULL, 'l' },
        { "control", required_argument, NULL, 'C' },
        { "port-file", required_argument, NULL, 'P' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct daemon *d = &daemon_state;
    const char *config = NULL, *listen = NULL, *control = NULL, *pf = NULL;
    pthread_t in_th, ctl_th;
    sigset_t stop_signals;
    int sig;
    int opt;

    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 'l':
            listen = optarg;
            break;
        case 'C':
            control = optarg;
            break;
        case 'P':
            pf = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("xmigd %s\n", XMIG_VERSION_STRING);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (listen) {
        struct hostport hp;
        char why[400];
        if (hostport_parse(listen, 1, &hp, why, sizeof(why)) < 0) {
            fprintf(stderr, "xmigd: --listen %s\n", why);
            return 2;
        }
    }
    if (optind != argc ||
        d_config_load(&d->cfg, config ? config
                                      : (access("/etc/xmig/xmigd.conf", R_OK)
                                                 == 0
                                             ? "/etc/xmig/xmigd.conf"
                                             : NULL)) < 0) {
        usage(stderr);
        return 2;
    }
    /* TLS settings are checked now, not at the first incoming migration:
     * a daemon that could never accept one must not start. */
    {
        struct xmig_tls_config *tls = d_tls_config(&d->cfg, "", NULL);
        int ok = tls && xmig_tls_config_check(tls) == 0;
        xmig_tls_config_free(tls);
        if (!ok) {
            fprintf(stderr, "xmigd: %s: %s\n",
                    config ? config : "the configuration",
                    xmig_error_message());
            return 1;
        }
    }
    if (listen) {
        snprintf(d->cfg.listen, sizeof(d->cfg.listen), "%s", listen);
    }
    if (control) {
        snprintf(d->cfg.control, sizeof(d->cfg.control), "%s", control);
    }
    if (d->cfg.syslog) {
        openlog("xmigd", LOG_PID, LOG_DAEMON);
    }
    /* The library's lines (a TLS fallback, a Xen warning) go where the
     * daemon's own go, with their level. */
    xmig_set_log(d_library_log, d);
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->link_cv, NULL);
    d->shutdown = xmig_cancel_create();
    d->pending_from = calloc((size_t)d->cfg.max_handshakes,
                             sizeof(*d->pending_from));
    if (!d->shutdown || !d->pending_from) {
        fprintf(stderr, "xmigd: out of memory\n");
        return 1;
    }
    d->listen_fd = net_listen("xmigd", d->cfg.listen, &d->listen_port);
    d->control_fd = d->listen_fd < 0 ? -1 : control_socket(d);
    if (d->control_fd < 0) {
        return 1;
    }
    if (pf) {
        FILE *f = fopen(pf, "w");
        if (!f || fprintf(f, "%d\n", d->listen_port) < 0 || fclose(f) != 0) {
            fprintf(stderr, "xmigd: %s: %s\n", pf, strerror(errno));
            return 1;
        }
    }
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (pthread_create(&in_th, NULL, d_incoming_main, d) != 0 ||
        pthread_create(&ctl_th, NULL, d_control_main, d) != 0) {
        fprintf(stderr, "xmigd: cannot start threads\n");
        return 1;
    }
    d_log(d, 0, "listening for migrations on port %d, control socket %s, "
          "TLS %s", d->listen_port, d->cfg.control, d->cfg.tls);
    if (d_notify_ready() < 0) {
        d_log(d, 1, "cannot tell the service manager it is ready "
              "(NOTIFY_SOCKET): %s", strerror(errno));
    }
    sig = wait_for_stop_signal();
    atomic_store(&d->stopping, 1);
    xmig_cancel_raise(d->shutdown);
    d_log(d, 0, "stopping: cancelling migrations in flight (%s)",
          sig == SIGINT ? "SIGINT" : "SIGTERM");
    shutdown(d->listen_fd, SHUT_RDWR);
    shutdown(d->control_fd, SHUT_RDWR);
    close(d->listen_fd);
    close(d->control_fd);
    pthread_join(in_th, NULL);
    pthread_join(ctl_th, NULL);
    d_migrations_stop(d);
    pthread_mutex_lock(&d->lock);
    for (int i = 0; i < D_MAX_GUESTS; i++) {
        if (d->guests[i].state != G_FREE) {
            xmig_guest_destroy(d->guests[i].g);
            d->guests[i].state = G_FREE;
        }
    }
    pthread_mutex_unlock(&d->lock);
    control_socket_remove(d->cfg.control);
    d_log(d, 0, "stopped");
    return 0;
}
