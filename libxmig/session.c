/* The xl migration handshake messages, and the state digest. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "libxmig/backend.h"
#include "libxmig/session.h"
#include "streams/transport.h"

const char session_banner[] =
    "xl migration receiver ready, send binary domain data.\n";
const char session_ready[] = "domain received, ready to unpause";
const char session_go[] = "domain is yours, you are cleared to unpause";
const char session_result[] = "my copy unpause results are as follows";

static const char refusal_tag[] = "xmig-refused ";

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int refusal_line(struct xmig_transport *t, char *buf, size_t cap,
                        size_t got, int ms);

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
            if (xmig_error_errno() != ETIMEDOUT &&
                xmig_error_errno() != ECANCELED) {
                err_prefix("%s: ", when);   /* a wait names its phase */
            }
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
        char line[640];
        size_t tag = strlen(refusal_tag);
        if (memcmp(buf, refusal_tag, n < tag ? n : tag) == 0) {
            memcpy(line, buf, n);
            if (refusal_line(t, line, sizeof(line), n, 2000)) {
                return -1;
            }
        }
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


int session_send_refusal(struct xmig_transport *t)
{
    char line[600];
    int n = snprintf(line, sizeof(line), "%s%s: %s", refusal_tag,
                     xmig_error_category_name(xmig_error_category()),
                     xmig_error_message());

    if (n < 0) {
        return -1;
    }
    if ((size_t)n >= sizeof(line) - 1) {
        n = (int)sizeof(line) - 2;
    }
    line[strcspn(line, "\n")] = ' ';   /* one line, whatever the message */
    line[n] = '\n';
    return xmig_transport_write(t, line, (size_t)n + 1);
}


/* Reads on (buf holds got octets already) up to a newline or for ms at
 * most; 1 with the error set if it is a refusal line. */
static int refusal_line(struct xmig_transport *t, char *buf, size_t cap,
                        size_t got, int ms)
{
    struct pollfd pfd = { t->in_fd >= 0 ? t->in_fd : t->fd, POLLIN, 0 };
    double end = now_ms() + ms;
    const char *reason, *colon;
    enum xmig_error_category cat = XMIG_ERR_PROTOCOL;

    while (pfd.fd >= 0 && got < cap - 1 && !memchr(buf, '\n', got)) {
        int left = (int)(end - now_ms());
        long r;
        if (left <= 0 || poll(&pfd, 1, left) <= 0) {
            break;
        }
        r = xmig_transport_read(t, buf + got, cap - 1 - got);
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    buf[got] = '\0';
    reason = strstr(buf, refusal_tag);
    if (!reason || !strchr(reason, '\n') ||
        !(colon = strstr(reason + strlen(refusal_tag), ": "))) {
        return 0;
    }
    reason += strlen(refusal_tag);
    for (int c = XMIG_ERR_IO; c <= XMIG_ERR_LIMIT; c++) {
        const char *name = xmig_error_category_name((enum xmig_error_category)c);
        if (strlen(name) == (size_t)(colon - reason) &&
            strncmp(name, reason, (size_t)(colon - reason)) == 0) {
            cat = (enum xmig_error_category)c;
        }
    }
    err_set(cat, 0, "the destination refused the guest: %.*s",
            (int)strcspn(colon + 2, "\n"), colon + 2);
    return 1;
}

int session_take_refusal(struct xmig_transport *t, int ms)
{
    char buf[640];

    return refusal_line(t, buf, sizeof(buf), 0, ms);
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
