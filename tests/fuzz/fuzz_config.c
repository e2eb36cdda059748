/* tests/fuzz/fuzz_config.c - the config loader (lib/config.h) on fuzzed
 * JSON, through a table with every type, bounds and a secret. What it
 * accepts must print, and a refused secret never shows in the message. */
#include "tests/fuzz/fuzz.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"

struct conf {
	char		*listen;
	char		*token;
	long long	 workers;
	long long	 pin;
	int		 verbose;
};

#define OFF(f) offsetof(struct conf, f)
static const struct bl_cfg_opt table[] = {
	{ "listen", BL_CFG_STR, OFF(listen), "0.0.0.0:8461", 3, 300, 0, "" },
	{ "token", BL_CFG_STR, OFF(token), NULL, 1, 100, BL_CFG_SECRET, "" },
	{ "workers", BL_CFG_INT, OFF(workers), "4", 1, 1024, 0, "" },
	{ "pin", BL_CFG_INT, OFF(pin), "1000", 0, 9999, BL_CFG_SECRET, "" },
	{ "verbose", BL_CFG_BOOL, OFF(verbose), "false", 0, 0, 0, "" },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf cf;
	struct bl_cfg c;
	struct bl_err err;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	if (bl_cfg_init(&c, table, sizeof(table) / sizeof(table[0]), &cf,
	    &err) == -1)
		abort();
	if (bl_cfg_load_buffer(&c, (const char *)data, size, "fuzz", &err) ==
	    0) {
		if (cf.workers < 1 || cf.workers > 1024 || cf.pin < 0 ||
		    cf.pin > 9999 || strlen(cf.listen) < 3)
			abort();
		if ((f = open_memstream(&out, &len)) != NULL) {
			bl_cfg_print(&c, f);
			fclose(f);
			/* The secrets' lines are masked, whatever they hold. */
			if (strstr(out, cf.token != NULL ?
			    "\ntoken = \"********\"  # file\n" :
			    "\ntoken = null  # default\n") == NULL ||
			    strstr(out, "\npin = \"********\"  # ") == NULL)
				abort();
			free(out);
		}
	}
	bl_cfg_release(&c);
	return 0;
}
