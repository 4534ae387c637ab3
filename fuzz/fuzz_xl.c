/* fuzz_xl: an xl save file (header, optional data, JSON config) and the
 * libxl stream behind it, read from memory as XMIG_FORMAT_XL. */
#include "fuzz/harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_run run;

    fuzz_memory(&run, data, size, XMIG_FORMAT_XL);
    fuzz_done(&run);
    return 0;
}
