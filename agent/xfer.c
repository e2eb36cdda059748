/* agent/xfer.c - the assignment executor: pull, verify, place.
 *
 * Each task runs as one transfer: GET the object from the source agent
 * (signed), hash it with MD5 while it streams into "<final>.tmp.<unique>" in
 * the final directory, fsync, compare, rename, fsync the directory. Tasks
 * fail on their own; an assignment completes when all of its tasks are
 * complete or failed. At most max_transfers run at once. A token bucket
 * shared by all of them enforces the agent's bytes-per-second throttle, and
 * one bucket per job enforces the share of that job's throttle ballastd
 * gives this agent (PUT /v1/jobs/{id}/throttle): a transfer pauses while
 * either is empty (curl keeps the bytes until it is resumed).
 *
 * A task has one close path, task_end(): it releases the transfer, the fd,
 * the digest and the tmp file, then records the outcome.
 */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/log.h"
#include "lib/sign.h"

#define TASK_OF_RETRY(w) ((struct agt_task *)((char *)(w) - \
	offsetof(struct agt_task, retry)))
#define AGT_OF(w, field) ((struct agt *)((char *)(w) - \
	offsetof(struct agt, field)))

static void pump_later(struct agt *g);
static void job_detach(struct agt *g, struct agt_assign *a);

/* Where a task ends up after this attempt. */
enum outcome {
	OUT_COMPLETE,
	OUT_SKIPPED,
	OUT_FAILED,	/* final */
	OUT_RETRY,	/* transient: try again after a backoff */
	OUT_REQUEUE,	/* shutdown: stays pending, no attempt counted */
};

static void
queue_push(struct agt *g, struct agt_task *t)
{
	if (t->queued)
		return;
	t->queued = 1;
	t->qnext = NULL;
	if (g->q_tail != NULL)
		g->q_tail->qnext = t;
	else
		g->q_head = t;
	g->q_tail = t;
}

static struct agt_task *
queue_pop(struct agt *g)
{
	struct agt_task *t = g->q_head;

	if (t == NULL)
		return NULL;
	g->q_head = t->qnext;
	if (g->q_head == NULL)
		g->q_tail = NULL;
	t->qnext = NULL;
	t->queued = 0;
	return t;
}

static void
paused_remove(struct agt *g, struct agt_task *t)
{
	struct agt_task **p;

	if (!t->paused)
		return;
	for (p = &t->pb->paused; *p != NULL; p = &(*p)->pnext) {
		if (*p == t) {
			*p = t->pnext;
			break;
		}
	}
	t->pnext = NULL;
	t->pb = NULL;
	t->paused = 0;
}

void
agt_note_task(struct agt *g, const struct agt_task *t)
{
	struct bl_err err;

	if (agt_store_task_update(g->store, t, &err) == -1)
		log_warnx("assignment id=%s task=%d: %s", t->a->id, t->idx,
		    err.msg);
	if (!ev_is_active(&g->flush)) {
		ev_timer_set(&g->flush, 0.05, 0.);
		ev_timer_start(g->loop, &g->flush);
	}
}

static void
on_flush(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agt *g = AGT_OF(w, flush);
	struct bl_err err;

	if (agt_store_flush(g->store, &err) == -1)
		log_warnx("%s", err.msg);
}

static void
assign_remove(struct agt *g, struct agt_assign *a)
{
	struct agt_assign **p;

	for (p = &g->assigns; *p != NULL; p = &(*p)->next) {
		if (*p == a) {
			*p = a->next;
			break;
		}
	}
	job_detach(g, a);
	agt_assign_free(a);
}

static void
assign_check_done(struct agt *g, struct agt_assign *a)
{
	struct bl_err err;
	double now = ev_now(g->loop);

	if (a->npending > 0)
		return;
	if (agt_store_assign_complete(g->store, a->id, now, &err) == -1) {
		log_warnx("%s", err.msg);
		return;
	}
	g->m.assignments_completed++;
	agt_hist_observe(&g->m.assignment_duration, now - a->created);
	log_info("assignment id=%s: complete tasks=%d seconds=%.3f", a->id,
	    a->ntasks, now - a->created);
	assign_remove(g, a);
}

/* Releases what an attempt holds: the transfer, the digest, the fd and the
 * tmp file. Safe to call on a task that holds nothing. */
static void
task_release(struct agt *g, struct agt_task *t)
{
	paused_remove(g, t);
	if (t->xfer != NULL) {
		bl_http_xfer_cancel(t->xfer);
		t->xfer = NULL;
	}
	EVP_MD_CTX_free(t->md);
	t->md = NULL;
	if (t->fd != -1) {
		close(t->fd);
		t->fd = -1;
	}
	if (t->tmp_path != NULL) {
		if (unlink(t->tmp_path) == -1 && errno != ENOENT) {
			g->m.cleanup_failures++;
			log_warn("task tmp=%s: cannot remove", t->tmp_path);
		}
		free(t->tmp_path);
		t->tmp_path = NULL;
	}
	if (t->running) {
		t->running = 0;
		g->inflight--;
		g->reserved -= t->size;
	}
}

static double
backoff(const struct agt *g, int attempts)
{
	double s = (double)g->cfg.retry_base_ms / 1000.0;

	for (int i = 1; i < attempts && s < 30.0; i++)
		s *= 2;
	return s > 30.0 ? 30.0 : s;
}

/* The one close path of an attempt. */
static void
task_end(struct agt *g, struct agt_task *t, enum outcome out, int reason,
    int http_code)
{
	struct agt_assign *a = t->a;

	task_release(g, t);
	switch (out) {
	case OUT_REQUEUE:
		break;
	case OUT_RETRY:
		if (t->attempts <= g->cfg.retries && !g->stopping) {
			g->m.retries++;
			log_info("assignment id=%s task=%d object=%s: %s, retry "
			    "attempt=%d", a->id, t->idx, t->object_id,
			    agt_reason_name(reason), t->attempts);
			ev_timer_set(&t->retry, backoff(g, t->attempts), 0.);
			ev_timer_start(g->loop, &t->retry);
			break;
		}
		if (g->stopping)
			break;
		/* FALLTHROUGH: out of retries */
		out = OUT_FAILED;
		/* FALLTHROUGH */
	case OUT_FAILED:
		t->status = AGT_T_FAILED;
		t->reason = reason;
		t->http_code = http_code;
		g->m.tasks_failed++;
		if (reason > 0 && reason < AGT_R_COUNT)
			g->m.errors[reason]++;
		log_warnx("assignment id=%s task=%d object=%s/%s: failed "
		    "reason=%s%s%.0d", a->id, t->idx, t->owner, t->object_id,
		    agt_reason_name(reason), http_code ? " http_status=" : "",
		    http_code);
		a->npending--;
		break;
	case OUT_COMPLETE:
	case OUT_SKIPPED:
		t->status = AGT_T_COMPLETE;
		t->skipped = out == OUT_SKIPPED;
		if (t->skipped)
			g->m.tasks_skipped++;
		else
			g->m.tasks_complete++;
		a->npending--;
		break;
	}
	agt_note_task(g, t);
	pump_later(g);
	if (out != OUT_REQUEUE && out != OUT_RETRY)
		assign_check_done(g, a);
	if (g->stopping && g->inflight == 0)
		ev_break(g->loop, EVBREAK_ONE);
}

static void
on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agt_task *t = TASK_OF_RETRY(w);
	struct agt *g = t->g;

	queue_push(g, t);
	pump_later(g);
}

/* --- the token buckets --------------------------------------------------- */

#define BUCKET_OF(w) ((struct agt_bucket *)((char *)(w) - \
	offsetof(struct agt_bucket, refill)))

static void
bucket_refill(struct agt_bucket *b)
{
	double now = ev_now(b->g->loop), burst;

	if (b->rate <= 0)
		return;
	burst = (double)b->rate / 20.0;
	if (burst < 65536)
		burst = 65536;
	b->tokens += (now - b->refilled_at) * (double)b->rate;
	if (b->tokens > burst)
		b->tokens = burst;
	b->refilled_at = now;
}

static void
bucket_resume(struct agt_bucket *b)
{
	struct agt_task *list = b->paused, *t, *next;

	b->paused = NULL;
	for (t = list; t != NULL; t = next) {
		next = t->pnext;
		t->pnext = NULL;
		t->pb = NULL;
		t->paused = 0;
		if (t->xfer != NULL)
			bl_http_xfer_resume(t->xfer);
	}
}

static void
bucket_arm(struct agt_bucket *b)
{
	if (ev_is_active(&b->refill))
		return;
	ev_timer_set(&b->refill, -b->tokens / (double)b->rate + 0.002, 0.);
	ev_timer_start(b->g->loop, &b->refill);
}

static void
on_refill(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agt_bucket *b = BUCKET_OF(w);

	bucket_refill(b);
	if (b->rate <= 0 || b->tokens > 0) {
		bucket_resume(b);
		return;
	}
	bucket_arm(b);
}

static void
bucket_init(struct agt *g, struct agt_bucket *b, const char *job)
{
	memset(b, 0, sizeof(*b));
	b->g = g;
	snprintf(b->job, sizeof(b->job), "%s", job);
	ev_init(&b->refill, on_refill);
}

static void
bucket_set(struct agt_bucket *b, long long bytes_per_sec)
{
	b->rate = bytes_per_sec;
	b->tokens = 0;
	b->refilled_at = ev_now(b->g->loop);
	ev_timer_stop(b->g->loop, &b->refill);
	/* Paused transfers go on and pause again at the new rate. */
	bucket_resume(b);
}

/* 1 if b has tokens (or no limit); else pauses t on b and returns 0. */
static int
bucket_ready(struct agt_bucket *b, struct agt_task *t)
{
	if (b == NULL || b->rate <= 0)
		return 1;
	if (b->tokens <= 0)
		bucket_refill(b);
	if (b->tokens > 0)
		return 1;
	t->paused = 1;
	t->pb = b;
	t->pnext = b->paused;
	b->paused = t;
	bucket_arm(b);
	return 0;
}

static void
bucket_take(struct agt_bucket *b, size_t n)
{
	if (b != NULL && b->rate > 0)
		b->tokens -= (double)n;
}

void
agt_xfer_set_throttle(struct agt *g, long long bytes_per_sec)
{
	g->throttle = bytes_per_sec;
	bucket_set(&g->bkt, bytes_per_sec);
	log_info("throttle bytes_per_sec=%lld", bytes_per_sec);
}

static struct agt_bucket *
job_bucket(struct agt *g, const char *job)
{
	struct agt_bucket *b;

	for (b = g->jobs; b != NULL; b = b->next)
		if (strcmp(b->job, job) == 0)
			return b;
	return NULL;
}

/* Gives a its job's bucket, made on first use; the rate the assignment
 * carries (from its body or the store) is the newest word on it. */
static void
job_attach(struct agt *g, struct agt_assign *a)
{
	struct agt_bucket *b;

	if (a->job[0] == '\0')
		return;
	if ((b = job_bucket(g, a->job)) == NULL) {
		if ((b = malloc(sizeof(*b))) == NULL) {
			log_warnx("assignment id=%s: no memory for the job "
			    "throttle; it runs unthrottled", a->id);
			return;
		}
		bucket_init(g, b, a->job);
		b->next = g->jobs;
		g->jobs = b;
	}
	b->refs++;
	a->jb = b;
	if (a->job_rate >= 0 && a->job_rate != b->rate)
		bucket_set(b, a->job_rate);
}

static void
job_detach(struct agt *g, struct agt_assign *a)
{
	struct agt_bucket **p, *b = a->jb;

	a->jb = NULL;
	if (b == NULL || --b->refs > 0)
		return;
	for (p = &g->jobs; *p != NULL; p = &(*p)->next)
		if (*p == b) {
			*p = b->next;
			break;
		}
	ev_timer_stop(g->loop, &b->refill);
	bucket_resume(b);
	free(b);
}

int
agt_xfer_set_job_throttle(struct agt *g, const char *job,
    long long bytes_per_sec, struct bl_err *err)
{
	struct agt_bucket *b = job_bucket(g, job);

	if (b == NULL)
		return bl_err_set(err, BL_ENOENT, "no active assignment of "
		    "job %s here", job);
	if (agt_store_job_throttle(g->store, job, bytes_per_sec, err) == -1)
		return -1;
	if (b->rate != bytes_per_sec) {
		bucket_set(b, bytes_per_sec);
		log_info("job=%s throttle bytes_per_sec=%lld", job,
		    bytes_per_sec);
	}
	return 0;
}

json_t *
agt_xfer_job_throttles(const struct agt *g)
{
	json_t *j = json_object();

	for (const struct agt_bucket *b = g->jobs; b != NULL; b = b->next)
		json_object_set_new(j, b->job, json_integer(b->rate));
	return j;
}

/* --- one attempt ---------------------------------------------------------- */

static size_t
on_data(struct bl_http_xfer *x, const char *p, size_t n, void *arg)
{
	struct agt_task *t = arg;
	struct agt *g = t->g;

	/* Error pages and redirect bodies are not the object. */
	if (bl_http_xfer_status(x) != 200)
		return n;
	if (t->got + (long long)n > t->size) {
		t->fail = AGT_R_SIZE_MISMATCH;
		return 0;
	}
	/* The agent's throttle, then the job's share of its own. */
	if (!bucket_ready(&g->bkt, t) || !bucket_ready(t->a->jb, t))
		return BL_HTTP_PAUSE;
	bucket_take(&g->bkt, n);
	bucket_take(t->a->jb, n);
	if (bl_write_all(t->fd, p, n) == -1) {
		t->fail = errno == ENOSPC || errno == EDQUOT ?
		    AGT_R_INSUFFICIENT_SPACE : AGT_R_AGENT_FS_ERROR;
		log_warn("task tmp=%s: write", t->tmp_path);
		return 0;
	}
	EVP_DigestUpdate(t->md, p, n);
	t->got += (long long)n;
	g->m.bytes_transferred += n;
	return n;
}

/* --- placing verified files, in groups -----------------------------------
 *
 * A verified file is placed in four steps: its MD5 xattr, fsync, rename
 * over the final name, and an fsync of the directory; it counts only once
 * the directory's entry is durable. Files verified while a group is on a
 * worker form the next group, and one worker places a group: it starts
 * every file's writeback first (sync_file_range), so the fsyncs that
 * follow wait on writes already in flight together, then fsyncs every
 * file, then renames them (see place_work), then fsyncs each directory
 * once. A burst of small objects costs one hand-off to a worker and a few
 * directory syncs, not two hand-offs and a sync per object. (One
 * syncfs(2) per group was slower: it writes back everything dirty on the
 * filesystem, other agents' and PostgreSQL's too when they share it.) A
 * crash before the file's fsync leaves a tmp file, removed at start-up;
 * one before the directory's fsync a verified file that no one was told
 * about; the task runs again and finds it. */

/* Tasks in a group, at most. */
#define PLACE_GROUP_MAX	256

/* The file's fsync and close. fin_step names the step that failed. */
static void
place_sync(struct agt_task *t)
{
	if (fsync(t->fd) == -1) {
		t->fin_errno = errno;
		t->fin_step = "fsync";
		return;
	}
	if (close(t->fd) == -1) {
		t->fd = -1;
		t->fin_errno = errno;
		t->fin_step = "close";
		return;
	}
	t->fd = -1;
}

/* The rename over the final name, after a successful place_sync(). */
static void
place_rename(struct agt_task *t)
{
	char final[4096];
	struct stat st;

	agt_obj_path(final, sizeof(final), t->g->cfg.root, t->owner,
	    t->object_id);
	t->fin_had_old = lstat(final, &st) == 0 && S_ISREG(st.st_mode);
	t->fin_old_size = t->fin_had_old ? (long long)st.st_size : 0;
	if (rename(t->tmp_path, final) == -1) {
		t->fin_errno = errno;
		t->fin_step = "rename";
		return;
	}
	free(t->tmp_path);
	t->tmp_path = NULL;
}

/* On a worker, or on the loop when stopping: place the group. Touches
 * only the group's fds, tmp paths and fin_* fields, which the loop leaves
 * alone while they are finalizing.
 *
 * Every fsync comes before any rename. A file's fsync also writes back
 * its inode's table block and, for a new name, its directory's blocks
 * (ext4 without a journal syncs the parent of a new entry). Those blocks
 * hold many of the group's files, so the first fsync writes them for the
 * others, and the rest cost little more than the device flush. A rename
 * between two fsyncs would dirty the directory again, and every fsync
 * would write it. */
static void
place_work(void *arg)
{
	struct agt *g = arg;
	char dir[4096];
	struct agt_task *t;

	for (t = g->place_group; t != NULL; t = t->dnext) {
		t->fin_errno = 0;
		t->fin_step = NULL;
		t->fin_dir = 0;
		(void)agt_obj_md5_record(t->fd, t->md5raw);
		/* Advisory: the fsync below is what makes it durable. */
		(void)sync_file_range(t->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	}
	for (t = g->place_group; t != NULL; t = t->dnext)
		place_sync(t);
	for (t = g->place_group; t != NULL; t = t->dnext)
		if (t->fin_step == NULL)
			place_rename(t);
	for (t = g->place_group; t != NULL; t = t->dnext) {
		int rc, e;

		if (t->fin_step != NULL || t->fin_dir)
			continue;	/* not placed, or its directory done */
		agt_obj_path(dir, sizeof(dir), g->cfg.root, t->owner, NULL);
		rc = agt_fsync_dir(dir);
		e = errno;
		for (struct agt_task *u = t; u != NULL; u = u->dnext) {
			if (u->fin_step != NULL || u->fin_dir ||
			    strcmp(u->owner, t->owner) != 0)
				continue;
			u->fin_dir = 1;
			u->fin_errno = rc == -1 ? e : 0;
		}
	}
}

static void place_start(struct agt *g);

/* Back on the loop: account for the group's tasks and end them, then
 * start the next group. */
static void
place_done(void *arg)
{
	struct agt *g = arg;
	struct agt_task *t, *next;
	int reason;

	for (t = g->place_group; t != NULL; t = next) {
		next = t->dnext;
		t->dnext = NULL;
		t->finalizing = 0;
		if (t->fin_step != NULL) {
			/* Failed before or at the rename: the tmp file is
			 * kept for task_release to remove. */
			reason = t->fin_errno == ENOSPC ||
			    t->fin_errno == EDQUOT ? AGT_R_INSUFFICIENT_SPACE :
			    AGT_R_AGENT_FS_ERROR;
			log_warnx("assignment id=%s task=%d object=%s/%s: %s: "
			    "%s", t->a->id, t->idx, t->owner, t->object_id,
			    t->fin_step, strerror(t->fin_errno));
			task_end(g, t, OUT_FAILED, reason, 0);
			continue;
		}
		if (t->fin_had_old)
			g->used_bytes -= t->fin_old_size;
		else
			g->objects++;
		g->used_bytes += t->size;
		if (g->used_bytes < 0)
			g->used_bytes = t->size;
		if (t->fin_errno != 0) {
			/* A verified file whose name may not be durable: it
			 * counts, and a re-run finds it. */
			log_warnx("assignment id=%s task=%d object=%s/%s: "
			    "fsync dir: %s", t->a->id, t->idx, t->owner,
			    t->object_id, strerror(t->fin_errno));
			task_end(g, t, OUT_FAILED, AGT_R_AGENT_FS_ERROR, 0);
			continue;
		}
		(void)agt_store_forward_clear(g->store, t->owner,
		    t->object_id, NULL);
		agt_hist_observe(&g->m.download_duration,
		    ev_now(g->loop) - t->started);
		task_end(g, t, OUT_COMPLETE, 0, 0);
	}
	g->place_group = NULL;
	if (g->place_head != NULL)
		place_start(g);
}

static void
place_start(struct agt *g)
{
	struct agt_task **tailp = &g->place_group;
	int n = 0;

	while (g->place_head != NULL && n < PLACE_GROUP_MAX) {
		struct agt_task *t = g->place_head;

		g->place_head = t->dnext;
		t->dnext = NULL;
		*tailp = t;
		tailp = &t->dnext;
		n++;
	}
	if (g->place_head == NULL)
		g->place_tail = NULL;
	/* Stopping: the queue may be going away under us (its done
	 * callbacks run from bl_workq_free); place here instead. */
	if (g->stopping || g->wq == NULL ||
	    bl_workq_submit(g->wq, place_work, place_done, g) == -1) {
		place_work(g);
		place_done(g);
	}
}

/* Compares size and MD5, then queues the file to be placed in a group. */
static void
task_finish_file(struct agt *g, struct agt_task *t)
{
	unsigned char got[16];
	unsigned int len = 0;

	EVP_DigestFinal_ex(t->md, got, &len);
	if (t->got != t->size || memcmp(got, t->md5raw, 16) != 0) {
		task_end(g, t, OUT_FAILED, AGT_R_MD5_MISMATCH, 0);
		return;
	}
	t->finalizing = 1;
	t->dnext = NULL;
	if (g->place_tail != NULL)
		g->place_tail->dnext = t;
	else
		g->place_head = t;
	g->place_tail = t;
	if (g->place_group == NULL)
		place_start(g);
}

static void
on_done(struct bl_http_xfer *x, const struct bl_http_result *r, void *arg)
{
	struct agt_task *t = arg;
	struct agt *g = t->g;

	t->xfer = NULL;		/* freed by the client after we return */
	paused_remove(g, t);
	if (t->fail != AGT_R_NONE) {
		task_end(g, t, OUT_FAILED, t->fail, 0);
		return;
	}
	switch (r->code) {
	case BL_OK:
		break;
	case BL_ETIMEOUT:
		task_end(g, t, OUT_RETRY, AGT_R_TIMEOUT, 0);
		return;
	case BL_ENET:
		task_end(g, t, OUT_RETRY, AGT_R_NETWORK_ERROR, 0);
		return;
	default:
		log_warnx("assignment id=%s task=%d: source: %s", t->a->id,
		    t->idx, r->message);
		task_end(g, t, OUT_FAILED, AGT_R_SOURCE_OTHER_ERROR, 0);
		return;
	}
	if (r->status != 200) {
		int transient = r->status == 429 || r->status == 500 ||
		    r->status == 502 || r->status == 503 || r->status == 504;

		task_end(g, t, transient ? OUT_RETRY : OUT_FAILED,
		    AGT_R_HTTP_STATUS, (int)r->status);
		return;
	}
	task_finish_file(g, t);
}

static void task_download(struct agt *g, struct agt_task *t);

/* On a worker: hash the existing final file (no valid xattr). */
static void
check_work(void *arg)
{
	struct agt_task *t = arg;
	unsigned char raw[16];
	struct stat st;

	t->check_same = fstat(t->check_fd, &st) == 0 &&
	    st.st_size == t->size &&
	    agt_obj_md5(t->check_fd, &st, raw, NULL) == 0 &&
	    memcmp(raw, t->md5raw, 16) == 0;
	close(t->check_fd);
	t->check_fd = -1;
}

static void
check_done(void *arg)
{
	struct agt_task *t = arg;

	t->finalizing = 0;
	if (t->check_same)
		task_end(t->g, t, OUT_SKIPPED, 0, 0);
	else if (t->g->stopping)
		task_end(t->g, t, OUT_REQUEUE, 0, 0);
	else
		task_download(t->g, t);
}

static void
task_start(struct agt *g, struct agt_task *t)
{
	char final[4096], dir[4096];
	int fd;

	t->attempts++;
	t->running = 1;
	t->fail = AGT_R_NONE;
	t->got = 0;
	t->started = ev_now(g->loop);
	g->inflight++;
	g->reserved += t->size;
	agt_note_task(g, t);
	if (agt_obj_path(final, sizeof(final), g->cfg.root, t->owner,
	    t->object_id) == -1 || agt_obj_path(dir, sizeof(dir),
	    g->cfg.root, t->owner, NULL) == -1) {
		task_end(g, t, OUT_FAILED, AGT_R_AGENT_FS_ERROR, 0);
		return;
	}
	/* Skip if the final file is already there with the right MD5. */
	if ((fd = open(final, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
		unsigned char raw[16];
		struct stat st;

		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_size == t->size) {
			if (agt_obj_md5_quick(fd, &st, raw) == 0) {
				close(fd);
				if (memcmp(raw, t->md5raw, 16) == 0) {
					task_end(g, t, OUT_SKIPPED, 0, 0);
					return;
				}
			} else {
				/* Hashing may take long: off the loop. */
				t->check_fd = fd;
				t->finalizing = 1;
				if (bl_workq_submit(g->wq, check_work,
				    check_done, t) == 0)
					return;
				t->finalizing = 0;
				t->check_fd = -1;
				close(fd);
			}
		} else {
			close(fd);
		}
	}
	task_download(g, t);
}

/* The download proper: quota, directory, tmp file, signed GET. */
static void
task_download(struct agt *g, struct agt_task *t)
{
	char final[4096], dir[4096], path[128], url[4096];
	char hdate[64], hsig[128];
	const char *hdrs[3];
	struct bl_sign_hdrs sh;
	struct bl_http_xfer_opts o;
	struct bl_err err;
	size_t ul;

	agt_obj_path(final, sizeof(final), g->cfg.root, t->owner,
	    t->object_id);
	agt_obj_path(dir, sizeof(dir), g->cfg.root, t->owner, NULL);
	/* reserved already holds this task's size. */
	if (g->capacity - g->used_bytes - g->reserved < 0) {
		task_end(g, t, OUT_FAILED, AGT_R_INSUFFICIENT_SPACE, 0);
		return;
	}
	if (mkdir(dir, 0755) == 0) {
		if (agt_fsync_dir(g->cfg.root) == -1)
			log_warn("root=%s: fsync", g->cfg.root);
	} else if (errno != EEXIST) {
		log_warn("dir=%s: mkdir", dir);
		task_end(g, t, OUT_FAILED, errno == ENOSPC ?
		    AGT_R_INSUFFICIENT_SPACE : AGT_R_AGENT_FS_ERROR, 0);
		return;
	}
	if (asprintf(&t->tmp_path, "%s.tmp.%ld.%lu", final, (long)getpid(),
	    ++g->tmp_seq) == -1) {
		t->tmp_path = NULL;
		task_end(g, t, OUT_FAILED, AGT_R_AGENT_FS_ERROR, 0);
		return;
	}
	t->fd = open(t->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644);
	if (t->fd == -1) {
		int reason = errno == ENOSPC || errno == EDQUOT ?
		    AGT_R_INSUFFICIENT_SPACE : AGT_R_AGENT_FS_ERROR;

		log_warn("task tmp=%s: create", t->tmp_path);
		free(t->tmp_path);
		t->tmp_path = NULL;
		task_end(g, t, OUT_FAILED, reason, 0);
		return;
	}
	if ((t->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(t->md, EVP_md5(), NULL) != 1) {
		task_end(g, t, OUT_FAILED, AGT_R_AGENT_FS_ERROR, 0);
		return;
	}
	snprintf(path, sizeof(path), "/v1/objects/%s/%s", t->owner,
	    t->object_id);
	ul = strlen(t->source_url);
	while (ul > 0 && t->source_url[ul - 1] == '/')
		ul--;
	snprintf(url, sizeof(url), "%.*s%s", (int)ul, t->source_url, path);
	bl_sign_request(g->secret, g->secret_len, "GET", path, NULL, 0,
	    (time_t)ev_now(g->loop), &sh);
	snprintf(hdate, sizeof(hdate), "%s: %s", BL_SIGN_HDR_DATE, sh.date);
	snprintf(hsig, sizeof(hsig), "%s: %s", BL_SIGN_HDR_SIG, sh.signature);
	hdrs[0] = hdate;
	hdrs[1] = hsig;
	hdrs[2] = NULL;
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.headers = hdrs;
	o.connect_timeout_ms = g->cfg.connect_timeout_ms;
	o.low_speed_time = g->cfg.stall_timeout;
	o.follow = 1;
	o.data_fn = on_data;
	o.done_fn = on_done;
	o.arg = t;
	if ((t->xfer = bl_http_xfer_start(g->cli, &o, &err)) == NULL) {
		log_warnx("assignment id=%s task=%d: %s", t->a->id, t->idx,
		    err.msg);
		task_end(g, t, OUT_FAILED, AGT_R_SOURCE_OTHER_ERROR, 0);
		return;
	}
}

static void
on_pump(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct agt *g = AGT_OF(w, pump);
	struct agt_task *t;

	ev_idle_stop(loop, w);
	while (!g->stopping && g->inflight < (unsigned)g->cfg.max_transfers &&
	    (t = queue_pop(g)) != NULL)
		task_start(g, t);
}

static void
pump_later(struct agt *g)
{
	if (!g->stopping && g->q_head != NULL)
		ev_idle_start(g->loop, &g->pump);
}

void
agt_xfer_add(struct agt *g, struct agt_assign *a)
{
	a->next = g->assigns;
	g->assigns = a;
	a->npending = 0;
	job_attach(g, a);
	for (int i = 0; i < a->ntasks; i++) {
		struct agt_task *t = &a->tasks[i];

		t->g = g;
		t->a = a;
		t->fd = -1;
		t->check_fd = -1;
		ev_init(&t->retry, on_retry);
		if (t->status == AGT_T_PENDING) {
			a->npending++;
			queue_push(g, t);
		}
	}
	if (a->npending == 0) {
		assign_check_done(g, a);
		return;
	}
	pump_later(g);
}

int
agt_xfer_init(struct agt *g, struct bl_err *err)
{
	int threads = g->cfg.max_transfers < 32 ? (int)g->cfg.max_transfers :
	    32;

	struct bl_http_tls tls = { g->cfg.tls_ca_file, NULL, NULL };

	if ((g->cli = bl_http_client_new(g->loop, err)) == NULL)
		return -1;
	if (bl_http_client_set_tls(g->cli, &tls, err) == -1)
		return -1;
	if ((g->wq = bl_workq_new(g->loop, threads, err)) == NULL)
		return -1;
	ev_idle_init(&g->pump, on_pump);
	bucket_init(g, &g->bkt, "");
	ev_init(&g->flush, on_flush);
	agt_xfer_set_throttle(g, g->cfg.throttle);
	return 0;
}

void
agt_xfer_stop(struct agt *g)
{
	g->stopping = 1;
	ev_idle_stop(g->loop, &g->pump);
	for (struct agt_assign *a = g->assigns; a != NULL; a = a->next)
		for (int i = 0; i < a->ntasks; i++)
			ev_timer_stop(g->loop, &a->tasks[i].retry);
	if (g->inflight == 0)
		ev_break(g->loop, EVBREAK_ONE);
}

void
agt_xfer_abort(struct agt *g)
{
	for (struct agt_assign *a = g->assigns; a != NULL; a = a->next) {
		for (int i = 0; i < a->ntasks; i++) {
			struct agt_task *t = &a->tasks[i];

			if (t->running && !t->finalizing) {
				/* The attempt did not finish: not counted. */
				t->attempts--;
				task_end(g, t, OUT_REQUEUE, 0, 0);
			}
		}
	}
}

void
agt_xfer_release(struct agt *g)
{
	struct agt_assign *a, *next;

	/* Finish the group being placed first; its outcomes are recorded
	 * (workq reports them here, and the groups still waiting then are
	 * placed inline: see place_start). */
	g->stopping = 1;
	bl_workq_free(g->wq);
	g->wq = NULL;
	for (a = g->assigns; a != NULL; a = a->next)
		for (int i = 0; i < a->ntasks; i++) {
			task_release(g, &a->tasks[i]);
			ev_timer_stop(g->loop, &a->tasks[i].retry);
		}
	bl_http_client_free(g->cli);
	g->cli = NULL;
	for (a = g->assigns; a != NULL; a = next) {
		next = a->next;
		job_detach(g, a);
		agt_assign_free(a);
	}
	g->assigns = NULL;
	ev_idle_stop(g->loop, &g->pump);
	ev_timer_stop(g->loop, &g->bkt.refill);
	ev_timer_stop(g->loop, &g->flush);
}
