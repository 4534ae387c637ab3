/* Migration statistics as JSON (for xmig --json, the daemon, reports). */
#include <stdarg.h>
#include <stdio.h>

#include "common/error.h"
#include "xmig.h"

struct out {
    char *buf;
    size_t len, pos;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o,
                                                      const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->pos >= o->len) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
    va_end(ap);
    o->pos += n > 0 ? (size_t)n : 0;
}

int xmig_migrate_stats_json(const struct xmig_migrate_stats *st, char *buf,
                            size_t len)
{
    struct out o = { buf, len, 0 };

    put(&o, "{\"total_s\": %.3f, \"downtime_ms\": %.1f, \"stop_ms\": %.1f, "
            "\"final_ms\": %.1f, \"handover_ms\": %.1f, \"bytes\": %llu, "
            "\"pages_sent\": %llu, \"zero_pages\": %llu, \"guest_pages\": "
            "%llu, \"iterations\": %u, \"max_throttle\": %u, \"tls_mode\": "
            "\"%s\", \"stop_reason\": \"%s\", \"verified\": %s, "
            "\"throughput_mib_s\": %.1f, \"rounds\": [",
        st->total_s, st->downtime_ms, st->stop_ms, st->final_ms,
        st->handover_ms, (unsigned long long)st->bytes,
        (unsigned long long)st->pages_sent, (unsigned long long)st->zero_pages,
        (unsigned long long)st->guest_pages, st->iterations, st->max_throttle,
        st->tls_mode, st->stop_reason, st->verified ? "true" : "false",
        st->total_s > 0 ? (double)st->bytes / st->total_s / 1048576.0 : 0.0);
    for (uint32_t i = 0; i < st->nrounds; i++) {
        const struct xmig_iteration_stats *r = &st->rounds[i];
        put(&o, "%s{\"iteration\": %u, \"final\": %s, \"pages_sent\": %llu, "
                "\"zero_pages\": %llu, \"dirty_pages\": %llu, \"bytes\": %llu, "
                "\"start_s\": %.3f, \"duration_s\": %.3f, "
                "\"transfer_mib_s\": %.1f, \"dirty_pages_s\": %.0f, "
                "\"throttle\": %u, \"expected_downtime_ms\": %.1f}",
            i ? ", " : "", r->iteration, r->final ? "true" : "false",
            (unsigned long long)r->pages_sent,
            (unsigned long long)r->zero_pages,
            (unsigned long long)r->dirty_pages, (unsigned long long)r->bytes,
            r->start_s, r->duration_s, r->transfer_rate / 1048576.0,
            r->dirty_rate, r->throttle,
            r->expected_downtime_ms > 1e8 ? -1.0 : r->expected_downtime_ms);
    }
    put(&o, "]}");
    if (o.pos >= len) {
        return err_set(XMIG_ERR_LIMIT, 0, "statistics do not fit in %zu "
                       "octets", len);
    }
    return 0;
}
