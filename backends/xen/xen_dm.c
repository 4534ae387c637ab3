/*
 * qemu-xen, the device model of an HVM guest, as a migration source needs
 * it (libxl 4.17 does the same through its own QMP code): qemu's global
 * dirty log on around the pre-copy rounds, so that its writes into guest
 * RAM (emulated DMA) are reported to Xen's log-dirty; after the guest is
 * suspended, qemu stopped and its device state saved into a descriptor
 * we pass; on failure, qemu continued before the domain resumes.  Each
 * step opens libxl's QMP socket for the domain, does its commands and
 * closes it again, as libxl does: qemu serves one QMP client at a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xenstore.h>

#include "backends/xen/xen.h"
#include "backends/xen/xen_qmp.h"
#include "common/error.h"
#include "common/log.h"
#include "records/records.h"

#define QMP_TIMEOUT_MS 30000
#define EMULATOR_QEMU_XEN 2   /* libxl's emulator id for qemu-xen */

static struct xen_qmp *dm_connect(struct xen_guest *x)
{
    char path[64];
    struct xen_qmp *q;

    snprintf(path, sizeof(path), XEN_QMP_PATH_FMT, x->domid);
    q = xen_qmp_connect(path, QMP_TIMEOUT_MS);
    if (!q) {
        err_prefix("qemu-xen of domain %u: ", x->domid);
    }
    return q;
}

int xen_dm_logdirty(struct xen_guest *x, int on)
{
    struct xen_qmp *q;
    int rc;

    if (!x->dm || x->dm_logdirty == on) {
        return 0;
    }
    q = dm_connect(x);
    if (!q) {
        return -1;
    }
    rc = xen_qmp_dirty_log(q, on);
    xen_qmp_close(q);
    if (rc < 0) {
        err_prefix("qemu-xen of domain %u: global dirty log %s: ", x->domid,
                   on ? "on" : "off");
        return -1;
    }
    x->dm_logdirty = on;
    return 0;
}

int xen_dm_cont(struct xen_guest *x)
{
    struct xen_qmp *q;
    int rc;

    if (!x->dm_stopped) {
        return 0;
    }
    q = dm_connect(x);
    if (!q) {
        return -1;
    }
    rc = xen_qmp_cont(q);
    xen_qmp_close(q);
    if (rc < 0) {
        err_prefix("qemu-xen of domain %u: cont: ", x->domid);
        return -1;
    }
    x->dm_stopped = 0;
    /* A state saved for a move that did not happen is stale now. */
    free(x->dm_xenstore);
    free(x->dm_context);
    x->dm_xenstore = x->dm_context = NULL;
    return 0;
}

/* One record body: the emulator id and index (libxl's sub-header), then
 * len octets. */
static uint8_t *emulator_body(const void *data, size_t len, uint32_t *out_len)
{
    uint8_t *b;
    const size_t head = 8;   /* u32 emulator id, u32 index */

    if (len > REC_MAX_EMULATOR_BODY - head) {
        err_set(XMIG_ERR_LIMIT, 0, "qemu-xen's device state is %zu octets, "
                "more than a record may carry (%u)", len,
                REC_MAX_EMULATOR_BODY);
        return NULL;
    }
    b = malloc(head + len + 1);
    if (!b) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "emulator record");
        return NULL;
    }
    {
        struct cursor c = cursor_ro(b, head);   /* the writer's encoder */
        if (rec_emulator_encode_head(&c, EMULATOR_QEMU_XEN, 0) < 0) {
            free(b);
            return NULL;
        }
    }
    if (len) {
        memcpy(b + head, data, len);
    }
    *out_len = (uint32_t)(head + len);
    return b;
}

/* qemu's xenstore keys libxl carries: every physmap entry's start_addr,
 * size and name, relative to /local/domain/0/device-model/DOMID, each
 * key and value NUL-terminated.  None: no record. */
static int dm_xenstore(struct xen_guest *x)
{
    static const char *const sub[] = { "start_addr", "size", "name" };
    struct xs_handle *xs = xs_open(0);
    char root[96], path[320];
    char **ents = NULL, *buf = NULL;
    unsigned n = 0;
    size_t len = 0;
    int rc = -1;

    if (!xs) {
        return err_set(XMIG_ERR_IO, errno, "qemu-xen of domain %u: cannot "
                       "reach xenstored", x->domid);
    }
    snprintf(root, sizeof(root), "/local/domain/0/device-model/%u",
             x->domid);
    snprintf(path, sizeof(path), "%s/physmap", root);
    ents = xs_directory(xs, XBT_NULL, path, &n);
    for (unsigned i = 0; ents && i < n; i++) {
        for (int j = 0; j < 3; j++) {
            char key[200];
            unsigned vlen = 0;
            char *v;
            size_t kl;
            char *nb;
            snprintf(key, sizeof(key), "physmap/%s/%s", ents[i], sub[j]);
            snprintf(path, sizeof(path), "%s/%s", root, key);
            v = xs_read(xs, XBT_NULL, path, &vlen);
            if (!v) {
                err_set(XMIG_ERR_IO, errno, "qemu-xen of domain %u: reading "
                        "%s", x->domid, path);
                goto out;
            }
            kl = strlen(key);
            nb = realloc(buf, len + kl + 1 + vlen + 1);
            if (!nb) {
                free(v);
                err_set(XMIG_ERR_NOMEM, ENOMEM, "emulator xenstore data");
                goto out;
            }
            buf = nb;
            memcpy(buf + len, key, kl + 1);
            len += kl + 1;
            memcpy(buf + len, v, vlen);
            buf[len + vlen] = '\0';
            len += (size_t)vlen + 1;
            free(v);
        }
    }
    if (len) {
        x->dm_xenstore = emulator_body(buf, len, &x->dm_xenstore_len);
        if (!x->dm_xenstore) {
            goto out;
        }
    }
    rc = 0;
out:
    free(ents);
    free(buf);
    xs_close(xs);
    return rc;
}

/* The guest is suspended: stop qemu and take its device state.  qemu
 * opens /dev/fdset/N write-only and takes an fd of the same access mode,
 * so a memfd goes over reopened O_WRONLY; it is read back from the
 * original descriptor.  live: the save is for a migration (qemu >= 2.11
 * then leaves block devices to the destination). */
int xen_dm_save(struct xen_guest *x)
{
    struct xen_qmp *q;
    struct stat sb;
    char self[64];
    void *data = MAP_FAILED;
    int mfd = -1, wfd = -1, rc = -1;

    if (!x->dm || x->dm_context) {
        return 0;
    }
    if (dm_xenstore(x) < 0) {
        return -1;
    }
    mfd = memfd_create("xmig-qemu-state", MFD_CLOEXEC);
    snprintf(self, sizeof(self), "/proc/self/fd/%d", mfd);
    if (mfd < 0 || (wfd = open(self, O_WRONLY | O_CLOEXEC)) < 0) {
        err_set(XMIG_ERR_IO, errno, "a memory file for qemu's device state");
        goto out;
    }
    q = dm_connect(x);
    if (!q) {
        goto out;
    }
    if (xen_qmp_stop(q) < 0) {
        xen_qmp_close(q);
        err_prefix("qemu-xen of domain %u: stop: ", x->domid);
        goto out;
    }
    x->dm_stopped = 1;
    if (xen_qmp_save_devices_state(q, wfd, x->logdirty) < 0) {
        xen_qmp_close(q);
        err_prefix("qemu-xen of domain %u: saving its device state: ",
                   x->domid);
        goto out;
    }
    xen_qmp_close(q);
    if (fstat(mfd, &sb) < 0) {
        err_set(XMIG_ERR_IO, errno, "qemu's device state");
        goto out;
    }
    if (sb.st_size == 0) {
        err_set(XMIG_ERR_IO, 0, "qemu-xen of domain %u saved no device "
                "state", x->domid);
        goto out;
    }
    if ((uint64_t)sb.st_size > REC_MAX_EMULATOR_BODY) {
        err_set(XMIG_ERR_LIMIT, 0, "qemu-xen's device state is %lld "
                "octets, more than a record may carry (%u)",
                (long long)sb.st_size, REC_MAX_EMULATOR_BODY);
        goto out;
    }
    data = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, mfd, 0);
    if (data == MAP_FAILED) {
        err_set(XMIG_ERR_IO, errno, "reading qemu's device state");
        goto out;
    }
    x->dm_context = emulator_body(data, (size_t)sb.st_size,
                                  &x->dm_context_len);
    if (!x->dm_context) {
        goto out;
    }
    log_msg(XMIG_LOG_INFO, "xen: domain %u: qemu-xen's device state, %lld "
            "octets%s", x->domid, (long long)sb.st_size,
            x->dm_xenstore ? ", and its physmap keys" : "");
    rc = 0;
out:
    if (data != MAP_FAILED) {
        munmap(data, (size_t)sb.st_size);
    }
    if (wfd >= 0) {
        close(wfd);
    }
    if (mfd >= 0) {
        close(mfd);
    }
    if (rc < 0) {
        free(x->dm_xenstore);
        x->dm_xenstore = NULL;
    }
    return rc;
}

/* The saved state goes to the stream's state (the engine frees it). */
void xen_dm_take(struct xen_guest *x, struct guest_state *st)
{
    st->emulator_xenstore = x->dm_xenstore;
    st->emulator_xenstore_len = x->dm_xenstore_len;
    st->emulator_context = x->dm_context;
    st->emulator_context_len = x->dm_context_len;
    x->dm_xenstore = x->dm_context = NULL;
    x->dm_xenstore_len = x->dm_context_len = 0;
}
