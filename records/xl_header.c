/*
 * The xl save-file header: a 32-octet magic, four u32 in the saving host's
 * order, then optional data whose first item is the domain configuration
 * (u32 length + config, JSON with a trailing NUL when flag 1 is set).
 */
#include "common/error.h"
#include "records/records.h"

const uint8_t rec_xl_magic[REC_XL_MAGIC_SIZE] =
    "Xen saved domain, xl format\n \0 \r";

#define XL_FLAGS_KNOWN (REC_XL_FLAG_JSON | REC_XL_FLAG_STREAMV2)

int rec_xl_header_decode(struct cursor *c, struct xmig_xl_header *h)
{
    const uint8_t *p;
    uint32_t byteorder;

    if (cursor_take(c, REC_XL_HEADER_SIZE, &p) < 0) {
        return err_set(XMIG_ERR_CLOSED, 0, "truncated xl save-file header");
    }
    if (memcmp(p, rec_xl_magic, REC_XL_MAGIC_SIZE) != 0) {
        return err_at_pos(0, "bad xl save-file magic");
    }
    byteorder = get_le32(p + 32);
    h->mandatory_flags = get_le32(p + 36);
    h->optional_flags = get_le32(p + 40);
    h->optional_data_len = get_le32(p + 44);
    h->config = NULL;
    h->config_len = 0;
    if (byteorder == 0x04030201u) {
        return err_at_pos(32, "big-endian xl save file: xmig handles "
                              "little-endian streams only");
    }
    if (byteorder != REC_XL_BYTEORDER) {
        return err_at_pos(32, "byte-order marker is 0x%08x, must be 0x%08x",
                          byteorder, REC_XL_BYTEORDER);
    }
    /* Unknown mandatory flags: xl refuses the file ("need newer xl"). */
    if (h->mandatory_flags & ~XL_FLAGS_KNOWN) {
        return err_at_pos(36, "unknown mandatory flags 0x%x",
                          h->mandatory_flags & ~XL_FLAGS_KNOWN);
    }
    if (!(h->mandatory_flags & REC_XL_FLAG_STREAMV2)) {
        err_set(XMIG_ERR_UNSUPPORTED, 0,
                "save file holds a legacy (pre-v2) stream; convert it with "
                "Xen's convert-legacy-stream first");
        err_shift(36);
        return -1;
    }
    if (h->optional_data_len > REC_XL_MAX_OPTDATA) {
        err_at_pos(44, "optional_data_len %u exceeds xmig's limit of %u",
                   h->optional_data_len, REC_XL_MAX_OPTDATA);
        err_recategorise(XMIG_ERR_LIMIT);
        return -1;
    }
    return 0;
}

/* The cursor spans exactly optional_data_len octets (position relative to
 * the start of the optional data). */
int rec_xl_optdata_decode(struct cursor *c, struct xmig_xl_header *h)
{
    uint32_t config_len;
    const uint8_t *config;

    if (cursor_left(c) == 0) {
        if (h->mandatory_flags & REC_XL_FLAG_JSON) {
            return err_at(c, "JSON flag set but the file holds no config");
        }
        return 0;
    }
    if (cursor_get_le32(c, &config_len) < 0) {
        return err_at(c, "optional data of %zu octets is too short for the "
                         "config length", cursor_left(c));
    }
    if (cursor_take(c, config_len, &config) < 0) {
        return err_at_pos(0, "config length %u exceeds the %zu octets of "
                             "optional data left", config_len, cursor_left(c));
    }
    if (config_len == 0) {
        if (h->mandatory_flags & REC_XL_FLAG_JSON) {
            return err_at_pos(0, "JSON flag set but the config is empty");
        }
        return 0;
    }
    h->config = config;
    h->config_len = config_len;
    if (h->mandatory_flags & REC_XL_FLAG_JSON) {
        /* xl hands the config to libxl as a C string. */
        if (config[config_len - 1] != '\0') {
            return err_at_pos(4 + config_len - 1,
                              "JSON config is not NUL-terminated");
        }
        if (rec_json_check(config, config_len - 1) < 0) {
            err_shift(4);   /* the config follows its u32 length */
            return -1;
        }
    }
    return 0;
}

int rec_xl_header_encode(struct cursor *c, const struct xmig_xl_header *h)
{
    uint32_t optlen = 4 + h->config_len;
    uint32_t flags = REC_XL_FLAG_STREAMV2;

    if (h->config_len > REC_XL_MAX_OPTDATA - 4) {
        return err_set(XMIG_ERR_LIMIT, 0, "config of %u octets is too large",
                       h->config_len);
    }
    if (h->config_len) {
        flags |= REC_XL_FLAG_JSON;
    }
    if (cursor_put_bytes(c, rec_xl_magic, REC_XL_MAGIC_SIZE) < 0 ||
        cursor_put_le32(c, REC_XL_BYTEORDER) < 0 ||
        cursor_put_le32(c, flags) < 0 || cursor_put_le32(c, 0) < 0 ||
        cursor_put_le32(c, optlen) < 0 ||
        cursor_put_le32(c, h->config_len) < 0 ||
        cursor_put_bytes(c, h->config, h->config_len) < 0) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for the xl header");
    }
    return 0;
}
