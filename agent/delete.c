/* agent/delete.c - verified deletes, made durable in groups.
 *
 * A DELETE whose MD5 matched (agent/api.c) is queued here and its request
 * waits, suspended. One group at a time is made durable:
 *
 *   1. on the loop, the group's forwards are recorded in one SQLite
 *      transaction (one WAL sync), before any of its files goes, so that
 *      a reader never finds neither the file nor the forward;
 *   2. on a worker, each file is unlinked if it is still the file that
 *      was verified (same inode), then each directory that lost a file is
 *      fsynced once;
 *   3. back on the loop, each request is answered: 200 only once its
 *      directory entry is durably gone.
 *
 * DELETEs that arrive while a group is on the worker form the next group,
 * so a burst of deletes (a source cleanup after an evacuation) costs a few
 * syncs per group instead of two per object. A crash anywhere leaves each
 * file either in place (the DELETE got no 200; it is sent again) or gone
 * with its forward recorded.
 */
#include "agent/agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

/* Deletes made durable together, at most. */
#define DEL_GROUP_MAX	512

enum del_result {
	DEL_OK = 0,
	DEL_GONE,	/* no file there any more: someone else deleted it */
	DEL_CHANGED,	/* another file there now: kept */
	DEL_IOERR,	/* unlink or directory fsync failed: errnum */
	DEL_DBERR,	/* the forward could not be recorded: kept */
};

struct del {
	struct del		*next;		/* borrows: queue or group */
	struct bl_http_req	*req;		/* borrows; NULL once gone */
	char			 owner[BL_UUID_LEN + 1];
	char			 oid[BL_UUID_LEN + 1];
	char			*loc;		/* owns: forward, or NULL */
	dev_t			 dev;
	ino_t			 ino;
	long long		 size;
	int			 result;	/* enum del_result */
	int			 errnum;
	const char		*step;		/* borrows: static */
};

struct agt_dels {
	ev_timer		 start;		/* first */
	struct agt		*g;		/* borrows */
	struct del		*head, *tail;	/* owns: waiting */
	size_t			 nwaiting;
	struct del		*group;		/* owns: on the worker */
	int			 stopped;
	struct bl_err		 dberr;		/* the group's, if DEL_DBERR */
};

static void group_start(struct agt_dels *d);

static void
del_free(struct del *x)
{
	free(x->loc);
	free(x);
}

static void
del_req_gone(struct bl_http_req *r, void *arg)
{
	struct del *x = arg;

	x->req = NULL;
}

/* On a worker: unlink the group's files, then fsync each directory that
 * lost one, once, after all of its unlinks. Touches only the group. */
static void
group_work(void *arg)
{
	struct agt_dels *d = arg;
	const char *root = d->g->cfg.root;
	char path[4096];
	struct stat st;

	for (struct del *x = d->group; x != NULL; x = x->next) {
		if (x->result != DEL_OK)
			continue;
		agt_obj_path(path, sizeof(path), root, x->owner, x->oid);
		/* Only the file that was verified goes; a file renamed over
		 * it since (a new copy placed) stays. */
		if (lstat(path, &st) == -1) {
			x->result = errno == ENOENT ? DEL_GONE : DEL_IOERR;
			x->errnum = errno;
			x->step = "stat";
			continue;
		}
		if (st.st_dev != x->dev || st.st_ino != x->ino) {
			x->result = DEL_CHANGED;
			continue;
		}
		if (unlink(path) == -1) {
			x->result = errno == ENOENT ? DEL_GONE : DEL_IOERR;
			x->errnum = errno;
			x->step = "unlink";
		}
	}
	for (struct del *x = d->group; x != NULL; x = x->next) {
		struct del *y;
		int rc;

		if (x->result != DEL_OK || x->step != NULL)
			continue;
		/* Mark every removal in x's directory with one fsync. */
		agt_obj_path(path, sizeof(path), root, x->owner, NULL);
		rc = agt_fsync_dir(path);
		for (y = x; y != NULL; y = y->next) {
			if (y->result != DEL_OK || y->step != NULL ||
			    strcmp(y->owner, x->owner) != 0)
				continue;
			y->step = "fsync dir";
			if (rc == -1) {
				y->result = DEL_IOERR;
				y->errnum = errno;
			}
		}
	}
}

static void
del_answer(struct agt *g, struct del *x, const struct bl_err *dberr)
{
	struct bl_http_req *req = x->req;

	if (x->result == DEL_OK || x->result == DEL_GONE) {
		if (x->result == DEL_OK) {
			g->used_bytes -= x->size;
			g->objects--;
			/* A file the last recount did not see yet. */
			if (g->used_bytes < 0)
				g->used_bytes = 0;
			if (g->objects < 0)
				g->objects = 0;
		}
		log_info("object %s/%s: deleted%s%s%s", x->owner, x->oid,
		    x->result == DEL_GONE ? " (already gone)" : "",
		    x->loc ? " forward_to=" : "", x->loc ? x->loc : "");
	}
	if (req == NULL)
		return;
	switch (x->result) {
	case DEL_OK:
		bl_http_respond_json_take(req, 200, json_pack("{s:s,s:s,s:b}",
		    "owner", x->owner, "object_id", x->oid, "deleted", 1));
		break;
	case DEL_GONE:
		bl_http_respond_error(req, 404, "not_found", "object %s/%s: "
		    "not here", x->owner, x->oid);
		break;
	case DEL_CHANGED:
		bl_http_respond_error(req, 409, "changed", "object %s/%s was "
		    "replaced while being deleted; kept", x->owner, x->oid);
		break;
	case DEL_DBERR:
		bl_http_respond_error(req, 503, "database_error", "%s",
		    dberr->msg);
		break;
	default:
		bl_http_respond_error(req, 500, "io_error", "object %s/%s: "
		    "delete: %s: %s", x->owner, x->oid, x->step,
		    strerror(x->errnum));
		break;
	}
}

/* Back on the loop: answer the group, then start the next one. */
static void
group_done(void *arg)
{
	struct agt_dels *d = arg;
	struct del *x, *next;

	for (x = d->group; x != NULL; x = next) {
		next = x->next;
		del_answer(d->g, x, &d->dberr);
		del_free(x);
	}
	d->group = NULL;
	if (d->head != NULL && !d->stopped)
		group_start(d);
}

/* Takes up to DEL_GROUP_MAX waiting deletes, records their forwards and
 * hands the unlinks to a worker. */
static void
group_start(struct agt_dels *d)
{
	struct agt *g = d->g;
	struct agt_fwd fwd[DEL_GROUP_MAX];
	struct del **tailp = &d->group, *x;
	size_t n = 0, nf = 0;

	while (d->head != NULL && n < DEL_GROUP_MAX) {
		x = d->head;
		d->head = x->next;
		x->next = NULL;
		*tailp = x;
		tailp = &x->next;
		if (x->loc != NULL) {
			fwd[nf].owner = x->owner;
			fwd[nf].object_id = x->oid;
			fwd[nf].location = x->loc;
			nf++;
		}
		n++;
	}
	if (d->head == NULL)
		d->tail = NULL;
	d->nwaiting -= n;
	/* Durable before any file of the group goes. */
	if (agt_store_forward_set(g->store, fwd, nf, ev_now(g->loop) +
	    (double)g->cfg.forward_ttl, &d->dberr) == -1) {
		log_warnx("delete: %s", d->dberr.msg);
		for (x = d->group; x != NULL; x = x->next)
			if (x->loc != NULL)
				x->result = DEL_DBERR;
	}
	if (bl_workq_submit(g->wq, group_work, group_done, d) == -1) {
		for (x = d->group; x != NULL; x = x->next)
			if (x->result == DEL_OK) {
				x->result = DEL_IOERR;
				x->errnum = ENOMEM;
				x->step = "queue";
			}
		group_done(d);
	}
}

static void
on_start(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agt_dels *d = (struct agt_dels *)w;

	if (d->group == NULL && d->head != NULL && !d->stopped)
		group_start(d);
}

struct agt_dels *
agt_dels_new(struct agt *g)
{
	struct agt_dels *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->g = g;
	ev_timer_init(&d->start, on_start, 0., 0.);
	return d;
}

void
agt_dels_add(struct agt_dels *d, struct bl_http_req *req,
    const struct stat *st, const char *owner, const char *oid,
    const char *loc)
{
	struct del *x;

	if (d->stopped) {
		bl_http_respond_error(req, 503, "unavailable",
		    "agent is shutting down");
		return;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (loc != NULL && (x->loc = strdup(loc)) == NULL)) {
		free(x);
		bl_http_respond_error(req, 500, "out_of_memory",
		    "out of memory");
		return;
	}
	x->req = req;
	snprintf(x->owner, sizeof(x->owner), "%s", owner);
	snprintf(x->oid, sizeof(x->oid), "%s", oid);
	x->dev = st->st_dev;
	x->ino = st->st_ino;
	x->size = (long long)st->st_size;
	if (d->tail != NULL)
		d->tail->next = x;
	else
		d->head = x;
	d->tail = x;
	d->nwaiting++;
	bl_http_req_suspend(req);
	bl_http_req_on_close(req, del_req_gone, x);
	/* Start on the next loop iteration, after the requests that arrived
	 * with this one have been queued too; later ones wait for the group
	 * in flight. */
	if (d->group == NULL && !ev_is_active(&d->start))
		ev_timer_start(d->g->loop, &d->start);
}

void
agt_dels_stop(struct agt_dels *d)
{
	if (d == NULL)
		return;
	d->stopped = 1;
	ev_timer_stop(d->g->loop, &d->start);
}

void
agt_dels_free(struct agt_dels *d)
{
	struct del *x, *next;

	if (d == NULL)
		return;
	agt_dels_stop(d);
	/* The group in flight was answered by bl_workq_free; what waits
	 * was never touched: its files stay and the callers ask again. */
	for (x = d->head; x != NULL; x = next) {
		next = x->next;
		if (x->req != NULL)
			bl_http_respond_error(x->req, 503, "unavailable",
			    "agent is shutting down");
		del_free(x);
	}
	free(d);
}
