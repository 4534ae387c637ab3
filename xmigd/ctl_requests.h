/*
 * The control protocol's requests (ctl_requests.c): which operations
 * exist and what each takes, checked in one place.
 */
#ifndef XMIG_CTL_REQUESTS_H
#define XMIG_CTL_REQUESTS_H

#include <stddef.h>

#include <jansson.h>

enum ctl_op { OP_CREATE, OP_LIST, OP_DESTROY, OP_MIGRATE, OP_STATUS,
              OP_CANCEL, OP_SAVE, OP_RESTORE, OP_PING };

/* Parse and check one request line: *req (the caller's to free) and
 * *op, or -1 with the reason in err. */
int ctl_request_check(const char *line, size_t len, json_t **req, int *op,
                      char *err, size_t errlen);

#endif
