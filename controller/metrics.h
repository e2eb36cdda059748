/* controller/metrics.h - ballastd's Prometheus metrics (GET /metrics).
 *
 * Three kinds of values, all real:
 *  - read from PostgreSQL at scrape time, on an API worker (never on the
 *    loop): jobs, tasks, skips, bytes moved, backlog, ETA and the nodes;
 *  - counted as things happen: HTTP requests (ctl_metrics_http_observe,
 *    the server's observe hook, on the loop) and metadata commits
 *    (migrate/commit.c, through mig_engine_opts.metrics);
 *  - reported by the control loop (controller/ loop, issue 6) through the
 *    ctl_metrics_cycle/leader/paused/config_reload calls below.
 *
 * Names follow issue 7's list but for one: its "ballast_quiet_hours_active"
 * fails `promtool check metrics` ("hours" is not a base unit), so the
 * quiet-hours state is ballast_quiet_window_active (1 inside a window).
 *
 * A family is exposed only once it has a value: until the control loop
 * calls ctl_metrics_cycle() there is no ballast_imbalance_ratio at all,
 * rather than a made-up 0. Every call here is thread-safe.
 */
#ifndef CTL_METRICS_H
#define CTL_METRICS_H

#include <stddef.h>

#include <libpq-fe.h>

#include "lib/err.h"
#include "lib/http_server.h"

struct ctl_metrics;
struct bl_metrics;

struct ctl_metrics *ctl_metrics_new(void);
void	ctl_metrics_free(struct ctl_metrics *m);	/* NULL: no-op */
/* The registry, for other modules' instrumentation (the job engine's
 * mig_engine_opts.metrics). Lives as long as m. */
struct bl_metrics *ctl_metrics_registry(struct ctl_metrics *m);

/* The route pattern a request is counted under ("/v1/jobs/{id}"): ids are
 * never labels. Unknown paths count as "other". The patterns are the API's
 * route table (controller/routes.c). Returns a static string. */
const char *ctl_metrics_route(const char *path);
/* bl_http_observe_fn: counts ballast_http_requests_total{route,code} and
 * ballast_http_request_duration_seconds{route}. arg: struct ctl_metrics. */
void	ctl_metrics_http_observe(const struct bl_http_req *r,
	    unsigned int status, double seconds, void *arg);

/* On an API worker: refreshes the database-backed families from db (NULL
 * when the database is down: they are then left out, not shown stale) and
 * renders everything. Returns the text (caller frees) and its length, or
 * NULL with err set. */
char	*ctl_metrics_scrape(struct ctl_metrics *m, PGconn *db, size_t *len,
	    struct bl_err *err);

/* --- for the control loop (issue 6) ---------------------------------------
 * Called by the loop engine after every cycle, whatever its outcome. */
struct ctl_metrics_budget {
	const char	*name;		/* borrows: "bytes", "moves", "cost" */
	double		 used_ratio;	/* used / limit, 0..1 (or more) */
};

struct ctl_metrics_cycle {
	const char	*outcome;	/* borrows: the cycles table's
					   outcome (DESIGN 4): "idle",
					   "quiet", "paused", "planned",
					   "budget_exhausted",
					   "not_leader", "error" */
	double		 duration_s;	/* wall time of the cycle */
	double		 imbalance;	/* ratio, as in /v1/status */
	double		 threshold;	/* policy's, ratio */
	double		 target;	/* policy's, ratio */
	long long	 planned_moves;	/* this cycle's plan */
	long long	 planned_bytes;
	double		 planned_cost;
	const struct ctl_metrics_budget *budgets;	/* borrows */
	size_t		 nbudgets;
	int		 quiet_hours;	/* 1 inside quiet hours */
	int		 paused;	/* 1 when the operator paused */
	int		 measured;	/* 0: imbalance etc. unknown (the
					   cycle failed before measuring);
					   only the outcome and duration
					   are recorded */
};

/* Counts ballast_cycles_total{outcome}, observes
 * ballast_cycle_duration_seconds, adds to ballast_planned_{moves,bytes,
 * cost}_total and sets ballast_imbalance_{ratio,threshold_ratio,
 * target_ratio}, ballast_budget_used_ratio{budget},
 * ballast_quiet_window_active and ballast_controller_paused. */
void	ctl_metrics_cycle(struct ctl_metrics *m,
	    const struct ctl_metrics_cycle *c);
/* ballast_leader: called by leader election on every change (and once at
 * start-up with the initial state). */
void	ctl_metrics_set_leader(struct ctl_metrics *m, int leader);
/* ballast_controller_paused: called by pause/resume at once, so the
 * dashboard does not wait for the next cycle. */
void	ctl_metrics_set_paused(struct ctl_metrics *m, int paused);
/* ballast_config_reloads_total{result="success"|"failure"}: called by the
 * SIGHUP / reload path once per attempt. */
void	ctl_metrics_config_reload(struct ctl_metrics *m, int ok);

#endif
