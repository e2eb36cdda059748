/* bench/bench_plan_cli.c - `ballastctl plan` end to end on a 10M-row CSV
 * (make bench-plan).
 *
 * Writes a cluster of 1,000 nodes (4 datacenters x 10 racks x 25 hosts)
 * and an objects CSV of N rows (default 10M, BENCH_PLAN_ROWS overrides) of
 * 3 copies each into BENCH_PLAN_DIR (default /tmp/ballast-bench-plan),
 * once: a second run reuses the files. Then runs, in the same run:
 *   awk -F, '{ n += NF } END { print n }' objects.csv    (the baseline)
 *   bin/ballastctl plan --cluster ... --objects ... --json >/dev/null
 * in turn, BENCH_PLAN_ROUNDS times (default 3), and measures wall time and
 * max RSS of each with wait4(). Prints:
 *   BENCH plan_cli_10m_seconds        ballastctl plan, wall, fastest round
 *   BENCH plan_cli_10m_peak_rss_mib   its max RSS
 *   BENCH plan_cli_awk_split_seconds  the awk pass, wall, fastest round
 *   BENCH plan_cli_over_awk_ratio     the two fastest times, divided
 *   BENCH plan_cli_over_awk_worst_round_ratio  the highest one round gave
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#define NODES	1000

static uint64_t
next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_plan_cli: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Node usage follows the generated copies, capacities are in shares of
 * 3:4:5 with the mean fill at 0.5, so about a third of the nodes are
 * over-full. */
static void
write_files(const char *dir, uint64_t rows)
{
	char path[512], tmp[600];
	uint64_t *used = calloc(NODES, sizeof(*used)), total = 0, s;
	FILE *f;

	if (used == NULL)
		die("calloc");
	snprintf(path, sizeof(path), "%s/objects.csv", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		die(tmp);
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	fputs("id,owner,size,md5,copies,reads_per_hour,affinity,"
	    "allowed_dcs\n", f);
	s = 0x9e3779b97f4a7c15ull;
	for (uint64_t i = 0; i < rows; i++) {
		uint64_t r = next(&s), size;
		uint32_t c[3];

		size = (uint64_t)4096 << (r % 15);
		size += (r >> 8) % size;
		for (int k = 0; k < 3; k++) {
			int ok;

			do {
				uint64_t x = next(&s);

				c[k] = (uint32_t)(x % 40 == 0 ? (x >> 8) % 100 :
				    (x >> 8) % NODES);
				ok = 1;
				for (int j = 0; j < k; j++)
					ok &= c[j] != c[k];
			} while (!ok);
			used[c[k]] += size;
			total += size;
		}
		fprintf(f, "obj-%" PRIu64 ",tenant%u,%" PRIu64 ",,node-%04u;"
		    "node-%04u;node-%04u,%u,,\n", i, (unsigned)(r >> 40) % 50,
		    size, c[0], c[1], c[2], (unsigned)((r >> 32) % 5000));
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		die(path);
	snprintf(path, sizeof(path), "%s/cluster.json", dir);
	if ((f = fopen(path, "w")) == NULL)
		die(path);
	fputs("{\"failure_domain\":\"host\",\"nodes\":[\n", f);
	for (unsigned i = 0; i < NODES; i++) {
		uint64_t cap = (uint64_t)((double)total / NODES / 0.5 *
		    (double)(3 + i % 3) / 4.0);

		if (cap <= used[i])
			cap = used[i] + 1;
		fprintf(f, "%s{\"id\":\"node-%04u\",\"region\":\"%s\","
		    "\"datacenter\":\"dc%u\",\"rack\":\"rack%u\",\"host\":"
		    "\"host%u\",\"capacity_bytes\":%" PRIu64 ",\"used_bytes\":"
		    "%" PRIu64 ",\"state\":\"in\"}\n", i ? "," : "", i,
		    i < 500 ? "eu" : "us", i / 250, i / 25, i, cap, used[i]);
	}
	fputs("]}\n", f);
	if (fclose(f) != 0)
		die(path);
	free(used);
}

/* Runs argv with stdout to /dev/null; returns wall seconds, *rss_kib. */
static double
measure(char *const argv[], long *rss_kib)
{
	struct rusage ru;
	double t0 = now();
	int st;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) < 0)
		die("wait4");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench_plan_cli: %s exited %d\n", argv[0],
		    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		exit(1);
	}
	*rss_kib = ru.ru_maxrss;
	return now() - t0;
}

int
main(void)
{
	const char *dir = getenv("BENCH_PLAN_DIR");
	const char *rows_s = getenv("BENCH_PLAN_ROWS");
	const char *bin = getenv("BALLAST_BIN");
	uint64_t rows = rows_s ? strtoull(rows_s, NULL, 10) : 10000000;
	char csv[512], clus[512], ctl[512], stamp[512], want[64];
	const char *rounds_s = getenv("BENCH_PLAN_ROUNDS");
	int rounds = rounds_s ? atoi(rounds_s) : 3;
	double t_awk = 0, t_plan = 0, worst = 0;
	long rss_awk, rss_plan;
	FILE *f;

	if (dir == NULL)
		dir = "/tmp/ballast-bench-plan";
	if (bin == NULL)
		bin = "bin";
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die(dir);
	snprintf(csv, sizeof(csv), "%s/objects.csv", dir);
	snprintf(clus, sizeof(clus), "%s/cluster.json", dir);
	snprintf(ctl, sizeof(ctl), "%s/ballastctl", bin);
	snprintf(stamp, sizeof(stamp), "%s/rows", dir);
	snprintf(want, sizeof(want), "%" PRIu64 "\n", rows);
	{
		char have[64] = "";

		if ((f = fopen(stamp, "r")) != NULL) {
			if (fgets(have, sizeof(have), f) == NULL)
				have[0] = '\0';
			fclose(f);
		}
		if (strcmp(have, want) != 0) {
			double t0 = now();

			write_files(dir, rows);
			if ((f = fopen(stamp, "w")) == NULL ||
			    fputs(want, f) < 0 || fclose(f) != 0)
				die(stamp);
			fprintf(stderr, "bench_plan_cli: wrote %" PRIu64
			    " rows in %.1f s\n", rows, now() - t0);
		}
	}
	{
		/* Warm the page cache so both runs read from memory. */
		char *const cat[] = { "cat", csv, NULL };

		measure(cat, &rss_awk);
	}
	/* This machine's speed drifts by half over minutes: the two run in
	 * turn, rounds times, and each keeps its fastest run. The worst
	 * round's ratio is printed too. */
	if (rounds < 1)
		rounds = 1;
	for (int i = 0; i < rounds; i++) {
		char *const awk[] = { "awk", "-F,",
		    "{ n += NF } END { print n }", csv, NULL };
		char *const plan[] = { ctl, "plan", "--cluster", clus,
		    "--objects", csv, "--now", "2026-01-01T12:00:00Z",
		    "--json", NULL };
		double a = measure(awk, &rss_awk);
		double b = measure(plan, &rss_plan);

		if (i == 0 || a < t_awk)
			t_awk = a;
		if (i == 0 || b < t_plan)
			t_plan = b;
		if (b / a > worst)
			worst = b / a;
	}
	printf("BENCH plan_cli_10m_seconds %.3f s\n", t_plan);
	printf("BENCH plan_cli_10m_peak_rss_mib %.1f MiB\n",
	    (double)rss_plan / 1024.0);
	printf("BENCH plan_cli_awk_split_seconds %.3f s\n", t_awk);
	printf("BENCH plan_cli_over_awk_ratio %.2f ratio\n", t_plan / t_awk);
	printf("BENCH plan_cli_over_awk_worst_round_ratio %.2f ratio\n", worst);
	return 0;
}
