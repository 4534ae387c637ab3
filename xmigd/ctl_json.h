/*
 * JSON for the control protocol, shared by xmigd and the xmig client: one
 * strict parser (jansson with duplicate keys refused, NUL in strings
 * refused, UTF-8 checked), a table-driven check of a request's members,
 * and compact one-line printing.  docs/control-protocol.md has the rules.
 */
#ifndef XMIG_CTL_JSON_H
#define XMIG_CTL_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum cj_type { CJ_STRING, CJ_UINT, CJ_NUMBER, CJ_BOOL };

/* One member a request may carry.  For CJ_UINT (a whole number) and
 * CJ_NUMBER (fractions allowed, e.g. seconds), min..max bound the value;
 * for CJ_STRING, max bounds the length in octets and min is the shortest
 * (1: not empty).  A table ends with a NULL key. */
struct cj_field {
    const char *key;
    enum cj_type type;
    int required;
    uint64_t min, max;
};

/* text[0..len) as one JSON object; NULL with a message in err. */
json_t *cj_parse(const char *text, size_t len, char *err, size_t errlen);

/* Every member of o is "op" or in spec, of its type and in range, and the
 * required ones are there.  0, or -1 with a message naming the member. */
int cj_check(json_t *o, const struct cj_field *spec, char *err,
             size_t errlen);

/* Getters for a checked object: the default when absent. */
const char *cj_str(json_t *o, const char *key);   /* NULL when absent */
uint64_t cj_uint(json_t *o, const char *key, uint64_t def);
int cj_bool(json_t *o, const char *key, int def);
double cj_num(json_t *o, const char *key, double def);

/* s as a JSON string, any byte that is not UTF-8 shown as '?' (messages
 * may quote a peer); NULL only when out of memory. */
json_t *cj_text(const char *s);

/* v as one line of JSON, malloc'd; NULL when out of memory. */
char *cj_dump(const json_t *v);

#endif
