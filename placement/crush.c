/* placement/crush.c - CRUSH maps: building, checking, and mapping inputs
 * exactly as libcrush's crush_do_rule() does.
 */
#include "placement/crush.h"
#include "placement/crush_draw.h"

#include <stdlib.h>
#include <string.h>

#define ITEM_UNDEF	0x7ffffffe	/* indep: not decided yet */

struct crush_bucket {
	int32_t		 id;
	int		 type;
	int		 alg;		/* enum plc_crush_alg */
	uint32_t	 size;
	char		*name;		/* owns */
	int32_t		*items;		/* owns; size entries */
	uint32_t	*weights;	/* owns; 16.16, size entries */
	int32_t		*hash_ids;	/* owns; straw2 hashes these; = items */
	uint32_t	 weight;	/* sum of weights */
	uint32_t	*sum_weights;	/* owns; list: prefix sums */
	uint32_t	*node_weights;	/* owns; tree: num_nodes entries */
	uint32_t	 num_nodes;	/* tree */
	size_t		 work_off;	/* permutation state in scratch */
};

struct crush_rule {
	char			*name;	/* owns */
	int			 len;
	struct plc_crush_step	*steps;	/* owns */
};

struct crush_type {
	int	 id;
	char	*name;	/* owns */
};

struct plc_crush {
	struct crush_bucket	**buckets;	/* owns; index -1-id */
	int			  max_buckets;
	char			**devices;	/* owns; names, index id */
	int			  max_devices;
	struct crush_rule	**rules;	/* owns; index id */
	int			  max_rules;
	struct crush_type	 *types;	/* owns */
	int			  ntypes;
	struct plc_crush_tunables tun;
	size_t			  work_words;	/* permutation state, uint32s */
	int			  finalized;
};

/* The per-call working memory, carved out of the caller's scratch. */
struct crush_work {
	int		*a, *b, *c;	/* result_max ints each */
	uint32_t	*perm;		/* per bucket: perm_x, perm_n, perm[] */
};

/* --- building ------------------------------------------------------------ */

struct plc_crush *
plc_crush_new(void)
{
	struct plc_crush *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	/* Ceph's "optimal" (jewel and later) tunables. */
	c->tun.choose_local_tries = 0;
	c->tun.choose_local_fallback_tries = 0;
	c->tun.choose_total_tries = 50;
	c->tun.chooseleaf_descend_once = 1;
	c->tun.chooseleaf_vary_r = 1;
	c->tun.chooseleaf_stable = 1;
	c->tun.straw_calc_version = 1;
	return c;
}

static void
bucket_free(struct crush_bucket *b)
{
	if (b == NULL)
		return;
	free(b->name);
	free(b->items);
	free(b->weights);
	free(b->hash_ids);
	free(b->sum_weights);
	free(b->node_weights);
	free(b);
}

void
plc_crush_free(struct plc_crush *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < c->max_buckets; i++)
		bucket_free(c->buckets[i]);
	free(c->buckets);
	for (int i = 0; i < c->max_devices; i++)
		free(c->devices[i]);
	free(c->devices);
	for (int i = 0; i < c->max_rules; i++) {
		if (c->rules[i] == NULL)
			continue;
		free(c->rules[i]->name);
		free(c->rules[i]->steps);
		free(c->rules[i]);
	}
	free(c->rules);
	for (int i = 0; i < c->ntypes; i++)
		free(c->types[i].name);
	free(c->types);
	free(c);
}

void
plc_crush_set_tunables(struct plc_crush *c, const struct plc_crush_tunables *t)
{
	c->tun = *t;
}

/* Grows a pointer array to hold index idx; new slots are NULL. */
static int
grow_ptrs(void ***arr, int *len, int idx)
{
	int n = *len;
	void **p;

	if (idx < n)
		return 0;
	while (n <= idx)
		n = n ? n * 2 : 16;
	p = realloc(*arr, (size_t)n * sizeof(*p));
	if (p == NULL)
		return -1;
	memset(p + *len, 0, (size_t)(n - *len) * sizeof(*p));
	*arr = p;
	*len = n;
	return 0;
}

static char *
dup_name(const char *name)
{
	return strdup(name ? name : "");
}

int
plc_crush_add_device(struct plc_crush *c, int id, const char *name,
    struct bl_err *err)
{
	int len = c->max_devices;

	if (id < 0 || id >= PLC_CRUSH_MAX_DEVICES)
		return bl_err_set(err, BL_EINVAL, "device id=%d: out of range "
		    "0..%d", id, PLC_CRUSH_MAX_DEVICES - 1);
	if (id < len && c->devices[id] != NULL)
		return bl_err_set(err, BL_EINVAL, "device id=%d: declared twice",
		    id);
	if (grow_ptrs((void ***)&c->devices, &len, id) < 0)
		return bl_err_set(err, BL_ENOMEM, "device id=%d: out of memory",
		    id);
	if ((c->devices[id] = dup_name(name)) == NULL)
		return bl_err_set(err, BL_ENOMEM, "device id=%d: out of memory",
		    id);
	/* max_devices is one past the highest declared id; the array may be
	 * longer. Keep the longer length for freeing. */
	c->max_devices = len;
	c->finalized = 0;
	return 0;
}

int
plc_crush_add_type(struct plc_crush *c, int id, const char *name,
    struct bl_err *err)
{
	struct crush_type *t;

	for (int i = 0; i < c->ntypes; i++) {
		if (c->types[i].id == id)
			return bl_err_set(err, BL_EINVAL, "type id=%d: declared "
			    "twice", id);
		if (strcmp(c->types[i].name, name) == 0)
			return bl_err_set(err, BL_EINVAL, "type name=%s: declared "
			    "twice", name);
	}
	t = realloc(c->types, (size_t)(c->ntypes + 1) * sizeof(*t));
	if (t == NULL)
		return bl_err_set(err, BL_ENOMEM, "type id=%d: out of memory", id);
	c->types = t;
	t[c->ntypes].id = id;
	if ((t[c->ntypes].name = dup_name(name)) == NULL)
		return bl_err_set(err, BL_ENOMEM, "type id=%d: out of memory", id);
	c->ntypes++;
	return 0;
}

int
plc_crush_add_bucket(struct plc_crush *c, int id, const char *name, int type,
    int alg, const int *items, const uint32_t *weights, int n,
    struct bl_err *err)
{
	struct crush_bucket *b;
	int idx = -1 - id;
	uint64_t sum = 0;

	if (id >= 0 || idx >= PLC_CRUSH_MAX_BUCKETS)
		return bl_err_set(err, BL_EINVAL, "bucket id=%d: must be in "
		    "-1..-%d", id, PLC_CRUSH_MAX_BUCKETS);
	if (alg < PLC_CRUSH_UNIFORM || alg > PLC_CRUSH_STRAW2 ||
	    alg == PLC_CRUSH_STRAW)
		return bl_err_set(err, BL_EINVAL, "bucket id=%d: unsupported "
		    "alg %d", id, alg);
	if (n < 0 || n > 65535)
		return bl_err_set(err, BL_EINVAL, "bucket id=%d: %d items is out "
		    "of range 0..65535", id, n);
	if (idx < c->max_buckets && c->buckets[idx] != NULL)
		return bl_err_set(err, BL_EINVAL, "bucket id=%d: declared twice",
		    id);
	for (int i = 0; i < n; i++)
		sum += weights[i];
	if (sum > UINT32_MAX)
		return bl_err_set(err, BL_EINVAL, "bucket id=%d: total weight "
		    "overflows 32 bits", id);
	if (alg == PLC_CRUSH_UNIFORM) {
		for (int i = 1; i < n; i++)
			if (weights[i] != weights[0])
				return bl_err_set(err, BL_EINVAL, "bucket id=%d: "
				    "uniform bucket items must weigh the same",
				    id);
	}
	if (grow_ptrs((void ***)&c->buckets, &c->max_buckets, idx) < 0)
		return bl_err_set(err, BL_ENOMEM, "bucket id=%d: out of memory",
		    id);
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return bl_err_set(err, BL_ENOMEM, "bucket id=%d: out of memory",
		    id);
	b->id = id;
	b->type = type;
	b->alg = alg;
	b->size = (uint32_t)n;
	b->weight = (uint32_t)sum;
	b->name = dup_name(name);
	b->items = malloc(((size_t)n + 1) * sizeof(*b->items));
	b->hash_ids = malloc(((size_t)n + 1) * sizeof(*b->hash_ids));
	b->weights = malloc(((size_t)n + 1) * sizeof(*b->weights));
	if (!b->name || !b->items || !b->hash_ids || !b->weights) {
		bucket_free(b);
		return bl_err_set(err, BL_ENOMEM, "bucket id=%d: out of memory",
		    id);
	}
	for (int i = 0; i < n; i++) {
		b->items[i] = items[i];
		b->hash_ids[i] = items[i];
		b->weights[i] = weights[i];
	}
	c->buckets[idx] = b;
	c->finalized = 0;
	return 0;
}

static struct crush_bucket *
bucket_get(const struct plc_crush *c, int id)
{
	int idx = -1 - id;

	if (id >= 0 || idx >= c->max_buckets)
		return NULL;
	return c->buckets[idx];
}

int
plc_crush_set_hash_ids(struct plc_crush *c, int bucket_id, const int *ids,
    int n, struct bl_err *err)
{
	struct crush_bucket *b = bucket_get(c, bucket_id);

	if (b == NULL)
		return bl_err_set(err, BL_ENOENT, "bucket id=%d: unknown",
		    bucket_id);
	if (b->alg != PLC_CRUSH_STRAW2)
		return bl_err_set(err, BL_EINVAL, "bucket id=%d: hash ids need a "
		    "straw2 bucket", bucket_id);
	if ((uint32_t)n != b->size)
		return bl_err_set(err, BL_EINVAL, "bucket id=%d: %d hash ids for "
		    "%u items", bucket_id, n, b->size);
	for (int i = 0; i < n; i++)
		b->hash_ids[i] = ids[i];
	return 0;
}

int
plc_crush_add_rule(struct plc_crush *c, int id, const char *name,
    const struct plc_crush_step *steps, int n, struct bl_err *err)
{
	struct crush_rule *r;

	if (id < 0 || id > 255)
		return bl_err_set(err, BL_EINVAL, "rule id=%d: out of range "
		    "0..255", id);
	if (n < 0 || n > 1024)
		return bl_err_set(err, BL_EINVAL, "rule id=%d: %d steps is out of "
		    "range 0..1024", id, n);
	if (id < c->max_rules && c->rules[id] != NULL)
		return bl_err_set(err, BL_EINVAL, "rule id=%d: declared twice",
		    id);
	if (name != NULL && plc_crush_find_rule(c, name) >= 0)
		return bl_err_set(err, BL_EINVAL, "rule name=%s: declared twice",
		    name);
	if (grow_ptrs((void ***)&c->rules, &c->max_rules, id) < 0 ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return bl_err_set(err, BL_ENOMEM, "rule id=%d: out of memory", id);
	r->name = dup_name(name);
	r->steps = malloc(((size_t)n + 1) * sizeof(*r->steps));
	if (r->name == NULL || r->steps == NULL) {
		free(r->name);
		free(r->steps);
		free(r);
		return bl_err_set(err, BL_ENOMEM, "rule id=%d: out of memory", id);
	}
	memcpy(r->steps, steps, (size_t)n * sizeof(*steps));
	r->len = n;
	c->rules[id] = r;
	c->finalized = 0;
	return 0;
}

/* Tree buckets keep node weights in an implicit binary tree: leaf i is
 * node 2i+1, and each inner node holds the sum of its subtree. */
static int
tree_height(uint32_t n)
{
	int h = 0;

	while ((n & 1) == 0) {
		h++;
		n >>= 1;
	}
	return h;
}

static uint32_t
tree_parent(uint32_t n)
{
	int h = tree_height(n);

	if (n & (1u << (h + 1)))
		return n - (1u << h);
	return n + (1u << h);
}

static int
bucket_prepare(struct crush_bucket *b)
{
	if (b->alg == PLC_CRUSH_LIST) {
		uint32_t sum = 0;

		free(b->sum_weights);
		b->sum_weights = malloc(((size_t)b->size + 1) * sizeof(uint32_t));
		if (b->sum_weights == NULL)
			return -1;
		for (uint32_t i = 0; i < b->size; i++) {
			sum += b->weights[i];
			b->sum_weights[i] = sum;
		}
	} else if (b->alg == PLC_CRUSH_TREE) {
		int depth = 0;

		if (b->size > 0) {
			depth = 1;
			for (uint32_t t = b->size - 1; t; t >>= 1)
				depth++;
		}
		b->num_nodes = depth ? 1u << depth : 0;
		free(b->node_weights);
		b->node_weights = calloc((size_t)b->num_nodes + 1,
		    sizeof(uint32_t));
		if (b->node_weights == NULL)
			return -1;
		for (uint32_t i = 0; i < b->size; i++) {
			uint32_t node = ((i + 1) << 1) - 1;

			b->node_weights[node] = b->weights[i];
			for (int j = 1; j < depth; j++) {
				node = tree_parent(node);
				b->node_weights[node] += b->weights[i];
			}
		}
	}
	return 0;
}

/* Every item must exist, and no bucket may have two parents: fills
 * parent[] (bucket index -> index of the bucket holding it). */
static int
check_items(const struct plc_crush *c, int *parent, struct bl_err *err)
{
	for (int i = 0; i < c->max_buckets; i++) {
		struct crush_bucket *b = c->buckets[i];

		if (b == NULL)
			continue;
		for (uint32_t j = 0; j < b->size; j++) {
			int item = b->items[j];

			if (item >= 0) {
				if (item >= c->max_devices ||
				    c->devices[item] == NULL)
					return bl_err_set(err, BL_EINVAL,
					    "bucket id=%d item %u: dangling "
					    "device id %d", b->id, j, item);
				continue;
			}
			if (bucket_get(c, item) == NULL)
				return bl_err_set(err, BL_EINVAL,
				    "bucket id=%d item %u: dangling bucket "
				    "id %d", b->id, j, item);
			if (item == b->id)
				return bl_err_set(err, BL_EINVAL,
				    "bucket id=%d: contains itself (cycle)",
				    b->id);
			if (parent[-1 - item] != -1)
				return bl_err_set(err, BL_EINVAL,
				    "bucket id=%d: used twice, in buckets %d "
				    "and %d", item, -1 - parent[-1 - item],
				    b->id);
			parent[-1 - item] = i;
		}
	}
	return 0;
}

/* Levels below the roots into level[]: walk up each chain once; a chain
 * that comes back to itself is a cycle. path[] is scratch. */
static int
set_levels(const struct plc_crush *c, const int *parent, int *level,
    int *path, struct bl_err *err)
{
	for (int i = 0; i < c->max_buckets; i++) {
		int n = 0, at = i, base;

		if (c->buckets[i] == NULL || level[i] >= 0)
			continue;
		while (at >= 0 && level[at] < 0) {
			if (level[at] == -2)
				return bl_err_set(err, BL_EINVAL,
				    "bucket id=%d: cycle through its "
				    "ancestors", -1 - at);
			level[at] = -2;		/* on the current path */
			path[n++] = at;
			at = parent[at];
		}
		base = at >= 0 ? level[at] + 1 : 0;
		while (n > 0) {
			level[path[--n]] = base++;
			if (base - 1 > PLC_CRUSH_MAX_DEPTH)
				return bl_err_set(err, BL_EINVAL,
				    "bucket id=%d: nested %d levels deep, "
				    "past the limit of %d", -1 - path[n],
				    base - 1, PLC_CRUSH_MAX_DEPTH);
		}
	}
	return 0;
}

/* Rules may take only existing items. */
static int
check_rules(const struct plc_crush *c, struct bl_err *err)
{
	for (int r = 0; r < c->max_rules; r++) {
		struct crush_rule *rule = c->rules[r];

		if (rule == NULL)
			continue;
		for (int s = 0; s < rule->len; s++) {
			const struct plc_crush_step *st = &rule->steps[s];

			if (st->op != PLC_CRUSH_TAKE)
				continue;
			if (st->arg1 >= 0 ? (st->arg1 >= c->max_devices ||
			    c->devices[st->arg1] == NULL) :
			    bucket_get(c, st->arg1) == NULL)
				return bl_err_set(err, BL_EINVAL,
				    "rule %s step %d: takes unknown item %d",
				    rule->name, s, st->arg1);
		}
	}
	return 0;
}

int
plc_crush_finalize(struct plc_crush *c, struct bl_err *err)
{
	int nb = c->max_buckets, rc = -1;
	int *parent = NULL, *level = NULL, *path = NULL;
	size_t words = 0;

	parent = malloc(((size_t)nb + 1) * sizeof(int));
	level = malloc(((size_t)nb + 1) * sizeof(int));
	path = malloc(((size_t)nb + 1) * sizeof(int));
	if (!parent || !level || !path) {
		bl_err_set(err, BL_ENOMEM, "crush map: out of memory");
		goto out;
	}
	for (int i = 0; i < nb; i++) {
		parent[i] = -1;
		level[i] = -1;
	}
	if (check_items(c, parent, err) < 0 ||
	    set_levels(c, parent, level, path, err) < 0 ||
	    check_rules(c, err) < 0)
		goto out;
	for (int i = 0; i < nb; i++) {
		struct crush_bucket *b = c->buckets[i];

		if (b == NULL)
			continue;
		if (bucket_prepare(b) < 0) {
			bl_err_set(err, BL_ENOMEM, "crush map: out of memory");
			goto out;
		}
		b->work_off = words;
		words += 2 + (size_t)b->size;
	}
	c->work_words = words;
	c->finalized = 1;
	rc = 0;
out:
	free(parent);
	free(level);
	free(path);
	return rc;
}

/* --- lookups --------------------------------------------------------------- */

int
plc_crush_find_rule(const struct plc_crush *c, const char *name)
{
	for (int i = 0; i < c->max_rules; i++)
		if (c->rules[i] && strcmp(c->rules[i]->name, name) == 0)
			return i;
	return -1;
}

int
plc_crush_find_type(const struct plc_crush *c, const char *name)
{
	for (int i = 0; i < c->ntypes; i++)
		if (strcmp(c->types[i].name, name) == 0)
			return c->types[i].id;
	return -1;
}

const char *
plc_crush_item_name(const struct plc_crush *c, int id)
{
	struct crush_bucket *b;

	if (id >= 0)
		return id < c->max_devices ? c->devices[id] : NULL;
	b = bucket_get(c, id);
	return b ? b->name : NULL;
}

int
plc_crush_max_devices(const struct plc_crush *c)
{
	int n = c->max_devices;

	while (n > 0 && c->devices[n - 1] == NULL)
		n--;
	return n;
}

uint32_t
plc_crush_item_weight(const struct plc_crush *c, int id)
{
	for (int i = 0; i < c->max_buckets; i++) {
		struct crush_bucket *b = c->buckets[i];

		if (b == NULL)
			continue;
		for (uint32_t j = 0; j < b->size; j++)
			if (b->items[j] == id)
				return b->weights[j];
	}
	return 0;
}

/* --- mapping --------------------------------------------------------------- */

size_t
plc_crush_scratch_size(const struct plc_crush *c, int result_max)
{
	return 3 * (size_t)result_max * sizeof(int) +
	    c->work_words * sizeof(uint32_t);
}

void
plc_crush_scratch_init(const struct plc_crush *c, int result_max,
    void *scratch)
{
	uint32_t *perm = (uint32_t *)((int *)scratch + 3 * result_max);

	for (int i = 0; i < c->max_buckets; i++) {
		struct crush_bucket *b = c->buckets[i];

		if (b == NULL)
			continue;
		perm[b->work_off] = 0;		/* perm_x */
		perm[b->work_off + 1] = 0;	/* perm_n: nothing cached */
	}
}

/* A random permutation of the bucket's items, computed lazily up to the
 * position asked for; r = 0 is the common case and costs one hash. */
static int
bucket_perm_choose(const struct crush_bucket *b, uint32_t *w, uint32_t x,
    int r)
{
	uint32_t *perm_x = &w[0], *perm_n = &w[1], *perm = &w[2];
	uint32_t pr = (uint32_t)r % b->size, s;

	if (*perm_x != x || *perm_n == 0) {
		*perm_x = x;
		if (pr == 0) {
			s = plc_crush_hash3(x, (uint32_t)b->id, 0) % b->size;
			perm[0] = s;
			*perm_n = 0xffff;	/* only perm[0] is valid */
			return b->items[s];
		}
		for (uint32_t i = 0; i < b->size; i++)
			perm[i] = i;
		*perm_n = 0;
	} else if (*perm_n == 0xffff) {
		/* Expand the r = 0 shortcut into a real permutation. */
		for (uint32_t i = 1; i < b->size; i++)
			perm[i] = i;
		perm[perm[0]] = 0;
		*perm_n = 1;
	}
	while (*perm_n <= pr) {
		uint32_t p = *perm_n;

		if (p < b->size - 1) {
			uint32_t i = plc_crush_hash3(x, (uint32_t)b->id, p) %
			    (b->size - p);

			if (i) {
				uint32_t t = perm[p + i];

				perm[p + i] = perm[p];
				perm[p] = t;
			}
		}
		(*perm_n)++;
	}
	s = perm[pr];
	return b->items[s];
}

static int
bucket_list_choose(const struct crush_bucket *b, uint32_t x, int r)
{
	for (int i = (int)b->size - 1; i >= 0; i--) {
		uint64_t w = plc_crush_hash4(x, (uint32_t)b->items[i],
		    (uint32_t)r, (uint32_t)b->id) & 0xffff;

		w = (w * b->sum_weights[i]) >> 16;
		if (w < b->weights[i])
			return b->items[i];
	}
	return b->items[0];
}

static int
bucket_tree_choose(const struct crush_bucket *b, uint32_t x, int r)
{
	uint32_t n = b->num_nodes >> 1;

	while ((n & 1) == 0) {
		uint32_t l, h = (uint32_t)tree_height(n);
		uint64_t t = (uint64_t)plc_crush_hash4(x, n, (uint32_t)r,
		    (uint32_t)b->id) * b->node_weights[n];

		t >>= 32;
		l = n - (1u << (h - 1));
		if (t < b->node_weights[l])
			n = l;
		else
			n = n + (1u << (h - 1));
	}
	return b->items[n >> 1];
}

static int
bucket_straw2_choose(const struct crush_bucket *b, uint32_t x, int r)
{
	return b->items[plc_crush_straw2_pick(b->hash_ids, b->weights, b->size,
	    x, (uint32_t)r)];
}

static int
bucket_choose(const struct crush_bucket *b, struct crush_work *wk, uint32_t x,
    int r)
{
	switch (b->alg) {
	case PLC_CRUSH_STRAW2:
		return bucket_straw2_choose(b, x, r);
	case PLC_CRUSH_UNIFORM:
		return bucket_perm_choose(b, wk->perm + b->work_off, x, r);
	case PLC_CRUSH_LIST:
		return bucket_list_choose(b, x, r);
	case PLC_CRUSH_TREE:
		return bucket_tree_choose(b, x, r);
	}
	return b->items[0];
}

/* Whether device item is out for input x: reweighted devices are kept for
 * a weight-proportional share of inputs. */
static int
is_out(const uint32_t *weight, int weight_max, int item, uint32_t x)
{
	if (weight == NULL)
		return 0;
	if (item >= weight_max)
		return 1;
	if (weight[item] >= 0x10000)
		return 0;
	if (weight[item] == 0)
		return 1;
	if ((plc_crush_hash2(x, (uint32_t)item) & 0xffff) < weight[item])
		return 0;
	return 1;
}

struct choose_ctx {
	const struct plc_crush	*map;
	struct crush_work	*wk;
	const uint32_t		*weight;
	int			 weight_max;
	uint32_t		 x;
};

static int
item_type(const struct plc_crush *c, int item)
{
	return item < 0 ? c->buckets[-1 - item]->type : 0;
}

/* Chooses numrep distinct items of type, depth first: each replica keeps
 * retrying (a new r) until it finds an item that is not out and does not
 * collide with an earlier one. With recurse_to_leaf, also picks one device
 * under each chosen item into out2. Returns the new outpos. */
static int
choose_firstn(const struct choose_ctx *cx, const struct crush_bucket *bucket,
    int numrep, int type, int *out, int outpos, int out_size,
    unsigned tries, unsigned recurse_tries, unsigned local_retries,
    unsigned local_fallback_retries, int recurse_to_leaf, unsigned vary_r,
    unsigned stable, int *out2, int parent_r)
{
	const struct plc_crush *map = cx->map;
	int count = out_size;

	for (int rep = stable ? 0 : outpos; rep < numrep && count > 0; rep++) {
		unsigned ftotal = 0;
		int skip_rep = 0, retry_descent, item = 0;

		do {
			const struct crush_bucket *in = bucket;
			unsigned flocal = 0;
			int retry_bucket;

			retry_descent = 0;
			do {
				int collide = 0, reject, itemtype;
				int r = rep + parent_r + (int)ftotal;

				retry_bucket = 0;
				if (in->size == 0) {
					reject = 1;
					goto reject;
				}
				if (local_fallback_retries > 0 &&
				    flocal >= (in->size >> 1) &&
				    flocal > local_fallback_retries)
					item = bucket_perm_choose(in,
					    cx->wk->perm + in->work_off, cx->x, r);
				else
					item = bucket_choose(in, cx->wk, cx->x, r);
				if (item >= map->max_devices) {
					skip_rep = 1;
					break;
				}
				itemtype = item_type(map, item);
				if (itemtype != type) {
					if (item >= 0 ||
					    -1 - item >= map->max_buckets) {
						skip_rep = 1;
						break;
					}
					in = map->buckets[-1 - item];
					retry_bucket = 1;
					continue;
				}
				for (int i = 0; i < outpos; i++) {
					if (out[i] == item) {
						collide = 1;
						break;
					}
				}
				reject = 0;
				if (!collide && recurse_to_leaf) {
					if (item < 0) {
						int sub_r = vary_r ?
						    r >> (vary_r - 1) : 0;

						if (choose_firstn(cx,
						    map->buckets[-1 - item],
						    stable ? 1 : outpos + 1, 0,
						    out2, outpos, count,
						    recurse_tries, 0,
						    local_retries,
						    local_fallback_retries, 0,
						    vary_r, stable, NULL,
						    sub_r) <= outpos)
							reject = 1;
					} else {
						out2[outpos] = item;
					}
				}
				if (!reject && itemtype == 0)
					reject = is_out(cx->weight,
					    cx->weight_max, item, cx->x);
reject:
				if (reject || collide) {
					ftotal++;
					flocal++;
					if (collide && flocal <= local_retries)
						retry_bucket = 1;
					else if (local_fallback_retries > 0 &&
					    flocal <= in->size +
					    local_fallback_retries)
						retry_bucket = 1;
					else if (ftotal < tries)
						retry_descent = 1;
					else
						skip_rep = 1;
				}
			} while (retry_bucket);
		} while (retry_descent);

		if (skip_rep)
			continue;
		out[outpos++] = item;
		count--;
	}
	return outpos;
}

/* Chooses left items of type breadth first, keeping each position stable:
 * a position that fails is retried with a new r, and one that never
 * succeeds is left as a hole (PLC_CRUSH_ITEM_NONE). */
static void
choose_indep(const struct choose_ctx *cx, const struct crush_bucket *bucket,
    int left, int numrep, int type, int *out, int outpos, unsigned tries,
    unsigned recurse_tries, int recurse_to_leaf, int *out2, int parent_r)
{
	const struct plc_crush *map = cx->map;
	int endpos = outpos + left;

	for (int rep = outpos; rep < endpos; rep++) {
		out[rep] = ITEM_UNDEF;
		if (out2)
			out2[rep] = ITEM_UNDEF;
	}
	for (unsigned ftotal = 0; left > 0 && ftotal < tries; ftotal++) {
		for (int rep = outpos; rep < endpos; rep++) {
			const struct crush_bucket *in = bucket;

			if (out[rep] != ITEM_UNDEF)
				continue;
			for (;;) {
				int r = rep + parent_r, item, itemtype;
				int collide = 0;

				if (in->alg == PLC_CRUSH_UNIFORM &&
				    in->size % (uint32_t)numrep == 0)
					r += (numrep + 1) * (int)ftotal;
				else
					r += numrep * (int)ftotal;
				if (in->size == 0)
					break;
				item = bucket_choose(in, cx->wk, cx->x, r);
				if (item >= map->max_devices) {
					out[rep] = PLC_CRUSH_ITEM_NONE;
					if (out2)
						out2[rep] = PLC_CRUSH_ITEM_NONE;
					left--;
					break;
				}
				itemtype = item_type(map, item);
				if (itemtype != type) {
					if (item >= 0 ||
					    -1 - item >= map->max_buckets) {
						out[rep] = PLC_CRUSH_ITEM_NONE;
						if (out2)
							out2[rep] =
							    PLC_CRUSH_ITEM_NONE;
						left--;
						break;
					}
					in = map->buckets[-1 - item];
					continue;
				}
				for (int i = outpos; i < endpos; i++) {
					if (out[i] == item) {
						collide = 1;
						break;
					}
				}
				if (collide)
					break;
				if (recurse_to_leaf) {
					if (item < 0) {
						choose_indep(cx,
						    map->buckets[-1 - item], 1,
						    numrep, 0, out2, rep,
						    recurse_tries, 0, 0, NULL, r);
						if (out2[rep] == PLC_CRUSH_ITEM_NONE)
							break;
					} else {
						out2[rep] = item;
					}
				}
				if (itemtype == 0 && is_out(cx->weight,
				    cx->weight_max, item, cx->x))
					break;
				out[rep] = item;
				left--;
				break;
			}
		}
	}
	for (int rep = outpos; rep < endpos; rep++) {
		if (out[rep] == ITEM_UNDEF)
			out[rep] = PLC_CRUSH_ITEM_NONE;
		if (out2 && out2[rep] == ITEM_UNDEF)
			out2[rep] = PLC_CRUSH_ITEM_NONE;
	}
}

/* The retry counts a rule starts with (the tunables) and its set_* steps
 * change. */
struct rule_tries {
	int	choose_tries;
	int	choose_leaf_tries;
	int	local_retries;
	int	local_fallback_retries;
	int	vary_r;
	int	stable;
};

/* Applies one set_* step to t; other steps are ignored. */
static inline void
set_tries(struct rule_tries *t, const struct plc_crush_step *st)
{
	switch (st->op) {
	case PLC_CRUSH_SET_CHOOSE_TRIES:
		if (st->arg1 > 0)
			t->choose_tries = st->arg1;
		break;
	case PLC_CRUSH_SET_CHOOSELEAF_TRIES:
		if (st->arg1 > 0)
			t->choose_leaf_tries = st->arg1;
		break;
	case PLC_CRUSH_SET_CHOOSE_LOCAL_TRIES:
		if (st->arg1 >= 0)
			t->local_retries = st->arg1;
		break;
	case PLC_CRUSH_SET_CHOOSE_LOCAL_FALLBACK_TRIES:
		if (st->arg1 >= 0)
			t->local_fallback_retries = st->arg1;
		break;
	case PLC_CRUSH_SET_CHOOSELEAF_VARY_R:
		if (st->arg1 >= 0)
			t->vary_r = st->arg1;
		break;
	case PLC_CRUSH_SET_CHOOSELEAF_STABLE:
		if (st->arg1 >= 0)
			t->stable = st->arg1;
		break;
	default:
		break;
	}
}

/* One choose or chooseleaf step: from each of the wsize items in w, picks
 * into o (with leaves into o2 first, then copied into o). Returns how
 * many items o holds. */
static inline int
choose_step(const struct choose_ctx *cx, const struct rule_tries *t,
    const struct plc_crush_step *st, const int *w, int wsize, int *o,
    int *o2, int result_max)
{
	const struct plc_crush *c = cx->map;
	int firstn = st->op == PLC_CRUSH_CHOOSELEAF_FIRSTN ||
	    st->op == PLC_CRUSH_CHOOSE_FIRSTN;
	int recurse_to_leaf = st->op == PLC_CRUSH_CHOOSELEAF_FIRSTN ||
	    st->op == PLC_CRUSH_CHOOSELEAF_INDEP;
	int osize = 0;

	for (int i = 0; i < wsize; i++) {
		const struct crush_bucket *b;
		int numrep = st->arg1;

		/* numrep <= 0 is relative to result_max. */
		if (numrep <= 0) {
			numrep += result_max;
			if (numrep <= 0)
				continue;
		}
		if ((b = bucket_get(c, w[i])) == NULL)
			continue;
		if (firstn) {
			int recurse_tries;

			if (t->choose_leaf_tries)
				recurse_tries = t->choose_leaf_tries;
			else if (c->tun.chooseleaf_descend_once)
				recurse_tries = 1;
			else
				recurse_tries = t->choose_tries;
			osize += choose_firstn(cx, b, numrep, st->arg2,
			    o + osize, 0, result_max - osize,
			    (unsigned)t->choose_tries, (unsigned)recurse_tries,
			    (unsigned)t->local_retries,
			    (unsigned)t->local_fallback_retries,
			    recurse_to_leaf, (unsigned)t->vary_r,
			    (unsigned)t->stable, o2 + osize, 0);
		} else {
			int out_size = numrep < result_max - osize ?
			    numrep : result_max - osize;

			choose_indep(cx, b, out_size, numrep, st->arg2,
			    o + osize, 0, (unsigned)t->choose_tries,
			    t->choose_leaf_tries ?
			    (unsigned)t->choose_leaf_tries : 1,
			    recurse_to_leaf, o2 + osize, 0);
			osize += out_size;
		}
	}
	if (recurse_to_leaf)
		memcpy(o, o2, (size_t)osize * sizeof(*o));
	return osize;
}

int
plc_crush_do_rule(const struct plc_crush *c, int ruleno, uint32_t x,
    int *result, int result_max, const uint32_t *weight, int weight_max,
    void *scratch)
{
	struct crush_work wk;
	struct choose_ctx cx;
	struct rule_tries t;
	const struct crush_rule *rule;
	int *w, *o, *tmp;
	int wsize = 0, result_len = 0;

	if (!c->finalized || ruleno < 0 || ruleno >= c->max_rules ||
	    c->rules[ruleno] == NULL || result_max <= 0)
		return 0;
	rule = c->rules[ruleno];
	/* choose_total_tries counted retries, not tries: add one. */
	t.choose_tries = (int)c->tun.choose_total_tries + 1;
	t.choose_leaf_tries = 0;
	t.local_retries = (int)c->tun.choose_local_tries;
	t.local_fallback_retries = (int)c->tun.choose_local_fallback_tries;
	t.vary_r = (int)c->tun.chooseleaf_vary_r;
	t.stable = (int)c->tun.chooseleaf_stable;
	wk.a = scratch;
	wk.b = wk.a + result_max;
	wk.c = wk.b + result_max;
	wk.perm = (uint32_t *)(wk.c + result_max);
	cx.map = c;
	cx.wk = &wk;
	cx.weight = weight;
	cx.weight_max = weight_max;
	cx.x = x;
	w = wk.a;
	o = wk.b;

	for (int step = 0; step < rule->len; step++) {
		const struct plc_crush_step *st = &rule->steps[step];

		switch (st->op) {
		case PLC_CRUSH_TAKE:
			if ((st->arg1 >= 0 && st->arg1 < c->max_devices) ||
			    bucket_get(c, st->arg1) != NULL) {
				w[0] = st->arg1;
				wsize = 1;
			}
			break;
		case PLC_CRUSH_SET_CHOOSE_TRIES:
		case PLC_CRUSH_SET_CHOOSELEAF_TRIES:
		case PLC_CRUSH_SET_CHOOSE_LOCAL_TRIES:
		case PLC_CRUSH_SET_CHOOSE_LOCAL_FALLBACK_TRIES:
		case PLC_CRUSH_SET_CHOOSELEAF_VARY_R:
		case PLC_CRUSH_SET_CHOOSELEAF_STABLE:
			set_tries(&t, st);
			break;
		case PLC_CRUSH_CHOOSELEAF_FIRSTN:
		case PLC_CRUSH_CHOOSE_FIRSTN:
		case PLC_CRUSH_CHOOSELEAF_INDEP:
		case PLC_CRUSH_CHOOSE_INDEP:
			if (wsize == 0)
				break;
			wsize = choose_step(&cx, &t, st, w, wsize, o, wk.c,
			    result_max);
			tmp = o;
			o = w;
			w = tmp;
			break;
		case PLC_CRUSH_EMIT:
			for (int i = 0; i < wsize && result_len < result_max;
			    i++)
				result[result_len++] = w[i];
			wsize = 0;
			break;
		default:
			break;
		}
	}
	return result_len;
}
