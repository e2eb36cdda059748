/* tests/integration/test_throttle.c - a job's throttle reaches the agents
 * that hold its assignments and holds the job's real transfer rate: a
 * private PostgreSQL, three real agents, a real ballastd. n1 is evacuated
 * to n2 and n3; the bytes the two receive are the job's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/helpers/th_cluster.h"

#define NAGENTS 3
#define OWNER "0c0c0c0c-1111-4222-8333-444455556666"
#define MIB (1024.0 * 1024.0)

static struct th_pg pg;
static struct tha_agent ag[NAGENTS];
static struct th_ctl ctl;
static const char *const names[NAGENTS] = { "n1.thr", "n2.thr", "n3.thr" };
static const struct th_cluster cluster = {
	.pg = &pg, .ag = ag, .ctl = &ctl, .n = NAGENTS, .names = names,
	.engine_extra = "\"max_inflight_per_node\":16,"
	    "\"max_tasks_per_assignment\":4",
};

static int
setup(void **state)
{
	(void)state;
	return th_cluster_start(&cluster);
}

static int
teardown(void **state)
{
	(void)state;
	return th_cluster_stop(&cluster);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
set_throttle(const char *id, long long bps)
{
	char target[128], body[128];
	json_t *j = NULL;

	snprintf(target, sizeof(target), "/v1/jobs/%s", id);
	snprintf(body, sizeof(body), "{\"action\":\"set_throttle\",\"params\":"
	    "{\"bytes_per_sec\":%lld}}", bps);
	assert_int_equal(th_ctl_req(&ctl, "PUT", target, body, TH_OP_TOKEN,
	    &j), 200);
	json_decref(j);
}

/* The bytes n2 and n3 received so far. */
static double
received(void)
{
	return tha_metric(&ag[1], "ballast_agent_bytes_transferred_total") +
	    tha_metric(&ag[2], "ballast_agent_bytes_transferred_total");
}

/* The share of job id that agent i reports (GET /v1/status); -1 if it
 * holds none. */
static long long
share_of(int i, const char *id)
{
	long long v = -1;
	struct tha_resp r;
	json_t *j, *s;

	assert_int_equal(tha_request(ag[i].url, "GET", "/v1/status", NULL, 0,
	    0, NULL, &r), 0);
	j = tha_json(&r);
	tha_resp_free(&r);
	assert_non_null(j);
	s = json_object_get(json_object_get(j, "job_throttles"), id);
	if (s != NULL)
		v = json_integer_value(s);
	json_decref(j);
	return v;
}

/* The sum of the shares of job id the destinations report; -1 when
 * neither holds one. */
static long long
shares(const char *id)
{
	long long sum = -1;

	for (int i = 1; i < NAGENTS; i++) {
		long long v = share_of(i, id);

		if (v >= 0)
			sum = (sum < 0 ? 0 : sum) + v;
	}
	return sum;
}

/* Measures the job's rate over secs, after settle seconds. */
static double
rate_over(double settle, double secs)
{
	double b0, t0;

	tha_sleep_ms((int)(settle * 1000));
	b0 = received();
	t0 = now_s();
	tha_sleep_ms((int)(secs * 1000));
	return (received() - b0) / (now_s() - t0);
}

static void
test_throttle__a_change_reaches_the_agents_and_holds_the_rate(void **state)
{
	int copies[1] = { 0 };
	double r1, r2, t0;
	long long s;
	char id[37];
	json_t *job;

	(void)state;
	/* 96 x 256 KiB = 24 MiB: about 11 s at the two rates below. */
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 96, 256 * 1024,
	    copies, 1, NULL, OWNER), 0);
	assert_int_equal(th_ctl_evacuate(&ctl, "n1.thr", 0, id), 201);
	set_throttle(id, 1024 * 1024);
	r1 = rate_over(1.5, 3.0);
	print_message("rate at 1 MiB/s: %.3f MiB/s\n", r1 / MIB);
	assert_true(r1 >= 0.9 * MIB && r1 <= 1.1 * MIB);
	assert_int_equal(shares(id), 1024 * 1024);

	/* Twice the rate: the agents know within a second. */
	set_throttle(id, 2 * 1024 * 1024);
	t0 = now_s();
	while ((s = shares(id)) != 2 * 1024 * 1024 && now_s() - t0 < 1.0)
		tha_sleep_ms(20);
	assert_int_equal(s, 2 * 1024 * 1024);
	r2 = rate_over(1.0, 3.0);
	print_message("rate at 2 MiB/s: %.3f MiB/s\n", r2 / MIB);
	assert_true(r2 >= 1.8 * MIB && r2 <= 2.2 * MIB);

	/* The agent keeps its share across kill -9 (its SQLite store). */
	s = share_of(1, id);
	assert_true(s > 0);
	tha_agent_kill9(&ag[1]);
	assert_int_equal(tha_agent_restart(&ag[1], NULL), 0);
	assert_int_equal(share_of(1, id), s);

	/* No throttle: the rest goes at once, and the job completes. */
	set_throttle(id, 0);
	job = th_ctl_wait_job(&ctl, id, 120);
	assert_non_null(job);
	assert_string_equal(json_string_value(json_object_get(job, "state")),
	    "complete");
	json_decref(job);
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE 'n1.thr' = ANY (copies)"), 0);
	assert_int_equal(th_verify(&ctl), 0);
}

/* The agent's side on its own: a job's throttle is set only for a job
 * whose assignments it holds, by a signed call with a valid body. */
static void
test_throttle__agent_refuses_unknown_jobs_and_bad_bodies(void **state)
{
	const char *job = "0d0d0d0d-1111-4222-8333-444455556666";
	const char *good = "{\"bytes_per_sec\":1000}";
	struct tha_resp r;
	char target[128];

	(void)state;
	snprintf(target, sizeof(target), "/v1/jobs/%s/throttle", job);
	assert_int_equal(tha_request(ag[1].url, "PUT", target, good,
	    strlen(good), 0, NULL, &r), 0);
	assert_int_equal(r.status, 401);
	tha_resp_free(&r);
	assert_int_equal(tha_request(ag[1].url, "PUT", target, good,
	    strlen(good), THA_SIGNED, NULL, &r), 0);
	assert_int_equal(r.status, 404);
	assert_non_null(strstr(r.body, "no active assignment of job"));
	tha_resp_free(&r);
	assert_int_equal(tha_request(ag[1].url, "PUT", target, "{\"bytes_per_"
	    "sec\":-1}", 18, THA_SIGNED, NULL, &r), 0);
	assert_int_equal(r.status, 400);
	tha_resp_free(&r);
	assert_int_equal(tha_request(ag[1].url, "PUT", "/v1/jobs/NOT-A-UUID-"
	    "0000-0000-0000-000000000000/throttle", good, strlen(good),
	    THA_SIGNED, NULL, &r), 0);
	assert_int_equal(r.status, 400);
	tha_resp_free(&r);
	assert_int_equal(tha_request(ag[1].url, "GET", target, NULL, 0,
	    THA_SIGNED, NULL, &r), 0);
	assert_int_equal(r.status, 405);
	tha_resp_free(&r);
}

/* Runs ballastctl with args; its output (stdout and stderr) in out.
 * Returns the exit code. */
static int
ctl_cli(const char *args, char *out, size_t len)
{
	return tha_run(out, len, "'%s/ballastctl' %s 2>&1", tha_bin_dir(),
	    args);
}

/* ballastctl agent throttle signs for the operator. */
static void
test_throttle__ballastctl_agent_throttle_signs_the_call(void **state)
{
	char args[1024], sf[600], out[4096];
	FILE *f;

	(void)state;
	snprintf(sf, sizeof(sf), "%s/agent-secret", tha_tmpdir());
	assert_non_null(f = fopen(sf, "w"));
	fputs(THA_SECRET "\n", f);
	fclose(f);
	snprintf(args, sizeof(args), "agent throttle %s 5000 --secret-file "
	    "'%s'", ag[2].url, sf);
	assert_int_equal(ctl_cli(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "throttle: 5000 bytes/s"));
	assert_true(tha_metric(&ag[2], "ballast_agent_throttle_bytes_per_second")
	    == 5000);
	snprintf(args, sizeof(args), "agent throttle %s --secret-file '%s' "
	    "--json", ag[2].url, sf);
	assert_int_equal(ctl_cli(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"bytes_per_sec\": 5000"));
	snprintf(args, sizeof(args), "agent throttle %s 0 --secret-file '%s'",
	    ag[2].url, sf);
	assert_int_equal(ctl_cli(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "no limit"));
	/* A wrong secret is refused by the agent: exit 4. */
	assert_non_null(f = fopen(sf, "w"));
	fputs("another-secret-0123456789abcdef\n", f);
	fclose(f);
	snprintf(args, sizeof(args), "agent throttle %s 1 --secret-file '%s'",
	    ag[2].url, sf);
	assert_int_equal(ctl_cli(args, out, sizeof(out)), 4);
	/* Bad input: exit 2, nothing sent. */
	snprintf(args, sizeof(args), "agent throttle %s lots --secret-file "
	    "'%s'", ag[2].url, sf);
	assert_int_equal(ctl_cli(args, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "expected bytes per second"));
	snprintf(args, sizeof(args), "agent throttle %s 1", ag[2].url);
	assert_int_equal(ctl_cli(args, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "--secret-file"));
	assert_int_equal(ctl_cli("agent --help", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "usage: ballastctl agent throttle"));
	snprintf(args, sizeof(args), "agent status %s", ag[2].url);
	assert_int_equal(ctl_cli(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"job_throttles\""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_throttle__a_change_reaches_the_agents_and_holds_the_rate),
		cmocka_unit_test(
		    test_throttle__agent_refuses_unknown_jobs_and_bad_bodies),
		cmocka_unit_test(
		    test_throttle__ballastctl_agent_throttle_signs_the_call),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
