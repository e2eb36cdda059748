/* policy/decide.c - the pure decision of one control-loop cycle, shared by
 * ballastd and ballastctl simulate (policy/decide.h). */
#include "policy/decide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const outcome_names[POL_OUT_N] = {
	"paused", "quiet", "idle", "plan", "planned", "budget_exhausted",
};

const char *
pol_outcome_name(int outcome)
{
	return outcome >= 0 && outcome < POL_OUT_N ? outcome_names[outcome] :
	    "unknown";
}

int
pol_cycle_decide(const struct pol_policy *p, const struct pol_cycle_in *in,
    struct pol_cycle_out *out)
{
	int balancing = in->balancing;

	memset(out, 0, sizeof(*out));
	out->balancing = balancing;
	/* Out of quiet hours, the jobs they paused run again, whatever else
	 * the cycle decides. */
	out->resume_inflight = !in->quiet && in->quiet_paused > 0;
	if (in->paused) {
		snprintf(out->reason, sizeof(out->reason), "autonomous planning "
		    "is paused (POST /v1/controller/resume)");
		return out->outcome = POL_OUT_PAUSED;
	}
	if (in->quiet) {
		out->pause_inflight = p->quiet_hours_pause_inflight != 0;
		snprintf(out->reason, sizeof(out->reason), "inside quiet hours%s",
		    out->pause_inflight ? "; running rebalance jobs paused" : "");
		return out->outcome = POL_OUT_QUIET;
	}
	/* Hysteresis: start above the threshold, stop at the target. The
	 * imbalance counts the open moves as done, so the band is left only
	 * once they are: a move that is skipped then does not strand the
	 * cluster between the target and the threshold. */
	if (in->imbalance > p->imbalance_threshold)
		balancing = 1;
	else if (in->imbalance <= p->target_imbalance && in->open_jobs == 0)
		balancing = 0;
	out->balancing = balancing;
	out->store_balancing = 1;
	if (balancing && in->imbalance <= p->target_imbalance) {
		snprintf(out->reason, sizeof(out->reason), "imbalance %.4f at or "
		    "below the target once the moves of %d open rebalance jobs "
		    "are done", in->imbalance, in->open_jobs);
		return out->outcome = POL_OUT_IDLE;
	}
	if (!balancing) {
		snprintf(out->reason, sizeof(out->reason), "imbalance %.4f %s",
		    in->imbalance, in->imbalance <= p->target_imbalance ?
		    "at or below the target" : "below the threshold "
		    "(hysteresis: not balancing)");
		return out->outcome = POL_OUT_IDLE;
	}
	if (in->open_jobs >= p->max_concurrent_migrations) {
		snprintf(out->reason, sizeof(out->reason), "%d rebalance jobs "
		    "running (max_concurrent_migrations %lld)", in->open_jobs,
		    (long long)p->max_concurrent_migrations);
		return out->outcome = POL_OUT_IDLE;
	}
	return out->outcome = POL_OUT_PLAN;
}

void
pol_planner_opts(const struct pol_policy *p, const struct plc_cluster *cl,
    int quiet, int balancing, struct plc_planner_opts *o)
{
	plc_planner_opts_init(o);
	o->threshold = balancing ? p->target_imbalance :
	    p->imbalance_threshold;
	o->target = p->target_imbalance;
	o->max_fill = p->max_fill;
	o->failure_domain = (p->set & POL_SET_FAILURE_DOMAIN) ?
	    p->failure_domain : cl->failure_domain;
	o->protection = p->gravity_protection_threshold;
	o->weights = p->gravity_weights;
	memcpy(o->prices, p->egress_prices_per_gib, sizeof(o->prices));
	o->max_moves = p->max_moves_per_cycle;
	o->max_egress_bytes = p->max_egress_bytes_per_cycle;
	o->max_cost = p->max_cost_per_cycle;
	o->quiet = quiet;
	/* A job moves one copy of an object per cycle: the planner defers a
	 * second move of an object without spending any budget on it. */
	o->one_move_per_object = 1;
}

struct slot {
	uint64_t	h;	/* handle; UINT64_MAX: a second move */
	uint64_t	i;	/* index in plan->moves */
};

static int
cmp_handle(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static int
cmp_index(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;

	return x->i < y->i ? -1 : x->i > y->i;
}

size_t
pol_plan_one_per_object(struct plc_plan *plan, uint64_t *scratch)
{
	struct slot *s = (struct slot *)(void *)scratch;
	size_t n = plan->n_moves, w = 0, dropped = 0;

	for (size_t i = 0; i < n; i++) {
		s[i].h = plan->moves[i].handle;
		s[i].i = i;
	}
	/* By handle, then plan order: the first of a run is kept. */
	qsort(s, n, sizeof(*s), cmp_handle);
	for (size_t i = n; i-- > 1;)
		if (s[i].h == s[i - 1].h)
			s[i].h = UINT64_MAX;
	qsort(s, n, sizeof(*s), cmp_index);
	for (size_t i = 0; i < n; i++) {
		const struct plc_move *m = &plan->moves[i];

		if (s[i].h == UINT64_MAX && m->handle != UINT64_MAX) {
			dropped++;
			plan->bytes -= m->bytes;
			plan->cost -= m->cost;
			continue;
		}
		plan->moves[w++] = *m;
	}
	plan->n_moves = w;
	return dropped;
}

int
pol_cycle_after_plan(const struct plc_plan *plan, size_t dropped,
    int truncated, struct pol_cycle_out *out)
{
	if (plan->n_moves == 0) {
		snprintf(out->reason, sizeof(out->reason), "no move: %s",
		    plc_stop_name(plan->stop));
		return out->outcome = POL_OUT_IDLE;
	}
	out->outcome = plan->stop == PLC_STOP_BUDGET_MOVES ||
	    plan->stop == PLC_STOP_BUDGET_BYTES_COST ? POL_OUT_BUDGET :
	    POL_OUT_PLANNED;
	snprintf(out->reason, sizeof(out->reason), "planner stopped: %s%s; "
	    "%llu second moves of one object deferred (no budget used)",
	    plc_stop_name(plan->stop), truncated ? "; candidates truncated at "
	    "controller.max_candidates" : "",
	    (unsigned long long)(plan->n_deferred + dropped));
	return out->outcome;
}
