/* migrate/engine_int.h - what engine.c and settle.c share (private to
 * migrate/; the public interface is migrate/engine.h). */
#ifndef MIG_ENGINE_INT_H
#define MIG_ENGINE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "lib/agent_call.h"
#include "lib/err.h"
#include "lib/http_client.h"
#include "migrate/engine.h"
#include "placement/cluster.h"

/* A node's agent. Where the node is, what it holds and whether it
 * answered is e->cl->nodes[i], at the same index. */
struct enode {
	char		*url;		/* owns */
	double		 silent_s;	/* since last_seen; large if never */
};

/* A job's throttle share as last sent to one destination agent. */
struct mig_thr {
	char		 key[160];	/* "<job> <dest node id>" */
	long long	 share;		/* bytes/s; 0: none; -1: unsent */
};

struct mig_engine {
	struct mig_engine_opts	 o;
	char			*conninfo;	/* owns */
	void			*secret;	/* owns */
	pthread_t		 th;
	int			 started;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 stop;		/* under mu */
	int			 woken;		/* under mu */
	struct mig_engine_opts	 pending;	/* under mu: from a reload */
	int			 has_pending;	/* under mu */
	double			 last_recount;	/* monotonic s; engine thread */
	atomic_int		 db_ok;
	atomic_int		 committers;
	PGconn			*db;		/* owns; engine thread only */
	struct ev_loop		*loop;		/* owns */
	struct bl_http_client	*http;		/* owns */
	struct mig_commit_pool	*pool;		/* owns */
	struct mig_cleaner	*cleaner;	/* owns */
	struct plc_cluster	*cl;		/* owns; this tick's nodes, by
						   id; NULL before the first */
	struct enode		*nodes;		/* owns; per cl->nodes[i] */
	size_t			 nnodes;	/* cl->n */
	int			 db_was_down;
	struct mig_thr		*thr;		/* owns: sent throttle shares */
	size_t			 nthr, capthr;
};

/* An array literal of n values; "{}" when empty. Caller frees. */
struct arr {
	char	*buf;	/* owns */
	size_t	 len, cap;
};

/* Runs n signed agent calls (lib/agent_call.h) in parallel on the
 * engine's loop, with the engine's secret and agent timeout. */
void	mig_calls_run(struct mig_engine *e, struct bl_acall *c, size_t n);

/* The index of node id in e->cl->nodes and e->nodes, or -1. */
ssize_t	mig_node_find(const struct mig_engine *e, const char *id);

/* PostgreSQL array literals built for unnest() parameters. */
int	mig_arr_push(struct arr *a, const char *s);	/* s NULL: NULL */
const char *mig_arr_str(struct arr *a);	/* borrowed until the next push */
void	mig_arr_free(struct arr *a);

/* Logs a database failure of step what, drops a broken connection.
 * Returns -1. */
int	mig_db_fail(struct mig_engine *e, const struct bl_err *err,
	    const char *what);
/* The JSON body of assignment aid from task rows (object, owner, md5,
 * size, pull_from). Caller frees. */
char	*mig_assignment_body(struct mig_engine *e, const char *aid,
	    const char *job, long long share, const PGresult *r);
/* The share of job's throttle for one more assignment to dest: the
 * throttle split evenly among the destinations holding its posted
 * assignments (0: none; -1: the database failed). */
long long mig_job_share(struct mig_engine *e, const char *job,
	    const char *dest);
/* Whether the tasks of job owe a source deletion after their commit. */
int	mig_delete_source_for(struct mig_engine *e, const char *job);

/* After POSTs of assignments: an agent that refused one (4xx: invalid,
 * conflict, too large) gets it marked "rejected" and its tasks fail with
 * assignment_rejected, so that it is not posted again and again. */
int	mig_posts_checked(struct mig_engine *e, const struct bl_acall *c,
	    size_t n);

/* settle.c: the steps that settle work in flight. 0 or -1. */
int	mig_poll_assignments(struct mig_engine *e);
int	mig_collect_assignments(struct mig_engine *e);
int	mig_commit_copied(struct mig_engine *e);

/* Seconds on CLOCK_MONOTONIC. */
double	mig_now(void);
/* The CLOCK_REALTIME deadline ms from now, for pthread_cond_timedwait. */
void	mig_deadline(struct timespec *ts, long ms);

/* clean.c: the cleaner, a thread beside the tick that removes orphan
 * copies and moved sources. It reads e's settings under e->mu and wakes e
 * when tasks finished. */
struct mig_cleaner;

struct mig_cleaner *mig_cleaner_new(struct mig_engine *e,
	    const char *tls_ca_file, struct bl_err *err);
int	mig_cleaner_start(struct mig_cleaner *c, struct bl_err *err);
/* Asks for a round now (a commit may have made sources due). */
void	mig_cleaner_wake(struct mig_cleaner *c);
/* Stops and joins the thread; NULL: no-op. */
void	mig_cleaner_free(struct mig_cleaner *c);

/* The cleaner's nodes held back. A node whose every delete of a round
 * failed without an outcome (no answer, a timeout, a 5xx) is left out of
 * the rounds for MIG_BACKOFF_MIN_S, then twice as long after each round
 * that fails again, up to MIG_BACKOFF_MAX_S; one outcome there lets it
 * back in at once. */
#define MIG_BACKOFF_MIN_S	2
#define MIG_BACKOFF_MAX_S	60

struct mig_backoff {
	char	*node;		/* owns */
	double	 due;		/* monotonic s: held back until then */
	int	 tries;
};

struct mig_backoffs {
	struct mig_backoff	*v;	/* owns: n of cap */
	size_t			 n, cap;
};

/* node failed a round at now: the seconds it is held back, or -1 when out
 * of memory (it is not held back). */
double	mig_backoff_fail(struct mig_backoffs *b, const char *node, double now);
/* node got an outcome: no longer held back. */
void	mig_backoff_clear(struct mig_backoffs *b, const char *node);
/* Pushes the nodes held back at now onto a. 0, or -1 out of memory. */
int	mig_backoff_held(const struct mig_backoffs *b, double now,
	    struct arr *a);
void	mig_backoffs_free(struct mig_backoffs *b);

#endif
