/*
 * Which kernel crypto implementation serves kernel TLS: the kernel takes
 * the highest-priority registered "gcm(aes)" when a TLS socket gets its
 * keys, so /proc/crypto (blank-line separated "key : value" blocks) says
 * which driver that is.  The parser does no I/O; the reader is separate.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_alg.h>

#include "streams/kernel_crypto.h"

#define PROC_CRYPTO_MAX (1u << 20)

/* The value of "key : value" on line [p, end), into out; 1 if key. */
static int field(const char *p, const char *end, const char *key, char *out,
                 size_t len)
{
    size_t k = strlen(key), n;

    if ((size_t)(end - p) < k || memcmp(p, key, k) != 0) {
        return 0;
    }
    p += k;
    while (p < end && *p == ' ') {
        p++;
    }
    if (p == end || *p != ':') {
        return 0;
    }
    p++;
    while (p < end && *p == ' ') {
        p++;
    }
    n = (size_t)(end - p);
    if (n >= len) {
        n = len - 1;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

int kcrypto_best(const char *text, size_t len, const char *alg,
                 struct kcrypto_impl *best)
{
    const char *p = text, *end = text + len;
    struct kcrypto_impl cur;
    char name[128] = "", prio[32] = "";
    int count = 0;

    memset(best, 0, sizeof(*best));
    best->priority = -1;
    memset(&cur, 0, sizeof(cur));
    for (;;) {
        const char *eol = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        const char *stop = eol ? eol : end;

        if (p == stop) {
            /* A blank line (or the end) closes a block. */
            if (name[0] && strcmp(name, alg) == 0 && prio[0]) {
                char *e;
                long v = strtol(prio, &e, 10);
                if (*e == '\0' && v >= 0 && v <= 1000000 &&
                    v > best->priority) {
                    cur.priority = (int)v;
                    *best = cur;
                }
                count += *e == '\0';
            }
            name[0] = prio[0] = '\0';
            memset(&cur, 0, sizeof(cur));
            if (!eol) {
                break;
            }
        } else if (!field(p, stop, "name", name, sizeof(name)) &&
                   !field(p, stop, "driver", cur.driver,
                          sizeof(cur.driver)) &&
                   !field(p, stop, "module", cur.module,
                          sizeof(cur.module))) {
            field(p, stop, "priority", prio, sizeof(prio));
        }
        p = eol ? eol + 1 : end;
    }
    best->count = count;
    return best->priority >= 0 ? 0 : -1;
}

/* Templates such as gcm(aes) appear in /proc/crypto once something asked
 * for them; binding an AF_ALG socket asks, where the kernel allows. */
static void instantiate(const char *type, const char *alg)
{
    struct sockaddr_alg sa = { .salg_family = AF_ALG };
    int s = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

    if (s < 0) {
        return;
    }
    snprintf((char *)sa.salg_type, sizeof(sa.salg_type), "%s", type);
    snprintf((char *)sa.salg_name, sizeof(sa.salg_name), "%s", alg);
    (void)bind(s, (struct sockaddr *)&sa, sizeof(sa));
    close(s);
}

int kcrypto_lookup(const char *alg, struct kcrypto_impl *best, char *why,
                   size_t whylen)
{
    char *buf = malloc(PROC_CRYPTO_MAX);
    size_t len = 0;
    ssize_t n;
    int fd, rc;

    instantiate("aead", alg);
    fd = open("/proc/crypto", O_RDONLY | O_CLOEXEC);
    if (!buf || fd < 0) {
        snprintf(why, whylen, "cannot read /proc/crypto: %s",
                 strerror(buf ? errno : ENOMEM));
        free(buf);
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    while (len < PROC_CRYPTO_MAX &&
           (n = read(fd, buf + len, PROC_CRYPTO_MAX - len)) > 0) {
        len += (size_t)n;
    }
    close(fd);
    rc = kcrypto_best(buf, len, alg, best);
    free(buf);
    if (rc < 0) {
        snprintf(why, whylen, "no %s in /proc/crypto yet: the kernel "
                 "loads its highest-priority implementation at the first "
                 "kernel TLS socket", alg);
    }
    return rc;
}
