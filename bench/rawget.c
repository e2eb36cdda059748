/* bench/rawget.c - see rawget.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "lib/sign.h"
#include "bench/rawget.h"

struct xfer {
	CURL			*h;
	struct curl_slist	*hdrs;		/* owns */
	FILE			*out;		/* owns */
	EVP_MD_CTX		*md;		/* owns */
	const struct rawget_item *it;		/* borrows */
	long long		 bytes;
};

static size_t
on_body(char *p, size_t sz, size_t nm, void *arg)
{
	struct xfer *x = arg;
	size_t n = sz * nm;

	if (fwrite(p, 1, n, x->out) != n)
		return 0;
	EVP_DigestUpdate(x->md, p, n);
	x->bytes += (long long)n;
	return n;
}

static int
xfer_start(CURLM *m, struct xfer *x, const struct rawget_item *it,
    const char *secret, const char *outdir)
{
	struct bl_sign_hdrs sh;
	char target[128], url[256], hdr[128], path[1024];

	snprintf(target, sizeof(target), "/v1/objects/%s/%s", it->owner,
	    it->id);
	snprintf(url, sizeof(url), "%s%s", it->base_url, target);
	snprintf(path, sizeof(path), "%s/%s", outdir, it->id);
	if (bl_sign_request(secret, strlen(secret), "GET", target, NULL, 0,
	    time(NULL), &sh) != 0 || (x->out = fopen(path, "w")) == NULL)
		return -1;
	x->it = it;
	x->bytes = 0;
	x->md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(x->md, EVP_md5(), NULL);
	x->hdrs = NULL;
	snprintf(hdr, sizeof(hdr), "X-Ballast-Date: %s", sh.date);
	x->hdrs = curl_slist_append(x->hdrs, hdr);
	snprintf(hdr, sizeof(hdr), "X-Ballast-Signature: %s", sh.signature);
	x->hdrs = curl_slist_append(x->hdrs, hdr);
	curl_easy_setopt(x->h, CURLOPT_URL, url);
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	return curl_multi_add_handle(m, x->h) == CURLM_OK ? 0 : -1;
}

/* Closes x's file, checks status and MD5. 0 or -1. */
static int
xfer_finish(CURLM *m, struct xfer *x, CURLcode rc)
{
	unsigned char raw[EVP_MAX_MD_SIZE];
	char b64[32];
	unsigned int l = 0;
	long status = 0;
	int bad = 0;

	curl_multi_remove_handle(m, x->h);
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	EVP_DigestFinal_ex(x->md, raw, &l);
	EVP_MD_CTX_free(x->md);
	x->md = NULL;
	EVP_EncodeBlock((unsigned char *)b64, raw, (int)l);
	if (fclose(x->out) != 0)
		bad = 1;
	x->out = NULL;
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	if (rc != CURLE_OK || status != 200) {
		fprintf(stderr, "rawget: object id=%s: %s, status %ld\n",
		    x->it->id, curl_easy_strerror(rc), status);
		return -1;
	}
	if (x->it->md5 != NULL && strcmp(b64, x->it->md5) != 0) {
		fprintf(stderr, "rawget: object id=%s: md5 %s, want %s\n",
		    x->it->id, b64, x->it->md5);
		return -1;
	}
	return bad ? -1 : 0;
}

long long
rawget_run(const struct rawget_item *items, int n, int parallel,
    const char *secret, const char *outdir)
{
	struct xfer *xs = calloc((size_t)parallel, sizeof(*xs));
	struct xfer **idle = calloc((size_t)parallel, sizeof(*idle));
	CURLM *m = curl_multi_init();
	long long total = 0;
	int next = 0, nidle = parallel, running = 0, failed = 0;

	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)parallel);
	for (int i = 0; i < parallel; i++) {
		xs[i].h = curl_easy_init();
		idle[i] = &xs[i];
	}
	while (!failed && (next < n || running > 0)) {
		CURLMsg *msg;
		int q, still;

		while (nidle > 0 && next < n) {
			struct xfer *x = idle[--nidle];

			if (xfer_start(m, x, &items[next++], secret,
			    outdir) != 0) {
				fprintf(stderr, "rawget: cannot start a "
				    "transfer\n");
				failed = 1;
				break;
			}
			running++;
		}
		curl_multi_perform(m, &still);
		while ((msg = curl_multi_info_read(m, &q)) != NULL) {
			struct xfer *x;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			    (char **)&x);
			if (xfer_finish(m, x, msg->data.result) != 0)
				failed = 1;
			total += x->bytes;
			idle[nidle++] = x;
			running--;
		}
		if (running > 0)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	for (int i = 0; i < parallel; i++) {
		if (xs[i].out != NULL) {
			curl_multi_remove_handle(m, xs[i].h);
			fclose(xs[i].out);
			EVP_MD_CTX_free(xs[i].md);
			curl_slist_free_all(xs[i].hdrs);
		}
		curl_easy_cleanup(xs[i].h);
	}
	curl_multi_cleanup(m);
	free(xs);
	free(idle);
	return failed ? -1 : total;
}
