/* lib/json.c - strict decoding helpers on top of jansson. */
#include "lib/json.h"

#include <string.h>

int
bl_json_check_keys(const json_t *obj, const char *const *allowed,
    const char *path, struct bl_err *err)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return bl_err_set(err, BL_EINVAL, "%s: not an object", path);
	json_object_foreach((json_t *)obj, key, v) {
		const char *const *a;

		for (a = allowed; *a != NULL; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (*a == NULL)
			return bl_err_set(err, BL_EINVAL,
			    "%s.%s: unknown key", path, key);
	}
	return 0;
}

const char *
bl_json_str(const json_t *obj, const char *key, const char *path,
    struct bl_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		bl_err_set(err, BL_EINVAL, "%s.%s: missing", path, key);
		return NULL;
	}
	if (!json_is_string(v)) {
		bl_err_set(err, BL_EINVAL, "%s.%s: not a string", path, key);
		return NULL;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		bl_err_set(err, BL_EINVAL, "%s.%s: contains NUL", path, key);
		return NULL;
	}
	return json_string_value(v);
}

int
bl_json_int(const json_t *obj, const char *key, const char *path,
    json_int_t min, json_int_t max, json_int_t *out, struct bl_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return bl_err_set(err, BL_EINVAL, "%s.%s: missing", path, key);
	if (!json_is_integer(v))
		return bl_err_set(err, BL_EINVAL, "%s.%s: not an integer",
		    path, key);
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return bl_err_set(err, BL_EINVAL,
		    "%s.%s: %" JSON_INTEGER_FORMAT " out of range [%"
		    JSON_INTEGER_FORMAT ", %" JSON_INTEGER_FORMAT "]", path,
		    key, json_integer_value(v), min, max);
	*out = json_integer_value(v);
	return 0;
}

json_t *
bl_json_parse(const char *buf, size_t len, struct bl_err *err)
{
	json_error_t je;
	json_t *root;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		bl_err_set(err, BL_EPARSE, "json line=%d column=%d: %s",
		    je.line, je.column, je.text);
	return root;
}
