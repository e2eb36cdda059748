/* bench/bench_agent.c - ballast-agent transfer throughput on loopback.
 *
 * Starts two agents (source and destination) on loopback ports, seeds the
 * source's root, and has the destination pull:
 *   1. 1 GiB as 1 MiB objects        BENCH agent_1mib_bytes_per_sec
 *   2. 20,000 x 4 KiB objects        BENCH agent_4k_objects_per_sec
 * and, in the same run, the baseline: the same 1 MiB objects fetched from
 * the source agent by one process with the same number of transfers in
 * flight (libcurl multi, bench/rawget.c), each written to a file and
 * MD5-checked over the same bytes. No process starts per object, so the
 * ratio compares transfer paths, not process start-up.
 * BENCH agent_vs_raw_ratio is agent / baseline.
 *
 * The agents, signed requests and seeded objects are the integration
 * tests' (tests/helpers/agent_harness.h).
 *
 * Environment: BALLAST_BIN (dir with ballast-agent), BENCH_PARALLEL
 * (default 8), BENCH_MIB (default 1024), BENCH_SMALL (default 20000),
 * BENCH_DIR (default /tmp).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/rawget.h"
#include "tests/helpers/agent_harness.h"

static int parallel = 8;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *msg)
{
	fprintf(stderr, "bench_agent: %s: %s\n", msg, strerror(errno));
	exit(1);
}

static void
agent_start(struct tha_agent *a, const char *name)
{
	char mt[16];

	snprintf(mt, sizeof(mt), "%d", parallel);
	if (tha_agent_start(a, name, "--max-transfers", mt, "--set",
	    "max_tasks=100000", "--set", "max_body=67108864", "--set",
	    "log_level=warn", (char *)NULL) != 0) {
		fprintf(stderr, "bench_agent: agent %s did not start (see "
		    "%s)\n", name, a->log);
		exit(1);
	}
}

/* Writes n objects of size bytes into root under one owner. */
static struct tha_obj *
seed(const char *root, int n, size_t size)
{
	struct tha_obj *objs = tha_seed_objects(root, n, size);

	if (objs == NULL)
		die("seed write");
	return objs;
}

/* HEADs every object once, so the source has recorded each MD5 (xattr)
 * before anything is timed; both the agent and the baseline then read
 * each object exactly once. */
static void
warm(const struct tha_agent *src, const struct tha_obj *objs, int n)
{
	if (tha_head_objects(src, objs, n) != 0) {
		fprintf(stderr, "bench_agent: HEAD of a seeded object "
		    "failed\n");
		exit(1);
	}
}

/* Posts the objects to dst in assignments of at most 10,000 tasks, waits
 * for all of them, and returns the seconds taken. */
static double
run_assignments(const struct tha_agent *src, const struct tha_agent *dst,
    const struct tha_obj *objs, int n)
{
	double done0 = tha_metric(dst,
	    "ballast_agent_assignments_completed_total");
	double t0 = now_s(), failed0;
	int nassign = 0;

	failed0 = tha_metric(dst,
	    "ballast_agent_tasks_total{status=\"failed\"}");
	for (int first = 0; first < n; first += 10000) {
		char aid[37], *body;
		long st;

		body = tha_assignment_body(aid, objs + first,
		    n - first < 10000 ? n - first : 10000, src->url);
		if (body == NULL)
			die("assignment body");
		st = tha_post_assignment(dst, body);
		free(body);
		if (st != 202) {
			fprintf(stderr, "bench_agent: POST answered %ld\n", st);
			exit(1);
		}
		nassign++;
	}
	while (tha_metric(dst, "ballast_agent_assignments_completed_total") <
	    done0 + nassign)
		usleep(20000);
	t0 = now_s() - t0;
	if (tha_metric(dst, "ballast_agent_tasks_total{status=\"failed\"}") !=
	    failed0) {
		fprintf(stderr, "bench_agent: some tasks failed\n");
		exit(1);
	}
	return t0;
}

/* The same objects fetched from src by one process with parallel
 * transfers in flight (curl multi), each body written to a file and
 * MD5-checked as it arrives: the agent's work without the agent.
 * Seconds taken. */
static double
run_baseline(const struct tha_agent *src, const struct tha_obj *objs, int n)
{
	struct rawget_item *items = calloc((size_t)n, sizeof(*items));
	char out[600];
	double t0;
	long long got;

	snprintf(out, sizeof(out), "%s/baseline", tha_tmpdir());
	mkdir(out, 0755);
	if (items == NULL)
		die("baseline items");
	for (int i = 0; i < n; i++) {
		items[i].base_url = src->url;
		items[i].owner = objs[i].owner;
		items[i].id = objs[i].id;
		items[i].md5 = objs[i].md5;
	}
	t0 = now_s();
	got = rawget_run(items, n, parallel, THA_SECRET, out);
	t0 = now_s() - t0;
	free(items);
	if (got < 0) {
		fprintf(stderr, "bench_agent: baseline failed\n");
		exit(1);
	}
	return t0;
}

int
main(void)
{
	struct tha_agent src, dst;
	struct tha_obj *big, *small;
	int nbig = 1024, nsmall = 20000;
	double t_agent, t_raw, t_small;
	char workdir[256];
	const char *e;

	if ((e = getenv("BENCH_PARALLEL")) != NULL)
		parallel = atoi(e);
	if ((e = getenv("BENCH_MIB")) != NULL)
		nbig = atoi(e);
	if ((e = getenv("BENCH_SMALL")) != NULL)
		nsmall = atoi(e);
	snprintf(workdir, sizeof(workdir), "%s/ballast-bench-XXXXXX",
	    getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "/tmp");
	if (mkdtemp(workdir) == NULL)
		die("mkdtemp");
	tha_set_tmpdir(workdir);

	agent_start(&src, "src");
	agent_start(&dst, "dst");
	fprintf(stderr, "bench_agent: seeding %d x 1 MiB and %d x 4 KiB, "
	    "parallel=%d\n", nbig, nsmall, parallel);
	big = seed(src.root, nbig, 1 << 20);
	small = seed(src.root, nsmall, 4096);

	warm(&src, big, nbig);
	warm(&src, small, nsmall);
	/* Each phase starts with no dirty pages left by the one before, so
	 * no phase pays for another's writeback. */
	sync();
	t_raw = run_baseline(&src, big, nbig);
	sync();
	t_agent = run_assignments(&src, &dst, big, nbig);
	sync();
	t_small = run_assignments(&src, &dst, small, nsmall);

	printf("BENCH agent_1mib_bytes_per_sec %.0f bytes/s\n",
	    (double)nbig * (1 << 20) / t_agent);
	printf("BENCH agent_4k_objects_per_sec %.0f objects/s\n",
	    (double)nsmall / t_small);
	printf("BENCH agent_raw_1mib_bytes_per_sec %.0f bytes/s\n",
	    (double)nbig * (1 << 20) / t_raw);
	printf("BENCH agent_vs_raw_ratio %.3f ratio\n", t_raw / t_agent);

	tha_agent_stop(&src);
	tha_agent_stop(&dst);
	tha_agent_free(&src);
	tha_agent_free(&dst);
	free(big);
	free(small);
	if (getenv("BENCH_KEEP") == NULL)
		tha_cleanup();
	return 0;
}
