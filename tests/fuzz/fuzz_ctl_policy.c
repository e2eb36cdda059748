/* tests/fuzz/fuzz_ctl_policy.c - ballastd's PUT /v1/policy body
 * (migrate/body.c): merged over the policy in force (or replacing it with
 * "preset") and validated. What is accepted is stored as text and read
 * back by every later cycle, so that text must validate again, to the
 * same text. */
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "migrate/engine.h"
#include "policy/policy.h"

static const char current[] =
    "{\"preset\":\"default\",\"max_fill\":0.9,\"check_interval_s\":300}";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_policy p, again;
	struct bl_err err;
	json_t *body, *cur, *doc;
	char *text, *text2;

	if ((body = mig_body_object((const char *)data, size, &err)) == NULL)
		return 0;
	cur = json_loads(current, 0, NULL);
	for (int i = 0; i < 2; i++) {
		text = mig_body_policy(body, i ? cur : NULL, &p, &err);
		if (text == NULL) {
			if (err.code != BL_EINVAL && err.code != BL_ENOMEM)
				abort();
			continue;
		}
		/* stored, then read back: the same policy, the same text */
		if ((doc = json_loads(text, 0, NULL)) == NULL)
			abort();
		text2 = mig_body_policy(doc, NULL, &again, &err);
		if (text2 == NULL || strcmp(text, text2) != 0 ||
		    again.max_fill != p.max_fill ||
		    again.preset != p.preset)
			abort();
		free(text2);
		json_decref(doc);
		free(text);
	}
	json_decref(cur);
	json_decref(body);
	return 0;
}
