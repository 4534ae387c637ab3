/*
 * The error model: every failure carries a category, and where the stream
 * is concerned an offset and the record, composed into one line.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/cursor.h"
#include "common/error.h"
#include "tests/support.h"

static void message_names_offset_record_and_rule(void **state)
{
    struct buf b = make_default_stream(XMIG_FORMAT_LIBXC, XMIG_DOMAIN_X86_HVM);
    long rec = find_record(b, XMIG_LAYER_LIBXC, XMIG_LIBXC_PAGE_DATA, 0);
    uint64_t off;
    int layer;
    uint32_t type;

    (void)state;
    assert_true(rec > 0);
    poke32(b, (size_t)rec + 12, 0xdead);   /* PAGE_DATA reserved field */
    assert_int_equal(read_all(b, XMIG_FORMAT_AUTO), -1);
    assert_int_equal(xmig_error_category(), XMIG_ERR_PROTOCOL);
    assert_int_equal(xmig_error_offset(&off), 1);
    assert_int_equal(off, (uint64_t)rec + 12);
    assert_int_equal(xmig_error_record(&layer, &type), 1);
    assert_int_equal(layer, XMIG_LAYER_LIBXC);
    assert_int_equal(type, XMIG_LIBXC_PAGE_DATA);
    assert_non_null(strstr(xmig_error_message(), "libxc record PAGE_DATA"));
    assert_non_null(strstr(xmig_error_message(), "reserved field"));
    buf_free(&b);
}

static void io_errors_carry_errno(void **state)
{
    (void)state;
    err_set(XMIG_ERR_IO, EPIPE, "write");
    err_prefix("writing at offset %d: ", 8);
    assert_int_equal(xmig_error_errno(), EPIPE);
    assert_string_equal(xmig_error_message(),
                        "writing at offset 8: write: Broken pipe");
    assert_int_equal(xmig_error_record(&(int){ 0 }, &(uint32_t){ 0 }), 0);
}

static void positions_are_rebased_once(void **state)
{
    uint8_t b[4] = { 0 };
    struct cursor c = cursor_ro(b, sizeof(b));
    uint64_t off;

    (void)state;
    c.pos = 3;
    err_at(&c, "bad octet");
    assert_int_equal(xmig_error_offset(&off), 0);   /* still relative */
    err_rebase(100);
    err_rebase(1000);                               /* no effect now */
    assert_int_equal(xmig_error_offset(&off), 1);
    assert_int_equal(off, 103);
    err_in_record(XMIG_LAYER_LIBXL, 3, "EMULATOR_CONTEXT");
    err_in_record(XMIG_LAYER_LIBXC, 1, "PAGE_DATA");   /* innermost wins */
    assert_string_equal(xmig_error_message(),
                        "offset 103 (0x67): libxl record EMULATOR_CONTEXT "
                        "(0x3): bad octet");
}

static void long_prefixes_are_cut_not_overrun(void **state)
{
    char big[600];

    (void)state;
    memset(big, 'p', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    err_set(XMIG_ERR_USAGE, 0, "x");
    err_prefix("%s", big);
    err_prefix("%s", big);
    assert_true(strlen(xmig_error_message()) < 1024);
    err_clear();
    assert_int_equal(xmig_error_category(), XMIG_ERR_NONE);
    assert_string_equal(xmig_error_message(), "no error");
}

static void every_category_has_a_name(void **state)
{
    (void)state;
    for (int c = XMIG_ERR_NONE; c <= XMIG_ERR_LIMIT; c++) {
        assert_string_not_equal(xmig_error_category_name(c), "unknown");
    }
    assert_string_equal(xmig_error_category_name(99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(message_names_offset_record_and_rule),
        cmocka_unit_test(io_errors_carry_errno),
        cmocka_unit_test(positions_are_rebased_once),
        cmocka_unit_test(long_prefixes_are_cut_not_overrun),
        cmocka_unit_test(every_category_has_a_name),
    };
    return cmocka_run_group_tests_name("errors", tests, NULL, NULL);
}
