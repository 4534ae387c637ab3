/*
 * The one bounds-checked cursor used for every parse and every build in xmig.
 * Reads and writes fail (return -1, leave the cursor unchanged) on short
 * input or output; wire bytes are only ever assembled with shifts, never cast.
 */
#ifndef XMIG_COMMON_CURSOR_H
#define XMIG_COMMON_CURSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define XMIG_MUST_CHECK __attribute__((warn_unused_result))

struct cursor {
    uint8_t *buf;   /* writable view; NULL-safe only when len == 0 */
    size_t len;
    size_t pos;
};

static inline struct cursor cursor_ro(const void *buf, size_t len)
{
    struct cursor c = { (uint8_t *)(uintptr_t)buf, len, 0 };
    return c;
}

static inline size_t cursor_left(const struct cursor *c)
{
    return c->len - c->pos;
}

static inline const uint8_t *cursor_here(const struct cursor *c)
{
    return c->buf + c->pos;
}

/* Little- and big-endian helpers built from shifts. */
static inline uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static inline uint64_t get_le64(const uint8_t *p)
{
    return (uint64_t)get_le32(p) | ((uint64_t)get_le32(p + 4) << 32);
}
static inline uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline uint64_t get_be64(const uint8_t *p)
{
    return ((uint64_t)get_be32(p) << 32) | (uint64_t)get_be32(p + 4);
}
static inline void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void put_le64(uint8_t *p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}
static inline void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

/* Reads: -1 on short input, cursor unchanged. */
#define CURSOR_GET(name, type, width, conv)                              \
    static inline XMIG_MUST_CHECK int name(struct cursor *c, type *out)  \
    {                                                                    \
        if (cursor_left(c) < (width)) {                                  \
            return -1;                                                   \
        }                                                                \
        *out = conv(c->buf + c->pos);                                    \
        c->pos += (width);                                               \
        return 0;                                                        \
    }
static inline uint8_t get_u8_raw(const uint8_t *p)
{
    return p[0];
}
CURSOR_GET(cursor_get_u8, uint8_t, 1, get_u8_raw)
CURSOR_GET(cursor_get_le16, uint16_t, 2, get_le16)
CURSOR_GET(cursor_get_le32, uint32_t, 4, get_le32)
CURSOR_GET(cursor_get_le64, uint64_t, 8, get_le64)
CURSOR_GET(cursor_get_be16, uint16_t, 2, get_be16)
CURSOR_GET(cursor_get_be32, uint32_t, 4, get_be32)
CURSOR_GET(cursor_get_be64, uint64_t, 8, get_be64)
#undef CURSOR_GET

/* Take a view of the next n bytes without copying them. */
static inline XMIG_MUST_CHECK int cursor_take(struct cursor *c, size_t n,
                                              const uint8_t **out)
{
    if (cursor_left(c) < n) {
        return -1;
    }
    *out = c->buf + c->pos;
    c->pos += n;
    return 0;
}

static inline XMIG_MUST_CHECK int cursor_skip(struct cursor *c, size_t n)
{
    const uint8_t *unused;
    return cursor_take(c, n, &unused);
}

/* Writes: -1 when the output is full, cursor unchanged. */
#define CURSOR_PUT(name, type, width, conv)                              \
    static inline XMIG_MUST_CHECK int name(struct cursor *c, type v)     \
    {                                                                    \
        if (cursor_left(c) < (width)) {                                  \
            return -1;                                                   \
        }                                                                \
        conv(c->buf + c->pos, v);                                        \
        c->pos += (width);                                               \
        return 0;                                                        \
    }
static inline void put_u8_raw(uint8_t *p, uint8_t v)
{
    p[0] = v;
}
CURSOR_PUT(cursor_put_u8, uint8_t, 1, put_u8_raw)
CURSOR_PUT(cursor_put_le16, uint16_t, 2, put_le16)
CURSOR_PUT(cursor_put_le32, uint32_t, 4, put_le32)
CURSOR_PUT(cursor_put_le64, uint64_t, 8, put_le64)
CURSOR_PUT(cursor_put_be16, uint16_t, 2, put_be16)
CURSOR_PUT(cursor_put_be32, uint32_t, 4, put_be32)
CURSOR_PUT(cursor_put_be64, uint64_t, 8, put_be64)
#undef CURSOR_PUT

static inline XMIG_MUST_CHECK int cursor_put_bytes(struct cursor *c,
                                                   const void *p, size_t n)
{
    if (cursor_left(c) < n) {
        return -1;
    }
    if (n) {
        memcpy(c->buf + c->pos, p, n);
    }
    c->pos += n;
    return 0;
}

static inline XMIG_MUST_CHECK int cursor_put_zeros(struct cursor *c, size_t n)
{
    if (cursor_left(c) < n) {
        return -1;
    }
    if (n) {
        memset(c->buf + c->pos, 0, n);
    }
    c->pos += n;
    return 0;
}

/* True when every one of the n bytes at p is zero. */
static inline int bytes_all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return 0;
        }
    }
    return 1;
}

/* Checked size arithmetic: 0 on success, -1 on overflow. */
static inline XMIG_MUST_CHECK int size_add(size_t a, size_t b, size_t *out)
{
    return __builtin_add_overflow(a, b, out) ? -1 : 0;
}
static inline XMIG_MUST_CHECK int size_mul(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}

/* Octets of zero padding that follow a body of len octets (0..7). */
static inline size_t pad8(uint64_t len)
{
    return (size_t)((8 - (len & 7)) & 7);
}

#endif
