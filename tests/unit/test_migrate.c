/* tests/unit/test_migrate.c - the engine's pure logic: skip reasons and
 * state transitions. No I/O. (Destination and source choice are
 * placement's: tests/unit/test_choose.c.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>


#include "migrate/engine.h"
#include "migrate/engine_int.h"

static void
test_migrate__skip_reasons_include_mantas_and_ours(void **state)
{
	static const char *const want[] = { "agent_fs_error",
	    "agent_assignment_no_ent", "agent_busy", "assignment_error",
	    "assignment_mismatch", "assignment_rejected",
	    "destination_insufficient_space", "destination_unreachable",
	    "md5_mismatch", "network_error", "object_already_on_dest_node",
	    "object_already_in_datacenter", "source_other_error",
	    "source_is_evac_node", "http_status", "metadata_changed",
	    "source_unavailable" };

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_true(mig_reason_known(want[i]));
	assert_false(mig_reason_known("Metadata Changed"));
	assert_false(mig_reason_known(NULL));
	for (int i = 0; mig_skip_reasons[i] != NULL; i++)
		for (const char *p = mig_skip_reasons[i]; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '_');
}

static void
test_migrate__agent_reasons_map_to_skip_reasons(void **state)
{
	(void)state;
	assert_string_equal(mig_reason_from_agent("insufficient_space"),
	    "destination_insufficient_space");
	assert_string_equal(mig_reason_from_agent("md5_mismatch"),
	    "md5_mismatch");
	assert_string_equal(mig_reason_from_agent("network_error"),
	    "network_error");
	assert_string_equal(mig_reason_from_agent("something_new"),
	    "assignment_error");
	assert_string_equal(mig_reason_from_agent(NULL), "assignment_error");
	for (const char *const *r = (const char *const[]){ "md5_mismatch",
	    "size_mismatch", "http_status", "network_error", "timeout",
	    "agent_fs_error", "insufficient_space", "source_other_error",
	    "shutdown", NULL }; *r != NULL; r++)
		assert_true(mig_reason_known(mig_reason_from_agent(*r)));
}

static void
test_migrate__job_states_follow_the_design(void **state)
{
	(void)state;
	assert_true(mig_job_transition_ok("init", "setup"));
	assert_true(mig_job_transition_ok("setup", "running"));
	assert_true(mig_job_transition_ok("running", "paused"));
	assert_true(mig_job_transition_ok("paused", "running"));
	assert_true(mig_job_transition_ok("running", "complete"));
	assert_true(mig_job_transition_ok("paused", "cancelled"));
	assert_false(mig_job_transition_ok("complete", "running"));
	assert_false(mig_job_transition_ok("cancelled", "running"));
	assert_false(mig_job_transition_ok("init", "complete"));
	assert_true(mig_job_state_valid("paused"));
	assert_false(mig_job_state_valid("stopped"));
	assert_true(mig_task_state_valid("committed"));
	assert_false(mig_task_state_valid("done"));
}

/* The cleaner holds back a node whose deletes all failed: 2 s, then
 * doubling up to 60 s, and not at all once one got an outcome. */
static void
test_migrate__cleanup_backoff_doubles_to_a_cap_and_clears(void **state)
{
	static const double want[] = { 2, 4, 8, 16, 32, 60, 60 };
	struct mig_backoffs b = { 0 };
	struct arr a = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_true(mig_backoff_fail(&b, "n1", 100.0) == want[i]);
	assert_true(mig_backoff_fail(&b, "n2", 100.0) == 2);
	assert_int_equal(mig_backoff_held(&b, 101.0, &a), 0);
	assert_string_equal(mig_arr_str(&a), "{\"n1\",\"n2\"}");
	mig_arr_free(&a);
	/* n2's 2 s are over at 102; n1 waits until 160. */
	assert_int_equal(mig_backoff_held(&b, 102.0, &a), 0);
	assert_string_equal(mig_arr_str(&a), "{\"n1\"}");
	mig_arr_free(&a);
	mig_backoff_clear(&b, "n1");
	mig_backoff_clear(&b, "unknown");
	assert_int_equal(mig_backoff_held(&b, 102.0, &a), 0);
	assert_string_equal(mig_arr_str(&a), "{}");
	mig_arr_free(&a);
	/* Cleared, n1 starts again from 2 s; n2 kept its count. */
	assert_true(mig_backoff_fail(&b, "n1", 200.0) == 2);
	assert_true(mig_backoff_fail(&b, "n2", 200.0) == 4);
	mig_backoffs_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_migrate__skip_reasons_include_mantas_and_ours),
		cmocka_unit_test(
		    test_migrate__agent_reasons_map_to_skip_reasons),
		cmocka_unit_test(test_migrate__job_states_follow_the_design),
		cmocka_unit_test(
		    test_migrate__cleanup_backoff_doubles_to_a_cap_and_clears),
	};

	return cmocka_run_group_tests_name("migrate", tests, NULL, NULL);
}
