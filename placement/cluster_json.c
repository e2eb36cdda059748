/* placement/cluster_json.c - loads the cluster map from JSON. */
#include "placement/cluster.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define PFX(name)	((name) ? (name) : ""), ((name) ? ": " : "")

static int
get_str(json_t *o, const char *key, int required, char **out,
    const char *name, size_t i, struct bl_err *err)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL) {
		if (required)
			return bl_err_set(err, BL_EINVAL,
			    "%s%snodes[%zu].%s: missing", PFX(name), i, key);
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) == 0)
		return bl_err_set(err, BL_EINVAL,
		    "%s%snodes[%zu].%s: expected a non-empty string",
		    PFX(name), i, key);
	*out = strdup(json_string_value(v));
	if (*out == NULL)
		return bl_err_set(err, BL_ENOMEM, "out of memory");
	return 0;
}

/* An integer >= min (a JSON integer, or a real with an integral value). */
static int
get_u64(json_t *o, const char *key, uint64_t min, uint64_t *out,
    const char *name, size_t i, struct bl_err *err)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return bl_err_set(err, BL_EINVAL, "%s%snodes[%zu].%s: missing",
		    PFX(name), i, key);
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    (uint64_t)json_integer_value(v) >= min) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);

		if (d >= (double)min && d < 1.8e19 && floor(d) == d) {
			*out = (uint64_t)d;
			return 0;
		}
	}
	return bl_err_set(err, BL_EINVAL, "%s%snodes[%zu].%s: expected an "
	    "integer >= %llu", PFX(name), i, key, (unsigned long long)min);
}

static int
parse_node(json_t *o, struct plc_node *nd, const char *name, size_t i,
    struct bl_err *err)
{
	json_t *v;
	char *state = NULL;

	if (!json_is_object(o))
		return bl_err_set(err, BL_EINVAL,
		    "%s%snodes[%zu]: expected an object", PFX(name), i);
	if (get_str(o, "id", 1, &nd->id, name, i, err) < 0 ||
	    get_str(o, "region", 1, &nd->region, name, i, err) < 0 ||
	    get_str(o, "datacenter", 1, &nd->datacenter, name, i, err) < 0 ||
	    get_str(o, "rack", 1, &nd->rack, name, i, err) < 0 ||
	    get_str(o, "host", 1, &nd->host, name, i, err) < 0 ||
	    get_u64(o, "capacity_bytes", 1, &nd->capacity_bytes, name, i,
	    err) < 0 ||
	    get_u64(o, "used_bytes", 0, &nd->used_bytes, name, i, err) < 0 ||
	    get_str(o, "state", 1, &state, name, i, err) < 0)
		return -1;
	nd->state = plc_node_state_parse(state);
	if (nd->state < 0) {
		bl_err_set(err, BL_EINVAL, "%s%snodes[%zu].state: expected "
		    "\"in\", \"draining\" or \"out\", got \"%s\"", PFX(name), i,
		    state);
		free(state);
		return -1;
	}
	free(state);
	nd->weight = (double)nd->capacity_bytes / (1024.0 * 1024 * 1024 * 1024);
	if ((v = json_object_get(o, "weight")) != NULL) {
		if (!json_is_number(v) || !(json_number_value(v) > 0))
			return bl_err_set(err, BL_EINVAL, "%s%snodes[%zu].weight: "
			    "expected a number > 0", PFX(name), i);
		nd->weight = json_number_value(v);
	}
	nd->latency_ms = -1;
	if ((v = json_object_get(o, "latency_ms")) != NULL &&
	    !json_is_null(v)) {
		if (!json_is_number(v) || json_number_value(v) < 0)
			return bl_err_set(err, BL_EINVAL, "%s%snodes[%zu]."
			    "latency_ms: expected a number >= 0", PFX(name), i);
		nd->latency_ms = json_number_value(v);
	}
	nd->reachable = 1;
	if ((v = json_object_get(o, "reachable")) != NULL) {
		if (!json_is_boolean(v))
			return bl_err_set(err, BL_EINVAL, "%s%snodes[%zu]."
			    "reachable: expected a boolean", PFX(name), i);
		nd->reachable = json_is_true(v);
	}
	return 0;
}

struct plc_cluster *
plc_cluster_from_json(const char *text, size_t len, const char *name,
    struct bl_err *err)
{
	struct plc_cluster *cl = NULL;
	json_error_t jerr;
	json_t *root, *nodes, *v;
	size_t dcs = 0;

	root = json_loadb(text, len, 0, &jerr);
	if (root == NULL) {
		bl_err_set(err, BL_EPARSE, "%s%sline %d column %d: %s",
		    PFX(name), jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		bl_err_set(err, BL_EINVAL, "%s%sroot: expected an object",
		    PFX(name));
		goto fail;
	}
	if ((cl = plc_cluster_new()) == NULL) {
		bl_err_set(err, BL_ENOMEM, "out of memory");
		goto fail;
	}
	if ((v = json_object_get(root, "failure_domain")) != NULL) {
		if (!json_is_string(v) ||
		    (cl->failure_domain = plc_domain_parse(
		    json_string_value(v))) < 0) {
			bl_err_set(err, BL_EINVAL, "%s%sfailure_domain: expected "
			    "\"host\", \"rack\" or \"datacenter\"", PFX(name));
			goto fail;
		}
	}
	nodes = json_object_get(root, "nodes");
	if (!json_is_array(nodes)) {
		bl_err_set(err, BL_EINVAL, "%s%snodes: expected an array",
		    PFX(name));
		goto fail;
	}
	if (json_array_size(nodes) > 0) {
		cl->nodes = calloc(json_array_size(nodes), sizeof(*cl->nodes));
		if (cl->nodes == NULL) {
			bl_err_set(err, BL_ENOMEM, "out of memory");
			goto fail;
		}
	}
	for (size_t i = 0; i < json_array_size(nodes); i++) {
		cl->n++;
		if (parse_node(json_array_get(nodes, i), &cl->nodes[i], name,
		    i, err) < 0)
			goto fail;
	}
	if (plc_cluster_sort(cl, err) < 0) {
		bl_err_wrap(err, "%s%snodes", PFX(name));
		goto fail;
	}
	/* The planner keeps datacenter sets in 64-bit masks. */
	for (size_t i = 0; i < cl->n; i++) {
		size_t j;

		for (j = 0; j < i; j++)
			if (strcmp(cl->nodes[i].datacenter,
			    cl->nodes[j].datacenter) == 0)
				break;
		if (j == i && ++dcs > 64) {
			bl_err_set(err, BL_ETOOBIG, "%s%snodes: more than 64 "
			    "datacenters", PFX(name));
			goto fail;
		}
	}
	json_decref(root);
	return cl;
fail:
	plc_cluster_free(cl);
	json_decref(root);
	return NULL;
}
