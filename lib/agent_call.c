/* lib/agent_call.c - signed calls to many agents at once (see the header). */
#include "lib/agent_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/sign.h"

static void
call_done(struct bl_http_xfer *x, const struct bl_http_result *r, void *arg)
{
	struct bl_acall *c = arg;

	c->status = r->status;
	c->code = r->code;
	if (r->code != BL_OK)
		snprintf(c->error, sizeof(c->error), "%s", r->message ?
		    r->message : "no answer");
	if (c->want_header != NULL) {
		const char *v = bl_http_xfer_header(x, c->want_header);

		snprintf(c->header, sizeof(c->header), "%s", v ? v : "");
	}
	if (r->body != NULL && r->body_len > 0)
		c->json = json_loadb(r->body, r->body_len, 0, NULL);
	if (--*c->pending == 0)
		ev_break(c->loop, EVBREAK_ONE);
}

void
bl_acall_set(struct bl_acall *c, const char *method, const char *base,
    const char *target, char *body)
{
	size_t bl = strlen(base);

	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	memset(c, 0, sizeof(*c));
	c->method = method;
	snprintf(c->target, sizeof(c->target), "%s", target);
	snprintf(c->url, sizeof(c->url), "%.*s%s", (int)bl, base, target);
	c->body = body;
}

void
bl_acalls_run(struct ev_loop *loop, struct bl_http_client *http,
    const struct bl_acall_opts *o, struct bl_acall *c, size_t n)
{
	int pending = 0;

	for (size_t i = 0; i < n; i++) {
		const char *method = c[i].method ? c[i].method : "GET";
		struct bl_http_xfer_opts xo;
		struct bl_sign_hdrs sh;
		struct bl_err err;
		char hd[64], hs[128];
		const char *hdrs[4];
		size_t blen = c[i].body ? strlen(c[i].body) : 0;

		c[i].status = 0;
		c[i].json = NULL;
		c[i].pending = &pending;
		c[i].loop = loop;
		if (c[i].url[0] == '\0') {
			c[i].code = BL_EINVAL;
			continue;
		}
		bl_sign_request(o->secret, o->secret_len, method, c[i].target,
		    c[i].body, blen, time(NULL), &sh);
		snprintf(hd, sizeof(hd), "%s: %s", BL_SIGN_HDR_DATE, sh.date);
		snprintf(hs, sizeof(hs), "%s: %s", BL_SIGN_HDR_SIG,
		    sh.signature);
		hdrs[0] = hd;
		hdrs[1] = hs;
		hdrs[2] = "Content-Type: application/json";
		hdrs[3] = NULL;
		memset(&xo, 0, sizeof(xo));
		xo.method = method;
		xo.url = c[i].url;
		xo.headers = hdrs;
		xo.body = c[i].body;
		xo.body_len = blen;
		xo.connect_timeout_ms = o->connect_timeout_ms ?
		    o->connect_timeout_ms : 2000;
		xo.timeout_ms = o->timeout_ms ? o->timeout_ms : 10000;
		xo.max_body = o->max_body;
		xo.done_fn = call_done;
		xo.arg = &c[i];
		pending++;
		if (bl_http_xfer_start(http, &xo, &err) == NULL) {
			pending--;
			c[i].code = err.code ? err.code : BL_ENET;
		}
	}
	while (pending > 0)
		ev_run(loop, 0);
}

void
bl_acalls_release(struct bl_acall *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].body);
		json_decref(c[i].json);
		c[i].body = NULL;
		c[i].json = NULL;
	}
}
