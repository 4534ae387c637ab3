/* A reader for flat JSON objects (control requests and replies). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records/records.h"
#include "xmig.h"
#include "xmigd/json_flat.h"

struct rd {
    const char *p, *end;
};

static void ws(struct rd *r)
{
    while (r->p < r->end &&
           (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) {
        r->p++;
    }
}

/* A string literal into out (escapes decoded, \u kept to ASCII or '?'). */
static int string(struct rd *r, char *out, size_t len)
{
    size_t n = 0;

    r->p++;   /* the checker vouched for the syntax */
    while (r->p < r->end && *r->p != '"') {
        char ch = *r->p++;
        if (ch == '\\') {
            char e = *r->p++;
            ch = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
            if (e == 'u') {
                unsigned v = (unsigned)strtoul((char[5]){ r->p[0], r->p[1],
                                                          r->p[2], r->p[3],
                                                          0 },
                                               NULL, 16);
                ch = v < 0x80 ? (char)v : '?';
                r->p += 4;
            }
        }
        if (n + 1 < len) {
            out[n++] = ch;
        }
    }
    r->p++;
    out[n] = '\0';
    return 0;
}

/* Skip any value (nested objects and arrays included). */
static void skip(struct rd *r)
{
    int depth = 0;
    char tmp[8];

    do {
        ws(r);
        if (*r->p == '"') {
            string(r, tmp, sizeof(tmp));
        } else if (*r->p == '{' || *r->p == '[') {
            depth++;
            r->p++;
        } else if (*r->p == '}' || *r->p == ']') {
            depth--;
            r->p++;
        } else {
            while (r->p < r->end && !strchr(",}] \t\r\n", *r->p)) {
                r->p++;
            }
        }
        ws(r);
        if (depth > 0 && r->p < r->end && (*r->p == ',' || *r->p == ':')) {
            r->p++;
        }
    } while (depth > 0 && r->p < r->end);
}

int json_flat_parse(const char *text, size_t len, struct json_obj *o,
                    char *err, size_t errlen)
{
    struct rd r = { text, text + len };

    memset(o, 0, sizeof(*o));
    if (rec_json_check((const uint8_t *)text, len) < 0) {
        snprintf(err, errlen, "not JSON: %s", xmig_error_message());
        return -1;
    }
    ws(&r);
    if (*r.p != '{') {
        snprintf(err, errlen, "a request is a JSON object");
        return -1;
    }
    r.p++;
    ws(&r);
    while (r.p < r.end && *r.p == '"') {
        struct json_field f;
        memset(&f, 0, sizeof(f));
        string(&r, f.key, sizeof(f.key));
        ws(&r);
        r.p++;   /* ':' */
        ws(&r);
        if (*r.p == '"') {
            f.type = 's';
            string(&r, f.str, sizeof(f.str));
        } else if (*r.p == '{' || *r.p == '[') {
            f.type = 'x';
            skip(&r);
        } else {
            const char *start = r.p;
            skip(&r);
            snprintf(f.str, sizeof(f.str), "%.*s", (int)(r.p - start), start);
            f.str[strcspn(f.str, " \t\r\n,}")] = '\0';
            f.type = (f.str[0] == 't' || f.str[0] == 'f') ? 'b' : 'n';
            f.num = strtod(f.str, NULL);
        }
        if (o->n < JSON_MAX_FIELDS) {
            o->f[o->n++] = f;
        }
        ws(&r);
        if (r.p < r.end && *r.p == ',') {
            r.p++;
            ws(&r);
        }
    }
    return 0;
}

static const struct json_field *find(const struct json_obj *o, const char *k)
{
    for (int i = 0; i < o->n; i++) {
        if (strcmp(o->f[i].key, k) == 0) {
            return &o->f[i];
        }
    }
    return NULL;
}

const char *json_str(const struct json_obj *o, const char *key)
{
    const struct json_field *f = find(o, key);
    return f && f->type == 's' ? f->str : NULL;
}

double json_num(const struct json_obj *o, const char *key, double def)
{
    const struct json_field *f = find(o, key);
    return f && f->type == 'n' ? f->num : def;
}

int json_bool(const struct json_obj *o, const char *key, int def)
{
    const struct json_field *f = find(o, key);
    return f && f->type == 'b' ? f->str[0] == 't' : def;
}

void json_quote(char *out, size_t len, const char *s)
{
    size_t n = 0;

    if (len < 3) {
        return;
    }
    out[n++] = '"';
    for (; *s && n + 8 < len; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[n++] = '\\';
            out[n++] = (char)ch;
        } else if (ch < 0x20 || ch >= 0x7f) {
            n += (size_t)snprintf(out + n, len - n, "\\u%04x", ch);
        } else {
            out[n++] = (char)ch;
        }
    }
    out[n++] = '"';
    out[n] = '\0';
}
