/* tests/integration/test_ctl_tls.c - ballastd over https, calling agents
 * over https.
 *
 * The test makes a private CA and a certificate for 127.0.0.1 with the
 * openssl command at run time (nothing is committed). ballastd serves its
 * API with tls_cert_file/tls_key_file and trusts only that CA for the
 * agents (agent_tls_ca_file); the agents serve https too. An evacuation
 * completes and the verifier passes; a client without the CA is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/helpers/th_cluster.h"
#include "tests/helpers/th_pki.h"

#define NAGENTS 3
#define OWNER "1e1e1e1e-2222-4333-8444-555566667777"

static struct th_pg pg;
static struct tha_agent ag[NAGENTS];
static struct th_ctl ctl;
/* The certificate is used by ballastd and the agents. */
static struct th_pki pki;

static const char *const names[NAGENTS] = { "t1.stor", "t2.stor",
    "t3.stor" };
static const struct th_cluster cluster = {
	.pg = &pg, .ag = ag, .ctl = &ctl, .n = NAGENTS, .names = names,
};

static int
setup(void **state)
{
	char setcert[800], setkey[800], setca[800], top[3000];
	const char *args[] = { "--set", setcert, "--set", setkey, "--set",
	    setca, NULL };
	struct th_cluster k = cluster;

	(void)state;
	if (th_pki_make(&pki, tha_tmpdir()) == -1)
		return -1;
	snprintf(setcert, sizeof(setcert), "tls_cert_file=%s", pki.cert);
	snprintf(setkey, sizeof(setkey), "tls_key_file=%s", pki.key);
	snprintf(setca, sizeof(setca), "tls_ca_file=%s", pki.ca);
	tha_set_tls_ca(pki.ca);
	snprintf(top, sizeof(top), "\"tls_cert_file\":\"%s\","
	    "\"tls_key_file\":\"%s\",\"agent_tls_ca_file\":\"%s\"", pki.cert,
	    pki.key, pki.ca);
	k.agent_args = args;
	k.top = top;
	if (th_cluster_start(&k) != 0)
		return -1;
	return strncmp(ctl.url, "https://", 8) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	return th_cluster_stop(&cluster);
}

/* Runs ballastctl with the operator token; returns its exit code. */
static int
ctlcmd(const char *cacert, const char *args)
{
	char cmd[4096];
	int st;

	snprintf(cmd, sizeof(cmd), "'%s/ballastctl' --server %s --token-file "
	    "'%s/op.token' %s%s%s %s >/dev/null 2>&1", tha_bin_dir(), ctl.url,
	    ctl.dir, cacert ? "--cacert '" : "", cacert ? cacert : "",
	    cacert ? "'" : "", args);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
test_ctl_tls__evacuation_over_https_completes_and_verifies(void **state)
{
	int copies[2] = { 0, 1 };
	char id[37];
	json_t *job;

	(void)state;
	assert_int_equal(th_seed(pg.conninfo, ag, NAGENTS, 40, 3000, copies,
	    2, NULL, OWNER), 0);
	assert_int_equal(th_ctl_evacuate(&ctl, "t1.stor", 0, id), 201);
	job = th_ctl_wait_job(&ctl, id, 60);
	assert_non_null(job);
	assert_string_equal(json_string_value(json_object_get(job, "state")),
	    "complete");
	json_decref(job);
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE 't1.stor' = ANY(copies)"), 0);
	assert_int_equal(th_sql_ll(pg.conninfo, "SELECT count(*) FROM objects "
	    "WHERE 't3.stor' = ANY(copies)"), 40);
	/* the verifier HEADs every copy on the https agents */
	setenv("BALLAST_CACERT", pki.ca, 1);
	assert_int_equal(th_verify(&ctl), 0);
	unsetenv("BALLAST_CACERT");
}

static void
test_ctl_tls__ballastctl_needs_the_ca(void **state)
{
	(void)state;
	assert_int_equal(ctlcmd(pki.ca, "job list"), 0);
	assert_int_equal(ctlcmd(pki.ca, "node list"), 0);
	/* the system's CAs do not know ours; another CA is no better */
	assert_int_equal(ctlcmd(NULL, "job list"), 3);
	assert_int_equal(ctlcmd(pki.other_ca, "job list"), 3);
}

static void
test_ctl_tls__a_client_without_the_ca_is_refused(void **state)
{
	char plain[80];

	(void)state;
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/status", NULL,
	    TH_VIEW_TOKEN, NULL), 200);
	tha_set_tls_ca(pki.other_ca);
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/status", NULL,
	    TH_VIEW_TOKEN, NULL), -1);
	tha_set_tls_ca(pki.ca);
	/* plain http to the https port gets no API answer */
	snprintf(plain, sizeof(plain), "http://127.0.0.1:%d", ctl.port);
	{
		struct th_ctl p = ctl;

		snprintf(p.url, sizeof(p.url), "%s", plain);
		assert_int_not_equal(th_ctl_req(&p, "GET", "/v1/status", NULL,
		    TH_VIEW_TOKEN, NULL), 200);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_ctl_tls__evacuation_over_https_completes_and_verifies),
		cmocka_unit_test(test_ctl_tls__ballastctl_needs_the_ca),
		cmocka_unit_test(
		    test_ctl_tls__a_client_without_the_ca_is_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
