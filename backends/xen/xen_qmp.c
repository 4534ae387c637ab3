/*
 * The QMP client (xen_qmp.h).  One command at a time: send it as one
 * JSON line (with an fd as ancillary data when asked), then read lines
 * until its reply, skipping events, within a deadline.  Lines are capped
 * (QMP_LINE_MAX): what qemu says to the commands used here is small.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "backends/xen/xen_qmp.h"
#include "common/error.h"

#define QMP_LINE_MAX (64u << 10)

struct xen_qmp {
    int fd;
    int timeout_ms;
    char path[108];
    char buf[QMP_LINE_MAX];
    size_t have;
};

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

enum xen_qmp_kind xen_qmp_parse_line(const char *line, size_t len,
                                     json_t **value)
{
    json_error_t je;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je), *v;
    enum xen_qmp_kind kind = QMP_BAD;

    *value = NULL;
    if (!o) {
        err_set(XMIG_ERR_PROTOCOL, 0, "QMP: not JSON at octet %d: %s",
                je.position, je.text);
        return QMP_BAD;
    }
    if (!json_is_object(o)) {
        err_set(XMIG_ERR_PROTOCOL, 0, "QMP: a message is a JSON object");
    } else if ((v = json_object_get(o, "return")) != NULL) {
        *value = json_incref(v);
        kind = QMP_RETURN;
    } else if ((v = json_object_get(o, "error")) != NULL) {
        const char *cls = json_string_value(json_object_get(v, "class"));
        const char *desc = json_string_value(json_object_get(v, "desc"));
        err_set(XMIG_ERR_IO, 0, "%s (%s)", desc ? desc : "no description",
                cls ? cls : "no class");
        kind = QMP_ERROR;
    } else if (json_is_string(json_object_get(o, "event"))) {
        kind = QMP_EVENT;
    } else if (json_is_object(json_object_get(o, "QMP"))) {
        kind = QMP_GREETING;
    } else {
        err_set(XMIG_ERR_PROTOCOL, 0, "QMP: a message with neither return, "
                "error, event nor QMP");
    }
    json_decref(o);
    return kind;
}

/* The next line from qemu (without its end), by the deadline. */
static int read_line(struct xen_qmp *q, long deadline, char **line,
                     size_t *len)
{
    for (;;) {
        char *nl = memchr(q->buf, '\n', q->have);
        struct pollfd p = { q->fd, POLLIN, 0 };
        long left = deadline - now_ms();
        ssize_t n;

        if (nl) {
            *line = q->buf;
            *len = (size_t)(nl - q->buf);
            if (*len && q->buf[*len - 1] == '\r') {
                (*len)--;
            }
            return 0;
        }
        if (q->have == sizeof(q->buf)) {
            return err_set(XMIG_ERR_LIMIT, 0, "QMP %s: a line longer than %u "
                           "octets", q->path, QMP_LINE_MAX);
        }
        if (left <= 0) {
            return err_set(XMIG_ERR_IO, ETIMEDOUT, "QMP %s: no answer from "
                           "qemu in %d ms", q->path, q->timeout_ms);
        }
        if (poll(&p, 1, (int)(left > 1000 ? 1000 : left)) < 0 &&
            errno != EINTR) {
            return err_set(XMIG_ERR_IO, errno, "QMP %s: poll", q->path);
        }
        if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) {
            continue;
        }
        n = read(q->fd, q->buf + q->have, sizeof(q->buf) - q->have);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return err_set(XMIG_ERR_IO, errno, "QMP %s: read", q->path);
        }
        if (n == 0) {
            return err_set(XMIG_ERR_CLOSED, 0, "QMP %s: qemu closed the "
                           "connection", q->path);
        }
        q->have += (size_t)n;
    }
}

static void consume_line(struct xen_qmp *q)
{
    char *nl = memchr(q->buf, '\n', q->have);
    size_t n = (size_t)(nl - q->buf) + 1;

    memmove(q->buf, q->buf + n, q->have - n);
    q->have -= n;
}

/* Lines until one of the kind wanted (events skipped). */
static enum xen_qmp_kind next_message(struct xen_qmp *q, long deadline,
                                      json_t **value)
{
    for (;;) {
        enum xen_qmp_kind k;
        char *line = NULL;
        size_t len = 0;

        if (read_line(q, deadline, &line, &len) < 0) {
            return QMP_BAD;
        }
        k = xen_qmp_parse_line(line, len, value);
        consume_line(q);
        if (k != QMP_EVENT) {
            return k;
        }
    }
}

static int send_all(struct xen_qmp *q, const char *text, size_t len, int fd)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { (void *)text, len };
    struct msghdr m = { 0 };

    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (fd >= 0) {
        struct cmsghdr *c;
        memset(cbuf, 0, sizeof(cbuf));
        m.msg_control = cbuf;
        m.msg_controllen = sizeof(cbuf);
        c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    while (iov.iov_len) {
        ssize_t n = sendmsg(q->fd, &m, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return err_set(XMIG_ERR_IO, errno, "QMP %s: send", q->path);
        }
        iov.iov_base = (char *)iov.iov_base + n;
        iov.iov_len -= (size_t)n;
        m.msg_control = NULL;      /* the fd went with the first octets */
        m.msg_controllen = 0;
    }
    return 0;
}

int xen_qmp_execute(struct xen_qmp *q, const char *cmd, json_t *args, int fd,
                    json_t **ret)
{
    json_t *msg = json_pack("{s:s}", "execute", cmd), *value = NULL;
    char *text = NULL;
    enum xen_qmp_kind k;
    int rc = -1;

    if (ret) {
        *ret = NULL;
    }
    if (!msg || (args && json_object_set(msg, "arguments", args) < 0) ||
        !(text = json_dumps(msg, JSON_COMPACT))) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "QMP %s", cmd);
        goto out;
    }
    if (send_all(q, text, strlen(text), fd) < 0 ||
        send_all(q, "\n", 1, -1) < 0) {
        goto out;
    }
    k = next_message(q, now_ms() + q->timeout_ms, &value);
    if (k == QMP_RETURN) {
        rc = 0;
        if (ret) {
            *ret = value;
            value = NULL;
        }
    } else if (k == QMP_ERROR) {
        err_prefix("qemu refused %s: ", cmd);
    } else if (k == QMP_GREETING) {
        err_set(XMIG_ERR_PROTOCOL, 0, "QMP %s: a greeting where the reply "
                "to %s should be", q->path, cmd);
    } else {
        err_prefix("waiting for qemu's reply to %s: ", cmd);
    }
out:
    json_decref(value);
    json_decref(msg);
    json_decref(args);
    free(text);
    return rc;
}

struct xen_qmp *xen_qmp_connect(const char *path, int timeout_ms)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    struct xen_qmp *q = calloc(1, sizeof(*q));
    json_t *value = NULL;
    enum xen_qmp_kind k;

    if (!q) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "QMP client");
        return NULL;
    }
    q->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
    snprintf(q->path, sizeof(q->path), "%s", path);
    if (strlen(path) >= sizeof(a.sun_path)) {
        err_set(XMIG_ERR_USAGE, 0, "QMP socket path %s is too long", path);
        free(q);
        return NULL;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (q->fd < 0 || connect(q->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        err_set(XMIG_ERR_IO, errno, "QMP %s: cannot connect to qemu",
                path);
        goto fail;
    }
    k = next_message(q, now_ms() + q->timeout_ms, &value);
    json_decref(value);
    if (k != QMP_GREETING) {
        if (k != QMP_BAD) {
            err_set(XMIG_ERR_PROTOCOL, 0, "QMP %s: no greeting from qemu",
                    path);
        } else {
            err_prefix("QMP greeting: ");
        }
        goto fail;
    }
    if (xen_qmp_execute(q, "qmp_capabilities", NULL, -1, NULL) < 0) {
        goto fail;
    }
    return q;
fail:
    xen_qmp_close(q);
    return NULL;
}

void xen_qmp_close(struct xen_qmp *q)
{
    if (q) {
        if (q->fd >= 0) {
            close(q->fd);
        }
        free(q);
    }
}

int xen_qmp_dirty_log(struct xen_qmp *q, int enable)
{
    return xen_qmp_execute(q, "xen-set-global-dirty-log",
                           json_pack("{s:b}", "enable", enable), -1, NULL);
}

int xen_qmp_stop(struct xen_qmp *q)
{
    return xen_qmp_execute(q, "stop", NULL, -1, NULL);
}

int xen_qmp_cont(struct xen_qmp *q)
{
    return xen_qmp_execute(q, "cont", NULL, -1, NULL);
}

int xen_qmp_save_devices_state(struct xen_qmp *q, int fd, int live)
{
    json_t *ret = NULL, *id;
    char file[64];
    int rc;

    /* qemu may run deprivileged: it writes to an fd we hand it, as with
     * libxl, not to a path it would have to open. */
    if (xen_qmp_execute(q, "add-fd", NULL, fd, &ret) < 0) {
        return -1;
    }
    id = json_object_get(ret, "fdset-id");
    if (!json_is_integer(id) || json_integer_value(id) < 0 ||
        json_integer_value(id) > 0x7fffffff) {
        json_decref(ret);
        return err_set(XMIG_ERR_PROTOCOL, 0, "QMP %s: add-fd returned no "
                       "fdset-id", q->path);
    }
    snprintf(file, sizeof(file), "/dev/fdset/%lld",
             (long long)json_integer_value(id));
    json_decref(ret);
    rc = xen_qmp_execute(q, "xen-save-devices-state",
                         json_pack("{s:s, s:b}", "filename", file, "live",
                                   live),
                         -1, NULL);
    return rc;
}
