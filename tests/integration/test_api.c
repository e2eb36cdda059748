/* tests/integration/test_api.c - ballastd's HTTP API: every error status
 * for bad input (never a 500), token roles, audit rows, the database going
 * away and coming back, the Manta-compatible aliases, objects import. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers/th_cluster.h"

#define NAGENTS 3
#define OWNER "0c0c0c0c-1111-4222-8333-444455556666"
#define UNKNOWN_JOB "/v1/jobs/00000000-0000-4000-8000-000000000000"

static struct th_pg pg;
static struct tha_agent ag[NAGENTS];
static struct th_ctl ctl;

static const char *const names[NAGENTS] = { "a1.stor", "a2.stor",
    "a3.stor" };
static const struct th_cluster cluster = {
	.pg = &pg, .ag = ag, .ctl = &ctl, .n = NAGENTS, .names = names,
};

static int
setup(void **state)
{
	(void)state;
	return th_cluster_start(&cluster);
}

static int
teardown(void **state)
{
	(void)state;
	return th_cluster_stop(&cluster);
}

/* The status and the error code of one call. */
static long
call(const char *method, const char *target, const char *body,
    const char *token, const char *want_code)
{
	json_t *j = NULL;
	long st = th_ctl_req(&ctl, method, target, body, token, &j);

	if (want_code != NULL) {
		const char *code = json_string_value(json_object_get(
		    json_object_get(j, "error"), "code"));

		assert_non_null(code);
		assert_string_equal(code, want_code);
		assert_non_null(json_string_value(json_object_get(
		    json_object_get(j, "error"), "message")));
	}
	json_decref(j);
	return st;
}

static void
test_api__tokens_are_required_and_roles_enforced(void **state)
{
	(void)state;
	assert_int_equal(call("GET", "/v1/jobs", NULL, NULL, "unauthorized"),
	    401);
	assert_int_equal(call("GET", "/v1/jobs", NULL, "not-a-real-token-at-all",
	    "unauthorized"), 401);
	assert_int_equal(call("GET", "/v1/jobs", NULL, TH_VIEW_TOKEN, NULL),
	    200);
	assert_int_equal(call("POST", "/v1/jobs", "{\"action\":\"evacuate\","
	    "\"params\":{\"from_node\":\"a1.stor\"}}", TH_VIEW_TOKEN,
	    "forbidden"), 403);
	assert_int_equal(call("PUT", "/v1/nodes/x1", "{}", TH_VIEW_TOKEN,
	    "forbidden"), 403);
	assert_int_equal(call("GET", "/v1/nodes", NULL, TH_VIEW_TOKEN, NULL),
	    200);
}

/* A number in a query string is plain decimal digits in the parameter's
 * range or the call is refused 400, naming the parameter and its range; an
 * overflow is never wrapped into a negative offset. */
static void
test_api__query_numbers_out_of_range_are_400_on_every_route(void **state)
{
	static const char *const targets[] = {
		"/v1/jobs?offset=99999999999999999999999",
		"/v1/jobs?limit=99999999999999999999999",
		"/v1/jobs?offset=-1",
		"/v1/jobs?offset=",
		"/v1/jobs?limit=10001",
		"/v1/jobs?limit=+5",
		"/v1/jobs?limit=5x",
		"/v1/jobs?limit=%205",
		"/v1/jobs?offset=2147483648",
		"/v1/cycles?offset=99999999999999999999999",
		"/v1/cycles?limit=-3",
		"/v1/audit?offset=-1",
		"/v1/audit?limit=99999999999999999999",
		UNKNOWN_JOB "/tasks?limit=abc",
		UNKNOWN_JOB "/tasks?offset=18446744073709551617",
		"/v1/placement?object=0b4f3a2c-1f1e-4d7a-9a39-0c6b8d1e2f30"
		    "&copies=99999999999999999999",
		"/v1/placement?object=0b4f3a2c-1f1e-4d7a-9a39-0c6b8d1e2f30"
		    "&copies=0",
	};
	json_t *j = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		const char *msg;

		assert_int_equal(th_ctl_req(&ctl, "GET", targets[i], NULL,
		    TH_VIEW_TOKEN, &j), 400);
		msg = json_string_value(json_object_get(json_object_get(j,
		    "error"), "message"));
		assert_non_null(msg);
		if (strstr(msg, "want a whole number from") == NULL)
			fail_msg("%s: %s", targets[i], msg);
		json_decref(j);
	}
	/* The largest offset is accepted and echoed as it was sent. */
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/jobs?offset=2147483647",
	    NULL, TH_VIEW_TOKEN, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "offset")),
	    2147483647);
	json_decref(j);
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/jobs?limit=10000&offset=0",
	    NULL, TH_VIEW_TOKEN, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "limit")),
	    10000);
	json_decref(j);
}

static void
test_api__bad_input_gets_the_right_status_never_500(void **state)
{
	char big[1100000];

	(void)state;
	/* 400: malformed JSON, malformed ids */
	assert_int_equal(call("POST", "/v1/jobs", "{\"action\":", TH_OP_TOKEN,
	    "malformed"), 400);
	assert_int_equal(call("POST", "/v1/jobs", "[1,2]", TH_OP_TOKEN,
	    "malformed"), 400);
	assert_int_equal(call("GET", "/v1/jobs/not-a-uuid", NULL, TH_VIEW_TOKEN,
	    "malformed"), 400);
	assert_int_equal(call("GET", "/v1/jobs/0000000-0000-4000-8000-"
	    "0000000000000", NULL, TH_VIEW_TOKEN, "malformed"), 400);
	assert_int_equal(call("GET", "/jobs/../../etc", NULL, TH_VIEW_TOKEN,
	    "malformed"), 400);
	assert_int_equal(call("GET", "/v1/objects/%2e%2e", NULL, TH_VIEW_TOKEN,
	    "malformed"), 400);
	assert_int_equal(call("PUT", "/v1/nodes/bad%20id", "{}", TH_OP_TOKEN,
	    "malformed"), 400);
	/* 404: unknown ids and routes */
	assert_int_equal(call("GET", UNKNOWN_JOB, NULL, TH_VIEW_TOKEN,
	    "not_found"), 404);
	assert_int_equal(call("GET", "/jobs/00000000-0000-4000-8000-"
	    "000000000000", NULL, TH_VIEW_TOKEN, "not_found"), 404);
	assert_int_equal(call("PUT", UNKNOWN_JOB, "{\"action\":\"pause\"}",
	    TH_OP_TOKEN, "not_found"), 404);
	assert_int_equal(call("GET", UNKNOWN_JOB "/tasks", NULL, TH_VIEW_TOKEN,
	    "not_found"), 404);
	assert_int_equal(call("GET", "/v1/objects/00000000-0000-4000-8000-"
	    "000000000000", NULL, TH_VIEW_TOKEN, "not_found"), 404);
	assert_int_equal(call("POST", "/v1/nodes/nope.stor/drain", NULL,
	    TH_OP_TOKEN, "not_found"), 404);
	assert_int_equal(call("GET", "/v1/nothing", NULL, TH_VIEW_TOKEN,
	    "not_found"), 404);
	/* 422: invalid params */
	assert_int_equal(call("POST", "/v1/jobs", "{\"action\":\"evacuate\","
	    "\"params\":{\"from_node\":\"nope.stor\"}}", TH_OP_TOKEN,
	    "invalid"), 422);
	assert_int_equal(call("POST", "/v1/jobs", "{\"action\":\"evacuate\","
	    "\"params\":{\"from_node\":\"a1.stor\",\"max_objects\":-1}}",
	    TH_OP_TOKEN, "invalid"), 422);
	assert_int_equal(call("POST", "/v1/jobs", "{\"action\":\"evacuate\","
	    "\"params\":{\"from_node\":\"a1.stor\",\"extra\":1}}",
	    TH_OP_TOKEN, "invalid"), 422);
	assert_int_equal(call("POST", "/v1/jobs", "{\"action\":\"explode\","
	    "\"params\":{}}", TH_OP_TOKEN, "invalid"), 422);
	assert_int_equal(call("POST", "/v1/jobs", "{\"action\":\"rebalance\","
	    "\"params\":{\"plan\":{\"moves\":[]}}}", TH_OP_TOKEN, "invalid"),
	    422);
	assert_int_equal(call("PUT", "/v1/nodes/new.stor", "{\"weight\":-1}",
	    TH_OP_TOKEN, "invalid"), 422);
	assert_int_equal(call("PUT", "/v1/nodes/new.stor", "{\"rack\":\"r\"}",
	    TH_OP_TOKEN, "invalid"), 422);
	assert_int_equal(call("GET", "/v1/jobs?limit=0", NULL, TH_VIEW_TOKEN,
	    "malformed"), 400);
	assert_int_equal(call("GET", "/v1/jobs?state=weird", NULL,
	    TH_VIEW_TOKEN, "invalid"), 422);
	assert_int_equal(call("POST", "/v1/objects/import", "id,owner,size,"
	    "md5,copies\nnot-a-uuid,x,1,zz,a1.stor\n", TH_OP_TOKEN,
	    "invalid"), 422);
	/* 413: a body over max_body_bytes (1 MiB in tests) */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(call("POST", "/v1/objects/import", big, TH_OP_TOKEN,
	    "too_large"), 413);
	/* 405 for a known route with the wrong method */
	assert_int_equal(call("DELETE", "/v1/jobs", NULL, TH_OP_TOKEN,
	    "method_not_allowed"), 405);
}

static char *
create_job(const char *body, int manta)
{
	json_t *j = NULL;
	char *id;

	assert_int_equal(th_ctl_req(&ctl, "POST", manta ? "/jobs" : "/v1/jobs",
	    body, TH_OP_TOKEN, &j), 201);
	id = strdup(manta ? json_string_value(j) :
	    json_string_value(json_object_get(j, "id")));
	json_decref(j);
	return id;
}

static void
test_api__conflicts_and_metadata_threads(void **state)
{
	int copies[2] = { 0, 1 };
	char *id, target[128];
	json_t *job;

	(void)state;
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 5, 1000, copies, 2,
	    NULL, OWNER), 0);
	id = create_job("{\"action\":\"evacuate\",\"params\":{\"from_node\":"
	    "\"a1.stor\",\"max_objects\":2}}", 0);
	job = th_ctl_wait_job(&ctl, id, 60);
	assert_non_null(job);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(job,
	    "counters"), "total")), 2);
	json_decref(job);
	snprintf(target, sizeof(target), "/v1/jobs/%s", id);
	/* 409: pause a finished job */
	assert_int_equal(call("PUT", target, "{\"action\":\"pause\"}",
	    TH_OP_TOKEN, "conflict"), 409);
	/* 422: threads out of range; 200 within */
	assert_int_equal(call("PUT", target, "{\"action\":"
	    "\"set_metadata_threads\",\"params\":0}", TH_OP_TOKEN, "invalid"),
	    422);
	assert_int_equal(call("PUT", target, "{\"action\":"
	    "\"set_metadata_threads\",\"params\":251}", TH_OP_TOKEN,
	    "invalid"), 422);
	assert_int_equal(call("PUT", target, "{\"action\":"
	    "\"set_metadata_threads\",\"params\":{\"threads\":3}}",
	    TH_OP_TOKEN, NULL), 200);
	/* The status shows the new value at once... */
	{
		json_t *st = NULL;

		assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/status", NULL,
		    TH_VIEW_TOKEN, &st), 200);
		assert_int_equal(json_integer_value(json_object_get(st,
		    "metadata_threads")), 3);
		json_decref(st);
	}
	/* ...and the engine resizes its pool to it at run time. */
	for (int i = 0; i < 100; i++) {
		json_t *st = NULL;
		long n;

		th_ctl_req(&ctl, "GET", "/v1/status", NULL, TH_VIEW_TOKEN, &st);
		n = (long)json_integer_value(json_object_get(st,
		    "metadata_threads_active"));
		json_decref(st);
		if (n == 3)
			break;
		assert_true(i < 99);
		tha_sleep_ms(50);
	}
	/* Every mutation is audited with the token's name. */
	assert_true(th_sql_ll(pg.conninfo, "SELECT count(*) FROM audit WHERE "
	    "who = 'ops' AND action = 'set_metadata_threads'") == 1);
	assert_true(th_sql_ll(pg.conninfo, "SELECT count(*) FROM audit WHERE "
	    "who = 'ops' AND action = 'job_create'") >= 1);
	assert_true(th_sql_ll(pg.conninfo, "SELECT count(*) FROM audit WHERE "
	    "who = 'ops' AND action = 'node_create'") == NAGENTS);
	/* Filters and paging. */
	{
		json_t *l = NULL, *it;
		size_t i;

		assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/jobs?state="
		    "complete&kind=evacuate&limit=1", NULL, TH_VIEW_TOKEN, &l),
		    200);
		assert_int_equal(json_array_size(json_object_get(l, "jobs")),
		    1);
		json_array_foreach(json_object_get(l, "jobs"), i, it)
			assert_string_equal(json_string_value(json_object_get(
			    it, "state")), "complete");
		json_decref(l);
		assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/jobs?state="
		    "running", NULL, TH_VIEW_TOKEN, &l), 200);
		assert_int_equal(json_array_size(json_object_get(l, "jobs")),
		    0);
		json_decref(l);
		assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/jobs?offset=1000",
		    NULL, TH_VIEW_TOKEN, &l), 200);
		assert_int_equal(json_array_size(json_object_get(l, "jobs")),
		    0);
		json_decref(l);
	}
	free(id);
}

static void
test_api__manta_aliases_answer_in_mantas_shape(void **state)
{
	char *id, *rid, target[128];
	json_t *j = NULL, *res;
	static const char *const keys[] = { "Unprocessed", "Assigned",
	    "Skipped", "Error", "Post Processing", "Complete", "Total" };

	(void)state;
	/* a1 was drained by the job before; let it take copies again. */
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'in'"), 0);
	id = create_job("{\"action\":\"evacuate\",\"params\":{\"from_shark\":"
	    "\"a2.stor\",\"max_objects\":1}}", 1);
	assert_true(strlen(id) == 36);
	json_decref(th_ctl_wait_job(&ctl, id, 60));
	snprintf(target, sizeof(target), "/jobs/%s", id);
	assert_int_equal(th_ctl_req(&ctl, "GET", target, NULL, TH_VIEW_TOKEN,
	    &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")),
	    "complete");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "config"), "action")), "evacuate");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(j, "config"), "params"), "from_shark")),
	    "a2.stor");
	res = json_object_get(j, "results");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_true(json_is_integer(json_object_get(res, keys[i])));
	assert_int_equal(json_integer_value(json_object_get(res, "Total")), 1);
	assert_int_equal(json_integer_value(json_object_get(res, "Complete")),
	    1);
	json_decref(j);
	assert_int_equal(th_ctl_req(&ctl, "GET", "/jobs", NULL, TH_VIEW_TOKEN,
	    &j), 200);
	assert_true(json_is_array(j) && json_array_size(j) >= 1);
	json_decref(j);
	assert_int_equal(call("PUT", target, "{\"action\":"
	    "\"set_metadata_threads\",\"params\":12}", TH_OP_TOKEN, NULL), 200);
	assert_int_equal(call("PUT", target, "{\"action\":"
	    "\"set_metadata_threads\",\"params\":300}", TH_OP_TOKEN,
	    "invalid"), 422);
	snprintf(target, sizeof(target), "/jobs/%s/retry", id);
	assert_int_equal(th_ctl_req(&ctl, "POST", target, NULL, TH_OP_TOKEN,
	    &j), 201);
	rid = strdup(json_string_value(j));
	json_decref(j);
	j = th_ctl_wait_job(&ctl, rid, 60);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "kind")),
	    "retry");
	json_decref(j);
	assert_int_equal(call("POST", "/jobs/00000000-0000-4000-8000-"
	    "000000000000/retry", NULL, TH_OP_TOKEN, "not_found"), 404);
	free(rid);
	free(id);
}

static void
test_api__objects_import_and_lookup(void **state)
{
	const char *csv = "id,owner,size,md5,copies,reads_per_hour,affinity,"
	    "allowed_dcs\n"
	    "11111111-2222-4333-8444-555555555555," OWNER ",10,"
	    "0123456789abcdef0123456789abcdef,a1.stor;a2.stor,3.5,g1,dc1\n"
	    "11111111-2222-4333-8444-555555555556," OWNER ",20,"
	    "ASNFZ4mrze8BI0VniavN7w==,a3.stor,,,\n";
	json_t *j = NULL;

	(void)state;
	assert_int_equal(th_ctl_req(&ctl, "POST", "/v1/objects/import", csv,
	    TH_OP_TOKEN, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "imported")), 2);
	json_decref(j);
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/objects/11111111-2222-"
	    "4333-8444-555555555555", NULL, TH_VIEW_TOKEN, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "md5")),
	    "ASNFZ4mrze8BI0VniavN7w==");
	assert_int_equal(json_array_size(json_object_get(j, "copies")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "locations"), 0), "url")), ag[0].url);
	json_decref(j);
	/* Importing again updates and bumps the version. */
	assert_int_equal(th_ctl_req(&ctl, "POST", "/v1/objects/import", csv,
	    TH_OP_TOKEN, NULL), 200);
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT version FROM objects "
	    "WHERE id = '11111111-2222-4333-8444-555555555555'"), 2);
	assert_int_equal(th_pg_sql(&pg, "DELETE FROM objects WHERE id IN ("
	    "'11111111-2222-4333-8444-555555555555', "
	    "'11111111-2222-4333-8444-555555555556')"), 0);
}

/* The import refuses what the offline planner refuses: a row naming a node
 * that is not registered (unless the caller allows it, and is told which),
 * and a body that is not the objects CSV. Nothing of a refused import is
 * written. */
static void
test_api__objects_import_refuses_unknown_nodes_and_non_csv(void **state)
{
	const char *csv = "id,owner,size,md5,copies\n"
	    "11111111-2222-4333-8444-555555555557," OWNER ",10,"
	    "0123456789abcdef0123456789abcdef,a1.stor\n"
	    "11111111-2222-4333-8444-555555555558," OWNER ",10,"
	    "0123456789abcdef0123456789abcdef,a2.stor;ghost.stor\n";
	json_t *j = NULL;
	const char *msg;

	(void)state;
	assert_int_equal(th_ctl_req(&ctl, "POST", "/v1/objects/import", csv,
	    TH_OP_TOKEN, &j), 422);
	msg = json_string_value(json_object_get(json_object_get(j, "error"),
	    "message"));
	assert_non_null(msg);
	assert_non_null(strstr(msg, "import:3:"));
	assert_non_null(strstr(msg, "ghost.stor is not registered"));
	assert_non_null(strstr(msg, "allow_unknown_nodes=true"));
	json_decref(j);
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE id IN ('11111111-2222-4333-8444-555555555557', "
	    "'11111111-2222-4333-8444-555555555558')"), 0);

	/* Allowed explicitly: imported, and the answer names the nodes. */
	assert_int_equal(th_ctl_req(&ctl, "POST", "/v1/objects/import?"
	    "allow_unknown_nodes=true", csv, TH_OP_TOKEN, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "imported")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "unknown_nodes")),
	    1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j,
	    "unknown_nodes"), 0)), "ghost.stor");
	json_decref(j);
	assert_int_equal(call("POST", "/v1/objects/import?allow_unknown_nodes="
	    "yes", csv, TH_OP_TOKEN, "malformed"), 400);

	/* A rate that is not a finite number >= 0 is refused; one below
	 * 0.001 is stored as 0 (migrate/schema.c, v4). */
	assert_int_equal(th_ctl_req(&ctl, "POST", "/v1/objects/import",
	    "id,owner,size,md5,copies,reads_per_hour\n"
	    "11111111-2222-4333-8444-555555555559," OWNER ",10,"
	    "0123456789abcdef0123456789abcdef,a1.stor,nan\n", TH_OP_TOKEN, &j),
	    422);
	msg = json_string_value(json_object_get(json_object_get(j, "error"),
	    "message"));
	assert_non_null(msg);
	assert_non_null(strstr(msg, "import:2: field reads_per_hour"));
	json_decref(j);
	assert_int_equal(call("POST", "/v1/objects/import", "id,owner,size,md5,"
	    "copies,reads_per_hour\n11111111-2222-4333-8444-555555555559,"
	    OWNER ",10,0123456789abcdef0123456789abcdef,a1.stor,inf\n",
	    TH_OP_TOKEN, NULL), 422);
	assert_int_equal(th_ctl_req(&ctl, "POST", "/v1/objects/import",
	    "id,owner,size,md5,copies,reads_per_hour\n"
	    "11111111-2222-4333-8444-555555555559," OWNER ",10,"
	    "0123456789abcdef0123456789abcdef,a1.stor,0.0004\n", TH_OP_TOKEN,
	    NULL), 200);
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE id = '11111111-2222-4333-8444-555555555559' AND "
	    "reads_per_hour = 0"), 1);
	assert_int_equal(th_pg_sql(&pg, "DELETE FROM objects WHERE id = "
	    "'11111111-2222-4333-8444-555555555559'"), 0);

	/* Not the objects CSV: 400, never 200 {"imported":0}. */
	assert_int_equal(call("POST", "/v1/objects/import", "", TH_OP_TOKEN,
	    "malformed"), 400);
	assert_int_equal(call("POST", "/v1/objects/import", "\n\n",
	    TH_OP_TOKEN, "malformed"), 400);
	assert_int_equal(call("POST", "/v1/objects/import", "{\"objects\":[]}",
	    TH_OP_TOKEN, "malformed"), 400);
	assert_int_equal(call("POST", "/v1/objects/import", "id,owner,size,md5,"
	    "copiesXYZ\n", TH_OP_TOKEN, "malformed"), 400);
	assert_int_equal(call("POST", "/v1/objects/import", "name,size\nx,1\n",
	    TH_OP_TOKEN, "malformed"), 400);
	/* The header alone is a valid, empty import (the CLI's last chunk). */
	assert_int_equal(th_ctl_req(&ctl, "POST", "/v1/objects/import",
	    "id,owner,size,md5,copies\n", TH_OP_TOKEN, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "imported")), 0);
	assert_null(json_object_get(j, "unknown_nodes"));
	json_decref(j);
	assert_int_equal(th_pg_sql(&pg, "DELETE FROM objects WHERE id IN ("
	    "'11111111-2222-4333-8444-555555555557', "
	    "'11111111-2222-4333-8444-555555555558')"), 0);
}

static void
test_api__database_down_gives_503_and_both_resume(void **state)
{
	(void)state;
	assert_int_equal(th_pg_stop(&pg), 0);
	assert_int_equal(call("GET", "/v1/jobs", NULL, TH_VIEW_TOKEN,
	    "unavailable"), 503);
	assert_int_equal(call("GET", "/v1/nodes", NULL, TH_VIEW_TOKEN,
	    "unavailable"), 503);
	/* Auth is checked without the database. */
	assert_int_equal(call("GET", "/v1/jobs", NULL, NULL, "unauthorized"),
	    401);
	assert_int_equal(th_pg_restart(&pg), 0);
	/* Past the API's one-second connect backoff, every worker answers
	 * at once: none runs a statement on a connection the restart closed
	 * (each such worker used to answer one 503 first). */
	tha_sleep_ms(1100);
	for (int i = 0; i < 20; i++)
		assert_int_equal(call("GET", "/v1/jobs", NULL, TH_VIEW_TOKEN,
		    NULL), 200);
	/* The lost lock connection cost the lead: it is taken again. */
	assert_int_equal(th_ctl_wait_leader(&ctl, 15), 0);
	/* The engine resumes too: a new job runs to the end. */
	{
		int copies[2] = { 0, 2 };
		char *id;
		json_t *job;

		assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 3, 500,
		    copies, 2, NULL, OWNER), 0);
		assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = "
		    "'in'"), 0);
		id = create_job("{\"action\":\"evacuate\",\"params\":"
		    "{\"from_node\":\"a3.stor\"}}", 0);
		job = th_ctl_wait_job(&ctl, id, 60);
		assert_non_null(job);
		assert_string_equal(json_string_value(json_object_get(job,
		    "state")), "complete");
		json_decref(job);
		free(id);
	}
	assert_int_equal(th_verify(&ctl), 0);
}

/* GET /v1/status is reused for a moment under load, but never across a
 * write: a pause shows in the very next status. */
static void
test_api__status_shows_a_write_at_once(void **state)
{
	json_t *j;

	(void)state;
	for (int round = 0; round < 3; round++) {
		assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/status", NULL,
		    TH_VIEW_TOKEN, &j), 200);
		assert_string_equal(json_string_value(json_object_get(j,
		    "mode")), "auto");
		json_decref(j);
		assert_int_equal(th_ctl_req(&ctl, "POST",
		    "/v1/controller/pause", "{}", TH_OP_TOKEN, NULL), 200);
		assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/status", NULL,
		    TH_VIEW_TOKEN, &j), 200);
		assert_string_equal(json_string_value(json_object_get(j,
		    "mode")), "paused");
		json_decref(j);
		assert_int_equal(th_ctl_req(&ctl, "POST",
		    "/v1/controller/resume", "{}", TH_OP_TOKEN, NULL), 200);
	}
	/* an agent URL with credentials (they would reach logs) is refused,
	 * and the status still answers */
	assert_int_equal(th_ctl_req(&ctl, "PUT", "/v1/nodes/x9.stor",
	    "{\"agent_url\":\"http://u:pw@127.0.0.1:1\"}", TH_OP_TOKEN,
	    NULL), 422);
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/status", NULL,
	    TH_VIEW_TOKEN, NULL), 200);
}

/* ballastd serves HTTP on several threads with SO_REUSEPORT; that must
 * not let a second daemon share its port: the second one exits at once,
 * naming the address. */
static void
test_api__a_second_daemon_on_the_port_is_refused(void **state)
{
	char out[4096];

	(void)state;
	assert_int_not_equal(tha_run(out, sizeof(out), "'%s/ballastd' "
	    "--config '%s' 2>&1", tha_bin_dir(), ctl.conf), 0);
	assert_non_null(strstr(out, "in use"));
	assert_non_null(strstr(out, "127.0.0.1"));
	/* and the first one still answers */
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/status", NULL,
	    TH_VIEW_TOKEN, NULL), 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_api__tokens_are_required_and_roles_enforced),
		cmocka_unit_test(
		    test_api__bad_input_gets_the_right_status_never_500),
		cmocka_unit_test(test_api__query_numbers_out_of_range_are_400_on_every_route),
		cmocka_unit_test(test_api__conflicts_and_metadata_threads),
		cmocka_unit_test(
		    test_api__manta_aliases_answer_in_mantas_shape),
		cmocka_unit_test(test_api__objects_import_and_lookup),
		cmocka_unit_test(test_api__objects_import_refuses_unknown_nodes_and_non_csv),
		cmocka_unit_test(test_api__status_shows_a_write_at_once),
		cmocka_unit_test(
		    test_api__a_second_daemon_on_the_port_is_refused),
		cmocka_unit_test(
		    test_api__database_down_gives_503_and_both_resume),
	};

	return cmocka_run_group_tests_name("api", tests, setup, teardown);
}
