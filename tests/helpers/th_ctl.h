/* tests/helpers/th_ctl.h - a real ballastd for integration tests, with
 * the cluster around it: agents (agent_harness.h) registered as nodes,
 * objects written to the agents' roots and listed in the metadata tier,
 * and the invariant verifier (bin/ballastctl verify).
 */
#ifndef TH_CTL_H
#define TH_CTL_H

#include <sys/types.h>

#include <jansson.h>

#include "tests/helpers/agent_harness.h"

#define TH_OP_TOKEN	"operator-token-0123456789abcdef"
#define TH_VIEW_TOKEN	"viewer-token-0123456789abcdef01"

struct th_ctl {
	pid_t	pid;
	int	port;
	char	url[64];
	char	dir[512];	/* config, tokens, log */
	char	conf[600];
	char	log[600];
	char	secret[600];
	char	conninfo[512];
};

/* Writes a config (engine_extra: extra JSON members of "engine", e.g.
 * "\"poll_interval_ms\":100"; may be NULL) and starts ballastd; waits
 * until /v1/status answers. 0 or -1. */
int	th_ctl_start(struct th_ctl *c, const char *conninfo,
	    const char *engine_extra);
/* The same with the policy object's JSON (NULL: {"max_fill":0.95}), extra
 * top-level members (e.g. "\"controller\":{...}"; may be NULL) and its own
 * directory name under the test's temp dir (for several instances).
 * With "tls_cert_file" in top, url is https (tha_set_tls_ca names the CA
 * that th_ctl_req trusts). */
int	th_ctl_start_ex(struct th_ctl *c, const char *conninfo,
	    const char *engine_extra, const char *policy, const char *top,
	    const char *name);
/* Rewrites the config file (for reload tests). */
int	th_ctl_write_config(struct th_ctl *c, const char *engine_extra,
	    const char *policy, const char *top);
/* Starts it again with the same config and port. */
int	th_ctl_restart(struct th_ctl *c);
void	th_ctl_kill9(struct th_ctl *c);
int	th_ctl_stop(struct th_ctl *c);

/* One API call with token (NULL: none). Returns the status; *out (may be
 * NULL) gets the parsed body. */
long	th_ctl_req(const struct th_ctl *c, const char *method,
	    const char *target, const char *body, const char *token,
	    json_t **out);
/* Polls the job until its state is one of complete, failed, cancelled
 * (max timeout_s). Returns the job JSON or NULL. */
json_t	*th_ctl_wait_job(const struct th_ctl *c, const char *id,
	    int timeout_s);
/* POSTs a job (body: the request of POST /v1/jobs) with the operator
 * token; writes its id ("" unless 201). Returns the HTTP status. */
long	th_ctl_post_job(const struct th_ctl *c, const char *body,
	    char id[37]);
/* Creates an evacuate job; writes its id. Returns the HTTP status. */
long	th_ctl_evacuate(const struct th_ctl *c, const char *node,
	    long long max_objects, char id[37]);
/* Creates a retry job of job's failed and skipped tasks; writes its id.
 * Returns the HTTP status. */
long	th_ctl_retry(const struct th_ctl *c, const char *job, char id[37]);
/* A job's counter (counters.name) and count of a reason (reasons.reason);
 * 0 if absent. */
long long th_job_counter(const json_t *job, const char *name);
long long th_job_reason(const json_t *job, const char *reason);

/* Registers agents as nodes (host = name, datacenter "dc1"). */
int	th_ctl_register(const struct th_ctl *c, struct tha_agent *a, int n);

/* Writes n objects of size bytes, each on the agents given by copies
 * (indexes into a; ncopies of them, chosen round robin from first), and
 * lists them in the objects table. ids receives the object ids (n * 37
 * bytes, may be NULL). 0 or -1. */
int	th_seed(const char *conninfo, struct tha_agent *a, int na, int n,
	    size_t size, const int *copies, int ncopies, char *ids,
	    const char *owner);

/* Waits until this instance leads (GET /v1/status: leader.self). 0 or
 * -1 after timeout_s. */
int	th_ctl_wait_leader(const struct th_ctl *c, int timeout_s);

/* Runs bin/ballastctl verify; returns its exit code (0: invariant holds). */
int	th_verify(const struct th_ctl *c);

/* A TCP port free on 127.0.0.1 just now, or -1. */
int	th_free_port(void);

/* Runs one SQL statement; returns the first value of the first row
 * as a long long, or -1. */
long long th_sql_ll(const char *conninfo, const char *sql);

/* Runs one SQL statement through libpq (no shell quoting); 0 or -1. */
int	th_sql_run(const char *conninfo, const char *sql);

#endif
