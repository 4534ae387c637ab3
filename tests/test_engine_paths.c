/*
 * Three engine paths a backend opens, proved on a sim guest whose ops table
 * the test wraps: a map that returns NULL for some pfns (holes) makes the
 * sender write XTAB entries without data and count them, and the receiver
 * populate nothing there; a domain_config op puts its JSON into the xl
 * header byte for byte, and its failure fails the save with its error; a
 * receive factory is called once with that JSON and max_memkb, the stream
 * goes into the guest it returns, its unpopulate op gets exactly the
 * holes, and its refusal (NULL) fails the restore with its error.  And the handover op, in live migrations between two
 * threads of this process: called once, between the stream's end and
 * "go", on success; its refusal or the destination's failed start leaves
 * the guest running at the source, undone (abort = 1) only when it was
 * done; a save never calls it.  And the records no backend can load: a
 * stream carrying a device model's state (EMULATOR_CONTEXT,
 * EMULATOR_XENSTORE_DATA) fails the restore, naming the record, and the
 * guest the factory built for it is discarded.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <cmocka.h>

#include "backends/sim/sim.h"
#include "common/error.h"
#include "libxmig/backend.h"
#include "tests/support.h"
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

/* The handover op: each call's abort flag in order, and what the
 * migration had done by the first one (abort = 0). */
#define MAX_HANDOVERS 4
static struct xmig_transport *sender_t;    /* the live migration's */
static unsigned handovers;
static int handover_abort[MAX_HANDOVERS], handover_paused[MAX_HANDOVERS];
static int handover_refuses;
static uint64_t bytes_at_handover;
static unsigned maps_at_handover;
static int dst_checked;                     /* set by the receiver thread */
static int dst_checked_at_handover;

static int sim_paused(struct xmig_guest *g)
{
    struct sim_guest *s = (struct sim_guest *)g;
    int paused;

    pthread_mutex_lock(&s->lock);
    paused = s->paused;
    pthread_mutex_unlock(&s->lock);
    return paused;
}

static int record_handover(struct xmig_guest *g, int abort)
{
    if (handovers < MAX_HANDOVERS) {
        handover_abort[handovers] = abort;
        handover_paused[handovers] = sim_paused(g);
    }
    handovers++;
    if (abort) {
        /* Like xen's: an undo that fails only logs, but leaves its error
         * set; the migration must still report the failure that caused
         * the undo, not this. */
        err_set(XMIG_ERR_IO, 0, "renaming the domain back failed "
                "(injected)");
        return 0;
    }
    bytes_at_handover = sender_t ? xmig_transport_bytes_out(sender_t) : 0;
    maps_at_handover = maps;
    dst_checked_at_handover = __atomic_load_n(&dst_checked, __ATOMIC_ACQUIRE);
    if (handover_refuses) {
        return err_set(XMIG_ERR_IO, 0, "xenstore: cannot give up the name "
                       "of domain 7 (injected)");
    }
    return 0;
}

static void handover_reset(void)
{
    handovers = 0;
    memset(handover_abort, 0xff, sizeof(handover_abort));
    memset(handover_paused, 0xff, sizeof(handover_paused));
    handover_refuses = 0;
    bytes_at_handover = 0;
    maps_at_handover = 0;
    __atomic_store_n(&dst_checked, 0, __ATOMIC_RELEASE);
    dst_checked_at_handover = 0;
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
        src_ops.handover = record_handover;
        g->ops = &src_ops;
    }
    maps = unmaps = 0;
    config_fails = 0;
    handover_reset();
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
    /* A save has no destination to hand over to, though the op is there. */
    assert_ptr_equal(src_ops.handover, record_handover);
    assert_int_equal(handovers, 0);

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
static int dst_keeps_data;              /* populate() leaves junk behind */
static uint8_t unpopulated[NR_PFNS];    /* pfns given to unpopulate() */
static unsigned unpopulate_bad;         /* out of range, or twice */

static int record_unpopulate(struct xmig_guest *g, const uint64_t *pfns,
                             uint32_t n)
{
    (void)g;
    for (uint32_t i = 0; i < n; i++) {
        if (pfns[i] >= NR_PFNS || unpopulated[pfns[i]]) {
            unpopulate_bad++;
            continue;
        }
        unpopulated[pfns[i]] = 1;
    }
    return 0;
}
static unsigned junk_pages;

static int record_populate(struct xmig_guest *g, const uint64_t *pfns,
                           uint32_t n, void **pages)
{
    uint8_t first[1024];

    for (uint32_t i = 0; i < n; i++) {
        first[i] = pfns[i] < NR_PFNS && !populated[pfns[i]];
        if (pfns[i] < NR_PFNS) {
            populated[pfns[i]] = 1;
        }
    }
    if (dst_orig->populate(g, pfns, n, pages) < 0) {
        return -1;
    }
    /* Like a domain a toolstack built as for a boot: what populate()
     * hands back the first time holds the builder's leftovers. */
    for (uint32_t i = 0; dst_keeps_data && i < n; i++) {
        if (first[i]) {
            memset(pages[i], 0xA5, PAGE);
            junk_pages++;
        }
    }
    return 0;
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
        dst_ops.populate_keeps_data = dst_keeps_data;
        dst_ops.commit = check_commit;
        dst_ops.unpopulate = record_unpopulate;
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
    memset(unpopulated, 0, sizeof(unpopulated));
    unpopulate_bad = 0;
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
    /* Every hole, and only the holes, goes to unpopulate (once): the
     * destination gives back what its builder put there. */
    for (uint64_t pfn = 0; pfn < NR_PFNS; pfn++) {
        assert_int_equal(populated[pfn], !is_hole(pfn));
        assert_int_equal(unpopulated[pfn], is_hole(pfn));
    }
    assert_int_equal(unpopulate_bad, 0);
    xmig_guest_destroy(dst);
    free(factory_json);
    factory_json = NULL;
    free(buf);
    xmig_guest_destroy(src);
    (void)state;
}

/* A destination whose pages hold old data when populated (xen: a domain
 * built as for a boot) says so, and the pages the source sent as
 * allocate-only (all zero there) arrive as zeros, not as leftovers. */
static void allocate_only_pages_cleared(void **state)
{
    struct xmig_guest *src = source_create(1);
    struct xmig_migrate_stats st, rst;
    struct xmig_guest *dst;
    uint8_t *ram = ((struct sim_guest *)src)->ram;
    size_t len;
    uint8_t *buf;

    /* Zero pages at the source (not holes): they go as XALLOC. */
    for (uint64_t pfn = 200; pfn < 264; pfn++) {
        assert_false(is_hole(pfn));
        memset(ram + pfn * PAGE, 0, PAGE);
    }
    buf = save(src, &len, &st);
    assert_true(st.zero_pages >= 1);
    src_ram = ram;
    dst_keeps_data = 1;
    junk_pages = 0;
    dst = restore(buf, len, &rst);
    dst_keeps_data = 0;
    assert_non_null(dst);
    assert_int_equal(commits, 1);
    assert_true(junk_pages >= st.zero_pages);   /* every page had junk */
    assert_int_equal(data_differs, 0);          /* zero pages came out zero */
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

/* ---- records no backend can load -------------------------------------- */

static const struct backend_ops *emu_orig;
static struct backend_ops emu_ops;
static unsigned emu_built, emu_discards, emu_commits;

static void emu_discard(struct xmig_guest *g)
{
    emu_discards++;
    emu_orig->discard(g);
}

static int emu_commit(struct xmig_guest *g)
{
    emu_commits++;
    return emu_orig->commit(g);
}

static struct xmig_guest *emu_factory(void *user, const char *json,
                                      uint64_t max_memkb)
{
    struct xmig_guest *g = sim_guest_incoming(max_memkb / 4, 1);

    (void)user;
    (void)json;
    if (g) {
        emu_built++;
        emu_orig = g->ops;
        emu_ops = *g->ops;
        emu_ops.discard = emu_discard;
        emu_ops.commit = emu_commit;
        g->ops = &emu_ops;
    }
    return g;
}

/* xl's stream of an HVM guest with qemu carries qemu's xenstore keys and
 * device state after the libxc END: the guest is built by then, and goes
 * again.  The last row, without either record, fails for another reason
 * (synthetic memory holds no sim kernel): the refusal is the records'. */
static void emulator_records_fail_restore(void **state)
{
    static const struct {
        int xenstore, no_context;
        const char *want;
    } rows[] = {
        { 0, 0, "(EMULATOR_CONTEXT, emulator 2): HVM guests with a qemu "
                "device model are not supported yet; use xl" },
        { 1, 1, "(EMULATOR_XENSTORE_DATA, emulator 2)" },
        { 1, 0, "(EMULATOR_XENSTORE_DATA, emulator 2)" },
        { 0, 1, NULL },
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct xmig_receive_params p = { 0 };
        struct xmig_migrate_stats st;
        struct xmig_transport *t;
        struct synth_opts o;
        struct buf b;

        synth_defaults(&o);
        o.emulator_xenstore = rows[i].xenstore;
        o.no_emulator_context = rows[i].no_context;
        b = make_stream(&o);
        t = xmig_transport_memory(b.data, b.len);
        assert_non_null(t);
        emu_built = emu_discards = emu_commits = 0;
        p.factory = emu_factory;
        assert_null(xmig_guest_restore(t, &p, &st));
        printf("    row %zu: %s\n", i, xmig_error_message());
        assert_int_equal(emu_built, 1);
        assert_int_equal(emu_discards, 1);
        assert_int_equal(emu_commits, 0);
        if (rows[i].want) {
            assert_non_null(strstr(xmig_error_message(), rows[i].want));
            assert_int_equal(xmig_error_category(), XMIG_ERR_UNSUPPORTED);
        } else {
            assert_null(strstr(xmig_error_message(), "EMULATOR"));
        }
        xmig_transport_free(t);
        buf_free(&b);
    }
    (void)state;
}

/* ---- a device model's state goes after the libxc END ------------------ */

/* get_state that adds the two EMULATOR bodies, as the xen backend does
 * for an HVM guest with qemu-xen (emulator 2, index 0). */
static int state_with_emulator(struct xmig_guest *g, int transparent,
                               struct guest_state *st)
{
    static const uint8_t xs[] = { 2, 0, 0, 0, 0, 0, 0, 0,
                                  'p', 'h', 'y', 's', 'm', 'a', 'p', '/', '0',
                                  '/', 'n', 'a', 'm', 'e', 0, 'v', 'g', 'a',
                                  0 };
    static const uint8_t ctx[] = { 2, 0, 0, 0, 0, 0, 0, 0, 'Q', 'E', 'V',
                                   'M', 0, 0, 0, 3 };

    if (src_orig->get_state(g, transparent, st) < 0) {
        return -1;
    }
    st->emulator_xenstore = malloc(sizeof(xs));
    st->emulator_context = malloc(sizeof(ctx));
    assert_non_null(st->emulator_xenstore);
    assert_non_null(st->emulator_context);
    memcpy(st->emulator_xenstore, xs, sizeof(xs));
    memcpy(st->emulator_context, ctx, sizeof(ctx));
    st->emulator_xenstore_len = sizeof(xs);
    st->emulator_context_len = sizeof(ctx);
    return 0;
}

static void put_with_emulator(struct xmig_guest *g, struct guest_state *st)
{
    uint8_t *a = st->emulator_xenstore, *b = st->emulator_context;

    st->emulator_xenstore = st->emulator_context = NULL;
    src_orig->put_state(g, st);
    free(a);
    free(b);
}

struct order {
    char seen[16][40];
    unsigned n;
    uint32_t ctx_id, ctx_len;
};

static int on_record(void *user, const struct xmig_record *rec)
{
    struct order *o = user;

    if (rec->kind != XMIG_ITEM_RECORD || o->n >= 16) {
        return 0;
    }
    if (rec->layer == XMIG_LAYER_LIBXC && rec->type != XMIG_LIBXC_END) {
        return 0;
    }
    snprintf(o->seen[o->n++], sizeof(o->seen[0]), "%s %s",
             rec->layer == XMIG_LAYER_LIBXC ? "libxc" : "libxl",
             xmig_record_name(rec->layer, rec->type));
    if (rec->layer == XMIG_LAYER_LIBXL &&
        rec->type == XMIG_LIBXL_EMULATOR_CONTEXT) {
        o->ctx_id = rec->u.emulator.emulator_id;
        o->ctx_len = rec->u.emulator.data_len;
    }
    return 0;
}

/* libxl's order: libxc END, EMULATOR_XENSTORE_DATA, EMULATOR_CONTEXT,
 * libxl END; the bodies as the backend gave them. */
static void emulator_records_after_libxc_end(void **state)
{
    struct xmig_guest *g = source_create(1);
    struct xmig_migrate_stats st;
    struct order o;
    struct xmig_transport *t;
    struct xmig_reader *r;
    size_t len;
    uint8_t *buf;

    src_ops.get_state = state_with_emulator;
    src_ops.put_state = put_with_emulator;
    buf = save(g, &len, &st);
    memset(&o, 0, sizeof(o));
    t = xmig_transport_memory(buf, len);
    r = xmig_reader_create(t, XMIG_FORMAT_AUTO);
    assert_non_null(r);
    assert_int_equal(xmig_reader_run(r, on_record, &o), 0);
    assert_int_equal(o.n, 5);
    assert_string_equal(o.seen[0], "libxl LIBXC_CONTEXT");
    assert_string_equal(o.seen[1], "libxc END");
    assert_string_equal(o.seen[2], "libxl EMULATOR_XENSTORE_DATA");
    assert_string_equal(o.seen[3], "libxl EMULATOR_CONTEXT");
    assert_string_equal(o.seen[4], "libxl END");
    assert_int_equal(o.ctx_id, 2);
    assert_int_equal(o.ctx_len, 8);
    src_ops.get_state = src_orig->get_state;
    src_ops.put_state = src_orig->put_state;
    xmig_reader_free(r);
    xmig_transport_free(t);
    free(buf);
    xmig_guest_destroy(g);
    (void)state;
}

/* ---- live migration: the handover ------------------------------------ */

static unsigned dst_commits, dst_discards;
static int commit_fails;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The heartbeat (vCPU 0 bumps it in page 0) moves on within limit_s: the
 * guest runs.  Read from RAM, as xmig_sim_heartbeat says 0 for a guest
 * whose ops table is not the sim's own. */
static int heartbeat_moves(struct xmig_guest *g, double limit_s)
{
    const struct sim_boot *b = (const void *)((struct sim_guest *)g)->ram;
    uint64_t h0 = __atomic_load_n(&b->heartbeat, __ATOMIC_RELAXED);
    double end = now_s() + limit_s;

    while (now_s() < end) {
        struct timespec ms = { 0, 1000000L };
        if (__atomic_load_n(&b->heartbeat, __ATOMIC_RELAXED) != h0) {
            return 1;
        }
        nanosleep(&ms, NULL);
    }
    return 0;
}

static int count_map(struct xmig_guest *g, const uint64_t *pfns, uint32_t n,
                     const void **pages)
{
    maps++;
    return src_orig->map(g, pfns, n, pages);
}

/* The unwrapped source with map counted (no holes: the DIGEST check stays
 * on) and the handover recorded. */
static struct xmig_guest *live_source_create(void)
{
    struct xmig_guest *g = source_create(0);

    src_orig = g->ops;
    src_ops = *g->ops;
    src_ops.map = count_map;
    src_ops.handover = record_handover;
    g->ops = &src_ops;
    assert_true(heartbeat_moves(g, 5));
    return g;
}

/* The destination ran check_guest (the whole stream read, the state in). */
static int mark_checked(struct xmig_guest *g, const struct guest_state *st)
{
    int rc = dst_orig->set_state(g, st);

    __atomic_store_n(&dst_checked, rc == 0, __ATOMIC_RELEASE);
    return rc;
}

static int start_or_fail(struct xmig_guest *g)
{
    dst_commits++;
    if (commit_fails) {
        return err_set(XMIG_ERR_IO, 0, "libxl: device model for domain 9 "
                       "did not start (injected)");
    }
    return dst_orig->commit(g);
}

static void count_discard(struct xmig_guest *g)
{
    dst_discards++;
    dst_orig->discard(g);
}

/* Runs in the receiver's thread: records, asserts nothing. */
static struct xmig_guest *live_factory(void *user, const char *json,
                                       uint64_t max_memkb)
{
    struct xmig_guest *g = sim_guest_incoming(max_memkb / 4, 9);

    (void)user;
    (void)json;
    if (g) {
        dst_orig = g->ops;
        dst_ops = *g->ops;
        dst_ops.set_state = mark_checked;
        dst_ops.commit = start_or_fail;
        dst_ops.discard = count_discard;
        g->ops = &dst_ops;
    }
    return g;
}

struct live {
    int fd;
    pthread_t thread;
    struct xmig_guest *dst;     /* what xmig_migrate_receive returned */
    struct xmig_migrate_stats rst;
    char rx_err[512];
    int rc;                     /* xmig_migrate_send's */
    char err[512];
    enum xmig_error_category cat;
    struct xmig_migrate_stats st;
    uint64_t bytes_out;         /* the sender's, at its end */
};

static void *receiver(void *arg)
{
    struct live *l = arg;
    struct xmig_transport *t = xmig_transport_fd(l->fd, 1);
    struct xmig_receive_params p = { 0 };

    p.factory = live_factory;
    if (t) {
        l->dst = xmig_migrate_receive(t, &p, &l->rst);
    }
    snprintf(l->rx_err, sizeof(l->rx_err), "%s",
             l->dst ? "" : xmig_error_message());
    xmig_transport_free(t);
    return NULL;
}

/* src to a receiver thread over a socketpair; the sender's transport is
 * closed before the join, so a receiver waiting for "go" sees the end. */
static void live_migrate(struct xmig_guest *src, struct live *l)
{
    struct xmig_migrate_params p;
    struct xmig_transport *t;
    int sv[2];

    memset(l, 0, sizeof(*l));
    dst_commits = dst_discards = 0;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                     0);
    l->fd = sv[1];
    assert_int_equal(pthread_create(&l->thread, NULL, receiver, l), 0);
    t = xmig_transport_fd(sv[0], 1);
    assert_non_null(t);
    xmig_migrate_params_init(&p);
    sender_t = t;
    l->rc = xmig_migrate_send(src, t, &p, &l->st);
    snprintf(l->err, sizeof(l->err), "%s", l->rc ? xmig_error_message() : "");
    l->cat = xmig_error_category();
    l->bytes_out = xmig_transport_bytes_out(t);
    sender_t = NULL;
    xmig_transport_free(t);
    assert_int_equal(pthread_join(l->thread, NULL), 0);
}

/* The guest runs on at the source, as before the migration. */
static void check_runs_at_source(struct xmig_guest *src)
{
    assert_int_equal(sim_paused(src), 0);
    assert_int_equal(((struct sim_guest *)src)->tracking, 0);
    assert_true(heartbeat_moves(src, 5));
    assert_true(heartbeat_moves(src, 5));   /* and again: it runs */
}

/* Success: handover(g, 0) once, with the guest paused, after the whole
 * stream (every PAGE_DATA, the state, both ENDs: all its octets out, no
 * map after it) and after the destination read and checked it, and
 * before "go" (the only octets after it); handover(g, 1) never. */
static void handover_once_after_stream(void **state)
{
    struct xmig_guest *src = live_source_create();
    struct live l;

    live_migrate(src, &l);
    assert_int_equal(l.rc, 0);
    assert_non_null(l.dst);
    assert_int_equal(dst_commits, 1);
    assert_int_equal(dst_discards, 0);
    assert_true(l.st.verified);

    assert_int_equal(handovers, 1);
    assert_int_equal(handover_abort[0], 0);
    assert_int_equal(handover_paused[0], 1);
    assert_true(maps > 0);
    assert_int_equal(maps_at_handover, maps);
    assert_true(l.st.bytes > 0);
    assert_int_equal(bytes_at_handover, l.st.bytes);
    assert_int_equal(l.bytes_out - bytes_at_handover,
                     sizeof("domain is yours, you are cleared to unpause"));
    assert_int_equal(dst_checked_at_handover, 1);

    /* the guest left here, paused; it runs there */
    assert_int_equal(sim_paused(src), 1);
    assert_true(heartbeat_moves(l.dst, 5));
    xmig_guest_destroy(l.dst);
    xmig_guest_destroy(src);
    assert_int_equal(handovers, 1);
    (void)state;
}

/* handover(g, 0) refuses: the migration fails with its error, no "go"
 * goes out, the guest runs on here, nothing is undone that was not done
 * (no handover(g, 1)), and the destination throws its copy away. */
static void handover_refusal_keeps_guest_here(void **state)
{
    struct xmig_guest *src = live_source_create();
    struct live l;

    handover_refuses = 1;
    live_migrate(src, &l);
    assert_int_equal(l.rc, -1);
    assert_non_null(strstr(l.err, "migration failed, the guest runs on at "
                                  "the source"));
    assert_non_null(strstr(l.err, "xenstore: cannot give up the name of "
                                  "domain 7 (injected)"));
    assert_int_equal(l.cat, XMIG_ERR_IO);

    assert_int_equal(handovers, 1);
    assert_int_equal(handover_abort[0], 0);
    assert_int_equal(bytes_at_handover, l.st.bytes);
    assert_int_equal(l.bytes_out, bytes_at_handover);   /* no "go" */
    check_runs_at_source(src);

    assert_null(l.dst);
    assert_int_equal(dst_commits, 0);
    assert_int_equal(dst_discards, 1);
    assert_non_null(strstr(l.rx_err, "waiting for permission to start the "
                                     "guest"));
    xmig_guest_destroy(src);
    assert_int_equal(handovers, 1);
    (void)state;
}

/* The destination cannot start the guest (its commit fails, status 1):
 * the handover is undone, once, after it was done and before the guest
 * resumes here; the migration fails saying so. */
static void failed_start_undoes_handover(void **state)
{
    struct xmig_guest *src = live_source_create();
    struct live l;

    commit_fails = 1;
    live_migrate(src, &l);
    commit_fails = 0;
    assert_int_equal(l.rc, -1);
    assert_non_null(strstr(l.err, "migration failed, the guest runs on at "
                                  "the source"));
    assert_non_null(strstr(l.err, "the destination could not start the "
                                  "guest (status 1)"));

    assert_int_equal(handovers, 2);
    assert_int_equal(handover_abort[0], 0);
    assert_int_equal(handover_abort[1], 1);
    assert_int_equal(handover_paused[1], 1);   /* undone, then resumed */
    check_runs_at_source(src);

    assert_null(l.dst);
    assert_int_equal(dst_commits, 1);
    assert_int_equal(dst_discards, 1);
    assert_non_null(strstr(l.rx_err, "libxl: device model for domain 9 did "
                                     "not start (injected)"));
    xmig_guest_destroy(src);
    assert_int_equal(handovers, 2);
    (void)state;
}

/* The source vanishes mid-round (on Xen: a triple fault turned into a
 * reboot, and xl rebuilt the guest under another id): the map fails, and
 * the failure must not claim the guest runs on; it says it is gone. */
static int vanished;

static int map_vanishing(struct xmig_guest *g, const uint64_t *pfns,
                         uint32_t n, const void **pages)
{
    if (++maps > 1) {
        vanished = 1;
        return err_set(XMIG_ERR_IO, ESRCH, "mapping pfn 0x%llx of domain 7",
                       (unsigned long long)pfns[0]);
    }
    return src_orig->map(g, pfns, n, pages);
}

static int alive_unless_vanished(struct xmig_guest *g)
{
    (void)g;
    return vanished ? err_set(XMIG_ERR_IO, ESRCH, "domain 7 is gone "
                              "(injected)")
                    : 0;
}

static void vanished_source_is_not_said_to_run(void **state)
{
    struct xmig_guest *src = live_source_create();
    struct live l;

    src_ops.map = map_vanishing;
    src_ops.alive = alive_unless_vanished;
    vanished = 0;
    live_migrate(src, &l);
    assert_int_equal(l.rc, -1);
    assert_int_equal(vanished, 1);
    fprintf(stderr, "    %s\n", l.err);
    assert_null(strstr(l.err, "runs on"));
    assert_non_null(strstr(l.err, "migration failed, and the guest could NOT "
                                  "be resumed (domain 7 is gone (injected)"));
    assert_non_null(strstr(l.err, "mapping pfn 0x"));
    assert_null(l.dst);
    assert_int_equal(dst_commits, 0);
    assert_int_equal(handovers, 0);
    src_ops.alive = NULL;
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
        cmocka_unit_test(allocate_only_pages_cleared),
        cmocka_unit_test(factory_refusal_fails_restore),
        cmocka_unit_test(emulator_records_fail_restore),
        cmocka_unit_test(emulator_records_after_libxc_end),
        cmocka_unit_test(handover_once_after_stream),
        cmocka_unit_test(handover_refusal_keeps_guest_here),
        cmocka_unit_test(failed_start_undoes_handover),
        cmocka_unit_test(vanished_source_is_not_said_to_run),
    };

    signal(SIGPIPE, SIG_IGN);   /* a peer gone is an error, not death */
    return cmocka_run_group_tests_name("engine paths", tests, NULL, NULL);
}
