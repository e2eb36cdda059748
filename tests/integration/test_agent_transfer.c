/* tests/integration/test_agent_transfer.c - assignments between real agents.
 *
 * A source agent and a destination agent run on loopback with real files.
 * Each test uses fresh ids, so tests share the two agents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/helpers/agent_harness.h"

static struct tha_agent src, dst;

static int
group_setup(void **state)
{
	if (tha_agent_start(&src, "src", NULL) == -1)
		return -1;
	if (tha_agent_start(&dst, "dst", "--set", "retries=1", "--set",
	    "retry_base_ms=20", "--set", "connect_timeout_ms=2000", "--set",
	    "stall_timeout=1", NULL) == -1)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	int a = tha_agent_stop(&src), b = tha_agent_stop(&dst);

	tha_agent_free(&src);
	tha_agent_free(&dst);
	tha_cleanup();
	/* SIGTERM is a graceful stop: exit status 0. */
	return a == 0 && b == 0 ? 0 : -1;
}

static const char *
task_field(json_t *a, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(
	    json_object_get(a, "tasks"), i), key));
}

/* Waits until a writes a tmp file of owner's (and, with moved, has
 * counted transferred bytes). 1 if it did, 0 after 10 s. */
static int
wait_tmp(const struct tha_agent *a, const char *owner, int moved)
{
	for (int i = 0; i < 400; i++) {
		if (tha_count_tmp(a->root, owner) > 0 && (!moved ||
		    tha_metric(a, "ballast_agent_bytes_transferred_total") > 0))
			return 1;
		tha_sleep_ms(25);
	}
	return 0;
}

static void
assert_same_file(const char *root, const char *owner, const char *id,
    const unsigned char *data, size_t size)
{
	char path[1024];
	unsigned char *got;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%s/%s", root, owner, id);
	got = tha_read_file(path, &len);
	assert_non_null(got);
	assert_int_equal(len, size);
	assert_memory_equal(got, data, size);
	free(got);
}

static void
test_agent_transfer__download_places_verified_copies(void **state)
{
	static const size_t sizes[] = { 0, 1, 65536, 3 * 1024 * 1024 + 7 };
	char owner[37], ids[4][37], md5[4][25], aid[37];
	unsigned char *data[4];
	json_t *tasks = json_array(), *res;

	tha_uuid(owner);
	tha_uuid(aid);
	for (int i = 0; i < 4; i++) {
		tha_uuid(ids[i]);
		data[i] = tha_put_object(src.root, owner, ids[i], sizes[i],
		    md5[i]);
		assert_non_null(data[i]);
		json_array_append_new(tasks, tha_task(owner, ids[i], md5[i],
		    (long long)sizes[i], src.url));
	}
	assert_int_equal(tha_post_tasks(&dst, aid, tasks), 202);
	res = tha_wait_complete(&dst, aid);
	assert_non_null(res);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    res, "counts"), "complete")), 4);
	for (int i = 0; i < 4; i++) {
		assert_string_equal(task_field(res, (size_t)i, "status"),
		    "complete");
		assert_false(json_is_true(json_object_get(json_array_get(
		    json_object_get(res, "tasks"), (size_t)i), "skipped")));
		assert_same_file(dst.root, owner, ids[i], data[i], sizes[i]);
		free(data[i]);
	}
	assert_int_equal(tha_count_tmp(dst.root, owner), 0);
	json_decref(res);
}

static void
test_agent_transfer__rerun_under_new_id_skips_existing(void **state)
{
	char owner[37], id[37], md5[25], a1[37], a2[37];
	unsigned char *data;
	json_t *res;
	double before;

	tha_uuid(owner);
	tha_uuid(id);
	tha_uuid(a1);
	tha_uuid(a2);
	data = tha_put_object(src.root, owner, id, 200000, md5);
	assert_int_equal(tha_post_tasks(&dst, a1, json_pack("[o]",
	    tha_task(owner, id, md5, 200000, src.url))), 202);
	json_decref(tha_wait_complete(&dst, a1));
	before = tha_metric(&dst, "ballast_agent_bytes_transferred_total");
	assert_true(before >= 200000);

	assert_int_equal(tha_post_tasks(&dst, a2, json_pack("[o]",
	    tha_task(owner, id, md5, 200000, src.url))), 202);
	res = tha_wait_complete(&dst, a2);
	assert_non_null(res);
	assert_string_equal(task_field(res, 0, "status"), "complete");
	assert_true(json_is_true(json_object_get(json_array_get(
	    json_object_get(res, "tasks"), 0), "skipped")));
	/* No byte moved for the re-run. */
	assert_true(tha_metric(&dst, "ballast_agent_bytes_transferred_total")
	    == before);
	assert_same_file(dst.root, owner, id, data, 200000);
	json_decref(res);
	free(data);
}

static void
test_agent_transfer__file_written_by_others_with_right_md5_is_skipped(
    void **state)
{
	char owner[37], id[37], md5[25], other[25], aid[37];
	unsigned char *data;
	json_t *res;

	tha_uuid(owner);
	tha_uuid(id);
	tha_uuid(aid);
	/* The same bytes on both sides, written without the agent (no MD5
	 * xattr): the agent hashes the local file and skips. */
	data = tha_put_object(src.root, owner, id, 300000, md5);
	free(data);
	data = tha_put_object(dst.root, owner, id, 300000, other);
	assert_string_not_equal(md5, other);	/* random: differ */
	/* The source has different bytes; only a skip can complete this. */
	assert_int_equal(tha_post_tasks(&dst, aid, json_pack("[o]",
	    tha_task(owner, id, other, 300000, src.url))), 202);
	res = tha_wait_complete(&dst, aid);
	assert_non_null(res);
	assert_string_equal(task_field(res, 0, "status"), "complete");
	assert_true(json_is_true(json_object_get(json_array_get(
	    json_object_get(res, "tasks"), 0), "skipped")));
	assert_same_file(dst.root, owner, id, data, 300000);
	json_decref(res);
	free(data);
}

static void
test_agent_transfer__missing_object_fails_with_http_status_404(void **state)
{
	char owner[37], id[37], aid[37];
	json_t *res, *t;
	char path[1024];

	tha_uuid(owner);
	tha_uuid(id);
	tha_uuid(aid);
	assert_int_equal(tha_post_tasks(&dst, aid, json_pack("[o]",
	    tha_task(owner, id, "1B2M2Y8AsgTpgAmY7PhCfg==", 10, src.url))),
	    202);
	res = tha_wait_complete(&dst, aid);
	assert_non_null(res);
	t = json_array_get(json_object_get(res, "tasks"), 0);
	assert_string_equal(json_string_value(json_object_get(t, "status")),
	    "failed");
	assert_string_equal(json_string_value(json_object_get(t, "reason")),
	    "http_status");
	assert_int_equal(json_integer_value(json_object_get(t,
	    "http_status")), 404);
	snprintf(path, sizeof(path), "%s/%s/%s", dst.root, owner, id);
	assert_false(tha_exists(path));
	assert_int_equal(tha_count_tmp(dst.root, owner), 0);
	json_decref(res);
}

static void
test_agent_transfer__corrupt_source_is_md5_mismatch_and_leaves_no_file(
    void **state)
{
	char owner[37], id[37], md5[25], wrong[25], aid[37], path[1024];
	unsigned char *data;
	json_t *res;

	tha_uuid(owner);
	tha_uuid(id);
	tha_uuid(aid);
	data = tha_put_object(src.root, owner, id, 100000, md5);
	/* The metadata says one thing; the source holds another. */
	data[0] ^= 0xff;
	tha_md5_b64(data, 100000, wrong);
	assert_int_equal(tha_post_tasks(&dst, aid, json_pack("[o]",
	    tha_task(owner, id, wrong, 100000, src.url))), 202);
	res = tha_wait_complete(&dst, aid);
	assert_non_null(res);
	assert_string_equal(task_field(res, 0, "status"), "failed");
	assert_string_equal(task_field(res, 0, "reason"), "md5_mismatch");
	snprintf(path, sizeof(path), "%s/%s/%s", dst.root, owner, id);
	assert_false(tha_exists(path));
	assert_int_equal(tha_count_tmp(dst.root, owner), 0);
	assert_true(tha_metric(&dst,
	    "ballast_agent_errors_total{reason=\"md5_mismatch\"}") >= 1);
	json_decref(res);
	free(data);
}

static void
test_agent_transfer__source_down_is_network_error(void **state)
{
	char owner[37], id[37], aid[37], url[64];
	json_t *res;
	struct tha_agent gone;

	/* An agent that existed and stopped: its port now refuses. */
	assert_int_equal(tha_agent_start(&gone, "gone", NULL), 0);
	snprintf(url, sizeof(url), "%s", gone.url);
	assert_int_equal(tha_agent_stop(&gone), 0);
	tha_agent_free(&gone);
	tha_uuid(owner);
	tha_uuid(id);
	tha_uuid(aid);
	assert_int_equal(tha_post_tasks(&dst, aid, json_pack("[o]",
	    tha_task(owner, id, "1B2M2Y8AsgTpgAmY7PhCfg==", 10, url))), 202);
	res = tha_wait_complete(&dst, aid);
	assert_non_null(res);
	assert_string_equal(task_field(res, 0, "status"), "failed");
	assert_string_equal(task_field(res, 0, "reason"), "network_error");
	/* retries=1: two attempts in all. */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    json_object_get(res, "tasks"), 0), "attempts")), 2);
	json_decref(res);
}

static void
test_agent_transfer__silent_source_is_timeout(void **state)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char owner[37], id[37], aid[37], url[64];
	json_t *res;
	int lfd;

	/* A source that accepts connections and never answers. */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 16), 0);
	getsockname(lfd, (struct sockaddr *)&sin, &sl);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sin.sin_port));
	tha_uuid(owner);
	tha_uuid(id);
	tha_uuid(aid);
	assert_int_equal(tha_post_tasks(&dst, aid, json_pack("[o]",
	    tha_task(owner, id, "1B2M2Y8AsgTpgAmY7PhCfg==", 10, url))), 202);
	res = tha_wait_complete(&dst, aid);
	close(lfd);
	assert_non_null(res);
	assert_string_equal(task_field(res, 0, "status"), "failed");
	assert_string_equal(task_field(res, 0, "reason"), "timeout");
	assert_int_equal(tha_count_tmp(dst.root, owner), 0);
	json_decref(res);
}

static void
test_agent_transfer__over_quota_is_insufficient_space(void **state)
{
	char owner[37], id[37], md5[25], aid[37], path[1024];
	struct tha_agent a;
	unsigned char *data;
	json_t *res;

	tha_uuid(owner);
	tha_uuid(id);
	tha_uuid(aid);
	data = tha_put_object(src.root, owner, id, 5000, md5);
	assert_int_equal(tha_agent_start(&a, "quota", "--capacity-bytes",
	    "4096", NULL), 0);
	assert_int_equal(tha_post_tasks(&a, aid, json_pack("[o]",
	    tha_task(owner, id, md5, 5000, src.url))), 202);
	res = tha_wait_complete(&a, aid);
	assert_non_null(res);
	assert_string_equal(task_field(res, 0, "status"), "failed");
	assert_string_equal(task_field(res, 0, "reason"),
	    "insufficient_space");
	snprintf(path, sizeof(path), "%s/%s/%s", a.root, owner, id);
	assert_false(tha_exists(path));
	assert_int_equal(tha_agent_stop(&a), 0);
	tha_agent_free(&a);
	json_decref(res);
	free(data);
}

static void
test_agent_transfer__one_bad_task_does_not_fail_the_others(void **state)
{
	char owner[37], good[37], missing[37], md5[25], aid[37];
	unsigned char *data;
	json_t *res, *counts;

	tha_uuid(owner);
	tha_uuid(good);
	tha_uuid(missing);
	tha_uuid(aid);
	data = tha_put_object(src.root, owner, good, 5000, md5);
	assert_int_equal(tha_post_tasks(&dst, aid, json_pack("[o,o]",
	    tha_task(owner, missing, md5, 5000, src.url), tha_task(owner, good,
	    md5, 5000, src.url))), 202);
	res = tha_wait_complete(&dst, aid);
	assert_non_null(res);
	counts = json_object_get(res, "counts");
	assert_int_equal(json_integer_value(json_object_get(counts,
	    "failed")), 1);
	assert_int_equal(json_integer_value(json_object_get(counts,
	    "complete")), 1);
	assert_string_equal(task_field(res, 1, "status"), "complete");
	assert_same_file(dst.root, owner, good, data, 5000);
	json_decref(res);
	free(data);
}

/* Starts a (1 MiB/s) with one task of size bytes from src, new ids in
 * owner, id and aid, and waits until its bytes land in the tmp file.
 * Returns the object's bytes (free). */
static unsigned char *
start_slow_transfer(struct tha_agent *a, const char *name, char owner[37],
    char id[37], char aid[37], size_t size)
{
	unsigned char *data;
	char md5[25];

	tha_uuid(owner);
	tha_uuid(id);
	tha_uuid(aid);
	data = tha_put_object(src.root, owner, id, size, md5);
	assert_int_equal(tha_agent_start(a, name, "--throttle", "1048576",
	    NULL), 0);
	assert_int_equal(tha_post_tasks(a, aid, json_pack("[o]",
	    tha_task(owner, id, md5, (long long)size, src.url))), 202);
	assert_true(wait_tmp(a, owner, 1));
	return data;
}

/* GET /v1/assignments/{aid}{query} on a, answered status; its JSON. */
static json_t *
get_assignment(const struct tha_agent *a, const char *aid, const char *query,
    long status)
{
	char target[160];
	struct tha_resp r;
	json_t *j;

	snprintf(target, sizeof(target), "/v1/assignments/%s%s", aid, query);
	assert_int_equal(tha_request(a->url, "GET", target, NULL, 0,
	    THA_SIGNED, NULL, &r), 0);
	assert_int_equal(r.status, status);
	j = tha_json(&r);
	assert_non_null(j);
	tha_resp_free(&r);
	return j;
}

static void
test_agent_transfer__kill9_mid_transfer_then_restart_resumes(void **state)
{
	char owner[37], id[37], aid[37], path[1024], target[128];
	const char *unthrottled[] = { "--throttle", "0", NULL };
	unsigned char *data;
	struct tha_agent slow;
	struct tha_resp r;
	json_t *res;
	const size_t size = 6 * 1024 * 1024;

	data = start_slow_transfer(&slow, "slow", owner, id, aid, size);
	/* Still running: the assignment cannot be deleted. */
	snprintf(target, sizeof(target), "/v1/assignments/%s", aid);
	tha_request(slow.url, "DELETE", target, NULL, 0, THA_SIGNED, NULL, &r);
	assert_int_equal(r.status, 409);
	tha_resp_free(&r);
	tha_agent_kill9(&slow);
	snprintf(path, sizeof(path), "%s/%s/%s", slow.root, owner, id);
	assert_false(tha_exists(path));
	assert_int_equal(tha_count_tmp(slow.root, owner), 1);

	assert_int_equal(tha_agent_restart(&slow, unthrottled), 0);
	/* Start-up removed the stale tmp file before resuming. */
	res = tha_wait_complete(&slow, aid);
	assert_non_null(res);
	assert_string_equal(task_field(res, 0, "status"), "complete");
	assert_same_file(slow.root, owner, id, data, size);
	assert_int_equal(tha_count_tmp(slow.root, owner), 0);
	assert_int_equal(tha_agent_stop(&slow), 0);
	tha_agent_free(&slow);
	json_decref(res);
	free(data);
}

/* GET ?tasks=if_complete (the engine's poll): a running assignment shows
 * its counts alone, a complete one its tasks too; a bad value is 400. */
static void
test_agent_transfer__poll_shows_counts_alone_until_complete(void **state)
{
	char owner[37], id[37], aid[37];
	unsigned char *data;
	struct tha_agent slow;
	json_t *res, *counts;
	const size_t size = 4 * 1024 * 1024;

	data = start_slow_transfer(&slow, "poll", owner, id, aid, size);
	res = get_assignment(&slow, aid, "?tasks=if_complete", 200);
	assert_string_equal(json_string_value(json_object_get(res, "state")),
	    "running");
	assert_null(json_object_get(res, "tasks"));
	counts = json_object_get(res, "counts");
	assert_int_equal(json_integer_value(json_object_get(counts, "total")),
	    1);
	assert_int_equal(json_integer_value(json_object_get(counts,
	    "pending")), 1);
	json_decref(res);

	/* With tasks=all (the default): the tasks, running. */
	res = get_assignment(&slow, aid, "?tasks=all", 200);
	assert_int_equal(json_array_size(json_object_get(res, "tasks")), 1);
	assert_string_equal(task_field(res, 0, "status"), "pending");
	json_decref(res);

	res = get_assignment(&slow, aid, "?tasks=some", 400);
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_object_get(res, "error"), "message")), "tasks"));
	json_decref(res);

	assert_int_equal(tha_throttle(&slow, 0), 200);
	json_decref(tha_wait_complete(&slow, aid));
	res = get_assignment(&slow, aid, "?tasks=if_complete", 200);
	assert_string_equal(json_string_value(json_object_get(res, "state")),
	    "complete");
	assert_string_equal(task_field(res, 0, "status"), "complete");
	counts = json_object_get(res, "counts");
	assert_int_equal(json_integer_value(json_object_get(counts,
	    "bytes")), (long long)size);
	json_decref(res);
	assert_same_file(slow.root, owner, id, data, size);
	assert_int_equal(tha_agent_stop(&slow), 0);
	tha_agent_free(&slow);
	free(data);
}

static void
test_agent_transfer__sigterm_exits_0_cleans_up_and_work_resumes(void **state)
{
	char owner[37], id[37], md5[25], aid[37], path[1024];
	const char *unthrottled[] = { "--throttle", "0", NULL };
	unsigned char *data;
	struct tha_agent a;
	json_t *res;
	const size_t size = 6 * 1024 * 1024;

	tha_uuid(owner);
	tha_uuid(id);
	tha_uuid(aid);
	data = tha_put_object(src.root, owner, id, size, md5);
	/* No grace period: the transfer in flight is cut at SIGTERM. */
	assert_int_equal(tha_agent_start(&a, "term", "--throttle", "1048576",
	    "--set", "shutdown_timeout=0", NULL), 0);
	assert_int_equal(tha_post_tasks(&a, aid, json_pack("[o]",
	    tha_task(owner, id, md5, (long long)size, src.url))), 202);
	assert_true(wait_tmp(&a, owner, 0));
	assert_int_equal(tha_agent_stop(&a), 0);
	snprintf(path, sizeof(path), "%s/%s/%s", a.root, owner, id);
	assert_false(tha_exists(path));
	/* The cut transfer removed its own tmp file. */
	assert_int_equal(tha_count_tmp(a.root, owner), 0);
	assert_int_equal(tha_agent_restart(&a, unthrottled), 0);
	res = tha_wait_complete(&a, aid);
	assert_non_null(res);
	assert_string_equal(task_field(res, 0, "status"), "complete");
	assert_same_file(a.root, owner, id, data, size);
	assert_int_equal(tha_agent_stop(&a), 0);
	tha_agent_free(&a);
	json_decref(res);
	free(data);
}

static void
test_agent_transfer__sigterm_lets_the_transfer_in_flight_finish(void **state)
{
	char owner[37], id[37], md5[25], aid[37];
	unsigned char *data;
	struct tha_agent a;
	json_t *res;
	const size_t size = 2 * 1024 * 1024;

	tha_uuid(owner);
	tha_uuid(id);
	tha_uuid(aid);
	data = tha_put_object(src.root, owner, id, size, md5);
	assert_int_equal(tha_agent_start(&a, "grace", "--throttle", "1048576",
	    "--set", "shutdown_timeout=60", NULL), 0);
	assert_int_equal(tha_post_tasks(&a, aid, json_pack("[o]",
	    tha_task(owner, id, md5, (long long)size, src.url))), 202);
	assert_true(wait_tmp(&a, owner, 0));
	/* The stop waits for the download, which completes before exit. */
	assert_int_equal(tha_agent_stop(&a), 0);
	assert_same_file(a.root, owner, id, data, size);
	assert_int_equal(tha_count_tmp(a.root, owner), 0);
	assert_int_equal(tha_agent_restart(&a, NULL), 0);
	res = tha_wait_complete(&a, aid);
	assert_non_null(res);
	assert_string_equal(task_field(res, 0, "status"), "complete");
	/* Recorded before exit: no second attempt was needed. */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    json_object_get(res, "tasks"), 0), "attempts")), 1);
	assert_int_equal(tha_agent_stop(&a), 0);
	tha_agent_free(&a);
	json_decref(res);
	free(data);
}

static void
test_agent_transfer__startup_removes_stale_tmp_files(void **state)
{
	char owner[37], id[37], md5[25], tmp[1024], keep[1024];
	struct tha_agent a;
	unsigned char *data;
	FILE *f;

	tha_uuid(owner);
	tha_uuid(id);
	memset(&a, 0, sizeof(a));
	snprintf(a.root, sizeof(a.root), "%s/stale/root", tha_tmpdir());
	snprintf(tmp, sizeof(tmp), "%s/stale", tha_tmpdir());
	mkdir(tmp, 0755);
	mkdir(a.root, 0755);
	data = tha_put_object(a.root, owner, id, 1000, md5);
	snprintf(tmp, sizeof(tmp), "%s/%s/%s.tmp.999.1", a.root, owner, id);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs("partial", f);
	fclose(f);
	snprintf(keep, sizeof(keep), "%s/%s/%s", a.root, owner, id);
	assert_int_equal(tha_agent_start(&a, "stale", NULL), 0);
	assert_false(tha_exists(tmp));
	assert_true(tha_exists(keep));
	assert_true(tha_metric(&a, "ballast_agent_used_bytes") == 1000);
	assert_true(tha_metric(&a, "ballast_agent_objects") == 1);
	assert_int_equal(tha_agent_stop(&a), 0);
	tha_agent_free(&a);
	free(data);
}

static void
test_agent_transfer__complete_assignments_are_collected_after_ttl(
    void **state)
{
	char owner[37], id[37], md5[25], aid[37], target[128];
	struct tha_agent a;
	struct tha_resp r;
	unsigned char *data;
	long st = 0;

	tha_uuid(owner);
	tha_uuid(id);
	tha_uuid(aid);
	data = tha_put_object(src.root, owner, id, 100, md5);
	assert_int_equal(tha_agent_start(&a, "ttl", "--set",
	    "assignment_ttl=1", "--set", "gc_interval=1", NULL), 0);
	assert_int_equal(tha_post_tasks(&a, aid, json_pack("[o]",
	    tha_task(owner, id, md5, 100, src.url))), 202);
	json_decref(tha_wait_complete(&a, aid));
	snprintf(target, sizeof(target), "/v1/assignments/%s", aid);
	for (int i = 0; i < 200; i++) {
		tha_request(a.url, "GET", target, NULL, 0, THA_SIGNED, NULL,
		    &r);
		st = r.status;
		tha_resp_free(&r);
		if (st == 404)
			break;
		tha_sleep_ms(50);
	}
	assert_int_equal(st, 404);
	/* The object itself stays. */
	{
		char path[1024];

		snprintf(path, sizeof(path), "%s/%s/%s", a.root, owner, id);
		assert_true(tha_exists(path));
	}
	assert_int_equal(tha_agent_stop(&a), 0);
	tha_agent_free(&a);
	free(data);
}

static void
test_agent_transfer__throttle_changes_at_run_time_when_signed(void **state)
{
	const char *body = "{\"bytes_per_sec\":5000000}";
	struct tha_resp r;

	tha_request(dst.url, "PUT", "/v1/config/throttle", body, strlen(body),
	    THA_UNSIGNED, NULL, &r);
	assert_int_equal(r.status, 401);
	tha_resp_free(&r);
	assert_int_equal(tha_throttle(&dst, 5000000), 200);
	assert_true(tha_metric(&dst, "ballast_agent_throttle_bytes_per_second")
	    == 5000000);
	assert_int_equal(tha_throttle(&dst, 0), 200);
	assert_true(tha_metric(&dst, "ballast_agent_throttle_bytes_per_second")
	    == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_agent_transfer__download_places_verified_copies),
		cmocka_unit_test(
		    test_agent_transfer__rerun_under_new_id_skips_existing),
		cmocka_unit_test(
		    test_agent_transfer__file_written_by_others_with_right_md5_is_skipped),
		cmocka_unit_test(
		    test_agent_transfer__missing_object_fails_with_http_status_404),
		cmocka_unit_test(
		    test_agent_transfer__corrupt_source_is_md5_mismatch_and_leaves_no_file),
		cmocka_unit_test(
		    test_agent_transfer__source_down_is_network_error),
		cmocka_unit_test(test_agent_transfer__silent_source_is_timeout),
		cmocka_unit_test(
		    test_agent_transfer__over_quota_is_insufficient_space),
		cmocka_unit_test(
		    test_agent_transfer__one_bad_task_does_not_fail_the_others),
		cmocka_unit_test(
		    test_agent_transfer__kill9_mid_transfer_then_restart_resumes),
		cmocka_unit_test(
		    test_agent_transfer__poll_shows_counts_alone_until_complete),
		cmocka_unit_test(
		    test_agent_transfer__sigterm_exits_0_cleans_up_and_work_resumes),
		cmocka_unit_test(
		    test_agent_transfer__sigterm_lets_the_transfer_in_flight_finish),
		cmocka_unit_test(
		    test_agent_transfer__startup_removes_stale_tmp_files),
		cmocka_unit_test(
		    test_agent_transfer__complete_assignments_are_collected_after_ttl),
		cmocka_unit_test(
		    test_agent_transfer__throttle_changes_at_run_time_when_signed),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
