/*
 * A guest its toolstack builds from the stream itself (backend op feed;
 * xen: an HVM guest with qemu-xen, restored by libxl).  The engine hands
 * it every octet after the xl header, exactly once and in order, while
 * its own reader validates them; the device model's records are then
 * loadable; set_state comes once, after the last octet; commit after
 * that.  A bad stream, a failing feed or a failing finish discards the
 * guest, which is never committed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "libxmig/backend.h"
#include "records/records.h"
#include "streams/synth.h"
#include "tests/support.h"
#include "xmig.h"

struct fed_guest {
    struct xmig_guest base;
    uint8_t *got;
    size_t len, cap;
    unsigned feeds, finishes, commits;
    size_t len_at_finish;
};

static struct fed_guest *last;          /* the factory's guest */
static unsigned discards, destroys;
static size_t fail_feed_after;          /* fail once this many arrived */
static int fail_finish;
static char *factory_json;

static struct fed_guest *fg(struct xmig_guest *g)
{
    return (struct fed_guest *)g;
}

static int fed_feed(struct xmig_guest *g, const uint8_t *p, size_t n)
{
    struct fed_guest *f = fg(g);

    f->feeds++;
    assert_int_equal(f->finishes, 0);       /* nothing after the end */
    if (fail_feed_after && f->len + n > fail_feed_after) {
        return err_set(XMIG_ERR_IO, 0, "toolstack: restore helper died "
                       "(injected)");
    }
    if (f->len + n > f->cap) {
        f->cap = (f->len + n) * 2;
        f->got = realloc(f->got, f->cap);
        assert_non_null(f->got);
    }
    memcpy(f->got + f->len, p, n);
    f->len += n;
    return 0;
}

static int fed_finish(struct xmig_guest *g, const struct guest_state *st)
{
    struct fed_guest *f = fg(g);

    /* Nothing of the stream's state is handed over: the toolstack has
     * it all. */
    assert_null(st->hvm_context);
    assert_int_equal(st->nparams, 0);
    assert_null(st->emulator_context);
    f->finishes++;
    f->len_at_finish = f->len;
    if (fail_finish) {
        return err_set(XMIG_ERR_IO, 0, "libxl error -3: qemu refused the "
                       "state (injected)");
    }
    return 0;
}

static int fed_commit(struct xmig_guest *g)
{
    struct fed_guest *f = fg(g);

    assert_int_equal(f->finishes, 1);
    f->commits++;
    return 0;
}

static void fed_free(struct xmig_guest *g)
{
    /* The counts stay readable through `last` until the next restore. */
    (void)g;
}

static void fed_discard(struct xmig_guest *g)
{
    discards++;
    fed_free(g);
}

static void fed_destroy(struct xmig_guest *g)
{
    destroys++;
    fed_free(g);
}

static const struct backend_ops fed_ops = {
    .name = "fed",
    .feed = fed_feed,
    .set_state = fed_finish,
    .commit = fed_commit,
    .discard = fed_discard,
    .destroy = fed_destroy,
};

static struct xmig_guest *fed_factory(void *user, const char *json,
                                      uint64_t max_memkb)
{
    (void)user;
    (void)max_memkb;
    free(factory_json);
    factory_json = strdup(json);
    if (last) {
        free(last->got);
        free(last);
    }
    last = calloc(1, sizeof(*last));
    assert_non_null(last);
    last->base.ops = &fed_ops;
    return &last->base;
}

static void reset(void)
{
    discards = destroys = 0;
    fail_feed_after = 0;
    fail_finish = 0;
    if (last) {
        free(last->got);
        free(last);
        last = NULL;
    }
}

/* Where the libxl stream starts: right after the xl header. */
static size_t libxl_start(struct buf b)
{
    static const char magic[] = "LibxlFmt";
    for (size_t i = 0; i + 8 <= b.len; i++) {
        if (memcmp(b.data + i, magic, 8) == 0) {
            return i;
        }
    }
    fail_msg("no libxl header in the stream");
    return 0;
}

static struct xmig_guest *restore(struct buf b, struct xmig_migrate_stats *st)
{
    struct xmig_receive_params p = { 0 };
    struct xmig_transport *t = xmig_transport_memory(b.data, b.len);
    struct xmig_guest *g;

    assert_non_null(t);
    p.factory = fed_factory;
    g = xmig_guest_restore(t, &p, st);
    xmig_transport_free(t);
    return g;
}

static struct buf hvm_stream(void)
{
    struct synth_opts o;

    synth_defaults(&o);
    o.emulator_xenstore = 1;      /* both of qemu's records */
    o.pages = 700;
    o.batch = 97;                 /* records of odd sizes */
    return make_stream(&o);
}

static void fed_the_whole_stream_in_order(void **state)
{
    struct buf b = hvm_stream();
    size_t start = libxl_start(b);
    struct xmig_migrate_stats st;
    struct xmig_guest *g;

    reset();
    g = restore(b, &st);
    if (!g) {
        fail_msg("restore failed: %s", xmig_error_message());
    }
    assert_ptr_equal(g, &last->base);
    /* Every octet after the xl header, once, in order, all before the
     * end; the device model's records went with them. */
    assert_int_equal(last->len, b.len - start);
    assert_memory_equal(last->got, b.data + start, b.len - start);
    assert_int_equal(last->len_at_finish, last->len);
    assert_true(find_record(b, XMIG_LAYER_LIBXL,
                            XMIG_LIBXL_EMULATOR_CONTEXT, 0) >= (long)start);
    assert_int_equal(last->finishes, 1);
    assert_int_equal(last->commits, 1);
    assert_int_equal(discards, 0);
    assert_true(last->feeds > 2);         /* record by record, not once */
    assert_true(st.pages_sent > 0 && st.pages_sent <= 700);
    assert_non_null(factory_json);
    assert_non_null(strstr(factory_json, "max_memkb"));
    xmig_guest_destroy(g);
    assert_int_equal(destroys, 1);
    reset();
    buf_free(&b);
    (void)state;
}

/* The toolstack stops reading (its helper died): the restore fails with
 * its reason, the guest goes, nothing more is fed. */
static void failing_feed_discards(void **state)
{
    struct buf b = hvm_stream();
    struct xmig_migrate_stats st;

    reset();
    fail_feed_after = 100000;
    assert_null(restore(b, &st));
    printf("    %s\n", xmig_error_message());
    assert_non_null(strstr(xmig_error_message(), "restore helper died "
                                                 "(injected)"));
    assert_true(xmig_error_offset(&(uint64_t){ 0 }));
    assert_int_equal(discards, 1);
    assert_int_equal(last->finishes, 0);
    assert_int_equal(last->commits, 0);
    assert_true(last->len <= 100000);
    reset();
    buf_free(&b);
    (void)state;
}

/* The toolstack's finish fails (qemu refused its state): discarded. */
static void failing_finish_discards(void **state)
{
    struct buf b = hvm_stream();
    struct xmig_migrate_stats st;

    reset();
    fail_finish = 1;
    assert_null(restore(b, &st));
    assert_non_null(strstr(xmig_error_message(), "qemu refused the state"));
    assert_int_equal(discards, 1);
    assert_int_equal(last->finishes, 1);
    assert_int_equal(last->commits, 0);
    reset();
    buf_free(&b);
    (void)state;
}

/* A stream cut short or corrupted mid-way: the engine's reader refuses
 * it, the toolstack never gets the end, the guest goes. */
static void bad_stream_discards(void **state)
{
    struct buf b = hvm_stream();
    long pd = find_record(b, XMIG_LAYER_LIBXC, XMIG_LIBXC_PAGE_DATA, 2);
    struct xmig_migrate_stats st;
    struct buf cut = b, bad = buf_dup(b);

    assert_true(pd > 0);
    reset();
    cut.len = (size_t)pd + 100;
    assert_null(restore(cut, &st));
    assert_int_equal(xmig_error_category(), XMIG_ERR_CLOSED);
    assert_int_equal(discards, 1);
    assert_int_equal(last->finishes, 0);
    assert_int_equal(last->commits, 0);
    /* A PAGE_DATA whose count says more than its length holds. */
    reset();
    bad.data[pd + 8] = 0xff;
    bad.data[pd + 9] = 0xff;
    assert_null(restore(bad, &st));
    printf("    %s\n", xmig_error_message());
    assert_int_equal(xmig_error_category(), XMIG_ERR_PROTOCOL);
    assert_int_equal(discards, 1);
    assert_int_equal(last->finishes, 0);
    assert_true(last->len <= (size_t)pd);   /* the bad record never went */
    reset();
    buf_free(&bad);
    buf_free(&b);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fed_the_whole_stream_in_order),
        cmocka_unit_test(failing_feed_discards),
        cmocka_unit_test(failing_finish_discards),
        cmocka_unit_test(bad_stream_discards),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    free(factory_json);
    return rc;
}
