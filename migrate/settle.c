/* migrate/settle.c - the engine steps that settle work in flight: poll
 * posted assignments and record their per-task results, commit copied
 * tasks through the committer pool, and collect finished assignments on
 * the agents (docs/engine.md). Orphans and moved sources are removed by
 * the cleaner (clean.c), beside the tick. */
#include "migrate/engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/pg.h"
#include "lib/uuid.h"

/* --- 5: poll -------------------------------------------------------------- */

#define MAX_ATTEMPTS "3"

/* Records an agent's final answer for one assignment: per task copied or
 * failed with a reason; the assignment becomes agent_done. */
static int
record_done(struct mig_engine *e, const char *aid, const char *job,
    json_t *j)
{
	struct arr objs = { 0 }, states = { 0 }, reasons = { 0 };
	struct bl_err err;
	const char *p[5];
	json_t *t;
	size_t i;
	int rc = 0;

	json_array_foreach(json_object_get(j, "tasks"), i, t) {
		const char *st = json_string_value(json_object_get(t,
		    "status"));
		const char *oid = json_string_value(json_object_get(t,
		    "object_id"));

		if (oid == NULL || !bl_uuid_valid(oid))
			continue;
		mig_arr_push(&objs, oid);
		if (st != NULL && strcmp(st, "complete") == 0) {
			mig_arr_push(&states, "copied");
			mig_arr_push(&reasons, NULL);
		} else {
			mig_arr_push(&states, "failed");
			mig_arr_push(&reasons, mig_reason_from_agent(
			    json_string_value(json_object_get(t, "reason"))));
		}
	}
	p[0] = aid;
	p[1] = job;
	p[2] = mig_arr_str(&objs);
	p[3] = mig_arr_str(&states);
	p[4] = mig_arr_str(&reasons);
	if (bl_pg_run(e->db, "BEGIN", 0, NULL, &err) == -1 ||
	    /* A transient failure goes back to the queue, up to
	     * MAX_ATTEMPTS in all; then it fails with its reason. */
	    bl_pg_run(e->db, "UPDATE job_tasks t SET state = CASE WHEN u.s = "
	    "'failed' AND t.attempts < " MAX_ATTEMPTS " AND u.r IN ("
	    "'network_error', 'timeout', 'http_status', 'agent_busy', "
	    "'source_other_error') THEN 'unprocessed' ELSE u.s END, reason = "
	    "CASE WHEN u.s = 'failed' AND t.attempts < " MAX_ATTEMPTS " AND "
	    "u.r IN ('network_error', 'timeout', 'http_status', 'agent_busy', "
	    "'source_other_error') THEN NULL ELSE u.r END, updated_at = now() "
	    "FROM unnest($3::uuid[], $4::text[], $5::text[]) AS u(o, s, r) "
	    "WHERE t.job = $2 AND t.object = u.o AND t.assignment = $1 AND "
	    "t.state = 'assigned'", 5, p, &err) == -1 ||
	    /* Tasks the agent did not report (it should report all): failed. */
	    bl_pg_run(e->db, "UPDATE job_tasks SET state = 'failed', reason = "
	    "'assignment_mismatch', updated_at = now() WHERE assignment = $1 "
	    "AND job = $2 AND state = 'assigned'", 2, p, &err) == -1 ||
	    bl_pg_run(e->db, "UPDATE assignments SET state = 'agent_done', "
	    "updated_at = now() WHERE id = $1 AND state = 'posted'", 1, p,
	    &err) == -1 || bl_pg_run(e->db, "COMMIT", 0, NULL, &err) == -1) {
		bl_pg_run(e->db, "ROLLBACK", 0, NULL, NULL);
		rc = mig_db_fail(e, &err, "record assignment");
	}
	mig_arr_free(&objs);
	mig_arr_free(&states);
	mig_arr_free(&reasons);
	return rc;
}

int
mig_poll_assignments(struct mig_engine *e)
{
	struct bl_err err;
	PGresult *r;
	struct bl_acall *calls, *reposts;
	struct arr alive = { 0 };
	const char *touch[1];
	size_t nrepost = 0;
	int n, rc = 0;
	char tmo[24];
	const char *p[1] = { tmo };

	snprintf(tmo, sizeof(tmo), "%ld", e->o.agent_timeout_s);
	if ((r = bl_pg_exec(e->db, "SELECT a.id, a.job, a.dest, a.updated_at "
	    "< now() - make_interval(secs => $1::int) FROM assignments a WHERE"
	    " a.state = 'posted' ORDER BY a.created_at LIMIT 2000", 1, p,
	    &err)) == NULL)
		return mig_db_fail(e, &err, "poll");
	n = PQntuples(r);
	calls = calloc(n ? (size_t)n : 1, sizeof(*calls));
	reposts = calloc(n ? (size_t)n : 1, sizeof(*calls));
	if (calls == NULL || reposts == NULL) {
		free(calls);
		free(reposts);
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		ssize_t k = mig_node_find(e, PQgetvalue(r, i, 2));
		char target[128];

		/* Until it is complete, its counts alone. */
		snprintf(target, sizeof(target), "/v1/assignments/%s?tasks="
		    "if_complete", PQgetvalue(r, i, 0));
		bl_acall_set(&calls[i], "GET", k >= 0 ? e->nodes[k].url :
		    "http://0.0.0.0:1", target, NULL);
	}
	mig_calls_run(e, calls, (size_t)n);
	for (int i = 0; i < n && rc == 0; i++) {
		const char *aid = PQgetvalue(r, i, 0);
		const char *job = PQgetvalue(r, i, 1);
		int stale = strcmp(PQgetvalue(r, i, 3), "t") == 0;
		const char *ap[2] = { aid, job };
		const char *st = json_string_value(json_object_get(
		    calls[i].json, "state"));

		if (calls[i].status == 200 && st != NULL &&
		    strcmp(st, "complete") == 0) {
			rc = record_done(e, aid, job, calls[i].json);
		} else if (calls[i].status == 200) {
			/* Alive and working: noted below. */
			mig_arr_push(&alive, aid);
		} else if (calls[i].status == 404) {
			/* The POST never arrived (we died before it, or it
			 * failed): send it again; the id makes it
			 * idempotent. */
			PGresult *tr;
			ssize_t k = mig_node_find(e, PQgetvalue(r, i, 2));

			if ((tr = bl_pg_exec(e->db, "SELECT object, owner, md5,"
			    " size, pull_from FROM job_tasks WHERE assignment "
			    "= $1 AND job = $2 AND state = 'assigned' ORDER BY "
			    "object", 2, ap, &err)) == NULL) {
				rc = mig_db_fail(e, &err, "repost");
				break;
			}
			if (PQntuples(tr) == 0) {
				if (bl_pg_run(e->db, "UPDATE assignments SET "
				    "state = 'processed', updated_at = now() "
				    "WHERE id = $1", 1, ap, &err) == -1)
					rc = mig_db_fail(e, &err, "repost");
			} else if (k >= 0) {
				long long sh = mig_job_share(e, job,
				    e->cl->nodes[k].id);

				bl_acall_set(&reposts[nrepost], "POST",
				    e->nodes[k].url, "/v1/assignments",
				    mig_assignment_body(e, aid, job, sh, tr));
				snprintf(reposts[nrepost++].tag, 37, "%s", aid);
			}
			PQclear(tr);
		} else if (stale) {
			/* No useful answer for agent_timeout_s: the
			 * destination is unavailable. Its tasks fail one by
			 * one (a retry job re-runs them). */
			log_warnx("assignment id=%s dest=%s: no answer "
			    "(status %ld), giving up", aid, PQgetvalue(r, i, 2),
			    calls[i].status);
			if (bl_pg_run(e->db, "BEGIN", 0, NULL, &err) == -1 ||
			    bl_pg_run(e->db, "UPDATE job_tasks SET state = "
			    "'failed', reason = 'destination_unreachable', "
			    "updated_at = now() WHERE assignment = $1 AND job "
			    "= $2 AND state = 'assigned'", 2, ap, &err) == -1 ||
			    bl_pg_run(e->db, "UPDATE assignments SET state = "
			    "'agent_unavailable', updated_at = now() WHERE id "
			    "= $1", 1, ap, &err) == -1 ||
			    bl_pg_run(e->db, "COMMIT", 0, NULL, &err) == -1) {
				bl_pg_run(e->db, "ROLLBACK", 0, NULL, NULL);
				rc = mig_db_fail(e, &err, "give up");
			}
		}
	}
	/* The contact with the agents that answered, in one statement. */
	touch[0] = mig_arr_str(&alive);
	if (rc == 0 && alive.len > 0 && bl_pg_run(e->db, "UPDATE assignments "
	    "SET updated_at = now() WHERE id = ANY($1::uuid[])", 1, touch,
	    &err) == -1)
		rc = mig_db_fail(e, &err, "poll touch");
	mig_arr_free(&alive);
	PQclear(r);
	bl_acalls_release(calls, (size_t)n);
	free(calls);
	mig_calls_run(e, reposts, nrepost);
	if (rc == 0)
		rc = mig_posts_checked(e, reposts, nrepost);
	bl_acalls_release(reposts, nrepost);
	free(reposts);
	return rc;
}

/* Completed assignments are deleted on the agent (garbage collection). */
int
mig_collect_assignments(struct mig_engine *e)
{
	struct bl_err err;
	PGresult *r;
	struct bl_acall *calls;
	int n, rc = 0;

	if ((r = bl_pg_exec(e->db, "SELECT id, dest FROM assignments WHERE "
	    "state = 'agent_done' LIMIT 2000", 0, NULL, &err)) == NULL)
		return mig_db_fail(e, &err, "collect");
	n = PQntuples(r);
	if ((calls = calloc(n ? (size_t)n : 1, sizeof(*calls))) == NULL) {
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		ssize_t k = mig_node_find(e, PQgetvalue(r, i, 1));
		char target[128];

		snprintf(target, sizeof(target), "/v1/assignments/%s",
		    PQgetvalue(r, i, 0));
		bl_acall_set(&calls[i], "DELETE", k >= 0 ? e->nodes[k].url :
		    "http://0.0.0.0:1", target, NULL);
	}
	mig_calls_run(e, calls, (size_t)n);
	for (int i = 0; i < n && rc == 0; i++) {
		const char *p[1] = { PQgetvalue(r, i, 0) };

		if (calls[i].status != 200 && calls[i].status != 404)
			continue;
		if (bl_pg_run(e->db, "UPDATE assignments SET state = "
		    "'processed', updated_at = now() WHERE id = $1", 1, p,
		    &err) == -1)
			rc = mig_db_fail(e, &err, "collect");
	}
	PQclear(r);
	bl_acalls_release(calls, (size_t)n);
	free(calls);
	return rc;
}

/* --- 6: commit ------------------------------------------------------------ */

#define COMMIT_BATCH 500

int
mig_commit_copied(struct mig_engine *e)
{
	struct bl_err err;
	PGresult *r;
	const char *objs[COMMIT_BATCH];
	char job[37] = "";
	size_t nb = 0;
	int n, del = 0, failed;
	long committed;

	if ((r = bl_pg_exec(e->db, "SELECT job, object FROM job_tasks WHERE "
	    "state = 'copied' ORDER BY job, object LIMIT 50000", 0, NULL,
	    &err)) == NULL)
		return mig_db_fail(e, &err, "commit select");
	n = PQntuples(r);
	for (int i = 0; i <= n; i++) {
		const char *j = i < n ? PQgetvalue(r, i, 0) : "";

		if (nb > 0 && (strcmp(j, job) != 0 || nb == COMMIT_BATCH)) {
			mig_commit_pool_add(e->pool, job, objs, nb, del);
			nb = 0;
		}
		if (i == n)
			break;
		if (strcmp(j, job) != 0) {
			snprintf(job, sizeof(job), "%s", j);
			del = mig_delete_source_for(e, job);
		}
		objs[nb++] = PQgetvalue(r, i, 1);
	}
	failed = mig_commit_pool_wait(e->pool, &committed);
	PQclear(r);
	if (n > 0)
		log_debug("engine: committed %ld of %d copied, %d batches "
		    "failed", committed, n, failed);
	return 0;
}

int
mig_posts_checked(struct mig_engine *e, const struct bl_acall *c, size_t n)
{
	struct bl_err err;

	for (size_t i = 0; i < n; i++) {
		const char *p[1] = { c[i].tag };

		if (c[i].status == 202)
			continue;
		if (c[i].status < 400 || c[i].status > 499 ||
		    c[i].status == 408 || c[i].status == 429) {
			/* No answer or a server error: the poll tries
			 * again, and gives up after agent_timeout_s. */
			log_warnx("assignment id=%s: post to %s: status %ld",
			    c[i].tag, c[i].url, c[i].status);
			continue;
		}
		log_warnx("assignment id=%s: %s refused it with status %ld",
		    c[i].tag, c[i].url, c[i].status);
		if (bl_pg_run(e->db, "BEGIN", 0, NULL, &err) == -1 ||
		    bl_pg_run(e->db, "UPDATE job_tasks SET state = 'failed', "
		    "reason = 'assignment_rejected', updated_at = now() WHERE "
		    "assignment = $1 AND state = 'assigned'", 1, p, &err) == -1 ||
		    bl_pg_run(e->db, "UPDATE assignments SET state = 'rejected',"
		    " updated_at = now() WHERE id = $1 AND state = 'posted'", 1,
		    p, &err) == -1 ||
		    bl_pg_run(e->db, "COMMIT", 0, NULL, &err) == -1) {
			bl_pg_run(e->db, "ROLLBACK", 0, NULL, NULL);
			return mig_db_fail(e, &err, "reject assignment");
		}
	}
	return 0;
}
