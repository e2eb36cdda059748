/* tests/integration/test_agent_api.c - the agent's HTTP API, end to end.
 *
 * One real agent on loopback with real files; each test uses fresh ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <regex.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/agent_call.h"
#include "lib/http_client.h"
#include "tests/helpers/agent_harness.h"

static struct tha_agent ag, peer;

static int
group_setup(void **state)
{
	if (tha_agent_start(&peer, "peer", NULL) == -1)
		return -1;
	return tha_agent_start(&ag, "api", "--set", "max_tasks=50", "--set",
	    "max_body=1048576", "--set", "scan_interval=1", NULL);
}

static int
group_teardown(void **state)
{
	int a = tha_agent_stop(&ag), b = tha_agent_stop(&peer);

	tha_agent_free(&ag);
	tha_agent_free(&peer);
	tha_cleanup();
	return a == 0 && b == 0 ? 0 : -1;
}

static long
req(const char *method, const char *target, const char *body, int sign,
    const char *header, json_t **json)
{
	struct tha_resp r;
	long st;

	tha_request(ag.url, method, target, body, body ? strlen(body) : 0,
	    sign, header, &r);
	st = r.status;
	if (json != NULL)
		*json = tha_json(&r);
	tha_resp_free(&r);
	return st;
}

/* Waits until the agent's used_bytes matches the files under its root
 * (the recount runs every second in this agent). */
static long long
synced_used_bytes(void)
{
	long long bytes, count, used = -1;

	tha_tree_usage(ag.root, &bytes, &count);
	for (int i = 0; i < 200 && used != bytes; i++) {
		used = (long long)tha_metric(&ag, "ballast_agent_used_bytes");
		if (used != bytes)
			tha_sleep_ms(50);
	}
	assert_int_equal(used, bytes);
	return used;
}

static const char *
error_code(json_t *j)
{
	return json_string_value(json_object_get(json_object_get(j, "error"),
	    "code"));
}

static char *
one_task_body(const char *aid, const char *owner, const char *id,
    const char *md5, long long size, const char *url)
{
	json_t *j = json_pack("{s:s,s:[o]}", "id", aid, "tasks",
	    tha_task(owner, id, md5, size, url));
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	return s;
}

static void
test_agent_api__same_assignment_twice_is_202_different_body_is_409(
    void **state)
{
	char owner[37], id[37], md5[25], aid[37];
	unsigned char *data;
	char *body, *other;
	json_t *a, *b;

	tha_uuid(owner);
	tha_uuid(id);
	tha_uuid(aid);
	data = tha_put_object(peer.root, owner, id, 1234, md5);
	body = one_task_body(aid, owner, id, md5, 1234, peer.url);
	other = one_task_body(aid, owner, id, md5, 1235, peer.url);
	assert_int_equal(req("POST", "/v1/assignments", body, THA_SIGNED,
	    NULL, &a), 202);
	assert_true(json_is_true(json_object_get(a, "created")));
	assert_int_equal(req("POST", "/v1/assignments", body, THA_SIGNED,
	    NULL, &b), 202);
	assert_true(json_is_false(json_object_get(b, "created")));
	json_decref(a);
	json_decref(b);
	assert_int_equal(req("POST", "/v1/assignments", other, THA_SIGNED,
	    NULL, &a), 409);
	assert_string_equal(error_code(a), "conflict");
	json_decref(a);
	json_decref(tha_wait_complete(&ag, aid));
	/* The same body keeps answering 202 after completion. */
	assert_int_equal(req("POST", "/v1/assignments", body, THA_SIGNED,
	    NULL, NULL), 202);
	free(body);
	free(other);
	free(data);
}

static void
test_agent_api__delete_assignment_unknown_then_complete(void **state)
{
	char owner[37], id[37], md5[25], aid[37], target[128];
	unsigned char *data;
	char *body;
	json_t *j;

	tha_uuid(owner);
	tha_uuid(id);
	tha_uuid(aid);
	snprintf(target, sizeof(target), "/v1/assignments/%s", aid);
	assert_int_equal(req("DELETE", target, NULL, THA_SIGNED, NULL, &j),
	    404);
	assert_string_equal(error_code(j), "not_found");
	json_decref(j);
	data = tha_put_object(peer.root, owner, id, 10, md5);
	body = one_task_body(aid, owner, id, md5, 10, peer.url);
	assert_int_equal(req("POST", "/v1/assignments", body, THA_SIGNED,
	    NULL, NULL), 202);
	json_decref(tha_wait_complete(&ag, aid));
	assert_int_equal(req("DELETE", target, NULL, THA_SIGNED, NULL, NULL),
	    200);
	assert_int_equal(req("GET", target, NULL, THA_SIGNED, NULL, NULL),
	    404);
	free(body);
	free(data);
}

static void
test_agent_api__traversal_and_malformed_ids_are_400(void **state)
{
	static const char *const bad[] = {
		"/v1/objects/../../etc/passwd",
		"/v1/objects/..%2f..%2fetc/passwd",
		"/v1/objects/11111111-2222-4333-8444-555555555555/..",
		"/v1/objects/11111111-2222-4333-8444-555555555555%2f"
		    "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
		"/v1/objects/11111111-2222-4333-8444-555555555555/"
		    "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE",
		"/v1/objects/11111111-2222-4333-8444-555555555555/"
		    "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee/x",
		"/v1/objects/11111111-2222-4333-8444-555555555555/"
		    "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeee%00",
		"/v1/objects/11111111-2222-4333-8444-555555555555/"
		    "%2e%2e%2f%2e%2e%2fxxxxxxxxxxxxxxxxxxxxxxxxxx",
		"/v1/objects/x/y",
		"/v1/objects//",
		"/v1/assignments/not-a-uuid",
		"/v1/assignments/..%2f..%2fstate.db",
	};
	json_t *j;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long st = req("GET", bad[i], NULL, THA_SIGNED, NULL, &j);

		if (st != 400)
			fail_msg("GET %s answered %ld, want 400", bad[i], st);
		assert_string_equal(error_code(j), "invalid");
		json_decref(j);
	}
	/* A malformed id in a body is refused as well. */
	assert_int_equal(req("POST", "/v1/assignments", "{\"id\":\"../x\","
	    "\"tasks\":[]}", THA_SIGNED, NULL, NULL), 400);
	assert_int_equal(req("POST", "/v1/assignments",
	    "{\"id\":\"11111111-2222-4333-8444-555555555555\",\"tasks\":[{"
	    "\"object_id\":\"../../etc\",\"owner\":"
	    "\"11111111-2222-4333-8444-555555555555\",\"md5\":"
	    "\"1B2M2Y8AsgTpgAmY7PhCfg==\",\"size\":1,\"source\":{\"node\":"
	    "\"a\",\"url\":\"http://127.0.0.1:1\"}}]}", THA_SIGNED, NULL,
	    NULL), 400);
}

static void
test_agent_api__urls_carrying_credentials_are_400(void **state)
{
	char owner[37], id[37], md5[25], target[128];
	unsigned char *data;
	json_t *j;

	/* A source URL with user:password@ ... */
	assert_int_equal(req("POST", "/v1/assignments",
	    "{\"id\":\"11111111-2222-4333-8444-555555555555\",\"tasks\":[{"
	    "\"object_id\":\"11111111-2222-4333-8444-555555555555\","
	    "\"owner\":\"11111111-2222-4333-8444-555555555555\",\"md5\":"
	    "\"1B2M2Y8AsgTpgAmY7PhCfg==\",\"size\":1,\"source\":{\"node\":"
	    "\"a\",\"url\":\"http://u:secret@127.0.0.1:1\"}}]}", THA_SIGNED,
	    NULL, &j), 400);
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_object_get(j, "error"), "message")), "tasks[0].source"));
	json_decref(j);
	/* ... and a forward_to one are refused, and the object is kept. */
	tha_uuid(owner);
	tha_uuid(id);
	data = tha_put_object(ag.root, owner, id, 10, md5);
	snprintf(target, sizeof(target), "/v1/objects/%s/%s", owner, id);
	{
		char body[256];

		snprintf(body, sizeof(body), "{\"md5\":\"%s\",\"forward_to\":"
		    "\"http://u:secret@127.0.0.1:1\"}", md5);
		assert_int_equal(req("DELETE", target, body, THA_SIGNED, NULL,
		    NULL), 400);
	}
	assert_int_equal(req("GET", target, NULL, THA_SIGNED, NULL, NULL),
	    200);
	free(data);
}

static void
test_agent_api__unsigned_bad_and_stale_signatures_are_401(void **state)
{
	char owner[37], id[37], md5[25], target[128];
	unsigned char *data;
	json_t *j;

	tha_uuid(owner);
	tha_uuid(id);
	data = tha_put_object(ag.root, owner, id, 100, md5);
	snprintf(target, sizeof(target), "/v1/objects/%s/%s", owner, id);
	assert_int_equal(req("GET", target, NULL, THA_UNSIGNED, NULL, &j),
	    401);
	assert_string_equal(error_code(j), "unauthorized");
	json_decref(j);
	assert_int_equal(req("GET", target, NULL, THA_BAD_SIGNATURE, NULL,
	    NULL), 401);
	assert_int_equal(req("GET", target, NULL, THA_STALE, NULL, NULL), 401);
	assert_int_equal(req("GET", "/v1/access", NULL, THA_UNSIGNED, NULL,
	    NULL), 401);
	assert_int_equal(req("POST", "/v1/assignments", "{}", THA_UNSIGNED,
	    NULL, NULL), 401);
	assert_int_equal(req("DELETE", target, "{}", THA_BAD_SIGNATURE, NULL,
	    NULL), 401);
	/* Status and metrics are open by default. */
	assert_int_equal(req("GET", "/v1/status", NULL, THA_UNSIGNED, NULL,
	    NULL), 200);
	assert_int_equal(req("GET", "/metrics", NULL, THA_UNSIGNED, NULL,
	    NULL), 200);
	/* The same request, well signed, is served. */
	assert_int_equal(req("GET", target, NULL, THA_SIGNED, NULL, NULL),
	    200);
	assert_true(tha_metric(&ag, "ballast_agent_http_unauthorized_total")
	    >= 6);
	free(data);
}

static void
test_agent_api__body_limits_413_422_and_malformed_json_400(void **state)
{
	size_t big = 2 * 1024 * 1024;
	char *body = malloc(big + 1);
	json_t *j, *tasks = json_array(), *root;
	char aid[37], owner[37], id[37];
	char *s;

	memset(body, ' ', big);
	body[0] = '{';
	body[big - 1] = '}';
	body[big] = '\0';
	assert_int_equal(req("POST", "/v1/assignments", body, THA_SIGNED,
	    NULL, &j), 413);
	assert_string_equal(error_code(j), "too_large");
	json_decref(j);
	free(body);

	tha_uuid(aid);
	tha_uuid(owner);
	for (int i = 0; i < 51; i++) {
		tha_uuid(id);
		json_array_append_new(tasks, tha_task(owner, id,
		    "1B2M2Y8AsgTpgAmY7PhCfg==", 0, peer.url));
	}
	root = json_pack("{s:s,s:o}", "id", aid, "tasks", tasks);
	s = json_dumps(root, JSON_COMPACT);
	assert_int_equal(req("POST", "/v1/assignments", s, THA_SIGNED, NULL,
	    &j), 422);
	json_decref(j);
	free(s);
	json_decref(root);

	assert_int_equal(req("POST", "/v1/assignments", "{\"id\": [1,",
	    THA_SIGNED, NULL, &j), 400);
	assert_string_equal(error_code(j), "malformed");
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_object_get(j, "error"), "message")), "line"));
	json_decref(j);
	/* Unknown keys are refused, with their path. */
	assert_int_equal(req("POST", "/v1/assignments", "{\"id\":"
	    "\"11111111-2222-4333-8444-555555555555\",\"tasks\":[],"
	    "\"extra\":1}", THA_SIGNED, NULL, &j), 400);
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_object_get(j, "error"), "message")), "body.extra"));
	json_decref(j);
}

static void
test_agent_api__object_get_head_range_and_access_counts(void **state)
{
	char owner[37], id[37], md5[25], target[128], hv[128];
	unsigned char *data;
	struct tha_resp r;
	json_t *j, *objs;
	int found = 0;

	tha_uuid(owner);
	tha_uuid(id);
	data = tha_put_object(ag.root, owner, id, 10000, md5);
	snprintf(target, sizeof(target), "/v1/objects/%s/%s", owner, id);
	/* Drain earlier counts. */
	req("GET", "/v1/access", NULL, THA_SIGNED, NULL, NULL);

	tha_request(ag.url, "GET", target, NULL, 0, THA_SIGNED, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 10000);
	assert_memory_equal(r.body, data, 10000);
	assert_int_equal(tha_resp_header(&r, "Content-MD5", hv, sizeof(hv)),
	    0);
	assert_string_equal(hv, md5);
	assert_int_equal(tha_resp_header(&r, "ETag", hv, sizeof(hv)), 0);
	assert_int_equal(strlen(hv), 34);
	assert_int_equal(tha_resp_header(&r, "Content-Length", hv,
	    sizeof(hv)), 0);
	assert_string_equal(hv, "10000");
	tha_resp_free(&r);

	tha_request(ag.url, "HEAD", target, NULL, 0, THA_SIGNED, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 0);
	assert_int_equal(tha_resp_header(&r, "Content-Length", hv,
	    sizeof(hv)), 0);
	assert_string_equal(hv, "10000");
	tha_resp_free(&r);

	tha_request(ag.url, "GET", target, NULL, 0, THA_SIGNED,
	    "Range: bytes=100-199", &r);
	assert_int_equal(r.status, 206);
	assert_int_equal(r.len, 100);
	assert_memory_equal(r.body, data + 100, 100);
	tha_resp_free(&r);

	assert_int_equal(req("GET", "/v1/access", NULL, THA_SIGNED, NULL, &j),
	    200);
	objs = json_object_get(j, "objects");
	for (size_t i = 0; i < json_array_size(objs); i++) {
		json_t *o = json_array_get(objs, i);

		if (strcmp(json_string_value(json_object_get(o, "object_id")),
		    id) == 0) {
			found = 1;
			assert_string_equal(json_string_value(json_object_get(
			    o, "owner")), owner);
			/* Two GETs; the HEAD is not a read. */
			assert_int_equal(json_integer_value(json_object_get(o,
			    "reads")), 2);
		}
	}
	assert_true(found);
	json_decref(j);
	/* Counts are "since the last call". */
	assert_int_equal(req("GET", "/v1/access", NULL, THA_SIGNED, NULL, &j),
	    200);
	assert_int_equal(json_array_size(json_object_get(j, "objects")), 0);
	json_decref(j);
	free(data);
}

static void
test_agent_api__delete_with_wrong_md5_is_409_and_keeps_the_file(
    void **state)
{
	char owner[37], id[37], md5[25], target[128], path[1024], body[256];
	unsigned char *data;
	double used;
	json_t *j;

	tha_uuid(owner);
	tha_uuid(id);
	data = tha_put_object(ag.root, owner, id, 5000, md5);
	snprintf(target, sizeof(target), "/v1/objects/%s/%s", owner, id);
	snprintf(path, sizeof(path), "%s/%s/%s", ag.root, owner, id);
	snprintf(body, sizeof(body), "{\"md5\":\"%s\"}",
	    "1B2M2Y8AsgTpgAmY7PhCfg==");
	assert_int_equal(req("DELETE", target, body, THA_SIGNED, NULL, &j),
	    409);
	assert_string_equal(error_code(j), "md5_mismatch");
	json_decref(j);
	assert_true(tha_exists(path));
	used = (double)synced_used_bytes();
	snprintf(body, sizeof(body), "{\"md5\":\"%s\"}", md5);
	assert_int_equal(req("DELETE", target, body, THA_SIGNED, NULL, NULL),
	    200);
	assert_false(tha_exists(path));
	assert_true(tha_metric(&ag, "ballast_agent_used_bytes") == used - 5000);
	assert_int_equal(req("GET", target, NULL, THA_SIGNED, NULL, NULL),
	    404);
	free(data);
}

static void
test_agent_api__deleted_object_with_forward_answers_307(void **state)
{
	char owner[37], id[37], md5[25], target[128], body[256], want[256];
	char loc[256];
	unsigned char *data;
	struct tha_resp r;

	tha_uuid(owner);
	tha_uuid(id);
	data = tha_put_object(ag.root, owner, id, 3000, md5);
	snprintf(target, sizeof(target), "/v1/objects/%s/%s", owner, id);
	snprintf(body, sizeof(body), "{\"md5\":\"%s\",\"forward_to\":\"%s\"}",
	    md5, peer.url);
	assert_int_equal(req("DELETE", target, body, THA_SIGNED, NULL, NULL),
	    200);
	tha_request(ag.url, "GET", target, NULL, 0, THA_SIGNED, NULL, &r);
	assert_int_equal(r.status, 307);
	assert_int_equal(tha_resp_header(&r, "Location", loc, sizeof(loc)), 0);
	snprintf(want, sizeof(want), "%s%s", peer.url, target);
	assert_string_equal(loc, want);
	tha_resp_free(&r);
	free(data);
}

/* DELETEs that arrive together are made durable as a group (agent/delete.c)
 * and each still gets its own answer: 200 and gone (with its forward when
 * it asked for one), 409 and kept for a wrong md5, 404 for a file that is
 * not there. */
static void
test_agent_api__concurrent_deletes_each_get_their_own_answer(void **state)
{
	enum { N = 60 };
	char owner[3][37], id[N][37], md5[N][25], path[N][1024];
	char target[128], body[256];
	struct bl_acall calls[N + 1];
	struct bl_acall_opts o = { THA_SECRET, strlen(THA_SECRET), 0, 0, 0 };
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct bl_http_client *http;
	struct bl_err err;
	double used;

	(void)state;
	assert_non_null(loop);
	assert_non_null(http = bl_http_client_new(loop, &err));
	for (int k = 0; k < 3; k++)
		tha_uuid(owner[k]);
	for (int i = 0; i < N; i++) {
		tha_uuid(id[i]);
		free(tha_put_object(ag.root, owner[i % 3], id[i], 1000 + i,
		    md5[i]));
		snprintf(path[i], sizeof(path[i]), "%s/%s/%s", ag.root,
		    owner[i % 3], id[i]);
	}
	used = (double)synced_used_bytes();
	for (int i = 0; i < N; i++) {
		snprintf(target, sizeof(target), "/v1/objects/%s/%s",
		    owner[i % 3], id[i]);
		/* Object 7 is asked with the md5 of another object. */
		if (i % 2 == 0)
			snprintf(body, sizeof(body), "{\"md5\":\"%s\","
			    "\"forward_to\":\"%s\"}", md5[i == 7 ? 8 : i],
			    peer.url);
		else
			snprintf(body, sizeof(body), "{\"md5\":\"%s\"}",
			    md5[i == 7 ? 8 : i]);
		bl_acall_set(&calls[i], "DELETE", ag.url, target, strdup(body));
	}
	snprintf(target, sizeof(target), "/v1/objects/%s/%s", owner[0],
	    "00000000-0000-4000-8000-000000000000");
	bl_acall_set(&calls[N], "DELETE", ag.url, target,
	    strdup("{\"md5\":\"1B2M2Y8AsgTpgAmY7PhCfg==\"}"));
	bl_acalls_run(loop, http, &o, calls, N + 1);
	for (int i = 0; i < N; i++) {
		if (i == 7) {
			assert_int_equal(calls[i].status, 409);
			assert_true(tha_exists(path[i]));
			continue;
		}
		assert_int_equal(calls[i].status, 200);
		assert_false(tha_exists(path[i]));
	}
	assert_int_equal(calls[N].status, 404);
	for (int i = 0; i < N; i += 2) {
		struct tha_resp r;

		if (i == 7)
			continue;
		snprintf(target, sizeof(target), "/v1/objects/%s/%s",
		    owner[i % 3], id[i]);
		tha_request(ag.url, "GET", target, NULL, 0, THA_SIGNED, NULL,
		    &r);
		assert_int_equal(r.status, 307);
		tha_resp_free(&r);
	}
	/* Every removed byte is accounted for, once. */
	{
		double gone = 0;

		for (int i = 0; i < N; i++)
			if (i != 7)
				gone += 1000 + i;
		assert_true(tha_metric(&ag, "ballast_agent_used_bytes") ==
		    used - gone);
	}
	bl_acalls_release(calls, N + 1);
	bl_http_client_free(http);
	ev_loop_destroy(loop);
}

/* Fills item i of a POST /v1/deletes body. */
static json_t *
del_item(const char *owner, const char *id, const char *md5, const char *fwd)
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "owner", owner, "object_id", id,
	    "md5", md5);

	if (fwd != NULL)
		json_object_set_new(o, "forward_to", json_string(fwd));
	return o;
}

/* POST /v1/deletes gives each object the outcome a DELETE of it alone
 * would get, in the order asked: 200 and gone (with its forward), 409 and
 * kept for a wrong md5, 404 for no file, 404 for the second mention of a
 * file the first deleted. A file without an MD5 xattr past the quick size
 * is hashed on a worker first. */
static void
test_agent_api__batch_delete_answers_each_object_in_order(void **state)
{
	enum { N = 6 };
	static const size_t sizes[N] = { 2000, 3000, 0, 4000, 200000, 0 };
	static const int want[N] = { 200, 409, 404, 200, 200, 404 };
	static const char *const codes[N] = { NULL, "md5_mismatch",
	    "not_found", NULL, NULL, "not_found" };
	char owner[2][37], id[N][37], md5[N][25], path[N][1024];
	char target[128];
	json_t *objs = json_array(), *body, *j = NULL, *res;
	double used;
	char *text;

	(void)state;
	tha_uuid(owner[0]);
	tha_uuid(owner[1]);
	for (int i = 0; i < N; i++) {
		tha_uuid(id[i]);
		snprintf(path[i], sizeof(path[i]), "%s/%s/%s", ag.root,
		    owner[i % 2], id[i]);
		if (sizes[i] > 0)
			free(tha_put_object(ag.root, owner[i % 2], id[i],
			    sizes[i], md5[i]));
		else
			snprintf(md5[i], sizeof(md5[i]), "%s",
			    "1B2M2Y8AsgTpgAmY7PhCfg==");
	}
	used = (double)synced_used_bytes();
	json_array_append_new(objs, del_item(owner[0], id[0], md5[0],
	    peer.url));
	json_array_append_new(objs, del_item(owner[1], id[1], md5[0], NULL));
	json_array_append_new(objs, del_item(owner[0], id[2], md5[2], NULL));
	json_array_append_new(objs, del_item(owner[1], id[3], md5[3], NULL));
	json_array_append_new(objs, del_item(owner[0], id[4], md5[4],
	    peer.url));
	json_array_append_new(objs, del_item(owner[0], id[0], md5[0], NULL));
	body = json_pack("{s:o}", "objects", objs);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	assert_int_equal(req("POST", "/v1/deletes", text, THA_SIGNED, NULL,
	    &j), 200);
	res = json_object_get(j, "results");
	assert_int_equal(json_array_size(res), N);
	for (int i = 0; i < N; i++) {
		json_t *o = json_array_get(res, i);
		const char *ow = i % 2 && i != 5 ? owner[1] : owner[0];

		assert_string_equal(json_string_value(json_object_get(o,
		    "owner")), ow);
		assert_string_equal(json_string_value(json_object_get(o,
		    "object_id")), id[i == 5 ? 0 : i]);
		assert_int_equal(json_integer_value(json_object_get(o,
		    "status")), want[i]);
		if (codes[i] != NULL)
			assert_string_equal(error_code(o), codes[i]);
		else
			assert_true(json_is_true(json_object_get(o,
			    "deleted")));
	}
	json_decref(j);
	assert_false(tha_exists(path[0]));
	assert_true(tha_exists(path[1]));
	assert_false(tha_exists(path[3]));
	assert_false(tha_exists(path[4]));
	assert_true(tha_metric(&ag, "ballast_agent_used_bytes") ==
	    used - 2000 - 4000 - 200000);
	/* The forwards asked for are in place. */
	snprintf(target, sizeof(target), "/v1/objects/%s/%s", owner[0], id[4]);
	assert_int_equal(req("GET", target, NULL, THA_SIGNED, NULL, NULL),
	    307);
	snprintf(target, sizeof(target), "/v1/objects/%s/%s", owner[1], id[3]);
	assert_int_equal(req("GET", target, NULL, THA_SIGNED, NULL, NULL),
	    404);
	free(text);
}

/* A bad POST /v1/deletes is refused whole, and touches no file. */
static void
test_agent_api__batch_delete_refuses_bad_bodies(void **state)
{
	char owner[37], id[37], md5[25], path[1024];
	json_t *objs = json_array(), *body, *j = NULL;
	char *text;

	(void)state;
	tha_uuid(owner);
	tha_uuid(id);
	free(tha_put_object(ag.root, owner, id, 1000, md5));
	snprintf(path, sizeof(path), "%s/%s/%s", ag.root, owner, id);
	assert_int_equal(req("GET", "/v1/deletes", NULL, THA_SIGNED, NULL,
	    &j), 405);
	json_decref(j);
	assert_int_equal(req("POST", "/v1/deletes", "{\"objects\":[",
	    THA_SIGNED, NULL, &j), 400);
	assert_string_equal(error_code(j), "malformed");
	json_decref(j);
	/* One bad object: none is deleted. */
	assert_int_equal(req("POST", "/v1/deletes", "{\"objects\":[]}",
	    THA_SIGNED, NULL, &j), 400);
	json_decref(j);
	json_array_append_new(objs, del_item(owner, id, md5, NULL));
	json_array_append_new(objs, del_item(owner, "../../etc", md5, NULL));
	body = json_pack("{s:O}", "objects", objs);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	assert_int_equal(req("POST", "/v1/deletes", text, THA_SIGNED, NULL,
	    &j), 400);
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_object_get(j, "error"), "message")), "objects[1].object_id"));
	json_decref(j);
	free(text);
	assert_int_equal(req("POST", "/v1/deletes", "{}", THA_UNSIGNED, NULL,
	    NULL), 401);
	/* More than 1000 objects: 422. */
	json_array_remove(objs, 1);
	for (int i = 0; i < 1000; i++)
		json_array_append_new(objs, del_item(owner, id, md5, NULL));
	body = json_pack("{s:o}", "objects", objs);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	assert_int_equal(req("POST", "/v1/deletes", text, THA_SIGNED, NULL,
	    &j), 422);
	assert_string_equal(error_code(j), "too_large");
	json_decref(j);
	free(text);
	assert_true(tha_exists(path));
}

static void
test_agent_api__status_and_metrics_report_the_node(void **state)
{
	static const char *const names[] = {
		"ballast_agent_bytes_transferred_total",
		"ballast_agent_tasks_total{status=\"complete\"}",
		"ballast_agent_errors_total{reason=\"md5_mismatch\"}",
		"ballast_agent_errors_total{reason=\"network_error\"}",
		"ballast_agent_assignments_completed_total",
		"ballast_agent_assignment_duration_seconds_count",
		"ballast_agent_download_duration_seconds_bucket{le=\"+Inf\"}",
		"ballast_agent_cleanup_failures_total",
		"ballast_agent_inflight_transfers",
		"ballast_agent_used_bytes",
		"ballast_agent_capacity_bytes",
		"ballast_agent_bytes_served_total",
	};
	struct tha_resp r;
	regex_t sample, meta;
	json_t *j;

	assert_int_equal(regcomp(&sample, "^[a-zA-Z_:][a-zA-Z0-9_:]*"
	    "(\\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\\})? "
	    "-?[0-9][0-9.e+-]*$", REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regcomp(&meta, "^# (HELP [a-z_]+ .+|TYPE [a-z_]+ "
	    "(counter|gauge|histogram))$", REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(req("GET", "/v1/status", NULL, THA_UNSIGNED, NULL,
	    &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "node_id")),
	    "api");
	assert_true(json_integer_value(json_object_get(j, "capacity_bytes"))
	    > 0);
	assert_true(json_is_integer(json_object_get(j, "used_bytes")));
	assert_true(json_is_integer(json_object_get(j, "objects")));
	assert_true(json_is_integer(json_object_get(j, "inflight_transfers")));
	assert_non_null(json_object_get(j, "version"));
	assert_non_null(json_object_get(j, "uptime_seconds"));
	json_decref(j);
	/* used_bytes is the bytes of objects under root, files written by
	 * others included (the recount sees them). */
	{
		char owner[37], id[37], md5[25];
		long long bytes, count, used = -1, objects = -1;

		tha_uuid(owner);
		tha_uuid(id);
		free(tha_put_object(ag.root, owner, id, 7777, md5));
		tha_tree_usage(ag.root, &bytes, &count);
		for (int i = 0; i < 200; i++) {
			req("GET", "/v1/status", NULL, THA_UNSIGNED, NULL, &j);
			used = json_integer_value(json_object_get(j,
			    "used_bytes"));
			objects = json_integer_value(json_object_get(j,
			    "objects"));
			json_decref(j);
			if (used == bytes && objects == count)
				break;
			tha_sleep_ms(50);
		}
		assert_int_equal(used, bytes);
		assert_int_equal(objects, count);
		assert_true(bytes >= 7777);
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (tha_metric(&ag, names[i]) < 0)
			fail_msg("metric %s missing", names[i]);
	/* Text format: every sample line is "name[{labels}] value". */
	tha_request(ag.url, "GET", "/metrics", NULL, 0, THA_UNSIGNED, NULL,
	    &r);
	for (char *p = r.body; p && *p; ) {
		char *eol = strchr(p, '\n');

		assert_non_null(eol);
		*eol = '\0';
		if (p[0] != '#' && regexec(&sample, p, 0, NULL, 0) != 0)
			fail_msg("bad metrics line: %s", p);
		if (p[0] == '#' && regexec(&meta, p, 0, NULL, 0) != 0)
			fail_msg("bad metrics comment: %s", p);
		p = eol + 1;
	}
	tha_resp_free(&r);
	regfree(&sample);
	regfree(&meta);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_agent_api__same_assignment_twice_is_202_different_body_is_409),
		cmocka_unit_test(
		    test_agent_api__delete_assignment_unknown_then_complete),
		cmocka_unit_test(
		    test_agent_api__traversal_and_malformed_ids_are_400),
		cmocka_unit_test(
		    test_agent_api__urls_carrying_credentials_are_400),
		cmocka_unit_test(
		    test_agent_api__unsigned_bad_and_stale_signatures_are_401),
		cmocka_unit_test(
		    test_agent_api__body_limits_413_422_and_malformed_json_400),
		cmocka_unit_test(
		    test_agent_api__object_get_head_range_and_access_counts),
		cmocka_unit_test(
		    test_agent_api__delete_with_wrong_md5_is_409_and_keeps_the_file),
		cmocka_unit_test(
		    test_agent_api__deleted_object_with_forward_answers_307),
		cmocka_unit_test(
		    test_agent_api__concurrent_deletes_each_get_their_own_answer),
		cmocka_unit_test(
		    test_agent_api__batch_delete_answers_each_object_in_order),
		cmocka_unit_test(
		    test_agent_api__batch_delete_refuses_bad_bodies),
		cmocka_unit_test(
		    test_agent_api__status_and_metrics_report_the_node),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
