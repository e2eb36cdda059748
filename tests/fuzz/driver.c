/* tests/fuzz/driver.c - replays a harness's corpus (and its crash
 * regressions) as a cmocka test, without libFuzzer. The corpus directory is
 * argv[1], or $BALLAST_FUZZ_CORPUS/NAME for a program named replay_NAME. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

static const char *corpus;

static void
test_fuzz__corpus_replays_clean(void **state)
{
	struct dirent *de;
	DIR *d = opendir(corpus);
	int files = 0;

	(void)state;
	if (d == NULL)
		fail_msg("corpus %s: cannot open", corpus);
	while ((de = readdir(d)) != NULL) {
		char path[1024];
		uint8_t *buf;
		long n;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", corpus, de->d_name);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fseek(f, 0, SEEK_SET);
		buf = malloc((size_t)n + 1);
		assert_non_null(buf);
		assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
		fclose(f);
		/* A crash or a sanitizer report fails the run. */
		LLVMFuzzerTestOneInput(buf, (size_t)n);
		free(buf);
		files++;
	}
	closedir(d);
	assert_true(files > 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzz__corpus_replays_clean),
	};

	static char dir[1024];
	const char *base = getenv("BALLAST_FUZZ_CORPUS");
	const char *name = strrchr(argv[0], '/');

	name = name ? name + 1 : argv[0];
	if (argc > 1)
		corpus = argv[1];
	else if (base && strncmp(name, "replay_", 7) == 0) {
		snprintf(dir, sizeof(dir), "%s/%s", base, name + 7);
		corpus = dir;
	}
	if (corpus == NULL) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
