/* tests/integration/test_agent_tls.c - agents over https.
 *
 * The test makes a private CA and a certificate for 127.0.0.1 with the
 * openssl command at run time (nothing is committed), runs two agents with
 * tls_cert_file/tls_key_file, and moves objects between them over https
 * with the destination trusting only that CA (tls_ca_file). A client or an
 * agent that does not trust the CA is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "tests/helpers/agent_harness.h"
#include "tests/helpers/th_pki.h"

static struct tha_agent src, dst, blind;
static struct th_pki pki;

static int
group_setup(void **state)
{
	char setcert[800], setkey[800], setca[800], setother[800];

	if (th_pki_make(&pki, tha_tmpdir()) == -1)
		return -1;
	snprintf(setcert, sizeof(setcert), "tls_cert_file=%s", pki.cert);
	snprintf(setkey, sizeof(setkey), "tls_key_file=%s", pki.key);
	snprintf(setca, sizeof(setca), "tls_ca_file=%s", pki.ca);
	snprintf(setother, sizeof(setother), "tls_ca_file=%s", pki.other_ca);
	tha_set_tls_ca(pki.ca);
	if (tha_agent_start(&src, "src", "--set", setcert, "--set", setkey,
	    NULL) == -1)
		return -1;
	if (tha_agent_start(&dst, "dst", "--set", setcert, "--set", setkey,
	    "--set", setca, "--set", "retries=0", NULL) == -1)
		return -1;
	/* Serves https as well, but trusts another CA for its sources. */
	if (tha_agent_start(&blind, "blind", "--set", setcert, "--set",
	    setkey, "--set", setother, "--set", "retries=0", NULL) == -1)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	int a = tha_agent_stop(&src), b = tha_agent_stop(&dst),
	    c = tha_agent_stop(&blind);

	tha_agent_free(&src);
	tha_agent_free(&dst);
	tha_agent_free(&blind);
	tha_cleanup();
	return a == 0 && b == 0 && c == 0 ? 0 : -1;
}

static void
test_agent_tls__objects_move_between_agents_over_https(void **state)
{
	static const size_t sizes[] = { 0, 4096, 2 * 1024 * 1024 + 3 };
	char owner[37], ids[3][37], md5[3][25], aid[37], path[1024];
	unsigned char *data[3], *got;
	json_t *tasks = json_array(), *res;
	size_t len;

	assert_int_equal(strncmp(src.url, "https://", 8), 0);
	tha_uuid(owner);
	tha_uuid(aid);
	for (int i = 0; i < 3; i++) {
		tha_uuid(ids[i]);
		data[i] = tha_put_object(src.root, owner, ids[i], sizes[i],
		    md5[i]);
		assert_non_null(data[i]);
		json_array_append_new(tasks, tha_task(owner, ids[i], md5[i],
		    (long long)sizes[i], src.url));
	}
	assert_int_equal(tha_post_tasks(&dst, aid, tasks), 202);
	res = tha_wait_complete(&dst, aid);
	assert_non_null(res);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    res, "counts"), "complete")), 3);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", dst.root, owner,
		    ids[i]);
		got = tha_read_file(path, &len);
		assert_non_null(got);
		assert_int_equal(len, sizes[i]);
		assert_memory_equal(got, data[i], sizes[i]);
		free(got);
		free(data[i]);
	}
	json_decref(res);
}

static void
test_agent_tls__agent_without_the_ca_refuses_the_source(
    void **state)
{
	char owner[37], id[37], md5[25], aid[37], path[1024];
	json_t *tasks = json_array(), *res, *t;
	unsigned char *data;

	tha_uuid(owner);
	tha_uuid(id);
	tha_uuid(aid);
	data = tha_put_object(src.root, owner, id, 1000, md5);
	assert_non_null(data);
	json_array_append_new(tasks, tha_task(owner, id, md5, 1000, src.url));
	assert_int_equal(tha_post_tasks(&blind, aid, tasks), 202);
	res = tha_wait_complete(&blind, aid);
	assert_non_null(res);
	t = json_array_get(json_object_get(res, "tasks"), 0);
	assert_string_equal(json_string_value(json_object_get(t, "status")),
	    "failed");
	assert_string_equal(json_string_value(json_object_get(t, "reason")),
	    "source_other_error");
	snprintf(path, sizeof(path), "%s/%s/%s", blind.root, owner, id);
	assert_false(tha_exists(path));
	assert_int_equal(tha_count_tmp(blind.root, owner), 0);
	json_decref(res);
	free(data);
}

/* A plain libcurl client, trusting what ca_file says (NULL: the system's
 * CAs only). Returns the curl code; *status gets the HTTP status. */
static CURLcode
get_status(const char *url, const char *ca_file, long *status)
{
	CURL *c = curl_easy_init();
	struct curl_slist *resolve;
	char full[256], entry[128];
	CURLcode cc;

	/* "wrong.name.test" is 127.0.0.1 too, but not in the certificate. */
	snprintf(entry, sizeof(entry), "wrong.name.test:%d:127.0.0.1",
	    src.port);
	resolve = curl_slist_append(NULL, entry);
	curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
	snprintf(full, sizeof(full), "%s/v1/status", url);
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (ca_file != NULL) {
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	*status = 0;
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	curl_slist_free_all(resolve);
	return cc;
}

static void
test_agent_tls__clients_without_the_ca_are_refused(void **state)
{
	char plain[64];
	long status;

	assert_int_equal(get_status(src.url, pki.ca, &status), CURLE_OK);
	assert_int_equal(status, 200);
	/* The system's CAs do not know ours. */
	assert_int_equal(get_status(src.url, NULL, &status),
	    CURLE_PEER_FAILED_VERIFICATION);
	assert_int_equal(status, 0);
	assert_int_equal(get_status(src.url, pki.other_ca, &status),
	    CURLE_PEER_FAILED_VERIFICATION);
	/* The right CA, the wrong name: refused too. */
	snprintf(plain, sizeof(plain), "https://wrong.name.test:%d", src.port);
	assert_int_equal(get_status(plain, pki.ca, &status),
	    CURLE_PEER_FAILED_VERIFICATION);
	assert_int_equal(status, 0);
	snprintf(plain, sizeof(plain), "https://localhost:%d", src.port);
	assert_int_equal(get_status(plain, pki.ca, &status), CURLE_OK);
	assert_int_equal(status, 200);
	/* Plain http to the https port gets no HTTP answer. */
	snprintf(plain, sizeof(plain), "http://127.0.0.1:%d", src.port);
	get_status(plain, NULL, &status);
	assert_int_not_equal(status, 200);
}

static void
test_agent_tls__half_a_tls_config_is_refused_at_start(void **state)
{
	struct tha_agent a;
	char setcert[800], setkey[800];

	snprintf(setcert, sizeof(setcert), "tls_cert_file=%s", pki.cert);
	snprintf(setkey, sizeof(setkey), "tls_key_file=%s", pki.ca);
	assert_int_equal(tha_agent_start(&a, "half", "--set", setcert, NULL),
	    -1);
	tha_agent_free(&a);
	/* A key that is not the certificate's. */
	assert_int_equal(tha_agent_start(&a, "mismatch", "--set", setcert,
	    "--set", setkey, NULL), -1);
	tha_agent_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_agent_tls__objects_move_between_agents_over_https),
		cmocka_unit_test(
		    test_agent_tls__agent_without_the_ca_refuses_the_source),
		cmocka_unit_test(
		    test_agent_tls__clients_without_the_ca_are_refused),
		cmocka_unit_test(
		    test_agent_tls__half_a_tls_config_is_refused_at_start),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
