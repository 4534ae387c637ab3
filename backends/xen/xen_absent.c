/*
 * The xen backend when xmig is built without Xen's libraries (configure
 * found no libxen-dev, or --with-xen=no): the entry points exist and fail
 * saying so.
 */
#include <stddef.h>

#include "backends/xen/xen_convert.h"
#include "common/error.h"

#define ABSENT "built without Xen support (configure --with-xen)"

int xen_backend_built(void)
{
    return 0;
}

struct xmig_guest *xmig_xen_guest_open(uint32_t domid)
{
    err_set(XMIG_ERR_UNSUPPORTED, 0, "xen guest %u: xmig was " ABSENT,
            domid);
    return NULL;
}

struct xmig_guest *xen_guest_adopt(uint32_t domid,
                                   const struct xen_adopt_params *p)
{
    (void)p;
    err_set(XMIG_ERR_UNSUPPORTED, 0, "xen guest %u: xmig was " ABSENT,
            domid);
    return NULL;
}
