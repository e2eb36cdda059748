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

/* One function an operation, on a worker with its own connection: the
 * answer in *j (status 200 unless it sets k->status), or -1 with err. */
typedef int (*run_fn)(struct ctl_call *k, PGconn *db, json_t **j,
    struct bl_err *err);

#define J(expr) return (*j = (expr)) != NULL ? 0 : -1

static int
run_metrics(struct ctl_call *k, PGconn *db, json_t **j, struct bl_err *err)
{
	/* db may be NULL: the in-process metrics are still served. */
	k->text = ctl_metrics_scrape(k->ctl->metrics, db, &k->text_len, err);
	return k->text != NULL ? 0 : -1;
}

static int
run_status(struct ctl_call *k, PGconn *db, json_t **j, struct bl_err *err)
{
	J(ctl_api_status(k->ctl, db, err));
}

static int
run_cluster(struct ctl_call *k, PGconn *db, json_t **j, struct bl_err *err)
{
	J(ctl_api_cluster(db, err));
}

static int
run_plan(struct ctl_call *k, PGconn *db, json_t **j, struct bl_err *err)
{
	J(ctl_api_plan(k->ctl, db, (int)k->num, err));
}

static int
run_policy_get(struct ctl_call *k, PGconn *db, json_t **j,
    struct bl_err *err)
{
	J(ctl_api_policy_get(k->ctl, db, err));
}

static int
run_policy_put(struct ctl_call *k, PGconn *db, json_t **j,
    struct bl_err *err)
{
	J(ctl_api_policy_put(k->ctl, db, k->op == CTL_OP_POLICY_PUT ? k->params :
	    NULL, k->who, &k->interval, err));
}

static int
run_cycles(struct ctl_call *k, PGconn *db, json_t **j, struct bl_err *err)
{
	J(ctl_api_cycles(db, k->limit, k->offset, err));
}

static int
run_placement(struct ctl_call *k, PGconn *db, json_t **j,
    struct bl_err *err)
{
	J(ctl_api_placement(k->ctl, db, k->id, (int)k->num, err));
}

static int
run_pause(struct ctl_call *k, PGconn *db, json_t **j, struct bl_err *err)
{
	J(ctl_api_pause(k->ctl, db, k->op == CTL_OP_CTL_PAUSE, k->who, err));
}

static int
run_job_create(struct ctl_call *k, PGconn *db, json_t **j,
    struct bl_err *err)
{
	char id[37];

	if (k->op == CTL_OP_MANTA_RETRY) {
		json_decref(k->params);
		k->params = json_pack("{s:s}", "job", k->id);
		snprintf(k->arg, sizeof(k->arg), "retry");
	}
	if (mig_job_params_check(db, k->arg, k->params, err) == -1 ||
	    mig_job_create(db, k->arg, "operator", k->params,
	    strcmp(k->arg, "retry") == 0 ? json_string_value(
	    json_object_get(k->params, "job")) : NULL, k->who, id, err) == -1)
		return -1;
	k->status = 201;
	k->wake = 1;
	/* Manta's shape, and its retry route, answer the bare id. */
	J(k->manta || k->op == CTL_OP_MANTA_RETRY ? json_string(id) :
	    json_pack("{s:s}", "id", id));
}

static int
run_job_list(struct ctl_call *k, PGconn *db, json_t **j, struct bl_err *err)
{
	json_t *arr, *it, *l = mig_job_list(db, k->arg[0] ? k->arg : NULL,
	    k->arg2[0] ? k->arg2 : NULL, k->limit, k->offset, err);
	size_t i;

	if (l == NULL)
		return -1;
	if (!k->manta)
		J(json_pack("{s:o,s:I,s:I}", "jobs", l, "limit",
		    (json_int_t)k->limit, "offset", (json_int_t)k->offset));
	arr = json_array();
	json_array_foreach(l, i, it)
		json_array_append_new(arr, json_pack("{s:O,s:O,s:O}", "id",
		    json_object_get(it, "id"), "action", json_object_get(it,
		    "kind"), "state", json_object_get(it, "state")));
	json_decref(l);
	J(arr);
}

static int
run_job_get(struct ctl_call *k, PGconn *db, json_t **j, struct bl_err *err)
{
	json_t *g = mig_job_get(db, k->id, err), *m;

	if (g == NULL || !k->manta)
		J(g);
	m = manta_job(g);
	json_decref(g);
	J(m);
}

static int
run_job_tasks(struct ctl_call *k, PGconn *db, json_t **j,
    struct bl_err *err)
{
	json_t *t = mig_job_tasks(db, k->id, k->arg[0] ? k->arg : NULL,
	    k->limit, k->offset, err);

	J(t != NULL ? json_pack("{s:o}", "tasks", t) : NULL);
}

/* PUT /v1/jobs/{id}: an action, the committer threads or the throttle;
 * each wakes the engine (it tells the agents of a throttle at once). */
static int
run_job_update(struct ctl_call *k, PGconn *db, json_t **j,
    struct bl_err *err)
{
	k->wake = 1;
	switch (k->op) {
	case CTL_OP_JOB_THREADS:
		if (mig_set_metadata_threads(db, k->id, (long)k->num, k->who,
		    err) == -1)
			return -1;
		J(json_pack("{s:s,s:I}", "id", k->id, "metadata_threads",
		    (json_int_t)k->num));
	case CTL_OP_JOB_THROTTLE:
		if (mig_set_throttle(db, k->id, k->num, k->who, err) == -1)
			return -1;
		J(json_pack("{s:s,s:I}", "id", k->id, "throttle_bytes_per_sec",
		    (json_int_t)k->num));
	default:
		if (mig_job_action(db, k->id, k->arg, k->who, err) == -1)
			return -1;
		J(mig_job_get(db, k->id, err));
	}
}

static int
run_node_put(struct ctl_call *k, PGconn *db, json_t **j, struct bl_err *err)
{
	int created = 0;

	if (mig_node_put(db, k->id, k->params, k->who, &created, err) == -1)
		return -1;
	k->status = created ? 201 : 200;
	J(json_pack("{s:s,s:b}", "id", k->id, "created", created));
}

static int
run_node_drain(struct ctl_call *k, PGconn *db, json_t **j,
    struct bl_err *err)
{
	if (mig_node_drain(db, k->id, k->who, err) == -1)
		return -1;
	J(json_pack("{s:s,s:s}", "id", k->id, "state", "draining"));
}

static int
run_node_list(struct ctl_call *k, PGconn *db, json_t **j,
    struct bl_err *err)
{
	json_t *l = mig_node_list(db, err);

	J(l != NULL ? json_pack("{s:o}", "nodes", l) : NULL);
}

static int
run_audit(struct ctl_call *k, PGconn *db, json_t **j, struct bl_err *err)
{
	J(mig_audit_list(db, k->arg[0] ? k->arg : NULL, k->arg2[0] ? k->arg2 :
	    NULL, k->limit, k->offset, err));
}

static int
run_object_get(struct ctl_call *k, PGconn *db, json_t **j,
    struct bl_err *err)
{
	J(mig_object_get(db, k->id, err));
}

static int
run_import(struct ctl_call *k, PGconn *db, json_t **j, struct bl_err *err)
{
	size_t len;
	const char *body = bl_http_req_body(k->req, &len);
	long long rows = 0;
	json_t *unknown;

	if (mig_objects_import(db, body, len, k->who, k->num == 1, &rows,
	    &unknown, err) == -1)
		return -1;
	J(unknown == NULL ? json_pack("{s:I}", "imported", (json_int_t)rows) :
	    json_pack("{s:I,s:o}", "imported", (json_int_t)rows,
	    "unknown_nodes", unknown));
}

/* GET /v1/objects/export: the CSV into an unlinked temporary file, which
 * the loop then sends (bl_http_respond_fd_take). */
static int
run_export(struct ctl_call *k, PGconn *db, json_t **j, struct bl_err *err)
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

#undef J

static const run_fn runs[CTL_OP_N] = {
	[CTL_OP_STATUS] = run_status,
	[CTL_OP_JOB_CREATE] = run_job_create,
	[CTL_OP_JOB_LIST] = run_job_list,
	[CTL_OP_JOB_GET] = run_job_get,
	[CTL_OP_JOB_TASKS] = run_job_tasks,
	[CTL_OP_JOB_ACTION] = run_job_update,
	[CTL_OP_JOB_THREADS] = run_job_update,
	[CTL_OP_JOB_THROTTLE] = run_job_update,
	[CTL_OP_NODE_PUT] = run_node_put,
	[CTL_OP_NODE_DRAIN] = run_node_drain,
	[CTL_OP_NODE_LIST] = run_node_list,
	[CTL_OP_AUDIT] = run_audit,
	[CTL_OP_OBJECT_GET] = run_object_get,
	[CTL_OP_IMPORT] = run_import,
	[CTL_OP_MANTA_LIST] = run_job_list,
	[CTL_OP_MANTA_GET] = run_job_get,
	[CTL_OP_MANTA_RETRY] = run_job_create,
	[CTL_OP_METRICS] = run_metrics,
	[CTL_OP_CLUSTER] = run_cluster,
	[CTL_OP_PLAN] = run_plan,
	[CTL_OP_POLICY_GET] = run_policy_get,
	[CTL_OP_POLICY_PUT] = run_policy_put,
	[CTL_OP_POLICY_DELETE] = run_policy_put,
	[CTL_OP_CYCLES] = run_cycles,
	[CTL_OP_PLACEMENT] = run_placement,
	[CTL_OP_CTL_PAUSE] = run_pause,
	[CTL_OP_CTL_RESUME] = run_pause,
	[CTL_OP_EXPORT] = run_export,
};

static void
run_call(struct ctl_call *k, PGconn *db)
{
	struct bl_err err;
	json_t *j = NULL;

	bl_err_clear(&err);
	k->status = 200;
	if (runs[k->op](k, db, &j, &err) == -1) {
		json_decref(j);
		fail(k, db, &err);
		return;
	}
	k->resp = j;
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
		if (db == NULL && now_mono() >= retry_at(c, -1)) {
			if ((db = bl_pg_connect(c->cfg->database, 2, &err)) ==
			    NULL)
				retry_at(c, now_mono() + 1.0);
			else	/* it is back: the other workers need not wait */
				retry_at(c, 0);
		}
		if (db == NULL && k->op == CTL_OP_METRICS) {
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
		else if (k->op == CTL_OP_STATUS)
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
	if ((rc = bl_http_req_query(req, key, buf, sizeof(buf))) == 0)
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
		k->op = CTL_OP_JOB_ACTION;
		snprintf(k->arg, sizeof(k->arg), "%s", u.action);
		break;
	case MIG_UPDATE_THREADS:
		k->op = CTL_OP_JOB_THREADS;
		k->num = u.num;
		break;
	default:
		k->op = CTL_OP_JOB_THROTTLE;
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

/* --- the route table ------------------------------------------------------ */

/* Checks what the loop can check (query, body) into k; -1 when answered. */
typedef int (*parse_fn)(struct ctl *c, struct bl_http_req *req,
    struct ctl_call *k);

static int
parse_plan(struct ctl *c, struct bl_http_req *req, struct ctl_call *k)
{
	char buf[64];
	int rc;

	k->num = -1;
	if ((rc = bl_http_req_query(req, "preset", buf, sizeof(buf))) != 0 &&
	    (rc == -1 || (k->num = pol_preset_parse(buf)) < 0)) {
		bl_http_respond_error(req, 422, "invalid", "preset: expected "
		    "default, aggressive or conservative");
		return -1;
	}
	return 0;
}

static int
parse_placement(struct ctl *c, struct bl_http_req *req, struct ctl_call *k)
{
	long n;

	if (bl_http_req_query(req, "object", k->id, sizeof(k->id)) != 1 ||
	    !bl_uuid_valid(k->id)) {
		bl_http_respond_error(req, 400, "malformed", "object: want a "
		    "canonical lowercase uuid");
		return -1;
	}
	if (query_num(req, "copies", 1, PLC_COPIES_MAX, 2, &n) == -1)
		return -1;
	k->num = n;
	return 0;
}

static int
parse_body_object(struct ctl *c, struct bl_http_req *req, struct ctl_call *k)
{
	return (k->params = parse_body(req)) != NULL ? 0 : -1;
}

static int
parse_run(struct ctl *c, struct bl_http_req *req, struct ctl_call *k)
{
	ctl_loop_kick(c);
	bl_http_respond_json_take(req, 202, json_pack("{s:b}", "queued", 1));
	return -1;
}

static int
parse_page50(struct ctl *c, struct bl_http_req *req, struct ctl_call *k)
{
	return paging(req, k, 50);
}

static int
parse_audit(struct ctl *c, struct bl_http_req *req, struct ctl_call *k)
{
	if (paging(req, k, 100) == -1)
		return -1;
	if (bl_http_req_query(req, "who", k->arg, sizeof(k->arg)) == -1 ||
	    bl_http_req_query(req, "action", k->arg2, sizeof(k->arg2)) == -1) {
		bl_http_respond_error(req, 400, "malformed", "who, action: at "
		    "most %zu characters", sizeof(k->arg) - 1);
		return -1;
	}
	return 0;
}

static int
parse_job_list(struct ctl *c, struct bl_http_req *req, struct ctl_call *k)
{
	if (bl_http_req_query(req, "state", k->arg, sizeof(k->arg)) == -1 ||
	    (k->arg[0] && !mig_job_state_valid(k->arg)) ||
	    bl_http_req_query(req, "kind", k->arg2, sizeof(k->arg2)) == -1 ||
	    (k->arg2[0] && strcmp(k->arg2, "evacuate") != 0 &&
	    strcmp(k->arg2, "retry") != 0 && strcmp(k->arg2, "rebalance") !=
	    0)) {
		bl_http_respond_error(req, 422, "invalid", "state or kind: "
		    "unknown value");
		return -1;
	}
	return paging(req, k, 100);
}

static int
parse_job_create(struct ctl *c, struct bl_http_req *req, struct ctl_call *k)
{
	return job_body(req, k, k->manta);
}

static int
parse_job_update(struct ctl *c, struct bl_http_req *req, struct ctl_call *k)
{
	return job_update_body(req, k);
}

static int
parse_tasks(struct ctl *c, struct bl_http_req *req, struct ctl_call *k)
{
	if (bl_http_req_query(req, "state", k->arg, sizeof(k->arg)) == -1 ||
	    (k->arg[0] && !mig_task_state_valid(k->arg))) {
		bl_http_respond_error(req, 422, "invalid", "state: not a task "
		    "state");
		return -1;
	}
	return paging(req, k, 1000);
}

static int
parse_node(struct ctl *c, struct bl_http_req *req, struct ctl_call *k)
{
	return node_body(req, k);
}

static int
parse_import(struct ctl *c, struct bl_http_req *req, struct ctl_call *k)
{
	char v[16];
	int rc = bl_http_req_query(req, "allow_unknown_nodes", v, sizeof(v));

	if (rc != 0 && (rc == -1 || (strcmp(v, "true") != 0 &&
	    strcmp(v, "false") != 0))) {
		bl_http_respond_error(req, 400, "malformed",
		    "allow_unknown_nodes: want true or false");
		return -1;
	}
	k->num = rc == 1 && strcmp(v, "true") == 0;
	return 0;
}

/* What each operation checks on the loop before it is queued. */
static const parse_fn parses[CTL_OP_N] = {
	[CTL_OP_PLAN] = parse_plan,
	[CTL_OP_POLICY_PUT] = parse_body_object,
	[CTL_OP_CYCLES] = parse_page50,
	[CTL_OP_PLACEMENT] = parse_placement,
	[CTL_OP_RUN] = parse_run,
	[CTL_OP_AUDIT] = parse_audit,
	[CTL_OP_JOB_LIST] = parse_job_list,
	[CTL_OP_MANTA_LIST] = parse_job_list,
	[CTL_OP_JOB_CREATE] = parse_job_create,
	[CTL_OP_JOB_ACTION] = parse_job_update,
	[CTL_OP_JOB_TASKS] = parse_tasks,
	[CTL_OP_NODE_PUT] = parse_node,
	[CTL_OP_IMPORT] = parse_import,
};

/* The "{id}" segment of path for pattern: a uuid for jobs and objects, a
 * node id for nodes. 0, or -1 when answered (400). */
static int
route_segment(struct bl_http_req *req, const char *pat, const char *seg)
{
	if (strstr(pat, "{id}") == NULL)
		return 0;
	if (strncmp(pat, "/v1/nodes/", 10) == 0) {
		if (mig_node_id_valid(seg, strlen(seg)))
			return 0;
		bl_http_respond_error(req, 400, "malformed", "node id: want "
		    "1-255 of [A-Za-z0-9._-]");
		return -1;
	}
	if (bl_uuid_valid(seg))
		return 0;
	bl_http_respond_error(req, 400, "malformed", "%s id: not a canonical "
	    "lowercase uuid", strncmp(pat, "/v1/objects/", 12) == 0 ?
	    "object" : "job");
	return -1;
}

/* A change needs an operator token and the leader: 403 or 503 (with the
 * leader's URL). 0, or -1 when answered. */
static int
route_may_write(struct ctl *c, struct bl_http_req *req, const struct who *t)
{
	struct ctl_leader v;

	if (!t->operator) {
		bl_http_respond_error(req, 403, "forbidden", "token \"%s\" is a "
		    "viewer; %s needs an operator token", t->name,
		    bl_http_req_method(req));
		return -1;
	}
	ctl_leader_get(c, &v);
	if (v.leader)
		return 0;
	if (v.url[0])
		bl_http_req_add_header(req, "X-Ballast-Leader", v.url);
	bl_http_respond_json_take(req, 503, json_pack("{s:{s:s,s:s,s:s,s:s}}",
	    "error", "code", "not_leader", "message", "this instance is a "
	    "follower; send changes to the leader", "leader", v.instance,
	    "leader_url", v.url));
	return -1;
}

/* No route for the request: 400 when it names a bad id where a route has
 * one ("/jobs/../x"), 405 with the table's methods for path in Allow, or
 * 404. */
static void
route_none(struct bl_http_req *req, const char *path)
{
	const struct ctl_route *rt;
	char allow[64], seg[512];
	size_t n, pl;

	rt = ctl_routes(&n);
	for (size_t i = 0; i < n; i++) {
		const char *id = strstr(rt[i].pattern, "{id}");

		if (id == NULL || strncmp(path, rt[i].pattern, (size_t)(id -
		    rt[i].pattern)) != 0)
			continue;
		pl = (size_t)(id - rt[i].pattern);
		snprintf(seg, sizeof(seg), "%.*s", (int)strcspn(path + pl, "/"),
		    path + pl);
		if (seg[0] != '\0' && route_segment(req, rt[i].pattern, seg) ==
		    -1)
			return;
	}
	if (ctl_route_allow(path, allow, sizeof(allow)) > 0)
		not_allowed(req, allow);
	else
		bl_http_respond_error(req, 404, "not_found", "no route for %s "
		    "%s", bl_http_req_method(req), path);
}

/* Routes the request (controller/routes.c's table): checks the route's
 * flags and id, then its operation's parse. Returns the call to queue,
 * or NULL when answered. */
static struct ctl_call *
route(struct ctl *c, struct bl_http_req *req, const struct who *t)
{
	const char *path = bl_http_req_path(req);
	const struct ctl_route *r;
	struct ctl_call *k;
	char seg[512];	/* longer than any valid id: checked */

	seg[0] = '\0';
	if ((r = ctl_route_find(bl_http_req_method(req), path, seg,
	    sizeof(seg))) == NULL) {
		route_none(req, path);
		return NULL;
	}
	if (route_segment(req, r->pattern, seg) == -1 ||
	    ((r->flags & CTL_R_WRITE) && route_may_write(c, req, t) == -1))
		return NULL;
	if (r->op == CTL_OP_RUN) {
		parse_run(c, req, NULL);	/* answered on the loop */
		return NULL;
	}
	if ((k = call_new(r->op, t)) == NULL) {
		bl_http_respond_error(req, 503, "unavailable", "out of memory");
		return NULL;
	}
	k->manta = (r->flags & CTL_R_MANTA) != 0;
	snprintf(k->id, sizeof(k->id), "%s", seg);
	if (parses[r->op] != NULL && parses[r->op](c, req, k) == -1) {
		call_free(k);
		return NULL;
	}
	return k;
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
		k->op = CTL_OP_METRICS;
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
		if (k->op == CTL_OP_STATUS)
			c->status_refreshing = 1;
		pthread_mutex_unlock(&c->smu);
		submit(f, req, k);
	}
}
