/* lib/http_server.c - libmicrohttpd driven by a libev loop. */
#include "lib/http_server.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "lib/buf.h"
#include "lib/log.h"

/* Bytes over max_body read and dropped before a 413 (see on_access). */
#define HTTP_DRAIN_MAX	(16u * 1024 * 1024)

struct bl_http_server {
	ev_io			 io;		/* MHD's epoll fd; first */
	ev_timer		 timer;		/* MHD_get_timeout */
	struct ev_loop		*loop;		/* borrows */
	struct MHD_Daemon	*mhd;		/* owns */
	struct bl_http_server_opts opts;	/* borrowed strings: only
						 * during bl_http_server_new */
	char			*tls_cert;	/* owns: PEM, for MHD */
	char			*tls_key;	/* owns: PEM, wiped on free */
	size_t			 tls_key_len;
	char			 listen[320];	/* as configured, for errors */
	struct sockaddr_storage	 ss;		/* bound (with the port) */
	socklen_t		 sslen;
	int			 port;
	int			 running;	/* inside MHD_run */
	int			 closing;	/* in bl_http_server_free */
	struct bl_http_req	*suspended;	/* borrows: list */
};

struct hdr {
	struct hdr	*next;			/* owns */
	char		*name, *value;		/* owns */
};

struct bl_http_req {
	struct bl_http_server	*srv;		/* borrows */
	struct MHD_Connection	*conn;		/* borrows */
	char			*target;	/* owns: raw target */
	char			*path;		/* owns: target before '?' */
	const char		*method;	/* borrows: MHD's */
	struct bl_buf		 body;		/* the request's body */
	struct hdr		*hdrs;		/* owns: response headers */
	int			 started;	/* headers seen */
	int			 too_big;
	int			 responded;
	int			 suspended;
	struct MHD_Response	*pending;	/* owns: answer after resume */
	unsigned int		 pending_status;
	bl_http_close_fn	 close_fn;
	void			*close_arg;	/* borrows */
	struct bl_http_req	*sprev, *snext;	/* borrows: srv->suspended */
	double			 t0;		/* monotonic, request line */
};

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
observe(struct bl_http_req *r, unsigned int status)
{
	if (r->srv->opts.observe != NULL)
		r->srv->opts.observe(r, status, mono_now() - r->t0,
		    r->srv->opts.observe_arg);
}

static void
susp_unlink(struct bl_http_req *r)
{
	if (r->sprev != NULL)
		r->sprev->snext = r->snext;
	else if (r->srv->suspended == r)
		r->srv->suspended = r->snext;
	if (r->snext != NULL)
		r->snext->sprev = r->sprev;
	r->sprev = r->snext = NULL;
}

static void srv_arm(struct bl_http_server *s);
static void srv_kick(struct bl_http_server *s);

static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct bl_http_req *r;
	const char *q;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->srv = cls;
	r->conn = conn;
	r->t0 = mono_now();
	r->target = strdup(uri ? uri : "");
	q = strchr(uri ? uri : "", '?');
	r->path = q ? strndup(uri, (size_t)(q - uri)) : strdup(uri ? uri : "");
	if (r->target == NULL || r->path == NULL) {
		free(r->target);
		free(r->path);
		free(r);
		return NULL;
	}
	return r;
}

static void
req_free(struct bl_http_req *r)
{
	struct hdr *h, *n;

	if (r == NULL)
		return;
	if (r->suspended) {
		susp_unlink(r);
		if (r->close_fn != NULL)
			r->close_fn(r, r->close_arg);
	}
	if (r->pending != NULL)
		MHD_destroy_response(r->pending);
	for (h = r->hdrs; h != NULL; h = n) {
		n = h->next;
		free(h->name);
		free(h->value);
		free(h);
	}
	free(r->target);
	free(r->path);
	bl_buf_release(&r->body);
	free(r);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	req_free(*con_cls);
	*con_cls = NULL;
}

/* Keeps the raw path: percent-escapes are the application's to judge. */
static size_t
on_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	return strlen(s);
}

static int
queue(struct bl_http_req *r, unsigned int status, struct MHD_Response *resp)
{
	struct hdr *h;
	enum MHD_Result rc;

	if (resp == NULL)
		return -1;
	for (h = r->hdrs; h != NULL; h = h->next)
		MHD_add_response_header(resp, h->name, h->value);
	if (r->suspended) {
		/* Answered later, from the loop: MHD queues it when it calls
		 * on_access again after the resume. */
		r->pending = resp;
		r->pending_status = status;
		r->suspended = 0;
		susp_unlink(r);
		r->responded = 1;
		MHD_resume_connection(r->conn);
		srv_kick(r->srv);
		observe(r, status);
		return 0;
	}
	rc = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	if (rc != MHD_YES)
		return -1;
	r->responded = 1;
	observe(r, status);
	return 0;
}

int
bl_http_respond(struct bl_http_req *r, unsigned int status,
    const char *content_type, const void *body, size_t len)
{
	struct MHD_Response *resp;

	if (r->responded)
		return -1;
	resp = MHD_create_response_from_buffer(len, (void *)body,
	    MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return -1;
	if (content_type != NULL)
		MHD_add_response_header(resp, "Content-Type", content_type);
	return queue(r, status, resp);
}

int
bl_http_respond_json_take(struct bl_http_req *r, unsigned int status,
    json_t *json)
{
	char *s;
	int rc;

	if (json == NULL)
		return -1;
	/* ENCODE_ANY: Manta's POST /jobs answers with a bare string. */
	s = json_dumps(json, JSON_COMPACT | JSON_ENSURE_ASCII |
	    JSON_ENCODE_ANY);
	json_decref(json);
	if (s == NULL)
		return -1;
	rc = bl_http_respond(r, status, "application/json", s, strlen(s));
	free(s);
	return rc;
}

int
bl_http_respond_error(struct bl_http_req *r, unsigned int status,
    const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return bl_http_respond_json_take(r, status, json_pack(
	    "{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

int
bl_http_respond_fd_take(struct bl_http_req *r, unsigned int status, int fd,
    uint64_t off, uint64_t len)
{
	struct MHD_Response *resp;

	if (r->responded) {
		close(fd);
		return -1;
	}
	resp = MHD_create_response_from_fd_at_offset64(len, fd, off);
	if (resp == NULL) {
		close(fd);
		return -1;
	}
	return queue(r, status, resp);
}

int
bl_http_req_add_header(struct bl_http_req *r, const char *name,
    const char *value)
{
	struct hdr *h, **tail;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -1;
	h->name = strdup(name);
	h->value = strdup(value);
	if (h->name == NULL || h->value == NULL) {
		free(h->name);
		free(h->value);
		free(h);
		return -1;
	}
	for (tail = &r->hdrs; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = h;
	return 0;
}

const char *
bl_http_req_method(const struct bl_http_req *r)
{
	return r->method;
}

const char *
bl_http_req_path(const struct bl_http_req *r)
{
	return r->path;
}

const char *
bl_http_req_target(const struct bl_http_req *r)
{
	return r->target;
}

int
bl_http_req_query(const struct bl_http_req *r, const char *key, char *out,
    size_t len)
{
	const char *q = strchr(r->target, '?');
	size_t kl = strlen(key);

	if (q == NULL)
		return 0;
	q++;
	while (*q) {
		const char *amp = strchr(q, '&');
		size_t l = amp ? (size_t)(amp - q) : strlen(q);

		if (l > kl && strncmp(q, key, kl) == 0 && q[kl] == '=') {
			if (l - kl - 1 >= len)
				return -1;
			memcpy(out, q + kl + 1, l - kl - 1);
			out[l - kl - 1] = '\0';
			return 1;
		}
		q += l;
		if (*q == '&')
			q++;
	}
	return 0;
}

const char *
bl_http_req_header(const struct bl_http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
bl_http_req_body(const struct bl_http_req *r, size_t *len)
{
	*len = r->body.len;
	return r->body.p ? r->body.p : "";
}

int
bl_http_req_is_head(const struct bl_http_req *r)
{
	return strcmp(r->method, "HEAD") == 0;
}

int
bl_http_req_responded(const struct bl_http_req *r)
{
	return r->responded;
}

static int
body_append(struct bl_http_req *r, const char *data, size_t n)
{
	size_t max = r->srv->opts.max_body;

	if (r->too_big || r->body.len + n > max) {
		r->too_big = 1;
		return 0;
	}
	return bl_buf_add(&r->body, data, n);
}

static enum MHD_Result
on_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct bl_http_server *s = cls;
	struct bl_http_req *r = *con_cls;

	if (r == NULL)
		return MHD_NO;
	if (!r->started) {
		unsigned long long len;
		const char *cl;

		r->started = 1;
		r->method = method;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		/* A body up to HTTP_DRAIN_MAX over the limit is read and
		 * dropped, then answered 413 (below): answered at once, the
		 * connection closed on unread bytes and the client often got
		 * a reset instead of the answer. A larger one is answered at
		 * once, and its sender may see the reset. */
		len = cl != NULL ? strtoull(cl, NULL, 10) : 0;
		if (len > s->opts.max_body)
			r->too_big = 1;
		if (len > s->opts.max_body + HTTP_DRAIN_MAX) {
			bl_http_respond_error(r, 413, "too_large",
			    "body of %s bytes is over the limit of %zu", cl,
			    s->opts.max_body);
			return r->responded ? MHD_YES : MHD_NO;
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		if (!r->responded && body_append(r, upload_data,
		    *upload_data_size) == -1)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (s->closing && r->pending == NULL)
		return MHD_NO;		/* no new work while the server stops */
	if (r->pending != NULL) {
		enum MHD_Result rc;

		rc = MHD_queue_response(conn, r->pending_status, r->pending);
		MHD_destroy_response(r->pending);
		r->pending = NULL;
		return rc;
	}
	if (r->responded || r->suspended)
		return MHD_YES;
	if (r->too_big) {
		bl_http_respond_error(r, 413, "too_large",
		    "body is over the limit of %zu bytes", s->opts.max_body);
		return r->responded ? MHD_YES : MHD_NO;
	}
	s->opts.handler(r, s->opts.arg);
	if (r->suspended)
		return MHD_YES;
	if (!r->responded) {
		log_warnx("http: %s %s: handler sent no response", method,
		    r->path);
		bl_http_respond_error(r, 500, "internal", "no response");
	}
	return r->responded ? MHD_YES : MHD_NO;
}

/* MHD hands us its own format string. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_debug("http: mhd: %s", line);
}

static void
srv_run(struct bl_http_server *s)
{
	if (s->running)
		return;
	s->running = 1;
	MHD_run(s->mhd);
	s->running = 0;
	srv_arm(s);
}

static void
srv_arm(struct bl_http_server *s)
{
	MHD_UNSIGNED_LONG_LONG ms;

	ev_timer_stop(s->loop, &s->timer);
	if (MHD_get_timeout(s->mhd, &ms) == MHD_YES) {
		ev_timer_set(&s->timer, (double)ms / 1000.0, 0.);
		ev_timer_start(s->loop, &s->timer);
	}
}

/* MHD has work to do outside of its fds (a resumed connection): run it
 * from the loop soon. */
static void
srv_kick(struct bl_http_server *s)
{
	ev_timer_stop(s->loop, &s->timer);
	ev_timer_set(&s->timer, 0., 0.);
	ev_timer_start(s->loop, &s->timer);
}

void
bl_http_req_suspend(struct bl_http_req *r)
{
	if (r->responded || r->suspended)
		return;
	r->suspended = 1;
	r->snext = r->srv->suspended;
	if (r->snext != NULL)
		r->snext->sprev = r;
	r->srv->suspended = r;
	MHD_suspend_connection(r->conn);
}

void
bl_http_req_on_close(struct bl_http_req *r, bl_http_close_fn fn, void *arg)
{
	r->close_fn = fn;
	r->close_arg = arg;
}

static void
on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	srv_run((struct bl_http_server *)w);
}

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bl_http_server *s = (struct bl_http_server *)
	    ((char *)w - offsetof(struct bl_http_server, timer));

	srv_run(s);
}

static int
parse_listen(const char *listen, struct sockaddr_storage *ss,
    socklen_t *sslen, struct bl_err *err)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *colon, *port, *h;
	size_t hl;
	int rc;

	colon = strrchr(listen, ':');
	if (colon == NULL || colon == listen || colon[1] == '\0')
		return bl_err_set(err, BL_EINVAL,
		    "listen \"%s\": want HOST:PORT", listen);
	port = colon + 1;
	h = listen;
	hl = (size_t)(colon - listen);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return bl_err_set(err, BL_EINVAL, "listen \"%s\": host too long",
		    listen);
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return bl_err_set(err, BL_EINVAL, "listen \"%s\": %s", listen,
		    gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Reads a whole PEM file (at most 1 MiB) into a NUL-terminated buffer. */
static char *
read_pem(const char *what, const char *path, size_t *len, struct bl_err *err)
{
	char *buf = NULL;
	size_t got = 0, cap = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		bl_err_set(err, BL_EIO, "%s file=%s: %s", what, path,
		    strerror(errno));
		return NULL;
	}
	for (;;) {
		if (got + 4096 + 1 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			if (cap > (1u << 20) || (nb = malloc(cap)) == NULL) {
				bl_err_set(err, BL_ETOOBIG, "%s file=%s: "
				    "larger than 1 MiB", what, path);
				goto fail;
			}
			if (buf != NULL) {
				memcpy(nb, buf, got);
				OPENSSL_cleanse(buf, got);
				free(buf);
			}
			buf = nb;
		}
		n = read(fd, buf + got, cap - got - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			bl_err_set(err, BL_EIO, "%s file=%s: %s", what, path,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	if (got == 0 || strstr(buf, "-----BEGIN ") == NULL) {
		bl_err_set(err, BL_EINVAL, "%s file=%s: not PEM", what, path);
		OPENSSL_cleanse(buf, got);
		free(buf);
		return NULL;
	}
	*len = got;
	return buf;
fail:
	close(fd);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, got);
		free(buf);
	}
	return NULL;
}

static void
srv_free_tls(struct bl_http_server *s)
{
	free(s->tls_cert);
	if (s->tls_key != NULL) {
		OPENSSL_cleanse(s->tls_key, s->tls_key_len);
		free(s->tls_key);
	}
	s->tls_cert = s->tls_key = NULL;
}

static int
srv_load_tls(struct bl_http_server *s, const struct bl_http_server_opts *o,
    struct bl_err *err)
{
	size_t len;

	if (o->tls_cert_file == NULL && o->tls_key_file == NULL)
		return 0;
	if (o->tls_cert_file == NULL || o->tls_key_file == NULL)
		return bl_err_set(err, BL_EINVAL, "tls: a certificate and a "
		    "key are both needed");
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return bl_err_set(err, BL_EINVAL, "tls: libmicrohttpd was "
		    "built without TLS");
	if ((s->tls_cert = read_pem("tls certificate", o->tls_cert_file,
	    &len, err)) == NULL ||
	    (s->tls_key = read_pem("tls key", o->tls_key_file,
	    &s->tls_key_len, err)) == NULL) {
		srv_free_tls(s);
		return -1;
	}
	return 0;
}

int
bl_http_server_tls(const struct bl_http_server *s)
{
	return s->tls_cert != NULL;
}

/* Refuses an address another process listens on: SO_REUSEPORT alone
 * would let a second daemon share its port. SO_REUSEADDR on the probe, as
 * MHD sets it, so that connections in TIME_WAIT do not count. */
static int
probe_exclusive(const struct bl_http_server *s, struct bl_err *err)
{
	int fd, one = 1, rc = 0;

	if ((s->ss.ss_family == AF_INET && ((const struct sockaddr_in *)
	    &s->ss)->sin_port == 0) || (s->ss.ss_family == AF_INET6 &&
	    ((const struct sockaddr_in6 *)&s->ss)->sin6_port == 0))
		return 0;
	if ((fd = socket(s->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1)
		return bl_err_set(err, BL_EIO, "listen \"%s\": %s", s->listen,
		    strerror(errno));
	if (s->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&s->ss, s->sslen) == -1)
		rc = bl_err_set(err, BL_EIO, "listen \"%s\": %s", s->listen,
		    strerror(errno));
	close(fd);
	return rc;
}

/* Starts MHD on s->ss with s->opts and s's TLS, and watches it on s->loop.
 * s->ss gets the port bound. */
static int
srv_start(struct bl_http_server *s, struct bl_err *err)
{
	const union MHD_DaemonInfo *info;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
	    MHD_ALLOW_SUSPEND_RESUME;
	struct MHD_OptionItem more[5];
	int n = 0;

	memset(more, 0, sizeof(more));
	if (s->tls_cert != NULL) {
		flags |= MHD_USE_TLS;
		more[n].option = MHD_OPTION_HTTPS_MEM_CERT;
		more[n++].ptr_value = s->tls_cert;
		more[n].option = MHD_OPTION_HTTPS_MEM_KEY;
		more[n++].ptr_value = s->tls_key;
		more[n].option = MHD_OPTION_HTTPS_PRIORITIES;
		more[n++].ptr_value = (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:"
		    "+VERS-TLS1.2";
	}
	/* 1 adds SO_REUSEPORT to the SO_REUSEADDR MHD always sets; 0 would
	 * drop SO_REUSEADDR too, so it is left out when unasked. */
	if (s->opts.reuse_port) {
		more[n].option = MHD_OPTION_LISTENING_ADDRESS_REUSE;
		more[n++].value = 1;
	}
	more[n].option = MHD_OPTION_END;
	if (s->ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_access, s,
	    MHD_OPTION_ARRAY, more,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&s->ss,
	    MHD_OPTION_CONNECTION_LIMIT, s->opts.conn_limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, s->opts.conn_timeout,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, s,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
	    MHD_OPTION_END);
	if (s->mhd == NULL)
		return bl_err_set(err, BL_EIO, "listen \"%s\": cannot start "
		    "http server (address in use%s?)", s->listen, s->tls_cert ?
		    ", or a certificate and key that do not match" : "");
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	if (s->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&s->ss)->sin6_port =
		    htons((uint16_t)s->port);
	else
		((struct sockaddr_in *)&s->ss)->sin_port =
		    htons((uint16_t)s->port);
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL) {
		MHD_stop_daemon(s->mhd);
		return bl_err_set(err, BL_EIO, "http server: no epoll fd");
	}
	ev_io_init(&s->io, on_io, info->epoll_fd, EV_READ);
	ev_init(&s->timer, on_timer);
	ev_io_start(s->loop, &s->io);
	srv_arm(s);
	return 0;
}

struct bl_http_server *
bl_http_server_new(struct ev_loop *loop, const struct bl_http_server_opts *o,
    struct bl_err *err)
{
	struct bl_http_server *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		bl_err_set(err, BL_ENOMEM, "http server: out of memory");
		return NULL;
	}
	s->loop = loop;
	s->opts = *o;
	s->opts.listen = s->opts.tls_cert_file = s->opts.tls_key_file = NULL;
	snprintf(s->listen, sizeof(s->listen), "%s", o->listen);
	if (parse_listen(o->listen, &s->ss, &s->sslen, err) == -1 ||
	    (o->reuse_port && probe_exclusive(s, err) == -1) ||
	    srv_load_tls(s, o, err) == -1) {
		free(s);
		return NULL;
	}
	if (srv_start(s, err) == -1) {
		srv_free_tls(s);
		free(s);
		return NULL;
	}
	return s;
}

struct bl_http_server *
bl_http_server_new_sibling(struct ev_loop *loop,
    const struct bl_http_server *first, void *arg, struct bl_err *err)
{
	struct bl_http_server *s;

	if (!first->opts.reuse_port) {
		bl_err_set(err, BL_EINVAL, "http server: a sibling needs "
		    "reuse_port on the first server");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		bl_err_set(err, BL_ENOMEM, "http server: out of memory");
		return NULL;
	}
	s->loop = loop;
	s->opts = first->opts;
	s->opts.arg = arg;
	memcpy(s->listen, first->listen, sizeof(s->listen));
	s->ss = first->ss;
	s->sslen = first->sslen;
	if (first->tls_cert != NULL) {
		/* Both PEMs are C strings to MHD (read_pem ends them). */
		if ((s->tls_cert = strdup(first->tls_cert)) == NULL ||
		    (s->tls_key = strdup(first->tls_key)) == NULL) {
			srv_free_tls(s);
			free(s);
			bl_err_set(err, BL_ENOMEM, "http server: out of memory");
			return NULL;
		}
		s->tls_key_len = strlen(s->tls_key);
	}
	if (srv_start(s, err) == -1) {
		srv_free_tls(s);
		free(s);
		return NULL;
	}
	return s;
}

void
bl_http_server_quiesce(struct bl_http_server *s)
{
	MHD_socket fd;

	if (s == NULL)
		return;
	fd = MHD_quiesce_daemon(s->mhd);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
}

unsigned int
bl_http_server_connections(const struct bl_http_server *s)
{
	const union MHD_DaemonInfo *info;

	info = MHD_get_daemon_info(s->mhd,
	    MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return info ? info->num_connections : 0;
}

void
bl_http_server_free(struct bl_http_server *s)
{
	if (s == NULL)
		return;
	s->closing = 1;
	/* MHD refuses to stop with suspended connections: tell their owners
	 * and answer them 503 first. */
	while (s->suspended != NULL) {
		struct bl_http_req *r = s->suspended;
		bl_http_close_fn fn = r->close_fn;

		r->close_fn = NULL;
		if (fn != NULL)
			fn(r, r->close_arg);
		if (bl_http_respond_error(r, 503, "unavailable",
		    "server stopping") == -1) {
			susp_unlink(r);
			r->suspended = 0;
			MHD_resume_connection(r->conn);
		}
	}
	MHD_run(s->mhd);
	ev_io_stop(s->loop, &s->io);
	ev_timer_stop(s->loop, &s->timer);
	MHD_stop_daemon(s->mhd);
	srv_free_tls(s);
	free(s);
}

int
bl_http_server_port(const struct bl_http_server *s)
{
	return s->port;
}
