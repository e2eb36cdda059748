/* bench/bench_plan.c - the planner at scale (make bench-plan).
 *
 * A generated cluster of 1,000 nodes (4 datacenters x 10 racks x 25 hosts)
 * with capacities in shares of 3:4:5, and objects of 3 copies on distinct
 * hosts, a tenth of the nodes taking an extra 2.5% of the copies, streamed
 * from a seeded generator into the planner the way the controller streams
 * rows from PostgreSQL. Prints:
 *   BENCH plan_stream_only_1m_seconds      generating + hashing 1M objects
 *   BENCH plan_1m_objects_seconds          planning 1M objects (default policy)
 *   BENCH plan_1m_over_stream_ratio        the two above, divided
 *   BENCH plan_10m_objects_seconds         the same with 10M objects
 *   BENCH plan_10m_over_stream_ratio
 *   BENCH plan_10m_peak_rss_mib            peak RSS of the process
 *   BENCH plan_bytes_over_min_ratio        bytes moved / min_bytes, 1M
 *                                          objects, no budgets, target 0.01
 *   BENCH plan_full_balance_imbalance      the imbalance that run reaches
 *   BENCH plan_same_host_share_before/after  the share of moves within a
 *                                          host, 20 hosts x 10 disks, with
 *                                          prefer_same_host off and on
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "placement/cluster.h"
#include "placement/planner.h"
#include "tests/helpers/th_samehost.h"

#define NODES	1000

struct gen {
	uint64_t	s;
	uint64_t	i;
	char		id[32];
	size_t		id_len;
	uint32_t	copies[3];
	uint64_t	size;
	double		reads;
};

static uint64_t
next(struct gen *g)
{
	g->s ^= g->s << 13;
	g->s ^= g->s >> 7;
	g->s ^= g->s << 17;
	return g->s;
}

/* Fills g with object number g->i and advances. */
static void
gen_object(struct gen *g)
{
	uint64_t v = g->i++, r;
	char tmp[24];
	size_t n = 0;

	memcpy(g->id, "obj-", 4);
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t k = 0; k < n; k++)
		g->id[4 + k] = tmp[n - 1 - k];
	g->id_len = 4 + n;
	g->id[g->id_len] = '\0';
	r = next(g);
	/* 4 KiB to 64 MiB, most of them small. */
	g->size = (uint64_t)4096 << (r % 15);
	g->size += (r >> 8) % g->size;
	g->reads = (double)((r >> 32) % 5000);
	for (int k = 0; k < 3; k++) {
		uint32_t c;
		int ok;

		do {
			uint64_t x = next(g);

			c = (uint32_t)(x % 40 == 0 ? (x >> 8) % 100 :
			    (x >> 8) % NODES);
			ok = 1;
			for (int j = 0; j < k; j++)
				ok &= g->copies[j] != c;
		} while (!ok);
		g->copies[k] = c;
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		abort();
	return d;
}

static struct plc_cluster *
make_cluster(void)
{
	struct plc_cluster *cl = plc_cluster_new();
	char buf[64];

	cl->nodes = calloc(NODES, sizeof(*cl->nodes));
	cl->n = NODES;
	for (size_t i = 0; i < NODES; i++) {
		struct plc_node *nd = &cl->nodes[i];

		snprintf(buf, sizeof(buf), "node-%04zu", i);
		nd->id = xstrdup(buf);
		nd->region = xstrdup(i < 500 ? "eu" : "us");
		snprintf(buf, sizeof(buf), "dc%zu", i / 250);
		nd->datacenter = xstrdup(buf);
		snprintf(buf, sizeof(buf), "rack%zu", i / 25);
		nd->rack = xstrdup(buf);
		snprintf(buf, sizeof(buf), "host%zu", i);
		nd->host = xstrdup(buf);
		nd->state = PLC_NODE_IN;
		nd->reachable = 1;
		nd->latency_ms = (double)(i % 40);
		nd->weight = 1;
	}
	return cl;
}

/* Streams n objects: sets used bytes when cl != NULL, feeds p when
 * p != NULL. Returns the seconds it took. */
static double
stream(uint64_t n, struct plc_cluster *cl, struct plc_planner *p,
    uint64_t *sink)
{
	struct gen g = { 0x9e3779b97f4a7c15ull, 0, { 0 }, 0, { 0 }, 0, 0 };
	struct plc_object obj;
	struct bl_err err;
	double t0 = now();

	memset(&obj, 0, sizeof(obj));
	for (uint64_t i = 0; i < n; i++) {
		gen_object(&g);
		obj.handle = i;
		obj.key = plc_object_key(g.id, g.id_len);
		obj.size = g.size;
		obj.copies = g.copies;
		obj.ncopies = 3;
		obj.reads_per_hour = g.reads;
		*sink += obj.key;
		if (cl != NULL)
			for (int k = 0; k < 3; k++)
				cl->nodes[g.copies[k]].used_bytes += g.size;
		if (p != NULL && plc_planner_add(p, &obj, &err) < 0) {
			fprintf(stderr, "bench_plan: %s\n", err.msg);
			exit(1);
		}
	}
	return now() - t0;
}

/* Capacities of 3:4:5 shares with the mean fill at 0.5. */
static void
set_capacities(struct plc_cluster *cl)
{
	uint64_t total = 0;

	for (size_t i = 0; i < cl->n; i++)
		total += cl->nodes[i].used_bytes;
	for (size_t i = 0; i < cl->n; i++)
		cl->nodes[i].capacity_bytes = (uint64_t)((double)total /
		    (double)cl->n / 0.5 * (double)(3 + i % 3) / 4.0);
}

static void
run(uint64_t n, const char *tag, int full)
{
	struct plc_cluster *cl = make_cluster();
	struct plc_planner_opts o;
	struct plc_planner *p;
	struct plc_plan plan;
	struct bl_err err;
	uint64_t sink = 0;
	double t_stream, t0, t_plan;

	stream(n, cl, NULL, &sink);	/* the cluster's usage */
	set_capacities(cl);
	t_stream = stream(n, NULL, NULL, &sink);
	plc_planner_opts_init(&o);
	if (!full) {
		/* the default preset's budgets */
		o.max_moves = 1000;
		o.max_egress_bytes = 10ll << 30;
		o.max_cost = 100;
	} else {
		o.target = 0.01;
		o.cand_per_source = 1 << 16;	/* as ballastctl plan does */
	}
	t0 = now();
	if ((p = plc_planner_new(cl, &o, &err)) == NULL) {
		fprintf(stderr, "bench_plan: %s\n", err.msg);
		exit(1);
	}
	stream(n, NULL, p, &sink);
	if (plc_planner_run(p, &plan, &err) < 0) {
		fprintf(stderr, "bench_plan: %s\n", err.msg);
		exit(1);
	}
	t_plan = now() - t0;
	fprintf(stderr, "bench_plan: %s: %" PRIu64 " objects, imbalance %.4f "
	    "-> %.4f, %zu moves, %" PRIu64 " bytes, min_bytes %" PRIu64
	    ", stop %s (sink %" PRIu64 ")\n", tag, n, plan.before.imbalance,
	    plan.after.imbalance, plan.n_moves, plan.bytes,
	    plan.before.min_bytes, plc_stop_name(plan.stop), sink % 10);
	if (full) {
		printf("BENCH plan_bytes_over_min_ratio %.4f ratio\n",
		    (double)plan.bytes / (double)plan.before.min_bytes);
		printf("BENCH plan_full_balance_imbalance %.4f ratio\n",
		    plan.after.imbalance);
	} else {
		printf("BENCH plan_stream_only_%s_seconds %.3f s\n", tag,
		    t_stream);
		printf("BENCH plan_%s_objects_seconds %.3f s\n", tag, t_plan);
		printf("BENCH plan_%s_over_stream_ratio %.2f ratio\n", tag,
		    t_plan / t_stream);
	}
	fflush(stdout);
	plc_plan_release(&plan);
	plc_planner_free(p);
	plc_cluster_free(cl);
}

int
main(int argc, char **argv)
{
	struct rusage ru;

	run(1000000, "1m", 0);
	run(10000000, "10m", 0);
	getrusage(RUSAGE_SELF, &ru);
	printf("BENCH plan_10m_peak_rss_mib %.1f MiB\n",
	    (double)ru.ru_maxrss / 1024.0);
	run(1000000, "1m", 1);
	{
		size_t n0, n1;
		int ok0, ok1;
		double off = th_samehost_share(0, &n0, &ok0);
		double on = th_samehost_share(1, &n1, &ok1);

		printf("BENCH plan_same_host_share_before %.3f ratio\n", off);
		printf("BENCH plan_same_host_share_after %.3f ratio\n", on);
		fprintf(stderr, "bench_plan: same host: %zu moves before, %zu "
		    "after, failure domains %s\n", n0, n1, ok0 && ok1 ?
		    "held" : "BROKEN");
	}
	return 0;
}
