/* policy/decide.h - the pure decision of one control-loop cycle
 * (docs/controller.md "One cycle"), shared by ballastd (controller/cycle.c)
 * and the simulator (ballastctl simulate), so that the loop's rules exist
 * once.
 *
 * A cycle is: gather inputs (imbalance with open moves counted, paused,
 * quiet, the stored hysteresis state, open jobs) -> pol_cycle_decide() ->
 * when it says plan, build the plan with pol_planner_opts() -> dedupe it
 * with pol_plan_one_per_object() -> pol_cycle_after_plan() -> record.
 *
 * Pure: no I/O, no clock, no allocation.
 */
#ifndef POL_DECIDE_H
#define POL_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "placement/cluster.h"
#include "placement/planner.h"
#include "policy/policy.h"

enum pol_outcome {
	POL_OUT_PAUSED = 0,	/* autonomous planning paused */
	POL_OUT_QUIET,		/* inside quiet hours */
	POL_OUT_IDLE,		/* nothing to do, reason says why */
	POL_OUT_PLAN,		/* build a plan (decide only) */
	POL_OUT_PLANNED,	/* a plan with moves (after the plan) */
	POL_OUT_BUDGET,		/* a plan that a budget stopped */
	POL_OUT_N
};

struct pol_cycle_in {
	double		imbalance;	/* "in" nodes, open moves counted */
	int		paused;		/* POST /v1/controller/pause */
	int		quiet;		/* pol_quiet_at() now */
	int		balancing;	/* the stored hysteresis state */
	int		open_jobs;	/* the controller's unfinished rebalances */
	int		quiet_paused;	/* jobs quiet hours paused */
};

struct pol_cycle_out {
	int		outcome;	/* enum pol_outcome */
	int		balancing;	/* the hysteresis state to store; kept
					   as it was when paused or quiet */
	int		store_balancing;	/* 1: store balancing */
	int		pause_inflight;	/* pause the running rebalances */
	int		resume_inflight;	/* resume those quiet hours paused */
	char		reason[256];
};

/* Decides a cycle from its inputs. Always fills out; returns
 * out->outcome. */
int		pol_cycle_decide(const struct pol_policy *p,
		    const struct pol_cycle_in *in, struct pol_cycle_out *out);

/* The planner options of a cycle under policy p: while balancing the
 * planner is asked for the target, else for the threshold (hysteresis);
 * the failure domain is the policy's when set, else the cluster's. */
void		pol_planner_opts(const struct pol_policy *p,
		    const struct plc_cluster *cl, int quiet, int balancing,
		    struct plc_planner_opts *o);

/* A job moves one copy per object: removes from plan every move of an
 * object (same handle) after its first, keeping the order, and takes their
 * bytes and cost off plan->bytes and plan->cost (the projected fill stays
 * the planner's). scratch holds 2 * plan->n_moves uint64_t. Returns how
 * many were removed. Handles are the caller's indexes (UINT64_MAX is
 * reserved). */
size_t		pol_plan_one_per_object(struct plc_plan *plan,
		    uint64_t *scratch);

/* The outcome of a cycle that planned: idle (no move, with the planner's
 * stop), planned, or budget_exhausted. dropped: from
 * pol_plan_one_per_object(); truncated: candidates were cut at
 * controller.max_candidates. Fills out->reason; returns the outcome. */
int		pol_cycle_after_plan(const struct plc_plan *plan,
		    size_t dropped, int truncated, struct pol_cycle_out *out);

/* "paused", "quiet", "idle", "plan", "planned", "budget_exhausted". */
const char	*pol_outcome_name(int outcome);

#endif
