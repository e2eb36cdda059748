/* migrate/body.c - the pure validation of ballastd's API request bodies:
 * jobs (create, update; Manta's aliases), nodes, and the policy PUT.
 *
 * Nothing here touches the database or the request: the API handler
 * (controller/api.c) answers BL_EPARSE with 400 "malformed" and any other
 * code with 422 "invalid". Kept apart so the fuzz harnesses link it.
 */
#include "migrate/engine.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/tz.h"
#include "lib/uuid.h"
#include "policy/policy.h"

int
mig_node_id_valid(const char *s, size_t n)
{
	if (s == NULL || n == 0 || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

json_t *
mig_body_object(const char *body, size_t len, struct bl_err *err)
{
	json_t *j;

	if ((j = bl_json_parse(body, len, err)) == NULL) {
		if (err != NULL)
			err->code = BL_EPARSE;
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		bl_err_set(err, BL_EPARSE, "body: expected a JSON object");
		return NULL;
	}
	return j;
}

static int
job_evacuate(json_t *params, int manta, json_t **out, struct bl_err *err)
{
	static const char *const ek[] = { "from_node", "max_objects", NULL };
	static const char *const mk[] = { "from_shark", "max_objects", NULL };
	const char *node;
	json_t *mo;

	if (bl_json_check_keys(params, manta ? mk : ek, "body.params", err) ==
	    -1 || (node = bl_json_str(params, manta ? "from_shark" :
	    "from_node", "body.params", err)) == NULL)
		return -1;
	if (!mig_node_id_valid(node, strlen(node)))
		return bl_err_set(err, BL_EINVAL, "body.params.from_node: not "
		    "a node id");
	mo = json_object_get(params, "max_objects");
	if (mo != NULL && !json_is_null(mo) && (!json_is_integer(mo) ||
	    json_integer_value(mo) < 1))
		return bl_err_set(err, BL_EINVAL, "body.params.max_objects: "
		    "expected a positive integer (absent: all)");
	if ((*out = json_pack("{s:s}", "from_node", node)) == NULL)
		return bl_err_set(err, BL_ENOMEM, "out of memory");
	if (mo != NULL && json_is_integer(mo))
		json_object_set(*out, "max_objects", mo);
	return 0;
}

static int
job_rebalance(json_t *params, json_t **out, struct bl_err *err)
{
	static const char *const rk[] = { "plan", NULL };
	json_t *plan = json_object_get(params, "plan"), *moves, *m;
	size_t i;

	if (bl_json_check_keys(params, rk, "body.params", err) == -1)
		return -1;
	moves = json_object_get(plan, "moves");
	if (!json_is_object(plan) || !json_is_array(moves) ||
	    json_array_size(moves) == 0)
		return bl_err_set(err, BL_EINVAL, "body.params.plan.moves: "
		    "expected a non-empty array");
	json_array_foreach(moves, i, m) {
		const char *o = json_string_value(json_object_get(m, "object"));
		const char *f = json_string_value(json_object_get(m, "from"));
		const char *t = json_string_value(json_object_get(m, "to"));

		if (o == NULL || !bl_uuid_valid(o) || f == NULL || t == NULL ||
		    !mig_node_id_valid(f, strlen(f)) ||
		    !mig_node_id_valid(t, strlen(t)) || strcmp(f, t) == 0)
			return bl_err_set(err, BL_EINVAL, "body.params.plan."
			    "moves[%zu]: want {object: uuid, from: node, to: "
			    "another node}", i);
	}
	if ((*out = json_pack("{s:{s:O}}", "plan", "moves", moves)) == NULL)
		return bl_err_set(err, BL_ENOMEM, "out of memory");
	return 0;
}

int
mig_body_job(const char *body, size_t len, int manta,
    struct mig_body_job *out, struct bl_err *err)
{
	static const char *const keys[] = { "action", "params", NULL };
	json_t *b, *params;
	const char *action;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if ((b = mig_body_object(body, len, err)) == NULL)
		return -1;
	if (bl_json_check_keys(b, keys, "body", err) == -1 ||
	    (action = bl_json_str(b, "action", "body", err)) == NULL)
		goto out;
	params = json_object_get(b, "params");
	if (!json_is_object(params)) {
		bl_err_set(err, BL_EINVAL, "body.params: expected an object");
		goto out;
	}
	if (strcmp(action, "evacuate") == 0) {
		if (job_evacuate(params, manta, &out->params, err) == -1)
			goto out;
	} else if (strcmp(action, "retry") == 0 && !manta) {
		static const char *const rk[] = { "job", NULL };
		const char *job;

		if (bl_json_check_keys(params, rk, "body.params", err) == -1 ||
		    (job = bl_json_str(params, "job", "body.params", err)) ==
		    NULL)
			goto out;
		if (!bl_uuid_valid(job)) {
			bl_err_set(err, BL_EPARSE, "body.params.job: not a "
			    "canonical uuid");
			goto out;
		}
		if ((out->params = json_pack("{s:s}", "job", job)) == NULL) {
			bl_err_set(err, BL_ENOMEM, "out of memory");
			goto out;
		}
	} else if (strcmp(action, "rebalance") == 0 && !manta) {
		if (job_rebalance(params, &out->params, err) == -1)
			goto out;
	} else {
		bl_err_set(err, BL_EINVAL, "body.action: \"%s\" is not one of "
		    "%s", action, manta ? "evacuate" :
		    "evacuate, retry, rebalance");
		goto out;
	}
	snprintf(out->action, sizeof(out->action), "%s", action);
	rc = 0;
out:
	json_decref(b);
	return rc;
}

int
mig_body_job_update(const char *body, size_t len,
    struct mig_body_update *out, struct bl_err *err)
{
	static const char *const keys[] = { "action", "params", NULL };
	json_t *b, *params;
	const char *action;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if ((b = mig_body_object(body, len, err)) == NULL)
		return -1;
	if (bl_json_check_keys(b, keys, "body", err) == -1 ||
	    (action = bl_json_str(b, "action", "body", err)) == NULL)
		goto out;
	params = json_object_get(b, "params");
	if (strcmp(action, "pause") == 0 || strcmp(action, "resume") == 0 ||
	    strcmp(action, "cancel") == 0) {
		out->kind = MIG_UPDATE_ACTION;
		snprintf(out->action, sizeof(out->action), "%s", action);
	} else if (strcmp(action, "set_metadata_threads") == 0) {
		json_t *n = json_is_object(params) ?
		    json_object_get(params, "threads") : params;

		if (!json_is_integer(n) || json_integer_value(n) < 1 ||
		    json_integer_value(n) > 250) {
			bl_err_set(err, BL_EINVAL, "body.params: metadata "
			    "threads must be an integer within 1-250");
			goto out;
		}
		out->kind = MIG_UPDATE_THREADS;
		out->num = json_integer_value(n);
	} else if (strcmp(action, "set_throttle") == 0) {
		json_t *n = json_is_object(params) ? json_object_get(params,
		    "bytes_per_sec") : params;

		if (!json_is_integer(n) || json_integer_value(n) < 0) {
			bl_err_set(err, BL_EINVAL, "body.params: throttle must "
			    "be an integer >= 0 (bytes per second; 0: none)");
			goto out;
		}
		out->kind = MIG_UPDATE_THROTTLE;
		out->num = json_integer_value(n);
	} else {
		bl_err_set(err, BL_EINVAL, "body.action: \"%s\" is not one of "
		    "pause, resume, cancel, set_metadata_threads, set_throttle",
		    action);
		goto out;
	}
	rc = 0;
out:
	json_decref(b);
	return rc;
}

/* An agent URL: http or https, no credentials (they would reach logs),
 * no white space. */
static int
agent_url_valid(const char *s)
{
	const char *host, *end;

	if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else
		return 0;
	if (strlen(s) > 400 || strpbrk(s, " \t\r\n") != NULL || *host == '\0')
		return 0;
	end = host + strcspn(host, "/?#");
	return memchr(host, '@', (size_t)(end - host)) == NULL;
}

json_t *
mig_body_node(const char *body, size_t len, struct bl_err *err)
{
	static const char *const keys[] = { "region", "datacenter", "rack",
	    "host", "agent_url", "weight", "capacity_bytes", "state", NULL };
	const char *key;
	json_t *b, *v;

	if ((b = mig_body_object(body, len, err)) == NULL)
		return NULL;
	if (bl_json_check_keys(b, keys, "body", err) == -1) {
		json_decref(b);
		return NULL;
	}
	json_object_foreach(b, key, v) {
		const char *why = NULL;

		if (strcmp(key, "weight") == 0) {
			if (!json_is_number(v) || json_number_value(v) < 0)
				why = "expected a number >= 0";
		} else if (strcmp(key, "capacity_bytes") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0)
				why = "expected an integer >= 0";
		} else if (!json_is_string(v)) {
			why = "expected a string";
		} else if (strcmp(key, "state") == 0) {
			const char *s = json_string_value(v);

			if (strcmp(s, "in") != 0 && strcmp(s, "draining") != 0
			    && strcmp(s, "out") != 0)
				why = "expected \"in\", \"draining\" or "
				    "\"out\"";
		} else if (strcmp(key, "agent_url") == 0) {
			if (!agent_url_valid(json_string_value(v)))
				why = "expected an http:// or https:// url "
				    "without user:password@";
		} else if (json_string_length(v) > 255) {
			why = "longer than 255 bytes";
		}
		if (why != NULL) {
			bl_err_set(err, BL_EINVAL, "body.%s: %s", key, why);
			json_decref(b);
			return NULL;
		}
	}
	return b;
}

char *
mig_body_policy(json_t *body, const json_t *current, struct pol_policy *out,
    struct bl_err *err)
{
	struct pol_tz tz = { bl_tz_localtime, NULL };
	json_t *doc;
	char *text;

	if (json_object_get(body, "preset") != NULL || current == NULL)
		doc = json_deep_copy(body);
	else if ((doc = json_deep_copy(current)) != NULL &&
	    json_object_update(doc, body) == -1) {
		json_decref(doc);
		doc = NULL;
	}
	if (doc == NULL) {
		bl_err_set(err, BL_ENOMEM, "out of memory");
		return NULL;
	}
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	if (text == NULL) {
		bl_err_set(err, BL_ENOMEM, "out of memory");
		return NULL;
	}
	if (pol_parse_json(text, strlen(text), "policy", -1, &tz, out, err) ==
	    -1) {
		if (err != NULL)
			err->code = BL_EINVAL;
		free(text);
		return NULL;
	}
	return text;
}
