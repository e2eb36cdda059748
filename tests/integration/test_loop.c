/* tests/integration/test_loop.c - the control loop, leadership and reload
 * against a private PostgreSQL, real agents and real ballastd processes.
 *
 * Four agents on two datacenters with a 16 MiB quota each; objects are
 * seeded skewed onto the first two. The tests run in order and share the
 * cluster: quiet hours first (nothing moves), then a preset switch, then
 * convergence within the budgets, hysteresis, an operator's evacuation,
 * an unreachable agent, reloads, and last a leader failover mid-job.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "migrate/schema.h"
#include "tests/helpers/th_cluster.h"

#define NAGENTS	4
#define OWNER	"0b0b0b0b-0000-4000-8000-000000000001"
#define QUOTA	"16777216"
#define OBJ	(64 * 1024)

static struct th_pg pg;
static struct tha_agent ag[NAGENTS];
static struct th_ctl ctl, ctl2, ctl3;

/* check_interval_s is long: cycles are run by POST /v1/controller/run so
 * that each one is awaited, not timed. */
#define POLICY "{\"preset\":\"default\",\"check_interval_s\":3600," \
	"\"max_fill\":0.95,\"max_moves_per_cycle\":12," \
	"\"max_egress_bytes_per_cycle\":1048576}"

static const char *const names[NAGENTS] = { "a1.stor", "a2.stor", "b1.stor",
    "b2.stor" };
static const char *const agent_args[] = { "--capacity-bytes", QUOTA, NULL };
static const struct th_cluster cluster = {
	.pg = &pg, .ag = ag, .ctl = &ctl, .n = NAGENTS, .names = names,
	.agent_args = agent_args, .policy = POLICY,
};

static long long
sql(const char *q)
{
	return th_sql_ll(pg.conninfo, q);
}

/* Stops an agent and starts it again (it recounts its root). */
static int
restart(struct tha_agent *a)
{
	if (tha_agent_stop(a) != 0)
		return -1;
	return tha_agent_restart(a, NULL);
}

static int
setup(void **state)
{
	int skew[2] = { 0, 1 }, rest[2] = { 2, 3 };

	if (th_cluster_start(&cluster) != 0)
		return -1;
	/* Two datacenters: a* in dc1, b* in dc2. */
	if (th_pg_sql(&pg, "UPDATE nodes SET datacenter = 'dc2' WHERE id "
	    "LIKE 'b%'") != 0)
		return -1;
	/* 120 objects on a1+a2 (7.5 MiB each, 47%), 24 on b1+b2 (9%). */
	if (th_seed(pg.conninfo, ag, NAGENTS, 120, OBJ, skew, 2, NULL,
	    OWNER) != 0 || th_seed(pg.conninfo, ag, NAGENTS, 24, OBJ, rest, 2,
	    NULL, OWNER) != 0)
		return -1;
	/* Affinity groups, so that the colocation counts are exercised. */
	if (th_pg_sql(&pg, "UPDATE objects SET affinity = 'grp' || "
	    "substr(id::text, 1, 1)") != 0)
		return -1;
	/* An agent counts its root when it starts. */
	return th_cluster_restart_agents(&cluster);
}

static int
teardown(void **state)
{
	int rc = 0;

	/* ctl2 leads at the end (ctl was killed): it must exit cleanly. */
	if (ctl2.pid > 0 && th_ctl_stop(&ctl2) != 0)
		rc = -1;
	th_cluster_stop(&cluster);
	return rc;
}

/* Runs one cycle on c and waits for its row; returns the row's id. */
static long long
run_cycle(struct th_ctl *c)
{
	long long before = sql("SELECT coalesce(max(id), 0) FROM cycles");

	assert_int_equal(th_ctl_req(c, "POST", "/v1/controller/run", "{}",
	    TH_OP_TOKEN, NULL), 202);
	for (int i = 0; i < 300; i++) {
		long long id = sql("SELECT coalesce(max(id), 0) FROM cycles");

		if (id > before)
			return id;
		tha_sleep_ms(50);
	}
	fail_msg("no cycle was recorded");
	return -1;
}

static char *
cycle_text(long long id, const char *col)
{
	char q[256];
	PGconn *db = PQconnectdb(pg.conninfo);
	PGresult *r;
	char *s = NULL;
	const char *p[1];
	char idb[32];

	snprintf(idb, sizeof(idb), "%lld", id);
	p[0] = idb;
	snprintf(q, sizeof(q), "SELECT %s::text FROM cycles WHERE id = $1",
	    col);
	r = PQexecParams(db, q, 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	    !PQgetisnull(r, 0, 0))
		s = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(db);
	return s;
}

static void
assert_cycle(long long id, const char *col, const char *want)
{
	char *s = cycle_text(id, col);

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

/* Waits until no job is open. */
static void
wait_jobs_idle(int timeout_s)
{
	for (int i = 0; i < timeout_s * 10; i++) {
		if (sql("SELECT count(*) FROM jobs WHERE state IN ('init', "
		    "'setup', 'running', 'paused')") == 0 && sql("SELECT "
		    "count(*) FROM job_tasks WHERE cleanup IN ('source', "
		    "'orphan')") == 0)
			return;
		tha_sleep_ms(100);
	}
	fail_msg("jobs still open after %d s", timeout_s);
}

static void
put_policy(const char *body)
{
	json_t *j = NULL;

	assert_int_equal(th_ctl_req(&ctl, "PUT", "/v1/policy", body,
	    TH_OP_TOKEN, &j), 200);
	json_decref(j);
}

static void
test_loop__quiet_hours_around_now_create_no_job(void **state)
{
	char body[512];
	time_t now = time(NULL), a = now - 3600, b = now + 3600;
	struct tm ta, tb;
	long long id;

	(void)state;
	gmtime_r(&a, &ta);
	gmtime_r(&b, &tb);
	snprintf(body, sizeof(body), "{\"quiet_hours\":[{\"start\":"
	    "\"%02d:%02d\",\"end\":\"%02d:%02d\"}]}", ta.tm_hour, ta.tm_min,
	    tb.tm_hour, tb.tm_min);
	put_policy(body);
	id = run_cycle(&ctl);
	assert_cycle(id, "outcome", "quiet");
	assert_int_equal(sql("SELECT count(*) FROM jobs"), 0);
	/* The skew is seen, even though nothing moves. */
	assert_true(sql("SELECT (imbalance_before * 1000)::bigint FROM cycles "
	    "ORDER BY id DESC LIMIT 1") > 300);
	/* The audit has the change. */
	assert_true(sql("SELECT count(*) FROM audit WHERE action = "
	    "'policy_set' AND who = 'ops'") >= 1);
	put_policy("{\"quiet_hours\":[]}");
}

/* GET /v1/plan: the objects of its moves, as one string "id,id,...", and
 * whether a move touches node. */
static char *
plan_objects(const char *node, int *touches)
{
	json_t *j = NULL, *m;
	size_t i, len = 0;
	char *out = calloc(1, 65536);

	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/plan", NULL,
	    TH_VIEW_TOKEN, &j), 200);
	*touches = 0;
	json_array_foreach(json_object_get(j, "moves"), i, m) {
		const char *o = json_string_value(json_object_get(m, "object"));

		len += (size_t)snprintf(out + len, 65536 - len, "%s,", o);
		*touches |= strcmp(json_string_value(json_object_get(m,
		    "from")), node) == 0 || strcmp(json_string_value(
		    json_object_get(m, "to")), node) == 0;
	}
	json_decref(j);
	return out;
}

/* A finished job of kind/origin with one task moving object from a1.stor
 * to b1.stor, committed now. */
static void
fake_finished_job(const char *id, const char *kind, const char *object)
{
	char q[1024];

	snprintf(q, sizeof(q), "INSERT INTO jobs (id, kind, origin, state, "
	    "finished_at) VALUES ('%s', '%s', 'controller', 'complete', now())",
	    id, kind);
	assert_int_equal(th_pg_sql(&pg, q), 0);
	snprintf(q, sizeof(q), "INSERT INTO job_tasks (job, object, owner, md5, "
	    "size, version, source, dest, state, committed_at) SELECT '%s', id, "
	    "owner, md5, size, version, 'a1.stor', 'b1.stor', 'complete', now() "
	    "FROM objects WHERE id = '%s'", id, object);
	assert_int_equal(th_pg_sql(&pg, q), 0);
}

/* Anti-thrash in ballastd's planner: an object a controller job moved
 * within min_residency_s is not a candidate (an evacuation's move does not
 * count), and a node that was in a large batch cools down. */
static void
test_loop__residency_and_cooldown_hold_candidates_back(void **state)
{
	static const char *J1 = "00000000-0000-4000-8000-0000000000a1";
	static const char *J2 = "00000000-0000-4000-8000-0000000000a2";
	char *p0, *p1, *p2, first[64], needle[80];
	int touches;

	(void)state;
	put_policy("{\"preset\":\"default\",\"max_fill\":0.95,"
	    "\"max_moves_per_cycle\":12,\"max_egress_bytes_per_cycle\":1048576,"
	    "\"min_residency_s\":3600,\"node_cooldown_s\":0}");
	p0 = plan_objects("a1.stor", &touches);
	assert_true(strchr(p0, ',') != NULL);
	snprintf(first, sizeof(first), "%.*s", (int)(strchr(p0, ',') - p0),
	    p0);
	snprintf(needle, sizeof(needle), "%s,", first);
	/* An evacuation moved it: still a candidate. */
	fake_finished_job(J2, "evacuate", first);
	p1 = plan_objects("a1.stor", &touches);
	assert_non_null(strstr(p1, needle));
	/* The controller moved it: held back for the residency... */
	fake_finished_job(J1, "rebalance", first);
	p2 = plan_objects("a1.stor", &touches);
	assert_null(strstr(p2, needle));
	free(p1);
	free(p2);
	/* ...and not with the residency off. */
	put_policy("{\"min_residency_s\":0}");
	p1 = plan_objects("a1.stor", &touches);
	assert_string_equal(p0, p1);
	assert_true(touches);
	free(p1);
	/* a1.stor and b1.stor were in a batch of >= 1 byte: they cool down
	 * and no move touches them. */
	put_policy("{\"node_cooldown_s\":600,\"large_batch_bytes\":1}");
	p1 = plan_objects("a1.stor", &touches);
	assert_false(touches);
	free(p1);
	p1 = plan_objects("b1.stor", &touches);
	assert_false(touches);
	free(p1);
	free(p0);
	assert_int_equal(th_pg_sql(&pg, "DELETE FROM jobs WHERE id IN "
	    "('00000000-0000-4000-8000-0000000000a1', "
	    "'00000000-0000-4000-8000-0000000000a2')"), 0);
	put_policy(POLICY);
}

static void
throttle_all(const char *body)
{
	for (int i = 0; i < NAGENTS; i++) {
		struct tha_resp r;

		tha_request(ag[i].url, "PUT", "/v1/config/throttle", body,
		    strlen(body), THA_SIGNED, NULL, &r);
		tha_resp_free(&r);
	}
}

/* With quiet_hours_pause_inflight, entering quiet hours pauses the
 * controller's running job, and leaving them resumes it. */
static void
test_loop__quiet_hours_pause_and_resume_inflight_jobs(void **state)
{
	char body[512], q[256], *job;
	time_t now = time(NULL), a = now - 3600, b = now + 3600;
	struct tm ta, tb;
	long long id;

	(void)state;
	throttle_all("{\"bytes_per_sec\":65536}");
	id = run_cycle(&ctl);
	assert_cycle(id, "outcome", "budget_exhausted");
	job = cycle_text(id, "job");
	assert_non_null(job);
	snprintf(q, sizeof(q), "SELECT count(*) FROM jobs WHERE id = '%s' AND "
	    "state = 'running'", job);
	for (int i = 0; i < 100 && sql(q) != 1; i++)
		tha_sleep_ms(50);
	assert_int_equal(sql(q), 1);
	gmtime_r(&a, &ta);
	gmtime_r(&b, &tb);
	snprintf(body, sizeof(body), "{\"quiet_hours_pause_inflight\":true,"
	    "\"quiet_hours\":[{\"start\":\"%02d:%02d\",\"end\":"
	    "\"%02d:%02d\"}]}", ta.tm_hour, ta.tm_min, tb.tm_hour, tb.tm_min);
	put_policy(body);
	id = run_cycle(&ctl);
	assert_cycle(id, "outcome", "quiet");
	snprintf(q, sizeof(q), "SELECT count(*) FROM jobs WHERE id = '%s' AND "
	    "state = 'paused'", job);
	assert_int_equal(sql(q), 1);
	assert_int_equal(sql("SELECT cardinality(quiet_paused) FROM "
	    "controller_state"), 1);
	put_policy("{\"quiet_hours\":[]}");
	run_cycle(&ctl);
	snprintf(q, sizeof(q), "SELECT count(*) FROM jobs WHERE id = '%s' AND "
	    "state IN ('running', 'complete')", job);
	assert_int_equal(sql(q), 1);
	assert_int_equal(sql("SELECT cardinality(quiet_paused) FROM "
	    "controller_state"), 0);
	free(job);
	throttle_all("{\"bytes_per_sec\":0}");
	wait_jobs_idle(180);
	put_policy(POLICY);
}

static void
test_loop__preset_switch_changes_interval_and_threshold_next_cycle(
    void **state)
{
	json_t *j = NULL;
	long long id;

	(void)state;
	put_policy("{\"preset\":\"conservative\",\"max_fill\":0.95,"
	    "\"max_moves_per_cycle\":2}");
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/status", NULL,
	    TH_VIEW_TOKEN, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "preset")),
	    "conservative");
	assert_int_equal(json_integer_value(json_object_get(j,
	    "check_interval_s")), 1800);
	json_decref(j);
	id = run_cycle(&ctl);
	assert_cycle(id, "preset", "conservative");
	assert_cycle(id, "threshold", "0.2");
	/* A viewer cannot change it; a bad value names its key. */
	assert_int_equal(th_ctl_req(&ctl, "PUT", "/v1/policy",
	    "{\"preset\":\"default\"}", TH_VIEW_TOKEN, NULL), 403);
	assert_int_equal(th_ctl_req(&ctl, "PUT", "/v1/policy",
	    "{\"imbalance_threshold\":7}", TH_OP_TOKEN, &j), 422);
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_object_get(j, "error"), "message")), "imbalance_threshold"));
	json_decref(j);
	/* Back to the test's policy; the jobs of the conservative cycle
	 * settle first. */
	wait_jobs_idle(180);
	put_policy(POLICY);
	/* A shorter interval re-arms the timer: cycles come on their own. */
	{
		long long t0 = sql("SELECT count(*) FROM cycles WHERE trigger "
		    "= 'timer'");

		assert_int_equal(t0, 0);
		put_policy("{\"check_interval_s\":1,\"max_moves_per_cycle\":"
		    "0}");
		for (int i = 0; i < 100 && sql("SELECT count(*) FROM cycles "
		    "WHERE trigger = 'timer'") < 2; i++)
			tha_sleep_ms(100);
		assert_true(sql("SELECT count(*) FROM cycles WHERE trigger = "
		    "'timer'") >= 2);
		put_policy(POLICY);
		wait_jobs_idle(180);
	}
}

static void
test_loop__converges_within_budgets(void **state)
{
	long long planned = 0;
	json_t *j = NULL;

	(void)state;
	/* The dry run has no side effects. */
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/plan", NULL,
	    TH_VIEW_TOKEN, &j), 200);
	assert_true(json_integer_value(json_object_get(json_object_get(j,
	    "summary"), "moves")) > 0);
	json_decref(j);
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/plan?preset=weird", NULL,
	    TH_VIEW_TOKEN, NULL), 422);
	for (int i = 0; i < 30; i++) {
		long long id = run_cycle(&ctl);
		char *o = cycle_text(id, "outcome");

		assert_non_null(o);
		assert_string_not_equal(o, "error");
		if (strcmp(o, "planned") == 0 ||
		    strcmp(o, "budget_exhausted") == 0)
			planned++;
		free(o);
		wait_jobs_idle(180);
		if (sql("SELECT count(*) FROM cycles c WHERE id = (SELECT "
		    "max(id) FROM cycles) AND outcome = 'idle' AND "
		    "imbalance_before <= target") == 1)
			break;
	}
	assert_true(planned >= 2);	/* the budget needs several cycles */
	assert_true(planned <= 20);
	/* Converged: the last cycle is idle at or below the target. */
	assert_int_equal(sql("SELECT count(*) FROM cycles WHERE id = (SELECT "
	    "max(id) FROM cycles) AND outcome = 'idle' AND imbalance_before "
	    "<= target"), 1);
	/* No cycle exceeded its budgets, and no job had more moves or bytes
	 * than its cycle planned. */
	assert_int_equal(sql("SELECT count(*) FROM cycles WHERE moves > "
	    "max_moves OR bytes > max_egress_bytes"), 0);
	assert_int_equal(sql("SELECT count(*) FROM cycles c JOIN jobs j ON "
	    "j.id = c.job WHERE j.total > c.moves OR j.kind <> 'rebalance' OR "
	    "j.origin <> 'controller'"), 0);
	assert_int_equal(sql("SELECT count(*) FROM jobs WHERE state <> "
	    "'complete'"), 0);
	assert_int_equal(th_verify(&ctl), 0);
}

static void
test_loop__balanced_cluster_sees_no_moves_over_10_cycles(void **state)
{
	long long jobs = sql("SELECT count(*) FROM jobs");
	long long first = 0, last = 0;

	(void)state;
	for (int i = 0; i < 10; i++) {
		last = run_cycle(&ctl);
		if (first == 0)
			first = last;
	}
	assert_int_equal(sql("SELECT count(*) FROM jobs"), jobs);
	{
		char q[256];

		snprintf(q, sizeof(q), "SELECT count(*) FROM cycles WHERE id "
		    "BETWEEN %lld AND %lld AND outcome = 'idle' AND moves = 0",
		    first, last);
		assert_int_equal(sql(q), 10);
	}
}

static char *
sql_text(const char *q)
{
	PGconn *db = PQconnectdb(pg.conninfo);
	PGresult *r = PQexec(db, q);
	char *s = NULL;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) >= 1)
		s = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(db);
	return s;
}

/* The id (in id, 37 bytes) of the object at offset in id order, and the
 * agent holding its first copy. */
static int
object_at(int offset, char *id)
{
	char q[160], *row;
	int ai = -1;

	snprintf(q, sizeof(q), "SELECT id::text || ' ' || copies[1] FROM "
	    "objects ORDER BY id OFFSET %d LIMIT 1", offset);
	row = sql_text(q);
	assert_non_null(row);
	row[36] = '\0';
	for (int i = 0; i < NAGENTS; i++)
		if (strcmp(ag[i].name, row + 37) == 0)
			ai = i;
	assert_true(ai >= 0);
	memcpy(id, row, 37);
	free(row);
	return ai;
}

/* Reads object id n times from agent ai. */
static void
read_object(int ai, const char *id, int n)
{
	char target[200];

	snprintf(target, sizeof(target), "/v1/objects/%s/%s", OWNER, id);
	for (int i = 0; i < n; i++) {
		struct tha_resp r;

		assert_int_equal(tha_request(ag[ai].url, "GET", target, NULL, 0,
		    THA_SIGNED, NULL, &r), 0);
		assert_int_equal(r.status, 200);
		tha_resp_free(&r);
	}
}

/* Reads served by an agent end up, decayed, in objects.reads_per_hour. */
static void
test_loop__agent_reads_fold_into_reads_per_hour(void **state)
{
	char id[37], q[256];
	long long before;
	int ai;

	(void)state;
	run_cycle(&ctl);	/* resets the agents' counters */
	ai = object_at(0, id);
	snprintf(q, sizeof(q), "SELECT (reads_per_hour * 1000)::bigint FROM "
	    "objects WHERE id = '%s'", id);
	before = sql(q);
	read_object(ai, id, 5);
	run_cycle(&ctl);
	/* 5 reads add about 5 ln 2 = 3.47 to the rate (half-life 1 h);
	 * the decay over a few seconds takes off almost nothing. */
	assert_true(sql(q) > before + 3000);
	assert_true(sql(q) < before + 4000);
}

/* A fold writes only the objects read: another rate stays as stored and
 * is read decayed up to the last fold (half-life 1 h). */
static void
test_loop__unread_rates_decay_when_read_not_rewritten(void **state)
{
	char *ids, q[512];
	const char *a, *b;

	(void)state;
	run_cycle(&ctl);
	ids = sql_text("SELECT string_agg(id::text, ' ' ORDER BY id) FROM "
	    "(SELECT id FROM objects ORDER BY id OFFSET 1 LIMIT 2) x");
	assert_non_null(ids);
	a = ids;
	b = ids + 37;
	ids[36] = '\0';
	/* Stored an hour before the last fold: 8 reads 4 after the next
	 * one, 0.0015 reads 0.00075. */
	snprintf(q, sizeof(q), "WITH u AS (UPDATE objects SET reads_per_hour "
	    "= CASE id WHEN '%s' THEN 8 ELSE 0.0015 END, reads_at = (SELECT "
	    "access_folded_at FROM controller_state) - interval '1 hour' "
	    "WHERE id IN ('%s', '%s') RETURNING 1) SELECT count(*) FROM u", a,
	    a, b);
	assert_int_equal(sql(q), 2);
	run_cycle(&ctl);
	snprintf(q, sizeof(q), "SELECT (1000 * " MIG_READS_PER_HOUR("o")
	    ")::bigint FROM objects o WHERE id = '%s'", a);
	assert_true(sql(q) >= 3900);
	assert_true(sql(q) <= 4000);
	snprintf(q, sizeof(q), "SELECT (1000000 * " MIG_READS_PER_HOUR("o")
	    ")::bigint FROM objects o WHERE id = '%s'", b);
	assert_true(sql(q) >= 740);
	assert_true(sql(q) <= 750);
	snprintf(q, sizeof(q), "SELECT count(*) FROM objects WHERE id IN "
	    "('%s', '%s') AND reads_per_hour IN (8, 0.0015)", a, b);
	assert_int_equal(sql(q), 2);
	free(ids);
}

/* A read object's rate decays over the time since the last fold before its
 * new reads are added: 8, an hour later, with 2 reads in that hour, is
 * 8 * 0.5 + 2 * 0.5 = 5 (half-life 1 h). */
static void
test_loop__read_rate_decays_before_new_reads_add(void **state)
{
	char id[37], q[512];
	int ai;

	(void)state;
	run_cycle(&ctl);	/* resets the agents' counters */
	ai = object_at(3, id);
	assert_int_equal(sql("WITH u AS (UPDATE controller_state SET "
	    "access_folded_at = access_folded_at - interval '1 hour' "
	    "RETURNING 1) SELECT count(*) FROM u"), 1);
	snprintf(q, sizeof(q), "WITH u AS (UPDATE objects SET reads_per_hour "
	    "= 8, reads_at = (SELECT access_folded_at FROM controller_state) "
	    "WHERE id = '%s' RETURNING 1) SELECT count(*) FROM u", id);
	assert_int_equal(sql(q), 1);
	read_object(ai, id, 2);
	run_cycle(&ctl);
	snprintf(q, sizeof(q), "SELECT (1000 * reads_per_hour)::bigint FROM "
	    "objects WHERE id = '%s' AND reads_at = (SELECT access_folded_at "
	    "FROM controller_state)", id);
	/* The hour is a few seconds longer by the time the cycle runs. */
	assert_true(sql(q) >= 4950);
	assert_true(sql(q) <= 5000);
}

static void
test_loop__pause_and_resume_are_audited(void **state)
{
	json_t *j = NULL;
	long long id;

	(void)state;
	assert_int_equal(th_ctl_req(&ctl, "POST", "/v1/controller/pause", "{}",
	    TH_VIEW_TOKEN, NULL), 403);
	assert_int_equal(th_ctl_req(&ctl, "POST", "/v1/controller/pause", "{}",
	    TH_OP_TOKEN, NULL), 200);
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/status", NULL,
	    TH_VIEW_TOKEN, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "mode")),
	    "paused");
	json_decref(j);
	id = run_cycle(&ctl);
	assert_cycle(id, "outcome", "paused");
	assert_int_equal(th_ctl_req(&ctl, "POST", "/v1/controller/resume",
	    "{}", TH_OP_TOKEN, NULL), 200);
	assert_int_equal(sql("SELECT count(*) FROM audit WHERE action IN "
	    "('controller_pause', 'controller_resume')"), 2);
}

/* An operator drains a2 while the loop runs and a new skew appears: the
 * loop leaves a2 alone (not a source, not a destination, not counted). */
static void
test_loop__evacuation_in_autonomous_mode_keeps_the_override(void **state)
{
	int onb[2] = { 2, 3 };
	char id[37];
	long long c0;

	(void)state;
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 80, OBJ, onb, 2,
	    NULL, OWNER), 0);
	assert_int_equal(restart(&ag[2]), 0);
	assert_int_equal(restart(&ag[3]), 0);
	c0 = sql("SELECT coalesce(max(id), 0) FROM cycles");
	assert_int_equal(th_ctl_evacuate(&ctl, "a2.stor", 0, id), 201);
	for (int i = 0; i < 6; i++)
		run_cycle(&ctl);
	wait_jobs_idle(240);
	{
		char q[512];

		snprintf(q, sizeof(q), "SELECT count(*) FROM job_tasks t JOIN "
		    "jobs j ON j.id = t.job WHERE j.origin = 'controller' AND "
		    "j.id IN (SELECT job FROM cycles WHERE id > %lld) AND "
		    "(t.source = 'a2.stor' OR t.dest = 'a2.stor')", c0);
		assert_int_equal(sql(q), 0);
		snprintf(q, sizeof(q), "SELECT count(*) FROM cycles WHERE id > "
		    "%lld AND job IS NOT NULL", c0);
		assert_true(sql(q) >= 1);	/* the loop did act */
	}
	assert_int_equal(sql("SELECT count(*) FROM objects WHERE copies @> "
	    "ARRAY['a2.stor']"), 0);
	assert_int_equal(th_verify(&ctl), 0);
}

static void
test_loop__unreachable_agent_is_excluded_not_fatal(void **state)
{
	long long id;
	char *u;
	json_t *j = NULL;

	(void)state;
	tha_agent_kill9(&ag[3]);
	id = run_cycle(&ctl);
	u = cycle_text(id, "unreachable");
	assert_non_null(u);
	assert_non_null(strstr(u, "b2.stor"));
	free(u);
	{
		char *o = cycle_text(id, "outcome");

		assert_non_null(o);
		assert_string_not_equal(o, "error");
		free(o);
	}
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/cluster", NULL,
	    TH_VIEW_TOKEN, &j), 200);
	{
		size_t i;
		json_t *n;
		int seen = 0;

		json_array_foreach(json_object_get(j, "nodes"), i, n)
			if (strcmp(json_string_value(json_object_get(n, "id")),
			    "b2.stor") == 0) {
				seen = 1;
				assert_true(json_is_false(json_object_get(n,
				    "reachable")));
			}
		assert_true(seen);
	}
	json_decref(j);
	/* Placement never names it. */
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/placement?object="
	    "11111111-2222-4333-8444-555555555555&copies=2", NULL,
	    TH_VIEW_TOKEN, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "nodes")), 2);
	{
		char *s = json_dumps(j, 0);

		assert_null(strstr(s, "b2.stor"));
		free(s);
	}
	json_decref(j);
	assert_int_equal(tha_agent_restart(&ag[3], NULL), 0);
}

static long long
reloads(const char *which)
{
	json_t *j = NULL;
	long long n;

	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/status", NULL,
	    TH_VIEW_TOKEN, &j), 200);
	n = json_integer_value(json_object_get(json_object_get(j, "reloads"),
	    which));
	json_decref(j);
	return n;
}

static void
test_loop__sighup_applies_a_good_file_and_keeps_a_bad_one_out(void **state)
{
	json_t *j = NULL;
	FILE *f;

	(void)state;
	/* The run-time policy goes; the file's is in force. */
	assert_int_equal(th_ctl_req(&ctl, "DELETE", "/v1/policy", NULL,
	    TH_OP_TOKEN, NULL), 200);
	assert_int_equal(th_ctl_write_config(&ctl, NULL, "{\"preset\":"
	    "\"aggressive\",\"max_fill\":0.95}", "\"api_workers\":2"), 0);
	kill(ctl.pid, SIGHUP);
	for (int i = 0; i < 50 && reloads("ok") < 1; i++)
		tha_sleep_ms(100);
	assert_int_equal(reloads("ok"), 1);
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/policy", NULL,
	    TH_VIEW_TOKEN, &j), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "effective"), "preset")), "aggressive");
	assert_string_equal(json_string_value(json_object_get(j, "source")),
	    "file");
	json_decref(j);
	/* A key that needs a restart is named in the log. */
	{
		size_t len;
		unsigned char *log = tha_read_file(ctl.log, &len);

		assert_non_null(log);
		assert_non_null(strstr((char *)log, "api_workers or "
		    "http_threads keys changed; they take effect at the next "
		    "restart"));
		free(log);
	}
	/* A bad file: counted, logged, and the running config stays. */
	f = fopen(ctl.conf, "w");
	assert_non_null(f);
	fputs("{\"policy\":{\"imbalance_threshold\":5}", f);
	fclose(f);
	kill(ctl.pid, SIGUSR1);
	for (int i = 0; i < 50 && reloads("failed") < 1; i++)
		tha_sleep_ms(100);
	assert_int_equal(reloads("failed"), 1);
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/policy", NULL,
	    TH_VIEW_TOKEN, &j), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "effective"), "preset")), "aggressive");
	json_decref(j);
	/* Put a good file back for the next test. */
	assert_int_equal(th_ctl_write_config(&ctl, NULL, POLICY, NULL), 0);
	kill(ctl.pid, SIGHUP);
	for (int i = 0; i < 50 && reloads("ok") < 2; i++)
		tha_sleep_ms(100);
	assert_int_equal(reloads("ok"), 2);
}

/* A follower's timer ticks every interval but writes no cycles row: the
 * table keeps the cycles that ran. The metric still counts the ticks. */
static void
test_loop__follower_ticks_are_counted_not_recorded(void **state)
{
	long long rows0 = sql("SELECT count(*) FROM cycles");
	struct tha_resp r;
	const char *m;
	double ticks = 0;

	(void)state;
	assert_int_equal(th_ctl_start_ex(&ctl3, pg.conninfo, NULL,
	    "{\"preset\":\"default\",\"check_interval_s\":1}", NULL,
	    "ctl3"), 0);
	for (int i = 0; i < 100 && ticks < 3; i++) {
		tha_sleep_ms(200);
		assert_int_equal(tha_request(ctl3.url, "GET", "/metrics", NULL,
		    0, THA_UNSIGNED, NULL, &r), 0);
		m = strstr(r.body, "ballast_cycles_total{outcome=\"not_leader\"}");
		if (m != NULL)
			ticks = strtod(strchr(m, '}') + 1, NULL);
		tha_resp_free(&r);
	}
	assert_true(ticks >= 3);
	assert_int_equal(sql("SELECT count(*) FROM cycles WHERE outcome = "
	    "'not_leader'"), 0);
	assert_int_equal(sql("SELECT count(*) FROM cycles"), rows0);
	assert_int_equal(th_ctl_stop(&ctl3), 0);
}

static void
test_loop__follower_takes_over_after_kill9_and_finishes_the_job(
    void **state)
{
	json_t *j = NULL;
	char id[37];
	int copies[2] = { 0, 2 };
	struct timespec t0, t1;

	(void)state;
	assert_int_equal(th_ctl_start_ex(&ctl2, pg.conninfo, NULL, POLICY,
	    NULL, "ctl2"), 0);
	/* ctl2 follows: reads work, changes get 503 and the leader. */
	assert_int_equal(th_ctl_req(&ctl2, "GET", "/v1/status", NULL,
	    TH_VIEW_TOKEN, &j), 200);
	assert_true(json_is_false(json_object_get(json_object_get(j,
	    "leader"), "self")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "leader"), "url")), ctl.url);
	assert_true(json_is_false(json_object_get(j, "engine")));
	json_decref(j);
	assert_int_equal(th_ctl_req(&ctl2, "POST", "/v1/controller/pause",
	    "{}", TH_OP_TOKEN, &j), 503);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "error"), "leader_url")), ctl.url);
	json_decref(j);
	/* ballastctl pointed at the follower names the leader and exits 5;
	 * with --follow-leader it sends the change there. */
	{
		const char *bin = getenv("BALLAST_BIN");
		char cmd[2048];
		unsigned char *err;
		size_t len;
		int st;

		snprintf(cmd, sizeof(cmd), "BALLAST_TOKEN_FILE=%s/op.token "
		    "%s/ballastctl --server %s pause >/dev/null 2>%s/ctl.err",
		    ctl2.dir, bin ? bin : "bin", ctl2.url, ctl2.dir);
		st = system(cmd);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 5);
		snprintf(cmd, sizeof(cmd), "%s/ctl.err", ctl2.dir);
		err = tha_read_file(cmd, &len);
		assert_non_null(err);
		err[len] = '\0';
		assert_non_null(strstr((char *)err, ctl.url));
		assert_non_null(strstr((char *)err, "--follow-leader"));
		free(err);
		snprintf(cmd, sizeof(cmd), "BALLAST_TOKEN_FILE=%s/op.token "
		    "%s/ballastctl --server %s --follow-leader pause "
		    ">/dev/null 2>&1", ctl2.dir, bin ? bin : "bin", ctl2.url);
		st = system(cmd);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/status", NULL,
		    TH_VIEW_TOKEN, &j), 200);
		assert_string_equal(json_string_value(json_object_get(j,
		    "mode")), "paused");
		json_decref(j);
		assert_int_equal(th_ctl_req(&ctl, "POST",
		    "/v1/controller/resume", "{}", TH_OP_TOKEN, NULL), 200);
	}
	/* A slow evacuation, then kill -9 of the leader mid-job. */
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 30, OBJ, copies, 2,
	    NULL, OWNER), 0);
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'in'"), 0);
	for (int i = 0; i < NAGENTS; i++) {
		struct tha_resp r;

		tha_request(ag[i].url, "PUT", "/v1/config/throttle",
		    "{\"bytes_per_sec\":262144}", 24, THA_SIGNED, NULL, &r);
		tha_resp_free(&r);
	}
	assert_int_equal(th_ctl_evacuate(&ctl, "a1.stor", 0, id), 201);
	for (int i = 0; i < 100 && sql("SELECT count(*) FROM job_tasks WHERE "
	    "state = 'complete'") < 3; i++)
		tha_sleep_ms(100);
	th_ctl_kill9(&ctl);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(th_ctl_wait_leader(&ctl2, 15), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec <= 15);
	for (int i = 0; i < NAGENTS; i++) {
		struct tha_resp r;

		tha_request(ag[i].url, "PUT", "/v1/config/throttle",
		    "{\"bytes_per_sec\":0}", 19, THA_SIGNED, NULL, &r);
		tha_resp_free(&r);
	}
	j = th_ctl_wait_job(&ctl2, id, 120);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "state")),
	    "complete");
	json_decref(j);
	/* Nothing done twice to another outcome: each object has one task
	 * and its copies are distinct. */
	assert_int_equal(sql("SELECT count(*) FROM objects WHERE cardinality("
	    "copies) <> (SELECT count(DISTINCT c) FROM unnest(copies) c)"), 0);
	assert_int_equal(sql("SELECT count(*) FROM objects WHERE copies @> "
	    "ARRAY['a1.stor']"), 0);
	assert_int_equal(th_verify(&ctl2), 0);
	/* The new leader takes changes. */
	assert_int_equal(th_ctl_req(&ctl2, "POST", "/v1/controller/resume",
	    "{}", TH_OP_TOKEN, NULL), 200);
}

static int
leads(const struct th_ctl *c)
{
	json_t *j = NULL;
	int yes = th_ctl_req(c, "GET", "/v1/status", NULL, TH_VIEW_TOKEN,
	    &j) == 200 && json_is_true(json_object_get(json_object_get(j,
	    "leader"), "self"));

	json_decref(j);
	return yes;
}

/* The leader's lock connection is cut (as when its database link
 * breaks): it steps down and stops its engine, and one instance leads
 * again within 15 s. */
static void
test_loop__leader_that_loses_its_connection_steps_down(void **state)
{
	int n = 0;

	(void)state;
	assert_int_equal(th_ctl_restart(&ctl), 0);	/* a follower now */
	assert_true(leads(&ctl2));
	assert_false(leads(&ctl));
	assert_int_equal(sql("SELECT count(pg_terminate_backend(pid)) FROM "
	    "pg_locks WHERE locktype = 'advisory' AND granted"), 1);
	for (int i = 0; i < 150; i++) {
		n = leads(&ctl) + leads(&ctl2);
		if (n == 1 && (leads(&ctl) || i > 20))
			break;
		tha_sleep_ms(100);
	}
	assert_int_equal(n, 1);
	{
		unsigned char *log;
		size_t len;

		log = tha_read_file(ctl2.log, &len);
		assert_non_null(log);
		assert_non_null(strstr((char *)log, "lost leadership"));
		free(log);
	}
	assert_int_equal(th_ctl_stop(&ctl), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_loop__quiet_hours_around_now_create_no_job),
		cmocka_unit_test(
		    test_loop__residency_and_cooldown_hold_candidates_back),
		cmocka_unit_test(
		    test_loop__quiet_hours_pause_and_resume_inflight_jobs),
		cmocka_unit_test(
		  test_loop__preset_switch_changes_interval_and_threshold_next_cycle),
		cmocka_unit_test(test_loop__converges_within_budgets),
		cmocka_unit_test(
		    test_loop__balanced_cluster_sees_no_moves_over_10_cycles),
		cmocka_unit_test(
		    test_loop__agent_reads_fold_into_reads_per_hour),
		cmocka_unit_test(
		    test_loop__unread_rates_decay_when_read_not_rewritten),
		cmocka_unit_test(
		    test_loop__read_rate_decays_before_new_reads_add),
		cmocka_unit_test(test_loop__pause_and_resume_are_audited),
		cmocka_unit_test(
		    test_loop__evacuation_in_autonomous_mode_keeps_the_override),
		cmocka_unit_test(
		    test_loop__unreachable_agent_is_excluded_not_fatal),
		cmocka_unit_test(
		    test_loop__sighup_applies_a_good_file_and_keeps_a_bad_one_out),
		cmocka_unit_test(
		    test_loop__follower_ticks_are_counted_not_recorded),
		cmocka_unit_test(
		  test_loop__follower_takes_over_after_kill9_and_finishes_the_job),
		cmocka_unit_test(
		    test_loop__leader_that_loses_its_connection_steps_down),
	};

	return cmocka_run_group_tests_name("loop", tests, setup, teardown);
}
