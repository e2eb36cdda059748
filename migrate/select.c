/* migrate/select.c - where an evacuated copy goes, and where it is read
 * from. Pure: the same rules as the planner (DESIGN 5), CRUSH straw2 among
 * the eligible nodes. */
#include "migrate/engine.h"

#include <string.h>

#include "placement/crush.h"

static const char *
domain_of(const struct mig_node *nd, int domain)
{
	switch (domain) {
	case MIG_DOMAIN_RACK:
		return nd->rack;
	case MIG_DOMAIN_DATACENTER:
		return nd->dc;
	default:
		return nd->host;
	}
}

/* Whether a and b share the failure domain. Locations compare as the
 * whole path above the domain too, so rack "r1" of dc1 is not rack "r1"
 * of dc2. An empty name never matches anything but its own node. */
static int
same_domain(const struct mig_node *a, const struct mig_node *b, int domain)
{
	const char *da = domain_of(a, domain), *db = domain_of(b, domain);

	if (a == b)
		return 1;
	if (da == NULL || db == NULL || *da == '\0' || *db == '\0')
		return 0;
	if (strcmp(da, db) != 0)
		return 0;
	if (domain <= MIG_DOMAIN_RACK && strcmp(a->dc ? a->dc : "",
	    b->dc ? b->dc : "") != 0)
		return 0;
	return 1;
}

static int
dc_allowed(const struct mig_node *nd, const struct mig_choice_in *in)
{
	if (in->allowed_dcs == NULL || in->nallowed == 0)
		return 1;
	for (size_t i = 0; i < in->nallowed; i++)
		if (nd->dc != NULL && strcmp(in->allowed_dcs[i], nd->dc) == 0)
			return 1;
	return 0;
}

static uint32_t
weight_16(const struct mig_node *nd)
{
	double w = nd->weight > 0 ? nd->weight :
	    (double)nd->capacity / (double)(1ULL << 40);

	if (w <= 0)
		w = 1.0 / 65536;
	if (w > 32767)
		w = 32767;
	return (uint32_t)(w * 65536.0) ? (uint32_t)(w * 65536.0) : 1;
}

int
mig_choose_dest(struct mig_node *nodes, size_t n,
    const struct mig_choice_in *in, void *scratch, const char **reason)
{
	int32_t *ids = scratch;
	uint32_t *wts = (uint32_t *)(ids + n);
	int32_t *which = ids + 2 * n;
	size_t m = 0, full = 0, k;

	for (size_t i = 0; i < n; i++) {
		struct mig_node *nd = &nodes[i];
		int excluded = 0;

		if (nd->state != 0 || !nd->reachable)
			continue;
		for (size_t c = 0; c < in->ncopies && !excluded; c++) {
			const struct mig_node *cp = &nodes[in->copies[c]];

			if ((size_t)in->copies[c] == i)
				excluded = 1;
			else if (in->copies[c] != in->replaced &&
			    same_domain(nd, cp, in->domain))
				excluded = 1;
		}
		if (excluded || !dc_allowed(nd, in))
			continue;
		if (nd->capacity == 0 || (double)(nd->used + in->size) >
		    in->max_fill * (double)nd->capacity) {
			full++;
			continue;
		}
		ids[m] = nd->hash_id;
		wts[m] = weight_16(nd);
		which[m] = (int32_t)i;
		m++;
	}
	if (m == 0) {
		*reason = full ? "destination_insufficient_space" :
		    "no_eligible_destination";
		return -1;
	}
	k = plc_crush_straw2_choose(ids, wts, m, in->x, 0);
	nodes[which[k]].used += in->size;
	*reason = NULL;
	return which[k];
}

int
mig_choose_pull(const struct mig_node *nodes, size_t n, const int *copies,
    size_t ncopies, int replaced)
{
	int best = -1;

	for (size_t c = 0; c < ncopies; c++) {
		const struct mig_node *nd;

		if (copies[c] == replaced || copies[c] < 0 ||
		    (size_t)copies[c] >= n)
			continue;
		nd = &nodes[copies[c]];
		if (!nd->reachable || nd->state == 2)
			continue;
		/* Prefer a node in state "in" over a draining one. */
		if (best < 0 || (nodes[best].state != 0 && nd->state == 0))
			best = copies[c];
	}
	if (best >= 0)
		return best;
	if (replaced >= 0 && (size_t)replaced < n && nodes[replaced].reachable)
		return replaced;
	return -1;
}
