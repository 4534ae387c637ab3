/*
 * Round trips: every record type that has an encoder is encoded, decoded
 * and compared field by field; record types with opaque bodies are written
 * through the writer and read back through the reader octet for octet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "records/records.h"
#include "tests/support.h"

static void image_and_domain_headers(void **state)
{
    struct xmig_image_header ih = { 3, 0 }, ih2;
    struct xmig_domain_header dh = { XMIG_DOMAIN_X86_HVM, 12, 4, 17 }, dh2;
    uint8_t b[REC_IMAGE_HEADER_SIZE + REC_DOMAIN_HEADER_SIZE];
    struct cursor c = cursor_ro(b, sizeof(b));

    (void)state;
    assert_int_equal(rec_image_header_encode(&c, &ih), 0);
    assert_int_equal(rec_domain_header_encode(&c, &dh), 0);
    assert_int_equal(c.pos, sizeof(b));
    /* Octet layout from the spec: marker, "XENF", version 3 big-endian. */
    assert_memory_equal(b, "\xff\xff\xff\xff\xff\xff\xff\xff" "XENF"
                           "\0\0\0\3", 16);
    c = cursor_ro(b, sizeof(b));
    assert_int_equal(rec_image_header_decode(&c, &ih2), 0);
    assert_int_equal(rec_domain_header_decode(&c, &dh2), 0);
    assert_int_equal(ih2.version, 3);
    assert_int_equal(dh2.type, XMIG_DOMAIN_X86_HVM);
    assert_int_equal(dh2.page_shift, 12);
    assert_int_equal(dh2.xen_major, 4);
    assert_int_equal(dh2.xen_minor, 17);
}

static void libxl_and_xl_headers(void **state)
{
    static const char json[] = "{\"a\": [1, 2.5e3, true, null, \"x\\n\"]}";
    struct xmig_libxl_header lh = { 2, 2 }, lh2;
    struct xmig_xl_header xh = { 0 }, xh2;
    uint8_t b[256];
    struct cursor c = cursor_ro(b, sizeof(b)), opt;

    (void)state;
    assert_int_equal(rec_libxl_header_encode(&c, &lh), 0);
    assert_memory_equal(b, "LibxlFmt\0\0\0\2\0\0\0\2", 16);
    c = cursor_ro(b, 16);
    assert_int_equal(rec_libxl_header_decode(&c, &lh2), 0);
    assert_int_equal(lh2.options, 2);   /* legacy-converted is allowed */

    xh.config = (const uint8_t *)json;
    xh.config_len = sizeof(json);       /* with the NUL, as xl writes it */
    c = cursor_ro(b, sizeof(b));
    assert_int_equal(rec_xl_header_encode(&c, &xh), 0);
    assert_int_equal(c.pos, REC_XL_HEADER_SIZE + 4 + sizeof(json));
    c = cursor_ro(b, c.pos);
    assert_int_equal(rec_xl_header_decode(&c, &xh2), 0);
    assert_int_equal(xh2.mandatory_flags, REC_XL_FLAG_JSON |
                                              REC_XL_FLAG_STREAMV2);
    assert_int_equal(xh2.optional_data_len, 4 + sizeof(json));
    opt = cursor_ro(b + REC_XL_HEADER_SIZE, xh2.optional_data_len);
    assert_int_equal(rec_xl_optdata_decode(&opt, &xh2), 0);
    assert_int_equal(xh2.config_len, sizeof(json));
    assert_memory_equal(xh2.config, json, sizeof(json));
}

static void page_data(void **state)
{
    uint64_t words[4] = {
        5,                                              /* NOTAB */
        ((uint64_t)XMIG_PFN_TYPE_XTAB << 60) | 6,      /* no data */
        ((uint64_t)XMIG_PFN_TYPE_L1TAB_PIN << 60) | 7, /* data */
        ((uint64_t)XMIG_PFN_TYPE_XALLOC << 60) | 8,    /* no data */
    };
    static uint8_t b[8 + 32 + 2 * 4096];
    struct cursor c = cursor_ro(b, sizeof(b));
    struct xmig_page_data pd;

    (void)state;
    assert_int_equal(rec_page_data_encode_head(&c, 4, words), 0);
    memset(b + c.pos, 0xAB, 2 * 4096);
    c = cursor_ro(b, sizeof(b));
    assert_int_equal(rec_page_data_decode(&c, &pd), 0);
    assert_int_equal(pd.count, 4);
    assert_int_equal(pd.data_pages, 2);
    for (uint32_t i = 0; i < 4; i++) {
        assert_true(xmig_page_data_pfn_word(&pd, i) == words[i]);
    }
    assert_ptr_equal(pd.data, b + 40);   /* a view, not a copy */
}

static void pv_records(void **state)
{
    struct xmig_pv_info pi = { 8, 4 }, pi2;
    uint64_t frames[2] = { 0x1000, 0x1001 };
    struct rec_ctx ctx = { .version = 3, .guest_type = XMIG_DOMAIN_X86_PV,
                           .pv_width = 8 };
    struct xmig_p2m_frames p;
    struct xmig_pv_vcpu v;
    uint8_t b[64];
    struct cursor c = cursor_ro(b, sizeof(b));

    (void)state;
    assert_int_equal(rec_pv_info_encode(&c, &pi), 0);
    c = cursor_ro(b, 8);
    assert_int_equal(rec_pv_info_decode(&c, &pi2), 0);
    assert_int_equal(pi2.guest_width, 8);
    assert_int_equal(pi2.pt_levels, 4);

    /* 512 entries per frame: pfns 0..1023 span exactly two frames. */
    c = cursor_ro(b, sizeof(b));
    assert_int_equal(rec_p2m_frames_encode(&c, 0, 1023, frames, 2), 0);
    c = cursor_ro(b, 24);
    assert_int_equal(rec_p2m_frames_decode(&ctx, &c, &p), 0);
    assert_int_equal(p.count, 2);
    assert_true(xmig_p2m_frame(&p, 1) == 0x1001);
    /* A 32-bit guest has 1024 entries per frame: one frame. */
    ctx.pv_width = 4;
    c = cursor_ro(b, 16);
    put_le64(b + 8, 0x2000);
    assert_int_equal(rec_p2m_frames_decode(&ctx, &c, &p), 0);
    assert_int_equal(p.count, 1);

    c = cursor_ro(b, sizeof(b));
    assert_int_equal(rec_pv_vcpu_encode_head(&c, 3), 0);
    memset(b + 8, 0x5A, 20);
    c = cursor_ro(b, 28);
    assert_int_equal(rec_pv_vcpu_decode(&c, &v), 0);
    assert_int_equal(v.vcpu_id, 3);
    assert_int_equal(v.context_len, 20);
    assert_ptr_equal(v.context, b + 8);
}

static void tsc_params_policies(void **state)
{
    struct xmig_tsc_info t = { 1, 3000000, 0x1122334455667788ull, 9 }, t2;
    struct xmig_hvm_param hp[2] = { { 1, 0xfeffc }, { 27, 1ull << 40 } }, hp2;
    struct xmig_hvm_params hps;
    struct xmig_cpuid_leaf l[1] = { { 7, 0, 1, 2, 3, 4 } }, l2;
    struct xmig_cpuid_policy cp;
    struct xmig_msr_entry m[1] = { { 0x10a, 0, 0xdeadbeefcafe } }, m2;
    struct xmig_msr_policy mp;
    uint8_t b[64];
    struct cursor c = cursor_ro(b, sizeof(b));

    (void)state;
    assert_int_equal(rec_tsc_info_encode(&c, &t), 0);
    assert_int_equal(c.pos, REC_TSC_INFO_SIZE);
    c = cursor_ro(b, REC_TSC_INFO_SIZE);
    assert_int_equal(rec_tsc_info_decode(&c, &t2), 0);
    assert_int_equal(t2.mode, 1);
    assert_int_equal(t2.khz, 3000000);
    assert_true(t2.nsec == 0x1122334455667788ull);
    assert_int_equal(t2.incarnation, 9);

    c = cursor_ro(b, sizeof(b));
    assert_int_equal(rec_hvm_params_encode(&c, hp, 2), 0);
    c = cursor_ro(b, 8 + 32);
    assert_int_equal(rec_hvm_params_decode(&c, &hps), 0);
    assert_int_equal(hps.count, 2);
    xmig_hvm_param_get(&hps, 1, &hp2);
    assert_true(hp2.index == 27 && hp2.value == 1ull << 40);

    c = cursor_ro(b, sizeof(b));
    assert_int_equal(rec_cpuid_policy_encode(&c, l, 1), 0);
    c = cursor_ro(b, 24);
    assert_int_equal(rec_cpuid_policy_decode(&c, &cp), 0);
    xmig_cpuid_leaf_get(&cp, 0, &l2);
    assert_memory_equal(&l[0], &l2, sizeof(l2));

    c = cursor_ro(b, sizeof(b));
    assert_int_equal(rec_msr_policy_encode(&c, m, 1), 0);
    c = cursor_ro(b, 16);
    assert_int_equal(rec_msr_policy_decode(&c, &mp), 0);
    xmig_msr_entry_get(&mp, 0, &m2);
    assert_int_equal(m2.idx, 0x10a);
    assert_int_equal(m2.flags, 0);
    assert_true(m2.val == 0xdeadbeefcafeull);
}

static void libxl_bodies(void **state)
{
    struct xmig_checkpoint_state cs = { 2 }, cs2;
    struct xmig_emulator e;
    struct xmig_pfn_list pl;
    uint64_t pfns[3] = { 1, 2, 0xfffff };
    uint8_t b[64];
    struct cursor c = cursor_ro(b, sizeof(b));

    (void)state;
    assert_int_equal(rec_checkpoint_state_encode(&c, &cs), 0);
    c = cursor_ro(b, 8);
    assert_int_equal(rec_checkpoint_state_decode(&c, &cs2), 0);
    assert_int_equal(cs2.control_id, 2);

    c = cursor_ro(b, sizeof(b));
    assert_int_equal(rec_emulator_encode_head(&c, 2, 1), 0);
    assert_int_equal(cursor_put_bytes(&c, "a/b\0v\0k\0\0", 9), 0);
    c = cursor_ro(b, 17);
    assert_int_equal(rec_emulator_decode(&c, 1, &e), 0);
    assert_int_equal(e.emulator_id, 2);
    assert_int_equal(e.index, 1);
    assert_int_equal(e.pairs, 2);   /* the second value is empty */

    c = cursor_ro(b, sizeof(b));
    assert_int_equal(rec_pfn_list_encode(&c, pfns, 3), 0);
    c = cursor_ro(b, 24);
    assert_int_equal(rec_pfn_list_decode(&c, &pl), 0);
    assert_int_equal(pl.count, 3);
    assert_true(xmig_pfn_list_get(&pl, 2) == 0xfffff);
}

struct collect {
    int n;
    uint32_t types[64];
    uint32_t lengths[64];
    struct xmig_hvm_context ctx;
    struct xmig_tsc_info tsc;
};

static int collect(void *user, const struct xmig_record *rec)
{
    struct collect *c = user;

    if (rec->kind != XMIG_ITEM_RECORD || rec->layer != XMIG_LAYER_LIBXC) {
        return 0;
    }
    if (c->n < 64) {
        c->types[c->n] = rec->type;
        c->lengths[c->n++] = rec->length;
    }
    if (rec->type == XMIG_LIBXC_HVM_CONTEXT) {
        c->ctx = rec->u.hvm_context;
    }
    if (rec->type == XMIG_LIBXC_X86_TSC_INFO) {
        c->tsc = rec->u.tsc;
    }
    return 0;
}

/* The whole HVM and PV record sets through writer and reader. */
static void every_record_through_writer_and_reader(void **state)
{
    static const uint32_t hvm[] = {
        XMIG_LIBXC_X86_CPUID_POLICY, XMIG_LIBXC_X86_MSR_POLICY,
        XMIG_LIBXC_STATIC_DATA_END, XMIG_LIBXC_PAGE_DATA,
        XMIG_LIBXC_VERIFY, XMIG_LIBXC_PAGE_DATA, XMIG_LIBXC_X86_TSC_INFO,
        XMIG_LIBXC_HVM_PARAMS, XMIG_LIBXC_HVM_CONTEXT, XMIG_LIBXC_END,
    };
    static const uint32_t pv[] = {
        XMIG_LIBXC_X86_PV_INFO, XMIG_LIBXC_X86_CPUID_POLICY,
        XMIG_LIBXC_X86_MSR_POLICY, XMIG_LIBXC_STATIC_DATA_END,
        XMIG_LIBXC_X86_PV_P2M_FRAMES, XMIG_LIBXC_PAGE_DATA,
        XMIG_LIBXC_X86_TSC_INFO, XMIG_LIBXC_SHARED_INFO,
        XMIG_LIBXC_X86_PV_VCPU_BASIC, XMIG_LIBXC_X86_PV_VCPU_EXTENDED,
        XMIG_LIBXC_X86_PV_VCPU_XSAVE, XMIG_LIBXC_X86_PV_VCPU_MSRS,
        XMIG_LIBXC_END,
    };
    struct synth_opts o;
    struct collect c = { 0 };
    struct buf b;
    struct xmig_transport *t;
    struct xmig_reader *r;

    (void)state;
    synth_defaults(&o);
    o.format = XMIG_FORMAT_LIBXC;
    o.pages = 30;
    o.verify_pass = 1;
    b = make_stream(&o);
    t = xmig_transport_memory(b.data, b.len);
    r = xmig_reader_create(t, XMIG_FORMAT_LIBXC);
    assert_int_equal(xmig_reader_run(r, collect, &c), 0);
    assert_int_equal(c.n, sizeof(hvm) / sizeof(hvm[0]));
    assert_memory_equal(c.types, hvm, sizeof(hvm));
    assert_int_equal(c.ctx.descriptors, 3);
    assert_int_equal(c.tsc.khz, 2400000);
    xmig_reader_free(r);
    xmig_transport_free(t);
    buf_free(&b);

    memset(&c, 0, sizeof(c));
    o.guest_type = XMIG_DOMAIN_X86_PV;
    o.verify_pass = 0;
    b = make_stream(&o);
    t = xmig_transport_memory(b.data, b.len);
    r = xmig_reader_create(t, XMIG_FORMAT_AUTO);
    assert_int_equal(xmig_reader_run(r, collect, &c), 0);
    assert_int_equal(c.n, sizeof(pv) / sizeof(pv[0]));
    assert_memory_equal(c.types, pv, sizeof(pv));
    xmig_reader_free(r);
    xmig_transport_free(t);
    buf_free(&b);
}

/* Bodies come back octet for octet, padding and all. */
static void opaque_bodies_are_preserved(void **state)
{
    uint8_t blob[13];
    struct xmig_transport *t = xmig_transport_memory_sink();
    struct xmig_writer *w = xmig_writer_create(t);
    struct xmig_record rec;
    struct xmig_reader *r;
    struct xmig_transport *src;
    const void *data;
    size_t len;
    int seen = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(blob); i++) {
        blob[i] = (uint8_t)(0xC0 + i);
    }
    put_le32(blob, 2);   /* emulator id: qemu upstream */
    put_le32(blob + 4, 0);
    assert_int_equal(xmig_writer_libxl_begin(w), 0);
    assert_int_equal(xmig_writer_libxc_begin(w, XMIG_DOMAIN_X86_HVM, 4, 17),
                     0);
    assert_int_equal(xmig_writer_libxc_record(w, XMIG_LIBXC_STATIC_DATA_END,
                                              NULL, 0), 0);
    {
        uint8_t ctx[8 + 24 + 8] = { 1, 0, 0, 0, 24 };
        put_le32(ctx + 8, 0x54381286u);
        put_le32(ctx + 12, 1);
        assert_int_equal(xmig_writer_libxc_record(w, XMIG_LIBXC_HVM_CONTEXT,
                                                  ctx, sizeof(ctx)), 0);
    }
    assert_int_equal(xmig_writer_libxc_end(w), 0);
    assert_int_equal(xmig_writer_libxl_record(w, XMIG_LIBXL_EMULATOR_CONTEXT,
                                              blob, sizeof(blob)), 0);
    assert_int_equal(xmig_writer_libxl_end(w), 0);
    data = xmig_transport_sink_data(t, &len);
    assert_int_equal(len % 8, 0);
    assert_int_equal(xmig_writer_offset(w), len);

    src = xmig_transport_memory(data, len);
    r = xmig_reader_create(src, XMIG_FORMAT_AUTO);
    while (xmig_reader_next(r, &rec) == 1) {
        if (rec.layer == XMIG_LAYER_LIBXL &&
            rec.type == XMIG_LIBXL_EMULATOR_CONTEXT) {
            assert_int_equal(rec.length, sizeof(blob));
            assert_memory_equal(rec.body, blob, sizeof(blob));
            assert_int_equal(rec.u.emulator.data_len, 5);
            seen = 1;
        }
    }
    assert_true(seen);
    assert_int_equal(xmig_reader_expect_eof(r), 0);
    xmig_reader_free(r);
    xmig_transport_free(src);
    xmig_writer_free(w);
    xmig_transport_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(image_and_domain_headers),
        cmocka_unit_test(libxl_and_xl_headers),
        cmocka_unit_test(page_data),
        cmocka_unit_test(pv_records),
        cmocka_unit_test(tsc_params_policies),
        cmocka_unit_test(libxl_bodies),
        cmocka_unit_test(every_record_through_writer_and_reader),
        cmocka_unit_test(opaque_bodies_are_preserved),
    };
    return cmocka_run_group_tests_name("records", tests, NULL, NULL);
}
