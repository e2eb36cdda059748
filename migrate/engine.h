/* migrate/engine.h - the job engine (DESIGN 4 and 7; docs/engine.md).
 *
 * Three parts:
 *  - pure helpers (reasons.c): skip reasons, the mapping of an agent's
 *    failure reasons and state names. No I/O, unit-tested. Sources and
 *    destinations are chosen by placement/ (plc_choose_pull(),
 *    plc_choose_dest()), by the planner's rules.
 *  - the job store (store.c): blocking libpq calls that create and change
 *    jobs. The HTTP API runs them on worker threads with their own
 *    connections; the engine runs them on its own thread.
 *  - the engine (engine.c, commit.c): one thread with its own connection
 *    and its own libev loop (for curl multi), plus a pool of metadata
 *    committer threads, each with its own connection. Every step is
 *    recorded in PostgreSQL before it has effects elsewhere, so the engine
 *    picks up where it left off after kill -9.
 */
#ifndef MIG_ENGINE_H
#define MIG_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "lib/err.h"

struct bl_metrics;

/* --- reasons.c ------------------------------------------------------------ */

/* Every reason a task can be skipped or failed with: Manta's list in
 * snake_case, and ours. NULL-terminated. */
extern const char *const mig_skip_reasons[];

/* 1 if name is in mig_skip_reasons. */
int		 mig_reason_known(const char *name);
/* The skip reason for an agent's per-task failure reason ("md5_mismatch",
 * "insufficient_space", ...); unknown ones become "assignment_error". */
const char	*mig_reason_from_agent(const char *agent_reason);
/* Whether a job state / task state name is valid. */
int		 mig_job_state_valid(const char *s);
int		 mig_task_state_valid(const char *s);
/* Whether a job in state from may move to state to (DESIGN 4). */
int		 mig_job_transition_ok(const char *from, const char *to);

/* --- store.c: the job store ----------------------------------------------- */

/* Creates a job in state "init". kind is "evacuate", "retry" or
 * "rebalance"; params is validated by the caller (mig_job_params_check).
 * Writes the new id to id_out. The audit row is written in the same
 * transaction (who, action). */
int	mig_job_create(PGconn *c, const char *kind, const char *origin,
	    json_t *params, const char *parent, const char *who,
	    char id_out[37], struct bl_err *err);
/* Checks a job's params: the nodes and parent it names must exist.
 * BL_EINVAL (422) or BL_ENOENT when a named thing is missing. */
int	mig_job_params_check(PGconn *c, const char *kind, json_t *params,
	    struct bl_err *err);
/* The job as JSON (id, kind, state, params, counters, reasons,
 * timestamps), or NULL with BL_ENOENT. */
json_t	*mig_job_get(PGconn *c, const char *id, struct bl_err *err);
/* Jobs, newest first; state and kind may be NULL. */
json_t	*mig_job_list(PGconn *c, const char *state, const char *kind,
	    long limit, long offset, struct bl_err *err);
/* Tasks of a job; state may be NULL. */
json_t	*mig_job_tasks(PGconn *c, const char *id, const char *state,
	    long limit, long offset, struct bl_err *err);
/* pause, resume, cancel: BL_ENOENT, or BL_ECONFLICT when the job's state
 * does not allow it. */
int	mig_job_action(PGconn *c, const char *id, const char *action,
	    const char *who, struct bl_err *err);
/* Sets the committer pool size (1..250) for every job; BL_ENOENT if the
 * job does not exist. */
int	mig_set_metadata_threads(PGconn *c, const char *id, long n,
	    const char *who, struct bl_err *err);
/* Pauses every running job of kind and origin (running -> paused, the
 * one transition the state machine allows from there); *ids gets the
 * paused ids as a PostgreSQL array literal (caller frees). Run it in the
 * caller's transaction to record the ids with it. */
int	mig_jobs_pause_all(PGconn *c, const char *kind, const char *origin,
	    char **ids, struct bl_err *err);
/* Resumes the jobs of ids (an array literal) that are still paused. */
int	mig_jobs_resume_ids(PGconn *c, const char *ids, struct bl_err *err);
/* Sets a job's throttle in bytes per second (0: none). */
int	mig_set_throttle(PGconn *c, const char *id, long long bps,
	    const char *who, struct bl_err *err);
/* The audit trail, newest first, filtered by who and action (NULL: any):
 * {"audit":[{id,at,who,action,target,detail}],"total","limit","offset"}.
 * total counts the filtered rows (0 when offset is past them). */
json_t	*mig_audit_list(PGconn *c, const char *who, const char *action,
	    long limit, long offset, struct bl_err *err);
/* Reads an engine setting; def when unset. */
long long mig_setting_get(PGconn *c, const char *key, long long def,
	    struct bl_err *err);

/* Nodes. fields: region, datacenter, rack, host, agent_url, weight,
 * capacity_bytes, state. Creating a node requires agent_url. */
int	mig_node_put(PGconn *c, const char *id, json_t *fields,
	    const char *who, int *created, struct bl_err *err);
int	mig_node_drain(PGconn *c, const char *id, const char *who,
	    struct bl_err *err);
json_t	*mig_node_list(PGconn *c, struct bl_err *err);
/* An object's copies and version, or NULL with BL_ENOENT. */
json_t	*mig_object_get(PGconn *c, const char *id, struct bl_err *err);

/* Imports the planner's objects CSV (header: id,owner,size,md5,copies,...
 * see docs/api.md) with COPY into a temp table, then upserts. Counts the
 * rows in *rows. A body that is not that CSV is BL_EPARSE; a bad row, or a
 * row naming a node that is not registered (unless allow_unknown), is
 * BL_EINVAL with its line; nothing is imported then. With allow_unknown,
 * *unknown is a new array of the unregistered node names the rows named
 * (at most 100); otherwise it is NULL. */
/* Writes every object as the objects CSV (header and one row each, ids
 * in order) to fd; *rows counts them. 0 or -1 (BL_EDB, BL_EIO). */
int	mig_objects_export(PGconn *c, int fd, long long *rows,
	    struct bl_err *err);
int	mig_objects_import(PGconn *c, const char *csv, size_t len,
	    const char *who, int allow_unknown, long long *rows,
	    json_t **unknown, struct bl_err *err);

/* --- the engine ----------------------------------------------------------- */

struct mig_engine_opts {
	const char	*conninfo;		/* borrows: copied */
	const void	*secret;		/* borrows: copied */
	size_t		 secret_len;
	long		 max_tasks_per_assignment;
	long		 max_assignment_age_s;
	long		 metadata_threads;	/* initial; the db may override */
	long		 max_inflight_per_node;
	long		 agent_timeout_s;
	long		 poll_interval_ms;
	long		 source_delete_grace_s;
	int		 evacuate_deletes_source;
	double		 max_fill;
	int		 failure_domain;	/* enum plc_domain */
	const char	*agent_tls_ca_file;	/* borrows: used in
						   mig_engine_new only; PEM
						   CAs for https agents,
						   NULL: the system's */
	struct bl_metrics *metrics;		/* borrows; NULL: none. Gets
						   the metadata commit
						   metrics (commit.c) */
};

struct mig_engine;

struct mig_engine *mig_engine_new(const struct mig_engine_opts *o,
	    struct bl_err *err);
/* Starts the engine thread. */
int	mig_engine_start(struct mig_engine *e, struct bl_err *err);
/* Asks the engine to look at the jobs now (a job was created or
 * changed). Thread-safe. */
void	mig_engine_wake(struct mig_engine *e);
/* Takes new tunables (a config reload): every field but conninfo and
 * secret. They apply from the next tick. Thread-safe. */
void	mig_engine_set_opts(struct mig_engine *e,
	    const struct mig_engine_opts *o);
/* Stops the thread and the committers; NULL: no-op. */
void	mig_engine_free(struct mig_engine *e);
/* 1 while the engine reaches the database. Thread-safe. */
int	mig_engine_db_ok(const struct mig_engine *e);
/* The current committer pool size. Thread-safe. */
int	mig_engine_committers(const struct mig_engine *e);

/* --- commit.c: the metadata committers ------------------------------------ */

/* One batch of copied tasks of one job: CAS-commits the metadata and
 * moves the tasks to complete/committed (or skipped metadata_changed with
 * an orphan to remove) in one statement. Blocking. Returns the number of
 * objects committed, or -1. delete_source: tasks become "committed" with
 * cleanup "source" instead of "complete". */
long	mig_commit_batch(PGconn *c, const char *job, const char *const *objs,
	    size_t n, int delete_source, struct bl_err *err);

struct mig_commit_pool;

struct mig_commit_pool *mig_commit_pool_new(const char *conninfo, int n,
	    struct bl_err *err);
void	mig_commit_pool_free(struct mig_commit_pool *p);	/* NULL ok */
/* Registers ballast_metadata_commits_total{result} (objects: committed,
 * or error when the batch's statement failed; it is tried again) and
 * ballast_metadata_commit_duration_seconds (per batch) in m, and counts
 * every batch from now on. m may be NULL: no metrics. */
void	mig_commit_pool_instrument(struct mig_commit_pool *p,
	    struct bl_metrics *m);
/* Changes the number of committer threads (1..250). */
int	mig_commit_pool_resize(struct mig_commit_pool *p, int n);
int	mig_commit_pool_size(struct mig_commit_pool *p);
/* Queues a batch (the strings are copied). */
int	mig_commit_pool_add(struct mig_commit_pool *p, const char *job,
	    const char *const *objs, size_t n, int delete_source);
/* Waits until every queued batch is done; returns how many batches
 * failed since the last wait (they stay "copied" and are tried again). */
int	mig_commit_pool_wait(struct mig_commit_pool *p, long *committed);

/* --- API request bodies (body.c) ----------------------------------------
 * Pure validation, no database: BL_EPARSE means answer 400 "malformed",
 * any other code 422 "invalid". */
struct pol_policy;

/* A creation body: POST /v1/jobs, and Manta's POST /jobs (manta: "evacuate"
 * only, with "from_shark"). */
struct mig_body_job {
	char	 action[16];	/* evacuate, retry or rebalance */
	json_t	*params;	/* owns: normalised params */
};

enum mig_update_kind {
	MIG_UPDATE_ACTION,	/* pause, resume or cancel (in action) */
	MIG_UPDATE_THREADS,	/* set_metadata_threads num */
	MIG_UPDATE_THROTTLE,	/* set_throttle num (bytes/s, 0: none) */
};

/* An update body: PUT /v1/jobs/{id} and Manta's PUT /jobs/{uuid}. */
struct mig_body_update {
	int		kind;		/* enum mig_update_kind */
	char		action[16];
	long long	num;
};

/* Whether s (n bytes) is a node id: 1-255 of [A-Za-z0-9._-]. */
int	mig_node_id_valid(const char *s, size_t n);
/* The body as a JSON object (new reference), or NULL (BL_EPARSE). */
json_t	*mig_body_object(const char *body, size_t len, struct bl_err *err);
/* 0, or -1 with nothing owned by out. */
int	mig_body_job(const char *body, size_t len, int manta,
	    struct mig_body_job *out, struct bl_err *err);
int	mig_body_job_update(const char *body, size_t len,
	    struct mig_body_update *out, struct bl_err *err);
/* POST /v1/nodes and PUT /v1/nodes/{id}: the checked object (new
 * reference), or NULL. */
json_t	*mig_body_node(const char *body, size_t len, struct bl_err *err);
/* PUT /v1/policy: with "preset", body is the whole run-time policy;
 * without, its fields override current (the policy in force; NULL: none).
 * Validates the result into out and returns its canonical JSON text (the
 * caller frees), or NULL. */
char	*mig_body_policy(json_t *body, const json_t *current,
	    struct pol_policy *out, struct bl_err *err);

#endif
