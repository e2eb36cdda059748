/* controller/api.c - the HTTP API (docs/api.md).
 *
 * The handler runs on the loop: it authenticates (bearer tokens compared
 * in constant time), routes, and checks everything it can without the
 * database (400 malformed, 401, 403, 404 unknown route, 413 by the server,
 * 422 bad params). Then it suspends the request and queues a struct
 * ctl_call; an API worker with its own connection runs the database part
 * and hands the answer back through done_async. The loop never waits for
 * PostgreSQL. A database that cannot be reached gives 503.
 */
#include "controller/ctl.h"
#include "controller/metrics.h"

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/json.h"
#include "lib/log.h"
#include "lib/pg.h"
#include "lib/sign.h"
#include "lib/uuid.h"

enum op {
	OP_STATUS,
	OP_JOB_CREATE,
	OP_JOB_LIST,
	OP_JOB_GET,
	OP_JOB_TASKS,
	OP_JOB_ACTION,
	OP_JOB_THREADS,
	OP_JOB_THROTTLE,
	OP_NODE_PUT,
	OP_NODE_DRAIN,
	OP_NODE_LIST,
	OP_AUDIT,
	OP_OBJECT_GET,
	OP_IMPORT,
	OP_MANTA_LIST,
	OP_MANTA_GET,
	OP_MANTA_RETRY,
	OP_METRICS,
	OP_CLUSTER,
	OP_PLAN,
	OP_POLICY_GET,
	OP_POLICY_PUT,
	OP_POLICY_DELETE,
	OP_CYCLES,
	OP_PLACEMENT,
	OP_CTL_PAUSE,
	OP_CTL_RESUME,
	OP_EXPORT,
};

/* Who a request's token names: a copy, since a reload may swap the tokens
 * while the request is served. */
struct who {
	char	name[128];
	int	operator;	/* 1: operator, 0: viewer */
};

struct ctl_call {
	struct ctl_call		*next;		/* owns (queue link) */
	struct ctl		*ctl;		/* borrows */
	struct ctl_front	*front;		/* borrows: answers there */
	struct bl_http_req	*req;		/* borrows until answered */
	int			 op;
	int			 manta;		/* answer in Manta's shape */
	char			 who[128];	/* token name */
	char			 id[256];	/* job, node or object id */
	char			 arg[64];	/* action / kind / state */
	char			 arg2[64];	/* kind filter */
	long			 limit, offset;
	long long		 num;
	json_t			*params;	/* owns */
	unsigned int		 status;	/* answer */
	json_t			*resp;		/* owns: answer */
	char			*text;		/* owns: a text answer */
	size_t			 text_len;
	int			 fd;		/* owns when has_fd: a file
						   answer (text/csv) */
	int			 has_fd;
	long long		 fd_len;
	int			 wake;		/* wake the engine afterwards */
	unsigned long		 writes;	/* ctl->writes when submitted */
	long long		 interval;	/* a new check interval */
};

static void
call_free(struct ctl_call *k)
{
	if (k == NULL)
		return;
	json_decref(k->params);
	json_decref(k->resp);
	free(k->text);
	if (k->has_fd)
		close(k->fd);
	free(k);
}

static json_t *
error_json(const char *code, const char *msg)
{
	return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message",
	    msg);
}

/* --- worker side ---------------------------------------------------------- */

static void
fail(struct ctl_call *k, PGconn *db, const struct bl_err *err)
{
	unsigned int st;
	const char *code;

	switch (err->code) {
	case BL_ENOENT:
		st = 404, code = "not_found";
		break;
	case BL_EINVAL:
		st = 422, code = "invalid";
		break;
	case BL_EPARSE:
		st = 400, code = "malformed";
		break;
	case BL_ECONFLICT:
		st = 409, code = "conflict";
		break;
	case BL_ETOOBIG:
		st = 413, code = "too_large";
		break;
	case BL_EUNAVAIL:
		st = 503, code = "unavailable";
		break;
	default:
		if (db == NULL || !bl_pg_ok(db))
			st = 503, code = "unavailable";
		else
			st = 500, code = "internal";
		break;
	}
	if (st >= 500)
		log_warnx("api: %s", err->msg);
	k->status = st;
	json_decref(k->resp);
	k->resp = error_json(code, err->msg);
}

/* Manta's result counters from ours. */
static json_t *
manta_job(json_t *j)
{
	json_t *st = json_object_get(j, "task_states");
	json_t *params = json_object_get(j, "params");
	json_t *cfgp;
#define N(s) (json_integer_value(json_object_get(st, s)))
	json_int_t total = 0;
	const char *k;
	json_t *v;

	json_object_foreach(st, k, v)
		total += json_integer_value(v);
	cfgp = json_deep_copy(params);
	if (json_object_get(cfgp, "from_node") != NULL) {
		json_object_set(cfgp, "from_shark",
		    json_object_get(cfgp, "from_node"));
		json_object_del(cfgp, "from_node");
	}
	return json_pack("{s:s,s:{s:O,s:o},s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I},"
	    "s:O,s:O}",
	    "id", json_string_value(json_object_get(j, "id")),
	    "config", "action", json_object_get(j, "kind"), "params", cfgp,
	    "results",
	    "Unprocessed", (json_int_t)N("unprocessed"),
	    "Assigned", (json_int_t)N("assigned"),
	    "Skipped", (json_int_t)N("skipped"),
	    "Error", (json_int_t)N("failed"),
	    "Post Processing", (json_int_t)(N("copied") + N("committed")),
	    "Complete", (json_int_t)N("complete"),
	    "Total", total,
	    "state", json_object_get(j, "state"),
	    "reasons", json_object_get(j, "reasons"));
#undef N
}

/* GET /v1/objects/export: the CSV into an unlinked temporary file, which
 * the loop then sends (bl_http_respond_fd_take). */
static int
export_objects(struct ctl_call *k, PGconn *db, struct bl_err *err)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[600];
	long long rows;
	off_t end;
	int fd;

	snprintf(path, sizeof(path), "%s/ballastd-export.XXXXXX", dir);
	if ((fd = mkstemp(path)) == -1)
		return bl_err_set(err, BL_EIO, "export: %s: %s", path,
		    strerror(errno));
	unlink(path);
	if (mig_objects_export(db, fd, &rows, err) == -1 ||
	    (end = lseek(fd, 0, SEEK_END)) == (off_t)-1) {
		if (err->code == BL_OK)
			bl_err_set(err, BL_EIO, "export: %s", strerror(errno));
		close(fd);
		return -1;
	}
	k->fd = fd;
	k->has_fd = 1;
	k->fd_len = (long long)end;
	return 0;
}

static void
run_call(struct ctl_call *k, PGconn *db)
{
	struct bl_err err;
	json_t *j = NULL;
	char id[37];
	int created = 0;
	long long rows = 0;

	bl_err_clear(&err);
	k->status = 200;
	switch (k->op) {
	case OP_METRICS:
		/* db may be NULL: the in-process metrics are still served. */
		if ((k->text = ctl_metrics_scrape(k->ctl->metrics, db,
		    &k->text_len, &err)) == NULL)
			goto failed;
		break;
	case OP_STATUS:
		if ((j = ctl_api_status(k->ctl, db, &err)) == NULL)
			goto failed;
		break;
	case OP_CLUSTER:
		if ((j = ctl_api_cluster(db, &err)) == NULL)
			goto failed;
		break;
	case OP_PLAN:
		if ((j = ctl_api_plan(k->ctl, db, (int)k->num, &err)) == NULL)
			goto failed;
		break;
	case OP_POLICY_GET:
		if ((j = ctl_api_policy_get(k->ctl, db, &err)) == NULL)
			goto failed;
		break;
	case OP_POLICY_PUT:
	case OP_POLICY_DELETE:
		if ((j = ctl_api_policy_put(k->ctl, db, k->op == OP_POLICY_PUT ?
		    k->params : NULL, k->who, &k->interval, &err)) == NULL)
			goto failed;
		break;
	case OP_CYCLES:
		if ((j = ctl_api_cycles(db, k->limit, k->offset, &err)) ==
		    NULL)
			goto failed;
		break;
	case OP_PLACEMENT:
		if ((j = ctl_api_placement(k->ctl, db, k->id, (int)k->num,
		    &err)) == NULL)
			goto failed;
		break;
	case OP_CTL_PAUSE:
	case OP_CTL_RESUME:
		if ((j = ctl_api_pause(k->ctl, db, k->op == OP_CTL_PAUSE,
		    k->who, &err)) == NULL)
			goto failed;
		break;
	case OP_JOB_CREATE:
		if (mig_job_params_check(db, k->arg, k->params, &err) == -1 ||
		    mig_job_create(db, k->arg, "operator", k->params,
		    strcmp(k->arg, "retry") == 0 ? json_string_value(
		    json_object_get(k->params, "job")) : NULL, k->who, id,
		    &err) == -1)
			goto failed;
		k->status = 201;
		k->wake = 1;
		j = k->manta ? json_string(id) : json_pack("{s:s}", "id", id);
		break;
	case OP_MANTA_RETRY:
		json_decref(k->params);
		k->params = json_pack("{s:s}", "job", k->id);
		if (mig_job_params_check(db, "retry", k->params, &err) == -1 ||
		    mig_job_create(db, "retry", "operator", k->params, k->id,
		    k->who, id, &err) == -1)
			goto failed;
		k->status = 201;
		k->wake = 1;
		j = json_string(id);
		break;
	case OP_JOB_LIST:
	case OP_MANTA_LIST:
		if ((j = mig_job_list(db, k->arg[0] ? k->arg : NULL,
		    k->arg2[0] ? k->arg2 : NULL, k->limit, k->offset,
		    &err)) == NULL)
			goto failed;
		if (k->op == OP_MANTA_LIST) {
			json_t *arr = json_array(), *it;
			size_t i;

			json_array_foreach(j, i, it)
				json_array_append_new(arr, json_pack(
				    "{s:O,s:O,s:O}", "id", json_object_get(it,
				    "id"), "action", json_object_get(it,
				    "kind"), "state", json_object_get(it,
				    "state")));
			json_decref(j);
			j = arr;
		} else {
			j = json_pack("{s:o,s:I,s:I}", "jobs", j, "limit",
			    (json_int_t)k->limit, "offset",
			    (json_int_t)k->offset);
		}
		break;
	case OP_JOB_GET:
	case OP_MANTA_GET:
		if ((j = mig_job_get(db, k->id, &err)) == NULL)
			goto failed;
		if (k->op == OP_MANTA_GET) {
			json_t *m = manta_job(j);

			json_decref(j);
			j = m;
		}
		break;
	case OP_JOB_TASKS:
		if ((j = mig_job_tasks(db, k->id, k->arg[0] ? k->arg : NULL,
		    k->limit, k->offset, &err)) == NULL)
			goto failed;
		j = json_pack("{s:o}", "tasks", j);
		break;
	case OP_JOB_ACTION:
		if (mig_job_action(db, k->id, k->arg, k->who, &err) == -1 ||
		    (j = mig_job_get(db, k->id, &err)) == NULL)
			goto failed;
		k->wake = 1;
		break;
	case OP_JOB_THREADS:
		if (mig_set_metadata_threads(db, k->id, (long)k->num, k->who,
		    &err) == -1)
			goto failed;
		k->wake = 1;
		j = json_pack("{s:s,s:I}", "id", k->id, "metadata_threads",
		    (json_int_t)k->num);
		break;
	case OP_JOB_THROTTLE:
		if (mig_set_throttle(db, k->id, k->num, k->who, &err) == -1)
			goto failed;
		k->wake = 1;	/* the engine tells the agents now */
		j = json_pack("{s:s,s:I}", "id", k->id,
		    "throttle_bytes_per_sec", (json_int_t)k->num);
		break;
	case OP_NODE_PUT:
		if (mig_node_put(db, k->id, k->params, k->who, &created,
		    &err) == -1)
			goto failed;
		k->status = created ? 201 : 200;
		j = json_pack("{s:s,s:b}", "id", k->id, "created", created);
		break;
	case OP_NODE_DRAIN:
		if (mig_node_drain(db, k->id, k->who, &err) == -1)
			goto failed;
		j = json_pack("{s:s,s:s}", "id", k->id, "state", "draining");
		break;
	case OP_AUDIT:
		if ((j = mig_audit_list(db, k->arg[0] ? k->arg : NULL,
		    k->arg2[0] ? k->arg2 : NULL, k->limit, k->offset,
		    &err)) == NULL)
			goto failed;
		break;
	case OP_NODE_LIST:
		if ((j = mig_node_list(db, &err)) == NULL)
			goto failed;
		j = json_pack("{s:o}", "nodes", j);
		break;
	case OP_OBJECT_GET:
		if ((j = mig_object_get(db, k->id, &err)) == NULL)
			goto failed;
		break;
	case OP_EXPORT:
		if (export_objects(k, db, &err) == -1)
			goto failed;
		break;
	case OP_IMPORT: {
		size_t len;
		const char *body = bl_http_req_body(k->req, &len);

		json_t *unknown;

		if (mig_objects_import(db, body, len, k->who, k->num == 1,
		    &rows, &unknown, &err) == -1)
			goto failed;
		j = unknown == NULL ? json_pack("{s:I}", "imported",
		    (json_int_t)rows) : json_pack("{s:I,s:o}", "imported",
		    (json_int_t)rows, "unknown_nodes", unknown);
		break;
	}
	}
	k->resp = j;
	return;
failed:
	fail(k, db, &err);
}

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads (set < 0) or sets the time before which workers do not try to
 * connect again: while the database is down, requests get their 503 at
 * once instead of after a connect timeout each. */
static double
retry_at(struct ctl *c, double set)
{
	double v;

	pthread_mutex_lock(&c->mu);
	if (set >= 0)
		c->db_retry_at = set;
	v = c->db_retry_at;
	pthread_mutex_unlock(&c->mu);
	return v;
}

static void *
worker_main(void *arg)
{
	struct ctl *c = arg;
	PGconn *db = NULL;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		struct ctl_call *k;
		struct bl_err err;

		while (c->queue == NULL && !c->stopping)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->queue == NULL)
			break;
		k = c->queue;
		c->queue = k->next;
		if (c->queue == NULL)
			c->queue_tail = &c->queue;
		pthread_mutex_unlock(&c->mu);

		if (db != NULL && !bl_pg_ok(db)) {
			PQfinish(db);
			db = NULL;
		}
		if (db == NULL && now_mono() >= retry_at(c, -1))
			if ((db = bl_pg_connect(c->cfg->database, 2, &err)) ==
			    NULL)
				retry_at(c, now_mono() + 1.0);
		if (db == NULL && k->op == OP_METRICS) {
			run_call(k, NULL);
		} else if (db == NULL) {
			k->status = 503;
			k->resp = error_json("unavailable", "database "
			    "unreachable");
		} else {
			run_call(k, db);
		}

		pthread_mutex_lock(&c->mu);
		k->next = k->front->done;
		k->front->done = k;
		ev_async_send(k->front->loop, &k->front->done_async);
	}
	pthread_mutex_unlock(&c->mu);
	if (db != NULL)
		PQfinish(db);
	return NULL;
}

/* Answers a suspended request (which resumes it) with any JSON value:
 * Manta's create and retry answer a bare string. */
static void
answer(struct bl_http_req *req, unsigned int status, const json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII |
	    JSON_ENCODE_ANY) : NULL;

	if (s == NULL) {
		bl_http_respond_error(req, 500, "internal", "out of memory");
		return;
	}
	bl_http_respond(req, status, "application/json", s, strlen(s));
	free(s);
}

/* A reused status answer: immutable once made, shared by the fronts
 * that answer with it, freed by the last reference. */
struct ctl_text {
	atomic_uint	refs;
	size_t		len;
	char		s[];
};

static struct ctl_text *
text_new(const char *s)
{
	size_t len = strlen(s);
	struct ctl_text *t = malloc(sizeof(*t) + len + 1);

	if (t != NULL) {
		atomic_init(&t->refs, 1);
		t->len = len;
		memcpy(t->s, s, len + 1);
	}
	return t;
}

static void
text_unref(struct ctl_text *t)
{
	if (t != NULL && atomic_fetch_sub(&t->refs, 1) == 1)
		free(t);
}

/* Drops the reused text; smu held. Returns it for text_unref outside. */
static struct ctl_text *
status_take_locked(struct ctl *c)
{
	struct ctl_text *t = c->status;

	c->status = NULL;
	return t;
}

void
ctl_api_status_forget(struct ctl *c)
{
	struct ctl_text *t;

	pthread_mutex_lock(&c->smu);
	t = status_take_locked(c);
	pthread_mutex_unlock(&c->smu);
	text_unref(t);
}

/* Answers a GET /v1/status and, unless a write was submitted since the
 * call was, keeps the text for CTL_STATUS_TTL_S: under a thousand readers,
 * the database sees a few status queries a second. */
static void
status_answer(struct ctl *c, struct ctl_call *k)
{
	struct ctl_text *t = NULL, *old = NULL;
	char *s = NULL;

	if (k->status == 200 && (s = json_dumps(k->resp, JSON_COMPACT |
	    JSON_ENSURE_ASCII)) != NULL)
		t = text_new(s);
	free(s);
	if (t != NULL)
		bl_http_respond(k->req, 200, "application/json", t->s, t->len);
	else
		answer(k->req, k->status, k->resp);
	pthread_mutex_lock(&c->smu);
	c->status_refreshing = 0;
	if (t != NULL && k->writes == c->writes) {
		old = status_take_locked(c);
		c->status = t;
		c->status_at = now_mono();
		t = NULL;
	}
	pthread_mutex_unlock(&c->smu);
	text_unref(old);
	text_unref(t);
}

/* On a front's loop: answers every call of that front that finished. */
static void
on_done(struct ev_loop *loop, ev_async *w, int revents)
{
	struct ctl_front *f = (struct ctl_front *)((char *)w -
	    offsetof(struct ctl_front, done_async));
	struct ctl *c = f->ctl;
	struct ctl_call *list, *k, *next;
	int wake = 0;

	pthread_mutex_lock(&c->mu);
	list = f->done;
	f->done = NULL;
	pthread_mutex_unlock(&c->mu);
	for (k = list; k != NULL; k = next) {
		next = k->next;
		wake |= k->wake;
		if (k->interval > 0 && k->status < 300)
			ctl_loop_interval_post(c, k->interval);
		if (k->text != NULL)
			bl_http_respond(k->req, 200, "text/plain; version=0.0.4;"
			    " charset=utf-8", k->text, k->text_len);
		else if (k->has_fd && k->status == 200) {
			bl_http_req_add_header(k->req, "Content-Type",
			    "text/csv; charset=utf-8");
			k->has_fd = 0;	/* taken */
			bl_http_respond_fd_take(k->req, 200, k->fd, 0,
			    (uint64_t)k->fd_len);
		}
		else if (k->op == OP_STATUS)
			status_answer(c, k);
		else
			answer(k->req, k->status, k->resp);
		call_free(k);
	}
	if (wake)
		ctl_engine_wake(c);
}

static void
on_front_stop(struct ev_loop *loop, ev_async *w, int revents)
{
	struct ctl_front *f = (struct ctl_front *)((char *)w -
	    offsetof(struct ctl_front, stop_async));

	bl_http_server_quiesce(f->http);
	ev_break(loop, EVBREAK_ALL);
}

static void *
front_main(void *arg)
{
	struct ctl_front *f = arg;

	ev_run(f->loop, 0);
	return NULL;
}

/* Front 0 is the main loop's; the others get a loop and a thread each
 * (started by ctl_api_serve). */
static int
fronts_new(struct ctl *c, const struct bl_http_server_opts *o,
    struct bl_err *err)
{
	struct bl_http_server_opts fo = *o;

	c->nfronts = (int)c->cfg->http_threads;
	if ((c->fronts = calloc((size_t)c->nfronts, sizeof(*c->fronts))) ==
	    NULL)
		return bl_err_set(err, BL_ENOMEM, "api: out of memory");
	fo.handler = ctl_api_handle;
	fo.arg = &c->fronts[0];
	fo.reuse_port = c->nfronts > 1;
	for (int i = 0; i < c->nfronts; i++) {
		struct ctl_front *f = &c->fronts[i];

		f->ctl = c;
		f->loop = i == 0 ? c->loop : ev_loop_new(EVFLAG_AUTO);
		if (f->loop == NULL)
			return bl_err_set(err, BL_ENOMEM, "api: cannot make "
			    "an event loop");
		f->http = i == 0 ? bl_http_server_new(f->loop, &fo, err) :
		    bl_http_server_new_sibling(f->loop, c->fronts[0].http, f,
		    err);
		if (f->http == NULL)
			return -1;
		ev_async_init(&f->done_async, on_done);
		ev_async_start(f->loop, &f->done_async);
		ev_async_init(&f->stop_async, on_front_stop);
		ev_async_start(f->loop, &f->stop_async);
	}
	return 0;
}

int
ctl_api_start(struct ctl *c, const struct bl_http_server_opts *o,
    struct bl_err *err)
{
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_mutex_init(&c->smu, NULL);
	pthread_rwlock_init(&c->tokens_lock, NULL);
	c->queue = NULL;
	c->queue_tail = &c->queue;
	c->nworkers = (int)c->cfg->api_workers;
	if ((c->workers = calloc((size_t)c->nworkers, sizeof(pthread_t))) ==
	    NULL)
		return bl_err_set(err, BL_ENOMEM, "api: out of memory");
	for (int i = 0; i < c->nworkers; i++)
		if (pthread_create(&c->workers[i], NULL, worker_main, c) != 0)
			return bl_err_set(err, BL_EIO, "api: cannot start "
			    "worker threads");
	return fronts_new(c, o, err);
}

int
ctl_api_serve(struct ctl *c, struct bl_err *err)
{
	for (int i = 1; i < c->nfronts; i++) {
		if (pthread_create(&c->fronts[i].th, NULL, front_main,
		    &c->fronts[i]) != 0)
			return bl_err_set(err, BL_EIO, "api: cannot start "
			    "http threads");
		c->fronts[i].running = 1;
	}
	return 0;
}

int
ctl_api_port(const struct ctl *c)
{
	return bl_http_server_port(c->fronts[0].http);
}

int
ctl_api_tls(const struct ctl *c)
{
	return bl_http_server_tls(c->fronts[0].http);
}

void
ctl_api_stop(struct ctl *c)
{
	/* No new connections, on any front; the other fronts' threads end
	 * and their loops are this thread's from here on. */
	for (int i = 1; i < c->nfronts; i++)
		if (c->fronts[i].running) {
			ev_async_send(c->fronts[i].loop,
			    &c->fronts[i].stop_async);
			pthread_join(c->fronts[i].th, NULL);
			c->fronts[i].running = 0;
		}
	if (c->nfronts > 0)
		bl_http_server_quiesce(c->fronts[0].http);
	pthread_mutex_lock(&c->mu);
	c->stopping = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (int i = 0; i < c->nworkers; i++)
		if (c->workers[i] != 0)
			pthread_join(c->workers[i], NULL);
	free(c->workers);
	c->workers = NULL;
	for (int i = 0; i < c->nfronts; i++) {
		struct ctl_front *f = &c->fronts[i];

		if (f->loop == NULL)
			continue;
		/* Answer what the workers finished. */
		on_done(f->loop, &f->done_async, 0);
		ev_async_stop(f->loop, &f->done_async);
		ev_async_stop(f->loop, &f->stop_async);
		bl_http_server_free(f->http);
		if (i > 0)
			ev_loop_destroy(f->loop);
	}
	free(c->fronts);
	c->fronts = NULL;
	c->nfronts = 0;
	ctl_api_status_forget(c);
}

/* --- loop side ------------------------------------------------------------ */

static void
submit(struct ctl_front *f, struct bl_http_req *req, struct ctl_call *k)
{
	struct ctl *c = f->ctl;

	k->ctl = c;
	k->front = f;
	k->req = req;
	bl_http_req_suspend(req);
	pthread_mutex_lock(&c->mu);
	k->next = NULL;
	*c->queue_tail = k;
	c->queue_tail = &k->next;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* 1 and *out filled when the request carries a known token, else 0.
 * Every token is compared, in constant time per token (digests, so
 * neither contents nor lengths show), so the time does not tell which one
 * nearly matched. */
static int
authenticate(struct ctl *c, struct bl_http_req *req, struct who *out)
{
	const char *h = bl_http_req_header(req, "Authorization");
	const struct ctl_token *found = NULL;
	size_t len;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	while (*h == ' ')
		h++;
	len = strlen(h);
	pthread_rwlock_rdlock(&c->tokens_lock);
	for (size_t i = 0; i < c->cfg->ntokens; i++) {
		const struct ctl_token *t = &c->cfg->tokens[i];

		if (bl_sign_secret_equal(t->token, t->len, h, len))
			found = t;
	}
	if (found != NULL) {
		snprintf(out->name, sizeof(out->name), "%s", found->name);
		out->operator = found->operator;
	}
	pthread_rwlock_unlock(&c->tokens_lock);
	return found != NULL;
}

/* Reads "key=value" from the query string into out (no decoding: values
 * are names and numbers). 1 found, 0 absent, -1 too long. */
static int
query_get(struct bl_http_req *req, const char *key, char *out, size_t len)
{
	const char *q = strchr(bl_http_req_target(req), '?');
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

/* The number "key" of the query, in [min, max]; def when absent. Anything
 * but plain decimal digits in range (a sign, a space, an empty value, a
 * number past max or past what a long holds) is answered 400 naming the
 * parameter and its range. 0 or -1 answered. */
static int
query_num(struct bl_http_req *req, const char *key, long min, long max,
    long def, long *out)
{
	char buf[32];
	unsigned long long v = 0;
	int rc;

	*out = def;
	if ((rc = query_get(req, key, buf, sizeof(buf))) == 0)
		return 0;
	if (rc == 1 && buf[0] != '\0') {
		size_t i;

		for (i = 0; buf[i] >= '0' && buf[i] <= '9'; i++) {
			v = v * 10 + (unsigned)(buf[i] - '0');
			if (v > (unsigned long long)max)
				break;
		}
		if (buf[i] == '\0' && v >= (unsigned long long)min) {
			*out = (long)v;
			return 0;
		}
	}
	bl_http_respond_error(req, 400, "malformed", "%s: want a whole number "
	    "from %ld to %ld", key, min, max);
	return -1;
}

/* limit and offset from the query; 0 or an error answered. */
static int
paging(struct bl_http_req *req, struct ctl_call *k, long def_limit)
{
	if (query_num(req, "limit", 1, 10000, def_limit, &k->limit) == -1 ||
	    query_num(req, "offset", 0, INT32_MAX, 0, &k->offset) == -1)
		return -1;
	return 0;
}

/* Answers a body refused by migrate/body.c: 400 or 422. Returns -1. */
static int
refuse(struct bl_http_req *req, const struct bl_err *err)
{
	if (err->code == BL_ENOMEM)
		bl_http_respond_error(req, 503, "unavailable", "%s", err->msg);
	else if (err->code == BL_EPARSE)
		bl_http_respond_error(req, 400, "malformed", "%s", err->msg);
	else
		bl_http_respond_error(req, 422, "invalid", "%s", err->msg);
	return -1;
}

static json_t *
parse_body(struct bl_http_req *req)
{
	size_t len;
	const char *body = bl_http_req_body(req, &len);
	struct bl_err err;
	json_t *j;

	if ((j = mig_body_object(body, len, &err)) == NULL)
		refuse(req, &err);
	return j;
}

/* Validates a job creation body into k (kind in arg, params). Manta's
 * evacuate spells from_node "from_shark". 0, or -1 when answered. */
static int
job_body(struct bl_http_req *req, struct ctl_call *k, int manta)
{
	struct mig_body_job jb;
	struct bl_err err;
	size_t len;
	const char *body = bl_http_req_body(req, &len);

	if (mig_body_job(body, len, manta, &jb, &err) == -1)
		return refuse(req, &err);
	k->params = jb.params;
	snprintf(k->arg, sizeof(k->arg), "%s", jb.action);
	return 0;
}

/* PUT /v1/jobs/{id} and PUT /jobs/{uuid}. */
static int
job_update_body(struct bl_http_req *req, struct ctl_call *k)
{
	struct mig_body_update u;
	struct bl_err err;
	size_t len;
	const char *body = bl_http_req_body(req, &len);

	if (mig_body_job_update(body, len, &u, &err) == -1)
		return refuse(req, &err);
	switch (u.kind) {
	case MIG_UPDATE_ACTION:
		k->op = OP_JOB_ACTION;
		snprintf(k->arg, sizeof(k->arg), "%s", u.action);
		break;
	case MIG_UPDATE_THREADS:
		k->op = OP_JOB_THREADS;
		k->num = u.num;
		break;
	default:
		k->op = OP_JOB_THROTTLE;
		k->num = u.num;
		break;
	}
	return 0;
}

static int
node_body(struct bl_http_req *req, struct ctl_call *k)
{
	struct bl_err err;
	size_t len;
	const char *body = bl_http_req_body(req, &len);

	if ((k->params = mig_body_node(body, len, &err)) == NULL)
		return refuse(req, &err);
	return 0;
}

static struct ctl_call *
call_new(int op, const struct who *t)
{
	struct ctl_call *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	k->op = op;
	snprintf(k->who, sizeof(k->who), "%s", t->name);
	return k;
}

static int
method_is(struct bl_http_req *req, const char *m)
{
	return strcmp(bl_http_req_method(req), m) == 0;
}

static void
not_allowed(struct bl_http_req *req, const char *allow)
{
	bl_http_req_add_header(req, "Allow", allow);
	bl_http_respond_error(req, 405, "method_not_allowed", "%s not allowed "
	    "here; use %s", bl_http_req_method(req), allow);
}

/* The control loop's routes: a call, or NULL (answered, or not ours). */
static struct ctl_call *
route_ctl(struct ctl *c, struct bl_http_req *req, const struct who *t,
    const char *path)
{
	struct ctl_call *k = NULL;
	char buf[64];
	long n;
	int op = -1, rc;

	if (strcmp(path, "/v1/cluster") == 0 || strcmp(path, "/v1/plan") == 0
	    || strcmp(path, "/v1/cycles") == 0 ||
	    strcmp(path, "/v1/placement") == 0) {
		if (!method_is(req, "GET"))
			return not_allowed(req, "GET"), NULL;
		op = strcmp(path, "/v1/cluster") == 0 ? OP_CLUSTER :
		    strcmp(path, "/v1/cycles") == 0 ? OP_CYCLES :
		    strcmp(path, "/v1/plan") == 0 ? OP_PLAN : OP_PLACEMENT;
	} else if (strcmp(path, "/v1/policy") == 0) {
		if (method_is(req, "GET"))
			op = OP_POLICY_GET;
		else if (method_is(req, "PUT"))
			op = OP_POLICY_PUT;
		else if (method_is(req, "DELETE"))
			op = OP_POLICY_DELETE;
		else
			return not_allowed(req, "GET, PUT, DELETE"), NULL;
	} else if (strcmp(path, "/v1/controller/pause") == 0 ||
	    strcmp(path, "/v1/controller/resume") == 0 ||
	    strcmp(path, "/v1/controller/run") == 0) {
		if (!method_is(req, "POST"))
			return not_allowed(req, "POST"), NULL;
		if (path[15] == 'r' && path[16] == 'u') {
			ctl_loop_kick(c);
			bl_http_respond_json_take(req, 202, json_pack("{s:b}",
			    "queued", 1));
			return NULL;
		}
		op = path[15] == 'p' ? OP_CTL_PAUSE : OP_CTL_RESUME;
	} else {
		return NULL;
	}
	if ((k = call_new(op, t)) == NULL) {
		bl_http_respond_error(req, 503, "unavailable", "out of memory");
		return NULL;
	}
	switch (op) {
	case OP_CYCLES:
		if (paging(req, k, 50) == -1)
			goto answered;
		break;
	case OP_PLAN:
		k->num = -1;
		if ((rc = query_get(req, "preset", buf, sizeof(buf))) != 0 &&
		    (rc == -1 || (k->num = pol_preset_parse(buf)) < 0)) {
			bl_http_respond_error(req, 422, "invalid", "preset: "
			    "expected default, aggressive or conservative");
			goto answered;
		}
		break;
	case OP_PLACEMENT:
		if (query_get(req, "object", k->id, sizeof(k->id)) != 1 ||
		    !bl_uuid_valid(k->id)) {
			bl_http_respond_error(req, 400, "malformed", "object: "
			    "want a canonical lowercase uuid");
			goto answered;
		}
		if (query_num(req, "copies", 1, PLC_COPIES_MAX, 2, &n) == -1)
			goto answered;
		k->num = n;
		break;
	case OP_POLICY_PUT:
		if ((k->params = parse_body(req)) == NULL)
			goto answered;
		break;
	default:
		break;
	}
	return k;
answered:
	call_free(k);
	return NULL;
}

/* Routes the request. Returns the call to queue or NULL when answered. */
static struct ctl_call *
route(struct ctl *c, struct bl_http_req *req, const struct who *t)
{
	const char *path = bl_http_req_path(req);
	struct ctl_call *k = NULL;
	int manta = 0, mutation;
	const char *rest;
	char seg[256];
	size_t sl;

	mutation = !method_is(req, "GET") && !method_is(req, "HEAD");
	if (mutation && !t->operator) {
		bl_http_respond_error(req, 403, "forbidden", "token \"%s\" is a "
		    "viewer; %s needs an operator token", t->name,
		    bl_http_req_method(req));
		return NULL;
	}
	if (mutation) {
		struct ctl_leader v;

		ctl_leader_get(c, &v);
		if (!v.leader) {
			if (v.url[0])
				bl_http_req_add_header(req, "X-Ballast-Leader",
				    v.url);
			bl_http_respond_json_take(req, 503, json_pack(
			    "{s:{s:s,s:s,s:s,s:s}}", "error", "code",
			    "not_leader", "message", "this instance is a "
			    "follower; send changes to the leader", "leader",
			    v.instance, "leader_url", v.url));
			return NULL;
		}
	}
#define NEW(op) do {							\
	if ((k = call_new(op, t)) == NULL) {				\
		bl_http_respond_error(req, 503, "unavailable",		\
		    "out of memory");					\
		return NULL;						\
	}								\
	k->manta = manta;						\
} while (0)
	if (strcmp(path, "/v1/status") == 0) {
		if (!method_is(req, "GET"))
			return not_allowed(req, "GET"), NULL;
		NEW(OP_STATUS);
		return k;
	}
	if ((k = route_ctl(c, req, t, path)) != NULL || bl_http_req_responded(
	    req))
		return k;
	if (strcmp(path, "/jobs") == 0 || strncmp(path, "/jobs/", 6) == 0) {
		manta = 1;
		rest = path + 5;
	} else if (strcmp(path, "/v1/jobs") == 0 ||
	    strncmp(path, "/v1/jobs/", 9) == 0) {
		rest = path + 8;
	} else {
		rest = NULL;
	}
	if (rest != NULL) {
		const char *slash;

		if (*rest == '\0') {
			if (method_is(req, "GET")) {
				char st[64] = "", kind[64] = "";

				NEW(manta ? OP_MANTA_LIST : OP_JOB_LIST);
				if (query_get(req, "state", st, sizeof(st)) ==
				    -1 || (st[0] && !mig_job_state_valid(st)) ||
				    query_get(req, "kind", kind, sizeof(kind))
				    == -1 || (kind[0] && strcmp(kind,
				    "evacuate") != 0 && strcmp(kind, "retry")
				    != 0 && strcmp(kind, "rebalance") != 0)) {
					bl_http_respond_error(req, 422,
					    "invalid", "state or kind: unknown "
					    "value");
					call_free(k);
					return NULL;
				}
				snprintf(k->arg, sizeof(k->arg), "%s", st);
				snprintf(k->arg2, sizeof(k->arg2), "%s", kind);
				if (paging(req, k, 100) == -1) {
					call_free(k);
					return NULL;
				}
				return k;
			}
			if (method_is(req, "POST")) {
				NEW(OP_JOB_CREATE);
				if (job_body(req, k, manta) == -1) {
					call_free(k);
					return NULL;
				}
				return k;
			}
			return not_allowed(req, "GET, POST"), NULL;
		}
		rest++;
		slash = strchr(rest, '/');
		sl = slash ? (size_t)(slash - rest) : strlen(rest);
		if (!bl_uuid_valid_n(rest, sl) || sl != BL_UUID_LEN) {
			bl_http_respond_error(req, 400, "malformed", "job id: "
			    "not a canonical lowercase uuid");
			return NULL;
		}
		memcpy(seg, rest, sl);
		seg[sl] = '\0';
		if (slash == NULL) {
			if (method_is(req, "GET")) {
				NEW(manta ? OP_MANTA_GET : OP_JOB_GET);
			} else if (method_is(req, "PUT")) {
				NEW(OP_JOB_ACTION);
				if (job_update_body(req, k) == -1) {
					call_free(k);
					return NULL;
				}
			} else {
				return not_allowed(req, "GET, PUT"), NULL;
			}
			snprintf(k->id, sizeof(k->id), "%s", seg);
			return k;
		}
		if (strcmp(slash, "/tasks") == 0 && !manta) {
			char st[64] = "";

			if (!method_is(req, "GET"))
				return not_allowed(req, "GET"), NULL;
			NEW(OP_JOB_TASKS);
			snprintf(k->id, sizeof(k->id), "%s", seg);
			if (query_get(req, "state", st, sizeof(st)) == -1 ||
			    (st[0] && !mig_task_state_valid(st))) {
				bl_http_respond_error(req, 422, "invalid",
				    "state: not a task state");
				call_free(k);
				return NULL;
			}
			snprintf(k->arg, sizeof(k->arg), "%s", st);
			if (paging(req, k, 1000) == -1) {
				call_free(k);
				return NULL;
			}
			return k;
		}
		if (strcmp(slash, "/retry") == 0) {
			if (!method_is(req, "POST"))
				return not_allowed(req, "POST"), NULL;
			NEW(OP_MANTA_RETRY);
			snprintf(k->id, sizeof(k->id), "%s", seg);
			return k;
		}
		bl_http_respond_error(req, 404, "not_found", "no route for %s",
		    path);
		return NULL;
	}
	if (strcmp(path, "/v1/nodes") == 0) {
		if (!method_is(req, "GET"))
			return not_allowed(req, "GET"), NULL;
		NEW(OP_NODE_LIST);
		return k;
	}
	if (strcmp(path, "/v1/audit") == 0) {
		if (!method_is(req, "GET"))
			return not_allowed(req, "GET"), NULL;
		NEW(OP_AUDIT);
		if (paging(req, k, 100) == -1) {
			call_free(k);
			return NULL;
		}
		if (query_get(req, "who", k->arg, sizeof(k->arg)) == -1 ||
		    query_get(req, "action", k->arg2, sizeof(k->arg2)) == -1) {
			bl_http_respond_error(req, 400, "malformed", "who, "
			    "action: at most %zu characters", sizeof(k->arg) -
			    1);
			call_free(k);
			return NULL;
		}
		return k;
	}
	if (strncmp(path, "/v1/nodes/", 10) == 0) {
		const char *slash;

		rest = path + 10;
		slash = strchr(rest, '/');
		sl = slash ? (size_t)(slash - rest) : strlen(rest);
		if (!mig_node_id_valid(rest, sl)) {
			bl_http_respond_error(req, 400, "malformed", "node id: "
			    "want 1-255 of [A-Za-z0-9._-]");
			return NULL;
		}
		memcpy(seg, rest, sl);
		seg[sl] = '\0';
		if (slash == NULL) {
			if (!method_is(req, "PUT"))
				return not_allowed(req, "PUT"), NULL;
			NEW(OP_NODE_PUT);
			if (node_body(req, k) == -1) {
				call_free(k);
				return NULL;
			}
		} else if (strcmp(slash, "/drain") == 0) {
			if (!method_is(req, "POST"))
				return not_allowed(req, "POST"), NULL;
			NEW(OP_NODE_DRAIN);
		} else {
			bl_http_respond_error(req, 404, "not_found", "no route "
			    "for %s", path);
			return NULL;
		}
		snprintf(k->id, sizeof(k->id), "%s", seg);
		return k;
	}
	if (strcmp(path, "/v1/objects/import") == 0) {
		if (!method_is(req, "POST"))
			return not_allowed(req, "POST"), NULL;
		if (query_get(req, "allow_unknown_nodes", seg, sizeof(seg))
		    != 0 && strcmp(seg, "true") != 0 &&
		    strcmp(seg, "false") != 0) {
			bl_http_respond_error(req, 400, "malformed",
			    "allow_unknown_nodes: want true or false");
			return NULL;
		}
		NEW(OP_IMPORT);
		k->num = query_get(req, "allow_unknown_nodes", seg,
		    sizeof(seg)) == 1 && strcmp(seg, "true") == 0;
		return k;
	}
	if (strcmp(path, "/v1/objects/export") == 0) {
		if (!method_is(req, "GET"))
			return not_allowed(req, "GET"), NULL;
		NEW(OP_EXPORT);
		return k;
	}
	if (strncmp(path, "/v1/objects/", 12) == 0) {
		rest = path + 12;
		if (!method_is(req, "GET"))
			return not_allowed(req, "GET"), NULL;
		if (!bl_uuid_valid(rest)) {
			bl_http_respond_error(req, 400, "malformed", "object id:"
			    " not a canonical lowercase uuid");
			return NULL;
		}
		NEW(OP_OBJECT_GET);
		snprintf(k->id, sizeof(k->id), "%s", rest);
		return k;
	}
#undef NEW
	bl_http_respond_error(req, 404, "not_found", "no route for %s %s",
	    bl_http_req_method(req), path);
	return NULL;
}

/* GET /ui: the page only talks to its own origin, runs only its inline
 * script and cannot be framed. */
static void
serve_ui(struct bl_http_req *req)
{
	if (!method_is(req, "GET") && !method_is(req, "HEAD"))
		return not_allowed(req, "GET, HEAD");
	bl_http_req_add_header(req, "Content-Security-Policy", "default-src "
	    "'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
	    "connect-src 'self'; img-src data:; frame-ancestors 'none'; "
	    "base-uri 'none'; form-action 'none'");
	bl_http_req_add_header(req, "X-Content-Type-Options", "nosniff");
	bl_http_req_add_header(req, "Referrer-Policy", "no-referrer");
	bl_http_req_add_header(req, "Cache-Control", "no-cache");
	bl_http_respond(req, 200, "text/html; charset=utf-8", ctl_ui_html,
	    ctl_ui_html_len);
}

/* A reference to the reused GET /v1/status text when it is fresh or a
 * refresh is under way; NULL otherwise. */
static struct ctl_text *
status_cached(struct ctl *c)
{
	struct ctl_text *t = NULL;

	pthread_mutex_lock(&c->smu);
	if (c->status != NULL && (c->status_refreshing || now_mono() -
	    c->status_at < CTL_STATUS_TTL_S)) {
		t = c->status;
		atomic_fetch_add(&t->refs, 1);
	}
	pthread_mutex_unlock(&c->smu);
	return t;
}

/* The handler of every front (arg): it runs on that front's loop. */
void
ctl_api_handle(struct bl_http_req *req, void *arg)
{
	struct ctl_front *f = arg;
	struct ctl *c = f->ctl;
	struct who t;
	struct ctl_call *k;
	struct ctl_text *cached;

	/* Scraped without a token unless metrics_auth says otherwise. */
	if (strcmp(bl_http_req_path(req), "/metrics") == 0 &&
	    (!c->cfg->metrics_auth || authenticate(c, req, &t))) {
		if (!method_is(req, "GET"))
			return not_allowed(req, "GET");
		if ((k = calloc(1, sizeof(*k))) == NULL) {
			bl_http_respond_error(req, 503, "unavailable",
			    "out of memory");
			return;
		}
		k->op = OP_METRICS;
		submit(f, req, k);
		return;
	}
	/* The status page holds no data: it is served without a token and
	 * its own calls carry the viewer's. */
	if (strcmp(bl_http_req_path(req), "/ui") == 0)
		return serve_ui(req);
	if (!authenticate(c, req, &t)) {
		bl_http_req_add_header(req, "WWW-Authenticate", "Bearer");
		bl_http_respond_error(req, 401, "unauthorized", "missing or "
		    "unknown bearer token");
		return;
	}
	if (!method_is(req, "GET") && !method_is(req, "HEAD")) {
		pthread_mutex_lock(&c->smu);
		c->writes++;
		cached = status_take_locked(c);
		pthread_mutex_unlock(&c->smu);
		text_unref(cached);
	} else if (strcmp(bl_http_req_path(req), "/v1/status") == 0 &&
	    strchr(bl_http_req_target(req), '?') == NULL &&
	    (cached = status_cached(c)) != NULL) {
		/* While one call refreshes it, the others get the last text
		 * rather than queueing behind the database. */
		bl_http_respond(req, 200, "application/json", cached->s,
		    cached->len);
		text_unref(cached);
		return;
	}
	if ((k = route(c, req, &t)) != NULL) {
		pthread_mutex_lock(&c->smu);
		k->writes = c->writes;
		if (k->op == OP_STATUS)
			c->status_refreshing = 1;
		pthread_mutex_unlock(&c->smu);
		submit(f, req, k);
	}
}
