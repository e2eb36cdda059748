/* lib/wire.c - the agent API's request shapes, parsed and validated. */
#include "lib/wire.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "lib/json.h"

void
bl_wire_md5_b64(const unsigned char raw[16], char out[25])
{
	EVP_EncodeBlock((unsigned char *)out, raw, 16);
	out[24] = '\0';
}

int
bl_wire_md5_from_b64(const char *b64, unsigned char raw[16])
{
	unsigned char buf[18];
	char again[25];

	if (b64 == NULL || strnlen(b64, 25) != 24 || b64[22] != '=' ||
	    b64[23] != '=')
		return -1;
	if (EVP_DecodeBlock(buf, (const unsigned char *)b64, 24) != 18)
		return -1;
	/* Only the canonical spelling: no stray low bits. */
	bl_wire_md5_b64(buf, again);
	if (strcmp(again, b64) != 0)
		return -1;
	memcpy(raw, buf, 16);
	return 0;
}

int
bl_wire_object_path(const char *rest, char owner[BL_UUID_LEN + 1],
    char object_id[BL_UUID_LEN + 1])
{
	const char *slash;

	if (rest == NULL || (slash = strchr(rest, '/')) == NULL ||
	    !bl_uuid_valid_n(rest, (size_t)(slash - rest)) ||
	    !bl_uuid_valid(slash + 1))
		return -1;
	memcpy(owner, rest, BL_UUID_LEN);
	owner[BL_UUID_LEN] = '\0';
	memcpy(object_id, slash + 1, BL_UUID_LEN + 1);
	return 0;
}

int
bl_wire_base_url_valid(const char *url)
{
	const char *host;
	size_t hl;

	if (url == NULL)
		return 0;
	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return 0;
	if (strnlen(url, BL_WIRE_MAX_URL + 1) > BL_WIRE_MAX_URL ||
	    strpbrk(url, " \r\n\t") != NULL)
		return 0;
	/* A host, and no user:password@ (peers sign; a URL carries no
	 * credentials that could end up in a log line). */
	hl = strcspn(host, "/?#");
	return hl > 0 && memchr(host, '@', hl) == NULL;
}

/* Required member key of o (named path in messages): a canonical
 * lowercase UUID, copied to out. 0 or -1. */
static int
uuid_member(const json_t *o, const char *key, const char *path,
    char out[BL_UUID_LEN + 1], struct bl_err *err)
{
	const char *v;

	if ((v = bl_json_str(o, key, path, err)) == NULL)
		return -1;
	if (!bl_uuid_valid(v))
		return bl_err_set(err, BL_EINVAL, "%s.%s: not a canonical "
		    "lowercase uuid", path, key);
	memcpy(out, v, BL_UUID_LEN + 1);
	return 0;
}

/* Required member body.key: an array of 1 to max entries (more:
 * BL_ETOOBIG). 0 with *arr and *n, or -1. */
static int
array_member(const json_t *root, const char *key, size_t max,
    const json_t **arr, size_t *n, struct bl_err *err)
{
	*arr = json_object_get(root, key);
	if (!json_is_array(*arr))
		return bl_err_set(err, BL_EINVAL, "body.%s: missing or not an "
		    "array", key);
	if ((*n = json_array_size(*arr)) == 0)
		return bl_err_set(err, BL_EINVAL, "body.%s: empty", key);
	if (*n > max)
		return bl_err_set(err, BL_ETOOBIG, "body.%s: %zu entries, the "
		    "limit is %zu", key, *n, max);
	return 0;
}

static int
parse_task(const json_t *jt, size_t i, struct bl_wire_task *t,
    struct bl_err *err)
{
	static const char *const keys[] = { "object_id", "owner", "md5",
	    "size", "source", NULL };
	static const char *const skeys[] = { "node", "url", NULL };
	const char *md5, *node, *url;
	const json_t *src;
	json_int_t size;
	char path[48], spath[64];

	snprintf(path, sizeof(path), "tasks[%zu]", i);
	snprintf(spath, sizeof(spath), "tasks[%zu].source", i);
	if (bl_json_check_keys(jt, keys, path, err) == -1)
		return -1;
	if (uuid_member(jt, "object_id", path, t->object_id, err) == -1 ||
	    uuid_member(jt, "owner", path, t->owner, err) == -1 ||
	    (md5 = bl_json_str(jt, "md5", path, err)) == NULL ||
	    bl_json_int(jt, "size", path, 0, INT64_MAX / 2, &size, err) == -1)
		return -1;
	if (bl_wire_md5_from_b64(md5, t->md5raw) == -1)
		return bl_err_set(err, BL_EINVAL, "%s.md5: not a base64 "
		    "Content-MD5", path);
	src = json_object_get(jt, "source");
	if (src == NULL)
		return bl_err_set(err, BL_EINVAL, "%s.source: missing", path);
	if (bl_json_check_keys(src, skeys, spath, err) == -1 ||
	    (node = bl_json_str(src, "node", spath, err)) == NULL ||
	    (url = bl_json_str(src, "url", spath, err)) == NULL)
		return -1;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return bl_err_set(err, BL_EINVAL, "%s.url: want http:// or "
		    "https://", spath);
	if (!bl_wire_base_url_valid(url) || strlen(node) > BL_WIRE_MAX_NODE ||
	    node[0] == '\0')
		return bl_err_set(err, BL_EINVAL, "%s: node or url too long, "
		    "empty or with spaces", spath);
	memcpy(t->md5, md5, 25);
	t->size = size;
	if ((t->source_node = strdup(node)) == NULL ||
	    (t->source_url = strdup(url)) == NULL)
		return bl_err_set(err, BL_ENOMEM, "out of memory");
	return 0;
}

int
bl_wire_assign_parse(const char *body, size_t len, long long max_tasks,
    struct bl_wire_assign *a, struct bl_err *err)
{
	static const char *const keys[] = { "id", "tasks", "job",
	    "throttle_bytes_per_sec", NULL };
	unsigned char h[32];
	unsigned int hl = 0;
	const json_t *tasks;
	const char *id;
	json_t *root;
	char *canon;
	size_t n;

	memset(a, 0, sizeof(*a));
	if ((root = bl_json_parse(body, len, err)) == NULL)
		return -1;
	if (bl_json_check_keys(root, keys, "body", err) == -1 ||
	    (id = bl_json_str(root, "id", "body", err)) == NULL)
		goto fail;
	if (!bl_uuid_valid(id)) {
		bl_err_set(err, BL_EINVAL, "body.id: not a canonical lowercase "
		    "uuid");
		goto fail;
	}
	if (max_tasks < 0)
		max_tasks = 0;
	if (array_member(root, "tasks", (size_t)max_tasks, &tasks, &n,
	    err) == -1)
		goto fail;
	if ((a->tasks = calloc(n, sizeof(*a->tasks))) == NULL) {
		bl_err_set(err, BL_ENOMEM, "out of memory");
		goto fail;
	}
	memcpy(a->id, id, BL_UUID_LEN + 1);
	a->throttle = -1;
	if (json_object_get(root, "job") != NULL) {
		const char *job = bl_json_str(root, "job", "body", err);

		if (job == NULL)
			goto fail;
		if (!bl_uuid_valid(job)) {
			bl_err_set(err, BL_EINVAL, "body.job: not a canonical "
			    "lowercase uuid");
			goto fail;
		}
		memcpy(a->job, job, BL_UUID_LEN + 1);
	}
	if (json_object_get(root, "throttle_bytes_per_sec") != NULL) {
		json_int_t v;

		if (a->job[0] == '\0') {
			bl_err_set(err, BL_EINVAL, "body.throttle_bytes_per_sec:"
			    " needs body.job");
			goto fail;
		}
		if (bl_json_int(root, "throttle_bytes_per_sec", "body", 0,
		    (json_int_t)1 << 50, &v, err) == -1)
			goto fail;
		a->throttle = (long long)v;
		/* The throttle changes while the work stays the same: it is
		 * not part of the body's identity. */
		json_object_del(root, "throttle_bytes_per_sec");
	}
	for (size_t i = 0; i < n; i++) {
		a->ntasks = i + 1;
		if (parse_task(json_array_get(tasks, i), i, &a->tasks[i],
		    err) == -1)
			goto fail;
	}
	/* Idempotency compares bodies by meaning, not by spelling. */
	canon = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	if (canon == NULL || EVP_Digest(canon, strlen(canon), h, &hl,
	    EVP_sha256(), NULL) != 1) {
		free(canon);
		bl_err_set(err, BL_ENOMEM, "out of memory");
		goto fail;
	}
	free(canon);
	for (int i = 0; i < 32; i++)
		snprintf(a->hash + 2 * i, 3, "%02x", h[i]);
	json_decref(root);
	return 0;
fail:
	bl_wire_assign_release(a);
	json_decref(root);
	return -1;
}

void
bl_wire_assign_release(struct bl_wire_assign *a)
{
	for (size_t i = 0; a->tasks != NULL && i < a->ntasks; i++) {
		free(a->tasks[i].source_node);
		free(a->tasks[i].source_url);
	}
	free(a->tasks);
	memset(a, 0, sizeof(*a));
}

int
bl_wire_throttle_parse(const char *body, size_t len, long long *bps,
    struct bl_err *err)
{
	static const char *const keys[] = { "bytes_per_sec", NULL };
	json_int_t v;
	json_t *root;
	int rc = -1;

	if ((root = bl_json_parse(body, len, err)) == NULL)
		return -1;
	if (bl_json_check_keys(root, keys, "body", err) == 0 &&
	    bl_json_int(root, "bytes_per_sec", "body", 0,
	    (json_int_t)1 << 50, &v, err) == 0) {
		*bps = (long long)v;
		rc = 0;
	}
	json_decref(root);
	return rc;
}

/* The md5 and the optional forward_to of a delete, object o at path. */
static int
parse_delete(const json_t *o, const char *path, unsigned char md5[16],
    char **forward_to, struct bl_err *err)
{
	const char *m, *fwd;

	if ((m = bl_json_str(o, "md5", path, err)) == NULL)
		return -1;
	if (bl_wire_md5_from_b64(m, md5) == -1)
		return bl_err_set(err, BL_EINVAL, "%s.md5: not a base64 "
		    "Content-MD5", path);
	if (json_object_get(o, "forward_to") == NULL)
		return 0;
	if ((fwd = bl_json_str(o, "forward_to", path, err)) == NULL)
		return -1;
	if (!bl_wire_base_url_valid(fwd))
		return bl_err_set(err, BL_EINVAL, "%s.forward_to: want an "
		    "http:// or https:// base url", path);
	if ((*forward_to = strdup(fwd)) == NULL)
		return bl_err_set(err, BL_ENOMEM, "out of memory");
	return 0;
}

int
bl_wire_delete_parse(const char *body, size_t len, unsigned char md5[16],
    char **forward_to, struct bl_err *err)
{
	static const char *const keys[] = { "md5", "forward_to", NULL };
	json_t *root;
	int rc = -1;

	*forward_to = NULL;
	if ((root = bl_json_parse(body, len, err)) == NULL)
		return -1;
	if (bl_json_check_keys(root, keys, "body", err) == 0)
		rc = parse_delete(root, "body", md5, forward_to, err);
	json_decref(root);
	return rc;
}

int
bl_wire_deletes_parse(const char *body, size_t len, size_t max,
    struct bl_wire_dels *d, struct bl_err *err)
{
	static const char *const keys[] = { "objects", NULL };
	static const char *const ikeys[] = { "owner", "object_id", "md5",
	    "forward_to", NULL };
	const json_t *objs;
	json_t *root;
	size_t n;

	memset(d, 0, sizeof(*d));
	if ((root = bl_json_parse(body, len, err)) == NULL)
		return -1;
	if (bl_json_check_keys(root, keys, "body", err) == -1)
		goto fail;
	if (array_member(root, "objects", max, &objs, &n, err) == -1)
		goto fail;
	if ((d->items = calloc(n, sizeof(*d->items))) == NULL) {
		bl_err_set(err, BL_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(objs, i);
		struct bl_wire_del *x = &d->items[i];
		char path[48];

		d->n = i + 1;
		snprintf(path, sizeof(path), "objects[%zu]", i);
		if (bl_json_check_keys(o, ikeys, path, err) == -1 ||
		    uuid_member(o, "owner", path, x->owner, err) == -1 ||
		    uuid_member(o, "object_id", path, x->object_id, err) == -1)
			goto fail;
		if (parse_delete(o, path, x->md5, &x->forward_to, err) == -1)
			goto fail;
	}
	json_decref(root);
	return 0;
fail:
	bl_wire_deletes_release(d);
	json_decref(root);
	return -1;
}

void
bl_wire_deletes_release(struct bl_wire_dels *d)
{
	for (size_t i = 0; d->items != NULL && i < d->n; i++)
		free(d->items[i].forward_to);
	free(d->items);
	memset(d, 0, sizeof(*d));
}
