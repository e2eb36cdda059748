/* tests/unit/test_sign.c - HMAC-SHA256 request signing (lib/sign.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/sign.h"

#define KEY "0123456789abcdef0123456789abcdef"
#define KL (sizeof(KEY) - 1)
#define NOW ((time_t)1800000000)

static int
verify(const char *method, const char *target, const char *body,
    const struct bl_sign_hdrs *h, time_t now, struct bl_err *err)
{
	return bl_sign_verify(KEY, KL, method, target, body,
	    body ? strlen(body) : 0, h->date, h->signature, now, err);
}

static void
test_sign__round_trip_is_accepted(void **state)
{
	struct bl_sign_hdrs h;
	struct bl_err err;

	assert_int_equal(bl_sign_request(KEY, KL, "POST", "/v1/assignments",
	    "{\"a\":1}", 7, NOW, &h), 0);
	assert_string_equal(h.date, "1800000000");
	assert_int_equal(strlen(h.signature), 64);
	assert_int_equal(verify("POST", "/v1/assignments", "{\"a\":1}", &h,
	    NOW, &err), 0);
}

static void
test_sign__known_vector_matches_the_documented_scheme(void **state)
{
	/* docs/signing.md: canonical string and the expected signature,
	 * computed independently with `openssl dgst -sha256 -hmac`. */
	struct bl_sign_hdrs h;

	bl_sign_request(KEY, KL, "GET", "/v1/objects/a/b", NULL, 0, NOW, &h);
	assert_string_equal(h.signature,
	    "5ca448537ce85b436e6f028beb52c7dc141e1db7bd0e0780278468b6ce8411f5");
}

static void
test_sign__any_change_is_refused(void **state)
{
	struct bl_sign_hdrs h, t;
	struct bl_err err;

	bl_sign_request(KEY, KL, "DELETE", "/v1/objects/o/i", "{\"md5\":1}",
	    9, NOW, &h);
	assert_int_equal(verify("GET", "/v1/objects/o/i", "{\"md5\":1}", &h,
	    NOW, &err), -1);
	assert_int_equal(err.code, BL_EAUTH);
	assert_int_equal(verify("DELETE", "/v1/objects/o/j", "{\"md5\":1}",
	    &h, NOW, &err), -1);
	assert_int_equal(verify("DELETE", "/v1/objects/o/i", "{\"md5\":2}",
	    &h, NOW, &err), -1);
	assert_int_equal(verify("DELETE", "/v1/objects/o/i?x=1", "{\"md5\":1}",
	    &h, NOW, &err), -1);
	t = h;
	snprintf(t.date, sizeof(t.date), "%lld", (long long)NOW + 1);
	assert_int_equal(verify("DELETE", "/v1/objects/o/i", "{\"md5\":1}",
	    &t, NOW, &err), -1);
	assert_string_equal(err.msg, "bad signature");
	assert_int_equal(bl_sign_verify("another-key-0123456789", 22, "DELETE",
	    "/v1/objects/o/i", "{\"md5\":1}", 9, h.date, h.signature, NOW,
	    &err), -1);
}

static void
test_sign__window_is_300_seconds_either_way(void **state)
{
	struct bl_sign_hdrs h;
	struct bl_err err;

	bl_sign_request(KEY, KL, "GET", "/x", NULL, 0, NOW, &h);
	assert_int_equal(verify("GET", "/x", NULL, &h, NOW + 300, &err), 0);
	assert_int_equal(verify("GET", "/x", NULL, &h, NOW - 300, &err), 0);
	assert_int_equal(verify("GET", "/x", NULL, &h, NOW + 301, &err), -1);
	assert_non_null(strstr(err.msg, "stale"));
	assert_int_equal(verify("GET", "/x", NULL, &h, NOW - 301, &err), -1);
	assert_non_null(strstr(err.msg, "stale"));
}

static void
test_sign__missing_or_malformed_headers_are_refused(void **state)
{
	struct bl_sign_hdrs h;
	struct bl_err err;

	bl_sign_request(KEY, KL, "GET", "/x", NULL, 0, NOW, &h);
	assert_int_equal(bl_sign_verify(KEY, KL, "GET", "/x", NULL, 0, NULL,
	    h.signature, NOW, &err), -1);
	assert_int_equal(bl_sign_verify(KEY, KL, "GET", "/x", NULL, 0, h.date,
	    NULL, NOW, &err), -1);
	assert_int_equal(bl_sign_verify(KEY, KL, "GET", "/x", NULL, 0,
	    "18e8", h.signature, NOW, &err), -1);
	assert_int_equal(bl_sign_verify(KEY, KL, "GET", "/x", NULL, 0,
	    " 1800000000", h.signature, NOW, &err), -1);
	assert_int_equal(bl_sign_verify(KEY, KL, "GET", "/x", NULL, 0, h.date,
	    "zz", NOW, &err), -1);
	h.signature[10] = 'x';
	assert_int_equal(bl_sign_verify(KEY, KL, "GET", "/x", NULL, 0, h.date,
	    h.signature, NOW, &err), -1);
}

static void
test_sign__secret_file_is_trimmed_and_must_be_long_enough(void **state)
{
	char path[] = "/tmp/ballast-secret-XXXXXX";
	struct bl_err err;
	size_t len = 0;
	char *s;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "short\n", 6), 6);
	close(fd);
	assert_null(bl_sign_read_secret(path, &len, &err));
	assert_non_null(strstr(err.msg, "shorter"));
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, KEY "\n", KL + 1), (ssize_t)KL + 1);
	close(fd);
	s = bl_sign_read_secret(path, &len, &err);
	assert_non_null(s);
	assert_int_equal(len, KL);
	assert_memory_equal(s, KEY, KL);
	free(s);
	unlink(path);
	assert_null(bl_sign_read_secret(path, &len, &err));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign__round_trip_is_accepted),
		cmocka_unit_test(
		    test_sign__known_vector_matches_the_documented_scheme),
		cmocka_unit_test(test_sign__any_change_is_refused),
		cmocka_unit_test(test_sign__window_is_300_seconds_either_way),
		cmocka_unit_test(
		    test_sign__missing_or_malformed_headers_are_refused),
		cmocka_unit_test(
		    test_sign__secret_file_is_trimmed_and_must_be_long_enough),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
