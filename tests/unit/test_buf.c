/* tests/unit/test_buf.c - the growable byte buffer (lib/buf.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/buf.h"

static void
test_buf__adds_grow_past_many_doublings_and_keep_every_byte(void **state)
{
	struct bl_buf b = BL_BUF_INIT;
	char chunk[37];

	for (size_t i = 0; i < 10000; i++) {
		memset(chunk, 'a' + (int)(i % 26), sizeof(chunk));
		assert_int_equal(bl_buf_add(&b, chunk, sizeof(chunk)), 0);
		assert_int_equal(b.len, (i + 1) * sizeof(chunk));
		assert_true(b.cap > b.len);
		assert_int_equal(b.p[b.len], '\0');
	}
	for (size_t i = 0; i < 10000; i++)
		for (size_t k = 0; k < sizeof(chunk); k++)
			if (b.p[i * sizeof(chunk) + k] != 'a' + (int)(i % 26))
				fail_msg("byte %zu of chunk %zu changed", k, i);
	assert_false(b.oom);
	bl_buf_release(&b);
}

static void
test_buf__binary_content_keeps_its_nuls(void **state)
{
	static const char bin[] = { 'x', '\0', 'y', '\0', '\xff' };
	struct bl_buf b = BL_BUF_INIT;

	assert_int_equal(bl_buf_add(&b, bin, sizeof(bin)), 0);
	assert_int_equal(bl_buf_add(&b, bin, sizeof(bin)), 0);
	assert_int_equal(b.len, 2 * sizeof(bin));
	assert_memory_equal(b.p, bin, sizeof(bin));
	assert_memory_equal(b.p + sizeof(bin), bin, sizeof(bin));
	bl_buf_release(&b);
}

static void
test_buf__addf_formats_strings_longer_than_the_room_left(void **state)
{
	struct bl_buf b = BL_BUF_INIT;
	size_t n = 100000;
	char *big = malloc(n + 1);

	assert_non_null(big);
	memset(big, 'q', n);
	big[n] = '\0';
	assert_int_equal(bl_buf_addf(&b, "<%d>", 7), 0);
	assert_string_equal(b.p, "<7>");
	/* Far more than the first allocation, then more than what the
	 * doubling left. */
	assert_int_equal(bl_buf_addf(&b, "[%s]", big), 0);
	assert_int_equal(bl_buf_addf(&b, "%s|%s", big, big), 0);
	assert_int_equal(b.len, 3 + (n + 2) + (2 * n + 1));
	assert_int_equal(strlen(b.p), b.len);
	assert_memory_equal(b.p, "<7>[", 4);
	assert_int_equal(b.p[4 + n], ']');
	assert_int_equal(b.p[5 + n + n], '|');
	assert_int_equal(b.p[b.len - 1], 'q');
	assert_int_equal(bl_buf_addf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 3 + (n + 2) + (2 * n + 1));
	free(big);
	bl_buf_release(&b);
}

static void
test_buf__release_leaves_an_empty_buffer_that_can_be_used_again(void **state)
{
	struct bl_buf b;

	bl_buf_init(&b);
	assert_int_equal(bl_buf_addf(&b, "%s-%u", "one", 1u), 0);
	bl_buf_release(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_false(b.oom);
	assert_int_equal(bl_buf_add(&b, "two", 3), 0);
	assert_string_equal(b.p, "two");
	bl_buf_release(&b);
	bl_buf_release(&b);		/* twice is harmless */
}

static void
test_buf__an_empty_buffer_detaches_as_an_empty_string(void **state)
{
	struct bl_buf b = BL_BUF_INIT;
	size_t len = 99;
	char *s;

	assert_null(b.p);
	assert_int_equal(bl_buf_add(&b, "", 0), 0);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.p, "");
	bl_buf_release(&b);

	s = bl_buf_detach(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
}

static void
test_buf__detach_hands_over_the_bytes_and_empties_the_buffer(void **state)
{
	struct bl_buf b = BL_BUF_INIT;
	size_t len = 0;
	char *s;

	assert_int_equal(bl_buf_addf(&b, "%s=%d", "k", 42), 0);
	s = bl_buf_detach(&b, &len);
	assert_string_equal(s, "k=42");
	assert_int_equal(len, 4);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	free(s);
}

static void
test_buf__a_failed_grow_sticks_and_detach_gives_null(void **state)
{
	struct bl_buf b = BL_BUF_INIT;

	assert_int_equal(bl_buf_add(&b, "ok", 2), 0);
	/* A size no allocator can give. */
	assert_int_equal(bl_buf_grow(&b, SIZE_MAX - 8), -1);
	assert_true(b.oom);
	assert_int_equal(bl_buf_add(&b, "x", 1), -1);
	assert_int_equal(bl_buf_addf(&b, "%d", 1), -1);
	assert_int_equal(b.len, 2);
	assert_null(bl_buf_detach(&b, NULL));
	assert_null(b.p);
	assert_false(b.oom);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_buf__adds_grow_past_many_doublings_and_keep_every_byte),
		cmocka_unit_test(test_buf__binary_content_keeps_its_nuls),
		cmocka_unit_test(
		    test_buf__addf_formats_strings_longer_than_the_room_left),
		cmocka_unit_test(
		    test_buf__release_leaves_an_empty_buffer_that_can_be_used_again),
		cmocka_unit_test(
		    test_buf__an_empty_buffer_detaches_as_an_empty_string),
		cmocka_unit_test(
		    test_buf__detach_hands_over_the_bytes_and_empties_the_buffer),
		cmocka_unit_test(
		    test_buf__a_failed_grow_sticks_and_detach_gives_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
