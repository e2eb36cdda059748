/* tests/unit/test_decide.c - the pure cycle decision shared by ballastd and
 * ballastctl simulate (policy/decide.c): every outcome, the hysteresis
 * band, quiet hours' pause and resume, and the one-move-per-object rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy/decide.h"

/* threshold 0.10, target 0.05, max_concurrent_migrations 3 */
static struct pol_policy
policy(void)
{
	struct pol_policy p;

	assert_int_equal(pol_preset_apply(&p, POL_PRESET_DEFAULT), 0);
	return p;
}

static int
decide(const struct pol_policy *p, double imb, int balancing, int open,
    struct pol_cycle_out *out)
{
	struct pol_cycle_in in;

	memset(&in, 0, sizeof(in));
	in.imbalance = imb;
	in.balancing = balancing;
	in.open_jobs = open;
	return pol_cycle_decide(p, &in, out);
}

static void
test_decide__paused_plans_nothing_and_keeps_the_band_state(void **state)
{
	struct pol_policy p = policy();
	struct pol_cycle_in in = { .imbalance = 0.5, .paused = 1, .quiet = 1,
	    .balancing = 0 };
	struct pol_cycle_out o;

	assert_int_equal(pol_cycle_decide(&p, &in, &o), POL_OUT_PAUSED);
	assert_string_equal(pol_outcome_name(o.outcome), "paused");
	assert_int_equal(o.store_balancing, 0);
	assert_int_equal(o.balancing, 0);
	/* paused comes before quiet: nothing is paused for quiet hours */
	assert_int_equal(o.pause_inflight, 0);
	assert_non_null(strstr(o.reason, "/v1/controller/resume"));
}

static void
test_decide__quiet_hours_pause_inflight_only_when_the_policy_says(void **s)
{
	struct pol_policy p = policy();
	struct pol_cycle_in in = { .imbalance = 0.5, .quiet = 1,
	    .quiet_paused = 2 };
	struct pol_cycle_out o;

	assert_int_equal(pol_cycle_decide(&p, &in, &o), POL_OUT_QUIET);
	assert_int_equal(o.pause_inflight, 0);
	assert_int_equal(o.resume_inflight, 0);
	assert_string_equal(o.reason, "inside quiet hours");
	p.quiet_hours_pause_inflight = 1;
	assert_int_equal(pol_cycle_decide(&p, &in, &o), POL_OUT_QUIET);
	assert_int_equal(o.pause_inflight, 1);
	assert_string_equal(o.reason, "inside quiet hours; running rebalance "
	    "jobs paused");
	assert_int_equal(o.store_balancing, 0);
}

static void
test_decide__leaving_quiet_hours_resumes_what_they_paused(void **state)
{
	struct pol_policy p = policy();
	struct pol_cycle_in in = { .imbalance = 0.01, .quiet_paused = 1,
	    .paused = 1 };
	struct pol_cycle_out o;

	/* even when the cycle itself is paused */
	pol_cycle_decide(&p, &in, &o);
	assert_int_equal(o.resume_inflight, 1);
	in.quiet_paused = 0;
	pol_cycle_decide(&p, &in, &o);
	assert_int_equal(o.resume_inflight, 0);
}

static void
test_decide__above_the_threshold_starts_balancing_and_plans(void **state)
{
	struct pol_policy p = policy();
	struct pol_cycle_out o;

	assert_int_equal(decide(&p, 0.11, 0, 0, &o), POL_OUT_PLAN);
	assert_int_equal(o.balancing, 1);
	assert_int_equal(o.store_balancing, 1);
	assert_string_equal(pol_outcome_name(o.outcome), "plan");
}

static void
test_decide__inside_the_band_keeps_the_state_it_had(void **state)
{
	struct pol_policy p = policy();
	struct pol_cycle_out o;

	/* not balancing: stays idle between target and threshold */
	assert_int_equal(decide(&p, 0.08, 0, 0, &o), POL_OUT_IDLE);
	assert_int_equal(o.balancing, 0);
	assert_string_equal(o.reason, "imbalance 0.0800 below the threshold "
	    "(hysteresis: not balancing)");
	/* balancing: keeps going down to the target */
	assert_int_equal(decide(&p, 0.08, 1, 0, &o), POL_OUT_PLAN);
	assert_int_equal(o.balancing, 1);
	/* exactly the threshold does not start */
	assert_int_equal(decide(&p, 0.10, 0, 0, &o), POL_OUT_IDLE);
}

static void
test_decide__at_the_target_stops_once_no_job_is_open(void **state)
{
	struct pol_policy p = policy();
	struct pol_cycle_out o;

	assert_int_equal(decide(&p, 0.05, 1, 0, &o), POL_OUT_IDLE);
	assert_int_equal(o.balancing, 0);
	assert_string_equal(o.reason, "imbalance 0.0500 at or below the "
	    "target");
	/* open jobs keep the state, still idle */
	assert_int_equal(decide(&p, 0.04, 1, 2, &o), POL_OUT_IDLE);
	assert_int_equal(o.balancing, 1);
	assert_string_equal(o.reason, "imbalance 0.0400 at or below the "
	    "target once the moves of 2 open rebalance jobs are done");
}

static void
test_decide__max_concurrent_migrations_holds_planning(void **state)
{
	struct pol_policy p = policy();
	struct pol_cycle_out o;

	assert_int_equal(decide(&p, 0.3, 1, 3, &o), POL_OUT_IDLE);
	assert_int_equal(o.balancing, 1);
	assert_string_equal(o.reason, "3 rebalance jobs running "
	    "(max_concurrent_migrations 3)");
	assert_int_equal(decide(&p, 0.3, 1, 2, &o), POL_OUT_PLAN);
}

static void
test_decide__planner_options_follow_the_band(void **state)
{
	struct pol_policy p = policy();
	struct plc_cluster cl = { NULL, 0, PLC_DOMAIN_RACK };
	struct plc_planner_opts o;

	pol_planner_opts(&p, &cl, 0, 0, &o);
	assert_true(o.threshold == 0.10);
	assert_true(o.target == 0.05);
	assert_int_equal(o.failure_domain, PLC_DOMAIN_RACK);
	assert_int_equal(o.max_moves, 1000);
	pol_planner_opts(&p, &cl, 1, 1, &o);
	assert_true(o.threshold == 0.05);
	assert_int_equal(o.quiet, 1);
	p.failure_domain = PLC_DOMAIN_HOST;
	p.set |= POL_SET_FAILURE_DOMAIN;
	pol_planner_opts(&p, &cl, 0, 1, &o);
	assert_int_equal(o.failure_domain, PLC_DOMAIN_HOST);
}

static void
test_decide__second_moves_of_one_object_are_deferred(void **state)
{
	struct plc_move mv[5] = {
		{ .handle = 7, .bytes = 10, .cost = 1 },
		{ .handle = 3, .bytes = 20, .cost = 2 },
		{ .handle = 7, .bytes = 40, .cost = 4 },
		{ .handle = 9, .bytes = 80, .cost = 8 },
		{ .handle = 3, .bytes = 160, .cost = 16 },
	};
	struct plc_plan plan;
	struct pol_cycle_out o;
	uint64_t scratch[10];

	memset(&plan, 0, sizeof(plan));
	plan.moves = mv;
	plan.n_moves = 5;
	plan.bytes = 310;
	plan.cost = 31;
	plan.stop = PLC_STOP_BUDGET_MOVES;
	assert_int_equal(pol_plan_one_per_object(&plan, scratch), 2);
	assert_int_equal(plan.n_moves, 3);
	assert_int_equal(mv[0].handle, 7);
	assert_int_equal(mv[1].handle, 3);
	assert_int_equal(mv[2].handle, 9);
	assert_int_equal(plan.bytes, 110);
	assert_true(plan.cost == 11);
	assert_int_equal(pol_cycle_after_plan(&plan, 2, 0, &o), POL_OUT_BUDGET);
	assert_string_equal(pol_outcome_name(o.outcome), "budget_exhausted");
	assert_string_equal(o.reason, "planner stopped: move_budget_used; 2 second "
	    "moves of one object deferred (no budget used)");
}

static void
test_decide__after_the_plan_idle_planned_or_budget(void **state)
{
	struct plc_move mv[1] = { { .handle = 1, .bytes = 5 } };
	struct plc_plan plan;
	struct pol_cycle_out o;

	memset(&plan, 0, sizeof(plan));
	plan.stop = PLC_STOP_NO_CANDIDATES;
	assert_int_equal(pol_cycle_after_plan(&plan, 0, 0, &o), POL_OUT_IDLE);
	assert_string_equal(o.reason, "no move: no_more_candidates");
	plan.moves = mv;
	plan.n_moves = 1;
	plan.stop = PLC_STOP_TARGET;
	assert_int_equal(pol_cycle_after_plan(&plan, 0, 1, &o),
	    POL_OUT_PLANNED);
	assert_string_equal(o.reason, "planner stopped: target_reached; candidates "
	    "truncated at controller.max_candidates; 0 second moves of one "
	    "object deferred (no budget used)");
	plan.stop = PLC_STOP_BUDGET_BYTES_COST;
	assert_int_equal(pol_cycle_after_plan(&plan, 0, 0, &o), POL_OUT_BUDGET);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide__paused_plans_nothing_and_keeps_the_band_state),
		cmocka_unit_test(test_decide__quiet_hours_pause_inflight_only_when_the_policy_says),
		cmocka_unit_test(test_decide__leaving_quiet_hours_resumes_what_they_paused),
		cmocka_unit_test(test_decide__above_the_threshold_starts_balancing_and_plans),
		cmocka_unit_test(test_decide__inside_the_band_keeps_the_state_it_had),
		cmocka_unit_test(test_decide__at_the_target_stops_once_no_job_is_open),
		cmocka_unit_test(test_decide__max_concurrent_migrations_holds_planning),
		cmocka_unit_test(test_decide__planner_options_follow_the_band),
		cmocka_unit_test(test_decide__second_moves_of_one_object_are_deferred),
		cmocka_unit_test(test_decide__after_the_plan_idle_planned_or_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
