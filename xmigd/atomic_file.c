/* Temporary file beside the final name, renamed into place when done. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/error.h"
#include "xmigd/atomic_file.h"
#include "xmigd/cli.h"

int atomic_open(struct atomic_file *f, const char *path)
{
    if ((size_t)snprintf(f->path, sizeof(f->path), "%s", path) >=
            sizeof(f->path) ||
        (size_t)snprintf(f->tmp, sizeof(f->tmp), "%s.tmpXXXXXX", path) >=
            sizeof(f->tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    f->fd = mkostemp(f->tmp, O_CLOEXEC);
    return f->fd < 0 ? -1 : 0;
}

int atomic_commit(struct atomic_file *f)
{
    int err;

    if (fsync(f->fd) < 0 || close(f->fd) < 0) {
        err = errno;
        f->fd = -1;
        unlink(f->tmp);
        errno = err;
        return -1;
    }
    f->fd = -1;
    if (rename(f->tmp, f->path) < 0) {
        err = errno;
        unlink(f->tmp);
        errno = err;
        return -1;
    }
    return 0;
}

void atomic_abort(struct atomic_file *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    unlink(f->tmp);
}

int err_report_errno(const char *path)
{
    return err_set(XMIG_ERR_IO, errno, "%s", path);
}
