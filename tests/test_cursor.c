/* The bounds-checked cursor and the checked arithmetic under every parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/cursor.h"

static void reads_fail_on_short_input_and_leave_cursor(void **state)
{
    uint8_t b[7] = { 1, 2, 3, 4, 5, 6, 7 };
    struct cursor c = cursor_ro(b, sizeof(b));
    uint64_t v64;
    uint32_t v32;
    const uint8_t *p;

    (void)state;
    assert_int_equal(cursor_get_le64(&c, &v64), -1);
    assert_int_equal(c.pos, 0);
    assert_int_equal(cursor_get_le32(&c, &v32), 0);
    assert_int_equal(v32, 0x04030201u);
    assert_int_equal(cursor_get_be32(&c, &v32), -1);
    assert_int_equal(c.pos, 4);
    assert_int_equal(cursor_take(&c, 4, &p), -1);
    assert_int_equal(cursor_take(&c, 3, &p), 0);
    assert_ptr_equal(p, b + 4);
    assert_int_equal(cursor_left(&c), 0);
    assert_int_equal(cursor_skip(&c, 1), -1);
}

static void endian_helpers_round_trip(void **state)
{
    uint8_t b[8];

    (void)state;
    put_be64(b, 0x0102030405060708ull);
    assert_int_equal(b[0], 1);
    assert_int_equal(b[7], 8);
    assert_true(get_be64(b) == 0x0102030405060708ull);
    assert_true(get_le64(b) == 0x0807060504030201ull);
    put_le16(b, 0xBEEF);
    assert_int_equal(get_le16(b), 0xBEEF);
    assert_int_equal(get_be16(b), 0xEFBE);
    put_be32(b, 0x58454E46u);
    assert_memory_equal(b, "XENF", 4);
}

static void writes_fail_when_full(void **state)
{
    uint8_t b[6];
    struct cursor c = cursor_ro(b, sizeof(b));

    (void)state;
    assert_int_equal(cursor_put_le32(&c, 1), 0);
    assert_int_equal(cursor_put_le32(&c, 2), -1);
    assert_int_equal(c.pos, 4);
    assert_int_equal(cursor_put_zeros(&c, 3), -1);
    assert_int_equal(cursor_put_bytes(&c, "ab", 2), 0);
    assert_int_equal(cursor_left(&c), 0);
}

static void checked_arithmetic_catches_overflow(void **state)
{
    size_t out;

    (void)state;
    assert_int_equal(size_add(SIZE_MAX, 1, &out), -1);
    assert_int_equal(size_mul(SIZE_MAX / 2 + 1, 2, &out), -1);
    assert_int_equal(size_mul(4096, 1024, &out), 0);
    assert_int_equal(out, 4u << 20);
}

static void padding_is_to_eight_octets(void **state)
{
    (void)state;
    assert_int_equal(pad8(0), 0);
    assert_int_equal(pad8(1), 7);
    assert_int_equal(pad8(7), 1);
    assert_int_equal(pad8(8), 0);
    assert_int_equal(pad8(0xFFFFFFFFu), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_fail_on_short_input_and_leave_cursor),
        cmocka_unit_test(endian_helpers_round_trip),
        cmocka_unit_test(writes_fail_when_full),
        cmocka_unit_test(checked_arithmetic_catches_overflow),
        cmocka_unit_test(padding_is_to_eight_octets),
    };
    return cmocka_run_group_tests_name("cursor", tests, NULL, NULL);
}
