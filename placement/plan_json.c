/* placement/plan_json.c - a plan as JSON, the shape of `ballastctl plan
 * --json` and GET /v1/plan (docs/planner.md). Pure: no I/O.
 */
#include "placement/planner.h"

#include <jansson.h>

static json_t *
budget_json(double used, int has_limit, double limit, int integral)
{
	json_t *b = json_object();

	if (integral) {
		json_object_set_new(b, "used", json_integer((json_int_t)used));
		json_object_set_new(b, "limit", has_limit ?
		    json_integer((json_int_t)limit) : json_null());
	} else {
		json_object_set_new(b, "used", json_real(used));
		json_object_set_new(b, "limit", has_limit ? json_real(limit) :
		    json_null());
	}
	return b;
}

json_t *
plc_plan_json(const struct plc_cluster *cl, const struct plc_plan *plan,
    plc_plan_id_fn id_fn, void *arg)
{
	json_t *root = json_object(), *sum = json_object(), *moves, *b;
	char reason[160];

	json_object_set_new(sum, "imbalance_before",
	    json_real(plan->before.imbalance));
	json_object_set_new(sum, "imbalance_projected",
	    json_real(plan->after.imbalance));
	json_object_set_new(sum, "target_imbalance", json_real(plan->target));
	json_object_set_new(sum, "moves", json_integer((json_int_t)
	    plan->n_moves));
	json_object_set_new(sum, "bytes", json_integer((json_int_t)
	    plan->bytes));
	json_object_set_new(sum, "min_bytes", json_integer((json_int_t)
	    plan->before.min_bytes));
	json_object_set_new(sum, "cost", json_real(plan->cost));
	json_object_set_new(sum, "quiet", json_boolean(plan->quiet));
	b = json_object();
	json_object_set_new(b, "moves", budget_json((double)plan->n_moves,
	    plan->max_moves >= 0, (double)plan->max_moves, 1));
	json_object_set_new(b, "egress_bytes", budget_json((double)
	    plan->bytes, plan->max_egress_bytes >= 0,
	    (double)plan->max_egress_bytes, 1));
	json_object_set_new(b, "cost", budget_json(plan->cost,
	    plan->max_cost >= 0, plan->max_cost, 0));
	json_object_set_new(sum, "budget", b);
	json_object_set_new(root, "summary", sum);
	moves = json_array();
	for (size_t i = 0; i < plan->n_moves; i++) {
		const struct plc_move *m = &plan->moves[i];
		json_t *j = json_object();

		json_object_set_new(j, "object", json_string(id_fn(m->handle,
		    arg)));
		json_object_set_new(j, "from", json_string(
		    cl->nodes[m->from].id));
		json_object_set_new(j, "to", json_string(cl->nodes[m->to].id));
		json_object_set_new(j, "bytes", json_integer((json_int_t)
		    m->bytes));
		json_object_set_new(j, "cost", json_real(m->cost));
		json_object_set_new(j, "gravity", json_real(m->gravity));
		json_object_set_new(j, "reason", json_string(plc_move_reason(m,
		    plan->before.mean, reason, sizeof(reason))));
		json_array_append_new(moves, j);
	}
	json_object_set_new(root, "moves", moves);
	return root;
}
