/* tests/integration/test_cli_engine.c - ballastd's config checks and the
 * ballastctl commands against a real ballastd: exit codes, watch, import,
 * and the verifier catching a damaged copy. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/evp.h>

#include "tests/helpers/th_cluster.h"

#define NAGENTS 3
#define OWNER "0f0f0f0f-1111-4222-8333-444455556666"

static struct th_pg pg;
static struct tha_agent ag[NAGENTS];
static struct th_ctl ctl;
static char out[65536];

static const char *const names[NAGENTS] = { "c1.stor", "c2.stor",
    "c3.stor" };
static const struct th_cluster cluster = {
	.pg = &pg, .ag = ag, .ctl = &ctl, .n = NAGENTS, .names = names,
};

static int
setup(void **state)
{
	(void)state;
	return th_cluster_start(&cluster);
}

static int
teardown(void **state)
{
	(void)state;
	return th_cluster_stop(&cluster);
}

/* Runs a shell command line; its stdout and stderr go to out. Returns
 * the exit code. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return tha_run(out, sizeof(out), "%s 2>&1", cmd);
}

static int
ctlcmd(const char *token_file, const char *args)
{
	return run("'%s/ballastctl' --server %s --token-file '%s/%s' %s",
	    tha_bin_dir(), ctl.url, ctl.dir, token_file, args);
}

static void
write_conf(const char *path, const char *extra)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "{\"database\":\"%s\",\"secret_file\":\"%s\",\"tokens\":"
	    "[{\"name\":\"ops\",\"token_file\":\"%s/op.token\",\"role\":"
	    "\"operator\"}]%s}", pg.conninfo, ctl.secret, ctl.dir, extra);
	fclose(f);
}

static void
test_cli__ballastd_checks_its_config_and_names_bad_keys(void **state)
{
	char conf[700];

	(void)state;
	snprintf(conf, sizeof(conf), "%s/check.json", ctl.dir);
	write_conf(conf, ",\"// note\":\"comments are keys with //\"");
	assert_int_equal(run("'%s/ballastd' --config '%s' --check-config",
	    tha_bin_dir(), conf), 0);
	assert_non_null(strstr(out, "ok"));
	assert_int_equal(run("'%s/ballastd' --config '%s' --print-config",
	    tha_bin_dir(), conf), 0);
	assert_non_null(strstr(out, "engine.metadata_threads = 10  # default"));
	assert_null(strstr(out, TH_OP_TOKEN));
	write_conf(conf, ",\"engine\":{\"bogus\":1}");
	assert_int_equal(run("'%s/ballastd' --config '%s' --check-config",
	    tha_bin_dir(), conf), 2);
	assert_non_null(strstr(out, "engine.bogus"));
	write_conf(conf, ",\"engine\":{\"metadata_threads\":251}");
	assert_int_equal(run("'%s/ballastd' --config '%s' --check-config",
	    tha_bin_dir(), conf), 2);
	assert_non_null(strstr(out, "engine.metadata_threads"));
	write_conf(conf, ",\"listen_port\":1");
	assert_int_equal(run("'%s/ballastd' --config '%s' --check-config",
	    tha_bin_dir(), conf), 2);
	assert_non_null(strstr(out, "listen_port"));
	write_conf(conf, ",\"policy\":{\"max_fill\":7}");
	assert_int_equal(run("'%s/ballastd' --config '%s' --check-config",
	    tha_bin_dir(), conf), 2);
	assert_non_null(strstr(out, "policy.max_fill"));
}

static void
test_cli__job_commands_and_exit_codes(void **state)
{
	int copies[2] = { 0, 1 };
	char id[64];

	(void)state;
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 10, 2000, copies, 2,
	    NULL, OWNER), 0);
	assert_int_equal(ctlcmd("op.token", "job evacuate c1.stor "
	    "--max-objects 4"), 0);
	assert_int_equal(strlen(out), 37);
	snprintf(id, sizeof(id), "%.36s", out);
	/* watch, not a TTY: plain lines, exit 0 on complete */
	assert_int_equal(ctlcmd("view.token", "job watch ") , 2);
	{
		char args[128];

		snprintf(args, sizeof(args), "job watch %s", id);
		assert_int_equal(ctlcmd("view.token", args), 0);
		assert_non_null(strstr(out, "state=complete"));
		assert_non_null(strstr(out, "complete=4"));
		/* On a TTY (script(1) gives one): a progress bar, rate and
		 * ETA, redrawn in place. */
		assert_int_equal(run("script -qec \"'%s/ballastctl' --server "
		    "%s --token-file '%s/view.token' job watch %s\" /dev/null",
		    tha_bin_dir(), ctl.url, ctl.dir, id), 0);
		assert_non_null(strstr(out, "\r["));
		assert_non_null(strstr(out, "100.0%"));
		assert_non_null(strstr(out, "obj/s ETA"));
		snprintf(args, sizeof(args), "job get %s", id);
		assert_int_equal(ctlcmd("view.token", args), 0);
		assert_non_null(strstr(out, "\"bytes_done\": 8000"));
		/* a viewer may not pause: auth refused */
		snprintf(args, sizeof(args), "job pause %s", id);
		assert_int_equal(ctlcmd("view.token", args), 4);
		/* an operator may, but the job is finished: failed result */
		assert_int_equal(ctlcmd("op.token", args), 1);
		snprintf(args, sizeof(args), "job retry %s", id);
		assert_int_equal(ctlcmd("op.token", args), 0);
	}
	assert_int_equal(ctlcmd("view.token", "job list"), 0);
	assert_non_null(strstr(out, "evacuate"));
	/* The evacuation was partial (--max-objects) and drained the node
	 * itself: when it ended, the node went back in. */
	for (int i = 0; i < 100 && th_sql_ll(pg.conninfo, "SELECT count(*) "
	    "FROM nodes WHERE id = 'c1.stor' AND state = 'in'") != 1; i++)
		tha_sleep_ms(100);
	assert_int_equal(ctlcmd("view.token", "node list"), 0);
	assert_non_null(strstr(out, "c1.stor"));
	{
		const char *c1 = strstr(out, "c1.stor");

		assert_true(strncmp(c1 + 22, "in ", 3) == 0);
	}
	assert_int_equal(ctlcmd("op.token", "node set c1.stor state=in "
	    "weight=2"), 0);
	assert_int_equal(ctlcmd("op.token", "node drain c9.stor"), 1);
	assert_int_equal(ctlcmd("op.token", "job evacuate nope.stor"), 2);
	assert_int_equal(ctlcmd("op.token", "job frobnicate"), 2);
	/* bad token: 4; nobody listening: 3 */
	assert_int_equal(run("BALLAST_TOKEN_FILE=/dev/null '%s/ballastctl' "
	    "--server %s job list", tha_bin_dir(), ctl.url), 4);
	assert_int_equal(run("'%s/ballastctl' --server http://127.0.0.1:1 "
	    "--token-file '%s/op.token' job list", tha_bin_dir(), ctl.dir), 3);
}

static void
test_cli__import_then_verify_catches_a_damaged_copy(void **state)
{
	char csv[700], path[1200];
	char md5[25];
	unsigned char *data;
	FILE *f;

	(void)state;
	/* One object with two copies, written for real, imported by CSV. */
	data = tha_put_object(ag[1].root, OWNER,
	    "22222222-3333-4444-8555-666666666666", 3000, md5);
	assert_non_null(data);
	snprintf(path, sizeof(path), "%s/%s", ag[2].root, OWNER);
	(void)mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/22222222-3333-4444-8555-"
	    "666666666666", ag[2].root, OWNER);
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite(data, 1, 3000, f);
	fclose(f);
	free(data);
	snprintf(csv, sizeof(csv), "%s/objects.csv", ctl.dir);
	f = fopen(csv, "w");
	assert_non_null(f);
	fprintf(f, "id,owner,size,md5,copies,reads_per_hour,affinity,"
	    "allowed_dcs\n22222222-3333-4444-8555-666666666666,%s,3000,%s,"
	    "c2.stor;c3.stor,0,,\n", OWNER, md5);
	fclose(f);
	{
		char args[800];

		snprintf(args, sizeof(args), "objects import '%s'", csv);
		assert_int_equal(ctlcmd("op.token", args), 0);
		assert_non_null(strstr(out, "imported 1 objects"));
	}
	assert_int_equal(th_verify(&ctl), 0);
	/* Damage the copy on c3: the verifier must say so. */
	f = fopen(path, "r+");
	assert_non_null(f);
	fputc('!', f);
	fclose(f);
	assert_int_equal(run("'%s/ballastctl' verify --database '%s' "
	    "--secret-file '%s'", tha_bin_dir(), pg.conninfo, ctl.secret), 1);
	assert_non_null(strstr(out, "c3.stor"));
	assert_non_null(strstr(out, "md5"));
	/* The same in JSON: one document, the damaged copy named. */
	assert_int_equal(run("'%s/ballastctl' verify --json --database '%s' "
	    "--secret-file '%s'", tha_bin_dir(), pg.conninfo, ctl.secret), 1);
	{
		json_t *j = json_loads(out, 0, NULL);

		assert_non_null(j);
		assert_true(json_is_false(json_object_get(j, "ok")));
		assert_int_equal(json_integer_value(json_object_get(j, "bad")),
		    1);
		assert_non_null(strstr(json_string_value(json_object_get(
		    json_array_get(json_object_get(j, "problems"), 0),
		    "copy")), "c3.stor"));
		json_decref(j);
	}
	assert_int_equal(th_pg_sql(&pg, "DELETE FROM objects WHERE id = "
	    "'22222222-3333-4444-8555-666666666666'"), 0);
}

static void
test_cli__evacuation_can_delete_sources_with_a_forward(void **state)
{
	int copies[2] = { 0, 1 };
	char ids[3 * 37], id[37], target[128], loc[256], path[1200];
	struct tha_resp r;
	json_t *job;

	(void)state;
	/* The same cluster, a ballastd configured to delete what it
	 * evacuates (grace 0 in tests). */
	assert_int_equal(th_ctl_stop(&ctl), 0);
	assert_int_equal(th_ctl_start(&ctl, pg.conninfo,
	    "\"evacuate_deletes_source\":true"), 0);
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'in'"), 0);
	assert_int_equal(th_pg_sql(&pg, "DELETE FROM objects"), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 3, 1500, copies, 2,
	    ids, OWNER), 0);
	assert_int_equal(th_ctl_evacuate(&ctl, "c1.stor", 0, id), 201);
	job = th_ctl_wait_job(&ctl, id, 60);
	assert_non_null(job);
	assert_string_equal(json_string_value(json_object_get(job, "state")),
	    "complete");
	json_decref(job);
	for (int i = 0; i < 3; i++) {
		/* gone from c1, which now redirects readers to c3 */
		snprintf(path, sizeof(path), "%s/%s/%s", ag[0].root, OWNER,
		    ids + i * 37);
		assert_false(tha_exists(path));
		snprintf(target, sizeof(target), "/v1/objects/%s/%s", OWNER,
		    ids + i * 37);
		assert_int_equal(tha_request(ag[0].url, "GET", target, NULL, 0,
		    THA_SIGNED, NULL, &r), 0);
		assert_int_equal(r.status, 307);
		assert_int_equal(tha_resp_header(&r, "Location", loc,
		    sizeof(loc)), 0);
		assert_non_null(strstr(loc, ag[2].url));
		tha_resp_free(&r);
	}
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE copies = ARRAY['c3.stor', 'c2.stor']"), 3);
	assert_int_equal(th_verify(&ctl), 0);
}

static void
test_cli__submit_runs_a_plan_file(void **state)
{
	int copies[2] = { 1, 2 };
	char ids[2 * 37], plan[700], args[800], jid[64];
	FILE *f;

	(void)state;
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'in'"), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 2, 1000, copies, 2,
	    ids, OWNER), 0);
	snprintf(plan, sizeof(plan), "%s/plan.json", ctl.dir);
	f = fopen(plan, "w");
	assert_non_null(f);
	fprintf(f, "{\"summary\":{\"moves\":2},\"moves\":["
	    "{\"object\":\"%s\",\"from\":\"c2.stor\",\"to\":\"c1.stor\","
	    "\"bytes\":1000,\"cost\":0,\"gravity\":0.1,\"reason\":\"x\"},"
	    "{\"object\":\"%s\",\"from\":\"c2.stor\",\"to\":\"c1.stor\","
	    "\"bytes\":1000,\"cost\":0,\"gravity\":0.1,\"reason\":\"x\"}]}",
	    ids, ids + 37);
	fclose(f);
	snprintf(args, sizeof(args), "job submit '%s'", plan);
	assert_int_equal(ctlcmd("op.token", args), 0);
	snprintf(jid, sizeof(jid), "%.36s", out);
	snprintf(args, sizeof(args), "job watch %s", jid);
	assert_int_equal(ctlcmd("view.token", args), 0);
	assert_non_null(strstr(out, "complete=2"));
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE copies = ARRAY['c1.stor', 'c3.stor']"), 2);
	assert_int_equal(th_verify(&ctl), 0);
	/* A plan file that is not JSON is a usage error. */
	assert_int_equal(ctlcmd("op.token", "job submit /dev/null"), 2);
}

static void
test_cli__an_assignment_the_agent_refuses_fails_its_tasks_once(
    void **state)
{
	static const char *const small[] = { "--set", "max_tasks=1", NULL };
	int copies[2] = { 0, 1 };
	char id[37];
	json_t *job;

	(void)state;
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'in'"), 0);
	assert_int_equal(th_pg_sql(&pg, "DELETE FROM objects"), 0);
	/* c3 is the only destination, and takes one task per assignment. */
	assert_int_equal(tha_agent_stop(&ag[2]), 0);
	assert_int_equal(tha_agent_restart(&ag[2], small), 0);
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 3, 1000, copies, 2,
	    NULL, OWNER), 0);
	assert_int_equal(th_ctl_evacuate(&ctl, "c1.stor", 0, id), 201);
	job = th_ctl_wait_job(&ctl, id, 60);
	assert_non_null(job);
	assert_string_equal(json_string_value(json_object_get(job, "state")),
	    "complete");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    job, "reasons"), "assignment_rejected")), 3);
	json_decref(job);
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM "
	    "assignments WHERE state = 'rejected'"), 1);
	assert_int_equal(th_verify(&ctl), 0);
	assert_int_equal(tha_agent_stop(&ag[2]), 0);
	assert_int_equal(tha_agent_restart(&ag[2], NULL), 0);
}

static void
put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *
get_file(const char *path)
{
	size_t n;
	char *p = (char *)tha_read_file(path, &n);

	assert_non_null(p);
	p[n] = '\0';
	return p;
}

/* Waits until token gets status on GET /v1/jobs. */
static void
wait_token(const char *token, long status)
{
	for (int i = 0; i < 100; i++) {
		if (th_ctl_req(&ctl, "GET", "/v1/jobs", NULL, token, NULL) ==
		    status)
			return;
		tha_sleep_ms(50);
	}
	fail_msg("token %s never got %ld", token, status);
}

static void
test_cli__sighup_reloads_tokens_and_keeps_a_bad_file_out(void **state)
{
	static const char fresh[] = "fresh-operator-token-0123456789";
	char tok[700];
	char *conf;

	(void)state;
	snprintf(tok, sizeof(tok), "%s/op.token", ctl.dir);
	conf = get_file(ctl.conf);
	put_file(tok, fresh);
	kill(ctl.pid, SIGHUP);
	wait_token(fresh, 200);
	wait_token(TH_OP_TOKEN, 401);
	/* A broken file: refused, the running config stays. */
	put_file(ctl.conf, "{\"listen\":");
	kill(ctl.pid, SIGHUP);
	tha_sleep_ms(300);
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/jobs", NULL, fresh,
	    NULL), 200);
	/* An unknown key too. */
	put_file(ctl.conf, "{\"bogus\":1}");
	kill(ctl.pid, SIGUSR1);
	tha_sleep_ms(300);
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/jobs", NULL, fresh,
	    NULL), 200);
	/* Back as it was. */
	put_file(ctl.conf, conf);
	put_file(tok, TH_OP_TOKEN "\n");
	kill(ctl.pid, SIGHUP);
	wait_token(TH_OP_TOKEN, 200);
	wait_token(fresh, 401);
	free(conf);
}

static void
test_cli__inventory_import_then_plan_then_submit(void **state)
{
	char dir[700], path[800], args[2600], jid[64];
	FILE *f;
	json_t *plan;
	size_t nmoves;

	(void)state;
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'in'"), 0);
	assert_int_equal(th_pg_sql(&pg, "DELETE FROM objects"), 0);
	snprintf(dir, sizeof(dir), "%s", ctl.dir);
	/* 20 objects of 4000 bytes, all on c1: the inventory, as CSV. */
	snprintf(path, sizeof(path), "%s/inventory.csv", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "id,owner,size,md5,copies,reads_per_hour,affinity,"
	    "allowed_dcs\n");
	for (int i = 0; i < 20; i++) {
		unsigned char *data, raw[16];
		unsigned int rl = 16;
		char id[37], b64[25], hex[33];

		tha_uuid(id);
		data = tha_put_object(ag[0].root, OWNER, id, 4000, b64);
		assert_non_null(data);
		EVP_Digest(data, 4000, raw, &rl, EVP_md5(), NULL);
		for (int k = 0; k < 16; k++)
			snprintf(hex + 2 * k, 3, "%02x", raw[k]);
		free(data);
		fprintf(f, "%s,%s,4000,%s,c1.stor,0,,\n", id, OWNER, hex);
	}
	fclose(f);
	snprintf(args, sizeof(args), "objects import '%s'", path);
	assert_int_equal(ctlcmd("op.token", args), 0);
	assert_int_equal(th_verify(&ctl), 0);
	/* In small chunks (several requests), and a second time: the
	 * server upserts, so nothing doubles. */
	snprintf(args, sizeof(args), "objects import '%s' --chunk-bytes 1024",
	    path);
	assert_int_equal(ctlcmd("op.token", args), 0);
	assert_non_null(strstr(out, "imported 20 objects"));
	/* Divides by zero, so fails, unless there are exactly 20. */
	assert_int_equal(th_pg_sql(&pg, "SELECT 1 / (count(*) = 20)::int FROM "
	    "objects"), 0);
	/* The cluster as the planner sees it: c1 is full, c2 and c3 not. */
	snprintf(path, sizeof(path), "%s/cluster.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\"failure_domain\":\"host\",\"nodes\":["
	    "{\"id\":\"c1.stor\",\"region\":\"r1\",\"datacenter\":\"dc1\","
	    "\"rack\":\"rack0\",\"host\":\"c1.stor\",\"capacity_bytes\":100000,"
	    "\"used_bytes\":80000,\"state\":\"in\"},"
	    "{\"id\":\"c2.stor\",\"region\":\"r1\",\"datacenter\":\"dc1\","
	    "\"rack\":\"rack1\",\"host\":\"c2.stor\",\"capacity_bytes\":100000,"
	    "\"used_bytes\":10000,\"state\":\"in\"},"
	    "{\"id\":\"c3.stor\",\"region\":\"r1\",\"datacenter\":\"dc1\","
	    "\"rack\":\"rack2\",\"host\":\"c3.stor\",\"capacity_bytes\":100000,"
	    "\"used_bytes\":10000,\"state\":\"in\"}]}");
	fclose(f);
	/* Review: the plan, as a file. */
	assert_int_equal(run("'%s/ballastctl' plan --cluster '%s/cluster.json' "
	    "--objects '%s/inventory.csv' --json > '%s/plan.json'",
	    tha_bin_dir(), dir, dir, dir), 0);
	snprintf(path, sizeof(path), "%s/plan.json", dir);
	plan = json_load_file(path, 0, NULL);
	assert_non_null(plan);
	nmoves = json_array_size(json_object_get(plan, "moves"));
	json_decref(plan);
	assert_true(nmoves > 0 && nmoves < 20);
	/* Run: submit it, watch it. */
	snprintf(args, sizeof(args), "job submit '%s'", path);
	assert_int_equal(ctlcmd("op.token", args), 0);
	snprintf(jid, sizeof(jid), "%.36s", out);
	snprintf(args, sizeof(args), "job watch %s", jid);
	assert_int_equal(ctlcmd("view.token", args), 0);
	snprintf(args, sizeof(args), "complete=%zu ", nmoves);
	assert_non_null(strstr(out, args));
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE copies = ARRAY['c1.stor']"), (long long)(20 - nmoves));
	assert_int_equal(th_verify(&ctl), 0);
}

static void
test_cli__a_job_whose_params_do_not_work_fails_and_watch_says_so(
    void **state)
{
	static const char bad[] = "0a0a0a0a-1111-4222-8333-444455556666";
	char args[128];
	json_t *job = NULL;

	(void)state;
	/* Written behind the API's back: a plan whose moves are not a list.
	 * The engine must fail that job, say why, and go on. */
	assert_int_equal(th_sql_run(pg.conninfo, "INSERT INTO jobs (id, kind, "
	    "origin, state, params) VALUES ('0a0a0a0a-1111-4222-8333-444455556666', "
	    "'rebalance', 'operator', 'init', '{\"plan\":{\"moves\":"
	    "{\"not\":\"a list\"}}}')"), 0);
	snprintf(args, sizeof(args), "job watch %s", bad);
	assert_int_equal(ctlcmd("view.token", args), 1);
	assert_non_null(strstr(out, "state=failed"));
	snprintf(args, sizeof(args), "/v1/jobs/%s", bad);
	assert_int_equal(th_ctl_req(&ctl, "GET", args, NULL, TH_VIEW_TOKEN,
	    &job), 200);
	assert_non_null(strstr(json_string_value(json_object_get(job,
	    "error")), "non-array"));
	json_decref(job);
	/* The engine goes on with other work. */
	assert_int_equal(th_pg_sql(&pg, "UPDATE nodes SET state = 'in'"), 0);
	assert_int_equal(ctlcmd("op.token", "job evacuate c2.stor "
	    "--max-objects 1"), 0);
	snprintf(args, sizeof(args), "job watch %.36s", out);
	assert_int_equal(ctlcmd("view.token", args), 0);
}

static void
test_cli__controller_commands(void **state)
{
	(void)state;
	assert_int_equal(ctlcmd("view.token", "status"), 0);
	assert_non_null(strstr(out, "mode        auto"));
	assert_non_null(strstr(out, "leader      yes"));
	assert_int_equal(ctlcmd("op.token", "policy set --preset aggressive "
	    "--set max_moves_per_cycle=5"), 0);
	assert_int_equal(ctlcmd("view.token", "policy get"), 0);
	assert_non_null(strstr(out, "\"aggressive\""));
	assert_non_null(strstr(out, "\"max_moves_per_cycle\": 5"));
	/* A bad value: 2, with the key named. */
	assert_int_equal(ctlcmd("op.token", "policy set --set "
	    "imbalance_threshold=9"), 2);
	assert_non_null(strstr(out, "imbalance_threshold"));
	assert_int_equal(ctlcmd("view.token", "pause"), 4);
	assert_int_equal(ctlcmd("op.token", "pause"), 0);
	assert_int_equal(ctlcmd("view.token", "status"), 0);
	assert_non_null(strstr(out, "mode        paused"));
	assert_int_equal(ctlcmd("op.token", "run"), 0);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(ctlcmd("view.token", "cycles"), 0);
		if (strstr(out, "paused ") != NULL)
			break;
		tha_sleep_ms(100);
	}
	assert_non_null(strstr(out, "paused "));
	/* The same history as JSON: the API's answer. */
	assert_int_equal(ctlcmd("view.token", "cycles --json --limit 5"), 0);
	{
		json_t *j = json_loads(out, 0, NULL);

		assert_non_null(j);
		assert_true(json_array_size(json_object_get(j, "cycles")) >= 1);
		json_decref(j);
	}
	assert_int_equal(ctlcmd("op.token", "resume --json"), 0);
	assert_int_equal(ctlcmd("op.token", "pause"), 0);
	assert_int_equal(ctlcmd("op.token", "resume"), 0);
	assert_int_equal(ctlcmd("op.token", "policy reset"), 0);
	assert_non_null(strstr(out, "\"file\""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli__controller_commands),
		cmocka_unit_test(
		    test_cli__ballastd_checks_its_config_and_names_bad_keys),
		cmocka_unit_test(test_cli__job_commands_and_exit_codes),
		cmocka_unit_test(
		    test_cli__sighup_reloads_tokens_and_keeps_a_bad_file_out),
		cmocka_unit_test(
		    test_cli__import_then_verify_catches_a_damaged_copy),
		cmocka_unit_test(test_cli__submit_runs_a_plan_file),
		cmocka_unit_test(
		    test_cli__evacuation_can_delete_sources_with_a_forward),
		cmocka_unit_test(
		    test_cli__an_assignment_the_agent_refuses_fails_its_tasks_once),
		cmocka_unit_test(
		    test_cli__inventory_import_then_plan_then_submit),
		cmocka_unit_test(
		    test_cli__a_job_whose_params_do_not_work_fails_and_watch_says_so),
	};

	return cmocka_run_group_tests_name("cli_engine", tests, setup,
	    teardown);
}
