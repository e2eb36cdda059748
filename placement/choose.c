/* placement/choose.c - the rules of every destination choice (DESIGN 5):
 * which nodes may take a copy and what they weigh, shared by the planner
 * and by an evacuation; and an evacuation's choice itself, CRUSH straw2
 * among the eligible nodes. Pure: no I/O, no allocation. */
#include "placement/cluster.h"

#include <math.h>
#include <string.h>

#include "placement/crush.h"
#include "placement/planner.h"

/* A name as it compares: a missing one is the empty name. */
static const char *
name_of(const char *s)
{
	return s != NULL ? s : "";
}

int
plc_node_takes(const struct plc_node *nd)
{
	return nd->state == PLC_NODE_IN && nd->reachable &&
	    nd->capacity_bytes > 0;
}

uint64_t
plc_node_fill_limit(const struct plc_node *nd, double max_fill)
{
	return (uint64_t)floor(max_fill * (double)nd->capacity_bytes);
}

uint32_t
plc_node_weight(const struct plc_node *nd)
{
	double w = nd->weight > 0 ? nd->weight :
	    (double)nd->capacity_bytes / (double)(1ULL << 40);
	double fixed = floor(w * 65536.0 + 0.5);

	if (fixed < 1)
		return 1;
	if (fixed > 0x7fffffff / 1024)
		return 0x7fffffff / 1024;
	return (uint32_t)fixed;
}

int
plc_same_domain(const struct plc_node *a, const struct plc_node *b,
    int domain)
{
	if (a == b)
		return 1;
	if (strcmp(name_of(a->region), name_of(b->region)) != 0 ||
	    strcmp(name_of(a->datacenter), name_of(b->datacenter)) != 0)
		return 0;
	if (domain >= PLC_DOMAIN_DATACENTER)
		return 1;
	if (strcmp(name_of(a->rack), name_of(b->rack)) != 0)
		return 0;
	if (domain == PLC_DOMAIN_RACK)
		return 1;
	return strcmp(name_of(a->host), name_of(b->host)) == 0;
}

static int
dc_allowed(const struct plc_node *nd, const struct plc_choice *in)
{
	if (in->allowed_dcs == NULL || in->nallowed == 0)
		return 1;
	for (size_t i = 0; i < in->nallowed; i++)
		if (strcmp(in->allowed_dcs[i], name_of(nd->datacenter)) == 0)
			return 1;
	return 0;
}

enum verdict {
	V_ELIGIBLE = 0,
	V_NOT_IN,		/* not "in", or unreachable */
	V_EXCLUDED,		/* a copy, a copy's domain, or a datacenter
				   not allowed */
	V_FULL,			/* no capacity, or past max_fill after */
};

static int
verdict(const struct plc_node *nodes, size_t n, size_t d, uint64_t used,
    const struct plc_choice *in)
{
	const struct plc_node *nd = &nodes[d];
	uint64_t limit;

	if (nd->state != PLC_NODE_IN || !nd->reachable)
		return V_NOT_IN;
	for (size_t c = 0; c < in->ncopies; c++) {
		int k = in->copies[c];

		if (k < 0 || (size_t)k >= n)
			continue;
		if ((size_t)k == d)
			return V_EXCLUDED;	/* holds a copy */
		if (k != in->replaced &&
		    plc_same_domain(nd, &nodes[k], in->domain))
			return V_EXCLUDED;	/* shares a failure domain */
	}
	if (!dc_allowed(nd, in))
		return V_EXCLUDED;
	if (!plc_node_takes(nd))
		return V_FULL;
	limit = plc_node_fill_limit(nd, in->max_fill);
	if (used > limit || in->size > limit - used)
		return V_FULL;
	return V_ELIGIBLE;
}

static size_t
eligible(const struct plc_node *nodes, size_t n, const uint64_t *used,
    const struct plc_choice *in, uint32_t *which, size_t *nfull)
{
	size_t m = 0, full = 0;

	for (size_t i = 0; i < n; i++) {
		int v = verdict(nodes, n, i, used ? used[i] :
		    nodes[i].used_bytes, in);

		if (v == V_ELIGIBLE)
			which[m++] = (uint32_t)i;
		else if (v == V_FULL)
			full++;
	}
	if (nfull != NULL)
		*nfull = full;
	return m;
}

size_t
plc_choose_eligible(const struct plc_node *nodes, size_t n,
    const uint64_t *used, const struct plc_choice *in, uint32_t *which,
    uint32_t *weights, size_t *nfull)
{
	size_t m = eligible(nodes, n, used, in, which, nfull);

	for (size_t k = 0; weights != NULL && k < m; k++)
		weights[k] = plc_node_weight(&nodes[which[k]]);
	return m;
}

/* Scratch: per node its straw2 id and weight (from the init), then per
 * call the eligible nodes' indexes, ids and weights. */
enum { S_HID, S_WT, S_WHICH, S_IDS, S_WTS, S_N };

size_t
plc_choose_scratch_size(size_t n)
{
	return (n ? n : 1) * S_N * sizeof(uint32_t);
}

void
plc_choose_scratch_init(const struct plc_node *nodes, size_t n,
    void *scratch)
{
	int32_t *hid = (int32_t *)scratch + S_HID * n;
	uint32_t *wt = (uint32_t *)scratch + S_WT * n;

	for (size_t i = 0; i < n; i++) {
		hid[i] = plc_node_hash_id(nodes[i].id);
		wt[i] = plc_node_weight(&nodes[i]);
	}
}

int
plc_choose_dest(const struct plc_node *nodes, size_t n, uint64_t *used,
    const struct plc_choice *in, void *scratch, size_t *nfull)
{
	const int32_t *hid = (const int32_t *)scratch + S_HID * n;
	const uint32_t *wt = (const uint32_t *)scratch + S_WT * n;
	uint32_t *which = (uint32_t *)scratch + S_WHICH * n;
	int32_t *ids = (int32_t *)scratch + S_IDS * n;
	uint32_t *wts = (uint32_t *)scratch + S_WTS * n;
	size_t m, k;

	m = eligible(nodes, n, used, in, which, nfull);
	if (m == 0)
		return -1;
	for (k = 0; k < m; k++) {
		ids[k] = hid[which[k]];
		wts[k] = wt[which[k]];
	}
	k = plc_crush_straw2_choose(ids, wts, m, in->x, 0);
	used[which[k]] += in->size;
	return (int)which[k];
}

int
plc_choose_pull(const struct plc_node *nodes, size_t n, const int *copies,
    size_t ncopies, int replaced)
{
	int best = -1;

	for (size_t c = 0; c < ncopies; c++) {
		const struct plc_node *nd;

		if (copies[c] == replaced || copies[c] < 0 ||
		    (size_t)copies[c] >= n)
			continue;
		nd = &nodes[copies[c]];
		if (!nd->reachable || nd->state == PLC_NODE_OUT)
			continue;
		/* Prefer a node in state "in" over a draining one. */
		if (best < 0 || (nodes[best].state != PLC_NODE_IN &&
		    nd->state == PLC_NODE_IN))
			best = copies[c];
	}
	if (best >= 0)
		return best;
	if (replaced >= 0 && (size_t)replaced < n && nodes[replaced].reachable)
		return replaced;
	return -1;
}
