/*
 * The xen backend when xmig is built without Xen's libraries (configure
 * found no libxen-dev, or --with-xen=no): the entry points exist and fail
 * saying so.
 */
#include <stddef.h>

#include "xmig.h"

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

struct xmig_guest *xmig_xen_guest_open_for_libxl(uint32_t domid)
{
    return xmig_xen_guest_open(domid);
}

struct xmig_guest *xen_guest_adopt(uint32_t domid,
                                   const struct xen_adopt_params *p)
{
    (void)p;
    err_set(XMIG_ERR_UNSUPPORTED, 0, "xen guest %u: xmig was " ABSENT,
            domid);
    return NULL;
}

int xmig_xen_domain_lookup(const char *name, uint32_t *domid)
{
    (void)domid;
    return err_set(XMIG_ERR_UNSUPPORTED, 0, "xen domain %s: xmig was " ABSENT,
                   name);
}

uint32_t xmig_xen_guest_domid(struct xmig_guest *g)
{
    (void)g;
    return 0;
}

int xmig_xen_guest_destroy_domain(struct xmig_guest *g)
{
    (void)g;
    return err_set(XMIG_ERR_UNSUPPORTED, 0, "xmig was " ABSENT);
}

int xmig_xen_domain_rename(uint32_t domid, const char *name)
{
    (void)domid;
    (void)name;
    return err_set(XMIG_ERR_UNSUPPORTED, 0, "xmig was " ABSENT);
}

struct xmig_guest *xmig_xen_guest_incoming(void *target,
                                           const char *config_json,
                                           uint64_t max_memkb)
{
    (void)target;
    (void)config_json;
    (void)max_memkb;
    err_set(XMIG_ERR_UNSUPPORTED, 0, "restoring into Xen: xmig was " ABSENT);
    return NULL;
}
