/* fuzz_qmp: one line from qemu's QMP socket, as the xen backend's QMP
 * client classifies it (backends/xen/xen_qmp.c): a reply, an error, an
 * event, a greeting, or not QMP. */
#include <stdint.h>
#include <stdlib.h>

#include "backends/xen/xen_qmp.h"
#include "xmig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = NULL;
    enum xen_qmp_kind k = xen_qmp_parse_line((const char *)data, size, &v);

    if ((k == QMP_RETURN) != (v != NULL)) {
        abort();    /* a value exactly when there is a reply */
    }
    if ((k == QMP_BAD || k == QMP_ERROR) && !xmig_error_message()[0]) {
        abort();    /* a refusal says why */
    }
    json_decref(v);
    return 0;
}
