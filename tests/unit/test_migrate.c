/* tests/unit/test_migrate.c - the engine's pure logic: skip reasons, state
 * transitions, destination and source choice. No I/O. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "migrate/engine.h"
#include "placement/planner.h"

/* Six nodes: two per datacenter, each its own host and rack. */
static struct mig_node nodes[6];
static uint32_t scratch[3 * 6];

static void
mk_nodes(void)
{
	static const char *const ids[6] = { "n0", "n1", "n2", "n3", "n4",
	    "n5" };
	static const char *const dcs[6] = { "dc1", "dc1", "dc2", "dc2", "dc3",
	    "dc3" };

	memset(nodes, 0, sizeof(nodes));
	for (int i = 0; i < 6; i++) {
		nodes[i].id = ids[i];
		nodes[i].dc = dcs[i];
		nodes[i].rack = ids[i];
		nodes[i].host = ids[i];
		nodes[i].region = "r";
		nodes[i].reachable = 1;
		nodes[i].capacity = 1000000;
		nodes[i].used = 100000;
		nodes[i].weight = 1;
		nodes[i].hash_id = plc_node_hash_id(ids[i]);
	}
}

static void
in_init(struct mig_choice_in *in, const int *copies, size_t n, int replaced,
    uint32_t x)
{
	memset(in, 0, sizeof(*in));
	in->copies = copies;
	in->ncopies = n;
	in->replaced = replaced;
	in->size = 1000;
	in->x = x;
	in->max_fill = 0.9;
	in->domain = MIG_DOMAIN_HOST;
}

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

static void
test_migrate__destination_never_holds_a_copy_nor_shares_a_host(
    void **state)
{
	int copies[2] = { 0, 2 };
	struct mig_choice_in in;
	const char *why;

	(void)state;
	for (uint32_t x = 0; x < 500; x++) {
		int d;

		mk_nodes();
		nodes[3].host = "n2";	/* n3 shares n2's host (dc2) */
		in_init(&in, copies, 2, 0, x);
		d = mig_choose_dest(nodes, 6, &in, scratch, &why);
		assert_true(d >= 0);
		assert_true(d != 0 && d != 2 && d != 3);
		assert_null(why);
	}
}

static void
test_migrate__the_replaced_copys_domain_is_allowed(void **state)
{
	int copies[1] = { 0 };
	struct mig_choice_in in;
	const char *why;
	int seen1 = 0;

	(void)state;
	mk_nodes();
	for (int i = 2; i < 6; i++)
		nodes[i].state = 2;	/* out */
	nodes[1].host = "n0";		/* same host as the copy we replace */
	for (uint32_t x = 0; x < 20; x++) {
		in_init(&in, copies, 1, 0, x);
		if (mig_choose_dest(nodes, 6, &in, scratch, &why) == 1)
			seen1++;
	}
	assert_int_equal(seen1, 20);
}

static void
test_migrate__draining_out_unreachable_and_full_nodes_are_never_chosen(
    void **state)
{
	int copies[1] = { 0 };
	struct mig_choice_in in;
	const char *why;

	(void)state;
	for (uint32_t x = 0; x < 300; x++) {
		int d;

		mk_nodes();
		nodes[1].state = 1;		/* draining */
		nodes[2].state = 2;		/* out */
		nodes[3].reachable = 0;
		nodes[4].used = 899500;		/* 1000 more passes 0.9 */
		in_init(&in, copies, 1, 0, x);
		d = mig_choose_dest(nodes, 6, &in, scratch, &why);
		assert_int_equal(d, 5);
	}
	mk_nodes();
	for (int i = 1; i < 6; i++)
		nodes[i].used = 899500;
	in_init(&in, copies, 1, 0, 7);
	assert_int_equal(mig_choose_dest(nodes, 6, &in, scratch, &why), -1);
	assert_string_equal(why, "destination_insufficient_space");
	mk_nodes();
	for (int i = 1; i < 6; i++)
		nodes[i].state = 1;
	assert_int_equal(mig_choose_dest(nodes, 6, &in, scratch, &why), -1);
	assert_string_equal(why, "no_eligible_destination");
}

static void
test_migrate__pinned_object_never_leaves_its_datacenters(void **state)
{
	int copies[1] = { 0 };
	const char *dcs[1] = { "dc1" };
	struct mig_choice_in in;
	const char *why;

	(void)state;
	for (uint32_t x = 0; x < 300; x++) {
		mk_nodes();
		in_init(&in, copies, 1, 0, x);
		in.allowed_dcs = dcs;
		in.nallowed = 1;
		assert_int_equal(mig_choose_dest(nodes, 6, &in, scratch, &why),
		    1);
	}
}

static void
test_migrate__choice_is_deterministic_and_spreads_by_weight(void **state)
{
	int copies[1] = { 0 }, count[6] = { 0 };
	struct mig_choice_in in;
	const char *why;

	(void)state;
	for (uint32_t x = 0; x < 5000; x++) {
		int a, b;

		mk_nodes();
		nodes[5].weight = 3;
		in_init(&in, copies, 1, 0, x);
		a = mig_choose_dest(nodes, 6, &in, scratch, &why);
		mk_nodes();
		nodes[5].weight = 3;
		b = mig_choose_dest(nodes, 6, &in, scratch, &why);
		assert_int_equal(a, b);
		count[a]++;
	}
	assert_int_equal(count[0], 0);
	/* weight 3 against 1: about three times as many */
	assert_true(count[5] > 2 * count[1] && count[5] > 2 * count[4]);
	assert_true(count[1] > 400 && count[2] > 400);
}

static void
test_migrate__chosen_bytes_count_against_max_fill(void **state)
{
	int copies[1] = { 0 };
	struct mig_choice_in in;
	const char *why;
	int n = 0;

	(void)state;
	mk_nodes();
	for (int i = 2; i < 6; i++)
		nodes[i].state = 2;
	/* n1 has room for exactly 10 more objects of 1000 bytes */
	nodes[1].used = 890000;
	for (uint32_t x = 0; x < 20; x++) {
		in_init(&in, copies, 1, 0, x);
		if (mig_choose_dest(nodes, 6, &in, scratch, &why) == 1)
			n++;
	}
	assert_int_equal(n, 10);
	assert_int_equal(nodes[1].used, 900000);
}

static void
test_migrate__source_is_another_healthy_copy_first(void **state)
{
	int copies[3] = { 0, 1, 2 };

	(void)state;
	mk_nodes();
	/* evacuating n0: n1 or n2 serve it */
	assert_int_equal(mig_choose_pull(nodes, 6, copies, 3, 0), 1);
	nodes[1].reachable = 0;
	assert_int_equal(mig_choose_pull(nodes, 6, copies, 3, 0), 2);
	/* a draining copy is used only when no "in" copy answers */
	mk_nodes();
	nodes[1].state = 1;
	assert_int_equal(mig_choose_pull(nodes, 6, copies, 3, 0), 2);
	nodes[2].state = 2;
	assert_int_equal(mig_choose_pull(nodes, 6, copies, 3, 0), 1);
	/* else the evacuated node itself, if it answers */
	nodes[1].reachable = 0;
	assert_int_equal(mig_choose_pull(nodes, 6, copies, 3, 0), 0);
	nodes[0].reachable = 0;
	assert_int_equal(mig_choose_pull(nodes, 6, copies, 3, 0), -1);
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
		    test_migrate__destination_never_holds_a_copy_nor_shares_a_host),
		cmocka_unit_test(
		    test_migrate__the_replaced_copys_domain_is_allowed),
		cmocka_unit_test(
		    test_migrate__draining_out_unreachable_and_full_nodes_are_never_chosen),
		cmocka_unit_test(
		    test_migrate__pinned_object_never_leaves_its_datacenters),
		cmocka_unit_test(
		    test_migrate__choice_is_deterministic_and_spreads_by_weight),
		cmocka_unit_test(
		    test_migrate__chosen_bytes_count_against_max_fill),
		cmocka_unit_test(
		    test_migrate__source_is_another_healthy_copy_first),
	};

	return cmocka_run_group_tests_name("migrate", tests, NULL, NULL);
}
