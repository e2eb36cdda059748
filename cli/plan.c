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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

struct row {
	uint64_t	key;
	uint64_t	size;
	double		reads;
	uint64_t	dcmask;
	size_t		id_off;		/* into objs.ids */
	size_t		copies_off;	/* into objs.copies */
	uint32_t	aff;		/* affinity group + 1; 0: none */
	uint8_t		ncopies;
	uint8_t		pinned;
};

struct objs {
	const char	*file;		/* borrows */
	struct row	*rows;		/* owns */
	size_t		 n, cap;
	char		*ids;		/* owns: NUL-terminated ids */
	size_t		 ids_len, ids_cap;
	uint32_t	*copies;	/* owns */
	size_t		 copies_len, copies_cap;
	uint32_t	*line;		/* owns: per row */
	size_t		 line_cap;
	/* the mapped objects file; pages before drop_off were parsed and
	 * are given back to the kernel as the parser goes */
	char		*map;		/* owns: the mapping, or NULL */
	size_t		 map_len;
	size_t		 drop_off;
	/* affinity name -> group, names in affs */
	uint32_t	*aff_idx;	/* owns: group + 1 */
	size_t		 aff_cap;
	size_t		*aff_off;	/* owns: into ids */
	uint64_t	*aff_key;	/* owns */
	size_t		 n_aff, aff_off_cap;
};

/* Maps path read-only for one sequential pass; an empty file maps to
 * "" (*map NULL). Returns 1 if path is not a regular file (a pipe: read
 * it with bl_read_file()). */
static int
map_file(const char *path, char **map, const char **out, size_t *outlen,
    struct bl_err *err)
{
	struct stat st;
	void *m;
	int fd;

	*map = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return bl_err_set(err, BL_EIO, "%s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return bl_err_set(err, BL_EIO, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return 1;
	}
	if (st.st_size == 0) {
		close(fd);
		*out = "";
		*outlen = 0;
		return 0;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return bl_err_set(err, BL_EIO, "%s: %s", path,
		    strerror(errno));
	(void)madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
	*map = m;
	*out = m;
	*outlen = (size_t)st.st_size;
	return 0;
}

static int
grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t nc;
	void *np;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap : 1024;
	while (nc < need)
		nc *= 2;
	if ((np = realloc(*p, nc * elem)) == NULL)
		return -1;
	*p = np;
	*cap = nc;
	return 0;
}

static size_t
mix(uint64_t h, size_t cap)
{
	h ^= h >> 31;
	h *= 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	return (size_t)h & (cap - 1);
}

static int
aff_grow(struct objs *o)
{
	size_t nc = o->aff_cap ? o->aff_cap * 2 : 1024;
	uint32_t *ni = calloc(nc, sizeof(*ni));

	if (ni == NULL)
		return -1;
	for (size_t g = 0; g < o->n_aff; g++) {
		size_t i = mix(o->aff_key[g], nc);

		while (ni[i] != 0)
			i = (i + 1) & (nc - 1);
		ni[i] = (uint32_t)g + 1;
	}
	free(o->aff_idx);
	o->aff_idx = ni;
	o->aff_cap = nc;
	return 0;
}

/* Appends s to the string arena; returns its offset or (size_t)-1. */
static size_t
arena_add(struct objs *o, const char *s, size_t n)
{
	size_t off = o->ids_len;

	if (grow((void **)&o->ids, &o->ids_cap, o->ids_len + n + 1, 1) < 0)
		return (size_t)-1;
	memcpy(o->ids + off, s, n + 1);
	o->ids_len += n + 1;
	return off;
}

static int
intern_affinity(struct objs *o, const char *name, uint32_t *out)
{
	uint64_t key;
	size_t i, off;

	if (name[0] == '\0') {
		*out = 0;
		return 0;
	}
	if (2 * (o->n_aff + 1) > o->aff_cap && aff_grow(o) < 0)
		return -1;
	key = plc_object_key(name, strlen(name));
	for (i = mix(key, o->aff_cap); o->aff_idx[i] != 0;
	    i = (i + 1) & (o->aff_cap - 1)) {
		uint32_t g = o->aff_idx[i] - 1;

		if (o->aff_key[g] == key &&
		    strcmp(o->ids + o->aff_off[g], name) == 0) {
			*out = g + 1;
			return 0;
		}
	}
	if (grow((void **)&o->aff_off, &o->aff_off_cap, o->n_aff + 1,
	    sizeof(size_t)) < 0)
		return -1;
	{
		size_t kc = o->aff_off_cap;

		/* aff_key grows with aff_off. */
		uint64_t *nk = realloc(o->aff_key, kc * sizeof(*nk));

		if (nk == NULL)
			return -1;
		o->aff_key = nk;
	}
	if ((off = arena_add(o, name, strlen(name))) == (size_t)-1)
		return -1;
	o->aff_off[o->n_aff] = off;
	o->aff_key[o->n_aff] = key;
	o->aff_idx[i] = (uint32_t)++o->n_aff;
	*out = (uint32_t)o->n_aff;
	return 0;
}

static int
on_row(const struct plc_csv_row *r, void *arg, struct bl_err *err)
{
	struct objs *o = arg;
	struct row *w;
	uint64_t key = plc_object_key(r->id, r->id_len);

	if (o->n >= UINT32_MAX - 1 || r->line > UINT32_MAX)
		return bl_err_set(err, BL_EINVAL, "%s:%zu: more than %u rows or "
		    "lines", o->file, r->line, UINT32_MAX - 1);
	/* Duplicate ids are found after the whole file is read
	 * (check_duplicates): a hash probe per row was a cache miss per
	 * row. */
	if (grow((void **)&o->rows, &o->cap, o->n + 1, sizeof(*o->rows)) < 0)
		goto nomem;
	if (o->line_cap < o->cap) {
		uint32_t *nl = realloc(o->line, o->cap * sizeof(*nl));

		if (nl == NULL)
			goto nomem;
		o->line = nl;
		o->line_cap = o->cap;
	}
	if (grow((void **)&o->copies, &o->copies_cap,
	    o->copies_len + r->ncopies, sizeof(uint32_t)) < 0)
		goto nomem;
	w = &o->rows[o->n];
	memset(w, 0, sizeof(*w));
	w->key = key;
	w->size = r->size;
	w->reads = r->reads_per_hour;
	w->dcmask = r->allowed_dcs;
	w->pinned = (uint8_t)r->pinned;
	w->ncopies = (uint8_t)r->ncopies;
	w->copies_off = o->copies_len;
	memcpy(o->copies + o->copies_len, r->copies,
	    r->ncopies * sizeof(uint32_t));
	o->copies_len += r->ncopies;
	if ((w->id_off = arena_add(o, r->id, r->id_len)) == (size_t)-1 ||
	    intern_affinity(o, r->affinity, &w->aff) < 0)
		goto nomem;
	o->line[o->n++] = (uint32_t)r->line;
	/* Give parsed pages of the mapping back every 64 MiB, so the file
	 * does not stay in our RSS next to the rows made from it. */
	if (o->map != NULL && r->next - o->drop_off >= (64u << 20)) {
		size_t end = r->next & ~(size_t)((1u << 20) - 1);

		(void)madvise(o->map + o->drop_off, end - o->drop_off,
		    MADV_DONTNEED);
		o->drop_off = end;
	}
	return 0;
nomem:
	return bl_err_set(err, BL_ENOMEM, "%s: out of memory", o->file);
}

/* Sorts keys (n 64-bit values) in place, LSD radix, 16 bits a pass;
 * tmp holds n values. */
static void
radix_sort_u64(uint64_t *keys, uint64_t *tmp, size_t n)
{
	static size_t count[1 << 16];

	for (int shift = 0; shift < 64; shift += 16) {
		size_t sum = 0;
		uint64_t *t;

		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[(keys[i] >> shift) & 0xffff]++;
		for (size_t b = 0; b < (1 << 16); b++) {
			size_t c = count[b];

			count[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[(keys[i] >> shift) & 0xffff]++] = keys[i];
		t = keys;
		keys = tmp;
		tmp = t;
	}
	/* four passes: the sorted values are back in keys */
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Refuses a file that names an object twice, with the line of the second
 * naming and of the first (the first such pair in file order). Sorting the
 * keys once and comparing neighbours reads memory in order; only rows
 * whose key is shared (a duplicate, or a rare hash collision) are compared
 * by id. */
static int
check_duplicates(struct objs *o, struct bl_err *err)
{
	uint64_t *keys, *tmp, *dup = NULL;
	size_t ndup = 0, nsame = 0, *same = NULL;
	int rc = -1;

	if (o->n < 2)
		return 0;
	keys = malloc(o->n * sizeof(*keys));
	tmp = malloc(o->n * sizeof(*tmp));
	if (keys == NULL || tmp == NULL)
		goto nomem;
	for (size_t i = 0; i < o->n; i++)
		keys[i] = o->rows[i].key;
	radix_sort_u64(keys, tmp, o->n);
	free(tmp);
	tmp = NULL;
	/* the shared keys, unique and sorted, in place */
	for (size_t i = 1; i < o->n; i++)
		if (keys[i] == keys[i - 1] && (ndup == 0 ||
		    keys[ndup - 1] != keys[i]))
			keys[ndup++] = keys[i];
	dup = keys;
	if (ndup == 0) {
		free(keys);
		return 0;
	}
	if ((same = malloc(o->n * sizeof(*same))) == NULL)
		goto nomem;
	for (size_t i = 0; i < o->n; i++) {
		if (bsearch(&o->rows[i].key, dup, ndup, sizeof(*dup),
		    u64_cmp) == NULL)
			continue;
		for (size_t k = 0; k < nsame; k++) {
			const struct row *x = &o->rows[same[k]];

			if (x->key == o->rows[i].key && strcmp(o->ids +
			    x->id_off, o->ids + o->rows[i].id_off) == 0) {
				bl_err_set(err, BL_EINVAL, "%s:%u: field id: "
				    "duplicate object id \"%s\" (first on line "
				    "%u)", o->file, o->line[i], o->ids +
				    o->rows[i].id_off, o->line[same[k]]);
				goto out;
			}
		}
		same[nsame++] = i;
	}
	rc = 0;
	goto out;
nomem:
	bl_err_set(err, BL_ENOMEM, "%s: out of memory", o->file);
out:
	free(same);
	free(dup);
	free(tmp);
	return rc;
}

static void
objs_release(struct objs *o)
{
	if (o->map != NULL)
		(void)munmap(o->map, o->map_len);
	free(o->rows);
	free(o->ids);
	free(o->copies);
	free(o->line);
	free(o->aff_idx);
	free(o->aff_off);
	free(o->aff_key);
}

/* Colocation: per (affinity group, node), how many objects of the group
 * have a copy there. */
struct coloc {
	uint64_t	*k;	/* owns: (group << 32 | node) + 1; 0 empty */
	uint32_t	*v;	/* owns */
	size_t		 cap;
};

static uint32_t *
coloc_slot(struct coloc *c, uint64_t key)
{
	size_t i;

	for (i = mix(key, c->cap); c->k[i] != 0; i = (i + 1) & (c->cap - 1))
		if (c->k[i] == key + 1)
			return &c->v[i];
	c->k[i] = key + 1;
	return &c->v[i];
}

static int
coloc_build(struct coloc *c, const struct objs *o)
{
	size_t pairs = 0;

	for (size_t r = 0; r < o->n; r++)
		if (o->rows[r].aff != 0)
			pairs += o->rows[r].ncopies;
	c->cap = 1024;
	while (c->cap < 2 * pairs)
		c->cap *= 2;
	c->k = calloc(c->cap, sizeof(*c->k));
	c->v = calloc(c->cap, sizeof(*c->v));
	if (c->k == NULL || c->v == NULL)
		return -1;
	for (size_t r = 0; r < o->n; r++) {
		const struct row *w = &o->rows[r];

		if (w->aff == 0)
			continue;
		for (size_t k = 0; k < w->ncopies; k++)
			(*coloc_slot(c, (uint64_t)w->aff << 32 |
			    o->copies[w->copies_off + k]))++;
	}
	return 0;
}

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
	const struct objs *o = arg;

	return o->ids + o->rows[handle].id_off;
}

static int
print_json(const struct plc_cluster *cl, const struct objs *o,
    const struct plc_plan *plan)
{
	json_t *root = plc_plan_json(cl, plan, plan_id, (void *)o);
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
print_human(const struct plc_cluster *cl, const struct objs *o,
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
		    o->ids + o->rows[m->handle].id_off, cl->nodes[m->from].id,
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

/* Reads the objects CSV (mapped when it can be) into o. 0 or -1
 * (printed). */
static int
plan_load_objects(const char *path, const struct plc_cluster *cl,
    struct objs *o)
{
	const char *csv = NULL;
	struct bl_err err;
	char *text = NULL;
	size_t len;
	int m = map_file(path, &o->map, &csv, &len, &err), rc = -1;

	o->map_len = o->map != NULL ? len : 0;
	if (m == 1 && (text = bl_read_file(path, 0, &len, &err)) != NULL) {
		csv = text;
		m = 0;
	}
	o->file = path;
	if (m != 0)
		cli_usage_error("plan: %s", err.msg);
	else if (plc_objects_csv_parse(csv, len, cl, path, on_row, o,
	    &err) < 0 || check_duplicates(o, &err) < 0)
		cli_usage_error("plan: %s", err.msg);
	else if (o->map != NULL && munmap(o->map, len) < 0)
		cli_usage_error("plan: %s: %s", path, strerror(errno));
	else {
		o->map = NULL;
		o->map_len = 0;
		rc = 0;
	}
	free(text);
	return rc;
}

/* Plans the loaded objects: one plan to reach the target, with every
 * object at hand. Returns a CLI code. */
static int
plan_run(const struct plc_cluster *cl, const struct objs *o,
    const struct pol_policy *pol, int quiet, struct plc_plan *plan)
{
	struct plc_planner_opts opts;
	struct plc_planner *pl = NULL;
	struct coloc co = { NULL, NULL, 0 };
	uint32_t *caps = NULL;
	struct bl_err err;
	int rc = CLI_FAILED;

	if (coloc_build(&co, o) < 0 ||
	    (caps = calloc(cl->n ? cl->n : 1, sizeof(*caps))) == NULL) {
		cli_usage_error("plan: out of memory");
		goto out;
	}
	pol_planner_opts(pol, cl, quiet, 0, &opts);
	/* One plan to reach the target, not one cycle's: second moves of an
	 * object are planned now rather than deferred. */
	opts.one_move_per_object = 0;
	/* Offline, every object is at hand: a node keeps as many candidates
	 * as it holds copies, so the plan can reach its target in one go. */
	for (size_t i = 0; i < o->copies_len; i++)
		caps[o->copies[i]]++;
	opts.cand_per_source = SIZE_MAX;
	opts.cand_caps = caps;
	if ((pl = plc_planner_new(cl, &opts, &err)) == NULL) {
		cli_usage_error("plan: %s", err.msg);
		goto out;
	}
	for (size_t r = 0; r < o->n; r++) {
		const struct row *w = &o->rows[r];
		uint32_t coloc[PLC_COPIES_MAX];
		struct plc_object obj;

		for (size_t k = 0; k < w->ncopies; k++) {
			coloc[k] = 0;
			if (w->aff != 0)
				coloc[k] = *coloc_slot(&co, (uint64_t)w->aff <<
				    32 | o->copies[w->copies_off + k]) - 1;
		}
		memset(&obj, 0, sizeof(obj));
		obj.handle = r;
		obj.key = w->key;
		obj.size = w->size;
		obj.copies = o->copies + w->copies_off;
		obj.ncopies = w->ncopies;
		obj.colocated = coloc;
		obj.reads_per_hour = w->reads;
		obj.pinned = w->pinned;
		obj.allowed_dcs = w->dcmask;
		if (plc_planner_add(pl, &obj, &err) < 0) {
			cli_usage_error("plan: %s:%u: %s", o->file, o->line[r],
			    err.msg);
			rc = CLI_USAGE;
			goto out;
		}
	}
	if (plc_planner_run(pl, plan, &err) < 0)
		cli_usage_error("plan: %s", err.msg);
	else
		rc = CLI_OK;
out:
	plc_planner_free(pl);
	free(caps);
	free(co.k);
	free(co.v);
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
	struct objs o;
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
	if (plan_load_objects(objects_path, cl, &o) < 0)
		goto out;
	if ((rc = plan_run(cl, &o, &pol, quiet, &plan)) == CLI_OK)
		rc = json ? print_json(cl, &o, &plan) : print_human(cl, &o,
		    &plan);
out:
	plc_plan_release(&plan);
	objs_release(&o);
	plc_cluster_free(cl);
	return rc;
}
