/*
 * The progress line of xmig migrate: one wording whether the engine runs
 * in this process (xmig migrate sim ...) or in xmigd (a daemon's guest,
 * followed through status replies, which carry the same figures).
 */
#include <stdio.h>
#include <string.h>

#include "xmigd/cli.h"
#include "xmigd/ctl_json.h"

static double pct(double part, double whole)
{
    double v = whole > 0 ? 100.0 * part / whole : 0;

    return v < 0 ? 0 : v > 100 ? 100 : v;
}

void progress_format(char *buf, size_t len, const char *guest,
                     const struct xmig_iteration_stats *r)
{
    uint64_t done = r->pages_sent + r->zero_pages + r->holes;
    char eta[32] = "?", dt[32] = "?", dirty[32] = "?";

    /* Within round 1 nothing has been measured yet. */
    if (!(r->iteration == 1 && r->partial)) {
        snprintf(dirty, sizeof(dirty), "%.0f", r->dirty_rate);
    }
    if (r->eta_s >= 0) {
        snprintf(eta, sizeof(eta), "%.0f s", r->eta_s);
    }
    if (r->expected_downtime_ms > 0 && r->expected_downtime_ms < 1e8) {
        snprintf(dt, sizeof(dt), "%.0f ms", r->expected_downtime_ms);
    }
    snprintf(buf, len,
             "xmig migrate: %s: %.1f s, round %u%s %.0f%%, memory %.0f%%: "
             "%.1f MiB sent, %.1f MiB left, %.1f MiB/s (average %.1f), "
             "dirty %s pages/s, expected downtime %s, throttle %u%%, "
             "ETA %s",
             guest, r->elapsed_s, r->iteration, r->final ? " (paused)" : "",
             r->dirty_pages ? pct((double)done, (double)r->dirty_pages) : 100,
             pct((double)r->guest_pages - (double)r->remaining_pages,
                 (double)r->guest_pages),
             (double)r->total_bytes / 1048576.0,
             (double)r->remaining_pages * 4096.0 / 1048576.0,
             r->transfer_rate / 1048576.0, r->avg_transfer_rate / 1048576.0,
             dirty, dt, r->throttle, eta);
}

void progress_print(int tty, const char *guest,
                    const struct xmig_iteration_stats *r)
{
    char line[512];

    progress_format(line, sizeof(line), guest, r);
    /* On a terminal one line, rewritten; else a line per report. */
    fprintf(stderr, "%s%s%s", tty ? "\r\033[K" : "", line, tty ? "" : "\n");
    fflush(stderr);
}

/* The figures of a status reply (docs/control-protocol.md), back into
 * the engine's report. */
void progress_from_status(json_t *s, struct xmig_iteration_stats *r)
{
    memset(r, 0, sizeof(*r));
    r->iteration = (uint32_t)cj_num(s, "round", 0);
    r->final = cj_bool(s, "final", 0);
    r->partial = cj_bool(s, "partial", 0);
    r->pages_sent = (uint64_t)cj_num(s, "pages_sent", 0);
    r->zero_pages = (uint64_t)cj_num(s, "zero_pages", 0);
    r->dirty_pages = (uint64_t)cj_num(s, "dirty_pages", 0);
    r->transfer_rate = cj_num(s, "transfer_mib_s", 0) * 1048576.0;
    r->dirty_rate = cj_num(s, "dirty_pages_s", 0);
    r->throttle = (unsigned)cj_num(s, "throttle", 0);
    r->expected_downtime_ms = cj_num(s, "expected_downtime_ms", -1);
    r->elapsed_s = cj_num(s, "elapsed_s", 0);
    r->guest_pages = (uint64_t)cj_num(s, "guest_pages", 0);
    r->total_bytes = (uint64_t)(cj_num(s, "sent_mib", 0) * 1048576.0);
    r->remaining_pages = (uint64_t)cj_num(s, "remaining_pages", 0);
    r->avg_transfer_rate = cj_num(s, "average_mib_s", 0) * 1048576.0;
    r->eta_s = cj_num(s, "eta_s", -1);
}
