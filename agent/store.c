/* agent/store.c - the agent's crash-safe record of assignments (SQLite).
 *
 * WAL mode, synchronous=FULL: an assignment is committed before the POST is
 * answered. Task state changes are batched into one transaction that a
 * timer commits shortly after; a crash loses at most that batch, and the
 * tasks then run again, finding their files in place (skip-if-exists).
 */
#include "agent/agent.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

struct agt_store {
	sqlite3		*db;		/* owns */
	int		 in_batch;
	sqlite3_stmt	*upd;		/* owns: task update */
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS assignments ("
    " id TEXT PRIMARY KEY, hash TEXT NOT NULL, created REAL NOT NULL,"
    " completed REAL, ntasks INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS tasks ("
    " assignment TEXT NOT NULL, idx INTEGER NOT NULL,"
    " owner TEXT NOT NULL, object_id TEXT NOT NULL, md5 TEXT NOT NULL,"
    " size INTEGER NOT NULL, source_node TEXT NOT NULL,"
    " source_url TEXT NOT NULL, status INTEGER NOT NULL DEFAULT 0,"
    " reason INTEGER NOT NULL DEFAULT 0, http_code INTEGER NOT NULL"
    " DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, skipped INTEGER"
    " NOT NULL DEFAULT 0, PRIMARY KEY (assignment, idx));"
    "CREATE INDEX IF NOT EXISTS assignments_completed"
    " ON assignments (completed);"
    "CREATE TABLE IF NOT EXISTS assignment_jobs ("
    " assignment TEXT PRIMARY KEY, job TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS job_throttles ("
    " job TEXT PRIMARY KEY, bytes_per_sec INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS forwards ("
    " owner TEXT NOT NULL, object_id TEXT NOT NULL, location TEXT NOT NULL,"
    " expires REAL NOT NULL, PRIMARY KEY (owner, object_id));";

static int
db_err(struct agt_store *s, struct bl_err *err, const char *what)
{
	return bl_err_set(err, BL_EDB, "state db: %s: %s", what,
	    sqlite3_errmsg(s->db));
}

struct agt_store *
agt_store_open(const char *path, struct bl_err *err)
{
	struct agt_store *s;
	char *msg = NULL;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		bl_err_set(err, BL_ENOMEM, "state db: out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		bl_err_set(err, BL_EDB, "state db file=%s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=FULL;", NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		bl_err_set(err, BL_EDB, "state db file=%s: %s", path,
		    msg ? msg : "schema failed");
		sqlite3_free(msg);
		goto fail;
	}
	if (sqlite3_prepare_v2(s->db, "UPDATE tasks SET status=?, reason=?,"
	    " http_code=?, attempts=?, skipped=? WHERE assignment=? AND idx=?",
	    -1, &s->upd, NULL) != SQLITE_OK) {
		db_err(s, err, "prepare");
		goto fail;
	}
	return s;
fail:
	sqlite3_finalize(s->upd);
	sqlite3_close(s->db);
	free(s);
	return NULL;
}

void
agt_store_close(struct agt_store *s)
{
	if (s == NULL)
		return;
	agt_store_flush(s, NULL);
	sqlite3_finalize(s->upd);
	sqlite3_close(s->db);
	free(s);
}

int
agt_store_flush(struct agt_store *s, struct bl_err *err)
{
	if (!s->in_batch)
		return 0;
	s->in_batch = 0;
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return db_err(s, err, "commit");
	return 0;
}

static int
batch_begin(struct agt_store *s, struct bl_err *err)
{
	if (s->in_batch)
		return 0;
	if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return db_err(s, err, "begin");
	s->in_batch = 1;
	return 0;
}

/* Runs one statement with text a, then text b or the integer v. */
static int
job_row(struct agt_store *s, const char *sql, const char *a, const char *b,
    long long v)
{
	sqlite3_stmt *st;
	int step;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b != NULL)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 2, v);
	step = sqlite3_step(st);
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? 0 : -1;
}

int
agt_store_job_throttle(struct agt_store *s, const char *job,
    long long bytes_per_sec, struct bl_err *err)
{
	if (agt_store_flush(s, err) == -1)
		return -1;
	if (job_row(s, "INSERT OR REPLACE INTO job_throttles (job, "
	    "bytes_per_sec) VALUES (?,?)", job, NULL, bytes_per_sec) == -1)
		return db_err(s, err, "job throttle");
	return 0;
}

int
agt_store_insert(struct agt_store *s, const struct agt_assign *a,
    const char *hash, struct bl_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	if (agt_store_flush(s, err) == -1)
		return -1;
	if (sqlite3_prepare_v2(s->db, "SELECT hash FROM assignments WHERE"
	    " id=?", -1, &st, NULL) != SQLITE_OK)
		return db_err(s, err, "prepare");
	sqlite3_bind_text(st, 1, a->id, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		rc = strcmp((const char *)sqlite3_column_text(st, 0), hash) == 0
		    ? AGT_STORE_SAME : AGT_STORE_CONFLICT;
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (step != SQLITE_DONE)
		return db_err(s, err, "select assignment");
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return db_err(s, err, "begin");
	if (sqlite3_prepare_v2(s->db, "INSERT INTO assignments (id, hash,"
	    " created, ntasks) VALUES (?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_text(st, 1, a->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, a->created);
	sqlite3_bind_int(st, 4, a->ntasks);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(st);
	st = NULL;
	if (a->job[0] != '\0' && (job_row(s, "INSERT OR REPLACE INTO "
	    "assignment_jobs (assignment, job) VALUES (?,?)", a->id, a->job,
	    -1) == -1 || (a->job_rate >= 0 && job_row(s, "INSERT OR REPLACE "
	    "INTO job_throttles (job, bytes_per_sec) VALUES (?,?)", a->job,
	    NULL, a->job_rate) == -1)))
		goto dberr;
	if (sqlite3_prepare_v2(s->db, "INSERT INTO tasks (assignment, idx,"
	    " owner, object_id, md5, size, source_node, source_url) VALUES"
	    " (?,?,?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	for (int i = 0; i < a->ntasks; i++) {
		const struct agt_task *t = &a->tasks[i];

		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, a->id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, i);
		sqlite3_bind_text(st, 3, t->owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, t->object_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, t->md5, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, t->size);
		sqlite3_bind_text(st, 7, t->source_node, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, t->source_url, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto dberr;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto dberr;
	return AGT_STORE_NEW;
dberr:
	db_err(s, err, "insert assignment");
	sqlite3_finalize(st);
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
agt_store_task_update(struct agt_store *s, const struct agt_task *t,
    struct bl_err *err)
{
	if (batch_begin(s, err) == -1)
		return -1;
	sqlite3_reset(s->upd);
	sqlite3_bind_int(s->upd, 1, t->status);
	sqlite3_bind_int(s->upd, 2, t->reason);
	sqlite3_bind_int(s->upd, 3, t->http_code);
	sqlite3_bind_int(s->upd, 4, t->attempts);
	sqlite3_bind_int(s->upd, 5, t->skipped);
	sqlite3_bind_text(s->upd, 6, t->a->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(s->upd, 7, t->idx);
	if (sqlite3_step(s->upd) != SQLITE_DONE)
		return db_err(s, err, "update task");
	return 0;
}

int
agt_store_assign_complete(struct agt_store *s, const char *id, double now,
    struct bl_err *err)
{
	sqlite3_stmt *st;
	int ok;

	if (batch_begin(s, err) == -1)
		return -1;
	if (sqlite3_prepare_v2(s->db, "UPDATE assignments SET completed=?"
	    " WHERE id=?", -1, &st, NULL) != SQLITE_OK)
		return db_err(s, err, "prepare");
	sqlite3_bind_double(st, 1, now);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	return ok ? 0 : db_err(s, err, "complete assignment");
}

static const char *const status_names[] = { "pending", "complete",
    "failed" };

/* An assignment's task counts, as GET /v1/assignments/{id} shows them. */
struct counts {
	long long	total, pending, complete, failed, skipped, started;
	long long	bytes;
};

/* Adds n tasks of one status; size is their bytes together. */
static void
counts_add(struct counts *c, int status, int attempted, int skipped,
    long long n, long long size)
{
	c->total += n;
	if (status == AGT_T_PENDING) {
		c->pending += n;
		if (attempted)
			c->started += n;
	} else if (status == AGT_T_COMPLETE) {
		c->complete += n;
		c->started += n;
		if (skipped)
			c->skipped += n;
		else
			c->bytes += size;
	} else {
		c->failed += n;
		c->started += n;
	}
}

/* The task rows, in order, into tasks; their counts into c. */
static int
tasks_json(struct agt_store *s, const char *id, json_t *tasks,
    struct counts *c)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db, "SELECT owner, object_id, md5, size,"
	    " source_node, status, reason, http_code, attempts, skipped"
	    " FROM tasks WHERE assignment=? ORDER BY idx", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int status = sqlite3_column_int(st, 5);
		int reason = sqlite3_column_int(st, 6);
		int attempts = sqlite3_column_int(st, 8);
		int skipped = sqlite3_column_int(st, 9);
		json_t *t;

		if (status < 0 || status > 2)
			status = AGT_T_FAILED;
		t = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:i,s:b}",
		    "owner", (const char *)sqlite3_column_text(st, 0),
		    "object_id", (const char *)sqlite3_column_text(st, 1),
		    "md5", (const char *)sqlite3_column_text(st, 2),
		    "size", (json_int_t)sqlite3_column_int64(st, 3),
		    "source_node", (const char *)sqlite3_column_text(st, 4),
		    "status", status_names[status], "attempts", attempts,
		    "skipped", skipped);
		if (t == NULL)
			continue;
		if (status == AGT_T_FAILED) {
			json_object_set_new(t, "reason",
			    json_string(agt_reason_name(reason)));
			if (reason == AGT_R_HTTP_STATUS)
				json_object_set_new(t, "http_status",
				    json_integer(sqlite3_column_int(st, 7)));
		}
		counts_add(c, status, attempts > 0, skipped, 1,
		    sqlite3_column_int64(st, 3));
		json_array_append_new(tasks, t);
	}
	sqlite3_finalize(st);
	return 0;
}

/* The counts alone, one row per kind of task. */
static int
tasks_count(struct agt_store *s, const char *id, struct counts *c)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db, "SELECT status, attempts > 0, skipped,"
	    " count(*), sum(size) FROM tasks WHERE assignment=? GROUP BY"
	    " 1, 2, 3", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int status = sqlite3_column_int(st, 0);

		counts_add(c, status < 0 || status > 2 ? AGT_T_FAILED : status,
		    sqlite3_column_int(st, 1), sqlite3_column_int(st, 2),
		    sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4));
	}
	sqlite3_finalize(st);
	return 0;
}

json_t *
agt_store_assign_json(struct agt_store *s, const char *id,
    int tasks_if_complete, struct bl_err *err)
{
	sqlite3_stmt *st = NULL;
	struct counts c = { 0 };
	json_t *out, *tasks = NULL;
	double created, completed = 0;
	int has_completed, rc;

	if (sqlite3_prepare_v2(s->db, "SELECT created, completed FROM"
	    " assignments WHERE id=?", -1, &st, NULL) != SQLITE_OK) {
		db_err(s, err, "prepare");
		return NULL;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		bl_err_set(err, BL_ENOENT, "assignment id=%s: unknown", id);
		return NULL;
	}
	created = sqlite3_column_double(st, 0);
	has_completed = sqlite3_column_type(st, 1) != SQLITE_NULL;
	if (has_completed)
		completed = sqlite3_column_double(st, 1);
	sqlite3_finalize(st);
	/* What is shown as a result is durable first. Counts of a running
	 * assignment are progress, and may show writes still in the batch
	 * (this connection reads them). */
	if (!tasks_if_complete || has_completed) {
		if (agt_store_flush(s, err) == -1)
			return NULL;
		if ((tasks = json_array()) == NULL)
			goto nomem;
		rc = tasks_json(s, id, tasks, &c);
	} else
		rc = tasks_count(s, id, &c);
	if (rc == -1) {
		json_decref(tasks);
		db_err(s, err, "prepare");
		return NULL;
	}
	out = json_pack("{s:s,s:s,s:f,s:{s:I,s:I,s:I,s:I,s:I,s:I}}",
	    "id", id, "state", has_completed ? "complete" :
	    c.started > 0 ? "running" : "scheduled", "created", created,
	    "counts", "total", (json_int_t)c.total,
	    "pending", (json_int_t)c.pending, "complete",
	    (json_int_t)c.complete, "failed", (json_int_t)c.failed,
	    "skipped", (json_int_t)c.skipped, "bytes", (json_int_t)c.bytes);
	if (out == NULL) {
		json_decref(tasks);
		goto nomem;
	}
	if (tasks != NULL)
		json_object_set_new(out, "tasks", tasks);
	if (has_completed)
		json_object_set_new(out, "completed", json_real(completed));
	return out;
nomem:
	bl_err_set(err, BL_ENOMEM, "assignment id=%s: out of memory", id);
	return NULL;
}

int
agt_store_assign_delete(struct agt_store *s, const char *id,
    struct bl_err *err)
{
	sqlite3_stmt *st;
	int step, complete;

	if (agt_store_flush(s, err) == -1)
		return -1;
	if (sqlite3_prepare_v2(s->db, "SELECT completed IS NOT NULL FROM"
	    " assignments WHERE id=?", -1, &st, NULL) != SQLITE_OK)
		return db_err(s, err, "prepare");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	complete = step == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (step != SQLITE_ROW)
		return bl_err_set(err, BL_ENOENT, "assignment id=%s: unknown",
		    id);
	if (!complete)
		return bl_err_set(err, BL_ECONFLICT,
		    "assignment id=%s: still running", id);
	if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return db_err(s, err, "begin");
	if (sqlite3_prepare_v2(s->db, "DELETE FROM tasks WHERE assignment=?",
	    -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		goto dberr;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM assignments WHERE id=?",
	    -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		goto dberr;
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto dberr;
	return 0;
dberr:
	db_err(s, err, "delete assignment");
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

void
agt_assign_free(struct agt_assign *a)
{
	if (a == NULL)
		return;
	for (int i = 0; i < a->ntasks; i++) {
		free(a->tasks[i].source_node);
		free(a->tasks[i].source_url);
	}
	free(a->tasks);
	free(a);
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return strdup(v ? (const char *)v : "");
}

int
agt_store_load_active(struct agt_store *s,
    void (*fn)(struct agt_assign *a, void *arg), void *arg,
    struct bl_err *err)
{
	sqlite3_stmt *sa = NULL, *stt = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(s->db, "SELECT a.id, a.created, a.ntasks,"
	    " coalesce(j.job, ''), coalesce(t.bytes_per_sec, -1) FROM"
	    " assignments a LEFT JOIN assignment_jobs j ON j.assignment ="
	    " a.id LEFT JOIN job_throttles t ON t.job = j.job WHERE"
	    " a.completed IS NULL ORDER BY a.created", -1, &sa,
	    NULL) != SQLITE_OK || sqlite3_prepare_v2(s->db, "SELECT idx, owner,"
	    " object_id, md5, size, source_node, source_url, status, reason,"
	    " http_code, attempts, skipped FROM tasks WHERE assignment=?"
	    " ORDER BY idx", -1, &stt, NULL) != SQLITE_OK) {
		db_err(s, err, "prepare");
		goto out;
	}
	while (sqlite3_step(sa) == SQLITE_ROW) {
		struct agt_assign *a = calloc(1, sizeof(*a));
		int n = sqlite3_column_int(sa, 2);

		if (a == NULL || n < 0 ||
		    (a->tasks = calloc(n ? (size_t)n : 1, sizeof(*a->tasks))) ==
		    NULL) {
			free(a);
			bl_err_set(err, BL_ENOMEM, "state db: out of memory");
			goto out;
		}
		snprintf(a->id, sizeof(a->id), "%s",
		    (const char *)sqlite3_column_text(sa, 0));
		a->created = sqlite3_column_double(sa, 1);
		snprintf(a->job, sizeof(a->job), "%s",
		    (const char *)sqlite3_column_text(sa, 3));
		a->job_rate = sqlite3_column_int64(sa, 4);
		sqlite3_reset(stt);
		sqlite3_bind_text(stt, 1, a->id, -1, SQLITE_TRANSIENT);
		while (sqlite3_step(stt) == SQLITE_ROW && a->ntasks < n) {
			struct agt_task *t = &a->tasks[a->ntasks];

			t->a = a;
			t->fd = -1;
			t->idx = sqlite3_column_int(stt, 0);
			snprintf(t->owner, sizeof(t->owner), "%s",
			    (const char *)sqlite3_column_text(stt, 1));
			snprintf(t->object_id, sizeof(t->object_id), "%s",
			    (const char *)sqlite3_column_text(stt, 2));
			snprintf(t->md5, sizeof(t->md5), "%s",
			    (const char *)sqlite3_column_text(stt, 3));
			bl_wire_md5_from_b64(t->md5, t->md5raw);
			t->size = sqlite3_column_int64(stt, 4);
			t->source_node = col_dup(stt, 5);
			t->source_url = col_dup(stt, 6);
			t->status = sqlite3_column_int(stt, 7);
			t->reason = sqlite3_column_int(stt, 8);
			t->http_code = sqlite3_column_int(stt, 9);
			t->attempts = sqlite3_column_int(stt, 10);
			t->skipped = sqlite3_column_int(stt, 11);
			a->ntasks++;
			if (t->source_node == NULL || t->source_url == NULL) {
				agt_assign_free(a);
				bl_err_set(err, BL_ENOMEM,
				    "state db: out of memory");
				goto out;
			}
		}
		fn(a, arg);
	}
	rc = 0;
out:
	sqlite3_finalize(sa);
	sqlite3_finalize(stt);
	return rc;
}

int
agt_store_gc(struct agt_store *s, double cutoff, double now,
    struct bl_err *err)
{
	sqlite3_stmt *st;
	int n;

	if (agt_store_flush(s, err) == -1)
		return -1;
	if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return db_err(s, err, "begin");
	if (sqlite3_prepare_v2(s->db, "DELETE FROM tasks WHERE assignment IN"
	    " (SELECT id FROM assignments WHERE completed IS NOT NULL AND"
	    " completed < ?)", -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_double(st, 1, cutoff);
	n = sqlite3_step(st);
	sqlite3_finalize(st);
	if (n != SQLITE_DONE)
		goto dberr;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM assignments WHERE"
	    " completed IS NOT NULL AND completed < ?", -1, &st, NULL) !=
	    SQLITE_OK)
		goto dberr;
	sqlite3_bind_double(st, 1, cutoff);
	n = sqlite3_step(st);
	sqlite3_finalize(st);
	if (n != SQLITE_DONE)
		goto dberr;
	n = sqlite3_changes(s->db);
	if (sqlite3_exec(s->db, "DELETE FROM assignment_jobs WHERE assignment"
	    " NOT IN (SELECT id FROM assignments); DELETE FROM job_throttles"
	    " WHERE job NOT IN (SELECT job FROM assignment_jobs)", NULL, NULL,
	    NULL) != SQLITE_OK)
		goto dberr;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM forwards WHERE expires < ?",
	    -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_double(st, 1, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_finalize(st);
		goto dberr;
	}
	sqlite3_finalize(st);
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto dberr;
	return n;
dberr:
	db_err(s, err, "gc");
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
agt_store_forward_set(struct agt_store *s, const struct agt_fwd *f,
    size_t n, double expires, struct bl_err *err)
{
	sqlite3_stmt *st = NULL;

	if (n == 0)
		return 0;
	if (agt_store_flush(s, err) == -1)
		return -1;
	/* One transaction, so one WAL sync, for the whole group. */
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return db_err(s, err, "begin");
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO forwards (owner,"
	    " object_id, location, expires) VALUES (?,?,?,?)", -1, &st, NULL) !=
	    SQLITE_OK)
		goto dberr;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, f[i].owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, f[i].object_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, f[i].location, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 4, expires);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto dberr;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto dberr;
	return 0;
dberr:
	db_err(s, err, "insert forward");
	sqlite3_finalize(st);
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

char *
agt_store_forward_get(struct agt_store *s, const char *owner,
    const char *object_id, double now)
{
	sqlite3_stmt *st;
	char *loc = NULL;

	if (sqlite3_prepare_v2(s->db, "SELECT location FROM forwards WHERE"
	    " owner=? AND object_id=? AND expires >= ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, object_id, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, now);
	if (sqlite3_step(st) == SQLITE_ROW)
		loc = col_dup(st, 0);
	sqlite3_finalize(st);
	return loc;
}

int
agt_store_forward_clear(struct agt_store *s, const char *owner,
    const char *object_id, struct bl_err *err)
{
	sqlite3_stmt *st;
	int ok;

	if (batch_begin(s, err) == -1)
		return -1;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM forwards WHERE owner=? AND"
	    " object_id=?", -1, &st, NULL) != SQLITE_OK)
		return db_err(s, err, "prepare");
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, object_id, -1, SQLITE_STATIC);
	ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	return ok ? 0 : db_err(s, err, "delete forward");
}
