/* controller/ctl.h - ballastd's internal interfaces (private to
 * controller/).
 *
 * One libev loop serves the HTTP API. Database work for a request runs on a
 * pool of API worker threads, each with its own connection; the handler
 * suspends the request and a worker hands the answer back through an
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

#include "lib/config.h"
#include "lib/err.h"
#include "lib/http_server.h"
#include "migrate/engine.h"
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
	long long	 max_body;
	long long	 api_workers;
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

struct ctl {
	struct ev_loop		*loop;		/* borrows */
	struct ctl_config	*cfg;		/* borrows */
	const char		*file;		/* borrows: argv */
	struct bl_http_server	*http;		/* owns */
	struct mig_engine	*engine;	/* owns */
	struct ctl_metrics	*metrics;	/* owns (controller/metrics.h) */
	ev_async		 done_async;	/* workers -> loop */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct ctl_call		*queue, **queue_tail;	/* owns; under mu */
	struct ctl_call		*done;		/* owns; under mu */
	int			 stopping;	/* under mu */
	double			 db_retry_at;	/* under mu: after a failed
						   connect, 503 at once until
						   this monotonic time */
	pthread_t		*workers;	/* owns */
	int			 nworkers;
};

/* api.c */
void	ctl_api_handle(struct bl_http_req *req, void *arg);
int	ctl_api_start(struct ctl *c, struct bl_err *err);
void	ctl_api_stop(struct ctl *c);

#endif
