/* placement/crush_json.c - loads a CRUSH map in the shape of
 * `ceph osd crush dump`. Strict: unknown keys, wrong types, dangling ids,
 * buckets used twice, cycles and bad weights are refused with the JSON path.
 */
#include "placement/crush.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 64

/* Keys Ceph writes that do not change the mapping are accepted and
 * ignored, so that real dumps load. */
static const char *const top_keys[] = {
	"devices", "types", "buckets", "rules", "tunables", "choose_args", NULL
};
static const char *const device_keys[] = { "id", "name", "class", NULL };
static const char *const type_keys[] = { "type_id", "name", NULL };
static const char *const bucket_keys[] = {
	"id", "name", "type_id", "type_name", "weight", "alg", "hash", "items",
	NULL
};
static const char *const item_keys[] = { "id", "weight", "pos", NULL };
static const char *const rule_keys[] = {
	"rule_id", "rule_name", "ruleset", "type", "min_size", "max_size",
	"steps", NULL
};
static const char *const step_keys[] = {
	"op", "item", "item_name", "num", "type", NULL
};
/* Ceph's dumper writes the steps it has no name for (set_chooseleaf_vary_r
 * and friends) as raw opcodes. */
static const char *const raw_step_keys[] = { "opcode", "arg1", "arg2", NULL };
static const char *const tunable_keys[] = {
	"choose_local_tries", "choose_local_fallback_tries",
	"choose_total_tries", "chooseleaf_descend_once", "chooseleaf_vary_r",
	"chooseleaf_stable", "straw_calc_version", "allowed_bucket_algs",
	"profile", "optimal_tunables", "legacy_tunables",
	"minimum_required_version", "require_feature_tunables",
	"require_feature_tunables2", "has_v2_rules",
	"require_feature_tunables3", "has_v3_rules", "has_v4_buckets",
	"require_feature_tunables5", "has_v5_rules", "msr_descents",
	"msr_collision_tries", NULL
};

struct loader {
	struct plc_crush	*map;
	struct bl_err		*err;
	json_t			*root;		/* borrows */
	int			*bucket_index;	/* owns; -1-id -> buckets[i] */
	int			 nbucket_index;
};

static int
check_keys(struct loader *ld, json_t *obj, const char *path,
    const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		int ok = 0;

		for (int i = 0; allowed[i]; i++)
			if (strcmp(key, allowed[i]) == 0)
				ok = 1;
		if (!ok)
			return bl_err_set(ld->err, BL_EINVAL, "%s%s%s: unknown "
			    "field", path, *path ? "." : "", key);
	}
	return 0;
}

static json_t *
need(struct loader *ld, json_t *obj, const char *path, const char *key,
    json_type type)
{
	static const char *const names[] = {
		"an object", "an array", "a string", "an integer", "a number",
		"true", "false", "null"
	};
	json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		bl_err_set(ld->err, BL_EINVAL, "%s%s%s: missing field", path,
		    *path ? "." : "", key);
		return NULL;
	}
	if (json_typeof(v) != type) {
		bl_err_set(ld->err, BL_EINVAL, "%s%s%s: expected %s", path,
		    *path ? "." : "", key, names[type]);
		return NULL;
	}
	return v;
}

/* An integer field in [lo, hi]. */
static int
need_int(struct loader *ld, json_t *obj, const char *path, const char *key,
    long long lo, long long hi, long long *out)
{
	json_t *v = need(ld, obj, path, key, JSON_INTEGER);
	long long n;

	if (v == NULL)
		return -1;
	n = json_integer_value(v);
	if (n < lo || n > hi)
		return bl_err_set(ld->err, BL_EINVAL, "%s.%s: %lld is out of range "
		    "%lld..%lld", path, key, n, lo, hi);
	*out = n;
	return 0;
}

static int
load_devices(struct loader *ld)
{
	json_t *arr = need(ld, ld->root, "", "devices", JSON_ARRAY), *d;
	char path[PATH_MAX_LEN];
	size_t i;

	if (arr == NULL)
		return -1;
	json_array_foreach(arr, i, d) {
		long long id;
		json_t *name;

		snprintf(path, sizeof(path), "devices[%zu]", i);
		if (!json_is_object(d))
			return bl_err_set(ld->err, BL_EINVAL, "%s: expected an "
			    "object", path);
		if (check_keys(ld, d, path, device_keys) < 0 ||
		    need_int(ld, d, path, "id", 0, PLC_CRUSH_MAX_DEVICES - 1,
		    &id) < 0 ||
		    (name = need(ld, d, path, "name", JSON_STRING)) == NULL)
			return -1;
		if (plc_crush_add_device(ld->map, (int)id, json_string_value(name),
		    ld->err) < 0)
			return bl_err_wrap(ld->err, "%s", path);
	}
	return 0;
}

static int
load_types(struct loader *ld)
{
	json_t *arr = need(ld, ld->root, "", "types", JSON_ARRAY), *t;
	char path[PATH_MAX_LEN];
	size_t i;

	if (arr == NULL)
		return -1;
	json_array_foreach(arr, i, t) {
		long long id;
		json_t *name;

		snprintf(path, sizeof(path), "types[%zu]", i);
		if (!json_is_object(t))
			return bl_err_set(ld->err, BL_EINVAL, "%s: expected an "
			    "object", path);
		if (check_keys(ld, t, path, type_keys) < 0 ||
		    need_int(ld, t, path, "type_id", 0, 65535, &id) < 0 ||
		    (name = need(ld, t, path, "name", JSON_STRING)) == NULL)
			return -1;
		if (plc_crush_add_type(ld->map, (int)id, json_string_value(name),
		    ld->err) < 0)
			return bl_err_wrap(ld->err, "%s", path);
	}
	return 0;
}

static int
parse_alg(const char *s)
{
	static const struct { const char *name; int alg; } algs[] = {
		{ "uniform", PLC_CRUSH_UNIFORM }, { "list", PLC_CRUSH_LIST },
		{ "tree", PLC_CRUSH_TREE }, { "straw", PLC_CRUSH_STRAW },
		{ "straw2", PLC_CRUSH_STRAW2 },
	};

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(s, algs[i].name) == 0)
			return algs[i].alg;
	return -1;
}

/* First pass over buckets: note which JSON index holds which id, so that
 * items and rules can be checked with their paths. */
static int
index_buckets(struct loader *ld, json_t *arr)
{
	char path[PATH_MAX_LEN];
	json_t *b;
	size_t i;
	int max = 0;

	json_array_foreach(arr, i, b) {
		long long id;

		snprintf(path, sizeof(path), "buckets[%zu]", i);
		if (!json_is_object(b))
			return bl_err_set(ld->err, BL_EINVAL, "%s: expected an "
			    "object", path);
		if (need_int(ld, b, path, "id", -PLC_CRUSH_MAX_BUCKETS, -1,
		    &id) < 0)
			return -1;
		if (-1 - id >= max)
			max = (int)(-id);
	}
	ld->nbucket_index = max;
	ld->bucket_index = malloc(((size_t)max + 1) * sizeof(int));
	if (ld->bucket_index == NULL)
		return bl_err_set(ld->err, BL_ENOMEM, "buckets: out of memory");
	for (int k = 0; k < max; k++)
		ld->bucket_index[k] = -1;
	json_array_foreach(arr, i, b) {
		int id = (int)json_integer_value(json_object_get(b, "id"));

		if (ld->bucket_index[-1 - id] >= 0)
			return bl_err_set(ld->err, BL_EINVAL, "buckets[%zu].id: "
			    "bucket %d declared twice (also buckets[%d])", i, id,
			    ld->bucket_index[-1 - id]);
		ld->bucket_index[-1 - id] = (int)i;
	}
	return 0;
}

static int
bucket_known(const struct loader *ld, long long id)
{
	return id < 0 && -1 - id < ld->nbucket_index &&
	    ld->bucket_index[-1 - id] >= 0;
}

static int
device_known(const struct loader *ld, long long id)
{
	return id >= 0 && id < plc_crush_max_devices(ld->map) &&
	    plc_crush_item_name(ld->map, (int)id) != NULL;
}

static int
load_bucket(struct loader *ld, json_t *b, size_t bi, int *parent_of)
{
	char path[PATH_MAX_LEN], ipath[PATH_MAX_LEN + 32];
	json_t *name, *alg_s, *hash, *items, *it;
	long long id, type, weight;
	int alg, *ids = NULL, rc = -1;
	uint32_t *weights = NULL;
	uint64_t sum = 0;
	size_t i, n;

	snprintf(path, sizeof(path), "buckets[%zu]", bi);
	if (check_keys(ld, b, path, bucket_keys) < 0 ||
	    need_int(ld, b, path, "id", -PLC_CRUSH_MAX_BUCKETS, -1, &id) < 0 ||
	    (name = need(ld, b, path, "name", JSON_STRING)) == NULL ||
	    need_int(ld, b, path, "type_id", 0, 65535, &type) < 0 ||
	    need_int(ld, b, path, "weight", 0, UINT32_MAX, &weight) < 0 ||
	    (alg_s = need(ld, b, path, "alg", JSON_STRING)) == NULL ||
	    (items = need(ld, b, path, "items", JSON_ARRAY)) == NULL)
		return -1;
	if ((hash = json_object_get(b, "hash")) == NULL)
		return bl_err_set(ld->err, BL_EINVAL, "%s.hash: missing field",
		    path);
	alg = parse_alg(json_string_value(alg_s));
	if (alg < 0)
		return bl_err_set(ld->err, BL_EINVAL, "%s.alg: unknown alg \"%s\"",
		    path, json_string_value(alg_s));
	if (alg == PLC_CRUSH_STRAW)
		return bl_err_set(ld->err, BL_EINVAL, "%s.alg: legacy \"straw\" "
		    "buckets are not supported; convert them to straw2", path);
	if (!(json_is_string(hash) &&
	    strcmp(json_string_value(hash), "rjenkins1") == 0) &&
	    !(json_is_integer(hash) && json_integer_value(hash) == 0))
		return bl_err_set(ld->err, BL_EINVAL, "%s.hash: unknown hash; only "
		    "\"rjenkins1\" is defined", path);

	n = json_array_size(items);
	if (n > 65535)
		return bl_err_set(ld->err, BL_EINVAL, "%s.items: %zu items, past "
		    "the limit of 65535", path, n);
	ids = malloc((n + 1) * sizeof(*ids));
	weights = malloc((n + 1) * sizeof(*weights));
	if (ids == NULL || weights == NULL) {
		bl_err_set(ld->err, BL_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	json_array_foreach(items, i, it) {
		long long iid, iw;

		snprintf(ipath, sizeof(ipath), "%s.items[%zu]", path, i);
		if (!json_is_object(it)) {
			bl_err_set(ld->err, BL_EINVAL, "%s: expected an object",
			    ipath);
			goto out;
		}
		if (check_keys(ld, it, ipath, item_keys) < 0 ||
		    need_int(ld, it, ipath, "id", -PLC_CRUSH_MAX_BUCKETS,
		    PLC_CRUSH_MAX_DEVICES - 1, &iid) < 0)
			goto out;
		if (json_is_integer(json_object_get(it, "weight")) &&
		    json_integer_value(json_object_get(it, "weight")) < 0) {
			bl_err_set(ld->err, BL_EINVAL, "%s.weight: negative "
			    "weight %lld", ipath,
			    (long long)json_integer_value(
			    json_object_get(it, "weight")));
			goto out;
		}
		if (need_int(ld, it, ipath, "weight", 0, UINT32_MAX, &iw) < 0)
			goto out;
		if (iid >= 0 ? !device_known(ld, iid) : !bucket_known(ld, iid)) {
			bl_err_set(ld->err, BL_EINVAL, "%s.id: dangling item %lld "
			    "(no such %s)", ipath, iid,
			    iid >= 0 ? "device" : "bucket");
			goto out;
		}
		if (iid == id) {
			bl_err_set(ld->err, BL_EINVAL, "%s.id: bucket %lld contains "
			    "itself (cycle)", ipath, id);
			goto out;
		}
		if (iid < 0) {
			int child = ld->bucket_index[-1 - iid];

			if (parent_of[child] >= 0) {
				bl_err_set(ld->err, BL_EINVAL, "%s.id: bucket %lld "
				    "used twice (also in buckets[%d])", ipath,
				    iid, parent_of[child]);
				goto out;
			}
			parent_of[child] = (int)bi;
		}
		ids[i] = (int)iid;
		weights[i] = (uint32_t)iw;
		sum += (uint64_t)iw;
	}
	if (sum != (uint64_t)weight) {
		bl_err_set(ld->err, BL_EINVAL, "%s.weight: %lld is not the sum of "
		    "its items' weights (%llu)", path, weight,
		    (unsigned long long)sum);
		goto out;
	}
	if (plc_crush_add_bucket(ld->map, (int)id, json_string_value(name),
	    (int)type, alg, ids, weights, (int)n, ld->err) < 0) {
		bl_err_wrap(ld->err, "%s", path);
		goto out;
	}
	rc = 0;
out:
	free(ids);
	free(weights);
	return rc;
}

static int
load_buckets(struct loader *ld)
{
	json_t *arr = need(ld, ld->root, "", "buckets", JSON_ARRAY), *b;
	int *parent_of, rc = 0;
	size_t i;

	if (arr == NULL || index_buckets(ld, arr) < 0)
		return -1;
	parent_of = malloc((json_array_size(arr) + 1) * sizeof(int));
	if (parent_of == NULL)
		return bl_err_set(ld->err, BL_ENOMEM, "buckets: out of memory");
	for (i = 0; i < json_array_size(arr); i++)
		parent_of[i] = -1;
	json_array_foreach(arr, i, b) {
		if (load_bucket(ld, b, i, parent_of) < 0) {
			rc = -1;
			break;
		}
	}
	free(parent_of);
	return rc;
}

static int
parse_op(const char *s, int *choose)
{
	static const struct { const char *name; int op; int choose; } ops[] = {
		{ "noop", PLC_CRUSH_NOOP, 0 },
		{ "take", PLC_CRUSH_TAKE, 0 },
		{ "emit", PLC_CRUSH_EMIT, 0 },
		{ "choose_firstn", PLC_CRUSH_CHOOSE_FIRSTN, 1 },
		{ "choose_indep", PLC_CRUSH_CHOOSE_INDEP, 1 },
		{ "chooseleaf_firstn", PLC_CRUSH_CHOOSELEAF_FIRSTN, 1 },
		{ "chooseleaf_indep", PLC_CRUSH_CHOOSELEAF_INDEP, 1 },
		{ "set_choose_tries", PLC_CRUSH_SET_CHOOSE_TRIES, 2 },
		{ "set_chooseleaf_tries", PLC_CRUSH_SET_CHOOSELEAF_TRIES, 2 },
		{ "set_choose_local_tries", PLC_CRUSH_SET_CHOOSE_LOCAL_TRIES, 2 },
		{ "set_choose_local_fallback_tries",
		    PLC_CRUSH_SET_CHOOSE_LOCAL_FALLBACK_TRIES, 2 },
		{ "set_chooseleaf_vary_r", PLC_CRUSH_SET_CHOOSELEAF_VARY_R, 2 },
		{ "set_chooseleaf_stable", PLC_CRUSH_SET_CHOOSELEAF_STABLE, 2 },
	};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(s, ops[i].name) == 0) {
			*choose = ops[i].choose;
			return ops[i].op;
		}
	}
	return -1;
}

/* {"opcode": N, "arg1": A, "arg2": B}: only the set_* opcodes, whose
 * arguments are plain numbers; the others have names in Ceph's dumps. */
static int
load_raw_step(struct loader *ld, json_t *s, const char *path,
    struct plc_crush_step *st)
{
	long long op, a1, a2;

	if (check_keys(ld, s, path, raw_step_keys) < 0 ||
	    need_int(ld, s, path, "opcode", 0, 255, &op) < 0 ||
	    need_int(ld, s, path, "arg1", -1000, 1000, &a1) < 0 ||
	    need_int(ld, s, path, "arg2", -1000, 1000, &a2) < 0)
		return -1;
	switch (op) {
	case PLC_CRUSH_NOOP:
	case PLC_CRUSH_SET_CHOOSE_TRIES:
	case PLC_CRUSH_SET_CHOOSELEAF_TRIES:
	case PLC_CRUSH_SET_CHOOSE_LOCAL_TRIES:
	case PLC_CRUSH_SET_CHOOSE_LOCAL_FALLBACK_TRIES:
	case PLC_CRUSH_SET_CHOOSELEAF_VARY_R:
	case PLC_CRUSH_SET_CHOOSELEAF_STABLE:
		break;
	default:
		return bl_err_set(ld->err, BL_EINVAL, "%s.opcode: %lld is not a "
		    "known set_* opcode", path, op);
	}
	st->op = (int)op;
	st->arg1 = (int)a1;
	st->arg2 = (int)a2;
	return 0;
}

static int
load_step(struct loader *ld, json_t *s, const char *path,
    struct plc_crush_step *st)
{
	json_t *op_s;
	long long v;
	int kind;

	if (!json_is_object(s))
		return bl_err_set(ld->err, BL_EINVAL, "%s: expected an object",
		    path);
	if (json_object_get(s, "opcode") != NULL)
		return load_raw_step(ld, s, path, st);
	if (check_keys(ld, s, path, step_keys) < 0 ||
	    (op_s = need(ld, s, path, "op", JSON_STRING)) == NULL)
		return -1;
	st->op = parse_op(json_string_value(op_s), &kind);
	st->arg1 = st->arg2 = 0;
	if (st->op < 0)
		return bl_err_set(ld->err, BL_EINVAL, "%s.op: unknown op \"%s\"",
		    path, json_string_value(op_s));
	if (st->op == PLC_CRUSH_TAKE) {
		if (need_int(ld, s, path, "item", -PLC_CRUSH_MAX_BUCKETS,
		    PLC_CRUSH_MAX_DEVICES - 1, &v) < 0)
			return -1;
		if (v >= 0 ? !device_known(ld, v) : !bucket_known(ld, v))
			return bl_err_set(ld->err, BL_EINVAL, "%s.item: takes "
			    "unknown item %lld", path, v);
		st->arg1 = (int)v;
	} else if (kind == 1) {
		json_t *type;
		int tid;

		if (need_int(ld, s, path, "num", -PLC_CRUSH_MAX_RESULT,
		    PLC_CRUSH_MAX_RESULT, &v) < 0 ||
		    (type = need(ld, s, path, "type", JSON_STRING)) == NULL)
			return -1;
		tid = plc_crush_find_type(ld->map, json_string_value(type));
		if (tid < 0)
			return bl_err_set(ld->err, BL_EINVAL, "%s.type: unknown "
			    "type \"%s\"", path, json_string_value(type));
		st->arg1 = (int)v;
		st->arg2 = tid;
	} else if (kind == 2) {
		if (need_int(ld, s, path, "num", 0, 1000, &v) < 0)
			return -1;
		st->arg1 = (int)v;
	}
	return 0;
}

static int
load_rules(struct loader *ld)
{
	json_t *arr = need(ld, ld->root, "", "rules", JSON_ARRAY), *r;
	char path[PATH_MAX_LEN], spath[PATH_MAX_LEN + 32];
	size_t i;

	if (arr == NULL)
		return -1;
	json_array_foreach(arr, i, r) {
		struct plc_crush_step *steps;
		json_t *name, *sarr, *s;
		long long id;
		size_t j;
		int rc;

		snprintf(path, sizeof(path), "rules[%zu]", i);
		if (!json_is_object(r))
			return bl_err_set(ld->err, BL_EINVAL, "%s: expected an "
			    "object", path);
		if (check_keys(ld, r, path, rule_keys) < 0 ||
		    need_int(ld, r, path, "rule_id", 0, 255, &id) < 0 ||
		    (name = need(ld, r, path, "rule_name", JSON_STRING)) ==
		    NULL ||
		    (sarr = need(ld, r, path, "steps", JSON_ARRAY)) == NULL)
			return -1;
		if (json_array_size(sarr) > 1024)
			return bl_err_set(ld->err, BL_EINVAL, "%s.steps: more "
			    "than 1024 steps", path);
		steps = calloc(json_array_size(sarr) + 1, sizeof(*steps));
		if (steps == NULL)
			return bl_err_set(ld->err, BL_ENOMEM, "%s: out of memory",
			    path);
		json_array_foreach(sarr, j, s) {
			snprintf(spath, sizeof(spath), "%s.steps[%zu]", path, j);
			if (load_step(ld, s, spath, &steps[j]) < 0) {
				free(steps);
				return -1;
			}
		}
		rc = plc_crush_add_rule(ld->map, (int)id, json_string_value(name),
		    steps, (int)json_array_size(sarr), ld->err);
		free(steps);
		if (rc < 0)
			return bl_err_wrap(ld->err, "%s", path);
	}
	return 0;
}

static int
load_tunables(struct loader *ld)
{
	static const char *const names[] = {
		"choose_local_tries", "choose_local_fallback_tries",
		"choose_total_tries", "chooseleaf_descend_once",
		"chooseleaf_vary_r", "chooseleaf_stable",
	};
	json_t *t = need(ld, ld->root, "", "tunables", JSON_OBJECT);
	struct plc_crush_tunables tun;
	long long v[6], scv = 1;

	if (t == NULL || check_keys(ld, t, "tunables", tunable_keys) < 0)
		return -1;
	for (int i = 0; i < 6; i++)
		if (need_int(ld, t, "tunables", names[i], 0, 1000, &v[i]) < 0)
			return -1;
	if (json_object_get(t, "straw_calc_version") &&
	    need_int(ld, t, "tunables", "straw_calc_version", 0, 2, &scv) < 0)
		return -1;
	if (v[4] > 31)
		return bl_err_set(ld->err, BL_EINVAL, "tunables.chooseleaf_vary_r: "
		    "%lld is out of range 0..31", v[4]);
	tun.choose_local_tries = (uint32_t)v[0];
	tun.choose_local_fallback_tries = (uint32_t)v[1];
	tun.choose_total_tries = (uint32_t)v[2];
	tun.chooseleaf_descend_once = (uint32_t)v[3];
	tun.chooseleaf_vary_r = (uint32_t)v[4];
	tun.chooseleaf_stable = (uint32_t)v[5];
	tun.straw_calc_version = (uint32_t)scv;
	plc_crush_set_tunables(ld->map, &tun);
	return 0;
}

struct plc_crush *
plc_crush_from_json(const char *text, size_t len, struct bl_err *err)
{
	struct loader ld = { .err = err };
	json_error_t jerr;
	json_t *ca;

	bl_err_clear(err);
	ld.root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (ld.root == NULL) {
		bl_err_set(err, BL_EPARSE, "line %d column %d: %s", jerr.line,
		    jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(ld.root)) {
		bl_err_set(err, BL_EINVAL, "top level: expected an object");
		goto fail;
	}
	if ((ld.map = plc_crush_new()) == NULL) {
		bl_err_set(err, BL_ENOMEM, "crush map: out of memory");
		goto fail;
	}
	if (check_keys(&ld, ld.root, "", top_keys) < 0)
		goto fail;
	ca = json_object_get(ld.root, "choose_args");
	if (ca != NULL && !((json_is_object(ca) && json_object_size(ca) == 0) ||
	    (json_is_array(ca) && json_array_size(ca) == 0))) {
		bl_err_set(err, BL_EINVAL, "choose_args: weight sets are not "
		    "supported; remove them (ceph osd crush weight-set rm)");
		goto fail;
	}
	if (load_devices(&ld) < 0 || load_types(&ld) < 0 ||
	    load_buckets(&ld) < 0 || load_rules(&ld) < 0 ||
	    load_tunables(&ld) < 0)
		goto fail;
	if (plc_crush_finalize(ld.map, err) < 0) {
		bl_err_wrap(err, "buckets");
		goto fail;
	}
	free(ld.bucket_index);
	json_decref(ld.root);
	return ld.map;
fail:
	plc_crush_free(ld.map);
	free(ld.bucket_index);
	json_decref(ld.root);
	return NULL;
}
