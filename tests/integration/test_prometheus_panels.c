/* tests/integration/test_prometheus_panels.c - every Grafana panel of
 * etc/grafana/ has data against a real Prometheus.
 *
 * A real Prometheus (Debian's prometheus package) on loopback scrapes a
 * real ballastd and four real agents every second while the control loop
 * rebalances a skewed cluster, a config reload happens and a node is
 * evacuated. One object is corrupted on disk beforehand, so the agents
 * report an md5 mismatch and its task fails, as it would in production;
 * another is pinned to the evacuated node's datacenter, where no other
 * node can take it, so the engine skips it. Then every target expression
 * of every dashboard is evaluated through /api/v1/query_range over the
 * run, with the Grafana variables replaced by what Grafana would send (the
 * "All" value, a rate interval of four scrape intervals); a panel target
 * with no series fails the test, by dashboard, panel and expression.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <glob.h>

#include "tests/helpers/th_cluster.h"

#define NAGENTS	4
#define NSKEW	60
#define OWNER	"0d0d0d0d-0000-4000-8000-000000000001"
#define QUOTA	"16777216"
#define OBJ	(64 * 1024)
#define PROM	"/usr/bin/prometheus"

#define POLICY "{\"preset\":\"default\",\"check_interval_s\":3600," \
	"\"max_fill\":0.95,\"max_moves_per_cycle\":12," \
	"\"max_egress_bytes_per_cycle\":1048576}"

static struct th_pg pg;
static struct tha_agent ag[NAGENTS];
static struct th_ctl ctl;
static pid_t prom_pid = -1;
static char prom_url[64];
static time_t run_start;

static const char *const names[NAGENTS] = { "a1.stor", "a2.stor", "b1.stor",
    "b2.stor" };
static const char *const agent_args[] = { "--capacity-bytes", QUOTA, NULL };
static const struct th_cluster cluster = {
	.pg = &pg, .ag = ag, .ctl = &ctl, .n = NAGENTS, .names = names,
	.agent_args = agent_args, .policy = POLICY,
};

static long long
sql(const char *q)
{
	return th_sql_ll(pg.conninfo, q);
}

/* Writes the scrape config and starts Prometheus; waits until /-/ready
 * answers 200. 0 or -1. */
static int
prom_start(void)
{
	char dir[600], conf[700], data[700], log[700], addr[64];
	char cf[700], df[700], lf[700];
	FILE *f;
	int port = th_free_port();

	if (port < 0 || access(PROM, X_OK) != 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/prometheus", tha_tmpdir());
	snprintf(conf, sizeof(conf), "%s.yml", dir);
	snprintf(data, sizeof(data), "%s-data", dir);
	snprintf(log, sizeof(log), "%s.log", dir);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	snprintf(prom_url, sizeof(prom_url), "http://%s", addr);
	if ((f = fopen(conf, "w")) == NULL)
		return -1;
	fprintf(f, "global:\n  scrape_interval: 1s\n"
	    "  evaluation_interval: 1s\n"
	    "scrape_configs:\n"
	    "  - job_name: ballastd\n"
	    "    static_configs:\n"
	    "      - targets: ['127.0.0.1:%d']\n"
	    "  - job_name: ballast-agent\n"
	    "    static_configs:\n"
	    "      - targets: [", ctl.port);
	for (int i = 0; i < NAGENTS; i++)
		fprintf(f, "%s'127.0.0.1:%d'", i ? ", " : "", ag[i].port);
	fprintf(f, "]\n");
	if (fclose(f) != 0)
		return -1;
	snprintf(cf, sizeof(cf), "--config.file=%s", conf);
	snprintf(df, sizeof(df), "--storage.tsdb.path=%s", data);
	snprintf(lf, sizeof(lf), "--web.listen-address=%s", addr);
	prom_pid = fork();
	if (prom_pid < 0)
		return -1;
	if (prom_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(PROM, PROM, cf, df, lf, "--log.level=warn",
		    (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 300; i++) {
		struct tha_resp r;
		int rc;
		long st;

		/* The answer is filled in (and owned) even on failure. */
		rc = tha_request(prom_url, "GET", "/-/ready", NULL, 0,
		    THA_UNSIGNED, NULL, &r);
		st = r.status;
		tha_resp_free(&r);
		if (rc == 0 && st == 200)
			return 0;
		if (waitpid(prom_pid, NULL, WNOHANG) == prom_pid) {
			prom_pid = -1;
			return -1;
		}
		tha_sleep_ms(100);
	}
	/* Never ready: stop it now. */
	kill(prom_pid, SIGTERM);
	waitpid(prom_pid, NULL, 0);
	prom_pid = -1;
	return -1;
}

static int
prom_stop(void)
{
	int st;

	if (prom_pid <= 0)
		return 0;
	kill(prom_pid, SIGTERM);
	if (waitpid(prom_pid, &st, 0) != prom_pid)
		return -1;
	prom_pid = -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* GET path?query=... on Prometheus; the "data" member of a successful
 * answer (new reference), or NULL with the reason in why. */
static json_t *
prom_get(const char *path, const char *params, char *why, size_t wl)
{
	struct tha_resp r;
	json_t *j, *data = NULL;
	char *target;
	size_t tl = strlen(path) + strlen(params) + 2;

	target = malloc(tl);
	assert_non_null(target);
	snprintf(target, tl, "%s?%s", path, params);
	if (tha_request(prom_url, "GET", target, NULL, 0, THA_UNSIGNED, NULL,
	    &r) != 0) {
		free(target);
		tha_resp_free(&r);
		snprintf(why, wl, "no answer from prometheus");
		return NULL;
	}
	free(target);
	j = tha_json(&r);
	if (r.status != 200 || j == NULL || strcmp(json_string_value(
	    json_object_get(j, "status")) ? json_string_value(json_object_get(j,
	    "status")) : "", "success") != 0)
		snprintf(why, wl, "status %ld: %.300s", r.status,
		    r.body ? r.body : "");
	else
		data = json_incref(json_object_get(j, "data"));
	json_decref(j);
	tha_resp_free(&r);
	return data;
}

/* Evaluates expr as a range query over the run; the number of series. */
static long
prom_series(const char *expr, char *why, size_t wl)
{
	char *q = curl_easy_escape(NULL, expr, 0), *params;
	time_t now = time(NULL);
	size_t pl;
	json_t *d;
	long n;

	assert_non_null(q);
	pl = strlen(q) + 128;
	params = malloc(pl);
	assert_non_null(params);
	snprintf(params, pl, "query=%s&start=%lld&end=%lld&step=1", q,
	    (long long)run_start, (long long)now);
	curl_free(q);
	d = prom_get("/api/v1/query_range", params, why, wl);
	free(params);
	if (d == NULL)
		return -1;
	n = (long)json_array_size(json_object_get(d, "result"));
	json_decref(d);
	return n;
}

/* Replaces every occurrence of from in *s by to (reallocating). */
static void
subst(char **s, const char *from, const char *to)
{
	char *p;

	while ((p = strstr(*s, from)) != NULL) {
		size_t pre = (size_t)(p - *s), fl = strlen(from);
		size_t nl = strlen(*s) - fl + strlen(to) + 1;
		char *n = malloc(nl);

		assert_non_null(n);
		snprintf(n, nl, "%.*s%s%s", (int)pre, *s, to, p + fl);
		free(*s);
		*s = n;
	}
}

/* The expression Grafana would send: its own variables with the values it
 * computes for a 1 s scrape interval, and the dashboard's template
 * variables with their "All" value. */
static char *
grafana_expr(const char *expr, json_t *vars)
{
	char *s = strdup(expr);
	size_t i;
	json_t *v;

	assert_non_null(s);
	subst(&s, "$__rate_interval", "4s");
	subst(&s, "$__interval", "1s");
	json_array_foreach(vars, i, v) {
		const char *name = json_string_value(json_object_get(v,
		    "name"));
		const char *all = json_string_value(json_object_get(v,
		    "allValue"));
		char a[128], b[128];

		if (name == NULL || strcmp(name, "datasource") == 0)
			continue;
		snprintf(a, sizeof(a), "${%s}", name);
		snprintf(b, sizeof(b), "$%s", name);
		subst(&s, a, all ? all : ".*");
		subst(&s, b, all ? all : ".*");
	}
	assert_null(strchr(s, '$'));
	return s;
}

/* Checks every target of panels (and of nested rows); appends failures
 * to bad. Returns the number of targets checked. */
static int
check_panels(const char *dash, json_t *panels, json_t *vars, char *bad,
    size_t bl)
{
	size_t i, k;
	json_t *p, *t;
	int n = 0;

	json_array_foreach(panels, i, p) {
		const char *title = json_string_value(json_object_get(p,
		    "title"));

		n += check_panels(dash, json_object_get(p, "panels"), vars,
		    bad, bl);
		json_array_foreach(json_object_get(p, "targets"), k, t) {
			const char *expr = json_string_value(
			    json_object_get(t, "expr"));
			char why[512] = "", *e;
			long ns;

			if (expr == NULL)
				continue;
			e = grafana_expr(expr, vars);
			ns = prom_series(e, why, sizeof(why));
			n++;
			if (ns <= 0) {
				size_t l = strlen(bad);

				snprintf(bad + l, bl - l, "%s: panel \"%s\": "
				    "%s: %s\n", dash, title ? title : "?", e,
				    ns < 0 ? why : "no series");
			}
			free(e);
		}
	}
	return n;
}

/* Runs one cycle and waits for its row. */
static void
run_cycle(void)
{
	long long before = sql("SELECT coalesce(max(id), 0) FROM cycles");

	assert_int_equal(th_ctl_req(&ctl, "POST", "/v1/controller/run", "{}",
	    TH_OP_TOKEN, NULL), 202);
	for (int i = 0; i < 300; i++) {
		if (sql("SELECT coalesce(max(id), 0) FROM cycles") > before)
			return;
		tha_sleep_ms(50);
	}
	fail_msg("no cycle was recorded");
}

static void
wait_jobs_idle(int timeout_s)
{
	for (int i = 0; i < timeout_s * 10; i++) {
		if (sql("SELECT count(*) FROM jobs WHERE state IN ('init', "
		    "'setup', 'running', 'paused')") == 0)
			return;
		tha_sleep_ms(100);
	}
	fail_msg("jobs still open after %d s", timeout_s);
}

/* Waits until Prometheus has scraped every target successfully. */
static void
wait_targets_up(void)
{
	for (int i = 0; i < 100; i++) {
		char why[256];
		json_t *d = prom_get("/api/v1/query", "query=sum(up)", why,
		    sizeof(why));
		json_t *r = d ? json_array_get(json_object_get(d, "result"), 0)
		    : NULL;
		const char *v = r ? json_string_value(json_array_get(
		    json_object_get(r, "value"), 1)) : NULL;
		int up = v ? atoi(v) : 0;

		json_decref(d);
		if (up == NAGENTS + 1)
			return;
		tha_sleep_ms(200);
	}
	fail_msg("prometheus never saw its %d targets up", NAGENTS + 1);
}

static int
setup(void **state)
{
	int skew[2] = { 0, 1 }, rest[2] = { 2, 3 };
	char ids[NSKEW * 37], md5[25], q[256];

	(void)state;
	if (th_cluster_start(&cluster) != 0)
		return -1;
	if (th_pg_sql(&pg, "UPDATE nodes SET datacenter = 'dc2' WHERE id "
	    "LIKE 'b%'") != 0)
		return -1;
	/* Skewed onto a1+a2, a little on b1+b2. */
	if (th_seed(pg.conninfo, ag, NAGENTS, NSKEW, OBJ, skew, 2, ids,
	    OWNER) != 0 || th_seed(pg.conninfo, ag, NAGENTS, 8, OBJ, rest, 2,
	    NULL, OWNER) != 0)
		return -1;
	/* The first object's two copies no longer match their md5: any job
	 * that moves it skips it with md5_mismatch. */
	for (int i = 0; i < 2; i++)
		free(tha_put_object(ag[i].root, OWNER, ids, OBJ, md5));
	/* The second is pinned to dc1, where a1 and a2 are the only nodes:
	 * draining a1 leaves it no destination, and the engine skips it. */
	snprintf(q, sizeof(q), "UPDATE objects SET allowed_dcs = '{dc1}' "
	    "WHERE id = '%s'", ids + 37);
	if (th_sql_run(pg.conninfo, q) != 0)
		return -1;
	if (th_cluster_restart_agents(&cluster) != 0)
		return -1;
	run_start = time(NULL);
	return prom_start();
}

static int
teardown(void **state)
{
	int rc = 0;

	(void)state;
	if (prom_stop() != 0)
		rc = -1;
	if (th_cluster_stop(&cluster) != 0)
		rc = -1;
	return rc;
}

static void
test_prometheus_panels__every_panel_target_has_series(void **state)
{
	char id[37], *bad;
	size_t bl = 64 * 1024;
	glob_t g;
	json_t *job;
	int checked = 0;
	char pat[700];

	(void)state;
	wait_targets_up();
	tha_sleep_ms(2000);	/* a few scrapes before anything moves */
	/* A rebalance: autonomous cycles over the skewed seed. */
	for (int i = 0; i < 3; i++) {
		run_cycle();
		wait_jobs_idle(60);
	}
	assert_true(sql("SELECT count(*) FROM jobs WHERE kind = 'rebalance'")
	    >= 1);
	/* A reload, counted by result. */
	kill(ctl.pid, SIGHUP);
	/* An evacuation of a1, which still holds the corrupted object. */
	assert_int_equal(th_ctl_evacuate(&ctl, "a1.stor", 0, id), 201);
	assert_non_null(job = th_ctl_wait_job(&ctl, id, 60));
	json_decref(job);
	assert_true(sql("SELECT count(*) FROM job_tasks WHERE state = "
	    "'failed' AND reason = 'md5_mismatch'") >= 1);
	assert_true(sql("SELECT count(*) FROM job_tasks WHERE state = "
	    "'skipped' AND reason = 'no_eligible_destination'") == 1);
	/* Once more after it, while the node is out. */
	run_cycle();
	wait_jobs_idle(60);
	tha_sleep_ms(3000);	/* the last values are scraped */

	snprintf(pat, sizeof(pat), "%s/../etc/grafana/*.json",
	    th_scripts_dir());
	assert_int_equal(glob(pat, 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 3);
	assert_non_null(bad = calloc(1, bl));
	for (size_t i = 0; i < g.gl_pathc; i++) {
		json_error_t je;
		json_t *d = json_load_file(g.gl_pathv[i], 0, &je);
		const char *dash;

		if (d == NULL)
			fail_msg("%s: %s", g.gl_pathv[i], je.text);
		dash = strrchr(g.gl_pathv[i], '/') + 1;
		checked += check_panels(dash, json_object_get(d, "panels"),
		    json_object_get(json_object_get(d, "templating"), "list"),
		    bad, bl);
		json_decref(d);
	}
	globfree(&g);
	assert_true(checked >= 40);
	if (bad[0] != '\0')
		fail_msg("%d panel targets, these have no series:\n%s",
		    checked, bad);
	free(bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_prometheus_panels__every_panel_target_has_series),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
