/* tests/fault/test_fault.c - fault injection (issue 8): a private
 * PostgreSQL, five real agents with real files and a real ballastd, with
 * an evacuation and autonomous rebalancing under way, while one thing
 * breaks. After each scenario the invariant verifier (ballastctl verify)
 * must pass, no object may be lost, and every committed task must have
 * bumped its object's version exactly once.
 *
 * BALLAST_SOAK=1 runs the long versions (make soak); BALLAST_SEED replays
 * the random moments of a run. A summary table ends the output.
 *
 * As root with iproute2, f4 runs in a network namespace of its own
 * (tests/helpers/th_netns.h) and the other agents listen on the host's end
 * of its veth pair, so that f4 reaches them and they reach f4; the black
 * hole is then a real one. Elsewhere everything is on 127.0.0.1 and the
 * black hole falls back to stopping f4 (SIGSTOP); the output says which. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/mount.h>
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "tests/helpers/agent_harness.h"
#include "tests/helpers/th_ctl.h"
#include "tests/helpers/th_netns.h"
#include "tests/helpers/th_pg.h"

#define NAGENTS	5
#define QUOTA	"67108864"
#define OWNER	"0f0f0f0f-8888-4999-8aaa-bbbbccccdddd"

/* The loop is started by POST /v1/controller/run, so that each cycle
 * begins while the evacuation runs, not at a timed moment. */
#define POLICY "{\"preset\":\"default\",\"check_interval_s\":3600," \
	"\"max_fill\":0.95,\"max_moves_per_cycle\":20," \
	"\"max_egress_bytes_per_cycle\":4194304}"
#define ENGINE "\"max_inflight_per_node\":10,\"max_tasks_per_assignment\":5"

static const char *const names[NAGENTS] = { "f1.stor", "f2.stor",
    "f3.stor", "f4.stor", "f5.stor" };

static struct th_pg pg;
static struct tha_agent ag[NAGENTS];
static struct th_ctl ctl, ctl2;
static struct th_ctl *lead;	/* borrows: whichever instance leads */
static struct thn net;	/* f4's namespace; net.up: it has one */
static int soak;
static int stopped;	/* f4 is SIGSTOPped */
static int mounted;	/* f5's root is on the test's tmpfs */

/* One row of the summary table. */
struct row {
	const char	*name;
	int		 runs;
	long long	 objects;
	long long	 lost;
	char		 reasons[256];
	double		 recover_s;	/* the worst run */
};

static struct row rows[8];
static int nrows;

static struct row *
row_new(const char *name)
{
	struct row *r = &rows[nrows++];

	memset(r, 0, sizeof(*r));
	r->name = name;
	return r;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long
sql(const char *q)
{
	return th_sql_ll(pg.conninfo, q);
}

/* Adds a job's failure and skip reasons to the row ("reason=n ..."). */
static void
row_add_reasons(struct row *r, json_t *job)
{
	const char *k;
	json_t *v;

	json_object_foreach(json_object_get(job, "reasons"), k, v) {
		size_t len = strlen(r->reasons);

		snprintf(r->reasons + len, sizeof(r->reasons) - len, "%s%s=%lld",
		    len ? " " : "", k, (long long)json_integer_value(v));
	}
}

static int
setup_failed(const char *what)
{
	fprintf(stderr, "fault: setup: %s failed\n", what);
	return -1;
}

static int
setup(void **state)
{
	const char *env = getenv("BALLAST_SOAK");
	char why[512];

	(void)state;
	soak = env != NULL && strcmp(env, "1") == 0;
	if (thn_create(&net, why, sizeof(why)) == 0)
		fprintf(stderr, "fault: f4 runs in network namespace %s at %s,"
		    " the other agents at %s; the black hole is a blackhole "
		    "route in it\n", net.name, net.ns_ip, net.host_ip);
	else
		fprintf(stderr, "fault: no network namespace (%s); the black "
		    "hole falls back to SIGSTOP of f4\n", why);
	if (th_pg_start(&pg) != 0)
		return setup_failed("postgresql");
	for (int i = 0; i < NAGENTS; i++) {
		if (net.up) {
			tha_set_host(i == 3 ? net.ns_ip : net.host_ip);
			tha_set_netns(i == 3 ? net.name : NULL);
		}
		if (tha_agent_start(&ag[i], names[i], "--capacity-bytes",
		    QUOTA, NULL) != 0)
			return setup_failed(names[i]);
	}
	tha_set_host(NULL);
	tha_set_netns(NULL);
	if (th_ctl_start_ex(&ctl, pg.conninfo, ENGINE, POLICY, NULL,
	    "ctl") != 0)
		return setup_failed("ballastd");
	lead = &ctl;
	if (th_ctl_register(&ctl, ag, NAGENTS) != 0)
		return setup_failed("register");
	return 0;
}

static void
print_table(void)
{
	printf("\nFAULT %-33s %5s %8s %5s %8s  %s\n", "scenario", "runs",
	    "objects", "lost", "recover", "failed/skipped tasks by reason");
	for (int i = 0; i < nrows; i++)
		printf("FAULT %-33s %5d %8lld %5lld %7.1fs  %s\n", rows[i].name,
		    rows[i].runs, rows[i].objects, rows[i].lost,
		    rows[i].recover_s, rows[i].reasons[0] ? rows[i].reasons :
		    "-");
	fflush(stdout);
}

static int
teardown(void **state)
{
	int rc = 0;

	(void)state;
	print_table();
	if (stopped)
		kill(ag[3].pid, SIGCONT);
	if (net.blackholed)
		thn_blackhole(&net, 0);
	if (mounted) {
		tha_agent_kill9(&ag[4]);
		umount2(ag[4].root, MNT_DETACH);
	}
	/* The instance that leads at the end must exit cleanly (0: also no
	 * sanitizer report in ASan builds). */
	if (lead != NULL && lead->pid > 0 && th_ctl_stop(lead) != 0)
		rc = -1;
	if (ctl2.pid > 0)
		th_ctl_stop(&ctl2);
	if (ctl.pid > 0)
		th_ctl_stop(&ctl);
	for (int i = 0; i < NAGENTS; i++) {
		tha_agent_stop(&ag[i]);
		tha_agent_free(&ag[i]);
	}
	/* After the agents: nothing runs in the namespace any more, so it
	 * goes away with its veth pair. */
	thn_destroy(&net);
	th_pg_destroy(&pg);
	tha_cleanup();
	return rc;
}

/* Every node back in, no objects, nothing throttled, f4 reachable (a
 * scenario that failed half way may have left it black-holed). */
static void
reset(void)
{
	if (net.blackholed)
		assert_int_equal(thn_blackhole(&net, 0), 0);
	if (stopped) {
		assert_int_equal(kill(ag[3].pid, SIGCONT), 0);
		stopped = 0;
	}
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'in'"), 0);
	assert_int_equal(th_pg_sql(&pg, "DELETE FROM objects"), 0);
	for (int i = 0; i < NAGENTS; i++)
		assert_int_equal(tha_throttle(&ag[i], 0), 200);
}

static int
agent_index(const char *name)
{
	for (int i = 0; i < NAGENTS; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

/* Objects whose metadata lists a copy that is not on disk with the
 * object's size, plus objects that are no longer listed at all. */
static long long
count_lost(long long seeded)
{
	PGconn *db = PQconnectdb(pg.conninfo);
	PGresult *r;
	long long lost = 0;

	assert_int_equal(PQstatus(db), CONNECTION_OK);
	r = PQexec(db, "SELECT id::text, size, array_to_string(copies, ',') "
	    "FROM objects");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	lost = seeded - PQntuples(r);
	for (int i = 0; i < PQntuples(r); i++) {
		char copies[512], *save = NULL;
		long long size = strtoll(PQgetvalue(r, i, 1), NULL, 10);
		int bad = 0;

		snprintf(copies, sizeof(copies), "%s", PQgetvalue(r, i, 2));
		for (char *n = strtok_r(copies, ",", &save); n != NULL;
		    n = strtok_r(NULL, ",", &save)) {
			int a = agent_index(n);
			char path[1200];
			struct stat st;

			if (a < 0) {
				bad = 1;
				continue;
			}
			snprintf(path, sizeof(path), "%s/%s/%s", ag[a].root,
			    OWNER, PQgetvalue(r, i, 0));
			if (stat(path, &st) == -1 || st.st_size != size)
				bad = 1;
		}
		lost += bad;
	}
	PQclear(r);
	PQfinish(db);
	return lost;
}

/* No duplicate and no lost commit: each object's version went up once
 * per committed task that moved it. */
static void
assert_commits_match_versions(void)
{
	long long bumps = sql("SELECT coalesce(sum(version - 1), 0) FROM "
	    "objects");
	long long commits = sql("SELECT count(*) FROM job_tasks t JOIN "
	    "objects o ON o.id = t.object WHERE t.state = 'complete'");

	assert_true(bumps >= 0);
	assert_int_equal(bumps, commits);
}

static void
assert_safe(struct row *r, long long seeded)
{
	long long lost = count_lost(seeded);

	r->lost += lost;
	r->objects += seeded;
	assert_int_equal(lost, 0);
	assert_commits_match_versions();
	assert_int_equal(th_verify(lead), 0);
}

/* Starts one autonomous rebalancing cycle (it plans moves off the fuller
 * nodes and runs them as a job next to the evacuation). */
static void
kick_loop(void)
{
	long rc = th_ctl_req(lead, "POST", "/v1/controller/run", "{}",
	    TH_OP_TOKEN, NULL);

	assert_true(rc == 202 || rc == 409);
}

/* Waits for every job to settle; the jobs of the loop too. */
static void
wait_all_jobs(int timeout_s)
{
	for (int i = 0; i < timeout_s * 10; i++) {
		if (sql("SELECT count(*) FROM jobs WHERE state NOT IN "
		    "('complete', 'failed', 'cancelled')") == 0)
			return;
		tha_sleep_ms(100);
	}
	fail_msg("jobs did not settle in %d s", timeout_s);
}

static json_t *
wait_complete(const char *id, int timeout_s)
{
	json_t *job = th_ctl_wait_job(lead, id, timeout_s);

	assert_non_null(job);
	assert_string_equal(json_string_value(json_object_get(job, "state")),
	    "complete");
	return job;
}

/* A retry job for id's failed and skipped tasks; waits for it. Returns
 * the retry job. */
static json_t *
retry(const char *id)
{
	char rid[37];

	assert_int_equal(th_ctl_retry(lead, id, rid), 201);
	return wait_complete(rid, 120);
}

static void
wait_tasks_in(const char *job, const char *states, long long n)
{
	char q[256];

	snprintf(q, sizeof(q), "SELECT count(*) FROM job_tasks WHERE job = "
	    "'%s' AND state IN (%s)", job, states);
	for (int i = 0; i < 1500; i++) {
		if (sql(q) >= n)
			return;
		tha_sleep_ms(10);
	}
	fail_msg("job %s: no task reached %s", job, states);
}

/* Two-copy objects on f1+f2 (f1 is evacuated) and 64 KiB one-copy
 * objects on f3 (40% full, the others a few %), so that the loop has
 * moves to plan. f3 is restarted to count them. Returns the objects. */
static long long
seed_cluster(int n)
{
	int two[2] = { 0, 1 }, one[1] = { 2 };

	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, n, 16384, two, 2,
	    NULL, OWNER), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 400, 65536, one,
	    1, NULL, OWNER), 0);
	assert_int_equal(tha_agent_stop(&ag[2]), 0);
	assert_int_equal(tha_agent_restart(&ag[2], NULL), 0);
	return n + 400;
}

/* Runs the job to its end; a retry job re-runs what failed or was
 * skipped, as the engine's design has it. Returns the seconds from t0. */
static double
finish_with_retry(struct row *r, const char *id, double t0)
{
	json_t *job = wait_complete(id, 180);

	row_add_reasons(r, job);
	if (th_job_counter(job, "failed") + th_job_counter(job, "skipped") >
	    0) {
		json_t *rj = retry(id);

		assert_int_equal(th_job_counter(rj, "complete"),
		    th_job_counter(job, "failed") +
		    th_job_counter(job, "skipped"));
		json_decref(rj);
	}
	json_decref(job);
	return now_s() - t0;
}

/* kill -9 of one agent mid-transfer, then started again. victim is the
 * destination (f4: f3 and f5 are out) or the source (f2: it holds the
 * other copy, and the draining f1 is never read when another copy
 * exists). */
static void
agent_kill9_mid_transfer(struct row *r, int victim)
{
	int two[2] = { 0, 1 };
	char id[37], q[256];
	double t0, took;

	reset();
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'out' "
	    "WHERE id IN ('f3.stor', 'f5.stor')"), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 20, 8192, two, 2,
	    NULL, OWNER), 0);
	assert_int_equal(tha_throttle(&ag[3], 16384), 200);
	assert_int_equal(th_ctl_evacuate(lead, "f1.stor", 0, id), 201);
	wait_tasks_in(id, "'assigned'", 1);
	tha_sleep_ms(300);
	snprintf(q, sizeof(q), "SELECT count(*) FROM job_tasks WHERE job = "
	    "'%s' AND state = 'complete'", id);
	assert_true(sql(q) < 20);
	tha_agent_kill9(&ag[victim]);
	tha_sleep_ms(500);
	assert_int_equal(tha_agent_restart(&ag[victim], NULL), 0);
	t0 = now_s();
	assert_int_equal(tha_throttle(&ag[3], 0), 200);
	took = finish_with_retry(r, id, t0);
	if (took > r->recover_s)
		r->recover_s = took;
	r->runs++;
	/* Nothing half-written stays on the destination. */
	assert_int_equal(tha_count_tmp(ag[3].root, OWNER), 0);
	assert_int_equal(sql("SELECT count(*) FROM objects WHERE 'f1.stor' = "
	    "ANY(copies)"), 0);
	snprintf(q, sizeof(q), "SELECT count(*) FROM job_tasks WHERE job = "
	    "'%s' AND state IN ('unprocessed', 'assigned', 'copied', "
	    "'committed')", id);
	assert_int_equal(sql(q), 0);
	assert_safe(r, 20);
}

static void
test_fault__kill9_of_the_destination_agent_mid_transfer(void **state)
{
	(void)state;
	agent_kill9_mid_transfer(row_new("kill -9 destination agent"), 3);
}

static void
test_fault__kill9_of_the_source_agent_mid_transfer(void **state)
{
	(void)state;
	agent_kill9_mid_transfer(row_new("kill -9 source agent"), 1);
}

static void
test_fault__postgresql_stopped_mid_job(void **state)
{
	struct row *r = row_new("PostgreSQL stopped");
	int two[2] = { 0, 1 };
	char id[37];
	json_t *job;
	double t0;

	(void)state;
	reset();
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 40, 4096, two, 2,
	    NULL, OWNER), 0);
	for (int i = 2; i < NAGENTS; i++)
		assert_int_equal(tha_throttle(&ag[i], 32768), 200);
	assert_int_equal(th_ctl_evacuate(lead, "f1.stor", 0, id), 201);
	kick_loop();
	wait_tasks_in(id, "'assigned'", 1);
	assert_true(sql("SELECT count(*) FROM job_tasks WHERE state = "
	    "'unprocessed' OR state = 'assigned'") > 0);
	assert_int_equal(th_pg_stop(&pg), 0);
	tha_sleep_ms(soak ? 30000 : 3000);
	assert_int_equal(th_pg_restart(&pg), 0);
	t0 = now_s();
	for (int i = 2; i < NAGENTS; i++)
		assert_int_equal(tha_throttle(&ag[i], 0), 200);
	job = wait_complete(id, 180);
	r->recover_s = now_s() - t0;
	r->runs++;
	row_add_reasons(r, job);
	assert_int_equal(th_job_counter(job, "failed"), 0);
	assert_int_equal(th_job_counter(job, "complete") +
	    th_job_counter(job, "skipped"), 40);
	json_decref(job);
	wait_all_jobs(180);
	/* ballastd reconnected: it answers, and it leads. */
	assert_int_equal(th_ctl_wait_leader(lead, 30), 0);
	assert_safe(r, 40);
}

static void
test_fault__corrupted_source_copy_fails_md5_and_keeps_the_metadata(
    void **state)
{
	struct row *r = row_new("source copy corrupted");
	int one[1] = { 0 };
	char id[37], ids[6 * 37], path[1200], q[256];
	unsigned char *orig[3];
	size_t len[3];
	json_t *job;
	double t0;

	(void)state;
	reset();
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 6, 8192, one, 1,
	    ids, OWNER), 0);
	/* Three of the six single copies on f1 get one byte flipped. */
	for (int i = 0; i < 3; i++) {
		unsigned char b;
		int fd;

		snprintf(path, sizeof(path), "%s/%s/%s", ag[0].root, OWNER,
		    ids + i * 37);
		orig[i] = tha_read_file(path, &len[i]);
		assert_non_null(orig[i]);
		fd = open(path, O_WRONLY);
		assert_true(fd >= 0);
		b = orig[i][100] ^ 0xff;
		assert_int_equal(pwrite(fd, &b, 1, 100), 1);
		close(fd);
	}
	t0 = now_s();
	assert_int_equal(th_ctl_evacuate(lead, "f1.stor", 0, id), 201);
	job = wait_complete(id, 120);
	r->recover_s = now_s() - t0;
	r->runs++;
	row_add_reasons(r, job);
	assert_int_equal(th_job_counter(job, "complete"), 3);
	assert_int_equal(th_job_counter(job, "failed"), 3);
	assert_int_equal(th_job_reason(job, "md5_mismatch"), 3);
	json_decref(job);
	/* The metadata is untouched: still f1 only, still version 1; no
	 * other node holds a copy, whole or partial. */
	for (int i = 0; i < 3; i++) {
		snprintf(q, sizeof(q), "SELECT count(*) FROM objects WHERE id = "
		    "'%s' AND copies = ARRAY['f1.stor'] AND version = 1",
		    ids + i * 37);
		assert_int_equal(sql(q), 1);
		for (int a = 1; a < NAGENTS; a++) {
			snprintf(path, sizeof(path), "%s/%s/%s", ag[a].root,
			    OWNER, ids + i * 37);
			assert_false(tha_exists(path));
		}
	}
	for (int a = 1; a < NAGENTS; a++)
		assert_int_equal(tha_count_tmp(ag[a].root, OWNER), 0);
	/* The operator repairs the copies; the verifier passes again. */
	for (int i = 0; i < 3; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s/%s", ag[0].root, OWNER,
		    ids + i * 37);
		fd = open(path, O_WRONLY | O_TRUNC);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, orig[i], len[i]), (ssize_t)len[i]);
		close(fd);
		free(orig[i]);
	}
	assert_safe(r, 6);
}

/* f5's root on a 1 MiB tmpfs, filled up after the agent counted it, so
 * that the agent believes it has room and the write itself fails. */
static void
test_fault__disk_full_on_the_destination(void **state)
{
	static char zero[4096];
	struct row *r = row_new("destination disk full");
	struct tha_agent *d = &ag[4];
	int two[2] = { 0, 1 };
	char id[37], fill[700];
	long long bytes, count;
	size_t done = 0;
	json_t *job;
	double t0;
	int fd;

	(void)state;
	reset();
	assert_int_equal(tha_agent_stop(d), 0);
	if (mount("tmpfs", d->root, "tmpfs", 0, "size=1m") == -1) {
		fprintf(stderr, "fault: mount tmpfs: %s; scenario skipped\n",
		    strerror(errno));
		assert_int_equal(tha_agent_restart(d, NULL), 0);
		skip();
	}
	mounted = 1;
	assert_int_equal(tha_agent_restart(d, NULL), 0);
	snprintf(fill, sizeof(fill), "%s/filler", d->root);
	fd = open(fill, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	while (done < 1000 * 1024 && write(fd, zero, sizeof(zero)) > 0)
		done += sizeof(zero);
	close(fd);
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'out' "
	    "WHERE id IN ('f3.stor', 'f4.stor')"), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 8, 65536, two, 2,
	    NULL, OWNER), 0);
	t0 = now_s();
	assert_int_equal(th_ctl_evacuate(lead, "f1.stor", 0, id), 201);
	job = wait_complete(id, 120);
	r->recover_s = now_s() - t0;
	r->runs++;
	row_add_reasons(r, job);
	assert_int_equal(th_job_counter(job, "complete"), 0);
	assert_int_equal(th_job_counter(job, "failed"), 8);
	assert_int_equal(th_job_reason(job, "destination_insufficient_space"),
	    8);
	json_decref(job);
	/* No partial file, no final file, and the metadata as it was. */
	assert_int_equal(tha_count_tmp(d->root, OWNER), 0);
	tha_tree_usage(d->root, &bytes, &count);
	assert_int_equal(count, 0);
	assert_int_equal(sql("SELECT count(*) FROM objects WHERE copies = "
	    "ARRAY['f1.stor', 'f2.stor']::text[] AND version = 1"), 8);
	assert_int_equal(tha_agent_stop(d), 0);
	assert_int_equal(umount(d->root), 0);
	mounted = 0;
	assert_int_equal(tha_agent_restart(d, NULL), 0);
	assert_safe(r, 8);
}

/* The destination agent black-holed, not refused. With a namespace, a
 * blackhole route in it drops everything f4 sends to the host: the
 * controller's SYNs and requests arrive, and no SYN-ACK, answer, RST or
 * ICMP ever comes back (f4's own pulls from f2 go nowhere either).
 * Without one, SIGSTOP leaves f4's socket open, so the kernel still
 * accepts connections and nothing ever answers (no RST, no FIN). Either
 * way the engine's timeouts fire and record a reason; once the network
 * (or f4) is back, a retry job completes. */
static void
test_fault__destination_agent_black_holed(void **state)
{
	struct row *r = row_new(net.up ? "destination black-holed (netns)" :
	    "destination black-holed (SIGSTOP)");
	int two[2] = { 0, 1 };
	char id[37];
	json_t *job, *rj;
	double t0;

	(void)state;
	reset();
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'out' "
	    "WHERE id IN ('f3.stor', 'f5.stor')"), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 20, 8192, two, 2,
	    NULL, OWNER), 0);
	assert_int_equal(tha_throttle(&ag[3], 16384), 200);
	assert_int_equal(th_ctl_evacuate(lead, "f1.stor", 0, id), 201);
	wait_tasks_in(id, "'assigned'", 1);
	if (net.up) {
		assert_int_equal(thn_blackhole(&net, 1), 0);
	} else {
		assert_int_equal(kill(ag[3].pid, SIGSTOP), 0);
		stopped = 1;
	}
	job = wait_complete(id, 120);
	row_add_reasons(r, job);
	assert_true(th_job_counter(job, "failed") > 0);
	assert_int_equal(th_job_reason(job, "destination_unreachable"),
	    th_job_counter(job, "failed"));
	assert_int_equal(th_job_counter(job, "complete") +
	    th_job_counter(job, "failed"), 20);
	if (net.up) {
		assert_int_equal(thn_blackhole(&net, 0), 0);
	} else {
		assert_int_equal(kill(ag[3].pid, SIGCONT), 0);
		stopped = 0;
	}
	t0 = now_s();
	assert_int_equal(tha_throttle(&ag[3], 0), 200);
	rj = retry(id);
	assert_int_equal(th_job_counter(rj, "complete"),
	    th_job_counter(job, "failed"));
	json_decref(rj);
	json_decref(job);
	r->recover_s = now_s() - t0;
	r->runs++;
	assert_int_equal(sql("SELECT count(*) FROM objects WHERE 'f1.stor' = "
	    "ANY(copies)"), 0);
	assert_safe(r, 20);
}

/* The leader dies while its tasks wait in "copied" for the metadata
 * commit (held there by a row lock on objects); the follower takes over
 * and commits each once. */
static void
test_fault__leader_killed_in_the_commit_phase(void **state)
{
	struct row *r = row_new("leader killed in commit");
	int two[2] = { 0, 1 };
	char id[37];
	PGconn *db;
	PGresult *res;
	json_t *job;
	double t0;

	(void)state;
	reset();
	assert_int_equal(th_ctl_start_ex(&ctl2, pg.conninfo, ENGINE, POLICY,
	    NULL, "ctl2"), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 30, 4096, two, 2,
	    NULL, OWNER), 0);
	db = PQconnectdb(pg.conninfo);
	assert_int_equal(PQstatus(db), CONNECTION_OK);
	res = PQexec(db, "BEGIN; SELECT 1 FROM objects FOR UPDATE");
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	PQclear(res);
	assert_int_equal(th_ctl_evacuate(&ctl, "f1.stor", 0, id), 201);
	kick_loop();
	wait_tasks_in(id, "'copied'", 5);
	th_ctl_kill9(&ctl);
	t0 = now_s();
	res = PQexec(db, "ROLLBACK");
	PQclear(res);
	PQfinish(db);
	assert_int_equal(th_ctl_wait_leader(&ctl2, 30), 0);
	lead = &ctl2;
	job = wait_complete(id, 180);
	r->recover_s = now_s() - t0;
	r->runs++;
	row_add_reasons(r, job);
	assert_int_equal(th_job_counter(job, "failed"), 0);
	assert_int_equal(th_job_counter(job, "complete") +
	    th_job_counter(job, "skipped"), 30);
	json_decref(job);
	wait_all_jobs(180);
	assert_safe(r, 30);
}

static void
test_fault__kill9_of_ballastd_at_random_moments(void **state)
{
	struct row *r = row_new("kill -9 ballastd");
	int kills = soak ? 50 : 5;
	long long seeded;
	char id[37];
	json_t *job;
	unsigned seed;

	(void)state;
	{
		const char *env = getenv("BALLAST_SEED");

		seed = env ? (unsigned)strtoul(env, NULL, 10) :
		    (unsigned)time(NULL);
		fprintf(stderr, "fault kill9: BALLAST_SEED=%u\n", seed);
		srand(seed);
	}
	reset();
	seeded = seed_cluster(soak ? 600 : 80);
	for (int i = 1; i < NAGENTS; i++)
		assert_int_equal(tha_throttle(&ag[i], 65536), 200);
	assert_int_equal(th_ctl_evacuate(lead, "f1.stor", 0, id), 201);
	kick_loop();
	for (int k = 0; k < kills; k++) {
		double t0;

		tha_sleep_ms(100 + rand() % 600);
		/* The first kill lands mid-job, the others where they fall. */
		if (k == 0)
			assert_true(sql("SELECT count(*) FROM jobs WHERE state "
			    "NOT IN ('complete', 'failed', 'cancelled')") > 0);
		th_ctl_kill9(lead);
		t0 = now_s();
		assert_int_equal(th_ctl_restart(lead), 0);
		assert_int_equal(th_ctl_wait_leader(lead, 30), 0);
		if (now_s() - t0 > r->recover_s)
			r->recover_s = now_s() - t0;
		r->runs++;
		if (k % 3 == 2)
			kick_loop();
	}
	for (int i = 1; i < NAGENTS; i++)
		assert_int_equal(tha_throttle(&ag[i], 0), 200);
	job = wait_complete(id, 300);
	row_add_reasons(r, job);
	assert_int_equal(th_job_counter(job, "failed"), 0);
	json_decref(job);
	wait_all_jobs(300);
	assert_int_equal(sql("SELECT count(*) FROM jobs WHERE state <> "
	    "'complete'"), 0);
	/* Every evacuated object left f1 (a skip for a move of the loop
	 * would leave a task to retry; there is none). */
	assert_int_equal(sql("SELECT count(*) FROM job_tasks WHERE state IN "
	    "('failed', 'unprocessed', 'assigned', 'copied', 'committed')"),
	    0);
	/* The loop was under way: it planned moves off f3. */
	assert_true(sql("SELECT count(*) FROM jobs WHERE kind = 'rebalance'")
	    > 0);
	assert_true(sql("SELECT count(*) FROM objects WHERE cardinality(copies)"
	    " = 1 AND copies <> ARRAY['f3.stor']") > 0);
	assert_safe(r, seeded);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault__kill9_of_ballastd_at_random_moments),
		cmocka_unit_test(
		    test_fault__kill9_of_the_destination_agent_mid_transfer),
		cmocka_unit_test(
		    test_fault__kill9_of_the_source_agent_mid_transfer),
		cmocka_unit_test(test_fault__postgresql_stopped_mid_job),
		cmocka_unit_test(
		 test_fault__corrupted_source_copy_fails_md5_and_keeps_the_metadata),
		cmocka_unit_test(test_fault__disk_full_on_the_destination),
		cmocka_unit_test(test_fault__destination_agent_black_holed),
		/* Last: ctl2 leads from here on. */
		cmocka_unit_test(test_fault__leader_killed_in_the_commit_phase),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
