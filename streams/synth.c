/*
 * Synthetic guest images.  The records are shaped like those Xen 4.17's
 * saver writes (policies, STATIC_DATA_END, batches of pages, TSC, params,
 * an HVM context of HEADER, CPU and END descriptors), but their contents
 * are made up: they exercise the codec, not a hypervisor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"
#include "common/error.h"
#include "streams/synth.h"

#define HOLE_EVERY 97     /* pfn % 97 == 13: a hole (XTAB) */
#define ZERO_EVERY 5      /* pfn % 5 == 3: an all-zero page (XALLOC) */

void synth_defaults(struct synth_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->format = XMIG_FORMAT_XL;
    o->guest_type = XMIG_DOMAIN_X86_HVM;
    o->pages = 256;
    o->batch = 1024;
    o->seed = 1;
}

static int is_hole(uint32_t pfn)
{
    return pfn % HOLE_EVERY == 13;
}

static int is_zero(uint32_t pfn)
{
    return pfn % ZERO_EVERY == 3;
}

uint8_t *synth_memory(const struct synth_opts *o)
{
    uint8_t *mem = calloc(o->pages ? o->pages : 1, XMIG_PAGE_SIZE);
    uint64_t x = 0x9E3779B97F4A7C15ull ^ o->seed;

    if (!mem) {
        err_set(XMIG_ERR_NOMEM, ENOMEM, "synthetic memory");
        return NULL;
    }
    for (uint32_t pfn = 0; pfn < o->pages; pfn++) {
        uint64_t *w = (uint64_t *)(mem + (size_t)pfn * XMIG_PAGE_SIZE);
        if (is_hole(pfn) || is_zero(pfn)) {
            continue;
        }
        for (size_t i = 0; i < XMIG_PAGE_SIZE / 8; i++) {
            x ^= x << 13;   /* xorshift64 */
            x ^= x >> 7;
            x ^= x << 17;
            w[i] = x;
        }
    }
    return mem;
}

static int write_pages(struct xmig_writer *w, const struct synth_opts *o,
                       const uint8_t *mem, int all_data)
{
    uint64_t words[1024];
    const void *pages[1024];
    uint32_t batch = o->batch && o->batch <= 1024 ? o->batch : 1024;

    for (uint32_t base = 0; base < o->pages; base += batch) {
        uint32_t n = o->pages - base < batch ? o->pages - base : batch;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t pfn = base + i;
            unsigned type = XMIG_PFN_TYPE_NOTAB;
            if (is_hole(pfn)) {
                type = XMIG_PFN_TYPE_XTAB;
            } else if (is_zero(pfn) && !all_data) {
                type = XMIG_PFN_TYPE_XALLOC;
            }
            words[i] = ((uint64_t)type << XMIG_PFN_TYPE_SHIFT) | pfn;
            pages[i] = type == XMIG_PFN_TYPE_NOTAB
                           ? mem + (size_t)pfn * XMIG_PAGE_SIZE
                           : NULL;
        }
        if (xmig_writer_page_data(w, n, words, pages) < 0) {
            return -1;
        }
    }
    return 0;
}

static int write_hvm_state(struct xmig_writer *w, const struct synth_opts *o)
{
    static const struct xmig_hvm_param params[] = {
        { 1, 0xfeffc }, /* STORE_PFN */
        { 12, 0xfeffd000 }, /* IDENT_PT */
        { 17, 0xfefff }, /* CONSOLE_PFN */
        { 27, 0xfeff9 }, /* PAGING_RING_PFN */
    };
    struct xmig_tsc_info tsc = { 0, 2400000, 123456789ull + o->seed, 1 };
    uint8_t ctx[8 + 24 + 8 + 1032 + 8];
    struct cursor c = cursor_ro(ctx, sizeof(ctx));

    /* HEADER, CPU (sizeof(struct hvm_hw_cpu) in Xen 4.17), END. */
    (void)!cursor_put_le16(&c, 1);
    (void)!cursor_put_le16(&c, 0);
    (void)!cursor_put_le32(&c, 24);
    (void)!cursor_put_le32(&c, 0x54381286u);
    (void)!cursor_put_le32(&c, 1);
    (void)!cursor_put_le64(&c, 0);
    (void)!cursor_put_le32(&c, 0x000806ec);
    (void)!cursor_put_le32(&c, 2400000);
    (void)!cursor_put_le16(&c, 2);
    (void)!cursor_put_le16(&c, 0);
    (void)!cursor_put_le32(&c, 1032);
    for (uint32_t i = 0; i < 1032; i++) {
        (void)!cursor_put_u8(&c, (uint8_t)(i * 7 + o->seed));
    }
    (void)!cursor_put_le16(&c, 0);
    (void)!cursor_put_le16(&c, 0);
    (void)!cursor_put_le32(&c, 0);
    if (xmig_writer_tsc_info(w, &tsc) < 0 ||
        xmig_writer_hvm_params(w, params, 4) < 0 ||
        xmig_writer_libxc_record(w, XMIG_LIBXC_HVM_CONTEXT, ctx, sizeof(ctx)) <
            0) {
        return -1;
    }
    return 0;
}

static int write_pv_state(struct xmig_writer *w, const struct synth_opts *o)
{
    static const uint32_t vcpu_records[] = {
        XMIG_LIBXC_X86_PV_VCPU_BASIC, XMIG_LIBXC_X86_PV_VCPU_EXTENDED,
        XMIG_LIBXC_X86_PV_VCPU_XSAVE, XMIG_LIBXC_X86_PV_VCPU_MSRS,
    };
    struct xmig_tsc_info tsc = { 0, 2400000, 987654321ull, 1 };
    uint8_t shared[XMIG_PAGE_SIZE] = { 0 };
    uint8_t vcpu[8 + 64];

    shared[0] = (uint8_t)o->seed;
    if (xmig_writer_tsc_info(w, &tsc) < 0 ||
        xmig_writer_libxc_record(w, XMIG_LIBXC_SHARED_INFO, shared,
                                 sizeof(shared)) < 0) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(vcpu_records) / sizeof(vcpu_records[0]);
         i++) {
        memset(vcpu, (int)(i + 1), sizeof(vcpu));
        put_le32(vcpu, 0);       /* vcpu_id */
        put_le32(vcpu + 4, 0);   /* reserved */
        if (xmig_writer_libxc_record(w, vcpu_records[i], vcpu,
                                     sizeof(vcpu)) < 0) {
            return -1;
        }
    }
    return 0;
}

static int write_libxc(struct xmig_writer *w, const struct synth_opts *o,
                       const uint8_t *mem)
{
    static const struct xmig_cpuid_leaf leaves[] = {
        { 0, 0xffffffffu, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69 },
        { 1, 0xffffffffu, 0x806ec, 0x800, 0xfeda3203, 0x178bfbff },
    };
    static const struct xmig_msr_entry msrs[] = {
        { 0xce, 0, 0x80000000ull },
        { 0x10a, 0, 0 },
    };

    if (xmig_writer_libxc_begin(w, o->guest_type, 4, 17) < 0) {
        return -1;
    }
    if (o->transparent &&
        xmig_writer_libxc_transparent(w, XMIG_TRANSPARENT_EVTCHN |
                                             XMIG_TRANSPARENT_GNTTAB) < 0) {
        return -1;
    }
    if (o->guest_type == XMIG_DOMAIN_X86_PV) {
        struct xmig_pv_info pi = { 8, 4 };
        if (xmig_writer_pv_info(w, &pi) < 0) {
            return -1;
        }
    }
    if (xmig_writer_cpuid_policy(w, leaves, 2) < 0 ||
        xmig_writer_msr_policy(w, msrs, 2) < 0 ||
        xmig_writer_libxc_record(w, XMIG_LIBXC_STATIC_DATA_END, NULL, 0) < 0) {
        return -1;
    }
    if (o->guest_type == XMIG_DOMAIN_X86_PV) {
        /* 64-bit p2m: 512 entries a frame. */
        uint32_t end = o->pages ? o->pages - 1 : 0;
        uint32_t frames = end / 512 + 1;
        uint8_t body[8 + 8 * 64];
        if (frames > 64) {
            return err_set(XMIG_ERR_USAGE, 0, "synthetic PV guests stop at "
                           "%u pages", 64 * 512);
        }
        put_le32(body, 0);
        put_le32(body + 4, end);
        for (uint32_t i = 0; i < frames; i++) {
            put_le64(body + 8 + 8 * i, 0x100000u + i);
        }
        if (xmig_writer_libxc_record(w, XMIG_LIBXC_X86_PV_P2M_FRAMES, body,
                                     8 + 8 * frames) < 0) {
            return -1;
        }
    }
    if (o->pages && write_pages(w, o, mem, 0) < 0) {
        return -1;
    }
    if (o->verify_pass) {
        if (xmig_writer_libxc_record(w, XMIG_LIBXC_VERIFY, NULL, 0) < 0 ||
            (o->pages && write_pages(w, o, mem, 1) < 0)) {
            return -1;
        }
    }
    if ((o->guest_type == XMIG_DOMAIN_X86_PV ? write_pv_state(w, o)
                                             : write_hvm_state(w, o)) < 0) {
        return -1;
    }
    if (o->transparent) {
        struct xmig_transparent_state st;
        synth_transparent_state(o, &st);
        if (xmig_writer_transparent_libxc(w, &st) < 0) {
            return -1;
        }
    }
    return xmig_writer_libxc_end(w);
}

static int write_libxl_tail(struct xmig_writer *w, const struct synth_opts *o)
{
    static const char *const keys[] = { "physmap/f0000000/start_addr",
                                        "physmap/f0000000/size",
                                        "physmap/f0000000/name" };
    static const char *const values[] = { "f0000000", "800000", "vga.vram" };
    uint8_t emu[8 + 256];

    if (o->transparent) {
        struct xmig_transparent_state st;
        synth_transparent_state(o, &st);
        if (xmig_writer_transparent_libxl(w, &st) < 0) {
            return -1;
        }
    }
    if (o->emulator_xenstore &&
        xmig_writer_emulator_xenstore(w, 2, 0, keys, values, 3) < 0) {
        return -1;
    }
    if (o->guest_type == XMIG_DOMAIN_X86_HVM && !o->no_emulator_context) {
        put_le32(emu, 2);     /* qemu upstream */
        put_le32(emu + 4, 0);
        memcpy(emu + 8, "QEVM", 4);
        for (size_t i = 12; i < sizeof(emu); i++) {
            emu[i] = (uint8_t)(i ^ o->seed);
        }
        if (xmig_writer_libxl_record(w, XMIG_LIBXL_EMULATOR_CONTEXT, emu,
                                     sizeof(emu)) < 0) {
            return -1;
        }
    }
    return xmig_writer_libxl_end(w);
}

int synth_write_memory(struct xmig_transport *t, const struct synth_opts *o,
                       const uint8_t *mem)
{
    static const char json[] =
        "{\"c_info\": {\"type\": \"hvm\", \"name\": \"xmig-sample\"}, "
        "\"b_info\": {\"max_memkb\": 1024, \"target_memkb\": 1024}}";
    struct xmig_writer *w = xmig_writer_create(t);
    int rc = -1;

    if (!w) {
        return -1;
    }
    if (o->format == XMIG_FORMAT_XL && xmig_writer_xl_header(w, json) < 0) {
        goto out;
    }
    if ((o->format == XMIG_FORMAT_XL || o->format == XMIG_FORMAT_LIBXL) &&
        (xmig_writer_libxl_begin(w) < 0 ||
         (o->transparent &&
          xmig_writer_libxl_transparent(w, 7, XMIG_TRANSPARENT_EVTCHN |
                                                  XMIG_TRANSPARENT_GNTTAB |
                                                  XMIG_TRANSPARENT_XENSTORE) <
              0))) {
        goto out;
    }
    if (write_libxc(w, o, mem) < 0) {
        goto out;
    }
    if (o->format != XMIG_FORMAT_LIBXC && write_libxl_tail(w, o) < 0) {
        goto out;
    }
    rc = 0;
out:
    xmig_writer_free(w);
    return rc;
}

int synth_write(struct xmig_transport *t, const struct synth_opts *o)
{
    uint8_t *mem = synth_memory(o);
    int rc;

    if (!mem) {
        return -1;
    }
    rc = synth_write_memory(t, o, mem);
    free(mem);
    return rc;
}
