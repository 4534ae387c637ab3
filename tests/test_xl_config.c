/*
 * The receiver reads the xl header's domain config as a JSON document
 * (records/xl_config.c), through the engine's real receive path: a config
 * that is not JSON is refused cleanly (it has no NUL: the old text search
 * read past its end), the guest's size is b_info.max_memkb and nothing
 * else, and a guest larger than the host's RAM is refused by default.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/support.h"
#include "xmig.h"

static const uint8_t xl_magic[32] = "Xen saved domain, xl format\n \0 \r";

/* An xl save file: flags and config as given, then a valid libxl stream
 * (the receiver never gets that far when it refuses the header). */
static struct buf xl_file(uint32_t flags, const void *config, size_t len)
{
    struct buf tail = make_default_stream(XMIG_FORMAT_LIBXL,
                                          XMIG_DOMAIN_X86_HVM);
    struct raw r = { 0 };

    raw_bytes(&r, xl_magic, sizeof(xl_magic));
    raw_le32(&r, 0x01020304u);
    raw_le32(&r, flags);
    raw_le32(&r, 0);
    raw_le32(&r, (uint32_t)(4 + len));
    raw_le32(&r, (uint32_t)len);
    raw_bytes(&r, config, len);
    raw_bytes(&r, tail.data, tail.len);
    buf_free(&tail);
    return raw_buf(&r);
}

/* A JSON config with xl's NUL, JSON and STREAMV2 flags. */
static struct buf xl_json(const char *json)
{
    return xl_file(3, json, strlen(json) + 1);
}

/* Restore b into a sim guest; expect a refusal of category cat whose
 * message holds want. */
static void refused_with(struct buf b, uint64_t max_memory,
                         enum xmig_error_category cat, const char *want)
{
    struct xmig_transport *t = xmig_transport_memory(b.data, b.len);
    struct xmig_receive_params p = { 0 };
    struct xmig_migrate_stats st;
    struct xmig_guest *g;

    assert_non_null(t);
    p.max_memory = max_memory;
    p.factory = xmig_sim_guest_factory;
    g = xmig_guest_restore(t, &p, &st);
    if (g || !strstr(xmig_error_message(), want) ||
        xmig_error_category() != cat) {
        print_error("got %s, category %d: %s\nwanted category %d: %s\n",
                    g ? "a guest" : "a refusal", (int)xmig_error_category(),
                    xmig_error_message(), (int)cat, want);
    }
    assert_null(g);
    assert_int_equal(xmig_error_category(), cat);
    assert_non_null(strstr(xmig_error_message(), want));
    xmig_transport_free(t);
}

/* xl's STREAMV2-only header: the config is text, with no NUL after it.
 * Regression test: the receiver ran strstr over it (ASan: heap overflow
 * past the optional data). */
static void text_config_without_nul(void **state)
{
    static const char text[] = "name=\"web\"\nmemory=64\nmax_memkb";
    struct buf b = xl_file(2, text, sizeof(text) - 1);

    refused_with(b, 0, XMIG_ERR_UNSUPPORTED,
                 "is not JSON (the xl header's JSON flag is clear)");
    buf_free(&b);
    (void)state;
}

/* A max_memkb anywhere but b_info does not count.  Regression test: the
 * first "max_memkb" in the text won, so a small decoy let a 32 GiB guest
 * through a 16 MiB limit. */
static void decoy_max_memkb(void **state)
{
    struct buf b = xl_json("{\"c_info\": {\"name\": \"d\", \"max_memkb\": 64},"
                           " \"b_info\": {\"max_memkb\": 33554432}}");

    refused_with(b, 16u << 20, XMIG_ERR_NOMEM,
                 "it needs 32768 MiB, this host takes at most 16 MiB (its "
                 "configured limit)");
    buf_free(&b);
    (void)state;
}

/* No limit given: the host's RAM is the limit, and the message says so. */
static void one_tib_by_default(void **state)
{
    struct buf b = xl_json("{\"c_info\": {\"name\": \"huge\"}, "
                           "\"b_info\": {\"max_memkb\": 1073741824}}");

    refused_with(b, 0, XMIG_ERR_NOMEM, "(all of its RAM)");
    refused_with(b, 0, XMIG_ERR_NOMEM, "it needs 1048576 MiB");
    buf_free(&b);
    (void)state;
}

static void max_memkb_missing_or_wrong(void **state)
{
    static const struct {
        const char *json, *want;
        enum xmig_error_category cat;
    } rows[] = {
        { "{\"c_info\": {\"name\": \"x\"}}",
          "does not say how much memory the guest has (b_info.max_memkb)",
          XMIG_ERR_UNSUPPORTED },
        /* Regression test: 0 was taken for "not given". */
        { "{\"b_info\": {\"max_memkb\": 0}}",
          "the stream's domain config gives the guest no memory "
          "(b_info.max_memkb is 0)", XMIG_ERR_PROTOCOL },
        { "{\"b_info\": {\"max_memkb\": \"65536\"}}",
          "b_info.max_memkb is not a whole number of KiB", XMIG_ERR_PROTOCOL },
        { "{\"b_info\": {\"max_memkb\": -4}}",
          "b_info.max_memkb is not a whole number of KiB", XMIG_ERR_PROTOCOL },
        { "{\"b_info\": {\"max_memkb\": 65536.5}}",
          "b_info.max_memkb is not a whole number of KiB", XMIG_ERR_PROTOCOL },
        { "{\"b_info\": {\"max_memkb\": 65537}}",
          "max_memkb 65537 is not a usable guest size", XMIG_ERR_PROTOCOL },
        { "{\"b_info\": 7, \"c_info\": {\"type\": 3}}",
          "c_info.type is not a string", XMIG_ERR_PROTOCOL },
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct buf b = xl_json(rows[i].json);
        refused_with(b, 0, rows[i].cat, rows[i].want);
        buf_free(&b);
    }
    (void)state;
}

/* The engine knows no backend: a receiver without a guest factory is a
 * usage error, not a simulated guest made behind the caller's back. */
static void no_factory_is_a_usage_error(void **state)
{
    struct buf b = xl_json("{\"b_info\": {\"max_memkb\": 1024}}");
    struct xmig_transport *t = xmig_transport_memory(b.data, b.len);
    struct xmig_receive_params p = { 0 };
    struct xmig_migrate_stats st;

    assert_null(xmig_guest_restore(t, &p, &st));
    assert_int_equal(xmig_error_category(), XMIG_ERR_USAGE);
    assert_non_null(strstr(xmig_error_message(), "needs a guest factory"));
    xmig_transport_free(t);
    buf_free(&b);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_config_without_nul),
        cmocka_unit_test(decoy_max_memkb),
        cmocka_unit_test(one_tib_by_default),
        cmocka_unit_test(max_memkb_missing_or_wrong),
        cmocka_unit_test(no_factory_is_a_usage_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
