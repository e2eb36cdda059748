/* migrate/clean.c - the cleaner: removes orphan copies and, after the
 * grace period, the source copies of committed moves (docs/engine.md,
 * step 7).
 *
 * It runs beside the engine's tick, on its own thread, database connection
 * and libev loop: a source agent that makes a burst of deletes durable
 * takes seconds, and the tick (dispatch, poll, commit) used to wait for
 * it. A round selects up to CLEAN_BATCH rows, sends them as one POST
 * /v1/deletes per agent, all agents in parallel (one DELETE per object to
 * an agent without that route), and records the outcomes in one
 * statement; a full round is followed at once by the next, otherwise the
 * cleaner waits for the engine's poll interval or a wake.
 *
 * A copy is deleted only when the metadata does not list that node, read
 * in the round's SELECT; the agent deletes only the file it verified (same
 * MD5, same inode), so a copy placed there since is kept.
 */
#include "migrate/engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/pg.h"
#include "lib/wire.h"

#define CLEAN_BATCH 1000

struct mig_cleaner {
	struct mig_engine	*e;		/* borrows: opts under e->mu */
	pthread_t		 th;
	int			 started;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 stop;		/* under mu */
	int			 woken;		/* under mu */
	PGconn			*db;		/* owns; cleaner thread only */
	struct ev_loop		*loop;		/* owns */
	struct bl_http_client	*http;		/* owns */
	int			 db_was_down;
	struct mig_backoffs	 bo;		/* cleaner thread only */
};

/* The engine's settings the cleaner uses, read under e->mu (a reload
 * replaces e->o on the engine thread). */
struct clean_opts {
	long	grace_s;
	long	timeout_s;
	long	poll_ms;
	size_t	secret_len;
};

static void
clean_opts_get(struct mig_cleaner *c, struct clean_opts *o)
{
	pthread_mutex_lock(&c->e->mu);
	o->grace_s = c->e->o.source_delete_grace_s;
	o->timeout_s = c->e->o.agent_timeout_s;
	o->poll_ms = c->e->o.poll_interval_ms;
	o->secret_len = c->e->o.secret_len;
	pthread_mutex_unlock(&c->e->mu);
}

static int
clean_db_fail(struct mig_cleaner *c, const struct bl_err *err,
    const char *what)
{
	log_warnx("engine: %s: %s", what, err->msg);
	if (c->db != NULL && !bl_pg_ok(c->db)) {
		PQfinish(c->db);
		c->db = NULL;
	}
	return -1;
}

static int
clean_ensure_db(struct mig_cleaner *c)
{
	struct bl_err err;

	if (c->db != NULL && bl_pg_ok(c->db))
		return 0;
	if (c->db != NULL)
		PQfinish(c->db);
	if ((c->db = bl_pg_connect(c->e->conninfo, 3, &err)) == NULL) {
		/* The engine's tick logs the outage; say it once here. */
		if (!c->db_was_down)
			log_warnx("engine: cleaner: database unreachable: %s",
			    err.msg);
		c->db_was_down = 1;
		return -1;
	}
	c->db_was_down = 0;
	return 0;
}

/* Columns of the round's SELECT. */
enum { C_JOB, C_OBJECT, C_OWNER, C_MD5, C_KIND, C_LISTED, C_URL, C_REACH,
	C_DEST_URL, C_NODE };

/* What to record for row i after its call (NULL: try again next round). */
static const char *
clean_outcome(const PGresult *r, int i, long status)
{
	int src = strcmp(PQgetvalue(r, i, C_KIND), "source") == 0;
	int listed = strcmp(PQgetvalue(r, i, C_LISTED), "t") == 0;
	int reach = strcmp(PQgetvalue(r, i, C_REACH), "t") == 0;

	if (listed)
		return src ? "left" : "done";	/* never delete a listed copy */
	if (status == 200 || status == 404)
		return "done";
	if (status == 409)
		return "left";		/* a different object: kept */
	if (src && !reach)
		return "left";		/* source gone: nothing to do */
	return NULL;
}

/* A round holds at most one request per node. */
_Static_assert(CLEAN_BATCH <= BL_WIRE_MAX_DELETES,
    "a round's rows of one node must fit one POST /v1/deletes");

/* One request of the round: one node's rows, sent to its agent as POST
 * /v1/deletes. */
struct clean_req {
	const char	*node;		/* borrows: the round's result */
	const char	*url;		/* borrows: the round's result */
	json_t		*objs;		/* owns until sent */
	int		*rows;		/* owns: nrows of cap */
	size_t		 nrows, cap;
};

/* The body of row i's delete, for POST /v1/deletes (with_ids) or for a
 * DELETE of the object's own path. */
static json_t *
clean_item(const PGresult *r, int i, int with_ids)
{
	const char *dest = PQgetvalue(r, i, C_DEST_URL);
	json_t *o = json_pack("{s:s}", "md5", PQgetvalue(r, i, C_MD5));

	if (o == NULL)
		return NULL;
	if (with_ids) {
		json_object_set_new(o, "owner",
		    json_string(PQgetvalue(r, i, C_OWNER)));
		json_object_set_new(o, "object_id",
		    json_string(PQgetvalue(r, i, C_OBJECT)));
	}
	if (strcmp(PQgetvalue(r, i, C_KIND), "source") == 0 && *dest != '\0')
		json_object_set_new(o, "forward_to", json_string(dest));
	return o;
}

/* Groups the rows to delete by node: 0, or -1 out of memory. */
static int
clean_group(const PGresult *r, int n, struct clean_req *q, size_t *nq,
    long *status)
{
	for (int i = 0; i < n; i++) {
		const char *url = PQgetvalue(r, i, C_URL);
		const char *node = PQgetvalue(r, i, C_NODE);
		struct clean_req *x = NULL;
		json_t *o;

		if (strcmp(PQgetvalue(r, i, C_LISTED), "t") == 0 ||
		    *url == '\0' || strcmp(PQgetvalue(r, i, C_REACH), "t") != 0)
			continue;	/* not sent: skipped */
		for (size_t k = 0; k < *nq && x == NULL; k++)
			if (strcmp(q[k].node, node) == 0)
				x = &q[k];
		if (x == NULL) {
			x = &q[(*nq)++];
			x->node = node;
			x->url = url;
			if ((x->objs = json_array()) == NULL)
				return -1;
		}
		if (x->nrows == x->cap) {
			size_t cap = x->cap ? 2 * x->cap : 16;
			int *rows = realloc(x->rows, cap * sizeof(*rows));

			if (rows == NULL)
				return -1;
			x->rows = rows;
			x->cap = cap;
		}
		if ((o = clean_item(r, i, 1)) == NULL ||
		    json_array_append_new(x->objs, o) == -1)
			return -1;
		x->rows[x->nrows++] = i;
		status[i] = 0;		/* sent; no answer yet */
	}
	return 0;
}

/* Copies the per-object statuses of a POST /v1/deletes answer into
 * status[]. An answer that does not name the rows in order gives none:
 * they are asked again next round. */
static void
clean_results(const PGresult *r, const struct clean_req *x,
    const json_t *ans, long *status)
{
	const json_t *res = json_object_get(ans, "results");

	if (json_array_size(res) != x->nrows) {
		log_warnx("engine: cleanup: %s: an answer without one result "
		    "per object", x->url);
		return;
	}
	for (size_t j = 0; j < x->nrows; j++) {
		const json_t *o = json_array_get(res, j);
		const char *ow = json_string_value(json_object_get(o, "owner"));
		const char *id = json_string_value(json_object_get(o,
		    "object_id"));
		json_t *st = json_object_get(o, "status");
		int i = x->rows[j];

		if (ow == NULL || id == NULL || !json_is_integer(st) ||
		    strcmp(ow, PQgetvalue(r, i, C_OWNER)) != 0 ||
		    strcmp(id, PQgetvalue(r, i, C_OBJECT)) != 0) {
			log_warnx("engine: cleanup: %s: result %zu does not "
			    "name its object", x->url, j);
			continue;
		}
		status[i] = (long)json_integer_value(st);
	}
}

/* Agents from before POST /v1/deletes (404, 405), or with a max_body too
 * small for one (413), get one DELETE per object. */
static void
clean_singly(struct mig_cleaner *c, const struct bl_acall_opts *ao,
    const PGresult *r, const struct clean_req *x, long *status)
{
	struct bl_acall *calls;

	if ((calls = calloc(x->nrows, sizeof(*calls))) == NULL)
		return;
	for (size_t j = 0; j < x->nrows; j++) {
		int i = x->rows[j];
		char target[128];
		json_t *body = clean_item(r, i, 0);

		snprintf(target, sizeof(target), "/v1/objects/%s/%s",
		    PQgetvalue(r, i, C_OWNER), PQgetvalue(r, i, C_OBJECT));
		bl_acall_set(&calls[j], "DELETE", x->url, target, body ?
		    json_dumps(body, JSON_COMPACT) : NULL);
		json_decref(body);
	}
	bl_acalls_run(c->loop, c->http, ao, calls, x->nrows);
	for (size_t j = 0; j < x->nrows; j++)
		status[x->rows[j]] = calls[j].status;
	bl_acalls_release(calls, x->nrows);
	free(calls);
}

/* After a request's answers: a node none of whose deletes got an outcome
 * is held back (mig_backoff_fail), so that the next rounds select other
 * nodes' deletes; a node with one outcome is let back in. Without it, a
 * round's worth of deletes failing on one node (a disk gone read-only)
 * were selected again every round, and no other deletion ever was. */
static void
clean_hold(struct mig_cleaner *c, const PGresult *r,
    const struct clean_req *x, const long *status)
{
	long first = status[x->rows[0]];
	char why[32] = "no answer";
	double wait;

	for (size_t j = 0; j < x->nrows; j++)
		if (clean_outcome(r, x->rows[j], status[x->rows[j]]) != NULL) {
			mig_backoff_clear(&c->bo, x->node);
			return;
		}
	if ((wait = mig_backoff_fail(&c->bo, x->node, mig_now())) < 0)
		return;
	if (first > 0)
		snprintf(why, sizeof(why), "HTTP %ld", first);
	log_warnx("engine: cleanup: node %s: %zu deletes failed (%s); its "
	    "deletes wait %.0f s", x->node, x->nrows, why, wait);
}

/* Sends the round's deletes, one POST /v1/deletes per node, fills
 * status[] for the rows sent (0: no answer; rows not sent keep theirs)
 * and holds back the nodes that failed. 0, or -1 out of memory. */
static int
clean_send(struct mig_cleaner *c, const struct bl_acall_opts *ao,
    const PGresult *r, int n, long *status)
{
	struct clean_req *q;
	struct bl_acall *calls = NULL;
	size_t nq = 0;
	int rc = -1;

	if ((q = calloc((size_t)n, sizeof(*q))) == NULL)
		return -1;
	if (clean_group(r, n, q, &nq, status) == -1 ||
	    (nq > 0 && (calls = calloc(nq, sizeof(*calls))) == NULL))
		goto out;
	for (size_t k = 0; k < nq; k++) {
		json_t *body = json_pack("{s:O}", "objects", q[k].objs);

		bl_acall_set(&calls[k], "POST", q[k].url, "/v1/deletes",
		    body ? json_dumps(body, JSON_COMPACT) : NULL);
		json_decref(body);
	}
	bl_acalls_run(c->loop, c->http, ao, calls, nq);
	for (size_t k = 0; k < nq; k++) {
		long st = calls[k].status;

		if (st == 200 && calls[k].json != NULL) {
			clean_results(r, &q[k], calls[k].json, status);
		} else if (st == 404 || st == 405 || st == 413) {
			log_info("engine: cleanup: %s: POST /v1/deletes: HTTP "
			    "%ld; one DELETE per object", q[k].url, st);
			clean_singly(c, ao, r, &q[k], status);
		} else if (st != 0) {
			log_warnx("engine: cleanup: %s: POST /v1/deletes: "
			    "HTTP %ld", q[k].url, st);
		}
		clean_hold(c, r, &q[k], status);
	}
	rc = 0;
out:
	if (calls != NULL)
		bl_acalls_release(calls, nq);
	free(calls);
	for (size_t k = 0; k < nq; k++) {
		json_decref(q[k].objs);
		free(q[k].rows);
	}
	free(q);
	return rc;
}

static struct mig_backoff *
backoff_find(const struct mig_backoffs *b, const char *node)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->v[i].node, node) == 0)
			return &b->v[i];
	return NULL;
}

double
mig_backoff_fail(struct mig_backoffs *b, const char *node, double now)
{
	struct mig_backoff *x = backoff_find(b, node);
	double wait = MIG_BACKOFF_MIN_S;

	if (x == NULL) {
		if (b->n == b->cap) {
			size_t cap = b->cap ? 2 * b->cap : 8;
			struct mig_backoff *v = realloc(b->v, cap * sizeof(*v));

			if (v == NULL)
				return -1;
			b->v = v;
			b->cap = cap;
		}
		x = &b->v[b->n];
		if ((x->node = strdup(node)) == NULL)
			return -1;
		x->tries = 0;
		b->n++;
	}
	for (int i = 0; i < x->tries && wait < MIG_BACKOFF_MAX_S; i++)
		wait *= 2;
	if (wait > MIG_BACKOFF_MAX_S)
		wait = MIG_BACKOFF_MAX_S;
	x->tries++;
	x->due = now + wait;
	return wait;
}

void
mig_backoff_clear(struct mig_backoffs *b, const char *node)
{
	struct mig_backoff *x = backoff_find(b, node);

	if (x == NULL)
		return;
	free(x->node);
	*x = b->v[--b->n];
}

int
mig_backoff_held(const struct mig_backoffs *b, double now, struct arr *a)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].due > now && mig_arr_push(a, b->v[i].node) == -1)
			return -1;
	return 0;
}

void
mig_backoffs_free(struct mig_backoffs *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].node);
	free(b->v);
	memset(b, 0, sizeof(*b));
}

/* One round: 0 with *n the rows selected and *done the outcomes recorded,
 * or -1. */
static int
clean_round(struct mig_cleaner *c, const struct clean_opts *o, int *n,
    int *done)
{
	struct bl_acall_opts ao = { c->e->secret, o->secret_len, 2000,
	    o->timeout_s * 1000, 0 };
	struct arr jobs = { 0 }, objs = { 0 }, outs = { 0 }, held = { 0 };
	struct bl_err err;
	char grace[24], lim[24];
	const char *gp[3] = { grace, lim, NULL };
	PGresult *r;
	long *status;
	int nout = 0, rc = 0;

	*n = *done = 0;
	snprintf(grace, sizeof(grace), "%ld", o->grace_s);
	snprintf(lim, sizeof(lim), "%d", CLEAN_BATCH);
	if (mig_backoff_held(&c->bo, mig_now(), &held) == -1) {
		mig_arr_free(&held);
		return -1;
	}
	gp[2] = mig_arr_str(&held);
	/* Orphans: our new copy after a failed CAS. Sources: the old copy
	 * of a committed move, after the grace period. The node's agent and
	 * whether it answered come from nodes, which the tick refreshes. An
	 * orphan that is not listed and whose node cannot be asked now is
	 * not selected: it would be skipped, and a round's worth of them (a
	 * dead node's) kept every other row from being selected at all. */
	if ((r = bl_pg_exec(c->db, "SELECT t.job, t.object, t.owner, t.md5, "
	    "t.cleanup, coalesce(x.node = ANY(o.copies), false), "
	    "coalesce(n.agent_url, ''), coalesce(n.reachable, false), "
	    "coalesce(d.agent_url, ''), x.node FROM job_tasks t CROSS JOIN "
	    "LATERAL (SELECT CASE WHEN t.cleanup = 'orphan' THEN t.dest ELSE "
	    "t.source END AS node) x LEFT JOIN objects o ON o.id = t.object "
	    "LEFT JOIN nodes n ON n.id = x.node LEFT JOIN nodes d ON d.id = "
	    "t.dest WHERE ((t.cleanup = 'orphan' AND (coalesce(x.node = "
	    "ANY(o.copies), false) OR (coalesce(n.reachable, false) AND "
	    "coalesce(n.agent_url, '') <> ''))) OR (t.cleanup = 'source' "
	    "AND t.state = 'committed' AND t.committed_at <= now() - "
	    "make_interval(secs => $1::int))) AND coalesce(x.node <> "
	    "ALL($3::text[]), true) LIMIT $2", 3, gp, &err)) == NULL) {
		mig_arr_free(&held);
		return clean_db_fail(c, &err, "cleanup select");
	}
	mig_arr_free(&held);
	*n = PQntuples(r);
	if ((status = malloc((*n ? (size_t)*n : 1) * sizeof(*status))) ==
	    NULL) {
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < *n; i++)
		status[i] = -1;		/* not sent */
	if (clean_send(c, &ao, r, *n, status) == -1) {
		free(status);
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < *n; i++) {
		const char *out = clean_outcome(r, i, status[i]);

		if (out == NULL)
			continue;
		mig_arr_push(&jobs, PQgetvalue(r, i, C_JOB));
		mig_arr_push(&objs, PQgetvalue(r, i, C_OBJECT));
		mig_arr_push(&outs, out);
		nout++;
	}
	/* One statement (one commit) for the round's outcomes: a commit per
	 * task made PostgreSQL's WAL flush the bound of an evacuation. */
	if (nout > 0) {
		const char *p[3] = { mig_arr_str(&jobs), NULL, NULL };

		p[1] = mig_arr_str(&objs);
		p[2] = mig_arr_str(&outs);
		if (bl_pg_run(c->db, "UPDATE job_tasks t SET cleanup = u.c, "
		    "state = CASE WHEN t.state = 'committed' THEN 'complete' "
		    "ELSE t.state END, updated_at = now() FROM unnest($1::uuid[],"
		    " $2::uuid[], $3::text[]) AS u(j, o, c) WHERE t.job = u.j "
		    "AND t.object = u.o", 3, p, &err) == -1)
			rc = clean_db_fail(c, &err, "cleanup");
	}
	mig_arr_free(&jobs);
	mig_arr_free(&objs);
	mig_arr_free(&outs);
	PQclear(r);
	free(status);
	/* Finished tasks may finish their job: the tick sees to it. */
	if (rc == 0 && nout > 0) {
		*done = nout;
		mig_engine_wake(c->e);
	}
	return rc;
}

static void *
clean_main(void *arg)
{
	struct mig_cleaner *c = arg;

	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		struct clean_opts o;
		struct timespec ts;
		int n = 0, done = 0;

		pthread_mutex_unlock(&c->mu);
		clean_opts_get(c, &o);
		if (clean_ensure_db(c) == 0 && clean_round(c, &o, &n,
		    &done) == -1)
			n = done = 0;
		pthread_mutex_lock(&c->mu);
		if (c->stop)
			break;
		/* A full round that got somewhere: more are likely waiting. A
		 * full round of copies that cannot be deleted yet (their
		 * agent is down) waits like any other, or it would spin. */
		if ((n >= CLEAN_BATCH && done > 0) || c->woken) {
			c->woken = 0;
			continue;
		}
		mig_deadline(&ts, o.poll_ms);
		pthread_cond_timedwait(&c->cv, &c->mu, &ts);
		c->woken = 0;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

struct mig_cleaner *
mig_cleaner_new(struct mig_engine *e, const char *tls_ca_file,
    struct bl_err *err)
{
	struct mig_cleaner *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		bl_err_set(err, BL_ENOMEM, "engine: out of memory");
		return NULL;
	}
	c->e = e;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if ((c->loop = ev_loop_new(EVFLAG_AUTO)) == NULL ||
	    (c->http = bl_http_client_new(c->loop, err)) == NULL ||
	    (tls_ca_file != NULL && bl_http_client_set_tls(c->http,
	    &(struct bl_http_tls){ tls_ca_file, NULL, NULL }, err) == -1)) {
		if (c->loop == NULL)
			bl_err_set(err, BL_ENOMEM, "engine: cleaner: no loop");
		mig_cleaner_free(c);
		return NULL;
	}
	return c;
}

int
mig_cleaner_start(struct mig_cleaner *c, struct bl_err *err)
{
	if (pthread_create(&c->th, NULL, clean_main, c) != 0)
		return bl_err_set(err, BL_EIO,
		    "engine: cannot start the cleaner thread");
	c->started = 1;
	return 0;
}

void
mig_cleaner_wake(struct mig_cleaner *c)
{
	pthread_mutex_lock(&c->mu);
	c->woken = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

void
mig_cleaner_free(struct mig_cleaner *c)
{
	if (c == NULL)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->mu);
		c->stop = 1;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->th, NULL);
	}
	bl_http_client_free(c->http);
	mig_backoffs_free(&c->bo);
	if (c->loop != NULL)
		ev_loop_destroy(c->loop);
	if (c->db != NULL)
		PQfinish(c->db);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}
