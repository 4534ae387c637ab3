/*
 * A strict, allocation-free RFC 8259 syntax check for the JSON domain
 * config of an xl save file.  It does not build a tree: libxl parses the
 * config later; we only make sure what we accept is JSON at all.
 */
#include "common/error.h"
#include "records/records.h"

#define JSON_MAX_DEPTH 64

struct json {
    const uint8_t *p;
    size_t len, pos;
    int depth;
};

static int json_fail(struct json *j, const char *what)
{
    return err_at_pos(j->pos, "JSON config: %s at octet %zu", what, j->pos);
}

static void skip_ws(struct json *j)
{
    while (j->pos < j->len && (j->p[j->pos] == ' ' || j->p[j->pos] == '\t' ||
                               j->p[j->pos] == '\n' || j->p[j->pos] == '\r')) {
        j->pos++;
    }
}

static int peek(struct json *j)
{
    return j->pos < j->len ? j->p[j->pos] : -1;
}

static int is_hex(int ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
           (ch >= 'A' && ch <= 'F');
}

static int parse_string(struct json *j)
{
    j->pos++; /* opening quote */
    while (j->pos < j->len) {
        uint8_t ch = j->p[j->pos++];
        if (ch == '"') {
            return 0;
        }
        if (ch < 0x20) {
            j->pos--;
            return json_fail(j, "control character in string");
        }
        if (ch == '\\') {
            int e = peek(j);
            if (e < 0) {
                break;
            }
            j->pos++;
            if (e == 'u') {
                for (int i = 0; i < 4; i++) {
                    if (!is_hex(peek(j))) {
                        return json_fail(j, "bad \\u escape");
                    }
                    j->pos++;
                }
            } else if (!(e == '"' || e == '\\' || e == '/' || e == 'b' ||
                         e == 'f' || e == 'n' || e == 'r' || e == 't')) {
                j->pos--;
                return json_fail(j, "bad escape");
            }
        }
    }
    return json_fail(j, "unterminated string");
}

static int digits(struct json *j)
{
    size_t start = j->pos;
    while (peek(j) >= '0' && peek(j) <= '9') {
        j->pos++;
    }
    return j->pos > start ? 0 : json_fail(j, "digit expected");
}

static int parse_number(struct json *j)
{
    if (peek(j) == '-') {
        j->pos++;
    }
    if (peek(j) == '0') {
        j->pos++;
    } else if (digits(j) < 0) {
        return -1;
    }
    if (peek(j) == '.') {
        j->pos++;
        if (digits(j) < 0) {
            return -1;
        }
    }
    if (peek(j) == 'e' || peek(j) == 'E') {
        j->pos++;
        if (peek(j) == '+' || peek(j) == '-') {
            j->pos++;
        }
        if (digits(j) < 0) {
            return -1;
        }
    }
    return 0;
}

static int parse_literal(struct json *j, const char *word)
{
    size_t n = strlen(word);
    if (j->len - j->pos < n || memcmp(j->p + j->pos, word, n) != 0) {
        return json_fail(j, "unexpected character");
    }
    j->pos += n;
    return 0;
}

static int parse_value(struct json *j);

static int parse_container(struct json *j, int close, int object)
{
    if (++j->depth > JSON_MAX_DEPTH) {
        return json_fail(j, "nesting deeper than 64");
    }
    j->pos++;
    skip_ws(j);
    if (peek(j) == close) {
        j->pos++;
        j->depth--;
        return 0;
    }
    for (;;) {
        skip_ws(j);
        if (object) {
            if (peek(j) != '"') {
                return json_fail(j, "object key expected");
            }
            if (parse_string(j) < 0) {
                return -1;
            }
            skip_ws(j);
            if (peek(j) != ':') {
                return json_fail(j, "':' expected");
            }
            j->pos++;
        }
        if (parse_value(j) < 0) {
            return -1;
        }
        skip_ws(j);
        if (peek(j) == ',') {
            j->pos++;
            continue;
        }
        if (peek(j) == close) {
            j->pos++;
            j->depth--;
            return 0;
        }
        return json_fail(j, object ? "',' or '}' expected"
                                   : "',' or ']' expected");
    }
}

static int parse_value(struct json *j)
{
    skip_ws(j);
    switch (peek(j)) {
    case '{':
        return parse_container(j, '}', 1);
    case '[':
        return parse_container(j, ']', 0);
    case '"':
        return parse_string(j);
    case 't':
        return parse_literal(j, "true");
    case 'f':
        return parse_literal(j, "false");
    case 'n':
        return parse_literal(j, "null");
    case -1:
        return json_fail(j, "value expected, found end of text");
    default:
        if (peek(j) == '-' || (peek(j) >= '0' && peek(j) <= '9')) {
            return parse_number(j);
        }
        return json_fail(j, "unexpected character");
    }
}

int rec_json_check(const uint8_t *text, size_t len)
{
    struct json j = { text, len, 0, 0 };

    if (parse_value(&j) < 0) {
        return -1;
    }
    skip_ws(&j);
    if (j.pos != j.len) {
        return json_fail(&j, "trailing characters after the JSON value");
    }
    return 0;
}
