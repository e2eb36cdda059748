/* tests/fuzz/fuzz_crush_map.c - the CRUSH map loader, and mapping with
 * whatever map it accepts. */
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>

#include "placement/crush.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bl_err err;
	struct plc_crush *c = plc_crush_from_json((const char *)data, size,
	    &err);
	int out[8];
	void *scratch;

	if (c == NULL)
		return 0;
	/* A map that loads must map without crashing, for every rule. */
	scratch = malloc(plc_crush_scratch_size(c, 8));
	if (scratch != NULL) {
		plc_crush_scratch_init(c, 8, scratch);
		for (int rule = 0; rule < 4; rule++)
			for (uint32_t x = 0; x < 16; x++)
				plc_crush_do_rule(c, rule, x, out, 8, NULL, 0,
				    scratch);
		free(scratch);
	}
	plc_crush_free(c);
	return 0;
}
