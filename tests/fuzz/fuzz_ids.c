/* tests/fuzz/fuzz_ids.c - path and id validation: UUIDs, the agent's
 * object paths, Content-MD5 values and base URLs (lib/uuid.h, lib/wire.h).
 *
 * Besides "no crash", it checks the property that keeps paths inside the
 * root: whatever bl_wire_object_path accepts is two canonical UUIDs, with
 * no '/', '.', '%' or NUL, and re-joins to the input exactly. */
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "lib/uuid.h"
#include "lib/wire.h"

static void
check_id(const char *id)
{
	if (strlen(id) != BL_UUID_LEN || strpbrk(id, "/.%\\") != NULL ||
	    !bl_uuid_valid(id))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char owner[BL_UUID_LEN + 1], oid[BL_UUID_LEN + 1], back[80], b64[25];
	unsigned char raw[16];
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (bl_uuid_valid_n((const char *)data, size) !=
	    (size == BL_UUID_LEN && memchr(data, '\0', size) == NULL &&
	    bl_uuid_valid(s)))
		abort();
	if (bl_wire_object_path(s, owner, oid) == 0) {
		check_id(owner);
		check_id(oid);
		strcpy(back, owner);
		strcat(back, "/");
		strcat(back, oid);
		if (strcmp(back, s) != 0)
			abort();
	}
	if (bl_wire_md5_from_b64(s, raw) == 0) {
		bl_wire_md5_b64(raw, b64);
		if (strcmp(b64, s) != 0)
			abort();
	}
	if (bl_wire_base_url_valid(s) && (strpbrk(s, " \r\n\t") != NULL ||
	    strlen(s) > BL_WIRE_MAX_URL))
		abort();
	free(s);
	return 0;
}
