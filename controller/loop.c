/* controller/loop.c - the control loop's thread: leadership, the engine's
 * life, the agents' status and read counts, and the cycle schedule
 * (docs/controller.md).
 *
 * One thread with two PostgreSQL connections of its own: "lock" holds the
 * leader's advisory lock (and nothing else, so that its loss means the
 * lock's loss), "db" does the cycle's work. It also has a private libev
 * loop that exists only to drive curl multi for the agent calls. The HTTP
 * loop never waits for any of it: it only kicks the thread
 * (ctl_loop_kick) and reads a snapshot under the mutex (ctl_leader_get).
 *
 * Every leader_check_ms the thread checks its lock (a follower tries to
 * take it). Leading, it starts the job engine; losing the lock (its
 * connection broken) it stops the engine at once. The schedule is an
 * ev_timer on the HTTP loop at check_interval_s of the policy in force: it
 * kicks the thread, as POST /v1/controller/run does. After each cycle the
 * thread hands the interval it found back through an ev_async, and the
 * loop re-arms the timer if it changed.
 */
#include "controller/ctl.h"
#include "controller/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/agent_call.h"
#include "lib/http_client.h"
#include "lib/log.h"
#include "lib/pg.h"
#include "lib/sign.h"
#include "migrate/schema.h"

/* pg_advisory_lock key of the leader (the migrations use another). */
#define LEADER_LOCK_KEY "7122809237100012"

struct ctl_loop {
	ev_timer		 timer;		/* HTTP loop: the schedule */
	ev_async		 resched;	/* thread -> HTTP loop */
	struct ctl		*ctl;		/* borrows */
	pthread_t		 thr;
	int			 started;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 stop;		/* under mu */
	int			 kicked;	/* under mu: 1 manual, 2 timer */
	long long		 found_interval;	/* under mu: 0 none */
	struct ctl_leader	 view;		/* under mu */
	struct mig_engine	*engine;	/* owns; under mu */
	struct pol_policy	 file_pol;	/* under mu */
	char			*file_text;	/* owns; under mu */
	PGconn			*lock;		/* owns: thread only */
	PGconn			*db;		/* owns: thread only */
	struct ev_loop		*evl;		/* owns: thread only */
	struct bl_http_client	*http;		/* owns: thread only */
};

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- thread-safe accessors ------------------------------------------------ */

void
ctl_loop_kick(struct ctl *c)
{
	struct ctl_loop *l = c->lp;

	pthread_mutex_lock(&l->mu);
	l->kicked = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

/* On the HTTP loop: (re)arms the schedule at s seconds from now. */
void
ctl_loop_interval(struct ctl *c, long long s)
{
	struct ctl_loop *l = c->lp;

	if (s <= 0 || (ev_is_active(&l->timer) && l->timer.repeat ==
	    (double)s))
		return;
	l->timer.repeat = (double)s;
	ev_timer_again(c->loop, &l->timer);
	pthread_mutex_lock(&l->mu);
	l->view.next_cycle = wall() + (double)s;
	pthread_mutex_unlock(&l->mu);
}

void
ctl_loop_interval_post(struct ctl *c, long long s)
{
	struct ctl_loop *l = c->lp;

	if (s <= 0)
		return;
	pthread_mutex_lock(&l->mu);
	l->found_interval = s;
	pthread_mutex_unlock(&l->mu);
	ev_async_send(c->loop, &l->resched);
}

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctl_loop *l = (struct ctl_loop *)w;

	pthread_mutex_lock(&l->mu);
	if (!l->kicked)
		l->kicked = 2;
	l->view.next_cycle = wall() + w->repeat;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

static void
on_resched(struct ev_loop *loop, ev_async *w, int revents)
{
	struct ctl_loop *l = (struct ctl_loop *)((char *)w -
	    offsetof(struct ctl_loop, resched));
	long long s;

	pthread_mutex_lock(&l->mu);
	s = l->found_interval;
	l->found_interval = 0;
	pthread_mutex_unlock(&l->mu);
	ctl_loop_interval(l->ctl, s);
}

void
ctl_leader_get(struct ctl *c, struct ctl_leader *out)
{
	struct ctl_loop *l = c->lp;

	pthread_mutex_lock(&l->mu);
	*out = l->view;
	pthread_mutex_unlock(&l->mu);
}

void
ctl_engine_wake(struct ctl *c)
{
	struct ctl_loop *l = c->lp;

	pthread_mutex_lock(&l->mu);
	if (l->engine != NULL)
		mig_engine_wake(l->engine);
	pthread_mutex_unlock(&l->mu);
}

int
ctl_engine_info(struct ctl *c, int *db_ok, int *committers)
{
	struct ctl_loop *l = c->lp;
	int on;

	pthread_mutex_lock(&l->mu);
	on = l->engine != NULL;
	*db_ok = on ? mig_engine_db_ok(l->engine) : 0;
	*committers = on ? mig_engine_committers(l->engine) : 0;
	pthread_mutex_unlock(&l->mu);
	return on;
}

void
ctl_policy_file(struct ctl *c, struct pol_policy *p, char **text)
{
	struct ctl_loop *l = c->lp;

	pthread_mutex_lock(&l->mu);
	*p = l->file_pol;
	*text = l->file_text ? strdup(l->file_text) : NULL;
	pthread_mutex_unlock(&l->mu);
}

void
ctl_policy_file_set(struct ctl *c, const struct pol_policy *p,
    const char *text)
{
	struct ctl_loop *l = c->lp;
	char *t = text ? strdup(text) : NULL;

	pthread_mutex_lock(&l->mu);
	l->file_pol = *p;
	free(l->file_text);
	l->file_text = t;
	pthread_mutex_unlock(&l->mu);
}

/* --- leadership ----------------------------------------------------------- */

static void
engine_stop(struct ctl_loop *l)
{
	struct mig_engine *e;

	pthread_mutex_lock(&l->mu);
	e = l->engine;
	l->engine = NULL;
	pthread_mutex_unlock(&l->mu);
	mig_engine_free(e);
}

static void
lost(struct ctl_loop *l, const char *why)
{
	int was;

	pthread_mutex_lock(&l->mu);
	was = l->view.leader;
	l->view.leader = 0;
	l->view.instance[0] = '\0';
	l->view.url[0] = '\0';
	pthread_mutex_unlock(&l->mu);
	if (was) {
		log_warnx("leader: lost leadership: %s; stopping the engine",
		    why);
		engine_stop(l);
		ctl_metrics_set_leader(l->ctl->metrics, 0);
	}
}

/* Checks or takes the lock; reads who leads. */
static void
leadership(struct ctl_loop *l)
{
	struct ctl *c = l->ctl;
	const char *key[1] = { LEADER_LOCK_KEY };
	struct bl_err err;
	PGresult *r;
	int leader;

	if (l->lock != NULL && !bl_pg_ok(l->lock)) {
		PQfinish(l->lock);
		l->lock = NULL;
		lost(l, "the lock's database connection broke");
	}
	if (l->lock == NULL &&
	    (l->lock = bl_pg_connect(c->cfg->database, 2, &err)) == NULL) {
		lost(l, err.msg);
		return;
	}
	pthread_mutex_lock(&l->mu);
	leader = l->view.leader;
	pthread_mutex_unlock(&l->mu);
	if (leader) {
		/* Still connected: the lock is still ours. A round trip
		 * shows a connection the server dropped. */
		if ((r = bl_pg_exec(l->lock, "SELECT 1", 0, NULL, &err)) ==
		    NULL) {
			PQfinish(l->lock);
			l->lock = NULL;
			lost(l, err.msg);
			return;
		}
		PQclear(r);
		return;
	}
	if ((r = bl_pg_exec(l->lock, "SELECT pg_try_advisory_lock($1::"
	    "bigint)", 1, key, &err)) == NULL) {
		PQfinish(l->lock);
		l->lock = NULL;
		return;
	}
	leader = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (leader) {
		const char *p[2] = { c->instance, c->cfg->advertise_url };
		struct mig_engine *e;

		if (bl_pg_run(l->lock, "INSERT INTO controller_leader (id, "
		    "instance, url, since) VALUES (1, $1, $2, now()) ON "
		    "CONFLICT (id) DO UPDATE SET instance = $1, url = $2, "
		    "since = now()", 2, p, &err) == -1) {
			log_warnx("leader: record: %s", err.msg);
			PQfinish(l->lock);
			l->lock = NULL;
			return;
		}
		if ((e = mig_engine_new(&c->eo, &err)) == NULL ||
		    mig_engine_start(e, &err) == -1) {
			log_warnx("leader: engine: %s", err.msg);
			mig_engine_free(e);
			PQfinish(l->lock);	/* lets another try */
			l->lock = NULL;
			return;
		}
		pthread_mutex_lock(&l->mu);
		l->engine = e;
		l->view.leader = 1;
		snprintf(l->view.instance, sizeof(l->view.instance), "%s",
		    c->instance);
		snprintf(l->view.url, sizeof(l->view.url), "%s",
		    c->cfg->advertise_url);
		pthread_mutex_unlock(&l->mu);
		ctl_metrics_set_leader(c->metrics, 1);
		log_info("leader: this instance leads instance=%s url=%s",
		    c->instance, c->cfg->advertise_url);
		return;
	}
	/* A follower: who leads? */
	if ((r = bl_pg_exec(l->lock, "SELECT instance, url FROM "
	    "controller_leader WHERE id = 1", 0, NULL, &err)) == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	if (PQntuples(r) == 1) {
		snprintf(l->view.instance, sizeof(l->view.instance), "%s",
		    PQgetvalue(r, 0, 0));
		snprintf(l->view.url, sizeof(l->view.url), "%s",
		    PQgetvalue(r, 0, 1));
	}
	pthread_mutex_unlock(&l->mu);
	PQclear(r);
}

/* --- agents: status and read counts, in parallel -------------------------- */

static void
acalls_run(struct ctl_loop *l, char **urls, const char *target,
    struct bl_acall *a, size_t n)
{
	struct ctl *c = l->ctl;
	struct bl_acall_opts o = { c->secret, c->secret_len,
	    c->cfg->agent_poll_timeout_ms, c->cfg->agent_poll_timeout_ms,
	    64u << 20 };

	for (size_t i = 0; i < n; i++)
		bl_acall_set(&a[i], "GET", urls[i], target, NULL);
	bl_acalls_run(l->evl, l->http, &o, a, n);
}

/* What one poll of the agents gathered, as JSON arrays for the UPDATEs. */
struct poll {
	size_t		 n;
	char		**ids, **urls;		/* owns: n */
	struct bl_acall	*st, *ac;		/* owns: n */
	json_t		*jids, *jreach, *jcap, *jused;	/* owns: per node */
	json_t		*rids, *rreads;		/* owns: per object read */
	double		 dt;			/* s the reads cover */
};

static void
poll_release(struct poll *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->ids[i]);
		free(p->urls[i]);
	}
	if (p->st != NULL)
		bl_acalls_release(p->st, p->n);
	if (p->ac != NULL)
		bl_acalls_release(p->ac, p->n);
	free(p->ids);
	free(p->urls);
	free(p->st);
	free(p->ac);
	json_decref(p->jids);
	json_decref(p->jreach);
	json_decref(p->jcap);
	json_decref(p->jused);
	json_decref(p->rids);
	json_decref(p->rreads);
}

/* Asks every node not out for /v1/status and /v1/access. */
static int
poll_agents(struct ctl_loop *l, struct poll *p, struct bl_err *err)
{
	PGresult *r;
	size_t n;

	if ((r = bl_pg_exec(l->db, "SELECT id, rtrim(agent_url, '/') FROM "
	    "nodes WHERE state <> 'out' ORDER BY id", 0, NULL, err)) == NULL)
		return -1;
	n = (size_t)PQntuples(r);
	p->ids = calloc(n + 1, sizeof(*p->ids));
	p->urls = calloc(n + 1, sizeof(*p->urls));
	p->st = calloc(n + 1, sizeof(*p->st));
	p->ac = calloc(n + 1, sizeof(*p->ac));
	if (p->ids == NULL || p->urls == NULL || p->st == NULL ||
	    p->ac == NULL) {
		PQclear(r);
		return bl_err_set(err, BL_ENOMEM, "out of memory");
	}
	for (p->n = 0; p->n < n; p->n++) {
		p->ids[p->n] = strdup(PQgetvalue(r, (int)p->n, 0));
		p->urls[p->n] = strdup(PQgetvalue(r, (int)p->n, 1));
	}
	PQclear(r);
	acalls_run(l, p->urls, "/v1/status", p->st, n);
	acalls_run(l, p->urls, "/v1/access", p->ac, n);
	return 0;
}

/* Adds one agent's read counts to the poll; sets dt from the agent's
 * interval, which the first fold uses (later ones take the time since the
 * last fold). */
static void
poll_reads(struct poll *p, const json_t *access)
{
	json_t *o;
	size_t k;

	if (p->dt <= 0) {
		double s = json_number_value(json_object_get(access, "since"));
		double u = json_number_value(json_object_get(access, "until"));

		if (u > s)
			p->dt = u - s;
	}
	json_array_foreach(json_object_get(access, "objects"), k, o) {
		const char *id = json_string_value(json_object_get(o,
		    "object_id"));
		json_int_t reads = json_integer_value(json_object_get(o,
		    "reads"));

		if (id == NULL || reads <= 0)
			continue;
		json_array_append_new(p->rids, json_string(id));
		json_array_append_new(p->rreads, json_integer(reads));
	}
}

/* Turns the answers into the arrays; the unreachable nodes go into
 * unreach as a text[] literal. */
static void
poll_collect(struct poll *p, char *unreach, size_t ulen)
{
	size_t ul = 0;

	unreach[ul++] = '{';
	for (size_t i = 0; i < p->n; i++) {
		int ok = p->st[i].status == 200 && json_is_object(
		    p->st[i].json);
		json_int_t cap = 0, use = 0;

		if (ok) {
			cap = json_integer_value(json_object_get(p->st[i].json,
			    "capacity_bytes"));
			use = json_integer_value(json_object_get(p->st[i].json,
			    "used_bytes"));
		} else if (ul + strlen(p->ids[i]) + 4 < ulen) {
			ul += (size_t)snprintf(unreach + ul, ulen - ul,
			    "%s\"%s\"", ul > 1 ? "," : "", p->ids[i]);
		}
		json_array_append_new(p->jids, json_string(p->ids[i]));
		json_array_append_new(p->jreach, json_boolean(ok));
		json_array_append_new(p->jcap, json_integer(cap > 0 ? cap : 0));
		json_array_append_new(p->jused, json_integer(use > 0 ? use :
		    0));
		if (p->ac[i].status == 200 && json_is_object(p->ac[i].json))
			poll_reads(p, p->ac[i].json);
	}
	if (ul + 2 <= ulen) {
		unreach[ul++] = '}';
		unreach[ul] = '\0';
	} else {
		snprintf(unreach, ulen, "{}");
	}
}

/* Records each node's reachability, capacity and use. */
static int
poll_record_nodes(struct ctl_loop *l, const struct poll *q,
    struct bl_err *err)
{
	char *a = json_dumps(q->jids, JSON_COMPACT);
	char *b = json_dumps(q->jreach, JSON_COMPACT);
	char *cc = json_dumps(q->jcap, JSON_COMPACT);
	char *d = json_dumps(q->jused, JSON_COMPACT);
	const char *p[4] = { a, b, cc, d };
	int x = -1;

	if (a && b && cc && d)
		x = bl_pg_run(l->db, "UPDATE nodes n SET reachable = u.r, "
		    "capacity_bytes = CASE WHEN u.r THEN u.c ELSE "
		    "n.capacity_bytes END, used_bytes = CASE WHEN u.r THEN u.u "
		    "ELSE n.used_bytes END, last_seen = CASE WHEN u.r THEN now()"
		    " ELSE n.last_seen END FROM (SELECT "
		    "json_array_elements_text($1::json) AS id, "
		    "json_array_elements_text($2::json)::boolean AS r, "
		    "json_array_elements_text($3::json)::bigint AS c, "
		    "json_array_elements_text($4::json)::bigint AS u) u WHERE "
		    "n.id = u.id", 4, p, err);
	else
		bl_err_set(err, BL_ENOMEM, "out of memory");
	free(a);
	free(b);
	free(cc);
	free(d);
	return x;
}

/* The seconds since the last fold, from the database so that a new leader
 * carries on where the old one stopped; 0 when there was none (the first
 * fold takes the agents' own interval). Locks the row until COMMIT. */
static int
fold_since(struct ctl_loop *l, double *dt, struct bl_err *err)
{
	PGresult *r;

	if ((r = bl_pg_exec(l->db, "SELECT extract(epoch FROM now() - "
	    "access_folded_at) FROM controller_state WHERE id = 1 FOR UPDATE",
	    0, NULL, err)) == NULL)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return bl_err_set(err, BL_EIO, "controller_state: no row");
	}
	*dt = PQgetisnull(r, 0, 0) ? 0 : strtod(PQgetvalue(r, 0, 0), NULL);
	PQclear(r);
	return 0;
}

/* Exponential decay: the rate estimate r becomes
 * r * d + (reads / hours) * (1 - d), d = 2^(-dt / half_life). Only the
 * objects read are written; the others' rates are decayed when read
 * (MIG_READS_PER_HOUR), up to the fold time recorded here. A rate below
 * 0.001 is stored as 0 (migration 4 relies on it). */
#define FOLD_RATE_SQL							\
	MIG_READS_PER_HOUR("o") " * $1::float8 + (u.n / $4::float8) * "	\
	"(1 - $1::float8)"

static int
poll_fold_reads(struct ctl_loop *l, struct poll *q, struct bl_err *err)
{
	char dbuf[32], hbuf[32], lbuf[32];
	char *a = json_dumps(q->rids, JSON_COMPACT);
	char *b = json_dumps(q->rreads, JSON_COMPACT);
	const char *p[4] = { dbuf, a, b, hbuf };
	const char *hl[1] = { lbuf };
	double since = 0;
	int rc = -1;

	snprintf(lbuf, sizeof(lbuf), "%lld",
	    (long long)l->ctl->cfg->access_half_life_s);
	if (a == NULL || b == NULL) {
		bl_err_set(err, BL_ENOMEM, "out of memory");
		goto out;
	}
	if (bl_pg_run(l->db, "BEGIN", 0, NULL, err) == -1)
		goto out;
	if (fold_since(l, &since, err) == -1)
		goto rollback;
	if (since > 0)
		q->dt = since;
	snprintf(dbuf, sizeof(dbuf), "%.12f", pow(2.0, -q->dt /
	    (double)l->ctl->cfg->access_half_life_s));
	snprintf(hbuf, sizeof(hbuf), "%.6f", q->dt / 3600.0);
	if (q->dt > 0 && json_array_size(q->rids) > 0 && bl_pg_run(l->db,
	    "UPDATE objects o SET reads_per_hour = CASE WHEN " FOLD_RATE_SQL
	    " < 0.001 THEN 0 ELSE " FOLD_RATE_SQL " END, reads_at = now(), "
	    "last_access = now() FROM (SELECT x.id::uuid AS id, sum(x.n) AS n "
	    "FROM (SELECT json_array_elements_text($2::json) AS id, "
	    "json_array_elements_text($3::json)::float8 AS n) x GROUP BY 1) u "
	    "WHERE o.id = u.id", 4, p, err) == -1)
		goto rollback;
	if (bl_pg_run(l->db, "UPDATE controller_state SET access_folded_at = "
	    "now(), access_half_life_s = $1::float8 WHERE id = 1", 1, hl,
	    err) == -1 || bl_pg_run(l->db, "COMMIT", 0, NULL, err) == -1)
		goto rollback;
	rc = 0;
	goto out;
rollback:
	bl_pg_run(l->db, "ROLLBACK", 0, NULL, NULL);
out:
	free(a);
	free(b);
	return rc;
}

/* Polls every agent; records reachability and usage; folds the read
 * counts into reads_per_hour. Writes the unreachable nodes as a text[]
 * literal into unreach. */
static int
refresh(struct ctl_loop *l, char *unreach, size_t ulen, struct bl_err *err)
{
	struct poll p;
	int rc = -1;

	memset(&p, 0, sizeof(p));
	snprintf(unreach, ulen, "{}");
	p.jids = json_array();
	p.jreach = json_array();
	p.jcap = json_array();
	p.jused = json_array();
	p.rids = json_array();
	p.rreads = json_array();
	if (poll_agents(l, &p, err) == -1)
		goto out;
	poll_collect(&p, unreach, ulen);
	if (poll_record_nodes(l, &p, err) == -1 ||
	    poll_fold_reads(l, &p, err) == -1)
		goto out;
	rc = 0;
out:
	poll_release(&p);
	return rc;
}

/* --- the thread ----------------------------------------------------------- */

static void
cycle(struct ctl_loop *l, int manual)
{
	struct ctl *c = l->ctl;
	struct ctl_cycle_result res;
	struct ctl_leader v;
	struct bl_err err;
	char unreach[4096];
	double t0 = mono();

	if (l->db != NULL && !bl_pg_ok(l->db)) {
		PQfinish(l->db);
		l->db = NULL;
	}
	if (l->db == NULL &&
	    (l->db = bl_pg_connect(c->cfg->database, 2, &err)) == NULL) {
		log_warnx("cycle: database: %s", err.msg);
		return;
	}
	pthread_mutex_lock(&l->mu);
	v = l->view;
	pthread_mutex_unlock(&l->mu);
	if (!v.leader) {
		/* A follower's timer still ticks: counted, not recorded. */
		ctl_cycle_not_leader(c);
		return;
	}
	if (refresh(l, unreach, sizeof(unreach), &err) == -1) {
		log_warnx("cycle: refresh: %s", err.msg);
		snprintf(unreach, sizeof(unreach), "{}");
	}
	if (ctl_cycle_run(c, l->db, manual, unreach, &res, &err) == -1)
		log_warnx("cycle: %s", err.msg);
	else
		log_info("cycle: outcome=%s imbalance=%.4f moves=%lld "
		    "unreachable=%s seconds=%.2f", res.outcome, res.imbalance,
		    res.moves, unreach, mono() - t0);
	pthread_mutex_lock(&l->mu);
	l->view.last_imbalance = res.imbalance;
	pthread_mutex_unlock(&l->mu);
	ctl_loop_interval_post(c, res.interval_s);
	if (res.job_created)
		ctl_engine_wake(c);
}

static void *
loop_main(void *arg)
{
	struct ctl_loop *l = arg;
	struct ctl *c = l->ctl;
	double next_lead = 0;

	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		struct timespec ts;
		double wake;

		if (mono() >= next_lead) {
			pthread_mutex_unlock(&l->mu);
			leadership(l);
			pthread_mutex_lock(&l->mu);
			next_lead = mono() + (double)c->cfg->leader_check_ms /
			    1000.0;
			continue;
		}
		if (l->kicked) {
			int manual = l->kicked == 1;

			l->kicked = 0;
			pthread_mutex_unlock(&l->mu);
			cycle(l, manual);
			pthread_mutex_lock(&l->mu);
			continue;
		}
		wake = wall() + (next_lead - mono());
		ts.tv_sec = (time_t)wake;
		ts.tv_nsec = (long)((wake - (double)ts.tv_sec) * 1e9);
		pthread_cond_timedwait(&l->cv, &l->mu, &ts);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

int
ctl_loop_start(struct ctl *c, struct bl_err *err)
{
	struct ctl_loop *l;
	pthread_condattr_t ca;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return bl_err_set(err, BL_ENOMEM, "loop: out of memory");
	l->ctl = c;
	c->lp = l;
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	l->file_pol = c->cfg->policy;
	l->file_text = c->cfg->policy_text ? strdup(c->cfg->policy_text) :
	    NULL;
	l->view.last_imbalance = -1;
	if ((l->evl = ev_loop_new(EVFLAG_AUTO)) == NULL ||
	    (l->http = bl_http_client_new(l->evl, err)) == NULL)
		return bl_err_set(err, BL_EIO, "loop: cannot create the agent "
		    "client");
	if (c->cfg->agent_tls_ca_file != NULL && bl_http_client_set_tls(l->http,
	    &(struct bl_http_tls){ c->cfg->agent_tls_ca_file, NULL, NULL },
	    err) == -1)
		return bl_err_wrap(err, "loop: agent_tls_ca_file");
	/* Take the lead at once if nobody holds it, so that a single
	 * instance runs its engine from the start. */
	leadership(l);
	ev_timer_init(&l->timer, on_timer, 0., 0.);
	ev_async_init(&l->resched, on_resched);
	ev_async_start(c->loop, &l->resched);
	ctl_loop_interval(c, l->file_pol.check_interval_s);
	if (pthread_create(&l->thr, NULL, loop_main, l) != 0)
		return bl_err_set(err, BL_EIO, "loop: cannot start the thread");
	l->started = 1;
	return 0;
}

void
ctl_loop_stop(struct ctl *c)
{
	struct ctl_loop *l = c->lp;

	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	if (l->started)
		pthread_join(l->thr, NULL);
	ev_timer_stop(c->loop, &l->timer);
	ev_async_stop(c->loop, &l->resched);
	engine_stop(l);
	bl_http_client_free(l->http);
	if (l->evl != NULL)
		ev_loop_destroy(l->evl);
	if (l->db != NULL)
		PQfinish(l->db);
	if (l->lock != NULL)
		PQfinish(l->lock);
	free(l->file_text);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
	c->lp = NULL;
}
