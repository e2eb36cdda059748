/* cli/simulate.c - ballastctl simulate: what a change would do, cycle by
 * cycle, on simulated time (docs/simulate.md).
 *
 *   ballastctl simulate --cluster FILE --objects FILE --scenario FILE
 *       [--policy FILE] [--preset NAME] [--json] [--csv FILE] [--svg FILE]
 *
 * Exit codes: 0 ok, 1 the simulation failed, 2 usage or bad input (the
 * message names the file and the field).
 */
#include "cli/cli.h"
#include "cli/http.h"
#include "cli/simulate.h"
#include "lib/file.h"
#include "lib/tz.h"
#include "placement/objects_csv.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* Reads and parses the cluster map at path; errors start with the path. */
static struct plc_cluster *
load_cluster(const char *path, struct bl_err *err)
{
	struct plc_cluster *cl;
	size_t len;
	char *text;

	if ((text = bl_read_file(path, 0, &len, err)) == NULL)
		return NULL;
	cl = plc_cluster_from_json(text, len, path, err);
	free(text);
	return cl;
}

static json_t *
load_json(const char *path, struct bl_err *err)
{
	json_error_t je;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);

	if (j == NULL)
		bl_err_set(err, BL_EINVAL, "%s:%d: %s", path, je.line, je.text);
	return j;
}

/* The scale model groups the CSV's objects by (copies, pinning, size
 * class: the power of two below the size) into entries of up to `bundle`
 * objects; an entry's size is the sum of its objects'. */
struct group {
	uint64_t	 h;		/* 0: empty slot */
	uint64_t	 key;		/* the first member's key */
	uint64_t	 bytes;
	double		 reads;
	uint32_t	 n;
	uint32_t	 copies[PLC_COPIES_MAX];
	uint8_t		 ncopies, pinned;
	uint64_t	 dcmask;
};

struct loader {
	struct sim	*s;		/* borrows */
	struct group	*g;		/* owns */
	size_t		 cap;
};

static int
flush(struct loader *l, struct group *g)
{
	size_t o = l->s->ob.n;

	if (g->n == 0)
		return 0;
	if (sim_obj_add(l->s, g->key, g->bytes, g->reads / g->n, g->copies,
	    g->ncopies, g->pinned, g->dcmask) < 0)
		return -1;
	l->s->ob.mult[o] = g->n;
	g->n = 0;
	g->bytes = 0;
	g->reads = 0;
	return 0;
}

static int
on_row(const struct plc_csv_row *r, void *arg, struct bl_err *err)
{
	struct loader *l = arg;
	struct sim *s = l->s;
	uint64_t key = plc_object_key(r->id, r->id_len), h;
	int cls = 0;
	size_t i;

	if (s->o.bundle <= 1) {
		if (sim_obj_add(s, key, r->size, r->reads_per_hour, r->copies,
		    r->ncopies, r->pinned, r->allowed_dcs) < 0)
			return bl_err_set(err, BL_ENOMEM, "out of memory");
		return 0;
	}
	while (cls < 63 && (r->size >> (cls + 1)) != 0)
		cls++;
	h = 1469598103934665603ull ^ (uint64_t)cls ^ r->allowed_dcs * 31;
	for (size_t k = 0; k < r->ncopies; k++)
		h = (h ^ r->copies[k]) * 1099511628211ull;
	h |= 1;
	if (l->cap == 0) {
		l->cap = 1 << 16;
		if ((l->g = calloc(l->cap, sizeof(*l->g))) == NULL)
			return bl_err_set(err, BL_ENOMEM, "out of memory");
	}
	for (i = h & (l->cap - 1); l->g[i].h != 0 && (l->g[i].h != h ||
	    l->g[i].ncopies != r->ncopies || memcmp(l->g[i].copies, r->copies,
	    r->ncopies * sizeof(*r->copies)) != 0);
	    i = (i + 1) & (l->cap - 1))
		;
	if (l->g[i].h == 0) {
		size_t used = 0;

		for (size_t k = 0; k < l->cap; k++)
			used += l->g[k].h != 0;
		if (2 * (used + 1) > l->cap) {
			/* Full enough: every group goes out as it is. */
			for (size_t k = 0; k < l->cap; k++)
				if (l->g[k].h != 0 && flush(l, &l->g[k]) < 0)
					return bl_err_set(err, BL_ENOMEM,
					    "out of memory");
			memset(l->g, 0, l->cap * sizeof(*l->g));
			i = h & (l->cap - 1);
		}
		l->g[i].h = h;
		memcpy(l->g[i].copies, r->copies, r->ncopies *
		    sizeof(*r->copies));
		l->g[i].ncopies = (uint8_t)r->ncopies;
		l->g[i].pinned = (uint8_t)r->pinned;
		l->g[i].dcmask = r->allowed_dcs;
	}
	if (l->g[i].n == 0)
		l->g[i].key = key;
	l->g[i].n++;
	l->g[i].bytes += r->size;
	l->g[i].reads += r->reads_per_hour;
	if (l->g[i].n >= (uint32_t)s->o.bundle && flush(l, &l->g[i]) < 0)
		return bl_err_set(err, BL_ENOMEM, "out of memory");
	return 0;
}

static int
num(json_t *o, const char *key, double def, double min, double max,
    const char *file, double *out, struct bl_err *err)
{
	json_t *v = json_object_get(o, key);

	*out = def;
	if (v == NULL)
		return 0;
	if (!json_is_number(v) || !(json_number_value(v) >= min &&
	    json_number_value(v) <= max))
		return bl_err_set(err, BL_EINVAL, "%s: %s: expected a number "
		    "from %.17g to %.17g", file, key, min, max);
	*out = json_number_value(v);
	return 0;
}

static int
cmp_event(const void *a, const void *b)
{
	const struct sim_event *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The scenario: {"start", "duration_s", "max_cycles", "thrash_window_s",
 * "throughput": {"node_bytes_per_sec", "max_transfers"}, "events": [...]}.
 * An event with "every_s" and "count" repeats. */
static int
load_scenario(struct sim *s, json_t *sc, const char *file,
    struct bl_err *err)
{
	static const char *const keys[] = { "start", "duration_s",
	    "max_cycles", "thrash_window_s", "throughput", "events", "note",
	    "bundle", NULL };
	json_t *tp = json_object_get(sc, "throughput"), *evs, *v;
	const char *key, *st;
	double d, mc, bps, mt, tw, bu;
	size_t i;

	if (!json_is_object(sc))
		return bl_err_set(err, BL_EINVAL, "%s: expected an object", file);
	json_object_foreach(sc, key, v) {
		size_t k;

		for (k = 0; keys[k] != NULL && strcmp(keys[k], key) != 0; k++)
			;
		if (keys[k] == NULL)
			return bl_err_set(err, BL_EINVAL, "%s: %s: unknown key",
			    file, key);
	}
	st = json_string_value(json_object_get(sc, "start"));
	if (st == NULL)
		st = "2026-01-05T00:00:00Z";
	if (bl_time_parse_iso8601(st, &s->o.start, err) < 0)
		return bl_err_wrap(err, "%s: start", file);
	if (num(sc, "duration_s", 7 * 86400.0, 0, 3.2e9, file, &d, err) < 0 ||
	    num(sc, "max_cycles", 100000, 1, 1e9, file, &mc, err) < 0 ||
	    num(sc, "thrash_window_s", 0, 0, 3.2e9, file, &tw, err) < 0 ||
	    num(sc, "bundle", 1, 1, 1e6, file, &bu, err) < 0)
		return -1;
	if (s->o.bundle == 0)
		s->o.bundle = (long)bu;
	if (tp != NULL && !json_is_object(tp))
		return bl_err_set(err, BL_EINVAL, "%s: throughput: expected an "
		    "object", file);
	if (num(tp, "node_bytes_per_sec", 100.0 * 1024 * 1024, 1, 1e15, file,
	    &bps, err) < 0 || num(tp, "max_transfers", 500, 1, 1e6, file, &mt,
	    err) < 0)
		return -1;
	s->o.duration_s = d;
	s->o.max_cycles = (long)mc;
	s->o.thrash_window_s = tw;
	s->o.node_bps = bps;
	s->o.max_transfers = (long)mt;
	evs = json_object_get(sc, "events");
	if (evs != NULL && !json_is_array(evs))
		return bl_err_set(err, BL_EINVAL, "%s: events: expected an array",
		    file);
	json_array_foreach(evs, i, v) {
		double at, every, count;

		if (!json_is_object(v))
			return bl_err_set(err, BL_EINVAL, "%s: events[%zu]: "
			    "expected an object", file, i);
		if (json_object_get(v, "at_s") == NULL)
			return bl_err_set(err, BL_EINVAL, "%s: events[%zu].at_s: "
			    "missing", file, i);
		if (num(v, "at_s", 0, 0, 3.2e9, file, &at, err) < 0 ||
		    num(v, "every_s", 0, 0, 3.2e9, file, &every, err) < 0 ||
		    num(v, "count", 1, 1, 100000, file, &count, err) < 0)
			return bl_err_wrap(err, "events[%zu]", i);
		for (long c = 0; c < (long)count; c++) {
			struct sim_event *e;

			if (s->nevents % 64 == 0) {
				void *ne = realloc(s->events, (s->nevents + 64) *
				    sizeof(*s->events));

				if (ne == NULL)
					return bl_err_set(err, BL_ENOMEM, "out "
					    "of memory");
				s->events = ne;
			}
			e = &s->events[s->nevents++];
			e->at = at + (double)c * every;
			e->index = i;
			e->ev = json_incref(v);
		}
	}
	if (s->nevents > 1)
		qsort(s->events, s->nevents, sizeof(*s->events), cmp_event);
	return 0;
}

/* --live without --objects: every object, as the objects CSV (GET
 * /v1/objects/export). Returns CLI_OK or the exit code (printed). */
static int
load_live_objects(char **text, size_t *len)
{
	struct cli_http h;
	int st;

	if (cli_http_init(&h, NULL, NULL) == -1)
		return CLI_USAGE;
	if ((st = cli_http_get_raw(&h, "/v1/objects/export", text, len)) !=
	    200) {
		free(*text);
		*text = NULL;
		return cli_http_exit(&h, st);
	}
	return CLI_OK;
}

/* --live: the cluster (GET /v1/nodes) and the policy in force (GET
 * /v1/policy) from ballastd; the objects too (load_live_objects) unless
 * --objects names a file. Returns CLI_OK or the exit code (the error
 * printed). */
static int
load_live(struct plc_cluster **cl, json_t **pdoc)
{
	struct cli_http h;
	json_t *nodes = NULL, *pol = NULL, *doc, *arr, *v;
	struct bl_err err;
	size_t i;
	char *text;
	int st, fd;

	if (cli_http_init(&h, NULL, NULL) == -1)
		return CLI_USAGE;
	if ((st = cli_http_call(&h, "GET", "/v1/policy", NULL, 0, NULL,
	    &pol)) != 200) {
		json_decref(pol);
		return cli_http_exit(&h, st);
	}
	if ((st = cli_http_call(&h, "GET", "/v1/nodes", NULL, 0, NULL,
	    &nodes)) != 200) {
		json_decref(pol);
		json_decref(nodes);
		return cli_http_exit(&h, st);
	}
	*pdoc = json_deep_copy(json_object_get(pol, "policy"));
	if (!json_is_object(*pdoc)) {
		json_decref(*pdoc);
		*pdoc = json_object();
	}
	fd = plc_domain_parse(json_string_value(json_object_get(
	    json_object_get(pol, "policy"), "failure_domain")) ?
	    json_string_value(json_object_get(json_object_get(pol, "policy"),
	    "failure_domain")) : "host");
	json_decref(pol);
	arr = json_array();
	json_array_foreach(json_object_get(nodes, "nodes"), i, v) {
		json_t *n = json_object();
		static const char *const keep[] = { "id", "region", "datacenter",
		    "rack", "host", "capacity_bytes", "used_bytes", "state",
		    "reachable", NULL };

		for (int k = 0; keep[k] != NULL; k++)
			if (json_object_get(v, keep[k]) != NULL)
				json_object_set(n, keep[k], json_object_get(v,
				    keep[k]));
		json_array_append_new(arr, n);
	}
	json_decref(nodes);
	doc = json_pack("{s:s,s:o}", "failure_domain", plc_domain_name(fd < 0 ?
	    PLC_DOMAIN_HOST : fd), "nodes", arr);
	text = doc ? json_dumps(doc, 0) : NULL;
	json_decref(doc);
	bl_err_clear(&err);
	*cl = text ? plc_cluster_from_json(text, strlen(text), "GET /v1/nodes",
	    &err) : NULL;
	free(text);
	if (*cl == NULL) {
		json_decref(*pdoc);
		*pdoc = NULL;
		return cli_usage_error("simulate: --live: %s", err.msg);
	}
	return CLI_OK;
}

static void
usage(FILE *f)
{
	fputs("usage: ballastctl simulate (--cluster FILE --objects FILE | "
	    "--live [--objects FILE])\n           --scenario FILE\n"
	    "           [--policy FILE] [--preset default|aggressive|"
	    "conservative]\n"
	    "           [--json] [--csv FILE] [--svg FILE] [--bundle N]\n", f);
}

static int
write_file(const char *path, const struct sim *s,
    int (*fn)(const struct sim *, FILE *))
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL)
		return cli_usage_error("simulate: %s: %s", path,
		    strerror(errno));
	rc = fn(s, f);
	if (fclose(f) != 0 || rc < 0)
		return cli_usage_error("simulate: %s: write failed", path),
		    CLI_FAILED;
	return CLI_OK;
}

/* The command line. */
struct sim_args {
	const char	*cpath;		/* the rest borrow argv */
	const char	*opath;
	const char	*spath;
	const char	*ppath;
	const char	*csv;
	const char	*svg;
	const char	*preset;
	long		 bundle;	/* 0: not given */
	int		 json;
	int		 live;
};

/* Parses argv into a. Returns -1 to go on, or the exit status. */
static int
sim_args(int argc, char **argv, struct sim_args *a)
{
	static const struct option longopts[] = {
		{ "cluster", required_argument, NULL, 'c' },
		{ "objects", required_argument, NULL, 'o' },
		{ "scenario", required_argument, NULL, 's' },
		{ "policy", required_argument, NULL, 'p' },
		{ "preset", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", required_argument, NULL, 'C' },
		{ "svg", required_argument, NULL, 'S' },
		{ "bundle", required_argument, NULL, 'B' },
		{ "live", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': a->cpath = optarg; break;
		case 'o': a->opath = optarg; break;
		case 's': a->spath = optarg; break;
		case 'p': a->ppath = optarg; break;
		case 'j': a->json = 1; break;
		case 'L': a->live = 1; break;
		case 'C': a->csv = optarg; break;
		case 'S': a->svg = optarg; break;
		case 'B': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end != '\0' || v < 1 || v > 1000000)
				return cli_usage_error("simulate: --bundle: "
				    "expected 1 to 1000000, got \"%s\"", optarg);
			a->bundle = v;
			break;
		}
		case 'P':
			if (pol_preset_parse(optarg) < 0)
				return cli_usage_error("simulate: --preset: "
				    "unknown preset \"%s\" (expected default, "
				    "aggressive or conservative)", optarg);
			a->preset = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc || (a->cpath == NULL) == !a->live ||
	    (a->opath == NULL && !a->live) || a->spath == NULL) {
		usage(stderr);
		return cli_usage_error("simulate: --cluster and --objects (or "
		    "--live), and --scenario are required");
	}
	return -1;
}

/* The cluster (--cluster or --live) into *cl and the policy document
 * (--live's, --policy's or an empty one, with --preset) into *pdoc.
 * Returns CLI_OK, or the exit status (the error printed, nothing kept). */
static int
sim_inputs(const struct sim_args *a, struct plc_cluster **cl, json_t **pdoc)
{
	struct bl_err err;
	int rc;

	bl_err_clear(&err);
	*cl = NULL;
	*pdoc = NULL;
	if (a->live) {
		if ((rc = load_live(cl, pdoc)) != CLI_OK)
			return rc;
		if (a->ppath != NULL) {
			json_decref(*pdoc);
			*pdoc = NULL;
		}
	} else if ((*cl = load_cluster(a->cpath, &err)) == NULL) {
		return cli_usage_error("simulate: %s", err.msg);
	}
	if (*pdoc == NULL && a->ppath != NULL) {
		json_t *sub;

		if ((*pdoc = load_json(a->ppath, &err)) == NULL) {
			plc_cluster_free(*cl);
			*cl = NULL;
			return cli_usage_error("simulate: %s", err.msg);
		}
		/* The whole file or its "policy" section. */
		if (json_is_object(sub = json_object_get(*pdoc, "policy"))) {
			json_incref(sub);
			json_decref(*pdoc);
			*pdoc = sub;
		}
	} else if (*pdoc == NULL) {
		*pdoc = json_object();
	}
	if (a->preset != NULL)
		json_object_set_new(*pdoc, "preset", json_string(a->preset));
	return CLI_OK;
}

/* The objects CSV at path (NULL: --live's GET /v1/objects/export) into
 * s, grouped by the scale model. Returns CLI_OK or the exit status (the
 * error printed). */
static int
sim_objects(struct sim *s, const char *path)
{
	struct loader l = { s, NULL, 0 };
	struct bl_err err;
	char *text = NULL;
	size_t len = 0;
	int prc;

	if (path == NULL) {
		path = "GET /v1/objects/export";
		if ((prc = load_live_objects(&text, &len)) != CLI_OK)
			return prc;
	} else if ((text = bl_read_file(path, 0, &len, &err)) == NULL)
		return cli_usage_error("simulate: %s", err.msg);
	prc = plc_objects_csv_parse(text, len, s->cl, path, on_row, &l, &err);
	for (size_t k = 0; prc == 0 && k < l.cap; k++)
		if (l.g[k].h != 0 && flush(&l, &l.g[k]) < 0)
			prc = bl_err_set(&err, BL_ENOMEM, "out of memory");
	free(l.g);
	free(text);
	return prc < 0 ? cli_usage_error("simulate: %s", err.msg) : CLI_OK;
}

/* The results of a run: JSON or the table on stdout, then --csv and
 * --svg. Returns the exit status. */
static int
sim_report(const struct sim *s, const struct sim_args *a)
{
	int rc = CLI_OK;

	if (a->json) {
		json_t *j = sim_json(s);

		if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
		    JSON_REAL_PRECISION(10)) < 0)
			rc = CLI_FAILED;
		fputc('\n', stdout);
		json_decref(j);
	} else {
		sim_print_table(s, stdout);
	}
	if (a->csv != NULL && rc == CLI_OK)
		rc = write_file(a->csv, s, sim_write_csv);
	if (a->svg != NULL && rc == CLI_OK)
		rc = write_file(a->svg, s, sim_write_svg);
	if (fflush(stdout) != 0)
		rc = CLI_FAILED;
	return rc;
}

int
cli_simulate_main(int argc, char **argv)
{
	struct sim_args a;
	struct plc_cluster *cl;
	struct sim s;
	struct bl_err err;
	json_t *pdoc, *sc = NULL;
	int rc;

	memset(&s, 0, sizeof(s));
	bl_err_clear(&err);
	if ((rc = sim_args(argc, argv, &a)) >= 0)
		return rc;
	s.o.bundle = a.bundle;
	if ((rc = sim_inputs(&a, &cl, &pdoc)) != CLI_OK)
		return rc;
	if ((sc = load_json(a.spath, &err)) == NULL) {
		json_decref(pdoc);
		plc_cluster_free(cl);
		return cli_usage_error("simulate: %s", err.msg);
	}
	rc = CLI_USAGE;
	if (load_scenario(&s, sc, a.spath, &err) < 0) {
		cli_usage_error("simulate: %s", err.msg);
		json_decref(pdoc);
		plc_cluster_free(cl);
		goto out;
	}
	/* sim owns cl and pdoc from here. */
	if (sim_init(&s, cl, pdoc, &err) < 0) {
		cli_usage_error("simulate: %s: %s", a.ppath ? a.ppath :
		    "--preset", err.msg);
		goto out;
	}
	if ((rc = sim_objects(&s, a.opath)) != CLI_OK)
		goto out;
	rc = CLI_USAGE;
	if (sim_run(&s, &err) < 0) {
		cli_usage_error("simulate: %s: %s", a.spath, err.msg);
		rc = err.code == BL_EINVAL ? CLI_USAGE : CLI_FAILED;
		goto out;
	}
	rc = sim_report(&s, &a);
out:
	json_decref(sc);
	sim_release(&s);
	return rc;
}
