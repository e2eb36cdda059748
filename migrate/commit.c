/* migrate/commit.c - the metadata commit: a batched compare-and-swap on
 * objects.version, and the pool of committer threads that runs it.
 *
 * One statement per batch moves the metadata and the task states together,
 * so a crash leaves either both or neither: a task is never counted as
 * complete when its commit failed.
 */
#include "migrate/engine_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/pg.h"

/* $1 job, $2 objects, $3 delete_source. For every task of the batch still
 * in "copied": replace source by dest in copies and bump version, only
 * where the version is the one the task was made with, the source is still
 * listed and dest is not. Tasks whose object changed or vanished are
 * skipped (metadata_changed) and owe the removal of their orphan copy.
 * No row locks beyond the UPDATEs': a task is in one batch at a time (one
 * engine hands them out), and "copied" tasks change only here. Both
 * UPDATEs find their rows by key (job, object = ANY) and the outcome is a
 * hashed IN over the moved ids: no join whose cost depends on estimates
 * (with stale statistics a join of the tasks with a CTE went quadratic,
 * 400 ms for a batch of 500). */
static const char COMMIT_SQL[] =
	"WITH upd AS ("
	"  UPDATE objects o SET copies = array_replace(o.copies, t.source,"
	"    t.dest), version = o.version + 1"
	"  FROM job_tasks t"
	"  WHERE t.job = $1 AND t.object = ANY($2::uuid[]) AND"
	"    t.state = 'copied' AND o.id = t.object AND o.version = t.version"
	"    AND t.source = ANY(o.copies) AND NOT (t.dest = ANY(o.copies))"
	"  RETURNING o.id)"
	" UPDATE job_tasks jt SET"
	"  state = CASE WHEN jt.object NOT IN (SELECT id FROM upd) THEN"
	"    'skipped' WHEN $3::boolean THEN 'committed' ELSE 'complete' END,"
	"  reason = CASE WHEN jt.object NOT IN (SELECT id FROM upd) THEN"
	"    'metadata_changed' END,"
	"  cleanup = CASE WHEN jt.object NOT IN (SELECT id FROM upd) THEN"
	"    'orphan' WHEN $3::boolean THEN 'source' END,"
	"  committed_at = CASE WHEN jt.object IN (SELECT id FROM upd) THEN"
	"    now() END,"
	"  updated_at = now()"
	" WHERE jt.job = $1 AND jt.object = ANY($2::uuid[]) AND"
	"  jt.state = 'copied'"
	" RETURNING jt.state <> 'skipped'";

/* Builds a PostgreSQL array literal {a,b,c} of uuids (no quoting needed:
 * the strings come from the database and are canonical uuids). */
static char *
uuid_array(const char *const *objs, size_t n)
{
	char *s = malloc(n * 37 + 3), *p;

	if (s == NULL)
		return NULL;
	p = s;
	*p++ = '{';
	for (size_t i = 0; i < n; i++) {
		size_t l = strnlen(objs[i], 36);

		if (i > 0)
			*p++ = ',';
		memcpy(p, objs[i], l);
		p += l;
	}
	*p++ = '}';
	*p = '\0';
	return s;
}

long
mig_commit_batch(PGconn *c, const char *job, const char *const *objs,
    size_t n, int delete_source, struct bl_err *err)
{
	char *arr;
	const char *p[3];
	PGresult *r;
	long ok = 0;

	if (n == 0)
		return 0;
	if ((arr = uuid_array(objs, n)) == NULL)
		return bl_err_set(err, BL_ENOMEM, "commit: out of memory");
	p[0] = job;
	p[1] = arr;
	p[2] = delete_source ? "true" : "false";
	r = bl_pg_exec(c, COMMIT_SQL, 3, p, err);
	free(arr);
	if (r == NULL)
		return bl_err_wrap(err, "commit job=%s", job);
	for (int i = 0; i < PQntuples(r); i++)
		if (strcmp(PQgetvalue(r, i, 0), "t") == 0)
			ok++;
	PQclear(r);
	return ok;
}

/* --- the pool ------------------------------------------------------------- */

struct batch {
	struct batch	*next;		/* owns */
	char		 job[37];
	char		**objs;		/* owns */
	size_t		 n;
	int		 delete_source;
};

struct worker {
	struct mig_commit_pool	*pool;	/* borrows */
	pthread_t		 th;
	int			 idx;
	int			 running;
};

#define POOL_MAX 250

struct mig_commit_pool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 work;		/* a batch was queued, or resize */
	pthread_cond_t	 idle;		/* a batch finished */
	char		*conninfo;	/* owns */
	struct batch	*head, **tail;	/* owns */
	int		 target;	/* wanted number of threads */
	int		 busy;		/* batches being run */
	int		 failed;	/* since the last wait */
	long		 committed;	/* since the last wait */
	int		 stop;
	struct bl_metric *commits;	/* borrows: the registry's; NULL */
	struct bl_metric *duration;	/* borrows: the registry's; NULL */
	struct worker	 w[POOL_MAX];
};

void
mig_commit_pool_instrument(struct mig_commit_pool *p, struct bl_metrics *m)
{
	static const char *const labels[] = { "result", NULL };
	static const char *const results[] = { "committed", "error" };

	if (m == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->commits = bl_metrics_counter(m, "ballast_metadata_commits_total",
	    "Objects by metadata commit result: committed (the compare-and-"
	    "swap won), error (the batch failed and is retried).",
	    labels);
	p->duration = bl_metrics_histogram(m,
	    "ballast_metadata_commit_duration_seconds",
	    "Time to commit one batch of objects' metadata.", NULL,
	    bl_metrics_fast_seconds, bl_metrics_fast_seconds_len);
	/* Every result from the start, so that rate() sees the first. */
	for (size_t i = 0; i < 2; i++)
		bl_metric_add(p->commits, &results[i], 0);
	pthread_mutex_unlock(&p->mu);
}

/* Counts one batch of n objects of which ok (or -1) were committed. */
static void
count_batch(struct bl_metric *commits, struct bl_metric *duration,
    size_t n, long ok, double seconds)
{
	const char *committed[] = { "committed" };
	const char *error[] = { "error" };

	bl_metric_observe(duration, NULL, seconds);
	if (ok < 0) {
		bl_metric_add(commits, error, (double)n);
		return;
	}
	bl_metric_add(commits, committed, (double)ok);
}

static void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		free(b->objs[i]);
	free(b->objs);
	free(b);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct mig_commit_pool *p = w->pool;
	PGconn *db = NULL;
	struct bl_err err;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct batch *b;
		struct bl_metric *commits, *duration;
		double t0;
		long ok;

		while (!p->stop && w->idx < p->target && p->head == NULL)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop || w->idx >= p->target)
			break;
		b = p->head;
		p->head = b->next;
		if (p->head == NULL)
			p->tail = &p->head;
		p->busy++;
		commits = p->commits;
		duration = p->duration;
		pthread_mutex_unlock(&p->mu);

		if (db != NULL && !bl_pg_ok(db)) {
			PQfinish(db);
			db = NULL;
		}
		if (db == NULL)
			db = bl_pg_connect(p->conninfo, 5, &err);
		t0 = mig_now();
		ok = db == NULL ? -1 : mig_commit_batch(db, b->job,
		    (const char *const *)b->objs, b->n, b->delete_source,
		    &err);
		count_batch(commits, duration, b->n, ok, mig_now() - t0);
		if (ok < 0)
			log_warnx("committer %d: %s", w->idx, err.msg);
		batch_free(b);

		pthread_mutex_lock(&p->mu);
		p->busy--;
		if (ok < 0)
			p->failed++;
		else
			p->committed += ok;
		pthread_cond_broadcast(&p->idle);
	}
	w->running = 0;
	pthread_cond_broadcast(&p->idle);
	pthread_mutex_unlock(&p->mu);
	if (db != NULL)
		PQfinish(db);
	return NULL;
}

/* Called with the lock held. Starts threads up to target; the ones past it
 * leave on their own once idle. */
static int
pool_spawn(struct mig_commit_pool *p)
{
	for (int i = 0; i < p->target; i++) {
		struct worker *w = &p->w[i];

		if (w->running)
			continue;
		if (w->th != 0) {
			/* A thread that left earlier: reap it first. */
			pthread_join(w->th, NULL);
			w->th = 0;
		}
		w->pool = p;
		w->idx = i;
		w->running = 1;
		if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
			w->running = 0;
			w->th = 0;
			return -1;
		}
	}
	return 0;
}

struct mig_commit_pool *
mig_commit_pool_new(const char *conninfo, int n, struct bl_err *err)
{
	struct mig_commit_pool *p;

	if (n < 1 || n > POOL_MAX) {
		bl_err_set(err, BL_EINVAL, "metadata_threads %d: want 1-250",
		    n);
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->conninfo = strdup(conninfo)) == NULL) {
		free(p);
		bl_err_set(err, BL_ENOMEM, "commit pool: out of memory");
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->idle, NULL);
	p->tail = &p->head;
	p->target = n;
	pthread_mutex_lock(&p->mu);
	if (pool_spawn(p) == -1) {
		pthread_mutex_unlock(&p->mu);
		mig_commit_pool_free(p);
		bl_err_set(err, BL_EIO, "commit pool: cannot start threads");
		return NULL;
	}
	pthread_mutex_unlock(&p->mu);
	return p;
}

void
mig_commit_pool_free(struct mig_commit_pool *p)
{
	struct batch *b, *nb;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < POOL_MAX; i++)
		if (p->w[i].th != 0)
			pthread_join(p->w[i].th, NULL);
	for (b = p->head; b != NULL; b = nb) {
		nb = b->next;
		batch_free(b);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->idle);
	free(p->conninfo);
	free(p);
}

int
mig_commit_pool_resize(struct mig_commit_pool *p, int n)
{
	int rc;

	if (n < 1 || n > POOL_MAX)
		return -1;
	pthread_mutex_lock(&p->mu);
	p->target = n;
	pthread_cond_broadcast(&p->work);
	rc = pool_spawn(p);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int
mig_commit_pool_size(struct mig_commit_pool *p)
{
	int n;

	pthread_mutex_lock(&p->mu);
	n = p->target;
	pthread_mutex_unlock(&p->mu);
	return n;
}

int
mig_commit_pool_add(struct mig_commit_pool *p, const char *job,
    const char *const *objs, size_t n, int delete_source)
{
	struct batch *b;

	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->objs = calloc(n ? n : 1, sizeof(char *))) == NULL) {
		free(b);
		return -1;
	}
	snprintf(b->job, sizeof(b->job), "%s", job);
	b->delete_source = delete_source;
	for (size_t i = 0; i < n; i++) {
		if ((b->objs[i] = strdup(objs[i])) == NULL) {
			batch_free(b);
			return -1;
		}
		b->n++;
	}
	pthread_mutex_lock(&p->mu);
	*p->tail = b;
	p->tail = &b->next;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int
mig_commit_pool_wait(struct mig_commit_pool *p, long *committed)
{
	int failed;

	pthread_mutex_lock(&p->mu);
	while (p->head != NULL || p->busy > 0)
		pthread_cond_wait(&p->idle, &p->mu);
	failed = p->failed;
	if (committed != NULL)
		*committed = p->committed;
	p->failed = 0;
	p->committed = 0;
	pthread_mutex_unlock(&p->mu);
	return failed;
}
