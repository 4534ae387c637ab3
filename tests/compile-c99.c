/* The public header compiles alone as pedantic C99 (make check-headers). */
#include <xmig.h>

int xmig_compile_check(void);
int xmig_compile_check(void)
{
    struct xmig_record rec;
    rec.kind = XMIG_ITEM_RECORD;
    return (int)rec.kind + (int)sizeof(struct xmig_stream_stats);
}
