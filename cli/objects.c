/* cli/objects.c - the objects CSV loaded for `ballastctl plan`, in two
 * parts at once when it is large (cli/objects.h). */
#include "cli/objects.h"

#include "lib/file.h"
#include "placement/objects_csv.h"
#include "placement/planner.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The duplicate check splits keys into 2^KEY_BITS parts by their top
 * bits, so that a part's table stays in cache; one table of every key was
 * a cache miss a row. */
#define KEY_BITS	10
#define KEY_PARTS	((size_t)1 << KEY_BITS)

/* Maps path read-only; an empty file maps to "" (*map NULL). Returns 1 if
 * path is not a regular file (a pipe: read it with bl_read_file()). */
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
	while (nc < need) {
		if (nc > SIZE_MAX / 4 / elem)
			return -1;
		nc *= 2;
	}
	if ((np = realloc(*p, nc * elem)) == NULL)
		return -1;
	*p = np;
	*cap = nc;
	return 0;
}

/* The arrays that grow with the rows are mappings of their own, grown
 * with mremap (no copy) and marked for transparent huge pages: faulting
 * them in 4 KiB at a time took a tenth of the run. */
#define BIG_ALIGN	((size_t)2 << 20)

static size_t
big_bytes(size_t cap, size_t elem)
{
	return (cap * elem + BIG_ALIGN - 1) & ~(BIG_ALIGN - 1);
}

static int
big_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t nc;
	void *np;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap : 65536;
	while (nc < need) {
		if (nc > SIZE_MAX / 4 / elem)
			return -1;
		nc *= 2;
	}
	if (*p == NULL)
		np = mmap(NULL, big_bytes(nc, elem), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	else
		np = mremap(*p, big_bytes(*cap, elem), big_bytes(nc, elem),
		    MREMAP_MAYMOVE);
	if (np == MAP_FAILED)
		return -1;
	(void)madvise(np, big_bytes(nc, elem), MADV_HUGEPAGE);
	*p = np;
	*cap = nc;
	return 0;
}

static void
big_free(void *p, size_t cap, size_t elem)
{
	if (p != NULL)
		(void)munmap(p, big_bytes(cap, elem));
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
affs_grow(struct cli_affs *a)
{
	size_t nc = a->cap ? a->cap * 2 : 1024;
	uint32_t *ni = calloc(nc, sizeof(*ni));

	if (ni == NULL)
		return -1;
	for (size_t g = 0; g < a->n; g++) {
		size_t i = mix(a->key[g], nc);

		while (ni[i] != 0)
			i = (i + 1) & (nc - 1);
		ni[i] = (uint32_t)g + 1;
	}
	free(a->idx);
	a->idx = ni;
	a->cap = nc;
	return 0;
}

/* The group of name ("" is none: 0), added if new, in *out; -1 when out
 * of memory. */
static int
affs_intern(struct cli_affs *a, const char *name, uint32_t *out)
{
	size_t i, len = strlen(name);
	uint64_t key;

	if (len == 0) {
		*out = 0;
		return 0;
	}
	if (2 * (a->n + 1) > a->cap && affs_grow(a) < 0)
		return -1;
	key = plc_object_key(name, len);
	for (i = mix(key, a->cap); a->idx[i] != 0; i = (i + 1) & (a->cap - 1)) {
		uint32_t g = a->idx[i] - 1;

		if (a->key[g] == key &&
		    strcmp(a->names + a->off[g], name) == 0) {
			*out = g + 1;
			return 0;
		}
	}
	if (grow((void **)&a->off, &a->off_cap, a->n + 1, sizeof(*a->off)) < 0)
		return -1;
	{
		/* key grows with off. */
		uint64_t *nk = realloc(a->key, a->off_cap * sizeof(*nk));

		if (nk == NULL)
			return -1;
		a->key = nk;
	}
	if (grow((void **)&a->names, &a->names_cap, a->names_len + len + 1,
	    1) < 0)
		return -1;
	memcpy(a->names + a->names_len, name, len + 1);
	a->off[a->n] = a->names_len;
	a->names_len += len + 1;
	a->key[a->n] = key;
	a->idx[i] = (uint32_t)++a->n;
	*out = (uint32_t)a->n;
	return 0;
}

static void
affs_release(struct cli_affs *a)
{
	free(a->idx);
	free(a->names);
	free(a->off);
	free(a->key);
	memset(a, 0, sizeof(*a));
}

static int
part_init(struct cli_objs_part *pt, struct cli_objs *o, size_t from)
{
	memset(pt, 0, sizeof(*pt));
	pt->o = o;
	pt->from = from;
	pt->drop_off = from;
	pt->key_hist = calloc(KEY_PARTS, sizeof(*pt->key_hist));
	pt->node_copies = calloc(o->cl->n ? o->cl->n : 1,
	    sizeof(*pt->node_copies));
	return pt->key_hist != NULL && pt->node_copies != NULL ? 0 : -1;
}

static void
part_release(struct cli_objs_part *pt)
{
	big_free(pt->rows, pt->cap, sizeof(*pt->rows));
	big_free(pt->keys, pt->keys_cap, sizeof(*pt->keys));
	big_free(pt->copies, pt->copies_cap, sizeof(*pt->copies));
	big_free(pt->aff, pt->aff_cap, sizeof(*pt->aff));
	free(pt->key_hist);
	free(pt->node_copies);
	affs_release(&pt->affs);
	memset(pt, 0, sizeof(*pt));
}

static int
on_row(const struct plc_csv_row *r, void *arg, struct bl_err *err)
{
	struct cli_objs_part *pt = arg;
	struct cli_objs *o = pt->o;
	struct cli_row *w;
	uint64_t key = plc_object_key(r->id, r->id_len);
	uint32_t g;

	/* Duplicate ids are found after the whole file is read
	 * (check_duplicates). */
	if (big_grow((void **)&pt->rows, &pt->cap, pt->n + 1,
	    sizeof(*pt->rows)) < 0 || big_grow((void **)&pt->keys,
	    &pt->keys_cap, pt->n + 1, sizeof(*pt->keys)) < 0)
		goto nomem;
	if (big_grow((void **)&pt->copies, &pt->copies_cap,
	    pt->copies_len + r->ncopies, sizeof(uint32_t)) < 0)
		goto nomem;
	w = &pt->rows[pt->n];
	memset(w, 0, sizeof(*w));
	w->size = r->size;
	w->reads = r->reads_per_hour;
	w->dcmask = r->allowed_dcs;
	w->pinned = (uint8_t)r->pinned;
	w->ncopies = (uint8_t)r->ncopies;
	w->start = r->start;
	if (affs_intern(&pt->affs, r->affinity, &g) < 0)
		goto nomem;
	if (g != 0 || pt->aff != NULL) {
		/* a fresh mapping is zeros: the rows before have none */
		if (big_grow((void **)&pt->aff, &pt->aff_cap, pt->n + 1,
		    sizeof(*pt->aff)) < 0)
			goto nomem;
		pt->aff[pt->n] = g;
	}
	for (size_t k = 0; k < r->ncopies; k++)
		pt->node_copies[r->copies[k]]++;
	memcpy(pt->copies + pt->copies_len, r->copies,
	    r->ncopies * sizeof(uint32_t));
	pt->copies_len += r->ncopies;
	if (g != 0)
		pt->aff_copies += r->ncopies;
	pt->keys[pt->n++] = key;
	pt->key_hist[key >> (64 - KEY_BITS)]++;
	/* Give parsed pages of the mapping back every 64 MiB, so the file
	 * does not stay in our RSS next to the rows made from it; an id read
	 * again later faults its page back in from the page cache. */
	if (o->map != NULL && r->start - pt->drop_off >= (64u << 20)) {
		size_t end = r->start & ~(size_t)((1u << 20) - 1);

		(void)madvise(o->map + pt->drop_off, end - pt->drop_off,
		    MADV_DONTNEED);
		pt->drop_off = end;
	}
	return 0;
nomem:
	return bl_err_set(err, BL_ENOMEM, "%s: out of memory", o->file);
}

/* The second part's parse, on its own thread. */
static void *
part_run(void *arg)
{
	struct cli_objs_part *pt = arg;
	struct cli_objs *o = pt->o;

	bl_err_clear(&pt->err);
	pt->rc = plc_objects_csv_parse_from(o->csv, o->csv_len, pt->from, 0,
	    o->cl, o->file, on_row, pt, &pt->err);
	return NULL;
}

/* Row h (file order) and its key. */
static const struct cli_row *
row_at(const struct cli_objs *o, size_t h, uint64_t *key)
{
	size_t p = 0;

	while (p + 1 < o->nparts && h >= o->part[p].n)
		h -= o->part[p++].n;
	if (key != NULL)
		*key = o->part[p].keys[h];
	return &o->part[p].rows[h];
}

int
cli_objs_next(const struct cli_objs *o, struct cli_objs_iter *it,
    struct cli_obj *out)
{
	const struct cli_objs_part *pt;

	while (it->part < o->nparts && it->r >= o->part[it->part].n) {
		it->part++;
		it->r = 0;
		it->at = 0;
	}
	if (it->part >= o->nparts)
		return 0;
	pt = &o->part[it->part];
	out->row = &pt->rows[it->r];
	out->key = pt->keys[it->r];
	out->copies = pt->copies + it->at;
	out->aff = pt->aff != NULL ? pt->aff[it->r] : 0;
	it->at += out->row->ncopies;
	it->r++;
	return 1;
}

/* Parses part 0 (and part 1 from from, if from is not 0). */
static int
parse_parts(struct cli_objs *o, size_t from, struct bl_err *err)
{
	struct cli_objs_part *p0 = &o->part[0], *p1 = &o->part[1];
	pthread_t t;
	int started = 0, rc;

	if (part_init(p0, o, 0) < 0 || (from != 0 && part_init(p1, o,
	    from) < 0))
		return bl_err_set(err, BL_ENOMEM, "%s: out of memory",
		    o->file);
	o->nparts = from != 0 ? 2 : 1;
	if (from != 0 && pthread_create(&t, NULL, part_run, p1) == 0)
		started = 1;
	else if (from != 0)
		part_run(p1);
	rc = plc_objects_csv_parse(o->csv, from != 0 ? from : o->csv_len,
	    o->cl, o->file, on_row, p0, err);
	if (started)
		(void)pthread_join(t, NULL);
	if (rc == 0 && from != 0 && p1->rc < 0) {
		*err = p1->err;
		rc = -1;
	}
	return rc;
}

/* Folds part 1 into part 0's totals and groups. */
static int
parts_merge(struct cli_objs *o)
{
	struct cli_objs_part *p0 = &o->part[0], *p1 = &o->part[1];
	uint32_t *remap;

	o->n = p0->n;
	if (o->nparts < 2)
		return 0;
	o->n += p1->n;
	for (size_t b = 0; b < KEY_PARTS; b++)
		p0->key_hist[b] += p1->key_hist[b];
	for (size_t i = 0; i < o->cl->n; i++)
		p0->node_copies[i] += p1->node_copies[i];
	p0->aff_copies += p1->aff_copies;
	if (p1->affs.n == 0)
		return 0;
	/* Part 1 numbered its groups itself: renumber them as part 0's. */
	if ((remap = malloc(p1->affs.n * sizeof(*remap))) == NULL)
		return -1;
	for (size_t g = 0; g < p1->affs.n; g++)
		if (affs_intern(&p0->affs, p1->affs.names + p1->affs.off[g],
		    &remap[g]) < 0) {
			free(remap);
			return -1;
		}
	for (size_t r = 0; r < p1->n; r++)
		if (p1->aff[r] != 0)
			p1->aff[r] = remap[p1->aff[r] - 1];
	free(remap);
	affs_release(&p1->affs);
	return 0;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
shared_add(uint64_t **dup, size_t *n, size_t *cap, uint64_t k)
{
	if (grow((void **)dup, cap, *n + 1, sizeof(**dup)) < 0)
		return -1;
	(*dup)[(*n)++] = k;
	return 0;
}

/* The keys that more than one row has, sorted and unique, in *dup (NULL
 * if none). Almost always none: each part of the keys is checked in one
 * pass, in cache. */
static int
shared_keys(const struct cli_objs *o, uint64_t **dup, size_t *ndup)
{
	const size_t *hist = o->part[0].key_hist;
	size_t *at = malloc((KEY_PARTS + 1) * sizeof(*at)), most = 0, tcap = 1;
	size_t nd = 0, dcap = 0, kcap = 0;
	uint64_t *keys = NULL, *tab = NULL, *d = NULL;
	int rc = -1;

	if (at == NULL || big_grow((void **)&keys, &kcap, o->n,
	    sizeof(*keys)) < 0)
		goto out;
	at[0] = 0;
	for (size_t b = 0; b < KEY_PARTS; b++) {
		if (hist[b] > most)
			most = hist[b];
		at[b + 1] = at[b] + hist[b];
	}
	for (size_t p = 0; p < o->nparts; p++)
		for (size_t r = 0; r < o->part[p].n; r++) {
			uint64_t k = o->part[p].keys[r];

			keys[at[k >> (64 - KEY_BITS)]++] = k;
		}
	/* at[b] is now where part b + 1 starts */
	while (tcap < 2 * most)
		tcap *= 2;
	if ((tab = malloc(tcap * sizeof(*tab))) == NULL)
		goto out;
	for (size_t b = 0, from = 0; b < KEY_PARTS; from = at[b++]) {
		size_t t = 1, zeros = 0, n = at[b] - from;

		if (n < 2)
			continue;
		while (t < 2 * n)
			t *= 2;
		memset(tab, 0, t * sizeof(*tab));
		for (size_t j = from; j < at[b]; j++) {
			uint64_t k = keys[j];
			size_t i;

			if (k == 0) {	/* the empty slot's value */
				if (++zeros == 2 && shared_add(&d, &nd, &dcap,
				    0) < 0)
					goto out;
				continue;
			}
			for (i = mix(k, t); tab[i] != 0 && tab[i] != k;
			    i = (i + 1) & (t - 1))
				;
			if (tab[i] == 0)
				tab[i] = k;
			else if (shared_add(&d, &nd, &dcap, k) < 0)
				goto out;
		}
	}
	if (nd > 0) {
		size_t u = 1;

		qsort(d, nd, sizeof(*d), u64_cmp);
		for (size_t i = 1; i < nd; i++)
			if (d[i] != d[u - 1])
				d[u++] = d[i];
		nd = u;
	}
	*dup = d;
	*ndup = nd;
	d = NULL;
	rc = 0;
out:
	free(at);
	big_free(keys, kcap, sizeof(*keys));
	free(tab);
	free(d);
	return rc;
}

/* Whether rows a and b have the same id; -1 when out of memory. */
static int
same_id(const struct cli_objs *o, size_t a, size_t b)
{
	char *x = plc_objects_csv_id(o->csv, o->csv_len,
	    row_at(o, a, NULL)->start);
	char *y = plc_objects_csv_id(o->csv, o->csv_len,
	    row_at(o, b, NULL)->start);
	int rc = x == NULL || y == NULL ? -1 : strcmp(x, y) == 0;

	free(x);
	free(y);
	return rc;
}

/* Refuses a file that names an object twice, with the line of the second
 * naming and of the first (the first such pair in file order). Only rows
 * whose key is shared (a duplicate, or a rare hash collision) are compared
 * by id. */
static int
check_duplicates(const struct cli_objs *o, struct bl_err *err)
{
	char *id;
	uint64_t *dup = NULL, key, xkey;
	size_t ndup = 0, nsame = 0, *same = NULL;
	int rc = -1, eq;

	if (o->n < 2)
		return 0;
	if (shared_keys(o, &dup, &ndup) < 0)
		goto nomem;
	if (ndup == 0)
		return 0;
	if ((same = malloc(o->n * sizeof(*same))) == NULL)
		goto nomem;
	for (size_t i = 0; i < o->n; i++) {
		(void)row_at(o, i, &key);
		if (bsearch(&key, dup, ndup, sizeof(*dup), u64_cmp) == NULL)
			continue;
		for (size_t k = 0; k < nsame; k++) {
			(void)row_at(o, same[k], &xkey);
			if (xkey != key)
				continue;
			if ((eq = same_id(o, same[k], i)) < 0)
				goto nomem;
			if (eq == 0)
				continue;
			id = plc_objects_csv_id(o->csv, o->csv_len,
			    row_at(o, i, NULL)->start);
			bl_err_set(err, BL_EINVAL, "%s:%zu: field id: "
			    "duplicate object id \"%s\" (first on line %zu)",
			    o->file, cli_objs_line(o, i), id != NULL ? id : "?",
			    cli_objs_line(o, same[k]));
			free(id);
			goto out;
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
	return rc;
}

static uint32_t *
coloc_slot(struct cli_objs *o, uint64_t key)
{
	size_t i;

	for (i = mix(key, o->coloc_cap); o->coloc_k[i] != 0;
	    i = (i + 1) & (o->coloc_cap - 1))
		if (o->coloc_k[i] == key + 1)
			return &o->coloc_v[i];
	o->coloc_k[i] = key + 1;
	return &o->coloc_v[i];
}

static int
coloc_build(struct cli_objs *o)
{
	struct cli_objs_iter it = { 0, 0, 0 };
	struct cli_obj x;

	o->coloc_cap = 1024;
	while (o->coloc_cap < 2 * o->part[0].aff_copies)
		o->coloc_cap *= 2;
	o->coloc_k = calloc(o->coloc_cap, sizeof(*o->coloc_k));
	o->coloc_v = calloc(o->coloc_cap, sizeof(*o->coloc_v));
	if (o->coloc_k == NULL || o->coloc_v == NULL)
		return -1;
	if (o->part[0].aff_copies == 0)
		return 0;
	while (cli_objs_next(o, &it, &x))
		for (size_t k = 0; x.aff != 0 && k < x.row->ncopies; k++)
			(*coloc_slot(o, (uint64_t)x.aff << 32 | x.copies[k]))++;
	return 0;
}

uint32_t
cli_objs_colocated(const struct cli_objs *o, uint32_t aff, uint32_t node)
{
	uint64_t key = (uint64_t)aff << 32 | node;

	for (size_t i = mix(key, o->coloc_cap); o->coloc_k[i] != 0;
	    i = (i + 1) & (o->coloc_cap - 1))
		if (o->coloc_k[i] == key + 1)
			return o->coloc_v[i] - 1;
	return 0;
}

/* Where the second part starts: after the first line end past the
 * middle, or 0 for one part. */
static size_t
split_point(const struct cli_objs *o, size_t split_min)
{
	const char *nl;

	if (o->csv_len < split_min || o->csv_len < 2)
		return 0;
	nl = memchr(o->csv + o->csv_len / 2, '\n', o->csv_len -
	    o->csv_len / 2);
	if (nl == NULL || (size_t)(nl + 1 - o->csv) >= o->csv_len)
		return 0;
	return (size_t)(nl + 1 - o->csv);
}

int
cli_objs_load(struct cli_objs *o, const char *path,
    const struct plc_cluster *cl, size_t split_min, struct bl_err *err)
{
	size_t from;
	int m;

	memset(o, 0, sizeof(*o));
	o->file = path;
	o->cl = cl;
	m = map_file(path, &o->map, &o->csv, &o->csv_len, err);
	if (m == 1 && (o->text = bl_read_file(path, 0, &o->csv_len,
	    err)) != NULL) {
		o->csv = o->text;
		m = 0;
	}
	if (m != 0)
		return -1;
	if (o->csv_len >= CLI_OBJS_TEXT_MAX)
		return bl_err_set(err, BL_EINVAL, "%s: larger than 1 TiB, the "
		    "most this reads", path);
	from = split_point(o, split_min);
	if (parse_parts(o, from, err) < 0) {
		if (from == 0)
			return -1;
		/* The guess was inside a quoted field, or a part found an
		 * error: parse it all in one pass, for the one-pass
		 * result or message. */
		part_release(&o->part[0]);
		part_release(&o->part[1]);
		bl_err_clear(err);
		if (parse_parts(o, 0, err) < 0)
			return -1;
	}
	if (parts_merge(o) < 0 || coloc_build(o) < 0)
		return bl_err_set(err, BL_ENOMEM, "%s: out of memory", path);
	if (check_duplicates(o, err) < 0)
		return -1;
	o->node_copies = o->part[0].node_copies;
	o->part[0].node_copies = NULL;
	/* The ids read from now on are a few, far apart: no read-around. */
	if (o->map != NULL)
		(void)madvise(o->map, o->csv_len, MADV_RANDOM);
	return 0;
}

void
cli_objs_release(struct cli_objs *o)
{
	for (size_t p = 0; p < 2; p++)
		part_release(&o->part[p]);
	if (o->map != NULL)
		(void)munmap(o->map, o->csv_len);
	free(o->text);
	free(o->node_copies);
	free(o->coloc_k);
	free(o->coloc_v);
	free(o->id);
	memset(o, 0, sizeof(*o));
}

const char *
cli_objs_id(struct cli_objs *o, size_t h)
{
	free(o->id);
	o->id = plc_objects_csv_id(o->csv, o->csv_len, row_at(o, h,
	    NULL)->start);
	return o->id != NULL ? o->id : "?";
}

size_t
cli_objs_line(const struct cli_objs *o, size_t h)
{
	return plc_objects_csv_line(o->csv, o->csv_len, row_at(o, h,
	    NULL)->start);
}
