/*
 * The control protocol's JSON: one object per line.  This reader keeps the
 * top-level string, number and boolean members and steps over nested
 * values; syntax is checked first by the strict checker in records/.
 */
#ifndef XMIG_JSON_FLAT_H
#define XMIG_JSON_FLAT_H

#include <stddef.h>

#define JSON_MAX_FIELDS 48
#define JSON_MAX_STR 512

struct json_field {
    char key[48];
    char type;                 /* 's' string, 'n' number, 'b' bool, 'x' other */
    char str[JSON_MAX_STR];    /* strings; numbers and booleans as text */
    double num;
};

struct json_obj {
    struct json_field f[JSON_MAX_FIELDS];
    int n;
};

/* 0, or -1 with a message in err. */
int json_flat_parse(const char *text, size_t len, struct json_obj *o,
                    char *err, size_t errlen);
const char *json_str(const struct json_obj *o, const char *key);
/* The number under key, or def when absent or not a number. */
double json_num(const struct json_obj *o, const char *key, double def);
int json_bool(const struct json_obj *o, const char *key, int def);

/* Call fn on each flat object of the array member "key" in text. */
void ctl_each(const char *text, const char *key,
              void (*fn)(const struct json_obj *o, void *u), void *u);

/* Append s as a JSON string literal (quoted, escaped). */
void json_quote(char *out, size_t len, const char *s);

#endif
