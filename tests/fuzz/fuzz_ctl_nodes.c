/* tests/fuzz/fuzz_ctl_nodes.c - ballastd's node bodies (migrate/body.c):
 * POST /v1/nodes and PUT /v1/nodes/{id}. An accepted body holds only known
 * keys of the right types; an agent_url is http(s) with no credentials. */
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "migrate/engine.h"

static void
check_url(const char *s)
{
	const char *h;
	size_t end;

	if (strncmp(s, "http://", 7) == 0)
		h = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		h = s + 8;
	else
		abort();
	end = strcspn(h, "/?#");
	if (memchr(h, '@', end) != NULL || strpbrk(s, " \t\r\n") != NULL ||
	    strlen(s) > 400)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bl_err err;
	const char *k;
	json_t *b, *v;

	if ((b = mig_body_node((const char *)data, size, &err)) == NULL)
		return 0;
	if (!json_is_object(b))
		abort();
	json_object_foreach(b, k, v) {
		if (strcmp(k, "weight") == 0) {
			if (!json_is_number(v) || json_number_value(v) < 0)
				abort();
		} else if (strcmp(k, "capacity_bytes") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0)
				abort();
		} else if (!json_is_string(v)) {
			abort();
		} else if (strcmp(k, "agent_url") == 0) {
			check_url(json_string_value(v));
		} else if (strcmp(k, "state") == 0) {
			const char *s = json_string_value(v);

			if (strcmp(s, "in") != 0 && strcmp(s, "out") != 0 &&
			    strcmp(s, "draining") != 0)
				abort();
		} else if (strcmp(k, "region") != 0 &&
		    strcmp(k, "datacenter") != 0 && strcmp(k, "rack") != 0 &&
		    strcmp(k, "host") != 0) {
			abort();
		} else if (json_string_length(v) > 255) {
			abort();
		}
	}
	json_decref(b);
	return 0;
}
