/* bench/bench_agent.c - ballast-agent transfer throughput on loopback.
 *
 * Starts two agents (source and destination) on loopback ports, seeds the
 * source's root, and has the destination pull:
 *   1. 1 GiB as 1 MiB objects        BENCH agent_1mib_bytes_per_sec
 *   2. 20,000 x 4 KiB objects        BENCH agent_4k_objects_per_sec
 * and, in the same run, the baseline: the same 1 MiB objects fetched from
 * the source agent with curl and hashed with md5sum, with the same
 * parallelism (xargs -P). BENCH agent_vs_raw_ratio is agent / baseline.
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

#include "lib/sign.h"
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

/* curl + md5sum for each object, xargs -P parallel. Seconds taken. */
static double
run_baseline(const struct tha_agent *src, const struct tha_obj *objs, int n)
{
	char list[600], out[600], cmd[2048];
	double t0;
	FILE *f;

	snprintf(list, sizeof(list), "%s/baseline.list", tha_tmpdir());
	snprintf(out, sizeof(out), "%s/baseline", tha_tmpdir());
	mkdir(out, 0755);
	if ((f = fopen(list, "w")) == NULL)
		die("baseline list");
	for (int i = 0; i < n; i++) {
		struct bl_sign_hdrs sh;
		char target[128];

		snprintf(target, sizeof(target), "/v1/objects/%s/%s",
		    objs[i].owner, objs[i].id);
		bl_sign_request(THA_SECRET, strlen(THA_SECRET), "GET", target,
		    NULL, 0, time(NULL), &sh);
		fprintf(f, "%s%s %s %s %s/%s\n", src->url, target, sh.date,
		    sh.signature, out, objs[i].id);
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd), "xargs -P %d -L 1 sh -c 'curl -sf -o \"$3\" "
	    "-H \"X-Ballast-Date: $1\" -H \"X-Ballast-Signature: $2\" \"$0\" "
	    "&& md5sum \"$3\" >/dev/null' < '%s'", parallel, list);
	t0 = now_s();
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_agent: baseline failed\n");
		exit(1);
	}
	return now_s() - t0;
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
