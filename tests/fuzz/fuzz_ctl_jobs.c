/* tests/fuzz/fuzz_ctl_jobs.c - ballastd's job bodies (migrate/body.c):
 * POST /v1/jobs, Manta's POST /jobs (from_shark) and PUT /v1/jobs/{id}
 * (also Manta's PUT /jobs/{uuid}). Whatever is accepted must be what the
 * handlers rely on: a known action, a valid node id or uuid, in-range
 * numbers. */
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "lib/uuid.h"
#include "migrate/engine.h"

static void
check_job(const struct mig_body_job *j, int manta)
{
	const char *node;
	json_t *moves, *m, *mo;
	size_t i;

	if (!json_is_object(j->params))
		abort();
	if (strcmp(j->action, "evacuate") == 0) {
		node = json_string_value(json_object_get(j->params,
		    "from_node"));
		if (node == NULL || !mig_node_id_valid(node, strlen(node)))
			abort();
		mo = json_object_get(j->params, "max_objects");
		if (mo != NULL && (!json_is_integer(mo) ||
		    json_integer_value(mo) < 1))
			abort();
	} else if (manta) {
		abort();
	} else if (strcmp(j->action, "retry") == 0) {
		const char *id = json_string_value(json_object_get(j->params,
		    "job"));

		if (id == NULL || !bl_uuid_valid(id))
			abort();
	} else if (strcmp(j->action, "rebalance") == 0) {
		moves = json_object_get(json_object_get(j->params, "plan"),
		    "moves");
		if (!json_is_array(moves) || json_array_size(moves) == 0)
			abort();
		json_array_foreach(moves, i, m) {
			const char *f = json_string_value(json_object_get(m,
			    "from"));
			const char *t = json_string_value(json_object_get(m,
			    "to"));

			if (f == NULL || t == NULL || strcmp(f, t) == 0 ||
			    !mig_node_id_valid(f, strlen(f)) ||
			    !mig_node_id_valid(t, strlen(t)))
				abort();
		}
	} else {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct mig_body_job j;
	struct mig_body_update u;
	struct bl_err err;

	for (int manta = 0; manta < 2; manta++) {
		if (mig_body_job(body, size, manta, &j, &err) == 0) {
			check_job(&j, manta);
			json_decref(j.params);
		} else if (j.params != NULL || (err.code != BL_EPARSE &&
		    err.code != BL_EINVAL && err.code != BL_ENOMEM)) {
			abort();
		}
	}
	if (mig_body_job_update(body, size, &u, &err) == 0) {
		switch (u.kind) {
		case MIG_UPDATE_ACTION:
			if (strcmp(u.action, "pause") != 0 &&
			    strcmp(u.action, "resume") != 0 &&
			    strcmp(u.action, "cancel") != 0)
				abort();
			break;
		case MIG_UPDATE_THREADS:
			if (u.num < 1 || u.num > 250)
				abort();
			break;
		case MIG_UPDATE_THROTTLE:
			if (u.num < 0)
				abort();
			break;
		default:
			abort();
		}
	}
	return 0;
}
