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

#include "tests/helpers/agent_harness.h"
#include "tests/helpers/th_ctl.h"
#include "tests/helpers/th_pg.h"

#define NAGENTS 3
#define OWNER "1e1e1e1e-2222-4333-8444-555566667777"

static struct th_pg pg;
static struct tha_agent ag[NAGENTS];
static struct th_ctl ctl;
static char ca[700], cert[700], key[700], other_ca[700];

static int
sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc != 0)
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
	return rc == 0 ? 0 : -1;
}

/* A CA, a certificate it signs for 127.0.0.1 (used by ballastd and the
 * agents), and a second CA that signed nothing here. */
static int
make_pki(const char *dir)
{
	char cmd[4096];

	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(cert, sizeof(cert), "%s/node.pem", dir);
	snprintf(key, sizeof(key), "%s/node.key", dir);
	snprintf(other_ca, sizeof(other_ca), "%s/other-ca.pem", dir);
	snprintf(cmd, sizeof(cmd),
	    "cd '%s' && umask 077 && "
	    "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n"
	    "basicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' "
	    ">ext.cnf && "
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
	    " -nodes -keyout ca.key -out ca.pem -days 2 "
	    "-subj '/CN=ballast test CA' 2>/dev/null && "
	    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
	    "-nodes -keyout node.key -out node.csr -subj '/CN=127.0.0.1' "
	    "2>/dev/null && "
	    "openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key "
	    "-CAcreateserial -out node.pem -days 2 -extfile ext.cnf "
	    "2>/dev/null && "
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
	    " -nodes -keyout other-ca.key -out other-ca.pem -days 2 "
	    "-subj '/CN=some other CA' 2>/dev/null", dir);
	return sh(cmd);
}

static int
setup(void **state)
{
	static const char *const names[NAGENTS] = { "t1.stor", "t2.stor",
	    "t3.stor" };
	char setcert[800], setkey[800], setca[800], top[3000];

	(void)state;
	if (th_pg_start(&pg) != 0 || make_pki(tha_tmpdir()) == -1)
		return -1;
	snprintf(setcert, sizeof(setcert), "tls_cert_file=%s", cert);
	snprintf(setkey, sizeof(setkey), "tls_key_file=%s", key);
	snprintf(setca, sizeof(setca), "tls_ca_file=%s", ca);
	tha_set_tls_ca(ca);
	for (int i = 0; i < NAGENTS; i++)
		if (tha_agent_start(&ag[i], names[i], "--set", setcert,
		    "--set", setkey, "--set", setca, NULL) != 0)
			return -1;
	snprintf(top, sizeof(top), "\"tls_cert_file\":\"%s\","
	    "\"tls_key_file\":\"%s\",\"agent_tls_ca_file\":\"%s\"", cert, key,
	    ca);
	if (th_ctl_start_ex(&ctl, pg.conninfo, NULL, NULL, top, "ctl") != 0)
		return -1;
	if (strncmp(ctl.url, "https://", 8) != 0)
		return -1;
	return th_ctl_register(&ctl, ag, NAGENTS);
}

static int
teardown(void **state)
{
	int rc;

	(void)state;
	rc = th_ctl_stop(&ctl) == 0 ? 0 : -1;
	for (int i = 0; i < NAGENTS; i++) {
		tha_agent_stop(&ag[i]);
		tha_agent_free(&ag[i]);
	}
	th_pg_destroy(&pg);
	tha_cleanup();
	return rc;
}

static const char *
bin(void)
{
	return getenv("BALLAST_BIN") ? getenv("BALLAST_BIN") : "bin";
}

/* Runs ballastctl with the operator token; returns its exit code. */
static int
ctlcmd(const char *cacert, const char *args)
{
	char cmd[4096];
	int st;

	snprintf(cmd, sizeof(cmd), "'%s/ballastctl' --server %s --token-file "
	    "'%s/op.token' %s%s%s %s >/dev/null 2>&1", bin(), ctl.url,
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
	setenv("BALLAST_CACERT", ca, 1);
	assert_int_equal(th_verify(&ctl), 0);
	unsetenv("BALLAST_CACERT");
}

static void
test_ctl_tls__ballastctl_needs_the_ca(void **state)
{
	(void)state;
	assert_int_equal(ctlcmd(ca, "job list"), 0);
	assert_int_equal(ctlcmd(ca, "node list"), 0);
	/* the system's CAs do not know ours; another CA is no better */
	assert_int_equal(ctlcmd(NULL, "job list"), 3);
	assert_int_equal(ctlcmd(other_ca, "job list"), 3);
}

static void
test_ctl_tls__a_client_without_the_ca_is_refused(void **state)
{
	char plain[80];

	(void)state;
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/status", NULL,
	    TH_VIEW_TOKEN, NULL), 200);
	tha_set_tls_ca(other_ca);
	assert_int_equal(th_ctl_req(&ctl, "GET", "/v1/status", NULL,
	    TH_VIEW_TOKEN, NULL), -1);
	tha_set_tls_ca(ca);
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
