/* cli/verify.c - ballastctl verify: the data-safety invariant (DESIGN 7).
 *
 *   ballastctl verify --database CONNINFO --secret-file FILE [--quiet]
 *
 * For every object in the metadata tier, every node its copies list must
 * hold the object: a signed HEAD to that node's agent must answer 200 with
 * the metadata's Content-MD5 (the agent hashes the file on disk). Objects
 * are streamed with a cursor; HEADs run in parallel, signed, through
 * lib/agent_call.h (the fan-out ballastd uses for its own agent calls).
 * Exit 0 when the invariant holds, 1 when it does not, 3 when the
 * database cannot be reached. Tests and the demo use it.
 */
#include "cli/cli.h"
#include "cli/http.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/agent_call.h"
#include "lib/http_client.h"
#include "lib/pg.h"
#include "lib/sign.h"

struct head {
	char	 want[64];	/* the metadata's Content-MD5 */
	char	 what[200];	/* node owner/id */
};

struct verify {
	char		*secret;	/* owns */
	size_t		 slen;
	char		**node_ids;	/* owns */
	char		**node_urls;	/* owns */
	int		 nnodes;
	long long	 objects, copies, bad;
	int		 quiet;
	json_t		*problems;	/* owns; --json: up to 50 */
	struct ev_loop	*loop;		/* owns */
	struct bl_http_client *http;	/* owns */
};

static const char *
node_url(const struct verify *v, const char *id)
{
	for (int i = 0; i < v->nnodes; i++)
		if (strcmp(v->node_ids[i], id) == 0)
			return v->node_urls[i];
	return NULL;
}

static void
problem(struct verify *v, const char *what, const char *why)
{
	v->bad++;
	if (v->problems != NULL && v->bad <= 50)
		json_array_append_new(v->problems, json_pack("{s:s,s:s}",
		    "copy", what, "problem", why));
	else if (!v->quiet && v->bad <= 50)
		printf("BAD %s: %s\n", what, why);
}

/* Runs the HEADs of one page of objects, signed and in parallel
 * (lib/agent_call.h). */
static void
check_page(struct verify *v, PGresult *r)
{
	int n = PQntuples(r), nh = 0;
	struct bl_acall_opts o = { v->secret, v->slen, 10000, 60000, 0 };
	struct bl_acall *calls = calloc((size_t)n * 16 + 1, sizeof(*calls));
	struct head *hs = calloc((size_t)n * 16 + 1, sizeof(*hs));

	if (calls == NULL || hs == NULL) {
		free(calls);
		free(hs);
		problem(v, "verify", "out of memory");
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *id = PQgetvalue(r, i, 0);
		const char *owner = PQgetvalue(r, i, 1);
		const char *md5 = PQgetvalue(r, i, 2);
		char *copies = strdup(PQgetvalue(r, i, 3)), *tok, *save = NULL;
		int nc = 0;

		v->objects++;
		for (tok = copies ? strtok_r(copies + 1, ",}", &save) : NULL;
		    tok != NULL; tok = strtok_r(NULL, ",}", &save)) {
			const char *url = node_url(v, tok);
			char target[128];

			nc++;
			v->copies++;
			snprintf(hs[nh].what, sizeof(hs[nh].what), "%s %s/%s",
			    tok, owner, id);
			if (url == NULL) {
				problem(v, hs[nh].what,
				    "node not in nodes table");
				continue;
			}
			if (nh >= n * 16)
				break;
			snprintf(target, sizeof(target), "/v1/objects/%s/%s",
			    owner, id);
			snprintf(hs[nh].want, sizeof(hs[nh].want), "%s", md5);
			bl_acall_set(&calls[nh], "HEAD", url, target, NULL);
			calls[nh].want_header = "Content-MD5";
			nh++;
		}
		if (nc == 0)
			problem(v, id, "no copies listed");
		free(copies);
	}
	bl_acalls_run(v->loop, v->http, &o, calls, (size_t)nh);
	for (int i = 0; i < nh; i++) {
		if (calls[i].code != BL_OK)
			problem(v, hs[i].what, calls[i].error);
		else if (calls[i].status != 200)
			problem(v, hs[i].what, calls[i].status == 404 ?
			    "missing" : "agent answered an error");
		else if (strcmp(calls[i].header, hs[i].want) != 0)
			problem(v, hs[i].what, "md5 differs from the metadata");
	}
	bl_acalls_release(calls, (size_t)nh);
	free(calls);
	free(hs);
}

/* The nodes' ids and agent URLs (no trailing slash). */
static int
load_nodes(struct verify *v, PGconn *c, struct bl_err *err)
{
	PGresult *r;

	if ((r = bl_pg_exec(c, "SELECT id, rtrim(agent_url, '/') FROM nodes",
	    0, NULL, err)) == NULL)
		return -1;
	v->nnodes = PQntuples(r);
	v->node_ids = calloc((size_t)v->nnodes + 1, sizeof(char *));
	v->node_urls = calloc((size_t)v->nnodes + 1, sizeof(char *));
	if (v->node_ids == NULL || v->node_urls == NULL) {
		v->nnodes = 0;
		PQclear(r);
		return bl_err_set(err, BL_ENOMEM, "out of memory");
	}
	for (int i = 0; i < v->nnodes; i++) {
		v->node_ids[i] = strdup(PQgetvalue(r, i, 0));
		v->node_urls[i] = strdup(PQgetvalue(r, i, 1));
	}
	PQclear(r);
	return 0;
}

/* The loop and HTTP client for the HEADs; --cacert also verifies https
 * agents. */
static int
open_client(struct verify *v, struct bl_err *err)
{
	struct bl_http_tls tls = { getenv("BALLAST_CACERT"), NULL, NULL };

	if ((v->loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		return bl_err_set(err, BL_ENOMEM, "no event loop");
	if ((v->http = bl_http_client_new(v->loop, err)) == NULL ||
	    bl_http_client_set_tls(v->http, &tls, err) == -1)
		return -1;
	return 0;
}

/* Streams every object in one snapshot and checks its copies. */
static int
check_all(struct verify *v, PGconn *c, struct bl_err *err)
{
	PGresult *r;

	if (bl_pg_run(c, "BEGIN ISOLATION LEVEL REPEATABLE READ", 0, NULL,
	    err) == -1 || bl_pg_run(c, "DECLARE objs NO SCROLL CURSOR FOR "
	    "SELECT id, owner, md5, copies FROM objects ORDER BY id", 0, NULL,
	    err) == -1)
		return -1;
	for (;;) {
		if ((r = bl_pg_exec(c, "FETCH 2000 FROM objs", 0, NULL,
		    err)) == NULL)
			return -1;
		if (PQntuples(r) == 0) {
			PQclear(r);
			break;
		}
		check_page(v, r);
		PQclear(r);
	}
	bl_pg_run(c, "COMMIT", 0, NULL, NULL);
	return 0;
}

int
cli_verify_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "database", required_argument, NULL, 'd' },
		{ "secret-file", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *db = NULL, *sf = NULL;
	struct verify v;
	struct bl_err err;
	PGconn *c;
	int ch, rc = CLI_FAILED;

	memset(&v, 0, sizeof(v));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 's': sf = optarg; break;
		case 'q': v.quiet = 1; break;
		case 'j':
			if (v.problems == NULL)
				v.problems = json_array();
			break;
		case 'h':
			puts("usage: ballastctl verify --database CONNINFO "
			    "--secret-file FILE [--quiet] [--json]");
			return CLI_OK;
		default:
			return CLI_USAGE;
		}
	}
	if (db == NULL || sf == NULL) {
		json_decref(v.problems);
		return cli_usage_error("verify: --database and --secret-file "
		    "are required");
	}
	if ((v.secret = bl_sign_read_secret(sf, &v.slen, &err)) == NULL) {
		json_decref(v.problems);
		return cli_usage_error("verify: %s", err.msg);
	}
	if ((c = bl_pg_connect(db, 10, &err)) == NULL) {
		fprintf(stderr, "ballastctl: verify: %s\n", err.msg);
		free(v.secret);
		json_decref(v.problems);
		return CLI_UNREACHABLE;
	}
	if (load_nodes(&v, c, &err) == -1)
		goto dberr;
	if (open_client(&v, &err) == -1) {
		fprintf(stderr, "ballastctl: verify: %s\n", err.msg);
		rc = CLI_USAGE;
		goto out;
	}
	if (check_all(&v, c, &err) == -1)
		goto dberr;
	if (v.problems != NULL) {
		json_t *out = json_pack("{s:I,s:I,s:I,s:b,s:O}", "objects",
		    (json_int_t)v.objects, "copies", (json_int_t)v.copies,
		    "bad", (json_int_t)v.bad, "ok", v.bad == 0, "problems",
		    v.problems);

		cli_print_json(out);
		json_decref(out);
	} else
		printf("verify: objects=%lld copies=%lld bad=%lld: %s\n",
		    v.objects, v.copies, v.bad, v.bad ? "INVARIANT BROKEN" :
		    "ok");
	rc = v.bad ? CLI_FAILED : CLI_OK;
	goto out;
dberr:
	fprintf(stderr, "ballastctl: verify: %s\n", err.msg);
	rc = CLI_UNREACHABLE;
out:
	bl_http_client_free(v.http);
	if (v.loop != NULL)
		ev_loop_destroy(v.loop);
	PQfinish(c);
	for (int i = 0; i < v.nnodes; i++) {
		free(v.node_ids[i]);
		free(v.node_urls[i]);
	}
	free(v.node_ids);
	free(v.node_urls);
	free(v.secret);
	json_decref(v.problems);
	return rc;
}
