/*
 * The cancel flag: one atomic int, raised from any thread or a signal
 * handler, watched by migrations, handshakes and transport waits.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "common/error.h"
#include "xmig.h"

struct xmig_cancel {
    atomic_int raised;
};

_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
               "raising a cancel flag must be async-signal-safe");

struct xmig_cancel *xmig_cancel_create(void)
{
    struct xmig_cancel *c = malloc(sizeof(*c));

    if (!c) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "cancel flag");
        return NULL;
    }
    atomic_init(&c->raised, 0);
    return c;
}

void xmig_cancel_free(struct xmig_cancel *c)
{
    free(c);
}

void xmig_cancel_raise(struct xmig_cancel *c)
{
    if (c) {
        atomic_store(&c->raised, 1);
    }
}

int xmig_cancel_raised(const struct xmig_cancel *c)
{
    return c && atomic_load(&((struct xmig_cancel *)c)->raised);
}
