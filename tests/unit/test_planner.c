/* tests/unit/test_planner.c - the rebalancing planner. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "placement/cluster.h"
#include "placement/planner.h"
#include "tests/helpers/th_samehost.h"

#define GIB	(1024.0 * 1024 * 1024)

/* A generated world: a cluster and objects whose copies add up to the
 * nodes' used bytes. */
struct world {
	struct plc_cluster	*cl;
	size_t			 nobj;
	char			 (*ids)[32];
	uint64_t		*size;
	uint32_t		(*copies)[3];
	size_t			*ncopies;
	double			*reads;
	int			*pinned;
	uint64_t		*dcmask;
};

static uint64_t rng_state;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

/* ndc datacenters x 2 racks x 3 hosts, one node per host. Copies go on
 * distinct racks when by_rack, else distinct hosts. Nodes listed in hot[]
 * get most of the data. */
static struct world *
world_new(uint64_t seed, int ndc, size_t nobj, int ncop, int by_rack,
    int skew)
{
	struct world *w = calloc(1, sizeof(*w));
	size_t n = (size_t)ndc * 6;

	rng_state = seed;
	w->cl = plc_cluster_new();
	w->cl->nodes = calloc(n, sizeof(struct plc_node));
	w->cl->n = n;
	w->cl->failure_domain = by_rack ? PLC_DOMAIN_RACK : PLC_DOMAIN_HOST;
	for (size_t i = 0; i < n; i++) {
		struct plc_node *nd = &w->cl->nodes[i];
		char buf[64];

		snprintf(buf, sizeof(buf), "n%02zu", i);
		nd->id = xstrdup(buf);
		nd->region = xstrdup(i / 6 < 2 ? "eu" : "us");
		snprintf(buf, sizeof(buf), "dc%zu", i / 6);
		nd->datacenter = xstrdup(buf);
		snprintf(buf, sizeof(buf), "r%zu", (i / 3) % 2);
		nd->rack = xstrdup(buf);
		snprintf(buf, sizeof(buf), "h%zu", i);
		nd->host = xstrdup(buf);
		nd->weight = 1;
		nd->latency_ms = (double)(i * 7 % 50);
		nd->state = PLC_NODE_IN;
		nd->reachable = 1;
	}
	w->nobj = nobj;
	w->ids = calloc(nobj, sizeof(*w->ids));
	w->size = calloc(nobj, sizeof(*w->size));
	w->copies = calloc(nobj, sizeof(*w->copies));
	w->ncopies = calloc(nobj, sizeof(*w->ncopies));
	w->reads = calloc(nobj, sizeof(*w->reads));
	w->pinned = calloc(nobj, sizeof(*w->pinned));
	w->dcmask = calloc(nobj, sizeof(*w->dcmask));
	for (size_t o = 0; o < nobj; o++) {
		snprintf(w->ids[o], sizeof(w->ids[o]), "obj-%06zu", o);
		w->size[o] = (uint64_t)(64 + rng() % 960) << 20;
		w->reads[o] = (double)(rng() % 2000);
		w->ncopies[o] = (size_t)ncop;
		for (int k = 0; k < ncop; k++) {
			uint32_t c;
			int ok;

			do {
				/* skew: half the copies go to the first 3
				 * nodes' racks when possible */
				if (skew && rng() % 2 == 0)
					c = (uint32_t)(rng() % 3);
				else
					c = (uint32_t)(rng() % n);
				ok = 1;
				for (int j = 0; j < k; j++) {
					const struct plc_node *a =
					    &w->cl->nodes[c];
					const struct plc_node *b =
					    &w->cl->nodes[w->copies[o][j]];

					if (c == w->copies[o][j] || (by_rack &&
					    strcmp(a->datacenter,
					    b->datacenter) == 0 &&
					    strcmp(a->rack, b->rack) == 0))
						ok = 0;
				}
			} while (!ok);
			w->copies[o][k] = c;
			w->cl->nodes[c].used_bytes += w->size[o];
		}
	}
	/* Capacities of 2:3:4 shares that put the mean fill near 0.45. */
	{
		uint64_t total = 0;

		for (size_t i = 0; i < n; i++)
			total += w->cl->nodes[i].used_bytes;
		for (size_t i = 0; i < n; i++)
			w->cl->nodes[i].capacity_bytes = (uint64_t)(
			    (double)total / (double)n / 0.45 *
			    (double)(2 + i % 3) / 3.0);
	}
	return w;
}

static void
world_free(struct world *w)
{
	plc_cluster_free(w->cl);
	free(w->ids);
	free(w->size);
	free(w->copies);
	free(w->ncopies);
	free(w->reads);
	free(w->pinned);
	free(w->dcmask);
	free(w);
}

static void
unbounded(struct plc_planner_opts *o)
{
	plc_planner_opts_init(o);
	o->max_moves = -1;
	o->max_egress_bytes = -1;
	o->max_cost = -1;
}

/* Object r of the world, as the planner takes it. */
static void
world_object(const struct world *w, size_t r, struct plc_object *obj)
{
	memset(obj, 0, sizeof(*obj));
	obj->handle = r;
	obj->key = plc_object_key(w->ids[r], strlen(w->ids[r]));
	obj->size = w->size[r];
	obj->copies = w->copies[r];
	obj->ncopies = w->ncopies[r];
	obj->reads_per_hour = w->reads[r];
	obj->pinned = w->pinned[r];
	obj->allowed_dcs = w->dcmask[r];
}

/* Runs the planner, streaming the objects in order perm (NULL: 0..n-1). */
static void
plan_world(const struct world *w, const struct plc_planner_opts *o,
    const size_t *perm, struct plc_plan *plan)
{
	struct plc_planner *p;
	struct bl_err err;

	p = plc_planner_new(w->cl, o, &err);
	assert_non_null(p);
	for (size_t i = 0; i < w->nobj; i++) {
		struct plc_object obj;

		world_object(w, perm ? perm[i] : i, &obj);
		assert_int_equal(plc_planner_add(p, &obj, &err), 0);
	}
	assert_int_equal(plc_planner_run(p, plan, &err), 0);
	plc_planner_free(p);
}

/* Runs the planner with the adds split in nshares shares, the last share
 * first, as threads may finish them in any order. */
static void
plan_world_shares(const struct world *w, const struct plc_planner_opts *o,
    unsigned nshares, struct plc_plan *plan)
{
	struct plc_planner *p;
	struct bl_err err;

	p = plc_planner_new(w->cl, o, &err);
	assert_non_null(p);
	for (unsigned sh = nshares; sh-- > 0;) {
		struct plc_planner_tally t;

		memset(&t, 0, sizeof(t));
		for (size_t r = 0; r < w->nobj; r++) {
			struct plc_object obj;

			world_object(w, r, &obj);
			assert_int_equal(plc_planner_add_share(p, &obj, sh,
			    nshares, &t, &err), 0);
		}
		plc_planner_add_tally(p, &t);
	}
	assert_int_equal(plc_planner_run(p, plan, &err), 0);
	plc_planner_free(p);
}

/* Applies the moves to the world's copies; checks each move starts from
 * a node that holds the object. */
static void
apply_moves(struct world *w, const struct plc_plan *plan)
{
	for (size_t i = 0; i < plan->n_moves; i++) {
		const struct plc_move *m = &plan->moves[i];
		size_t k;

		for (k = 0; k < w->ncopies[m->handle]; k++)
			if (w->copies[m->handle][k] == m->from)
				break;
		assert_true(k < w->ncopies[m->handle]);
		assert_int_equal(m->bytes, w->size[m->handle]);
		w->copies[m->handle][k] = m->to;
		w->cl->nodes[m->from].used_bytes -= m->bytes;
		w->cl->nodes[m->to].used_bytes += m->bytes;
	}
}

static void
test_planner__nothing_happens_below_the_threshold(void **state)
{
	struct world *w = world_new(7, 2, 3000, 3, 0, 0);
	struct plc_planner_opts o;
	struct plc_plan plan;
	struct plc_fill_stats st;

	plc_cluster_fill_stats(w->cl, NULL, &st);
	unbounded(&o);
	o.threshold = st.imbalance + 0.01;
	o.target = o.threshold / 2;
	plan_world(w, &o, NULL, &plan);
	assert_int_equal(plan.n_moves, 0);
	assert_int_equal(plan.stop, PLC_STOP_BELOW_THRESHOLD);
	assert_true(plan.after.imbalance == plan.before.imbalance);
	plc_plan_release(&plan);
	world_free(w);
}

static void
test_planner__converges_to_target_and_no_further(void **state)
{
	struct world *w = world_new(11, 2, 6000, 3, 0, 1);
	struct plc_planner_opts o;
	struct plc_plan plan;
	struct plc_fill_stats st;

	unbounded(&o);
	plan_world(w, &o, NULL, &plan);
	assert_true(plan.before.imbalance > o.threshold);
	assert_int_equal(plan.stop, PLC_STOP_TARGET);
	assert_true(plan.after.imbalance <= o.target);
	assert_true(plan.n_moves > 0);
	/* Undo the last move: the target was not reached before it. */
	apply_moves(w, &plan);
	{
		const struct plc_move *m = &plan.moves[plan.n_moves - 1];

		w->cl->nodes[m->to].used_bytes -= m->bytes;
		w->cl->nodes[m->from].used_bytes += m->bytes;
		plc_cluster_fill_stats(w->cl, NULL, &st);
		assert_true(st.imbalance > o.target);
	}
	assert_true((double)plan.bytes <= 1.10 * (double)plan.before.min_bytes);
	plc_plan_release(&plan);
	world_free(w);
}

static void
test_planner__full_balance_moves_at_most_110_percent_of_min_bytes(void **state)
{
	struct world *w = world_new(12, 2, 20000, 3, 0, 1);
	struct plc_planner_opts o;
	struct plc_plan plan;

	unbounded(&o);
	o.target = 0.01;
	o.cand_per_source = w->nobj;	/* every candidate, as offline */
	plan_world(w, &o, NULL, &plan);
	assert_true(plan.after.imbalance <= 0.01);
	assert_true(plan.before.min_bytes > 0);
	assert_true((double)plan.bytes <= 1.10 * (double)plan.before.min_bytes);
	/* The imbalance reported is the one the moves produce. */
	apply_moves(w, &plan);
	{
		struct plc_fill_stats st;

		plc_cluster_fill_stats(w->cl, NULL, &st);
		assert_true(st.imbalance == plan.after.imbalance);
	}
	plc_plan_release(&plan);
	world_free(w);
}

static void
check_budgets(int64_t moves, int64_t bytes, double cost)
{
	struct world *w = world_new(21, 4, 5000, 3, 0, 1);
	struct plc_planner_opts o;
	struct plc_plan plan;
	uint64_t sb = 0;
	double sc = 0;

	unbounded(&o);
	o.max_moves = moves;
	o.max_egress_bytes = bytes;
	o.max_cost = cost;
	plan_world(w, &o, NULL, &plan);
	if (moves != 0)
		assert_true(plan.n_moves > 0);
	for (size_t i = 0; i < plan.n_moves; i++) {
		sb += plan.moves[i].bytes;
		sc += plan.moves[i].cost;
	}
	assert_int_equal(sb, plan.bytes);
	if (moves >= 0)
		assert_true(plan.n_moves <= (uint64_t)moves);
	if (bytes >= 0)
		assert_true(sb <= (uint64_t)bytes);
	if (cost >= 0)
		assert_true(sc <= cost + 1e-9);
	plc_plan_release(&plan);
	world_free(w);
}

/* Issue #12: a cycle planned 1000 moves of which 187 were second moves of
 * one object, deferred by the controller, so only 813 ran. With
 * one_move_per_object the deferred moves use none of the move budget. */
static void
test_planner__deferred_second_moves_do_not_use_the_move_budget(void **state)
{
	struct world *w = world_new(21, 4, 5000, 3, 0, 1);
	struct plc_planner_opts o;
	struct plc_plan plan, all;
	size_t distinct = 0;

	(void)state;
	unbounded(&o);
	plan_world(w, &o, NULL, &all);
	o.max_moves = (int64_t)all.n_moves / 2;
	o.one_move_per_object = 1;
	plan_world(w, &o, NULL, &plan);
	assert_true(plan.n_moves > 0);
	for (size_t i = 0; i < plan.n_moves; i++) {
		size_t j;

		for (j = 0; j < i; j++)
			if (plan.moves[j].handle == plan.moves[i].handle)
				break;
		distinct += j == i;
	}
	/* every planned move is of a distinct object, and the budget is
	 * reached by those alone */
	assert_int_equal(distinct, plan.n_moves);
	if (plan.stop == PLC_STOP_BUDGET_MOVES)
		assert_int_equal(plan.n_moves, (size_t)o.max_moves);
	assert_true(plan.n_moves <= (size_t)o.max_moves);
	assert_true(plan.n_deferred > 0);	/* the case was met */
	plc_plan_release(&plan);
	plc_plan_release(&all);
	world_free(w);
}

static void
test_planner__prefers_free_same_host_moves_and_keeps_domains(void **state)
{
	size_t n0, n1;
	int ok0, ok1;
	double off, on;

	(void)state;
	off = th_samehost_share(0, &n0, &ok0);
	on = th_samehost_share(1, &n1, &ok1);
	assert_true(n0 > 0 && n1 > 0);
	assert_true(ok0 && ok1);
	assert_true(on > off);
	assert_true(on > 0.5);
}

static void
test_planner__budgets_are_never_exceeded(void **state)
{
	check_budgets(17, -1, -1);
	check_budgets(-1, (int64_t)(5 * GIB), -1);
	check_budgets(-1, -1, 0.05);
	check_budgets(40, (int64_t)(30 * GIB), 0.2);
	check_budgets(0, -1, -1 + 0.0);
}

static void
test_planner__a_binding_byte_budget_is_used_to_the_full(void **state)
{
	struct world *w = world_new(22, 2, 5000, 3, 0, 1);
	struct plc_planner_opts o;
	struct plc_plan plan;
	uint64_t limit = (uint64_t)(10 * GIB);

	unbounded(&o);
	o.max_egress_bytes = (int64_t)limit;
	plan_world(w, &o, NULL, &plan);
	/* Objects are at most 1 GiB: a plan that stopped at the first
	 * object that did not fit would leave up to 1 GiB unused; smaller
	 * candidates fill the rest. */
	assert_true(plan.bytes <= limit);
	assert_true(plan.bytes > limit - (64u << 20));
	plc_plan_release(&plan);
	world_free(w);
}

static void
test_planner__protected_objects_never_move(void **state)
{
	struct world *w = world_new(31, 2, 4000, 3, 0, 1);
	struct plc_planner_opts o;
	struct plc_plan plan;

	unbounded(&o);
	/* access weight 1: gravity = log10(1 + reads) / 4. */
	o.weights = (struct plc_gravity_weights){ 1, 0, 0, 0, 0 };
	o.protection = 0.5;		/* reads >= 99 are protected */
	plan_world(w, &o, NULL, &plan);
	assert_true(plan.n_moves > 0);
	assert_true(plan.n_protected > 0);
	for (size_t i = 0; i < plan.n_moves; i++) {
		assert_true(w->reads[plan.moves[i].handle] < 99);
		assert_true(plan.moves[i].gravity < 0.5);
	}
	plc_plan_release(&plan);
	world_free(w);
}

static void
test_planner__pinned_objects_never_leave_their_datacenters(void **state)
{
	struct world *w = world_new(41, 3, 4000, 2, 0, 1);
	struct plc_planner_opts o;
	struct plc_plan plan;
	size_t pinned_moves = 0;

	for (size_t i = 0; i < w->nobj; i += 2) {
		w->pinned[i] = 1;
		w->dcmask[i] = 1u << 0;		/* dc0 only */
	}
	unbounded(&o);
	o.prices[PLC_LINK_CROSS_REGION] = 0;
	plan_world(w, &o, NULL, &plan);
	assert_true(plan.n_moves > 0);
	for (size_t i = 0; i < plan.n_moves; i++) {
		const struct plc_move *m = &plan.moves[i];

		if (!w->pinned[m->handle])
			continue;
		pinned_moves++;
		assert_string_equal(w->cl->nodes[m->to].datacenter, "dc0");
	}
	assert_true(pinned_moves > 0);
	plc_plan_release(&plan);
	world_free(w);
}

static void
test_planner__failure_domains_hold_after_the_moves(void **state)
{
	for (int by_rack = 0; by_rack < 2; by_rack++) {
		struct world *w = world_new(51 + by_rack, 3, 5000, 3, by_rack,
		    1);
		struct plc_planner_opts o;
		struct plc_plan plan;

		unbounded(&o);
		o.failure_domain = by_rack ? PLC_DOMAIN_RACK : PLC_DOMAIN_HOST;
		plan_world(w, &o, NULL, &plan);
		assert_true(plan.n_moves > 0);
		apply_moves(w, &plan);
		for (size_t i = 0; i < w->nobj; i++) {
			for (size_t a = 0; a < w->ncopies[i]; a++)
				for (size_t b = 0; b < a; b++) {
					const struct plc_node *x =
					    &w->cl->nodes[w->copies[i][a]];
					const struct plc_node *y =
					    &w->cl->nodes[w->copies[i][b]];

					assert_true(strcmp(x->host,
					    y->host) != 0);
					if (by_rack)
						assert_false(strcmp(x->datacenter,
						    y->datacenter) == 0 &&
						    strcmp(x->rack,
						    y->rack) == 0);
				}
		}
		plc_plan_release(&plan);
		world_free(w);
	}
}

static void
test_planner__draining_and_out_nodes_are_never_destinations(void **state)
{
	struct world *w = world_new(61, 2, 4000, 3, 0, 1);
	struct plc_planner_opts o;
	struct plc_plan plan;

	/* The emptiest nodes would be the natural destinations. */
	w->cl->nodes[7].state = PLC_NODE_DRAINING;
	w->cl->nodes[10].state = PLC_NODE_OUT;
	w->cl->nodes[11].state = PLC_NODE_DRAINING;
	unbounded(&o);
	plan_world(w, &o, NULL, &plan);
	assert_true(plan.n_moves > 0);
	for (size_t i = 0; i < plan.n_moves; i++) {
		int st = w->cl->nodes[plan.moves[i].to].state;

		assert_int_equal(st, PLC_NODE_IN);
		assert_int_equal(w->cl->nodes[plan.moves[i].from].state,
		    PLC_NODE_IN);
	}
	plc_plan_release(&plan);
	world_free(w);
}

static void
test_planner__no_destination_is_pushed_past_max_fill(void **state)
{
	struct world *w = world_new(71, 2, 4000, 3, 0, 1);
	struct plc_planner_opts o;
	struct plc_plan plan;

	unbounded(&o);
	o.max_fill = 0.05;	/* below the mean: nothing fits */
	plan_world(w, &o, NULL, &plan);
	apply_moves(w, &plan);
	for (size_t i = 0; i < plan.n_moves; i++) {
		const struct plc_node *nd = &w->cl->nodes[plan.moves[i].to];

		assert_true((double)nd->used_bytes <=
		    0.05 * (double)nd->capacity_bytes);
	}
	plc_plan_release(&plan);
	world_free(w);
}

static void
test_planner__the_output_is_deterministic_whatever_the_order(void **state)
{
	struct world *w = world_new(81, 2, 5000, 3, 0, 1);
	struct plc_planner_opts o;
	struct plc_plan a, b;
	size_t *perm = calloc(w->nobj, sizeof(*perm));

	for (size_t i = 0; i < w->nobj; i++)
		perm[i] = w->nobj - 1 - i;
	unbounded(&o);
	o.max_moves = 300;
	o.cand_per_source = 200;	/* the bounded heaps must agree too */
	plan_world(w, &o, NULL, &a);
	plan_world(w, &o, perm, &b);
	assert_true(a.n_moves > 0);
	assert_int_equal(a.n_moves, b.n_moves);
	assert_memory_equal(a.moves, b.moves, a.n_moves * sizeof(a.moves[0]));
	assert_true(a.after.imbalance == b.after.imbalance);
	plc_plan_release(&a);
	plc_plan_release(&b);
	free(perm);
	world_free(w);
}

/* Adding in shares (one a thread) plans what adding whole plans, with the
 * same counts, bounded heaps or not. */
static void
test_planner__adding_in_shares_plans_as_adding_whole(void **state)
{
	struct world *w = world_new(81, 2, 5000, 3, 0, 1);
	struct plc_planner_opts o;
	struct plc_plan a, b;
	struct plc_planner *p;
	struct plc_planner_tally t;
	struct plc_object obj;
	struct bl_err err;

	(void)state;
	for (int bounded = 0; bounded < 2; bounded++) {
		for (unsigned n = 2; n <= 3; n++) {
			unbounded(&o);
			o.max_moves = 300;
			if (bounded)
				o.cand_per_source = 200;
			plan_world(w, &o, NULL, &a);
			plan_world_shares(w, &o, n, &b);
			assert_true(a.n_moves > 0);
			assert_int_equal(a.n_moves, b.n_moves);
			assert_memory_equal(a.moves, b.moves,
			    a.n_moves * sizeof(a.moves[0]));
			assert_true(a.n_objects == b.n_objects);
			assert_true(a.n_candidates == b.n_candidates);
			assert_true(a.n_protected == b.n_protected);
			assert_true(a.after.imbalance == b.after.imbalance);
			plc_plan_release(&a);
			plc_plan_release(&b);
		}
	}
	/* a share outside the shares is refused */
	unbounded(&o);
	assert_non_null(p = plc_planner_new(w->cl, &o, &err));
	memset(&obj, 0, sizeof(obj));
	obj.copies = w->copies[0];
	obj.ncopies = w->ncopies[0];
	obj.size = 1;
	memset(&t, 0, sizeof(t));
	assert_int_equal(plc_planner_add_share(p, &obj, 2, 2, &t, &err), -1);
	assert_non_null(strstr(err.msg, "share 2 of 2"));
	plc_planner_free(p);
	world_free(w);
}

static void
test_planner__lowest_gravity_leaves_a_source_first(void **state)
{
	struct world *w = world_new(91, 2, 4000, 3, 0, 1);
	struct plc_planner_opts o;
	struct plc_plan plan;

	unbounded(&o);
	o.weights = (struct plc_gravity_weights){ 1, 0, 0, 0, 0 };
	plan_world(w, &o, NULL, &plan);
	assert_true(plan.n_moves > 1);
	/* Per source, gravities of successive moves never go down. */
	for (size_t i = 0; i < plan.n_moves; i++)
		for (size_t j = i + 1; j < plan.n_moves; j++)
			if (plan.moves[j].from == plan.moves[i].from)
				assert_true(plan.moves[j].gravity >=
				    plan.moves[i].gravity);
	plc_plan_release(&plan);
	world_free(w);
}

static void
test_planner__a_zero_cost_budget_uses_free_links_only(void **state)
{
	struct world *w = world_new(131, 4, 5000, 3, 0, 1);
	struct plc_planner_opts o;
	struct plc_plan plan;

	unbounded(&o);
	o.max_cost = 0;
	plan_world(w, &o, NULL, &plan);
	assert_true(plan.n_moves > 0);
	for (size_t i = 0; i < plan.n_moves; i++) {
		const struct plc_move *m = &plan.moves[i];

		assert_true(m->cost == 0);
		assert_string_equal(w->cl->nodes[m->from].datacenter,
		    w->cl->nodes[m->to].datacenter);
	}
	assert_true(plan.cost == 0);
	plc_plan_release(&plan);
	world_free(w);
}

static void
test_planner__a_balanced_cluster_stays_put_for_ten_cycles(void **state)
{
	struct world *w = world_new(141, 2, 6000, 3, 0, 1);
	struct plc_planner_opts o;
	struct plc_plan plan;

	unbounded(&o);
	o.cand_per_source = w->nobj;
	plan_world(w, &o, NULL, &plan);
	assert_true(plan.n_moves > 0);
	assert_int_equal(plan.stop, PLC_STOP_TARGET);
	apply_moves(w, &plan);
	plc_plan_release(&plan);
	/* Hysteresis: below the threshold, nothing moves, cycle after
	 * cycle. */
	for (int cycle = 0; cycle < 10; cycle++) {
		plan_world(w, &o, NULL, &plan);
		assert_int_equal(plan.n_moves, 0);
		assert_int_equal(plan.stop, PLC_STOP_BELOW_THRESHOLD);
		plc_plan_release(&plan);
	}
	world_free(w);
}

static void
test_planner__quiet_hours_plan_nothing(void **state)
{
	struct world *w = world_new(101, 2, 3000, 3, 0, 1);
	struct plc_planner_opts o;
	struct plc_plan plan;

	unbounded(&o);
	o.quiet = 1;
	plan_world(w, &o, NULL, &plan);
	assert_true(plan.before.imbalance > o.threshold);
	assert_int_equal(plan.n_moves, 0);
	assert_true(plan.quiet);
	assert_int_equal(plan.stop, PLC_STOP_QUIET);
	plc_plan_release(&plan);
	world_free(w);
}

static void
test_planner__imbalance_counts_in_nodes_only(void **state)
{
	struct world *w = world_new(111, 2, 100, 3, 0, 0);
	struct plc_fill_stats a, b;

	plc_cluster_fill_stats(w->cl, NULL, &a);
	w->cl->nodes[0].state = PLC_NODE_OUT;
	w->cl->nodes[0].used_bytes = w->cl->nodes[0].capacity_bytes;
	plc_cluster_fill_stats(w->cl, NULL, &b);
	assert_int_equal(b.n_in, a.n_in - 1);
	assert_true(b.max < 1.0);
	world_free(w);
}

static void
test_planner__min_bytes_is_the_excess_over_the_mean(void **state)
{
	struct plc_cluster *cl = plc_cluster_new();
	struct plc_node nodes[3];
	struct plc_fill_stats st;

	memset(nodes, 0, sizeof(nodes));
	/* capacities 100, 100, 200; used 90, 10, 100 -> mean 0.5;
	 * excess: 40, 0, 0. */
	nodes[0].capacity_bytes = 100; nodes[0].used_bytes = 90;
	nodes[1].capacity_bytes = 100; nodes[1].used_bytes = 10;
	nodes[2].capacity_bytes = 200; nodes[2].used_bytes = 100;
	cl->nodes = nodes;
	cl->n = 3;
	plc_cluster_fill_stats(cl, NULL, &st);
	assert_true(st.mean == 0.5);
	assert_true(st.imbalance > 0.8 - 1e-12 && st.imbalance < 0.8 + 1e-12);
	assert_int_equal(st.min_bytes, 40);
	cl->nodes = NULL;
	cl->n = 0;
	plc_cluster_free(cl);
}

static void
test_planner__bad_objects_are_refused(void **state)
{
	struct world *w = world_new(121, 1, 10, 2, 0, 0);
	struct plc_planner_opts o;
	struct plc_planner *p;
	struct plc_object obj;
	struct bl_err err;
	uint32_t copies[2] = { 1, 1 }, bad[1] = { 99 };

	unbounded(&o);
	p = plc_planner_new(w->cl, &o, &err);
	assert_non_null(p);
	memset(&obj, 0, sizeof(obj));
	obj.size = 1;
	obj.copies = copies;
	obj.ncopies = 2;
	assert_int_equal(plc_planner_add(p, &obj, &err), -1);
	assert_non_null(strstr(err.msg, "two copies"));
	obj.copies = bad;
	obj.ncopies = 1;
	assert_int_equal(plc_planner_add(p, &obj, &err), -1);
	assert_non_null(strstr(err.msg, "unknown node"));
	obj.ncopies = 0;
	assert_int_equal(plc_planner_add(p, &obj, &err), -1);
	plc_planner_free(p);
	world_free(w);
}

static void
test_planner__object_key_is_fnv1a_64(void **state)
{
	/* FNV-1a 64 reference values. */
	assert_true(plc_object_key("", 0) == 0xcbf29ce484222325ull);
	assert_true(plc_object_key("a", 1) == 0xaf63dc4c8601ec8cull);
	assert_true(plc_node_hash_id("n01") >= 0);
}

/* The price of the cheapest move out of a node, the slow way: every other
 * node that could take data, by the link between the two. */
static double
brute_cheapest(const struct plc_cluster *cl, size_t i, const double *prices,
    double max_fill)
{
	const struct plc_node *a = &cl->nodes[i];
	double best = -1, maxp = 0;

	for (int k = 0; k < PLC_LINK_N; k++)
		if (prices[k] > maxp)
			maxp = prices[k];
	for (size_t j = 0; j < cl->n; j++) {
		const struct plc_node *b = &cl->nodes[j];
		int link;

		if (j == i || b->state != PLC_NODE_IN || !b->reachable ||
		    b->capacity_bytes == 0 || b->used_bytes >= (uint64_t)floor(
		    max_fill * (double)b->capacity_bytes))
			continue;
		if (strcmp(a->region, b->region) != 0)
			link = PLC_LINK_CROSS_REGION;
		else if (strcmp(a->datacenter, b->datacenter) != 0)
			link = PLC_LINK_CROSS_DATACENTER;
		else if (strcmp(a->rack, b->rack) != 0)
			link = PLC_LINK_SAME_DATACENTER;
		else if (strcmp(a->host, b->host) != 0)
			link = PLC_LINK_SAME_RACK;
		else
			link = PLC_LINK_SAME_HOST;
		if (best < 0 || prices[link] < best)
			best = prices[link];
	}
	return best < 0 ? maxp : best;
}

/* The planner finds each node's cheapest link by counting takers per
 * domain; the gravity of every move must be the one the brute-force
 * cheapest link gives, with prices that do not rise with distance, rack
 * and host names repeated under other parents, and full nodes that take
 * nothing. */
static void
test_planner__cheapest_link_matches_brute_force(void **state)
{
	size_t total = 0;

	(void)state;
	/* Random worlds where takers are scarce: low max_fill, nodes out,
	 * one to three nodes a host, and prices in any order. */
	for (uint64_t iter = 0; iter < 60; iter++) {
		struct plc_planner_opts o;
		struct plc_plan plan;
		struct world *w;
		size_t per_host = 1 + iter % 3;

		w = world_new(100 + iter, 4, 600, 2, 0, 1);
		for (size_t i = 0; i < w->cl->n; i++) {
			char buf[32];

			/* per_host 2: "h1" stands in two racks */
			free(w->cl->nodes[i].host);
			snprintf(buf, sizeof(buf), "h%zu", i / per_host);
			w->cl->nodes[i].host = xstrdup(buf);
			if (rng() % 8 == 0)
				w->cl->nodes[i].state = PLC_NODE_OUT;
		}
		unbounded(&o);
		for (int k = 0; k < PLC_LINK_N; k++)
			o.prices[k] = (double)(1 + rng() % 20) / 20.0;
		o.max_fill = 0.30 + (double)(rng() % 30) / 100.0;
		o.threshold = 0;
		o.target = 0;
		plan_world(w, &o, NULL, &plan);
		for (size_t m = 0; m < plan.n_moves; m++) {
			const struct plc_move *mv = &plan.moves[m];
			struct plc_gravity_input gi;

			memset(&gi, 0, sizeof(gi));
			gi.reads_per_hour = w->reads[mv->handle];
			gi.max_price = 0;
			for (int k = 0; k < PLC_LINK_N; k++)
				if (o.prices[k] > gi.max_price)
					gi.max_price = o.prices[k];
			gi.pinned = w->pinned[mv->handle];
			gi.latency_ms = w->cl->nodes[mv->from].latency_ms;
			gi.cheapest_price = brute_cheapest(w->cl, mv->from,
			    o.prices, o.max_fill);
			assert_true(plc_gravity_score(&o.weights, &gi, NULL) ==
			    mv->gravity);
		}
		total += plan.n_moves;
		plc_plan_release(&plan);
		world_free(w);
	}
	assert_true(total > 100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_planner__nothing_happens_below_the_threshold),
		cmocka_unit_test(test_planner__converges_to_target_and_no_further),
		cmocka_unit_test(test_planner__full_balance_moves_at_most_110_percent_of_min_bytes),
		cmocka_unit_test(test_planner__budgets_are_never_exceeded),
		cmocka_unit_test(
		    test_planner__prefers_free_same_host_moves_and_keeps_domains),
		cmocka_unit_test(
		    test_planner__deferred_second_moves_do_not_use_the_move_budget),
		cmocka_unit_test(test_planner__a_binding_byte_budget_is_used_to_the_full),
		cmocka_unit_test(test_planner__protected_objects_never_move),
		cmocka_unit_test(test_planner__pinned_objects_never_leave_their_datacenters),
		cmocka_unit_test(test_planner__failure_domains_hold_after_the_moves),
		cmocka_unit_test(test_planner__draining_and_out_nodes_are_never_destinations),
		cmocka_unit_test(test_planner__no_destination_is_pushed_past_max_fill),
		cmocka_unit_test(test_planner__the_output_is_deterministic_whatever_the_order),
		cmocka_unit_test(test_planner__adding_in_shares_plans_as_adding_whole),
		cmocka_unit_test(test_planner__lowest_gravity_leaves_a_source_first),
		cmocka_unit_test(test_planner__a_zero_cost_budget_uses_free_links_only),
		cmocka_unit_test(test_planner__a_balanced_cluster_stays_put_for_ten_cycles),
		cmocka_unit_test(test_planner__quiet_hours_plan_nothing),
		cmocka_unit_test(test_planner__imbalance_counts_in_nodes_only),
		cmocka_unit_test(test_planner__min_bytes_is_the_excess_over_the_mean),
		cmocka_unit_test(test_planner__bad_objects_are_refused),
		cmocka_unit_test(test_planner__object_key_is_fnv1a_64),
		cmocka_unit_test(test_planner__cheapest_link_matches_brute_force),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
