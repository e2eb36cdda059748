/* placement/crush_cluster.c - the CRUSH view of a ballast cluster.
 *
 * The rule, also in docs/placement.md:
 * - Types: 0 device, 1 host, 2 rack, 3 datacenter, 4 region, 5 root.
 * - Device i is cluster->nodes[i] (the cluster keeps nodes sorted by id),
 *   named by the node id. Only nodes in state "in" and reachable are linked
 *   into the tree; the others are declared but can never be chosen.
 * - One bucket per distinct region, region/datacenter,
 *   region/datacenter/rack and region/datacenter/rack/host, named by that
 *   path, all straw2, under one root "default" (id -1). Bucket ids follow
 *   the sorted order of their paths.
 * - A device weighs plc_node_weight() of its node (its weight in 16.16
 *   fixed point, at least 1); a bucket weighs the sum of its items.
 * - Straw2 draws hash a stable id per item instead of the item's position:
 *   31 bits of a hash of "device:<node id>" or "<type>:<path>". Adding or
 *   removing a node renumbers no draw of any other item, so straw2 moves
 *   data only to or from the branch that changed.
 * - Rules "ballast_host", "ballast_rack" and "ballast_datacenter": take
 *   default; chooseleaf_firstn 0 of that type; emit.
 */
#include "placement/crush.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T_DEVICE, T_HOST, T_RACK, T_DC, T_REGION, T_ROOT };

static const char *const type_names[] = {
	"device", "host", "rack", "datacenter", "region", "root"
};

/* One bucket being assembled: its path, id and items. */
struct cbucket {
	int		 type;
	char		*path;		/* owns */
	const struct plc_node *rep;	/* borrows; a node under it */
	int		 id;
	int		*items;		/* owns */
	int		*hash_ids;	/* owns */
	uint32_t	*weights;	/* owns */
	int		 n, cap;
	uint32_t	 weight;
};

struct builder {
	struct cbucket	*b;	/* owns */
	int		 n, cap;
};

/* A stable, 31-bit name hash: the CRUSH hash folded over the bytes. */
static uint32_t
name_hash(const char *kind, const char *name)
{
	uint32_t h = 0x5ba11a57u;
	const char *parts[2] = { kind, name };

	for (int p = 0; p < 2; p++) {
		for (const unsigned char *s = (const unsigned char *)parts[p];
		    *s; s++)
			h = plc_crush_hash2(h, *s);
		h = plc_crush_hash2(h, ':');
	}
	return h & 0x3fffffffu;
}

static int
path_cmp(const void *a, const void *b)
{
	const struct cbucket *x = a, *y = b;

	if (x->type != y->type)
		return y->type - x->type;	/* root first, hosts last */
	return strcmp(x->path, y->path);
}

static char *
make_path(const struct plc_node *nd, int type)
{
	const char *seg[4] = { nd->region, nd->datacenter, nd->rack, nd->host };
	int depth = T_ROOT - type;	/* region 1 .. host 4 */
	size_t len = 1;
	char *p;

	for (int i = 0; i < depth; i++)
		len += strlen(seg[i] ? seg[i] : "") + 1;
	if ((p = malloc(len)) == NULL)
		return NULL;
	p[0] = '\0';
	for (int i = 0; i < depth; i++) {
		if (i)
			strcat(p, "/");
		strcat(p, seg[i] ? seg[i] : "");
	}
	return p;
}

static struct cbucket *
find_bucket(struct builder *bd, int type, const char *path)
{
	for (int i = 0; i < bd->n; i++)
		if (bd->b[i].type == type && strcmp(bd->b[i].path, path) == 0)
			return &bd->b[i];
	return NULL;
}

static int
add_item(struct cbucket *b, int item, int hash_id, uint32_t w)
{
	if (b->n == b->cap) {
		int cap = b->cap ? b->cap * 2 : 8;
		int *it = realloc(b->items, (size_t)cap * sizeof(int));
		int *hi = it ? realloc(b->hash_ids, (size_t)cap * sizeof(int)) :
		    NULL;
		uint32_t *ws = hi ? realloc(b->weights,
		    (size_t)cap * sizeof(uint32_t)) : NULL;

		if (it)
			b->items = it;
		if (hi)
			b->hash_ids = hi;
		if (ws == NULL)
			return -1;
		b->weights = ws;
		b->cap = cap;
	}
	b->items[b->n] = item;
	b->hash_ids[b->n] = hash_id;
	b->weights[b->n] = w;
	b->n++;
	b->weight += w;
	return 0;
}

static void
builder_release(struct builder *bd)
{
	for (int i = 0; i < bd->n; i++) {
		free(bd->b[i].path);
		free(bd->b[i].items);
		free(bd->b[i].hash_ids);
		free(bd->b[i].weights);
	}
	free(bd->b);
}

/* Collects the distinct bucket paths of the linked nodes. */
static int
collect(struct builder *bd, const struct plc_cluster *cl)
{
	for (size_t i = 0; i <= cl->n; i++) {
		for (int t = T_HOST; t <= T_ROOT; t++) {
			char *path;

			if (i == cl->n && t != T_ROOT)
				continue;
			if (i < cl->n && (t == T_ROOT ||
			    cl->nodes[i].state != PLC_NODE_IN ||
			    !cl->nodes[i].reachable))
				continue;
			path = i < cl->n ? make_path(&cl->nodes[i], t) :
			    strdup("default");
			if (path == NULL)
				return -1;
			if (find_bucket(bd, t, path)) {
				free(path);
				continue;
			}
			if (bd->n == bd->cap) {
				int cap = bd->cap ? bd->cap * 2 : 16;
				struct cbucket *nb = realloc(bd->b,
				    (size_t)cap * sizeof(*nb));

				if (nb == NULL) {
					free(path);
					return -1;
				}
				bd->b = nb;
				bd->cap = cap;
			}
			memset(&bd->b[bd->n], 0, sizeof(bd->b[0]));
			bd->b[bd->n].type = t;
			bd->b[bd->n].path = path;
			bd->b[bd->n].rep = i < cl->n ? &cl->nodes[i] : NULL;
			bd->n++;
		}
	}
	return 0;
}

struct plc_crush *
plc_crush_from_cluster(const struct plc_cluster *cl, struct bl_err *err)
{
	static const char *const rule_names[] = {
		"ballast_host", "ballast_rack", "ballast_datacenter"
	};
	struct builder bd = { 0 };
	struct plc_crush *c = plc_crush_new();
	char name[64];

	if (c == NULL) {
		bl_err_set(err, BL_ENOMEM, "crush from cluster: out of memory");
		return NULL;
	}
	for (int t = T_DEVICE; t <= T_ROOT; t++)
		if (plc_crush_add_type(c, t, type_names[t], err) < 0)
			goto fail;
	for (size_t i = 0; i < cl->n; i++)
		if (plc_crush_add_device(c, (int)i, cl->nodes[i].id, err) < 0)
			goto fail;
	if (collect(&bd, cl) < 0) {
		bl_err_set(err, BL_ENOMEM, "crush from cluster: out of memory");
		goto fail;
	}
	qsort(bd.b, (size_t)bd.n, sizeof(bd.b[0]), path_cmp);
	for (int i = 0; i < bd.n; i++)
		bd.b[i].id = -1 - i;

	/* Link devices into hosts, then each bucket into its parent, from
	 * the bottom up so that parents see their children's weights. */
	for (size_t i = 0; i < cl->n; i++) {
		const struct plc_node *nd = &cl->nodes[i];
		struct cbucket *host;
		char *path;

		if (nd->state != PLC_NODE_IN || !nd->reachable)
			continue;
		if ((path = make_path(nd, T_HOST)) == NULL)
			goto oom;
		host = find_bucket(&bd, T_HOST, path);
		free(path);
		if (add_item(host, (int)i, (int)name_hash("device", nd->id),
		    plc_node_weight(nd)) < 0)
			goto oom;
	}
	for (int i = bd.n - 1; i >= 0; i--) {
		struct cbucket *b = &bd.b[i], *parent;

		if (b->type == T_ROOT)
			continue;
		if (b->type == T_REGION) {
			parent = &bd.b[0];
		} else {
			char *ppath = make_path(b->rep, b->type + 1);

			if (ppath == NULL)
				goto oom;
			parent = find_bucket(&bd, b->type + 1, ppath);
			free(ppath);
		}
		if (add_item(parent, b->id, -1 - (int)name_hash(
		    type_names[b->type], b->path), b->weight) < 0)
			goto oom;
	}
	for (int i = 0; i < bd.n; i++) {
		struct cbucket *b = &bd.b[i];

		if (plc_crush_add_bucket(c, b->id, b->path, b->type,
		    PLC_CRUSH_STRAW2, b->items, b->weights, b->n, err) < 0 ||
		    plc_crush_set_hash_ids(c, b->id, b->hash_ids, b->n, err) < 0)
			goto fail;
	}
	for (int r = 0; r < 3; r++) {
		struct plc_crush_step steps[3] = {
			{ PLC_CRUSH_TAKE, -1, 0 },
			{ PLC_CRUSH_CHOOSELEAF_FIRSTN, 0, T_HOST + r },
			{ PLC_CRUSH_EMIT, 0, 0 },
		};

		snprintf(name, sizeof(name), "%s", rule_names[r]);
		if (plc_crush_add_rule(c, r, name, steps, 3, err) < 0)
			goto fail;
	}
	if (plc_crush_finalize(c, err) < 0)
		goto fail;
	builder_release(&bd);
	return c;
oom:
	bl_err_set(err, BL_ENOMEM, "crush from cluster: out of memory");
fail:
	builder_release(&bd);
	plc_crush_free(c);
	return NULL;
}
