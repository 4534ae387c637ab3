/* Migration statistics as JSON (for xmig --json, the daemon, reports),
 * built and printed by the project's JSON library. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "xmig.h"

const char *xmig_version(int *major, int *minor, int *micro)
{
    if (major) {
        *major = XMIG_VERSION_MAJOR;
    }
    if (minor) {
        *minor = XMIG_VERSION_MINOR;
    }
    if (micro) {
        *micro = XMIG_VERSION_MICRO;
    }
    return XMIG_VERSION_STRING;
}

static json_t *round_json(const struct xmig_iteration_stats *r)
{
    return json_pack(
        "{s:i, s:b, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:i, s:f}",
        "iteration", (int)r->iteration, "final", r->final, "pages_sent",
        (json_int_t)r->pages_sent, "zero_pages", (json_int_t)r->zero_pages,
        "dirty_pages", (json_int_t)r->dirty_pages, "bytes",
        (json_int_t)r->bytes, "start_s", r->start_s, "duration_s",
        r->duration_s, "transfer_mib_s", r->transfer_rate / 1048576.0,
        "dirty_pages_s", r->dirty_rate, "throttle", (int)r->throttle,
        "expected_downtime_ms",
        r->expected_downtime_ms > 1e8 ? -1.0 : r->expected_downtime_ms);
}

int xmig_migrate_stats_warning(const struct xmig_migrate_stats *st,
                               char *buf, size_t len)
{
    if (st->downtime_target_ms <= 0 || st->downtime_ms <= st->downtime_target_ms) {
        if (len) {
            buf[0] = '\0';
        }
        return 0;
    }
    snprintf(buf, len, "downtime %.1f ms exceeded its %.0f ms target "
             "(stop %.1f ms, last pages and state %.1f ms, destination "
             "%.1f ms)", st->downtime_ms, st->downtime_target_ms, st->stop_ms,
             st->final_ms, st->handover_ms);
    return 1;
}

/* The job statistics under the names (and units: ms, octets, pages)
 * virDomainGetJobStats and virsh domjobinfo use. */
static json_t *job_json(const struct xmig_migrate_stats *st)
{
    uint64_t remaining = st->memory_remaining;

    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I, s:I, s:I, s:i, s:I}",
        "time_elapsed", (json_int_t)(st->total_s * 1000.0), "time_remaining",
        (json_int_t)(st->remaining_s > 0 ? st->remaining_s * 1000.0 : 0),
        "downtime", (json_int_t)st->downtime_ms, "setup_time",
        (json_int_t)st->setup_ms, "data_total",
        (json_int_t)(st->bytes + remaining), "data_processed",
        (json_int_t)st->bytes, "data_remaining", (json_int_t)remaining,
        "memory_total", (json_int_t)st->memory_total, "memory_processed",
        (json_int_t)st->memory_processed, "memory_remaining",
        (json_int_t)remaining, "memory_constant", (json_int_t)st->zero_pages,
        "memory_normal", (json_int_t)st->pages_sent, "memory_normal_bytes",
        (json_int_t)(st->pages_sent * st->page_size), "memory_bps",
        (json_int_t)st->transfer_rate, "memory_dirty_rate",
        (json_int_t)st->dirty_rate, "memory_page_size",
        (json_int_t)st->page_size, "auto_converge_throttle", (int)st->throttle,
        "memory_iteration", (json_int_t)st->iteration);
}

int xmig_migrate_stats_json(const struct xmig_migrate_stats *st, char *buf,
                            size_t len)
{
    json_t *rounds = json_array(), *o;
    char warning[256];
    char *text;
    size_t n;

    for (uint32_t i = 0; rounds && i < st->nrounds; i++) {
        if (json_array_append_new(rounds, round_json(&st->rounds[i])) < 0) {
            json_decref(rounds);
            rounds = NULL;
        }
    }
    o = json_pack(
        "{s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:i, s:i, s:s%, "
        "s:s%, s:b, s:f, s:o}",
        "total_s", st->total_s, "downtime_ms", st->downtime_ms, "stop_ms",
        st->stop_ms, "final_ms", st->final_ms, "handover_ms", st->handover_ms,
        "bytes", (json_int_t)st->bytes, "pages_sent",
        (json_int_t)st->pages_sent, "zero_pages", (json_int_t)st->zero_pages,
        "guest_pages", (json_int_t)st->guest_pages, "iterations",
        (int)st->iterations, "max_throttle", (int)st->max_throttle,
        "tls_mode", st->tls_mode, strnlen(st->tls_mode, sizeof(st->tls_mode)),
        "stop_reason", st->stop_reason,
        strnlen(st->stop_reason, sizeof(st->stop_reason)), "verified",
        st->verified, "throughput_mib_s",
        st->total_s > 0 ? (double)st->bytes / st->total_s / 1048576.0 : 0.0,
        "rounds", rounds);
    if (o && (json_object_set_new(o, "job", job_json(st)) < 0 ||
              json_object_set_new(o, "downtime_target_ms",
                                  json_real(st->downtime_target_ms)) < 0 ||
              json_object_set_new(o, "remaining_s",
                                  json_real(st->remaining_s)) < 0 ||
              json_object_set_new(o, "setup_ms", json_real(st->setup_ms)) <
                  0 ||
              (xmig_migrate_stats_warning(st, warning, sizeof(warning)) &&
               json_object_set_new(o, "warning", json_string(warning)) < 0))) {
        json_decref(o);
        o = NULL;
    }
    text = o ? json_dumps(o, JSON_REAL_PRECISION(10)) : NULL;
    json_decref(o);
    if (!text) {
        return err_set(XMIG_ERR_NOMEM, 0, "statistics as JSON");
    }
    n = strlen(text);
    if (n >= len) {
        free(text);
        return err_set(XMIG_ERR_LIMIT, 0, "statistics do not fit in %zu "
                       "octets", len);
    }
    memcpy(buf, text, n + 1);
    free(text);
    return 0;
}
