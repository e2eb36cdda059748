/* tests/unit/test_uuid.c - id validation (lib/uuid.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/uuid.h"

static void
test_uuid__canonical_lowercase_is_valid(void **state)
{
	assert_true(bl_uuid_valid("3f2a0c1e-6b7d-4e8f-9a0b-1c2d3e4f5a6b"));
	assert_true(bl_uuid_valid("00000000-0000-0000-0000-000000000000"));
	assert_true(bl_uuid_valid_n("3f2a0c1e-6b7d-4e8f-9a0b-1c2d3e4f5a6b/x",
	    36));
}

static void
test_uuid__anything_that_could_name_another_path_is_invalid(void **state)
{
	static const char *const bad[] = {
		"", "..", "../../etc/passwd", "/", "%2f",
		"3F2A0C1E-6B7D-4E8F-9A0B-1C2D3E4F5A6B",	/* upper case */
		"3f2a0c1e6b7d4e8f9a0b1c2d3e4f5a6b",		/* no dashes */
		"3f2a0c1e-6b7d-4e8f-9a0b-1c2d3e4f5a6",		/* short */
		"3f2a0c1e-6b7d-4e8f-9a0b-1c2d3e4f5a6bb",	/* long */
		"3f2a0c1e-6b7d-4e8f-9a0b-1c2d3e4f5a6/",
		"3f2a0c1e-6b7d-4e8f-9a0b-1c2d3e4f5a.b",
		"3f2a0c1e-6b7d-4e8f-9a0b-1c2d3e4f5a%b",
		"{3f2a0c1e-6b7d-4e8f-9a0b-1c2d3e4f5a}",
		"3f2a0c1e_6b7d-4e8f-9a0b-1c2d3e4f5a6b",
		"g f2a0c1e-6b7d-4e8f-9a0b-1c2d3e4f5a6",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (bl_uuid_valid(bad[i]))
			fail_msg("\"%s\" was accepted", bad[i]);
	assert_false(bl_uuid_valid(NULL));
	/* A NUL inside is never valid, whatever follows. */
	assert_false(bl_uuid_valid_n("3f2a0c1e-6b7d-4e8f-9a0b-1c2d3e4f5a\0b",
	    36));
}

static void
test_uuid__generated_ids_are_valid_and_differ(void **state)
{
	char a[BL_UUID_LEN + 1], b[BL_UUID_LEN + 1];

	assert_int_equal(bl_uuid_generate(a), 0);
	assert_int_equal(bl_uuid_generate(b), 0);
	assert_true(bl_uuid_valid(a));
	assert_true(bl_uuid_valid(b));
	assert_string_not_equal(a, b);
	assert_int_equal(a[14], '4');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid__canonical_lowercase_is_valid),
		cmocka_unit_test(
		    test_uuid__anything_that_could_name_another_path_is_invalid),
		cmocka_unit_test(test_uuid__generated_ids_are_valid_and_differ),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
