/* cli/ctl.c - ballastctl status, pause, resume, run, policy and cycles:
 * thin clients of the control loop's API (docs/api.md). */
#include "cli/http.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy.h"

static int
call(struct cli_http *h, const char *method, const char *target,
    json_t *body, json_t **out)
{
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int st;

	json_decref(body);
	*out = NULL;
	st = cli_http_call(h, method, target, s, s ? strlen(s) : 0, NULL,
	    out);
	free(s);
	return cli_http_exit(h, st);
}

static double
num(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static const char *
str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

#define BAR_WIDTH	40

/* One node's bar: '#' used, '.' free, '|' at the least full node's
 * utilisation plus the threshold (a node past it is what makes the cluster
 * imbalanced). */
static void
print_bar(double u, double mark)
{
	char bar[BAR_WIDTH + 1];
	int fill = (int)lround(fmin(fmax(u, 0), 1) * BAR_WIDTH);
	int m = (int)lround(fmin(fmax(mark, 0), 1) * BAR_WIDTH);

	for (int i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	if (m < BAR_WIDTH)
		bar[m] = '|';
	bar[BAR_WIDTH] = '\0';
	printf("[%s]", bar);
}

static int
by_dc_then_id(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *dx = json_string_value(json_object_get(x, "datacenter"));
	const char *dy = json_string_value(json_object_get(y, "datacenter"));
	int c = strcmp(dx ? dx : "", dy ? dy : "");

	if (c != 0)
		return c;
	dx = json_string_value(json_object_get(x, "id"));
	dy = json_string_value(json_object_get(y, "id"));
	return strcmp(dx ? dx : "", dy ? dy : "");
}

/* The nodes of GET /v1/cluster: on a terminal, grouped by datacenter with
 * a utilisation bar each; in a pipe, one plain line per node:
 * "node ID DC STATE UTILISATION USED CAPACITY". */
static void
print_nodes(json_t *cluster, double threshold, int tty)
{
	json_t *nodes = json_object_get(cluster, "nodes"), *n, **v;
	size_t i, cnt = json_array_size(nodes);
	double min = INFINITY;
	const char *dc = NULL;

	if (cnt == 0 || (v = calloc(cnt, sizeof(*v))) == NULL)
		return;
	/* The imbalance is taken over the nodes "in" (placement/cluster.h). */
	json_array_foreach(nodes, i, n) {
		v[i] = n;
		if (strcmp(str(n, "state"), "in") == 0 &&
		    num(n, "utilization") < min)
			min = num(n, "utilization");
	}
	if (!isfinite(min))
		min = 0;
	qsort(v, cnt, sizeof(*v), by_dc_then_id);
	if (tty)
		printf("nodes       %zu (| marks the least full + threshold)\n",
		    cnt);
	for (i = 0; i < cnt; i++) {
		n = v[i];
		if (!tty) {
			printf("node %s %s %s %.4f %lld %lld\n", str(n, "id"),
			    str(n, "datacenter"), str(n, "state"),
			    num(n, "utilization"), (long long)
			    json_integer_value(json_object_get(n, "used_bytes")),
			    (long long)json_integer_value(json_object_get(n,
			    "capacity_bytes")));
			continue;
		}
		if (dc == NULL || strcmp(dc, str(n, "datacenter")) != 0) {
			dc = str(n, "datacenter");
			printf("  %s\n", dc);
		}
		printf("    %-16s ", str(n, "id"));
		print_bar(num(n, "utilization"), min + threshold);
		printf(" %5.1f%% %s%s\n", num(n, "utilization") * 100,
		    str(n, "state"), json_is_false(json_object_get(n,
		    "reachable")) ? " unreachable" : "");
	}
	free(v);
}

int
cli_status_main(int argc, char **argv)
{
	struct cli_http h;
	json_t *out, *last, *ld, *j, *cluster = NULL;
	size_t i;
	int rc, json = argc == 2 && strcmp(argv[1], "--json") == 0;

	if (argc != 1 && !json)
		return cli_usage_error("usage: status [--json]");
	if (cli_http_init(&h, NULL, NULL) == -1)
		return CLI_USAGE;
	if ((rc = call(&h, "GET", "/v1/status", NULL, &out)) != CLI_OK) {
		json_decref(out);
		return rc;
	}
	if (json) {
		cli_print_json(out);
		json_decref(out);
		return CLI_OK;
	}
	ld = json_object_get(out, "leader");
	last = json_object_get(out, "last_cycle");
	printf("mode        %s (preset %s, every %llds)\n", str(out, "mode"),
	    str(out, "preset"), (long long)json_integer_value(
	    json_object_get(out, "check_interval_s")));
	printf("leader      %s: %s %s\n", json_is_true(json_object_get(ld,
	    "self")) ? "yes" : "no", str(ld, "instance"), str(ld, "url"));
	if (json_is_number(json_object_get(out, "imbalance")))
		printf("imbalance   %.4f (threshold %.4f, target %.4f)\n",
		    num(out, "imbalance"), num(out, "threshold"),
		    num(out, "target"));
	else
		printf("imbalance   unknown (threshold %.4f, target %.4f)\n",
		    num(out, "threshold"), num(out, "target"));
	printf("quiet now   %s\n", json_is_true(json_object_get(out,
	    "quiet_now")) ? "yes" : "no");
	if (json_is_object(last))
		printf("last cycle  %s %s: %s (%lld moves)\n",
		    str(last, "started_at"), str(last, "outcome"),
		    str(last, "reason"), (long long)json_integer_value(
		    json_object_get(last, "moves")));
	printf("next cycle  %s\n", str(out, "next_cycle"));
	printf("jobs        %zu running\n", json_array_size(json_object_get(
	    out, "running_jobs")));
	json_array_foreach(json_object_get(out, "running_jobs"), i, j)
		printf("  %s %s %s %s\n", str(j, "id"), str(j, "kind"),
		    str(j, "origin"), str(j, "state"));
	if ((rc = call(&h, "GET", "/v1/cluster", NULL, &cluster)) == CLI_OK)
		print_nodes(cluster, num(out, "threshold"),
		    isatty(STDOUT_FILENO));
	json_decref(cluster);
	json_decref(out);
	return rc;
}

static int
post(const char *target)
{
	struct cli_http h;
	json_t *out;
	int rc;

	if (cli_http_init(&h, NULL, NULL) == -1)
		return CLI_USAGE;
	rc = call(&h, "POST", target, json_object(), &out);
	if (rc == CLI_OK)
		cli_print_json(out);
	json_decref(out);
	return rc;
}

int
cli_pause_main(int argc, char **argv)
{
	/* The answer is JSON already: --json is accepted for symmetry. */
	(void)cli_take_json(&argc, argv);
	if (argc != 1)
		return cli_usage_error("usage: pause");
	return post("/v1/controller/pause");
}

int
cli_resume_main(int argc, char **argv)
{
	/* The answer is JSON already: --json is accepted for symmetry. */
	(void)cli_take_json(&argc, argv);
	if (argc != 1)
		return cli_usage_error("usage: resume");
	return post("/v1/controller/resume");
}

int
cli_run_main(int argc, char **argv)
{
	/* The answer is JSON already: --json is accepted for symmetry. */
	(void)cli_take_json(&argc, argv);
	if (argc != 1)
		return cli_usage_error("usage: run");
	return post("/v1/controller/run");
}

/* "key=value": the value as JSON if it parses, else as a string. */
static int
set_kv(json_t *o, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char key[128];
	json_t *v;

	if (eq == NULL || eq == kv || (size_t)(eq - kv) >= sizeof(key))
		return -1;
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	if ((v = json_loads(eq + 1, JSON_DECODE_ANY, NULL)) == NULL)
		v = json_string(eq + 1);
	return json_object_set_new(o, key, v);
}

int
cli_policy_main(int argc, char **argv)
{
	struct cli_http h;
	json_t *out, *body;
	int rc;

	if (cli_http_init(&h, NULL, NULL) == -1)
		return CLI_USAGE;
	if (argc == 2 && strcmp(argv[1], "get") == 0) {
		rc = call(&h, "GET", "/v1/policy", NULL, &out);
	} else if (argc == 2 && strcmp(argv[1], "reset") == 0) {
		rc = call(&h, "DELETE", "/v1/policy", NULL, &out);
	} else if (argc >= 3 && strcmp(argv[1], "set") == 0) {
		body = json_object();
		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--preset") == 0 && i + 1 < argc) {
				if (pol_preset_parse(argv[i + 1]) < 0) {
					json_decref(body);
					return cli_usage_error("--preset: "
					    "expected default, aggressive or "
					    "conservative");
				}
				json_object_set_new(body, "preset",
				    json_string(argv[++i]));
			} else if (strcmp(argv[i], "--set") == 0 && i + 1 <
			    argc && set_kv(body, argv[i + 1]) == 0) {
				i++;
			} else {
				json_decref(body);
				return cli_usage_error("usage: policy set "
				    "[--preset P] [--set key=value]...");
			}
		}
		rc = call(&h, "PUT", "/v1/policy", body, &out);
	} else {
		return cli_usage_error("usage: policy get | policy set "
		    "[--preset P] [--set key=value]... | policy reset");
	}
	if (rc == CLI_OK)
		cli_print_json(out);
	json_decref(out);
	return rc;
}

/* GETs target into *out. 1 when the command is over (an error, or --json
 * printed the answer), its exit code in *rc; 0: print *out. */
static int
get_view(const char *target, int json, json_t **out, int *rc)
{
	struct cli_http h;

	*out = NULL;
	if (cli_http_init(&h, NULL, NULL) == -1) {
		*rc = CLI_USAGE;
		return 1;
	}
	if ((*rc = call(&h, "GET", target, NULL, out)) != CLI_OK || json) {
		if (*rc == CLI_OK)
			cli_print_json(*out);
		json_decref(*out);
		return 1;
	}
	return 0;
}

int
cli_cycles_main(int argc, char **argv)
{
	char target[64] = "/v1/cycles?limit=20";
	json_t *out, *c;
	size_t i;
	int rc, json = cli_take_json(&argc, argv);

	if (argc == 3 && strcmp(argv[1], "--limit") == 0 &&
	    atoi(argv[2]) > 0)
		snprintf(target, sizeof(target), "/v1/cycles?limit=%d",
		    atoi(argv[2]));
	else if (argc != 1)
		return cli_usage_error("usage: cycles [--limit N] [--json]");
	if (get_view(target, json, &out, &rc))
		return rc;
	printf("%-6s %-24s %-16s %-12s %9s %9s %7s %12s  %s\n", "ID", "STARTED",
	    "OUTCOME", "PRESET", "BEFORE", "PROJECTED", "MOVES", "BYTES",
	    "REASON");
	json_array_foreach(json_object_get(out, "cycles"), i, c) {
		char b[16] = "-", p[16] = "-";

		if (json_is_number(json_object_get(c, "imbalance_before")))
			snprintf(b, sizeof(b), "%.4f", num(c,
			    "imbalance_before"));
		if (json_is_number(json_object_get(c, "imbalance_projected")))
			snprintf(p, sizeof(p), "%.4f", num(c,
			    "imbalance_projected"));
		printf("%-6lld %-24s %-16s %-12s %9s %9s %7lld %12lld  "
		    "%s\n", (long long)json_integer_value(json_object_get(c,
		    "id")), str(c, "started_at"), str(c, "outcome"),
		    str(c, "preset"), b, p, (long long)
		    json_integer_value(json_object_get(c, "moves")),
		    (long long)json_integer_value(json_object_get(c, "bytes")),
		    str(c, "reason"));
	}
	json_decref(out);
	return CLI_OK;
}

/* A query value for who/action: names only, so nothing needs encoding. */
static int
name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 63)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' &&
		    *s != '.')
			return 0;
	return 1;
}

int
cli_audit_main(int argc, char **argv)
{
	char target[256];
	const char *who = NULL, *action = NULL;
	long limit = 50, offset = 0;
	json_t *out, *a;
	size_t i;
	int rc, json = cli_take_json(&argc, argv);

	for (int k = 1; k < argc; k++) {
		const char *v = k + 1 < argc ? argv[k + 1] : NULL;
		char *end = NULL;

		if (v == NULL)
			return cli_usage_error("audit: %s needs a value",
			    argv[k]);
		if (strcmp(argv[k], "--who") == 0 && name_ok(v))
			who = v;
		else if (strcmp(argv[k], "--action") == 0 && name_ok(v))
			action = v;
		else if (strcmp(argv[k], "--limit") == 0 &&
		    (limit = strtol(v, &end, 10)) >= 1 && limit <= 10000 &&
		    *end == '\0')
			;
		else if (strcmp(argv[k], "--offset") == 0 &&
		    (offset = strtol(v, &end, 10)) >= 0 &&
		    offset <= 2147483647 && *end == '\0')
			;
		else
			return cli_usage_error("usage: audit [--who NAME] "
			    "[--action NAME] [--limit 1-10000] [--offset N] "
			    "[--json]");
		k++;
	}
	snprintf(target, sizeof(target), "/v1/audit?limit=%ld&offset=%ld%s%s"
	    "%s%s", limit, offset, who ? "&who=" : "", who ? who : "",
	    action ? "&action=" : "", action ? action : "");
	if (get_view(target, json, &out, &rc))
		return rc;
	printf("%-6s %-24s %-12s %-20s %-36s  %s\n", "ID", "AT", "WHO",
	    "ACTION", "TARGET", "DETAIL");
	json_array_foreach(json_object_get(out, "audit"), i, a) {
		char *d = json_dumps(json_object_get(a, "detail"),
		    JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));

		printf("%-6lld %-24s %-12s %-20s %-36s  %s\n", (long long)
		    json_integer_value(json_object_get(a, "id")), str(a, "at"),
		    str(a, "who"), str(a, "action"), json_is_string(
		    json_object_get(a, "target")) ? str(a, "target") : "-",
		    d ? d : "null");
		free(d);
	}
	printf("%lld of %lld\n", (long long)json_array_size(json_object_get(out,
	    "audit")), (long long)json_integer_value(json_object_get(out,
	    "total")));
	json_decref(out);
	return CLI_OK;
}
