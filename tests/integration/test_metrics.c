/* tests/integration/test_metrics.c - GET /metrics of a real ballastd and
 * real agents after a real evacuation: `promtool check metrics` (Debian's
 * prometheus package) must be clean, and the values must be the ones the
 * database and the API say. The control loop's families must be absent:
 * nothing reports them yet, and a made-up 0 would be a lie. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "controller/metrics.h"
#include "tests/helpers/th_cluster.h"

#define NAGENTS 3
#define NOBJ 8
#define OBJSIZE 4096
#define OWNER "0c0c0c0c-1111-4222-8333-444455556666"

static struct th_pg pg;
static struct tha_agent ag[NAGENTS];
static struct th_ctl ctl;
static char job_id[37];

static const char *const names[NAGENTS] = { "m1.stor", "m2.stor",
    "m3.stor" };
static const struct th_cluster cluster = {
	.pg = &pg, .ag = ag, .ctl = &ctl, .n = NAGENTS, .names = names,
};

static int
setup(void **state)
{
	int copies[1] = { 0 };
	json_t *job;
	int ok;

	(void)state;
#define NEED(x) do {						\
	if (!(x)) {							\
		print_error("setup: %s failed\n", #x);			\
		return -1;						\
	}								\
} while (0)
	NEED(th_cluster_start(&cluster) == 0);
	NEED(th_seed(pg.conninfo, ag, NAGENTS, NOBJ, OBJSIZE, copies, 1, NULL,
	    OWNER) == 0);
	NEED(th_ctl_evacuate(&ctl, "m1.stor", 0, job_id) == 201);
	NEED((job = th_ctl_wait_job(&ctl, job_id, 120)) != NULL);
#undef NEED
	ok = strcmp(json_string_value(json_object_get(job, "state")),
	    "complete") == 0;
	json_decref(job);
	return ok ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	return th_cluster_stop(&cluster);
}

/* GET base/metrics without credentials; the body (caller frees). */
static char *
scrape(const char *base)
{
	struct tha_resp r;
	char ct[128];
	char *body;

	assert_int_equal(tha_request(base, "GET", "/metrics", NULL, 0,
	    THA_UNSIGNED, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(tha_resp_header(&r, "Content-Type", ct, sizeof(ct)),
	    0);
	assert_non_null(strstr(ct, "text/plain"));
	body = strdup(r.body);
	tha_resp_free(&r);
	return body;
}

/* Runs promtool check metrics on text; fails the test with its output
 * unless it exits 0 and says nothing. */
static void
promtool_clean(const char *text, const char *what)
{
	char path[600], out[4096];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/%s.prom", tha_tmpdir(), what);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	rc = tha_run(out, sizeof(out), "promtool check metrics < '%s' 2>&1",
	    path);
	if (rc != 0 || out[0] != '\0')
		fail_msg("%s: promtool check metrics (exit %d):\n%s", what, rc,
		    out);
}

/* The value of the sample line that starts with "sample " in text, or -1
 * when there is none. */
static double
sample(const char *text, const char *s)
{
	size_t sl = strlen(s);

	for (const char *p = text; p && *p; ) {
		const char *eol = strchr(p, '\n');

		if (strncmp(p, s, sl) == 0 && p[sl] == ' ')
			return strtod(p + sl + 1, NULL);
		p = eol ? eol + 1 : NULL;
	}
	return -1;
}

static void
test_metrics__ballastd_exposition_passes_promtool(void **state)
{
	char *text;

	(void)state;
	text = scrape(ctl.url);
	promtool_clean(text, "ballastd");
	free(text);
}

static void
test_metrics__agent_exposition_passes_promtool(void **state)
{
	char *text;

	(void)state;
	text = scrape(ag[1].url);
	promtool_clean(text, "agent");
	free(text);
}

static void
test_metrics__jobs_tasks_and_bytes_match_the_finished_evacuation(
    void **state)
{
	long long moved = th_sql_ll(pg.conninfo, "SELECT coalesce(sum(size), "
	    "0) FROM job_tasks WHERE committed_at IS NOT NULL");
	char *text;

	(void)state;
	text = scrape(ctl.url);
	assert_true(sample(text,
	    "ballast_jobs{kind=\"evacuate\",state=\"complete\"}") == 1);
	assert_true(sample(text,
	    "ballast_jobs{kind=\"evacuate\",state=\"failed\"}") == 0);
	assert_true(moved == NOBJ * OBJSIZE);
	assert_true(sample(text, "ballast_bytes_moved_total") == (double)moved);
	if (sample(text, "ballast_metadata_commits_total{result=\"committed\"}")
	    != NOBJ)
		fail_msg("commits: %s", strstr(text,
		    "# HELP ballast_metadata_commits_total"));
	assert_true(sample(text,
	    "ballast_metadata_commit_duration_seconds_count") >= 1);
	assert_true(sample(text, "ballast_backlog_bytes") == 0);
	assert_true(sample(text, "ballast_eta_seconds") == 0);
	/* The job is finished: no task of an unfinished job is left. */
	assert_true(sample(text, "ballast_job_tasks{state=\"complete\"}") ==
	    0);
	assert_true(sample(text,
	    "ballast_tasks_skipped_total{reason=\"md5_mismatch\"}") == 0);
	free(text);
}

static void
test_metrics__nodes_carry_their_datacenter_rack_and_usage(void **state)
{
	long long used = th_sql_ll(pg.conninfo, "SELECT used_bytes FROM nodes "
	    "WHERE id = 'm2.stor'");
	long long cap = th_sql_ll(pg.conninfo, "SELECT capacity_bytes FROM "
	    "nodes WHERE id = 'm2.stor'");
	char *text;
	char s[256];
	char rack[64];

	(void)state;
	text = scrape(ctl.url);
	/* th_ctl_register puts every node in dc1, rack = its name. */
	assert_non_null(strstr(text, "ballast_node_up{node=\"m2.stor\","
	    "datacenter=\"dc1\""));
	{
		const char *p = strstr(text, "ballast_node_up{node=\"m2.stor\","
		    "datacenter=\"dc1\",rack=\"");
		const char *q;

		assert_non_null(p);
		p += strlen("ballast_node_up{node=\"m2.stor\",datacenter="
		    "\"dc1\",rack=\"");
		assert_non_null(q = strchr(p, '"'));
		snprintf(rack, sizeof(rack), "%.*s", (int)(q - p), p);
	}
	snprintf(s, sizeof(s), "{node=\"m2.stor\",datacenter=\"dc1\",rack="
	    "\"%s\"}", rack);
	{
		char name[300];

		snprintf(name, sizeof(name), "ballast_node_up%s", s);
		assert_true(sample(text, name) == 1);
		snprintf(name, sizeof(name), "ballast_node_used_bytes%s", s);
		assert_true(sample(text, name) == (double)used);
		snprintf(name, sizeof(name), "ballast_node_capacity_bytes%s",
		    s);
		assert_true(sample(text, name) == (double)cap);
		assert_true(cap > 0);
		snprintf(name, sizeof(name),
		    "ballast_node_utilization_ratio%s", s);
		assert_true(sample(text, name) > 0);
		assert_true(sample(text, name) - (double)used / (double)cap <
		    1e-9);
	}
	free(text);
}

static void
test_metrics__http_requests_are_counted_by_route_pattern_not_path(
    void **state)
{
	char target[128], *text;
	double before, after;
	const char *s = "ballast_http_requests_total{route=\"/v1/jobs/{id}\","
	    "code=\"200\"}";

	(void)state;
	text = scrape(ctl.url);
	before = sample(text, s);
	free(text);
	snprintf(target, sizeof(target), "/v1/jobs/%s", job_id);
	assert_int_equal(th_ctl_req(&ctl, "GET", target, NULL, TH_VIEW_TOKEN,
	    NULL), 200);
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/nosuch", NULL,
	    TH_VIEW_TOKEN, NULL), 404);
	text = scrape(ctl.url);
	after = sample(text, s);
	assert_true(after == (before < 0 ? 0 : before) + 1);
	assert_null(strstr(text, job_id));
	assert_true(sample(text, "ballast_http_requests_total{route=\"other\","
	    "code=\"404\"}") >= 1);
	assert_true(sample(text, "ballast_http_request_duration_seconds_count"
	    "{route=\"/v1/jobs/{id}\",code=\"200\"}") < 0);
	assert_non_null(strstr(text, "ballast_http_request_duration_seconds_"
	    "bucket{route=\"/v1/jobs/{id}\",le=\"+Inf\"}"));
	free(text);
}

static void
test_metrics__control_loop_families_carry_the_loops_values(void **state)
{
	static const char *const outcomes[] = { "idle", "quiet", "paused",
	    "planned", "budget_exhausted", "not_leader", "error" };
	long long before = th_sql_ll(pg.conninfo, "SELECT coalesce(max(id), "
	    "0) FROM cycles");
	char *text, want[128];
	double imb, thr;
	int i;

	(void)state;
	/* A cycle, run now and awaited. */
	assert_int_equal(th_ctl_req(&ctl, "POST", "/v1/controller/run", "{}",
	    TH_OP_TOKEN, NULL), 202);
	for (i = 0; i < 300; i++) {
		if (th_sql_ll(pg.conninfo, "SELECT coalesce(max(id), 0) FROM "
		    "cycles") > before)
			break;
		tha_sleep_ms(50);
	}
	assert_true(i < 300);
	text = scrape(ctl.url);
	/* This instance leads, and says so. */
	assert_true(sample(text, "ballast_leader") == 1);
	/* Cycles are counted under the outcomes the cycles table has. */
	for (size_t o = 0; o < sizeof(outcomes) / sizeof(outcomes[0]); o++) {
		char q[160];
		long long n;

		snprintf(q, sizeof(q), "SELECT count(*) FROM cycles WHERE "
		    "outcome = '%s'", outcomes[o]);
		n = th_sql_ll(pg.conninfo, q);
		snprintf(want, sizeof(want), "ballast_cycles_total{outcome="
		    "\"%s\"}", outcomes[o]);
		if (n > 0)
			assert_true(sample(text, want) == (double)n);
		else
			assert_true(sample(text, want) <= 0);
	}
	/* The imbalance and threshold are the cycle's. */
	imb = sample(text, "ballast_imbalance_ratio");
	thr = sample(text, "ballast_imbalance_threshold_ratio");
	assert_true(imb >= 0 && imb <= 1);
	assert_true(thr > 0 && thr <= 1);
	assert_true(th_sql_ll(pg.conninfo, "SELECT count(*) FROM cycles WHERE "
	    "imbalance_before IS NOT NULL") >= 1);
	assert_true(sample(text, "ballast_controller_paused") == 0);
	promtool_clean(text, "ballastd after a cycle");
	free(text);
}

/* What the control loop will report passes promtool too, together with
 * the database-backed families (read from the same database). */
static void
test_metrics__every_family_with_loop_values_passes_promtool(void **state)
{
	static const struct ctl_metrics_budget budgets[] = {
		{ "moves", 0.25 }, { "bytes", 1.0 }, { "cost", 0 },
	};
	struct ctl_metrics *m = ctl_metrics_new();
	struct ctl_metrics_cycle c;
	struct bl_err err;
	PGconn *db;
	char *text;

	(void)state;
	assert_non_null(m);
	memset(&c, 0, sizeof(c));
	c.outcome = "planned";
	c.duration_s = 0.7;
	c.imbalance = 0.125;
	c.threshold = 0.1;
	c.target = 0.05;
	c.planned_moves = 12;
	c.planned_bytes = 1 << 20;
	c.planned_cost = 0.01;
	c.budgets = budgets;
	c.nbudgets = 3;
	c.measured = 1;
	ctl_metrics_cycle(m, &c);
	ctl_metrics_set_leader(m, 1);
	ctl_metrics_set_paused(m, 0);
	ctl_metrics_config_reload(m, 1);
	assert_non_null(db = PQconnectdb(pg.conninfo));
	assert_int_equal(PQstatus(db), CONNECTION_OK);
	assert_non_null(text = ctl_metrics_scrape(m, db, NULL, &err));
	PQfinish(db);
	assert_non_null(strstr(text, "ballast_jobs{kind=\"evacuate\","
	    "state=\"complete\"} 1\n"));
	assert_non_null(strstr(text, "ballast_budget_used_ratio{budget=\"cost\"}"
	    " 0\n"));
	promtool_clean(text, "ballastd-all");
	free(text);
	ctl_metrics_free(m);
}

/* While a slowed-down evacuation runs, the backlog is the bytes still to
 * copy and, once something was committed, the ETA is finite and positive;
 * when it is done, both are 0. */
static void
test_metrics__backlog_and_eta_follow_a_running_job(void **state)
{
	int copies[1] = { 0 };
	char id[37];
	double max_backlog = 0, eta_seen = -1;
	json_t *job;
	int done = 0;

	(void)state;
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'in'"), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 6, 8192, copies, 1,
	    NULL, OWNER), 0);
	assert_int_equal(tha_throttle(&ag[1], 16384), 200);
	assert_int_equal(tha_throttle(&ag[2], 16384), 200);
	assert_int_equal(th_ctl_evacuate(&ctl, "m1.stor", 0, id), 201);
	for (int i = 0; i < 600 && !done; i++) {
		char *text = scrape(ctl.url);
		double b = sample(text, "ballast_backlog_bytes");
		double e = sample(text, "ballast_eta_seconds");
		char target[128];

		if (b > max_backlog)
			max_backlog = b;
		if (b > 0 && e > 0)
			eta_seen = e;
		assert_true(b <= 6 * 8192);
		free(text);
		snprintf(target, sizeof(target), "/v1/jobs/%s", id);
		assert_int_equal(th_ctl_req(&ctl, "GET", target, NULL,
		    TH_VIEW_TOKEN, &job), 200);
		done = strcmp(json_string_value(json_object_get(job, "state")),
		    "complete") == 0;
		json_decref(job);
		tha_sleep_ms(50);
	}
	assert_int_equal(tha_throttle(&ag[1], 0), 200);
	assert_int_equal(tha_throttle(&ag[2], 0), 200);
	assert_true(done);
	assert_true(max_backlog > 0);
	assert_true(eta_seen > 0);
	{
		char *text = scrape(ctl.url);

		assert_true(sample(text, "ballast_backlog_bytes") == 0);
		assert_true(sample(text, "ballast_eta_seconds") == 0);
		free(text);
	}
}

static void
test_metrics__served_without_the_database_and_without_its_families(
    void **state)
{
	char *text;

	(void)state;
	assert_int_equal(th_pg_stop(&pg), 0);
	text = scrape(ctl.url);
	assert_null(strstr(text, "ballast_jobs{"));
	assert_null(strstr(text, "ballast_node_up{"));
	assert_non_null(strstr(text, "ballast_http_requests_total{"));
	promtool_clean(text, "ballastd-nodb");
	free(text);
	assert_int_equal(th_pg_restart(&pg), 0);
	for (int i = 0; i < 100; i++) {
		text = scrape(ctl.url);
		if (strstr(text, "ballast_jobs{") != NULL)
			break;
		free(text);
		text = NULL;
		tha_sleep_ms(100);
	}
	assert_non_null(text);
	free(text);
}

/* Last: with metrics_auth, a scrape needs a token like every route. */
static void
test_metrics__metrics_auth_requires_a_token(void **state)
{
	json_error_t je;
	json_t *conf;
	struct tha_resp r;
	char auth[128];

	(void)state;
	assert_non_null(conf = json_load_file(ctl.conf, 0, &je));
	json_object_set_new(conf, "metrics_auth", json_true());
	assert_int_equal(json_dump_file(conf, ctl.conf, 0), 0);
	json_decref(conf);
	assert_int_equal(th_ctl_stop(&ctl), 0);
	assert_int_equal(th_ctl_restart(&ctl), 0);
	assert_int_equal(tha_request(ctl.url, "GET", "/metrics", NULL, 0,
	    THA_UNSIGNED, NULL, &r), 0);
	assert_int_equal(r.status, 401);
	tha_resp_free(&r);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    TH_VIEW_TOKEN);
	assert_int_equal(tha_request(ctl.url, "GET", "/metrics", NULL, 0,
	    THA_UNSIGNED, auth, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "# TYPE ballast_jobs gauge"));
	tha_resp_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics__ballastd_exposition_passes_promtool),
		cmocka_unit_test(test_metrics__agent_exposition_passes_promtool),
		cmocka_unit_test(test_metrics__jobs_tasks_and_bytes_match_the_finished_evacuation),
		cmocka_unit_test(test_metrics__nodes_carry_their_datacenter_rack_and_usage),
		cmocka_unit_test(test_metrics__http_requests_are_counted_by_route_pattern_not_path),
		cmocka_unit_test(test_metrics__control_loop_families_carry_the_loops_values),
		cmocka_unit_test(test_metrics__every_family_with_loop_values_passes_promtool),
		cmocka_unit_test(test_metrics__backlog_and_eta_follow_a_running_job),
		cmocka_unit_test(test_metrics__served_without_the_database_and_without_its_families),
		cmocka_unit_test(test_metrics__metrics_auth_requires_a_token),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
