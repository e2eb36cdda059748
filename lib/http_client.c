/* lib/http_client.c - libcurl multi driven by a libev loop. */
#include "lib/http_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "lib/buf.h"
#include "lib/log.h"

struct bl_http_client {
	ev_timer	 timer;		/* CURLMOPT_TIMERFUNCTION; first */
	ev_idle		 kick;		/* deferred socket_action after resume */
	struct ev_loop	*loop;		/* borrows */
	CURLM		*multi;		/* owns */
	struct bl_http_xfer *head;	/* borrows: list of live transfers */
	unsigned int	 active;
	int		 in_action;
	char		*ca_file;	/* owns */
	char		*cert_file;	/* owns */
	char		*key_file;	/* owns */
};

struct sockw {
	ev_io		 io;		/* first */
	struct bl_http_client *c;	/* borrows */
	curl_socket_t	 fd;
};

struct bl_http_xfer {
	struct bl_http_client	*c;	/* borrows */
	struct bl_http_xfer	*prev, *next;	/* borrows: c's list */
	CURL			*easy;	/* owns */
	struct curl_slist	*hdrs;	/* owns */
	char			*req_body;	/* owns */
	struct bl_buf		 body;	/* the collected body */
	size_t			 max;
	int			 aborted;
	int			 too_big;
	char			 errbuf[CURL_ERROR_SIZE];
	bl_http_data_fn		 data_fn;
	bl_http_done_fn		 done_fn;
	void			*arg;	/* borrows */
};

static void check_done(struct bl_http_client *c);

static void
xfer_free(struct bl_http_xfer *x)
{
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		x->c->head = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	curl_multi_remove_handle(x->c->multi, x->easy);
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);
	free(x->req_body);
	bl_buf_release(&x->body);
	x->c->active--;
	free(x);
}

static void
socket_action(struct bl_http_client *c, curl_socket_t fd, int ev)
{
	int running;

	c->in_action++;
	curl_multi_socket_action(c->multi, fd, ev, &running);
	c->in_action--;
	check_done(c);
}

static void
on_sock_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sockw *s = (struct sockw *)w;
	int ev = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
	    (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);

	socket_action(s->c, s->fd, ev);
}

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	socket_action((struct bl_http_client *)w, CURL_SOCKET_TIMEOUT, 0);
}

static void
on_kick(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct bl_http_client *c = (struct bl_http_client *)
	    ((char *)w - offsetof(struct bl_http_client, kick));

	ev_idle_stop(loop, w);
	socket_action(c, CURL_SOCKET_TIMEOUT, 0);
}

static int
on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct bl_http_client *c = userp;
	struct sockw *s = sockp;
	int ev;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			ev_io_stop(c->loop, &s->io);
			curl_multi_assign(c->multi, fd, NULL);
			free(s);
		}
		return 0;
	}
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -1;
		s->c = c;
		s->fd = fd;
		ev_init(&s->io, on_sock_io);
		curl_multi_assign(c->multi, fd, s);
	}
	ev = (what & CURL_POLL_IN ? EV_READ : 0) |
	    (what & CURL_POLL_OUT ? EV_WRITE : 0);
	ev_io_stop(c->loop, &s->io);
	ev_io_set(&s->io, fd, ev);
	ev_io_start(c->loop, &s->io);
	return 0;
}

static int
on_timerfn(CURLM *m, long ms, void *userp)
{
	struct bl_http_client *c = userp;

	ev_timer_stop(c->loop, &c->timer);
	if (ms >= 0) {
		ev_timer_set(&c->timer, (double)ms / 1000.0, 0.);
		ev_timer_start(c->loop, &c->timer);
	}
	return 0;
}

static void
check_done(struct bl_http_client *c)
{
	CURLMsg *m;
	int left;

	if (c->in_action > 1)
		return;
	while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
		struct bl_http_xfer *x;
		struct bl_http_result r;
		CURLcode cc;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
		    (char **)&x);
		cc = m->data.result;
		memset(&r, 0, sizeof(r));
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r.status);
		curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &r.seconds);
		r.message = x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc);
		switch (cc) {
		case CURLE_OK:
			r.code = BL_OK;
			break;
		case CURLE_OPERATION_TIMEDOUT:
			r.code = BL_ETIMEOUT;
			break;
		case CURLE_WRITE_ERROR:
			r.code = x->too_big ? BL_ETOOBIG : BL_EIO;
			break;
		case CURLE_URL_MALFORMAT:
		case CURLE_UNSUPPORTED_PROTOCOL:
			r.code = BL_EINVAL;
			break;
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
			/* The peer is not who it claims, or our own files
			 * are bad: not a transient network error. */
			r.code = BL_EAUTH;
			break;
		default:
			r.code = BL_ENET;
			break;
		}
		r.body = x->body.p;
		r.body_len = x->body.len;
		x->done_fn(x, &r, x->arg);
		xfer_free(x);
	}
}

const char *
bl_http_xfer_header(struct bl_http_xfer *x, const char *name)
{
	struct curl_header *h;

	if (curl_easy_header(x->easy, name, 0, CURLH_HEADER, -1, &h) !=
	    CURLHE_OK)
		return NULL;
	return h->value;
}

static size_t
on_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct bl_http_xfer *x = arg;
	size_t n = size * nmemb, rc;

	if (x->data_fn != NULL) {
		rc = x->data_fn(x, p, n, x->arg);
		if (rc == BL_HTTP_PAUSE)
			return CURL_WRITEFUNC_PAUSE;
		return rc;
	}
	if (x->body.len + n > x->max) {
		x->too_big = 1;
		return 0;
	}
	return bl_buf_add(&x->body, p, n) == 0 ? n : 0;
}

struct bl_http_client *
bl_http_client_new(struct ev_loop *loop, struct bl_err *err)
{
	struct bl_http_client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		bl_err_set(err, BL_ENOMEM, "http client: out of memory");
		return NULL;
	}
	c->loop = loop;
	if ((c->multi = curl_multi_init()) == NULL) {
		free(c);
		bl_err_set(err, BL_ENOMEM, "http client: curl_multi_init");
		return NULL;
	}
	ev_init(&c->timer, on_timer);
	ev_idle_init(&c->kick, on_kick);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timerfn);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	/* A bounded number of connections per agent, reused: a round of a
	 * thousand DELETEs to one agent used to open a thousand connections
	 * (one TCP handshake and one MHD accept each). Transfers past the
	 * bound wait inside curl for a free connection; their timeouts count
	 * from the start, so a hung agent costs no more than before. */
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)BL_HTTP_HOST_CONNS);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 256L);
	return c;
}

void
bl_http_client_free(struct bl_http_client *c)
{
	if (c == NULL)
		return;
	while (c->head != NULL)
		xfer_free(c->head);
	ev_timer_stop(c->loop, &c->timer);
	ev_idle_stop(c->loop, &c->kick);
	curl_multi_cleanup(c->multi);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c);
}

static int
dup_file(const char *what, const char *path, char **out, struct bl_err *err)
{
	if (path == NULL) {
		*out = NULL;
		return 0;
	}
	if (access(path, R_OK) == -1)
		return bl_err_set(err, BL_EINVAL, "tls %s file=%s: %s", what,
		    path, strerror(errno));
	if ((*out = strdup(path)) == NULL)
		return bl_err_set(err, BL_ENOMEM, "tls: out of memory");
	return 0;
}

int
bl_http_client_set_tls(struct bl_http_client *c, const struct bl_http_tls *t,
    struct bl_err *err)
{
	char *ca = NULL, *cert = NULL, *key = NULL;

	if (t->key_file != NULL && t->cert_file == NULL)
		return bl_err_set(err, BL_EINVAL, "tls: a key without a "
		    "certificate");
	if (dup_file("ca", t->ca_file, &ca, err) == -1 ||
	    dup_file("certificate", t->cert_file, &cert, err) == -1 ||
	    dup_file("key", t->key_file, &key, err) == -1) {
		free(ca);
		free(cert);
		return -1;
	}
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	c->ca_file = ca;
	c->cert_file = cert;
	c->key_file = key;
	return 0;
}

struct bl_http_xfer *
bl_http_xfer_start(struct bl_http_client *c, const struct bl_http_xfer_opts *o,
    struct bl_err *err)
{
	struct bl_http_xfer *x;
	const char *method = o->method ? o->method : "GET";

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		bl_err_set(err, BL_ENOMEM, "http client: out of memory");
		return NULL;
	}
	x->c = c;
	x->data_fn = o->data_fn;
	x->done_fn = o->done_fn;
	x->arg = o->arg;
	x->max = o->max_body ? o->max_body : 16u << 20;
	if ((x->easy = curl_easy_init()) == NULL) {
		free(x);
		bl_err_set(err, BL_ENOMEM, "http client: curl_easy_init");
		return NULL;
	}
	for (const char *const *h = o->headers; h && *h; h++) {
		struct curl_slist *n = curl_slist_append(x->hdrs, *h);

		if (n == NULL)
			goto nomem;
		x->hdrs = n;
	}
	/* No "Expect: 100-continue" round trip. */
	if (o->body != NULL) {
		struct curl_slist *n = curl_slist_append(x->hdrs, "Expect:");

		if (n == NULL)
			goto nomem;
		x->hdrs = n;
		if ((x->req_body = malloc(o->body_len + 1)) == NULL)
			goto nomem;
		memcpy(x->req_body, o->body, o->body_len);
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->req_body);
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)o->body_len);
	}
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(x->easy, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0 || o->body != NULL)
		curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(x->easy, CURLOPT_URL, o->url);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000L);
	if (o->timeout_ms > 0)
		curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	if (o->low_speed_time > 0) {
		curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_TIME,
		    o->low_speed_time);
	}
	/* https: verify the peer and its name, always. */
	curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(x->easy, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2);
	if (c->ca_file != NULL) {
		/* Only the cluster's CA, not the system's as well. */
		curl_easy_setopt(x->easy, CURLOPT_CAINFO, c->ca_file);
		curl_easy_setopt(x->easy, CURLOPT_CAPATH, NULL);
	}
	if (c->cert_file != NULL) {
		curl_easy_setopt(x->easy, CURLOPT_SSLCERT, c->cert_file);
		curl_easy_setopt(x->easy, CURLOPT_SSLKEY, c->key_file ?
		    c->key_file : c->cert_file);
	}
	if (o->follow) {
		curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(x->easy, CURLOPT_MAXREDIRS, 3L);
	}
	if (curl_multi_add_handle(c->multi, x->easy) != CURLM_OK) {
		bl_err_set(err, BL_EIO, "http client: cannot add transfer");
		curl_easy_cleanup(x->easy);
		curl_slist_free_all(x->hdrs);
		free(x->req_body);
		free(x);
		return NULL;
	}
	c->active++;
	x->next = c->head;
	if (c->head != NULL)
		c->head->prev = x;
	c->head = x;
	return x;
nomem:
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);
	free(x->req_body);
	free(x);
	bl_err_set(err, BL_ENOMEM, "http client: out of memory");
	return NULL;
}

void
bl_http_xfer_cancel(struct bl_http_xfer *x)
{
	if (x != NULL)
		xfer_free(x);
}

void
bl_http_xfer_resume(struct bl_http_xfer *x)
{
	curl_easy_pause(x->easy, CURLPAUSE_CONT);
	/* The unpaused transfer may now be done or need a nudge; let the
	 * loop drive it, never the caller's stack. */
	ev_idle_start(x->c->loop, &x->c->kick);
}

unsigned int
bl_http_client_active(const struct bl_http_client *c)
{
	return c->active;
}

long
bl_http_xfer_status(const struct bl_http_xfer *x)
{
	long status = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	return status;
}
