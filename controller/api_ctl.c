/* controller/api_ctl.c - the control loop's API (docs/api.md): status,
 * cluster, plan preview, policy, cycles, placement, pause and resume.
 *
 * Each function runs on an API worker with the worker's connection and
 * returns the answer's JSON (a new reference), or NULL with err set.
 */
#include "controller/ctl.h"
#include "controller/metrics.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/pg.h"
#include "lib/tz.h"
#include "placement/crush.h"

static json_t *
num_or_null(PGresult *r, int i, int k)
{
	return PQgetisnull(r, i, k) ? json_null() :
	    json_real(strtod(PQgetvalue(r, i, k), NULL));
}

static json_t *
cycle_row(PGresult *r, int i)
{
	json_t *un = json_loads(PQgetvalue(r, i, 17), 0, NULL);

	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,"
	    "s:I,s:I,s:f,s:I,s:I,s:o,s:o}",
	    "id", (json_int_t)strtoll(PQgetvalue(r, i, 0), NULL, 10),
	    "started_at", PQgetvalue(r, i, 1),
	    "finished_at", PQgetvalue(r, i, 2),
	    "instance", PQgetvalue(r, i, 3),
	    "trigger", PQgetvalue(r, i, 4),
	    "outcome", PQgetvalue(r, i, 5),
	    "reason", PQgetvalue(r, i, 6),
	    "preset", PQgetvalue(r, i, 7),
	    "imbalance_before", num_or_null(r, i, 8),
	    "imbalance_projected", num_or_null(r, i, 9),
	    "threshold", num_or_null(r, i, 10),
	    "target", num_or_null(r, i, 11),
	    "moves", (json_int_t)strtoll(PQgetvalue(r, i, 12), NULL, 10),
	    "bytes", (json_int_t)strtoll(PQgetvalue(r, i, 13), NULL, 10),
	    "cost", strtod(PQgetvalue(r, i, 14), NULL),
	    "min_bytes", (json_int_t)strtoll(PQgetvalue(r, i, 15), NULL, 10),
	    "candidates", (json_int_t)strtoll(PQgetvalue(r, i, 18), NULL, 10),
	    "job", PQgetisnull(r, i, 16) ? json_null() :
	    json_string(PQgetvalue(r, i, 16)),
	    "unreachable", un ? un : json_array());
}

#define CYCLE_COLS "id, to_char(started_at AT TIME ZONE 'UTC', "	\
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), to_char(finished_at AT TIME "	\
	"ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), instance, "	\
	"trigger, outcome, reason, preset, imbalance_before, "		\
	"imbalance_projected, threshold, target, moves, bytes, cost, "	\
	"min_bytes, job, array_to_json(unreachable), candidates"

json_t *
ctl_api_cycles(PGconn *db, long limit, long offset, struct bl_err *err)
{
	char l[32], o[32];
	const char *p[2] = { l, o };
	PGresult *r;
	json_t *arr, *j;

	snprintf(l, sizeof(l), "%ld", limit);
	snprintf(o, sizeof(o), "%ld", offset);
	if ((r = bl_pg_exec(db, "SELECT " CYCLE_COLS " FROM cycles ORDER BY "
	    "id DESC LIMIT $1 OFFSET $2", 2, p, err)) == NULL)
		return NULL;
	arr = json_array();
	for (int i = 0; i < PQntuples(r); i++)
		json_array_append_new(arr, cycle_row(r, i));
	PQclear(r);
	if ((r = bl_pg_exec(db, "SELECT count(*) FROM cycles", 0, NULL,
	    err)) == NULL) {
		json_decref(arr);
		return NULL;
	}
	j = json_pack("{s:o,s:I,s:i,s:i}", "cycles", arr, "total",
	    (json_int_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10), "limit",
	    (int)limit, "offset", (int)offset);
	PQclear(r);
	return j;
}

/* mode and leader (the leader's row when this instance follows). */
static int
status_leader(struct ctl *c, PGconn *db, json_t *j, struct bl_err *err)
{
	struct ctl_leader v;
	PGresult *r;
	char next[64] = "";

	ctl_leader_get(c, &v);
	if ((r = bl_pg_exec(db, "SELECT paused, (SELECT instance FROM "
	    "controller_leader WHERE id = 1), (SELECT url FROM "
	    "controller_leader WHERE id = 1) FROM controller_state WHERE id = "
	    "1", 0, NULL, err)) == NULL)
		return -1;
	json_object_set_new(j, "mode", json_string(PQntuples(r) == 1 &&
	    PQgetvalue(r, 0, 0)[0] == 't' ? "paused" : "auto"));
	json_object_set_new(j, "leader", json_pack("{s:b,s:s,s:s}", "self",
	    v.leader, "instance", v.leader ? c->instance : PQntuples(r) ?
	    PQgetvalue(r, 0, 1) : "", "url", v.leader ?
	    c->cfg->advertise_url : PQntuples(r) ? PQgetvalue(r, 0, 2) : ""));
	PQclear(r);
	if (v.leader && v.next_cycle > 0) {
		time_t t = (time_t)v.next_cycle;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(next, sizeof(next), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	json_object_set_new(j, "next_cycle", next[0] ? json_string(next) :
	    json_null());
	return 0;
}

/* The last cycle that ran, its imbalance, and the unfinished jobs. */
static int
status_work(PGconn *db, json_t *j, struct bl_err *err)
{
	json_t *last = json_null(), *jobs;
	PGresult *r;

	if ((r = bl_pg_exec(db, "SELECT " CYCLE_COLS " FROM cycles WHERE "
	    "outcome <> 'not_leader' ORDER BY id DESC LIMIT 1", 0, NULL,
	    err)) == NULL)
		return -1;
	if (PQntuples(r) == 1)
		last = cycle_row(r, 0);
	PQclear(r);
	json_object_set_new(j, "imbalance", json_is_object(last) ?
	    json_deep_copy(json_object_get(last, "imbalance_before")) :
	    json_null());
	json_object_set_new(j, "last_cycle", last);
	if ((r = bl_pg_exec(db, "SELECT id, kind, origin, state FROM jobs "
	    "WHERE state IN ('init', 'setup', 'running', 'paused') ORDER BY "
	    "created_at", 0, NULL, err)) == NULL)
		return -1;
	jobs = json_array();
	for (int i = 0; i < PQntuples(r); i++)
		json_array_append_new(jobs, json_pack("{s:s,s:s,s:s,s:s}",
		    "id", PQgetvalue(r, i, 0), "kind", PQgetvalue(r, i, 1),
		    "origin", PQgetvalue(r, i, 2), "state", PQgetvalue(r, i,
		    3)));
	PQclear(r);
	json_object_set_new(j, "running_jobs", jobs);
	return 0;
}

json_t *
ctl_api_status(struct ctl *c, PGconn *db, struct bl_err *err)
{
	struct pol_tz tz = { bl_tz_localtime, NULL };
	struct pol_policy pol;
	struct bl_err qerr;
	json_t *j;
	int quiet = 0, eon, edb = 0, ecm = 0;

	if (ctl_policy_effective(c, db, &pol, NULL, err) == -1)
		return NULL;
	if (pol_quiet_at(&pol, time(NULL), &tz, &quiet, &qerr) == -1)
		quiet = 0;
	j = json_object();
	json_object_set_new(j, "version", json_string(CTL_VERSION));
	json_object_set_new(j, "database", json_true());
	json_object_set_new(j, "instance", json_string(c->instance));
	if (status_leader(c, db, j, err) == -1) {
		json_decref(j);
		return NULL;
	}
	json_object_set_new(j, "preset", json_string(pol_preset_name(
	    pol.preset)));
	json_object_set_new(j, "check_interval_s", json_integer(
	    pol.check_interval_s));
	json_object_set_new(j, "threshold", json_real(
	    pol.imbalance_threshold));
	json_object_set_new(j, "target", json_real(pol.target_imbalance));
	json_object_set_new(j, "quiet_now", json_boolean(quiet));
	if (status_work(db, j, err) == -1) {
		json_decref(j);
		return NULL;
	}
	eon = ctl_engine_info(c, &edb, &ecm);
	json_object_set_new(j, "engine", json_boolean(eon));
	json_object_set_new(j, "engine_database", json_boolean(edb));
	/* What the operator set (set_metadata_threads, else the config), at
	 * once; the pool the engine runs resizes to it at its next tick. */
	json_object_set_new(j, "metadata_threads", json_integer(
	    mig_setting_get(db, "metadata_threads", c->cfg->metadata_threads,
	    err)));
	json_object_set_new(j, "metadata_threads_active", json_integer(ecm));
	json_object_set_new(j, "reloads", json_pack("{s:I,s:I}", "ok",
	    (json_int_t)c->reloads_ok, "failed",
	    (json_int_t)c->reloads_failed));
	return j;
}

json_t *
ctl_api_cluster(PGconn *db, struct bl_err *err)
{
	PGresult *r;
	json_t *arr;

	if ((r = bl_pg_exec(db, "SELECT id, region, datacenter, rack, host, "
	    "agent_url, state, reachable, capacity_bytes, used_bytes, "
	    "CASE WHEN capacity_bytes > 0 THEN used_bytes::float8 / "
	    "capacity_bytes ELSE 0 END, to_char(last_seen AT TIME ZONE 'UTC',"
	    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM nodes ORDER BY id", 0,
	    NULL, err)) == NULL)
		return NULL;
	arr = json_array();
	for (int i = 0; i < PQntuples(r); i++)
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,"
		    "s:s,s:b,s:I,s:I,s:f,s:o}",
		    "id", PQgetvalue(r, i, 0), "region", PQgetvalue(r, i, 1),
		    "datacenter", PQgetvalue(r, i, 2), "rack",
		    PQgetvalue(r, i, 3), "host", PQgetvalue(r, i, 4),
		    "agent_url", PQgetvalue(r, i, 5), "state",
		    PQgetvalue(r, i, 6), "reachable",
		    PQgetvalue(r, i, 7)[0] == 't', "capacity_bytes",
		    (json_int_t)strtoll(PQgetvalue(r, i, 8), NULL, 10),
		    "used_bytes", (json_int_t)strtoll(PQgetvalue(r, i, 9),
		    NULL, 10), "utilization", strtod(PQgetvalue(r, i, 10),
		    NULL), "last_seen", PQgetisnull(r, i, 11) ? json_null() :
		    json_string(PQgetvalue(r, i, 11))));
	PQclear(r);
	return json_pack("{s:o}", "nodes", arr);
}

json_t *
ctl_api_plan(struct ctl *c, PGconn *db, int preset, struct bl_err *err)
{
	struct pol_tz tz = { bl_tz_localtime, NULL };
	struct pol_policy pol;
	struct ctl_planned pl;
	struct bl_err qerr;
	json_t *j;
	int quiet = 0;

	if (ctl_policy_effective(c, db, &pol, NULL, err) == -1)
		return NULL;
	if (preset >= 0)
		pol_preset_apply(&pol, preset);
	if (pol_quiet_at(&pol, time(NULL), &tz, &quiet, &qerr) == -1)
		quiet = 0;
	if (ctl_plan_build(db, &pol, quiet, 0, c->max_candidates, &pl, err) ==
	    -1) {
		ctl_planned_release(&pl);
		return NULL;
	}
	j = ctl_plan_json(&pl);
	ctl_planned_release(&pl);
	return j;
}

json_t *
ctl_api_policy_get(struct ctl *c, PGconn *db, struct bl_err *err)
{
	struct pol_policy pol;
	json_t *doc = NULL, *j;
	PGresult *r;

	if (ctl_policy_effective(c, db, &pol, &doc, err) == -1)
		return NULL;
	if ((r = bl_pg_exec(db, "SELECT policy IS NOT NULL, coalesce("
	    "updated_by, '') FROM controller_state WHERE id = 1", 0, NULL,
	    err)) == NULL) {
		json_decref(doc);
		return NULL;
	}
	j = json_pack("{s:s,s:o,s:{s:I,s:f,s:f,s:I,s:o,s:o,s:b}}",
	    "source", PQntuples(r) && PQgetvalue(r, 0, 0)[0] == 't' ?
	    "runtime" : "file", "policy", doc ? doc : json_object(),
	    "effective", "check_interval_s", (json_int_t)pol.check_interval_s,
	    "imbalance_threshold", pol.imbalance_threshold,
	    "target_imbalance", pol.target_imbalance,
	    "max_concurrent_migrations",
	    (json_int_t)pol.max_concurrent_migrations,
	    "max_moves_per_cycle", pol.max_moves_per_cycle < 0 ? json_null() :
	    json_integer(pol.max_moves_per_cycle),
	    "max_egress_bytes_per_cycle", pol.max_egress_bytes_per_cycle < 0 ?
	    json_null() : json_integer(pol.max_egress_bytes_per_cycle),
	    "quiet_hours_pause_inflight", pol.quiet_hours_pause_inflight);
	json_object_set_new(json_object_get(j, "effective"), "preset",
	    json_string(pol_preset_name(pol.preset)));
	/* The anti-thrash keys (docs/policy.md). */
	json_object_update_missing_new(json_object_get(j, "effective"),
	    json_pack("{s:I,s:I,s:I}", "min_residency_s",
	    (json_int_t)pol.min_residency_s, "node_cooldown_s",
	    (json_int_t)pol.node_cooldown_s, "large_batch_bytes",
	    (json_int_t)pol.large_batch_bytes));
	PQclear(r);
	return j;
}

/* PUT /v1/policy: with "preset", the body replaces the run-time policy
 * (that preset plus the given fields); without, its fields override the
 * policy in force. body NULL: DELETE, back to the file's policy. */
json_t *
ctl_api_policy_put(struct ctl *c, PGconn *db, json_t *body, const char *who,
    long long *interval, struct bl_err *err)
{
	struct pol_policy pol;
	json_t *doc = NULL;
	char *text = NULL;
	const char *p[3];
	int rc = -1;

	if (body != NULL) {
		if (json_object_get(body, "preset") == NULL &&
		    ctl_policy_effective(c, db, &pol, &doc, err) == -1)
			return NULL;
		if ((text = mig_body_policy(body, doc, &pol, err)) == NULL)
			goto out;
	}
	p[0] = text;
	p[1] = who;
	p[2] = text ? text : "{\"reset\":true}";
	if (bl_pg_run(db, "BEGIN", 0, NULL, err) == -1)
		goto out;
	if (bl_pg_run(db, "UPDATE controller_state SET policy = $1::jsonb, "
	    "updated_by = $2, updated_at = now() WHERE id = 1", 2, p,
	    err) == -1 || bl_pg_run(db, "INSERT INTO audit (who, action, "
	    "target, detail) VALUES ($1, 'policy_set', 'policy', $2::jsonb)",
	    2, p + 1, err) == -1 || bl_pg_run(db, "COMMIT", 0, NULL, err) ==
	    -1) {
		bl_pg_run(db, "ROLLBACK", 0, NULL, NULL);
		goto out;
	}
	rc = 0;
out:
	json_decref(doc);
	free(text);
	if (rc == -1)
		return NULL;
	{
		json_t *j = ctl_api_policy_get(c, db, err);

		if (j != NULL)
			*interval = json_integer_value(json_object_get(
			    json_object_get(j, "effective"),
			    "check_interval_s"));
		return j;
	}
}

json_t *
ctl_api_pause(struct ctl *c, PGconn *db, int pause, const char *who,
    struct bl_err *err)
{
	const char *p[2] = { pause ? "t" : "f", who };

	if (bl_pg_run(db, "BEGIN", 0, NULL, err) == -1)
		return NULL;
	if (bl_pg_run(db, "UPDATE controller_state SET paused = $1, "
	    "updated_by = $2, updated_at = now() WHERE id = 1", 2, p,
	    err) == -1 || bl_pg_run(db, "INSERT INTO audit (who, action, "
	    "target) VALUES ($2::text, CASE WHEN $1::boolean THEN "
	    "'controller_pause' ELSE 'controller_resume' END, 'controller')",
	    2, p, err) == -1 || bl_pg_run(db, "COMMIT", 0, NULL, err) == -1) {
		bl_pg_run(db, "ROLLBACK", 0, NULL, NULL);
		return NULL;
	}
	ctl_metrics_set_paused(c->metrics, pause);
	return json_pack("{s:s}", "mode", pause ? "paused" : "auto");
}

/* Where a new object should go: CRUSH over the eligible nodes (state in,
 * reachable, under max_fill), by the policy's failure domain. */
json_t *
ctl_api_placement(struct ctl *c, PGconn *db, const char *object,
    int copies, struct bl_err *err)
{
	struct pol_policy pol;
	struct ctl_planned pl;
	struct plc_crush *cr = NULL;
	json_t *j = NULL, *arr;
	void *scratch = NULL;
	char rule[32];
	int out[PLC_COPIES_MAX], n, rid, eligible = 0;
	uint64_t key;

	memset(&pl, 0, sizeof(pl));
	if (ctl_policy_effective(c, db, &pol, NULL, err) == -1)
		return NULL;
	/* A plan-less build: the map with open moves counted. */
	if (ctl_plan_build(db, &pol, 1, 0, 1000, &pl, err) == -1)
		goto out;
	for (size_t i = 0; i < pl.cl->n; i++) {
		struct plc_node *nd = &pl.cl->nodes[i];

		if (nd->state == PLC_NODE_IN && (!nd->reachable ||
		    nd->capacity_bytes == 0 || (double)nd->used_bytes /
		    (double)nd->capacity_bytes >= pol.max_fill))
			nd->state = PLC_NODE_OUT;
		eligible += nd->state == PLC_NODE_IN;
	}
	if (eligible < copies) {
		bl_err_set(err, BL_ECONFLICT, "placement: %d eligible nodes, "
		    "%d copies asked", eligible, copies);
		goto out;
	}
	if ((cr = plc_crush_from_cluster(pl.cl, err)) == NULL)
		goto out;
	snprintf(rule, sizeof(rule), "ballast_%s", plc_domain_name(
	    (pol.set & POL_SET_FAILURE_DOMAIN) ? pol.failure_domain :
	    PLC_DOMAIN_HOST));
	if ((rid = plc_crush_find_rule(cr, rule)) < 0) {
		bl_err_set(err, BL_EIO, "placement: no rule %s", rule);
		goto out;
	}
	if ((scratch = malloc(plc_crush_scratch_size(cr, copies))) == NULL) {
		bl_err_set(err, BL_ENOMEM, "out of memory");
		goto out;
	}
	plc_crush_scratch_init(cr, copies, scratch);
	key = plc_object_key(object, strlen(object));
	n = plc_crush_do_rule(cr, rid, (uint32_t)(key ^ (key >> 32)), out,
	    copies, NULL, 0, scratch);
	arr = json_array();
	for (int i = 0; i < n; i++)
		if (out[i] >= 0 && (size_t)out[i] < pl.cl->n)
			json_array_append_new(arr, json_pack("{s:s,s:s}",
			    "node", pl.cl->nodes[out[i]].id, "datacenter",
			    pl.cl->nodes[out[i]].datacenter));
	j = json_pack("{s:s,s:i,s:s,s:o}", "object", object, "copies", copies,
	    "rule", rule, "nodes", arr);
out:
	free(scratch);
	plc_crush_free(cr);
	ctl_planned_release(&pl);
	return j;
}
