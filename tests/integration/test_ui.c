/* tests/integration/test_ui.c - the status page (GET /ui) in headless
 * Debian Chromium, and ballastctl status, against a real cluster: a
 * private PostgreSQL, three agents on two datacenters, one ballastd, and
 * one control cycle run before the page is read.
 *
 * Chromium only reaches 127.0.0.1. The screenshot is kept in the test's
 * temp dir (its path is printed; THA_KEEP=1 keeps the directory).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/helpers/th_cluster.h"

#define NAGENTS	3
#define OWNER	"0b0b0b0b-0000-4000-8000-000000000002"
#define QUOTA	"16777216"
#define OBJ	(64 * 1024)
#define POLICY	"{\"preset\":\"default\",\"check_interval_s\":3600," \
	"\"max_fill\":0.95,\"max_moves_per_cycle\":4}"
#define CHROMIUM_TIMEOUT_S	25

static struct th_pg pg;
static struct tha_agent ag[NAGENTS];
static struct th_ctl ctl;
static char out[65536];

static const char *const names[NAGENTS] = { "a1.stor", "a2.stor",
    "b1.stor" };
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

static int
setup(void **state)
{
	int skew[1] = { 0 }, rest[1] = { 2 };
	long long before;

	if (th_cluster_start(&cluster) != 0)
		return -1;
	if (th_pg_sql(&pg, "UPDATE nodes SET datacenter = 'dc2' WHERE id "
	    "LIKE 'b%'") != 0)
		return -1;
	/* Skewed: 80 objects on a1 (31%), 8 on b1, none on a2. */
	if (th_seed(pg.conninfo, ag, NAGENTS, 80, OBJ, skew, 1, NULL,
	    OWNER) != 0 || th_seed(pg.conninfo, ag, NAGENTS, 8, OBJ, rest, 1,
	    NULL, OWNER) != 0)
		return -1;
	if (th_cluster_restart_agents(&cluster) != 0)
		return -1;
	if (th_ctl_wait_leader(&ctl, 15) != 0)
		return -1;
	/* One cycle, so that /v1/status has an imbalance and the trend a
	 * point. */
	before = sql("SELECT coalesce(max(id), 0) FROM cycles");
	for (int i = 0; i < 100; i++) {
		/* The first poll of the agents may not be done yet. */
		if (sql("SELECT count(*) FROM nodes WHERE used_bytes > 0") < 2) {
			tha_sleep_ms(100);
			continue;
		}
		break;
	}
	if (th_ctl_req(&ctl, "POST", "/v1/controller/run", "{}", TH_OP_TOKEN,
	    NULL) != 202)
		return -1;
	for (int i = 0; i < 300; i++) {
		if (sql("SELECT coalesce(max(id), 0) FROM cycles") > before)
			return 0;
		tha_sleep_ms(50);
	}
	return -1;
}

static int
teardown(void **state)
{
	return th_cluster_stop(&cluster);
}

/* Runs headless Chromium on url with one more flag (--dump-dom or
 * --screenshot=...). Its stdout goes to out; its stderr to a log in the
 * temp dir. Killed after CHROMIUM_TIMEOUT_S. Returns the exit code. */
static int
chromium(const char *url, const char *flag)
{
	static int seq;
	char prof[600], outp[600], errp[600];
	int fd, st = 0, ofd;
	pid_t pid, w = 0;
	ssize_t n;
	size_t len = 0;

	seq++;
	snprintf(prof, sizeof(prof), "%s/chromium-profile-%d", tha_tmpdir(),
	    seq);
	snprintf(outp, sizeof(outp), "%s/chromium-%d.out", tha_tmpdir(), seq);
	snprintf(errp, sizeof(errp), "%s/chromium-%d.log", tha_tmpdir(), seq);
	if (mkdir(prof, 0700) != 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		char udd[640];

		snprintf(udd, sizeof(udd), "--user-data-dir=%s", prof);
		if ((fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
		    dup2(fd, 1) < 0)
			_exit(126);
		if ((fd = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
		    dup2(fd, 2) < 0)
			_exit(126);
		/* Its own process group, so that a timeout kills the whole
		 * browser. */
		setpgid(0, 0);
		execlp("chromium", "chromium", "--headless", "--no-sandbox",
		    "--disable-gpu", "--disable-quic", "--no-first-run",
		    "--disable-background-networking",
		    "--disable-component-update", "--disable-sync",
		    "--disable-extensions", "--disable-dev-shm-usage",
		    "--window-size=1280,1000", "--virtual-time-budget=5000",
		    udd, flag, url, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < CHROMIUM_TIMEOUT_S * 10; i++) {
		if ((w = waitpid(pid, &st, WNOHANG)) != 0)
			break;
		tha_sleep_ms(100);
	}
	if (w == 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		print_message("chromium timed out; log: %s\n", errp);
		return -1;
	}
	/* Helpers left in its group go too. */
	kill(-pid, SIGKILL);
	out[0] = '\0';
	if ((ofd = open(outp, O_RDONLY)) >= 0) {
		while (len < sizeof(out) - 1 && (n = read(ofd, out + len,
		    sizeof(out) - 1 - len)) > 0)
			len += (size_t)n;
		out[len] = '\0';
		close(ofd);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		print_message("chromium failed; log: %s\n", errp);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* --dump-dom until the page has settled (its fetches answered): on a
 * loaded machine the virtual time budget can end first, so try again, up
 * to three times. Returns chromium's exit code. */
static int
dump_dom(const char *url)
{
	int rc = -1;

	for (int i = 0; i < 3; i++) {
		rc = chromium(url, "--dump-dom");
		if (rc == 0 && strstr(out, "<body data-state=\"loading\"") ==
		    NULL)
			break;
	}
	return rc;
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL;
	    p += strlen(needle))
		n++;
	return n;
}

/* The text of the element whose start tag holds marker (up to the next
 * '<'), copied into buf. */
static const char *
text_of(const char *dom, const char *marker, char *buf, size_t len)
{
	const char *p = strstr(dom, marker), *e;

	if (p == NULL || (p = strchr(p, '>')) == NULL ||
	    (e = strchr(++p, '<')) == NULL || (size_t)(e - p) >= len)
		return NULL;
	memcpy(buf, p, (size_t)(e - p));
	buf[e - p] = '\0';
	return buf;
}

static void
page_url(char *url, size_t len, const char *token)
{
	snprintf(url, len, "http://127.0.0.1:%d/ui#token=%s", ctl.port,
	    token);
}

/* The page itself needs no token and loads nothing from elsewhere. */
static void
test_ui__page_is_served_without_a_token_and_self_contained(void **state)
{
	struct tha_resp r;
	char v[256];

	(void)state;
	assert_int_equal(tha_request(ctl.url, "GET", "/ui", NULL, 0,
	    THA_UNSIGNED, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(tha_resp_header(&r, "Content-Type", v, sizeof(v)), 0);
	assert_string_equal(v, "text/html; charset=utf-8");
	assert_int_equal(tha_resp_header(&r, "Content-Security-Policy", v,
	    sizeof(v)), 0);
	assert_non_null(strstr(v, "default-src 'none'"));
	assert_non_null(strstr(v, "connect-src 'self'"));
	assert_non_null(strstr(r.body, "<!DOCTYPE html>"));
	/* No external script, style, image or font. */
	assert_null(strstr(r.body, " src="));
	assert_null(strstr(r.body, "<link"));
	assert_null(strstr(r.body, "@import"));
	assert_null(strstr(r.body, "url("));
	/* Its data calls carry the bearer token. */
	assert_non_null(strstr(r.body, "\"Bearer \""));
	tha_resp_free(&r);

	assert_int_equal(tha_request(ctl.url, "POST", "/ui", "", 0,
	    THA_UNSIGNED, NULL, &r), 0);
	assert_int_equal(r.status, 405);
	tha_resp_free(&r);
	/* The data is still behind a token. */
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/status", NULL, NULL,
	    NULL), 401);
}

/* The relative luminance of a #rgb or #rrggbb colour (WCAG 2). */
static double
luminance(const char *hex)
{
	unsigned int v[3];
	double c[3];

	if (strspn(hex + 1, "0123456789abcdefABCDEF") >= 6 &&
	    sscanf(hex + 1, "%2x%2x%2x", &v[0], &v[1], &v[2]) == 3)
		;
	else if (sscanf(hex + 1, "%1x%1x%1x", &v[0], &v[1], &v[2]) == 3)
		for (int i = 0; i < 3; i++)
			v[i] *= 17;
	else
		fail_msg("%.8s: not a colour", hex);
	for (int i = 0; i < 3; i++) {
		double s = v[i] / 255.0;

		c[i] = s <= 0.03928 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4);
	}
	return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}

/* The value of "prop: #..." inside the CSS rule that starts with sel. */
static const char *
css_colour(const char *css, const char *sel, const char *prop)
{
	const char *r = strstr(css, sel), *end, *p;

	if (r == NULL)
		fail_msg("no CSS rule %s", sel);
	end = strchr(r, '}');
	for (p = r; (p = strstr(p, prop)) != NULL && p < end; p++)
		if ((p == r || p[-1] == ' ' || p[-1] == '\n' || p[-1] == '{') &&
		    p[strlen(prop)] == ':')
			return strchr(p, '#');
	fail_msg("CSS rule %s has no %s", sel, prop);
	return NULL;
}

/* Every badge (the mode's auto/paused, quiet hours' no/yes) keeps WCAG
 * AA contrast, 4.5:1, between its text and its background. */
static void
test_ui__badges_have_readable_contrast(void **state)
{
	static const char *const sels[] = { ".badge {", ".badge.on {",
	    ".badge.paused {" };
	struct tha_resp r;

	(void)state;
	assert_int_equal(tha_request(ctl.url, "GET", "/ui", NULL, 0,
	    THA_UNSIGNED, NULL, &r), 0);
	for (size_t i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
		double a = luminance(css_colour(r.body, sels[i], "color"));
		double b = luminance(css_colour(r.body, sels[i], "background"));
		double ratio = (fmax(a, b) + 0.05) / (fmin(a, b) + 0.05);

		if (ratio < 4.5)
			fail_msg("%s contrast %.2f:1, want 4.5:1", sels[i], ratio);
	}
	tha_resp_free(&r);
}

/* In Chromium with the viewer token: one tr.node per node, grouped by
 * datacenter, and the imbalance /v1/status gives, with 4 decimals. */
static void
test_ui__chromium_shows_every_node_and_the_status_imbalance(void **state)
{
	json_t *st = NULL, *cl = NULL, *n, *cy = NULL;
	char url[256], want[64], got[64], marker[128];
	size_t i;

	(void)state;
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/status", NULL,
	    TH_VIEW_TOKEN, &st), 200);
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/cluster", NULL,
	    TH_VIEW_TOKEN, &cl), 200);
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/cycles?limit=50", NULL,
	    TH_VIEW_TOKEN, &cy), 200);
	assert_true(json_is_number(json_object_get(st, "imbalance")));
	snprintf(want, sizeof(want), "%.4f", json_number_value(
	    json_object_get(st, "imbalance")));

	/* A job cancelled after 3 of its 10 moves (the other 7 skipped). */
	assert_int_equal(th_pg_sql(&pg, "INSERT INTO jobs (id, kind, origin, "
	    "state, total, complete, skipped, finished_at) VALUES "
	    "('c0c0c0c0-0000-4000-8000-000000000003', 'evacuate', 'operator', "
	    "'cancelled', 10, 3, 7, now())"), 0);
	page_url(url, sizeof(url), TH_VIEW_TOKEN);
	assert_int_equal(dump_dom(url), 0);
	assert_non_null(strstr(out, "<body data-state=\"ready\""));
	/* Its bar shows what was done, not 100%. */
	{
		const char *row = strstr(out, "data-job=\"c0c0c0c0-0000-4000-"
		    "8000-000000000003\"");

		assert_non_null(row);
		assert_non_null(strstr(row, "<progress max=\"10\" value=\"3\""));
		assert_non_null(strstr(row, "3/10 moved, cancelled"));
	}
	/* The trend chart has values on its axes. */
	assert_int_equal(count(out, "class=\"axis-y\""), 3);
	assert_int_equal(count(out, "class=\"axis-x\""), 2);
	assert_int_equal(count(out, "<tr class=\"node\""),
	    json_array_size(json_object_get(cl, "nodes")));
	assert_int_equal(count(out, "<tr class=\"node\""), NAGENTS);
	json_array_foreach(json_object_get(cl, "nodes"), i, n) {
		snprintf(marker, sizeof(marker), "data-node=\"%s\"",
		    json_string_value(json_object_get(n, "id")));
		assert_int_equal(count(out, marker), 1);
	}
	assert_int_equal(count(out, "<tbody class=\"dc\""), 2);
	assert_non_null(strstr(out, "data-dc=\"dc1\""));
	assert_non_null(strstr(out, "data-dc=\"dc2\""));
	/* Each bar has its threshold and target lines. */
	assert_int_equal(count(out, "class=\"line threshold\""), NAGENTS);
	assert_int_equal(count(out, "class=\"line target\""), NAGENTS);
	assert_non_null(text_of(out, "id=\"imbalance\"", got, sizeof(got)));
	assert_string_equal(got, want);
	/* The trend has one point per cycle with an imbalance. */
	assert_non_null(strstr(out, "<svg id=\"trend-svg\""));
	assert_true(json_array_size(json_object_get(cy, "cycles")) >= 1);
	assert_int_equal(count(out, "<circle class=\"cycle\""),
	    json_array_size(json_object_get(cy, "cycles")));
	assert_non_null(text_of(out, "id=\"mode\"", got, sizeof(got)));
	assert_string_equal(got, json_string_value(json_object_get(st,
	    "mode")));
	/* The policy and the plan preview are filled. */
	assert_non_null(strstr(out, "<dd data-key=\"preset\">default</dd>"));
	assert_non_null(strstr(out, "<dd data-key=\"projected\">"));
	/* The token left the address bar: nothing shows it. */
	assert_null(strstr(out, TH_VIEW_TOKEN));
	json_decref(st);
	json_decref(cl);
	json_decref(cy);
}

/* A wrong token: the page says so and shows no data. */
static void
test_ui__chromium_with_a_wrong_token_shows_the_error(void **state)
{
	char url[256];

	(void)state;
	page_url(url, sizeof(url), "not-a-token");
	assert_int_equal(dump_dom(url), 0);
	assert_non_null(strstr(out, "<body data-state=\"error\""));
	assert_non_null(strstr(out, "<div id=\"error\">/v1/status: 401 "
	    "missing or unknown bearer token</div>"));
	assert_int_equal(count(out, "<tr class=\"node\""), 0);
}

/* A screenshot, kept as the test's artifact. */
static void
test_ui__chromium_screenshot_is_kept(void **state)
{
	char url[256], flag[700], path[600];
	unsigned char *png;
	size_t len = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/ui.png", tha_tmpdir());
	snprintf(flag, sizeof(flag), "--screenshot=%s", path);
	page_url(url, sizeof(url), TH_VIEW_TOKEN);
	assert_int_equal(chromium(url, flag), 0);
	assert_non_null(png = tha_read_file(path, &len));
	assert_true(len > 1000);
	assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
	free(png);
	print_message("ui screenshot: %s (THA_KEEP=1 keeps it)\n", path);
}

/* "ballastctl --server ... --token-file <viewer's>". */
static const char *
ctl_base(void)
{
	static char b[1024];

	snprintf(b, sizeof(b), "'%s/ballastctl' --server %s --token-file "
	    "'%s/view.token'", tha_bin_dir(), ctl.url, ctl.dir);
	return b;
}

/* In a pipe: one plain line per node, as /v1/cluster has it. */
static void
test_ui__ballastctl_status_lists_nodes_plainly_in_a_pipe(void **state)
{
	json_t *cl = NULL, *n;
	char line[256];
	size_t i;

	(void)state;
	assert_int_equal(tha_run(out, sizeof(out), "%s status 2>&1",
	    ctl_base()), 0);
	assert_non_null(strstr(out, "imbalance   0."));
	assert_null(strstr(out, "[#"));
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/cluster", NULL,
	    TH_VIEW_TOKEN, &cl), 200);
	json_array_foreach(json_object_get(cl, "nodes"), i, n) {
		snprintf(line, sizeof(line), "node %s %s %s %.4f %lld %lld\n",
		    json_string_value(json_object_get(n, "id")),
		    json_string_value(json_object_get(n, "datacenter")),
		    json_string_value(json_object_get(n, "state")),
		    json_number_value(json_object_get(n, "utilization")),
		    (long long)json_integer_value(json_object_get(n,
		    "used_bytes")), (long long)json_integer_value(
		    json_object_get(n, "capacity_bytes")));
		assert_non_null(strstr(out, line));
	}
	assert_int_equal(count(out, "\nnode "), NAGENTS);
	json_decref(cl);
}

/* On a terminal (script(1) gives one): a bar per node under its
 * datacenter. */
static void
test_ui__ballastctl_status_draws_bars_on_a_tty(void **state)
{
	const char *a1, *dc2;

	(void)state;
	assert_int_equal(tha_run(out, sizeof(out), "script -qec \"%s status\" "
	    "/dev/null 2>&1", ctl_base()), 0);
	assert_int_equal(count(out, " ["), NAGENTS);
	assert_non_null(strstr(out, "| marks the least full + threshold"));
	assert_non_null(a1 = strstr(out, "a1.stor"));
	assert_non_null(dc2 = strstr(out, "  dc2"));
	assert_true(a1 < dc2);
	assert_true(strstr(out, "  dc1") < a1);
	assert_null(strstr(out, "\nnode "));
}

/* --json prints the API's answer and nothing else. */
static void
test_ui__ballastctl_status_json_is_the_api_answer(void **state)
{
	json_t *j, *st = NULL;

	(void)state;
	assert_int_equal(tha_run(out, sizeof(out), "%s status --json 2>&1",
	    ctl_base()), 0);
	assert_non_null(j = json_loads(out, 0, NULL));
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/status", NULL,
	    TH_VIEW_TOKEN, &st), 200);
	assert_true(json_equal(json_object_get(j, "imbalance"),
	    json_object_get(st, "imbalance")));
	assert_true(json_equal(json_object_get(j, "last_cycle"),
	    json_object_get(st, "last_cycle")));
	json_decref(j);
	json_decref(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_ui__page_is_served_without_a_token_and_self_contained),
		cmocka_unit_test(test_ui__badges_have_readable_contrast),
		cmocka_unit_test(
		    test_ui__chromium_shows_every_node_and_the_status_imbalance),
		cmocka_unit_test(
		    test_ui__chromium_with_a_wrong_token_shows_the_error),
		cmocka_unit_test(test_ui__chromium_screenshot_is_kept),
		cmocka_unit_test(
		    test_ui__ballastctl_status_lists_nodes_plainly_in_a_pipe),
		cmocka_unit_test(test_ui__ballastctl_status_draws_bars_on_a_tty),
		cmocka_unit_test(
		    test_ui__ballastctl_status_json_is_the_api_answer),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
