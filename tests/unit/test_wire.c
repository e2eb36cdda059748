/* tests/unit/test_wire.c - the agent API's request shapes (lib/wire.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/wire.h"

#define OWNER	"3f2a0c1e-6b7d-4e8f-9a0b-1c2d3e4f5a6b"
#define OID	"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
#define AID	"6c1e0000-1111-4222-8333-444444444444"
#define MD5	"XUFAKrxLKna5cZ2REBfFkg=="
/* A string literal as (buffer, length). */
#define B(s)	(s), strlen(s)

static void
test_wire__object_path_takes_only_two_canonical_uuids(void **state)
{
	static const char *const bad[] = {
		"", OWNER, OWNER "/", "/" OID, OWNER "/" OID "/",
		OWNER "/" OID "x", OWNER "/../" OID, "../" OWNER "/" OID,
		OWNER "%2f" OID,
		OWNER "/" "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE",
		OWNER "//" OID, OWNER "/" OID "%00", OWNER "/" OID "/..",
		"3f2a0c1e-6b7d-4e8f-9a0b-1c2d3e4f5a6" "/" OID,
	};
	char owner[BL_UUID_LEN + 1], oid[BL_UUID_LEN + 1];

	assert_int_equal(bl_wire_object_path(OWNER "/" OID, owner, oid), 0);
	assert_string_equal(owner, OWNER);
	assert_string_equal(oid, OID);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(bl_wire_object_path(bad[i], owner, oid), -1);
	assert_int_equal(bl_wire_object_path(NULL, owner, oid), -1);
}

static void
test_wire__md5_only_in_its_canonical_spelling(void **state)
{
	unsigned char raw[16];
	char back[25];

	assert_int_equal(bl_wire_md5_from_b64(MD5, raw), 0);
	bl_wire_md5_b64(raw, back);
	assert_string_equal(back, MD5);
	/* Same bytes, stray low bits in the last character. */
	assert_int_equal(bl_wire_md5_from_b64("XUFAKrxLKna5cZ2REBfFkh==",
	    raw), -1);
	assert_int_equal(bl_wire_md5_from_b64("XUFAKrxLKna5cZ2REBfFkg=", raw),
	    -1);
	assert_int_equal(bl_wire_md5_from_b64("XUFAKrxLKna5cZ2REBfFkg===",
	    raw), -1);
	assert_int_equal(bl_wire_md5_from_b64("XUFAKrxLKna5cZ2REBfF!g==",
	    raw), -1);
	assert_int_equal(bl_wire_md5_from_b64(NULL, raw), -1);
}

static void
test_wire__base_urls_have_a_host_and_no_credentials(void **state)
{
	assert_true(bl_wire_base_url_valid("http://10.0.0.2:8461"));
	assert_true(bl_wire_base_url_valid("https://node1.dc1:8461/"));
	assert_false(bl_wire_base_url_valid("ftp://10.0.0.2"));
	assert_false(bl_wire_base_url_valid("http://"));
	assert_false(bl_wire_base_url_valid("http:///v1"));
	assert_false(bl_wire_base_url_valid("http://user:pw@10.0.0.2:8461"));
	assert_false(bl_wire_base_url_valid("http://10.0.0.2:8461\r\nX: y"));
	assert_false(bl_wire_base_url_valid("http://a b"));
	assert_false(bl_wire_base_url_valid(NULL));
}

static void
test_wire__assignment_is_parsed_with_paths_in_errors(void **state)
{
	struct bl_wire_assign a, b;
	struct bl_err err;
	const char *body =
	    "{\"id\":\"" AID "\",\"tasks\":[{\"object_id\":\"" OID "\","
	    "\"owner\":\"" OWNER "\",\"md5\":\"" MD5 "\",\"size\":7,"
	    "\"source\":{\"node\":\"2.stor\","
	    "\"url\":\"http://127.0.0.1:1\"}}]}";
	const char *same =
	    "{\"tasks\":[{\"source\":{\"url\":\"http://127.0.0.1:1\","
	    "\"node\":\"2.stor\"},\"size\":7,\"md5\":\"" MD5 "\","
	    "\"owner\":\"" OWNER "\",\"object_id\":\"" OID "\"}],"
	    " \"id\":\"" AID "\"}";
	char bad[1024];

	assert_int_equal(bl_wire_assign_parse(body, strlen(body), 10, &a,
	    &err), 0);
	assert_string_equal(a.id, AID);
	assert_int_equal(a.ntasks, 1);
	assert_string_equal(a.tasks[0].owner, OWNER);
	assert_int_equal(a.tasks[0].size, 7);
	assert_string_equal(a.tasks[0].source_url, "http://127.0.0.1:1");
	/* The hash is over the meaning, not the spelling. */
	assert_int_equal(bl_wire_assign_parse(same, strlen(same), 10, &b,
	    &err), 0);
	assert_string_equal(a.hash, b.hash);
	bl_wire_assign_release(&b);
	bl_wire_assign_release(&a);
	assert_int_equal(bl_wire_assign_parse(body, strlen(body), 0, &a,
	    &err), -1);
	assert_int_equal(err.code, BL_ETOOBIG);
	snprintf(bad, sizeof(bad), "%.*s", (int)(strstr(body, "http://") -
	    body), body);
	strcat(bad, "http://u:p@127.0.0.1:1\"}}]}");
	assert_int_equal(bl_wire_assign_parse(bad, strlen(bad), 10, &a, &err),
	    -1);
	assert_int_equal(err.code, BL_EINVAL);
	assert_non_null(strstr(err.msg, "tasks[0].source"));
	assert_int_equal(bl_wire_assign_parse("{", 1, 10, &a, &err), -1);
	assert_int_equal(err.code, BL_EPARSE);
	assert_int_equal(bl_wire_assign_parse("{\"id\":\"" AID "\",\"tasks\":"
	    "[1]}", strlen("{\"id\":\"" AID "\",\"tasks\":[1]}"), 10, &a,
	    &err), -1);
	assert_non_null(strstr(err.msg, "tasks[0]"));
}

static void
test_wire__throttle_and_delete_bodies_are_strict(void **state)
{
	unsigned char md5[16];
	struct bl_err err;
	char *fwd = (char *)"untouched";
	long long bps = -1;

	assert_int_equal(bl_wire_throttle_parse(B("{\"bytes_per_sec\":5}"),
	    &bps, &err), 0);
	assert_int_equal(bps, 5);
	assert_int_equal(bl_wire_throttle_parse(B("{\"bytes_per_sec\":-1}"),
	    &bps, &err), -1);
	assert_int_equal(bl_wire_throttle_parse(B("{\"bytes_per_sec\":1.5}"),
	    &bps, &err), -1);
	assert_int_equal(bl_wire_throttle_parse(
	    B("{\"bytes_per_sec\":1,\"x\":1}"), &bps, &err), -1);
	assert_non_null(strstr(err.msg, "body.x"));
	assert_int_equal(bps, 5);
	assert_int_equal(bl_wire_delete_parse(B("{\"md5\":\"" MD5 "\"}"), md5,
	    &fwd, &err), 0);
	assert_null(fwd);
	assert_int_equal(bl_wire_delete_parse(B("{\"md5\":\"" MD5 "\","
	    "\"forward_to\":\"http://h:1\"}"), md5, &fwd, &err), 0);
	assert_string_equal(fwd, "http://h:1");
	free(fwd);
	assert_int_equal(bl_wire_delete_parse(B("{\"md5\":\"" MD5 "\","
	    "\"forward_to\":\"http://h:1\\r\\n\"}"), md5, &fwd, &err), -1);
	assert_null(fwd);
	assert_int_equal(bl_wire_delete_parse(B("{}"), md5, &fwd, &err), -1);
	assert_null(fwd);
}

/* POST /v1/deletes: each object is checked as a DELETE's body is, and
 * an error names the object. */
static void
test_wire__batch_delete_bodies_are_strict_and_bounded(void **state)
{
	const char *one = "{\"owner\":\"" OWNER "\",\"object_id\":\"" OID
	    "\",\"md5\":\"" MD5 "\"}";
	unsigned char raw[16];
	struct bl_wire_dels d;
	struct bl_err err;
	char body[4096];

	(void)state;
	assert_int_equal(bl_wire_md5_from_b64(MD5, raw), 0);
	snprintf(body, sizeof(body), "{\"objects\":[%s,{\"owner\":\"" OID
	    "\",\"object_id\":\"" OWNER "\",\"md5\":\"" MD5 "\","
	    "\"forward_to\":\"http://h:1\"}]}", one);
	assert_int_equal(bl_wire_deletes_parse(B(body), 10, &d, &err), 0);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.items[0].owner, OWNER);
	assert_string_equal(d.items[0].object_id, OID);
	assert_null(d.items[0].forward_to);
	assert_memory_equal(d.items[0].md5, raw, 16);
	assert_string_equal(d.items[1].owner, OID);
	assert_string_equal(d.items[1].forward_to, "http://h:1");
	bl_wire_deletes_release(&d);
	/* Too many: BL_ETOOBIG, for a 422. */
	snprintf(body, sizeof(body), "{\"objects\":[%s,%s,%s]}", one, one,
	    one);
	assert_int_equal(bl_wire_deletes_parse(B(body), 2, &d, &err), -1);
	assert_int_equal(err.code, BL_ETOOBIG);
	assert_null(d.items);
	assert_int_equal(bl_wire_deletes_parse(B("{\"objects\":[]}"), 2, &d,
	    &err), -1);
	assert_int_equal(err.code, BL_EINVAL);
	assert_int_equal(bl_wire_deletes_parse(B("{\"objects\":{}}"), 2, &d,
	    &err), -1);
	assert_int_equal(bl_wire_deletes_parse(B("{\"objects\":["), 2, &d,
	    &err), -1);
	assert_int_equal(err.code, BL_EPARSE);
	/* Each failure names the object and the field. */
	snprintf(body, sizeof(body), "{\"objects\":[%s,{\"owner\":\"../x"
	    "\",\"object_id\":\"" OID "\",\"md5\":\"" MD5 "\"}]}", one);
	assert_int_equal(bl_wire_deletes_parse(B(body), 10, &d, &err), -1);
	assert_non_null(strstr(err.msg, "objects[1].owner"));
	snprintf(body, sizeof(body), "{\"objects\":[%s,{\"owner\":\"" OWNER
	    "\",\"object_id\":\"" OID "\",\"md5\":\"nope\"}]}", one);
	assert_int_equal(bl_wire_deletes_parse(B(body), 10, &d, &err), -1);
	assert_non_null(strstr(err.msg, "objects[1].md5"));
	snprintf(body, sizeof(body), "{\"objects\":[{\"owner\":\"" OWNER
	    "\",\"object_id\":\"" OID "\",\"md5\":\"" MD5 "\","
	    "\"forward_to\":\"ftp://h\"}]}");
	assert_int_equal(bl_wire_deletes_parse(B(body), 10, &d, &err), -1);
	assert_non_null(strstr(err.msg, "objects[0].forward_to"));
	snprintf(body, sizeof(body), "{\"objects\":[{\"owner\":\"" OWNER
	    "\",\"object_id\":\"" OID "\",\"md5\":\"" MD5 "\","
	    "\"size\":1}]}");
	assert_int_equal(bl_wire_deletes_parse(B(body), 10, &d, &err), -1);
	assert_non_null(strstr(err.msg, "objects[0].size"));
	assert_int_equal(bl_wire_deletes_parse(B("{\"objects\":[1],\"x\":2}"),
	    10, &d, &err), -1);
	assert_non_null(strstr(err.msg, "body.x"));
	assert_null(d.items);
}

/* A job's throttle share rides on the body but is not part of its
 * identity: a post again with a newer share is the same assignment. */
static void
test_wire__assignment_throttle_is_not_part_of_its_hash(void **state)
{
	struct bl_wire_assign a, b, c;
	struct bl_err err;
	const char *tasks = "\"tasks\":[{\"object_id\":\"" OID "\",\"owner\":"
	    "\"" OWNER "\",\"md5\":\"" MD5 "\",\"size\":7,\"source\":{\"node\":"
	    "\"2.stor\",\"url\":\"http://127.0.0.1:1\"}}]";
	char b1[1024], b2[1024], b3[1024];

	(void)state;
	snprintf(b1, sizeof(b1), "{\"id\":\"" AID "\",\"job\":\"" OWNER "\","
	    "\"throttle_bytes_per_sec\":1000,%s}", tasks);
	snprintf(b2, sizeof(b2), "{\"id\":\"" AID "\",\"job\":\"" OWNER "\","
	    "\"throttle_bytes_per_sec\":5000,%s}", tasks);
	snprintf(b3, sizeof(b3), "{\"id\":\"" AID "\",\"job\":\"" OID "\","
	    "%s}", tasks);
	assert_int_equal(bl_wire_assign_parse(b1, strlen(b1), 10, &a, &err), 0);
	assert_int_equal(bl_wire_assign_parse(b2, strlen(b2), 10, &b, &err), 0);
	assert_int_equal(bl_wire_assign_parse(b3, strlen(b3), 10, &c, &err), 0);
	assert_string_equal(a.job, OWNER);
	assert_int_equal(a.throttle, 1000);
	assert_int_equal(b.throttle, 5000);
	assert_int_equal(c.throttle, -1);
	assert_string_equal(a.hash, b.hash);
	/* another job is other work */
	assert_string_not_equal(a.hash, c.hash);
	bl_wire_assign_release(&a);
	bl_wire_assign_release(&b);
	bl_wire_assign_release(&c);
	snprintf(b1, sizeof(b1), "{\"id\":\"" AID "\",\"job\":\"nope\",%s}",
	    tasks);
	assert_int_equal(bl_wire_assign_parse(b1, strlen(b1), 10, &a, &err),
	    -1);
	assert_non_null(strstr(err.msg, "body.job"));
	snprintf(b1, sizeof(b1), "{\"id\":\"" AID "\",\"throttle_bytes_per_"
	    "sec\":1,%s}", tasks);
	assert_int_equal(bl_wire_assign_parse(b1, strlen(b1), 10, &a, &err),
	    -1);
	assert_non_null(strstr(err.msg, "needs body.job"));
	snprintf(b1, sizeof(b1), "{\"id\":\"" AID "\",\"job\":\"" OWNER "\","
	    "\"throttle_bytes_per_sec\":-3,%s}", tasks);
	assert_int_equal(bl_wire_assign_parse(b1, strlen(b1), 10, &a, &err),
	    -1);
	assert_non_null(strstr(err.msg, "throttle_bytes_per_sec"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_wire__object_path_takes_only_two_canonical_uuids),
		cmocka_unit_test(test_wire__md5_only_in_its_canonical_spelling),
		cmocka_unit_test(
		    test_wire__assignment_throttle_is_not_part_of_its_hash),
		cmocka_unit_test(
		    test_wire__base_urls_have_a_host_and_no_credentials),
		cmocka_unit_test(
		    test_wire__assignment_is_parsed_with_paths_in_errors),
		cmocka_unit_test(
		    test_wire__throttle_and_delete_bodies_are_strict),
		cmocka_unit_test(
		    test_wire__batch_delete_bodies_are_strict_and_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
