/* cli/job.c - ballastctl job and node commands: thin clients of the API
 * (docs/api.md). */
#include "cli/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/uuid.h"

static int
simple(struct cli_http *h, const char *method, const char *target,
    json_t *body, int print)
{
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_t *out = NULL;
	int st, rc;

	json_decref(body);
	st = cli_http_call(h, method, target, s, s ? strlen(s) : 0, NULL,
	    &out);
	free(s);
	rc = cli_http_exit(h, st);
	if (rc == CLI_OK && print && out != NULL)
		cli_print_json(out);
	json_decref(out);
	return rc;
}

static int
job_list(struct cli_http *h, int argc, char **argv, int json)
{
	char target[256] = "/v1/jobs?limit=1000";
	json_t *out = NULL, *j;
	size_t i;
	int st, rc;

	if (argc == 3 && strcmp(argv[1], "--state") == 0 &&
	    strlen(argv[2]) < 32)
		snprintf(target, sizeof(target), "/v1/jobs?limit=1000&state=%s",
		    argv[2]);
	else if (argc != 1)
		return cli_usage_error("usage: job list [--state STATE]");
	st = cli_http_call(h, "GET", target, NULL, 0, NULL, &out);
	if ((rc = cli_http_exit(h, st)) != CLI_OK || json) {
		if (rc == CLI_OK)
			cli_print_json(json_object_get(out, "jobs"));
		json_decref(out);
		return rc;
	}
	printf("%-36s  %-9s  %-9s  %8s  %8s  %8s  %8s\n", "ID", "KIND",
	    "STATE", "TOTAL", "COMPLETE", "SKIPPED", "FAILED");
	json_array_foreach(json_object_get(out, "jobs"), i, j) {
		json_t *c = json_object_get(j, "counters");

		printf("%-36s  %-9s  %-9s  %8lld  %8lld  %8lld  %8lld\n",
		    json_string_value(json_object_get(j, "id")),
		    json_string_value(json_object_get(j, "kind")),
		    json_string_value(json_object_get(j, "state")),
		    (long long)json_integer_value(json_object_get(c, "total")),
		    (long long)json_integer_value(json_object_get(c,
		    "complete")),
		    (long long)json_integer_value(json_object_get(c,
		    "skipped")),
		    (long long)json_integer_value(json_object_get(c,
		    "failed")));
	}
	json_decref(out);
	return CLI_OK;
}

static int
create(struct cli_http *h, json_t *body, int json)
{
	char *s = json_dumps(body, JSON_COMPACT);
	json_t *out = NULL;
	int st, rc;

	json_decref(body);
	if (s == NULL)
		return CLI_FAILED;
	st = cli_http_call(h, "POST", "/v1/jobs", s, strlen(s), NULL, &out);
	free(s);
	rc = cli_http_exit(h, st);
	if (rc == CLI_OK && json)
		cli_print_json(out);
	else if (rc == CLI_OK)
		printf("%s\n", json_string_value(json_object_get(out, "id")));
	json_decref(out);
	return rc;
}

static void
fmt_dur(double s, char *out, size_t len)
{
	long t = (long)(s + 0.5);

	if (t >= 3600)
		snprintf(out, len, "%ldh%02ldm", t / 3600, t / 60 % 60);
	else
		snprintf(out, len, "%ldm%02lds", t / 60, t % 60);
}

/* Polls the job until it finishes. 0 complete, 1 failed or cancelled. */
static int
job_watch(struct cli_http *h, const char *id, int json)
{
	char target[128], line[256], last[256] = "";
	int tty = !json && isatty(STDOUT_FILENO);
	struct timespec t0;
	long long done0 = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	snprintf(target, sizeof(target), "/v1/jobs/%s", id);
	for (;;) {
		json_t *out = NULL, *c;
		const char *state;
		long long total, done, skipped, failed;
		struct timespec now;
		double el, rate, pct;
		char eta[32] = "-";
		int st, rc, fin;

		st = cli_http_call(h, "GET", target, NULL, 0, NULL, &out);
		if ((rc = cli_http_exit(h, st)) != CLI_OK) {
			json_decref(out);
			return rc;
		}
		state = json_string_value(json_object_get(out, "state"));
		c = json_object_get(out, "counters");
		total = json_integer_value(json_object_get(c, "total"));
		done = json_integer_value(json_object_get(c, "complete"));
		skipped = json_integer_value(json_object_get(c, "skipped"));
		failed = json_integer_value(json_object_get(c, "failed"));
		if (done0 < 0)
			done0 = done;
		clock_gettime(CLOCK_MONOTONIC, &now);
		el = (double)(now.tv_sec - t0.tv_sec) +
		    (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
		rate = el > 0 ? (double)(done - done0) / el : 0;
		pct = total > 0 ? 100.0 * (double)(done + skipped + failed) /
		    (double)total : 0;
		if (rate > 0)
			fmt_dur((double)(total - done - skipped - failed) /
			    rate, eta, sizeof(eta));
		fin = strcmp(state, "complete") == 0 ||
		    strcmp(state, "failed") == 0 ||
		    strcmp(state, "cancelled") == 0;
		if (json) {
			/* Only the finished job, below. */
		} else if (tty) {
			int w = (int)(pct / 100.0 * 30);

			printf("\r[%.*s%*s] %5.1f%% %lld/%lld skipped=%lld "
			    "failed=%lld %.1f obj/s ETA %s %s  ", w,
			    "##############################", 30 - w, "", pct,
			    done, total, skipped, failed, rate, eta, state);
			fflush(stdout);
		} else {
			snprintf(line, sizeof(line), "job %s state=%s total=%lld"
			    " complete=%lld skipped=%lld failed=%lld", id,
			    state, total, done, skipped, failed);
			if (strcmp(line, last) != 0) {
				printf("%s rate=%.1f/s eta=%s\n", line, rate,
				    eta);
				fflush(stdout);
				snprintf(last, sizeof(last), "%s", line);
			}
		}
		if (fin) {
			int ok = strcmp(state, "complete") == 0;

			if (tty)
				putchar('\n');
			if (json)
				cli_print_json(out);
			json_decref(out);
			return ok ? CLI_OK : CLI_FAILED;
		}
		json_decref(out);
		sleep(1);
	}
}

int
cli_job_main(int argc, char **argv)
{
	struct cli_http h;
	int json = cli_take_json(&argc, argv);
	const char *sub = argc > 1 ? argv[1] : "";
	char target[128];

	if (cli_http_init(&h, NULL, NULL) == -1)
		return CLI_USAGE;
	if (strcmp(sub, "list") == 0)
		return job_list(&h, argc - 1, argv + 1, json);
	if (strcmp(sub, "evacuate") == 0) {
		json_t *p;

		if (argc != 3 && !(argc == 5 && strcmp(argv[3],
		    "--max-objects") == 0))
			return cli_usage_error("usage: job evacuate NODE "
			    "[--max-objects N]");
		p = json_pack("{s:s}", "from_node", argv[2]);
		if (argc == 5) {
			char *end;
			long long n;

			errno = 0;
			n = strtoll(argv[4], &end, 10);
			if (*end != '\0' || n < 1 || errno != 0) {
				json_decref(p);
				return cli_usage_error("--max-objects: want a "
				    "positive integer");
			}
			json_object_set_new(p, "max_objects", json_integer(n));
		}
		return create(&h, json_pack("{s:s,s:o}", "action", "evacuate",
		    "params", p), json);
	}
	if (strcmp(sub, "submit") == 0) {
		json_t *plan;
		json_error_t je;

		if (argc != 3)
			return cli_usage_error("usage: job submit PLAN.json");
		if ((plan = json_load_file(argv[2], 0, &je)) == NULL)
			return cli_usage_error("%s:%d: %s", argv[2], je.line,
			    je.text);
		return create(&h, json_pack("{s:s,s:{s:o}}", "action",
		    "rebalance", "params", "plan", plan), json);
	}
	if (strcmp(sub, "throttle") == 0) {
		char *end;
		long long bps;

		if (argc != 4)
			return cli_usage_error("usage: job throttle ID "
			    "BYTES_PER_SEC");
		if (!bl_uuid_valid(argv[2]))
			return cli_usage_error("%s: not a job id", argv[2]);
		errno = 0;
		bps = strtoll(argv[3], &end, 10);
		if (argv[3][0] < '0' || argv[3][0] > '9' || *end != '\0' ||
		    errno == ERANGE)
			return cli_usage_error("job throttle: \"%s\": want bytes "
			    "per second, a whole number >= 0 (0: none)",
			    argv[3]);
		snprintf(target, sizeof(target), "/v1/jobs/%s", argv[2]);
		return simple(&h, "PUT", target, json_pack("{s:s,s:{s:I}}",
		    "action", "set_throttle", "params", "bytes_per_sec",
		    (json_int_t)bps), 1);
	}
	if (argc != 3 || (strcmp(sub, "get") != 0 && strcmp(sub, "retry") != 0
	    && strcmp(sub, "pause") != 0 && strcmp(sub, "resume") != 0 &&
	    strcmp(sub, "cancel") != 0 && strcmp(sub, "watch") != 0))
		return cli_usage_error("usage: job list|get ID|evacuate NODE "
		    "[--max-objects N]|retry ID|pause ID|resume ID|cancel ID|"
		    "throttle ID BYTES_PER_SEC|watch ID|submit PLAN.json");
	if (!bl_uuid_valid(argv[2]))
		return cli_usage_error("%s: not a job id", argv[2]);
	snprintf(target, sizeof(target), "/v1/jobs/%s", argv[2]);
	if (strcmp(sub, "get") == 0)
		return simple(&h, "GET", target, NULL, 1);
	if (strcmp(sub, "watch") == 0)
		return job_watch(&h, argv[2], json);
	if (strcmp(sub, "retry") == 0)
		return create(&h, json_pack("{s:s,s:{s:s}}", "action", "retry",
		    "params", "job", argv[2]), json);
	return simple(&h, "PUT", target, json_pack("{s:s}", "action", sub), 1);
}

int
cli_node_main(int argc, char **argv)
{
	struct cli_http h;
	int json = cli_take_json(&argc, argv);
	const char *sub = argc > 1 ? argv[1] : "";
	char target[400];

	if (cli_http_init(&h, NULL, NULL) == -1)
		return CLI_USAGE;
	if (strcmp(sub, "list") == 0 && argc == 2) {
		json_t *out = NULL, *n;
		size_t i;
		int st, rc;

		st = cli_http_call(&h, "GET", "/v1/nodes", NULL, 0, NULL, &out);
		if ((rc = cli_http_exit(&h, st)) != CLI_OK || json) {
			if (rc == CLI_OK)
				cli_print_json(json_object_get(out, "nodes"));
			json_decref(out);
			return rc;
		}
		printf("%-20s  %-9s  %-5s  %14s  %14s  %s\n", "ID", "STATE",
		    "UP", "USED", "CAPACITY", "AGENT");
		json_array_foreach(json_object_get(out, "nodes"), i, n)
			printf("%-20s  %-9s  %-5s  %14lld  %14lld  %s\n",
			    json_string_value(json_object_get(n, "id")),
			    json_string_value(json_object_get(n, "state")),
			    json_is_true(json_object_get(n, "reachable")) ?
			    "yes" : "no", (long long)json_integer_value(
			    json_object_get(n, "used_bytes")),
			    (long long)json_integer_value(json_object_get(n,
			    "capacity_bytes")), json_string_value(
			    json_object_get(n, "agent_url")));
		json_decref(out);
		return CLI_OK;
	}
	if (strcmp(sub, "drain") == 0 && argc == 3) {
		snprintf(target, sizeof(target), "/v1/nodes/%s/drain", argv[2]);
		return simple(&h, "POST", target, NULL, 1);
	}
	if (strcmp(sub, "set") == 0 && argc >= 4) {
		json_t *b = json_object();

		for (int i = 3; i < argc; i++) {
			char *eq = strchr(argv[i], '=');
			char key[64];

			if (eq == NULL || eq - argv[i] >= (long)sizeof(key)) {
				json_decref(b);
				return cli_usage_error("node set: \"%s\": want "
				    "KEY=VALUE", argv[i]);
			}
			snprintf(key, sizeof(key), "%.*s", (int)(eq - argv[i]),
			    argv[i]);
			if (strcmp(key, "weight") == 0)
				json_object_set_new(b, key, json_real(
				    strtod(eq + 1, NULL)));
			else if (strcmp(key, "capacity_bytes") == 0)
				json_object_set_new(b, key, json_integer(
				    strtoll(eq + 1, NULL, 10)));
			else
				json_object_set_new(b, key,
				    json_string(eq + 1));
		}
		snprintf(target, sizeof(target), "/v1/nodes/%s", argv[2]);
		return simple(&h, "PUT", target, b, 1);
	}
	return cli_usage_error("usage: node list|drain ID|set ID KEY=VALUE... "
	    "(keys: agent_url region datacenter rack host weight "
	    "capacity_bytes state)");
}

/* Sends one chunk: the header line, then whole rows. Adds the count. */
static int
import_chunk(struct cli_http *h, const char *hdr, size_t hlen,
    const char *rows, size_t rlen, long long *imported)
{
	char *body = malloc(hlen + rlen + 1);
	json_t *out = NULL;
	int st, rc;

	if (body == NULL)
		return CLI_FAILED;
	memcpy(body, hdr, hlen);
	memcpy(body + hlen, rows, rlen);
	st = cli_http_call(h, "POST", "/v1/objects/import", body, hlen + rlen,
	    "text/csv", &out);
	free(body);
	rc = cli_http_exit(h, st);
	if (rc == CLI_OK)
		*imported += (long long)json_integer_value(json_object_get(out,
		    "imported"));
	json_decref(out);
	return rc;
}

/* ballastctl objects import FILE.csv [--chunk-bytes N]: the file goes up
 * in chunks of at most N bytes (default 8 MiB) of whole rows, each with the
 * header, so an inventory of any size fits the server's body limit. Each
 * chunk is one transaction; the server upserts, so sending a chunk again
 * after a failure does no harm. */
#define IMPORT_CHUNK	(8u << 20)

int
cli_objects_main(int argc, char **argv)
{
	struct cli_http h;
	FILE *f;
	char *buf, *line = NULL, *hdr = NULL;
	size_t len = 0, hlen = 0, lcap = 0, chunk = IMPORT_CHUNK;
	ssize_t n;
	long long imported = 0, chunks = 0;
	int json = cli_take_json(&argc, argv);
	int rc = CLI_OK;

	if (argc == 5 && strcmp(argv[3], "--chunk-bytes") == 0) {
		char *end;
		unsigned long long v = strtoull(argv[4], &end, 10);

		if (*end != '\0' || v < 1024 || v > (64ull << 20))
			return cli_usage_error("--chunk-bytes: \"%s\" is not a "
			    "number in 1024..67108864", argv[4]);
		chunk = (size_t)v;
		argc -= 2;
	}
	if (argc != 3 || strcmp(argv[1], "import") != 0)
		return cli_usage_error("usage: objects import FILE.csv "
		    "[--chunk-bytes N]");
	if (cli_http_init(&h, NULL, NULL) == -1)
		return CLI_USAGE;
	if ((f = fopen(argv[2], "r")) == NULL)
		return cli_usage_error("%s: cannot open", argv[2]);
	if ((buf = malloc(chunk)) == NULL) {
		fclose(f);
		return CLI_FAILED;
	}
	while (rc == CLI_OK && (n = getline(&line, &lcap, f)) != -1) {
		if (hdr == NULL) {
			hdr = strdup(line);
			hlen = (size_t)n;
			if (hdr == NULL)
				rc = CLI_FAILED;
			continue;
		}
		if ((size_t)n + hlen > chunk) {
			rc = cli_usage_error("%s: a row longer than %zu bytes",
			    argv[2], chunk);
			break;
		}
		if (len + (size_t)n + hlen > chunk) {
			rc = import_chunk(&h, hdr, hlen, buf, len, &imported);
			chunks++;
			len = 0;
		}
		memcpy(buf + len, line, (size_t)n);
		len += (size_t)n;
	}
	/* The last chunk; also the only one of a file with just a header,
	 * so that the server checks it. */
	if (rc == CLI_OK && (len > 0 || chunks == 0))
		rc = import_chunk(&h, hdr ? hdr : "", hdr ? hlen : 0, buf, len,
		    &imported);
	if (rc == CLI_OK && ferror(f))
		rc = cli_usage_error("%s: read error", argv[2]);
	fclose(f);
	free(line);
	free(hdr);
	free(buf);
	if (rc != CLI_OK) {
		if (imported > 0)
			fprintf(stderr, "ballastctl: %lld objects were imported "
			    "before the failure; importing the file again is "
			    "safe\n", imported);
		return rc;
	}
	if (json) {
		json_t *out = json_pack("{s:I}", "imported", (json_int_t)imported);

		cli_print_json(out);
		json_decref(out);
	} else
		printf("imported %lld objects\n", imported);
	return rc;
}
