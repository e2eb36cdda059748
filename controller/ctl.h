/* controller/ctl.h - ballastd's internal interfaces (private to
 * controller/).
 *
 * http_threads "fronts" (default 4) serve the HTTP API: front 0 on the
 * main libev loop (which also has the signals and the cycle schedule),
 * the others each on a loop and thread of their own, all listening on one
 * address (SO_REUSEPORT), so a busy machine cannot starve the API by
 * starving one thread. Database work for a request runs on a pool of API worker
 * threads, each with its own connection; the handler suspends the request
 * and a worker hands the answer back to the request's front through an
 * ev_async. The job engine runs on its own thread (migrate/engine.h).
 * struct ctl is passed explicitly; only signal flags are global.
 */
#ifndef CTL_CTL_H
#define CTL_CTL_H

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#include <ev.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "lib/config.h"
#include "lib/err.h"
#include "lib/http_server.h"
#include "migrate/engine.h"
#include "placement/planner.h"
#include "policy/policy.h"

#define CTL_VERSION "0.1.0"

struct ctl_token {
	char	*name;		/* owns */
	char	*token;		/* owns: the secret bearer token */
	size_t	 len;
	int	 operator;	/* 1: operator, 0: viewer */
};

struct ctl_config {
	char		*listen;	/* owns */
	char		*database;	/* owns: libpq conninfo */
	char		*secret_file;	/* owns */
	char		*log_level;	/* owns */
	char		*advertise_url;	/* owns: how followers name us */
	char		*instance;	/* owns: this process's name */
	char		*tls_cert_file;	/* owns: NULL: plain http */
	char		*tls_key_file;	/* owns */
	char		*agent_tls_ca_file; /* owns: NULL: system CAs */
	long long	 access_half_life_s;
	long long	 max_candidates;
	long long	 agent_poll_timeout_ms;
	long long	 leader_check_ms;
	long long	 max_body;
	long long	 api_workers;
	long long	 http_threads;
	long long	 max_tasks_per_assignment;
	long long	 max_assignment_age_s;
	long long	 metadata_threads;
	long long	 max_inflight_per_node;
	long long	 agent_timeout_s;
	long long	 poll_interval_ms;
	long long	 source_delete_grace_s;
	int		 evacuate_deletes_source;
	int		 metrics_auth;	/* GET /metrics needs a token */
	struct ctl_token *tokens;	/* owns */
	size_t		 ntokens;
	struct pol_policy policy;
	char		*policy_text;	/* owns: as given, for --print-config */
};

extern const struct bl_cfg_opt ctl_config_table[];
extern const size_t ctl_config_table_len;

/* Loads path into cfg (whose table c was initialised with it). Unknown
 * keys fail with their path. 0 or -1. */
int	ctl_config_load(struct bl_cfg *c, struct ctl_config *cfg,
	    const char *path, struct bl_err *err);
void	ctl_config_release(struct bl_cfg *c, struct ctl_config *cfg);
void	ctl_config_print(const struct bl_cfg *c, const struct ctl_config *cfg,
	    FILE *f);
/* Prints the Markdown reference of every key (docs/config.md). */
void	ctl_config_print_reference(FILE *f);

struct ctl_call;
struct ctl_metrics;
struct ctl_text;
struct ctl_loop;

/* A cycle's result, for the loop's log and status. */
struct ctl_cycle_result {
	char		outcome[24];
	double		imbalance;
	long long	moves;
	long long	interval_s;	/* of the policy in force */
	int		job_created;
};

/* A plan built from the database (cycle.c). */
struct ctl_planned {
	struct plc_cluster	*cl;		/* owns */
	struct plc_plan		 plan;		/* owns when has_plan */
	int			 has_plan;
	char			*ids;		/* owns: n ids, 37 bytes each */
	size_t			 n;		/* candidates streamed */
	int			 truncated;	/* max_candidates reached */
};

/* Who leads, as this process last saw it. */
struct ctl_leader {
	int		leader;		/* 1: this process */
	char		instance[128];	/* the leader's; "" unknown */
	char		url[256];
	double		next_cycle;	/* wall time; 0 unknown */
	double		last_imbalance;	/* -1 unknown */
};

/* One HTTP server and the loop that drives it. */
struct ctl_front {
	struct ctl		*ctl;		/* borrows */
	struct ev_loop		*loop;		/* owns, except front 0's */
	struct bl_http_server	*http;		/* owns */
	ev_async		 done_async;	/* workers -> this loop */
	ev_async		 stop_async;	/* main -> this loop */
	struct ctl_call		*done;		/* owns; under ctl->mu */
	pthread_t		 th;		/* fronts 1.. */
	int			 running;	/* th was started */
};

struct ctl {
	struct ev_loop		*loop;		/* borrows: the main loop */
	struct ctl_config	*cfg;		/* borrows */
	const char		*file;		/* borrows: argv */
	struct ctl_front	*fronts;	/* owns: http_threads of them */
	int			 nfronts;
	struct ctl_metrics	*metrics;	/* owns (controller/metrics.h) */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct ctl_call		*queue, **queue_tail;	/* owns; under mu */
	int			 stopping;	/* under mu */
	double			 db_retry_at;	/* under mu: after a failed
						   connect, 503 at once until
						   this monotonic time */
	pthread_t		*workers;	/* owns */
	int			 nworkers;
	const char		*instance;	/* borrows cfg */
	long long		 max_candidates;
	struct mig_engine_opts	 eo;		/* conninfo, secret: borrow */
	char			*secret;	/* owns */
	size_t			 secret_len;
	struct ctl_loop		*lp;		/* owns: the control loop */
	/* Config reloads (SIGHUP, SIGUSR1), for metrics. */
	_Atomic unsigned long	 reloads_ok;
	_Atomic unsigned long	 reloads_failed;
	/* cfg->tokens: read by every front, swapped by a reload. */
	pthread_rwlock_t	 tokens_lock;
	/* GET /v1/status's last answer, served again for CTL_STATUS_TTL_S
	 * (NULL: none). Any write drops it. All under smu. */
	pthread_mutex_t		 smu;
	struct ctl_text		*status;	/* owns a reference */
	double			 status_at;	/* monotonic s of the answer */
	unsigned long		 writes;	/* writes submitted, ever */
	int			 status_refreshing; /* a call is queued */
};

/* How long a GET /v1/status answer is reused (seconds). */
#define CTL_STATUS_TTL_S	0.25

/* loop.c: the control-loop thread, leadership and the engine's life. */
int	ctl_loop_start(struct ctl *c, struct bl_err *err);
void	ctl_loop_stop(struct ctl *c);
/* Asks for a cycle now. Thread-safe. */
void	ctl_loop_kick(struct ctl *c);
void	ctl_leader_get(struct ctl *c, struct ctl_leader *out);
/* The policy in force has this check_interval_s: re-arms the schedule if
 * it changed. On the main loop only. */
void	ctl_loop_interval(struct ctl *c, long long s);
/* The same from any thread: the main loop re-arms it soon after. */
void	ctl_loop_interval_post(struct ctl *c, long long s);
/* The engine, when this process leads. Thread-safe. */
void	ctl_engine_wake(struct ctl *c);
/* 1 if the engine runs here; db_ok and committers filled then. */
int	ctl_engine_info(struct ctl *c, int *db_ok, int *committers);
/* The file's policy (copied; *text is the file's JSON or NULL, the caller
 * frees) and, on reload, its replacement. Thread-safe. */
void	ctl_policy_file(struct ctl *c, struct pol_policy *p, char **text);
void	ctl_policy_file_set(struct ctl *c, const struct pol_policy *p,
	    const char *text);

/* cycle.c */
/* The policy in force: the run-time one stored by PUT /v1/policy, else
 * the file's. *doc (may be NULL) gets its JSON document. */
int	ctl_policy_effective(struct ctl *c, PGconn *db, struct pol_policy *p,
	    json_t **doc, struct bl_err *err);
/* balancing: plan down to the target even below the threshold
 * (hysteresis). */
int	ctl_plan_build(PGconn *db, const struct pol_policy *pol, int quiet,
	    int balancing, long long max_candidates, struct ctl_planned *out,
	    struct bl_err *err);
json_t	*ctl_plan_json(struct ctl_planned *p);
void	ctl_planned_release(struct ctl_planned *p);
/* Runs one cycle as the leader and records it. unreachable: a text[]
 * literal of the nodes that did not answer (may be NULL). */
int	ctl_cycle_run(struct ctl *c, PGconn *db, int manual,
	    const char *unreachable, struct ctl_cycle_result *res,
	    struct bl_err *err);
void	ctl_cycle_not_leader(struct ctl *c);

/* api_ctl.c: the control loop's API, run on API workers. Each returns
 * the answer (a new reference) or NULL with err. */
json_t	*ctl_api_status(struct ctl *c, PGconn *db, struct bl_err *err);
json_t	*ctl_api_cluster(PGconn *db, struct bl_err *err);
json_t	*ctl_api_plan(struct ctl *c, PGconn *db, int preset,
	    struct bl_err *err);
json_t	*ctl_api_policy_get(struct ctl *c, PGconn *db, struct bl_err *err);
json_t	*ctl_api_policy_put(struct ctl *c, PGconn *db, json_t *body,
	    const char *who, long long *interval, struct bl_err *err);
json_t	*ctl_api_cycles(PGconn *db, long limit, long offset,
	    struct bl_err *err);
json_t	*ctl_api_pause(struct ctl *c, PGconn *db, int pause,
	    const char *who, struct bl_err *err);
json_t	*ctl_api_placement(struct ctl *c, PGconn *db, const char *object,
	    int copies, struct bl_err *err);

/* api.c */
/* The handler of every front; arg is the front. */
void	ctl_api_handle(struct bl_http_req *req, void *arg);
/* The status page (controller/ui.html, made a C string by the Makefile). */
extern const char	ctl_ui_html[];
extern const size_t	ctl_ui_html_len;
/* Starts the API workers and binds every front's server with o (its
 * handler, arg and reuse_port are set here). 0 or -1. */
int	ctl_api_start(struct ctl *c, const struct bl_http_server_opts *o,
	    struct bl_err *err);
/* Starts the threads of fronts 1.. (front 0 runs with the main loop). */
int	ctl_api_serve(struct ctl *c, struct bl_err *err);
int	ctl_api_port(const struct ctl *c);
int	ctl_api_tls(const struct ctl *c);
/* Stops accepting, ends the fronts' threads and the workers, answers
 * what they finished and frees the servers. On the main thread. */
void	ctl_api_stop(struct ctl *c);
/* Drops the reused GET /v1/status answer. Thread-safe. */
void	ctl_api_status_forget(struct ctl *c);

#endif/* --- controller/routes.c: the API's route table ------------------------ */

/* What a request asks for: one per route (several routes may share). */
enum ctl_op {
	CTL_OP_STATUS,
	CTL_OP_JOB_CREATE,
	CTL_OP_JOB_LIST,
	CTL_OP_JOB_GET,
	CTL_OP_JOB_TASKS,
	CTL_OP_JOB_ACTION,
	CTL_OP_JOB_THREADS,
	CTL_OP_JOB_THROTTLE,
	CTL_OP_NODE_PUT,
	CTL_OP_NODE_DRAIN,
	CTL_OP_NODE_LIST,
	CTL_OP_AUDIT,
	CTL_OP_OBJECT_GET,
	CTL_OP_IMPORT,
	CTL_OP_MANTA_LIST,
	CTL_OP_MANTA_GET,
	CTL_OP_MANTA_RETRY,
	CTL_OP_METRICS,
	CTL_OP_CLUSTER,
	CTL_OP_PLAN,
	CTL_OP_POLICY_GET,
	CTL_OP_POLICY_PUT,
	CTL_OP_POLICY_DELETE,
	CTL_OP_CYCLES,
	CTL_OP_PLACEMENT,
	CTL_OP_CTL_PAUSE,
	CTL_OP_CTL_RESUME,
	CTL_OP_EXPORT,
	CTL_OP_RUN,		/* answered on the loop */
	CTL_OP_N
};

enum {
	CTL_R_WRITE = 1 << 0,	/* an operator token, on the leader */
	CTL_R_MANTA = 1 << 1,	/* Manta's /jobs shape */
};

/* "{id}" in a pattern is one path segment (a job or object uuid, or a
 * node id, by the prefix); the pattern is also the metrics label. */
struct ctl_route {
	const char	*method;
	const char	*pattern;
	int		 op;		/* enum ctl_op */
	unsigned	 flags;
};

/* The route for method and path, its "{id}" segment in seg; NULL if
 * none. */
const struct ctl_route *ctl_route_find(const char *method,
	    const char *path, char *seg, size_t seglen);
/* The methods the table has for path, "GET, PUT", into buf; their count
 * (0: no route has that path). */
size_t	ctl_route_allow(const char *path, char *buf, size_t len);
/* The pattern path is counted under ("/v1/jobs/{id}"); "other" if none. */
const char *ctl_route_label(const char *path);
/* The whole table (tests and docs). */
const struct ctl_route *ctl_routes(size_t *n);


