/* tests/unit/test_policy.c - presets, validation and quiet hours, with the
 * real tz database (lib/tz.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "lib/tz.h"
#include "policy/policy.h"

#define GIB	(1024ll * 1024 * 1024)
#define MIB	(1024ll * 1024)

static const struct pol_tz real_tz = { bl_tz_localtime, NULL };

static int
parse(const char *json, struct pol_policy *p, struct bl_err *err)
{
	bl_err_clear(err);
	return pol_parse_json(json, strlen(json), "policy", -1, &real_tz, p,
	    err);
}

static time_t
at(const char *iso)
{
	time_t t;
	struct bl_err err;

	assert_int_equal(bl_time_parse_iso8601(iso, &t, &err), 0);
	return t;
}

static int
quiet(const char *json, const char *iso)
{
	struct pol_policy p;
	struct bl_err err;
	int q;

	assert_int_equal(parse(json, &p, &err), 0);
	assert_int_equal(pol_quiet_at(&p, at(iso), &real_tz, &q, &err), 0);
	return q;
}

static void
test_policy__presets_have_the_design_values(void **state)
{
	struct pol_policy p;

	assert_int_equal(pol_preset_apply(&p, POL_PRESET_DEFAULT), 0);
	assert_int_equal(p.check_interval_s, 300);
	assert_true(p.imbalance_threshold == 0.10);
	assert_true(p.target_imbalance == 0.05);
	assert_int_equal(p.max_concurrent_migrations, 3);
	assert_int_equal(p.max_moves_per_cycle, 1000);
	assert_int_equal(p.max_egress_bytes_per_cycle, 10 * GIB);
	assert_true(p.max_cost_per_cycle == 100.0);
	assert_true(p.gravity_protection_threshold == 0.9);
	assert_int_equal(p.throttle_bytes_per_sec, 50 * MIB);
	assert_int_equal(p.validate_checksums, 1);
	assert_true(p.max_fill == 0.9);
	assert_int_equal(p.failure_domain, PLC_DOMAIN_HOST);
	assert_int_equal(p.n_quiet, 0);
	assert_int_equal(p.quiet_hours_pause_inflight, 0);
	assert_int_equal(p.gravity_preset, PLC_GRAVITY_DEFAULT);
	assert_true(p.egress_prices_per_gib[PLC_LINK_SAME_HOST] == 0);
	assert_true(p.egress_prices_per_gib[PLC_LINK_SAME_RACK] == 0);
	assert_true(p.egress_prices_per_gib[PLC_LINK_SAME_DATACENTER] == 0);
	assert_true(p.egress_prices_per_gib[PLC_LINK_CROSS_DATACENTER] == 0.02);
	assert_true(p.egress_prices_per_gib[PLC_LINK_CROSS_REGION] == 0.09);

	assert_int_equal(pol_preset_apply(&p, POL_PRESET_AGGRESSIVE), 0);
	assert_int_equal(p.check_interval_s, 60);
	assert_true(p.imbalance_threshold == 0.05);
	assert_true(p.target_imbalance == 0.025);
	assert_int_equal(p.max_concurrent_migrations, 10);
	assert_int_equal(p.max_moves_per_cycle, 10000);
	assert_int_equal(p.max_egress_bytes_per_cycle, 10 * GIB);
	assert_true(p.max_cost_per_cycle == 100.0);
	assert_true(p.gravity_protection_threshold == 0.9);
	assert_int_equal(p.throttle_bytes_per_sec, 200 * MIB);
	assert_int_equal(p.validate_checksums, 1);

	assert_int_equal(pol_preset_apply(&p, POL_PRESET_CONSERVATIVE), 0);
	assert_int_equal(p.check_interval_s, 1800);
	assert_true(p.imbalance_threshold == 0.20);
	assert_true(p.target_imbalance == 0.10);
	assert_int_equal(p.max_concurrent_migrations, 1);
	assert_int_equal(p.max_moves_per_cycle, 100);
	assert_int_equal(p.max_egress_bytes_per_cycle, 10 * GIB);
	assert_true(p.max_cost_per_cycle == 100.0);
	assert_int_equal(p.throttle_bytes_per_sec, 10 * MIB);

	assert_int_equal(pol_preset_apply(&p, 7), -1);
}

static void
test_policy__preset_defaults_pass_their_own_bounds(void **state)
{
	for (size_t i = 0; i < pol_nfields; i++) {
		const struct pol_field *f = &pol_fields[i];

		if (f->type == POL_T_SPECIAL)
			continue;
		for (int ps = 0; ps < POL_PRESET_N; ps++) {
			assert_true(f->def[ps] >= f->min);
			assert_true(f->def[ps] <= f->max);
		}
	}
}

static void
test_policy__a_preset_key_then_overrides_apply(void **state)
{
	struct pol_policy p;
	struct bl_err err;

	assert_int_equal(parse("{\"preset\":\"aggressive\","
	    "\"check_interval_s\":120,\"max_moves_per_cycle\":null,"
	    "\"max_cost_per_cycle\":null,\"gravity_weights\":"
	    "\"cost-optimized\",\"egress_prices_per_gib\":{\"cross_region\":"
	    "0.5},\"failure_domain\":\"rack\"}", &p, &err), 0);
	assert_int_equal(p.preset, POL_PRESET_AGGRESSIVE);
	assert_int_equal(p.check_interval_s, 120);
	assert_true(p.imbalance_threshold == 0.05);	/* from the preset */
	assert_true(p.target_imbalance == 0.025);
	assert_int_equal(p.max_moves_per_cycle, POL_UNLIMITED);
	assert_true(p.max_cost_per_cycle < 0);
	assert_int_equal(p.gravity_preset, PLC_GRAVITY_COST_OPTIMIZED);
	assert_true(p.gravity_weights.egress == 0.35);
	assert_true(p.egress_prices_per_gib[PLC_LINK_CROSS_REGION] == 0.5);
	assert_true(p.egress_prices_per_gib[PLC_LINK_CROSS_DATACENTER] == 0.02);
	assert_int_equal(p.failure_domain, PLC_DOMAIN_RACK);
	assert_true(p.set & POL_SET_FAILURE_DOMAIN);

	/* An explicit preset argument wins over the file's key. */
	assert_int_equal(pol_parse_json("{\"preset\":\"aggressive\"}",
	    strlen("{\"preset\":\"aggressive\"}"), "policy",
	    POL_PRESET_CONSERVATIVE, &real_tz, &p, &err), 0);
	assert_int_equal(p.check_interval_s, 1800);

	assert_int_equal(parse("{\"imbalance_threshold\":0.3,"
	    "\"target_imbalance\":0.1,\"gravity_weights\":{\"access\":0.2,"
	    "\"colocation\":0.2,\"egress\":0.2,\"latency\":0.2,"
	    "\"compliance\":0.2}}", &p, &err), 0);
	assert_true(p.target_imbalance == 0.1);
	assert_int_equal(p.gravity_preset, -1);
	assert_true(p.gravity_weights.latency == 0.2);
	assert_int_equal(parse("{\"imbalance_threshold\":0.3}", &p, &err), 0);
	assert_true(p.target_imbalance == 0.15);
}

struct bad_case {
	const char	*json;
	const char	*msg;	/* the whole error message */
};

static void
check_bad(const struct bad_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct pol_policy p;
		struct bl_err err;

		if (parse(c[i].json, &p, &err) != -1 ||
		    strcmp(err.msg, c[i].msg) != 0)
			fail_msg("policy %s\n  expected: %s\n  got:      %s",
			    c[i].json, c[i].msg, err.msg);
	}
}

static void
test_policy__unknown_keys_are_refused_with_their_path(void **state)
{
	static const struct bad_case c[] = {
		{ "{\"check_interval\":300}",
		  "policy.check_interval: unknown key" },
		{ "{\"max_fill\":0.8,\"maxfill\":0.8}",
		  "policy.maxfill: unknown key" },
		{ "{\"gravity_weights\":{\"access\":1,\"speed\":0}}",
		  "policy.gravity_weights.speed: unknown key" },
		{ "{\"egress_prices_per_gib\":{\"same_planet\":1}}",
		  "policy.egress_prices_per_gib.same_planet: unknown key" },
		{ "{\"quiet_hours\":[{\"start\":\"01:00\",\"end\":\"02:00\","
		  "\"weekdays\":[\"mon\"]}]}",
		  "policy.quiet_hours[0].weekdays: unknown key" },
	};

	check_bad(c, sizeof(c) / sizeof(c[0]));
}

static void
test_policy__wrong_types_are_refused_with_their_path(void **state)
{
	static const struct bad_case c[] = {
		{ "{\"check_interval_s\":\"300\"}",
		  "policy.check_interval_s: expected an integer, got a string" },
		{ "{\"check_interval_s\":30.5}",
		  "policy.check_interval_s: expected an integer, got a real "
		  "number" },
		{ "{\"imbalance_threshold\":true}",
		  "policy.imbalance_threshold: expected a number, got a boolean" },
		{ "{\"target_imbalance\":\"half\"}",
		  "policy.target_imbalance: expected a number, got a string" },
		{ "{\"max_moves_per_cycle\":\"many\"}",
		  "policy.max_moves_per_cycle: expected an integer or null, got "
		  "a string" },
		{ "{\"max_cost_per_cycle\":[]}",
		  "policy.max_cost_per_cycle: expected a number or null, got an "
		  "array" },
		{ "{\"max_concurrent_migrations\":null}",
		  "policy.max_concurrent_migrations: expected an integer, got "
		  "null" },
		{ "{\"validate_checksums\":1}",
		  "policy.validate_checksums: expected a boolean, got an "
		  "integer" },
		{ "{\"quiet_hours_pause_inflight\":\"yes\"}",
		  "policy.quiet_hours_pause_inflight: expected a boolean, got a "
		  "string" },
		{ "{\"preset\":1}",
		  "policy.preset: expected a string, got an integer" },
		{ "{\"failure_domain\":2}",
		  "policy.failure_domain: expected a string, got an integer" },
		{ "{\"gravity_weights\":3}",
		  "policy.gravity_weights: expected a preset name or an object, "
		  "got an integer" },
		{ "{\"gravity_weights\":{\"access\":\"x\",\"colocation\":0,"
		  "\"egress\":0,\"latency\":0,\"compliance\":0}}",
		  "policy.gravity_weights.access: expected a number, got a "
		  "string" },
		{ "{\"egress_prices_per_gib\":[]}",
		  "policy.egress_prices_per_gib: expected an object, got an "
		  "array" },
		{ "{\"egress_prices_per_gib\":{\"same_rack\":\"free\"}}",
		  "policy.egress_prices_per_gib.same_rack: expected a number, "
		  "got a string" },
		{ "{\"quiet_hours\":{}}",
		  "policy.quiet_hours: expected an array, got an object" },
		{ "{\"quiet_hours\":[\"22:00-06:00\"]}",
		  "policy.quiet_hours[0]: expected an object, got a string" },
		{ "{\"quiet_hours\":[{\"start\":2200,\"end\":\"06:00\"}]}",
		  "policy.quiet_hours[0].start: expected \"HH:MM\", got an "
		  "integer" },
		{ "{\"quiet_hours\":[{\"start\":\"22:00\",\"end\":\"06:00\","
		  "\"days\":\"mon\"}]}",
		  "policy.quiet_hours[0].days: expected a non-empty array of "
		  "\"mon\"..\"sun\", got a string" },
		{ "{\"quiet_hours\":[{\"start\":\"22:00\",\"end\":\"06:00\","
		  "\"days\":[1]}]}",
		  "policy.quiet_hours[0].days[0]: expected a day name, got an "
		  "integer" },
		{ "{\"quiet_hours\":[{\"start\":\"22:00\",\"end\":\"06:00\","
		  "\"tz\":1}]}",
		  "policy.quiet_hours[0].tz: expected a time-zone name, got an "
		  "integer" },
		{ "[]", "policy: expected an object, got an array" },
	};

	check_bad(c, sizeof(c) / sizeof(c[0]));
}

static void
test_policy__out_of_range_values_are_refused_with_their_path(void **state)
{
	static const struct bad_case c[] = {
		{ "{\"check_interval_s\":0}",
		  "policy.check_interval_s: 0 out of range [1, 86400]" },
		{ "{\"imbalance_threshold\":1.5}",
		  "policy.imbalance_threshold: 1.5 out of range [0.0001, 1]" },
		{ "{\"target_imbalance\":-0.1}",
		  "policy.target_imbalance: -0.10000000000000001 out of range "
		  "[0, 1]" },
		{ "{\"imbalance_threshold\":0.1,\"target_imbalance\":0.2}",
		  "policy.target_imbalance: 0.20000000000000001 is above "
		  "imbalance_threshold 0.10000000000000001" },
		{ "{\"max_concurrent_migrations\":0}",
		  "policy.max_concurrent_migrations: 0 out of range [1, 10000]" },
		{ "{\"max_moves_per_cycle\":-1}",
		  "policy.max_moves_per_cycle: -1 out of range [0, 1000000000]" },
		{ "{\"max_egress_bytes_per_cycle\":-5}",
		  "policy.max_egress_bytes_per_cycle: -5 out of range [0, "
		  "9007199254740992]" },
		{ "{\"max_cost_per_cycle\":-0.5}",
		  "policy.max_cost_per_cycle: -0.5 out of range [0, "
		  "1000000000000]" },
		{ "{\"gravity_protection_threshold\":1.01}",
		  "policy.gravity_protection_threshold: 1.01 out of range "
		  "[0, 1]" },
		{ "{\"throttle_bytes_per_sec\":0}",
		  "policy.throttle_bytes_per_sec: 0 out of range [1, "
		  "1099511627776]" },
		{ "{\"max_fill\":1.2}",
		  "policy.max_fill: 1.2 out of range [0, 1]" },
		{ "{\"egress_prices_per_gib\":{\"cross_region\":-1}}",
		  "policy.egress_prices_per_gib.cross_region: -1 out of range "
		  "[0, 1000000]" },
		{ "{\"preset\":\"turbo\"}",
		  "policy.preset: unknown preset \"turbo\" (expected "
		  "\"default\", \"aggressive\" or \"conservative\")" },
		{ "{\"failure_domain\":\"zone\"}",
		  "policy.failure_domain: expected \"host\", \"rack\" or "
		  "\"datacenter\", got \"zone\"" },
		{ "{\"gravity_weights\":\"fastest\"}",
		  "policy.gravity_weights: unknown preset \"fastest\" (expected "
		  "\"default\", \"cost-optimized\", \"performance-optimized\" or "
		  "\"compliance-first\")" },
		{ "{\"gravity_weights\":{\"access\":0.5,\"colocation\":0.5,"
		  "\"egress\":0.5,\"latency\":0,\"compliance\":0}}",
		  "policy.gravity_weights: weights sum to 1.5, expected 1" },
		{ "{\"gravity_weights\":{\"access\":1.5,\"colocation\":0,"
		  "\"egress\":0,\"latency\":0,\"compliance\":0}}",
		  "policy.gravity_weights.access: 1.5 out of range [0, 1]" },
		{ "{\"gravity_weights\":{\"access\":1}}",
		  "policy.gravity_weights.colocation: missing" },
	};

	check_bad(c, sizeof(c) / sizeof(c[0]));
}

static void
test_policy__bad_quiet_hours_are_refused_with_their_path(void **state)
{
	static const struct bad_case c[] = {
		{ "{\"quiet_hours\":[{\"start\":\"01:00\",\"end\":\"02:00\"},"
		  "{\"start\":\"25:00\",\"end\":\"06:00\"}]}",
		  "policy.quiet_hours[1].start: expected \"HH:MM\", got "
		  "\"25:00\"" },
		{ "{\"quiet_hours\":[{\"start\":\"22:00\",\"end\":\"6:00\"}]}",
		  "policy.quiet_hours[0].end: expected \"HH:MM\", got \"6:00\"" },
		{ "{\"quiet_hours\":[{\"start\":\"22:00\",\"end\":\"12:60\"}]}",
		  "policy.quiet_hours[0].end: expected \"HH:MM\", got "
		  "\"12:60\"" },
		{ "{\"quiet_hours\":[{\"start\":\"24:00\",\"end\":\"06:00\"}]}",
		  "policy.quiet_hours[0].start: expected \"HH:MM\", got "
		  "\"24:00\"" },
		{ "{\"quiet_hours\":[{\"end\":\"06:00\"}]}",
		  "policy.quiet_hours[0].start: missing" },
		{ "{\"quiet_hours\":[{\"start\":\"06:00\",\"end\":\"06:00\"}]}",
		  "policy.quiet_hours[0]: start and end are both \"06:00\"; a "
		  "window must not be empty" },
		{ "{\"quiet_hours\":[{\"start\":\"22:00\",\"end\":\"06:00\","
		  "\"days\":[\"mon\",\"funday\"]}]}",
		  "policy.quiet_hours[0].days[1]: expected one of \"mon\", "
		  "\"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\", got "
		  "\"funday\"" },
		{ "{\"quiet_hours\":[{\"start\":\"22:00\",\"end\":\"06:00\","
		  "\"days\":[\"mon\",\"mon\"]}]}",
		  "policy.quiet_hours[0].days[1]: \"mon\" given twice" },
		{ "{\"quiet_hours\":[{\"start\":\"22:00\",\"end\":\"06:00\","
		  "\"days\":[]}]}",
		  "policy.quiet_hours[0].days: expected a non-empty array of "
		  "\"mon\"..\"sun\", got an array" },
		{ "{\"quiet_hours\":[{\"start\":\"22:00\",\"end\":\"06:00\","
		  "\"tz\":\"Mars/Olympus_Mons\"}]}",
		  "policy.quiet_hours[0].tz: unknown time zone "
		  "\"Mars/Olympus_Mons\"" },
		{ "{\"quiet_hours\":[{\"start\":\"22:00\",\"end\":\"06:00\","
		  "\"tz\":\"../../etc/passwd\"}]}",
		  "policy.quiet_hours[0].tz: invalid time-zone name "
		  "\"../../etc/passwd\"" },
	};

	check_bad(c, sizeof(c) / sizeof(c[0]));
}

static void
test_policy__malformed_json_names_the_line(void **state)
{
	struct pol_policy p;
	struct bl_err err;

	assert_int_equal(parse("{\n\"max_fill\": 0.9,\n}", &p, &err), -1);
	assert_int_equal(err.code, BL_EPARSE);
	assert_non_null(strstr(err.msg, "line 3"));
	assert_int_equal(parse("{\"max_fill\":0.5,\"max_fill\":0.6}", &p,
	    &err), -1);
	assert_non_null(strstr(err.msg, "duplicate"));
}

static const char *const night_fri =
    "{\"quiet_hours\":[{\"start\":\"22:00\",\"end\":\"06:00\","
    "\"days\":[\"fri\"]}]}";

static void
test_policy__a_window_crossing_midnight_belongs_to_its_start_day(void **state)
{
	/* 2026-11-20 is a Friday. */
	assert_true(quiet(night_fri, "2026-11-20T22:00:00Z"));
	assert_true(quiet(night_fri, "2026-11-20T23:59:00Z"));
	assert_true(quiet(night_fri, "2026-11-21T00:00:00Z"));	/* Sat */
	assert_true(quiet(night_fri, "2026-11-21T05:59:59Z"));
	assert_false(quiet(night_fri, "2026-11-21T06:00:00Z"));	/* end excl. */
	assert_false(quiet(night_fri, "2026-11-20T21:59:59Z"));
	/* Friday morning belongs to Thursday's window: not listed. */
	assert_false(quiet(night_fri, "2026-11-20T05:00:00Z"));
	/* Saturday evening starts a Saturday window: not listed. */
	assert_false(quiet(night_fri, "2026-11-21T23:00:00Z"));
}

static void
test_policy__weekdays_select_the_days_a_window_starts(void **state)
{
	const char *wk = "{\"quiet_hours\":[{\"start\":\"09:00\","
	    "\"end\":\"17:00\",\"days\":[\"mon\",\"tue\",\"wed\",\"thu\","
	    "\"fri\"]}]}";
	const char *all = "{\"quiet_hours\":[{\"start\":\"09:00\","
	    "\"end\":\"17:00\"}]}";

	assert_true(quiet(wk, "2026-11-20T12:00:00Z"));		/* Fri */
	assert_false(quiet(wk, "2026-11-21T12:00:00Z"));	/* Sat */
	assert_false(quiet(wk, "2026-11-22T12:00:00Z"));	/* Sun */
	assert_true(quiet(wk, "2026-11-23T09:00:00Z"));		/* Mon */
	assert_false(quiet(wk, "2026-11-23T17:00:00Z"));
	assert_false(quiet(wk, "2026-11-23T08:59:00Z"));
	assert_true(quiet(all, "2026-11-22T12:00:00Z"));	/* no days: all */
	/* An end of 24:00 runs to midnight. */
	assert_true(quiet("{\"quiet_hours\":[{\"start\":\"20:00\","
	    "\"end\":\"24:00\"}]}", "2026-11-22T23:59:00Z"));
	assert_false(quiet("{\"quiet_hours\":[{\"start\":\"20:00\","
	    "\"end\":\"24:00\"}]}", "2026-11-23T00:00:00Z"));
}

static void
test_policy__paris_windows_follow_the_dst_change(void **state)
{
	const char *morning = "{\"quiet_hours\":[{\"start\":\"08:00\","
	    "\"end\":\"09:00\",\"tz\":\"Europe/Paris\"}]}";
	const char *night = "{\"quiet_hours\":[{\"start\":\"01:00\","
	    "\"end\":\"04:00\",\"tz\":\"Europe/Paris\",\"days\":[\"sun\"]}]}";
	const char *autumn = "{\"quiet_hours\":[{\"start\":\"02:00\","
	    "\"end\":\"03:00\",\"tz\":\"Europe/Paris\"}]}";

	/* Saturday 28 March 2026: CET, UTC+1. */
	assert_true(quiet(morning, "2026-03-28T07:30:00Z"));
	assert_false(quiet(morning, "2026-03-28T06:30:00Z"));
	/* Monday 30 March: CEST, UTC+2. */
	assert_true(quiet(morning, "2026-03-30T06:30:00Z"));
	assert_false(quiet(morning, "2026-03-30T07:30:00Z"));
	/* The night of the change: 02:00 CET jumps to 03:00 CEST. */
	assert_true(quiet(night, "2026-03-29T00:30:00Z"));	/* 01:30 CET */
	assert_true(quiet(night, "2026-03-29T01:30:00Z"));	/* 03:30 CEST */
	assert_false(quiet(night, "2026-03-29T02:00:00Z"));	/* 04:00 CEST */
	/* 25 October: 03:00 CEST falls back to 02:00 CET; 02:00-03:00 local
	 * happens twice, and both are quiet. */
	assert_true(quiet(autumn, "2026-10-25T00:30:00Z"));	/* 02:30 CEST */
	assert_true(quiet(autumn, "2026-10-25T01:30:00Z"));	/* 02:30 CET */
	assert_false(quiet(autumn, "2026-10-25T02:00:00Z"));	/* 03:00 CET */
}

static void
test_policy__new_york_windows_follow_the_dst_change(void **state)
{
	const char *morning = "{\"quiet_hours\":[{\"start\":\"08:00\","
	    "\"end\":\"09:00\",\"tz\":\"America/New_York\"}]}";
	const char *fall = "{\"quiet_hours\":[{\"start\":\"01:00\","
	    "\"end\":\"02:00\",\"tz\":\"America/New_York\","
	    "\"days\":[\"sun\"]}]}";

	/* Saturday 7 March 2026: EST, UTC-5. */
	assert_true(quiet(morning, "2026-03-07T13:30:00Z"));
	assert_false(quiet(morning, "2026-03-07T12:30:00Z"));
	/* Monday 9 March: EDT, UTC-4. */
	assert_true(quiet(morning, "2026-03-09T12:30:00Z"));
	assert_false(quiet(morning, "2026-03-09T13:30:00Z"));
	/* 1 November: 01:00-02:00 happens twice (EDT, then EST). */
	assert_true(quiet(fall, "2026-11-01T05:30:00Z"));	/* 01:30 EDT */
	assert_true(quiet(fall, "2026-11-01T06:30:00Z"));	/* 01:30 EST */
	assert_false(quiet(fall, "2026-11-01T07:30:00Z"));	/* 02:30 EST */
	/* Offsets in --now style input are honoured. */
	assert_true(quiet(morning, "2026-03-09T08:30:00-04:00"));
}

static void
test_policy__several_windows_any_one_makes_it_quiet(void **state)
{
	const char *two = "{\"quiet_hours\":[{\"start\":\"01:00\","
	    "\"end\":\"02:00\"},{\"start\":\"12:00\",\"end\":\"13:00\","
	    "\"tz\":\"Europe/Paris\"}]}";

	assert_true(quiet(two, "2026-11-20T01:30:00Z"));
	assert_true(quiet(two, "2026-11-20T11:30:00Z"));	/* 12:30 CET */
	assert_false(quiet(two, "2026-11-20T12:30:00Z"));
	assert_false(quiet("{}", "2026-11-20T12:30:00Z"));
}

static void
test_policy__tz_conversion_uses_the_tz_database(void **state)
{
	struct tm tm;
	struct bl_err err;
	time_t t;

	assert_int_equal(bl_tz_localtime(at("2026-07-01T12:00:00Z"),
	    "Europe/Paris", &tm, NULL), 0);
	assert_int_equal(tm.tm_hour, 14);
	assert_int_equal(bl_tz_localtime(at("2026-01-01T12:00:00Z"),
	    "America/New_York", &tm, NULL), 0);
	assert_int_equal(tm.tm_hour, 7);
	assert_int_equal(bl_tz_localtime(0, "UTC", &tm, NULL), 0);
	assert_int_equal(tm.tm_year, 70);
	assert_int_equal(bl_tz_localtime(0, "Nowhere/Atlantis", &tm, NULL),
	    -1);
	assert_int_equal(bl_time_parse_iso8601("2026-02-30T00:00:00Z", &t,
	    &err), -1);
	assert_int_equal(bl_time_parse_iso8601("yesterday", &t, &err), -1);
	assert_int_equal(bl_time_parse_iso8601("2026-01-01T00:00:00+01:00",
	    &t, &err), 0);
	assert_int_equal(t, at("2025-12-31T23:00:00Z"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy__presets_have_the_design_values),
		cmocka_unit_test(test_policy__preset_defaults_pass_their_own_bounds),
		cmocka_unit_test(test_policy__a_preset_key_then_overrides_apply),
		cmocka_unit_test(test_policy__unknown_keys_are_refused_with_their_path),
		cmocka_unit_test(test_policy__wrong_types_are_refused_with_their_path),
		cmocka_unit_test(test_policy__out_of_range_values_are_refused_with_their_path),
		cmocka_unit_test(test_policy__bad_quiet_hours_are_refused_with_their_path),
		cmocka_unit_test(test_policy__malformed_json_names_the_line),
		cmocka_unit_test(test_policy__a_window_crossing_midnight_belongs_to_its_start_day),
		cmocka_unit_test(test_policy__weekdays_select_the_days_a_window_starts),
		cmocka_unit_test(test_policy__paris_windows_follow_the_dst_change),
		cmocka_unit_test(test_policy__new_york_windows_follow_the_dst_change),
		cmocka_unit_test(test_policy__several_windows_any_one_makes_it_quiet),
		cmocka_unit_test(test_policy__tz_conversion_uses_the_tz_database),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
