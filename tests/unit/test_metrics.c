/* tests/unit/test_metrics.c - the Prometheus registry (lib/metrics.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "lib/metrics.h"

static void
test_metrics__counter_with_labels_renders_help_type_and_escaped_values(
    void **state)
{
	static const char *const labels[] = { "route", "code", NULL };
	struct bl_metrics *m = bl_metrics_new();
	struct bl_metric *c = bl_metrics_counter(m, "bl_requests_total",
	    "Requests\nserved.", labels);
	const char *v1[] = { "/v1/jobs/{id}", "200" };
	const char *v2[] = { "a\"b\\c", "404" };
	char *text;

	assert_non_null(c);
	assert_int_equal(bl_metric_add(c, v1, 1), 0);
	assert_int_equal(bl_metric_add(c, v1, 2), 0);
	assert_int_equal(bl_metric_add(c, v2, 1), 0);
	assert_int_equal(bl_metric_add(c, v2, -1), -1);
	text = bl_metrics_render(m, NULL);
	assert_non_null(text);
	assert_string_equal(text,
	    "# HELP bl_requests_total Requests\\nserved.\n"
	    "# TYPE bl_requests_total counter\n"
	    "bl_requests_total{route=\"/v1/jobs/{id}\",code=\"200\"} 3\n"
	    "bl_requests_total{route=\"a\\\"b\\\\c\",code=\"404\"} 1\n");
	free(text);
	bl_metrics_free(m);
}

static void
test_metrics__histogram_buckets_are_cumulative_and_end_in_inf(void **state)
{
	static const double b[] = { 0.1, 1 };
	struct bl_metrics *m = bl_metrics_new();
	struct bl_metric *h = bl_metrics_histogram(m, "bl_op_seconds", "Op.",
	    NULL, b, 2);
	char *text;

	bl_metric_observe(h, NULL, 0.05);
	bl_metric_observe(h, NULL, 0.5);
	bl_metric_observe(h, NULL, 5);
	assert_int_equal(bl_metric_set(h, NULL, 1), -1);
	text = bl_metrics_render(m, NULL);
	assert_string_equal(text,
	    "# HELP bl_op_seconds Op.\n"
	    "# TYPE bl_op_seconds histogram\n"
	    "bl_op_seconds_bucket{le=\"0.1\"} 1\n"
	    "bl_op_seconds_bucket{le=\"1\"} 2\n"
	    "bl_op_seconds_bucket{le=\"+Inf\"} 3\n"
	    "bl_op_seconds_sum 5.55\n"
	    "bl_op_seconds_count 3\n");
	free(text);
	bl_metrics_free(m);
}

static void
test_metrics__family_without_series_is_not_exposed(void **state)
{
	static const char *const l[] = { "node", NULL };
	struct bl_metrics *m = bl_metrics_new();
	struct bl_metric *g = bl_metrics_gauge(m, "bl_up", "Up.", l);
	const char *n1[] = { "a" };
	char *text;

	text = bl_metrics_render(m, NULL);
	assert_string_equal(text, "");
	free(text);
	bl_metric_set(g, n1, 1);
	assert_true(bl_metric_get(g, n1) == 1);
	bl_metric_reset(g);
	assert_true(bl_metric_get(g, n1) == 0);
	text = bl_metrics_render(m, NULL);
	assert_string_equal(text, "");
	free(text);
	bl_metrics_free(m);
}

static void
test_metrics__bad_names_and_conflicting_registrations_are_refused(
    void **state)
{
	static const char *const l1[] = { "a", NULL };
	static const char *const l2[] = { "b", NULL };
	static const char *const bad[] = { "__x", NULL };
	struct bl_metrics *m = bl_metrics_new();
	struct bl_metric *g;

	assert_null(bl_metrics_gauge(m, "1abc", "", NULL));
	assert_null(bl_metrics_gauge(m, "a-b", "", NULL));
	assert_null(bl_metrics_gauge(m, "ok", "", bad));
	g = bl_metrics_gauge(m, "bl_g", "", l1);
	assert_non_null(g);
	assert_ptr_equal(bl_metrics_gauge(m, "bl_g", "", l1), g);
	assert_null(bl_metrics_gauge(m, "bl_g", "", l2));
	assert_null(bl_metrics_counter(m, "bl_g", "", l1));
	assert_int_equal(bl_metric_add(NULL, NULL, 1), 0);
	bl_metrics_free(m);
}

struct th {
	struct bl_metric *c, *h;
};

static void *
hammer(void *arg)
{
	struct th *t = arg;
	const char *v[] = { "x" };

	for (int i = 0; i < 10000; i++) {
		bl_metric_add(t->c, v, 1);
		bl_metric_observe(t->h, NULL, 0.001);
	}
	return NULL;
}

static void
test_metrics__updates_from_threads_are_not_lost(void **state)
{
	static const char *const l[] = { "k", NULL };
	struct bl_metrics *m = bl_metrics_new();
	struct th t;
	pthread_t th[4];
	const char *v[] = { "x" };

	t.c = bl_metrics_counter(m, "bl_n_total", "N.", l);
	t.h = bl_metrics_histogram(m, "bl_d_seconds", "D.", NULL,
	    bl_metrics_fast_seconds, bl_metrics_fast_seconds_len);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, hammer, &t);
	for (int i = 0; i < 4; i++) {
		char *text = bl_metrics_render(m, NULL);

		assert_non_null(text);
		free(text);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_true(bl_metric_get(t.c, v) == 40000);
	assert_true(bl_metric_get(t.h, NULL) == 40000);
	bl_metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics__counter_with_labels_renders_help_type_and_escaped_values),
		cmocka_unit_test(test_metrics__histogram_buckets_are_cumulative_and_end_in_inf),
		cmocka_unit_test(test_metrics__family_without_series_is_not_exposed),
		cmocka_unit_test(test_metrics__bad_names_and_conflicting_registrations_are_refused),
		cmocka_unit_test(test_metrics__updates_from_threads_are_not_lost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
