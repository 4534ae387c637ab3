/*
 * XENSTORE_NODES and XENSTORE_WATCHES: the domain's own xenstore subtree
 * and its registered watches.  Each entry has the layout of NODE_DATA or
 * WATCH_DATA in Xen's xenstore-migration design (committed nodes of the
 * domain's own connection: conn-id, tx-id and access are zero), padded to
 * 8 octets, so that a xenstored can take them as they are.
 */
#include <stdio.h>

#include "common/error.h"
#include "records/records.h"

#define NODE_HEAD 16      /* conn-id, tx-id, path-len, value-len, access, n */
#define WATCH_HEAD 8      /* conn-id, wpath-len, token-len */
#define XS_MAX_WATCHES 4096u
#define XS_MAX_NODES 65536u

static int xs_char(uint8_t ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '-' || ch == '/' || ch == '_' ||
           ch == '@';
}

/* A path of n octets (no NUL): legal characters, no empty component, no
 * trailing '/' (but "/" alone). */
static int check_path(const char *p, size_t n, size_t pos, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (!xs_char((uint8_t)p[i])) {
            return err_at_pos(pos + i, "%s has character 0x%02x outside "
                                       "[A-Za-z0-9-/_@]", what,
                              (uint8_t)p[i]);
        }
        if (p[i] == '/' && ((i + 1 < n && p[i + 1] == '/') ||
                            (i + 1 == n && n > 1))) {
            return err_at_pos(pos + i, "%s has an empty component", what);
        }
    }
    return 0;
}

/* Path order: octet by octet with '/' below every other octet, so that a
 * sorted list is a depth-first walk (parents first, subtrees together). */
static int path_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;

    for (size_t i = 0; i < n; i++) {
        int ca = a[i] == '/' ? 0 : (uint8_t)a[i];
        int cb = b[i] == '/' ? 0 : (uint8_t)b[i];
        if (ca != cb) {
            return ca - cb;
        }
    }
    return an < bn ? -1 : an > bn;
}

struct ancestors {
    const char *path[REC_XS_ABS_PATH_MAX / 2 + 1];
    size_t len[REC_XS_ABS_PATH_MAX / 2 + 1];
    size_t depth;
};

/* Is a the parent of b (b = a + "/" + one component)? */
static int is_parent(const char *a, size_t an, const char *b, size_t bn)
{
    return bn > an + 1 && memcmp(a, b, an) == 0 && b[an] == '/' &&
           memchr(b + an + 1, '/', bn - an - 1) == NULL;
}

static int is_ancestor(const char *a, size_t an, const char *b, size_t bn)
{
    return bn > an + 1 && memcmp(a, b, an) == 0 && b[an] == '/';
}

static int check_node(const struct rec_ctx *ctx, struct ancestors *anc,
                      const char *path, size_t n, size_t pos)
{
    char root[32];
    size_t rn = (size_t)snprintf(root, sizeof(root), "/local/domain/%u",
                                 ctx->domid);

    if (check_path(path, n, pos, "node path") < 0) {
        return -1;
    }
    if (anc->depth == 0) {
        if (n != rn || memcmp(path, root, rn) != 0) {
            return err_at_pos(pos, "first node must be the domain's home "
                                   "%s", root);
        }
    } else {
        const char *prev = anc->path[anc->depth - 1];
        if (path_cmp(prev, anc->len[anc->depth - 1], path, n) >= 0) {
            return err_at_pos(pos, "node %.*s is out of order or repeated",
                              (int)(n > 64 ? 64 : n), path);
        }
        while (anc->depth > 0 &&
               !is_ancestor(anc->path[anc->depth - 1],
                            anc->len[anc->depth - 1], path, n)) {
            anc->depth--;
        }
        if (anc->depth == 0) {
            return err_at_pos(pos, "node %.*s lies outside the domain's "
                                   "home %s", (int)(n > 64 ? 64 : n), path,
                              root);
        }
        if (!is_parent(anc->path[anc->depth - 1], anc->len[anc->depth - 1],
                       path, n)) {
            return err_at_pos(pos, "node %.*s comes without its parent",
                              (int)(n > 64 ? 64 : n), path);
        }
    }
    anc->path[anc->depth] = path;
    anc->len[anc->depth] = n;
    anc->depth++;
    return 0;
}

static int check_perms(const uint8_t *p, uint16_t n, size_t pos)
{
    if (n == 0 || n > REC_XS_MAX_PERMS) {
        return err_at_pos(pos - 2, "perm-count %u outside 1..%u (the first "
                                   "names the owner)", n, REC_XS_MAX_PERMS);
    }
    for (uint16_t i = 0; i < n; i++) {
        const uint8_t *e = p + (size_t)i * 4;
        if (e[0] != 'r' && e[0] != 'w' && e[0] != 'b' && e[0] != 'n') {
            return err_at_pos(pos + (size_t)i * 4, "permission %u is '%c' "
                                                   "(0x%02x), not r, w, b or "
                                                   "n", i,
                              e[0] >= 0x20 && e[0] < 0x7f ? e[0] : '?', e[0]);
        }
        if (e[1] & ~1u) {
            return err_at_pos(pos + (size_t)i * 4 + 1, "permission %u has "
                                                       "reserved flags 0x%x",
                              i, e[1] & ~1u);
        }
        if (get_le16(e + 2) >= REC_DOMID_FIRST_RESERVED) {
            return err_at_pos(pos + (size_t)i * 4 + 2, "permission %u names "
                                                       "reserved domid 0x%x",
                              i, get_le16(e + 2));
        }
    }
    return 0;
}

int rec_xs_nodes_decode(const struct rec_ctx *ctx, struct cursor *c,
                        struct xmig_xs_list *l)
{
    static _Thread_local struct ancestors anc;
    uint32_t reserved;

    if (cursor_get_le32(c, &l->count) < 0 ||
        cursor_get_le32(c, &reserved) < 0) {
        return err_at(c, "XENSTORE_NODES body too short for its header");
    }
    if (reserved) {
        return err_at_pos(4, "reserved field is nonzero");
    }
    if (l->count == 0) {
        return err_at_pos(0, "0 nodes: the domain's home is always there");
    }
    if (l->count > XS_MAX_NODES) {
        err_at_pos(0, "%u nodes; xmig takes at most %u", l->count,
                   XS_MAX_NODES);
        err_recategorise(XMIG_ERR_LIMIT);
        return -1;
    }
    l->data = cursor_here(c);
    l->len = (uint32_t)cursor_left(c);
    anc.depth = 0;
    for (uint32_t i = 0; i < l->count; i++) {
        size_t at = c->pos, plen, vlen, total;
        uint32_t conn, tx;
        uint16_t path_len, value_len, access, nperms;
        const uint8_t *perms, *path, *value, *pad;

        if (cursor_get_le32(c, &conn) < 0 || cursor_get_le32(c, &tx) < 0 ||
            cursor_get_le16(c, &path_len) < 0 ||
            cursor_get_le16(c, &value_len) < 0 ||
            cursor_get_le16(c, &access) < 0 ||
            cursor_get_le16(c, &nperms) < 0) {
            return err_at_pos(at, "node %u of %u: body ends inside its "
                                  "header", i, l->count);
        }
        if (conn || tx || access) {
            return err_at_pos(at + (conn ? 0 : tx ? 4 : 12),
                              "node %u: conn-id, tx-id and access must be "
                              "zero (committed nodes only)", i);
        }
        plen = path_len;
        vlen = value_len;
        if (cursor_take(c, (size_t)nperms * 4, &perms) < 0 ||
            cursor_take(c, plen, &path) < 0 ||
            cursor_take(c, vlen, &value) < 0) {
            return err_at_pos(at, "node %u overruns the record", i);
        }
        /* Only now that they are known to lie inside the body. */
        if (check_perms(perms, nperms, at + NODE_HEAD) < 0) {
            return -1;
        }
        if (plen < 2 || plen > REC_XS_ABS_PATH_MAX + 1 ||
            path[plen - 1] != '\0' || memchr(path, '\0', plen - 1)) {
            return err_at_pos(at + 8, "node %u: path-len %zu: the path must "
                                      "be 1 to %u octets plus one NUL", i,
                              plen, REC_XS_ABS_PATH_MAX);
        }
        if (vlen > REC_XS_MAX_VALUE) {
            return err_at_pos(at + 10, "node %u: value of %zu octets is over "
                                       "%u", i, vlen, REC_XS_MAX_VALUE);
        }
        if (check_node(ctx, &anc, (const char *)path, plen - 1,
                       at + NODE_HEAD + (size_t)nperms * 4) < 0) {
            return -1;
        }
        total = c->pos - at;
        if (cursor_take(c, pad8(total), &pad) < 0 ||
            !bytes_all_zero(pad, pad8(total))) {
            return err_at_pos(at + total, "node %u: padding missing or "
                                          "nonzero", i);
        }
        (void)value;
    }
    if (cursor_left(c) != 0) {
        return err_at(c, "%zu octets follow the last of %u nodes",
                      cursor_left(c), l->count);
    }
    return 0;
}

/* Watch paths: "@introduceDomain", "@releaseDomain", absolute or relative
 * to the domain's home. */
static int check_watch_path(const char *p, size_t n, size_t pos)
{
    if (p[0] == '@') {
        if ((n == 16 && memcmp(p, "@introduceDomain", 16) == 0) ||
            (n == 14 && memcmp(p, "@releaseDomain", 14) == 0)) {
            return 0;
        }
        return err_at_pos(pos, "special watch %.*s is not @introduceDomain "
                               "or @releaseDomain", (int)(n > 64 ? 64 : n),
                          p);
    }
    /* Relative paths resolve under the domain's home. */
    if (p[0] != '/' && n > REC_XS_MAX_KEY) {
        return err_at_pos(pos, "relative watch path of %zu octets is over "
                               "the %u allowed", n, REC_XS_MAX_KEY);
    }
    return check_path(p, n, pos, "watch path");
}

int rec_xs_watches_decode(struct cursor *c, struct xmig_xs_list *l)
{
    const char *prev_path = NULL, *prev_token = NULL;
    size_t prev_plen = 0, prev_tlen = 0;
    uint32_t reserved;

    if (cursor_get_le32(c, &l->count) < 0 ||
        cursor_get_le32(c, &reserved) < 0) {
        return err_at(c, "XENSTORE_WATCHES body too short for its header");
    }
    if (reserved) {
        return err_at_pos(4, "reserved field is nonzero");
    }
    if (l->count > XS_MAX_WATCHES) {
        err_at_pos(0, "%u watches; xmig takes at most %u", l->count,
                   XS_MAX_WATCHES);
        err_recategorise(XMIG_ERR_LIMIT);
        return -1;
    }
    l->data = cursor_here(c);
    l->len = (uint32_t)cursor_left(c);
    for (uint32_t i = 0; i < l->count; i++) {
        size_t at = c->pos, total;
        uint32_t conn;
        uint16_t plen, tlen;
        const uint8_t *path, *token, *pad;
        int cmp;

        if (cursor_get_le32(c, &conn) < 0 || cursor_get_le16(c, &plen) < 0 ||
            cursor_get_le16(c, &tlen) < 0) {
            return err_at_pos(at, "watch %u of %u: body ends inside its "
                                  "header", i, l->count);
        }
        if (conn) {
            return err_at_pos(at, "watch %u: conn-id must be zero (the "
                                  "domain's own connection)", i);
        }
        if (cursor_take(c, plen, &path) < 0 ||
            cursor_take(c, tlen, &token) < 0) {
            return err_at_pos(at, "watch %u overruns the record", i);
        }
        if (plen < 2 || plen > REC_XS_ABS_PATH_MAX + 1 ||
            path[plen - 1] != '\0' || memchr(path, '\0', plen - 1)) {
            return err_at_pos(at + 4, "watch %u: wpath-len %u: the path must "
                                      "be 1 to %u octets plus one NUL", i,
                              plen, REC_XS_ABS_PATH_MAX);
        }
        if (tlen < 1 || token[tlen - 1] != '\0' ||
            memchr(token, '\0', tlen - 1) ||
            (size_t)plen + tlen > REC_XS_MAX_VALUE) {
            return err_at_pos(at + 6, "watch %u: token-len %u: a token is "
                                      "NUL-terminated and path and token fit "
                                      "in %u octets", i, tlen,
                              REC_XS_MAX_VALUE);
        }
        if (check_watch_path((const char *)path, plen - 1,
                             at + WATCH_HEAD) < 0) {
            return -1;
        }
        /* Ascending (path, token): each watch once, as xenstored keeps it. */
        if (prev_path) {
            cmp = path_cmp(prev_path, prev_plen, (const char *)path,
                           (size_t)plen - 1);
            if (cmp == 0) {
                size_t n = prev_tlen < tlen ? prev_tlen : tlen;
                cmp = memcmp(prev_token, token, n);
                cmp = cmp ? cmp : (prev_tlen > tlen) - (prev_tlen < tlen);
            }
            if (cmp >= 0) {
                return err_at_pos(at, "watch %u is out of order or repeated",
                                  i);
            }
        }
        prev_path = (const char *)path;
        prev_plen = (size_t)plen - 1;
        prev_token = (const char *)token;
        prev_tlen = tlen;
        total = c->pos - at;
        if (cursor_take(c, pad8(total), &pad) < 0 ||
            !bytes_all_zero(pad, pad8(total))) {
            return err_at_pos(at + total, "watch %u: padding missing or "
                                          "nonzero", i);
        }
    }
    if (cursor_left(c) != 0) {
        return err_at(c, "%zu octets follow the last of %u watches",
                      cursor_left(c), l->count);
    }
    return 0;
}

size_t rec_xs_node_size(const struct xmig_xs_node *n)
{
    size_t s = NODE_HEAD + (size_t)n->nperms * 4 + strlen(n->path) + 1 +
               n->value_len;
    return s + pad8(s);
}

size_t rec_xs_watch_size(const struct xmig_xs_watch *w)
{
    size_t s = WATCH_HEAD + strlen(w->path) + 1 + strlen(w->token) + 1;
    return s + pad8(s);
}

int rec_xs_nodes_encode(struct cursor *c, const struct xmig_xs_node *n,
                        uint32_t count)
{
    if (cursor_put_le32(c, count) < 0 || cursor_put_le32(c, 0) < 0) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for XENSTORE_NODES");
    }
    for (uint32_t i = 0; i < count; i++) {
        size_t plen = strlen(n[i].path) + 1, start = c->pos;
        if (plen > UINT16_MAX || n[i].value_len > UINT16_MAX ||
            n[i].nperms > UINT16_MAX) {
            return err_set(XMIG_ERR_USAGE, 0, "node %u is too large", i);
        }
        if (cursor_put_le32(c, 0) < 0 || cursor_put_le32(c, 0) < 0 ||
            cursor_put_le16(c, (uint16_t)plen) < 0 ||
            cursor_put_le16(c, (uint16_t)n[i].value_len) < 0 ||
            cursor_put_le16(c, 0) < 0 ||
            cursor_put_le16(c, (uint16_t)n[i].nperms) < 0) {
            return err_set(XMIG_ERR_USAGE, 0, "no room for node %u", i);
        }
        for (uint32_t k = 0; k < n[i].nperms; k++) {
            if (cursor_put_u8(c, n[i].perms[k].perm) < 0 ||
                cursor_put_u8(c, n[i].perms[k].flags) < 0 ||
                cursor_put_le16(c, n[i].perms[k].domid) < 0) {
                return err_set(XMIG_ERR_USAGE, 0, "no room for node %u", i);
            }
        }
        if (cursor_put_bytes(c, n[i].path, plen) < 0 ||
            cursor_put_bytes(c, n[i].value, n[i].value_len) < 0 ||
            cursor_put_zeros(c, pad8(c->pos - start)) < 0) {
            return err_set(XMIG_ERR_USAGE, 0, "no room for node %u", i);
        }
    }
    return 0;
}

int rec_xs_watches_encode(struct cursor *c, const struct xmig_xs_watch *w,
                          uint32_t count)
{
    if (cursor_put_le32(c, count) < 0 || cursor_put_le32(c, 0) < 0) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for XENSTORE_WATCHES");
    }
    for (uint32_t i = 0; i < count; i++) {
        size_t plen = strlen(w[i].path) + 1, tlen = strlen(w[i].token) + 1;
        size_t start = c->pos;
        if (plen > UINT16_MAX || tlen > UINT16_MAX) {
            return err_set(XMIG_ERR_USAGE, 0, "watch %u is too large", i);
        }
        if (cursor_put_le32(c, 0) < 0 ||
            cursor_put_le16(c, (uint16_t)plen) < 0 ||
            cursor_put_le16(c, (uint16_t)tlen) < 0 ||
            cursor_put_bytes(c, w[i].path, plen) < 0 ||
            cursor_put_bytes(c, w[i].token, tlen) < 0 ||
            cursor_put_zeros(c, pad8(c->pos - start)) < 0) {
            return err_set(XMIG_ERR_USAGE, 0, "no room for watch %u", i);
        }
    }
    return 0;
}
