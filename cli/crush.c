/* cli/crush.c - ballastctl crush: offline CRUSH tools that touch no cluster.
 *
 *   crush map      one line per input: "x item item ...", as Ceph's
 *                  crushtool --test --show-mappings computes them
 *   crush compare  what a change of map (a weight, say) would move
 */
#include "cli/cli.h"
#include "lib/file.h"
#include "placement/crush.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REWEIGHTS 4096

struct reweight {
	int		id;
	uint32_t	w;
};

struct map_args {
	const char	*map;
	const char	*map_after;
	const char	*rule;
	long		 replicas;
	long long	 from, to;
	int		 json;
	struct reweight	 rw[MAX_REWEIGHTS];		/* both maps */
	int		 nrw;
	struct reweight	 rw_after[MAX_REWEIGHTS];	/* compare: after */
	int		 nrw_after;
};

static int
parse_ll(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int
parse_reweight(const char *s, struct reweight *rw)
{
	const char *colon = strchr(s, ':');
	char id[32];
	long long v;

	if (colon == NULL || colon == s || (size_t)(colon - s) >= sizeof(id))
		return -1;
	memcpy(id, s, (size_t)(colon - s));
	id[colon - s] = '\0';
	if (parse_ll(id, 0, PLC_CRUSH_MAX_DEVICES - 1, &v) < 0)
		return -1;
	rw->id = (int)v;
	if (strchr(colon + 1, '.') != NULL) {
		/* A fraction, as crushtool --weight and ceph osd reweight
		 * take it: 0.5 is 32768. */
		char *end;
		double f;

		errno = 0;
		f = strtod(colon + 1, &end);
		if (errno || end == colon + 1 || *end != '\0' || !(f >= 0) ||
		    f > 1)
			return -1;
		rw->w = (uint32_t)lround(f * 0x10000);
		return 0;
	}
	if (parse_ll(colon + 1, 0, 0x10000, &v) < 0)
		return -1;
	rw->w = (uint32_t)v;
	return 0;
}

/* Adds optarg to list (of *n entries); prints a usage error and returns -1
 * if it is malformed or the list is full. */
static int
add_reweight(const char *flag, const char *arg, struct reweight *list,
    int *n)
{
	if (*n == MAX_REWEIGHTS)
		return cli_usage_error("%s: more than %d", flag,
		    MAX_REWEIGHTS), -1;
	if (parse_reweight(arg, &list[*n]) < 0)
		return cli_usage_error("%s: \"%s\" is not ID:W with W in "
		    "0..65536 (16.16) or 0.0..1.0", flag, arg), -1;
	(*n)++;
	return 0;
}

/* Every device named in list exists in map c (loaded from path); else
 * prints a usage error and returns -1. */
static int
check_reweights(const struct plc_crush *c, const char *path,
    const char *flag, const struct reweight *list, int n)
{
	for (int i = 0; i < n; i++)
		if (plc_crush_item_name(c, list[i].id) == NULL)
			return cli_usage_error("%s: no device %d in %s", flag,
			    list[i].id, path), -1;
	return 0;
}

static void
map_usage(FILE *f)
{
	fputs("usage: ballastctl crush map --crushmap FILE --rule NAME "
	    "--replicas N\n"
	    "                 [--from A] [--to B] [--reweight ID:W]... [--json]\n"
	    "  Prints one line per input x in A..B (default 0..1023):\n"
	    "  \"x item item ...\"; a hole in an indep result is \"none\".\n"
	    "  --json prints {\"rule\",\"replicas\",\"mappings\":[{\"x\",\n"
	    "  \"items\":[...]}]} instead, with null for a hole.\n"
	    "  --reweight ID:W sets device ID's reweight (as ceph osd reweight\n"
	    "  does): W is 16.16 fixed point (65536 = in, 0 = out) or, with a\n"
	    "  decimal point, a fraction 0.0..1.0. It may be repeated.\n", f);
}

static void
compare_usage(FILE *f)
{
	fputs("usage: ballastctl crush compare --crushmap A --crushmap-after B "
	    "--rule NAME\n"
	    "                 --replicas N [--from X] [--to Y]\n"
	    "                 [--reweight ID:W]... [--reweight-after ID:W]... "
	    "[--json]\n"
	    "  Maps inputs X..Y (default 0..9999) through both maps and "
	    "reports the\n"
	    "  fraction of inputs whose set changed, the fraction of replicas "
	    "moved,\n"
	    "  the ideal fraction (only the changed weight moves), their "
	    "ratio, and\n"
	    "  the per-device count deviation under map B.\n"
	    "  --reweight ID:W sets a device's reweight (ceph osd reweight) in "
	    "both\n"
	    "  maps; --reweight-after only in map B, so \"mark osd.0 out\" "
	    "is\n"
	    "  --crushmap-after A --reweight-after 0:0. W is 16.16 (65536 = "
	    "in,\n"
	    "  0 = out) or a fraction 0.0..1.0. The ideal counts a device's "
	    "crush\n"
	    "  weight times its reweight. Both may be repeated.\n", f);
}

static void
crush_usage(FILE *f)
{
	fputs("usage: ballastctl crush map|compare [OPTIONS]\n"
	    "  map      map inputs through a rule (crushtool --test "
	    "semantics)\n"
	    "  compare  what changing a map would move\n"
	    "ballastctl crush SUBCOMMAND --help for options.\n", f);
}

/* The flags every run needs, and a range of inputs. 0, or -1 (the error
 * printed). */
static int
check_args(const struct map_args *a, int compare)
{
	if (a->map == NULL)
		return cli_usage_error("--crushmap is required"), -1;
	if (compare && a->map_after == NULL)
		return cli_usage_error("--crushmap-after is required"), -1;
	if (a->rule == NULL)
		return cli_usage_error("--rule is required"), -1;
	if (a->replicas == 0)
		return cli_usage_error("--replicas is required"), -1;
	if (a->from > a->to)
		return cli_usage_error("--from %lld is past --to %lld", a->from,
		    a->to), -1;
	return 0;
}

/* Parses the options shared by map and compare. Returns -1 after printing
 * a usage error, 1 after printing help, 0 otherwise. */
static int
parse_args(int argc, char **argv, struct map_args *a, int compare)
{
	enum { O_MAP = 1, O_AFTER, O_RULE, O_REP, O_FROM, O_TO, O_RW,
	    O_RW_AFTER, O_JSON, O_HELP };
	static const struct option opts[] = {
		{ "crushmap", required_argument, NULL, O_MAP },
		{ "crushmap-after", required_argument, NULL, O_AFTER },
		{ "rule", required_argument, NULL, O_RULE },
		{ "replicas", required_argument, NULL, O_REP },
		{ "num-rep", required_argument, NULL, O_REP },
		{ "from", required_argument, NULL, O_FROM },
		{ "min-x", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO },
		{ "max-x", required_argument, NULL, O_TO },
		{ "reweight", required_argument, NULL, O_RW },
		{ "reweight-after", required_argument, NULL, O_RW_AFTER },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	long long v;
	int ch;

	memset(a, 0, sizeof(*a));
	a->from = 0;
	a->to = compare ? 9999 : 1023;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case O_MAP:
			a->map = optarg;
			break;
		case O_AFTER:
			if (!compare)
				goto unknown;
			a->map_after = optarg;
			break;
		case O_RULE:
			a->rule = optarg;
			break;
		case O_REP:
			if (parse_ll(optarg, 1, PLC_CRUSH_MAX_RESULT, &v) < 0)
				return cli_usage_error("--replicas: \"%s\" is not "
				    "a number in 1..%d", optarg,
				    PLC_CRUSH_MAX_RESULT), -1;
			a->replicas = (long)v;
			break;
		case O_FROM:
		case O_TO:
			if (parse_ll(optarg, 0, UINT32_MAX, &v) < 0)
				return cli_usage_error("--%s: \"%s\" is not a "
				    "number in 0..%u", ch == O_FROM ? "from" :
				    "to", optarg, UINT32_MAX), -1;
			if (ch == O_FROM)
				a->from = v;
			else
				a->to = v;
			break;
		case O_RW:
			if (add_reweight("--reweight", optarg, a->rw,
			    &a->nrw) < 0)
				return -1;
			break;
		case O_RW_AFTER:
			if (!compare)
				goto unknown;
			if (add_reweight("--reweight-after", optarg,
			    a->rw_after, &a->nrw_after) < 0)
				return -1;
			break;
		case O_JSON:
			a->json = 1;
			break;
		case O_HELP:
			if (compare)
				compare_usage(stdout);
			else
				map_usage(stdout);
			return 1;
		default:
		unknown:
			if (compare)
				compare_usage(stderr);
			else
				map_usage(stderr);
			return cli_usage_error("unknown or incomplete option "
			    "\"%s\"", argv[optind - 1]), -1;
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument \"%s\"",
		    argv[optind]), -1;
	return check_args(a, compare);
}

/* The reweight vector: every linked device in, then the overrides of
 * rw1 and then rw2 (later ones win). */
static uint32_t *
make_weights(const struct plc_crush *c, const struct reweight *rw1, int n1,
    const struct reweight *rw2, int n2, int *n)
{
	int max = plc_crush_max_devices(c);
	uint32_t *w = calloc((size_t)max + 1, sizeof(*w));

	if (w == NULL)
		return NULL;
	for (int i = 0; i < max; i++)
		w[i] = plc_crush_item_name(c, i) ? 0x10000 : 0;
	for (int i = 0; i < n1; i++)
		if (rw1[i].id < max)
			w[rw1[i].id] = rw1[i].w;
	for (int i = 0; i < n2; i++)
		if (rw2[i].id < max)
			w[rw2[i].id] = rw2[i].w;
	*n = max;
	return w;
}

static struct plc_crush *
load_map(const char *path, const char *rule, int *ruleno)
{
	struct bl_err err;
	struct plc_crush *c = NULL;
	size_t len;
	char *text = bl_read_file(path, PLC_CRUSH_JSON_MAX, &len, &err);

	if (text != NULL && (c = plc_crush_from_json(text, len, &err)) ==
	    NULL)
		bl_err_wrap(&err, "%s", path);
	free(text);
	if (c == NULL) {
		cli_usage_error("bad crush map: %s", err.msg);
		return NULL;
	}
	*ruleno = plc_crush_find_rule(c, rule);
	if (*ruleno < 0) {
		cli_usage_error("%s: no rule named \"%s\"", path, rule);
		plc_crush_free(c);
		return NULL;
	}
	return c;
}

static int
crush_map(int argc, char **argv)
{
	struct map_args a;
	struct plc_crush *c;
	uint32_t *w = NULL;
	void *scratch = NULL;
	int ruleno, nw = 0, rc, out[PLC_CRUSH_MAX_RESULT];

	if ((rc = parse_args(argc, argv, &a, 0)) != 0)
		return rc > 0 ? CLI_OK : CLI_USAGE;
	if ((c = load_map(a.map, a.rule, &ruleno)) == NULL)
		return CLI_USAGE;
	if (check_reweights(c, a.map, "--reweight", a.rw, a.nrw) < 0) {
		plc_crush_free(c);
		return CLI_USAGE;
	}
	w = make_weights(c, a.rw, a.nrw, NULL, 0, &nw);
	scratch = malloc(plc_crush_scratch_size(c, (int)a.replicas));
	if (w == NULL || scratch == NULL) {
		fputs("ballastctl: out of memory\n", stderr);
		rc = CLI_FAILED;
		goto out;
	}
	plc_crush_scratch_init(c, (int)a.replicas, scratch);
	if (a.json) {
		/* The rule name came from the map; keep it valid JSON. */
		json_t *name = json_string(a.rule);
		char *q = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL;

		printf("{\"rule\":%s,\"replicas\":%ld,\"mappings\":[",
		    q ? q : "null", a.replicas);
		free(q);
		json_decref(name);
	}
	for (long long x = a.from; x <= a.to; x++) {
		int n = plc_crush_do_rule(c, ruleno, (uint32_t)x, out,
		    (int)a.replicas, w, nw, scratch);

		if (a.json)
			printf("%s{\"x\":%lld,\"items\":[", x > a.from ? "," :
			    "", x);
		else
			printf("%lld", x);
		for (int i = 0; i < n; i++) {
			const char *sep = a.json ? (i ? "," : "") : " ";

			if (out[i] == PLC_CRUSH_ITEM_NONE)
				printf("%s%s", sep, a.json ? "null" : "none");
			else
				printf("%s%d", sep, out[i]);
		}
		fputs(a.json ? "]}" : "\n", stdout);
	}
	if (a.json)
		fputs("]}\n", stdout);
	rc = fflush(stdout) == 0 ? CLI_OK : CLI_FAILED;
out:
	free(scratch);
	free(w);
	plc_crush_free(c);
	return rc;
}

static int
contains(const int *set, int n, int item)
{
	for (int i = 0; i < n; i++)
		if (set[i] == item)
			return 1;
	return 0;
}

/* Device d's crush weight scaled by its reweight w[d] (16.16). */
static double
eff_weight(const struct plc_crush *c, const uint32_t *w, int n, int d)
{
	double rw;

	if (d >= n)
		return 0;
	rw = w[d] >= 0x10000 ? 1.0 : (double)w[d] / 0x10000;
	return (double)plc_crush_item_weight(c, d) * rw;
}

struct compare_result {
	long long	inputs, changed;
	long long	replicas, moved;
	double		ideal;
	double		dev_stddev, dev_min, dev_max;	/* percent */
};

/* One side of a comparison: a map, its rule, reweights and scratch. */
struct side {
	struct plc_crush	*c;		/* owns */
	int			 rule;
	uint32_t		*w;		/* owns; reweights */
	int			 nw;
	void			*scratch;	/* owns */
};

/* Maps every input through both sides: the changes into res, each
 * device's replicas under the after map into count[0..max). */
static void
compare_count(const struct map_args *a, const struct side *b4,
    const struct side *af, long long *count, int max,
    struct compare_result *res)
{
	int oa[PLC_CRUSH_MAX_RESULT], ob[PLC_CRUSH_MAX_RESULT];

	for (long long x = a->from; x <= a->to; x++) {
		int n1 = plc_crush_do_rule(b4->c, b4->rule, (uint32_t)x, oa,
		    (int)a->replicas, b4->w, b4->nw, b4->scratch);
		int n2 = plc_crush_do_rule(af->c, af->rule, (uint32_t)x, ob,
		    (int)a->replicas, af->w, af->nw, af->scratch);
		int changed = n1 != n2;

		res->inputs++;
		for (int i = 0; i < n2; i++) {
			if (ob[i] == PLC_CRUSH_ITEM_NONE)
				continue;
			res->replicas++;
			if (ob[i] >= 0 && ob[i] < max)
				count[ob[i]]++;
			if (!contains(oa, n1, ob[i])) {
				res->moved++;
				changed = 1;
			}
		}
		res->changed += changed;
	}
}

/* Ideal: only the weight that changed moves, i.e. the growth of each
 * device's share of the total. A device's weight here is its crush
 * weight times its reweight: what it is meant to hold. Also each device's
 * deviation from what the after map means it to hold. */
static void
compare_ideal(const struct side *b4, const struct side *af,
    const long long *count, int max, struct compare_result *res)
{
	double tota = 0, totb = 0, sum2 = 0;
	int ndev = 0;

	for (int d = 0; d < max; d++) {
		tota += eff_weight(b4->c, b4->w, b4->nw, d);
		totb += eff_weight(af->c, af->w, af->nw, d);
	}
	res->dev_min = INFINITY;
	res->dev_max = -INFINITY;
	for (int d = 0; d < max; d++) {
		double sa_ = tota > 0 ?
		    eff_weight(b4->c, b4->w, b4->nw, d) / tota : 0;
		double sb_ = totb > 0 ?
		    eff_weight(af->c, af->w, af->nw, d) / totb : 0;
		double expect, dev;

		if (sb_ > sa_)
			res->ideal += sb_ - sa_;
		if (sb_ <= 0)
			continue;
		expect = sb_ * (double)res->replicas;
		dev = ((double)count[d] - expect) / expect * 100.0;
		sum2 += dev * dev;
		ndev++;
		if (dev < res->dev_min)
			res->dev_min = dev;
		if (dev > res->dev_max)
			res->dev_max = dev;
	}
	res->dev_stddev = ndev ? sqrt(sum2 / ndev) : 0;
	if (ndev == 0)
		res->dev_min = res->dev_max = 0;
}

static void
compare_print(const struct map_args *a, const struct compare_result *res)
{
	double frac_changed = res->inputs ?
	    (double)res->changed / (double)res->inputs : 0;
	double frac_moved = res->replicas ?
	    (double)res->moved / (double)res->replicas : 0;
	double ratio = res->ideal > 0 ? frac_moved / res->ideal : 0;

	if (a->json) {
		printf("{\"inputs\":%lld,\"inputs_changed\":%lld,"
		    "\"inputs_changed_fraction\":%.6f,"
		    "\"replicas\":%lld,\"replicas_moved\":%lld,"
		    "\"replicas_moved_fraction\":%.6f,"
		    "\"ideal_fraction\":%.6f,\"moved_over_ideal\":%.4f,"
		    "\"device_deviation_pct\":{\"stddev\":%.3f,"
		    "\"min\":%.3f,\"max\":%.3f}}\n",
		    res->inputs, res->changed, frac_changed, res->replicas,
		    res->moved, frac_moved, res->ideal, ratio,
		    res->dev_stddev, res->dev_min, res->dev_max);
		return;
	}
	printf("inputs:            %lld (x %lld..%lld), rule %s, "
	    "%ld replicas\n", res->inputs, a->from, a->to, a->rule,
	    a->replicas);
	printf("inputs changed:    %.4f (%lld of %lld)\n",
	    frac_changed, res->changed, res->inputs);
	printf("replicas moved:    %.4f (%lld of %lld)\n",
	    frac_moved, res->moved, res->replicas);
	printf("ideal moved:       %.4f (only the changed weight "
	    "moves)\n", res->ideal);
	if (res->ideal > 0)
		printf("moved / ideal:     %.3f\n", ratio);
	else
		printf("moved / ideal:     n/a (no weight "
		    "changed)\n");
	printf("device deviation:  stddev %.2f%%, min %+.2f%%, "
	    "max %+.2f%% (counts under the after map)\n",
	    res->dev_stddev, res->dev_min, res->dev_max);
}

static int
crush_compare(int argc, char **argv)
{
	struct map_args a;
	struct compare_result res;
	struct side b4, af;
	long long *count = NULL;
	int rc, max;

	memset(&b4, 0, sizeof(b4));
	memset(&af, 0, sizeof(af));
	if ((rc = parse_args(argc, argv, &a, 1)) != 0)
		return rc > 0 ? CLI_OK : CLI_USAGE;
	if ((b4.c = load_map(a.map, a.rule, &b4.rule)) == NULL)
		return CLI_USAGE;
	if ((af.c = load_map(a.map_after, a.rule, &af.rule)) == NULL) {
		plc_crush_free(b4.c);
		return CLI_USAGE;
	}
	/* --reweight names a device of the before map (the after map may
	 * have dropped it); --reweight-after one of the after map. */
	if (check_reweights(b4.c, a.map, "--reweight", a.rw, a.nrw) < 0 ||
	    check_reweights(af.c, a.map_after, "--reweight-after", a.rw_after,
	    a.nrw_after) < 0) {
		plc_crush_free(b4.c);
		plc_crush_free(af.c);
		return CLI_USAGE;
	}
	rc = CLI_FAILED;
	b4.w = make_weights(b4.c, a.rw, a.nrw, NULL, 0, &b4.nw);
	af.w = make_weights(af.c, a.rw, a.nrw, a.rw_after, a.nrw_after,
	    &af.nw);
	max = b4.nw > af.nw ? b4.nw : af.nw;
	count = calloc((size_t)max + 1, sizeof(*count));
	b4.scratch = malloc(plc_crush_scratch_size(b4.c, (int)a.replicas));
	af.scratch = malloc(plc_crush_scratch_size(af.c, (int)a.replicas));
	if (!b4.w || !af.w || !count || !b4.scratch || !af.scratch) {
		fputs("ballastctl: out of memory\n", stderr);
		goto out;
	}
	plc_crush_scratch_init(b4.c, (int)a.replicas, b4.scratch);
	plc_crush_scratch_init(af.c, (int)a.replicas, af.scratch);
	memset(&res, 0, sizeof(res));
	compare_count(&a, &b4, &af, count, max, &res);
	compare_ideal(&b4, &af, count, max, &res);
	compare_print(&a, &res);
	rc = fflush(stdout) == 0 ? CLI_OK : CLI_FAILED;
out:
	free(b4.scratch);
	free(af.scratch);
	free(count);
	free(b4.w);
	free(af.w);
	plc_crush_free(b4.c);
	plc_crush_free(af.c);
	return rc;
}

int
cli_crush_main(int argc, char **argv)
{
	if (argc < 2) {
		crush_usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		crush_usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "map") == 0)
		return crush_map(argc - 1, argv + 1);
	if (strcmp(argv[1], "compare") == 0)
		return crush_compare(argc - 1, argv + 1);
	crush_usage(stderr);
	return cli_usage_error("crush: unknown subcommand \"%s\"", argv[1]);
}
