/* agent/agent.h - ballast-agent's internal interfaces (private to agent/).
 *
 * The agent is one libev loop: the HTTP server (lib/http_server), the
 * transfer executor (curl multi through lib/http_client), the SQLite store
 * and the timers. struct agt is passed explicitly; only signal flags are
 * global.
 */
#ifndef AGT_AGENT_H
#define AGT_AGENT_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <ev.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "lib/config.h"
#include "lib/err.h"
#include "lib/http_client.h"
#include "lib/http_server.h"
#include "lib/workq.h"
#include "lib/uuid.h"
#include "lib/wire.h"

#define AGT_VERSION	"0.1.0"

struct agt_config {
	char		*config_file;	/* owns */
	char		*listen;	/* owns */
	char		*root;		/* owns */
	char		*state;		/* owns */
	char		*node_id;	/* owns */
	char		*secret_file;	/* owns */
	char		*log_level;	/* owns */
	long long	 capacity_bytes;
	long long	 max_transfers;
	long long	 throttle;
	long long	 max_body;
	long long	 max_tasks;
	long long	 max_connections;
	long long	 connection_timeout;
	long long	 assignment_ttl;
	long long	 gc_interval;
	long long	 forward_ttl;
	long long	 retries;
	long long	 retry_base_ms;
	long long	 connect_timeout_ms;
	long long	 stall_timeout;
	long long	 shutdown_timeout;
	long long	 access_max_entries;
	long long	 scan_interval;
	int		 auth_status;
	int		 auth_metrics;
	char		*tls_cert_file;	/* owns */
	char		*tls_key_file;	/* owns */
	char		*tls_ca_file;	/* owns */
};

extern const struct bl_cfg_opt agt_config_table[];
extern const size_t agt_config_table_len;

/* --- failure reasons and metrics --------------------------------------- */

enum agt_reason {
	AGT_R_NONE = 0,
	AGT_R_MD5_MISMATCH,
	AGT_R_SIZE_MISMATCH,
	AGT_R_HTTP_STATUS,
	AGT_R_NETWORK_ERROR,
	AGT_R_TIMEOUT,
	AGT_R_AGENT_FS_ERROR,
	AGT_R_INSUFFICIENT_SPACE,
	AGT_R_SOURCE_OTHER_ERROR,
	AGT_R_COUNT,
};

const char	*agt_reason_name(int reason);
int		 agt_reason_parse(const char *name);

#define AGT_HIST_BUCKETS 12

struct agt_hist {
	uint64_t	 count[AGT_HIST_BUCKETS + 1];	/* last: +Inf */
	double		 sum;
	uint64_t	 n;
};

struct agt_metrics {
	uint64_t	 bytes_transferred;
	uint64_t	 bytes_served;
	uint64_t	 tasks_complete;
	uint64_t	 tasks_skipped;
	uint64_t	 tasks_failed;
	uint64_t	 errors[AGT_R_COUNT];
	uint64_t	 retries;
	uint64_t	 assignments_completed;
	uint64_t	 cleanup_failures;
	uint64_t	 http_requests;
	uint64_t	 http_unauthorized;
	struct agt_hist	 assignment_duration;
	struct agt_hist	 download_duration;
};

void	agt_hist_observe(struct agt_hist *h, double seconds);

/* --- access counts: bounded memory ------------------------------------- */

struct agt_access;

struct agt_access *agt_access_new(size_t max_entries, double now);
void	agt_access_free(struct agt_access *a);
void	agt_access_count(struct agt_access *a, const char *owner,
	    const char *object_id);
/* Returns the counts since the last call as JSON and resets them. */
json_t	*agt_access_take(struct agt_access *a, double now);

/* --- tasks and assignments (in memory while active) -------------------- */

enum agt_task_status {
	AGT_T_PENDING = 0,
	AGT_T_COMPLETE,
	AGT_T_FAILED,
};

struct agt_assign;

struct agt;

/* A token bucket: the agent's own throttle, or one job's share of its
 * throttle (set by ballastd). A transfer pauses on the first bucket that
 * is empty and resumes when that one refills. */
struct agt_bucket {
	struct agt_bucket	*next;		/* borrows: g->jobs list */
	struct agt		*g;		/* borrows */
	char			 job[BL_UUID_LEN + 1];	/* "": the agent's */
	long long		 rate;		/* bytes/s; 0: no limit */
	double			 tokens;
	double			 refilled_at;
	ev_timer		 refill;
	struct agt_task		*paused;	/* borrows */
	int			 refs;		/* assignments of the job */
};

struct agt_task {
	struct agt		*g;		/* borrows */
	struct agt_assign	*a;		/* borrows: owner */
	struct agt_task		*qnext;		/* borrows: run queue */
	struct agt_task		*pnext;		/* borrows: paused list */
	struct agt_task		*dnext;		/* borrows: place list */
	struct agt_bucket	*pb;		/* borrows: paused on */
	int			 idx;
	char			 owner[BL_UUID_LEN + 1];
	char			 object_id[BL_UUID_LEN + 1];
	char			 md5[25];	/* base64 Content-MD5 */
	unsigned char		 md5raw[16];
	long long		 size;
	char			*source_node;	/* owns */
	char			*source_url;	/* owns */
	int			 status;	/* enum agt_task_status */
	int			 reason;	/* enum agt_reason */
	int			 http_code;
	int			 attempts;
	int			 skipped;
	/* While running: */
	struct bl_http_xfer	*xfer;		/* owns: cancel on close */
	EVP_MD_CTX		*md;		/* owns */
	char			*tmp_path;	/* owns */
	int			 fd;		/* owns: -1 when closed */
	int			 fail;		/* reason set by data_fn */
	int			 running;
	int			 paused;
	int			 queued;
	int			 finalizing;	/* being placed or checked */
	int			 check_fd;	/* skip check: the final file */
	int			 check_same;	/* skip check: MD5 matched */
	int			 fin_errno;	/* worker's result */
	const char		*fin_step;	/* borrows: static */
	int			 fin_had_old;
	int			 fin_dir;	/* its directory synced */
	long long		 fin_old_size;
	long long		 got;
	double			 started;
	ev_timer		 retry;		/* backoff */
};

struct agt_assign {
	struct agt_assign	*next;		/* borrows: active list */
	char			 id[BL_UUID_LEN + 1];
	char			 job[BL_UUID_LEN + 1];	/* "": none given */
	long long		 job_rate;	/* from the body or store; -1:
						   none */
	struct agt_bucket	*jb;		/* borrows: the job's bucket */
	double			 created;
	int			 ntasks;
	int			 npending;
	struct agt_task		*tasks;		/* owns: ntasks */
};

void	agt_assign_free(struct agt_assign *a);

/* --- SQLite store ------------------------------------------------------- */

struct agt_store;

enum {
	AGT_STORE_NEW = 0,
	AGT_STORE_SAME,
	AGT_STORE_CONFLICT,
};

struct agt_store *agt_store_open(const char *path, struct bl_err *err);
void	agt_store_close(struct agt_store *s);
/* Commits the batch of task updates, if one is open. */
int	agt_store_flush(struct agt_store *s, struct bl_err *err);
/* Inserts assignment a (body hash hash) durably. Returns AGT_STORE_NEW,
 * AGT_STORE_SAME (same id and hash: nothing done) or AGT_STORE_CONFLICT;
 * -1 on error. */
int	agt_store_insert(struct agt_store *s, const struct agt_assign *a,
	    const char *hash, struct bl_err *err);
/* Queues a task's state into the open batch (committed by flush). */
int	agt_store_task_update(struct agt_store *s, const struct agt_task *t,
	    struct bl_err *err);
/* Records job's throttle (bytes/s, 0: none) for its assignments here. */
int	agt_store_job_throttle(struct agt_store *s, const char *job,
	    long long bytes_per_sec, struct bl_err *err);
int	agt_store_assign_complete(struct agt_store *s, const char *id,
	    double now, struct bl_err *err);
/* The assignment as the API shows it; NULL with BL_ENOENT if unknown.
 * With tasks_if_complete, a running one shows its counts without its
 * tasks. */
json_t	*agt_store_assign_json(struct agt_store *s, const char *id,
	    int tasks_if_complete, struct bl_err *err);
/* Deletes a complete assignment: -1 with BL_ENOENT or BL_ECONFLICT. */
int	agt_store_assign_delete(struct agt_store *s, const char *id,
	    struct bl_err *err);
/* Loads every unfinished assignment; calls fn for each (fn takes it). */
int	agt_store_load_active(struct agt_store *s,
	    void (*fn)(struct agt_assign *a, void *arg), void *arg,
	    struct bl_err *err);
/* Deletes assignments complete before cutoff; returns how many or -1. */
int	agt_store_gc(struct agt_store *s, double cutoff, double now,
	    struct bl_err *err);
/* A forward: reads of owner/object_id go to location (all borrowed). */
struct agt_fwd {
	const char	*owner;		/* borrows */
	const char	*object_id;	/* borrows */
	const char	*location;	/* borrows */
};

/* Records n forwards, valid until expires, durably in one transaction
 * (all or none). */
int	agt_store_forward_set(struct agt_store *s, const struct agt_fwd *f,
	    size_t n, double expires, struct bl_err *err);
/* The forwarding location (caller frees), or NULL if none is in force. */
char	*agt_store_forward_get(struct agt_store *s, const char *owner,
	    const char *object_id, double now);
int	agt_store_forward_clear(struct agt_store *s, const char *owner,
	    const char *object_id, struct bl_err *err);

/* --- local object files -------------------------------------------------- */

/* Writes "<root>/<owner>[/<object_id>]" to buf. -1 if it does not fit. */
int	agt_obj_path(char *buf, size_t len, const char *root,
	    const char *owner, const char *object_id);
/* The MD5 of the open file fd (stat st): from its xattr when still valid
 * for that size and mtime, otherwise computed and recorded. 0 or -1.
 * Computing reads the whole file: call it on a worker, not the loop. */
int	agt_obj_md5(int fd, const struct stat *st, unsigned char raw[16],
	    struct bl_err *err);
/* For the loop: the MD5 from the xattr, or computed when the file is
 * small enough (64 KiB: one read costs less than waking a worker and
 * being woken back). -1 means: ask a worker (agt_obj_md5). */
int	agt_obj_md5_quick(int fd, const struct stat *st,
	    unsigned char raw[16]);
/* The MD5 from fd's xattr if it is valid for st; -1 (no I/O beyond the
 * xattr read) otherwise. */
int	agt_obj_md5_cached(int fd, const struct stat *st,
	    unsigned char raw[16]);
/* Records md5 in fd's xattr, valid for the file's current size/mtime. */
int	agt_obj_md5_record(int fd, const unsigned char raw[16]);
/* Walks root and sums objects; with remove_tmp, removes "*.tmp.*" files
 * (only at start-up, when none can be in use). */
int	agt_obj_scan(const char *root, int remove_tmp, long long *bytes,
	    long long *count, long long *tmp_removed, long long *tmp_failed,
	    struct bl_err *err);
/* fsync a directory. 0 or -1 (errno set). */
int	agt_fsync_dir(const char *path);

/* --- the agent ------------------------------------------------------------ */

struct agt {
	struct ev_loop		*loop;		/* borrows */
	struct agt_config	 cfg;
	struct bl_cfg		 cfgt;
	char			*secret;	/* owns */
	size_t			 secret_len;
	struct bl_http_server	*srv;		/* owns */
	struct bl_http_client	*cli;		/* owns */
	struct bl_workq		*wq;		/* owns: fsync and rename */
	/* Verified files to place (agent/xfer.c): those waiting, and the
	 * group on a worker. */
	struct agt_task		*place_head, *place_tail;	/* borrows */
	struct agt_task		*place_group;	/* borrows */
	struct agt_store	*store;		/* owns */
	struct agt_access	*access;	/* owns */
	struct agt_metrics	 m;
	long long		 capacity;
	long long		 used_bytes;
	long long		 objects;
	long long		 reserved;	/* bytes of running downloads */
	struct agt_assign	*assigns;	/* owns: active list */
	struct agt_task		*q_head, *q_tail;	/* borrows */
	unsigned int		 inflight;
	unsigned long		 tmp_seq;
	/* throttle: a token bucket shared by every transfer (bkt.rate), and
	 * one per job that ballastd throttles */
	long long		 throttle;
	struct agt_bucket	 bkt;
	struct agt_bucket	*jobs;		/* owns */
	ev_idle			 pump;
	ev_timer		 flush;
	ev_timer		 gc;
	ev_timer		 rescan;
	struct agt_scan		*scan;		/* owns */
	struct agt_dels		*dels;		/* owns */
	ev_signal		 sigterm, sigint;
	ev_timer		 deadline;
	int			 stopping;
	double			 started;
};

/* agent/scan.c: recounts used_bytes and objects on a worker thread, so
 * files written or removed behind the agent's back are seen. */
struct agt_scan;
struct agt_scan *agt_scan_new(struct agt *g);
/* Starts a recount unless one is running. */
void	agt_scan_kick(struct agt_scan *s);
/* Waits for a running recount and frees. NULL: no-op. */
void	agt_scan_free(struct agt_scan *s);

/* agent/delete.c: verified deletes, made durable in groups (the forward
 * first, then the unlink and its directory's fsync) before they are
 * answered.
 *
 * A request's deletes form a batch: the objects of a POST /v1/deletes, or
 * the one of a DELETE (single), answered with that object's outcome as
 * if alone. Each object gets exactly one outcome (agt_delb_ok or _fail);
 * the request is answered once all have one and agt_delb_start ran. */
struct agt_delb;
/* Takes w's objects (w is left empty, also on failure). NULL: out of
 * memory, req not answered. */
struct agt_delb *agt_delb_new(struct bl_http_req *req, struct bl_wire_dels *w,
	    int single);
size_t	agt_delb_len(const struct agt_delb *b);
const struct bl_wire_del *agt_delb_item(const struct agt_delb *b, size_t i);
void	agt_delb_ok(struct agt_delb *b, size_t i);
void	agt_delb_fail(struct agt_delb *b, size_t i, int status,
	    const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/* The handler queued every object: answers now if all are done, else
 * suspends req until they are. b may be gone when this returns. */
void	agt_delb_start(struct agt_delb *b);

struct agt_dels;
struct agt_dels *agt_dels_new(struct agt *g);
/* Deletes object i of b, the file st whose MD5 the caller verified, with
 * a forward to loc (NULL: none; copied), and gives its outcome once that
 * is durable (or failed). A file replaced meanwhile (another inode) is
 * kept: 409. */
void	agt_dels_add(struct agt_dels *d, struct agt_delb *b, size_t i,
	    const struct stat *st, const char *loc);
/* Starts no new group; what waits is answered 503 by agt_dels_free. */
void	agt_dels_stop(struct agt_dels *d);
/* After bl_workq_free (which ends the group in flight). NULL: no-op. */
void	agt_dels_free(struct agt_dels *d);

/* agent/xfer.c */
int	agt_xfer_init(struct agt *g, struct bl_err *err);
void	agt_xfer_release(struct agt *g);
/* Takes a (in memory) and queues its pending tasks. */
void	agt_xfer_add(struct agt *g, struct agt_assign *a);
void	agt_xfer_set_throttle(struct agt *g, long long bytes_per_sec);
/* Sets the throttle of job's transfers here (0: none) and records it.
 * -1 with BL_ENOENT if no active assignment here belongs to job. */
int	agt_xfer_set_job_throttle(struct agt *g, const char *job,
	    long long bytes_per_sec, struct bl_err *err);
/* The job throttles in force, {"<job>": bytes_per_sec, ...}. */
json_t	*agt_xfer_job_throttles(const struct agt *g);
/* Stops starting tasks; calls ev_break when in-flight work is done. */
void	agt_xfer_stop(struct agt *g);
/* Cancels in-flight work (deadline passed); tasks stay pending. */
void	agt_xfer_abort(struct agt *g);
/* A task changed: record it (batched) and schedule a commit. */
void	agt_note_task(struct agt *g, const struct agt_task *t);

/* agent/api.c */
void	agt_api_handle(struct bl_http_req *req, void *arg);
/* Parses and validates an assignment body; NULL with the reason
 * (BL_EPARSE, BL_EINVAL, BL_ETOOBIG for too many tasks). hash gets the
 * hex SHA-256 of the canonical body. */
struct agt_assign *agt_assign_parse(const char *body, size_t len,
	    long long max_tasks, char hash[65], struct bl_err *err);

/* agent/metrics.c */
char	*agt_metrics_render(struct agt *g, size_t *len);

#endif
