/* tests/unit/test_ctl_metrics.c - ballastd's metrics (controller/metrics.h):
 * route patterns, and the control loop's reporting calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>

#include "controller/ctl.h"
#include "controller/metrics.h"

static void
test_ctl_metrics__routes_are_patterns_and_ids_never_labels(void **state)
{
	assert_string_equal(ctl_metrics_route("/v1/jobs"), "/v1/jobs");
	assert_string_equal(ctl_metrics_route(
	    "/v1/jobs/3f2a0c1e-6b7d-4e8f-9a0b-1c2d3e4f5a6b"), "/v1/jobs/{id}");
	assert_string_equal(ctl_metrics_route(
	    "/v1/jobs/3f2a0c1e-6b7d-4e8f-9a0b-1c2d3e4f5a6b/tasks"),
	    "/v1/jobs/{id}/tasks");
	assert_string_equal(ctl_metrics_route("/v1/nodes/7.stor/drain"),
	    "/v1/nodes/{id}/drain");
	assert_string_equal(ctl_metrics_route("/jobs/x/retry"),
	    "/jobs/{id}/retry");
	assert_string_equal(ctl_metrics_route("/metrics"), "/metrics");
	/* Anything else is one label value, whatever the path. */
	assert_string_equal(ctl_metrics_route("/v1/jobs//tasks"), "other");
	assert_string_equal(ctl_metrics_route("/v1/nodes/a/b/c"), "other");
	assert_string_equal(ctl_metrics_route("/../etc/passwd"), "other");
	assert_string_equal(ctl_metrics_route(""), "other");
}

static int
has_line(const char *text, const char *line)
{
	size_t l = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p += l)
		if ((p == text || p[-1] == '\n') && p[l] == '\n')
			return 1;
	return 0;
}

static void
test_ctl_metrics__loop_families_appear_only_once_reported(void **state)
{
	static const struct ctl_metrics_budget budgets[] = {
		{ "moves", 0.5 }, { "bytes", 1.0 },
	};
	struct ctl_metrics *m = ctl_metrics_new();
	struct ctl_metrics_cycle c;
	struct bl_err err;
	size_t len;
	char *text;

	assert_non_null(m);
	text = ctl_metrics_scrape(m, NULL, &len, &err);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_null(strstr(text, "ballast_imbalance"));
	assert_null(strstr(text, "ballast_leader"));
	/* Without a database, no database-backed family either. */
	assert_null(strstr(text, "ballast_jobs"));
	free(text);

	memset(&c, 0, sizeof(c));
	c.outcome = "planned";
	c.duration_s = 2.0;
	c.imbalance = 0.18;
	c.threshold = 0.10;
	c.target = 0.05;
	c.planned_moves = 40;
	c.planned_bytes = 4096;
	c.planned_cost = 1.5;
	c.budgets = budgets;
	c.nbudgets = 2;
	c.measured = 1;
	ctl_metrics_cycle(m, &c);
	c.outcome = "error";
	c.measured = 0;
	c.planned_moves = 2;
	c.quiet_hours = 1;
	ctl_metrics_cycle(m, &c);
	ctl_metrics_set_leader(m, 1);
	ctl_metrics_config_reload(m, 0);
	text = ctl_metrics_scrape(m, NULL, NULL, &err);
	assert_true(has_line(text, "ballast_imbalance_ratio 0.18"));
	assert_true(has_line(text, "ballast_imbalance_threshold_ratio 0.1"));
	assert_true(has_line(text, "ballast_imbalance_target_ratio 0.05"));
	assert_true(has_line(text, "ballast_cycles_total{outcome=\"planned\"} 1"));
	assert_true(has_line(text, "ballast_cycles_total{outcome=\"error\"} 1"));
	assert_true(has_line(text, "ballast_cycle_duration_seconds_count 2"));
	assert_true(has_line(text, "ballast_planned_moves_total 42"));
	assert_true(has_line(text, "ballast_planned_bytes_total 8192"));
	assert_true(has_line(text, "ballast_planned_cost_total 3"));
	assert_true(has_line(text, "ballast_budget_used_ratio{budget=\"bytes\"} 1"));
	assert_true(has_line(text, "ballast_quiet_window_active 1"));
	assert_true(has_line(text, "ballast_controller_paused 0"));
	assert_true(has_line(text, "ballast_leader 1"));
	assert_true(has_line(text,
	    "ballast_config_reloads_total{result=\"failed\"} 1"));
	assert_true(has_line(text,
	    "ballast_config_reloads_total{result=\"ok\"} 0"));
	assert_true(has_line(text, "# TYPE ballast_cycle_duration_seconds "
	    "histogram"));
	free(text);
	ctl_metrics_set_paused(m, 1);
	ctl_metrics_set_leader(m, 0);
	text = ctl_metrics_scrape(m, NULL, NULL, &err);
	assert_true(has_line(text, "ballast_controller_paused 1"));
	assert_true(has_line(text, "ballast_leader 0"));
	free(text);
	ctl_metrics_free(m);
}

/* A counter whose label values are known is exported from start-up at 0,
 * in the words /v1/status uses, so its panel is never empty. */
static void
test_ctl_metrics__known_counters_start_at_zero(void **state)
{
	static const char *const want[] = {
		"ballast_config_reloads_total{result=\"ok\"} 0",
		"ballast_config_reloads_total{result=\"failed\"} 0",
		"ballast_cycles_total{outcome=\"idle\"} 0",
		"ballast_cycles_total{outcome=\"quiet\"} 0",
		"ballast_cycles_total{outcome=\"paused\"} 0",
		"ballast_cycles_total{outcome=\"planned\"} 0",
		"ballast_cycles_total{outcome=\"budget_exhausted\"} 0",
		"ballast_cycles_total{outcome=\"not_leader\"} 0",
		"ballast_cycles_total{outcome=\"error\"} 0",
	};
	struct ctl_metrics *m = ctl_metrics_new();
	struct bl_err err;
	char *text;

	(void)state;
	assert_non_null(m);
	text = ctl_metrics_scrape(m, NULL, NULL, &err);
	assert_non_null(text);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!has_line(text, want[i]))
			fail_msg("missing at start-up: %s\n%s", want[i], text);
	free(text);
	ctl_metrics_config_reload(m, 1);
	text = ctl_metrics_scrape(m, NULL, NULL, &err);
	assert_true(has_line(text,
	    "ballast_config_reloads_total{result=\"ok\"} 1"));
	free(text);
	ctl_metrics_free(m);
}

/* The route table is the one source: every route labels to its own
 * pattern, Allow lists the table's methods, and docs/api.md names every
 * route but Manta's aliases (documented in their own table). */
static void
test_ctl_metrics__the_route_table_is_the_one_source(void **state)
{
	const char *scripts = getenv("BALLAST_SCRIPTS");
	const struct ctl_route *rt;
	char path[600], allow[64], seg[64], *doc;
	size_t n, len;
	FILE *f;

	(void)state;
	rt = ctl_routes(&n);
	assert_true(n >= 25);
	for (size_t i = 0; i < n; i++) {
		char p[128];
		const char *id = strstr(rt[i].pattern, "{id}");

		if (id != NULL)
			snprintf(p, sizeof(p), "%.*sx%s", (int)(id -
			    rt[i].pattern), rt[i].pattern, id + 4);
		else
			snprintf(p, sizeof(p), "%s", rt[i].pattern);
		assert_ptr_equal(ctl_route_find(rt[i].method, p, seg,
		    sizeof(seg)) != NULL, 1);
		if (strncmp(p, "/v1/controller/", 15) != 0)
			assert_string_equal(ctl_route_label(p), rt[i].pattern);
		assert_true(ctl_route_allow(p, allow, sizeof(allow)) >= 1);
		assert_non_null(strstr(allow, rt[i].method));
	}
	assert_int_equal(ctl_route_allow("/v1/jobs", allow, sizeof(allow)), 2);
	assert_string_equal(allow, "GET, POST");
	assert_int_equal(ctl_route_allow("/v1/policy", allow, sizeof(allow)),
	    3);
	assert_string_equal(allow, "GET, PUT, DELETE");
	assert_int_equal(ctl_route_allow("/v1/nothing", allow, sizeof(allow)),
	    0);
	assert_null(ctl_route_find("DELETE", "/v1/jobs", seg, sizeof(seg)));
	assert_non_null(ctl_route_find("GET", "/v1/jobs/abc/tasks", seg,
	    sizeof(seg)));
	assert_string_equal(seg, "abc");
	/* docs/api.md */
	snprintf(path, sizeof(path), "%s/../docs/api.md", scripts ? scripts :
	    "scripts");
	assert_non_null(f = fopen(path, "r"));
	doc = malloc(1 << 20);
	assert_non_null(doc);
	len = fread(doc, 1, (1 << 20) - 1, f);
	doc[len] = '\0';
	fclose(f);
	for (size_t i = 0; i < n; i++) {
		char want[160];

		if (rt[i].flags & CTL_R_MANTA)
			continue;
		snprintf(want, sizeof(want), "`%s %s", rt[i].method,
		    rt[i].pattern);
		if (strstr(doc, want) == NULL) {
			/* "`PUT /v1/policy`" may follow a GET in one line */
			snprintf(want, sizeof(want), "%s %s", rt[i].method,
			    rt[i].pattern);
			if (strstr(doc, want) == NULL)
				fail_msg("docs/api.md does not name %s", want);
		}
	}
	free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctl_metrics__routes_are_patterns_and_ids_never_labels),
		cmocka_unit_test(test_ctl_metrics__loop_families_appear_only_once_reported),
		cmocka_unit_test(test_ctl_metrics__known_counters_start_at_zero),
		cmocka_unit_test(test_ctl_metrics__the_route_table_is_the_one_source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
