/* tests/integration/test_lib_http.c - lib/http_server and lib/http_client
 * on one libev loop, over loopback: sync and suspended handlers, raw paths,
 * body limits, streaming with pause and resume, redirects, a dead peer,
 * the bounded pool of connections to one host,
 * TLS with a CA the test makes, lib/workq completions, and sibling
 * servers on one port, each on its own loop and thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <ev.h>
#include <pthread.h>

#include "lib/http_client.h"
#include "lib/http_server.h"
#include "lib/workq.h"
#include "tests/helpers/th_pki.h"

struct fixture {
	struct ev_loop		*loop;
	struct bl_http_server	*srv;
	struct bl_http_client	*cli;
	char			 base[64];
	struct bl_http_req	*held;		/* a suspended request */
	int			 held_closed;
	ev_timer		 later;
	/* last client result */
	int			 done;
	int			 code;
	long			 status;
	char			 body[8192];
	size_t			 len;
	int			 paused_once;
	struct bl_http_xfer	*paused;
	/* /park: requests held until release */
	struct bl_http_req	*parked[128];
	int			 nparked;
	int			 release;
	int			 ndone, nok;
};

static struct fixture fx;

static void
on_held_close(struct bl_http_req *r, void *arg)
{
	struct fixture *f = arg;

	f->held = NULL;
	f->held_closed = 1;
}

static void
answer_later(struct ev_loop *loop, ev_timer *w, int revents)
{
	if (fx.held != NULL) {
		bl_http_respond(fx.held, 200, "text/plain", "later", 5);
		fx.held = NULL;
	}
}

static void
handler(struct bl_http_req *r, void *arg)
{
	struct fixture *f = arg;
	const char *path = bl_http_req_path(r);
	char buf[9000];
	size_t len;

	if (strcmp(path, "/echo") == 0) {
		const char *b = bl_http_req_body(r, &len);

		bl_http_respond(r, 200, "text/plain", b, len);
	} else if (strcmp(path, "/big") == 0) {
		memset(buf, 'x', sizeof(buf));
		bl_http_respond(r, 200, "text/plain", buf, 8000);
	} else if (strcmp(path, "/later") == 0) {
		bl_http_req_suspend(r);
		bl_http_req_on_close(r, on_held_close, f);
		f->held = r;
		ev_timer_set(&f->later, 0.05, 0.);
		ev_timer_start(f->loop, &f->later);
	} else if (strcmp(path, "/hold") == 0) {
		bl_http_req_suspend(r);
		bl_http_req_on_close(r, on_held_close, f);
		f->held = r;
	} else if (strcmp(path, "/redirect") == 0) {
		snprintf(buf, sizeof(buf), "%s/echo", f->base);
		bl_http_req_add_header(r, "Location", buf);
		bl_http_respond_error(r, 307, "moved", "see %s", buf);
	} else if (strcmp(path, "/park") == 0) {
		if (f->release || f->nparked == 128) {
			bl_http_respond(r, 200, "text/plain", "ok", 2);
			return;
		}
		bl_http_req_suspend(r);
		f->parked[f->nparked++] = r;
	} else if (strcmp(path, "/nothing") == 0) {
		/* no response: the wrapper must answer 500 */
	} else {
		snprintf(buf, sizeof(buf), "%s", path);
		bl_http_respond_error(r, 404, "not_found", "%s", buf);
	}
}

static void
on_done(struct bl_http_xfer *x, const struct bl_http_result *r, void *arg)
{
	struct fixture *f = arg;

	f->done = 1;
	f->code = r->code;
	f->status = r->status;
	if (r->body != NULL) {
		f->len = r->body_len < sizeof(f->body) - 1 ? r->body_len :
		    sizeof(f->body) - 1;
		memcpy(f->body, r->body, f->len);
		f->body[f->len] = '\0';
	}
	ev_break(f->loop, EVBREAK_ONE);
}

static void
resume_later(struct ev_loop *loop, ev_timer *w, int revents)
{
	if (fx.paused != NULL)
		bl_http_xfer_resume(fx.paused);
}

static size_t
on_data(struct bl_http_xfer *x, const char *p, size_t n, void *arg)
{
	struct fixture *f = arg;

	if (!f->paused_once) {
		f->paused_once = 1;
		f->paused = x;
		ev_timer_set(&f->later, 0.05, 0.);
		ev_timer_start(f->loop, &f->later);
		return BL_HTTP_PAUSE;
	}
	if (f->len + n > sizeof(f->body))
		return 0;
	memcpy(f->body + f->len, p, n);
	f->len += n;
	return n;
}

static void
fetch(const char *method, const char *target, const char *body, int follow,
    bl_http_data_fn data)
{
	struct bl_http_xfer_opts o;
	char url[256];

	snprintf(url, sizeof(url), "%s%s", fx.base, target);
	memset(&o, 0, sizeof(o));
	o.method = method;
	o.url = url;
	o.body = body;
	o.body_len = body ? strlen(body) : 0;
	o.follow = follow;
	o.data_fn = data;
	o.done_fn = on_done;
	o.arg = &fx;
	fx.done = 0;
	fx.len = 0;
	fx.body[0] = '\0';
	assert_non_null(bl_http_xfer_start(fx.cli, &o, NULL));
	/* done_fn never runs inside start. */
	assert_int_equal(fx.done, 0);
	ev_run(fx.loop, 0);
	assert_int_equal(fx.done, 1);
}

static void
on_park_done(struct bl_http_xfer *x, const struct bl_http_result *r,
    void *arg)
{
	struct fixture *f = arg;

	f->ndone++;
	if (r->code == BL_OK && r->status == 200)
		f->nok++;
	if (f->ndone == 100)
		ev_break(f->loop, EVBREAK_ONE);
}

static void
on_park_wait(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ONE);
}

static int
setup(void **state)
{
	struct bl_http_server_opts so;
	struct bl_err err;

	memset(&fx, 0, sizeof(fx));
	fx.loop = ev_loop_new(EVFLAG_AUTO);
	memset(&so, 0, sizeof(so));
	so.listen = "127.0.0.1:0";
	so.max_body = 1024;
	so.conn_limit = 64;
	so.conn_timeout = 10;
	so.handler = handler;
	so.arg = &fx;
	if ((fx.srv = bl_http_server_new(fx.loop, &so, &err)) == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	snprintf(fx.base, sizeof(fx.base), "http://127.0.0.1:%d",
	    bl_http_server_port(fx.srv));
	if ((fx.cli = bl_http_client_new(fx.loop, &err)) == NULL)
		return -1;
	ev_init(&fx.later, answer_later);
	return 0;
}

static int
teardown(void **state)
{
	bl_http_client_free(fx.cli);
	bl_http_server_free(fx.srv);
	ev_loop_destroy(fx.loop);
	return 0;
}

static void
test_lib_http__one_host_gets_a_bounded_pool_of_reused_connections(
    void **state)
{
	struct bl_http_xfer_opts o;
	char url[256];
	ev_timer wait;
	int held, early;

	/* 100 requests at once to one host: only BL_HTTP_HOST_CONNS reach
	 * the server (whose own limit is 64); the rest wait in the client
	 * and all finish once the first ones are answered. */
	snprintf(url, sizeof(url), "%s/park", fx.base);
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.timeout_ms = 20000;
	o.done_fn = on_park_done;
	o.arg = &fx;
	for (int i = 0; i < 100; i++)
		assert_non_null(bl_http_xfer_start(fx.cli, &o, NULL));
	assert_int_equal(bl_http_client_active(fx.cli), 100);
	ev_timer_init(&wait, on_park_wait, 0.5, 0.);
	ev_timer_start(fx.loop, &wait);
	ev_run(fx.loop, 0);
	held = fx.nparked;
	early = fx.ndone;
	/* Answer before asserting, so that a failure leaves nothing held
	 * for the tests after this one. */
	fx.release = 1;
	for (int i = 0; i < fx.nparked; i++)
		bl_http_respond(fx.parked[i], 200, "text/plain", "ok", 2);
	ev_run(fx.loop, 0);
	ev_timer_stop(fx.loop, &wait);
	assert_int_equal(held, BL_HTTP_HOST_CONNS);
	assert_int_equal(early, 0);
	assert_int_equal(fx.ndone, 100);
	assert_int_equal(fx.nok, 100);
	assert_int_equal(bl_http_client_active(fx.cli), 0);
}

static void
test_lib_http__echo_round_trip_and_port_zero(void **state)
{
	assert_true(bl_http_server_port(fx.srv) > 0);
	fetch("POST", "/echo", "hello body", 0, NULL);
	assert_int_equal(fx.code, BL_OK);
	assert_int_equal(fx.status, 200);
	assert_string_equal(fx.body, "hello body");
}

static void
test_lib_http__paths_are_raw_not_decoded(void **state)
{
	fetch("GET", "/a%2fb/..%2F", NULL, 0, NULL);
	assert_int_equal(fx.status, 404);
	assert_non_null(strstr(fx.body, "/a%2fb/..%2F"));
	assert_non_null(strstr(fx.body, "\"code\":\"not_found\""));
}

static void
test_lib_http__oversized_body_is_413_without_the_handler(void **state)
{
	char big[2048];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fetch("POST", "/echo", big, 0, NULL);
	assert_int_equal(fx.status, 413);
	assert_non_null(strstr(fx.body, "too_large"));
}

static void
test_lib_http__handler_without_response_gets_500(void **state)
{
	fetch("GET", "/nothing", NULL, 0, NULL);
	assert_int_equal(fx.status, 500);
}

static void
test_lib_http__suspended_request_is_answered_later(void **state)
{
	ev_set_cb(&fx.later, answer_later);
	fetch("GET", "/later", NULL, 0, NULL);
	assert_int_equal(fx.status, 200);
	assert_string_equal(fx.body, "later");
	assert_null(fx.held);
}

static void
test_lib_http__paused_stream_resumes_with_every_byte(void **state)
{
	ev_set_cb(&fx.later, resume_later);
	fx.paused_once = 0;
	fetch("GET", "/big", NULL, 0, on_data);
	assert_int_equal(fx.code, BL_OK);
	assert_int_equal(fx.status, 200);
	assert_int_equal(fx.len, 8000);
	for (size_t i = 0; i < 8000; i++)
		assert_int_equal(fx.body[i], 'x');
	fx.paused = NULL;
}

static void
test_lib_http__redirects_are_followed_when_asked(void **state)
{
	fetch("GET", "/redirect", NULL, 0, NULL);
	assert_int_equal(fx.status, 307);
	fetch("POST", "/redirect", "x", 1, NULL);
	assert_int_equal(fx.status, 200);
}

static void
test_lib_http__dead_peer_is_a_network_error(void **state)
{
	struct bl_http_server_opts so;
	struct bl_http_server *tmp;
	struct bl_http_xfer_opts o;
	char url[128];

	memset(&so, 0, sizeof(so));
	so.listen = "127.0.0.1:0";
	so.max_body = 1;
	so.conn_limit = 1;
	so.conn_timeout = 1;
	so.handler = handler;
	tmp = bl_http_server_new(fx.loop, &so, NULL);
	assert_non_null(tmp);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x",
	    bl_http_server_port(tmp));
	bl_http_server_free(tmp);
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.done_fn = on_done;
	o.arg = &fx;
	fx.done = 0;
	assert_non_null(bl_http_xfer_start(fx.cli, &o, NULL));
	ev_run(fx.loop, 0);
	assert_int_equal(fx.code, BL_ENET);
	assert_int_equal(fx.status, 0);
}

static void
test_lib_http__freeing_the_server_closes_suspended_requests(void **state)
{
	struct bl_http_server_opts so;
	struct bl_http_server *s2;
	struct bl_http_xfer_opts o;
	struct bl_http_xfer *x;
	char url[128];

	memset(&so, 0, sizeof(so));
	so.listen = "127.0.0.1:0";
	so.max_body = 64;
	so.conn_limit = 4;
	so.conn_timeout = 5;
	so.handler = handler;
	so.arg = &fx;
	s2 = bl_http_server_new(fx.loop, &so, NULL);
	assert_non_null(s2);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hold",
	    bl_http_server_port(s2));
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.done_fn = on_done;
	o.arg = &fx;
	fx.done = 0;
	fx.held = NULL;
	fx.held_closed = 0;
	x = bl_http_xfer_start(fx.cli, &o, NULL);
	assert_non_null(x);
	for (int i = 0; i < 2000 && fx.held == NULL; i++)
		ev_run(fx.loop, EVRUN_ONCE);
	assert_non_null(fx.held);
	bl_http_server_free(s2);
	assert_int_equal(fx.held_closed, 1);
	assert_null(fx.held);
	bl_http_xfer_cancel(x);
}

static void
slow_job(void *arg)
{
	int *v = arg;

	*v *= 2;
}

static int jobs_done;

static void
job_done(void *arg)
{
	if (++jobs_done == 16)
		ev_break(fx.loop, EVBREAK_ONE);
}

static void
test_lib_http__workq_runs_jobs_and_reports_on_the_loop(void **state)
{
	struct bl_workq *q = bl_workq_new(fx.loop, 4, NULL);
	int vals[16];

	assert_non_null(q);
	jobs_done = 0;
	for (int i = 0; i < 16; i++) {
		vals[i] = i;
		assert_int_equal(bl_workq_submit(q, slow_job, job_done,
		    &vals[i]), 0);
	}
	ev_run(fx.loop, 0);
	assert_int_equal(jobs_done, 16);
	for (int i = 0; i < 16; i++)
		assert_int_equal(vals[i], 2 * i);
	assert_int_equal(bl_workq_pending(q), 0);
	bl_workq_free(q);
}

static void
test_lib_http__tls_round_trip_and_unverified_peer_refused(void **state)
{
	char dir[] = "/tmp/ballast-tls-XXXXXX", cmd[160], plain[64];
	struct th_pki pki;
	struct bl_http_server_opts so;
	struct bl_http_server *tls;
	struct bl_http_client *trusting;
	struct bl_http_tls t = { NULL, NULL, NULL };
	struct bl_err err;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(th_pki_make(&pki, dir), 0);
	memset(&so, 0, sizeof(so));
	so.listen = "127.0.0.1:0";
	so.max_body = 1024;
	so.conn_limit = 8;
	so.conn_timeout = 10;
	so.handler = handler;
	so.arg = &fx;
	so.tls_cert_file = pki.cert;
	so.tls_key_file = pki.key;
	tls = bl_http_server_new(fx.loop, &so, &err);
	assert_non_null(tls);
	assert_true(bl_http_server_tls(tls));
	assert_false(bl_http_server_tls(fx.srv));
	trusting = bl_http_client_new(fx.loop, &err);
	assert_non_null(trusting);
	t.ca_file = pki.ca;
	assert_int_equal(bl_http_client_set_tls(trusting, &t, &err), 0);
	memcpy(plain, fx.base, sizeof(plain));
	snprintf(fx.base, sizeof(fx.base), "https://127.0.0.1:%d",
	    bl_http_server_port(tls));
	/* The fixture's client trusts only the system's CAs. */
	fetch("POST", "/echo", "over tls", 0, NULL);
	assert_int_equal(fx.code, BL_EAUTH);
	assert_int_equal(fx.status, 0);
	{
		struct bl_http_client *keep = fx.cli;

		fx.cli = trusting;
		fetch("POST", "/echo", "over tls", 0, NULL);
		fx.cli = keep;
	}
	assert_int_equal(fx.code, BL_OK);
	assert_int_equal(fx.status, 200);
	assert_string_equal(fx.body, "over tls");
	memcpy(fx.base, plain, sizeof(plain));
	bl_http_client_free(trusting);
	bl_http_server_free(tls);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void
test_lib_http__tls_options_are_checked(void **state)
{
	struct bl_http_server_opts so;
	struct bl_http_tls t = { NULL, NULL, NULL };
	struct bl_err err;

	memset(&so, 0, sizeof(so));
	so.listen = "127.0.0.1:0";
	so.max_body = 1024;
	so.conn_limit = 8;
	so.conn_timeout = 10;
	so.handler = handler;
	so.tls_cert_file = "/nonexistent/cert.pem";
	assert_null(bl_http_server_new(fx.loop, &so, &err));
	assert_non_null(strstr(err.msg, "both"));
	so.tls_key_file = "/nonexistent/key.pem";
	assert_null(bl_http_server_new(fx.loop, &so, &err));
	assert_non_null(strstr(err.msg, "/nonexistent/cert.pem"));
	so.tls_cert_file = so.tls_key_file = "/dev/null";
	assert_null(bl_http_server_new(fx.loop, &so, &err));
	assert_non_null(strstr(err.msg, "not PEM"));
	t.key_file = "/dev/null";
	assert_int_equal(bl_http_client_set_tls(fx.cli, &t, &err), -1);
	t.key_file = NULL;
	t.ca_file = "/nonexistent/ca.pem";
	assert_int_equal(bl_http_client_set_tls(fx.cli, &t, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/ca.pem"));
	t.ca_file = NULL;
	assert_int_equal(bl_http_client_set_tls(fx.cli, &t, &err), 0);
}

/* --- siblings: one address, several loops ------------------------------ */

struct sib {
	struct ev_loop		*loop;
	struct bl_http_server	*srv;
	ev_async		 stop;
	pthread_t		 th;
	int			 hits;	/* this loop's thread only */
};

static void
sib_handler(struct bl_http_req *r, void *arg)
{
	struct sib *s = arg;

	s->hits++;
	bl_http_respond(r, 200, "text/plain", "ok", 2);
}

static void
sib_stop(struct ev_loop *loop, ev_async *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static void *
sib_main(void *arg)
{
	struct sib *s = arg;

	ev_run(s->loop, 0);
	return NULL;
}

static size_t
sink(char *p, size_t size, size_t n, void *arg)
{
	return size * n;
}

static void
test_lib_http__siblings_share_a_port_and_a_second_daemon_is_refused(
    void **state)
{
	struct bl_http_server_opts so;
	struct sib s[2];
	struct bl_err err;
	char url[64], listen[64];
	CURL *h;

	memset(s, 0, sizeof(s));
	memset(&so, 0, sizeof(so));
	so.listen = "127.0.0.1:0";
	so.max_body = 1024;
	so.conn_limit = 64;
	so.conn_timeout = 10;
	so.handler = sib_handler;
	so.arg = &s[0];
	so.reuse_port = 1;
	for (int i = 0; i < 2; i++) {
		s[i].loop = ev_loop_new(EVFLAG_AUTO);
		assert_non_null(s[i].loop);
		s[i].srv = i == 0 ? bl_http_server_new(s[0].loop, &so, &err) :
		    bl_http_server_new_sibling(s[1].loop, s[0].srv, &s[1], &err);
		assert_non_null(s[i].srv);
		ev_async_init(&s[i].stop, sib_stop);
		ev_async_start(s[i].loop, &s[i].stop);
	}
	assert_int_equal(bl_http_server_port(s[1].srv),
	    bl_http_server_port(s[0].srv));
	/* A server without reuse_port cannot have siblings. */
	assert_null(bl_http_server_new_sibling(s[1].loop, fx.srv, &s[1],
	    &err));
	/* Another daemon on the taken port is refused, with or without
	 * reuse_port: SO_REUSEPORT must not let it share the port. */
	snprintf(listen, sizeof(listen), "127.0.0.1:%d",
	    bl_http_server_port(s[0].srv));
	so.listen = listen;
	assert_null(bl_http_server_new(fx.loop, &so, &err));
	assert_non_null(strstr(err.msg, "in use"));
	so.reuse_port = 0;
	assert_null(bl_http_server_new(fx.loop, &so, &err));
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&s[i].th, NULL, sib_main,
		    &s[i]), 0);
	/* Each request on a new connection: the kernel spreads them. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x",
	    bl_http_server_port(s[0].srv));
	for (int i = 0; i < 64; i++) {
		long status = 0;

		h = curl_easy_init();
		assert_non_null(h);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
		curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
		assert_int_equal(curl_easy_perform(h), CURLE_OK);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		assert_int_equal(status, 200);
		curl_easy_cleanup(h);
	}
	for (int i = 0; i < 2; i++) {
		ev_async_send(s[i].loop, &s[i].stop);
		pthread_join(s[i].th, NULL);
	}
	assert_int_equal(s[0].hits + s[1].hits, 64);
	assert_true(s[0].hits > 0);
	assert_true(s[1].hits > 0);
	for (int i = 1; i >= 0; i--) {
		bl_http_server_free(s[i].srv);
		ev_async_stop(s[i].loop, &s[i].stop);
		ev_loop_destroy(s[i].loop);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lib_http__echo_round_trip_and_port_zero),
		cmocka_unit_test(
		    test_lib_http__one_host_gets_a_bounded_pool_of_reused_connections),
		cmocka_unit_test(test_lib_http__paths_are_raw_not_decoded),
		cmocka_unit_test(
		    test_lib_http__oversized_body_is_413_without_the_handler),
		cmocka_unit_test(
		    test_lib_http__handler_without_response_gets_500),
		cmocka_unit_test(
		    test_lib_http__suspended_request_is_answered_later),
		cmocka_unit_test(
		    test_lib_http__paused_stream_resumes_with_every_byte),
		cmocka_unit_test(
		    test_lib_http__redirects_are_followed_when_asked),
		cmocka_unit_test(test_lib_http__dead_peer_is_a_network_error),
		cmocka_unit_test(
		    test_lib_http__freeing_the_server_closes_suspended_requests),
		cmocka_unit_test(
		    test_lib_http__workq_runs_jobs_and_reports_on_the_loop),
		cmocka_unit_test(
		    test_lib_http__tls_round_trip_and_unverified_peer_refused),
		cmocka_unit_test(test_lib_http__tls_options_are_checked),
		cmocka_unit_test(
		    test_lib_http__siblings_share_a_port_and_a_second_daemon_is_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
