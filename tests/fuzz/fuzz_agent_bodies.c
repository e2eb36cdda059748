/* tests/fuzz/fuzz_agent_bodies.c - the JSON request bodies of the agent's
 * API (lib/wire.h): POST /v1/assignments, PUT /v1/config/throttle,
 * DELETE /v1/objects and POST /v1/deletes. Whatever a parse accepts must
 * hold only valid ids, canonical MD5s and clean base URLs. */
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "lib/wire.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct bl_wire_assign a;
	struct bl_wire_dels d;
	unsigned char md5[16];
	struct bl_err err;
	long long bps;
	char *fwd;

	if (bl_wire_assign_parse(body, size, 64, &a, &err) == 0) {
		if (!bl_uuid_valid(a.id) || a.ntasks == 0 || a.ntasks > 64 ||
		    strlen(a.hash) != 64)
			abort();
		for (size_t i = 0; i < a.ntasks; i++) {
			const struct bl_wire_task *t = &a.tasks[i];

			if (!bl_uuid_valid(t->owner) ||
			    !bl_uuid_valid(t->object_id) || t->size < 0 ||
			    bl_wire_md5_from_b64(t->md5, md5) != 0 ||
			    memcmp(md5, t->md5raw, 16) != 0 ||
			    !bl_wire_base_url_valid(t->source_url) ||
			    t->source_node[0] == '\0')
				abort();
		}
		bl_wire_assign_release(&a);
	}
	if (bl_wire_throttle_parse(body, size, &bps, &err) == 0 &&
	    (bps < 0 || bps > (1LL << 50)))
		abort();
	if (bl_wire_delete_parse(body, size, md5, &fwd, &err) == 0) {
		if (fwd != NULL && !bl_wire_base_url_valid(fwd))
			abort();
		free(fwd);
	} else if (fwd != NULL) {
		abort();
	}
	if (bl_wire_deletes_parse(body, size, 64, &d, &err) == 0) {
		if (d.n == 0 || d.n > 64)
			abort();
		for (size_t i = 0; i < d.n; i++)
			if (!bl_uuid_valid(d.items[i].owner) ||
			    !bl_uuid_valid(d.items[i].object_id) ||
			    (d.items[i].forward_to != NULL &&
			    !bl_wire_base_url_valid(d.items[i].forward_to)))
				abort();
		bl_wire_deletes_release(&d);
	} else if (d.items != NULL || d.n != 0) {
		abort();
	}
	return 0;
}
