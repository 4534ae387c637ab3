/*
 * The messages around a migration stream, as xl's migrate and
 * migrate-receive exchange them, so that xmig and xl can drive each other:
 *   receiver: banner line, then (after the stream) "ready" (NUL-ended);
 *   sender:   "go" (NUL-ended);
 *   receiver: "result" (NUL-ended) + one status octet (0: running there).
 */
#ifndef XMIG_LIBXMIG_SESSION_H
#define XMIG_LIBXMIG_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "xmig.h"

extern const char session_banner[];   /* ends in '\n' */
extern const char session_ready[];    /* these three end in NUL */
extern const char session_go[];
extern const char session_result[];

/* Write a message (banner without its NUL, the others with it). */
int session_send(struct xmig_transport *t, const char *msg);
/* Read exactly the expected message; -1 naming what came instead. */
int session_expect(struct xmig_transport *t, const char *msg,
                   const char *when);
int session_send_status(struct xmig_transport *t, uint8_t status);

/* xmig peers only: a receiver that refuses the guest says why before it
 * hangs up, one line "xmig-refused CATEGORY: REASON\n" on the channel
 * back; xl ignores what follows its own messages. */
int session_send_refusal(struct xmig_transport *t);
/* The sender, after a failure: waits up to ms for such a line; 1 with the
 * error set to the destination's reason, 0 if none came. */
int session_take_refusal(struct xmig_transport *t, int ms);
int session_read_status(struct xmig_transport *t, uint8_t *status);

/* A digest of the state records (HVM context, params, TSC, PV state). */
struct guest_state;
void session_state_digest(const struct guest_state *st, uint8_t out[32]);

#endif
