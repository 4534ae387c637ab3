/* Files that appear under their final name only when complete. */
#ifndef XMIG_ATOMIC_FILE_H
#define XMIG_ATOMIC_FILE_H

struct atomic_file {
    int fd;
    char tmp[4096];
    char path[4096];
};

/* Open PATH.tmpXXXXXX beside the final name; -1 with errno. */
int atomic_open(struct atomic_file *f, const char *path);
/* fsync, close, rename into place; -1 with errno (the temporary is
 * removed). */
int atomic_commit(struct atomic_file *f);
/* Close and remove the temporary. */
void atomic_abort(struct atomic_file *f);

#endif
