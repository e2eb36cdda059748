/* migrate/store.c - the job store: jobs, nodes and objects in PostgreSQL.
 *
 * Blocking libpq; every statement is parameterised. Callers are worker
 * threads with their own connection.
 */
#include "migrate/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pg.h"
#include "lib/uuid.h"

static int
begin(PGconn *c, struct bl_err *err)
{
	return bl_pg_run(c, "BEGIN", 0, NULL, err);
}

static int
commit(PGconn *c, struct bl_err *err)
{
	return bl_pg_run(c, "COMMIT", 0, NULL, err);
}

static void
rollback(PGconn *c)
{
	bl_pg_run(c, "ROLLBACK", 0, NULL, NULL);
}

static int
audit(PGconn *c, const char *who, const char *action, const char *target,
    json_t *detail, struct bl_err *err)
{
	char *d = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	const char *p[4] = { who, action, target, d };
	int rc;

	rc = bl_pg_run(c, "INSERT INTO audit (who, action, target, detail) "
	    "VALUES ($1, $2, $3, $4::jsonb)", 4, p, err);
	free(d);
	return rc;
}

int
mig_job_create(PGconn *c, const char *kind, const char *origin,
    json_t *params, const char *parent, const char *who, char id_out[37],
    struct bl_err *err)
{
	char *ps;
	const char *p[5];
	json_t *detail;

	if (bl_uuid_generate(id_out) == -1)
		return bl_err_set(err, BL_EIO, "job: cannot make a uuid");
	if ((ps = json_dumps(params, JSON_COMPACT)) == NULL)
		return bl_err_set(err, BL_ENOMEM, "job: out of memory");
	p[0] = id_out;
	p[1] = kind;
	p[2] = origin;
	p[3] = ps;
	p[4] = parent;
	if (begin(c, err) == -1)
		goto fail;
	if (bl_pg_run(c, "INSERT INTO jobs (id, kind, origin, state, params, "
	    "parent) VALUES ($1, $2, $3, 'init', $4::jsonb, $5)", 5, p,
	    err) == -1)
		goto fail_rb;
	detail = json_pack("{s:s,s:O}", "kind", kind, "params", params);
	if (audit(c, who, "job_create", id_out, detail, err) == -1) {
		json_decref(detail);
		goto fail_rb;
	}
	json_decref(detail);
	if (commit(c, err) == -1)
		goto fail_rb;
	free(ps);
	return 0;
fail_rb:
	rollback(c);
fail:
	free(ps);
	return -1;
}

static int
node_exists(PGconn *c, const char *id, struct bl_err *err)
{
	const char *p[1] = { id };
	PGresult *r;
	int n;

	if ((r = bl_pg_exec(c, "SELECT 1 FROM nodes WHERE id = $1", 1, p,
	    err)) == NULL)
		return -1;
	n = PQntuples(r);
	PQclear(r);
	return n > 0;
}

/* An evacuation of a node that another unfinished evacuation already
 * works on is a conflict (BL_ECONFLICT). */
static int
evacuation_active(PGconn *c, const char *node, struct bl_err *err)
{
	const char *p[1] = { node };
	PGresult *r;

	if ((r = bl_pg_exec(c, "SELECT id FROM jobs WHERE kind = 'evacuate' "
	    "AND state IN ('init', 'setup', 'running', 'paused') AND "
	    "params->>'from_node' = $1 LIMIT 1", 1, p, err)) == NULL)
		return -1;
	if (PQntuples(r) > 0) {
		bl_err_set(err, BL_ECONFLICT, "node id=%s: job id=%s is "
		    "already evacuating it", node, PQgetvalue(r, 0, 0));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

int
mig_job_params_check(PGconn *c, const char *kind, json_t *params,
    struct bl_err *err)
{
	if (strcmp(kind, "evacuate") == 0) {
		const char *node = json_string_value(json_object_get(params,
		    "from_node"));
		int rc = node_exists(c, node, err);

		if (rc == -1)
			return -1;
		if (rc == 0)
			return bl_err_set(err, BL_EINVAL, "params.from_node: "
			    "unknown node \"%s\"", node);
		return evacuation_active(c, node, err);
	}
	if (strcmp(kind, "retry") == 0) {
		const char *job = json_string_value(json_object_get(params,
		    "job"));
		const char *p[1] = { job };
		PGresult *r;
		int n;
		const char *st;

		if ((r = bl_pg_exec(c, "SELECT state, kind FROM jobs WHERE "
		    "id = $1", 1, p, err)) == NULL)
			return -1;
		n = PQntuples(r);
		if (n == 0) {
			PQclear(r);
			return bl_err_set(err, BL_ENOENT, "job id=%s: not "
			    "found", job);
		}
		st = PQgetvalue(r, 0, 0);
		if (strcmp(st, "complete") != 0 && strcmp(st, "cancelled") != 0
		    && strcmp(st, "failed") != 0) {
			bl_err_set(err, BL_ECONFLICT, "job id=%s: is %s; retry "
			    "a job once it has finished", job, st);
			PQclear(r);
			return -1;
		}
		PQclear(r);
		return 0;
	}
	if (strcmp(kind, "rebalance") == 0) {
		json_t *moves = json_object_get(json_object_get(params, "plan"),
		    "moves"), *m;
		size_t i;

		json_array_foreach(moves, i, m) {
			const char *names[2] = { "from", "to" };

			for (int k = 0; k < 2; k++) {
				const char *nd = json_string_value(
				    json_object_get(m, names[k]));
				int rc = node_exists(c, nd, err);

				if (rc == -1)
					return -1;
				if (rc == 0)
					return bl_err_set(err, BL_EINVAL,
					    "params.plan.moves[%zu].%s: "
					    "unknown node \"%s\"", i, names[k],
					    nd);
			}
		}
		return 0;
	}
	return bl_err_set(err, BL_EINVAL, "action \"%s\": unknown", kind);
}

/* Column value as JSON: NULL -> null. */
static json_t *
col_str(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return json_null();
	return json_string(PQgetvalue(r, row, col));
}

static json_t *
col_int(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return json_null();
	return json_integer(strtoll(PQgetvalue(r, row, col), NULL, 10));
}

static json_t *
col_json(const PGresult *r, int row, int col)
{
	json_t *j;

	if (PQgetisnull(r, row, col))
		return json_null();
	j = json_loads(PQgetvalue(r, row, col), JSON_DECODE_ANY, NULL);
	return j ? j : json_null();
}

#define JOB_COLS JOB_COLS_P("params")
/* A plan's moves can be a million entries: the list shows their count. */
#define JOB_COLS_LIST JOB_COLS_P("CASE WHEN jsonb_typeof(params->'plan'->" \
	"'moves') = 'array' THEN jsonb_set(params, '{plan,moves}', " \
	"to_jsonb(jsonb_array_length(params->'plan'->'moves'))) ELSE " \
	"params END")
#define JOB_COLS_P(params) "id, kind, origin, state, " params ", parent, " \
	"error, warnings, to_char(created_at AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), to_char(started_at AT TIME " \
	"ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), to_char(" \
	"updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')" \
	", to_char(finished_at AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), throttle_bytes_per_sec"

static json_t *
job_row(const PGresult *r, int i)
{
	json_t *j = json_object();

	json_object_set_new(j, "id", col_str(r, i, 0));
	json_object_set_new(j, "kind", col_str(r, i, 1));
	json_object_set_new(j, "origin", col_str(r, i, 2));
	json_object_set_new(j, "state", col_str(r, i, 3));
	json_object_set_new(j, "params", col_json(r, i, 4));
	json_object_set_new(j, "parent", col_str(r, i, 5));
	json_object_set_new(j, "error", col_str(r, i, 6));
	json_object_set_new(j, "warnings", col_json(r, i, 7));
	json_object_set_new(j, "created_at", col_str(r, i, 8));
	json_object_set_new(j, "started_at", col_str(r, i, 9));
	json_object_set_new(j, "updated_at", col_str(r, i, 10));
	json_object_set_new(j, "finished_at", col_str(r, i, 11));
	json_object_set_new(j, "throttle_bytes_per_sec", col_int(r, i, 12));
	return j;
}

/* Adds counters, per-state counts and skip reasons, read from the tasks
 * themselves so they are exact. */
static int
job_counts(PGconn *c, const char *id, json_t *j, struct bl_err *err)
{
	const char *p[1] = { id };
	json_t *counters, *states, *reasons;
	long long total = 0, bytes_total = 0, bytes_done = 0;
	PGresult *r;

	if ((r = bl_pg_exec(c, "SELECT state, coalesce(reason, ''), "
	    "count(*), coalesce(sum(size), 0) FROM job_tasks WHERE job = $1 "
	    "GROUP BY 1, 2", 1, p, err)) == NULL)
		return -1;
	states = json_object();
	reasons = json_object();
	for (int i = 0; i < PQntuples(r); i++) {
		const char *st = PQgetvalue(r, i, 0);
		const char *rs = PQgetvalue(r, i, 1);
		long long n = strtoll(PQgetvalue(r, i, 2), NULL, 10);
		long long b = strtoll(PQgetvalue(r, i, 3), NULL, 10);
		json_t *cur = json_object_get(states, st);

		json_object_set_new(states, st, json_integer(n +
		    (cur ? json_integer_value(cur) : 0)));
		total += n;
		bytes_total += b;
		if (strcmp(st, "complete") == 0 || strcmp(st, "committed") == 0)
			bytes_done += b;
		if (*rs != '\0') {
			cur = json_object_get(reasons, rs);
			json_object_set_new(reasons, rs, json_integer(n +
			    (cur ? json_integer_value(cur) : 0)));
		}
	}
	PQclear(r);
#define ST(name) (json_integer_value(json_object_get(states, name)))
	counters = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
	    "total", (json_int_t)total,
	    "complete", (json_int_t)(ST("complete") + ST("committed")),
	    "skipped", (json_int_t)ST("skipped"),
	    "failed", (json_int_t)ST("failed"),
	    "unprocessed", (json_int_t)ST("unprocessed"),
	    "assigned", (json_int_t)ST("assigned"),
	    "copied", (json_int_t)ST("copied"),
	    "bytes_total", (json_int_t)bytes_total,
	    "bytes_done", (json_int_t)bytes_done);
#undef ST
	json_object_set_new(j, "counters", counters);
	json_object_set_new(j, "task_states", states);
	json_object_set_new(j, "reasons", reasons);
	return 0;
}

json_t *
mig_job_get(PGconn *c, const char *id, struct bl_err *err)
{
	const char *p[1] = { id };
	PGresult *r;
	json_t *j;

	if ((r = bl_pg_exec(c, "SELECT " JOB_COLS " FROM jobs WHERE id = $1",
	    1, p, err)) == NULL)
		return NULL;
	if (PQntuples(r) == 0) {
		PQclear(r);
		bl_err_set(err, BL_ENOENT, "job id=%s: not found", id);
		return NULL;
	}
	j = job_row(r, 0);
	PQclear(r);
	if (job_counts(c, id, j, err) == -1) {
		json_decref(j);
		return NULL;
	}
	return j;
}

json_t *
mig_job_list(PGconn *c, const char *state, const char *kind, long limit,
    long offset, struct bl_err *err)
{
	char lim[24], off[24];
	const char *p[4] = { state, kind, lim, off };
	PGresult *r;
	json_t *arr;

	snprintf(lim, sizeof(lim), "%ld", limit);
	snprintf(off, sizeof(off), "%ld", offset);
	if ((r = bl_pg_exec(c, "SELECT " JOB_COLS_LIST ", total, complete, "
	    "skipped, failed, bytes_total, bytes_done FROM jobs WHERE "
	    "($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR "
	    "kind = $2) ORDER BY created_at DESC, id LIMIT $3 OFFSET $4", 4,
	    p, err)) == NULL)
		return NULL;
	arr = json_array();
	for (int i = 0; i < PQntuples(r); i++) {
		json_t *j = job_row(r, i);

		json_object_set_new(j, "counters", json_pack(
		    "{s:o,s:o,s:o,s:o,s:o,s:o}", "total", col_int(r, i, 13),
		    "complete", col_int(r, i, 14), "skipped",
		    col_int(r, i, 15), "failed", col_int(r, i, 16),
		    "bytes_total", col_int(r, i, 17), "bytes_done",
		    col_int(r, i, 18)));
		json_array_append_new(arr, j);
	}
	PQclear(r);
	return arr;
}

json_t *
mig_audit_list(PGconn *c, const char *who, const char *action, long limit,
    long offset, struct bl_err *err)
{
	char lim[24], off[24];
	const char *p[4] = { who, action, lim, off };
	PGresult *r;
	json_t *arr, *j;

	snprintf(lim, sizeof(lim), "%ld", limit);
	snprintf(off, sizeof(off), "%ld", offset);
	if ((r = bl_pg_exec(c, "SELECT id, to_char(at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), who, action, target, "
	    "detail::text, count(*) OVER () FROM audit WHERE ($1::text IS NULL "
	    "OR who = $1) AND ($2::text IS NULL OR action = $2) ORDER BY id "
	    "DESC LIMIT $3 OFFSET $4", 4, p, err)) == NULL)
		return NULL;
	arr = json_array();
	for (int i = 0; i < PQntuples(r); i++) {
		json_t *d = PQgetisnull(r, i, 5) ? json_null() :
		    json_loads(PQgetvalue(r, i, 5), JSON_DECODE_ANY, NULL);

		json_array_append_new(arr, json_pack("{s:o,s:s,s:s,s:s,s:o,"
		    "s:o}", "id", col_int(r, i, 0), "at", PQgetvalue(r, i, 1),
		    "who", PQgetvalue(r, i, 2), "action", PQgetvalue(r, i, 3),
		    "target", PQgetisnull(r, i, 4) ? json_null() :
		    json_string(PQgetvalue(r, i, 4)), "detail", d ? d :
		    json_null()));
	}
	j = json_pack("{s:o,s:I,s:I,s:I}", "audit", arr, "total",
	    (json_int_t)(PQntuples(r) ? strtoll(PQgetvalue(r, 0, 6), NULL,
	    10) : 0), "limit", (json_int_t)limit, "offset", (json_int_t)offset);
	PQclear(r);
	return j;
}

json_t *
mig_job_tasks(PGconn *c, const char *id, const char *state, long limit,
    long offset, struct bl_err *err)
{
	char lim[24], off[24];
	const char *p[4] = { id, state, lim, off };
	PGresult *r;
	json_t *arr;
	int n;

	snprintf(lim, sizeof(lim), "%ld", limit);
	snprintf(off, sizeof(off), "%ld", offset);
	if ((r = bl_pg_exec(c, "SELECT 1 FROM jobs WHERE id = $1", 1, p,
	    err)) == NULL)
		return NULL;
	n = PQntuples(r);
	PQclear(r);
	if (n == 0) {
		bl_err_set(err, BL_ENOENT, "job id=%s: not found", id);
		return NULL;
	}
	if ((r = bl_pg_exec(c, "SELECT object, owner, size, md5, version, "
	    "source, pull_from, dest, state, reason, assignment, attempts, "
	    "cleanup FROM job_tasks WHERE job = $1 AND ($2::text IS NULL OR "
	    "state = $2) ORDER BY object LIMIT $3 OFFSET $4", 4, p,
	    err)) == NULL)
		return NULL;
	arr = json_array();
	for (int i = 0; i < PQntuples(r); i++) {
		json_t *t = json_object();
		static const char *const names[] = { "object", "owner", "size",
		    "md5", "version", "source", "pull_from", "dest", "state",
		    "reason", "assignment", "attempts", "cleanup" };

		for (int k = 0; k < 13; k++)
			json_object_set_new(t, names[k], (k == 2 || k == 4 ||
			    k == 11) ? col_int(r, i, k) : col_str(r, i, k));
		json_array_append_new(arr, t);
	}
	PQclear(r);
	return arr;
}

/* Distinguishes "no such job" from "wrong state" after an UPDATE that
 * matched nothing. */
static int
job_conflict(PGconn *c, const char *id, const char *action,
    struct bl_err *err)
{
	const char *p[1] = { id };
	PGresult *r;

	if ((r = bl_pg_exec(c, "SELECT state FROM jobs WHERE id = $1", 1, p,
	    err)) == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return bl_err_set(err, BL_ENOENT, "job id=%s: not found", id);
	}
	bl_err_set(err, BL_ECONFLICT, "job id=%s: cannot %s a job that is %s",
	    id, action, PQgetvalue(r, 0, 0));
	PQclear(r);
	return -1;
}

int
mig_job_action(PGconn *c, const char *id, const char *action,
    const char *who, struct bl_err *err)
{
	const char *p[1] = { id };
	const char *sql;
	PGresult *r;
	int n;

	if (strcmp(action, "pause") == 0)
		sql = "UPDATE jobs SET state = 'paused', updated_at = now() "
		    "WHERE id = $1 AND state = 'running' RETURNING id";
	else if (strcmp(action, "resume") == 0)
		sql = "UPDATE jobs SET state = 'running', updated_at = now() "
		    "WHERE id = $1 AND state = 'paused' RETURNING id";
	else if (strcmp(action, "cancel") == 0)
		sql = "UPDATE jobs SET state = 'cancelled', updated_at = now() "
		    "WHERE id = $1 AND state IN ('init', 'setup', 'running', "
		    "'paused') RETURNING id";
	else
		return bl_err_set(err, BL_EINVAL, "action \"%s\": unknown",
		    action);
	if (begin(c, err) == -1)
		return -1;
	if ((r = bl_pg_exec(c, sql, 1, p, err)) == NULL)
		goto fail;
	n = PQntuples(r);
	PQclear(r);
	if (n == 0) {
		job_conflict(c, id, action, err);
		goto fail;
	}
	/* A cancel stops new work: what was not handed to an agent yet is
	 * skipped. What is in flight settles (the engine keeps polling and
	 * committing it). */
	if (strcmp(action, "cancel") == 0 && bl_pg_run(c, "UPDATE job_tasks "
	    "SET state = 'skipped', reason = 'job_cancelled', updated_at = "
	    "now() WHERE job = $1 AND state = 'unprocessed'", 1, p, err) == -1)
		goto fail;
	if (audit(c, who, action, id, NULL, err) == -1 || commit(c, err) == -1)
		goto fail;
	return 0;
fail:
	rollback(c);
	return -1;
}

int
mig_set_metadata_threads(PGconn *c, const char *id, long n,
    const char *who, struct bl_err *err)
{
	char v[24];
	const char *p[2] = { v, id };
	PGresult *r;
	json_t *d;
	int found;

	if (n < 1 || n > 250)
		return bl_err_set(err, BL_EINVAL, "params: metadata threads "
		    "must be within 1-250, got %ld", n);
	snprintf(v, sizeof(v), "%ld", n);
	if (begin(c, err) == -1)
		return -1;
	if ((r = bl_pg_exec(c, "SELECT 1 FROM jobs WHERE id = $1", 1, p + 1,
	    err)) == NULL)
		goto fail;
	found = PQntuples(r);
	PQclear(r);
	if (!found) {
		bl_err_set(err, BL_ENOENT, "job id=%s: not found", id);
		goto fail;
	}
	if (bl_pg_run(c, "INSERT INTO engine_settings (key, value) VALUES "
	    "('metadata_threads', $1) ON CONFLICT (key) DO UPDATE SET value "
	    "= EXCLUDED.value", 1, p, err) == -1)
		goto fail;
	d = json_pack("{s:i}", "metadata_threads", (int)n);
	if (audit(c, who, "set_metadata_threads", id, d, err) == -1) {
		json_decref(d);
		goto fail;
	}
	json_decref(d);
	return commit(c, err);
fail:
	rollback(c);
	return -1;
}

int
mig_jobs_pause_all(PGconn *c, const char *kind, const char *origin,
    char **ids, struct bl_err *err)
{
	const char *p[2] = { kind, origin };
	PGresult *r;

	*ids = NULL;
	if (!mig_job_transition_ok("running", "paused"))
		return bl_err_set(err, BL_EINVAL, "running -> paused");
	if ((r = bl_pg_exec(c, "WITH p AS (UPDATE jobs SET state = 'paused' "
	    "WHERE kind = $1 AND origin = $2 AND state = 'running' RETURNING "
	    "id) SELECT coalesce(array_agg(id), '{}')::text FROM p", 2, p,
	    err)) == NULL)
		return -1;
	*ids = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return *ids != NULL ? 0 : bl_err_set(err, BL_ENOMEM, "out of memory");
}

int
mig_jobs_resume_ids(PGconn *c, const char *ids, struct bl_err *err)
{
	const char *p[1] = { ids };

	if (!mig_job_transition_ok("paused", "running"))
		return bl_err_set(err, BL_EINVAL, "paused -> running");
	return bl_pg_run(c, "UPDATE jobs SET state = 'running' WHERE state = "
	    "'paused' AND id = ANY($1::uuid[])", 1, p, err);
}

int
mig_set_throttle(PGconn *c, const char *id, long long bps, const char *who,
    struct bl_err *err)
{
	char v[24];
	const char *p[2] = { id, v };
	PGresult *r;
	json_t *d;
	int n;

	if (bps < 0)
		return bl_err_set(err, BL_EINVAL, "params: throttle must be "
		    ">= 0 bytes per second");
	snprintf(v, sizeof(v), "%lld", bps);
	if (begin(c, err) == -1)
		return -1;
	if ((r = bl_pg_exec(c, "UPDATE jobs SET throttle_bytes_per_sec = $2, "
	    "updated_at = now() WHERE id = $1 RETURNING id", 2, p,
	    err)) == NULL)
		goto fail;
	n = PQntuples(r);
	PQclear(r);
	if (n == 0) {
		bl_err_set(err, BL_ENOENT, "job id=%s: not found", id);
		goto fail;
	}
	d = json_pack("{s:I}", "throttle_bytes_per_sec", (json_int_t)bps);
	if (audit(c, who, "set_throttle", id, d, err) == -1) {
		json_decref(d);
		goto fail;
	}
	json_decref(d);
	return commit(c, err);
fail:
	rollback(c);
	return -1;
}

long long
mig_setting_get(PGconn *c, const char *key, long long def,
    struct bl_err *err)
{
	const char *p[1] = { key };
	PGresult *r;
	long long v = def;

	if ((r = bl_pg_exec(c, "SELECT value FROM engine_settings WHERE key = "
	    "$1", 1, p, err)) == NULL)
		return def;
	if (PQntuples(r) > 0)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

/* --- nodes ---------------------------------------------------------------- */

int
mig_node_put(PGconn *c, const char *id, json_t *f, const char *who,
    int *created, struct bl_err *err)
{
	static const char *const keys[] = { "region", "datacenter", "rack",
	    "host", "agent_url", "weight", "capacity_bytes", "state" };
	char num[2][32];
	const char *p[9];
	PGresult *r;

	p[0] = id;
	for (int i = 0; i < 8; i++) {
		json_t *v = json_object_get(f, keys[i]);

		p[i + 1] = NULL;
		if (v == NULL || json_is_null(v))
			continue;
		if (i == 5) {
			snprintf(num[0], sizeof(num[0]), "%.17g",
			    json_number_value(v));
			p[i + 1] = num[0];
		} else if (i == 6) {
			snprintf(num[1], sizeof(num[1]), "%lld",
			    (long long)json_integer_value(v));
			p[i + 1] = num[1];
		} else {
			p[i + 1] = json_string_value(v);
		}
	}
	if (begin(c, err) == -1)
		return -1;
	if (p[5] == NULL) {
		/* No agent_url: the node must exist already. */
		int rc = node_exists(c, id, err);

		if (rc == -1)
			goto fail;
		if (rc == 0) {
			bl_err_set(err, BL_EINVAL, "node id=%s: a new node "
			    "needs agent_url", id);
			goto fail;
		}
	}
	if ((r = bl_pg_exec(c, "INSERT INTO nodes AS n (id, region, "
	    "datacenter, rack, host, agent_url, weight, capacity_bytes, "
	    "state) VALUES ($1, coalesce($2, ''), coalesce($3, ''), "
	    "coalesce($4, ''), coalesce($5, ''), coalesce($6, ''), "
	    "coalesce($7::float8, 0),"
	    " coalesce($8::bigint, 0), coalesce($9, 'in')) ON CONFLICT (id) "
	    "DO UPDATE SET region = coalesce($2, n.region), datacenter = "
	    "coalesce($3, n.datacenter), rack = coalesce($4, n.rack), host = "
	    "coalesce($5, n.host), agent_url = coalesce($6, n.agent_url), "
	    "weight = coalesce($7::float8, n.weight), capacity_bytes = "
	    "coalesce($8::bigint, n.capacity_bytes), state = coalesce($9, "
	    "n.state), updated_at = now() RETURNING (xmax = 0)", 9, p,
	    err)) == NULL)
		goto fail;
	*created = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (audit(c, who, *created ? "node_create" : "node_update", id, f,
	    err) == -1 || commit(c, err) == -1)
		goto fail;
	return 0;
fail:
	rollback(c);
	return -1;
}

int
mig_node_drain(PGconn *c, const char *id, const char *who,
    struct bl_err *err)
{
	const char *p[1] = { id };
	PGresult *r;
	int n;

	if (begin(c, err) == -1)
		return -1;
	if ((r = bl_pg_exec(c, "UPDATE nodes SET state = 'draining', "
	    "updated_at = now() WHERE id = $1 AND state <> 'out' RETURNING "
	    "id", 1, p, err)) == NULL)
		goto fail;
	n = PQntuples(r);
	PQclear(r);
	/* An explicit drain: open evacuations of the node leave it
	 * draining when they end. */
	if (n > 0 && bl_pg_run(c, "UPDATE jobs SET params = params || "
	    "'{\"node_state_after\":\"draining\"}' WHERE kind = 'evacuate' "
	    "AND finished_at IS NULL AND params->>'from_node' = $1", 1, p,
	    err) == -1)
		goto fail;
	if (n == 0) {
		int rc = node_exists(c, id, err);

		if (rc == 0)
			bl_err_set(err, BL_ENOENT, "node id=%s: not found", id);
		else if (rc == 1)
			bl_err_set(err, BL_ECONFLICT, "node id=%s: is out; "
			    "set it in first", id);
		goto fail;
	}
	if (audit(c, who, "node_drain", id, NULL, err) == -1 ||
	    commit(c, err) == -1)
		goto fail;
	return 0;
fail:
	rollback(c);
	return -1;
}

json_t *
mig_node_list(PGconn *c, struct bl_err *err)
{
	PGresult *r;
	json_t *arr;

	if ((r = bl_pg_exec(c, "SELECT id, region, datacenter, rack, host, "
	    "agent_url, weight, capacity_bytes, used_bytes, object_count, "
	    "state, reachable, to_char(last_seen AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM nodes ORDER BY id", 0,
	    NULL, err)) == NULL)
		return NULL;
	arr = json_array();
	for (int i = 0; i < PQntuples(r); i++)
		json_array_append_new(arr, json_pack("{s:o,s:o,s:o,s:o,s:o,"
		    "s:o,s:f,s:o,s:o,s:o,s:o,s:b,s:o}",
		    "id", col_str(r, i, 0), "region", col_str(r, i, 1),
		    "datacenter", col_str(r, i, 2), "rack", col_str(r, i, 3),
		    "host", col_str(r, i, 4), "agent_url", col_str(r, i, 5),
		    "weight", strtod(PQgetvalue(r, i, 6), NULL),
		    "capacity_bytes", col_int(r, i, 7),
		    "used_bytes", col_int(r, i, 8),
		    "object_count", col_int(r, i, 9),
		    "state", col_str(r, i, 10),
		    "reachable", strcmp(PQgetvalue(r, i, 11), "t") == 0,
		    "last_seen", col_str(r, i, 12)));
	PQclear(r);
	return arr;
}

json_t *
mig_object_get(PGconn *c, const char *id, struct bl_err *err)
{
	const char *p[1] = { id };
	PGresult *r;
	json_t *j, *copies;

	if ((r = bl_pg_exec(c, "SELECT o.id, o.owner, o.size, o.md5, "
	    "o.version, array_to_json(o.copies), array_to_json("
	    "o.allowed_dcs), (SELECT json_agg(json_build_object('node', n.id,"
	    " 'url', n.agent_url) ORDER BY ord) FROM unnest(o.copies) WITH "
	    "ORDINALITY AS u(node, ord) JOIN nodes n ON n.id = u.node) FROM "
	    "objects o WHERE o.id = $1", 1, p, err)) == NULL)
		return NULL;
	if (PQntuples(r) == 0) {
		PQclear(r);
		bl_err_set(err, BL_ENOENT, "object id=%s: not found", id);
		return NULL;
	}
	copies = col_json(r, 0, 5);
	j = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id",
	    col_str(r, 0, 0), "owner", col_str(r, 0, 1), "size",
	    col_int(r, 0, 2), "md5", col_str(r, 0, 3), "version",
	    col_int(r, 0, 4), "copies", copies, "allowed_dcs",
	    col_json(r, 0, 6), "locations", col_json(r, 0, 7));
	PQclear(r);
	return j;
}
