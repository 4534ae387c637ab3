/* The xl migration handshake messages, and the state digest. */
#include <string.h>

#include "common/error.h"
#include "libxmig/backend.h"
#include "libxmig/session.h"

const char session_banner[] =
    "xl migration receiver ready, send binary domain data.\n";
const char session_ready[] = "domain received, ready to unpause";
const char session_go[] = "domain is yours, you are cleared to unpause";
const char session_result[] = "my copy unpause results are as follows";

int session_send(struct xmig_transport *t, const char *msg)
{
    size_t n = strlen(msg);

    /* The banner is a text line; the handshake messages carry their NUL. */
    return xmig_transport_write(t, msg, msg[n - 1] == '\n' ? n : n + 1);
}

static int read_exact(struct xmig_transport *t, void *buf, size_t n,
                      const char *when)
{
    size_t got = 0;

    while (got < n) {
        long r = xmig_transport_read(t, (char *)buf + got, n - got);
        if (r < 0) {
            err_prefix("%s: ", when);
            return -1;
        }
        if (r == 0) {
            return err_set(XMIG_ERR_CLOSED, 0, "%s: the peer closed the "
                           "connection", when);
        }
        got += (size_t)r;
    }
    return 0;
}

int session_expect(struct xmig_transport *t, const char *msg,
                   const char *when)
{
    size_t n = strlen(msg);
    char buf[128];

    n += msg[n - 1] == '\n' ? 0 : 1;
    if (n > sizeof(buf) || read_exact(t, buf, n, when) < 0) {
        return -1;
    }
    if (memcmp(buf, msg, n) != 0) {
        size_t k = 0;
        while (k < n && buf[k] >= 0x20 && buf[k] < 0x7f) {
            k++;
        }
        return err_set(XMIG_ERR_PROTOCOL, 0, "%s: expected \"%.*s\", got "
                       "\"%.*s\"", when, (int)strcspn(msg, "\n"), msg, (int)k,
                       buf);
    }
    return 0;
}

int session_send_status(struct xmig_transport *t, uint8_t status)
{
    if (session_send(t, session_result) < 0) {
        return -1;
    }
    return xmig_transport_write(t, &status, 1);
}

int session_read_status(struct xmig_transport *t, uint8_t *status)
{
    if (session_expect(t, session_result, "waiting for the unpause result") <
        0) {
        return -1;
    }
    return read_exact(t, status, 1, "reading the unpause result");
}

static void mix(uint64_t *h, const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        *h = (*h ^ b[i]) * 0x100000001B3ull;
    }
}

void session_state_digest(const struct guest_state *st, uint8_t out[32])
{
    uint64_t h = 0xcbf29ce484222325ull;
    const struct xmig_transparent_state *t = st->transparent;

    mix(&h, st->hvm_context, st->hvm_context_len);
    for (uint32_t i = 0; i < st->nparams; i++) {
        mix(&h, &st->params[i].index, 8);
        mix(&h, &st->params[i].value, 8);
    }
    mix(&h, &st->tsc.mode, 4);
    mix(&h, &st->tsc.khz, 4);
    mix(&h, &st->tsc.nsec, 8);
    mix(&h, &st->tsc.incarnation, 4);
    for (uint32_t i = 0; t && i < t->nports; i++) {
        const struct xmig_evtchn_port *p = &t->ports[i];
        mix(&h, &p->port, 4);
        mix(&h, &p->state, 1);
        mix(&h, &p->flags, 1);
        mix(&h, &p->priority, 1);
        mix(&h, &p->vcpu, 4);
        mix(&h, &p->remote_domid, 2);
        mix(&h, &p->remote_port, 4);
        mix(&h, &p->number, 4);
    }
    for (uint32_t i = 0; t && i < t->ngrants; i++) {
        mix(&h, &t->grants[i].ref, 4);
        mix(&h, &t->grants[i].flags, 2);
        mix(&h, &t->grants[i].domid, 2);
        mix(&h, &t->grants[i].frame, 8);
    }
    for (uint32_t i = 0; t && i < t->nnodes; i++) {
        mix(&h, t->nodes[i].path, strlen(t->nodes[i].path) + 1);
        mix(&h, t->nodes[i].value, t->nodes[i].value_len);
    }
    for (uint32_t i = 0; t && i < t->nwatches; i++) {
        mix(&h, t->watches[i].path, strlen(t->watches[i].path) + 1);
        mix(&h, t->watches[i].token, strlen(t->watches[i].token) + 1);
    }
    memset(out, 0, 32);
    for (int b = 0; b < 8; b++) {
        out[b] = (uint8_t)(h >> (8 * b));
    }
}
