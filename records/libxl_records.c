/*
 * libxl records with a body: the emulator records (common sub-header
 * {u32 emulator_id, u32 index}) and CHECKPOINT_STATE; plus the dispatch of
 * every libxl record body.
 */
#include "common/error.h"
#include "records/records.h"

#define EMULATOR_ID_MAX 2u  /* 0 unknown, 1 qemu-traditional, 2 upstream */

/* "keys strictly as alphanumeric ASCII and -/_@" */
static int xs_key_char(uint8_t ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '-' || ch == '/' || ch == '_' ||
           ch == '@';
}

/* Walk NUL-terminated (key, value) pairs; p/len exclude the sub-header. */
static int check_xenstore_pairs(const uint8_t *p, size_t len, uint32_t *pairs)
{
    size_t pos = 0;
    uint32_t n = 0;

    while (pos < len) {
        const uint8_t *key = p + pos, *nul, *val;
        size_t klen, vlen;

        nul = memchr(key, '\0', len - pos);
        if (!nul) {
            return err_at_pos(8 + pos, "xenstore key %u is not "
                                       "NUL-terminated", n);
        }
        klen = (size_t)(nul - key);
        if (klen == 0) {
            return err_at_pos(8 + pos, "xenstore key %u is empty", n);
        }
        if (key[0] == '/') {
            return err_at_pos(8 + pos, "xenstore key %u is absolute; keys "
                                       "are relative to the device-model "
                                       "tree", n);
        }
        if (klen > REC_XS_MAX_KEY) {
            return err_at_pos(8 + pos, "xenstore key %u is %zu octets, over "
                                       "the %u allowed", n, klen,
                              REC_XS_MAX_KEY);
        }
        for (size_t i = 0; i < klen; i++) {
            if (!xs_key_char(key[i])) {
                return err_at_pos(8 + pos + i, "xenstore key %u has "
                                               "character 0x%02x outside "
                                               "[A-Za-z0-9-/_@]", n, key[i]);
            }
        }
        pos += klen + 1;
        val = p + pos;
        nul = pos < len ? memchr(val, '\0', len - pos) : NULL;
        if (!nul) {
            return err_at_pos(8 + pos, "xenstore key %u has no "
                                       "NUL-terminated value", n);
        }
        vlen = (size_t)(nul - val);
        if (vlen > REC_XS_MAX_VALUE) {
            return err_at_pos(8 + pos, "xenstore value %u is %zu octets, "
                                       "over the %u allowed", n, vlen,
                              REC_XS_MAX_VALUE);
        }
        pos += vlen + 1;
        n++;
    }
    *pairs = n;
    return 0;
}

int rec_emulator_decode(struct cursor *c, int xenstore, struct xmig_emulator *e)
{
    if (cursor_get_le32(c, &e->emulator_id) < 0 ||
        cursor_get_le32(c, &e->index) < 0) {
        return err_at(c, "emulator record body too short");
    }
    if (e->emulator_id > EMULATOR_ID_MAX) {
        return err_at_pos(0, "emulator_id 0x%x is reserved (0 unknown, "
                             "1 qemu-traditional, 2 qemu-upstream)",
                          e->emulator_id);
    }
    e->data_len = (uint32_t)cursor_left(c);
    (void)!cursor_take(c, e->data_len, &e->data);
    e->pairs = 0;
    if (xenstore) {
        return check_xenstore_pairs(e->data, e->data_len, &e->pairs);
    }
    return 0;
}

int rec_emulator_encode_head(struct cursor *c, uint32_t emulator_id,
                             uint32_t index)
{
    if (emulator_id > EMULATOR_ID_MAX) {
        return err_set(XMIG_ERR_USAGE, 0, "emulator_id %u is reserved",
                       emulator_id);
    }
    if (cursor_put_le32(c, emulator_id) < 0 || cursor_put_le32(c, index) < 0) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for emulator header");
    }
    return 0;
}

int rec_checkpoint_state_decode(struct cursor *c,
                                struct xmig_checkpoint_state *s)
{
    uint32_t padding;

    if (cursor_get_le32(c, &s->control_id) < 0 ||
        cursor_get_le32(c, &padding) < 0) {
        return err_at(c, "CHECKPOINT_STATE body too short");
    }
    if (s->control_id > 3) {
        return err_at_pos(0, "control_id %u is reserved (0-3 are defined)",
                          s->control_id);
    }
    if (padding) {
        return err_at_pos(4, "padding field is 0x%08x, must be zero", padding);
    }
    return 0;
}

int rec_checkpoint_state_encode(struct cursor *c,
                                const struct xmig_checkpoint_state *s)
{
    if (s->control_id > 3) {
        return err_set(XMIG_ERR_USAGE, 0, "control_id %u is reserved",
                       s->control_id);
    }
    if (cursor_put_le32(c, s->control_id) < 0 || cursor_put_le32(c, 0) < 0) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for CHECKPOINT_STATE");
    }
    return 0;
}

int rec_libxl_decode(const struct rec_ctx *ctx, struct cursor *body,
                     struct xmig_record *out)
{
    out->known = 1;
    switch (out->type) {
    case XMIG_LIBXL_END:
    case XMIG_LIBXL_LIBXC_CONTEXT:
    case XMIG_LIBXL_CHECKPOINT_END:
        return 0;   /* empty: the length rule already held */
    case XMIG_LIBXL_EMULATOR_XENSTORE_DATA:
        return rec_emulator_decode(body, 1, &out->u.emulator);
    case XMIG_LIBXL_EMULATOR_CONTEXT:
        return rec_emulator_decode(body, 0, &out->u.emulator);
    case XMIG_LIBXL_CHECKPOINT_STATE:
        return rec_checkpoint_state_decode(body, &out->u.checkpoint_state);
    case XMIG_LIBXL_TRANSPARENT:
        return rec_transparent_decode(body, 1, &out->u.transparent);
    case XMIG_LIBXL_XENSTORE_NODES:
        return rec_xs_nodes_decode(ctx, body, &out->u.xs_list);
    case XMIG_LIBXL_XENSTORE_WATCHES:
        return rec_xs_watches_decode(body, &out->u.xs_list);
    default:
        out->known = 0;
        return 0;
    }
}
