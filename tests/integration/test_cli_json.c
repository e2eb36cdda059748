/* tests/integration/test_cli_json.c - ballastctl's --json on the API
 * commands against a real ballastd: stdout is exactly one JSON document
 * (the API's answer), errors go to stderr, and the exit codes are the
 * usual ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers/th_cluster.h"

#define NAGENTS 2
#define OWNER "0d0d0d0d-1111-4222-8333-444455556666"

static struct th_pg pg;
static struct tha_agent ag[NAGENTS];
static struct th_ctl ctl;

static const char *const names[NAGENTS] = { "j1.stor", "j2.stor" };
static const struct th_cluster cluster = {
	.pg = &pg, .ag = ag, .ctl = &ctl, .n = NAGENTS, .names = names,
};

static int
setup(void **state)
{
	int copies[1] = { 0 };

	(void)state;
	if (th_cluster_start(&cluster) != 0)
		return -1;
	return th_seed(pg.conninfo, ag, NAGENTS, 4, 1024, copies, 1, NULL,
	    OWNER);
}

static int
teardown(void **state)
{
	(void)state;
	return th_cluster_stop(&cluster);
}

/* Runs ballastctl with args against ctl; returns the exit code and the
 * parsed stdout in *out (NULL when stdout was not one JSON document). */
static int
ctl_json(json_t **out, const char *args)
{
	char buf[65536];
	json_error_t je;
	int rc;

	rc = tha_run(buf, sizeof(buf), "BALLAST_SERVER=%s BALLAST_TOKEN_FILE="
	    "%s/op.token %s/ballastctl %s 2>/dev/null", ctl.url, ctl.dir,
	    tha_bin_dir(), args);
	*out = buf[0] != '\0' ? json_loads(buf, 0, &je) : NULL;
	return rc;
}

static void
test_cli_json__node_list_prints_the_nodes_array(void **state)
{
	json_t *j;

	(void)state;
	assert_int_equal(ctl_json(&j, "node list --json"), 0);
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), NAGENTS);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(j, 0), "id")), "j1.stor");
	json_decref(j);
}

static void
test_cli_json__evacuate_watch_and_list_print_json_and_exit_zero(
    void **state)
{
	json_t *j, *it;
	char id[64], args[128];
	size_t i;
	int found = 0;

	(void)state;
	/* --json anywhere on the line. */
	assert_int_equal(ctl_json(&j, "--json job evacuate j1.stor"), 0);
	assert_non_null(j);
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(j,
	    "id")));
	json_decref(j);
	assert_int_equal(strlen(id), 36);
	/* job throttle sets the job's rate limit; bad numbers are refused
	 * before any request. */
	snprintf(args, sizeof(args), "job throttle %s 5242880", id);
	assert_int_equal(ctl_json(&j, args), 0);
	json_decref(j);
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM jobs "
	    "WHERE throttle_bytes_per_sec = 5242880"), 1);
	snprintf(args, sizeof(args), "job throttle %s -5", id);
	assert_int_equal(ctl_json(&j, args), 2);
	snprintf(args, sizeof(args), "job throttle %s 99999999999999999999",
	    id);
	assert_int_equal(ctl_json(&j, args), 2);
	snprintf(args, sizeof(args), "job throttle %s 0", id);
	assert_int_equal(ctl_json(&j, args), 0);
	json_decref(j);
	/* The audit trail shows both, newest first, with the detail. */
	assert_int_equal(ctl_json(&j, "audit --action set_throttle --json"),
	    0);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 2);
	it = json_array_get(json_object_get(j, "audit"), 0);
	assert_string_equal(json_string_value(json_object_get(it, "who")),
	    "ops");
	assert_string_equal(json_string_value(json_object_get(it, "target")),
	    id);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(it,
	    "detail"), "throttle_bytes_per_sec")), 0);
	json_decref(j);
	assert_int_equal(ctl_json(&j, "audit --who nobody --json"), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 0);
	json_decref(j);
	assert_int_equal(ctl_json(&j, "audit --limit 0"), 2);
	assert_int_equal(ctl_json(&j, "audit --who 'a b'"), 2);
	snprintf(args, sizeof(args), "job watch %s --json", id);
	assert_int_equal(ctl_json(&j, args), 0);
	assert_string_equal(json_string_value(json_object_get(j, "state")),
	    "complete");
	assert_string_equal(json_string_value(json_object_get(j, "id")), id);
	json_decref(j);
	assert_int_equal(ctl_json(&j, "job list --json --state complete"), 0);
	assert_true(json_is_array(j));
	json_array_foreach(j, i, it)
		found |= strcmp(json_string_value(json_object_get(it, "id")),
		    id) == 0;
	assert_true(found);
	json_decref(j);
}

static void
test_cli_json__errors_keep_their_exit_codes_and_print_nothing(
    void **state)
{
	json_t *j;

	(void)state;
	assert_int_equal(ctl_json(&j, "job get --json "
	    "00000000-0000-4000-8000-000000000000"), 1);
	assert_null(j);
	assert_int_equal(ctl_json(&j, "job evacuate --json no-such.stor"), 2);
	assert_null(j);
}

/* Every command and subcommand answers --help with its usage on stdout,
 * exit 0 and nothing on stderr, and never sends a request: the server
 * given is a socket that listens and would see any connection. */
static void
test_cli_json__help_everywhere_prints_usage_and_sends_nothing(void **state)
{
	static const char *const lines[] = {
		"--help", "help", "job --help", "job list --help",
		"job get --help", "job evacuate --help",
		"job evacuate n1.stor --help", "job evacuate --help n1.stor",
		"job retry --help", "job pause --help", "job resume --help",
		"job cancel --help", "job watch --help", "job submit --help",
		"job throttle --help",
		"node --help", "node list --help", "node drain --help",
		"node drain n1.stor --help", "node set --help", "objects --help",
		"objects import --help", "status --help", "pause --help",
		"resume --help", "run --help", "policy --help",
		"policy get --help", "policy set --help", "policy reset --help",
		"cycles --help", "cycles -h", "audit --help", "crush --help", "crush map --help",
		"crush compare --help", "plan --help", "simulate --help",
		"verify --help", "demo-seed --help",
	};
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct pollfd pf;
	int fd;

	(void)state;
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char cmd[2048], out[8192], err[512];
		FILE *p;
		int rc, en;

		rc = tha_run(out, sizeof(out), "BALLAST_SERVER="
		    "http://127.0.0.1:%d BALLAST_TOKEN_FILE=%s/op.token "
		    "%s/ballastctl %s 2>%s/help.err", ntohs(sa.sin_port),
		    ctl.dir, tha_bin_dir(), lines[i], ctl.dir);
		snprintf(cmd, sizeof(cmd), "%s/help.err", ctl.dir);
		assert_non_null(p = fopen(cmd, "r"));
		en = (int)fread(err, 1, sizeof(err) - 1, p);
		err[en] = '\0';
		fclose(p);
		if (rc != 0 || en != 0 || strstr(out, "usage") == NULL)
			fail_msg("ballastctl %s: exit %d, stdout \"%.200s\", "
			    "stderr \"%s\"", lines[i], rc, out, err);
	}
	pf.fd = fd;
	pf.events = POLLIN;
	assert_int_equal(poll(&pf, 1, 0), 0);	/* nobody connected */
	close(fd);
	/* And no job was created for a node called "--help". */
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM jobs "
	    "WHERE params::text LIKE '%--help%'"), 0);
}

/* ballastctl plan without files previews the live cluster's next plan
 * (GET /v1/plan): --json is the API's document, the table its summary. */
static void
test_cli_json__plan_without_files_previews_the_live_plan(void **state)
{
	json_t *j, *api = NULL;
	char out[65536];

	(void)state;
	assert_int_equal(ctl_json(&j, "plan --json"), 0);
	assert_non_null(j);
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/plan", NULL,
	    TH_VIEW_TOKEN, &api), 200);
	assert_true(json_equal(json_object_get(j, "summary"),
	    json_object_get(api, "summary")));
	assert_int_equal(json_array_size(json_object_get(j, "moves")),
	    json_array_size(json_object_get(api, "moves")));
	json_decref(j);
	json_decref(api);
	assert_int_equal(ctl_json(&j, "plan --preset aggressive --json"), 0);
	assert_non_null(json_object_get(j, "summary"));
	json_decref(j);
	assert_int_equal(tha_run(out, sizeof(out), "BALLAST_SERVER=%s "
	    "BALLAST_TOKEN_FILE=%s/op.token %s/ballastctl plan", ctl.url,
	    ctl.dir, tha_bin_dir()), 0);
	assert_non_null(strstr(out, "imbalance     "));
	assert_non_null(strstr(out, "budget\n  moves"));
	assert_int_equal(ctl_json(&j, "plan --preset bogus"), 2);
	/* Half the offline inputs is still a usage error, not a preview. */
	assert_int_equal(ctl_json(&j, "plan --cluster x.json"), 2);
}

/* policy get prints numbers as they were written: 0.1, not the 17 digits
 * of the double nearest to it. */
static void
test_cli_json__policy_get_prints_values_as_written(void **state)
{
	char cmd[2048], out[65536];

	(void)state;
	assert_int_equal(tha_run(out, sizeof(out), "BALLAST_SERVER=%s "
	    "BALLAST_TOKEN_FILE=%s/op.token %s/ballastctl policy set --set "
	    "imbalance_threshold=0.1 --set target_imbalance=0.07 >/dev/null && "
	    "BALLAST_SERVER=%s BALLAST_TOKEN_FILE=%s/op.token %s/ballastctl "
	    "policy get", ctl.url, ctl.dir, tha_bin_dir(), ctl.url, ctl.dir,
	    tha_bin_dir()), 0);
	if (strstr(out, "\"imbalance_threshold\": 0.1,") == NULL &&
	    strstr(out, "\"imbalance_threshold\": 0.1\n") == NULL)
		fail_msg("policy get:\n%s", out);
	assert_non_null(strstr(out, "0.07"));
	assert_null(strstr(out, "0000000"));
	/* The effective policy includes the anti-thrash keys. */
	assert_non_null(strstr(out, "\"min_residency_s\": 3600"));
	assert_non_null(strstr(out, "\"node_cooldown_s\""));
	assert_non_null(strstr(out, "\"large_batch_bytes\""));
	snprintf(cmd, sizeof(cmd), "BALLAST_SERVER=%s BALLAST_TOKEN_FILE="
	    "%s/op.token %s/ballastctl policy reset >/dev/null", ctl.url,
	    ctl.dir, tha_bin_dir());
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_json__node_list_prints_the_nodes_array),
		cmocka_unit_test(test_cli_json__evacuate_watch_and_list_print_json_and_exit_zero),
		cmocka_unit_test(test_cli_json__errors_keep_their_exit_codes_and_print_nothing),
		cmocka_unit_test(test_cli_json__help_everywhere_prints_usage_and_sends_nothing),
		cmocka_unit_test(test_cli_json__policy_get_prints_values_as_written),
		cmocka_unit_test(test_cli_json__plan_without_files_previews_the_live_plan),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
