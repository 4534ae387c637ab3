// The public header compiles as C++ (make check-headers).
#include <xmig.h>

int xmig_compile_check_cxx();
int xmig_compile_check_cxx()
{
    xmig_record rec = xmig_record();
    rec.kind = XMIG_ITEM_RECORD;
    return static_cast<int>(rec.kind) + (xmig_error_category() != XMIG_ERR_NONE);
}
