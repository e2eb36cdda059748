/* bench/bench_crush.c - CRUSH mapping throughput against Ceph's libcrush,
 * measured in the same run on the same compiled map.
 *
 * Two maps, all straw2 at weight 1.0, optimal tunables, 3 replicas:
 *   hier1000:   root > 10 racks > 10 hosts > 10 devices
 *   flat100x10: root > 100 hosts > 10 devices
 * and two rules on each, "take root; chooseleaf_{firstn,indep} 0 type host;
 * emit".
 *
 * The map is written in crushtool's text syntax, compiled with `crushtool
 * -c`, and the JSON of `crushtool --dump` is what ballast loads, so both
 * sides map through the same map. The reference is Debian's crushtool,
 * whose `--test` loop calls libcrush's crush_do_rule() once per input.
 * crushtool has no timer of its own, so it runs as a child and its CPU time
 * (user + system, from wait4) is taken, and ballast's loop is timed in CPU
 * time too. Two figures come out of crushtool:
 *   crushtool: the whole --test loop, minus a run over one input (start-up,
 *     map decoding). This includes CrushTester's per-input work around the
 *     mapper: a std::vector per result, crush_init_workspace() on every
 *     call, per-device counters.
 *   libcrush_est: the same, minus a run over the same inputs of a rule on
 *     the same map that does nothing ("take osd.0; emit"), which removes
 *     that per-input harness too. It is an estimate of crush_do_rule() alone;
 *     the 2-step rule still costs a little, so it leans in libcrush's
 *     favour.
 * Each figure is the best of ROUNDS interleaved rounds. Before timing,
 * ballast's output is compared with `crushtool --show-mappings` on x =
 * 0..VERIFY-1 of every case; a difference fails the bench.
 *
 * BENCH_CRUSH_INPUTS (default 200000) sets the inputs per timed run.
 */
#include "lib/file.h"
#include "placement/crush.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REPLICAS	3
#define ROUNDS		3
#define VERIFY		20000
#define RULE_FIRSTN	0
#define RULE_INDEP	1
#define RULE_NOOP	2

static char tmpdir[64];

struct bcase {
	const char		*name;
	int			 map;	/* index into maps[] */
	int			 rule;
	double			 ballast, crushtool, libcrush;	/* best, /s */
};

struct bmap {
	const char		*name;
	int			 racks, hosts, devs;
	struct plc_crush	*c;
	char			 bin[128];
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
    noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench_crush: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
tv_sec(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Runs argv with stdout and stderr to /dev/null (or stdout to out, if
 * given); returns its CPU seconds, dies if it fails. */
static double
run_child(char *const argv[], const char *out)
{
	struct rusage ru;
	int st;
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		int o = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600) :
		    null;

		if (null < 0 || o < 0)
			_exit(126);
		dup2(o, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) != pid)
		die("wait4: %s", strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("%s failed (install ceph-base: make deps)", argv[0]);
	return tv_sec(ru.ru_utime) + tv_sec(ru.ru_stime);
}

static void
write_map(const struct bmap *m, const char *path)
{
	FILE *f = fopen(path, "w");
	int dev = 0, bid = -2, ntop = m->racks ? m->racks : m->hosts;

	if (f == NULL)
		die("%s: cannot write", path);
	fputs("tunable choose_local_tries 0\n"
	    "tunable choose_local_fallback_tries 0\n"
	    "tunable choose_total_tries 50\n"
	    "tunable chooseleaf_descend_once 1\n"
	    "tunable chooseleaf_vary_r 1\n"
	    "tunable chooseleaf_stable 1\n"
	    "tunable straw_calc_version 1\n"
	    "tunable allowed_bucket_algs 54\n", f);
	for (int i = 0; i < ntop * (m->racks ? m->hosts : 1) * m->devs; i++)
		fprintf(f, "device %d osd.%d\n", i, i);
	fputs("type 0 osd\ntype 1 host\ntype 3 rack\ntype 11 root\n", f);
	for (int r = 0; r < (m->racks ? m->racks : 1); r++) {
		for (int h = 0; h < m->hosts; h++) {
			int hn = r * m->hosts + h;

			fprintf(f, "host host%d {\n\tid %d\n\talg straw2\n"
			    "\thash 0\n", hn, bid--);
			for (int d = 0; d < m->devs; d++)
				fprintf(f, "\titem osd.%d weight 1.000\n", dev++);
			fputs("}\n", f);
		}
		if (m->racks) {
			fprintf(f, "rack rack%d {\n\tid %d\n\talg straw2\n"
			    "\thash 0\n", r, bid--);
			for (int h = 0; h < m->hosts; h++)
				fprintf(f, "\titem host%d weight %d.000\n",
				    r * m->hosts + h, m->devs);
			fputs("}\n", f);
		}
	}
	fputs("root default {\n\tid -1\n\talg straw2\n\thash 0\n", f);
	for (int i = 0; i < ntop; i++)
		fprintf(f, "\titem %s%d weight %d.000\n", m->racks ? "rack" :
		    "host", i, m->devs * (m->racks ? m->hosts : 1));
	fputs("}\n", f);
	fputs("rule firstn {\n\tid 0\n\ttype replicated\n\tmin_size 1\n"
	    "\tmax_size 10\n\tstep take default\n"
	    "\tstep chooseleaf firstn 0 type host\n\tstep emit\n}\n"
	    "rule indep {\n\tid 1\n\ttype erasure\n\tmin_size 1\n"
	    "\tmax_size 10\n\tstep take default\n"
	    "\tstep chooseleaf indep 0 type host\n\tstep emit\n}\n"
	    "rule noop {\n\tid 2\n\ttype replicated\n\tmin_size 1\n"
	    "\tmax_size 10\n\tstep take osd.0\n\tstep emit\n}\n", f);
	if (fclose(f) != 0)
		die("%s: write failed", path);
}

/* Writes, compiles and loads map m. */
static void
prepare(struct bmap *m)
{
	char txt[128], json[128], *text;
	struct bl_err err;
	size_t len;

	snprintf(txt, sizeof(txt), "%s/%s.txt", tmpdir, m->name);
	snprintf(m->bin, sizeof(m->bin), "%s/%s.bin", tmpdir, m->name);
	snprintf(json, sizeof(json), "%s/%s.json", tmpdir, m->name);
	write_map(m, txt);
	run_child((char *[]){ "crushtool", "-c", txt, "-o", m->bin, NULL },
	    NULL);
	run_child((char *[]){ "crushtool", "-i", m->bin, "--dump", NULL },
	    json);
	if ((text = bl_read_file(json, PLC_CRUSH_JSON_MAX, &len, &err)) ==
	    NULL)
		die("loading crushtool's dump: %s", err.msg);
	if ((m->c = plc_crush_from_json(text, len, &err)) == NULL)
		die("loading crushtool's dump: %s: %s", json, err.msg);
	free(text);
}

/* CPU seconds of `crushtool --test` over x = 0..inputs-1, printing
 * nothing. */
static double
crushtool_cpu(const struct bmap *m, int rule, unsigned inputs)
{
	char r[16], maxx[16];
	char *argv[] = { "crushtool", "-i", (char *)m->bin, "--test",
	    "--rule", r, "--num-rep", "3", "--min-x", "0", "--max-x", maxx,
	    NULL };

	snprintf(r, sizeof(r), "%d", rule);
	snprintf(maxx, sizeof(maxx), "%u", inputs - 1);
	return run_child(argv, NULL);
}

/* crushtool --show-mappings writes to stderr; capture it in a file. */
static void
verify(const struct bmap *m, int rule)
{
	char path[128], line[512], r[16], maxx[16];
	void *scratch = malloc(plc_crush_scratch_size(m->c, REPLICAS));
	int seen = 0, st, fd;
	pid_t pid;
	FILE *f;

	snprintf(path, sizeof(path), "%s/mappings", tmpdir);
	snprintf(r, sizeof(r), "%d", rule);
	snprintf(maxx, sizeof(maxx), "%d", VERIFY - 1);
	if ((pid = fork()) == 0) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("crushtool", "crushtool", "-i", m->bin, "--test",
		    "--show-mappings", "--rule", r, "--num-rep", "3",
		    "--min-x", "0", "--max-x", maxx, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		die("%s", "crushtool --show-mappings failed");
	plc_crush_scratch_init(m->c, REPLICAS, scratch);
	if ((f = fopen(path, "r")) == NULL)
		die("%s: cannot read", path);
	while (fgets(line, sizeof(line), f)) {
		int x, out[REPLICAS], n, k = 0;
		char *p;

		if (sscanf(line, "CRUSH rule %*d x %d", &x) != 1 ||
		    (p = strchr(line, '[')) == NULL)
			continue;
		n = plc_crush_do_rule(m->c, rule, (uint32_t)x, out, REPLICAS,
		    NULL, 0, scratch);
		for (p++; *p && *p != ']'; k++) {
			long v = strtol(p, &p, 10);

			if (k >= n || v != out[k]) {
				fprintf(stderr, "bench_crush: %s rule %d x %d: "
				    "libcrush and ballast differ\n", m->name,
				    rule, x);
				exit(1);
			}
			if (*p == ',')
				p++;
		}
		if (k != n)
			die("%s: result lengths differ", m->name);
		seen++;
	}
	fclose(f);
	free(scratch);
	if (seen != VERIFY)
		die("%s: crushtool printed too few mappings", m->name);
}

static double
ballast_rate(const struct plc_crush *c, int rule, unsigned inputs,
    unsigned long *check)
{
	void *scratch = malloc(plc_crush_scratch_size(c, REPLICAS));
	int out[REPLICAS];
	double t0;

	plc_crush_scratch_init(c, REPLICAS, scratch);
	t0 = cpu_now();
	for (uint32_t x = 0; x < inputs; x++) {
		int n = plc_crush_do_rule(c, rule, x, out, REPLICAS, NULL, 0,
		    scratch);

		for (int i = 0; i < n; i++)
			*check += (unsigned long)out[i];
	}
	t0 = cpu_now() - t0;
	free(scratch);
	return (double)inputs / t0;
}

static void
keep_max(double *best, double v)
{
	if (v > *best)
		*best = v;
}

int
main(void)
{
	struct bmap maps[] = {
		{ "hier1000", 10, 10, 10, NULL, "" },
		{ "flat100x10", 0, 100, 10, NULL, "" },
	};
	struct bcase cases[] = {
		{ "hier1000_firstn", 0, RULE_FIRSTN, 0, 0, 0 },
		{ "hier1000_indep", 0, RULE_INDEP, 0, 0, 0 },
		{ "flat100x10_firstn", 1, RULE_FIRSTN, 0, 0, 0 },
		{ "flat100x10_indep", 1, RULE_INDEP, 0, 0, 0 },
	};
	const int nmaps = 2, ncases = 4;
	const char *env = getenv("BENCH_CRUSH_INPUTS");
	unsigned inputs = env ? (unsigned)strtoul(env, NULL, 10) : 200000;
	unsigned long check = 0;
	char rm[128];

	if (inputs < 1000)
		die("BENCH_CRUSH_INPUTS=%s: at least 1000", env);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ballast-bench-crush-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		die("mkdtemp: %s", strerror(errno));
	for (int i = 0; i < nmaps; i++)
		prepare(&maps[i]);
	for (int i = 0; i < ncases; i++)
		verify(&maps[cases[i].map], cases[i].rule);
	fprintf(stderr, "bench_crush: ballast and crushtool agree on x = "
	    "0..%d of every case; %u inputs per run, best of %d\n",
	    VERIFY - 1, inputs, ROUNDS);

	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < ncases; i++) {
			struct bcase *k = &cases[i];
			const struct bmap *m = &maps[k->map];
			double start = crushtool_cpu(m, k->rule, 1);
			double full = crushtool_cpu(m, k->rule, inputs);
			double noop = crushtool_cpu(m, RULE_NOOP, inputs);

			keep_max(&k->ballast, ballast_rate(m->c, k->rule,
			    inputs, &check));
			if (full > start)
				keep_max(&k->crushtool, inputs / (full - start));
			if (full > noop)
				keep_max(&k->libcrush, inputs / (full - noop));
		}
	}
	for (int i = 0; i < ncases; i++) {
		const struct bcase *k = &cases[i];

		printf("BENCH crush_%s_mappings_per_sec %.0f mappings/s\n",
		    k->name, k->ballast);
		printf("BENCH crush_%s_crushtool_mappings_per_sec %.0f "
		    "mappings/s\n", k->name, k->crushtool);
		printf("BENCH crush_%s_libcrush_est_mappings_per_sec %.0f "
		    "mappings/s\n", k->name, k->libcrush);
		printf("BENCH crush_%s_vs_crushtool_ratio %.3f ratio\n",
		    k->name, k->crushtool > 0 ? k->ballast / k->crushtool : 0);
		printf("BENCH crush_%s_vs_libcrush_est_ratio %.3f ratio\n",
		    k->name, k->libcrush > 0 ? k->ballast / k->libcrush : 0);
	}
	fflush(stdout);
	fprintf(stderr, "bench_crush: checksum %lu\n", check);
	for (int i = 0; i < nmaps; i++)
		plc_crush_free(maps[i].c);
	snprintf(rm, sizeof(rm), "rm -rf '%s'", tmpdir);
	return system(rm) == 0 ? 0 : 1;
}
