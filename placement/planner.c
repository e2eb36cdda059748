/* placement/planner.c - the rebalancing planner (docs/planner.md).
 *
 * Two phases. Streaming: plc_planner_add() scores each copy that sits on an
 * over-full node and keeps, per such node, a bounded max-heap of the best
 * (lowest-gravity) candidates, trimmed to what the node could ever give.
 * Planning: plc_planner_run() sorts each node's candidates and repeatedly
 * takes the next one from the fullest node, choosing its destination by
 * straw2 among the eligible nodes weighted by their deficit, until the
 * projected imbalance reaches the target or a budget or the candidates
 * run out. Pure: no I/O, no clock, no allocation in plc_planner_add().
 */
#include "placement/planner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement/crush.h"

#define GIB	(1024.0 * 1024.0 * 1024.0)

struct cand {
	uint64_t	handle;
	uint64_t	key;
	uint64_t	size;
	uint64_t	dcmask;
	double		gravity;
	uint32_t	copies[PLC_COPIES_MAX];
	uint8_t		ncopies;
	uint8_t		src_slot;	/* the copy this candidate moves */
	uint8_t		pinned;
};

/* A candidate's place in its node's heap: what orders it (cand_cmp's
 * fields) and the slot of c that holds the rest. Half a candidate's size,
 * so that sifting touches half the memory. */
struct hent {
	double		gravity;
	uint64_t	size;
	uint64_t	key;
	uint64_t	handle;
	uint32_t	slot;
};

/* The candidates of one over-full node: while streaming, a max-heap
 * (worst on top) of hents over slots of c, the freed slots on a stack;
 * for planning, c[0..n) sorted best first. */
struct src {
	struct cand	*c;		/* borrows: a slice of the pool */
	struct hent	*h;		/* borrows: a slice of the hpool */
	uint32_t	*freed;		/* borrows: a slice of the fpool */
	size_t		 nfreed;
	size_t		 hw;		/* slots of c used so far */
	size_t		 n;
	size_t		 cap;
	uint64_t	 bytes;		/* sum of the sizes kept */
	uint64_t	 cover;		/* bytes worth keeping */
	size_t		 cur;		/* next to try, while planning */
	uint32_t	 node;
	double		 top_gravity;	/* c[0]'s, while streaming: the */
	uint64_t	 top_size;	/* reject test stays in this line */
};

struct pnode {
	uint64_t	cap;
	uint64_t	used;
	uint64_t	fill_limit;	/* plc_node_fill_limit() */
	double		latency;
	double		cheapest;	/* price of the cheapest move out */
	int32_t		hid;		/* straw2 id */
	int		in;		/* plc_node_takes() */
	int		dom[3];		/* domain ids by enum plc_domain */
	int		region;
	int		dc;		/* plc_cluster_dcs() index */
	int		src;		/* index into srcs, or -1 */
};

struct plc_planner {
	const struct plc_cluster	*cl;		/* borrows */
	struct plc_planner_opts		 o;
	struct pnode			*nodes;		/* owns */
	struct src			*srcs;		/* owns */
	size_t				 n_srcs;
	struct cand			*pool;		/* owns */
	struct hent			*hpool;		/* owns: per pool slot */
	uint32_t			*fpool;		/* owns: per pool slot */
	double				 max_price;
	struct plc_fill_stats		 before;
	/* scratch for plc_planner_run(), sized at creation */
	int32_t				*ids;		/* owns */
	uint32_t			*weights;	/* owns */
	uint32_t			*elig;		/* owns */
	double				*deficit;	/* owns */
	struct plc_planner_tally	 t;
	int				 ran;
};

uint64_t
plc_object_key(const char *id, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)id[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

int32_t
plc_node_hash_id(const char *id)
{
	uint64_t h = plc_object_key(id, strlen(id));

	return (int32_t)((uint32_t)(h ^ (h >> 32)) & 0x7fffffffu);
}

void
plc_planner_opts_init(struct plc_planner_opts *o)
{
	static const double prices[PLC_LINK_N] = { 0, 0, 0, 0.02, 0.09 };

	memset(o, 0, sizeof(*o));
	o->threshold = 0.10;
	o->target = 0.05;
	o->max_fill = 0.9;
	o->failure_domain = PLC_DOMAIN_HOST;
	o->protection = 0.9;
	o->weights = *plc_gravity_preset(PLC_GRAVITY_DEFAULT);
	memcpy(o->prices, prices, sizeof(prices));
	o->prefer_same_host = 1;
	o->max_moves = -1;
	o->max_egress_bytes = -1;
	o->max_cost = -1;
}

/* -1 if a is better (moves first) than b. Lower gravity first; at equal
 * gravity the bigger object (more balance per move), then the object key,
 * then the handle: a total order, so the result does not depend on the
 * order objects arrive in. */
static int
cand_cmp(const struct hent *a, const struct hent *b)
{
	if (a->gravity != b->gravity)
		return a->gravity < b->gravity ? -1 : 1;
	if (a->size != b->size)
		return a->size > b->size ? -1 : 1;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	if (a->handle != b->handle)
		return a->handle < b->handle ? -1 : 1;
	return 0;
}

static int
hent_qsort_cmp(const void *a, const void *b)
{
	return cand_cmp(a, b);
}

static void
heap_up(struct hent *h, size_t i)
{
	struct hent x = h[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (cand_cmp(&h[parent], &x) >= 0)
			break;
		h[i] = h[parent];
		i = parent;
	}
	h[i] = x;
}

static void
heap_down(struct hent *h, size_t n, size_t i)
{
	struct hent x = h[i];

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, big = l;

		if (l >= n)
			break;
		if (r < n && cand_cmp(&h[r], &h[l]) > 0)
			big = r;
		if (cand_cmp(&h[big], &x) <= 0)
			break;
		h[i] = h[big];
		i = big;
	}
	h[i] = x;
}

static void
heap_pop(struct src *s)
{
	s->bytes -= s->h[0].size;
	s->freed[s->nfreed++] = s->h[0].slot;
	s->h[0] = s->h[--s->n];
	if (s->n > 0)
		heap_down(s->h, s->n, 0);
}

static void
src_offer(struct src *s, const struct cand *c)
{
	struct hent e = { c->gravity, c->size, c->key, c->handle, 0 };

	/* Full, or already covered, and worse than the worst kept: it would
	 * be the first to go again. Most offers end here, on the cached top,
	 * without touching the heap. */
	if (s->n > 0 && (s->n >= s->cap || s->bytes >= s->cover) &&
	    (c->gravity > s->top_gravity || (c->gravity == s->top_gravity &&
	    c->size < s->top_size)))
		return;
	if (s->n > 0 && s->bytes >= s->cover && cand_cmp(&e, &s->h[0]) > 0)
		return;
	if (s->n < s->cap) {
		/* Fewer than cap are live, so a slot is free or unused. */
		e.slot = s->nfreed > 0 ? s->freed[--s->nfreed] :
		    (uint32_t)s->hw++;
		s->c[e.slot] = *c;
		s->h[s->n++] = e;
		s->bytes += c->size;
		heap_up(s->h, s->n - 1);
	} else if (cand_cmp(&e, &s->h[0]) < 0) {
		e.slot = s->h[0].slot;
		s->c[e.slot] = *c;
		s->bytes -= s->h[0].size;
		s->h[0] = e;
		s->bytes += c->size;
		heap_down(s->h, s->n, 0);
	} else
		return;
	/* Keep the fewest best candidates that still cover the bytes the
	 * node could give. */
	while (s->n > 1 && s->bytes - s->h[0].size >= s->cover)
		heap_pop(s);
	s->top_gravity = s->h[0].gravity;
	s->top_size = s->h[0].size;
}

/* Ends the streaming of s: c[0..n) becomes its candidates, best first. */
static int
src_sort(struct src *s)
{
	struct cand *t;

	if (s->n == 0)
		return 0;
	qsort(s->h, s->n, sizeof(*s->h), hent_qsort_cmp);
	if ((t = malloc(s->n * sizeof(*t))) == NULL)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		t[i] = s->c[s->h[i].slot];
	memcpy(s->c, t, s->n * sizeof(*t));
	free(t);
	return 0;
}

/* Gives each distinct string a small id in the order of first appearance:
 * an open-addressing table over borrowed keys, so that a cluster of
 * 10,000 hosts is interned in linear time. */
struct strtab {
	const char	**k;	/* borrows the strings; NULL is empty */
	int		 *v;
	size_t		  mask;
	int		  n;
};

static int
strtab_init(struct strtab *t, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	t->k = calloc(cap, sizeof(*t->k));
	t->v = calloc(cap, sizeof(*t->v));
	t->mask = cap - 1;
	t->n = 0;
	return t->k != NULL && t->v != NULL ? 0 : -1;
}

static void
strtab_release(struct strtab *t)
{
	free(t->k);
	free(t->v);
}

static int
intern(struct strtab *t, const char *key)
{
	uint64_t h = 14695981039346656037ull;	/* FNV-1a */
	size_t i;

	for (const unsigned char *c = (const unsigned char *)key; *c; c++)
		h = (h ^ *c) * 1099511628211ull;
	for (i = (size_t)h & t->mask; t->k[i] != NULL; i = (i + 1) & t->mask)
		if (strcmp(t->k[i], key) == 0)
			return t->v[i];
	t->k[i] = key;
	t->v[i] = t->n;
	return t->n++;
}

static int
link_of(const struct pnode *a, const struct pnode *b)
{
	if (a->region != b->region)
		return PLC_LINK_CROSS_REGION;
	if (a->dc != b->dc)
		return PLC_LINK_CROSS_DATACENTER;
	if (a->dom[PLC_DOMAIN_RACK] != b->dom[PLC_DOMAIN_RACK])
		return PLC_LINK_SAME_DATACENTER;
	if (a->dom[PLC_DOMAIN_HOST] != b->dom[PLC_DOMAIN_HOST])
		return PLC_LINK_SAME_RACK;
	return PLC_LINK_SAME_HOST;
}

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

/* Gives each node its ids: region, datacenter, and one per failure domain
 * level, equal for two nodes exactly when plc_same_domain() says that they
 * share that domain (the rule an evacuation's choice follows too). */
static int
build_nodes(struct plc_planner *p, struct bl_err *err)
{
	const struct plc_cluster *cl = p->cl;
	struct strtab t;
	char **keys;
	size_t n = cl->n;
	int rc = -1;

	t.k = NULL;
	t.v = NULL;
	keys = calloc(n ? n * 3 : 1, sizeof(*keys));
	if (keys == NULL || strtab_init(&t, n) < 0) {
		bl_err_set(err, BL_ENOMEM, "planner: out of memory");
		goto out;
	}
	/* The domain of each level is its whole path, as plc_same_domain()
	 * compares it; "\x1f" cannot appear in a sane name. */
	for (size_t i = 0; i < n; i++) {
		const struct plc_node *nd = &cl->nodes[i];

		if (asprintf(&keys[3 * i + 0], "%s\x1f%s\x1f%s\x1f%s",
		    nz(nd->region), nz(nd->datacenter), nz(nd->rack),
		    nz(nd->host)) < 0 || asprintf(&keys[3 * i + 1],
		    "%s\x1f%s\x1f%s", nz(nd->region), nz(nd->datacenter),
		    nz(nd->rack)) < 0 || asprintf(&keys[3 * i + 2], "%s\x1f%s",
		    nz(nd->region), nz(nd->datacenter)) < 0) {
			keys[3 * i + 0] = keys[3 * i + 1] = keys[3 * i + 2] =
			    NULL;
			bl_err_set(err, BL_ENOMEM, "planner: out of memory");
			goto out;
		}
	}
	/* Each level in its own table: ids count from 0 per level. */
	for (int lvl = 0; lvl < 5; lvl++) {
		strtab_release(&t);
		if (strtab_init(&t, n) < 0) {
			bl_err_set(err, BL_ENOMEM, "planner: out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			struct pnode *pn = &p->nodes[i];

			if (lvl < 3)
				pn->dom[lvl] = intern(&t, keys[3 * i + lvl]);
			else if (lvl == 3)
				pn->region = intern(&t, nz(cl->nodes[i].region));
			else
				pn->dc = intern(&t, nz(cl->nodes[i].datacenter));
		}
	}
	if (t.n > 64) {
		bl_err_set(err, BL_ETOOBIG, "planner: more than 64 "
		    "datacenters");
		goto out;
	}
	rc = 0;
out:
	if (keys != NULL)
		for (size_t i = 0; i < 3 * n; i++)
			free(keys[i]);
	free(keys);
	strtab_release(&t);
	return rc;
}

/* The price of the cheapest link from each node to any other node that
 * could take data, in linear time: links follow the nesting host < rack
 * < datacenter < region, so counting the takers in each domain tells
 * which link levels have one. */
static int
set_cheapest(struct plc_planner *p)
{
	const double *price = p->o.prices;
	size_t n = p->cl->n;
	int *cnt[4], total = 0;

	for (int l = 0; l < 4; l++)
		if ((cnt[l] = calloc(n ? n : 1, sizeof(int))) == NULL) {
			while (l-- > 0)
				free(cnt[l]);
			return -1;
		}
	for (size_t j = 0; j < n; j++) {
		const struct pnode *pj = &p->nodes[j];

		if (!pj->in || pj->used >= pj->fill_limit)
			continue;
		cnt[0][pj->dom[PLC_DOMAIN_HOST]]++;
		cnt[1][pj->dom[PLC_DOMAIN_RACK]]++;
		cnt[2][pj->dom[PLC_DOMAIN_DATACENTER]]++;
		cnt[3][pj->region]++;
		total++;
	}
	for (size_t i = 0; i < n; i++) {
		struct pnode *pn = &p->nodes[i];
		int self = pn->in && pn->used < pn->fill_limit;
		int at[PLC_LINK_N];

		at[PLC_LINK_SAME_HOST] = cnt[0][pn->dom[PLC_DOMAIN_HOST]] - self;
		at[PLC_LINK_SAME_RACK] = cnt[1][pn->dom[PLC_DOMAIN_RACK]] -
		    cnt[0][pn->dom[PLC_DOMAIN_HOST]];
		at[PLC_LINK_SAME_DATACENTER] =
		    cnt[2][pn->dom[PLC_DOMAIN_DATACENTER]] -
		    cnt[1][pn->dom[PLC_DOMAIN_RACK]];
		at[PLC_LINK_CROSS_DATACENTER] = cnt[3][pn->region] -
		    cnt[2][pn->dom[PLC_DOMAIN_DATACENTER]];
		at[PLC_LINK_CROSS_REGION] = total - cnt[3][pn->region];
		pn->cheapest = -1;
		for (int k = 0; k < PLC_LINK_N; k++)
			if (at[k] > 0 && (pn->cheapest < 0 ||
			    price[k] < pn->cheapest))
				pn->cheapest = price[k];
		if (pn->cheapest < 0)
			pn->cheapest = p->max_price;
	}
	for (int l = 0; l < 4; l++)
		free(cnt[l]);
	return 0;
}

struct plc_planner *
plc_planner_new(const struct plc_cluster *cl,
    const struct plc_planner_opts *o, struct bl_err *err)
{
	struct plc_planner *p;
	size_t n = cl->n, per, pool = 0;

	if (!(o->target >= 0) || !(o->threshold >= 0) ||
	    !(o->max_fill >= 0 && o->max_fill <= 1) ||
	    o->failure_domain < 0 || o->failure_domain > 2 ||
	    !plc_gravity_weights_valid(&o->weights)) {
		bl_err_set(err, BL_EINVAL, "planner: invalid options");
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto nomem;
	p->cl = cl;
	p->o = *o;
	per = o->cand_per_source ? o->cand_per_source : PLC_CAND_PER_SOURCE;
	/* One node never gives more moves than the whole budget; keep twice
	 * that, for the candidates that find no destination. */
	if (o->max_moves >= 0 && 2 * (uint64_t)o->max_moves + 64 < per)
		per = 2 * (size_t)o->max_moves + 64;
	p->nodes = calloc(n ? n : 1, sizeof(*p->nodes));
	p->ids = calloc(n ? n : 1, sizeof(*p->ids));
	p->weights = calloc(n ? n : 1, sizeof(*p->weights));
	p->elig = calloc(n ? n : 1, sizeof(*p->elig));
	p->deficit = calloc(n ? n : 1, sizeof(*p->deficit));
	p->srcs = calloc(n ? n : 1, sizeof(*p->srcs));
	if (p->nodes == NULL || p->ids == NULL || p->weights == NULL ||
	    p->elig == NULL || p->deficit == NULL || p->srcs == NULL)
		goto nomem;
	if (build_nodes(p, err) < 0) {
		plc_planner_free(p);
		return NULL;
	}
	plc_cluster_fill_stats(cl, NULL, &p->before);
	for (int k = 0; k < PLC_LINK_N; k++)
		if (o->prices[k] > p->max_price)
			p->max_price = o->prices[k];
	for (size_t i = 0; i < n; i++) {
		const struct plc_node *nd = &cl->nodes[i];
		struct pnode *pn = &p->nodes[i];

		pn->cap = nd->capacity_bytes;
		pn->used = nd->used_bytes;
		pn->fill_limit = plc_node_fill_limit(nd, o->max_fill);
		pn->latency = nd->latency_ms;
		pn->hid = plc_node_hash_id(nd->id);
		pn->in = plc_node_takes(nd);
		pn->src = -1;
	}
	if (set_cheapest(p) < 0)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		struct pnode *pn = &p->nodes[i];
		double excess;

		excess = (double)pn->used - p->before.mean * (double)pn->cap;
		if (pn->in && excess > 0) {
			struct src *s = &p->srcs[p->n_srcs];

			pn->src = (int)p->n_srcs++;
			s->node = (uint32_t)i;
			s->cap = per;
			if (o->cand_caps != NULL && o->cand_caps[i] < per)
				s->cap = o->cand_caps[i] ? o->cand_caps[i] : 1;
			/* A slot is a uint32_t (struct hent). */
			if (s->cap > UINT32_MAX)
				s->cap = UINT32_MAX;
			s->cover = (uint64_t)(4 * excess) + 1;
			pool += s->cap;
		}
	}
	if (p->n_srcs > 0) {
		p->pool = calloc(pool, sizeof(*p->pool));
		p->hpool = calloc(pool, sizeof(*p->hpool));
		p->fpool = calloc(pool, sizeof(*p->fpool));
		if (p->pool == NULL || p->hpool == NULL || p->fpool == NULL)
			goto nomem;
		pool = 0;
		for (size_t s = 0; s < p->n_srcs; s++) {
			p->srcs[s].c = p->pool + pool;
			p->srcs[s].h = p->hpool + pool;
			p->srcs[s].freed = p->fpool + pool;
			pool += p->srcs[s].cap;
		}
	}
	return p;
nomem:
	plc_planner_free(p);
	bl_err_set(err, BL_ENOMEM, "planner: out of memory");
	return NULL;
}

void
plc_planner_free(struct plc_planner *p)
{
	if (p == NULL)
		return;
	free(p->nodes);
	free(p->srcs);
	free(p->pool);
	free(p->hpool);
	free(p->fpool);
	free(p->ids);
	free(p->weights);
	free(p->elig);
	free(p->deficit);
	free(p);
}

/* Offers obj's copies on the over-full nodes srcs[lo, hi) and counts into
 * t (the object itself only if first). */
static int
add_range(struct plc_planner *p, const struct plc_object *obj, size_t lo,
    size_t hi, int first, struct plc_planner_tally *t, struct bl_err *err)
{
	struct plc_gravity_input gi;
	struct cand c;

	if (obj->ncopies == 0 || obj->ncopies > PLC_COPIES_MAX)
		return bl_err_set(err, BL_EINVAL, "object: %zu copies, expected "
		    "1 to %d", obj->ncopies, PLC_COPIES_MAX);
	for (size_t i = 0; i < obj->ncopies; i++) {
		if (obj->copies[i] >= p->cl->n)
			return bl_err_set(err, BL_EINVAL, "object: copy %zu on "
			    "unknown node index %u", i, obj->copies[i]);
		for (size_t j = 0; j < i; j++)
			if (obj->copies[j] == obj->copies[i])
				return bl_err_set(err, BL_EINVAL, "object: two "
				    "copies on node %s",
				    p->cl->nodes[obj->copies[i]].id);
	}
	if (first)
		t->n_objects++;
	if (obj->size == 0)
		return 0;	/* moving it changes nothing */
	memset(&c, 0, sizeof(c));
	c.handle = obj->handle;
	c.key = obj->key;
	c.size = obj->size;
	c.dcmask = obj->allowed_dcs;
	c.pinned = obj->pinned != 0;
	c.ncopies = (uint8_t)obj->ncopies;
	memcpy(c.copies, obj->copies, obj->ncopies * sizeof(c.copies[0]));
	gi.reads_per_hour = obj->reads_per_hour;
	gi.max_price = p->max_price;
	gi.pinned = c.pinned;
	for (size_t i = 0; i < obj->ncopies; i++) {
		const struct pnode *pn = &p->nodes[obj->copies[i]];

		if (pn->src < 0 || (size_t)pn->src < lo || (size_t)pn->src >= hi)
			continue;
		t->n_candidates++;
		gi.colocated = obj->colocated ? obj->colocated[i] : 0;
		gi.cheapest_price = pn->cheapest;
		gi.latency_ms = pn->latency;
		c.gravity = plc_gravity_score(&p->o.weights, &gi, NULL);
		if (c.gravity >= p->o.protection) {
			t->n_protected++;
			continue;
		}
		c.src_slot = (uint8_t)i;
		src_offer(&p->srcs[pn->src], &c);
	}
	return 0;
}

int
plc_planner_add(struct plc_planner *p, const struct plc_object *obj,
    struct bl_err *err)
{
	return add_range(p, obj, 0, p->n_srcs, 1, &p->t, err);
}

int
plc_planner_add_share(struct plc_planner *p, const struct plc_object *obj,
    unsigned share, unsigned nshares, struct plc_planner_tally *t,
    struct bl_err *err)
{
	if (nshares == 0 || share >= nshares)
		return bl_err_set(err, BL_EINVAL, "planner: share %u of %u",
		    share, nshares);
	/* A contiguous slice of the sources: two threads write the same
	 * cache line only where their slices meet. */
	return add_range(p, obj, p->n_srcs * share / nshares,
	    p->n_srcs * (share + 1) / nshares, share == 0, t, err);
}

void
plc_planner_add_tally(struct plc_planner *p,
    const struct plc_planner_tally *t)
{
	p->t.n_objects += t->n_objects;
	p->t.n_candidates += t->n_candidates;
	p->t.n_protected += t->n_protected;
}

/* The objects moved so far, by handle, with their copies as the plan
 * leaves them, so that a second copy of the same object is judged
 * against where the first one went. */
struct mstate {
	uint32_t	copies[PLC_COPIES_MAX];
	uint8_t		ncopies;
};

struct hmap {
	uint64_t	*k;	/* owns; handle + 1, 0 is empty */
	size_t		*v;	/* owns; index into st */
	size_t		 cap;
	size_t		 n;
	struct mstate	*st;	/* owns */
	size_t		 st_cap;
};

static size_t
hslot(uint64_t h, size_t cap)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (size_t)h & (cap - 1);
}

/* The state of handle h, or NULL. */
static struct mstate *
hmap_get(const struct hmap *m, uint64_t h)
{
	if (m->cap == 0)
		return NULL;
	for (size_t i = hslot(h, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->k[i] == 0)
			return NULL;
		if (m->k[i] == h + 1)
			return &m->st[m->v[i]];
	}
}

/* Records that handle h now has copies c. */
static int
hmap_put(struct hmap *m, uint64_t h, const uint32_t *c, size_t n)
{
	struct mstate *x = hmap_get(m, h);
	size_t i;

	if (x == NULL) {
		if (2 * (m->n + 1) > m->cap) {
			size_t nc = m->cap ? m->cap * 2 : 1024;
			uint64_t *nk = calloc(nc, sizeof(*nk));
			size_t *nv = calloc(nc, sizeof(*nv));

			if (nk == NULL || nv == NULL) {
				free(nk);
				free(nv);
				return -1;
			}
			for (size_t j = 0; j < m->cap; j++) {
				if (m->k[j] == 0)
					continue;
				for (i = hslot(m->k[j] - 1, nc); nk[i] != 0;
				    i = (i + 1) & (nc - 1))
					;
				nk[i] = m->k[j];
				nv[i] = m->v[j];
			}
			free(m->k);
			free(m->v);
			m->k = nk;
			m->v = nv;
			m->cap = nc;
		}
		if (m->n == m->st_cap) {
			size_t nc = m->st_cap ? m->st_cap * 2 : 1024;
			struct mstate *ns = realloc(m->st, nc * sizeof(*ns));

			if (ns == NULL)
				return -1;
			m->st = ns;
			m->st_cap = nc;
		}
		for (i = hslot(h, m->cap); m->k[i] != 0;
		    i = (i + 1) & (m->cap - 1))
			;
		m->k[i] = h + 1;
		m->v[i] = m->n;
		x = &m->st[m->n++];
	}
	memcpy(x->copies, c, n * sizeof(c[0]));
	x->ncopies = (uint8_t)n;
	return 0;
}

static void
hmap_release(struct hmap *m)
{
	free(m->k);
	free(m->v);
	free(m->st);
}

static double
fill(const struct pnode *pn)
{
	return (double)pn->used / (double)pn->cap;
}

/* The next source: the fullest in-node above the mean that still has
 * candidates; NULL if none. */
static struct src *
pick_source(struct plc_planner *p, double mean)
{
	struct src *best = NULL;
	double bu = 0;

	for (size_t s = 0; s < p->n_srcs; s++) {
		struct src *x = &p->srcs[s];
		const struct pnode *pn = &p->nodes[x->node];
		double u;

		if (x->cur >= x->n)
			continue;
		u = fill(pn);
		if (u <= mean)
			continue;
		if (best == NULL || u > bu) {
			best = x;
			bu = u;
		}
	}
	return best;
}

static int
push_move(struct plc_plan *plan, size_t *cap, const struct plc_move *m)
{
	if (plan->n_moves == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		struct plc_move *nm = realloc(plan->moves, nc * sizeof(*nm));

		if (nm == NULL)
			return -1;
		plan->moves = nm;
		*cap = nc;
	}
	plan->moves[plan->n_moves++] = *m;
	return 0;
}

/* The destinations candidate c from node src may go to, into p->elig,
 * p->ids and p->deficit; their largest deficit into *maxdef. Returns how
 * many; *budget_blocked says whether max_cost turned one away. */
static inline size_t
eligible_dests(struct plc_planner *p, const struct plc_plan *plan,
    uint32_t src, const struct cand *c, double mean, double *maxdef,
    int *budget_blocked)
{
	const struct plc_planner_opts *o = &p->o;
	const struct pnode *sn = &p->nodes[src];
	int fd = o->failure_domain;
	int others[PLC_COPIES_MAX];
	size_t nothers = 0, ne = 0, k;

	for (k = 0; k < c->ncopies; k++)
		if (k != c->src_slot)
			others[nothers++] = p->nodes[c->copies[k]].dom[fd];
	/* The rules of plc_choose_eligible() on the ids prepared by
	 * plc_planner_new(), then the planner's own: the mean, the cost. */
	for (uint32_t d = 0; d < p->cl->n; d++) {
		const struct pnode *dn = &p->nodes[d];
		double deficit, cost;

		if (d == src || !dn->in)
			continue;
		for (k = 0; k < c->ncopies; k++)
			if (c->copies[k] == d)
				break;
		if (k < c->ncopies)
			continue;		/* holds a copy */
		for (k = 0; k < nothers; k++)
			if (others[k] == dn->dom[fd])
				break;
		if (k < nothers)
			continue;		/* shares a failure domain */
		if (c->pinned && !(c->dcmask & (1ull << dn->dc)))
			continue;		/* datacenter not allowed */
		if (dn->used + c->size > dn->fill_limit)
			continue;		/* past max_fill */
		deficit = mean * (double)dn->cap - (double)dn->used;
		if (!((double)c->size < 2 * deficit))
			continue;		/* would overshoot the mean */
		cost = (double)c->size / GIB * o->prices[link_of(sn, dn)];
		if (o->max_cost >= 0 && plan->cost + cost > o->max_cost) {
			*budget_blocked = 1;
			continue;
		}
		p->elig[ne] = d;
		p->ids[ne] = dn->hid;
		p->deficit[ne] = deficit;
		if (deficit > *maxdef)
			*maxdef = deficit;
		ne++;
	}
	return ne;
}

/* Keeps the free same-host nodes among the ne eligible ones, in order, if
 * there are any; they passed every check, failure domains included.
 * Returns how many are left, their largest deficit into *maxdef. */
static inline size_t
keep_same_host(struct plc_planner *p, const struct pnode *sn, size_t ne,
    double *maxdef)
{
	size_t nh = 0, j = 0, k;

	for (k = 0; k < ne; k++)
		if (link_of(sn, &p->nodes[p->elig[k]]) == PLC_LINK_SAME_HOST)
			nh++;
	if (nh == 0)
		return ne;
	*maxdef = 0;
	for (k = 0; k < ne; k++) {
		if (link_of(sn, &p->nodes[p->elig[k]]) != PLC_LINK_SAME_HOST)
			continue;
		p->elig[j] = p->elig[k];
		p->ids[j] = p->ids[k];
		p->deficit[j] = p->deficit[k];
		if (p->deficit[j] > *maxdef)
			*maxdef = p->deficit[j];
		j++;
	}
	return nh;
}

/* Plans the move of c from src to node to and projects it. 0, or -1 out
 * of memory. */
static inline int
add_move(struct plc_planner *p, struct plc_plan *plan, size_t *mcap,
    uint32_t src, const struct cand *c, uint32_t to)
{
	struct pnode *sn = &p->nodes[src];
	struct plc_move m;

	memset(&m, 0, sizeof(m));
	m.handle = c->handle;
	m.from = src;
	m.to = to;
	m.bytes = c->size;
	m.link = link_of(sn, &p->nodes[m.to]);
	m.cost = (double)c->size / GIB * p->o.prices[m.link];
	m.gravity = c->gravity;
	m.reason = PLC_REASON_OVERFULL;
	m.from_fill = fill(sn);
	m.to_fill = fill(&p->nodes[m.to]);
	if (push_move(plan, mcap, &m) < 0)
		return -1;
	sn->used -= c->size;
	p->nodes[m.to].used += c->size;
	plan->bytes += c->size;
	plan->cost += m.cost;
	return 0;
}

/* Tries candidate c from node src. 1: moved, 0: skipped, -1: no memory. */
static int
try_move(struct plc_planner *p, struct plc_plan *plan, size_t *mcap,
    uint32_t src, const struct cand *c, double mean)
{
	const struct plc_planner_opts *o = &p->o;
	struct pnode *sn = &p->nodes[src];
	int budget_blocked = 0;
	size_t ne, k;
	double excess, maxdef = 0;
	uint32_t x;

	excess = (double)sn->used - mean * (double)sn->cap;
	/* The move must bring the source closer to the mean. */
	if (!((double)c->size < 2 * excess)) {
		plan->n_overshoot++;
		return 0;
	}
	if (o->max_egress_bytes >= 0 &&
	    plan->bytes + c->size > (uint64_t)o->max_egress_bytes) {
		plan->n_over_budget++;
		return 0;
	}
	ne = eligible_dests(p, plan, src, c, mean, &maxdef, &budget_blocked);
	if (ne == 0) {
		if (budget_blocked)
			plan->n_over_budget++;
		else
			plan->n_no_destination++;
		return 0;
	}
	if (o->prefer_same_host && o->prices[PLC_LINK_SAME_HOST] == 0)
		ne = keep_same_host(p, sn, ne, &maxdef);
	for (k = 0; k < ne; k++) {
		double w = p->deficit[k] / maxdef * 65536.0;

		p->weights[k] = w < 1 ? 1 : (uint32_t)w;
	}
	x = (uint32_t)(c->key ^ (c->key >> 32));
	k = plc_crush_straw2_choose(p->ids, p->weights, ne, x, 0);
	if (add_move(p, plan, mcap, src, c, p->elig[k]) < 0)
		return -1;
	return 1;
}

static void
current_spread(const struct plc_planner *p, double *lo, double *hi)
{
	int first = 1;

	*lo = *hi = 0;
	for (size_t i = 0; i < p->cl->n; i++) {
		const struct pnode *pn = &p->nodes[i];
		double u;

		if (p->cl->nodes[i].state != PLC_NODE_IN || pn->cap == 0)
			continue;
		u = fill(pn);
		if (first || u < *lo)
			*lo = u;
		if (first || u > *hi)
			*hi = u;
		first = 0;
	}
}

/* Moves candidates, fullest source first, until the spread reaches the
 * target or a budget or the candidates run out; sets plan->stop. 0, or
 * -1 out of memory. */
static int
plan_moves(struct plc_planner *p, struct plc_plan *plan, size_t *mcap,
    struct hmap *moved, struct bl_err *err)
{
	double mean = p->before.mean;
	struct src *s = NULL;
	int dirty = 1;

	/* The spread and the source only change when a move is made or a
	 * source runs dry, so skips cost O(1) plus their own checks. */
	for (;;) {
		struct cand c;
		const struct mstate *ms;
		double lo, hi;
		int r;

		if (dirty) {
			current_spread(p, &lo, &hi);
			if (hi - lo <= p->o.target) {
				plan->stop = PLC_STOP_TARGET;
				return 0;
			}
			s = pick_source(p, mean);
			dirty = 0;
		}
		if (p->o.max_moves >= 0 &&
		    plan->n_moves >= (uint64_t)p->o.max_moves) {
			plan->stop = PLC_STOP_BUDGET_MOVES;
			return 0;
		}
		if (s == NULL) {
			plan->stop = plan->n_over_budget > 0 ?
			    PLC_STOP_BUDGET_BYTES_COST : PLC_STOP_NO_CANDIDATES;
			return 0;
		}
		c = s->c[s->cur++];
		if (s->cur >= s->n)
			dirty = 1;
		if ((ms = hmap_get(moved, c.handle)) != NULL) {
			/* Another copy moved: start from where the plan has
			 * put the object. */
			size_t k;

			if (p->o.one_move_per_object) {
				plan->n_deferred++;
				continue;
			}
			memcpy(c.copies, ms->copies, sizeof(c.copies));
			c.ncopies = ms->ncopies;
			for (k = 0; k < c.ncopies; k++)
				if (c.copies[k] == s->node)
					break;
			if (k == c.ncopies) {
				plan->n_already_moved++;
				continue;
			}
			c.src_slot = (uint8_t)k;
		}
		r = try_move(p, plan, mcap, s->node, &c, mean);
		if (r == 1) {
			c.copies[c.src_slot] =
			    plan->moves[plan->n_moves - 1].to;
			if (hmap_put(moved, c.handle, c.copies, c.ncopies) < 0)
				r = -1;
		}
		if (r < 0)
			return bl_err_set(err, BL_ENOMEM, "planner: out of "
			    "memory");
		if (r == 1)
			dirty = 1;
	}
}

int
plc_planner_run(struct plc_planner *p, struct plc_plan *plan,
    struct bl_err *err)
{
	struct hmap moved;
	size_t mcap = 0;
	uint64_t *used = NULL;
	int rc = -1;

	memset(plan, 0, sizeof(*plan));
	memset(&moved, 0, sizeof(moved));
	if (p->ran)
		return bl_err_set(err, BL_ECONFLICT, "planner: already run");
	p->ran = 1;
	plan->before = p->before;
	plan->threshold = p->o.threshold;
	plan->target = p->o.target;
	plan->max_moves = p->o.max_moves;
	plan->max_egress_bytes = p->o.max_egress_bytes;
	plan->max_cost = p->o.max_cost;
	plan->quiet = p->o.quiet != 0;
	plan->n_objects = p->t.n_objects;
	plan->n_candidates = p->t.n_candidates;
	plan->n_protected = p->t.n_protected;
	for (size_t s = 0; s < p->n_srcs; s++)
		if (src_sort(&p->srcs[s]) < 0) {
			bl_err_set(err, BL_ENOMEM, "planner: out of memory");
			goto out;
		}
	if (p->before.n_in == 0)
		plan->stop = PLC_STOP_NO_NODES;
	else if (p->o.quiet)
		plan->stop = PLC_STOP_QUIET;
	else if (p->before.imbalance < p->o.threshold)
		plan->stop = PLC_STOP_BELOW_THRESHOLD;
	else if (plan_moves(p, plan, &mcap, &moved, err) < 0)
		goto out;
	if ((used = calloc(p->cl->n ? p->cl->n : 1, sizeof(*used))) == NULL) {
		bl_err_set(err, BL_ENOMEM, "planner: out of memory");
		goto out;
	}
	for (size_t i = 0; i < p->cl->n; i++)
		used[i] = p->nodes[i].used;
	plc_cluster_fill_stats(p->cl, used, &plan->after);
	rc = 0;
out:
	free(used);
	hmap_release(&moved);
	if (rc < 0)
		plc_plan_release(plan);
	return rc;
}

void
plc_plan_release(struct plc_plan *plan)
{
	if (plan == NULL)
		return;
	free(plan->moves);
	plan->moves = NULL;
	plan->n_moves = 0;
}

const char *
plc_stop_name(int stop)
{
	switch (stop) {
	case PLC_STOP_BELOW_THRESHOLD:	return "below_threshold";
	case PLC_STOP_TARGET:		return "target_reached";
	case PLC_STOP_QUIET:		return "quiet_hours";
	case PLC_STOP_BUDGET_MOVES:	return "move_budget_used";
	case PLC_STOP_NO_CANDIDATES:	return "no_more_candidates";
	case PLC_STOP_NO_NODES:		return "no_nodes_in";
	case PLC_STOP_BUDGET_BYTES_COST: return "byte_or_cost_budget_used";
	}
	return "unknown";
}

const char *
plc_move_reason(const struct plc_move *m, double mean, char *buf, size_t len)
{
	snprintf(buf, len, "over-full: source fill %.3f, mean %.3f, "
	    "destination fill %.3f", m->from_fill, mean, m->to_fill);
	return buf;
}
