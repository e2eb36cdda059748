/* cli/agent.c - ballastctl agent: one agent's own API, signed for you.
 *
 *   ballastctl agent throttle URL [BYTES_PER_SEC] --secret-file FILE
 *   ballastctl agent status URL
 *
 * throttle reads (GET) or sets (PUT) the agent's bandwidth limit
 * (/v1/config/throttle, docs/agent.md); the request is signed with the
 * shared agent secret, as ballastd signs its own calls. status prints
 * GET /v1/status, which needs no signature unless the agent asks for one
 * (auth_status); with --secret-file it is signed too.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/http.h"
#include "lib/sign.h"

static const char usage_text[] =
    "usage: ballastctl agent throttle URL [BYTES_PER_SEC] --secret-file FILE\n"
    "       ballastctl agent status URL [--secret-file FILE]\n"
    "  throttle  the agent's bandwidth limit: prints it, or sets it (0: no\n"
    "            limit) with a signed PUT /v1/config/throttle\n"
    "  status    the agent's GET /v1/status (capacity, use, transfers,\n"
    "            the job throttles ballastd set)\n"
    "  --secret-file FILE  the agents' shared secret (default\n"
    "                      $BALLAST_AGENT_SECRET_FILE)\n"
    "  --json              the agent's answer as JSON\n";

static int
parse_bps(const char *s, long long *v)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	*v = strtoll(s, &end, 10);
	return *end == '\0' && *v >= 0 && *v <= (1ll << 50) ? 0 : -1;
}

int
cli_agent_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "secret-file", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sf = getenv("BALLAST_AGENT_SECRET_FILE"), *sub, *url;
	int json = cli_take_json(&argc, argv), ch, st, rc, set;
	struct cli_http h;
	struct bl_err err;
	char body[64];
	long long bps = 0;
	json_t *out = NULL;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': sf = optarg; break;
		case 'h': fputs(usage_text, stdout); return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	if (argc - optind < 2)
		return cli_usage_error("agent: expected SUBCOMMAND URL "
		    "(ballastctl agent --help)");
	sub = argv[optind];
	url = argv[optind + 1];
	set = argc - optind == 3;
	if (strcmp(sub, "throttle") == 0) {
		if (argc - optind > 3)
			return cli_usage_error("agent throttle: expected URL "
			    "[BYTES_PER_SEC]");
		if (set && parse_bps(argv[optind + 2], &bps) == -1)
			return cli_usage_error("agent throttle: %s: expected "
			    "bytes per second, 0 to 2^50", argv[optind + 2]);
		if (sf == NULL)
			return cli_usage_error("agent throttle: --secret-file "
			    "is required (the agents' shared secret)");
	} else if (strcmp(sub, "status") != 0 || argc - optind != 2)
		return cli_usage_error("agent: unknown subcommand or extra "
		    "arguments: %s (ballastctl agent --help)", sub);
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return cli_usage_error("agent: %s: expected the agent's "
		    "http:// or https:// URL", url);
	/* An empty token file: no bearer token is sent to an agent. */
	if (cli_http_init(&h, url, "/dev/null") == -1)
		return CLI_USAGE;
	if (sf != NULL && (h.secret = bl_sign_read_secret(sf, &h.secret_len,
	    &err)) == NULL)
		return cli_usage_error("agent: --secret-file %s: %s", sf,
		    err.msg);
	if (strcmp(sub, "status") == 0)
		st = cli_http_call(&h, "GET", "/v1/status", NULL, 0, NULL, &out);
	else if (set) {
		snprintf(body, sizeof(body), "{\"bytes_per_sec\":%lld}", bps);
		st = cli_http_call(&h, "PUT", "/v1/config/throttle", body,
		    strlen(body), NULL, &out);
	} else
		st = cli_http_call(&h, "GET", "/v1/config/throttle", NULL, 0,
		    NULL, &out);
	rc = cli_http_exit(&h, st);
	if (rc == CLI_OK) {
		if (json || strcmp(sub, "status") == 0)
			cli_print_json(out);
		else
			printf("throttle: %lld bytes/s%s\n", (long long)
			    json_integer_value(json_object_get(out,
			    "bytes_per_sec")), json_integer_value(
			    json_object_get(out, "bytes_per_sec")) == 0 ?
			    " (no limit)" : "");
	}
	json_decref(out);
	if (h.secret != NULL)
		memset(h.secret, 0, h.secret_len);
	free(h.secret);
	return rc;
}
