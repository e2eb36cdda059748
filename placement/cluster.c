/* placement/cluster.c - the cluster map: lookup, sorting, fill statistics
 * and link classes. Pure: no I/O. */
#include "placement/cluster.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct plc_cluster *
plc_cluster_new(void)
{
	struct plc_cluster *cl;

	cl = calloc(1, sizeof(*cl));
	if (cl == NULL)
		return NULL;
	cl->failure_domain = PLC_DOMAIN_HOST;
	return cl;
}

void
plc_cluster_free(struct plc_cluster *cl)
{
	if (cl == NULL)
		return;
	for (size_t i = 0; i < cl->n; i++) {
		struct plc_node *nd = &cl->nodes[i];

		free(nd->id);
		free(nd->region);
		free(nd->datacenter);
		free(nd->rack);
		free(nd->host);
	}
	free(cl->nodes);
	free(cl);
}

ssize_t
plc_cluster_find(const struct plc_cluster *cl, const char *id)
{
	size_t lo = 0, hi = cl->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(id, cl->nodes[mid].id);

		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static int
node_cmp(const void *a, const void *b)
{
	const struct plc_node *x = a, *y = b;

	return strcmp(x->id, y->id);
}

int
plc_cluster_sort(struct plc_cluster *cl, struct bl_err *err)
{
	if (cl->n > 1)
		qsort(cl->nodes, cl->n, sizeof(cl->nodes[0]), node_cmp);
	for (size_t i = 1; i < cl->n; i++) {
		if (strcmp(cl->nodes[i - 1].id, cl->nodes[i].id) == 0)
			return bl_err_set(err, BL_EINVAL,
			    "node id=%s: duplicate id", cl->nodes[i].id);
	}
	return 0;
}

void
plc_cluster_fill_stats(const struct plc_cluster *cl, const uint64_t *used,
    struct plc_fill_stats *st)
{
	double su = 0, sc = 0, sum = 0, sumsq = 0;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < cl->n; i++) {
		const struct plc_node *nd = &cl->nodes[i];
		double u;

		if (nd->state != PLC_NODE_IN || nd->capacity_bytes == 0)
			continue;
		u = (double)(used ? used[i] : nd->used_bytes) /
		    (double)nd->capacity_bytes;
		if (st->n_in == 0 || u < st->min)
			st->min = u;
		if (st->n_in == 0 || u > st->max)
			st->max = u;
		st->n_in++;
		su += (double)(used ? used[i] : nd->used_bytes);
		sc += (double)nd->capacity_bytes;
		sum += u;
		sumsq += u * u;
	}
	if (st->n_in == 0)
		return;
	st->mean = su / sc;
	st->imbalance = st->max - st->min;
	{
		double m = sum / (double)st->n_in;
		double var = sumsq / (double)st->n_in - m * m;

		st->stddev = var > 0 ? sqrt(var) : 0;
	}
	for (size_t i = 0; i < cl->n; i++) {
		const struct plc_node *nd = &cl->nodes[i];
		double u, ideal;

		if (nd->state != PLC_NODE_IN || nd->capacity_bytes == 0)
			continue;
		u = (double)(used ? used[i] : nd->used_bytes);
		ideal = (double)nd->capacity_bytes * st->mean;
		if (u > ideal)
			st->min_bytes += (uint64_t)llround(u - ideal);
	}
}

size_t
plc_cluster_dcs(const struct plc_cluster *cl, const char **names, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < cl->n; i++) {
		size_t j;

		for (j = 0; j < i; j++)
			if (strcmp(cl->nodes[i].datacenter,
			    cl->nodes[j].datacenter) == 0)
				break;
		if (j < i)
			continue;	/* seen before */
		if (n < max)
			names[n] = cl->nodes[i].datacenter;
		n++;
	}
	return n;
}

int
plc_link_class(const struct plc_node *a, const struct plc_node *b)
{
	if (strcmp(a->region, b->region) != 0)
		return PLC_LINK_CROSS_REGION;
	if (strcmp(a->datacenter, b->datacenter) != 0)
		return PLC_LINK_CROSS_DATACENTER;
	if (strcmp(a->rack, b->rack) != 0)
		return PLC_LINK_SAME_DATACENTER;
	if (strcmp(a->host, b->host) != 0)
		return PLC_LINK_SAME_RACK;
	return PLC_LINK_SAME_HOST;
}

static const char *const domain_names[] = { "host", "rack", "datacenter" };
static const char *const state_names[] = { "in", "draining", "out" };
static const char *const link_names[] = {
	"same_host", "same_rack", "same_datacenter", "cross_datacenter",
	"cross_region",
};

static int
name_parse(const char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

const char *
plc_domain_name(int domain)
{
	return domain >= 0 && domain < 3 ? domain_names[domain] : "unknown";
}

int
plc_domain_parse(const char *name)
{
	return name_parse(domain_names, 3, name);
}

const char *
plc_node_state_name(int state)
{
	return state >= 0 && state < 3 ? state_names[state] : "unknown";
}

int
plc_node_state_parse(const char *name)
{
	return name_parse(state_names, 3, name);
}

const char *
plc_link_name(int link)
{
	return link >= 0 && link < PLC_LINK_N ? link_names[link] : "unknown";
}
