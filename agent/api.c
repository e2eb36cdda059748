/* agent/api.c - the agent's HTTP API.
 *
 * Every route but /v1/status and /metrics (open by default) needs a valid
 * signature (lib/sign.h); a request without one gets 401 before its path is
 * looked at. Ids in paths must be canonical UUIDs, so no request can name a
 * file outside the root. Errors are {"error":{"code":..,"message":..}}.
 */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/json.h"
#include "lib/log.h"
#include "lib/sign.h"

#define OBJ_PREFIX	"/v1/objects/"
#define ASSIGN_PREFIX	"/v1/assignments/"

/* --- assignment bodies -------------------------------------------------- */

struct agt_assign *
agt_assign_parse(const char *body, size_t len, long long max_tasks,
    char hash[65], struct bl_err *err)
{
	struct bl_wire_assign w;
	struct agt_assign *a;

	if (bl_wire_assign_parse(body, len, max_tasks, &w, err) == -1)
		return NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->tasks = calloc(w.ntasks, sizeof(*a->tasks))) == NULL) {
		free(a);
		bl_wire_assign_release(&w);
		bl_err_set(err, BL_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(a->id, w.id, sizeof(a->id));
	memcpy(a->job, w.job, sizeof(a->job));
	a->job_rate = w.throttle;
	memcpy(hash, w.hash, 65);
	a->ntasks = (int)w.ntasks;
	for (size_t i = 0; i < w.ntasks; i++) {
		struct agt_task *t = &a->tasks[i];
		struct bl_wire_task *wt = &w.tasks[i];

		t->idx = (int)i;
		t->fd = -1;
		memcpy(t->owner, wt->owner, sizeof(t->owner));
		memcpy(t->object_id, wt->object_id, sizeof(t->object_id));
		memcpy(t->md5, wt->md5, sizeof(t->md5));
		memcpy(t->md5raw, wt->md5raw, sizeof(t->md5raw));
		t->size = wt->size;
		/* The strings move to the task. */
		t->source_node = wt->source_node;
		t->source_url = wt->source_url;
		wt->source_node = wt->source_url = NULL;
	}
	bl_wire_assign_release(&w);
	return a;
}

static void
post_assignment(struct agt *g, struct bl_http_req *req)
{
	struct agt_assign *a;
	struct bl_err err;
	const char *body;
	char hash[65];
	size_t len;
	int rc;

	if (g->stopping) {
		bl_http_respond_error(req, 503, "unavailable",
		    "agent is shutting down");
		return;
	}
	body = bl_http_req_body(req, &len);
	a = agt_assign_parse(body, len, g->cfg.max_tasks, hash, &err);
	if (a == NULL) {
		bl_http_respond_error(req, err.code == BL_ETOOBIG ? 422 : 400,
		    bl_err_code_name(err.code), "%s", err.msg);
		return;
	}
	a->created = ev_now(g->loop);
	rc = agt_store_insert(g->store, a, hash, &err);
	if (rc == -1) {
		log_warnx("assignment id=%s: %s", a->id, err.msg);
		bl_http_respond_error(req, 503, "database_error", "%s",
		    err.msg);
		agt_assign_free(a);
		return;
	}
	if (rc == AGT_STORE_CONFLICT) {
		bl_http_respond_error(req, 409, "conflict", "assignment id=%s "
		    "exists with a different body", a->id);
		agt_assign_free(a);
		return;
	}
	bl_http_respond_json_take(req, 202, json_pack("{s:s,s:i,s:b}", "id",
	    a->id, "tasks", a->ntasks, "created", rc == AGT_STORE_NEW));
	if (rc == AGT_STORE_SAME) {
		/* A post again may carry the job's newer throttle. */
		if (a->job_rate >= 0 && agt_xfer_set_job_throttle(g, a->job,
		    a->job_rate, &err) == -1 && err.code != BL_ENOENT)
			log_warnx("assignment id=%s: %s", a->id, err.msg);
		agt_assign_free(a);
		return;
	}
	log_info("assignment id=%s: accepted tasks=%d", a->id, a->ntasks);
	agt_xfer_add(g, a);
}

static void
assignment_route(struct agt *g, struct bl_http_req *req, const char *id)
{
	const char *method = bl_http_req_method(req);
	struct bl_err err;
	json_t *j;

	if (!bl_uuid_valid(id)) {
		bl_http_respond_error(req, 400, "invalid", "assignment id: not "
		    "a canonical lowercase uuid");
		return;
	}
	if (strcmp(method, "GET") == 0) {
		char tasks[16] = "all";

		/* ?tasks=if_complete: a running assignment's counts alone
		 * (what a poller needs until the results are in). */
		if (bl_http_req_query(req, "tasks", tasks, sizeof(tasks)) ==
		    -1 || (strcmp(tasks, "all") != 0 &&
		    strcmp(tasks, "if_complete") != 0)) {
			bl_http_respond_error(req, 400, "invalid", "query "
			    "parameter tasks: want all or if_complete");
			return;
		}
		if ((j = agt_store_assign_json(g->store, id,
		    strcmp(tasks, "if_complete") == 0, &err)) == NULL) {
			bl_http_respond_error(req, err.code == BL_ENOENT ? 404 :
			    503, bl_err_code_name(err.code), "%s", err.msg);
			return;
		}
		bl_http_respond_json_take(req, 200, j);
		return;
	}
	if (strcmp(method, "DELETE") == 0) {
		if (agt_store_assign_delete(g->store, id, &err) == -1) {
			bl_http_respond_error(req, err.code == BL_ENOENT ? 404 :
			    err.code == BL_ECONFLICT ? 409 : 503,
			    bl_err_code_name(err.code), "%s", err.msg);
			return;
		}
		bl_http_respond_json_take(req, 200, json_pack("{s:s,s:b}",
		    "id", id, "deleted", 1));
		return;
	}
	bl_http_req_add_header(req, "Allow", "GET, DELETE");
	bl_http_respond_error(req, 405, "method_not_allowed", "%s", method);
}

/* --- objects ----------------------------------------------------------- */

/* Parses a single "bytes=a-b" range against size. 1 if a range applies,
 * 0 for the whole file, -1 if unsatisfiable. */
static int
parse_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
	unsigned long long a, b;
	char *end;

	if (h == NULL || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
		return 0;
	h += 6;
	if (*h == '-') {
		b = strtoull(h + 1, &end, 10);
		if (end == h + 1 || *end != '\0' || b == 0 || size == 0)
			return -1;
		if (b > size)
			b = size;
		*off = size - b;
		*len = b;
		return 1;
	}
	a = strtoull(h, &end, 10);
	if (end == h || *end != '-')
		return 0;
	h = end + 1;
	if (*h == '\0') {
		b = size ? size - 1 : 0;
	} else {
		b = strtoull(h, &end, 10);
		if (*end != '\0')
			return 0;
	}
	if (a >= size || b < a)
		return -1;
	if (b >= size)
		b = size - 1;
	*off = a;
	*len = b - a + 1;
	return 1;
}

/* Hashing a file the agent has no valid MD5 xattr for (one written by
 * someone else) reads all of it: past a small size (agt_obj_md5_quick)
 * that runs on a worker while the request waits, suspended. A GET's job
 * answers req; a delete's gives object idx of its batch its outcome. */
struct md5_job {
	struct agt		*g;		/* borrows */
	struct bl_http_req	*req;		/* GET: borrows; NULL once gone */
	struct agt_delb		*b;		/* delete: borrows */
	size_t			 idx;
	int			 fd;		/* owns */
	struct stat		 st;
	unsigned char		 raw[16];
	int			 ok;
	char			 owner[BL_UUID_LEN + 1];
	char			 oid[BL_UUID_LEN + 1];
};

static void serve_object(struct agt *g, struct bl_http_req *req, int fd,
    const struct stat *st, const unsigned char raw[16], const char *owner,
    const char *oid);
static void delete_verified(struct agt *g, struct agt_delb *b, size_t i,
    const struct stat *st, const unsigned char have[16]);

static void
md5_work(void *arg)
{
	struct md5_job *j = arg;

	j->ok = agt_obj_md5(j->fd, &j->st, j->raw, NULL) == 0;
}

static void
md5_req_gone(struct bl_http_req *r, void *arg)
{
	struct md5_job *j = arg;

	j->req = NULL;
}

static void
md5_done(void *arg)
{
	struct md5_job *j = arg;
	int fd = j->fd;

	if (j->b != NULL) {
		close(fd);
		if (j->ok)
			delete_verified(j->g, j->b, j->idx, &j->st, j->raw);
		else
			agt_delb_fail(j->b, j->idx, 500, "io_error", "object "
			    "%s/%s: cannot read", j->owner, j->oid);
	} else if (j->req == NULL) {
		close(fd);
	} else if (!j->ok) {
		close(fd);
		bl_http_respond_error(j->req, 500, "io_error", "object %s/%s: "
		    "cannot read", j->owner, j->oid);
	} else {
		serve_object(j->g, j->req, fd, &j->st, j->raw, j->owner,
		    j->oid);
	}
	free(j);
}

/* Continues with the file's MD5, at once when its xattr is valid, else
 * after a worker computed it: serves it to req (b NULL) or verifies
 * object i of b before deleting it. Takes fd in every case. */
static void
with_md5(struct agt *g, struct bl_http_req *req, int fd,
    const struct stat *st, struct agt_delb *b, size_t i, const char *owner,
    const char *oid)
{
	struct md5_job *j;
	unsigned char raw[16];

	if (agt_obj_md5_quick(fd, st, raw) == 0) {
		if (b != NULL) {
			close(fd);
			delete_verified(g, b, i, st, raw);
		} else {
			serve_object(g, req, fd, st, raw, owner, oid);
		}
		return;
	}
	if ((j = calloc(1, sizeof(*j))) != NULL) {
		j->g = g;
		j->b = b;
		j->idx = i;
		j->fd = fd;
		j->st = *st;
		memcpy(j->owner, owner, sizeof(j->owner));
		memcpy(j->oid, oid, sizeof(j->oid));
		/* A GET's req, for md5_done; set before the worker runs. */
		if (b == NULL)
			j->req = req;
	}
	if (j == NULL || bl_workq_submit(g->wq, md5_work, md5_done, j) == -1) {
		close(fd);
		free(j);
		if (b != NULL)
			agt_delb_fail(b, i, 500, "out_of_memory",
			    "out of memory");
		else
			bl_http_respond_error(req, 500, "out_of_memory",
			    "out of memory");
		return;
	}
	/* md5_done runs on the loop, after this handler returned. */
	if (b == NULL) {
		bl_http_req_suspend(req);
		bl_http_req_on_close(req, md5_req_gone, j);
	}
}

static void
serve_object(struct agt *g, struct bl_http_req *req, int fd,
    const struct stat *st, const unsigned char raw[16], const char *owner,
    const char *oid)
{
	char b64[25], etag[40], num[64];
	uint64_t off = 0, len;
	int r;

	bl_wire_md5_b64(raw, b64);
	etag[0] = '"';
	for (int i = 0; i < 16; i++)
		snprintf(etag + 1 + 2 * i, 3, "%02x", raw[i]);
	etag[33] = '"';
	etag[34] = '\0';
	bl_http_req_add_header(req, "Content-MD5", b64);
	bl_http_req_add_header(req, "ETag", etag);
	bl_http_req_add_header(req, "Accept-Ranges", "bytes");
	bl_http_req_add_header(req, "Content-Type",
	    "application/octet-stream");
	len = (uint64_t)st->st_size;
	r = parse_range(bl_http_req_header(req, "Range"), len, &off, &len);
	if (r == -1) {
		close(fd);
		snprintf(num, sizeof(num), "bytes */%lld",
		    (long long)st->st_size);
		bl_http_req_add_header(req, "Content-Range", num);
		bl_http_respond_error(req, 416, "range_not_satisfiable",
		    "object size is %lld", (long long)st->st_size);
		return;
	}
	if (r == 1) {
		snprintf(num, sizeof(num), "bytes %" PRIu64 "-%" PRIu64
		    "/%lld", off, off + len - 1, (long long)st->st_size);
		bl_http_req_add_header(req, "Content-Range", num);
	}
	/* A HEAD reads no bytes: only GETs count for gravity. */
	if (!bl_http_req_is_head(req)) {
		agt_access_count(g->access, owner, oid);
		g->m.bytes_served += len;
	}
	bl_http_respond_fd_take(req, r == 1 ? 206 : 200, fd, off, len);
}

static void
object_get(struct agt *g, struct bl_http_req *req, const char *owner,
    const char *oid)
{
	char path[4096], *loc;
	struct stat st;
	int fd;

	agt_obj_path(path, sizeof(path), g->cfg.root, owner, oid);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		if (errno != ENOENT) {
			bl_http_respond_error(req, 500, "io_error", "object: %s",
			    strerror(errno));
			return;
		}
		loc = agt_store_forward_get(g->store, owner, oid,
		    ev_now(g->loop));
		if (loc != NULL) {
			bl_http_req_add_header(req, "Location", loc);
			free(loc);
			bl_http_respond_error(req, 307, "moved", "object "
			    "%s/%s moved", owner, oid);
			return;
		}
		bl_http_respond_error(req, 404, "not_found", "object %s/%s: "
		    "not here", owner, oid);
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		bl_http_respond_error(req, 404, "not_found", "object %s/%s: "
		    "not a regular file", owner, oid);
		return;
	}
	with_md5(g, req, fd, &st, NULL, 0, owner, oid);
}

static void
delete_verified(struct agt *g, struct agt_delb *b, size_t i,
    const struct stat *st, const unsigned char have[16])
{
	const struct bl_wire_del *x = agt_delb_item(b, i);
	const char *fwd = x->forward_to;
	char b64[25], wb64[25], *loc = NULL;

	if (memcmp(have, x->md5, 16) != 0) {
		bl_wire_md5_b64(have, b64);
		bl_wire_md5_b64(x->md5, wb64);
		agt_delb_fail(b, i, 409, "md5_mismatch", "object %s/%s has md5 "
		    "%s, not %s; kept", x->owner, x->object_id, b64, wb64);
		return;
	}
	if (fwd != NULL) {
		size_t fl = strlen(fwd);

		if (asprintf(&loc, "%.*s/v1/objects/%s/%s",
		    (int)(fl - (fwd[fl - 1] == '/')), fwd, x->owner,
		    x->object_id) == -1) {
			agt_delb_fail(b, i, 500, "out_of_memory",
			    "out of memory");
			return;
		}
	}
	/* The forward, the unlink and the directory's fsync happen in a
	 * group with other deletes (agent/delete.c), which answers. */
	agt_dels_add(g->dels, b, i, st, loc);
	free(loc);
}

/* Object i of b: the file is opened and its MD5 checked against the one
 * the caller names before it is queued for deletion. */
static void
delete_item(struct agt *g, struct agt_delb *b, size_t i)
{
	const struct bl_wire_del *x = agt_delb_item(b, i);
	struct stat st;
	char path[4096];
	int fd;

	agt_obj_path(path, sizeof(path), g->cfg.root, x->owner, x->object_id);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		agt_delb_fail(b, i, 404, "not_found", "object %s/%s: not "
		    "here", x->owner, x->object_id);
		return;
	}
	/* Not "not here": a 404 counts as deleted (EMFILE, say, in a big
	 * batch of files hashed on a worker, each holding its fd). */
	if (fd == -1) {
		agt_delb_fail(b, i, 500, "io_error", "object %s/%s: open: %s",
		    x->owner, x->object_id, strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		agt_delb_fail(b, i, 404, "not_found", "object %s/%s: not a "
		    "regular file", x->owner, x->object_id);
		return;
	}
	with_md5(g, NULL, fd, &st, b, i, x->owner, x->object_id);
}

/* Deletes w's objects (taken) and answers req when all are done. */
static void
delete_run(struct agt *g, struct bl_http_req *req, struct bl_wire_dels *w,
    int single)
{
	struct agt_delb *b;

	if ((b = agt_delb_new(req, w, single)) == NULL) {
		bl_http_respond_error(req, 500, "out_of_memory",
		    "out of memory");
		return;
	}
	for (size_t i = 0; i < agt_delb_len(b); i++)
		delete_item(g, b, i);
	agt_delb_start(b);
}

static void
delete_parse_failed(struct bl_http_req *req, const struct bl_err *err)
{
	bl_http_respond_error(req, err->code == BL_ENOMEM ? 500 :
	    err->code == BL_ETOOBIG ? 422 : 400, bl_err_code_name(err->code),
	    "%s", err->msg);
}

static void
object_delete(struct agt *g, struct bl_http_req *req, const char *owner,
    const char *oid)
{
	struct bl_wire_dels w = { 1, NULL };
	struct bl_err err;
	const char *body;
	size_t len;

	if ((w.items = calloc(1, sizeof(*w.items))) == NULL) {
		bl_http_respond_error(req, 500, "out_of_memory",
		    "out of memory");
		return;
	}
	body = bl_http_req_body(req, &len);
	if (bl_wire_delete_parse(body, len, w.items[0].md5,
	    &w.items[0].forward_to, &err) == -1) {
		delete_parse_failed(req, &err);
		bl_wire_deletes_release(&w);
		return;
	}
	memcpy(w.items[0].owner, owner, sizeof(w.items[0].owner));
	memcpy(w.items[0].object_id, oid, sizeof(w.items[0].object_id));
	delete_run(g, req, &w, 1);
}

/* POST /v1/deletes: many DELETEs in one request, each object with its
 * own outcome (docs/agent.md). */
static void
deletes_post(struct agt *g, struct bl_http_req *req)
{
	struct bl_wire_dels w;
	struct bl_err err;
	const char *body;
	size_t len;

	if (strcmp(bl_http_req_method(req), "POST") != 0) {
		bl_http_req_add_header(req, "Allow", "POST");
		bl_http_respond_error(req, 405, "method_not_allowed", "%s",
		    bl_http_req_method(req));
		return;
	}
	body = bl_http_req_body(req, &len);
	if (bl_wire_deletes_parse(body, len, BL_WIRE_MAX_DELETES, &w,
	    &err) == -1) {
		delete_parse_failed(req, &err);
		return;
	}
	delete_run(g, req, &w, 0);
}

static void
object_route(struct agt *g, struct bl_http_req *req, const char *rest)
{
	const char *method = bl_http_req_method(req);
	char owner[BL_UUID_LEN + 1], oid[BL_UUID_LEN + 1];

	if (bl_wire_object_path(rest, owner, oid) == -1) {
		bl_http_respond_error(req, 400, "invalid", "object path: want "
		    "/v1/objects/<owner uuid>/<object uuid>");
		return;
	}
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		object_get(g, req, owner, oid);
	else if (strcmp(method, "DELETE") == 0)
		object_delete(g, req, owner, oid);
	else {
		bl_http_req_add_header(req, "Allow", "GET, HEAD, DELETE");
		bl_http_respond_error(req, 405, "method_not_allowed", "%s",
		    method);
	}
}

/* --- status, metrics, access, throttle --------------------------------- */

static void
status(struct agt *g, struct bl_http_req *req)
{
	bl_http_respond_json_take(req, 200, json_pack("{s:s,s:I,s:I,s:I,s:i,"
	    "s:i,s:I,s:o,s:s,s:f,s:b}", "node_id", g->cfg.node_id ?
	    g->cfg.node_id : "", "capacity_bytes", (json_int_t)g->capacity,
	    "used_bytes", (json_int_t)g->used_bytes, "objects",
	    (json_int_t)g->objects, "inflight_transfers", (int)g->inflight,
	    "max_transfers", (int)g->cfg.max_transfers,
	    "throttle_bytes_per_sec", (json_int_t)g->throttle,
	    "job_throttles", agt_xfer_job_throttles(g), "version",
	    AGT_VERSION, "uptime_seconds", ev_now(g->loop) - g->started,
	    "stopping", g->stopping));
}

static void
metrics(struct agt *g, struct bl_http_req *req)
{
	size_t len;
	char *text = agt_metrics_render(g, &len);

	if (text == NULL) {
		bl_http_respond_error(req, 500, "out_of_memory", "metrics");
		return;
	}
	bl_http_respond(req, 200, "text/plain; version=0.0.4", text, len);
	free(text);
}

/* A PUT of {"bytes_per_sec": N}: 0 with *v, or -1 when answered (405
 * with allow, 400 for a bad body). */
static int
throttle_body(struct bl_http_req *req, const char *allow, long long *v)
{
	const char *body;
	struct bl_err err;
	size_t len;

	if (strcmp(bl_http_req_method(req), "PUT") != 0) {
		bl_http_req_add_header(req, "Allow", allow);
		bl_http_respond_error(req, 405, "method_not_allowed", "%s",
		    bl_http_req_method(req));
		return -1;
	}
	body = bl_http_req_body(req, &len);
	if (bl_wire_throttle_parse(body, len, v, &err) == -1) {
		bl_http_respond_error(req, 400, err.code == BL_EPARSE ?
		    "malformed" : "invalid", "%s", err.msg);
		return -1;
	}
	return 0;
}

static void
throttle(struct agt *g, struct bl_http_req *req)
{
	long long v;

	if (strcmp(bl_http_req_method(req), "GET") == 0) {
		bl_http_respond_json_take(req, 200, json_pack("{s:I}",
		    "bytes_per_sec", (json_int_t)g->throttle));
		return;
	}
	if (throttle_body(req, "GET, PUT", &v) == -1)
		return;
	agt_xfer_set_throttle(g, v);
	g->cfg.throttle = v;
	g->cfgt.source[bl_cfg_find(&g->cfgt, "throttle") - g->cfgt.table] =
	    BL_CFG_SRC_RUNTIME;
	bl_http_respond_json_take(req, 200, json_pack("{s:I}",
	    "bytes_per_sec", (json_int_t)v));
}

/* PUT /v1/jobs/{job}/throttle: ballastd's share of a job's throttle for
 * this agent's transfers of that job. */
static void
job_throttle(struct agt *g, struct bl_http_req *req, const char *rest)
{
	const char *slash = strchr(rest, '/');
	char job[BL_UUID_LEN + 1];
	struct bl_err err;
	long long v;

	if (slash == NULL || strcmp(slash, "/throttle") != 0) {
		bl_http_respond_error(req, 404, "not_found", "no route for "
		    "/v1/jobs/%s", rest);
		return;
	}
	snprintf(job, sizeof(job), "%.*s", (int)(slash - rest), rest);
	if (slash - rest != BL_UUID_LEN || !bl_uuid_valid(job)) {
		bl_http_respond_error(req, 400, "invalid", "job id: not a "
		    "canonical lowercase uuid");
		return;
	}
	if (throttle_body(req, "PUT", &v) == -1)
		return;
	if (agt_xfer_set_job_throttle(g, job, v, &err) == -1) {
		bl_http_respond_error(req, err.code == BL_ENOENT ? 404 : 503,
		    bl_err_code_name(err.code), "%s", err.msg);
		return;
	}
	bl_http_respond_json_take(req, 200, json_pack("{s:s,s:I}", "job", job,
	    "bytes_per_sec", (json_int_t)v));
}

static int
authorized(struct agt *g, struct bl_http_req *req)
{
	struct bl_err err;
	const char *body;
	size_t len;

	body = bl_http_req_body(req, &len);
	if (bl_sign_verify(g->secret, g->secret_len, bl_http_req_method(req),
	    bl_http_req_target(req), body, len,
	    bl_http_req_header(req, BL_SIGN_HDR_DATE),
	    bl_http_req_header(req, BL_SIGN_HDR_SIG), time(NULL), &err) == 0)
		return 1;
	g->m.http_unauthorized++;
	log_debug("http: %s %s: %s", bl_http_req_method(req),
	    bl_http_req_path(req), err.msg);
	bl_http_respond_error(req, 401, "unauthorized", "%s", err.msg);
	return 0;
}

void
agt_api_handle(struct bl_http_req *req, void *arg)
{
	struct agt *g = arg;
	const char *path = bl_http_req_path(req);
	const char *method = bl_http_req_method(req);

	g->m.http_requests++;
	if (strcmp(path, "/v1/status") == 0) {
		if (g->cfg.auth_status && !authorized(g, req))
			return;
		status(g, req);
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		if (g->cfg.auth_metrics && !authorized(g, req))
			return;
		metrics(g, req);
		return;
	}
	if (!authorized(g, req))
		return;
	if (strcmp(path, "/v1/assignments") == 0) {
		if (strcmp(method, "POST") == 0) {
			post_assignment(g, req);
			return;
		}
		bl_http_req_add_header(req, "Allow", "POST");
		bl_http_respond_error(req, 405, "method_not_allowed", "%s",
		    method);
		return;
	}
	if (strncmp(path, ASSIGN_PREFIX, strlen(ASSIGN_PREFIX)) == 0) {
		assignment_route(g, req, path + strlen(ASSIGN_PREFIX));
		return;
	}
	if (strncmp(path, OBJ_PREFIX, strlen(OBJ_PREFIX)) == 0) {
		object_route(g, req, path + strlen(OBJ_PREFIX));
		return;
	}
	if (strcmp(path, "/v1/deletes") == 0) {
		deletes_post(g, req);
		return;
	}
	if (strcmp(path, "/v1/access") == 0 && strcmp(method, "GET") == 0) {
		bl_http_respond_json_take(req, 200,
		    agt_access_take(g->access, ev_now(g->loop)));
		return;
	}
	if (strcmp(path, "/v1/config/throttle") == 0) {
		throttle(g, req);
		return;
	}
	if (strncmp(path, "/v1/jobs/", 9) == 0) {
		job_throttle(g, req, path + 9);
		return;
	}
	bl_http_respond_error(req, 404, "not_found", "no route for %s %s",
	    method, path);
}
