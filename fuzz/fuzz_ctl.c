/* fuzz_ctl: one line of xmigd's control protocol through the check every
 * request passes before the daemon acts on it (xmigd/ctl_requests.c):
 * jansson's strict parse, then the operation's table of members.  What
 * passes must hold exactly what the table allows: strings without NUL and
 * within their length, numbers in range, fractions only in the seconds
 * members (timeout_s, handover_timeout_s). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmigd/ctl_json.h"
#include "xmigd/ctl_requests.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *req = NULL, *v;
    const char *key;
    char err[300];
    int op = -1;

    if (ctl_request_check((const char *)data, size, &req, &op, err,
                          sizeof(err)) < 0) {
        if (req || !err[0]) {
            abort();    /* a refusal leaves nothing and says why */
        }
        return 0;
    }
    if (!req || op < 0) {
        abort();
    }
    json_object_foreach(req, key, v) {
        if (json_is_string(v) &&
            strlen(json_string_value(v)) != json_string_length(v)) {
            abort();    /* a NUL inside an accepted string */
        }
        if (json_is_real(v)) {
            /* Only the seconds members take a fraction, within 0..86400. */
            size_t kl = strlen(key);
            double d = json_real_value(v);
            if (kl < 2 || strcmp(key + kl - 2, "_s") != 0 || !(d >= 0) ||
                d > 86400) {
                abort();
            }
        }
    }
    /* The reply path prints what it accepted; it must round-trip, the
     * seconds to cj_dump's ten significant digits. */
    {
        char *line = cj_dump(req);
        json_t *again = line ? cj_parse(line, strlen(line), err, sizeof(err))
                             : NULL;
        if (!line || !again || json_object_size(again) != json_object_size(req)) {
            abort();
        }
        json_object_foreach(req, key, v) {
            json_t *w = json_object_get(again, key);
            if (json_is_number(v) && json_is_real(v)) {
                double a = json_number_value(v), b = json_number_value(w);
                if (!json_is_number(w) || fabs(a - b) > 1e-9 * (1 + fabs(a))) {
                    abort();
                }
            } else if (!json_equal(v, w)) {
                abort();
            }
        }
        json_decref(again);
        free(line);
    }
    json_decref(req);
    return 0;
}
