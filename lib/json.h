/* lib/json.h - strict decoding helpers on top of jansson.
 *
 * Paths in messages look like "tasks[3].source.url". Every getter returns a
 * borrowed value (valid while the parent lives) or fails with BL_EINVAL and
 * the path.
 */
#ifndef BL_JSON_H
#define BL_JSON_H

#include <jansson.h>

#include "lib/err.h"

/* Fails if obj is not an object or has a key outside allowed (a NULL
 * terminated list). path names obj in the message. */
int	bl_json_check_keys(const json_t *obj, const char *const *allowed,
	    const char *path, struct bl_err *err);
/* Required string member; NULL on error. */
const char *bl_json_str(const json_t *obj, const char *key, const char *path,
	    struct bl_err *err);
/* Required integer member within [min, max]. 0 or -1. */
int	bl_json_int(const json_t *obj, const char *key, const char *path,
	    json_int_t min, json_int_t max, json_int_t *out,
	    struct bl_err *err);
/* Parses a complete buffer; on error the message carries jansson's line,
 * column and text, with BL_EPARSE. Returns a new reference or NULL. */
json_t	*bl_json_parse(const char *buf, size_t len, struct bl_err *err);

#endif
