/* tests/integration/test_engine.c - the job engine end to end: a private
 * PostgreSQL, four real agents with real files, a real ballastd. After
 * each job the invariant verifier (ballastctl verify) must pass. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/helpers/th_cluster.h"

#define NAGENTS 4
#define OWNER "0b0b0b0b-1111-4222-8333-444455556666"

static struct th_pg pg;
static struct tha_agent ag[NAGENTS];
static struct th_ctl ctl;

static const char *const names[NAGENTS] = { "n1.stor", "n2.stor",
    "n3.stor", "n4.stor" };
static const struct th_cluster cluster = {
	.pg = &pg, .ag = ag, .ctl = &ctl, .n = NAGENTS, .names = names,
	.engine_extra = "\"max_inflight_per_node\":10,"
	    "\"max_tasks_per_assignment\":5",
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

/* Puts every node back in and every object off the test's way. */
static void
reset(void)
{
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'in'"), 0);
	assert_int_equal(th_pg_sql(&pg, "DELETE FROM objects"), 0);
}

static json_t *
get_job(const char *id)
{
	char target[128];
	json_t *j = NULL;

	snprintf(target, sizeof(target), "/v1/jobs/%s", id);
	assert_int_equal(th_ctl_req(&ctl, "GET", target, NULL, TH_VIEW_TOKEN,
	    &j), 200);
	return j;
}

/* Waits until the job ends; it must have completed. */
static json_t *
wait_complete(const char *id, int timeout_s)
{
	json_t *job = th_ctl_wait_job(&ctl, id, timeout_s);

	assert_non_null(job);
	assert_string_equal(json_string_value(json_object_get(job, "state")),
	    "complete");
	return job;
}

/* Evacuates node (all of it) and waits until the job completed with want
 * tasks complete; writes its id. */
static void
evacuate_complete(const char *node, long long want, char id[37])
{
	json_t *job;

	assert_int_equal(th_ctl_evacuate(&ctl, node, 0, id), 201);
	job = wait_complete(id, 120);
	assert_int_equal(th_job_counter(job, "complete"), want);
	json_decref(job);
}

/* Waits until the job has tasks handed to agents. */
static void
wait_assigned(const char *id)
{
	for (int i = 0; i < 600; i++) {
		json_t *j = get_job(id);
		long long a = th_job_counter(j, "assigned");

		json_decref(j);
		if (a > 0)
			return;
		tha_sleep_ms(20);
	}
	fail_msg("job %s: nothing assigned", id);
}

static int
object_file_exists(const struct tha_agent *a, const char *id)
{
	char path[1200];

	snprintf(path, sizeof(path), "%s/%s/%s", a->root, OWNER, id);
	return tha_exists(path);
}

static void
test_engine__single_copy_object_moves_from_the_evacuated_node(void **state)
{
	int copies[1] = { 0 };
	char id[37], ids[10 * 37];

	(void)state;
	reset();
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 10, 2048, copies, 1,
	    ids, OWNER), 0);
	evacuate_complete("n1.stor", 10, id);
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE copies = ARRAY['n1.stor']"), 0);
	assert_int_equal(th_verify(&ctl), 0);
}

static void
test_engine__single_copy_object_is_skipped_when_its_node_is_down(
    void **state)
{
	int one[1] = { 0 }, two[2] = { 0, 1 };
	char id[37];
	json_t *job;

	(void)state;
	reset();
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 6, 2048, one, 1,
	    NULL, OWNER), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 6, 2048, two, 2,
	    NULL, OWNER), 0);
	assert_int_equal(tha_agent_stop(&ag[0]), 0);
	assert_int_equal(th_ctl_evacuate(&ctl, "n1.stor", 0, id), 201);
	job = wait_complete(id, 120);
	/* The two-copy objects are read from n2; the single copies cannot
	 * be read from anywhere. */
	assert_int_equal(th_job_counter(job, "complete"), 6);
	assert_int_equal(th_job_counter(job, "skipped"), 6);
	assert_int_equal(th_job_reason(job, "source_unavailable"), 6);
	json_decref(job);
	/* Each skip's reason is there per task. */
	{
		char target[160];
		json_t *t, *tasks = NULL;
		size_t i;

		snprintf(target, sizeof(target), "/v1/jobs/%s/tasks?state="
		    "skipped&limit=100", id);
		assert_int_equal(th_ctl_req(&ctl, "GET", target, NULL,
		    TH_VIEW_TOKEN, &tasks), 200);
		assert_int_equal(json_array_size(json_object_get(tasks,
		    "tasks")), 6);
		json_array_foreach(json_object_get(tasks, "tasks"), i, t) {
			assert_string_equal(json_string_value(json_object_get(t,
			    "reason")), "source_unavailable");
			assert_string_equal(json_string_value(json_object_get(t,
			    "source")), "n1.stor");
		}
		json_decref(tasks);
	}
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE copies = ARRAY['n1.stor']"), 6);
	assert_int_equal(tha_agent_restart(&ag[0], NULL), 0);
	assert_int_equal(th_verify(&ctl), 0);
}

static void
test_engine__agent_down_mid_job_fails_its_tasks_and_retry_completes(
    void **state)
{
	int copies[2] = { 0, 1 };
	char id[37], rid[37];
	json_t *job = NULL;
	long long failed;

	(void)state;
	reset();
	/* Only n4 can take the copies: n1 is evacuated, n2 holds the other
	 * copy, n3 is out. n4 is slow, and dies while it works. */
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'out' "
	    "WHERE id = 'n3.stor'"), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 20, 8192, copies, 2,
	    NULL, OWNER), 0);
	assert_int_equal(tha_throttle(&ag[3], 8192), 200);
	assert_int_equal(th_ctl_evacuate(&ctl, "n1.stor", 0, id), 201);
	wait_assigned(id);
	tha_agent_kill9(&ag[3]);
	job = wait_complete(id, 120);
	failed = th_job_counter(job, "failed");
	assert_true(failed > 0);
	assert_int_equal(th_job_counter(job, "complete") + failed, 20);
	assert_int_equal(th_job_reason(job, "destination_unreachable"), failed);
	json_decref(job);
	assert_int_equal(th_verify(&ctl), 0);

	/* Back up, without the throttle: a retry job re-runs the failures. */
	assert_int_equal(tha_agent_restart(&ag[3], NULL), 0);
	assert_int_equal(tha_throttle(&ag[3], 0), 200);
	assert_int_equal(th_ctl_retry(&ctl, id, rid), 201);
	job = wait_complete(rid, 120);
	assert_int_equal(th_job_counter(job, "total"), failed);
	assert_int_equal(th_job_counter(job, "complete"), failed);
	assert_string_equal(json_string_value(json_object_get(job, "parent")),
	    id);
	json_decref(job);
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE 'n1.stor' = ANY(copies)"), 0);
	assert_int_equal(th_verify(&ctl), 0);
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'in'"), 0);
}

static void
test_engine__concurrent_metadata_change_skips_and_removes_the_orphan(
    void **state)
{
	int copies[2] = { 0, 1 };
	char id[37], ids[12 * 37], sql[512];
	json_t *job;

	(void)state;
	reset();
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'out' "
	    "WHERE id = 'n3.stor'"), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 12, 8192, copies, 2,
	    ids, OWNER), 0);
	assert_int_equal(tha_throttle(&ag[3], 16384), 200);
	assert_int_equal(th_ctl_evacuate(&ctl, "n1.stor", 0, id), 201);
	wait_assigned(id);
	/* While n4 copies: six objects are rewritten (version bump), six
	 * deleted. */
	for (int i = 0; i < 12; i++) {
		snprintf(sql, sizeof(sql), i % 2 ? "DELETE FROM objects WHERE "
		    "id = '%s'" : "UPDATE objects SET version = version + 1 "
		    "WHERE id = '%s'", ids + i * 37);
		assert_int_equal(th_pg_sql(&pg, sql), 0);
	}
	job = th_ctl_wait_job(&ctl, id, 120);
	assert_int_equal(tha_throttle(&ag[3], 0), 200);
	assert_non_null(job);
	assert_string_equal(json_string_value(json_object_get(job, "state")),
	    "complete");
	assert_int_equal(th_job_counter(job, "skipped"), 12);
	assert_int_equal(th_job_reason(job, "metadata_changed"), 12);
	assert_int_equal(th_job_counter(job, "complete"), 0);
	json_decref(job);
	/* Nothing was committed; the orphan copies on n4 are gone, the
	 * listed copies on n1 and n2 are untouched. */
	for (int i = 0; i < 12; i++) {
		assert_false(object_file_exists(&ag[3], ids + i * 37));
		assert_true(object_file_exists(&ag[0], ids + i * 37));
	}
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE 'n4.stor' = ANY(copies)"), 0);
	assert_int_equal(th_verify(&ctl), 0);
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'in'"), 0);
}

static void
test_engine__evacuation_moves_every_copy_and_keeps_the_invariant(
    void **state)
{
	/* 120 objects with two copies: n1 and one of n2..n4. */
	int copies[2];
	char id[37], q[256];
	json_t *job;

	(void)state;
	reset();
	for (int i = 0; i < 3; i++) {
		copies[0] = 0;
		copies[1] = 1 + i;
		assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 40, 4096,
		    copies, 2, NULL, OWNER), 0);
	}
	assert_int_equal(th_verify(&ctl), 0);
	assert_int_equal(th_ctl_evacuate(&ctl, "n1.stor", 0, id), 201);
	job = wait_complete(id, 120);
	assert_int_equal(th_job_counter(job, "total"), 120);
	assert_int_equal(th_job_counter(job, "complete"), 120);
	assert_int_equal(th_job_counter(job, "skipped"), 0);
	assert_int_equal(th_job_counter(job, "bytes_done"), 120 * 4096);
	json_decref(job);
	/* The node drains itself, and no object lists it any more. */
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM nodes "
	    "WHERE id = 'n1.stor' AND state = 'draining'"), 1);
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE 'n1.stor' = ANY(copies)"), 0);
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE cardinality(copies) = 2 AND copies[1] <> copies[2]"), 120);
	/* Every version was bumped exactly once. */
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE version = 2"), 120);
	assert_int_equal(th_verify(&ctl), 0);
	/* By default the evacuated copies are deleted once committed
	 * (grace 0 in tests): the node is empty. */
	snprintf(q, sizeof(q), "SELECT count(*) FROM job_tasks WHERE job = "
	    "'%s' AND cleanup = 'done'", id);
	assert_int_equal(th_sql_ll(pg.conninfo, q), 120);
	/* Completed assignments were collected on the agents. */
	snprintf(q, sizeof(q), "SELECT count(*) FROM assignments WHERE job = "
	    "'%s' AND state <> 'processed'", id);
	assert_int_equal(th_sql_ll(pg.conninfo, q), 0);
}


#define SEEDED_KILL9	(12 * 60)

static void
test_engine__kill9_of_ballastd_at_random_moments_loses_nothing(void **state)
{
	int copies[2] = { 0, 1 };
	int kills = 0, jobs = 0;

	(void)state;
	reset();
	{
		/* Different moments each run; the seed is printed so that a
		 * failing run can be replayed (BALLAST_SEED). */
		const char *env = getenv("BALLAST_SEED");
		unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) :
		    (unsigned)time(NULL);

		fprintf(stderr, "kill9 test: BALLAST_SEED=%u\n", seed);
		srand(seed);
	}
	/* Up to 12 jobs (one kill each at the least) of 60 objects. */
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, SEEDED_KILL9, 4096,
	    copies, 2, NULL, OWNER), 0);
	/* Jobs of 60 objects from n1, one after the other; each is killed
	 * at least once at a random moment, and must still complete. */
	while (kills < 12) {
		char id[37], q[256];
		json_t *job;
		int k = 0;

		assert_int_equal(th_ctl_evacuate(&ctl, "n1.stor", 60, id), 201);
		jobs++;
		do {
			tha_sleep_ms(rand() % 700);
			th_ctl_kill9(&ctl);
			kills++;
			k++;
			assert_int_equal(th_ctl_restart(&ctl), 0);
		} while (k < 2 && rand() % 2);
		job = wait_complete(id, 180);
		assert_int_equal(th_job_counter(job, "total"), 60);
		assert_int_equal(th_job_counter(job, "complete"), 60);
		json_decref(job);
		/* Each task was committed once: the version went up by one. */
		snprintf(q, sizeof(q), "SELECT count(*) FROM objects o JOIN "
		    "job_tasks t ON t.object = o.id AND t.job = '%s' WHERE "
		    "o.version = t.version + 1 AND NOT ('n1.stor' = "
		    "ANY(o.copies))", id);
		assert_int_equal(th_sql_ll(pg.conninfo, q), 60);
		assert_int_equal(th_verify(&ctl), 0);
	}
	assert_true(jobs >= 6);
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE 'n1.stor' = ANY(copies)"), SEEDED_KILL9 - jobs * 60);
}

static void
test_engine__pause_resume_and_cancel_are_states_and_settle(void **state)
{
	int copies[2] = { 0, 1 };
	char id[37], target[128], q[256];
	json_t *job;

	(void)state;
	reset();
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 40, 4096, copies, 2,
	    NULL, OWNER), 0);
	assert_int_equal(tha_throttle(&ag[2], 16384), 200);
	assert_int_equal(tha_throttle(&ag[3], 16384), 200);
	assert_int_equal(th_ctl_evacuate(&ctl, "n1.stor", 0, id), 201);
	wait_assigned(id);
	/* A second evacuation of the same node conflicts. */
	assert_int_equal(th_ctl_evacuate(&ctl, "n1.stor", 0, target), 409);
	snprintf(target, sizeof(target), "/v1/jobs/%s", id);
	assert_int_equal(th_ctl_req(&ctl, "PUT", target,
	    "{\"action\":\"pause\"}", TH_OP_TOKEN, &job), 200);
	assert_string_equal(json_string_value(json_object_get(job, "state")),
	    "paused");
	json_decref(job);
	/* Paused twice is a conflict; resume brings it back. */
	assert_int_equal(th_ctl_req(&ctl, "PUT", target,
	    "{\"action\":\"pause\"}", TH_OP_TOKEN, NULL), 409);
	assert_int_equal(th_ctl_req(&ctl, "PUT", target,
	    "{\"action\":\"resume\"}", TH_OP_TOKEN, NULL), 200);
	assert_int_equal(th_ctl_req(&ctl, "PUT", target,
	    "{\"action\":\"cancel\"}", TH_OP_TOKEN, &job), 200);
	assert_string_equal(json_string_value(json_object_get(job, "state")),
	    "cancelled");
	json_decref(job);
	assert_int_equal(tha_throttle(&ag[2], 0), 200);
	assert_int_equal(tha_throttle(&ag[3], 0), 200);
	job = th_ctl_wait_job(&ctl, id, 120);
	assert_non_null(job);
	/* What was in flight settled; nothing is left half-done. */
	assert_int_equal(th_job_counter(job, "assigned"), 0);
	assert_int_equal(th_job_counter(job, "copied"), 0);
	assert_int_equal(th_job_counter(job, "unprocessed"), 0);
	assert_int_equal(th_job_counter(job, "complete") +
	    th_job_counter(job, "skipped") + th_job_counter(job, "failed"), 40);
	assert_true(th_job_reason(job, "job_cancelled") > 0);
	json_decref(job);
	snprintf(q, sizeof(q), "SELECT count(*) FROM objects o JOIN job_tasks t"
	    " ON t.object = o.id AND t.job = '%s' WHERE t.state = 'complete' "
	    "AND 'n1.stor' = ANY(o.copies)", id);
	assert_int_equal(th_sql_ll(pg.conninfo, q), 0);
	assert_int_equal(th_ctl_req(&ctl, "PUT", target,
	    "{\"action\":\"resume\"}", TH_OP_TOKEN, NULL), 409);
	assert_int_equal(th_verify(&ctl), 0);
	/* A retry picks up what the cancel left. */
	{
		char rid[37];

		assert_int_equal(th_ctl_retry(&ctl, id, rid), 201);
		job = wait_complete(rid, 120);
		json_decref(job);
	}
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE 'n1.stor' = ANY(copies)"), 0);
	assert_int_equal(th_verify(&ctl), 0);
}

static void
test_engine__rebalance_plan_moves_and_deletes_sources_after_grace(
    void **state)
{
	int copies[2] = { 0, 1 };
	char ids[4 * 37], body[2048], id[37];
	size_t bl = 0;
	json_t *job;

	(void)state;
	reset();
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 4, 4096, copies, 2,
	    ids, OWNER), 0);
	/* The plan moves the n1 copy of each object to n3, as `ballastctl
	 * plan --json` would write it. */
	bl += (size_t)snprintf(body + bl, sizeof(body) - bl, "{\"action\":"
	    "\"rebalance\",\"params\":{\"plan\":{\"summary\":{},\"moves\":[");
	for (int i = 0; i < 4; i++)
		bl += (size_t)snprintf(body + bl, sizeof(body) - bl,
		    "%s{\"object\":\"%s\",\"from\":\"n1.stor\",\"to\":"
		    "\"n3.stor\",\"bytes\":4096}", i ? "," : "", ids + i * 37);
	snprintf(body + bl, sizeof(body) - bl, "]}}}");
	assert_int_equal(th_ctl_post_job(&ctl, body, id), 201);
	job = wait_complete(id, 120);
	assert_int_equal(th_job_counter(job, "complete"), 4);
	json_decref(job);
	for (int i = 0; i < 4; i++) {
		/* Source deleted (grace 0 in tests), new copy in place. */
		assert_false(object_file_exists(&ag[0], ids + i * 37));
		assert_true(object_file_exists(&ag[2], ids + i * 37));
	}
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE copies = ARRAY['n3.stor', 'n2.stor']"), 4);
	/* The job list shows a plan's size, not its moves. */
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/jobs?kind=rebalance",
	    NULL, TH_VIEW_TOKEN, &job), 200);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    json_object_get(json_array_get(json_object_get(job, "jobs"), 0),
	    "params"), "plan"), "moves")), 4);
	json_decref(job);
	assert_int_equal(th_verify(&ctl), 0);
}

static void
test_engine__throttle_bounds_what_a_job_hands_to_agents(void **state)
{
	int copies[2] = { 0, 1 };
	char id[37], target[128];
	json_t *job;
	long long started;

	(void)state;
	reset();
	/* One destination (n4): n3 is out, n2 holds the other copy. */
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'out' "
	    "WHERE id = 'n3.stor'"), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 40, 4096, copies, 2,
	    NULL, OWNER), 0);
	assert_int_equal(th_ctl_evacuate(&ctl, "n1.stor", 0, id), 201);
	snprintf(target, sizeof(target), "/v1/jobs/%s", id);
	/* 4 KiB/s: what a 5 s window may post stays under 10 s of transfer,
	 * ten 4 KiB tasks; before the PUT lands, at most one round (10 in
	 * flight per node here) went out. */
	assert_int_equal(th_ctl_req(&ctl, "PUT", target, "{\"action\":"
	    "\"set_throttle\",\"params\":{\"bytes_per_sec\":4096}}",
	    TH_OP_TOKEN, NULL), 200);
	tha_sleep_ms(2000);
	job = get_job(id);
	started = th_job_counter(job, "total") -
	    th_job_counter(job, "unprocessed");
	json_decref(job);
	assert_true(started <= 10 + 10);
	assert_int_equal(th_ctl_req(&ctl, "PUT", target, "{\"action\":"
	    "\"set_throttle\",\"params\":0}", TH_OP_TOKEN, NULL), 200);
	job = th_ctl_wait_job(&ctl, id, 120);
	assert_non_null(job);
	assert_int_equal(th_job_counter(job, "complete"), 40);
	json_decref(job);
	assert_int_equal(th_verify(&ctl), 0);
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'in'"), 0);
}

static void
test_engine__two_evacuations_run_at_once(void **state)
{
	int a[2] = { 0, 2 }, b[2] = { 1, 3 };
	char id1[37], id2[37];
	json_t *j1, *j2;

	(void)state;
	reset();
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 30, 4096, a, 2,
	    NULL, OWNER), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 30, 4096, b, 2,
	    NULL, OWNER), 0);
	assert_int_equal(th_ctl_evacuate(&ctl, "n1.stor", 0, id1), 201);
	assert_int_equal(th_ctl_evacuate(&ctl, "n2.stor", 0, id2), 201);
	j1 = th_ctl_wait_job(&ctl, id1, 120);
	j2 = th_ctl_wait_job(&ctl, id2, 120);
	assert_non_null(j1);
	assert_non_null(j2);
	/* n1's copies go to n2 or n4 while n2 drains: whatever the order,
	 * nothing lands on a draining node and every task ends somewhere. */
	assert_int_equal(th_job_counter(j1, "complete") +
	    th_job_counter(j1, "skipped"), 30);
	assert_int_equal(th_job_counter(j2, "complete") +
	    th_job_counter(j2, "skipped"), 30);
	assert_true(th_job_counter(j1, "complete") > 0 &&
	    th_job_counter(j2, "complete") > 0);
	json_decref(j1);
	json_decref(j2);
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE 'n1.stor' = ANY(copies) AND 'n2.stor' = ANY(copies)"), 0);
	assert_int_equal(th_verify(&ctl), 0);
}

static void
test_engine__tasks_for_a_destination_drained_meanwhile_are_rerouted(
    void **state)
{
	int copies[2] = { 0, 1 };
	char id[37], q[256];
	json_t *job;

	(void)state;
	reset();
	/* n4 is the only destination at first, and slow. */
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'out' "
	    "WHERE id = 'n3.stor'"), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 30, 4096, copies, 2,
	    NULL, OWNER), 0);
	assert_int_equal(tha_throttle(&ag[3], 16384), 200);
	assert_int_equal(th_ctl_evacuate(&ctl, "n1.stor", 0, id), 201);
	wait_assigned(id);
	/* The operator drains n4 and brings n3 back: what was not handed
	 * to n4 yet goes to n3 instead. */
	assert_int_equal(th_ctl_req(&ctl, "POST", "/v1/nodes/n4.stor/drain",
	    NULL, TH_OP_TOKEN, NULL), 200);
	assert_int_equal(th_ctl_req(&ctl, "PUT", "/v1/nodes/n3.stor",
	    "{\"state\":\"in\"}", TH_OP_TOKEN, NULL), 200);
	job = th_ctl_wait_job(&ctl, id, 120);
	assert_int_equal(tha_throttle(&ag[3], 0), 200);
	assert_non_null(job);
	assert_int_equal(th_job_counter(job, "complete"), 30);
	json_decref(job);
	snprintf(q, sizeof(q), "SELECT count(*) FROM job_tasks WHERE job = "
	    "'%s' AND dest = 'n3.stor'", id);
	assert_true(th_sql_ll(pg.conninfo, q) > 0);
	assert_int_equal(th_verify(&ctl), 0);
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'in'"), 0);
}

static void
test_engine__database_restart_mid_job_pauses_and_resumes_the_engine(
    void **state)
{
	int copies[2] = { 0, 1 };
	char id[37];
	json_t *job;

	(void)state;
	reset();
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 40, 4096, copies, 2,
	    NULL, OWNER), 0);
	assert_int_equal(tha_throttle(&ag[2], 32768), 200);
	assert_int_equal(tha_throttle(&ag[3], 32768), 200);
	assert_int_equal(th_ctl_evacuate(&ctl, "n1.stor", 0, id), 201);
	wait_assigned(id);
	assert_int_equal(th_pg_stop(&pg), 0);
	tha_sleep_ms(1500);
	assert_int_equal(th_pg_restart(&pg), 0);
	assert_int_equal(tha_throttle(&ag[2], 0), 200);
	assert_int_equal(tha_throttle(&ag[3], 0), 200);
	job = wait_complete(id, 120);
	assert_int_equal(th_job_counter(job, "complete"), 40);
	json_decref(job);
	assert_int_equal(th_verify(&ctl), 0);
}

/* A node's used bytes as `node list` shows them. */
static long long
node_used(const char *node)
{
	json_t *j = NULL;
	long long used = -1;
	size_t i;
	json_t *n;

	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/nodes", NULL,
	    TH_VIEW_TOKEN, &j), 200);
	json_array_foreach(json_object_get(j, "nodes"), i, n)
		if (strcmp(json_string_value(json_object_get(n, "id")),
		    node) == 0)
			used = json_integer_value(json_object_get(n,
			    "used_bytes"));
	json_decref(j);
	return used;
}

static void
empty_agent(struct tha_agent *a)
{
	char cmd[1300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/%s'", a->root, OWNER);
	assert_int_equal(system(cmd), 0);
	/* a restart rescans the root: used_bytes counts the files */
	assert_int_equal(tha_agent_restart(a, NULL), 0);
}

static void
test_engine__evacuated_node_is_empty_after_the_job_and_used_drops(
    void **state)
{
	int copies[2] = { 0, 1 };
	char id[37], ids[20 * 37];
	json_t *job;
	long long used = -1, bytes = 0, count = 0;

	(void)state;
	reset();
	empty_agent(&ag[0]);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 20, 8192, copies, 2,
	    ids, OWNER), 0);
	/* The files on n1's disk before, and node list's USED once the
	 * agent has counted them (a restart rescans its root). */
	tha_tree_usage(ag[0].root, &bytes, &count);
	assert_true(bytes >= 20 * 8192);
	assert_int_equal(tha_agent_restart(&ag[0], NULL), 0);
	for (int i = 0; i < 100 && used < bytes; i++) {
		used = node_used("n1.stor");
		tha_sleep_ms(100);
	}
	assert_int_equal(used, bytes);
	assert_int_equal(th_ctl_evacuate(&ctl, "n1.stor", 0, id), 201);
	job = th_ctl_wait_job(&ctl, id, 120);
	assert_non_null(job);
	assert_int_equal(th_job_counter(job, "complete"), 20);
	json_decref(job);
	for (int i = 0; i < 20; i++)
		assert_false(object_file_exists(&ag[0], ids + i * 37));
	tha_tree_usage(ag[0].root, &bytes, &count);
	assert_int_equal(count, 0);
	for (int i = 0; i < 100 && used != 0; i++) {
		used = node_used("n1.stor");
		tha_sleep_ms(100);
	}
	assert_int_equal(used, 0);
	/* every object still has two verified copies, none on n1 */
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE cardinality(copies) = 2 AND NOT 'n1.stor' = ANY(copies)"),
	    20);
	assert_int_equal(th_verify(&ctl), 0);
}

/* The cleaner sends an agent its deletes as one POST /v1/deletes. An agent
 * that refuses that request (here its max_body is too small for one, so
 * 413; an agent from before the route answers 404) still loses the moved
 * source copies: the cleaner falls back to one DELETE per object.
 *
 * To have one round hold all 20 deletes, the test puts the sources back
 * as ballastd would have left them had it stopped between the commits and
 * the cleanup: the files in place on n1, the tasks committed. */
static void
test_engine__sources_go_one_delete_at_a_time_to_an_agent_refusing_a_batch(
    void **state)
{
	static const char *const small[] = { "--set", "max_body=1024", NULL };
	int copies[1] = { 0 };
	char id[37], ids[20 * 37], sql[256], cmd[4096];
	unsigned char *log;
	size_t len;
	int left = 20;

	(void)state;
	reset();
	assert_int_equal(tha_agent_restart(&ag[0], small), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 20, 4096, copies, 1,
	    ids, OWNER), 0);
	evacuate_complete("n1.stor", 20, id);
	assert_int_equal(th_ctl_stop(&ctl), 0);
	for (int i = 0; i < 20; i++) {
		assert_false(object_file_exists(&ag[0], ids + i * 37));
		snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s' && cat "
		    "'%s/%s/%s' '%s/%s/%s' '%s/%s/%s' 2>/dev/null > "
		    "'%s/%s/%s'", ag[0].root, OWNER, ag[1].root, OWNER,
		    ids + i * 37, ag[2].root, OWNER, ids + i * 37, ag[3].root,
		    OWNER, ids + i * 37, ag[0].root, OWNER, ids + i * 37);
		(void)system(cmd);
		assert_true(object_file_exists(&ag[0], ids + i * 37));
	}
	snprintf(sql, sizeof(sql), "UPDATE job_tasks SET cleanup = 'source', "
	    "state = 'committed' WHERE job = '%s'", id);
	assert_int_equal(th_pg_sql(&pg, sql), 0);
	assert_int_equal(th_ctl_restart(&ctl), 0);
	for (int t = 0; t < 300 && left > 0; t++) {
		left = 0;
		for (int i = 0; i < 20; i++)
			left += object_file_exists(&ag[0], ids + i * 37);
		if (left > 0)
			tha_sleep_ms(100);
	}
	assert_int_equal(left, 0);
	log = tha_read_file(ctl.log, &len);
	assert_non_null(log);
	assert_non_null(strstr((char *)log, "POST /v1/deletes: HTTP 413; "
	    "one DELETE per object"));
	free(log);
	assert_int_equal(th_verify(&ctl), 0);
	assert_int_equal(tha_agent_restart(&ag[0], NULL), 0);
}

/* chattr +i (set 1) or -i on dir: 0, or -1 where the filesystem has no
 * immutable flag. */
static int
immutable(const char *dir, int set)
{
	char cmd[1300];

	snprintf(cmd, sizeof(cmd), "chattr %si '%s' 2>/dev/null",
	    set ? "+" : "-", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A node whose deletes all fail (here its object directory is immutable,
 * so every unlink is refused: 500) is held back, and the cleaner's rounds
 * go to other nodes. Before, 1,100 failing deletes on n1 filled every
 * round of 1,000, and an evacuation of n2 never had its sources deleted.
 * Once n1's disk takes unlinks again, its deletes complete. */
static void
test_engine__a_node_whose_deletes_fail_does_not_hold_up_other_cleanups(
    void **state)
{
	int c1[1] = { 0 }, c2[1] = { 1 };
	char id1[37], id2[37], dir[1200], ids1[1100 * 37], ids2[10 * 37];
	char sql[256];
	unsigned char *log;
	json_t *job = NULL;
	long long owed;
	size_t len;

	(void)state;
	reset();
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 1100, 256, c1, 1,
	    ids1, OWNER), 0);
	snprintf(dir, sizeof(dir), "%s/%s", ag[0].root, OWNER);
	if (immutable(dir, 1) == -1)
		skip();		/* no chattr +i here: nothing to test with */
	assert_int_equal(th_ctl_evacuate(&ctl, "n1.stor", 0, id1), 201);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM job_tasks WHERE job "
	    "= '%s' AND state = 'committed' AND cleanup = 'source'", id1);
	for (int i = 0; i < 1200 && th_sql_ll(pg.conninfo, sql) < 1100; i++)
		tha_sleep_ms(100);
	/* n2's evacuation completes while n1's 1,100 deletes keep failing.
	 * (n1's directory is made writable again before any assertion, so
	 * that a failure leaves nothing the teardown cannot remove.) */
	if ((owed = th_sql_ll(pg.conninfo, sql)) == 1100) {
		assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 10, 256, c2,
		    1, ids2, OWNER), 0);
		assert_int_equal(th_ctl_evacuate(&ctl, "n2.stor", 0, id2), 201);
		job = th_ctl_wait_job(&ctl, id2, 60);
		owed = th_sql_ll(pg.conninfo, sql);
	}
	assert_int_equal(immutable(dir, 0), 0);
	assert_int_equal(owed, 1100);
	assert_non_null(job);
	assert_string_equal(json_string_value(json_object_get(job, "state")),
	    "complete");
	json_decref(job);
	for (int i = 0; i < 10; i++)
		assert_false(object_file_exists(&ag[1], ids2 + i * 37));
	log = tha_read_file(ctl.log, &len);
	assert_non_null(log);
	assert_non_null(strstr((char *)log, "engine: cleanup: node n1.stor: "));
	assert_non_null(strstr((char *)log, "deletes failed (HTTP 500); its "
	    "deletes wait "));
	free(log);
	/* n1 takes unlinks again: its held-back deletes are retried. */
	job = wait_complete(id1, 120);
	assert_int_equal(th_job_counter(job, "complete"), 1100);
	json_decref(job);
	for (int i = 0; i < 1100; i++)
		assert_false(object_file_exists(&ag[0], ids1 + i * 37));
	assert_int_equal(th_verify(&ctl), 0);
}

static void
test_engine__evacuation_keeps_the_copies_with_the_opt_out(void **state)
{
	int copies[2] = { 0, 1 };
	char id[37], ids[10 * 37];
	json_t *job;

	(void)state;
	reset();
	assert_int_equal(th_ctl_stop(&ctl), 0);
	assert_int_equal(th_ctl_start(&ctl, pg.conninfo,
	    "\"max_inflight_per_node\":10,\"max_tasks_per_assignment\":5,"
	    "\"evacuate_deletes_source\":false"), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 10, 4096, copies, 2,
	    ids, OWNER), 0);
	assert_int_equal(th_ctl_evacuate(&ctl, "n1.stor", 0, id), 201);
	job = th_ctl_wait_job(&ctl, id, 120);
	assert_non_null(job);
	assert_int_equal(th_job_counter(job, "complete"), 10);
	json_decref(job);
	for (int i = 0; i < 10; i++)
		assert_true(object_file_exists(&ag[0], ids + i * 37));
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE 'n1.stor' = ANY(copies)"), 0);
	assert_int_equal(th_verify(&ctl), 0);
	assert_int_equal(th_ctl_stop(&ctl), 0);
	assert_int_equal(th_ctl_start(&ctl, pg.conninfo,
	    "\"max_inflight_per_node\":10,\"max_tasks_per_assignment\":5"),
	    0);
}

static const char *
job_param(json_t *job, const char *key)
{
	return json_string_value(json_object_get(json_object_get(job,
	    "params"), key));
}

static void
test_engine__partial_evacuation_puts_the_node_back_unless_drained_by_hand(
    void **state)
{
	int copies[2] = { 0, 1 };
	char id[37];
	json_t *job;

	(void)state;
	reset();
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 10, 4096, copies, 2,
	    NULL, OWNER), 0);
	/* The node was "in": a first slice of 4 puts it back. */
	assert_int_equal(th_ctl_evacuate(&ctl, "n1.stor", 4, id), 201);
	job = th_ctl_wait_job(&ctl, id, 120);
	assert_non_null(job);
	assert_int_equal(th_job_counter(job, "complete"), 4);
	json_decref(job);
	for (int i = 0; i < 50 && th_sql_ll(pg.conninfo, "SELECT count(*) "
	    "FROM nodes WHERE id = 'n1.stor' AND state = 'in'") != 1; i++)
		tha_sleep_ms(100);
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM nodes "
	    "WHERE id = 'n1.stor' AND state = 'in'"), 1);
	job = get_job(id);
	assert_string_equal(job_param(job, "node_state_after"), "in");
	json_decref(job);
	/* Drained by the operator first: it stays draining. */
	assert_int_equal(th_ctl_req(&ctl, "POST", "/v1/nodes/n1.stor/drain",
	    NULL, TH_OP_TOKEN, NULL), 200);
	assert_int_equal(th_ctl_evacuate(&ctl, "n1.stor", 3, id), 201);
	job = th_ctl_wait_job(&ctl, id, 120);
	assert_non_null(job);
	assert_int_equal(th_job_counter(job, "complete"), 3);
	assert_string_equal(job_param(job, "node_state_after"), "draining");
	json_decref(job);
	tha_sleep_ms(500);
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM nodes "
	    "WHERE id = 'n1.stor' AND state = 'draining'"), 1);
	assert_int_equal(th_verify(&ctl), 0);
}

static void
test_engine__rebalance_move_of_a_missing_object_is_object_missing(
    void **state)
{
	int copies[2] = { 0, 1 };
	char ids[37], body[1024];
	json_t *job;
	char id[37];

	(void)state;
	reset();
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 1, 4096, copies, 2,
	    ids, OWNER), 0);
	snprintf(body, sizeof(body), "{\"action\":\"rebalance\",\"params\":"
	    "{\"plan\":{\"summary\":{},\"moves\":[{\"object\":\"%s\",\"from\":\"n1.stor\","
	    "\"to\":\"n3.stor\"},{\"object\":\"7d1f0c2e-0000-4000-8000-"
	    "000000000001\",\"from\":\"n1.stor\",\"to\":\"n3.stor\"}]}}}",
	    ids);
	assert_int_equal(th_ctl_post_job(&ctl, body, id), 201);
	job = th_ctl_wait_job(&ctl, id, 120);
	assert_non_null(job);
	assert_int_equal(th_job_counter(job, "complete"), 1);
	assert_int_equal(th_job_counter(job, "skipped"), 1);
	assert_int_equal(th_job_reason(job, "object_missing"), 1);
	assert_int_equal(th_job_reason(job, "metadata_changed"), 0);
	json_decref(job);
	assert_int_equal(th_verify(&ctl), 0);
}

/* A dead node's orphans, more than a cleaner round selects, do not keep an
 * evacuation's source copies from being deleted, nor its job from
 * completing (a task is complete once its source is gone). */
static void
test_engine__a_dead_nodes_orphans_do_not_starve_other_cleanups(
    void **state)
{
	int copies[2] = { 0, 1 };
	char ids[2 * 37], id[37];

	(void)state;
	reset();
	/* Written first, so a round that takes them takes nothing else. */
	assert_int_equal(th_pg_sql(&pg, "INSERT INTO nodes (id, agent_url, "
	    "state, reachable) VALUES ('ghost.stor', 'http://127.0.0.1:9', "
	    "'out', false)"), 0);
	assert_int_equal(th_pg_sql(&pg, "INSERT INTO jobs (id, kind, origin, "
	    "state) VALUES ('00000000-0000-4000-8000-000000000000', "
	    "'evacuate', 'operator', 'complete')"), 0);
	/* Orphans of objects that exist (listed on n2 only), as a failed
	 * CAS leaves them. */
	assert_int_equal(th_pg_sql(&pg, "WITH o AS (INSERT INTO objects (id, "
	    "owner, size, md5, copies) SELECT gen_random_uuid(), '" OWNER "', "
	    "1, 'x', ARRAY['n2.stor'] FROM generate_series(1, 1500) RETURNING "
	    "id) INSERT INTO job_tasks (job, object, owner, md5, size, version, "
	    "source, dest, state, cleanup) SELECT "
	    "'00000000-0000-4000-8000-000000000000', o.id, '" OWNER "', 'x', "
	    "1, 1, 'n2.stor', 'ghost.stor', 'skipped', 'orphan' FROM o"), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 2, 4096, copies, 2,
	    ids, OWNER), 0);
	evacuate_complete("n1.stor", 2, id);
	for (int i = 0; i < 2; i++)
		assert_false(object_file_exists(&ag[0], ids + i * 37));
	/* The dead node's orphans are still owed, for when it answers. */
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM "
	    "job_tasks WHERE dest = 'ghost.stor' AND cleanup = 'orphan'"),
	    1500);
	assert_int_equal(th_pg_sql(&pg, "DELETE FROM objects WHERE id IN "
	    "(SELECT object FROM job_tasks WHERE dest = 'ghost.stor')"), 0);
	assert_int_equal(th_pg_sql(&pg, "DELETE FROM jobs WHERE id = "
	    "'00000000-0000-4000-8000-000000000000'"), 0);
	assert_int_equal(th_pg_sql(&pg, "DELETE FROM nodes WHERE id = "
	    "'ghost.stor'"), 0);
	assert_int_equal(th_verify(&ctl), 0);
}

static void
test_engine__evacuation_is_not_starved_by_autonomous_rebalance_work(
    void **state)
{
	int rc[2] = { 1, 2 }, ec[2] = { 0, 1 };
	char rids[30 * 37], rid[37], eid[37], *sql;
	size_t sl = 0, cap = 8192;
	json_t *job;

	(void)state;
	reset();
	/* n4 is the only destination of both jobs, and slow. */
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'draining' "
	    "WHERE id = 'n3.stor'"), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 30, 4096, rc, 2,
	    rids, OWNER), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 15, 4096, ec, 2,
	    NULL, OWNER), 0);
	assert_int_equal(tha_throttle(&ag[3], 16384), 200);
	/* An autonomous rebalance job (origin controller, as the control
	 * loop creates it): 30 moves n3 -> n4, created first. */
	tha_uuid(rid);
	sql = malloc(cap);
	assert_non_null(sql);
	sl += (size_t)snprintf(sql + sl, cap - sl, "INSERT INTO jobs (id, kind,"
	    " origin, state, params) VALUES ('%s', 'rebalance', 'controller',"
	    " 'init', '{\"plan\":{\"summary\":{},\"moves\":[", rid);
	for (int i = 0; i < 30; i++)
		sl += (size_t)snprintf(sql + sl, cap - sl, "%s{\"object\":"
		    "\"%s\",\"from\":\"n3.stor\",\"to\":\"n4.stor\"}",
		    i ? "," : "", rids + i * 37);
	snprintf(sql + sl, cap - sl, "]}}')");
	assert_int_equal(th_sql_run(pg.conninfo, sql), 0);
	free(sql);
	wait_assigned(rid);
	/* The operator's evacuation comes later and still goes first. */
	assert_int_equal(th_ctl_evacuate(&ctl, "n1.stor", 0, eid), 201);
	job = th_ctl_wait_job(&ctl, eid, 120);
	assert_non_null(job);
	assert_int_equal(th_job_counter(job, "complete"), 15);
	json_decref(job);
	job = th_ctl_wait_job(&ctl, rid, 120);
	assert_int_equal(tha_throttle(&ag[3], 0), 200);
	assert_non_null(job);
	assert_int_equal(th_job_counter(job, "complete"), 30);
	json_decref(job);
	sql = malloc(512);
	assert_non_null(sql);
	snprintf(sql, 512, "SELECT count(*) FROM jobs a, jobs b WHERE a.id = "
	    "'%s' AND b.id = '%s' AND a.finished_at < b.finished_at", eid,
	    rid);
	assert_int_equal(th_sql_ll(pg.conninfo, sql), 1);
	free(sql);
	assert_int_equal(th_verify(&ctl), 0);
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'in'"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_engine__evacuation_moves_every_copy_and_keeps_the_invariant),
		cmocka_unit_test(
		    test_engine__single_copy_object_moves_from_the_evacuated_node),
		cmocka_unit_test(
		    test_engine__single_copy_object_is_skipped_when_its_node_is_down),
		cmocka_unit_test(
		    test_engine__agent_down_mid_job_fails_its_tasks_and_retry_completes),
		cmocka_unit_test(
		    test_engine__concurrent_metadata_change_skips_and_removes_the_orphan),
		cmocka_unit_test(
		    test_engine__pause_resume_and_cancel_are_states_and_settle),
		cmocka_unit_test(
		    test_engine__rebalance_plan_moves_and_deletes_sources_after_grace),
		cmocka_unit_test(
		    test_engine__throttle_bounds_what_a_job_hands_to_agents),
		cmocka_unit_test(test_engine__two_evacuations_run_at_once),
		cmocka_unit_test(
		    test_engine__database_restart_mid_job_pauses_and_resumes_the_engine),
		cmocka_unit_test(
		    test_engine__tasks_for_a_destination_drained_meanwhile_are_rerouted),
		cmocka_unit_test(
		    test_engine__evacuated_node_is_empty_after_the_job_and_used_drops),
		cmocka_unit_test(
		    test_engine__sources_go_one_delete_at_a_time_to_an_agent_refusing_a_batch),
		cmocka_unit_test(
		    test_engine__a_node_whose_deletes_fail_does_not_hold_up_other_cleanups),
		cmocka_unit_test(
		    test_engine__evacuation_keeps_the_copies_with_the_opt_out),
		cmocka_unit_test(
		    test_engine__partial_evacuation_puts_the_node_back_unless_drained_by_hand),
		cmocka_unit_test(
		    test_engine__rebalance_move_of_a_missing_object_is_object_missing),
		cmocka_unit_test(
		    test_engine__a_dead_nodes_orphans_do_not_starve_other_cleanups),
		cmocka_unit_test(
		    test_engine__evacuation_is_not_starved_by_autonomous_rebalance_work),
		cmocka_unit_test(
		    test_engine__kill9_of_ballastd_at_random_moments_loses_nothing),
	};

	/* TEST_FILTER="*name*" runs only the matching tests. */
	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests_name("engine", tests, setup, teardown);
}
