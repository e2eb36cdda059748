/* tests/integration/test_api_doc.c - the examples of docs/api.md run
 * against a live ballastd, with real agents and a seeded cluster.
 *
 * The convention (docs/api.md, "Runnable examples"): a fenced block
 * tagged `http` holds a request line `METHOD /target`, optional header
 * lines, and after a blank line an optional body; the next fenced block
 * is tagged `json STATUS` (or `csv STATUS`, for a CSV answer whose
 * first line, the header, must be the same) and holds the answer. The test sends each
 * request in document order (GET with the viewer token, anything else
 * with the operator token), with `{job}` and `{object}` in the target or
 * body replaced by a finished evacuation's id and a seeded object's id,
 * and checks the status and that the answer has every key the example
 * shows, recursively: an object example needs those keys (a key "..."
 * stands for the ones left out), an array example with an element needs
 * a non-empty answer whose every element has its keys. Every `###` section of the
 * endpoints has at least one example.
 *
 * The cluster: nodes 1.stor.dc1 to 3.stor.dc1 and 4.stor.dc2 of 4 MiB,
 * objects skewed onto 1 and 2, 3.stor.dc1 evacuated and one cycle run
 * with the controller paused before the examples run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "lib/buf.h"
#include "tests/helpers/th_cluster.h"

#define NAGENTS	4
#define OWNER	"0e0e0e0e-0000-4000-8000-000000000001"
#define OBJ	(128 * 1024)
#define MAXEX	128

static struct th_pg pg;
static struct tha_agent ag[NAGENTS];
static struct th_ctl ctl;
static char job_id[37];
static char obj_id[37];

static const char *const names[NAGENTS] = { "1.stor.dc1", "2.stor.dc1",
    "3.stor.dc1", "4.stor.dc2" };
static const char *const agent_args[] = { "--capacity-bytes", "4194304",
    NULL };
static const struct th_cluster cluster = {
	.pg = &pg, .ag = ag, .ctl = &ctl, .n = NAGENTS, .names = names,
	.agent_args = agent_args,
};

struct example {
	int	 line;		/* of the request line in api.md */
	char	*section;	/* owns: the ### heading above it */
	char	*request;	/* owns: the http block */
	char	*answer;	/* owns: the json block */
	long	 status;
	int	 csv;		/* the answer is CSV: its first line is
				   checked (the header) */
};

static struct example ex[MAXEX];
static int nex;
static int nsections, nsections_with;
static char *bare;		/* owns: the sections without an example */

static char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	assert_non_null(p);
	return p;
}

/* Appends line to *buf (NULL: a new one). */
static void
append(char **buf, const char *line)
{
	size_t ol = *buf ? strlen(*buf) : 0, ll = strlen(line);
	char *n = realloc(*buf, ol + ll + 1);

	assert_non_null(n);
	memcpy(n + ol, line, ll + 1);
	*buf = n;
}

static void
end_section(const char *section, int has)
{
	nsections++;
	nsections_with += has;
	if (!has) {
		append(&bare, section);
		append(&bare, "\n");
	}
}

/* Reads docs/api.md into ex[]; fails on a broken convention. */
static void
load_examples(void)
{
	char path[600], line[4096], *section = NULL, *req = NULL, *ans = NULL;
	int ln = 0, in = 0, req_line = 0, section_has = 0, csv = 0;
	long st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/../docs/api.md", th_scripts_dir());
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		ln++;
		if (in == 0 && strncmp(line, "### ", 4) == 0) {
			if (section != NULL) {
				end_section(section, section_has);
			}
			free(section);
			section = xstrndup(line + 4, strcspn(line + 4, "\n"));
			section_has = 0;
		} else if (in == 0 && strncmp(line, "## ", 3) == 0 &&
		    section != NULL) {
			/* A new chapter ends the endpoint section. */
			end_section(section, section_has);
			free(section);
			section = NULL;
		} else if (in == 0 && strcmp(line, "```http\n") == 0) {
			if (req != NULL)
				fail_msg("api.md:%d: an http block without "
				    "its answer block", req_line);
			in = 1;
			req_line = ln + 1;
			req = strdup("");
		} else if (in == 0 && (strncmp(line, "```json ", 8) == 0 ||
		    strncmp(line, "```csv ", 7) == 0) && req != NULL) {
			char *end;

			csv = line[3] == 'c';
			st = strtol(line + (csv ? 7 : 8), &end, 10);
			if (st < 100 || st > 599 || *end != '\n')
				fail_msg("api.md:%d: want ```json STATUS", ln);
			in = 2;
			ans = strdup("");
		} else if (in != 0 && strcmp(line, "```\n") == 0) {
			if (in == 2) {
				assert_true(nex < MAXEX);
				ex[nex].line = req_line;
				ex[nex].section = strdup(section ? section :
				    "(none)");
				ex[nex].request = req;
				ex[nex].answer = ans;
				ex[nex].status = st;
				ex[nex].csv = csv;
				nex++;
				req = ans = NULL;
				section_has = 1;
			}
			in = 0;
		} else if (in == 1) {
			append(&req, line);
		} else if (in == 2) {
			append(&ans, line);
		} else if (req != NULL && line[0] != '\n') {
			fail_msg("api.md:%d: text between an http block and "
			    "its answer block", ln);
		}
	}
	assert_int_equal(fclose(f), 0);
	if (section != NULL)
		end_section(section, section_has);
	free(section);
	if (req != NULL)
		fail_msg("api.md:%d: an http block without its answer block",
		    req_line);
	assert_int_equal(in, 0);
}

/* Replaces {job} and {object} in s (a new string). */
static char *
fill(const char *s)
{
	char *out = strdup("");
	const char *p = s;

	assert_non_null(out);
	while (*p != '\0') {
		char one[2] = { *p, '\0' };

		if (strncmp(p, "{job}", 5) == 0) {
			append(&out, job_id);
			p += 5;
		} else if (strncmp(p, "{object}", 8) == 0) {
			append(&out, obj_id);
			p += 8;
		} else {
			append(&out, one);
			p++;
		}
	}
	return out;
}

static size_t
on_body(char *d, size_t sz, size_t n, void *arg)
{
	return bl_buf_add(arg, d, sz * n) == 0 ? sz * n : 0;
}

/* Sends the request of an http block; the status, the body in *body. */
static long
send_request(const char *block, char **body)
{
	char *r = fill(block), *line, *save = NULL, method[16], target[1024];
	char url[1200], auth[128];
	const char *payload = NULL;
	struct curl_slist *h = NULL;
	struct bl_buf b = BL_BUF_INIT;
	long status = -1;
	CURL *c;
	char *blank;

	/* The body is what follows the first blank line. */
	if ((blank = strstr(r, "\n\n")) != NULL) {
		*blank = '\0';
		payload = blank + 2;
	}
	line = strtok_r(r, "\n", &save);
	assert_non_null(line);
	if (sscanf(line, "%15s %1023s", method, target) != 2)
		fail_msg("bad request line: %s", line);
	snprintf(url, sizeof(url), "%s%s", ctl.url, target);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    strcmp(method, "GET") == 0 ? TH_VIEW_TOKEN : TH_OP_TOKEN);
	h = curl_slist_append(h, auth);
	while ((line = strtok_r(NULL, "\n", &save)) != NULL)
		h = curl_slist_append(h, line);
	if (payload != NULL && strstr(block, "Content-Type:") == NULL)
		h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	assert_non_null(c = curl_easy_init());
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (payload != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(r);
	assert_non_null(*body = bl_buf_detach(&b, NULL));
	return status;
}

/* Checks that got has the shape of want; appends what is missing, by
 * path, to miss. */
static void
same_keys(const json_t *want, const json_t *got, const char *path,
    char **miss)
{
	char sub[512], m[600];
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_object(want)) {
		if (!json_is_object(got)) {
			snprintf(m, sizeof(m), "%s: not an object; ", path);
			append(miss, m);
			return;
		}
		json_object_foreach((json_t *)want, k, v) {
			json_t *g = json_object_get(got, k);

			if (strcmp(k, "...") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s.%s", path, k);
			if (g == NULL) {
				snprintf(m, sizeof(m), "%s missing; ", sub);
				append(miss, m);
			} else if (!json_is_null(g)) {
				same_keys(v, g, sub, miss);
			}
		}
	} else if (json_is_array(want)) {
		json_t *w0 = json_array_get(want, 0);

		if (!json_is_array(got)) {
			snprintf(m, sizeof(m), "%s: not an array; ", path);
			append(miss, m);
			return;
		}
		if (!json_is_object(w0))
			return;
		if (json_array_size(got) == 0) {
			snprintf(m, sizeof(m), "%s: empty, the example shows "
			    "an element; ", path);
			append(miss, m);
		}
		json_array_foreach(got, i, v) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			same_keys(w0, v, sub, miss);
		}
	}
}

static int
setup(void **state)
{
	int skew[2] = { 0, 1 }, rest[2] = { 2, 3 };
	char ids[37 * 12];
	json_t *job;
	int ok;

	(void)state;
	if (th_cluster_start(&cluster) != 0 ||
	    th_pg_sql(&pg, "UPDATE nodes SET datacenter = 'dc2' WHERE id = "
	    "'4.stor.dc2'") != 0 ||
	    th_seed(pg.conninfo, ag, NAGENTS, 12, OBJ, skew, 2, ids,
	    OWNER) != 0 ||
	    th_seed(pg.conninfo, ag, NAGENTS, 4, OBJ, rest, 2, NULL,
	    OWNER) != 0)
		return -1;
	memcpy(obj_id, ids, 37);
	/* An agent counts its root when it starts. */
	if (th_cluster_restart_agents(&cluster) != 0)
		return -1;
	/* A finished job for {job}. */
	if (th_ctl_evacuate(&ctl, "3.stor.dc1", 0, job_id) != 201 ||
	    (job = th_ctl_wait_job(&ctl, job_id, 60)) == NULL)
		return -1;
	ok = strcmp(json_string_value(json_object_get(job, "state")),
	    "complete") == 0;
	json_decref(job);
	/* A cycle, so that /v1/status and /v1/cycles have one to show;
	 * paused, so that it leaves the skew for GET /v1/plan. */
	if (th_ctl_req(&ctl, "POST", "/v1/controller/pause", "{}",
	    TH_OP_TOKEN, NULL) != 200 || th_ctl_req(&ctl, "POST", "/v1/controller/run", "{}", TH_OP_TOKEN,
	    NULL) != 202)
		return -1;
	for (int i = 0; i < 100 && th_sql_ll(pg.conninfo, "SELECT count(*) "
	    "FROM cycles") < 1; i++)
		tha_sleep_ms(50);
	return ok ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	free(bare);
	for (int i = 0; i < nex; i++) {
		free(ex[i].section);
		free(ex[i].request);
		free(ex[i].answer);
	}
	return th_cluster_stop(&cluster);
}

static void
test_api_doc__every_endpoint_section_has_a_runnable_example(void **state)
{
	(void)state;
	load_examples();
	assert_true(nex >= 20);
	if (nsections_with != nsections)
		fail_msg("%d of %d ### sections of api.md have no runnable "
		    "example:\n%s", nsections - nsections_with, nsections,
		    bare);
}

static void
test_api_doc__examples_answer_as_documented(void **state)
{
	char *bad = NULL;

	(void)state;
	assert_true(nex >= 20);
	for (int i = 0; i < nex; i++) {
		char *body = NULL, *miss = NULL, *want_s = fill(ex[i].answer);
		char m[1024];
		json_error_t je;
		json_t *want, *got;
		long st = send_request(ex[i].request, &body);

		if (ex[i].csv) {
			size_t hl = strcspn(want_s, "\n");

			if (st != ex[i].status || strncmp(body ? body : "",
			    want_s, hl) != 0 || (body[hl] != '\n' &&
			    body[hl] != '\r')) {
				snprintf(m, sizeof(m), "api.md:%d (%s): status "
				    "%ld (documented %ld) or header differs: "
				    "%.200s\n", ex[i].line, ex[i].section, st,
				    ex[i].status, body ? body : "");
				append(&bad, m);
			}
			free(body);
			free(want_s);
			continue;
		}
		if ((want = json_loads(want_s, JSON_DECODE_ANY, &je)) == NULL)
			fail_msg("api.md:%d: the answer block is not JSON: %s",
			    ex[i].line, je.text);
		got = json_loads(body, JSON_DECODE_ANY, NULL);
		if (st != ex[i].status) {
			snprintf(m, sizeof(m), "api.md:%d (%s): status %ld, "
			    "documented %ld: %.300s\n", ex[i].line,
			    ex[i].section, st, ex[i].status, body);
			append(&bad, m);
		} else if (got == NULL) {
			snprintf(m, sizeof(m), "api.md:%d (%s): not JSON: "
			    "%.300s\n", ex[i].line, ex[i].section, body);
			append(&bad, m);
		} else {
			same_keys(want, got, "", &miss);
			if (miss != NULL) {
				snprintf(m, sizeof(m), "api.md:%d (%s): %s\n",
				    ex[i].line, ex[i].section, miss);
				append(&bad, m);
			}
		}
		free(miss);
		free(body);
		free(want_s);
		json_decref(want);
		json_decref(got);
	}
	if (bad != NULL)
		fail_msg("%d examples, these differ:\n%s", nex, bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_api_doc__every_endpoint_section_has_a_runnable_example),
		cmocka_unit_test(test_api_doc__examples_answer_as_documented),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
