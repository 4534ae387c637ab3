/*
 * The xl save file's domain config, read as what it is: a JSON document
 * (libxl_domain_config), parsed by jansson, never searched as text.  The
 * config is a pointer and a length whatever the header's flags say; what
 * xmig needs of it (c_info.name, b_info.max_memkb, the guest type and its
 * device model) comes from the parsed tree by path.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "records/records.h"

/* The old hand-written checker's limit, kept: libxl's configs nest about
 * six deep, and a peer's document has no reason to go further. */
#define JSON_MAX_DEPTH 64

static int too_deep(const json_t *v, int depth)
{
    const char *key;
    json_t *item;
    size_t i;

    if (depth > JSON_MAX_DEPTH) {
        return 1;
    }
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, item) {
            if (too_deep(item, depth + 1)) {
                return 1;
            }
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, item) {
            if (too_deep(item, depth + 1)) {
                return 1;
            }
        }
    }
    return 0;
}

/* Parse text[0..len) as one JSON object: RFC 8259 with UTF-8 strings, no
 * NUL inside strings, no duplicate keys, nothing after the value.  The
 * caller owns the tree; NULL with the error set at the octet jansson
 * stopped at. */
static json_t *load_object(const uint8_t *text, size_t len)
{
    json_error_t je;
    json_t *doc = json_loadb((const char *)text, len,
                             JSON_REJECT_DUPLICATES, &je);

    if (!doc) {
        err_at_pos((uint64_t)je.position, "JSON config: %s at octet %d",
                   je.text, je.position);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        err_at_pos(0, "JSON config: a domain config is an object");
        return NULL;
    }
    if (too_deep(doc, 1)) {
        json_decref(doc);
        err_at_pos(0, "JSON config: nesting deeper than %d levels",
                   JSON_MAX_DEPTH);
        return NULL;
    }
    return doc;
}

int rec_json_check(const uint8_t *text, size_t len)
{
    json_t *doc = load_object(text, len);

    json_decref(doc);
    return doc ? 0 : -1;
}

/* doc.section.key, or NULL. */
static json_t *member(json_t *doc, const char *section, const char *key)
{
    json_t *s = json_object_get(doc, section);

    return json_is_object(s) ? json_object_get(s, key) : NULL;
}

static int read_str(json_t *doc, const char *section, const char *key,
                    char *out, size_t outlen)
{
    json_t *v = member(doc, section, key);

    out[0] = '\0';
    if (!v) {
        return 0;
    }
    if (!json_is_string(v)) {
        return err_at_pos(0, "JSON config: %s.%s is not a string", section,
                          key);
    }
    if (json_string_length(v) >= outlen) {
        return err_at_pos(0, "JSON config: %s.%s is longer than %zu octets",
                          section, key, outlen - 1);
    }
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int read_kb(json_t *doc, const char *key, uint64_t *out, int *given)
{
    json_t *v = member(doc, "b_info", key);

    *out = 0;
    *given = v != NULL;
    if (!v) {
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return err_at_pos(0, "JSON config: b_info.%s is not a whole number "
                             "of KiB", key);
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* c_info.name when it is a name xmig carries to the destination as it
 * is: short, and what xl itself would print without quoting.  Anything
 * else leaves out->name empty, for --name or a name of the receiver's. */
static void read_name(json_t *doc, char *out, size_t outlen)
{
    json_t *v = member(doc, "c_info", "name");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);

    out[0] = '\0';
    if (s && n > 0 && n < outlen &&
        strspn(s, "abcdefghijklmnopqrstuvwxyz"
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n) {
        memcpy(out, s, n + 1);
    }
}

int rec_xl_config_read(const uint8_t *text, size_t len,
                       struct rec_xl_config *out)
{
    json_t *doc = load_object(text, len);
    int rc = -1, given;

    memset(out, 0, sizeof(*out));
    if (!doc) {
        return -1;
    }
    read_name(doc, out->name, sizeof(out->name));
    if (read_str(doc, "c_info", "type", out->type, sizeof(out->type)) < 0 ||
        read_str(doc, "b_info", "device_model_version", out->device_model,
                 sizeof(out->device_model)) < 0 ||
        read_kb(doc, "max_memkb", &out->max_memkb, &out->has_max_memkb) <
            0 ||
        read_kb(doc, "target_memkb", &out->target_memkb, &given) < 0) {
        goto out;
    }
    rc = 0;
out:
    json_decref(doc);
    return rc;
}
