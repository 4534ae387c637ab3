/*
 * x86 HVM records and the TSC record: X86_TSC_INFO, HVM_PARAMS, and
 * HVM_CONTEXT, whose body is Xen's own save format: a chain of
 * {u16 typecode, u16 instance, u32 length} descriptors, each followed by
 * length octets, opening with a HEADER entry and closed by an END entry.
 */
#include "common/error.h"
#include "records/records.h"

int rec_tsc_info_decode(struct cursor *c, struct xmig_tsc_info *t)
{
    uint32_t reserved;

    if (cursor_get_le32(c, &t->mode) < 0 || cursor_get_le32(c, &t->khz) < 0 ||
        cursor_get_le64(c, &t->nsec) < 0 ||
        cursor_get_le32(c, &t->incarnation) < 0 ||
        cursor_get_le32(c, &reserved) < 0) {
        return err_at(c, "X86_TSC_INFO body too short");
    }
    if (reserved) {
        return err_at_pos(20, "reserved field is 0x%08x, must be zero",
                          reserved);
    }
    return 0;
}

int rec_tsc_info_encode(struct cursor *c, const struct xmig_tsc_info *t)
{
    if (cursor_put_le32(c, t->mode) < 0 || cursor_put_le32(c, t->khz) < 0 ||
        cursor_put_le64(c, t->nsec) < 0 ||
        cursor_put_le32(c, t->incarnation) < 0 ||
        cursor_put_le32(c, 0) < 0) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for X86_TSC_INFO");
    }
    return 0;
}

int rec_hvm_params_decode(struct cursor *c, struct xmig_hvm_params *hp)
{
    uint32_t reserved;
    size_t want;

    if (cursor_get_le32(c, &hp->count) < 0 ||
        cursor_get_le32(c, &reserved) < 0) {
        return err_at(c, "HVM_PARAMS body too short");
    }
    if (reserved) {
        return err_at_pos(4, "reserved field is 0x%08x, must be zero",
                          reserved);
    }
    /* Errata: a count of 0 is tolerated (older senders wrote such records). */
    if (size_mul(hp->count, REC_HVM_PARAM_SIZE, &want) < 0 ||
        cursor_left(c) != want) {
        return err_at_pos(0, "count %u needs a body of %llu octets, not %zu",
                          hp->count,
                          8 + (unsigned long long)hp->count *
                                  REC_HVM_PARAM_SIZE,
                          c->len);
    }
    (void)!cursor_take(c, want, &hp->entries);
    return 0;
}

int rec_hvm_params_encode(struct cursor *c, const struct xmig_hvm_param *p,
                          uint32_t count)
{
    if (cursor_put_le32(c, count) < 0 || cursor_put_le32(c, 0) < 0) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for HVM_PARAMS");
    }
    for (uint32_t i = 0; i < count; i++) {
        if (cursor_put_le64(c, p[i].index) < 0 ||
            cursor_put_le64(c, p[i].value) < 0) {
            return err_set(XMIG_ERR_USAGE, 0, "no room for HVM_PARAMS");
        }
    }
    return 0;
}

static int check_save_header(struct cursor *c, size_t at, uint16_t instance,
                             uint32_t length)
{
    uint32_t magic, version;

    if (instance != 0) {
        return err_at_pos(at + 2, "HVM context HEADER instance %u, must be 0",
                          instance);
    }
    if (length != REC_HVM_SAVE_HEADER_SIZE) {
        return err_at_pos(at + 4, "HVM context HEADER length %u, must be %u",
                          length, REC_HVM_SAVE_HEADER_SIZE);
    }
    magic = get_le32(cursor_here(c));
    version = get_le32(cursor_here(c) + 4);
    if (magic != REC_HVM_FILE_MAGIC) {
        return err_at_pos(at + REC_HVM_DESC_SIZE,
                          "HVM context magic 0x%08x, must be 0x%08x", magic,
                          REC_HVM_FILE_MAGIC);
    }
    if (version != REC_HVM_FILE_VERSION) {
        return err_at_pos(at + REC_HVM_DESC_SIZE + 4,
                          "HVM context version %u, must be %u", version,
                          REC_HVM_FILE_VERSION);
    }
    return 0;
}

int rec_hvm_context_decode(struct cursor *c, struct xmig_hvm_context *hc)
{
    uint32_t n = 0;

    hc->blob = cursor_here(c);
    hc->len = (uint32_t)cursor_left(c);
    for (;;) {
        size_t at = c->pos;
        uint16_t code, instance;
        uint32_t length;

        if (cursor_get_le16(c, &code) < 0 ||
            cursor_get_le16(c, &instance) < 0 ||
            cursor_get_le32(c, &length) < 0) {
            return err_at_pos(at, "HVM context ends without an END "
                                  "descriptor (%u descriptors read)", n);
        }
        n++;
        if (n == 1 && code != REC_HVM_CODE_HEADER) {
            return err_at_pos(at, "HVM context starts with typecode %u, "
                                  "must start with HEADER (1)", code);
        }
        if (n > 1 && code == REC_HVM_CODE_HEADER) {
            return err_at_pos(at, "second HEADER descriptor in HVM context");
        }
        if (code > REC_HVM_CODE_MAX) {
            return err_at_pos(at, "HVM context typecode %u is unknown to Xen "
                                  "4.17 (max %u)", code, REC_HVM_CODE_MAX);
        }
        if (cursor_left(c) < length) {
            return err_at_pos(at + 4, "HVM context descriptor %u (typecode "
                                      "%u) length %u overruns the record by "
                                      "%zu octets", n - 1, code, length,
                              (size_t)length - cursor_left(c));
        }
        if (code == REC_HVM_CODE_HEADER &&
            check_save_header(c, at, instance, length) < 0) {
            return -1;
        }
        if (code == REC_HVM_CODE_END) {
            if (length != 0) {
                return err_at_pos(at + 4, "HVM context END length %u, must "
                                          "be 0", length);
            }
            break;
        }
        (void)!cursor_skip(c, length);
    }
    if (cursor_left(c) != 0) {
        return err_at(c, "%zu octets follow the HVM context END descriptor",
                      cursor_left(c));
    }
    hc->descriptors = n;
    return 0;
}
