/* tests/unit/test_gravity.c - the gravity score and its presets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "placement/gravity.h"

#define near(a, b)	assert_true(fabs((a) - (b)) < 1e-12)

static void
test_gravity__access_is_log10_of_reads_over_4_capped(void **state)
{
	near(plc_gravity_access(0), 0);
	near(plc_gravity_access(9), 0.25);
	near(plc_gravity_access(99), 0.5);
	near(plc_gravity_access(999), 0.75);
	near(plc_gravity_access(9999), 1);
	near(plc_gravity_access(1e9), 1);
	near(plc_gravity_access(-5), 0);
}

static void
test_gravity__colocation_is_n_over_10_capped(void **state)
{
	near(plc_gravity_colocation(0), 0);
	near(plc_gravity_colocation(3), 0.3);
	near(plc_gravity_colocation(10), 1);
	near(plc_gravity_colocation(250), 1);
}

static void
test_gravity__egress_is_price_over_max_price(void **state)
{
	near(plc_gravity_egress(0.02, 0.09), 0.02 / 0.09);
	near(plc_gravity_egress(0.09, 0.09), 1);
	near(plc_gravity_egress(0, 0.09), 0);
	near(plc_gravity_egress(0.5, 0), 0);	/* every link free */
}

static void
test_gravity__latency_is_one_minus_ms_over_200(void **state)
{
	near(plc_gravity_latency(0), 1);
	near(plc_gravity_latency(50), 0.75);
	near(plc_gravity_latency(200), 0);
	near(plc_gravity_latency(1000), 0);
	near(plc_gravity_latency(-1), 0.5);	/* unknown */
}

static void
test_gravity__compliance_is_one_when_pinned(void **state)
{
	near(plc_gravity_compliance(1), 1);
	near(plc_gravity_compliance(0), 0);
}

static void
test_gravity__presets_have_the_design_weights_and_sum_to_one(void **state)
{
	const struct plc_gravity_weights *w;

	w = plc_gravity_preset(plc_gravity_preset_parse("default"));
	near(w->access, 0.30); near(w->colocation, 0.20);
	near(w->egress, 0.15); near(w->latency, 0.15);
	near(w->compliance, 0.20);
	w = plc_gravity_preset(plc_gravity_preset_parse("cost-optimized"));
	near(w->access, 0.20); near(w->colocation, 0.10);
	near(w->egress, 0.35); near(w->latency, 0.10);
	near(w->compliance, 0.25);
	w = plc_gravity_preset(plc_gravity_preset_parse(
	    "performance-optimized"));
	near(w->access, 0.35); near(w->colocation, 0.30);
	near(w->egress, 0.05); near(w->latency, 0.25);
	near(w->compliance, 0.05);
	w = plc_gravity_preset(plc_gravity_preset_parse("compliance-first"));
	near(w->access, 0.10); near(w->colocation, 0.10);
	near(w->egress, 0.10); near(w->latency, 0.10);
	near(w->compliance, 0.60);
	for (int i = 0; i < PLC_GRAVITY_PRESET_N; i++)
		assert_true(plc_gravity_weights_valid(plc_gravity_preset(i)));
	assert_int_equal(plc_gravity_preset_parse("cheap"), -1);
	assert_null(plc_gravity_preset(PLC_GRAVITY_PRESET_N));
}

static void
test_gravity__score_is_the_weighted_sum_in_0_1(void **state)
{
	const struct plc_gravity_weights *w =
	    plc_gravity_preset(PLC_GRAVITY_DEFAULT);
	struct plc_gravity_input in = { 99, 5, 0.02, 0.09, 50, 1 };
	struct plc_gravity_dims d;
	double s;

	s = plc_gravity_score(w, &in, &d);
	near(d.access, 0.5);
	near(d.colocation, 0.5);
	near(d.egress, 0.02 / 0.09);
	near(d.latency, 0.75);
	near(d.compliance, 1);
	near(s, 0.30 * 0.5 + 0.20 * 0.5 + 0.15 * 0.02 / 0.09 + 0.15 * 0.75 +
	    0.20 * 1);
	/* Everything at its maximum is exactly 1, at its minimum 0. */
	in = (struct plc_gravity_input){ 1e9, 100, 0.09, 0.09, 0, 1 };
	for (int i = 0; i < PLC_GRAVITY_PRESET_N; i++)
		near(plc_gravity_score(plc_gravity_preset(i), &in, NULL), 1);
	in = (struct plc_gravity_input){ 0, 0, 0, 0.09, 500, 0 };
	for (int i = 0; i < PLC_GRAVITY_PRESET_N; i++)
		near(plc_gravity_score(plc_gravity_preset(i), &in, NULL), 0);
}

static void
test_gravity__compliance_first_protects_pinned_objects(void **state)
{
	/* A pinned, busy object passes 0.9 under compliance-first but not
	 * under the default weights. */
	struct plc_gravity_input in = { 9999, 10, 0.09, 0.09, 0, 1 };
	struct plc_gravity_input cold = { 0, 0, 0, 0.09, 200, 1 };

	assert_true(plc_gravity_score(plc_gravity_preset(
	    PLC_GRAVITY_COMPLIANCE_FIRST), &in, NULL) >= 0.9);
	near(plc_gravity_score(plc_gravity_preset(
	    PLC_GRAVITY_COMPLIANCE_FIRST), &cold, NULL), 0.6);
	near(plc_gravity_score(plc_gravity_preset(PLC_GRAVITY_DEFAULT), &cold,
	    NULL), 0.2);
}

static void
test_gravity__weights_must_sum_to_one(void **state)
{
	struct plc_gravity_weights w = { 0.2, 0.2, 0.2, 0.2, 0.2 };

	assert_true(plc_gravity_weights_valid(&w));
	w.access = 0.3;
	assert_false(plc_gravity_weights_valid(&w));
	w = (struct plc_gravity_weights){ 1.2, -0.2, 0, 0, 0 };
	assert_false(plc_gravity_weights_valid(&w));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gravity__access_is_log10_of_reads_over_4_capped),
		cmocka_unit_test(test_gravity__colocation_is_n_over_10_capped),
		cmocka_unit_test(test_gravity__egress_is_price_over_max_price),
		cmocka_unit_test(test_gravity__latency_is_one_minus_ms_over_200),
		cmocka_unit_test(test_gravity__compliance_is_one_when_pinned),
		cmocka_unit_test(test_gravity__presets_have_the_design_weights_and_sum_to_one),
		cmocka_unit_test(test_gravity__score_is_the_weighted_sum_in_0_1),
		cmocka_unit_test(test_gravity__compliance_first_protects_pinned_objects),
		cmocka_unit_test(test_gravity__weights_must_sum_to_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
