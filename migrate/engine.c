/* migrate/engine.c - the job engine thread (DESIGN 7; docs/engine.md).
 *
 * One thread, one PostgreSQL connection, one libev loop that exists only to
 * drive curl multi for the agent calls of a step. Each tick:
 *   1. reconnect if needed (the database down pauses the engine);
 *   2. probe every node's /v1/status in parallel;
 *   3. set up new jobs: create their tasks, choose sources and
 *      destinations;
 *   4. dispatch: batch unprocessed tasks into assignments per destination,
 *      record each one "posted", then POST it (in parallel);
 *   5. poll posted assignments (in parallel); record per-task results;
 *   6. commit copied tasks through the committer pool (CAS);
 *   7. remove orphans and, after the grace period, source copies;
 *   8. recount jobs and finish the ones with nothing open.
 * Every step reads its work from the database, so after kill -9 the next
 * process simply runs the next tick. Steps 5-7 live in settle.c.
 */
#include "migrate/engine_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "lib/http_client.h"
#include "lib/log.h"
#include "lib/pg.h"
#include "lib/sign.h"
#include "lib/uuid.h"
#include "placement/planner.h"

/* --- agent calls, run in parallel ----------------------------------------- */

void
mig_calls_run(struct mig_engine *e, struct bl_acall *c, size_t n)
{
	struct bl_acall_opts o = { e->secret, e->o.secret_len, 2000,
	    e->o.agent_timeout_s * 1000, 0 };

	bl_acalls_run(e->loop, e->http, &o, c, n);
}

/* --- helpers -------------------------------------------------------------- */

static void
nodes_clear(struct mig_engine *e)
{
	for (size_t i = 0; i < e->nnodes; i++)
		free(e->nodes[i].url);
	free(e->nodes);
	e->nodes = NULL;
	e->nnodes = 0;
	plc_cluster_free(e->cl);
	e->cl = NULL;
}

ssize_t
mig_node_find(const struct mig_engine *e, const char *id)
{
	return e->cl != NULL ? plc_cluster_find(e->cl, id) : -1;
}

/* Appends s to a PostgreSQL array literal being built in *buf, quoted. */
static int
arr_add(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t need = *len + 2 * (s ? strlen(s) : 4) + 8;

	if (need > *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;
		char *nb;

		while (nc < need)
			nc *= 2;
		if ((nb = realloc(*buf, nc)) == NULL)
			return -1;
		*buf = nb;
		*cap = nc;
	}
	if (*len == 0)
		(*buf)[(*len)++] = '{';
	else
		(*buf)[(*len)++] = ',';
	if (s == NULL) {
		memcpy(*buf + *len, "NULL", 4);
		*len += 4;
	} else {
		(*buf)[(*len)++] = '"';
		for (const char *p = s; *p; p++) {
			if (*p == '"' || *p == '\\')
				(*buf)[(*len)++] = '\\';
			(*buf)[(*len)++] = *p;
		}
		(*buf)[(*len)++] = '"';
	}
	(*buf)[*len] = '\0';
	return 0;
}

int
mig_arr_push(struct arr *a, const char *s)
{
	return arr_add(&a->buf, &a->len, &a->cap, s);
}

const char *
mig_arr_str(struct arr *a)
{
	if (a->len == 0)
		return "{}";
	a->buf[a->len] = '}';
	a->buf[a->len + 1] = '\0';
	return a->buf;
}

void
mig_arr_free(struct arr *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

/* arr_add leaves room for the closing brace: need includes +8. */

/* Parses a PostgreSQL text[] value {a,b,"c d"} into node indexes; unknown
 * nodes are left out. Returns the count. */
static size_t
parse_copies(const struct mig_engine *e, const char *v, int *out, size_t max)
{
	char tok[256];
	size_t n = 0, tl = 0;
	int q = 0;

	if (v == NULL || *v != '{')
		return 0;
	for (const char *p = v + 1; *p; p++) {
		if (q) {
			if (*p == '\\' && p[1]) {
				p++;
			} else if (*p == '"') {
				q = 0;
				continue;
			}
			if (tl + 1 < sizeof(tok))
				tok[tl++] = *p;
			continue;
		}
		if (*p == '"') {
			q = 1;
			continue;
		}
		if (*p == ',' || *p == '}') {
			tok[tl] = '\0';
			if (tl > 0 && n < max) {
				ssize_t k = mig_node_find(e, tok);

				if (k >= 0)
					out[n++] = (int)k;
			}
			tl = 0;
			if (*p == '}')
				break;
			continue;
		}
		if (tl + 1 < sizeof(tok))
			tok[tl++] = *p;
	}
	return n;
}

/* Splits {a,b} into borrowed strings inside buf (modified copy). */
static size_t
parse_text_array(char *v, const char **out, size_t max)
{
	size_t n = 0;
	char *p, *s;

	if (v == NULL || *v != '{')
		return 0;
	p = v + 1;
	while (*p && *p != '}' && n < max) {
		int q = *p == '"';

		if (q)
			p++;
		s = p;
		while (*p && (q ? *p != '"' : (*p != ',' && *p != '}')))
			p++;
		if (q && *p == '"')
			*p++ = '\0';
		if (*p == ',')
			*p++ = '\0';
		else if (*p == '}')
			*p = '\0';
		out[n++] = s;
	}
	return n;
}

int
mig_db_fail(struct mig_engine *e, const struct bl_err *err, const char *what)
{
	log_warnx("engine: %s: %s", what, err->msg);
	if (e->db != NULL && !bl_pg_ok(e->db)) {
		PQfinish(e->db);
		e->db = NULL;
		atomic_store(&e->db_ok, 0);
	}
	return -1;
}

/* --- 1, 2: database and nodes --------------------------------------------- */

static int
ensure_db(struct mig_engine *e)
{
	struct bl_err err;

	if (e->db != NULL && bl_pg_ok(e->db))
		return 0;
	if (e->db != NULL)
		PQfinish(e->db);
	if ((e->db = bl_pg_connect(e->conninfo, 3, &err)) == NULL) {
		if (!e->db_was_down)
			log_warnx("engine: database unreachable, pausing: %s",
			    err.msg);
		e->db_was_down = 1;
		atomic_store(&e->db_ok, 0);
		return -1;
	}
	if (e->db_was_down)
		log_info("engine: database back, resuming");
	e->db_was_down = 0;
	atomic_store(&e->db_ok, 1);
	return 0;
}

static char *
dupv(const PGresult *r, int i, int k)
{
	return strdup(PQgetvalue(r, i, k));
}

static int
load_nodes(struct mig_engine *e)
{
	struct bl_err err;
	struct bl_acall *calls;
	struct arr ids = { 0 }, reach = { 0 }, caps = { 0 }, used = { 0 };
	const char *p[4];
	PGresult *r;
	int n, rc = -1;

	nodes_clear(e);
	if ((r = bl_pg_exec(e->db, "SELECT id, agent_url, region, datacenter,"
	    " rack, host, state, weight, capacity_bytes, used_bytes, "
	    "coalesce(extract(epoch FROM now() - last_seen), 1e9) FROM "
	    "nodes ORDER BY id COLLATE \"C\"", 0, NULL, &err)) == NULL)
		return mig_db_fail(e, &err, "load nodes");
	n = PQntuples(r);
	e->cl = plc_cluster_new();
	e->nodes = calloc(n ? (size_t)n : 1, sizeof(*e->nodes));
	calls = calloc(n ? (size_t)n : 1, sizeof(*calls));
	if (e->cl == NULL || e->nodes == NULL || calls == NULL ||
	    (e->cl->nodes = calloc(n ? (size_t)n : 1,
	    sizeof(*e->cl->nodes))) == NULL) {
		PQclear(r);
		free(calls);
		return -1;
	}
	e->cl->failure_domain = e->o.failure_domain;
	for (int i = 0; i < n; i++) {
		struct plc_node *nd = &e->cl->nodes[i];
		const char *st = PQgetvalue(r, i, 6);

		nd->id = dupv(r, i, 0);
		e->nodes[i].url = dupv(r, i, 1);
		nd->region = dupv(r, i, 2);
		nd->datacenter = dupv(r, i, 3);
		nd->rack = dupv(r, i, 4);
		nd->host = dupv(r, i, 5);
		nd->state = strcmp(st, "in") == 0 ? PLC_NODE_IN :
		    strcmp(st, "draining") == 0 ? PLC_NODE_DRAINING :
		    PLC_NODE_OUT;
		nd->weight = strtod(PQgetvalue(r, i, 7), NULL);
		nd->capacity_bytes = strtoull(PQgetvalue(r, i, 8), NULL, 10);
		nd->used_bytes = strtoull(PQgetvalue(r, i, 9), NULL, 10);
		nd->latency_ms = -1;
		e->nodes[i].silent_s = strtod(PQgetvalue(r, i, 10), NULL);
		bl_acall_set(&calls[i], "GET", e->nodes[i].url, "/v1/status",
		    NULL);
	}
	e->cl->n = e->nnodes = (size_t)n;
	PQclear(r);
	mig_calls_run(e, calls, (size_t)n);
	for (int i = 0; i < n; i++) {
		struct plc_node *nd = &e->cl->nodes[i];
		char num[32];
		json_t *j = calls[i].json;

		nd->reachable = calls[i].status == 200 && json_is_object(j);
		if (nd->reachable) {
			/* An agent's numbers are input: never negative. */
			json_int_t cap = json_integer_value(
			    json_object_get(j, "capacity_bytes"));
			json_int_t use = json_integer_value(
			    json_object_get(j, "used_bytes"));

			e->nodes[i].silent_s = 0;
			nd->capacity_bytes = cap > 0 ? (uint64_t)cap : 0;
			nd->used_bytes = use > 0 ? (uint64_t)use : 0;
		}
		mig_arr_push(&ids, nd->id);
		mig_arr_push(&reach, nd->reachable ? "t" : "f");
		snprintf(num, sizeof(num), "%llu",
		    (unsigned long long)nd->capacity_bytes);
		mig_arr_push(&caps, num);
		snprintf(num, sizeof(num), "%llu",
		    (unsigned long long)nd->used_bytes);
		mig_arr_push(&used, num);
	}
	bl_acalls_release(calls, (size_t)n);
	free(calls);
	p[0] = mig_arr_str(&ids);
	p[1] = mig_arr_str(&reach);
	p[2] = mig_arr_str(&caps);
	p[3] = mig_arr_str(&used);
	if (n > 0 && bl_pg_run(e->db, "UPDATE nodes n SET reachable = u.r, "
	    "capacity_bytes = CASE WHEN u.r THEN u.c ELSE n.capacity_bytes "
	    "END, used_bytes = CASE WHEN u.r THEN u.u ELSE n.used_bytes END, "
	    "last_seen = CASE WHEN u.r THEN now() ELSE n.last_seen END FROM "
	    "unnest($1::text[], $2::boolean[], $3::bigint[], $4::bigint[]) "
	    "AS u(id, r, c, u) WHERE n.id = u.id", 4, p, &err) == -1) {
		mig_db_fail(e, &err, "update nodes");
		goto out;
	}
	rc = 0;
out:
	mig_arr_free(&ids);
	mig_arr_free(&reach);
	mig_arr_free(&caps);
	mig_arr_free(&used);
	return rc;
}

/* --- 3: job set-up -------------------------------------------------------- */

/* The kind whose rules a job's tasks follow: a retry follows its parent's. */
static int
root_kind(struct mig_engine *e, const char *id, char *kind, size_t len)
{
	char cur[37];
	struct bl_err err;

	snprintf(cur, sizeof(cur), "%s", id);
	for (int depth = 0; depth < 64; depth++) {
		const char *p[1] = { cur };
		PGresult *r;

		if ((r = bl_pg_exec(e->db, "SELECT kind, parent FROM jobs "
		    "WHERE id = $1", 1, p, &err)) == NULL)
			return mig_db_fail(e, &err, "job kind");
		if (PQntuples(r) == 0) {
			PQclear(r);
			return -1;
		}
		if (strcmp(PQgetvalue(r, 0, 0), "retry") != 0 ||
		    PQgetisnull(r, 0, 1)) {
			snprintf(kind, len, "%s", PQgetvalue(r, 0, 0));
			PQclear(r);
			return 0;
		}
		snprintf(cur, sizeof(cur), "%s", PQgetvalue(r, 0, 1));
		PQclear(r);
	}
	return -1;
}

int
mig_delete_source_for(struct mig_engine *e, const char *job)
{
	char kind[32];

	if (root_kind(e, job, kind, sizeof(kind)) == -1)
		return 0;
	if (strcmp(kind, "rebalance") == 0)
		return 1;
	return e->o.evacuate_deletes_source;
}

/* init -> setup: creates the tasks and, for an evacuation, drains the
 * node; one transaction, so it happens once. Returns 0, 1 when the job was
 * marked failed (its params do not work), or -1 (database trouble). */
static int
job_create_tasks(struct mig_engine *e, const char *id, const char *kind,
    json_t *params)
{
	struct bl_err err;
	const char *p[3];
	char lim[32];
	char *plan = NULL;

	if (bl_pg_run(e->db, "BEGIN", 0, NULL, &err) == -1)
		return mig_db_fail(e, &err, "setup");
	p[0] = id;
	if (strcmp(kind, "evacuate") == 0) {
		json_t *mo = json_object_get(params, "max_objects");

		p[1] = json_string_value(json_object_get(params, "from_node"));
		p[2] = NULL;
		if (json_is_integer(mo)) {
			snprintf(lim, sizeof(lim), "%lld",
			    (long long)json_integer_value(mo));
			p[2] = lim;
		}
		/* Drains the node and says in the job what happens to it
		 * when the job ends: a partial evacuation (max_objects) of
		 * a node it drained itself puts it back "in"; otherwise it
		 * stays "draining". */
		if (bl_pg_run(e->db, "WITH d AS (UPDATE nodes SET state = "
		    "'draining', updated_at = now() WHERE id = $2 AND state = "
		    "'in' RETURNING id) UPDATE jobs SET params = params || "
		    "jsonb_build_object('node_state_after', CASE WHEN $3::text "
		    "IS NOT NULL AND EXISTS (SELECT 1 FROM d) THEN 'in' ELSE "
		    "'draining' END) WHERE id = $1", 3, p, &err) == -1 ||
		    bl_pg_run(e->db, "INSERT INTO job_tasks (job, object, owner,"
		    " md5, size, version, source) SELECT $1, id, owner, md5, "
		    "size, version, $2 FROM objects WHERE copies @> ARRAY[$2] "
		    "ORDER BY id LIMIT $3::bigint ON CONFLICT DO NOTHING", 3, p,
		    &err) == -1)
			goto fail;
	} else if (strcmp(kind, "retry") == 0) {
		p[1] = json_string_value(json_object_get(params, "job"));
		/* Re-run the parent's skipped and failed tasks, from the
		 * object's current metadata. dest is kept for a rebalance
		 * move and chosen again for an evacuation. */
		if (bl_pg_run(e->db, "INSERT INTO job_tasks (job, object, owner,"
		    " md5, size, version, source, dest) SELECT $1, o.id, "
		    "o.owner, o.md5, o.size, o.version, t.source, CASE WHEN "
		    "(SELECT kind FROM jobs WHERE id = $2) = 'rebalance' THEN "
		    "t.dest END FROM job_tasks t JOIN objects o ON o.id = "
		    "t.object WHERE t.job = $2 AND t.state IN ('skipped', "
		    "'failed') ON CONFLICT DO NOTHING", 2, p, &err) == -1)
			goto fail;
	} else if (strcmp(kind, "rebalance") == 0) {
		json_t *moves = json_object_get(json_object_get(params,
		    "plan"), "moves");

		plan = json_dumps(moves ? moves : json_array(), JSON_COMPACT);
		p[1] = plan;
		/* A move whose object does not exist is kept as a task
		 * skipped with object_missing, so the job says so. */
		if (bl_pg_run(e->db, "INSERT INTO job_tasks (job, object, owner,"
		    " md5, size, version, source, dest, state, reason) SELECT "
		    "$1, m.object, coalesce(o.owner, '00000000-0000-0000-0000-"
		    "000000000000'), coalesce(o.md5, ''), coalesce(o.size, 0), "
		    "coalesce(o.version, 0), m.\"from\", m.\"to\", CASE WHEN "
		    "o.id IS NULL THEN 'skipped' ELSE 'unprocessed' END, CASE "
		    "WHEN o.id IS NULL THEN 'object_missing' END FROM "
		    "jsonb_to_recordset($2::jsonb) AS m(object uuid, \"from\" "
		    "text, \"to\" text) LEFT JOIN objects o ON o.id = m.object "
		    "WHERE m.object IS NOT NULL ON CONFLICT DO NOTHING", 2, p,
		    &err) == -1)
			goto fail;
	}
	if (bl_pg_run(e->db, "UPDATE jobs SET state = 'setup', started_at = "
	    "now(), updated_at = now() WHERE id = $1 AND state = 'init'", 1, p,
	    &err) == -1 || bl_pg_run(e->db, "COMMIT", 0, NULL, &err) == -1)
		goto fail;
	free(plan);
	return 0;
fail:
	free(plan);
	bl_pg_run(e->db, "ROLLBACK", 0, NULL, NULL);
	if (e->db != NULL && bl_pg_ok(e->db)) {
		/* The database answered and refused: the job itself is bad
		 * (a plan that does not parse, say). It fails, with why;
		 * the other jobs go on. */
		const char *fp[2] = { id, err.msg };

		log_warnx("job id=%s: set-up failed: %s", id, err.msg);
		if (bl_pg_run(e->db, "UPDATE jobs SET state = 'failed', error ="
		    " $2, finished_at = now(), updated_at = now() WHERE id = $1"
		    " AND state = 'init'", 2, fp, &err) == 0)
			return 1;
	}
	return mig_db_fail(e, &err, "create tasks");
}

#define SETUP_BATCH 2000
#define MAX_COPIES 16

/* One setup pass's state: the projected use (it grows as we choose),
 * the chooser's scratch, and the batch's results as array literals. */
struct choose {
	struct mig_engine	*e;
	const struct plc_node	*nodes;
	uint64_t		*used;		/* owns: per node */
	void			*scratch;	/* owns */
	struct arr		 objs, pulls, dests, states, reasons;
};

/* A rebalance move keeps the plan's destination: the reason it cannot
 * (NULL: it can). */
static const char *
choose_planned(struct choose *c, const int *copies, size_t nc,
    const char *dest)
{
	ssize_t d = mig_node_find(c->e, dest);

	for (size_t k = 0; k < nc; k++)
		if ((ssize_t)copies[k] == d)
			return "object_already_on_dest_node";
	if (d < 0 || c->nodes[d].state != PLC_NODE_IN ||
	    !c->nodes[d].reachable)
		return "destination_unreachable";
	return NULL;
}

/* An evacuation's destination by placement's rules (plc_choose_dest):
 * its index, or -1 with the reason. */
static int
choose_evacuation(struct choose *c, PGresult *r, int i, const int *copies,
    size_t nc, ssize_t srci, const char **reason)
{
	const char *obj = PQgetvalue(r, i, 0), *dcs[16];
	uint64_t key = plc_object_key(obj, strlen(obj));
	struct plc_choice in;
	char *dcbuf = NULL;
	size_t nfull;
	int dst;

	memset(&in, 0, sizeof(in));
	in.copies = copies;
	in.ncopies = nc;
	in.replaced = (int)srci;
	in.size = strtoull(PQgetvalue(r, i, 3), NULL, 10);
	in.x = (uint32_t)(key ^ (key >> 32));
	if (!PQgetisnull(r, i, 5)) {
		dcbuf = strdup(PQgetvalue(r, i, 5));
		in.nallowed = parse_text_array(dcbuf, dcs, 16);
		in.allowed_dcs = dcs;
	}
	in.max_fill = c->e->o.max_fill;
	in.domain = c->e->o.failure_domain;
	dst = plc_choose_dest(c->nodes, c->e->nnodes, c->used, &in,
	    c->scratch, &nfull);
	free(dcbuf);
	if (dst < 0)
		*reason = nfull > 0 ? "destination_insufficient_space" :
		    "no_eligible_destination";
	return dst;
}

/* Row i of a setup batch: its pull source and destination, or skipped
 * with why, added to the batch's arrays. */
static void
choose_task(struct choose *c, PGresult *r, int i)
{
	const char *reason = NULL, *dst_id = NULL, *pull_id = "";
	ssize_t srci = mig_node_find(c->e, PQgetvalue(r, i, 1));
	int copies[MAX_COPIES], pull, dst, listed = 0;
	size_t nc;

	nc = parse_copies(c->e, PQgetvalue(r, i, 4), copies, MAX_COPIES);
	for (size_t k = 0; k < nc; k++)
		if ((ssize_t)copies[k] == srci)
			listed = 1;
	if (strcmp(PQgetvalue(r, i, 6), "t") == 0)
		reason = "object_missing";
	else if (!listed)
		reason = "metadata_changed";
	else if ((pull = plc_choose_pull(c->nodes, c->e->nnodes, copies, nc,
	    (int)srci)) < 0)
		reason = "source_unavailable";
	else {
		pull_id = c->nodes[pull].id;
		if (!PQgetisnull(r, i, 2)) {
			if ((reason = choose_planned(c, copies, nc,
			    PQgetvalue(r, i, 2))) == NULL)
				dst_id = PQgetvalue(r, i, 2);
		} else if ((dst = choose_evacuation(c, r, i, copies, nc, srci,
		    &reason)) >= 0)
			dst_id = c->nodes[dst].id;
	}
	mig_arr_push(&c->objs, PQgetvalue(r, i, 0));
	mig_arr_push(&c->pulls, pull_id);
	mig_arr_push(&c->dests, dst_id);
	mig_arr_push(&c->states, reason ? "skipped" : "unprocessed");
	mig_arr_push(&c->reasons, reason);
}

/* Chooses for the next SETUP_BATCH tasks of job id and records them in one
 * UPDATE. Returns how many, or -1. */
static int
choose_batch(struct choose *c, const char *id)
{
	struct mig_engine *e = c->e;
	struct bl_err err;
	const char *p[6] = { id };
	PGresult *r;
	int n;

	if ((r = bl_pg_exec(e->db, "SELECT t.object, t.source, t.dest, t.size,"
	    " o.copies, o.allowed_dcs, o.id IS NULL FROM job_tasks t LEFT JOIN "
	    "objects o ON o.id = t.object WHERE t.job = $1 AND t.state = "
	    "'unprocessed' AND t.pull_from IS NULL ORDER BY t.object LIMIT "
	    "2000", 1, p, &err)) == NULL)
		return mig_db_fail(e, &err, "setup select");
	n = PQntuples(r);
	for (int i = 0; i < n; i++)
		choose_task(c, r, i);
	PQclear(r);
	p[1] = mig_arr_str(&c->objs);
	p[2] = mig_arr_str(&c->pulls);
	p[3] = mig_arr_str(&c->dests);
	p[4] = mig_arr_str(&c->states);
	p[5] = mig_arr_str(&c->reasons);
	if (n > 0 && bl_pg_run(e->db, "UPDATE job_tasks t SET pull_from = u.p,"
	    " dest = coalesce(u.d, t.dest), state = u.s, reason = u.r, "
	    "updated_at = now() FROM unnest($2::uuid[], $3::text[], $4::text[],"
	    " $5::text[], $6::text[]) AS u(o, p, d, s, r) WHERE t.job = $1 AND "
	    "t.object = u.o AND t.state = 'unprocessed'", 6, p, &err) == -1)
		n = mig_db_fail(e, &err, "setup update");
	mig_arr_free(&c->objs);
	mig_arr_free(&c->pulls);
	mig_arr_free(&c->dests);
	mig_arr_free(&c->states);
	mig_arr_free(&c->reasons);
	return n;
}

/* setup -> running: chooses the pull source and the destination of every
 * task, in batches. A task with no valid choice is skipped with why. */
static int
job_choose(struct mig_engine *e, const char *id)
{
	struct choose c;
	struct bl_err err;
	const char *p[1] = { id };
	int n, rc = -1;

	memset(&c, 0, sizeof(c));
	c.e = e;
	c.nodes = e->cl != NULL ? e->cl->nodes : NULL;
	c.used = calloc(e->nnodes ? e->nnodes : 1, sizeof(*c.used));
	c.scratch = malloc(plc_choose_scratch_size(e->nnodes));
	if (c.used == NULL || c.scratch == NULL)
		goto out;
	for (size_t i = 0; i < e->nnodes; i++)
		c.used[i] = c.nodes[i].used_bytes;
	plc_choose_scratch_init(c.nodes, e->nnodes, c.scratch);
	do {
		if ((n = choose_batch(&c, id)) < 0)
			goto out;
	} while (n >= SETUP_BATCH);
	if (bl_pg_run(e->db, "UPDATE jobs SET state = 'running', updated_at = "
	    "now() WHERE id = $1 AND state = 'setup'", 1, p, &err) == -1) {
		mig_db_fail(e, &err, "setup done");
		goto out;
	}
	rc = 0;
out:
	free(c.used);
	free(c.scratch);
	return rc;
}

static int
setup_jobs(struct mig_engine *e)
{
	struct bl_err err;
	PGresult *r;
	int n;

	if ((r = bl_pg_exec(e->db, "SELECT id, kind, state, params FROM jobs "
	    "WHERE state IN ('init', 'setup') OR (state = 'running' AND "
	    "EXISTS (SELECT 1 FROM job_tasks t WHERE t.job = jobs.id AND "
	    "t.state = 'unprocessed' AND t.pull_from IS NULL)) ORDER BY "
	    "created_at", 0, NULL,
	    &err)) == NULL)
		return mig_db_fail(e, &err, "setup jobs");
	n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		const char *id = PQgetvalue(r, i, 0);
		json_t *params = json_loads(PQgetvalue(r, i, 3), 0, NULL);
		int rc = 0;

		if (strcmp(PQgetvalue(r, i, 2), "init") == 0) {
			rc = job_create_tasks(e, id, PQgetvalue(r, i, 1),
			    params);
			if (rc == 0)
				log_info("job id=%s: tasks created", id);
		}
		if (rc == 1) {
			json_decref(params);
			continue;	/* failed, recorded */
		}
		if (rc == 0)
			rc = job_choose(e, id);
		if (rc == 0 && strcmp(PQgetvalue(r, i, 2), "running") != 0)
			log_info("job id=%s: running", id);
		json_decref(params);
		if (rc == -1) {
			PQclear(r);
			return -1;
		}
	}
	PQclear(r);
	return 0;
}

/* --- 4: dispatch ---------------------------------------------------------- */

char *
mig_assignment_body(struct mig_engine *e, const char *aid, const char *job,
    long long share, const PGresult *r)
{
	json_t *tasks = json_array(), *root;
	char *s;

	for (int i = 0; i < PQntuples(r); i++) {
		ssize_t k = mig_node_find(e, PQgetvalue(r, i, 4));

		json_array_append_new(tasks, json_pack("{s:s,s:s,s:s,s:I,"
		    "s:{s:s,s:s}}", "object_id", PQgetvalue(r, i, 0), "owner",
		    PQgetvalue(r, i, 1), "md5", PQgetvalue(r, i, 2), "size",
		    (json_int_t)strtoll(PQgetvalue(r, i, 3), NULL, 10),
		    "source", "node", PQgetvalue(r, i, 4), "url",
		    k >= 0 ? e->nodes[k].url : "http://0.0.0.0:1"));
	}
	root = json_pack("{s:s,s:s,s:o}", "id", aid, "job", job, "tasks",
	    tasks);
	if (root != NULL && share >= 0)
		json_object_set_new(root, "throttle_bytes_per_sec",
		    json_integer(share));
	s = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	return s;
}

/* --- throttle shares ------------------------------------------------------ */

long long
mig_job_share(struct mig_engine *e, const char *job, const char *dest)
{
	const char *p[2] = { job, dest };
	struct bl_err err;
	long long t, n;
	PGresult *r;

	if ((r = bl_pg_exec(e->db, "SELECT j.throttle_bytes_per_sec, (SELECT "
	    "count(DISTINCT a.dest) FROM assignments a WHERE a.job = j.id AND "
	    "a.state = 'posted' AND a.dest <> $2) FROM jobs j WHERE j.id = $1",
	    2, p, &err)) == NULL) {
		mig_db_fail(e, &err, "throttle share");
		return -1;
	}
	t = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	n = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 1), NULL, 10) : 0;
	PQclear(r);
	return t > 0 ? (t / (n + 1) > 0 ? t / (n + 1) : 1) : 0;
}

static int
thr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mig_thr *)a)->key,
	    ((const struct mig_thr *)b)->key);
}

/* Remembers that dest was sent share of job (before sync_throttles). */
static void
thr_note(struct mig_engine *e, const char *job, const char *dest,
    long long share)
{
	if (e->nthr == e->capthr) {
		size_t nc = e->capthr ? 2 * e->capthr : 64;
		struct mig_thr *t = realloc(e->thr, nc * sizeof(*t));

		if (t == NULL)
			return;	/* sent again by the next sync: harmless */
		e->thr = t;
		e->capthr = nc;
	}
	snprintf(e->thr[e->nthr].key, sizeof(e->thr[0].key), "%s %s", job,
	    dest);
	e->thr[e->nthr++].share = share;
}

/* Keeps each running job's rate at its throttle as destinations come and
 * go: every destination holding posted assignments of the job gets an
 * even share, and is told (PUT /v1/jobs/{id}/throttle, signed) whenever
 * its share changes, so a throttle set through the API reaches the agents
 * on the next tick. What was sent is remembered in memory only: after a
 * restart every share is sent once again. */
static int
sync_throttles(struct mig_engine *e)
{
	struct mig_thr *next = NULL, *old;
	struct bl_acall *calls = NULL;
	size_t ncalls = 0;
	struct bl_err err;
	PGresult *r;
	int n, *idx = NULL;	/* the row of each call */

	if ((r = bl_pg_exec(e->db, "SELECT a.job, a.dest, "
	    "j.throttle_bytes_per_sec, count(*) OVER (PARTITION BY a.job) FROM "
	    "(SELECT DISTINCT job, dest FROM assignments WHERE state = "
	    "'posted') a JOIN jobs j ON j.id = a.job", 0, NULL, &err)) ==
	    NULL)
		return mig_db_fail(e, &err, "throttle sync");
	n = PQntuples(r);
	if (e->nthr > 0)
		qsort(e->thr, e->nthr, sizeof(*e->thr), thr_cmp);
	if (n > 0 && ((next = calloc((size_t)n, sizeof(*next))) == NULL ||
	    (calls = calloc((size_t)n, sizeof(*calls))) == NULL ||
	    (idx = calloc((size_t)n, sizeof(*idx))) == NULL)) {
		free(next);
		free(calls);
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const char *job = PQgetvalue(r, i, 0);
		long long t = strtoll(PQgetvalue(r, i, 2), NULL, 10);
		long long cnt = strtoll(PQgetvalue(r, i, 3), NULL, 10);
		ssize_t k = mig_node_find(e, PQgetvalue(r, i, 1));
		char target[128];

		snprintf(next[i].key, sizeof(next[i].key), "%s %s", job,
		    PQgetvalue(r, i, 1));
		next[i].share = t > 0 ? (t / cnt > 0 ? t / cnt : 1) : 0;
		old = e->nthr ? bsearch(&next[i], e->thr, e->nthr,
		    sizeof(*e->thr), thr_cmp) : NULL;
		if ((old != NULL && old->share == next[i].share) || k < 0)
			continue;
		snprintf(target, sizeof(target), "/v1/jobs/%s/throttle", job);
		bl_acall_set(&calls[ncalls], "PUT", e->nodes[k].url, target,
		    NULL);
		if (asprintf(&calls[ncalls].body, "{\"bytes_per_sec\":%lld}",
		    next[i].share) < 0)
			calls[ncalls].body = NULL;
		idx[ncalls++] = i;
	}
	PQclear(r);
	mig_calls_run(e, calls, ncalls);
	for (size_t c = 0; c < ncalls; c++) {
		int i = idx[c];

		/* 404: the agent holds none of the job's assignments any
		 * more; nothing to slow down. */
		if (calls[c].status == 200 || calls[c].status == 404)
			continue;
		log_warnx("throttle %s: agent answered %ld", next[i].key,
		    calls[c].status);
		next[i].share = -1;	/* send again next tick */
	}
	bl_acalls_release(calls, ncalls);
	free(calls);
	free(idx);
	free(e->thr);
	e->thr = next;
	e->nthr = e->capthr = (size_t)n;
	return 0;
}

/* One tick's dispatch: tasks assigned per destination, destinations
 * reserved for operator work, and the POSTs to send. */
struct dispatch {
	long		*infl;		/* owns: per node */
	char		*resv;		/* owns: per node */
	struct bl_acall	*calls;		/* owns */
	size_t		 ncalls, capcalls;
};

/* Tasks assigned to each destination, over all jobs. */
static int
dispatch_inflight(struct mig_engine *e, struct dispatch *d)
{
	struct bl_err err;
	PGresult *r;

	if ((r = bl_pg_exec(e->db, "SELECT dest, count(*) FROM job_tasks "
	    "WHERE state = 'assigned' GROUP BY dest", 0, NULL, &err)) == NULL)
		return mig_db_fail(e, &err, "inflight");
	for (int i = 0; i < PQntuples(r); i++) {
		ssize_t k = mig_node_find(e, PQgetvalue(r, i, 0));

		if (k >= 0)
			d->infl[k] = strtol(PQgetvalue(r, i, 1), NULL, 10);
	}
	PQclear(r);
	return 0;
}

/* Per running job and destination: how many tasks wait, whether the
 * oldest has waited long enough for a partial batch, their mean size,
 * the throttle's room (column 5) and whether it is autonomous work
 * (column 6), operator work first. The agents hold a throttled job to
 * its rate (sync_throttles); here its throttle only bounds the work
 * queued at them: what was posted in the last 5 s may not pass 10 s of
 * transfer at the throttle, so the agents never wait for work (-1: no
 * throttle). */
static PGresult *
dispatch_candidates(struct mig_engine *e)
{
	struct bl_err err;
	char age[24];
	const char *p[1] = { age };
	PGresult *r;

	snprintf(age, sizeof(age), "%ld", e->o.max_assignment_age_s);
	if ((r = bl_pg_exec(e->db, "SELECT t.job, t.dest, count(*), "
	    "bool_or(t.updated_at <= now() - make_interval(secs => $1::int)),"
	    " ceil(avg(t.size)), CASE WHEN j.throttle_bytes_per_sec > 0 THEN "
	    "j.throttle_bytes_per_sec * 10 - coalesce((SELECT sum(x.size) FROM "
	    "job_tasks x JOIN assignments a ON a.id = x.assignment WHERE x.job"
	    " = t.job AND a.job = t.job AND a.posted_at > now() - interval "
	    "'5 s'), 0) ELSE -1 END, CASE WHEN j.kind = 'evacuate' OR "
	    "j.origin = 'operator' THEN 0 ELSE 1 END FROM job_tasks t JOIN "
	    "jobs j ON j.id = t.job WHERE j.state = 'running' AND t.state = "
	    "'unprocessed' AND t.dest IS NOT NULL AND t.pull_from IS NOT NULL "
	    "GROUP BY t.job, t.dest, j.created_at, j.throttle_bytes_per_sec, "
	    "j.kind, j.origin ORDER BY 7, j.created_at, t.dest", 1, p,
	    &err)) == NULL)
		mig_db_fail(e, &err, "dispatch candidates");
	return r;
}

/* A destination that cannot take the job's waiting tasks: drained or
 * removed after the choice (choose again at the next setup pass; a plan's
 * move keeps its node and is skipped), or silent for longer than
 * agent_timeout_s (the tasks fail; a retry job chooses again). */
static int
dispatch_retarget(struct mig_engine *e, const char *job, const char *dest,
    int silent)
{
	const char *fp[2] = { job, dest };
	struct bl_err err;

	if (bl_pg_run(e->db, silent ? "UPDATE job_tasks SET state = 'failed',"
	    " reason = 'destination_unreachable', updated_at = now() WHERE "
	    "job = $1 AND dest = $2 AND state = 'unprocessed'" :
	    "UPDATE job_tasks t SET pull_from = NULL, dest = CASE WHEN j.kind"
	    " = 'rebalance' THEN t.dest END, updated_at = now() FROM jobs j "
	    "WHERE j.id = t.job AND t.job = $1 AND t.dest = $2 AND t.state = "
	    "'unprocessed'", 2, fp, &err) == -1)
		return mig_db_fail(e, &err, "dispatch");
	return 0;
}

/* The next batch for a destination (pure): at most a full assignment,
 * the node's room and, throttled, what the window allows (at least one
 * task once it has room at all, posted at once). 0: nothing now (a
 * partial batch waits until its oldest task is old enough). */
static long
dispatch_take(const struct mig_engine *e, long waiting, long room,
    double budget, double avg, int *old)
{
	long take = waiting;

	if (take > e->o.max_tasks_per_assignment)
		take = e->o.max_tasks_per_assignment;
	if (take > room)
		take = room;
	if (budget >= 0) {
		long fit = avg > 0 ? (long)(budget / avg) : take;

		if (budget <= 0)
			return 0;
		if (fit < 1)
			fit = 1;
		if (take > fit) {
			take = fit;
			*old = 1;
		}
	}
	if (take <= 0 || (take < e->o.max_tasks_per_assignment && !*old))
		return 0;
	return take;
}

/* Records an assignment of up to take tasks of job to node k ("posted"
 * before the POST, so a crash never loses track of it) and queues its
 * POST. *got: how many tasks it holds. */
static int
dispatch_post(struct mig_engine *e, struct dispatch *d, const char *job,
    ssize_t k, long take, int *got)
{
	const char *dest = e->cl->nodes[k].id;
	char aid[37], ntake[24];
	const char *p[4] = { aid, job, dest, ntake };
	struct bl_err err;
	long long share;
	PGresult *tr;

	*got = 0;
	bl_uuid_generate(aid);
	snprintf(ntake, sizeof(ntake), "%ld", take);
	if (bl_pg_run(e->db, "BEGIN", 0, NULL, &err) == -1 ||
	    bl_pg_run(e->db, "INSERT INTO assignments (id, job, dest, state, "
	    "posted_at) VALUES ($1, $2, $3, 'posted', now())", 3, p, &err) ==
	    -1 || (tr = bl_pg_exec(e->db, "WITH pick AS (SELECT object FROM "
	    "job_tasks WHERE job = $2 AND dest = $3 AND state = 'unprocessed' "
	    "AND pull_from IS NOT NULL ORDER BY object LIMIT $4::int FOR "
	    "UPDATE SKIP LOCKED) UPDATE job_tasks t SET state = 'assigned', "
	    "assignment = $1, attempts = attempts + 1, updated_at = now() FROM "
	    "pick WHERE t.job = $2 AND t.object = pick.object AND EXISTS "
	    "(SELECT 1 FROM jobs WHERE id = $2 AND state = 'running') "
	    "RETURNING t.object, t.owner, t.md5, t.size, t.pull_from", 4, p,
	    &err)) == NULL)
		goto dberr;
	*got = PQntuples(tr);
	snprintf(ntake, sizeof(ntake), "%d", *got);
	p[1] = ntake;
	if (bl_pg_run(e->db, *got > 0 ? "UPDATE assignments SET tasks = "
	    "$2::int WHERE id = $1" : "DELETE FROM assignments WHERE id = $1 "
	    "AND $2::int = 0", 2, p, &err) == -1 || bl_pg_run(e->db, "COMMIT",
	    0, NULL, &err) == -1) {
		PQclear(tr);
		goto dberr;
	}
	if (*got > 0 && d->ncalls == d->capcalls) {
		size_t nc = d->capcalls ? d->capcalls * 2 : 16;
		struct bl_acall *ncs = realloc(d->calls, nc * sizeof(*ncs));

		if (ncs == NULL) {
			PQclear(tr);
			return -1;	/* the poll posts it again */
		}
		d->calls = ncs;
		d->capcalls = nc;
	}
	if (*got > 0) {
		share = mig_job_share(e, job, dest);
		thr_note(e, job, dest, share);
		bl_acall_set(&d->calls[d->ncalls], "POST", e->nodes[k].url,
		    "/v1/assignments", mig_assignment_body(e, aid, job, share,
		    tr));
		memcpy(d->calls[d->ncalls++].tag, aid, sizeof(aid));
		log_debug("assignment id=%s job=%s dest=%s tasks=%d: posted",
		    aid, job, dest, *got);
	}
	PQclear(tr);
	return 0;
dberr:
	bl_pg_run(e->db, "ROLLBACK", 0, NULL, NULL);
	return mig_db_fail(e, &err, "dispatch");
}

/* The waiting tasks of one candidate row: batches posted while the
 * destination has room. */
static int
dispatch_row(struct mig_engine *e, struct dispatch *d, PGresult *cand,
    int i)
{
	const char *job = PQgetvalue(cand, i, 0);
	long waiting = strtol(PQgetvalue(cand, i, 2), NULL, 10);
	int old = strcmp(PQgetvalue(cand, i, 3), "t") == 0;
	double avg = strtod(PQgetvalue(cand, i, 4), NULL);
	double budget = strtod(PQgetvalue(cand, i, 5), NULL);
	int prio = strcmp(PQgetvalue(cand, i, 6), "0") == 0, got;
	ssize_t k = mig_node_find(e, PQgetvalue(cand, i, 1));
	long take;

	/* Operator work (evacuations, submitted plans) comes first (ORDER
	 * BY); autonomous rebalance work takes no room at a destination
	 * where operator work waits, so a drain is never starved. */
	if (k >= 0 && prio)
		d->resv[k] = 1;
	else if (k >= 0 && d->resv[k])
		return 0;
	if (k < 0 || e->cl->nodes[k].state != PLC_NODE_IN)
		return dispatch_retarget(e, job, PQgetvalue(cand, i, 1), 0);
	if (!e->cl->nodes[k].reachable && e->nodes[k].silent_s >
	    (double)e->o.agent_timeout_s)
		return dispatch_retarget(e, job, PQgetvalue(cand, i, 1), 1);
	if (!e->cl->nodes[k].reachable)
		return 0;
	while (waiting > 0 && (take = dispatch_take(e, waiting,
	    e->o.max_inflight_per_node - d->infl[k], budget, avg, &old)) > 0) {
		if (dispatch_post(e, d, job, k, take, &got) == -1)
			return -1;
		if (got == 0)
			break;
		d->infl[k] += got;
		waiting -= got;
		if (budget >= 0)
			budget -= avg * got;
	}
	return 0;
}

static int
dispatch(struct mig_engine *e)
{
	struct dispatch d;
	PGresult *cand = NULL;
	int rc = -1;

	memset(&d, 0, sizeof(d));
	d.infl = calloc(e->nnodes ? e->nnodes : 1, sizeof(long));
	d.resv = calloc(e->nnodes ? e->nnodes : 1, 1);
	if (d.infl == NULL || d.resv == NULL || dispatch_inflight(e, &d) ==
	    -1 || (cand = dispatch_candidates(e)) == NULL)
		goto out;
	for (int i = 0; i < PQntuples(cand); i++)
		if (dispatch_row(e, &d, cand, i) == -1)
			goto out;
	rc = 0;
out:
	PQclear(cand);
	/* POSTs of recorded assignments go out even after an error: the
	 * poll would re-post them anyway. */
	mig_calls_run(e, d.calls, d.ncalls);
	if (mig_posts_checked(e, d.calls, d.ncalls) == -1)
		rc = -1;
	bl_acalls_release(d.calls, d.ncalls);
	free(d.calls);
	free(d.infl);
	free(d.resv);
	return rc;
}

/* --- 8: finish ------------------------------------------------------------ */

#define RECOUNT_S 5.0

static int
finish_jobs(struct mig_engine *e)
{
	struct bl_err err;
	PGresult *r;

	double now = mig_now();
	const char *p[1];

	/* Every job with nothing open is finished now, with exact counts.
	 * The others get their counters recounted every RECOUNT_S only:
	 * that scan reads every task of the job. */
	p[0] = now - e->last_recount >= RECOUNT_S ? "true" : "false";
	if (*p[0] == 't')
		e->last_recount = now;
	if ((r = bl_pg_exec(e->db, "WITH a AS (SELECT id FROM jobs j WHERE "
	    "state IN ('running', 'paused', 'cancelled') AND finished_at IS "
	    "NULL AND ($1::boolean OR (NOT EXISTS (SELECT 1 FROM job_tasks t "
	    "WHERE t.job = j.id AND t.state IN ('unprocessed', 'assigned', "
	    "'copied', 'committed')) AND NOT EXISTS (SELECT 1 FROM job_tasks "
	    "t WHERE t.job = j.id AND t.cleanup = 'orphan')))), c AS (SELECT t.job, count(*) AS total, count(*) FILTER "
	    "(WHERE t.state IN ('complete', 'committed')) AS complete, "
	    "count(*) FILTER (WHERE t.state = 'skipped') AS skipped, count(*)"
	    " FILTER (WHERE t.state = 'failed') AS failed, sum(t.size) AS "
	    "bytes_total, coalesce(sum(t.size) FILTER (WHERE t.state IN "
	    "('complete', 'committed')), 0) AS bytes_done, count(*) FILTER "
	    "(WHERE t.state IN ('unprocessed', 'assigned', 'copied', "
	    "'committed') OR t.cleanup = 'orphan') AS open FROM job_tasks t "
	    "JOIN a ON a.id = t.job GROUP BY t.job) UPDATE jobs j SET "
	    "total = coalesce(c.total, 0), complete = coalesce(c.complete, 0),"
	    " skipped = coalesce(c.skipped, 0), failed = coalesce(c.failed, 0)"
	    ", bytes_total = coalesce(c.bytes_total, 0), bytes_done = "
	    "coalesce(c.bytes_done, 0), state = CASE WHEN j.state = 'running' "
	    "AND coalesce(c.open, 0) = 0 THEN 'complete' ELSE j.state END, "
	    "finished_at = CASE WHEN j.state IN ('running', 'cancelled') AND "
	    "coalesce(c.open, 0) = 0 THEN now() END, updated_at = now() FROM "
	    "a LEFT JOIN c ON c.job = a.id WHERE j.id = a.id RETURNING j.id, "
	    "j.state, j.finished_at IS NOT NULL", 1, p, &err)) == NULL)
		return mig_db_fail(e, &err, "finish");
	for (int i = 0; i < PQntuples(r); i++)
		if (strcmp(PQgetvalue(r, i, 2), "t") == 0)
			log_info("job id=%s: %s", PQgetvalue(r, i, 0),
			    PQgetvalue(r, i, 1));
	PQclear(r);
	/* A finished partial evacuation puts its node back "in" (once:
	 * node_state_restored marks it, in the same statement), unless
	 * another evacuation of the node is still open. */
	if ((r = bl_pg_exec(e->db, "WITH j AS (SELECT id, params->>"
	    "'from_node' AS node FROM jobs k WHERE kind = 'evacuate' AND "
	    "finished_at IS NOT NULL AND params->>'node_state_after' = 'in' "
	    "AND NOT params ? 'node_state_restored' AND NOT EXISTS (SELECT 1 "
	    "FROM jobs o WHERE o.kind = 'evacuate' AND o.id <> k.id AND "
	    "o.finished_at IS NULL AND o.state NOT IN ('failed', 'complete') "
	    "AND o.params->>'from_node' = k.params->>'from_node')), n AS "
	    "(UPDATE nodes SET state = 'in', updated_at = now() FROM j WHERE "
	    "nodes.id = j.node AND nodes.state = 'draining' RETURNING "
	    "nodes.id) UPDATE jobs SET params = jobs.params || "
	    "jsonb_build_object('node_state_restored', (SELECT count(*) > 0 "
	    "FROM n WHERE n.id = j.node)) FROM j WHERE jobs.id = j.id "
	    "RETURNING jobs.id, j.node", 0, NULL, &err)) == NULL)
		return mig_db_fail(e, &err, "restore node state");
	for (int i = 0; i < PQntuples(r); i++)
		log_info("job id=%s: node id=%s back to its state before the "
		    "job", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
	PQclear(r);
	return 0;
}

/* --- the thread ----------------------------------------------------------- */

static void
tick(struct mig_engine *e)
{
	struct bl_err err;
	long long want;

	if (ensure_db(e) == -1)
		return;
	want = mig_setting_get(e->db, "metadata_threads",
	    e->o.metadata_threads, &err);
	if (want >= 1 && want <= 250 &&
	    want != mig_commit_pool_size(e->pool)) {
		mig_commit_pool_resize(e->pool, (int)want);
		log_info("engine: metadata_threads=%lld", want);
	}
	atomic_store(&e->committers, mig_commit_pool_size(e->pool));
	if (load_nodes(e) == -1 || setup_jobs(e) == -1 ||
	    mig_poll_assignments(e) == -1 || mig_commit_copied(e) == -1)
		return;
	/* The commits may have made source copies due: the cleaner (its
	 * own thread) starts on them while this tick goes on. */
	mig_cleaner_wake(e->cleaner);
	if (mig_collect_assignments(e) == -1 || dispatch(e) == -1 ||
	    sync_throttles(e) == -1 || finish_jobs(e) == -1)
		return;
}

double
mig_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
mig_deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *
engine_main(void *arg)
{
	struct mig_engine *e = arg;

	pthread_mutex_lock(&e->mu);
	while (!e->stop) {
		struct timespec ts;

		if (e->has_pending) {
			const char *ci = e->o.conninfo;
			const void *sec = e->o.secret;
			size_t sl = e->o.secret_len;

			e->o = e->pending;
			e->o.conninfo = ci;
			e->o.secret = sec;
			e->o.secret_len = sl;
			e->has_pending = 0;
			log_info("engine: new settings in force");
		}
		pthread_mutex_unlock(&e->mu);
		tick(e);
		pthread_mutex_lock(&e->mu);
		if (e->stop)
			break;
		if (!e->woken) {
			mig_deadline(&ts, e->o.poll_interval_ms);
			pthread_cond_timedwait(&e->cv, &e->mu, &ts);
		}
		e->woken = 0;
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

struct mig_engine *
mig_engine_new(const struct mig_engine_opts *o, struct bl_err *err)
{
	struct mig_engine *e;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		bl_err_set(err, BL_ENOMEM, "engine: out of memory");
		return NULL;
	}
	e->o = *o;
	e->conninfo = strdup(o->conninfo);
	e->secret = malloc(o->secret_len ? o->secret_len : 1);
	if (e->conninfo == NULL || e->secret == NULL) {
		mig_engine_free(e);
		bl_err_set(err, BL_ENOMEM, "engine: out of memory");
		return NULL;
	}
	memcpy(e->secret, o->secret, o->secret_len);
	e->o.conninfo = e->conninfo;
	e->o.secret = e->secret;
	e->o.agent_tls_ca_file = NULL;
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	if ((e->loop = ev_loop_new(EVFLAG_AUTO)) == NULL ||
	    (e->http = bl_http_client_new(e->loop, err)) == NULL ||
	    (o->agent_tls_ca_file != NULL && bl_http_client_set_tls(e->http,
	    &(struct bl_http_tls){ o->agent_tls_ca_file, NULL, NULL }, err) ==
	    -1) ||
	    (e->pool = mig_commit_pool_new(e->conninfo,
	    (int)o->metadata_threads, err)) == NULL ||
	    (e->cleaner = mig_cleaner_new(e, o->agent_tls_ca_file, err)) ==
	    NULL) {
		mig_engine_free(e);
		return NULL;
	}
	mig_commit_pool_instrument(e->pool, o->metrics);
	atomic_store(&e->committers, (int)o->metadata_threads);
	return e;
}

int
mig_engine_start(struct mig_engine *e, struct bl_err *err)
{
	if (pthread_create(&e->th, NULL, engine_main, e) != 0)
		return bl_err_set(err, BL_EIO, "engine: cannot start thread");
	e->started = 1;
	return mig_cleaner_start(e->cleaner, err);
}

void
mig_engine_set_opts(struct mig_engine *e, const struct mig_engine_opts *o)
{
	pthread_mutex_lock(&e->mu);
	e->pending = *o;
	e->pending.conninfo = NULL;
	e->pending.secret = NULL;
	e->pending.agent_tls_ca_file = NULL;
	e->has_pending = 1;
	e->woken = 1;
	pthread_cond_signal(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

void
mig_engine_wake(struct mig_engine *e)
{
	pthread_mutex_lock(&e->mu);
	e->woken = 1;
	pthread_cond_signal(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

void
mig_engine_free(struct mig_engine *e)
{
	if (e == NULL)
		return;
	if (e->started) {
		pthread_mutex_lock(&e->mu);
		e->stop = 1;
		pthread_cond_signal(&e->cv);
		pthread_mutex_unlock(&e->mu);
		pthread_join(e->th, NULL);
	}
	/* After the tick's thread, which wakes it; before what it reads. */
	mig_cleaner_free(e->cleaner);
	mig_commit_pool_free(e->pool);
	bl_http_client_free(e->http);
	if (e->loop != NULL)
		ev_loop_destroy(e->loop);
	if (e->db != NULL)
		PQfinish(e->db);
	nodes_clear(e);
	free(e->thr);
	if (e->secret != NULL)
		memset(e->secret, 0, e->o.secret_len);
	free(e->secret);
	free(e->conninfo);
	free(e);
}

int
mig_engine_db_ok(const struct mig_engine *e)
{
	return atomic_load(&e->db_ok);
}

int
mig_engine_committers(const struct mig_engine *e)
{
	return atomic_load(&e->committers);
}
