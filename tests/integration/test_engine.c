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
#include <unistd.h>

#include "tests/helpers/agent_harness.h"
#include "tests/helpers/th_ctl.h"
#include "tests/helpers/th_pg.h"

#define NAGENTS 4
#define OWNER "0b0b0b0b-1111-4222-8333-444455556666"

static struct th_pg pg;
static struct tha_agent ag[NAGENTS];
static struct th_ctl ctl;

static int
setup(void **state)
{
	static const char *const names[NAGENTS] = { "n1.stor", "n2.stor",
	    "n3.stor", "n4.stor" };

	(void)state;
	if (th_pg_start(&pg) != 0)
		return -1;
	for (int i = 0; i < NAGENTS; i++)
		if (tha_agent_start(&ag[i], names[i], NULL) != 0)
			return -1;
	if (th_ctl_start(&ctl, pg.conninfo, NULL) != 0)
		return -1;
	return th_ctl_register(&ctl, ag, NAGENTS);
}

static int
teardown(void **state)
{
	(void)state;
	th_ctl_stop(&ctl);
	for (int i = 0; i < NAGENTS; i++) {
		tha_agent_stop(&ag[i]);
		tha_agent_free(&ag[i]);
	}
	th_pg_destroy(&pg);
	tha_cleanup();
	return 0;
}

/* Puts every node back in and every object off the test's way. */
static void
reset(void)
{
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'in'"), 0);
	assert_int_equal(th_pg_sql(&pg, "DELETE FROM objects"), 0);
}

static long long
counter(json_t *job, const char *name)
{
	return json_integer_value(json_object_get(json_object_get(job,
	    "counters"), name));
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
	job = th_ctl_wait_job(&ctl, id, 120);
	assert_non_null(job);
	assert_string_equal(json_string_value(json_object_get(job, "state")),
	    "complete");
	assert_int_equal(counter(job, "total"), 120);
	assert_int_equal(counter(job, "complete"), 120);
	assert_int_equal(counter(job, "skipped"), 0);
	assert_int_equal(counter(job, "bytes_done"), 120 * 4096);
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
	/* Evacuated data stays on the node by default. */
	snprintf(q, sizeof(q), "SELECT count(*) FROM job_tasks WHERE job = "
	    "'%s' AND cleanup IS NULL", id);
	assert_int_equal(th_sql_ll(pg.conninfo, q), 120);
	/* Completed assignments were collected on the agents. */
	snprintf(q, sizeof(q), "SELECT count(*) FROM assignments WHERE job = "
	    "'%s' AND state <> 'processed'", id);
	assert_int_equal(th_sql_ll(pg.conninfo, q), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_engine__evacuation_moves_every_copy_and_keeps_the_invariant),
	};

	return cmocka_run_group_tests_name("engine", tests, setup, teardown);
}
