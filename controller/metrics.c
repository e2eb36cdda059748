/* controller/metrics.c - ballastd's metrics (controller/metrics.h). */
#include "controller/metrics.h"
#include "controller/ctl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/metrics.h"
#include "lib/pg.h"
#include "migrate/engine.h"

struct ctl_metrics {
	struct bl_metrics	*reg;		/* owns */
	pthread_mutex_t		 scrape_mu;	/* one refresh at a time */

	/* Every family below borrows: the registry owns it. */
	/* HTTP */
	struct bl_metric	*http_requests, *http_duration;
	/* database-backed, refreshed at scrape time */
	struct bl_metric	*jobs, *job_tasks, *skipped, *bytes_moved;
	struct bl_metric	*backlog, *eta;
	struct bl_metric	*node_util, *node_used, *node_cap, *node_up;
	/* the control loop's */
	struct bl_metric	*imbalance, *threshold, *target;
	struct bl_metric	*cycles, *cycle_duration;
	struct bl_metric	*planned_moves, *planned_bytes, *planned_cost;
	struct bl_metric	*budget_used, *quiet, *paused, *leader;
	struct bl_metric	*reloads;
};

/* The window of the recent transfer rate behind ballast_eta_seconds (the
 * query says it too). */
#define RATE_WINDOW_S	600.0

static const char *const job_kinds[] = { "evacuate", "rebalance", "retry",
    NULL };
static const char *const job_states[] = { "init", "setup", "running",
    "paused", "complete", "failed", "cancelled", NULL };
/* The outcomes of the cycles table (docs/design.md section 4) and the
 * results of a config reload, with the words /v1/status uses. */
static const char *const cycle_outcomes[] = { "idle", "quiet", "paused",
    "planned", "budget_exhausted", "not_leader", "error" };
static const char *const reload_results[] = { "ok", "failed" };

static const char *const task_states[] = { "unprocessed", "assigned",
    "copied", "committed", "complete", "skipped", "failed", NULL };

struct ctl_metrics *
ctl_metrics_new(void)
{
	static const char *const l_http[] = { "route", "code", NULL };
	static const char *const l_route[] = { "route", NULL };
	static const char *const l_job[] = { "kind", "state", NULL };
	static const char *const l_state[] = { "state", NULL };
	static const char *const l_reason[] = { "reason", NULL };
	static const char *const l_node[] = { "node", "datacenter", "rack",
	    NULL };
	static const char *const l_outcome[] = { "outcome", NULL };
	static const char *const l_budget[] = { "budget", NULL };
	static const char *const l_result[] = { "result", NULL };
	struct ctl_metrics *m = calloc(1, sizeof(*m));
	struct bl_metrics *r;

	if (m == NULL || (m->reg = r = bl_metrics_new()) == NULL) {
		free(m);
		return NULL;
	}
	pthread_mutex_init(&m->scrape_mu, NULL);
	m->http_requests = bl_metrics_counter(r, "ballast_http_requests_total",
	    "HTTP requests answered, by route pattern and status code.",
	    l_http);
	m->http_duration = bl_metrics_histogram(r,
	    "ballast_http_request_duration_seconds",
	    "Time from the request line to the queued response, by route.",
	    l_route, bl_metrics_fast_seconds, bl_metrics_fast_seconds_len);
	m->jobs = bl_metrics_gauge(r, "ballast_jobs",
	    "Jobs by kind and state.", l_job);
	m->job_tasks = bl_metrics_gauge(r, "ballast_job_tasks",
	    "Tasks of the jobs not finished yet (init, setup, running, "
	    "paused), by state.", l_state);
	m->skipped = bl_metrics_counter(r, "ballast_tasks_skipped_total",
	    "Tasks skipped, by reason, over every job.", l_reason);
	m->bytes_moved = bl_metrics_counter(r, "ballast_bytes_moved_total",
	    "Bytes of the copies whose move was committed.", NULL);
	m->backlog = bl_metrics_gauge(r, "ballast_backlog_bytes",
	    "Bytes of the tasks of unfinished jobs still to copy.", NULL);
	m->eta = bl_metrics_gauge(r, "ballast_eta_seconds",
	    "Backlog divided by the bytes committed per second over the last "
	    "10 minutes; absent while work waits and nothing moved.", NULL);
	m->node_util = bl_metrics_gauge(r, "ballast_node_utilization_ratio",
	    "Used over capacity bytes of a node, as last reported by its "
	    "agent.", l_node);
	m->node_used = bl_metrics_gauge(r, "ballast_node_used_bytes",
	    "Bytes used on a node, as last reported by its agent.", l_node);
	m->node_cap = bl_metrics_gauge(r, "ballast_node_capacity_bytes",
	    "Capacity of a node in bytes.", l_node);
	m->node_up = bl_metrics_gauge(r, "ballast_node_up",
	    "1 if the node's agent answered the engine's last probe.",
	    l_node);
	m->imbalance = bl_metrics_gauge(r, "ballast_imbalance_ratio",
	    "The cluster's imbalance at the last control cycle.", NULL);
	m->threshold = bl_metrics_gauge(r, "ballast_imbalance_threshold_ratio",
	    "The policy's imbalance threshold: above it, a cycle plans.",
	    NULL);
	m->target = bl_metrics_gauge(r, "ballast_imbalance_target_ratio",
	    "The policy's imbalance target: a plan aims below it.", NULL);
	m->cycles = bl_metrics_counter(r, "ballast_cycles_total",
	    "Control cycles, by outcome.", l_outcome);
	m->cycle_duration = bl_metrics_histogram(r,
	    "ballast_cycle_duration_seconds", "Wall time of a control cycle.",
	    NULL, bl_metrics_slow_seconds, bl_metrics_slow_seconds_len);
	m->planned_moves = bl_metrics_counter(r, "ballast_planned_moves_total",
	    "Moves planned by control cycles.", NULL);
	m->planned_bytes = bl_metrics_counter(r, "ballast_planned_bytes_total",
	    "Bytes planned to move by control cycles.", NULL);
	m->planned_cost = bl_metrics_counter(r, "ballast_planned_cost_total",
	    "Cost of the moves planned by control cycles.", NULL);
	m->budget_used = bl_metrics_gauge(r, "ballast_budget_used_ratio",
	    "Share of each budget the last cycle's plan used.", l_budget);
	m->quiet = bl_metrics_gauge(r, "ballast_quiet_window_active",
	    "1 inside one of the policy's quiet-hours windows.", NULL);
	m->paused = bl_metrics_gauge(r, "ballast_controller_paused",
	    "1 while an operator paused the controller.", NULL);
	m->leader = bl_metrics_gauge(r, "ballast_leader",
	    "1 if this ballastd is the leader.", NULL);
	m->reloads = bl_metrics_counter(r, "ballast_config_reloads_total",
	    "Config reloads, by result.", l_result);
	if (m->http_requests == NULL || m->http_duration == NULL ||
	    m->jobs == NULL || m->job_tasks == NULL || m->skipped == NULL ||
	    m->bytes_moved == NULL || m->backlog == NULL || m->eta == NULL ||
	    m->node_util == NULL || m->node_used == NULL ||
	    m->node_cap == NULL || m->node_up == NULL ||
	    m->imbalance == NULL || m->threshold == NULL ||
	    m->target == NULL || m->cycles == NULL ||
	    m->cycle_duration == NULL || m->planned_moves == NULL ||
	    m->planned_bytes == NULL || m->planned_cost == NULL ||
	    m->budget_used == NULL || m->quiet == NULL || m->paused == NULL ||
	    m->leader == NULL || m->reloads == NULL) {
		ctl_metrics_free(m);
		return NULL;
	}
	/* Every series whose label values are known is there from start-up,
	 * at 0, so a panel of increase() shows 0 rather than nothing (the
	 * skip reasons are set at 0 at every scrape from the database). */
	for (size_t i = 0; i < sizeof(cycle_outcomes) / sizeof(*cycle_outcomes);
	    i++)
		bl_metric_add(m->cycles, &cycle_outcomes[i], 0);
	for (size_t i = 0; i < sizeof(reload_results) / sizeof(*reload_results);
	    i++)
		bl_metric_add(m->reloads, &reload_results[i], 0);
	return m;
}

void
ctl_metrics_free(struct ctl_metrics *m)
{
	if (m == NULL)
		return;
	bl_metrics_free(m->reg);
	pthread_mutex_destroy(&m->scrape_mu);
	free(m);
}

struct bl_metrics *
ctl_metrics_registry(struct ctl_metrics *m)
{
	return m->reg;
}

/* --- HTTP ----------------------------------------------------------------- */

/* The label is the route's pattern (controller/api.c's table), so a path
 * never adds a series. */
const char *
ctl_metrics_route(const char *path)
{
	return ctl_route_label(path);
}

void
ctl_metrics_http_observe(const struct bl_http_req *r, unsigned int status,
    double seconds, void *arg)
{
	struct ctl_metrics *m = arg;
	char code[16];
	const char *v[2];

	snprintf(code, sizeof(code), "%u", status);
	v[0] = ctl_metrics_route(bl_http_req_path(r));
	v[1] = code;
	bl_metric_add(m->http_requests, v, 1);
	bl_metric_observe(m->http_duration, v, seconds);
}

/* --- the database-backed families ----------------------------------------- */

static void
reset_db_families(struct ctl_metrics *m)
{
	bl_metric_reset(m->jobs);
	bl_metric_reset(m->job_tasks);
	bl_metric_reset(m->skipped);
	bl_metric_reset(m->bytes_moved);
	bl_metric_reset(m->backlog);
	bl_metric_reset(m->eta);
	bl_metric_reset(m->node_util);
	bl_metric_reset(m->node_used);
	bl_metric_reset(m->node_cap);
	bl_metric_reset(m->node_up);
}

static double
num(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col),
	    NULL);
}

static int
refresh_jobs(struct ctl_metrics *m, PGconn *db, struct bl_err *err)
{
	PGresult *r;

	if ((r = bl_pg_exec(db, "SELECT kind, state, count(*) FROM jobs "
	    "GROUP BY kind, state", 0, NULL, err)) == NULL)
		return -1;
	/* Every kind and state, so a panel shows 0 rather than nothing. */
	for (size_t k = 0; job_kinds[k] != NULL; k++)
		for (size_t s = 0; job_states[s] != NULL; s++) {
			const char *v[] = { job_kinds[k], job_states[s] };

			bl_metric_set(m->jobs, v, 0);
		}
	for (int i = 0; i < PQntuples(r); i++) {
		const char *v[] = { PQgetvalue(r, i, 0), PQgetvalue(r, i, 1) };

		bl_metric_set(m->jobs, v, num(r, i, 2));
	}
	PQclear(r);
	return 0;
}

static int
refresh_tasks(struct ctl_metrics *m, PGconn *db, struct bl_err *err)
{
	PGresult *r;

	if ((r = bl_pg_exec(db, "SELECT t.state, count(*) FROM job_tasks t "
	    "JOIN jobs j ON j.id = t.job WHERE j.state IN ('init', 'setup', "
	    "'running', 'paused') GROUP BY t.state", 0, NULL, err)) == NULL)
		return -1;
	for (size_t s = 0; task_states[s] != NULL; s++)
		bl_metric_set(m->job_tasks, &task_states[s], 0);
	for (int i = 0; i < PQntuples(r); i++) {
		const char *v[] = { PQgetvalue(r, i, 0) };

		bl_metric_set(m->job_tasks, v, num(r, i, 1));
	}
	PQclear(r);

	if ((r = bl_pg_exec(db, "SELECT coalesce(reason, 'unknown'), "
	    "count(*) FROM job_tasks WHERE state = 'skipped' GROUP BY 1", 0,
	    NULL, err)) == NULL)
		return -1;
	for (size_t s = 0; mig_skip_reasons[s] != NULL; s++)
		bl_metric_set(m->skipped, &mig_skip_reasons[s], 0);
	for (int i = 0; i < PQntuples(r); i++) {
		const char *v[] = { PQgetvalue(r, i, 0) };

		bl_metric_set(m->skipped, v, num(r, i, 1));
	}
	PQclear(r);
	return 0;
}

static int
refresh_bytes(struct ctl_metrics *m, PGconn *db, struct bl_err *err)
{
	PGresult *r;
	double moved, recent, backlog;

	if ((r = bl_pg_exec(db, "SELECT"
	    " (SELECT coalesce(sum(size), 0) FROM job_tasks"
	    "   WHERE committed_at IS NOT NULL),"
	    " (SELECT coalesce(sum(size), 0) FROM job_tasks"
	    "   WHERE committed_at > now() - interval '600 seconds'),"
	    " (SELECT coalesce(sum(t.size), 0) FROM job_tasks t"
	    "   JOIN jobs j ON j.id = t.job"
	    "   WHERE t.state IN ('unprocessed', 'assigned')"
	    "   AND j.state IN ('init', 'setup', 'running', 'paused'))", 0,
	    NULL, err)) == NULL)
		return -1;
	moved = num(r, 0, 0);
	recent = num(r, 0, 1);
	backlog = num(r, 0, 2);
	PQclear(r);
	bl_metric_set(m->bytes_moved, NULL, moved);
	bl_metric_set(m->backlog, NULL, backlog);
	if (backlog == 0)
		bl_metric_set(m->eta, NULL, 0);
	else if (recent > 0)
		bl_metric_set(m->eta, NULL, backlog / (recent / RATE_WINDOW_S));
	return 0;
}

static int
refresh_nodes(struct ctl_metrics *m, PGconn *db, struct bl_err *err)
{
	PGresult *r;

	if ((r = bl_pg_exec(db, "SELECT id, datacenter, rack, capacity_bytes,"
	    " used_bytes, reachable FROM nodes ORDER BY datacenter, rack, id",
	    0, NULL, err)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *v[] = { PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
		    PQgetvalue(r, i, 2) };
		double cap = num(r, i, 3), used = num(r, i, 4);

		bl_metric_set(m->node_cap, v, cap);
		bl_metric_set(m->node_used, v, used);
		if (cap > 0)
			bl_metric_set(m->node_util, v, used / cap);
		bl_metric_set(m->node_up, v,
		    strcmp(PQgetvalue(r, i, 5), "t") == 0);
	}
	PQclear(r);
	return 0;
}

char *
ctl_metrics_scrape(struct ctl_metrics *m, PGconn *db, size_t *len,
    struct bl_err *err)
{
	struct bl_err dberr;
	char *text;

	pthread_mutex_lock(&m->scrape_mu);
	reset_db_families(m);
	/* A database error leaves its families out: better absent (and an
	 * alert on absent()) than stale. The rest is still served. */
	if (db != NULL && (refresh_jobs(m, db, &dberr) == -1 ||
	    refresh_tasks(m, db, &dberr) == -1 ||
	    refresh_bytes(m, db, &dberr) == -1 ||
	    refresh_nodes(m, db, &dberr) == -1))
		reset_db_families(m);
	text = bl_metrics_render(m->reg, len);
	pthread_mutex_unlock(&m->scrape_mu);
	if (text == NULL)
		bl_err_set(err, BL_ENOMEM, "metrics: out of memory");
	return text;
}

/* --- the control loop's ------------------------------------------------- */

void
ctl_metrics_cycle(struct ctl_metrics *m, const struct ctl_metrics_cycle *c)
{
	const char *outcome[] = { c->outcome ? c->outcome : "unknown" };

	bl_metric_add(m->cycles, outcome, 1);
	bl_metric_observe(m->cycle_duration, NULL, c->duration_s);
	bl_metric_add(m->planned_moves, NULL, (double)c->planned_moves);
	bl_metric_add(m->planned_bytes, NULL, (double)c->planned_bytes);
	bl_metric_add(m->planned_cost, NULL, c->planned_cost);
	bl_metric_set(m->quiet, NULL, c->quiet_hours != 0);
	bl_metric_set(m->paused, NULL, c->paused != 0);
	if (!c->measured)
		return;
	bl_metric_set(m->imbalance, NULL, c->imbalance);
	bl_metric_set(m->threshold, NULL, c->threshold);
	bl_metric_set(m->target, NULL, c->target);
	for (size_t i = 0; i < c->nbudgets; i++)
		bl_metric_set(m->budget_used, &c->budgets[i].name,
		    c->budgets[i].used_ratio);
}

void
ctl_metrics_set_leader(struct ctl_metrics *m, int leader)
{
	bl_metric_set(m->leader, NULL, leader != 0);
}

void
ctl_metrics_set_paused(struct ctl_metrics *m, int paused)
{
	bl_metric_set(m->paused, NULL, paused != 0);
}

void
ctl_metrics_config_reload(struct ctl_metrics *m, int ok)
{
	const char *v[] = { reload_results[ok ? 0 : 1] };

	bl_metric_add(m->reloads, v, 1);
}
