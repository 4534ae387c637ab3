/* fuzz_xlconfig: the xl save file's domain config as the receiver reads it
 * (records/xl_config.c): any octets, parsed by jansson; what it extracts
 * must be within its bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "records/records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rec_xl_config cfg;
    int checked = rec_json_check(data, size);
    int read = rec_xl_config_read(data, size, &cfg);

    if (checked < 0 && read == 0) {
        abort();    /* read accepted what check refused */
    }
    if (read == 0) {
        if (memchr(cfg.name, '\0', sizeof(cfg.name)) == NULL ||
            memchr(cfg.type, '\0', sizeof(cfg.type)) == NULL ||
            memchr(cfg.device_model, '\0', sizeof(cfg.device_model)) == NULL) {
            abort();
        }
        if (strspn(cfg.name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                             "VWXYZ0123456789-_.") != strlen(cfg.name)) {
            abort();    /* only plain names are carried */
        }
    }
    return 0;
}
