/* tests/integration/test_agent_cli.c - flags, config file, bad input.
 *
 * Runs the real binary: --help, --print-config with a file, environment and
 * flags, refusal of unknown keys and bad values with their path, and raw
 * malformed HTTP that must never take the agent down.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/helpers/agent_harness.h"

/* Runs the agent with args (a shell fragment); returns its exit status
 * and its combined output in *out (caller frees). */
static int
run(const char *env, const char *args, char **out)
{
	const char *bindir = getenv("BALLAST_BIN");
	char cmd[4096];
	size_t len = 0, cap = 0;
	char buf[4096];
	FILE *p;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "%s '%s/ballast-agent' %s 2>&1", env ? env :
	    "", bindir ? bindir : "bin", args);
	p = popen(cmd, "r");
	assert_non_null(p);
	*out = NULL;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			*out = realloc(*out, cap);
		}
		memcpy(*out + len, buf, n);
		len += n;
	}
	if (*out == NULL)
		*out = strdup("");
	else
		(*out)[len] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *
write_config(const char *name, const char *text)
{
	static char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tha_tmpdir(), name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void
test_agent_cli__help_lists_flags_and_keys(void **state)
{
	char *out;

	assert_int_equal(run(NULL, "--help", &out), 0);
	assert_non_null(strstr(out, "--listen HOST:PORT"));
	assert_non_null(strstr(out, "--secret-file"));
	assert_non_null(strstr(out, "max_transfers"));
	assert_non_null(strstr(out, "assignment_ttl"));
	free(out);
}

static void
test_agent_cli__print_config_shows_values_and_sources(void **state)
{
	char args[1024], *out;
	const char *path = write_config("good.json",
	    "{\"root\":\"/srv/x\",\"max_transfers\":12,\"throttle\":1000}");

	snprintf(args, sizeof(args), "--config '%s' --throttle 2000 "
	    "--print-config", path);
	assert_int_equal(run("BALLAST_AGENT_RETRIES=7", args, &out), 0);
	assert_non_null(strstr(out, "root = \"/srv/x\"  # file"));
	assert_non_null(strstr(out, "max_transfers = 12  # file"));
	assert_non_null(strstr(out, "throttle = 2000  # flag"));
	assert_non_null(strstr(out, "retries = 7  # env"));
	assert_non_null(strstr(out, "listen = \"0.0.0.0:8461\"  # default"));
	assert_non_null(strstr(out, "assignment_ttl = 604800  # default"));
	free(out);
}

static void
test_agent_cli__unknown_keys_and_bad_values_are_refused_with_their_path(
    void **state)
{
	char args[1024], *out;
	const char *path;

	path = write_config("unknown.json", "{\"max_transferz\":3}");
	snprintf(args, sizeof(args), "--config '%s' --print-config", path);
	assert_int_not_equal(run(NULL, args, &out), 0);
	assert_non_null(strstr(out, "max_transferz: unknown key"));
	assert_non_null(strstr(out, "unknown.json"));
	free(out);

	path = write_config("range.json", "{\"max_transfers\":0}");
	snprintf(args, sizeof(args), "--config '%s' --print-config", path);
	assert_int_not_equal(run(NULL, args, &out), 0);
	assert_non_null(strstr(out, "max_transfers: 0 out of range"));
	free(out);

	assert_int_not_equal(run(NULL, "--throttle lots --print-config", &out),
	    0);
	assert_non_null(strstr(out, "throttle"));
	free(out);
	assert_int_not_equal(run("BALLAST_AGENT_AUTH_STATUS=maybe",
	    "--print-config", &out), 0);
	assert_non_null(strstr(out, "BALLAST_AGENT_AUTH_STATUS"));
	free(out);
}

static void
send_raw(int port, const char *data, size_t len)
{
	struct sockaddr_in sin;
	char buf[512];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { 2, 0 };

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)!write(fd, data, len);
	(void)!read(fd, buf, sizeof(buf));
	close(fd);
}

static void
test_agent_cli__malformed_http_never_takes_the_agent_down(void **state)
{
	static const char nul_req[] = "GET /v1/objects/a\0b HTTP/1.1\r\n\r\n";
	const char *const reqs[] = {
		"garbage\r\n\r\n",
		"GET\r\n\r\n",
		"GET /v1/status HTTP/9.9\r\n\r\n",
		"POST /v1/assignments HTTP/1.1\r\nHost: x\r\nContent-Length: "
		    "-5\r\n\r\n{}",
		"POST /v1/assignments HTTP/1.1\r\nHost: x\r\nContent-Length: "
		    "99999999999999999999\r\n\r\n",
		"POST /v1/assignments HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:"
		    " chunked\r\n\r\nzz\r\n",
		"GET /v1/objects/%00/%00 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /v1/objects/../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n"
		    "X-Ballast-Date: 1\r\nX-Ballast-Signature: zz\r\n\r\n",
	};
	struct tha_agent a;
	struct tha_resp r;
	char huge[70000];

	assert_int_equal(tha_agent_start(&a, "raw", NULL), 0);
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		send_raw(a.port, reqs[i], strlen(reqs[i]));
	send_raw(a.port, nul_req, sizeof(nul_req) - 1);
	/* A header far past MHD's per-connection memory. */
	memset(huge, 'a', sizeof(huge));
	memcpy(huge, "GET /v1/status HTTP/1.1\r\nX: ", 28);
	memcpy(huge + sizeof(huge) - 4, "\r\n\r\n", 4);
	send_raw(a.port, huge, sizeof(huge));
	assert_int_equal(tha_request(a.url, "GET", "/v1/status", NULL, 0,
	    THA_UNSIGNED, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	tha_resp_free(&r);
	assert_int_equal(tha_agent_stop(&a), 0);
	tha_agent_free(&a);
}

static int
teardown(void **state)
{
	tha_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_cli__help_lists_flags_and_keys),
		cmocka_unit_test(
		    test_agent_cli__print_config_shows_values_and_sources),
		cmocka_unit_test(
		    test_agent_cli__unknown_keys_and_bad_values_are_refused_with_their_path),
		cmocka_unit_test(
		    test_agent_cli__malformed_http_never_takes_the_agent_down),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
