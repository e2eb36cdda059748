/* agent/delete.c - verified deletes, made durable in groups.
 *
 * A request's deletes are a batch: the one object of a DELETE
 * /v1/objects/{owner}/{id}, or the objects of a POST /v1/deletes. Each of
 * them gets exactly one outcome, and the request is answered once all
 * have theirs: a DELETE with its object's, a POST with every object's.
 *
 * A delete whose MD5 matched (agent/api.c) is queued here while its
 * request waits, suspended. One group at a time is made durable:
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
#include <stdarg.h>
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
	struct agt_delb		*b;		/* borrows: until answered */
	size_t			 idx;		/* in b */
	const char		*owner;		/* borrows: b's */
	const char		*oid;		/* borrows: b's */
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

/* One object's outcome. */
struct delb_out {
	int		 status;	/* 0: none yet */
	const char	*code;		/* borrows: static */
	char		*msg;		/* owns */
};

struct agt_delb {
	struct bl_http_req	*req;		/* borrows; NULL once gone */
	int			 single;
	size_t			 n;
	size_t			 pending;	/* outcomes to come, + 1 until
						   agt_delb_start */
	struct bl_wire_del	*items;		/* owns: n */
	struct delb_out		*out;		/* owns: n */
};

static void
delb_req_gone(struct bl_http_req *r, void *arg)
{
	struct agt_delb *b = arg;

	b->req = NULL;
}

static void
delb_free(struct agt_delb *b)
{
	struct bl_wire_dels w = { b->n, b->items };

	for (size_t i = 0; i < b->n; i++)
		free(b->out[i].msg);
	free(b->out);
	bl_wire_deletes_release(&w);
	free(b);
}

static json_t *
delb_result(const struct agt_delb *b, size_t i)
{
	const struct delb_out *o = &b->out[i];
	const struct bl_wire_del *x = &b->items[i];

	if (o->status == 200)
		return json_pack("{s:s,s:s,s:i,s:b}", "owner", x->owner,
		    "object_id", x->object_id, "status", 200, "deleted", 1);
	return json_pack("{s:s,s:s,s:i,s:{s:s,s:s}}", "owner", x->owner,
	    "object_id", x->object_id, "status", o->status, "error", "code",
	    o->code, "message", o->msg ? o->msg : "out of memory");
}

/* Every outcome is in: answer (if anyone still asks) and free. */
static void
delb_answer(struct agt_delb *b)
{
	struct bl_http_req *req = b->req;
	const struct delb_out *o = &b->out[0];
	json_t *res;

	if (req == NULL) {
		delb_free(b);
		return;
	}
	if (b->single && o->status == 200) {
		bl_http_respond_json_take(req, 200, json_pack("{s:s,s:s,s:b}",
		    "owner", b->items[0].owner, "object_id",
		    b->items[0].object_id, "deleted", 1));
	} else if (b->single) {
		bl_http_respond_error(req, (unsigned int)o->status, o->code,
		    "%s", o->msg ? o->msg : "out of memory");
	} else if ((res = json_array()) == NULL) {
		bl_http_respond_error(req, 500, "out_of_memory",
		    "out of memory");
	} else {
		for (size_t i = 0; i < b->n; i++)
			json_array_append_new(res, delb_result(b, i));
		bl_http_respond_json_take(req, 200, json_pack("{s:o}",
		    "results", res));
	}
	delb_free(b);
}

static void
delb_put(struct agt_delb *b)
{
	if (--b->pending == 0)
		delb_answer(b);
}

struct agt_delb *
agt_delb_new(struct bl_http_req *req, struct bl_wire_dels *w, int single)
{
	struct agt_delb *b;

	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->out = calloc(w->n, sizeof(*b->out))) == NULL) {
		free(b);
		bl_wire_deletes_release(w);
		return NULL;
	}
	b->req = req;
	b->single = single;
	b->n = w->n;
	b->items = w->items;
	b->pending = w->n + 1;
	w->n = 0;
	w->items = NULL;
	return b;
}

size_t
agt_delb_len(const struct agt_delb *b)
{
	return b->n;
}

const struct bl_wire_del *
agt_delb_item(const struct agt_delb *b, size_t i)
{
	return &b->items[i];
}

void
agt_delb_ok(struct agt_delb *b, size_t i)
{
	b->out[i].status = 200;
	delb_put(b);
}

void
agt_delb_fail(struct agt_delb *b, size_t i, int status, const char *code,
    const char *fmt, ...)
{
	struct delb_out *o = &b->out[i];
	va_list ap;

	o->status = status;
	o->code = code;
	va_start(ap, fmt);
	if (vasprintf(&o->msg, fmt, ap) == -1)
		o->msg = NULL;
	va_end(ap);
	delb_put(b);
}

void
agt_delb_start(struct agt_delb *b)
{
	if (b->pending > 1 && b->req != NULL) {
		bl_http_req_suspend(b->req);
		bl_http_req_on_close(b->req, delb_req_gone, b);
	}
	delb_put(b);
}

static void
del_free(struct del *x)
{
	free(x->loc);
	free(x);
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
	switch (x->result) {
	case DEL_OK:
		agt_delb_ok(x->b, x->idx);
		break;
	case DEL_GONE:
		agt_delb_fail(x->b, x->idx, 404, "not_found", "object %s/%s: "
		    "not here", x->owner, x->oid);
		break;
	case DEL_CHANGED:
		agt_delb_fail(x->b, x->idx, 409, "changed", "object %s/%s was "
		    "replaced while being deleted; kept", x->owner, x->oid);
		break;
	case DEL_DBERR:
		agt_delb_fail(x->b, x->idx, 503, "database_error", "%s",
		    dberr->msg);
		break;
	default:
		agt_delb_fail(x->b, x->idx, 500, "io_error", "object %s/%s: "
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
agt_dels_add(struct agt_dels *d, struct agt_delb *b, size_t i,
    const struct stat *st, const char *loc)
{
	struct del *x;

	if (d->stopped) {
		agt_delb_fail(b, i, 503, "unavailable",
		    "agent is shutting down");
		return;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (loc != NULL && (x->loc = strdup(loc)) == NULL)) {
		free(x);
		agt_delb_fail(b, i, 500, "out_of_memory", "out of memory");
		return;
	}
	x->b = b;
	x->idx = i;
	x->owner = b->items[i].owner;
	x->oid = b->items[i].object_id;
	x->dev = st->st_dev;
	x->ino = st->st_ino;
	x->size = (long long)st->st_size;
	if (d->tail != NULL)
		d->tail->next = x;
	else
		d->head = x;
	d->tail = x;
	d->nwaiting++;
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
		agt_delb_fail(x->b, x->idx, 503, "unavailable",
		    "agent is shutting down");
		del_free(x);
	}
	free(d);
}
