/* tests/fuzz/fuzz_policy.c - policy validation, and quiet hours for
 * whatever policy it accepts. */
#include "tests/fuzz/fuzz.h"

#include "lib/tz.h"
#include "policy/policy.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pol_tz tz = { bl_tz_localtime, NULL };
	struct pol_policy p;
	struct bl_err err;
	int quiet;

	if (pol_parse_json((const char *)data, size, "policy", -1, &tz, &p,
	    &err) < 0)
		return 0;
	for (time_t t = 1700000000; t < 1700000000 + 7 * 86400;
	    t += 3 * 3600 + 7 * 60)
		pol_quiet_at(&p, t, &tz, &quiet, &err);
	return 0;
}
