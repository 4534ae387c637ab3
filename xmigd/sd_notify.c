/*
 * Tell systemd the daemon is ready (Type=notify): one datagram, "READY=1",
 * to the socket $NOTIFY_SOCKET names (a path, or '@' for the abstract
 * namespace).  Without the variable there is no service manager to tell,
 * and nothing is sent.  The protocol is sd_notify(3)'s; xmigd needs only
 * this one message, so it does not link libsystemd for it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "xmigd/daemon.h"

int d_notify_ready(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    static const char msg[] = "READY=1";
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    size_t n;
    int s, rc;

    if (!path || !path[0]) {
        return 0;
    }
    n = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof(a.sun_path)) {
        errno = EINVAL;
        return -1;
    }
    memcpy(a.sun_path, path, n);
    if (path[0] == '@') {
        a.sun_path[0] = '\0';
    }
    s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        return -1;
    }
    rc = sendto(s, msg, sizeof(msg) - 1, MSG_NOSIGNAL, (struct sockaddr *)&a,
                (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) ==
                 (ssize_t)(sizeof(msg) - 1)
             ? 0
             : -1;
    close(s);
    return rc;
}
