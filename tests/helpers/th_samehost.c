/* tests/helpers/th_samehost.c - see th_samehost.h. */
#include "tests/helpers/th_samehost.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement/planner.h"

/* A map of 20 hosts x 10 disks, 3 copies on distinct hosts, the first
 * disk of every host over-full: the same-host share of the planned moves
 * with prefer_same_host off and on (issue #13). */
struct plc_cluster *
th_samehost_cluster(void)
{
	struct plc_cluster *cl = plc_cluster_new();
	char buf[64];

	cl->nodes = calloc(200, sizeof(*cl->nodes));
	cl->n = 200;
	for (size_t i = 0; i < 200; i++) {
		struct plc_node *nd = &cl->nodes[i];

		snprintf(buf, sizeof(buf), "h%02zu.d%zu", i / 10, i % 10);
		nd->id = strdup(buf);
		nd->region = strdup("r");
		nd->datacenter = strdup("dc");
		snprintf(buf, sizeof(buf), "rack%zu", i / 50);
		nd->rack = strdup(buf);
		snprintf(buf, sizeof(buf), "h%02zu", i / 10);
		nd->host = strdup(buf);
		nd->state = PLC_NODE_IN;
		nd->reachable = 1;
		nd->latency_ms = -1;
		nd->weight = 1;
		nd->capacity_bytes = 1ull << 40;
	}
	return cl;
}

/* Plans 20,000 objects; returns the share of moves within a host and
 * checks that no object ends with two copies on one host. */
double
th_samehost_share(int prefer, size_t *nmoves, int *domains_ok)
{
	struct plc_cluster *cl = th_samehost_cluster();
	static uint32_t cp[20000][3];
	struct plc_planner_opts o;
	struct plc_planner *p;
	struct plc_plan plan;
	struct bl_err err;
	uint64_t s = 12345;
	size_t same = 0;

	*domains_ok = 1;
	for (size_t i = 0; i < 20000; i++) {
		for (int k = 0; k < 3; k++) {
			int ok;

			do {
				s ^= s << 13; s ^= s >> 7; s ^= s << 17;
				/* disk 0 of a host is picked 3 times as often */
				cp[i][k] = (uint32_t)((s >> 8) % 20 * 10 +
				    ((s >> 40) % 13 < 4 ? 0 : (s >> 40) % 13 - 3));
				ok = 1;
				for (int j = 0; j < k; j++)
					ok &= cp[i][j] / 10 != cp[i][k] / 10;
			} while (!ok);
			cl->nodes[cp[i][k]].used_bytes += 16ull << 20;
		}
	}
	for (size_t i = 0; i < 200; i++)
		cl->nodes[i].capacity_bytes = 20000ull * 3 * (16ull << 20) /
		    200 * 2;	/* mean fill 0.5 */
	plc_planner_opts_init(&o);
	o.prefer_same_host = prefer;
	o.max_moves = 2000;
	if ((p = plc_planner_new(cl, &o, &err)) == NULL)
		abort();
	for (size_t i = 0; i < 20000; i++) {
		char id[32];
		struct plc_object obj;

		memset(&obj, 0, sizeof(obj));
		snprintf(id, sizeof(id), "o%zu", i);
		obj.handle = i;
		obj.key = plc_object_key(id, strlen(id));
		obj.size = 16ull << 20;
		obj.copies = cp[i];
		obj.ncopies = 3;
		if (plc_planner_add(p, &obj, &err) < 0)
			abort();
	}
	if (plc_planner_run(p, &plan, &err) < 0)
		abort();
	for (size_t i = 0; i < plan.n_moves; i++) {
		const struct plc_move *m = &plan.moves[i];

		same += m->link == PLC_LINK_SAME_HOST;
		cp[m->handle][0] = cp[m->handle][0] == m->from ? m->to :
		    cp[m->handle][0];
		cp[m->handle][1] = cp[m->handle][1] == m->from ? m->to :
		    cp[m->handle][1];
		cp[m->handle][2] = cp[m->handle][2] == m->from ? m->to :
		    cp[m->handle][2];
	}
	for (size_t i = 0; i < 20000; i++)
		if (cp[i][0] / 10 == cp[i][1] / 10 ||
		    cp[i][0] / 10 == cp[i][2] / 10 ||
		    cp[i][1] / 10 == cp[i][2] / 10)
			*domains_ok = 0;
	*nmoves = plan.n_moves;
	plc_plan_release(&plan);
	plc_planner_free(p);
	plc_cluster_free(cl);
	return *nmoves ? (double)same / (double)*nmoves : 0;
}
