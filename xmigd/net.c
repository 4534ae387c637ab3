/* Sockets and TLS options for the commands that connect or listen. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "xmigd/cli.h"
#include "xmigd/hostport.h"
#include "xmigd/tls_opts.h"

int tls_opt(struct xmig_tls_config *c, int opt, const char *arg,
            const char **cert, const char **key)
{
    enum xmig_tls_mode mode;
    int rc;

    switch (opt) {
    case 0x1000:
        rc = xmig_tls_mode_parse(arg, &mode);
        rc = rc < 0 ? rc : xmig_tls_config_set_mode(c, mode);
        break;
    case 0x1001:
        *cert = arg;
        return 1;
    case 0x1002:
        *key = arg;
        return 1;
    case 0x1003:
        rc = xmig_tls_config_set_ca(c, arg);
        break;
    case 0x1004:
        rc = xmig_tls_config_add_pin(c, arg);
        break;
    case 0x1005:
        rc = xmig_tls_config_set_peer_name(c, arg);
        break;
    case 0x1006:
        rc = xmig_tls_config_set_insecure(c, 1);
        break;
    default:
        return 0;
    }
    return rc < 0 ? -1 : 1;
}

int parse_seconds(const char *arg, uint32_t *ms)
{
    double s;

    if (cli_decimal(arg, &s) < 0 || !(s > 0) || s > 86400 || s * 1000 < 1) {
        return -1;
    }
    *ms = (uint32_t)(s * 1000 + 0.5);
    return 0;
}

int time_opt(struct xmig_tls_config *c, int opt, const char *arg,
             uint32_t *handshake_ms, uint32_t *io_ms)
{
    uint32_t ms;

    if (opt != 0x1100 && opt != 0x1101) {
        return 0;
    }
    if (parse_seconds(arg, &ms) < 0) {
        fprintf(stderr, "xmig: --%s takes a number of seconds above 0, at "
                "most 86400 (digits, a '.' before a fraction), not '%s'\n",
                opt == 0x1100 ? "timeout" : "handshake-timeout", arg);
        return -1;
    }
    if (opt == 0x1100) {
        *io_ms = ms;
    } else {
        *handshake_ms = ms;
    }
    xmig_tls_config_set_timeouts(c, *handshake_ms, *io_ms);
    return 1;
}

/* HOST:PORT checked (hostport.c); the error said as cmd's. */
static int split(const char *cmd, const char *hostport, int listen,
                 struct hostport *hp)
{
    char why[400];

    if (hostport_parse(hostport, listen, hp, why, sizeof(why)) < 0) {
        fprintf(stderr, "xmig %s: %s\n", cmd, why);
        return -1;
    }
    return 0;
}

int tls_opt_name_from_host(const char *cmd, struct xmig_tls_config *c,
                           const char *hostport)
{
    struct hostport hp;

    if (split(cmd, hostport, 0, &hp) < 0) {
        return -1;
    }
    if (xmig_tls_config_set_peer_name(c, hp.host) < 0) {
        fprintf(stderr, "xmig %s: the host of %s as the name to expect: %s "
                "(--name says which)\n", cmd, hostport, xmig_error_message());
        return -1;
    }
    return 0;
}

int net_connect(const char *cmd, const char *hostport)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
    struct hostport hp;
    int s = -1, rc, err = 0;

    if (split(cmd, hostport, 0, &hp) < 0) {
        return -1;
    }
    rc = getaddrinfo(hp.host, hp.port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "xmig %s: cannot resolve %s: %s\n", cmd, hostport,
                gai_strerror(rc));
        return -1;
    }
    for (a = ai; a; a = a->ai_next) {
        s = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s >= 0 && connect(s, a->ai_addr, a->ai_addrlen) == 0) {
            break;
        }
        err = errno;
        if (s >= 0) {
            close(s);
        }
        s = -1;
    }
    freeaddrinfo(ai);
    if (s < 0) {
        fprintf(stderr, "xmig %s: cannot connect to %s: %s (is a receiver "
                        "listening there?)\n",
                cmd, hostport, strerror(err));
    }
    return s;
}

static double mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One address: a non-blocking connect, waited for in 100 ms slices until
 * the deadline or the cancel; 0 or an errno value. */
static int connect_one(int s, const struct addrinfo *a, double end,
                       struct xmig_cancel *cancel)
{
    int fl = fcntl(s, F_GETFL), err = 0;
    socklen_t el = sizeof(err);

    if (fl < 0 || fcntl(s, F_SETFL, fl | O_NONBLOCK) < 0) {
        return errno;
    }
    if (connect(s, a->ai_addr, a->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
            return errno;
        }
        for (;;) {
            struct pollfd pfd = { s, POLLOUT, 0 };
            double left = end - mono_ms();
            int rc;
            if (xmig_cancel_raised(cancel)) {
                return ECANCELED;
            }
            if (left <= 0) {
                return ETIMEDOUT;
            }
            rc = poll(&pfd, 1, left < 100 ? (int)left + 1 : 100);
            if (rc > 0) {
                break;
            }
            if (rc < 0 && errno != EINTR) {
                return errno;
            }
        }
        if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) < 0) {
            return errno;
        }
        if (err) {
            return err;
        }
    }
    /* Blocking again: the transport decides how it waits. */
    return fcntl(s, F_SETFL, fl) < 0 ? errno : 0;
}

int net_connect_limited(const char *hostport, uint32_t ms,
                        struct xmig_cancel *cancel, char *why, size_t len)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
    struct hostport hp;
    double end = mono_ms() + (ms ? ms : 1e12);
    int s = -1, rc, err = 0;

    if (hostport_parse(hostport, 0, &hp, why, len) < 0) {
        return -1;
    }
    rc = getaddrinfo(hp.host, hp.port, &hints, &ai);
    if (rc != 0) {
        snprintf(why, len, "cannot resolve %s: %s", hostport,
                 gai_strerror(rc));
        return -1;
    }
    for (a = ai; a; a = a->ai_next) {
        s = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        err = s < 0 ? errno : connect_one(s, a, end, cancel);
        if (err == 0) {
            break;
        }
        if (s >= 0) {
            close(s);
        }
        s = -1;
        if (err == ECANCELED || err == ETIMEDOUT) {
            break;
        }
    }
    freeaddrinfo(ai);
    if (s < 0 && err == ETIMEDOUT) {
        snprintf(why, len, "cannot connect to %s: no answer within %.0f s",
                 hostport, ms / 1e3);
    } else if (s < 0 && err == ECANCELED) {
        snprintf(why, len, "cancelled while connecting to %s", hostport);
    } else if (s < 0) {
        snprintf(why, len, "cannot connect to %s: %s", hostport,
                 strerror(err));
    }
    return s;
}

int net_listen(const char *cmd, const char *hostport, int *port)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE },
                    *ai;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char serv[16];
    struct hostport hp;
    int s, one = 1, rc;

    if (split(cmd, hostport, 1, &hp) < 0) {
        return -1;
    }
    rc = getaddrinfo(hp.host, hp.port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "xmig %s: cannot resolve %s: %s\n", cmd, hostport,
                gai_strerror(rc));
        return -1;
    }
    s = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s >= 0) {
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    }
    /* A full backlog: connections are judged after accept (caps, time
     * limits), not by dropped SYNs that delay honest peers as well. */
    if (s < 0 || bind(s, ai->ai_addr, ai->ai_addrlen) < 0 ||
        listen(s, SOMAXCONN) < 0 ||
        getsockname(s, (struct sockaddr *)&ss, &sl) < 0) {
        fprintf(stderr, "xmig %s: cannot listen on %s: %s\n", cmd, hostport,
                strerror(errno));
        freeaddrinfo(ai);
        if (s >= 0) {
            close(s);
        }
        return -1;
    }
    freeaddrinfo(ai);
    getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, serv, sizeof(serv),
                NI_NUMERICSERV);
    *port = atoi(serv);
    return s;
}
