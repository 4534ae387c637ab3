/* fuzz_conf: xmigd.conf as xmigd reads it (xmigd/daemon_config.c): any
 * octets; a refusal names its line, and what is accepted is within the
 * limits the daemon relies on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmigd/daemon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct d_config c;
    char err[600] = "";
    int line = 0;

    if (d_config_parse(&c, (const char *)data, size, &line, err,
                       sizeof(err)) < 0) {
        if (line < 1 || !err[0]) {
            abort();    /* a refusal names its line and why */
        }
        return 0;
    }
    if (!memchr(c.listen, '\0', sizeof(c.listen)) ||
        !memchr(c.cert, '\0', sizeof(c.cert)) || c.npins < 0 ||
        c.npins > D_MAX_PINS || c.max_parallel < 1 ||
        c.max_parallel > D_MAX_MIGRATIONS || c.max_handshakes < 1 ||
        c.max_handshakes_per_source > c.max_handshakes ||
        c.io_ms > D_MAX_TIMEOUT_MS || c.max_memory_mib > (1ull << 22)) {
        abort();
    }
    return 0;
}
