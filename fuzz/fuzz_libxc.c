/* fuzz_libxc: a bare libxc image v2/v3 as XMIG_FORMAT_LIBXC, read from
 * memory (lent views) and again from a memfd (buffered views); both agree. */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz/harness.h"

/* Copy the input into a memfd rewound to its start; -1 if not possible. */
static int memfd_of(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz_libxc", MFD_CLOEXEC);
    size_t done = 0;

    if (fd < 0) {
        return -1;
    }
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int warned;
    struct fuzz_run mem, buffered;
    struct xmig_transport *t;
    int fd;

    fuzz_memory(&mem, data, size, XMIG_FORMAT_LIBXC);

    /* The fd transport cannot lend, so every view comes from the reader's
     * own buffer: a different path through fetch() and fill(). */
    fd = memfd_of(data, size);
    if (fd < 0) {
        if (!warned) {
            fprintf(stderr, "fuzz_libxc: no memfd, fd path not fuzzed\n");
            warned = 1;
        }
        fuzz_done(&mem);
        return 0;
    }
    t = xmig_transport_fd(fd, 1);
    fuzz_read(&buffered, t, data, size, XMIG_FORMAT_LIBXC);
    xmig_transport_free(t);
    if (mem.rc != buffered.rc || mem.eof_rc != buffered.eof_rc ||
        mem.cat != buffered.cat || mem.items != buffered.items ||
        mem.digest != buffered.digest ||
        mem.stats.bytes != buffered.stats.bytes ||
        xmig_transparent_state_compare(mem.st, buffered.st) != 0) {
        fprintf(stderr, "fuzz_libxc: memory and fd reads disagree: rc %d/%d, "
                        "eof %d/%d, error %d/%d, items %llu/%llu, "
                        "bytes %llu/%llu\n",
                mem.rc, buffered.rc, mem.eof_rc, buffered.eof_rc, mem.cat,
                buffered.cat, (unsigned long long)mem.items,
                (unsigned long long)buffered.items,
                (unsigned long long)mem.stats.bytes,
                (unsigned long long)buffered.stats.bytes);
        abort();
    }
    fuzz_done(&mem);
    fuzz_done(&buffered);
    return 0;
}
