/*
 * A small QMP client for qemu-xen, the device model of HVM guests: what
 * a migration needs of it (its own dirty log on and off around the memory
 * rounds, stop, its device state saved into a file descriptor we pass,
 * cont).  Replies are parsed by jansson, never searched; asynchronous
 * events are skipped; every wait has a deadline.  No Xen header: built
 * with or without libxen-dev, so its tests run anywhere.
 */
#ifndef XMIG_BACKENDS_XEN_QMP_H
#define XMIG_BACKENDS_XEN_QMP_H

#include <stddef.h>

#include <jansson.h>

/* libxl's socket for domain D's qemu: /var/run/xen/qmp-libxl-D. */
#define XEN_QMP_PATH_FMT "/var/run/xen/qmp-libxl-%u"

struct xen_qmp;

/* Connect to path, read the greeting, leave capabilities negotiation
 * mode.  Every later command waits at most timeout_ms for its reply.
 * NULL with the xmig error set (naming the socket and the step). */
struct xen_qmp *xen_qmp_connect(const char *path, int timeout_ms);
void xen_qmp_close(struct xen_qmp *q);

/* Run one command: args (consumed; NULL for none); with fd >= 0 the fd
 * travels with the command (SCM_RIGHTS, for add-fd).  *ret (when not
 * NULL) gets the "return" value, the caller's to json_decref.  -1 with
 * the error set when qemu answers with an error, the reply is not QMP,
 * or no reply comes in time. */
int xen_qmp_execute(struct xen_qmp *q, const char *cmd, json_t *args, int fd,
                    json_t **ret);

/* What a migration asks of qemu-xen. */
int xen_qmp_dirty_log(struct xen_qmp *q, int enable);
int xen_qmp_stop(struct xen_qmp *q);
int xen_qmp_cont(struct xen_qmp *q);
/* Save the device state (not guest RAM) into fd, as libxl does: the fd
 * goes to qemu with add-fd, qemu writes /dev/fdset/N.  live: for a live
 * migration (qemu >= 2.11). */
int xen_qmp_save_devices_state(struct xen_qmp *q, int fd, int live);

/* One line from qemu, classified.  QMP_RETURN: *value is the "return"
 * member (the caller's); QMP_ERROR: the xmig error holds qemu's class and
 * description; QMP_BAD: not QMP (error set).  Pure: the fuzzer's entry. */
enum xen_qmp_kind {
    QMP_BAD = -1,
    QMP_EVENT = 0,
    QMP_RETURN = 1,
    QMP_ERROR = 2,
    QMP_GREETING = 3,
};
enum xen_qmp_kind xen_qmp_parse_line(const char *line, size_t len,
                                     json_t **value);

#endif
