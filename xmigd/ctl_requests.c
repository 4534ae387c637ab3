/*
 * The control protocol's requests: the members each operation takes, and
 * the one check every request line passes before xmigd acts on it.  No
 * daemon state here, so the fuzzer calls it as xmigd does.
 */
#include <stdio.h>
#include <string.h>

#include "xmigd/ctl_json.h"
#include "xmigd/ctl_requests.h"
#include "xmigd/hostport.h"

/* The limits a request's members are checked against (ctl_json.c). */
#define NAME_MAX_LEN 63
#define PATH_MAX_LEN 4095
#define DEST_MAX_LEN 255
#define MIB_MAX (UINT64_C(1) << 22)     /* 4 TiB */
#define U32_MAX UINT64_C(0xffffffff)

static const struct cj_field create_fields[] = {
    { "name", CJ_STRING, 1, 1, NAME_MAX_LEN },
    { "memory_mib", CJ_UINT, 0, 1, MIB_MAX },
    { "vcpus", CJ_UINT, 0, 1, 128 },
    { "workload", CJ_STRING, 0, 1, 15 },
    { "rate", CJ_UINT, 0, 0, U32_MAX },
    { "domid", CJ_UINT, 0, 1, 0x7fef },
    { "seed", CJ_UINT, 0, 0, U32_MAX },
    { "fill", CJ_UINT, 0, 0, 100 },
    { NULL, CJ_UINT, 0, 0, 0 },
};

static const struct cj_field guest_fields[] = {
    { "guest", CJ_STRING, 1, 1, NAME_MAX_LEN },
    { NULL, CJ_UINT, 0, 0, 0 },
};

static const struct cj_field migrate_fields[] = {
    { "guest", CJ_STRING, 1, 1, NAME_MAX_LEN },
    { "destination", CJ_STRING, 1, 3, DEST_MAX_LEN },
    { "downtime_ms", CJ_UINT, 0, 1, 3600000 },
    { "bandwidth_mib", CJ_UINT, 0, 0, MIB_MAX },
    { "max_iters", CJ_UINT, 0, 1, 1000 },
    { "auto_converge", CJ_BOOL, 0, 0, 0 },
    { "transparent", CJ_BOOL, 0, 0, 0 },
    { "verify", CJ_BOOL, 0, 0, 0 },
    { "tls", CJ_STRING, 0, 1, 15 },
    { "timeout_s", CJ_NUMBER, 0, 0, 86400 },
    { "handover_timeout_s", CJ_NUMBER, 0, 0, 86400 },
    { NULL, CJ_UINT, 0, 0, 0 },
};

static const struct cj_field save_fields[] = {
    { "guest", CJ_STRING, 1, 1, NAME_MAX_LEN },
    { "path", CJ_STRING, 1, 2, PATH_MAX_LEN },
    { "keep", CJ_BOOL, 0, 0, 0 },
    { NULL, CJ_UINT, 0, 0, 0 },
};

static const struct cj_field restore_fields[] = {
    { "path", CJ_STRING, 1, 2, PATH_MAX_LEN },
    { "name", CJ_STRING, 0, 0, NAME_MAX_LEN },
    { NULL, CJ_UINT, 0, 0, 0 },
};

static const struct cj_field migration_fields[] = {
    { "migration", CJ_UINT, 1, 0, 0x7fffffff },
    { NULL, CJ_UINT, 0, 0, 0 },
};

static const struct cj_field status_fields[] = {
    { "migration", CJ_UINT, 0, 0, 0x7fffffff },
    { NULL, CJ_UINT, 0, 0, 0 },
};

static const struct cj_field no_fields[] = {
    { NULL, CJ_UINT, 0, 0, 0 },
};

/* The operations: each with the members it takes. */
static const struct {
    const char *name;
    enum ctl_op op;
    const struct cj_field *fields;
} ops[] = {
    { "create", OP_CREATE, create_fields },
    { "list", OP_LIST, no_fields },
    { "destroy", OP_DESTROY, guest_fields },
    { "migrate", OP_MIGRATE, migrate_fields },
    { "status", OP_STATUS, status_fields },
    { "cancel", OP_CANCEL, migration_fields },
    { "save", OP_SAVE, save_fields },
    { "restore", OP_RESTORE, restore_fields },
    { "ping", OP_PING, no_fields },
};

int ctl_request_check(const char *line, size_t len, json_t **req, int *op,
                      char *err, size_t errlen)
{
    json_t *o = cj_parse(line, len, err, errlen);
    const char *name;
    size_t i;

    *req = NULL;
    if (!o) {
        return -1;
    }
    name = cj_str(o, "op");
    if (!name) {
        snprintf(err, errlen, "a request needs \"op\", a string");
        goto bad;
    }
    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (strcmp(ops[i].name, name) == 0) {
            break;
        }
    }
    if (i == sizeof(ops) / sizeof(ops[0])) {
        snprintf(err, errlen, "unknown op \"%.32s\" (create, list, destroy, "
                 "migrate, status, cancel, save, restore, ping)", name);
        goto bad;
    }
    if (cj_check(o, ops[i].fields, err, errlen) < 0) {
        size_t n = strlen(err);
        snprintf(err + n, errlen - n, " in a %s request", ops[i].name);
        goto bad;
    }
    /* The destination is dialled later, from a thread: a bad one is
     * refused now, in the answer to the request. */
    if (ops[i].op == OP_MIGRATE) {
        struct hostport hp;
        char why[400];
        if (hostport_parse(cj_str(o, "destination"), 0, &hp, why,
                           sizeof(why)) < 0) {
            snprintf(err, errlen, "in a migrate request, \"destination\" "
                     "%s", why);
            goto bad;
        }
    }
    *req = o;
    *op = (int)ops[i].op;
    return 0;
bad:
    json_decref(o);
    return -1;
}

