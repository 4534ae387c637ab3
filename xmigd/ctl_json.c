/*
 * The control protocol's JSON (ctl_json.h): parsing is jansson's; what a
 * request may contain is a table per operation, checked in one place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmigd/ctl_json.h"

json_t *cj_parse(const char *text, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o;

    /* Without JSON_ALLOW_NUL jansson refuses "\u0000" in strings, so a
     * string member is always a whole C string. */
    o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        snprintf(err, errlen, "bad JSON at octet %d: %s", je.position,
                 je.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(err, errlen, "a request or reply is one JSON object");
        return NULL;
    }
    return o;
}

static const struct cj_field *find(const struct cj_field *spec,
                                   const char *key)
{
    for (; spec && spec->key; spec++) {
        if (strcmp(spec->key, key) == 0) {
            return spec;
        }
    }
    return NULL;
}

/* jansson has checked the UTF-8 and refused NUL; control characters
 * (C0, DEL, C1) would reach names, paths and log lines as they are. */
static int text_ok(const char *key, const char *s, char *err, size_t errlen)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; p[i]; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f ||
            (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)) {
            snprintf(err, errlen, "\"%s\" must not hold control characters "
                     "(U+%04X at octet %zu)", key,
                     p[i] == 0xc2 ? p[i + 1] : p[i], i);
            return -1;
        }
    }
    return 0;
}

static int check_one(const struct cj_field *f, json_t *v, char *err,
                     size_t errlen)
{
    switch (f->type) {
    case CJ_STRING:
        if (!json_is_string(v)) {
            snprintf(err, errlen, "\"%s\" must be a string", f->key);
            return -1;
        }
        if (json_string_length(v) < f->min ||
            json_string_length(v) > f->max) {
            snprintf(err, errlen, "\"%s\" must be %llu to %llu octets long",
                     f->key, (unsigned long long)f->min,
                     (unsigned long long)f->max);
            return -1;
        }
        return text_ok(f->key, json_string_value(v), err, errlen);
    case CJ_UINT:
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            (uint64_t)json_integer_value(v) < f->min ||
            (uint64_t)json_integer_value(v) > f->max) {
            snprintf(err, errlen, "\"%s\" must be a whole number from %llu "
                     "to %llu", f->key, (unsigned long long)f->min,
                     (unsigned long long)f->max);
            return -1;
        }
        return 0;
    case CJ_NUMBER:
        if (!json_is_number(v) || !(json_number_value(v) >= (double)f->min) ||
            json_number_value(v) > (double)f->max) {
            snprintf(err, errlen, "\"%s\" must be a number from %llu to "
                     "%llu", f->key, (unsigned long long)f->min,
                     (unsigned long long)f->max);
            return -1;
        }
        return 0;
    case CJ_BOOL:
        if (!json_is_boolean(v)) {
            snprintf(err, errlen, "\"%s\" must be true or false", f->key);
            return -1;
        }
        return 0;
    default:
        snprintf(err, errlen, "\"%s\": no such member type", f->key);
        return -1;
    }
}

int cj_check(json_t *o, const struct cj_field *spec, char *err,
             size_t errlen)
{
    const char *key;
    json_t *v;

    json_object_foreach(o, key, v) {
        const struct cj_field *f = find(spec, key);
        if (strcmp(key, "op") == 0) {
            continue;
        }
        if (!f) {
            snprintf(err, errlen, "unknown member \"%.64s\"", key);
            return -1;
        }
        if (check_one(f, v, err, errlen) < 0) {
            return -1;
        }
    }
    for (; spec && spec->key; spec++) {
        if (spec->required && !json_object_get(o, spec->key)) {
            snprintf(err, errlen, "\"%s\" is missing", spec->key);
            return -1;
        }
    }
    return 0;
}

const char *cj_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

uint64_t cj_uint(json_t *o, const char *key, uint64_t def)
{
    json_t *v = json_object_get(o, key);

    return json_is_integer(v) && json_integer_value(v) >= 0
               ? (uint64_t)json_integer_value(v)
               : def;
}

int cj_bool(json_t *o, const char *key, int def)
{
    json_t *v = json_object_get(o, key);

    return json_is_boolean(v) ? json_is_true(v) : def;
}

double cj_num(json_t *o, const char *key, double def)
{
    json_t *v = json_object_get(o, key);

    return json_is_number(v) ? json_number_value(v) : def;
}

json_t *cj_text(const char *s)
{
    json_t *v = json_string(s ? s : "");
    char *copy;

    if (v || !s) {
        return v;
    }
    /* Not UTF-8 (a peer's words, say): keep the ASCII, mark the rest. */
    copy = strdup(s);
    if (!copy) {
        return NULL;
    }
    for (char *p = copy; *p; p++) {
        if ((unsigned char)*p >= 0x80) {
            *p = '?';
        }
    }
    v = json_string(copy);
    free(copy);
    return v;
}

char *cj_dump(const json_t *v)
{
    /* Indent 0 keeps it on one line, with ", " and ": " between items;
     * ten digits print 0.1 as 0.1. */
    return json_dumps(v, JSON_ENSURE_ASCII | JSON_REAL_PRECISION(10));
}
