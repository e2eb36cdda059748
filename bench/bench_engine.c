/* bench/bench_engine.c - make bench-engine.
 *
 * 1. Evacuations, each on a fresh cluster: 20,000 objects of 4 KiB
 *    (names evacuate_4k_*), 20,000 of 64 KiB (evacuate_64k_*) and 2,000
 *    of 1 MiB (evacuate_1mib_*); or one run of $BENCH_ENGINE_OBJECTS of
 *    $BENCH_ENGINE_SIZE bytes when either is set (evacuate_*). Two copies
 *    each (n1 and one of n2..n4; the second copy is a hard link of the
 *    first, to spare the disk), four real agents, a real ballastd on a
 *    private PostgreSQL. Timed from the POST to the job's "complete":
 *      BENCH <run>_objects_per_sec, BENCH <run>_bytes_per_sec,
 *    where the time went: CPU seconds of ballastd, the agents and
 *    PostgreSQL (its backends included) from /proc over the same span:
 *      BENCH <run>_cpu_ballastd, _cpu_agents, _cpu_postgres
 *    and the raw baseline of the same bytes (bench_raw):
 *      BENCH <run>_raw_get_bytes_per_sec, <run>_vs_raw_get_ratio
 * 2. Metadata commit: 20,000 "copied" tasks committed by the engine's
 *    committer pool (mig_commit_pool, 10 threads unless
 *    $BENCH_METADATA_THREADS says otherwise, batches of 500: the CAS
 *    UPDATE plus the task states), against a raw batched
 *    UPDATE objects ... FROM unnest(...) of the same rows on one
 *    connection, in the same run:
 *      BENCH metadata_commits_per_sec, BENCH metadata_raw_commits_per_sec,
 *      BENCH metadata_vs_raw_ratio (goal >= 0.5)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#include "bench/rawget.h"
#include "lib/pg.h"
#include "migrate/engine.h"
#include "tests/helpers/agent_harness.h"
#include "tests/helpers/th_ctl.h"
#include "tests/helpers/th_pg.h"

#define NOBJ	20000
#define OSIZE	65536
#define BATCH	500
#define OWNER	"0d0d0d0d-1111-4222-8333-444455556666"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The evacuation's objects: $BENCH_ENGINE_OBJECTS (a multiple of 1,000)
 * of $BENCH_ENGINE_SIZE bytes (a multiple of 8). */
static int evac_n = NOBJ, evac_size = OSIZE;
/* The BENCH names' prefix of the run. */
static const char *evac_tag = "evacuate";
/* Each seeded object's id and md5, and its second copy's agent. */
static char (*evac_id)[37], (*evac_md5)[25];
static int *evac_other;

/* Everything the bench started, so that a failure stops it all. */
static struct th_pg pg;
static struct tha_agent ag[4];
static struct th_ctl ctl;
static int started_pg, started_agents;

static void
stop_all(void)
{
	th_ctl_kill9(&ctl);
	for (int i = 0; i < started_agents; i++) {
		tha_agent_stop(&ag[i]);
		tha_agent_free(&ag[i]);
	}
	if (started_pg)
		th_pg_destroy(&pg);
	tha_cleanup();
}

static void
die(const char *what)
{
	fprintf(stderr, "bench-engine: %s\n", what);
	stop_all();
	exit(1);
}

/* CPU seconds (user + system) of pid, and with children also those of
 * its reaped children (PostgreSQL's exited backends); 0 if it is gone. */
static double
cpu_s(pid_t pid, int children)
{
	char path[64], buf[2048], *p;
	unsigned long long ut, st, cut, cst;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* fields 14-17 follow the command, which is in parentheses */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2, "%*c %*d %*d %*d "
	    "%*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &ut, &st, &cut,
	    &cst) != 4)
		return 0;
	return (double)(ut + st + (children ? cut + cst : 0)) /
	    (double)sysconf(_SC_CLK_TCK);
}

/* PostgreSQL's CPU: the postmaster, its reaped backends, and the live
 * ones (every process whose parent is the postmaster). */
static double
pg_cpu_s(void)
{
	char path[400], line[64], *end;
	double sum;
	pid_t pm;
	FILE *f;
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/data/postmaster.pid", pg.dir);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	pm = fgets(line, sizeof(line), f) ? (pid_t)atoi(line) : 0;
	fclose(f);
	if (pm <= 0)
		return 0;
	sum = cpu_s(pm, 1);
	if ((d = opendir("/proc")) == NULL)
		return sum;
	while ((de = readdir(d)) != NULL) {
		char buf[512], *q;
		long pid = strtol(de->d_name, &end, 10);
		size_t n;

		if (*end != '\0' || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		if ((q = strrchr(buf, ')')) != NULL && atoi(q + 4) == (int)pm)
			sum += cpu_s((pid_t)pid, 0);
	}
	closedir(d);
	return sum;
}

struct cpu_snap {
	double	ctl, agents, pg, wall;
};

static void
cpu_snap(struct cpu_snap *c)
{
	c->ctl = cpu_s(ctl.pid, 0);
	c->agents = 0;
	for (int i = 0; i < started_agents; i++)
		c->agents += cpu_s(ag[i].pid, 0);
	c->pg = pg_cpu_s();
	c->wall = now_s();
}

/* Where the time of a phase went: CPU seconds per process group. */
static void
cpu_print(const char *phase, const struct cpu_snap *a,
    const struct cpu_snap *b)
{
	double wall = b->wall - a->wall;

	printf("BENCH %s_cpu_ballastd %.2f cpu-s (%.0f%% of wall)\n", phase,
	    b->ctl - a->ctl, 100 * (b->ctl - a->ctl) / wall);
	printf("BENCH %s_cpu_agents %.2f cpu-s (%.0f%% of wall)\n", phase,
	    b->agents - a->agents, 100 * (b->agents - a->agents) / wall);
	printf("BENCH %s_cpu_postgres %.2f cpu-s (%.0f%% of wall)\n", phase,
	    b->pg - a->pg, 100 * (b->pg - a->pg) / wall);
}

static void
md5_b64(const unsigned char *d, size_t n, char out[25])
{
	unsigned char raw[16];
	unsigned int l = 16;

	EVP_Digest(d, n, raw, &l, EVP_md5(), NULL);
	EVP_EncodeBlock((unsigned char *)out, raw, 16);
}

/* Writes the objects and lists them, 1,000 rows per INSERT. */
static void
seed(PGconn *db, struct tha_agent *a)
{
	unsigned char *buf = malloc((size_t)evac_size);
	char dir[1024], path[1200], link2[1200];
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	char *ids = malloc(1000 * 40), *md5s = malloc(1000 * 30),
	    *cps = malloc(1000 * 40);

	evac_id = calloc((size_t)evac_n, sizeof(*evac_id));
	evac_md5 = calloc((size_t)evac_n, sizeof(*evac_md5));
	evac_other = calloc((size_t)evac_n, sizeof(*evac_other));
	for (int k = 0; k < 4; k++) {
		snprintf(dir, sizeof(dir), "%s/%s", a[k].root, OWNER);
		mkdir(dir, 0755);
	}
	for (int base = 0; base < evac_n; base += 1000) {
		size_t il = 0, ml = 0, cl = 0;
		const char *p[4];
		char sz[24];
		struct bl_err err;

		ids[il++] = '{';
		md5s[ml++] = '{';
		cps[cl++] = '{';
		for (int i = base; i < base + 1000; i++) {
			char id[37], md5[25];
			int other = 1 + i % 3;
			FILE *f;

			tha_uuid(id);
			for (size_t q = 0; q < (size_t)evac_size / 8; q++) {
				s ^= s << 13;
				s ^= s >> 7;
				s ^= s << 17;
				memcpy(buf + q * 8, &s, 8);
			}
			md5_b64(buf, (size_t)evac_size, md5);
			memcpy(evac_id[i], id, 37);
			memcpy(evac_md5[i], md5, 25);
			evac_other[i] = other;
			snprintf(path, sizeof(path), "%s/%s/%s", a[0].root,
			    OWNER, id);
			if ((f = fopen(path, "w")) == NULL ||
			    fwrite(buf, 1, (size_t)evac_size, f) !=
			    (size_t)evac_size || fclose(f) != 0)
				die("write object");
			snprintf(link2, sizeof(link2), "%s/%s/%s",
			    a[other].root, OWNER, id);
			if (link(path, link2) != 0)
				die("link object");
			il += (size_t)sprintf(ids + il, "%s%s", i > base ?
			    "," : "", id);
			ml += (size_t)sprintf(md5s + ml, "%s%s", i > base ?
			    "," : "", md5);
			cl += (size_t)sprintf(cps + cl, "%s%s", i > base ?
			    "," : "", a[other].name);
		}
		ids[il++] = '}';
		ids[il] = '\0';
		md5s[ml++] = '}';
		md5s[ml] = '\0';
		cps[cl++] = '}';
		cps[cl] = '\0';
		p[0] = ids;
		p[1] = md5s;
		p[2] = cps;
		snprintf(sz, sizeof(sz), "%d", evac_size);
		p[3] = sz;
		if (bl_pg_run(db, "INSERT INTO objects (id, owner, size, md5, "
		    "copies) SELECT u.id, '" OWNER "', $4::bigint, u.m, "
		    "ARRAY['n1.stor', u.c] FROM unnest($1::uuid[], $2::text[], "
		    "$3::text[]) AS u(id, m, c)", 4, p, &err) == -1)
			die(err.msg);
	}
	free(buf);
	free(ids);
	free(md5s);
	free(cps);
}

/* Raw baseline in the same run: the same objects' bytes fetched by one
 * process through the agents' signed GET (from each object's second
 * copy, which the evacuation keeps), with the engine's concurrency: the
 * destinations' 3 x 16 transfers. Written to files and MD5-checked, as
 * an agent does. */
static void
bench_raw(struct tha_agent *a, double evac_bps)
{
	struct rawget_item *items = calloc((size_t)evac_n, sizeof(*items));
	char out[600];
	long long got;
	double t0;

	snprintf(out, sizeof(out), "%s/raw", tha_tmpdir());
	mkdir(out, 0755);
	for (int i = 0; i < evac_n; i++) {
		items[i].base_url = a[evac_other[i]].url;
		items[i].owner = OWNER;
		items[i].id = evac_id[i];
		items[i].md5 = evac_md5[i];
	}
	sync();
	t0 = now_s();
	got = rawget_run(items, evac_n, 48, THA_SECRET, out);
	t0 = now_s() - t0;
	free(items);
	if (got < 0)
		die("raw: a GET failed");
	printf("BENCH %s_raw_get_bytes_per_sec %.0f bytes/s\n", evac_tag,
	    (double)got / t0);
	printf("BENCH %s_raw_get_objects_per_sec %.1f objects/s\n",
	    evac_tag, (double)evac_n / t0);
	printf("BENCH %s_vs_raw_get_ratio %.3f ratio\n", evac_tag,
	    evac_bps / ((double)got / t0));
	fflush(stdout);
}

/* Returns once job id has ended (its row says so), polling every 10 ms;
 * dies after 30 minutes. */
static void
wait_job_row(PGconn *db, const char *id)
{
	const char *p[1] = { id };
	struct bl_err err;

	for (int i = 0; i < 180000; i++) {
		PGresult *r = bl_pg_exec(db, "SELECT state FROM jobs WHERE "
		    "id = $1 AND finished_at IS NOT NULL", 1, p, &err);

		if (r == NULL)
			die(err.msg);
		if (PQntuples(r) == 1) {
			PQclear(r);
			return;
		}
		PQclear(r);
		tha_sleep_ms(10);
	}
	die("evacuate: job did not finish");
}

static void
bench_evacuate(struct th_ctl *c, PGconn *db, struct tha_agent *a)
{
	char id[37];
	double t0, t1;
	json_t *job;
	long long done, bytes;
	struct cpu_snap c0, c1;

	seed(db, a);
	cpu_snap(&c0);
	t0 = now_s();
	if (th_ctl_evacuate(c, "n1.stor", 0, id) != 201)
		die("evacuate: POST failed");
	/* Watch the job's row, not GET /v1/jobs/{id}: that counts the job's
	 * tasks (O(tasks)), and asked every 100 ms it cost PostgreSQL ~2 s
	 * of a 20k-object evacuation. */
	wait_job_row(db, id);
	t1 = now_s();
	cpu_snap(&c1);
	if ((job = th_ctl_wait_job(c, id, 60)) == NULL)
		die("evacuate: job did not finish");
	done = json_integer_value(json_object_get(json_object_get(job,
	    "counters"), "complete"));
	bytes = json_integer_value(json_object_get(json_object_get(job,
	    "counters"), "bytes_done"));
	fprintf(stderr, "bench-engine: evacuation state=%s complete=%lld "
	    "skipped=%lld failed=%lld seconds=%.2f\n",
	    json_string_value(json_object_get(job, "state")), done,
	    (long long)json_integer_value(json_object_get(json_object_get(job,
	    "counters"), "skipped")),
	    (long long)json_integer_value(json_object_get(json_object_get(job,
	    "counters"), "failed")), t1 - t0);
	if (done != evac_n)
		die("evacuate: not every object completed");
	json_decref(job);
	if (th_verify(c) != 0)
		die("evacuate: the invariant does not hold");
	printf("BENCH %s_objects_per_sec %.1f objects/s\n", evac_tag,
	    (double)done / (t1 - t0));
	printf("BENCH %s_bytes_per_sec %.0f bytes/s\n", evac_tag,
	    (double)bytes / (t1 - t0));
	cpu_print(evac_tag, &c0, &c1);
	bench_raw(a, (double)bytes / (t1 - t0));
	fflush(stdout);
}

static void
bench_commit(const char *conninfo, PGconn *db)
{
	const char job[] = "0e0e0e0e-1111-4222-8333-444455556666";
	struct bl_err err;
	struct mig_commit_pool *pool;
	PGresult *r;
	char **objs;
	double t0, t1, t2, t3;
	long committed = 0, raw = 0;
	int threads = getenv("BENCH_METADATA_THREADS") ?
	    atoi(getenv("BENCH_METADATA_THREADS")) : 10;

	if (bl_pg_run(db, "INSERT INTO objects (id, owner, size, md5, copies)"
	    " SELECT gen_random_uuid(), '" OWNER "', 65536, 'x', "
	    "ARRAY['b1', 'b2'] FROM generate_series(1, 20000)", 0, NULL,
	    &err) == -1 || bl_pg_run(db, "INSERT INTO jobs (id, kind, origin, "
	    "state) VALUES ('0e0e0e0e-1111-4222-8333-444455556666', "
	    "'evacuate', 'operator', 'running')", 0, NULL, &err) == -1 ||
	    bl_pg_run(db, "INSERT INTO job_tasks (job, object, owner, md5, "
	    "size, version, source, dest, state) SELECT "
	    "'0e0e0e0e-1111-4222-8333-444455556666', id, owner, md5, size, "
	    "version, 'b1', 'b3', 'copied' FROM objects WHERE copies = "
	    "ARRAY['b1', 'b2']", 0, NULL, &err) == -1 ||
	    bl_pg_run(db, "ANALYZE", 0, NULL, &err) == -1)
		die(err.msg);
	if ((r = bl_pg_exec(db, "SELECT object FROM job_tasks WHERE job = "
	    "'0e0e0e0e-1111-4222-8333-444455556666' ORDER BY object", 0, NULL,
	    &err)) == NULL)
		die(err.msg);
	objs = calloc(NOBJ, sizeof(char *));
	for (int i = 0; i < NOBJ && i < PQntuples(r); i++)
		objs[i] = strdup(PQgetvalue(r, i, 0));
	PQclear(r);

	/* The engine's path: pool of committers, CAS + task states. */
	if ((pool = mig_commit_pool_new(conninfo, threads, &err)) == NULL)
		die(err.msg);
	t0 = now_s();
	for (int i = 0; i < NOBJ; i += BATCH)
		mig_commit_pool_add(pool, job, (const char *const *)objs + i,
		    BATCH, 0);
	if (mig_commit_pool_wait(pool, &committed) != 0)
		die("commit: a batch failed");
	t1 = now_s();
	mig_commit_pool_free(pool);
	if (committed != NOBJ)
		die("commit: not every task committed");

	/* Raw: the same rows, one connection, the same batch size, swapping
	 * the copy back. */
	t2 = now_s();
	for (int i = 0; i < NOBJ; i += BATCH) {
		char *arr = malloc(BATCH * 38 + 3), *p = arr;
		char *src = malloc(BATCH * 4 + 3), *dst = malloc(BATCH * 4 + 3);
		char *ps = src, *pd = dst;
		const char *pp[3];

		*p++ = '{';
		*ps++ = '{';
		*pd++ = '{';
		for (int k = 0; k < BATCH; k++) {
			p += sprintf(p, "%s%s", k ? "," : "", objs[i + k]);
			ps += sprintf(ps, "%sb3", k ? "," : "");
			pd += sprintf(pd, "%sb1", k ? "," : "");
		}
		strcpy(p, "}");
		strcpy(ps, "}");
		strcpy(pd, "}");
		pp[0] = arr;
		pp[1] = src;
		pp[2] = dst;
		if ((r = bl_pg_exec(db, "UPDATE objects o SET copies = "
		    "array_replace(o.copies, u.src, u.dst), version = o.version "
		    "+ 1 FROM unnest($1::uuid[], $2::text[], $3::text[]) AS "
		    "u(id, src, dst) WHERE o.id = u.id", 3, pp, &err)) == NULL)
			die(err.msg);
		raw += atol(PQcmdTuples(r));
		PQclear(r);
		free(arr);
		free(src);
		free(dst);
	}
	t3 = now_s();
	for (int i = 0; i < NOBJ; i++)
		free(objs[i]);
	free(objs);
	fprintf(stderr, "bench-engine: metadata_threads=%d batch=%d\n",
	    threads, BATCH);
	printf("BENCH metadata_commits_per_sec %.0f commits/s\n",
	    (double)committed / (t1 - t0));
	printf("BENCH metadata_raw_commits_per_sec %.0f commits/s\n",
	    (double)raw / (t3 - t2));
	printf("BENCH metadata_vs_raw_ratio %.3f ratio\n",
	    ((double)committed / (t1 - t0)) / ((double)raw / (t3 - t2)));
}

struct evac_run {
	const char	*tag;
	int		 n, size;
};

/* One evacuation on a fresh cluster, and after it (commit) the metadata
 * commit bench on the same database. */
static void
run_evacuation(const struct evac_run *run, int commit)
{
	static const char *const names[4] = { "n1.stor", "n2.stor",
	    "n3.stor", "n4.stor" };
	struct bl_err err;
	PGconn *db;
	char engine[256];

	evac_tag = run->tag;
	evac_n = run->n;
	evac_size = run->size;
	fprintf(stderr, "bench-engine: %s: evacuating %d x %d bytes\n",
	    evac_tag, evac_n, evac_size);
	if (th_pg_start(&pg) != 0)
		die("cannot start PostgreSQL");
	started_pg = 1;
	for (int i = 0; i < 4; i++) {
		if (tha_agent_start(&ag[i], names[i], "--max-transfers", "16",
		    NULL) != 0)
			die("cannot start an agent");
		started_agents++;
	}
	/* $BENCH_ENGINE_METADATA_THREADS: ballastd's committers (its
	 * default when unset) */
	snprintf(engine, sizeof(engine), "\"max_tasks_per_assignment\":200,"
	    "\"max_inflight_per_node\":2000%s%s",
	    getenv("BENCH_ENGINE_METADATA_THREADS") ? ",\"metadata_threads\":"
	    : "", getenv("BENCH_ENGINE_METADATA_THREADS") ?
	    getenv("BENCH_ENGINE_METADATA_THREADS") : "");
	if (th_ctl_start(&ctl, pg.conninfo, engine) != 0)
		die("cannot start ballastd");
	if (th_ctl_register(&ctl, ag, 4) != 0)
		die("cannot register nodes");
	if ((db = bl_pg_connect(pg.conninfo, 10, &err)) == NULL)
		die(err.msg);
	bench_evacuate(&ctl, db, ag);
	th_ctl_stop(&ctl);
	if (commit)
		bench_commit(pg.conninfo, db);
	PQfinish(db);
	stop_all();
	started_pg = started_agents = 0;
	free(evac_id);
	free(evac_md5);
	free(evac_other);
	evac_id = NULL;
	evac_md5 = NULL;
	evac_other = NULL;
}

int
main(void)
{
	static const struct evac_run runs[] = {
		{ "evacuate_4k", NOBJ, 4096 },
		{ "evacuate_64k", NOBJ, OSIZE },
		{ "evacuate_1mib", 2000, 1048576 },
	};
	struct evac_run one = { "evacuate", NOBJ, OSIZE };
	size_t nruns = sizeof(runs) / sizeof(runs[0]);

	if (getenv("BENCH_ENGINE_OBJECTS") != NULL)
		one.n = atoi(getenv("BENCH_ENGINE_OBJECTS")) / 1000 * 1000;
	if (getenv("BENCH_ENGINE_SIZE") != NULL)
		one.size = atoi(getenv("BENCH_ENGINE_SIZE")) / 8 * 8;
	if (one.n <= 0 || one.size <= 0)
		die("BENCH_ENGINE_OBJECTS or BENCH_ENGINE_SIZE: want > 0");
	if (getenv("BENCH_ENGINE_OBJECTS") != NULL ||
	    getenv("BENCH_ENGINE_SIZE") != NULL) {
		run_evacuation(&one, 1);
		return 0;
	}
	for (size_t i = 0; i < nruns; i++)
		run_evacuation(&runs[i], i + 1 == nruns);
	return 0;
}
