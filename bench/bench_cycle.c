/* bench/bench_cycle.c - make bench-cycle (issue #13).
 *
 * One control-loop cycle over 1M and then 10M objects and 1,000 nodes, on
 * a real ballastd and a private PostgreSQL. The nodes' agents are one
 * stand-in HTTP server in this process (a thread running lib/http_server):
 * node k's agent_url is http://127.0.0.1:PORT/nKKK, and the server answers
 * /nKKK/v1/status and /nKKK/v1/access as an agent would (agent/api.c),
 * with the usage of the objects this bench generated for that node. Every
 * other route (the engine's assignments) gets 503.
 *
 * For each world of N objects ($BENCH_CYCLE_OBJECTS, a comma-separated
 * list; default 1000000,10000000), on empty tables:
 *
 * 1. Import: the objects CSV piped into `ballastctl objects import
 *    /dev/stdin` (8 MiB chunks through POST /v1/objects/import, ballastd's
 *    max_body_bytes at its default 64 MiB), against a raw
 *    `COPY objects_raw FROM STDIN` of the same rows on one connection into
 *    a scratch copy of the table (CREATE TABLE ... (LIKE objects INCLUDING
 *    ALL): the same primary key and GIN index). Both passes generate the
 *    rows with the same code:
 *      BENCH cycle_import_rows_per_sec_<N>, cycle_copy_rows_per_sec_<N>,
 *      BENCH cycle_import_vs_copy_ratio_<N> (goal >= 0.5)
 * 2. Cycle: POST /v1/controller/run, timed until its row is in `cycles`
 *    (the agents' poll, the access fold, the plan, the job): outcome
 *    "planned" is required.
 *      BENCH cycle_seconds_<N> (goal < 30 s at 10M),
 *      BENCH cycle_peak_rss_mib_<N>: ballastd's VmHWM over the cycle
 *      (reset through /proc/PID/clear_refs before it; goal < 1 GiB),
 *      BENCH cycle_candidates_<N>, cycle_moves_<N>, and the CPU seconds
 *      of ballastd and PostgreSQL over the cycle.
 *    Between the first and the last world:
 *      BENCH cycle_time_ratio_<last>_vs_<first>
 *
 * The fill is skewed so that the cycle plans: 20 of the 1,000 nodes (every
 * 50th) are "hot" at 70% full, every other node is at exactly 50%, so the
 * hot nodes are the only ones above the mean. The hot nodes hold a fixed
 * number of objects whatever N ($BENCH_CYCLE_CANDIDATES, default 100,000:
 * every (N / candidates)th object, so they are spread over the whole
 * table), and those are the cycle's candidates: the ratio between the
 * worlds shows whether the cycle's cost follows the candidates (ratio
 * near 1) or the table (near N_last / N_first). Each object has 2 copies
 * and 4 KiB to 4 MiB; 1% of them have a reads_per_hour, and each agent
 * reports reads of 5 of its objects, as agents do. The policy lifts the
 * per-cycle budgets so that the plan reaches its target ("planned", not
 * "budget_exhausted"); the job the cycle creates is deleted afterwards,
 * with ballastd stopped (the stand-in cannot run it). ballastd runs with
 * its default engine settings (the agents polled every second).
 *
 * Where the time goes: the statements of the cycle that took 250 ms or
 * more (PostgreSQL's log_min_duration_statement, with auto_explain's
 * plans; $BENCH_CYCLE_EXPLAIN=1 adds ANALYZE and BUFFERS to them) are
 * copied to stderr after each cycle. $BENCH_CYCLE_KEEP=1 leaves PostgreSQL
 * running at the end, with the last world's objects, for a closer look.
 */
#include <errno.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <libpq-fe.h>
#include <openssl/evp.h>

#include "lib/http_server.h"
#include "lib/pg.h"
#include "tests/helpers/agent_harness.h"
#include "tests/helpers/th_ctl.h"
#include "tests/helpers/th_pg.h"

#define NNODES		1000
#define HOT_EVERY	50		/* every 50th node is hot */
#define NHOT		(NNODES / HOT_EVERY)
#define NCOLD		(NNODES - NHOT)
#define HOT_FILL	0.70
#define NREADS		5		/* objects each agent reports reads of */
#define OUTBUF		(1u << 20)

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- everything started, so that a failure stops it all ------------------ */

static struct th_pg pg;
static struct th_ctl ctl;
static int started_pg;

static void standin_stop(void);

static void
stop_all(void)
{
	th_ctl_kill9(&ctl);
	standin_stop();
	if (started_pg && getenv("BENCH_CYCLE_KEEP") != NULL)
		fprintf(stderr, "bench-cycle: PostgreSQL kept running: psql "
		    "'%s' (stop: scripts/pg-private.sh destroy %s)\n",
		    pg.conninfo, pg.dir);
	else if (started_pg)
		th_pg_destroy(&pg);
	tha_cleanup();
}

static void
die(const char *what)
{
	fprintf(stderr, "bench-cycle: %s\n", what);
	stop_all();
	exit(1);
}

/* --- the objects ---------------------------------------------------------- */

struct world {
	long long	n;		/* objects */
	long long	hot;		/* objects on the hot nodes */
	long long	stride;		/* every stride-th object is hot */
	uint64_t	salt;		/* ids differ between worlds */
};

struct row {
	char		id[37];
	char		md5[25];
	int		owner;
	long long	size;
	int		c0, c1;		/* node indexes */
	int		rph10;		/* reads_per_hour * 10; 0: none */
};

static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void
hex(char *out, uint64_t v, int digits)
{
	static const char d[] = "0123456789abcdef";

	for (int i = digits - 1; i >= 0; i--) {
		out[i] = d[v & 15];
		v >>= 4;
	}
}

static int
hot_node(int j)
{
	return j * HOT_EVERY;
}

static int
cold_node(int j)
{
	return j / (HOT_EVERY - 1) * HOT_EVERY + 1 + j % (HOT_EVERY - 1);
}

/* Object i of world w. The id's last 12 digits are i, so ids are unique;
 * the rest is random, so they arrive in random key order. */
static void
row_make(const struct world *w, long long i, struct row *r)
{
	uint64_t h = mix((uint64_t)i ^ w->salt), g = mix(h);
	unsigned char raw[16];

	hex(r->id, h >> 32, 8);
	r->id[8] = '-';
	hex(r->id + 9, h >> 16, 4);
	r->id[13] = '-';
	r->id[14] = '4';
	hex(r->id + 15, h, 3);
	r->id[18] = '-';
	r->id[19] = '8';
	hex(r->id + 20, g, 3);
	r->id[23] = '-';
	hex(r->id + 24, (uint64_t)i, 12);
	r->id[36] = '\0';
	memcpy(raw, &g, 8);
	memcpy(raw + 8, &h, 8);
	EVP_EncodeBlock((unsigned char *)r->md5, raw, 16);
	r->owner = (int)(g % 64);
	r->size = 4096LL * (long long)(1 + (g >> 8) % 1024);
	if (i % w->stride == 0) {
		r->c0 = hot_node((int)(i / w->stride % NHOT));
		r->c1 = cold_node((int)(h % NCOLD));
	} else {
		int a = (int)(h % NCOLD);
		int b = (a + 1 + (int)((h >> 32) % (NCOLD - 1))) % NCOLD;

		r->c0 = cold_node(a);
		r->c1 = cold_node(b);
	}
	r->rph10 = (g >> 40) % 100 == 0 ? 5 + (int)((g >> 50) % 1000) : 0;
}

static void
owner_str(int k, char out[37])
{
	snprintf(out, 37, "0b0b0b0b-0000-4000-8000-0000000000%02x", k);
}

/* Appends r as a line of the objects CSV (csv) or of COPY's text format. */
static size_t
row_line(const struct row *r, char *p, int csv)
{
	char own[37];
	char sep = csv ? ',' : '\t';
	int n;

	owner_str(r->owner, own);
	if (csv)
		n = sprintf(p, "%s,%s,%lld,%s,n%03d.stor;n%03d.stor,%d.%d\n",
		    r->id, own, r->size, r->md5, r->c0, r->c1, r->rph10 / 10,
		    r->rph10 % 10);
	else
		n = sprintf(p, "%s%c%s%c%lld%c%s%c{n%03d.stor,n%03d.stor}%c"
		    "%d.%d\t\\N\t\\N\n", r->id, sep, own, sep, r->size, sep,
		    r->md5, sep, r->c0, r->c1, sep, r->rph10 / 10,
		    r->rph10 % 10);
	return (size_t)n;
}

/* --- the stand-in agents -------------------------------------------------- */

struct standin {
	struct ev_loop		*loop;		/* owns */
	ev_async		 stop;
	struct bl_http_server	*srv;		/* owns */
	pthread_t		 thr;
	int			 running;
	pthread_mutex_t		 mu;
	const struct world	*w;		/* borrows; under mu */
	uint64_t		 used[NNODES];	/* under mu */
	uint64_t		 cap[NNODES];	/* under mu */
	uint64_t		 objs[NNODES];	/* under mu */
	long long		 reads[NNODES][NREADS];	/* object indexes */
	int			 nreads[NNODES];
	long			 requests;	/* loop thread only */
	double			 started;
};

static struct standin si;

static void
standin_status(struct bl_http_req *req, int k)
{
	char name[16];
	uint64_t used, cap, objs;

	snprintf(name, sizeof(name), "n%03d.stor", k);
	pthread_mutex_lock(&si.mu);
	used = si.used[k];
	cap = si.cap[k];
	objs = si.objs[k];
	pthread_mutex_unlock(&si.mu);
	bl_http_respond_json_take(req, 200, json_pack("{s:s,s:I,s:I,s:I,s:i,"
	    "s:i,s:I,s:s,s:f,s:b}", "node_id", name, "capacity_bytes",
	    (json_int_t)cap, "used_bytes", (json_int_t)used, "objects",
	    (json_int_t)objs, "inflight_transfers", 0, "max_transfers", 16,
	    "throttle_bytes_per_sec", (json_int_t)0, "version", "bench-cycle",
	    "uptime_seconds", wall_s() - si.started, "stopping", 0));
}

/* Reads of the node's first objects over the last 5 minutes. */
static void
standin_access(struct bl_http_req *req, int k)
{
	json_t *arr = json_array();
	double now = wall_s();

	pthread_mutex_lock(&si.mu);
	for (int q = 0; si.w != NULL && q < si.nreads[k]; q++) {
		struct row r;
		char own[37];

		row_make(si.w, si.reads[k][q], &r);
		owner_str(r.owner, own);
		json_array_append_new(arr, json_pack("{s:s,s:s,s:i}", "owner",
		    own, "object_id", r.id, "reads", 3 + (k + q) % 5));
	}
	pthread_mutex_unlock(&si.mu);
	bl_http_respond_json_take(req, 200, json_pack("{s:f,s:f,s:i,s:o}",
	    "since", now - 300, "until", now, "dropped", 0, "objects", arr));
}

static void
standin_handle(struct bl_http_req *req, void *arg)
{
	const char *path = bl_http_req_path(req);
	char *end;
	long k;

	si.requests++;
	if (path[0] != '/' || path[1] != 'n')
		goto other;
	k = strtol(path + 2, &end, 10);
	if (k < 0 || k >= NNODES || end != path + 5)
		goto other;
	if (strcmp(end, "/v1/status") == 0) {
		standin_status(req, (int)k);
		return;
	}
	if (strcmp(end, "/v1/access") == 0) {
		standin_access(req, (int)k);
		return;
	}
other:
	bl_http_respond_error(req, 503, "unavailable", "bench-cycle's stand-in "
	    "agent answers /v1/status and /v1/access only");
}

static void
standin_on_stop(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void *
standin_main(void *arg)
{
	(void)arg;
	ev_run(si.loop, 0);
	return NULL;
}

static int
standin_start(void)
{
	struct bl_http_server_opts o;
	struct bl_err err;

	pthread_mutex_init(&si.mu, NULL);
	si.started = wall_s();
	if ((si.loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		return -1;
	memset(&o, 0, sizeof(o));
	o.listen = "127.0.0.1:0";
	o.max_body = 64u << 20;
	o.conn_limit = 8192;
	o.conn_timeout = 60;
	o.handler = standin_handle;
	if ((si.srv = bl_http_server_new(si.loop, &o, &err)) == NULL) {
		fprintf(stderr, "bench-cycle: stand-in: %s\n", err.msg);
		return -1;
	}
	ev_async_init(&si.stop, standin_on_stop);
	ev_async_start(si.loop, &si.stop);
	if (pthread_create(&si.thr, NULL, standin_main, NULL) != 0)
		return -1;
	si.running = 1;
	return 0;
}

static void
standin_stop(void)
{
	if (si.running) {
		ev_async_send(si.loop, &si.stop);
		pthread_join(si.thr, NULL);
		si.running = 0;
	}
	bl_http_server_free(si.srv);
	si.srv = NULL;
	if (si.loop != NULL)
		ev_loop_destroy(si.loop);
	si.loop = NULL;
}

/* --- /proc ------------------------------------------------------------------ */

/* CPU seconds (user + system) of pid, with children also of its reaped
 * children; 0 if it is gone. */
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
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2, "%*c %*d %*d %*d "
	    "%*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &ut, &st, &cut,
	    &cst) != 4)
		return 0;
	return (double)(ut + st + (children ? cut + cst : 0)) /
	    (double)sysconf(_SC_CLK_TCK);
}

/* PostgreSQL's CPU: the postmaster, its reaped and its live children. */
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

/* A field of /proc/PID/status in KiB (VmHWM, VmRSS); -1 if unknown. */
static long long
proc_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t fl = strlen(field);
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, fl) == 0 && line[fl] == ':')
			v = atoll(line + fl + 1);
	fclose(f);
	return v;
}

/* Resets VmHWM to the current RSS (Linux: "5" into clear_refs). */
static int
hwm_reset(pid_t pid)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs("5", f);
	return fclose(f);
}

static long
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}

/* Copies the lines of path from offset on that contain one of the
 * needles to stderr, each cut at 600 bytes, prefixed. */
static void
log_tail(const char *path, long off, const char *prefix,
    const char *const *needles)
{
	FILE *f = fopen(path, "r");
	char line[65536];
	int show = 0;

	if (f == NULL)
		return;
	fseek(f, off, SEEK_SET);
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t l = strcspn(line, "\n");
		int hit = 0;

		line[l] = '\0';
		for (int i = 0; needles[i] != NULL; i++)
			hit |= strstr(line, needles[i]) != NULL;
		/* a plan continues on lines that begin with white space */
		if (!hit && !(show && (line[0] == ' ' || line[0] == '\t'))) {
			show = 0;
			continue;
		}
		show = 1;
		if (l > 600)
			strcpy(line + 597, "...");
		fprintf(stderr, "%s%s\n", prefix, line);
	}
	fclose(f);
}

/* --- import and COPY -------------------------------------------------------- */

static const char *
label(long long n, char buf[32])
{
	if (n % 1000000 == 0)
		snprintf(buf, 32, "%lldm", n / 1000000);
	else if (n % 1000 == 0)
		snprintf(buf, 32, "%lldk", n / 1000);
	else
		snprintf(buf, 32, "%lld", n);
	return buf;
}

/* The CSV through ballastctl; counts each node's usage for the stand-in.
 * Returns the rows per second. */
static double
import_pass(const struct world *w)
{
	static uint64_t used[NNODES], objs[NNODES];
	char cmd[1200], tok[700];
	char *buf = malloc(OUTBUF + 4096);
	size_t len;
	double t0, t1;
	FILE *p;

	if (buf == NULL)
		die("out of memory");
	memset(used, 0, sizeof(used));
	memset(objs, 0, sizeof(objs));
	pthread_mutex_lock(&si.mu);
	si.w = NULL;
	memset(si.nreads, 0, sizeof(si.nreads));
	pthread_mutex_unlock(&si.mu);
	snprintf(tok, sizeof(tok), "%s/op.token", ctl.dir);
	setenv("BALLAST_SERVER", ctl.url, 1);
	setenv("BALLAST_TOKEN_FILE", tok, 1);
	snprintf(cmd, sizeof(cmd), "'%s/ballastctl' objects import /dev/stdin "
	    ">&2", getenv("BALLAST_BIN") ? getenv("BALLAST_BIN") : "bin");
	t0 = now_s();
	if ((p = popen(cmd, "w")) == NULL)
		die("cannot start ballastctl");
	len = (size_t)sprintf(buf, "id,owner,size,md5,copies,reads_per_hour\n");
	for (long long i = 0; i < w->n; i++) {
		struct row r;

		row_make(w, i, &r);
		len += row_line(&r, buf + len, 1);
		used[r.c0] += (uint64_t)r.size;
		used[r.c1] += (uint64_t)r.size;
		objs[r.c0]++;
		objs[r.c1]++;
		if (si.nreads[r.c0] < NREADS)
			si.reads[r.c0][si.nreads[r.c0]++] = i;
		if (len >= OUTBUF) {
			if (fwrite(buf, 1, len, p) != len)
				die("import: ballastctl stopped reading");
			len = 0;
		}
	}
	if ((len > 0 && fwrite(buf, 1, len, p) != len) || pclose(p) != 0)
		die("import: ballastctl failed");
	t1 = now_s();
	free(buf);
	/* What the stand-in reports: hot nodes at HOT_FILL, the others at
	 * exactly half, so only the hot nodes are above the mean. */
	pthread_mutex_lock(&si.mu);
	for (int k = 0; k < NNODES; k++) {
		si.used[k] = used[k];
		si.objs[k] = objs[k];
		si.cap[k] = k % HOT_EVERY == 0 ? (uint64_t)((double)used[k] /
		    HOT_FILL) : 2 * used[k];
		if (si.cap[k] == 0)
			si.cap[k] = 1ull << 40;
	}
	si.w = w;
	pthread_mutex_unlock(&si.mu);
	return (double)w->n / (t1 - t0);
}

/* The same rows into objects_raw with one COPY. Rows per second. */
static double
copy_pass(PGconn *db, const struct world *w)
{
	char *buf = malloc(OUTBUF + 4096);
	size_t len = 0;
	double t0, t1;
	PGresult *r;

	if (buf == NULL)
		die("out of memory");
	t0 = now_s();
	r = PQexec(db, "COPY objects_raw (id, owner, size, md5, copies, "
	    "reads_per_hour, affinity, allowed_dcs) FROM STDIN");
	if (PQresultStatus(r) != PGRES_COPY_IN)
		die(PQerrorMessage(db));
	PQclear(r);
	for (long long i = 0; i < w->n; i++) {
		struct row rw;

		row_make(w, i, &rw);
		len += row_line(&rw, buf + len, 0);
		if (len >= OUTBUF) {
			if (PQputCopyData(db, buf, (int)len) != 1)
				die(PQerrorMessage(db));
			len = 0;
		}
	}
	if ((len > 0 && PQputCopyData(db, buf, (int)len) != 1) ||
	    PQputCopyEnd(db, NULL) != 1)
		die(PQerrorMessage(db));
	while ((r = PQgetResult(db)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			die(PQresultErrorMessage(r));
		PQclear(r);
	}
	t1 = now_s();
	free(buf);
	return (double)w->n / (t1 - t0);
}

static void
sql(PGconn *db, const char *q)
{
	struct bl_err err;

	if (bl_pg_run(db, q, 0, NULL, &err) == -1)
		die(err.msg);
}

static long long
sql_ll(PGconn *db, const char *q)
{
	struct bl_err err;
	PGresult *r;
	long long v;

	if ((r = bl_pg_exec(db, q, 0, NULL, &err)) == NULL)
		die(err.msg);
	v = PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	return v;
}

/* --- one cycle -------------------------------------------------------------- */

struct cycle_res {
	double		seconds;	/* kick to the row */
	double		in_db;		/* the row's finished_at - started_at */
	long long	candidates, moves, hwm_kib;
	double		cpu_ctl, cpu_pg;
};

static void
run_cycle(PGconn *db, const char *lb, struct cycle_res *cr)
{
	static const char *const pg_needles[] = { "duration:", NULL };
	static const char *const ctl_needles[] = { "cycle:", NULL };
	char pglog[400], q[256];
	long pg_off, ctl_off;
	long long last;
	double t0, c0, p0;
	PGresult *r = NULL;
	struct bl_err err;

	snprintf(pglog, sizeof(pglog), "%s/postgres.log", pg.dir);
	last = sql_ll(db, "SELECT coalesce(max(id), 0) FROM cycles");
	snprintf(q, sizeof(q), "SELECT outcome, candidates, moves, extract("
	    "epoch FROM finished_at - started_at), reason, job FROM cycles "
	    "WHERE id > %lld ORDER BY id LIMIT 1", last);
	if (hwm_reset(ctl.pid) == -1)
		die("cannot reset ballastd's VmHWM");
	pg_off = file_size(pglog);
	ctl_off = file_size(ctl.log);
	c0 = cpu_s(ctl.pid, 0);
	p0 = pg_cpu_s();
	t0 = now_s();
	if (th_ctl_req(&ctl, "POST", "/v1/controller/run", "{}", TH_OP_TOKEN,
	    NULL) != 202)
		die("POST /v1/controller/run did not answer 202");
	for (;;) {
		if ((r = bl_pg_exec(db, q, 0, NULL, &err)) == NULL)
			die(err.msg);
		if (PQntuples(r) == 1)
			break;
		PQclear(r);
		if (now_s() - t0 > 1800)
			die("the cycle did not finish in 30 minutes");
		tha_sleep_ms(20);
	}
	cr->seconds = now_s() - t0;
	cr->cpu_ctl = cpu_s(ctl.pid, 0) - c0;
	cr->cpu_pg = pg_cpu_s() - p0;
	cr->hwm_kib = proc_kib(ctl.pid, "VmHWM");
	cr->candidates = atoll(PQgetvalue(r, 0, 1));
	cr->moves = atoll(PQgetvalue(r, 0, 2));
	cr->in_db = atof(PQgetvalue(r, 0, 3));
	fprintf(stderr, "bench-cycle: %s: outcome=%s candidates=%lld "
	    "moves=%lld seconds=%.2f (agents and access fold %.2f, decide and "
	    "plan %.2f) reason=\"%s\"\n", lb, PQgetvalue(r, 0, 0),
	    cr->candidates, cr->moves, cr->seconds, cr->seconds - cr->in_db,
	    cr->in_db, PQgetvalue(r, 0, 4));
	log_tail(ctl.log, ctl_off, "bench-cycle: ballastd: ", ctl_needles);
	log_tail(pglog, pg_off, "bench-cycle: postgres: ", pg_needles);
	if (strcmp(PQgetvalue(r, 0, 0), "planned") != 0) {
		PQclear(r);
		die("the cycle's outcome is not \"planned\"");
	}
	PQclear(r);
	/* The job is not part of the measure, and the stand-in agents
	 * cannot run it: remove it with ballastd stopped, then start
	 * ballastd again for the next world. */
	if (th_ctl_stop(&ctl) != 0)
		die("ballastd did not stop cleanly");
	sql(db, "UPDATE cycles SET job = NULL");
	sql(db, "DELETE FROM jobs");
	if (th_ctl_restart(&ctl) != 0 || th_ctl_wait_leader(&ctl, 30) != 0)
		die("cannot restart ballastd");
}

/* --- main ------------------------------------------------------------------- */

static void
world_run(PGconn *db, long long n, long long hot, struct cycle_res *cr,
    int first)
{
	struct world w;
	char lb[32], q[128];
	double imp, raw, t0;
	long long got, hwm;

	label(n, lb);
	w.n = n;
	w.hot = hot;
	w.stride = n / hot;
	w.salt = mix((uint64_t)n);
	if (!first) {
		sql(db, "TRUNCATE objects, objects_raw");
		sql(db, "VACUUM objects");
	}
	fprintf(stderr, "bench-cycle: %s: importing %lld objects, %lld of them "
	    "on the %d hot nodes\n", lb, n, n / w.stride, NHOT);
	hwm_reset(ctl.pid);
	imp = import_pass(&w);
	hwm = proc_kib(ctl.pid, "VmHWM");
	if ((got = sql_ll(db, "SELECT count(*) FROM objects")) != n)
		die("import: the table does not hold every object");
	raw = copy_pass(db, &w);
	printf("BENCH cycle_import_rows_per_sec_%s %.0f rows/s\n", lb, imp);
	printf("BENCH cycle_copy_rows_per_sec_%s %.0f rows/s\n", lb, raw);
	printf("BENCH cycle_import_vs_copy_ratio_%s %.3f ratio\n", lb,
	    imp / raw);
	printf("BENCH cycle_import_peak_rss_mib_%s %.0f MiB\n", lb,
	    (double)hwm / 1024);
	fflush(stdout);
	/* The baseline's rows must not cost the cycle anything (autovacuum,
	 * cache): empty them. A steady state for the cycle: the table
	 * vacuumed and analyzed, as autovacuum would leave it. */
	sql(db, "TRUNCATE objects_raw");
	t0 = now_s();
	sql(db, "VACUUM ANALYZE objects");
	snprintf(q, sizeof(q), "SELECT pg_total_relation_size('objects')");
	fprintf(stderr, "bench-cycle: %s: VACUUM ANALYZE %.1f s; objects "
	    "(table and indexes) %.0f MiB\n", lb, now_s() - t0,
	    (double)sql_ll(db, q) / (1 << 20));
	run_cycle(db, lb, cr);
	printf("BENCH cycle_seconds_%s %.2f s\n", lb, cr->seconds);
	printf("BENCH cycle_candidates_%s %lld objects\n", lb, cr->candidates);
	printf("BENCH cycle_moves_%s %lld moves\n", lb, cr->moves);
	printf("BENCH cycle_peak_rss_mib_%s %.0f MiB\n", lb,
	    (double)cr->hwm_kib / 1024);
	printf("BENCH cycle_cpu_ballastd_%s %.2f cpu-s\n", lb, cr->cpu_ctl);
	printf("BENCH cycle_cpu_postgres_%s %.2f cpu-s\n", lb, cr->cpu_pg);
	fflush(stdout);
}

int
main(void)
{
	const char *policy = "{\"max_fill\":0.95,\"check_interval_s\":86400,"
	    "\"max_moves_per_cycle\":null,\"max_egress_bytes_per_cycle\":null,"
	    "\"max_cost_per_cycle\":null}";
	const char *spec = getenv("BENCH_CYCLE_OBJECTS") ?
	    getenv("BENCH_CYCLE_OBJECTS") : "1000000,10000000";
	long long worlds[8], hot = getenv("BENCH_CYCLE_CANDIDATES") ?
	    atoll(getenv("BENCH_CYCLE_CANDIDATES")) : 100000;
	struct cycle_res cr[8];
	int nw = 0;
	struct bl_err err;
	char conf[8192], lb0[32], lb1[32];
	PGconn *db;
	FILE *f;
	size_t n;

	for (const char *p = spec; *p != '\0' && nw < 8;) {
		char *end;

		worlds[nw] = strtoll(p, &end, 10);
		if (end == p || worlds[nw] < 2 * hot || hot < NHOT)
			die("BENCH_CYCLE_OBJECTS: want a comma-separated list, "
			    "each at least twice BENCH_CYCLE_CANDIDATES "
			    "(at least 20)");
		nw++;
		p = *end == ',' ? end + 1 : end;
	}
	signal(SIGPIPE, SIG_IGN);
	if (standin_start() != 0)
		die("cannot start the stand-in agents");
	if (th_pg_start(&pg) != 0)
		die("cannot start PostgreSQL");
	started_pg = 1;
	if (th_ctl_start_ex(&ctl, pg.conninfo, NULL, policy, NULL, "ctl") != 0)
		die("cannot start ballastd");
	/* The helper's config caps bodies at 1 MiB and polls the agents
	 * every 100 ms; ballastctl sends 8 MiB chunks, and ballastd's
	 * defaults are 64 MiB and 1 s (the engine polls every node each
	 * time): restart with the defaults. */
	th_ctl_stop(&ctl);
	if ((f = fopen(ctl.conf, "r")) == NULL)
		die("cannot read ballastd's config");
	n = fread(conf, 1, sizeof(conf) - 1, f);
	fclose(f);
	conf[n] = '\0';
	{
		char *at = strstr(conf, "\"max_body_bytes\":1048576,");

		if (at == NULL)
			die("ballastd's config has no max_body_bytes to raise");
		memmove(at, at + 25, strlen(at + 25) + 1);
		if ((at = strstr(conf, "\"engine\":{")) == NULL ||
		    (size_t)(at - conf) + 13 >= sizeof(conf))
			die("ballastd's config has no engine object");
		strcpy(at, "\"engine\":{}}");
	}
	if ((f = fopen(ctl.conf, "w")) == NULL || fputs(conf, f) == EOF ||
	    fclose(f) != 0)
		die("cannot write ballastd's config");
	if (th_ctl_restart(&ctl) != 0 || th_ctl_wait_leader(&ctl, 30) != 0)
		die("cannot restart ballastd");
	if ((db = bl_pg_connect(pg.conninfo, 10, &err)) == NULL)
		die(err.msg);
	/* Statements of 250 ms or more, with their plans, into the log. */
	sql(db, "ALTER SYSTEM SET log_min_duration_statement = 250");
	sql(db, "ALTER SYSTEM SET session_preload_libraries = 'auto_explain'");
	sql(db, "LOAD 'auto_explain'");
	sql(db, "ALTER SYSTEM SET auto_explain.log_min_duration = 250");
	if (getenv("BENCH_CYCLE_EXPLAIN") != NULL) {
		sql(db, "ALTER SYSTEM SET auto_explain.log_analyze = on");
		sql(db, "ALTER SYSTEM SET auto_explain.log_buffers = on");
	}
	sql(db, "SELECT pg_reload_conf()");
	for (int k = 0; k < NNODES; k++) {
		char target[64], body[512];

		snprintf(target, sizeof(target), "/v1/nodes/n%03d.stor", k);
		snprintf(body, sizeof(body), "{\"agent_url\":\"http://127.0.0.1:"
		    "%d/n%03d\",\"region\":\"r1\",\"datacenter\":\"dc1\","
		    "\"rack\":\"rack%02d\",\"host\":\"n%03d.stor\"}",
		    bl_http_server_port(si.srv), k, k / 20, k);
		if (th_ctl_req(&ctl, "PUT", target, body, TH_OP_TOKEN, NULL) !=
		    201)
			die("cannot register a node");
	}
	sql(db, "CREATE TABLE objects_raw (LIKE objects INCLUDING ALL)");
	for (int i = 0; i < nw; i++)
		world_run(db, worlds[i], hot, &cr[i], i == 0);
	if (nw >= 2) {
		label(worlds[0], lb0);
		label(worlds[nw - 1], lb1);
		printf("BENCH cycle_time_ratio_%s_vs_%s %.2f ratio (objects "
		    "%.0fx, candidates %.2fx)\n", lb1, lb0, cr[nw - 1].seconds /
		    cr[0].seconds, (double)worlds[nw - 1] / (double)worlds[0],
		    (double)cr[nw - 1].candidates / (double)cr[0].candidates);
	}
	PQfinish(db);
	th_ctl_stop(&ctl);
	standin_stop();
	fprintf(stderr, "bench-cycle: the stand-in answered %ld requests\n",
	    si.requests);
	stop_all();
	return 0;
}
