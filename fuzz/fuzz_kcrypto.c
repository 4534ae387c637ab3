/* fuzz_kcrypto: /proc/crypto text as xmig tls-info reads it
 * (streams/kernel_crypto.c): any octets; what it picks must be a block
 * named gcm(aes), with NUL-terminated strings and a priority in range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "streams/kernel_crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kcrypto_impl best;
    int rc = kcrypto_best((const char *)data, size, "gcm(aes)", &best);

    if (memchr(best.driver, '\0', sizeof(best.driver)) == NULL ||
        memchr(best.module, '\0', sizeof(best.module)) == NULL) {
        abort();
    }
    if (rc == 0 && (best.priority < 0 || best.priority > 1000000 ||
                    best.count < 1)) {
        abort();
    }
    if (rc < 0 && best.priority != -1) {
        abort();
    }
    return 0;
}
