/* fuzz_receive: the engine's receive path over a memory transport, into a
 * simulated guest (xmig_guest_restore with the sim factory): the xl
 * header and its JSON config, the receiver's callbacks for every record,
 * populate and page writes, state, and the clean-up of a half-built guest
 * on every refusal.  Guests are capped at 16 MiB so that inputs cannot
 * make the harness allocate without bound. */
#include <stdint.h>
#include <stdlib.h>

#include "xmig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xmig_transport *t = xmig_transport_memory(data, size);
    struct xmig_receive_params p = { 0 };
    struct xmig_migrate_stats st;
    struct xmig_guest *g;

    if (!t) {
        abort();
    }
    p.max_memory = 16u << 20;
    p.factory = xmig_sim_guest_factory;
    g = xmig_guest_restore(t, &p, &st);
    if (g) {
        xmig_guest_destroy(g);
    } else if (!xmig_error_message()[0]) {
        abort();    /* every refusal says why */
    }
    xmig_transport_free(t);
    return 0;
}
