/* controller/cycle.c - one control-loop cycle, the plan it builds, and the
 * run-time policy (docs/controller.md).
 *
 * Everything here is blocking libpq work. It runs on the loop thread
 * (loop.c) or on an API worker (GET /v1/plan, /v1/status), each with its
 * own connection; never on the HTTP loop.
 */
#include "controller/ctl.h"
#include "controller/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/pg.h"
#include "lib/tz.h"
#include "lib/uuid.h"
#include "migrate/schema.h"
#include "policy/decide.h"

#define FETCH_ROWS	"5000"

/* --- the run-time policy -------------------------------------------------- */

int
ctl_policy_effective(struct ctl *c, PGconn *db, struct pol_policy *p,
    json_t **doc, struct bl_err *err)
{
	struct pol_tz tz = { bl_tz_localtime, NULL };
	PGresult *r;
	int rc = 0;

	if (doc != NULL)
		*doc = NULL;
	if ((r = bl_pg_exec(db, "SELECT policy::text FROM controller_state "
	    "WHERE id = 1 AND policy IS NOT NULL", 0, NULL, err)) == NULL)
		return -1;
	if (PQntuples(r) == 1) {
		const char *t = PQgetvalue(r, 0, 0);

		if (pol_parse_json(t, strlen(t), "policy", -1, &tz, p,
		    err) == -1)
			rc = bl_err_wrap(err, "stored run-time policy");
		else if (doc != NULL)
			*doc = json_loads(t, 0, NULL);
	} else {
		char *text = NULL;

		ctl_policy_file(c, p, &text);
		if (doc != NULL)
			*doc = text ? json_loads(text, 0, NULL) : json_pack(
			    "{s:s}", "preset", pol_preset_name(p->preset));
		free(text);
	}
	PQclear(r);
	return rc;
}

/* --- the cluster map from PostgreSQL -------------------------------------- */

/* Nodes from the table, with the usage the open jobs will add and remove
 * (so that a cycle does not plan again what is already on its way). */
static struct plc_cluster *
cluster_load(PGconn *db, const struct pol_policy *pol, struct bl_err *err)
{
	struct plc_cluster *cl;
	PGresult *r;
	int n;

	if ((r = bl_pg_exec(db, "SELECT id, region, datacenter, rack, host, "
	    "capacity_bytes, used_bytes, weight, coalesce(latency_ms, -1), "
	    "state, reachable FROM nodes ORDER BY id COLLATE \"C\"", 0, NULL,
	    err)) == NULL)
		return NULL;
	if ((cl = plc_cluster_new()) == NULL) {
		PQclear(r);
		bl_err_set(err, BL_ENOMEM, "out of memory");
		return NULL;
	}
	n = PQntuples(r);
	cl->failure_domain = pol->failure_domain;
	if ((cl->nodes = calloc(n ? (size_t)n : 1, sizeof(*cl->nodes))) ==
	    NULL) {
		PQclear(r);
		plc_cluster_free(cl);
		bl_err_set(err, BL_ENOMEM, "out of memory");
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		struct plc_node *nd = &cl->nodes[i];

		nd->id = strdup(PQgetvalue(r, i, 0));
		nd->region = strdup(PQgetvalue(r, i, 1));
		nd->datacenter = strdup(PQgetvalue(r, i, 2));
		nd->rack = strdup(PQgetvalue(r, i, 3));
		nd->host = strdup(PQgetvalue(r, i, 4));
		nd->capacity_bytes = strtoull(PQgetvalue(r, i, 5), NULL, 10);
		nd->used_bytes = strtoull(PQgetvalue(r, i, 6), NULL, 10);
		nd->weight = strtod(PQgetvalue(r, i, 7), NULL);
		if (nd->weight <= 0)
			nd->weight = (double)nd->capacity_bytes /
			    (1024.0 * 1024 * 1024 * 1024);
		if (nd->weight <= 0)
			nd->weight = 1e-6;
		nd->latency_ms = strtod(PQgetvalue(r, i, 8), NULL);
		nd->state = plc_node_state_parse(PQgetvalue(r, i, 9));
		if (nd->state < 0)
			nd->state = PLC_NODE_OUT;
		nd->reachable = PQgetvalue(r, i, 10)[0] == 't';
		cl->n++;
		if (nd->id == NULL || nd->region == NULL ||
		    nd->datacenter == NULL || nd->rack == NULL ||
		    nd->host == NULL) {
			PQclear(r);
			plc_cluster_free(cl);
			bl_err_set(err, BL_ENOMEM, "out of memory");
			return NULL;
		}
	}
	PQclear(r);
	if (plc_cluster_sort(cl, err) == -1) {
		plc_cluster_free(cl);
		return NULL;
	}
	/* Open moves: the destination gains the copy unless it holds it
	 * already ("copied"); the source loses it. */
	if ((r = bl_pg_exec(db, "SELECT t.source, t.dest, t.state, "
	    "sum(t.size) FROM job_tasks t JOIN jobs j ON j.id = t.job WHERE "
	    "j.state IN ('init', 'setup', 'running', 'paused') AND t.state IN "
	    "('unprocessed', 'assigned', 'copied', 'committed') GROUP BY 1, 2,"
	    " 3", 0, NULL, err)) == NULL) {
		plc_cluster_free(cl);
		return NULL;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		ssize_t s = PQgetisnull(r, i, 0) ? -1 :
		    plc_cluster_find(cl, PQgetvalue(r, i, 0));
		ssize_t d = PQgetisnull(r, i, 1) ? -1 :
		    plc_cluster_find(cl, PQgetvalue(r, i, 1));
		const char *st = PQgetvalue(r, i, 2);
		uint64_t b = strtoull(PQgetvalue(r, i, 3), NULL, 10);

		if (s >= 0) {
			struct plc_node *nd = &cl->nodes[s];

			nd->used_bytes = nd->used_bytes > b ? nd->used_bytes -
			    b : 0;
		}
		if (d >= 0 && (strcmp(st, "unprocessed") == 0 ||
		    strcmp(st, "assigned") == 0))
			cl->nodes[d].used_bytes += b;
	}
	PQclear(r);
	return cl;
}

/* --- the plan ------------------------------------------------------------- */

static const char *
plan_id(uint64_t handle, void *arg)
{
	const struct ctl_planned *p = arg;

	return p->ids + handle * 37;
}

/* Parses a PostgreSQL text[] literal {a,b,"c d"} into node indexes (an
 * unknown node is left out). Returns the count, or -1 if malformed. */
static int
parse_copies(const struct plc_cluster *cl, const char *s, uint32_t *out,
    int max, uint64_t *dcmask, const char **dcs, size_t ndcs)
{
	int n = 0;
	char name[256];

	if (*s++ != '{')
		return -1;
	while (*s && *s != '}') {
		size_t l = 0;

		if (*s == '"') {
			s++;
			while (*s && *s != '"' && l + 1 < sizeof(name))
				name[l++] = *s++;
			if (*s == '"')
				s++;
		} else {
			while (*s && *s != ',' && *s != '}' &&
			    l + 1 < sizeof(name))
				name[l++] = *s++;
		}
		name[l] = '\0';
		if (*s == ',')
			s++;
		if (dcmask != NULL) {
			for (size_t k = 0; k < ndcs; k++)
				if (strcmp(dcs[k], name) == 0)
					*dcmask |= 1ull << k;
			continue;
		}
		ssize_t ix = plc_cluster_find(cl, name);
		int dup = 0;

		for (int k = 0; k < n; k++)
			dup |= out[k] == (uint32_t)ix;
		if (ix >= 0 && !dup && n < max)
			out[n++] = (uint32_t)ix;
	}
	return n;
}

/* Anti-thrash, per node (docs/policy.md): a node that was the source or
 * the destination of at least large_batch_bytes in one controller job
 * that finished less than node_cooldown_s ago is left out of this plan,
 * as an unreachable node is. Evacuations are not planned here. */
static int
cooldown_apply(PGconn *db, const struct pol_policy *pol,
    struct plc_cluster *cl, struct bl_err *err)
{
	char secs[24], big[24];
	const char *p[2] = { secs, big };
	PGresult *r;

	if (pol->node_cooldown_s <= 0)
		return 0;
	snprintf(secs, sizeof(secs), "%lld", (long long)pol->node_cooldown_s);
	snprintf(big, sizeof(big), "%lld", (long long)pol->large_batch_bytes);
	if ((r = bl_pg_exec(db, "SELECT n FROM (SELECT unnest(ARRAY[t.source, "
	    "t.dest]) AS n, t.job, t.size FROM job_tasks t JOIN jobs j ON j.id "
	    "= t.job WHERE j.kind = 'rebalance' AND j.origin = 'controller' "
	    "AND j.finished_at > now() - make_interval(secs => $1::int) AND "
	    "t.state IN ('complete', 'committed')) x WHERE n IS NOT NULL "
	    "GROUP BY n, job HAVING sum(size) >= $2::bigint", 2, p, err)) ==
	    NULL)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		ssize_t k = plc_cluster_find(cl, PQgetvalue(r, i, 0));

		if (k >= 0)
			cl->nodes[k].reachable = 0;
	}
	PQclear(r);
	return 0;
}

/* The over-full nodes ("in", reachable, above the mean fill) as a text[]
 * literal; NULL when out of memory. */
static char *
over_full(const struct plc_cluster *cl, const struct plc_fill_stats *st)
{
	char *over = malloc(2 + cl->n * 260);
	size_t olen = 0;

	if (over == NULL)
		return NULL;
	over[olen++] = '{';
	for (size_t i = 0; i < cl->n; i++) {
		const struct plc_node *nd = &cl->nodes[i];

		if (nd->state != PLC_NODE_IN || !nd->reachable ||
		    nd->capacity_bytes == 0 || (double)nd->used_bytes /
		    (double)nd->capacity_bytes <= st->mean)
			continue;
		olen += (size_t)sprintf(over + olen, "%s\"%s\"", olen > 1 ?
		    "," : "", nd->id);
	}
	over[olen++] = '}';
	over[olen] = '\0';
	return over;
}

/* Colocation: how many objects of each affinity group every over-full
 * node holds, as "group\x1fnode" -> count. */
static json_t *
colocation_load(PGconn *db, const char *over, struct bl_err *err)
{
	const char *p[1] = { over };
	json_t *coloc;
	PGresult *r;

	if ((r = bl_pg_exec(db, "SELECT affinity, n, count(*) FROM objects, "
	    "unnest(copies) AS n WHERE affinity IS NOT NULL AND copies && "
	    "$1::text[] AND n = ANY($1::text[]) GROUP BY 1, 2", 1, p, err)) ==
	    NULL)
		return NULL;
	if ((coloc = json_object()) == NULL)
		bl_err_set(err, BL_ENOMEM, "out of memory");
	for (int i = 0; coloc != NULL && i < PQntuples(r); i++) {
		char key[600];

		snprintf(key, sizeof(key), "%s\x1f%s", PQgetvalue(r, i, 0),
		    PQgetvalue(r, i, 1));
		json_object_set_new(coloc, key, json_integer(strtoll(
		    PQgetvalue(r, i, 2), NULL, 10)));
	}
	PQclear(r);
	return coloc;
}

/* The candidates: a server-side cursor over the objects on over-full
 * nodes, without an open task in an unfinished job and, with a minimum
 * residency (docs/policy.md), without a controller move committed within
 * min_residency_s (evacuations and the operator's jobs do not count). */
static int
candidates_declare(PGconn *db, const char *over, long long residency_s,
    struct bl_err *err)
{
	char res[24];
	const char *p[2] = { over, res };

	snprintf(res, sizeof(res), "%lld", residency_s);
	return bl_pg_run(db, "DECLARE cand NO SCROLL CURSOR FOR SELECT o.id, "
	    "o.size, o.copies, " MIG_READS_PER_HOUR("o") ", o.allowed_dcs, "
	    "o.affinity "
	    "FROM objects o "
	    "WHERE o.copies && $1::text[] AND NOT EXISTS (SELECT 1 FROM "
	    "job_tasks t JOIN jobs j ON j.id = t.job WHERE t.object = o.id "
	    "AND j.state IN ('init', 'setup', 'running', 'paused')) AND ("
	    "$2::int = 0 OR NOT EXISTS (SELECT 1 FROM job_tasks t JOIN jobs j "
	    "ON j.id = t.job WHERE t.object = o.id AND j.kind = 'rebalance' "
	    "AND j.origin = 'controller' AND t.committed_at > now() - "
	    "make_interval(secs => $2::int)))", 2, p, err);
}

/* What streaming the candidates needs besides the planner. */
struct stream {
	struct ctl_planned	*out;
	struct plc_planner	*pl;
	json_t			*coloc;		/* borrows */
	const char		*dcs[64];
	size_t			 ndcs;
	size_t			 cap;		/* of out->ids */
};

/* Offers row i of a FETCH to the planner. 0, 1 when the row is not an
 * object the planner can use, or -1. */
static int
candidate_add(struct stream *k, PGresult *r, int i, struct bl_err *err)
{
	uint32_t copies[PLC_COPIES_MAX], colo[PLC_COPIES_MAX];
	struct ctl_planned *out = k->out;
	const char *id = PQgetvalue(r, i, 0);
	struct plc_object obj;
	int nc;

	nc = parse_copies(out->cl, PQgetvalue(r, i, 2), copies,
	    PLC_COPIES_MAX, NULL, NULL, 0);
	if (nc <= 0)
		return 1;
	if (out->n == k->cap) {
		size_t nc2 = k->cap ? k->cap * 2 : 4096;
		char *ni = realloc(out->ids, nc2 * 37);

		if (ni == NULL)
			return bl_err_set(err, BL_ENOMEM, "out of memory");
		out->ids = ni;
		k->cap = nc2;
	}
	snprintf(out->ids + out->n * 37, 37, "%s", id);
	memset(&obj, 0, sizeof(obj));
	obj.handle = out->n;
	obj.key = plc_object_key(id, strlen(id));
	obj.size = strtoull(PQgetvalue(r, i, 1), NULL, 10);
	obj.copies = copies;
	obj.ncopies = (size_t)nc;
	obj.reads_per_hour = strtod(PQgetvalue(r, i, 3), NULL);
	if (!PQgetisnull(r, i, 4)) {
		obj.pinned = 1;
		parse_copies(out->cl, PQgetvalue(r, i, 4), NULL, 0,
		    &obj.allowed_dcs, k->dcs, k->ndcs);
	}
	if (!PQgetisnull(r, i, 5)) {
		const char *aff = PQgetvalue(r, i, 5);

		for (int c = 0; c < nc; c++) {
			char key[600];
			json_int_t v;

			snprintf(key, sizeof(key), "%s\x1f%s", aff,
			    out->cl->nodes[copies[c]].id);
			v = json_integer_value(json_object_get(k->coloc, key));
			/* the others of its group there */
			colo[c] = v > 1 ? (uint32_t)(v - 1) : 0;
		}
		obj.colocated = colo;
	}
	if (plc_planner_add(k->pl, &obj, err) == -1)
		return -1;
	out->n++;
	return 0;
}

/* Streams the cursor into the planner, FETCH_ROWS rows at a time, up to
 * max_candidates. */
static int
candidates_stream(PGconn *db, struct stream *k, long long max_candidates,
    struct bl_err *err)
{
	for (;;) {
		PGresult *r = bl_pg_exec(db, "FETCH " FETCH_ROWS " FROM cand",
		    0, NULL, err);
		int n;

		if (r == NULL)
			return -1;
		if ((n = PQntuples(r)) == 0) {
			PQclear(r);
			return 0;
		}
		for (int i = 0; i < n; i++) {
			if ((long long)k->out->n >= max_candidates) {
				k->out->truncated = 1;
				break;
			}
			if (candidate_add(k, r, i, err) == -1) {
				PQclear(r);
				return -1;
			}
		}
		PQclear(r);
		if (k->out->truncated)
			return 0;
	}
}

int
ctl_plan_build(PGconn *db, const struct pol_policy *pol, int quiet,
    int balancing, long long max_candidates, struct ctl_planned *out,
    struct bl_err *err)
{
	struct plc_planner_opts o;
	struct plc_fill_stats st;
	struct stream k;
	char *over = NULL;
	int rc = -1, intx = 0;

	memset(out, 0, sizeof(*out));
	memset(&k, 0, sizeof(k));
	k.out = out;
	if ((out->cl = cluster_load(db, pol, err)) == NULL)
		return -1;
	if (cooldown_apply(db, pol, out->cl, err) == -1)
		goto out;
	plc_cluster_fill_stats(out->cl, NULL, &st);
	k.ndcs = plc_cluster_dcs(out->cl, k.dcs, 64);
	if (k.ndcs > 64)
		k.ndcs = 64;
	pol_planner_opts(pol, out->cl, quiet, balancing, &o);
	if ((k.pl = plc_planner_new(out->cl, &o, err)) == NULL)
		goto out;
	if ((over = over_full(out->cl, &st)) == NULL) {
		bl_err_set(err, BL_ENOMEM, "out of memory");
		goto out;
	}
	/* One read-only transaction for the colocation counts and the
	 * cursor. */
	/* Candidates spread over a large table make a bitmap that goes
	 * lossy at the default work_mem, and a cost that switches on JIT
	 * compiling (bench-cycle, 10M objects: 1.87 s to 0.35 s). */
	if (bl_pg_run(db, "BEGIN READ ONLY", 0, NULL, err) == -1)
		goto out;
	intx = 1;
	if (bl_pg_run(db, "SET LOCAL work_mem = '16MB'", 0, NULL, err) == -1 ||
	    bl_pg_run(db, "SET LOCAL jit = off", 0, NULL, err) == -1)
		goto out;
	if ((k.coloc = colocation_load(db, over, err)) == NULL ||
	    candidates_declare(db, over, (long long)pol->min_residency_s,
	    err) == -1 || candidates_stream(db, &k, max_candidates, err) == -1)
		goto out;
	intx = 0;
	if (bl_pg_run(db, "COMMIT", 0, NULL, err) == -1)
		goto out;
	if (plc_planner_run(k.pl, &out->plan, err) == -1)
		goto out;
	out->has_plan = 1;
	rc = 0;
out:
	if (intx)
		bl_pg_run(db, "ROLLBACK", 0, NULL, NULL);
	json_decref(k.coloc);
	free(over);
	plc_planner_free(k.pl);
	return rc;
}

json_t *
ctl_plan_json(struct ctl_planned *p)
{
	return plc_plan_json(p->cl, &p->plan, plan_id, p);
}

void
ctl_planned_release(struct ctl_planned *p)
{
	if (p->has_plan)
		plc_plan_release(&p->plan);
	plc_cluster_free(p->cl);
	free(p->ids);
	memset(p, 0, sizeof(*p));
}

/* --- one cycle ------------------------------------------------------------ */

struct cycle_rec {
	const char	*outcome;
	char		 reason[256];
	const char	*preset;
	double		 before, projected, threshold, target;
	int		 has_before, has_projected;
	long long	 moves, bytes, min_bytes, candidates;
	double		 cost;
	long long	 max_moves, max_bytes;
	double		 max_cost;
	char		 job[37];
	char		 unreachable[2048];	/* text[] literal */
};

static int
cycle_record(struct ctl *c, PGconn *db, const struct cycle_rec *k,
    int manual, double started, struct bl_err *err)
{
	char b[13][64];
	const char *p[20];

	snprintf(b[0], 64, "%.6f", started);
	snprintf(b[1], 64, "%.9g", k->before);
	snprintf(b[2], 64, "%.9g", k->projected);
	snprintf(b[3], 64, "%.9g", k->threshold);
	snprintf(b[4], 64, "%.9g", k->target);
	snprintf(b[5], 64, "%lld", k->moves);
	snprintf(b[6], 64, "%lld", k->bytes);
	snprintf(b[7], 64, "%.6f", k->cost);
	snprintf(b[8], 64, "%lld", k->min_bytes);
	snprintf(b[9], 64, "%lld", k->max_moves);
	snprintf(b[10], 64, "%lld", k->max_bytes);
	snprintf(b[11], 64, "%.6f", k->max_cost);
	p[0] = b[0];
	p[1] = c->instance;
	p[2] = manual ? "manual" : "timer";
	p[3] = k->outcome;
	p[4] = k->reason;
	p[5] = k->preset;
	p[6] = k->has_before ? b[1] : NULL;
	p[7] = k->has_projected ? b[2] : NULL;
	p[8] = b[3];
	p[9] = b[4];
	p[10] = b[5];
	p[11] = b[6];
	p[12] = b[7];
	p[13] = b[8];
	p[14] = k->max_moves >= 0 ? b[9] : NULL;
	p[15] = k->max_bytes >= 0 ? b[10] : NULL;
	p[16] = k->max_cost >= 0 ? b[11] : NULL;
	p[17] = k->job[0] ? k->job : NULL;
	p[18] = k->unreachable[0] ? k->unreachable : "{}";
	snprintf(b[12], 64, "%lld", k->candidates);
	p[19] = b[12];
	return bl_pg_run(db, "INSERT INTO cycles (started_at, instance, "
	    "trigger, outcome, reason, preset, imbalance_before, "
	    "imbalance_projected, threshold, target, moves, bytes, cost, "
	    "min_bytes, max_moves, max_egress_bytes, max_cost, job, "
	    "unreachable, candidates) VALUES (to_timestamp($1), $2, $3, $4, "
	    "$5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,"
	    " $19::text[], $20)", 20, p, err);
}

/* Reports a finished cycle to ballastd's metrics (controller/metrics.h). */
static void
cycle_metrics(struct ctl *c, const struct cycle_rec *k, double started,
    int quiet, int paused)
{
	struct ctl_metrics_budget b[3];
	struct ctl_metrics_cycle m;
	struct timespec ts;
	size_t nb = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	memset(&m, 0, sizeof(m));
	m.outcome = k->outcome;
	m.duration_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - started;
	if (m.duration_s < 0)
		m.duration_s = 0;
	m.measured = k->has_before;
	m.imbalance = k->before;
	m.threshold = k->threshold;
	m.target = k->target;
	m.planned_moves = k->moves;
	m.planned_bytes = k->bytes;
	m.planned_cost = k->cost;
	/* A budget without a limit has no ratio to show. */
	if (k->max_moves > 0)
		b[nb++] = (struct ctl_metrics_budget){ "moves",
		    (double)k->moves / (double)k->max_moves };
	if (k->max_bytes > 0)
		b[nb++] = (struct ctl_metrics_budget){ "bytes",
		    (double)k->bytes / (double)k->max_bytes };
	if (k->max_cost > 0)
		b[nb++] = (struct ctl_metrics_budget){ "cost",
		    k->cost / k->max_cost };
	m.budgets = b;
	m.nbudgets = nb;
	m.quiet_hours = quiet;
	m.paused = paused;
	ctl_metrics_cycle(c->metrics, &m);
}

/* Pauses (entering quiet hours) or resumes (leaving them) the running
 * rebalance jobs the controller started; only the ones it paused itself
 * are resumed. The jobs change through migrate/ (their owner), in one
 * transaction with the record of which ones were paused. */
static int
quiet_inflight(PGconn *db, int pause, struct bl_err *err)
{
	char *ids = NULL;
	PGresult *r;
	int rc;

	if (bl_pg_run(db, "BEGIN", 0, NULL, err) == -1)
		return -1;
	if (pause) {
		rc = mig_jobs_pause_all(db, "rebalance", "controller", &ids,
		    err);
		if (rc == 0) {
			const char *p[1] = { ids };

			rc = bl_pg_run(db, "UPDATE controller_state SET "
			    "quiet_paused = quiet_paused || $1::uuid[] WHERE "
			    "id = 1", 1, p, err);
		}
	} else if ((r = bl_pg_exec(db, "SELECT quiet_paused::text FROM "
	    "controller_state WHERE id = 1", 0, NULL, err)) == NULL)
		rc = -1;
	else {
		rc = PQntuples(r) == 0 ? 0 : mig_jobs_resume_ids(db,
		    PQgetvalue(r, 0, 0), err);
		PQclear(r);
		if (rc == 0)
			rc = bl_pg_run(db, "UPDATE controller_state SET "
			    "quiet_paused = '{}' WHERE id = 1", 0, NULL, err);
	}
	free(ids);
	if (rc == -1 || bl_pg_run(db, "COMMIT", 0, NULL, err) == -1) {
		bl_pg_run(db, "ROLLBACK", 0, NULL, NULL);
		return -1;
	}
	return 0;
}

/* Gathers the cycle's inputs: the policy in force, quiet hours, the
 * controller's state and the map's fill; leaving quiet hours resumes what
 * entering them paused. */
static int
cycle_inputs(struct ctl *c, PGconn *db, double started,
    struct pol_policy *pol, struct pol_cycle_in *in, struct cycle_rec *k,
    struct ctl_cycle_result *res, struct bl_err *err)
{
	struct pol_tz tz = { bl_tz_localtime, NULL };
	struct plc_fill_stats st;
	struct plc_cluster *cl;
	struct bl_err perr;
	PGresult *r;

	if (ctl_policy_effective(c, db, pol, NULL, err) == -1)
		return -1;
	k->preset = pol_preset_name(pol->preset);
	k->threshold = pol->imbalance_threshold;
	k->target = pol->target_imbalance;
	k->max_moves = pol->max_moves_per_cycle;
	k->max_bytes = pol->max_egress_bytes_per_cycle;
	k->max_cost = pol->max_cost_per_cycle;
	res->interval_s = pol->check_interval_s;
	if (pol_quiet_at(pol, (time_t)started, &tz, &in->quiet, &perr) == -1)
		log_warnx("cycle: quiet hours: %s", perr.msg);
	if ((r = bl_pg_exec(db, "SELECT paused, balancing, (SELECT count(*) "
	    "FROM jobs WHERE kind = 'rebalance' AND origin = 'controller' AND "
	    "state IN ('init', 'setup', 'running', 'paused')), "
	    "cardinality(quiet_paused) FROM controller_state WHERE id = 1", 0,
	    NULL, err)) == NULL)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return bl_err_set(err, BL_EIO, "controller_state: no row");
	}
	in->paused = PQgetvalue(r, 0, 0)[0] == 't';
	in->balancing = PQgetvalue(r, 0, 1)[0] == 't';
	in->open_jobs = atoi(PQgetvalue(r, 0, 2));
	in->quiet_paused = atoi(PQgetvalue(r, 0, 3));
	PQclear(r);
	if (!in->quiet && in->quiet_paused > 0 && quiet_inflight(db, 0, err) ==
	    -1)
		return -1;
	/* The map as it stands, with open moves counted. */
	if ((cl = cluster_load(db, pol, err)) == NULL)
		return -1;
	plc_cluster_fill_stats(cl, NULL, &st);
	plc_cluster_free(cl);
	k->before = in->imbalance = st.imbalance;
	k->has_before = 1;
	k->min_bytes = (long long)st.min_bytes;
	res->imbalance = k->before;
	return 0;
}

/* Plans the moves and settles the outcome (one move per object, the
 * budgets): *d is updated, k gets the plan's numbers. */
static int
cycle_plan(struct ctl *c, PGconn *db, const struct pol_policy *pol,
    int quiet, struct pol_cycle_out *d, struct cycle_rec *k,
    struct ctl_planned *pl, struct bl_err *err)
{
	uint64_t *scratch = NULL;
	size_t dropped = 0;

	if (ctl_plan_build(db, pol, quiet, 1, c->max_candidates, pl, err) ==
	    -1)
		return -1;
	k->candidates = (long long)pl->n;
	k->projected = pl->plan.after.imbalance;
	k->has_projected = 1;
	if (pl->plan.n_moves > 0) {
		if ((scratch = calloc(2 * pl->plan.n_moves,
		    sizeof(*scratch))) == NULL)
			return bl_err_set(err, BL_ENOMEM, "out of memory");
		dropped = pol_plan_one_per_object(&pl->plan, scratch);
		free(scratch);
	}
	pol_cycle_after_plan(&pl->plan, dropped, pl->truncated, d);
	k->moves = (long long)pl->plan.n_moves;
	k->bytes = (long long)pl->plan.bytes;
	k->cost = pl->plan.cost;
	k->outcome = pol_outcome_name(d->outcome);
	snprintf(k->reason, sizeof(k->reason), "%s", d->reason);
	return 0;
}

/* The plan's moves become a rebalance job (with the policy's throttle). */
static int
cycle_job(PGconn *db, const struct pol_policy *pol, struct ctl_planned *pl,
    struct cycle_rec *k, struct bl_err *err)
{
	json_t *moves = json_array(), *params;
	int rc;

	for (size_t i = 0; i < pl->plan.n_moves; i++) {
		const struct plc_move *m = &pl->plan.moves[i];

		json_array_append_new(moves, json_pack("{s:s,s:s,s:s}",
		    "object", plan_id(m->handle, pl), "from",
		    pl->cl->nodes[m->from].id, "to", pl->cl->nodes[m->to].id));
	}
	params = json_pack("{s:{s:o}}", "plan", "moves", moves);
	rc = mig_job_create(db, "rebalance", "controller", params, NULL,
	    "controller", k->job, err);
	json_decref(params);
	if (rc == -1) {
		k->job[0] = '\0';
		return -1;
	}
	if (pol->throttle_bytes_per_sec > 0 && mig_set_throttle(db, k->job,
	    pol->throttle_bytes_per_sec, "controller", err) == -1)
		return -1;
	return 0;
}

/* One cycle: gather the inputs, decide (policy/decide.c, shared with
 * ballastctl simulate), plan, create the job; the cycle is recorded
 * whatever happened. */
int
ctl_cycle_run(struct ctl *c, PGconn *db, int manual,
    const char *unreachable, struct ctl_cycle_result *res,
    struct bl_err *err)
{
	struct pol_policy pol;
	struct pol_cycle_in in;
	struct pol_cycle_out d;
	struct cycle_rec k;
	struct ctl_planned pl;
	struct timespec ts;
	double started;
	int rc = -1;

	memset(&k, 0, sizeof(k));
	memset(&pl, 0, sizeof(pl));
	memset(&in, 0, sizeof(in));
	memset(res, 0, sizeof(*res));
	clock_gettime(CLOCK_REALTIME, &ts);
	started = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	snprintf(k.unreachable, sizeof(k.unreachable), "%s",
	    unreachable ? unreachable : "{}");
	k.outcome = "error";
	k.preset = "default";
	if (cycle_inputs(c, db, started, &pol, &in, &k, res, err) == -1)
		goto record;
	pol_cycle_decide(&pol, &in, &d);
	k.outcome = pol_outcome_name(d.outcome);
	snprintf(k.reason, sizeof(k.reason), "%s", d.reason);
	if (d.pause_inflight && quiet_inflight(db, 1, err) == -1)
		goto record;
	if (d.store_balancing) {
		const char *p[1] = { d.balancing ? "t" : "f" };

		if (bl_pg_run(db, "UPDATE controller_state SET balancing = $1 "
		    "WHERE id = 1", 1, p, err) == -1)
			goto record;
	}
	if (d.outcome == POL_OUT_PLAN) {
		if (cycle_plan(c, db, &pol, in.quiet, &d, &k, &pl, err) == -1)
			goto record;
		if (d.outcome != POL_OUT_IDLE) {
			if (cycle_job(db, &pol, &pl, &k, err) == -1)
				goto record;
			res->job_created = 1;
		}
	}
	rc = 0;
record:
	if (rc == -1) {
		k.outcome = "error";
		snprintf(k.reason, sizeof(k.reason), "%s", err->msg);
	}
	snprintf(res->outcome, sizeof(res->outcome), "%s", k.outcome);
	res->moves = k.moves;
	if (bl_pg_ok(db)) {
		struct bl_err rerr;

		if (cycle_record(c, db, &k, manual, started, &rerr) == -1) {
			if (rc == 0)
				*err = rerr;
			rc = -1;
		}
	}
	cycle_metrics(c, &k, started, in.quiet, in.paused);
	ctl_planned_release(&pl);
	return rc;
}

/* Counts a cycle that a follower did not run. It writes no row: the
 * cycles table keeps the history of the cycles that ran, and a follower's
 * timer would otherwise add one row an interval forever. */
void
ctl_cycle_not_leader(struct ctl *c)
{
	struct cycle_rec k;
	struct timespec ts;

	memset(&k, 0, sizeof(k));
	clock_gettime(CLOCK_REALTIME, &ts);
	k.outcome = "not_leader";
	k.preset = "default";
	k.max_moves = k.max_bytes = -1;
	k.max_cost = -1;
	cycle_metrics(c, &k, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9, 0,
	    0);
}
