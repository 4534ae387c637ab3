/*
 * X86_CPUID_POLICY (xen_cpuid_leaf_t[]) and X86_MSR_POLICY
 * (xen_msr_entry_t[]), plus CHECKPOINT_DIRTY_PFN_LIST (u64 pfn[]): records
 * that are plain arrays of fixed-size entries.
 */
#include "common/error.h"
#include "records/records.h"

int rec_cpuid_policy_decode(struct cursor *c, struct xmig_cpuid_policy *p)
{
    size_t n = cursor_left(c);

    if (n == 0 || n % REC_CPUID_LEAF_SIZE != 0) {
        return err_at_pos(0, "length %zu is not a nonzero multiple of %u",
                          n, REC_CPUID_LEAF_SIZE);
    }
    p->count = (uint32_t)(n / REC_CPUID_LEAF_SIZE);
    (void)!cursor_take(c, n, &p->leaves);
    return 0;
}

int rec_cpuid_policy_encode(struct cursor *c, const struct xmig_cpuid_leaf *l,
                            uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        if (cursor_put_le32(c, l[i].leaf) < 0 ||
            cursor_put_le32(c, l[i].subleaf) < 0 ||
            cursor_put_le32(c, l[i].a) < 0 || cursor_put_le32(c, l[i].b) < 0 ||
            cursor_put_le32(c, l[i].c) < 0 || cursor_put_le32(c, l[i].d) < 0) {
            return err_set(XMIG_ERR_USAGE, 0, "no room for CPUID policy");
        }
    }
    return 0;
}

int rec_msr_policy_decode(struct cursor *c, struct xmig_msr_policy *p)
{
    size_t n = cursor_left(c);

    if (n == 0 || n % REC_MSR_ENTRY_SIZE != 0) {
        return err_at_pos(0, "length %zu is not a nonzero multiple of %u",
                          n, REC_MSR_ENTRY_SIZE);
    }
    p->count = (uint32_t)(n / REC_MSR_ENTRY_SIZE);
    (void)!cursor_take(c, n, &p->entries);
    for (uint32_t i = 0; i < p->count; i++) {
        uint32_t flags = get_le32(p->entries + (size_t)i * 16 + 4);
        /* xen_msr_entry_t.flags: "Reserved MBZ". */
        if (flags) {
            return err_at_pos((size_t)i * 16 + 4, "MSR entry %u flags 0x%08x "
                                                  "are reserved, must be zero",
                              i, flags);
        }
    }
    return 0;
}

int rec_msr_policy_encode(struct cursor *c, const struct xmig_msr_entry *m,
                          uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        if (m[i].flags) {
            return err_set(XMIG_ERR_USAGE, 0, "MSR entry %u has flags set", i);
        }
        if (cursor_put_le32(c, m[i].idx) < 0 || cursor_put_le32(c, 0) < 0 ||
            cursor_put_le64(c, m[i].val) < 0) {
            return err_set(XMIG_ERR_USAGE, 0, "no room for MSR policy");
        }
    }
    return 0;
}

int rec_pfn_list_decode(struct cursor *c, struct xmig_pfn_list *p)
{
    size_t n = cursor_left(c);

    if (n % 8 != 0) {
        return err_at_pos(0, "length %zu is not a multiple of 8", n);
    }
    p->count = (uint32_t)(n / 8);
    (void)!cursor_take(c, n, &p->pfns);
    return 0;
}

int rec_pfn_list_encode(struct cursor *c, const uint64_t *pfns, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        if (cursor_put_le64(c, pfns[i]) < 0) {
            return err_set(XMIG_ERR_USAGE, 0, "no room for pfn list");
        }
    }
    return 0;
}
