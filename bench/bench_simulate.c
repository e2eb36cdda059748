/* bench/bench_simulate.c - ballastctl simulate's scale model (make
 * bench-simulate; docs/simulate.md "Scale model").
 *
 *  1. Accuracy: 100 nodes + 10 joining, 1M objects (log-normal sizes, 2
 *     copies), unlimited budgets, to convergence: the exact model (one
 *     entry per object) is the baseline; the scale model with entries of
 *     10 and 100 objects must move the same bytes within 2%.
 *  2. Scale: 10,000 nodes + 500 joining, 1 billion objects in entries of
 *     1,000, 100 cycles of the default preset. Target: < 60 s.
 *
 * Runs bin/ballastctl (BALLAST_BIN, default bin) on files it writes to a
 * temp dir; prints BENCH lines with ratios against the exact run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

static char dir[256];

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
write_cluster(const char *name, int n, long long cap)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs("{\"failure_domain\":\"host\",\"nodes\":[", f);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s{\"id\":\"n%05d\",\"region\":\"eu\",\"datacenter\":"
		    "\"dc%d\",\"rack\":\"r%d\",\"host\":\"h%05d\","
		    "\"capacity_bytes\":%lld,\"used_bytes\":0,\"state\":\"in\"}",
		    i ? "," : "", i, i % 4, i % (n / 25 + 1), i, cap);
	fputs("]}\n", f);
	return fclose(f);
}

static int
write_scenario(const char *name, long long objects, int add, long long cap,
    int max_cycles)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "{\"duration_s\":1e9,\"max_cycles\":%d,\"throughput\":"
	    "{\"node_bytes_per_sec\":1e9},\"events\":[{\"at_s\":0,\"grow\":"
	    "{\"objects\":%lld,\"size\":{\"median\":1048576,\"sigma\":1.0},"
	    "\"copies\":2,\"seed\":1}},{\"at_s\":0,\"add_nodes\":[",
	    max_cycles, objects);
	for (int i = 0; i < add; i++)
		fprintf(f, "%s{\"id\":\"x%05d\",\"region\":\"eu\",\"datacenter\":"
		    "\"dc%d\",\"rack\":\"rx%d\",\"host\":\"hx%05d\","
		    "\"capacity_bytes\":%lld,\"state\":\"in\"}", i ? "," : "", i,
		    i % 4, i, i, cap);
	fputs("]}]}\n", f);
	return fclose(f);
}

/* Runs simulate; fills the totals' bytes and the wall time. */
static int
simulate(const char *cluster, const char *scenario, const char *policy,
    int bundle, long long *bytes, long long *cycles, double *secs)
{
	const char *bin = getenv("BALLAST_BIN") ? getenv("BALLAST_BIN") : "bin";
	char cmd[2048], out[512];
	json_error_t je;
	json_t *j;
	double t0;
	int st;

	snprintf(out, sizeof(out), "%s/out.json", dir);
	snprintf(cmd, sizeof(cmd), "'%s/ballastctl' simulate --cluster '%s/%s' "
	    "--objects '%s/none.csv' --scenario '%s/%s' %s%s%s --bundle %d "
	    "--json >'%s'", bin, dir, cluster, dir, dir, scenario,
	    policy ? "--policy '" : "--preset default", policy ? dir : "",
	    policy ? "/p.json'" : "", bundle, out);
	t0 = now_s();
	st = system(cmd);
	*secs = now_s() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench-simulate: %s: failed\n", cmd);
		return -1;
	}
	if ((j = json_load_file(out, 0, &je)) == NULL)
		return -1;
	*bytes = json_integer_value(json_object_get(json_object_get(j,
	    "totals"), "bytes_rebalance"));
	*cycles = json_integer_value(json_object_get(json_object_get(j,
	    "totals"), "cycles"));
	json_decref(j);
	return 0;
}

int
main(void)
{
	long long eb, ec, b, c;
	double et, t;
	char path[512];
	FILE *f;
	int rc = 1;

	snprintf(dir, sizeof(dir), "/tmp/bench_simulate.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/none.csv", dir);
	if ((f = fopen(path, "w")) == NULL)
		return 1;
	fputs("id,owner,size,md5,copies,reads_per_hour,affinity,allowed_dcs\n",
	    f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/p.json", dir);
	if ((f = fopen(path, "w")) == NULL)
		return 1;
	fputs("{\"preset\":\"default\",\"max_moves_per_cycle\":null,"
	    "\"max_egress_bytes_per_cycle\":null,\"max_cost_per_cycle\":null}\n",
	    f);
	fclose(f);
	/* ~3.3 TB of copies on 100 nodes of 64 GiB: about half full. */
	if (write_cluster("c100.json", 100, 64ll << 30) < 0 ||
	    write_scenario("s1m.json", 1000000, 10, 64ll << 30, 40) < 0 ||
	    write_cluster("c10k.json", 10000, 640ll << 30) < 0 ||
	    write_scenario("s1b.json", 1000000000, 500, 640ll << 30, 100) < 0)
		goto out;
	if (simulate("c100.json", "s1m.json", "p", 1, &eb, &ec, &et) < 0)
		goto out;
	printf("BENCH simulate_exact_1m_objects %.2f s\n", et);
	printf("BENCH simulate_exact_1m_bytes_moved %lld bytes\n", eb);
	for (int bu = 10; bu <= 100; bu *= 10) {
		if (simulate("c100.json", "s1m.json", "p", bu, &b, &c, &t) < 0)
			goto out;
		printf("BENCH simulate_scale_1m_bundle%d %.2f s (exact/scale "
		    "time %.1fx)\n", bu, t, t > 0 ? et / t : 0);
		printf("BENCH simulate_scale_1m_bundle%d_bytes_ratio %.4f "
		    "ratio (scale/exact bytes moved; target 0.98-1.02)\n", bu,
		    (double)b / (double)eb);
	}
	if (simulate("c10k.json", "s1b.json", NULL, 1000, &b, &c, &t) < 0)
		goto out;
	printf("BENCH simulate_scale_10k_nodes_1b_objects_%lld_cycles %.2f s "
	    "(target < 60 s; %.2fx the exact 1M-object run)\n", c, t,
	    et > 0 ? t / et : 0);
	rc = 0;
out:
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		rc = 1;
	return rc;
}
