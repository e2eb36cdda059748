/* cli/plan.c - ballastctl plan: a dry run of the rebalancing planner on
 * files.
 *
 *   ballastctl plan --cluster FILE --objects FILE [--policy FILE]
 *       [--preset NAME] [--now ISO8601] [--json]
 *
 * Exit codes: 0 ok, 2 usage or bad input (the message names the file, the
 * line and the field).
 */
#include "cli/cli.h"
#include "cli/http.h"
#include "cli/objects.h"
#include "lib/file.h"
#include "lib/tz.h"
#include "placement/cluster.h"
#include "placement/objects_csv.h"
#include "placement/planner.h"
#include "policy/decide.h"
#include "policy/policy.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

/* Finding the line of a JSON path such as "policy.quiet_hours[1].start"
 * in a file: jansson keeps no positions, so a small scanner walks the text,
 * builds each value's path and remembers the line of the longest prefix of
 * the wanted path that it meets. */
struct jscan {
	const char	*p;
	const char	*end;
	int		 line;
	const char	*want;		/* borrows */
	size_t		 best;		/* length of the best prefix matched */
	int		 best_line;
	int		 depth;
};

static void
js_ws(struct jscan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\n' || *s->p == '\r')) {
		if (*s->p == '\n')
			s->line++;
		s->p++;
	}
}

/* Copies a string's raw bytes (escapes kept as they are) into buf. */
static int
js_string(struct jscan *s, char *buf, size_t len)
{
	size_t n = 0;

	if (s->p >= s->end || *s->p != '"')
		return -1;
	s->p++;
	while (s->p < s->end && *s->p != '"') {
		if (*s->p == '\\' && s->p + 1 < s->end) {
			if (n + 1 < len)
				buf[n++] = *s->p;
			s->p++;
		}
		if (*s->p == '\n')
			s->line++;
		if (n + 1 < len)
			buf[n++] = *s->p;
		s->p++;
	}
	if (s->p >= s->end)
		return -1;
	s->p++;
	buf[n] = '\0';
	return 0;
}

static void
js_note(struct jscan *s, const char *path)
{
	size_t n = strlen(path);

	if (n > s->best && strncmp(s->want, path, n) == 0 &&
	    (s->want[n] == '\0' || s->want[n] == '.' || s->want[n] == '[')) {
		s->best = n;
		s->best_line = s->line;
	}
}

static int
js_value(struct jscan *s, const char *path)
{
	char sub[512], key[256];

	js_ws(s);
	if (s->p >= s->end || ++s->depth > 64)
		return -1;
	js_note(s, path);
	if (*s->p == '{') {
		s->p++;
		js_ws(s);
		if (s->p < s->end && *s->p == '}') {
			s->p++;
			s->depth--;
			return 0;
		}
		for (;;) {
			js_ws(s);
			if (js_string(s, key, sizeof(key)) < 0)
				return -1;
			js_ws(s);
			if (s->p >= s->end || *s->p++ != ':')
				return -1;
			snprintf(sub, sizeof(sub), "%s%s%s", path,
			    path[0] ? "." : "", key);
			if (js_value(s, sub) < 0)
				return -1;
			js_ws(s);
			if (s->p < s->end && *s->p == ',') {
				s->p++;
				continue;
			}
			if (s->p < s->end && *s->p == '}') {
				s->p++;
				break;
			}
			return -1;
		}
	} else if (*s->p == '[') {
		s->p++;
		js_ws(s);
		if (s->p < s->end && *s->p == ']') {
			s->p++;
			s->depth--;
			return 0;
		}
		for (size_t i = 0;; i++) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			if (js_value(s, sub) < 0)
				return -1;
			js_ws(s);
			if (s->p < s->end && *s->p == ',') {
				s->p++;
				continue;
			}
			if (s->p < s->end && *s->p == ']') {
				s->p++;
				break;
			}
			return -1;
		}
	} else if (*s->p == '"') {
		if (js_string(s, key, sizeof(key)) < 0)
			return -1;
	} else {
		while (s->p < s->end && *s->p != ',' && *s->p != '}' &&
		    *s->p != ']' && *s->p != ' ' && *s->p != '\n' &&
		    *s->p != '\t' && *s->p != '\r')
			s->p++;
	}
	s->depth--;
	return 0;
}

/* The line of the JSON path at the start of msg ("PATH: reason") in text,
 * whose root value is called root; 0 if unknown. */
static int
json_line_of(const char *text, size_t len, const char *root,
    const char *msg)
{
	struct jscan s;
	const char *colon = strstr(msg, ": ");
	char want[512];

	if (colon == NULL || (size_t)(colon - msg) >= sizeof(want))
		return 0;
	memcpy(want, msg, (size_t)(colon - msg));
	want[colon - msg] = '\0';
	memset(&s, 0, sizeof(s));
	s.p = text;
	s.end = text + len;
	s.line = 1;
	s.want = want;
	js_value(&s, root);
	return s.best_line;
}

static int
load_policy(const char *path, int preset, struct pol_policy *pol)
{
	struct pol_tz tz = { bl_tz_localtime, NULL };
	struct bl_err err;
	json_error_t jerr;
	json_t *root, *sub;
	char *text = NULL, *inner = NULL;
	size_t len;
	int rc = CLI_USAGE, line;

	bl_err_clear(&err);
	if ((text = bl_read_file(path, 0, &len, &err)) == NULL)
		return cli_usage_error("plan: %s", err.msg);
	/* The policy may be the whole file or its "policy" section. */
	root = json_loadb(text, len, 0, &jerr);
	if (root == NULL) {
		cli_usage_error("plan: %s:%d: column %d: %s", path, jerr.line,
		    jerr.column, jerr.text);
		goto out;
	}
	sub = json_object_get(root, "policy");
	if (json_is_object(sub))
		inner = json_dumps(sub, JSON_PRESERVE_ORDER);
	json_decref(root);
	if (pol_parse_json(inner ? inner : text, inner ? strlen(inner) : len,
	    "policy", preset, &tz, pol, &err) < 0) {
		/* In a wrapped file the path from the root is the same. */
		line = json_line_of(text, len, inner ? "" : "policy", err.msg);
		if (line > 0)
			cli_usage_error("plan: %s:%d: %s", path, line, err.msg);
		else
			cli_usage_error("plan: %s: %s", path, err.msg);
		goto out;
	}
	rc = CLI_OK;
out:
	free(inner);
	free(text);
	return rc;
}

static const char *
plan_id(uint64_t handle, void *arg)
{
	return cli_objs_id(arg, handle);
}

static int
print_json(const struct plc_cluster *cl, struct cli_objs *o,
    const struct plc_plan *plan)
{
	json_t *root = plc_plan_json(cl, plan, plan_id, o);
	int rc;

	rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(12));
	fputc('\n', stdout);
	json_decref(root);
	return rc < 0 || fflush(stdout) != 0 ? CLI_FAILED : CLI_OK;
}

static void
print_limit_u(const char *name, uint64_t used, int64_t limit)
{
	if (limit < 0)
		printf("  %-13s %" PRIu64 " of unlimited\n", name, used);
	else
		printf("  %-13s %" PRIu64 " of %" PRId64 "\n", name, used,
		    limit);
}

static int
print_human(const struct plc_cluster *cl, struct cli_objs *o,
    const struct plc_plan *plan)
{
	printf("imbalance     %.4f -> %.4f (threshold %.4f, target %.4f)\n",
	    plan->before.imbalance, plan->after.imbalance, plan->threshold,
	    plan->target);
	printf("stddev        %.4f -> %.4f\n", plan->before.stddev,
	    plan->after.stddev);
	printf("moves         %zu, %" PRIu64 " bytes (minimum to balance "
	    "%" PRIu64 "), cost %.4f\n", plan->n_moves, plan->bytes,
	    plan->before.min_bytes, plan->cost);
	printf("quiet hours   %s\n", plan->quiet ? "yes: no moves" : "no");
	printf("stopped       %s\n", plc_stop_name(plan->stop));
	printf("candidates    %" PRIu64 " objects, %" PRIu64 " copies on "
	    "over-full nodes, %" PRIu64 " protected, %" PRIu64 " without a "
	    "destination, %" PRIu64 " over budget\n", plan->n_objects,
	    plan->n_candidates, plan->n_protected, plan->n_no_destination,
	    plan->n_over_budget);
	printf("budget\n");
	print_limit_u("moves", plan->n_moves, plan->max_moves);
	print_limit_u("egress_bytes", plan->bytes, plan->max_egress_bytes);
	if (plan->max_cost < 0)
		printf("  %-13s %.4f of unlimited\n", "cost", plan->cost);
	else
		printf("  %-13s %.4f of %.4f\n", "cost", plan->cost,
		    plan->max_cost);
	if (plan->n_moves == 0)
		return fflush(stdout) != 0 ? CLI_FAILED : CLI_OK;
	printf("\n%-32s %-16s %-16s %14s %10s %7s\n", "OBJECT", "FROM", "TO",
	    "BYTES", "COST", "GRAVITY");
	for (size_t i = 0; i < plan->n_moves; i++) {
		const struct plc_move *m = &plan->moves[i];

		printf("%-32s %-16s %-16s %14" PRIu64 " %10.4f %7.3f\n",
		    plan_id(m->handle, o), cl->nodes[m->from].id,
		    cl->nodes[m->to].id, m->bytes, m->cost, m->gravity);
	}
	return fflush(stdout) != 0 ? CLI_FAILED : CLI_OK;
}

static void
plan_usage(FILE *f)
{
	fputs("usage: ballastctl plan --cluster FILE --objects FILE "
	    "[--policy FILE]\n"
	    "           [--preset default|aggressive|conservative] "
	    "[--now ISO8601] [--json]\n"
	    "       ballastctl plan [--preset P] [--json]\n"
	    "  Without files: the live cluster's next plan (GET /v1/plan on\n"
	    "  --server), as the control loop would make it now.\n", f);
}

static void
print_budget_json(const char *name, json_t *b)
{
	json_t *used = json_object_get(b, "used");
	json_t *lim = json_object_get(b, "limit");

	if (json_is_integer(used)) {
		if (json_is_null(lim))
			printf("  %-13s %lld of unlimited\n", name,
			    (long long)json_integer_value(used));
		else
			printf("  %-13s %lld of %lld\n", name,
			    (long long)json_integer_value(used),
			    (long long)json_integer_value(lim));
	} else if (json_is_null(lim)) {
		printf("  %-13s %.4f of unlimited\n", name,
		    json_number_value(used));
	} else {
		printf("  %-13s %.4f of %.4f\n", name, json_number_value(used),
		    json_number_value(lim));
	}
}

/* ballastctl plan without files: GET /v1/plan, printed as the offline
 * plan is (--json: the same document). */
static int
plan_live(int preset, int json)
{
	struct cli_http h;
	char target[64] = "/v1/plan";
	json_t *out = NULL, *s, *b, *m;
	size_t i;
	int st, rc;

	if (preset >= 0)
		snprintf(target, sizeof(target), "/v1/plan?preset=%s",
		    pol_preset_name(preset));
	if (cli_http_init(&h, NULL, NULL) == -1)
		return CLI_USAGE;
	st = cli_http_call(&h, "GET", target, NULL, 0, NULL, &out);
	if ((rc = cli_http_exit(&h, st)) != CLI_OK) {
		json_decref(out);
		return rc;
	}
	if (json) {
		rc = json_dumpf(out, stdout, JSON_INDENT(2) |
		    JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
		fputc('\n', stdout);
		json_decref(out);
		return rc < 0 || fflush(stdout) != 0 ? CLI_FAILED : CLI_OK;
	}
	s = json_object_get(out, "summary");
	b = json_object_get(s, "budget");
	printf("imbalance     %.4f -> %.4f (target %.4f)\n",
	    json_number_value(json_object_get(s, "imbalance_before")),
	    json_number_value(json_object_get(s, "imbalance_projected")),
	    json_number_value(json_object_get(s, "target_imbalance")));
	printf("moves         %lld, %lld bytes (minimum to balance %lld), "
	    "cost %.4f\n", (long long)json_integer_value(json_object_get(s,
	    "moves")), (long long)json_integer_value(json_object_get(s,
	    "bytes")), (long long)json_integer_value(json_object_get(s,
	    "min_bytes")), json_number_value(json_object_get(s, "cost")));
	printf("quiet hours   %s\n", json_is_true(json_object_get(s,
	    "quiet")) ? "yes: no moves" : "no");
	printf("budget\n");
	print_budget_json("moves", json_object_get(b, "moves"));
	print_budget_json("egress_bytes", json_object_get(b, "egress_bytes"));
	print_budget_json("cost", json_object_get(b, "cost"));
	if (json_array_size(json_object_get(out, "moves")) > 0)
		printf("\n%-32s %-16s %-16s %14s %10s %7s\n", "OBJECT", "FROM",
		    "TO", "BYTES", "COST", "GRAVITY");
	json_array_foreach(json_object_get(out, "moves"), i, m) {
		const char *obj = json_string_value(json_object_get(m, "object"));
		const char *from = json_string_value(json_object_get(m, "from"));
		const char *to = json_string_value(json_object_get(m, "to"));

		printf("%-32s %-16s %-16s %14lld %10.4f %7.3f\n",
		    obj ? obj : "?", from ? from : "?", to ? to : "?",
		    (long long)json_integer_value(json_object_get(m, "bytes")),
		    json_number_value(json_object_get(m, "cost")),
		    json_number_value(json_object_get(m, "gravity")));
	}
	json_decref(out);
	return fflush(stdout) != 0 ? CLI_FAILED : CLI_OK;
}

/* Reads the cluster file; errors name the file and, for a bad value, its
 * line. */
static struct plc_cluster *
plan_load_cluster(const char *path)
{
	struct plc_cluster *cl;
	struct bl_err err;
	char *text = NULL;
	size_t len;

	if ((text = bl_read_file(path, 0, &len, &err)) == NULL) {
		cli_usage_error("plan: %s", err.msg);
		return NULL;
	}
	if ((cl = plc_cluster_from_json(text, len, NULL, &err)) == NULL) {
		int line = err.code == BL_EPARSE ? 0 :
		    json_line_of(text, len, "", err.msg);

		if (line > 0)
			cli_usage_error("plan: %s:%d: %s", path, line,
			    err.msg);
		else
			cli_usage_error("plan: %s: %s", path, err.msg);
	}
	free(text);
	return cl;
}

/* Files of this many rows or more are added to the planner on two
 * threads (plc_planner_add_share). */
#define PLAN_SHARE_MIN	100000

/* One thread's share of the adds. */
struct add_share {
	struct plc_planner	*pl;
	const struct cli_objs	*o;
	unsigned		 share, nshares;
	struct plc_planner_tally t;
	size_t			 bad_row;	/* SIZE_MAX: none */
	struct bl_err		 err;
};

/* Offers every row to the planner for one share; stops at a bad row. */
static void *
add_rows(void *arg)
{
	struct add_share *a = arg;
	struct cli_objs_iter it = { 0, 0, 0 };
	struct cli_obj x;

	memset(&a->t, 0, sizeof(a->t));
	a->bad_row = SIZE_MAX;
	for (size_t r = 0; cli_objs_next(a->o, &it, &x); r++) {
		const struct cli_row *w = x.row;
		uint32_t coloc[PLC_COPIES_MAX];
		struct plc_object obj;

		for (size_t k = 0; k < w->ncopies; k++)
			coloc[k] = x.aff != 0 ? cli_objs_colocated(a->o, x.aff,
			    x.copies[k]) : 0;
		memset(&obj, 0, sizeof(obj));
		obj.handle = r;
		obj.key = x.key;
		obj.size = w->size;
		obj.copies = x.copies;
		obj.ncopies = w->ncopies;
		obj.colocated = coloc;
		obj.reads_per_hour = w->reads;
		obj.pinned = w->pinned;
		obj.allowed_dcs = w->dcmask;
		if (plc_planner_add_share(a->pl, &obj, a->share, a->nshares,
		    &a->t, &a->err) < 0) {
			a->bad_row = r;
			break;
		}
	}
	return NULL;
}

/* Plans the loaded objects: one plan to reach the target, with every
 * object at hand. Returns a CLI code. */
static int
plan_run(const struct plc_cluster *cl, const struct cli_objs *o,
    const struct pol_policy *pol, int quiet, struct plc_plan *plan)
{
	struct plc_planner_opts opts;
	struct plc_planner *pl = NULL;
	struct add_share sh[2];
	unsigned nshares = o->n >= PLAN_SHARE_MIN ? 2 : 1;
	const struct add_share *bad = NULL;
	struct bl_err err;
	pthread_t th;
	int started = 0, rc = CLI_FAILED;

	pol_planner_opts(pol, cl, quiet, 0, &opts);
	/* One plan to reach the target, not one cycle's: second moves of an
	 * object are planned now rather than deferred. */
	opts.one_move_per_object = 0;
	/* Offline, every object is at hand: a node keeps as many candidates
	 * as it holds copies, so the plan can reach its target in one go. */
	opts.cand_per_source = SIZE_MAX;
	opts.cand_caps = o->node_copies;
	if ((pl = plc_planner_new(cl, &opts, &err)) == NULL) {
		cli_usage_error("plan: %s", err.msg);
		goto out;
	}
	/* Each share offers every row to its half of the over-full nodes. */
	for (unsigned i = 0; i < nshares; i++) {
		memset(&sh[i], 0, sizeof(sh[i]));
		sh[i].pl = pl;
		sh[i].o = o;
		sh[i].share = i;
		sh[i].nshares = nshares;
	}
	if (nshares == 2 && pthread_create(&th, NULL, add_rows, &sh[1]) == 0)
		started = 1;
	else if (nshares == 2)
		add_rows(&sh[1]);
	add_rows(&sh[0]);
	if (started)
		(void)pthread_join(th, NULL);
	for (unsigned i = 0; i < nshares; i++) {
		if (sh[i].bad_row != SIZE_MAX && (bad == NULL ||
		    sh[i].bad_row < bad->bad_row))
			bad = &sh[i];
		plc_planner_add_tally(pl, &sh[i].t);
	}
	if (bad != NULL) {
		cli_usage_error("plan: %s:%zu: %s", o->file,
		    cli_objs_line(o, bad->bad_row), bad->err.msg);
		rc = CLI_USAGE;
		goto out;
	}
	if (plc_planner_run(pl, plan, &err) < 0)
		cli_usage_error("plan: %s", err.msg);
	else
		rc = CLI_OK;
out:
	plc_planner_free(pl);
	return rc;
}

int
cli_plan_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cluster", required_argument, NULL, 'c' },
		{ "objects", required_argument, NULL, 'o' },
		{ "policy", required_argument, NULL, 'p' },
		{ "preset", required_argument, NULL, 'P' },
		{ "now", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cluster_path = NULL, *objects_path = NULL;
	const char *policy_path = NULL, *now_s = NULL;
	struct pol_tz tz = { bl_tz_localtime, NULL };
	struct plc_cluster *cl = NULL;
	struct pol_policy pol;
	struct plc_plan plan;
	struct cli_objs o;
	struct bl_err err;
	time_t now;
	int ch, json = 0, preset = -1, quiet, rc = CLI_USAGE;

	memset(&o, 0, sizeof(o));
	memset(&plan, 0, sizeof(plan));
	bl_err_clear(&err);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': cluster_path = optarg; break;
		case 'o': objects_path = optarg; break;
		case 'p': policy_path = optarg; break;
		case 'n': now_s = optarg; break;
		case 'j': json = 1; break;
		case 'P':
			if ((preset = pol_preset_parse(optarg)) < 0)
				return cli_usage_error("plan: --preset: unknown "
				    "preset \"%s\" (expected default, aggressive "
				    "or conservative)", optarg);
			break;
		case 'h':
			plan_usage(stdout);
			return CLI_OK;
		default:
			plan_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind == argc && cluster_path == NULL && objects_path == NULL &&
	    policy_path == NULL && now_s == NULL)
		return plan_live(preset, json);
	if (optind != argc || cluster_path == NULL || objects_path == NULL) {
		plan_usage(stderr);
		return cli_usage_error("plan: --cluster and --objects are "
		    "required");
	}
	if (now_s != NULL) {
		if (bl_time_parse_iso8601(now_s, &now, &err) < 0)
			return cli_usage_error("plan: --now: %s", err.msg);
	} else
		now = time(NULL);
	if ((cl = plan_load_cluster(cluster_path)) == NULL)
		goto out;
	if (policy_path != NULL) {
		if (load_policy(policy_path, preset, &pol) != CLI_OK)
			goto out;
	} else {
		pol_preset_apply(&pol, preset < 0 ? POL_PRESET_DEFAULT : preset);
	}
	if (pol_quiet_at(&pol, now, &tz, &quiet, &err) < 0) {
		cli_usage_error("plan: %s: policy.%s", policy_path, err.msg);
		goto out;
	}
	if (cli_objs_load(&o, objects_path, cl, CLI_OBJS_SPLIT_MIN,
	    &err) < 0) {
		cli_usage_error("plan: %s", err.msg);
		goto out;
	}
	if ((rc = plan_run(cl, &o, &pol, quiet, &plan)) == CLI_OK)
		rc = json ? print_json(cl, &o, &plan) : print_human(cl, &o,
		    &plan);
out:
	plc_plan_release(&plan);
	cli_objs_release(&o);
	plc_cluster_free(cl);
	return rc;
}
