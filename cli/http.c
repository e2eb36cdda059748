/* cli/http.c - ballastctl's blocking HTTP calls to ballastd (libcurl easy)
 * and the shared --server/--token-file handling. */
#include "cli/http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "lib/buf.h"
#include "lib/sign.h"

static size_t
on_body(char *d, size_t sz, size_t nm, void *arg)
{
	size_t n = sz * nm;

	return bl_buf_add(arg, d, n) == 0 ? n : 0;
}

int
cli_http_init(struct cli_http *h, const char *server, const char *token_file)
{
	memset(h, 0, sizeof(*h));
	if (server == NULL)
		server = getenv("BALLAST_SERVER");
	if (server == NULL)
		server = "http://127.0.0.1:8460";
	snprintf(h->server, sizeof(h->server), "%s", server);
	while (strlen(h->server) > 0 && h->server[strlen(h->server) - 1] ==
	    '/')
		h->server[strlen(h->server) - 1] = '\0';
	if (getenv("BALLAST_CACERT") != NULL) {
		const char *ca = getenv("BALLAST_CACERT");
		FILE *f = fopen(ca, "r");

		if (f == NULL) {
			fprintf(stderr, "ballastctl: --cacert %s: cannot "
			    "open\n", ca);
			return -1;
		}
		fclose(f);
		snprintf(h->cacert, sizeof(h->cacert), "%s", ca);
	}
	if (token_file == NULL)
		token_file = getenv("BALLAST_TOKEN_FILE");
	if (token_file != NULL) {
		FILE *f = fopen(token_file, "r");
		size_t n;

		if (f == NULL) {
			fprintf(stderr, "ballastctl: --token-file %s: cannot "
			    "open\n", token_file);
			return -1;
		}
		n = fread(h->token, 1, sizeof(h->token) - 1, f);
		fclose(f);
		while (n > 0 && isspace((unsigned char)h->token[n - 1]))
			n--;
		h->token[n] = '\0';
	}
	return 0;
}

static int	call_once(struct cli_http *, const char *, const char *,
		    const char *, size_t, const char *, json_t **,
		    struct bl_buf *);

int
cli_http_get_raw(struct cli_http *h, const char *target, char **body,
    size_t *len)
{
	struct bl_buf b = BL_BUF_INIT;
	json_t *err = NULL;
	int st = call_once(h, "GET", target, NULL, 0, NULL, &err, &b);

	json_decref(err);
	*body = b.p;
	*len = b.len;
	return st;
}

int
cli_http_call(struct cli_http *h, const char *method, const char *target,
    const char *body, size_t len, const char *ctype, json_t **out)
{
	int st = call_once(h, method, target, body, len, ctype, out, NULL);
	const char *code, *url;

	h->leader[0] = '\0';
	if (st != 503)
		return st;
	code = json_string_value(json_object_get(json_object_get(*out,
	    "error"), "code"));
	url = json_string_value(json_object_get(json_object_get(*out,
	    "error"), "leader_url"));
	if (code == NULL || strcmp(code, "not_leader") != 0 || url == NULL ||
	    (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8)
	    != 0) || strlen(url) >= sizeof(h->leader))
		return st;
	snprintf(h->leader, sizeof(h->leader), "%s", url);
	if (getenv("BALLAST_FOLLOW_LEADER") == NULL)
		return st;
	json_decref(*out);
	snprintf(h->server, sizeof(h->server), "%s", h->leader);
	while (strlen(h->server) > 0 && h->server[strlen(h->server) - 1] ==
	    '/')
		h->server[strlen(h->server) - 1] = '\0';
	h->leader[0] = '\0';
	return call_once(h, method, target, body, len, ctype, out, NULL);
}

static int
call_once(struct cli_http *h, const char *method, const char *target,
    const char *body, size_t len, const char *ctype, json_t **out,
    struct bl_buf *raw)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hd = NULL;
	struct bl_buf b = BL_BUF_INIT;
	char url[1200], auth[600], ct[128];
	long status = 0;
	CURLcode rc;

	*out = NULL;
	if (c == NULL)
		return -1;
	snprintf(url, sizeof(url), "%s%s", h->server, target);
	if (h->secret != NULL) {
		struct bl_sign_hdrs sh;

		bl_sign_request(h->secret, h->secret_len, method, target,
		    body, body ? len : 0, time(NULL), &sh);
		snprintf(auth, sizeof(auth), "%s: %s", BL_SIGN_HDR_DATE,
		    sh.date);
		hd = curl_slist_append(hd, auth);
		snprintf(auth, sizeof(auth), "%s: %s", BL_SIGN_HDR_SIG,
		    sh.signature);
		hd = curl_slist_append(hd, auth);
	} else if (h->token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    h->token);
		hd = curl_slist_append(hd, auth);
	}
	snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype :
	    "application/json");
	hd = curl_slist_append(hd, ct);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (h->cacert[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, h->cacert);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(h->error, sizeof(h->error), "%s: %s", url,
		    curl_easy_strerror(rc));
	curl_slist_free_all(hd);
	curl_easy_cleanup(c);
	/* A raw answer of 2xx goes to the caller as it came. */
	if (raw != NULL && rc == CURLE_OK && status < 300) {
		*raw = b;
		bl_buf_init(&b);
	} else if (b.p != NULL)
		*out = json_loadb(b.p, b.len, JSON_DECODE_ANY, NULL);
	bl_buf_release(&b);
	if (rc != CURLE_OK)
		return -1;
	if (status >= 400) {
		const char *m = json_string_value(json_object_get(
		    json_object_get(*out, "error"), "message"));

		snprintf(h->error, sizeof(h->error), "%ld: %s", status,
		    m ? m : "error");
	}
	return (int)status;
}

int
cli_http_exit(struct cli_http *h, int status)
{
	if (status < 0) {
		fprintf(stderr, "ballastctl: server unreachable: %s\n",
		    h->error);
		return CLI_UNREACHABLE;
	}
	if (status == 401 || status == 403) {
		fprintf(stderr, "ballastctl: refused: %s\n", h->error);
		return CLI_AUTH;
	}
	if (status == 503 && h->leader[0] != '\0') {
		fprintf(stderr, "ballastctl: %s is a follower; the leader is %s "
		    "(run again with --server %s, or add --follow-leader)\n",
		    h->server, h->leader, h->leader);
		return CLI_NOT_LEADER;
	}
	if (status >= 400) {
		fprintf(stderr, "ballastctl: %s\n", h->error);
		return status == 400 || status == 422 ? CLI_USAGE : CLI_FAILED;
	}
	return CLI_OK;
}

void
cli_print_json(json_t *j)
{
	/* 15 significant digits: a value written as 0.1 prints as 0.1, not
	 * as the 17 digits of the double nearest to it. */
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS |
	    JSON_REAL_PRECISION(15));

	if (s != NULL) {
		puts(s);
		free(s);
	}
}

int
cli_take_json(int *argc, char **argv)
{
	int o = 0, found = 0;

	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			found = 1;
		else
			argv[o++] = argv[i];
	}
	argv[o] = NULL;
	*argc = o;
	return found;
}
