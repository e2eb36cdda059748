/* tests/integration/test_agent_secrets.c - the shared secret never reaches
 * the agent's log or --print-config, even at log_level=debug and with
 * refused, stale and failing requests; and an open secret file is
 * reported at start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/helpers/agent_harness.h"

static struct tha_agent ag;

static int
group_setup(void **state)
{
	return tha_agent_start(&ag, "chatty", "--set", "log_level=debug",
	    "--set", "retries=0", "--set", "auth_status=true", NULL);
}

static int
group_teardown(void **state)
{
	tha_agent_free(&ag);
	tha_cleanup();
	return 0;
}

static void
test_agent_secrets__secret_stays_out_of_the_debug_log(void **state)
{
	char owner[37], id[37], aid[37], md5[25], target[128], *body, *log;
	unsigned char *data;
	struct tha_resp r;
	json_t *tasks, *a, *res;

	tha_uuid(owner);
	tha_uuid(id);
	tha_uuid(aid);
	data = tha_put_object(ag.root, owner, id, 64, md5);
	assert_non_null(data);
	snprintf(target, sizeof(target), "/v1/objects/%s/%s", owner, id);
	/* Refused: missing, bad, stale; then served. */
	assert_int_equal(tha_request(ag.url, "GET", target, NULL, 0,
	    THA_UNSIGNED, NULL, &r), 0);
	assert_int_equal(r.status, 401);
	tha_resp_free(&r);
	tha_request(ag.url, "GET", target, NULL, 0, THA_BAD_SIGNATURE, NULL,
	    &r);
	assert_int_equal(r.status, 401);
	tha_resp_free(&r);
	tha_request(ag.url, "GET", "/v1/status", NULL, 0, THA_STALE, NULL, &r);
	assert_int_equal(r.status, 401);
	tha_resp_free(&r);
	tha_request(ag.url, "GET", target, NULL, 0, THA_SIGNED, NULL, &r);
	assert_int_equal(r.status, 200);
	tha_resp_free(&r);
	/* A transfer from a source that is not there: signed, then failed. */
	tasks = json_array();
	tha_uuid(id);
	json_array_append_new(tasks, tha_task(owner, id, md5, 64,
	    "http://127.0.0.1:1"));
	a = json_pack("{s:s,s:o}", "id", aid, "tasks", tasks);
	body = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	assert_int_equal(tha_post_assignment(&ag, body), 202);
	res = tha_wait_complete(&ag, aid);
	assert_non_null(res);
	json_decref(res);
	free(body);
	assert_int_equal(tha_agent_stop(&ag), 0);

	log = tha_read_text(NULL, ag.log);
	assert_non_null(log);
	/* The log did get the debug lines about the refusals... */
	assert_non_null(strstr(log, "bad signature"));
	assert_non_null(strstr(log, "signature stale"));
	/* ...and says the secret file is open to others (the harness
	 * writes it 0644)... */
	assert_non_null(strstr(log, "readable by group or others"));
	/* ...but never the secret. */
	assert_null(strstr(log, THA_SECRET));
	free(log);
	free(data);
}

static void
test_agent_secrets__print_config_shows_paths_not_secrets(void **state)
{
	const char *bindir = getenv("BALLAST_BIN");
	char cmd[2048], out[700], conf[700], *text;
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/chatty.json", tha_tmpdir());
	if ((f = fopen(conf, "w")) == NULL)
		fail_msg("cannot write %s", conf);
	fprintf(f, "{\"root\":\"%s\",\"state\":\"%s\",\"secret_file\":"
	    "\"%s/secret\",\"tls_cert_file\":\"/etc/ballast/tls.pem\","
	    "\"tls_key_file\":\"/etc/ballast/tls.key\"}", ag.root, ag.state,
	    tha_tmpdir());
	fclose(f);
	snprintf(out, sizeof(out), "%s/print.out", tha_tmpdir());
	snprintf(cmd, sizeof(cmd), "'%s/ballast-agent' --config '%s' "
	    "--print-config >'%s' 2>&1", bindir ? bindir : "bin", conf, out);
	assert_int_equal(system(cmd), 0);
	text = tha_read_text(NULL, out);
	assert_non_null(text);
	assert_non_null(strstr(text, "secret_file = \""));
	assert_non_null(strstr(text, "tls_key_file = \"/etc/ballast/tls.key\""
	    "  # file"));
	assert_non_null(strstr(text, "tls_ca_file = null  # default"));
	assert_null(strstr(text, THA_SECRET));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_agent_secrets__secret_stays_out_of_the_debug_log),
		cmocka_unit_test(
		    test_agent_secrets__print_config_shows_paths_not_secrets),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
