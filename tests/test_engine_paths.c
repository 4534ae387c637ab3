/*
 * Three engine paths a backend opens, proved on a sim guest whose ops table
 * the test wraps: a map that returns NULL for some pfns (holes) makes the
 * sender write XTAB entries without data and count them, and the receiver
 * populate nothing there; a domain_config op puts its JSON into the xl
 * header byte for byte, and its failure fails the save with its error; a
 * receive factory is called once with that JSON and max_memkb, the stream
 * goes into the guest it returns, and its refusal (NULL) fails the restore
 * with its error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends/sim/sim.h"
#include "common/error.h"
#include "libxmig/backend.h"
#include "xmig.h"

#define PAGE 4096u
#define NR_PFNS 1024u           /* a 4 MiB guest */
#define GUEST_KB (NR_PFNS * 4u)
#define MAX_BATCH 4096u

/* What a libxl toolstack keeps for a domain (trimmed), max_memkb 4096. */
static const char config_json[] =
    "{\n"
    "    \"c_info\": {\n"
    "        \"type\": \"hvm\",\n"
    "        \"name\": \"web01\",\n"
    "        \"uuid\": \"5f0c6a8e-3b1d-4c2a-9e57-1d2f3a4b5c6d\",\n"
    "        \"run_hotplug_scripts\": \"True\"\n"
    "    },\n"
    "    \"b_info\": {\n"
    "        \"max_vcpus\": 1,\n"
    "        \"avail_vcpus\": [0],\n"
    "        \"max_memkb\": 4096,\n"
    "        \"target_memkb\": 4096,\n"
    "        \"shadow_memkb\": 1024,\n"
    "        \"sched_params\": {},\n"
    "        \"type.hvm\": {\"firmware\": \"seabios\", \"acpi\": \"True\"}\n"
    "    },\n"
    "    \"disks\": [{\"pdev_path\": \"/dev/vg0/web01\", \"vdev\": \"xvda\", "
    "\"format\": \"raw\", \"readwrite\": 1}],\n"
    "    \"nics\": [{\"devid\": 0, \"mac\": \"00:16:3e:12:34:56\", "
    "\"bridge\": \"xenbr0\"}],\n"
    "    \"on_reboot\": \"restart\",\n"
    "    \"on_crash\": \"destroy\"\n"
    "}";

/* ---- the wrapped source ---------------------------------------------- */

static const struct backend_ops *src_orig;
static struct backend_ops src_ops;
static const void *saved[MAX_BATCH];   /* what map returned for the holes */
static unsigned maps, unmaps;
static int config_fails;

/* pfns 100..163 and a few scattered ones, none of them pfn 0 (the sim
 * guest's kernel page, which the destination checks). */
static int is_hole(uint64_t pfn)
{
    return (pfn >= 100 && pfn < 164) || pfn == 5 || pfn == 300 ||
           pfn == 777 || pfn == NR_PFNS - 1;
}

static unsigned nr_holes(void)
{
    unsigned n = 0;

    for (uint64_t pfn = 0; pfn < NR_PFNS; pfn++) {
        n += is_hole(pfn);
    }
    return n;
}

static int hole_map(struct xmig_guest *g, const uint64_t *pfns, uint32_t n,
                    const void **pages)
{
    assert_true(n <= MAX_BATCH);
    if (src_orig->map(g, pfns, n, pages) < 0) {
        return -1;
    }
    maps++;
    for (uint32_t i = 0; i < n; i++) {
        saved[i] = pages[i];
        if (is_hole(pfns[i])) {
            pages[i] = NULL;
        }
    }
    return 0;
}

/* The original unmap gets back what the original map handed out. */
static void hole_unmap(struct xmig_guest *g, const void **pages, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (!pages[i]) {
            pages[i] = saved[i];
        }
    }
    unmaps++;
    src_orig->unmap(g, pages, n);
}

static int test_domain_config(struct xmig_guest *g, const char **json)
{
    (void)g;
    if (config_fails) {
        return err_set(XMIG_ERR_IO, 0, "libxl: no config for domain 7 "
                       "(injected)");
    }
    *json = config_json;
    return 0;
}

/* A running sim guest whose every page holds data (fill 100 %), so no
 * pfn is known-zero and each one reaches map. */
static struct xmig_guest *source_create(int wrap)
{
    struct xmig_sim_config c = { 0 };
    struct xmig_guest *g;

    c.memory_bytes = (uint64_t)NR_PFNS * PAGE;
    c.vcpus = 1;
    c.workload = XMIG_SIM_IDLE;
    c.domid = 7;
    c.seed = 42;
    c.fill_percent = 100;
    g = xmig_sim_guest_create(&c);
    assert_non_null(g);
    if (wrap) {
        src_orig = g->ops;
        src_ops = *g->ops;
        src_ops.map = hole_map;
        src_ops.unmap = hole_unmap;
        src_ops.domain_config = test_domain_config;
        g->ops = &src_ops;
    }
    maps = unmaps = 0;
    config_fails = 0;
    return g;
}

/* Save without a DIGEST: the sim digest covers the hole pages' data,
 * which by design never reaches the destination. */
static uint8_t *save(struct xmig_guest *g, size_t *len,
                     struct xmig_migrate_stats *st)
{
    struct xmig_migrate_params p;
    struct xmig_transport *t = xmig_transport_memory_sink();
    const void *data;
    uint8_t *copy;

    assert_non_null(t);
    xmig_migrate_params_init(&p);
    p.digest = 0;
    assert_int_equal(xmig_guest_save(g, t, &p, st), 0);
    data = xmig_transport_sink_data(t, len);
    copy = malloc(*len);
    assert_non_null(copy);
    memcpy(copy, data, *len);
    xmig_transport_free(t);
    return copy;
}

/* ---- what the stream says ------------------------------------------- */

#define UNSEEN 0xFFu

struct parsed {
    uint8_t type[NR_PFNS];      /* pfn type of each pfn's entry, or UNSEEN */
    unsigned entries, data_pages, xtab, xalloc;
    char *config;               /* the xl header's, as it came */
    uint32_t config_len;
};

static int on_item(void *user, const struct xmig_record *rec)
{
    struct parsed *ps = user;

    if (rec->kind == XMIG_ITEM_XL_HEADER) {
        assert_non_null(rec->u.xl.config);
        ps->config_len = rec->u.xl.config_len;
        ps->config = malloc(ps->config_len);
        assert_non_null(ps->config);
        memcpy(ps->config, rec->u.xl.config, ps->config_len);
        return 0;
    }
    if (rec->kind != XMIG_ITEM_RECORD || rec->layer != XMIG_LAYER_LIBXC ||
        rec->type != XMIG_LIBXC_PAGE_DATA) {
        return 0;
    }
    ps->data_pages += rec->u.page_data.data_pages;
    for (uint32_t i = 0; i < rec->u.page_data.count; i++) {
        uint64_t w = xmig_page_data_pfn_word(&rec->u.page_data, i);
        uint64_t pfn = w & XMIG_PFN_MASK;
        unsigned type = (unsigned)(w >> XMIG_PFN_TYPE_SHIFT);

        assert_true(pfn < NR_PFNS);
        assert_int_equal(ps->type[pfn], UNSEEN);   /* a save: once each */
        ps->type[pfn] = (uint8_t)type;
        ps->entries++;
        ps->xtab += type == XMIG_PFN_TYPE_XTAB;
        ps->xalloc += type == XMIG_PFN_TYPE_XALLOC;
    }
    return 0;
}

static void parse(const uint8_t *buf, size_t len, struct parsed *ps)
{
    struct xmig_transport *t = xmig_transport_memory(buf, len);
    struct xmig_reader *r;

    memset(ps, 0, sizeof(*ps));
    memset(ps->type, UNSEEN, sizeof(ps->type));
    assert_non_null(t);
    r = xmig_reader_create(t, XMIG_FORMAT_AUTO);
    assert_non_null(r);
    assert_int_equal(xmig_reader_run(r, on_item, ps), 0);
    xmig_reader_free(r);
    xmig_transport_free(t);
}

/* The unwrapped guest is the control: no holes, the engine's own config.
 * So the checks below see what the wrapper did, not what a save does. */
static void control_has_no_holes(void **state)
{
    struct xmig_guest *g = source_create(0);
    struct xmig_migrate_stats st;
    struct parsed ps;
    size_t len;
    uint8_t *buf = save(g, &len, &st);

    parse(buf, len, &ps);
    assert_int_equal(ps.xtab, 0);
    assert_int_equal(st.holes, 0);
    assert_int_equal(ps.entries, NR_PFNS);
    assert_true(ps.config_len != sizeof(config_json) ||
                memcmp(ps.config, config_json, sizeof(config_json)) != 0);
    free(ps.config);
    free(buf);
    xmig_guest_destroy(g);
    (void)state;
}

static void holes_go_as_xtab(void **state)
{
    struct xmig_guest *g = source_create(1);
    struct xmig_migrate_stats st;
    struct parsed ps;
    size_t len;
    uint8_t *buf = save(g, &len, &st);
    unsigned holes = nr_holes();

    parse(buf, len, &ps);
    assert_int_equal(holes, 68);
    assert_true(maps > 0);
    assert_int_equal(maps, unmaps);
    assert_int_equal(ps.entries, NR_PFNS);
    for (uint64_t pfn = 0; pfn < NR_PFNS; pfn++) {
        if (is_hole(pfn)) {
            assert_int_equal(ps.type[pfn], XMIG_PFN_TYPE_XTAB);
        } else {
            assert_true(ps.type[pfn] == XMIG_PFN_TYPE_NOTAB ||
                        ps.type[pfn] == XMIG_PFN_TYPE_XALLOC);
        }
    }
    /* XTAB carries no data: every data page is a NOTAB entry's. */
    assert_int_equal(ps.xtab, holes);
    assert_int_equal(ps.data_pages, NR_PFNS - holes - ps.xalloc);
    assert_int_equal(st.holes, holes);
    assert_int_equal(st.nrounds, 1);
    assert_int_equal(st.rounds[0].holes, holes);
    assert_int_equal(st.pages_sent, ps.data_pages);
    assert_int_equal(st.pages_sent + st.zero_pages + st.holes, NR_PFNS);

    /* The xl header's config is the backend's, byte for byte (the NUL
     * too, as xl writes it). */
    assert_int_equal(ps.config_len, sizeof(config_json));
    assert_memory_equal(ps.config, config_json, sizeof(config_json));
    free(ps.config);
    free(buf);
    xmig_guest_destroy(g);
    (void)state;
}

static void domain_config_failure_fails_save(void **state)
{
    struct xmig_guest *g = source_create(1);
    struct xmig_transport *t = xmig_transport_memory_sink();
    struct xmig_migrate_params p;
    struct xmig_migrate_stats st;

    config_fails = 1;
    xmig_migrate_params_init(&p);
    assert_int_equal(xmig_guest_save(g, t, &p, &st), -1);
    assert_non_null(strstr(xmig_error_message(),
                           "libxl: no config for domain 7 (injected)"));
    assert_int_equal(xmig_error_category(), XMIG_ERR_IO);
    assert_int_equal(maps, 0);
    xmig_transport_free(t);
    xmig_guest_destroy(g);
    (void)state;
}

/* ---- the destination, made by the factory ----------------------------- */

static const struct backend_ops *dst_orig;
static struct backend_ops dst_ops;
static const uint8_t *src_ram;          /* the paused source's RAM */
static uint8_t populated[NR_PFNS];
static unsigned factory_calls, holes_nonzero, data_differs, commits;
static char *factory_json;
static uint64_t factory_kb;
static int factory_refuses;

static int record_populate(struct xmig_guest *g, const uint64_t *pfns,
                           uint32_t n, void **pages)
{
    for (uint32_t i = 0; i < n; i++) {
        if (pfns[i] < NR_PFNS) {
            populated[pfns[i]] = 1;
        }
    }
    return dst_orig->populate(g, pfns, n, pages);
}

/* The destination's RAM before its vCPUs start (they write to it). */
static int check_commit(struct xmig_guest *g)
{
    const uint8_t *ram = ((struct sim_guest *)g)->ram;
    static const uint8_t zero[PAGE];

    commits++;
    for (uint64_t pfn = 0; pfn < NR_PFNS; pfn++) {
        const uint8_t *mine = ram + pfn * PAGE;
        if (is_hole(pfn)) {
            holes_nonzero += memcmp(mine, zero, PAGE) != 0;
        } else {
            data_differs += memcmp(mine, src_ram + pfn * PAGE, PAGE) != 0;
        }
    }
    return dst_orig->commit(g);
}

static struct xmig_guest *factory(void *user, const char *json,
                                  uint64_t max_memkb)
{
    struct xmig_guest *g;

    assert_ptr_equal(user, &factory_calls);
    factory_calls++;
    free(factory_json);
    factory_json = strdup(json);
    factory_kb = max_memkb;
    if (factory_refuses) {
        err_set(XMIG_ERR_UNSUPPORTED, 0, "toolstack: bridge xenbr0 missing "
                "(injected)");
        return NULL;
    }
    g = sim_guest_incoming(max_memkb / 4, 1);
    if (g) {
        dst_orig = g->ops;
        dst_ops = *g->ops;
        dst_ops.populate = record_populate;
        dst_ops.commit = check_commit;
        g->ops = &dst_ops;
    }
    return g;
}

static struct xmig_guest *restore(const uint8_t *buf, size_t len,
                                  struct xmig_migrate_stats *st)
{
    struct xmig_transport *t = xmig_transport_memory(buf, len);
    struct xmig_receive_params p = { 0 };
    struct xmig_guest *g;

    assert_non_null(t);
    memset(populated, 0, sizeof(populated));
    factory_calls = holes_nonzero = data_differs = commits = 0;
    free(factory_json);
    factory_json = NULL;
    factory_kb = 0;
    p.factory = factory;
    p.factory_data = &factory_calls;
    g = xmig_guest_restore(t, &p, st);
    xmig_transport_free(t);
    return g;
}

static void restore_through_factory(void **state)
{
    struct xmig_guest *src = source_create(1);
    struct xmig_migrate_stats st, rst;
    struct xmig_guest *dst;
    const uint8_t zero[PAGE] = { 0 };
    size_t len;
    uint8_t *buf = save(src, &len, &st);

    /* The source has data at the holes, so a destination that got it
     * would not be zero there. */
    src_ram = ((struct sim_guest *)src)->ram;
    for (uint64_t pfn = 0; pfn < NR_PFNS; pfn++) {
        if (is_hole(pfn)) {
            assert_true(memcmp(src_ram + pfn * PAGE, zero, PAGE) != 0);
        }
    }

    factory_refuses = 0;
    dst = restore(buf, len, &rst);
    assert_non_null(dst);
    assert_int_equal(factory_calls, 1);
    assert_non_null(factory_json);
    assert_string_equal(factory_json, config_json);
    assert_int_equal(factory_kb, GUEST_KB);
    assert_ptr_equal(dst->ops, &dst_ops);    /* the factory's guest */
    assert_string_equal(rst.guest_name, "web01");

    assert_int_equal(commits, 1);
    assert_int_equal(holes_nonzero, 0);
    assert_int_equal(data_differs, 0);
    for (uint64_t pfn = 0; pfn < NR_PFNS; pfn++) {
        assert_int_equal(populated[pfn], !is_hole(pfn));
    }
    xmig_guest_destroy(dst);
    free(factory_json);
    factory_json = NULL;
    free(buf);
    xmig_guest_destroy(src);
    (void)state;
}

static void factory_refusal_fails_restore(void **state)
{
    struct xmig_guest *src = source_create(1);
    struct xmig_migrate_stats st, rst;
    size_t len;
    uint8_t *buf = save(src, &len, &st);

    factory_refuses = 1;
    assert_null(restore(buf, len, &rst));
    factory_refuses = 0;
    assert_int_equal(factory_calls, 1);
    assert_int_equal(commits, 0);
    assert_non_null(strstr(xmig_error_message(),
                           "toolstack: bridge xenbr0 missing (injected)"));
    assert_int_equal(xmig_error_category(), XMIG_ERR_UNSUPPORTED);
    free(factory_json);
    factory_json = NULL;
    free(buf);
    xmig_guest_destroy(src);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(control_has_no_holes),
        cmocka_unit_test(holes_go_as_xtab),
        cmocka_unit_test(domain_config_failure_fails_save),
        cmocka_unit_test(restore_through_factory),
        cmocka_unit_test(factory_refusal_fails_restore),
    };

    return cmocka_run_group_tests_name("engine paths", tests, NULL, NULL);
}
