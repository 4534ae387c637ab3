/*
 * What the xen backend asks of libxl, the toolstack that owns a Xen
 * host's domains: a domain's configuration (the JSON an xl save file
 * carries), a domain's id from its name, and on the destination a new
 * domain built from a configuration and left paused to restore into, its
 * rename, and its destruction with everything libxl set up for it
 * (xenstore entries, console).  Each call opens its own libxl context and
 * closes it: these are rare calls, and a context holds file descriptors
 * and a SIGCHLD handler.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/xen/xen.h"

#include <libxl.h>
#include <libxl_utils.h>

#include "common/error.h"

struct toolstack {
    struct xen_logger log;
    libxl_ctx *ctx;
};

static int ts_open(struct toolstack *ts, const char *what)
{
    memset(ts, 0, sizeof(*ts));
    xen_logger_init(&ts->log);
    if (libxl_ctx_alloc(&ts->ctx, LIBXL_VERSION, 0,
                        (xentoollog_logger *)&ts->log) != 0) {
        return err_set(XMIG_ERR_UNSUPPORTED, errno, "%s: libxl is not usable "
                       "here%s%s", what, ts->log.last[0] ? ": " : "",
                       ts->log.last);
    }
    return 0;
}

static void ts_close(struct toolstack *ts)
{
    if (ts->ctx) {
        libxl_ctx_free(ts->ctx);
    }
}

/* "<what>: libxl error N[: its last message]" */
static int ts_fail(struct toolstack *ts, enum xmig_error_category cat,
                   int rc, const char *what)
{
    err_set(cat, 0, "%s: libxl error %d%s%s", what, rc,
            ts->log.last[0] ? ": " : "", ts->log.last);
    ts_close(ts);
    return -1;
}

int xen_ts_config_json(uint32_t domid, char **json)
{
    struct toolstack ts;
    libxl_domain_config cfg;
    char what[96];
    int rc;

    snprintf(what, sizeof(what), "the configuration of domain %u", domid);
    if (ts_open(&ts, what) < 0) {
        return -1;
    }
    libxl_domain_config_init(&cfg);
    rc = libxl_retrieve_domain_configuration(ts.ctx, domid, &cfg, NULL);
    if (rc == 0) {
        *json = libxl_domain_config_to_json(ts.ctx, &cfg);
        rc = *json ? 0 : ERROR_NOMEM;
    }
    libxl_domain_config_dispose(&cfg);
    if (rc != 0) {
        return ts_fail(&ts, XMIG_ERR_IO, rc, what);
    }
    ts_close(&ts);
    return 0;
}

/* What decides whether xmig can carry the guest, from libxl's config. */
static void facts_from(const libxl_domain_config *cfg,
                       struct xen_carry_facts *f)
{
    const libxl_domain_build_info *b = &cfg->b_info;
    libxl_domain_type type = b->type != LIBXL_DOMAIN_TYPE_INVALID
                                 ? b->type
                                 : cfg->c_info.type;

    memset(f, 0, sizeof(*f));
    switch (type) {
    case LIBXL_DOMAIN_TYPE_HVM:
        f->type = XEN_CARRY_TYPE_HVM;
        break;
    case LIBXL_DOMAIN_TYPE_PVH:
        f->type = XEN_CARRY_TYPE_PVH;
        break;
    case LIBXL_DOMAIN_TYPE_PV:
        f->type = XEN_CARRY_TYPE_PV;
        break;
    case LIBXL_DOMAIN_TYPE_INVALID:
    default:
        f->type = XEN_CARRY_TYPE_UNKNOWN;
        break;
    }
    switch (b->device_model_version) {
    case LIBXL_DEVICE_MODEL_VERSION_QEMU_XEN:
        f->dm = XEN_CARRY_DM_QEMU_XEN;
        break;
    case LIBXL_DEVICE_MODEL_VERSION_QEMU_XEN_TRADITIONAL:
        f->dm = XEN_CARRY_DM_TRADITIONAL;
        break;
    case LIBXL_DEVICE_MODEL_VERSION_UNKNOWN:
    default:
        f->dm = XEN_CARRY_DM_DEFAULT;
        break;
    }
    f->stubdom = libxl_defbool_is_default(b->device_model_stubdomain)
                     ? 0
                     : libxl_defbool_val(b->device_model_stubdomain);
    f->pci_devs = cfg->num_pcidevs > 0 ? (uint32_t)cfg->num_pcidevs : 0;
    f->target_kb = b->target_memkb == LIBXL_MEMKB_DEFAULT ? 0
                                                          : b->target_memkb;
    f->max_kb = b->max_memkb == LIBXL_MEMKB_DEFAULT ? 0 : b->max_memkb;
}

int xen_ts_facts_domain(uint32_t domid, struct xen_carry_facts *f)
{
    struct toolstack ts;
    libxl_domain_config cfg;
    char what[96];
    int rc;

    snprintf(what, sizeof(what), "the configuration of domain %u", domid);
    if (ts_open(&ts, what) < 0) {
        return -1;
    }
    libxl_domain_config_init(&cfg);
    rc = libxl_retrieve_domain_configuration(ts.ctx, domid, &cfg, NULL);
    if (rc == 0) {
        facts_from(&cfg, f);
    }
    libxl_domain_config_dispose(&cfg);
    if (rc != 0) {
        return ts_fail(&ts, XMIG_ERR_IO, rc, what);
    }
    ts_close(&ts);
    return 0;
}

int xen_ts_facts_json(const char *json, struct xen_carry_facts *f)
{
    struct toolstack ts;
    libxl_domain_config cfg;
    int rc;

    if (ts_open(&ts, "reading the stream's domain config") < 0) {
        return -1;
    }
    libxl_domain_config_init(&cfg);
    rc = libxl_domain_config_from_json(ts.ctx, &cfg, json);
    if (rc == 0) {
        facts_from(&cfg, f);
    }
    libxl_domain_config_dispose(&cfg);
    if (rc != 0) {
        return ts_fail(&ts, XMIG_ERR_PROTOCOL, rc, "the stream's domain "
                       "config is not one libxl accepts");
    }
    ts_close(&ts);
    return 0;
}

int xen_ts_domid(const char *name, uint32_t *domid)
{
    struct toolstack ts;
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(name, &end, 10);
    if (name[0] >= '0' && name[0] <= '9' && !*end && !errno &&
        v <= UINT32_MAX) {
        *domid = (uint32_t)v;
        return 0;
    }
    if (ts_open(&ts, name) < 0) {
        return -1;
    }
    if (libxl_name_to_domid(ts.ctx, name, domid) != 0) {
        ts_close(&ts);
        return err_set(XMIG_ERR_USAGE, ENOENT, "no domain named '%s' on "
                       "this host", name);
    }
    ts_close(&ts);
    return 0;
}

int xen_ts_create_paused(const char *json, const char *name,
                         uint32_t *domid)
{
    struct toolstack ts;
    libxl_domain_config cfg;
    uint32_t d = (uint32_t)INVALID_DOMID;
    char incoming[128];
    int rc;

    if (ts_open(&ts, "creating the domain to restore into") < 0) {
        return -1;
    }
    libxl_domain_config_init(&cfg);
    rc = libxl_domain_config_from_json(ts.ctx, &cfg, json);
    if (rc != 0) {
        libxl_domain_config_dispose(&cfg);
        return ts_fail(&ts, XMIG_ERR_PROTOCOL, rc, "the stream's domain "
                       "config is not one libxl accepts");
    }
    if (!name && cfg.c_info.name &&
        libxl_name_to_domid(ts.ctx, cfg.c_info.name, &d) == 0) {
        /* The source still runs under that name (a migration between
         * two toolstacks of one host): xl's convention meanwhile. */
        if ((size_t)snprintf(incoming, sizeof(incoming), "%s--incoming",
                             cfg.c_info.name) >= sizeof(incoming)) {
            libxl_domain_config_dispose(&cfg);
            ts_close(&ts);
            return err_set(XMIG_ERR_USAGE, 0, "domain name '%s' is too long "
                           "to receive beside its source", cfg.c_info.name);
        }
        name = incoming;
    }
    d = (uint32_t)INVALID_DOMID;
    if (name) {
        free(cfg.c_info.name);
        cfg.c_info.name = strdup(name);
        if (!cfg.c_info.name) {
            libxl_domain_config_dispose(&cfg);
            ts_close(&ts);
            return err_set(XMIG_ERR_NOMEM, ENOMEM, "the domain's name");
        }
    }
    /* Built as for a fresh boot (kernel loaded, memory populated, xenstore
     * and console wired up) and left paused: xmig overwrites its memory
     * and state before it ever runs. */
    rc = libxl_domain_create_new(ts.ctx, &cfg, &d, NULL, NULL);
    libxl_domain_config_dispose(&cfg);
    if (rc != 0) {
        char last[sizeof(ts.log.last)];
        memcpy(last, ts.log.last, sizeof(last));
        if (d != (uint32_t)INVALID_DOMID) {
            (void)libxl_domain_destroy(ts.ctx, d, NULL);
        }
        memcpy(ts.log.last, last, sizeof(last));
        return ts_fail(&ts, XMIG_ERR_IO, rc, "creating the domain to "
                       "restore into (libxl_domain_create_new)");
    }
    ts_close(&ts);
    *domid = d;
    return 0;
}

int xen_ts_name(uint32_t domid, char *name, size_t len)
{
    struct toolstack ts;
    char *n;

    if (ts_open(&ts, "a domain's name") < 0) {
        return -1;
    }
    n = libxl_domid_to_name(ts.ctx, domid);
    ts_close(&ts);
    if (!n) {
        return err_set(XMIG_ERR_IO, 0, "domain %u has no name in xenstore",
                       domid);
    }
    snprintf(name, len, "%s", n);
    free(n);
    return 0;
}

int xen_ts_rename(uint32_t domid, const char *name)
{
    struct toolstack ts;
    char what[96];
    int rc;

    snprintf(what, sizeof(what), "renaming domain %u to '%s'", domid, name);
    if (ts_open(&ts, what) < 0) {
        return -1;
    }
    rc = libxl_domain_rename(ts.ctx, domid, NULL, name);
    if (rc != 0) {
        return ts_fail(&ts, XMIG_ERR_IO, rc, what);
    }
    ts_close(&ts);
    return 0;
}

int xen_ts_destroy(uint32_t domid)
{
    struct toolstack ts;
    char what[64];
    int rc;

    snprintf(what, sizeof(what), "destroying domain %u", domid);
    if (ts_open(&ts, what) < 0) {
        return -1;
    }
    rc = libxl_domain_destroy(ts.ctx, domid, NULL);
    if (rc != 0) {
        return ts_fail(&ts, XMIG_ERR_IO, rc, what);
    }
    ts_close(&ts);
    return 0;
}
