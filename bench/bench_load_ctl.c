/* bench/bench_load_ctl.c - ballastd's read routes under 1,000 concurrent
 * connections while an evacuation job runs.
 *
 * The cluster is the integration tests' (tests/helpers): a private
 * PostgreSQL, BENCH_CTL_AGENTS agents and ballastd on 127.0.0.1. It seeds
 * BENCH_CTL_OBJECTS tiny objects (BENCH_CTL_SIZE bytes, two copies on the
 * first two agents), then:
 *   1. baseline: wrk on GET /v1/status, no job running;
 *   2. mixed: wrk on GET /v1/status, /v1/jobs, /v1/nodes and /v1/cluster
 *      (viewer token) while a job evacuates the first agent; the load
 *      starts only once the job is "running" (planning 100,000 objects
 *      takes a while, and a load over a planning job measures nothing);
 *   3. status: wrk on GET /v1/status alone, the job still running,
 *      for the p99 the issue asks about.
 * Each wrk run has BENCH_CTL_CONNS connections for BENCH_CTL_SECONDS.
 * BENCH_CTL_OBJECTS defaults to the 100,000 x 64 bytes (the
 * evacuation takes 50-90 s on 2 cores; BENCH_CTL_WAIT bounds the wait for
 * its end); BENCH_CTL_HTTP_THREADS sets ballastd's http_threads (4),
 * BENCH_CTL_METADATA_THREADS its engine.metadata_threads (2: the cores of
 * the database host, which is this machine).
 * Prints BENCH lines, the job's progress, and exits 1 if any request
 * answered non-2xx or wrk saw a socket error or timeout, or if no object
 * moved while the load ran. BALLAST_BIN names
 * the directory with ballastd, ballast-agent and ballastctl.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <jansson.h>

#include "tests/helpers/agent_harness.h"
#include "tests/helpers/th_ctl.h"
#include "tests/helpers/th_pg.h"
#include "tests/helpers/th_wrk.h"

#define OWNER	"5a5a5a5a-1111-4222-8333-444455556666"
#define MAXAG	8

/* The cluster, global so that die() can stop it. */
static struct th_pg pg;
static struct th_ctl ctl;
static struct tha_agent ag[MAXAG];
static int nag;

static void
teardown(void)
{
	if (ctl.pid > 0)
		th_ctl_stop(&ctl);
	for (int i = 0; i < nag; i++) {
		if (ag[i].pid > 0)
			tha_agent_stop(&ag[i]);
		tha_agent_free(&ag[i]);
	}
	th_pg_destroy(&pg);
	tha_cleanup();
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *msg)
{
	fprintf(stderr, "bench_load_ctl: %s\n", msg);
	teardown();
	exit(1);
}

static int
env_int(const char *name, int def)
{
	const char *e = getenv(name);

	return e != NULL && atoi(e) > 0 ? atoi(e) : def;
}

/* A wrk script cycling through targets (viewer token on each). */
static void
write_script(const char *path, const char *const *targets)
{
	static const char *const hdrs[] = { "Authorization",
	    "Bearer " TH_VIEW_TOKEN, NULL };
	FILE *f;

	if ((f = thw_script_open(path)) == NULL)
		die("wrk script: cannot create");
	for (; *targets != NULL; targets++)
		thw_script_get(f, *targets, hdrs);
	if (thw_script_close(f) != 0)
		die("wrk script: cannot write");
}

static void
run_wrk(const char *url, const char *script, int conns, int secs,
    struct thw_load *l)
{
	struct bl_err err;

	if (thw_run(url, script, conns, secs, l, &err) != 0)
		die(err.msg);
}

/* Polls the job until it is "running" (or past it); returns its state, a
 * static string, or NULL on timeout. */
static const char *
wait_running(const char *id, int timeout_s)
{
	static char state[32];
	char target[128];

	snprintf(target, sizeof(target), "/v1/jobs/%s", id);
	for (int i = 0; i < timeout_s * 10; i++) {
		json_t *j = NULL;
		const char *st = NULL;

		if (th_ctl_req(&ctl, "GET", target, NULL, TH_VIEW_TOKEN, &j) ==
		    200)
			st = json_string_value(json_object_get(j, "state"));
		if (st != NULL && strcmp(st, "init") != 0 &&
		    strcmp(st, "setup") != 0) {
			snprintf(state, sizeof(state), "%s", st);
			json_decref(j);
			return state;
		}
		json_decref(j);
		tha_sleep_ms(100);
	}
	return NULL;
}

static long long
done_tasks(const char *conninfo)
{
	return th_sql_ll(conninfo, "SELECT count(*) FROM objects WHERE NOT "
	    "('b0.stor' = ANY(copies))");
}

int
main(void)
{
	static const char *const status[] = { "/v1/status", NULL };
	static const char *const mixed[] = { "/v1/status", "/v1/jobs",
	    "/v1/nodes", "/v1/cluster", NULL };
	int nobj = env_int("BENCH_CTL_OBJECTS", 100000);
	int size = env_int("BENCH_CTL_SIZE", 64);
	int conns = env_int("BENCH_CTL_CONNS", 1000);
	int secs = env_int("BENCH_CTL_SECONDS", 20);
	int copies[2] = { 0, 1 };
	struct thw_load base, mix, st;
	struct rlimit rl;
	char script[700], id[37], name[16], top[64], engine[160];
	const char *state = NULL;
	json_t *job = NULL;
	double t0, t_seed, t_run, t_load;
	long long moved, moved0;
	int bad;

	nag = env_int("BENCH_CTL_AGENTS", 4);
	if (nag < 3 || nag > MAXAG)
		die("BENCH_CTL_AGENTS: want 3-8");
	/* 1,000 client sockets plus ballastd's own */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 8192) {
		rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (th_pg_start(&pg) != 0)
		die("postgresql: cannot start");
	for (int i = 0; i < nag; i++) {
		snprintf(name, sizeof(name), "b%d.stor", i);
		if (tha_agent_start(&ag[i], name, NULL) != 0) {
			nag = i + 1;
			die("agent: cannot start");
		}
	}
	/* The committers sized to the database's cores (here the same two
	 * cores): more only queue in PostgreSQL and take CPU from the rest. */
	snprintf(top, sizeof(top), "\"http_threads\":%d", env_int(
	    "BENCH_CTL_HTTP_THREADS", 4));
	snprintf(engine, sizeof(engine), "\"max_tasks_per_assignment\":500,"
	    "\"max_inflight_per_node\":5000,\"metadata_threads\":%d",
	    env_int("BENCH_CTL_METADATA_THREADS", 2));
	if (th_ctl_start_ex(&ctl, pg.conninfo, engine, NULL, top, "ctl") != 0)
		die("ballastd: cannot start");
	printf("BENCH ctl_load_http_threads %d threads\n", env_int(
	    "BENCH_CTL_HTTP_THREADS", 4));
	printf("BENCH ctl_load_metadata_threads %d threads\n", env_int(
	    "BENCH_CTL_METADATA_THREADS", 2));
	if (th_ctl_register(&ctl, ag, nag) != 0)
		die("ballastd: cannot register the agents");
	t0 = now_s();
	if (th_seed(pg.conninfo, ag, nag, nobj, (size_t)size, copies, 2, NULL,
	    OWNER) != 0)
		die("seed failed");
	t_seed = now_s() - t0;
	printf("BENCH ctl_load_seeded_objects %d objects\n", nobj);
	printf("BENCH ctl_load_object_size %d bytes\n", size);
	printf("BENCH ctl_load_seed_s %.1f s\n", t_seed);
	fflush(stdout);

	snprintf(script, sizeof(script), "%s/status.lua", tha_tmpdir());
	write_script(script, status);
	run_wrk(ctl.url, script, conns, secs, &base);
	thw_print("ctl_status_idle", &base);

	if (th_ctl_evacuate(&ctl, "b0.stor", 0, id) != 201)
		die("evacuate: refused");
	t0 = now_s();
	/* The load starts only once the job moves objects: a job still
	 * planning would leave wrk measuring an idle engine. */
	if ((state = wait_running(id, env_int("BENCH_CTL_WAIT", 600))) ==
	    NULL || strcmp(state, "running") != 0)
		die("evacuate: the job never reached running");
	t_run = now_s() - t0;
	printf("BENCH ctl_load_job_to_running_s %.1f s\n", t_run);
	moved0 = done_tasks(pg.conninfo);
	t_load = now_s();
	snprintf(script, sizeof(script), "%s/mixed.lua", tha_tmpdir());
	write_script(script, mixed);
	run_wrk(ctl.url, script, conns, secs, &mix);
	thw_print("ctl_read_routes_during_job", &mix);
	snprintf(script, sizeof(script), "%s/status.lua", tha_tmpdir());
	run_wrk(ctl.url, script, conns, secs, &st);
	thw_print("ctl_status_during_job", &st);
	moved = done_tasks(pg.conninfo) - moved0;
	printf("BENCH ctl_load_objects_moved_under_load %lld objects in "
	    "%.0f s\n", moved, now_s() - t_load);
	fflush(stdout);
	if (moved <= 0)
		die("no object moved while the load ran: the figures above "
		    "are not under load");

	/* Let the job finish (it is the job the load ran against). */
	job = th_ctl_wait_job(&ctl, id, env_int("BENCH_CTL_WAIT", 600));
	state = NULL;
	if (job != NULL)
		state = json_string_value(json_object_get(job, "state"));
	printf("BENCH ctl_load_job_s %.1f s (state %s)\n", now_s() - t0,
	    state ? state : "?");
	bad = thw_errors(&base) + thw_errors(&mix) + thw_errors(&st) > 0 ||
	    job == NULL || state == NULL || strcmp(state, "complete") != 0;
	json_decref(job);
	teardown();
	if (bad)
		fprintf(stderr, "bench_load_ctl: a request errored or the job "
		    "did not complete\n");
	return bad ? 1 : 0;
}
