/* fuzz_libxl: a libxl stream v2 (header, libxl records, the libxc image
 * inline, checkpoints) read from memory as XMIG_FORMAT_LIBXL. */
#include "fuzz/harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_run run;

    fuzz_memory(&run, data, size, XMIG_FORMAT_LIBXL);
    fuzz_done(&run);
    return 0;
}
