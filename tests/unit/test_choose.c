/* tests/unit/test_choose.c - where a copy goes and where it is read from
 * (placement/choose.c): an evacuation's choice, and that the planner and an
 * evacuation agree on which nodes are eligible and on what they weigh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "placement/cluster.h"
#include "placement/crush.h"
#include "placement/planner.h"

#define TIB	(1ULL << 40)

/* --- six nodes: two per datacenter, each its own host and rack ----------- */

static char ids[6][4] = { "n0", "n1", "n2", "n3", "n4", "n5" };
static char dcs[3][4] = { "dc1", "dc2", "dc3" };
static char region[] = "r";
static struct plc_node nodes[6];
static uint64_t used[6];
static uint32_t scratch[5 * 6];

static void
mk_nodes(void)
{
	memset(nodes, 0, sizeof(nodes));
	for (int i = 0; i < 6; i++) {
		nodes[i].id = ids[i];
		nodes[i].region = region;
		nodes[i].datacenter = dcs[i / 2];
		nodes[i].rack = ids[i];
		nodes[i].host = ids[i];
		nodes[i].reachable = 1;
		nodes[i].capacity_bytes = 1000000;
		nodes[i].used_bytes = 100000;
		nodes[i].weight = 1;
		nodes[i].latency_ms = -1;
		used[i] = nodes[i].used_bytes;
	}
	assert_true(sizeof(scratch) >= plc_choose_scratch_size(6));
	plc_choose_scratch_init(nodes, 6, scratch);
}

static void
in_init(struct plc_choice *in, const int *copies, size_t n, int replaced,
    uint32_t x)
{
	memset(in, 0, sizeof(*in));
	in->copies = copies;
	in->ncopies = n;
	in->replaced = replaced;
	in->size = 1000;
	in->x = x;
	in->max_fill = 0.9;
	in->domain = PLC_DOMAIN_HOST;
}

static int
choose(const struct plc_choice *in, size_t *nfull)
{
	return plc_choose_dest(nodes, 6, used, in, scratch, nfull);
}

static void
test_choose__destination_never_holds_a_copy_nor_shares_a_host(void **state)
{
	int copies[2] = { 0, 2 };
	struct plc_choice in;

	(void)state;
	for (uint32_t x = 0; x < 500; x++) {
		int d;

		mk_nodes();
		nodes[3].host = ids[2];	/* n3 shares n2's host (dc2) ... */
		nodes[3].rack = ids[2];	/* ... and rack */
		in_init(&in, copies, 2, 0, x);
		d = choose(&in, NULL);
		assert_true(d >= 0);
		assert_true(d != 0 && d != 2 && d != 3);
	}
}

static void
test_choose__the_replaced_copys_domain_is_allowed(void **state)
{
	int copies[1] = { 0 };
	struct plc_choice in;
	int seen1 = 0;

	(void)state;
	mk_nodes();
	for (int i = 2; i < 6; i++)
		nodes[i].state = PLC_NODE_OUT;
	nodes[1].datacenter = dcs[0];
	nodes[1].rack = ids[0];
	nodes[1].host = ids[0];	/* same host as the copy we replace */
	for (uint32_t x = 0; x < 20; x++) {
		in_init(&in, copies, 1, 0, x);
		if (choose(&in, NULL) == 1)
			seen1++;
	}
	assert_int_equal(seen1, 20);
}

static void
test_choose__draining_out_unreachable_and_full_nodes_are_never_chosen(
    void **state)
{
	int copies[1] = { 0 };
	struct plc_choice in;
	size_t nfull;

	(void)state;
	for (uint32_t x = 0; x < 300; x++) {
		mk_nodes();
		nodes[1].state = PLC_NODE_DRAINING;
		nodes[2].state = PLC_NODE_OUT;
		nodes[3].reachable = 0;
		used[4] = 899500;		/* 1000 more passes 0.9 */
		in_init(&in, copies, 1, 0, x);
		assert_int_equal(choose(&in, NULL), 5);
	}
	mk_nodes();
	for (int i = 1; i < 6; i++)
		used[i] = 899500;
	in_init(&in, copies, 1, 0, 7);
	assert_int_equal(choose(&in, &nfull), -1);
	assert_int_equal(nfull, 5);
	mk_nodes();
	nodes[5].capacity_bytes = 0;	/* no capacity: full too */
	for (int i = 1; i < 5; i++)
		nodes[i].state = PLC_NODE_DRAINING;
	assert_int_equal(choose(&in, &nfull), -1);
	assert_int_equal(nfull, 1);
	nodes[5].state = PLC_NODE_DRAINING;
	assert_int_equal(choose(&in, &nfull), -1);
	assert_int_equal(nfull, 0);
}

static void
test_choose__pinned_object_never_leaves_its_datacenters(void **state)
{
	int copies[1] = { 0 };
	const char *allowed[1] = { "dc1" };
	struct plc_choice in;

	(void)state;
	for (uint32_t x = 0; x < 300; x++) {
		mk_nodes();
		in_init(&in, copies, 1, 0, x);
		in.allowed_dcs = allowed;
		in.nallowed = 1;
		assert_int_equal(choose(&in, NULL), 1);
	}
}

static void
test_choose__choice_is_deterministic_and_spreads_by_weight(void **state)
{
	int copies[1] = { 0 }, count[6] = { 0 };
	struct plc_choice in;

	(void)state;
	for (uint32_t x = 0; x < 5000; x++) {
		int a, b;

		mk_nodes();
		nodes[5].weight = 3;
		plc_choose_scratch_init(nodes, 6, scratch);
		in_init(&in, copies, 1, 0, x);
		a = choose(&in, NULL);
		mk_nodes();
		nodes[5].weight = 3;
		plc_choose_scratch_init(nodes, 6, scratch);
		b = choose(&in, NULL);
		assert_int_equal(a, b);
		count[a]++;
	}
	assert_int_equal(count[0], 0);
	/* weight 3 against 1: about three times as many */
	assert_true(count[5] > 2 * count[1] && count[5] > 2 * count[4]);
	assert_true(count[1] > 400 && count[2] > 400);
}

static void
test_choose__chosen_bytes_count_against_max_fill(void **state)
{
	int copies[1] = { 0 };
	struct plc_choice in;
	int n = 0;

	(void)state;
	mk_nodes();
	for (int i = 2; i < 6; i++)
		nodes[i].state = PLC_NODE_OUT;
	/* n1 has room for exactly 10 more objects of 1000 bytes */
	used[1] = 890000;
	for (uint32_t x = 0; x < 20; x++) {
		in_init(&in, copies, 1, 0, x);
		if (choose(&in, NULL) == 1)
			n++;
	}
	assert_int_equal(n, 10);
	assert_int_equal(used[1], 900000);
	assert_int_equal(nodes[1].used_bytes, 100000);	/* not touched */
}

static void
test_choose__source_is_another_healthy_copy_first(void **state)
{
	int copies[3] = { 0, 1, 2 };

	(void)state;
	mk_nodes();
	/* evacuating n0: n1 or n2 serve it */
	assert_int_equal(plc_choose_pull(nodes, 6, copies, 3, 0), 1);
	nodes[1].reachable = 0;
	assert_int_equal(plc_choose_pull(nodes, 6, copies, 3, 0), 2);
	/* a draining copy is used only when no "in" copy answers */
	mk_nodes();
	nodes[1].state = PLC_NODE_DRAINING;
	assert_int_equal(plc_choose_pull(nodes, 6, copies, 3, 0), 2);
	nodes[2].state = PLC_NODE_OUT;
	assert_int_equal(plc_choose_pull(nodes, 6, copies, 3, 0), 1);
	/* else the evacuated node itself, if it answers */
	nodes[1].reachable = 0;
	assert_int_equal(plc_choose_pull(nodes, 6, copies, 3, 0), 0);
	nodes[0].reachable = 0;
	assert_int_equal(plc_choose_pull(nodes, 6, copies, 3, 0), -1);
}

/* --- the planner against an evacuation ----------------------------------- */

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

/* Appends a node; the cluster has room for 32. */
static void
add(struct plc_cluster *cl, const char *id, const char *path, uint64_t cap,
    uint64_t use, double weight, int st, int reachable)
{
	struct plc_node *nd = &cl->nodes[cl->n++];
	char buf[128], *seg[4];

	assert_true(cl->n <= 32);
	/* path: region/datacenter/rack/host, a segment may be empty */
	snprintf(buf, sizeof(buf), "%s", path);
	seg[0] = buf;
	for (int k = 1; k < 4; k++) {
		seg[k] = strchr(seg[k - 1], '/');
		assert_non_null(seg[k]);
		*seg[k]++ = '\0';
	}
	nd->id = xstrdup(id);
	nd->region = xstrdup(seg[0]);
	nd->datacenter = xstrdup(seg[1]);
	nd->rack = xstrdup(seg[2]);
	nd->host = xstrdup(seg[3]);
	nd->capacity_bytes = cap;
	nd->used_bytes = use;
	nd->weight = weight;
	nd->latency_ms = -1;
	nd->state = st;
	nd->reachable = reachable;
}

static struct plc_cluster *
cluster_new(void)
{
	struct plc_cluster *cl = plc_cluster_new();

	assert_non_null(cl);
	cl->nodes = calloc(32, sizeof(*cl->nodes));
	assert_non_null(cl->nodes);
	return cl;
}

static size_t
node(const struct plc_cluster *cl, const char *id)
{
	ssize_t i = plc_cluster_find(cl, id);

	assert_true(i >= 0);
	return (size_t)i;
}

/* What a node weighs in CRUSH is what it weighs when an evacuation draws:
 * plc_node_weight(), rounded to the nearest 1/65536 and capped. */
static void
test_choose__planner_and_evacuation_weigh_nodes_alike(void **state)
{
	static const struct {
		const char	*id;
		uint64_t	 cap;
		double		 weight;
		uint32_t	 want;	/* 16.16 */
	} w[] = {
		{ "a-1tib", TIB, 0, 65536 },
		/* 0.3 TiB: 19660.8, rounded up (truncated, it was 19660) */
		{ "b-0.3tib", 329853488333ULL, 0, 19661 },
		{ "c-w0.3", TIB, 0.3, 19661 },
		{ "d-w2.5", TIB, 2.5, 163840 },
		{ "e-tiny", TIB, 1e-9, 1 },
		{ "f-3bytes", 3, 0, 1 },
		/* at most 0x7fffffff / 1024, as CRUSH sums buckets */
		{ "g-w40", TIB, 40, 2097151 },
		{ "h-100tib", 100 * TIB, 0, 2097151 },
	};
	struct plc_cluster *cl = cluster_new();
	struct plc_crush *c;
	struct plc_choice in;
	struct bl_err err;
	uint32_t which[32], wts[32], cscratch[5 * 32];
	int32_t hid[32];
	uint64_t use[32];
	char path[64];
	size_t n, nw = sizeof(w) / sizeof(w[0]);

	(void)state;
	for (size_t i = 0; i < nw; i++) {
		snprintf(path, sizeof(path), "r/dc/rack%zu/host%zu", i, i);
		add(cl, w[i].id, path, w[i].cap, 0, w[i].weight, PLC_NODE_IN,
		    1);
	}
	add(cl, "x-draining", "r/dc/rx/hx", TIB, 0, 1, PLC_NODE_DRAINING, 1);
	add(cl, "y-out", "r/dc/ry/hy", TIB, 0, 1, PLC_NODE_OUT, 1);
	add(cl, "z-unreachable", "r/dc/rz/hz", TIB, 0, 1, PLC_NODE_IN, 0);
	assert_int_equal(plc_cluster_sort(cl, &err), 0);
	assert_non_null(c = plc_crush_from_cluster(cl, &err));

	memset(&in, 0, sizeof(in));
	in.replaced = -1;
	in.size = 1;
	in.max_fill = 1;
	in.domain = PLC_DOMAIN_HOST;
	n = plc_choose_eligible(cl->nodes, cl->n, NULL, &in, which, wts, NULL);
	/* Every node linked into CRUSH is eligible (all have room here), at
	 * the weight CRUSH gives it; the others are neither. */
	for (size_t i = 0, k = 0; i < cl->n; i++) {
		uint32_t cw = plc_crush_item_weight(c, (int)i);

		if (k < n && which[k] == i) {
			assert_int_equal(wts[k], cw);
			assert_int_equal(wts[k], plc_node_weight(&cl->nodes[i]));
			k++;
		} else
			assert_int_equal(cw, 0);
	}
	assert_int_equal(n, nw);
	for (size_t i = 0; i < nw; i++)
		assert_int_equal(plc_node_weight(&cl->nodes[node(cl,
		    w[i].id)]), w[i].want);

	/* And the evacuation's draw is straw2 over exactly those weights. */
	for (size_t k = 0; k < n; k++)
		hid[k] = plc_node_hash_id(cl->nodes[which[k]].id);
	plc_choose_scratch_init(cl->nodes, cl->n, cscratch);
	for (uint32_t x = 0; x < 2000; x++) {
		size_t want = plc_crush_straw2_choose(hid, wts, n, x, 0);

		for (size_t i = 0; i < cl->n; i++)
			use[i] = 0;
		in.x = x;
		assert_int_equal(plc_choose_dest(cl->nodes, cl->n, use, &in,
		    cscratch, NULL), (int)which[want]);
	}
	plc_crush_free(c);
	plc_cluster_free(cl);
}

#define NOBJ	150	/* objects per group */
#define NGROUP	3

/* The planner's destinations for each group of objects, as a node mask. */
static void
planned(const struct plc_cluster *cl, int domain,
    const uint32_t copies[NGROUP][2], const uint64_t dcmask[NGROUP],
    uint64_t dests[NGROUP])
{
	struct plc_planner_opts o;
	struct plc_planner *p;
	struct plc_plan plan;
	struct bl_err err;

	plc_planner_opts_init(&o);
	o.threshold = 0;
	o.target = 0;
	o.max_fill = 0.8;
	o.failure_domain = domain;
	o.protection = 2;	/* nothing is protected */
	o.prefer_same_host = 0;
	memset(o.prices, 0, sizeof(o.prices));
	assert_non_null(p = plc_planner_new(cl, &o, &err));
	for (size_t g = 0; g < NGROUP; g++) {
		for (size_t i = 0; i < NOBJ; i++) {
			struct plc_object ob;
			char id[32];

			snprintf(id, sizeof(id), "g%zu-obj%zu", g, i);
			memset(&ob, 0, sizeof(ob));
			ob.handle = g * NOBJ + i;
			ob.key = plc_object_key(id, strlen(id));
			ob.size = 1000;
			ob.copies = copies[g];
			ob.ncopies = 2;
			ob.pinned = dcmask[g] != 0;
			ob.allowed_dcs = dcmask[g];
			assert_int_equal(plc_planner_add(p, &ob, &err), 0);
		}
	}
	assert_int_equal(plc_planner_run(p, &plan, &err), 0);
	/* Every copy on the source moved: no candidate was left for want
	 * of a destination. */
	assert_int_equal(plan.n_moves, NGROUP * NOBJ);
	memset(dests, 0, NGROUP * sizeof(dests[0]));
	for (size_t m = 0; m < plan.n_moves; m++)
		dests[plan.moves[m].handle / NOBJ] |= 1ull << plan.moves[m].to;
	plc_plan_release(&plan);
	plc_planner_free(p);
}

/* The nodes an evacuation may send each group's copy on the source to. */
static void
evacuable(const struct plc_cluster *cl, int domain,
    const uint32_t copies[NGROUP][2], const uint64_t dcmask[NGROUP],
    uint64_t elig[NGROUP])
{
	const char *names[64], *allowed[64];
	size_t ndc = plc_cluster_dcs(cl, names, 64);

	for (size_t g = 0; g < NGROUP; g++) {
		int cp[2] = { (int)copies[g][0], (int)copies[g][1] };
		struct plc_choice in;
		uint32_t which[32];
		size_t n;

		memset(&in, 0, sizeof(in));
		in.copies = cp;
		in.ncopies = 2;
		in.replaced = cp[0];
		in.size = 1000;
		in.max_fill = 0.8;
		in.domain = domain;
		for (size_t k = 0; k < ndc; k++)
			if (dcmask[g] & (1ull << k))
				allowed[in.nallowed++] = names[k];
		in.allowed_dcs = in.nallowed ? allowed : NULL;
		n = plc_choose_eligible(cl->nodes, cl->n, NULL, &in, which,
		    NULL, NULL);
		elig[g] = 0;
		for (size_t k = 0; k < n; k++)
			elig[g] |= 1ull << which[k];
	}
}

/* One over-full source "src" holds a copy of every object; the other copy
 * is on "cp" (groups 0 and 2; group 2 is pinned) or on "e1", a node whose
 * rack and host are unnamed (group 1). Every node but the source is below
 * the mean, so that the planner has the whole cluster to choose from:
 * what it never chooses is what its rules exclude. */
static void
test_choose__planner_and_evacuation_agree_on_eligible_nodes(void **state)
{
	struct plc_cluster *cl = cluster_new();
	const uint64_t M = 10000000;	/* a small node's capacity */
	uint32_t copies[NGROUP][2];
	uint64_t dcmask[NGROUP] = { 0, 0, 0 };
	const char *names[64];
	struct bl_err err;
	size_t ndc;

	(void)state;
	add(cl, "src", "eu/dc1/r1/h1", 1000 * M, 990 * M, 0, PLC_NODE_IN, 1);
	add(cl, "src-host", "eu/dc1/r1/h1", M, M / 10, 0, PLC_NODE_IN, 1);
	add(cl, "cp", "eu/dc1/r1/h2", M, M / 10, 0, PLC_NODE_IN, 1);
	add(cl, "cp-host", "eu/dc1/r1/h2", M, M / 10, 0, PLC_NODE_IN, 1);
	add(cl, "cp-rack", "eu/dc1/r1/h3", M, M / 10, 0, PLC_NODE_IN, 1);
	/* host h2 again, but in another rack: another host */
	add(cl, "h2-other-rack", "eu/dc1/r2/h2", M, M / 10, 0, PLC_NODE_IN, 1);
	/* rack r1 again, but in another datacenter */
	add(cl, "r1-other-dc", "eu/dc2/r1/h2", M, M / 10, 0, PLC_NODE_IN, 1);
	add(cl, "dc2-b", "eu/dc2/r5/h5", M, M / 5, 2.5, PLC_NODE_IN, 1);
	/* below the mean but past max_fill 0.8 */
	add(cl, "full", "eu/dc2/r6/h6", M, M / 100 * 85, 0, PLC_NODE_IN, 1);
	add(cl, "no-capacity", "eu/dc2/r7/h7", 0, 0, 1, PLC_NODE_IN, 1);
	add(cl, "draining", "eu/dc2/r8/h8", M, M / 10, 0, PLC_NODE_DRAINING,
	    1);
	add(cl, "out", "eu/dc2/r9/h9", M, 0, 0, PLC_NODE_OUT, 1);
	add(cl, "unreachable", "eu/dc2/r9/h10", M, 0, 0, PLC_NODE_IN, 0);
	/* dc1 again, but in another region */
	add(cl, "us-dc1", "us/dc1/r1/h2", M, M / 10, 0, PLC_NODE_IN, 1);
	add(cl, "us-dc3", "us/dc3/r1/h1", M, M / 10, 0, PLC_NODE_IN, 1);
	/* unnamed rack and host: one host, as any other name */
	add(cl, "e1", "eu/dc4//", M, M / 10, 0, PLC_NODE_IN, 1);
	add(cl, "e2", "eu/dc4//", M, M / 10, 0, PLC_NODE_IN, 1);
	add(cl, "e3", "eu/dc4/r1/", M, M / 10, 0, PLC_NODE_IN, 1);
	assert_int_equal(plc_cluster_sort(cl, &err), 0);
	copies[0][0] = copies[1][0] = copies[2][0] =
	    (uint32_t)node(cl, "src");
	copies[0][1] = copies[2][1] = (uint32_t)node(cl, "cp");
	copies[1][1] = (uint32_t)node(cl, "e1");
	ndc = plc_cluster_dcs(cl, names, 64);
	for (size_t k = 0; k < ndc; k++)
		if (strcmp(names[k], "dc1") == 0 || strcmp(names[k], "dc4") == 0)
			dcmask[2] |= 1ull << k;

	for (int dom = PLC_DOMAIN_HOST; dom <= PLC_DOMAIN_DATACENTER; dom++) {
		uint64_t plan[NGROUP], elig[NGROUP];

		planned(cl, dom, (const uint32_t (*)[2])copies, dcmask, plan);
		evacuable(cl, dom, (const uint32_t (*)[2])copies, dcmask,
		    elig);
		for (size_t g = 0; g < NGROUP; g++) {
			if (plan[g] != elig[g])
				print_error("domain %s group %zu: planner "
				    "%#llx, evacuation %#llx\n",
				    plc_domain_name(dom), g,
				    (unsigned long long)plan[g],
				    (unsigned long long)elig[g]);
			assert_true(plan[g] == elig[g]);
		}
		if (dom != PLC_DOMAIN_HOST)
			continue;
		/* What the rules say, at the host level. */
#define IN(g, id)	((elig[g] >> node(cl, id)) & 1)
		assert_true(IN(0, "src-host"));	/* the replaced copy's */
		assert_false(IN(0, "cp-host"));
		assert_true(IN(0, "cp-rack"));
		assert_true(IN(0, "h2-other-rack"));
		assert_true(IN(0, "r1-other-dc"));
		assert_true(IN(0, "us-dc1"));
		assert_true(IN(0, "e1") && IN(0, "e2"));
		assert_false(IN(0, "src") || IN(0, "cp") || IN(0, "full") ||
		    IN(0, "no-capacity") || IN(0, "draining") ||
		    IN(0, "out") || IN(0, "unreachable"));
		assert_false(IN(1, "e1") || IN(1, "e2"));
		assert_true(IN(1, "e3") && IN(1, "cp") && IN(1, "cp-host"));
		/* pinned to dc1 and dc4 (of either region) */
		assert_true(IN(2, "us-dc1") && IN(2, "e1"));
		assert_false(IN(2, "dc2-b") || IN(2, "us-dc3"));
#undef IN
	}
	plc_cluster_free(cl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_choose__destination_never_holds_a_copy_nor_shares_a_host),
		cmocka_unit_test(
		    test_choose__the_replaced_copys_domain_is_allowed),
		cmocka_unit_test(
		    test_choose__draining_out_unreachable_and_full_nodes_are_never_chosen),
		cmocka_unit_test(
		    test_choose__pinned_object_never_leaves_its_datacenters),
		cmocka_unit_test(
		    test_choose__choice_is_deterministic_and_spreads_by_weight),
		cmocka_unit_test(
		    test_choose__chosen_bytes_count_against_max_fill),
		cmocka_unit_test(
		    test_choose__source_is_another_healthy_copy_first),
		cmocka_unit_test(
		    test_choose__planner_and_evacuation_weigh_nodes_alike),
		cmocka_unit_test(
		    test_choose__planner_and_evacuation_agree_on_eligible_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
