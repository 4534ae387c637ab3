/* fuzz_tlsopts: the TLS settings a user or xmigd.conf hands the library,
 * from text: a pin (SHA-256, "ab:cd:..." or plain hex), a mode, a cipher
 * name, a peer name.  Each either takes the value or says why not. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The n-th NUL-free field of the input, split at newlines (a C string,
 * as the options arrive). */
static char *field(const uint8_t *data, size_t size, int n)
{
    size_t start = 0;

    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == '\n') {
            if (n-- == 0) {
                char *s = malloc(i - start + 1);
                if (!s) {
                    abort();
                }
                memcpy(s, data + start, i - start);
                s[i - start] = '\0';
                return s;
            }
            start = i + 1;
        }
    }
    return strdup("");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xmig_tls_config *c = xmig_tls_config_create();
    char *pin = field(data, size, 0), *mode = field(data, size, 1);
    char *cipher = field(data, size, 2), *peer = field(data, size, 3);
    enum xmig_tls_mode m;

    if (!c) {
        abort();
    }
    if (xmig_tls_config_add_pin(c, pin) < 0 && !xmig_error_message()[0]) {
        abort();
    }
    if (xmig_tls_mode_parse(mode, &m) == 0 &&
        strcmp(xmig_tls_mode_name(m), mode) != 0) {
        abort();    /* a mode is taken only by its own name */
    }
    (void)xmig_tls_config_set_cipher(c, cipher[0] ? cipher : NULL);
    (void)xmig_tls_config_set_peer_name(c, peer);
    xmig_tls_config_free(c);
    free(pin);
    free(mode);
    free(cipher);
    free(peer);
    return 0;
}
