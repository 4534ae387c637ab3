/*
 * Record names and the length rules each record type imposes, checked on
 * the 8-octet record header before a single body octet is read or any
 * memory is set aside for it.
 */
#include "common/error.h"
#include "records/records.h"

struct length_rule {
    const char *name;
    uint32_t min;       /* smallest body_length */
    uint32_t max;       /* largest body_length */
    uint32_t multiple;  /* body_length % multiple == 0 (1: any) */
};

#define FIXED(n, sz) { n, sz, sz, 1 }
#define RANGE(n, lo, hi, m) { n, lo, hi, m }

/* Indexed by libxc record type 0x00-0x12. */
static const struct length_rule libxc_rules[] = {
    FIXED("END", 0),
    /* count, reserved and at least one pfn word */
    RANGE("PAGE_DATA", 16, REC_MAX_PAGE_DATA_BODY, 8),
    FIXED("X86_PV_INFO", 8),
    RANGE("X86_PV_P2M_FRAMES", 8, REC_MAX_SMALL_BODY, 8),
    RANGE("X86_PV_VCPU_BASIC", 8, REC_MAX_SMALL_BODY, 1),
    RANGE("X86_PV_VCPU_EXTENDED", 8, REC_MAX_SMALL_BODY, 1),
    RANGE("X86_PV_VCPU_XSAVE", 8, REC_MAX_SMALL_BODY, 1),
    FIXED("SHARED_INFO", XMIG_PAGE_SIZE),
    FIXED("X86_TSC_INFO", REC_TSC_INFO_SIZE),
    RANGE("HVM_CONTEXT", 1, REC_MAX_SMALL_BODY, 1),
    RANGE("HVM_PARAMS", 8, REC_MAX_SMALL_BODY, 8),
    RANGE("TOOLSTACK", 0, REC_MAX_SMALL_BODY, 1),
    RANGE("X86_PV_VCPU_MSRS", 8, REC_MAX_SMALL_BODY, 1),
    FIXED("VERIFY", 0),
    FIXED("CHECKPOINT", 0),
    RANGE("CHECKPOINT_DIRTY_PFN_LIST", 0, REC_MAX_SMALL_BODY, 8),
    FIXED("STATIC_DATA_END", 0),
    RANGE("X86_CPUID_POLICY", REC_CPUID_LEAF_SIZE, REC_MAX_SMALL_BODY,
          REC_CPUID_LEAF_SIZE),
    RANGE("X86_MSR_POLICY", REC_MSR_ENTRY_SIZE, REC_MAX_SMALL_BODY,
          REC_MSR_ENTRY_SIZE),
};

/* Indexed by libxl record type 0x00-0x05. */
static const struct length_rule libxl_rules[] = {
    FIXED("END", 0),
    FIXED("LIBXC_CONTEXT", 0),
    RANGE("EMULATOR_XENSTORE_DATA", 8, REC_MAX_SMALL_BODY, 1),
    RANGE("EMULATOR_CONTEXT", 8, REC_MAX_EMULATOR_BODY, 1),
    FIXED("CHECKPOINT_END", 0),
    FIXED("CHECKPOINT_STATE", 8),
};

/* xmig's transparent records, in its own block of types (0x786D00xx). */
struct xmig_rule {
    uint32_t type;
    struct length_rule rule;
};

static const struct xmig_rule libxc_xmig_rules[] = {
    { XMIG_LIBXC_TRANSPARENT, FIXED("TRANSPARENT", 8) },
    { XMIG_LIBXC_EVTCHN_PORTS,
      RANGE("EVTCHN_PORTS", 16, REC_MAX_SMALL_BODY, 8) },
    { XMIG_LIBXC_EVTCHN_FIFO,
      RANGE("EVTCHN_FIFO", 8 + 16 + 8, REC_MAX_SMALL_BODY, 8) },
    { XMIG_LIBXC_GRANT_TABLE,
      RANGE("GRANT_TABLE", 24 + 8, REC_MAX_SMALL_BODY, 8) },
    { XMIG_LIBXC_GRANT_MAPS, RANGE("GRANT_MAPS", 8, REC_MAX_SMALL_BODY, 8) },
    { XMIG_LIBXC_DIGEST, FIXED("DIGEST", 32) },
};

static const struct xmig_rule libxl_xmig_rules[] = {
    { XMIG_LIBXL_TRANSPARENT, FIXED("TRANSPARENT", 16) },
    { XMIG_LIBXL_XENSTORE_NODES,
      RANGE("XENSTORE_NODES", 8, REC_MAX_SMALL_BODY, 8) },
    { XMIG_LIBXL_XENSTORE_WATCHES,
      RANGE("XENSTORE_WATCHES", 8, REC_MAX_SMALL_BODY, 8) },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct length_rule *xmig_rule(const struct xmig_rule *t,
                                           size_t n, uint32_t type)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].type == type) {
            return &t[i].rule;
        }
    }
    return NULL;
}

static const struct length_rule *libxc_rule(uint32_t type)
{
    if (type < NELEM(libxc_rules)) {
        return &libxc_rules[type];
    }
    return xmig_rule(libxc_xmig_rules, NELEM(libxc_xmig_rules), type);
}

static const struct length_rule *libxl_rule(uint32_t type)
{
    if (type < NELEM(libxl_rules)) {
        return &libxl_rules[type];
    }
    return xmig_rule(libxl_xmig_rules, NELEM(libxl_xmig_rules), type);
}

_Static_assert(NELEM(libxc_rules) == XMIG_LIBXC_X86_MSR_POLICY + 1,
               "one length rule per libxc record type");
_Static_assert(NELEM(libxl_rules) == XMIG_LIBXL_CHECKPOINT_STATE + 1,
               "one length rule per libxl record type");

int rec_libxc_known(uint32_t type)
{
    return libxc_rule(type) != NULL;
}

int rec_libxl_known(uint32_t type)
{
    return libxl_rule(type) != NULL;
}

static const char *unknown_name(uint32_t type)
{
    return (type & XMIG_RECORD_OPTIONAL) ? "unknown optional" : "unknown";
}

const char *rec_libxc_name(uint32_t type)
{
    const struct length_rule *r = libxc_rule(type);
    return r ? r->name : unknown_name(type);
}

const char *rec_libxl_name(uint32_t type)
{
    const struct length_rule *r = libxl_rule(type);
    return r ? r->name : unknown_name(type);
}

static int check(const struct length_rule *r, uint32_t length)
{
    if (r->min == r->max && length != r->min) {
        return err_at_pos(4, "body_length %u, must be exactly %u", length,
                          r->min);
    }
    if (length < r->min) {
        return err_at_pos(4, "body_length %u, must be at least %u", length,
                          r->min);
    }
    if (length > r->max) {
        err_at_pos(4, "body_length %u exceeds xmig's limit of %u for this "
                      "record", length, r->max);
        err_recategorise(XMIG_ERR_LIMIT);
        return -1;
    }
    if (length % r->multiple != 0) {
        return err_at_pos(4, "body_length %u is not a multiple of %u", length,
                          r->multiple);
    }
    return 0;
}

/* Unknown optional records may be skipped but still may not be huge. */
static int check_unknown(uint32_t length)
{
    if (length > REC_MAX_SMALL_BODY) {
        err_at_pos(4, "body_length %u exceeds xmig's limit of %u for an "
                      "unknown record", length, REC_MAX_SMALL_BODY);
        err_recategorise(XMIG_ERR_LIMIT);
        return -1;
    }
    return 0;
}

int rec_libxc_check_length(uint32_t type, uint32_t length)
{
    const struct length_rule *r = libxc_rule(type);
    return r ? check(r, length) : check_unknown(length);
}

int rec_libxl_check_length(uint32_t type, uint32_t length)
{
    const struct length_rule *r = libxl_rule(type);
    return r ? check(r, length) : check_unknown(length);
}

int rec_header_decode(struct cursor *c, uint32_t *type, uint32_t *length)
{
    if (cursor_get_le32(c, type) < 0 || cursor_get_le32(c, length) < 0) {
        return err_set(XMIG_ERR_CLOSED, 0, "truncated record header");
    }
    return 0;
}

int rec_header_encode(struct cursor *c, uint32_t type, uint32_t length)
{
    if (cursor_put_le32(c, type) < 0 || cursor_put_le32(c, length) < 0) {
        return err_set(XMIG_ERR_USAGE, 0, "no room for a record header");
    }
    return 0;
}

/* "padding: 0 to 7 octets of zeros" (both stream specs, section 4). */
int rec_padding_check(const uint8_t *pad, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (pad[i]) {
            return err_at_pos(i, "padding octet %zu is 0x%02x, must be zero",
                              i, pad[i]);
        }
    }
    return 0;
}
