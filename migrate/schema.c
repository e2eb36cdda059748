/* migrate/schema.c - versioned migrations of the PostgreSQL schema.
 *
 * Each migration is a list of constant DDL statements applied in one
 * transaction together with its schema_version row. Nothing here is built
 * from input.
 */
#include "migrate/schema.h"

#include <stdio.h>
#include <stdlib.h>

#include "lib/pg.h"

/* pg_advisory_lock key for migrations: "ballast" folded into 63 bits. The
 * leader lock uses another key. */
#define MIGRATE_LOCK_KEY "7122809237100011"

struct migration {
	int			 version;
	const char		*description;
	const char *const	*statements;	/* NULL-terminated */
};

static const char *const v1[] = {
	/* Storage nodes. weight 0 means: derive from capacity. */
	"CREATE TABLE nodes ("
	"  id             text PRIMARY KEY,"
	"  region         text NOT NULL DEFAULT '',"
	"  datacenter     text NOT NULL DEFAULT '',"
	"  rack           text NOT NULL DEFAULT '',"
	"  host           text NOT NULL DEFAULT '',"
	"  agent_url      text NOT NULL,"
	"  weight         double precision NOT NULL DEFAULT 0"
	"                 CHECK (weight >= 0),"
	"  capacity_bytes bigint NOT NULL DEFAULT 0 CHECK (capacity_bytes >= 0),"
	"  used_bytes     bigint NOT NULL DEFAULT 0 CHECK (used_bytes >= 0),"
	"  object_count   bigint NOT NULL DEFAULT 0,"
	"  latency_ms     double precision,"
	"  state          text NOT NULL DEFAULT 'in'"
	"                 CHECK (state IN ('in', 'draining', 'out')),"
	"  reachable      boolean NOT NULL DEFAULT true,"
	"  last_seen      timestamptz,"
	"  updated_at     timestamptz NOT NULL DEFAULT now())",

	/* The metadata tier: where each object's copies live. version is
	 * bumped on every change and guards compare-and-swap commits. */
	"CREATE TABLE objects ("
	"  id             uuid PRIMARY KEY,"
	"  owner          uuid NOT NULL,"
	"  size           bigint NOT NULL CHECK (size >= 0),"
	"  md5            text NOT NULL,"
	"  version        bigint NOT NULL DEFAULT 1,"
	"  copies         text[] NOT NULL,"
	"  reads_per_hour double precision NOT NULL DEFAULT 0,"
	"  last_access    timestamptz,"
	"  affinity       text,"
	"  allowed_dcs    text[])",
	/* "The objects on node N": copies @> ARRAY[N] uses this. */
	"CREATE INDEX objects_copies ON objects USING gin (copies)",

	"CREATE TABLE jobs ("
	"  id          uuid PRIMARY KEY,"
	"  kind        text NOT NULL"
	"              CHECK (kind IN ('evacuate', 'rebalance', 'retry')),"
	"  origin      text NOT NULL CHECK (origin IN ('operator', 'controller')),"
	"  state       text NOT NULL CHECK (state IN ('init', 'setup', 'running',"
	"              'paused', 'complete', 'failed', 'cancelled')),"
	"  params      jsonb NOT NULL DEFAULT '{}',"
	"  parent      uuid REFERENCES jobs (id),"
	"  total       bigint NOT NULL DEFAULT 0,"
	"  complete    bigint NOT NULL DEFAULT 0,"
	"  skipped     bigint NOT NULL DEFAULT 0,"
	"  failed      bigint NOT NULL DEFAULT 0,"
	"  bytes_total bigint NOT NULL DEFAULT 0,"
	"  bytes_done  bigint NOT NULL DEFAULT 0,"
	"  error       text,"
	"  throttle_bytes_per_sec bigint NOT NULL DEFAULT 0,"
	"  warnings    jsonb NOT NULL DEFAULT '[]',"
	"  created_at  timestamptz NOT NULL DEFAULT now(),"
	"  started_at  timestamptz,"
	"  updated_at  timestamptz NOT NULL DEFAULT now(),"
	"  finished_at timestamptz)",
	"CREATE INDEX jobs_state ON jobs (state)",
	"CREATE INDEX jobs_created ON jobs (created_at DESC)",

	/* One task per (job, object): a copy to move from source to dest.
	 * version is the object's metadata version when the task was made. */
	"CREATE TABLE job_tasks ("
	"  job        uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
	"  object     uuid NOT NULL,"
	"  owner      uuid NOT NULL,"
	"  md5        text NOT NULL,"
	"  size       bigint NOT NULL,"
	"  version    bigint NOT NULL,"
	"  source     text,"	/* the copy being replaced */
	"  pull_from  text,"	/* the node the agent reads from */
	"  dest       text,"
	"  state      text NOT NULL DEFAULT 'unprocessed'"
	"             CHECK (state IN ('unprocessed', 'assigned', 'copied',"
	"             'committed', 'complete', 'skipped', 'failed')),"
	"  reason     text,"
	"  assignment uuid,"
	"  attempts   integer NOT NULL DEFAULT 0,"
	/* Deletion still owed once the task settles: 'orphan' (our new
	 * copy at dest after a failed CAS) or 'source' (the old copy after
	 * the grace period); 'done' or NULL when nothing is owed. */
	"  cleanup    text CHECK (cleanup IN ('orphan', 'source', 'done',"
	"             'left')),"
	"  committed_at timestamptz,"
	"  updated_at timestamptz NOT NULL DEFAULT now(),"
	"  PRIMARY KEY (job, object))",
	/* Only open tasks are indexed by state: a task that is done
	 * leaves the index, so a 10M-task job's finished rows cost the
	 * engine's queries nothing, and the commit (copied -> complete)
	 * touches one index less. Per-job counts use the primary key. */
	"CREATE INDEX job_tasks_open ON job_tasks (job, state, dest)"
	"  WHERE state IN ('unprocessed', 'assigned', 'copied', 'committed')",
	"CREATE INDEX job_tasks_cleanup ON job_tasks (job)"
	"  WHERE cleanup IN ('orphan', 'source')",
	"CREATE INDEX job_tasks_assignment ON job_tasks (assignment)"
	"  WHERE assignment IS NOT NULL",

	/* Batches of tasks posted to one destination agent. Recorded before
	 * the POST, so that a crash never loses track of one. */
	"CREATE TABLE assignments ("
	"  id         uuid PRIMARY KEY,"
	"  job        uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
	"  dest       text NOT NULL,"
	"  state      text NOT NULL DEFAULT 'init'"
	"             CHECK (state IN ('init', 'posted', 'agent_done',"
	"             'processed', 'rejected', 'agent_unavailable')),"
	"  tasks      integer NOT NULL DEFAULT 0,"
	"  created_at timestamptz NOT NULL DEFAULT now(),"
	"  posted_at  timestamptz,"
	"  updated_at timestamptz NOT NULL DEFAULT now())",
	"CREATE INDEX assignments_open ON assignments (job, state)",

	/* Run-time engine settings shared by every ballastd process. */
	"CREATE TABLE engine_settings ("
	"  key   text PRIMARY KEY,"
	"  value bigint NOT NULL)",

	/* Who did what through the API. */
	"CREATE TABLE audit ("
	"  id     bigserial PRIMARY KEY,"
	"  at     timestamptz NOT NULL DEFAULT now(),"
	"  who    text NOT NULL,"
	"  action text NOT NULL,"
	"  target text,"
	"  detail jsonb)",
	NULL
};

/* The control loop (docs/controller.md): one row per cycle, the loop's
 * shared state (paused, the run-time policy, hysteresis) and the leader's
 * identity. The singleton tables hold at most one row (id = 1). */
static const char *const v2[] = {
	"CREATE TABLE cycles ("
	"  id                  bigserial PRIMARY KEY,"
	"  started_at          timestamptz NOT NULL DEFAULT now(),"
	"  finished_at         timestamptz NOT NULL DEFAULT now(),"
	"  instance            text NOT NULL,"
	"  trigger             text NOT NULL CHECK (trigger IN ('timer',"
	"                      'manual')),"
	"  outcome             text NOT NULL CHECK (outcome IN ('idle', 'quiet',"
	"                      'paused', 'planned', 'budget_exhausted',"
	"                      'not_leader', 'error')),"
	"  reason              text NOT NULL DEFAULT '',"
	"  preset              text NOT NULL,"
	"  imbalance_before    double precision,"
	"  imbalance_projected double precision,"
	"  threshold           double precision,"
	"  target              double precision,"
	"  moves               bigint NOT NULL DEFAULT 0,"
	"  bytes               bigint NOT NULL DEFAULT 0,"
	"  cost                double precision NOT NULL DEFAULT 0,"
	"  min_bytes           bigint NOT NULL DEFAULT 0,"
	"  max_moves           bigint,"
	"  max_egress_bytes    bigint,"
	"  max_cost            double precision,"
	"  candidates          bigint NOT NULL DEFAULT 0,"
	"  unreachable         text[] NOT NULL DEFAULT '{}',"
	"  job                 uuid REFERENCES jobs (id))",
	"CREATE INDEX cycles_started ON cycles (started_at)",
	"CREATE TABLE controller_state ("
	"  id          integer PRIMARY KEY CHECK (id = 1),"
	"  paused      boolean NOT NULL DEFAULT false,"
	"  balancing   boolean NOT NULL DEFAULT false,"
	"  policy      jsonb,"	/* the run-time policy; NULL: the file's */
	"  quiet_paused uuid[] NOT NULL DEFAULT '{}',"
	"  access_folded_at timestamptz,"
	"  updated_by  text,"
	"  updated_at  timestamptz NOT NULL DEFAULT now())",
	"INSERT INTO controller_state (id) VALUES (1)",
	"CREATE TABLE controller_leader ("
	"  id          integer PRIMARY KEY CHECK (id = 1),"
	"  instance    text NOT NULL,"
	"  url         text NOT NULL,"
	"  since       timestamptz NOT NULL DEFAULT now())",
	NULL
};

/* The cycle's colocation count reads only objects with an affinity
 * (bench-cycle at 10M objects: 1.0 s to 0.5 ms). */
static const char *const v3[] = {
	"CREATE INDEX objects_copies_affinity ON objects USING gin (copies)"
	"  WHERE affinity IS NOT NULL",
	NULL
};

/* Decay at read time (docs/controller.md, "Reads"). A rate is stored with
 * the time it was last folded (reads_at) and read decayed up to the last
 * fold (controller_state.access_folded_at, with the half-life that fold
 * used), so that a fold writes only the objects that were read. Before, it
 * rewrote every row with a rate: a sequential scan of the whole table each
 * cycle (bench-cycle at 10M objects: 2.2 s). Read through
 * MIG_READS_PER_HOUR (schema.h).
 *
 * The function uses each argument that may be a subquery once, so that
 * PostgreSQL inlines it into a plain expression rather than calling it
 * per row. A stored rate is 0 or >= 0.001 (the fold and the import write
 * smaller ones as 0, and the rows already there are made so here), and
 * the exponent stops at -1000, so the product never underflows
 * (PostgreSQL raises an error on underflow). */
static const char *const v4[] = {
	"UPDATE objects SET reads_per_hour = 0 WHERE reads_per_hour > 0 AND "
	"  reads_per_hour < 0.001",
	"ALTER TABLE objects ADD COLUMN reads_at timestamptz NOT NULL "
	"  DEFAULT now()",
	"ALTER TABLE controller_state ADD COLUMN access_half_life_s "
	"  double precision CHECK (access_half_life_s > 0)",
	"CREATE FUNCTION objects_reads_decayed(r double precision, "
	"  at timestamptz, upto timestamptz, half_life_s double precision) "
	"  RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$"
	"  SELECT r * power(2::double precision, greatest(-1000, least(0, "
	"    date_part('epoch', at - coalesce(upto, at)) / "
	"    coalesce(half_life_s, 'infinity')))) $$",
	NULL
};

static const struct migration migrations[] = {
	{ 1, "nodes, objects, jobs, job_tasks, assignments, audit", v1 },
	{ 2, "cycles, controller_state, controller_leader", v2 },
	{ 3, "objects_copies_affinity", v3 },
	{ 4, "objects.reads_at: reads_per_hour decayed when read", v4 },
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int
mig_schema_latest(void)
{
	return migrations[NMIGRATIONS - 1].version;
}

int
mig_schema_version(PGconn *c, struct bl_err *err)
{
	PGresult *r;
	int v;

	r = bl_pg_exec(c, "SELECT coalesce(max(version), 0) FROM schema_version",
	    0, NULL, err);
	if (r == NULL)
		return -1;
	v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

static int
apply_one(PGconn *c, const struct migration *m, struct bl_err *err)
{
	char version[16];
	const char *params[2];

	if (bl_pg_run(c, "BEGIN", 0, NULL, err) < 0)
		return -1;
	for (int i = 0; m->statements[i]; i++) {
		if (bl_pg_run(c, m->statements[i], 0, NULL, err) < 0) {
			bl_err_wrap(err, "migration %d statement %d", m->version,
			    i);
			goto rollback;
		}
	}
	snprintf(version, sizeof(version), "%d", m->version);
	params[0] = version;
	params[1] = m->description;
	if (bl_pg_run(c, "INSERT INTO schema_version (version, description) "
	    "VALUES ($1, $2)", 2, params, err) < 0)
		goto rollback;
	return bl_pg_run(c, "COMMIT", 0, NULL, err);
rollback:
	bl_pg_run(c, "ROLLBACK", 0, NULL, NULL);
	return -1;
}

int
mig_schema_apply(PGconn *c, struct bl_err *err)
{
	const char *key[1] = { MIGRATE_LOCK_KEY };
	int current, rc = -1;

	if (bl_pg_run(c, "SELECT pg_advisory_lock($1::bigint)", 1, key, err) < 0)
		return -1;
	if (bl_pg_run(c, "CREATE TABLE IF NOT EXISTS schema_version ("
	    "  version     integer PRIMARY KEY,"
	    "  description text NOT NULL,"
	    "  applied_at  timestamptz NOT NULL DEFAULT now())", 0, NULL,
	    err) < 0)
		goto out;
	if ((current = mig_schema_version(c, err)) < 0)
		goto out;
	if (current > mig_schema_latest()) {
		bl_err_set(err, BL_EINVAL, "database schema version %d is newer "
		    "than this binary's %d; upgrade ballast", current,
		    mig_schema_latest());
		goto out;
	}
	for (int i = 0; i < NMIGRATIONS; i++) {
		if (migrations[i].version <= current)
			continue;
		if (apply_one(c, &migrations[i], err) < 0)
			goto out;
	}
	rc = 0;
out:
	bl_pg_run(c, "SELECT pg_advisory_unlock($1::bigint)", 1, key, NULL);
	return rc;
}
