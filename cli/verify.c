/* cli/verify.c - ballastctl verify: the data-safety invariant (DESIGN 7).
 *
 *   ballastctl verify --database CONNINFO --secret-file FILE [--quiet]
 *
 * For every object in the metadata tier, every node its copies list must
 * hold the object: a signed HEAD to that node's agent must answer 200 with
 * the metadata's Content-MD5 (the agent hashes the file on disk). Objects
 * are streamed with a cursor; HEADs run in parallel over curl multi.
 * Exit 0 when the invariant holds, 1 when it does not, 3 when the
 * database cannot be reached. Tests and the demo use it.
 */
#include "cli/cli.h"
#include "cli/http.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "lib/pg.h"
#include "lib/sign.h"

struct head {
	CURL			*c;		/* owns */
	struct curl_slist	*hd;		/* owns */
	char			 md5[64];	/* got */
	char			 want[64];
	char			 what[200];	/* node owner/id */
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
};

static size_t
on_header(char *b, size_t sz, size_t nm, void *arg)
{
	struct head *h = arg;
	size_t n = sz * nm;

	if (n > 12 && strncasecmp(b, "Content-MD5:", 12) == 0) {
		size_t i = 12, l;

		while (i < n && b[i] == ' ')
			i++;
		l = n - i;
		while (l > 0 && (b[i + l - 1] == '\r' || b[i + l - 1] == '\n'))
			l--;
		if (l < sizeof(h->md5)) {
			memcpy(h->md5, b + i, l);
			h->md5[l] = '\0';
		}
	}
	return n;
}

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

/* Runs the HEADs of one page of objects. */
static void
check_page(struct verify *v, CURLM *m, PGresult *r)
{
	int n = PQntuples(r), nh = 0, running;
	struct head *hs = calloc((size_t)n * 16 + 1, sizeof(*hs));
	CURLMsg *msg;
	int left;

	if (hs == NULL)
		return;
	for (int i = 0; i < n; i++) {
		const char *id = PQgetvalue(r, i, 0);
		const char *owner = PQgetvalue(r, i, 1);
		const char *md5 = PQgetvalue(r, i, 2);
		char *copies = strdup(PQgetvalue(r, i, 3)), *tok, *save = NULL;
		int nc = 0;

		v->objects++;
		for (tok = strtok_r(copies + 1, ",}", &save); tok != NULL;
		    tok = strtok_r(NULL, ",}", &save)) {
			struct head *h = &hs[nh];
			const char *url = node_url(v, tok);
			char target[128], full[700], hd[64], hsg[128];
			struct bl_sign_hdrs sh;

			nc++;
			v->copies++;
			snprintf(h->what, sizeof(h->what), "%s %s/%s", tok,
			    owner, id);
			if (url == NULL) {
				problem(v, h->what, "node not in nodes table");
				continue;
			}
			if (nh >= n * 16)
				break;
			snprintf(target, sizeof(target), "/v1/objects/%s/%s",
			    owner, id);
			snprintf(full, sizeof(full), "%s%s", url, target);
			bl_sign_request(v->secret, v->slen, "HEAD", target,
			    NULL, 0, time(NULL), &sh);
			snprintf(hd, sizeof(hd), "%s: %s", BL_SIGN_HDR_DATE,
			    sh.date);
			snprintf(hsg, sizeof(hsg), "%s: %s", BL_SIGN_HDR_SIG,
			    sh.signature);
			h->hd = curl_slist_append(NULL, hd);
			h->hd = curl_slist_append(h->hd, hsg);
			snprintf(h->want, sizeof(h->want), "%s", md5);
			h->c = curl_easy_init();
			curl_easy_setopt(h->c, CURLOPT_URL, full);
			curl_easy_setopt(h->c, CURLOPT_NOBODY, 1L);
			curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, h->hd);
			curl_easy_setopt(h->c, CURLOPT_HEADERFUNCTION,
			    on_header);
			curl_easy_setopt(h->c, CURLOPT_HEADERDATA, h);
			curl_easy_setopt(h->c, CURLOPT_PRIVATE, h);
			curl_easy_setopt(h->c, CURLOPT_TIMEOUT, 60L);
			curl_easy_setopt(h->c, CURLOPT_NOSIGNAL, 1L);
			/* --cacert also verifies https agents */
			if (getenv("BALLAST_CACERT") != NULL)
				curl_easy_setopt(h->c, CURLOPT_CAINFO,
				    getenv("BALLAST_CACERT"));
			curl_multi_add_handle(m, h->c);
			nh++;
		}
		if (nc == 0)
			problem(v, id, "no copies listed");
		free(copies);
	}
	do {
		curl_multi_perform(m, &running);
		if (running)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	} while (running);
	while ((msg = curl_multi_info_read(m, &left)) != NULL) {
		struct head *h;
		long st = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&h);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
		    &st);
		if (msg->data.result != CURLE_OK)
			problem(v, h->what, curl_easy_strerror(
			    msg->data.result));
		else if (st != 200)
			problem(v, h->what, st == 404 ? "missing" :
			    "agent answered an error");
		else if (strcmp(h->md5, h->want) != 0)
			problem(v, h->what, "md5 differs from the metadata");
	}
	for (int i = 0; i < nh; i++) {
		curl_multi_remove_handle(m, hs[i].c);
		curl_easy_cleanup(hs[i].c);
		curl_slist_free_all(hs[i].hd);
	}
	free(hs);
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
	PGresult *r;
	CURLM *m;
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
	if ((r = bl_pg_exec(c, "SELECT id, agent_url FROM nodes", 0, NULL,
	    &err)) == NULL)
		goto dberr;
	v.nnodes = PQntuples(r);
	v.node_ids = calloc((size_t)v.nnodes + 1, sizeof(char *));
	v.node_urls = calloc((size_t)v.nnodes + 1, sizeof(char *));
	for (int i = 0; i < v.nnodes; i++) {
		v.node_ids[i] = strdup(PQgetvalue(r, i, 0));
		v.node_urls[i] = strdup(PQgetvalue(r, i, 1));
		while (strlen(v.node_urls[i]) > 0 && v.node_urls[i][strlen(
		    v.node_urls[i]) - 1] == '/')
			v.node_urls[i][strlen(v.node_urls[i]) - 1] = '\0';
	}
	PQclear(r);
	m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, 32L);
	if (bl_pg_run(c, "BEGIN ISOLATION LEVEL REPEATABLE READ", 0, NULL,
	    &err) == -1 || bl_pg_run(c, "DECLARE objs NO SCROLL CURSOR FOR "
	    "SELECT id, owner, md5, copies FROM objects ORDER BY id", 0, NULL,
	    &err) == -1) {
		curl_multi_cleanup(m);
		goto dberr;
	}
	for (;;) {
		if ((r = bl_pg_exec(c, "FETCH 2000 FROM objs", 0, NULL,
		    &err)) == NULL) {
			curl_multi_cleanup(m);
			goto dberr;
		}
		if (PQntuples(r) == 0) {
			PQclear(r);
			break;
		}
		check_page(&v, m, r);
		PQclear(r);
	}
	bl_pg_run(c, "COMMIT", 0, NULL, NULL);
	curl_multi_cleanup(m);
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
