/* tests/integration/test_simulate_match.c - ballastctl simulate against a
 * real run: a private PostgreSQL, six real agents on loopback and a real
 * ballastd converge a skewed cluster cycle by cycle; simulate, given the
 * same cluster, objects and policy (exported from the database before the
 * first cycle), must predict the bytes moved and the cycles to converge
 * within 10%.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "migrate/schema.h"
#include "tests/helpers/th_cluster.h"

#define NAGENTS	6
#define OWNER	"0b0b0b0b-0000-4000-8000-000000000002"
#define QUOTA	"33554432"
#define OBJ	(64 * 1024)

/* Cycles are run by POST /v1/controller/run, each after the jobs of the
 * previous one are done; the simulator's transfers are instant next to a
 * 3600 s interval, so both see the same sequence. The real cycles come
 * seconds apart, the simulated ones an hour: a residency longer than the
 * whole simulated run holds the same objects back in both. */
#define POLICY "{\"preset\":\"default\",\"check_interval_s\":3600," \
	"\"max_fill\":0.95,\"max_moves_per_cycle\":12," \
	"\"max_egress_bytes_per_cycle\":1048576,\"min_residency_s\":864000}"

static struct th_pg pg;
static struct tha_agent ag[NAGENTS];
static struct th_ctl ctl;
static char dir[512];

static const char *const names[NAGENTS] = { "a1.stor", "a2.stor", "a3.stor",
    "b1.stor", "b2.stor", "b3.stor" };
static const char *const agent_args[] = { "--capacity-bytes", QUOTA, NULL };
static const struct th_cluster cluster = {
	.pg = &pg, .ag = ag, .ctl = &ctl, .n = NAGENTS, .names = names,
	.agent_args = agent_args, .policy = POLICY,
};

static long long
sql(const char *q)
{
	return th_sql_ll(pg.conninfo, q);
}

/* The first value of one query as text, written to path. */
static void
sql_to_file(const char *q, const char *path)
{
	PGconn *db = PQconnectdb(pg.conninfo);
	PGresult *r;
	FILE *f;

	assert_int_equal(PQstatus(db), CONNECTION_OK);
	r = PQexec(db, q);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", q, PQerrorMessage(db));
	assert_int_equal(PQntuples(r), 1);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(PQgetvalue(r, 0, 0), f) >= 0);
	assert_int_equal(fclose(f), 0);
	PQclear(r);
	PQfinish(db);
}

static int
setup(void **state)
{
	int hot[2] = { 0, 1 }, mid[2] = { 0, 3 }, rest[2] = { 2, 4 },
	    rest2[2] = { 3, 5 };

	if (th_cluster_start(&cluster) != 0)
		return -1;
	if (th_pg_sql(&pg, "UPDATE nodes SET datacenter = 'dc2' WHERE id "
	    "LIKE 'b%'") != 0)
		return -1;
	/* a1, a2 hold most; two sizes of objects. */
	if (th_seed(pg.conninfo, ag, NAGENTS, 150, OBJ, hot, 2, NULL,
	    OWNER) != 0 || th_seed(pg.conninfo, ag, NAGENTS, 40, 2 * OBJ, mid,
	    2, NULL, OWNER) != 0 || th_seed(pg.conninfo, ag, NAGENTS, 30, OBJ,
	    rest, 2, NULL, OWNER) != 0 || th_seed(pg.conninfo, ag, NAGENTS, 30,
	    OBJ, rest2, 2, NULL, OWNER) != 0)
		return -1;
	if (th_cluster_restart_agents(&cluster) != 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", ctl.dir);
	return 0;
}

static int
teardown(void **state)
{
	th_cluster_stop(&cluster);
	return 0;
}

static void
wait_jobs_idle(int timeout_s)
{
	for (int i = 0; i < timeout_s * 10; i++) {
		if (sql("SELECT count(*) FROM jobs WHERE state IN ('init', "
		    "'setup', 'running', 'paused')") == 0 && sql("SELECT "
		    "count(*) FROM job_tasks WHERE cleanup IN ('source', "
		    "'orphan')") == 0)
			return;
		tha_sleep_ms(100);
	}
	fail_msg("jobs still open after %d s", timeout_s);
}

static long long
run_cycle(void)
{
	long long before = sql("SELECT coalesce(max(id), 0) FROM cycles");

	assert_int_equal(th_ctl_req(&ctl, "POST", "/v1/controller/run", NULL,
	    TH_OP_TOKEN, NULL), 202);
	for (int i = 0; i < 300; i++) {
		long long id = sql("SELECT coalesce(max(id), 0) FROM cycles");

		if (id > before)
			return id;
		tha_sleep_ms(50);
	}
	fail_msg("no cycle was recorded");
	return -1;
}

static double
rel(double a, double b)
{
	return b != 0 ? (a > b ? a - b : b - a) / b : (a == 0 ? 0 : 1);
}

static void
test_simulate_match__prediction_within_10_percent_of_ballastd(void **state)
{
	char cl[700], ob[700], sc[700], po[700], out[700], cmd[4096];
	long long real_cycles = 0, real_bytes, sim_bytes, sim_cycles;
	json_error_t je;
	json_t *j, *t;
	FILE *f;
	int st;

	(void)state;
	/* The agents' usage is in the nodes table once the engine probed. */
	for (int i = 0; i < 100 && sql("SELECT count(*) FROM nodes WHERE "
	    "used_bytes > 0") < NAGENTS; i++)
		tha_sleep_ms(100);
	assert_int_equal(sql("SELECT count(*) FROM nodes WHERE used_bytes > "
	    "0"), NAGENTS);
	snprintf(cl, sizeof(cl), "%s/cluster.json", dir);
	snprintf(ob, sizeof(ob), "%s/objects.csv", dir);
	snprintf(sc, sizeof(sc), "%s/scenario.json", dir);
	snprintf(po, sizeof(po), "%s/policy.json", dir);
	snprintf(out, sizeof(out), "%s/sim.json", dir);
	sql_to_file("SELECT json_build_object('failure_domain', 'host', "
	    "'nodes', json_agg(json_build_object('id', id, 'region', region, "
	    "'datacenter', datacenter, 'rack', rack, 'host', host, "
	    "'capacity_bytes', capacity_bytes, 'used_bytes', used_bytes, "
	    "'state', state, 'weight', CASE WHEN weight > 0 THEN weight ELSE "
	    "capacity_bytes / 1099511627776.0 END) ORDER BY id))::text FROM "
	    "nodes", cl);
	sql_to_file("SELECT 'id,owner,size,md5,copies,reads_per_hour,"
	    "affinity,allowed_dcs' || chr(10) || string_agg(concat_ws(',', "
	    "id, owner, size, md5, array_to_string(copies, ';'), "
	    MIG_READS_PER_HOUR("objects") ", coalesce(affinity, ''), coalesce("
	    "array_to_string(allowed_dcs, ';'), '')), chr(10) ORDER BY id) || "
	    "chr(10) FROM objects", ob);
	f = fopen(sc, "w");
	assert_non_null(f);
	fputs("{\"duration_s\": 360000, \"max_cycles\": 60, \"throughput\": "
	    "{\"node_bytes_per_sec\": 1e12}}\n", f);
	assert_int_equal(fclose(f), 0);
	f = fopen(po, "w");
	assert_non_null(f);
	fputs(POLICY "\n", f);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "'%s/ballastctl' simulate --cluster '%s' "
	    "--objects '%s' --scenario '%s' --policy '%s' --json >'%s'",
	    getenv("BALLAST_BIN") ? getenv("BALLAST_BIN") : "bin", cl, ob, sc,
	    po, out);
	st = system(cmd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	j = json_load_file(out, 0, &je);
	assert_non_null(j);
	t = json_object_get(j, "totals");
	sim_bytes = json_integer_value(json_object_get(t, "bytes_rebalance"));
	sim_cycles = json_integer_value(json_object_get(t, "converged_cycle"));
	json_decref(j);
	/* --live reads the same cluster and policy from ballastd's API. */
	snprintf(cmd, sizeof(cmd), "'%s/ballastctl' simulate --live --server "
	    "'%s' --token-file '%s/view.token' --objects '%s' --scenario '%s' "
	    "--json >'%s'", getenv("BALLAST_BIN") ? getenv("BALLAST_BIN") :
	    "bin", ctl.url, ctl.dir, ob, sc, out);
	st = system(cmd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	j = json_load_file(out, 0, &je);
	assert_non_null(j);
	t = json_object_get(j, "totals");
	assert_int_equal(json_integer_value(json_object_get(t,
	    "bytes_rebalance")), sim_bytes);
	assert_int_equal(json_integer_value(json_object_get(t,
	    "converged_cycle")), sim_cycles);
	json_decref(j);
	/* --live without --objects takes the objects from the API too
	 * (GET /v1/objects/export): the same run. */
	snprintf(cmd, sizeof(cmd), "'%s/ballastctl' simulate --live --server "
	    "'%s' --token-file '%s/view.token' --scenario '%s' --json >'%s'",
	    getenv("BALLAST_BIN") ? getenv("BALLAST_BIN") : "bin", ctl.url,
	    ctl.dir, sc, out);
	st = system(cmd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	j = json_load_file(out, 0, &je);
	assert_non_null(j);
	t = json_object_get(j, "totals");
	assert_int_equal(json_integer_value(json_object_get(t,
	    "bytes_rebalance")), sim_bytes);
	assert_int_equal(json_integer_value(json_object_get(t,
	    "converged_cycle")), sim_cycles);
	json_decref(j);
	/* With --live too, an objects file it cannot read is exit 2. */
	snprintf(cmd, sizeof(cmd), "'%s/ballastctl' simulate --live --server "
	    "'%s' --token-file '%s/view.token' --objects '%s/missing.csv' "
	    "--scenario '%s' >/dev/null 2>&1", getenv("BALLAST_BIN") ?
	    getenv("BALLAST_BIN") : "bin", ctl.url, ctl.dir, dir, sc);
	st = system(cmd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 2);
	/* The real run. */
	for (int i = 0; i < 60; i++) {
		run_cycle();
		real_cycles++;
		wait_jobs_idle(180);
		if (sql("SELECT count(*) FROM cycles WHERE id = (SELECT max(id) "
		    "FROM cycles) AND outcome = 'idle' AND imbalance_before <= "
		    "target") == 1)
			break;
	}
	real_bytes = sql("SELECT coalesce(sum(t.size), 0) FROM job_tasks t "
	    "JOIN jobs j ON j.id = t.job WHERE j.kind = 'rebalance' AND "
	    "j.origin = 'controller' AND t.state IN ('complete', "
	    "'committed')");
	print_message("ballastd: %lld bytes in %lld cycles; simulate: %lld "
	    "bytes in %lld cycles\n", real_bytes, real_cycles, sim_bytes,
	    sim_cycles);
	assert_true(real_bytes > 0);
	assert_true(real_cycles >= 3);
	assert_true(sim_cycles > 0);
	assert_true(rel((double)sim_bytes, (double)real_bytes) <= 0.10);
	assert_true(rel((double)sim_cycles, (double)real_cycles) <= 0.10);
	assert_int_equal(th_verify(&ctl), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_simulate_match__prediction_within_10_percent_of_ballastd),
	};

	return cmocka_run_group_tests_name("simulate_match", tests, setup,
	    teardown);
}
