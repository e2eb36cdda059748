/* policy/policy_json.c - parses and validates a policy JSON object against
 * the table of fields. Pure: the text comes in, the policy goes out. */
#include "policy/policy.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

static const char *
json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:	return "an object";
	case JSON_ARRAY:	return "an array";
	case JSON_STRING:	return "a string";
	case JSON_INTEGER:	return "an integer";
	case JSON_REAL:		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:	return "a boolean";
	case JSON_NULL:		return "null";
	}
	return "unknown";
}

static int
range_check(const char *path, const struct pol_field *f, double v,
    struct bl_err *err)
{
	if (isnan(v) || v < f->min || v > f->max)
		return bl_err_set(err, BL_EINVAL, "%s: %.17g out of range "
		    "[%.17g, %.17g]", path, v, f->min, f->max);
	return 0;
}

static int
parse_scalar(const char *path, const struct pol_field *f, json_t *v,
    struct pol_policy *p, struct bl_err *err)
{
	char *at = (char *)p + f->off;
	int nullable = f->type == POL_T_INT_OR_NULL ||
	    f->type == POL_T_NUM_OR_NULL;

	if (nullable && json_is_null(v)) {
		if (f->type == POL_T_INT_OR_NULL)
			*(int64_t *)(void *)at = POL_UNLIMITED;
		else
			*(double *)(void *)at = -1;
		return 0;
	}
	switch (f->type) {
	case POL_T_INT:
	case POL_T_INT_OR_NULL:
		if (!json_is_integer(v))
			return bl_err_set(err, BL_EINVAL, "%s: expected an "
			    "integer%s, got %s", path, nullable ? " or null" :
			    "", json_type_name(v));
		if (range_check(path, f, (double)json_integer_value(v),
		    err) < 0)
			return -1;
		*(int64_t *)(void *)at = json_integer_value(v);
		return 0;
	case POL_T_NUM:
	case POL_T_NUM_OR_NULL:
		if (!json_is_number(v))
			return bl_err_set(err, BL_EINVAL, "%s: expected a "
			    "number%s, got %s", path, nullable ? " or null" : "",
			    json_type_name(v));
		if (range_check(path, f, json_number_value(v), err) < 0)
			return -1;
		*(double *)(void *)at = json_number_value(v);
		return 0;
	case POL_T_BOOL:
		if (!json_is_boolean(v))
			return bl_err_set(err, BL_EINVAL, "%s: expected a "
			    "boolean, got %s", path, json_type_name(v));
		*(int *)(void *)at = json_is_true(v);
		return 0;
	}
	return bl_err_set(err, BL_EINVAL, "%s: not a scalar field", path);
}

static int
parse_weights(const char *path, json_t *v, struct pol_policy *p,
    struct bl_err *err)
{
	static const char *const keys[5] = { "access", "colocation", "egress",
	    "latency", "compliance" };
	double w[5];
	const char *key;
	json_t *x;
	char sub[256];

	if (json_is_string(v)) {
		int g = plc_gravity_preset_parse(json_string_value(v));

		if (g < 0)
			return bl_err_set(err, BL_EINVAL, "%s: unknown preset "
			    "\"%s\" (expected \"default\", \"cost-optimized\", "
			    "\"performance-optimized\" or \"compliance-first\")",
			    path, json_string_value(v));
		p->gravity_preset = g;
		p->gravity_weights = *plc_gravity_preset(g);
		return 0;
	}
	if (!json_is_object(v))
		return bl_err_set(err, BL_EINVAL, "%s: expected a preset name "
		    "or an object, got %s", path, json_type_name(v));
	json_object_foreach(v, key, x) {
		int k;

		for (k = 0; k < 5; k++)
			if (strcmp(key, keys[k]) == 0)
				break;
		if (k == 5)
			return bl_err_set(err, BL_EINVAL, "%s.%s: unknown key",
			    path, key);
	}
	for (int k = 0; k < 5; k++) {
		snprintf(sub, sizeof(sub), "%s.%s", path, keys[k]);
		x = json_object_get(v, keys[k]);
		if (x == NULL)
			return bl_err_set(err, BL_EINVAL, "%s: missing", sub);
		if (!json_is_number(x))
			return bl_err_set(err, BL_EINVAL, "%s: expected a "
			    "number, got %s", sub, json_type_name(x));
		w[k] = json_number_value(x);
		if (!(w[k] >= 0 && w[k] <= 1))
			return bl_err_set(err, BL_EINVAL, "%s: %.17g out of "
			    "range [0, 1]", sub, w[k]);
	}
	p->gravity_weights.access = w[0];
	p->gravity_weights.colocation = w[1];
	p->gravity_weights.egress = w[2];
	p->gravity_weights.latency = w[3];
	p->gravity_weights.compliance = w[4];
	if (!plc_gravity_weights_valid(&p->gravity_weights))
		return bl_err_set(err, BL_EINVAL, "%s: weights sum to %.6g, "
		    "expected 1", path, w[0] + w[1] + w[2] + w[3] + w[4]);
	p->gravity_preset = -1;
	return 0;
}

static int
parse_prices(const char *path, const struct pol_field *f, json_t *v,
    struct pol_policy *p, struct bl_err *err)
{
	const char *key;
	json_t *x;
	char sub[256];

	if (!json_is_object(v))
		return bl_err_set(err, BL_EINVAL, "%s: expected an object, "
		    "got %s", path, json_type_name(v));
	json_object_foreach(v, key, x) {
		int k;

		for (k = 0; k < PLC_LINK_N; k++)
			if (strcmp(key, plc_link_name(k)) == 0)
				break;
		snprintf(sub, sizeof(sub), "%s.%s", path, key);
		if (k == PLC_LINK_N)
			return bl_err_set(err, BL_EINVAL, "%s: unknown key", sub);
		if (!json_is_number(x))
			return bl_err_set(err, BL_EINVAL, "%s: expected a "
			    "number, got %s", sub, json_type_name(x));
		if (range_check(sub, f, json_number_value(x), err) < 0)
			return -1;
		p->egress_prices_per_gib[k] = json_number_value(x);
	}
	return 0;
}

/* "HH:MM", 00:00 to 23:59; "24:00" too when allow24. Minutes or -1. */
static int
parse_hhmm(const char *s, int allow24)
{
	int h, m;

	if (strlen(s) != 5 || s[2] != ':' ||
	    s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
	    s[3] < '0' || s[3] > '9' || s[4] < '0' || s[4] > '9')
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (allow24 && h == 24 && m == 0)
		return 24 * 60;
	if (h > 23 || m > 59)
		return -1;
	return h * 60 + m;
}

static int
tz_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= POL_TZ_MAX || s[0] == '/' || strstr(s, ".."))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '/' || c == '_' ||
		    c == '-' || c == '+'))
			return 0;
	}
	return 1;
}

static int
parse_window(const char *path, json_t *w, const struct pol_tz *tz,
    struct pol_quiet *q, struct bl_err *err)
{
	static const char *const days[7] = { "sun", "mon", "tue", "wed",
	    "thu", "fri", "sat" };
	const char *key;
	json_t *x;

	if (!json_is_object(w))
		return bl_err_set(err, BL_EINVAL, "%s: expected an object, "
		    "got %s", path, json_type_name(w));
	json_object_foreach(w, key, x) {
		if (strcmp(key, "start") != 0 && strcmp(key, "end") != 0 &&
		    strcmp(key, "days") != 0 && strcmp(key, "tz") != 0)
			return bl_err_set(err, BL_EINVAL, "%s.%s: unknown key",
			    path, key);
	}
	for (int e = 0; e < 2; e++) {
		const char *k = e == 0 ? "start" : "end";
		int m;

		x = json_object_get(w, k);
		if (x == NULL)
			return bl_err_set(err, BL_EINVAL, "%s.%s: missing",
			    path, k);
		if (!json_is_string(x))
			return bl_err_set(err, BL_EINVAL, "%s.%s: expected "
			    "\"HH:MM\", got %s", path, k, json_type_name(x));
		m = parse_hhmm(json_string_value(x), e == 1);
		if (m < 0)
			return bl_err_set(err, BL_EINVAL, "%s.%s: expected "
			    "\"HH:MM\", got \"%s\"", path, k,
			    json_string_value(x));
		if (e == 0)
			q->start_min = m;
		else
			q->end_min = m;
	}
	if (q->start_min == q->end_min)
		return bl_err_set(err, BL_EINVAL, "%s: start and end are both "
		    "\"%s\"; a window must not be empty",
		    path, json_string_value(json_object_get(w, "start")));
	q->days = 0x7f;
	if ((x = json_object_get(w, "days")) != NULL) {
		size_t i;
		json_t *d;

		if (!json_is_array(x) || json_array_size(x) == 0)
			return bl_err_set(err, BL_EINVAL, "%s.days: expected a "
			    "non-empty array of \"mon\"..\"sun\", got %s", path,
			    json_type_name(x));
		q->days = 0;
		json_array_foreach(x, i, d) {
			int k;

			if (!json_is_string(d))
				return bl_err_set(err, BL_EINVAL, "%s.days[%zu]: "
				    "expected a day name, got %s", path, i,
				    json_type_name(d));
			for (k = 0; k < 7; k++)
				if (strcmp(json_string_value(d), days[k]) == 0)
					break;
			if (k == 7)
				return bl_err_set(err, BL_EINVAL, "%s.days[%zu]: "
				    "expected one of \"mon\", \"tue\", \"wed\", "
				    "\"thu\", \"fri\", \"sat\", \"sun\", got "
				    "\"%s\"", path, i, json_string_value(d));
			if (q->days & (1u << k))
				return bl_err_set(err, BL_EINVAL, "%s.days[%zu]: "
				    "\"%s\" given twice", path, i, days[k]);
			q->days |= 1u << k;
		}
	}
	snprintf(q->tz, sizeof(q->tz), "UTC");
	if ((x = json_object_get(w, "tz")) != NULL) {
		struct tm tmp;

		if (!json_is_string(x))
			return bl_err_set(err, BL_EINVAL, "%s.tz: expected a "
			    "time-zone name, got %s", path, json_type_name(x));
		if (!tz_name_ok(json_string_value(x)))
			return bl_err_set(err, BL_EINVAL, "%s.tz: invalid "
			    "time-zone name \"%s\"", path, json_string_value(x));
		snprintf(q->tz, sizeof(q->tz), "%s", json_string_value(x));
		if (tz != NULL && tz->localtime != NULL &&
		    tz->localtime(0, q->tz, &tmp, tz->arg) < 0)
			return bl_err_set(err, BL_EINVAL, "%s.tz: unknown time "
			    "zone \"%s\"", path, q->tz);
	}
	return 0;
}

static int
parse_quiet(const char *path, json_t *v, const struct pol_tz *tz,
    struct pol_policy *p, struct bl_err *err)
{
	char sub[256];
	size_t i;
	json_t *w;

	if (!json_is_array(v))
		return bl_err_set(err, BL_EINVAL, "%s: expected an array, "
		    "got %s", path, json_type_name(v));
	if (json_array_size(v) > POL_QUIET_MAX)
		return bl_err_set(err, BL_EINVAL, "%s: %zu windows, at most %d",
		    path, json_array_size(v), POL_QUIET_MAX);
	p->n_quiet = 0;
	json_array_foreach(v, i, w) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (parse_window(sub, w, tz, &p->quiet_hours[i], err) < 0)
			return -1;
		p->n_quiet = i + 1;
	}
	return 0;
}

static int
parse_special(const char *path, const struct pol_field *f, json_t *v,
    const struct pol_tz *tz, struct pol_policy *p, struct bl_err *err)
{
	if (strcmp(f->key, "preset") == 0) {
		if (!json_is_string(v))
			return bl_err_set(err, BL_EINVAL, "%s: expected a "
			    "string, got %s", path, json_type_name(v));
		if (pol_preset_parse(json_string_value(v)) < 0)
			return bl_err_set(err, BL_EINVAL, "%s: unknown preset "
			    "\"%s\" (expected \"default\", \"aggressive\" or "
			    "\"conservative\")", path, json_string_value(v));
		return 0;	/* applied before the other fields */
	}
	if (strcmp(f->key, "target_imbalance") == 0) {
		if (!json_is_number(v))
			return bl_err_set(err, BL_EINVAL, "%s: expected a "
			    "number, got %s", path, json_type_name(v));
		if (range_check(path, f, json_number_value(v), err) < 0)
			return -1;
		p->target_imbalance = json_number_value(v);
		p->set |= POL_SET_TARGET;
		return 0;
	}
	if (strcmp(f->key, "gravity_weights") == 0)
		return parse_weights(path, v, p, err);
	if (strcmp(f->key, "egress_prices_per_gib") == 0)
		return parse_prices(path, f, v, p, err);
	if (strcmp(f->key, "failure_domain") == 0) {
		int d;

		if (!json_is_string(v))
			return bl_err_set(err, BL_EINVAL, "%s: expected a "
			    "string, got %s", path, json_type_name(v));
		d = plc_domain_parse(json_string_value(v));
		if (d < 0)
			return bl_err_set(err, BL_EINVAL, "%s: expected "
			    "\"host\", \"rack\" or \"datacenter\", got \"%s\"",
			    path, json_string_value(v));
		p->failure_domain = d;
		p->set |= POL_SET_FAILURE_DOMAIN;
		return 0;
	}
	if (strcmp(f->key, "quiet_hours") == 0)
		return parse_quiet(path, v, tz, p, err);
	return bl_err_set(err, BL_EINVAL, "%s: no parser", path);
}

int
pol_parse_json(const char *text, size_t len, const char *prefix, int preset,
    const struct pol_tz *tz, struct pol_policy *p, struct bl_err *err)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	char path[256];
	const char *pfx = prefix ? prefix : "policy";
	int rc = -1;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return bl_err_set(err, BL_EPARSE, "line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		bl_err_set(err, BL_EINVAL, "%s: expected an object, got %s",
		    pfx, json_type_name(root));
		goto out;
	}
	/* Unknown keys first, so that a typo is named even next to a
	 * valid preset. */
	json_object_foreach(root, key, v) {
		if (pol_field_find(key) == NULL) {
			bl_err_set(err, BL_EINVAL, "%s.%s: unknown key", pfx,
			    key);
			goto out;
		}
	}
	if (preset < 0) {
		preset = POL_PRESET_DEFAULT;
		v = json_object_get(root, "preset");
		if (v != NULL) {
			snprintf(path, sizeof(path), "%s.preset", pfx);
			if (parse_special(path, pol_field_find("preset"), v, tz,
			    p, err) < 0)
				goto out;
			preset = pol_preset_parse(json_string_value(v));
		}
	}
	if (pol_preset_apply(p, preset) < 0) {
		bl_err_set(err, BL_EINVAL, "%s.preset: out of range", pfx);
		goto out;
	}
	/* Fields in table order, so the first error is stable. */
	for (size_t i = 0; i < pol_nfields; i++) {
		const struct pol_field *f = &pol_fields[i];

		if ((v = json_object_get(root, f->key)) == NULL)
			continue;
		snprintf(path, sizeof(path), "%s.%s", pfx, f->key);
		if (f->type == POL_T_SPECIAL) {
			if (parse_special(path, f, v, tz, p, err) < 0)
				goto out;
		} else if (parse_scalar(path, f, v, p, err) < 0)
			goto out;
	}
	if (!(p->set & POL_SET_TARGET))
		p->target_imbalance = p->imbalance_threshold * 0.5;
	if (p->target_imbalance > p->imbalance_threshold) {
		bl_err_set(err, BL_EINVAL, "%s.target_imbalance: %.17g is above "
		    "imbalance_threshold %.17g", pfx, p->target_imbalance,
		    p->imbalance_threshold);
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}
